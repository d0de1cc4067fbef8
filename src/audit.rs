//! `rulec audit`: every value of a rule tree with its versions and citation status (cited,
//! `assumed`, uncited), the catalogs with their files and row counts, and a summary per
//! ruleset. Formats: human, JSON, CSV, and Markdown (a policy handbook).
//!
//! The listing is [`crate::inventory`]'s; this module only counts and renders it.

use crate::diff::md_cell;
use crate::inventory::{CatalogInfo, CiteStatus, Entry, EntryVersion, RulesetInventory};
use serde::Serialize;
use std::fmt::Write as _;

/// Counts of one ruleset.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    /// The ruleset.
    pub ruleset: String,
    /// Values: params, table rows, bands, series years.
    pub values: usize,
    /// Their versions.
    pub versions: usize,
    /// Versions with a source.
    pub cited: usize,
    /// Versions marked `cite assumed`.
    pub assumed: usize,
    /// Versions without a citation.
    pub uncited: usize,
    /// Catalogs.
    pub catalogs: usize,
    /// Catalog rows.
    pub catalog_rows: usize,
}

/// One ruleset's values and catalogs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RulesetAudit {
    /// The ruleset's name.
    pub ruleset: String,
    /// Its directory.
    pub dir: String,
    /// The rulesets it extends, nearest first.
    pub parents: Vec<String>,
    /// Every value with its versions.
    pub values: Vec<Entry>,
    /// Catalogs.
    pub catalogs: Vec<CatalogInfo>,
}

/// The audit of a tree.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Audit {
    /// Counts per ruleset, and a last line `total`.
    pub summary: Vec<Summary>,
    /// Each ruleset.
    pub rulesets: Vec<RulesetAudit>,
}

/// Builds the audit from an inventory.
pub fn audit(tree: &[RulesetInventory]) -> Audit {
    let mut summary = Vec::new();
    let mut total = Summary {
        ruleset: "total".into(),
        ..Summary::default()
    };
    let mut rulesets = Vec::new();
    for r in tree {
        let values: Vec<Entry> = r.entries.iter().filter(|e| e.is_value()).cloned().collect();
        let mut s = Summary {
            ruleset: r.name.clone(),
            values: values.len(),
            catalogs: r.catalogs.len(),
            catalog_rows: r.catalogs.iter().map(|c| c.rows).sum(),
            ..Summary::default()
        };
        for v in values.iter().flat_map(|e| &e.versions) {
            s.versions += 1;
            match v.status {
                CiteStatus::Cited => s.cited += 1,
                CiteStatus::Assumed => s.assumed += 1,
                CiteStatus::Uncited => s.uncited += 1,
            }
        }
        total.values += s.values;
        total.versions += s.versions;
        total.cited += s.cited;
        total.assumed += s.assumed;
        total.uncited += s.uncited;
        total.catalogs += s.catalogs;
        total.catalog_rows += s.catalog_rows;
        summary.push(s);
        rulesets.push(RulesetAudit {
            ruleset: r.name.clone(),
            dir: r.dir.clone(),
            parents: r.parents.clone(),
            values,
            catalogs: r.catalogs.clone(),
        });
    }
    summary.push(total);
    Audit { summary, rulesets }
}

fn cite_of(v: &EntryVersion) -> &str {
    match v.status {
        CiteStatus::Assumed => "",
        _ => v.cite.as_deref().unwrap_or(""),
    }
}

/// Pads to a display width (Chinese characters count two columns).
fn pad(s: &str, w: usize) -> String {
    let n = unicode_width::UnicodeWidthStr::width(s);
    format!("{s}{}", " ".repeat(w.saturating_sub(n)))
}

/// Rows aligned in columns, the last column not padded.
fn aligned(rows: &[Vec<String>], indent: &str) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| unicode_width::UnicodeWidthStr::width(c.as_str()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i + 1 == r.len() {
                    c.clone()
                } else {
                    pad(c, widths.get(i).copied().unwrap_or(0))
                }
            })
            .collect();
        let _ = writeln!(out, "{indent}{}", cells.join("  ").trim_end());
    }
    out
}

fn summary_rows(a: &Audit) -> Vec<Vec<String>> {
    let mut rows = vec![[
        "ruleset", "values", "versions", "cited", "assumed", "uncited", "catalogs", "rows",
    ]
    .map(String::from)
    .to_vec()];
    for s in &a.summary {
        rows.push(vec![
            s.ruleset.clone(),
            s.values.to_string(),
            s.versions.to_string(),
            s.cited.to_string(),
            s.assumed.to_string(),
            s.uncited.to_string(),
            s.catalogs.to_string(),
            s.catalog_rows.to_string(),
        ]);
    }
    rows
}

