//! `rulec test --coverage`: which parts of the rules the shipped test cases exercise.
//!
//! Every case is settled again on the traced path of the reference tree walker, which
//! records what the claim exercised ([`crate::eval::Hits`]) as it goes, also for a case that
//! ends in an error (it covers what it went through). Items:
//!
//! - **definitions and data**: definitions, outputs, funds and accumulators; every version of
//!   params, tables, bands and dated definitions; catalogs (looked up or tested); exceptions
//!   (covered when one applied);
//! - **branches**: every arm of every `if` (each `then`, the `else`) and every `match` arm;
//! - **functions**: user functions (`def f(x: T): T = …`), covered when called.
//!
//! The tree walker is the reference semantics; the compiled evaluator (`crate::compile`)
//! folds constant conditions and drops exceptions not in force per epoch, so it could not say
//! which arm of the text ran, and it records nothing: coverage costs it nothing. Recording is
//! behind the walker's `TRACE` const generic, so `Eval<false>` pays nothing either.

use crate::api::{EvalOptions, Ruleset};
use crate::eval::{Hit, Hits};
use crate::ir::{Node, NodeKind};
use crate::limits::Limits;
use crate::load::find_rulesets;
use crate::project::check_ruleset;
use crate::source::{SourceMap, Span};
use crate::testing::read_cases;
use crate::types::Type;
use crate::value::Date;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where a branch's decision is written: its `if` or `match`, and which arm it is.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Arm {
    /// The line of the `if` or `match`.
    pub line: usize,
    /// Its column (in characters).
    pub col: usize,
    /// The arm: for an `if` with `n` conditions, `0..n` are the `then` arms and `n` the
    /// `else`; for a `match`, the arm's position as written.
    pub index: u32,
}

/// One thing the cases may exercise.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Item {
    /// The rule file.
    pub file: String,
    /// The line of its declaration or version; for a branch, of the arm's expression.
    pub line: usize,
    /// `def`, `param version`, `catalog`, `exception`, `branch`, `function`, …
    pub kind: String,
    /// Its name, with the version's period for versions; for a branch, the arm as written
    /// and the definition it is in.
    pub name: String,
    /// For a branch: its decision and arm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arm: Option<Arm>,
}

/// The three kinds of item the summary counts apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    /// Definitions, versions, catalogs, accumulators and exceptions.
    Rules,
    /// `if`/`else` and `match` arms.
    Branches,
    /// User functions.
    Functions,
}

impl Group {
    /// Every group, in report order.
    pub const ALL: [Group; 3] = [Group::Rules, Group::Branches, Group::Functions];

    /// The group's name in reports.
    pub fn label(self) -> &'static str {
        match self {
            Group::Rules => "definitions and data",
            Group::Branches => "branches",
            Group::Functions => "functions",
        }
    }
}

impl Item {
    /// The group the item counts in.
    pub fn group(&self) -> Group {
        match self.kind.as_str() {
            "branch" => Group::Branches,
            "function" => Group::Functions,
            _ => Group::Rules,
        }
    }
}

/// The coverage of one ruleset by its own cases.
#[derive(Clone, Debug, Serialize)]
pub struct RulesetCoverage {
    /// The ruleset directory.
    pub ruleset: String,
    /// Cases run.
    pub cases: usize,
    /// Items covered.
    pub covered: Vec<Item>,
    /// Items no case exercised.
    pub uncovered: Vec<Item>,
}

/// Covered and total counts, overall and per group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Per [`Group`] (in [`Group::ALL`] order): covered, total.
    pub groups: [(usize, usize); 3],
}

impl Tally {
    fn add(&mut self, item: &Item, hit: bool) {
        let i = Group::ALL
            .iter()
            .position(|g| *g == item.group())
            .unwrap_or(0);
        if let Some(g) = self.groups.get_mut(i) {
            g.0 += usize::from(hit);
            g.1 += 1;
        }
    }

    /// Covered items, all groups.
    pub fn hit(&self) -> usize {
        self.groups.iter().map(|g| g.0).sum()
    }

