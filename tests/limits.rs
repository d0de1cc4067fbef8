//! Every limit of `Limits`, at the limit (accepted) and one past it (refused with its own
//! diagnostic code).

use rulec::api::{EvalOptions, Ruleset};
use rulec::limits::Limits;
use rulec::project::check_sources;

fn check_codes(text: &str, extra: &[(&str, &str)], limits: Limits) -> Vec<&'static str> {
    let mut sources = vec![("rules.rulec".to_string(), text.to_string())];
    sources.extend(extra.iter().map(|(n, t)| (n.to_string(), t.to_string())));
    let report = check_sources("limits", &sources, limits).expect("runs");
    report
        .diags
        .sorted()
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code.as_str())
        .collect()
}

const HEAD: &str = "record Item { code: text, unit_price: money }\nrecord Claim { date: date, items: list<Item> }\ninput claim: Claim\nas_of claim.date\n";

#[test]
fn source_bytes() {
    let text = format!("{HEAD}output total: money = sum(claim.items, i => i.unit_price)\n");
    let at = Limits {
        max_source_bytes: text.len(),
        ..Limits::default()
    };
    assert!(check_codes(&text, &[], at).is_empty());
    let past = Limits {
        max_source_bytes: text.len() - 1,
        ..Limits::default()
    };
    assert_eq!(check_codes(&text, &[], past), ["rulec::E0009"]);
}

#[test]
fn nesting() {
    let text = format!("{HEAD}output total: money = sum(claim.items, i => ((i.unit_price)))\n");
    // sum( … ( ( … ) ) ): three levels of brackets.
    let at = Limits {
        max_nesting: 3,
        ..Limits::default()
    };
    assert!(check_codes(&text, &[], at).is_empty());
    let past = Limits {
        max_nesting: 2,
        ..Limits::default()
    };
    assert_eq!(check_codes(&text, &[], past), ["rulec::E0003"]);
}

#[test]
fn operators_per_declaration() {
    let text = format!("{HEAD}output total: money = sum(claim.items, i => i.unit_price + i.unit_price + i.unit_price)\n");
    // Operators: four `.` field reads (`claim.items` and three `i.unit_price`) and two `+`.
    let n = 6;
    let at = Limits {
        max_expr_depth: n,
        ..Limits::default()
    };
    assert!(
        check_codes(&text, &[], at).is_empty(),
        "{:?}",
        check_codes(
            &text,
            &[],
            Limits {
                max_expr_depth: n,
                ..Limits::default()
            }
        )
    );
    let past = Limits {
        max_expr_depth: n - 1,
        ..Limits::default()
    };
    assert_eq!(check_codes(&text, &[], past), ["rulec::E0012"]);
}

#[test]
fn catalog_rows() {
    let text = format!("{HEAD}catalog c {{ code: text key }} from \"c.csv\"\noutput inside: bool = any(claim.items, i => i.code in c)\n");
    let csv = "code\nA\nB\nC\n";
    let at = Limits {
        max_catalog_rows: 3,
        ..Limits::default()
    };
    assert!(check_codes(&text, &[("c.csv", csv)], at).is_empty());
    let past = Limits {
        max_catalog_rows: 2,
        ..Limits::default()
    };
    assert_eq!(
        check_codes(&text, &[("c.csv", csv)], past),
        ["rulec::E0510"]
    );
}

fn eval_code(limits: Limits, claim: &str) -> Option<&'static str> {
    let text = format!("{HEAD}output total: money = sum(claim.items, i => i.unit_price)\n");
    let rs =
        Ruleset::load_sources("limits", &[("rules.rulec".into(), text)], limits).expect("loads");
    match rs.evaluate_str(claim, &EvalOptions::default()) {
        Ok(_) => None,
        Err(e) => e.diagnostics.first().map(|d| d.code.as_str()),
    }
}

const CLAIM: &str = r#"{"date": "2024-01-01", "items": [{"code": "A", "unit_price": "1"}, {"code": "B", "unit_price": "2"}, {"code": "C", "unit_price": "3"}]}"#;

#[test]
fn claim_bytes() {
    assert_eq!(
        eval_code(
            Limits {
                max_claim_bytes: CLAIM.len(),
                ..Limits::default()
            },
            CLAIM
        ),
        None
    );
    assert_eq!(
        eval_code(
            Limits {
                max_claim_bytes: CLAIM.len() - 1,
                ..Limits::default()
            },
            CLAIM
        ),
        Some("rulec::E0715")
    );
}

#[test]
fn json_depth() {
    // claim (0) → items (1) → an item (2) → its fields (3).
    assert_eq!(
        eval_code(
            Limits {
                max_json_depth: 3,
                ..Limits::default()
            },
            CLAIM
        ),
        None
    );
    assert_eq!(
        eval_code(
            Limits {
                max_json_depth: 2,
                ..Limits::default()
            },
            CLAIM
        ),
        Some("rulec::E0716")
    );
}

#[test]
fn list_length() {
    assert_eq!(
        eval_code(
            Limits {
                max_list_len: 3,
                ..Limits::default()
            },
            CLAIM
        ),
        None
    );
    assert_eq!(
        eval_code(
            Limits {
                max_list_len: 2,
                ..Limits::default()
            },
            CLAIM
        ),
        Some("rulec::E0717")
    );
}

