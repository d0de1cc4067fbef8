//! Settling one realistic inpatient claim three ways, side by side in one run:
//! (a) rulec's compiled ruleset, (b) the same computation by hand in Rust (the limit),
//! (c) the same rules as a Rhai script (what a Rust team would otherwise embed).
//! The claim has 40 items, three fund layers, accumulators and a 50,000-row catalog.
//!
//! Run with `cargo bench --bench eval`. Figures go in docs/performance.md.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rulec::api::{EvalOptions, Ruleset};
use rulec::limits::Limits;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const RULES: &str = r#"
ruleset "bench/inpatient"
enum Class { A, B, C }
enum Category { drug, service, material, facility, registration }
enum Status { active, retired }
enum Assistance { none, low_income, extreme_poverty }
record Item { code: text, category: Category, quantity: decimal, unit_price: money }
record Insured { status: Status, assistance: Assistance = none }
record Claim { settlement_date: date, admission_number: int = 1, level: int, insured: Insured, items: list<Item> }
input claim: Claim
as_of claim.settlement_date

catalog cat { code: text key, class: Class, b_share: rate?, price_cap: money? } from "cat.csv" cite assumed
table deductible(level: int): money { 1 => 200  2 => 500  3 => 800 }
table ratio(level: int): rate { 1 => 85%  2 => 75%  3 => 60% }
param basic_cap: money = 150_000 cite assumed
param ci_cap: money
  from 2020-01-01 until 2023-12-31 = 300_000 cite assumed
  from 2024-01-01 = 400_000 cite assumed
bands ci { 15_000 .. 50_000 => 60%  50_000 .. 100_000 => 65%  100_000 .. => 70% }

covers claim.level in [1, 2, 3]
accumulator basic_paid: money per year += basic
accumulator ci_base: money per year += eligible - basic
accumulator ci_paid: money per year += critical_illness
accumulator ma_paid: money per year += medical_assistance

"#;

const RULES_BODY: &str = r#"
output total: money = sum(claim.items, i => round(i.quantity * i.unit_price, 0.01, half_up))
output self_pay: money = sum(claim.items, i =>
  let amount = round(i.quantity * i.unit_price, 0.01, half_up);
  if not (i.code in cat) then amount
  else let row = cat[i.code];
       if row.class == C then amount
       else max(0, amount - round((row.price_cap ?? amount) * i.quantity, 0.01, half_up)))
output pre_self_pay: money = sum(filter(claim.items, i => i.code in cat), i =>
  let row = cat[i.code];
  let amount = round(i.quantity * i.unit_price, 0.01, half_up);
  let base = min(amount, round((row.price_cap ?? amount) * i.quantity, 0.01, half_up));
  match row.class { B => round(base * (row.b_share ?? 0%), 0.01, half_up), A | C => 0 })
output eligible: money = total - self_pay - pre_self_pay
def ded: money =
  let d = deductible[claim.level];
  min(eligible, if claim.admission_number > 1 then round(d / 2, 0.01, half_up) else d)
fund basic = max(0, min(round((eligible - ded) * ratio[claim.level], 0.01, half_up), basic_cap - basic_paid))
fund critical_illness = max(0, min(round(marginal(ci, ci_base + eligible - basic) - marginal(ci, ci_base), 0.01, half_up), ci_cap - ci_paid))
fund medical_assistance = match claim.insured.assistance {
  none => 0,
  low_income => limit(round((eligible - basic - critical_illness) * 70%, 0.01, half_up), 50_000, ma_paid),
  extreme_poverty => limit(eligible - basic - critical_illness, 50_000, ma_paid)
}
output fund_pays: money = basic + critical_illness + medical_assistance
output patient_pays: money = total - fund_pays
"#;

const ROWS: usize = 50_000;

fn code(i: usize) -> String {
    format!("C{i:06}")
}

fn class_of(i: usize) -> (&'static str, &'static str, &'static str) {
    match i % 5 {
        0 => ("A", "", ""),
        1 => ("B", "10%", ""),
        2 => ("B", "20%", "300.00"),
        3 => ("C", "", ""),
        _ => ("A", "", "150.00"),
    }
}

/// Writes the bench ruleset and returns its directory.
pub fn setup(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir");
    let rules = format!("{RULES}{RULES_BODY}");
    std::fs::write(dir.join("rules.rulec"), rules).expect("rules");
    let mut csv = String::from("code,class,b_share,price_cap\n");
    for i in 0..ROWS {
        let (c, s, p) = class_of(i);
        let _ = writeln!(csv, "{},{c},{s},{p}", code(i));
    }
    std::fs::write(dir.join("cat.csv"), csv).expect("csv");
    dir.to_path_buf()
}

