//! Stage 4, evaluation: a compiled ruleset settles one claim.
//!
//! Evaluation is a pure function of the claim: the claim brings the accumulators' values
//! before it, the settlement returns them updated. Definitions are computed on demand and
//! memoized, so a definition that no output needs is never evaluated. Every runtime error is a
//! [`Diagnostic`] pointing at the rule text.
//!
//! Tracing is a const generic: `Eval<false>` compiles the trace calls away. The traced path
//! also records what the claim exercised ([`Hits`]: definitions, versions, catalogs,
//! exceptions, functions, and which arm of every `if` and `match` ran) for
//! `rulec test --coverage`; the untraced walker and the compiled evaluator pay nothing for it.

use crate::diag::{Code, Diagnostic};
use crate::explain::{Trace, TraceNode};
use crate::ir::{
    self, Arith, Builtin, Cite, Cmp, DefKind, ListOp, Node, NodeKind, NumKind, Ruleset,
};
use crate::limits::Limits;
use crate::source::Span;
use crate::value::{
    exact_add, exact_div, exact_mul, exact_sub, round_div, round_to, Date, Money, Period, Value,
};
use rust_decimal::Decimal;
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The result of settling one claim.
#[derive(Clone, Debug, PartialEq)]
pub struct Settlement {
    /// The evaluation date.
    pub as_of: Date,
    /// Outputs in declaration order.
    pub outputs: Vec<(String, Value)>,
    /// Funds in declaration order.
    pub funds: Vec<(String, Money)>,
    /// Accumulators after this claim, in declaration order.
    pub accumulators: Vec<(String, Value)>,
}

type R<T> = Result<T, Box<Diagnostic>>;

pub use crate::builtins::num;
pub(crate) use crate::builtins::{
    compare, compare_cost, exact, fail, key_cost, mk, overflow, zero,
};

/// Refuses a claim that no `covers` clause of a ruleset with funds covers: settling it
/// would pay zeros that look like an answer. Self-contained (no expression evaluation):
/// a clause is a list of claim fields and the values each may take.
pub fn check_coverage(rs: &Ruleset, input: &Value) -> R<()> {
    if !rs.defs.iter().any(|d| d.kind == DefKind::Fund) {
        return Ok(());
    }
    let field = |f: &crate::ir::CoverField| {
        f.path.iter().try_fold(input, |v, &i| match v {
            Value::Record(fs) => fs.get(i as usize),
            _ => None,
        })
    };
    let values: Vec<Option<&Value>> = rs.coverage.fields.iter().map(field).collect();
    let holds = |c: &crate::ir::CoverClause| {
        c.conds.iter().all(|(f, allowed)| {
            values
                .get(*f as usize)
                .copied()
                .flatten()
                .is_some_and(|v| allowed.contains(v))
        })
    };
    if rs.coverage.clauses.iter().any(holds) {
        return Ok(());
    }
    let Some(first) = rs.coverage.clauses.first() else {
        return Err(Box::new(
            Diagnostic::global(
                Code::NotCovered,
                format!(
                    "ruleset `{}` covers no claims: it declares no `covers`",
                    rs.name
                ),
            )
            .help(
                "a base ruleset settles no claim itself; check the claim's region \
                 (`insured.region`), or declare the claims it settles with `covers`",
            ),
        ));
    };
    let shown: Vec<String> = rs
        .coverage
        .fields
        .iter()
        .zip(&values)
        .map(|(f, v)| {
            let v = v.map(|v| fmt_value(v, rs)).unwrap_or_else(|| "none".into());
            format!("{} = {v}", f.name)
        })
        .collect();
    let covered: Vec<&str> = rs
        .coverage
        .clauses
        .iter()
        .map(|c| c.text.as_str())
        .collect();
    let mut d = Diagnostic::new(
        Code::NotCovered,
        first.span,
        format!(
            "no rule of ruleset `{}` covers this claim ({})",
            rs.name,
            shown.join(", ")
        ),
    )
    .label("the claims this ruleset covers")
    .help(format!(
        "`{}` settles only claims with {}; route the claim to the ruleset that covers it",
        rs.name,
        covered.join("; or ")
    ));
    for c in rs.coverage.clauses.iter().skip(1) {
        d = d.with(c.span, "also covers");
    }
    Err(Box::new(d))
}

/// The first money amount in a value (inside lists and records too) that is not a whole
/// number of fen. The walk keeps its own stack: a value is as deep as its declared type.
fn not_whole_fen(v: &Value) -> Option<Decimal> {
    // The usual value is one amount: no stack for it.
    match v {
        Value::Money(m) => return (m.0.round_dp(2) != m.0).then_some(m.0),
        Value::List(_) | Value::Record(_) => {}
        _ => return None,
    }
    let mut todo = vec![v];
    while let Some(v) = todo.pop() {
        match v {
            Value::Money(m) if m.0.round_dp(2) != m.0 => return Some(m.0),
            Value::List(xs) | Value::Record(xs) => todo.extend(xs.iter().rev()),
            _ => {}
        }
    }
    None
}

