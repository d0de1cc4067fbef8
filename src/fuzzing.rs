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

/// Claim JSON (any bytes) through evaluation against the shipped Binzhou ruleset. The
/// settlement, when there is one, must be consistent.
pub fn claim(data: &[u8]) -> Result<(), String> {
    let Some(rs) = binzhou() else {
        return Err("the Binzhou ruleset does not load".into());
    };
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    let Ok(j) = rs.parse_claim(text) else {
        return Ok(());
    };
    match rs.evaluate(&j, &EvalOptions::default()) {
        Ok(s) => {
            let out = rs.settlement_json(&s);
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
        Err(e) => {
            if e.diagnostics.is_empty() {
                Err("an error without a diagnostic".into())
            } else {
                Ok(())
            }
        }
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
