//! Checking a set of paths: the driver behind `rulec check` and the library's entry point.

use crate::check::{check_chain, Usage};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::ir::Ruleset;
use crate::limits::Limits;
use crate::load::{find_rulesets, Loader};
use crate::source::{FileId, SourceMap};
use std::collections::{HashMap, HashSet};
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
    /// Compiled rulesets by directory, in path order (present even with errors; empty for
    /// a ruleset not checked because its parent has errors).
    pub rulesets: Vec<(PathBuf, Ruleset)>,
    /// Rulesets not checked because a parent has errors.
    pub not_checked: Vec<PathBuf>,
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

/// The usage error for a ruleset argument that is not a directory (`rulec eval claim.json`
/// with the ruleset forgotten: `claim_missing`).
pub fn not_a_ruleset(path: &Path, claim_missing: bool) -> String {
    let what = match std::fs::metadata(path) {
        Err(e) => format!("cannot read `{}`: {e}", path.display()),
        Ok(_) => format!("`{}` is not a directory", path.display()),
    };
    let hint = if claim_missing && path.is_file() {
        format!(
            "; is it the claim? Name the ruleset first: `rulec eval RULESET {}`",
            path.display()
        )
    } else {
        String::new()
    };
    format!("error: expected a ruleset directory: {what}{hint}")
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

/// Checks one ruleset directory (with its parents) through a loader kept across calls (the
/// router's): layers read before are not read again and, with `loader.catalogs.on`, a
/// parent's catalogs are built once and shared (`Arc`) by every child. The report holds this
/// chain's diagnostics only, and a copy of the loader's source map. The loader comes back
/// with the result; after an internal error it is a fresh one.
///
/// `root` is the routing root (`--rulesets`): the ruleset's header must be its path under it,
/// the name a settlement reports.
pub fn check_ruleset_shared(
    loader: Loader,
    dir: &Path,
    root: Option<&Path>,
) -> (Loader, Result<CheckReport, RunError>) {
    let limits = loader.limits.clone();
    let share = loader.catalogs.on;
    let dir = dir.to_path_buf();
    let root = root.map(Path::to_path_buf);
    let run = with_big_stack(move || {
        let mut loader = loader;
        let result = check_shared_inline(&mut loader, &dir, root);
        (loader, result)
    });
    match run {
        Ok((loader, result)) => (loader, result),
        Err(e) => {
            let mut fresh = Loader::new(limits);
            fresh.catalogs.on = share;
            (fresh, Err(e))
        }
    }
}

fn check_shared_inline(
    loader: &mut Loader,
    dir: &Path,
    root: Option<PathBuf>,
) -> Result<CheckReport, RunError> {
    let mark = loader.diags.len();
    let leaf = loader.load_path(dir)?;
    let chain = loader.chain(leaf);
    let mut driver = Driver {
        root,
        ..Driver::default()
    };
    let checked = driver.check_target(loader, &chain);
    // Loading diagnostics of this chain's files, whenever they were found, and those without
    // a place found by this load.
    let files = files_of(loader, &chain);
    let mut all = Diagnostics::new();
    all.extend(
        loader
            .diags
            .iter()
            .enumerate()
            .filter(|(i, d)| d.span.map_or(*i >= mark, |s| files.contains(&s.file)))
            .map(|(_, d)| d.clone()),
    );
    all.extend(driver.diags);
    let mut diags = Diagnostics::new();
    diags.extend(all.sorted());
    let (rulesets, not_checked) = match checked {
        Some(rs) => (vec![(dir.to_path_buf(), rs)], Vec::new()),
        None => (
            vec![(dir.to_path_buf(), Ruleset::default())],
            vec![dir.to_path_buf()],
        ),
    };
    Ok(CheckReport {
        map: loader.map.clone(),
        diags,
        rulesets,
        not_checked,
    })
}

/// Checks ruleset directories as `rulec check` checks the rulesets it finds (their test
/// files too), with some files' texts given instead of read from disk: an editor's unsaved
/// buffers, rule files, CSV catalogs and test files alike. This is the language server's
/// driver, so that it shows exactly what `rulec check` would. It runs on the calling thread
/// (give it [`STACK_SIZE`] of stack) and returns the loader too, every layer parsed, for
/// navigation; the report's source map is the loader's.
pub fn check_overlaid(
    dirs: &[PathBuf],
    overlay: &[(PathBuf, String)],
    limits: Limits,
) -> Result<(CheckReport, Loader), RunError> {
    let mut loader = Loader::new(limits);
    for (path, text) in overlay {
        let name = path.display().to_string();
        if path.extension().is_some_and(|x| x == "csv") {
            loader
                .map
                .add(name, crate::csv::normalize_line_ends(text.clone()));
        } else {
            loader.map.add(name, text.as_str());
        }
    }
    let mut report = empty_report();
    check_targets(&mut loader, dirs, true, &mut report)?;
    report.map = loader.map.clone();
    Ok((report, loader))
}

fn empty_report() -> CheckReport {
    CheckReport {
        map: SourceMap::new(),
        diags: Diagnostics::new(),
        rulesets: Vec::new(),
        not_checked: Vec::new(),
    }
}

fn check_paths_inline(
    paths: &[PathBuf],
    limits: Limits,
    search: bool,
) -> Result<CheckReport, RunError> {
    let mut loader = Loader::new(limits);
    let mut targets: Vec<PathBuf> = Vec::new();
    let mut empty_dirs = Vec::new();
    // The rulesets found under each directory searched: one tree, named from one root.
    let mut trees: Vec<(std::ops::Range<usize>, &Path)> = Vec::new();
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
            trees.push((targets.len()..targets.len() + found.len(), p));
            targets.extend(found);
        } else {
            targets.push(p.clone());
        }
    }
    let mut report = empty_report();
    for d in empty_dirs {
        report.diags.push(
            Diagnostic::global(
                Code::NoRuleFiles,
                format!("`{}` holds no `.rulec` files", d.display()),
            )
            .help("rule files end in `.rulec`; pass a ruleset directory or a file"),
        );
    }
    check_targets(&mut loader, &targets, search, &mut report)?;
    for (tree, searched) in trees {
        let found = targets.get(tree).unwrap_or(&[]);
        let extra = one_root(&mut loader, searched, found, &report);
        if !extra.is_empty() {
            let mut all = Diagnostics::new();
            all.extend(std::mem::take(&mut report.diags).sorted());
            all.extend(extra);
            report.diags.extend(all.sorted());
        }
    }
    report.map = loader.map;
    Ok(report)
}

