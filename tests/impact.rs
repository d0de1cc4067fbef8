//! `rulec impact`: raising Binzhou's annual cap for active employees from 4,500 to 5,000 over
//! a generated year of claims. The totals are cross-checked against single `rulec eval` runs
//! whose accumulators this test threads itself, person by person in date order; every
//! format is produced; the HTML page is well-formed and holds its charts.

use serde_json::{json, Value as Json};
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{copy_dir, Lcg};

const BIN: &str = env!("CARGO_BIN_EXE_rulec");

/// 16 persons, 6 to 14 outpatient claims each through 2024, in shuffled order; plus a claim
/// without `insured.id` and a claim dated before Binzhou's rules.
fn claims() -> Vec<Json> {
    let mut g = Lcg(20240101);
    let mut out = Vec::new();
    for p in 0..16 {
        let status = if p % 4 == 3 { "retired" } else { "active" };
        for c in 0..(6 + g.next(9)) {
            let month = 1 + g.next(12);
            let day = 1 + g.next(28);
            let price = format!("{}.{:02}", 40 + g.next(1400), g.next(100));
            let code = ["XA001", "XA003", "ZL003", "ZL004"][g.next(4) as usize];
            let mut items = vec![json!({
                "code": code,
                "category": "drug", "quantity": (1 + g.next(3)).to_string(), "unit_price": price
            })];
            if g.next(3) == 0 {
                items.push(json!({"code": "GH001", "category": "registration", "quantity": "1", "unit_price": "5.00"}));
            }
            out.push(json!({
                "claim_id": format!("BZ-{p:02}-{c:02}"),
                "settlement_date": format!("2024-{month:02}-{day:02}"),
                "visit": "outpatient",
                "insured": {"id": format!("P{p:02}"), "scheme": "employee", "status": status,
                            "region": "shandong/binzhou"},
                "facility": {"level": 1 + g.next(3), "region": "shandong/binzhou"},
                "items": items
            }));
        }
    }
    // Shuffle: replay must order each person's claims itself.
    for i in (1..out.len()).rev() {
        let j = g.next(i as u64 + 1) as usize;
        out.swap(i, j);
    }
    out.push(json!({
        "claim_id": "BZ-NOID", "settlement_date": "2024-05-05", "visit": "outpatient",
        "insured": {"scheme": "employee", "status": "active", "region": "shandong/binzhou"},
        "facility": {"level": 1, "region": "shandong/binzhou"},
        "items": [{"code": "XA001", "category": "drug", "quantity": "1", "unit_price": "10"}]
    }));
    out.push(json!({
        "claim_id": "BZ-2023", "settlement_date": "2023-12-30", "visit": "outpatient",
        "insured": {"id": "P00", "scheme": "employee", "status": "active", "region": "shandong/binzhou"},
        "facility": {"level": 1, "region": "shandong/binzhou"},
        "items": [{"code": "XA001", "category": "drug", "quantity": "1", "unit_price": "10"}]
    }));
    out
}

struct Setup {
    dir: PathBuf,
    reform: PathBuf,
    claims: PathBuf,
    list: Vec<Json>,
}

fn setup(name: &str) -> Setup {
    setup_with(name, "active  => 4_500", "active  => 5_000")
}

