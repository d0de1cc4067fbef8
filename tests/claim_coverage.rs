//! Claim coverage (`covers`): which claims a ruleset settles. A claim no clause covers is
//! refused with `E0730` naming the ruleset and the deciding fields; clauses are inherited
//! and `override covers` replaces them; a clause of another form is `E0120`.

use rulec::api::{EvalOptions, Ruleset};
use rulec::diag::Code;
use rulec::limits::Limits;
use serde_json::{json, Value as Json};
use std::path::{Path, PathBuf};

const SCHEMA: &str = "enum Visit { outpatient, inpatient, delivery }
enum Scheme { employee, resident }
enum Kind { natural, cesarean }
record Insured { scheme: Scheme, member: bool = false, level: int = 1, city: text = \"x\" }
record Claim { date: date, visit: Visit, insured: Insured, kind: Kind?, amount: money, items: list<text> = [] }
input claim: Claim
as_of claim.date
fund basic = round(claim.amount * 80%, 0.01, half_up)
";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rulec-cov-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    dir
}

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(dir.join(file), text).expect("write");
}

fn claim(visit: &str, scheme: &str) -> Json {
    json!({ "date": "2024-06-10", "visit": visit, "insured": { "scheme": scheme }, "amount": "100" })
}

fn one(rules: &str) -> Ruleset {
    Ruleset::load_sources(
        "cov",
        &[("rules.rulec".into(), format!("{SCHEMA}{rules}"))],
        Limits::default(),
    )
    .unwrap_or_else(|e| panic!("{}", e.render_human()))
}

fn settles(rs: &Ruleset, c: &Json) -> bool {
    match rs.evaluate(c, &EvalOptions::default()) {
        Ok(_) => true,
        Err(e) => {
            assert_eq!(
                e.diagnostics[0].code,
                Code::NotCovered,
                "{}",
                e.render_human()
            );
            false
        }
    }
}

fn check_codes(rules: &str) -> Vec<Code> {
    match Ruleset::load_sources(
        "cov",
        &[("rules.rulec".into(), format!("{SCHEMA}{rules}"))],
        Limits::default(),
    ) {
        Ok(_) => Vec::new(),
        Err(e) => e.diagnostics.iter().skip(1).map(|d| d.code).collect(),
    }
}

#[test]
fn a_claim_is_covered_when_every_condition_of_one_clause_holds() {
    let rs = one(
        "covers claim.visit == outpatient and claim.insured.scheme == employee\n\
         covers claim.visit in [inpatient, delivery] and claim.insured.scheme == resident\n",
    );
    assert!(settles(&rs, &claim("outpatient", "employee")));
    assert!(!settles(&rs, &claim("outpatient", "resident")));
    assert!(!settles(&rs, &claim("inpatient", "employee")));
    assert!(settles(&rs, &claim("inpatient", "resident")));
    assert!(settles(&rs, &claim("delivery", "resident")));
    let e = rs
        .evaluate(&claim("inpatient", "employee"), &EvalOptions::default())
        .expect_err("not covered");
    let d = &e.diagnostics[0];
    assert_eq!(
        d.message,
        "no rule of ruleset `cov` covers this claim (visit = inpatient, insured.scheme = employee)"
    );
    let help = d.help.as_deref().unwrap_or("");
    assert!(
        help.contains("visit = outpatient, insured.scheme = employee; or visit in [inpatient, delivery], insured.scheme = resident"),
        "{help}"
    );
    assert_eq!(d.related.len(), 1, "the second clause is shown too");
}

