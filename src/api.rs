//! The embedding API: load a ruleset once, settle claims from many threads.
//!
//! ```no_run
//! use rulec::api::{Ruleset, EvalOptions};
//! let rs = Ruleset::load_dir("rulesets/sample/city", Default::default()).expect("ruleset checks");
//! let claim = serde_json::json!({ "settlement_date": "2024-06-10" /* … */ });
//! match rs.evaluate(&claim, &EvalOptions::default()) {
//!     Ok(settlement) => println!("{}", rs.settlement_json(&settlement)),
//!     Err(e) => eprintln!("{}", e.render_human()),
//! }
//! ```

use crate::diag::{did_you_mean, render_human, render_json, Code, Diagnostic};
use crate::eval::{num, Eval, Hits, Settlement};
use crate::explain::{render_tree, TraceNode};
use crate::ir;
use crate::limits::Limits;
use crate::project::{check_ruleset, check_sources, CheckReport, RunError};
use crate::source::SourceMap;
use crate::types::Type;
use crate::value::{format_money, Date, Money, MoneyText, Rate, Value};
use serde_json::{json, Map, Value as Json};
use std::path::Path;
use std::sync::Arc;

thread_local! {
    /// Each thread's reusable evaluation memory.
    static SCRATCH: std::cell::RefCell<crate::compile::Scratch> = Default::default();
}

/// A compiled, checked ruleset. Cheap to clone, `Send + Sync`: share it between threads.
#[derive(Clone, Debug)]
pub struct Ruleset {
    ir: Arc<ir::Ruleset>,
    program: Arc<crate::compile::Program>,
    map: Arc<SourceMap>,
    limits: Limits,
    /// Set by the [`Router`] when a claim's region has no ruleset of its own and fell back
    /// to this one (`shandong/binzhuo` → `shandong`): said in a "covers no claim" error.
    fallback: Option<Arc<Fallback>>,
}

/// A region routed to a less specific ruleset than it names.
#[derive(Debug)]
struct Fallback {
    /// `insured.region` as the claim gives it.
    region: String,
    /// A region with a ruleset of its own that the claim's region may misspell.
    suggestion: Option<String>,
}

/// Options of one evaluation.
#[derive(Clone, Debug, Default)]
pub struct EvalOptions {
    /// Evaluate as of this date instead of the date the ruleset takes from the claim.
    pub as_of: Option<Date>,
}

/// Why a ruleset did not load, or a claim did not settle: diagnostics with their sources.
#[derive(Clone, Debug)]
pub struct Error {
    /// The diagnostics (errors first).
    pub diagnostics: Vec<Diagnostic>,
    map: Arc<SourceMap>,
    malformed: bool,
    claim_path: Option<String>,
}

impl Error {
    /// An error from one diagnostic with no source text (e.g. routing).
    pub fn from_diagnostic(d: Diagnostic) -> Error {
        Error {
            diagnostics: vec![d],
            map: Arc::new(SourceMap::new()),
            malformed: false,
            claim_path: None,
        }
    }

    /// An error about the claim at a JSON path (`items[3].unit_price`): see
    /// [`Error::claim_path`]. The diagnostic's message starts with the path.
    pub fn at_claim_path(d: Diagnostic, path: impl Into<String>) -> Error {
        let mut e = Error::from_diagnostic(d);
        let path = path.into();
        e.claim_path = (!path.is_empty()).then_some(path);
        e
    }

    fn one(d: Diagnostic, map: &Arc<SourceMap>) -> Error {
        Error {
            diagnostics: vec![d],
            map: map.clone(),
            malformed: false,
            claim_path: None,
        }
    }

    /// True when the claim's text itself was refused before any ruleset read it: over the
    /// size limit, not UTF-8, not JSON, or a key given twice ([`crate::claim::parse_strict`]).
    /// The CLI prints these in a shorter form (`error[E0710]: …`).
    pub fn is_malformed_claim(&self) -> bool {
        self.malformed
    }

    /// Where in the claim the problem is, as a JSON path (`items[3].unit_price`), when the
    /// claim is at fault at a known place; `None` otherwise (the path also starts the message).
    pub fn claim_path(&self) -> Option<&str> {
        self.claim_path.as_deref()
    }

