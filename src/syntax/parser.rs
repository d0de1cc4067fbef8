//! pest → AST. Parse errors are rewritten in the analyst's terms: no raw rule names.

use super::ast::*;
use crate::diag::{Code, Diagnostic};
use crate::source::{FileId, Span};
use crate::value::Date;
use pest::iterators::Pair;
use pest::Parser as _;
use rust_decimal::Decimal;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/rulec.pest"]
struct Grammar;

type P<'a> = Pair<'a, Rule>;

/// The pest parse tree of a file, for tools that need every token (the formatter).
pub fn parse_tree(
    text: &str,
) -> Result<pest::iterators::Pairs<'_, Rule>, Box<pest::error::Error<Rule>>> {
    Grammar::parse(Rule::file, text).map_err(Box::new)
}

/// Parses one file. Returns the declarations it could build and every diagnostic.
pub fn parse_file(file: FileId, text: &str) -> (File, Vec<Diagnostic>) {
    let pairs = match Grammar::parse(Rule::file, text) {
        Ok(p) => p,
        Err(e) => return (File::default(), vec![syntax_error(file, text, &e)]),
    };
    let mut b = Builder {
        file,
        diags: Vec::new(),
    };
    let mut out = File::default();
    for top in pairs {
        for item in top.into_inner() {
            if item.as_rule() == Rule::EOI {
                continue;
            }
            let start = item.as_span().start();
            if let Some(bad) = glued_keyword(file, text, start) {
                // `paramx: money` would otherwise read as `param x`.
                return (File::default(), vec![bad]);
            }
            if let Some(d) = b.decl(item) {
                out.decls.push(d);
            }
        }
    }
    (out, b.diags)
}

/// Parses a standalone expression (used by tests and the docs checker).
pub fn parse_expr(file: FileId, text: &str) -> Result<Expr, Vec<Diagnostic>> {
    let src = format!("def __e: int = {text}");
    let (f, diags) = parse_file(file, &src);
    if !diags.is_empty() {
        return Err(diags);
    }
    match f.decls.into_iter().next().map(|d| d.kind) {
        Some(DeclKind::Def { mut versions, .. }) if !versions.is_empty() => {
            Ok(versions.remove(0).value)
        }
        _ => Err(Vec::new()),
    }
}

/// The first position at or after `at` that is not whitespace or a comment (the grammar
/// allows both between `override` and the declaration's keyword).
fn skip_blank(text: &str, mut at: usize) -> usize {
    loop {
        let rest = text.get(at..).unwrap_or("");
        let trimmed = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        at += rest.len() - trimmed.len();
        if trimmed.starts_with("//") {
            at += trimmed.find('\n').unwrap_or(trimmed.len());
        } else if let Some(body) = trimmed.strip_prefix("/*") {
            at += body.find("*/").map_or(trimmed.len(), |i| i + 4);
        } else {
            return at;
        }
    }
}

/// A declaration whose keyword runs into the next word (`paramx`), as a syntax error.
fn glued_keyword(file: FileId, text: &str, start: usize) -> Option<Diagnostic> {
    let word_at = |at: usize| -> (usize, usize) {
        let rest = text.get(at..).unwrap_or("");
        let len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        (at, at + len)
    };
    let (mut s, mut e) = word_at(start);
    if text.get(s..e) == Some("override") {
        (s, e) = word_at(skip_blank(text, e));
    }
    let word = text.get(s..e).unwrap_or("");
    if word != "override" && super::scan::DECL_KEYWORDS.contains(&word) {
        return None;
    }
    Some(
        Diagnostic::new(
            Code::Syntax,
            Span::new(file, s, e),
            format!("expected a declaration keyword, found `{word}`"),
        )
        .label("keyword and name run together")
        .help("separate the keyword from the name with a space, e.g. `param cap: money = 4500`"),
    )
}