/// The rulesets of one tree (`rulec check rulesets/`) are named from one root, the one
/// `--rulesets` routes from: each header, its parts matching the directory's last parts, says
/// where that root is (`sichuan/chengdu` in `rulesets/sichuan/chengdu`: `rulesets`). The root
/// most headers imply (on a tie, the highest) is the tree's; a header implying another
/// (`ruleset "chengdu"` there) is `E0116`, so `check` catches what routing would refuse.
fn one_root(
    loader: &mut Loader,
    searched: &Path,
    found: &[PathBuf],
    report: &CheckReport,
) -> Vec<Diagnostic> {
    let mut named: Vec<(PathBuf, String, crate::source::Span, PathBuf)> = Vec::new();
    for t in found {
        if report.not_checked.contains(t) {
            continue;
        }
        let Ok(leaf) = loader.load_path(t) else {
            continue;
        };
        let Some(layer) = loader.layer(leaf) else {
            continue;
        };
        let Some(span) = header_decl(layer).map(|d| d.name.span) else {
            continue;
        };
        let already = report
            .diags
            .iter()
            .any(|d| d.code == Code::HeaderMismatch && d.span.is_some_and(|s| s.file == span.file));
        let full = t.canonicalize().unwrap_or_else(|_| t.clone());
        let parts = layer.name.split('/').count();
        let mut root = full.clone();
        let mut ok = !already;
        for _ in 0..parts {
            ok &= root.pop();
        }
        if ok {
            named.push((full, layer.name.clone(), span, root));
        }
    }
    let mut counts: Vec<(&PathBuf, usize)> = Vec::new();
    for (_, _, _, root) in &named {
        match counts.iter_mut().find(|(r, _)| *r == root) {
            Some(c) => c.1 += 1,
            None => counts.push((root, 1)),
        }
    }
    let Some(&(tree_root, _)) = counts
        .iter()
        .max_by_key(|(r, n)| (*n, std::cmp::Reverse(r.components().count())))
    else {
        return Vec::new();
    };
    let example = named
        .iter()
        .find(|n| &n.3 == tree_root)
        .map(|n| n.1.clone())
        .unwrap_or_default();
    let shown = if searched.canonicalize().ok().as_ref() == Some(tree_root) {
        searched.display().to_string()
    } else {
        tree_root.display().to_string()
    };
    let mut out = Vec::new();
    for (full, name, span, root) in &named {
        if root == tree_root {
            continue;
        }
        let Ok(rel) = full.strip_prefix(tree_root) else {
            continue;
        };
        let expected: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let expected = expected.join("/");
        out.push(
            Diagnostic::new(
                Code::HeaderMismatch,
                *span,
                format!(
                    "the header names `{name}`, but the other rulesets of this tree are named from `{shown}` (e.g. `{example}`): this one is `{expected}`"
                ),
            )
            .label("does not match the tree")
            .help(format!(
                "a ruleset is named by its path from the root `--rulesets` routes `insured.region` from, and a settlement reports that name: `ruleset \"{expected}\"`"
            )),
        );
    }
    out
}

