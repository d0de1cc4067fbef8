//! Replay: settle a series of claims the way the host would have, one after another, with
//! each accumulator threaded through a person's claims of one period
//! (`shared/reference-policies.md` §11, `docs/impact.md`).
//!
//! - Claims are grouped by `insured.id` and each person's claims are settled in
//!   (`settlement_date`, `claim_id`) order, whatever the order of the input.
//! - A claim starts from the values that the person's previous claim of the same period ended
//!   with. The first claim of a person's period starts from the values it carries in its
//!   `accumulators` (missing = 0).
//! - The period of each accumulator is declared in the rules (`per year`, `per claim.FIELD`,
//!   `per lifetime`; [`AccumPeriod`]); a year is the calendar year of the evaluation date.
//! - A claim without `insured.id` (`E0750`), that fails to settle, or without the key of an
//!   episode (`E0751`, reported only for a claim that would otherwise settle, so that an
//!   invalid or uncovered claim gets the code `--batch` gives it), is reported with its line
//!   and its diagnostics. It is never dropped, and
//!   it adds nothing to the running totals: the person's later claims go on from the values
//!   before it.
//!
//! Replay is built on the public API ([`Ruleset::evaluate`], [`Router`]): evaluation stays a
//! pure function of the claim, and replay only rewrites each claim's `accumulators`.

use crate::api::{value_json, Error, EvalOptions, Router, Ruleset};
use crate::diag::{Code, Diagnostic};
use crate::eval::Settlement;
use crate::explain::TraceNode;
use crate::ir::AccumPeriod;
use crate::value::Date;
use rayon::prelude::*;
use serde_json::{Map, Value as Json};
use std::collections::HashMap;

/// Where claims are settled: one ruleset, or a [`Router`] by region.
pub trait Settle: Sync {
    /// The ruleset that settles this claim.
    fn ruleset_for(&self, claim: &Json) -> Result<Ruleset, Error>;

    /// The funds every settlement has, known before any claim: those of a single ruleset;
    /// none for a router, whose funds depend on the claims' regions.
    fn funds(&self) -> Vec<String> {
        Vec::new()
    }
}

impl Settle for Ruleset {
    fn ruleset_for(&self, _: &Json) -> Result<Ruleset, Error> {
        Ok(self.clone())
    }

    fn funds(&self) -> Vec<String> {
        self.compiled()
            .defs
            .iter()
            .filter(|d| d.kind == crate::ir::DefKind::Fund)
            .map(|d| d.name.clone())
            .collect()
    }
}

impl Settle for Router {
    fn ruleset_for(&self, claim: &Json) -> Result<Ruleset, Error> {
        self.route(claim)
    }
}

/// Where a claim stands in replay: its person, its date and its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderKey {
    /// `insured.id`.
    pub insured: String,
    /// `settlement_date`.
    pub date: Date,
    /// `claim_id` (empty when absent; then the line decides).
    pub claim_id: String,
}

/// Reads the fields replay orders a claim by: `insured.id` (`E0750` when absent or empty),
/// `settlement_date` and `claim_id` (`E0710` when not of their type).
pub fn order_key(claim: &Json) -> Result<OrderKey, Error> {
    let insured = match claim.get("insured").and_then(|i| i.get("id")) {
        Some(Json::String(s)) if !s.is_empty() => s.clone(),
        Some(Json::String(_)) => {
            return Err(no_insured("`insured.id` is empty"));
        }
        None | Some(Json::Null) => {
            return Err(no_insured("the claim has no `insured.id`"));
        }
        Some(_) => return Err(invalid("insured.id", "expected text")),
    };
    let date = match claim.get("settlement_date") {
        Some(Json::String(s)) => Date::parse(s).map_err(|why| invalid("settlement_date", &why))?,
        Some(_) => return Err(invalid("settlement_date", "expected a date `YYYY-MM-DD`")),
        None => {
            return Err(invalid(
                "settlement_date",
                "missing; replay orders a person's claims by their date",
            ))
        }
    };
    let claim_id = match claim.get("claim_id") {
        Some(Json::String(s)) => s.clone(),
        None | Some(Json::Null) => String::new(),
        Some(_) => return Err(invalid("claim_id", "expected text")),
    };
    Ok(OrderKey {
        insured,
        date,
        claim_id,
    })
}

