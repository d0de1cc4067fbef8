//! Impact analysis (`rulec impact`): what a reform of the rules costs over a set of claims.
//!
//! Every claim is replayed (`crate::replay`) under the base rules and under the reform, each
//! side threading its own accumulators, so a higher cap also changes the person's later
//! claims. The [`Report`] counts claims and persons, totals every fund and the settlement's
//! `fund_pays`, `patient_pays` and `hospital_absorbs` on both sides, describes the
//! distribution of the per-claim and per-person deltas, explains the largest changes from the
//! two derivations (`crate::explain`), and lists every claim that failed, with its line, side
//! and code. A claim that fails on either side counts in neither side's totals, so the two
//! totals always cover the same claims.
//!
//! Persons are independent: they are settled in parallel (rayon), and memory holds the
//! claims' text and a few numbers per claim, never a parsed claim or a settlement beyond the
//! one being settled.

use crate::api::{Error, EvalOptions};
use crate::diag::Code;
use crate::eval::{num, Settlement};
use crate::explain::TraceNode;
use crate::replay::{order_key, plan, OrderKey, Person, ReplayClaim, Settle, Settled};
use crate::value::{exact_add, exact_mul, exact_sub, format_money};
use indexmap::IndexMap;
use rayon::prelude::*;
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};
use serde_json::Value as Json;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Options of an impact run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Evaluation options of both sides.
    pub eval: EvalOptions,
    /// How many claims to explain, largest |delta| first.
    pub top: usize,
    /// Number of histogram bins (at most).
    pub bins: usize,
    /// Largest claim, in bytes.
    pub max_claim_bytes: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            eval: EvalOptions::default(),
            top: 10,
            bins: 20,
            max_claim_bytes: crate::limits::Limits::default().max_claim_bytes,
        }
    }
}

/// An exact amount, written as a decimal string.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(pub Decimal);

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_money(self.0))
    }
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_money(self.0))
    }
}

/// A total on both sides.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Compare {
    /// Under the base rules.
    pub base: Amount,
    /// Under the reform.
    pub reform: Amount,
    /// `reform − base`.
    pub delta: Amount,
}

impl Compare {
    /// Adds one claim's (or one part's) amounts, exactly. Returns the sides whose sum has
    /// no exact value (`base`, `reform`); then the totals are left as they were.
    fn add(&mut self, base: Decimal, reform: Decimal) -> Vec<&'static str> {
        match (
            exact_add(self.base.0, base),
            exact_add(self.reform.0, reform),
        ) {
            (Ok(b), Ok(r)) => {
                self.base.0 = b;
                self.reform.0 = r;
                Vec::new()
            }
            (b, r) => [("base", b.is_err()), ("reform", r.is_err())]
                .into_iter()
                .filter_map(|(side, bad)| bad.then_some(side))
                .collect(),
        }
    }

    /// Sets `delta = reform − base`, exactly, or says it has no exact value.
    fn settle_delta(&mut self) -> Result<(), &'static str> {
        self.delta.0 = exact_sub(self.reform.0, self.base.0).map_err(|_| "delta")?;
        Ok(())
    }
}

/// One bin of a histogram: `[from, to)`, the last one closed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bin {
    /// Lower bound.
    pub from: Amount,
    /// Upper bound.
    pub to: Amount,
    /// How many fall in it.
    #[serde(rename = "claims")]
    pub count: usize,
}

/// How a set of deltas is spread.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Distribution {
    /// How many deltas.
    pub count: usize,
    /// How many are not zero.
    pub nonzero: usize,
    /// The smallest.
    pub min: Amount,
    /// The largest.
    pub max: Amount,
    /// The 10th, 20th, …, 90th percentiles (nearest rank).
    pub deciles: Vec<Amount>,
    /// Equal-width bins with round edges from `min` to `max`.
    pub histogram: Vec<Bin>,
}

/// A value that differs between the two derivations of one claim.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// `param`, `table`, `catalog`, `series`, `bands`, `accumulator before this claim`, or
    /// a definition whose text the reform changed (`def`, `fund`, `output`; `base` and
    /// `reform` are then its results).
    pub kind: String,
    /// Its name or look-up (`pooling_cap[active]`).
    pub name: String,
    /// Under the base rules (absent when the base derivation does not use it).
    pub base: Option<Version>,
    /// Under the reform.
    pub reform: Option<Version>,
}

/// A value as one derivation used it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Version {
    /// The value.
    pub value: String,
    /// The version's period.
    pub period: Option<String>,
    /// Its citation.
    pub cite: Option<String>,
    /// Rule file.
    pub file: Option<String>,
    /// Line in it.
    pub line: Option<usize>,
}

