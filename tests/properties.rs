//! Property tests over random claims against the sample ruleset: money is conserved, no fund
//! pays a negative amount or more than the claim, caps hold over sequences of claims,
//! evaluation is deterministic, and a `--batch` line equals the single evaluation.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use rulec::api::{EvalOptions, Ruleset};
use rulec::limits::Limits;
use rust_decimal::Decimal;
use serde_json::{json, Value as Json};
use std::sync::OnceLock;

fn ruleset() -> &'static Ruleset {
    static RS: OnceLock<Ruleset> = OnceLock::new();
    RS.get_or_init(|| {
        Ruleset::load_dir("rulesets/sample/city", Limits::default()).expect("sample ruleset checks")
    })
}

fn dec(j: &Json, path: &str) -> Decimal {
    let v = path
        .split('.')
        .try_fold(j, |cur, p| cur.get(p))
        .unwrap_or_else(|| panic!("{path} missing in {j}"));
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{path} is not a decimal: {v}"))
}

const CODES: &[(&str, &str)] = &[
    ("XA001", "drug"),
    ("XA003", "drug"),
    ("XC001", "drug"),
    ("ZL001", "service"),
    ("ZL004", "service"),
    ("ZL022", "service"),
    ("GH001", "registration"),
    ("NOT-LISTED", "drug"),
];

fn item() -> impl Strategy<Value = Json> {
    (0..CODES.len(), 1u32..5, 0u64..200_000).prop_map(|(c, q, cents)| {
        let (code, cat) = CODES[c];
        json!({ "code": code, "category": cat, "quantity": q.to_string(), "unit_price": format!("{}.{:02}", cents / 100, cents % 100) })
    })
}

fn claim() -> impl Strategy<Value = Json> {
    (
        prop::collection::vec(item(), 0..12),
        1u32..=3,
        prop::bool::ANY,
        prop::bool::ANY,
        prop::bool::ANY,
        0u32..730,
        prop::sample::select(vec!["outpatient", "inpatient", "delivery"]),
    )
        .prop_map(|(items, level, retired, elsewhere, covid, day, visit)| {
            let date = rulec::value::Date::parse("2024-01-01").map(|mut d| {
                for _ in 0..day {
                    d = d.succ();
                }
                d
            });
            json!({
                "claim_id": "p",
                "settlement_date": date.map(|d| d.to_string()).unwrap_or_default(),
                "visit": visit,
                "insured": { "scheme": "employee", "status": if retired { "retired" } else { "active" }, "region": "sample/city" },
                "facility": { "level": level, "region": if elsewhere { "other/place" } else { "sample/city" } },
                "diagnoses": if covid { vec!["U07.1"] } else { vec![] },
                "items": items,
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn money_is_conserved_and_funds_are_bounded(c in claim()) {
        let rs = ruleset();
        let s = rs.settlement_json(&rs.evaluate(&c, &EvalOptions::default()).expect("settles"));
        let total = dec(&s, "total");
        let fixed = dec(&s, "funds.maternity");
        prop_assert_eq!(dec(&s, "fund_pays") + dec(&s, "patient_pays"), total);
        for f in ["pooling", "serious", "maternity"] {
            let v = dec(&s, &format!("funds.{f}"));
            prop_assert!(v >= Decimal::ZERO, "fund {} negative: {}", f, v);
        }
        if fixed.is_zero() {
            // Without a fixed-amount payment, funds never pay more than the claim.
            prop_assert!(dec(&s, "fund_pays") <= total);
            prop_assert!(dec(&s, "patient_pays") >= Decimal::ZERO);
        }
        prop_assert_eq!(dec(&s, "eligible") + dec(&s, "self_pay") + dec(&s, "pre_self_pay"), total);
    }

    #[test]
    fn caps_hold_over_a_sequence_of_claims(claims in prop::collection::vec(claim(), 1..15)) {
        let rs = ruleset();
        let mut accs = json!({});
        let mut pooled = Decimal::ZERO;
        let mut year: Option<String> = None;
        for mut c in claims {
            // One insured, one year: thread the accumulators through the claims.
            let date = c["settlement_date"].as_str().unwrap_or("2024-01-01").to_string();
            if year.as_deref().is_some_and(|y| !date.starts_with(y)) {
                continue;
            }
            year = Some(date[..4].to_string());
            c["accumulators"] = accs.clone();
            let s = rs.settlement_json(&rs.evaluate(&c, &EvalOptions::default()).expect("settles"));
            pooled += dec(&s, "funds.pooling");
            let cap = if date.starts_with("2024") { Decimal::from(4_500) } else { Decimal::from(5_000) };
            prop_assert!(dec(&s, "accumulators.pooling_paid") <= cap, "cap exceeded: {}", s);
            prop_assert_eq!(dec(&s, "accumulators.pooling_paid"), pooled);
            prop_assert!(dec(&s, "accumulators.deductible_paid") <= Decimal::from(200));
            accs = s["accumulators"].clone();
        }
    }

    #[test]
    fn evaluation_is_deterministic(c in claim()) {
        let rs = ruleset();
        let a = rs.settlement_json(&rs.evaluate(&c, &EvalOptions::default()).expect("settles"));
        let b = rs.settlement_json(&rs.evaluate(&c, &EvalOptions::default()).expect("settles"));
        let (t, trace) = rs.evaluate_traced(&c, &EvalOptions::default()).expect("settles");
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(&a, &rs.settlement_json(&t));
        prop_assert!(!trace.is_empty());
    }
}

#[test]
fn batch_lines_equal_single_evaluations() {
    let rs = ruleset();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let claims: Vec<Json> = (0..300)
        .map(|_| claim().new_tree(&mut runner).expect("claim").current())
        .collect();
    let mut input = String::new();
    for c in &claims {
        input.push_str(&c.to_string());
        input.push('\n');
    }
    input.push_str("{not json\n");
    let path = std::env::temp_dir().join(format!("rulec-batch-{}.jsonl", std::process::id()));
    std::fs::write(&path, input).expect("write batch");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rulec"))
        .args(["eval", "rulesets/sample/city", "--batch"])
        .arg(&path)
        .args(["--jobs", "2"])
        .output()
        .expect("rulec runs");
    let _ = std::fs::remove_file(&path);
    assert_eq!(
        out.status.code(),
        Some(1),
        "one line is invalid, so the exit code is 1"
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), claims.len() + 1);
    for (c, line) in claims.iter().zip(&lines) {
        let got: Json = serde_json::from_str(line).expect("a JSON line");
        let mut want =
            rs.settlement_json(&rs.evaluate(c, &EvalOptions::default()).expect("settles"));
        // Batch lines carry the claim's `claim_id`, to join them back to their claims.
        if let (Some(id), Some(m)) = (c.get("claim_id"), want.as_object_mut()) {
            m.insert("claim_id".into(), id.clone());
        }
        assert_eq!(got.get("claim_id"), c.get("claim_id"));
        assert_eq!(got, want);
    }
    let last: Json = serde_json::from_str(lines[claims.len()]).expect("error line");
    assert!(
        last.get("error").is_some() && last["line"] == json!(claims.len() + 1),
        "{last}"
    );
}
