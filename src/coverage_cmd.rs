//! `rulec test --coverage`, `--coverage-lcov FILE`, `--min-coverage PCT`.

use rulec::coverage::{measure, render_human, render_lcov, CoverageReport};
use rulec::limits::Limits;
use std::io::Write;
use std::path::PathBuf;

/// The coverage options of `rulec test`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct CoverageArgs {
    /// Report which definitions, versions, catalogs, exceptions, branches (`if`/`match` arms)
    /// and functions the cases exercise.
    #[arg(long)]
    pub coverage: bool,
    /// Write the coverage as LCOV to FILE (implies --coverage).
    #[arg(long, value_name = "FILE")]
    pub coverage_lcov: Option<PathBuf>,
    /// Exit 1 when the total coverage (every item, branch and function) is below PCT percent
    /// (implies --coverage).
    #[arg(long, value_name = "PCT", value_parser = parse_percent)]
    pub min_coverage: Option<f64>,
}

/// `--min-coverage PCT`: a number from 0 to 100 (`NaN`, `-5` and `150` are refused).
fn parse_percent(s: &str) -> Result<f64, String> {
    match s.trim().trim_end_matches('%').parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        _ => Err(format!("expected a percentage from 0 to 100, found `{s}`")),
    }
}

impl CoverageArgs {
    /// Whether any coverage option was given.
    pub fn wanted(&self) -> bool {
        self.coverage || self.coverage_lcov.is_some() || self.min_coverage.is_some()
    }
}

/// Measures the coverage when it is asked for: `None` when it is not, `Err` with the exit
/// code when it cannot be measured (the error is reported).
pub fn measure_if(paths: &[PathBuf], args: &CoverageArgs) -> Option<Result<CoverageReport, i32>> {
    if !args.wanted() {
        return None;
    }
    let paths = if paths.is_empty() {
        vec![PathBuf::from("rulesets")]
    } else {
        paths.to_vec()
    };
    Some(measure(&paths, &Limits::default()).map_err(|e| {
        rulec::output::report(&format!("error: {e}"));
        2
    }))
}

/// The coverage part after the cases ran with exit code `code`: the human report (unless
/// `json`, where it went into the test report), LCOV, `--min-coverage`; returns the exit code.
pub fn finish(report: &CoverageReport, args: &CoverageArgs, json: bool, code: i32) -> i32 {
    if !json {
        let mut out = std::io::stdout().lock();
        if writeln!(out, "\n{}", render_human(report)).is_err() {
            return 2;
        }
    }
    if let Some(file) = &args.coverage_lcov {
        if let Err(e) = std::fs::write(file, render_lcov(report)) {
            rulec::output::report(&format!("error: cannot write `{}`: {e}", file.display()));
            return 2;
        }
    }
    if !report.errors.is_empty() {
        return code.max(1);
    }
    if let Some(min) = args.min_coverage {
        let got = report.percent();
        if got < min {
            rulec::output::report(&format!(
                "error: coverage {got:.1}% is below --min-coverage {min}%"
            ));
            return code.max(1);
        }
    }
    code
}
