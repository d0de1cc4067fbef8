//! Explanations: the derivation tree of a settlement, for analysts (`--explain`) and for
//! machines (`--trace json`). Built only when tracing is on.

use crate::ir::{Cite, Ruleset};
use crate::source::{SourceMap, Span};
use crate::value::Period;
use serde::Serialize;

/// One step of a derivation: a value, where it came from, and what it used.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct TraceNode {
    /// `output`, `fund`, `def`, `param`, `table`, `catalog`, `input`, …
    pub kind: &'static str,
    /// The name (or look-up, e.g. `ratio[1, active]`).
    pub name: String,
    /// The value, formatted.
    pub value: String,
    /// Rule file, when the value comes from a rule.
    pub file: Option<String>,
    /// Line in that file.
    pub line: Option<usize>,
    /// The version's effective period.
    pub period: Option<String>,
    /// The citation.
    pub cite: Option<String>,
    /// A remark (e.g. which exception applied).
    pub note: Option<String>,
    /// What it used.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<TraceNode>,
    #[serde(skip)]
    span: Option<Span>,
}

impl TraceNode {
    /// A node.
    pub fn new(kind: &'static str, name: &str, value: String) -> TraceNode {
        TraceNode {
            kind,
            name: name.to_string(),
            value,
            ..TraceNode::default()
        }
    }

    /// Sets the rule text it comes from.
    pub fn at(mut self, span: Span) -> TraceNode {
        self.span = Some(span);
        self
    }

    /// Sets the effective period.
    pub fn period(mut self, p: Period) -> TraceNode {
        self.period = Some(p.to_string());
        self
    }

    /// Sets the citation.
    pub fn cite(mut self, c: Option<&Cite>, rs: &Ruleset) -> TraceNode {
        self.cite = c.map(|c| cite_text(c, rs));
        self
    }

    /// Sets a remark.
    pub fn note(mut self, n: String) -> TraceNode {
        self.note = Some(n);
        self
    }

    fn resolve(&mut self, map: &SourceMap) {
        if let Some(s) = self.span {
            if let Some(f) = map.get(s.file) {
                self.file = Some(f.name.clone());
                self.line = Some(f.line_col(s.start).0);
            }
        }
        for c in &mut self.children {
            c.resolve(map);
        }
    }
}

/// A citation as text.
pub fn cite_text(c: &Cite, rs: &Ruleset) -> String {
    match c {
        Cite::Assumed => "assumed (no source gives this value)".into(),
        Cite::Text(t) => t.clone(),
        Cite::Source { source, locator } => {
            let title = rs
                .sources
                .get(*source as usize)
                .map(|s| s.title.as_str())
                .unwrap_or("?");
            match locator {
                Some(l) => format!("{title}, {l}"),
                None => title.to_string(),
            }
        }
    }
}

/// How deep an explanation goes (see [`Trace::end`]).
pub const MAX_TRACE_DEPTH: usize = 64;

/// The derivation being built.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    stack: Vec<Vec<TraceNode>>,
    /// The finished trees: one per output, fund and accumulator.
    pub roots: Vec<TraceNode>,
}

impl Trace {
    /// Opens a frame for a value whose inputs follow.
    pub fn begin(&mut self) {
        self.stack.push(Vec::new());
    }

    /// Closes the current frame with its node. Below [`MAX_TRACE_DEPTH`] levels a node keeps
    /// no children (a note says so), so the tree stays shallow enough to render, serialize and
    /// drop without deep recursion whatever the rules' depth.
    pub fn end(&mut self, mut node: TraceNode) {
        let children = self.stack.pop().unwrap_or_default();
        if self.stack.len() >= MAX_TRACE_DEPTH {
            if !children.is_empty() {
                let n = "its inputs are not shown: the derivation is deeper than the explanation's limit";
                node.note = Some(match node.note.take() {
                    Some(x) => format!("{x}; {n}"),
                    None => n.to_string(),
                });
            }
        } else {
            node.children = children;
        }
        match self.stack.last_mut() {
            Some(parent) => parent.push(node),
            None => self.roots.push(node),
        }
    }

    /// Closes a frame at the top level.
    pub fn end_root(&mut self, node: TraceNode) {
        self.end(node);
    }

    /// Records a value with no inputs of its own.
    pub fn leaf(&mut self, node: TraceNode) {
        match self.stack.last_mut() {
            Some(parent) => {
                if !parent
                    .iter()
                    .any(|n| n.kind == node.kind && n.name == node.name)
                {
                    parent.push(node);
                }
            }
            None => self.roots.push(node),
        }
    }

    /// The finished trees with file names and lines filled in.
    pub fn resolved(&self, map: &SourceMap) -> Vec<TraceNode> {
        let mut roots = self.roots.clone();
        for r in &mut roots {
            r.resolve(map);
        }
        roots
    }
}

/// Renders the derivation as an indented tree for people.
pub fn render_tree(roots: &[TraceNode]) -> String {
    let mut out = String::new();
    for r in roots {
        line(&mut out, r, "", "");
        out.push('\n');
    }
    out
}

fn line(out: &mut String, n: &TraceNode, first: &str, rest: &str) {
    out.push_str(first);
    out.push_str(&format!("{} {} = {}", n.kind, n.name, n.value));
    let mut meta = Vec::new();
    if let Some(p) = &n.period {
        meta.push(p.clone());
    }
    if let Some(c) = &n.cite {
        meta.push(format!("source: {c}"));
    }
    if let (Some(f), Some(l)) = (&n.file, n.line) {
        meta.push(format!("{f}:{l}"));
    }
    if let Some(note) = &n.note {
        meta.push(note.clone());
    }
    if !meta.is_empty() {
        out.push_str(&format!("   [{}]", meta.join(" · ")));
    }
    out.push('\n');
    let count = n.children.len();
    for (i, c) in n.children.iter().enumerate() {
        let last = i + 1 == count;
        let f = format!("{rest}{}", if last { "└─ " } else { "├─ " });
        let r = format!("{rest}{}", if last { "   " } else { "│  " });
        line(out, c, &f, &r);
    }
}
