//! `rulec lsp` spoken to over JSON-RPC, as an editor does: diagnostics on unsaved buffers
//! (rule files, CSV catalogs and test files), the same as `rulec check`'s; hover (names,
//! fields, columns, enum values, locals, built-in types, table rows), definition across
//! layers, references, symbols, completion, formatting and rename (and its refusals, with a
//! reason); navigation in a file opened broken; malformed messages answered; and the server
//! survives the hostile inputs of the test corpora sent as a change (every hostile file, every
//! 8th fuzz input; all with `RULEC_LSP_FULL_CORPUS=1`), answering the next request each time.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

struct Client {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<Value>,
    next: i64,
    /// Notifications seen so far.
    notes: Vec<Value>,
}

impl Client {
    fn start(root: &Path) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rulec"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("rulec lsp starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(n) = line.strip_prefix("Content-Length: ") {
                        len = n.parse().expect("length");
                    }
                }
                let mut buf = vec![0; len];
                if r.read_exact(&mut buf).is_err() {
                    return;
                }
                if tx
                    .send(serde_json::from_slice(&buf).expect("json"))
                    .is_err()
                {
                    return;
                }
            }
        });
        let mut c = Client {
            child,
            stdin,
            rx,
            next: 1,
            notes: Vec::new(),
        };
        let init = c.request(
            "initialize",
            json!({"processId": null, "rootUri": uri(root), "capabilities": {}}),
        );
        assert!(
            init["capabilities"]["hoverProvider"]
                .as_bool()
                .unwrap_or(false),
            "{init}"
        );
        c.notify("initialized", json!({}));
        c
    }

    fn send(&mut self, v: Value) {
        let body = v.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        self.stdin.flush().expect("flush");
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next;
        self.next += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let msg = self
                .rx
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no answer to {method}"));
            if msg.get("id") == Some(&json!(id)) {
                assert!(msg.get("error").is_none(), "{msg}");
                return msg["result"].clone();
            }
            self.notes.push(msg);
        }
    }

    /// A request's whole answer, error or result.
    fn answer(&mut self, method: &str, params: Value) -> Value {
        let id = self.next;
        self.next += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.wait_for(&json!(id))
    }

    /// The next message with this id.
    fn wait_for(&mut self, id: &Value) -> Value {
        loop {
            let msg = self
                .rx
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no answer with id {id}"));
            if msg.get("id") == Some(id) {
                return msg;
            }
            self.notes.push(msg);
        }
    }

    /// The last diagnostics published for a file.
    fn diagnostics(&self, file: &Path) -> Option<Vec<Value>> {
        let u = uri(file);
        self.notes
            .iter()
            .rev()
            .find(|n| n["method"] == "textDocument/publishDiagnostics" && n["params"]["uri"] == u)
            .map(|n| {
                n["params"]["diagnostics"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
    }

    fn open(&mut self, file: &Path, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri(file), "languageId": "rulec", "version": 1, "text": text}}),
        );
    }

    fn change(&mut self, file: &Path, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri(file), "version": 2}, "contentChanges": [{"text": text}]}),
        );
    }

    fn at(&mut self, method: &str, file: &Path, line: usize, character: usize) -> Value {
        self.request(
            method,
            json!({"textDocument": {"uri": uri(file)}, "position": {"line": line, "character": character},
                   "context": {"includeDeclaration": true}}),
        )
    }

    fn stop(mut self) {
        let _ = self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        let _ = self.child.wait();
    }
}

