//! Subcommands and exit codes: 0 clean, 1 diagnostics (or failed claims/tests), 2 usage or I/O.

use clap::{Parser, Subcommand, ValueEnum};
use rulec::diag::{render_human, render_json, Severity};
use rulec::limits::Limits;
use rulec::output;
use rulec::project::check_paths;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "rulec",
    version,
    about = "Medical-insurance benefit rules: check, evaluate and test"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand)]
enum Cmd {
    /// Check rule files and ruleset directories.
    Check {
        /// Files or directories (default: `rulesets`).
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        /// Fail when there are warnings.
        #[arg(long)]
        deny_warnings: bool,
        /// Colours in human output.
        #[arg(long, value_enum, default_value = "auto")]
        color: Color,
    },
    /// Run the test cases that ship with rulesets (`tests/*.json` in a ruleset directory).
    Test {
        /// Files or directories (default: `rulesets`).
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        /// Also write JUnit XML to this file.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        #[command(flatten)]
        coverage: crate::coverage_cmd::CoverageArgs,
    },
    /// Settle claims: `rulec eval RULESET CLAIM.json`, or `--rulesets DIR` to route by region.
    Eval(crate::eval_cmd::EvalArgs),
    /// Format rule files in place (`--check`: print a diff and fail instead).
    Fmt(crate::fmt_cmd::FmtArgs),
    /// Run the language server on standard input and output (for editors).
    Lsp,
    /// What a reform costs: replay claims under BASE and REFORM and compare (docs/impact.md).
    Impact(crate::impact_cmd::ImpactArgs),
    /// What changed: `rulec diff OLD NEW`, or `rulec diff DIR --at D1 --at D2` (docs/impact.md).
    Diff(crate::diff_cmd::DiffArgs),
    /// Every value with its versions and citation status, and the catalogs (docs/impact.md).
    Audit(crate::diff_cmd::AuditArgs),
}

/// Runs the command line and returns the exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match cli.cmd {
        Cmd::Check {
            paths,
            format,
            deny_warnings,
            color,
        } => check(paths, format, deny_warnings, color),
        Cmd::Test {
            paths,
            format,
            junit,
            coverage,
        } => {
            // Coverage first, so `--format json` prints one document holding both.
            let cov = match crate::coverage_cmd::measure_if(&paths, &coverage) {
                Some(Err(code)) => return code,
                Some(Ok(r)) => Some(r),
                None => None,
            };
            let code = test(paths, format, junit, cov.as_ref());
            match &cov {
                Some(r) => crate::coverage_cmd::finish(r, &coverage, format == Format::Json, code),
                None => code,
            }
        }
        Cmd::Eval(args) if args.save_case.is_some() => crate::save_case::run(&args),
        Cmd::Eval(args) => crate::eval_cmd::run(args),
        Cmd::Fmt(args) => crate::fmt_cmd::run(args),
        Cmd::Lsp => rulec::lsp::run_stdio(),
        Cmd::Impact(args) => crate::impact_cmd::run(args),
        Cmd::Diff(args) => crate::diff_cmd::run_diff(args),
        Cmd::Audit(args) => crate::diff_cmd::run_audit(args),
    }
}

fn check(paths: Vec<PathBuf>, format: Format, deny_warnings: bool, color: Color) -> i32 {
    let paths = if paths.is_empty() {
        vec![PathBuf::from("rulesets")]
    } else {
        paths
    };
    let report = match check_paths(&paths, Limits::default()) {
        Ok(r) => r,
        Err(e) => {
            output::report(&format!("error: {e}"));
            return 2;
        }
    };
    let mut diags = report.diags.sorted();
    if deny_warnings {
        for d in &mut diags {
            d.severity = Severity::Error;
        }
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    let code = i32::from(errors > 0);
    match format {
        Format::Json => output::stdout(&format!("{}\n", render_json(&diags, &report.map)))
            .exit_code("the diagnostics", code),
        Format::Human => {
            let use_color = match color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => std::io::stderr().is_terminal(),
            };
            let mut text = render_human(&diags, &report.map, use_color);
            let skipped = report.not_checked.len();
            let n = report.rulesets.len() - skipped;
            let _ = writeln!(
                text,
                "checked {n} ruleset{}{}: {errors} error{}, {warnings} warning{}",
                if n == 1 { "" } else { "s" },
                if skipped == 0 {
                    String::new()
                } else {
                    format!(" ({skipped} not checked: a parent has errors)")
                },
                if errors == 1 { "" } else { "s" },
                if warnings == 1 { "" } else { "s" }
            );
            output::stderr(&text).exit_code("the diagnostics", code)
        }
    }
}

fn test(
    paths: Vec<PathBuf>,
    format: Format,
    junit: Option<PathBuf>,
    coverage: Option<&rulec::coverage::CoverageReport>,
) -> i32 {
    let paths = if paths.is_empty() {
        vec![PathBuf::from("rulesets")]
    } else {
        paths
    };
    let report = match rulec::testing::run_paths(&paths, &Limits::default()) {
        Ok(r) => r,
        Err(e) => {
            output::report(&format!("error: {e}"));
            return 2;
        }
    };
    if let Some(path) = junit {
        if let Err(e) = std::fs::write(&path, rulec::testing::render_junit(&report)) {
            output::report(&format!("error: cannot write `{}`: {e}", path.display()));
            return 2;
        }
    }
    let text = match format {
        Format::Json => {
            let mut j = serde_json::to_value(&report).unwrap_or_default();
            if let (Some(o), Some(c)) = (j.as_object_mut(), coverage) {
                o.insert("coverage".into(), c.to_json());
            }
            format!("{}\n", serde_json::to_string_pretty(&j).unwrap_or_default())
        }
        Format::Human => rulec::testing::render_human(&report),
    };
    let written = output::stdout(&text);
    let code = if report.results.is_empty() {
        output::report(
            "error: no test cases found (ruleset directories hold them in tests/*.json)",
        );
        1
    } else {
        i32::from(report.failed() > 0)
    };
    written.exit_code("the test report", code)
}