/// Every money amount a settlement reports must be a whole number of fen: an unrounded
/// share (`8.5425`) is refused at the rule that computed it, never printed or rounded by
/// the output.
pub fn check_whole_fen(rs: &Ruleset, s: &Settlement) -> R<()> {
    let fen = |d: &Decimal| d.round_dp(2) == *d;
    let bad = s
        .outputs
        .iter()
        .filter_map(|(n, v)| not_whole_fen(v).map(|m| (n, m, "output")))
        .chain(
            s.funds
                .iter()
                .filter(|(_, m)| !fen(&m.0))
                .map(|(n, m)| (n, m.0, "fund")),
        )
        .chain(
            s.accumulators
                .iter()
                .filter_map(|(n, v)| not_whole_fen(v).map(|m| (n, m, "accumulator"))),
        )
        .next();
    let Some((name, amount, what)) = bad else {
        return Ok(());
    };
    let span = rs
        .defs
        .iter()
        .find(|d| d.name == *name)
        .map(|d| d.span)
        .or_else(|| {
            rs.accumulators
                .iter()
                .find(|a| a.name == *name)
                .map(|a| a.span)
        });
    let msg = format!(
        "{what} `{name}` is {}, not a whole number of fen",
        amount.normalize()
    );
    let d = match span {
        Some(sp) => Diagnostic::new(Code::NotWholeFen, sp, msg).label("computed here"),
        None => Diagnostic::global(Code::NotWholeFen, msg),
    };
    Err(Box::new(d.help(
        "round it where the policy says how: `round(…, 0.01, half_up)`",
    )))
}

/// One thing an evaluation exercised. Indices are into the [`Ruleset`]'s vectors; a version
/// is its index in its item's sorted versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hit {
    /// A definition, output or fund was needed.
    Def(u32),
    /// A definition's dated version was computed (no exception replaced it).
    DefVersion(u32, u32),
    /// A parameter's version was read.
    Param(u32, u32),
    /// A table's version was looked up.
    Table(u32, u32),
    /// A bands version was applied.
    Bands(u32, u32),
    /// A catalog was looked up or tested for membership.
    Catalog(u32),
    /// An accumulator was added to.
    Accumulator(u32),
    /// An exception applied.
    Exception(u32),
    /// A user function was called.
    Function(u32),
    /// Arm `k` of the `if` or `match` at this span ran: for an `if` with `n` conditions,
    /// arms `0..n` are the `then` arms and `n` is the `else`; for a `match`, the arm's
    /// position as written.
    Branch(Span, u32),
}

/// Everything an evaluation exercised (recorded on the traced path only).
pub type Hits = BTreeSet<Hit>;

fn version_index<T>(versions: &[ir::Version<T>], v: &ir::Version<T>) -> u32 {
    versions
        .iter()
        .position(|x| std::ptr::eq(x, v))
        .unwrap_or(0) as u32
}

/// One evaluation of one claim.
pub struct Eval<'r, const TRACE: bool> {
    rs: &'r Ruleset,
    input: Value,
    as_of: Date,
    accum_before: Vec<Value>,
    defs: Vec<Option<Value>>,
    in_progress: Vec<bool>,
    locals: Vec<Value>,
    steps: u64,
    max_steps: u64,
    /// The explanation being built (only when `TRACE`).
    pub trace: Trace,
    /// What the evaluation exercised so far (only when `TRACE`), kept when it fails.
    pub hits: Hits,
}

impl<'r, const TRACE: bool> Eval<'r, TRACE> {
    /// Prepares an evaluation.
    pub fn new(
        rs: &'r Ruleset,
        input: Value,
        as_of: Date,
        accum_before: Vec<Value>,
        limits: &Limits,
    ) -> Self {
        Eval {
            rs,
            input,
            as_of,
            accum_before,
            defs: vec![None; rs.defs.len()],
            in_progress: vec![false; rs.defs.len()],
            locals: vec![Value::None; rs.locals as usize],
            steps: 0,
            max_steps: limits.max_steps,
            trace: Trace::default(),
            hits: Hits::new(),
        }
    }

    /// Records that the evaluation exercised `h` (traced path only).
    #[inline(always)]
    fn hit(&mut self, h: Hit) {
        if TRACE {
            self.hits.insert(h);
        }
    }

