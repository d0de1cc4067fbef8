//! One cause gives one error, and the small gaps around checking: each test breaks a copy of
//! the shipped rulesets (or a small ruleset) in one place and asserts the exact code, at the
//! exact place, and that nothing else is reported as an error.

use rulec::diag::{Code, Diagnostic};
use rulec::limits::Limits;
use rulec::project::{check_paths, CheckReport};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh temporary directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rulec-one-cause-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        let p = e.path();
        let target = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target).expect("copy");
        }
    }
}

/// A copy of `rulesets/` with one replacement made in one file.
fn broken_rulesets(name: &str, file: &str, from: &str, to: &str) -> PathBuf {
    let root = scratch(name).join("rulesets");
    copy_dir(Path::new("rulesets"), &root);
    let path = root.join(file);
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains(from), "{file} does not contain {from:?}");
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
    root
}

fn check(path: &Path) -> CheckReport {
    check_paths(&[path.to_path_buf()], Limits::default()).expect("readable")
}

fn errors(report: &CheckReport) -> Vec<Diagnostic> {
    report
        .diags
        .sorted()
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect()
}

/// The file name, 1-based line and column, and text of a diagnostic's span.
fn place(report: &CheckReport, d: &Diagnostic) -> (String, usize, usize, String) {
    let span = d.span.expect("a span");
    let file = report.map.get(span.file).expect("file");
    let (line, col) = file.line_col(span.start);
    (file.name.clone(), line, col, file.slice(span).to_string())
}

fn render(report: &CheckReport) -> String {
    rulec::diag::render_human(&report.diags.sorted(), &report.map, false)
}

#[test]
fn one_full_width_colon_in_china_gives_exactly_one_error() {
    let root = broken_rulesets(
        "colon",
        "china/lines.rulec",
        "def line_amount(i: Item)",
        "def line_amount(i： Item)",
    );
    let report = check(&root);
    let errs = errors(&report);
    assert_eq!(errs.len(), 1, "{}", render(&report));
    let e = &errs[0];
    assert_eq!(e.code, Code::FullWidth);
    let (file, line, col, text) = place(&report, e);
    assert!(file.ends_with("china/lines.rulec"), "{file}");
    assert_eq!((line, col, text.as_str()), (27, 18, "："));
    assert_eq!(e.label, "write `:`");
    // Every other ruleset says once that it was not checked, naming china.
    let rest: Vec<_> = report
        .diags
        .sorted()
        .into_iter()
        .filter(|d| !d.is_error())
        .collect();
    assert_eq!(rest.len(), 7, "{}", render(&report));
    for d in &rest {
        assert_eq!(d.code, Code::ParentHasErrors);
        assert!(
            d.message.ends_with("its parent `china` has errors"),
            "{}",
            d.message
        );
    }
    assert_eq!(report.not_checked.len(), 7);
}

/// A misspelt CSV header (two letters swapped) is one cause: the undeclared column, with
/// "did you mean", and not also the declared column it fails to name.
#[test]
fn a_swapped_header_name_gives_one_error_with_a_suggestion() {
    let header = std::fs::read_to_string("rulesets/jilin/granules.csv")
        .expect("read")
        .lines()
        .next()
        .expect("a header")
        .to_string();
    assert!(header.starts_with("code,"), "{header}");
    let root = broken_rulesets("swapped", "jilin/granules.csv", "code,", "cdoe,");
    let report = check(&root.join("jilin"));
    let errs = errors(&report);
    assert_eq!(errs.len(), 1, "{}", render(&report));
    let e = &errs[0];
    assert_eq!(e.code, Code::CsvUnknownColumn);
    let (file, line, col, text) = place(&report, e);
    assert!(file.ends_with("jilin/granules.csv"), "{file}");
    assert_eq!((line, col, text.as_str()), (1, 1, "cdoe"));
    assert_eq!(
        e.help.as_deref(),
        Some("did you mean `code`? Rename the header or the column")
    );
}

#[test]
fn a_file_that_does_not_parse_raises_no_unknown_names() {
    // Without the closing parenthesis nothing of lines.rulec parses; china's other files and
    // every child use its functions and outputs.
    let root = broken_rulesets(
        "syntax",
        "china/lines.rulec",
        "def line_amount(i: Item)",
        "def line_amount(i: Item",
    );
    let report = check(&root);
    let errs = errors(&report);
    assert_eq!(errs.len(), 1, "{}", render(&report));
    assert_eq!(errs[0].code, Code::Syntax);
    let (file, line, ..) = place(&report, &errs[0]);
    assert!(file.ends_with("china/lines.rulec"), "{file}");
    assert_eq!(line, 27);
}