    /// All items, all groups.
    pub fn all(&self) -> usize {
        self.groups.iter().map(|g| g.1).sum()
    }

    /// Covered over all, in percent (100 when there are none).
    pub fn percent(&self) -> f64 {
        pct(self.hit(), self.all())
    }

    /// `{"percent", "covered", "items", "groups": {"branches": {"covered", "items"}, …}}`.
    pub fn to_json(&self) -> serde_json::Value {
        let groups: serde_json::Map<String, serde_json::Value> = Group::ALL
            .iter()
            .zip(&self.groups)
            .map(|(g, (h, a))| {
                (
                    g.label().to_string(),
                    serde_json::json!({"covered": h, "items": a}),
                )
            })
            .collect();
        serde_json::json!({
            "percent": (self.percent() * 10.0).round() / 10.0,
            "covered": self.hit(),
            "items": self.all(),
            "groups": groups,
        })
    }

    /// `80.0% (8 of 10; definitions and data 5/5, branches 3/5, functions 0/0)`.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = Group::ALL
            .iter()
            .zip(&self.groups)
            .map(|(g, (h, a))| format!("{} {h}/{a}", g.label()))
            .collect();
        format!(
            "{:.1}% ({} of {}; {})",
            self.percent(),
            self.hit(),
            self.all(),
            parts.join(", ")
        )
    }
}

impl RulesetCoverage {
    /// Counts of this ruleset's items.
    pub fn tally(&self) -> Tally {
        let mut t = Tally::default();
        self.covered.iter().for_each(|i| t.add(i, true));
        self.uncovered.iter().for_each(|i| t.add(i, false));
        t
    }
}

/// The coverage of every ruleset with cases.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CoverageReport {
    /// Per ruleset.
    pub rulesets: Vec<RulesetCoverage>,
    /// Rulesets with cases that could not be measured (they do not load), with why.
    pub errors: Vec<String>,
}

impl CoverageReport {
    /// Every item of every ruleset, covered when some ruleset's cases cover it.
    pub fn merged(&self) -> BTreeMap<Item, bool> {
        let mut all: BTreeMap<Item, bool> = BTreeMap::new();
        for r in &self.rulesets {
            for i in &r.covered {
                all.insert(i.clone(), true);
            }
            for i in &r.uncovered {
                all.entry(i.clone()).or_insert(false);
            }
        }
        all
    }

    /// Counts over every item of every ruleset (merged).
    pub fn tally(&self) -> Tally {
        let mut t = Tally::default();
        for (i, hit) in self.merged() {
            t.add(&i, hit);
        }
        t
    }

    /// Covered items over all items (every group), in percent (100 when there are none):
    /// what `--min-coverage` compares.
    pub fn percent(&self) -> f64 {
        self.tally().percent()
    }

    /// The report for tools (`rulec test --format json --coverage`): per ruleset its cases,
    /// counts per group, covered and uncovered items; the errors; the merged total.
    pub fn to_json(&self) -> serde_json::Value {
        let rulesets: Vec<serde_json::Value> = self
            .rulesets
            .iter()
            .map(|r| {
                let mut v = r.tally().to_json();
                if let Some(o) = v.as_object_mut() {
                    o.insert("ruleset".into(), r.ruleset.clone().into());
                    o.insert("cases".into(), r.cases.into());
                    o.insert("covered".into(), serde_json::json!(r.covered));
                    o.insert("uncovered".into(), serde_json::json!(r.uncovered));
                }
                v
            })
            .collect();
        serde_json::json!({
            "rulesets": rulesets,
            "errors": self.errors,
            "total": self.tally().to_json(),
        })
    }
}

/// An item, and the hit that covers it.
struct Probe {
    item: Item,
    hit: Hit,
}

fn place(map: &SourceMap, span: Span) -> (String, usize, usize) {
    map.get(span.file)
        .map(|f| {
            let (l, c) = f.line_col(span.start);
            (f.name.clone(), l, c)
        })
        .unwrap_or_default()
}

