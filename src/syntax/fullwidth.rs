//! Full-width punctuation and digits in rule text: named as the cause, then read as ASCII.
//!
//! A Chinese input method types `：` for `:`, `（` for `(`, `１００` for `100` and `“…”` for
//! `"…"`. pest would report a syntax error somewhere after the character, and every name the
//! file declares would then be unknown elsewhere. Instead, [`scan`] reports each run of such
//! characters outside strings and comments once, at the run, with the ASCII replacement
//! (`rulec::E0013`), and returns a copy of the text with the replacement written in. The
//! replacement is never longer than the original bytes; the difference is padded with spaces
//! at the end of the token, so every span after the token keeps its byte offset and the
//! rest of the file parses and checks as the author meant it.

use crate::diag::{Code, Diagnostic};
use crate::source::{FileId, Span};

/// The ASCII for a full-width or typographic character that rule syntax writes in ASCII.
pub fn ascii_for(c: char) -> Option<&'static str> {
    const FULL: &[&str] = &[
        "!", "\"", "#", "$", "%", "&", "'", "(", ")", "*", "+", ",", "-", ".", "/", "0", "1", "2",
        "3", "4", "5", "6", "7", "8", "9", ":", ";", "<", "=", ">", "?", "@", "A", "B", "C", "D",
        "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O", "P", "Q", "R", "S", "T", "U", "V",
        "W", "X", "Y", "Z", "[", "\\", "]", "^", "_", "`", "a", "b", "c", "d", "e", "f", "g", "h",
        "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z",
        "{", "|", "}", "~",
    ];
    match c {
        // U+FF01..U+FF5E mirror U+0021..U+007E.
        '\u{FF01}'..='\u{FF5E}' => FULL.get((c as u32 - 0xFF01) as usize).copied(),
        '\u{201C}' | '\u{201D}' => Some("\""),
        '\u{3001}' => Some(","),
        '\u{3002}' => Some("."),
        '\u{3010}' => Some("["),
        '\u{3011}' => Some("]"),
        '\u{2212}' => Some("-"),
        '\u{00D7}' => Some("*"),
        '\u{00F7}' => Some("/"),
        '\u{2264}' => Some("<="),
        '\u{2265}' => Some(">="),
        '\u{2260}' => Some("!="),
        _ => None,
    }
}

/// Characters that may follow a replacement inside the same token: the padding waits until
/// after them, so `１００％` reads `100%` and not `1 0 0 %`.
fn in_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'%')
}

/// Finds full-width characters outside strings and comments. Returns one diagnostic per
/// run of them and, when there was any, the text with ASCII written in their place.
pub fn scan(file: FileId, text: &str) -> (Vec<Diagnostic>, Option<String>) {
    let mut diags = Vec::new();
    let mut out = String::new();
    // Bytes of `text` already copied to `out`.
    let mut copied = 0usize;
    let mut pad = 0usize;
    let bytes = text.as_bytes();
    let mut i = 0usize;
    let flush = |out: &mut String, pad: &mut usize| {
        out.extend(std::iter::repeat_n(' ', *pad));
        *pad = 0;
    };
    while let Some(&b) = bytes.get(i) {
        if b.is_ascii() {
            if pad > 0 && !in_token(b) {
                out.push_str(text.get(copied..i).unwrap_or(""));
                copied = i;
                flush(&mut out, &mut pad);
            }
            i = skip_ascii(bytes, i);
            continue;
        }
        let Some(c) = text.get(i..).and_then(|r| r.chars().next()) else {
            break;
        };
        if ascii_for(c).is_none() {
            if pad > 0 {
                out.push_str(text.get(copied..i).unwrap_or(""));
                copied = i;
                flush(&mut out, &mut pad);
            }
            i += c.len_utf8();
            continue;
        }
        out.push_str(text.get(copied..i).unwrap_or(""));
        if c == '\u{201C}' {
            if let Some(close) = closing_quote(text, i) {
                diags.push(quoted(file, i, close));
                let end = close + '\u{201D}'.len_utf8();
                out.push('"');
                out.push_str(text.get(i + 3..close).unwrap_or(""));
                out.push('"');
                pad += 4;
                flush(&mut out, &mut pad);
                copied = end;
                i = end;
                continue;
            }
        }
        // A run of replaceable characters: one diagnostic.
        let start = i;
        let mut ascii = String::new();
        while let Some(c) = text.get(i..).and_then(|r| r.chars().next()) {
            let Some(a) = ascii_for(c) else { break };
            ascii.push_str(a);
            pad += c.len_utf8() - a.len();
            i += c.len_utf8();
        }
        out.push_str(&ascii);
        copied = i;
        if !ascii.bytes().last().is_some_and(in_token) {
            flush(&mut out, &mut pad);
        }
        diags.push(run(file, text, start, i, &ascii));
    }
    if diags.is_empty() {
        return (diags, None);
    }
    out.push_str(text.get(copied..).unwrap_or(""));
    flush(&mut out, &mut pad);
    (diags, Some(out))
}

