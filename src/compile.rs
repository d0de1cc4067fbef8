//! Stage 5, compilation: a checked ruleset becomes typed closures, one program per epoch.
//!
//! The tree walker of `eval.rs` dispatches on a dynamic [`Value`] at every node, re-finds the
//! version in force of every parameter and table on every read, and computes definitions on
//! demand through recursion. This stage uses what the checker proved instead:
//!
//! - **Typed.** Each node becomes a closure of its static type: numbers (`money`, `rate`,
//!   `decimal`, `int`) evaluate to a bare `Decimal`, conditions to `bool`, dates to `Date`,
//!   enum values to their index, catalog rows to a row index. Intermediate values never
//!   allocate. Values that rest in a slot (a definition's result, a local, a record field of
//!   the claim) are tagged [`Value`]s read with a checked tag: a mismatch is the internal
//!   error `E0739`, never a default (`tests/differential.rs` asserts it never happens).
//! - **Resolved once per epoch.** The dates where any version of a parameter, table, band,
//!   definition or exception starts or ends cut time into epochs; within one, every choice of
//!   version is fixed. A program is compiled per epoch on first use (and cached, at most
//!   [`MAX_CACHED_EPOCHS`]): parameters become constants, constant arithmetic folds, tables
//!   keyed by enums, bools and small ints become dense arrays, and exceptions not in force
//!   disappear.
//! - **No recursion between definitions.** The definitions reachable from the outputs,
//!   funds and accumulators are evaluated once each, in dependency order, into slots; an error
//!   is kept in the slot and raised where (and only if) the value is read, so the result is
//!   the one on-demand evaluation gives. Function calls bind parameter slots and run the body
//!   compiled once; expression depth is bounded by the parser, and every function call and
//!   every 8 levels of nesting go through [`crate::stack::guard`].
//! - **Scratch reused.** [`Scratch`] holds the definition slots, locals and the catalog
//!   look-up memo of one worker; a claim allocates its settlement and little else.
//!
//! The traced path (`--explain`, `--trace json`) stays on the tree walker, which is also the
//! reference: `tests/differential.rs` checks that both give identical settlements and errors.

use crate::builtins::{self, NumForm};
use crate::diag::{Code, Diagnostic};
use crate::eval::{
    check_coverage, compare, compare_cost, division_by_zero, exact, fail, in_force, key_cost,
    marginal, mk, no_version, overflow, series_value, zero, Settlement,
};
use crate::ir::{self, Arith, Builtin, Cmp, DefKind, ListOp, Node, NodeKind, NumKind, Ruleset};
use crate::limits::Limits;
use crate::source::Span;
use crate::types::Type;
use crate::value::{exact_add, exact_div, exact_mul, exact_sub, round_div};
use crate::value::{round_to, Date, Money, Value};
use rust_decimal::Decimal;
use std::cmp::Ordering;
use std::sync::{Arc, Mutex};

type R<T> = Result<T, Box<Diagnostic>>;
type F<T> = Box<dyn Fn(&mut Cx<'_>) -> R<T> + Send + Sync>;

/// How many epoch programs a [`Program`] keeps compiled.
pub const MAX_CACHED_EPOCHS: usize = 64;

/// Every how many levels of expression nesting the stack is checked.
const GUARD_EVERY: usize = 8;

/// The compiled form of a ruleset: the epochs, the evaluation order, and a cache of
/// per-epoch programs.
pub struct Program {
    rs: Arc<Ruleset>,
    /// Epoch starts, ascending; epoch `k` runs from `starts[k]` to the day before
    /// `starts[k + 1]`. The first is `Date::MIN`.
    starts: Vec<Date>,
    /// Reachable definitions in dependency order.
    order: Vec<u32>,
    cache: Mutex<Vec<(usize, Arc<Epoch>)>>,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program")
            .field("ruleset", &self.rs.name)
            .field("epochs", &self.starts.len())
            .field("definitions", &self.order.len())
            .finish()
    }
}

/// One epoch's program.
struct Epoch {
    /// Per definition (by index), its compiled form if reachable.
    defs: Vec<Option<DefCode>>,
    /// Per function, its body.
    fns: Vec<FnCode>,
    /// Per accumulator, what this claim adds.
    accs: Vec<F<Decimal>>,
}

struct FnCode {
    params: Vec<u32>,
    body: Option<F<Value>>,
}

enum DefBody {
    /// The version in force in this epoch.
    Value(F<Value>),
    /// No version is in force.
    NoVersion,
}

struct DefCode {
    /// Exceptions in force in this epoch: condition, value, index.
    excs: Vec<(F<bool>, F<Value>, u32)>,
    body: DefBody,
}

/// A definition's slot for one claim.
#[derive(Clone, Debug, Default)]
enum Slot {
    #[default]
    Empty,
    Val(Value),
    Err(Box<Diagnostic>),
    NoVersion,
}

/// A worker's reusable memory: definition slots, locals, and the catalog memo.
#[derive(Debug, Default)]
pub struct Scratch {
    defs: Vec<Slot>,
    locals: Vec<Value>,
    /// Per catalog: the last code looked up and its row (`None`: not in force).
    memo: Vec<(String, Option<u32>, bool)>,
}

/// What one evaluation reads and writes.
pub struct Cx<'a> {
    rs: &'a Ruleset,
    ep: &'a Epoch,
    input: &'a Value,
    as_of: Date,
    accum_before: &'a [Value],
    s: &'a mut Scratch,
    steps: u64,
    max_steps: u64,
}

impl Cx<'_> {
    #[inline(always)]
    fn tick(&mut self, span: Span) -> R<()> {
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

    /// Counts `n` steps of work beyond the node's own tick (a long text compared, say).
    #[inline(always)]
    fn charge(&mut self, n: u64, span: Span) -> R<()> {
        if n == 0 {
            return Ok(());
        }
        self.ticks(n - 1, span)
    }

    #[inline(always)]
    fn ticks(&mut self, n: u64, span: Span) -> R<()> {
        self.steps = self.steps.saturating_add(n);
        self.tick(span)
    }
}

fn internal(span: Span, what: &str) -> Box<Diagnostic> {
    Box::new(
        Diagnostic::new(
            Code::Internal,
            span,
            format!("internal error in the compiled evaluator: {what}"),
        )
        .help("this is a bug in rulec; please report it with the ruleset and the claim"),
    )
}

#[inline(always)]
fn as_num(v: &Value, span: Span) -> R<Decimal> {
    match v {
        Value::Money(m) => Ok(m.0),
        Value::Rate(r) => Ok(r.0),
        Value::Decimal(d) => Ok(*d),
        Value::Int(i) => Ok(Decimal::from(*i)),
        _ => Err(internal(span, "a number was expected")),
    }
}

/// The static type of a node (the inner bindings of a `let` carry their body's).
pub fn ty_of(n: &Node) -> &Type {
    match (&n.ty, &n.kind) {
        (Type::Error, NodeKind::Let(_, _, b)) => ty_of(b),
        (t, _) => t,
    }
}

fn kind_of(n: &Node) -> NumKind {
    NumKind::of(ty_of(n).unwrap_optional())
}

/// The place a node reads: a local or the claim, then a path of fields.
fn place_of(n: &Node) -> Option<(Option<u32>, Vec<u32>)> {
    let mut path = Vec::new();
    let mut cur = n;
    loop {
        match &cur.kind {
            NodeKind::Field(b, i) => {
                path.push(*i);
                cur = b;
            }
            NodeKind::Local(s) => {
                path.reverse();
                return Some((Some(*s), path));
            }
            NodeKind::Input => {
                path.reverse();
                return Some((None, path));
            }
            _ => return None,
        }
    }
}

