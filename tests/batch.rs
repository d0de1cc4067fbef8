//! `rulec eval --batch`: one output line per input line, in order, whatever the line holds;
//! and the I/O cases: a closed pipe, a full disk, a directory, a FIFO, a missing file.

use serde_json::Value as Json;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const RULESET: &str = "rulesets/sample/city";

fn claim_line() -> String {
    let text = std::fs::read_to_string("rulesets/sample/claims/outpatient.json").expect("claim");
    let j: Json = serde_json::from_str(&text).expect("claim JSON");
    j.to_string()
}

/// A temporary path no other test in this process uses: the tests run in parallel, and two
/// of them writing one input file would read each other's lines.
fn temp(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("rulec-batch-{}-{n}-{name}", std::process::id()))
}

fn rulec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rulec"))
}

fn batch(input: &[u8], jobs: &str) -> (Option<i32>, Vec<Json>, String) {
    let path = temp(&format!("in-{jobs}.jsonl"));
    std::fs::write(&path, input).expect("write input");
    let out = rulec()
        .args(["eval", RULESET, "--batch"])
        .arg(&path)
        .args(["--jobs", jobs])
        .output()
        .expect("rulec runs");
    let _ = std::fs::remove_file(&path);
    let lines = String::from_utf8(out.stdout)
        .expect("UTF-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("every output line is JSON"))
        .collect();
    (
        out.status.code(),
        lines,
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn code_of(line: &Json) -> &str {
    line["error"][0]["code"].as_str().unwrap_or("")
}

#[test]
fn every_line_gives_one_line_in_order() {
    let good = claim_line();
    let other = good.replace("\"c1\"", "\"c2\"");
    let unknown = good.replace("\"items\"", "\"itemz\"");
    let mut input = Vec::new();
    input.extend_from_slice(format!("{good}\n\n{{bad\n{unknown}\n{other}\r\n").as_bytes());
    input.extend_from_slice(b"{\"claim_id\": \"\xff\xfe\"}\n");
    input.extend_from_slice(other.as_bytes()); // the last line has no newline
    for jobs in ["1", "2", "3"] {
        let (code, lines, stderr) = batch(&input, jobs);
        assert_eq!(code, Some(1), "some lines failed: exit 1 ({stderr})");
        assert_eq!(lines.len(), 7, "{lines:?}");
        assert_eq!(lines[0]["claim_id"], "c1");
        assert_eq!(lines[0]["ruleset"], "sample/city");
        assert_eq!(
            (lines[1]["line"].as_u64(), code_of(&lines[1])),
            (Some(2), "rulec::E0710")
        );
        assert_eq!(lines[1]["error"][0]["message"], "empty line");
        assert_eq!(
            (lines[2]["line"].as_u64(), code_of(&lines[2])),
            (Some(3), "rulec::E0710")
        );
        assert!(lines[2].get("claim_id").is_none());
        // A claim that parses but does not fit keeps its claim_id on the error line.
        assert_eq!(
            (lines[3]["line"].as_u64(), code_of(&lines[3])),
            (Some(4), "rulec::E0710")
        );
        assert_eq!(lines[3]["claim_id"], "c1");
        // CRLF line endings read like LF.
        assert_eq!(lines[4]["claim_id"], "c2");
        assert_eq!(lines[4]["funds"], lines[0]["funds"]);
        // Bad UTF-8 is refused with its offset, and the batch goes on.
        assert_eq!(
            (lines[5]["line"].as_u64(), code_of(&lines[5])),
            (Some(6), "rulec::E0710")
        );
        assert!(
            lines[5]["error"][0]["message"]
                .as_str()
                .unwrap_or("")
                .contains("not valid UTF-8 (bad byte at offset 14)"),
            "{}",
            lines[5]
        );
        assert_eq!(lines[6]["claim_id"], "c2");
    }
}

#[test]
fn a_line_over_the_claim_limit_is_reported_not_buffered() {
    let good = claim_line();
    let limit = rulec::limits::Limits::default().max_claim_bytes;
    let mut input = format!("{good}\n").into_bytes();
    input.extend(std::iter::repeat_n(b' ', limit + 10));
    input.extend_from_slice(format!("\n{good}\n").as_bytes());
    let (code, lines, _) = batch(&input, "2");
    assert_eq!(code, Some(1));
    assert_eq!(lines.len(), 3);
    assert_eq!(
        (lines[1]["line"].as_u64(), code_of(&lines[1])),
        (Some(2), "rulec::E0715")
    );
    assert_eq!(lines[2]["claim_id"], "c1");
}

#[test]
fn endless_input_without_line_ends_settles_what_came_before_then_fails_once() {
    // `(head -2 claims.jsonl; cat /dev/zero) | rulec eval … --batch -`: the claims before the
    // endless line are settled and written, then the batch stops with one error (exit 2)
    // instead of reading forever.
    let good = claim_line();
    let mut child = rulec()
        .args(["eval", RULESET, "--batch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rulec runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let feeder = std::thread::spawn(move || {
        let _ = writeln!(stdin, "{good}\n{good}");
        let zeros = vec![0u8; 1 << 20];
        // Feed until rulec stops reading (a broken pipe), at most 1 GB.
        for _ in 0..1024 {
            if stdin.write_all(&zeros).is_err() {
                break;
            }
        }
    });
    let done = child.wait_with_output().expect("rulec ends");
    let _ = feeder.join();
    let out = String::from_utf8_lossy(&done.stdout);
    let err = String::from_utf8_lossy(&done.stderr);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        out.lines().all(|l| l.contains("\"claim_id\":\"c1\"")),
        "{out}"
    );
    assert_eq!(done.status.code(), Some(2));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("line 3 runs past") && err.contains("not JSON Lines"),
        "{err}"
    );
}

#[test]
fn many_lines_on_many_workers_keep_their_order() {
    let good = claim_line();
    let mut input = String::new();
    for i in 0..9_000 {
        let line = good.replace("\"c1\"", &format!("\"c{i}\""));
        if i % 997 == 0 {
            input.push_str("[]\n");
        } else {
            input.push_str(&line);
            input.push('\n');
        }
    }
    let (code, lines, _) = batch(input.as_bytes(), "2");
    assert_eq!(code, Some(1));
    assert_eq!(lines.len(), 9_000);
    for (i, l) in lines.iter().enumerate() {
        if i % 997 == 0 {
            assert_eq!(l["line"].as_u64(), Some(i as u64 + 1), "{l}");
        } else {
            assert_eq!(
                l["claim_id"].as_str(),
                Some(format!("c{i}").as_str()),
                "{l}"
            );
        }
    }
}

#[test]
fn a_closed_pipe_ends_the_batch_quietly() {
    let good = claim_line();
    let path = temp("pipe.jsonl");
    let mut f = std::fs::File::create(&path).expect("create");
    for _ in 0..50_000 {
        writeln!(f, "{good}").expect("write");
    }
    drop(f);
    let mut child = rulec()
        .args(["eval", RULESET, "--batch"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rulec runs");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    out.read_line(&mut first).expect("one line");
    drop(out); // the reader goes away, like `| head -1`
    let done = child.wait_with_output().expect("rulec ends");
    let _ = std::fs::remove_file(&path);
    assert!(first.contains("\"claim_id\":\"c1\""), "{first}");
    assert_eq!(
        done.status.code(),
        Some(0),
        "a closed pipe is not a failure"
    );
    assert_eq!(
        String::from_utf8_lossy(&done.stderr),
        "",
        "and needs no message"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_exits_2() {
    let path = temp("full.jsonl");
    std::fs::write(&path, format!("{}\n", claim_line()).repeat(50)).expect("write");
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let out = rulec()
        .args(["eval", RULESET, "--batch"])
        .arg(&path)
        .stdout(full)
        .output()
        .expect("rulec runs");
    let _ = std::fs::remove_file(&path);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot write the settlements") && err.contains("No space left"),
        "{err}"
    );
}

#[test]
fn an_input_that_is_not_a_regular_file_fails_once() {
    let dir = std::env::temp_dir();
    let out = rulec()
        .args(["eval", RULESET, "--batch"])
        .arg(&dir)
        .output()
        .expect("rulec runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("is a directory, not a regular file"), "{err}");

    let missing = temp("missing.jsonl");
    let out = rulec()
        .args(["eval", RULESET, "--batch"])
        .arg(&missing)
        .output()
        .expect("rulec runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&*missing.display().to_string()), "{err}");
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_without_blocking() {
    let fifo = temp("fifo");
    let _ = std::fs::remove_file(&fifo);
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        return; // no mkfifo on this system: nothing to test
    }
    let out = rulec()
        .args(["eval", RULESET, "--batch"])
        .arg(&fifo)
        .output()
        .expect("rulec runs");
    let _ = std::fs::remove_file(&fifo);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a FIFO (named pipe)"));
}

#[test]
fn a_routed_batch_shows_the_rule_errors_once_and_jobs_are_bounded() {
    // A routing root whose city ruleset has one error: every claim routed there fails with
    // E0713 on its line, and the error itself (E0201, at its place) is shown once on stderr.
    let root = temp("root");
    let sample = root.join("sample");
    for dir in ["city", "national"] {
        let to = sample.join(dir);
        std::fs::create_dir_all(&to).expect("mkdir");
        for e in std::fs::read_dir(Path::new("rulesets/sample").join(dir))
            .expect("read dir")
            .flatten()
        {
            std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
        }
    }
    let rules = sample.join("city/pooling.rulec");
    let mut text = std::fs::read_to_string(&rules).expect("read");
    text.push_str("\nparam broken: money = no_such_name cite assumed\n");
    std::fs::write(&rules, text).expect("write");
    let input = temp("routed.jsonl");
    let good = claim_line();
    std::fs::write(&input, format!("{good}\n{good}\n{good}\n")).expect("write input");
    let out = rulec()
        .args(["eval", "--rulesets"])
        .arg(&root)
        .arg("--batch")
        .arg(&input)
        .output()
        .expect("rulec runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stdout.lines().count(), 3);
    assert!(
        stdout.lines().all(|l| l.contains("rulec::E0713")),
        "{stdout}"
    );
    assert_eq!(stderr.matches("rulec::E0201").count(), 1, "{stderr}");
    assert!(stderr.contains("no_such_name"), "{stderr}");
    // --jobs is 1 to 256: 0 and 100,000 are usage errors, not a hang.
    for jobs in ["0", "100000", "x"] {
        let out = rulec()
            .args(["eval", RULESET, "--batch"])
            .arg(&input)
            .args(["--jobs", jobs])
            .output()
            .expect("rulec runs");
        assert_eq!(out.status.code(), Some(2), "--jobs {jobs}");
    }
    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::remove_file(&input);
}
