//! Differential test: the compiled evaluator (`compile.rs`) and the reference tree walker
//! (`eval.rs`) give identical settlements and identical errors on random claims, for every
//! shipped ruleset; and the compiled evaluator never reports an internal error (`E0739`).

use rulec::api::{EvalOptions, Ruleset};
use rulec::limits::Limits;
use serde_json::{json, Value as Json};

/// A small deterministic generator (SplitMix64), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const CODES: &[(&str, &str)] = &[
    ("XA001", "drug"),
    ("XA003", "drug"),
    ("XA005", "drug"),
    ("XA006", "drug"),
    ("XC001", "drug"),
    ("ZL001", "service"),
    ("ZL004", "service"),
    ("ZL005", "service"),
    ("ZL010", "service"),
    ("ZL012", "service"),
    ("ZL020", "service"),
    ("ZL021", "service"),
    ("ZL022", "service"),
    ("ZL024", "service"),
    ("CW001", "facility"),
    ("HC002", "material"),
    ("GH001", "registration"),
    ("GH002", "registration"),
    ("JL-YP-001", "drug"),
    ("JL-ZJ-200", "drug"),
    ("JL-KL-319", "drug"),
    ("NOT-LISTED", "drug"),
];

const REGIONS: &[&str] = &[
    "shandong/binzhou",
    "shandong/qingdao",
    "jilin/changchun",
    "jilin/baishan",
    "beijing",
    "sichuan/chengdu",
    "sample/city",
];

const ACCUMULATORS: &[&str] = &[
    "outpatient_deductible_paid",
    "outpatient_pooling_paid",
    "basic_paid",
    "critical_illness_base",
    "critical_illness_paid",
    "medical_assistance_paid",
    "mutual_aid_paid",
    "prenatal_paid",
];

fn money(r: &mut Rng, max_cents: u64) -> String {
    let c = r.below(max_cents);
    format!("{}.{:02}", c / 100, c % 100)
}

fn claim(r: &mut Rng, n: usize, fit: (&str, &str)) -> Json {
    let items: Vec<Json> = (0..r.below(12))
        .map(|_| {
            let (code, cat) = *r.pick(CODES);
            let qty = if r.chance(20) {
                format!("{}.5", r.below(4))
            } else {
                (1 + r.below(5)).to_string()
            };
            let price = if r.chance(5) {
                money(r, 50_000_000)
            } else {
                money(r, 200_000)
            };
            json!({ "code": code, "category": cat, "quantity": qty, "unit_price": price })
        })
        .collect();
    let year = if r.chance(80) {
        2024 + r.below(2)
    } else {
        2019 + r.below(8)
    };
    let date = format!("{year}-{:02}-{:02}", 1 + r.below(12), 1 + r.below(28));
    let region = *r.pick(REGIONS);
    let facility_region = if r.chance(80) {
        region
    } else {
        *r.pick(REGIONS)
    };
    let mut accs = serde_json::Map::new();
    for a in ACCUMULATORS {
        if r.chance(40) {
            accs.insert((*a).into(), json!(money(r, 50_000_000)));
        }
    }
    let mut c = json!({
        "claim_id": format!("D-{n}"),
        "settlement_date": date,
        "visit": r.pick(&["outpatient", "inpatient", "prenatal", "delivery"]),
        "insured": {
            "scheme": r.pick(&["employee", "resident"]),
            "status": r.pick(&["active", "retired"]),
            "region": region,
            "assistance": r.pick(&["none", "low_income", "extreme_poverty"]),
            "mutual_aid_member": r.chance(50),
            "union_card": r.chance(50),
        },
        "facility": { "level": 1 + r.below(3), "region": facility_region },
        "out_of_region_filed": r.chance(50),
        "admission_number": 1 + r.below(3),
        "diagnoses": if r.chance(30) { vec![*r.pick(&["U07.1", "U07.2", "J18.9"])] } else { vec![] },
        "payer_relationship": r.pick(&["self", "spouse", "parent", "child"]),
        "personal_account_balance": money(r, 500_000),
        "items": items,
        "accumulators": accs,
    });
    if r.chance(75) {
        // Mostly claims the ruleset covers, so that most settle.
        c["visit"] = json!(fit.0);
        c["insured"]["scheme"] = json!(fit.1);
    }
    if r.chance(70) {
        c["delivery_type"] = json!(r.pick(&["natural", "cesarean"]));
    }
    c
}

fn outcome(rs: &Ruleset, r: Result<rulec::eval::Settlement, rulec::api::Error>) -> String {
    match r {
        Ok(s) => rs.settlement_json(&s).to_string(),
        Err(e) => e.render_json(),
    }
}

