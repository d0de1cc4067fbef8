//! The `--explain` output for one claim is pinned: an analyst reads it, so a change in it
//! shows up in review. Regenerate with `UPDATE_GOLDEN=1 cargo test --test explain`.

use std::process::Command;

fn golden(name: &str, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_rulec"))
        .args(args)
        .output()
        .expect("rulec runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let path = format!("tests/explain/{name}");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).expect("write golden");
    }
    let want = std::fs::read_to_string(&path).expect("golden exists; run with UPDATE_GOLDEN=1");
    assert_eq!(text, want);
}

#[test]
fn explain_binzhou_outpatient_claim() {
    golden(
        "binzhou-outpatient.txt",
        &[
            "eval",
            "--rulesets",
            "rulesets",
            "rulesets/shandong/binzhou/claims/outpatient.json",
            "--explain",
        ],
    );
}

#[test]
fn trace_json_binzhou_outpatient_claim() {
    golden(
        "binzhou-outpatient.trace.json",
        &[
            "eval",
            "--rulesets",
            "rulesets",
            "rulesets/shandong/binzhou/claims/outpatient.json",
            "--trace",
            "json",
        ],
    );
}