/// Checks each target (a ruleset directory or a rule file) and, with `cases`, the test files
/// of each directory whose chain has no errors; adds to the report (but not its map).
fn check_targets(
    loader: &mut Loader,
    targets: &[PathBuf],
    cases: bool,
    report: &mut CheckReport,
) -> Result<(), RunError> {
    let mut driver = Driver::default();
    for t in targets {
        let leaf = loader.load_path(t)?;
        if !t.is_dir() {
            driver.single_files.insert(leaf);
        }
        let chain = loader.chain(leaf);
        match driver.check_target(loader, &chain) {
            Some(rs) => {
                // Test cases are checked against a ruleset without errors only.
                if cases && t.is_dir() && driver.status.get(&leaf).is_some_and(Option::is_none) {
                    let limits = loader.limits.clone();
                    for f in crate::case_check::case_files(t) {
                        let ds = crate::case_check::check_file(&mut loader.map, &f, &rs, &limits);
                        driver.diags.extend(ds);
                    }
                }
                report.rulesets.push((t.clone(), rs));
            }
            None => {
                report.not_checked.push(t.clone());
                report.rulesets.push((t.clone(), Ruleset::default()));
            }
        }
    }
    let mut all = Diagnostics::new();
    all.extend(std::mem::take(&mut loader.diags));
    all.extend(driver.diags);
    if !all.has_errors() {
        all.extend(driver.usage.warnings());
    }
    report.diags.extend(all.sorted());
    Ok(())
}

/// Checks chains so that one cause gives one error: a ruleset whose parent has errors of its
/// own is not checked (one warning says so), and names a file could not be parsed for raise
/// no unknown-name errors. The common case costs one check per target; ancestors are
/// checked on their own only when a chain has errors in their files.
#[derive(Default)]
struct Driver {
    /// Per layer: `Some(name)` when the chain ending there has errors, naming the
    /// root-most ruleset with errors of its own.
    status: HashMap<usize, Option<String>>,
    /// Layers loaded from one file rather than a directory: their header names no directory.
    single_files: HashSet<usize>,
    /// Rulesets checked as a parent before being asked for as a target.
    cache: HashMap<usize, Ruleset>,
    /// The routing root, when rulesets are routed to from one (`--rulesets`).
    root: Option<PathBuf>,
    diags: Vec<Diagnostic>,
    usage: Usage,
}

impl Driver {
    /// Checks the chain of one target; `None` when it is not checked for its parent's sake.
    fn check_target(&mut self, loader: &mut Loader, chain: &[usize]) -> Option<Ruleset> {
        let (&leaf, ancestors) = chain.split_last()?;
        if let Some(rs) = self.cache.remove(&leaf) {
            return Some(rs);
        }
        // A parent already known to be broken: do not check again.
        if let Some(culprit) = ancestors
            .iter()
            .find_map(|a| self.status.get(a).cloned().flatten())
        {
            self.status.insert(leaf, Some(culprit.clone()));
            self.not_checked(loader, leaf, &culprit);
            return None;
        }
        let checked = checked_chain(loader, chain);
        let ancestor_files = files_of(loader, ancestors);
        let parent_trouble = checked
            .diags
            .iter()
            .chain(loader.diags.iter())
            .any(|d| d.is_error() && d.span.is_some_and(|s| ancestor_files.contains(&s.file)));
        if parent_trouble {
            for k in 0..ancestors.len() {
                if let Some(culprit) = self.status_of(loader, chain.get(..=k).unwrap_or(&[])) {
                    self.status.insert(leaf, Some(culprit.clone()));
                    self.not_checked(loader, leaf, &culprit);
                    return None;
                }
            }
        }
        let mut checked = checked;
        if !self.single_files.contains(&leaf) {
            checked
                .diags
                .extend(header_mismatch(loader, chain, self.root.as_deref()));
        }
        let bad =
            checked.diags.iter().any(Diagnostic::is_error) || own_parse_errors(loader, &[leaf]);
        let name = loader.layer(leaf).map(|l| l.name.clone());
        self.status.insert(leaf, name.filter(|_| bad));
        self.usage.merge(checked.usage);
        self.diags.extend(checked.diags);
        Some(checked.ruleset)
    }

