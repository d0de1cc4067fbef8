//! Stage 0, loading: files and directories → parsed layers of a ruleset.
//!
//! A ruleset is a directory of `.rulec` files; one of them starts with
//! `ruleset "name"` and may say `extends "../parent"`. A layer is one directory's files,
//! parsed; a chain is the layers from the root (national) ruleset down to the one asked for.

use crate::diag::{Code, Diagnostic};
use crate::io::ReadError;
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
    /// Where the `ruleset "name"` header is, if the layer has one.
    pub header: Option<Span>,
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
    /// Data files read from disk for the layers' `from "…"` clauses, by (directory, name).
    pub data_files: HashMap<(PathBuf, String), DataFile>,
    /// Compiled catalogs shared by every chain checked through this loader, when
    /// [`Loader::share_catalogs`] is on (the router's loader): a parent's catalog is built once
    /// and each child's ruleset holds the same `Arc`. See [`SharedCatalogs`].
    pub catalogs: SharedCatalogs,
}

/// Catalogs built without errors, by their declaration, each with what its build depended on
/// beyond its own file and CSV: the resolved column types and the variants of the enums they
/// name (a child could override an enum its parent's catalog uses, so those are compared).
#[derive(Debug, Default)]
pub struct SharedCatalogs {
    /// Off by default: `rulec check` reports every catalog's warnings, so it builds each one.
    pub on: bool,
    /// Declaration span → builds (fingerprint, catalog).
    pub built: HashMap<Span, Vec<(CatalogFingerprint, std::sync::Arc<crate::ir::Catalog>)>>,
}

/// What a catalog's build depended on beyond its declaration and CSV text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogFingerprint {
    /// The resolved column types, in order.
    pub columns: Vec<(String, crate::types::Type)>,
    /// The variants of each enum the columns name, in the order they are named.
    pub enums: Vec<Vec<String>>,
}

/// Reads a rule or CSV file as text, bounded (see [`crate::io`]). A file over the size
/// limit, or not valid UTF-8, becomes a diagnostic (the latter at the first bad byte, with
/// the text kept with replacement characters so later diagnostics can still show it, and a
/// hint when the bytes look like GBK). A file that cannot be read at all, or is not a
/// regular file, is an error.
pub fn read_text(
    map: &mut SourceMap,
    path: &Path,
    limits: &Limits,
) -> Result<(FileId, Option<Diagnostic>), ReadError> {
    let name = path.display().to_string();
    if let Some(id) = map.find(&name) {
        return Ok((id, None));
    }
    let bytes = match crate::io::read_file(path, limits.max_source_bytes) {
        Ok(b) => b,
        Err(ReadError::TooLarge { limit, size, .. }) => {
            let id = map.add(name, "");
            let d = Diagnostic::new(
                Code::SourceTooLarge,
                Span::new(id, 0, 0),
                match size {
                    Some(n) => format!("the file is {n} bytes, over the limit of {limit} bytes"),
                    None => format!("the file is over the limit of {limit} bytes"),
                },
            )
            .label("file starts here")
            .help("split the file, or raise `Limits::max_source_bytes`");
            return Ok((id, Some(d)));
        }
        Err(e) => return Err(e),
    };
    let is_csv = path.extension().is_some_and(|x| x == "csv");
    match String::from_utf8(bytes) {
        Ok(s) if is_csv => Ok((map.add(name, crate::csv::normalize_line_ends(s)), None)),
        Ok(s) => Ok((map.add(name, s), None)),
        Err(e) => {
            let bad = e.utf8_error().valid_up_to();
            // Every byte that is not part of valid UTF-8, in the whole file.
            let count: usize = e.as_bytes().utf8_chunks().map(|c| c.invalid().len()).sum();
            let gbk = looks_like_gbk(e.as_bytes());
            let where_ = if gbk {
                // Every non-ASCII byte is half of a GBK character (some pairs happen to be
                // valid UTF-8 too): count the characters.
                let bytes = e.as_bytes().iter().filter(|b| **b >= 0x80).count();
                let chars = bytes / 2;
                format!(
                    "{chars} GBK character{} ({bytes} bytes); the first byte that is not UTF-8 is at offset {bad}",
                    if chars == 1 { "" } else { "s" }
                )
            } else if count == 1 {
                format!("1 bad byte at offset {bad}")
            } else {
                format!("{count} bad bytes, the first at offset {bad}")
            };
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let id = map.add(name, text);
            let help = if gbk {
                "the bytes look like GBK (GB18030), the usual Excel export in China: save the \
                 file as UTF-8 (Excel: \"CSV UTF-8\"), or convert it: \
                 `iconv -f GBK -t UTF-8 FILE > FILE.utf8`"
            } else {
                "save the file as UTF-8 (rule files and CSV catalogs must be UTF-8)"
            };
            let d = Diagnostic::new(
                Code::InvalidUtf8,
                Span::new(id, bad, bad + 1),
                if gbk {
                    format!("the file is not valid UTF-8 but looks like GBK: {where_}")
                } else {
                    format!("the file is not valid UTF-8: {where_}")
                },
            )
            .label("invalid UTF-8 here")
            .help(help);
            Ok((id, Some(d)))
        }
    }
}