/// The shipped rules as base, and a copy with one edit of Binzhou's rules as reform.
fn setup_with(name: &str, from: &str, to: &str) -> Setup {
    let dir = std::env::temp_dir().join(format!("rulec-impact-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let reform = dir.join("reform");
    copy_dir(Path::new("rulesets"), &reform);
    let file = reform.join("shandong/binzhou/outpatient_pooling.rulec");
    let text = std::fs::read_to_string(&file).expect("binzhou rules");
    assert!(text.contains(from), "the edit is where the test expects it");
    std::fs::write(&file, text.replacen(from, to, 1)).expect("write");
    let list = claims();
    let claims = dir.join("claims.jsonl");
    let body: String = list.iter().map(|c| format!("{c}\n")).collect();
    std::fs::write(&claims, body).expect("write claims");
    Setup {
        dir,
        reform,
        claims,
        list,
    }
}

fn impact(s: &Setup, extra: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        .arg("impact")
        .arg("rulesets")
        .arg(&s.reform)
        .arg(&s.claims)
        .args(extra)
        .output()
        .expect("run rulec impact");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("UTF-8 output"),
    )
}

fn dec(j: &Json) -> rust_decimal::Decimal {
    j.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a decimal string, got {j}"))
}

/// Settles each person's claims in (date, claim id) order with single `rulec eval` runs,
/// passing each settlement's accumulators to the next claim; returns the sums of the
/// outpatient pooling fund, fund_pays, patient_pays and hospital_absorbs.
fn threaded_totals(s: &Setup, root: &Path) -> [rust_decimal::Decimal; 4] {
    let mut by_person: std::collections::BTreeMap<String, Vec<&Json>> = Default::default();
    for c in &s.list {
        let Some(id) = c["insured"]["id"].as_str() else {
            continue;
        };
        if c["settlement_date"].as_str().unwrap_or("") < "2024" {
            continue;
        }
        by_person.entry(id.to_string()).or_default().push(c);
    }
    let mut sums = [rust_decimal::Decimal::ZERO; 4];
    let file = s.dir.join(format!("one-{}.json", sums.len()));
    for claims in by_person.values_mut() {
        claims.sort_by_key(|c| {
            (
                c["settlement_date"].as_str().unwrap_or("").to_string(),
                c["claim_id"].as_str().unwrap_or("").to_string(),
            )
        });
        let mut accumulators = json!({});
        for c in claims.iter() {
            let mut c = (*c).clone();
            c["accumulators"] = accumulators.clone();
            std::fs::write(&file, c.to_string()).expect("write claim");
            let out = Command::new(BIN)
                .arg("eval")
                .arg("--rulesets")
                .arg(root)
                .arg(&file)
                .output()
                .expect("run rulec eval");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let settlement: Json = serde_json::from_slice(&out.stdout).expect("settlement JSON");
            accumulators = settlement["accumulators"].clone();
            sums[0] += dec(&settlement["funds"]["outpatient_pooling"]);
            sums[1] += dec(&settlement["fund_pays"]);
            sums[2] += dec(&settlement["patient_pays"]);
            sums[3] += dec(&settlement["hospital_absorbs"]);
        }
    }
    sums
}

#[test]
fn raising_binzhous_cap_over_a_year_of_claims() {
    let s = setup("json");
    let (code, out) = impact(&s, &["--format", "json", "--top", "3", "--jobs", "2"]);
    assert_eq!(code, 1, "two claims fail, so the exit code is 1");
    let r: Json = serde_json::from_str(&out).expect("impact JSON");

    // Counts.
    assert_eq!(r["claims"], s.list.len());
    assert_eq!(r["claims_failed"], 2);
    assert_eq!(r["insured"], 16);
    let changed = r["claims_changed"].as_u64().expect("a count");
    assert!(changed > 0, "a higher cap changes some claims");
    let affected = r["insured_affected"].as_u64().expect("a count");
    assert!(
        affected > 0 && affected <= 12,
        "only active persons can gain: {affected}"
    );

    // Totals, cross-checked against threaded single runs on each side.
    let base = threaded_totals(&s, Path::new("rulesets"));
    let reform = threaded_totals(&s, &s.reform);
    let names = [
        "outpatient_pooling",
        "fund_pays",
        "patient_pays",
        "hospital_absorbs",
    ];
    for (k, name) in names.iter().enumerate() {
        let t = if k == 0 {
            &r["funds"][name]
        } else {
            &r["totals"][name]
        };
        assert_eq!(dec(&t["base"]), base[k], "{name}: base");
        assert_eq!(dec(&t["reform"]), reform[k], "{name}: reform");
        assert_eq!(dec(&t["delta"]), reform[k] - base[k], "{name}: delta");
    }
    assert!(reform[0] > base[0], "the reform pays more");
    assert_eq!(
        reform[1] - base[1],
        base[2] - reform[2],
        "what the fund pays more, patients pay less"
    );

    // The distribution: 9 deciles, a histogram that counts every settled claim.
    let settled = s.list.len() - 2;
    assert_eq!(r["deltas"]["deciles"].as_array().map(Vec::len), Some(9));
    let binned: u64 = r["deltas"]["histogram"]
        .as_array()
        .expect("bins")
        .iter()
        .map(|b| b["claims"].as_u64().expect("count"))
        .sum();
    assert_eq!(binned as usize, settled);
    let per_person: rust_decimal::Decimal = r["insured_top"]
        .as_array()
        .expect("persons")
        .iter()
        .map(|p| dec(&p["delta"]))
        .sum();
    assert!(per_person > rust_decimal::Decimal::ZERO);

    // The largest change is explained by the cap, with both versions and their citation.
    let top = r["top"].as_array().expect("top claims");
    assert_eq!(top.len(), 3);
    let cap = top[0]["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["name"] == "pooling_cap[active]")
        .unwrap_or_else(|| panic!("the cap is among the changes: {}", top[0]));
    assert_eq!(cap["base"]["value"], "4500.00");
    assert_eq!(cap["reform"]["value"], "5000.00");
    assert!(cap["reform"]["cite"]
        .as_str()
        .is_some_and(|c| c.contains("年度最高支付限额")));

    // Failures, with their lines and codes.
    let failed = r["failed"].as_array().expect("failures");
    let codes: Vec<(u64, &str, &str)> = failed
        .iter()
        .map(|f| {
            (
                f["line"].as_u64().unwrap_or(0),
                f["side"].as_str().unwrap_or(""),
                f["code"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let n = s.list.len() as u64;
    assert_eq!(
        codes,
        vec![(n - 1, "both", "rulec::E0750"), (n, "both", "rulec::E0701")]
    );
    let _ = std::fs::remove_dir_all(&s.dir);
}

#[test]
fn the_same_report_with_any_number_of_jobs() {
    let s = setup("jobs");
    let (_, one) = impact(&s, &["--format", "json", "--jobs", "1"]);
    let (_, two) = impact(&s, &["--format", "json", "--jobs", "2"]);
    assert_eq!(one, two);
    let _ = std::fs::remove_dir_all(&s.dir);
}

#[test]
fn human_report() {
    let s = setup("human");
    let (code, out) = impact(&s, &[]);
    assert_eq!(code, 1);
    let count = format!("claims {}", s.list.len());
    for needle in [
        count.as_str(),
        "outpatient_pooling",
        "fund_pays",
        "patient_pays",
        "deciles 10%..90%",
        "pooling_cap[active]: 4500.00 (from 2024-01-01) → 5000.00 (from 2024-01-01)",
        "[rulec::E0750]",
        "[rulec::E0701]",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
    let _ = std::fs::remove_dir_all(&s.dir);
}

#[test]
fn html_report_is_well_formed_with_its_charts() {
    let s = setup("html");
    let page = s.dir.join("report.html");
    let (code, _) = impact(
        &s,
        &["--format", "html", "--output", page.to_str().expect("path")],
    );
    assert_eq!(code, 1);
    let html = std::fs::read_to_string(&page).expect("the page");
    // Well-formed: every element closes, in order (the page is also valid XML).
    let mut reader = quick_xml::Reader::from_str(&html);
    let mut stack: Vec<String> = Vec::new();
    let mut svgs = Vec::new();
    let mut rects_in_svg = 0;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e)) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).to_string();
                if name == "svg" {
                    svgs.push(stack.len());
                }
                stack.push(name);
            }
            Ok(quick_xml::events::Event::Empty(e)) => {
                if e.name().as_ref() == b"rect" && stack.iter().any(|n| n == "svg") {
                    rects_in_svg += 1;
                }
            }
            Ok(quick_xml::events::Event::End(e)) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).to_string();
                assert_eq!(
                    stack.pop().as_deref(),
                    Some(name.as_str()),
                    "closing </{name}>"
                );
            }
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed at {}: {e}", reader.buffer_position()),
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    assert_eq!(svgs.len(), 3, "fund chart and two histograms");
    assert!(rects_in_svg > 20, "the charts have bars: {rects_in_svg}");
    for id in ["funds-chart", "claim-histogram", "person-histogram"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(html.contains("outpatient_pooling") && html.contains("rulec::E0750"));
    assert!(!html.contains("<script"), "self-contained, no script");
    assert!(!html.contains("src=\"http"), "no external resources");
    let _ = std::fs::remove_dir_all(&s.dir);
}

/// A small ruleset in `dir/NAME` whose one fund pays the claim's amount (no cap, no
/// accumulator), for the hostile cases below.
const PAYS_THE_AMOUNT: &str = "record Insured { id: text? }
enum Kind { care }
record Claim { claim_id: text, settlement_date: date, insured: Insured, amount: money, kind: Kind = care }
input claim: Claim
as_of claim.settlement_date
fund pay = claim.amount
covers claim.kind == care
";

/// Writes `rules` as the ruleset `dir/name` and `amounts` as one claim each (one person
/// each); runs `rulec impact` with the ruleset on both sides: code, stdout, stderr.
fn impact_of(name: &str, rules: &str, claims: &[String], extra: &[&str]) -> (i32, String, String) {
    impact_between(name, rules, rules, claims, extra)
}

/// As [`impact_of`], with other rules as the reform.
fn impact_between(
    name: &str,
    rules: &str,
    reform: &str,
    claims: &[String],
    extra: &[&str],
) -> (i32, String, String) {
    let dir = std::env::temp_dir().join(format!("rulec-impact-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (rs, rf) = (dir.join("rules"), dir.join("reform"));
    for (d, text) in [(&rs, rules), (&rf, reform)] {
        std::fs::create_dir_all(d).expect("dir");
        std::fs::write(d.join("rules.rulec"), text).expect("rules");
    }
    let file = dir.join("claims.jsonl");
    std::fs::write(&file, claims.concat()).expect("claims");
    let out = Command::new(BIN)
        .arg("impact")
        .arg(&rs)
        .arg(&rf)
        .arg(&file)
        .args(extra)
        .output()
        .expect("run rulec impact");
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("UTF-8"),
        String::from_utf8(out.stderr).expect("UTF-8"),
    )
}

fn amount_claims(amounts: &[&str]) -> Vec<String> {
    amounts
        .iter()
        .enumerate()
        .map(|(i, a)| claim_on(i, "2024-03-01", a))
        .collect()
}

/// Claim `H{i}` of person `p{i}`.
fn claim_on(i: usize, date: &str, amount: &str) -> String {
    format!(
        "{{\"claim_id\": \"H{i}\", \"settlement_date\": \"{date}\", \
         \"insured\": {{\"id\": \"p{i}\"}}, \"amount\": \"{amount}\"}}\n"
    )
}

#[test]
fn a_total_beyond_a_decimal_is_refused_never_a_panic() {
    // Each claim settles (5 × 10^28 is a decimal), but their sum is not: E0752 names the
    // totals, nothing is printed as a report, and the exit code is 1 (not a panic's 101).
    let big = "50000000000000000000000000000";
    let (code, out, err) = impact_of(
        "overflow",
        PAYS_THE_AMOUNT,
        &amount_claims(&[big, big]),
        &["--format", "json"],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(out, "", "no report");
    assert!(err.contains("rulec::E0752"), "{err}");
    assert!(
        err.contains("the sums `funds.pay.base`, `funds.pay.reform`, `totals.fund_pays.base`"),
        "{err}"
    );
}

#[test]
fn a_total_that_would_be_rounded_is_refused() {
    // 6 × 120000000000000000000000000.01 = 720000000000000000000000000.06 is exact (28
    // digits); a 7th gives 840000000000000000000000000.07, which a decimal holds only as
    // ….1: refused, never reported rounded.
    let a = "120000000000000000000000000.01";
    let (code, out, err) = impact_of(
        "exact6",
        PAYS_THE_AMOUNT,
        &amount_claims(&[a; 6]),
        &["--format", "json"],
    );
    assert_eq!(code, 0, "{err}");
    let r: Json = serde_json::from_str(&out).expect("JSON");
    assert_eq!(
        r["totals"]["fund_pays"],
        json!({"base": "720000000000000000000000000.06",
               "reform": "720000000000000000000000000.06", "delta": "0.00"})
    );
    let (code, out, err) = impact_of(
        "round7",
        PAYS_THE_AMOUNT,
        &amount_claims(&[a; 7]),
        &["--format", "json"],
    );
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(err.contains("rulec::E0752"), "{err}");
}

#[test]
fn nothing_compared_still_gives_the_fixed_shape_and_a_warning() {
    // An empty file: every total and every fund of the rules is there, at 0.00.
    let (code, out, err) = impact_of("empty", PAYS_THE_AMOUNT, &[], &["--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let r: Json = serde_json::from_str(&out).expect("JSON");
    let zero = json!({"base": "0.00", "reform": "0.00", "delta": "0.00"});
    assert_eq!(r["funds"], json!({"pay": zero}));
    assert_eq!(
        r["totals"],
        json!({"fund_pays": zero, "patient_pays": zero, "hospital_absorbs": zero})
    );
    assert_eq!(
        err.trim_end(),
        "warning: no claim settled under both rules, so nothing was compared (0 claims read, \
         0 failed): every total is 0.00"
    );
    // One claim, and it fails: the same shape, the failure listed, exit code 1.
    let bad = vec![
        "{\"claim_id\": \"X\", \"settlement_date\": \"2024-03-01\", \
                    \"insured\": {\"id\": \"p1\"}, \"amount\": \"lots\"}\n"
            .to_string(),
    ];
    let (code, out, err) = impact_of("nonecompared", PAYS_THE_AMOUNT, &bad, &["--format", "json"]);
    assert_eq!(code, 1, "{err}");
    let r: Json = serde_json::from_str(&out).expect("JSON");
    assert_eq!(r["funds"], json!({"pay": zero}));
    assert_eq!(r["totals"]["patient_pays"], zero);
    assert_eq!(r["failed"][0]["code"], "rulec::E0710");
    assert!(err.contains("(1 claim read, 1 failed)"), "{err}");
}

#[test]
fn jobs_is_bounded() {
    for bad in ["100000", "0"] {
        let (code, out, err) = impact_of("jobs", PAYS_THE_AMOUNT, &[], &["--jobs", bad]);
        assert_eq!((code, out.as_str()), (2, ""), "{err}");
        assert!(
            err.contains(&format!("{bad} worker threads: give 1 to 256")),
            "{err}"
        );
    }
}

#[test]
fn a_routing_root_with_rule_errors_shows_them_once() {
    // `root/x` has an error; each of its three claims fails with E0713, and the error
    // itself is shown once on stderr, rendered as `rulec check` renders it.
    let dir = std::env::temp_dir().join(format!("rulec-impact-root-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let x = dir.join("root/x");
    std::fs::create_dir_all(&x).expect("dir");
    let rules = PAYS_THE_AMOUNT
        .replace(
            "record Insured { id: text? }",
            "record Insured { id: text?, region: text }",
        )
        .replace("fund pay = claim.amount", "fund pay = claim.amont");
    std::fs::write(x.join("rules.rulec"), rules).expect("rules");
    let claims: String = (0..3)
        .map(|i| {
            format!(
                "{{\"claim_id\": \"C{i}\", \"settlement_date\": \"2024-03-01\", \
                 \"insured\": {{\"id\": \"p{i}\", \"region\": \"x\"}}, \"amount\": \"10\"}}\n"
            )
        })
        .collect();
    std::fs::write(dir.join("c.jsonl"), claims).expect("claims");
    let root = dir.join("root");
    let out = Command::new(BIN)
        .arg("impact")
        .args([&root, &root, &dir.join("c.jsonl")])
        .args(["--format", "json"])
        .output()
        .expect("run");
    let err = String::from_utf8(out.stderr).expect("UTF-8");
    assert_eq!(out.status.code(), Some(1), "{err}");
    let r: Json = serde_json::from_slice(&out.stdout).expect("JSON");
    let codes: Vec<&str> = r["failed"]
        .as_array()
        .expect("failed")
        .iter()
        .map(|f| f["code"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(codes, ["rulec::E0713"; 3]);
    assert_eq!(
        err.matches("× ").count(),
        2,
        "the rule error once, per side: {err}"
    );
    assert!(
        err.contains("claim.amont"),
        "the error's source is shown: {err}"
    );
    assert!(
        err.contains(
            "have 1 error: each claim routed to a ruleset with errors fails with rulec::E0713"
        ),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_reform_of_a_definition_explains_every_changed_claim() {
    // The reform rounds the pooling fund to the yuan instead of the fen: no value changes,
    // only the fund's definition. Every changed claim names it, with both results.
    let s = setup_with(
        "definition",
        "pooling_ratio_now, 0.01, half_up)",
        "pooling_ratio_now, 1, half_up)",
    );
    let (_, out) = impact(&s, &["--format", "json", "--top", "1000"]);
    let r: Json = serde_json::from_str(&out).expect("impact JSON");
    let top = r["top"].as_array().expect("top");
    assert_eq!(
        top.len() as u64,
        r["claims_changed"].as_u64().expect("count")
    );
    assert!(top.len() > 10, "rounding to the yuan changes many claims");
    for t in top {
        let fund = t["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .find(|c| c["kind"] == "fund" && c["name"] == "outpatient_pooling")
            .unwrap_or_else(|| panic!("the changed fund explains {t}"));
        // Binzhou's claims are paid by this one fund: its results are the claim's.
        assert_eq!(fund["base"]["value"], t["base"], "{t}");
        assert_eq!(fund["reform"]["value"], t["reform"], "{t}");
        let file = fund["reform"]["file"].as_str().expect("file");
        assert!(
            file.ends_with("shandong/binzhou/outpatient_pooling.rulec"),
            "{file}"
        );
        let reform = dec(&fund["reform"]["value"]);
        assert_eq!(reform, reform.round(), "the reform pays whole yuan: {t}");
    }
    let _ = std::fs::remove_dir_all(&s.dir);
}

#[test]
fn a_claim_failing_on_one_side_only_is_listed_with_its_side() {
    // The reform caps the payment at 1,000 from 2024-02-01 only: H0 (15 January) has no cap
    // in force under the reform (E0701) and counts in neither total; H1 settles on both
    // sides, 1,500 under the base and 1,000 under the reform.
    let reform = PAYS_THE_AMOUNT.replace(
        "fund pay = claim.amount",
        "param cap: money\n  from 2024-02-01 = 1_000 cite assumed\nfund pay = min(claim.amount, cap)",
    );
    let claims = [
        claim_on(0, "2024-01-15", "800"),
        claim_on(1, "2024-03-01", "1500"),
    ];
    let (code, out, err) = impact_between(
        "oneside",
        PAYS_THE_AMOUNT,
        &reform,
        &claims,
        &["--format", "json"],
    );
    assert_eq!(code, 1, "a claim failed: {err}");
    let r: Json = serde_json::from_str(&out).expect("JSON");
    assert_eq!(r["claims"], 2);
    assert_eq!(r["claims_failed"], 1);
    assert_eq!(r["claims_changed"], 1);
    assert_eq!(r["failed"].as_array().map(Vec::len), Some(1));
    let f = &r["failed"][0];
    assert_eq!(
        (
            &f["line"],
            &f["claim_id"],
            &f["insured"],
            &f["side"],
            &f["code"]
        ),
        (
            &json!(1),
            &json!("H0"),
            &json!("p0"),
            &json!("reform"),
            &json!("rulec::E0701")
        )
    );
    assert_eq!(
        r["totals"]["fund_pays"],
        json!({"base": "1500.00", "reform": "1000.00", "delta": "-500.00"})
    );
}
