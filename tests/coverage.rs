//! `rulec test --coverage`: what the cases exercise, read from their traces.

use rulec::coverage::{measure, render_lcov};
use rulec::limits::Limits;
use std::path::{Path, PathBuf};
use std::process::Command;

const RULES: &str = r#"ruleset "t"
record Claim { settlement_date: date, amount: money, big: bool }
input claim: Claim
as_of claim.settlement_date
param rate_small: rate = 50% cite assumed
param cap: money
  from 2020-01-01 until 2023-12-31 = 100 cite assumed
  from 2024-01-01 = 200 cite assumed
def small: money = claim.amount * rate_small
output pay: money = if claim.big then min(claim.amount, cap) else small
exception negative to pay when claim.amount < 0 = 0 cite assumed
"#;

const CASE: &str = r#"[{"name": "big", "claim": {"settlement_date": "2024-06-01", "amount": "300", "big": true},
  "expect": {"pay": "200.00"}}]"#;

fn tmp_ruleset() -> PathBuf {
    // The header names the directory (`ruleset "t"` lives in `t/`).
    let dir = std::env::temp_dir()
        .join(format!("rulec-coverage-{}", std::process::id()))
        .join("t");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tests")).expect("mkdir");
    std::fs::write(dir.join("t.rulec"), RULES).expect("write");
    std::fs::write(dir.join("tests/c.json"), CASE).expect("write");
    dir
}

#[test]
fn the_untaken_branch_the_old_version_and_the_idle_exception_are_uncovered() {
    let dir = tmp_ruleset();
    let report = measure(std::slice::from_ref(&dir), &Limits::default()).expect("measured");
    assert_eq!(report.rulesets.len(), 1);
    let r = &report.rulesets[0];
    assert_eq!(r.cases, 1);
    let names = |items: &[rulec::coverage::Item]| -> Vec<String> {
        items
            .iter()
            .map(|i| format!("{}:{} {}", i.line, i.kind, i.name))
            .collect()
    };
    assert_eq!(
        names(&r.covered),
        vec!["8:param version cap (from 2024-01-01)", "10:output pay"]
    );
    assert_eq!(
        names(&r.uncovered),
        vec![
            "5:param version rate_small (always)",
            "7:param version cap (from 2020-01-01 until 2023-12-31)",
            "9:def small",
            "11:exception negative",
        ]
    );
    assert!((report.percent() - 100.0 * 2.0 / 6.0).abs() < 1e-9);
    let lcov = render_lcov(&report);
    assert!(
        lcov.contains("DA:8,1\n")
            && lcov.contains("DA:9,0\n")
            && lcov.contains("LF:6\nLH:2\nend_of_record"),
        "{lcov}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_uncovered_item_of_the_shipped_rulesets_points_at_its_line() {
    let report = measure(&[PathBuf::from("rulesets")], &Limits::default()).expect("measured");
    assert!(report.rulesets.len() >= 8);
    for r in &report.rulesets {
        for i in r.covered.iter().chain(&r.uncovered) {
            let text = std::fs::read_to_string(&i.file).expect("rule file");
            let line = text.lines().nth(i.line - 1).unwrap_or("");
            let name = i.name.split(' ').next().unwrap_or("");
            let version = i.kind.ends_with("version") && line.trim_start().starts_with("from");
            assert!(
                line.contains(name) || version,
                "{}:{} is not `{}`: {line}",
                i.file,
                i.line,
                i.name
            );
        }
    }
}

#[test]
fn the_command_prints_writes_lcov_and_enforces_a_minimum() {
    let dir = tmp_ruleset();
    let lcov = dir.join("cov.info");
    let run = |min: &str| {
        Command::new(env!("CARGO_BIN_EXE_rulec"))
            .arg("test")
            .arg(&dir)
            .args(["--coverage", "--coverage-lcov"])
            .arg(&lcov)
            .args(["--min-coverage", min])
            .output()
            .expect("runs")
    };
    let ok = run("30");
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(out.contains("33.3% (2 of 6 items, 1 cases)"), "{out}");
    assert!(
        out.contains(&format!(
            "not covered: {}:9 def small",
            Path::new(&dir).join("t.rulec").display()
        )),
        "{out}"
    );
    assert!(std::fs::read_to_string(&lcov)
        .expect("lcov")
        .starts_with("TN:\nSF:"));
    let low = run("50");
    assert_eq!(low.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&low.stderr).contains("below --min-coverage 50%"));
    let _ = std::fs::remove_dir_all(&dir);
}