#[test]
fn a_parent_whose_only_file_does_not_parse_holds_its_children_back_without_a_cascade() {
    // Jilin's one rule file holds its header: when it does not parse, the header is lost with
    // it. Changchun extends it and must wait (W0005), not report E0108 "not a ruleset" and a
    // cascade of unknown names (29 errors before).
    let root = broken_rulesets(
        "lost_header",
        "jilin/jilin.rulec",
        "def resident_inpatient: bool = claim.visit",
        "def resident_inpatient: bool = = claim.visit",
    );
    let report = check(&root);
    let errs = errors(&report);
    assert_eq!(errs.len(), 1, "{}", render(&report));
    assert_eq!(errs[0].code, Code::Syntax);
    let waits: Vec<_> = report
        .diags
        .sorted()
        .into_iter()
        .filter(|d| d.code == Code::ParentHasErrors)
        .map(|d| d.message.clone())
        .collect();
    assert_eq!(
        waits,
        ["ruleset `jilin/changchun` not checked: its parent `jilin` has errors"]
    );
}

#[test]
fn an_unknown_name_in_a_parsed_file_is_still_reported() {
    // A file that parses: its typo is reported, and the children are not checked.
    let root = broken_rulesets(
        "typo",
        "china/lines.rulec",
        "line_amount(i) - line_base(i)",
        "line_amount(i) - line_bsae(i)",
    );
    let report = check(&root);
    let errs = errors(&report);
    assert_eq!(errs.len(), 1, "{}", render(&report));
    assert_eq!(errs[0].code, Code::UnknownFunction);
    assert_eq!(
        place(&report, &errs[0]).3.split('(').next(),
        Some("line_bsae")
    );
}

#[test]
fn a_child_is_checked_when_its_parent_is_clean() {
    let root = broken_rulesets(
        "child",
        "shandong/binzhou/outpatient_pooling.rulec",
        "cite assumed",
        "cite assumd",
    );
    let report = check(&root);
    let errs = errors(&report);
    assert!(!errs.is_empty(), "{}", render(&report));
    for e in &errs {
        assert!(
            place(&report, e).0.contains("shandong/binzhou/"),
            "{}",
            render(&report)
        );
    }
    assert!(report.not_checked.is_empty());
}

#[test]
fn full_width_digits_and_quotes_are_named_and_read_as_ascii() {
    let dir = scratch("digits").join("demo");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("rules.rulec"),
        "ruleset \"demo\"\nrecord Claim { date: date, amount: money }\ninput claim: Claim\nas_of claim.date\n\
         param cap: money = ４５００ cite “第五条，全角”\noutput pay: money = min(claim.amount, cap) // 全角：注释\n",
    )
    .expect("write");
    let report = check(&dir);
    let errs = errors(&report);
    assert_eq!(errs.len(), 2, "{}", render(&report));
    assert!(errs.iter().all(|e| e.code == Code::FullWidth));
    let (_, line, col, text) = place(&report, &errs[0]);
    assert_eq!((line, col, text.as_str()), (5, 20, "４５００"));
    assert_eq!(errs[0].label, "write `4500`");
    let (_, line, col, text) = place(&report, &errs[1]);
    assert_eq!((line, col, text.as_str()), (5, 30, "“"));
    // The rest of the file was read as ASCII: the param is 4500 and cites its text.
    let rs = &report.rulesets[0].1;
    let cap = rs.params.iter().find(|p| p.name == "cap").expect("cap");
    assert!(
        format!("{:?}", cap.versions[0].value).contains("4500"),
        "{cap:?}"
    );
}

#[test]
fn the_header_must_match_its_directory() {
    let root = scratch("header");
    let dir = root.join("shandong").join("zibo");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let rules = "record Claim { date: date, amount: money }\ninput claim: Claim\nas_of claim.date\noutput pay: money = claim.amount\n";
    std::fs::write(
        dir.join("r.rulec"),
        format!("ruleset \"shandong/zibbo\"\n{rules}"),
    )
    .expect("write");
    let report = check(&dir);
    let errs = errors(&report);
    assert_eq!(errs.len(), 1, "{}", render(&report));
    assert_eq!(errs[0].code, Code::HeaderMismatch);
    assert_eq!(place(&report, &errs[0]).3, "\"shandong/zibbo\"");
    assert!(errs[0]
        .help
        .as_deref()
        .unwrap_or("")
        .contains("`ruleset \"shandong/zibo\"`"));
    std::fs::write(
        dir.join("r.rulec"),
        format!("ruleset \"shandong/zibo\"\n{rules}"),
    )
    .expect("write");
    assert!(errors(&check(&dir)).is_empty());
}