/// Skips one ASCII byte, or a whole string or comment starting at `i`.
fn skip_ascii(bytes: &[u8], i: usize) -> usize {
    let rest = bytes.get(i..).unwrap_or(&[]);
    let end_of_line = |from: usize| {
        bytes
            .get(from..)
            .and_then(|r| r.iter().position(|&b| b == b'\n'))
            .map_or(bytes.len(), |p| from + p)
    };
    match rest {
        [b'"', ..] => {
            let mut j = i + 1;
            while let Some(&b) = bytes.get(j) {
                match b {
                    b'\\' => j += 2,
                    b'"' => return j + 1,
                    b'\n' => return j,
                    _ => j += 1,
                }
            }
            bytes.len()
        }
        [b'/', b'/', ..] => end_of_line(i),
        [b'/', b'*', ..] => bytes
            .get(i + 2..)
            .and_then(|r| r.windows(2).position(|w| w == b"*/"))
            .map_or(bytes.len(), |p| i + 2 + p + 2),
        _ => i + 1,
    }
}

/// The `”` closing a `“` at `open`, on the same line.
fn closing_quote(text: &str, open: usize) -> Option<usize> {
    let rest = text.get(open + '\u{201C}'.len_utf8()..)?;
    let line = rest.split('\n').next().unwrap_or("");
    line.find('\u{201D}')
        .map(|p| open + '\u{201C}'.len_utf8() + p)
}

fn quoted(file: FileId, open: usize, close: usize) -> Diagnostic {
    Diagnostic::new(
        Code::FullWidth,
        Span::new(file, open, open + '\u{201C}'.len_utf8()),
        "a string in full-width quotes `“…”`",
    )
    .label("write `\"`")
    .with(
        Span::new(file, close, close + '\u{201D}'.len_utf8()),
        "and `\"` here",
    )
    .help("strings are written in ASCII quotes: `\"…\"`; switch the input method to half-width (半角) for rule syntax")
}

fn run(file: FileId, text: &str, start: usize, end: usize, ascii: &str) -> Diagnostic {
    let found = text.get(start..end).unwrap_or("");
    let full = found
        .chars()
        .all(|c| ('\u{FF01}'..='\u{FF5E}').contains(&c));
    let what = if found.chars().all(|c| c.is_numeric()) {
        "full-width digits"
    } else if !full {
        "non-ASCII punctuation"
    } else if found.chars().count() == 1 {
        "a full-width character"
    } else {
        "full-width characters"
    };
    Diagnostic::new(
        Code::FullWidth,
        Span::new(file, start, end),
        format!("{what} `{found}` in rule syntax"),
    )
    .label(format!("write `{ascii}`"))
    .help("rule syntax (punctuation, operators, numbers) is ASCII; switch the input method to half-width (半角). Full-width text is fine in strings and comments")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(text: &str) -> (Vec<(usize, usize, String)>, String) {
        let (d, t) = scan(FileId(0), text);
        (
            d.iter()
                .map(|d| {
                    let s = d.span.unwrap_or(Span::new(FileId(0), 0, 0));
                    (s.start as usize, s.end as usize, d.label.clone())
                })
                .collect(),
            t.unwrap_or_else(|| text.to_string()),
        )
    }

    #[test]
    fn replacements_keep_offsets_after_the_token() {
        let text = "param cap：money = １００ // 注释：全角\ndef x: text = \"a，b\"";
        let (d, t) = fixed(text);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].2, "write `:`");
        assert_eq!(d[1].2, "write `100`");
        assert_eq!(t.len(), text.len());
        assert!(
            t.starts_with("param cap:  money = 100       // 注释：全角\n"),
            "{t:?}"
        );
        assert!(t.ends_with("def x: text = \"a，b\""));
    }

    #[test]
    fn percent_and_brackets_stay_in_one_token() {
        let (d, t) = fixed("def r: rate = （８０％）");
        assert_eq!(d.len(), 1);
        assert_eq!(t.trim_end(), "def r: rate = (80%)");
    }

    #[test]
    fn curly_quotes_become_a_string() {
        let (d, t) = fixed("source s “标题，全角”\n");
        assert_eq!(d.len(), 1);
        assert!(t.starts_with("source s \"标题，全角\"    \n"), "{t:?}");
    }

    #[test]
    fn ascii_text_is_untouched() {
        let (d, t) = scan(FileId(0), "def x: money = 1 // （）\n/* ： */");
        assert!(d.is_empty());
        assert!(t.is_none());
    }
}
