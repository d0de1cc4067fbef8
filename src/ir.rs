//! Stage 3, the compiled ruleset: what the checker produces and the evaluator runs.
//!
//! Names are gone: every reference is an index into one of the [`Ruleset`]'s vectors,
//! every local variable is a slot number, every field a position. Each node keeps its
//! [`Span`] so a runtime error can point at the rule text.

use crate::source::Span;
use crate::types::{Type, TypeNames};
use crate::value::{Date, Period, RoundMode, Value};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A citation, resolved.
#[derive(Clone, Debug, PartialEq)]
pub enum Cite {
    /// No source gives the value.
    Assumed,
    /// A declared source, with an optional locator (article, page).
    Source {
        /// Index into [`Ruleset::sources`].
        source: u32,
        /// Article, page or paragraph.
        locator: Option<String>,
    },
    /// Free text.
    Text(String),
}

/// A declared source document.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    /// Identifier used in `cite`.
    pub name: String,
    /// Title.
    pub title: String,
    /// Where to find it.
    pub location: Option<String>,
}

/// One dated version of something.
#[derive(Clone, Debug)]
pub struct Version<T> {
    /// When it is in force.
    pub period: Period,
    /// The value.
    pub value: T,
    /// Its citation.
    pub cite: Option<Cite>,
    /// Where it is written.
    pub span: Span,
}

/// Picks the version in force at `date` (versions are sorted and disjoint).
pub fn version_at<T>(versions: &[Version<T>], date: Date) -> Option<&Version<T>> {
    let i = versions.partition_point(|v| v.period.from <= date);
    let v = versions.get(i.checked_sub(1)?)?;
    v.period.contains(date).then_some(v)
}

/// An enum type.
#[derive(Clone, Debug)]
pub struct EnumDef {
    /// Name.
    pub name: String,
    /// Variant names, in order.
    pub variants: Vec<String>,
}

/// A record field.
#[derive(Clone, Debug)]
pub struct FieldDef {
    /// Name.
    pub name: String,
    /// Type.
    pub ty: Type,
    /// Value when the input omits the field.
    pub default: Option<Value>,
    /// The most fraction digits a claim may give a number of this field (`money(4)`); `None`
    /// takes the type's default ([`crate::claim::default_digits`]).
    pub digits: Option<u32>,
}

/// A record type.
#[derive(Clone, Debug)]
pub struct RecordDef {
    /// Name.
    pub name: String,
    /// Fields in order.
    pub fields: Vec<FieldDef>,
}

/// A parameter: a dated constant.
#[derive(Clone, Debug)]
pub struct Param {
    /// Name.
    pub name: String,
    /// Type.
    pub ty: Type,
    /// Versions, sorted.
    pub versions: Vec<Version<Value>>,
    /// The declaration.
    pub span: Span,
}

/// A table version: rows by key.
pub type TableRows = rustc_hash::FxHashMap<Vec<Value>, Value>;

/// A lookup table keyed by enums or integers.
#[derive(Clone, Debug)]
pub struct Table {
    /// Name.
    pub name: String,
    /// Key types.
    pub keys: Vec<Type>,
    /// Value type.
    pub ty: Type,
    /// Versions, sorted.
    pub versions: Vec<Version<TableRows>>,
    /// The declaration.
    pub span: Span,
}

/// A catalog column.
#[derive(Clone, Debug)]
pub struct Column {
    /// Name.
    pub name: String,
    /// Type.
    pub ty: Type,
    /// The most fraction digits a cell may carry (`price: money(4)`); `None`: the type's
    /// default (money 2, decimal and rate 4).
    pub digits: Option<u32>,
}

/// One catalog row.
#[derive(Clone, Debug)]
pub struct CatalogRow {
    /// Cells in column order.
    pub cells: Vec<Value>,
    /// Validity.
    pub period: Period,
    /// Where the row is written (CSV line or inline row).
    pub span: Span,
}

/// An eligible-item list.
#[derive(Clone, Debug)]
pub struct Catalog {
    /// Name.
    pub name: String,
    /// Columns.
    pub columns: Vec<Column>,
    /// The key column.
    pub key: u32,
    /// Rows.
    pub rows: Vec<CatalogRow>,
    /// Key → row indices, each list sorted by validity.
    pub index: rustc_hash::FxHashMap<Arc<str>, Vec<u32>>,
    /// Citation.
    pub cite: Option<Cite>,
    /// The declaration.
    pub span: Span,
}

impl Catalog {
    /// The row for `key` in force at `date`.
    #[inline]
    pub fn lookup(&self, key: &str, date: Date) -> Option<u32> {
        self.index.get(key)?.iter().copied().find(|&i| {
            self.rows
                .get(i as usize)
                .is_some_and(|r| r.period.contains(date))
        })
    }
}

