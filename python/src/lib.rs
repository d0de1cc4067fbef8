#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The Python package `rulec`: PyO3 bindings over the embedding API (`rulec::api`).
//!
//! Three rules shape this module:
//! - **Money never passes through a float.** A claim given as a `dict` is written to JSON text
//!   here, walking the Python objects: `int`, `str` and `decimal.Decimal` keep their exact
//!   digits, and a `float` anywhere is refused with its JSON path. Settlements come back with
//!   every amount a `decimal.Decimal` built from the decimal text rulec produced.
//! - **No GIL while settling.** Claims are converted to text (or arrive as text), the GIL is
//!   released, rulec settles, and the result is built into a small tree ([`Out`]) still
//!   without the GIL; only turning that tree into Python objects needs it.
//! - **Errors are data.** Every failure carries the diagnostics of rulec (stable code,
//!   message, place); `evaluate` raises them as `rulec.RuleError`, `evaluate_many` yields them.
//!
//! `evaluate_many` pipelines: while Python consumes one block of settlements, a rayon pool
//! settles the next block, so the interpreter's serial work overlaps with evaluation.

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};
use rulec::api::{self, EvalOptions};
use rulec::diag::{Code, Diagnostic};
use rulec::eval::Settlement;
use rulec::limits::Limits;
use rulec::replay::{Settle, Settled};
use rulec::value::{Date, Value};
use serde_json::Value as Json;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{mpsc, Arc, Mutex};

/// A settlement or trace, built without the GIL, ready to become Python objects.
enum Out {
    Null,
    Bool(bool),
    Int(i64),
    /// A decimal, as its exact text: becomes `decimal.Decimal`.
    Dec(String),
    Str(String),
    List(Vec<Out>),
    Map(Vec<(String, Out)>),
}

/// A diagnostic as Python sees it (`rulec.Diagnostic`).
struct DiagOut {
    code: String,
    severity: String,
    message: String,
    file: Option<String>,
    line: Option<i64>,
    column: Option<i64>,
    help: Option<String>,
}

/// A failure as Python sees it (`rulec.RuleError`).
struct ErrOut {
    code: String,
    message: String,
    path: Option<String>,
    diagnostics: Vec<DiagOut>,
    rendered: String,
    input_line: Option<usize>,
    claim_id: Option<String>,
}

type Outcome = Result<Out, Box<ErrOut>>;

// ---------------------------------------------------------------- cached Python types

static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DATE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DATETIME: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static RULE_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DIAGNOSTIC: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn decimal_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    DECIMAL.import(py, "decimal", "Decimal")
}

fn date_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    DATE.import(py, "datetime", "date")
}

fn datetime_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    DATETIME.import(py, "datetime", "datetime")
}

fn rule_error_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    RULE_ERROR.import(py, "rulec._types", "RuleError")
}

fn diagnostic_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    DIAGNOSTIC.import(py, "rulec._types", "Diagnostic")
}

// ---------------------------------------------------------------- Rust -> Python

fn to_py<'py>(py: Python<'py>, out: Out) -> PyResult<Bound<'py, PyAny>> {
    Ok(match out {
        Out::Null => py.None().into_bound(py),
        Out::Bool(b) => PyBool::new(py, b).to_owned().into_any(),
        Out::Int(i) => i.into_pyobject(py)?.into_any(),
        Out::Dec(s) => decimal_type(py)?.call1((s,))?,
        Out::Str(s) => PyString::new(py, &s).into_any(),
        Out::List(items) => {
            let list = PyList::empty(py);
            for x in items {
                list.append(to_py(py, x)?)?;
            }
            list.into_any()
        }
        Out::Map(entries) => {
            let dict = PyDict::new(py);
            for (k, v) in entries {
                dict.set_item(k, to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

fn diag_to_py<'py>(py: Python<'py>, d: DiagOut) -> PyResult<Bound<'py, PyAny>> {
    diagnostic_type(py)?.call1((
        d.code, d.severity, d.message, d.file, d.line, d.column, d.help,
    ))
}

/// A `rulec.RuleError` value (not raised).
fn error_to_py<'py>(py: Python<'py>, e: ErrOut) -> PyResult<Bound<'py, PyAny>> {
    let primary = e.diagnostics.first();
    let kwargs = PyDict::new(py);
    kwargs.set_item("path", e.path.clone())?;
    kwargs.set_item("file", primary.and_then(|d| d.file.clone()))?;
    kwargs.set_item("line", primary.and_then(|d| d.line))?;
    kwargs.set_item("column", primary.and_then(|d| d.column))?;
    kwargs.set_item("help", primary.and_then(|d| d.help.clone()))?;
    kwargs.set_item("input_line", e.input_line)?;
    kwargs.set_item("claim_id", e.claim_id.clone())?;
    kwargs.set_item("rendered", e.rendered)?;
    let diags = e
        .diagnostics
        .into_iter()
        .map(|d| diag_to_py(py, d))
        .collect::<PyResult<Vec<_>>>()?;
    kwargs.set_item("diagnostics", PyTuple::new(py, diags)?)?;
    rule_error_type(py)?.call((e.code, e.message), Some(&kwargs))
}

fn raise(py: Python<'_>, e: ErrOut) -> PyErr {
    match error_to_py(py, e) {
        Ok(v) => PyErr::from_value(v),
        Err(e) => e,
    }
}

fn outcome_to_py(py: Python<'_>, o: Outcome) -> PyResult<Py<PyAny>> {
    match o {
        Ok(out) => Ok(to_py(py, out)?.unbind()),
        Err(e) => Ok(error_to_py(py, *e)?.unbind()),
    }
}

// ---------------------------------------------------------------- rulec -> Out

fn json_out(j: &Json) -> Out {
    match j {
        Json::Null => Out::Null,
        Json::Bool(b) => Out::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Out::Int(i),
            None => Out::Dec(n.to_string()),
        },
        Json::String(s) => Out::Str(s.clone()),
        Json::Array(a) => Out::List(a.iter().map(json_out).collect()),
        Json::Object(o) => Out::Map(o.iter().map(|(k, v)| (k.clone(), json_out(v))).collect()),
    }
}

/// A value of a settlement: every decimal (money, rate, plain decimal) as `Out::Dec`.
fn value_out(v: &Value, rs: &api::Ruleset) -> Out {
    match v {
        Value::Money(_) | Value::Rate(_) | Value::Decimal(_) => {
            match api::value_json(v, rs.compiled()) {
                Json::String(s) => Out::Dec(s),
                other => json_out(&other),
            }
        }
        Value::List(items) => Out::List(items.iter().map(|x| value_out(x, rs)).collect()),
        other => json_out(&api::value_json(other, rs.compiled())),
    }
}

/// The settlement of `rulec eval`, key for key, with decimals as `Out::Dec`.
fn settlement_out(rs: &api::Ruleset, s: &Settlement) -> Out {
    let mut m = Vec::with_capacity(s.outputs.len() + 4);
    m.push(("ruleset".to_string(), Out::Str(rs.name().to_string())));
    m.push(("as_of".to_string(), Out::Str(s.as_of.to_string())));
    for (name, v) in &s.outputs {
        m.push((name.clone(), value_out(v, rs)));
    }
    let funds = s
        .funds
        .iter()
        .map(|(n, v)| (n.clone(), value_out(&Value::Money(*v), rs)))
        .collect();
    m.push(("funds".to_string(), Out::Map(funds)));
    let accs = s
        .accumulators
        .iter()
        .map(|(n, v)| (n.clone(), value_out(v, rs)))
        .collect();
    m.push(("accumulators".to_string(), Out::Map(accs)));
    Out::Map(m)
}

