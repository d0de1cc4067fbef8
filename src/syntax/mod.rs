//! Stage 1, syntax: text → AST with spans.
//!
//! [`parse_source`] runs the pre-scan ([`scan`]), then pest ([`parser`]), and never
//! fails to return: problems become diagnostics and the AST holds what could be built.

pub mod ast;
pub mod parser;
pub mod scan;

use crate::diag::Diagnostic;
use crate::limits::Limits;
use crate::source::FileId;

/// Parses one rule file's text.
pub fn parse_source(file: FileId, text: &str, limits: &Limits) -> (ast::File, Vec<Diagnostic>) {
    if let Some(d) = scan::prescan(file, text, limits) {
        return (ast::File::default(), vec![d]);
    }
    parser::parse_file(file, text)
}