/// A yearly index series.
#[derive(Clone, Debug)]
pub struct Series {
    /// Name.
    pub name: String,
    /// Value type.
    pub ty: Type,
    /// Values by year.
    pub values: BTreeMap<i64, (Value, Span)>,
    /// Citation.
    pub cite: Option<Cite>,
    /// The declaration.
    pub span: Span,
}

/// A marginal band.
#[derive(Clone, Debug)]
pub struct Band {
    /// Lower bound.
    pub lower: Decimal,
    /// Upper bound, `None` when open.
    pub upper: Option<Decimal>,
    /// Rate on the part inside.
    pub rate: Decimal,
}

/// Tiered rates.
#[derive(Clone, Debug)]
pub struct Bands {
    /// Name.
    pub name: String,
    /// Versions, sorted.
    pub versions: Vec<Version<Vec<Band>>>,
    /// The declaration.
    pub span: Span,
}

/// What a definition is for.
pub use crate::syntax::ast::DefKind;

/// A computed definition: `def`, `output` or `fund`.
#[derive(Clone, Debug)]
pub struct Def {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: DefKind,
    /// Type.
    pub ty: Type,
    /// Versions, sorted; an undated definition has one version for all time.
    pub versions: Vec<Version<Node>>,
    /// Exceptions that may replace the value (indices into [`Ruleset::exceptions`]).
    pub exceptions: Vec<u32>,
    /// The declaration.
    pub span: Span,
}

/// A conditional exception to a definition.
#[derive(Clone, Debug)]
pub struct Exception {
    /// Name.
    pub name: String,
    /// The definition it applies to.
    pub target: u32,
    /// When it may apply.
    pub period: Period,
    /// Condition.
    pub cond: Node,
    /// Value instead.
    pub value: Node,
    /// Citation.
    pub cite: Option<Cite>,
    /// The declaration.
    pub span: Span,
}

/// A user function (`def f(x: T): T = …`), checked and compiled once; calls bind its
/// parameter slots and evaluate its body.
#[derive(Clone, Debug)]
pub struct Function {
    /// Name.
    pub name: String,
    /// The local slot of each parameter, in order.
    pub params: Vec<u32>,
    /// Result type.
    pub ty: Type,
    /// The body.
    pub body: Node,
    /// The declaration.
    pub span: Span,
}

/// An accumulator: a running total the claim brings and the settlement returns.
#[derive(Clone, Debug)]
pub struct Accumulator {
    /// Name.
    pub name: String,
    /// Type.
    pub ty: Type,
    /// What this claim adds.
    pub add: Node,
    /// When it starts again at 0.
    pub period: AccumPeriod,
    /// Citation.
    pub cite: Option<Cite>,
    /// The declaration.
    pub span: Span,
}

/// When an accumulator starts again at 0. Evaluation itself keeps no state; replay
/// (`crate::replay`) threads each accumulator through a person's claims of one period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccumPeriod {
    /// `per year`: each calendar year of the evaluation date.
    Year,
    /// `per claim.episode_id`: each episode, keyed by a text or int field of the input.
    Episode {
        /// The field names from the input down (`["episode_id"]`).
        path: Vec<String>,
        /// The path as written, input name included (`claim.episode_id`).
        text: String,
    },
    /// `per lifetime`: never; one running total per insured person.
    Lifetime,
}

impl std::fmt::Display for AccumPeriod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AccumPeriod::Year => f.write_str("per year"),
            AccumPeriod::Episode { text, .. } => write!(f, "per {text}"),
            AccumPeriod::Lifetime => f.write_str("per lifetime"),
        }
    }
}

/// A built-in function, resolved: its position in [`crate::builtins::BUILTINS`], where its
/// one entry says how it is checked and computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Builtin(pub u16);

/// List operations that take a function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListOp {
    /// `map(xs, x => e)`
    Map,
    /// `filter(xs, x => cond)`
    Filter,
    /// `sum(xs, x => e)`
    Sum,
    /// `count(xs, x => cond)`
    Count,
    /// `any(xs, x => cond)`
    Any,
    /// `all(xs, x => cond)`
    All,
    /// `min(xs, x => e)`
    Min,
    /// `max(xs, x => e)`
    Max,
}

/// Arithmetic, with the result type fixed at compile time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arith {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

/// Comparisons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// Numeric kind of a result, to rebuild a [`Value`] from a decimal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumKind {
    /// Money.
    Money,
    /// Rate.
    Rate,
    /// Decimal.
    Decimal,
    /// Integer.
    Int,
}

impl NumKind {
    /// The kind for a numeric type.
    pub fn of(t: &Type) -> NumKind {
        match t {
            Type::Money => NumKind::Money,
            Type::Rate => NumKind::Rate,
            Type::Int => NumKind::Int,
            _ => NumKind::Decimal,
        }
    }
}

