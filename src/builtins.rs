//! The built-in functions, one entry each: its name, its signature for people, how the
//! checker types a call, and how both evaluators compute it.
//!
//! The checker (`check/expr.rs`) resolves a call by name here, checks the arguments against
//! the entry's [`Check`] and lowers it to `NodeKind::Call` with the entry's [`Builtin`] id.
//! The tree walker (`eval.rs`) computes it with [`Call::value`]; the compiled evaluator
//! (`compile.rs`) with [`Call::num`] on bare decimals when it can, else [`Call::value`]
//! too. [`Call::cost`] is the work beyond one step (text searched) that both count against
//! the step limit. `rulec lsp` completes the names with their signatures. The list functions
//! (`sum(xs, x => …)`) and the special forms (`round`, `marginal`) have an entry for their
//! name and signature; their typing and evaluation have nodes of their own.
//!
//! Below the registry are the helpers both evaluators share: the list functions' loop
//! ([`list_op`]), `num`, `mk`, `compare`, exact-arithmetic errors.

use crate::diag::{Code, Diagnostic};
use crate::ir::{Builtin, ListOp, NumKind};
use crate::source::Span;
use crate::types::Type;
use crate::value::{exact_sub, Date, Inexact, Money, Rate, Value};
use rust_decimal::Decimal;
use std::cmp::Ordering;
use std::sync::Arc;

type R<T> = Result<T, Box<Diagnostic>>;

/// A type a built-in's parameter or result may name: the `Copy` subset of [`Type`] the
/// registry needs, so entries are plain statics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// `money`
    Money,
    /// `rate`
    Rate,
    /// `decimal`
    Decimal,
    /// `int`
    Int,
    /// `bool`
    Bool,
    /// `date`
    Date,
    /// `text`
    Text,
}

impl Ty {
    /// The static type.
    pub fn ty(self) -> Type {
        match self {
            Ty::Money => Type::Money,
            Ty::Rate => Type::Rate,
            Ty::Decimal => Type::Decimal,
            Ty::Int => Type::Int,
            Ty::Bool => Type::Bool,
            Ty::Date => Type::Date,
            Ty::Text => Type::Text,
        }
    }
}

/// What one parameter accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    /// Any number; the result takes its type (`abs`).
    Number,
    /// This type (`year(date)`, `limit(money, …)`).
    Is(Ty),
    /// A decimal or an integer to convert; `or_number` also lets any number through
    /// (`to_decimal`).
    Convert {
        /// Whether any number is accepted, not only a decimal or an integer.
        or_number: bool,
    },
    /// Anything (`exists`).
    Any,
}

/// How the checker types a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Numbers or dates of one type, two or more (exactly `Some(n)`); the result has their
    /// type (`min`, `max`, `clamp`).
    Ordered(Option<usize>),
    /// One argument per parameter; the result has type `ret`, or the first argument's when
    /// `ret` is `None`.
    Args(&'static [Want], Option<Ty>),
}

/// The compiled evaluator's form on bare decimals (every argument a number, or a date for
/// `OfDate`); the result is rebuilt with the node's [`NumKind`].
#[derive(Clone, Copy, Debug)]
pub enum NumForm {
    /// A left fold over one or more arguments (`min`, `max`).
    Fold(fn(Decimal, Decimal) -> Decimal),
    /// One argument.
    Unary(fn(Decimal) -> Decimal),
    /// Two arguments.
    Binary(fn(Decimal, Decimal) -> Result<Decimal, Inexact>),
    /// Three arguments.
    Ternary(fn(Decimal, Decimal, Decimal) -> Result<Decimal, Inexact>),
    /// One date to an integer (`year`, `month`).
    OfDate(fn(Date) -> i64),
}

/// An ordinary built-in: arguments in, a value out.
#[derive(Clone, Copy, Debug)]
pub struct Call {
    /// How a call is typed.
    pub check: Check,
    /// The value for evaluated arguments, with the node's [`NumKind`] (the tree walker's
    /// form, and the compiled evaluator's when [`Call::num`] does not apply).
    pub value: fn(&[Value], NumKind, Span) -> R<Value>,
    /// Steps the call costs beyond its own: a step per 64 bytes of text searched.
    pub cost: fn(&[Value]) -> u64,
    /// The form on bare decimals, if any.
    pub num: Option<NumForm>,
}

