//! Settling one realistic inpatient claim three ways, side by side in one run:
//! (a) rulec's compiled ruleset, (b) the same computation by hand in Rust (the limit),
//! (c) the same rules as a Rhai script (what a Rust team would otherwise embed).
//! The claim has 40 items, three fund layers, accumulators and a 50,000-row catalog.
//!
//! Run with `cargo bench --bench eval`. Figures go in docs/performance.md.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rulec::api::{EvalOptions, Ruleset};
use rulec::limits::Limits;
use rust_decimal::Decimal;
use serde_json::Value as Json;

mod common;
use common::*;

// ---------------------------------------------------------------- (c) Rhai

const RHAI: &str = r#"
fn r2(x) { round_half_up(x) }
let total = 0.0; let self_pay = 0.0; let pre = 0.0;
for it in claim.items {
    let q = it.quantity;
    let amount = r2(q * it.unit_price);
    total += amount;
    let row = cat[it.code];
    if row == () || row.class == "C" {
        self_pay += amount;
    } else {
        let cap = if row.price_cap == () { amount } else { r2(row.price_cap * q) };
        let base = if amount < cap { amount } else { cap };
        if amount > cap { self_pay += amount - cap; }
        if row.class == "B" { pre += r2(base * row.b_share); }
    }
}
let eligible = total - self_pay - pre;
let d = [200.0, 500.0, 800.0][claim.level - 1];
if claim.admission_number > 1 { d = r2(d / 2.0); }
let ded = if eligible < d { eligible } else { d };
let ratio = [0.85, 0.75, 0.60][claim.level - 1];
let basic = r2((eligible - ded) * ratio);
let room = 150000.0 - claim.accumulators.basic_paid;
if basic > room { basic = room; }
if basic < 0.0 { basic = 0.0; }
fn bands(x) {
    let t = 0.0;
    if x > 15000.0 { t += (if x < 50000.0 { x } else { 50000.0 } - 15000.0) * 0.60; }
    if x > 50000.0 { t += (if x < 100000.0 { x } else { 100000.0 } - 50000.0) * 0.65; }
    if x > 100000.0 { t += (x - 100000.0) * 0.70; }
    t
}
let base = claim.accumulators.ci_base;
let ci = r2(bands(base + eligible - basic) - bands(base));
let ci_room = 400000.0 - claim.accumulators.ci_paid;
if ci > ci_room { ci = ci_room; }
if ci < 0.0 { ci = 0.0; }
let rest = eligible - basic - ci;
let left = 50000.0 - claim.accumulators.ma_paid;
if left < 0.0 { left = 0.0; }
let ma = 0.0;
if claim.insured.assistance == "low_income" { ma = r2(rest * 0.70); }
if claim.insured.assistance == "extreme_poverty" { ma = rest; }
if ma > left { ma = left; }
let fund_pays = basic + ci + ma;
#{ total: total, eligible: eligible, basic: basic, critical_illness: ci, medical_assistance: ma, patient_pays: total - fund_pays }
"#;

struct RhaiRules {
    engine: rhai::Engine,
    ast: rhai::AST,
    cat: rhai::Dynamic,
}

impl RhaiRules {
    fn new() -> RhaiRules {
        let mut engine = rhai::Engine::new();
        engine.set_max_expr_depths(0, 0);
        engine.register_fn("round_half_up", |x: Decimal| r2(x));
        let ast = engine.compile(RHAI).expect("rhai compiles");
        let mut cat = rhai::Map::new();
        for i in 0..ROWS {
            let (c, s, p) = class_of(i);
            let mut row = rhai::Map::new();
            row.insert("class".into(), c.into());
            row.insert(
                "b_share".into(),
                s.strip_suffix('%')
                    .map(|x| {
                        rhai::Dynamic::from_decimal(
                            x.parse::<Decimal>().unwrap_or_default() / Decimal::ONE_HUNDRED,
                        )
                    })
                    .unwrap_or(rhai::Dynamic::UNIT),
            );
            row.insert(
                "price_cap".into(),
                if p.is_empty() {
                    rhai::Dynamic::UNIT
                } else {
                    rhai::Dynamic::from_decimal(p.parse().unwrap_or_default())
                },
            );
            cat.insert(code(i).into(), row.into());
        }
        let cat: rhai::Dynamic = cat.into();
        RhaiRules {
            engine,
            ast,
            cat: cat.into_shared(),
        }
    }

