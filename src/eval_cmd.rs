//! `rulec eval`: one claim, or a batch of JSON Lines settled on a rayon pool, in input order.
//!
//! A batch streams: lines are read in chunks, each line bounded by the claim-size limit while
//! it is read (a longer line is skipped to its end and reported, never buffered). A chunk is
//! settled on the pool while the previous chunk's output is written and the next is read, so
//! memory stays flat. Every input line gives exactly one output line, in order: a settlement
//! carrying the claim's `claim_id`, or `{"line", "claim_id", "error"}`. A claim whose
//! settlement panics (a bug) gives an `E0739` line; it never drops or shifts another line.
//! Writes are checked: a closed pipe ends the batch at once, any other write error exits 2.
//! A batch input that cannot be read (a directory, a FIFO, a read error) fails once, exit 2.

use clap::ValueEnum;
use rulec::api::{EvalOptions, Ruleset};
use rulec::diag::{Code, Diagnostic};
use rulec::limits::Limits;
use rulec::output::{self, Written};
use rulec::value::Date;
use serde_json::{json, Value as Json};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

/// Arguments of `rulec eval`.
#[derive(clap::Args)]
pub struct EvalArgs {
    /// The ruleset directory (omit with `--rulesets`; then the one positional argument is the claim).
    #[arg(required_unless_present = "rulesets")]
    pub ruleset: Option<PathBuf>,
    /// The claim JSON file, or `-` for standard input.
    pub claim: Option<String>,
    /// Pick the most specific ruleset under DIR for the claim's `insured.region`.
    #[arg(long, value_name = "DIR")]
    pub rulesets: Option<PathBuf>,
    /// Settle one claim per line of a JSON Lines file (or `-`).
    #[arg(long, value_name = "CLAIMS.jsonl")]
    pub batch: Option<String>,
    /// Worker threads for `--batch`, 1 to 256 (default: every core).
    #[arg(long, value_parser = rulec::limits::parse_jobs)]
    pub jobs: Option<usize>,
    /// Evaluate as of this date instead of the claim's date.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<String>,
    /// Print the derivation of every amount after the settlement.
    #[arg(long)]
    pub explain: bool,
    /// Print the settlement and its derivation as one JSON object (`--trace json`).
    #[arg(long, value_enum)]
    pub trace: Option<TraceFormat>,
    /// Save the claim and its settlement as a test case in FILE (an array of cases, appended
    /// to), for review.
    #[arg(long, value_name = "FILE", requires = "name", conflicts_with = "batch")]
    pub save_case: Option<PathBuf>,
    /// The name of the case `--save-case` writes.
    #[arg(long, requires = "save_case")]
    pub name: Option<String>,
}

/// Machine formats of the derivation.
#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
pub enum TraceFormat {
    /// One JSON object: `{settlement, trace}`.
    Json,
}

/// Loads rulesets once each; routes claims by region when asked to.
struct Router {
    fixed: Option<Result<Ruleset, rulec::api::Error>>,
    routes: Option<rulec::api::Router>,
    /// The routing root, when claims are routed.
    root: Option<PathBuf>,
    /// Set when a claim was routed to a ruleset with errors (`E0713`): a batch then shows
    /// those errors once, at its end, instead of only the code on each line.
    hit_rule_errors: std::sync::atomic::AtomicBool,
}

impl Router {
    fn get(&self, claim: &Json) -> Result<Ruleset, rulec::api::Error> {
        match (&self.fixed, &self.routes) {
            (Some(f), _) => f.clone(),
            (None, Some(r)) => r.route(claim),
            (None, None) => Err(rulec::api::Error::from_diagnostic(Diagnostic::global(
                Code::NoRuleset,
                "no ruleset given",
            ))),
        }
    }

    /// The ruleset for a claim given as JSON bytes, already peeked at (routing reads
    /// `insured.region` alone).
    fn get_bytes(
        &self,
        claim: &[u8],
        peek: Option<&rulec::claim::Peek<'_>>,
    ) -> Result<Ruleset, rulec::api::Error> {
        match (&self.fixed, &self.routes) {
            (Some(f), _) => f.clone(),
            (None, Some(r)) => r.route_peeked(claim, peek),
            (None, None) => Err(rulec::api::Error::from_diagnostic(Diagnostic::global(
                Code::NoRuleset,
                "no ruleset given",
            ))),
        }
    }
}

