//! Dependencies between definitions: definitions are pure and ordered by what they use;
//! a cycle is an error that names every step.

use super::{Checker, Global};
use crate::diag::{Code, Diagnostic};
use crate::source::Span;

/// A DFS frame: the node, its edges, and the next edge to follow.
type Frame = (usize, Vec<(u32, Span)>, usize);

impl Checker<'_> {
    /// Edges of definition `i`: (definition it uses, where).
    fn edges(&self, i: usize) -> Vec<(u32, Span)> {
        let mut out = Vec::new();
        for vrefs in self.def_refs.get(i).map(Vec::as_slice).unwrap_or(&[]) {
            for (g, s) in vrefs {
                if let Global::Def(d) = g {
                    out.push((*d, *s));
                }
            }
        }
        if let Some(def) = self.rs.defs.get(i) {
            for &e in &def.exceptions {
                for (g, s) in self
                    .exc_refs
                    .get(e as usize)
                    .map(Vec::as_slice)
                    .unwrap_or(&[])
                {
                    if let Global::Def(d) = g {
                        out.push((*d, *s));
                    }
                }
            }
        }
        out
    }

    /// Finds cycles by depth-first search; each is reported once, at the reference that
    /// closes it.
    pub(crate) fn check_cycles(&mut self) {
        let n = self.rs.defs.len();
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
                                members.push(next);
                                let names: Vec<String> = members
                                    .iter()
                                    .filter_map(|&m| {
                                        self.rs.defs.get(m).map(|d| format!("`{}`", d.name))
                                    })
                                    .collect();
                                let _ = node;
                                problems.push((span, names));
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
        for (span, names) in problems {
            self.err(
                Diagnostic::new(Code::Cycle, span, format!("definitions depend on each other in a cycle: {}", names.join(" → ")))
                    .label("this reference closes the cycle")
                    .help("a definition cannot use itself, directly or through others; compute the shared part in its own `def`"),
            );
        }
    }
}
