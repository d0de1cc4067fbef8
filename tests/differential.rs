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
            let c = claim(&mut r, n, fit);
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
