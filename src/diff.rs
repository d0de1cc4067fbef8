//! `rulec diff`: what changed between two rule trees (`OLD NEW`), or between the values in
//! force at two dates of one tree (`DIR --at D1 --at D2`).
//!
//! Both compare [`crate::inventory`] listings entry by entry: params, table rows, bands,
//! series years, catalog rows (by code, naming the changed columns) and definitions (on
//! their formatted text). Two trees are matched by ruleset name, entry and first day of
//! each version; two dates by the version in force at each. Every change carries both
//! versions with their periods, citations and places.

use crate::inventory::{Entry, EntryVersion, RulesetInventory};
use crate::value::Date;
use indexmap::IndexMap;
use serde::Serialize;
use std::fmt::Write as _;

/// One added, removed or changed version.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// The ruleset that declares it.
    pub ruleset: String,
    /// The entry's kind (`param`, `table`, `catalog`, `def`, …).
    pub kind: &'static str,
    /// The entry's name (`pooling_cap[active]`).
    pub name: String,
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    /// For a change: what differs (`value`, `period`, `cite`, or a catalog row's columns).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub what: Vec<String>,
    /// The old version (absent when added).
    pub old: Option<EntryVersion>,
    /// The new version (absent when removed).
    pub new: Option<EntryVersion>,
}

/// Added, removed and changed counts of one kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Counts {
    /// Added.
    pub added: usize,
    /// Removed.
    pub removed: usize,
    /// Changed.
    pub changed: usize,
}

/// The result of a comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diff {
    /// What the old side is: a directory, or a date.
    pub old: String,
    /// What the new side is.
    pub new: String,
    /// Counts per group (`params`, `table rows`, `bands`, `series years`, `catalog rows`,
    /// `definitions`), only the groups with changes.
    pub summary: IndexMap<&'static str, Counts>,
    /// Rulesets only in the new tree.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rulesets_added: Vec<String>,
    /// Rulesets only in the old tree.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rulesets_removed: Vec<String>,
    /// Every change, by ruleset, in declaration order.
    pub changes: Vec<Change>,
}

/// The group an entry kind is counted in.
pub fn group(kind: &str) -> &'static str {
    match kind {
        "param" => "params",
        "table" => "table rows",
        "bands" => "bands",
        "series" => "series years",
        "catalog" => "catalog rows",
        _ => "definitions",
    }
}

const GROUPS: [&str; 6] = [
    "params",
    "table rows",
    "bands",
    "series years",
    "catalog rows",
    "definitions",
];

/// What differs between two versions of one entry (`period` only when `periods` is set).
fn differences(old: &EntryVersion, new: &EntryVersion, periods: bool) -> Vec<String> {
    let mut what = Vec::new();
    if old.value != new.value {
        if old.columns.is_empty() && new.columns.is_empty() {
            what.push("value".to_string());
        } else {
            for (col, v) in &new.columns {
                if old.columns.get(col) != Some(v) {
                    what.push(col.clone());
                }
            }
            for col in old.columns.keys() {
                if !new.columns.contains_key(col) {
                    what.push(col.clone());
                }
            }
        }
    }
    if periods && old.in_force != new.in_force {
        what.push("period".into());
    }
    if old.cite != new.cite || old.status != new.status {
        what.push("cite".into());
    }
    what
}

fn change(
    ruleset: &str,
    e: &Entry,
    old: Option<&EntryVersion>,
    new: Option<&EntryVersion>,
    what: Vec<String>,
) -> Change {
    Change {
        ruleset: ruleset.to_string(),
        kind: e.kind,
        name: e.name.clone(),
        change: match (old, new) {
            (None, _) => "added",
            (_, None) => "removed",
            _ => "changed",
        },
        what,
        old: old.cloned(),
        new: new.cloned(),
    }
}

fn finish(old: String, new: String, changes: Vec<Change>) -> Diff {
    let mut summary: IndexMap<&'static str, Counts> = IndexMap::new();
    for g in GROUPS {
        let mut c = Counts::default();
        for x in changes.iter().filter(|x| group(x.kind) == g) {
            match x.change {
                "added" => c.added += 1,
                "removed" => c.removed += 1,
                _ => c.changed += 1,
            }
        }
        if c != Counts::default() {
            summary.insert(g, c);
        }
    }
    Diff {
        old,
        new,
        summary,
        rulesets_added: Vec::new(),
        rulesets_removed: Vec::new(),
        changes,
    }
}