/// Reads a claim file (or `-`), regular files only and bounded by the claim-size limit.
fn read_input(name: &str) -> Result<String, rulec::io::ReadError> {
    let limit = Limits::default().max_claim_bytes;
    let bytes = rulec::io::read_path_or_stdin(std::path::Path::new(name), limit)?;
    String::from_utf8(bytes).map_err(|e| rulec::io::ReadError::Io {
        path: name.to_string(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not valid UTF-8 (bad byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        ),
    })
}

/// The claim-size limit, checked before parsing.
fn too_large(text: &str) -> Option<rulec::claim::ClaimError> {
    let limit = Limits::default().max_claim_bytes;
    (text.len() > limit).then(|| rulec::claim::ClaimError {
        code: Code::ClaimTooLarge,
        path: String::new(),
        message: format!(
            "the claim is {} bytes, over the limit of {limit}",
            text.len()
        ),
    })
}

/// Runs `rulec eval`; returns the exit code.
pub fn run(mut a: EvalArgs) -> i32 {
    // With --rulesets the one positional argument is the claim.
    if a.rulesets.is_some() && a.claim.is_none() {
        a.claim = a.ruleset.take().map(|p| p.display().to_string());
    }
    let as_of = match a.as_of.as_deref().map(Date::parse) {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(why)) => {
            output::report(&format!("error: --as-of: {why}"));
            return 2;
        }
    };
    let opts = EvalOptions { as_of };
    let router = match (&a.rulesets, &a.ruleset) {
        (Some(root), _) => {
            if !root.is_dir() {
                output::report(&format!("error: `{}` is not a directory", root.display()));
                return 2;
            }
            Router {
                fixed: None,
                routes: Some(rulec::api::Router::new(root, Limits::default())),
                root: Some(root.clone()),
                hit_rule_errors: Default::default(),
            }
        }
        (None, Some(dir)) => {
            if !dir.is_dir() {
                rulec::output::report(&rulec::project::not_a_ruleset(dir, a.claim.is_none()));
                return 2;
            }
            let loaded = Ruleset::load_dir(dir, Limits::default());
            if let Err(e) = &loaded {
                output::report(e.render_human().trim_end());
                return 1;
            }
            Router {
                fixed: Some(loaded),
                routes: None,
                root: None,
                hit_rule_errors: Default::default(),
            }
        }
        (None, None) => {
            output::report("error: give a ruleset directory, or --rulesets DIR");
            return 2;
        }
    };
    if let Some(batch) = &a.batch {
        return run_batch(&router, batch, &opts, a.jobs);
    }
    let Some(claim_name) = &a.claim else {
        output::report("error: give a claim file (or `-`), or --batch FILE");
        return 2;
    };
    let text = match read_input(claim_name) {
        Ok(t) => t,
        Err(rulec::io::ReadError::TooLarge { limit, .. }) => {
            output::report(&format!(
                "error[{}]: the claim is over the limit of {limit} bytes",
                Code::ClaimTooLarge.as_str()
            ));
            return 1;
        }
        Err(e) => {
            output::report(&format!("error: {e}"));
            return 2;
        }
    };
    if let Some(e) = too_large(&text) {
        output::report(&format!("error[{}]: {e}", e.code.as_str()));
        return 1;
    }
    if !(a.explain || a.trace.is_some()) {
        // The fast path: claim bytes straight into the schema's values, the settlement
        // written into one buffer.
        let settled = router
            .get_bytes(
                text.as_bytes(),
                rulec::claim::peek(text.as_bytes()).as_ref(),
            )
            .and_then(|rs| rs.evaluate_bytes(text.as_bytes(), &opts).map(|s| (rs, s)));
        return match settled {
            Ok((rs, s)) => {
                let mut buf = Vec::with_capacity(4096);
                rs.write_settlement_pretty(&s, &mut buf);
                buf.push(b'\n');
                output::write_checked(&mut std::io::stdout().lock(), &buf)
                    .exit_code("the settlement", 0)
            }
            Err(e) if e.is_malformed_claim() => {
                if let Some(d) = e.diagnostics.first() {
                    output::report(&format!("error[{}]: {}", d.code.as_str(), d.message));
                }
                1
            }
            Err(e) => {
                output::report(e.render_human().trim_end());
                1
            }
        };
    }
    let claim: Json = match rulec::claim::parse_strict(&text) {
        Ok(j) => j,
        Err(e) => {
            output::report(&format!("error[{}]: {e}", e.code.as_str()));
            return 1;
        }
    };
    let rs = match router.get(&claim) {
        Ok(r) => r,
        Err(e) => {
            output::report(e.render_human().trim_end());
            return 1;
        }
    };
    let text = if a.explain || a.trace.is_some() {
        match rs.evaluate_traced(&claim, &opts) {
            Ok((s, trace)) => {
                let settlement = rs.settlement_json(&s);
                if a.trace.is_some() {
                    let j = json!({ "settlement": settlement, "trace": trace });
                    format!("{}\n", pretty(&j))
                } else {
                    format!(
                        "{}\n\nExplanation ({} as of {}):\n\n{}",
                        pretty(&settlement),
                        rs.name(),
                        s.as_of,
                        rs.render_explanation(&trace)
                    )
                }
            }
            Err(e) => {
                output::report(e.render_human().trim_end());
                return 1;
            }
        }
    } else {
        match rs.evaluate(&claim, &opts) {
            Ok(s) => format!("{}\n", pretty(&rs.settlement_json(&s))),
            Err(e) => {
                output::report(e.render_human().trim_end());
                return 1;
            }
        }
    };
    output::stdout(&text).exit_code("the settlement", 0)
}