/// One of the claims that changed most.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Top {
    /// Line in the input.
    pub line: usize,
    /// `claim_id`.
    pub claim_id: String,
    /// `insured.id`.
    pub insured: String,
    /// `fund_pays` under the base rules.
    pub base: Amount,
    /// `fund_pays` under the reform.
    pub reform: Amount,
    /// `reform − base`.
    pub delta: Amount,
    /// The values whose versions or numbers differ on its derivation.
    pub changes: Vec<Change>,
}

/// A claim that failed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Failure {
    /// Line in the input.
    pub line: usize,
    /// `claim_id`, when known.
    pub claim_id: Option<String>,
    /// `insured.id`, when known.
    pub insured: Option<String>,
    /// `base`, `reform`, or `both` (also for a claim that cannot be read or replayed).
    pub side: &'static str,
    /// The diagnostic code.
    pub code: String,
    /// Its message.
    pub message: String,
}

/// A person whose total changed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PersonDelta {
    /// `insured.id`.
    pub insured: String,
    /// Claims settled on both sides.
    pub claims: usize,
    /// Sum of the claims' deltas of `fund_pays`.
    pub delta: Amount,
}

/// The result of an impact run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Report {
    /// Claims in the input (every line).
    pub claims: usize,
    /// Claims settled on both sides with a different settlement.
    pub claims_changed: usize,
    /// Claims that failed on either side, or could not be read or replayed.
    pub claims_failed: usize,
    /// Insured persons.
    pub insured: usize,
    /// Persons with at least one changed claim.
    pub insured_affected: usize,
    /// Each fund, base and reform: those of the claims settled on both sides, and every fund
    /// of a ruleset given as a directory (0.00 when no claim paid from it).
    pub funds: IndexMap<String, Compare>,
    /// `fund_pays`, `patient_pays`, `hospital_absorbs`, always all three (0.00 when no claim
    /// settled on both sides, or when the rules declare no such output).
    pub totals: IndexMap<String, Compare>,
    /// Per-claim deltas of `fund_pays`.
    pub deltas: Distribution,
    /// Per-person deltas of `fund_pays`.
    pub insured_deltas: Distribution,
    /// The persons who gain most and lose most (largest |delta| first).
    pub insured_top: Vec<PersonDelta>,
    /// The claims with the largest |delta|.
    pub top: Vec<Top>,
    /// Every claim that failed.
    pub failed: Vec<Failure>,
}

const TOTALS: [&str; 3] = ["fund_pays", "patient_pays", "hospital_absorbs"];

/// What a settlement contributes: each fund, and the three totals.
struct Amounts {
    funds: Vec<(String, Decimal)>,
    totals: [Option<Decimal>; 3],
}

/// The settlement's amounts; `Err` when it declares no `fund_pays` and the sum of its funds
/// has no exact value.
fn amounts(s: &Settlement) -> Result<Amounts, crate::value::Inexact> {
    let funds: Vec<(String, Decimal)> = s.funds.iter().map(|(n, m)| (n.clone(), m.0)).collect();
    let output = |name: &str| {
        s.outputs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| num(v))
    };
    let fund_pays = match output("fund_pays") {
        Some(d) => d,
        None => funds
            .iter()
            .try_fold(Decimal::ZERO, |sum, (_, d)| exact_add(sum, *d))?,
    };
    Ok(Amounts {
        totals: [
            Some(fund_pays),
            output("patient_pays"),
            output("hospital_absorbs"),
        ],
        funds,
    })
}

/// The partial result of some persons.
#[derive(Default)]
struct Acc {
    funds: IndexMap<String, Compare>,
    totals: [Option<Compare>; 3],
    deltas: Vec<Decimal>,
    changed: usize,
    persons: Vec<(usize, Decimal, usize, bool)>,
    top: Vec<(Decimal, usize)>,
    failed: Vec<Failure>,
    /// The sums that have no exact value (`E0752`), by name; once one is here, the run's
    /// result is an error, never a rounded total.
    inexact: BTreeSet<String>,
}

impl Acc {
    /// Adds to a fund's totals, or notes which one has no exact value.
    fn add_fund(&mut self, name: &str, base: Decimal, reform: Decimal) {
        let slot = self.funds.entry(name.to_string()).or_default();
        for side in slot.add(base, reform) {
            self.inexact.insert(format!("funds.{name}.{side}"));
        }
    }

