//! Fuzzing harnesses, shared by the cargo-fuzz targets in `fuzz/` and by the corpus replay
//! in `tests/fuzz_corpus.rs` (so CI needs no nightly toolchain). Each returns the broken
//! invariant as an error instead of panicking.

use crate::api::{EvalOptions, Ruleset};
use crate::limits::Limits;
use crate::project::{check_sources, CheckReport};
use serde_json::Value as Json;
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

/// Rule text (any bytes) through parse, check, compile and evaluation. Every diagnostic's
/// span lies inside its file. A ruleset that checks is compiled (a refusal must carry a
/// diagnostic), and a claim made to fit its declared input is settled by the byte decoder
/// with the compiled evaluator, the JSON tree with the compiled evaluator, and the JSON tree
/// with the tree walker: the three give the same settlement or the same error codes.
pub fn rules(data: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(data).into_owned();
    let report = check_sources("fuzz", &[("fuzz.rulec".into(), text)], Limits::default())
        .map_err(|e| e.to_string())?;
    spans_inside(&report)?;
    if report.diags.has_errors() {
        return Ok(());
    }
    let rs = match crate::api::from_report(report, Limits::default()) {
        Ok(rs) => rs,
        Err(e) if e.diagnostics.is_empty() => {
            return Err("a checked ruleset fails to compile without a diagnostic".into())
        }
        Err(_) => return Ok(()),
    };
    let Some((_, ty)) = &rs.compiled().input else {
        return Ok(());
    };
    let claim = fitting(rs.compiled(), ty, 0);
    three_paths(&rs, claim.to_string().as_bytes(), Some(claim)).map(|_| ())
}

/// A JSON value of type `ty` as a claim gives it: plain values, lists of two, every record
/// field present (deeper than [`FIT_DEPTH`], lists are empty and records null).
fn fitting(rs: &crate::ir::Ruleset, ty: &crate::types::Type, depth: usize) -> Json {
    use crate::types::Type;
    match ty {
        Type::Money | Type::Decimal => Json::String("12.5".into()),
        Type::Rate => Json::String("50%".into()),
        Type::Int => Json::from(2),
        Type::Bool => Json::Bool(true),
        Type::Date => Json::String("2024-06-30".into()),
        Type::Text => Json::String("A".into()),
        Type::Enum(e) => rs
            .enums
            .get(*e as usize)
            .and_then(|d| d.variants.first())
            .map_or(Json::Null, |v| Json::String(v.clone())),
        Type::List(inner) if depth < FIT_DEPTH => {
            let x = fitting(rs, inner, depth + 1);
            Json::Array(vec![x.clone(), x])
        }
        Type::List(_) => Json::Array(Vec::new()),
        Type::Optional(inner) => fitting(rs, inner, depth),
        Type::Record(r) if depth < FIT_DEPTH => match rs.records.get(*r as usize) {
            Some(rec) => Json::Object(
                rec.fields
                    .iter()
                    .map(|f| (f.name.clone(), fitting(rs, &f.ty, depth + 1)))
                    .collect(),
            ),
            None => Json::Null,
        },
        Type::Record(_) | Type::Row(_) | Type::Error => Json::Null,
    }
}

/// How deep [`fitting`] builds lists and records.
const FIT_DEPTH: usize = 6;

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
    let parsed = std::str::from_utf8(data)
        .ok()
        .and_then(|text| rs.parse_claim(text).ok());
    let Some(out) = three_paths(rs, data, parsed)? else {
        return Ok(());
    };
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

/// Settles claim bytes three ways that must agree: the byte decoder with the compiled
/// evaluator, and (when `parsed` holds the claim's JSON tree) the tree with the compiled
/// evaluator and with the tree walker. The settlement's JSON when all three settle.
fn three_paths(rs: &Ruleset, data: &[u8], parsed: Option<Json>) -> Result<Option<Json>, String> {
    let opts = EvalOptions::default();
    let codes = |e: &crate::api::Error| -> Vec<&'static str> {
        e.diagnostics.iter().map(|d| d.code.as_str()).collect()
    };
    let from_bytes = rs.evaluate_bytes(data, &opts);
    let Some(j) = parsed else {
        // Not a claim for the tree reader: the byte path must refuse it too.
        return match from_bytes {
            Ok(_) => Err("the byte decoder settled a claim the JSON reader refuses".into()),
            Err(e) if e.diagnostics.is_empty() => Err("an error without a diagnostic".into()),
            Err(_) => Ok(None),
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
            Ok(Some(out))
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
                Ok(None)
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