fn uri(p: &Path) -> String {
    format!("file://{}", p.display())
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("readable").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

/// A workspace with the national base and Jilin (which extends it).
fn workspace(name: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("rulec-lsp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    copy_dir(Path::new("rulesets/china"), &root.join("china"));
    copy_dir(Path::new("rulesets/jilin"), &root.join("jilin"));
    let _ = std::fs::remove_dir_all(root.join("jilin/changchun"));
    root.canonicalize().expect("root")
}

/// (line, character) of the first occurrence of `needle` in `text` (+ `skip` characters).
fn find(text: &str, needle: &str, skip: usize) -> (usize, usize) {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not in the text"));
    let before = &text[..at];
    let line = before.matches('\n').count();
    let col = before[before.rfind('\n').map(|i| i + 1).unwrap_or(0)..]
        .chars()
        .count();
    (line, col + skip)
}

fn uris(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|l| {
                    l["uri"]
                        .as_str()
                        .or(l["location"]["uri"].as_str())
                        .unwrap_or("")
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn an_editor_session() {
    let root = workspace("session");
    let jilin = root.join("jilin/jilin.rulec");
    let lines = root.join("china/lines.rulec");
    let csv = root.join("china/catalog.csv");
    let mut c = Client::start(&root);

    // An unsaved error, at its exact range.
    let original = std::fs::read_to_string(&jilin).expect("read");
    let broken = format!("{original}\noutput broken: money = undefined_amount + 1\n");
    c.open(&jilin, &broken);
    let _ = c.request("workspace/symbol", json!({"query": ""}));
    let diags = c
        .diagnostics(&jilin)
        .expect("diagnostics for the open file");
    let (line, col) = find(&broken, "undefined_amount", 0);
    let d = diags
        .iter()
        .find(|d| d["code"] == "rulec::E0101")
        .unwrap_or_else(|| panic!("{diags:?}"));
    assert_eq!(
        d["range"]["start"],
        json!({"line": line, "character": col}),
        "{d}"
    );
    assert_eq!(
        d["range"]["end"],
        json!({"line": line, "character": col + 16}),
        "{d}"
    );
    c.change(&jilin, &original);
    let _ = c.request("workspace/symbol", json!({"query": ""}));
    assert_eq!(
        c.diagnostics(&jilin),
        Some(Vec::new()),
        "fixed, the error goes"
    );

    // A bad CSV cell shows in the CSV file.
    let csv_text = std::fs::read_to_string(&csv).expect("read");
    let bad_csv = csv_text.replacen(",drug,A,,", ",drug,Z,,", 1);
    c.open(&csv, &bad_csv);
    let _ = c.request("workspace/symbol", json!({"query": ""}));
    let csv_diags = c.diagnostics(&csv).expect("diagnostics for the CSV file");
    assert!(!csv_diags.is_empty());
    assert_eq!(
        csv_diags[0]["range"]["start"]["line"],
        json!(1),
        "{csv_diags:?}"
    );
    c.change(&csv, &csv_text);

    // An unsaved change in the parent shows its consequences in the child: `china` alone
    // is fine with `eligible` renamed, but `jilin` uses it.
    let lines_saved = std::fs::read_to_string(&lines).expect("read");
    let renamed = lines_saved.replacen("output eligible:", "output eligible_amount:", 1);
    assert_ne!(renamed, lines_saved);
    c.open(&lines, &renamed);
    let _ = c.request("workspace/symbol", json!({"query": ""}));
    let child = c.diagnostics(&jilin).expect("diagnostics for the child");
    assert!(
        child
            .iter()
            .any(|d| d["code"] == "rulec::E0101" && d["message"].to_string().contains("eligible")),
        "{child:?}"
    );
    assert!(
        c.diagnostics(&lines).unwrap_or_default().is_empty(),
        "the parent is fine"
    );
    c.change(&lines, &lines_saved);
    let _ = c.request("workspace/symbol", json!({"query": ""}));
    assert_eq!(
        c.diagnostics(&jilin),
        Some(Vec::new()),
        "restored, the error goes"
    );

    // Hover: type, layer, every version with its citation, the value in force today.
    let (l, ch) = find(&original, "param critical_cap", 7);
    let hover = c.at("textDocument/hover", &jilin, l, ch);
    let md = hover["contents"]["value"].as_str().unwrap_or("");
    for want in [
        "param critical_cap: money",
        "layer `jilin`",
        "from 2020-01-01 until 2023-12-31",
        "300_000",
        "大病保险年度报销封顶线由30万元",
        "In force today",
    ] {
        assert!(md.contains(want), "{want} not in {md}");
    }
    // … and for a table: its versions (row counts) with their citation, the one in force.
    let (l, ch) = find(&original, "table resident_ratio", 7);
    let md = c.at("textDocument/hover", &jilin, l, ch)["contents"]["value"].to_string();
    for want in [
        "table resident_ratio",
        "layer `jilin`",
        "| always | 3 rows | cite assumed |",
        "In force today",
        "| level | value |",
        "| 2 | 75% |",
    ] {
        assert!(md.contains(want), "{want} not in {md}");
    }
    // Hover on a built-in function: its signature, from the registry.
    let (l, ch) = find(&original, "round(", 1);
    let md = c.at("textDocument/hover", &jilin, l, ch)["contents"]["value"].to_string();
    assert!(
        md.contains("built-in function `round`") && md.contains("value, unit, mode"),
        "{md}"
    );
    // Hover on an inherited name names its layer.
    let (l, ch) = find(&original, "epidemic_case or code in national", 27);
    let md = c.at("textDocument/hover", &jilin, l, ch)["contents"]["value"].to_string();
    assert!(
        md.contains("catalog national") && md.contains("layer `china`") && md.contains("rows"),
        "{md}"
    );
    // Hover on a code string: the catalog row.
    let lines_text = std::fs::read_to_string(&lines).expect("read");
    let fixture = format!("{original}\ndef is_xa: bool = \"XA003\" in national\n");
    c.change(&jilin, &fixture);
    let (l, ch) = find(&fixture, "\"XA003\"", 2);
    let md = c.at("textDocument/hover", &jilin, l, ch)["contents"]["value"].to_string();
    assert!(
        md.contains("catalog `national`") && md.contains("阿托伐他汀钙片") && md.contains("10%"),
        "{md}"
    );
    let def = c.at("textDocument/definition", &jilin, l, ch);
    assert!(
        uris(&def).iter().any(|u| u.ends_with("china/catalog.csv")),
        "{def}"
    );
    assert_eq!(def[0]["range"]["start"]["line"], json!(3), "{def}");
    c.change(&jilin, &original);

    // Definition across layers: override → parent, parent → override, catalog → CSV.
    let (l, ch) = find(&original, "override def in_scope", 13);
    let def = c.at("textDocument/definition", &jilin, l, ch);
    assert_eq!(uris(&def), vec![uri(&lines)], "{def}");
    c.change(&lines, &lines_text);
    let (l, ch) = find(&lines_text, "def in_scope", 5);
    let def = c.at("textDocument/definition", &lines, l, ch);
    assert_eq!(uris(&def), vec![uri(&jilin)], "{def}");
    let (l, ch) = find(&lines_text, "catalog national", 9);
    let def = c.at("textDocument/definition", &lines, l, ch);
    assert!(uris(&def).contains(&uri(&csv)), "{def}");

    // References and symbols.
    let (l, ch) = find(&original, "def resident_inpatient", 5);
    let refs = c.at("textDocument/references", &jilin, l, ch);
    let n = original.matches("resident_inpatient").count();
    assert_eq!(refs.as_array().map(Vec::len), Some(n), "{refs}");
    let syms = c.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": uri(&jilin)}}),
    );
    assert!(syms.to_string().contains("critical_cap"), "{syms}");
    let ws = c.request("workspace/symbol", json!({"query": "line_amount"}));
    assert!(uris(&ws).contains(&uri(&lines)), "{ws}");

    // Completion: record fields after `.`, names in scope with their layer, keywords, codes.
    let typing = format!("{original}\ndef probe: bool = claim.insured.\n");
    c.change(&jilin, &typing);
    let (l, ch) = find(&typing, "claim.insured.\n", 14);
    let items = c.at("textDocument/completion", &jilin, l, ch).to_string();
    assert!(
        items.contains("\"scheme\"") && items.contains("\"assistance\""),
        "{items}"
    );
    let typing = format!("{original}\ndef probe2: money = sum(claim.items, i => i.)\n");
    c.change(&jilin, &typing);
    let (l, ch) = find(&typing, "i => i.)", 7);
    let items = c.at("textDocument/completion", &jilin, l, ch).to_string();
    assert!(items.contains("\"unit_price\""), "{items}");
    let typing = format!("{original}\ndef probe3: money = elig\n");
    c.change(&jilin, &typing);
    let (l, ch) = find(&typing, "= elig\n", 6);
    let items = c.at("textDocument/completion", &jilin, l, ch).to_string();
    assert!(
        items.contains("\"eligible\"") && items.contains("layer china"),
        "{items}"
    );
    assert!(
        items.contains("\"critical_cap\"") && items.contains("\"override\""),
        "{items}"
    );
    assert!(items.contains("\"retired\""), "enum values: {items}");
    let typing = format!("{original}\ndef probe4: bool = \"XA\" in national\n");
    c.change(&jilin, &typing);
    let (l, ch) = find(&typing, "\"XA\"", 3);
    let items = c.at("textDocument/completion", &jilin, l, ch).to_string();
    assert!(items.contains("\"XA003\""), "{items}");
    c.change(&jilin, &original);

    // Formatting through rulec fmt.
    let messy = original.replacen(
        "param resident_basic_cap: money = 150_000",
        "param   resident_basic_cap:money=150_000",
        1,
    );
    c.change(&jilin, &messy);
    let edits = c.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri(&jilin)}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    assert_eq!(
        edits[0]["newText"].as_str(),
        Some(original.as_str()),
        "{edits}"
    );
    c.change(&jilin, &original);

    // Rename across the chain: the parent's definition, the child's override and every use.
    let (l, ch) = find(&lines_text, "def item_class", 5);
    let edit = c.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": uri(&lines)}, "position": {"line": l, "character": ch}, "newName": "class_of"}),
    );
    let changes = &edit["changes"];
    let in_lines = changes[uri(&lines)].as_array().map(Vec::len).unwrap_or(0);
    let in_jilin = changes[uri(&jilin)].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(in_lines, lines_text.matches("item_class").count(), "{edit}");
    assert_eq!(in_jilin, original.matches("item_class").count(), "{edit}");
    assert!(in_jilin >= 1);
    c.stop();
    let _ = std::fs::remove_dir_all(&root);
}

/// Every `stride`-th file of a corpus directory, in name order (so spread over all of it).
fn corpus(dir: &str, stride: usize) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v.into_iter().step_by(stride.max(1)).collect()
}