    /// Rendered for people (no colour).
    pub fn render_human(&self) -> String {
        render_human(&self.diagnostics, &self.map, false)
    }

    /// Rendered as the JSON array of `rulec check --format json`.
    pub fn render_json(&self) -> String {
        render_json(&self.diagnostics, &self.map)
    }

    /// The diagnostics as JSON values.
    pub fn to_json(&self) -> Json {
        serde_json::to_value(crate::diag::to_json(&self.diagnostics, &self.map))
            .unwrap_or(Json::Null)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for d in &self.diagnostics {
            writeln!(f, "{}: {}", d.code, d.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl From<RunError> for Error {
    fn from(e: RunError) -> Error {
        Error {
            diagnostics: vec![Diagnostic::global(Code::RulesetErrors, e.to_string())],
            map: Arc::new(SourceMap::new()),
            malformed: false,
            claim_path: None,
        }
    }
}

pub(crate) fn from_report(mut report: CheckReport, limits: Limits) -> Result<Ruleset, Error> {
    let map = Arc::new(std::mem::take(&mut report.map));
    if report.diags.has_errors() {
        let errors: Vec<Diagnostic> = report
            .diags
            .sorted()
            .into_iter()
            .filter(Diagnostic::is_error)
            .collect();
        let name = report
            .rulesets
            .last()
            .map(|(p, _)| p.display().to_string())
            .unwrap_or_default();
        let mut diagnostics = vec![Diagnostic::global(
            Code::RulesetErrors,
            format!(
                "the ruleset `{name}` has {} error(s) and cannot evaluate claims",
                errors.len()
            ),
        )
        .help("run `rulec check` on it and fix the errors below")];
        diagnostics.extend(errors);
        return Err(Error {
            diagnostics,
            map,
            malformed: false,
            claim_path: None,
        });
    }
    match report.rulesets.pop() {
        Some((_, ir)) => {
            let ir = Arc::new(ir);
            Ok(Ruleset {
                program: Arc::new(crate::compile::Program::new(ir.clone())),
                ir,
                map,
                limits,
                fallback: None,
            })
        }
        None => Err(Error::one(
            Diagnostic::global(Code::NoRuleFiles, "no ruleset found"),
            &map,
        )),
    }
}

impl Ruleset {
    /// Loads and checks the ruleset in a directory (with its parents).
    pub fn load_dir(path: impl AsRef<Path>, limits: Limits) -> Result<Ruleset, Error> {
        let report = check_ruleset(path.as_ref(), limits.clone())?;
        from_report(report, limits)
    }

    /// The rule files it was built from (to read a declaration's text back).
    pub(crate) fn source_map(&self) -> &SourceMap {
        &self.map
    }

    /// Loads and checks a ruleset from in-memory sources `(file name, text)`.
    pub fn load_sources(
        name: &str,
        sources: &[(String, String)],
        limits: Limits,
    ) -> Result<Ruleset, Error> {
        let report = check_sources(name, sources, limits.clone())?;
        from_report(report, limits)
    }

    /// The ruleset's name.
    pub fn name(&self) -> &str {
        &self.ir.name
    }

    /// The compiled form.
    pub fn compiled(&self) -> &ir::Ruleset {
        &self.ir
    }

    /// Settles a claim given as any serializable value.
    pub fn evaluate_value<T: serde::Serialize>(
        &self,
        claim: &T,
        opts: &EvalOptions,
    ) -> Result<Settlement, Error> {
        let j = serde_json::to_value(claim).map_err(|e| {
            Error::one(
                Diagnostic::global(Code::InvalidClaim, e.to_string()),
                &self.map,
            )
        })?;
        self.evaluate(&j, opts)
    }

    /// Settles a claim given as JSON text.
    pub fn evaluate_str(&self, claim: &str, opts: &EvalOptions) -> Result<Settlement, Error> {
        self.evaluate_bytes(claim.as_bytes(), opts)
    }

    /// Parses claim JSON text, exactly and within the limits.
    pub fn parse_claim(&self, text: &str) -> Result<Json, Error> {
        parse_claim_text(text, &self.limits, &self.map)
    }

    /// Settles a claim given as JSON bytes: the claim is read straight into the declared
    /// input's values, with no JSON tree in between (`crate::claim::decode`). This is the
    /// fast path of `rulec eval`, replay and the Python package; it gives the same
    /// settlements and the same diagnostics as [`Ruleset::evaluate`] on the parsed claim.
    pub fn evaluate_bytes(&self, claim: &[u8], opts: &EvalOptions) -> Result<Settlement, Error> {
        let (input, accs) = self.decode(claim)?;
        self.settle_values(input, accs, opts)
    }

    /// Reads claim bytes into the input's value and the running totals (missing = 0).
    fn decode(&self, bytes: &[u8]) -> Result<(Value, Vec<Value>), Error> {
        if bytes.len() > self.limits.max_claim_bytes {
            return Err(too_large(bytes.len(), &self.limits, &self.map));
        }
        match crate::claim::decode(&self.ir, &self.limits, bytes) {
            Ok(Some(d)) => {
                let accs = self
                    .ir
                    .accumulators
                    .iter()
                    .zip(d.accumulators)
                    .map(|(a, v)| v.unwrap_or_else(|| zero_of(&a.ty)))
                    .collect();
                Ok((d.input, accs))
            }
            Ok(None) => self.read(&self.parse_bytes(bytes)?),
            // One diagnostic per cause, the same on every path: the tree reader's.
            Err(fast) => match self.parse_bytes(bytes).and_then(|j| self.read(&j)) {
                Err(e) => Err(e),
                Ok(_) => Err(self.claim_error(fast.code, fast.path, fast.message)),
            },
        }
    }

    fn parse_bytes(&self, bytes: &[u8]) -> Result<Json, Error> {
        parse_claim_bytes(bytes, &self.limits, &self.map)
    }

    /// Settles a claim.
    pub fn evaluate(&self, claim: &Json, opts: &EvalOptions) -> Result<Settlement, Error> {
        let (input, accs) = self.read(claim)?;
        self.settle_values(input, accs, opts)
    }

    /// Settles the input's value with the running totals it starts from.
    fn settle_values(
        &self,
        input: Value,
        accs: Vec<Value>,
        opts: &EvalOptions,
    ) -> Result<Settlement, Error> {
        let as_of = self.as_of(&input, &accs, opts)?;
        SCRATCH.with(|cell| {
            let mut fresh = crate::compile::Scratch::default();
            let mut guard = cell.try_borrow_mut();
            let scratch = match guard.as_deref_mut() {
                Ok(s) => s,
                Err(_) => &mut fresh,
            };
            self.program
                .settle(&input, as_of, &accs, &self.limits, scratch)
                .map_err(|d| self.settle_error(*d))
        })
    }

    /// An error of settling; "covers no claims" says the region it fell back from.
    fn settle_error(&self, mut d: Diagnostic) -> Error {
        if let (Code::NotCovered, Some(f)) = (d.code, &self.fallback) {
            d.message = format!(
                "{}; the claim's region {:?} has no ruleset of its own, so it was routed to `{}`",
                d.message, f.region, self.ir.name
            );
            if let Some(s) = &f.suggestion {
                let help = d.help.take().unwrap_or_default();
                let mut rest = help.chars();
                let help: String = rest
                    .next()
                    .map(|c| c.to_uppercase().chain(rest).collect())
                    .unwrap_or_default();
                d = d.help(format!("did you mean the region `{s}`? {help}"));
            }
        }
        Error::one(d, &self.map)
    }

    /// Settles a claim with the reference tree walker (`eval.rs`) instead of the compiled
    /// program: the two must agree on every claim (`tests/differential.rs`).
    pub fn evaluate_reference(
        &self,
        claim: &Json,
        opts: &EvalOptions,
    ) -> Result<Settlement, Error> {
        let (input, as_of, accs) = self.prepare(claim, opts)?;
        let mut ev: Eval<'_, false> = Eval::new(&self.ir, input, as_of, accs, &self.limits);
        ev.settle().map_err(|d| self.settle_error(*d))
    }

    /// Settles a claim and explains every amount.
    pub fn evaluate_traced(
        &self,
        claim: &Json,
        opts: &EvalOptions,
    ) -> Result<(Settlement, Vec<TraceNode>), Error> {
        let (input, as_of, accs) = self.prepare(claim, opts)?;
        let mut ev: Eval<'_, true> = Eval::new(&self.ir, input, as_of, accs, &self.limits);
        let s = ev.settle().map_err(|d| Error::one(*d, &self.map))?;
        Ok((s, ev.trace.resolved(&self.map)))
    }

    /// Settles a claim on the traced path and returns what it exercised, also when it fails
    /// (`rulec test --coverage`). A claim that does not read exercises nothing.
    pub fn evaluate_hits(
        &self,
        claim: &Json,
        opts: &EvalOptions,
    ) -> (Result<Settlement, Error>, Hits) {
        let (input, as_of, accs) = match self.prepare(claim, opts) {
            Ok(p) => p,
            Err(e) => return (Err(e), Hits::new()),
        };
        let mut ev: Eval<'_, true> = Eval::new(&self.ir, input, as_of, accs, &self.limits);
        let s = ev.settle().map_err(|d| Error::one(*d, &self.map));
        (s, std::mem::take(&mut ev.hits))
    }

    /// Settles a claim and deserializes the settlement JSON into the host's own type.
    pub fn evaluate_into<D: serde::de::DeserializeOwned>(
        &self,
        claim: &Json,
        opts: &EvalOptions,
    ) -> Result<D, Error> {
        let s = self.evaluate(claim, opts)?;
        serde_json::from_value(self.settlement_json(&s)).map_err(|e| {
            Error::one(
                Diagnostic::global(
                    Code::InvalidClaim,
                    format!("the settlement does not fit the host type: {e}"),
                ),
                &self.map,
            )
        })
    }

    fn prepare(
        &self,
        claim: &Json,
        opts: &EvalOptions,
    ) -> Result<(Value, Date, Vec<Value>), Error> {
        let (input, accs) = self.read(claim)?;
        let as_of = self.as_of(&input, &accs, opts)?;
        Ok((input, as_of, accs))
    }

    fn claim_error(&self, code: Code, path: String, message: String) -> Error {
        let text = if path.is_empty() {
            message
        } else {
            format!("{path}: {message}")
        };
        let mut e = Error::one(
            Diagnostic::global(code, text).help("the claim must fit the ruleset's declared input"),
            &self.map,
        );
        e.claim_path = (!path.is_empty()).then_some(path);
        e
    }

    /// Reads parsed claim JSON into the input's value and the running totals (missing = 0;
    /// an undeclared one is refused).
    fn read(&self, claim: &Json) -> Result<(Value, Vec<Value>), Error> {
        crate::claim::read_claim(&self.ir, &self.limits, claim)
            .map_err(|e| self.claim_error(e.code, e.path, e.message))
    }

    /// The evaluation date: `--as-of`, else the ruleset's `as_of` on the claim.
    fn as_of(&self, input: &Value, accs: &[Value], opts: &EvalOptions) -> Result<Date, Error> {
        match (opts.as_of, &self.ir.as_of) {
            (Some(d), _) => Ok(d),
            (None, Some(node)) => {
                let mut ev: Eval<'_, false> = Eval::new(
                    &self.ir,
                    input.clone(),
                    Date::MIN,
                    accs.to_vec(),
                    &self.limits,
                );
                match ev.eval(node) {
                    Ok(Value::Date(d)) => Ok(d),
                    Ok(_) => Err(Error::one(
                        Diagnostic::global(
                            Code::NoEvaluationDate,
                            "the claim gives no evaluation date",
                        ),
                        &self.map,
                    )),
                    Err(d) => Err(Error::one(*d, &self.map)),
                }
            }
            (None, None) => Err(Error::one(
                Diagnostic::global(
                    Code::NoEvaluationDate,
                    "the ruleset declares no `as_of` and no date was given",
                )
                .help("declare `as_of claim.settlement_date`, or pass `--as-of DATE`"),
                &self.map,
            )),
        }
    }

    /// The settlement as JSON: outputs, `funds`, `accumulators`; decimals as strings.
    pub fn settlement_json(&self, s: &Settlement) -> Json {
        let mut m = Map::new();
        m.insert("ruleset".into(), json!(self.ir.name));
        m.insert("as_of".into(), json!(s.as_of.to_string()));
        for (name, v) in &s.outputs {
            m.insert(name.clone(), value_json(v, &self.ir));
        }
        let funds: Map<String, Json> = s
            .funds
            .iter()
            .map(|(n, v)| (n.clone(), json!(format_money(v.0))))
            .collect();
        m.insert("funds".into(), Json::Object(funds));
        let accs: Map<String, Json> = s
            .accumulators
            .iter()
            .map(|(n, v)| (n.clone(), value_json(v, &self.ir)))
            .collect();
        m.insert("accumulators".into(), Json::Object(accs));
        Json::Object(m)
    }

    /// Appends the settlement's JSON to `out` on one line, exactly the text of
    /// `settlement_json(s).to_string()`, without building it: values are formatted straight
    /// into the buffer, so a batch reuses one `Vec<u8>` for every line.
    pub fn write_settlement(&self, s: &Settlement, out: &mut Vec<u8>) {
        self.write_with(s, out, false);
    }

    /// As [`Ruleset::write_settlement`], indented like `serde_json::to_string_pretty`.
    pub fn write_settlement_pretty(&self, s: &Settlement, out: &mut Vec<u8>) {
        self.write_with(s, out, true);
    }

    fn write_with(&self, s: &Settlement, out: &mut Vec<u8>, pretty: bool) {
        let start = out.len();
        let view = SettlementJson { rs: &self.ir, s };
        let written = if !view.plain() {
            Err(None)
        } else if pretty {
            serde_json::to_writer_pretty(&mut *out, &view).map_err(Some)
        } else {
            serde_json::to_writer(&mut *out, &view).map_err(Some)
        };
        if written.is_err() {
            // An output named like a settlement key (`funds`, …) replaces it in place, as
            // the map of `settlement_json` does: that rare shape goes through the map.
            out.truncate(start);
            let j = self.settlement_json(s);
            let text = if pretty {
                serde_json::to_string_pretty(&j)
            } else {
                serde_json::to_string(&j)
            };
            out.extend_from_slice(text.unwrap_or_default().as_bytes());
        }
    }

    /// Renders an explanation for people.
    pub fn render_explanation(&self, trace: &[TraceNode]) -> String {
        render_tree(trace)
    }
}

/// A running total the claim does not carry starts at zero.
fn zero_of(ty: &Type) -> Value {
    match ty {
        Type::Money => Value::Money(Money::default()),
        Type::Rate => Value::Rate(Rate::default()),
        Type::Int => Value::Int(0),
        _ => Value::Decimal(rust_decimal::Decimal::ZERO),
    }
}

fn too_large(len: usize, limits: &Limits, map: &Arc<SourceMap>) -> Error {
    let mut e = Error::one(
        Diagnostic::global(
            Code::ClaimTooLarge,
            format!(
                "the claim is {len} bytes, over the limit of {}",
                limits.max_claim_bytes
            ),
        ),
        map,
    );
    e.malformed = true;
    e
}

/// Parses claim text strictly ([`crate::claim::parse_strict`]) within the size limit.
fn parse_claim_text(text: &str, limits: &Limits, map: &Arc<SourceMap>) -> Result<Json, Error> {
    if text.len() > limits.max_claim_bytes {
        return Err(too_large(text.len(), limits, map));
    }
    crate::claim::parse_strict(text).map_err(|e| {
        let text = if e.path.is_empty() {
            e.message
        } else {
            format!("{}: {}", e.path, e.message)
        };
        let mut err = Error::one(
            Diagnostic::global(e.code, text)
                .help("the claim is one JSON object; see docs/claim-schema.md"),
            map,
        );
        err.malformed = true;
        err.claim_path = (!e.path.is_empty()).then_some(e.path);
        err
    })
}

/// As [`parse_claim_text`], for bytes that must be UTF-8.
fn parse_claim_bytes(bytes: &[u8], limits: &Limits, map: &Arc<SourceMap>) -> Result<Json, Error> {
    if bytes.len() > limits.max_claim_bytes {
        return Err(too_large(bytes.len(), limits, map));
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_claim_text(text, limits, map),
        Err(e) => {
            let mut e = Error::one(
                Diagnostic::global(
                    Code::InvalidClaim,
                    format!(
                        "the claim is not valid UTF-8 (bad byte at offset {})",
                        e.valid_up_to()
                    ),
                )
                .help("the claim is one JSON object in UTF-8; see docs/claim-schema.md"),
                map,
            );
            e.malformed = true;
            Err(e)
        }
    }
}

/// Picks the most specific ruleset under a root directory for a claim's `insured.region`
/// (`shandong/binzhou` → `ROOT/shandong/binzhou`, else `ROOT/shandong`), loading each once.
/// A router reads the tree as it first finds it: a ruleset added or edited afterwards is seen
/// by a new router, not by this one.
#[derive(Debug)]
pub struct Router {
    root: std::path::PathBuf,
    limits: Limits,
    cache: std::sync::Mutex<std::collections::HashMap<std::path::PathBuf, Result<Ruleset, Error>>>,
    /// What each region seen lately routed to, so that a batch does not list directories
    /// for every claim. Regions are claim input: the memo is cleared when it holds
    /// [`REGION_MEMO`] of them, so it never grows without bound.
    regions: std::sync::Mutex<rustc_hash::FxHashMap<Box<str>, Result<Ruleset, Error>>>,
    /// One loader for every ruleset routed to: a parent's files are read once and its
    /// catalogs built once, shared by its children (`Arc`).
    loader: std::sync::Mutex<Option<crate::load::Loader>>,
}

impl Router {
    /// A router over `root`.
    pub fn new(root: impl AsRef<Path>, limits: Limits) -> Router {
        let mut loader = crate::load::Loader::new(limits.clone());
        loader.catalogs.on = true;
        Router {
            root: root.as_ref().to_path_buf(),
            limits,
            cache: Default::default(),
            regions: Default::default(),
            loader: std::sync::Mutex::new(Some(loader)),
        }
    }

    /// The ruleset for a claim.
    pub fn route(&self, claim: &Json) -> Result<Ruleset, Error> {
        let region = claim
            .get("insured")
            .and_then(|i| i.get("region"))
            .and_then(Json::as_str)
            .unwrap_or("");
        self.route_region(region)
    }

    /// The ruleset for a claim given as JSON bytes: a light pass over the text reads
    /// `insured.region` alone, with no JSON tree. A claim that is not JSON, or whose text
    /// the strict parser refuses, gets the same diagnostic as [`Router::route`] after
    /// [`crate::claim::parse_strict`] would give.
    pub fn route_bytes(&self, claim: &[u8]) -> Result<Ruleset, Error> {
        self.route_peeked(claim, crate::claim::peek(claim).as_ref())
    }

    /// As [`Router::route_bytes`], for a caller that has already peeked at the claim
    /// ([`crate::claim::peek`]; `None` when the peek failed), so that the claim is not
    /// scanned again.
    pub fn route_peeked(
        &self,
        claim: &[u8],
        peek: Option<&crate::claim::Peek<'_>>,
    ) -> Result<Ruleset, Error> {
        if claim.len() > self.limits.max_claim_bytes {
            let map = Arc::new(SourceMap::new());
            return Err(too_large(claim.len(), &self.limits, &map));
        }
        let map = || Arc::new(SourceMap::new());
        match peek {
            Some(peek) => {
                match self.route_region(peek.region.as_deref().unwrap_or("")) {
                    Ok(rs) => Ok(rs),
                    // A claim the strict parser refuses is reported as such, first.
                    Err(e) => match parse_claim_bytes(claim, &self.limits, &map()) {
                        Err(parse) => Err(parse),
                        Ok(_) => Err(e),
                    },
                }
            }
            None => self.route(&parse_claim_bytes(claim, &self.limits, &map())?),
        }
    }

    /// The ruleset for a region `province/city` (the most specific one with rules).
    pub fn route_region(&self, region: &str) -> Result<Ruleset, Error> {
        let memo = || self.regions.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = memo().get(region) {
            return r.clone();
        }
        let routed = self.resolve_region(region);
        let mut regions = memo();
        if regions.len() >= REGION_MEMO {
            regions.clear();
        }
        regions.insert(region.into(), routed.clone());
        routed
    }

    /// Finds and loads the ruleset for a region (the directories are listed every time).
    fn resolve_region(&self, region: &str) -> Result<Ruleset, Error> {
        let parts: Vec<&str> = region
            .split('/')
            .filter(|p| !p.is_empty() && *p != "." && *p != "..")
            .collect();
        let found = (1..=parts.len()).rev().find_map(|n| {
            let dir = parts
                .iter()
                .take(n)
                .fold(self.root.clone(), |p, x| p.join(x));
            has_rules(&dir).then_some((n, dir))
        });
        let Some((used, dir)) = found else {
            return Err(Error::from_diagnostic(
                Diagnostic::global(Code::NoRuleset, format!("no ruleset under `{}` serves the region {region:?}", self.root.display()))
                    .help("`insured.region` is \"province/city\" or a municipality; its ruleset lives in DIR/province/city or DIR/province"),
            ));
        };
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let routed = cache
            .entry(dir.clone())
            .or_insert_with(|| self.load_shared(&dir))
            .clone();
        drop(cache);
        // A region more specific than its ruleset (a city without rules of its own, or a
        // misspelled one): said, with a "did you mean", if the claim is not covered.
        let missing = match parts.get(used) {
            Some(m) if used < parts.len() => *m,
            _ => return routed,
        };
        let subdirs: Vec<String> = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| has_rules(&e.path()))
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let trimmed = missing.trim();
        let suggestion = subdirs
            .iter()
            .find(|s| s.as_str() == trimmed)
            .map(String::as_str)
            .or_else(|| did_you_mean(trimmed, subdirs.iter().map(String::as_str)))
            .map(|s| {
                let mut p: Vec<&str> = parts.iter().take(used).copied().collect();
                p.push(s);
                p.join("/")
            });
        routed.map(|mut rs| {
            rs.fallback = Some(Arc::new(Fallback {
                region: region.to_string(),
                suggestion,
            }));
            rs
        })
    }

    /// Loads a ruleset through the router's shared loader.
    fn load_shared(&self, dir: &Path) -> Result<Ruleset, Error> {
        let mut slot = self.loader.lock().unwrap_or_else(|e| e.into_inner());
        let loader = slot.take().unwrap_or_else(|| {
            let mut l = crate::load::Loader::new(self.limits.clone());
            l.catalogs.on = true;
            l
        });
        let (loader, report) = crate::project::check_ruleset_shared(loader, dir, Some(&self.root));
        *slot = Some(loader);
        from_report(report?, self.limits.clone())
    }
}

/// How many regions [`Router::route_region`] remembers before it starts over.
const REGION_MEMO: usize = 4096;

fn has_rules(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten().any(|e| {
                e.path()
                    .extension()
                    .is_some_and(|x| x == crate::load::RULE_EXT)
            })
        })
        .unwrap_or(false)
}

