//! Replays the fuzzing corpus (`fuzz/corpus/`) through the same harnesses the fuzzers run,
//! so every input the fuzzers found interesting — and every crash turned into a regression
//! input under `fuzz/regressions/` — is checked on a stable toolchain in `cargo test`.

use std::path::Path;

fn replay(dir: &str, harness: fn(&[u8]) -> Result<(), String>) -> usize {
    let mut n = 0;
    for sub in ["fuzz/corpus", "fuzz/regressions"] {
        let d = Path::new(sub).join(dir);
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files {
            // A file can vanish while a fuzzer is reducing the corpus.
            let Ok(data) = std::fs::read(&f) else {
                continue;
            };
            if let Err(e) = harness(&data) {
                panic!("{}: {e}", f.display());
            }
            n += 1;
        }
    }
    n
}

#[test]
fn rules_corpus() {
    assert!(replay("rules", rulec::fuzzing::rules) >= 50);
}

#[test]
fn claim_corpus() {
    assert!(replay("claim", rulec::fuzzing::claim) >= 50);
}

#[test]
fn catalog_corpus() {
    assert!(replay("catalog", rulec::fuzzing::catalog) >= 5);
}