/// Sending every input of the fuzz corpora (2,174 rule files and 711 catalogs) takes about
/// four minutes in a debug build (some 85 ms each: every change re-checks the workspace as
/// `rulec check` does), far over what one test may take; so the test sends every hostile
/// file and every 8th corpus input, spread over the whole corpus.
/// `RULEC_LSP_FULL_CORPUS=1 cargo test --test lsp` sends them all.
fn corpus_stride() -> usize {
    if std::env::var_os("RULEC_LSP_FULL_CORPUS").is_some() {
        1
    } else {
        8
    }
}

#[test]
fn the_server_survives_every_hostile_input() {
    let root = workspace("hostile");
    let jilin = root.join("jilin/jilin.rulec");
    let csv = root.join("china/catalog.csv");
    let mut c = Client::start(&root);
    c.open(&jilin, &std::fs::read_to_string(&jilin).expect("read"));
    c.open(&csv, &std::fs::read_to_string(&csv).expect("read"));
    let mut sent = 0;
    let stride = corpus_stride();
    let rule_inputs = corpus("tests/hostile", 1)
        .into_iter()
        .chain(corpus("fuzz/corpus/rules", stride));
    for (target, path) in rule_inputs.map(|p| (&jilin, p)).chain(
        corpus("fuzz/corpus/catalog", stride)
            .into_iter()
            .map(|p| (&csv, p)),
    ) {
        let bytes = std::fs::read(&path).expect("read");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        c.change(target, &text);
        let r = c.request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": uri(&jilin)}}),
        );
        assert!(r.is_array() || r.is_null(), "{}: {r}", path.display());
        let _ = c.at("textDocument/hover", target, 0, 1);
        let _ = c.at("textDocument/completion", target, 0, 1);
        sent += 1;
    }
    assert!(sent >= 350, "only {sent} inputs");
    c.stop();
    let _ = std::fs::remove_dir_all(&root);
}

