//! Batch settlement end to end, JSON Lines in and out, side by side in one run:
//! (a) `rulec eval DIR --batch FILE --jobs 1` (and `--jobs 2`), the real command, process
//!     start and ruleset load included;
//! (b) a hand-written Rust batch settler doing the same JSON work: it loads the same catalog,
//!     reads each line into a `serde_json::Value`, settles it with the bench rules written by
//!     hand, and writes the same settlement JSON (same keys, amounts with two decimals).
//! Before timing, the two outputs are compared line by line: they must be equal.
//!
//! Run with `cargo bench --bench batch`. Figures go in docs/performance.md.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::{json, Value as Json};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;
use common::*;

/// Claims per run.
const CLAIMS: usize = 5_000;

/// Writes `CLAIMS` varied claims as JSON Lines.
fn claims_file(dir: &Path) -> PathBuf {
    let base = claim();
    let levels = [1, 2, 3];
    let assistance = ["none", "low_income", "extreme_poverty"];
    let mut out =
        std::io::BufWriter::new(std::fs::File::create(dir.join("claims.jsonl")).expect("create"));
    for i in 0..CLAIMS {
        let mut c = base.clone();
        c["claim_id"] = json!(format!("B{i:06}"));
        c["level"] = json!(levels[i % 3]);
        c["admission_number"] = json!(1 + i % 2);
        c["insured"]["assistance"] = json!(assistance[i % 3]);
        c["accumulators"]["basic_paid"] = json!(format!("{}", (i * 97) % 150_000));
        writeln!(out, "{c}").expect("write");
    }
    out.flush().expect("flush");
    dir.join("claims.jsonl")
}

/// (a) the real command; its standard output.
fn rulec_batch(rules: &Path, claims: &Path, jobs: &str) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_rulec"))
        .arg("eval")
        .arg(rules)
        .arg("--batch")
        .arg(claims)
        .args(["--jobs", jobs])
        .stderr(Stdio::inherit())
        .output()
        .expect("rulec runs");
    assert_eq!(out.status.code(), Some(0), "every claim settles");
    out.stdout
}

/// (b) the hand-written settler: catalog load, then read, settle and write every line.
fn native_batch(claims: &Path, out: &mut Vec<u8>) {
    let native = Native::new();
    let file =
        std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(claims).expect("open"));
    for line in file.lines() {
        let line = line.expect("line");
        let c: Json = serde_json::from_str(&line).expect("claim");
        serde_json::to_writer(&mut *out, &native.settle_full(&c)).expect("write");
        out.push(b'\n');
    }
}

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("rulec-bench-batch-{}", std::process::id()));
    let rules = setup(&dir);
    let claims = claims_file(&dir);

    // The same settlements, line by line.
    let a = rulec_batch(&rules, &claims, "1");
    let mut b = Vec::new();
    native_batch(&claims, &mut b);
    let (a, b) = (
        String::from_utf8(a).expect("utf-8"),
        String::from_utf8(b).expect("utf-8"),
    );
    assert_eq!(a.lines().count(), CLAIMS);
    for (x, y) in a.lines().zip(b.lines()) {
        let x: Json = serde_json::from_str(x).expect("rulec line");
        let y: Json = serde_json::from_str(y).expect("native line");
        assert_eq!(x, y, "rulec and the hand-written settler disagree");
    }

    let mut g = c.benchmark_group("batch_5000_claims_40_items");
    g.throughput(Throughput::Elements(CLAIMS as u64));
    g.sample_size(10);
    g.bench_function("a_rulec_jobs_1", |bch| {
        bch.iter(|| rulec_batch(&rules, &claims, "1"))
    });
    g.bench_function("a_rulec_jobs_2", |bch| {
        bch.iter(|| rulec_batch(&rules, &claims, "2"))
    });
    g.bench_function("b_native_1_thread", |bch| {
        bch.iter(|| {
            let mut out = Vec::with_capacity(CLAIMS * 700);
            native_batch(&claims, &mut out);
            out
        })
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
