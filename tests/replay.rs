//! Data-driven replay cases from `tests/replay/cases.txt`: rules (and optionally a reform),
//! claims as JSON Lines, and the expected result of each line under each side, with the
//! numbers worked out by hand in the case file.

use rulec::api::{EvalOptions, Ruleset};
use rulec::limits::Limits;
use rulec::replay::{replay, Replayed};
use serde_json::Value as Json;

#[derive(Default, Debug)]
struct Case {
    name: String,
    line: usize,
    rules: String,
    reform: String,
    claims: Vec<String>,
    /// (side, line, path or `error`, expected value or code)
    expect: Vec<(String, usize, String, String)>,
}

fn parse(text: &str) -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    let mut section = "";
    for (i, line) in text.lines().enumerate() {
        if let Some(name) = line.strip_prefix("=== ") {
            cases.push(Case {
                name: name.to_string(),
                line: i + 1,
                ..Case::default()
            });
            section = "";
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let Some(c) = cases.last_mut() else { continue };
        if let Some(rest) = line.strip_prefix("--- ") {
            section = match rest.trim() {
                "rules" => "rules",
                "reform" => "reform",
                "claims" => "claims",
                "expect" => "expect",
                other => panic!("line {}: unknown section {other}", i + 1),
            };
            continue;
        }
        match section {
            "rules" => {
                c.rules.push_str(line);
                c.rules.push('\n');
            }
            "reform" => {
                c.reform.push_str(line);
                c.reform.push('\n');
            }
            "claims" => c.claims.push(line.to_string()),
            "expect" => {
                let (side, rest) = match line.strip_prefix("reform ") {
                    Some(r) => ("reform", r),
                    None => ("base", line),
                };
                let (n, what) = rest
                    .split_once(": ")
                    .unwrap_or_else(|| panic!("line {}: expected `LINE: …`", i + 1));
                let n: usize = n.trim().parse().expect("a line number");
                let (k, v) = match what.strip_prefix("error ") {
                    Some(code) => ("error".to_string(), code.trim().to_string()),
                    None => {
                        let (k, v) = what
                            .split_once(" = ")
                            .unwrap_or_else(|| panic!("line {}: expected `path = value`", i + 1));
                        (k.trim().to_string(), v.trim().to_string())
                    }
                };
                c.expect.push((side.to_string(), n, k, v));
            }
            _ => {}
        }
    }
    cases
}

fn load(name: &str, rules: &str) -> Ruleset {
    let prelude = std::fs::read_to_string("tests/replay/prelude.rulec").expect("prelude");
    Ruleset::load_sources(
        name,
        &[
            ("prelude.rulec".into(), prelude),
            ("rules.rulec".into(), rules.to_string()),
        ],
        Limits::default(),
    )
    .unwrap_or_else(|e| panic!("{name} does not load:\n{}", e.render_human()))
}