/// The audit for a terminal.
pub fn render_human(a: &Audit) -> String {
    let mut out = String::new();
    for r in &a.rulesets {
        let _ = writeln!(out, "{} ({})", r.ruleset, r.dir);
        let mut rows = Vec::new();
        for e in &r.values {
            for v in &e.versions {
                rows.push(vec![
                    e.kind.to_string(),
                    e.name.clone(),
                    v.value.clone(),
                    v.in_force.clone(),
                    v.status.as_str().to_string(),
                    format!("{}:{}", v.file, v.line),
                    cite_of(v).to_string(),
                ]);
            }
        }
        out.push_str(&aligned(&rows, "  "));
        let rows: Vec<Vec<String>> = r
            .catalogs
            .iter()
            .map(|c| {
                vec![
                    "catalog".to_string(),
                    c.name.clone(),
                    format!("{} rows, {} codes", c.rows, c.codes),
                    c.files.join(", "),
                    c.status.as_str().to_string(),
                    format!("{}:{}", c.file, c.line),
                    c.cite.clone().unwrap_or_default(),
                ]
            })
            .collect();
        out.push_str(&aligned(&rows, "  "));
        out.push('\n');
    }
    out.push_str(&aligned(&summary_rows(a), ""));
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One line per value version and per catalog:
/// `ruleset,kind,name,value,in_force,status,cite,file,line`. A catalog's value is its row
/// count and the files its rows come from (joined by `;`); its file and line are those of its
/// declaration, as for a value.
pub fn render_csv(a: &Audit) -> String {
    let mut out = String::from("ruleset,kind,name,value,in_force,status,cite,file,line\n");
    let mut row = |cells: [&str; 9]| {
        let line: Vec<String> = cells.iter().map(|c| csv_field(c)).collect();
        let _ = writeln!(out, "{}", line.join(","));
    };
    for r in &a.rulesets {
        for e in &r.values {
            for v in &e.versions {
                row([
                    &r.ruleset,
                    e.kind,
                    &e.name,
                    &v.value,
                    &v.in_force,
                    v.status.as_str(),
                    v.cite.as_deref().unwrap_or(""),
                    &v.file,
                    &v.line.to_string(),
                ]);
            }
        }
        for c in &r.catalogs {
            row([
                &r.ruleset,
                "catalog",
                &c.name,
                &format!("{} rows ({})", c.rows, c.files.join(";")),
                "",
                c.status.as_str(),
                c.cite.as_deref().unwrap_or(""),
                &c.file,
                &c.line.to_string(),
            ]);
        }
    }
    out
}

/// The audit as Markdown: a policy handbook, one section per ruleset.
pub fn render_markdown(a: &Audit) -> String {
    let mut out = String::from("# Rules audit\n\nEvery value with the period it is in force and where it comes from: **cited** (a source and a place in it), **assumed** (`cite assumed`: no source gives it) or **uncited**.\n\n");
    let rows = summary_rows(a);
    for (i, r) in rows.iter().enumerate() {
        let _ = writeln!(out, "| {} |", r.join(" | "));
        if i == 0 {
            let _ = writeln!(out, "|---|{}", "---:|".repeat(r.len() - 1));
        }
    }
    for r in &a.rulesets {
        let _ = writeln!(out, "\n## {}\n", r.ruleset);
        let extends = if r.parents.is_empty() {
            String::new()
        } else {
            format!(", extends {}", r.parents.join(" → "))
        };
        let _ = writeln!(out, "Directory `{}`{extends}.\n", r.dir);
        if r.values.is_empty() && r.catalogs.is_empty() {
            out.push_str("No values or catalogs of its own.\n");
        }
        if !r.values.is_empty() {
            out.push_str("| value | amount | in force | status | source | where |\n");
            out.push_str("|---|---:|---|---|---|---|\n");
            for e in &r.values {
                for v in &e.versions {
                    let _ = writeln!(
                        out,
                        "| {} `{}` | {} | {} | {} | {} | `{}:{}` |",
                        e.kind,
                        e.name,
                        md_cell(&v.value),
                        v.in_force,
                        v.status.as_str(),
                        md_cell(cite_of(v)),
                        v.file,
                        v.line
                    );
                }
            }
        }
        if !r.catalogs.is_empty() {
            out.push_str("\n| catalog | files | rows | codes | status | source |\n");
            out.push_str("|---|---|---:|---:|---|---|\n");
            for c in &r.catalogs {
                let files: Vec<String> = c.files.iter().map(|f| format!("`{f}`")).collect();
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} | {} | {} | {} |",
                    c.name,
                    files.join(", "),
                    c.rows,
                    c.codes,
                    c.status.as_str(),
                    md_cell(c.cite.as_deref().unwrap_or(""))
                );
            }
        }
    }
    out
}
