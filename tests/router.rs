//! The router loads every ruleset through one loader: a parent's catalogs are built once and
//! shared (`Arc`) by its children, and a routed ruleset settles exactly like the same ruleset
//! loaded on its own.

use rulec::api::{EvalOptions, Router, Ruleset};
use rulec::limits::Limits;
use std::path::Path;
use std::sync::Arc;

/// Every shipped test case's claim under `dir`, with its `as_of`.
fn case_claims(dir: &Path) -> Vec<(serde_json::Value, EvalOptions)> {
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir.join("tests"))
        .expect("tests dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for f in files {
        for case in rulec::testing::read_cases(&f).expect("cases") {
            let as_of = case
                .as_of
                .as_deref()
                .map(|d| rulec::value::Date::parse(d).expect("date"));
            out.push((case.claim, EvalOptions { as_of }));
        }
    }
    out
}

fn region(claim: &serde_json::Value) -> &str {
    claim["insured"]["region"].as_str().unwrap_or("")
}

#[test]
fn parent_catalogs_are_built_once_and_shared() {
    let router = Router::new("rulesets", Limits::default());
    let claim = |region: &str| serde_json::json!({ "insured": { "region": region } });
    let binzhou = router.route(&claim("shandong/binzhou")).expect("binzhou");
    let qingdao = router.route(&claim("shandong/qingdao")).expect("qingdao");
    let beijing = router.route(&claim("beijing")).expect("beijing");
    let national = |rs: &Ruleset| {
        rs.compiled()
            .catalogs
            .iter()
            .find(|c| c.name == "national")
            .cloned()
            .expect("china's `national` catalog")
    };
    let (a, b, c) = (national(&binzhou), national(&qingdao), national(&beijing));
    assert!(
        Arc::ptr_eq(&a, &b),
        "siblings share their grandparent's catalog"
    );
    assert!(Arc::ptr_eq(&a, &c), "and so do cousins");
    // Loaded on its own, a ruleset builds its own copy, equal in content.
    let alone = Ruleset::load_dir("rulesets/shandong/binzhou", Limits::default()).expect("load");
    let d = national(&alone);
    assert!(!Arc::ptr_eq(&a, &d));
    assert_eq!(a.rows.len(), d.rows.len());
    assert_eq!(format!("{:?}", a.rows), format!("{:?}", d.rows));
}

#[test]
fn routed_rulesets_settle_like_rulesets_loaded_alone() {
    let router = Router::new("rulesets", Limits::default());
    let dirs = [
        "rulesets/shandong/binzhou",
        "rulesets/shandong/qingdao",
        "rulesets/shandong",
        "rulesets/beijing",
        "rulesets/jilin",
        "rulesets/jilin/changchun",
    ];
    let mut compared = 0;
    for dir in dirs {
        let alone = Ruleset::load_dir(dir, Limits::default()).expect("load");
        for (claim, opts) in case_claims(Path::new(dir)) {
            if region(&claim).is_empty() {
                continue;
            }
            let Ok(routed) = router.route(&claim) else {
                continue; // a case about a region nothing serves
            };
            if routed.name() != alone.name() {
                continue; // the case's region belongs to another ruleset
            }
            let a = routed
                .evaluate(&claim, &opts)
                .map(|s| routed.settlement_json(&s));
            let b = alone
                .evaluate(&claim, &opts)
                .map(|s| alone.settlement_json(&s));
            match (a, b) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{dir}: {claim}"),
                (Err(a), Err(b)) => {
                    // The same diagnostics; routed from a region more specific than the
                    // ruleset, "covers no claims" also says so.
                    assert_eq!(a.diagnostics.len(), b.diagnostics.len(), "{dir}: {claim}");
                    for (x, y) in a.diagnostics.iter().zip(&b.diagnostics) {
                        // (File ids differ: the router's loader holds every tree's files.)
                        let at = |d: &rulec::diag::Diagnostic| d.span.map(|s| (s.start, s.end));
                        assert_eq!((x.code, at(x)), (y.code, at(y)), "{dir}: {claim}");
                        if x.message != y.message {
                            assert_eq!(x.code, rulec::diag::Code::NotCovered);
                            assert!(
                                x.message.starts_with(&y.message)
                                    && x.message.contains("has no ruleset of its own"),
                                "{dir}: {}",
                                x.message
                            );
                        }
                    }
                }
                (a, b) => panic!("{dir}: routed {:?} but alone {:?}", a.is_ok(), b.is_ok()),
            }
            compared += 1;
        }
    }
    assert!(compared >= 20, "only {compared} cases compared");
}

