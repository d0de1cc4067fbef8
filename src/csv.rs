//! A small RFC 4180 CSV reader that keeps the byte span of every cell, so a bad cell is
//! reported at file:line:column. Catalogs of 200,000 rows are read in one pass.

use crate::diag::{Code, Diagnostic};
use crate::source::{FileId, Span};
use std::borrow::Cow;

/// One cell: its text (quotes removed) and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell<'a> {
    /// The value: borrowed from the file unless quotes had to be removed.
    pub text: Cow<'a, str>,
    /// The place in the file.
    pub span: Span,
}

/// One record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// Cells in order.
    pub cells: Vec<Cell<'a>>,
    /// The whole line(s).
    pub span: Span,
}

/// Splits `text` into records, one at a time, so a 200,000-row catalog is never held twice.
/// A malformed record (an unclosed quote, text after a closing quote) is reported and
/// skipped; reading goes on with the next line.
pub struct Records<'a> {
    file: FileId,
    text: &'a str,
    i: usize,
    done: bool,
}

/// The records of a CSV text.
pub fn records(file: FileId, text: &str) -> Records<'_> {
    let i = if text.starts_with('\u{feff}') { 3 } else { 0 };
    Records {
        file,
        text,
        i,
        done: false,
    }
}

/// All records and problems at once (for small files).
pub fn read(file: FileId, text: &str) -> (Vec<Record<'_>>, Vec<Diagnostic>) {
    let mut recs = Vec::new();
    let mut diags = Vec::new();
    for r in records(file, text) {
        match r {
            Ok(rec) => recs.push(rec),
            Err(d) => diags.push(d),
        }
    }
    (recs, diags)
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, Diagnostic>;

    fn next(&mut self) -> Option<Self::Item> {
        let (file, text) = (self.file, self.text);
        let bytes = text.as_bytes();
        let mut i = self.i;
        while !self.done && i < bytes.len() {
            let line_start = i;
            let mut cells = Vec::new();
            let mut bad: Option<Diagnostic> = None;
            loop {
                let cell_start = i;
                let value: Cow<'a, str>;
                if bytes.get(i) == Some(&b'"') {
                    let mut owned = String::new();
                    i += 1;
                    let mut closed = false;
                    let mut seg = i;
                    while i < bytes.len() {
                        if bytes.get(i) == Some(&b'"') {
                            owned.push_str(text.get(seg..i).unwrap_or(""));
                            if bytes.get(i + 1) == Some(&b'"') {
                                owned.push('"');
                                i += 2;
                                seg = i;
                                continue;
                            }
                            i += 1;
                            closed = true;
                            break;
                        }
                        i += 1;
                    }
                    if !closed {
                        self.done = true;
                        self.i = bytes.len();
                        return Some(Err(Diagnostic::new(
                            Code::CsvMalformed,
                            Span::new(file, cell_start, cell_start + 1),
                            "a quoted CSV cell is never closed",
                        )
                        .label("quote opens here")
                        .help(
                            "close the cell with `\"`; write a quote inside a cell as `\"\"`",
                        )));
                    }
                    if !matches!(bytes.get(i), None | Some(b',') | Some(b'\n') | Some(b'\r')) {
                        let end = next_line(bytes, i);
                        bad = Some(
                            Diagnostic::new(
                                Code::CsvMalformed,
                                Span::new(file, i, i + 1),
                                "text after the closing quote of a CSV cell",
                            )
                            .label("unexpected text")
                            .help("put the whole cell inside the quotes"),
                        );
                        i = end;
                        break;
                    }
                    value = Cow::Owned(owned);
                } else {
                    while i < bytes.len()
                        && !matches!(bytes.get(i), Some(b',') | Some(b'\n') | Some(b'\r'))
                    {
                        i += 1;
                    }
                    let mut end = i;
                    if end > cell_start && bytes.get(end - 1) == Some(&b'\r') {
                        end -= 1;
                    }
                    value = Cow::Borrowed(text.get(cell_start..end).unwrap_or(""));
                }
                let end = if bytes.get(i.saturating_sub(1)) == Some(&b'\r') && i > cell_start {
                    i - 1
                } else {
                    i
                };
                cells.push(Cell {
                    text: value,
                    span: Span::new(file, cell_start, end.max(cell_start)),
                });
                match bytes.get(i) {
                    Some(b',') => i += 1,
                    Some(b'\r') => {
                        i += 1;
                        if bytes.get(i) == Some(&b'\n') {
                            i += 1;
                        }
                        break;
                    }
                    Some(b'\n') => {
                        i += 1;
                        break;
                    }
                    _ => break,
                }
            }
            let line_end = i;
            self.i = i;
            if let Some(d) = bad {
                return Some(Err(d));
            }
            let blank = cells.len() == 1 && cells.first().is_some_and(|c| c.text.trim().is_empty());
            if !blank {
                return Some(Ok(Record {
                    cells,
                    span: Span::new(file, line_start, trim_eol(bytes, line_start, line_end)),
                }));
            }
        }
        self.i = i;
        None
    }
}

