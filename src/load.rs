//! Stage 0, loading: files and directories → parsed layers of a ruleset.
//!
//! A ruleset is a directory of `.rulec` files; one of them starts with
//! `ruleset "name"` and may say `extends "../parent"`. A layer is one directory's files,
//! parsed; a chain is the layers from the root (national) ruleset down to the one asked for.

use crate::diag::{Code, Diagnostic};
use crate::limits::Limits;
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::{self, ast};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The extension of rule files.
pub const RULE_EXT: &str = "rulec";

/// One directory (or one file, or one set of in-memory sources) of parsed rules.
#[derive(Debug)]
pub struct Layer {
    /// The directory, used to resolve `extends` and CSV paths.
    pub dir: Option<PathBuf>,
    /// The ruleset's name from its header, or the directory's name.
    pub name: String,
    /// Parsed files.
    pub files: Vec<(FileId, ast::File)>,
    /// The `extends` path and where it is written.
    pub extends: Option<(String, Span)>,
}

/// Reads and parses rule files, once each.
#[derive(Debug)]
pub struct Loader {
    /// Every file read.
    pub map: SourceMap,
    /// Limits in force.
    pub limits: Limits,
    /// Problems found while loading and parsing.
    pub diags: Vec<Diagnostic>,
    layers: Vec<Layer>,
    by_path: HashMap<PathBuf, usize>,
    /// In-memory data files (CSV) by name, for rules loaded from memory.
    pub memory_files: HashMap<String, FileId>,
}

/// Reads a file as text. Invalid UTF-8 is reported at the first bad byte, and the text is
/// kept with replacement characters so later diagnostics can still show it.
pub fn read_text(
    map: &mut SourceMap,
    path: &Path,
    limits: &Limits,
) -> Result<(FileId, Option<Diagnostic>), std::io::Error> {
    let name = path.display().to_string();
    if let Some(id) = map.find(&name) {
        return Ok((id, None));
    }
    let meta = std::fs::metadata(path)?;
    if meta.len() > limits.max_source_bytes as u64 {
        let id = map.add(name, "");
        let d = Diagnostic::new(
            Code::SourceTooLarge,
            Span::new(id, 0, 0),
            format!(
                "the file is {} bytes, over the limit of {} bytes",
                meta.len(),
                limits.max_source_bytes
            ),
        )
        .label("file starts here")
        .help("split the file, or raise `Limits::max_source_bytes`");
        return Ok((id, Some(d)));
    }
    let bytes = std::fs::read(path)?;
    match String::from_utf8(bytes) {
        Ok(s) => Ok((map.add(name, s), None)),
        Err(e) => {
            let bad = e.utf8_error().valid_up_to();
            let len = e.utf8_error().error_len().unwrap_or(1);
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let id = map.add(name, text);
            let d = Diagnostic::new(
                Code::InvalidUtf8,
                Span::new(id, bad, bad + 1),
                format!("the file is not valid UTF-8: {len} bad byte(s) at offset {bad}"),
            )
            .label("invalid UTF-8 here")
            .help("save the file as UTF-8 (rule files and CSV catalogs must be UTF-8)");
            Ok((id, Some(d)))
        }
    }
}

impl Loader {
    /// A loader with the given limits.
    pub fn new(limits: Limits) -> Loader {
        Loader {
            map: SourceMap::new(),
            limits,
            diags: Vec::new(),
            layers: Vec::new(),
            by_path: HashMap::new(),
            memory_files: HashMap::new(),
        }
    }

    /// The layer at an index.
    pub fn layer(&self, i: usize) -> Option<&Layer> {
        self.layers.get(i)
    }

    fn parse_into(&mut self, id: FileId) -> ast::File {
        let text = match self.map.get(id) {
            Some(f) => f.text.clone(),
            None => return ast::File::default(),
        };
        let limits = self.limits.clone();
        let (file, diags) = syntax::parse_source(id, &text, &limits);
        self.diags.extend(diags);
        file
    }

    fn read_parse(&mut self, path: &Path) -> Result<(FileId, ast::File), std::io::Error> {
        let (id, bad) = read_text(&mut self.map, path, &self.limits)?;
        if let Some(d) = bad {
            self.diags.push(d);
            return Ok((id, ast::File::default()));
        }
        let f = self.parse_into(id);
        Ok((id, f))
    }

    /// Adds a layer built from in-memory sources (for hosts that keep rules in a database).
    /// Files whose name does not end in `.rulec` (CSV catalogs and series) are kept as
    /// in-memory files that `from "NAME"` reads.
    pub fn add_sources(&mut self, name: &str, sources: &[(String, String)]) -> usize {
        let mut files = Vec::new();
        for (fname, text) in sources {
            let id = self.map.add(fname.clone(), text.as_str());
            if !fname.ends_with(&format!(".{RULE_EXT}")) {
                self.memory_files.insert(fname.clone(), id);
                continue;
            }
            let f = self.parse_into(id);
            files.push((id, f));
        }
        self.push_layer(None, name.to_string(), files)
    }

