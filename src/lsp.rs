//! `rulec lsp`: a language server over stdio (`lsp-server` + `lsp-types`, no async runtime).
//!
//! Every change re-analyses the workspace: each ruleset directory under the root (and the
//! directory of each open file) is checked by `rulec check`'s own driver
//! ([`crate::project::check_overlaid`]) with the open buffers laid over the files on disk,
//! rule files, CSV catalogs and test files alike, so diagnostics follow unsaved text through
//! the whole chain and are exactly those `rulec check` gives for the same texts (one cause,
//! one error: a ruleset whose parent has errors is not checked, W0005). Navigation works on the syntax trees of the chain's layers:
//! a name resolves to the nearest layer that declares it, as the checker resolves it.
//! Catalog rows come from the compiled rulesets.
//!
//! Recursion follows the syntax tree, whose depth the parser bounds; [`run_stdio`] runs the
//! server on a thread with [`crate::project::STACK_SIZE`] of stack.

use crate::diag::{Diagnostic, Severity};
use crate::ir;
use crate::limits::Limits;
use crate::load::{normalize, RULE_EXT};
use crate::project::check_overlaid;
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::ast::{self, Arg, Decl, DeclKind, Expr, ExprKind, Ident, TypeExpr};
use lsp_server::{Message, Notification, Request, Response};
use lsp_types as lt;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Runs the server on standard input and output until the client says `exit`.
/// Returns the process exit code: 0 after `shutdown` then `exit`, 1 otherwise (an `exit`
/// without `shutdown`, the input closed, or its framing broken; the last two are logged on
/// standard error).
pub fn run_stdio() -> i32 {
    let run = std::thread::Builder::new()
        .stack_size(crate::project::STACK_SIZE)
        .name("rulec-lsp".into())
        .spawn(|| {
            let stdin = std::io::stdin();
            let stdout = std::io::stdout();
            serve(&mut stdin.lock(), &mut stdout.lock())
        });
    match run.map(|h| h.join()) {
        Ok(Ok(code)) => code,
        _ => 1,
    }
}

/// The longest header line read (`Content-Length: …` is far shorter).
const MAX_HEADER_LINE: u64 = 4_096;

/// One frame read from the client.
enum Frame {
    /// A JSON-RPC message.
    Message(Message),
    /// A frame whose body is no message: the error to answer with (id, code, message).
    Bad(serde_json::Value, lsp_server::ErrorCode, String),
    /// The input ended between frames.
    End,
}

/// Reads one `Content-Length` frame. A body that is not JSON, or not a JSON-RPC message, or
/// too large, is answered (the framing is intact, so the next frame can be read); a broken
/// header is an error, since no later frame can be found.
fn read_frame(r: &mut impl std::io::BufRead, max_body: usize) -> Result<Frame, String> {
    use lsp_server::ErrorCode;
    use std::io::{BufRead, Read};
    let mut size: Option<usize> = None;
    let mut first = true;
    loop {
        let mut line = Vec::new();
        let n = (&mut *r)
            .take(MAX_HEADER_LINE)
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("cannot read the input: {e}"))?;
        if n == 0 {
            return if first {
                Ok(Frame::End)
            } else {
                Err("the input ended inside a message's header".into())
            };
        }
        first = false;
        if line.last() != Some(&b'\n') {
            return Err(format!(
                "a header line longer than {MAX_HEADER_LINE} bytes, or the input ended inside one"
            ));
        }
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("a malformed header line: {line:?}"));
        };
        if name.trim().eq_ignore_ascii_case("Content-Length") {
            let n = value
                .trim()
                .parse::<usize>()
                .map_err(|e| format!("a bad Content-Length {:?}: {e}", value.trim()))?;
            size = Some(n);
        }
    }
    let size = size.ok_or("a message without a Content-Length header")?;
    if size > max_body {
        // Skip the body, bounded, without keeping it.
        let skipped = std::io::copy(&mut (&mut *r).take(size as u64), &mut std::io::sink())
            .map_err(|e| format!("cannot read the input: {e}"))?;
        if skipped < size as u64 {
            return Err("the input ended inside a message".into());
        }
        return Ok(Frame::Bad(
            serde_json::Value::Null,
            ErrorCode::InvalidRequest,
            format!(
                "a message of {size} bytes, over the limit of {max_body} bytes; it was ignored"
            ),
        ));
    }
    let mut body = vec![0u8; size];
    r.read_exact(&mut body)
        .map_err(|e| format!("the input ended inside a message: {e}"))?;
    let value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return Ok(Frame::Bad(
                serde_json::Value::Null,
                ErrorCode::ParseError,
                format!("the message is not JSON: {e}"),
            ))
        }
    };
    let id = match value.get("id") {
        Some(id @ (serde_json::Value::Number(_) | serde_json::Value::String(_))) => id.clone(),
        _ => serde_json::Value::Null,
    };
    match serde_json::from_value::<Message>(value) {
        Ok(m) => Ok(Frame::Message(m)),
        Err(e) => Ok(Frame::Bad(
            id,
            ErrorCode::InvalidRequest,
            format!("not a JSON-RPC request, response or notification: {e}"),
        )),
    }
}

fn write_message(out: &mut impl std::io::Write, m: Message) -> bool {
    m.write(out).is_ok() && out.flush().is_ok()
}

/// An error response, written as is: its id may be `null`, which [`Response`] cannot hold.
fn write_error(
    out: &mut impl std::io::Write,
    id: serde_json::Value,
    code: lsp_server::ErrorCode,
    message: &str,
) -> bool {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": code as i32, "message": message},
    })
    .to_string();
    write!(out, "Content-Length: {}\r\n\r\n{body}", body.len()).is_ok() && out.flush().is_ok()
}