#[test]
fn every_part_of_the_header_must_match_its_directory() {
    // A tree like the shipped one: `shandong` and `shandong/zibo` below it.
    let root = scratch("header-parts");
    let province = root.join("shandong");
    let city = province.join("zibo");
    std::fs::create_dir_all(&city).expect("mkdir");
    std::fs::write(
        province.join("p.rulec"),
        "ruleset \"shandong\"\nrecord Claim { date: date, amount: money }\ninput claim: Claim\nas_of claim.date\noutput pay: money = claim.amount\n",
    )
    .expect("write");
    let write_city = |header: &str| {
        std::fs::write(
            city.join("c.rulec"),
            format!("ruleset \"{header}\" extends \"..\"\noutput twice: money = claim.amount + claim.amount\n"),
        )
        .expect("write");
    };
    // The province part names another directory.
    write_city("jilin/zibo");
    let report = check(&root);
    let errs = errors(&report);
    assert_eq!(errs.len(), 1, "{}", render(&report));
    assert_eq!(errs[0].code, Code::HeaderMismatch);
    assert_eq!(place(&report, &errs[0]).3, "\"jilin/zibo\"");
    assert!(errs[0]
        .help
        .as_deref()
        .unwrap_or("")
        .contains("`ruleset \"shandong/zibo\"`"));
    // A short name below its parent: the parent's name and the path from it.
    write_city("zibo");
    let report = check(&root);
    let errs = errors(&report);
    assert_eq!(errs.len(), 1, "{}", render(&report));
    assert_eq!(errs[0].code, Code::HeaderMismatch);
    assert!(
        errs[0]
            .message
            .contains("below its parent `shandong`: its name is `shandong/zibo`"),
        "{}",
        errs[0].message
    );
    // Routed from the root, the header is the path under it, or the claim is refused: the
    // settlement never names a ruleset the region did not route to.
    let router = rulec::api::Router::new(&root, rulec::limits::Limits::default());
    let claim = serde_json::json!({ "insured": { "region": "shandong/zibo" }, "date": "2024-01-01", "amount": "1.00" });
    let err = router.route(&claim).expect_err("a wrong header is refused");
    assert!(
        err.diagnostics
            .iter()
            .any(|d| d.code == Code::HeaderMismatch
                && d.message
                    .contains("the ruleset is `shandong/zibo` under the root")),
        "{}",
        err.render_human()
    );
    write_city("shandong/zibo");
    assert!(errors(&check(&root)).is_empty());
    let router = rulec::api::Router::new(&root, rulec::limits::Limits::default());
    let rs = router.route(&claim).expect("routed");
    assert_eq!(rs.compiled().name, "shandong/zibo");
}

#[test]
fn the_rulesets_of_one_tree_are_named_from_one_root() {
    // `sichuan/chengdu` extends `../../china`: its parent is not above it, so only the tree
    // says what its name is.
    let root = scratch("one-root");
    let china = root.join("china");
    let city = root.join("sichuan").join("chengdu");
    std::fs::create_dir_all(&china).expect("mkdir");
    std::fs::create_dir_all(&city).expect("mkdir");
    std::fs::write(
        china.join("c.rulec"),
        "ruleset \"china\"\nrecord Claim { date: date, amount: money }\ninput claim: Claim\nas_of claim.date\noutput pay: money = claim.amount\n",
    )
    .expect("write");
    let write_city = |header: &str| {
        std::fs::write(
            city.join("c.rulec"),
            format!("ruleset \"{header}\" extends \"../../china\"\noutput twice: money = claim.amount + claim.amount\n"),
        )
        .expect("write");
    };
    write_city("chengdu");
    // Alone, the name's parts match the directory's last parts: nothing to say.
    assert!(errors(&check(&city)).is_empty());
    // In its tree, the other rulesets say where the root is.
    let report = check(&root);
    let errs = errors(&report);
    assert_eq!(errs.len(), 1, "{}", render(&report));
    assert_eq!(errs[0].code, Code::HeaderMismatch);
    assert_eq!(place(&report, &errs[0]).3, "\"chengdu\"");
    assert!(
        errs[0].message.contains("named from `")
            && errs[0]
                .message
                .ends_with("(e.g. `china`): this one is `sichuan/chengdu`"),
        "{}",
        errs[0].message
    );
    write_city("sichuan/chengdu");
    assert!(
        errors(&check(&root)).is_empty(),
        "{}",
        render(&check(&root))
    );
}