/// Reads a place by reference.
#[inline(always)]
fn read_place<'c>(cx: &'c Cx<'_>, local: Option<u32>, path: &[u32]) -> Option<&'c Value> {
    let mut v = match local {
        Some(s) => cx.s.locals.get(s as usize)?,
        None => cx.input,
    };
    for &i in path {
        v = match v {
            Value::Record(f) => f.get(i as usize)?,
            _ => return None,
        };
    }
    Some(v)
}

impl Program {
    /// Prepares a checked ruleset: its epochs and evaluation order. Epoch programs are
    /// compiled on first use.
    pub fn new(rs: Arc<Ruleset>) -> Program {
        let mut starts = vec![Date::MIN];
        let mut add = |p: &crate::value::Period| {
            starts.push(p.from);
            if p.until < Date::MAX {
                starts.push(p.until.succ());
            }
        };
        for p in &rs.params {
            p.versions.iter().for_each(|v| add(&v.period));
        }
        for t in &rs.tables {
            t.versions.iter().for_each(|v| add(&v.period));
        }
        for b in &rs.bands {
            b.versions.iter().for_each(|v| add(&v.period));
        }
        for d in &rs.defs {
            d.versions.iter().for_each(|v| add(&v.period));
        }
        for e in &rs.exceptions {
            add(&e.period);
        }
        starts.sort_unstable();
        starts.dedup();
        let order = eval_order(&rs);
        Program {
            rs,
            starts,
            order,
            cache: Mutex::new(Vec::new()),
        }
    }

    /// The checked ruleset.
    pub fn ruleset(&self) -> &Ruleset {
        &self.rs
    }

    /// The number of epochs (intervals between version boundaries).
    pub fn epochs(&self) -> usize {
        self.starts.len()
    }

    fn epoch(&self, date: Date) -> Arc<Epoch> {
        let k = self
            .starts
            .partition_point(|s| *s <= date)
            .saturating_sub(1);
        {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((_, e)) = cache.iter().find(|(i, _)| *i == k) {
                return e.clone();
            }
        }
        let start = self.starts.get(k).copied().unwrap_or(Date::MIN);
        let ep = Arc::new(Compiler::new(&self.rs, start).epoch(&self.order));
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MAX_CACHED_EPOCHS {
            cache.remove(0);
        }
        cache.push((k, ep.clone()));
        ep
    }

    /// Settles one claim whose input and accumulators are read and whose date is known.
    pub fn settle(
        &self,
        input: &Value,
        as_of: Date,
        accum_before: &[Value],
        limits: &Limits,
        scratch: &mut Scratch,
    ) -> R<Settlement> {
        let rs = &*self.rs;
        check_coverage(rs, input)?;
        let ep = self.epoch(as_of);
        scratch.defs.clear();
        scratch.defs.resize(rs.defs.len(), Slot::Empty);
        scratch.locals.clear();
        scratch.locals.resize(rs.locals as usize, Value::None);
        scratch.memo.clear();
        scratch
            .memo
            .resize(rs.catalogs.len(), (String::new(), None, false));
        let mut cx = Cx {
            rs,
            ep: &ep,
            input,
            as_of,
            accum_before,
            s: scratch,
            steps: 0,
            max_steps: limits.max_steps,
        };
        for &d in &self.order {
            let slot = eval_def(&mut cx, d);
            if let Some(s) = cx.s.defs.get_mut(d as usize) {
                *s = slot;
            }
        }
        let mut outputs = Vec::new();
        let mut funds = Vec::new();
        for (i, d) in rs.defs.iter().enumerate() {
            match d.kind {
                DefKind::Output => outputs.push((d.name.clone(), read_def(&cx, i as u32, d.span)?)),
                DefKind::Fund => {
                    let v = read_def(&cx, i as u32, d.span)?;
                    funds.push((d.name.clone(), Money(as_num(&v, d.span)?)));
                }
                DefKind::Def => {}
            }
        }
        let mut accumulators = Vec::with_capacity(rs.accumulators.len());
        for (i, a) in rs.accumulators.iter().enumerate() {
            let add = match ep.accs.get(i) {
                Some(f) => f(&mut cx)?,
                None => return Err(internal(a.span, "an accumulator was not compiled")),
            };
            let before = match accum_before.get(i) {
                Some(v) => as_num(v, a.span)?,
                None => Decimal::ZERO,
            };
            let sum = exact(exact_add(before, add), a.span)?;
            accumulators.push((a.name.clone(), mk(NumKind::of(&a.ty), sum, a.span)?));
        }
        let s = Settlement {
            as_of,
            outputs,
            funds,
            accumulators,
        };
        crate::eval::check_whole_fen(rs, &s)?;
        Ok(s)
    }
}

/// Evaluates one definition into its slot value (errors kept, not raised).
fn eval_def(cx: &mut Cx<'_>, d: u32) -> Slot {
    let ep = cx.ep;
    let rs = cx.rs;
    let Some(Some(code)) = ep.defs.get(d as usize) else {
        return Slot::Empty;
    };
    let Some(def) = rs.defs.get(d as usize) else {
        return Slot::Empty;
    };
    let mut applied: Option<(u32, &F<Value>)> = None;
    for (cond, value, e) in &code.excs {
        match cond(cx) {
            Ok(true) => {
                if let Some((first, _)) = applied {
                    let (Some(a), Some(b)) = (
                        rs.exceptions.get(first as usize),
                        rs.exceptions.get(*e as usize),
                    ) else {
                        return Slot::Err(internal(def.span, "unknown exception"));
                    };
                    return Slot::Err(Box::new(
                        Diagnostic::new(
                            Code::RuleConflict,
                            b.span,
                            format!(
                                "exceptions `{}` and `{}` both apply to `{}` for this claim",
                                a.name, b.name, def.name
                            ),
                        )
                        .label("applies")
                        .with(a.span, "also applies")
                        .help(
                            "make the conditions exclusive, or merge the two exceptions into one",
                        ),
                    ));
                }
                applied = Some((*e, value));
            }
            Ok(false) => {}
            Err(e) => return Slot::Err(e),
        }
    }
    let r = match applied {
        Some((_, value)) => value(cx),
        None => match &code.body {
            DefBody::Value(f) => f(cx),
            DefBody::NoVersion => return Slot::NoVersion,
        },
    };
    match r {
        Ok(v) => Slot::Val(v),
        Err(e) => Slot::Err(e),
    }
}

/// Reads a definition's slot at `span`.
#[inline(always)]
fn read_def(cx: &Cx<'_>, d: u32, span: Span) -> R<Value> {
    match cx.s.defs.get(d as usize) {
        Some(Slot::Val(v)) => Ok(v.clone()),
        Some(Slot::Err(e)) => Err(e.clone()),
        Some(Slot::NoVersion) => {
            let def = cx
                .rs
                .defs
                .get(d as usize)
                .ok_or_else(|| internal(span, "unknown definition"))?;
            Err(no_version(
                &def.name,
                span,
                cx.as_of,
                def.versions.iter().map(|v| v.period),
            ))
        }
        _ => Err(internal(
            span,
            "a definition was read before it was computed",
        )),
    }
}

#[inline(always)]
fn read_def_num(cx: &Cx<'_>, d: u32, span: Span) -> R<Decimal> {
    match cx.s.defs.get(d as usize) {
        Some(Slot::Val(v)) => as_num(v, span),
        _ => read_def(cx, d, span).and_then(|v| as_num(&v, span)),
    }
}

