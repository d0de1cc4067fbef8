//! The abstract syntax tree. Every node carries the [`Span`] of its text.

use crate::source::Span;
use crate::value::Date;
use rust_decimal::Decimal;

/// A name as written, with its place.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where it is written.
    pub span: Span,
}

/// A type as written.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeExpr {
    /// `money`, `Claim`, …
    Named(Ident),
    /// `list<T>`
    List(Box<TypeExpr>, Span),
    /// `T?`
    Optional(Box<TypeExpr>, Span),
    /// `money(4)`: a number type with the most fraction digits a claim may give it (the
    /// written digits, and where they are written).
    Digits(Box<TypeExpr>, String, Span),
}

impl TypeExpr {
    /// Where the type is written.
    pub fn span(&self) -> Span {
        match self {
            TypeExpr::Named(i) => i.span,
            TypeExpr::List(_, s) | TypeExpr::Optional(_, s) | TypeExpr::Digits(_, _, s) => *s,
        }
    }
}

/// What a value cites.
#[derive(Clone, Debug, PartialEq)]
pub enum CiteKind {
    /// `cite assumed`: no source gives this value.
    Assumed,
    /// `cite SOURCE "locator"`
    Source(Ident, Option<String>),
    /// `cite "free text"`
    Text(String),
}

/// A citation with its place.
#[derive(Clone, Debug, PartialEq)]
pub struct Citation {
    /// What is cited.
    pub kind: CiteKind,
    /// Where.
    pub span: Span,
}

/// `from DATE until DATE`
#[derive(Clone, Debug, PartialEq)]
pub struct VersionHead {
    /// First day.
    pub from: Date,
    /// Place of the first day.
    pub from_span: Span,
    /// Last day, if given.
    pub until: Option<(Date, Span)>,
    /// The whole head.
    pub span: Span,
}

/// One version of a dated value.
#[derive(Clone, Debug, PartialEq)]
pub struct Versioned<T> {
    /// `None` for an undated value (always in force).
    pub head: Option<VersionHead>,
    /// The value.
    pub value: T,
    /// Its citation.
    pub cite: Option<Citation>,
    /// The whole version.
    pub span: Span,
}

/// A literal constant.
#[derive(Clone, Debug, PartialEq)]
pub enum Lit {
    /// `12.5`: typed by context (money, decimal or int).
    Number(Decimal),
    /// `80%`, stored as 0.80.
    Percent(Decimal),
    /// `2024-01-01`
    Date(Date),
    /// `"text"`
    Text(String),
    /// `true`, `false`
    Bool(bool),
    /// `none`
    None,
    /// An enum value, bare: `retired`.
    Variant(Ident),
    /// An enum value, qualified: `Status.retired`.
    Qualified(Ident, Ident),
    /// A list of constants: `["U07.1", "U07.2"]`.
    List(Vec<LitExpr>),
}

/// A literal with its place.
#[derive(Clone, Debug, PartialEq)]
pub struct LitExpr {
    /// The constant.
    pub lit: Lit,
    /// Where.
    pub span: Span,
}

/// One field of a record declaration.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDecl {
    /// Field name.
    pub name: Ident,
    /// Field type.
    pub ty: TypeExpr,
    /// Default when the input omits it.
    pub default: Option<LitExpr>,
}

/// One column of a catalog.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnDecl {
    /// Column name (the CSV header).
    pub name: Ident,
    /// Column type.
    pub ty: TypeExpr,
    /// True for the key column.
    pub key: bool,
}

/// Where a catalog's rows come from.
#[derive(Clone, Debug, PartialEq)]
pub enum RowSource {
    /// A CSV file beside the rule file.
    File(String, Span),
    /// Rows written inline.
    Inline(Vec<InlineRow>),
}

/// An inline catalog row.
#[derive(Clone, Debug, PartialEq)]
pub struct InlineRow {
    /// Cells, in column order.
    pub cells: Vec<LitExpr>,
    /// Validity of the row.
    pub head: Option<VersionHead>,
    /// Where.
    pub span: Span,
}

/// Where an index series comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum SeriesSource {
    /// A CSV file with columns `year,value`.
    File(String, Span),
    /// `{ 2021 = 100.9 … }`
    Inline(Vec<(i64, Span, LitExpr)>),
}

/// A row of a table: key literals and the value.
#[derive(Clone, Debug, PartialEq)]
pub struct TableRow {
    /// Keys, in key order.
    pub keys: Vec<LitExpr>,
    /// Value.
    pub value: LitExpr,
    /// Where.
    pub span: Span,
}