/// An expression node of the compiled tree.
#[derive(Clone, Debug)]
pub struct Node {
    /// What it computes.
    pub kind: NodeKind,
    /// The rule text it came from.
    pub span: Span,
    /// Its static type, as the checker proved it (`Type::Error` only on nodes the checker
    /// built internally, such as the inner bindings of a `let`; see `compile::ty_of`).
    pub ty: Type,
}

impl Node {
    /// Calls `f` on each direct child, in evaluation order.
    pub fn for_each_child<'a>(&'a self, mut f: impl FnMut(&'a Node)) {
        match &self.kind {
            NodeKind::Const(_)
            | NodeKind::Input
            | NodeKind::Local(_)
            | NodeKind::Param(_)
            | NodeKind::Def(_)
            | NodeKind::AccumBefore(_)
            | NodeKind::AsOf => {}
            NodeKind::Field(b, _)
            | NodeKind::RowField(b, _, _)
            | NodeKind::CatalogGet(_, b)
            | NodeKind::CatalogHas(_, b)
            | NodeKind::SeriesAt(_, b)
            | NodeKind::Neg(b)
            | NodeKind::Not(b)
            | NodeKind::Round(b, _, _)
            | NodeKind::Marginal(_, b) => f(b),
            NodeKind::InList(a, b)
            | NodeKind::Arith(_, _, a, b)
            | NodeKind::Cmp(_, a, b)
            | NodeKind::And(a, b)
            | NodeKind::Or(a, b)
            | NodeKind::Coalesce(a, b)
            | NodeKind::Let(_, a, b) => {
                f(a);
                f(b);
            }
            NodeKind::Table(_, xs)
            | NodeKind::List(xs)
            | NodeKind::Call(_, _, xs)
            | NodeKind::CallFn(_, xs) => xs.iter().for_each(f),
            NodeKind::If(branches, els) => {
                for (c, t) in branches {
                    f(c);
                    f(t);
                }
                f(els);
            }
            NodeKind::Match(s, _, arms) => {
                f(s);
                arms.iter().for_each(f);
            }
            NodeKind::ListOp(_, l, _, body, _) => {
                f(l);
                if let Some(b) = body {
                    f(b);
                }
            }
            NodeKind::Adjust {
                amount, base, to, ..
            } => {
                f(amount);
                f(base);
                f(to);
            }
        }
    }

    /// The number of nodes in this tree (iterative: safe at any depth).
    pub fn size(&self) -> usize {
        let mut n = 0;
        let mut stack = vec![self];
        while let Some(x) = stack.pop() {
            n += 1;
            x.for_each_child(|c| stack.push(c));
        }
        n
    }
}

impl Ruleset {
    /// Every expression tree of the ruleset: the evaluation date, definitions' versions,
    /// exceptions, accumulators and functions.
    pub fn bodies(&self) -> impl Iterator<Item = &Node> {
        self.as_of
            .iter()
            .chain(
                self.defs
                    .iter()
                    .flat_map(|d| d.versions.iter().map(|v| &v.value)),
            )
            .chain(self.exceptions.iter().flat_map(|e| [&e.cond, &e.value]))
            .chain(self.accumulators.iter().map(|a| &a.add))
            .chain(self.functions.iter().map(|f| &f.body))
    }
}