/// The definitions the outputs, funds, accumulators and coverage need, in dependency order
/// (an iterative depth-first post-order: safe for chains of any length).
fn eval_order(rs: &Ruleset) -> Vec<u32> {
    // Direct references of each definition and function.
    let nd = rs.defs.len();
    let nf = rs.functions.len();
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); nd + nf];
    let collect = |n: &Node, out: &mut Vec<usize>| {
        let mut stack = vec![n];
        while let Some(x) = stack.pop() {
            match &x.kind {
                NodeKind::Def(d) => out.push(*d as usize),
                NodeKind::CallFn(f, _) => out.push(nd + *f as usize),
                _ => {}
            }
            x.for_each_child(|c| stack.push(c));
        }
    };
    for (i, d) in rs.defs.iter().enumerate() {
        if let Some(out) = edges.get_mut(i) {
            for v in &d.versions {
                collect(&v.value, out);
            }
            for &e in &d.exceptions {
                if let Some(ex) = rs.exceptions.get(e as usize) {
                    collect(&ex.cond, out);
                    collect(&ex.value, out);
                }
            }
        }
    }
    for (i, f) in rs.functions.iter().enumerate() {
        if let Some(out) = edges.get_mut(nd + i) {
            collect(&f.body, out);
        }
    }
    let mut roots: Vec<usize> = Vec::new();
    for (i, d) in rs.defs.iter().enumerate() {
        if d.kind != DefKind::Def {
            roots.push(i);
        }
    }
    let mut acc_refs = Vec::new();
    for a in &rs.accumulators {
        collect(&a.add, &mut acc_refs);
    }
    roots.extend(acc_refs);
    let mut state = vec![0u8; nd + nf];
    let mut order = Vec::new();
    for r in roots {
        if state.get(r).copied() != Some(0) {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(r, 0)];
        if let Some(s) = state.get_mut(r) {
            *s = 1;
        }
        while let Some((node, idx)) = stack.last_mut() {
            let node = *node;
            let next = edges.get(node).and_then(|e| e.get(*idx)).copied();
            *idx += 1;
            match next {
                Some(n) => {
                    if state.get(n).copied() == Some(0) {
                        if let Some(s) = state.get_mut(n) {
                            *s = 1;
                        }
                        stack.push((n, 0));
                    }
                }
                None => {
                    stack.pop();
                    if let Some(s) = state.get_mut(node) {
                        *s = 2;
                    }
                    if node < nd {
                        order.push(node as u32);
                    }
                }
            }
        }
    }
    order
}

/// Compiles the bodies for one epoch.
struct Compiler<'a> {
    rs: &'a Ruleset,
    at: Date,
    depth: usize,
}

fn guarded<T: 'static>(f: F<T>) -> F<T> {
    Box::new(move |cx| crate::stack::guard(|| f(cx)))
}

fn konst<T: Clone + Send + Sync + 'static>(v: T) -> F<T> {
    Box::new(move |_| Ok(v.clone()))
}

fn err_node<T: 'static>(d: Box<Diagnostic>) -> F<T> {
    Box::new(move |_| Err(d.clone()))
}

impl<'a> Compiler<'a> {
    fn new(rs: &'a Ruleset, at: Date) -> Self {
        Compiler { rs, at, depth: 0 }
    }

    fn epoch(&mut self, order: &[u32]) -> Epoch {
        let rs = self.rs;
        let mut defs: Vec<Option<DefCode>> = (0..rs.defs.len()).map(|_| None).collect();
        for &d in order {
            let Some(def) = rs.defs.get(d as usize) else {
                continue;
            };
            let mut excs = Vec::new();
            for &e in &def.exceptions {
                let Some(ex) = rs.exceptions.get(e as usize) else {
                    continue;
                };
                if ex.period.contains(self.at) {
                    excs.push((self.boolean(&ex.cond), self.val(&ex.value), e));
                }
            }
            let body = match ir::version_at(&def.versions, self.at) {
                Some(v) => DefBody::Value(self.val(&v.value)),
                None => DefBody::NoVersion,
            };
            if let Some(slot) = defs.get_mut(d as usize) {
                *slot = Some(DefCode { excs, body });
            }
        }
        let fns = rs
            .functions
            .iter()
            .map(|f| FnCode {
                params: f.params.clone(),
                body: Some(self.val(&f.body)),
            })
            .collect();
        let accs = rs.accumulators.iter().map(|a| self.num(&a.add)).collect();
        Epoch { defs, fns, accs }
    }

    /// Tracks nesting; every [`GUARD_EVERY`] levels the closure checks the stack.
    fn enter(&mut self) -> bool {
        self.depth += 1;
        self.depth.is_multiple_of(GUARD_EVERY)
    }

    // ---- numbers

    fn num(&mut self, n: &Node) -> F<Decimal> {
        let g = self.enter();
        // Compiling recurses as deep as the expression: guarded like evaluation.
        let f = if g {
            crate::stack::guard(|| self.num_inner(n))
        } else {
            self.num_inner(n)
        };
        self.depth -= 1;
        if g {
            guarded(f)
        } else {
            f
        }
    }