    /// Adds to one of [`TOTALS`], or notes which one has no exact value.
    fn add_total(&mut self, k: usize, base: Decimal, reform: Decimal) {
        let Some(slot) = self.totals.get_mut(k) else {
            return;
        };
        for side in slot.get_or_insert_with(Compare::default).add(base, reform) {
            let name = TOTALS.get(k).copied().unwrap_or_default();
            self.inexact.insert(format!("totals.{name}.{side}"));
        }
    }

    fn merge(mut self, other: Acc, top: usize) -> Acc {
        for (n, c) in other.funds {
            self.add_fund(&n, c.base.0, c.reform.0);
        }
        for (k, theirs) in other.totals.into_iter().enumerate() {
            if let Some(t) = theirs {
                self.add_total(k, t.base.0, t.reform.0);
            }
        }
        self.inexact.extend(other.inexact);
        self.deltas.extend(other.deltas);
        self.changed += other.changed;
        self.persons.extend(other.persons);
        self.top.extend(other.top);
        keep_top(&mut self.top, top);
        self.failed.extend(other.failed);
        self
    }
}

fn keep_top(v: &mut Vec<(Decimal, usize)>, n: usize) {
    if v.len() > n.saturating_mul(2).max(64) {
        v.sort_by(|a, b| b.0.abs().cmp(&a.0.abs()).then(a.1.cmp(&b.1)));
        v.truncate(n);
    }
}

/// One claim of the input: its text, and where it stands in replay.
struct Line<'t> {
    text: &'t str,
    key: Result<OrderKey, Error>,
}

/// Reads the replay order of a claim without building it: a light pass over its JSON for
/// `insured.id`, `settlement_date` and `claim_id`; on any doubt the strict parser decides.
fn read_key(text: &str, max: usize) -> Result<OrderKey, Error> {
    #[derive(serde::Deserialize)]
    struct Ins {
        id: Option<Json>,
    }
    #[derive(serde::Deserialize)]
    struct Keys {
        claim_id: Option<Json>,
        settlement_date: Option<Json>,
        insured: Option<Ins>,
    }
    if let Some(why) = text.strip_prefix('\u{0}') {
        return Err(claim_error(Code::InvalidClaim, why.to_string()));
    }
    if text.trim().is_empty() {
        return Err(claim_error(Code::InvalidClaim, "empty line".into()));
    }
    if text.len() > max {
        return Err(claim_error(
            Code::ClaimTooLarge,
            format!("the claim is {} bytes, over the limit of {max}", text.len()),
        ));
    }
    match serde_json::from_str::<Keys>(text) {
        Ok(k) => {
            let mut o = serde_json::Map::new();
            let mut put = |name: &str, v: Option<Json>| {
                if let Some(v) = v {
                    o.insert(name.into(), v);
                }
            };
            put("claim_id", k.claim_id);
            put("settlement_date", k.settlement_date);
            let mut ins = serde_json::Map::new();
            if let Some(id) = k.insured.and_then(|i| i.id) {
                ins.insert("id".into(), id);
            }
            o.insert("insured".into(), Json::Object(ins));
            order_key(&Json::Object(o))
        }
        Err(_) => order_key(&parse(text)?),
    }
}

fn parse(text: &str) -> Result<Json, Error> {
    crate::claim::parse_strict(text).map_err(|e| claim_error(e.code, e.to_string()))
}

fn claim_error(code: Code, message: String) -> Error {
    Error::from_diagnostic(
        crate::diag::Diagnostic::global(code, message)
            .help("each line of the input is one claim (docs/claim-schema.md)"),
    )
}

fn claim_insured(c: &ReplayClaim) -> Option<&str> {
    c.json()
        .get("insured")
        .and_then(|i| i.get("id"))
        .and_then(Json::as_str)
}

fn failure(line: usize, claim: Option<&ReplayClaim>, side: &'static str, e: &Error) -> Failure {
    let d = e.diagnostics.first();
    Failure {
        line,
        claim_id: claim.and_then(|c| c.claim_id()).map(str::to_string),
        insured: claim.and_then(claim_insured).map(str::to_string),
        side,
        code: d.map(|d| d.code.as_str().to_string()).unwrap_or_default(),
        message: d.map(|d| d.message.clone()).unwrap_or_default(),
    }
}

