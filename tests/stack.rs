//! Stack safety: evaluation fits `rulec::stack::BUDGET` bytes of its caller's stack on the
//! deepest inputs the limits allow, and on chains of 10,000 definitions and functions. Each
//! evaluation runs on a thread given only that budget (an embedding host's threads are
//! usually larger), through both the compiled evaluator and the traced tree walker.

use rulec::api::{EvalOptions, Ruleset};
use rulec::limits::Limits;
use std::fmt::Write as _;

const HEAD: &str = "record Claim { d: date, a: money }\ninput claim: Claim\nas_of claim.d\n";
const CLAIM: &str = r#"{"d": "2024-06-10", "a": "1.00"}"#;

fn load(text: String) -> Ruleset {
    load_with(text, Limits::default())
}

fn load_with(text: String, limits: Limits) -> Ruleset {
    let r = Ruleset::load_sources("deep", &[("deep.rulec".into(), text)], limits);
    match r {
        Ok(r) => r,
        Err(e) => panic!("{}", e.render_human()),
    }
}

/// Settles the claim on a thread with only the stated budget, both ways; returns the JSON.
fn settle_on_budget(rs: Ruleset) -> (String, String) {
    std::thread::Builder::new()
        .stack_size(rulec::stack::BUDGET)
        .spawn(move || {
            let claim: serde_json::Value = serde_json::from_str(CLAIM).unwrap();
            let opts = EvalOptions::default();
            let fast = rs
                .evaluate(&claim, &opts)
                .map(|s| rs.settlement_json(&s).to_string())
                .unwrap_or_else(|e| e.render_human());
            let traced = rs
                .evaluate_traced(&claim, &opts)
                .map(|(s, _)| rs.settlement_json(&s).to_string())
                .unwrap_or_else(|e| e.render_human());
            (fast, traced)
        })
        .unwrap()
        .join()
        .expect("evaluation must not overflow the stack")
}

fn total(json: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|_| panic!("{json}"));
    v["total"].as_str().unwrap_or("").to_string()
}

#[test]
fn a_chain_of_10000_definitions() {
    let mut t = String::from(HEAD);
    t.push_str("def d0: money = claim.a\n");
    for i in 1..10_000 {
        let _ = writeln!(t, "def d{i}: money = d{} + 1", i - 1);
    }
    t.push_str("output total: money = d9999\n");
    let (fast, traced) = settle_on_budget(load(t));
    assert_eq!(total(&fast), "10000.00");
    assert_eq!(fast, traced);
}

#[test]
fn a_chain_of_10000_functions() {
    let mut t = String::from(HEAD);
    t.push_str("def f0(x: money): money = x + 1\n");
    for i in 1..10_000 {
        let _ = writeln!(t, "def f{i}(x: money): money = f{}(x) + 1", i - 1);
    }
    t.push_str("output total: money = f9999(claim.a)\n");
    let (fast, traced) = settle_on_budget(load(t));
    assert_eq!(total(&fast), "10001.00");
    assert_eq!(fast, traced);
}

#[test]
fn the_deepest_expressions_the_limits_allow() {
    let limits = Limits::default();
    // One declaration with as many operators as allowed, and one nested as deep as allowed.
    let mut t = String::from(HEAD);
    // `x` is one node; `claim.a` would count its `.` as an operator too.
    t.push_str("def x: money = claim.a\n");
    let terms = vec!["x"; limits.max_expr_depth - 1].join(" + ");
    let _ = writeln!(t, "def wide: money = {terms}");
    let depth = limits.max_nesting - 1;
    let nested = format!("{}claim.a{}", "(".repeat(depth), ")".repeat(depth));
    let _ = writeln!(t, "def deep: money = {nested}");
    // Definitions that each use the wide one, chained.
    for i in 0..20 {
        let prev = if i == 0 {
            "wide".to_string()
        } else {
            format!("w{}", i - 1)
        };
        let terms = vec!["x"; limits.max_expr_depth - 2].join(" + ");
        let _ = writeln!(t, "def w{i}: money = {prev} + {terms}");
    }
    t.push_str("output total: money = w19 + deep\n");
    let (fast, traced) = settle_on_budget(load(t));
    let n = (limits.max_expr_depth - 1) + 20 * (limits.max_expr_depth - 2) + 1;
    assert_eq!(total(&fast), format!("{n}.00"));
    assert_eq!(fast, traced);
}

#[test]
fn functions_calling_each_other_twice_check_in_linear_time_and_stop_at_the_step_limit() {
    // Each function calls the previous one twice: expanded at call sites this was 2^40 nodes.
    let mut t = String::from(HEAD);
    t.push_str("def f0(x: money): money = x + 1\n");
    for i in 1..=40 {
        let _ = writeln!(
            t,
            "def f{i}(x: money): money = f{p}(x) + f{p}(x)",
            p = i - 1
        );
    }
    t.push_str("output total: money = f40(claim.a)\n");
    // A lower step limit keeps the test short in debug builds, whose frames are large.
    let limits = Limits {
        max_steps: 200_000,
        ..Limits::default()
    };
    let rs = load_with(t, limits);
    assert!(rs.compiled().bodies().map(|b| b.size()).sum::<usize>() < 1_000);
    let (fast, traced) = settle_on_budget(rs);
    assert!(fast.contains("E0711"), "{fast}");
    assert!(traced.contains("E0711"), "{traced}");
}