    fn num_inner(&mut self, n: &Node) -> F<Decimal> {
        let span = n.span;
        let rs = self.rs;
        match &n.kind {
            NodeKind::Const(v) => match as_num(v, span) {
                Ok(d) => konst(d),
                Err(e) => err_node(e),
            },
            NodeKind::Param(i) => match self.param(*i, span).map(|v| as_num(&v, span)) {
                Ok(Ok(d)) => konst(d),
                Ok(Err(e)) => err_node(e),
                Err(_) => {
                    let f = self.val_inner(n);
                    Box::new(move |cx| as_num(&f(cx)?, span))
                }
            },
            NodeKind::Def(d) => {
                let d = *d;
                Box::new(move |cx| {
                    cx.tick(span)?;
                    read_def_num(cx, d, span)
                })
            }
            NodeKind::Local(_) | NodeKind::Field(..) if place_of(n).is_some() => {
                let Some((local, path)) = place_of(n) else {
                    return err_node(internal(span, "no place"));
                };
                Box::new(move |cx| {
                    cx.tick(span)?;
                    match read_place(cx, local, &path) {
                        Some(v) => as_num(v, span),
                        None => Err(internal(span, "a field of the claim is missing")),
                    }
                })
            }
            NodeKind::AccumBefore(i) => {
                let i = *i as usize;
                Box::new(move |cx| {
                    cx.tick(span)?;
                    match cx.accum_before.get(i) {
                        Some(v) => as_num(v, span),
                        None => Err(internal(span, "an accumulator is missing")),
                    }
                })
            }
            NodeKind::Arith(op, kind, l, r) => self.arith(*op, *kind, l, r, span),
            NodeKind::Neg(x) => {
                let kind = kind_of(x);
                let x = self.num(x);
                Box::new(move |cx| {
                    cx.tick(span)?;
                    let d = -x(cx)?;
                    check_int(kind, d, span)
                })
            }
            NodeKind::Round(x, unit, mode)
                if matches!(&x.kind, NodeKind::Arith(Arith::Div, ..)) =>
            {
                // One exact rounding of the exact quotient.
                let NodeKind::Arith(_, kind, l, r) = &x.kind else {
                    return err_node(internal(span, "not a division"));
                };
                let (kind, unit, mode, rspan) = (*kind, *unit, *mode, r.span);
                let (a, b) = (self.num(l), self.num(r));
                Box::new(move |cx| {
                    cx.tick(span)?;
                    let (x, y) = (a(cx)?, b(cx)?);
                    if y.is_zero() {
                        return Err(division_by_zero(rspan));
                    }
                    check_int(kind, exact(round_div(x, y, unit, mode), span)?, span)
                })
            }
            NodeKind::Round(x, unit, mode) => {
                let kind = kind_of(x);
                let (unit, mode) = (*unit, *mode);
                let x = self.num(x);
                Box::new(move |cx| {
                    cx.tick(span)?;
                    let r = round_to(x(cx)?, unit, mode).ok_or_else(|| overflow(span))?;
                    check_int(kind, r, span)
                })
            }
            NodeKind::Coalesce(a, b)
                if matches!(ty_of(a), Type::Optional(_)) || !ty_of(a).is_numeric() =>
            {
                let a = self.val(a);
                let b = self.num(b);
                Box::new(move |cx| {
                    cx.tick(span)?;
                    match a(cx)? {
                        Value::None => b(cx),
                        v => as_num(&v, span),
                    }
                })
            }
            NodeKind::Coalesce(a, _) => self.num(a),
            NodeKind::If(branches, els) => {
                let bs: Vec<(F<bool>, F<Decimal>)> = branches
                    .iter()
                    .map(|(c, t)| (self.boolean(c), self.num(t)))
                    .collect();
                let els = self.num(els);
                Box::new(move |cx| {
                    cx.tick(span)?;
                    for (c, t) in &bs {
                        if c(cx)? {
                            return t(cx);
                        }
                    }
                    els(cx)
                })
            }
            NodeKind::Match(s, table, arms) => {
                let s = self.enm(s);
                let table = table.clone();
                let arms: Vec<F<Decimal>> = arms.iter().map(|a| self.num(a)).collect();
                Box::new(move |cx| {
                    cx.tick(span)?;
                    let i = s(cx)?;
                    match table.get(i as usize).and_then(|a| arms.get(*a as usize)) {
                        Some(a) => a(cx),
                        None => Err(internal(span, "a match has no arm for a value")),
                    }
                })
            }
            NodeKind::Let(slot, v, body) => {
                let slot = *slot as usize;
                let v = self.val(v);
                let body = self.num(body);
                Box::new(move |cx| {
                    cx.tick(span)?;
                    let x = v(cx)?;
                    match cx.s.locals.get_mut(slot) {
                        Some(l) => *l = x,
                        None => return Err(internal(span, "unknown local")),
                    }
                    body(cx)
                })
            }
            NodeKind::Call(b, kind, args) => self.num_call(*b, *kind, args, span),
            NodeKind::ListOp(ListOp::Sum, list, slot, body, kind) => {
                let kind = *kind;
                let slot = *slot as usize;
                let list = self.list(list);
                let body = body.as_deref().map(|b| self.num(b));
                Box::new(move |cx| {
                    cx.tick(span)?;
                    let items = list(cx)?;
                    if items.is_empty() {
                        return as_num(&zero(kind), span);
                    }
                    let mut total = Decimal::ZERO;
                    for x in items.iter() {
                        cx.tick(span)?;
                        let v = match &body {
                            Some(b) => {
                                match cx.s.locals.get_mut(slot) {
                                    Some(l) => *l = x.clone(),
                                    None => return Err(internal(span, "unknown local")),
                                }
                                b(cx)?
                            }
                            None => as_num(x, span)?,
                        };
                        total = exact(exact_add(total, v), span)?;
                    }
                    check_int(kind, total, span)
                })
            }
            NodeKind::ListOp(ListOp::Count, ..) => {
                let f = self.val_inner(n);
                Box::new(move |cx| as_num(&f(cx)?, span))
            }
            NodeKind::CallFn(..) | NodeKind::RowField(..) | NodeKind::Table(..) => {
                let f = self.val_inner(n);
                Box::new(move |cx| as_num(&f(cx)?, span))
            }
            NodeKind::SeriesAt(s, y) => {
                let s = *s as usize;
                let y = self.num(y);
                Box::new(move |cx| {
                    cx.tick(span)?;
                    let year = int_of(y(cx)?, span)?;
                    let Some(series) = cx.rs.series.get(s) else {
                        return Err(internal(span, "unknown series"));
                    };
                    let (v, _) = series_value(series, year, span)?;
                    as_num(v, span)
                })
            }
            NodeKind::Marginal(b, x) => {
                let Some(bands) = rs.bands.get(*b as usize) else {
                    return err_node(fail(Code::NoVersion, span, "unknown bands"));
                };
                let x = self.num(x);
                match in_force(&bands.name, &bands.versions, self.at, span) {
                    Ok(v) => {
                        let bs = v.value.clone();
                        Box::new(move |cx| {
                            cx.ticks(bs.len() as u64, span)?;
                            let amount = x(cx)?;
                            marginal(&bs, amount).ok_or_else(|| overflow(span))
                        })
                    }
                    Err(_) => {
                        let name = bands.name.clone();
                        let periods: Vec<_> = bands.versions.iter().map(|v| v.period).collect();
                        Box::new(move |cx| {
                            x(cx)?;
                            Err(no_version(&name, span, cx.as_of, periods.iter().copied()))
                        })
                    }
                }
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
                let series = *series as usize;
                let amount = self.num(amount);
                let base = self.num(base);
                let to = self.num(to);
                let (unit, mode, floor) = (*unit, *mode, *floor);
                Box::new(move |cx| {
                    cx.tick(span)?;
                    let base_amount = amount(cx)?;
                    let base_year = int_of(base(cx)?, span)?;
                    let to_year = int_of(to(cx)?, span)?;
                    let mut current = base_amount;
                    let mut factor = Decimal::ONE;
                    let mut y = base_year;
                    let Some(s) = cx.rs.series.get(series) else {
                        return Err(internal(span, "unknown series"));
                    };
                    while y < to_year {
                        cx.tick(span)?;
                        let (idx, _) = series_value(s, y, span)?;
                        factor = exact(
                            exact_mul(factor, as_num(idx, span)?)
                                .and_then(|f| exact_div(f, Decimal::ONE_HUNDRED)),
                            span,
                        )?;
                        let candidate = exact(exact_mul(base_amount, factor), span)?;
                        let candidate =
                            round_to(candidate, unit, mode).ok_or_else(|| overflow(span))?;
                        current = if floor {
                            current.max(candidate)
                        } else {
                            candidate
                        };
                        y += 1;
                    }
                    Ok(current)
                })
            }
            _ => {
                let f = self.val_inner(n);
                Box::new(move |cx| as_num(&f(cx)?, span))
            }
        }
    }

    fn arith(&mut self, op: Arith, kind: NumKind, l: &Node, r: &Node, span: Span) -> F<Decimal> {
        let rspan = r.span;
        let a = self.num(l);
        let b = self.num(r);
        match op {
            Arith::Add => Box::new(move |cx| {
                cx.tick(span)?;
                let x = exact(exact_add(a(cx)?, b(cx)?), span)?;
                check_int(kind, x, span)
            }),
            Arith::Sub => Box::new(move |cx| {
                cx.tick(span)?;
                let x = exact(exact_sub(a(cx)?, b(cx)?), span)?;
                check_int(kind, x, span)
            }),
            Arith::Mul => Box::new(move |cx| {
                cx.tick(span)?;
                let x = exact(exact_mul(a(cx)?, b(cx)?), span)?;
                check_int(kind, x, span)
            }),
            Arith::Div => Box::new(move |cx| {
                cx.tick(span)?;
                let x = a(cx)?;
                let y = b(cx)?;
                if y.is_zero() {
                    return Err(division_by_zero(rspan));
                }
                let q = exact(exact_div(x, y), span)?;
                check_int(kind, q, span)
            }),
        }
    }

