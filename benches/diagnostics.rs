//! Diagnostics at scale (issue 8): rendering 20,000 warnings in human and JSON form, and
//! checking an enum with 100,000 values and a record with 100,000 fields.
//! Target: seconds at most, linear in the number of diagnostics and members.
//! Run with `cargo bench --bench diagnostics`; the figures are in docs/performance.md.

use criterion::{criterion_group, criterion_main, Criterion};
use rulec::diag::{render_human, render_json};
use rulec::limits::Limits;
use rulec::project::check_paths;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Writes one ruleset directory named `name` holding `text`, and returns it.
fn ruleset(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join("rulec-bench-diags").join(name);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("rules.rulec"), text).expect("write");
    dir
}

const CLAIM: &str = "input claim: Claim\nas_of claim.settlement_date\n";

/// `n` unused params: `n` warnings (W0001) in one file.
fn warnings(n: usize) -> PathBuf {
    let mut t = format!("ruleset \"warnings\"\nrecord Claim {{ settlement_date: date, amount: money }}\n{CLAIM}output pay: money = claim.amount\n");
    for i in 0..n {
        let _ = writeln!(t, "param p{i}: money = {i} cite assumed");
    }
    ruleset("warnings", &t)
}

fn big_enum(n: usize) -> PathBuf {
    let values: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
    let t = format!(
        "ruleset \"big_enum\"\nenum Big {{ {} }}\nrecord Claim {{ settlement_date: date, amount: money, kind: Big }}\n{CLAIM}\
         output pay: money = if claim.kind == v{} then claim.amount else 0\n",
        values.join(", "),
        n - 1
    );
    ruleset("big_enum", &t)
}

fn big_record(n: usize) -> PathBuf {
    let mut t = String::from(
        "ruleset \"big_record\"\nrecord Claim { settlement_date: date, amount: money\n",
    );
    for i in 0..n {
        let _ = writeln!(t, "  f{i}: money");
    }
    let _ = write!(
        t,
        "}}\n{CLAIM}output pay: money = claim.amount + claim.f{}\n",
        n - 1
    );
    ruleset("big_record", &t)
}

fn check(dir: &Path) -> rulec::project::CheckReport {
    check_paths(&[dir.to_path_buf()], Limits::default()).expect("check runs")
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("diagnostics");
    g.sample_size(10).measurement_time(Duration::from_secs(20));

    let dir = warnings(20_000);
    let report = check(&dir);
    let diags = report.diags.sorted();
    assert_eq!(diags.len(), 20_000, "one warning per param");
    g.bench_function("render_human_20k_warnings", |b| {
        b.iter(|| render_human(&diags, &report.map, false))
    });
    g.bench_function("render_json_20k_warnings", |b| {
        b.iter(|| render_json(&diags, &report.map))
    });
    g.bench_function("check_20k_warnings", |b| b.iter(|| check(&dir)));

    for (name, dir) in [
        ("check_enum_100k_values", big_enum(100_000)),
        ("check_record_100k_fields", big_record(100_000)),
    ] {
        let report = check(&dir);
        assert!(!report.diags.has_errors(), "{name} checks cleanly");
        g.bench_function(name, |b| b.iter(|| check(&dir)));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
