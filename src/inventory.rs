//! Every value and definition of a ruleset tree, with its versions and citations: what
//! `rulec diff` compares ([`crate::diff`]) and `rulec audit` lists ([`crate::audit`]).
//!
//! Values come from the checked IR ([`crate::ir`]): params, table rows, bands, series years
//! and catalog rows (by code), each version with its period, citation and place.
//! Definitions (`def`, `output`, `fund`, functions, accumulators, exceptions, `covers`) come
//! from the syntax tree of the same files, one version at a time, as the text
//! [`crate::fmt`] gives them with comments removed: two definitions that differ only in
//! spacing or comments have the same text.
//!
//! Each ruleset lists what its own files declare (a parent's values are listed under the
//! parent), so a tree is listed once; a value a child overrides appears under the child. The
//! parents of the rulesets asked for are listed too, so one region comes with its chain.

use crate::eval::fmt_value;
use crate::explain::cite_text;
use crate::ir::{self, Cite};
use crate::limits::Limits;
use crate::project::CheckReport;
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::ast::{self, CiteKind, DeclKind};
use crate::value::{Date, Period, Value};
use indexmap::IndexMap;
use serde::Serialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Whether a version says where its value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CiteStatus {
    /// `cite SOURCE …` or `cite "text"`.
    Cited,
    /// `cite assumed`: no source gives the value.
    Assumed,
    /// No `cite` at all.
    Uncited,
}

impl CiteStatus {
    /// The word used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            CiteStatus::Cited => "cited",
            CiteStatus::Assumed => "assumed",
            CiteStatus::Uncited => "uncited",
        }
    }
}

/// One version of a value or definition.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EntryVersion {
    /// When it is in force (`None`: always, e.g. a series year).
    #[serde(skip)]
    pub period: Option<Period>,
    /// The period for people: `from 2024-01-01`, `always`.
    pub in_force: String,
    /// The value as the trace shows it, or a definition's formatted text.
    pub value: String,
    /// A catalog row's cells by column (the key column excluded).
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub columns: IndexMap<String, String>,
    /// The citation as text.
    pub cite: Option<String>,
    /// Cited, assumed or uncited.
    pub status: CiteStatus,
    /// Rule or CSV file.
    pub file: String,
    /// Line in it.
    pub line: usize,
}

impl EntryVersion {
    /// True when the version is in force at `d`.
    pub fn in_force_at(&self, d: Date) -> bool {
        self.period.is_none_or(|p| p.contains(d))
    }

    /// The first day, for matching versions of two trees (`None`: always).
    pub fn from(&self) -> Option<Date> {
        self.period.filter(|p| *p != Period::ALWAYS).map(|p| p.from)
    }
}

/// A value or definition with its versions.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Entry {
    /// `param`, `table`, `bands`, `series`, `catalog`, `def`, `output`, `fund`, `function`,
    /// `accumulator`, `exception` or `covers`.
    pub kind: &'static str,
    /// The name, with the key for a table row, series year or catalog row
    /// (`pooling_cap[active]`, `cpi[2023]`, `drugs[XA001]`).
    pub name: String,
    /// Versions in date order.
    pub versions: Vec<EntryVersion>,
}

/// The kinds that are values (what `audit` lists); the rest are definitions.
pub const VALUE_KINDS: [&str; 4] = ["param", "table", "bands", "series"];

impl Entry {
    /// True for params, table rows, bands and series years.
    pub fn is_value(&self) -> bool {
        VALUE_KINDS.contains(&self.kind)
    }

    /// True for definitions compared on their text.
    pub fn is_definition(&self) -> bool {
        !self.is_value() && self.kind != "catalog"
    }
}

/// A catalog: its files and row counts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CatalogInfo {
    /// Its name.
    pub name: String,
    /// The files its rows come from (the rule file for inline rows).
    pub files: Vec<String>,
    /// Rows.
    pub rows: usize,
    /// Distinct codes.
    pub codes: usize,
    /// The citation as text.
    pub cite: Option<String>,
    /// Cited, assumed or uncited.
    pub status: CiteStatus,
    /// Where it is declared.
    pub file: String,
    /// Line there.
    pub line: usize,
}