    /// A built-in on bare decimals, by its registry entry's [`NumForm`] when every argument
    /// is a number (a date for `OfDate`), else through its value form.
    fn num_call(&mut self, b: Builtin, kind: NumKind, args: &[Node], span: Span) -> F<Decimal> {
        let Some(c) = builtins::call_of(b) else {
            return err_node(internal(span, "an unknown built-in"));
        };
        let all_num = args.iter().all(|a| ty_of(a).is_numeric());
        let arg = |c: &mut Self, i: usize| -> F<Decimal> {
            match args.get(i) {
                Some(a) => c.num(a),
                None => err_node(internal(span, "a missing argument")),
            }
        };
        match (c.num, all_num) {
            (Some(NumForm::Fold(f)), true) => {
                let xs: Vec<F<Decimal>> = args.iter().map(|a| self.num(a)).collect();
                Box::new(move |cx| {
                    cx.tick(span)?;
                    let mut it = xs.iter();
                    let mut best = match it.next() {
                        Some(x) => x(cx)?,
                        None => return Err(internal(span, "min/max of nothing")),
                    };
                    for x in it {
                        best = f(best, x(cx)?);
                    }
                    check_int(kind, best, span)
                })
            }
            (Some(NumForm::Unary(f)), true) => {
                let x = arg(self, 0);
                Box::new(move |cx| {
                    cx.tick(span)?;
                    check_int(kind, f(x(cx)?), span)
                })
            }
            (Some(NumForm::Binary(f)), true) => {
                let (x, y) = (arg(self, 0), arg(self, 1));
                Box::new(move |cx| {
                    cx.tick(span)?;
                    let (x, y) = (x(cx)?, y(cx)?);
                    check_int(kind, exact(f(x, y), span)?, span)
                })
            }
            (Some(NumForm::Ternary(f)), true) => {
                let (x, y, z) = (arg(self, 0), arg(self, 1), arg(self, 2));
                Box::new(move |cx| {
                    cx.tick(span)?;
                    let (x, y, z) = (x(cx)?, y(cx)?, z(cx)?);
                    check_int(kind, exact(f(x, y, z), span)?, span)
                })
            }
            (Some(NumForm::OfDate(f)), _) if args.len() == 1 => {
                let d = match args.first() {
                    Some(a) => self.date(a),
                    None => err_node(internal(span, "a missing argument")),
                };
                Box::new(move |cx| {
                    cx.tick(span)?;
                    Ok(Decimal::from(f(d(cx)?)))
                })
            }
            _ => {
                let f = self.val_call(b, kind, args, span);
                Box::new(move |cx| as_num(&f(cx)?, span))
            }
        }
    }

    fn param(&self, i: u32, span: Span) -> R<Value> {
        let p = self
            .rs
            .params
            .get(i as usize)
            .ok_or_else(|| internal(span, "unknown parameter"))?;
        // The version in force is fixed for the whole epoch; its absence is raised where the
        // parameter is read, with the date of the claim (see `val_inner`).
        in_force(&p.name, &p.versions, self.at, span).map(|v| v.value.clone())
    }

    // ---- conditions

    fn boolean(&mut self, n: &Node) -> F<bool> {
        let g = self.enter();
        // Compiling recurses as deep as the expression: guarded like evaluation.
        let f = if g {
            crate::stack::guard(|| self.bool_inner(n))
        } else {
            self.bool_inner(n)
        };
        self.depth -= 1;
        if g {
            guarded(f)
        } else {
            f
        }
    }

    fn bool_inner(&mut self, n: &Node) -> F<bool> {
        let span = n.span;
        match &n.kind {
            NodeKind::Const(Value::Bool(b)) => konst(*b),
            NodeKind::And(a, b) => {
                let (a, b) = (self.boolean(a), self.boolean(b));
                Box::new(move |cx| {
                    cx.tick(span)?;
                    Ok(a(cx)? && b(cx)?)
                })
            }
            NodeKind::Or(a, b) => {
                let (a, b) = (self.boolean(a), self.boolean(b));
                Box::new(move |cx| {
                    cx.tick(span)?;
                    Ok(a(cx)? || b(cx)?)
                })
            }
            NodeKind::Not(a) => {
                let a = self.boolean(a);
                Box::new(move |cx| {
                    cx.tick(span)?;
                    Ok(!a(cx)?)
                })
            }
            NodeKind::Cmp(op, l, r) => self.cmp(*op, l, r, span),
            NodeKind::CatalogHas(c, code) => {
                let c = *c;
                let key = self.text_ref(code);
                Box::new(move |cx| {
                    cx.tick(span)?;
                    Ok(lookup(cx, c, &key, span)?.is_some())
                })
            }
            NodeKind::InList(x, l) => {
                let x = self.val(x);
                let l = self.list(l);
                Box::new(move |cx| {
                    cx.tick(span)?;
                    let x = x(cx)?;
                    let items = l(cx)?;
                    for i in items.iter() {
                        cx.tick(span)?;
                        cx.charge(compare_cost(i, &x), span)?;
                        if compare(i, &x) == Some(Ordering::Equal) {
                            return Ok(true);
                        }
                    }
                    Ok(false)
                })
            }
            NodeKind::Def(d) => {
                let d = *d;
                Box::new(move |cx| {
                    cx.tick(span)?;
                    match cx.s.defs.get(d as usize) {
                        Some(Slot::Val(Value::Bool(b))) => Ok(*b),
                        _ => as_bool(&read_def(cx, d, span)?, span),
                    }
                })
            }
            NodeKind::If(branches, els) => {
                let bs: Vec<(F<bool>, F<bool>)> = branches
                    .iter()
                    .map(|(c, t)| (self.boolean(c), self.boolean(t)))
                    .collect();
                let els = self.boolean(els);
                Box::new(move |cx| {
                    cx.tick(span)?;
                    for (c, t) in &bs {
                        if c(cx)? {
                            return t(cx);
                        }
                    }
                    els(cx)
                })
            }
            NodeKind::ListOp(op @ (ListOp::Any | ListOp::All), list, slot, Some(body), _) => {
                let any = *op == ListOp::Any;
                let slot = *slot as usize;
                let list = self.list(list);
                let body = self.boolean(body);
                Box::new(move |cx| {
                    cx.tick(span)?;
                    let items = list(cx)?;
                    for x in items.iter() {
                        cx.tick(span)?;
                        match cx.s.locals.get_mut(slot) {
                            Some(l) => *l = x.clone(),
                            None => return Err(internal(span, "unknown local")),
                        }
                        let t = body(cx)?;
                        if any && t {
                            return Ok(true);
                        }
                        if !any && !t {
                            return Ok(false);
                        }
                    }
                    Ok(!any)
                })
            }
            _ => {
                let f = self.val_inner(n);
                Box::new(move |cx| as_bool(&f(cx)?, span))
            }
        }
    }

    fn cmp(&mut self, op: Cmp, l: &Node, r: &Node, span: Span) -> F<bool> {
        let (lt, rt) = (ty_of(l).clone(), ty_of(r).clone());
        let test = move |o: Option<Ordering>| match op {
            Cmp::Eq => o == Some(Ordering::Equal),
            Cmp::Ne => o != Some(Ordering::Equal),
            Cmp::Lt => o == Some(Ordering::Less),
            Cmp::Le => matches!(o, Some(Ordering::Less | Ordering::Equal)),
            Cmp::Gt => o == Some(Ordering::Greater),
            Cmp::Ge => matches!(o, Some(Ordering::Greater | Ordering::Equal)),
        };
        if lt.is_numeric() && rt.is_numeric() {
            let (a, b) = (self.num(l), self.num(r));
            return Box::new(move |cx| {
                cx.tick(span)?;
                let (x, y) = (a(cx)?, b(cx)?);
                Ok(test(Some(x.cmp(&y))))
            });
        }
        if matches!((&lt, &rt), (Type::Enum(a), Type::Enum(b)) if a == b) {
            let (a, b) = (self.enm(l), self.enm(r));
            return Box::new(move |cx| {
                cx.tick(span)?;
                let (x, y) = (a(cx)?, b(cx)?);
                Ok(test(Some(x.cmp(&y))))
            });
        }
        if lt == Type::Date && rt == Type::Date {
            let (a, b) = (self.date(l), self.date(r));
            return Box::new(move |cx| {
                cx.tick(span)?;
                let (x, y) = (a(cx)?, b(cx)?);
                Ok(test(Some(x.cmp(&y))))
            });
        }
        let (a, b) = (self.val(l), self.val(r));
        Box::new(move |cx| {
            cx.tick(span)?;
            let (x, y) = (a(cx)?, b(cx)?);
            cx.charge(compare_cost(&x, &y), span)?;
            Ok(test(compare(&x, &y)))
        })
    }

