//! Embedding rulec in a host program: load a ruleset once, settle a claim, print the
//! settlement and the explanation of every amount.
//!
//! Run with `cargo run --example embed`.

use rulec::api::{EvalOptions, Ruleset};
use rulec::limits::Limits;
use serde::Deserialize;

/// The host's own view of a settlement: only the fields it needs.
#[derive(Debug, Deserialize)]
struct HostSettlement {
    total: String,
    eligible: String,
    patient_pays: String,
    funds: std::collections::BTreeMap<String, String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Compile once; `Ruleset` is Send + Sync, so one copy serves every worker thread.
    let ruleset = match Ruleset::load_dir("rulesets/sample/city", Limits::default()) {
        Ok(r) => r,
        Err(e) => {
            eprint!("{}", e.render_human());
            std::process::exit(1);
        }
    };
    let claim: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        "rulesets/sample/claims/outpatient.json",
    )?)?;

    // Settle, and read the result into the host's own type.
    let settlement: HostSettlement = ruleset.evaluate_into(&claim, &EvalOptions::default())?;
    println!(
        "total {} · eligible {} · patient pays {}",
        settlement.total, settlement.eligible, settlement.patient_pays
    );
    for (fund, amount) in &settlement.funds {
        println!("  fund {fund}: {amount}");
    }

    // The same claim, explained.
    let (_, trace) = ruleset.evaluate_traced(&claim, &EvalOptions::default())?;
    println!("\n{}", ruleset.render_explanation(&trace));

    // Claims that do not fit give errors with a JSON path, never a panic.
    let bad = serde_json::json!({ "settlement_date": "2024-02-30" });
    if let Err(e) = ruleset.evaluate(&bad, &EvalOptions::default()) {
        println!("a bad claim is refused: {e}");
    }
    Ok(())
}