/// What one ruleset's own files declare.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RulesetInventory {
    /// The ruleset's name (`shandong/binzhou`).
    pub name: String,
    /// Its directory.
    pub dir: String,
    /// The ruleset it extends, nearest first.
    pub parents: Vec<String>,
    /// Values and definitions, in declaration order by kind.
    pub entries: Vec<Entry>,
    /// Catalogs.
    pub catalogs: Vec<CatalogInfo>,
}

/// Lists every checked ruleset of a report (a ruleset not checked for its parent's sake is
/// left out: run this on a report without errors).
///
/// The parents of the rulesets asked for are listed too (before them, root first), from the
/// compiled chain of a child: a diff of one region also shows what changed in its parents.
pub fn collect(report: &CheckReport, limits: &Limits) -> Vec<RulesetInventory> {
    let checked: Vec<&(PathBuf, ir::Ruleset)> = report
        .rulesets
        .iter()
        .filter(|(dir, _)| !report.not_checked.contains(dir))
        .collect();
    let targets: HashSet<PathBuf> = checked.iter().map(|(d, _)| canonical(d)).collect();
    // Directories of rule files loaded as parents only, with the child that loaded them.
    let mut parents: Vec<(PathBuf, String, &ir::Ruleset)> = Vec::new();
    for (_, rs) in &checked {
        let mut i = 0u32;
        while let Some(f) = report.map.get(FileId(i)) {
            i += 1;
            let path = Path::new(&f.name);
            let Some(dir) = path.parent() else { continue };
            if path.extension().is_none_or(|x| x != crate::load::RULE_EXT)
                || targets.contains(&canonical(dir))
                || parents
                    .iter()
                    .any(|(d, _, _)| canonical(d) == canonical(dir))
            {
                continue;
            }
            if let Some(name) = header_name(&report.map, dir, limits) {
                if rs.parents.contains(&name) {
                    parents.push((dir.to_path_buf(), name, rs));
                }
            }
        }
    }
    // Root first: the fewest parents of its own first.
    parents.sort_by_key(|(_, name, rs)| {
        rs.parents.len() - rs.parents.iter().position(|p| p == name).unwrap_or(0)
    });
    let mut out: Vec<RulesetInventory> = parents
        .iter()
        .map(|(dir, name, rs)| {
            let mut inv = one(&report.map, dir, rs, limits);
            inv.parents = rs
                .parents
                .iter()
                .skip_while(|p| *p != name)
                .skip(1)
                .cloned()
                .collect();
            inv.name = name.clone();
            inv
        })
        .collect();
    out.extend(
        checked
            .iter()
            .map(|(dir, rs)| one(&report.map, dir, rs, limits)),
    );
    out
}

/// The name in the `ruleset "name"` header of a directory's rule files.
fn header_name(map: &SourceMap, dir: &Path, limits: &Limits) -> Option<String> {
    let dir = canonical(dir);
    let mut i = 0u32;
    while let Some(f) = map.get(FileId(i)) {
        i += 1;
        let path = Path::new(&f.name);
        if path.extension().is_none_or(|x| x != crate::load::RULE_EXT)
            || path.parent().map(canonical).as_deref() != Some(dir.as_path())
        {
            continue;
        }
        let (file, _) = crate::syntax::parse_source(FileId(i - 1), &f.text, limits);
        if let Some(d) = file
            .decls
            .iter()
            .find(|d| matches!(d.kind, DeclKind::Ruleset { .. }))
        {
            return Some(d.name.name.clone());
        }
    }
    None
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize()
        .unwrap_or_else(|_| crate::load::normalize(p))
}

