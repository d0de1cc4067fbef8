//! Hostile catalogs: every way a CSV export can go wrong. Each case passes only on a clean
//! diagnostic with the right code at the right place (or, for the good ones, on the rows it
//! must read), never on "it didn't crash".

use rulec::diag::{Code, Diagnostic};
use rulec::limits::Limits;
use rulec::project::{check_paths, CheckReport};
use std::path::{Path, PathBuf};

const HEAD: &str = "enum Class { A, B, C }\nrecord Claim { date: date, code: text }\ninput claim: Claim\nas_of claim.date\n";
const COLUMNS: &str = "code: text key, class: Class, b_share: rate?, price_cap: money?";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rulec-hostile-csv-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A ruleset whose catalog `drugs` has `columns` and reads `file` (written with `bytes`).
fn ruleset(name: &str, columns: &str, file: &str, bytes: &[u8]) -> PathBuf {
    let dir = scratch(name);
    let rules = format!(
        "{HEAD}catalog drugs {{ {columns} }} from \"{file}\" cite assumed\noutput listed: bool = claim.code in drugs\n"
    );
    std::fs::write(dir.join("rules.rulec"), rules).expect("rules");
    std::fs::write(dir.join(file), bytes).expect("csv");
    dir
}

fn check(dir: &Path) -> CheckReport {
    check_paths(&[dir.to_path_buf()], Limits::default()).expect("the rules are readable")
}

fn errors(r: &CheckReport) -> Vec<Diagnostic> {
    r.diags
        .sorted()
        .into_iter()
        .filter(|d| d.is_error())
        .collect()
}

/// The catalog's rows when the file reads cleanly.
fn rows(r: &CheckReport) -> usize {
    let errs = errors(r);
    assert!(
        errs.is_empty(),
        "{}",
        rulec::diag::render_human(&errs, &r.map, false)
    );
    r.rulesets
        .first()
        .and_then(|(_, rs)| rs.catalogs.first())
        .map(|c| c.rows.len())
        .expect("one catalog")
}

/// Exactly these error codes, and the first message contains `text`.
fn expect(name: &str, columns: &str, bytes: &[u8], codes: &[Code], text: &str) -> CheckReport {
    let dir = ruleset(name, columns, "drugs.csv", bytes);
    let r = check(&dir);
    let errs = errors(&r);
    let got: Vec<Code> = errs.iter().map(|d| d.code).collect();
    assert_eq!(
        got,
        codes,
        "{name}: {}",
        rulec::diag::render_human(&errs, &r.map, false)
    );
    let all = rulec::diag::render_human(&errs, &r.map, false);
    assert!(all.contains(text), "{name}: expected {text:?} in\n{all}");
    let _ = std::fs::remove_dir_all(&dir);
    r
}

fn line_of(r: &CheckReport, d: &Diagnostic) -> usize {
    let span = d.span.expect("a place");
    r.map
        .get(span.file)
        .map(|f| f.line_col(span.start).0)
        .unwrap_or(0)
}

#[test]
fn a_misspelled_validity_column_is_an_error_with_a_suggestion() {
    expect(
        "valid_form",
        COLUMNS,
        b"code,class,b_share,price_cap,valid_form\nXA001,A,,,2030-01-01\n",
        &[Code::CsvUnknownColumn],
        "did you mean `valid_from`?",
    );
    expect(
        "valid_untill",
        COLUMNS,
        b"code,class,b_share,price_cap,valid_untill\nXA001,A,,,2020-01-01\n",
        &[Code::CsvUnknownColumn],
        "did you mean `valid_until`?",
    );
}

#[test]
fn a_misspelled_declared_column_is_one_error_not_two() {
    expect(
        "klass",
        COLUMNS,
        b"code,klass,b_share,price_cap\nXA001,A,,\n",
        &[Code::CsvUnknownColumn],
        "did you mean `class`?",
    );
}