    // ---- enums, dates, text, rows, lists

    fn enm(&mut self, n: &Node) -> F<u32> {
        let span = n.span;
        match &n.kind {
            NodeKind::Const(Value::Enum(_, i)) => konst(*i),
            NodeKind::Local(_) | NodeKind::Field(..) if place_of(n).is_some() => {
                let Some((local, path)) = place_of(n) else {
                    return err_node(internal(span, "no place"));
                };
                Box::new(move |cx| {
                    cx.tick(span)?;
                    match read_place(cx, local, &path) {
                        Some(Value::Enum(_, i)) => Ok(*i),
                        _ => Err(internal(span, "an enum value was expected")),
                    }
                })
            }
            _ => {
                let f = self.val(n);
                Box::new(move |cx| match f(cx)? {
                    Value::Enum(_, i) => Ok(i),
                    _ => Err(internal(span, "an enum value was expected")),
                })
            }
        }
    }

    fn date(&mut self, n: &Node) -> F<Date> {
        let span = n.span;
        match &n.kind {
            NodeKind::AsOf => Box::new(move |cx| {
                cx.tick(span)?;
                Ok(cx.as_of)
            }),
            NodeKind::Const(Value::Date(d)) => konst(*d),
            _ => {
                let f = self.val(n);
                Box::new(move |cx| match f(cx)? {
                    Value::Date(d) => Ok(d),
                    _ => Err(internal(span, "a date was expected")),
                })
            }
        }
    }

    /// A text read by reference where possible (a claim field or a constant).
    fn text_ref(&mut self, n: &Node) -> TextRef {
        match &n.kind {
            NodeKind::Const(Value::Text(t)) => TextRef::Const(t.clone()),
            _ => match place_of(n) {
                Some((local, path)) => TextRef::Place(local, path),
                None => TextRef::Val(self.val(n)),
            },
        }
    }

    fn row(&mut self, n: &Node) -> F<u32> {
        let span = n.span;
        match &n.kind {
            NodeKind::CatalogGet(c, code) => {
                let c = *c;
                let key = self.text_ref(code);
                Box::new(move |cx| {
                    cx.tick(span)?;
                    match lookup(cx, c, &key, span)? {
                        Some(i) => Ok(i),
                        None => {
                            let t = key.get(cx, span)?;
                            let Some(cat) = cx.rs.catalogs.get(c as usize) else {
                                return Err(internal(span, "unknown catalog"));
                            };
                            Err(not_in_catalog(&t, cat, cx.as_of, span))
                        }
                    }
                })
            }
            _ => {
                let f = self.val(n);
                Box::new(move |cx| match f(cx)? {
                    Value::Row(_, i) => Ok(i),
                    _ => Err(internal(span, "a catalog row was expected")),
                })
            }
        }
    }

    fn list(&mut self, n: &Node) -> F<Arc<[Value]>> {
        let span = n.span;
        let f = self.val(n);
        Box::new(move |cx| match f(cx)? {
            Value::List(items) => Ok(items),
            _ => Err(internal(span, "a list was expected")),
        })
    }

    // ---- any value (stored in slots, or of a type without a fast path)

    fn val(&mut self, n: &Node) -> F<Value> {
        let g = self.enter();
        // Compiling recurses as deep as the expression: guarded like evaluation.
        let f = if g {
            crate::stack::guard(|| self.val_inner(n))
        } else {
            self.val_inner(n)
        };
        self.depth -= 1;
        if g {
            guarded(f)
        } else {
            f
        }
    }

    /// Wraps a typed closure into one that builds the node's [`Value`].
    fn boxed_num(&mut self, n: &Node) -> F<Value> {
        let span = n.span;
        let kind = kind_of(n);
        let f = self.num_inner(n);
        Box::new(move |cx| mk(kind, f(cx)?, span))
    }