/// A built-in with a syntax of its own, typed and lowered by the checker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    /// `round(x, unit, mode)`: a rounding node.
    Round,
    /// `marginal(bands, amount)`: names a `bands` declaration.
    Marginal,
}

/// One built-in function.
#[derive(Debug)]
pub struct Entry {
    /// The name rule files call it by.
    pub name: &'static str,
    /// How it is called, for help texts and completion.
    pub signature: &'static str,
    /// The ordinary form (`min(a, b)`), if it has one.
    pub call: Option<Call>,
    /// The list form (`min(xs, x => …)`, `sum(xs)`), if it has one.
    pub list: Option<ListOp>,
    /// A special form, if it is one.
    pub special: Option<Special>,
}

fn free(_: &[Value]) -> u64 {
    0
}

fn text_cost(args: &[Value]) -> u64 {
    match args.first() {
        Some(Value::Text(t)) => t.len() as u64 / 64,
        _ => 0,
    }
}

fn internal(span: Span, what: &str) -> Box<Diagnostic> {
    fail(
        Code::Internal,
        span,
        format!("internal error: {what} (a bug in rulec)"),
    )
}

fn arg(args: &[Value], i: usize) -> Value {
    args.get(i).cloned().unwrap_or(Value::None)
}

fn d(args: &[Value], i: usize) -> Decimal {
    args.get(i).map(num).unwrap_or(Decimal::ZERO)
}

/// A number in the node's kind; anything else as it is.
fn rebox(v: Value, kind: NumKind, span: Span) -> R<Value> {
    if is_num(&v) {
        mk(kind, num(&v), span)
    } else {
        Ok(v)
    }
}

fn best(args: &[Value], kind: NumKind, span: Span, want: Ordering) -> R<Value> {
    let mut best = arg(args, 0);
    for v in args.iter().skip(1) {
        if compare(v, &best) == Some(want) {
            best = v.clone();
        }
    }
    rebox(best, kind, span)
}

fn min_value(args: &[Value], kind: NumKind, span: Span) -> R<Value> {
    best(args, kind, span, Ordering::Less)
}

fn max_value(args: &[Value], kind: NumKind, span: Span) -> R<Value> {
    best(args, kind, span, Ordering::Greater)
}

fn clamp_value(args: &[Value], kind: NumKind, span: Span) -> R<Value> {
    let (x, lo, hi) = (arg(args, 0), arg(args, 1), arg(args, 2));
    let v = if compare(&x, &lo) == Some(Ordering::Less) {
        lo
    } else if compare(&x, &hi) == Some(Ordering::Greater) {
        hi
    } else {
        x
    };
    rebox(v, kind, span)
}

/// The smaller, the first of equals (as the value form keeps it).
fn min_num(best: Decimal, x: Decimal) -> Decimal {
    if x < best {
        x
    } else {
        best
    }
}

/// The larger, the first of equals.
fn max_num(best: Decimal, x: Decimal) -> Decimal {
    if x > best {
        x
    } else {
        best
    }
}

fn abs_num(x: Decimal) -> Decimal {
    x.abs()
}

fn clamp_num(x: Decimal, lo: Decimal, hi: Decimal) -> Result<Decimal, Inexact> {
    Ok(if x < lo {
        lo
    } else if x > hi {
        hi
    } else {
        x
    })
}

fn abs_value(args: &[Value], kind: NumKind, span: Span) -> R<Value> {
    mk(kind, d(args, 0).abs(), span)
}

fn date_part(args: &[Value], span: Span, part: fn(Date) -> i64) -> R<Value> {
    match arg(args, 0) {
        Value::Date(dt) => Ok(Value::Int(part(dt))),
        _ => Err(internal(span, "a date was expected")),
    }
}

fn year_of(d: Date) -> i64 {
    i64::from(d.year())
}

fn month_of(d: Date) -> i64 {
    i64::from(d.month())
}

fn year_value(args: &[Value], _: NumKind, span: Span) -> R<Value> {
    date_part(args, span, year_of)
}

fn month_value(args: &[Value], _: NumKind, span: Span) -> R<Value> {
    date_part(args, span, month_of)
}

fn same(x: Decimal) -> Decimal {
    x
}

/// The value of a one-argument conversion to the node's kind (`fixed`, `to_rate`, …).
fn convert_value(args: &[Value], kind: NumKind, span: Span) -> R<Value> {
    mk(kind, d(args, 0), span)
}