fn no_insured(what: &str) -> Error {
    Error::from_diagnostic(
        Diagnostic::global(
            Code::NoInsuredId,
            format!("{what}, so it cannot be replayed"),
        )
        .help(
            "replay threads accumulators through each person's claims; give the person as \
             `insured.id` (docs/claim-schema.md)",
        ),
    )
}

fn invalid(path: &str, why: &str) -> Error {
    Error::at_claim_path(
        Diagnostic::global(Code::InvalidClaim, format!("{path}: {why}"))
            .help("the claim must fit the standard claim (docs/claim-schema.md)"),
        path,
    )
}

/// Which run of an accumulator a claim belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum PeriodKey {
    Year(i32),
    Episode(String),
    Lifetime,
    /// The claim gives no key for this episode accumulator: it has no running total, and
    /// the claim cannot settle (`E0751`) once it is known to be otherwise settleable.
    Missing,
}

/// A claim ready for replay: its JSON without `accumulators`, and the values it carried.
#[derive(Clone, Debug)]
pub struct ReplayClaim {
    /// Its line (1-based) in the input.
    pub line: usize,
    json: Json,
    carried: Map<String, Json>,
    /// `accumulators` when it is not an object: passed on as it came, every time, so that
    /// evaluation refuses it with its path (`E0710`), as `--batch` does.
    malformed: Option<Json>,
}

impl ReplayClaim {
    /// Takes the claim's `accumulators` aside: replay sets them before each evaluation.
    pub fn new(line: usize, mut json: Json) -> ReplayClaim {
        let (carried, malformed) = match json
            .as_object_mut()
            .and_then(|o| o.shift_remove("accumulators"))
        {
            Some(Json::Object(m)) => (m, None),
            // Not an object: kept as it is, so evaluation reports it with its path.
            Some(other) => (Map::new(), Some(other)),
            None => (Map::new(), None),
        };
        ReplayClaim {
            line,
            json,
            carried,
            malformed,
        }
    }

    /// The claim as it was last evaluated (with the threaded `accumulators`).
    pub fn json(&self) -> &Json {
        &self.json
    }

    /// `claim_id`, when it is text.
    pub fn claim_id(&self) -> Option<&str> {
        self.json.get("claim_id").and_then(Json::as_str)
    }
}

/// A settled claim and the ruleset that settled it.
#[derive(Clone, Debug)]
pub struct Settled {
    /// The ruleset.
    pub ruleset: Ruleset,
    /// The settlement.
    pub settlement: Settlement,
}

/// The running totals of one person, by accumulator and period. Settle a person's claims
/// through one `Person` in replay order; start a new one for the next person.
#[derive(Clone, Debug, Default)]
pub struct Person {
    // A person has a handful of accumulators and periods: a list beats a map.
    totals: Vec<(String, PeriodKey, Json)>,
}

impl Person {
    /// A person with no claims settled yet.
    pub fn new() -> Person {
        Person::default()
    }

    /// Settles the person's next claim and threads its accumulators.
    pub fn settle<S: Settle + ?Sized>(
        &mut self,
        settler: &S,
        claim: &mut ReplayClaim,
        opts: &EvalOptions,
    ) -> Result<Settled, Error> {
        self.settle_with(settler, claim, opts, |rs, j| rs.evaluate(j, opts))
            .map(|(ruleset, settlement)| Settled {
                ruleset,
                settlement,
            })
    }

    /// As [`Person::settle`], with the derivation of every amount.
    pub fn settle_traced<S: Settle + ?Sized>(
        &mut self,
        settler: &S,
        claim: &mut ReplayClaim,
        opts: &EvalOptions,
    ) -> Result<(Settled, Vec<TraceNode>), Error> {
        let mut trace = Vec::new();
        let r = self.settle_with(settler, claim, opts, |rs, j| {
            rs.evaluate_traced(j, opts).map(|(s, t)| {
                trace = t;
                s
            })
        });
        r.map(|(ruleset, settlement)| {
            (
                Settled {
                    ruleset,
                    settlement,
                },
                trace,
            )
        })
    }

