//! Claim JSON through evaluation against the shipped Binzhou ruleset.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = rulec::fuzzing::claim(data) {
        panic!("invariant broken: {e}");
    }
});