/// The claim: 40 items, one not in the catalog, accumulators that cross a band.
pub fn claim() -> Json {
    let cats = ["drug", "service", "material", "facility"];
    let items: Vec<Json> = (0..40)
        .map(|k| {
            let c = if k == 39 { "NOT-LISTED".to_string() } else { code(k * 1237 % ROWS) };
            json!({ "code": c, "category": cats[k % 4], "quantity": format!("{}", 1 + k % 3), "unit_price": format!("{}.{:02}", 50 + k * 37, k % 100) })
        })
        .collect();
    json!({
        "settlement_date": "2024-06-10", "admission_number": 2, "level": 3,
        "insured": { "status": "retired", "assistance": "low_income" },
        "items": items,
        "accumulators": { "basic_paid": "148000", "ci_base": "45000", "ci_paid": "1000", "ma_paid": "0" }
    })
}

// ---------------------------------------------------------------- (b) native Rust

#[derive(Clone)]
struct Row {
    class: u8,
    b_share: Option<Decimal>,
    price_cap: Option<Decimal>,
}

struct Native {
    cat: HashMap<String, Row>,
}

fn r2(x: Decimal) -> Decimal {
    x.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

fn dec(j: &Json) -> Decimal {
    match j {
        Json::String(s) => s.parse().unwrap_or_default(),
        other => other.to_string().parse().unwrap_or_default(),
    }
}

impl Native {
    fn new() -> Native {
        let mut cat = HashMap::with_capacity(ROWS);
        for i in 0..ROWS {
            let (c, s, p) = class_of(i);
            let class = match c {
                "A" => 0,
                "B" => 1,
                _ => 2,
            };
            let b_share = s
                .strip_suffix('%')
                .map(|x| x.parse::<Decimal>().unwrap_or_default() / Decimal::ONE_HUNDRED);
            let price_cap = (!p.is_empty()).then(|| p.parse().unwrap_or_default());
            cat.insert(
                code(i),
                Row {
                    class,
                    b_share,
                    price_cap,
                },
            );
        }
        Native { cat }
    }

    fn settle(&self, c: &Json) -> Json {
        let level = c["level"].as_i64().unwrap_or(1);
        let admission = c["admission_number"].as_i64().unwrap_or(1);
        let acc = |k: &str| dec(&c["accumulators"][k]);
        let (mut total, mut self_pay, mut pre) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
        for it in c["items"].as_array().into_iter().flatten() {
            let q = dec(&it["quantity"]);
            let amount = r2(q * dec(&it["unit_price"]));
            total += amount;
            match it["code"].as_str().and_then(|k| self.cat.get(k)) {
                None => self_pay += amount,
                Some(r) if r.class == 2 => self_pay += amount,
                Some(r) => {
                    let cap = r2(r.price_cap.unwrap_or(amount) * q);
                    let base = amount.min(cap);
                    self_pay += (amount - cap).max(Decimal::ZERO);
                    if r.class == 1 {
                        pre += r2(base * r.b_share.unwrap_or_default());
                    }
                }
            }
        }
        let eligible = total - self_pay - pre;
        let d = [200, 500, 800][(level - 1).clamp(0, 2) as usize];
        let d = Decimal::from(d);
        let d = if admission > 1 {
            r2(d / Decimal::TWO)
        } else {
            d
        };
        let ded = eligible.min(d);
        let ratio = [
            Decimal::new(85, 2),
            Decimal::new(75, 2),
            Decimal::new(60, 2),
        ][(level - 1).clamp(0, 2) as usize];
        let basic = r2((eligible - ded) * ratio)
            .min(Decimal::from(150_000) - acc("basic_paid"))
            .max(Decimal::ZERO);
        let bands = [
            (15_000, Some(50_000), 60),
            (50_000, Some(100_000), 65),
            (100_000, None, 70),
        ];
        let f = |x: Decimal| {
            let mut t = Decimal::ZERO;
            for (lo, hi, r) in bands {
                let lo = Decimal::from(lo);
                if x <= lo {
                    break;
                }
                let top = hi.map(|h| x.min(Decimal::from(h))).unwrap_or(x);
                t += (top - lo) * Decimal::new(r, 2);
            }
            t
        };
        let base = acc("ci_base");
        let ci = r2(f(base + eligible - basic) - f(base))
            .min(Decimal::from(400_000) - acc("ci_paid"))
            .max(Decimal::ZERO);
        let rest = eligible - basic - ci;
        let left = (Decimal::from(50_000) - acc("ma_paid")).max(Decimal::ZERO);
        let ma = match c["insured"]["assistance"].as_str() {
            Some("low_income") => r2(rest * Decimal::new(70, 2)).min(left),
            Some("extreme_poverty") => rest.min(left),
            _ => Decimal::ZERO,
        };
        let fund_pays = basic + ci + ma;
        json!({ "total": total.to_string(), "eligible": eligible.to_string(), "basic": basic.to_string(),
                "critical_illness": ci.to_string(), "medical_assistance": ma.to_string(),
                "patient_pays": (total - fund_pays).to_string() })
    }
}

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
