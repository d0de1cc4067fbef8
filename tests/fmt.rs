//! `rulec fmt`: the shipped rule files are formatted, formatting is idempotent, keeps every
//! comment, and never changes meaning: the shipped rulesets, laid out at random and
//! formatted, settle every shipped test case exactly as the originals do, and every example
//! of docs/language.md gives the same diagnostics codes before and after.

use rulec::api::{EvalOptions, Ruleset};
use rulec::fmt::{format_source, FmtError};
use rulec::limits::Limits;
use rulec::project::check_sources;
use rulec::testing::read_cases;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fmt(text: &str) -> String {
    match format_source(text, &Limits::default()) {
        Ok(s) => s,
        Err(FmtError::Syntax(d)) => panic!("syntax errors: {d:?}"),
        Err(e) => panic!("{e}"),
    }
}

fn files_under(root: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("readable").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Rewrites the layout at random: every run of spaces that does not touch a comment becomes
/// one to three spaces or a line break. Meaning is unchanged; the formatter must undo it.
fn scramble(text: &str, seed: &mut u64) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut chars = text.char_indices().peekable();
    let mut in_str = false;
    let mut in_line_comment = false;
    let mut in_block = false;
    while let Some((i, c)) = chars.next() {
        let rest = &text[i..];
        if in_line_comment {
            out.push(c);
            in_line_comment = c != '\n';
            continue;
        }
        if in_block {
            out.push(c);
            if rest.starts_with("*/") {
                out.push('/');
                chars.next();
                in_block = false;
            }
            continue;
        }
        if in_str {
            out.push(c);
            if c == '\\' {
                if let Some((_, n)) = chars.next() {
                    out.push(n);
                }
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                out.push(c);
            }
            '/' if rest.starts_with("//") => {
                in_line_comment = true;
                out.push(c);
            }
            '/' if rest.starts_with("/*") => {
                in_block = true;
                out.push(c);
            }
            ' ' => {
                let mut end = i + 1;
                while text[end..].starts_with(' ') {
                    chars.next();
                    end += 1;
                }
                let prev = text[..i].chars().last();
                let next = &text[end..];
                let touches = next.starts_with("//")
                    || next.starts_with("/*")
                    || next.starts_with('\n')
                    || prev == Some('/')
                    || prev == Some('\n');
                if touches {
                    out.push_str(&text[i..end]);
                    continue;
                }
                *seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                match (*seed >> 33) % 4 {
                    0 => out.push_str("\n      "),
                    1 => out.push_str("   "),
                    _ => out.push(' '),
                }
            }
            _ => out.push(c),
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("readable").flatten() {
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).expect("copy");
        }
    }
}

#[test]
fn shipped_rule_files_are_formatted() {
    let files = files_under(Path::new("rulesets"), "rulec");
    assert!(files.len() >= 13, "{files:?}");
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        let once = fmt(&text);
        assert_eq!(
            once,
            text,
            "{} is not formatted: run `rulec fmt`",
            f.display()
        );
        assert_eq!(
            fmt(&once),
            once,
            "{} formats differently twice",
            f.display()
        );
    }
}

