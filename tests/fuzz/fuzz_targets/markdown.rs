//! A member's Markdown and another server's HTML, rendered and sanitised:
//! `hearth_domain::fuzzing::markdown` says what is asserted.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hearth_domain::fuzzing::markdown(data);
});