    /// Evaluates every output, fund and accumulator.
    pub fn settle(&mut self) -> R<Settlement> {
        check_coverage(self.rs, &self.input)?;
        let mut outputs = Vec::new();
        let mut funds = Vec::new();
        for (i, d) in self.rs.defs.iter().enumerate() {
            match d.kind {
                DefKind::Output => {
                    let v = self.def(i as u32, d.span)?;
                    outputs.push((d.name.clone(), v));
                }
                DefKind::Fund => {
                    let v = self.def(i as u32, d.span)?;
                    funds.push((d.name.clone(), Money(num(&v))));
                }
                DefKind::Def => {}
            }
        }
        let mut accumulators = Vec::new();
        for (i, a) in self.rs.accumulators.iter().enumerate() {
            if TRACE {
                self.trace.begin();
            }
            self.hit(Hit::Accumulator(i as u32));
            let add = self.eval(&a.add)?;
            let before = self.accum_before.get(i).cloned().unwrap_or(Value::None);
            let sum = exact(exact_add(num(&before), num(&add)), a.span)?;
            let after = mk(NumKind::of(&a.ty), sum, a.span)?;
            if TRACE {
                let node = TraceNode::new("accumulator", &a.name, fmt_value(&after, self.rs))
                    .at(a.span)
                    .cite(a.cite.as_ref(), self.rs);
                self.trace.end_root(node.note(format!(
                    "{} before + {} this claim",
                    fmt_value(&before, self.rs),
                    fmt_value(&add, self.rs)
                )));
            }
            accumulators.push((a.name.clone(), after));
        }
        let s = Settlement {
            as_of: self.as_of,
            outputs,
            funds,
            accumulators,
        };
        check_whole_fen(self.rs, &s)?;
        Ok(s)
    }

    fn def(&mut self, i: u32, span: Span) -> R<Value> {
        let idx = i as usize;
        if let Some(Some(v)) = self.defs.get(idx) {
            if TRACE {
                if let Some(d) = self.rs.defs.get(idx) {
                    self.trace.leaf(
                        TraceNode::new(kind_name(d.kind), &d.name, fmt_value(v, self.rs))
                            .at(d.span)
                            .note("computed above".into()),
                    );
                }
            }
            return Ok(v.clone());
        }
        let rs = self.rs;
        let Some(d) = rs.defs.get(idx) else {
            return Err(fail(Code::NoVersion, span, "unknown definition"));
        };
        if self.in_progress.get(idx).copied().unwrap_or(false) {
            return Err(fail(
                Code::Overflow,
                span,
                format!("`{}` depends on itself", d.name),
            ));
        }
        if let Some(p) = self.in_progress.get_mut(idx) {
            *p = true;
        }
        if TRACE {
            self.trace.begin();
        }
        self.hit(Hit::Def(i));
        let result = self.def_value(d, i, span);
        if let Some(p) = self.in_progress.get_mut(idx) {
            *p = false;
        }
        let (v, version_span, cite, note) = result?;
        if TRACE {
            let node = TraceNode::new(kind_name(d.kind), &d.name, fmt_value(&v, self.rs))
                .at(version_span)
                .cite(cite, self.rs);
            let node = match note {
                Some(n) => node.note(n),
                None => node,
            };
            self.trace.end(node);
        }
        if let Some(slot) = self.defs.get_mut(idx) {
            *slot = Some(v.clone());
        }
        Ok(v)
    }