/// The files of the map that lie in `dir` (its rule files and CSV files).
fn own_files(map: &SourceMap, dir: &Path) -> HashSet<FileId> {
    let dir = canonical(dir);
    let mut out = HashSet::new();
    let mut i = 0u32;
    while let Some(f) = map.get(FileId(i)) {
        let parent = Path::new(&f.name).parent().map(canonical);
        if parent.as_deref() == Some(dir.as_path()) {
            out.insert(FileId(i));
        }
        i += 1;
    }
    out
}

struct Ctx<'a> {
    map: &'a SourceMap,
    rs: &'a ir::Ruleset,
    limits: &'a Limits,
}

impl Ctx<'_> {
    fn place(&self, span: Span) -> (String, usize) {
        match self.map.get(span.file) {
            Some(f) => (f.name.clone(), f.line_col(span.start).0),
            None => (String::new(), 0),
        }
    }

    fn version(
        &self,
        period: Option<Period>,
        value: String,
        cite: Option<&Cite>,
        span: Span,
    ) -> EntryVersion {
        let (file, line) = self.place(span);
        EntryVersion {
            in_force: period.unwrap_or(Period::ALWAYS).to_string(),
            period,
            value,
            columns: IndexMap::new(),
            cite: cite.map(|c| cite_text(c, self.rs)),
            status: status(cite),
            file,
            line,
        }
    }
}

fn status(c: Option<&Cite>) -> CiteStatus {
    match c {
        None => CiteStatus::Uncited,
        Some(Cite::Assumed) => CiteStatus::Assumed,
        Some(_) => CiteStatus::Cited,
    }
}

