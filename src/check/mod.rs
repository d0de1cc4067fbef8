//! Stage 2, check: resolve names, check types and units, check dates, and build the
//! compiled [`Ruleset`](crate::ir::Ruleset).
//!
//! The checker never stops at the first problem. An expression that fails to check gets
//! the type [`Type::Error`], which matches everything, so one mistake gives one diagnostic.
//!
//! Files: `mod.rs` merges layers and declares every name; `data.rs` builds parameters,
//! tables, catalogs, series and bands; `expr.rs` checks and lowers expressions;
//! `dates.rs` checks effective dates; `deps.rs` orders definitions and finds cycles;
//! `period.rs` checks accumulator periods.

mod coverage;
mod data;
mod dates;
mod deps;
mod expr;
mod period;

use crate::diag::{did_you_mean, Code, Diagnostic};
use crate::ir::{self, Cite, Ruleset};
use crate::limits::Limits;
use crate::load::Loader;
use crate::source::Span;
use crate::syntax::ast::{self, CiteKind, Decl, DeclKind, TypeExpr};
use crate::types::{Show, Type};
use std::collections::{HashMap, HashSet};

/// What a global name refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Global {
    Enum(u32),
    Record(u32),
    Source(u32),
    Param(u32),
    Table(u32),
    Catalog(u32),
    Series(u32),
    Bands(u32),
    Def(u32),
    Accum(u32),
    Exception(u32),
    Function(u32),
    Input,
}

impl Global {
    fn kind_name(self) -> &'static str {
        match self {
            Global::Enum(_) => "enum",
            Global::Record(_) => "record",
            Global::Source(_) => "source",
            Global::Param(_) => "param",
            Global::Table(_) => "table",
            Global::Catalog(_) => "catalog",
            Global::Series(_) => "series",
            Global::Bands(_) => "bands",
            Global::Def(_) => "definition",
            Global::Accum(_) => "accumulator",
            Global::Exception(_) => "exception",
            Global::Function(_) => "function",
            Global::Input => "input",
        }
    }
}

/// Every declaration seen, for the unused-declaration warning across a whole run.
#[derive(Clone, Debug, Default)]
pub struct Usage {
    /// Declarations that can be unused: span of the name → (kind, name).
    pub declared: HashMap<Span, (&'static str, String)>,
    /// Declarations some rule refers to (by the span of their name).
    pub used: HashSet<Span>,
}

impl Usage {
    /// Adds another chain's usage.
    pub fn merge(&mut self, other: Usage) {
        self.declared.extend(other.declared);
        self.used.extend(other.used);
    }

    /// Warnings for declarations nothing refers to.
    pub fn warnings(&self) -> Vec<Diagnostic> {
        let mut out: Vec<Diagnostic> = self
            .declared
            .iter()
            .filter(|(span, _)| !self.used.contains(*span))
            .map(|(span, (kind, name))| {
                Diagnostic::new(
                    Code::Unused,
                    *span,
                    format!("{kind} `{name}` is never used"),
                )
                .label("declared here")
                .help("remove it, or use it in a rule")
            })
            .collect();
        out.sort_by_key(|d| d.span);
        out
    }
}

/// The result of checking one ruleset chain.
#[derive(Debug)]
pub struct Checked {
    /// The compiled ruleset (present even when there were errors, for tooling).
    pub ruleset: Ruleset,
    /// Errors and warnings, except unused-declaration warnings.
    pub diags: Vec<Diagnostic>,
    /// Declarations and uses, for unused-declaration warnings.
    pub usage: Usage,
}

pub(crate) struct DeclRef<'a> {
    decl: &'a Decl,
    dir: Option<std::path::PathBuf>,
}

pub(crate) struct Checker<'a> {
    pub(crate) loader: &'a mut Loader,
    pub(crate) limits: Limits,
    pub(crate) diags: Vec<Diagnostic>,
    pub(crate) rs: Ruleset,
    pub(crate) globals: HashMap<String, (Global, Span)>,
    /// Types (enums and records) live in their own namespace: `input claim: claim` is fine.
    pub(crate) types: HashMap<String, (Global, Span)>,
    pub(crate) variants: HashMap<String, Vec<(u32, u32)>>,
    pub(crate) locals: Vec<(String, u32, Type)>,
    /// References made by the body being checked: (global, span of the reference).
    pub(crate) refs: Vec<(Global, Span)>,
    pub(crate) usage: Usage,
    /// Base years used by `adjust`: (series, year, span).
    pub(crate) base_years: Vec<(u32, i64, Span)>,
    /// Name span of each global's declaration.
    pub(crate) decl_spans: HashMap<Global, Span>,
    /// Def index → the references of each version.
    pub(crate) def_refs: Vec<Vec<Vec<(Global, Span)>>>,
    /// Exception index → references in its condition and value.
    pub(crate) exc_refs: Vec<Vec<(Global, Span)>>,
    /// The next free local slot.
    pub(crate) slot_counter: u32,
    /// Functions (`def f(x: T): T = …`), checked once; calls refer to them by index.
    pub(crate) functions: Vec<FnInfo>,
    /// Function index → references in its body.
    pub(crate) fn_refs: Vec<Vec<(Global, Span)>>,
    /// The type of each local slot.
    pub(crate) slot_types: Vec<Type>,
}