#[test]
fn bool_int_text_and_optional_fields() {
    let rs = one(
        "covers claim.insured.member == true and claim.insured.level in [1, 2] and claim.insured.city == \"x\"\n\
         covers claim.kind == cesarean\n",
    );
    let mut c = claim("outpatient", "employee");
    assert!(!settles(&rs, &c));
    c["insured"]["member"] = json!(true);
    assert!(settles(&rs, &c));
    c["insured"]["level"] = json!(3);
    assert!(!settles(&rs, &c));
    // An optional field that is absent matches no value.
    let mut d = claim("delivery", "employee");
    assert!(!settles(&rs, &d));
    d["kind"] = json!("cesarean");
    assert!(settles(&rs, &d));
    let e = rs
        .evaluate(&claim("delivery", "employee"), &EvalOptions::default())
        .expect_err("not covered");
    assert!(
        e.diagnostics[0].message.contains("kind = none"),
        "{}",
        e.diagnostics[0].message
    );
}

#[test]
fn a_ruleset_with_funds_and_no_clause_covers_nothing() {
    let rs = one("");
    let e = rs
        .evaluate(&claim("outpatient", "employee"), &EvalOptions::default())
        .expect_err("covers nothing");
    assert_eq!(e.diagnostics[0].code, Code::NotCovered);
    assert!(e.diagnostics[0]
        .message
        .contains("ruleset `cov` covers no claims"));
}

#[test]
fn a_ruleset_without_funds_is_not_checked() {
    let rs = Ruleset::load_sources(
        "calc",
        &[(
            "rules.rulec".into(),
            "record Claim { date: date, amount: money }\ninput claim: Claim\nas_of claim.date\noutput x: money = claim.amount * 2\n".into(),
        )],
        Limits::default(),
    )
    .expect("checks");
    rs.evaluate(
        &json!({ "date": "2024-01-01", "amount": "1" }),
        &EvalOptions::default(),
    )
    .expect("a calculator settles every claim");
}

#[test]
fn clauses_of_another_form_are_refused() {
    for bad in [
        "covers claim.visit != outpatient",
        "covers claim.amount == 100",
        "covers claim.visit == outpatient or claim.visit == inpatient",
        "covers claim.items == []",
        "covers claim.insured == claim.insured",
        "covers claim.visit in claim.items",
        "covers claim.visit == claim.visit",
        "covers true",
        "covers basic == 0",
    ] {
        assert_eq!(
            check_codes(&format!("{bad}\n")),
            vec![Code::CoverageCondition],
            "{bad}"
        );
    }
    assert_eq!(
        check_codes("covers claim.visit == surgery\n"),
        vec![Code::UnknownName]
    );
    assert_eq!(
        check_codes("covers claim.insured.schem == employee\n"),
        vec![Code::UnknownField]
    );
    assert_eq!(
        check_codes("override covers claim.visit == outpatient\n"),
        vec![Code::OverrideWithoutParent]
    );
}

#[test]
fn coverage_is_inherited_and_override_replaces_it() {
    let root = scratch("layers");
    write(
        &root.join("base"),
        "base.rulec",
        &format!(
            "ruleset \"base\"\n{SCHEMA}covers claim.visit == inpatient and claim.insured.scheme == resident\n"
        ),
    );
    write(
        &root.join("base/adds"),
        "adds.rulec",
        "ruleset \"base/adds\" extends \"..\"\ncovers claim.visit == inpatient and claim.insured.scheme == employee\n",
    );
    write(
        &root.join("base/replaces"),
        "replaces.rulec",
        "ruleset \"base/replaces\" extends \"..\"\noverride covers claim.visit == delivery\n",
    );
    let load = |d: &str| {
        Ruleset::load_dir(root.join(d), Limits::default())
            .unwrap_or_else(|e| panic!("{}", e.render_human()))
    };
    let adds = load("base/adds");
    assert!(settles(&adds, &claim("inpatient", "resident")), "inherited");
    assert!(settles(&adds, &claim("inpatient", "employee")), "added");
    assert!(!settles(&adds, &claim("delivery", "employee")));
    let replaces = load("base/replaces");
    assert!(
        !settles(&replaces, &claim("inpatient", "resident")),
        "dropped"
    );
    assert!(settles(&replaces, &claim("delivery", "employee")));
    let _ = std::fs::remove_dir_all(&root);
}
