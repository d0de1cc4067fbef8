//! Golden tests: every diagnostic code has a failing example in `tests/diagnostics/cases/`
//! and its rendering, human and JSON, checked in under `tests/diagnostics/golden/`.
//! `docs/diagnostics.md` is generated from the same cases, so it cannot drift.
//!
//! Regenerate after an intended change with `UPDATE_GOLDEN=1 cargo test --test diagnostics`.

use rulec::api::{EvalOptions, Router, Ruleset};
use rulec::diag::{render_human, render_json, Code};
use rulec::limits::Limits;
use rulec::project::check_paths;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const CASES: &str = "tests/diagnostics/cases";
const GOLDEN: &str = "tests/diagnostics/golden";

fn updating() -> bool {
    std::env::var_os("UPDATE_GOLDEN").is_some()
}

/// The path to check for a code's case, and the files to show in the docs.
fn case(code: &str) -> Option<(PathBuf, Vec<PathBuf>)> {
    let file = Path::new(CASES).join(format!("{code}.rulec"));
    if file.exists() {
        return Some((file.clone(), vec![file]));
    }
    let dir = Path::new(CASES).join(code);
    if !dir.is_dir() {
        return None;
    }
    let mut files = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).ok()?.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    let main = dir.join("main");
    Some((if main.is_dir() { main } else { dir }, files))
}

fn limits_for(code: &str) -> Limits {
    let mut l = Limits::default();
    let path = Path::new(CASES).join(format!("{code}.limits"));
    if let Ok(text) = std::fs::read_to_string(path) {
        for line in text.lines() {
            if let Some((k, v)) = line.split_once('=') {
                let v: usize = v.trim().parse().unwrap_or(0);
                match k.trim() {
                    "max_source_bytes" => l.max_source_bytes = v,
                    "max_nesting" => l.max_nesting = v,
                    "max_catalog_rows" => l.max_catalog_rows = v,
                    "max_steps" => l.max_steps = v as u64,
                    "max_compiled_nodes" => l.max_compiled_nodes = v,
                    "max_expr_depth" => l.max_expr_depth = v,
                    "max_claim_bytes" => l.max_claim_bytes = v,
                    "max_json_depth" => l.max_json_depth = v,
                    "max_list_len" => l.max_list_len = v,
                    other => panic!("unknown limit {other}"),
                }
            }
        }
    }
    l
}

fn compare(path: &Path, actual: &str, failures: &mut Vec<String>) {
    if updating() {
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new("."))).ok();
        std::fs::write(path, actual).ok();
        return;
    }
    match std::fs::read_to_string(path) {
        Ok(expected) if expected == actual => {}
        Ok(expected) => failures.push(format!(
            "{} differs\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        )),
        Err(_) => failures.push(format!(
            "{} is missing; run with UPDATE_GOLDEN=1",
            path.display()
        )),
    }
}

/// A runtime case: a ruleset (or `rulesets/` to route) and `claim.json`, `claims.jsonl`
/// to replay, or `impact.jsonl` to compare the ruleset with itself; the error rendered.
fn runtime_case(code: &str, dir: &Path) -> (Vec<rulec::diag::Diagnostic>, String, String) {
    let limits = limits_for(code);
    if let Ok(text) = std::fs::read_to_string(dir.join("impact.jsonl")) {
        // An impact case: the ruleset on both sides; the run's own error.
        let rs = Ruleset::load_dir(dir, limits).expect("the impact case's ruleset loads");
        let lines: Vec<&str> = text.lines().collect();
        let opts = rulec::impact::Options::default();
        return match rulec::impact::run(&rs, &rs, &lines, &opts, &|_| {}) {
            Err(e) => (e.diagnostics.clone(), e.render_human(), e.render_json()),
            Ok(_) => (Vec::new(), String::new(), String::new()),
        };
    }
    if let Ok(lines) = std::fs::read_to_string(dir.join("claims.jsonl")) {
        // A replay case: the first claim that fails.
        let rs = Ruleset::load_dir(dir, limits).expect("the replay case's ruleset loads");
        let claims = lines
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, serde_json::from_str(l).expect("claim JSON")))
            .collect();
        let results = rulec::replay::replay(&rs, claims, &EvalOptions::default());
        return match results.into_iter().find_map(|r| r.outcome.err()) {
            Some(e) => (e.diagnostics.clone(), e.render_human(), e.render_json()),
            None => (Vec::new(), String::new(), String::new()),
        };
    }
    let claim = std::fs::read_to_string(dir.join("claim.json")).expect("claim.json");
    let routed = dir.join("rulesets");
    let result = if routed.is_dir() {
        let router = Router::new(&routed, limits);
        let j: serde_json::Value = serde_json::from_str(&claim).expect("claim JSON");
        router
            .route(&j)
            .and_then(|rs| rs.evaluate(&j, &EvalOptions::default()))
    } else {
        Ruleset::load_dir(dir, limits)
            .and_then(|rs| rs.evaluate_str(&claim, &EvalOptions::default()))
    };
    match result {
        Ok(_) => (Vec::new(), String::new(), String::new()),
        Err(e) => (e.diagnostics.clone(), e.render_human(), e.render_json()),
    }
}