    #[allow(
        clippy::type_complexity,
        reason = "a private tuple read once by the caller"
    )]
    fn def_value(
        &mut self,
        d: &'r ir::Def,
        i: u32,
        span: Span,
    ) -> R<(Value, Span, Option<&'r Cite>, Option<String>)> {
        // Exceptions first: at most one may apply.
        let mut applied: Option<&'r ir::Exception> = None;
        for &e in &d.exceptions {
            let Some(ex) = self.rs.exceptions.get(e as usize) else {
                continue;
            };
            if !ex.period.contains(self.as_of) {
                continue;
            }
            if self.eval(&ex.cond)? == Value::Bool(true) {
                if let Some(first) = applied {
                    return Err(Box::new(
                        Diagnostic::new(
                            Code::RuleConflict,
                            ex.span,
                            format!(
                                "exceptions `{}` and `{}` both apply to `{}` for this claim",
                                first.name, ex.name, d.name
                            ),
                        )
                        .label("applies")
                        .with(first.span, "also applies")
                        .help(
                            "make the conditions exclusive, or merge the two exceptions into one",
                        ),
                    ));
                }
                self.hit(Hit::Exception(e));
                applied = Some(ex);
            }
        }
        if let Some(ex) = applied {
            let v = self.eval(&ex.value)?;
            return Ok((
                v,
                ex.span,
                ex.cite.as_ref(),
                Some(format!("exception `{}` applies", ex.name)),
            ));
        }
        let v = in_force(&d.name, &d.versions, self.as_of, span)?;
        if TRACE {
            self.hit(Hit::DefVersion(i, version_index(&d.versions, v)));
        }
        let value = self.eval(&v.value)?;
        Ok((value, v.value.span, v.cite.as_ref(), None))
    }

    /// The value of a local, the input, or a field path from them, by reference.
    fn place(&self, n: &Node) -> Option<&Value> {
        match &n.kind {
            NodeKind::Local(s) => self.locals.get(*s as usize),
            NodeKind::Input => Some(&self.input),
            NodeKind::Field(b, i) => match self.place(b)? {
                Value::Record(f) => f.get(*i as usize),
                _ => None,
            },
            _ => None,
        }
    }

    #[inline]
    /// Counts `n` steps of work beyond the node's own (a long text compared, say).
    fn charge(&mut self, n: u64, span: Span) -> R<()> {
        if n == 0 {
            return Ok(());
        }
        self.steps = self.steps.saturating_add(n - 1);
        self.step(span)
    }

    fn step(&mut self, span: Span) -> R<()> {
        self.steps += 1;
        if self.steps > self.max_steps {
            return Err(fail(
                Code::StepLimit,
                span,
                format!("evaluation took more than {} steps", self.max_steps),
            ));
        }
        Ok(())
    }

    /// Sets a local slot, returning what it held: every binding is undone when its scope
    /// ends, because a definition computed on demand inside a function body may call the
    /// same function again.
    #[inline]
    fn set_local(&mut self, slot: u32, v: Value) -> Value {
        match self.locals.get_mut(slot as usize) {
            Some(l) => std::mem::replace(l, v),
            None => Value::None,
        }
    }

    /// Evaluates one node (on a fresh stack segment when the thread's stack runs low).
    pub fn eval(&mut self, n: &Node) -> R<Value> {
        crate::stack::guard(|| self.eval_node(n))
    }

    fn eval_node(&mut self, n: &Node) -> R<Value> {
        self.step(n.span)?;
        let rs = self.rs;
        match &n.kind {
            NodeKind::Const(v) => Ok(v.clone()),
            NodeKind::Input => Ok(self.input.clone()),
            NodeKind::Local(s) => Ok(self.locals.get(*s as usize).cloned().unwrap_or(Value::None)),
            NodeKind::AsOf => Ok(Value::Date(self.as_of)),
            NodeKind::Param(i) => {
                let p = rs
                    .params
                    .get(*i as usize)
                    .ok_or_else(|| fail(Code::NoVersion, n.span, "unknown parameter"))?;
                let v = in_force(&p.name, &p.versions, self.as_of, n.span)?;
                if TRACE {
                    self.hit(Hit::Param(*i, version_index(&p.versions, v)));
                    let node = TraceNode::new("param", &p.name, fmt_value(&v.value, self.rs))
                        .at(v.span)
                        .period(v.period)
                        .cite(v.cite.as_ref(), rs);
                    self.trace.leaf(node);
                }
                Ok(v.value.clone())
            }
            NodeKind::Def(i) => self.def(*i, n.span),
            NodeKind::AccumBefore(i) => {
                let v = self
                    .accum_before
                    .get(*i as usize)
                    .cloned()
                    .unwrap_or(Value::None);
                if TRACE {
                    if let Some(a) = rs.accumulators.get(*i as usize) {
                        self.trace.leaf(TraceNode::new(
                            "accumulator before this claim",
                            &a.name,
                            fmt_value(&v, self.rs),
                        ));
                    }
                }
                Ok(v)
            }
            NodeKind::Field(b, i) => {
                // Read through locals and the input by reference: no record is cloned.
                let v = match self.place(b) {
                    Some(Value::Record(f)) => f.get(*i as usize).cloned().unwrap_or(Value::None),
                    Some(_) => Value::None,
                    None => match self.eval(b)? {
                        Value::Record(f) => f.get(*i as usize).cloned().unwrap_or(Value::None),
                        _ => Value::None,
                    },
                };
                if TRACE && !matches!(v, Value::Record(_)) {
                    if let Some(path) = input_path(rs, n) {
                        self.trace
                            .leaf(TraceNode::new("input", &path, fmt_value(&v, self.rs)));
                    }
                }
                Ok(v)
            }
            NodeKind::RowField(r, c, col) => {
                let row = self.eval(r)?;
                let Value::Row(_, idx) = row else {
                    return Ok(Value::None);
                };
                let cat = rs.catalogs.get(*c as usize);
                Ok(cat
                    .and_then(|cat| cat.rows.get(idx as usize))
                    .and_then(|r| r.cells.get(*col as usize))
                    .cloned()
                    .unwrap_or(Value::None))
            }
            NodeKind::Table(t, keys) => {
                let mut kv = Vec::with_capacity(keys.len());
                for k in keys {
                    kv.push(self.eval(k)?);
                }
                self.charge(kv.iter().map(key_cost).sum(), n.span)?;
                let table = rs
                    .tables
                    .get(*t as usize)
                    .ok_or_else(|| fail(Code::NoVersion, n.span, "unknown table"))?;
                let v = in_force(&table.name, &table.versions, self.as_of, n.span)?;
                if TRACE {
                    self.hit(Hit::Table(*t, version_index(&table.versions, v)));
                }
                match v.value.get(&kv) {
                    Some(x) => {
                        if TRACE {
                            let keys: Vec<String> = kv.iter().map(|k| fmt_value(k, rs)).collect();
                            let node = TraceNode::new(
                                "table",
                                &format!("{}[{}]", table.name, keys.join(", ")),
                                fmt_value(x, rs),
                            )
                            .at(v.span)
                            .period(v.period)
                            .cite(v.cite.as_ref(), rs);
                            self.trace.leaf(node);
                        }
                        Ok(x.clone())
                    }
                    None => {
                        let keys: Vec<String> = kv.iter().map(|k| fmt_value(k, rs)).collect();
                        Err(Box::new(
                            Diagnostic::new(
                                Code::TableKeyMissing,
                                n.span,
                                format!(
                                    "table `{}` has no row for {}",
                                    table.name,
                                    keys.join(", ")
                                ),
                            )
                            .label("looked up here")
                            .with(v.span, format!("the version in force ({})", v.period))
                            .help("add a row for these keys, or check the claim's values"),
                        ))
                    }
                }
            }
            NodeKind::CatalogGet(c, code) => {
                let code = self.eval(code)?;
                let cat = rs
                    .catalogs
                    .get(*c as usize)
                    .ok_or_else(|| fail(Code::CodeNotInCatalog, n.span, "unknown catalog"))?;
                self.hit(Hit::Catalog(*c));
                self.charge(key_cost(&code), n.span)?;
                let Value::Text(t) = &code else {
                    return Ok(Value::None);
                };
                match cat.lookup(t, self.as_of) {
                    Some(i) => {
                        if TRACE {
                            let v = Value::Row(*c, i);
                            let mut node = TraceNode::new(
                                "catalog",
                                &format!("{}[{t}]", cat.name),
                                fmt_value(&v, rs),
                            )
                            .cite(cat.cite.as_ref(), rs);
                            node.value = row_summary(cat, i, rs);
                            self.trace.leaf(
                                node.at(cat
                                    .rows
                                    .get(i as usize)
                                    .map(|r| r.span)
                                    .unwrap_or(cat.span)),
                            );
                        }
                        Ok(Value::Row(*c, i))
                    }
                    None => Err(Box::new(
                        Diagnostic::new(
                            Code::CodeNotInCatalog,
                            n.span,
                            format!(
                                "code `{t}` is not in catalog `{}` on {}",
                                cat.name, self.as_of
                            ),
                        )
                        .label("looked up here")
                        .help(format!(
                            "test membership first: `if code in {} then … else …`",
                            cat.name
                        )),
                    )),
                }
            }
            NodeKind::CatalogHas(c, code) => {
                let code = self.eval(code)?;
                self.hit(Hit::Catalog(*c));
                self.charge(key_cost(&code), n.span)?;
                let cat = rs.catalogs.get(*c as usize);
                let has = match (&code, cat) {
                    (Value::Text(t), Some(cat)) => cat.lookup(t, self.as_of).is_some(),
                    _ => false,
                };
                Ok(Value::Bool(has))
            }
            NodeKind::SeriesAt(s, y) => {
                let year = self.eval(y)?;
                let series = rs
                    .series
                    .get(*s as usize)
                    .ok_or_else(|| fail(Code::SeriesYearMissing, n.span, "unknown series"))?;
                let year = match year {
                    Value::Int(y) => y,
                    _ => 0,
                };
                series_value(series, year, n.span).map(|d| d.0.clone())
            }
            NodeKind::InList(x, l) => {
                let x = self.eval(x)?;
                let l = self.eval(l)?;
                // Each comparison is a step, as in the compiled evaluator: a membership
                // test on a long list is work the step limit must see.
                let Value::List(items) = l else {
                    return Ok(Value::Bool(false));
                };
                for i in items.iter() {
                    self.charge(compare_cost(i, &x), n.span)?;
                    self.step(n.span)?;
                    if compare(i, &x) == Some(Ordering::Equal) {
                        return Ok(Value::Bool(true));
                    }
                }
                Ok(Value::Bool(false))
            }
            NodeKind::Arith(op, kind, l, r) => {
                let a = num(&self.eval(l)?);
                let b = num(&self.eval(r)?);
                let out = match op {
                    Arith::Add => exact_add(a, b),
                    Arith::Sub => exact_sub(a, b),
                    Arith::Mul => exact_mul(a, b),
                    Arith::Div => {
                        if b.is_zero() {
                            return Err(division_by_zero(r.span));
                        }
                        exact_div(a, b)
                    }
                };
                let out = exact(out, n.span)?;
                mk(*kind, out, n.span)
            }
            NodeKind::Neg(x) => {
                let v = self.eval(x)?;
                let d = num(&v);
                let kind = match v {
                    Value::Money(_) => NumKind::Money,
                    Value::Rate(_) => NumKind::Rate,
                    Value::Int(_) => NumKind::Int,
                    _ => NumKind::Decimal,
                };
                mk(kind, -d, n.span)
            }
            NodeKind::Cmp(op, l, r) => {
                let a = self.eval(l)?;
                let b = self.eval(r)?;
                self.charge(compare_cost(&a, &b), n.span)?;
                let ord = compare(&a, &b);
                Ok(Value::Bool(match op {
                    Cmp::Eq => ord == Some(Ordering::Equal),
                    Cmp::Ne => ord != Some(Ordering::Equal),
                    Cmp::Lt => ord == Some(Ordering::Less),
                    Cmp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
                    Cmp::Gt => ord == Some(Ordering::Greater),
                    Cmp::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
                }))
            }
            NodeKind::And(l, r) => {
                if self.eval(l)? != Value::Bool(true) {
                    return Ok(Value::Bool(false));
                }
                Ok(Value::Bool(self.eval(r)? == Value::Bool(true)))
            }
            NodeKind::Or(l, r) => {
                if self.eval(l)? == Value::Bool(true) {
                    return Ok(Value::Bool(true));
                }
                Ok(Value::Bool(self.eval(r)? == Value::Bool(true)))
            }
            NodeKind::Not(x) => Ok(Value::Bool(self.eval(x)? != Value::Bool(true))),
            NodeKind::Coalesce(a, b) => {
                let v = self.eval(a)?;
                if v.is_some() {
                    Ok(v)
                } else {
                    self.eval(b)
                }
            }
            NodeKind::If(branches, els) => {
                for (k, (c, t)) in branches.iter().enumerate() {
                    if self.eval(c)? == Value::Bool(true) {
                        self.hit(Hit::Branch(n.span, k as u32));
                        return self.eval(t);
                    }
                }
                self.hit(Hit::Branch(n.span, branches.len() as u32));
                self.eval(els)
            }
            NodeKind::Match(s, table, arms) => {
                let v = self.eval(s)?;
                let Value::Enum(_, i) = v else {
                    return Ok(Value::None);
                };
                let k = table.get(i as usize).copied();
                let arm = k.and_then(|a| arms.get(a as usize));
                match (k, arm) {
                    (Some(k), Some(a)) => {
                        self.hit(Hit::Branch(n.span, k));
                        self.eval(a)
                    }
                    _ => Ok(Value::None),
                }
            }
            NodeKind::Let(slot, v, body) => {
                let v = self.eval(v)?;
                let old = self.set_local(*slot, v);
                let r = self.eval(body);
                self.set_local(*slot, old);
                r
            }
            NodeKind::CallFn(f, args) => {
                let func = rs.functions.get(*f as usize).ok_or_else(|| {
                    fail(Code::Internal, n.span, "internal error: unknown function")
                })?;
                self.hit(Hit::Function(*f));
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.eval(a)?);
                }
                let mut saved = Vec::with_capacity(vals.len());
                for (slot, v) in func.params.iter().zip(vals) {
                    saved.push(self.set_local(*slot, v));
                }
                let r = self.eval(&func.body);
                for (slot, v) in func.params.iter().zip(saved) {
                    self.set_local(*slot, v);
                }
                r
            }
            NodeKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.eval(i)?);
                }
                Ok(Value::List(Arc::from(out)))
            }
            NodeKind::ListOp(op, list, slot, body, kind) => {
                self.list_op(*op, list, *slot, body.as_deref(), *kind, n.span)
            }
            NodeKind::Call(b, kind, args) => self.call(*b, *kind, args, n.span),
            NodeKind::Round(x, unit, mode)
                if matches!(&x.kind, NodeKind::Arith(Arith::Div, ..)) =>
            {
                let NodeKind::Arith(_, kind, l, r) = &x.kind else {
                    return Err(fail(
                        Code::Internal,
                        n.span,
                        "internal error: not a division",
                    ));
                };
                let a = num(&self.eval(l)?);
                let b = num(&self.eval(r)?);
                if b.is_zero() {
                    return Err(division_by_zero(r.span));
                }
                let q = exact(round_div(a, b, *unit, *mode), n.span)?;
                mk(*kind, q, n.span)
            }
            NodeKind::Round(x, unit, mode) => {
                let v = self.eval(x)?;
                let kind = match v {
                    Value::Money(_) => NumKind::Money,
                    Value::Rate(_) => NumKind::Rate,
                    Value::Int(_) => NumKind::Int,
                    _ => NumKind::Decimal,
                };
                let r = round_to(num(&v), *unit, *mode).ok_or_else(|| overflow(n.span))?;
                mk(kind, r, n.span)
            }
            NodeKind::Marginal(b, x) => {
                let amount = num(&self.eval(x)?);
                let bands = rs
                    .bands
                    .get(*b as usize)
                    .ok_or_else(|| fail(Code::NoVersion, n.span, "unknown bands"))?;
                let v = in_force(&bands.name, &bands.versions, self.as_of, n.span)?;
                if TRACE {
                    self.hit(Hit::Bands(*b, version_index(&bands.versions, v)));
                }
                let total = marginal(&v.value, amount).ok_or_else(|| overflow(n.span))?;
                let out = Value::Money(Money(total));
                if TRACE {
                    let node = TraceNode::new(
                        "bands",
                        &format!("marginal({}, {})", bands.name, amount.normalize()),
                        fmt_value(&out, rs),
                    )
                    .at(v.span)
                    .period(v.period)
                    .cite(v.cite.as_ref(), rs);
                    self.trace.leaf(node);
                }
                Ok(out)
            }
            NodeKind::Adjust {
                amount,
                series,
                base,
                to,
                unit,
                mode,
                floor,
            } => {
                let a = self.eval(amount)?;
                let kind = if matches!(a, Value::Money(_)) {
                    NumKind::Money
                } else {
                    NumKind::Decimal
                };
                let base_amount = num(&a);
                let (Value::Int(base_year), Value::Int(to_year)) =
                    (self.eval(base)?, self.eval(to)?)
                else {
                    return Ok(a);
                };
                let s = rs
                    .series
                    .get(*series as usize)
                    .ok_or_else(|| fail(Code::SeriesYearMissing, n.span, "unknown series"))?;
                let mut current = base_amount;
                let mut factor = Decimal::ONE;
                let mut y = base_year;
                while y < to_year {
                    self.step(n.span)?;
                    let (idx, _) = series_value(s, y, n.span)?;
                    factor = exact(
                        exact_mul(factor, num(idx))
                            .and_then(|f| exact_div(f, Decimal::ONE_HUNDRED)),
                        n.span,
                    )?;
                    let candidate = exact(exact_mul(base_amount, factor), n.span)?;
                    let candidate =
                        round_to(candidate, *unit, *mode).ok_or_else(|| overflow(n.span))?;
                    current = if *floor {
                        current.max(candidate)
                    } else {
                        candidate
                    };
                    y += 1;
                }
                let out = mk(kind, current, n.span)?;
                if TRACE {
                    let node = TraceNode::new(
                        "index adjustment",
                        &format!("{} from {base_year} to {to_year}", s.name),
                        fmt_value(&out, rs),
                    )
                    .at(n.span)
                    .cite(s.cite.as_ref(), rs)
                    .note(format!(
                        "base {} × chained {}",
                        base_amount.normalize(),
                        s.name
                    ));
                    self.trace.leaf(node);
                }
                Ok(out)
            }
        }
    }

    fn list_op(
        &mut self,
        op: ListOp,
        list: &Node,
        slot: u32,
        body: Option<&Node>,
        kind: NumKind,
        span: Span,
    ) -> R<Value> {
        let Value::List(items) = self.eval(list)? else {
            return Ok(Value::None);
        };
        let old = self
            .locals
            .get(slot as usize)
            .cloned()
            .unwrap_or(Value::None);
        let r = self.list_op_items(op, &items, slot, body, kind, span);
        self.set_local(slot, old);
        r
    }

    fn list_op_items(
        &mut self,
        op: ListOp,
        items: &[Value],
        slot: u32,
        body: Option<&Node>,
        kind: NumKind,
        span: Span,
    ) -> R<Value> {
        crate::builtins::list_op(
            self,
            op,
            items,
            body.is_some(),
            kind,
            span,
            |this, x| match body {
                Some(b) => {
                    this.set_local(slot, x.clone());
                    this.eval(b)
                }
                None => Ok(x.clone()),
            },
        )
    }

    /// A built-in, by its registry entry: its value form on the evaluated arguments, after
    /// the steps its work costs (text searched).
    fn call(&mut self, b: Builtin, kind: NumKind, args: &[Node], span: Span) -> R<Value> {
        let c = crate::builtins::call_of(b)
            .ok_or_else(|| fail(Code::Internal, span, "internal error: unknown built-in"))?;
        let mut vals = Vec::with_capacity(args.len());
        for a in args {
            vals.push(self.eval(a)?);
        }
        let extra = (c.cost)(&vals);
        if extra > 0 {
            self.steps = self.steps.saturating_add(extra);
            self.step(span)?;
        }
        (c.value)(&vals, kind, span)
    }
}