/// True when every non-ASCII byte belongs to a GBK double-byte character (lead byte
/// 0x81–0xFE, trail byte 0x40–0xFE but not 0x7F) and there is at least one.
pub fn looks_like_gbk(bytes: &[u8]) -> bool {
    let mut i = 0;
    let mut pairs = 0usize;
    while let Some(&b) = bytes.get(i) {
        if b < 0x80 {
            i += 1;
            continue;
        }
        let trail = bytes.get(i + 1).copied().unwrap_or(0);
        if !(0x81..=0xFE).contains(&b) || !(0x40..=0xFE).contains(&trail) || trail == 0x7F {
            return false;
        }
        pairs += 1;
        i += 2;
    }
    pairs > 0
}

/// A data file (CSV catalog or series) a layer names with `from "…"`, read by the loader
/// so that the checker reads nothing itself.
#[derive(Debug, Clone)]
pub enum DataFile {
    /// Read: its id in the source map, and a problem with its text if any (too large,
    /// not UTF-8).
    Read(FileId, Option<Diagnostic>),
    /// Not read, and why (the path is named in the message).
    Failed(String),
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
            data_files: HashMap::new(),
            catalogs: SharedCatalogs::default(),
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

    fn read_parse(&mut self, path: &Path) -> Result<(FileId, ast::File), ReadError> {
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
            if !fname.ends_with(&format!(".{RULE_EXT}")) {
                let text = crate::csv::normalize_line_ends(text.clone());
                let id = self.map.add(fname.clone(), text);
                self.memory_files.insert(fname.clone(), id);
                continue;
            }
            let id = self.map.add(fname.clone(), text.as_str());
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
        if let Some(d) = &dir {
            self.read_data_files(d, &files);
        }
        self.layers.push(Layer {
            dir,
            name,
            files,
            extends,
            header,
        });
        self.layers.len() - 1
    }

    /// Reads every CSV file the layer's catalogs and series name, bounded, once each.
    /// Only `.csv` files are read, so no diagnostic ever shows a line of another file.
    fn read_data_files(&mut self, dir: &Path, files: &[(FileId, ast::File)]) {
        let mut names = Vec::new();
        for (_, f) in files {
            for d in &f.decls {
                match &d.kind {
                    ast::DeclKind::Catalog {
                        rows: ast::RowSource::File(rel, _),
                        ..
                    }
                    | ast::DeclKind::Series {
                        source: ast::SeriesSource::File(rel, _),
                        ..
                    } => names.push(rel.clone()),
                    _ => {}
                }
            }
        }
        for rel in names {
            let key = (dir.to_path_buf(), rel.clone());
            if self.data_files.contains_key(&key) {
                continue;
            }
            let path = normalize(&dir.join(&rel));
            let entry = if path.extension().is_none_or(|x| x != "csv") {
                DataFile::Failed(format!(
                    "`{}` is not a `.csv` file; catalogs and series are read from CSV files only",
                    path.display()
                ))
            } else {
                match read_text(&mut self.map, &path, &self.limits) {
                    Ok((id, d)) => DataFile::Read(id, d),
                    Err(e) => DataFile::Failed(e.to_string()),
                }
            };
            self.data_files.insert(key, entry);
        }
    }