/// Replays one person's claims on both sides.
fn person(
    base: &dyn Settle,
    reform: &dyn Settle,
    lines: &[Line<'_>],
    claims: &[usize],
    opts: &Options,
    acc: &mut Acc,
) {
    let mut b = Person::new();
    let mut r = Person::new();
    let mut person_delta = Decimal::ZERO;
    let mut settled = 0;
    let mut affected = false;
    for &i in claims {
        let Some(line) = lines.get(i) else { continue };
        let n = i + 1;
        let json = match parse(line.text) {
            Ok(j) => j,
            Err(e) => {
                acc.failed.push(failure(n, None, "both", &e));
                continue;
            }
        };
        let mut claim = ReplayClaim::new(n, json);
        let sb = b.settle(base, &mut claim, &opts.eval);
        let sr = r.settle(reform, &mut claim, &opts.eval);
        let (sb, sr) = match (sb, sr) {
            (Ok(x), Ok(y)) => (x, y),
            (Err(x), Err(y)) => {
                let same = x.diagnostics.first().map(|d| (d.code, &d.message))
                    == y.diagnostics.first().map(|d| (d.code, &d.message));
                if same {
                    acc.failed.push(failure(n, Some(&claim), "both", &x));
                } else {
                    acc.failed.push(failure(n, Some(&claim), "base", &x));
                    acc.failed.push(failure(n, Some(&claim), "reform", &y));
                }
                continue;
            }
            (Err(x), Ok(_)) => {
                acc.failed.push(failure(n, Some(&claim), "base", &x));
                continue;
            }
            (Ok(_), Err(y)) => {
                acc.failed.push(failure(n, Some(&claim), "reform", &y));
                continue;
            }
        };
        let (ab, ar) = match (amounts(&sb.settlement), amounts(&sr.settlement)) {
            (Ok(x), Ok(y)) => (x, y),
            (x, _) => {
                let side = if x.is_err() { "base" } else { "reform" };
                acc.inexact
                    .insert(format!("the sum of the funds of line {n} ({side})"));
                continue;
            }
        };
        let mut changed = false;
        for (name, v) in &ab.funds {
            let w = ar
                .funds
                .iter()
                .find(|(m, _)| m == name)
                .map(|(_, w)| *w)
                .unwrap_or_default();
            changed |= *v != w;
            acc.add_fund(name, *v, w);
        }
        for (name, w) in &ar.funds {
            if !ab.funds.iter().any(|(m, _)| m == name) {
                changed |= !w.is_zero();
                acc.add_fund(name, Decimal::ZERO, *w);
            }
        }
        for (k, (x, y)) in ab.totals.iter().zip(&ar.totals).enumerate() {
            if x.is_some() || y.is_some() {
                let (x, y) = (x.unwrap_or_default(), y.unwrap_or_default());
                changed |= x != y;
                acc.add_total(k, x, y);
            }
        }
        let (fb, fr) = (
            ab.totals[0].unwrap_or_default(),
            ar.totals[0].unwrap_or_default(),
        );
        let Ok(delta) = exact_sub(fr, fb) else {
            acc.inexact
                .insert(format!("the delta of fund_pays on line {n}"));
            continue;
        };
        acc.deltas.push(delta);
        match exact_add(person_delta, delta) {
            Ok(d) => person_delta = d,
            Err(_) => {
                acc.inexact.insert(format!(
                    "the delta of fund_pays of insured `{}`",
                    claim_insured(&claim).unwrap_or_default()
                ));
            }
        }
        settled += 1;
        if changed {
            acc.changed += 1;
            affected = true;
        }
        if !delta.is_zero() {
            acc.top.push((delta, i));
            keep_top(&mut acc.top, opts.top);
        }
    }
    if let Some(&first) = claims.first() {
        acc.persons.push((first, person_delta, settled, affected));
    }
}

/// Runs an impact analysis over claims given as JSON Lines text (one claim per line).
/// `progress` is called with the number of claims settled so far, from any thread.
///
/// Every total, delta and sum is exact. When one has no exact value (it is beyond a
/// decimal's 28 digits), the run is refused with `E0752`, naming the sums concerned: a
/// rounded total is never reported. A claim's own failures are in [`Report::failed`].
pub fn run(
    base: &dyn Settle,
    reform: &dyn Settle,
    lines: &[impl AsRef<str> + Sync],
    opts: &Options,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Report, Error> {
    let lines: Vec<Line<'_>> = lines
        .par_iter()
        .map(|l| {
            let text = l.as_ref();
            Line {
                text,
                key: read_key(text, opts.max_claim_bytes),
            }
        })
        .collect();
    let persons = plan(lines.iter().map(|l| &l.key));
    let done = AtomicUsize::new(0);
    let acc = persons
        .par_iter()
        .fold(Acc::default, |mut acc, claims| {
            person(base, reform, &lines, claims, opts, &mut acc);
            progress(done.fetch_add(claims.len(), Ordering::Relaxed) + claims.len());
            acc
        })
        .reduce(Acc::default, |a, b| a.merge(b, opts.top));
    let mut acc = acc;
    for (name, c) in acc.funds.iter_mut() {
        if let Err(side) = c.settle_delta() {
            acc.inexact.insert(format!("funds.{name}.{side}"));
        }
    }
    for (k, c) in acc.totals.iter_mut().enumerate() {
        if let Some(Err(side)) = c.as_mut().map(Compare::settle_delta) {
            let name = TOTALS.get(k).copied().unwrap_or_default();
            acc.inexact.insert(format!("totals.{name}.{side}"));
        }
    }
    if !acc.inexact.is_empty() {
        return Err(inexact_error(&acc.inexact));
    }
    for (i, l) in lines.iter().enumerate() {
        if let Err(e) = &l.key {
            let claim = parse(l.text).ok().map(|j| ReplayClaim::new(i + 1, j));
            acc.failed.push(failure(i + 1, claim.as_ref(), "both", e));
        }
    }
    acc.failed
        .sort_by(|a, b| (a.line, a.side).cmp(&(b.line, b.side)));
    let failed_lines = {
        let mut v: Vec<usize> = acc.failed.iter().map(|f| f.line).collect();
        v.dedup();
        v.len()
    };
    let insured_of = |i: usize| {
        lines
            .get(i)
            .and_then(|l| l.key.as_ref().ok())
            .map(|k| k.insured.clone())
            .unwrap_or_default()
    };
    let mut person_deltas: Vec<Decimal> = acc.persons.iter().map(|p| p.1).collect();
    let mut insured_top: Vec<&(usize, Decimal, usize, bool)> =
        acc.persons.iter().filter(|p| !p.1.is_zero()).collect();
    insured_top.sort_by(|a, b| b.1.abs().cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
    let insured_top = insured_top
        .into_iter()
        .take(opts.top)
        .map(|p| PersonDelta {
            insured: insured_of(p.0),
            claims: p.2,
            delta: Amount(p.1),
        })
        .collect();
    acc.top
        .sort_by(|a, b| b.0.abs().cmp(&a.0.abs()).then(a.1.cmp(&b.1)));
    acc.top.truncate(opts.top);
    let mut texts = DefTexts::default();
    let top = acc
        .top
        .iter()
        .filter_map(|&(_, i)| explain(base, reform, &lines, &persons, i, opts, &mut texts))
        .collect();
    // The shape is fixed: the three totals always, and every fund of a ruleset given as a
    // directory, at 0.00 when no claim settled on both sides.
    let mut totals = IndexMap::new();
    for (name, t) in TOTALS.iter().zip(acc.totals) {
        totals.insert((*name).to_string(), t.unwrap_or_default());
    }
    for name in base.funds().into_iter().chain(reform.funds()) {
        acc.funds.entry(name).or_default();
    }
    Ok(Report {
        claims: lines.len(),
        claims_changed: acc.changed,
        claims_failed: failed_lines,
        insured: persons.len(),
        insured_affected: acc.persons.iter().filter(|p| p.3).count(),
        funds: acc.funds,
        totals,
        deltas: distribution(&mut acc.deltas, opts.bins),
        insured_deltas: distribution(&mut person_deltas, opts.bins),
        insured_top,
        top,
        failed: acc.failed,
    })
}

/// How many of the inexact sums an `E0752` names.
const NAMED: usize = 5;

fn inexact_error(what: &BTreeSet<String>) -> Error {
    let mut names: Vec<String> = what.iter().take(NAMED).map(|w| format!("`{w}`")).collect();
    if what.len() > NAMED {
        names.push(format!("and {} more", what.len() - NAMED));
    }
    Error::from_diagnostic(
        crate::diag::Diagnostic::global(
            Code::ImpactInexact,
            if what.len() == 1 {
                format!(
                    "the sum {} over the claims has no exact value: it needs more than a \
                     decimal's 28 digits",
                    names.join(", ")
                )
            } else {
                format!(
                    "the sums {} over the claims have no exact value: they need more than a \
                     decimal's 28 digits",
                    names.join(", ")
                )
            },
        )
        .help(
            "every claim settled; it is their sum that cannot be held exactly, and rulec never \
             reports a rounded total: compare fewer claims at a time (split the file by \
             insured person), or amounts in a smaller unit",
        ),
    )
}

/// Replays the person of claim `target` up to it on both sides, tracing it, and compares
/// the two derivations.
fn explain(
    base: &dyn Settle,
    reform: &dyn Settle,
    lines: &[Line<'_>],
    persons: &[Vec<usize>],
    target: usize,
    opts: &Options,
    texts: &mut DefTexts,
) -> Option<Top> {
    let claims = persons.iter().find(|p| p.contains(&target))?;
    let side = |settler: &dyn Settle| -> Option<(Settled, Vec<TraceNode>, ReplayClaim)> {
        let mut p = Person::new();
        for &i in claims {
            let mut c = ReplayClaim::new(i + 1, parse(lines.get(i)?.text).ok()?);
            if i == target {
                let (s, t) = p.settle_traced(settler, &mut c, &opts.eval).ok()?;
                return Some((s, t, c));
            }
            // A claim that fails adds nothing, as in the run itself.
            let _ = p.settle(settler, &mut c, &opts.eval);
        }
        None
    };
    let (sb, tb, claim) = side(base)?;
    let (sr, tr, _) = side(reform)?;
    let fb = amounts(&sb.settlement).ok()?.totals[0].unwrap_or_default();
    let fr = amounts(&sr.settlement).ok()?.totals[0].unwrap_or_default();
    let delta = exact_sub(fr, fb).ok()?;
    Some(Top {
        line: target + 1,
        claim_id: claim.claim_id().unwrap_or_default().to_string(),
        insured: lines
            .get(target)
            .and_then(|l| l.key.as_ref().ok())
            .map(|k| k.insured.clone())
            .unwrap_or_default(),
        base: Amount(fb),
        reform: Amount(fr),
        delta: Amount(delta),
        changes: {
            let mut c = changes(&tb, &tr);
            c.extend(changed_definitions(
                texts,
                (&sb.ruleset, &tb),
                (&sr.ruleset, &tr),
            ));
            c
        },
    })
}

/// The kinds of derivation step that are definitions of the rules.
const DEFINITION_KINDS: [&str; 3] = ["def", "fund", "output"];

fn collect_definitions<'t>(nodes: &'t [TraceNode], out: &mut IndexMap<&'t str, &'t TraceNode>) {
    for n in nodes {
        if DEFINITION_KINDS.contains(&n.kind) {
            out.entry(n.name.as_str()).or_insert(n);
        }
        collect_definitions(&n.children, out);
    }
}

/// The text of each definition read so far, by ruleset (its compiled rules' address, alive
/// for the whole run) and name: a rule file is parsed once per definition, not per claim.
type DefTexts = std::collections::HashMap<(usize, String), Option<String>>;

fn definition_text_cached(
    texts: &mut DefTexts,
    rs: &crate::api::Ruleset,
    name: &str,
) -> Option<String> {
    let key = (std::ptr::from_ref(rs.compiled()) as usize, name.to_string());
    texts
        .entry(key)
        .or_insert_with(|| definition_text(rs, name))
        .clone()
}

/// A definition's declaration as `rulec fmt` lays it out, comments removed (as `rulec diff`
/// compares definitions), or `None` when it cannot be read back.
fn definition_text(rs: &crate::api::Ruleset, name: &str) -> Option<String> {
    let d = rs.compiled().defs.iter().find(|d| d.name == name)?;
    let file = rs.source_map().get(d.span.file)?;
    let limits = crate::limits::Limits::default();
    let (ast, _) = crate::syntax::parse_source(d.span.file, &file.text, &limits);
    let decl = ast.decls.iter().find(|x| x.name.span == d.span)?;
    let text = file
        .text
        .get(decl.span.start as usize..decl.span.end as usize)?;
    Some(crate::inventory::canonical_text(text, &limits))
}

/// The definitions on both derivations whose text differs between the two rulesets (the
/// reform rewrote them), each with its result on both sides. A definition used on one side
/// only is among them too.
fn changed_definitions(
    texts: &mut DefTexts,
    (base_rs, base): (&crate::api::Ruleset, &[TraceNode]),
    (reform_rs, reform): (&crate::api::Ruleset, &[TraceNode]),
) -> Vec<Change> {
    let (mut b, mut r) = (IndexMap::new(), IndexMap::new());
    collect_definitions(base, &mut b);
    collect_definitions(reform, &mut r);
    let mut out = Vec::new();
    for (name, nb) in &b {
        let nr = r.get(name);
        let same = nr.is_some()
            && definition_text_cached(texts, base_rs, name)
                == definition_text_cached(texts, reform_rs, name);
        if !same {
            out.push(Change {
                kind: nb.kind.to_string(),
                name: name.to_string(),
                base: Some(version(nb)),
                reform: nr.map(|n| version(n)),
            });
        }
    }
    for (name, nr) in &r {
        if !b.contains_key(name) {
            out.push(Change {
                kind: nr.kind.to_string(),
                name: name.to_string(),
                base: None,
                reform: Some(version(nr)),
            });
        }
    }
    out
}

/// The kinds of derivation step that are values of the rules (or the running totals).
const VALUE_KINDS: [&str; 6] = [
    "param",
    "table",
    "catalog",
    "series",
    "bands",
    "accumulator before this claim",
];

fn collect<'t>(nodes: &'t [TraceNode], out: &mut IndexMap<(&'t str, &'t str), &'t TraceNode>) {
    for n in nodes {
        if VALUE_KINDS.contains(&n.kind) {
            out.entry((n.kind, n.name.as_str())).or_insert(n);
        }
        collect(&n.children, out);
    }
}

fn version(n: &TraceNode) -> Version {
    Version {
        value: n.value.clone(),
        period: n.period.clone(),
        cite: n.cite.clone(),
        file: n.file.clone(),
        line: n.line,
    }
}

/// The values whose number, version or citation differ between two derivations.
pub fn changes(base: &[TraceNode], reform: &[TraceNode]) -> Vec<Change> {
    let (mut b, mut r) = (IndexMap::new(), IndexMap::new());
    collect(base, &mut b);
    collect(reform, &mut r);
    let mut out = Vec::new();
    for (key, nb) in &b {
        match r.get(key) {
            Some(nr) if nr.value == nb.value && nr.period == nb.period && nr.cite == nb.cite => {}
            other => out.push(Change {
                kind: key.0.to_string(),
                name: key.1.to_string(),
                base: Some(version(nb)),
                reform: other.map(|n| version(n)),
            }),
        }
    }
    for (key, nr) in &r {
        if !b.contains_key(key) {
            out.push(Change {
                kind: key.0.to_string(),
                name: key.1.to_string(),
                base: None,
                reform: Some(version(nr)),
            });
        }
    }
    out
}

/// Deciles and a histogram with round edges.
pub fn distribution(values: &mut [Decimal], bins: usize) -> Distribution {
    values.sort_unstable();
    let (Some(&min), Some(&max)) = (values.first(), values.last()) else {
        return Distribution::default();
    };
    let n = values.len();
    let deciles = (1..10)
        .filter_map(|k| {
            // Nearest rank: the smallest value with at least k/10 of the values at or below.
            let rank = (k * n).div_ceil(10).max(1);
            values.get(rank - 1).copied().map(Amount)
        })
        .collect();
    let histogram = histogram(values, min, max, bins.max(1));
    Distribution {
        count: n,
        nonzero: values.iter().filter(|v| !v.is_zero()).count(),
        min: Amount(min),
        max: Amount(max),
        deciles,
        histogram,
    }
}

/// A round step (1, 2 or 5 × 10^k, at least 0.01) giving at most `bins` bins over the range;
/// `None` when the range has no exact width.
fn step(min: Decimal, max: Decimal, bins: usize) -> Option<Decimal> {
    let span = exact_sub(max, min).ok()?;
    // Only the choice of a round step: an approximate quotient is enough.
    let want = span.checked_div(Decimal::from(bins as u64))?;
    let mut unit = Decimal::new(1, 2);
    loop {
        for m in [1u32, 2, 5] {
            let s = unit.checked_mul(Decimal::from(m))?;
            if s >= want {
                return Some(s);
            }
        }
        unit = unit.checked_mul(Decimal::TEN)?;
    }
}

/// Equal-width bins with round edges, every edge exact. When the range is too wide for
/// exact edges (deltas near a decimal's limit), one bin from `min` to `max` holds them all:
/// coarser, never wrong.
fn histogram(sorted: &[Decimal], min: Decimal, max: Decimal, bins: usize) -> Vec<Bin> {
    let one = || {
        vec![Bin {
            from: Amount(min),
            to: Amount(max),
            count: sorted.len(),
        }]
    };
    if min == max {
        return one();
    }
    let Some(step) = step(min, max, bins) else {
        return one();
    };
    let Some(from) = min
        .checked_div(step)
        .map(|q| q.floor())
        .and_then(|q| exact_mul(q, step).ok())
        .filter(|f| *f <= min)
    else {
        return one();
    };
    let mut out = Vec::new();
    let mut lo = from;
    let mut rest = sorted;
    while lo <= max {
        let Ok(hi) = exact_add(lo, step) else {
            return one();
        };
        let last = hi > max;
        let count = if last {
            rest.len()
        } else {
            rest.partition_point(|v| *v < hi)
        };
        out.push(Bin {
            from: Amount(lo),
            to: Amount(hi),
            count,
        });
        rest = rest.get(count..).unwrap_or_default();
        if last {
            break;
        }
        lo = hi;
    }
    out
}

/// Renders the report for people: tables of counts, totals and deltas.
pub fn render_human(r: &Report) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "claims {}   changed {}   failed {}   insured {}   affected {}",
        r.claims, r.claims_changed, r.claims_failed, r.insured, r.insured_affected
    );
    let width = r
        .funds
        .keys()
        .chain(r.totals.keys())
        .map(|k| k.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let _ = writeln!(
        o,
        "\n{:<width$}  {:>16}  {:>16}  {:>14}",
        "fund", "base", "reform", "delta"
    );
    let row = |o: &mut String, name: &str, c: &Compare| {
        let _ = writeln!(
            o,
            "{name:<width$}  {:>16}  {:>16}  {:>14}",
            c.base.to_string(),
            c.reform.to_string(),
            signed(c.delta.0)
        );
    };
    for (n, c) in &r.funds {
        row(&mut o, n, c);
    }
    if !r.totals.is_empty() {
        let _ = writeln!(o, "{}", "-".repeat(width + 52));
        for (n, c) in &r.totals {
            row(&mut o, n, c);
        }
    }
    for (title, d, unit) in [
        ("per-claim delta of fund_pays", &r.deltas, "claims"),
        (
            "per-person delta of fund_pays",
            &r.insured_deltas,
            "persons",
        ),
    ] {
        let _ = writeln!(
            o,
            "\n{title}: {} {unit}, {} not zero, min {}, max {}",
            d.count,
            d.nonzero,
            signed(d.min.0),
            signed(d.max.0)
        );
        let dec: Vec<String> = d.deciles.iter().map(|a| signed(a.0)).collect();
        let _ = writeln!(o, "  deciles 10%..90%: {}", dec.join("  "));
        let most = d
            .histogram
            .iter()
            .map(|b| b.count)
            .max()
            .unwrap_or(0)
            .max(1);
        for b in &d.histogram {
            let bar = "█".repeat((b.count * 40).div_ceil(most));
            let _ = writeln!(
                o,
                "  {:>12} .. {:<12} {:>8}  {bar}",
                signed(b.from.0),
                signed(b.to.0),
                b.count
            );
        }
    }
    if !r.insured_top.is_empty() {
        let _ = writeln!(o, "\npersons with the largest change:");
        for p in &r.insured_top {
            let _ = writeln!(
                o,
                "  {:<20} {:>14}  ({} claims)",
                p.insured,
                signed(p.delta.0),
                p.claims
            );
        }
    }
    if !r.top.is_empty() {
        let _ = writeln!(o, "\nclaims with the largest change:");
        for t in &r.top {
            let _ = writeln!(
                o,
                "  line {}  {}  insured {}: fund_pays {} → {} ({})",
                t.line,
                t.claim_id,
                t.insured,
                t.base,
                t.reform,
                signed(t.delta.0)
            );
            for c in &t.changes {
                let show = |v: &Option<Version>| {
                    v.as_ref()
                        .map(|v| match &v.period {
                            Some(p) => format!("{} ({p})", v.value),
                            None => v.value.clone(),
                        })
                        .unwrap_or_else(|| "—".into())
                };
                let _ = writeln!(
                    o,
                    "      {} {}: {} → {}",
                    c.kind,
                    c.name,
                    show(&c.base),
                    show(&c.reform)
                );
                let cite = |v: &Option<Version>| v.as_ref().and_then(|v| v.cite.clone());
                match (cite(&c.base), cite(&c.reform)) {
                    (Some(a), Some(b)) if a != b => {
                        let _ = writeln!(o, "        base: {a}\n        reform: {b}");
                    }
                    (_, Some(b)) => {
                        let _ = writeln!(o, "        source: {b}");
                    }
                    (Some(a), None) => {
                        let _ = writeln!(o, "        source: {a}");
                    }
                    (None, None) => {}
                }
            }
        }
    }
    if !r.failed.is_empty() {
        let _ = writeln!(o, "\nfailed claims:");
        for f in &r.failed {
            let _ = writeln!(
                o,
                "  line {}  {}  {}  [{}] {}",
                f.line,
                f.claim_id.as_deref().unwrap_or("-"),
                f.side,
                f.code,
                f.message
            );
        }
    }
    o
}

/// An amount with its sign (`+12.50`, `-3.00`, `0.00`).
pub fn signed(d: Decimal) -> String {
    if d > Decimal::ZERO {
        format!("+{}", format_money(d))
    } else {
        format_money(d)
    }
}