/// The rule text of `span` on one line, at most 48 characters.
fn snippet(map: &SourceMap, span: Span) -> String {
    let text = map
        .get(span.file)
        .and_then(|f| f.text.get(span.start as usize..span.end as usize))
        .unwrap_or("");
    let one: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 48 {
        let cut: String = one.chars().take(47).collect();
        format!("{cut}…")
    } else {
        one
    }
}

fn probes(rs: &crate::ir::Ruleset, map: &SourceMap) -> Vec<Probe> {
    let mut out = Vec::new();
    let mut push = |kind: &str, label: String, span: Span, hit: Hit| {
        let (file, line, _) = place(map, span);
        out.push(Probe {
            item: Item {
                file,
                line,
                kind: kind.to_string(),
                name: label,
                arm: None,
            },
            hit,
        });
    };
    for (i, d) in (0u32..).zip(&rs.defs) {
        let kind = match d.kind {
            crate::ir::DefKind::Def => "def",
            crate::ir::DefKind::Output => "output",
            crate::ir::DefKind::Fund => "fund",
        };
        if d.versions.len() > 1 {
            for (k, v) in (0u32..).zip(&d.versions) {
                push(
                    &format!("{kind} version"),
                    format!("{} ({})", d.name, v.period),
                    v.span,
                    Hit::DefVersion(i, k),
                );
            }
        } else {
            push(kind, d.name.clone(), d.span, Hit::Def(i));
        }
    }
    for (i, p) in (0u32..).zip(&rs.params) {
        for (k, v) in (0u32..).zip(&p.versions) {
            let label = format!("{} ({})", p.name, v.period);
            push("param version", label, v.span, Hit::Param(i, k));
        }
    }
    for (i, t) in (0u32..).zip(&rs.tables) {
        for (k, v) in (0u32..).zip(&t.versions) {
            let label = format!("{} ({})", t.name, v.period);
            push("table version", label, v.span, Hit::Table(i, k));
        }
    }
    for (i, b) in (0u32..).zip(&rs.bands) {
        for (k, v) in (0u32..).zip(&b.versions) {
            let label = format!("{} ({})", b.name, v.period);
            push("bands version", label, v.span, Hit::Bands(i, k));
        }
    }
    for (i, c) in (0u32..).zip(&rs.catalogs) {
        push("catalog", c.name.clone(), c.span, Hit::Catalog(i));
    }
    for (i, a) in (0u32..).zip(&rs.accumulators) {
        push("accumulator", a.name.clone(), a.span, Hit::Accumulator(i));
    }
    for (i, e) in (0u32..).zip(&rs.exceptions) {
        push("exception", e.name.clone(), e.span, Hit::Exception(i));
    }
    for (i, f) in (0u32..).zip(&rs.functions) {
        push("function", f.name.clone(), f.span, Hit::Function(i));
    }
    branch_probes(rs, map, &mut out);
    out
}

/// Every expression tree with the name of what it computes.
fn owned_bodies(rs: &crate::ir::Ruleset) -> Vec<(String, &Node)> {
    let mut v: Vec<(String, &Node)> = Vec::new();
    if let Some(n) = &rs.as_of {
        v.push(("as_of".into(), n));
    }
    for d in &rs.defs {
        for ver in &d.versions {
            v.push((format!("`{}`", d.name), &ver.value));
        }
    }
    for e in &rs.exceptions {
        v.push((format!("exception `{}`", e.name), &e.cond));
        v.push((format!("exception `{}`", e.name), &e.value));
    }
    for a in &rs.accumulators {
        v.push((format!("`{}`", a.name), &a.add));
    }
    for f in &rs.functions {
        v.push((format!("`{}`", f.name), &f.body));
    }
    v
}