#[test]
fn scrambled_and_formatted_rulesets_settle_every_shipped_case_identically() {
    let tmp = std::env::temp_dir().join(format!("rulec-fmt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    copy_dir(Path::new("rulesets"), &tmp);
    let mut seed = 0x00f0_2026_1123_u64;
    for f in files_under(&tmp, "rulec") {
        let text = std::fs::read_to_string(&f).expect("read");
        let messy = scramble(&text, &mut seed);
        assert_ne!(messy, text, "{}: the scramble changed nothing", f.display());
        let formatted = fmt(&messy);
        // The shipped files are formatted, so the formatter undoes the scramble exactly.
        assert_eq!(formatted, text, "{}", f.display());
        std::fs::write(&f, &formatted).expect("write");
    }
    let mut cases = 0;
    for case_file in files_under(Path::new("rulesets"), "json") {
        let Some(tests_dir) = case_file.parent() else {
            continue;
        };
        if tests_dir.file_name().is_none_or(|n| n != "tests") {
            continue;
        }
        let dir = tests_dir.parent().expect("ruleset dir");
        let rel = dir.strip_prefix("rulesets").expect("under rulesets");
        let original = Ruleset::load_dir(dir, Limits::default()).expect("shipped loads");
        let formatted =
            Ruleset::load_dir(tmp.join(rel), Limits::default()).expect("formatted loads");
        for c in read_cases(&case_file).expect("cases") {
            let opts = EvalOptions {
                as_of: c
                    .as_of
                    .as_deref()
                    .map(|d| rulec::value::Date::parse(d).expect("date")),
            };
            let a = original.evaluate(&c.claim, &opts);
            let b = formatted.evaluate(&c.claim, &opts);
            match (a, b) {
                (Ok(a), Ok(b)) => assert_eq!(
                    original.settlement_json(&a),
                    formatted.settlement_json(&b),
                    "{}: {}",
                    case_file.display(),
                    c.name
                ),
                (Err(a), Err(b)) => assert_eq!(
                    a.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>(),
                    b.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>(),
                    "{}: {}",
                    case_file.display(),
                    c.name
                ),
                (a, b) => panic!("{}: {}: {a:?} vs {b:?}", case_file.display(), c.name),
            }
            cases += 1;
        }
    }
    assert!(cases >= 80, "only {cases} cases");
    let _ = std::fs::remove_dir_all(&tmp);
}

fn codes(sources: &[(String, String)]) -> Vec<String> {
    let report = check_sources("doc", sources, Limits::default()).expect("checker ran");
    let mut c: Vec<String> = report
        .diags
        .iter()
        .map(|d| d.code.as_str().to_string())
        .collect();
    c.sort();
    c
}

#[test]
fn every_language_example_formats_to_the_same_codes() {
    let doc = std::fs::read_to_string("docs/language.md").expect("docs/language.md");
    let mut blocks: Vec<(String, String)> = Vec::new();
    let mut cur: Option<(String, String)> = None;
    for line in doc.lines() {
        match (&mut cur, line.strip_prefix("```")) {
            (None, Some(info)) => cur = Some((info.trim().to_string(), String::new())),
            (Some(_), Some(_)) => blocks.extend(cur.take()),
            (Some((_, t)), None) => {
                t.push_str(line);
                t.push('\n');
            }
            (None, None) => {}
        }
    }
    let prelude = blocks
        .iter()
        .find(|(i, _)| i == "rulec prelude")
        .map(|(_, t)| t.clone())
        .expect("prelude");
    let mut checked = 0;
    for (info, text) in &blocks {
        if !info.starts_with("rulec") {
            continue;
        }
        if info == "rulec dir" {
            // Each rule file of the directory formats idempotently; CSV parts are left alone.
            for part in text.split("// file: ").skip(1) {
                let (name, body) = part.split_once('\n').unwrap_or((part, ""));
                if name.ends_with(".rulec") {
                    let once = fmt(body);
                    assert_eq!(fmt(&once), once, "{name}");
                    checked += 1;
                }
            }
            continue;
        }
        let once = fmt(text);
        assert_eq!(fmt(&once), once, "not idempotent:\n{text}");
        let with = |body: &str| {
            let mut v = vec![("rules.rulec".to_string(), body.to_string())];
            if info != "rulec prelude" {
                v.push(("prelude.rulec".to_string(), prelude.clone()));
            }
            v
        };
        assert_eq!(
            codes(&with(text)),
            codes(&with(&once)),
            "{text}\n=>\n{once}"
        );
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} examples");
}

/// Every comment stays where it was: one on its own line before what follows it, a trailing
/// one at the end of the line of the token it followed (in blocks aligned with its
/// neighbours), a `/* … */` inside a line inline; what follows a line comment goes on the
/// next line, indented as a continuation.
#[test]
fn comments_of_every_kind_are_kept() {
    let src = r#"// leading
record R { a: int // first
  bb: text /* second */ }
table t(k: int): rate { 1 => 10% // one
 22 => /* c9 */ 5% } cite assumed
def x: int = /* inline */ 1 + // after plus
 2
def y: bool = 1 /* why */ == 1
param cap: money
  from /* c4 */ 2024-01-01 = 4_500 cite assumed // t1
  from 2025-01-01 = 5_000 cite assumed // t2
def z: int =
  if 1 > 2 then 1 // one
  else if 2 > 3 then 2 // two
  else // three
  3
def m: money = min(x, // first arg
 cap /* second */ )
def l: int = let a = 1; // c15
 let b = 2; a + b
def c: money = claim.total * 2 // c20
 + 3 // c21
 - 1
def k: int = match v { a => 1, // c12
 b | c => 2 /* c14 */ }
override /* a */ def w: int = 1
catalog fees { code: text key, fee: money } // note
rows {
  ["GH001", 10]
} cite assumed
// the end
"#;
    let out = fmt(src);
    assert_eq!(
        out,
        r#"// leading
record R {
  a: int    // first
  bb: text  /* second */
}
table t(k: int): rate {
   1 =>        10%  // one
  22 => /* c9 */ 5%
} cite assumed
def x: int = /* inline */
  1
    + // after plus
      2
def y: bool = 1 /* why */ == 1
param cap: money
  from /* c4 */ 2024-01-01 = 4_500 cite assumed // t1
  from 2025-01-01 = 5_000 cite assumed // t2
def z: int =
  if 1 > 2 then 1 // one
  else if 2 > 3 then 2 // two
  else // three
    3
def m: money =
  min(
    x, // first arg
    cap /* second */
  )
def l: int =
  let a = 1; // c15
  let b = 2;
  a + b
def c: money =
  claim.total * 2 // c20
    + 3 // c21
    - 1
def k: int =
  match v {
    a => 1, // c12
    b | c => 2 /* c14 */
  }
override /* a */ def w: int = 1
catalog fees { code: text key, fee: money } // note
  rows {
    ["GH001", 10]
  } cite assumed
// the end
"#
    );
    assert_eq!(fmt(&out), out);
}

#[test]
fn rows_are_aligned() {
    let out = fmt(
        "table ratio(level: int, status: Status): rate from 2024-01-01 cite assumed {\n\
         1, active => 80% 1, retired => 85%\n 10, active => 5% 10, retired => 100% }\n\
         catalog fees { code: text key, fee: money } rows { [\"A\", 5] [\"BBB\", 500] from 2024-01-01 }\n",
    );
    assert!(
        out.contains("     1, active  =>  80%    1, retired =>  85%\n    10, active  =>   5%   10, retired => 100%\n"),
        "{out}"
    );
    assert!(
        out.contains("  [\"A\",     5]\n  [\"BBB\", 500] from 2024-01-01\n"),
        "{out}"
    );
}

fn rulec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rulec"))
}

#[test]
fn check_prints_a_unified_diff_and_fails_then_fmt_fixes_the_file() {
    let dir = std::env::temp_dir().join(format!("rulec-fmt-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let file = dir.join("a.rulec");
    std::fs::write(&file, "param  cap:money=4_500 cite assumed\n").expect("write");
    let out = rulec()
        .arg("fmt")
        .arg("--check")
        .arg(&dir)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(
        diff.contains("--- ") && diff.contains("+++ ") && diff.contains("@@"),
        "{diff}"
    );
    assert!(
        diff.contains("-param  cap:money=4_500 cite assumed"),
        "{diff}"
    );
    assert!(
        diff.contains("+param cap: money = 4_500 cite assumed"),
        "{diff}"
    );
    let out = rulec().arg("fmt").arg(&file).output().expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let out = rulec()
        .arg("fmt")
        .arg("--check")
        .arg(&dir)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    // A file that does not parse is left alone and reported.
    std::fs::write(&file, "param cap: = 1\n").expect("write");
    let out = rulec().arg("fmt").arg(&file).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("E0006"));
    assert_eq!(
        std::fs::read_to_string(&file).expect("read"),
        "param cap: = 1\n"
    );
    // A refusal by the formatter's self-check is counted as what it is (the formatter
    // keeps the Unicode noncharacters U+FDD0.. for itself).
    std::fs::write(&file, "// \u{FDD0}\nparam cap: money = 1 cite assumed\n").expect("write");
    let out = rulec().arg("fmt").arg(&file).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("internal formatter error")
            && err.contains("1 not formatted (internal formatter error)")
            && !err.contains("syntax errors"),
        "{err}"
    );
    // A path that does not exist is named, with what was expected there.
    let missing = dir.join("nonexist.rulec");
    let out = rulec().arg("fmt").arg(&missing).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("`{}`", missing.display()))
            && err.contains("expected a .rulec file or a directory"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn coverage_and_ignored_columns_are_formatted() {
    let out = fmt(
        "covers   claim.visit == outpatient and claim.insured.scheme == employee cite assumed\n\
         catalog c { code: text key, name: text, .. } from \"c.csv\"\n\
         catalog d {\n code: text key // the code\n .. // the rest\n } from \"d.csv\"\n",
    );
    assert_eq!(
        out,
        "covers claim.visit == outpatient and claim.insured.scheme == employee cite assumed\n\
         catalog c { code: text key, name: text, .. } from \"c.csv\"\n\
         catalog d {\n  code: text key  // the code\n  ..              // the rest\n} from \"d.csv\"\n"
    );
}