/// `limit(cost, limit, used)` = `min(cost, max(0, limit − used))`.
fn limit_num(cost: Decimal, limit: Decimal, used: Decimal) -> Result<Decimal, Inexact> {
    Ok(cost.min(exact_sub(limit, used)?.max(Decimal::ZERO)))
}

fn limit_value(args: &[Value], _: NumKind, span: Span) -> R<Value> {
    let v = exact(limit_num(d(args, 0), d(args, 1), d(args, 2)), span)?;
    Ok(Value::Money(Money(v)))
}

/// `remaining(cap, used)` = `max(0, cap − used)`.
fn remaining_num(cap: Decimal, used: Decimal) -> Result<Decimal, Inexact> {
    Ok(exact_sub(cap, used)?.max(Decimal::ZERO))
}

fn remaining_value(args: &[Value], _: NumKind, span: Span) -> R<Value> {
    let v = exact(remaining_num(d(args, 0), d(args, 1)), span)?;
    Ok(Value::Money(Money(v)))
}

fn exists_value(args: &[Value], _: NumKind, _: Span) -> R<Value> {
    Ok(Value::Bool(arg(args, 0).is_some()))
}

fn texts(args: &[Value], span: Span) -> R<(Arc<str>, Arc<str>)> {
    match (arg(args, 0), arg(args, 1)) {
        (Value::Text(t), Value::Text(s)) => Ok((t, s)),
        _ => Err(internal(span, "text was expected")),
    }
}

fn before_value(args: &[Value], _: NumKind, span: Span) -> R<Value> {
    let (t, sep) = texts(args, span)?;
    let out = match t.find(&*sep) {
        Some(i) if !sep.is_empty() => t.get(..i).unwrap_or(""),
        _ => &t,
    };
    Ok(Value::Text(Arc::from(out)))
}

fn starts_with_value(args: &[Value], _: NumKind, span: Span) -> R<Value> {
    let (t, prefix) = texts(args, span)?;
    Ok(Value::Bool(t.starts_with(&*prefix)))
}

const fn call(check: Check, value: fn(&[Value], NumKind, Span) -> R<Value>) -> Call {
    Call {
        check,
        value,
        cost: free,
        num: None,
    }
}

const fn with_num(c: Call, num: NumForm) -> Call {
    Call {
        num: Some(num),
        ..c
    }
}

const MONEY: Want = Want::Is(Ty::Money);
const TEXT: Want = Want::Is(Ty::Text);

