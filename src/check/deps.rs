//! Dependencies between definitions: definitions are pure and ordered by what they use;
//! a cycle is an error that names every step.

use super::{Checker, Global};
use crate::diag::{Code, Diagnostic};
use crate::source::Span;

/// A DFS frame: the node, its edges, and the next edge to follow.
type Frame = (usize, Vec<(u32, Span)>, usize);

impl Checker<'_> {
    /// The graph's nodes are the definitions, then the functions.
    fn node_of(&self, g: Global) -> Option<u32> {
        match g {
            Global::Def(d) => Some(d),
            Global::Function(f) => Some(self.rs.defs.len() as u32 + f),
            _ => None,
        }
    }

    fn node_name(&self, i: usize) -> Option<String> {
        match self.rs.defs.get(i) {
            Some(d) => Some(format!("`{}`", d.name)),
            None => self
                .rs
                .functions
                .get(i - self.rs.defs.len())
                .map(|f| format!("`{}`", f.name)),
        }
    }

    /// Edges of node `i`: (node it uses, where).
    fn edges(&self, i: usize) -> Vec<(u32, Span)> {
        let mut out = Vec::new();
        let mut add = |refs: &[(Global, Span)]| {
            for (g, s) in refs {
                if let Some(n) = self.node_of(*g) {
                    out.push((n, *s));
                }
            }
        };
        if let Some(def) = self.rs.defs.get(i) {
            for vrefs in self.def_refs.get(i).map(Vec::as_slice).unwrap_or(&[]) {
                add(vrefs);
            }
            for &e in &def.exceptions {
                add(self
                    .exc_refs
                    .get(e as usize)
                    .map(Vec::as_slice)
                    .unwrap_or(&[]));
            }
        } else if let Some(f) = i.checked_sub(self.rs.defs.len()) {
            add(self.fn_refs.get(f).map(Vec::as_slice).unwrap_or(&[]));
        }
        out
    }

    /// Finds cycles among definitions and functions by depth-first search (iterative, so a
    /// chain of any length is safe); each is reported once, at the reference that closes it.
    pub(crate) fn check_cycles(&mut self) {
        let n = self.rs.defs.len() + self.rs.functions.len();
        let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
        let mut reported = std::collections::HashSet::new();
        let mut problems = Vec::new();
        for start in 0..n {
            if state.get(start).copied() != Some(0) {
                continue;
            }
            // Iterative DFS: stack of (node, edges, next edge index).
            let mut stack: Vec<Frame> = vec![(start, self.edges(start), 0)];
            if let Some(s) = state.get_mut(start) {
                *s = 1;
            }
            while let Some((node, edges, idx)) = stack.last_mut() {
                let node = *node;
                if let Some(&(next, span)) = edges.get(*idx) {
                    *idx += 1;
                    let next = next as usize;
                    match state.get(next).copied() {
                        Some(0) => {
                            if let Some(s) = state.get_mut(next) {
                                *s = 1;
                            }
                            let e = self.edges(next);
                            stack.push((next, e, 0));
                        }
                        Some(1) => {
                            let pos = stack.iter().position(|(x, _, _)| *x == next).unwrap_or(0);
                            let mut members: Vec<usize> =
                                stack.iter().skip(pos).map(|(x, _, _)| *x).collect();
                            let mut key = members.clone();
                            key.sort_unstable();
                            if reported.insert(key) {
                                let only_fn = members.len() == 1 && next >= self.rs.defs.len();
                                members.push(next);
                                let names: Vec<String> =
                                    members.iter().filter_map(|&m| self.node_name(m)).collect();
                                problems.push((span, names, only_fn));
                            }
                        }
                        _ => {}
                    }
                } else {
                    if let Some(s) = state.get_mut(node) {
                        *s = 2;
                    }
                    stack.pop();
                }
            }
        }
        for (span, names, only_fn) in problems {
            let d = if only_fn {
                Diagnostic::new(
                    Code::Cycle,
                    span,
                    format!(
                        "function {} calls itself",
                        names.first().map(String::as_str).unwrap_or("?")
                    ),
                )
                .label("recursive call")
                .help("functions cannot recurse: a rule must always finish; write the steps out, or use a list operation such as `sum`")
            } else {
                Diagnostic::new(Code::Cycle, span, format!("definitions depend on each other in a cycle: {}", names.join(" → ")))
                    .label("this reference closes the cycle")
                    .help("a definition cannot use itself, directly or through others; compute the shared part in its own `def`")
            };
            self.err(d);
        }
    }
}