/// The marginal-band function: each band's rate on the part of `x` inside it.
pub fn marginal(bands: &[ir::Band], x: Decimal) -> Option<Decimal> {
    let mut total = Decimal::ZERO;
    for b in bands {
        if x <= b.lower {
            break;
        }
        let top = match b.upper {
            Some(u) => x.min(u),
            None => x,
        };
        let part = exact_mul(exact_sub(top, b.lower).ok()?, b.rate).ok()?;
        total = exact_add(total, part).ok()?;
    }
    Some(total)
}

pub(crate) fn series_value(s: &ir::Series, year: i64, span: Span) -> R<&(Value, Span)> {
    s.values.get(&year).ok_or_else(|| {
        let range = match (s.values.keys().next(), s.values.keys().last()) {
            (Some(a), Some(b)) => format!("{a}–{b}"),
            _ => "no years".into(),
        };
        Box::new(
            Diagnostic::new(
                Code::SeriesYearMissing,
                span,
                format!("series `{}` has no value for {year}", s.name),
            )
            .label(format!("needs {year}"))
            .with(s.span, format!("the series covers {range}"))
            .help(format!(
                "add the {year} index to the series' data (one line: `{year},…`)"
            )),
        )
    })
}

/// The version of `name` in force at `date`, or the error that lists the versions there are.
pub(crate) fn in_force<'v, T>(
    name: &str,
    versions: &'v [ir::Version<T>],
    date: Date,
    span: Span,
) -> R<&'v ir::Version<T>> {
    ir::version_at(versions, date)
        .ok_or_else(|| no_version(name, span, date, versions.iter().map(|v| v.period)))
}

