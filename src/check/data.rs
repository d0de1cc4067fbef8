//! Data declarations: literals, parameters, tables, catalogs, series and bands.

use super::{Checker, Global};
use crate::csv;
use crate::diag::{did_you_mean, Code, Diagnostic};
use crate::ir::{self, CatalogRow, Column, Version};
use crate::load::DataFile;
use crate::source::Span;
use crate::syntax::ast::{self, Decl, Lit, LitExpr, RowSource, SeriesSource};
use crate::types::{Show, Type};
use crate::value::{parse_exact, percent_to_fraction, Date, Money, NotExact, Period, Rate, Value};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

impl Checker<'_> {
    /// Warns about a rate above 100%.
    pub(crate) fn check_rate(&mut self, r: Decimal, span: Span) {
        if r > Decimal::ONE {
            self.err(
                Diagnostic::new(
                    Code::RateAbove100,
                    span,
                    format!("the rate {}% is above 100%", crate::value::Percent(r)),
                )
                .label("more than the whole amount")
                .help("a rate above 100% pays more than the cost; check for a typo"),
            );
        }
    }

    /// The value of a literal at a declared type.
    pub(crate) fn lit_value(&mut self, l: &LitExpr, ty: &Type) -> Value {
        let mismatch = |c: &mut Self, what: &str| {
            let msg = format!("expected {}, found {what}", Show(ty, &c.rs));
            c.err(
                Diagnostic::new(Code::TypeMismatch, l.span, msg)
                    .label(format!("this is {what}"))
                    .help(match ty {
                        Type::Rate => "write rates with a percent sign, e.g. `80%`",
                        Type::Money | Type::Decimal | Type::Int => {
                            "write a number, e.g. `4500` or `0.5`"
                        }
                        Type::Date => "write a date as YYYY-MM-DD",
                        Type::Text => "write text in double quotes",
                        Type::Enum(_) => "write one of the enum's values",
                        _ => "write a constant of the declared type",
                    }),
            );
            Value::None
        };
        match (&l.lit, ty) {
            (_, Type::Error) => Value::None,
            (Lit::None, Type::Optional(_)) => Value::None,
            (Lit::None, Type::Enum(e)) => {
                let id = ast::Ident {
                    name: "none".into(),
                    span: l.span,
                };
                self.variant_value(*e, &id)
            }
            (_, Type::Optional(inner)) => self.lit_value(l, inner),
            (Lit::Number(d), Type::Money) => Value::Money(Money(*d)),
            (Lit::Number(d), Type::Decimal) => Value::Decimal(*d),
            (Lit::Number(d), Type::Int) => match int_of(*d) {
                Some(i) => Value::Int(i),
                None => mismatch(self, "a number with a fraction"),
            },
            (Lit::Percent(d), Type::Rate) => {
                self.check_rate(*d, l.span);
                Value::Rate(Rate(*d))
            }
            (Lit::Date(d), Type::Date) => Value::Date(*d),
            (Lit::Text(t), Type::Text) => Value::Text(Arc::from(t.as_str())),
            (Lit::Bool(b), Type::Bool) => Value::Bool(*b),
            (Lit::Variant(v), Type::Enum(e)) => self.variant_value(*e, v),
            (Lit::List(items), Type::List(t)) => {
                let vs: Vec<Value> = items.iter().map(|i| self.lit_value(i, t)).collect();
                Value::List(Arc::from(vs))
            }
            (Lit::List(_), _) => mismatch(self, "a list"),
            (Lit::Qualified(en, v), Type::Enum(e)) => {
                let name = self
                    .rs
                    .enums
                    .get(*e as usize)
                    .map(|x| x.name.clone())
                    .unwrap_or_default();
                if en.name != name {
                    return mismatch(self, &format!("a value of `{}`", en.name));
                }
                self.variant_value(*e, v)
            }
            (Lit::Number(_), _) => mismatch(self, "a number"),
            (Lit::Percent(_), _) => mismatch(self, "a rate"),
            (Lit::Date(_), _) => mismatch(self, "a date"),
            (Lit::Text(_), _) => mismatch(self, "text"),
            (Lit::Bool(_), _) => mismatch(self, "a bool"),
            (Lit::None, _) => mismatch(self, "`none`"),
            (Lit::Variant(v), _) | (Lit::Qualified(_, v), _) => {
                let what = format!("the name `{}`", v.name);
                mismatch(self, &what)
            }
        }
    }

    pub(crate) fn variant_value(&mut self, e: u32, v: &ast::Ident) -> Value {
        self.mark_used(Global::Enum(e));
        let Some(en) = self.rs.enums.get(e as usize) else {
            return Value::None;
        };
        match en.variants.iter().position(|x| *x == v.name) {
            Some(i) => Value::Enum(e, i as u32),
            None => {
                let sugg = did_you_mean(&v.name, en.variants.iter().map(String::as_str))
                    .map(str::to_string);
                let list = en.variants.join(", ");
                let name = en.name.clone();
                self.err(
                    Diagnostic::new(
                        Code::UnknownName,
                        v.span,
                        format!("`{}` is not a value of enum `{name}`", v.name),
                    )
                    .label("unknown value")
                    .help(match sugg {
                        Some(s) => format!("did you mean `{s}`? The values are: {list}"),
                        None => format!("the values of `{name}` are: {list}"),
                    }),
                );
                Value::None
            }
        }
    }

    pub(crate) fn build_param(
        &mut self,
        decl: &Decl,
        ty: &ast::TypeExpr,
        versions: &[ast::Versioned<LitExpr>],
    ) -> ir::Param {
        let ty = self.resolve_type(ty);
        let heads: Vec<Option<&ast::VersionHead>> =
            versions.iter().map(|v| v.head.as_ref()).collect();
        let periods = self.check_versions(&decl.name.name, &heads);
        let mut out = Vec::new();
        for (v, period) in versions.iter().zip(periods) {
            let value = self.lit_value(&v.value, &ty);
            let cite = self.cite(v.cite.as_ref());
            out.push(Version {
                period,
                value,
                cite,
                span: v.span,
            });
        }
        ir::Param {
            name: decl.name.name.clone(),
            ty,
            versions: out,
            span: decl.name.span,
        }
    }

    pub(crate) fn build_table(
        &mut self,
        decl: &Decl,
        keys: &[(ast::Ident, ast::TypeExpr)],
        ty: &ast::TypeExpr,
        versions: &[ast::Versioned<Vec<ast::TableRow>>],
    ) -> ir::Table {
        let key_types: Vec<Type> = keys.iter().map(|(_, t)| self.resolve_type(t)).collect();
        for ((k, _), t) in keys.iter().zip(&key_types) {
            if !matches!(
                t,
                Type::Enum(_) | Type::Int | Type::Bool | Type::Text | Type::Error
            ) {
                let msg = format!(
                    "table key `{}` is {}; keys are enums, int, bool or text",
                    k.name,
                    Show(t, &self.rs)
                );
                self.err(Diagnostic::new(Code::TypeMismatch, k.span, msg).label("cannot be a key"));
            }
        }
        let vty = self.resolve_type(ty);
        let heads: Vec<Option<&ast::VersionHead>> =
            versions.iter().map(|v| v.head.as_ref()).collect();
        let periods = self.check_versions(&decl.name.name, &heads);
        let mut out = Vec::new();
        for (v, period) in versions.iter().zip(periods) {
            let mut rows: ir::TableRows = ir::TableRows::default();
            let mut first_at: HashMap<Vec<Value>, Span> = HashMap::new();
            for row in &v.value {
                if row.keys.len() != key_types.len() {
                    self.err(
                        Diagnostic::new(
                            Code::RowArity,
                            row.span,
                            format!(
                                "this row has {} key(s), but table `{}` has {}",
                                row.keys.len(),
                                decl.name.name,
                                key_types.len()
                            ),
                        )
                        .label("wrong number of keys")
                        .help(format!(
                            "write `{} => value`",
                            keys.iter()
                                .map(|(k, _)| k.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                    );
                    continue;
                }
                let kv: Vec<Value> = row
                    .keys
                    .iter()
                    .zip(&key_types)
                    .map(|(l, t)| self.lit_value(l, t))
                    .collect();
                let val = self.lit_value(&row.value, &vty);
                if let Some(first) = first_at.get(&kv) {
                    self.err(
                        Diagnostic::new(Code::DuplicateRow, row.span, "two rows for the same keys")
                            .label("second row")
                            .with(*first, "first row")
                            .help("keep one row per combination of keys"),
                    );
                    continue;
                }
                first_at.insert(kv.clone(), row.span);
                rows.insert(kv, val);
            }
            self.check_table_complete(decl, &key_types, &rows, v.span);
            let cite = self.cite(v.cite.as_ref());
            out.push(Version {
                period,
                value: rows,
                cite,
                span: v.span,
            });
        }
        ir::Table {
            name: decl.name.name.clone(),
            keys: key_types,
            ty: vty,
            versions: out,
            span: decl.name.span,
        }
    }

    fn check_table_complete(
        &mut self,
        decl: &Decl,
        key_types: &[Type],
        rows: &ir::TableRows,
        span: Span,
    ) {
        // Only tables keyed by enums and bools can be complete; count the combinations first.
        let mut domains: Vec<Vec<(Value, String)>> = Vec::new();
        for t in key_types {
            match t {
                Type::Enum(e) => {
                    let vs = self
                        .rs
                        .enums
                        .get(*e as usize)
                        .map(|e| e.variants.clone())
                        .unwrap_or_default();
                    domains.push(
                        vs.into_iter()
                            .enumerate()
                            .map(|(i, n)| (Value::Enum(*e, i as u32), n))
                            .collect(),
                    );
                }
                Type::Bool => domains.push(vec![
                    (Value::Bool(false), "false".into()),
                    (Value::Bool(true), "true".into()),
                ]),
                _ => return,
            }
        }
        let total: usize = domains.iter().map(Vec::len).product();
        if total > 10_000 {
            return;
        }
        let mut missing = Vec::new();
        let mut combo = vec![0usize; domains.len()];
        'outer: for _ in 0..total {
            let key: Vec<Value> = combo
                .iter()
                .zip(&domains)
                .filter_map(|(&i, d)| d.get(i).map(|x| x.0.clone()))
                .collect();
            if !rows.contains_key(&key) {
                let names: Vec<String> = combo
                    .iter()
                    .zip(&domains)
                    .filter_map(|(&i, d)| d.get(i).map(|x| x.1.clone()))
                    .collect();
                missing.push(names.join(", "));
            }
            for pos in (0..combo.len()).rev() {
                if let (Some(c), Some(d)) = (combo.get_mut(pos), domains.get(pos)) {
                    *c += 1;
                    if *c < d.len() {
                        continue 'outer;
                    }
                    *c = 0;
                }
            }
        }
        if !missing.is_empty() {
            let shown: Vec<String> = missing.iter().take(5).map(|m| format!("`{m}`")).collect();
            let more = if missing.len() > 5 {
                format!(" and {} more", missing.len() - 5)
            } else {
                String::new()
            };
            self.err(
                Diagnostic::new(
                    Code::TableIncomplete,
                    span,
                    format!(
                        "table `{}` has no row for {}{more}",
                        decl.name.name,
                        shown.join(", ")
                    ),
                )
                .label("rows missing in this version")
                .help("add a row for every combination of keys, so no claim finds a hole"),
            );
        }
    }

    /// The text of a data file named by `from "…"`: read by the loader (from disk, or given
    /// in memory); the checker reads nothing itself.
    fn load_csv(
        &mut self,
        dir: Option<&Path>,
        rel: &str,
        span: Span,
    ) -> Option<(crate::source::FileId, Arc<str>)> {
        let entry = match dir {
            None => match self.loader.memory_files.get(rel) {
                Some(&id) => DataFile::Read(id, None),
                None => DataFile::Failed(format!("no in-memory file named `{rel}`")),
            },
            Some(d) => self
                .loader
                .data_files
                .get(&(d.to_path_buf(), rel.to_string()))
                .cloned()
                .unwrap_or_else(|| DataFile::Failed(format!("`{rel}` was not loaded"))),
        };
        match entry {
            DataFile::Read(id, problem) => {
                if let Some(d) = problem {
                    // Reported once, however many declarations read the file.
                    if !self.diags.contains(&d) && !self.loader.diags.contains(&d) {
                        self.err(d);
                    }
                    return None;
                }
                let text = self.loader.map.get(id).map(|f| f.text.clone())?;
                if text.len() > self.limits.max_source_bytes {
                    self.err(
                        Diagnostic::new(
                            Code::SourceTooLarge,
                            span,
                            format!(
                                "`{rel}` is over the limit of {} bytes",
                                self.limits.max_source_bytes
                            ),
                        )
                        .label("this file"),
                    );
                    return None;
                }
                Some((id, text))
            }
            DataFile::Failed(why) => {
                let help = if dir.is_some() {
                    "CSV paths are relative to the directory of the rule file"
                } else {
                    "pass the CSV file among the sources, under the name `from` gives"
                };
                self.err(
                    Diagnostic::new(Code::CatalogFile, span, why)
                        .label("this file")
                        .help(help),
                );
                None
            }
        }
    }

    /// Parses one CSV cell as a value of a column type, exactly, within the column's
    /// fraction digits (`digits`, or the type's default).
    fn cell_value(
        &mut self,
        text: &str,
        ty: &Type,
        digits: Option<u32>,
        span: Span,
        column: &str,
    ) -> Option<Value> {
        let t = text.trim();
        let bad = |c: &mut Self, expected: &str| {
            c.err(
                Diagnostic::new(
                    Code::CsvBadValue,
                    span,
                    format!("column `{column}`: expected {expected}, found `{t}`"),
                )
                .label(format!("not {expected}"))
                .help("fix the cell, or change the column's declared type"),
            );
            None
        };
        // A NUL or other control character (a broken export) would make a code that no
        // claim can match: refused, named by its code point. Tabs and line breaks may sit
        // inside a quoted text cell.
        if let Some(ctl) = t
            .chars()
            .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            self.err(
                Diagnostic::new(
                    Code::CsvBadValue,
                    span,
                    format!(
                        "column `{column}`: the cell holds the control character U+{:04X}",
                        u32::from(ctl)
                    ),
                )
                .label("control character")
                .help("remove it from the cell; it is invisible in a spreadsheet and no claim's code can match it"),
            );
            return None;
        }
        let numeric = matches!(
            ty,
            Type::Money | Type::Decimal | Type::Int | Type::Rate | Type::Date | Type::Bool
        );
        if let Some(ascii) = fullwidth_to_ascii(t).filter(|_| numeric) {
            self.err(
                Diagnostic::new(
                    Code::CsvBadValue,
                    span,
                    format!("column `{column}`: `{t}` is written in full-width characters"),
                )
                .label("full-width")
                .help(format!(
                    "write `{ascii}` (ASCII digits and signs; a Chinese input method often types full-width ones)"
                )),
            );
            return None;
        }
        match ty {
            Type::Optional(inner) => {
                if t.is_empty() {
                    Some(Value::None)
                } else {
                    self.cell_value(text, inner, digits, span, column)
                }
            }
            _ if t.is_empty() => bad(self, &format!("{} (the cell is empty)", Show(ty, &self.rs))),
            Type::Text => Some(Value::Text(Arc::from(t))),
            Type::Money | Type::Decimal => match parse_exact(t) {
                Ok(d) => {
                    let v = if *ty == Type::Money {
                        Value::Money(Money(d))
                    } else {
                        Value::Decimal(d)
                    };
                    self.within_digits(&v, t, digits, span, &format!("column `{column}`"))
                        .then_some(v)
                }
                Err(NotExact::Syntax) if *ty == Type::Money => bad(self, "an amount"),
                Err(NotExact::Syntax) => bad(self, "a decimal"),
                Err(why) => self.inexact_cell(t, why, span, column),
            },
            Type::Int => match t.parse::<i64>() {
                Ok(i) => Some(Value::Int(i)),
                Err(_) => bad(self, "an integer"),
            },
            Type::Rate => {
                let Some(p) = t.strip_suffix('%') else {
                    let hint = match parse_exact(t) {
                        Err(NotExact::Syntax) => "write a rate such as `10%`".to_string(),
                        _ => format!(
                            "write the rate with a percent sign, `{t}%`; a bare number is ambiguous (is `0.1` 10% or 0.1%?)"
                        ),
                    };
                    self.err(
                        Diagnostic::new(
                            Code::CsvBadValue,
                            span,
                            format!(
                                "column `{column}`: expected a rate such as `10%`, found `{t}`"
                            ),
                        )
                        .label("no `%`")
                        .help(hint),
                    );
                    return None;
                };
                let pct = match parse_exact(p.trim()) {
                    Ok(d) => d,
                    Err(NotExact::Syntax) => return bad(self, "a rate such as `10%`"),
                    Err(why) => return self.inexact_cell(t, why, span, column),
                };
                // As a fraction, 2 more fraction digits: beyond 28 it is not exact, and
                // then beyond any column's digits too.
                let fraction = pct.normalize().scale() as usize + 2;
                match percent_to_fraction(pct) {
                    Some(d) => {
                        let v = Value::Rate(Rate(d));
                        self.within_digits(&v, t, digits, span, &format!("column `{column}`"))
                            .then_some(v)
                    }
                    None => self.inexact_cell(
                        t,
                        NotExact::TooManyDigits {
                            significant: 0,
                            fraction,
                        },
                        span,
                        column,
                    ),
                }
            }
            Type::Bool => {
                if t.eq_ignore_ascii_case("true") {
                    Some(Value::Bool(true))
                } else if t.eq_ignore_ascii_case("false") {
                    Some(Value::Bool(false))
                } else {
                    bad(self, "`true` or `false`")
                }
            }
            Type::Date => match Date::parse(t) {
                Ok(d) => Some(Value::Date(d)),
                Err(why) => bad(self, &format!("a date ({why})")),
            },
            Type::Enum(e) => {
                let en = self.rs.enums.get(*e as usize)?;
                match en.variants.iter().position(|v| v == t) {
                    Some(i) => Some(Value::Enum(*e, i as u32)),
                    None => {
                        let list = en.variants.join(", ");
                        bad(self, &format!("one of {list}"))
                    }
                }
            }
            _ => bad(self, "a value of a simple type"),
        }
    }

    /// A number cell with more digits than an exact decimal holds: refused, never rounded.
    fn inexact_cell(&mut self, t: &str, why: NotExact, span: Span, column: &str) -> Option<Value> {
        self.err(
            Diagnostic::new(
                Code::CellTooPrecise,
                span,
                format!("column `{column}`: `{}` {}", shorten(t), why.why()),
            )
            .label("more digits than an exact decimal holds")
            .help("rulec never rounds a catalog or series value: write the number the policy gives, with at most 28 significant digits"),
        );
        None
    }

    /// True when a money, decimal or rate value of a catalog or series cell carries no more
    /// fraction digits than its column allows (`money(4)`), or the type's default: money in
    /// fen (2), decimals and rates 4 (a rate as a fraction, so `12.34%` is 4), as a claim's
    /// fields. Trailing zeros carry no precision. Otherwise an error at the cell, naming its
    /// `place` (``column `price` `` or ``series `cpi`, year 2024``).
    fn within_digits(
        &mut self,
        v: &Value,
        shown: &str,
        digits: Option<u32>,
        span: Span,
        place: &str,
    ) -> bool {
        let (d, ty) = match v {
            Value::Money(m) => (m.0, "money"),
            Value::Rate(r) => (r.0, "rate"),
            Value::Decimal(d) => (*d, "decimal"),
            _ => return true,
        };
        let max = digits.unwrap_or(if ty == "money" { 2 } else { 4 });
        let n = d.normalize().scale();
        if n <= max {
            return true;
        }
        let shown = shorten(shown);
        let message = match ty {
            "money" if max == 2 => format!(
                "{place}: `{shown}` has {n} fraction digits; an amount is in fen (2 digits) unless its type declares finer, e.g. `money(4)`"
            ),
            "rate" => format!(
                "{place}: `{shown}` has {n} fraction digits as a fraction, more than the {max} its type allows"
            ),
            _ => format!(
                "{place}: `{shown}` has {n} fraction digits, more than the {max} its type allows"
            ),
        };
        self.err(
            Diagnostic::new(Code::CellTooPrecise, span, message)
                .label(format!("at most {max} fraction digits"))
                .help(format!(
                    "if the policy gives this precision, declare it on the type, e.g. `{ty}({n})`; rulec never rounds a catalog or series value"
                )),
        );
        false
    }

    pub(crate) fn build_catalog(
        &mut self,
        decl: &Decl,
        dir: Option<&Path>,
        columns: &[ast::ColumnDecl],
        rest: Option<Span>,
        rows: &RowSource,
        cite: Option<&ast::Citation>,
    ) -> Arc<ir::Catalog> {
        let cols: Vec<Column> = columns
            .iter()
            .map(|c| {
                let (ty, digits) = self.field_type(&c.ty);
                Column {
                    name: c.name.name.clone(),
                    ty,
                    digits,
                }
            })
            .collect();
        // Shared across the router's chains: a parent's catalog is built once.
        let fingerprint = self
            .loader
            .catalogs
            .on
            .then(|| self.catalog_fingerprint(&cols));
        if let Some(f) = &fingerprint {
            let hit = self
                .loader
                .catalogs
                .built
                .get(&decl.span)
                .and_then(|v| v.iter().find(|(g, _)| g == f));
            if let Some((_, cat)) = hit {
                return cat.clone();
            }
        }
        let errors_before = self.diags.iter().filter(|d| d.is_error()).count();
        let cat = Arc::new(self.build_catalog_rows(decl, dir, cols, columns, rest, rows, cite));
        let clean = self.diags.iter().filter(|d| d.is_error()).count() == errors_before;
        if let (Some(f), true) = (fingerprint, clean) {
            self.loader
                .catalogs
                .built
                .entry(decl.span)
                .or_default()
                .push((f, cat.clone()));
        }
        cat
    }

    /// What a catalog's build depends on beyond its declaration and CSV text.
    fn catalog_fingerprint(&self, cols: &[Column]) -> crate::load::CatalogFingerprint {
        fn enums_of(t: &Type, out: &mut Vec<u32>) {
            match t {
                Type::Enum(e) => out.push(*e),
                Type::List(x) | Type::Optional(x) => enums_of(x, out),
                _ => {}
            }
        }
        let mut ids = Vec::new();
        for c in cols {
            enums_of(&c.ty, &mut ids);
        }
        crate::load::CatalogFingerprint {
            columns: cols
                .iter()
                .map(|c| (c.name.clone(), c.ty.clone()))
                .collect(),
            enums: ids
                .iter()
                .map(|&e| {
                    self.rs
                        .enums
                        .get(e as usize)
                        .map(|en| en.variants.clone())
                        .unwrap_or_default()
                })
                .collect(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn build_catalog_rows(
        &mut self,
        decl: &Decl,
        dir: Option<&Path>,
        cols: Vec<Column>,
        columns: &[ast::ColumnDecl],
        rest: Option<Span>,
        rows: &RowSource,
        cite: Option<&ast::Citation>,
    ) -> ir::Catalog {
        let keys: Vec<usize> = columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.key)
            .map(|(i, _)| i)
            .collect();
        let key = match keys.as_slice() {
            [k] => {
                if !matches!(
                    cols.get(*k).map(|c| &c.ty),
                    Some(Type::Text) | Some(Type::Error)
                ) {
                    self.err(
                        Diagnostic::new(
                            Code::CatalogKey,
                            columns
                                .get(*k)
                                .map(|c| c.ty.span())
                                .unwrap_or(decl.name.span),
                            "a catalog's key column must be text",
                        )
                        .label("not text")
                        .help("declare the code column as `code: text key`"),
                    );
                }
                *k as u32
            }
            _ => {
                self.err(
                    Diagnostic::new(
                        Code::CatalogKey,
                        decl.name.span,
                        format!(
                            "catalog `{}` has {} key columns; it needs exactly one",
                            decl.name.name,
                            keys.len()
                        ),
                    )
                    .label("which column is the code?")
                    .help("mark the code column: `code: text key`"),
                );
                0
            }
        };
        let mut out_rows: Vec<CatalogRow> = Vec::new();
        match rows {
            RowSource::Inline(inline) => {
                if let Some(span) = rest {
                    self.err(
                        Diagnostic::new(
                            Code::CsvUnknownColumn,
                            span,
                            "`..` ignores extra columns of a CSV file; inline rows have exactly the declared columns",
                        )
                        .label("only with `from \"file.csv\"`")
                        .help("remove `..`"),
                    );
                }
                for r in inline {
                    if r.cells.len() != cols.len() {
                        self.err(
                            Diagnostic::new(
                                Code::RowArity,
                                r.span,
                                format!(
                                    "this row has {} cells; the catalog has {} columns",
                                    r.cells.len(),
                                    cols.len()
                                ),
                            )
                            .label("wrong number of cells"),
                        );
                        continue;
                    }
                    let cells: Vec<Value> = r
                        .cells
                        .iter()
                        .zip(&cols)
                        .map(|(l, c)| {
                            let before = self.diags.len();
                            let v = self.lit_value(l, &c.ty);
                            let shown = number_text(&v);
                            self.within_digits(
                                &v,
                                &shown,
                                c.digits,
                                l.span,
                                &format!("column `{}`", c.name),
                            );
                            if !self.check_range(&v, l.span, &c.name) {
                                // The range error says it all; no "above 100%" warning too.
                                let mut i = before;
                                while i < self.diags.len() {
                                    if self.diags.get(i).map(|d| d.code) == Some(Code::RateAbove100)
                                    {
                                        self.diags.remove(i);
                                    } else {
                                        i += 1;
                                    }
                                }
                            }
                            v
                        })
                        .collect();
                    let period = match &r.head {
                        Some(h) => self
                            .check_versions(&decl.name.name, &[Some(h)])
                            .into_iter()
                            .next()
                            .unwrap_or(Period::ALWAYS),
                        None => Period::ALWAYS,
                    };
                    out_rows.push(CatalogRow {
                        cells,
                        period,
                        span: r.span,
                    });
                }
            }
            RowSource::File(rel, span) => {
                if let Some((id, text)) = self.load_csv(dir, rel, *span) {
                    out_rows.reserve(text.bytes().filter(|b| *b == b'\n').count());
                    self.catalog_rows_from_csv(
                        decl,
                        &cols,
                        rest,
                        csv::records(id, &text),
                        *span,
                        &mut out_rows,
                    );
                }
            }
        }
        let mut index: rustc_hash::FxHashMap<Arc<str>, Vec<u32>> = rustc_hash::FxHashMap::default();
        index.reserve(out_rows.len());
        for (i, r) in out_rows.iter().enumerate() {
            if let Some(Value::Text(k)) = r.cells.get(key as usize) {
                index.entry(k.clone()).or_default().push(i as u32);
            }
        }
        // Duplicate codes: two rows for one code whose periods overlap.
        let mut dups = Vec::new();
        for (k, list) in index.iter_mut() {
            if list.len() < 2 {
                continue;
            }
            list.sort_by_key(|&i| out_rows.get(i as usize).map(|r| r.period.from));
            for w in list.windows(2) {
                let (Some(a), Some(b)) = (
                    w.first().and_then(|&i| out_rows.get(i as usize)),
                    w.get(1).and_then(|&i| out_rows.get(i as usize)),
                ) else {
                    continue;
                };
                if a.period.intersect(&b.period).is_some() {
                    dups.push((k.to_string(), a.span, b.span));
                }
            }
        }
        dups.sort_by_key(|d| d.2);
        let more = dups.len().saturating_sub(SHOWN_PER_KIND);
        dups.truncate(SHOWN_PER_KIND);
        let last = dups.len();
        for (n, (k, first, second)) in dups.into_iter().enumerate() {
            let tail = if more > 0 && n + 1 == last {
                format!("; and {} more like this", thousands(more))
            } else {
                String::new()
            };
            let first_line = self
                .loader
                .map
                .get(first.file)
                .map(|f| f.line_col(first.start).0)
                .unwrap_or(0);
            self.err(
                Diagnostic::new(Code::DuplicateCode, second, format!("code `{k}` appears twice in catalog `{}` at the same time{tail}", decl.name.name))
                    .label("second row")
                    .with(first, format!("first row (line {first_line})"))
                    .help("remove one row, or give them `valid_from`/`valid_until` dates that do not overlap"),
            );
        }
        let cite = self.cite(cite);
        ir::Catalog {
            name: decl.name.name.clone(),
            columns: cols,
            key,
            rows: out_rows,
            index,
            cite,
            span: decl.name.span,
        }
    }

    fn catalog_rows_from_csv(
        &mut self,
        decl: &Decl,
        cols: &[Column],
        rest: Option<Span>,
        records: csv::Records<'_>,
        src_span: Span,
        out: &mut Vec<CatalogRow>,
    ) {
        let mut it = records;
        let Some(header) = next_ok(&mut it, &mut self.diags) else {
            self.err(
                Diagnostic::new(
                    Code::CsvMissingColumn,
                    src_span,
                    "the CSV file is empty; it needs a header row",
                )
                .label("empty file")
                .help(format!(
                    "the first line names the columns: {}",
                    cols.iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                )),
            );
            return;
        };
        let Some(Header {
            positions,
            from_col,
            until_col,
        }) = self.csv_header(decl, cols, rest, &header)
        else {
            return;
        };
        let width = header.cells.len();
        let mut n = 0usize;
        let mut shown = Throttle::default();
        loop {
            let before = self.diags.len();
            let rec = next_ok(&mut it, &mut self.diags);
            shown.apply(&mut self.diags, before, usize::MAX, "");
            let Some(rec) = rec else {
                break;
            };
            n += 1;
            let n = n - 1;
            if out.len() >= self.limits.max_catalog_rows {
                self.err(
                    Diagnostic::new(
                        Code::CatalogTooLarge,
                        rec.span,
                        format!(
                            "catalog `{}` exceeds the limit of {} rows",
                            decl.name.name, self.limits.max_catalog_rows
                        ),
                    )
                    .label("first row past the limit")
                    .help("raise `Limits::max_catalog_rows` or split the catalog"),
                );
                return;
            }
            if rec.cells.len() != width {
                let before = self.diags.len();
                self.err(
                    Diagnostic::new(
                        Code::CsvMalformed,
                        rec.span,
                        format!(
                            "row {} has {} cells; the header has {width}",
                            n + 2,
                            rec.cells.len()
                        ),
                    )
                    .label("wrong number of cells")
                    .help(if rec.cells.iter().any(|c| c.text.contains('\u{FF0C}')) {
                        "the row holds a full-width comma `，` (U+FF0C): write the ASCII comma `,` between cells"
                    } else {
                        "every row has one cell per header column; quote cells that contain commas"
                    }),
                );
                shown.apply(&mut self.diags, before, usize::MAX, "");
                continue;
            }
            let mut cells = Vec::with_capacity(cols.len());
            let mut ok = true;
            for (ci, (c, &p)) in cols.iter().zip(&positions).enumerate() {
                let Some(cell) = rec.cells.get(p) else {
                    ok = false;
                    break;
                };
                let before = self.diags.len();
                let v = self
                    .cell_value(&cell.text, &c.ty, c.digits, cell.span, &c.name)
                    .filter(|v| self.check_range(v, cell.span, &c.name));
                shown.apply(&mut self.diags, before, ci, &c.name);
                match v {
                    Some(v) => cells.push(v),
                    None => ok = false,
                }
            }
            let mut period = Period::ALWAYS;
            for (col, is_from) in [(from_col, true), (until_col, false)] {
                let Some(cell) = col.and_then(|p| rec.cells.get(p)) else {
                    continue;
                };
                if cell.text.trim().is_empty() {
                    continue;
                }
                let name = if is_from { "valid_from" } else { "valid_until" };
                let before = self.diags.len();
                let v = self.cell_value(&cell.text, &Type::Date, None, cell.span, name);
                shown.apply(
                    &mut self.diags,
                    before,
                    cols.len() + usize::from(!is_from),
                    name,
                );
                match v {
                    Some(Value::Date(d)) if is_from => period.from = d,
                    Some(Value::Date(d)) => period.until = d,
                    _ => ok = false,
                }
            }
            if period.until < period.from {
                let before = self.diags.len();
                self.err(
                    Diagnostic::new(
                        Code::UntilBeforeFrom,
                        rec.span,
                        "this row's `valid_until` is before its `valid_from`",
                    )
                    .label("never valid"),
                );
                shown.apply(&mut self.diags, before, usize::MAX, "");
                ok = false;
            }
            if ok {
                out.push(CatalogRow {
                    cells,
                    period,
                    span: rec.span,
                });
            }
        }
        shown.finish(&mut self.diags);
    }

    /// Matches a CSV header against the declared columns: every declared column once, no
    /// column twice, no undeclared column unless the catalog says `..`.
    fn csv_header(
        &mut self,
        decl: &Decl,
        cols: &[Column],
        rest: Option<Span>,
        header: &csv::Record<'_>,
    ) -> Option<Header> {
        let names: Vec<&str> = header.cells.iter().map(|c| c.text.trim()).collect();
        // A full-width comma `，` (a Chinese input method's) is one cause: one error at it.
        if let Some(cell) = header.cells.iter().find(|c| c.text.contains('\u{FF0C}')) {
            let at = cell.text.find('\u{FF0C}').unwrap_or(0);
            let start = (cell.span.start as usize).saturating_add(at);
            let span = Span::new(cell.span.file, start, start + '\u{FF0C}'.len_utf8());
            self.err(
                Diagnostic::new(
                    Code::CsvSeparator,
                    span,
                    "the CSV header separates columns with a full-width comma `，` (U+FF0C)",
                )
                .label("full-width comma")
                .with(decl.name.span, "catalog declared here")
                .help("write the ASCII comma `,`; a Chinese input method often types the full-width one"),
            );
            return None;
        }
        // A file separated by tabs or semicolons reads as one column per line.
        if names.len() < cols.len() {
            let text = header.cells.first().map(|c| c.text.as_ref()).unwrap_or("");
            let sep = [('\t', "tabs"), (';', "semicolons")]
                .into_iter()
                .find(|(ch, _)| text.contains(*ch));
            if let Some((_, what)) = sep {
                self.err(
                    Diagnostic::new(
                        Code::CsvSeparator,
                        header.span,
                        format!("the CSV file is separated by {what}, not commas"),
                    )
                    .label(format!("columns separated by {what}"))
                    .with(decl.name.span, "catalog declared here")
                    .help("rulec reads comma-separated files: export the sheet as \"CSV (comma delimited)\", or replace the separators with commas"),
                );
                return None;
            }
        }
        // Sets and maps keep a header of many columns linear (a hostile header has 10^5).
        let declared_set: std::collections::HashSet<&str> =
            cols.iter().map(|c| c.name.as_str()).collect();
        let declared = |n: &str| declared_set.contains(n);
        let mut first_at: std::collections::HashMap<&str, usize> =
            std::collections::HashMap::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            first_at.entry(*n).or_insert(i);
        }
        let implicit = ["valid_from", "valid_until"];
        let mut bad = false;
        // A header of thousands of undeclared (or duplicated) columns shows three of each.
        let mut shown = Throttle::default();
        // Duplicates.
        for (i, (name, cell)) in names.iter().zip(&header.cells).enumerate() {
            let first = first_at.get(*name).copied().filter(|&f| f < i);
            let relevant =
                !name.is_empty() && (rest.is_none() || declared(name) || implicit.contains(name));
            if let (Some(f), true) = (first, relevant) {
                let first_span = header.cells.get(f).map(|c| c.span).unwrap_or(cell.span);
                let before = self.diags.len();
                self.err(
                    Diagnostic::new(
                        Code::CsvDuplicateColumn,
                        cell.span,
                        format!("the CSV header names column `{name}` twice"),
                    )
                    .label("second column of this name")
                    .with(first_span, "first column of this name")
                    .help("remove or rename one of the two columns; rulec never picks one"),
                );
                shown.apply(&mut self.diags, before, usize::MAX, "");
                bad = true;
            }
        }
        // Declared columns (and the implicit dates) missing from the header: candidates for
        // what a misspelled header meant.
        let missing: Vec<&str> = cols
            .iter()
            .map(|c| c.name.as_str())
            .chain(implicit)
            .filter(|n| !first_at.contains_key(n))
            .collect();
        let mut explained: Vec<&str> = Vec::new();
        for (i, (name, cell)) in names.iter().zip(&header.cells).enumerate() {
            if declared(name) || implicit.contains(name) {
                continue;
            }
            let before = self.diags.len();
            if name.is_empty() {
                if rest.is_none() {
                    self.err(
                        Diagnostic::new(
                            Code::CsvUnknownColumn,
                            cell.span,
                            format!("column {} of the CSV header has no name", i + 1),
                        )
                        .label("unnamed column")
                        .with(decl.name.span, "catalog declared here")
                        .help("remove the empty column (often a trailing comma), or end the column list with `..` to ignore it"),
                    );
                    shown.apply(&mut self.diags, before, usize::MAX, "");
                    bad = true;
                }
                continue;
            }
            let sugg = did_you_mean(name, missing.iter().copied());
            if rest.is_some() && sugg.is_none() {
                continue;
            }
            let mut d = Diagnostic::new(
                Code::CsvUnknownColumn,
                cell.span,
                format!("catalog `{}` declares no column `{name}`", decl.name.name),
            )
            .label("undeclared column")
            .with(decl.name.span, "catalog declared here");
            d = match sugg {
                Some(s) => {
                    explained.push(s);
                    d.help(format!("did you mean `{s}`? Rename the header or the column"))
                }
                None => d.help(format!(
                    "declare it (`{name}: text`), or end the column list with `..` to ignore columns the rules do not use"
                )),
            };
            self.err(d);
            shown.apply(&mut self.diags, before, usize::MAX, "");
            bad = true;
        }
        shown.finish(&mut self.diags);
        let mut positions = Vec::with_capacity(cols.len());
        for c in cols {
            match first_at.get(c.name.as_str()).copied() {
                Some(p) => positions.push(p),
                None if explained.contains(&c.name.as_str()) => bad = true,
                None => {
                    let sugg = did_you_mean(&c.name, names.iter().copied()).map(str::to_string);
                    self.err(
                        Diagnostic::new(
                            Code::CsvMissingColumn,
                            header.span,
                            format!("the CSV header has no column `{}`", c.name),
                        )
                        .label("header row")
                        .with(decl.name.span, "catalog declared here")
                        .help(match sugg {
                            Some(s) => {
                                format!("did you mean `{s}`? Rename the header or the column")
                            }
                            None => format!("add a `{}` column to the CSV file", c.name),
                        }),
                    );
                    bad = true;
                }
            }
        }
        if bad {
            return None;
        }
        Some(Header {
            positions,
            from_col: first_at.get("valid_from").copied(),
            until_col: first_at.get("valid_until").copied(),
        })
    }

    /// Catalog values have ranges the checker knows: a rate (a share) lies in 0%–100%, an
    /// amount of money (a price, a cap) is not negative.
    fn check_range(&mut self, v: &Value, span: Span, column: &str) -> bool {
        let why = match v {
            Value::Rate(r) if r.0 < Decimal::ZERO || r.0 > Decimal::ONE => {
                format!("{}% is outside 0%–100%", crate::value::Percent(r.0))
            }
            Value::Money(m) if m.0 < Decimal::ZERO => format!("{} is negative", m.0),
            _ => return true,
        };
        self.err(
            Diagnostic::new(
                Code::CatalogRange,
                span,
                format!("column `{column}`: {why}"),
            )
            .label("out of range")
            .help("in a catalog, a rate is a share between 0% and 100% and an amount of money is 0 or more"),
        );
        false
    }

    pub(crate) fn build_series(
        &mut self,
        decl: &Decl,
        dir: Option<&Path>,
        ty: &ast::TypeExpr,
        source: &SeriesSource,
        cite: Option<&ast::Citation>,
    ) -> ir::Series {
        let (ty, digits) = self.field_type(ty);
        let mut values: BTreeMap<i64, (Value, Span)> = BTreeMap::new();
        let mut add = |c: &mut Self, year: i64, span: Span, v: Value| {
            if let Some((_, first)) = values.get(&year) {
                c.err(
                    Diagnostic::new(
                        Code::Duplicate,
                        span,
                        format!("year {year} is given twice in series `{}`", decl.name.name),
                    )
                    .label("second value")
                    .with(*first, "first value"),
                );
            } else {
                values.insert(year, (v, span));
            }
        };
        match source {
            SeriesSource::Inline(entries) => {
                for (year, span, lit) in entries {
                    let v = self.lit_value(lit, &ty);
                    let shown = number_text(&v);
                    let place = format!("series `{}`, year {year}", decl.name.name);
                    if self.within_digits(&v, &shown, digits, lit.span, &place) {
                        add(self, *year, *span, v);
                    }
                }
            }
            SeriesSource::File(rel, span) => {
                if let Some((id, text)) = self.load_csv(dir, rel, *span) {
                    let (records, diags) = csv::read(id, &text);
                    self.diags.extend(diags);
                    let mut it = records.into_iter();
                    let header = it.next();
                    let ok_header = header.as_ref().is_some_and(|h| {
                        h.cells.len() >= 2
                            && h.cells.first().is_some_and(|c| c.text.trim() == "year")
                            && h.cells.get(1).is_some_and(|c| c.text.trim() == "value")
                    });
                    // A series file has exactly the two columns; a third would be ignored.
                    let extra = header
                        .as_ref()
                        .filter(|_| ok_header)
                        .and_then(|h| h.cells.get(2));
                    if let Some(x) = extra {
                        self.err(
                            Diagnostic::new(
                                Code::CsvUnknownColumn,
                                x.span,
                                format!(
                                    "a series file has the columns `year,value`; `{}` would be ignored",
                                    x.text.trim()
                                ),
                            )
                            .label("extra column")
                            .help("remove the column; a note belongs in the `cite` of the series"),
                        );
                    } else if !ok_header {
                        let hspan = header.map(|h| h.span).unwrap_or(*span);
                        self.err(
                            Diagnostic::new(
                                Code::CsvMissingColumn,
                                hspan,
                                "a series file starts with the header `year,value`",
                            )
                            .label("expected `year,value`")
                            .help("write one line per year: `2024,100.2`"),
                        );
                    } else {
                        for rec in it {
                            let (Some(yc), Some(vc), None) =
                                (rec.cells.first(), rec.cells.get(1), rec.cells.get(2))
                            else {
                                self.err(
                                    Diagnostic::new(
                                        Code::CsvMalformed,
                                        rec.span,
                                        "a series row has two cells: year,value",
                                    )
                                    .label("here"),
                                );
                                continue;
                            };
                            let year = self.cell_value(&yc.text, &Type::Int, None, yc.span, "year");
                            let v = self.cell_value(&vc.text, &ty, digits, vc.span, "value");
                            if let (Some(Value::Int(y)), Some(v)) = (year, v) {
                                add(self, y, yc.span, v);
                            }
                        }
                    }
                }
            }
        }
        // Missing years inside the range.
        let years: Vec<i64> = values.keys().copied().collect();
        for w in years.windows(2) {
            if let (Some(&a), Some(&b)) = (w.first(), w.get(1)) {
                if b > a + 1 {
                    let span = values.get(&b).map(|x| x.1).unwrap_or(decl.name.span);
                    let missing = if b == a + 2 {
                        format!("{}", a + 1)
                    } else {
                        format!("{}–{}", a + 1, b - 1)
                    };
                    self.err(
                        Diagnostic::new(
                            Code::SeriesGap,
                            span,
                            format!("series `{}` has no value for {missing}", decl.name.name),
                        )
                        .label(format!("jumps from {a} to {b}"))
                        .help(
                            "add the missing year(s); a chain of yearly indices cannot skip a year",
                        ),
                    );
                }
            }
        }
        let cite = self.cite(cite);
        ir::Series {
            name: decl.name.name.clone(),
            ty,
            values,
            cite,
            span: decl.name.span,
        }
    }

    pub(crate) fn build_bands(
        &mut self,
        decl: &Decl,
        versions: &[ast::Versioned<Vec<ast::Band>>],
    ) -> ir::Bands {
        let heads: Vec<Option<&ast::VersionHead>> =
            versions.iter().map(|v| v.head.as_ref()).collect();
        let periods = self.check_versions(&decl.name.name, &heads);
        let mut out = Vec::new();
        for (v, period) in versions.iter().zip(periods) {
            let mut bands = Vec::new();
            let mut prev_upper: Option<Option<Decimal>> = None;
            for b in &v.value {
                self.check_rate(b.rate, b.span);
                let bad = match (prev_upper, b.upper) {
                    _ if b.upper.is_some_and(|u| u <= b.lower) => {
                        Some("its upper bound is not above its lower bound".to_string())
                    }
                    (Some(None), _) => Some("it follows an open-ended band".to_string()),
                    (Some(Some(pu)), _) if pu != b.lower => Some(format!(
                        "it starts at {} but the band before ends at {pu}",
                        b.lower
                    )),
                    _ => None,
                };
                if let Some(why) = bad {
                    self.err(
                        Diagnostic::new(Code::BandsOrder, b.span, format!("band out of order: {why}"))
                            .label("this band")
                            .help("bands ascend without gaps: `0 .. 1000 => 50%`, `1000 .. 5000 => 60%`, `5000 .. => 70%`"),
                    );
                }
                prev_upper = Some(b.upper);
                bands.push(ir::Band {
                    lower: b.lower,
                    upper: b.upper,
                    rate: b.rate,
                });
            }
            let cite = self.cite(v.cite.as_ref());
            out.push(Version {
                period,
                value: bands,
                cite,
                span: v.span,
            });
        }
        ir::Bands {
            name: decl.name.name.clone(),
            versions: out,
            span: decl.name.span,
        }
    }
}

/// `199997` → `199,997`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The ASCII spelling of a text with full-width forms (`１０％` → `10%`), if it has any.
fn fullwidth_to_ascii(t: &str) -> Option<String> {
    if !t
        .chars()
        .any(|c| ('\u{FF01}'..='\u{FF5E}').contains(&c) || c == '\u{3000}')
    {
        return None;
    }
    Some(
        t.chars()
            .map(|c| match c {
                '\u{3000}' => ' ',
                '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                _ => c,
            })
            .collect(),
    )
}

/// Where the declared columns are in a CSV file.
struct Header {
    positions: Vec<usize>,
    from_col: Option<usize>,
    until_col: Option<usize>,
}

/// How many diagnostics of one kind (column and code) a catalog shows before it only counts.
const SHOWN_PER_KIND: usize = 3;

/// Keeps the first few diagnostics of each kind in each column and counts the rest, so a
/// column of 200,000 bad cells gives three errors and "and 199,997 more like this".
#[derive(Default)]
struct Throttle {
    /// (column, code) → (how many, index of the last one shown).
    kinds: HashMap<(usize, &'static str), (usize, usize, String)>,
}

impl Throttle {
    /// Applies to the diagnostics pushed since `before`, all about `column`.
    fn apply(&mut self, diags: &mut Vec<Diagnostic>, before: usize, column: usize, name: &str) {
        let new: Vec<Diagnostic> = diags.drain(before.min(diags.len())..).collect();
        for d in new {
            if !d.is_error() {
                diags.push(d);
                continue;
            }
            let e = self
                .kinds
                .entry((column, d.code.as_str()))
                .or_insert((0, 0, name.to_string()));
            e.0 += 1;
            if e.0 <= SHOWN_PER_KIND {
                e.1 = diags.len();
                diags.push(d);
            }
        }
    }

    /// Adds "and N more like this" to the last diagnostic shown of each kind.
    fn finish(self, diags: &mut [Diagnostic]) {
        for ((_, _), (count, at, name)) in self.kinds {
            if count > SHOWN_PER_KIND {
                if let Some(d) = diags.get_mut(at) {
                    let more = count - SHOWN_PER_KIND;
                    let place = if name.is_empty() {
                        String::new()
                    } else {
                        format!(" in column `{name}`")
                    };
                    d.message = format!(
                        "{}; and {} more like this{place}",
                        d.message,
                        thousands(more)
                    );
                }
            }
        }
    }
}

/// The next well-formed record; malformed ones become diagnostics.
fn next_ok<'a>(it: &mut csv::Records<'a>, diags: &mut Vec<Diagnostic>) -> Option<csv::Record<'a>> {
    for r in it.by_ref() {
        match r {
            Ok(rec) => return Some(rec),
            Err(d) => diags.push(d),
        }
    }
    None
}

/// A number as a rule literal writes it (`12.5%`, `0.001`), for a message.
fn number_text(v: &Value) -> String {
    match v {
        Value::Money(Money(d)) | Value::Decimal(d) => d.to_string(),
        Value::Rate(Rate(r)) => match r.checked_mul(Decimal::ONE_HUNDRED) {
            Some(p) => format!("{}%", p.normalize()),
            None => r.to_string(),
        },
        _ => String::new(),
    }
}

/// A cell's text as a message shows it: at most 40 characters.
fn shorten(t: &str) -> String {
    match t.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", t.get(..i).unwrap_or(t)),
        None => t.to_string(),
    }
}

fn int_of(d: Decimal) -> Option<i64> {
    if d.fract().is_zero() {
        i64::try_from(d).ok()
    } else {
        None
    }
}
