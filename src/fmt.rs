//! `rulec fmt`: one canonical layout for rule files.
//!
//! The formatter works on pest's parse tree (every token, brackets included), not on the
//! AST, so nothing written is lost: literals keep their spelling (`4_500`, `80%`), brackets
//! stay, and a construct it does not know yet is copied as written.
//!
//! Comments are not in the tree; they are read from the text between tokens and printed
//! where they were, as marked text that [`resolve`] settles after rendering:
//! - a trailing comment (code before it on its line) follows the token it followed, on the
//!   same line. Before a line break or a keyword the layout prints, [`Fmt::trail`] and
//!   [`Fmt::before_kw`] take the comments that follow the last token; elsewhere the comment
//!   goes before the next token, and if the layout put a line break before it, it moves
//!   back over that break ([`GLUE`]);
//! - a comment on its own line keeps a line of its own, indented as the line after it
//!   ([`OWN`]);
//! - what follows a line comment goes on the next line, indented by two as a continuation;
//! - a `/* … */` between tokens of a line stays inline (in a row, in its cell).
//!
//! The classification depends only on what is on the comment's line, which the layout
//! keeps, so formatting twice gives the same text.
//!
//! Layout:
//! - declarations one after another, keeping at most one blank line between them;
//! - versions (`from DATE …`) each on their own line, indented by two;
//! - enums, records, catalog columns, undated one-key tables and inline series on one line
//!   when the declaration fits in [`WIDTH`] columns and holds no comment, else one entry a
//!   line;
//! - table rows, band rows and inline catalog rows aligned in columns (numbers to the right);
//!   a table keyed by two or more keys puts the rows that share their first key on one line,
//!   as a grid;
//! - trailing comments of a block aligned;
//! - expressions laid out by a Wadler-style printer (the `pretty` crate) within [`WIDTH`]
//!   columns: a long body moves below its `=`, then `else if` arms, call arguments and
//!   operator chains break one by one.
//!
//! Every result is checked before it is returned: it must parse, give the same syntax tree
//! (spans aside) and keep the same comments, or [`format_source`] refuses with
//! [`FmtError::Internal`] rather than hand back a file that means something else.
//!
//! Recursion follows the parse tree, whose depth the pre-scan bounds
//! ([`Limits::max_nesting`](crate::limits::Limits)); run it on a thread with a large stack
//! (the CLI and the language server use [`crate::project::with_big_stack`]).

use crate::diag::Diagnostic;
use crate::limits::Limits;
use crate::source::FileId;
use crate::syntax::parser::{parse_tree, Rule};
use pest::iterators::Pair;
use unicode_width::UnicodeWidthStr;

/// The line width the formatter aims for, in display columns.
pub const WIDTH: usize = 100;

type P<'a> = Pair<'a, Rule>;
type D = pretty::RcDoc<'static, ()>;

/// Why a file could not be formatted.
#[derive(Debug)]
pub enum FmtError {
    /// The file does not parse; these are its syntax diagnostics (file id 0).
    Syntax(Vec<Diagnostic>),
    /// The formatter's own result failed its check (a bug: the file is left alone).
    Internal(String),
}

impl std::fmt::Display for FmtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FmtError::Syntax(d) => write!(f, "{} syntax error(s)", d.len()),
            FmtError::Internal(m) => write!(f, "internal formatter error: {m}"),
        }
    }
}

/// Formats one rule file's text. Files with syntax errors are refused with their
/// diagnostics; the result always ends with one newline.
pub fn format_source(text: &str, limits: &Limits) -> Result<String, FmtError> {
    let (ast, diags) = crate::syntax::parse_source(FileId(0), text, limits);
    let errors: Vec<Diagnostic> = diags.into_iter().filter(|d| d.is_error()).collect();
    if !errors.is_empty() {
        return Err(FmtError::Syntax(errors));
    }
    if let Some(c) = text.chars().find(|c| MARKS.contains(c)) {
        return Err(FmtError::Internal(format!(
            "the file holds the Unicode noncharacter U+{:04X}, which the formatter uses itself",
            u32::from(c)
        )));
    }
    let tree = parse_tree(text).map_err(|e| FmtError::Internal(e.to_string()))?;
    let mut f = Fmt::new(text);
    let mut out = String::new();
    for top in tree {
        out = f.file(top);
    }
    // The result must mean what the input meant.
    let (ast2, diags2) = crate::syntax::parse_source(FileId(0), &out, limits);
    if diags2.iter().any(Diagnostic::is_error) {
        return Err(FmtError::Internal(
            "the formatted text does not parse".into(),
        ));
    }
    if strip_spans(&format!("{ast:?}")) != strip_spans(&format!("{ast2:?}")) {
        return Err(FmtError::Internal(
            "the formatted text parses to a different syntax tree".into(),
        ));
    }
    if comment_list(text) != comment_list(&out) {
        return Err(FmtError::Internal(
            "the formatted text lost or changed a comment".into(),
        ));
    }
    Ok(out)
}

/// Removes every `Span { … }` from a debug rendering, so two trees can be compared by shape.
fn strip_spans(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("Span { file: ") {
        out.push_str(rest.get(..i).unwrap_or(""));
        let after = rest.get(i..).unwrap_or("");
        match after.find('}') {
            Some(j) => rest = after.get(j + 1..).unwrap_or(""),
            None => rest = "",
        }
        out.push_str("Span");
    }
    out.push_str(rest);
    out
}

/// A comment in the text.
#[derive(Clone, Debug)]
struct Comment {
    start: usize,
    end: usize,
    block: bool,
}

/// Every comment of a text, found by a scan that skips strings.
fn scan_comments(src: &str) -> Vec<Comment> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b.get(i) {
            Some(b'"') => {
                i += 1;
                while let Some(&c) = b.get(i) {
                    match c {
                        b'\\' => i += 2,
                        b'"' | b'\n' => {
                            i += 1;
                            break;
                        }
                        _ => i += 1,
                    }
                }
            }
            Some(b'/') if b.get(i + 1) == Some(&b'/') => {
                let start = i;
                while i < b.len() && b.get(i) != Some(&b'\n') {
                    i += 1;
                }
                let mut end = i;
                while end > start && matches!(b.get(end - 1), Some(b' ' | b'\t' | b'\r')) {
                    end -= 1;
                }
                out.push(Comment {
                    start,
                    end,
                    block: false,
                });
            }
            Some(b'/') if b.get(i + 1) == Some(&b'*') => {
                let start = i;
                let end = src
                    .get(i + 2..)
                    .and_then(|r| r.find("*/"))
                    .map(|o| i + 2 + o + 2)
                    .unwrap_or(b.len());
                out.push(Comment {
                    start,
                    end,
                    block: true,
                });
                i = end;
            }
            _ => i += 1,
        }
    }
    out
}

/// The comments of a text in order, each with its whitespace removed, for comparing two
/// texts (one comment may not run into another).
fn comment_list(src: &str) -> Vec<String> {
    scan_comments(src)
        .iter()
        .filter_map(|c| src.get(c.start..c.end))
        .map(|t| t.chars().filter(|c| !c.is_whitespace()).collect())
        .collect()
}

/// The text with every comment replaced by one space (strings are left alone), so that two
/// declarations can be compared on what they mean (`rulec diff`).
pub fn strip_comments(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut at = 0;
    for c in scan_comments(src) {
        out.push_str(src.get(at..c.start).unwrap_or(""));
        out.push(' ');
        at = c.end;
    }
    out.push_str(src.get(at..).unwrap_or(""));
    out
}

/// Display width, marks left out.
fn width(s: &str) -> usize {
    if s.contains(MARKS) {
        let plain: String = s.chars().filter(|c| !MARKS.contains(c)).collect();
        return UnicodeWidthStr::width(plain.as_str());
    }
    UnicodeWidthStr::width(s)
}

/// Text as a document. A [`BREAK`] or [`NL`] in it becomes a line break (after a line
/// comment); the lines after a [`BREAK`] are indented by two more, as a continuation (a
/// break takes the indentation of what follows it, so the two are spaces of their own).
fn text(s: impl Into<String>) -> D {
    let s: String = s.into();
    if !s.contains([BREAK, NL]) {
        return D::text(s);
    }
    let mut parts: Vec<D> = Vec::new();
    let mut cur = String::new();
    let mut continued = false;
    for c in s.chars() {
        if c == BREAK || c == NL {
            parts.push(D::text(std::mem::take(&mut cur)));
            parts.push(D::hardline());
            continued |= c == BREAK;
            if continued {
                cur.push_str("  ");
            }
        } else {
            cur.push(c);
        }
    }
    parts.push(D::text(cur));
    D::concat(parts)
}

/// One row of an aligned block.
#[derive(Default)]
struct Row {
    /// Comment lines above the row.
    leading: Vec<String>,
    /// The row's text.
    body: String,
    /// Comment on the same line, after the row.
    trailing: Option<String>,
    /// Not a row: the comments that trail the block's opening bracket.
    opens: bool,
}

