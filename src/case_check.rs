//! `rulec check` reads a ruleset's test cases (`tests/*.json`) as well as its rules.
//!
//! Each case is checked against the compiled ruleset, without evaluating anything: the file
//! is JSON in the case format ([`crate::cases::Case`]), every key of `expect` is a field
//! of the settlement (an output, `funds.NAME`, `accumulators.NAME`, `ruleset`, `as_of`),
//! every key of `expect_values` is a value the ruleset computes or declares, and
//! `expect_error` names a diagnostic code that exists. A name that does not exist gets "did
//! you mean"; a value under the wrong key (an intermediate value under `expect`, a
//! settlement field under `expect_values`, `expected` for `expect`) says where it belongs.
//! Diagnostics point into the JSON file: [`locate`] finds the span of every key.

use crate::diag::{did_you_mean, Code, Diagnostic};
use crate::ir::Ruleset;
use crate::limits::Limits;
use crate::source::{FileId, SourceMap, Span};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::path::Path;

/// The keys of a case and of `expect_error`.
const CASE_KEYS: &[&str] = &[
    "name",
    "source",
    "as_of",
    "claim",
    "expect",
    "expect_values",
    "expect_error",
];
const ERROR_KEYS: &[&str] = &["code", "message"];

/// The `.json` entries of a ruleset directory's `tests/` folder, sorted. Not only regular
/// files: a directory or FIFO named `x.json` is reported when read, never skipped.
pub fn case_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("tests"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Reads one test file into the map and checks its cases against the ruleset. A file the
/// map already holds (an editor's unsaved buffer) is checked as it is there, not read.
pub fn check_file(
    map: &mut SourceMap,
    path: &Path,
    rs: &Ruleset,
    limits: &Limits,
) -> Vec<Diagnostic> {
    let name = path.display().to_string();
    if let Some((id, text)) = map
        .find(&name)
        .and_then(|id| Some((id, map.get(id)?.text.clone())))
    {
        return check_text(id, &text, rs, limits);
    }
    let read = crate::io::read_file(path, limits.max_source_bytes);
    let text = match &read {
        Ok(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Err(_) => String::new(),
    };
    let file = map.add(name, text.as_str());
    if let Err(e) = read {
        return vec![
            Diagnostic::new(Code::CaseFile, Span::new(file, 0, 0), e.to_string())
                .label("here")
                .help("test files are regular UTF-8 JSON files; split a large file into several"),
        ];
    }
    check_text(file, &text, rs, limits)
}

/// Checks the text of one test file.
pub fn check_text(file: FileId, text: &str, rs: &Ruleset, limits: &Limits) -> Vec<Diagnostic> {
    let json: Json = match serde_json::from_str(text) {
        Ok(j) => j,
        Err(e) => {
            let at = offset_of(text, e.line(), e.column());
            return vec![Diagnostic::new(
                Code::CaseFile,
                Span::new(file, at, at),
                format!("the test file is not valid JSON: {e}"),
            )
            .label("here")
            .help("a test file holds one case `{…}` or an array of cases `[{…}, …]`")];
        }
    };
    let spans = locate(text);
    let names = Names::of(rs);
    let mut out = Vec::new();
    let cases: Vec<(String, &Json)> = match &json {
        Json::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("/{i}"), c))
            .collect(),
        other => vec![(String::new(), other)],
    };
    for (at, case) in cases {
        let span_of = |path: &str| {
            let (s, e) = spans.get(path).copied().unwrap_or((0, 0));
            Span::new(file, s, e)
        };
        let Json::Object(fields) = case else {
            out.push(
                Diagnostic::new(Code::CaseFile, span_of(&at), "a test case is a JSON object")
                    .label("not an object")
                    .help("write `{\"name\": …, \"claim\": {…}, \"expect\": {…}}`"),
            );
            continue;
        };
        if serde_json::from_value::<crate::cases::Case>(case.clone()).is_err() {
            let before = out.len();
            out.extend(shape(
                &at,
                fields,
                CASE_KEYS,
                "a test case",
                &span_of,
                &names,
            ));
            if let Some(Json::Object(e)) = fields.get("expect_error") {
                out.extend(shape(
                    &format!("{at}/expect_error"),
                    e,
                    ERROR_KEYS,
                    "`expect_error`",
                    &span_of,
                    &names,
                ));
            }
            if out.len() == before {
                out.push(
                    Diagnostic::new(Code::CaseFile, span_of(&at), "this case does not fit the case format")
                        .label("here")
                        .help("a case has `name` and `claim` (text and object), and `expect`, `expect_values` (objects) or `expect_error`; see docs/testing.md"),
                );
            }
        }
        if let Some(claim @ Json::Object(_)) = fields.get("claim") {
            out.extend(check_claim(&at, claim, fields, rs, limits, &span_of));
        }
        if let Some(Json::Object(expect)) = fields.get("expect") {
            for key in expect.keys() {
                let span = span_of(&format!("{at}/expect/{}", escape(key)));
                out.extend(names.check_expect(key, span));
            }
        }
        if let Some(Json::Object(values)) = fields.get("expect_values") {
            for key in values.keys() {
                let span = span_of(&format!("{at}/expect_values/{}", escape(key)));
                out.extend(names.check_value(key, span));
            }
        }
        if let Some(Json::String(code)) = fields.get("expect_error").and_then(|e| e.get("code")) {
            let known = crate::diag::Code::ALL.iter().map(|c| c.as_str());
            if !crate::diag::Code::ALL.iter().any(|c| c.as_str() == code) {
                let sugg = did_you_mean(code, known);
                out.push(
                    Diagnostic::new(
                        Code::CaseUnknownName,
                        span_of(&format!("{at}/expect_error/code=")),
                        format!("no diagnostic code `{code}`"),
                    )
                    .label("unknown code")
                    .help(match sugg {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => {
                            "codes are listed in docs/diagnostics.md, e.g. `rulec::E0701`".into()
                        }
                    }),
                );
            }
        }
    }
    out
}