/// A function's signature and body.
#[derive(Clone, Debug)]
pub(crate) struct FnInfo {
    pub(crate) name: String,
    pub(crate) params: Vec<(String, Type)>,
    pub(crate) ty: Type,
}

/// Checks one chain of loaded layers (root first) into a compiled ruleset.
pub fn check_chain(loader: &mut Loader, chain: &[usize]) -> Checked {
    let limits = loader.limits.clone();
    let mut c = Checker {
        loader,
        limits,
        diags: Vec::new(),
        rs: Ruleset::default(),
        globals: HashMap::new(),
        types: HashMap::new(),
        variants: HashMap::new(),
        locals: Vec::new(),
        refs: Vec::new(),
        usage: Usage::default(),
        base_years: Vec::new(),
        decl_spans: HashMap::new(),
        def_refs: Vec::new(),
        exc_refs: Vec::new(),
        slot_counter: 0,
        functions: Vec::new(),
        fn_refs: Vec::new(),
        slot_types: Vec::new(),
    };
    let layers: Vec<(String, Option<std::path::PathBuf>, Vec<Decl>)> = chain
        .iter()
        .filter_map(|&i| c.loader.layer(i))
        .map(|l| {
            let decls = l
                .files
                .iter()
                .flat_map(|(_, f)| f.decls.iter().cloned())
                .collect();
            (l.name.clone(), l.dir.clone(), decls)
        })
        .collect();
    if let Some((name, _, _)) = layers.last() {
        c.rs.name = name.clone();
    }
    c.rs.parents = layers
        .iter()
        .rev()
        .skip(1)
        .map(|(n, _, _)| n.clone())
        .collect();
    let decls = c.merge(&layers);
    c.run(&decls);
    Checked {
        ruleset: c.rs,
        diags: c.diags,
        usage: c.usage,
    }
}

