//! Data-driven evaluator cases from `tests/eval/cases.txt`: a rule snippet, a claim, and
//! the expected settlement fields or the expected error. Analysts add cases without Rust.
//! Every case is also settled by the reference tree walker, which must agree exactly.

use rulec::api::{EvalOptions, Ruleset};
use rulec::limits::Limits;
use rulec::value::Date;
use serde_json::Value as Json;

#[derive(Default, Debug)]
struct Case {
    name: String,
    line: usize,
    rules: String,
    claim: String,
    expect: Vec<(String, String)>,
    error: Option<String>,
    as_of: Option<String>,
    prelude: bool,
}

fn parse(text: &str) -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    let mut section = "";
    for (i, line) in text.lines().enumerate() {
        if let Some(name) = line.strip_prefix("=== ") {
            cases.push(Case {
                name: name.to_string(),
                line: i + 1,
                prelude: true,
                ..Case::default()
            });
            section = "";
            continue;
        }
        let Some(c) = cases.last_mut() else { continue };
        if let Some(rest) = line.strip_prefix("--- ") {
            let rest = rest.trim();
            if rest == "no prelude" {
                c.prelude = false;
            } else if let Some(d) = rest.strip_prefix("as_of ") {
                c.as_of = Some(d.trim().to_string());
            } else {
                section = match rest {
                    "rules" => "rules",
                    "claim" => "claim",
                    "expect" => "expect",
                    "error" => "error",
                    other => panic!("line {}: unknown section {other}", i + 1),
                };
            }
            continue;
        }
        match section {
            "rules" => {
                c.rules.push_str(line);
                c.rules.push('\n');
            }
            "claim" => {
                c.claim.push_str(line);
                c.claim.push('\n');
            }
            "expect" if !line.trim().is_empty() => {
                let (k, v) = line
                    .split_once(" = ")
                    .unwrap_or_else(|| panic!("line {}: expected `path = value`", i + 1));
                c.expect.push((k.trim().to_string(), v.trim().to_string()));
            }
            "error" if !line.trim().is_empty() => c.error = Some(line.trim().to_string()),
            _ => {}
        }
    }
    cases
}

fn lookup<'a>(j: &'a Json, path: &str) -> Option<&'a Json> {
    path.split('.').try_fold(j, |cur, part| cur.get(part))
}

fn show(j: &Json) -> String {
    match j {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn evaluator_cases() {
    let text = std::fs::read_to_string("tests/eval/cases.txt").expect("cases");
    let prelude = std::fs::read_to_string("tests/eval/prelude.rulec").expect("prelude");
    let cases = parse(&text);
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let src = if c.prelude {
            format!("{prelude}{}", c.rules)
        } else {
            c.rules.clone()
        };
        let opts = EvalOptions {
            as_of: c
                .as_of
                .as_deref()
                .map(|d| Date::parse(d).expect("as_of date")),
        };
        let where_ = format!("tests/eval/cases.txt:{} ({})", c.line, c.name);
        let loaded =
            Ruleset::load_sources("case", &[("case.rulec".into(), src)], Limits::default());
        // Both evaluators settle every case: the compiled one (checked against the
        // expectation) and the reference tree walker, which must agree with it exactly.
        if let Ok(rs) = &loaded {
            if let Ok(claim) = rs.parse_claim(&c.claim) {
                let fast = rs.evaluate(&claim, &opts);
                let slow = rs.evaluate_reference(&claim, &opts);
                let show = |r: Result<rulec::eval::Settlement, rulec::api::Error>| match r {
                    Ok(s) => rs.settlement_json(&s).to_string(),
                    Err(e) => e.render_json(),
                };
                let (fast, slow) = (show(fast), show(slow));
                if fast != slow {
                    failures.push(format!(
                        "{where_}: the evaluators differ:\ncompiled:  {fast}\nreference: {slow}"
                    ));
                }
            }
        }
        let outcome = loaded.and_then(|rs| {
            let s = rs.evaluate_str(&c.claim, &opts)?;
            Ok(rs.settlement_json(&s))
        });
        match (&c.error, outcome) {
            (Some(want), Err(e)) => {
                let (code, text) = match want.split_once(": ") {
                    Some((code, text)) => (code, Some(text)),
                    None => (want.as_str(), None),
                };
                let hit = e
                    .diagnostics
                    .iter()
                    .any(|d| d.code.as_str() == code && text.is_none_or(|t| d.message.contains(t)));
                if !hit {
                    failures.push(format!(
                        "{where_}: expected {want}, got:\n{}",
                        e.render_human()
                    ));
                }
            }
            (Some(want), Ok(s)) => {
                failures.push(format!("{where_}: expected error {want}, got {s}"))
            }
            (None, Err(e)) => {
                failures.push(format!("{where_}: unexpected error:\n{}", e.render_human()))
            }
            (None, Ok(s)) => {
                for (k, v) in &c.expect {
                    match lookup(&s, k) {
                        Some(got) if show(got) == *v => {}
                        got => failures.push(format!(
                            "{where_}: {k}: expected {v}, got {:?}",
                            got.map(show)
                        )),
                    }
                }
                if c.expect.is_empty() {
                    failures.push(format!("{where_}: the case expects nothing"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