    /// Whether the chain (root first) has errors, checking it on its own when not known.
    fn status_of(&mut self, loader: &mut Loader, chain: &[usize]) -> Option<String> {
        let &leaf = chain.last()?;
        if let Some(s) = self.status.get(&leaf) {
            return s.clone();
        }
        if let Some(rs) = self.check_target(loader, chain) {
            self.cache.insert(leaf, rs);
        }
        self.status.get(&leaf).cloned().flatten()
    }

    fn not_checked(&mut self, loader: &Loader, leaf: usize, culprit: &str) {
        let Some(layer) = loader.layer(leaf) else {
            return;
        };
        let d = match &layer.extends {
            Some((_, span)) => Diagnostic::new(
                Code::ParentHasErrors,
                *span,
                format!(
                    "ruleset `{}` not checked: its parent `{culprit}` has errors",
                    layer.name
                ),
            )
            .label("extends a ruleset with errors"),
            None => Diagnostic::global(
                Code::ParentHasErrors,
                format!(
                    "ruleset `{}` not checked: its parent `{culprit}` has errors",
                    layer.name
                ),
            ),
        };
        self.diags.push(d.help(format!(
            "fix the errors of `{culprit}` first; this ruleset is checked once its parents are clean"
        )));
    }
}

/// Checks a chain and drops the errors that only repeat a parse error: unknown names that
/// a file of the chain, which could not be parsed, may declare.
fn checked_chain(loader: &mut Loader, chain: &[usize]) -> crate::check::Checked {
    let mut c = check_chain(loader, chain);
    let lost = lost_names(loader, chain);
    if !lost.is_empty() {
        c.diags
            .retain(|d| !repeats_parse_error(d, &loader.map, &lost));
    }
    c
}