/// Compares two trees: rulesets by name, entries by kind and name, versions by first day.
pub fn trees(
    old_label: &str,
    old: &[RulesetInventory],
    new_label: &str,
    new: &[RulesetInventory],
) -> Diff {
    let empty = Vec::new();
    let mut changes = Vec::new();
    let mut names: Vec<&str> = new.iter().map(|r| r.name.as_str()).collect();
    for r in old {
        if !names.contains(&r.name.as_str()) {
            names.push(&r.name);
        }
    }
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    for name in names {
        let o = old.iter().find(|r| r.name == name);
        let n = new.iter().find(|r| r.name == name);
        match (o, n) {
            (None, Some(_)) => added.push(name.to_string()),
            (Some(_), None) => removed.push(name.to_string()),
            _ => {}
        }
        let oe = o.map_or(&empty, |r| &r.entries);
        let ne = n.map_or(&empty, |r| &r.entries);
        let key = |e: &Entry| (e.kind, e.name.clone());
        let old_by: IndexMap<(&str, String), &Entry> = oe.iter().map(|e| (key(e), e)).collect();
        let new_by: IndexMap<(&str, String), &Entry> = ne.iter().map(|e| (key(e), e)).collect();
        // In the new tree's order, then what only the old tree has, in its order.
        for (k, e) in &new_by {
            entry_versions(name, e, old_by.get(k).copied(), Some(e), &mut changes);
        }
        for (k, e) in &old_by {
            if !new_by.contains_key(k) {
                entry_versions(name, e, Some(e), None, &mut changes);
            }
        }
    }
    let mut d = finish(old_label.to_string(), new_label.to_string(), changes);
    d.rulesets_added = added;
    d.rulesets_removed = removed;
    d
}

fn entry_versions(
    ruleset: &str,
    e: &Entry,
    old: Option<&Entry>,
    new: Option<&Entry>,
    out: &mut Vec<Change>,
) {
    let ov: &[EntryVersion] = old.map_or(&[], |x| &x.versions);
    let nv: &[EntryVersion] = new.map_or(&[], |x| &x.versions);
    let mut pending: Vec<(Option<Date>, &EntryVersion)> =
        ov.iter().map(|v| (v.from(), v)).collect();
    for n in nv {
        match pending.iter().position(|(f, _)| *f == n.from()) {
            Some(i) => {
                let (_, o) = pending.remove(i);
                let what = differences(o, n, true);
                if !what.is_empty() {
                    out.push(change(ruleset, e, Some(o), Some(n), what));
                }
            }
            None => out.push(change(ruleset, e, None, Some(n), Vec::new())),
        }
    }
    for (_, o) in pending {
        out.push(change(ruleset, e, Some(o), None, Vec::new()));
    }
}

/// Compares the versions in force at two dates of one tree.
pub fn dates(tree: &[RulesetInventory], d1: Date, d2: Date) -> Diff {
    let mut changes = Vec::new();
    for r in tree {
        for e in &r.entries {
            let o = e.versions.iter().find(|v| v.in_force_at(d1));
            let n = e.versions.iter().find(|v| v.in_force_at(d2));
            match (o, n) {
                (None, None) => {}
                (Some(o), Some(n)) => {
                    let what = differences(o, n, false);
                    if !what.is_empty() {
                        changes.push(change(&r.name, e, Some(o), Some(n), what));
                    }
                }
                _ => changes.push(change(&r.name, e, o, n, Vec::new())),
            }
        }
    }
    finish(d1.to_string(), d2.to_string(), changes)
}