    /// Loads a directory or a single rule file as one layer. I/O errors are returned;
    /// everything else becomes a diagnostic.
    pub fn load_path(&mut self, path: &Path) -> Result<usize, ReadError> {
        let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if let Some(&i) = self.by_path.get(&key) {
            return Ok(i);
        }
        let io = |source| ReadError::Io {
            path: path.display().to_string(),
            source,
        };
        let (dir, files) = if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(io)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                // Not `is_file()`: a FIFO, device or directory named `x.rulec` is refused
                // when read, never skipped in silence.
                .filter(|p| p.extension().is_some_and(|x| x == RULE_EXT))
                .collect();
            entries.sort();
            let mut files = Vec::new();
            for p in entries {
                files.push(self.read_parse(&p)?);
            }
            (path.to_path_buf(), files)
        } else {
            // Only rule files are parsed as rules: a syntax error would echo the contents
            // of any other file (a claim, a key, a CSV) in its snippet.
            crate::io::check_regular(path)?;
            if path.extension().is_none_or(|x| x != RULE_EXT) {
                return Err(ReadError::Io {
                    path: path.display().to_string(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        "not a rule file: rule files end in `.rulec`; pass a ruleset directory or a `.rulec` file",
                    ),
                });
            }
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

    /// Whether a layer's files gave load or parse errors.
    fn has_errors_in(&self, layer: usize) -> bool {
        let Some(l) = self.layers.get(layer) else {
            return false;
        };
        self.diags.iter().any(|d| {
            d.is_error()
                && d.span
                    .is_some_and(|sp| l.files.iter().any(|(id, _)| *id == sp.file))
        })
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
                // Say what the path is, never what a file in it holds.
                let (message, label) = match std::fs::metadata(&parent_path) {
                    Err(_) => (
                        format!("the parent ruleset `{}` does not exist", parent_path.display()),
                        "no such directory",
                    ),
                    Ok(_) => (
                        format!(
                            "`{}` is not a directory holding a ruleset header: `extends` names a ruleset's directory, not a file",
                            parent_path.display()
                        ),
                        "not a ruleset directory",
                    ),
                };
                self.diags.push(
                    Diagnostic::new(Code::ParentNotFound, span, message)
                    .label(label)
                    .help("`extends` takes a directory path relative to this ruleset, e.g. `extends \"../china\"`"),
                );
                break;
            }
            let parent = match self.load_path(&parent_path) {
                Ok(p) => p,
                Err(e) => {
                    self.diags.push(
                        Diagnostic::new(Code::ParentNotFound, span, e.to_string())
                            .label("unreadable"),
                    );
                    break;
                }
            };
            if self.layers.get(parent).is_some_and(|l| l.header.is_none()) {
                // A parent whose files did not parse may have lost its header with them:
                // that one error is the parent's, and the child waits for it (W0005 from
                // the driver) instead of an E0108 and a cascade of unknown names.
                if self.has_errors_in(parent) {
                    chain.push(parent);
                    break;
                }
                self.diags.push(
                    Diagnostic::new(
                        Code::ParentNotFound,
                        span,
                        format!(
                            "`{}` is not a ruleset: no file in it starts with `ruleset \"name\"`",
                            parent_path.display()
                        ),
                    )
                    .label("not a ruleset directory")
                    .help("`extends` names the directory of the parent ruleset, e.g. `extends \"../china\"`"),
                );
                break;
            }
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
    // Canonical paths already searched: a symbolic link back up the tree is followed once.
    let mut seen = std::collections::HashSet::new();
    while let Some(dir) = stack.pop() {
        if !seen.insert(dir.canonicalize().unwrap_or_else(|_| dir.clone())) {
            continue;
        }
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