/// Pretty JSON (serialising a `serde_json::Value` cannot fail).
fn pretty(j: &Json) -> String {
    serde_json::to_string_pretty(j).unwrap_or_default()
}

/// Lines per chunk of a batch, per worker.
const CHUNK_LINES_PER_JOB: usize = 2048;
/// Input bytes per chunk of a batch (a chunk ends at the line that passes this).
const CHUNK_BYTES: usize = 16 << 20;
/// Lines a worker settles into one output buffer.
const RUN: usize = 32;

/// One line of a batch: where it sits in the chunk's buffer, or how long it was when it
/// was over the limit (then it is not kept).
struct LineSpan {
    start: usize,
    end: usize,
    too_long: Option<usize>,
}

/// A chunk of batch input: the lines' bytes in one buffer.
#[derive(Default)]
struct Chunk {
    first_line: usize,
    bytes: Vec<u8>,
    lines: Vec<LineSpan>,
}

/// Reads a batch line by line, each line bounded while it is read.
struct LineReader {
    inner: Box<dyn BufRead + Send>,
    limit: usize,
    next_line: usize,
    done: bool,
    /// Why reading stopped early: reported once, after the lines read before it are settled.
    failed: Option<std::io::Error>,
}

/// How far past the claim limit a line is skipped while looking for its end: a longer line
/// is not JSON Lines (`/dev/zero`, a binary file), and the batch stops there.
const SKIP_FACTOR: usize = 4;

impl LineReader {
    /// Appends the next line (without its `\n` or `\r\n`) to `buf`; `None` at the end.
    fn read_line(&mut self, buf: &mut Vec<u8>) -> std::io::Result<Option<LineSpan>> {
        let start = buf.len();
        let mut len = 0usize;
        let mut any = false;
        loop {
            let avail = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                break;
            }
            any = true;
            let (content, used, ends) = match avail.iter().position(|&b| b == b'\n') {
                Some(i) => (&avail[..i], i + 1, true),
                None => (avail, avail.len(), false),
            };
            len = len.saturating_add(content.len());
            if len <= self.limit {
                buf.extend_from_slice(content);
            }
            self.inner.consume(used);
            if ends {
                break;
            }
            if len > self.limit.saturating_mul(SKIP_FACTOR) {
                buf.truncate(start);
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "line {} runs past {len} bytes with no line end: the input is not JSON \
                         Lines (one claim per line, each at most {} bytes)",
                        self.next_line + 1,
                        self.limit
                    ),
                ));
            }
        }
        if !any {
            return Ok(None);
        }
        if len > self.limit {
            buf.truncate(start);
            return Ok(Some(LineSpan {
                start,
                end: start,
                too_long: Some(len),
            }));
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        Ok(Some(LineSpan {
            start,
            end: buf.len(),
            too_long: None,
        }))
    }

    /// The next chunk, reusing `chunk`'s buffers; empty at the end of the input. A read
    /// error ends the input: the lines read before it are kept, and the error is kept in
    /// `failed`.
    fn read_chunk(&mut self, chunk: &mut Chunk, max_lines: usize) {
        chunk.bytes.clear();
        chunk.lines.clear();
        chunk.first_line = self.next_line;
        while !self.done && chunk.lines.len() < max_lines && chunk.bytes.len() < CHUNK_BYTES {
            match self.read_line(&mut chunk.bytes) {
                Ok(Some(span)) => {
                    chunk.lines.push(span);
                    self.next_line += 1;
                }
                Ok(None) => self.done = true,
                Err(e) => {
                    self.failed = Some(e);
                    self.done = true;
                }
            }
        }
    }
}

