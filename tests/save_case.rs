//! `rulec eval … --save-case FILE --name "…"`: the settled claim becomes a case whose
//! expectation is its settlement, appended to FILE; the case passes `rulec test`; a second
//! case of the same name is refused; an unsettled claim saves nothing.

use std::process::Command;

fn rulec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rulec"))
}

#[test]
fn a_settled_claim_becomes_a_passing_case() {
    let dir = std::env::temp_dir().join(format!("rulec-save-case-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let file = dir.join("cases.json");
    let save = |name: &str| {
        rulec()
            .args([
                "eval",
                "rulesets/shandong/binzhou",
                "rulesets/shandong/binzhou/claims/outpatient.json",
            ])
            .arg("--save-case")
            .arg(&file)
            .args(["--name", name])
            .output()
            .expect("runs")
    };
    let out = save("retired, level 2");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"outpatient_pooling\": \"190.39\""));
    let cases = rulec::testing::read_cases(&file).expect("a case file");
    assert_eq!(cases.len(), 1);
    let c = &cases[0];
    assert_eq!(c.name, "retired, level 2");
    assert_eq!(c.expect["funds.outpatient_pooling"], "190.39");
    assert_eq!(c.expect["accumulators.outpatient_pooling_paid"], "1390.39");
    assert_eq!(c.expect["patient_pays"], "230.71");
    let rs = rulec::api::Ruleset::load_dir(
        "rulesets/shandong/binzhou",
        rulec::limits::Limits::default(),
    )
    .expect("loads");
    assert!(rulec::testing::run_case(&rs, c, "binzhou", "cases.json").passed);

    // Appended, not overwritten; the same name twice is refused.
    assert_eq!(save("again, another name").status.code(), Some(0));
    assert_eq!(rulec::testing::read_cases(&file).expect("cases").len(), 2);
    let dup = save("retired, level 2");
    assert_eq!(dup.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already has a case"));
    assert_eq!(rulec::testing::read_cases(&file).expect("cases").len(), 2);

    // A claim the ruleset refuses saves nothing.
    let refused = dir.join("refused.json");
    std::fs::write(&refused, r#"{"claim_id": "x"}"#).expect("write");
    let out = rulec()
        .args(["eval", "rulesets/shandong/binzhou"])
        .arg(&refused)
        .arg("--save-case")
        .arg(dir.join("none.json"))
        .args(["--name", "nothing"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(!dir.join("none.json").exists());
    // --name is required.
    let out = rulec()
        .args([
            "eval",
            "rulesets/shandong/binzhou",
            "rulesets/shandong/binzhou/claims/outpatient.json",
            "--save-case",
            "x.json",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
