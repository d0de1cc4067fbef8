//! Rule text through parse and check: never a panic, every span inside its file.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = rulec::fuzzing::rules(data) {
        panic!("invariant broken: {e}");
    }
});