/// A batch settlement: `claim_id` first, when the claim has one.
fn with_claim_id(out: Out, id: Option<&Json>) -> Out {
    match (out, id) {
        (Out::Map(mut m), Some(id)) => {
            m.insert(0, ("claim_id".to_string(), json_out(id)));
            Out::Map(m)
        }
        (out, _) => out,
    }
}

fn diag_out(j: &Json) -> DiagOut {
    let s = |k: &str| j.get(k).and_then(Json::as_str).map(str::to_string);
    let n = |k: &str| j.get(k).and_then(Json::as_i64);
    DiagOut {
        code: s("code").unwrap_or_default(),
        severity: s("severity").unwrap_or_else(|| "error".into()),
        message: s("message").unwrap_or_default(),
        file: s("file"),
        line: n("line"),
        column: n("column"),
        help: s("help"),
    }
}

fn error_out(e: &api::Error) -> Box<ErrOut> {
    let diagnostics: Vec<DiagOut> = match e.to_json() {
        Json::Array(items) => items.iter().map(diag_out).collect(),
        _ => Vec::new(),
    };
    let (code, message) = diagnostics
        .first()
        .map(|d| (d.code.clone(), d.message.clone()))
        .unwrap_or_else(|| (Code::InvalidClaim.as_str().to_string(), e.to_string()));
    Box::new(ErrOut {
        path: e.claim_path().map(str::to_string),
        code,
        message,
        diagnostics,
        // Exactly what `rulec eval` prints on stderr.
        rendered: format!("{}\n", e.render_human().trim_end()),
        input_line: None,
        claim_id: None,
    })
}

/// A claim refused before rulec saw it (a float, a non-text key, …).
#[derive(Debug)]
struct Refusal {
    code: Code,
    path: String,
    message: String,
}

impl Refusal {
    fn new(code: Code, path: &str, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            path: path.to_string(),
            message: message.into(),
        }
    }

    fn into_out(self) -> Box<ErrOut> {
        let message = if self.path.is_empty() {
            self.message
        } else {
            format!("{}: {}", self.path, self.message)
        };
        Box::new(ErrOut {
            code: self.code.as_str().to_string(),
            rendered: format!("error[{}]: {message}", self.code.as_str()),
            diagnostics: vec![DiagOut {
                code: self.code.as_str().to_string(),
                severity: "error".into(),
                message: message.clone(),
                file: None,
                line: None,
                column: None,
                help: Some(
                    "pass amounts as decimal.Decimal, str or int; see docs/python.md".into(),
                ),
            }],
            message,
            path: (!self.path.is_empty()).then_some(self.path),
            input_line: None,
            claim_id: None,
        })
    }
}

// ---------------------------------------------------------------- Python -> JSON text

/// Writes a Python claim as JSON text, exactly. Bounded by the claim limits: depth and size.
struct Writer<'a, 'py> {
    py: Python<'py>,
    out: String,
    limits: &'a Limits,
}

impl<'py> Writer<'_, 'py> {
    fn write(
        &mut self,
        obj: &Bound<'py, PyAny>,
        path: &mut String,
        depth: usize,
    ) -> Result<(), Refusal> {
        if depth > self.limits.max_json_depth {
            return Err(Refusal::new(
                Code::ClaimTooDeep,
                path,
                format!(
                    "nested deeper than the limit of {}",
                    self.limits.max_json_depth
                ),
            ));
        }
        if self.out.len() > self.limits.max_claim_bytes {
            return Err(Refusal::new(
                Code::ClaimTooLarge,
                "",
                format!(
                    "the claim is over the limit of {} bytes",
                    self.limits.max_claim_bytes
                ),
            ));
        }
        let py = self.py;
        if obj.is_none() {
            self.out.push_str("null");
        } else if let Ok(b) = obj.downcast::<PyBool>() {
            self.out
                .push_str(if b.is_true() { "true" } else { "false" });
        } else if let Ok(f) = obj.downcast::<PyFloat>() {
            return Err(invalid(
                path,
                format!(
                    "{} is a float: binary floating point cannot carry money exactly; \
                 pass decimal.Decimal(\"{}\"), the string \"{}\", or an int",
                    f.value(),
                    f.value(),
                    f.value()
                ),
            ));
        } else if let Ok(i) = obj.downcast::<PyInt>() {
            match i.extract::<i128>() {
                Ok(v) => {
                    let _ = write!(self.out, "{v}");
                }
                Err(_) => {
                    return Err(invalid(
                        path,
                        "the integer is out of range for an exact decimal (at most 28 digits)"
                            .into(),
                    ))
                }
            }
        } else if let Ok(s) = obj.downcast::<PyString>() {
            let s = s.to_str().map_err(|_| {
                invalid(
                    path,
                    "the text is not valid Unicode (a lone surrogate)".into(),
                )
            })?;
            self.push_string(s);
        } else if decimal_type(py).is_ok_and(|t| obj.is_instance(t).unwrap_or(false)) {
            self.write_decimal(obj, path)?;
        } else if let Ok(d) = obj.downcast::<PyDict>() {
            self.out.push('{');
            let base = path.len();
            for (n, (k, v)) in d.iter().enumerate() {
                let key = k.downcast::<PyString>().map_err(|_| {
                    invalid(
                        path,
                        format!(
                            "a key is {}, not text: JSON object keys are text",
                            type_name(&k)
                        ),
                    )
                })?;
                let key = key
                    .to_str()
                    .map_err(|_| invalid(path, "a key is not valid Unicode".into()))?;
                if n > 0 {
                    self.out.push(',');
                }
                self.push_string(key);
                self.out.push(':');
                if base > 0 {
                    path.push('.');
                }
                path.push_str(key);
                self.write(&v, path, depth + 1)?;
                path.truncate(base);
            }
            self.out.push('}');
        } else if obj.downcast::<PyList>().is_ok() || obj.downcast::<PyTuple>().is_ok() {
            self.out.push('[');
            let base = path.len();
            for (n, item) in obj
                .try_iter()
                .map_err(|e| invalid(path, e.to_string()))?
                .enumerate()
            {
                let item = item.map_err(|e| invalid(path, e.to_string()))?;
                if n > 0 {
                    self.out.push(',');
                }
                let _ = write!(path, "[{n}]");
                self.write(&item, path, depth + 1)?;
                path.truncate(base);
            }
            self.out.push(']');
        } else if datetime_type(py).is_ok_and(|t| obj.is_instance(t).unwrap_or(false)) {
            return Err(invalid(
                path,
                "a datetime is not a date: pass datetime.date or \"YYYY-MM-DD\"".into(),
            ));
        } else if date_type(py).is_ok_and(|t| obj.is_instance(t).unwrap_or(false)) {
            let iso: String = obj
                .call_method0("isoformat")
                .and_then(|s| s.extract())
                .map_err(|e| invalid(path, e.to_string()))?;
            self.push_string(&iso);
        } else if let Ok(mapping) = obj.downcast::<pyo3::types::PyMapping>() {
            let d = PyDict::new(py);
            let items = mapping.items().map_err(|e| invalid(path, e.to_string()))?;
            for kv in items.iter() {
                let (k, v): (Bound<'py, PyAny>, Bound<'py, PyAny>) = kv
                    .extract()
                    .map_err(|e: PyErr| invalid(path, e.to_string()))?;
                d.set_item(k, v).map_err(|e| invalid(path, e.to_string()))?;
            }
            self.write(d.as_any(), path, depth)?;
        } else {
            return Err(invalid(
                path,
                format!(
                    "a value of type {} has no JSON form: use dict, list, str, int, bool, None, \
                 decimal.Decimal or datetime.date",
                    type_name(obj)
                ),
            ));
        }
        Ok(())
    }

    fn write_decimal(&mut self, obj: &Bound<'py, PyAny>, path: &str) -> Result<(), Refusal> {
        let bad = |what: String| invalid(path, what);
        let finite: bool = obj
            .call_method0("is_finite")
            .and_then(|b| b.extract())
            .map_err(|e| bad(e.to_string()))?;
        if !finite {
            return Err(bad(format!("{} is not a finite decimal", repr(obj))));
        }
        // Bound the text before formatting: Decimal("1E+100000000") must not become 100 MB.
        let exponent: i64 = obj
            .call_method0("as_tuple")
            .and_then(|t| t.getattr("exponent"))
            .and_then(|e| e.extract())
            .map_err(|e| bad(e.to_string()))?;
        let adjusted: i64 = obj
            .call_method0("adjusted")
            .and_then(|a| a.extract())
            .map_err(|e| bad(e.to_string()))?;
        if adjusted > 40 || exponent < -40 {
            return Err(bad(format!(
                "{} is out of range for an exact decimal (at most 28 digits)",
                repr(obj)
            )));
        }
        let text: String = obj
            .call_method1("__format__", ("f",))
            .and_then(|s| s.extract())
            .map_err(|e| bad(e.to_string()))?;
        self.out.push_str(&text);
        Ok(())
    }

    fn push_string(&mut self, s: &str) {
        match serde_json::to_string(s) {
            Ok(quoted) => self.out.push_str(&quoted),
            Err(_) => self.out.push_str("null"),
        }
    }
}