/// Reads a case's claim as `rulec test` will ([`crate::claim::read_claim`]): an unknown
/// field, a value of the wrong type or a missing field is an error at its place in the file,
/// unless the case expects exactly that error (`expect_error` with the claim error's code).
fn check_claim(
    at: &str,
    claim: &Json,
    fields: &serde_json::Map<String, Json>,
    rs: &Ruleset,
    limits: &Limits,
    span_of: &dyn Fn(&str) -> Span,
) -> Option<Diagnostic> {
    let e = crate::claim::read_claim(rs, limits, claim).err()?;
    let expected = fields
        .get("expect_error")
        .and_then(|x| x.get("code"))
        .and_then(Json::as_str);
    if expected == Some(e.code.as_str()) {
        return None;
    }
    // `items[3].unit_price` → `/items/3/unit_price`; the deepest part the file has.
    let mut pointer = format!("{at}/claim");
    let mut best = span_of(&pointer);
    for part in e.path.split(['.', '[']).filter(|p| !p.is_empty()) {
        let part = part.strip_suffix(']').unwrap_or(part);
        pointer.push('/');
        pointer.push_str(&escape(part));
        let span = span_of(&pointer);
        if span.start == 0 && span.end == 0 {
            break;
        }
        best = span;
    }
    Some(
        Diagnostic::new(
            Code::CaseClaim,
            best,
            format!("the claim does not fit the ruleset's input: {e}"),
        )
        .label("does not fit")
        .help(
            "`rulec test` would fail this case with the same error; fix the claim, or expect \
             the error with `\"expect_error\": {\"code\": \"rulec::E0710\"}`",
        ),
    )
}

