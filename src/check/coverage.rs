//! Claim coverage: `covers` declarations become [`ir::Coverage`], a list of clauses over
//! claim fields that evaluation tests before it settles anything.
//!
//! A condition is deliberately narrow — a field of the input compared with constants
//! (`claim.visit == inpatient`, `claim.visit in [prenatal, delivery]`), joined by `and` —
//! so the runtime check needs no evaluator and its error can name the deciding fields.

use super::Checker;
use crate::diag::{Code, Diagnostic};
use crate::ir::{self, CoverClause, CoverField};
use crate::source::Span;
use crate::syntax::ast::{self, BinOp, Expr, ExprKind, Lit, LitExpr};
use crate::types::{Show, Type};
use crate::value::Value;

impl Checker<'_> {
    /// Builds the ruleset's coverage from its `covers` declarations (already merged:
    /// inherited clauses first, dropped by an `override covers`).
    pub(crate) fn build_claim_coverage(&mut self, decls: &[&ast::Decl]) {
        let mut cov = ir::Coverage::default();
        for d in decls {
            let ast::DeclKind::Covers { expr, cite } = &d.kind else {
                continue;
            };
            let _ = self.cite(cite.as_ref());
            let mut conds = Vec::new();
            let mut ok = true;
            for c in conjuncts(expr) {
                match self.cover_cond(c, &mut cov.fields) {
                    Some(cond) => conds.push(cond),
                    None => ok = false,
                }
            }
            if !ok {
                continue;
            }
            let text = conds
                .iter()
                .map(|(f, vs): &(u32, Vec<Value>)| {
                    let name = cov
                        .fields
                        .get(*f as usize)
                        .map(|f| f.name.as_str())
                        .unwrap_or("?");
                    let shown: Vec<String> = vs.iter().map(|v| self.show_value(v)).collect();
                    match shown.as_slice() {
                        [one] => format!("{name} = {one}"),
                        _ => format!("{name} in [{}]", shown.join(", ")),
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            cov.clauses.push(CoverClause {
                conds,
                text,
                span: d.span,
            });
        }
        self.rs.coverage = cov;
    }

    /// One condition: `PATH == CONST` or `PATH in [CONST, …]`.
    fn cover_cond(&mut self, e: &Expr, fields: &mut Vec<CoverField>) -> Option<(u32, Vec<Value>)> {
        let (lhs, rhs, many) = match &e.kind {
            ExprKind::Binary(BinOp::Eq, l, r) => (l, r, false),
            ExprKind::Binary(BinOp::In, l, r) => (l, r, true),
            _ => return self.cover_error(e.span, "this is not a comparison with `==` or `in`"),
        };
        let (name, path, ty) = self.cover_path(lhs)?;
        let base = ty.unwrap_optional().clone();
        if !matches!(base, Type::Enum(_) | Type::Bool | Type::Int | Type::Text) {
            let what = format!(
                "`{name}` is {}; coverage tests enum, bool, int or text fields",
                Show(&ty, &self.rs)
            );
            return self.cover_error(lhs.span, &what);
        }
        let items: Vec<&Expr> = match (&rhs.kind, many) {
            (ExprKind::List(items), true) => items.iter().collect(),
            (_, true) => return self.cover_error(rhs.span, "`in` takes a list: `[a, b]`"),
            (_, false) => vec![&**rhs],
        };
        let mut values = Vec::new();
        let input = self
            .rs
            .input
            .as_ref()
            .map(|(n, _)| n.clone())
            .unwrap_or_default();
        for it in items {
            let Some(lit) = as_lit(it, &input) else {
                return self.cover_error(it.span, "this is not a constant");
            };
            let n = self.diags.len();
            let v = self.lit_value(&LitExpr { lit, span: it.span }, &base);
            if self.diags.len() > n {
                return None;
            }
            values.push(v);
        }
        let idx = match fields.iter().position(|f| f.path == path) {
            Some(i) => i,
            None => {
                fields.push(CoverField { name, path });
                fields.len() - 1
            }
        };
        Some((idx as u32, values))
    }

    /// `claim.a.b` → ("a.b", field indexes, type of the field).
    fn cover_path(&mut self, e: &Expr) -> Option<(String, Vec<u32>, Type)> {
        let mut names = Vec::new();
        let mut cur = e;
        while let ExprKind::Field(base, f) = &cur.kind {
            names.push(f);
            cur = base;
        }
        names.reverse();
        let input = self.rs.input.clone();
        let root_ok = matches!((&cur.kind, &input), (ExprKind::Name(n), Some((i, _))) if n == i);
        let Some((input_name, mut ty)) = input.filter(|_| root_ok && !names.is_empty()) else {
            return self.cover_error(e.span, "this is not a field of the claim");
        };
        let mut path = Vec::new();
        for f in &names {
            let Type::Record(r) = ty.unwrap_optional().clone() else {
                let what = format!("`{}` has no fields", f.name);
                return self.cover_error(f.span, &what);
            };
            let rec = self.rs.records.get(r as usize)?;
            let Some(i) = rec.fields.iter().position(|x| x.name == f.name) else {
                let cands = rec.fields.iter().map(|x| x.name.as_str());
                let sugg = crate::diag::did_you_mean(&f.name, cands).map(str::to_string);
                let rname = rec.name.clone();
                self.err(
                    Diagnostic::new(
                        Code::UnknownField,
                        f.span,
                        format!("record `{rname}` has no field `{}`", f.name),
                    )
                    .label("unknown field")
                    .suggest(sugg.as_deref()),
                );
                return None;
            };
            ty = rec.fields.get(i)?.ty.clone();
            path.push(i as u32);
        }
        self.mark_used(super::Global::Input);
        let _ = input_name;
        let name = names
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(".");
        Some((name, path, ty))
    }

    fn cover_error<T>(&mut self, span: Span, why: &str) -> Option<T> {
        self.err(
            Diagnostic::new(
                Code::CoverageCondition,
                span,
                format!("`covers` compares claim fields with constants: {why}"),
            )
            .label("not a coverage condition")
            .help("write `covers claim.visit == inpatient and claim.insured.scheme in [employee, resident]`"),
        );
        None
    }

    fn show_value(&self, v: &Value) -> String {
        match v {
            Value::Enum(e, i) => self
                .rs
                .enums
                .get(*e as usize)
                .and_then(|en| en.variants.get(*i as usize))
                .cloned()
                .unwrap_or_default(),
            Value::Text(t) => format!("{t:?}"),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            _ => "?".into(),
        }
    }
}

/// The operands of a chain of `and`.
fn conjuncts(e: &Expr) -> Vec<&Expr> {
    let mut out = Vec::new();
    let mut stack = vec![e];
    while let Some(x) = stack.pop() {
        match &x.kind {
            ExprKind::Binary(BinOp::And, l, r) => {
                stack.push(r);
                stack.push(l);
            }
            _ => out.push(x),
        }
    }
    out
}

/// A constant written as an expression (`input` is the claim's name: `claim.x` is not one).
fn as_lit(e: &Expr, input: &str) -> Option<Lit> {
    match &e.kind {
        ExprKind::Lit(l) => Some(l.clone()),
        ExprKind::Name(n) => Some(Lit::Variant(ast::Ident {
            name: n.clone(),
            span: e.span,
        })),
        ExprKind::Field(base, v) => match &base.kind {
            ExprKind::Name(en) if en != input => Some(Lit::Qualified(
                ast::Ident {
                    name: en.clone(),
                    span: base.span,
                },
                v.clone(),
            )),
            _ => None,
        },
        _ => None,
    }
}