fn invalid(path: &str, what: String) -> Refusal {
    Refusal::new(Code::InvalidClaim, path, what)
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

fn repr(obj: &Bound<'_, PyAny>) -> String {
    obj.repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// A claim as JSON text: `str` as is, `bytes` as UTF-8, anything else written exactly.
fn claim_text(obj: &Bound<'_, PyAny>, limits: &Limits) -> Result<String, Refusal> {
    if let Ok(s) = obj.downcast::<PyString>() {
        return s
            .to_str()
            .map(str::to_string)
            .map_err(|_| Refusal::new(Code::InvalidClaim, "", "the text is not valid Unicode"));
    }
    if let Ok(b) = obj.downcast::<PyBytes>() {
        return std::str::from_utf8(b.as_bytes())
            .map(str::to_string)
            .map_err(|e| {
                Refusal::new(
                    Code::InvalidClaim,
                    "",
                    format!("the bytes are not UTF-8 ({e})"),
                )
            });
    }
    let mut w = Writer {
        py: obj.py(),
        out: String::with_capacity(1024),
        limits,
    };
    w.write(obj, &mut String::new(), 0)?;
    Ok(w.out)
}

fn parse_as_of(obj: Option<&Bound<'_, PyAny>>) -> PyResult<EvalOptions> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(EvalOptions::default());
    };
    let text: String = if let Ok(s) = obj.downcast::<PyString>() {
        s.to_str()?.to_string()
    } else if date_type(obj.py()).is_ok_and(|t| obj.is_instance(t).unwrap_or(false))
        && !datetime_type(obj.py()).is_ok_and(|t| obj.is_instance(t).unwrap_or(false))
    {
        obj.call_method0("isoformat")?.extract()?
    } else {
        return Err(PyTypeError::new_err(
            "as_of is a datetime.date or a \"YYYY-MM-DD\" string",
        ));
    };
    let d = Date::parse(&text).map_err(|why| PyValueError::new_err(format!("as_of: {why}")))?;
    Ok(EvalOptions { as_of: Some(d) })
}

// ---------------------------------------------------------------- settling

/// What settles claims: one ruleset, or a router over a directory of rulesets.
#[derive(Clone)]
enum Target {
    One(api::Ruleset),
    Routed(Arc<api::Router>),
}

fn global_error(code: Code, message: String) -> api::Error {
    api::Error::from_diagnostic(Diagnostic::global(code, message))
}

impl Target {
    fn limits(&self) -> Limits {
        Limits::default()
    }

    /// Parses claim text and picks its ruleset.
    fn prepare(&self, text: &str) -> Result<(api::Ruleset, Json), Box<ErrOut>> {
        let claim = self.parse(text)?;
        match self {
            Target::One(rs) => Ok((rs.clone(), claim)),
            Target::Routed(router) => Ok((router.route(&claim).map_err(|e| error_out(&e))?, claim)),
        }
    }

    /// Parses claim text exactly, within the size limit.
    fn parse(&self, text: &str) -> Result<Json, Box<ErrOut>> {
        match self {
            Target::One(rs) => rs.parse_claim(text).map_err(|e| error_out(&e)),
            Target::Routed(_) => {
                let limit = self.limits().max_claim_bytes;
                if text.len() > limit {
                    return Err(error_out(&global_error(
                        Code::ClaimTooLarge,
                        format!(
                            "the claim is {} bytes, over the limit of {limit}",
                            text.len()
                        ),
                    )));
                }
                rulec::claim::parse_strict(text).map_err(|e| {
                    let mut out = error_out(&global_error(e.code, e.to_string()));
                    out.path = (!e.path.is_empty()).then_some(e.path);
                    out
                })
            }
        }
    }

    /// The settler replay and impact analysis work through.
    fn settler(&self) -> &dyn Settle {
        match self {
            Target::One(rs) => rs,
            Target::Routed(router) => &**router,
        }
    }

    /// Settles claim text. `with_id`: the settlement starts with the claim's `claim_id`, as
    /// a line of `rulec eval --batch` does (a single `rulec eval` prints none).
    /// Settles claim text straight from its bytes (`claim::peek`, `Router::route_bytes`,
    /// `Ruleset::evaluate_bytes`: no JSON tree), as `rulec eval` does.
    fn settle(&self, text: &str, opts: &EvalOptions, with_id: bool) -> Outcome {
        let bytes = text.as_bytes();
        let peek = rulec::claim::peek(bytes);
        let id = peek.as_ref().and_then(|p| p.claim_id.as_ref());
        let failed = |e: &api::Error| {
            let mut err = error_out(e);
            err.claim_id = id.and_then(Json::as_str).map(str::to_string);
            err
        };
        let rs = match self {
            Target::One(rs) => rs.clone(),
            Target::Routed(router) => router.route_bytes(bytes).map_err(|e| failed(&e))?,
        };
        match rs.evaluate_bytes(bytes, opts) {
            Ok(s) => Ok(with_claim_id(
                settlement_out(&rs, &s),
                id.filter(|_| with_id),
            )),
            Err(e) => Err(failed(&e)),
        }
    }

    fn traced(&self, text: &str, opts: &EvalOptions) -> Result<(Out, String), Box<ErrOut>> {
        let (rs, claim) = self.prepare(text)?;
        let (s, trace) = rs
            .evaluate_traced(&claim, opts)
            .map_err(|e| error_out(&e))?;
        let explanation = format!(
            "Explanation ({} as of {}):\n\n{}",
            rs.name(),
            s.as_of,
            rs.render_explanation(&trace)
        );
        let trace_json = serde_json::to_value(&trace).unwrap_or(Json::Null);
        let out = Out::Map(vec![
            ("settlement".into(), settlement_out(&rs, &s)),
            ("trace".into(), json_out(&trace_json)),
        ]);
        Ok((out, explanation))
    }
}

fn evaluate_one(
    py: Python<'_>,
    target: &Target,
    claim: &Bound<'_, PyAny>,
    as_of: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let opts = parse_as_of(as_of)?;
    let text = claim_text(claim, &target.limits()).map_err(|r| raise(py, *r.into_out()))?;
    let target = target.clone();
    let outcome = py.detach(move || target.settle(&text, &opts, false));
    match outcome {
        Ok(out) => Ok(to_py(py, out)?.unbind()),
        Err(e) => Err(raise(py, *e)),
    }
}

fn traced_one(
    py: Python<'_>,
    target: &Target,
    claim: &Bound<'_, PyAny>,
    as_of: Option<&Bound<'_, PyAny>>,
) -> PyResult<(Out, String)> {
    let opts = parse_as_of(as_of)?;
    let text = claim_text(claim, &target.limits()).map_err(|r| raise(py, *r.into_out()))?;
    let target = target.clone();
    py.detach(move || target.traced(&text, &opts))
        .map_err(|e| raise(py, *e))
}

// ---------------------------------------------------------------- diagnostics

fn diagnostics_py(py: Python<'_>, items: Vec<DiagOut>) -> PyResult<Py<PyList>> {
    let list = PyList::empty(py);
    for d in items {
        list.append(diag_to_py(py, d)?)?;
    }
    Ok(list.unbind())
}

fn report_diagnostics(report: &rulec::project::CheckReport) -> Vec<DiagOut> {
    rulec::diag::to_json(&report.diags.sorted(), &report.map)
        .into_iter()
        .map(|d| DiagOut {
            code: d.code.to_string(),
            severity: d.severity.to_string(),
            message: d.message,
            file: d.file,
            line: d.line.and_then(|l| i64::try_from(l).ok()),
            column: d.column.and_then(|c| i64::try_from(c).ok()),
            help: d.help,
        })
        .collect()
}

fn check_paths(py: Python<'_>, paths: Vec<PathBuf>) -> PyResult<Py<PyList>> {
    let report = py
        .detach(move || rulec::project::check_paths(&paths, Limits::default()))
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    diagnostics_py(py, report_diagnostics(&report))
}

/// Checks rule files and ruleset directories (searching below a directory without rule
/// files), like `rulec check`: every error and warning, as `rulec.Diagnostic` values.
#[pyfunction]
fn check(py: Python<'_>, path: PathBuf) -> PyResult<Py<PyList>> {
    check_paths(py, vec![path])
}

// ---------------------------------------------------------------- replay and impact

fn thread_pool(jobs: Option<usize>) -> PyResult<rayon::ThreadPool> {
    let jobs = match jobs {
        Some(0) => return Err(PyValueError::new_err("jobs must be at least 1")),
        Some(n) => n,
        None => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("rulec-{i}"))
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start {jobs} threads: {e}")))
}

/// Reads every item of an iterable of claims as JSON text (refusals kept by position).
fn read_all(
    lines: &Bound<'_, PyAny>,
    limits: &Limits,
) -> PyResult<Vec<Result<String, Box<ErrOut>>>> {
    let mut out = Vec::new();
    for item in lines.try_iter()? {
        let item = item?;
        out.push(match claim_text(&item, limits) {
            Ok(mut text) => {
                let trimmed = text.trim_end_matches(['\n', '\r']).len();
                text.truncate(trimmed);
                Ok(text)
            }
            Err(r) => Err(r.into_out()),
        });
    }
    Ok(out)
}

/// One replayed claim: its `claim_id` (any JSON value), and its settlement or failure.
type ReplayedClaim = (Option<Json>, Result<Settled, Box<ErrOut>>);

/// Replays claim texts (shared/reference-policies.md §11): by `insured.id`, in
/// (`settlement_date`, `claim_id`) order, accumulators threaded by period. One result per
/// claim, in input order. Runs on the current rayon pool; call it without the GIL.
fn replay_texts(
    target: &Target,
    texts: Vec<Result<String, Box<ErrOut>>>,
    opts: &EvalOptions,
) -> Vec<ReplayedClaim> {
    let mut outcomes: Vec<Option<ReplayedClaim>> = Vec::with_capacity(texts.len());
    let mut ids: Vec<Option<Json>> = Vec::with_capacity(texts.len());
    let mut claims = Vec::with_capacity(texts.len());
    for (i, t) in texts.into_iter().enumerate() {
        let line = i + 1;
        let parsed = match t {
            Err(e) => Err(e),
            Ok(text) if text.trim().is_empty() => {
                Err(Refusal::new(Code::InvalidClaim, "", "empty line").into_out())
            }
            Ok(text) => target.parse(&text),
        };
        ids.push(
            parsed
                .as_ref()
                .ok()
                .and_then(|j| j.get("claim_id").cloned()),
        );
        match parsed {
            Ok(json) => {
                claims.push((line, json));
                outcomes.push(None);
            }
            Err(mut e) => {
                e.input_line = Some(line);
                outcomes.push(Some((None, Err(e))));
            }
        }
    }
    for r in rulec::replay::replay(target.settler(), claims, opts) {
        let id = ids.get_mut(r.line - 1).and_then(Option::take);
        let outcome = r.outcome.map_err(|e| {
            let mut err = error_out(&e);
            err.input_line = Some(r.line);
            err.claim_id = r.claim_id.clone();
            err
        });
        if let Some(slot) = outcomes.get_mut(r.line - 1) {
            *slot = Some((id, outcome));
        }
    }
    outcomes
        .into_iter()
        .map(|o| {
            o.unwrap_or_else(|| {
                let e = Refusal::new(
                    Code::InvalidClaim,
                    "",
                    "internal error: replay returned no result for the claim",
                );
                (None, Err(e.into_out()))
            })
        })
        .collect()
}

/// Replays claims and returns a list in input order: settlements (starting with the claim's
/// `claim_id`, as a line of `rulec eval --batch`) and `RuleError` values.
fn replay_impl(
    py: Python<'_>,
    target: &Target,
    lines: &Bound<'_, PyAny>,
    jobs: Option<usize>,
    as_of: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyList>> {
    let opts = parse_as_of(as_of)?;
    let texts = read_all(lines, &target.limits())?;
    let pool = thread_pool(jobs)?;
    let target = target.clone();
    let outcomes: Vec<Outcome> = py.detach(move || {
        pool.install(|| {
            replay_texts(&target, texts, &opts)
                .into_iter()
                .map(|(id, outcome)| {
                    outcome.map(|settled| {
                        let out = settlement_out(&settled.ruleset, &settled.settlement);
                        with_claim_id(out, id.as_ref())
                    })
                })
                .collect()
        })
    });
    let list = PyList::empty(py);
    for o in outcomes {
        list.append(outcome_to_py(py, o)?)?;
    }
    Ok(list.unbind())
}

// ---------------------------------------------------------------- Arrow-ready columns

/// An Arrow validity bitmap (bit set: not null), with the count of rows and of nulls; shared
/// by the column types below.
#[derive(Default)]
struct Validity {
    bits: Vec<u8>,
    len: usize,
    nulls: usize,
}

impl Validity {
    /// Records one more row.
    fn push(&mut self, present: bool) {
        if self.len.is_multiple_of(8) {
            self.bits.push(0);
        }
        if present {
            if let Some(byte) = self.bits.last_mut() {
                *byte |= 1 << (self.len % 8);
            }
        } else {
            self.nulls += 1;
        }
        self.len += 1;
    }
}

/// A column of `decimal128(18, 2)` in Arrow's layout: each value its unscaled `i128`
/// (fen), little-endian, and a validity bitmap. Built without the GIL; `rulec/arrow.py`
/// wraps the buffers into a `pyarrow` array without a Python object per value.
#[derive(Default)]
struct Dec128 {
    data: Vec<u8>,
    valid: Validity,
}

/// The largest amount `decimal128(18, 2)` holds, exclusive: 10^16 yuan.
const DEC18_LIMIT: i128 = 1_000_000_000_000_000_000;

impl Dec128 {
    fn push(&mut self, value: Option<rust_decimal::Decimal>) -> Result<(), String> {
        let unscaled = match value {
            None => None,
            Some(d) => {
                let mut fen = d;
                fen.rescale(2);
                if fen != d || fen.scale() != 2 || fen.mantissa().abs() >= DEC18_LIMIT {
                    return Err(format!(
                        "{d} does not fit DecimalType(18, 2) exactly (whole fen, under 10^16)"
                    ));
                }
                Some(fen.mantissa())
            }
        };
        self.valid.push(unscaled.is_some());
        self.data
            .extend_from_slice(&unscaled.unwrap_or(0).to_le_bytes());
        Ok(())
    }

    fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let t = (
            PyBytes::new(py, &self.data),
            PyBytes::new(py, &self.valid.bits),
            self.valid.nulls,
        );
        Ok(t.into_pyobject(py)?.into_any())
    }
}

/// Arrow's `i32` offsets, starting at 0.
fn offsets_start() -> Vec<u8> {
    0i32.to_le_bytes().to_vec()
}

/// A column of Arrow `string` in its own layout: `i32` offsets, the UTF-8 bytes, and a
/// validity bitmap; handed to Python as three `bytes` for `pyarrow.Array.from_buffers`, so
/// that no Python `str` is made per value.
struct StrCol {
    offsets: Vec<u8>,
    data: Vec<u8>,
    valid: Validity,
}

impl StrCol {
    fn new() -> StrCol {
        StrCol {
            offsets: offsets_start(),
            data: Vec::new(),
            valid: Validity::default(),
        }
    }

    /// Appends a value (or a null); fails when the column outgrows `i32` offsets.
    fn push(&mut self, value: Option<&str>) -> Result<(), String> {
        if let Some(v) = value {
            self.data.extend_from_slice(v.as_bytes());
        }
        let end = i32::try_from(self.data.len()).map_err(|_| {
            "more than 2 GiB of text in one column: replay fewer claims per call".to_string()
        })?;
        self.valid.push(value.is_some());
        self.offsets.extend_from_slice(&end.to_le_bytes());
        Ok(())
    }

    fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let t = (
            PyBytes::new(py, &self.offsets),
            PyBytes::new(py, &self.data),
            PyBytes::new(py, &self.valid.bits),
            self.valid.nulls,
        );
        Ok(t.into_pyobject(py)?.into_any())
    }
}

