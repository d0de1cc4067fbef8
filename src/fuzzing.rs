//! Fuzzing harnesses, shared by the cargo-fuzz targets in `fuzz/` and by the corpus replay
//! in `tests/fuzz_corpus.rs` (so CI needs no nightly toolchain). Each returns the broken
//! invariant as an error instead of panicking.

use crate::api::{EvalOptions, Ruleset};
use crate::limits::Limits;
use crate::project::{check_sources, CheckReport};
use std::sync::OnceLock;

fn spans_inside(report: &CheckReport) -> Result<(), String> {
    for d in report.diags.iter() {
        if let Some(s) = d.span {
            let len = report.map.get(s.file).map(|f| f.text.len()).unwrap_or(0);
            if s.start > s.end || s.end as usize > len {
                return Err(format!(
                    "{}: span {}..{} outside a file of {len} bytes",
                    d.code, s.start, s.end
                ));
            }
        }
    }
    Ok(())
}

/// Rule text (any bytes) through parse and check.
pub fn rules(data: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(data).into_owned();
    let report = check_sources("fuzz", &[("fuzz.rulec".into(), text)], Limits::default())
        .map_err(|e| e.to_string())?;
    spans_inside(&report)
}

fn binzhou() -> Option<&'static Ruleset> {
    static RS: OnceLock<Option<Ruleset>> = OnceLock::new();
    RS.get_or_init(|| {
        let dir = std::env::var("RULEC_FUZZ_RULESET").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/rulesets/shandong/binzhou").to_string()
        });
        Ruleset::load_dir(dir, Limits::default()).ok()
    })
    .as_ref()
}

/// Claim JSON (any bytes) through evaluation against the shipped Binzhou ruleset, three
/// ways that must agree: the byte decoder with the compiled evaluator (`evaluate_bytes`, the
/// path of `--batch`), the JSON tree with the compiled evaluator (`evaluate`), and the JSON
/// tree with the tree walker (`evaluate_reference`). A settlement must conserve money and be
/// written identically by the byte writer and through JSON; an error must carry a diagnostic.
pub fn claim(data: &[u8]) -> Result<(), String> {
    let Some(rs) = binzhou() else {
        return Err("the Binzhou ruleset does not load".into());
    };
    let opts = EvalOptions::default();
    let codes = |e: &crate::api::Error| -> Vec<&'static str> {
        e.diagnostics.iter().map(|d| d.code.as_str()).collect()
    };
    let from_bytes = rs.evaluate_bytes(data, &opts);
    let parsed = std::str::from_utf8(data)
        .ok()
        .and_then(|text| rs.parse_claim(text).ok());
    let Some(j) = parsed else {
        // Not a claim for the tree reader: the byte path must refuse it too.
        return match from_bytes {
            Ok(_) => Err("the byte decoder settled a claim the JSON reader refuses".into()),
            Err(e) if e.diagnostics.is_empty() => Err("an error without a diagnostic".into()),
            Err(_) => Ok(()),
        };
    };
    let compiled = rs.evaluate(&j, &opts);
    let reference = rs.evaluate_reference(&j, &opts);
    match (&from_bytes, &compiled, &reference) {
        (Ok(b), Ok(c), Ok(r)) => {
            let out = rs.settlement_json(c);
            if rs.settlement_json(r) != out || rs.settlement_json(b) != out {
                return Err("the three paths settle differently".into());
            }
            let mut written = Vec::new();
            rs.write_settlement(b, &mut written);
            if written != out.to_string().into_bytes() {
                return Err("write_settlement differs from the settlement JSON".into());
            }
            let dec = |k: &str| {
                out.get(k)
                    .and_then(|v| v.as_str())
                    .and_then(|v| v.parse::<rust_decimal::Decimal>().ok())
            };
            match (dec("total"), dec("fund_pays"), dec("patient_pays")) {
                (Some(t), Some(f), Some(p)) if f + p == t => Ok(()),
                other => Err(format!("money not conserved: {other:?}")),
            }
        }
        (Err(b), Err(c), Err(r)) => {
            if b.diagnostics.is_empty() || c.diagnostics.is_empty() {
                Err("an error without a diagnostic".into())
            } else if codes(c) != codes(r) || codes(b) != codes(c) {
                Err(format!(
                    "the paths refuse differently: bytes {:?}, compiled {:?}, reference {:?}",
                    codes(b),
                    codes(c),
                    codes(r)
                ))
            } else {
                Ok(())
            }
        }
        _ => Err(format!(
            "the paths disagree: bytes ok={}, compiled ok={}, reference ok={}",
            from_bytes.is_ok(),
            compiled.is_ok(),
            reference.is_ok()
        )),
    }
}

/// Catalog CSV (any bytes) through loading and typing against a typed catalog declaration.
pub fn catalog(data: &[u8]) -> Result<(), String> {
    let rules = "enum Class { A, B, C }\n\
                 record Claim { d: date, code: text }\n\
                 input claim: Claim\n\
                 as_of claim.d\n\
                 catalog items { code: text key, name: text, class: Class, b_share: rate?, price_cap: money?, n: int? } from \"items.csv\"\n\
                 output inside: bool = claim.code in items\n";
    let csv = String::from_utf8_lossy(data).into_owned();
    let report = check_sources(
        "fuzz",
        &[
            ("rules.rulec".into(), rules.into()),
            ("items.csv".into(), csv),
        ],
        Limits::default(),
    )
    .map_err(|e| e.to_string())?;
    spans_inside(&report)
}