    fn val_inner(&mut self, n: &Node) -> F<Value> {
        let span = n.span;
        let rs = self.rs;
        let ty = ty_of(n).clone();
        match &n.kind {
            NodeKind::Const(v) => konst(v.clone()),
            NodeKind::Input => Box::new(move |cx| {
                cx.tick(span)?;
                Ok(cx.input.clone())
            }),
            NodeKind::AsOf => Box::new(move |cx| {
                cx.tick(span)?;
                Ok(Value::Date(cx.as_of))
            }),
            NodeKind::Local(_) | NodeKind::Field(..) if place_of(n).is_some() => {
                let Some((local, path)) = place_of(n) else {
                    return err_node(internal(span, "no place"));
                };
                Box::new(move |cx| {
                    cx.tick(span)?;
                    read_place(cx, local, &path)
                        .cloned()
                        .ok_or_else(|| internal(span, "a field of the claim is missing"))
                })
            }
            NodeKind::Field(b, i) => {
                let b = self.val(b);
                let i = *i as usize;
                Box::new(move |cx| {
                    cx.tick(span)?;
                    match b(cx)? {
                        Value::Record(f) => f
                            .get(i)
                            .cloned()
                            .ok_or_else(|| internal(span, "a record field is missing")),
                        _ => Err(internal(span, "a record was expected")),
                    }
                })
            }
            NodeKind::Param(i) => match self.param(*i, span) {
                Ok(v) => konst(v),
                Err(_) => {
                    let Some(p) = rs.params.get(*i as usize) else {
                        return err_node(internal(span, "unknown parameter"));
                    };
                    let name = p.name.clone();
                    let periods: Vec<_> = p.versions.iter().map(|v| v.period).collect();
                    Box::new(move |cx| {
                        Err(no_version(&name, span, cx.as_of, periods.iter().copied()))
                    })
                }
            },
            NodeKind::Def(d) => {
                let d = *d;
                Box::new(move |cx| {
                    cx.tick(span)?;
                    read_def(cx, d, span)
                })
            }
            NodeKind::AccumBefore(i) => {
                let i = *i as usize;
                Box::new(move |cx| {
                    cx.tick(span)?;
                    Ok(cx.accum_before.get(i).cloned().unwrap_or(Value::None))
                })
            }
            NodeKind::RowField(r, c, col) => {
                let r = self.row(r);
                let (c, col) = (*c as usize, *col as usize);
                Box::new(move |cx| {
                    cx.tick(span)?;
                    let i = r(cx)?;
                    cx.rs
                        .catalogs
                        .get(c)
                        .and_then(|cat| cat.rows.get(i as usize))
                        .and_then(|row| row.cells.get(col))
                        .cloned()
                        .ok_or_else(|| internal(span, "a catalog cell is missing"))
                })
            }
            NodeKind::CatalogGet(c, _) => {
                let c = *c;
                let r = self.row(n);
                Box::new(move |cx| Ok(Value::Row(c, r(cx)?)))
            }
            NodeKind::Table(t, keys) => self.table(*t, keys, span),
            NodeKind::If(branches, els) if !ty.is_numeric() => {
                let bs: Vec<(F<bool>, F<Value>)> = branches
                    .iter()
                    .map(|(c, t)| (self.boolean(c), self.val(t)))
                    .collect();
                let els = self.val(els);
                Box::new(move |cx| {
                    cx.tick(span)?;
                    for (c, t) in &bs {
                        if c(cx)? {
                            return t(cx);
                        }
                    }
                    els(cx)
                })
            }
            NodeKind::Match(s, table, arms) if !ty.is_numeric() => {
                let s = self.enm(s);
                let table = table.clone();
                let arms: Vec<F<Value>> = arms.iter().map(|a| self.val(a)).collect();
                Box::new(move |cx| {
                    cx.tick(span)?;
                    let i = s(cx)?;
                    match table.get(i as usize).and_then(|a| arms.get(*a as usize)) {
                        Some(a) => a(cx),
                        None => Err(internal(span, "a match has no arm for a value")),
                    }
                })
            }
            NodeKind::Let(slot, v, body) if !ty.is_numeric() => {
                let slot = *slot as usize;
                let v = self.val(v);
                let body = self.val(body);
                Box::new(move |cx| {
                    cx.tick(span)?;
                    let x = v(cx)?;
                    match cx.s.locals.get_mut(slot) {
                        Some(l) => *l = x,
                        None => return Err(internal(span, "unknown local")),
                    }
                    body(cx)
                })
            }
            NodeKind::Coalesce(a, b) if !ty.is_numeric() => {
                let (a, b) = (self.val(a), self.val(b));
                Box::new(move |cx| {
                    cx.tick(span)?;
                    match a(cx)? {
                        Value::None => b(cx),
                        v => Ok(v),
                    }
                })
            }
            NodeKind::CallFn(f, args) => {
                let f = *f as usize;
                let args: Vec<F<Value>> = args.iter().map(|a| self.val(a)).collect();
                Box::new(move |cx| {
                    cx.tick(span)?;
                    let ep = cx.ep;
                    let Some(func) = ep.fns.get(f) else {
                        return Err(internal(span, "unknown function"));
                    };
                    for (a, slot) in args.iter().zip(&func.params) {
                        let v = a(cx)?;
                        match cx.s.locals.get_mut(*slot as usize) {
                            Some(l) => *l = v,
                            None => return Err(internal(span, "unknown local")),
                        }
                    }
                    match &func.body {
                        Some(body) => crate::stack::guard(|| body(cx)),
                        None => Err(internal(span, "a function was not compiled")),
                    }
                })
            }
            NodeKind::List(items) => {
                let items: Vec<F<Value>> = items.iter().map(|a| self.val(a)).collect();
                Box::new(move |cx| {
                    cx.tick(span)?;
                    let mut out = Vec::with_capacity(items.len());
                    for i in &items {
                        out.push(i(cx)?);
                    }
                    Ok(Value::List(Arc::from(out)))
                })
            }
            NodeKind::ListOp(op, list, slot, body, kind) => {
                self.list_op(*op, list, *slot, body.as_deref(), *kind, span)
            }
            NodeKind::Call(b, kind, args) => self.val_call(*b, *kind, args, span),
            NodeKind::SeriesAt(s, y) => {
                let s = *s as usize;
                let y = self.num(y);
                Box::new(move |cx| {
                    cx.tick(span)?;
                    let year = int_of(y(cx)?, span)?;
                    let Some(series) = cx.rs.series.get(s) else {
                        return Err(internal(span, "unknown series"));
                    };
                    series_value(series, year, span).map(|d| d.0.clone())
                })
            }
            NodeKind::Adjust { amount, .. } => {
                let money = ty_of(amount).unwrap_optional() == &Type::Money;
                let f = self.num_inner(n);
                Box::new(move |cx| {
                    let d = f(cx)?;
                    Ok(if money {
                        Value::Money(Money(d))
                    } else {
                        Value::Decimal(d)
                    })
                })
            }
            NodeKind::Marginal(..) => {
                let f = self.num_inner(n);
                Box::new(move |cx| Ok(Value::Money(Money(f(cx)?))))
            }
            NodeKind::Cmp(..)
            | NodeKind::And(..)
            | NodeKind::Or(..)
            | NodeKind::Not(..)
            | NodeKind::CatalogHas(..)
            | NodeKind::InList(..) => {
                let f = self.bool_inner(n);
                Box::new(move |cx| Ok(Value::Bool(f(cx)?)))
            }
            _ if ty.is_numeric() => self.boxed_num(n),
            _ => err_node(internal(span, "an expression of no known form")),
        }
    }

    fn table(&mut self, t: u32, keys: &[Node], span: Span) -> F<Value> {
        let Some(table) = self.rs.tables.get(t as usize) else {
            return err_node(internal(span, "unknown table"));
        };
        let keys: Vec<F<Value>> = keys.iter().map(|k| self.val(k)).collect();
        let version = match in_force(&table.name, &table.versions, self.at, span) {
            Ok(v) => v,
            Err(_) => {
                let name = table.name.clone();
                let periods: Vec<_> = table.versions.iter().map(|v| v.period).collect();
                return Box::new(move |cx| {
                    for k in &keys {
                        k(cx)?;
                    }
                    Err(no_version(&name, span, cx.as_of, periods.iter().copied()))
                });
            }
        };
        let dense = Dense::build(table, &version.value, self.rs);
        let rows = version.value.clone();
        let vspan = version.span;
        let period = version.period;
        let name = table.name.clone();
        Box::new(move |cx| {
            cx.tick(span)?;
            let mut buf: [Option<Value>; 4] = [None, None, None, None];
            let mut kv: Vec<Value> = Vec::new();
            for (i, k) in keys.iter().enumerate() {
                let v = k(cx)?;
                match buf.get_mut(i) {
                    Some(b) if keys.len() <= 4 => *b = Some(v),
                    _ => kv.push(v),
                }
            }
            if keys.len() <= 4 {
                kv.extend(buf.iter_mut().take(keys.len()).filter_map(Option::take));
            }
            cx.charge(kv.iter().map(key_cost).sum(), span)?;
            let hit = match &dense {
                Some(d) => d.get(&kv),
                None => rows.get(&kv),
            };
            match hit {
                Some(v) => Ok(v.clone()),
                None => {
                    let shown: Vec<String> = kv
                        .iter()
                        .map(|k| crate::eval::fmt_value(k, cx.rs))
                        .collect();
                    Err(Box::new(
                        Diagnostic::new(
                            Code::TableKeyMissing,
                            span,
                            format!("table `{}` has no row for {}", name, shown.join(", ")),
                        )
                        .label("looked up here")
                        .with(vspan, format!("the version in force ({period})"))
                        .help("add a row for these keys, or check the claim's values"),
                    ))
                }
            }
        })
    }

