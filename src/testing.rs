//! `rulec test`: the test cases that ship with rulesets.
//!
//! A ruleset directory may hold a `tests/` folder of JSON files in the case format of
//! [`crate::cases`].
//!
//! `expect` paths point into the settlement JSON; `expect_values` name intermediate
//! definitions (read from the explanation). A case expects either values or an error.

use crate::api::{EvalOptions, Ruleset};
use crate::explain::{render_tree, TraceNode};
use crate::limits::Limits;
use crate::load::find_rulesets;
use crate::value::Date;
use serde::Serialize;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub use crate::cases::{read_cases, Case, ExpectError};

/// A field that differs.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Mismatch {
    /// The path or definition name.
    pub field: String,
    /// Expected.
    pub expected: String,
    /// Actual: `(missing)` when absent, or why the path names nothing ("did you mean").
    pub actual: String,
    /// The explanation of the actual value, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
}

/// The outcome of one case.
#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    /// The ruleset directory.
    pub ruleset: String,
    /// The file holding the case.
    pub file: String,
    /// The case's name.
    pub name: String,
    /// Its source, if given.
    pub source: Option<String>,
    /// True when everything matched.
    pub passed: bool,
    /// What differed.
    pub mismatches: Vec<Mismatch>,
    /// A problem with the case itself or an unexpected error, rendered.
    pub error: Option<String>,
}

/// Every case result of a run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TestReport {
    /// Results in order.
    pub results: Vec<CaseResult>,
}

impl TestReport {
    /// Number of passed cases.
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.passed).count()
    }

    /// Number of failed cases.
    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }
}

fn show(j: &Json) -> String {
    match j {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Compares an expected and an actual value: decimals compare by value (`80` = `"80.00"`).
fn same(expected: &Json, actual: &Json) -> bool {
    let (e, a) = (show(expected), show(actual));
    if e == a {
        return true;
    }
    match (
        e.parse::<rust_decimal::Decimal>(),
        a.parse::<rust_decimal::Decimal>(),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn find_node<'a>(nodes: &'a [TraceNode], name: &str) -> Option<&'a TraceNode> {
    for n in nodes {
        if n.name == name && n.note.as_deref() != Some("computed above") {
            return Some(n);
        }
        if let Some(x) = find_node(&n.children, name) {
            return Some(x);
        }
    }
    None
}

fn lookup<'a>(j: &'a Json, path: &str) -> Option<&'a Json> {
    path.split('.').try_fold(j, |cur, part| cur.get(part))
}

/// Runs one case against a loaded ruleset.
pub fn run_case(rs: &Ruleset, case: &Case, ruleset: &str, file: &str) -> CaseResult {
    let mut result = CaseResult {
        ruleset: ruleset.to_string(),
        file: file.to_string(),
        name: case.name.clone(),
        source: case.source.clone(),
        passed: false,
        mismatches: Vec::new(),
        error: None,
    };
    let as_of = match case.as_of.as_deref().map(Date::parse) {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(e)) => {
            result.error = Some(format!("the case's as_of is not a date: {e}"));
            return result;
        }
    };
    let opts = EvalOptions { as_of };
    match (rs.evaluate_traced(&case.claim, &opts), &case.expect_error) {
        (Err(e), Some(want)) => {
            let hit = e.diagnostics.iter().any(|d| {
                d.code.as_str() == want.code
                    && want
                        .message
                        .as_deref()
                        .is_none_or(|m| d.message.contains(m))
            });
            if hit {
                result.passed = true;
            } else {
                result.mismatches.push(Mismatch {
                    field: "error".into(),
                    expected: format!(
                        "{}{}",
                        want.code,
                        want.message
                            .as_deref()
                            .map(|m| format!(": …{m}…"))
                            .unwrap_or_default()
                    ),
                    actual: e
                        .diagnostics
                        .iter()
                        .map(|d| format!("{}: {}", d.code, d.message))
                        .collect::<Vec<_>>()
                        .join("; "),
                    explanation: Some(e.render_human()),
                });
            }
        }
        (Ok((s, _)), Some(want)) => {
            result.mismatches.push(Mismatch {
                field: "error".into(),
                expected: want.code.clone(),
                actual: format!("no error; settled {}", rs.settlement_json(&s)),
                explanation: None,
            });
        }
        (Err(e), None) => result.error = Some(e.render_human()),
        (Ok((s, trace)), None) => {
            let json = rs.settlement_json(&s);
            for (path, want) in &case.expect {
                let got = lookup(&json, path);
                if !got.is_some_and(|g| same(want, g)) {
                    let leaf = path.rsplit('.').next().unwrap_or(path);
                    result.mismatches.push(Mismatch {
                        field: path.clone(),
                        expected: show(want),
                        actual: got.map(show).unwrap_or_else(|| {
                            crate::case_check::expect_not_found(rs.compiled(), path)
                        }),
                        explanation: find_node(&trace, leaf)
                            .map(|n| render_tree(std::slice::from_ref(n))),
                    });
                }
            }
            for (name, want) in &case.expect_values {
                let node = find_node(&trace, name);
                let ok = node.is_some_and(|n| same(want, &Json::String(n.value.clone())));
                if !ok {
                    result.mismatches.push(Mismatch {
                        field: name.clone(),
                        expected: show(want),
                        actual: node
                            .map(|n| n.value.clone())
                            .unwrap_or_else(|| crate::case_check::not_found(rs.compiled(), name)),
                        explanation: node.map(|n| render_tree(std::slice::from_ref(n))),
                    });
                }
            }
            if case.expect.is_empty() && case.expect_values.is_empty() {
                result.error = Some(
                    "the case expects nothing: give `expect`, `expect_values` or `expect_error`"
                        .into(),
                );
            } else {
                result.passed = result.mismatches.is_empty();
            }
        }
    }
    result
}