impl Checker<'_> {
    pub(crate) fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Applies layering: a child's declaration replaces a parent's only with `override`.
    fn merge<'d>(
        &mut self,
        layers: &'d [(String, Option<std::path::PathBuf>, Vec<Decl>)],
    ) -> Vec<DeclRef<'d>> {
        let mut out: Vec<DeclRef<'d>> = Vec::new();
        let mut index: HashMap<String, (usize, usize)> = HashMap::new(); // name -> (pos in out, layer)
        let mut as_of: Option<(usize, usize)> = None;
        // `covers` clauses accumulate down the chain; `override covers` drops the inherited.
        let mut covers: Vec<(usize, DeclRef<'d>)> = Vec::new();
        let mut covers_reset: Option<usize> = None;
        for (li, (_, dir, decls)) in layers.iter().enumerate() {
            for decl in decls {
                if matches!(decl.kind, DeclKind::Ruleset { .. }) {
                    continue;
                }
                if matches!(decl.kind, DeclKind::Covers { .. }) {
                    if decl.overrides && covers_reset != Some(li) {
                        if !covers.iter().any(|(l, _)| *l < li) {
                            self.err(
                                Diagnostic::new(
                                    Code::OverrideWithoutParent,
                                    decl.span,
                                    "`override covers`, but no parent ruleset declares coverage",
                                )
                                .label("nothing to override")
                                .help("remove `override`: this clause adds to the coverage"),
                            );
                        }
                        covers.retain(|(l, _)| *l == li);
                        covers_reset = Some(li);
                    }
                    covers.push((
                        li,
                        DeclRef {
                            decl,
                            dir: dir.clone(),
                        },
                    ));
                    continue;
                }
                let key = if matches!(decl.kind, DeclKind::AsOf { .. }) {
                    None
                } else if matches!(decl.kind, DeclKind::Enum { .. } | DeclKind::Record { .. }) {
                    Some(format!("type {}", decl.name.name))
                } else {
                    Some(decl.name.name.clone())
                };
                let prev = match &key {
                    Some(k) => index.get(k).copied(),
                    None => as_of,
                };
                let entry = DeclRef {
                    decl,
                    dir: dir.clone(),
                };
                match prev {
                    None => {
                        if decl.overrides {
                            self.err(
                                Diagnostic::new(
                                    Code::OverrideWithoutParent,
                                    decl.name.span,
                                    format!(
                                        "`override` of `{}`, but no parent ruleset defines it",
                                        decl.name.name
                                    ),
                                )
                                .label("nothing to override")
                                .help("remove `override` to declare a new name"),
                            );
                        }
                        let pos = out.len();
                        out.push(entry);
                        match key {
                            Some(k) => {
                                index.insert(k, (pos, li));
                            }
                            None => as_of = Some((pos, li)),
                        }
                    }
                    Some((pos, pli)) => {
                        let old_name_span = out
                            .get(pos)
                            .map(|d| d.decl.name.span)
                            .unwrap_or(decl.name.span);
                        let old_kind = out
                            .get(pos)
                            .map(|d| decl_kind_name(&d.decl.kind))
                            .unwrap_or("");
                        if pli == li {
                            self.err(
                                Diagnostic::new(Code::Duplicate, decl.name.span, format!("`{}` is defined twice", decl.name.name))
                                    .label("second definition")
                                    .with(old_name_span, "first definition")
                                    .help("rename one of them; to give a value for another period, add a `from DATE` version"),
                            );
                        } else if !decl.overrides {
                            self.err(
                                Diagnostic::new(
                                    Code::RedefinedWithoutOverride,
                                    decl.name.span,
                                    format!(
                                        "`{}` is already defined by a parent ruleset",
                                        decl.name.name
                                    ),
                                )
                                .label("redefined here")
                                .with(old_name_span, "parent's definition")
                                .help(format!(
                                    "write `override {}` to replace the parent's definition",
                                    decl_kind_name(&decl.kind)
                                )),
                            );
                        } else if old_kind != decl_kind_name(&decl.kind) {
                            self.err(
                                Diagnostic::new(
                                    Code::OverrideKind,
                                    decl.name.span,
                                    format!(
                                    "`{}` was a {old_kind} in the parent and cannot become a {}",
                                    decl.name.name,
                                    decl_kind_name(&decl.kind)
                                ),
                                )
                                .label("different kind")
                                .with(old_name_span, "parent's definition"),
                            );
                        } else if let Some(slot) = out.get_mut(pos) {
                            *slot = entry;
                            match key {
                                Some(k) => {
                                    index.insert(k, (pos, li));
                                }
                                None => as_of = Some((pos, li)),
                            }
                        }
                    }
                }
            }
        }
        out.extend(covers.into_iter().map(|(_, d)| d));
        out
    }

    fn declare(&mut self, name: &ast::Ident, g: Global) {
        if matches!(g, Global::Enum(_) | Global::Record(_)) {
            self.types.insert(name.name.clone(), (g, name.span));
        } else {
            self.globals.insert(name.name.clone(), (g, name.span));
        }
        self.decl_spans.insert(g, name.span);
    }

    pub(crate) fn mark_used(&mut self, g: Global) {
        if let Some(s) = self.decl_spans.get(&g) {
            self.usage.used.insert(*s);
        }
    }

    fn run(&mut self, decls: &[DeclRef<'_>]) {
        // 1. Types and sources get ids first: every other declaration may use them.
        for d in decls {
            match &d.decl.kind {
                DeclKind::Enum { variants } => {
                    let id = self.rs.enums.len() as u32;
                    let mut names: Vec<String> = Vec::new();
                    let mut seen: HashSet<&str> = HashSet::with_capacity(variants.len());
                    for v in variants {
                        if !seen.insert(v.name.as_str()) {
                            self.err(
                                Diagnostic::new(
                                    Code::Duplicate,
                                    v.span,
                                    format!("enum value `{}` is listed twice", v.name),
                                )
                                .label("again here"),
                            );
                            continue;
                        }
                        self.variants
                            .entry(v.name.clone())
                            .or_default()
                            .push((id, names.len() as u32));
                        names.push(v.name.clone());
                    }
                    self.rs.enums.push(ir::EnumDef {
                        name: d.decl.name.name.clone(),
                        variants: names,
                    });
                    self.declare(&d.decl.name, Global::Enum(id));
                    self.usage
                        .declared
                        .insert(d.decl.name.span, ("enum", d.decl.name.name.clone()));
                }
                DeclKind::Record { .. } => {
                    let id = self.rs.records.len() as u32;
                    self.rs.records.push(ir::RecordDef {
                        name: d.decl.name.name.clone(),
                        fields: Vec::new(),
                    });
                    self.declare(&d.decl.name, Global::Record(id));
                    self.usage
                        .declared
                        .insert(d.decl.name.span, ("record", d.decl.name.name.clone()));
                }
                DeclKind::Source { title, location } => {
                    let id = self.rs.sources.len() as u32;
                    self.rs.sources.push(ir::Source {
                        name: d.decl.name.name.clone(),
                        title: title.clone(),
                        location: location.clone(),
                    });
                    self.declare(&d.decl.name, Global::Source(id));
                    self.usage
                        .declared
                        .insert(d.decl.name.span, ("source", d.decl.name.name.clone()));
                }
                _ => {}
            }
        }
        // 2. Record fields.
        for d in decls {
            if let DeclKind::Record { fields } = &d.decl.kind {
                let Some((Global::Record(id), _)) = self.types.get(&d.decl.name.name).copied()
                else {
                    continue;
                };
                let mut out: Vec<ir::FieldDef> = Vec::new();
                let mut seen: HashSet<&str> = HashSet::with_capacity(fields.len());
                for f in fields {
                    if !seen.insert(f.name.name.as_str()) {
                        self.err(
                            Diagnostic::new(
                                Code::Duplicate,
                                f.name.span,
                                format!("field `{}` is declared twice", f.name.name),
                            )
                            .label("again here"),
                        );
                        continue;
                    }
                    let (ty, digits) = self.field_type(&f.ty);
                    let default = f.default.as_ref().map(|l| self.lit_value(l, &ty));
                    out.push(ir::FieldDef {
                        name: f.name.name.clone(),
                        ty,
                        default,
                        digits,
                    });
                }
                if let Some(r) = self.rs.records.get_mut(id as usize) {
                    r.fields = out;
                }
            }
        }
        self.check_recursive_records(decls);
        // 3. Inputs, data and signatures of computed values.
        for d in decls {
            let decl = d.decl;
            match &decl.kind {
                DeclKind::Input { ty } => {
                    let t = self.resolve_type(ty);
                    if self.rs.input.is_some() {
                        self.err(
                            Diagnostic::new(
                                Code::Duplicate,
                                decl.name.span,
                                "a ruleset has one input",
                            )
                            .label("second input")
                            .help("declare the claim as one record and its parts as fields"),
                        );
                        continue;
                    }
                    self.rs.input = Some((decl.name.name.clone(), t));
                    self.declare(&decl.name, Global::Input);
                }
                DeclKind::Param { ty, versions } => {
                    let id = self.rs.params.len() as u32;
                    let p = self.build_param(decl, ty, versions);
                    self.rs.params.push(p);
                    self.declare(&decl.name, Global::Param(id));
                    self.usage
                        .declared
                        .insert(decl.name.span, ("param", decl.name.name.clone()));
                }
                DeclKind::Table { keys, ty, versions } => {
                    let id = self.rs.tables.len() as u32;
                    let t = self.build_table(decl, keys, ty, versions);
                    self.rs.tables.push(t);
                    self.declare(&decl.name, Global::Table(id));
                    self.usage
                        .declared
                        .insert(decl.name.span, ("table", decl.name.name.clone()));
                }
                DeclKind::Catalog {
                    columns,
                    rest,
                    rows,
                    cite,
                } => {
                    let id = self.rs.catalogs.len() as u32;
                    let cat = self.build_catalog(
                        decl,
                        d.dir.as_deref(),
                        columns,
                        *rest,
                        rows,
                        cite.as_ref(),
                    );
                    self.rs.catalogs.push(cat);
                    self.declare(&decl.name, Global::Catalog(id));
                    self.usage
                        .declared
                        .insert(decl.name.span, ("catalog", decl.name.name.clone()));
                }
                DeclKind::Series { ty, source, cite } => {
                    let id = self.rs.series.len() as u32;
                    let s = self.build_series(decl, d.dir.as_deref(), ty, source, cite.as_ref());
                    self.rs.series.push(s);
                    self.declare(&decl.name, Global::Series(id));
                    self.usage
                        .declared
                        .insert(decl.name.span, ("series", decl.name.name.clone()));
                }
                DeclKind::Bands { versions } => {
                    let id = self.rs.bands.len() as u32;
                    let b = self.build_bands(decl, versions);
                    self.rs.bands.push(b);
                    self.declare(&decl.name, Global::Bands(id));
                    self.usage
                        .declared
                        .insert(decl.name.span, ("bands", decl.name.name.clone()));
                }
                DeclKind::Def { kind, ty, versions } => {
                    let id = self.rs.defs.len() as u32;
                    let ty = match ty {
                        Some(t) => self.resolve_type(t),
                        None => Type::Money,
                    };
                    let heads: Vec<Option<&ast::VersionHead>> =
                        versions.iter().map(|v| v.head.as_ref()).collect();
                    let periods = self.check_versions(&decl.name.name, &heads);
                    let vs = versions
                        .iter()
                        .zip(periods)
                        .map(|(v, period)| ir::Version {
                            period,
                            value: ir::Node {
                                kind: ir::NodeKind::Const(crate::value::Value::None),
                                span: v.value.span,
                                ty: Type::Error,
                            },
                            cite: None,
                            span: v.span,
                        })
                        .collect();
                    self.rs.defs.push(ir::Def {
                        name: decl.name.name.clone(),
                        kind: *kind,
                        ty,
                        versions: vs,
                        exceptions: Vec::new(),
                        span: decl.name.span,
                    });
                    self.declare(&decl.name, Global::Def(id));
                    if *kind == ast::DefKind::Def {
                        self.usage
                            .declared
                            .insert(decl.name.span, ("definition", decl.name.name.clone()));
                    }
                }
                DeclKind::Function {
                    params, ty, body, ..
                } => {
                    let id = self.functions.len() as u32;
                    let ps = params
                        .iter()
                        .map(|(n, t)| (n.name.clone(), self.resolve_type(t)))
                        .collect();
                    let ty = self.resolve_type(ty);
                    self.rs.functions.push(ir::Function {
                        name: decl.name.name.clone(),
                        params: Vec::new(),
                        ty: ty.clone(),
                        body: ir::Node {
                            kind: ir::NodeKind::Const(crate::value::Value::None),
                            span: body.span,
                            ty: Type::Error,
                        },
                        span: decl.name.span,
                    });
                    self.fn_refs.push(Vec::new());
                    self.functions.push(FnInfo {
                        name: decl.name.name.clone(),
                        params: ps,
                        ty,
                    });
                    self.declare(&decl.name, Global::Function(id));
                    self.usage
                        .declared
                        .insert(decl.name.span, ("function", decl.name.name.clone()));
                }
                DeclKind::Accumulator { ty, add, cite, .. } => {
                    let id = self.rs.accumulators.len() as u32;
                    let ty = self.resolve_type(ty);
                    if !ty.is_numeric() {
                        self.err(
                            Diagnostic::new(
                                Code::TypeMismatch,
                                decl.name.span,
                                format!(
                                    "accumulator `{}` must be numeric, not {}",
                                    decl.name.name,
                                    Show(&ty, &self.rs)
                                ),
                            )
                            .label("not a number")
                            .help("accumulators are running totals: money, decimal, int or rate"),
                        );
                    }
                    let _ = add;
                    let cite = self.cite(cite.as_ref());
                    self.rs.accumulators.push(ir::Accumulator {
                        name: decl.name.name.clone(),
                        ty,
                        add: ir::Node {
                            kind: ir::NodeKind::Const(crate::value::Value::None),
                            span: decl.span,
                            ty: Type::Error,
                        },
                        // Set with the body, once the input is declared.
                        period: ir::AccumPeriod::Lifetime,
                        cite,
                        span: decl.name.span,
                    });
                    self.declare(&decl.name, Global::Accum(id));
                }
                DeclKind::Exception { .. } => {
                    let id = self.rs.exceptions.len() as u32;
                    self.rs.exceptions.push(ir::Exception {
                        name: decl.name.name.clone(),
                        target: u32::MAX,
                        period: crate::value::Period::ALWAYS,
                        cond: ir::Node {
                            kind: ir::NodeKind::Const(crate::value::Value::Bool(false)),
                            span: decl.span,
                            ty: Type::Error,
                        },
                        value: ir::Node {
                            kind: ir::NodeKind::Const(crate::value::Value::None),
                            span: decl.span,
                            ty: Type::Error,
                        },
                        cite: None,
                        span: decl.name.span,
                    });
                    self.declare(&decl.name, Global::Exception(id));
                }
                _ => {}
            }
        }
        if self.rs.input.is_none()
            && decls
                .iter()
                .any(|d| matches!(d.decl.kind, DeclKind::Def { .. } | DeclKind::AsOf { .. }))
        {
            let span = decls
                .iter()
                .find(|d| matches!(d.decl.kind, DeclKind::Def { .. }))
                .map(|d| d.decl.name.span);
            if let Some(span) = span {
                self.err(
                    Diagnostic::new(
                        Code::MissingInput,
                        span,
                        "the ruleset computes values but declares no input",
                    )
                    .label("computed from what?")
                    .help("declare the claim: `input claim: Claim`"),
                );
            }
        }
        let covers: Vec<&Decl> = decls.iter().map(|d| d.decl).collect();
        self.build_claim_coverage(&covers);
        // 4. Bodies.
        self.def_refs = vec![Vec::new(); self.rs.defs.len()];
        self.exc_refs = vec![Vec::new(); self.rs.exceptions.len()];
        for d in decls {
            let decl = d.decl;
            match &decl.kind {
                DeclKind::AsOf { expr } => {
                    let (node, ty) = self.expr(expr, Some(&Type::Date));
                    self.expect_type(&ty, &Type::Date, expr.span, "the evaluation date");
                    self.refs.clear();
                    self.rs.as_of = Some(node);
                }
                DeclKind::Def { versions, .. } => {
                    let Some((Global::Def(id), _)) = self.globals.get(&decl.name.name).copied()
                    else {
                        continue;
                    };
                    let ty = self
                        .rs
                        .defs
                        .get(id as usize)
                        .map(|d| d.ty.clone())
                        .unwrap_or(Type::Error);
                    let mut all_refs = Vec::new();
                    for (vi, v) in versions.iter().enumerate() {
                        self.refs.clear();
                        let (node, got) = self.expr(&v.value, Some(&ty));
                        self.expect_type(&got, &ty, v.value.span, &format!("`{}`", decl.name.name));
                        let cite = self.cite(v.cite.as_ref());
                        if let Some(ver) = self
                            .rs
                            .defs
                            .get_mut(id as usize)
                            .and_then(|d| d.versions.get_mut(vi))
                        {
                            ver.value = node;
                            ver.cite = cite;
                        }
                        all_refs.push(std::mem::take(&mut self.refs));
                    }
                    if let Some(slot) = self.def_refs.get_mut(id as usize) {
                        *slot = all_refs;
                    }
                }
                DeclKind::Function { body, .. } => {
                    // Checked and compiled once, with its parameters as locals; calls bind
                    // the parameter slots and evaluate this body.
                    let Some((Global::Function(id), _)) =
                        self.globals.get(&decl.name.name).copied()
                    else {
                        continue;
                    };
                    let Some(info) = self.functions.get(id as usize).cloned() else {
                        continue;
                    };
                    let saved = std::mem::take(&mut self.locals);
                    let mut slots = Vec::with_capacity(info.params.len());
                    for (n, t) in &info.params {
                        let slot = self.alloc_slot(t.clone());
                        self.locals.push((n.clone(), slot, t.clone()));
                        slots.push(slot);
                    }
                    self.refs.clear();
                    let (node, got) = self.expr(body, Some(&info.ty));
                    self.expect_type(&got, &info.ty, body.span, &format!("`{}`", info.name));
                    self.locals = saved;
                    if let Some(f) = self.rs.functions.get_mut(id as usize) {
                        f.params = slots;
                        f.body = node;
                    }
                    if let Some(r) = self.fn_refs.get_mut(id as usize) {
                        *r = std::mem::take(&mut self.refs);
                    }
                    self.refs.clear();
                }
                DeclKind::Accumulator { add, period, .. } => {
                    let Some((Global::Accum(id), _)) = self.globals.get(&decl.name.name).copied()
                    else {
                        continue;
                    };
                    let period = self.accum_period(&decl.name, period.as_ref());
                    let ty = self
                        .rs
                        .accumulators
                        .get(id as usize)
                        .map(|a| a.ty.clone())
                        .unwrap_or(Type::Error);
                    self.refs.clear();
                    let (node, got) = self.expr(add, Some(&ty));
                    self.expect_type(
                        &got,
                        &ty,
                        add.span,
                        &format!("accumulator `{}`", decl.name.name),
                    );
                    self.refs.clear();
                    if let Some(a) = self.rs.accumulators.get_mut(id as usize) {
                        a.add = node;
                        a.period = period;
                    }
                }
                DeclKind::Exception {
                    target,
                    head,
                    cond,
                    value,
                    cite,
                } => {
                    let Some((Global::Exception(id), _)) =
                        self.globals.get(&decl.name.name).copied()
                    else {
                        continue;
                    };
                    self.build_exception(id, target, head.as_ref(), cond, value, cite.as_ref());
                }
                _ => {}
            }
        }
        // 5. Whole-ruleset checks.
        self.check_cycles();
        self.check_coverage();
        self.check_base_years();
        self.check_exception_reachability();
        self.check_citations(decls);
        self.rs.locals = self.slot_counter;
        self.rs.local_types = std::mem::take(&mut self.slot_types);
        self.check_compiled_size();
    }

    /// The compiled size limit: every body counted once (functions are not expanded).
    fn check_compiled_size(&mut self) {
        let limit = self.limits.max_compiled_nodes;
        let mut total = 0usize;
        let mut biggest: Option<(usize, Span)> = None;
        for b in self.rs.bodies() {
            let n = b.size();
            total = total.saturating_add(n);
            if biggest.is_none_or(|(m, _)| n > m) {
                biggest = Some((n, b.span));
            }
        }
        if total > limit {
            let span = biggest.map(|(_, s)| s).unwrap_or(Span {
                file: crate::source::FileId(0),
                start: 0,
                end: 0,
            });
            self.err(
                Diagnostic::new(
                    Code::ProgramTooLarge,
                    span,
                    format!(
                        "the compiled rules have {total} expression nodes, over the limit of {limit}"
                    ),
                )
                .label("the largest body")
                .help("split long expressions into definitions, or raise `Limits::max_compiled_nodes`"),
            );
        }
    }

    /// Every policy number (param, table, bands, catalog, series) says where it comes from:
    /// a version with no `cite` at all gets a warning. Computed values (`def`, `output`,
    /// `fund`, exceptions) need none: their numbers are the cited values they use.
    fn check_citations(&mut self, decls: &[DeclRef<'_>]) {
        let mut missing: Vec<(&'static str, &ast::Ident, Span)> = Vec::new();
        for d in decls {
            let decl = d.decl;
            let name = &decl.name;
            let at = |head: &Option<ast::VersionHead>| head.as_ref().map_or(name.span, |h| h.span);
            match &decl.kind {
                DeclKind::Param { versions, .. } => missing.extend(
                    versions
                        .iter()
                        .filter(|v| v.cite.is_none())
                        .map(|v| ("param", name, at(&v.head))),
                ),
                DeclKind::Table { versions, .. } => missing.extend(
                    versions
                        .iter()
                        .filter(|v| v.cite.is_none())
                        .map(|v| ("table", name, at(&v.head))),
                ),
                DeclKind::Bands { versions } => missing.extend(
                    versions
                        .iter()
                        .filter(|v| v.cite.is_none())
                        .map(|v| ("bands", name, at(&v.head))),
                ),
                DeclKind::Catalog { cite: None, .. } => missing.push(("catalog", name, name.span)),
                DeclKind::Series { cite: None, .. } => missing.push(("series", name, name.span)),
                _ => {}
            }
        }
        for (kind, name, span) in missing {
            self.diags.push(
                Diagnostic::new(
                    Code::Uncited,
                    span,
                    format!("{kind} `{}` does not say where its value comes from", name.name),
                )
                .label("no `cite`")
                .help("add `cite SOURCE \"§ locator\"` for a declared `source`, `cite \"document\"`, or `cite assumed` when no document gives the value"),
            );
        }
    }

    fn build_exception(
        &mut self,
        id: u32,
        target: &ast::Ident,
        head: Option<&ast::VersionHead>,
        cond: &ast::Expr,
        value: &ast::Expr,
        cite: Option<&ast::Citation>,
    ) {
        let def = match self.globals.get(&target.name).copied() {
            Some((Global::Def(d), _)) => Some(d),
            Some((g, _)) => {
                self.err(
                    Diagnostic::new(
                        Code::WrongKind,
                        target.span,
                        format!(
                            "`{}` is a {}; exceptions apply to `def`, `output` and `fund`",
                            target.name,
                            g.kind_name()
                        ),
                    )
                    .label("not a definition"),
                );
                None
            }
            None => {
                let cands: Vec<&str> = self.def_names();
                let sugg = did_you_mean(&target.name, cands).map(str::to_string);
                self.err(
                    Diagnostic::new(
                        Code::UnknownName,
                        target.span,
                        format!("no definition named `{}`", target.name),
                    )
                    .label("unknown")
                    .suggest(sugg.as_deref()),
                );
                None
            }
        };
        let ty = def
            .and_then(|d| self.rs.defs.get(d as usize))
            .map(|d| d.ty.clone())
            .unwrap_or(Type::Error);
        self.refs.clear();
        let (cnode, cty) = self.expr(cond, Some(&Type::Bool));
        self.expect_type(&cty, &Type::Bool, cond.span, "an exception's condition");
        let (vnode, vty) = self.expr(value, Some(&ty));
        self.expect_type(&vty, &ty, value.span, &format!("`{}`", target.name));
        let refs = std::mem::take(&mut self.refs);
        let period = match head {
            Some(h) => self
                .check_versions(&target.name, &[Some(h)])
                .into_iter()
                .next()
                .unwrap_or(crate::value::Period::ALWAYS),
            None => crate::value::Period::ALWAYS,
        };
        let cite = self.cite(cite);
        if let Some(d) = def {
            self.mark_used(Global::Def(d));
            if let Some(def) = self.rs.defs.get_mut(d as usize) {
                def.exceptions.push(id);
            }
        }
        if let Some(slot) = self.exc_refs.get_mut(id as usize) {
            *slot = refs;
        }
        if let Some(e) = self.rs.exceptions.get_mut(id as usize) {
            e.target = def.unwrap_or(u32::MAX);
            e.period = period;
            e.cond = cnode;
            e.value = vnode;
            e.cite = cite;
        }
    }

    pub(crate) fn def_names(&self) -> Vec<&str> {
        self.globals
            .iter()
            .filter(|(_, (g, _))| matches!(g, Global::Def(_)))
            .map(|(n, _)| n.as_str())
            .collect()
    }

    fn check_recursive_records(&mut self, decls: &[DeclRef<'_>]) {
        let n = self.rs.records.len();
        for start in 0..n {
            // Depth-first through non-list fields.
            let mut stack = vec![start as u32];
            let mut seen = HashSet::new();
            while let Some(r) = stack.pop() {
                let Some(rec) = self.rs.records.get(r as usize) else {
                    continue;
                };
                for f in &rec.fields {
                    if let Type::Record(x) = f.ty.unwrap_optional() {
                        if *x == start as u32 {
                            let name = self
                                .rs
                                .records
                                .get(start)
                                .map(|r| r.name.clone())
                                .unwrap_or_default();
                            if let Some(d) = decls.iter().find(|d| d.decl.name.name == name) {
                                let span = d.decl.name.span;
                                self.diags.push(
                                    Diagnostic::new(Code::RecursiveType, span, format!("record `{name}` contains itself"))
                                        .label("through its fields")
                                        .help("a record may hold a `list<...>` of itself, never itself directly"),
                                );
                            }
                            stack.clear();
                            break;
                        }
                        if seen.insert(*x) {
                            stack.push(*x);
                        }
                    }
                }
            }
        }
    }

    /// A record field's type, and the fraction digits it declares (`money(4)`,
    /// `list<decimal(6)>?`).
    fn field_type(&mut self, t: &TypeExpr) -> (Type, Option<u32>) {
        match t {
            TypeExpr::Digits(inner, text, span) => {
                let ty = self.resolve_type(inner);
                let digits = self.digits(&ty, text, *span);
                (ty, digits)
            }
            TypeExpr::List(inner, _) => {
                let (ty, digits) = self.field_type(inner);
                (Type::List(Box::new(ty)), digits)
            }
            TypeExpr::Optional(inner, _) => {
                let (ty, digits) = self.field_type(inner);
                (Type::Optional(Box::new(ty)), digits)
            }
            TypeExpr::Named(_) => (self.resolve_type(t), None),
        }
    }

    /// The digits of `money(N)`: N from 0 to 28, on money, decimal or rate.
    fn digits(&mut self, ty: &Type, text: &str, span: Span) -> Option<u32> {
        if !matches!(ty, Type::Money | Type::Decimal | Type::Rate | Type::Error) {
            self.err(
                Diagnostic::new(
                    Code::BadDigits,
                    span,
                    format!(
                        "`{}` has no fraction digits to bound",
                        crate::types::Show(ty, &self.rs)
                    ),
                )
                .label("fraction digits on a type that is not a number with a fraction")
                .help("only money, decimal and rate take a number of fraction digits, e.g. `unit_price: money(4)`"),
            );
            return None;
        }
        match text.parse::<u32>() {
            Ok(n) if n <= 28 => Some(n),
            _ => {
                self.err(
                    Diagnostic::new(
                        Code::BadDigits,
                        span,
                        format!("`{text}` is not a number of fraction digits"),
                    )
                    .label("expected a whole number from 0 to 28")
                    .help("a decimal holds at most 28 fraction digits; money is in fen (2) unless declared finer, e.g. `money(4)`"),
                );
                None
            }
        }
    }

    pub(crate) fn resolve_type(&mut self, t: &TypeExpr) -> Type {
        match t {
            TypeExpr::Digits(inner, _, span) => {
                self.err(
                    Diagnostic::new(
                        Code::BadDigits,
                        *span,
                        "fraction digits are declared where numbers enter: on record fields, catalog columns and series",
                    )
                    .label("not a record field, catalog column or series")
                    .help("a claim's and a catalog's numbers are bounded where they are declared, e.g. `record Item { unit_price: money(4) }` or `catalog drugs { price: money(4), .. }`; rules compute exactly"),
                );
                self.resolve_type(inner)
            }
            TypeExpr::List(inner, _) => Type::List(Box::new(self.resolve_type(inner))),
            TypeExpr::Optional(inner, _) => Type::Optional(Box::new(self.resolve_type(inner))),
            TypeExpr::Named(id) => match id.name.as_str() {
                "money" => Type::Money,
                "rate" => Type::Rate,
                "decimal" => Type::Decimal,
                "int" => Type::Int,
                "bool" => Type::Bool,
                "date" => Type::Date,
                "text" => Type::Text,
                name => match self.types.get(name).copied() {
                    Some((Global::Enum(e), _)) => {
                        self.mark_used(Global::Enum(e));
                        Type::Enum(e)
                    }
                    Some((Global::Record(r), _)) => {
                        self.mark_used(Global::Record(r));
                        Type::Record(r)
                    }
                    _ => {
                        let mut cands: Vec<&str> =
                            vec!["money", "rate", "decimal", "int", "bool", "date", "text"];
                        cands.extend(self.types.keys().map(String::as_str));
                        let sugg = did_you_mean(name, cands).map(str::to_string);
                        self.err(
                            Diagnostic::new(Code::UnknownType, id.span, format!("unknown type `{name}`"))
                                .label("not a type")
                                .suggest(sugg.as_deref())
                                .help(sugg.as_deref().map(|s| format!("did you mean `{s}`?")).unwrap_or_else(|| {
                                    "types are money, rate, decimal, int, bool, date, text, list<T>, T?, or a declared enum or record".into()
                                })),
                        );
                        Type::Error
                    }
                },
            },
        }
    }

    pub(crate) fn cite(&mut self, c: Option<&ast::Citation>) -> Option<Cite> {
        let c = c?;
        Some(match &c.kind {
            CiteKind::Assumed => Cite::Assumed,
            CiteKind::Text(t) => Cite::Text(t.clone()),
            CiteKind::Source(id, loc) => match self.globals.get(&id.name).copied() {
                Some((Global::Source(s), _)) => {
                    self.mark_used(Global::Source(s));
                    Cite::Source {
                        source: s,
                        locator: loc.clone(),
                    }
                }
                _ => {
                    let cands: Vec<&str> = self
                        .globals
                        .iter()
                        .filter(|(_, (g, _))| matches!(g, Global::Source(_)))
                        .map(|(n, _)| n.as_str())
                        .collect();
                    let sugg = did_you_mean(&id.name, cands).map(str::to_string);
                    self.err(
                        Diagnostic::new(Code::UnknownSource, id.span, format!("no source named `{}`", id.name))
                            .label("not a declared source")
                            .help(match sugg {
                                Some(s) => format!("did you mean `{s}`?"),
                                None => format!("declare it: `source {} \"title of the document\"`, or write `cite assumed`", id.name),
                            }),
                    );
                    Cite::Text(id.name.clone())
                }
            },
        })
    }

    /// Reports a type mismatch unless `got` fits `want`.
    pub(crate) fn expect_type(&mut self, got: &Type, want: &Type, span: Span, what: &str) -> bool {
        if fits(got, want) {
            return true;
        }
        let msg = format!(
            "{what} must be {}, but this is {}",
            Show(want, &self.rs),
            Show(got, &self.rs)
        );
        let help = conversion_help(got, want);
        self.err(
            Diagnostic::new(Code::TypeMismatch, span, msg)
                .label(format!("this is {}", Show(got, &self.rs)))
                .help(help),
        );
        false
    }
}

/// True when a value of type `got` may be used where `want` is expected.
pub(crate) fn fits(got: &Type, want: &Type) -> bool {
    match (got, want) {
        (Type::Error, _) | (_, Type::Error) => true,
        (Type::Int, Type::Decimal) => true,
        (Type::Optional(g), Type::Optional(w)) => fits(g, w),
        (g, Type::Optional(w)) => fits(g, w),
        (Type::List(g), Type::List(w)) => fits(g, w),
        (g, w) => g == w,
    }
}

fn conversion_help(got: &Type, want: &Type) -> String {
    match (got, want) {
        (Type::Decimal | Type::Int, Type::Money) => {
            "write the amount as money: `to_money(x)`".into()
        }
        (Type::Decimal | Type::Int, Type::Rate) => {
            "write a rate with `%` (e.g. `80%`), or convert with `to_rate(x)`".into()
        }
        (Type::Money | Type::Rate, Type::Decimal) => {
            "convert explicitly with `to_decimal(x)`".into()
        }
        (Type::Optional(_), _) => "give a default for the missing case: `value ?? default`".into(),
        _ => "change the expression or the declared type so they agree".into(),
    }
}

fn decl_kind_name(k: &DeclKind) -> &'static str {
    match k {
        DeclKind::Ruleset { .. } => "ruleset",
        DeclKind::Source { .. } => "source",
        DeclKind::Enum { .. } => "enum",
        DeclKind::Record { .. } => "record",
        DeclKind::Input { .. } => "input",
        DeclKind::AsOf { .. } => "as_of",
        DeclKind::Covers { .. } => "covers",
        DeclKind::Param { .. } => "param",
        DeclKind::Def {
            kind: ast::DefKind::Def,
            ..
        } => "def",
        DeclKind::Def {
            kind: ast::DefKind::Output,
            ..
        } => "output",
        DeclKind::Def {
            kind: ast::DefKind::Fund,
            ..
        } => "fund",
        DeclKind::Function { .. } => "def",
        DeclKind::Accumulator { .. } => "accumulator",
        DeclKind::Exception { .. } => "exception",
        DeclKind::Table { .. } => "table",
        DeclKind::Catalog { .. } => "catalog",
        DeclKind::Series { .. } => "series",
        DeclKind::Bands { .. } => "bands",
    }
}
