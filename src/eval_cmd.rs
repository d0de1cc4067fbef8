//! `rulec eval`: one claim, or a batch in parallel with results in input order.

use crate::cli::EvalArgs;
use rulec::api::{EvalOptions, Ruleset};
use rulec::diag::{Code, Diagnostic};
use rulec::limits::Limits;
use rulec::value::Date;
use serde_json::{json, Value as Json};
use std::io::{BufRead, Write};

/// Loads rulesets once each; routes claims by region when asked to.
struct Router {
    fixed: Option<Result<Ruleset, rulec::api::Error>>,
    routes: Option<rulec::api::Router>,
}

impl Router {
    fn get(&self, claim: &Json) -> Result<Ruleset, rulec::api::Error> {
        match (&self.fixed, &self.routes) {
            (Some(f), _) => f.clone(),
            (None, Some(r)) => r.route(claim),
            (None, None) => Err(rulec::api::Error::from_diagnostic(Diagnostic::global(
                Code::NoRuleset,
                "no ruleset given",
            ))),
        }
    }
}

/// Reads a claim file (or `-`), regular files only and bounded by the claim-size limit.
fn read_input(name: &str) -> Result<String, rulec::io::ReadError> {
    let limit = Limits::default().max_claim_bytes;
    let bytes = rulec::io::read_path_or_stdin(std::path::Path::new(name), limit)?;
    String::from_utf8(bytes).map_err(|e| rulec::io::ReadError::Io {
        path: name.to_string(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not valid UTF-8 (bad byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        ),
    })
}

/// The claim-size limit, checked before parsing.
fn too_large(text: &str) -> Option<rulec::claim::ClaimError> {
    let limit = Limits::default().max_claim_bytes;
    (text.len() > limit).then(|| rulec::claim::ClaimError {
        code: Code::ClaimTooLarge,
        path: String::new(),
        message: format!(
            "the claim is {} bytes, over the limit of {limit}",
            text.len()
        ),
    })
}

/// Settles one claim's text; the JSON line of the result, and whether it succeeded.
fn settle_line(router: &Router, text: &str, opts: &EvalOptions) -> (Json, bool) {
    if let Some(e) = too_large(text) {
        return (
            json!({ "error": [{ "code": e.code.as_str(), "message": e.to_string() }] }),
            false,
        );
    }
    let claim: Json = match rulec::claim::parse_strict(text) {
        Ok(j) => j,
        Err(e) => {
            return (
                json!({ "error": [{ "code": e.code.as_str(), "message": e.to_string() }] }),
                false,
            )
        }
    };
    let rs = match router.get(&claim) {
        Ok(r) => r,
        Err(e) => return (json!({ "error": e.to_json() }), false),
    };
    match rs.evaluate(&claim, opts) {
        Ok(s) => (rs.settlement_json(&s), true),
        Err(e) => (json!({ "error": e.to_json() }), false),
    }
}

/// Runs `rulec eval`; returns the exit code.
pub fn run(mut a: EvalArgs) -> i32 {
    // With --rulesets the one positional argument is the claim.
    if a.rulesets.is_some() && a.claim.is_none() {
        a.claim = a.ruleset.take().map(|p| p.display().to_string());
    }
    let as_of = match a.as_of.as_deref().map(Date::parse) {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(why)) => {
            eprintln!("error: --as-of: {why}");
            return 2;
        }
    };
    let opts = EvalOptions { as_of };
    let router = match (&a.rulesets, &a.ruleset) {
        (Some(root), _) => {
            if !root.is_dir() {
                eprintln!("error: `{}` is not a directory", root.display());
                return 2;
            }
            Router {
                fixed: None,
                routes: Some(rulec::api::Router::new(root, Limits::default())),
            }
        }
        (None, Some(dir)) => {
            if !dir.is_dir() {
                rulec::output::report(&rulec::project::not_a_ruleset(dir, a.claim.is_none()));
                return 2;
            }
            let loaded = Ruleset::load_dir(dir, Limits::default());
            if let Err(e) = &loaded {
                eprint!("{}", e.render_human());
                return 1;
            }
            Router {
                fixed: Some(loaded),
                routes: None,
            }
        }
        (None, None) => {
            eprintln!("error: give a ruleset directory, or --rulesets DIR");
            return 2;
        }
    };
    if let Some(batch) = &a.batch {
        return run_batch(&router, batch, &opts, a.jobs);
    }
    let Some(claim_name) = &a.claim else {
        eprintln!("error: give a claim file (or `-`), or --batch FILE");
        return 2;
    };
    let text = match read_input(claim_name) {
        Ok(t) => t,
        Err(rulec::io::ReadError::TooLarge { limit, .. }) => {
            eprintln!(
                "error[{}]: the claim is over the limit of {limit} bytes",
                Code::ClaimTooLarge.as_str()
            );
            return 1;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if let Some(e) = too_large(&text) {
        eprintln!("error[{}]: {e}", e.code.as_str());
        return 1;
    }
    let claim: Json = match rulec::claim::parse_strict(&text) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error[{}]: {e}", e.code.as_str());
            return 1;
        }
    };
    let rs = match router.get(&claim) {
        Ok(r) => r,
        Err(e) => {
            eprint!("{}", e.render_human());
            return 1;
        }
    };
    let mut out = std::io::stdout().lock();
    if a.explain || a.trace.is_some() {
        match rs.evaluate_traced(&claim, &opts) {
            Ok((s, trace)) => {
                let settlement = rs.settlement_json(&s);
                if a.trace.is_some() {
                    let j = json!({ "settlement": settlement, "trace": trace });
                    let _ = writeln!(
                        out,
                        "{}",
                        serde_json::to_string_pretty(&j).unwrap_or_default()
                    );
                } else {
                    let _ = writeln!(
                        out,
                        "{}",
                        serde_json::to_string_pretty(&settlement).unwrap_or_default()
                    );
                    let _ = writeln!(out, "\nExplanation ({} as of {}):\n", rs.name(), s.as_of);
                    let _ = write!(out, "{}", rs.render_explanation(&trace));
                }
                0
            }
            Err(e) => {
                eprint!("{}", e.render_human());
                1
            }
        }
    } else {
        match rs.evaluate(&claim, &opts) {
            Ok(s) => {
                let _ = writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&rs.settlement_json(&s)).unwrap_or_default()
                );
                0
            }
            Err(e) => {
                eprint!("{}", e.render_human());
                1
            }
        }
    }
}