/// A cell to align: text and whether it aligns to the right (numbers).
#[derive(Clone)]
struct Cell {
    text: String,
    right: bool,
}

fn pad(cell: &Cell, w: usize) -> String {
    let fill = w.saturating_sub(width(&cell.text));
    if cell.right {
        format!("{}{}", " ".repeat(fill), cell.text)
    } else {
        format!("{}{}", cell.text, " ".repeat(fill))
    }
}

/// Widths of each cell column over rows of cells.
fn col_widths(rows: &[Vec<Cell>]) -> Vec<usize> {
    let mut w: Vec<usize> = Vec::new();
    for r in rows {
        for (k, c) in r.iter().enumerate() {
            if w.len() <= k {
                w.push(0);
            }
            if let Some(x) = w.get_mut(k) {
                *x = (*x).max(width(&c.text));
            }
        }
    }
    w
}

struct Fmt<'s> {
    src: &'s str,
    comments: Vec<Comment>,
    next: usize,
    /// End of the last token printed, in the source.
    last_end: usize,
}

impl<'s> Fmt<'s> {
    fn new(src: &'s str) -> Fmt<'s> {
        Fmt {
            src,
            comments: scan_comments(src),
            next: 0,
            last_end: 0,
        }
    }

    fn slice(&self, a: usize, b: usize) -> &'s str {
        self.src.get(a..b).unwrap_or("")
    }

    fn ctext(&self, c: &Comment) -> String {
        self.slice(c.start, c.end).to_string()
    }

    /// The end of a pair without the whitespace and comments pest may have skipped after
    /// its last token (a rule ending in an optional part keeps them in its span).
    fn real_end(&self, p: &P) -> usize {
        let start = p.as_span().start();
        let mut end = p.as_span().end();
        loop {
            let before = self.slice(start, end);
            let trimmed = before.trim_end_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
            if trimmed.len() < before.len() {
                end = start + trimmed.len();
                continue;
            }
            // The comments are sorted: only the last one starting before `end` can end there.
            let i = self.comments.partition_point(|c| c.start < end);
            match i.checked_sub(1).and_then(|i| self.comments.get(i)) {
                Some(c) if c.end == end && c.start >= start => end = c.start,
                _ => return end,
            }
        }
    }

    /// Comments that start before `pos` and are not printed yet.
    fn take_before(&mut self, pos: usize) -> Vec<Comment> {
        let mut out = Vec::new();
        while let Some(c) = self.comments.get(self.next) {
            if c.start >= pos {
                break;
            }
            out.push(c.clone());
            self.next += 1;
        }
        out
    }

    /// True when a comment lies in `[a, b)`.
    fn has_comment_in(&self, a: usize, b: usize) -> bool {
        self.comments
            .iter()
            .skip(self.next)
            .take_while(|c| c.start < b)
            .any(|c| c.start >= a)
    }

    fn newline_between(&self, a: usize, b: usize) -> bool {
        a < b && self.slice(a, b).contains('\n')
    }

    /// True when only whitespace precedes the comment on its line.
    fn own_line(&self, c: &Comment) -> bool {
        let before = self.slice(0, c.start);
        let line = before.rsplit('\n').next().unwrap_or("");
        line.chars()
            .all(|ch| ch.is_whitespace() || ch == '\u{feff}')
    }

    /// One comment as marked text: a trailing one follows what is printed before it on
    /// the line ([`GLUE`]), one on its own line keeps a line of its own ([`OWN`]); a line
    /// comment, or one on its own line, ends its line.
    fn mark(&mut self, c: &Comment, out: &mut String) {
        let t = self.ctext(c);
        if self.own_line(c) {
            out.push(OWN);
            out.push_str(&t);
            out.push(END);
            out.push(NL);
        } else {
            out.push(SPACE);
            out.push(GLUE);
            out.push_str(&t);
            out.push(END);
            out.push(if c.block { SPACE } else { BREAK });
        }
        self.last_end = c.end;
    }

    /// The comments before `pos` not printed yet, as marked text.
    fn lead_str(&mut self, pos: usize) -> String {
        let mut s = String::new();
        for c in self.take_before(pos) {
            self.mark(&c, &mut s);
        }
        s
    }

    /// The comments before `pos` as a document (see [`Fmt::mark`]).
    fn lead(&mut self, pos: usize) -> D {
        let s = self.lead_str(pos);
        text(s)
    }

    /// The comments right after the last token printed, before the next token (only
    /// whitespace, comments and the characters of `skip` between): printed here, before a
    /// line break or a keyword the layout puts next, so that they stay where they were.
    /// Returns their marked text and whether a line break must follow.
    fn trail(&mut self, skip: &str) -> (String, bool) {
        let mut s = String::new();
        while let Some(c) = self.comments.get(self.next).cloned() {
            if !self.only_blank_between(self.last_end.min(c.start), c.start, skip) {
                break;
            }
            self.next += 1;
            self.mark(&c, &mut s);
        }
        let forced = s.ends_with([BREAK, NL]);
        if forced || s.ends_with(SPACE) {
            s.pop();
        }
        (s, forced)
    }

    /// The comments right after the last token, before a keyword or bracket the layout
    /// prints next: after a line comment, the keyword goes on the next line, indented as a
    /// continuation (the caller starts it with [`SPACE`]).
    fn before_kw(&mut self) -> D {
        let (t, forced) = self.trail("");
        let d = text(t);
        if forced {
            d.append(D::hardline()).append(text("  "))
        } else {
            d
        }
    }

    /// A keyword or punctuation `s` the layout prints after the last token, after the
    /// comments that follow that token; after a line comment, `s` (without its leading
    /// space) starts the next line, indented as a continuation.
    fn kw(&mut self, s: &str) -> D {
        let (t, forced) = self.trail("");
        if forced {
            text(t)
                .append(D::hardline())
                .append(text(format!("  {}", s.trim_start())))
        } else {
            text(t).append(text(s.to_string()))
        }
    }

    /// [`Fmt::kw`] as marked text, for text built as a string.
    fn kw_str(&mut self, s: &str) -> String {
        let (mut t, forced) = self.trail("");
        if forced {
            t.push(BREAK);
            t.push_str(s.trim_start());
        } else {
            t.push_str(s);
        }
        t
    }

    /// [`Fmt::before_kw`] as marked text, for text built as a string (`skip` as in
    /// [`Fmt::trail`]).
    fn before_kw_str(&mut self, skip: &str) -> String {
        let (mut t, forced) = self.trail(skip);
        if forced {
            t.push(BREAK);
        }
        t
    }

    /// True when only whitespace, comments and characters of `skip` lie in `[a, b)`;
    /// stops at the first other character (the gap may be long, what is looked at is not).
    fn only_blank_between(&self, a: usize, b: usize, skip: &str) -> bool {
        let mut at = a;
        while at < b {
            let rest = self.slice(at, b);
            let Some(ch) = rest.chars().next() else {
                return true;
            };
            if ch.is_whitespace() || ch == '\u{feff}' || skip.contains(ch) {
                at += ch.len_utf8();
                continue;
            }
            let i = self.comments.partition_point(|c| c.start < at);
            match self.comments.get(i) {
                Some(c) if c.start == at => at = c.end,
                _ => return false,
            }
        }
        true
    }

    /// [`Fmt::trail`] followed by the line break `line` (a hard one after a line comment).
    fn brk(&mut self, skip: &str, line: D) -> D {
        let (s, forced) = self.trail(skip);
        text(s).append(if forced { D::hardline() } else { line })
    }

    /// A token printed as written.
    fn verbatim(&mut self, p: &P) -> D {
        let lead = self.lead(p.as_span().start());
        let end = self.real_end(p);
        let t = self.slice(p.as_span().start(), end).to_string();
        // Comments inside a verbatim token (only in constructs the formatter does not
        // know) are part of its text.
        while let Some(c) = self.comments.get(self.next) {
            if c.start >= end {
                break;
            }
            self.next += 1;
        }
        self.last_end = end;
        lead.append(text(t))
    }

    /// The same text as a string, after the comments that precede it (marked text).
    fn word(&mut self, p: &P) -> String {
        let mut s = self.lead_str(p.as_span().start());
        let end = self.real_end(p);
        self.last_end = end;
        s.push_str(self.slice(p.as_span().start(), end));
        s
    }

    // ------------------------------------------------------------------ the file