/// A small ruleset with one test file.
fn ruleset_with_cases(name: &str, cases: &str) -> PathBuf {
    let dir = scratch(name).join("demo");
    std::fs::create_dir_all(dir.join("tests")).expect("mkdir");
    std::fs::write(
        dir.join("rules.rulec"),
        "ruleset \"demo\"\nenum Visit { outpatient, inpatient }\nrecord Claim { date: date, visit: Visit, amount: money }\ninput claim: Claim\nas_of claim.date\n\
         param deductible: money = 200 cite assumed\ndef above: money = max(0, claim.amount - deductible)\n\
         fund pool = above * 80%\noutput patient_pays: money = claim.amount - pool\n\
         covers claim.visit == outpatient cite assumed\n",
    )
    .expect("write");
    std::fs::write(dir.join("tests/cases.json"), cases).expect("write");
    dir
}

#[test]
fn check_reads_test_files() {
    let dir = ruleset_with_cases(
        "cases",
        r#"[{"name": "a", "claim": {"date": "2024-01-01", "visit": "outpatient", "amount": "1000"},
             "expect": {"funds.pool": "640.00", "above": "800.00"},
             "expect_values": {"deductable": "200", "patient_pays": "360.00"},
             "expect_error": {"code": "rulec::E0701"}},
            {"name": "b", "claim": {}, "expect": {"funds.pol": "1"}, "expect_value": {}}]"#,
    );
    let report = check(&dir);
    let got: Vec<(Code, String)> = errors(&report)
        .iter()
        .map(|e| (e.code, place(&report, e).3))
        .collect();
    assert_eq!(
        got,
        vec![
            (Code::CaseWrongKey, "\"above\"".to_string()),
            (Code::CaseUnknownName, "\"deductable\"".to_string()),
            // `{}` lacks every field of the claim.
            (Code::CaseClaim, "\"claim\"".to_string()),
            (Code::CaseUnknownName, "\"funds.pol\"".to_string()),
            (Code::CaseWrongKey, "\"expect_value\"".to_string()),
        ],
        "{}",
        render(&report)
    );
    let help = |i: usize| errors(&report)[i].help.clone().unwrap_or_default();
    assert!(help(0).contains("expect_values"));
    assert_eq!(help(1), "did you mean `deductible`?");
    assert_eq!(help(3), "did you mean `funds.pool`?");
    assert_eq!(help(4), "did you mean `expect_values`?");
}

#[test]
fn check_reads_the_claims_of_test_files() {
    // Each claim as `rulec test` reads it: unknown fields, wrong types, missing fields and
    // unknown running totals are errors at their place; a case that expects the claim's
    // error (`expect_error` E0710) is left alone.
    let dir = ruleset_with_cases(
        "case-claims",
        r#"[{"name": "typo", "claim": {"date": "2024-01-01", "visit": "outpatient", "amont": "1000"},
             "expect": {"funds.pool": "640.00"}},
            {"name": "type", "claim": {"date": "2024-01-01", "visit": "outpatient", "amount": true},
             "expect": {"funds.pool": "640.00"}},
            {"name": "enum", "claim": {"date": "2024-01-01", "visit": "dental", "amount": "1000"},
             "expect": {"funds.pool": "640.00"}},
            {"name": "totals", "claim": {"date": "2024-01-01", "visit": "outpatient", "amount": "1000",
             "accumulators": {"pool_paid": "10"}}, "expect": {"funds.pool": "640.00"}},
            {"name": "refused", "claim": {"date": "2024-01-01", "visit": "outpatient", "amount": "x"},
             "expect_error": {"code": "rulec::E0710"}},
            {"name": "good", "claim": {"date": "2024-01-01", "visit": "outpatient", "amount": "1000"},
             "expect": {"funds.pool": "640.00"}}]"#,
    );
    let report = check(&dir);
    let got: Vec<(Code, String, usize)> = errors(&report)
        .iter()
        .map(|e| {
            let (_, line, _, text) = place(&report, e);
            (e.code, text, line)
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (Code::CaseClaim, "\"amont\"".to_string(), 1),
            (Code::CaseClaim, "\"amount\"".to_string(), 3),
            (Code::CaseClaim, "\"visit\"".to_string(), 5),
            (Code::CaseClaim, "\"pool_paid\"".to_string(), 8),
        ],
        "{}",
        render(&report)
    );
    let message = |i: usize| errors(&report)[i].message.clone();
    assert!(message(0).contains("amont: Claim has no field `amont`; did you mean `amount`?"));
    assert!(message(1).contains("amount: expected an amount, found true"));
    assert!(message(2).contains("visit: expected one of outpatient, inpatient, found \"dental\""));
    assert!(message(3).contains("the ruleset keeps no accumulator `pool_paid`; it keeps none"));
    // `rulec test` agrees: the first four fail, the refused one passes, the good one passes.
    let run = rulec::testing::run_paths(&[dir], &Limits::default()).expect("runs");
    let passed: Vec<bool> = run.results.iter().map(|r| r.passed).collect();
    assert_eq!(passed, [false, false, false, false, true, true]);
}