fn run_batch(router: &Router, name: &str, opts: &EvalOptions, jobs: Option<usize>) -> i32 {
    let reader: Box<dyn BufRead> = if name == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        match std::fs::File::open(name) {
            Ok(f) => Box::new(std::io::BufReader::with_capacity(1 << 20, f)),
            Err(e) => {
                eprintln!("error: cannot read `{name}`: {e}");
                return 2;
            }
        }
    };
    let jobs = jobs
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .max(1);
    let block = 8192 * jobs;
    let mut lines = reader.lines();
    let mut failed = false;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let mut line_no = 0usize;
    loop {
        let mut chunk: Vec<String> = Vec::with_capacity(block);
        for l in lines.by_ref().take(block) {
            match l {
                Ok(s) => chunk.push(s),
                Err(e) => {
                    chunk.push(format!("\u{0}{e}"));
                }
            }
        }
        if chunk.is_empty() {
            break;
        }
        let results = settle_chunk(router, &chunk, opts, jobs);
        for (i, (j, ok)) in results.into_iter().enumerate() {
            let j = if ok {
                j
            } else {
                failed = true;
                let mut j = j;
                if let Some(o) = j.as_object_mut() {
                    o.insert("line".into(), json!(line_no + i + 1));
                }
                j
            };
            let _ = writeln!(out, "{j}");
        }
        line_no += chunk.len();
    }
    let _ = out.flush();
    i32::from(failed)
}

fn settle_chunk(
    router: &Router,
    chunk: &[String],
    opts: &EvalOptions,
    jobs: usize,
) -> Vec<(Json, bool)> {
    let per = chunk.len().div_ceil(jobs).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = chunk
            .chunks(per)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|line| {
                            if let Some(err) = line.strip_prefix('\u{0}') {
                                return (json!({ "error": [{ "code": Code::InvalidClaim.as_str(), "message": format!("cannot read the line: {err}") }] }), false);
                            }
                            if line.trim().is_empty() {
                                return (json!({ "error": [{ "code": Code::InvalidClaim.as_str(), "message": "empty line" }] }), false);
                            }
                            settle_line(router, line, opts)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}
