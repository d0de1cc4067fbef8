//! `rulec test --coverage`: what the cases exercise (definitions and data, branches,
//! functions), recorded by the traced evaluator.

use rulec::coverage::{measure, render_lcov};
use rulec::limits::Limits;
use std::path::{Path, PathBuf};
use std::process::Command;

const RULES: &str = r#"ruleset "t"
enum Kind { a, b, c }
record Claim { settlement_date: date, amount: money, big: bool, kind: Kind }
input claim: Claim
as_of claim.settlement_date
param rate_small: rate = 50% cite assumed
param cap: money
  from 2020-01-01 until 2023-12-31 = 100 cite assumed
  from 2024-01-01 = 200 cite assumed
def small: money = claim.amount * rate_small
output pay: money = if claim.big then capped(claim.amount) else small
exception negative to pay when claim.amount < 0 = 0 cite assumed
def capped(x: money): money = min(x, cap)
def doubled(x: money): money = x * 2
output label: int = match claim.kind {
  a => 1,
  b | c => 2
}
"#;

// The second case does not read (its `kind` is no enum value) and exercises nothing; the
// third ends in an error (no `cap` is in force in 2019) and covers what it went through.
const CASE: &str = r#"[{"name": "small", "claim": {"settlement_date": "2024-06-01", "amount": "3", "big": false, "kind": "b"},
  "expect": {"pay": "1.50", "label": 2}},
 {"name": "bad kind", "claim": {"settlement_date": "2024-06-01", "amount": "1", "big": true, "kind": "z"},
  "expect_error": {"code": "rulec::E0710"}},
 {"name": "too early", "claim": {"settlement_date": "2019-06-01", "amount": "300", "big": true, "kind": "a"},
  "expect_error": {"code": "rulec::E0701"}}]"#;

fn tmp_ruleset(tag: &str) -> PathBuf {
    // The header names the directory (`ruleset "t"` lives in `t/`).
    let dir = std::env::temp_dir()
        .join(format!("rulec-coverage-{}-{tag}", std::process::id()))
        .join("t");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tests")).expect("mkdir");
    std::fs::write(dir.join("t.rulec"), RULES).expect("write");
    std::fs::write(dir.join("tests/c.json"), CASE).expect("write");
    dir
}

