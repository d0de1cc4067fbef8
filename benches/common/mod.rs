//! The bench ruleset (40-item inpatient claims, three fund layers, accumulators, a
//! 50,000-row catalog), its claims, and the same rules written by hand in Rust: shared by
//! `benches/eval.rs` (one claim) and `benches/batch.rs` (JSON Lines end to end).

#![allow(dead_code)]

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub const RULES: &str = r#"
ruleset "bench/inpatient"
enum Class { A, B, C }
enum Category { drug, service, material, facility, registration }
enum Status { active, retired }
enum Assistance { none, low_income, extreme_poverty }
record Item { code: text, category: Category, quantity: decimal, unit_price: money }
record Insured { status: Status, assistance: Assistance = none }
record Claim { claim_id: text?, settlement_date: date, admission_number: int = 1, level: int, insured: Insured, items: list<Item> }
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

pub const RULES_BODY: &str = r#"
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

pub const ROWS: usize = 50_000;

pub fn code(i: usize) -> String {
    format!("C{i:06}")
}

pub fn class_of(i: usize) -> (&'static str, &'static str, &'static str) {
    match i % 5 {
        0 => ("A", "", ""),
        1 => ("B", "10%", ""),
        2 => ("B", "20%", "300.00"),
        3 => ("C", "", ""),
        _ => ("A", "", "150.00"),
    }
}

/// Writes the bench ruleset into `dir/inpatient` (its header, `ruleset "bench/inpatient"`,
/// names its directory) and returns that directory.
pub fn setup(dir: &Path) -> PathBuf {
    let dir = &dir.join("inpatient");
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

/// A settlement's figures, computed by hand.
pub struct Figures {
    pub total: Decimal,
    pub self_pay: Decimal,
    pub pre: Decimal,
    pub eligible: Decimal,
    pub basic: Decimal,
    pub ci: Decimal,
    pub ma: Decimal,
    /// basic_paid, ci_base, ci_paid, ma_paid after the claim.
    pub acc: [Decimal; 4],
}

pub struct Native {
    cat: HashMap<String, Row>,
}

pub fn r2(x: Decimal) -> Decimal {
    x.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

pub fn dec(j: &Json) -> Decimal {
    match j {
        Json::String(s) => s.parse().unwrap_or_default(),
        other => other.to_string().parse().unwrap_or_default(),
    }
}

impl Native {
    pub fn new() -> Native {
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

    /// The settlement's figures.
    pub fn figures(&self, c: &Json) -> Figures {
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
        Figures {
            total,
            self_pay,
            pre,
            eligible,
            basic,
            ci,
            ma,
            acc: [
                acc("basic_paid") + basic,
                acc("ci_base") + eligible - basic,
                acc("ci_paid") + ci,
                acc("ma_paid") + ma,
            ],
        }
    }

    /// The key figures as JSON.
    pub fn settle(&self, c: &Json) -> Json {
        let f = self.figures(c);
        let fund_pays = f.basic + f.ci + f.ma;
        json!({ "total": f.total.to_string(), "eligible": f.eligible.to_string(), "basic": f.basic.to_string(),
                "critical_illness": f.ci.to_string(), "medical_assistance": f.ma.to_string(),
                "patient_pays": (f.total - fund_pays).to_string() })
    }

    /// The whole settlement, shaped as rulec writes it (every output, `funds`,
    /// `accumulators`; amounts with two decimals), with the claim's `claim_id` first.
    pub fn settle_full(&self, c: &Json) -> Json {
        let f = self.figures(c);
        let m = |x: Decimal| Json::String(format!("{:.2}", r2(x)));
        let fund_pays = f.basic + f.ci + f.ma;
        json!({
            "claim_id": c["claim_id"],
            "ruleset": "bench/inpatient", "as_of": c["settlement_date"],
            "total": m(f.total), "self_pay": m(f.self_pay), "pre_self_pay": m(f.pre),
            "eligible": m(f.eligible), "fund_pays": m(fund_pays), "patient_pays": m(f.total - fund_pays),
            "funds": { "basic": m(f.basic), "critical_illness": m(f.ci), "medical_assistance": m(f.ma) },
            "accumulators": { "basic_paid": m(f.acc[0]), "ci_base": m(f.acc[1]), "ci_paid": m(f.acc[2]), "ma_paid": m(f.acc[3]) }
        })
    }
}
