//! The draft-cavage `Signature` header (and `Authorization: Signature`), parsed and prechecked:
//! `hearth_activitypub::fuzzing::signature_cavage` says what is asserted.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hearth_activitypub::fuzzing::signature_cavage(data);
});