#[test]
fn evaluation_steps() {
    // The smallest step budget that settles the claim, found by bisection; one less fails.
    let (mut lo, mut hi) = (1u64, 100_000u64);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if eval_code(
            Limits {
                max_steps: mid,
                ..Limits::default()
            },
            CLAIM,
        )
        .is_none()
        {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    assert_eq!(
        eval_code(
            Limits {
                max_steps: lo,
                ..Limits::default()
            },
            CLAIM
        ),
        None
    );
    assert_eq!(
        eval_code(
            Limits {
                max_steps: lo - 1,
                ..Limits::default()
            },
            CLAIM
        ),
        Some("rulec::E0711")
    );
}

/// The code each evaluator gives a claim (compiled, tree walker), `None` when it settles.
fn both_codes(rules: &str, claim: &serde_json::Value, limits: Limits) -> [Option<String>; 2] {
    let rs = Ruleset::load_sources(
        "limits",
        &[("rules.rulec".into(), rules.to_string())],
        limits,
    )
    .expect("loads");
    let code = |r: Result<_, rulec::api::Error>| {
        r.err()
            .and_then(|e| e.diagnostics.first().map(|d| d.code.as_str().to_string()))
    };
    [
        code(rs.evaluate(claim, &EvalOptions::default())),
        code(rs.evaluate_reference(claim, &EvalOptions::default())),
    ]
}

#[test]
fn membership_tests_count_every_comparison_in_both_evaluators() {
    // `c in claim.codes` inside a sum over the same list: n² comparisons for n codes.
    let rules =
        "record Claim { date: date, codes: list<text> }\ninput claim: Claim\nas_of claim.date\n\
                 output hits: money = sum(claim.codes, c => if c in claim.codes then 1 else 0)\n";
    let claim = |n: usize| {
        let codes: Vec<String> = (0..n).map(|i| format!("C{i}")).collect();
        serde_json::json!({"date": "2024-01-01", "codes": codes})
    };
    let limits = Limits {
        max_steps: 100_000,
        ..Limits::default()
    };
    // 100 codes: about 5,000 comparisons, well inside the budget.
    assert_eq!(both_codes(rules, &claim(100), limits.clone()), [None, None]);
    // 1,000 codes: about 500,000 comparisons, which the nodes alone (a few thousand) hide.
    let over = Some("rulec::E0711".to_string());
    assert_eq!(
        both_codes(rules, &claim(1_000), limits),
        [over.clone(), over]
    );
}

#[test]
fn text_functions_count_the_text_they_search_in_both_evaluators() {
    let rules = "record Claim { date: date, note: text }\ninput claim: Claim\nas_of claim.date\n\
                 output found: money = if starts_with(claim.note, \"x\") or before(claim.note, \"|\") == \"y\" then 1 else 0\n";
    let claim = |n: usize| serde_json::json!({"date": "2024-01-01", "note": "a".repeat(n)});
    let limits = Limits {
        max_steps: 1_000,
        ..Limits::default()
    };
    assert_eq!(both_codes(rules, &claim(10), limits.clone()), [None, None]);
    // A 1 MB note: a step per 64 bytes searched is 16,384 steps per call.
    let over = Some("rulec::E0711".to_string());
    assert_eq!(
        both_codes(rules, &claim(1 << 20), limits),
        [over.clone(), over]
    );
}

#[test]
fn comparing_long_texts_counts_the_text_compared_in_both_evaluators() {
    // `==` and `in` on texts compare byte by byte: a step per 64 bytes, as text functions.
    let rules = "record Claim { date: date, a: text, b: text }\ninput claim: Claim\nas_of claim.date\n\
                 output same: money = if claim.a == claim.b or claim.a in [claim.b] then 1 else 0\n";
    let claim = |n: usize| serde_json::json!({"date": "2024-01-01", "a": "a".repeat(n), "b": "a".repeat(n)});
    let limits = Limits {
        max_steps: 1_000,
        ..Limits::default()
    };
    assert_eq!(both_codes(rules, &claim(10), limits.clone()), [None, None]);
    // Two equal 1 MB texts: 16,384 steps for the comparison alone.
    let over = Some("rulec::E0711".to_string());
    assert_eq!(
        both_codes(rules, &claim(1 << 20), limits),
        [over.clone(), over]
    );
}

#[test]
fn looking_up_long_text_keys_counts_the_key_in_both_evaluators() {
    // A catalog code and a table key are hashed and compared: a step per 64 bytes of key.
    let rules = "record Claim { date: date, code: text }\ninput claim: Claim\nas_of claim.date\n\
                 catalog drugs { code: text key } rows {\n  [\"XA001\"]\n} cite assumed\n\
                 table name_rate(code: text): rate { \"XA001\" => 80% } cite assumed\n\
                 output listed: bool = claim.code in drugs\n\
                 output r: rate = if claim.code == \"XA001\" then name_rate[claim.code] else 0%\n";
    let claim = |code: String| serde_json::json!({"date": "2024-01-01", "code": code});
    let limits = Limits {
        max_steps: 1_000,
        ..Limits::default()
    };
    assert_eq!(
        both_codes(rules, &claim("XA001".into()), limits.clone()),
        [None, None]
    );
    // A 1 MB code: 16,384 steps for the catalog look-up alone.
    let over = Some("rulec::E0711".to_string());
    assert_eq!(
        both_codes(rules, &claim("a".repeat(1 << 20)), limits),
        [over.clone(), over]
    );
}