/// Runs the cases of every ruleset under `paths`.
pub fn run_paths(paths: &[PathBuf], limits: &Limits) -> std::io::Result<TestReport> {
    let mut report = TestReport::default();
    let mut dirs = Vec::new();
    for p in paths {
        let found = find_rulesets(p).map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot read `{}`: {e}", p.display()))
        })?;
        dirs.extend(found);
    }
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        let tests_dir = dir.join("tests");
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&tests_dir) {
            Ok(rd) => rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect(),
            Err(_) => continue,
        };
        files.sort();
        let name = dir.display().to_string();
        let rs = match Ruleset::load_dir(&dir, limits.clone()) {
            Ok(r) => r,
            Err(e) => {
                report.results.push(CaseResult {
                    ruleset: name.clone(),
                    file: tests_dir.display().to_string(),
                    name: "the ruleset checks".into(),
                    source: None,
                    passed: false,
                    mismatches: Vec::new(),
                    error: Some(e.render_human()),
                });
                continue;
            }
        };
        for f in files {
            let fname = f.display().to_string();
            match read_cases(&f) {
                Ok(cases) => {
                    for c in &cases {
                        report.results.push(run_case(&rs, c, &name, &fname));
                    }
                }
                Err(e) => report.results.push(CaseResult {
                    ruleset: name.clone(),
                    file: fname,
                    name: "the test file reads".into(),
                    source: None,
                    passed: false,
                    mismatches: Vec::new(),
                    error: Some(e),
                }),
            }
        }
    }
    Ok(report)
}

/// Text from a case file as a terminal shows it: control characters (an escape sequence
/// that would recolour or clear the screen, a bell, a carriage return) and the invisible
/// bidirectional overrides are written as `\u{1b}`, so a case name cannot forge output.
fn term_escape(s: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| {
        c.is_control()
            || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    if !s.chars().any(bad) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if bad(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Renders results for people: failures in full, then a summary line. Text from case files
/// is escaped ([`term_escape`]).
pub fn render_human(report: &TestReport) -> String {
    let mut out = String::new();
    let mut current = "";
    let esc = term_escape;
    for r in &report.results {
        if r.ruleset != current {
            current = &r.ruleset;
            out.push_str(&format!("\n{}\n", esc(current)));
        }
        out.push_str(&format!(
            "  {} {}\n",
            if r.passed { "ok  " } else { "FAIL" },
            esc(&r.name)
        ));
        if r.passed {
            continue;
        }
        out.push_str(&format!("       in {}\n", esc(&r.file)));
        if let Some(s) = &r.source {
            out.push_str(&format!("       source: {}\n", esc(s)));
        }
        for m in &r.mismatches {
            out.push_str(&format!(
                "       {}: expected {}, got {}\n",
                esc(&m.field),
                esc(&m.expected),
                esc(&m.actual)
            ));
            if let Some(e) = &m.explanation {
                for line in e.lines() {
                    out.push_str(&format!("         {}\n", esc(line)));
                }
            }
        }
        if let Some(e) = &r.error {
            for line in e.lines() {
                out.push_str(&format!("       {}\n", esc(line)));
            }
        }
    }
    out.push_str(&format!(
        "\n{} passed, {} failed\n",
        report.passed(),
        report.failed()
    ));
    out
}

/// Escapes text for XML attributes and content. Characters XML 1.0 cannot hold at all
/// (control characters other than tab, newline and carriage return; U+FFFE, U+FFFF) are
/// written as `\u{..}`, so a test name can never make the report malformed.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || matches!(c, '\u{FFFE}' | '\u{FFFF}') => {
                out.push_str(&c.escape_unicode().to_string())
            }
            c => out.push(c),
        }
    }
    out
}

/// Renders results as JUnit XML, one test suite per ruleset.
pub fn render_junit(report: &TestReport) -> String {
    let mut suites: BTreeMap<&str, Vec<&CaseResult>> = BTreeMap::new();
    for r in &report.results {
        suites.entry(&r.ruleset).or_default().push(r);
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites tests=\"{}\" failures=\"{}\">\n",
        report.results.len(),
        report.failed()
    ));
    for (name, cases) in suites {
        let failures = cases.iter().filter(|c| !c.passed).count();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">\n",
            xml_escape(name),
            cases.len()
        ));
        for c in cases {
            out.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml_escape(&c.file),
                xml_escape(&c.name)
            ));
            if c.passed {
                out.push_str("/>\n");
                continue;
            }
            let mut text = String::new();
            for m in &c.mismatches {
                text.push_str(&format!(
                    "{}: expected {}, got {}\n",
                    m.field, m.expected, m.actual
                ));
            }
            if let Some(e) = &c.error {
                text.push_str(e);
            }
            let first = text.lines().next().unwrap_or("failed").to_string();
            out.push_str(&format!(
                ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                xml_escape(&first),
                xml_escape(&text)
            ));
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
