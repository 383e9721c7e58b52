//! The `resource` of a WebFinger request:
//! `hearth_activitypub::fuzzing::webfinger_resource` says what is asserted.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hearth_activitypub::fuzzing::webfinger_resource(data);
});