    fn push_layer(
        &mut self,
        dir: Option<PathBuf>,
        default_name: String,
        files: Vec<(FileId, ast::File)>,
    ) -> usize {
        let mut name = default_name;
        let mut extends = None;
        let mut header: Option<Span> = None;
        for (_, f) in &files {
            for d in &f.decls {
                if let ast::DeclKind::Ruleset { extends: ext } = &d.kind {
                    if let Some(first) = header {
                        self.diags.push(
                            Diagnostic::new(
                                Code::RulesetHeader,
                                d.span,
                                "a second `ruleset` header in the same ruleset",
                            )
                            .label("second header")
                            .with(first, "first header")
                            .help("a ruleset directory has exactly one `ruleset \"name\"` line"),
                        );
                        continue;
                    }
                    header = Some(d.span);
                    name = d.name.name.clone();
                    extends = ext.clone();
                }
            }
        }
        self.layers.push(Layer {
            dir,
            name,
            files,
            extends,
        });
        self.layers.len() - 1
    }

    /// Loads a directory or a single rule file as one layer. I/O errors are returned;
    /// everything else becomes a diagnostic.
    pub fn load_path(&mut self, path: &Path) -> Result<usize, std::io::Error> {
        let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if let Some(&i) = self.by_path.get(&key) {
            return Ok(i);
        }
        let (dir, files) = if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == RULE_EXT))
                .collect();
            entries.sort();
            let mut files = Vec::new();
            for p in entries {
                files.push(self.read_parse(&p)?);
            }
            (path.to_path_buf(), files)
        } else {
            let f = self.read_parse(path)?;
            (
                path.parent().map(Path::to_path_buf).unwrap_or_default(),
                vec![f],
            )
        };
        let default_name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| ".".into());
        let i = self.push_layer(Some(dir), default_name, files);
        self.by_path.insert(key, i);
        Ok(i)
    }

    /// The chain of layers for a loaded layer, root first. Missing parents and cycles
    /// become diagnostics; the chain then stops where it broke.
    pub fn chain(&mut self, leaf: usize) -> Vec<usize> {
        let mut chain = vec![leaf];
        let mut cur = leaf;
        while let Some(layer) = self.layers.get(cur) {
            let Some((rel, span)) = layer.extends.clone() else {
                break;
            };
            let Some(dir) = layer.dir.clone() else {
                self.diags.push(
                    Diagnostic::new(
                        Code::ParentNotFound,
                        span,
                        format!("cannot resolve `extends \"{rel}\"` for in-memory rules"),
                    )
                    .label("no directory to resolve this from")
                    .help("load the parent's sources first and pass them as a separate layer"),
                );
                break;
            };
            let parent_path = normalize(&dir.join(&rel));
            if !parent_path.is_dir() {
                self.diags.push(
                    Diagnostic::new(Code::ParentNotFound, span, format!(
                        "the parent ruleset `{}` does not exist",
                        parent_path.display()
                    ))
                    .label("no such directory")
                    .help("`extends` takes a directory path relative to this ruleset, e.g. `extends \"../china\"`"),
                );
                break;
            }
            let parent = match self.load_path(&parent_path) {
                Ok(p) => p,
                Err(e) => {
                    self.diags.push(
                        Diagnostic::new(
                            Code::ParentNotFound,
                            span,
                            format!("cannot read `{}`: {e}", parent_path.display()),
                        )
                        .label("unreadable"),
                    );
                    break;
                }
            };
            if chain.contains(&parent) {
                let names: Vec<String> = chain
                    .iter()
                    .filter_map(|&i| self.layers.get(i).map(|l| l.name.clone()))
                    .collect();
                self.diags.push(
                    Diagnostic::new(
                        Code::ExtendsCycle,
                        span,
                        format!(
                            "rulesets extend each other in a cycle: {} → {}",
                            names.join(" → "),
                            self.layers
                                .get(parent)
                                .map(|l| l.name.as_str())
                                .unwrap_or("?")
                        ),
                    )
                    .label("this `extends` closes the cycle")
                    .help("a ruleset's parents form a line up to the national base"),
                );
                break;
            }
            chain.push(parent);
            cur = parent;
        }
        chain.reverse();
        chain
    }
}

/// Every directory under `root` (itself included) that holds rule files, sorted.
pub fn find_rulesets(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut has_rules = false;
        for e in std::fs::read_dir(&dir)? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == RULE_EXT) {
                has_rules = true;
            }
        }
        if has_rules {
            out.push(dir);
        }
    }
    out.sort();
    Ok(out)
}

/// Removes `.` and `a/..` from a path without touching the file system, so file names in
/// diagnostics read `rulesets/china/x.rulec`, not `rulesets/a/../china/x.rulec`.
pub fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                _ => out.push(c),
            },
            _ => out.push(c),
        }
    }
    if out.is_empty() {
        return PathBuf::from(".");
    }
    out.iter().collect()
}