    fn list_op(
        &mut self,
        op: ListOp,
        list: &Node,
        slot: u32,
        body: Option<&Node>,
        kind: NumKind,
        span: Span,
    ) -> F<Value> {
        let slot = slot as usize;
        let list = self.list(list);
        let body = body.map(|b| self.val(b));
        Box::new(move |cx| {
            cx.tick(span)?;
            let items = list(cx)?;
            let apply = |cx: &mut Cx<'_>, x: &Value| -> R<Value> {
                cx.tick(span)?;
                match &body {
                    Some(b) => {
                        match cx.s.locals.get_mut(slot) {
                            Some(l) => *l = x.clone(),
                            None => return Err(internal(span, "unknown local")),
                        }
                        b(cx)
                    }
                    None => Ok(x.clone()),
                }
            };
            builtins::list_op(cx, op, &items, body.is_some(), kind, span, apply)
        })
    }

    /// A built-in as a value: its numeric form reboxed when it has one that applies, else
    /// its registry entry's value form on the evaluated arguments (dates, `exists`, text).
    fn val_call(&mut self, b: Builtin, kind: NumKind, args: &[Node], span: Span) -> F<Value> {
        let Some(c) = builtins::call_of(b) else {
            return err_node(internal(span, "an unknown built-in"));
        };
        let numeric = match c.num {
            Some(NumForm::OfDate(_)) => args.len() == 1,
            Some(_) => args.iter().all(|a| ty_of(a).is_numeric()),
            None => false,
        };
        if numeric {
            let f = self.num_call(b, kind, args, span);
            return Box::new(move |cx| mk(kind, f(cx)?, span));
        }
        let vals: Vec<F<Value>> = args.iter().map(|a| self.val(a)).collect();
        let (value, cost) = (c.value, c.cost);
        Box::new(move |cx| {
            cx.tick(span)?;
            let mut v = Vec::with_capacity(vals.len());
            for f in &vals {
                v.push(f(cx)?);
            }
            let extra = cost(&v);
            if extra > 0 {
                cx.ticks(extra, span)?;
            }
            value(&v, kind, span)
        })
    }
}

fn as_bool(v: &Value, span: Span) -> R<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        _ => Err(internal(span, "a condition was expected")),
    }
}

fn int_of(d: Decimal, span: Span) -> R<i64> {
    i64::try_from(d).map_err(|_| internal(span, "an integer was expected"))
}

/// An integer result must stay an integer in range (as `eval::mk` makes it).
#[inline(always)]
fn check_int(kind: NumKind, d: Decimal, span: Span) -> R<Decimal> {
    if kind == NumKind::Int && d.fract().is_zero() && i64::try_from(d).is_err() {
        return Err(fail(Code::Overflow, span, "an integer overflows"));
    }
    Ok(d)
}

/// The key of a catalog look-up.
enum TextRef {
    Const(Arc<str>),
    Place(Option<u32>, Vec<u32>),
    Val(F<Value>),
}

impl TextRef {
    fn get(&self, cx: &mut Cx<'_>, span: Span) -> R<Arc<str>> {
        match self {
            TextRef::Const(t) => Ok(t.clone()),
            TextRef::Place(l, p) => match read_place(cx, *l, p) {
                Some(Value::Text(t)) => Ok(t.clone()),
                _ => Err(internal(span, "text was expected")),
            },
            TextRef::Val(f) => match f(cx)? {
                Value::Text(t) => Ok(t),
                _ => Err(internal(span, "text was expected")),
            },
        }
    }
}

/// Looks a code up in a catalog at the claim's date, through the worker's one-entry memo
/// per catalog (the line split asks for the same item's row several times in a row).
#[inline]
fn lookup(cx: &mut Cx<'_>, c: u32, key: &TextRef, span: Span) -> R<Option<u32>> {
    let rs = cx.rs;
    let Some(cat) = rs.catalogs.get(c as usize) else {
        return Err(internal(span, "unknown catalog"));
    };
    let owned;
    let k: &str = match key {
        TextRef::Const(t) => t,
        TextRef::Place(l, p) => match read_place(cx, *l, p) {
            Some(Value::Text(t)) => {
                owned = t.clone();
                &owned
            }
            _ => return Err(internal(span, "text was expected")),
        },
        TextRef::Val(f) => match f(cx)? {
            Value::Text(t) => {
                owned = t;
                &owned
            }
            _ => return Err(internal(span, "text was expected")),
        },
    };
    cx.charge(k.len() as u64 / 64, span)?;
    if let Some((last, row, valid)) = cx.s.memo.get(c as usize) {
        if *valid && last == k {
            return Ok(*row);
        }
    }
    let row = cat.lookup(k, cx.as_of);
    if let Some(m) = cx.s.memo.get_mut(c as usize) {
        m.0.clear();
        m.0.push_str(k);
        m.1 = row;
        m.2 = true;
    }
    Ok(row)
}

fn not_in_catalog(t: &str, cat: &ir::Catalog, as_of: Date, span: Span) -> Box<Diagnostic> {
    Box::new(
        Diagnostic::new(
            Code::CodeNotInCatalog,
            span,
            format!("code `{t}` is not in catalog `{}` on {as_of}", cat.name),
        )
        .label("looked up here")
        .help(format!(
            "test membership first: `if code in {} then … else …`",
            cat.name
        )),
    )
}

/// A table version as a dense array, when every key is an enum, a bool or a small int.
/// A key outside a dimension's extent is a miss, never another row.
struct Dense {
    /// Per key: its kind, the smallest int (0 for enums and bools), its extent and stride.
    dims: Vec<Dim>,
    cells: Vec<Option<Value>>,
}

#[derive(Clone, Copy)]
struct Dim {
    kind: DimKind,
    lo: i64,
    n: usize,
    stride: usize,
}

#[derive(Clone, Copy)]
enum DimKind {
    Enum,
    Bool,
    Int,
}

/// Largest dense table, in cells.
const MAX_DENSE: usize = 4096;

impl Dense {
    fn build(table: &ir::Table, rows: &ir::TableRows, rs: &Ruleset) -> Option<Dense> {
        let mut dims = Vec::new();
        let mut size = 1usize;
        for (i, k) in table.keys.iter().enumerate() {
            let (kind, lo, n) = match k {
                Type::Enum(e) => (DimKind::Enum, 0, rs.enums.get(*e as usize)?.variants.len()),
                Type::Bool => (DimKind::Bool, 0, 2),
                Type::Int => {
                    let ints = rows.keys().filter_map(|kv| match kv.get(i) {
                        Some(Value::Int(x)) => Some(*x),
                        _ => None,
                    });
                    let (lo, hi) =
                        ints.fold((i64::MAX, i64::MIN), |(a, b), x| (a.min(x), b.max(x)));
                    if lo > hi {
                        return None;
                    }
                    let n = usize::try_from(hi.checked_sub(lo)?.checked_add(1)?).ok()?;
                    (DimKind::Int, lo, n)
                }
                _ => return None,
            };
            size = size.checked_mul(n)?;
            if size > MAX_DENSE {
                return None;
            }
            dims.push(Dim {
                kind,
                lo,
                n,
                stride: 0,
            });
        }
        // Strides, last key fastest.
        let mut stride = 1usize;
        for d in dims.iter_mut().rev() {
            d.stride = stride;
            stride = stride.checked_mul(d.n)?;
        }
        let mut dense = Dense {
            dims,
            cells: vec![None; size],
        };
        for (k, v) in rows {
            let i = dense.index(k)?;
            *dense.cells.get_mut(i)? = Some(v.clone());
        }
        Some(dense)
    }

    fn index(&self, keys: &[Value]) -> Option<usize> {
        if keys.len() != self.dims.len() {
            return None;
        }
        let mut i = 0usize;
        for (k, d) in keys.iter().zip(&self.dims) {
            let x = match (d.kind, k) {
                (DimKind::Enum, Value::Enum(_, v)) => *v as usize,
                (DimKind::Bool, Value::Bool(b)) => usize::from(*b),
                (DimKind::Int, Value::Int(v)) => usize::try_from(v.checked_sub(d.lo)?).ok()?,
                _ => return None,
            };
            if x >= d.n {
                return None;
            }
            i = i.checked_add(x.checked_mul(d.stride)?)?;
        }
        Some(i)
    }

    fn get(&self, keys: &[Value]) -> Option<&Value> {
        self.cells.get(self.index(keys)?)?.as_ref()
    }
}
