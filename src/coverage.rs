//! `rulec test --coverage`: which parts of the rules the shipped test cases exercise.
//!
//! Coverage is read from the derivation trees of `--explain` ([`crate::explain`]): every case
//! is settled with tracing on, and an item counts as covered when a case's trace shows it.
//! The evaluator is not touched. Items: definitions, outputs, funds and accumulators; every
//! version of params, tables, bands and dated definitions; catalogs; exceptions (covered when
//! one applied). Branches (`if`/`else` and `match` arms) are not measured: the trace records
//! values, not which arm produced them.

use crate::api::{EvalOptions, Ruleset};
use crate::explain::TraceNode;
use crate::limits::Limits;
use crate::load::find_rulesets;
use crate::project::check_ruleset;
use crate::source::{SourceMap, Span};
use crate::testing::read_cases;
use crate::value::Date;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One thing the cases may exercise.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Item {
    /// The rule file.
    pub file: String,
    /// The line of its declaration or version.
    pub line: usize,
    /// `def`, `param version`, `catalog`, `exception`, …
    pub kind: String,
    /// Its name, with the version's period for versions.
    pub name: String,
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

    /// Covered items over all items, in percent (100 when there are none).
    pub fn percent(&self) -> f64 {
        let all = self.merged();
        if all.is_empty() {
            return 100.0;
        }
        let hit = all.values().filter(|c| **c).count();
        hit as f64 * 100.0 / all.len() as f64
    }
}