fn place(v: &EntryVersion) -> String {
    format!("{}:{}", v.file, v.line)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn summary_line(d: &Diff) -> String {
    if d.summary.is_empty() {
        return "no changes".into();
    }
    d.summary
        .iter()
        .map(|(g, c)| {
            let mut parts = Vec::new();
            for (n, w) in [
                (c.added, "added"),
                (c.removed, "removed"),
                (c.changed, "changed"),
            ] {
                if n > 0 {
                    parts.push(format!("{n} {w}"));
                }
            }
            format!("{g}: {}", parts.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A line diff of two definitions' formatted texts.
fn text_diff(old: &str, new: &str) -> String {
    let mut out = String::new();
    for op in similar::TextDiff::from_lines(old, new).iter_all_changes() {
        let sign = match op.tag() {
            similar::ChangeTag::Delete => '-',
            similar::ChangeTag::Insert => '+',
            similar::ChangeTag::Equal => ' ',
        };
        let _ = writeln!(out, "{sign} {}", op.value().trim_end_matches('\n'));
    }
    out
}

fn version_line(v: &EntryVersion, definition: bool) -> String {
    let mut s = String::new();
    if !definition {
        s.push_str(&one_line(&v.value));
        s.push_str("  ");
    }
    s.push_str(&v.in_force);
    match &v.cite {
        Some(c) if v.status == crate::inventory::CiteStatus::Assumed => {
            let _ = write!(s, "  cite assumed");
            let _ = c;
        }
        Some(c) => {
            let _ = write!(s, "  cite {c}");
        }
        None => s.push_str("  uncited"),
    }
    let _ = write!(s, "  ({})", place(v));
    s
}

/// The report for a terminal.
pub fn render_human(d: &Diff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "rulec diff {} → {}", d.old, d.new);
    for r in &d.rulesets_added {
        let _ = writeln!(out, "ruleset added: {r}");
    }
    for r in &d.rulesets_removed {
        let _ = writeln!(out, "ruleset removed: {r}");
    }
    let mut current = None;
    for c in &d.changes {
        if current != Some(c.ruleset.as_str()) {
            let _ = writeln!(out, "\n{}", c.ruleset);
            current = Some(c.ruleset.as_str());
        }
        let sign = match c.change {
            "added" => '+',
            "removed" => '-',
            _ => '~',
        };
        let what = if c.what.is_empty() {
            String::new()
        } else {
            format!(" ({})", c.what.join(", "))
        };
        let _ = writeln!(out, "  {sign} {} {} {}{what}", c.change, c.kind, c.name);
        let definition = group(c.kind) == "definitions";
        for (label, v) in [("old", &c.old), ("new", &c.new)] {
            if let Some(v) = v {
                let _ = writeln!(out, "      {label}: {}", version_line(v, definition));
            }
        }
        if definition {
            let o = c.old.as_ref().map_or("", |v| v.value.as_str());
            let n = c.new.as_ref().map_or("", |v| v.value.as_str());
            for line in text_diff(o, n).lines() {
                let _ = writeln!(out, "        {line}");
            }
        }
    }
    let _ = writeln!(out, "\n{}", summary_line(d));
    out
}

/// A Markdown table cell: one line, `|` escaped.
pub(crate) fn md_cell(s: &str) -> String {
    one_line(s).replace('|', "\\|")
}

/// The report as Markdown, for a policy memo.
pub fn render_markdown(d: &Diff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# What changed: `{}` → `{}`\n", d.old, d.new);
    if d.summary.is_empty() {
        out.push_str("No changes.\n");
        return out;
    }
    out.push_str("| | added | removed | changed |\n|---|---:|---:|---:|\n");
    for (g, c) in &d.summary {
        let _ = writeln!(out, "| {g} | {} | {} | {} |", c.added, c.removed, c.changed);
    }
    for r in &d.rulesets_added {
        let _ = writeln!(out, "\nRuleset added: `{r}`.");
    }
    for r in &d.rulesets_removed {
        let _ = writeln!(out, "\nRuleset removed: `{r}`.");
    }
    let mut rulesets: Vec<&str> = Vec::new();
    for c in &d.changes {
        if !rulesets.contains(&c.ruleset.as_str()) {
            rulesets.push(&c.ruleset);
        }
    }
    for r in rulesets {
        let _ = writeln!(out, "\n## {r}\n");
        out.push_str("| change | kind | name | old | new | in force | citation | where |\n");
        out.push_str("|---|---|---|---|---|---|---|---|\n");
        let mut defs = Vec::new();
        for c in d.changes.iter().filter(|c| c.ruleset == r) {
            let definition = group(c.kind) == "definitions";
            let val = |v: &Option<EntryVersion>| match v {
                None => "—".to_string(),
                Some(_) if definition => "see below".to_string(),
                Some(v) => md_cell(&v.value),
            };
            let latest = c.new.as_ref().or(c.old.as_ref());
            let in_force = match (&c.old, &c.new) {
                (Some(o), Some(n)) if o.in_force != n.in_force => {
                    format!("{} → {}", o.in_force, n.in_force)
                }
                _ => latest.map(|v| v.in_force.clone()).unwrap_or_default(),
            };
            let cite = match (&c.old, &c.new) {
                (Some(o), Some(n)) if o.cite != n.cite => format!(
                    "{} → {}",
                    md_cell(o.cite.as_deref().unwrap_or("uncited")),
                    md_cell(n.cite.as_deref().unwrap_or("uncited"))
                ),
                _ => md_cell(latest.and_then(|v| v.cite.as_deref()).unwrap_or("uncited")),
            };
            let what = if c.what.is_empty() {
                c.change.to_string()
            } else {
                format!("{} ({})", c.change, c.what.join(", "))
            };
            // A changed row that moved (another file name or line; not only the tree's
            // directory) gives both places.
            let moved = |o: &EntryVersion, n: &EntryVersion| {
                let name = |v: &EntryVersion| {
                    std::path::Path::new(&v.file)
                        .file_name()
                        .map(|f| f.to_os_string())
                };
                o.line != n.line || name(o) != name(n)
            };
            let place = match (&c.old, &c.new) {
                (Some(o), Some(n)) if moved(o, n) => {
                    format!("`{}` → `{}`", place(o), place(n))
                }
                _ => format!("`{}`", latest.map(place).unwrap_or_default()),
            };
            let _ = writeln!(
                out,
                "| {what} | {} | `{}` | {} | {} | {in_force} | {cite} | {place} |",
                c.kind,
                c.name,
                val(&c.old),
                val(&c.new),
            );
            if definition {
                defs.push(c);
            }
        }
        for c in defs {
            let o = c.old.as_ref().map_or("", |v| v.value.as_str());
            let n = c.new.as_ref().map_or("", |v| v.value.as_str());
            let _ = writeln!(
                out,
                "\n`{} {}` ({}):\n\n```diff\n{}```",
                c.kind,
                c.name,
                c.change,
                text_diff(o, n)
            );
        }
    }
    let _ = writeln!(out, "\n{}", summary_line(d));
    out
}