/// A settlement serialized in place of [`Ruleset::settlement_json`].
struct SettlementJson<'a> {
    rs: &'a ir::Ruleset,
    s: &'a Settlement,
}

impl SettlementJson<'_> {
    /// True when every key is written once (no output takes a reserved or repeated name).
    fn plain(&self) -> bool {
        let reserved = ["ruleset", "as_of", "funds", "accumulators"];
        let outputs = &self.s.outputs;
        outputs.iter().enumerate().all(|(i, (n, _))| {
            !reserved.contains(&n.as_str())
                && outputs.iter().skip(i + 1).all(|(other, _)| other != n)
        }) && self
            .s
            .funds
            .iter()
            .enumerate()
            .all(|(i, (n, _))| self.s.funds.iter().skip(i + 1).all(|(other, _)| other != n))
            && self.s.accumulators.iter().enumerate().all(|(i, (n, _))| {
                self.s
                    .accumulators
                    .iter()
                    .skip(i + 1)
                    .all(|(other, _)| other != n)
            })
    }
}

impl serde::Serialize for SettlementJson<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let s = self.s;
        let mut m = ser.serialize_map(Some(4 + s.outputs.len()))?;
        m.serialize_entry("ruleset", &self.rs.name)?;
        m.serialize_entry("as_of", &Shown(&s.as_of))?;
        for (name, v) in &s.outputs {
            m.serialize_entry(name, &ValueJson { v, rs: self.rs })?;
        }
        m.serialize_entry("funds", &Funds(&s.funds))?;
        m.serialize_entry(
            "accumulators",
            &Named {
                entries: &s.accumulators,
                rs: self.rs,
            },
        )?;
        m.end()
    }
}