/// Reports keys a case (or its `expect_error`) does not have, and values of the wrong kind.
fn shape(
    at: &str,
    fields: &serde_json::Map<String, Json>,
    allowed: &[&str],
    what: &str,
    span_of: &dyn Fn(&str) -> Span,
    names: &Names,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (key, value) in fields {
        if allowed.contains(&key.as_str()) {
            continue;
        }
        let span = span_of(&format!("{at}/{}", escape(key)));
        let sugg = did_you_mean(key, allowed.iter().copied());
        let help = match sugg {
            Some(s) => format!("did you mean `{s}`?"),
            None if allowed == CASE_KEYS && names.is_value(key) => format!(
                "`{key}` is a value of the ruleset: expect it inside `expect_values`, e.g. `\"expect_values\": {{\"{key}\": {value}}}`"
            ),
            None => format!("{what} has the keys {}", allowed.join(", ")),
        };
        out.push(
            Diagnostic::new(
                Code::CaseWrongKey,
                span,
                format!("{what} has no key `{key}`"),
            )
            .label("unknown key")
            .help(help),
        );
    }
    for (key, want) in [
        ("name", "text"),
        ("claim", "an object"),
        ("expect", "an object"),
        ("expect_values", "an object"),
        ("expect_error", "an object"),
    ] {
        let Some(v) = fields.get(key).filter(|_| allowed == CASE_KEYS) else {
            continue;
        };
        let ok = match want {
            "text" => v.is_string(),
            _ => v.is_object(),
        };
        if !ok {
            out.push(
                Diagnostic::new(
                    Code::CaseFile,
                    span_of(&format!("{at}/{key}=")),
                    format!("`{key}` must be {want}"),
                )
                .label(format!("not {want}"))
                .help("see docs/testing.md for the case format"),
            );
        }
    }
    if allowed == CASE_KEYS {
        for key in ["name", "claim"] {
            if !fields.contains_key(key) {
                out.push(
                    Diagnostic::new(
                        Code::CaseFile,
                        span_of(at),
                        format!("this case has no `{key}`"),
                    )
                    .label(format!("`{key}` missing"))
                    .help("every case has a `name` and a `claim`"),
                );
            }
        }
    }
    out
}

/// What `rulec test` says when an expected value is not in the explanation: the name is
/// not computed for this claim, or the ruleset has no value of that name at all.
pub fn not_found(rs: &Ruleset, name: &str) -> String {
    let names = Names::of(rs);
    if names.is_value(name) {
        return "(not computed for this claim)".into();
    }
    match did_you_mean(name, names.values.iter().map(String::as_str)) {
        Some(s) => format!("(the ruleset has no value named `{name}`; did you mean `{s}`?)"),
        None => format!("(the ruleset has no value named `{name}`)"),
    }
}

/// What `rulec test` says when an `expect` path is not in the settlement: the path is right
/// but the settlement lacks it, or the settlement has no such field at all (a misspelled
/// fund, an intermediate value that belongs under `expect_values`).
pub fn expect_not_found(rs: &Ruleset, path: &str) -> String {
    let names = Names::of(rs);
    if names.is_settlement(path) {
        return "(missing)".into();
    }
    if names.is_value(path) {
        return format!(
            "(no such value in the settlement: `{path}` is an intermediate value; move it to `expect_values`)"
        );
    }
    match did_you_mean(path, names.settlement.iter().map(String::as_str)) {
        Some(s) => format!("(no such value; did you mean `{s}`?)"),
        None => format!(
            "(no such value; the settlement's fields are {})",
            names.settlement.join(", ")
        ),
    }
}

/// What a case may name in a ruleset.
struct Names {
    /// Settlement paths: outputs, `funds.X`, `accumulators.X`, `ruleset`, `as_of`.
    settlement: Vec<String>,
    /// Values an explanation shows: definitions of every kind, params, tables, bands,
    /// series, catalogs, accumulators.
    values: Vec<String>,
}