#[test]
fn rulec_test_names_a_value_that_does_not_exist() {
    let dir = ruleset_with_cases(
        "unknown-value",
        r#"{"name": "typo", "claim": {"date": "2024-01-01", "visit": "outpatient", "amount": "1000"},
            "expect_values": {"deductable": "200"}}"#,
    );
    let report = rulec::testing::run_paths(&[dir], &Limits::default()).expect("runs");
    let m = &report.results[0].mismatches[0];
    assert_eq!(
        m.actual,
        "(the ruleset has no value named `deductable`; did you mean `deductible`?)"
    );
}

#[test]
fn rulec_test_names_a_settlement_field_that_does_not_exist() {
    let dir = ruleset_with_cases(
        "unknown-expect",
        r#"{"name": "typo", "claim": {"date": "2024-01-01", "visit": "outpatient", "amount": "1000"},
            "expect": {"funds.pol": "640.00", "above": "800.00", "patient_pays": "360.00"}}"#,
    );
    let report = rulec::testing::run_paths(&[dir], &Limits::default()).expect("runs");
    let got: Vec<(&str, &str)> = report.results[0]
        .mismatches
        .iter()
        .map(|m| (m.field.as_str(), m.actual.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "above",
                "(no such value in the settlement: `above` is an intermediate value; move it to `expect_values`)"
            ),
            ("funds.pol", "(no such value; did you mean `funds.pool`?)"),
        ]
    );
    let human = rulec::testing::render_human(&report);
    assert!(
        human.contains(
            "funds.pol: expected 640.00, got (no such value; did you mean `funds.pool`?)"
        ),
        "{human}"
    );
}

#[test]
fn human_test_output_escapes_control_characters() {
    let report = rulec::testing::TestReport {
        results: vec![rulec::testing::CaseResult {
            ruleset: "r\u{1b}]0;title\u{7}".into(),
            file: "f.json".into(),
            name: "clear \u{1b}[2J bell \u{7} cr \r rtl \u{202E}x".into(),
            source: Some("src \u{1b}[31m".into()),
            passed: false,
            mismatches: vec![rulec::testing::Mismatch {
                field: "funds.\u{1b}[1mx".into(),
                expected: "1".into(),
                actual: "2".into(),
                explanation: None,
            }],
            error: Some("line one\nline \u{1b}[31mtwo".into()),
        }],
    };
    let human = rulec::testing::render_human(&report);
    assert!(
        !human
            .chars()
            .any(|c| (c.is_control() && c != '\n') || c == '\u{202E}'),
        "raw control characters: {human:?}"
    );
    for shown in [
        "clear \\u{1b}[2J bell \\u{7} cr \\u{d} rtl \\u{202e}x",
        "r\\u{1b}]0;title\\u{7}",
        "source: src \\u{1b}[31m",
        "funds.\\u{1b}[1mx: expected 1, got 2",
        "line \\u{1b}[31mtwo",
    ] {
        assert!(human.contains(shown), "{shown:?} in {human}");
    }
}