#[test]
fn an_undeclared_column_is_an_error_unless_the_catalog_says_dotdot() {
    expect(
        "extra",
        COLUMNS,
        b"code,class,b_share,price_cap,manufacturer\nXA001,A,,,X\n",
        &[Code::CsvUnknownColumn],
        "end the column list with `..`",
    );
    let dir = ruleset(
        "extra-ok",
        &format!("{COLUMNS}, .."),
        "drugs.csv",
        b"code,name,class,b_share,price_cap,manufacturer,dosage\nXA001,x,A,,,m,d\nXA002,y,B,10%,5,m,d\n",
    );
    assert_eq!(rows(&check(&dir)), 2);
    // `..` still refuses what looks like a misspelled date column.
    expect(
        "extra-dotdot-misspelled",
        &format!("{COLUMNS}, .."),
        b"code,class,b_share,price_cap,valid_form,manufacturer\nXA001,A,,,2030-01-01,m\n",
        &[Code::CsvUnknownColumn],
        "did you mean `valid_from`?",
    );
}

#[test]
fn dotdot_with_inline_rows_is_refused() {
    let dir = scratch("dotdot-inline");
    std::fs::write(
        dir.join("rules.rulec"),
        format!("{HEAD}catalog fees {{ code: text key, fee: money, .. }} rows {{ [\"GH001\", 10] }} cite assumed\noutput listed: bool = claim.code in fees\n"),
    )
    .expect("rules");
    let r = check(&dir);
    let codes: Vec<Code> = errors(&r).iter().map(|d| d.code).collect();
    assert_eq!(codes, vec![Code::CsvUnknownColumn]);
}

#[test]
fn a_duplicated_column_is_an_error() {
    expect(
        "dup",
        COLUMNS,
        b"code,class,b_share,price_cap,class\nXA001,A,,,C\n",
        &[Code::CsvDuplicateColumn],
        "names column `class` twice",
    );
}

#[test]
fn a_rate_cell_must_carry_a_percent_sign() {
    expect(
        "bare-rate",
        COLUMNS,
        b"code,class,b_share,price_cap\nXA003,B,10,\n",
        &[Code::CsvBadValue],
        "`10%`",
    );
    expect(
        "fraction-rate",
        COLUMNS,
        b"code,class,b_share,price_cap\nXA003,B,0.1,\n",
        &[Code::CsvBadValue],
        "`0.1%`",
    );
}

#[test]
fn shares_lie_in_0_to_100_percent_and_amounts_are_not_negative() {
    expect(
        "negative-share",
        COLUMNS,
        b"code,class,b_share,price_cap\nXA003,B,-500%,\n",
        &[Code::CatalogRange],
        "-500% is outside 0%\u{2013}100%",
    );
    let r = expect(
        "share-above-100",
        COLUMNS,
        b"code,class,b_share,price_cap\nXA003,B,150%,\n",
        &[Code::CatalogRange],
        "150% is outside",
    );
    assert!(
        !r.diags.iter().any(|d| d.code == Code::RateAbove100),
        "one cause, one diagnostic"
    );
    expect(
        "negative-cap",
        COLUMNS,
        b"code,class,b_share,price_cap\nZL001,A,,-10.00\n",
        &[Code::CatalogRange],
        "-10.00 is negative",
    );
    // Inline rows are held to the same ranges.
    let dir = scratch("inline-range");
    std::fs::write(
        dir.join("rules.rulec"),
        format!("{HEAD}catalog fees {{ code: text key, fee: money, share: rate }} rows {{ [\"GH001\", -10, 120%] }} cite assumed\noutput listed: bool = claim.code in fees\n"),
    )
    .expect("rules");
    let r = check(&dir);
    let codes: Vec<Code> = errors(&r).iter().map(|d| d.code).collect();
    assert_eq!(codes, vec![Code::CatalogRange, Code::CatalogRange]);
    assert!(!r.diags.iter().any(|d| d.code == Code::RateAbove100));
}