pub(crate) fn division_by_zero(span: Span) -> Box<Diagnostic> {
    Box::new(
        Diagnostic::new(Code::DivisionByZero, span, "division by zero")
            .label("this is zero for this claim")
            .help("guard the division: `if x == 0 then … else a / x`"),
    )
}

pub(crate) fn no_version(
    name: &str,
    span: Span,
    date: Date,
    periods: impl Iterator<Item = Period>,
) -> Box<Diagnostic> {
    let list: Vec<String> = periods.map(|p| p.to_string()).collect();
    Box::new(
        Diagnostic::new(
            Code::NoVersion,
            span,
            format!("no version of `{name}` is in force on {date}"),
        )
        .label("needed here")
        .help(if list.is_empty() {
            format!("`{name}` has no versions")
        } else {
            format!("the versions of `{name}` are in force: {}", list.join("; "))
        }),
    )
}

fn kind_name(k: DefKind) -> &'static str {
    match k {
        DefKind::Def => "def",
        DefKind::Output => "output",
        DefKind::Fund => "fund",
    }
}

fn input_path(rs: &Ruleset, n: &Node) -> Option<String> {
    let mut parts = Vec::new();
    let mut cur = n;
    loop {
        match &cur.kind {
            NodeKind::Field(b, i) => {
                parts.push((b, *i));
                cur = b;
            }
            NodeKind::Input => break,
            _ => return None,
        }
    }
    // Walk back down from the input type.
    let mut ty = rs.input.as_ref().map(|(_, t)| t.clone())?;
    let mut path = rs.input.as_ref().map(|(n, _)| n.clone())?;
    for (_, i) in parts.iter().rev() {
        let crate::types::Type::Record(r) = ty.unwrap_optional().clone() else {
            return None;
        };
        let f = rs.records.get(r as usize)?.fields.get(*i as usize)?;
        path.push('.');
        path.push_str(&f.name);
        ty = f.ty.clone();
    }
    Some(path)
}