    fn file(&mut self, top: P) -> String {
        let mut out = String::new();
        let mut first = true;
        for item in top.into_inner() {
            let start = item.as_span().start();
            let is_eoi = item.as_rule() == Rule::EOI;
            let pos = if is_eoi { self.src.len() } else { start };
            // Comments between declarations.
            for c in self.take_before(pos) {
                let trailing = !first && !self.newline_between(self.last_end, c.start);
                if trailing {
                    out.push(' ');
                    out.push_str(&self.ctext(&c));
                } else {
                    if !first {
                        out.push('\n');
                        if self.blank_between(self.last_end, c.start) {
                            out.push('\n');
                        }
                    }
                    out.push_str(&self.ctext(&c));
                }
                self.last_end = c.end;
                first = false;
            }
            if is_eoi {
                break;
            }
            if !first {
                out.push('\n');
                if self.blank_between(self.last_end, start) {
                    out.push('\n');
                }
            }
            first = false;
            let end = self.real_end(&item);
            let doc = self.decl(item);
            let mut s = String::new();
            if doc.render_fmt(WIDTH, &mut s).is_err() {
                s.clear();
            }
            out.push_str(&resolve(&s));
            self.last_end = self.last_end.max(end);
        }
        let mut lines: Vec<&str> = out.lines().map(str::trim_end).collect();
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        let mut s = lines.join("\n");
        s.push('\n');
        s
    }

    fn blank_between(&self, a: usize, b: usize) -> bool {
        a < b && self.slice(a, b).matches('\n').count() >= 2
    }

    // ------------------------------------------------------------------ declarations

    fn decl(&mut self, p: P) -> D {
        let rule = p.as_rule();
        let start = p.as_span().start();
        let mut kids: Vec<P> = p.clone().into_inner().collect();
        let mut head = self.lead(start);
        let mut overrides = false;
        self.last_end = start;
        if kids
            .first()
            .is_some_and(|k| k.as_rule() == Rule::override_kw)
        {
            let o = kids.remove(0);
            self.last_end = self.real_end(&o);
            head = head.append(text("override"));
            overrides = true;
        }
        let kw = match rule {
            Rule::ruleset_decl => "ruleset",
            Rule::source_decl => "source",
            Rule::enum_decl => "enum",
            Rule::record_decl => "record",
            Rule::input_decl => "input",
            Rule::as_of_decl => "as_of",
            Rule::covers_decl => "covers",
            Rule::param_decl => "param",
            Rule::fn_decl | Rule::def_decl => "def",
            Rule::output_decl => "output",
            Rule::fund_decl => "fund",
            Rule::accum_decl => "accumulator",
            Rule::exception_decl => "exception",
            Rule::table_decl => "table",
            Rule::catalog_decl => "catalog",
            Rule::series_decl => "series",
            Rule::bands_decl => "bands",
            _ => return head.append(self.verbatim(&p)),
        };
        let head = if overrides {
            head.append(self.kw(&format!(" {kw}")))
        } else {
            head.append(text(kw))
        };
        match rule {
            Rule::ruleset_decl => {
                let mut d = head;
                for (i, k) in kids.iter().enumerate() {
                    if i == 1 {
                        d = d.append(self.kw(" extends"));
                    }
                    d = d.append(text(" ")).append(self.verbatim(k));
                }
                d
            }
            Rule::source_decl | Rule::input_decl => {
                let mut d = head;
                for (i, k) in kids.iter().enumerate() {
                    d = if k.as_rule() == Rule::type_expr && i == 1 {
                        d.append(self.before_kw())
                            .append(text(": "))
                            .append(self.type_expr(k))
                    } else {
                        d.append(text(" ")).append(self.verbatim(k))
                    };
                }
                d
            }
            // `covers EXPR` with the citation on its own line when it does not fit.
            Rule::as_of_decl | Rule::covers_decl => {
                let mut d = head;
                for k in &kids {
                    d = if k.as_rule() == Rule::citation {
                        let line = self.brk("", D::line());
                        let c = self.citation(k);
                        d.append(line.append(c).nest(2).group())
                    } else {
                        let e = self.expr(k);
                        d.append(text(" ")).append(e.nest(2))
                    };
                }
                d
            }
            Rule::enum_decl => self.enum_decl(head, &p, &kids),
            Rule::record_decl => self.record_decl(head, &p, &kids),
            Rule::param_decl => self.param_decl(head, &kids),
            Rule::fn_decl => self.fn_decl(head, &kids),
            Rule::def_decl | Rule::output_decl | Rule::fund_decl => self.def_decl(head, &kids),
            Rule::accum_decl => self.accum_decl(head, &kids),
            Rule::exception_decl => self.exception_decl(head, &kids),
            Rule::table_decl => self.table_decl(head, &kids),
            Rule::catalog_decl => self.catalog_decl(head, &p, &kids),
            Rule::series_decl => self.series_decl(head, &p, &kids),
            Rule::bands_decl => self.bands_decl(head, &kids),
            _ => head.append(self.verbatim(&p)),
        }
    }

    /// ` NAME`
    fn name(&mut self, d: D, k: Option<&P>) -> D {
        match k {
            Some(k) => {
                let name = self.verbatim(k);
                d.append(text(" ")).append(name).append(self.before_kw())
            }
            None => d,
        }
    }

    fn type_expr(&mut self, p: &P) -> D {
        let lead = self.lead(p.as_span().start());
        lead.append(text(self.type_str(p)))
    }

    fn type_str(&mut self, p: &P) -> String {
        let mut s = String::new();
        for k in p.clone().into_inner() {
            match k.as_rule() {
                Rule::list_type => {
                    // `list` is a word of the grammar, not a token of the tree: the
                    // comments after it follow it.
                    let list_end = k.as_span().start() + "list".len();
                    s.push_str(&self.lead_str(k.as_span().start()));
                    self.last_end = list_end;
                    s.push_str("list");
                    s.push_str(&self.before_kw_str(""));
                    s.push('<');
                    for t in k.into_inner() {
                        s.push_str(&self.type_str(&t));
                    }
                    s.push_str(&self.before_kw_str(""));
                    s.push('>');
                }
                Rule::opt_mark => s.push_str(&self.word(&k)),
                Rule::type_expr => s.push_str(&self.type_str(&k)),
                Rule::type_digits => {
                    s.push_str(&self.before_kw_str(""));
                    s.push('(');
                    for n in k.into_inner() {
                        s.push_str(&self.word(&n));
                    }
                    s.push_str(&self.before_kw_str(""));
                    s.push(')');
                }
                _ => s.push_str(&self.word(&k)),
            }
        }
        self.last_end = self.real_end(p);
        s
    }

    fn citation(&mut self, p: &P) -> D {
        let lead = self.lead(p.as_span().start());
        let mut d = lead.append(text("cite"));
        for k in p.clone().into_inner() {
            d = d.append(text(" ")).append(self.verbatim(&k));
        }
        d
    }

    fn head_str(&mut self, p: &P) -> String {
        let mut s = String::from("from");
        for (i, k) in p.clone().into_inner().enumerate() {
            if i == 1 {
                s.push_str(&self.kw_str(" until"));
            }
            s.push(' ');
            s.push_str(&self.word(&k));
        }
        s
    }

    fn version_head(&mut self, p: &P) -> D {
        let lead = self.lead(p.as_span().start());
        lead.append(text(self.head_str(p)))
    }

    /// ` = EXPR cite …` (or a version's `from … = EXPR cite …`), with the expression moving
    /// below the `=` when it does not fit.
    fn body(&mut self, e: P, cite: Option<&P>) -> D {
        let ex = self.expr(&e);
        let mut inner = D::line().append(ex);
        if let Some(c) = cite {
            let line = self.brk("", D::line());
            inner = inner.append(line).append(self.citation(c));
        }
        D::nil().append(inner.nest(2).group())
    }

