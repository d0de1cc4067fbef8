//! docs/impact.md's walk-through, run as written: raise Binzhou's cap in a copy of the rules,
//! then `rulec diff`, `rulec impact` over `examples/impact/claims.jsonl` and `rulec audit`.
//! The lines the page quotes must be what the commands print today.

mod common;
use common::copy_dir;

use std::path::{Path, PathBuf};

fn rulec(dir: &Path, args: &[&str]) -> (i32, String) {
    let (code, out, _) = common::rulec_in(dir, args);
    (code, out)
}

/// Asserts the page quotes this output line (as printed, trailing spaces aside).
fn quoted(doc: &str, output: &str, starts: &str) {
    let line = output
        .lines()
        .find(|l| l.trim_start().starts_with(starts))
        .unwrap_or_else(|| panic!("no line starting with `{starts}` in:\n{output}"));
    assert!(
        doc.contains(line.trim_end()),
        "docs/impact.md does not quote the line the command prints today:\n{line}"
    );
}

#[test]
fn the_walk_through_prints_what_the_page_says() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/impact.md")).expect("docs/impact.md");
    let dir = std::env::temp_dir().join(format!("rulec-impact-docs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&root.join("rulesets"), &dir.join("rulesets"));
    copy_dir(&root.join("rulesets"), &dir.join("reform"));
    std::fs::copy(
        root.join("examples/impact/claims.jsonl"),
        dir.join("claims.jsonl"),
    )
    .expect("claims");
    // The page's `sed` line.
    assert!(doc.contains("sed -i 's/active  => 4_500/active  => 5_000/' reform/shandong/binzhou/outpatient_pooling.rulec"));
    let file = dir.join("reform/shandong/binzhou/outpatient_pooling.rulec");
    let text = std::fs::read_to_string(&file).expect("rules");
    assert!(text.contains("active  => 4_500"));
    std::fs::write(
        &file,
        text.replacen("active  => 4_500", "active  => 5_000", 1),
    )
    .expect("edit");

    let (code, diff) = rulec(&dir, &["diff", "rulesets", "reform"]);
    assert_eq!(code, 0);
    for start in [
        "rulec diff",
        "~ changed table pooling_cap[active]",
        "table rows:",
    ] {
        quoted(&doc, &diff, start);
    }

    let (code, human) = rulec(&dir, &["impact", "rulesets", "reform", "claims.jsonl"]);
    assert_eq!(code, 0);
    for start in [
        "claims ",
        "outpatient_pooling",
        "fund_pays",
        "patient_pays",
        "hospital_absorbs",
    ] {
        quoted(&doc, &human, start);
    }
    let (_, json) = rulec(
        &dir,
        &[
            "impact",
            "rulesets",
            "reform",
            "claims.jsonl",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let persons = v["insured_deltas"]["histogram"]
        .as_array()
        .and_then(|h| h.last())
        .map(|b| b["claims"].clone());
    assert!(
        doc.contains(&format!(
            "Here {} of {} persons reach the old cap; {} of them gain the full 500.",
            v["insured_affected"],
            v["insured"],
            persons.unwrap_or_default()
        )),
        "the sentence on persons reaching the cap"
    );

    let (code, audit) = rulec(&dir, &["audit", "reform/shandong/binzhou"]);
    assert_eq!(code, 0);
    for start in [
        "param  pooling_deductible",
        "ruleset  ",
        "shandong/binzhou  9",
    ] {
        quoted(&doc, &audit, start);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