    /// Converts the claim (decimals from their text, as the other two do) and runs the script.
    fn settle(&self, c: &Json) -> rhai::Dynamic {
        fn conv(j: &Json) -> rhai::Dynamic {
            match j {
                Json::Null => rhai::Dynamic::UNIT,
                Json::Bool(b) => (*b).into(),
                Json::Number(n) => match n.as_i64() {
                    Some(i) => i.into(),
                    None => rhai::Dynamic::from_decimal(n.to_string().parse().unwrap_or_default()),
                },
                Json::String(s) => match s.parse::<Decimal>() {
                    Ok(d)
                        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') =>
                    {
                        rhai::Dynamic::from_decimal(d)
                    }
                    _ => s.clone().into(),
                },
                Json::Array(a) => a.iter().map(conv).collect::<Vec<_>>().into(),
                Json::Object(o) => o
                    .iter()
                    .map(|(k, v)| (k.as_str().into(), conv(v)))
                    .collect::<rhai::Map>()
                    .into(),
            }
        }
        let mut scope = rhai::Scope::new();
        scope.push("claim", conv(c));
        scope.push("cat", self.cat.clone());
        self.engine
            .eval_ast_with_scope::<rhai::Dynamic>(&mut scope, &self.ast)
            .expect("rhai runs")
    }
}

fn bench(c: &mut Criterion) {
    let dir = setup(&std::env::temp_dir().join("rulec-bench-eval"));
    let rs = Ruleset::load_dir(&dir, Limits::default())
        .unwrap_or_else(|e| panic!("{}", e.render_human()));
    let claim = claim();
    let native = Native::new();
    let rhai = RhaiRules::new();

    // The three agree before anything is timed.
    let a = rs.settlement_json(
        &rs.evaluate(&claim, &EvalOptions::default())
            .expect("rulec settles"),
    );
    let b = native.settle(&claim);
    let r = rhai.settle(&claim);
    for k in ["total", "eligible", "patient_pays"] {
        let want: Decimal = a[k].as_str().and_then(|s| s.parse().ok()).expect("decimal");
        assert_eq!(
            b[k].as_str().and_then(|s| s.parse::<Decimal>().ok()),
            Some(want),
            "native {k}"
        );
        let rv = r.clone().cast::<rhai::Map>().get(k).map(|d| d.to_string());
        assert_eq!(
            rv.and_then(|s| s.parse::<Decimal>().ok()),
            Some(want),
            "rhai {k}"
        );
    }
    for k in ["basic", "critical_illness", "medical_assistance"] {
        let want: Decimal = a["funds"][k]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("decimal");
        assert_eq!(
            b[k].as_str().and_then(|s| s.parse::<Decimal>().ok()),
            Some(want),
            "native {k}"
        );
    }

    let mut g = c.benchmark_group("settle_inpatient_40_items");
    g.throughput(Throughput::Elements(1));
    g.bench_function("a_rulec", |bch| {
        bch.iter(|| {
            rs.evaluate(std::hint::black_box(&claim), &EvalOptions::default())
                .expect("settles")
        })
    });
    g.bench_function("b_native", |bch| {
        bch.iter(|| native.settle(std::hint::black_box(&claim)))
    });
    g.bench_function("c_rhai", |bch| {
        bch.iter(|| rhai.settle(std::hint::black_box(&claim)))
    });
    g.bench_function("a_rulec_tree_walker", |bch| {
        bch.iter(|| {
            rs.evaluate_reference(std::hint::black_box(&claim), &EvalOptions::default())
                .expect("settles")
        })
    });
    g.bench_function("a_rulec_traced", |bch| {
        bch.iter(|| {
            rs.evaluate_traced(std::hint::black_box(&claim), &EvalOptions::default())
                .expect("settles")
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