    fn enum_decl(&mut self, head: D, p: &P, kids: &[P]) -> D {
        let mut it = kids.iter();
        let d = self.name(head, it.next());
        let variants: Vec<&P> = it.collect();
        let end = p.as_span().end();
        // From the name on: a comment after `{` breaks the enum too.
        let start = self.last_end;
        let inline = !self.has_comment_in(start, end);
        let flat = variants
            .iter()
            .map(|v| v.as_str().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let prefix = render(&d);
        if inline && width(&prefix) + width(&flat) + 4 <= WIDTH {
            for v in &variants {
                self.word(v);
            }
            self.last_end = end;
            return d.append(text(format!(" {{ {flat} }}")));
        }
        let rows = self.rows(&variants, end, |f, v| format!("{},", f.word(v)));
        d.append(text(" {")).append(block(rows, 2, "}"))
    }

    fn record_decl(&mut self, head: D, p: &P, kids: &[P]) -> D {
        let mut it = kids.iter();
        let d = self.name(head, it.next());
        let fields: Vec<&P> = it.collect();
        let end = p.as_span().end();
        let start = fields.first().map(|v| v.as_span().start()).unwrap_or(end);
        if fields.is_empty() {
            return d.append(text(" ")).append(self.empty_block("{", end, "}"));
        }
        // A record is a schema: one field a line, always.
        let _ = start;
        let rows = self.rows(&fields, end, |f, v| f.field_str(v));
        d.append(text(" {")).append(block(rows, 2, "}"))
    }

    /// `name: T = default` or `name: T key` (or a catalog's `..`).
    fn field_str(&mut self, p: &P) -> String {
        if p.as_rule() == Rule::rest_mark {
            return self.word(p);
        }
        let mut s = String::new();
        for (i, k) in p.clone().into_inner().enumerate() {
            match k.as_rule() {
                Rule::type_expr => {
                    s.push_str(&self.before_kw_str(""));
                    s.push_str(": ");
                    s.push_str(&self.type_str(&k));
                }
                Rule::literal => {
                    s.push_str(&self.kw_str(" = "));
                    s.push_str(&self.lit_str(&k));
                }
                Rule::key_mark => {
                    s.push_str(&self.kw_str(" key"));
                    self.last_end = self.real_end(&k);
                }
                _ if i == 0 => s.push_str(&self.word(&k)),
                _ => {
                    s.push(' ');
                    s.push_str(&self.word(&k));
                }
            }
        }
        self.last_end = self.real_end(p);
        s
    }

    /// A constant as one line of text.
    fn lit_str(&mut self, p: &P) -> String {
        match p.as_rule() {
            Rule::literal => match p.clone().into_inner().next() {
                Some(k) => self.lit_str(&k),
                None => self.word(p),
            },
            Rule::const_list => {
                let items: Vec<String> = p.clone().into_inner().map(|k| self.lit_str(&k)).collect();
                let end = self.real_end(p);
                let mut inside = self.lead_str(end.saturating_sub(1));
                if inside.ends_with(SPACE) {
                    inside.pop();
                }
                self.last_end = end;
                format!("[{}{inside}]", items.join(", "))
            }
            _ => self.word(p),
        }
    }

    /// `{}` holding only comments.
    fn empty_block(&mut self, open: &str, end: usize, close: &str) -> D {
        let inside = self.lead_str(end);
        self.last_end = end;
        let (t, forced) = (
            inside.trim_end_matches([BREAK, NL]),
            inside.ends_with([BREAK, NL]),
        );
        text(format!("{open}{t}"))
            .append(if forced { D::hardline() } else { D::nil() })
            .append(text(close.to_string()))
    }

    fn is_numeric(p: &P) -> bool {
        let inner = if p.as_rule() == Rule::literal {
            p.clone().into_inner().next()
        } else {
            Some(p.clone())
        };
        inner.is_some_and(|k| {
            matches!(
                k.as_rule(),
                Rule::number | Rule::percent | Rule::neg_number | Rule::date
            )
        })
    }

    /// The cells of a row; a comment right after a cell (before the `,`, `..` or `=>`
    /// that follows it) stays with that cell.
    fn cells_in(&mut self, row: &P) -> Vec<Cell> {
        let mut cs: Vec<Cell> = Vec::new();
        for k in row.clone().into_inner() {
            if let Some(last) = cs.last_mut() {
                last.text.push_str(&self.before_kw_str(""));
            }
            cs.push(self.cell(&k));
        }
        cs
    }

    fn cell(&mut self, p: &P) -> Cell {
        Cell {
            right: Self::is_numeric(p),
            text: self.lit_str(p),
        }
    }

    /// Rows of a block with their comments: one on its own line leads the next row, one on
    /// the row's line trails it, and one inside a row moves above it.
    fn rows(
        &mut self,
        items: &[&P],
        block_end: usize,
        mut body: impl FnMut(&mut Self, &P) -> String,
    ) -> Vec<Row> {
        let mut rows: Vec<Row> = Vec::new();
        for it in items {
            let start = it.as_span().start();
            let end = self.real_end(it);
            let mut row = Row::default();
            for c in self.take_before(start) {
                self.attach(&mut rows, &mut row, &c);
            }
            // Comments before a cell are in the row's text; those after its last cell
            // trail it.
            row.body = body(self, it);
            // Comments after the row's last cell (before a `,` or `]` the layout prints
            // first) trail the row, as they will when formatted again.
            let mut carry = Vec::new();
            for c in self.take_before(end) {
                let t = self.ctext(&c);
                match row.trailing.take() {
                    Some(p) if ends_in_line_comment(&p) => {
                        row.trailing = Some(p);
                        carry.push(t);
                    }
                    Some(p) => row.trailing = Some(format!("{p} {t}")),
                    None if carry.is_empty() => row.trailing = Some(t),
                    None => carry.push(t),
                }
            }
            self.last_end = end;
            rows.push(row);
            if !carry.is_empty() {
                rows.push(Row {
                    leading: carry,
                    ..Row::default()
                });
            }
        }
        // Comments before the closing bracket.
        let close = self
            .src
            .get(..block_end)
            .and_then(|s| s.rfind('}'))
            .unwrap_or(block_end);
        let mut tail = Row::default();
        for c in self.take_before(close) {
            self.attach(&mut rows, &mut tail, &c);
        }
        if !tail.leading.is_empty() {
            rows.push(tail);
        }
        rows
    }

    /// Each row's cells computed ahead (to align them), with the comments inside the row
    /// in its cells, and how many comments each row's cells hold; the comment cursor is
    /// left where it was, for [`Fmt::rows`] to walk the rows again (skipping those).
    fn cells_of<T>(
        &mut self,
        items: &[&P],
        mut f: impl FnMut(&mut Self, &P) -> T,
    ) -> (Vec<T>, Vec<usize>) {
        let save = (self.next, self.last_end);
        let (mut out, mut held) = (Vec::new(), Vec::new());
        for it in items {
            self.take_before(it.as_span().start());
            let before = self.next;
            out.push(f(self, it));
            held.push(self.next - before);
            self.last_end = self.real_end(it);
        }
        (self.next, self.last_end) = save;
        (out, held)
    }

    fn attach(&mut self, rows: &mut Vec<Row>, row: &mut Row, c: &Comment) {
        let trailing = !self.own_line(c);
        let t = self.ctext(c);
        match rows.last_mut() {
            Some(prev)
                if trailing
                    && row.leading.is_empty()
                    && !ends_in_line_comment(prev.trailing.as_deref().unwrap_or(&prev.body)) =>
            {
                prev.trailing = Some(match prev.trailing.take() {
                    Some(p) => format!("{p} {t}"),
                    None => t,
                });
            }
            None if trailing && row.leading.is_empty() => rows.push(Row {
                trailing: Some(t),
                opens: true,
                ..Row::default()
            }),
            _ => row.leading.push(t),
        }
        self.last_end = c.end;
    }

    fn param_decl(&mut self, head: D, kids: &[P]) -> D {
        let mut it = kids.iter();
        let mut d = self.name(head, it.next());
        if let Some(t) = it.next() {
            d = d.append(text(": ")).append(self.type_expr(t));
        }
        let mut versions = D::nil();
        for v in it {
            let parts: Vec<P> = v.clone().into_inner().collect();
            match v.as_rule() {
                Rule::param_single => {
                    d = d.append(self.lit_version(None, &parts));
                }
                _ => {
                    versions = versions.append(self.brk("", D::hardline()));
                    let head = parts.first().map(|h| self.version_head(h));
                    let rest = parts.get(1..).unwrap_or(&[]);
                    versions = versions.append(self.lit_version(head, rest));
                }
            }
        }
        d.append(versions.nest(2))
    }

    /// ` = LITERAL cite …`, the citation moving to the next line when it does not fit.
    fn lit_version(&mut self, head: Option<D>, parts: &[P]) -> D {
        let mut d = head.unwrap_or_else(D::nil);
        let mut cite = D::nil();
        for k in parts {
            match k.as_rule() {
                Rule::citation => {
                    let line = self.brk("", D::line());
                    cite = line.append(self.citation(k));
                }
                _ => {
                    let before = self.kw(" = ");
                    let lead = self.lead(k.as_span().start());
                    d = d.append(before).append(lead).append(text(self.lit_str(k)));
                }
            }
        }
        d.append(cite.nest(2).group())
    }

    fn fn_decl(&mut self, head: D, kids: &[P]) -> D {
        let mut it = kids.iter();
        let mut d = self.name(head, it.next());
        if let Some(ps) = it.next() {
            let mut params = Vec::new();
            for fp in ps.clone().into_inner() {
                let mut pi = fp.clone().into_inner();
                let lead = self.lead(fp.as_span().start());
                let n = pi.next().map(|n| self.word(&n)).unwrap_or_default();
                let colon = self.before_kw_str("");
                let t = pi.next().map(|t| self.type_str(&t)).unwrap_or_default();
                params.push(lead.append(text(format!("{n}{colon}: {t}"))));
            }
            let (t, forced) = self.trail("");
            d = d
                .append(text("("))
                .append(D::intersperse(params, text(", ")))
                .append(text(t))
                .append(if forced { D::hardline() } else { D::nil() })
                .append(text(")"));
            self.last_end = self.real_end(ps);
        }
        if let Some(t) = it.next() {
            d = d
                .append(self.before_kw())
                .append(text(": "))
                .append(self.type_expr(t));
        }
        let rest: Vec<&P> = it.collect();
        d.append(self.kw(" =")).append(match rest.as_slice() {
            [e] => self.body((*e).clone(), None),
            [e, c] => self.body((*e).clone(), Some(c)),
            _ => D::nil(),
        })
    }

    fn def_decl(&mut self, head: D, kids: &[P]) -> D {
        let mut it = kids.iter().peekable();
        let mut d = self.name(head, it.next());
        if it.peek().is_some_and(|k| k.as_rule() == Rule::type_expr) {
            if let Some(t) = it.next() {
                d = d.append(text(": ")).append(self.type_expr(t));
            }
        }
        let Some(body) = it.next() else {
            return d;
        };
        let mut versions = D::nil();
        for v in body.clone().into_inner() {
            let parts: Vec<P> = v.clone().into_inner().collect();
            match v.as_rule() {
                Rule::def_single => {
                    d = d.append(self.kw(" =")).append(self.expr_version(&parts));
                }
                _ => {
                    versions = versions.append(self.brk("", D::hardline()));
                    let head = parts
                        .first()
                        .map(|h| self.version_head(h))
                        .unwrap_or_else(D::nil);
                    let rest = parts.get(1..).unwrap_or(&[]);
                    versions = versions
                        .append(head)
                        .append(self.kw(" ="))
                        .append(self.expr_version(rest));
                }
            }
        }
        d.append(versions.nest(2))
    }

    fn expr_version(&mut self, parts: &[P]) -> D {
        match parts {
            [e] => self.body(e.clone(), None),
            [e, c] => self.body(e.clone(), Some(c)),
            _ => D::nil(),
        }
    }

    fn accum_decl(&mut self, head: D, kids: &[P]) -> D {
        let mut it = kids.iter();
        let mut d = self.name(head, it.next());
        if let Some(t) = it.next() {
            d = d.append(text(": ")).append(self.type_expr(t));
        }
        let mut rest: Vec<P> = it.cloned().collect();
        // A clause between the type and `+=` (an accumulation period, `per year`): its
        // words as written, one space apart, no space around `.`.
        while rest
            .first()
            .is_some_and(|k| !matches!(k.as_rule(), Rule::expr | Rule::citation))
        {
            let k = rest.remove(0);
            let mut clause = String::new();
            let words: Vec<P> = k.clone().into_inner().collect();
            for (i, wp) in words.iter().enumerate() {
                let w = self.word(wp);
                if !clause.is_empty() && !clause.ends_with('.') {
                    clause.push(' ');
                }
                clause.push_str(&w);
                let next = words
                    .get(i + 1)
                    .map_or(self.last_end, |n| n.as_span().start());
                if strip_comments(self.slice(self.last_end, next)).contains('.') {
                    clause.push('.');
                }
            }
            if clause.is_empty() {
                clause = self.word(&k);
            }
            self.last_end = self.real_end(&k);
            d = d.append(text(format!(" {clause}")));
        }
        d.append(self.kw(" +=")).append(self.expr_version(&rest))
    }

    fn exception_decl(&mut self, head: D, kids: &[P]) -> D {
        let mut it = kids.iter().peekable();
        let mut d = self.name(head, it.next());
        if let Some(t) = it.next() {
            d = d.append(text(" to ")).append(self.verbatim(t));
        }
        if it.peek().is_some_and(|k| k.as_rule() == Rule::version_head) {
            if let Some(h) = it.next() {
                d = d.append(text(" ")).append(self.version_head(h));
            }
        }
        let mut tail = D::nil();
        if let Some(c) = it.next() {
            tail = tail
                .append(self.brk("", D::line()))
                .append(text("when "))
                .append(self.expr(c));
        }
        if let Some(v) = it.next() {
            tail = tail.append(text(" = ")).append(self.expr(v));
        }
        if let Some(c) = it.next() {
            let line = self.brk("", D::line());
            tail = tail.append(line).append(self.citation(c));
        }
        d.append(tail.nest(2).group())
    }

    fn table_decl(&mut self, head: D, kids: &[P]) -> D {
        let mut it = kids.iter().peekable();
        let mut d = self.name(head, it.next());
        let mut keys = Vec::new();
        while it.peek().is_some_and(|k| k.as_rule() == Rule::key_decl) {
            if let Some(k) = it.next() {
                let lead = self.lead(k.as_span().start());
                let s = self.field_str(k);
                keys.push(lead.append(text(s)));
            }
        }
        let nkeys = keys.len();
        let (t, forced) = self.trail("");
        d = d
            .append(text("("))
            .append(D::intersperse(keys, text(", ")))
            .append(text(t))
            .append(if forced { D::hardline() } else { D::nil() })
            .append(text(")"));
        if let Some(t) = it.next() {
            d = d.append(text(": ")).append(self.type_expr(t));
        }
        let rest: Vec<P> = it.cloned().collect();
        if rest
            .first()
            .is_some_and(|r| r.as_rule() == Rule::table_rows)
        {
            // Undated: `{ rows } cite …`
            let prefix = render(&d);
            let d = d.append(self.kw(" "));
            let rows = rest
                .first()
                .map(|r| self.table_rows(r, nkeys, width(&prefix) + 1, 0));
            let mut d = d.append(rows.unwrap_or_else(D::nil));
            if let Some(c) = rest.get(1) {
                d = d.append(text(" ")).append(self.citation(c));
            }
            return d;
        }
        let mut versions = D::nil();
        for v in &rest {
            let mut line = self.brk("", D::hardline());
            let mut used = 2;
            for k in v.clone().into_inner() {
                match k.as_rule() {
                    Rule::version_head => {
                        let h = self.head_str(&k);
                        used += width(&h);
                        line = line.append(self.lead(k.as_span().start())).append(text(h));
                    }
                    Rule::citation => {
                        let c = self.citation(&k);
                        used += width(&render(&c)) + 1;
                        line = line.append(text(" ")).append(c);
                    }
                    _ => {
                        line = line.append(self.kw(" "));
                        let rows = self.table_rows(&k, nkeys, used + 1, 2);
                        line = line.append(rows);
                    }
                }
            }
            versions = versions.append(line);
        }
        d.append(versions.nest(2))
    }

    /// `{ rows }`: on one line when a one-key table fits, else aligned rows (a grid by first
    /// key for tables with several keys).
    fn table_rows(&mut self, p: &P, nkeys: usize, col: usize, indent: usize) -> D {
        let items: Vec<P> = p.clone().into_inner().collect();
        let lead = self.lead(p.as_span().start());
        lead.append(self.table_block(p, &items, nkeys, col, indent))
    }

    fn table_block(&mut self, p: &P, items: &[P], nkeys: usize, col: usize, indent: usize) -> D {
        let refs: Vec<&P> = items.iter().collect();
        let end = p.as_span().end();
        let start = p.as_span().start();
        if items.is_empty() {
            return self.empty_block("{", end, "}");
        }
        let (cells, held): (Vec<Vec<Cell>>, _) = self.cells_of(&refs, |f, r| f.cells_in(r));
        let flat_row = |r: &[Cell]| {
            let n = r.len().saturating_sub(1);
            let keys: Vec<&str> = r.iter().take(n).map(|c| c.text.as_str()).collect();
            format!(
                "{} => {}",
                keys.join(", "),
                r.last().map(|c| c.text.as_str()).unwrap_or("")
            )
        };
        if nkeys <= 1 && !self.has_comment_in(start, end) {
            let flat = format!(
                "{{ {} }}",
                cells
                    .iter()
                    .map(|r| flat_row(r))
                    .collect::<Vec<_>>()
                    .join("  ")
            );
            if col + width(&flat) + 14 <= WIDTH {
                self.take_before(end);
                self.last_end = end;
                return text(flat);
            }
        }
        let w = col_widths(&cells);
        let aligned = |r: &[Cell]| -> String {
            let n = r.len().saturating_sub(1);
            let keys: Vec<String> = r
                .iter()
                .take(n)
                .enumerate()
                .map(|(k, c)| pad(c, w.get(k).copied().unwrap_or(0)))
                .collect();
            let v = r
                .last()
                .map(|c| {
                    if c.right {
                        pad(c, w.get(n).copied().unwrap_or(0))
                    } else {
                        c.text.clone()
                    }
                })
                .unwrap_or_default();
            format!("{} => {}", keys.join(", "), v)
        };
        let mut k = 0usize;
        let mut rows = self.rows(&refs, end, |f, _| {
            f.next += held.get(k).copied().unwrap_or(0);
            let s = cells.get(k).map(|r| aligned(r)).unwrap_or_default();
            k += 1;
            s
        });
        // A grid: rows sharing the first key on one line.
        if nkeys >= 2 && rows.len() == items.len() && rows.iter().all(|r| r.leading.is_empty()) {
            let row_w = rows.iter().map(|r| width(&r.body)).max().unwrap_or(0);
            let mut lines: Vec<(Row, usize)> = Vec::new();
            let mut prev_key: Option<&str> = None;
            for (r, c) in rows.iter().zip(&cells) {
                let key = c.first().map(|c| c.text.as_str());
                let join =
                    key == prev_key && lines.last().is_some_and(|(l, _)| l.trailing.is_none());
                match lines.last_mut() {
                    Some((l, m)) if join => {
                        let target = *m * row_w + (*m - 1) * 3;
                        let fill = target.saturating_sub(width(&l.body));
                        l.body = format!("{}{}   {}", l.body, " ".repeat(fill), r.body);
                        l.trailing = r.trailing.clone();
                        *m += 1;
                    }
                    _ => lines.push((
                        Row {
                            leading: Vec::new(),
                            body: r.body.clone(),
                            trailing: r.trailing.clone(),
                            opens: false,
                        },
                        1,
                    )),
                }
                prev_key = key;
            }
            if lines
                .iter()
                .all(|(l, _)| indent + 2 + width(&l.body) <= WIDTH)
            {
                rows = lines.into_iter().map(|(l, _)| l).collect();
            }
        }
        text("{").append(block(rows, 2, "}"))
    }

    fn catalog_decl(&mut self, head: D, p: &P, kids: &[P]) -> D {
        let mut it = kids.iter().peekable();
        let d = self.name(head, it.next());
        let mut cols = Vec::new();
        // Columns, then `..` when extra CSV columns are ignored.
        while it
            .peek()
            .is_some_and(|k| matches!(k.as_rule(), Rule::column_decl | Rule::rest_mark))
        {
            if let Some(k) = it.next() {
                cols.push(k);
            }
        }
        let source = it.next();
        let cite = it.next();
        let cols_end = source
            .map(|s| s.as_span().start())
            .unwrap_or(p.as_span().end());
        let start = self.last_end;
        let prefix = render(&d);
        let mut inline_cols = None;
        // The `}` that closes the columns: a comment after it is no reason to break them.
        let cols_close = self
            .src
            .get(..cols_end)
            .and_then(|s| s.rfind('}'))
            .unwrap_or(cols_end);
        if !self.has_comment_in(start, cols_close) {
            let save = (self.next, self.last_end);
            let flat = cols
                .iter()
                .map(|c| self.field_str(c))
                .collect::<Vec<_>>()
                .join(", ");
            if width(&prefix) + width(&flat) + 4 <= WIDTH {
                inline_cols = Some(format!("{SPACE}{{ {flat} }}"));
            } else {
                (self.next, self.last_end) = save;
            }
        }
        let (d, broken) = match inline_cols {
            Some(s) => (d.append(text(s)), false),
            None => {
                let rows = self.rows(&cols, cols_end, |f, c| f.field_str(c));
                (d.append(text(" {")).append(block(rows, 2, "}")), true)
            }
        };
        let Some(source) = source else {
            return d;
        };
        let (after, forced) = self.trail("}");
        let d = d.append(text(after));
        let mut tail = match source.as_rule() {
            Rule::catalog_file => {
                let mut t = text("from");
                for k in source.clone().into_inner() {
                    t = t.append(text(" ")).append(self.verbatim(&k));
                }
                t
            }
            _ => self.catalog_rows(source),
        };
        if let Some(c) = cite {
            tail = tail.append(text(" ")).append(self.citation(c));
        }
        if forced {
            return d.append(D::hardline().append(tail).nest(2));
        }
        if broken || source.as_rule() == Rule::catalog_rows {
            return d.append(text(" ")).append(tail);
        }
        d.append(D::line().append(tail).nest(2).group())
    }

    fn catalog_rows(&mut self, p: &P) -> D {
        let items: Vec<P> = p.clone().into_inner().collect();
        let refs: Vec<&P> = items.iter().collect();
        let end = p.as_span().end();
        if items.is_empty() {
            return self.empty_block("rows {", end, "}");
        }
        let (both, held) = self.cells_of(&refs, |f, r| {
            let mut cs: Vec<Cell> = Vec::new();
            let mut h = None;
            for k in r.clone().into_inner() {
                if let Some(last) = cs.last_mut() {
                    last.text.push_str(&f.before_kw_str(""));
                }
                if k.as_rule() == Rule::version_head {
                    h = Some(f.head_str(&k));
                } else {
                    cs.push(f.cell(&k));
                }
            }
            (cs, h)
        });
        let (cells, heads): (Vec<Vec<Cell>>, Vec<Option<String>>) = both.into_iter().unzip();
        let w = col_widths(&cells);
        let bracket: Vec<String> = cells
            .iter()
            .map(|r| {
                let n = r.len();
                let parts: Vec<String> = r
                    .iter()
                    .enumerate()
                    .map(|(k, c)| {
                        let cw = w.get(k).copied().unwrap_or(0);
                        if k + 1 == n && !c.right {
                            c.text.clone()
                        } else if k + 1 == n {
                            pad(c, cw)
                        } else if c.right {
                            format!("{},", pad(c, cw))
                        } else {
                            let with_comma = Cell {
                                text: format!("{},", c.text),
                                right: false,
                            };
                            pad(&with_comma, cw + 1)
                        }
                    })
                    .collect();
                format!("[{}]", parts.join(" "))
            })
            .collect();
        let bw = bracket.iter().map(|b| width(b)).max().unwrap_or(0);
        let mut k = 0usize;
        let rows = self.rows(&refs, end, |f, _| {
            f.next += held.get(k).copied().unwrap_or(0);
            let b = bracket.get(k).cloned().unwrap_or_default();
            let s = match heads.get(k) {
                Some(Some(h)) => format!("{}{} {h}", b, " ".repeat(bw.saturating_sub(width(&b)))),
                _ => b,
            };
            k += 1;
            s
        });
        text("rows {").append(block(rows, 2, "}"))
    }

    fn series_decl(&mut self, head: D, p: &P, kids: &[P]) -> D {
        let _ = p;
        let mut it = kids.iter();
        let mut d = self.name(head, it.next());
        if let Some(t) = it.next() {
            d = d.append(text(": ")).append(self.type_expr(t));
        }
        d = d.append(text(" by year"));
        let source = it.next();
        let cite = it.next();
        let cite_doc = |f: &mut Self| cite.map(|c| text(" ").append(f.citation(c)));
        match source {
            Some(s) if s.as_rule() == Rule::catalog_file => {
                let mut t = text(" from");
                for k in s.clone().into_inner() {
                    t = t.append(text(" ")).append(self.verbatim(&k));
                }
                d = d.append(t);
                if let Some(c) = cite_doc(self) {
                    d = d.append(c);
                }
                d
            }
            Some(s) => {
                d = d.append(self.lead(s.as_span().start()));
                let items: Vec<P> = s.clone().into_inner().collect();
                let refs: Vec<&P> = items.iter().collect();
                let end = s.as_span().end();
                let (cells, held): (Vec<Vec<Cell>>, _) = self.cells_of(&refs, |f, r| f.cells_in(r));
                let flat_entries: Vec<String> = cells
                    .iter()
                    .map(|r| {
                        r.iter()
                            .map(|c| c.text.clone())
                            .collect::<Vec<_>>()
                            .join(" = ")
                    })
                    .collect();
                let prefix = render(&d);
                let cite_w = cite.map(|c| width(c.as_str()) + 1).unwrap_or(0);
                let flat = format!("{{ {} }}", flat_entries.join("  "));
                if !items.is_empty()
                    && !self.has_comment_in(s.as_span().start(), end)
                    && width(&prefix) + 1 + width(&flat) + cite_w <= WIDTH
                {
                    self.take_before(end);
                    self.last_end = end;
                    d = d.append(text(" ")).append(text(flat));
                } else {
                    let w = col_widths(&cells);
                    let mut k = 0usize;
                    let rows = self.rows(&refs, end, |f, _| {
                        f.next += held.get(k).copied().unwrap_or(0);
                        let s = cells
                            .get(k)
                            .map(|r| {
                                r.iter()
                                    .enumerate()
                                    .map(|(j, c)| {
                                        if j + 1 == r.len() && !c.right {
                                            c.text.clone()
                                        } else {
                                            pad(c, w.get(j).copied().unwrap_or(0))
                                        }
                                    })
                                    .collect::<Vec<_>>()
                                    .join(" = ")
                            })
                            .unwrap_or_default();
                        k += 1;
                        s
                    });
                    d = d.append(text(" {")).append(block(rows, 2, "}"));
                }
                if let Some(c) = cite_doc(self) {
                    d = d.append(c);
                }
                d
            }
            None => d,
        }
    }

    fn bands_decl(&mut self, head: D, kids: &[P]) -> D {
        let mut it = kids.iter();
        let d = self.name(head, it.next());
        let rest: Vec<&P> = it.collect();
        if rest.first().is_some_and(|r| r.as_rule() == Rule::band_rows) {
            let mut d = d.append(self.kw(" "));
            if let Some(r) = rest.first() {
                d = d.append(self.band_rows(r));
            }
            if let Some(c) = rest.get(1) {
                d = d.append(text(" ")).append(self.citation(c));
            }
            return d;
        }
        let mut versions = D::nil();
        for v in rest {
            let mut line = self.brk("", D::hardline());
            for k in v.clone().into_inner() {
                match k.as_rule() {
                    Rule::version_head => line = line.append(self.version_head(&k)),
                    Rule::citation => line = line.append(text(" ")).append(self.citation(&k)),
                    _ => {
                        line = line.append(self.kw(" "));
                        line = line.append(self.band_rows(&k));
                    }
                }
            }
            versions = versions.append(line);
        }
        d.append(versions.nest(2))
    }

    fn band_rows(&mut self, p: &P) -> D {
        let items: Vec<P> = p.clone().into_inner().collect();
        let refs: Vec<&P> = items.iter().collect();
        let end = p.as_span().end();
        // lower, upper (maybe empty), rate
        let (cells, held): (Vec<Vec<Cell>>, _) = self.cells_of(&refs, |f, r| {
            let mut cs: Vec<Cell> = f.cells_in(r);
            if cs.len() == 2 {
                cs.insert(
                    1,
                    Cell {
                        text: String::new(),
                        right: true,
                    },
                );
            }
            cs
        });
        let w = col_widths(&cells);
        let mut k = 0usize;
        let rows = self.rows(&refs, end, |f, _| {
            f.next += held.get(k).copied().unwrap_or(0);
            let s = cells
                .get(k)
                .map(|r| {
                    let get = |j: usize| {
                        r.get(j)
                            .map(|c| pad(c, w.get(j).copied().unwrap_or(0)))
                            .unwrap_or_default()
                    };
                    let upper = get(1);
                    if upper.trim().is_empty() && w.get(1).copied().unwrap_or(0) == 0 {
                        format!("{} .. => {}", get(0), get(2))
                    } else {
                        format!("{} .. {} => {}", get(0), upper, get(2))
                    }
                })
                .unwrap_or_default();
            k += 1;
            s
        });
        text("{").append(block(rows, 2, "}"))
    }

    // ------------------------------------------------------------------ expressions

    fn expr(&mut self, p: &P) -> D {
        let lead = self.lead(p.as_span().start());
        let d = self.expr_inner(p);
        self.last_end = self.last_end.max(self.real_end(p));
        lead.append(d)
    }

    fn expr_inner(&mut self, p: &P) -> D {
        let kids: Vec<P> = p.clone().into_inner().collect();
        match p.as_rule() {
            Rule::expr | Rule::primary | Rule::arg => match kids.as_slice() {
                [one] => self.expr(one),
                _ => self.verbatim(p),
            },
            Rule::or_expr | Rule::and_expr => self.chain(&kids, true),
            Rule::coal_expr | Rule::add_expr | Rule::mul_expr => self.chain(&kids, false),
            Rule::cmp_expr => match kids.as_slice() {
                [a, op, b] => {
                    let a = self.expr(a);
                    let line = self.brk("", D::line());
                    let op = self.word(op);
                    let b = self.expr(b);
                    a.append(
                        line.append(text(format!("{op} ")))
                            .append(b)
                            .nest(2)
                            .group(),
                    )
                }
                [a] => self.expr(a),
                _ => self.verbatim(p),
            },
            Rule::not_expr | Rule::unary => {
                let mut d = D::nil();
                for k in &kids {
                    match k.as_rule() {
                        Rule::not_op => {
                            d = d
                                .append(self.lead(k.as_span().start()))
                                .append(text("not "));
                        }
                        Rule::neg_op => {
                            d = d.append(self.lead(k.as_span().start())).append(text("-"));
                        }
                        _ => d = d.append(self.expr(k)),
                    }
                    self.last_end = self.last_end.max(self.real_end(k));
                }
                d
            }
            Rule::postfix => {
                let mut d = D::nil();
                for k in &kids {
                    match k.as_rule() {
                        Rule::field_access => {
                            let lead = self.lead(k.as_span().start());
                            let name = k.clone().into_inner().next().map(|n| self.word(&n));
                            d = d
                                .append(lead)
                                .append(text(format!(".{}", name.unwrap_or_default())));
                        }
                        Rule::index_access => {
                            let lead = self.lead(k.as_span().start());
                            let args: Vec<P> = k.clone().into_inner().collect();
                            d = d.append(lead).append(self.bracketed("[", &args, "]"));
                        }
                        _ => d = d.append(self.expr(k)),
                    }
                }
                d
            }
            Rule::paren => {
                let inner: Vec<D> = kids.iter().map(|k| self.expr(k)).collect();
                let (t, forced) = self.trail("");
                text("(")
                    .append(D::concat(inner))
                    .append(text(t))
                    .append(if forced { D::hardline() } else { D::nil() })
                    .append(text(")"))
            }
            Rule::list_lit => self.bracketed("[", &kids, "]"),
            Rule::call => {
                let mut it = kids.iter();
                let name = it.next().map(|n| self.word(n)).unwrap_or_default();
                let before = self.before_kw();
                let args: Vec<P> = it.cloned().collect();
                text(name)
                    .append(before)
                    .append(self.bracketed("(", &args, ")"))
            }
            Rule::lambda => match kids.as_slice() {
                [x, body] => {
                    let x = self.verbatim(x);
                    let body = self.expr(body);
                    x.append(text(" =>"))
                        .append(D::line().append(body).nest(2).group())
                }
                _ => self.verbatim(p),
            },
            Rule::if_expr => self.if_expr(&kids),
            Rule::match_expr => self.match_expr(&kids),
            Rule::let_expr => {
                let mut d = D::nil();
                for k in &kids {
                    if k.as_rule() == Rule::let_bind {
                        let lead = self.lead(k.as_span().start());
                        let parts: Vec<P> = k.clone().into_inner().collect();
                        if let [x, e] = parts.as_slice() {
                            let x = self.verbatim(x);
                            let e = self.expr(e);
                            let after = self.brk(";", D::line());
                            d = d
                                .append(lead)
                                .append(text("let "))
                                .append(x)
                                .append(text(" ="))
                                .append(D::line().append(e).nest(2).group())
                                .append(text(";"))
                                .append(after);
                        }
                    } else {
                        d = d.append(self.expr(k));
                    }
                }
                d.group()
            }
            Rule::adjust_expr => {
                let words = ["", " by ", " base ", " to ", " round ", " ", " "];
                let mut d = text("adjust(");
                for (i, k) in kids.iter().enumerate() {
                    let w = words.get(i).copied().unwrap_or(" ");
                    d = d.append(if i > 0 { self.kw(w) } else { text(w) });
                    d = match k.as_rule() {
                        Rule::expr => d.append(self.expr(k)),
                        _ => d.append(self.verbatim(k)),
                    };
                }
                d.append(text(")"))
            }
            Rule::literal => {
                let lead = self.lead(p.as_span().start());
                lead.append(text(self.lit_str(p)))
            }
            _ => self.verbatim(p),
        }
    }

    /// `a op b op c`: all on one line, or (for `and`/`or`) one operand a line, or (for the
    /// other operators) as many as fit on each line.
    fn chain(&mut self, kids: &[P], all_or_nothing: bool) -> D {
        let mut it = kids.iter();
        let Some(first) = it.next() else {
            return D::nil();
        };
        let mut d = self.expr(first);
        let mut rest = D::nil();
        while let (Some(op), Some(e)) = (it.next(), it.next()) {
            let (t, forced) = self.trail("");
            rest = rest.append(text(t));
            let lead = self.lead(op.as_span().start());
            let op = self.word(op);
            let e = self.expr(e);
            let piece = if forced { D::hardline() } else { D::line() }
                .append(lead)
                .append(text(format!("{op} ")))
                .append(e);
            rest = if all_or_nothing {
                rest.append(piece)
            } else {
                rest.append(piece.group())
            };
        }
        if all_or_nothing {
            d = d.append(rest.nest(2)).group();
        } else {
            d = d.append(rest.nest(2));
        }
        d
    }

    /// `(a, b)` or `[a, b]`, breaking one argument a line when they do not fit.
    fn bracketed(&mut self, open: &str, args: &[P], close: &str) -> D {
        if args.is_empty() {
            return text(format!("{open}{close}"));
        }
        let mut inner = D::line_();
        let mut last = D::line_();
        for (i, a) in args.iter().enumerate() {
            inner = inner.append(self.expr(a));
            if i + 1 < args.len() {
                inner = inner.append(text(",")).append(self.brk(",", D::line()));
            } else {
                let (t, forced) = self.trail("");
                inner = inner.append(text(t));
                if forced {
                    last = D::hardline();
                }
            }
        }
        text(open.to_string())
            .append(inner.nest(2))
            .append(last)
            .append(text(close.to_string()))
            .group()
    }

    fn if_expr(&mut self, kids: &[P]) -> D {
        let mut d = D::nil();
        let n = kids.len();
        // A chain with `else if` arms reads as a list of cases: one a line, always.
        let sep = || {
            if kids.iter().any(|k| k.as_rule() == Rule::else_if) {
                D::hardline()
            } else {
                D::line()
            }
        };
        let mut i = 0;
        // if c then a
        if let (Some(c), Some(a)) = (kids.first(), kids.get(1)) {
            let c = self.expr(c);
            let line = self.brk("", D::line());
            let a = self.expr(a);
            d = d.append(
                text("if ")
                    .append(c)
                    .append(line)
                    .append(text("then "))
                    .append(a)
                    .group(),
            );
            i = 2;
        }
        while i < n {
            let Some(k) = kids.get(i) else { break };
            // Comments after the previous arm stay with it, before the break.
            let before = self.brk("", sep());
            if k.as_rule() == Rule::else_if {
                let lead = self.lead(k.as_span().start());
                let parts: Vec<P> = k.clone().into_inner().collect();
                if let [c, a] = parts.as_slice() {
                    let c = self.expr(c);
                    let line = self.brk("", D::line());
                    let a = self.expr(a);
                    d = d.append(before).append(lead).append(
                        text("else if ")
                            .append(c)
                            .append(line)
                            .append(text("then "))
                            .append(a)
                            .group(),
                    );
                }
            } else {
                let e = self.expr(k);
                d = d.append(before).append(text("else ")).append(e);
            }
            i += 1;
        }
        d.group()
    }

    fn match_expr(&mut self, kids: &[P]) -> D {
        let mut it = kids.iter();
        let Some(scrutinee) = it.next() else {
            return D::nil();
        };
        let s = self.expr(scrutinee);
        let arms: Vec<&P> = it.collect();
        let mut inner = D::nil();
        let mut sep = D::line();
        for (i, arm) in arms.iter().enumerate() {
            let lead = self.lead(arm.as_span().start());
            let parts: Vec<P> = (*arm).clone().into_inner().collect();
            let mut pats = Vec::new();
            let mut body = D::nil();
            for k in &parts {
                if k.as_rule() == Rule::pattern {
                    pats.push(self.word(k));
                } else {
                    body = self.expr(k);
                }
            }
            inner = inner
                .append(sep)
                .append(lead)
                .append(text(format!("{} =>", pats.join(" | "))))
                .append(D::line().append(body).nest(2).group());
            if i + 1 < arms.len() {
                inner = inner.append(text(","));
            }
            let (t, forced) = self.trail(",");
            inner = inner.append(text(t));
            sep = if forced { D::hardline() } else { D::line() };
        }
        text("match ")
            .append(s)
            .append(text(" {"))
            .append(inner.nest(2))
            .append(sep)
            .append(text("}"))
            .group()
    }
}

// Marks in the formatter's text, resolved by [`resolve`] after rendering. They are Unicode
// noncharacters, meant for a program's internal use; a file holding one is refused.

/// A space printed only where it separates two tokens: it disappears after indentation
/// or another space.
const SPACE: char = '\u{FDD0}';
/// Starts a trailing comment (up to [`END`]): it stays at the end of the line it follows,
/// and when the layout put a line break before it, it moves back over that break.
const GLUE: char = '\u{FDD1}';
/// Starts a comment on its own line (up to [`END`]): when the layout put something before
/// it on its line, it moves to a line of its own, indented as the line after it.
const OWN: char = '\u{FDD2}';
/// Ends a [`GLUE`] or [`OWN`] comment.
const END: char = '\u{FDD3}';
/// A line break inside text (after a line comment); [`text`] indents what follows by two.
const BREAK: char = '\u{FDD4}';
/// A line break inside text at the same indentation (after a comment on its own line).
const NL: char = '\u{FDD5}';
const MARKS: [char; 6] = [SPACE, GLUE, OWN, END, BREAK, NL];

/// The rendered text with its marks resolved (see [`SPACE`], [`GLUE`], [`OWN`]).
fn resolve(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        rest = rest.get(c.len_utf8()..).unwrap_or("");
        match c {
            SPACE => {
                if !(out.is_empty() || out.ends_with(' ') || out.ends_with('\n')) {
                    out.push(' ');
                }
            }
            GLUE | OWN => {
                let n = rest.find(END).unwrap_or(rest.len());
                let comment = rest.get(..n).unwrap_or("");
                rest = rest.get(n + END.len_utf8()..).unwrap_or("");
                let line_start = out.rfind('\n').map_or(0, |i| i + 1);
                let blank = out.get(line_start..).unwrap_or("").trim().is_empty();
                if c == GLUE {
                    let prev_end = out.get(..line_start.saturating_sub(1)).map(str::trim_end);
                    match prev_end {
                        Some(p) if blank && line_start > 0 && !ends_in_line_comment(p) => {
                            // Back over the line break the layout put before it.
                            let indent = out.get(line_start..).unwrap_or("").to_string();
                            out.truncate(p.len());
                            out.push(' ');
                            out.push_str(comment);
                            if comment.starts_with("/*") {
                                out.push('\n');
                                out.push_str(&indent);
                            }
                        }
                        _ if blank && comment.starts_with("/*") && line_start > 0 => {
                            // After a line comment: a line of its own, as when formatted
                            // again.
                            let indent = out.get(line_start..).unwrap_or("").to_string();
                            out.push_str(comment);
                            out.push('\n');
                            out.push_str(&indent);
                            if rest.starts_with(SPACE) {
                                rest = rest.get(SPACE.len_utf8()..).unwrap_or("");
                            }
                        }
                        _ => {
                            if !(out.is_empty() || out.ends_with(' ') || out.ends_with('\n')) {
                                out.push(' ');
                            }
                            out.push_str(comment);
                        }
                    }
                } else {
                    if !blank {
                        // A line of its own, indented as the line that follows it.
                        let trimmed = out.trim_end_matches(' ').len();
                        out.truncate(trimmed);
                        out.push('\n');
                        let indent = rest
                            .find('\n')
                            .and_then(|i| rest.get(i + 1..))
                            .map_or(0, |r| r.chars().take_while(|c| *c == ' ').count());
                        out.push_str(&" ".repeat(indent));
                    }
                    out.push_str(comment);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// True when the text's last line ends in a line comment (marked text included).
fn ends_in_line_comment(s: &str) -> bool {
    let line = s.rsplit(['\n', BREAK, NL]).next().unwrap_or("");
    scan_comments(line).iter().any(|c| !c.block)
}

/// Rows as an indented block closed by `close`, trailing comments aligned.
fn block(rows: Vec<Row>, indent: isize, close: &str) -> D {
    let cw = rows
        .iter()
        .filter(|r| r.trailing.is_some() && !r.opens)
        .map(|r| width(&r.body))
        .max()
        .unwrap_or(0);
    let mut inner = D::nil();
    for r in rows {
        if let (true, Some(t)) = (r.opens, &r.trailing) {
            inner = inner.append(text(format!(" {t}")));
            continue;
        }
        for l in &r.leading {
            inner = inner.append(D::hardline()).append(text(l.clone()));
        }
        if r.body.is_empty() && r.trailing.is_none() {
            continue;
        }
        let line = match &r.trailing {
            Some(t) => format!(
                "{}{}  {t}",
                r.body,
                " ".repeat(cw.saturating_sub(width(&r.body)))
            ),
            None => r.body.clone(),
        };
        inner = inner.append(D::hardline()).append(text(line));
    }
    inner
        .nest(indent)
        .append(D::hardline())
        .append(text(close.to_string()))
}

/// A document rendered flat at full width (to measure a prefix).
fn render(d: &D) -> String {
    let mut s = String::new();
    if d.render_fmt(usize::MAX / 2, &mut s).is_err() {
        s.clear();
    }
    s.lines().last().unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(s: &str) -> String {
        match format_source(s, &Limits::default()) {
            Ok(o) => o,
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn keeps_comments_and_is_idempotent() {
        let src = "// head\nparam  a :money=1 // trailing\n\n\n/* block */ def b: money = a+1\n";
        let once = fmt(src);
        assert_eq!(
            once,
            "// head\nparam a: money = 1 // trailing\n\n/* block */\ndef b: money = a + 1\n"
        );
        assert_eq!(fmt(&once), once);
    }

    #[test]
    fn aligns_bands() {
        let src =
            "bands b from 2020-01-01 cite assumed { 0 .. 10_000 => 50%\n 10_000 .. => 70% }\n";
        let once = fmt(src);
        assert_eq!(
            once,
            "bands b\n  from 2020-01-01 cite assumed {\n         0 .. 10_000 => 50%\n    10_000 ..        => 70%\n  }\n"
        );
        assert_eq!(fmt(&once), once);
    }

    #[test]
    fn refuses_syntax_errors() {
        assert!(matches!(
            format_source("param x: = 1", &Limits::default()),
            Err(FmtError::Syntax(_))
        ));
    }
}
