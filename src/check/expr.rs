//! Expressions: name resolution, types and units, and lowering to the compiled tree.

use super::{fits, Checker, Global};
use crate::builtins::{self, Check, Special, Want, BUILTINS};
use crate::diag::{did_you_mean, Code, Diagnostic};
use crate::ir::{Arith, Builtin, Cmp, ListOp, Node, NodeKind, NumKind};
use crate::source::Span;
use crate::syntax::ast::{self, Arg, BinOp, Expr, ExprKind, Lit, Pattern, UnOp};
use crate::types::{arith, arith_help, comparable, Show, Type};
use crate::value::{Money, Rate, RoundMode, Value};
use rust_decimal::Decimal;
use std::sync::Arc;

/// Stands in for an argument that is not there (counts are checked first; this keeps the
/// code free of indexing that could panic).
static MISSING_ARG: Arg = Arg::Expr(Expr {
    kind: ExprKind::Error,
    span: Span {
        file: crate::source::FileId(0),
        start: 0,
        end: 0,
    },
});

fn nth(args: &[Arg], i: usize) -> &Arg {
    args.get(i).unwrap_or(&MISSING_ARG)
}

fn node(kind: NodeKind, span: Span) -> Node {
    Node {
        kind,
        span,
        ty: Type::Error,
    }
}

fn is_num_lit(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Lit(Lit::Number(_)) => true,
        ExprKind::Unary(UnOp::Neg, inner) => is_num_lit(inner),
        _ => false,
    }
}

/// The type a numeric literal should take next to an operand of type `other`.
fn lit_hint(op: BinOp, other: &Type) -> Option<Type> {
    let other = other.unwrap_optional();
    match op {
        BinOp::Mul | BinOp::Div => match other {
            Type::Money | Type::Rate | Type::Decimal => Some(Type::Decimal),
            _ => None,
        },
        _ => Some(other.clone()),
    }
}

fn join(a: &Type, b: &Type) -> Option<Type> {
    match (a, b) {
        (Type::Error, t) | (t, Type::Error) => Some(t.clone()),
        (Type::Int, Type::Decimal) | (Type::Decimal, Type::Int) => Some(Type::Decimal),
        (Type::Optional(x), y) | (y, Type::Optional(x)) if fits(y, x) => {
            Some(Type::Optional(x.clone()))
        }
        (x, y) if x == y => Some(x.clone()),
        _ => None,
    }
}