/// Compiled expression forms.
#[derive(Clone, Debug)]
pub enum NodeKind {
    /// A constant.
    Const(Value),
    /// The claim (the declared input).
    Input,
    /// A local variable (let or lambda), by slot.
    Local(u32),
    /// A parameter.
    Param(u32),
    /// A definition.
    Def(u32),
    /// An accumulator's value before this claim.
    AccumBefore(u32),
    /// The evaluation date.
    AsOf,
    /// A record field, by position.
    Field(Box<Node>, u32),
    /// A catalog row's column.
    RowField(Box<Node>, u32, u32),
    /// Table look-up.
    Table(u32, Vec<Node>),
    /// Catalog look-up by key (error if absent).
    CatalogGet(u32, Box<Node>),
    /// Catalog membership.
    CatalogHas(u32, Box<Node>),
    /// Series value for a year.
    SeriesAt(u32, Box<Node>),
    /// List membership.
    InList(Box<Node>, Box<Node>),
    /// Arithmetic.
    Arith(Arith, NumKind, Box<Node>, Box<Node>),
    /// Negation.
    Neg(Box<Node>),
    /// Comparison.
    Cmp(Cmp, Box<Node>, Box<Node>),
    /// `and`
    And(Box<Node>, Box<Node>),
    /// `or`
    Or(Box<Node>, Box<Node>),
    /// `not`
    Not(Box<Node>),
    /// `a ?? b`
    Coalesce(Box<Node>, Box<Node>),
    /// Conditional.
    If(Vec<(Node, Node)>, Box<Node>),
    /// Match on an enum: for each variant the index of its arm, then the arms.
    Match(Box<Node>, Vec<u32>, Vec<Node>),
    /// `let`: slot, value, body.
    Let(u32, Box<Node>, Box<Node>),
    /// A list literal.
    List(Vec<Node>),
    /// A list operation: op, list, slot of the element, body (or `None`), result kind.
    ListOp(ListOp, Box<Node>, u32, Option<Box<Node>>, NumKind),
    /// A built-in call.
    Call(Builtin, NumKind, Vec<Node>),
    /// A call of a user function (index into [`Ruleset::functions`]) with its arguments.
    CallFn(u32, Vec<Node>),
    /// Rounding to a unit.
    Round(Box<Node>, Decimal, RoundMode),
    /// The marginal-band function of an amount.
    Marginal(u32, Box<Node>),
    /// Index adjustment.
    Adjust {
        /// Base amount.
        amount: Box<Node>,
        /// Series.
        series: u32,
        /// Base year.
        base: Box<Node>,
        /// Target year.
        to: Box<Node>,
        /// Rounding unit.
        unit: Decimal,
        /// Rounding mode.
        mode: RoundMode,
        /// Never below the previous year.
        floor: bool,
    },
}

/// A compiled ruleset: everything evaluation needs, with no names left to look up.
#[derive(Clone, Debug, Default)]
pub struct Ruleset {
    /// The ruleset's name (e.g. `shandong/binzhou`).
    pub name: String,
    /// Names of the rulesets it extends, nearest first.
    pub parents: Vec<String>,
    /// Source documents.
    pub sources: Vec<Source>,
    /// Enums.
    pub enums: Vec<EnumDef>,
    /// Records.
    pub records: Vec<RecordDef>,
    /// The input's name and type.
    pub input: Option<(String, Type)>,
    /// The expression giving the evaluation date.
    pub as_of: Option<Node>,
    /// Parameters.
    pub params: Vec<Param>,
    /// Tables.
    pub tables: Vec<Table>,
    /// Catalogs.
    pub catalogs: Vec<Arc<Catalog>>,
    /// Series.
    pub series: Vec<Series>,
    /// Bands.
    pub bands: Vec<Bands>,
    /// Definitions, outputs and funds.
    pub defs: Vec<Def>,
    /// Exceptions.
    pub exceptions: Vec<Exception>,
    /// Accumulators.
    pub accumulators: Vec<Accumulator>,
    /// User functions, each compiled once.
    pub functions: Vec<Function>,
    /// Number of local slots an evaluation needs.
    pub locals: u32,
    /// The static type of each local slot.
    pub local_types: Vec<Type>,
    /// Which claims the ruleset settles (`covers`).
    pub coverage: Coverage,
}

/// Which claims a ruleset settles: the `covers` declarations of its chain. A claim is
/// covered when every condition of one clause holds. A ruleset with funds and no clause
/// covers no claim; evaluating one is an error ([`crate::diag::Code::NotCovered`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Coverage {
    /// The claim fields the clauses test, each once.
    pub fields: Vec<CoverField>,
    /// The clauses, in declaration order.
    pub clauses: Vec<CoverClause>,
}

/// A claim field a coverage clause tests.
#[derive(Clone, Debug, PartialEq)]
pub struct CoverField {
    /// Its path in the claim JSON, e.g. `insured.scheme`.
    pub name: String,
    /// Field indexes from the input record down to the field.
    pub path: Vec<u32>,
}

/// One `covers` declaration.
#[derive(Clone, Debug, PartialEq)]
pub struct CoverClause {
    /// Conditions that must all hold: a field (index into [`Coverage::fields`]) and the
    /// values it may take.
    pub conds: Vec<(u32, Vec<Value>)>,
    /// The clause as written for people, e.g. `visit = outpatient, insured.scheme = employee`.
    pub text: String,
    /// The declaration.
    pub span: Span,
}

impl TypeNames for Ruleset {
    fn enum_name(&self, id: u32) -> &str {
        self.enums
            .get(id as usize)
            .map(|e| e.name.as_str())
            .unwrap_or("?")
    }
    fn record_name(&self, id: u32) -> &str {
        self.records
            .get(id as usize)
            .map(|e| e.name.as_str())
            .unwrap_or("?")
    }
    fn catalog_name(&self, id: u32) -> &str {
        self.catalogs
            .get(id as usize)
            .map(|e| e.name.as_str())
            .unwrap_or("?")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn ruleset_is_send_and_sync() {
        assert_send_sync::<Ruleset>();
    }
}
