//! Claim decoding and settlement encoding, apart from evaluation: what a JSON Lines batch
//! spends around the evaluator. The ruleset is the shipped `rulesets/jilin`; the claim is a
//! resident inpatient claim of 40 items (the batch of issue 9).
//!
//! - `decode/*`: claim text to the values of the declared input.
//! - `encode/*`: a settlement to its JSON line.
//! - `line/*`: one JSON line in, one JSON line out (decode, settle, encode).
//!
//! `*_tree_*`/`*json*` are the paths through a `serde_json::Value` (the claim tree, the
//! settlement map); `bytes`/`write` are the byte paths (`claim::decode`,
//! `Ruleset::evaluate_bytes`, `Ruleset::write_settlement`).
//!
//! Run with `cargo bench --bench claim`. Figures go in docs/performance.md.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rulec::api::{EvalOptions, Ruleset};
use rulec::limits::Limits;

/// A Jilin resident inpatient claim with 40 items from the national catalog, one line.
pub fn claim_text() -> String {
    let codes = [
        "XA001", "XA002", "XA003", "XA004", "XA005", "XA006", "XC001", "ZL001", "ZL002", "ZL003",
        "ZL004", "ZL005", "ZL006", "ZL010", "ZL011", "ZL012", "ZL013", "ZL020", "ZL021", "HC001",
    ];
    let cats = ["drug", "service", "material", "facility"];
    let items: Vec<String> = (0..40)
        .map(|k| {
            format!(
                r#"{{"code":"{}","category":"{}","quantity":"{}","unit_price":"{}.{:02}"}}"#,
                codes[k % codes.len()],
                cats[k % 4],
                1 + k % 3,
                50 + k * 37,
                k % 100
            )
        })
        .collect();
    format!(
        r#"{{"claim_id":"JL-2024-000001","settlement_date":"2024-06-10","visit":"inpatient","insured":{{"id":"P000001","scheme":"resident","status":"active","region":"jilin/changchun"}},"facility":{{"level":2,"region":"jilin/changchun"}},"items":[{}],"accumulators":{{"basic_paid":"1200.00"}}}}"#,
        items.join(",")
    )
}

fn bench(c: &mut Criterion) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rulesets/jilin");
    let rs = Ruleset::load_dir(&dir, Limits::default())
        .unwrap_or_else(|e| panic!("{}", e.render_human()));
    let text = claim_text();
    let opts = EvalOptions::default();
    let settlement = rs
        .evaluate_str(&text, &opts)
        .unwrap_or_else(|e| panic!("{}", e.render_human()));
    let limits = Limits::default();
    let Some((_, ty)) = rs.compiled().input.clone() else {
        panic!("the ruleset declares its input")
    };

    let mut g = c.benchmark_group("claim_40_items");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode/json_tree_then_values", |b| {
        b.iter(|| {
            let j = rs.parse_claim(std::hint::black_box(&text)).expect("parses");
            rulec::claim::Reader::new(rs.compiled(), &limits)
                .read(&j, &ty, &mut String::new(), 0)
                .expect("fits")
        })
    });
    g.bench_function("decode/bytes_to_values", |b| {
        b.iter(|| {
            rulec::claim::decode(
                rs.compiled(),
                &limits,
                std::hint::black_box(text.as_bytes()),
            )
            .expect("fits")
            .expect("decoded from bytes")
        })
    });
    g.bench_function("encode/settlement_json_to_string", |b| {
        b.iter(|| {
            rs.settlement_json(std::hint::black_box(&settlement))
                .to_string()
        })
    });
    let mut buf = Vec::with_capacity(4096);
    g.bench_function("encode/write_settlement_reused_buffer", |b| {
        b.iter(|| {
            buf.clear();
            rs.write_settlement(std::hint::black_box(&settlement), &mut buf);
            buf.len()
        })
    });
    g.bench_function("line/evaluate_bytes_then_write", |b| {
        b.iter(|| {
            let s = rs
                .evaluate_bytes(std::hint::black_box(text.as_bytes()), &opts)
                .expect("settles");
            buf.clear();
            rs.write_settlement(&s, &mut buf);
            buf.len()
        })
    });
    g.bench_function("line/parse_tree_evaluate_then_json", |b| {
        b.iter(|| {
            let j = rs.parse_claim(std::hint::black_box(&text)).expect("parses");
            let s = rs.evaluate(&j, &opts).expect("settles");
            rs.settlement_json(&s).to_string()
        })
    });
    g.bench_function("line/evaluate_str_then_json", |b| {
        b.iter(|| {
            let s = rs
                .evaluate_str(std::hint::black_box(&text), &opts)
                .expect("settles");
            rs.settlement_json(&s).to_string()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