fn describe(rule: &Rule) -> &'static str {
    match rule {
        Rule::ident => "a name",
        Rule::keyword => "a keyword",
        Rule::date => "a date",
        Rule::number | Rule::neg_number => "a number",
        Rule::percent => "a percentage",
        Rule::string | Rule::str_inner => "a string",
        Rule::bool_lit => "`true` or `false`",
        Rule::none_lit => "`none`",
        Rule::EOI => "end of file",
        Rule::ruleset_decl
        | Rule::source_decl
        | Rule::enum_decl
        | Rule::record_decl
        | Rule::input_decl
        | Rule::as_of_decl
        | Rule::covers_decl
        | Rule::param_decl
        | Rule::table_decl
        | Rule::catalog_decl
        | Rule::series_decl
        | Rule::bands_decl
        | Rule::def_decl
        | Rule::output_decl
        | Rule::fund_decl
        | Rule::accum_decl
        | Rule::exception_decl
        | Rule::fn_decl
        | Rule::override_kw => "a declaration (`param`, `def`, `output`, …)",
        Rule::type_expr | Rule::list_type => "a type",
        Rule::opt_mark => "`?`",
        Rule::citation => "`cite`",
        Rule::assumed => "`assumed`",
        Rule::version_head => "`from DATE`",
        Rule::param_single | Rule::def_single => "`=`",
        Rule::param_version | Rule::def_version | Rule::def_body => "`=` or `from DATE`",
        Rule::literal | Rule::const_list => "a constant",
        Rule::expr
        | Rule::or_expr
        | Rule::and_expr
        | Rule::not_expr
        | Rule::cmp_expr
        | Rule::coal_expr
        | Rule::add_expr
        | Rule::mul_expr
        | Rule::unary
        | Rule::postfix
        | Rule::primary
        | Rule::paren
        | Rule::call
        | Rule::arg
        | Rule::if_expr
        | Rule::match_expr
        | Rule::let_expr
        | Rule::adjust_expr
        | Rule::list_lit
        | Rule::as_of_kw
        | Rule::lambda => "an expression",
        Rule::or_op | Rule::and_op => "`and` or `or`",
        Rule::not_op => "`not`",
        Rule::cmp_op => "a comparison",
        Rule::coal_op => "`??`",
        Rule::add_op | Rule::mul_op | Rule::neg_op => "an operator",
        Rule::field_access => "`.field`",
        Rule::index_access => "`[`",
        Rule::else_if => "`else`",
        Rule::match_arm | Rule::pattern | Rule::wildcard => "a match arm (`value => result`)",
        Rule::let_bind => "`let`",
        Rule::floor_kw => "`floor`",
        Rule::qualified => "an enum value",
        Rule::field_decl => "a field (`name: type`)",
        Rule::fn_params | Rule::fn_param => "parameters (`(name: type, …)`)",
        Rule::key_decl => "a key (`name: type`)",
        Rule::table_version => "`from DATE`",
        Rule::table_rows | Rule::band_rows | Rule::series_entries => "`{`",
        Rule::table_row => "a row (`keys => value`)",
        Rule::column_decl => "a column (`name: type`)",
        Rule::key_mark => "`key`",
        Rule::rest_mark => "`..`",
        Rule::catalog_file => "`from \"file.csv\"`",
        Rule::catalog_rows => "`rows`",
        Rule::catalog_row => "a row (`[…]`)",
        Rule::series_entry => "an entry (`YEAR = value`)",
        Rule::bands_version => "`from DATE`",
        Rule::band_row => "a band (`lower .. upper => rate`)",
        Rule::accum_period | Rule::per_kw => "`per year`, `per lifetime` or `per claim.FIELD`",
        _ => "valid syntax",
    }
}

fn syntax_error(file: FileId, text: &str, e: &pest::error::Error<Rule>) -> Diagnostic {
    let pos = match e.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let mut expected: Vec<&str> = match &e.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            positives.iter().map(describe).collect()
        }
        pest::error::ErrorVariant::CustomError { .. } => Vec::new(),
    };
    expected.sort_unstable();
    expected.dedup();
    let rest = text.get(pos..).unwrap_or("");
    let tok_len = token_len(rest);
    let found = if rest.is_empty() {
        "the end of the file".to_string()
    } else {
        let tok: String = rest.chars().take(tok_len.min(24)).collect();
        format!("`{}`", tok.escape_debug())
    };
    let want = match expected.len() {
        0 => "something else".to_string(),
        1 => expected.first().copied().unwrap_or("").to_string(),
        _ => {
            let (last, init) = expected
                .split_last()
                .map(|(l, i)| (*l, i))
                .unwrap_or(("", &[]));
            format!("{} or {}", init.join(", "), last)
        }
    };
    let end = pos
        + rest
            .char_indices()
            .nth(tok_len)
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
    Diagnostic::new(
        Code::Syntax,
        Span::new(file, pos, end.max(pos)),
        format!("expected {want}, found {found}"),
    )
    .label(format!("expected {want} here"))
    .help(syntax_help(&expected, rest))
}

fn token_len(rest: &str) -> usize {
    let mut chars = rest.chars();
    match chars.next() {
        None => 0,
        Some(c) if c.is_alphanumeric() || c == '_' => {
            1 + chars
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .count()
        }
        Some(_) => 1,
    }
}

fn syntax_help(expected: &[&str], rest: &str) -> String {
    if rest.is_empty() {
        return "the file ends in the middle of a declaration: is it cut short?".into();
    }
    if rest.starts_with(',') {
        return "numbers are written without thousands separators; use `300_000`".into();
    }
    if expected.iter().any(|e| e.starts_with("a declaration")) {
        return "each declaration starts with a keyword such as `param`, `def`, `output`, `fund`, `table` or `catalog`".into();
    }
    "see docs/language.md for the syntax of each construct".into()
}