/// One marginal band: `lower .. upper => rate`.
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    /// Lower bound (exclusive of the part below).
    pub lower: Decimal,
    /// Upper bound, `None` for open-ended.
    pub upper: Option<Decimal>,
    /// Rate paid on the part inside.
    pub rate: Decimal,
    /// Where.
    pub span: Span,
}

/// The kind of a computed definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DefKind {
    /// `def`: internal.
    Def,
    /// `output`: in the settlement.
    Output,
    /// `fund`: a money output listed under `funds`.
    Fund,
}

/// What a declaration declares.
#[derive(Clone, Debug, PartialEq)]
pub enum DeclKind {
    /// `ruleset "name" extends "path"`
    Ruleset {
        /// Relative path of the parent ruleset directory.
        extends: Option<(String, Span)>,
    },
    /// `source id "title" "where"`
    Source {
        /// Title of the document.
        title: String,
        /// Address or other locator.
        location: Option<String>,
    },
    /// `enum Name { a, b }`
    Enum {
        /// Variants.
        variants: Vec<Ident>,
    },
    /// `record Name { … }`
    Record {
        /// Fields.
        fields: Vec<FieldDecl>,
    },
    /// `input claim: Claim`
    Input {
        /// Type of the input.
        ty: TypeExpr,
    },
    /// `as_of EXPR`
    AsOf {
        /// The date evaluation runs at.
        expr: Expr,
    },
    /// `covers claim.visit == inpatient and …`: which claims the ruleset settles.
    Covers {
        /// The condition: `and` of `PATH == CONSTANT` or `PATH in [CONSTANTS]`.
        expr: Expr,
        /// Citation.
        cite: Option<Citation>,
    },
    /// `param`
    Param {
        /// Type.
        ty: TypeExpr,
        /// Versions.
        versions: Vec<Versioned<LitExpr>>,
    },
    /// `def`, `output`, `fund`
    Def {
        /// Which.
        kind: DefKind,
        /// Declared type (`money` for funds).
        ty: Option<TypeExpr>,
        /// Versions.
        versions: Vec<Versioned<Expr>>,
    },
    /// `def NAME(p: T, …): T = EXPR`: a function, expanded at each call.
    Function {
        /// Parameters.
        params: Vec<(Ident, TypeExpr)>,
        /// Result type.
        ty: TypeExpr,
        /// Body.
        body: Expr,
        /// Citation.
        cite: Option<Citation>,
    },
    /// `accumulator NAME: T per PERIOD += EXPR`
    Accumulator {
        /// Type.
        ty: TypeExpr,
        /// `per year`, `per lifetime` or `per claim.field`: the words after `per` (checked
        /// by the checker, which requires one), and the span of the whole clause.
        period: Option<(Vec<Ident>, Span)>,
        /// The increment this claim adds.
        add: Expr,
        /// Citation.
        cite: Option<Citation>,
    },
    /// `exception NAME to TARGET from … when COND = EXPR`
    Exception {
        /// The definition it makes an exception to.
        target: Ident,
        /// Window.
        head: Option<VersionHead>,
        /// When it applies.
        cond: Expr,
        /// The value it gives instead.
        value: Expr,
        /// Citation.
        cite: Option<Citation>,
    },
    /// `table NAME(k: T, …): T { rows }`
    Table {
        /// Key names and types.
        keys: Vec<(Ident, TypeExpr)>,
        /// Value type.
        ty: TypeExpr,
        /// Versions.
        versions: Vec<Versioned<Vec<TableRow>>>,
    },
    /// `catalog NAME { columns } from "file.csv"`
    Catalog {
        /// Columns.
        columns: Vec<ColumnDecl>,
        /// `..` after the columns: the CSV file may have other columns, which are ignored.
        rest: Option<Span>,
        /// Rows.
        rows: RowSource,
        /// Citation.
        cite: Option<Citation>,
    },
    /// `series NAME: T by year …`
    Series {
        /// Value type.
        ty: TypeExpr,
        /// Values.
        source: SeriesSource,
        /// Citation.
        cite: Option<Citation>,
    },
    /// `bands NAME { … }`
    Bands {
        /// Versions.
        versions: Vec<Versioned<Vec<Band>>>,
    },
}

/// One top-level declaration.
#[derive(Clone, Debug, PartialEq)]
pub struct Decl {
    /// Its name (for `as_of`, the keyword; for `ruleset`, the ruleset name).
    pub name: Ident,
    /// True when written with `override`.
    pub overrides: bool,
    /// What it declares.
    pub kind: DeclKind,
    /// The whole declaration.
    pub span: Span,
}