impl Names {
    fn of(rs: &Ruleset) -> Names {
        let mut settlement = vec!["ruleset".to_string(), "as_of".to_string()];
        for d in &rs.defs {
            match d.kind {
                crate::syntax::ast::DefKind::Output => settlement.push(d.name.clone()),
                crate::syntax::ast::DefKind::Fund => settlement.push(format!("funds.{}", d.name)),
                crate::syntax::ast::DefKind::Def => {}
            }
        }
        settlement.extend(
            rs.accumulators
                .iter()
                .map(|a| format!("accumulators.{}", a.name)),
        );
        let mut values: Vec<String> = rs.defs.iter().map(|d| d.name.clone()).collect();
        values.extend(rs.params.iter().map(|p| p.name.clone()));
        values.extend(rs.tables.iter().map(|t| t.name.clone()));
        values.extend(rs.bands.iter().map(|b| b.name.clone()));
        values.extend(rs.series.iter().map(|s| s.name.clone()));
        values.extend(rs.catalogs.iter().map(|c| c.name.clone()));
        values.extend(rs.accumulators.iter().map(|a| a.name.clone()));
        Names { settlement, values }
    }

    fn is_value(&self, name: &str) -> bool {
        self.values.iter().any(|v| v == name)
    }

    /// A settlement path, or the prefix of one (`funds.X.more` for a fund is still wrong,
    /// an output of record type may be read deeper).
    fn is_settlement(&self, path: &str) -> bool {
        self.settlement.iter().any(|s| {
            path == s
                || (!s.contains('.')
                    && path
                        .strip_prefix(s.as_str())
                        .is_some_and(|r| r.starts_with('.')))
        })
    }

    fn check_expect(&self, key: &str, span: Span) -> Option<Diagnostic> {
        if self.is_settlement(key) {
            return None;
        }
        if self.is_value(key) {
            return Some(
                Diagnostic::new(
                    Code::CaseWrongKey,
                    span,
                    format!("`{key}` is not a field of the settlement"),
                )
                .label("an intermediate value")
                .help(format!(
                    "`expect` checks the settlement (outputs, `funds.…`, `accumulators.…`); move `{key}` to `expect_values`"
                )),
            );
        }
        let sugg = did_you_mean(key, self.settlement.iter().map(String::as_str));
        Some(
            Diagnostic::new(
                Code::CaseUnknownName,
                span,
                format!("the settlement has no field `{key}`"),
            )
            .label("not in the settlement")
            .help(match sugg {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("the settlement's fields are {}", self.settlement.join(", ")),
            }),
        )
    }

    fn check_value(&self, key: &str, span: Span) -> Option<Diagnostic> {
        if self.is_value(key) {
            return None;
        }
        if self.is_settlement(key) {
            return Some(
                Diagnostic::new(
                    Code::CaseWrongKey,
                    span,
                    format!("`{key}` is a field of the settlement, not a named value"),
                )
                .label("a settlement field")
                .help(format!("move `{key}` to `expect`")),
            );
        }
        let sugg = did_you_mean(key, self.values.iter().map(String::as_str));
        Some(
            Diagnostic::new(
                Code::CaseUnknownName,
                span,
                format!("the ruleset has no value named `{key}`"),
            )
            .label("no such name")
            .suggest(sugg)
            .help_if_none("`expect_values` names a `def`, `output`, `fund`, `param`, `table` or accumulator of the ruleset"),
        )
    }
}

trait HelpIfNone {
    fn help_if_none(self, help: &str) -> Self;
}

impl HelpIfNone for Diagnostic {
    fn help_if_none(self, help: &str) -> Diagnostic {
        if self.help.is_some() {
            self
        } else {
            self.help(help)
        }
    }
}

