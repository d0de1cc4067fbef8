//! The evaluators' stack budget.
//!
//! Evaluation recurses over expression trees and through function calls. The parser bounds
//! the depth of one expression (`Limits::max_expr_depth`), but a chain of functions (or, in the
//! tree walker, of definitions) can be arbitrarily long. Every such recursion goes through
//! [`guard`]: when less than [`RED_ZONE`] bytes of the current thread's stack are left, the
//! rest of the computation continues on a fresh [`SEGMENT`]-byte stack allocated on the heap
//! (the `stacker` crate, as rustc and Cedar use it). So evaluation needs at most
//! [`BUDGET`] bytes of its caller's stack, on any thread (an embedding host's 2 MiB threads,
//! rayon's workers), and a deep but valid ruleset never aborts. Depth is still finite: every
//! call is a step, and `Limits::max_steps` ends a runaway evaluation.

/// Left free below the guard before switching to a new segment.
pub const RED_ZONE: usize = 128 * 1024;

/// Size of each extra stack segment.
pub const SEGMENT: usize = 2 * 1024 * 1024;

/// The stack an evaluation may need on its caller's thread (tested in `tests/stack.rs`).
pub const BUDGET: usize = 256 * 1024;

/// Runs `f`, on a new stack segment if the current one is nearly used up.
#[inline]
pub fn guard<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(RED_ZONE, SEGMENT, f)
}