/// Every built-in function, in the order help texts list them.
pub static BUILTINS: &[Entry] = &[
    Entry {
        name: "min",
        signature: "`min(a, b, …)`, or `min(list, x => value)`",
        call: Some(with_num(
            call(Check::Ordered(None), min_value),
            NumForm::Fold(min_num),
        )),
        list: Some(ListOp::Min),
        special: None,
    },
    Entry {
        name: "max",
        signature: "`max(a, b, …)`, or `max(list, x => value)`",
        call: Some(with_num(
            call(Check::Ordered(None), max_value),
            NumForm::Fold(max_num),
        )),
        list: Some(ListOp::Max),
        special: None,
    },
    Entry {
        name: "clamp",
        signature: "`clamp(x, low, high)`",
        call: Some(with_num(
            call(Check::Ordered(Some(3)), clamp_value),
            NumForm::Ternary(clamp_num),
        )),
        list: None,
        special: None,
    },
    Entry {
        name: "abs",
        signature: "`abs(x)`",
        call: Some(with_num(
            call(Check::Args(&[Want::Number], None), abs_value),
            NumForm::Unary(abs_num),
        )),
        list: None,
        special: None,
    },
    Entry {
        name: "round",
        signature: "`round(x, 0.01, half_up)`: value, unit, mode",
        call: None,
        list: None,
        special: Some(Special::Round),
    },
    Entry {
        name: "year",
        signature: "`year(x)`",
        call: Some(with_num(
            call(
                Check::Args(&[Want::Is(Ty::Date)], Some(Ty::Int)),
                year_value,
            ),
            NumForm::OfDate(year_of),
        )),
        list: None,
        special: None,
    },
    Entry {
        name: "month",
        signature: "`month(x)`",
        call: Some(with_num(
            call(
                Check::Args(&[Want::Is(Ty::Date)], Some(Ty::Int)),
                month_value,
            ),
            NumForm::OfDate(month_of),
        )),
        list: None,
        special: None,
    },
    Entry {
        name: "fixed",
        signature: "`fixed(amount)` pays the amount whatever the cost",
        call: Some(with_num(
            call(Check::Args(&[MONEY], Some(Ty::Money)), convert_value),
            NumForm::Unary(same),
        )),
        list: None,
        special: None,
    },
    Entry {
        name: "limit",
        signature: "`limit(cost, limit, used)` pays min(cost, limit − used)",
        call: Some(with_num(
            call(
                Check::Args(&[MONEY, MONEY, MONEY], Some(Ty::Money)),
                limit_value,
            ),
            NumForm::Ternary(limit_num),
        )),
        list: None,
        special: None,
    },
    Entry {
        name: "remaining",
        signature: "`remaining(cap, used)` is max(0, cap − used)",
        call: Some(with_num(
            call(
                Check::Args(&[MONEY, MONEY], Some(Ty::Money)),
                remaining_value,
            ),
            NumForm::Binary(remaining_num),
        )),
        list: None,
        special: None,
    },
    Entry {
        name: "to_rate",
        signature: "`to_rate(x)`",
        call: Some(with_num(
            call(
                Check::Args(&[Want::Convert { or_number: false }], Some(Ty::Rate)),
                convert_value,
            ),
            NumForm::Unary(same),
        )),
        list: None,
        special: None,
    },
    Entry {
        name: "to_decimal",
        signature: "`to_decimal(x)`",
        call: Some(with_num(
            call(
                Check::Args(&[Want::Convert { or_number: true }], Some(Ty::Decimal)),
                convert_value,
            ),
            NumForm::Unary(same),
        )),
        list: None,
        special: None,
    },
    Entry {
        name: "to_money",
        signature: "`to_money(x)`",
        call: Some(with_num(
            call(
                Check::Args(&[Want::Convert { or_number: false }], Some(Ty::Money)),
                convert_value,
            ),
            NumForm::Unary(same),
        )),
        list: None,
        special: None,
    },
    Entry {
        name: "exists",
        signature: "`exists(x)`",
        call: Some(call(
            Check::Args(&[Want::Any], Some(Ty::Bool)),
            exists_value,
        )),
        list: None,
        special: None,
    },
    Entry {
        name: "before",
        signature: "`before(text, separator)`",
        call: Some(Call {
            cost: text_cost,
            ..call(Check::Args(&[TEXT, TEXT], Some(Ty::Text)), before_value)
        }),
        list: None,
        special: None,
    },
    Entry {
        name: "starts_with",
        signature: "`starts_with(text, prefix)`",
        call: Some(Call {
            cost: text_cost,
            ..call(
                Check::Args(&[TEXT, TEXT], Some(Ty::Bool)),
                starts_with_value,
            )
        }),
        list: None,
        special: None,
    },
    Entry {
        name: "sum",
        signature: "`sum(list)` or `sum(list, x => value)`",
        call: None,
        list: Some(ListOp::Sum),
        special: None,
    },
    Entry {
        name: "count",
        signature: "`count(list)` or `count(list, x => condition)`",
        call: None,
        list: Some(ListOp::Count),
        special: None,
    },
    Entry {
        name: "any",
        signature: "`any(list, x => condition)`",
        call: None,
        list: Some(ListOp::Any),
        special: None,
    },
    Entry {
        name: "all",
        signature: "`all(list, x => condition)`",
        call: None,
        list: Some(ListOp::All),
        special: None,
    },
    Entry {
        name: "map",
        signature: "`map(list, x => value)`",
        call: None,
        list: Some(ListOp::Map),
        special: None,
    },
    Entry {
        name: "filter",
        signature: "`filter(list, x => condition)`",
        call: None,
        list: Some(ListOp::Filter),
        special: None,
    },
    Entry {
        name: "marginal",
        signature: "`marginal(bands, amount)`",
        call: None,
        list: None,
        special: Some(Special::Marginal),
    },
];

/// The built-in called `name`, with its id.
pub fn lookup(name: &str) -> Option<(Builtin, &'static Entry)> {
    BUILTINS
        .iter()
        .position(|e| e.name == name)
        .and_then(|i| Some((Builtin(u16::try_from(i).ok()?), BUILTINS.get(i)?)))
}

/// The entry of a built-in id.
pub fn entry(b: Builtin) -> Option<&'static Entry> {
    BUILTINS.get(usize::from(b.0))
}