fn show(j: &Json) -> String {
    match j {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn check_side(case: &Case, side: &str, results: &[Replayed], failures: &mut Vec<String>) {
    assert_eq!(
        results.len(),
        case.claims.len(),
        "{}: every claim gets a result",
        case.name
    );
    for (s, n, k, v) in case.expect.iter().filter(|e| e.0 == side) {
        let Some(r) = results.iter().find(|r| r.line == *n) else {
            failures.push(format!("{}: {s} line {n}: no result", case.name));
            continue;
        };
        let got = match (&r.outcome, k.as_str()) {
            (Err(e), "error") => {
                let code = e
                    .diagnostics
                    .first()
                    .map(|d| d.code.as_str().to_string())
                    .unwrap_or_default();
                // `error CODE at PATH` also checks the claim path the error names.
                match v.contains(" at ") {
                    true => format!("{code} at {}", e.claim_path().unwrap_or("(no path)")),
                    false => code,
                }
            }
            (Err(e), _) => format!("error: {}", e.render_human()),
            (Ok(_), "error") => "a settlement".to_string(),
            (Ok(settled), path) => {
                let j = settled.ruleset.settlement_json(&settled.settlement);
                path.split('.')
                    .try_fold(&j, |cur, part| cur.get(part))
                    .map(show)
                    .unwrap_or_else(|| format!("no field {path}"))
            }
        };
        if &got != v {
            failures.push(format!(
                "{} (cases.txt:{}): {s} line {n} {k}: expected {v}, got {got}",
                case.name, case.line
            ));
        }
    }
}

#[test]
fn replay_cases() {
    let text = std::fs::read_to_string("tests/replay/cases.txt").expect("cases");
    let cases = parse(&text);
    assert!(cases.len() >= 6, "the case file holds the cases");
    let mut failures = Vec::new();
    for case in &cases {
        let claims: Vec<(usize, Json)> = case
            .claims
            .iter()
            .enumerate()
            .map(|(i, l)| (i + 1, serde_json::from_str(l).expect("claim JSON")))
            .collect();
        assert!(!case.expect.is_empty(), "{}: expects something", case.name);
        let base = load("base", &case.rules);
        let results = replay(&base, claims.clone(), &EvalOptions::default());
        assert!(
            results.windows(2).all(|w| w[0].line < w[1].line),
            "results come in input order"
        );
        check_side(case, "base", &results, &mut failures);
        if !case.reform.is_empty() {
            let reform = load("reform", &case.reform);
            let results = replay(&reform, claims, &EvalOptions::default());
            check_side(case, "reform", &results, &mut failures);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Replaying the same claims in any order gives the same settlement per claim.
#[test]
fn replay_does_not_depend_on_input_order() {
    let text = std::fs::read_to_string("tests/replay/cases.txt").expect("cases");
    for case in parse(&text) {
        let rs = load("base", &case.rules);
        let claims: Vec<(usize, Json)> = case
            .claims
            .iter()
            .enumerate()
            .map(|(i, l)| (i + 1, serde_json::from_str(l).expect("claim JSON")))
            .collect();
        let forward = replay(&rs, claims.clone(), &EvalOptions::default());
        let mut reversed = claims;
        reversed.reverse();
        let backward = replay(&rs, reversed, &EvalOptions::default());
        for f in &forward {
            let b = backward
                .iter()
                .find(|b| b.line == f.line)
                .expect("same lines");
            match (&f.outcome, &b.outcome) {
                (Ok(x), Ok(y)) => assert_eq!(x.settlement, y.settlement, "{}", case.name),
                (Err(x), Err(y)) => assert_eq!(
                    x.diagnostics.first().map(|d| d.code),
                    y.diagnostics.first().map(|d| d.code)
                ),
                _ => panic!("{}: line {} differs with the order", case.name, f.line),
            }
        }
    }
}

/// Every accumulator of every shipped ruleset has the period `shared/reference-policies.md`
/// §11 gives it: a wrong `per lifetime` on `basic_paid` checks clean, so only this pins it.
#[test]
fn shipped_accumulator_periods_are_those_of_section_11() {
    use rulec::ir::AccumPeriod;
    // §11: the calendar year of `settlement_date` …
    const YEARLY: [&str; 7] = [
        "outpatient_deductible_paid",
        "outpatient_pooling_paid",
        "basic_paid",
        "critical_illness_base",
        "critical_illness_paid",
        "medical_assistance_paid",
        "mutual_aid_paid",
    ];
    // … or the episode (`episode_id`): one pregnancy.
    const EPISODE: [&str; 1] = ["prenatal_paid"];
    // `rulesets/sample` is the tutorial's city, not a policy of §11: yearly, as it says.
    const SAMPLE_YEARLY: [&str; 3] = ["deductible_paid", "pooling_paid", "serious_base"];
    let mut dirs = vec![std::path::PathBuf::from("rulesets")];
    let mut seen = Vec::new();
    while let Some(d) = dirs.pop() {
        let mut has_rules = false;
        for e in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = e.path();
            if p.is_dir() && p.file_name().is_some_and(|n| n != "tests") {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rulec") {
                has_rules = true;
            }
        }
        if !has_rules {
            continue;
        }
        let rs = Ruleset::load_dir(&d, Limits::default())
            .unwrap_or_else(|e| panic!("{} loads: {}", d.display(), e.render_human()));
        let sample = d.starts_with("rulesets/sample");
        for a in &rs.compiled().accumulators {
            let ok = match &a.period {
                AccumPeriod::Year if sample => SAMPLE_YEARLY.contains(&a.name.as_str()),
                AccumPeriod::Year => YEARLY.contains(&a.name.as_str()),
                AccumPeriod::Episode { path, .. } => {
                    !sample && EPISODE.contains(&a.name.as_str()) && path == &["episode_id"]
                }
                AccumPeriod::Lifetime => false,
            };
            assert!(
                ok,
                "{}: accumulator `{}` is kept {:?}, not as §11 says",
                d.display(),
                a.name,
                a.period
            );
            seen.push(a.name.clone());
        }
    }
    for name in YEARLY.iter().chain(&EPISODE) {
        assert!(
            seen.iter().any(|s| s == name),
            "§11's `{name}` is in no shipped ruleset"
        );
    }
}
