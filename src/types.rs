//! The static types of rulec and their unit rules.

use crate::syntax::ast::BinOp;
use std::fmt;

/// A static type. Ids index the compiled ruleset's enum, record and catalog tables.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    /// Money (CNY).
    Money,
    /// A rate, written `80%`.
    Rate,
    /// A plain decimal number.
    Decimal,
    /// An integer.
    Int,
    /// `true` / `false`.
    Bool,
    /// A calendar date.
    Date,
    /// Text.
    Text,
    /// An enum, by index.
    Enum(u32),
    /// A record, by index.
    Record(u32),
    /// A list.
    List(Box<Type>),
    /// An optional value.
    Optional(Box<Type>),
    /// A row of a catalog, by index.
    Row(u32),
    /// The type of an expression that already failed to check; it matches anything,
    /// so one mistake gives one diagnostic.
    Error,
}

impl Type {
    /// True for money, rate, decimal and int.
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            Type::Money | Type::Rate | Type::Decimal | Type::Int | Type::Error
        )
    }

    /// True for types with an order.
    pub fn is_ordered(&self) -> bool {
        self.is_numeric() || matches!(self, Type::Date | Type::Text)
    }

    /// The same type, without `?`.
    pub fn unwrap_optional(&self) -> &Type {
        match self {
            Type::Optional(t) => t,
            t => t,
        }
    }
}

/// Names of enums, records and catalogs, to print types.
pub trait TypeNames {
    /// An enum's name.
    fn enum_name(&self, id: u32) -> &str;
    /// A record's name.
    fn record_name(&self, id: u32) -> &str;
    /// A catalog's name.
    fn catalog_name(&self, id: u32) -> &str;
}

/// Displays a type with its names.
pub struct Show<'a, N: TypeNames>(pub &'a Type, pub &'a N);

impl<N: TypeNames> fmt::Display for Show<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Type::Money => f.write_str("money"),
            Type::Rate => f.write_str("rate"),
            Type::Decimal => f.write_str("decimal"),
            Type::Int => f.write_str("int"),
            Type::Bool => f.write_str("bool"),
            Type::Date => f.write_str("date"),
            Type::Text => f.write_str("text"),
            Type::Enum(i) => f.write_str(self.1.enum_name(*i)),
            Type::Record(i) => f.write_str(self.1.record_name(*i)),
            Type::Row(i) => write!(f, "row of {}", self.1.catalog_name(*i)),
            Type::List(t) => write!(f, "list<{}>", Show(t, self.1)),
            Type::Optional(t) => write!(f, "{}?", Show(t, self.1)),
            Type::Error => f.write_str("?"),
        }
    }
}

/// The result type of an arithmetic operator, or `None` when the units do not combine.
pub fn arith(op: BinOp, l: &Type, r: &Type) -> Option<Type> {
    use Type::*;
    if *l == Error || *r == Error {
        return Some(Error);
    }
    let t = match (op, l, r) {
        (BinOp::Add | BinOp::Sub, a, b) if a == b && a.is_numeric() => a.clone(),
        (BinOp::Add | BinOp::Sub, Int, Decimal) | (BinOp::Add | BinOp::Sub, Decimal, Int) => {
            Decimal
        }
        (BinOp::Mul, Money, Rate | Decimal | Int) | (BinOp::Mul, Rate | Decimal | Int, Money) => {
            Money
        }
        (BinOp::Mul, Rate, Rate | Decimal | Int) | (BinOp::Mul, Decimal | Int, Rate) => Rate,
        (BinOp::Mul, Decimal, Decimal | Int) | (BinOp::Mul, Int, Decimal) => Decimal,
        (BinOp::Mul, Int, Int) => Int,
        (BinOp::Div, Money, Money) | (BinOp::Div, Rate, Rate) => Decimal,
        (BinOp::Div, Money, Rate | Decimal | Int) => Money,
        (BinOp::Div, Rate, Decimal | Int) => Rate,
        (BinOp::Div, Decimal | Int, Decimal | Int) => Decimal,
        _ => return None,
    };
    Some(t)
}

/// Help for an operator whose units do not combine.
pub fn arith_help(op: BinOp, l: &Type, r: &Type) -> &'static str {
    use Type::*;
    match (op, l, r) {
        (BinOp::Mul, Money, Money) => "money times money has no meaning; multiply money by a rate (`amount * 80%`) or a decimal",
        (BinOp::Add | BinOp::Sub, Money, Rate) | (BinOp::Add | BinOp::Sub, Rate, Money) => {
            "money and rates cannot be added; to apply a rate, multiply: `amount * rate`"
        }
        (_, Money, Decimal | Int) | (_, Decimal | Int, Money) => {
            "convert explicitly with `to_money(x)` or `to_decimal(amount)`"
        }
        (_, Rate, Decimal | Int) | (_, Decimal | Int, Rate) => "convert explicitly with `to_rate(x)` or `to_decimal(rate)`",
        _ => "arithmetic applies to money, rate, decimal and int, with the unit rules in docs/language.md",
    }
}

/// True when values of the two types can be compared with `op`.
pub fn comparable(op: BinOp, l: &Type, r: &Type) -> bool {
    use Type::*;
    if *l == Error || *r == Error {
        return true;
    }
    let same = l == r || matches!((l, r), (Int, Decimal) | (Decimal, Int));
    match op {
        BinOp::Eq | BinOp::Ne => {
            let optional = matches!((l, r), (Optional(a), b) | (b, Optional(a)) if **a == *b);
            (same || optional) && !matches!(l, List(_) | Record(_))
        }
        _ => same && l.is_ordered(),
    }
}
