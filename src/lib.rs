#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
//! rulec: a policy language for medical-insurance benefit rules.
//!
//! The pipeline, one module per stage:
//!
//! ```text
//! source -> syntax (pest -> AST with spans) -> check (resolve, types, dates) -> ir -> eval
//! ```
//!
//! See `src/README.md` for a map of the files and `docs/architecture.md` for a walk
//! through the stages.

pub mod api;
pub mod audit;
pub mod builtins;
pub mod case_check;
pub mod cases;
pub mod check;
pub mod claim;
pub mod compile;
pub mod coverage;
pub mod csv;
pub mod diag;
pub mod diff;
pub mod eval;
pub mod explain;
pub mod fmt;
pub mod fuzzing;
pub mod impact;
pub mod impact_html;
pub mod inventory;
pub mod io;
pub mod ir;
pub mod limits;
pub mod load;
pub mod lsp;
pub mod output;
pub mod project;
pub mod replay;
pub mod source;
pub mod stack;
pub mod syntax;
pub mod testing;
pub mod types;
pub mod value;