/// A value written as a JSON string through its `Display`, with no `String` in between.
struct Shown<'a, T: std::fmt::Display>(&'a T);

impl<T: std::fmt::Display> serde::Serialize for Shown<'_, T> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_str(self.0)
    }
}

struct Funds<'a>(&'a [(String, Money)]);

impl serde::Serialize for Funds<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = ser.serialize_map(Some(self.0.len()))?;
        for (n, v) in self.0 {
            m.serialize_entry(n, &Shown(&MoneyText(v.0)))?;
        }
        m.end()
    }
}

struct Named<'a> {
    entries: &'a [(String, Value)],
    rs: &'a ir::Ruleset,
}

impl serde::Serialize for Named<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = ser.serialize_map(Some(self.entries.len()))?;
        for (n, v) in self.entries {
            m.serialize_entry(n, &ValueJson { v, rs: self.rs })?;
        }
        m.end()
    }
}

/// A value serialized as [`value_json`] builds it.
struct ValueJson<'a> {
    v: &'a Value,
    rs: &'a ir::Ruleset,
}

impl serde::Serialize for ValueJson<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        let rs = self.rs;
        match self.v {
            Value::Money(m) => ser.collect_str(&MoneyText(m.0)),
            Value::Rate(_) | Value::Decimal(_) => ser.collect_str(&num(self.v).normalize()),
            Value::Int(i) => ser.serialize_i64(*i),
            Value::Bool(b) => ser.serialize_bool(*b),
            Value::Date(d) => ser.collect_str(d),
            Value::Text(t) => ser.serialize_str(t),
            Value::Enum(e, i) => ser.serialize_str(
                rs.enums
                    .get(*e as usize)
                    .and_then(|en| en.variants.get(*i as usize))
                    .map_or("", String::as_str),
            ),
            Value::List(items) | Value::Record(items) => {
                let mut seq = ser.serialize_seq(Some(items.len()))?;
                for v in items.iter() {
                    seq.serialize_element(&ValueJson { v, rs })?;
                }
                seq.end()
            }
            Value::None => ser.serialize_unit(),
            Value::Row(c, i) => {
                let Some((cat, row)) = rs
                    .catalogs
                    .get(*c as usize)
                    .and_then(|cat| cat.rows.get(*i as usize).map(|row| (cat, row)))
                else {
                    return ser.serialize_unit();
                };
                let n = cat.columns.len().min(row.cells.len());
                let mut m = ser.serialize_map(Some(n))?;
                for (c, v) in cat.columns.iter().zip(&row.cells) {
                    m.serialize_entry(&c.name, &ValueJson { v, rs })?;
                }
                m.end()
            }
        }
    }
}