/// The ordinary form of a built-in id.
pub fn call_of(b: Builtin) -> Option<&'static Call> {
    entry(b)?.call.as_ref()
}

// ------------------------------------------------------------ helpers both evaluators share

/// A condition's value (anything else is the internal error `E0739`: the checker proved it).
fn truth(v: &Value, span: Span) -> R<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        _ => Err(internal(span, "a condition was expected")),
    }
}

/// A number's value (anything else is the internal error `E0739`).
fn number(v: &Value, span: Span) -> R<Decimal> {
    if is_num(v) {
        Ok(num(v))
    } else {
        Err(internal(span, "a number was expected"))
    }
}

/// A list function (`sum`, `count`, `any`, `all`, `map`, `filter`, `min`, `max` of a list)
/// over `items`, for both evaluators: `apply` gives an item's value (its body's value, or
/// the item itself when there is no body), with whatever binding and step counting the
/// evaluator does.
pub(crate) fn list_op<C>(
    cx: &mut C,
    op: ListOp,
    items: &[Value],
    has_body: bool,
    kind: NumKind,
    span: Span,
    mut apply: impl FnMut(&mut C, &Value) -> R<Value>,
) -> R<Value> {
    match op {
        ListOp::Map => {
            let mut out = Vec::with_capacity(items.len());
            for x in items {
                out.push(apply(cx, x)?);
            }
            Ok(Value::List(Arc::from(out)))
        }
        ListOp::Filter => {
            let mut out = Vec::new();
            for x in items {
                if truth(&apply(cx, x)?, span)? {
                    out.push(x.clone());
                }
            }
            Ok(Value::List(Arc::from(out)))
        }
        ListOp::Sum => {
            let mut total = Decimal::ZERO;
            for x in items {
                let v = apply(cx, x)?;
                total = exact(crate::value::exact_add(total, number(&v, span)?), span)?;
            }
            if items.is_empty() {
                return Ok(zero(kind));
            }
            mk(kind, total, span)
        }
        ListOp::Count => {
            let mut c = 0i64;
            for x in items {
                if !has_body || truth(&apply(cx, x)?, span)? {
                    c += 1;
                }
            }
            Ok(Value::Int(c))
        }
        ListOp::Any | ListOp::All => {
            let any = op == ListOp::Any;
            for x in items {
                if truth(&apply(cx, x)?, span)? == any {
                    return Ok(Value::Bool(any));
                }
            }
            Ok(Value::Bool(!any))
        }
        ListOp::Min | ListOp::Max => {
            let want = if op == ListOp::Min {
                Ordering::Less
            } else {
                Ordering::Greater
            };
            let mut best: Option<Value> = None;
            for x in items {
                let v = apply(cx, x)?;
                let better = match &best {
                    None => true,
                    Some(b) => compare(&v, b) == Some(want),
                };
                if better {
                    best = Some(v);
                }
            }
            best.ok_or_else(|| {
                Box::new(
                    Diagnostic::new(
                        Code::EmptyAggregate,
                        span,
                        format!(
                            "`{}` of an empty list",
                            if op == ListOp::Min { "min" } else { "max" }
                        ),
                    )
                    .label("the list is empty for this claim")
                    .help("guard it: `if count(xs) > 0 then max(xs, …) else 0`"),
                )
            })
        }
    }
}

/// A runtime error at `span`.
pub(crate) fn fail(code: Code, span: Span, msg: impl Into<String>) -> Box<Diagnostic> {
    Box::new(Diagnostic::new(code, span, msg))
}

/// Numeric value of a number.
#[inline]
pub fn num(v: &Value) -> Decimal {
    match v {
        Value::Money(m) => m.0,
        Value::Rate(r) => r.0,
        Value::Decimal(d) => *d,
        Value::Int(i) => Decimal::from(*i),
        _ => Decimal::ZERO,
    }
}

/// A number of the given kind (an integer kind with a fraction stays a decimal).
#[inline]
pub(crate) fn mk(kind: NumKind, d: Decimal, span: Span) -> R<Value> {
    Ok(match kind {
        NumKind::Money => Value::Money(Money(d)),
        NumKind::Rate => Value::Rate(Rate(d)),
        NumKind::Decimal => Value::Decimal(d),
        NumKind::Int => {
            if !d.fract().is_zero() {
                return Ok(Value::Decimal(d));
            }
            Value::Int(
                i64::try_from(d).map_err(|_| fail(Code::Overflow, span, "an integer overflows"))?,
            )
        }
    })
}

