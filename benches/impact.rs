//! `rulec impact` against one `rulec eval --batch` run over the same claims (issue 10's
//! target: an impact run takes at most 2.5× one batch run).
//!
//! 20,000 generated Binzhou outpatient claims of 2,000 persons through 2024 (shuffled, each
//! with `insured.id`), routed by region from `rulesets/`; the reform raises the annual cap for
//! active employees from 4,500 to 5,000. Both commands run as the release binary, end to end
//! (reading, settling, writing), with 1 and 2 worker threads. Impact replays every claim
//! under both trees, compares them and explains the top 10 with two traced evaluations each.
//!
//! Run with `cargo bench --bench impact`. Figures go in docs/performance.md.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

#[path = "../tests/common/mod.rs"]
mod common;
use common::{copy_dir, Lcg};

const BIN: &str = env!("CARGO_BIN_EXE_rulec");
const PERSONS: u64 = 2_000;
const CLAIMS_PER_PERSON: u64 = 10;

fn claims() -> Vec<String> {
    let mut g = Lcg(2024);
    let mut out = Vec::new();
    for p in 0..PERSONS {
        let status = if p % 4 == 3 { "retired" } else { "active" };
        for c in 0..CLAIMS_PER_PERSON {
            let month = 1 + g.next(12);
            let day = 1 + g.next(28);
            let price = format!("{}.{:02}", 40 + g.next(1400), g.next(100));
            let code = ["XA001", "XA003", "ZL003", "ZL004"][g.next(4) as usize];
            let level = 1 + g.next(3);
            out.push(format!(
                r#"{{"claim_id":"BZ-{p:05}-{c:02}","settlement_date":"2024-{month:02}-{day:02}","visit":"outpatient","insured":{{"id":"P{p:05}","scheme":"employee","status":"{status}","region":"shandong/binzhou"}},"facility":{{"level":{level},"region":"shandong/binzhou"}},"items":[{{"code":"{code}","category":"drug","quantity":"1","unit_price":"{price}"}},{{"code":"GH001","category":"registration","quantity":"1","unit_price":"5.00"}}]}}"#
            ));
        }
    }
    for i in (1..out.len()).rev() {
        let j = g.next(i as u64 + 1) as usize;
        out.swap(i, j);
    }
    out
}

struct Setup {
    base: PathBuf,
    reform: PathBuf,
    claims: PathBuf,
}

fn setup() -> Setup {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("rulec-bench-impact-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let reform = dir.join("reform");
    copy_dir(&root.join("rulesets"), &reform);
    let file = reform.join("shandong/binzhou/outpatient_pooling.rulec");
    let text = std::fs::read_to_string(&file).expect("binzhou rules");
    assert!(
        text.contains("active  => 4_500"),
        "the cap is where the bench expects it"
    );
    std::fs::write(&file, text.replace("active  => 4_500", "active  => 5_000")).expect("write");
    let claims = dir.join("claims.jsonl");
    std::fs::write(&claims, claims_text()).expect("write claims");
    Setup {
        base: root.join("rulesets"),
        reform,
        claims,
    }
}

fn claims_text() -> String {
    claims().into_iter().map(|c| c + "\n").collect()
}

fn run(args: &[&std::ffi::OsStr]) {
    let status = Command::new(BIN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run rulec");
    assert!(status.success(), "rulec {args:?} failed: {status}");
}

fn bench(c: &mut Criterion) {
    let s = setup();
    let n = PERSONS * CLAIMS_PER_PERSON;
    let mut g = c.benchmark_group("impact_vs_batch");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(n));
    for jobs in ["1", "2"] {
        g.bench_function(format!("batch/jobs={jobs}"), |b| {
            b.iter(|| {
                run(&[
                    "eval".as_ref(),
                    "--rulesets".as_ref(),
                    s.base.as_os_str(),
                    "--batch".as_ref(),
                    s.claims.as_os_str(),
                    "--jobs".as_ref(),
                    jobs.as_ref(),
                ])
            })
        });
        g.bench_function(format!("impact/jobs={jobs}"), |b| {
            b.iter(|| {
                run(&[
                    "impact".as_ref(),
                    s.base.as_os_str(),
                    s.reform.as_os_str(),
                    s.claims.as_os_str(),
                    "--format".as_ref(),
                    "json".as_ref(),
                    "--jobs".as_ref(),
                    jobs.as_ref(),
                ])
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