/// One item per arm of every `if` and `match` (iterative: any depth).
fn branch_probes(rs: &crate::ir::Ruleset, map: &SourceMap, out: &mut Vec<Probe>) {
    let mut arm = |span: Span, index: u32, at: Span, name: String| {
        let (file, dl, dc) = place(map, span);
        let (_, line, _) = place(map, at);
        out.push(Probe {
            item: Item {
                file,
                line,
                kind: "branch".into(),
                name,
                arm: Some(Arm {
                    line: dl,
                    col: dc,
                    index,
                }),
            },
            hit: Hit::Branch(span, index),
        });
    };
    for (owner, body) in owned_bodies(rs) {
        let mut stack = vec![body];
        while let Some(n) = stack.pop() {
            match &n.kind {
                NodeKind::If(branches, els) => {
                    let first = branches
                        .first()
                        .map(|(c, _)| snippet(map, c.span))
                        .unwrap_or_default();
                    for (k, (c, t)) in (0u32..).zip(branches) {
                        let word = if k == 0 { "if" } else { "else if" };
                        let name = format!("{word} {} then (in {owner})", snippet(map, c.span));
                        arm(n.span, k, t.span, name);
                    }
                    let k = u32::try_from(branches.len()).unwrap_or(u32::MAX);
                    arm(
                        n.span,
                        k,
                        els.span,
                        format!("else of if {first} (in {owner})"),
                    );
                }
                NodeKind::Match(s, table, arms) => {
                    let variants = match crate::compile::ty_of(s).unwrap_optional() {
                        Type::Enum(e) => rs.enums.get(*e as usize).map(|e| &e.variants),
                        _ => None,
                    };
                    let scrut = snippet(map, s.span);
                    for (k, a) in (0u32..).zip(arms) {
                        let names: Vec<&str> = table
                            .iter()
                            .zip(variants.into_iter().flatten())
                            .filter(|(t, _)| **t == k)
                            .map(|(_, v)| v.as_str())
                            .collect();
                        if names.is_empty() {
                            continue;
                        }
                        let name = format!("match {scrut}: {} (in {owner})", names.join(", "));
                        arm(n.span, k, a.span, name);
                    }
                }
                _ => {}
            }
            n.for_each_child(|c| stack.push(c));
        }
    }
}

/// Settles every case of every ruleset under `paths` on the traced path and measures what
/// the cases exercised.
pub fn measure(paths: &[PathBuf], limits: &Limits) -> std::io::Result<CoverageReport> {
    let mut dirs = Vec::new();
    for p in paths {
        dirs.extend(find_rulesets(p)?);
    }
    dirs.sort();
    dirs.dedup();
    let mut report = CoverageReport::default();
    for dir in dirs {
        // A ruleset without cases is measured too (0%, everything uncovered): it counts in
        // the total `--min-coverage` checks, never left out in silence.
        let cases_files = case_files(&dir);
        let rs = match Ruleset::load_dir(&dir, limits.clone()) {
            Ok(r) => r,
            Err(e) => {
                report.errors.push(format!(
                    "{}: not measured, it does not load:\n{e}",
                    dir.display()
                ));
                continue;
            }
        };
        let checked = check_ruleset(&dir, limits.clone()).ok();
        let Some((mut checked, ir)) = checked.and_then(|mut c| {
            let ir = c.rulesets.pop().map(|(_, ir)| ir);
            ir.map(|ir| (c, ir))
        }) else {
            report.errors.push(format!(
                "{}: not measured, it does not check",
                dir.display()
            ));
            continue;
        };
        let map = std::mem::take(&mut checked.map);
        let mut seen = Hits::new();
        let mut cases = 0;
        for f in cases_files {
            for c in read_cases(&f).unwrap_or_default() {
                let as_of = c.as_of.as_deref().and_then(|d| Date::parse(d).ok());
                let (_, hits) = rs.evaluate_hits(&c.claim, &EvalOptions { as_of });
                seen.extend(hits);
                cases += 1;
            }
        }
        let mut cov = RulesetCoverage {
            ruleset: dir.display().to_string(),
            cases,
            covered: Vec::new(),
            uncovered: Vec::new(),
        };
        for p in probes(&ir, &map) {
            if seen.contains(&p.hit) {
                cov.covered.push(p.item);
            } else {
                cov.uncovered.push(p.item);
            }
        }
        cov.covered.sort();
        cov.uncovered.sort();
        report.rulesets.push(cov);
    }
    Ok(report)
}

