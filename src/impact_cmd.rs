//! `rulec impact BASE REFORM CLAIMS.jsonl`: the cost of a reform over a year of claims.

use rulec::api::{EvalOptions, Router, Ruleset};
use rulec::impact::{self, Options, Report};
use rulec::limits::Limits;
use rulec::replay::Settle;
use rulec::value::Date;
use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

/// Arguments of `rulec impact`.
#[derive(clap::Args)]
pub struct ImpactArgs {
    /// The base rules: a ruleset directory, or a root to route claims by region (as `--rulesets`).
    pub base: PathBuf,
    /// The reformed rules: a ruleset directory or a routing root.
    pub reform: PathBuf,
    /// The claims, one JSON object per line (`-` for standard input).
    pub claims: String,
    /// Explain this many claims, largest change first.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub top: usize,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: ImpactFormat,
    /// Write the report to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Worker threads, 1 to 256 (default: every core); the work is split by insured person.
    #[arg(long, value_name = "N", value_parser = rulec::limits::parse_jobs)]
    pub jobs: Option<usize>,
    /// Evaluate every claim as of this date instead of its own.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<String>,
}

/// Formats of the impact report.
#[derive(Copy, Clone, PartialEq, Eq, clap::ValueEnum)]
pub enum ImpactFormat {
    /// Tables for a terminal.
    Human,
    /// One JSON object (docs/impact.md).
    Json,
    /// One self-contained HTML page with charts.
    Html,
}

/// A ruleset directory (it holds rule files) or a routing root (it does not).
fn settler(dir: &Path) -> Result<Box<dyn Settle>, i32> {
    if !dir.is_dir() {
        rulec::output::report(&format!("error: `{}` is not a directory", dir.display()));
        return Err(2);
    }
    let has_rules = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten().any(|e| {
                e.path()
                    .extension()
                    .is_some_and(|x| x == rulec::load::RULE_EXT)
            })
        })
        .unwrap_or(false);
    if has_rules {
        match Ruleset::load_dir(dir, Limits::default()) {
            Ok(rs) => Ok(Box::new(rs)),
            Err(e) => {
                rulec::output::report(e.render_human().trim_end());
                Err(1)
            }
        }
    } else {
        routed(dir)
    }
}

/// A routing root, checked first as `rulec check` checks it: the errors of its rulesets are
/// shown once, here, rather than hidden behind each routed claim's `E0713`. The claims routed
/// to a sound ruleset are still settled.
fn routed(dir: &Path) -> Result<Box<dyn Settle>, i32> {
    let (_, errors) = crate::diff_cmd::check_tree(dir, std::io::stderr().is_terminal())?;
    if let Some((n, text)) = errors {
        rulec::output::report(&format!(
            "{}\nerror: the rules under `{}` have {n} error{}: each claim routed to a ruleset \
             with errors fails with rulec::E0713",
            text.trim_end(),
            dir.display(),
            if n == 1 { "" } else { "s" }
        ));
    }
    Ok(Box::new(Router::new(dir, Limits::default())))
}

/// Reads JSON Lines, each line bounded: a line over the limit, or not UTF-8, is kept as a
/// marker (`\0` and the reason) so that it is reported at its line.
fn read_lines(name: &str, max: usize) -> std::io::Result<Vec<Box<str>>> {
    let mut reader: Box<dyn BufRead> = if name == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        let f = std::fs::File::open(name)?;
        if !f.metadata()?.is_file() {
            return Err(std::io::Error::other("not a regular file"));
        }
        Box::new(std::io::BufReader::with_capacity(1 << 20, f))
    };
    let mut out = Vec::new();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = reader
            .by_ref()
            .take(max as u64 + 1)
            .read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        if buf.last() != Some(&b'\n') && buf.len() > max {
            // Too long: skip the rest of the line.
            // Skipped up to 4× the limit: a longer line with no end is not JSON Lines
            // (`/dev/zero`, a binary file), and reading stops there once.
            let mut rest = Vec::new();
            let mut skipped = buf.len();
            loop {
                rest.clear();
                let m = reader.by_ref().take(1 << 20).read_until(b'\n', &mut rest)?;
                if m == 0 || rest.last() == Some(&b'\n') {
                    break;
                }
                skipped = skipped.saturating_add(m);
                if skipped > max.saturating_mul(4) {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "line {} runs past {skipped} bytes with no line end: the input is \
                             not JSON Lines (one claim per line, each at most {max} bytes)",
                            out.len() + 1
                        ),
                    ));
                }
            }
            out.push(format!("\u{0}the claim is longer than the limit of {max} bytes").into());
            continue;
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        match std::str::from_utf8(&buf) {
            Ok(s) => out.push(s.into()),
            Err(e) => out
                .push(format!("\u{0}the line is not UTF-8 (byte {})", e.valid_up_to() + 1).into()),
        }
    }
    Ok(out)
}

/// Runs `rulec impact`; returns the exit code.
pub fn run(a: ImpactArgs) -> i32 {
    let as_of = match a.as_of.as_deref().map(Date::parse) {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(why)) => {
            rulec::output::report(&format!("error: --as-of: {why}"));
            return 2;
        }
    };
    let opts = Options {
        eval: EvalOptions { as_of },
        top: a.top,
        ..Options::default()
    };
    let base = match settler(&a.base) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let reform = match settler(&a.reform) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let lines = match read_lines(&a.claims, opts.max_claim_bytes) {
        Ok(l) => l,
        Err(e) => {
            rulec::output::report(&format!("error: cannot read `{}`: {e}", a.claims));
            return 2;
        }
    };
    let jobs = a.jobs.unwrap_or(0);
    let pool = match rayon::ThreadPoolBuilder::new().num_threads(jobs).build() {
        Ok(p) => p,
        Err(e) => {
            rulec::output::report(&format!("error: cannot start {jobs} threads: {e}"));
            return 2;
        }
    };
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(lines.len() as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {pos}/{len} claims, {per_sec}, {eta} left",
    ) {
        bar.set_style(style);
    }
    let report = pool.install(|| {
        impact::run(&*base, &*reform, &lines, &opts, &|n| {
            bar.set_position(n as u64)
        })
    });
    bar.finish_and_clear();
    let report: Report = match report {
        Ok(r) => r,
        Err(e) => {
            // No report at all: a total without its exact value is never printed.
            rulec::output::report(e.render_human().trim_end());
            return 1;
        }
    };
    if report.deltas.count == 0 {
        rulec::output::report(&format!(
            "warning: no claim settled under both rules, so nothing was compared ({} claim{} \
             read, {} failed): every total is 0.00",
            report.claims,
            if report.claims == 1 { "" } else { "s" },
            report.claims_failed
        ));
    }
    let text = match a.format {
        ImpactFormat::Human => impact::render_human(&report),
        ImpactFormat::Json => match serde_json::to_string_pretty(&report) {
            Ok(s) => s + "\n",
            Err(e) => {
                rulec::output::report(&format!("error: {e}"));
                return 2;
            }
        },
        ImpactFormat::Html => rulec::impact_html::render(
            &report,
            &a.base.display().to_string(),
            &a.reform.display().to_string(),
            &a.claims,
        ),
    };
    let written = match &a.output {
        Some(path) => std::fs::write(path, text.as_bytes()),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|()| out.flush())
        }
    };
    if let Err(e) = written {
        let to = a
            .output
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "standard output".into());
        rulec::output::report(&format!("error: cannot write {to}: {e}"));
        return 2;
    }
    i32::from(report.claims_failed > 0)
}
