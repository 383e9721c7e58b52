//! RFC 9421's `Signature-Input` and `Signature`, parsed, prechecked and made into a signature base:
//! `hearth_activitypub::fuzzing::signature_rfc9421` says what is asserted.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hearth_activitypub::fuzzing::signature_rfc9421(data);
});