    fn settle_with<S: Settle + ?Sized>(
        &mut self,
        settler: &S,
        claim: &mut ReplayClaim,
        opts: &EvalOptions,
        mut eval: impl FnMut(&Ruleset, &Json) -> Result<Settlement, Error>,
    ) -> Result<(Ruleset, Settlement), Error> {
        let rs = settler.ruleset_for(&claim.json)?;
        // The year is that of the evaluation date, known for sure only after evaluation:
        // guess it from `--as-of` or the settlement date, and settle again if it differs.
        let guess = opts.as_of.map(Date::year).or_else(|| {
            claim
                .json
                .get("settlement_date")
                .and_then(Json::as_str)
                .and_then(|s| Date::parse(s).ok())
                .map(Date::year)
        });
        let (keys, missing) = self.keys(&rs, claim, guess.unwrap_or(i32::MIN));
        self.fill(&rs, claim, &keys);
        // A claim without its episode key is evaluated all the same (from what it carries),
        // so that an invalid or uncovered claim is reported as `--batch` reports it; only a
        // claim that would settle is refused for its missing key.
        let mut settlement = eval(&rs, &claim.json)?;
        if let Some(e) = missing {
            return Err(e);
        }
        let year = settlement.as_of.year();
        let mut keys = keys;
        if Some(year) != guess && keys.iter().any(|k| matches!(k, PeriodKey::Year(_))) {
            // The episode keys are read as before: none is missing.
            keys = self.keys(&rs, claim, year).0;
            self.fill(&rs, claim, &keys);
            settlement = eval(&rs, &claim.json)?;
            if settlement.as_of.year() != year {
                return Err(Error::from_diagnostic(Diagnostic::global(
                    Code::NoEvaluationDate,
                    "the evaluation date depends on the accumulators, so the year they \
                     belong to is undefined",
                )));
            }
        }
        self.commit(&rs, &keys, &settlement);
        Ok((rs, settlement))
    }

    /// The period of each of the ruleset's accumulators for this claim, and the error
    /// (`E0751`) of the first episode accumulator whose key the claim does not give.
    fn keys(
        &self,
        rs: &Ruleset,
        claim: &ReplayClaim,
        year: i32,
    ) -> (Vec<PeriodKey>, Option<Error>) {
        let mut missing = None;
        let keys = rs
            .compiled()
            .accumulators
            .iter()
            .map(|a| match &a.period {
                AccumPeriod::Year => PeriodKey::Year(year),
                AccumPeriod::Lifetime => PeriodKey::Lifetime,
                AccumPeriod::Episode { path, text } => {
                    let v = path
                        .iter()
                        .try_fold(&claim.json, |j, name| j.get(name.as_str()));
                    match v {
                        Some(Json::String(s)) if !s.is_empty() => PeriodKey::Episode(s.clone()),
                        Some(Json::Number(n)) => PeriodKey::Episode(n.to_string()),
                        _ => {
                            missing.get_or_insert_with(|| {
                                Error::from_diagnostic(
                                    Diagnostic::global(
                                        Code::NoEpisodeKey,
                                        format!(
                                            "accumulator `{}` is kept per {text}, and the claim \
                                             gives no `{}`",
                                            a.name,
                                            path.join(".")
                                        ),
                                    )
                                    .help(format!(
                                        "give the episode (e.g. one pregnancy) as `{}`",
                                        path.join(".")
                                    )),
                                )
                            });
                            PeriodKey::Missing
                        }
                    }
                }
            })
            .collect();
        (keys, missing)
    }

    /// Sets the claim's `accumulators`: the person's running totals of the claim's periods,
    /// else what the claim carries. A carried value the ruleset does not keep is passed on
    /// as it came, so evaluation refuses it with its path (`E0710`), as `--batch` does:
    /// replay never drops what a claim says.
    fn fill(&self, rs: &Ruleset, claim: &mut ReplayClaim, keys: &[PeriodKey]) {
        if let Some(bad) = &claim.malformed {
            if let Some(o) = claim.json.as_object_mut() {
                o.insert("accumulators".into(), bad.clone());
            }
            return;
        }
        let declared = &rs.compiled().accumulators;
        let mut accs = Map::new();
        for (a, key) in declared.iter().zip(keys) {
            let v = self
                .totals
                .iter()
                .find(|(n, k, _)| *n == a.name && k == key && *k != PeriodKey::Missing)
                .map(|(_, _, v)| v)
                .or_else(|| claim.carried.get(&a.name));
            if let Some(v) = v {
                accs.insert(a.name.clone(), v.clone());
            }
        }
        for (name, v) in &claim.carried {
            if !declared.iter().any(|a| a.name == *name) {
                accs.insert(name.clone(), v.clone());
            }
        }
        if let Some(o) = claim.json.as_object_mut() {
            o.insert("accumulators".into(), Json::Object(accs));
        }
    }