/// A parsed file.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct File {
    /// Declarations in source order.
    pub decls: Vec<Decl>,
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    /// `-x`
    Neg,
    /// `not x`
    Not,
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
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
    /// `and`
    And,
    /// `or`
    Or,
    /// `in`
    In,
    /// `??`
    Coalesce,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::In => "in",
            BinOp::Coalesce => "??",
        }
    }
}

/// A call argument.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    /// A value.
    Expr(Expr),
    /// `x => body`
    Lambda(Ident, Expr),
}

impl Arg {
    /// Where the argument is written.
    pub fn span(&self) -> Span {
        match self {
            Arg::Expr(e) => e.span,
            Arg::Lambda(i, e) => Span {
                end: e.span.end,
                ..i.span
            },
        }
    }
}

/// A match pattern.
#[derive(Clone, Debug, PartialEq)]
pub enum Pattern {
    /// `_`
    Wildcard(Span),
    /// An enum value, bare or qualified (`Status.retired`).
    Variant(Option<Ident>, Ident),
}

/// One arm of a match.
#[derive(Clone, Debug, PartialEq)]
pub struct Arm {
    /// Patterns joined by `|`.
    pub patterns: Vec<Pattern>,
    /// The value.
    pub body: Expr,
    /// Where.
    pub span: Span,
}

/// `adjust(AMOUNT by SERIES base YEAR to YEAR round UNIT MODE floor)`
#[derive(Clone, Debug, PartialEq)]
pub struct Adjust {
    /// The base-year amount.
    pub amount: Expr,
    /// The index series.
    pub series: Ident,
    /// The base year.
    pub base: Expr,
    /// The target year.
    pub to: Expr,
    /// The rounding unit.
    pub unit: Decimal,
    /// The rounding unit's place.
    pub unit_span: Span,
    /// The rounding mode.
    pub mode: Ident,
    /// Never below the previous year's amount.
    pub floor: bool,
}

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where.
    pub span: Span,
}

/// Expression forms.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A constant.
    Lit(Lit),
    /// A name.
    Name(String),
    /// The evaluation date.
    AsOf,
    /// `e.field`
    Field(Box<Expr>, Ident),
    /// `e[k, …]`
    Index(Box<Expr>, Vec<Expr>),
    /// `-e`, `not e`
    Unary(UnOp, Box<Expr>),
    /// `a op b`
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `f(args)`
    Call(Ident, Vec<Arg>),
    /// `if c then a else if … else z`
    If(Vec<(Expr, Expr)>, Box<Expr>),
    /// `match e { … }`
    Match(Box<Expr>, Vec<Arm>),
    /// `let x = e; body`
    Let(Vec<(Ident, Expr)>, Box<Expr>),
    /// `[a, b]`
    List(Vec<Expr>),
    /// index adjustment
    Adjust(Box<Adjust>),
    /// An expression refused before checking (too deep); checks as an error, silently.
    Error,
}

impl Expr {
    /// The direct sub-expressions.
    pub fn children(&self) -> Vec<&Expr> {
        match &self.kind {
            ExprKind::Lit(_) | ExprKind::Name(_) | ExprKind::AsOf | ExprKind::Error => Vec::new(),
            ExprKind::Field(b, _) => vec![b],
            ExprKind::Index(b, args) => std::iter::once(&**b).chain(args.iter()).collect(),
            ExprKind::Unary(_, e) => vec![e],
            ExprKind::Binary(_, l, r) => vec![l, r],
            ExprKind::Call(_, args) => args
                .iter()
                .map(|a| match a {
                    Arg::Expr(e) | Arg::Lambda(_, e) => e,
                })
                .collect(),
            ExprKind::If(bs, e) => bs
                .iter()
                .flat_map(|(c, t)| [c, t])
                .chain(std::iter::once(&**e))
                .collect(),
            ExprKind::Match(s, arms) => std::iter::once(&**s)
                .chain(arms.iter().map(|a| &a.body))
                .collect(),
            ExprKind::Let(bs, body) => bs
                .iter()
                .map(|(_, e)| e)
                .chain(std::iter::once(&**body))
                .collect(),
            ExprKind::List(items) => items.iter().collect(),
            ExprKind::Adjust(a) => vec![&a.amount, &a.base, &a.to],
        }
    }

    /// The depth of the tree, computed without recursion.
    pub fn depth(&self) -> usize {
        let mut max = 0;
        let mut stack = vec![(self, 1usize)];
        while let Some((e, d)) = stack.pop() {
            max = max.max(d);
            for c in e.children() {
                stack.push((c, d + 1));
            }
        }
        max
    }
}