struct Builder {
    file: FileId,
    diags: Vec<Diagnostic>,
}

impl Builder {
    fn span(&self, p: &P) -> Span {
        let s = p.as_span();
        Span::new(self.file, s.start(), s.end())
    }

    fn ident(&self, p: P) -> Ident {
        Ident {
            name: p.as_str().to_string(),
            span: self.span(&p),
        }
    }

    fn date(&mut self, p: &P) -> Date {
        match Date::parse(p.as_str()) {
            Ok(d) => d,
            Err(why) => {
                self.diags.push(
                    Diagnostic::new(
                        Code::BadDate,
                        self.span(p),
                        format!("`{}` is not a valid date", p.as_str()),
                    )
                    .label(why)
                    .help("dates are written YYYY-MM-DD and must exist in the calendar"),
                );
                Date::MIN
            }
        }
    }

    fn decimal(&mut self, p: &P, text: &str) -> Decimal {
        let clean: String = text.chars().filter(|c| *c != '_').collect();
        // Exact or refused: rust_decimal's `parse` would round past 28 digits.
        match crate::value::parse_exact(&clean) {
            Ok(d) if clean.split('.').nth(1).is_none_or(|f| f.len() <= 20) => d,
            _ => {
                self.diags.push(
                    Diagnostic::new(
                        Code::NumberTooLarge,
                        self.span(p),
                        format!("`{}` cannot be represented exactly", p.as_str()),
                    )
                    .label("too large or too precise")
                    .help("numbers must stay below 7.9 × 10^28 with at most 20 decimal places"),
                );
                Decimal::ZERO
            }
        }
    }

