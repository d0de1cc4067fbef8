//! Hostile claims for `eval` and `--batch`: each gets an error with a JSON path (or the
//! whole-claim position), never a panic, and a batch keeps going past them.

use rulec::api::{EvalOptions, Ruleset};
use rulec::limits::Limits;
use serde_json::Value as Json;
use std::process::Command;
use std::sync::OnceLock;

fn rs() -> &'static Ruleset {
    static RS: OnceLock<Ruleset> = OnceLock::new();
    RS.get_or_init(|| {
        Ruleset::load_dir("rulesets/shandong/binzhou", Limits::default()).expect("loads")
    })
}

const GOOD: &str = r#"{"claim_id":"h","settlement_date":"2024-06-10","visit":"outpatient","insured":{"scheme":"employee","status":"active","region":"shandong/binzhou"},"facility":{"level":1,"region":"shandong/binzhou"},"items":[{"code":"ZL006","category":"service","quantity":"1","unit_price":"1200"}]}"#;

/// (name, claim text, error code, text the message must contain)
fn corpus() -> Vec<(&'static str, String, &'static str, &'static str)> {
    vec![
        (
            "truncated",
            GOOD[..GOOD.len() / 2].to_string(),
            "rulec::E0710",
            "not valid JSON",
        ),
        (
            "nested 100,000 deep",
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
            "rulec::E0710",
            "recursion limit",
        ),
        (
            "nested objects",
            format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000)),
            "rulec::E0710",
            "recursion limit",
        ),
        (
            "a 50 MB string",
            GOOD.replace(
                "\"claim_id\":\"h\"",
                &format!("\"claim_id\":\"{}\"", "x".repeat(50 * 1024 * 1024)),
            ),
            "rulec::E0715",
            "over the limit",
        ),
        (
            "duplicate keys",
            GOOD.replace(
                "\"unit_price\":\"1200\"",
                "\"unit_price\":\"1200\",\"unit_price\":\"1\"",
            ),
            "rulec::E0710",
            "items[0].unit_price: the key `unit_price` is given twice",
        ),
        (
            "wrong type",
            GOOD.replace("\"level\":1", "\"level\":\"first\""),
            "rulec::E0710",
            "facility.level: expected an integer",
        ),
        (
            "1e400",
            GOOD.replace("\"unit_price\":\"1200\"", "\"unit_price\":1e400"),
            "rulec::E0710",
            "items[0].unit_price",
        ),
        (
            "-0",
            GOOD.replace("\"quantity\":\"1\"", "\"quantity\":-0"),
            "rulec::E0710",
            "items[0].quantity: must not be negative",
        ),
        (
            "negative quantity",
            GOOD.replace("\"quantity\":\"1\"", "\"quantity\":\"-2\""),
            "rulec::E0710",
            "items[0].quantity: must not be negative",
        ),
        (
            "not an object",
            "[1, 2, 3]".to_string(),
            "rulec::E0710",
            "expected an object",
        ),
        (
            "unknown enum value",
            GOOD.replace("\"visit\":\"outpatient\"", "\"visit\":\"dental\""),
            "rulec::E0710",
            "visit: expected one of",
        ),
        (
            "bad date",
            GOOD.replace("2024-06-10", "2024-02-30"),
            "rulec::E0710",
            "settlement_date",
        ),
        (
            "null where a list is needed",
            GOOD.replace(
                r#""items":[{"code":"ZL006","category":"service","quantity":"1","unit_price":"1200"}]"#,
                r#""items":null"#,
            ),
            "rulec::E0710",
            "items: expected a list",
        ),
        (
            "huge integer",
            GOOD.replace("\"level\":1", "\"level\":123456789012345678901234567890"),
            "rulec::E0710",
            "facility.level",
        ),
        ("empty", String::new(), "rulec::E0710", "not valid JSON"),
        (
            "a misspelled optional field (it would take its default)",
            GOOD.replace("\"status\":\"active\"", "\"status\":\"active\",\"mutual_aid_membr\":true"),
            "rulec::E0710",
            "insured.mutual_aid_membr: Insured has no field `mutual_aid_membr`; did you mean `mutual_aid_member`?",
        ),
        (
            "an unknown field in an item",
            GOOD.replace("\"quantity\":\"1\"", "\"quantity\":\"1\",\"discount\":\"0.5\""),
            "rulec::E0710",
            "items[0].discount: Item has no field `discount`",
        ),
        (
            "a running total the ruleset does not keep",
            GOOD.replace("\"items\":[", "\"accumulators\":{\"outpatient_poolng_paid\":\"100\"},\"items\":["),
            "rulec::E0710",
            "accumulators.outpatient_poolng_paid: the ruleset keeps no accumulator `outpatient_poolng_paid`; did you mean `outpatient_pooling_paid`?",
        ),
        (
            "a 30-digit amount field (string)",
            GOOD.replace("\"1200\"", "\"123456789012345678901234567890\""),
            "rulec::E0710",
            "items[0].unit_price: \"123456789012345678901234567890\" has too many digits for an exact amount: 30 significant digits; an exact decimal holds at most 28",
        ),
        (
            "a 31-digit amount field (number)",
            GOOD.replace("\"1200\"", "123456789012345678901234567890.5"),
            "rulec::E0710",
            "items[0].unit_price: 123456789012345678901234567890.5 has too many digits for an exact amount: 31 significant digits",
        ),
        (
            "an exponent with 30 digits (field)",
            GOOD.replace("\"quantity\":\"1\"", "\"quantity\":1.00000000000000000000000000001e0"),
            "rulec::E0710",
            "items[0].quantity: 1.00000000000000000000000000001e+0 has no exact decimal value",
        ),
        (
            "bad UTF-8 escape",
            GOOD.replace("\"h\"", "\"\\ud800\""),
            "rulec::E0710",
            "not valid JSON",
        ),
    ]
}