fn case_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("tests"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn pct(hit: usize, all: usize) -> f64 {
    if all == 0 {
        100.0
    } else {
        hit as f64 * 100.0 / all as f64
    }
}

/// The human report: per ruleset and per file (definitions and data, branches, functions),
/// then every uncovered item with file:line.
pub fn render_human(report: &CoverageReport) -> String {
    let mut out =
        String::from("coverage (every case settled again, recording what it exercised)\n");
    for r in &report.rulesets {
        out.push_str(&format!(
            "\n{}: {}, {} cases\n",
            r.ruleset,
            r.tally().summary(),
            r.cases
        ));
        let mut files: BTreeMap<&str, Tally> = BTreeMap::new();
        for i in &r.covered {
            files.entry(&i.file).or_default().add(i, true);
        }
        for i in &r.uncovered {
            files.entry(&i.file).or_default().add(i, false);
        }
        for (f, t) in files {
            out.push_str(&format!("  {f}: {}\n", t.summary()));
        }
        for i in &r.uncovered {
            out.push_str(&format!(
                "  not covered: {}:{} {} {}\n",
                i.file, i.line, i.kind, i.name
            ));
        }
    }
    for e in &report.errors {
        out.push_str(&format!("\nerror: {e}\n"));
    }
    out.push_str(&format!("\ntotal: {}\n", report.tally().summary()));
    out
}

/// LCOV, one record per rule file: `FN`/`FNDA` per user function, `BRDA` per branch arm
/// (line of its `if` or `match`, the decision's number in the file, the arm, and `-` when
/// no case reached the decision), `DA` per line holding any other item (hit count 1 or 0).
pub fn render_lcov(report: &CoverageReport) -> String {
    #[derive(Default)]
    struct FileCov {
        lines: BTreeMap<usize, bool>,
        functions: BTreeMap<(usize, String), bool>,
        /// Decision (line, column) → arm → hit.
        branches: BTreeMap<(usize, usize), BTreeMap<u32, bool>>,
    }
    let mut by_file: BTreeMap<String, FileCov> = BTreeMap::new();
    for (item, hit) in report.merged() {
        let e = by_file.entry(item.file.clone()).or_default();
        match (item.group(), item.arm) {
            (Group::Branches, Some(a)) => {
                let arms = e.branches.entry((a.line, a.col)).or_default();
                let cur = arms.entry(a.index).or_insert(false);
                *cur = *cur || hit;
            }
            (g, _) => {
                if g == Group::Functions {
                    let cur = e
                        .functions
                        .entry((item.line, item.name.clone()))
                        .or_insert(false);
                    *cur = *cur || hit;
                }
                let cur = e.lines.entry(item.line).or_insert(false);
                *cur = *cur || hit;
            }
        }
    }
    let mut out = String::new();
    for (file, f) in by_file {
        out.push_str(&format!("TN:\nSF:{file}\n"));
        for (line, name) in f.functions.keys() {
            out.push_str(&format!("FN:{line},{name}\n"));
        }
        for ((_, name), hit) in &f.functions {
            out.push_str(&format!("FNDA:{},{name}\n", u8::from(*hit)));
        }
        let fnh = f.functions.values().filter(|h| **h).count();
        out.push_str(&format!("FNF:{}\nFNH:{fnh}\n", f.functions.len()));
        let (mut brf, mut brh) = (0, 0);
        for (block, ((line, _), arms)) in f.branches.iter().enumerate() {
            let reached = arms.values().any(|h| *h);
            for (arm, hit) in arms {
                let taken = match (reached, hit) {
                    (false, _) => "-".to_string(),
                    (true, h) => u8::from(*h).to_string(),
                };
                out.push_str(&format!("BRDA:{line},{block},{arm},{taken}\n"));
                brf += 1;
                brh += usize::from(*hit);
            }
        }
        out.push_str(&format!("BRF:{brf}\nBRH:{brh}\n"));
        for (line, hit) in &f.lines {
            out.push_str(&format!("DA:{line},{}\n", u8::from(*hit)));
        }
        let lh = f.lines.values().filter(|h| **h).count();
        out.push_str(&format!("LF:{}\nLH:{lh}\nend_of_record\n", f.lines.len()));
    }
    out
}