#[test]
fn every_diagnostic_has_a_golden_case() {
    let mut failures = Vec::new();
    let mut doc = String::from(DOC_HEADER);
    for &code in Code::ALL {
        let short = code.as_str().trim_start_matches("rulec::");
        if short == "E0739" {
            // An internal error has no failing input by design: the evaluator's own tests
            // (tests/differential.rs) assert that it never occurs.
            let _ = writeln!(
                doc,
                "## {short}: {}\n\nNo input should produce it: the compiled evaluator reads a value of a type \
                 the checker did not prove, or an index out of range. Please report it with the ruleset and the claim.\n",
                code.title()
            );
            continue;
        }
        let Some((target, files)) = case(short) else {
            failures.push(format!("no case for {short} in {CASES}"));
            continue;
        };
        if short.starts_with("E07") {
            if short == "E0701" {
                doc.push_str(RUNTIME_HEADER);
            }
            let (diags, human, json) = runtime_case(short, &target);
            if !diags.iter().any(|d| d.code == code) {
                failures.push(format!(
                    "runtime case {short} does not report {short}: {human}"
                ));
            }
            compare(
                &Path::new(GOLDEN).join(format!("{short}.human")),
                &human,
                &mut failures,
            );
            compare(
                &Path::new(GOLDEN).join(format!("{short}.json")),
                &format!("{json}\n"),
                &mut failures,
            );
            write_doc_entry(&mut doc, code, &files, &human, &json);
            continue;
        }
        let report =
            check_paths(std::slice::from_ref(&target), limits_for(short)).expect("case readable");
        let diags = report.diags.sorted();
        if !diags.iter().any(|d| d.code == code) {
            failures.push(format!(
                "case {short} does not report {short}; it reports {:?}",
                diags.iter().map(|d| d.code.as_str()).collect::<Vec<_>>()
            ));
        }
        for d in &diags {
            if let Some(s) = d.span {
                let len = report.map.get(s.file).map(|f| f.text.len()).unwrap_or(0);
                assert!(s.end as usize <= len, "{short}: span outside its file");
            }
        }
        let human = render_human(&diags, &report.map, false);
        let json = render_json(&diags, &report.map);
        compare(
            &Path::new(GOLDEN).join(format!("{short}.human")),
            &human,
            &mut failures,
        );
        compare(
            &Path::new(GOLDEN).join(format!("{short}.json")),
            &format!("{json}\n"),
            &mut failures,
        );
        write_doc_entry(&mut doc, code, &files, &human, &json);
    }
    compare(Path::new("docs/diagnostics.md"), &doc, &mut failures);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

const DOC_HEADER: &str = "# Diagnostics

Every problem rulec reports has a stable code. Scripts may rely on the codes; messages may
improve. Errors (`E…`) fail `rulec check` (exit code 1); warnings (`W…`) do not, unless
`--deny-warnings` is given. `--format json` prints the same diagnostics as one JSON array of
`{code, severity, message, file, start, end, line, column, help}`.

This page is generated from `tests/diagnostics/cases/` by `tests/diagnostics.rs`; each entry
shows a failing example, the message rulec prints for it, and the same diagnostics as
`--format json` prints them (both checked in as goldens). Runtime errors of `rulec eval`
are listed in the last section.

";

const RUNTIME_HEADER: &str = "# Runtime errors of `rulec eval`

These are reported while settling a claim: the ruleset checked, but this claim meets a value
with no version in force, a conflict between exceptions, a look-up that finds nothing, or an
input that does not fit. Each names the rule text (file, line, column) or the claim's JSON path.
`rulec eval` exits with code 1; in `--batch` the line's result is
`{\"line\": N, \"claim_id\": ..., \"error\": [...]}` (`claim_id` when the claim has one) and the
batch goes on.

";

fn write_doc_entry(doc: &mut String, code: Code, files: &[PathBuf], human: &str, json: &str) {
    let short = code.as_str().trim_start_matches("rulec::");
    let _ = writeln!(doc, "## {short}: {}\n", code.title());
    for f in files {
        let name = f.strip_prefix(CASES).unwrap_or(f).display().to_string();
        let text = match std::fs::read(f) {
            Ok(b) => match String::from_utf8(b) {
                Ok(s) if s.len() > 2000 => {
                    format!("{}…\n", s.chars().take(200).collect::<String>())
                }
                Ok(s) => s,
                Err(_) => "(bytes that are not UTF-8)\n".into(),
            },
            Err(_) => String::new(),
        };
        let lang = if name.ends_with(".csv") {
            "csv"
        } else {
            "text"
        };
        let shown = if text.is_empty() {
            "(empty file)\n".to_string()
        } else {
            text
        };
        let _ = writeln!(doc, "`{name}`:\n\n```{lang}\n{}```\n", shown);
    }
    let _ = writeln!(
        doc,
        "rulec reports:\n\n```text\n{}```\n",
        human.trim_end().to_string() + "\n"
    );
    let _ = writeln!(
        doc,
        "With `--format json`:\n\n```json\n{}```\n",
        json.trim_end().to_string() + "\n"
    );
}