fn capabilities() -> lt::ServerCapabilities {
    lt::ServerCapabilities {
        text_document_sync: Some(lt::TextDocumentSyncCapability::Kind(
            lt::TextDocumentSyncKind::FULL,
        )),
        hover_provider: Some(lt::HoverProviderCapability::Simple(true)),
        definition_provider: Some(lt::OneOf::Left(true)),
        references_provider: Some(lt::OneOf::Left(true)),
        document_symbol_provider: Some(lt::OneOf::Left(true)),
        workspace_symbol_provider: Some(lt::OneOf::Left(true)),
        document_formatting_provider: Some(lt::OneOf::Left(true)),
        rename_provider: Some(lt::OneOf::Right(lt::RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
        completion_provider: Some(lt::CompletionOptions {
            trigger_characters: Some(vec![".".into(), "\"".into()]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The server's loop, on any input and output (the tests' and standard I/O).
fn serve(input: &mut impl std::io::BufRead, out: &mut impl std::io::Write) -> i32 {
    use lsp_server::ErrorCode;
    // Bodies carry whole files, JSON-escaped (up to 6 bytes per byte of text).
    let max_body = Limits::default().max_source_bytes.saturating_mul(6) + 65_536;
    let mut server: Option<Server> = None;
    let mut shut_down = false;
    loop {
        let msg = match read_frame(input, max_body) {
            Ok(Frame::Message(m)) => m,
            Ok(Frame::Bad(id, code, message)) => {
                eprintln!("rulec lsp: {message}");
                if !write_error(out, id, code, &message) {
                    return 1;
                }
                continue;
            }
            Ok(Frame::End) => {
                if shut_down {
                    return 0;
                }
                eprintln!("rulec lsp: the client closed the input without `shutdown` and `exit`");
                return 1;
            }
            Err(e) => {
                eprintln!("rulec lsp: {e}; stopping, since no later message can be found");
                return 1;
            }
        };
        match msg {
            Message::Request(req) => {
                let resp = if shut_down {
                    Response::new_err(
                        req.id,
                        ErrorCode::InvalidRequest as i32,
                        "the server is shut down: only `exit` is accepted now".into(),
                    )
                } else if req.method == "initialize" {
                    if server.is_some() {
                        Response::new_err(
                            req.id,
                            ErrorCode::InvalidRequest as i32,
                            "`initialize` was already sent".into(),
                        )
                    } else {
                        let (s, result) = initialize(req.params);
                        server = Some(s);
                        Response::new_ok(req.id, result)
                    }
                } else if req.method == "shutdown" {
                    shut_down = true;
                    Response::new_ok(req.id, serde_json::Value::Null)
                } else if let Some(s) = server.as_mut() {
                    s.request(req)
                } else {
                    Response::new_err(
                        req.id,
                        ErrorCode::ServerNotInitialized as i32,
                        "send `initialize` first".into(),
                    )
                };
                if !write_message(out, Message::Response(resp)) {
                    return 1;
                }
            }
            Message::Notification(n) => {
                if n.method == "exit" {
                    return if shut_down { 0 } else { 1 };
                }
                let Some(s) = server.as_mut().filter(|_| !shut_down) else {
                    continue;
                };
                for note in s.notification(n) {
                    if !write_message(out, Message::Notification(note)) {
                        return 1;
                    }
                }
            }
            Message::Response(_) => {}
        }
    }
}

/// The server for an `initialize` request, and the result to answer it with.
fn initialize(params: serde_json::Value) -> (Server, serde_json::Value) {
    let init: lt::InitializeParams = serde_json::from_value(params).unwrap_or_default();
    #[allow(deprecated)]
    let root = init
        .workspace_folders
        .as_ref()
        .and_then(|f| f.first())
        .and_then(|f| f.uri.to_file_path().ok())
        .or_else(|| init.root_uri.as_ref().and_then(|u| u.to_file_path().ok()));
    let server = Server {
        root,
        docs: HashMap::new(),
        analysis: Analysis::default(),
        published: HashSet::new(),
        good: HashMap::new(),
        analysed: None,
    };
    let result = lt::InitializeResult {
        capabilities: capabilities(),
        server_info: Some(lt::ServerInfo {
            name: "rulec".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
    };
    (
        server,
        serde_json::to_value(result).unwrap_or(serde_json::Value::Null),
    )
}

// ---------------------------------------------------------------------- analysis

/// One parsed rule file.
struct FileInfo {
    id: FileId,
    path: PathBuf,
    layer: usize,
    ast: ast::File,
}

/// One layer (ruleset directory).
struct LayerInfo {
    name: String,
    dir: Option<PathBuf>,
}

/// One checked ruleset: its chain of layers (root first) and compiled form.
struct RulesetInfo {
    chain: Vec<usize>,
    ir: ir::Ruleset,
}

#[derive(Default)]
struct Analysis {
    map: SourceMap,
    files: Vec<FileInfo>,
    layers: Vec<LayerInfo>,
    rulesets: Vec<RulesetInfo>,
    diags: Vec<Diagnostic>,
}

/// Checks the workspace as `rulec check` checks it (the same driver,
/// [`crate::project::check_overlaid`]), with the open buffers laid over the files on disk:
/// the ruleset directories under the root, and the directory of each open rule file.
fn analyse(root: Option<&Path>, docs: &HashMap<PathBuf, String>) -> Analysis {
    let mut dirs: Vec<PathBuf> = root.map(workspace_rulesets).unwrap_or_default();
    let mut open: Vec<PathBuf> = docs
        .keys()
        .filter(|p| p.extension().is_some_and(|x| x == RULE_EXT))
        .filter_map(|p| p.parent().map(normalize))
        .collect();
    open.sort();
    dirs.extend(open);
    let mut seen = HashSet::new();
    dirs.retain(|t| seen.insert(normalize(t)));
    let mut overlay: Vec<(PathBuf, String)> =
        docs.iter().map(|(p, t)| (p.clone(), t.clone())).collect();
    overlay.sort();
    let run = |dirs: &[PathBuf]| check_overlaid(dirs, &overlay, Limits::default());
    let (report, mut loader) = match run(&dirs) {
        Ok(x) => x,
        Err(e) => {
            // A directory that cannot be read at all (a FIFO named `x.rulec`, no permission)
            // stops `rulec check`; here the others are still checked.
            eprintln!("rulec lsp: {e}");
            dirs.retain(|d| run(std::slice::from_ref(d)).is_ok());
            match run(&dirs) {
                Ok(x) => x,
                Err(_) => return Analysis::default(),
            }
        }
    };
    let mut out = Analysis::default();
    for (dir, ir) in report.rulesets {
        let Ok(leaf) = loader.load_path(&dir) else {
            continue;
        };
        let chain = loader.chain(leaf);
        out.rulesets.push(RulesetInfo { chain, ir });
    }
    let mut i = 0;
    while let Some(l) = loader.layer(i) {
        out.layers.push(LayerInfo {
            name: l.name.clone(),
            dir: l.dir.clone(),
        });
        for (id, f) in &l.files {
            let path = loader
                .map
                .get(*id)
                .map(|s| PathBuf::from(&s.name))
                .unwrap_or_default();
            out.files.push(FileInfo {
                id: *id,
                path,
                layer: i,
                ast: f.clone(),
            });
        }
        i += 1;
    }
    out.diags = report.diags.sorted();
    out.map = report.map;
    out
}

/// The ruleset directories under the workspace root, skipping hidden directories and the
/// build and package folders (`target`, `node_modules`), at most 10,000 directories deep
/// in all.
fn workspace_rulesets(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    let mut visited = 0usize;
    while let Some(dir) = stack.pop() {
        visited += 1;
        if visited > 10_000 {
            break;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut has_rules = false;
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            if is_dir {
                if !name.starts_with('.') && name != "target" && name != "node_modules" {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|x| x == RULE_EXT) {
                has_rules = true;
            }
        }
        if has_rules {
            out.push(dir);
        }
    }
    out.sort();
    out
}

// ---------------------------------------------------------------------- positions

fn pos_of(text: &str, offset: usize) -> lt::Position {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or("");
    let line = before.matches('\n').count();
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col: usize = before
        .get(line_start..)
        .unwrap_or("")
        .chars()
        .map(char::len_utf16)
        .sum();
    lt::Position::new(
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

fn offset_of(text: &str, pos: lt::Position) -> usize {
    let mut line_start = 0;
    for _ in 0..pos.line {
        match text.get(line_start..).and_then(|r| r.find('\n')) {
            Some(i) => line_start += i + 1,
            None => return text.len(),
        }
    }
    let mut units = 0u32;
    for (i, c) in text.get(line_start..).unwrap_or("").char_indices() {
        if units >= pos.character || c == '\n' {
            return line_start + i;
        }
        units += u32::try_from(c.len_utf16()).unwrap_or(1);
    }
    text.len()
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The identifier around a byte offset.
fn word_at(text: &str, offset: usize) -> Option<(usize, usize)> {
    let offset = offset.min(text.len());
    let mut s = offset;
    while let Some(c) = text.get(..s).and_then(|b| b.chars().next_back()) {
        if !is_ident_char(c) {
            break;
        }
        s -= c.len_utf8();
    }
    let mut e = offset;
    while let Some(c) = text.get(e..).and_then(|a| a.chars().next()) {
        if !is_ident_char(c) {
            break;
        }
        e += c.len_utf8();
    }
    (s < e).then_some((s, e))
}

/// The string literal around a byte offset, on its line: (content start, content end).
fn string_at(text: &str, offset: usize) -> Option<(usize, usize)> {
    let line_start = text.get(..offset)?.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line_end = text
        .get(offset..)?
        .find('\n')
        .map(|i| offset + i)
        .unwrap_or(text.len());
    let line = text.get(line_start..line_end)?;
    let mut open: Option<usize> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        let at = line_start + i;
        if open.is_none() && line.get(i..).is_some_and(|r| r.starts_with("//")) {
            return None;
        }
        match (open, c) {
            (Some(_), '\\') if !escaped => {
                escaped = true;
                continue;
            }
            (Some(o), '"') if !escaped => {
                if o <= offset && offset <= at {
                    return Some((o, at));
                }
                open = None;
            }
            (None, '"') => open = Some(at + 1),
            _ => {}
        }
        escaped = false;
    }
    open.filter(|o| *o <= offset).map(|o| (o, offset))
}

fn uri_of(path: &Path) -> Option<lt::Url> {
    lt::Url::from_file_path(path).ok()
}

// ---------------------------------------------------------------------- the syntax index

/// What a declaration declares, for display.
fn decl_kind(d: &Decl) -> &'static str {
    match &d.kind {
        DeclKind::Ruleset { .. } => "ruleset",
        DeclKind::Source { .. } => "source",
        DeclKind::Enum { .. } => "enum",
        DeclKind::Record { .. } => "record",
        DeclKind::Input { .. } => "input",
        DeclKind::AsOf { .. } => "as_of",
        DeclKind::Param { .. } => "param",
        DeclKind::Def { kind, .. } => match kind {
            ast::DefKind::Def => "def",
            ast::DefKind::Output => "output",
            ast::DefKind::Fund => "fund",
        },
        DeclKind::Function { .. } => "def",
        DeclKind::Accumulator { .. } => "accumulator",
        DeclKind::Exception { .. } => "exception",
        DeclKind::Table { .. } => "table",
        DeclKind::Catalog { .. } => "catalog",
        DeclKind::Series { .. } => "series",
        DeclKind::Bands { .. } => "bands",
        _ => "declaration",
    }
}

/// True for declarations whose name other rules can use.
fn is_named(d: &Decl) -> bool {
    !matches!(d.kind, DeclKind::Ruleset { .. } | DeclKind::AsOf { .. })
        && decl_kind(d) != "declaration"
}

fn symbol_kind(d: &Decl) -> lt::SymbolKind {
    match &d.kind {
        DeclKind::Enum { .. } => lt::SymbolKind::ENUM,
        DeclKind::Record { .. } => lt::SymbolKind::STRUCT,
        DeclKind::Param { .. } => lt::SymbolKind::CONSTANT,
        DeclKind::Function { .. } => lt::SymbolKind::FUNCTION,
        DeclKind::Table { .. } | DeclKind::Catalog { .. } => lt::SymbolKind::OBJECT,
        DeclKind::Series { .. } | DeclKind::Bands { .. } => lt::SymbolKind::ARRAY,
        DeclKind::Input { .. } => lt::SymbolKind::VARIABLE,
        DeclKind::Source { .. } => lt::SymbolKind::STRING,
        DeclKind::Exception { .. } => lt::SymbolKind::EVENT,
        _ => lt::SymbolKind::FIELD,
    }
}

/// Every use of a global name in a declaration: (name, span), locals left out.
fn references(d: &Decl, out: &mut Vec<(String, Span)>) {
    let mut scope: Vec<String> = Vec::new();
    let ty = |t: &TypeExpr, out: &mut Vec<(String, Span)>| type_refs(t, out);
    match &d.kind {
        DeclKind::Record { fields } => fields.iter().for_each(|f| ty(&f.ty, out)),
        DeclKind::Input { ty: t } => ty(t, out),
        DeclKind::AsOf { expr } => expr_refs(expr, &mut scope, out),
        DeclKind::Param { ty: t, .. } => ty(t, out),
        DeclKind::Def {
            ty: t, versions, ..
        } => {
            if let Some(t) = t {
                ty(t, out);
            }
            versions
                .iter()
                .for_each(|v| expr_refs(&v.value, &mut scope, out));
        }
        DeclKind::Function {
            params,
            ty: t,
            body,
            ..
        } => {
            params.iter().for_each(|(_, t)| ty(t, out));
            ty(t, out);
            scope.extend(params.iter().map(|(p, _)| p.name.clone()));
            expr_refs(body, &mut scope, out);
        }
        DeclKind::Accumulator { ty: t, add, .. } => {
            ty(t, out);
            expr_refs(add, &mut scope, out);
        }
        DeclKind::Exception {
            target,
            cond,
            value,
            ..
        } => {
            out.push((target.name.clone(), target.span));
            expr_refs(cond, &mut scope, out);
            expr_refs(value, &mut scope, out);
        }
        DeclKind::Table { keys, ty: t, .. } => {
            keys.iter().for_each(|(_, k)| ty(k, out));
            ty(t, out);
        }
        DeclKind::Catalog { columns, .. } => columns.iter().for_each(|c| ty(&c.ty, out)),
        DeclKind::Series { ty: t, .. } => ty(t, out),
        DeclKind::Covers { expr, .. } => expr_refs(expr, &mut scope, out),
        _ => {}
    }
}

fn type_refs(t: &TypeExpr, out: &mut Vec<(String, Span)>) {
    match t {
        TypeExpr::Named(i) => out.push((i.name.clone(), i.span)),
        TypeExpr::List(inner, _) | TypeExpr::Optional(inner, _) | TypeExpr::Digits(inner, _, _) => {
            type_refs(inner, out)
        }
    }
}

fn expr_refs(e: &Expr, scope: &mut Vec<String>, out: &mut Vec<(String, Span)>) {
    match &e.kind {
        ExprKind::Name(n) => {
            if !scope.contains(n) {
                out.push((n.clone(), e.span));
            }
        }
        ExprKind::Call(f, args) => {
            out.push((f.name.clone(), f.span));
            for a in args {
                match a {
                    Arg::Expr(x) => expr_refs(x, scope, out),
                    Arg::Lambda(x, body) => {
                        scope.push(x.name.clone());
                        expr_refs(body, scope, out);
                        scope.pop();
                    }
                }
            }
        }
        ExprKind::Let(binds, body) => {
            let n = scope.len();
            for (x, v) in binds {
                expr_refs(v, scope, out);
                scope.push(x.name.clone());
            }
            expr_refs(body, scope, out);
            scope.truncate(n);
        }
        ExprKind::Adjust(a) => {
            out.push((a.series.name.clone(), a.series.span));
            for c in e.children() {
                expr_refs(c, scope, out);
            }
        }
        _ => {
            for c in e.children() {
                expr_refs(c, scope, out);
            }
        }
    }
}

/// The reserved words: rule `keyword` of grammar/rulec.pest (a test compares the two).
const KEYWORDS: &[&str] = &[
    "ruleset",
    "extends",
    "source",
    "enum",
    "record",
    "input",
    "as_of",
    "param",
    "def",
    "output",
    "fund",
    "accumulator",
    "exception",
    "when",
    "table",
    "catalog",
    "series",
    "bands",
    "from",
    "until",
    "cite",
    "assumed",
    "if",
    "then",
    "else",
    "match",
    "let",
    "in",
    "and",
    "or",
    "not",
    "true",
    "false",
    "override",
    "key",
    "rows",
    "adjust",
    "covers",
];

/// The contextual words: every other word grammar/rulec.pest spells out (`per year`,
/// `list<T>`, `adjust(… by … base … to … round … floor)`, `none`), which a test compares
/// with the pest grammar too. Not reserved, but a name is never renamed to one.
const CONTEXTUAL: &[&str] = &[
    "to", "by", "year", "base", "round", "floor", "none", "list", "per",
];

/// Why a new name cannot be a name, if it cannot.
fn bad_name(new_name: &str) -> Option<String> {
    let mut chars = new_name.chars();
    let Some(first) = chars.next() else {
        return Some("the new name is empty".into());
    };
    if !(first.is_alphabetic() || first == '_') || !chars.all(is_ident_char) {
        return Some(format!(
            "`{new_name}` is not a name: a name starts with a letter or `_` and goes on with \
             letters, digits and `_` (no spaces or punctuation)"
        ));
    }
    if KEYWORDS.contains(&new_name) {
        return Some(format!(
            "`{new_name}` is a reserved word of rulec and cannot be a name"
        ));
    }
    // `lifetime`: the other period word of `per` (src/check/period.rs).
    if CONTEXTUAL.contains(&new_name) || new_name == "lifetime" {
        return Some(format!(
            "`{new_name}` is a word of rulec's syntax (as in `per year`, `list<T>`, \
             `adjust(… by … base … to … round … floor)`, `none`); pick another name"
        ));
    }
    if crate::builtins::lookup(new_name).is_some() {
        return Some(format!("`{new_name}` is the name of a built-in function"));
    }
    None
}

/// A local name: a function's parameter, a `let` binding or a lambda's parameter.
struct Local<'a> {
    name: &'a Ident,
    kind: LocalKind<'a>,
}

enum LocalKind<'a> {
    /// A function parameter and its declared type.
    Param(&'a TypeExpr),
    /// `let name = value`.
    Let(&'a Expr),
    /// `f(list, name => …)`: the list the lambda runs over, when written before it.
    Lambda(Option<&'a Expr>),
}

/// The local names in scope at a byte offset of a declaration, innermost last (a binding's
/// own name counts as in scope on it).
fn locals_at(d: &Decl, off: usize) -> Vec<Local<'_>> {
    let mut scope = Vec::new();
    let inside = |s: Span| s.start as usize <= off && off <= s.end as usize;
    let bodies: Vec<&Expr> = match &d.kind {
        DeclKind::Def { versions, .. } => versions.iter().map(|v| &v.value).collect(),
        DeclKind::Function { params, body, .. } => {
            for (p, t) in params {
                scope.push(Local {
                    name: p,
                    kind: LocalKind::Param(t),
                });
            }
            vec![body]
        }
        DeclKind::Accumulator { add, .. } => vec![add],
        DeclKind::Exception { cond, value, .. } => vec![cond, value],
        DeclKind::AsOf { expr } | DeclKind::Covers { expr, .. } => vec![expr],
        _ => Vec::new(),
    };
    if let Some(body) = bodies.into_iter().find(|b| inside(b.span)) {
        locals_in(body, off, &mut scope);
    } else if !matches!(d.kind, DeclKind::Function { .. }) {
        scope.clear();
    }
    scope
}

/// Descends to the offset, pushing the bindings whose scope holds it. The depth is the
/// expression's, which the parser bounds.
fn locals_in<'a>(e: &'a Expr, off: usize, scope: &mut Vec<Local<'a>>) {
    let inside = |s: Span| s.start as usize <= off && off <= s.end as usize;
    match &e.kind {
        ExprKind::Let(binds, body) => {
            for (x, v) in binds {
                if inside(v.span) {
                    return locals_in(v, off, scope);
                }
                scope.push(Local {
                    name: x,
                    kind: LocalKind::Let(v),
                });
                if inside(x.span) {
                    return;
                }
            }
            locals_in(body, off, scope);
        }
        ExprKind::Call(_, args) => {
            let mut list = None;
            for a in args {
                match a {
                    Arg::Expr(x) => {
                        if inside(x.span) {
                            return locals_in(x, off, scope);
                        }
                        list = Some(x);
                    }
                    Arg::Lambda(x, body) => {
                        if inside(x.span) || inside(body.span) {
                            scope.push(Local {
                                name: x,
                                kind: LocalKind::Lambda(list),
                            });
                            return locals_in(body, off, scope);
                        }
                    }
                }
            }
        }
        _ => {
            if let Some(c) = e.children().into_iter().find(|c| inside(c.span)) {
                locals_in(c, off, scope);
            }
        }
    }
}

fn today() -> Option<crate::value::Date> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = i64::try_from(secs / 86_400).ok()? + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    crate::value::Date::new(
        i32::try_from(y).ok()?,
        u32::try_from(m).ok()?,
        u32::try_from(d).ok()?,
    )
    .ok()
}

// ---------------------------------------------------------------------- the server

struct Server {
    root: Option<PathBuf>,
    docs: HashMap<PathBuf, String>,
    analysis: Analysis,
    published: HashSet<PathBuf>,
    /// The last text of each open rule file that parsed without errors.
    good: HashMap<PathBuf, String>,
    /// The buffers `analysis` was made from.
    analysed: Option<HashMap<PathBuf, String>>,
}

/// A declaration found by name: (file index, declaration index).
type Found = (usize, usize);

impl Server {
    fn notification(&mut self, n: Notification) -> Vec<Notification> {
        match n.method.as_str() {
            "textDocument/didOpen" => {
                if let Ok(p) = serde_json::from_value::<lt::DidOpenTextDocumentParams>(n.params) {
                    if let Ok(path) = p.text_document.uri.to_file_path() {
                        self.docs.insert(normalize(&path), p.text_document.text);
                    }
                }
            }
            "textDocument/didChange" => {
                if let Ok(p) = serde_json::from_value::<lt::DidChangeTextDocumentParams>(n.params) {
                    if let (Ok(path), Some(c)) = (
                        p.text_document.uri.to_file_path(),
                        p.content_changes.into_iter().last(),
                    ) {
                        self.docs.insert(normalize(&path), c.text);
                    }
                }
            }
            "textDocument/didClose" => {
                if let Ok(p) = serde_json::from_value::<lt::DidCloseTextDocumentParams>(n.params) {
                    if let Ok(path) = p.text_document.uri.to_file_path() {
                        self.docs.remove(&normalize(&path));
                    }
                }
            }
            "textDocument/didSave" | "workspace/didChangeWatchedFiles" => {}
            _ => return Vec::new(),
        }
        // Navigation works on the last version of each buffer that parsed (the file on disk
        // when none did); diagnostics on the text as it is.
        let mut nav_docs = self.docs.clone();
        for (path, text) in &self.docs {
            if path.extension().is_none_or(|x| x != RULE_EXT) {
                continue;
            }
            let (_, diags) = crate::syntax::parse_source(FileId(0), text, &Limits::default());
            if diags.iter().any(Diagnostic::is_error) {
                // The last version that parsed, or else the file on disk.
                match self.good.get(path) {
                    Some(good) => nav_docs.insert(path.clone(), good.clone()),
                    None => nav_docs.remove(path),
                };
            } else {
                self.good.insert(path.clone(), text.clone());
            }
        }
        if nav_docs == self.docs {
            self.analysis = analyse(self.root.as_deref(), &self.docs);
            self.analysed = Some(nav_docs);
            let analysis = std::mem::take(&mut self.analysis);
            let out = self.publish(&analysis);
            self.analysis = analysis;
            return out;
        }
        let out = self.publish(&analyse(self.root.as_deref(), &self.docs));
        // While a buffer stays broken its fallback does not change: the navigation analysis
        // is kept (files saved or changed on disk start a new one).
        let disk_event = !matches!(n.method.as_str(), "textDocument/didChange");
        if disk_event || self.analysed.as_ref() != Some(&nav_docs) {
            self.analysis = analyse(self.root.as_deref(), &nav_docs);
            self.analysed = Some(nav_docs);
        }
        out
    }

    /// The text of a file as the user sees it: the open buffer, or the file read.
    fn buffer(&self, fi: usize) -> Option<&str> {
        let f = self.analysis.files.get(fi)?;
        match self.docs.get(&f.path) {
            Some(t) => Some(t.as_str()),
            None => self.text(fi),
        }
    }

    fn publish(&mut self, analysis: &Analysis) -> Vec<Notification> {
        let mut by_file: HashMap<PathBuf, Vec<lt::Diagnostic>> = HashMap::new();
        for d in &analysis.diags {
            let Some(span) = d.span else { continue };
            let Some(f) = analysis.map.get(span.file) else {
                continue;
            };
            let text = &f.text;
            let range = lt::Range::new(
                pos_of(text, span.start as usize),
                pos_of(text, span.end as usize),
            );
            let mut message = d.message.clone();
            if let Some(h) = &d.help {
                message.push_str("\nhelp: ");
                message.push_str(h);
            }
            by_file
                .entry(PathBuf::from(&f.name))
                .or_default()
                .push(lt::Diagnostic {
                    range,
                    severity: Some(match d.severity {
                        Severity::Error => lt::DiagnosticSeverity::ERROR,
                        _ => lt::DiagnosticSeverity::WARNING,
                    }),
                    code: Some(lt::NumberOrString::String(d.code.as_str().to_string())),
                    source: Some("rulec".into()),
                    message,
                    ..Default::default()
                });
        }
        let mut out = Vec::new();
        let stale: Vec<PathBuf> = self
            .published
            .iter()
            .filter(|p| !by_file.contains_key(*p))
            .cloned()
            .collect();
        for p in stale {
            by_file.insert(p, Vec::new());
        }
        self.published.clear();
        for (path, diagnostics) in by_file {
            let Some(uri) = uri_of(&path) else { continue };
            if !diagnostics.is_empty() {
                self.published.insert(path.clone());
            }
            let params = lt::PublishDiagnosticsParams {
                uri,
                diagnostics,
                version: None,
            };
            if let Ok(v) = serde_json::to_value(params) {
                out.push(Notification::new(
                    "textDocument/publishDiagnostics".into(),
                    v,
                ));
            }
        }
        out
    }

    fn request(&mut self, req: Request) -> Response {
        let id = req.id.clone();
        let result = match req.method.as_str() {
            "textDocument/hover" => {
                self.with_pos(req, |s, f, o| serde_json::to_value(s.hover(f, o)).ok())
            }
            "textDocument/definition" => {
                self.with_pos(req, |s, f, o| serde_json::to_value(s.definition(f, o)).ok())
            }
            "textDocument/references" => self.with_pos(req, |s, f, o| {
                serde_json::to_value(s.references_at(f, o).map(|(_, locs)| locs)).ok()
            }),
            "textDocument/completion" => {
                self.with_pos(req, |s, f, o| serde_json::to_value(s.completion(f, o)).ok())
            }
            "textDocument/rename" => {
                let new_name = req
                    .params
                    .get("newName")
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string();
                return self.fallible(req, |s, f, o| {
                    s.rename(f, o, &new_name).map(serde_json::to_value)
                });
            }
            "textDocument/prepareRename" => {
                return self.fallible(req, |s, f, o| {
                    s.prepare_rename(f, o).map(serde_json::to_value)
                });
            }
            "textDocument/documentSymbol" => {
                let uri = serde_json::from_value::<lt::DocumentSymbolParams>(req.params)
                    .ok()
                    .map(|p| p.text_document.uri);
                let syms = uri.map(|u| {
                    self.symbols(
                        |f| Some(&f.path) == u.to_file_path().ok().map(|p| normalize(&p)).as_ref(),
                        "",
                    )
                });
                serde_json::to_value(syms).ok()
            }
            "workspace/symbol" => {
                let q = req
                    .params
                    .get("query")
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string();
                serde_json::to_value(self.symbols(|_| true, &q)).ok()
            }
            "textDocument/formatting" => {
                let uri = serde_json::from_value::<lt::DocumentFormattingParams>(req.params)
                    .ok()
                    .map(|p| p.text_document.uri);
                serde_json::to_value(uri.and_then(|u| self.format(&u))).ok()
            }
            _ => {
                return Response::new_err(
                    id,
                    lsp_server::ErrorCode::MethodNotFound as i32,
                    format!("rulec lsp does not handle `{}`", req.method),
                )
            }
        };
        Response::new_ok(id, result.unwrap_or(serde_json::Value::Null))
    }

    /// Answers a position request whose failure has a reason to tell the user: an error
    /// response (`RequestFailed`) with that reason, never a silent `null`.
    fn fallible(
        &mut self,
        req: Request,
        f: impl FnOnce(&Self, usize, usize) -> Result<serde_json::Result<serde_json::Value>, String>,
    ) -> Response {
        let id = req.id.clone();
        let mut out = Err("the position is not in a rule file of the workspace".to_string());
        let _ = self.with_pos(req, |s, fi, off| {
            out = f(s, fi, off);
            None
        });
        match out {
            Ok(Ok(v)) => Response::new_ok(id, v),
            Ok(Err(e)) => Response::new_err(
                id,
                lsp_server::ErrorCode::InternalError as i32,
                e.to_string(),
            ),
            Err(why) => Response::new_err(id, lsp_server::ErrorCode::RequestFailed as i32, why),
        }
    }

    /// Runs `f` with the file index and byte offset of a position request.
    fn with_pos(
        &mut self,
        req: Request,
        f: impl FnOnce(&Self, usize, usize) -> Option<serde_json::Value>,
    ) -> Option<serde_json::Value> {
        // Every position request has `textDocument` and `position` at its top level.
        let p: lt::TextDocumentPositionParams = serde_json::from_value(req.params).ok()?;
        let path = normalize(&p.text_document.uri.to_file_path().ok()?);
        let fi = self.analysis.files.iter().position(|f| f.path == path)?;
        let text = self.buffer(fi)?;
        let off = offset_of(text, p.position);
        f(self, fi, off)
    }

    fn text(&self, fi: usize) -> Option<&str> {
        let f = self.analysis.files.get(fi)?;
        self.analysis.map.get(f.id).map(|s| &*s.text)
    }

    fn location(&self, file: FileId, start: usize, end: usize) -> Option<lt::Location> {
        let f = self.analysis.map.get(file)?;
        Some(lt::Location::new(
            uri_of(Path::new(&f.name))?,
            lt::Range::new(pos_of(&f.text, start), pos_of(&f.text, end)),
        ))
    }

    fn decl(&self, (fi, di): Found) -> Option<&Decl> {
        self.analysis.files.get(fi)?.ast.decls.get(di)
    }

    /// The chain (root first) the file is checked in: its own ruleset's when it has one.
    fn chain_of(&self, fi: usize) -> Vec<usize> {
        let Some(layer) = self.analysis.files.get(fi).map(|f| f.layer) else {
            return Vec::new();
        };
        self.ruleset_of(fi)
            .map(|r| {
                r.chain
                    .iter()
                    .copied()
                    .take_while(|l| *l != layer)
                    .chain(std::iter::once(layer))
                    .collect()
            })
            .unwrap_or_else(|| vec![layer])
    }

    fn ruleset_of(&self, fi: usize) -> Option<&RulesetInfo> {
        let layer = self.analysis.files.get(fi)?.layer;
        self.analysis
            .rulesets
            .iter()
            .find(|r| r.chain.last() == Some(&layer))
            .or_else(|| {
                self.analysis
                    .rulesets
                    .iter()
                    .find(|r| r.chain.contains(&layer))
            })
    }

    /// The declarations of a name in a list of layers, nearest (last layer) first.
    fn find_in(&self, layers: &[usize], name: &str) -> Vec<Found> {
        let mut out = Vec::new();
        for l in layers.iter().rev() {
            for (fi, f) in self.analysis.files.iter().enumerate() {
                if f.layer != *l {
                    continue;
                }
                for (di, d) in f.ast.decls.iter().enumerate() {
                    if is_named(d) && d.name.name == name {
                        out.push((fi, di));
                    }
                }
            }
        }
        out
    }

    /// The global name at an offset: the name, where it is written, and the declaration it
    /// resolves to (nearest layer of the file's chain).
    fn resolve(&self, fi: usize, off: usize) -> Option<(String, Found)> {
        let text = self.buffer(fi)?;
        let (s, e) = word_at(text, off)?;
        let name = text.get(s..e)?.to_string();
        let f = self.analysis.files.get(fi)?;
        // A declaration's own name.
        for (di, d) in f.ast.decls.iter().enumerate() {
            if is_named(d) && d.name.span.start as usize == s && d.name.name == name {
                return Some((name, (fi, di)));
            }
        }
        let found = self.find_in(&self.chain_of(fi), &name);
        found.first().map(|x| (name, *x))
    }

    fn layer_name(&self, fi: usize) -> String {
        self.analysis
            .files
            .get(fi)
            .and_then(|f| self.analysis.layers.get(f.layer))
            .map(|l| l.name.clone())
            .unwrap_or_default()
    }

    fn slice(&self, span: Span) -> &str {
        self.analysis.map.slice(span)
    }

    fn head_text(&self, h: &Option<ast::VersionHead>) -> String {
        match h {
            None => "always".into(),
            Some(h) => match &h.until {
                Some((u, _)) => format!("from {} until {}", h.from, u),
                None => format!("from {}", h.from),
            },
        }
    }

    fn hover(&self, fi: usize, off: usize) -> Option<lt::Hover> {
        let text = self.buffer(fi)?;
        // A code in a string: the catalog rows that hold it.
        if let Some((s, e)) = string_at(text, off) {
            let code = text.get(s..e)?;
            let rows = self.catalog_rows(fi, code);
            if rows.is_empty() {
                return None;
            }
            return Some(markdown(rows.join("\n\n---\n\n")));
        }
        let (s, e) = word_at(text, off)?;
        let word = text.get(s..e)?;
        // After `.`: a record field, a catalog column or an enum value.
        if let Some(base) = text.get(..s)?.strip_suffix('.') {
            return self.hover_member(fi, base, word).map(markdown);
        }
        // A local name shadows a global one.
        if let Some(md) = self.hover_local(fi, off, word) {
            return Some(markdown(md));
        }
        if let Some((_, found)) = self.resolve(fi, off) {
            return self.hover_decl(fi, found).map(markdown);
        }
        // A built-in function: its signature, from the registry.
        if let Some((_, b)) = crate::builtins::lookup(word) {
            return Some(markdown(format!(
                "built-in function `{}`\n\n{}\n",
                b.name, b.signature
            )));
        }
        if let Some(about) = builtin_type(word) {
            return Some(markdown(format!("built-in type `{word}`\n\n{about}\n")));
        }
        // A bare enum value.
        let chain = self.chain_of(fi);
        let mut md = Vec::new();
        for f in self.enums_with(&chain, word) {
            if let Some(d) = self.decl(f) {
                md.push(format!(
                    "value `{word}` of enum `{}`\n\n```rulec\n{}\n```\n{}",
                    d.name.name,
                    self.signature(d),
                    self.defined_in(f)
                ));
            }
        }
        (!md.is_empty()).then(|| markdown(md.join("\n---\n\n")))
    }

    /// "Defined in layer `x` (file:line)" for a declaration.
    fn defined_in(&self, found: Found) -> String {
        let Some(d) = self.decl(found) else {
            return String::new();
        };
        let file = self
            .analysis
            .files
            .get(found.0)
            .map(|f| f.path.display().to_string())
            .unwrap_or_default();
        let line = self
            .analysis
            .map
            .get(d.span.file)
            .map(|f| f.line_col(d.span.start).0)
            .unwrap_or(0);
        format!(
            "Defined in layer `{}` ({}:{}){}\n",
            self.layer_name(found.0),
            file,
            line,
            if d.overrides {
                ", overriding its parent's"
            } else {
                ""
            }
        )
    }

    /// The enums of a chain that have a value of this name, nearest layer first.
    fn enums_with(&self, chain: &[usize], value: &str) -> Vec<Found> {
        let mut out = Vec::new();
        for l in chain.iter().rev() {
            for (fi, f) in self.analysis.files.iter().enumerate() {
                if f.layer != *l {
                    continue;
                }
                for (di, d) in f.ast.decls.iter().enumerate() {
                    if let DeclKind::Enum { variants } = &d.kind {
                        if variants.iter().any(|v| v.name == value) {
                            out.push((fi, di));
                        }
                    }
                }
            }
        }
        out
    }

    /// The member `word` of `base.`: a record's field, a catalog row's column or an enum's
    /// value, as (its declaration, where the member is written, what it is).
    fn member(&self, fi: usize, base: &str, word: &str) -> Option<(Found, Span, String)> {
        let chain = self.chain_of(fi);
        let (owner, kind) = match self.type_of_text(fi, &chain, base, 0)? {
            Ty::Named(n) => (n, None),
            Ty::Row(c) => (c, Some("catalog")),
            Ty::List(_) => return None,
        };
        for f in self.find_in(&chain, &owner) {
            let d = self.decl(f)?;
            let (span, head) = match (&d.kind, kind) {
                (DeclKind::Record { fields }, None) => {
                    let x = fields.iter().find(|x| x.name.name == word)?;
                    let default = x
                        .default
                        .as_ref()
                        .map(|v| format!(" = {}", self.slice(v.span)))
                        .unwrap_or_default();
                    (
                        x.name.span,
                        format!(
                            "field `{word}: {}{default}` of record `{owner}`",
                            type_text(&x.ty)
                        ),
                    )
                }
                (DeclKind::Enum { variants }, None) => {
                    let v = variants.iter().find(|v| v.name == word)?;
                    (v.span, format!("value `{word}` of enum `{owner}`"))
                }
                (DeclKind::Catalog { columns, .. }, Some(_)) => {
                    let c = columns.iter().find(|c| c.name.name == word)?;
                    (
                        c.name.span,
                        format!(
                            "column `{word}: {}`{} of catalog `{owner}`",
                            type_text(&c.ty),
                            if c.key { " (the key)" } else { "" }
                        ),
                    )
                }
                _ => continue,
            };
            return Some((f, span, head));
        }
        None
    }

    /// Hover on `base.word`: a record's field, a catalog row's column, an enum's value.
    fn hover_member(&self, fi: usize, base: &str, word: &str) -> Option<String> {
        let (f, _, head) = self.member(fi, base, word)?;
        let d = self.decl(f)?;
        Some(format!(
            "{head}\n\n```rulec\n{}\n```\n{}",
            self.signature(d),
            self.defined_in(f)
        ))
    }

    /// The local `word` in scope at an offset, and the declaration it is in.
    fn local_at(&self, fi: usize, off: usize, word: &str) -> Option<(&Decl, Local<'_>)> {
        // Offsets into the syntax tree hold only when it was parsed from the text shown.
        if self.text(fi) != self.buffer(fi) {
            return None;
        }
        let f = self.analysis.files.get(fi)?;
        let d = f
            .ast
            .decls
            .iter()
            .find(|d| d.span.start as usize <= off && off <= d.span.end as usize)?;
        let local = locals_at(d, off)
            .into_iter()
            .rev()
            .find(|l| l.name.name == word)?;
        Some((d, local))
    }

    /// Hover on a local name: a function's parameter, a `let` binding, a lambda's parameter.
    fn hover_local(&self, fi: usize, off: usize, word: &str) -> Option<String> {
        let (d, local) = self.local_at(fi, off, word)?;
        let f = self.analysis.files.get(fi)?;
        let (what, ty) = match &local.kind {
            LocalKind::Param(t) => (
                format!("parameter of function `{}`", d.name.name),
                Some(type_text(t)),
            ),
            LocalKind::Let(v) => {
                let shown = one_line(self.slice(v.span), 80);
                (
                    format!("local: `let {word} = {shown}`"),
                    self.type_at(fi, v.span),
                )
            }
            LocalKind::Lambda(list) => {
                let over = list
                    .map(|l| format!(" over `{}`", one_line(self.slice(l.span), 60)))
                    .unwrap_or_default();
                let ty = list.and_then(|l| {
                    self.type_at(fi, l.span)
                        .and_then(|t| {
                            t.strip_prefix("list<")?
                                .strip_suffix('>')
                                .map(str::to_string)
                        })
                        .or_else(|| {
                            match self.type_of_text(
                                fi,
                                &self.chain_of(fi),
                                self.slice(l.span),
                                0,
                            )? {
                                Ty::List(t) => match *t {
                                    Ty::Named(n) => Some(n),
                                    _ => None,
                                },
                                _ => None,
                            }
                        })
                });
                (format!("lambda parameter, each element{over}"), ty)
            }
        };
        let line = self
            .analysis
            .map
            .get(local.name.span.file)
            .map(|x| x.line_col(local.name.span.start).0)
            .unwrap_or(0);
        let ty = ty.map(|t| format!(": {t}")).unwrap_or_default();
        Some(format!(
            "```rulec\n{word}{ty}\n```\n{what}, in `{}` ({}:{line})\n",
            d.name.name,
            f.path.display()
        ))
    }

    /// The type the checker proved for the expression written at `span`, if it compiled.
    fn type_at(&self, fi: usize, span: Span) -> Option<String> {
        let rs = self.ruleset_of(fi)?;
        let mut stack: Vec<&ir::Node> = rs.ir.bodies().collect();
        while let Some(n) = stack.pop() {
            if n.span == span && n.ty != crate::types::Type::Error {
                return Some(crate::types::Show(&n.ty, &rs.ir).to_string());
            }
            if n.span.file == span.file && n.span.start <= span.start && span.end <= n.span.end {
                n.for_each_child(|c| stack.push(c));
            }
        }
        None
    }

    /// Hover on a declaration: its signature, layer and place, versions with their dates,
    /// citations and values (a table's or bands' rows, bounded), and what is in force today.
    fn hover_decl(&self, fi: usize, found: Found) -> Option<String> {
        let d = self.decl(found)?;
        let mut md = format!("```rulec\n{}\n```\n", self.signature(d));
        md.push_str(&self.defined_in(found));
        let today = today();
        let t = today.map(|t| t.to_string()).unwrap_or_default();
        // (head, value shown in the versions table, rows shown below it).
        let mut versions: Vec<VersionShown> = Vec::new();
        let mut row_head = String::new();
        match &d.kind {
            DeclKind::Param { versions: vs, .. } => {
                for v in vs {
                    versions.push((
                        v.head.clone(),
                        format!("`{}`", self.slice(v.value.span)),
                        v.cite.as_ref().map(|c| c.span),
                        Vec::new(),
                    ));
                }
            }
            DeclKind::Table {
                keys, versions: vs, ..
            } => {
                row_head = format!(
                    "| {} | value |\n|{}---|\n",
                    keys.iter()
                        .map(|(k, _)| k.name.as_str())
                        .collect::<Vec<_>>()
                        .join(" | "),
                    "---|".repeat(keys.len())
                );
                for v in vs {
                    let rows = v
                        .value
                        .iter()
                        .map(|r| {
                            let keys: Vec<String> =
                                r.keys.iter().map(|k| cell(self.slice(k.span))).collect();
                            format!(
                                "| {} | {} |",
                                keys.join(" | "),
                                cell(self.slice(r.value.span))
                            )
                        })
                        .collect();
                    versions.push((
                        v.head.clone(),
                        format!("{} rows", v.value.len()),
                        v.cite.as_ref().map(|c| c.span),
                        rows,
                    ));
                }
            }
            DeclKind::Bands { versions: vs } => {
                row_head = "| above | up to | rate |\n|---|---|---|\n".into();
                for v in vs {
                    let rows = v
                        .value
                        .iter()
                        .map(|b| {
                            format!(
                                "| {} | {} | {}% |",
                                b.lower,
                                b.upper.map(|u| u.to_string()).unwrap_or_else(|| "—".into()),
                                crate::value::Percent(b.rate)
                            )
                        })
                        .collect();
                    versions.push((
                        v.head.clone(),
                        format!("{} bands", v.value.len()),
                        v.cite.as_ref().map(|c| c.span),
                        rows,
                    ));
                }
            }
            DeclKind::Def { versions: vs, .. } if vs.iter().any(|v| v.head.is_some()) => {
                for v in vs {
                    versions.push((
                        v.head.clone(),
                        "…".into(),
                        v.cite.as_ref().map(|c| c.span),
                        Vec::new(),
                    ));
                }
            }
            DeclKind::Catalog { columns, rows, .. } => {
                md.push_str(&format!("\n{} columns", columns.len()));
                if let ast::RowSource::File(f, _) = rows {
                    md.push_str(&format!(", rows from `{f}`"));
                }
                if let Some(c) = self
                    .ruleset_of(fi)
                    .and_then(|r| r.ir.catalogs.iter().find(|c| c.name == d.name.name))
                {
                    md.push_str(&format!(", {} rows", c.rows.len()));
                }
                md.push('\n');
            }
            _ => {}
        }
        if versions.is_empty() {
            return Some(md);
        }
        let mut in_force = None;
        for (i, (h, _, _, _)) in versions.iter().enumerate() {
            let next_from = versions
                .get(i + 1)
                .and_then(|(h, _, _, _)| h.as_ref().map(|h| h.from));
            let covers_today = match (h, today) {
                (None, _) => true,
                (Some(h), Some(t)) => {
                    let end_ok = match &h.until {
                        Some((u, _)) => t <= *u,
                        None => next_from.is_none_or(|n| t < n),
                    };
                    h.from <= t && end_ok
                }
                _ => false,
            };
            if covers_today {
                in_force = Some(i);
            }
        }
        let has_rows = !row_head.is_empty();
        // The rows in force today first: what a claim settled today reads.
        match in_force.and_then(|i| versions.get(i)) {
            Some((h, v, _, rows)) if has_rows => md.push_str(&format!(
                "\nIn force today ({t}): {}, {v}\n\n{row_head}{}",
                match h {
                    None => "its only version".to_string(),
                    Some(_) => format!("the version {}", self.head_text(h)),
                },
                bounded_rows(rows, 20)
            )),
            Some((_, v, _, _)) => md.push_str(&format!("\nIn force today ({t}): {v}\n")),
            None => md.push_str(&format!("\nNo version is in force today ({t}).\n")),
        }
        md.push_str("\n| in force | value | citation |\n|---|---|---|\n");
        for (h, v, c, _) in &versions {
            md.push_str(&format!(
                "| {} | {} | {} |\n",
                self.head_text(h),
                v,
                c.map(|c| cell(self.slice(c))).unwrap_or_default()
            ));
        }
        if has_rows {
            for (i, (h, _, _, rows)) in versions.iter().enumerate() {
                if Some(i) == in_force {
                    continue;
                }
                md.push_str(&format!(
                    "\nThe version {}:\n\n{row_head}{}",
                    self.head_text(h),
                    bounded_rows(rows, 10)
                ));
            }
        }
        Some(md)
    }

    /// `kind name: type` as declared.
    fn signature(&self, d: &Decl) -> String {
        let kw = decl_kind(d);
        let over = if d.overrides { "override " } else { "" };
        let name = &d.name.name;
        match &d.kind {
            DeclKind::Param { ty, .. }
            | DeclKind::Input { ty }
            | DeclKind::Series { ty, .. }
            | DeclKind::Accumulator { ty, .. } => {
                format!("{over}{kw} {name}: {}", type_text(ty))
            }
            DeclKind::Def { ty: Some(ty), .. } => {
                format!("{over}{kw} {name}: {}", type_text(ty))
            }
            DeclKind::Def { ty: None, .. } => format!("{over}{kw} {name}: money"),
            DeclKind::Function { params, ty, .. } => format!(
                "{over}def {name}({}): {}",
                params
                    .iter()
                    .map(|(p, t)| format!("{}: {}", p.name, type_text(t)))
                    .collect::<Vec<_>>()
                    .join(", "),
                type_text(ty)
            ),
            DeclKind::Table { keys, ty, .. } => format!(
                "{over}table {name}({}): {}",
                keys.iter()
                    .map(|(p, t)| format!("{}: {}", p.name, type_text(t)))
                    .collect::<Vec<_>>()
                    .join(", "),
                type_text(ty)
            ),
            DeclKind::Catalog { columns, .. } => format!(
                "{over}catalog {name} {{ {} }}",
                columns
                    .iter()
                    .map(|c| format!(
                        "{}: {}{}",
                        c.name.name,
                        type_text(&c.ty),
                        if c.key { " key" } else { "" }
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            DeclKind::Enum { variants } => format!(
                "enum {name} {{ {} }}",
                variants
                    .iter()
                    .map(|v| v.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            DeclKind::Record { fields } => format!(
                "record {name} {{ {} }}",
                fields
                    .iter()
                    .map(|f| format!("{}: {}", f.name.name, type_text(&f.ty)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            DeclKind::Exception { target, .. } => {
                format!("{over}exception {name} to {}", target.name)
            }
            _ => format!("{over}{kw} {name}"),
        }
    }

    /// The rows of every catalog in scope that hold a code, as markdown.
    fn catalog_rows(&self, fi: usize, code: &str) -> Vec<String> {
        let Some(rs) = self.ruleset_of(fi) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for c in &rs.ir.catalogs {
            for &r in c.index.get(code).map(Vec::as_slice).unwrap_or(&[]) {
                let Some(row) = c.rows.get(r as usize) else {
                    continue;
                };
                let cells: Vec<String> = c
                    .columns
                    .iter()
                    .zip(&row.cells)
                    .map(|(col, v)| {
                        let shown = value_text(v, &rs.ir);
                        format!("| {} | {} |", col.name, shown.replace('|', "\\|"))
                    })
                    .collect();
                let place = self
                    .analysis
                    .map
                    .get(row.span.file)
                    .map(|f| format!("{}:{}", f.name, f.line_col(row.span.start).0))
                    .unwrap_or_default();
                out.push(format!(
                    "**catalog `{}`**, row at {place}, in force {}\n\n| column | value |\n|---|---|\n{}",
                    c.name,
                    row.period,
                    cells.join("\n")
                ));
            }
        }
        out
    }

    fn definition(&self, fi: usize, off: usize) -> Option<lt::GotoDefinitionResponse> {
        let text = self.buffer(fi)?;
        // A code in a string: its catalog rows.
        if let Some((s, e)) = string_at(text, off) {
            let code = text.get(s..e)?;
            let rs = self.ruleset_of(fi)?;
            let mut locs = Vec::new();
            for c in &rs.ir.catalogs {
                for &r in c.index.get(code).map(Vec::as_slice).unwrap_or(&[]) {
                    if let Some(row) = c.rows.get(r as usize) {
                        locs.extend(self.location(
                            row.span.file,
                            row.span.start as usize,
                            row.span.end as usize,
                        ));
                    }
                }
            }
            return (!locs.is_empty()).then_some(lt::GotoDefinitionResponse::Array(locs));
        }
        let one = |span: Span| {
            self.location(span.file, span.start as usize, span.end as usize)
                .map(|l| lt::GotoDefinitionResponse::Array(vec![l]))
        };
        let (s, e) = word_at(text, off)?;
        let word = text.get(s..e)?;
        // After `.`: the field, column or enum value declared.
        if let Some(base) = text.get(..s)?.strip_suffix('.') {
            return one(self.member(fi, base, word)?.1);
        }
        // A local: where it is bound.
        if let Some((_, local)) = self.local_at(fi, off, word) {
            return one(local.name.span);
        }
        let Some((name, found)) = self.resolve(fi, off) else {
            // A bare enum value: the enums that declare it.
            let mut locs = Vec::new();
            for f in self.enums_with(&self.chain_of(fi), word) {
                if let Some(DeclKind::Enum { variants }) = self.decl(f).map(|d| &d.kind) {
                    for v in variants.iter().filter(|v| v.name == word) {
                        locs.extend(self.location(
                            v.span.file,
                            v.span.start as usize,
                            v.span.end as usize,
                        ));
                    }
                }
            }
            return (!locs.is_empty()).then_some(lt::GotoDefinitionResponse::Array(locs));
        };
        let d = self.decl(found)?;
        let on_decl = found.0 == fi && {
            let (s, _) = word_at(text, off)?;
            d.name.span.start as usize == s
        };
        let mut locs = Vec::new();
        if on_decl {
            if d.overrides {
                // The parent's definition this one replaces.
                let chain = self.chain_of(fi);
                let parents = chain.get(..chain.len().saturating_sub(1)).unwrap_or(&[]);
                if let Some(p) = self.find_in(parents, &name).first() {
                    locs.extend(self.decl_location(*p));
                }
            } else {
                // The children's overrides of this definition.
                let layer = self.analysis.files.get(fi)?.layer;
                let mut seen = HashSet::new();
                for rs in &self.analysis.rulesets {
                    let Some(pos) = rs.chain.iter().position(|l| *l == layer) else {
                        continue;
                    };
                    let below = rs.chain.get(pos + 1..).unwrap_or(&[]);
                    for f in self.find_in(below, &name) {
                        if self.decl(f).is_some_and(|d| d.overrides) && seen.insert(f) {
                            locs.extend(self.decl_location(f));
                        }
                    }
                }
            }
        } else {
            locs.extend(self.decl_location(found));
        }
        // A catalog: its CSV file too.
        if let DeclKind::Catalog {
            rows: ast::RowSource::File(rel, _),
            ..
        } = &d.kind
        {
            let dir = self
                .analysis
                .files
                .get(found.0)
                .and_then(|f| self.analysis.layers.get(f.layer))
                .and_then(|l| l.dir.clone());
            if let Some(uri) = dir.and_then(|d| uri_of(&normalize(&d.join(rel)))) {
                locs.push(lt::Location::new(uri, lt::Range::default()));
            }
        }
        (!locs.is_empty()).then_some(lt::GotoDefinitionResponse::Array(locs))
    }

    fn decl_location(&self, f: Found) -> Option<lt::Location> {
        let d = self.decl(f)?;
        self.location(
            d.name.span.file,
            d.name.span.start as usize,
            d.name.span.end as usize,
        )
    }

    /// Every place a global name is declared or used, across every chain that holds its
    /// declaration: (spans, locations).
    fn references_at(&self, fi: usize, off: usize) -> Option<(Vec<Span>, Vec<lt::Location>)> {
        let (name, found) = self.resolve(fi, off)?;
        let def_layer = self.analysis.files.get(found.0)?.layer;
        // Layers whose chain holds the declaring layer (and so may use or override it).
        let mut layers: HashSet<usize> = HashSet::new();
        for rs in &self.analysis.rulesets {
            if let Some(pos) = rs.chain.iter().position(|l| *l == def_layer) {
                layers.extend(rs.chain.iter().skip(pos).copied());
                // Parents the definition overrides.
                layers.extend(rs.chain.iter().take(pos).copied().filter(|l| {
                    self.analysis.files.iter().any(|f| {
                        f.layer == *l
                            && f.ast
                                .decls
                                .iter()
                                .any(|d| is_named(d) && d.name.name == name)
                    })
                }));
            }
        }
        layers.insert(def_layer);
        let mut spans = Vec::new();
        for f in &self.analysis.files {
            if !layers.contains(&f.layer) {
                continue;
            }
            for d in &f.ast.decls {
                if is_named(d) && d.name.name == name {
                    spans.push(d.name.span);
                }
                let mut refs = Vec::new();
                references(d, &mut refs);
                spans.extend(refs.into_iter().filter(|(n, _)| *n == name).map(|(_, s)| s));
            }
        }
        spans.sort();
        spans.dedup();
        let locs = spans
            .iter()
            .filter_map(|s| self.location(s.file, s.start as usize, s.end as usize))
            .collect();
        Some((spans, locs))
    }

    /// The name a rename at this position would rename, and where it is written; an error
    /// saying why when there is none.
    fn prepare_rename(&self, fi: usize, off: usize) -> Result<lt::PrepareRenameResponse, String> {
        let text = self.buffer(fi).ok_or("the file is not loaded")?;
        let nothing = || {
            "nothing to rename here: put the cursor on the name of a declaration \
             (param, def, table, catalog, enum, record, …) or on a use of one"
                .to_string()
        };
        let (s, e) = word_at(text, off).ok_or_else(nothing)?;
        let (name, _) = self.resolve(fi, off).ok_or_else(nothing)?;
        let range = lt::Range::new(pos_of(text, s), pos_of(text, e));
        Ok(lt::PrepareRenameResponse::RangeWithPlaceholder {
            range,
            placeholder: name,
        })
    }

    /// The edits that rename a declaration everywhere in the chains that hold it, or why
    /// the new name cannot be given: not a name, a word of the language, a built-in, a name
    /// already declared where the declaration is visible, or a local the renamed uses would
    /// then refer to.
    fn rename(&self, fi: usize, off: usize, new_name: &str) -> Result<lt::WorkspaceEdit, String> {
        self.prepare_rename(fi, off)?;
        let (old, found) = self.resolve(fi, off).ok_or("nothing to rename here")?;
        if let Some(why) = bad_name(new_name) {
            return Err(why);
        }
        let (spans, _) = self
            .references_at(fi, off)
            .ok_or("nothing to rename here")?;
        if new_name != old {
            self.rename_conflict(found, &old, new_name, &spans)?;
        }
        let mut changes: HashMap<lt::Url, Vec<lt::TextEdit>> = HashMap::new();
        for s in spans {
            if let Some(loc) = self.location(s.file, s.start as usize, s.end as usize) {
                changes
                    .entry(loc.uri)
                    .or_default()
                    .push(lt::TextEdit::new(loc.range, new_name.to_string()));
            }
        }
        Ok(lt::WorkspaceEdit {
            changes: Some(changes),
            ..Default::default()
        })
    }

    /// Why renaming `old` (declared at `found`) to `new` would change what a rule means.
    fn rename_conflict(
        &self,
        found: Found,
        old: &str,
        new: &str,
        uses: &[Span],
    ) -> Result<(), String> {
        let def_layer = self.analysis.files.get(found.0).map(|f| f.layer);
        let is_type = |d: &Decl| matches!(d.kind, DeclKind::Enum { .. } | DeclKind::Record { .. });
        let renamed_is_type = self.decl(found).is_some_and(is_type);
        // Every layer of every chain the declaration is in: its parents and its children.
        let mut layers: HashSet<usize> = def_layer.into_iter().collect();
        for rs in &self.analysis.rulesets {
            if def_layer.is_some_and(|l| rs.chain.contains(&l)) {
                layers.extend(rs.chain.iter().copied());
            }
        }
        for (fi, f) in self.analysis.files.iter().enumerate() {
            if !layers.contains(&f.layer) {
                continue;
            }
            for d in &f.ast.decls {
                let place = || {
                    let line = self
                        .analysis
                        .map
                        .get(d.name.span.file)
                        .map(|x| x.line_col(d.name.span.start).0)
                        .unwrap_or(0);
                    format!(
                        "layer `{}` ({}:{line})",
                        self.layer_name(fi),
                        f.path.display()
                    )
                };
                if is_named(d) && d.name.name == new && is_type(d) == renamed_is_type {
                    return Err(format!(
                        "`{new}` is already declared in {}: renaming `{old}` to it would declare \
                         one name twice",
                        place()
                    ));
                }
                if let DeclKind::Enum { variants } = &d.kind {
                    if !renamed_is_type && variants.iter().any(|v| v.name == new) {
                        return Err(format!(
                            "`{new}` is a value of enum `{}` in {}: a bare `{new}` would be \
                             ambiguous",
                            d.name.name,
                            place()
                        ));
                    }
                }
            }
        }
        // A use inside the scope of a local of the new name would refer to the local.
        for u in uses {
            let Some(f) = self.analysis.files.iter().find(|f| f.id == u.file) else {
                continue;
            };
            let Some(d) = f
                .ast
                .decls
                .iter()
                .find(|d| d.span.start <= u.start && u.end <= d.span.end)
            else {
                continue;
            };
            if locals_at(d, u.start as usize)
                .iter()
                .any(|l| l.name.name == new)
            {
                let line = self
                    .analysis
                    .map
                    .get(u.file)
                    .map(|x| x.line_col(u.start).0)
                    .unwrap_or(0);
                return Err(format!(
                    "`{new}` is a local name (a parameter or `let`) where `{old}` is used at \
                     {}:{line}: the renamed use would refer to the local",
                    f.path.display()
                ));
            }
        }
        Ok(())
    }

    #[allow(deprecated)]
    fn symbols(&self, keep: impl Fn(&FileInfo) -> bool, query: &str) -> Vec<lt::SymbolInformation> {
        let mut out = Vec::new();
        for (fi, f) in self.analysis.files.iter().enumerate() {
            if !keep(f) {
                continue;
            }
            for d in &f.ast.decls {
                if !is_named(d) || !d.name.name.contains(query) {
                    continue;
                }
                if let Some(location) =
                    self.location(d.name.span.file, d.span.start as usize, d.span.end as usize)
                {
                    out.push(lt::SymbolInformation {
                        name: d.name.name.clone(),
                        kind: symbol_kind(d),
                        tags: None,
                        deprecated: None,
                        location,
                        container_name: Some(self.layer_name(fi)),
                    });
                }
            }
        }
        out
    }

    fn format(&self, uri: &lt::Url) -> Option<Vec<lt::TextEdit>> {
        let path = normalize(&uri.to_file_path().ok()?);
        let text = self.docs.get(&path).cloned().or_else(|| {
            self.analysis
                .files
                .iter()
                .find(|f| f.path == path)
                .and_then(|f| self.analysis.map.get(f.id))
                .map(|s| s.text.to_string())
        })?;
        let out = crate::fmt::format_source(&text, &Limits::default()).ok()?;
        if out == text {
            return Some(Vec::new());
        }
        Some(vec![lt::TextEdit::new(
            lt::Range::new(lt::Position::new(0, 0), pos_of(&text, text.len())),
            out,
        )])
    }

    // ------------------------------------------------------------------ completion

    fn completion(&self, fi: usize, off: usize) -> Option<lt::CompletionResponse> {
        let text = self.buffer(fi)?;
        let mut items = Vec::new();
        let item =
            |label: String, kind: lt::CompletionItemKind, detail: String| lt::CompletionItem {
                label,
                kind: Some(kind),
                detail: Some(detail),
                ..Default::default()
            };
        // Inside a string: catalog codes.
        if string_at(text, off).is_some() {
            if let Some(rs) = self.ruleset_of(fi) {
                for c in &rs.ir.catalogs {
                    let name_col = c.columns.iter().position(|col| col.name == "name");
                    for row in c.rows.iter().take(2_000) {
                        let code = row
                            .cells
                            .get(c.key as usize)
                            .map(|v| value_text(v, &rs.ir))
                            .unwrap_or_default();
                        let name = name_col
                            .and_then(|i| row.cells.get(i))
                            .map(|v| value_text(v, &rs.ir))
                            .unwrap_or_default();
                        items.push(item(
                            code,
                            lt::CompletionItemKind::VALUE,
                            format!("{} {name} ({})", c.name, row.period),
                        ));
                    }
                }
            }
            return Some(lt::CompletionResponse::Array(items));
        }
        let start = word_at(text, off).map(|(s, _)| s).unwrap_or(off).min(off);
        let before = text.get(..start).unwrap_or("");
        if let Some(base) = before.strip_suffix('.') {
            for (label, detail) in self.members(fi, base) {
                items.push(item(label, lt::CompletionItemKind::FIELD, detail));
            }
            return Some(lt::CompletionResponse::Array(items));
        }
        let chain = self.chain_of(fi);
        let mut seen = HashSet::new();
        for l in chain.iter().rev() {
            let layer = self
                .analysis
                .layers
                .get(*l)
                .map(|x| x.name.clone())
                .unwrap_or_default();
            for f in self.analysis.files.iter().filter(|f| f.layer == *l) {
                for d in &f.ast.decls {
                    if is_named(d) && seen.insert(d.name.name.clone()) {
                        items.push(item(
                            d.name.name.clone(),
                            match d.kind {
                                DeclKind::Function { .. } => lt::CompletionItemKind::FUNCTION,
                                DeclKind::Enum { .. } => lt::CompletionItemKind::ENUM,
                                DeclKind::Record { .. } => lt::CompletionItemKind::STRUCT,
                                _ => lt::CompletionItemKind::VARIABLE,
                            },
                            format!("{} (layer {layer})", self.signature(d)),
                        ));
                    }
                    if let DeclKind::Enum { variants } = &d.kind {
                        for v in variants {
                            if seen.insert(format!("{}.{}", d.name.name, v.name)) {
                                items.push(item(
                                    v.name.clone(),
                                    lt::CompletionItemKind::ENUM_MEMBER,
                                    format!("{}.{} (layer {layer})", d.name.name, v.name),
                                ));
                            }
                        }
                    }
                }
            }
        }
        for k in KEYWORDS.iter().chain(CONTEXTUAL) {
            items.push(item(
                (*k).into(),
                lt::CompletionItemKind::KEYWORD,
                "keyword".into(),
            ));
        }
        for b in crate::builtins::BUILTINS {
            items.push(item(
                b.name.into(),
                lt::CompletionItemKind::FUNCTION,
                format!("built-in {}", b.signature),
            ));
        }
        Some(lt::CompletionResponse::Array(items))
    }

    /// Members after `base.`: record fields, enum values or catalog columns.
    fn members(&self, fi: usize, base: &str) -> Vec<(String, String)> {
        let chain = self.chain_of(fi);
        let ty = self.type_of_text(fi, &chain, base, 0);
        let Some(ty) = ty else {
            return Vec::new();
        };
        match ty {
            Ty::Named(n) => {
                for f in self.find_in(&chain, &n) {
                    match self.decl(f).map(|d| &d.kind) {
                        Some(DeclKind::Record { fields }) => {
                            return fields
                                .iter()
                                .map(|x| (x.name.name.clone(), type_text(&x.ty)))
                                .collect()
                        }
                        Some(DeclKind::Enum { variants }) => {
                            return variants
                                .iter()
                                .map(|v| (v.name.clone(), format!("{n}.{}", v.name)))
                                .collect()
                        }
                        _ => {}
                    }
                }
                Vec::new()
            }
            Ty::Row(cat) => self
                .find_in(&chain, &cat)
                .first()
                .and_then(|f| self.decl(*f))
                .map(|d| match &d.kind {
                    DeclKind::Catalog { columns, .. } => columns
                        .iter()
                        .map(|c| (c.name.name.clone(), type_text(&c.ty)))
                        .collect(),
                    _ => Vec::new(),
                })
                .unwrap_or_default(),
            Ty::List(_) => Vec::new(),
        }
    }

    /// The type of the expression text that ends `text` (`claim.insured`, `tcm[c]`, a lambda
    /// parameter), read backwards, as far as the syntax tells.
    fn type_of_text(&self, fi: usize, chain: &[usize], text: &str, depth: usize) -> Option<Ty> {
        if depth > 8 {
            return None;
        }
        let trimmed = text.trim_end();
        // `x[...]`: a catalog row or a list element.
        if let Some(inner) = trimmed.strip_suffix(']') {
            let open = matching_open(inner, '[', ']')?;
            let base = inner.get(..open)?;
            return match self.type_of_text(fi, chain, base, depth + 1)? {
                Ty::Row(c) => Some(Ty::Row(c)),
                Ty::List(t) => Some(*t),
                Ty::Named(n) => Some(Ty::Row(n)),
            };
        }
        let (s, _) = word_at(trimmed, trimmed.len())?;
        let name = trimmed.get(s..)?;
        let before = trimmed.get(..s)?;
        if let Some(base) = before.strip_suffix('.') {
            let bt = self.type_of_text(fi, chain, base, depth + 1)?;
            let Ty::Named(rec) = bt else { return None };
            for f in self.find_in(chain, &rec) {
                if let Some(DeclKind::Record { fields }) = self.decl(f).map(|d| &d.kind) {
                    let field = fields.iter().find(|x| x.name.name == name)?;
                    return Some(ty_of(&field.ty));
                }
            }
            return None;
        }
        // A global: its declared type; a catalog: its rows; an enum or record: itself.
        if let Some(f) = self.find_in(chain, name).first() {
            let d = self.decl(*f)?;
            return match &d.kind {
                DeclKind::Input { ty }
                | DeclKind::Param { ty, .. }
                | DeclKind::Def { ty: Some(ty), .. }
                | DeclKind::Accumulator { ty, .. } => Some(ty_of(ty)),
                DeclKind::Catalog { .. } => Some(Ty::Named(name.to_string())),
                DeclKind::Enum { .. } | DeclKind::Record { .. } => {
                    Some(Ty::Named(name.to_string()))
                }
                _ => None,
            };
        }
        // A lambda parameter: `LIST, name =>` earlier in the text.
        let full = self.buffer(fi)?;
        let upto = full.get(..full.len().min(text.len()))?;
        let pat = format!("{name} =>");
        let at = upto.rfind(&pat)?;
        let head = upto.get(..at)?.trim_end().strip_suffix(',')?;
        let open = matching_open(head, '(', ')')?;
        let list = head.get(open + 1..)?;
        match self.type_of_text(fi, chain, list, depth + 1)? {
            Ty::List(t) => Some(*t),
            _ => None,
        }
    }
}

/// One version as hover shows it: its head, its value (or row count), its citation, and its
/// rows (tables and bands).
type VersionShown = (Option<ast::VersionHead>, String, Option<Span>, Vec<String>);

/// A type as far as completion needs it.
enum Ty {
    Named(String),
    List(Box<Ty>),
    Row(String),
}

fn ty_of(t: &TypeExpr) -> Ty {
    match t {
        TypeExpr::Named(i) => Ty::Named(i.name.clone()),
        TypeExpr::List(inner, _) => Ty::List(Box::new(ty_of(inner))),
        TypeExpr::Optional(inner, _) | TypeExpr::Digits(inner, _, _) => ty_of(inner),
    }
}

/// The byte index of the bracket that opens the last unclosed `open` in `s`.
fn matching_open(s: &str, open: char, close: char) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices().rev() {
        if c == close {
            depth += 1;
        } else if c == open {
            if depth == 0 {
                return Some(i);
            }
            depth -= 1;
        }
    }
    None
}

fn value_text(v: &crate::value::Value, rs: &ir::Ruleset) -> String {
    if let crate::value::Value::Rate(r) = v {
        return r.to_string();
    }
    match crate::api::value_json(v, rs) {
        serde_json::Value::Null => "—".into(),
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}

/// A type as written, with its digits (`money(4)`), without comments or line breaks.
fn type_text(t: &TypeExpr) -> String {
    match t {
        TypeExpr::Named(i) => i.name.clone(),
        TypeExpr::List(inner, _) => format!("list<{}>", type_text(inner)),
        TypeExpr::Optional(inner, _) => format!("{}?", type_text(inner)),
        TypeExpr::Digits(inner, d, _) => format!("{}({d})", type_text(inner)),
    }
}

/// A table cell in markdown: one line, `|` escaped.
fn cell(s: &str) -> String {
    one_line(s, 200).replace('|', "\\|")
}

/// Text on one line (runs of white space as one space), at most `max` characters.
fn one_line(s: &str, max: usize) -> String {
    let joined = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.chars().count() <= max {
        return joined;
    }
    let cut: String = joined.chars().take(max).collect();
    format!("{cut}…")
}

/// The first `max` markdown rows, and how many more there are.
fn bounded_rows(rows: &[String], max: usize) -> String {
    let mut out: String = rows.iter().take(max).map(|r| format!("{r}\n")).collect();
    if rows.len() > max {
        out.push_str(&format!("\n… and {} more rows\n", rows.len() - max));
    }
    out
}

/// What a built-in type is, for hover.
fn builtin_type(name: &str) -> Option<&'static str> {
    Some(match name {
        "money" => {
            "An exact amount of money in yuan (CNY): a decimal, never a float. A claim gives \
             at most 2 fraction digits (`money(4)` allows 4); arithmetic is checked and rounding \
             is explicit (`round(x, 0.01, half_up)`)."
        }
        "rate" => "A rate, written `80%` and held exactly (0.80); money × rate is money.",
        "decimal" => {
            "An exact decimal number without a unit (a claim gives at most 4 fraction \
             digits unless written `decimal(N)`)."
        }
        "int" => "An integer.",
        "bool" => "`true` or `false`.",
        "date" => "A calendar date, written `2024-01-01`.",
        "text" => "Text, written `\"…\"`.",
        "list" => {
            "`list<T>`: a list of values of type `T` (`sum`, `count`, `any`, `all`, … \
             run over it)."
        }
        _ => return None,
    })
}

fn markdown(value: String) -> lt::Hover {
    lt::Hover {
        contents: lt::HoverContents::Markup(lt::MarkupContent {
            kind: lt::MarkupKind::Markdown,
            value,
        }),
        range: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_in_utf16() {
        let t = "ab\n中文x\n";
        let p = pos_of(t, t.find('x').unwrap_or(0));
        assert_eq!(p, lt::Position::new(1, 2));
        assert_eq!(offset_of(t, p), t.find('x').unwrap_or(0));
        assert_eq!(offset_of(t, lt::Position::new(9, 9)), t.len());
    }

    /// The words completion offers and rename refuses are those of grammar/rulec.pest: the
    /// reserved ones (rule `keyword`) and every other word it spells out.
    #[test]
    fn the_keywords_are_those_of_the_pest_grammar() {
        let pest = include_str!("../grammar/rulec.pest");
        // Every `"word"` of lower-case letters and `_` (not `"_"`, the wildcard).
        let words = |text: &str| -> HashSet<String> {
            let b = text.as_bytes();
            let mut out = HashSet::new();
            let mut i = 0;
            while i < b.len() {
                let mut j = i;
                while j < b.len() && (b[j].is_ascii_lowercase() || b[j] == b'_') {
                    j += 1;
                }
                if j > i && i > 0 && b[i - 1] == b'"' && b.get(j) == Some(&b'"') {
                    out.insert(text[i..j].to_string());
                }
                i = j.max(i + 1);
            }
            out.remove("_");
            out
        };
        let code: String = pest
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let start = code.find("keyword = @{").unwrap_or(0);
        let end = code[start..].find('}').map_or(code.len(), |e| start + e);
        let reserved = words(&code[start..end]);
        let all = words(&code);
        let ours: HashSet<String> = KEYWORDS.iter().map(|s| s.to_string()).collect();
        assert_eq!(ours, reserved);
        let contextual: HashSet<String> = CONTEXTUAL.iter().map(|s| s.to_string()).collect();
        let want: HashSet<String> = all.difference(&reserved).cloned().collect();
        assert_eq!(contextual, want);
    }

    #[test]
    fn strings_and_words() {
        let t = "x = \"GH001\" + abc";
        assert_eq!(string_at(t, 6), Some((5, 10)));
        assert_eq!(word_at(t, 15), Some((14, 17)));
        assert_eq!(string_at(t, 15), None);
    }
}
