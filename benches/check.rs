//! `rulec check` on a generated ruleset: a 200,000-row catalog and 2,000 definitions.
//! Target: under 300 ms on the 2-core reference machine. Run with `cargo bench --bench check`.

use criterion::{criterion_group, criterion_main, Criterion};
use rulec::limits::Limits;
use rulec::project::check_paths;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Writes the generated ruleset and returns its directory.
pub fn generate(dir: &Path, rows: usize, defs: usize) -> PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir");
    let mut rules = String::from(
        "ruleset \"generated\"\n\
         enum Class { A, B, C }\n\
         enum Category { drug, service, material }\n\
         enum Status { active, retired }\n\
         record Item { code: text, quantity: decimal, unit_price: money }\n\
         record Claim { settlement_date: date, level: int, status: Status, items: list<Item> }\n\
         input claim: Claim\n\
         as_of claim.settlement_date\n\
         catalog items { code: text key, name: text, category: Category, class: Class, b_share: rate?, price_cap: money? } from \"items.csv\" cite assumed\n\
         param deductible: money\n  from 2023-01-01 = 200 cite assumed\n  from 2024-01-01 = 250 cite assumed\n\
         table ratio(level: int, status: Status): rate {\n  1, active => 80%  1, retired => 85%\n  2, active => 75%  2, retired => 80%\n  3, active => 65%  3, retired => 70%\n}\n\
         def d0: money = sum(filter(claim.items, i => i.code in items), i => round(i.quantity * i.unit_price, 0.01, half_up))\n",
    );
    for i in 1..defs {
        let prev = i - 1;
        let body = match i % 4 {
            0 => format!("max(0, d{prev} - deductible)"),
            1 => format!("round(d{prev} * ratio[claim.level, claim.status], 0.01, half_up)"),
            2 => format!("if d{prev} > 1000 then d{prev} - 1000 else d{prev}"),
            _ => format!("match claim.status {{ active => d{prev}, retired => d{prev} + 10 }}"),
        };
        let _ = writeln!(rules, "def d{i}: money = {body}");
    }
    let _ = writeln!(rules, "output result: money = d{}", defs.saturating_sub(1));
    std::fs::write(dir.join("rules.rulec"), rules).expect("write rules");
    let mut csv = String::with_capacity(rows * 60);
    csv.push_str("code,name,category,class,b_share,price_cap,valid_from\n");
    for r in 0..rows {
        let (class, share) = match r % 3 {
            0 => ("A", ""),
            1 => ("B", "10%"),
            _ => ("C", ""),
        };
        let cat = ["drug", "service", "material"][r % 3];
        let cap = if r % 5 == 0 { "300.00" } else { "" };
        let from = if r % 7 == 0 { "2024-01-01" } else { "" };
        let _ = writeln!(csv, "X{r:07},项目{r},{cat},{class},{share},{cap},{from}");
    }
    std::fs::write(dir.join("items.csv"), csv).expect("write csv");
    dir.to_path_buf()
}

#[allow(
    dead_code,
    reason = "unused when the generator is included by a profiling example"
)]
fn bench(c: &mut Criterion) {
    let dir = generate(
        &std::env::temp_dir()
            .join("rulec-bench-check")
            .join("generated"),
        200_000,
        2_000,
    );
    let report = check_paths(std::slice::from_ref(&dir), Limits::default()).expect("check runs");
    assert!(
        !report.diags.has_errors(),
        "generated ruleset must check: {:?}",
        report.diags.sorted().first()
    );
    let mut g = c.benchmark_group("check");
    g.sample_size(10).measurement_time(Duration::from_secs(30));
    g.bench_function("200k_rows_2000_defs", |b| {
        b.iter(|| check_paths(std::slice::from_ref(&dir), Limits::default()).expect("check runs"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