/// A value as settlement JSON: money as a string with two decimals, rates and decimals as
/// decimal strings, enums by name.
pub fn value_json(v: &Value, rs: &ir::Ruleset) -> Json {
    match v {
        Value::Money(m) => json!(format_money(m.0)),
        Value::Rate(_) | Value::Decimal(_) => json!(num(v).normalize().to_string()),
        Value::Int(i) => json!(i),
        Value::Bool(b) => json!(b),
        Value::Date(d) => json!(d.to_string()),
        Value::Text(t) => json!(&**t),
        Value::Enum(e, i) => json!(rs
            .enums
            .get(*e as usize)
            .and_then(|en| en.variants.get(*i as usize))
            .cloned()
            .unwrap_or_default()),
        Value::List(items) => Json::Array(items.iter().map(|x| value_json(x, rs)).collect()),
        Value::Record(fields) => Json::Array(fields.iter().map(|x| value_json(x, rs)).collect()),
        Value::None => Json::Null,
        Value::Row(c, i) => {
            let Some(cat) = rs.catalogs.get(*c as usize) else {
                return Json::Null;
            };
            let Some(row) = cat.rows.get(*i as usize) else {
                return Json::Null;
            };
            Json::Object(
                cat.columns
                    .iter()
                    .zip(&row.cells)
                    .map(|(c, v)| (c.name.clone(), value_json(v, rs)))
                    .collect(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn ruleset_is_send_and_sync() {
        assert_send_sync::<super::Ruleset>();
    }
}