    fn commit(&mut self, rs: &Ruleset, keys: &[PeriodKey], s: &Settlement) {
        for (a, key) in rs.compiled().accumulators.iter().zip(keys) {
            let Some((_, v)) = s.accumulators.iter().find(|(n, _)| *n == a.name) else {
                continue;
            };
            let v = value_json(v, rs.compiled());
            match self
                .totals
                .iter_mut()
                .find(|(n, k, _)| *n == a.name && k == key)
            {
                Some(slot) => slot.2 = v,
                None => self.totals.push((a.name.clone(), key.clone(), v)),
            }
        }
    }
}

/// The result of one replayed claim.
#[derive(Clone, Debug)]
pub struct Replayed {
    /// Its line (1-based) in the input.
    pub line: usize,
    /// `claim_id`, when the claim has one.
    pub claim_id: Option<String>,
    /// `insured.id`, when the claim has one.
    pub insured: Option<String>,
    /// The settlement, or why there is none.
    pub outcome: Result<Settled, Error>,
}

/// Groups claims by person, in replay order: each person's claims (indices into `keys`)
/// sorted by (date, claim id, index); `Err` entries are the claims that cannot be ordered.
pub fn plan<'k>(keys: impl IntoIterator<Item = &'k Result<OrderKey, Error>>) -> Vec<Vec<usize>> {
    let mut by_person: HashMap<&str, Vec<(usize, &OrderKey)>> = HashMap::new();
    let mut order: Vec<&str> = Vec::new();
    for (i, k) in keys.into_iter().enumerate() {
        if let Ok(k) = k {
            let entry = by_person.entry(k.insured.as_str()).or_insert_with(|| {
                order.push(k.insured.as_str());
                Vec::new()
            });
            entry.push((i, k));
        }
    }
    order
        .into_iter()
        .filter_map(|p| by_person.remove(p))
        .map(|mut claims| {
            claims
                .sort_by(|(i, a), (j, b)| (a.date, &a.claim_id, i).cmp(&(b.date, &b.claim_id, j)));
            claims.into_iter().map(|(i, _)| i).collect()
        })
        .collect()
}

/// Replays claims, given with their line numbers, and returns one result per claim in input
/// order. Persons are independent, so they are settled in parallel (rayon's pool).
pub fn replay<S: Settle + ?Sized>(
    settler: &S,
    claims: Vec<(usize, Json)>,
    opts: &EvalOptions,
) -> Vec<Replayed> {
    let keys: Vec<Result<OrderKey, Error>> = claims.iter().map(|(_, j)| order_key(j)).collect();
    let persons = plan(&keys);
    let mut slots: Vec<Option<ReplayClaim>> = claims
        .into_iter()
        .map(|(line, j)| Some(ReplayClaim::new(line, j)))
        .collect();
    let groups: Vec<Vec<(usize, ReplayClaim)>> = persons
        .iter()
        .map(|idx| {
            idx.iter()
                .filter_map(|&i| slots.get_mut(i).and_then(Option::take).map(|c| (i, c)))
                .collect()
        })
        .collect();
    let settled: Vec<(usize, Replayed)> = groups
        .into_par_iter()
        .flat_map_iter(|group| {
            let mut person = Person::new();
            group
                .into_iter()
                .map(|(i, mut c)| {
                    let outcome = person.settle(settler, &mut c, opts);
                    let r = replayed(&c, outcome);
                    (i, r)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let mut out: Vec<Option<Replayed>> = (0..slots.len()).map(|_| None).collect();
    for (i, r) in settled {
        if let Some(slot) = out.get_mut(i) {
            *slot = Some(r);
        }
    }
    // The claims that could not be ordered.
    for (i, (slot, key)) in slots.into_iter().zip(keys).enumerate() {
        if let (Some(c), Err(e)) = (slot, key) {
            if let Some(o) = out.get_mut(i) {
                *o = Some(replayed(&c, Err(e)));
            }
        }
    }
    out.into_iter().flatten().collect()
}

fn replayed(c: &ReplayClaim, outcome: Result<Settled, Error>) -> Replayed {
    Replayed {
        line: c.line,
        claim_id: c.claim_id().map(str::to_string),
        insured: c
            .json
            .get("insured")
            .and_then(|i| i.get("id"))
            .and_then(Json::as_str)
            .map(str::to_string),
        outcome,
    }
}
