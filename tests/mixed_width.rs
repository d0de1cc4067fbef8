//! Mixed-width golden test: Chinese names in rules and in a CSV catalog, and full-width
//! punctuation among them. Labels must sit under the right characters (CJK characters are
//! two columns wide), and the `[file:line:column]` header counts characters, not bytes.

use rulec::diag::render_human;
use rulec::limits::Limits;
use rulec::project::check_paths;
use std::path::PathBuf;

fn width(s: &str) -> usize {
    s.chars()
        .map(|c| match c as u32 {
            0x1100..=0x115F
            | 0x2E80..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6 => 2,
            _ => 1,
        })
        .sum()
}

#[test]
fn chinese_rules_and_catalog() {
    let dir = PathBuf::from("tests/mixed_width/中药");
    let report = check_paths(&[dir], Limits::default()).expect("readable");
    let diags = report.diags.sorted();
    let human = render_human(&diags, &report.map, false);
    let golden = PathBuf::from("tests/mixed_width/expected.human");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &human).expect("write golden");
    }
    let expected =
        std::fs::read_to_string(&golden).expect("golden exists; run with UPDATE_GOLDEN=1");
    assert_eq!(human, expected);

    // Independently of the golden: for every diagnostic, the underline on the rendered
    // source line starts at the display column of the span's first character.
    let mut checked = 0;
    for d in &diags {
        let Some(span) = d.span else { continue };
        let Some(file) = report.map.get(span.file) else {
            continue;
        };
        let (line_no, _) = file.line_col(span.start);
        let line_start = file.text[..span.start as usize]
            .rfind('\n')
            .map(|i| i + 1)
            .unwrap_or(0);
        let before = &file.text[line_start..span.start as usize];
        let rendered = render_human(std::slice::from_ref(d), &report.map, false);
        // The header counts characters, as the JSON output does.
        let (line, column) = file.line_col(span.start);
        let header = format!("{}:{line}:{column}]", file.name);
        assert!(
            rendered.contains(&header),
            "header is not at the character column {header}:\n{rendered}"
        );
        let lines: Vec<&str> = rendered.lines().collect();
        let Some(pos) = lines
            .iter()
            .position(|l| l.trim_start().starts_with(&format!("{line_no} │")))
        else {
            continue;
        };
        let marker = lines[pos + 1];
        let after_gutter = marker.split_once('·').map(|(_, r)| &r[1..]).unwrap_or("");
        let col = after_gutter.chars().take_while(|c| *c == ' ').count();
        assert_eq!(
            col,
            width(before),
            "label misplaced for {}:\n{rendered}",
            d.message
        );
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} labels checked");
}
