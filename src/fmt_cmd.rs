//! `rulec fmt [--check] [PATHS…]`: format rule files in place, or show what would change.

use rulec::diag::render_human;
use rulec::fmt::{format_source, FmtError};
use rulec::limits::Limits;
use rulec::load::RULE_EXT;
use rulec::source::SourceMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Arguments of `rulec fmt`.
#[derive(clap::Args)]
pub struct FmtArgs {
    /// Rule files or directories, searched for `.rulec` files (default: `rulesets`).
    pub paths: Vec<PathBuf>,
    /// Change nothing: print a unified diff of what would change and exit 1 if anything would.
    #[arg(long)]
    pub check: bool,
}

/// Every `.rulec` file under the paths, sorted; files named directly are kept as given.
fn rule_files(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "cannot read `{}` (expected a .{RULE_EXT} file or a directory): {e}",
                    p.display()
                ),
            )
        })?;
        if !meta.is_dir() {
            out.push(p.clone());
            continue;
        }
        let mut stack = vec![p.clone()];
        while let Some(dir) = stack.pop() {
            let in_dir = |e: std::io::Error| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot read the directory `{}`: {e}", dir.display()),
                )
            };
            for e in std::fs::read_dir(&dir).map_err(in_dir)? {
                let path = e.map_err(in_dir)?.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|x| x == RULE_EXT) {
                    out.push(path);
                }
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

enum Outcome {
    Same,
    Changed(String),
    /// The file does not parse (or cannot be read as text).
    Refused(String),
    /// The formatter's own check refused its result (a formatter bug; the file is left alone).
    Internal(String),
}

fn format_file(path: &Path, limits: &Limits) -> std::io::Result<(String, Outcome)> {
    let mut map = SourceMap::new();
    let (id, bad) = rulec::load::read_text(&mut map, path, limits)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let text = map.get(id).map(|f| f.text.to_string()).unwrap_or_default();
    if let Some(d) = bad {
        return Ok((text, Outcome::Refused(render_human(&[d], &map, false))));
    }
    let owned = text.clone();
    let lim = limits.clone();
    let result = rulec::project::with_big_stack(move || format_source(&owned, &lim))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let outcome = match result {
        Ok(out) if out == text => Outcome::Same,
        Ok(out) => Outcome::Changed(out),
        Err(FmtError::Syntax(diags)) => {
            let mut m = SourceMap::new();
            m.add(path.display().to_string(), text.as_str());
            Outcome::Refused(render_human(&diags, &m, false))
        }
        Err(e @ FmtError::Internal(_)) => Outcome::Internal(format!(
            "error: `{}`: {e}; the file is left as it is (please report this formatter bug)\n",
            path.display()
        )),
    };
    Ok((text, outcome))
}

/// Runs `rulec fmt`. Exit codes: 0 formatted (or already formatted), 1 a file would change
/// (`--check`) or does not parse, 2 I/O.
pub fn run(args: FmtArgs) -> i32 {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("rulesets")]
    } else {
        args.paths
    };
    let files = match rule_files(&paths) {
        Ok(f) => f,
        Err(e) => {
            rulec::output::report(&format!("error: {e}"));
            return 2;
        }
    };
    let limits = Limits::default();
    let mut out = std::io::stdout().lock();
    let (mut changed, mut refused, mut internal) = (0usize, 0usize, 0usize);
    for path in &files {
        let (text, outcome) = match format_file(path, &limits) {
            Ok(r) => r,
            Err(e) => {
                rulec::output::report(&format!("error: {e}"));
                return 2;
            }
        };
        match outcome {
            Outcome::Same => {}
            Outcome::Refused(msg) => {
                refused += 1;
                rulec::output::report(msg.trim_end());
            }
            Outcome::Internal(msg) => {
                internal += 1;
                rulec::output::report(msg.trim_end());
            }
            Outcome::Changed(new) if args.check => {
                changed += 1;
                let name = path.display().to_string();
                let diff = similar::TextDiff::from_lines(&text, &new);
                let shown = diff
                    .unified_diff()
                    .context_radius(3)
                    .header(&name, &name)
                    .to_string();
                if write!(out, "{shown}").is_err() {
                    return 2;
                }
            }
            Outcome::Changed(new) => {
                changed += 1;
                if let Err(e) = std::fs::write(path, new) {
                    rulec::output::report(&format!(
                        "error: cannot write `{}`: {e}",
                        path.display()
                    ));
                    return 2;
                }
            }
        }
    }
    if out.flush().is_err() {
        return 2;
    }
    let n = files.len();
    let mut not_formatted = String::new();
    if refused > 0 || internal == 0 {
        not_formatted.push_str(&format!(", {refused} not formatted (syntax errors)"));
    }
    if internal > 0 {
        not_formatted.push_str(&format!(
            ", {internal} not formatted (internal formatter error)"
        ));
    }
    let plural = if n == 1 { "" } else { "s" };
    if args.check {
        rulec::output::report(&format!(
            "checked {n} file{plural}: {changed} would be reformatted{not_formatted}"
        ));
        i32::from(changed > 0 || refused > 0 || internal > 0)
    } else {
        rulec::output::report(&format!(
            "formatted {n} file{plural}: {changed} changed{not_formatted}"
        ));
        i32::from(refused > 0 || internal > 0)
    }
}
