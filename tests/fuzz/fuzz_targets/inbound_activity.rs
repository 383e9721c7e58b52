//! An inbox body, read as far as a command's input without a database:
//! `hearth_activitypub::fuzzing::inbound_activity` says what is asserted.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hearth_activitypub::fuzzing::inbound_activity(data);
});
