//! Hostile inputs: every one gives diagnostics with spans inside the file, and nothing
//! panics, hangs or overflows the stack.

use rulec::limits::Limits;
use rulec::project::{check_paths, check_sources, CheckReport};
use std::path::PathBuf;
use std::process::Command;

fn assert_spanned(report: &CheckReport, what: &str) {
    let diags = report.diags.sorted();
    assert!(
        report.diags.has_errors(),
        "{what}: expected an error, got {diags:?}"
    );
    for d in &diags {
        let span = d
            .span
            .unwrap_or_else(|| panic!("{what}: diagnostic without a span: {d:?}"));
        let len = report.map.get(span.file).map(|f| f.text.len()).unwrap_or(0);
        assert!(
            span.start <= span.end && span.end as usize <= len,
            "{what}: span {span:?} outside a file of {len} bytes"
        );
    }
}

fn check_text(name: &str, text: &str) -> CheckReport {
    check_sources(
        name,
        &[(format!("{name}.rulec"), text.to_string())],
        Limits::default(),
    )
    .expect("checker ran")
}

#[test]
fn static_corpus_fails_cleanly() {
    let mut n = 0;
    for entry in std::fs::read_dir("tests/hostile").expect("corpus") {
        let path = entry.expect("entry").path();
        let report = check_paths(std::slice::from_ref(&path), Limits::default()).expect("readable");
        assert_spanned(&report, &path.display().to_string());
        n += 1;
    }
    assert!(n >= 10);
}

#[test]
fn binary_exits_1_without_panicking() {
    let exe = env!("CARGO_BIN_EXE_rulec");
    for name in [
        "empty.rulec",
        "binary.rulec",
        "invalid_utf8.rulec",
        "bad_date.rulec",
        "huge_number.rulec",
    ] {
        let out = Command::new(exe)
            .args(["check", &format!("tests/hostile/{name}")])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(1), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("rulec::E"), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
    let out = Command::new(exe)
        .args(["check", "tests/hostile/no-such-file.rulec"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(exe)
        .args(["check", "--format", "yaml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn hundred_thousand_nested_brackets() {
    for (open, close) in [("(", ")"), ("[", "]"), ("{", "}")] {
        let text = format!(
            "output o: int = {}1{}",
            open.repeat(100_000),
            close.repeat(100_000)
        );
        assert_spanned(&check_text("nested", &text), "nested brackets");
    }
    let text = format!(
        "record R {{ a: {}int{} }}",
        "list<".repeat(100_000),
        ">".repeat(100_000)
    );
    assert_spanned(&check_text("nested_types", &text), "nested list types");
    let text = format!(
        "output o: int = {}1",
        "if true then 1 else ".repeat(100_000)
    );
    assert_spanned(&check_text("if_chain", &text), "else-if chain");
    let text = format!("output o: int = {}1", "if if ".repeat(50_000));
    assert_spanned(&check_text("nested_if", &text), "nested if");
    let text = format!("output o: bool = {}true", "not ".repeat(100_000));
    assert_spanned(&check_text("not_chain", &text), "not chain");
    let text = format!("output o: int = {}1", "- ".repeat(100_000));
    assert_spanned(&check_text("neg_chain", &text), "negation chain");
}

#[test]
fn ten_megabyte_lines() {
    let ten_mb = 10 * 1024 * 1024;
    let text = "a".repeat(ten_mb);
    assert_spanned(&check_text("letters", &text), "10 MB of letters");
    let text = format!("output o: int = 1{}", " + 1".repeat(ten_mb / 4));
    assert_spanned(&check_text("sum_chain", &text), "10 MB sum");
    let text = format!("output o: int = claim{}", ".a".repeat(ten_mb / 2));
    assert_spanned(&check_text("field_chain", &text), "10 MB field chain");
    let text = format!("param p: money = {} cite assumed", "9".repeat(ten_mb));
    assert_spanned(&check_text("long_number", &text), "10 MB number");
    let text = format!(
        "source s \"{}\"\nparam p: money = 1 cite t",
        "中".repeat(ten_mb / 3)
    );
    assert_spanned(&check_text("long_string", &text), "10 MB string");
}

#[test]
fn every_prefix_of_a_real_rule_file() {
    let path = PathBuf::from("rulesets/sample/city/pooling.rulec");
    let text = std::fs::read_to_string(&path).expect("sample ruleset");
    let mut cuts: Vec<usize> = (0..text.len()).step_by(3).collect();
    cuts.push(text.len() - 1);
    let mut failures = 0;
    for cut in cuts {
        if !text.is_char_boundary(cut) {
            continue;
        }
        let prefix = &text[..cut];
        let report = check_text("prefix", prefix);
        // A prefix may happen to be valid (it ends between declarations); it may never
        // panic, and every diagnostic it gives must point inside the text.
        for d in report.diags.sorted() {
            if let Some(s) = d.span {
                let len = report.map.get(s.file).map(|f| f.text.len()).unwrap_or(0);
                assert!(s.end as usize <= len, "cut at {cut}: span outside the file");
            }
        }
        failures += usize::from(report.diags.has_errors());
    }
    assert!(failures > 100, "most prefixes are incomplete: {failures}");
}

#[test]
fn garbage_and_random_bytes() {
    // A deterministic stream of bytes from a small LCG: no seed file, no dependency.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) as u8
    };
    let alphabet = b"param def output fund (){}[]<>=+-*/%.,:;\"?|_ 0123456789 abc\n if then else match let in and or not from until 2024-01-01 80% cite";
    for _ in 0..300 {
        let len = usize::from(next()) * 2;
        let bytes: Vec<u8> = (0..len)
            .map(|_| alphabet[usize::from(next()) % alphabet.len()])
            .collect();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let report = check_text("random", &text);
        for d in report.diags.sorted() {
            if let Some(s) = d.span {
                let flen = report.map.get(s.file).map(|f| f.text.len()).unwrap_or(0);
                assert!(s.end as usize <= flen);
            }
        }
    }
}

#[test]
fn keyword_glued_to_a_name_is_refused() {
    let report = check_text("glued", "paramx: money = 1 cite assumed\n");
    let diags = report.diags.sorted();
    assert_eq!(diags.first().map(|d| d.code.as_str()), Some("rulec::E0006"));
    assert!(diags
        .first()
        .is_some_and(|d| d.message.contains("`paramx`")));
    let report = check_text("override_glued", "override defx: money = 1\n");
    assert!(report.diags.has_errors());
}

#[test]
fn a_number_of_more_than_28_digits_is_refused_never_rounded() {
    // rust_decimal's `parse` would round these to 28 significant digits without a word.
    for (ty, lit) in [
        ("decimal", "1234567890123456789012345.12345678901234567890"),
        ("rate", "12345678901234567890123.12345678901234567890%"),
    ] {
        let text = format!("param p: {ty} = {lit} cite assumed\n");
        let report = check_text("long_number", &text);
        let codes: Vec<&str> = report
            .diags
            .sorted()
            .iter()
            .filter(|d| d.severity == rulec::diag::Severity::Error)
            .map(|d| d.code.as_str())
            .collect();
        assert_eq!(codes, ["rulec::E0008"], "{lit}");
    }
    // 28 digits are kept exactly.
    let report = check_text(
        "long_number_ok",
        "param p: decimal = 123456789012345678.9012345678 cite assumed\n",
    );
    assert!(!report.diags.has_errors(), "{:?}", report.diags.sorted());
}