/// A column of `map<string, decimal128(18, 2)>` in Arrow's layout: `i32` offsets, the keys,
/// the values, and a validity bitmap of the maps.
struct DecMap {
    offsets: Vec<u8>,
    keys: StrCol,
    values: Dec128,
    valid: Validity,
}

impl DecMap {
    fn new() -> DecMap {
        DecMap {
            offsets: offsets_start(),
            keys: StrCol::new(),
            values: Dec128::default(),
            valid: Validity::default(),
        }
    }

    /// Appends a map of the entries.
    fn push<'a>(
        &mut self,
        entries: impl Iterator<Item = (&'a String, Option<rust_decimal::Decimal>)>,
    ) -> Result<(), String> {
        for (k, v) in entries {
            let v = v.ok_or_else(|| format!("`{k}` is not an amount"))?;
            self.values
                .push(Some(v))
                .map_err(|e| format!("`{k}`: {e}"))?;
            self.keys.push(Some(k))?;
        }
        self.end_row(true)
    }

    /// Appends a null (a claim that did not settle).
    fn push_null(&mut self) {
        // The end offset is the previous one, which already fits an i32.
        let _ = self.end_row(false);
    }

    fn end_row(&mut self, valid: bool) -> Result<(), String> {
        let end = i32::try_from(self.keys.valid.len)
            .map_err(|_| "more map entries than an Arrow map holds".to_string())?;
        self.valid.push(valid);
        self.offsets.extend_from_slice(&end.to_le_bytes());
        Ok(())
    }

    fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let t = (
            PyBytes::new(py, &self.offsets),
            self.keys.to_py(py)?,
            self.values.to_py(py)?,
            PyBytes::new(py, &self.valid.bits),
            self.valid.nulls,
        );
        Ok(t.into_pyobject(py)?.into_any())
    }
}

/// The exact decimal of a numeric value (money, rate, decimal, integer); `None` otherwise.
fn decimal_of(v: &Value) -> Option<rust_decimal::Decimal> {
    match v {
        Value::Money(m) => Some(m.0),
        Value::Rate(r) => Some(r.0),
        Value::Decimal(d) => Some(*d),
        Value::Int(i) => Some(rust_decimal::Decimal::from(*i)),
        _ => None,
    }
}

/// Replayed claims as columns, one row per claim in input order.
struct Columns {
    settlement: StrCol,
    ruleset: StrCol,
    as_of: StrCol,
    error_code: StrCol,
    error_message: StrCol,
    amounts: Vec<(String, Dec128)>,
    funds: DecMap,
    accumulators: DecMap,
}

impl Columns {
    fn build(amounts: &[String], rows: Vec<ReplayedClaim>) -> Result<Columns, String> {
        let mut c = Columns {
            settlement: StrCol::new(),
            ruleset: StrCol::new(),
            as_of: StrCol::new(),
            error_code: StrCol::new(),
            error_message: StrCol::new(),
            amounts: amounts
                .iter()
                .map(|a| (a.clone(), Dec128::default()))
                .collect(),
            funds: DecMap::new(),
            accumulators: DecMap::new(),
        };
        let mut text = Vec::with_capacity(1024);
        for (i, (id, outcome)) in rows.into_iter().enumerate() {
            let row = |e: String| format!("claim {} of the batch: {e}", i + 1);
            match outcome {
                Ok(Settled {
                    ruleset,
                    settlement: s,
                }) => {
                    text.clear();
                    write_settlement(&mut text, &ruleset, &s, id.as_ref());
                    let settlement = std::str::from_utf8(&text)
                        .map_err(|_| row("the settlement is not UTF-8".into()))?;
                    c.settlement.push(Some(settlement))?;
                    c.ruleset.push(Some(ruleset.name()))?;
                    c.as_of.push(Some(&s.as_of.to_string()))?;
                    c.error_code.push(None)?;
                    c.error_message.push(None)?;
                    for (name, col) in &mut c.amounts {
                        let v = s.outputs.iter().find(|(n, _)| n == name).map(|(_, v)| v);
                        let d = match v {
                            None => None,
                            Some(v) => Some(decimal_of(v).ok_or_else(|| {
                                row(format!("the output `{name}` is not an amount"))
                            })?),
                        };
                        col.push(d).map_err(|e| row(format!("`{name}`: {e}")))?;
                    }
                    let funds = s.funds.iter().map(|(n, m)| (n, Some(m.0)));
                    c.funds
                        .push(funds)
                        .map_err(|e| row(format!("funds: {e}")))?;
                    let accs = s.accumulators.iter().map(|(n, v)| (n, decimal_of(v)));
                    c.accumulators
                        .push(accs)
                        .map_err(|e| row(format!("accumulators: {e}")))?;
                }
                Err(e) => {
                    c.settlement.push(None)?;
                    c.ruleset.push(None)?;
                    c.as_of.push(None)?;
                    c.error_code.push(Some(&e.code))?;
                    c.error_message.push(Some(&e.message))?;
                    for (_, col) in &mut c.amounts {
                        col.push(None)?;
                    }
                    c.funds.push_null();
                    c.accumulators.push_null();
                }
            }
        }
        Ok(c)
    }

    fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("settlement", self.settlement.to_py(py)?)?;
        d.set_item("ruleset", self.ruleset.to_py(py)?)?;
        d.set_item("as_of", self.as_of.to_py(py)?)?;
        d.set_item("error_code", self.error_code.to_py(py)?)?;
        d.set_item("error_message", self.error_message.to_py(py)?)?;
        let amounts = PyDict::new(py);
        for (name, col) in &self.amounts {
            amounts.set_item(name, col.to_py(py)?)?;
        }
        d.set_item("amounts", amounts)?;
        d.set_item("funds", self.funds.to_py(py)?)?;
        d.set_item("accumulators", self.accumulators.to_py(py)?)?;
        Ok(d)
    }
}

/// The settlement as the JSON line `rulec eval --batch` writes (without the newline):
/// `claim_id` first when the claim has one.
fn write_settlement(out: &mut Vec<u8>, rs: &api::Ruleset, s: &Settlement, id: Option<&Json>) {
    rs.write_settlement(s, out);
    if let Some(id) = id {
        let mut head = b"{\"claim_id\":".to_vec();
        // Serialising a `serde_json::Value` into a `Vec` cannot fail.
        let _ = serde_json::to_writer(&mut head, id);
        head.push(b',');
        if out.first() == Some(&b'{') {
            out.splice(0..1, head);
        }
    }
}

/// Replays claims into Arrow-ready columns (see `rulec/arrow.py`, which is the public face):
/// `amounts` names the outputs wanted as `decimal128(18, 2)` columns.
#[pyfunction]
#[pyo3(signature = (target, lines, amounts, *, jobs=None, as_of=None))]
fn _replay_columns<'py>(
    py: Python<'py>,
    target: &Bound<'py, PyAny>,
    lines: &Bound<'py, PyAny>,
    amounts: Vec<String>,
    jobs: Option<usize>,
    as_of: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let target = target_of(target)?;
    let texts = read_all(lines, &target.limits())?;
    replay_into_columns(py, target, texts, amounts, jobs, as_of)
}

/// Replays an Arrow `string` array given by its buffers (`rulec.arrow.replay` passes
/// pyarrow's own: `i32` offsets, UTF-8 data, validity bitmap, and the array's offset and
/// length), so that no Python `str` is made per claim on the way in.
#[pyfunction]
#[pyo3(signature = (target, offsets, data, valid, offset, length, amounts, *, jobs=None, as_of=None))]
#[allow(clippy::too_many_arguments)]
fn _replay_arrow<'py>(
    py: Python<'py>,
    target: &Bound<'py, PyAny>,
    offsets: &[u8],
    data: &[u8],
    valid: Option<&[u8]>,
    offset: usize,
    length: usize,
    amounts: Vec<String>,
    jobs: Option<usize>,
    as_of: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let target = target_of(target)?;
    let bad = || PyValueError::new_err("the Arrow string buffers do not hold the array's rows");
    let at = |j: usize| -> PyResult<usize> {
        let from = j.checked_mul(4).ok_or_else(bad)?;
        let b = offsets.get(from..from + 4).ok_or_else(bad)?;
        let o = i32::from_le_bytes(b.try_into().map_err(|_| bad())?);
        usize::try_from(o).map_err(|_| bad())
    };
    let stop = offset.checked_add(length).ok_or_else(bad)?;
    // Every row has its offset before anything is allocated for the rows.
    at(stop)?;
    let mut texts = Vec::with_capacity(length);
    let mut start = at(offset)?;
    for j in offset..stop {
        let end = at(j + 1)?;
        let present = valid.is_none_or(|v| v.get(j / 8).is_some_and(|b| b & (1 << (j % 8)) != 0));
        let bytes = data.get(start..end).ok_or_else(bad)?;
        start = end;
        texts.push(if present {
            match std::str::from_utf8(bytes) {
                Ok(t) => Ok(t.trim_end_matches(['\n', '\r']).to_string()),
                Err(e) => Err(Refusal::new(
                    Code::InvalidClaim,
                    "",
                    format!("the bytes are not UTF-8 ({e})"),
                )
                .into_out()),
            }
        } else {
            // A null claim is refused as `None` in a list is.
            claim_text(&py.None().into_bound(py), &target.limits()).map_err(Refusal::into_out)
        });
    }
    replay_into_columns(py, target, texts, amounts, jobs, as_of)
}

/// Replays claim texts into columns, without the GIL.
fn replay_into_columns<'py>(
    py: Python<'py>,
    target: Target,
    texts: Vec<Result<String, Box<ErrOut>>>,
    amounts: Vec<String>,
    jobs: Option<usize>,
    as_of: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let opts = parse_as_of(as_of)?;
    let pool = thread_pool(jobs)?;
    let columns = py.detach(move || {
        pool.install(|| Columns::build(&amounts, replay_texts(&target, texts, &opts)))
    });
    columns.map_err(PyValueError::new_err)?.to_py(py)
}

/// A Ruleset, a Router, or a path: a directory with rule files is one ruleset, any other
/// directory a routing root (as `rulec impact BASE REFORM`).
fn target_of(obj: &Bound<'_, PyAny>) -> PyResult<Target> {
    if let Ok(rs) = obj.downcast::<Ruleset>() {
        return Ok(Target::One(rs.get().inner.clone()));
    }
    if let Ok(r) = obj.downcast::<Router>() {
        return Ok(Target::Routed(r.get().inner.clone()));
    }
    let path: PathBuf = obj.extract().map_err(|_| {
        PyTypeError::new_err("expected a rulec.Ruleset, a rulec.Router or a directory path")
    })?;
    let has_rules = std::fs::read_dir(&path)
        .map(|rd| {
            rd.flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "rulec"))
        })
        .map_err(|e| PyValueError::new_err(format!("cannot read `{}`: {e}", path.display())))?;
    if has_rules {
        let py = obj.py();
        let p = path.clone();
        let loaded = py.detach(move || api::Ruleset::load_dir(&p, Limits::default()));
        loaded
            .map(Target::One)
            .map_err(|e| raise(py, *error_out(&e)))
    } else {
        Ok(Target::Routed(Arc::new(api::Router::new(
            &path,
            Limits::default(),
        ))))
    }
}

/// Keys of the impact report whose text values are amounts.
const AMOUNT_KEYS: &[&str] = &["base", "reform", "delta", "min", "max", "from", "to"];

/// The impact report with every amount a decimal.
fn report_out(j: &Json, key: &str) -> Out {
    match j {
        Json::String(s) if AMOUNT_KEYS.contains(&key) || key == "deciles" => {
            let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
            let numeric = !digits.is_empty()
                && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
                && digits.chars().filter(|c| *c == '.').count() <= 1;
            if numeric {
                Out::Dec(s.clone())
            } else {
                Out::Str(s.clone())
            }
        }
        Json::Array(items) => Out::List(items.iter().map(|x| report_out(x, key)).collect()),
        Json::Object(o) => Out::Map(
            o.iter()
                .map(|(k, v)| (k.clone(), report_out(v, k)))
                .collect(),
        ),
        other => json_out(other),
    }
}