/// What a trace shows: (kind group, name, line) keys and applied exceptions.
#[derive(Default)]
struct Seen {
    keys: BTreeSet<(&'static str, String, usize)>,
    names: BTreeSet<(&'static str, String)>,
    exceptions: BTreeSet<String>,
}

fn base_name(s: &str) -> String {
    let s = s.strip_prefix("marginal(").unwrap_or(s);
    s.split(['[', ',', '('])
        .next()
        .unwrap_or(s)
        .trim()
        .to_string()
}

fn collect(node: &TraceNode, seen: &mut Seen) {
    let group = match node.kind {
        "def" | "output" | "fund" => Some("def"),
        "param" => Some("param"),
        "table" => Some("table"),
        "bands" => Some("bands"),
        "catalog" => Some("catalog"),
        "accumulator" => Some("accumulator"),
        _ => None,
    };
    if let Some(g) = group {
        let name = base_name(&node.name);
        seen.names.insert((g, name.clone()));
        if let Some(line) = node.line {
            seen.keys.insert((g, name, line));
        }
    }
    if let Some(n) = &node.note {
        if let Some(rest) = n.strip_prefix("exception `") {
            if let Some(name) = rest.split('`').next() {
                seen.exceptions.insert(name.to_string());
            }
        }
    }
    for c in &node.children {
        collect(c, seen);
    }
}

/// An item, and the test that says whether a trace covers it.
struct Probe {
    item: Item,
    group: &'static str,
    name: String,
    /// `Some(line)`: the trace must show this version's line; `None`: any use.
    line: Option<usize>,
}

fn place(map: &SourceMap, span: Span) -> (String, usize) {
    map.get(span.file)
        .map(|f| (f.name.clone(), f.line_col(span.start).0))
        .unwrap_or_default()
}

fn probes(rs: &crate::ir::Ruleset, map: &SourceMap) -> Vec<Probe> {
    let mut out = Vec::new();
    let mut push =
        |group: &'static str, kind: &str, name: &str, label: String, span: Span, by_line: bool| {
            let (file, line) = place(map, span);
            out.push(Probe {
                item: Item {
                    file,
                    line,
                    kind: kind.to_string(),
                    name: label,
                },
                group,
                name: name.to_string(),
                line: by_line.then_some(line),
            });
        };
    for d in &rs.defs {
        let kind = match d.kind {
            crate::ir::DefKind::Def => "def",
            crate::ir::DefKind::Output => "output",
            crate::ir::DefKind::Fund => "fund",
        };
        if d.versions.len() > 1 {
            for v in &d.versions {
                push(
                    "def",
                    &format!("{kind} version"),
                    &d.name,
                    format!("{} ({})", d.name, v.period),
                    v.span,
                    true,
                );
            }
        } else {
            push("def", kind, &d.name, d.name.clone(), d.span, false);
        }
    }
    for p in &rs.params {
        for v in &p.versions {
            push(
                "param",
                "param version",
                &p.name,
                format!("{} ({})", p.name, v.period),
                v.span,
                true,
            );
        }
    }
    for t in &rs.tables {
        for v in &t.versions {
            push(
                "table",
                "table version",
                &t.name,
                format!("{} ({})", t.name, v.period),
                v.span,
                true,
            );
        }
    }
    for b in &rs.bands {
        for v in &b.versions {
            push(
                "bands",
                "bands version",
                &b.name,
                format!("{} ({})", b.name, v.period),
                v.span,
                true,
            );
        }
    }
    for c in &rs.catalogs {
        push("catalog", "catalog", &c.name, c.name.clone(), c.span, false);
    }
    for a in &rs.accumulators {
        push(
            "accumulator",
            "accumulator",
            &a.name,
            a.name.clone(),
            a.span,
            false,
        );
    }
    for e in &rs.exceptions {
        push(
            "exception",
            "exception",
            &e.name,
            e.name.clone(),
            e.span,
            false,
        );
    }
    out
}

fn covered(p: &Probe, seen: &Seen) -> bool {
    if p.group == "exception" {
        return seen.exceptions.contains(&p.name);
    }
    match p.line {
        Some(line) => seen.keys.contains(&(p.group, p.name.clone(), line)),
        None => seen.names.contains(&(p.group, p.name.clone())),
    }
}

/// Settles every case of every ruleset under `paths` with tracing on and measures what
/// the traces show.
pub fn measure(paths: &[PathBuf], limits: &Limits) -> std::io::Result<CoverageReport> {
    let mut dirs = Vec::new();
    for p in paths {
        dirs.extend(find_rulesets(p)?);
    }
    dirs.sort();
    dirs.dedup();
    let mut report = CoverageReport::default();
    for dir in dirs {
        let cases_files = case_files(&dir);
        if cases_files.is_empty() {
            continue;
        }
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
        let mut seen = Seen::default();
        let mut cases = 0;
        for f in cases_files {
            for c in read_cases(&f).unwrap_or_default() {
                let as_of = c.as_of.as_deref().and_then(|d| Date::parse(d).ok());
                if let Ok((_, trace)) = rs.evaluate_traced(&c.claim, &EvalOptions { as_of }) {
                    for n in &trace {
                        collect(n, &mut seen);
                    }
                }
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
            if covered(&p, &seen) {
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

/// The human report: per ruleset and per file, then every uncovered item with file:line.
pub fn render_human(report: &CoverageReport) -> String {
    let mut out =
        String::from("coverage (from the --explain traces of every case; branches not measured)\n");
    for r in &report.rulesets {
        let all = r.covered.len() + r.uncovered.len();
        out.push_str(&format!(
            "\n{}: {:.1}% ({} of {} items, {} cases)\n",
            r.ruleset,
            pct(r.covered.len(), all),
            r.covered.len(),
            all,
            r.cases
        ));
        let mut files: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for i in &r.covered {
            files.entry(&i.file).or_default().0 += 1;
        }
        for i in &r.uncovered {
            files.entry(&i.file).or_default().1 += 1;
        }
        for (f, (hit, miss)) in files {
            out.push_str(&format!(
                "  {f}: {:.1}% ({hit} of {})\n",
                pct(hit, hit + miss),
                hit + miss
            ));
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
    let merged = report.merged();
    let hit = merged.values().filter(|c| **c).count();
    out.push_str(&format!(
        "\ntotal: {:.1}% ({hit} of {} items)\n",
        report.percent(),
        merged.len()
    ));
    out
}

/// LCOV: one record per rule file, one `DA` line per item (hit count 1 or 0).
pub fn render_lcov(report: &CoverageReport) -> String {
    let mut by_file: BTreeMap<String, BTreeMap<usize, bool>> = BTreeMap::new();
    for (item, hit) in report.merged() {
        let e = by_file.entry(item.file.clone()).or_default();
        let cur = e.entry(item.line).or_insert(false);
        *cur = *cur || hit;
    }
    let mut out = String::new();
    for (file, lines) in by_file {
        out.push_str(&format!("TN:\nSF:{file}\n"));
        for (line, hit) in &lines {
            out.push_str(&format!("DA:{line},{}\n", u8::from(*hit)));
        }
        let lh = lines.values().filter(|h| **h).count();
        out.push_str(&format!("LF:{}\nLH:{lh}\nend_of_record\n", lines.len()));
    }
    out
}