/// A claim carries only the running totals its ruleset keeps (others are refused).
fn keep_own_accumulators(c: &mut Json, rs: &Ruleset) {
    if let Some(accs) = c.get_mut("accumulators").and_then(|a| a.as_object_mut()) {
        accs.retain(|k, _| rs.compiled().accumulators.iter().any(|a| a.name == *k));
    }
}

#[test]
fn compiled_and_reference_evaluators_agree_on_every_shipped_ruleset() {
    let dirs = [
        ("rulesets/china", ("outpatient", "employee")),
        ("rulesets/shandong", ("outpatient", "employee")),
        ("rulesets/shandong/binzhou", ("outpatient", "employee")),
        ("rulesets/shandong/qingdao", ("delivery", "employee")),
        ("rulesets/jilin", ("inpatient", "resident")),
        ("rulesets/jilin/changchun", ("inpatient", "employee")),
        ("rulesets/beijing", ("prenatal", "employee")),
        ("rulesets/sichuan/chengdu", ("prenatal", "resident")),
        ("rulesets/sample/city", ("outpatient", "employee")),
    ];
    let per_ruleset = 1_200;
    let mut r = Rng(0x5EED_2026);
    let (mut compared, mut settled) = (0, 0);
    for (dir, fit) in dirs {
        let rs = Ruleset::load_dir(dir, Limits::default())
            .unwrap_or_else(|e| panic!("{dir}: {}", e.render_human()));
        let opts = EvalOptions::default();
        for n in 0..per_ruleset {
            let mut c = claim(&mut r, n, fit);
            keep_own_accumulators(&mut c, &rs);
            let fast = outcome(&rs, rs.evaluate(&c, &opts));
            let slow = outcome(&rs, rs.evaluate_reference(&c, &opts));
            assert!(
                !fast.contains("E0739"),
                "{dir}: internal error on claim {c}:\n{fast}"
            );
            assert_eq!(fast, slow, "{dir}: the evaluators disagree on claim {c}");
            compared += 1;
            if !fast.contains("\"error\"") && !fast.starts_with('[') {
                settled += 1;
            }
        }
    }
    assert!(compared >= 10_000);
    // Many claims must settle, or the comparison says little (china and shandong cover
    // no claims of their own: every claim there is the coverage error).
    assert!(
        settled * 2 >= compared,
        "only {settled} of {compared} settled"
    );
}

/// One hostile change to a claim's JSON: a wrong type, a null, a missing or unknown field,
/// a negative or inexact number, a running total of the wrong shape.
fn mutate(r: &mut Rng, c: &mut Json) {
    let odd = [
        json!(null),
        json!(true),
        json!(-1),
        json!("-0.5"),
        json!("1e3"),
        json!(1.5),
        json!("abc"),
        json!([]),
        json!({}),
        json!({ "x": [1, { "y": null }] }),
        json!(12345678901234567890u64),
        json!("99999999999999999999999999999999"),
        json!("50%"),
        json!("2024-02-30"),
        json!("0.001"),
        json!(12.34567),
        json!("1.20000"),
    ];
    let Some(o) = c.as_object_mut() else { return };
    match r.below(6) {
        0 => {
            let keys: Vec<String> = o.keys().cloned().collect();
            let k = r.pick(&keys).clone();
            o.insert(k, r.pick(&odd).clone());
        }
        1 => {
            let keys: Vec<String> = o.keys().cloned().collect();
            let k = r.pick(&keys).clone();
            o.shift_remove(&k);
        }
        2 => {
            o.insert("unknown_field".into(), r.pick(&odd).clone());
        }
        3 => {
            if let Some(Json::Array(items)) = o.get_mut("items") {
                if let Some(Json::Object(it)) = items.first_mut() {
                    let k = r.pick(&["code", "category", "quantity", "unit_price", "extra"]);
                    it.insert((*k).into(), r.pick(&odd).clone());
                }
            }
        }
        4 => {
            if let Some(Json::Object(ins)) = o.get_mut("insured") {
                let k = r.pick(&["scheme", "status", "region", "assistance", "union_card"]);
                ins.insert((*k).into(), r.pick(&odd).clone());
            }
        }
        _ => {
            let v = if r.chance(50) {
                r.pick(&odd).clone()
            } else {
                json!({ *r.pick(ACCUMULATORS): r.pick(&odd).clone() })
            };
            o.insert("accumulators".into(), v);
        }
    }
}

