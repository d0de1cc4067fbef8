//! One compiled ruleset evaluated from 8 threads over 10,000 claims gives exactly the
//! results of sequential evaluation.

use rulec::api::{EvalOptions, Ruleset};
use rulec::limits::Limits;
use serde_json::{json, Value as Json};

fn claims(n: usize) -> Vec<Json> {
    let codes = [
        "ZL006",
        "XA003",
        "ZL004",
        "XC001",
        "JL-YP-001",
        "ZL022",
        "CW001",
        "NOPE",
    ];
    (0..n)
        .map(|k| {
            let items: Vec<Json> = (0..(k % 6 + 1))
                .map(|j| json!({ "code": codes[(k + j) % codes.len()], "category": "service", "quantity": format!("{}", 1 + j % 3), "unit_price": format!("{}.{:02}", 10 + (k * 37 + j * 101) % 20_000, k % 100) }))
                .collect();
            json!({
                "claim_id": format!("C{k}"),
                "settlement_date": if k % 3 == 0 { "2023-11-01" } else { "2024-06-10" },
                "visit": "inpatient",
                "admission_number": 1 + k % 2,
                "insured": { "scheme": if k % 4 == 0 { "employee" } else { "resident" }, "status": if k % 5 == 0 { "retired" } else { "active" },
                             "region": "jilin/changchun", "assistance": (["none", "low_income", "extreme_poverty"][k % 3]),
                             "mutual_aid_member": k % 2 == 0, "union_card": k % 7 == 0 },
                "facility": { "level": 1 + k % 3, "region": if k % 11 == 0 { "beijing" } else { "jilin/changchun" } },
                "items": items,
                "accumulators": { "basic_paid": format!("{}", (k * 977) % 200_000), "critical_illness_base": format!("{}", (k * 1_313) % 120_000) }
            })
        })
        .collect()
}

#[test]
fn eight_threads_agree_with_sequential_evaluation() {
    let rs = Ruleset::load_dir("rulesets/jilin/changchun", Limits::default()).expect("loads");
    let claims = claims(10_000);
    let settle = |c: &Json| match rs.evaluate(c, &EvalOptions::default()) {
        Ok(s) => rs.settlement_json(&s),
        Err(e) => json!({ "error": e.to_json() }),
    };
    let sequential: Vec<Json> = claims.iter().map(settle).collect();
    assert!(
        sequential
            .iter()
            .filter(|j| j.get("error").is_none())
            .count()
            > 9_000
    );
    let parallel: Vec<Vec<(usize, Json)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let (claims, settle) = (&claims, &settle);
                // Each thread takes every 8th claim, starting at its own offset, so all
                // threads work on the shared ruleset at the same time.
                s.spawn(move || {
                    (t..claims.len())
                        .step_by(8)
                        .map(|i| (i, settle(&claims[i])))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let mut seen = 0;
    for part in parallel {
        for (i, j) in part {
            assert_eq!(j, sequential[i], "claim {i}");
            seen += 1;
        }
    }
    assert_eq!(seen, 10_000);
}