/// Orders table keys as declared types order them: integers by value, enum variants by
/// declaration, text by spelling.
fn key_order(a: &[Value], b: &[Value]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = match (x, y) {
            (Value::Int(p), Value::Int(q)) => p.cmp(q),
            (Value::Enum(_, p), Value::Enum(_, q)) => p.cmp(q),
            (Value::Text(p), Value::Text(q)) => p.cmp(q),
            _ => std::cmp::Ordering::Equal,
        };
        if o.is_ne() {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

fn one(map: &SourceMap, dir: &Path, rs: &ir::Ruleset, limits: &Limits) -> RulesetInventory {
    let own = own_files(map, dir);
    let mine = |s: Span| own.contains(&s.file);
    let cx = Ctx { map, rs, limits };
    let mut entries = Vec::new();
    for p in rs.params.iter().filter(|p| mine(p.span)) {
        let versions = p
            .versions
            .iter()
            .map(|v| {
                cx.version(
                    Some(v.period),
                    fmt_value(&v.value, rs),
                    v.cite.as_ref(),
                    v.span,
                )
            })
            .collect();
        entries.push(Entry {
            kind: "param",
            name: p.name.clone(),
            versions,
        });
    }
    for t in rs.tables.iter().filter(|t| mine(t.span)) {
        let mut rows: IndexMap<Vec<Value>, Vec<EntryVersion>> = IndexMap::new();
        for v in &t.versions {
            let mut keys: Vec<&Vec<Value>> = v.value.keys().collect();
            keys.sort_by(|a, b| key_order(a, b));
            for k in keys {
                if let Some(x) = v.value.get(k) {
                    rows.entry(k.clone()).or_default().push(cx.version(
                        Some(v.period),
                        fmt_value(x, rs),
                        v.cite.as_ref(),
                        v.span,
                    ));
                }
            }
        }
        rows.sort_by(|a, _, b, _| key_order(a, b));
        for (k, versions) in rows {
            let keys: Vec<String> = k.iter().map(|x| fmt_value(x, rs)).collect();
            entries.push(Entry {
                kind: "table",
                name: format!("{}[{}]", t.name, keys.join(", ")),
                versions,
            });
        }
    }
    for b in rs.bands.iter().filter(|b| mine(b.span)) {
        let versions = b
            .versions
            .iter()
            .map(|v| {
                cx.version(
                    Some(v.period),
                    bands_text(&v.value),
                    v.cite.as_ref(),
                    v.span,
                )
            })
            .collect();
        entries.push(Entry {
            kind: "bands",
            name: b.name.clone(),
            versions,
        });
    }
    for s in rs.series.iter().filter(|s| mine(s.span)) {
        for (year, (value, span)) in &s.values {
            entries.push(Entry {
                kind: "series",
                name: format!("{}[{year}]", s.name),
                versions: vec![cx.version(None, fmt_value(value, rs), s.cite.as_ref(), *span)],
            });
        }
    }
    let mut catalogs = Vec::new();
    for c in rs.catalogs.iter().filter(|c| mine(c.span)) {
        let mut by_code: IndexMap<String, Vec<EntryVersion>> = IndexMap::new();
        let mut files: Vec<String> = Vec::new();
        for row in &c.rows {
            let code = row
                .cells
                .get(c.key as usize)
                .map(|v| match v {
                    Value::Text(t) => t.to_string(),
                    other => fmt_value(other, rs),
                })
                .unwrap_or_default();
            let columns: IndexMap<String, String> = c
                .columns
                .iter()
                .zip(&row.cells)
                .enumerate()
                .filter(|(i, _)| *i != c.key as usize)
                .map(|(_, (col, v))| (col.name.clone(), fmt_value(v, rs)))
                .collect();
            let value = columns
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut v = cx.version(Some(row.period), value, c.cite.as_ref(), row.span);
            v.columns = columns;
            if !files.contains(&v.file) {
                files.push(v.file.clone());
            }
            by_code.entry(code).or_default().push(v);
        }
        let (file, line) = cx.place(c.span);
        catalogs.push(CatalogInfo {
            name: c.name.clone(),
            files,
            rows: c.rows.len(),
            codes: by_code.len(),
            cite: c.cite.as_ref().map(|x| cite_text(x, rs)),
            status: status(c.cite.as_ref()),
            file,
            line,
        });
        for (code, mut versions) in by_code {
            versions.sort_by_key(|v| v.period.map(|p| p.from));
            entries.push(Entry {
                kind: "catalog",
                name: format!("{}[{code}]", c.name),
                versions,
            });
        }
    }
    let mut ids: Vec<FileId> = own.iter().copied().collect();
    ids.sort_by_key(|f| f.0);
    for id in ids {
        if let Some(f) = map.get(id) {
            if f.name.ends_with(".rulec") {
                definitions(&cx, id, &f.text, &mut entries);
            }
        }
    }
    RulesetInventory {
        name: rs.name.clone(),
        dir: dir.display().to_string(),
        parents: rs.parents.clone(),
        entries,
        catalogs,
    }
}

fn bands_text(bands: &[ir::Band]) -> String {
    bands
        .iter()
        .map(|b| {
            let rate = crate::value::Rate(b.rate);
            match b.upper {
                Some(u) => format!("{}..{}: {rate}", b.lower.normalize(), u.normalize()),
                None => format!("{}..: {rate}", b.lower.normalize()),
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The definitions of one rule file, each version on its own.
fn definitions(cx: &Ctx, id: FileId, text: &str, out: &mut Vec<Entry>) {
    let (file, _) = crate::syntax::parse_source(id, text, cx.limits);
    let slice = |a: usize, b: usize| text.get(a..b).unwrap_or("");
    for d in &file.decls {
        let start = d.span.start as usize;
        let whole = |cite: Option<&ast::Citation>, period: Option<Period>| {
            let t = slice(start, d.span.end as usize);
            def_version(cx, t, period, cite, d.span)
        };
        let (kind, name, versions): (&'static str, String, Vec<EntryVersion>) = match &d.kind {
            DeclKind::Def { kind, versions, .. } => {
                let head_end = versions.first().map_or(start, |v| v.span.start as usize);
                let head = slice(start, head_end);
                // The periods as the checker read them.
                let periods: Vec<Option<Period>> = cx
                    .rs
                    .defs
                    .iter()
                    .find(|x| x.name == d.name.name && x.versions.len() == versions.len())
                    .map(|x| x.versions.iter().map(|v| Some(v.period)).collect())
                    .unwrap_or_else(|| vec![None; versions.len()]);
                let vs = versions
                    .iter()
                    .zip(periods)
                    .map(|(v, period)| {
                        // The version without its `from … until …`: two versions with the
                        // same body have the same text.
                        let body = slice(v.value.span.start as usize, v.span.end as usize);
                        let t = format!("{head}= {body}");
                        def_version(cx, &t, period, v.cite.as_ref(), v.span)
                    })
                    .collect();
                let k = match kind {
                    ast::DefKind::Def => "def",
                    ast::DefKind::Output => "output",
                    ast::DefKind::Fund => "fund",
                };
                (k, d.name.name.clone(), vs)
            }
            DeclKind::Function { cite, .. } => (
                "function",
                d.name.name.clone(),
                vec![whole(cite.as_ref(), None)],
            ),
            DeclKind::Accumulator { cite, .. } => (
                "accumulator",
                d.name.name.clone(),
                vec![whole(cite.as_ref(), None)],
            ),
            DeclKind::Exception { cite, .. } => {
                let period = cx
                    .rs
                    .exceptions
                    .iter()
                    .find(|x| x.name == d.name.name)
                    .map(|x| x.period);
                (
                    "exception",
                    d.name.name.clone(),
                    vec![whole(cite.as_ref(), period)],
                )
            }
            DeclKind::Covers { cite, .. } => {
                // Coverage clauses have no name: the clause, without its citation, is its
                // own name and value, so a new citation is a change of `cite`.
                let end = cite
                    .as_ref()
                    .map_or(d.span.end, |c| c.span.start.min(d.span.end));
                let clause = slice(start, end as usize);
                let v = def_version(cx, clause, None, cite.as_ref(), d.span);
                let name = v
                    .value
                    .trim()
                    .trim_start_matches("override")
                    .trim()
                    .trim_start_matches("covers")
                    .trim()
                    .to_string();
                ("covers", name, vec![v])
            }
            _ => continue,
        };
        out.push(Entry {
            kind,
            name,
            versions,
        });
    }
}

fn def_version(
    cx: &Ctx,
    text: &str,
    period: Option<Period>,
    cite: Option<&ast::Citation>,
    span: Span,
) -> EntryVersion {
    let (file, line) = cx.place(span);
    let (cite, status) = match cite.map(|c| &c.kind) {
        None => (None, CiteStatus::Uncited),
        Some(CiteKind::Assumed) => (Some(cite_text(&Cite::Assumed, cx.rs)), CiteStatus::Assumed),
        Some(CiteKind::Text(t)) => (Some(t.clone()), CiteStatus::Cited),
        Some(CiteKind::Source(id, loc)) => {
            let title = cx
                .rs
                .sources
                .iter()
                .find(|s| s.name == id.name)
                .map_or(id.name.as_str(), |s| s.title.as_str());
            let t = match loc {
                Some(l) => format!("{title}, {l}"),
                None => title.to_string(),
            };
            (Some(t), CiteStatus::Cited)
        }
    };
    EntryVersion {
        in_force: period.unwrap_or(Period::ALWAYS).to_string(),
        period,
        value: canonical_text(text, cx.limits),
        columns: IndexMap::new(),
        cite,
        status,
        file,
        line,
    }
}

/// A declaration's text as `rulec fmt` lays it out, comments removed; when the formatter
/// refuses the fragment, the text with its runs of white space made one space.
pub fn canonical_text(text: &str, limits: &Limits) -> String {
    let bare = crate::fmt::strip_comments(text);
    match crate::fmt::format_source(&bare, limits) {
        Ok(t) => t.trim_end().to_string(),
        Err(_) => bare.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}