impl Checker<'_> {
    fn error_node(&self, span: Span) -> (Node, Type) {
        (node(NodeKind::Const(Value::None), span), Type::Error)
    }

    /// A fresh local slot of type `ty`.
    pub(crate) fn alloc_slot(&mut self, ty: Type) -> u32 {
        let s = self.slot_counter;
        self.slot_counter += 1;
        self.slot_types.push(ty);
        s
    }

    /// Checks an expression and lowers it. `expect` types literals by context. The node
    /// carries the type proved here, for the compiler.
    pub(crate) fn expr(&mut self, e: &Expr, expect: Option<&Type>) -> (Node, Type) {
        let (mut n, t) = self.expr_untyped(e, expect);
        n.ty = t.clone();
        (n, t)
    }

    fn expr_untyped(&mut self, e: &Expr, expect: Option<&Type>) -> (Node, Type) {
        let span = e.span;
        match &e.kind {
            ExprKind::Lit(l) => self.lit_expr(l, span, expect),
            ExprKind::AsOf => (node(NodeKind::AsOf, span), Type::Date),
            ExprKind::Name(n) => self.name(n, span, expect),
            ExprKind::Field(base, f) => self.field(base, f, span),
            ExprKind::Index(base, args) => self.index(base, args, span),
            ExprKind::Unary(op, inner) => {
                let (n, t) = self.expr(inner, expect);
                match op {
                    UnOp::Neg => {
                        if !t.is_numeric() {
                            let msg = format!("`-` applies to numbers, not {}", Show(&t, &self.rs));
                            self.err(
                                Diagnostic::new(Code::BadOperands, span, msg).label("not a number"),
                            );
                            return self.error_node(span);
                        }
                        (node(NodeKind::Neg(Box::new(n)), span), t)
                    }
                    UnOp::Not => {
                        self.expect_type(&t, &Type::Bool, inner.span, "the operand of `not`");
                        (node(NodeKind::Not(Box::new(n)), span), Type::Bool)
                    }
                }
            }
            ExprKind::Binary(op, l, r) => self.binary(*op, l, r, span, expect),
            ExprKind::Call(f, args) => self.call(f, args, span, expect),
            ExprKind::If(branches, els) => {
                let mut out = Vec::new();
                let mut ty: Option<Type> = expect.cloned().filter(|t| *t != Type::Error);
                let mut result: Option<Type> = None;
                for (c, t) in branches {
                    let (cn, ct) = self.expr(c, Some(&Type::Bool));
                    self.expect_type(&ct, &Type::Bool, c.span, "an `if` condition");
                    let (tn, tt) = self.expr(t, ty.as_ref());
                    result = self.join_branch(result, &tt, t.span);
                    if ty.is_none() && !is_num_lit(t) {
                        ty = Some(tt);
                    }
                    out.push((cn, tn));
                }
                let (en, et) = self.expr(els, ty.as_ref().or(result.as_ref()));
                result = self.join_branch(result, &et, els.span);
                (
                    node(NodeKind::If(out, Box::new(en)), span),
                    result.unwrap_or(Type::Error),
                )
            }
            ExprKind::Match(scrut, arms) => self.match_expr(scrut, arms, span, expect),
            ExprKind::Let(binds, body) => {
                let depth = self.locals.len();
                let mut slots = Vec::new();
                for (name, v) in binds {
                    let (vn, vt) = self.expr(v, None);
                    let slot = self.alloc_slot(vt.clone());
                    self.locals.push((name.name.clone(), slot, vt));
                    slots.push((slot, vn));
                }
                let (mut bn, bt) = self.expr(body, expect);
                self.locals.truncate(depth);
                while let Some((slot, vn)) = slots.pop() {
                    bn = node(NodeKind::Let(slot, Box::new(vn), Box::new(bn)), span);
                }
                (bn, bt)
            }
            ExprKind::List(items) => {
                let elem_expect = match expect {
                    Some(Type::List(t)) => Some((**t).clone()),
                    _ => None,
                };
                let mut ty: Option<Type> = elem_expect;
                let mut nodes = Vec::new();
                let mut result: Option<Type> = None;
                for it in items {
                    let (n, t) = self.expr(it, ty.as_ref());
                    result = self.join_branch(result, &t, it.span);
                    if ty.is_none() {
                        ty = Some(t);
                    }
                    nodes.push(n);
                }
                let elem = result.or(ty).unwrap_or(Type::Error);
                (
                    node(NodeKind::List(nodes), span),
                    Type::List(Box::new(elem)),
                )
            }
            ExprKind::Adjust(a) => self.adjust(a, span),
            ExprKind::Error => self.error_node(span),
        }
    }

    fn join_branch(&mut self, acc: Option<Type>, t: &Type, span: Span) -> Option<Type> {
        match acc {
            None => Some(t.clone()),
            Some(a) => match join(&a, t) {
                Some(j) => Some(j),
                None => {
                    let msg = format!(
                        "the branches have different types: {} and {}",
                        Show(&a, &self.rs),
                        Show(t, &self.rs)
                    );
                    self.err(
                        Diagnostic::new(Code::TypeMismatch, span, msg)
                            .label(format!("this is {}", Show(t, &self.rs)))
                            .help("every branch must give a value of the same type"),
                    );
                    Some(a)
                }
            },
        }
    }

    fn lit_expr(&mut self, l: &Lit, span: Span, expect: Option<&Type>) -> (Node, Type) {
        let want = expect.map(Type::unwrap_optional);
        let (v, t) = match l {
            Lit::Number(d) => match want {
                Some(Type::Money) => (Value::Money(Money(*d)), Type::Money),
                Some(Type::Decimal) => (Value::Decimal(*d), Type::Decimal),
                _ if d.fract().is_zero()
                    && i64::try_from(*d).is_ok()
                    && want != Some(&Type::Rate) =>
                {
                    (Value::Int(i64::try_from(*d).unwrap_or(0)), Type::Int)
                }
                _ => (Value::Decimal(*d), Type::Decimal),
            },
            Lit::Percent(d) => {
                self.check_rate(*d, span);
                (Value::Rate(Rate(*d)), Type::Rate)
            }
            Lit::Date(d) => (Value::Date(*d), Type::Date),
            Lit::Text(s) => (Value::Text(Arc::from(s.as_str())), Type::Text),
            Lit::Bool(b) => (Value::Bool(*b), Type::Bool),
            Lit::None if matches!(want, Some(Type::Enum(_))) => {
                let Some(Type::Enum(e)) = want else {
                    return self.error_node(span);
                };
                let e = *e;
                let id = crate::syntax::ast::Ident {
                    name: "none".into(),
                    span,
                };
                let v = self.variant_value(e, &id);
                (v, Type::Enum(e))
            }
            Lit::None => {
                let t = match expect {
                    Some(Type::Optional(t)) => Type::Optional(t.clone()),
                    Some(t) => Type::Optional(Box::new(t.clone())),
                    None => Type::Optional(Box::new(Type::Error)),
                };
                (Value::None, t)
            }
            Lit::Variant(id) | Lit::Qualified(_, id) => return self.name(&id.name, span, expect),
            Lit::List(_) => {
                let t = expect.cloned().unwrap_or(Type::List(Box::new(Type::Error)));
                let le = crate::syntax::ast::LitExpr {
                    lit: l.clone(),
                    span,
                };
                return (node(NodeKind::Const(self.lit_value(&le, &t)), span), t);
            }
        };
        (node(NodeKind::Const(v), span), t)
    }

    fn global(&self, name: &str) -> Option<Global> {
        if self.locals.iter().any(|(n, _, _)| n == name) {
            return None;
        }
        self.globals
            .get(name)
            .or_else(|| self.types.get(name))
            .map(|(g, _)| *g)
    }

    fn name(&mut self, n: &str, span: Span, expect: Option<&Type>) -> (Node, Type) {
        if let Some((_, slot, t)) = self.locals.iter().rev().find(|(x, _, _)| x == n) {
            return (node(NodeKind::Local(*slot), span), t.clone());
        }
        // Where an enum is expected, its own value wins over a definition of the same name.
        if let Some(Type::Enum(e)) = expect.map(Type::unwrap_optional) {
            let hit = self
                .variants
                .get(n)
                .and_then(|c| c.iter().find(|(en, _)| en == e))
                .copied();
            if let Some((e, i)) = hit {
                self.mark_used(Global::Enum(e));
                return (
                    node(NodeKind::Const(Value::Enum(e, i)), span),
                    Type::Enum(e),
                );
            }
        }
        if let Some((g, _)) = self.globals.get(n).or_else(|| self.types.get(n)).copied() {
            self.mark_used(g);
            let wrong = |c: &mut Self, how: &str| {
                let msg = format!("`{n}` is a {}, not a value", g.kind_name());
                c.err(
                    Diagnostic::new(Code::WrongKind, span, msg)
                        .label(format!("a {}", g.kind_name()))
                        .help(how.to_string()),
                );
                c.error_node(span)
            };
            return match g {
                Global::Input => {
                    let t = self
                        .rs
                        .input
                        .as_ref()
                        .map(|(_, t)| t.clone())
                        .unwrap_or(Type::Error);
                    (node(NodeKind::Input, span), t)
                }
                Global::Param(i) => {
                    self.refs.push((g, span));
                    let t = self
                        .rs
                        .params
                        .get(i as usize)
                        .map(|p| p.ty.clone())
                        .unwrap_or(Type::Error);
                    (node(NodeKind::Param(i), span), t)
                }
                Global::Def(i) => {
                    self.refs.push((g, span));
                    let t = self
                        .rs
                        .defs
                        .get(i as usize)
                        .map(|p| p.ty.clone())
                        .unwrap_or(Type::Error);
                    (node(NodeKind::Def(i), span), t)
                }
                Global::Accum(i) => {
                    let t = self
                        .rs
                        .accumulators
                        .get(i as usize)
                        .map(|p| p.ty.clone())
                        .unwrap_or(Type::Error);
                    (node(NodeKind::AccumBefore(i), span), t)
                }
                Global::Table(_) => wrong(self, &format!("look a value up with `{n}[key, …]`")),
                Global::Catalog(_) => wrong(
                    self,
                    &format!(
                        "test membership with `code in {n}`, or look a row up with `{n}[code]`"
                    ),
                ),
                Global::Series(_) => wrong(self, &format!("read a year's value with `{n}[year]`")),
                Global::Bands(_) => wrong(
                    self,
                    &format!("apply the bands with `marginal({n}, amount)`"),
                ),
                Global::Enum(_) | Global::Record(_) => {
                    if let Some(Global::Enum(_)) = Some(g) {
                        wrong(self, &format!("write a value as `{n}.value`"))
                    } else {
                        wrong(
                            self,
                            "records are types; read fields from the input instead",
                        )
                    }
                }
                Global::Source(_) => wrong(self, &format!("cite it: `cite {n}`")),
                Global::Function(_) => wrong(self, &format!("call it: `{n}(…)`")),
                Global::Exception(_) => wrong(
                    self,
                    "an exception changes its definition's value; use the definition",
                ),
            };
        }
        // An enum value.
        if let Some(cands) = self.variants.get(n).cloned() {
            let want = expect.map(Type::unwrap_optional);
            let pick = match want {
                Some(Type::Enum(e)) => cands.iter().find(|(en, _)| en == e).copied(),
                _ => None,
            }
            .or_else(|| {
                if cands.len() == 1 {
                    cands.first().copied()
                } else {
                    None
                }
            });
            return match pick {
                Some((e, i)) => {
                    self.mark_used(Global::Enum(e));
                    (
                        node(NodeKind::Const(Value::Enum(e, i)), span),
                        Type::Enum(e),
                    )
                }
                None => {
                    let names: Vec<String> = cands
                        .iter()
                        .filter_map(|(e, _)| {
                            self.rs
                                .enums
                                .get(*e as usize)
                                .map(|x| format!("`{}.{n}`", x.name))
                        })
                        .collect();
                    self.err(
                        Diagnostic::new(
                            Code::AmbiguousVariant,
                            span,
                            format!("`{n}` is a value of several enums"),
                        )
                        .label("which one?")
                        .help(format!("qualify it: {}", names.join(" or "))),
                    );
                    self.error_node(span)
                }
            };
        }
        let mut cands: Vec<&str> = self.locals.iter().map(|(x, _, _)| x.as_str()).collect();
        cands.extend(self.globals.keys().map(String::as_str));
        cands.extend(self.variants.keys().map(String::as_str));
        cands.extend(self.types.keys().map(String::as_str));
        let sugg = did_you_mean(n, cands).map(str::to_string);
        self.err(
            Diagnostic::new(Code::UnknownName, span, format!("unknown name `{n}`"))
                .label("not defined")
                .suggest(sugg.as_deref())
                .help(
                    sugg.as_deref()
                        .map(|s| format!("did you mean `{s}`?"))
                        .unwrap_or_else(|| format!("declare it, e.g. `def {n}: money = …`")),
                ),
        );
        self.error_node(span)
    }

    fn field(&mut self, base: &Expr, f: &ast::Ident, span: Span) -> (Node, Type) {
        if let ExprKind::Name(n) = &base.kind {
            if let Some(Global::Enum(e)) = self.global(n) {
                let v = self.variant_value(e, f);
                return (node(NodeKind::Const(v), span), Type::Enum(e));
            }
        }
        let (bn, bt) = self.expr(base, None);
        match &bt {
            Type::Error => self.error_node(span),
            Type::Record(r) => {
                let rec = self.rs.records.get(*r as usize);
                match rec.and_then(|rec| {
                    rec.fields
                        .iter()
                        .position(|x| x.name == f.name)
                        .map(|i| (i, rec.fields.get(i)))
                }) {
                    Some((i, Some(fd))) => {
                        let t = fd.ty.clone();
                        let t = if fd.default.is_some() {
                            t.unwrap_optional().clone()
                        } else {
                            t
                        };
                        (node(NodeKind::Field(Box::new(bn), i as u32), span), t)
                    }
                    _ => {
                        let rec_name = rec.map(|r| r.name.clone()).unwrap_or_default();
                        let names: Vec<String> = rec
                            .map(|r| r.fields.iter().map(|x| x.name.clone()).collect())
                            .unwrap_or_default();
                        let sugg = did_you_mean(&f.name, names.iter().map(String::as_str))
                            .map(str::to_string);
                        self.err(
                            Diagnostic::new(
                                Code::UnknownField,
                                f.span,
                                format!("record `{rec_name}` has no field `{}`", f.name),
                            )
                            .label("no such field")
                            .help(match sugg {
                                Some(s) => format!("did you mean `{s}`?"),
                                None => format!("the fields are: {}", names.join(", ")),
                            }),
                        );
                        self.error_node(span)
                    }
                }
            }
            Type::Row(c) => {
                let cat = self.rs.catalogs.get(*c as usize);
                match cat.and_then(|cat| {
                    cat.columns
                        .iter()
                        .position(|x| x.name == f.name)
                        .map(|i| (i, cat.columns.get(i)))
                }) {
                    Some((i, Some(col))) => {
                        let t = col.ty.clone();
                        (
                            node(NodeKind::RowField(Box::new(bn), *c, i as u32), span),
                            t,
                        )
                    }
                    _ => {
                        let cat_name = cat.map(|r| r.name.clone()).unwrap_or_default();
                        let names: Vec<String> = cat
                            .map(|r| r.columns.iter().map(|x| x.name.clone()).collect())
                            .unwrap_or_default();
                        let sugg = did_you_mean(&f.name, names.iter().map(String::as_str))
                            .map(str::to_string);
                        self.err(
                            Diagnostic::new(
                                Code::UnknownField,
                                f.span,
                                format!("catalog `{cat_name}` has no column `{}`", f.name),
                            )
                            .label("no such column")
                            .help(match sugg {
                                Some(s) => format!("did you mean `{s}`?"),
                                None => format!("the columns are: {}", names.join(", ")),
                            }),
                        );
                        self.error_node(span)
                    }
                }
            }
            Type::Optional(_) => {
                let msg = format!(
                    "`{}` may be absent, so it has no fields",
                    self.loader.map.slice(base.span)
                );
                self.err(
                    Diagnostic::new(Code::NotARecord, base.span, msg)
                        .label("optional")
                        .help("test it with `exists(…)` or give a default with `??`"),
                );
                self.error_node(span)
            }
            t => {
                let msg = format!("{} has no fields", Show(t, &self.rs));
                self.err(
                    Diagnostic::new(Code::NotARecord, f.span, msg).label(format!(
                        "`.{}` on {}",
                        f.name,
                        Show(t, &self.rs)
                    )),
                );
                self.error_node(span)
            }
        }
    }

    fn index(&mut self, base: &Expr, args: &[Expr], span: Span) -> (Node, Type) {
        let g = match &base.kind {
            ExprKind::Name(n) => self.global(n),
            _ => None,
        };
        match g {
            Some(Global::Table(t)) => {
                self.mark_used(Global::Table(t));
                self.refs.push((Global::Table(t), base.span));
                let keys = self
                    .rs
                    .tables
                    .get(t as usize)
                    .map(|x| x.keys.clone())
                    .unwrap_or_default();
                let vt = self
                    .rs
                    .tables
                    .get(t as usize)
                    .map(|x| x.ty.clone())
                    .unwrap_or(Type::Error);
                if keys.len() != args.len() {
                    let name = self
                        .rs
                        .tables
                        .get(t as usize)
                        .map(|x| x.name.clone())
                        .unwrap_or_default();
                    self.err(
                        Diagnostic::new(
                            Code::ArgCount,
                            span,
                            format!(
                                "table `{name}` takes {} key(s), but {} are given",
                                keys.len(),
                                args.len()
                            ),
                        )
                        .label("wrong number of keys"),
                    );
                    return self.error_node(span);
                }
                let mut nodes = Vec::new();
                for (a, k) in args.iter().zip(&keys) {
                    let (n, at) = self.expr(a, Some(k));
                    self.expect_type(&at, k, a.span, "this key");
                    nodes.push(n);
                }
                (node(NodeKind::Table(t, nodes), span), vt)
            }
            Some(Global::Catalog(c)) => {
                self.mark_used(Global::Catalog(c));
                let [a] = args else {
                    self.err(
                        Diagnostic::new(Code::ArgCount, span, "a catalog is looked up by one code")
                            .label("one code, please"),
                    );
                    return self.error_node(span);
                };
                let (n, at) = self.expr(a, Some(&Type::Text));
                self.expect_type(&at, &Type::Text, a.span, "a catalog code");
                (
                    node(NodeKind::CatalogGet(c, Box::new(n)), span),
                    Type::Row(c),
                )
            }
            Some(Global::Series(s)) => {
                self.mark_used(Global::Series(s));
                let [a] = args else {
                    self.err(
                        Diagnostic::new(Code::ArgCount, span, "a series is read by one year")
                            .label("one year, please"),
                    );
                    return self.error_node(span);
                };
                let (n, at) = self.expr(a, Some(&Type::Int));
                self.expect_type(&at, &Type::Int, a.span, "a year");
                let t = self
                    .rs
                    .series
                    .get(s as usize)
                    .map(|x| x.ty.clone())
                    .unwrap_or(Type::Error);
                (node(NodeKind::SeriesAt(s, Box::new(n)), span), t)
            }
            _ => {
                let (_, bt) = self.expr(base, None);
                if bt != Type::Error {
                    let msg = format!("{} cannot be indexed", Show(&bt, &self.rs));
                    self.err(
                        Diagnostic::new(Code::NotIndexable, base.span, msg)
                            .label("not a table, catalog or series")
                            .help("`x[…]` looks up a table, a catalog or a series by name"),
                    );
                }
                self.error_node(span)
            }
        }
    }

    fn binary(
        &mut self,
        op: BinOp,
        l: &Expr,
        r: &Expr,
        span: Span,
        expect: Option<&Type>,
    ) -> (Node, Type) {
        match op {
            BinOp::And | BinOp::Or => {
                let (ln, lt) = self.expr(l, Some(&Type::Bool));
                let (rn, rt) = self.expr(r, Some(&Type::Bool));
                self.expect_type(
                    &lt,
                    &Type::Bool,
                    l.span,
                    &format!("the left side of `{}`", op.symbol()),
                );
                self.expect_type(
                    &rt,
                    &Type::Bool,
                    r.span,
                    &format!("the right side of `{}`", op.symbol()),
                );
                let k = if op == BinOp::And {
                    NodeKind::And(Box::new(ln), Box::new(rn))
                } else {
                    NodeKind::Or(Box::new(ln), Box::new(rn))
                };
                return (node(k, span), Type::Bool);
            }
            BinOp::In => {
                if let ExprKind::Name(n) = &r.kind {
                    if let Some(Global::Catalog(c)) = self.global(n) {
                        self.mark_used(Global::Catalog(c));
                        let (ln, lt) = self.expr(l, Some(&Type::Text));
                        self.expect_type(&lt, &Type::Text, l.span, "a catalog code");
                        return (
                            node(NodeKind::CatalogHas(c, Box::new(ln)), span),
                            Type::Bool,
                        );
                    }
                }
                let (rn, rt) = self.expr(r, None);
                let elem = match &rt {
                    Type::List(t) => (**t).clone(),
                    Type::Error => Type::Error,
                    t => {
                        let msg = format!(
                            "`in` needs a list or a catalog on the right, not {}",
                            Show(t, &self.rs)
                        );
                        self.err(
                            Diagnostic::new(Code::TypeMismatch, r.span, msg)
                                .label("not a list")
                                .help("write `x in [a, b]` or `code in catalog`"),
                        );
                        Type::Error
                    }
                };
                let (ln, lt) = self.expr(l, Some(&elem));
                if !comparable(BinOp::Eq, &lt, &elem) {
                    let msg = format!(
                        "{} cannot be in a list of {}",
                        Show(&lt, &self.rs),
                        Show(&elem, &self.rs)
                    );
                    self.err(Diagnostic::new(Code::Incomparable, l.span, msg).label("wrong type"));
                }
                return (
                    node(NodeKind::InList(Box::new(ln), Box::new(rn)), span),
                    Type::Bool,
                );
            }
            _ => {}
        }
        let outer = match op {
            BinOp::Add | BinOp::Sub | BinOp::Coalesce => expect.cloned(),
            _ => None,
        };
        let (ln, lt, rn, rt) = if is_num_lit(l) && !is_num_lit(r) {
            let (rn, rt) = self.expr(
                r,
                if op == BinOp::Coalesce {
                    None
                } else {
                    outer.as_ref()
                },
            );
            let hint = lit_hint(op, &rt);
            let (ln, lt) = self.expr(l, hint.as_ref());
            (ln, lt, rn, rt)
        } else {
            let (ln, lt) = self.expr(
                l,
                outer
                    .as_ref()
                    .map(|t| {
                        if op == BinOp::Coalesce {
                            Type::Optional(Box::new(t.clone()))
                        } else {
                            t.clone()
                        }
                    })
                    .as_ref(),
            );
            let hint = if op == BinOp::Coalesce {
                Some(lt.unwrap_optional().clone())
            } else {
                lit_hint(op, &lt).or(outer.clone())
            };
            let (rn, rt) = self.expr(r, hint.as_ref());
            (ln, lt, rn, rt)
        };
        let cmp = match op {
            BinOp::Eq => Some(Cmp::Eq),
            BinOp::Ne => Some(Cmp::Ne),
            BinOp::Lt => Some(Cmp::Lt),
            BinOp::Le => Some(Cmp::Le),
            BinOp::Gt => Some(Cmp::Gt),
            BinOp::Ge => Some(Cmp::Ge),
            _ => None,
        };
        if let Some(c) = cmp {
            if !comparable(op, &lt, &rt) {
                let msg = format!(
                    "cannot compare {} with {}",
                    Show(&lt, &self.rs),
                    Show(&rt, &self.rs)
                );
                let help = if lt.is_numeric() && rt.is_numeric() {
                    "compare values of the same unit; convert with `to_money`, `to_rate` or `to_decimal`".to_string()
                } else if matches!((&lt, &rt), (Type::Enum(_), Type::Enum(_))) {
                    "these are values of different enums".to_string()
                } else {
                    format!("`{}` needs both sides of the same type", op.symbol())
                };
                self.err(
                    Diagnostic::new(Code::Incomparable, span, msg)
                        .label(format!(
                            "{} {} {}",
                            Show(&lt, &self.rs),
                            op.symbol(),
                            Show(&rt, &self.rs)
                        ))
                        .help(help),
                );
            }
            return (
                node(NodeKind::Cmp(c, Box::new(ln), Box::new(rn)), span),
                Type::Bool,
            );
        }
        if op == BinOp::Coalesce {
            let inner = match &lt {
                Type::Optional(t) => (**t).clone(),
                Type::Error => Type::Error,
                t => {
                    let msg = format!(
                        "`??` needs an optional value on the left, but this is always {}",
                        Show(t, &self.rs)
                    );
                    self.err(
                        Diagnostic::new(Code::TypeMismatch, l.span, msg)
                            .label("never absent")
                            .help("remove `?? …`"),
                    );
                    t.clone()
                }
            };
            self.expect_type(&rt, &inner, r.span, "the default after `??`");
            return (
                node(NodeKind::Coalesce(Box::new(ln), Box::new(rn)), span),
                inner,
            );
        }
        let a = match op {
            BinOp::Add => Arith::Add,
            BinOp::Sub => Arith::Sub,
            BinOp::Mul => Arith::Mul,
            _ => Arith::Div,
        };
        match arith(op, &lt, &rt) {
            Some(t) => (
                node(
                    NodeKind::Arith(a, NumKind::of(&t), Box::new(ln), Box::new(rn)),
                    span,
                ),
                t,
            ),
            None => {
                let (ls, rs) = (
                    Show(&lt, &self.rs).to_string(),
                    Show(&rt, &self.rs).to_string(),
                );
                let help = match (&lt, &rt) {
                    (Type::Optional(_), _) | (_, Type::Optional(_)) => {
                        "an optional value may be absent: give a default with `??` first"
                    }
                    _ => arith_help(op, &lt, &rt),
                };
                self.err(
                    Diagnostic::new(
                        Code::BadOperands,
                        span,
                        format!("cannot compute {ls} {} {rs}", op.symbol()),
                    )
                    .label(format!("{ls} {} {rs}", op.symbol()))
                    .help(help),
                );
                self.error_node(span)
            }
        }
    }

    fn lambda_or_expr<'e>(
        &mut self,
        a: &'e Arg,
        want_lambda: bool,
        fname: &str,
    ) -> Option<(&'e ast::Ident, &'e Expr)> {
        match (a, want_lambda) {
            (Arg::Lambda(v, b), true) => Some((v, b)),
            (Arg::Expr(e), true) => {
                self.err(
                    Diagnostic::new(
                        Code::BadLambda,
                        e.span,
                        format!("`{fname}` needs a function here"),
                    )
                    .label("expected `x => …`")
                    .help(format!(
                        "write e.g. `{fname}(claim.items, item => item.amount)`"
                    )),
                );
                None
            }
            _ => None,
        }
    }

    fn no_lambdas(&mut self, args: &[Arg], fname: &str) -> bool {
        let mut ok = true;
        for a in args {
            if let Arg::Lambda(v, b) = a {
                let s = Span {
                    end: b.span.end,
                    ..v.span
                };
                self.err(
                    Diagnostic::new(Code::BadLambda, s, format!("`{fname}` takes no function"))
                        .label("unexpected `=>`"),
                );
                ok = false;
            }
        }
        ok
    }

    fn arg_count(&mut self, f: &ast::Ident, args: &[Arg], want: usize, span: Span) -> bool {
        if args.len() == want {
            return true;
        }
        self.err(
            Diagnostic::new(
                Code::ArgCount,
                span,
                format!(
                    "`{}` takes {want} argument(s), but {} are given",
                    f.name,
                    args.len()
                ),
            )
            .label("wrong number of arguments")
            .help(signature(&f.name)),
        );
        false
    }

    fn plain(&mut self, a: &Arg, expect: Option<&Type>) -> (Node, Type) {
        match a {
            Arg::Expr(e) => self.expr(e, expect),
            Arg::Lambda(_, b) => self.error_node(b.span),
        }
    }

    fn call(
        &mut self,
        f: &ast::Ident,
        args: &[Arg],
        span: Span,
        expect: Option<&Type>,
    ) -> (Node, Type) {
        let name = f.name.as_str();
        if let Some(Global::Function(id)) = self.global(name) {
            return self.call_function(id, f, args, span);
        }
        let found = builtins::lookup(name);
        if let Some((_, e)) = found {
            let list_form = e.list.is_some()
                && (e.call.is_none()
                    || args.len() == 1
                    || args.get(1).is_some_and(|a| matches!(a, Arg::Lambda(..))));
            if let (true, Some(op)) = (list_form, e.list) {
                return self.list_call(f, op, args, span, expect);
            }
        }
        let Some((id, entry)) = found else {
            let names = BUILTINS.iter().map(|e| e.name);
            let sugg = did_you_mean(name, names.clone()).map(str::to_string);
            self.err(
                Diagnostic::new(
                    Code::UnknownFunction,
                    f.span,
                    format!("unknown function `{name}`"),
                )
                .label("not a built-in function")
                .help(match sugg {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "the functions are: {}",
                        names.collect::<Vec<_>>().join(", ")
                    ),
                }),
            );
            for a in args {
                if let Arg::Expr(e) = a {
                    self.expr(e, None);
                }
            }
            return self.error_node(span);
        };
        if !self.no_lambdas(args, name) {
            return self.error_node(span);
        }
        match (entry.special, entry.call) {
            (Some(Special::Round), _) => self.round(f, args, span, expect),
            (Some(Special::Marginal), _) => self.marginal(f, args, span),
            (None, Some(c)) => match c.check {
                Check::Ordered(exactly) => self.ordered_call(id, exactly, f, args, span, expect),
                Check::Args(wants, ret) => self.builtin_call(id, wants, ret, f, args, span, expect),
            },
            (None, None) => self.error_node(span),
        }
    }

    /// `marginal(bands, amount)`.
    fn marginal(&mut self, f: &ast::Ident, args: &[Arg], span: Span) -> (Node, Type) {
        if !self.arg_count(f, args, 2, span) {
            return self.error_node(span);
        }
        let bands = match nth(args, 0) {
            Arg::Expr(Expr {
                kind: ExprKind::Name(n),
                ..
            }) => match self.global(n) {
                Some(Global::Bands(b)) => Some(b),
                _ => None,
            },
            _ => None,
        };
        let Some(b) = bands else {
            self.err(
                Diagnostic::new(
                    Code::WrongKind,
                    nth(args, 0).span(),
                    "`marginal` needs the name of a `bands` declaration first",
                )
                .label("not bands")
                .help("write `marginal(my_bands, amount)`"),
            );
            return self.error_node(span);
        };
        self.mark_used(Global::Bands(b));
        self.refs.push((Global::Bands(b), nth(args, 0).span()));
        let (n, t) = self.plain(nth(args, 1), Some(&Type::Money));
        self.expect_type(
            &t,
            &Type::Money,
            nth(args, 1).span(),
            "the amount of `marginal`",
        );
        (node(NodeKind::Marginal(b, Box::new(n)), span), Type::Money)
    }

    /// `min`, `max`, `clamp`: numbers or dates of one type, the first non-literal argument
    /// giving it.
    fn ordered_call(
        &mut self,
        id: Builtin,
        exactly: Option<usize>,
        f: &ast::Ident,
        args: &[Arg],
        span: Span,
        expect: Option<&Type>,
    ) -> (Node, Type) {
        let name = f.name.as_str();
        if let Some(n) = exactly {
            if !self.arg_count(f, args, n, span) {
                return self.error_node(span);
            }
        }
        if args.len() < 2 {
            self.arg_count(f, args, 2, span);
            return self.error_node(span);
        }
        // Type from the first non-literal argument; literals follow it.
        let mut ty: Option<Type> = expect
            .map(|t| t.unwrap_optional().clone())
            .filter(|t| t.is_numeric() || *t == Type::Date);
        let mut nodes = Vec::new();
        let mut types = Vec::new();
        let order: Vec<usize> = (0..args.len())
            .filter(|&i| !matches!(args.get(i), Some(Arg::Expr(e)) if is_num_lit(e)))
            .chain(
                (0..args.len())
                    .filter(|&i| matches!(args.get(i), Some(Arg::Expr(e)) if is_num_lit(e))),
            )
            .collect();
        let mut slots: Vec<Option<Node>> = vec![None; args.len()];
        for i in order {
            let Some(a) = args.get(i) else { continue };
            let (n, t) = self.plain(a, ty.as_ref());
            if ty.is_none() || ty == Some(Type::Error) {
                ty = Some(t.clone());
            }
            types.push((t, a.span()));
            if let Some(s) = slots.get_mut(i) {
                *s = Some(n);
            }
        }
        nodes.extend(slots.into_iter().flatten());
        let t = ty.unwrap_or(Type::Error);
        for (at, s) in &types {
            if !(t.is_numeric() || t == Type::Date) {
                let msg = format!(
                    "`{name}` compares numbers or dates, not {}",
                    Show(at, &self.rs)
                );
                self.err(Diagnostic::new(Code::TypeMismatch, *s, msg).label("not a number"));
                return self.error_node(span);
            }
            if !fits(at, &t) && !fits(&t, at) {
                let msg = format!(
                    "`{name}` needs arguments of one type: {} and {}",
                    Show(&t, &self.rs),
                    Show(at, &self.rs)
                );
                self.err(
                    Diagnostic::new(Code::Incomparable, *s, msg)
                        .label(format!("this is {}", Show(at, &self.rs)))
                        .help(arith_help(BinOp::Sub, &t, at)),
                );
                return self.error_node(span);
            }
        }
        (node(NodeKind::Call(id, NumKind::of(&t), nodes), span), t)
    }

    /// A built-in with one parameter per argument ([`Check::Args`]).
    #[allow(
        clippy::too_many_arguments,
        reason = "the call's parts, passed through once"
    )]
    fn builtin_call(
        &mut self,
        id: Builtin,
        wants: &[Want],
        ret: Option<builtins::Ty>,
        f: &ast::Ident,
        args: &[Arg],
        span: Span,
        expect: Option<&Type>,
    ) -> (Node, Type) {
        let name = f.name.as_str();
        if !self.arg_count(f, args, wants.len(), span) {
            return self.error_node(span);
        }
        let role = if wants.len() == 1 {
            "the argument"
        } else {
            "an argument"
        };
        let mut nodes = Vec::with_capacity(args.len());
        let mut first: Option<Type> = None;
        for (a, w) in args.iter().zip(wants) {
            let hint = match w {
                Want::Number => expect.cloned(),
                Want::Is(t) => Some(t.ty()),
                Want::Convert { .. } => Some(Type::Decimal),
                Want::Any => None,
            };
            let (n, t) = self.plain(a, hint.as_ref());
            match w {
                Want::Number if !t.is_numeric() => {
                    let msg = format!("`{name}` applies to numbers, not {}", Show(&t, &self.rs));
                    self.err(Diagnostic::new(Code::TypeMismatch, span, msg).label("not a number"));
                }
                Want::Is(want) => {
                    self.expect_type(&t, &want.ty(), a.span(), &format!("{role} of `{name}`"));
                }
                Want::Convert { or_number } => {
                    let ok = if *or_number {
                        t.is_numeric()
                    } else {
                        matches!(t, Type::Decimal | Type::Int | Type::Error)
                    };
                    if !ok {
                        let msg =
                            format!("`{name}` converts a decimal, not {}", Show(&t, &self.rs));
                        self.err(
                            Diagnostic::new(Code::TypeMismatch, a.span(), msg)
                                .label("cannot convert")
                                .help("convert to a decimal first with `to_decimal`"),
                        );
                    }
                }
                _ => {}
            }
            first.get_or_insert(t);
            nodes.push(n);
        }
        let out = match ret {
            Some(t) => t.ty(),
            None => first.unwrap_or(Type::Error),
        };
        (
            node(NodeKind::Call(id, NumKind::of(&out), nodes), span),
            out,
        )
    }

    /// A call of a user function: arguments are checked in the caller's scope against the
    /// parameter types; the body was checked once, where the function is declared.
    fn call_function(&mut self, id: u32, f: &ast::Ident, args: &[Arg], span: Span) -> (Node, Type) {
        self.mark_used(Global::Function(id));
        let Some(info) = self.functions.get(id as usize).cloned() else {
            return self.error_node(span);
        };
        if args.len() != info.params.len() {
            let sig: Vec<String> = info
                .params
                .iter()
                .map(|(n, t)| format!("{n}: {}", Show(t, &self.rs)))
                .collect();
            self.err(
                Diagnostic::new(
                    Code::ArgCount,
                    span,
                    format!(
                        "`{}` takes {} argument(s), but {} are given",
                        info.name,
                        info.params.len(),
                        args.len()
                    ),
                )
                .label("wrong number of arguments")
                .help(format!("`{}({})`", info.name, sig.join(", "))),
            );
            return self.error_node(span);
        }
        let mut bound = Vec::with_capacity(args.len());
        for (a, (_, pt)) in args.iter().zip(&info.params) {
            if !self.no_lambdas(std::slice::from_ref(a), &info.name) {
                return self.error_node(span);
            }
            let (n, t) = self.plain(a, Some(pt));
            self.expect_type(&t, pt, a.span(), &format!("an argument of `{}`", info.name));
            bound.push(n);
        }
        self.refs.push((Global::Function(id), f.span));
        (node(NodeKind::CallFn(id, bound), span), info.ty)
    }

    fn round(
        &mut self,
        f: &ast::Ident,
        args: &[Arg],
        span: Span,
        expect: Option<&Type>,
    ) -> (Node, Type) {
        if !self.arg_count(f, args, 3, span) {
            return self.error_node(span);
        }
        let (n, t) = self.plain(nth(args, 0), expect);
        if !matches!(
            t,
            Type::Money | Type::Decimal | Type::Rate | Type::Int | Type::Error
        ) {
            let msg = format!("`round` applies to numbers, not {}", Show(&t, &self.rs));
            self.err(
                Diagnostic::new(Code::TypeMismatch, nth(args, 0).span(), msg).label("not a number"),
            );
        }
        let unit = match nth(args, 1) {
            Arg::Expr(Expr {
                kind: ExprKind::Lit(Lit::Number(d)),
                ..
            }) if *d > Decimal::ZERO => Some(*d),
            Arg::Expr(Expr {
                kind: ExprKind::Lit(Lit::Percent(d)),
                ..
            }) if *d > Decimal::ZERO && t == Type::Rate => Some(*d),
            a => {
                self.err(
                    Diagnostic::new(Code::BadRounding, a.span(), "the rounding unit must be a positive number written in the rule")
                        .label("not a constant unit")
                        .help("e.g. `round(x, 0.01, half_up)` rounds to the fen, `round(x, 1, half_up)` to the yuan"),
                );
                None
            }
        };
        let mode = match nth(args, 2) {
            Arg::Expr(Expr {
                kind: ExprKind::Name(m),
                span: ms,
            }) => match RoundMode::from_name(m) {
                Some(mode) => Some(mode),
                None => {
                    let sugg = did_you_mean(m, RoundMode::NAMES.iter().map(|(n, _)| *n))
                        .map(str::to_string);
                    let names: Vec<&str> = RoundMode::NAMES.iter().map(|(n, _)| *n).collect();
                    self.err(
                        Diagnostic::new(
                            Code::BadRounding,
                            *ms,
                            format!("unknown rounding mode `{m}`"),
                        )
                        .label("not a rounding mode")
                        .help(match sugg {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => format!("the modes are: {}", names.join(", ")),
                        }),
                    );
                    None
                }
            },
            a => {
                self.err(
                    Diagnostic::new(
                        Code::BadRounding,
                        a.span(),
                        "the rounding mode must be named",
                    )
                    .label("not a mode")
                    .help(
                        "use half_up (四舍五入), half_even, half_down, up, down, floor or ceiling",
                    ),
                );
                None
            }
        };
        match (unit, mode) {
            (Some(u), Some(m)) => (node(NodeKind::Round(Box::new(n), u, m), span), t),
            _ => self.error_node(span),
        }
    }

    fn list_call(
        &mut self,
        f: &ast::Ident,
        op: ListOp,
        args: &[Arg],
        span: Span,
        expect: Option<&Type>,
    ) -> (Node, Type) {
        let name = f.name.as_str();
        let needs_fn = matches!(op, ListOp::Any | ListOp::All | ListOp::Map | ListOp::Filter);
        let (min_args, max_args) = if needs_fn { (2, 2) } else { (1, 2) };
        if args.len() < min_args || args.len() > max_args {
            self.err(
                Diagnostic::new(
                    Code::ArgCount,
                    span,
                    format!(
                        "`{name}` takes {} argument(s), but {} are given",
                        if needs_fn { "2" } else { "1 or 2" },
                        args.len()
                    ),
                )
                .label("wrong number of arguments")
                .help(signature(name)),
            );
            return self.error_node(span);
        }
        let Some(Arg::Expr(list)) = args.first() else {
            self.err(
                Diagnostic::new(
                    Code::BadLambda,
                    span,
                    format!("`{name}` needs a list first"),
                )
                .label("here"),
            );
            return self.error_node(span);
        };
        let (ln, lt) = self.expr(list, None);
        let elem = match &lt {
            Type::List(t) => (**t).clone(),
            Type::Error => Type::Error,
            t => {
                let msg = format!("`{name}` needs a list, not {}", Show(t, &self.rs));
                self.err(Diagnostic::new(Code::TypeMismatch, list.span, msg).label("not a list"));
                return self.error_node(span);
            }
        };
        let slot = self.alloc_slot(elem.clone());
        let body = match args.get(1) {
            Some(a) => {
                let Some((v, b)) = self.lambda_or_expr(a, true, name) else {
                    return self.error_node(span);
                };
                self.locals.push((v.name.clone(), slot, elem.clone()));
                let body_expect = match op {
                    ListOp::Count | ListOp::Any | ListOp::All | ListOp::Filter => Some(Type::Bool),
                    ListOp::Sum | ListOp::Min | ListOp::Max => expect.cloned(),
                    ListOp::Map => None,
                };
                let r = self.expr(b, body_expect.as_ref());
                self.locals.pop();
                Some((r, b.span))
            }
            None => None,
        };
        let value_t = body
            .as_ref()
            .map(|((_, t), _)| t.clone())
            .unwrap_or_else(|| elem.clone());
        let out = match op {
            ListOp::Count | ListOp::Any | ListOp::All | ListOp::Filter => {
                if let Some(((_, t), s)) = &body {
                    self.expect_type(t, &Type::Bool, *s, &format!("the function of `{name}`"));
                }
                match op {
                    ListOp::Count => Type::Int,
                    ListOp::Filter => lt.clone(),
                    _ => Type::Bool,
                }
            }
            ListOp::Map => Type::List(Box::new(value_t.clone())),
            ListOp::Sum | ListOp::Min | ListOp::Max => {
                let ok = value_t.is_numeric() || (op != ListOp::Sum && value_t == Type::Date);
                if !ok {
                    let s = body.as_ref().map(|(_, s)| *s).unwrap_or(list.span);
                    let msg = format!(
                        "`{name}` needs numbers, but this gives {}",
                        Show(&value_t, &self.rs)
                    );
                    self.err(Diagnostic::new(Code::TypeMismatch, s, msg).label("not a number"));
                    return self.error_node(span);
                }
                value_t.clone()
            }
        };
        let kind = NumKind::of(&value_t);
        let body_node = body.map(|((n, _), _)| Box::new(n));
        (
            node(
                NodeKind::ListOp(op, Box::new(ln), slot, body_node, kind),
                span,
            ),
            out,
        )
    }

    fn match_expr(
        &mut self,
        scrut: &Expr,
        arms: &[ast::Arm],
        span: Span,
        expect: Option<&Type>,
    ) -> (Node, Type) {
        let (sn, st) = self.expr(scrut, None);
        let e = match st {
            Type::Enum(e) => Some(e),
            Type::Error => None,
            ref t => {
                let msg = format!("`match` works on enums, not {}", Show(t, &self.rs));
                self.err(
                    Diagnostic::new(Code::TypeMismatch, scrut.span, msg)
                        .label("not an enum")
                        .help("use `if … then … else …` for other values"),
                );
                None
            }
        };
        let variants = e
            .and_then(|e| self.rs.enums.get(e as usize))
            .map(|en| en.variants.clone())
            .unwrap_or_default();
        let mut arm_of: Vec<Option<u32>> = vec![None; variants.len()];
        let mut nodes = Vec::new();
        let mut result: Option<Type> = None;
        let mut ty: Option<Type> = expect.cloned();
        let mut wildcard_seen = false;
        for (ai, arm) in arms.iter().enumerate() {
            let mut useful = false;
            for p in &arm.patterns {
                match p {
                    Pattern::Wildcard(_) => {
                        for slot in arm_of.iter_mut().filter(|s| s.is_none()) {
                            *slot = Some(ai as u32);
                            useful = true;
                        }
                        if !wildcard_seen && variants.is_empty() {
                            useful = true;
                        }
                        wildcard_seen = true;
                    }
                    Pattern::Variant(q, v) => {
                        let Some(e) = e else { continue };
                        if let Some(q) = q {
                            let en = self
                                .rs
                                .enums
                                .get(e as usize)
                                .map(|x| x.name.clone())
                                .unwrap_or_default();
                            if q.name != en {
                                let msg =
                                    format!("`{}.{}` is not a value of `{en}`", q.name, v.name);
                                self.err(
                                    Diagnostic::new(Code::TypeMismatch, q.span, msg)
                                        .label("another enum"),
                                );
                                continue;
                            }
                        }
                        if let Value::Enum(_, i) = self.variant_value(e, v) {
                            if let Some(slot @ None) = arm_of.get_mut(i as usize) {
                                *slot = Some(ai as u32);
                                useful = true;
                            }
                        } else {
                            useful = true;
                        }
                    }
                }
            }
            if !useful && e.is_some() {
                self.err(
                    Diagnostic::new(
                        Code::UnreachableArm,
                        arm.span,
                        "this arm can never be reached",
                    )
                    .label("earlier arms already cover it")
                    .help("remove the arm, or move it before the arm that covers it"),
                );
            }
            let (n, t) = self.expr(&arm.body, ty.as_ref());
            result = self.join_branch(result, &t, arm.body.span);
            if ty.is_none() && !is_num_lit(&arm.body) {
                ty = Some(t);
            }
            nodes.push(n);
        }
        let missing: Vec<&str> = arm_of
            .iter()
            .zip(&variants)
            .filter(|(a, _)| a.is_none())
            .map(|(_, v)| v.as_str())
            .collect();
        if !missing.is_empty() {
            let list = missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ");
            self.err(
                Diagnostic::new(
                    Code::NonExhaustiveMatch,
                    scrut.span,
                    format!("this match does not cover {list}"),
                )
                .label("not every value is handled")
                .help(format!("add an arm for {list}, or `_ => …` for the rest")),
            );
            return self.error_node(span);
        }
        let table: Vec<u32> = arm_of.into_iter().map(|a| a.unwrap_or(0)).collect();
        (
            node(NodeKind::Match(Box::new(sn), table, nodes), span),
            result.unwrap_or(Type::Error),
        )
    }

    fn adjust(&mut self, a: &ast::Adjust, span: Span) -> (Node, Type) {
        let (amount, at) = self.expr(&a.amount, Some(&Type::Money));
        if !matches!(at, Type::Money | Type::Decimal | Type::Error) {
            let msg = format!(
                "`adjust` scales money or a decimal, not {}",
                Show(&at, &self.rs)
            );
            self.err(
                Diagnostic::new(Code::TypeMismatch, a.amount.span, msg).label("cannot be indexed"),
            );
        }
        let series = match self.global(&a.series.name) {
            Some(Global::Series(s)) => {
                self.mark_used(Global::Series(s));
                let st = self
                    .rs
                    .series
                    .get(s as usize)
                    .map(|x| x.ty.clone())
                    .unwrap_or(Type::Error);
                if !matches!(st, Type::Decimal | Type::Int | Type::Error) {
                    let msg = format!(
                        "an index series holds decimals (e.g. 102.0), not {}",
                        Show(&st, &self.rs)
                    );
                    self.err(
                        Diagnostic::new(Code::TypeMismatch, a.series.span, msg)
                            .label("not an index"),
                    );
                }
                Some(s)
            }
            _ => {
                let cands: Vec<&str> = self
                    .globals
                    .iter()
                    .filter(|(_, (g, _))| matches!(g, Global::Series(_)))
                    .map(|(n, _)| n.as_str())
                    .collect();
                let sugg = did_you_mean(&a.series.name, cands).map(str::to_string);
                self.err(
                    Diagnostic::new(
                        Code::UnknownName,
                        a.series.span,
                        format!("no series named `{}`", a.series.name),
                    )
                    .label("not a series")
                    .suggest(sugg.as_deref()),
                );
                None
            }
        };
        let (base, bt) = self.expr(&a.base, Some(&Type::Int));
        self.expect_type(&bt, &Type::Int, a.base.span, "the base year");
        let (to, tt) = self.expr(&a.to, Some(&Type::Int));
        self.expect_type(&tt, &Type::Int, a.to.span, "the target year");
        if let (Some(s), NodeKind::Const(Value::Int(y))) = (series, &base.kind) {
            self.base_years.push((s, *y, a.base.span));
        }
        let mode = match RoundMode::from_name(&a.mode.name) {
            Some(m) => m,
            None => {
                let sugg = did_you_mean(&a.mode.name, RoundMode::NAMES.iter().map(|(n, _)| *n))
                    .map(str::to_string);
                self.err(
                    Diagnostic::new(
                        Code::BadRounding,
                        a.mode.span,
                        format!("unknown rounding mode `{}`", a.mode.name),
                    )
                    .label("not a rounding mode")
                    .suggest(sugg.as_deref()),
                );
                return self.error_node(span);
            }
        };
        if a.unit <= Decimal::ZERO {
            self.err(
                Diagnostic::new(
                    Code::BadRounding,
                    a.unit_span,
                    "the rounding unit must be positive",
                )
                .label("zero unit"),
            );
            return self.error_node(span);
        }
        let Some(series) = series else {
            return self.error_node(span);
        };
        let k = NodeKind::Adjust {
            amount: Box::new(amount),
            series,
            base: Box::new(base),
            to: Box::new(to),
            unit: a.unit,
            mode,
            floor: a.floor,
        };
        (node(k, span), at)
    }
}

fn signature(name: &str) -> String {
    match builtins::lookup(name) {
        Some((_, e)) => e.signature.to_string(),
        None => format!("`{name}(x)`"),
    }
}
