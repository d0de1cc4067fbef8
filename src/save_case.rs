//! `rulec eval RULESET CLAIM.json --save-case FILE --name "…"`: settle one claim and save it,
//! with its settlement as the expectation, as a test case for the analyst to review.

use crate::eval_cmd::EvalArgs;
use rulec::api::{EvalOptions, Ruleset};
use rulec::limits::Limits;
use rulec::value::Date;
use serde_json::{json, Map, Value as Json};
use std::path::Path;

/// Every field of a settlement as `expect` paths: `patient_pays`, `funds.basic`, ….
fn expectations(settlement: &Json) -> Map<String, Json> {
    let mut out = Map::new();
    if let Json::Object(top) = settlement {
        for (k, v) in top {
            match v {
                _ if k == "ruleset" || k == "as_of" => {}
                Json::Object(inner) => {
                    for (k2, v2) in inner {
                        out.insert(format!("{k}.{k2}"), v2.clone());
                    }
                }
                other => {
                    out.insert(k.clone(), other.clone());
                }
            }
        }
    }
    out
}

fn fail(msg: impl std::fmt::Display, code: i32) -> i32 {
    rulec::output::report(&format!("error: {msg}"));
    code
}

/// Runs `rulec eval … --save-case`. Exit codes: 0 saved, 1 the claim did not settle or a
/// case of that name exists, 2 usage or I/O.
pub fn run(args: &EvalArgs) -> i32 {
    let (Some(file), Some(name)) = (&args.save_case, &args.name) else {
        return fail("--save-case FILE needs --name \"…\"", 2);
    };
    let limits = Limits::default();
    let claim_path = match (&args.ruleset, &args.rulesets, &args.claim) {
        (_, Some(_), None) => args.ruleset.as_ref().map(|p| p.display().to_string()),
        (_, _, Some(c)) => Some(c.clone()),
        _ => None,
    };
    let Some(claim_path) = claim_path else {
        return fail("--save-case settles one claim: give the claim file", 2);
    };
    let bytes = match rulec::io::read_path_or_stdin(Path::new(&claim_path), limits.max_claim_bytes)
    {
        Ok(b) => b,
        Err(e) => return fail(e, 2),
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(_) => return fail(format!("`{claim_path}` is not valid UTF-8"), 2),
    };
    let claim = match rulec::claim::parse_strict(&text) {
        Ok(c) => c,
        Err(e) => return fail(format!("{}: {e}", e.code), 1),
    };
    let rs: Result<Ruleset, rulec::api::Error> = match (&args.rulesets, &args.ruleset) {
        (Some(dir), _) => rulec::api::Router::new(dir, limits.clone()).route(&claim),
        (None, Some(dir)) => Ruleset::load_dir(dir, limits.clone()),
        (None, None) => return fail("give a ruleset directory or --rulesets DIR", 2),
    };
    let rs = match rs {
        Ok(r) => r,
        Err(e) => return fail(e.render_human(), 1),
    };
    let as_of = match args.as_of.as_deref().map(Date::parse) {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(e)) => return fail(format!("--as-of: {e}"), 2),
    };
    let settlement = match rs.evaluate(&claim, &EvalOptions { as_of }) {
        Ok(s) => rs.settlement_json(&s),
        Err(e) => {
            return fail(
                format!("the claim did not settle, so there is nothing to save:\n{e}"),
                1,
            )
        }
    };
    let mut case = Map::new();
    case.insert("name".into(), json!(name));
    if let Some(d) = &args.as_of {
        case.insert("as_of".into(), json!(d));
    }
    case.insert("claim".into(), claim);
    case.insert("expect".into(), Json::Object(expectations(&settlement)));
    let mut cases: Vec<Json> = match std::fs::read_to_string(file) {
        Ok(existing) => match serde_json::from_str::<Json>(&existing) {
            Ok(Json::Array(a)) => a,
            Ok(one @ Json::Object(_)) => vec![one],
            _ => {
                return fail(
                    format!("`{}` holds no test case or array of cases", file.display()),
                    2,
                )
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return fail(format!("cannot read `{}`: {e}", file.display()), 2),
    };
    if cases.iter().any(|c| c.get("name") == Some(&json!(name))) {
        return fail(
            format!("`{}` already has a case named \"{name}\"", file.display()),
            1,
        );
    }
    cases.push(Json::Object(case));
    let out = match serde_json::to_string_pretty(&cases) {
        Ok(s) => s + "\n",
        Err(e) => return fail(e, 2),
    };
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Err(e) = std::fs::create_dir_all(dir) {
            return fail(format!("cannot create `{}`: {e}", dir.display()), 2);
        }
    }
    if let Err(e) = std::fs::write(file, out) {
        return fail(format!("cannot write `{}`: {e}", file.display()), 2);
    }
    // The saved case must pass against the ruleset that produced it.
    let saved = rulec::testing::read_cases(file)
        .ok()
        .and_then(|cs| cs.into_iter().find(|c| c.name == *name));
    let ok = saved.is_some_and(|c| {
        rulec::testing::run_case(&rs, &c, rs.name(), &file.display().to_string()).passed
    });
    if !ok {
        return fail("the saved case does not pass against its own settlement", 1);
    }
    let written = rulec::output::stdout(&format!(
        "{}\n",
        serde_json::to_string_pretty(&settlement).unwrap_or_default()
    ));
    if let rulec::output::Written::Failed(e) = written {
        return fail(format!("cannot write the settlement: {e}"), 2);
    }
    rulec::output::report(&format!(
        "saved case \"{name}\" to `{}` ({} expected fields): review it, then `rulec test`",
        file.display(),
        expectations(&settlement).len()
    ));
    0
}
