//! `rulec diff OLD NEW`, `rulec diff DIR --at D1 --at D2` and `rulec audit DIR`.

use rulec::diag::render_human;
use rulec::inventory::RulesetInventory;
use rulec::limits::Limits;
use rulec::output;
use rulec::project::{check_paths, with_big_stack};
use rulec::value::Date;
use std::path::{Path, PathBuf};

/// Arguments of `rulec diff`.
#[derive(clap::Args)]
pub struct DiffArgs {
    /// The old rules: a tree of rulesets or one ruleset directory.
    pub old: PathBuf,
    /// The new rules (omit with `--at D1 --at D2`).
    #[arg(required_unless_present = "at")]
    pub new: Option<PathBuf>,
    /// Compare the values in force at two dates of OLD (give it twice).
    #[arg(long, value_name = "YYYY-MM-DD", conflicts_with = "new", num_args = 1)]
    pub at: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: DiffFormat,
}

/// Formats of `rulec diff`.
#[derive(Copy, Clone, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// Text for a terminal.
    Human,
    /// One JSON object (docs/impact.md).
    Json,
    /// Markdown, for a policy memo.
    Markdown,
}

/// Arguments of `rulec audit`.
#[derive(clap::Args)]
pub struct AuditArgs {
    /// A tree of rulesets or one ruleset directory (default: `rulesets`).
    pub dir: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: AuditFormat,
}

/// Formats of `rulec audit`.
#[derive(Copy, Clone, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditFormat {
    /// Aligned text for a terminal.
    Human,
    /// One JSON object.
    Json,
    /// One line per value version and per catalog.
    Csv,
    /// A policy handbook.
    Markdown,
}

/// A usage error (exit 2) unless `dir` is a directory.
fn is_dir(dir: &Path) -> Result<(), i32> {
    if dir.is_dir() {
        return Ok(());
    }
    output::report(&format!(
        "error: expected a directory of rulesets: `{}` {}",
        dir.display(),
        if dir.exists() {
            "is not a directory"
        } else {
            "does not exist"
        }
    ));
    Err(2)
}

/// Checks a tree and lists it; rules with errors are reported (exit 1), unreadable paths
/// are usage errors (exit 2).
/// Checks a tree (or one ruleset) as `rulec check` does: the report, and its errors rendered
/// for people, when it has any. `Err(2)` when the tree cannot be read (already reported).
pub fn check_tree(
    dir: &Path,
    color: bool,
) -> Result<(rulec::project::CheckReport, Option<(usize, String)>), i32> {
    let report = match check_paths(&[dir.to_path_buf()], Limits::default()) {
        Ok(r) => r,
        Err(e) => {
            output::report(&format!("error: {e}"));
            return Err(2);
        }
    };
    let errors: Vec<_> = report
        .diags
        .sorted()
        .into_iter()
        .filter(|d| d.is_error())
        .collect();
    let rendered =
        (!errors.is_empty()).then(|| (errors.len(), render_human(&errors, &report.map, color)));
    Ok((report, rendered))
}

fn inventory(dir: &Path) -> Result<Vec<RulesetInventory>, i32> {
    is_dir(dir)?;
    let limits = Limits::default();
    let (report, errors) = check_tree(dir, false)?;
    if let Some((n, mut text)) = errors {
        text.push_str(&format!(
            "error: `{}` has {} error(s); fix them first (`rulec check`)\n",
            dir.display(),
            n
        ));
        output::stderr(&text);
        return Err(1);
    }
    match with_big_stack(move || rulec::inventory::collect(&report, &limits)) {
        Ok(inv) => Ok(inv),
        Err(e) => {
            output::report(&format!("error: {e}"));
            Err(2)
        }
    }
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}

/// Runs `rulec diff`; returns the exit code (0 with or without changes).
pub fn run_diff(a: DiffArgs) -> i32 {
    let diff = match &a.new {
        Some(new) => {
            if let Err(c) = is_dir(&a.old).and_then(|()| is_dir(new)) {
                return c;
            }
            let (old_inv, new_inv) = match (inventory(&a.old), inventory(new)) {
                (Ok(o), Ok(n)) => (o, n),
                (Err(c), _) | (_, Err(c)) => return c,
            };
            rulec::diff::trees(
                &a.old.display().to_string(),
                &old_inv,
                &new.display().to_string(),
                &new_inv,
            )
        }
        None => {
            let dates: Result<Vec<Date>, String> = a.at.iter().map(|s| Date::parse(s)).collect();
            let dates = match dates {
                Ok(d) if d.len() == 2 => d,
                Ok(_) => {
                    output::report("error: give two dates: `rulec diff DIR --at D1 --at D2`, or two directories: `rulec diff OLD NEW`");
                    return 2;
                }
                Err(why) => {
                    output::report(&format!("error: --at: {why}"));
                    return 2;
                }
            };
            let inv = match inventory(&a.old) {
                Ok(i) => i,
                Err(c) => return c,
            };
            match dates.as_slice() {
                [d1, d2] => rulec::diff::dates(&inv, *d1, *d2),
                _ => return 2,
            }
        }
    };
    let text = match a.format {
        DiffFormat::Human => rulec::diff::render_human(&diff),
        DiffFormat::Json => json(&diff),
        DiffFormat::Markdown => rulec::diff::render_markdown(&diff),
    };
    output::stdout(&text).exit_code("the diff", 0)
}

/// Runs `rulec audit`; returns the exit code.
pub fn run_audit(a: AuditArgs) -> i32 {
    let dir = a.dir.unwrap_or_else(|| PathBuf::from("rulesets"));
    let inv = match inventory(&dir) {
        Ok(i) => i,
        Err(c) => return c,
    };
    let audit = rulec::audit::audit(&inv);
    let text = match a.format {
        AuditFormat::Human => rulec::audit::render_human(&audit),
        AuditFormat::Json => json(&audit),
        AuditFormat::Csv => rulec::audit::render_csv(&audit),
        AuditFormat::Markdown => rulec::audit::render_markdown(&audit),
    };
    output::stdout(&text).exit_code("the audit", 0)
}