/// Appends one error line: `{"line": N, "claim_id": …, "error": [ … ]}`.
fn error_line(out: &mut Vec<u8>, line_no: usize, claim_id: Option<&Json>, error: Json) {
    let mut m = serde_json::Map::new();
    m.insert("line".into(), json!(line_no));
    if let Some(id) = claim_id {
        m.insert("claim_id".into(), id.clone());
    }
    m.insert("error".into(), error);
    // Serialising a `serde_json::Value` into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, &Json::Object(m));
    out.push(b'\n');
}

/// A one-diagnostic error list.
fn one_error(code: Code, message: impl std::fmt::Display) -> Json {
    json!([{ "code": code.as_str(), "message": message.to_string() }])
}

/// Settles one line of a batch into `out`; true when it settled.
fn settle_line(
    router: &Router,
    line: &[u8],
    line_no: usize,
    opts: &EvalOptions,
    out: &mut Vec<u8>,
) -> bool {
    let text = match std::str::from_utf8(line) {
        Ok(t) => t,
        Err(e) => {
            let why = format!("not valid UTF-8 (bad byte at offset {})", e.valid_up_to());
            error_line(out, line_no, None, one_error(Code::InvalidClaim, why));
            return false;
        }
    };
    if text.trim().is_empty() {
        error_line(
            out,
            line_no,
            None,
            one_error(Code::InvalidClaim, "empty line"),
        );
        return false;
    }
    // Straight from the bytes: `claim_id` and the region are peeked, the claim is decoded
    // into the ruleset's input, and the settlement is written into `out`.
    let peek = rulec::claim::peek(line);
    let claim_id = peek.as_ref().and_then(|p| p.claim_id.as_ref());
    let rs = match router.get_bytes(line, peek.as_ref()) {
        Ok(r) => r,
        Err(e) => {
            if e.diagnostics.iter().any(|d| d.code == Code::RulesetErrors) {
                router.hit_rule_errors.store(true, Ordering::Relaxed);
            }
            error_line(out, line_no, claim_id, e.to_json());
            return false;
        }
    };
    match rs.evaluate_bytes(line, opts) {
        Ok(s) => {
            let start = out.len();
            if let Some(id) = claim_id {
                // `{"claim_id":ID,` then the settlement without its `{`.
                out.extend_from_slice(b"{\"claim_id\":");
                // Serialising a `serde_json::Value` into a `Vec` cannot fail.
                let _ = serde_json::to_writer(&mut *out, id);
                out.push(b',');
                let brace = out.len();
                rs.write_settlement(&s, out);
                if out.get(brace) == Some(&b'{') {
                    out.remove(brace);
                } else {
                    out.truncate(start);
                    rs.write_settlement(&s, out);
                }
            } else {
                rs.write_settlement(&s, out);
            }
            out.push(b'\n');
            true
        }
        Err(e) => {
            error_line(out, line_no, claim_id, e.to_json());
            false
        }
    }
}

/// A panic's message, for the internal-error line.
fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Settles a run of lines into one buffer; the number that failed. A panic while settling a
/// line becomes that line's `E0739` error line.
fn settle_run(
    router: &Router,
    chunk: &Chunk,
    run: &[LineSpan],
    first: usize,
    opts: &EvalOptions,
    stop: &AtomicBool,
) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(run.len() * 512);
    let mut failed = 0;
    for (k, span) in run.iter().enumerate() {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let line_no = chunk.first_line + first + k + 1;
        if let Some(len) = span.too_long {
            let why = format!(
                "the claim is {len} bytes, over the limit of {}",
                Limits::default().max_claim_bytes
            );
            error_line(&mut out, line_no, None, one_error(Code::ClaimTooLarge, why));
            failed += 1;
            continue;
        }
        let line = chunk.bytes.get(span.start..span.end).unwrap_or_default();
        let mark = out.len();
        let settled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            settle_line(router, line, line_no, opts, &mut out)
        }));
        match settled {
            Ok(true) => {}
            Ok(false) => failed += 1,
            Err(p) => {
                out.truncate(mark);
                let why = format!("internal error while settling: {}", panic_message(&*p));
                error_line(&mut out, line_no, None, one_error(Code::Internal, why));
                failed += 1;
            }
        }
    }
    (out, failed)
}