/// What a reform costs: replays the claims under `base` and `reform` and compares them, as
/// `rulec impact BASE REFORM CLAIMS --format json`; amounts as `decimal.Decimal`.
#[pyfunction]
#[pyo3(signature = (base, reform, lines, *, top=10, bins=20, jobs=None, as_of=None))]
#[allow(clippy::too_many_arguments)]
fn impact(
    py: Python<'_>,
    base: &Bound<'_, PyAny>,
    reform: &Bound<'_, PyAny>,
    lines: &Bound<'_, PyAny>,
    top: usize,
    bins: usize,
    jobs: Option<usize>,
    as_of: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let (base, reform) = (target_of(base)?, target_of(reform)?);
    let eval = parse_as_of(as_of)?;
    let mut texts = Vec::new();
    for (i, t) in read_all(lines, &base.limits())?.into_iter().enumerate() {
        match t {
            Ok(text) => texts.push(text),
            Err(mut e) => {
                e.input_line = Some(i + 1);
                return Err(raise(py, *e));
            }
        }
    }
    let pool = thread_pool(jobs)?;
    let opts = rulec::impact::Options {
        eval,
        top,
        bins,
        ..Default::default()
    };
    let report = py.detach(move || {
        pool.install(|| {
            rulec::impact::run(base.settler(), reform.settler(), &texts, &opts, &|_| {})
        })
    });
    // A total without an exact value (E0752) is an error, never a rounded report.
    let report = report.map_err(|e| raise(py, *error_out(&e)))?;
    let report =
        serde_json::to_value(&report).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    Ok(to_py(py, report_out(&report, ""))?.unbind())
}

// ---------------------------------------------------------------- Ruleset

/// A checked, compiled ruleset. Load once, share between threads.
#[pyclass(frozen, module = "rulec._rulec")]
struct Ruleset {
    inner: api::Ruleset,
    origin: Origin,
}

enum Origin {
    Dir(PathBuf),
    Sources(String, Vec<(String, String)>),
}

fn load_error(py: Python<'_>, e: &api::Error) -> PyErr {
    raise(py, *error_out(e))
}

#[pymethods]
impl Ruleset {
    /// Loads and checks the ruleset in a directory (with the parents it extends).
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Ruleset> {
        let dir = path.clone();
        let loaded = py.detach(move || api::Ruleset::load_dir(&dir, Limits::default()));
        match loaded {
            Ok(inner) => Ok(Ruleset {
                inner,
                origin: Origin::Dir(path),
            }),
            Err(e) => Err(load_error(py, &e)),
        }
    }

    /// Loads and checks a ruleset from in-memory sources: `{file name: text}`.
    #[staticmethod]
    fn from_sources(
        py: Python<'_>,
        name: String,
        sources: &Bound<'_, PyDict>,
    ) -> PyResult<Ruleset> {
        let sources: Vec<(String, String)> = sources
            .iter()
            .map(|(k, v)| Ok((k.extract::<String>()?, v.extract::<String>()?)))
            .collect::<PyResult<_>>()?;
        let (n, s) = (name.clone(), sources.clone());
        let loaded = py.detach(move || api::Ruleset::load_sources(&n, &s, Limits::default()));
        match loaded {
            Ok(inner) => Ok(Ruleset {
                inner,
                origin: Origin::Sources(name, sources),
            }),
            Err(e) => Err(load_error(py, &e)),
        }
    }

    /// The ruleset's name, from its header.
    #[getter]
    fn name(&self) -> &str {
        self.inner.name()
    }

    /// The warnings of the loaded ruleset (it has no errors, or it would not have loaded).
    fn check(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        match &self.origin {
            Origin::Dir(p) => {
                let p = p.clone();
                let report = py
                    .detach(move || rulec::project::check_ruleset(&p, Limits::default()))
                    .map_err(|e| PyValueError::new_err(e.to_string()))?;
                diagnostics_py(py, report_diagnostics(&report))
            }
            Origin::Sources(name, sources) => {
                let (n, s) = (name.clone(), sources.clone());
                let report = py
                    .detach(move || rulec::project::check_sources(&n, &s, Limits::default()))
                    .map_err(|e| PyValueError::new_err(e.to_string()))?;
                diagnostics_py(py, report_diagnostics(&report))
            }
        }
    }

    /// Settles a claim (`dict` or JSON `str`); returns the settlement, amounts as Decimal.
    #[pyo3(signature = (claim, *, as_of=None))]
    fn evaluate(
        &self,
        py: Python<'_>,
        claim: &Bound<'_, PyAny>,
        as_of: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        evaluate_one(py, &Target::One(self.inner.clone()), claim, as_of)
    }

