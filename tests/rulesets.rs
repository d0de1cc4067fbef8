//! The shipped rulesets: they check with no error and no warning, and every case they ship
//! passes (`rulec test rulesets/`), at least 10 per ruleset and 80 in all.

use rulec::limits::Limits;
use rulec::project::check_paths;
use rulec::testing::{render_human, render_junit, run_paths};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

/// Base rulesets settle no claim themselves (reference-policies.md §11): their logic is
/// tested through the children that inherit it, and their own cases are coverage errors.
const BASES: &[&str] = &["rulesets/china", "rulesets/shandong"];

const REGIONS: &[&str] = &[
    "rulesets/china",
    "rulesets/shandong",
    "rulesets/shandong/binzhou",
    "rulesets/shandong/qingdao",
    "rulesets/jilin",
    "rulesets/jilin/changchun",
    "rulesets/beijing",
    "rulesets/sichuan/chengdu",
];

#[test]
fn shipped_rulesets_check_cleanly() {
    let report = check_paths(&[PathBuf::from("rulesets")], Limits::default()).expect("readable");
    let diags = report.diags.sorted();
    assert!(
        diags.is_empty(),
        "{}",
        rulec::diag::render_human(&diags, &report.map, false)
    );
    for r in REGIONS {
        assert!(
            report.rulesets.iter().any(|(p, _)| p == &PathBuf::from(r)),
            "{r} is not a ruleset"
        );
    }
}

#[test]
fn shipped_cases_pass() {
    let report = run_paths(&[PathBuf::from("rulesets")], &Limits::default()).expect("readable");
    assert_eq!(report.failed(), 0, "{}", render_human(&report));
    assert!(
        report.results.len() >= 80,
        "only {} cases",
        report.results.len()
    );
    let mut per: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &report.results {
        *per.entry(r.ruleset.as_str()).or_default() += 1;
    }
    for r in REGIONS {
        let n = per.get(r).copied().unwrap_or(0);
        let least = if BASES.contains(r) { 2 } else { 10 };
        assert!(n >= least, "{r} ships {n} cases, fewer than {least}");
    }
    let junit = render_junit(&report);
    assert!(
        junit.contains("<testsuites")
            && junit.contains(&format!("tests=\"{}\"", report.results.len()))
    );
}

#[test]
fn the_source_numbers_are_cases() {
    let report = run_paths(&[PathBuf::from("rulesets")], &Limits::default()).expect("readable");
    for (ruleset, needle) in [
        ("rulesets/beijing", "3,480"),
        ("rulesets/sichuan/chengdu", "700"),
        ("rulesets/jilin/changchun", "22,000 and 46,000"),
        ("rulesets/jilin", "300,000 on 2023-12-31"),
        ("rulesets/jilin", "400,000 from 2024-01-01"),
        ("rulesets/shandong/binzhou", "retiree cap of 5,500"),
        ("rulesets/shandong/qingdao", "2024 natural delivery: 2,605"),
        ("rulesets/shandong/qingdao", "2025 caesarean: 3,815"),
    ] {
        let hit = report
            .results
            .iter()
            .find(|r| r.ruleset == ruleset && r.name.contains(needle));
        let hit = hit.unwrap_or_else(|| panic!("no case `{needle}` in {ruleset}"));
        assert!(
            hit.passed && hit.source.is_some(),
            "{needle}: must pass and name its source"
        );
    }
}