/// Settles a chunk on the pool; the output buffers in order, and the number that failed.
fn settle_chunk(
    pool: &rayon::ThreadPool,
    router: &Router,
    chunk: &Chunk,
    opts: &EvalOptions,
    stop: &AtomicBool,
) -> (Vec<Vec<u8>>, usize) {
    use rayon::prelude::*;
    let runs: Vec<(Vec<u8>, usize)> = pool.install(|| {
        chunk
            .lines
            .par_chunks(RUN)
            .enumerate()
            .map(|(i, run)| settle_run(router, chunk, run, i * RUN, opts, stop))
            .collect()
    });
    let failed = runs.iter().map(|r| r.1).sum();
    (runs.into_iter().map(|r| r.0).collect(), failed)
}

/// Writes a chunk's output; how it went.
fn write_chunk(out: &mut dyn Write, bufs: &[Vec<u8>]) -> Written {
    for b in bufs {
        if let Err(e) = out.write_all(b) {
            return if e.kind() == std::io::ErrorKind::BrokenPipe {
                Written::Closed
            } else {
                Written::Failed(e)
            };
        }
    }
    Written::Done
}

fn run_batch(router: &Router, name: &str, opts: &EvalOptions, jobs: Option<usize>) -> i32 {
    let inner: Box<dyn BufRead + Send> = if name == "-" {
        Box::new(std::io::BufReader::with_capacity(1 << 20, std::io::stdin()))
    } else {
        match rulec::io::open_regular(std::path::Path::new(name)) {
            Ok(f) => Box::new(std::io::BufReader::with_capacity(1 << 20, f)),
            Err(e) => {
                output::report(&format!("error: --batch: {e}"));
                return 2;
            }
        }
    };
    let jobs = jobs
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .max(1);
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("rulec-batch-{i}"))
        .build()
    {
        Ok(p) => p,
        Err(e) => {
            output::report(&format!("error: cannot start {jobs} worker threads: {e}"));
            return 2;
        }
    };
    let mut reader = LineReader {
        inner,
        limit: Limits::default().max_claim_bytes,
        next_line: 0,
        done: false,
        failed: None,
    };
    let max_lines = CHUNK_LINES_PER_JOB * jobs;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let stop = AtomicBool::new(false);
    let mut current = Chunk::default();
    reader.read_chunk(&mut current, max_lines);
    let mut next = Chunk::default();
    let mut pending: Vec<Vec<u8>> = Vec::new();
    let mut failed = 0usize;
    while !current.lines.is_empty() {
        // Settle `current` on the pool while this thread writes the previous chunk's output
        // and reads the next chunk.
        let (settled, io) = std::thread::scope(|s| {
            let worker = s.spawn(|| settle_chunk(&pool, router, &current, opts, &stop));
            let written = write_chunk(&mut out, &pending);
            if written.is_done() {
                reader.read_chunk(&mut next, max_lines);
            } else {
                stop.store(true, Ordering::Relaxed);
            }
            (worker.join(), written)
        });
        match io {
            Written::Done => {}
            Written::Closed => return i32::from(failed > 0),
            Written::Failed(e) => {
                output::report(&format!("error: cannot write the settlements: {e}"));
                return 2;
            }
        }
        match settled {
            Ok((bufs, n)) => {
                pending = bufs;
                failed += n;
            }
            Err(p) => {
                output::report(&format!(
                    "error: internal error in the batch workers: {}; output stops at line {}",
                    panic_message(&*p),
                    current.first_line
                ));
                return 2;
            }
        }
        std::mem::swap(&mut current, &mut next);
    }
    let written = match write_chunk(&mut out, &pending) {
        Written::Done => match out.flush() {
            Ok(()) => Written::Done,
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Written::Closed,
            Err(e) => Written::Failed(e),
        },
        other => other,
    };
    // Claims routed to rulesets with errors each said E0713; the errors themselves are
    // shown once, as `rulec check` shows them.
    if let (true, Some(root)) = (router.hit_rule_errors.load(Ordering::Relaxed), &router.root) {
        if let Ok((_, Some((n, text)))) =
            crate::diff_cmd::check_tree(root, std::io::stderr().is_terminal())
        {
            output::report(&format!(
                "{}\nerror: the rules under `{}` have {n} error{}: each claim routed to a \
                 ruleset with errors failed with rulec::E0713",
                text.trim_end(),
                root.display(),
                if n == 1 { "" } else { "s" }
            ));
        }
    }
    // What was read is settled and written; a read that failed fails the batch once.
    let code = match reader.failed.take() {
        Some(e) => {
            output::report(&format!("error: cannot read `{name}`: {e}"));
            2
        }
        None => i32::from(failed > 0),
    };
    written.exit_code("the settlements", code)
}
