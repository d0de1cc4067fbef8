//! Stage 1, syntax: text → AST with spans.
//!
//! [`parse_source`] runs the pre-scan ([`scan`]), then pest ([`parser`]), and never
//! fails to return: problems become diagnostics and the AST holds what could be built.

pub mod ast;
pub mod fullwidth;
pub mod parser;
pub mod scan;

use crate::diag::Diagnostic;
use crate::limits::Limits;
use crate::source::FileId;

/// Parses one rule file's text.
/// Full-width punctuation and digits are reported and then read as their ASCII
/// ([`fullwidth`]), so one `：` gives one error and the file's declarations still exist.
pub fn parse_source(file: FileId, text: &str, limits: &Limits) -> (ast::File, Vec<Diagnostic>) {
    if text.len() > limits.max_source_bytes {
        if let Some(d) = scan::prescan(file, text, limits) {
            return (ast::File::default(), vec![d]);
        }
    }
    let (mut diags, fixed) = fullwidth::scan(file, text);
    let text = fixed.as_deref().unwrap_or(text);
    if let Some(d) = scan::prescan(file, text, limits) {
        diags.push(d);
        return (ast::File::default(), diags);
    }
    let (mut ast, more) = parser::parse_file(file, text);
    diags.extend(more);
    limit_depth(&mut ast, limits, &mut diags);
    (ast, diags)
}

/// Replaces every expression deeper than `Limits::max_expr_depth` (long operator chains
/// make deep trees without any bracket) by [`ast::ExprKind::Error`], with a diagnostic,
/// so that checking and evaluation recurse only to a bounded depth.
fn limit_depth(file: &mut ast::File, limits: &Limits, diags: &mut Vec<Diagnostic>) {
    let max = limits.max_expr_depth;
    let mut visit = |e: &mut ast::Expr| {
        let d = e.depth();
        if d > max {
            diags.push(
                Diagnostic::new(
                    crate::diag::Code::TooDeep,
                    e.span,
                    format!("this expression is {d} levels deep, over the limit of {max}"),
                )
                .label("too deep")
                .help("split it into named `def`s, e.g. one per group of terms"),
            );
            e.kind = ast::ExprKind::Error;
        }
    };
    for d in &mut file.decls {
        match &mut d.kind {
            ast::DeclKind::AsOf { expr } | ast::DeclKind::Covers { expr, .. } => visit(expr),
            ast::DeclKind::Def { versions, .. } => {
                versions.iter_mut().for_each(|v| visit(&mut v.value))
            }
            ast::DeclKind::Accumulator { add, .. } => visit(add),
            ast::DeclKind::Function { body, .. } => visit(body),
            ast::DeclKind::Exception { cond, value, .. } => {
                visit(cond);
                visit(value);
            }
            _ => {}
        }
    }
}