#[test]
fn each_hostile_claim_gets_its_error() {
    for (name, text, code, needle) in corpus() {
        let err = match rs().evaluate_str(&text, &EvalOptions::default()) {
            Ok(_) => panic!("{name}: settled"),
            Err(e) => e,
        };
        let d = err
            .diagnostics
            .first()
            .unwrap_or_else(|| panic!("{name}: no diagnostic"));
        assert_eq!(d.code.as_str(), code, "{name}: {}", d.message);
        assert!(
            d.message.contains(needle),
            "{name}: `{}` lacks `{needle}`",
            d.message
        );
        // The byte decoder (`rulec eval`, `--batch`) refuses it with the same code.
        let err = match rs().evaluate_bytes(text.as_bytes(), &EvalOptions::default()) {
            Ok(_) => panic!("{name}: settled from bytes"),
            Err(e) => e,
        };
        let b = err
            .diagnostics
            .first()
            .unwrap_or_else(|| panic!("{name}: no diagnostic from bytes"));
        assert_eq!(b.code.as_str(), code, "{name} (bytes): {}", b.message);
        if name.contains("field") || name.contains("running total") {
            assert!(
                b.message.contains(needle),
                "{name} (bytes): `{}` lacks `{needle}`",
                b.message
            );
        }
    }
}

#[test]
fn a_batch_keeps_going_past_hostile_lines() {
    let mut lines = vec![GOOD.to_string()];
    for (_, text, _, _) in corpus() {
        // JSON Lines: a claim is one line; the hostile texts stay on theirs.
        lines.push(text.replace('\n', " "));
        lines.push(GOOD.to_string());
    }
    let path = std::env::temp_dir().join(format!("rulec-hostile-{}.jsonl", std::process::id()));
    std::fs::write(&path, lines.join("\n") + "\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_rulec"))
        .args(["eval", "rulesets/shandong/binzhou", "--batch"])
        .arg(&path)
        .output()
        .expect("runs");
    let _ = std::fs::remove_file(&path);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let results: Vec<Json> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(results.len(), lines.len(), "one result per line");
    for (i, r) in results.iter().enumerate() {
        if i % 2 == 0 {
            assert_eq!(r["funds"]["outpatient_pooling"], "800.00", "line {}", i + 1);
        } else {
            assert!(r["error"].is_array(), "line {}: {r}", i + 1);
            assert_eq!(r["line"], i + 1);
        }
    }
}