#[test]
fn the_untaken_branch_the_old_version_the_idle_exception_and_function_are_uncovered() {
    let dir = tmp_ruleset("1");
    let report = measure(std::slice::from_ref(&dir), &Limits::default()).expect("measured");
    assert_eq!(report.rulesets.len(), 1);
    let r = &report.rulesets[0];
    assert_eq!(r.cases, 3);
    let names = |items: &[rulec::coverage::Item]| -> Vec<String> {
        items
            .iter()
            .map(|i| format!("{}:{} {}", i.line, i.kind, i.name))
            .collect()
    };
    assert_eq!(
        names(&r.covered),
        vec![
            "6:param version rate_small (always)",
            "10:def small",
            "11:branch else of if claim.big (in `pay`)",
            "11:branch if claim.big then (in `pay`)",
            "11:output pay",
            "13:function capped",
            "15:output label",
            "17:branch match claim.kind: b, c (in `label`)",
        ]
    );
    assert_eq!(
        names(&r.uncovered),
        vec![
            "8:param version cap (from 2020-01-01 until 2023-12-31)",
            "9:param version cap (from 2024-01-01)",
            "12:exception negative",
            "14:function doubled",
            "16:branch match claim.kind: a (in `label`)",
        ]
    );
    let t = r.tally();
    assert_eq!(t.groups, [(4, 7), (3, 4), (1, 2)]);
    assert!((report.percent() - 100.0 * 8.0 / 13.0).abs() < 1e-9);
    let lcov = render_lcov(&report);
    for line in [
        "FN:13,capped\nFN:14,doubled\nFNDA:1,capped\nFNDA:0,doubled\nFNF:2\nFNH:1\n",
        // The `if` is decision 0 of the file, the `match` decision 1.
        "BRDA:11,0,0,1\nBRDA:11,0,1,1\nBRDA:15,1,0,0\nBRDA:15,1,1,1\nBRF:4\nBRH:3\n",
        "DA:6,1\n",
        "DA:9,0\n",
        "DA:10,1\n",
        "LF:9\nLH:5\nend_of_record",
    ] {
        assert!(lcov.contains(line), "{line:?} not in\n{lcov}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_decision_no_case_reaches_is_taken_dash_in_lcov() {
    let dir = tmp_ruleset("2");
    std::fs::write(
        dir.join("tests/c.json"),
        r#"{"name": "small", "claim": {"settlement_date": "2024-06-01", "amount": "3", "big": false, "kind": "a"}, "expect": {"pay": "1.50"}}"#,
    )
    .expect("write");
    std::fs::write(
        dir.join("t.rulec"),
        format!("{RULES}def never: int = if claim.big then 1 else 2\n"),
    )
    .expect("write");
    let report = measure(std::slice::from_ref(&dir), &Limits::default()).expect("measured");
    let lcov = render_lcov(&report);
    assert!(lcov.contains("BRDA:19,2,0,-\nBRDA:19,2,1,-\n"), "{lcov}");
    assert!(lcov.contains("BRDA:11,0,0,0\nBRDA:11,0,1,1\n"), "{lcov}");
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
            if let Some(arm) = i.arm {
                // A branch points at its `if` or `match`, and its arm's line is within the file.
                let at = text.lines().nth(arm.line - 1).unwrap_or("");
                let from: String = at.chars().skip(arm.col - 1).collect();
                assert!(
                    from.starts_with("if ") || from.starts_with("match "),
                    "{}:{}:{} is not an `if` or `match`: {at}",
                    i.file,
                    arm.line,
                    arm.col
                );
                assert!(i.line >= arm.line && !line.trim().is_empty(), "{i:?}");
                continue;
            }
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
    let dir = tmp_ruleset("3");
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
    let ok = run("60");
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let out = String::from_utf8_lossy(&ok.stdout);
    let summary = "61.5% (8 of 13; definitions and data 4/7, branches 3/4, functions 1/2)";
    assert!(out.contains(&format!("{summary}, 3 cases")), "{out}");
    assert!(out.contains(&format!("total: {summary}")), "{out}");
    let file = Path::new(&dir).join("t.rulec");
    for miss in [
        "9 param version cap (from 2024-01-01)",
        "16 branch match claim.kind: a (in `label`)",
        "14 function doubled",
    ] {
        assert!(
            out.contains(&format!("not covered: {}:{miss}", file.display())),
            "{miss}: {out}"
        );
    }

    assert!(std::fs::read_to_string(&lcov)
        .expect("lcov")
        .starts_with("TN:\nSF:"));
    let low = run("62");
    assert_eq!(low.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&low.stderr).contains("below --min-coverage 62%"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn with_format_json_the_coverage_is_part_of_the_one_json_document() {
    let dir = tmp_ruleset("4");
    let out = Command::new(env!("CARGO_BIN_EXE_rulec"))
        .arg("test")
        .arg(&dir)
        .args(["--format", "json", "--coverage", "--min-coverage", "62"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "below the minimum");
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["results"].as_array().map(Vec::len), Some(3));
    let c = &doc["coverage"];
    assert_eq!(c["total"]["percent"], serde_json::json!(61.5));
    assert_eq!(
        c["total"]["groups"]["branches"],
        serde_json::json!({"covered": 3, "items": 4})
    );
    let r = &c["rulesets"][0];
    assert_eq!(r["cases"], 3);
    assert!(r["uncovered"].as_array().is_some_and(|u| u
        .iter()
        .any(|i| i["kind"] == "function" && i["name"] == "doubled")));
    assert!(r["covered"].as_array().is_some_and(|u| u
        .iter()
        .any(|i| i["kind"] == "branch" && i["arm"]["index"] == 1 && i["line"] == 11)));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_ruleset_without_cases_counts_at_zero_and_min_coverage_is_a_percentage() {
    // rulesets/sample carries no cases: it is measured at 0%, never left out of the total.
    let report =
        measure(&[PathBuf::from("rulesets/sample")], &Limits::default()).expect("measures");
    let city = report
        .rulesets
        .iter()
        .find(|r| r.ruleset.ends_with("sample/city"))
        .expect("sample/city is in the report");
    assert_eq!(city.cases, 0);
    assert!(city.covered.is_empty() && !city.uncovered.is_empty());
    assert_eq!(report.percent(), 0.0);
    for bad in ["NaN", "-5", "150", "x"] {
        let out = Command::new(env!("CARGO_BIN_EXE_rulec"))
            .args(["test", "rulesets/sample", &format!("--min-coverage={bad}")])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "--min-coverage {bad}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("expected a percentage from 0 to 100"),
            "{bad}"
        );
    }
}
