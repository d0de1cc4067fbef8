//! The pre-scan: checks that pest can safely see the text.
//!
//! pest is a recursive-descent parser; a deeply nested input would overflow the stack.
//! This single linear pass finds unterminated strings and comments (so their diagnostics
//! point at the opening quote, not at the end of the file) and measures nesting before
//! any recursion happens.

use crate::diag::{Code, Diagnostic};
use crate::limits::Limits;
use crate::source::{FileId, Span};

/// Keywords that open a nested expression without a bracket.
const NESTING_KEYWORDS: &[&str] = &["if", "let", "match", "not", "list"];
/// Keywords that only start a top-level declaration.
pub(crate) const DECL_KEYWORDS: &[&str] = &[
    "ruleset",
    "source",
    "enum",
    "record",
    "input",
    "as_of",
    "covers",
    "param",
    "def",
    "output",
    "fund",
    "accumulator",
    "exception",
    "table",
    "catalog",
    "series",
    "bands",
    "override",
];

/// Scans `text` and returns the first problem that would make parsing unsafe or its
/// error message poor.
pub fn prescan(file: FileId, text: &str, limits: &Limits) -> Option<Diagnostic> {
    let bytes = text.as_bytes();
    if text.len() > limits.max_source_bytes {
        return Some(
            Diagnostic::new(
                Code::SourceTooLarge,
                Span::new(file, 0, 0),
                format!(
                    "the file is {} bytes, over the limit of {} bytes",
                    text.len(),
                    limits.max_source_bytes
                ),
            )
            .label("file starts here")
            .help("split the rules into several files, or raise `Limits::max_source_bytes`"),
        );
    }
    if text
        .trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .is_empty()
    {
        return Some(
            Diagnostic::new(
                Code::EmptyFile,
                Span::new(file, 0, text.len()),
                "the rule file is empty",
            )
            .label("nothing here")
            .help("a rule file holds at least one declaration, e.g. `param cap: money = 4500`"),
        );
    }
    let mut stack: Vec<usize> = Vec::new();
    let mut keyword_depth = 0usize;
    // Operators in the current declaration: a flat chain `a + b + …` parses without
    // recursion but builds a tree as deep as it is long.
    let mut operators = 0usize;
    let mut i = 0usize;
    while i < bytes.len() {
        let b = bytes.get(i).copied().unwrap_or(0);
        match b {
            b'"' => {
                let start = i;
                i += 1;
                loop {
                    match bytes.get(i) {
                        None | Some(b'\n') => {
                            return Some(
                                Diagnostic::new(
                                    Code::UnterminatedString,
                                    Span::new(file, start, start + 1),
                                    "this string is never closed",
                                )
                                .label("string starts here")
                                .help("close the string with `\"` on the same line"),
                            );
                        }
                        Some(b'\\') => i += 2,
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(_) => i += 1,
                    }
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes.get(i) != Some(&b'\n') {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let start = i;
                match text.get(i + 2..).and_then(|rest| rest.find("*/")) {
                    Some(off) => {
                        i += 2 + off + 2;
                        continue;
                    }
                    None => {
                        return Some(
                            Diagnostic::new(
                                Code::UnterminatedComment,
                                Span::new(file, start, start + 2),
                                "this block comment is never closed",
                            )
                            .label("comment starts here")
                            .help("close the comment with `*/`"),
                        );
                    }
                }
            }
            b'(' | b'[' | b'{' | b'<' if b != b'<' || is_list_type(bytes, i) => {
                stack.push(i);
                if stack.len() + keyword_depth / 4 > limits.max_nesting {
                    return Some(too_deep(file, i, limits));
                }
            }
            b')' | b']' | b'}' => {
                stack.pop();
            }
            b'>' if stack.last().is_some_and(|&o| bytes.get(o) == Some(&b'<')) => {
                stack.pop();
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < bytes.len()
                    && bytes
                        .get(i)
                        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    i += 1;
                }
                let word = text.get(start..i).unwrap_or("");
                if stack.is_empty() && DECL_KEYWORDS.contains(&word) {
                    keyword_depth = 0;
                    operators = 0;
                } else if matches!(word, "and" | "or") {
                    operators += 1;
                    if operators > limits.max_expr_depth {
                        return Some(too_long(file, start, limits));
                    }
                } else if NESTING_KEYWORDS.contains(&word) {
                    keyword_depth += 1;
                    if stack.len() + keyword_depth / 4 > limits.max_nesting {
                        return Some(too_deep(file, start, limits));
                    }
                }
                continue;
            }
            b'+' | b'*' | b'/' | b'?' | b'-' | b'.' => {
                let prev = if i > 0 {
                    bytes.get(i - 1).copied().unwrap_or(b' ')
                } else {
                    b' '
                };
                let between_digits = prev.is_ascii_digit() && matches!(b, b'-' | b'.');
                if !between_digits {
                    operators += 1;
                    if operators > limits.max_expr_depth {
                        return Some(too_long(file, i, limits));
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn too_long(file: FileId, at: usize, limits: &Limits) -> Diagnostic {
    Diagnostic::new(Code::TooManyOperators, Span::new(file, at, at + 1), format!(
        "one declaration uses more than {} operators",
        limits.max_expr_depth
    ))
    .label("the limit is passed here")
    .help("split the expression into named `def`s; a long chain `a + b + …` nests as deep as it is long")
}

fn is_list_type(bytes: &[u8], i: usize) -> bool {
    i >= 4 && bytes.get(i - 4..i) == Some(b"list".as_slice())
}

fn too_deep(file: FileId, at: usize, limits: &Limits) -> Diagnostic {
    Diagnostic::new(
        Code::TooDeep,
        Span::new(file, at, at + 1),
        format!("nesting exceeds the limit of {} levels", limits.max_nesting),
    )
    .label("too deep from here on")
    .help("split the expression into named `def`s; each def starts at depth 0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_brackets_are_refused() {
        let text = format!(
            "def x: int = {}1{}",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        let d = prescan(FileId(0), &text, &Limits::default());
        assert_eq!(d.map(|d| d.code), Some(Code::TooDeep));
    }

    #[test]
    fn strings_and_comments() {
        let l = Limits::default();
        assert_eq!(
            prescan(FileId(0), "def x: text = \"abc", &l).map(|d| d.code),
            Some(Code::UnterminatedString)
        );
        assert_eq!(
            prescan(FileId(0), "/* abc", &l).map(|d| d.code),
            Some(Code::UnterminatedComment)
        );
        assert_eq!(
            prescan(FileId(0), "  \n", &l).map(|d| d.code),
            Some(Code::EmptyFile)
        );
        assert!(prescan(FileId(0), "def x: text = \"a(b\" // ((((\n", &l).is_none());
    }
}
