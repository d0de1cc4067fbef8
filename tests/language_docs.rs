//! Checks every example in `docs/language.md`, so the reference cannot rot.

use rulec::diag::render_human;
use rulec::limits::Limits;
use rulec::project::{check_paths, check_sources, CheckReport};

struct Block {
    info: String,
    text: String,
    line: usize,
}

fn blocks(doc: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut cur: Option<Block> = None;
    for (i, line) in doc.lines().enumerate() {
        match (&mut cur, line.strip_prefix("```")) {
            (None, Some(info)) => {
                cur = Some(Block {
                    info: info.trim().to_string(),
                    text: String::new(),
                    line: i + 1,
                })
            }
            (Some(_), Some(_)) => out.extend(cur.take()),
            (Some(b), None) => {
                b.text.push_str(line);
                b.text.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

fn errors(report: &CheckReport) -> Vec<String> {
    report
        .diags
        .sorted()
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code.as_str().to_string())
        .collect()
}

#[test]
fn every_example_in_the_language_reference_checks() {
    let doc = std::fs::read_to_string("docs/language.md").expect("docs/language.md");
    let all = blocks(&doc);
    let prelude = all
        .iter()
        .find(|b| b.info == "rulec prelude")
        .map(|b| b.text.clone())
        .expect("prelude block");
    let tmp = std::env::temp_dir().join(format!("rulec-docs-{}", std::process::id()));
    let mut checked = 0;
    let mut failures = Vec::new();
    for (n, b) in all.iter().enumerate() {
        let mut words = b.info.split_whitespace();
        if words.next() != Some("rulec") {
            continue;
        }
        let mode = words.next().unwrap_or("");
        let report = match mode {
            "prelude" => check_sources(
                "prelude",
                &[("prelude.rulec".into(), b.text.clone())],
                Limits::default(),
            ),
            "dir" => {
                let dir = tmp.join(format!("block{n}"));
                let mut leaf = dir.clone();
                let mut current: Option<(String, String)> = None;
                let mut files = Vec::new();
                for line in b.text.lines() {
                    if let Some(name) = line.strip_prefix("// file: ") {
                        files.extend(current.take());
                        current = Some((name.trim().to_string(), String::new()));
                    } else if let Some((_, t)) = &mut current {
                        t.push_str(line);
                        t.push('\n');
                    }
                }
                files.extend(current.take());
                for (name, text) in &files {
                    let p = dir.join(name);
                    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
                    std::fs::write(&p, text).expect("write");
                    if name.ends_with(".rulec") {
                        leaf = p.parent().expect("parent").to_path_buf();
                    }
                }
                check_paths(&[leaf], Limits::default())
            }
            _ => check_sources(
                "example",
                &[("example.rulec".into(), format!("{prelude}{}", b.text))],
                Limits::default(),
            ),
        }
        .expect("checker ran");
        let errs = errors(&report);
        let rendered = render_human(&report.diags.sorted(), &report.map, false);
        match (mode, words.next()) {
            ("fails", Some(code)) => {
                if !errs.iter().any(|e| e.ends_with(code)) {
                    failures.push(format!(
                        "docs/language.md:{}: expected {code}, got {errs:?}\n{rendered}",
                        b.line
                    ));
                }
            }
            _ => {
                if !errs.is_empty() {
                    failures.push(format!(
                        "docs/language.md:{}: example does not check:\n{rendered}",
                        b.line
                    ));
                }
            }
        }
        checked += 1;
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 20, "only {checked} examples found");
}

/// The built-in functions of docs/language.md are those of the registry (`src/builtins.rs`):
/// each one the checker knows is documented, and the table names no other.
#[test]
fn every_built_in_function_is_documented_and_no_other() {
    let doc = std::fs::read_to_string("docs/language.md").expect("docs/language.md");
    let names: Vec<&str> = rulec::builtins::BUILTINS.iter().map(|e| e.name).collect();
    for n in &names {
        assert!(
            doc.contains(&format!("`{n}(")),
            "`{n}` is a built-in function but docs/language.md does not show it called"
        );
    }
    let table = doc
        .split("### Built-in functions")
        .nth(1)
        .and_then(|t| t.split("```").next())
        .expect("the built-in functions table");
    let mut listed = 0;
    for cell in table.lines().filter_map(|l| l.split('|').nth(1)) {
        for call in cell.split('`').skip(1).step_by(2) {
            let Some((name, _)) = call.split_once('(') else {
                continue;
            };
            assert!(
                names.contains(&name),
                "docs/language.md lists `{name}`, no built-in"
            );
            listed += 1;
        }
    }
    assert!(listed >= 15, "only {listed} functions in the table");
}