/// Text-level damage that a JSON value cannot express.
fn damage(r: &mut Rng, text: &str) -> Vec<u8> {
    match r.below(5) {
        0 => text.as_bytes()[..text.len() / 2].to_vec(),
        1 => format!("{text} x").into_bytes(),
        2 => text
            .replacen("\"visit\":", "\"visit\":\"inpatient\",\"visit\":", 1)
            .into_bytes(),
        3 => text
            .replacen("\"code\":", "\"extra\":{\"a\":1,\"a\":2},\"code\":", 1)
            .into_bytes(),
        _ => {
            let mut b = text.as_bytes().to_vec();
            if let Some(i) = text.find("\"claim_id\":\"") {
                b.insert(i + 12, 0xFF);
            }
            b
        }
    }
}

#[test]
fn byte_decoder_and_tree_reader_agree_and_settlements_write_byte_identical() {
    let dirs = [
        ("rulesets/shandong/binzhou", ("outpatient", "employee")),
        ("rulesets/jilin", ("inpatient", "resident")),
        ("rulesets/beijing", ("prenatal", "employee")),
        ("rulesets/sichuan/chengdu", ("prenatal", "resident")),
        ("rulesets/sample/city", ("outpatient", "employee")),
    ];
    let mut r = Rng(0xB17E_5EED);
    let (mut settled, mut refused, mut compared) = (0, 0, 0);
    let mut buf = Vec::new();
    for (dir, fit) in dirs {
        let rs = Ruleset::load_dir(dir, Limits::default())
            .unwrap_or_else(|e| panic!("{dir}: {}", e.render_human()));
        let opts = EvalOptions::default();
        for n in 0..600 {
            let mut c = claim(&mut r, n, fit);
            keep_own_accumulators(&mut c, &rs);
            if r.chance(40) {
                mutate(&mut r, &mut c);
            }
            let text = c.to_string();
            let bytes = if r.chance(10) {
                damage(&mut r, &text)
            } else {
                text.into_bytes()
            };
            let tree = match std::str::from_utf8(&bytes) {
                Ok(t) => rs.parse_claim(t).and_then(|j| rs.evaluate(&j, &opts)),
                Err(_) => rs.evaluate_bytes(&bytes, &opts),
            };
            let fast = rs.evaluate_bytes(&bytes, &opts);
            let shown = String::from_utf8_lossy(&bytes);
            match (&fast, &tree) {
                (Ok(a), Ok(b)) => {
                    let want = rs.settlement_json(b).to_string();
                    assert_eq!(rs.settlement_json(a).to_string(), want, "{dir}: {shown}");
                    buf.clear();
                    rs.write_settlement(a, &mut buf);
                    assert_eq!(String::from_utf8_lossy(&buf), want, "{dir}: written");
                    buf.clear();
                    rs.write_settlement_pretty(a, &mut buf);
                    let pretty =
                        serde_json::to_string_pretty(&rs.settlement_json(b)).expect("serializes");
                    assert_eq!(String::from_utf8_lossy(&buf), pretty, "{dir}: pretty");
                    // The decoded values themselves, not only what they settle to.
                    let limits = Limits::default();
                    let decoded = rulec::claim::decode(rs.compiled(), &limits, &bytes)
                        .expect("decodes")
                        .expect("the shipped input shape is decoded from bytes");
                    let j = rs
                        .parse_claim(std::str::from_utf8(&bytes).expect("utf-8"))
                        .expect("parses");
                    let ty = &rs.compiled().input.as_ref().expect("input").1;
                    let read = rulec::claim::Reader::new(rs.compiled(), &limits)
                        .read(&j, ty, &mut String::new(), 0)
                        .expect("reads");
                    assert_eq!(decoded.input, read, "{dir}: {shown}");
                    settled += 1;
                }
                (Err(a), Err(b)) => {
                    assert_eq!(a.render_json(), b.render_json(), "{dir}: {shown}");
                    assert_eq!(a.is_malformed_claim(), b.is_malformed_claim(), "{dir}");
                    refused += 1;
                }
                _ => {
                    panic!(
                    "{dir}: the byte decoder and the tree reader disagree on {shown}:\n{:?}\n{:?}",
                    fast.as_ref().map(|s| rs.settlement_json(s)).map_err(|e| e.render_json()),
                    tree.as_ref().map(|s| rs.settlement_json(s)).map_err(|e| e.render_json()),
                )
                }
            }
            compared += 1;
        }
    }
    assert_eq!(compared, 3_000);
    assert!(settled >= 1_000, "only {settled} settled");
    assert!(refused >= 500, "only {refused} refused");
}