    /// Settles a claim and explains every amount: the text of `rulec eval --explain`.
    #[pyo3(signature = (claim, *, as_of=None))]
    fn explain(
        &self,
        py: Python<'_>,
        claim: &Bound<'_, PyAny>,
        as_of: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<String> {
        Ok(traced_one(py, &Target::One(self.inner.clone()), claim, as_of)?.1)
    }

    /// Settles a claim and returns `{"settlement": …, "trace": […]}` as `--trace json`.
    #[pyo3(signature = (claim, *, as_of=None))]
    fn trace(
        &self,
        py: Python<'_>,
        claim: &Bound<'_, PyAny>,
        as_of: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let (out, _) = traced_one(py, &Target::One(self.inner.clone()), claim, as_of)?;
        Ok(to_py(py, out)?.unbind())
    }

    /// Settles JSON lines lazily, in order, on `jobs` threads; failures are yielded as
    /// `RuleError` values.
    #[pyo3(signature = (lines, jobs=None, *, as_of=None))]
    fn evaluate_many(
        &self,
        lines: &Bound<'_, PyAny>,
        jobs: Option<usize>,
        as_of: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Settlements> {
        Settlements::new(Target::One(self.inner.clone()), lines, jobs, as_of)
    }

    /// Replays claims as reference-policies §11 says: by `insured.id`, in (settlement_date,
    /// claim_id) order, accumulators threaded by period. Returns a list in input order:
    /// settlements and `RuleError` values.
    #[pyo3(signature = (lines, jobs=None, *, as_of=None))]
    fn replay(
        &self,
        py: Python<'_>,
        lines: &Bound<'_, PyAny>,
        jobs: Option<usize>,
        as_of: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyList>> {
        replay_impl(py, &Target::One(self.inner.clone()), lines, jobs, as_of)
    }

    fn __repr__(&self) -> String {
        format!("<rulec.Ruleset {:?}>", self.inner.name())
    }
}

// ---------------------------------------------------------------- Router

/// Routes each claim to the most specific ruleset under a root by `insured.region`.
#[pyclass(frozen, module = "rulec._rulec")]
struct Router {
    inner: Arc<api::Router>,
    root: PathBuf,
}

#[pymethods]
impl Router {
    /// A router over a directory of rulesets (as `rulec eval --rulesets ROOT`). Each
    /// ruleset loads on first use, once.
    #[staticmethod]
    fn load(root: PathBuf) -> PyResult<Router> {
        if !root.is_dir() {
            return Err(PyValueError::new_err(format!(
                "`{}` is not a directory",
                root.display()
            )));
        }
        Ok(Router {
            inner: Arc::new(api::Router::new(&root, Limits::default())),
            root,
        })
    }

    /// Every error and warning of every ruleset under the root.
    fn check(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        check_paths(py, vec![self.root.clone()])
    }

    /// Settles a claim with its region's ruleset.
    #[pyo3(signature = (claim, *, as_of=None))]
    fn evaluate(
        &self,
        py: Python<'_>,
        claim: &Bound<'_, PyAny>,
        as_of: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        evaluate_one(py, &Target::Routed(self.inner.clone()), claim, as_of)
    }

    /// The `--explain` text of a claim, settled with its region's ruleset.
    #[pyo3(signature = (claim, *, as_of=None))]
    fn explain(
        &self,
        py: Python<'_>,
        claim: &Bound<'_, PyAny>,
        as_of: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<String> {
        Ok(traced_one(py, &Target::Routed(self.inner.clone()), claim, as_of)?.1)
    }

    /// The `--trace json` of a claim, settled with its region's ruleset.
    #[pyo3(signature = (claim, *, as_of=None))]
    fn trace(
        &self,
        py: Python<'_>,
        claim: &Bound<'_, PyAny>,
        as_of: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let (out, _) = traced_one(py, &Target::Routed(self.inner.clone()), claim, as_of)?;
        Ok(to_py(py, out)?.unbind())
    }

    /// Settles JSON lines lazily, in order, each with its region's ruleset.
    #[pyo3(signature = (lines, jobs=None, *, as_of=None))]
    fn evaluate_many(
        &self,
        lines: &Bound<'_, PyAny>,
        jobs: Option<usize>,
        as_of: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Settlements> {
        Settlements::new(Target::Routed(self.inner.clone()), lines, jobs, as_of)
    }

    /// Replays claims as reference-policies §11 says: by `insured.id`, in (settlement_date,
    /// claim_id) order, accumulators threaded by period. Returns a list in input order:
    /// settlements and `RuleError` values.
    #[pyo3(signature = (lines, jobs=None, *, as_of=None))]
    fn replay(
        &self,
        py: Python<'_>,
        lines: &Bound<'_, PyAny>,
        jobs: Option<usize>,
        as_of: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyList>> {
        replay_impl(py, &Target::Routed(self.inner.clone()), lines, jobs, as_of)
    }

    fn __repr__(&self) -> String {
        format!("<rulec.Router {:?}>", self.root.display().to_string())
    }
}

// ---------------------------------------------------------------- evaluate_many

/// One line to settle: its text, or why it has none.
enum Job {
    Text(String),
    Refused(Box<ErrOut>),
}

/// Claims settled per job in one block: large enough to amortize the hand-over, small enough
/// to keep the look-ahead (two blocks) modest.
const BLOCK_PER_JOB: usize = 2048;

/// The lazy iterator `evaluate_many` returns: settlements (dicts) and failures (`RuleError`
/// values), in input order.
#[pyclass(module = "rulec._rulec")]
struct Settlements {
    target: Target,
    opts: EvalOptions,
    source: Py<PyAny>,
    pool: Arc<rayon::ThreadPool>,
    block: usize,
    /// Lines read so far.
    read: usize,
    /// The source is exhausted (or raised: then `source_error` holds the exception).
    exhausted: bool,
    source_error: Option<PyErr>,
    /// Settled, not yet yielded.
    ready: VecDeque<Outcome>,
    /// The block being settled in the background.
    pending: Option<Mutex<mpsc::Receiver<Vec<Outcome>>>>,
}

impl Settlements {
    fn new(
        target: Target,
        lines: &Bound<'_, PyAny>,
        jobs: Option<usize>,
        as_of: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Settlements> {
        let opts = parse_as_of(as_of)?;
        let jobs = match jobs {
            Some(0) => return Err(PyValueError::new_err("jobs must be at least 1")),
            Some(n) => n,
            None => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .thread_name(|i| format!("rulec-{i}"))
            .build()
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start {jobs} threads: {e}")))?;
        Ok(Settlements {
            target,
            opts,
            source: lines.try_iter()?.into_any().unbind(),
            pool: Arc::new(pool),
            block: BLOCK_PER_JOB * jobs,
            read: 0,
            exhausted: false,
            source_error: None,
            ready: VecDeque::new(),
            pending: None,
        })
    }

    /// Reads up to one block of lines from the source, with the GIL.
    fn read_block(&mut self, py: Python<'_>) -> Vec<(usize, Job)> {
        let mut jobs = Vec::new();
        if self.exhausted {
            return jobs;
        }
        let source = self.source.bind(py);
        let limits = self.target.limits();
        while jobs.len() < self.block {
            let item = match source.call_method0("__next__") {
                Ok(item) => item,
                Err(e) => {
                    self.exhausted = true;
                    if !e.is_instance_of::<pyo3::exceptions::PyStopIteration>(py) {
                        self.source_error = Some(e);
                    }
                    break;
                }
            };
            self.read += 1;
            let job = match claim_text(&item, &limits) {
                Ok(mut text) => {
                    let trimmed = text.trim_end_matches(['\n', '\r']).len();
                    text.truncate(trimmed);
                    Job::Text(text)
                }
                Err(r) => Job::Refused(r.into_out()),
            };
            jobs.push((self.read, job));
        }
        jobs
    }

    /// Settles a block on the pool, in the background.
    fn submit(&self, block: Vec<(usize, Job)>) -> Mutex<mpsc::Receiver<Vec<Outcome>>> {
        let (tx, rx) = mpsc::sync_channel(1);
        let target = self.target.clone();
        let opts = self.opts.clone();
        let pool = self.pool.clone();
        self.pool.spawn(move || {
            let n = block.len();
            let work = std::panic::AssertUnwindSafe(|| {
                use rayon::prelude::*;
                pool.install(|| {
                    block
                        .into_par_iter()
                        .with_min_len(64)
                        .map(|(line, job)| settle_job(&target, &opts, line, job))
                        .collect::<Vec<_>>()
                })
            });
            let results = std::panic::catch_unwind(work).unwrap_or_else(|_| {
                (0..n)
                    .map(|_| {
                        Err(Refusal::new(
                            Code::InvalidClaim,
                            "",
                            "internal error: evaluation panicked (please report it)",
                        )
                        .into_out())
                    })
                    .collect()
            });
            let _ = tx.send(results);
        });
        Mutex::new(rx)
    }
}

fn settle_job(target: &Target, opts: &EvalOptions, line: usize, job: Job) -> Outcome {
    let result = match job {
        Job::Refused(e) => Err(e),
        Job::Text(text) if text.trim().is_empty() => {
            Err(Refusal::new(Code::InvalidClaim, "", "empty line").into_out())
        }
        Job::Text(text) => target.settle(&text, opts, true),
    };
    result.map_err(|mut e| {
        e.input_line = Some(line);
        e
    })
}

#[pymethods]
impl Settlements {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(mut slf: PyRefMut<'_, Self>, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        loop {
            if let Some(o) = slf.ready.pop_front() {
                return outcome_to_py(py, o).map(Some);
            }
            let rx = match slf.pending.take() {
                Some(rx) => rx,
                None => {
                    let block = slf.read_block(py);
                    if block.is_empty() {
                        return match slf.source_error.take() {
                            Some(e) => Err(e),
                            None => Ok(None),
                        };
                    }
                    slf.submit(block)
                }
            };
            let results = py.detach(move || {
                rx.lock()
                    .map_err(|_| "a worker thread failed".to_string())
                    .and_then(|r| r.recv().map_err(|_| "a worker thread stopped".to_string()))
            });
            let results = results.map_err(PyRuntimeError::new_err)?;
            slf.ready = results.into();
            // Settle the next block while Python consumes this one.
            let next = slf.read_block(py);
            if !next.is_empty() {
                let rx = slf.submit(next);
                slf.pending = Some(rx);
            }
        }
    }
}

/// The module `rulec._rulec`; `rulec/__init__.py` re-exports it.
#[pymodule]
fn _rulec(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Ruleset>()?;
    m.add_class::<Router>()?;
    m.add_class::<Settlements>()?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(impact, m)?)?;
    m.add_function(wrap_pyfunction!(_replay_columns, m)?)?;
    m.add_function(wrap_pyfunction!(_replay_arrow, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