/// The router remembers what each region routed to, and forgets when it has seen many:
/// regions come from claims, so the memo is bounded, and routing stays right through
/// its resets (a known region, an unknown city of a known province, a region with no rules).
#[test]
fn region_memo_is_bounded_and_stays_right() {
    let router = Router::new("rulesets", Limits::default());
    let binzhou = router.route_region("shandong/binzhou").expect("binzhou");
    for i in 0..10_000 {
        let city = format!("shandong/nowhere{i}");
        let rs = router.route_region(&city).expect("the province's ruleset");
        assert_eq!(rs.name(), "shandong", "{city}");
        if i % 1_000 == 0 {
            let again = router.route_region("shandong/binzhou").expect("binzhou");
            assert!(std::ptr::eq(again.compiled(), binzhou.compiled()));
            let e = router.route_region("atlantis/x").expect_err("no ruleset");
            assert!(
                e.render_human().contains("no ruleset"),
                "{}",
                e.render_human()
            );
        }
    }
}

#[test]
fn a_region_that_falls_back_to_its_province_is_named_with_a_suggestion() {
    let router = Router::new("rulesets", Limits::default());
    let text =
        std::fs::read_to_string("rulesets/shandong/binzhou/claims/outpatient.json").expect("claim");
    let mut claim: serde_json::Value = serde_json::from_str(&text).expect("json");
    claim
        .as_object_mut()
        .expect("object")
        .remove("accumulators");
    for (region, suggestion) in [
        ("shandong/binzhuo", Some("shandong/binzhou")),
        ("shandong/binzhou ", Some("shandong/binzhou")),
        ("shandong/jinan", None),
    ] {
        claim["insured"]["region"] = serde_json::json!(region);
        let rs = router.route(&claim).expect("routed to the province");
        assert_eq!(rs.name(), "shandong");
        let err = rs
            .evaluate(&claim, &EvalOptions::default())
            .expect_err("the province covers no claim");
        let d = &err.diagnostics[0];
        assert_eq!(d.code, rulec::diag::Code::NotCovered);
        assert!(
            d.message.contains(&format!(
                "the claim's region {region:?} has no ruleset of its own, so it was routed to `shandong`"
            )),
            "{}",
            d.message
        );
        let help = d.help.as_deref().unwrap_or("");
        match suggestion {
            Some(s) => assert!(
                help.starts_with(&format!("did you mean the region `{s}`?")),
                "{help}"
            ),
            None => assert!(!help.contains("did you mean"), "{help}"),
        }
        // The bytes path says the same.
        let bytes = serde_json::to_vec(&claim).expect("bytes");
        let err = router
            .route_bytes(&bytes)
            .and_then(|rs| rs.evaluate_bytes(&bytes, &EvalOptions::default()))
            .expect_err("refused");
        assert_eq!(err.diagnostics[0].message, d.message);
    }
    // A region with a ruleset of its own is not a fallback.
    claim["insured"]["region"] = serde_json::json!("shandong");
    let err = router
        .route(&claim)
        .and_then(|rs| rs.evaluate(&claim, &EvalOptions::default()))
        .expect_err("shandong covers no claims");
    assert!(!err.diagnostics[0].message.contains("routed to"));
}