fn next_line(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && !matches!(bytes.get(i), Some(b'\n') | Some(b'\r')) {
        i += 1;
    }
    if bytes.get(i) == Some(&b'\r') && bytes.get(i + 1) == Some(&b'\n') {
        i += 1;
    }
    i + 1
}

/// Old-Mac line ends (a CR alone) become LF, byte for byte, so line numbers in
/// diagnostics count them as lines. CRLF is left as it is. Offsets do not change.
pub fn normalize_line_ends(text: String) -> String {
    if !text.contains('\r') {
        return text;
    }
    let mut bytes = text.into_bytes();
    let n = bytes.len();
    for i in 0..n {
        if bytes.get(i) == Some(&b'\r') && bytes.get(i + 1) != Some(&b'\n') {
            if let Some(b) = bytes.get_mut(i) {
                *b = b'\n';
            }
        }
    }
    // Replacing one ASCII byte by another keeps UTF-8 valid.
    String::from_utf8(bytes).unwrap_or_default()
}

fn trim_eol(bytes: &[u8], start: usize, mut end: usize) -> usize {
    while end > start && matches!(bytes.get(end - 1), Some(b'\n') | Some(b'\r')) {
        end -= 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_cells_and_spans() {
        let (recs, diags) = read(FileId(0), "code,name\nA1,\"x, \"\"y\"\"\"\r\nB2,阿莫西林\n");
        assert!(diags.is_empty());
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[1].cells[1].text, "x, \"y\"");
        assert_eq!(recs[2].cells[1].text, "阿莫西林");
        assert_eq!(recs[2].cells[1].span.start, 28);
    }

    #[test]
    fn line_ends_cr_lf_crlf() {
        for text in [
            "code,name\nA1,x\nB2,y\n",
            "code,name\rA1,x\rB2,y\r",
            "code,name\r\nA1,x\r\nB2,y\r\n",
            "\u{feff}code,name\rA1,x\r\nB2,y",
            "code,name\rA1,\"x\"\rB2,y",
        ] {
            let (recs, diags) = read(FileId(0), text);
            assert!(diags.is_empty(), "{text:?}");
            let cells: Vec<Vec<&str>> = recs
                .iter()
                .map(|r| r.cells.iter().map(|c| c.text.as_ref()).collect())
                .collect();
            assert_eq!(
                cells,
                vec![vec!["code", "name"], vec!["A1", "x"], vec!["B2", "y"]],
                "{text:?}"
            );
        }
        assert_eq!(normalize_line_ends("a\rb\r\nc".into()), "a\nb\r\nc");
    }

    #[test]
    fn unclosed_quote() {
        let (_, diags) = read(FileId(0), "a,\"b\n");
        assert_eq!(diags.len(), 1);
    }
}