#[test]
fn rulec_test_command_reports_and_fails_on_a_wrong_expectation() {
    let exe = env!("CARGO_BIN_EXE_rulec");
    let out = Command::new(exe)
        .args(["test", "rulesets/beijing"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains(" passed, 0 failed"));

    // A broken copy: one expectation changed. The copy keeps the tree's shape, since the
    // header `sichuan/chengdu` names its directories.
    let tmp = std::env::temp_dir().join(format!("rulec-test-{}", std::process::id()));
    let dir = tmp.join("sichuan").join("chengdu");
    std::fs::create_dir_all(dir.join("tests")).expect("mkdir");
    std::fs::create_dir_all(tmp.join("china")).expect("mkdir");
    for f in ["schema.rulec", "lines.rulec", "funds.rulec", "catalog.csv"] {
        std::fs::copy(format!("rulesets/china/{f}"), tmp.join("china").join(f)).expect("copy");
    }
    let rules = std::fs::read_to_string("rulesets/sichuan/chengdu/prenatal.rulec").expect("rules");
    std::fs::write(dir.join("prenatal.rulec"), rules).expect("write");
    let cases = std::fs::read_to_string("rulesets/sichuan/chengdu/tests/prenatal.json")
        .expect("cases")
        .replacen("\"700.00\"", "\"701.00\"", 1);
    std::fs::write(dir.join("tests/prenatal.json"), cases).expect("write");
    let junit = tmp.join("junit.xml");
    let out = Command::new(exe)
        .arg("test")
        .arg(&dir)
        .arg("--junit")
        .arg(&junit)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL the 700 limit"), "{stdout}");
    assert!(
        stdout.contains("funds.maternity: expected 701.00, got 700.00"),
        "{stdout}"
    );
    assert!(
        stdout.contains("fund maternity = 700.00"),
        "the explanation of the differing value: {stdout}"
    );
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    assert!(
        xml.contains("<failure message=\"funds.maternity: expected 701.00, got 700.00\""),
        "{xml}"
    );
    let out = Command::new(exe)
        .arg("test")
        .arg(&dir)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(j["results"][0]["mismatches"][0]["field"], "funds.maternity");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn routing_picks_the_most_specific_ruleset() {
    let exe = env!("CARGO_BIN_EXE_rulec");
    let tmp = std::env::temp_dir().join(format!("rulec-route-{}.jsonl", std::process::id()));
    let claims = [
        r#"{"claim_id":"a","settlement_date":"2024-06-10","visit":"outpatient","insured":{"scheme":"employee","status":"active","region":"shandong/binzhou"},"facility":{"level":1,"region":"shandong/binzhou"},"items":[{"code":"ZL006","category":"service","quantity":"1","unit_price":"1200"}]}"#,
        r#"{"claim_id":"b","settlement_date":"2024-06-10","visit":"outpatient","insured":{"scheme":"employee","status":"active","region":"shandong/weifang"},"facility":{"level":1,"region":"shandong/weifang"},"items":[{"code":"ZL006","category":"service","quantity":"1","unit_price":"1200"}]}"#,
        r#"{"claim_id":"c","settlement_date":"2024-06-10","visit":"outpatient","insured":{"scheme":"employee","status":"active","region":"hainan/sanya"},"facility":{"level":1,"region":"hainan/sanya"},"items":[]}"#,
    ];
    std::fs::write(&tmp, claims.join("\n") + "\n").expect("write");
    let out = Command::new(exe)
        .args(["eval", "--rulesets", "rulesets", "--batch"])
        .arg(&tmp)
        .output()
        .expect("runs");
    let _ = std::fs::remove_file(&tmp);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the Hainan claim has no ruleset"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines[0]["ruleset"], "shandong/binzhou");
    assert_eq!(lines[0]["funds"]["outpatient_pooling"], "800.00");
    // Weifang has no rules of its own: the claim falls back to the province, which covers
    // no claim, so it is refused rather than settled at zero.
    assert_eq!(lines[1]["error"][0]["code"], "rulec::E0730", "{}", lines[1]);
    assert!(lines[1]["error"][0]["message"]
        .as_str()
        .unwrap_or("")
        .contains("ruleset `shandong` covers no claims"));
    assert!(lines[2]["error"][0]["message"]
        .as_str()
        .unwrap_or("")
        .contains("hainan/sanya"));
}

#[test]
fn every_value_of_the_shipped_rulesets_cites_a_source_or_says_assumed() {
    let report = check_paths(&[PathBuf::from("rulesets")], Limits::default()).expect("readable");
    let mut missing = Vec::new();
    for (path, rs) in &report.rulesets {
        if path.starts_with("rulesets/sample") {
            continue;
        }
        for p in &rs.params {
            if p.versions.iter().any(|v| v.cite.is_none()) {
                missing.push(format!("{}: param {}", path.display(), p.name));
            }
        }
        for t in &rs.tables {
            if t.versions.iter().any(|v| v.cite.is_none()) {
                missing.push(format!("{}: table {}", path.display(), t.name));
            }
        }
        for b in &rs.bands {
            if b.versions.iter().any(|v| v.cite.is_none()) {
                missing.push(format!("{}: bands {}", path.display(), b.name));
            }
        }
        for c in &rs.catalogs {
            if c.cite.is_none() {
                missing.push(format!("{}: catalog {}", path.display(), c.name));
            }
        }
        for s in &rs.series {
            if s.cite.is_none() {
                missing.push(format!("{}: series {}", path.display(), s.name));
            }
        }
    }
    missing.sort();
    missing.dedup();
    assert!(
        missing.is_empty(),
        "values without a citation:\n{}",
        missing.join("\n")
    );
}

fn settle_routed(claim: &serde_json::Value) -> Result<serde_json::Value, rulec::api::Error> {
    let router = rulec::api::Router::new("rulesets", Limits::default());
    let rs = router.route(claim)?;
    let s = rs.evaluate(claim, &rulec::api::EvalOptions::default())?;
    Ok(rs.settlement_json(&s))
}

fn inpatient(region: &str, scheme: &str) -> serde_json::Value {
    serde_json::json!({
        "claim_id": "cov", "settlement_date": "2024-06-10", "visit": "inpatient",
        "insured": { "scheme": scheme, "status": "active", "region": region },
        "facility": { "level": 2, "region": region },
        "items": [{ "code": "ZL006", "category": "service", "quantity": "1", "unit_price": "12000" }]
    })
}

/// reference-policies.md §11: an employee inpatient claim from `jilin/baishan` is routed to
/// `jilin`, whose rules cover resident inpatient care only: an error naming the ruleset and
/// the deciding fields, not a settlement of zeros.
#[test]
fn a_claim_routed_to_a_parent_that_does_not_cover_it_is_refused() {
    let err = settle_routed(&inpatient("jilin/baishan", "employee")).expect_err("not covered");
    let d = &err.diagnostics[0];
    assert_eq!(d.code, rulec::diag::Code::NotCovered);
    assert!(
        d.message.contains("ruleset `jilin`")
            && d.message
                .contains("visit = inpatient, insured.scheme = employee"),
        "{}",
        d.message
    );
    // The same claim from a resident is Jilin's to settle.
    let ok = settle_routed(&inpatient("jilin/baishan", "resident")).expect("covered");
    assert_eq!(ok["ruleset"], "jilin");
}

/// reference-policies.md §7: Changchun covers employee inpatient care, and resident claims
/// "fall back to the Jilin rules": Changchun inherits Jilin's coverage and rules, so a
/// resident claim routed to Changchun settles exactly as Jilin settles it.
#[test]
fn changchun_settles_resident_claims_by_the_jilin_rules() {
    let claim = inpatient("jilin/changchun", "resident");
    let routed = settle_routed(&claim).expect("changchun covers residents through Jilin");
    assert_eq!(routed["ruleset"], "jilin/changchun");
    let jilin = rulec::api::Ruleset::load_dir("rulesets/jilin", Limits::default()).expect("loads");
    let direct = jilin
        .evaluate(&claim, &rulec::api::EvalOptions::default())
        .expect("jilin settles it");
    let direct = jilin.settlement_json(&direct);
    for f in [
        "basic",
        "critical_illness",
        "medical_assistance",
        "mutual_aid",
        "union_card",
    ] {
        assert_eq!(routed["funds"][f], direct["funds"][f], "fund {f}");
    }
    assert_eq!(routed["patient_pays"], direct["patient_pays"]);
    assert_ne!(
        routed["funds"]["basic"], "0.00",
        "a real settlement, not zeros"
    );
    // Employee inpatient: Changchun's own rules.
    let emp = settle_routed(&inpatient("jilin/changchun", "employee")).expect("covered");
    assert_ne!(emp["funds"]["basic"], direct["funds"]["basic"]);
}

/// A claim covered by no ruleset on its path is refused in every region, by code.
#[test]
fn every_region_refuses_what_it_does_not_cover() {
    let cases = [
        (
            "shandong/binzhou",
            "inpatient",
            "employee",
            "shandong/binzhou",
        ),
        (
            "shandong/qingdao",
            "prenatal",
            "employee",
            "shandong/qingdao",
        ),
        ("shandong/jinan", "outpatient", "employee", "shandong"),
        (
            "jilin/changchun",
            "outpatient",
            "employee",
            "jilin/changchun",
        ),
        ("jilin/jilin", "inpatient", "employee", "jilin"),
        ("beijing", "delivery", "employee", "beijing"),
        // Maternity insurance pays insured employees: a resident's prenatal claim.
        ("beijing", "prenatal", "resident", "beijing"),
        // A misspelled city falls back to its province, which covers nothing of its own.
        ("shandong/binzou", "outpatient", "employee", "shandong"),
        ("sichuan/chengdu", "delivery", "resident", "sichuan/chengdu"),
    ];
    for (region, visit, scheme, ruleset) in cases {
        let mut claim = inpatient(region, scheme);
        claim["visit"] = visit.into();
        let err = settle_routed(&claim).expect_err(region);
        let d = &err.diagnostics[0];
        assert_eq!(
            d.code,
            rulec::diag::Code::NotCovered,
            "{region}: {}",
            d.message
        );
        assert!(
            d.message.contains(&format!("ruleset `{ruleset}`")),
            "{region}: {}",
            d.message
        );
    }
}