fn row_summary(cat: &ir::Catalog, i: u32, rs: &Ruleset) -> String {
    let Some(row) = cat.rows.get(i as usize) else {
        return String::new();
    };
    let cells: Vec<String> = cat
        .columns
        .iter()
        .zip(&row.cells)
        .filter(|(_, v)| v.is_some())
        .map(|(c, v)| format!("{}={}", c.name, fmt_value(v, rs)))
        .collect();
    cells.join(", ")
}

/// Formats a value for people: money with two decimals, rates as percentages.
pub fn fmt_value(v: &Value, rs: &Ruleset) -> String {
    match v {
        Value::Money(m) => m.to_string(),
        Value::Rate(r) => r.to_string(),
        Value::Decimal(d) => d.normalize().to_string(),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Date(d) => d.to_string(),
        Value::Text(t) => format!("{t:?}"),
        Value::Enum(e, i) => rs
            .enums
            .get(*e as usize)
            .and_then(|en| en.variants.get(*i as usize))
            .cloned()
            .unwrap_or_default(),
        Value::Record(_) => "{…}".into(),
        Value::List(items) => format!("[{} items]", items.len()),
        Value::None => "none".into(),
        Value::Row(c, i) => rs
            .catalogs
            .get(*c as usize)
            .map(|cat| row_summary(cat, *i, rs))
            .unwrap_or_default(),
    }
}
