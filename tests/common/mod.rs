//! Helpers shared by the integration tests (and `benches/impact.rs`) that work on copies of
//! the shipped rulesets. Each includes this module; not every one uses every helper.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).expect("copy file");
        }
    }
}

/// A small deterministic generator (no dependency, same claims on every machine).
pub struct Lcg(pub u64);

impl Lcg {
    /// The next number below `n`.
    pub fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// Runs `rulec` (the binary under test) in `dir`: exit code, standard output, standard error.
pub fn rulec_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rulec"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run rulec");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("UTF-8 standard output"),
        String::from_utf8(out.stderr).expect("UTF-8 standard error"),
    )
}