    fn string(&mut self, p: P) -> String {
        let span = self.span(&p);
        let inner = p.into_inner().next().map(|i| i.as_str()).unwrap_or("");
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('\\') => out.push('\\'),
                Some('"') => out.push('"'),
                other => {
                    self.diags.push(
                        Diagnostic::new(
                            Code::BadEscape,
                            span,
                            format!(
                                "unknown escape `\\{}` in a string",
                                other.map(String::from).unwrap_or_default()
                            ),
                        )
                        .label("in this string")
                        .help("the escapes are \\n, \\t, \\\\ and \\\""),
                    );
                }
            }
        }
        out
    }

    fn decl(&mut self, p: P) -> Option<Decl> {
        let span = self.span(&p);
        let rule = p.as_rule();
        let mut it = p.into_inner().peekable();
        let overrides = it.peek().is_some_and(|x| x.as_rule() == Rule::override_kw);
        if overrides {
            it.next();
        }
        let mut next = || it.next();
        let decl = |name: Ident, kind: DeclKind| {
            Some(Decl {
                name,
                overrides,
                kind,
                span,
            })
        };
        match rule {
            Rule::ruleset_decl => {
                let name_p = next()?;
                let name_span = self.span(&name_p);
                let name = self.string(name_p);
                let extends = next().map(|e| {
                    let s = self.span(&e);
                    (self.string(e), s)
                });
                decl(
                    Ident {
                        name,
                        span: name_span,
                    },
                    DeclKind::Ruleset { extends },
                )
            }
            Rule::source_decl => {
                let name = self.ident(next()?);
                let title = next().map(|t| self.string(t)).unwrap_or_default();
                let location = next().map(|t| self.string(t));
                decl(name, DeclKind::Source { title, location })
            }
            Rule::enum_decl => {
                let name = self.ident(next()?);
                let variants = it.map(|v| self.ident(v)).collect();
                decl(name, DeclKind::Enum { variants })
            }
            Rule::record_decl => {
                let name = self.ident(next()?);
                let mut fields = Vec::new();
                for f in it {
                    let mut fi = f.into_inner();
                    let fname = self.ident(fi.next()?);
                    let ty = self.type_expr(fi.next()?);
                    let default = fi.next().map(|l| self.literal(l));
                    fields.push(FieldDecl {
                        name: fname,
                        ty,
                        default,
                    });
                }
                decl(name, DeclKind::Record { fields })
            }
            Rule::input_decl => {
                let name = self.ident(next()?);
                let ty = self.type_expr(next()?);
                decl(name, DeclKind::Input { ty })
            }
            Rule::as_of_decl => {
                let e = next()?;
                let expr = self.expr(e);
                decl(
                    Ident {
                        name: "as_of".into(),
                        span,
                    },
                    DeclKind::AsOf { expr },
                )
            }
            Rule::covers_decl => {
                let expr = self.expr(next()?);
                let cite = next().map(|c| self.citation(c));
                decl(
                    Ident {
                        name: "covers".into(),
                        span,
                    },
                    DeclKind::Covers { expr, cite },
                )
            }
            Rule::param_decl => {
                let name = self.ident(next()?);
                let ty = self.type_expr(next()?);
                let mut versions = Vec::new();
                for v in it {
                    let vspan = self.span(&v);
                    let vrule = v.as_rule();
                    let mut vi = v.into_inner().peekable();
                    let head = if vrule == Rule::param_version {
                        Some(self.head(vi.next()?))
                    } else {
                        None
                    };
                    let value = self.literal(vi.next()?);
                    let cite = vi.next().map(|c| self.citation(c));
                    versions.push(Versioned {
                        head,
                        value,
                        cite,
                        span: vspan,
                    });
                }
                decl(name, DeclKind::Param { ty, versions })
            }
            Rule::def_decl | Rule::output_decl | Rule::fund_decl => {
                let kind = match rule {
                    Rule::def_decl => DefKind::Def,
                    Rule::output_decl => DefKind::Output,
                    _ => DefKind::Fund,
                };
                let name = self.ident(next()?);
                let ty = if kind == DefKind::Fund {
                    None
                } else {
                    Some(self.type_expr(next()?))
                };
                let body = next()?;
                let mut versions = Vec::new();
                for v in body.into_inner() {
                    let vspan = self.span(&v);
                    let vrule = v.as_rule();
                    let mut vi = v.into_inner();
                    let head = if vrule == Rule::def_version {
                        Some(self.head(vi.next()?))
                    } else {
                        None
                    };
                    let value = self.expr(vi.next()?);
                    let cite = vi.next().map(|c| self.citation(c));
                    versions.push(Versioned {
                        head,
                        value,
                        cite,
                        span: vspan,
                    });
                }
                decl(name, DeclKind::Def { kind, ty, versions })
            }
            Rule::fn_decl => {
                let name = self.ident(next()?);
                let mut params = Vec::new();
                for p in next()?.into_inner() {
                    let mut pi = p.into_inner();
                    let pname = self.ident(pi.next()?);
                    let pty = self.type_expr(pi.next()?);
                    params.push((pname, pty));
                }
                let ty = self.type_expr(next()?);
                let body = self.expr(next()?);
                let cite = next().map(|c| self.citation(c));
                decl(
                    name,
                    DeclKind::Function {
                        params,
                        ty,
                        body,
                        cite,
                    },
                )
            }
            Rule::accum_decl => {
                let name = self.ident(next()?);
                let ty = self.type_expr(next()?);
                let mut cur = next()?;
                let mut period = None;
                if cur.as_rule() == Rule::accum_period {
                    let span = self.span(&cur);
                    let words = cur
                        .into_inner()
                        .filter(|w| w.as_rule() == Rule::ident)
                        .map(|w| self.ident(w))
                        .collect();
                    period = Some((words, span));
                    cur = next()?;
                }
                let add = self.expr(cur);
                let cite = next().map(|c| self.citation(c));
                decl(
                    name,
                    DeclKind::Accumulator {
                        ty,
                        period,
                        add,
                        cite,
                    },
                )
            }
            Rule::exception_decl => {
                let name = self.ident(next()?);
                let target = self.ident(next()?);
                let mut head = None;
                let mut cur = next()?;
                if cur.as_rule() == Rule::version_head {
                    head = Some(self.head(cur));
                    cur = next()?;
                }
                let cond = self.expr(cur);
                let value = self.expr(next()?);
                let cite = next().map(|c| self.citation(c));
                decl(
                    name,
                    DeclKind::Exception {
                        target,
                        head,
                        cond,
                        value,
                        cite,
                    },
                )
            }
            Rule::table_decl => {
                let name = self.ident(next()?);
                let mut keys = Vec::new();
                let mut ty = None;
                let mut versions = Vec::new();
                for x in it {
                    match x.as_rule() {
                        Rule::key_decl => {
                            let mut ki = x.into_inner();
                            let k = self.ident(ki.next()?);
                            let t = self.type_expr(ki.next()?);
                            keys.push((k, t));
                        }
                        Rule::type_expr => ty = Some(self.type_expr(x)),
                        Rule::table_rows => {
                            let vspan = self.span(&x);
                            let rows = self.table_rows(x);
                            versions.push(Versioned {
                                head: None,
                                value: rows,
                                cite: None,
                                span: vspan,
                            });
                        }
                        Rule::citation => {
                            let c = self.citation(x);
                            if let Some(v) = versions.last_mut() {
                                v.cite = Some(c);
                            }
                        }
                        Rule::table_version => {
                            let vspan = self.span(&x);
                            let mut vi = x.into_inner();
                            let head = Some(self.head(vi.next()?));
                            let mut cite = None;
                            let mut rows = Vec::new();
                            for y in vi {
                                if y.as_rule() == Rule::citation {
                                    cite = Some(self.citation(y));
                                } else {
                                    rows = self.table_rows(y);
                                }
                            }
                            versions.push(Versioned {
                                head,
                                value: rows,
                                cite,
                                span: vspan,
                            });
                        }
                        _ => {}
                    }
                }
                decl(
                    name,
                    DeclKind::Table {
                        keys,
                        ty: ty?,
                        versions,
                    },
                )
            }
            Rule::catalog_decl => {
                let name = self.ident(next()?);
                let mut columns = Vec::new();
                let mut rows = None;
                let mut cite = None;
                let mut rest = None;
                for x in it {
                    match x.as_rule() {
                        Rule::rest_mark => rest = Some(self.span(&x)),
                        Rule::column_decl => {
                            let mut ci = x.into_inner();
                            let cname = self.ident(ci.next()?);
                            let ty = self.type_expr(ci.next()?);
                            let key = ci.next().is_some();
                            columns.push(ColumnDecl {
                                name: cname,
                                ty,
                                key,
                            });
                        }
                        Rule::catalog_file => {
                            let s = x.into_inner().next()?;
                            let sspan = self.span(&s);
                            rows = Some(RowSource::File(self.string(s), sspan));
                        }
                        Rule::catalog_rows => {
                            let mut out = Vec::new();
                            for r in x.into_inner() {
                                let rspan = self.span(&r);
                                let mut cells = Vec::new();
                                let mut head = None;
                                for c in r.into_inner() {
                                    if c.as_rule() == Rule::version_head {
                                        head = Some(self.head(c));
                                    } else {
                                        cells.push(self.literal(c));
                                    }
                                }
                                out.push(InlineRow {
                                    cells,
                                    head,
                                    span: rspan,
                                });
                            }
                            rows = Some(RowSource::Inline(out));
                        }
                        Rule::citation => cite = Some(self.citation(x)),
                        _ => {}
                    }
                }
                decl(
                    name,
                    DeclKind::Catalog {
                        columns,
                        rest,
                        rows: rows?,
                        cite,
                    },
                )
            }
            Rule::series_decl => {
                let name = self.ident(next()?);
                let ty = self.type_expr(next()?);
                let src = next()?;
                let source = if src.as_rule() == Rule::catalog_file {
                    let s = src.into_inner().next()?;
                    let sspan = self.span(&s);
                    SeriesSource::File(self.string(s), sspan)
                } else {
                    let mut entries = Vec::new();
                    for e in src.into_inner() {
                        let mut ei = e.into_inner();
                        let y = ei.next()?;
                        let yspan = self.span(&y);
                        let year = y.as_str().replace('_', "").parse::<i64>().unwrap_or(-1);
                        let value = self.literal(ei.next()?);
                        entries.push((year, yspan, value));
                    }
                    SeriesSource::Inline(entries)
                };
                let cite = next().map(|c| self.citation(c));
                decl(name, DeclKind::Series { ty, source, cite })
            }
            Rule::bands_decl => {
                let name = self.ident(next()?);
                let mut versions: Vec<Versioned<Vec<Band>>> = Vec::new();
                for x in it {
                    let vspan = self.span(&x);
                    if x.as_rule() == Rule::citation {
                        let c = self.citation(x);
                        if let Some(v) = versions.last_mut() {
                            v.cite = Some(c);
                        }
                        continue;
                    }
                    if x.as_rule() == Rule::band_rows {
                        let value = self.bands(x);
                        versions.push(Versioned {
                            head: None,
                            value,
                            cite: None,
                            span: vspan,
                        });
                    } else {
                        let mut vi = x.into_inner();
                        let head = Some(self.head(vi.next()?));
                        let mut cite = None;
                        let mut value = Vec::new();
                        for y in vi {
                            if y.as_rule() == Rule::citation {
                                cite = Some(self.citation(y));
                            } else {
                                value = self.bands(y);
                            }
                        }
                        versions.push(Versioned {
                            head,
                            value,
                            cite,
                            span: vspan,
                        });
                    }
                }
                decl(name, DeclKind::Bands { versions })
            }
            _ => None,
        }
    }

    fn table_rows(&mut self, p: P) -> Vec<TableRow> {
        let mut rows = Vec::new();
        for r in p.into_inner() {
            let span = self.span(&r);
            let mut lits: Vec<LitExpr> = r.into_inner().map(|l| self.literal(l)).collect();
            if let Some(value) = lits.pop() {
                rows.push(TableRow {
                    keys: lits,
                    value,
                    span,
                });
            }
        }
        rows
    }

    fn bands(&mut self, p: P) -> Vec<Band> {
        let mut out = Vec::new();
        for r in p.into_inner() {
            let span = self.span(&r);
            let parts: Vec<P> = r.into_inner().collect();
            let mut lower = Decimal::ZERO;
            let mut upper = None;
            let mut rate = Decimal::ZERO;
            let n = parts.len();
            for (i, x) in parts.into_iter().enumerate() {
                let text = x.as_str().to_string();
                match (i, x.as_rule()) {
                    (_, Rule::percent) => rate = self.percent(&x, &text),
                    (0, _) => lower = self.decimal(&x, &text),
                    _ if i + 1 < n => upper = Some(self.decimal(&x, &text)),
                    _ => {}
                }
            }
            out.push(Band {
                lower,
                upper,
                rate,
                span,
            });
        }
        out
    }

    fn percent(&mut self, p: &P, text: &str) -> Decimal {
        let d = self.decimal(p, text.trim_end_matches('%'));
        // At most 20 fraction digits, so the fraction (2 more) is always exact.
        crate::value::percent_to_fraction(d).unwrap_or_default()
    }

    fn head(&mut self, p: P) -> VersionHead {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let (from, from_span) = match it.next() {
            Some(f) => (self.date(&f), self.span(&f)),
            None => (Date::MIN, span),
        };
        let until = it.next().map(|u| (self.date(&u), self.span(&u)));
        VersionHead {
            from,
            from_span,
            until,
            span,
        }
    }

    fn citation(&mut self, p: P) -> Citation {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let kind = match it.next() {
            Some(x) if x.as_rule() == Rule::assumed => CiteKind::Assumed,
            Some(x) if x.as_rule() == Rule::ident => {
                let id = self.ident(x);
                CiteKind::Source(id, it.next().map(|s| self.string(s)))
            }
            Some(x) => CiteKind::Text(self.string(x)),
            None => CiteKind::Assumed,
        };
        Citation { kind, span }
    }

    fn type_expr(&mut self, p: P) -> TypeExpr {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let base = match it.next() {
            Some(x) if x.as_rule() == Rule::list_type => {
                let lspan = self.span(&x);
                match x.into_inner().next() {
                    Some(inner) => TypeExpr::List(Box::new(self.type_expr(inner)), lspan),
                    None => TypeExpr::Named(Ident {
                        name: "?".into(),
                        span: lspan,
                    }),
                }
            }
            Some(x) => TypeExpr::Named(self.ident(x)),
            None => TypeExpr::Named(Ident {
                name: "?".into(),
                span,
            }),
        };
        let mut next = it.next();
        let base = match next.take() {
            Some(d) if d.as_rule() == Rule::type_digits => {
                let dspan = self.span(&d);
                let digits = d
                    .into_inner()
                    .next()
                    .map(|n| n.as_str().to_string())
                    .unwrap_or_default();
                next = it.next();
                TypeExpr::Digits(Box::new(base), digits, dspan)
            }
            other => {
                next = other;
                base
            }
        };
        if next.is_some() {
            TypeExpr::Optional(Box::new(base), span)
        } else {
            base
        }
    }

    fn literal(&mut self, p: P) -> LitExpr {
        let span = self.span(&p);
        let inner = match p.into_inner().next() {
            Some(i) => i,
            None => {
                return LitExpr {
                    lit: Lit::None,
                    span,
                }
            }
        };
        let lit = self.lit_of(inner);
        LitExpr { lit, span }
    }

    fn lit_of(&mut self, x: P) -> Lit {
        let text = x.as_str().to_string();
        match x.as_rule() {
            Rule::date => Lit::Date(self.date(&x)),
            Rule::percent => Lit::Percent(self.percent(&x, &text)),
            Rule::number => Lit::Number(self.decimal(&x, &text)),
            Rule::neg_number => match x.into_inner().next() {
                Some(n) => {
                    let t = n.as_str().to_string();
                    match self.lit_of(n) {
                        Lit::Number(d) => Lit::Number(-d),
                        Lit::Percent(d) => Lit::Percent(-d),
                        _ => Lit::Number(self.decimal_neg(&t)),
                    }
                }
                None => Lit::None,
            },
            Rule::string => Lit::Text(self.string(x)),
            Rule::bool_lit => Lit::Bool(text == "true"),
            Rule::none_lit => Lit::None,
            Rule::const_list => Lit::List(x.into_inner().map(|l| self.literal(l)).collect()),
            Rule::qualified => {
                let mut it = x.into_inner();
                match (it.next(), it.next()) {
                    (Some(a), Some(b)) => Lit::Qualified(self.ident(a), self.ident(b)),
                    _ => Lit::None,
                }
            }
            _ => Lit::Variant(self.ident(x)),
        }
    }

    fn decimal_neg(&self, t: &str) -> Decimal {
        t.parse::<Decimal>().map(|d| -d).unwrap_or_default()
    }

    fn expr(&mut self, p: P) -> Expr {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::expr | Rule::paren | Rule::arg => match p.into_inner().next() {
                Some(x) => self.expr(x),
                None => Expr {
                    kind: ExprKind::Lit(Lit::None),
                    span,
                },
            },
            Rule::or_expr
            | Rule::and_expr
            | Rule::add_expr
            | Rule::mul_expr
            | Rule::coal_expr
            | Rule::cmp_expr => {
                let mut it = p.into_inner();
                let mut lhs = match it.next() {
                    Some(x) => self.expr(x),
                    None => {
                        return Expr {
                            kind: ExprKind::Lit(Lit::None),
                            span,
                        }
                    }
                };
                while let (Some(op), Some(r)) = (it.next(), it.next()) {
                    let op = match op.as_str().trim() {
                        "or" => BinOp::Or,
                        "and" => BinOp::And,
                        "+" => BinOp::Add,
                        "-" => BinOp::Sub,
                        "*" => BinOp::Mul,
                        "/" => BinOp::Div,
                        "??" => BinOp::Coalesce,
                        "==" => BinOp::Eq,
                        "!=" => BinOp::Ne,
                        "<" => BinOp::Lt,
                        "<=" => BinOp::Le,
                        ">" => BinOp::Gt,
                        ">=" => BinOp::Ge,
                        _ => BinOp::In,
                    };
                    let rhs = self.expr(r);
                    let s = Span {
                        end: rhs.span.end,
                        ..lhs.span
                    };
                    lhs = Expr {
                        kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                        span: s,
                    };
                }
                lhs
            }
            Rule::not_expr | Rule::unary => {
                let parts: Vec<P> = p.into_inner().collect();
                let mut ops = Vec::new();
                let mut operand = None;
                for x in parts {
                    match x.as_rule() {
                        Rule::not_op => ops.push((UnOp::Not, self.span(&x))),
                        Rule::neg_op => ops.push((UnOp::Neg, self.span(&x))),
                        _ => operand = Some(self.expr(x)),
                    }
                }
                let mut e = operand.unwrap_or(Expr {
                    kind: ExprKind::Lit(Lit::None),
                    span,
                });
                while let Some((op, s)) = ops.pop() {
                    let sp = Span {
                        end: e.span.end,
                        ..s
                    };
                    e = Expr {
                        kind: ExprKind::Unary(op, Box::new(e)),
                        span: sp,
                    };
                }
                e
            }
            Rule::postfix => {
                let mut it = p.into_inner();
                let mut e = match it.next() {
                    Some(x) => self.expr(x),
                    None => {
                        return Expr {
                            kind: ExprKind::Lit(Lit::None),
                            span,
                        }
                    }
                };
                for x in it {
                    let xs = self.span(&x);
                    let s = Span {
                        end: xs.end,
                        ..e.span
                    };
                    e = match x.as_rule() {
                        Rule::field_access => match x.into_inner().next() {
                            Some(f) => {
                                let f = self.ident(f);
                                Expr {
                                    kind: ExprKind::Field(Box::new(e), f),
                                    span: s,
                                }
                            }
                            None => e,
                        },
                        _ => {
                            let args = x.into_inner().map(|a| self.expr(a)).collect();
                            Expr {
                                kind: ExprKind::Index(Box::new(e), args),
                                span: s,
                            }
                        }
                    };
                }
                e
            }
            Rule::primary => match p.into_inner().next() {
                Some(x) => self.expr(x),
                None => Expr {
                    kind: ExprKind::Lit(Lit::None),
                    span,
                },
            },
            Rule::date
            | Rule::percent
            | Rule::number
            | Rule::string
            | Rule::bool_lit
            | Rule::none_lit => Expr {
                kind: ExprKind::Lit(self.lit_of(p)),
                span,
            },
            Rule::as_of_kw => Expr {
                kind: ExprKind::AsOf,
                span,
            },
            Rule::ident => Expr {
                kind: ExprKind::Name(p.as_str().to_string()),
                span,
            },
            Rule::list_lit => {
                let items = p.into_inner().map(|x| self.expr(x)).collect();
                Expr {
                    kind: ExprKind::List(items),
                    span,
                }
            }
            Rule::call => {
                let mut it = p.into_inner();
                let name = match it.next() {
                    Some(n) => self.ident(n),
                    None => {
                        return Expr {
                            kind: ExprKind::Lit(Lit::None),
                            span,
                        }
                    }
                };
                let mut args = Vec::new();
                for a in it {
                    match a.into_inner().next() {
                        Some(x) if x.as_rule() == Rule::lambda => {
                            let mut li = x.into_inner();
                            if let (Some(v), Some(b)) = (li.next(), li.next()) {
                                let v = self.ident(v);
                                args.push(Arg::Lambda(v, self.expr(b)));
                            }
                        }
                        Some(x) => args.push(Arg::Expr(self.expr(x))),
                        None => {}
                    }
                }
                Expr {
                    kind: ExprKind::Call(name, args),
                    span,
                }
            }
            Rule::if_expr => {
                let parts: Vec<P> = p.into_inner().collect();
                let mut branches = Vec::new();
                let mut exprs = Vec::new();
                for x in parts {
                    if x.as_rule() == Rule::else_if {
                        let mut xi = x.into_inner();
                        if let (Some(c), Some(t)) = (xi.next(), xi.next()) {
                            let c = self.expr(c);
                            let t = self.expr(t);
                            branches.push((c, t));
                        }
                    } else {
                        exprs.push(self.expr(x));
                    }
                }
                // exprs = [cond, then, else]
                let mut ex = exprs.into_iter();
                match (ex.next(), ex.next(), ex.next()) {
                    (Some(c), Some(t), Some(e)) => {
                        branches.insert(0, (c, t));
                        Expr {
                            kind: ExprKind::If(branches, Box::new(e)),
                            span,
                        }
                    }
                    _ => Expr {
                        kind: ExprKind::Lit(Lit::None),
                        span,
                    },
                }
            }
            Rule::match_expr => {
                let mut it = p.into_inner();
                let scrut = match it.next() {
                    Some(x) => self.expr(x),
                    None => {
                        return Expr {
                            kind: ExprKind::Lit(Lit::None),
                            span,
                        }
                    }
                };
                let mut arms = Vec::new();
                for a in it {
                    let aspan = self.span(&a);
                    let mut patterns = Vec::new();
                    let mut body = None;
                    for x in a.into_inner() {
                        if x.as_rule() == Rule::pattern {
                            let ps = self.span(&x);
                            match x.into_inner().next() {
                                Some(q) if q.as_rule() == Rule::wildcard => {
                                    patterns.push(Pattern::Wildcard(ps))
                                }
                                Some(q) if q.as_rule() == Rule::qualified => {
                                    let mut qi = q.into_inner();
                                    if let (Some(e), Some(v)) = (qi.next(), qi.next()) {
                                        let e = self.ident(e);
                                        patterns.push(Pattern::Variant(Some(e), self.ident(v)));
                                    }
                                }
                                Some(q) => patterns.push(Pattern::Variant(None, self.ident(q))),
                                None => {}
                            }
                        } else {
                            body = Some(self.expr(x));
                        }
                    }
                    if let Some(body) = body {
                        arms.push(Arm {
                            patterns,
                            body,
                            span: aspan,
                        });
                    }
                }
                Expr {
                    kind: ExprKind::Match(Box::new(scrut), arms),
                    span,
                }
            }
            Rule::let_expr => {
                let mut binds = Vec::new();
                let mut body = None;
                for x in p.into_inner() {
                    if x.as_rule() == Rule::let_bind {
                        let mut xi = x.into_inner();
                        if let (Some(n), Some(v)) = (xi.next(), xi.next()) {
                            let n = self.ident(n);
                            binds.push((n, self.expr(v)));
                        }
                    } else {
                        body = Some(self.expr(x));
                    }
                }
                match body {
                    Some(b) => Expr {
                        kind: ExprKind::Let(binds, Box::new(b)),
                        span,
                    },
                    None => Expr {
                        kind: ExprKind::Lit(Lit::None),
                        span,
                    },
                }
            }
            Rule::adjust_expr => {
                let parts: Vec<P> = p.into_inner().collect();
                let mut it = parts.into_iter();
                let (Some(a), Some(s), Some(b), Some(t), Some(u), Some(m)) = (
                    it.next(),
                    it.next(),
                    it.next(),
                    it.next(),
                    it.next(),
                    it.next(),
                ) else {
                    return Expr {
                        kind: ExprKind::Lit(Lit::None),
                        span,
                    };
                };
                let floor = it.next().is_some();
                let unit_span = self.span(&u);
                let ut = u.as_str().to_string();
                let adj = Adjust {
                    amount: self.expr(a),
                    series: self.ident(s),
                    base: self.expr(b),
                    to: self.expr(t),
                    unit: self.decimal(&u, &ut),
                    unit_span,
                    mode: self.ident(m),
                    floor,
                };
                Expr {
                    kind: ExprKind::Adjust(Box::new(adj)),
                    span,
                }
            }
            _ => Expr {
                kind: ExprKind::Lit(Lit::None),
                span,
            },
        }
    }
}