/// The header `ruleset "a/b"` must name the directory it is in, as a router names it:
/// - under a routing root (`--rulesets ROOT`), it is the directory's path from the root
///   (`shandong/zibo`), the name a settlement reports;
/// - otherwise its parts are the directory's last parts (`ruleset "jilin/zibo"` in
///   `shandong/zibo`, or `"shandong/zibbo"` in `zibo`, is wrong), and a ruleset in a directory
///   below its parent's (`extends ".."`) is named by the parent's name and the path from it
///   (`ruleset "zibo"` below `shandong` is `shandong/zibo`).
///
/// A ruleset checked alone whose parent is elsewhere (`extends "../../china"`) may be copied
/// to any root with the same last parts; routing checks the full path.
fn header_mismatch(loader: &Loader, chain: &[usize], root: Option<&Path>) -> Option<Diagnostic> {
    let (&leaf, ancestors) = chain.split_last()?;
    let layer = loader.layer(leaf)?;
    let dir = layer.dir.as_ref()?;
    let header = header_decl(layer)?;
    let name = header.name.name.as_str();
    let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let full = canonical(dir);
    let parts_of = |p: &Path| -> Vec<String> {
        p.components()
            .filter_map(|c| match c {
                std::path::Component::Normal(x) => Some(x.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect()
    };
    let mismatch = |message: String, help: String| {
        Some(
            Diagnostic::new(Code::HeaderMismatch, header.name.span, message)
                .label("does not match the directory")
                .help(help),
        )
    };
    // Under a routing root: exactly the path from it.
    if let Some(root) = root {
        if let Ok(rel) = full.strip_prefix(canonical(root)) {
            let expected = parts_of(rel).join("/");
            if name == expected {
                return None;
            }
            return mismatch(
                format!(
                    "the header names `{name}`, but the ruleset is `{expected}` under the root `{}`",
                    root.display()
                ),
                format!(
                    "a ruleset is named by its path under the root, as `insured.region` routes to it, and the settlement reports that name: `ruleset \"{expected}\"`"
                ),
            );
        }
    }
    // The header's parts are the directory's last parts.
    let comps = parts_of(&full);
    let header_parts: Vec<&str> = name.split('/').collect();
    let k = header_parts.len().min(comps.len());
    let last: Vec<&str> = comps
        .get(comps.len() - k..)
        .unwrap_or(&[])
        .iter()
        .map(String::as_str)
        .collect();
    if header_parts.len() > comps.len() || header_parts != last {
        let expected = last.join("/");
        return mismatch(
            format!(
                "the header names `{name}`, but the ruleset is in the directory `{}`",
                dir.display()
            ),
            format!(
                "the name's parts are the directory's last parts: `ruleset \"{expected}\"`, or move the ruleset"
            ),
        );
    }
    // Below the parent's directory: the parent's name and the path from it.
    let parent = ancestors.last().and_then(|&p| loader.layer(p))?;
    let parent_dir = canonical(parent.dir.as_ref()?);
    let rel = full.strip_prefix(&parent_dir).ok()?;
    let rel = parts_of(rel);
    if rel.is_empty() {
        return None;
    }
    let expected = format!("{}/{}", parent.name, rel.join("/"));
    if name == expected {
        return None;
    }
    mismatch(
        format!(
            "the header names `{name}`, but the ruleset is in `{}` below its parent `{}`: its name is `{expected}`",
            rel.join("/"),
            parent.name
        ),
        format!(
            "a ruleset in a directory below its parent's is named by the parent's name and the path from it: `ruleset \"{expected}\"`"
        ),
    )
}

/// The `ruleset "name"` declaration of a layer.
fn header_decl(layer: &crate::load::Layer) -> Option<&crate::syntax::ast::Decl> {
    layer.files.iter().find_map(|(_, f)| {
        f.decls
            .iter()
            .find(|d| matches!(d.kind, crate::syntax::ast::DeclKind::Ruleset { .. }))
    })
}

/// Every file of these layers.
fn files_of(loader: &Loader, layers: &[usize]) -> HashSet<FileId> {
    layers
        .iter()
        .filter_map(|&i| loader.layer(i))
        .flat_map(|l| l.files.iter().map(|(id, _)| *id))
        .collect()
}

/// True when a file of these layers has a loading or parse error.
fn own_parse_errors(loader: &Loader, layers: &[usize]) -> bool {
    let files = files_of(loader, layers);
    loader
        .diags
        .iter()
        .any(|d| d.is_error() && d.span.is_some_and(|s| files.contains(&s.file)))
}

/// The words of the chain's files that could not be parsed (no declaration came out, and
/// an error was reported): any of them may be a name the file declares. Empty when every
/// file parsed.
fn lost_names(loader: &Loader, chain: &[usize]) -> HashSet<String> {
    let failed: HashSet<FileId> = loader
        .diags
        .iter()
        .filter(|d| d.is_error())
        .filter_map(|d| d.span.map(|s| s.file))
        .collect();
    let mut words = HashSet::new();
    for layer in chain.iter().filter_map(|&i| loader.layer(i)) {
        for (id, file) in &layer.files {
            if !file.decls.is_empty() || !failed.contains(id) {
                continue;
            }
            if let Some(f) = loader.map.get(*id) {
                words.extend(identifiers(&f.text).map(str::to_string));
            }
            // The file may declare the input.
            words.insert(String::new());
        }
    }
    words
}

/// Identifier-like words outside strings and comments.
fn identifiers(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || loop {
        let start = rest.find(|c: char| c.is_alphanumeric() || c == '_' || c == '"' || c == '/')?;
        let tail = rest.get(start..)?;
        if let Some(body) = tail.strip_prefix('"') {
            let end = body.find(['"', '\n']).map_or(body.len(), |e| e + 1);
            rest = body.get(end..).unwrap_or("");
        } else if tail.starts_with("//") {
            rest = tail.find('\n').and_then(|e| tail.get(e..)).unwrap_or("");
        } else if let Some(body) = tail.strip_prefix("/*") {
            rest = body
                .find("*/")
                .and_then(|e| body.get(e + 2..))
                .unwrap_or("");
        } else if tail.starts_with('/') {
            rest = tail.get(1..).unwrap_or("");
        } else {
            let len = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            rest = tail.get(len..).unwrap_or("");
            return tail.get(..len);
        }
    })
}

/// True for an unknown-name error about a name that an unparsable file may declare.
fn repeats_parse_error(d: &Diagnostic, map: &SourceMap, lost: &HashSet<String>) -> bool {
    match d.code {
        Code::MissingInput => lost.contains(""),
        Code::UnknownName
        | Code::UnknownType
        | Code::UnknownFunction
        | Code::UnknownSource
        | Code::UnknownField
        | Code::OverrideWithoutParent => {
            let text = d.span.map(|s| map.slice(s)).unwrap_or("");
            let word = identifiers(text).next().unwrap_or("");
            lost.contains(word)
        }
        _ => false,
    }
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
        let c = checked_chain(&mut loader, &chain);
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
            not_checked: Vec::new(),
        }
    })
}
