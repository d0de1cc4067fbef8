//! Bounded reads: rule files, catalogs and claims are read only when they are regular files
//! (standard input `-` excepted), and never past the size limit. A FIFO must not block,
//! `/dev/zero` must not grow memory, a directory is not a claim. Each case checks the exit
//! code and that the message names the path and what it is.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn rulec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rulec"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("rulec runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rulec-io-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[cfg(unix)]
fn mkfifo(p: &Path) {
    let ok = Command::new("mkfifo").arg(p).status().expect("mkfifo");
    assert!(ok.success());
}

#[cfg(unix)]
#[test]
fn rule_files_that_are_not_regular_files_are_refused() {
    let dir = scratch("rules");
    let fifo = dir.join("rules.rulec");
    mkfifo(&fifo);
    for (path, what) in [
        (s(&fifo), "is a FIFO (named pipe), not a regular file"),
        ("/dev/zero", "is a character device, not a regular file"),
    ] {
        let out = rulec(&["check", path]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let t = text(&out);
        assert!(t.contains(path) && t.contains(what), "{t}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn claims_that_are_not_regular_files_are_refused() {
    let dir = scratch("claims");
    let fifo = dir.join("claim.json");
    mkfifo(&fifo);
    for (path, what) in [
        (s(&fifo), "is a FIFO (named pipe), not a regular file"),
        ("/dev/zero", "is a character device, not a regular file"),
        (s(&dir), "is a directory, not a regular file"),
    ] {
        let out = rulec(&["eval", "rulesets/shandong/binzhou", path]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let t = text(&out);
        assert!(t.contains(path) && t.contains(what), "{t}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_claim_over_the_size_limit_is_refused_while_reading() {
    let dir = scratch("big");
    let big = dir.join("claim.json");
    let limit = rulec::limits::Limits::default().max_claim_bytes;
    std::fs::write(&big, vec![b' '; limit + 1]).expect("write");
    let out = rulec(&["eval", "rulesets/shandong/binzhou", s(&big)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("rulec::E0715"), "{}", text(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn stdin_is_read_through_the_same_cap() {
    let limit = rulec::limits::Limits::default().max_claim_bytes;
    let mut child = Command::new(env!("CARGO_BIN_EXE_rulec"))
        .args(["eval", "rulesets/shandong/binzhou", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    // Writes more than the limit; rulec stops reading at the limit, so the write may fail
    // with a closed pipe, which is fine.
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let chunk = vec![b' '; 1 << 20];
        let mut sent = 0;
        while sent <= limit {
            if stdin.write_all(&chunk).is_err() {
                break;
            }
            sent += chunk.len();
        }
    });
    let out = child.wait_with_output().expect("waits");
    let _ = writer.join();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("rulec::E0715"), "{}", text(&out));
}

#[test]
fn rulec_test_names_a_missing_path() {
    let out = rulec(&["test", "missing-ruleset-dir/"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("missing-ruleset-dir"), "{}", text(&out));
}

#[test]
fn extends_must_name_a_ruleset_directory() {
    let dir = scratch("extends");
    let child = dir.join("child");
    let plain = dir.join("plain");
    std::fs::create_dir_all(&child).expect("mkdir");
    std::fs::create_dir_all(&plain).expect("mkdir");
    // A directory whose rule file has no `ruleset` header is not a ruleset.
    std::fs::write(plain.join("x.rulec"), "param p: money = 1 cite assumed\n").expect("write");
    std::fs::write(
        child.join("rules.rulec"),
        "ruleset \"child\" extends \"../plain\"\nparam q: money = 2 cite assumed\n",
    )
    .expect("write");
    let out = rulec(&["check", s(&child)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("rulec::E0108") && t.contains("is not a ruleset"),
        "{t}"
    );
    // Nor is a file.
    std::fs::write(
        child.join("rules.rulec"),
        "ruleset \"child\" extends \"../plain/x.rulec\"\nparam q: money = 2 cite assumed\n",
    )
    .expect("write");
    let out = rulec(&["check", s(&child)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("rulec::E0108"), "{}", text(&out));
    // A file outside the tree (`/etc/passwd`): named for what it is, its contents never
    // shown.
    let secret = dir.join("secret.txt");
    std::fs::write(&secret, "root:x:0:0:SECRET-CONTENT\n").expect("write");
    std::fs::write(
        child.join("rules.rulec"),
        format!(
            "ruleset \"child\" extends \"{}\"\nparam q: money = 2 cite assumed\n",
            secret.display()
        ),
    )
    .expect("write");
    let out = rulec(&["check", s(&child)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("rulec::E0108")
            && t.contains("is not a directory holding a ruleset header")
            && !t.contains("does not exist")
            && !t.contains("SECRET-CONTENT"),
        "{t}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_test_file_that_is_not_a_regular_file_fails_its_case_with_the_path() {
    let dir = scratch("testfile");
    let rs = dir.join("rs");
    std::fs::create_dir_all(rs.join("tests/dir.json")).expect("mkdir");
    std::fs::write(
        rs.join("rules.rulec"),
        "ruleset \"rs\"\nrecord Claim { date: date }\ninput claim: Claim\nas_of claim.date\noutput x: int = 1\n",
    )
    .expect("write");
    let out = rulec(&["test", s(&rs)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("is a directory, not a regular file"),
        "{}",
        text(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_that_is_not_a_rule_file_is_not_parsed_or_echoed() {
    let dir = scratch("notrules");
    let secret = dir.join("claim.json");
    std::fs::write(&secret, "{\"password\": \"hunter2\"}\n").expect("write");
    let out = rulec(&["check", s(&secret)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("not a rule file") && t.contains(s(&secret)),
        "{t}"
    );
    assert!(!t.contains("hunter2"), "{t}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn a_symbolic_link_loop_under_a_rulesets_directory_ends() {
    let dir = scratch("symloop");
    let rs = dir.join("rs");
    std::fs::create_dir_all(&rs).expect("mkdir");
    std::fs::write(
        rs.join("rules.rulec"),
        "ruleset \"rs\"\nparam p: money = 1 cite assumed\n",
    )
    .expect("write");
    std::os::unix::fs::symlink("..", rs.join("up")).expect("symlink");
    let out = rulec(&["check", s(&dir)]);
    assert!(out.status.code().is_some(), "{}", text(&out));
    assert!(text(&out).contains("checked"), "{}", text(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn a_fifo_among_the_rule_files_is_refused_not_skipped() {
    let dir = scratch("fifo-in-dir");
    std::fs::write(
        dir.join("a.rulec"),
        "ruleset \"x\"\nparam p: money = 1 cite assumed\n",
    )
    .expect("write");
    mkfifo(&dir.join("b.rulec"));
    let out = rulec(&["check", s(&dir)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("is a FIFO (named pipe)"),
        "{}",
        text(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_directory_named_like_a_rule_file_is_refused_not_skipped() {
    let dir = scratch("dir-in-dir");
    std::fs::write(
        dir.join("a.rulec"),
        "ruleset \"x\"\nparam p: money = 1 cite assumed\n",
    )
    .expect("write");
    std::fs::create_dir(dir.join("b.rulec")).expect("mkdir");
    let out = rulec(&["check", s(&dir)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("b.rulec") && t.contains("is a directory, not a regular file"),
        "{t}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn check_reports_a_test_file_that_is_a_directory_or_a_fifo() {
    let dir = scratch("check-tests");
    let rs = dir.join("demo");
    std::fs::create_dir_all(rs.join("tests/cases.json")).expect("mkdir");
    mkfifo(&rs.join("tests/more.json"));
    std::fs::write(
        rs.join("rules.rulec"),
        "ruleset \"demo\"\nrecord Claim { date: date }\ninput claim: Claim\nas_of claim.date\n",
    )
    .expect("write");
    let out = rulec(&["check", s(&rs), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let diags: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("a JSON list");
    let about: Vec<(String, String)> = diags
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap_or("").to_string(),
                d["message"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(about.len(), 2, "{about:?}");
    assert!(
        about.iter().all(|(code, _)| code == "rulec::E0801"),
        "{about:?}"
    );
    assert!(
        about[0].1.contains("is a directory, not a regular file"),
        "{about:?}"
    );
    assert!(about[1].1.contains("is a FIFO (named pipe)"), "{about:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
