//! Checking a set of paths: the driver behind `rulec check` and the library's entry point.

use crate::check::{check_chain, Usage};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::ir::Ruleset;
use crate::limits::Limits;
use crate::load::{find_rulesets, Loader};
use crate::source::SourceMap;
use std::path::{Path, PathBuf};

/// Stack size for the thread that parses and checks: deep but bounded recursion
/// (the pre-scan caps nesting) stays far inside it.
pub const STACK_SIZE: usize = 256 * 1024 * 1024;

/// What checking produced.
#[derive(Debug)]
pub struct CheckReport {
    /// Every file read, for rendering diagnostics.
    pub map: SourceMap,
    /// Errors and warnings.
    pub diags: Diagnostics,
    /// Compiled rulesets by directory, in path order (present even with errors).
    pub rulesets: Vec<(PathBuf, Ruleset)>,
}

/// An I/O or usage problem that stops the run (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A path could not be read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A file could not be read, or is not a regular file.
    #[error("{0}")]
    Read(#[from] crate::io::ReadError),
    /// The worker thread could not be started or died.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Runs `f` on a thread with a large stack.
pub fn with_big_stack<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, RunError> {
    std::thread::Builder::new()
        .stack_size(STACK_SIZE)
        .name("rulec-check".into())
        .spawn(f)
        .map_err(|e| RunError::Internal(e.to_string()))?
        .join()
        .map_err(|_| RunError::Internal("the checker thread panicked".into()))
}

/// Checks files and ruleset directories. A directory that holds `.rulec` files is one
/// ruleset; a directory without is searched for rulesets below it.
pub fn check_paths(paths: &[PathBuf], limits: Limits) -> Result<CheckReport, RunError> {
    let paths = paths.to_vec();
    with_big_stack(move || check_paths_inline(&paths, limits, true))?
}

/// Checks exactly one ruleset directory (with its parents), not the rulesets below it.
pub fn check_ruleset(dir: &Path, limits: Limits) -> Result<CheckReport, RunError> {
    let paths = vec![dir.to_path_buf()];
    with_big_stack(move || check_paths_inline(&paths, limits, false))?
}

fn check_paths_inline(
    paths: &[PathBuf],
    limits: Limits,
    search: bool,
) -> Result<CheckReport, RunError> {
    let mut loader = Loader::new(limits);
    let mut targets: Vec<PathBuf> = Vec::new();
    let mut empty_dirs = Vec::new();
    for p in paths {
        let io = |e| RunError::Io {
            path: p.display().to_string(),
            source: e,
        };
        let meta = std::fs::metadata(p).map_err(io)?;
        if meta.is_dir() && !search {
            targets.push(p.clone());
        } else if meta.is_dir() {
            let found = find_rulesets(p).map_err(io)?;
            if found.is_empty() {
                empty_dirs.push(p.clone());
            }
            targets.extend(found);
        } else {
            targets.push(p.clone());
        }
    }
    let mut report = CheckReport {
        map: SourceMap::new(),
        diags: Diagnostics::new(),
        rulesets: Vec::new(),
    };
    for d in empty_dirs {
        report.diags.push(
            Diagnostic::global(
                Code::NoRuleFiles,
                format!("`{}` holds no `.rulec` files", d.display()),
            )
            .help("rule files end in `.rulec`; pass a ruleset directory or a file"),
        );
    }
    let mut usage = Usage::default();
    let mut checked = Vec::new();
    for t in &targets {
        let leaf = loader.load_path(t)?;
        let chain = loader.chain(leaf);
        let c = check_chain(&mut loader, &chain);
        usage.merge(c.usage);
        checked.push((t.clone(), c.ruleset, c.diags));
    }
    let mut all = Diagnostics::new();
    all.extend(std::mem::take(&mut loader.diags));
    for (p, rs, diags) in checked {
        all.extend(diags);
        report.rulesets.push((p, rs));
    }
    if !all.has_errors() {
        all.extend(usage.warnings());
    }
    report.diags.extend(all.sorted());
    report.map = loader.map;
    Ok(report)
}

/// Checks in-memory sources as one ruleset (for hosts that keep rules in a database).
/// Sources whose name does not end in `.rulec` are data files: `from "NAME"` reads them.
pub fn check_sources(
    name: &str,
    sources: &[(String, String)],
    limits: Limits,
) -> Result<CheckReport, RunError> {
    let name = name.to_string();
    let sources = sources.to_vec();
    with_big_stack(move || {
        let mut loader = Loader::new(limits);
        let leaf = loader.add_sources(&name, &sources);
        let chain = loader.chain(leaf);
        let c = check_chain(&mut loader, &chain);
        let mut all = Diagnostics::new();
        all.extend(std::mem::take(&mut loader.diags));
        all.extend(c.diags);
        if !all.has_errors() {
            all.extend(c.usage.warnings());
        }
        let mut diags = Diagnostics::new();
        diags.extend(all.sorted());
        CheckReport {
            map: loader.map,
            diags,
            rulesets: vec![(Path::new(&name).to_path_buf(), c.ruleset)],
        }
    })
}