#[test]
fn junit_output_escapes_control_characters() {
    let report = rulec::testing::TestReport {
        results: vec![rulec::testing::CaseResult {
            ruleset: "r<1>".into(),
            file: "f&.json".into(),
            name: "bell \u{7} nul \u{0} esc \u{1b} \"q\" 'a'".into(),
            source: None,
            passed: false,
            mismatches: Vec::new(),
            error: Some("line one\nline \u{1b}[31mtwo".into()),
        }],
    };
    let xml = rulec::testing::render_junit(&report);
    assert!(
        !xml.chars().any(|c| (c as u32) < 0x20 && c != '\n'),
        "raw control characters: {xml:?}"
    );
    assert!(
        xml.contains("name=\"bell \\u{7} nul \\u{0} esc \\u{1b} &quot;q&quot; &apos;a&apos;\""),
        "{xml}"
    );
    assert!(xml.contains("<testsuite name=\"r&lt;1&gt;\""), "{xml}");
    assert!(xml.contains("classname=\"f&amp;.json\""), "{xml}");
}

fn rulec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rulec"))
}

#[test]
fn usage_errors_name_what_was_expected_and_the_path() {
    let dir = scratch("usage");
    let csv = dir.join("catalog.csv");
    std::fs::write(&csv, "code,name\nA,b\n").expect("write");
    let out = rulec().arg("check").arg(&csv).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("`{}`", csv.display()))
            && err.contains("pass a ruleset directory or a `.rulec` file"),
        "{err}"
    );

    let claim = dir.join("claim.json");
    std::fs::write(&claim, "{}").expect("write");
    let out = rulec().arg("eval").arg(&claim).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "expected a ruleset directory: `{}` is not a directory",
            claim.display()
        )) && err.contains(&format!("`rulec eval RULESET {}`", claim.display())),
        "{err}"
    );

    let missing = dir.join("missing");
    let out = rulec().arg("test").arg(&missing).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("cannot read `{}`", missing.display())),
        "{err}"
    );
}

fn dev_full() -> std::fs::File {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full exists on Linux")
}

#[test]
fn write_errors_exit_2() {
    // `rulec eval … > /dev/full`, `rulec check --format json > /dev/full`, `rulec check
    // 2> /dev/full` (human output goes to standard error), `rulec test [--format json]
    // > /dev/full`.
    let claim = "rulesets/sample/claims/outpatient.json";
    let runs: [(&[&str], bool); 7] = [
        (&["eval", "rulesets/sample/city", claim], false),
        (&["eval", "rulesets/sample/city", claim, "--explain"], false),
        (&["eval", "--rulesets", "rulesets", claim], false),
        (&["check", "rulesets", "--format", "json"], false),
        (&["check", "rulesets"], true),
        (&["test", "rulesets/shandong/binzhou"], false),
        (
            &["test", "rulesets/shandong/binzhou", "--format", "json"],
            false,
        ),
    ];
    for (args, to_stderr) in runs {
        let mut cmd = rulec();
        cmd.args(args);
        let out = if to_stderr {
            cmd.stderr(dev_full()).output()
        } else {
            cmd.stdout(dev_full()).output()
        }
        .expect("runs");
        assert_eq!(out.status.code(), Some(2), "rulec {}", args.join(" "));
        if !to_stderr {
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains("error: cannot write"),
                "rulec {}: {err}",
                args.join(" ")
            );
        }
    }
}

#[test]
fn a_closed_pipe_ends_output_cleanly() {
    // Enough diagnostics to fill a pipe many times over: 3,000 unused params.
    let dir = scratch("pipe").join("many");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let mut rules = String::from("ruleset \"many\"\n");
    for i in 0..3000 {
        rules.push_str(&format!("param p{i}: money = {i} cite assumed\n"));
    }
    std::fs::write(dir.join("r.rulec"), rules).expect("write");
    let many = dir.display().to_string();
    // (arguments, true when the output goes to standard error)
    let runs: [(&[&str], bool); 3] = [
        (&["check", "--format", "json", &many], false),
        (&["check", &many], true),
        (&["test", "rulesets"], false),
    ];
    for (args, to_stderr) in runs {
        let mut child = rulec()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("runs");
        // The reader goes away at once (`| head -0`).
        if to_stderr {
            drop(child.stderr.take());
        } else {
            drop(child.stdout.take());
        }
        let out = child.wait_with_output().expect("ends");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked") && !err.contains("error"), "{err}");
        assert_eq!(
            out.status.code(),
            Some(0),
            "rulec {}: {err}",
            args.join(" ")
        );
    }
}