/// The diagnostics last published, as (file relative to `root`, code, 1-based line), sorted.
fn published(c: &Client, root: &Path) -> Vec<(String, String, u64)> {
    let prefix = format!("{}/", uri(root));
    let mut last: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
    for n in &c.notes {
        if n["method"] == "textDocument/publishDiagnostics" {
            let u = n["params"]["uri"].as_str().unwrap_or("").to_string();
            let ds = n["params"]["diagnostics"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            last.insert(u, ds);
        }
    }
    let mut out = Vec::new();
    for (u, ds) in last {
        let rel = u.strip_prefix(&prefix).unwrap_or(&u).to_string();
        for d in ds {
            let code = d["code"].as_str().unwrap_or("").to_string();
            let line = d["range"]["start"]["line"].as_u64().unwrap_or(0) + 1;
            out.push((rel.clone(), code, line));
        }
    }
    out.sort();
    out
}

/// What `rulec check --format json ROOT` reports, as (file relative to `root`, code, line),
/// sorted; diagnostics without a file (an editor has nowhere to show them) left out.
fn checked(root: &Path) -> Vec<(String, String, u64)> {
    let out = Command::new(env!("CARGO_BIN_EXE_rulec"))
        .args(["check", "--format", "json"])
        .arg(root)
        .output()
        .expect("rulec check runs");
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON diagnostics");
    let prefix = format!("{}/", root.display());
    let mut v: Vec<(String, String, u64)> = json
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|d| {
            let file = d["file"].as_str()?;
            Some((
                file.strip_prefix(&prefix).unwrap_or(file).to_string(),
                d["code"].as_str().unwrap_or("").to_string(),
                d["line"].as_u64().unwrap_or(0),
            ))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn diagnostics_are_those_of_rulec_check() {
    // The editor's workspace (files on disk unchanged, edits in unsaved buffers), and a copy
    // where the same edits are saved, for `rulec check`.
    let root = workspace("parity");
    copy_dir(
        Path::new("rulesets/jilin/changchun"),
        &root.join("jilin/changchun"),
    );
    let saved = workspace("parity-saved");
    copy_dir(
        Path::new("rulesets/jilin/changchun"),
        &saved.join("jilin/changchun"),
    );
    let mut c = Client::start(&root);
    let _ = c.request("workspace/symbol", json!({"query": ""}));
    assert_eq!(published(&c, &root), checked(&root), "the shipped files");
    type Edit = fn(&str) -> String;
    let edits: [(&str, &str, Edit); 3] = [
        // A parse error in the parent: one error, and its children are not checked.
        ("china/lines.rulec", "E0006", |t| {
            t.replacen("): Class =", "): Class = = ", 1)
        }),
        // A header that does not match its directory.
        ("jilin/jilin.rulec", "E0116", |t| {
            t.replacen("ruleset \"jilin\"", "ruleset \"jilinn\"", 1)
        }),
        // A test claim that does not fit the input.
        ("jilin/tests/resident_inpatient.json", "E0804", |t| {
            t.replacen("\"visit\": \"inpatient\"", "\"visit\": \"inpatientt\"", 1)
        }),
    ];
    for (rel, code, edit) in edits {
        let text = std::fs::read_to_string(root.join(rel)).expect("read");
        let bad = edit(&text);
        assert_ne!(bad, text, "{rel}");
        c.open(&root.join(rel), &bad);
        std::fs::write(saved.join(rel), &bad).expect("write");
        let _ = c.request("workspace/symbol", json!({"query": ""}));
        let want = checked(&saved);
        assert!(
            want.iter().any(|(_, c, _)| c.ends_with(code)),
            "{rel}: {want:?}"
        );
        assert_eq!(published(&c, &root), want, "{rel}");
        c.change(&root.join(rel), &text);
        std::fs::write(saved.join(rel), &text).expect("write");
    }
    let _ = c.request("workspace/symbol", json!({"query": ""}));
    assert_eq!(published(&c, &root), checked(&root), "all edits undone");
    c.stop();
    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::remove_dir_all(&saved);
}

/// The hover text at the first `needle` (+ `skip` characters) of `text`.
fn hover_at(c: &mut Client, file: &Path, text: &str, needle: &str, skip: usize) -> String {
    let (l, ch) = find(text, needle, skip);
    let h = c.at("textDocument/hover", file, l, ch);
    h["contents"]["value"].as_str().unwrap_or("").to_string()
}

#[test]
fn hover_covers_fields_values_locals_types_and_rows() {
    let root = workspace("hover");
    let jilin = root.join("jilin/jilin.rulec");
    let original = std::fs::read_to_string(&jilin).expect("read");
    let text = format!(
        "{original}
def probe_status: bool = claim.insured.status == retired
def probe_let: money = let doubled = claim.personal_account_balance * 2; doubled + 1
def probe_class: Class = national[\"XA003\"].class
def probe_lambda: money = sum(claim.items, it => it.unit_price)
def probe_fn(amount: money): money = amount
"
    );
    let mut c = Client::start(&root);
    c.open(&jilin, &text);
    let cases: &[(&str, usize, &[&str])] = &[
        // A record field, and the field before it.
        (
            "claim.insured.status ==",
            15,
            &[
                "field `status: Status` of record `Insured`",
                "layer `china`",
            ],
        ),
        (
            "claim.insured.status ==",
            7,
            &["field `insured: Insured` of record `Claim`"],
        ),
        // A bare enum value.
        (
            "== retired",
            4,
            &[
                "value `retired` of enum `Status`",
                "enum Status { active, retired }",
            ],
        ),
        // A `let` local, at its binding and at its use, with the type the checker proved.
        (
            "let doubled",
            5,
            &[
                "doubled: money",
                "let doubled = claim.personal_account_balance * 2",
            ],
        ),
        ("doubled + 1", 1, &["doubled: money", "in `probe_let`"]),
        // A lambda's parameter: each element of the list.
        (
            "it => it.unit_price",
            0,
            &["it: Item", "lambda parameter", "claim.items"],
        ),
        (
            "it.unit_price)",
            4,
            &["field `unit_price: money(4)` of record `Item`"],
        ),
        // A function's parameter.
        (
            "= amount\n",
            3,
            &["amount: money", "parameter of function `probe_fn`"],
        ),
        // A built-in type.
        ("probe_let: money", 12, &["built-in type `money`", "yuan"]),
        // The column after a catalog look-up.
        (
            "].class\ndef probe_lambda",
            3,
            &["column `class: Class` of catalog `national`"],
        ),
    ];
    for (needle, skip, wants) in cases {
        let md = hover_at(&mut c, &jilin, &text, needle, *skip);
        for want in *wants {
            assert!(md.contains(want), "{needle:?}+{skip}: {want:?} not in {md}");
        }
    }
    // Definition goes to the field, the enum value and the `let` binding too.
    let schema = root.join("china/schema.rulec");
    let schema_text = std::fs::read_to_string(&schema).expect("read");
    for (needle, skip, file, at) in [
        (
            "claim.insured.status ==",
            15,
            &schema,
            find(&schema_text, "status: Status", 0),
        ),
        ("== retired", 4, &schema, find(&schema_text, "retired }", 0)),
        ("doubled + 1", 1, &jilin, find(&text, "doubled =", 0)),
        (
            "].class\ndef probe_lambda",
            3,
            &root.join("china/lines.rulec"),
            {
                let t = std::fs::read_to_string(root.join("china/lines.rulec")).expect("read");
                find(&t, "class: Class", 0)
            },
        ),
    ] {
        let (l, ch) = find(&text, needle, skip);
        let def = c.at("textDocument/definition", &jilin, l, ch);
        assert_eq!(uris(&def), vec![uri(file)], "{needle}: {def}");
        assert_eq!(
            def[0]["range"]["start"],
            json!({"line": at.0, "character": at.1}),
            "{needle}: {def}"
        );
    }
    // Bands: each version's rows and the rows in force today.
    let md = hover_at(&mut c, &jilin, &text, "bands critical_bands", 7);
    for want in [
        "In force today",
        "| above | up to | rate |",
        "| 50000 | 100000 | 65% |",
        "| 100000 | — | 70% |",
        "3 bands",
    ] {
        assert!(md.contains(want), "{want:?} not in {md}");
    }
    c.stop();

    // A large table shows its first rows and how many more; an older version its own rows.
    let mut rows = String::new();
    for i in 0..50 {
        rows.push_str(&format!("  {i} => {i}\n"));
    }
    let big = format!(
        "{original}\ntable probe_big(n: int): int\n  from 2000-01-01 until 2000-12-31 cite assumed {{\n    1 => 7\n  }}\n  from 2001-01-01 cite assumed {{\n{rows}  }}\n"
    );
    std::fs::write(&jilin, &big).expect("write");
    let mut c = Client::start(&root);
    c.open(&jilin, &big);
    let md = hover_at(&mut c, &jilin, &big, "table probe_big", 7);
    for want in [
        "the version from 2001-01-01, 50 rows",
        "| 19 | 19 |",
        "… and 30 more rows",
        "The version from 2000-01-01 until 2000-12-31:",
        "| 1 | 7 |",
    ] {
        assert!(md.contains(want), "{want:?} not in {md}");
    }
    assert!(!md.contains("| 20 | 20 |"), "bounded: {md}");
    c.stop();
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn rename_refuses_with_a_reason() {
    let root = workspace("rename");
    let lines = root.join("china/lines.rulec");
    let text = std::fs::read_to_string(&lines).expect("read");
    let mut c = Client::start(&root);
    c.open(&lines, &text);
    let (l, ch) = find(&text, "def item_class", 5);
    let pos = json!({"line": l, "character": ch});
    let prep = c.answer(
        "textDocument/prepareRename",
        json!({"textDocument": {"uri": uri(&lines)}, "position": pos}),
    );
    assert_eq!(prep["result"]["placeholder"], "item_class", "{prep}");
    for (new_name, why) in [
        ("in_scope", "already declared in layer `china`"),
        ("if", "reserved word"),
        ("per", "word of rulec's syntax"),
        ("year", "word of rulec's syntax"),
        ("1abc", "is not a name"),
        ("a b", "is not a name"),
        ("", "empty"),
        ("min", "built-in function"),
        ("retired", "value of enum `Status`"),
    ] {
        let r = c.answer(
            "textDocument/rename",
            json!({"textDocument": {"uri": uri(&lines)}, "position": pos, "newName": new_name}),
        );
        assert_eq!(r["error"]["code"], json!(-32803), "{new_name:?}: {r}");
        let msg = r["error"]["message"].as_str().unwrap_or("");
        assert!(msg.contains(why), "{new_name:?}: {msg}");
    }
    // A use inside a lambda whose parameter has the new name would be captured.
    let (l2, ch2) = find(&text, "def line_amount", 5);
    let r = c.answer(
        "textDocument/rename",
        json!({"textDocument": {"uri": uri(&lines)}, "position": {"line": l2, "character": ch2}, "newName": "i"}),
    );
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("local name"),
        "{r}"
    );
    // Nothing to rename: a keyword, a comment.
    let (l3, ch3) = find(&text, "def item_class", 1);
    for method in ["textDocument/prepareRename", "textDocument/rename"] {
        let r = c.answer(
            method,
            json!({"textDocument": {"uri": uri(&lines)}, "position": {"line": l3, "character": ch3}, "newName": "x"}),
        );
        assert!(
            r["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("nothing to rename"),
            "{method}: {r}"
        );
    }
    // A good name still renames.
    let r = c.answer(
        "textDocument/rename",
        json!({"textDocument": {"uri": uri(&lines)}, "position": pos, "newName": "class_of_item"}),
    );
    assert!(r["result"]["changes"].is_object(), "{r}");
    c.stop();
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_malformed_message_is_answered_and_the_server_goes_on() {
    let root = workspace("frames");
    let mut c = Client::start(&root);
    // Not JSON: a ParseError with a null id (JSON-RPC 2.0), and the next request answered.
    write!(c.stdin, "Content-Length: 5\r\n\r\n{{abc}}").expect("write");
    c.stdin.flush().expect("flush");
    let e = c.wait_for(&Value::Null);
    assert_eq!(e["error"]["code"], json!(-32700), "{e}");
    // JSON but no message: InvalidRequest, with its id when it has one.
    c.send(json!({"jsonrpc": "2.0", "id": 99, "params": {}}));
    let e = c.wait_for(&json!(99));
    assert_eq!(e["error"]["code"], json!(-32600), "{e}");
    let r = c.request("workspace/symbol", json!({"query": "eligible"}));
    assert!(r.is_array(), "{r}");
    c.stop();

    // A broken header: no later message can be found, so the server says why and fails.
    let mut child = Command::new(env!("CARGO_BIN_EXE_rulec"))
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rulec lsp starts");
    let mut stdin = child.stdin.take().expect("stdin");
    write!(stdin, "Content-Length: five\r\n\r\n{{}}").expect("write");
    drop(stdin);
    let out = child.wait_with_output().expect("exits");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Content-Length"), "{err}");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_file_opened_with_a_syntax_error_can_still_be_navigated() {
    let root = workspace("broken");
    let jilin = root.join("jilin/jilin.rulec");
    let lines = root.join("china/lines.rulec");
    let original = std::fs::read_to_string(&jilin).expect("read");
    // Opened already broken: no version of the buffer ever parsed, so the file on disk is
    // the fallback.
    let broken = original.replacen("param critical_cap", "param = = critical_cap", 1);
    assert_ne!(broken, original);
    let mut c = Client::start(&root);
    c.open(&jilin, &broken);
    let _ = c.request("workspace/symbol", json!({"query": ""}));
    let diags = c.diagnostics(&jilin).expect("diagnostics");
    assert!(
        diags.iter().any(|d| d["severity"] == json!(1)),
        "the syntax error shows: {diags:?}"
    );
    let md = hover_at(&mut c, &jilin, &broken, "resident_inpatient", 3);
    assert!(md.contains("def resident_inpatient"), "{md}");
    let (l, ch) = find(&broken, "eligible", 2);
    let def = c.at("textDocument/definition", &jilin, l, ch);
    assert!(uris(&def).contains(&uri(&lines)), "{def}");
    let syms = c.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": uri(&jilin)}}),
    );
    assert!(syms.as_array().map(Vec::len).unwrap_or(0) > 10, "{syms}");
    let typing = format!("{broken}\ndef probe: money = crit\n");
    c.change(&jilin, &typing);
    let (l, ch) = find(&typing, "= crit\n", 6);
    let items = c.at("textDocument/completion", &jilin, l, ch).to_string();
    assert!(items.contains("\"critical_cap\""), "{items}");
    // Once it parses, then breaks again: the last version that parsed.
    let added = format!("{original}\ndef probe_new: money = 1\n");
    c.change(&jilin, &added);
    c.change(&jilin, &format!("{added}\ndef = =\n"));
    let md = hover_at(&mut c, &jilin, &added, "probe_new", 2);
    assert!(md.contains("def probe_new: money"), "{md}");
    c.stop();
    let _ = std::fs::remove_dir_all(&root);
}