#[test]
fn cr_lf_and_crlf_line_ends_all_read_and_a_bom_is_skipped() {
    for (name, text) in [
        (
            "lf",
            "code,class,b_share,price_cap\nXA001,A,,\nXA003,B,10%,\n",
        ),
        (
            "crlf",
            "code,class,b_share,price_cap\r\nXA001,A,,\r\nXA003,B,10%,\r\n",
        ),
        (
            "cr",
            "code,class,b_share,price_cap\rXA001,A,,\rXA003,B,10%,\r",
        ),
        (
            "bom",
            "\u{feff}code,class,b_share,price_cap\nXA001,A,,\nXA003,B,10%,",
        ),
        (
            "bom-cr",
            "\u{feff}code,class,b_share,price_cap\rXA001,A,,\rXA003,B,10%,",
        ),
        (
            "spaces",
            " code , class ,b_share,price_cap\nXA001, A ,,\nXA003,B, 10% ,\n",
        ),
    ] {
        let dir = ruleset(name, COLUMNS, "drugs.csv", text.as_bytes());
        assert_eq!(rows(&check(&dir)), 2, "{name}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn an_error_in_a_cr_only_file_names_its_line() {
    let r = expect(
        "cr-line",
        COLUMNS,
        b"code,class,b_share,price_cap\rXA001,A,,\rXA002,A,,\rXA003,X,,\r",
        &[Code::CsvBadValue],
        "one of A, B, C",
    );
    let errs = errors(&r);
    assert_eq!(line_of(&r, &errs[0]), 4);
}

#[test]
fn tab_and_semicolon_separated_files_name_their_separator() {
    expect(
        "tabs",
        COLUMNS,
        b"code\tclass\tb_share\tprice_cap\nXA001\tA\t\t\n",
        &[Code::CsvSeparator],
        "separated by tabs",
    );
    expect(
        "semicolons",
        COLUMNS,
        b"code;class;b_share;price_cap\nXA001;A;;\n",
        &[Code::CsvSeparator],
        "separated by semicolons",
    );
}

#[test]
fn a_gbk_file_gets_a_hint_naming_gbk() {
    // "code,name\nXA001,阿莫西林\n" as Excel exports it in China (GBK).
    let mut bytes = b"code,name\nXA001,".to_vec();
    bytes.extend_from_slice(&[0xB0, 0xA2, 0xC4, 0xAA, 0xCE, 0xF7, 0xC1, 0xD6, b'\n']);
    let r = expect(
        "gbk",
        "code: text key, name: text",
        &bytes,
        &[Code::InvalidUtf8],
        "GBK",
    );
    let all = rulec::diag::render_human(&errors(&r), &r.map, false);
    assert!(all.contains("iconv -f GBK -t UTF-8"), "{all}");
    assert_eq!(
        errors(&r)[0].message,
        "the file is not valid UTF-8 but looks like GBK: 4 GBK characters (8 bytes); the first byte that is not UTF-8 is at offset 16"
    );
    // Bytes that are not GBK either get the plain message.
    let r = expect(
        "latin",
        "code: text key, name: text",
        b"code,name\nXA001,caf\xe9\n",
        &[Code::InvalidUtf8],
        "not valid UTF-8",
    );
    assert_eq!(
        errors(&r)[0].message,
        "the file is not valid UTF-8: 1 bad byte at offset 19"
    );
    let r = expect(
        "latin-3",
        "code: text key, name: text",
        b"code,name\nXA001,caf\xe9 cr\xe8me br\xfbl\xe9e\n",
        &[Code::InvalidUtf8],
        "not valid UTF-8",
    );
    assert_eq!(
        errors(&r)[0].message,
        "the file is not valid UTF-8: 4 bad bytes, the first at offset 19"
    );
    let all = rulec::diag::render_human(&errors(&r), &r.map, false);
    assert!(!all.contains("GBK"), "{all}");
}

#[test]
fn excel_booleans_are_accepted() {
    let dir = ruleset(
        "bools",
        "code: text key, placeholder: bool",
        "drugs.csv",
        b"code,placeholder\nA,TRUE\nB,FALSE\nC,true\nD,False\n",
    );
    assert_eq!(rows(&check(&dir)), 4);
    expect(
        "yes",
        "code: text key, placeholder: bool",
        b"code,placeholder\nA,yes\n",
        &[Code::CsvBadValue],
        "`true` or `false`",
    );
}

#[test]
fn many_errors_of_one_kind_show_three_and_count_the_rest() {
    let mut text = String::from("code,class,b_share,price_cap\n");
    for i in 0..2000 {
        text.push_str(&format!("X{i:04},D,,\n"));
    }
    for i in 0..50 {
        text.push_str(&format!("Y{i:04},A,10,\n"));
    }
    let dir = ruleset("many", COLUMNS, "drugs.csv", text.as_bytes());
    let r = check(&dir);
    let errs = errors(&r);
    assert_eq!(errs.len(), 6, "three per kind");
    let msgs: Vec<&str> = errs.iter().map(|d| d.message.as_str()).collect();
    assert!(
        msgs.iter()
            .any(|m| m.ends_with("and 1,997 more like this in column `class`")),
        "{msgs:#?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.ends_with("and 47 more like this in column `b_share`")),
        "{msgs:#?}"
    );
    // The first three are the first three rows, in order.
    let lines: Vec<usize> = errs.iter().map(|d| line_of(&r, d)).collect();
    assert_eq!(lines, vec![2, 3, 4, 2002, 2003, 2004]);
}

#[test]
fn malformed_rows_are_reported_at_their_line() {
    let r = expect(
        "arity",
        COLUMNS,
        b"code,class,b_share,price_cap\nXA001,A,,\nXA002,A\n",
        &[Code::CsvMalformed],
        "row 3 has 2 cells; the header has 4",
    );
    assert_eq!(line_of(&r, &errors(&r)[0]), 3);
    expect(
        "unclosed",
        COLUMNS,
        b"code,class,b_share,price_cap\nXA001,\"A,,\n",
        &[Code::CsvMalformed],
        "never closed",
    );
    expect(
        "after-quote",
        COLUMNS,
        b"code,class,b_share,price_cap\n\"XA001\"x,A,,\n",
        &[Code::CsvMalformed],
        "text after the closing quote",
    );
}

#[test]
fn empty_and_header_only_files() {
    expect("empty", COLUMNS, b"", &[Code::CsvMissingColumn], "empty");
    let dir = ruleset(
        "header-only",
        COLUMNS,
        "drugs.csv",
        b"code,class,b_share,price_cap\r\n",
    );
    assert_eq!(rows(&check(&dir)), 0);
}

#[test]
fn only_csv_files_are_read_as_catalogs_and_nothing_else_is_echoed() {
    let dir = ruleset("not-csv", COLUMNS, "secrets.txt", b"password=hunter2\n");
    let r = check(&dir);
    let errs = errors(&r);
    assert_eq!(
        errs.iter().map(|d| d.code).collect::<Vec<_>>(),
        vec![Code::CatalogFile]
    );
    let shown = rulec::diag::render_human(&errs, &r.map, false);
    assert!(shown.contains("is not a `.csv` file"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[cfg(unix)]
#[test]
fn a_catalog_that_is_not_a_regular_file_is_refused_without_blocking() {
    // A directory, a FIFO (reading would block forever) and /dev/zero (never ends).
    let dir = ruleset("special", COLUMNS, "drugs.csv", b"");
    std::fs::remove_file(dir.join("drugs.csv")).expect("rm");
    std::fs::create_dir(dir.join("drugs.csv")).expect("mkdir");
    let r = check(&dir);
    let shown = rulec::diag::render_human(&errors(&r), &r.map, false);
    assert!(
        shown.contains("is a directory, not a regular file"),
        "{shown}"
    );

    std::fs::remove_dir(dir.join("drugs.csv")).expect("rmdir");
    let status = std::process::Command::new("mkfifo")
        .arg(dir.join("drugs.csv"))
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    let r = check(&dir);
    let errs = errors(&r);
    assert_eq!(
        errs.iter().map(|d| d.code).collect::<Vec<_>>(),
        vec![Code::CatalogFile]
    );
    let shown = rulec::diag::render_human(&errs, &r.map, false);
    assert!(shown.contains("is a FIFO (named pipe)"), "{shown}");

    std::fs::remove_file(dir.join("drugs.csv")).expect("rm fifo");
    std::os::unix::fs::symlink("/dev/zero", dir.join("drugs.csv")).expect("symlink");
    let r = check(&dir);
    let shown = rulec::diag::render_human(&errors(&r), &r.map, false);
    assert!(shown.contains("is a character device"), "{shown}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn in_memory_sources_can_carry_csv_catalogs() {
    let rules = format!(
        "{HEAD}catalog drugs {{ {COLUMNS} }} from \"drugs.csv\" cite assumed\noutput listed: bool = claim.code in drugs\n"
    );
    let rs = rulec::api::Ruleset::load_sources(
        "memory",
        &[
            ("rules.rulec".into(), rules.clone()),
            (
                "drugs.csv".into(),
                "code,class,b_share,price_cap\rXA001,A,,\rXA003,B,10%,\r".into(),
            ),
        ],
        Limits::default(),
    )
    .expect("checks");
    assert_eq!(
        rs.compiled().catalogs.first().map(|c| c.rows.len()),
        Some(2)
    );
    let s = rs
        .evaluate(
            &serde_json::json!({ "date": "2024-01-01", "code": "XA003" }),
            &Default::default(),
        )
        .expect("settles");
    assert_eq!(rs.settlement_json(&s)["listed"], true);
    // The same strictness applies in memory.
    let err = rulec::api::Ruleset::load_sources(
        "memory",
        &[
            ("rules.rulec".into(), rules),
            (
                "drugs.csv".into(),
                "code,class,b_share,price_cap\nXA003,B,10,\n".into(),
            ),
        ],
        Limits::default(),
    )
    .expect_err("a bare rate");
    assert!(err.diagnostics.iter().any(|d| d.code == Code::CsvBadValue));
}

#[test]
fn a_catalog_exported_twice_gives_three_duplicate_errors_and_a_count() {
    let mut text = String::from("code,class,b_share,price_cap\n");
    for _ in 0..2 {
        for i in 0..100 {
            text.push_str(&format!("X{i:04},A,,\n"));
        }
    }
    let dir = ruleset("dups", COLUMNS, "drugs.csv", text.as_bytes());
    let r = check(&dir);
    let errs = errors(&r);
    assert_eq!(
        errs.iter().map(|d| d.code).collect::<Vec<_>>(),
        vec![Code::DuplicateCode; 3]
    );
    assert!(
        errs[2].message.ends_with("; and 97 more like this"),
        "{}",
        errs[2].message
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_series_file_has_exactly_year_and_value() {
    let dir = scratch("series");
    std::fs::write(
        dir.join("rules.rulec"),
        format!("{HEAD}series cpi: decimal by year from \"cpi.csv\" cite assumed\noutput c: decimal = cpi[2024]\n"),
    )
    .expect("rules");
    std::fs::write(
        dir.join("cpi.csv"),
        "year,value,note\n2023,100.2,x\n2024,100.2,y\n",
    )
    .expect("csv");
    let r = check(&dir);
    let codes: Vec<Code> = errors(&r).iter().map(|d| d.code).collect();
    assert_eq!(codes, vec![Code::CsvUnknownColumn]);
    std::fs::write(
        dir.join("cpi.csv"),
        "year,value\r2023,100.2\r2024,100.2,7\r",
    )
    .expect("csv");
    let r = check(&dir);
    let codes: Vec<Code> = errors(&r).iter().map(|d| d.code).collect();
    assert_eq!(codes, vec![Code::CsvMalformed]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn full_width_digits_and_percent_signs_get_their_ascii_spelling() {
    expect(
        "fullwidth",
        COLUMNS,
        "code,class,b_share,price_cap\nXA003,B,１０％,\n".as_bytes(),
        &[Code::CsvBadValue],
        "write `10%`",
    );
    // Full-width text in a text column is just text.
    let dir = ruleset(
        "fullwidth-text",
        "code: text key, name: text",
        "drugs.csv",
        "code,name\nJL-YP-001,黄芪（蜜炙）\n".as_bytes(),
    );
    assert_eq!(rows(&check(&dir)), 1);
}

#[test]
fn an_unnamed_header_column_is_named_by_its_position() {
    expect(
        "trailing-comma",
        COLUMNS,
        b"code,class,b_share,price_cap,\nXA001,A,,,\n",
        &[Code::CsvUnknownColumn],
        "column 5 of the CSV header has no name",
    );
    let dir = ruleset(
        "trailing-comma-ok",
        &format!("{COLUMNS}, .."),
        "drugs.csv",
        b"code,class,b_share,price_cap,\nXA001,A,,,\n",
    );
    assert_eq!(rows(&check(&dir)), 1);
}

#[test]
fn a_control_character_in_a_cell_is_named() {
    // A NUL in a code (a broken export) would make a row no claim can match.
    let r = expect(
        "nul",
        COLUMNS,
        b"code,class,b_share,price_cap\nXA\x0001,A,,\n",
        &[Code::CsvBadValue],
        "column `code`: the cell holds the control character U+0000",
    );
    assert_eq!(line_of(&r, &errors(&r)[0]), 2);
    expect(
        "escape",
        "code: text key, name: text",
        b"code,name\nXA001,\x1b[31mred\n",
        &[Code::CsvBadValue],
        "U+001B",
    );
    // A line break inside a quoted text cell is text.
    let dir = ruleset(
        "quoted-newline",
        "code: text key, name: text",
        "drugs.csv",
        b"code,name\nXA001,\"two\nlines\"\n",
    );
    assert_eq!(rows(&check(&dir)), 1);
}

#[test]
fn a_full_width_comma_is_named_once() {
    // In the header: one error at the comma, not three about the columns it merged.
    let r = expect(
        "fullwidth-comma-header",
        COLUMNS,
        "code\u{FF0C}class,b_share,price_cap\nXA001,A,,\n".as_bytes(),
        &[Code::CsvSeparator],
        "full-width comma `\u{FF0C}` (U+FF0C)",
    );
    let d = &errors(&r)[0];
    let span = d.span.expect("a span");
    let file = r.map.get(span.file).expect("file");
    assert_eq!(file.slice(span), "\u{FF0C}");
    // In a row: the arity error says why.
    expect(
        "fullwidth-comma-row",
        COLUMNS,
        "code,class,b_share,price_cap\nXA001\u{FF0C}A,,\n".as_bytes(),
        &[Code::CsvMalformed],
        "the row holds a full-width comma",
    );
}

#[test]
fn a_header_of_200_000_columns_checks_in_linear_time() {
    // Duplicate and undeclared columns were found by scanning the header once per column.
    let n = 200_000;
    let mut csv = String::from("code");
    for i in 0..n {
        csv.push_str(&format!(",c{i}"));
    }
    csv.push_str(",code\nXA001");
    csv.push_str(&",1".repeat(n));
    csv.push_str(",XA001\n");
    let dir = ruleset("wide", "code: text key, ..", "drugs.csv", csv.as_bytes());
    let r = check(&dir);
    let errs = errors(&r);
    // `..` ignores the undeclared columns, but not a column named twice.
    assert_eq!(
        errs.iter().map(|d| d.code).collect::<Vec<_>>(),
        vec![Code::CsvDuplicateColumn],
        "{}",
        rulec::diag::render_human(&errs, &r.map, false)
    );
}

/// Line and column (in characters) of a diagnostic.
fn place(r: &CheckReport, d: &Diagnostic) -> (usize, usize) {
    let span = d.span.expect("a place");
    r.map
        .get(span.file)
        .map(|f| f.line_col(span.start))
        .unwrap_or((0, 0))
}

#[test]
fn every_number_cell_is_exact_or_refused() {
    // rust_decimal's parser rounds each of these; rulec refuses them at the cell.
    let columns = "code: text key, b_share: rate(28)?, price_cap: money(28)?";
    for (name, row, col, text) in [
        (
            "share-31-digits",
            "X2,33.33333333333333333333333333333%,",
            4,
            "has 29 fraction digits, more than the 28 an exact decimal holds",
        ),
        (
            "share-below-1e-28",
            "X3,0.0000000000000000000000000001%,",
            4,
            "has 30 fraction digits, more than the 28 an exact decimal holds",
        ),
        (
            "cap-31-fraction-digits",
            "X2,,1.1234567890123456789012345678901",
            5,
            "has 31 fraction digits",
        ),
        (
            "cap-30-digits",
            "X4,,7922816251426433759354395033.51",
            5,
            "has 30 significant digits, too many for an exact decimal (at most 28 significant digits)",
        ),
        (
            "cap-above-max",
            "X5,,79228162514264337593543950336",
            5,
            "has 29 significant digits",
        ),
    ] {
        let csv = format!("code,b_share,price_cap\n{row}\n");
        let r = expect(name, columns, csv.as_bytes(), &[Code::CellTooPrecise], "E0514");
        let errs = errors(&r);
        assert_eq!(place(&r, &errs[0]), (2, col), "{name}");
        assert!(errs[0].message.contains(text), "{name}: {}", errs[0].message);
    }
    // Exact values with many digits are kept, digit for digit; zeros that carry no value
    // are no reason to refuse.
    let dir = ruleset(
        "exact-many-digits",
        "code: text key, d: decimal(28), m: money",
        "drugs.csv",
        b"code,d,m\nX1,0.1234567890123456789012345678,79228162514264337593543950335\nX2,1.000000000000000000000000000000000,12.50\n",
    );
    let r = check(&dir);
    assert_eq!(rows(&r), 2);
    let cat = r.rulesets[0].1.catalogs[0].clone();
    let cell = |row: usize, col: usize| format!("{:?}", cat.rows[row].cells[col]);
    assert_eq!(cell(0, 1), "Decimal(0.1234567890123456789012345678)");
    assert_eq!(cell(0, 2), "Money(Money(79228162514264337593543950335))");
    assert_eq!(cell(1, 1), "Decimal(1)");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cells_carry_at_most_their_columns_fraction_digits() {
    // Money is in fen unless the column declares finer; decimals and rates carry 4 (a rate
    // as a fraction); trailing zeros carry none.
    for (name, columns, row, text) in [
        (
            "cap-in-li",
            COLUMNS,
            "XA003,B,,0.001",
            "column `price_cap`: `0.001` has 3 fraction digits; an amount is in fen (2 digits) unless its type declares finer, e.g. `money(4)`",
        ),
        (
            "share-5-digits",
            COLUMNS,
            "XA003,B,12.345%,",
            "column `b_share`: `12.345%` has 5 fraction digits as a fraction, more than the 4 its type allows",
        ),
        (
            "price-5-digits",
            "code: text key, class: Class, b_share: rate?, price_cap: money(4)?",
            "XA003,B,,0.01251",
            "`0.01251` has 5 fraction digits, more than the 4 its type allows",
        ),
        (
            "share-7-digits",
            "code: text key, class: Class, b_share: rate(6)?, price_cap: money?",
            "XA003,B,12.34567%,",
            "has 7 fraction digits as a fraction, more than the 6 its type allows",
        ),
    ] {
        let csv = format!("code,class,b_share,price_cap\n{row}\n");
        let r = expect(name, columns, csv.as_bytes(), &[Code::CellTooPrecise], "E0514");
        assert_eq!(place(&r, &errors(&r)[0]).0, 2, "{name}");
        assert!(errors(&r)[0].message.contains(text), "{name}: {}", errors(&r)[0].message);
        assert!(
            errors(&r)[0].help.as_deref().unwrap_or("").contains("declare it on the type"),
            "{name}"
        );
    }
    let dir = ruleset(
        "declared-digits",
        "code: text key, class: Class, b_share: rate(6)?, price_cap: money(4)?",
        "drugs.csv",
        b"code,class,b_share,price_cap\nX1,A,12.3456%,0.0125\nX2,B,12.34%,3.0000000\nX3,C,,1.00\n",
    );
    assert_eq!(rows(&check(&dir)), 3);
    let _ = std::fs::remove_dir_all(&dir);
    // A decimal column: 4 digits by default.
    expect(
        "decimal-5-digits",
        "code: text key, factor: decimal",
        b"code,factor\nX1,1.2345\nX2,1.23456\n",
        &[Code::CellTooPrecise],
        "`1.23456` has 5 fraction digits, more than the 4",
    );
    // Inline rows are held to their columns' digits too.
    let dir = scratch("inline-digits");
    std::fs::write(
        dir.join("rules.rulec"),
        format!("{HEAD}catalog fees {{ code: text key, fee: money, unit: money(4) }} rows {{ [\"GH001\", 0.001, 0.0001] [\"GH002\", 0.01, 0.00001] }} cite assumed\noutput listed: bool = claim.code in fees\n"),
    )
    .expect("rules");
    let r = check(&dir);
    let errs = errors(&r);
    let got: Vec<(Code, (usize, usize))> = errs.iter().map(|d| (d.code, place(&r, d))).collect();
    assert_eq!(
        got,
        vec![
            (Code::CellTooPrecise, (5, 78)),
            (Code::CellTooPrecise, (5, 109))
        ],
        "{}",
        rulec::diag::render_human(&errs, &r.map, false)
    );
    assert!(errs[0].message.contains("`0.001` has 3 fraction digits"));
    assert!(errs[1]
        .message
        .contains("`0.00001` has 5 fraction digits, more than the 4"));
    // Digits go on number types only.
    expect(
        "digits-on-text",
        "code: text(4) key, price_cap: money",
        b"code,price_cap\nX1,1\n",
        &[Code::BadDigits],
        "`text` has no fraction digits to bound",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn series_values_are_exact_and_within_their_digits() {
    let dir = scratch("series-digits");
    let write = |decl: &str, csv: &str| {
        std::fs::write(
            dir.join("rules.rulec"),
            format!("{HEAD}{decl}\noutput c: decimal = cpi[2024]\n"),
        )
        .expect("rules");
        std::fs::write(dir.join("cpi.csv"), csv).expect("csv");
        let r = check(&dir);
        let errs = errors(&r);
        let got: Vec<(Code, (usize, usize), String)> = errs
            .iter()
            .map(|d| (d.code, place(&r, d), d.message.clone()))
            .collect();
        got
    };
    let from_file = "series cpi: decimal by year from \"cpi.csv\" cite assumed";
    assert_eq!(
        write(from_file, "year,value\n2024,100.12345678901234567890123456789\n"),
        vec![(
            Code::CellTooPrecise,
            (2, 6),
            "column `value`: `100.12345678901234567890123456789` has 29 fraction digits, more than the 28 an exact decimal holds".to_string()
        )]
    );
    assert_eq!(
        write(from_file, "year,value\n2023,100.2\n2024,100.12345\n"),
        vec![(
            Code::CellTooPrecise,
            (3, 6),
            "column `value`: `100.12345` has 5 fraction digits, more than the 4 its type allows"
                .to_string()
        )]
    );
    let six = "series cpi: decimal(6) by year from \"cpi.csv\" cite assumed";
    assert_eq!(
        write(six, "year,value\n2023,100.2\n2024,100.12345\n"),
        vec![]
    );
    let inline = "series cpi: decimal by year { 2023 = 100.2, 2024 = 100.12345 } cite assumed";
    let got = write(inline, "");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].0, got[0].1), (Code::CellTooPrecise, (5, 52)));
    assert_eq!(
        got[0].2,
        "series `cpi`, year 2024: `100.12345` has 5 fraction digits, more than the 4 its type allows"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn table_and_band_literals_are_exact_or_refused() {
    // 40 digits: rust_decimal's parser would round this to 28.
    for decl in [
        "param x: decimal = 12345678901234567890.12345678901234567890 cite assumed",
        "table t(k: int): decimal { 1 => 12345678901234567890.12345678901234567890 } cite assumed",
        "bands b { 0 .. 1000 => 50%, 1000 .. => 12345678901234567890.12345678901234567890% } cite assumed",
    ] {
        let dir = scratch("literal-digits");
        std::fs::write(dir.join("rules.rulec"), format!("{HEAD}{decl}\n")).expect("rules");
        let r = check(&dir);
        let codes: Vec<Code> = errors(&r).iter().map(|d| d.code).collect();
        assert!(
            !codes.is_empty() && codes.iter().all(|c| *c == Code::NumberTooLarge),
            "{decl}: {codes:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
