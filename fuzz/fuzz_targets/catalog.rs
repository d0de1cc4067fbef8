//! Catalog CSV through loading and typing.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = rulec::fuzzing::catalog(data) {
        panic!("invariant broken: {e}");
    }
});