/// Zero of the given kind.
pub(crate) fn zero(kind: NumKind) -> Value {
    match kind {
        NumKind::Money => Value::Money(Money(Decimal::ZERO)),
        NumKind::Rate => Value::Rate(Rate(Decimal::ZERO)),
        NumKind::Decimal => Value::Decimal(Decimal::ZERO),
        NumKind::Int => Value::Int(0),
    }
}

/// The order of two values (`None` when they do not compare).
#[inline]
pub(crate) fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Date(x), Value::Date(y)) => Some(x.cmp(y)),
        (Value::Text(x), Value::Text(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Enum(a, x), Value::Enum(b, y)) if a == b => Some(x.cmp(y)),
        (Value::None, Value::None) => Some(Ordering::Equal),
        (Value::None, _) | (_, Value::None) => None,
        (x, y) if is_num(x) && is_num(y) => Some(num(x).cmp(&num(y))),
        (x, y) => (x == y).then_some(Ordering::Equal),
    }
}

/// The steps a comparison costs beyond its own one: texts compare in blocks of 64 bytes, so
/// `==` or `in` on long texts is work the step limit sees, as text functions are.
#[inline]
pub(crate) fn compare_cost(a: &Value, b: &Value) -> u64 {
    match (a, b) {
        (Value::Text(x), Value::Text(y)) => x.len().min(y.len()) as u64 / 64,
        _ => 0,
    }
}

/// The steps looking a key up costs beyond its own one: a text key is hashed and compared
/// in blocks of 64 bytes (a catalog code, a table key), the same rate as [`compare_cost`].
#[inline]
pub(crate) fn key_cost(k: &Value) -> u64 {
    match k {
        Value::Text(t) => t.len() as u64 / 64,
        _ => 0,
    }
}

/// Whether a value is a number.
#[inline]
pub(crate) fn is_num(v: &Value) -> bool {
    matches!(
        v,
        Value::Money(_) | Value::Rate(_) | Value::Decimal(_) | Value::Int(_)
    )
}

/// The error of an exact operation that has no exact result.
pub(crate) fn inexact(e: Inexact, span: Span) -> Box<Diagnostic> {
    match e {
        Inexact::Overflow => overflow(span),
        Inexact::Precision => Box::new(
            Diagnostic::new(
                Code::Inexact,
                span,
                "this computation has no exact result within 28 digits",
            )
            .label("the exact value cannot be kept")
            .help("round explicitly where the rules allow it: `round(x, 0.01, half_up)`, or for a division `round(a / b, 0.01, half_up)`"),
        ),
    }
}

/// An exact operation's result, or its error at `span`.
#[inline]
pub(crate) fn exact(r: Result<Decimal, Inexact>, span: Span) -> R<Decimal> {
    r.map_err(|e| inexact(e, span))
}

/// A decimal overflow at `span`.
pub(crate) fn overflow(span: Span) -> Box<Diagnostic> {
    Box::new(
        Diagnostic::new(
            Code::Overflow,
            span,
            "this computation overflows an exact decimal",
        )
        .label("too large")
        .help("amounts must stay below 7.9 × 10^28; check the claim's quantities and prices"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_entry_has_a_form() {
        for (i, e) in BUILTINS.iter().enumerate() {
            assert!(
                BUILTINS.iter().skip(i + 1).all(|o| o.name != e.name),
                "{} twice",
                e.name
            );
            assert!(e.signature.contains(e.name), "{}", e.name);
            assert_eq!(lookup(e.name).map(|(_, x)| x.name), Some(e.name));
            let forms = [e.call.is_some(), e.list.is_some(), e.special.is_some()];
            assert!(forms.contains(&true), "{} has no form", e.name);
        }
        assert!(lookup("clmap").is_none());
    }

    #[test]
    fn limit_and_remaining_never_go_below_zero() {
        let m = |s: &str| s.parse::<Decimal>().unwrap_or_default();
        assert_eq!(limit_num(m("50"), m("100"), m("70")), Ok(m("30")));
        assert_eq!(limit_num(m("50"), m("100"), m("170")), Ok(m("0")));
        assert_eq!(remaining_num(m("100"), m("170")), Ok(m("0")));
        assert_eq!(clamp_num(m("5"), m("1"), m("3")), Ok(m("3")));
    }
}