/// A key as it appears in a path of [`locate`] (`/` and `~` escaped as in JSON Pointer).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The byte offset of a 1-based line and column (serde_json counts columns in bytes).
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let mut at = (start + column.saturating_sub(1)).min(text.len());
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Spans in a JSON text that serde_json accepted: for every object member, the path of
/// the member (`/0/expect/funds.pool`) → the span of its key, and `path=` → the span of its
/// value; for every array element, `/0` → the span of the element. The walk is iterative,
/// so nesting depth costs no stack.
pub fn locate(text: &str) -> HashMap<String, (usize, usize)> {
    let b = text.as_bytes();
    let mut out = HashMap::new();
    // Open containers: (path, next array index or None for an object).
    let mut stack: Vec<(String, Option<usize>)> = Vec::new();
    // The path of the value about to start.
    let mut pending: Option<String> = Some(String::new());
    // Values being read: path → start.
    let mut starts: Vec<(String, usize)> = Vec::new();
    let mut i = 0;
    let skip_ws = |mut i: usize| {
        while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
        i
    };
    let string_end = |i: usize| {
        let mut j = i + 1;
        while let Some(&c) = b.get(j) {
            match c {
                b'\\' => j += 2,
                b'"' => return j + 1,
                _ => j += 1,
            }
        }
        b.len()
    };
    while i < b.len() {
        i = skip_ws(i);
        let Some(&c) = b.get(i) else { break };
        // In an array, a value starts without a key.
        if pending.is_none() {
            if let Some((path, Some(n))) = stack.last_mut() {
                if c != b']' && c != b',' {
                    pending = Some(format!("{path}/{n}"));
                    *n += 1;
                }
            }
        }
        match c {
            b'{' | b'[' => {
                let path = pending.take().unwrap_or_default();
                starts.push((path.clone(), i));
                stack.push((path, (c == b'[').then_some(0)));
                i += 1;
            }
            b'}' | b']' => {
                stack.pop();
                if let Some((path, s)) = starts.pop() {
                    finish(&mut out, path, s, i + 1);
                }
                i += 1;
            }
            b',' | b':' => i += 1,
            b'"' if pending.is_none() && matches!(stack.last(), Some((_, None))) => {
                // An object key.
                let end = string_end(i);
                let key: String =
                    serde_json::from_str(text.get(i..end).unwrap_or("\"\"")).unwrap_or_default();
                let parent = stack.last().map(|(p, _)| p.as_str()).unwrap_or("");
                let path = format!("{parent}/{}", escape(&key));
                out.insert(path.clone(), (i, end));
                pending = Some(path);
                i = end;
            }
            _ => {
                // A scalar value.
                let end = if c == b'"' {
                    string_end(i)
                } else {
                    let mut j = i;
                    while b.get(j).is_some_and(|c| {
                        !matches!(c, b',' | b'}' | b']') && !c.is_ascii_whitespace()
                    }) {
                        j += 1;
                    }
                    j.max(i + 1)
                };
                if let Some(path) = pending.take() {
                    finish(&mut out, path, i, end);
                }
                i = end;
            }
        }
    }
    out
}

/// Records a value's span: `path=` always, and `path` for array elements (which have no key).
fn finish(out: &mut HashMap<String, (usize, usize)>, path: String, start: usize, end: usize) {
    out.entry(path.clone()).or_insert((start, end));
    out.insert(format!("{path}="), (start, end));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_finds_keys_and_values() {
        let text = r#"[ {"name": "a", "expect": {"funds.x": "1.00"}}, {"name": "b/c"} ]"#;
        let spans = locate(text);
        let slice = |k: &str| {
            let (s, e) = spans[k];
            &text[s..e]
        };
        assert_eq!(slice("/0/expect/funds.x"), "\"funds.x\"");
        assert_eq!(slice("/0/expect/funds.x="), "\"1.00\"");
        assert_eq!(slice("/1/name="), "\"b/c\"");
        assert!(slice("/1").starts_with("{\"name\""));
    }

    #[test]
    fn offsets_of_serde_positions() {
        assert_eq!(offset_of("ab\ncd", 2, 2), 4);
        assert_eq!(offset_of("ab", 9, 9), 2);
    }
}
