//! Diagnostics: what every stage reports, and how it is rendered.
//!
//! A [`Diagnostic`] is data: a [`Code`] (stable, one per kind of problem), a message,
//! a primary span with its label, secondary labels, and help. Stages push them into a
//! [`Diagnostics`] collection and keep going, so one run reports every problem it can.
//! Rendering (miette's graphical handler for humans, a flat JSON array for machines)
//! happens only at the edge, in [`render_human`] and [`render_json`].

use crate::source::{FileId, SourceMap, Span};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan};
use std::fmt;

/// Error or warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Fails the run.
    Error,
    /// Reported; fails the run only under `--deny-warnings`.
    Warning,
}

macro_rules! codes {
    ($( $variant:ident = $code:literal, $sev:ident, $title:literal; )*) => {
        /// Every kind of diagnostic rulec reports. The string code is stable across releases:
        /// scripts and docs may rely on it. `docs/diagnostics.md` describes each one.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $(
            #[doc = $title]
            $variant,
        )* }

        impl Code {
            /// All codes, in documentation order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The stable code, e.g. `rulec::E0101`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => concat!("rulec::", $code),)* }
            }

            /// The default severity.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev,)* }
            }

            /// A one-line title for documentation.
            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title,)* }
            }
        }
    };
}

codes! {
    // ---- input and syntax
    EmptyFile = "E0001", Error, "The file is empty";
    InvalidUtf8 = "E0002", Error, "The file is not valid UTF-8";
    TooDeep = "E0003", Error, "Brackets or expressions are nested too deeply";
    UnterminatedString = "E0004", Error, "A string literal is not closed";
    UnterminatedComment = "E0005", Error, "A block comment is not closed";
    Syntax = "E0006", Error, "Syntax error";
    BadDate = "E0007", Error, "A date does not exist";
    NumberTooLarge = "E0008", Error, "A number is too large or too precise";
    SourceTooLarge = "E0009", Error, "A file exceeds the size limit";
    NoRuleFiles = "E0010", Error, "A directory holds no rule files";
    BadEscape = "E0011", Error, "A string has an unknown escape";
    TooManyOperators = "E0012", Error, "A declaration has more operators than the limit";
    FullWidth = "E0013", Error, "Full-width punctuation or digits where rule syntax is ASCII";
    // ---- names and rulesets
    UnknownName = "E0101", Error, "A name is not defined";
    Duplicate = "E0102", Error, "A name is defined twice";
    RedefinedWithoutOverride = "E0103", Error, "A parent's definition is redefined without `override`";
    OverrideWithoutParent = "E0104", Error, "`override` names nothing in the parent ruleset";
    UnknownType = "E0105", Error, "A type is not defined";
    UnknownField = "E0106", Error, "A record has no such field";
    AmbiguousVariant = "E0107", Error, "An enum value belongs to several enums";
    ParentNotFound = "E0108", Error, "The parent ruleset does not exist";
    ExtendsCycle = "E0109", Error, "Rulesets extend each other in a cycle";
    RulesetHeader = "E0110", Error, "The ruleset header is missing or repeated";
    OverrideKind = "E0111", Error, "An override changes the kind or type of a definition";
    UnknownSource = "E0112", Error, "A citation names an unknown source";
    WrongKind = "E0113", Error, "A name is used as something it is not";
    UnknownFunction = "E0114", Error, "A function is not defined";
    MissingInput = "E0115", Error, "The ruleset declares no input";
    CoverageCondition = "E0120", Error, "A `covers` condition is not a claim field compared with constants";
    HeaderMismatch = "E0116", Error, "The ruleset header does not match its directory";
    // ---- types and units
    TypeMismatch = "E0201", Error, "A value has the wrong type";
    BadOperands = "E0202", Error, "An operator does not apply to these units";
    Incomparable = "E0203", Error, "Values of different types are compared";
    ArgCount = "E0204", Error, "A function gets the wrong number of arguments";
    NotARecord = "E0205", Error, "A field is read from a value that has no fields";
    NonExhaustiveMatch = "E0206", Error, "A match does not cover every enum value";
    BadRounding = "E0207", Error, "A rounding unit or mode is invalid";
    NotIndexable = "E0208", Error, "A value is indexed that cannot be";
    BadLambda = "E0209", Error, "A function argument is used in the wrong place";
    RecursiveType = "E0210", Error, "A record contains itself";
    BadDigits = "E0211", Error, "Fraction digits are declared where they do not apply";
    // ---- dependencies
    Cycle = "E0301", Error, "Definitions depend on each other in a cycle";
    ProgramTooLarge = "E0302", Error, "The compiled rules exceed the size limit";
    // ---- effective dates
    VersionsUnordered = "E0401", Error, "Versions are not in date order";
    VersionsOverlap = "E0402", Error, "Versions overlap in time";
    VersionsGap = "E0403", Error, "Versions leave a gap in time";
    NotInForce = "E0404", Error, "A value is needed at a date where no version is in force";
    UntilBeforeFrom = "E0405", Error, "A version ends before it starts";
    NoPeriod = "E0406", Error, "An accumulator declares no period";
    BadPeriod = "E0407", Error, "An accumulator's period is not a year, a lifetime or a claim field";
    // ---- catalogs and tables
    CatalogFile = "E0501", Error, "A catalog or series file cannot be read";
    CsvMalformed = "E0502", Error, "A CSV row is malformed";
    CsvBadValue = "E0503", Error, "A CSV cell does not fit its column";
    DuplicateCode = "E0504", Error, "A catalog code appears twice at the same time";
    CsvMissingColumn = "E0505", Error, "A CSV file lacks a declared column";
    CatalogKey = "E0506", Error, "A catalog needs exactly one key column";
    TableIncomplete = "E0507", Error, "A table lacks rows for some keys";
    DuplicateRow = "E0508", Error, "A table has two rows for the same keys";
    RowArity = "E0509", Error, "A row has the wrong number of values";
    CatalogTooLarge = "E0510", Error, "A catalog has more rows than the limit";
    CsvUnknownColumn = "E0511", Error, "A CSV file has a column the catalog does not declare";
    CsvDuplicateColumn = "E0512", Error, "A CSV header names a column twice";
    CsvSeparator = "E0513", Error, "A CSV file is separated by tabs or semicolons, not commas";
    CellTooPrecise = "E0514", Error, "A number in a catalog or series has more digits than its column allows";
    CatalogRange = "E0515", Error, "A catalog value is outside its column's range";
    // ---- series and bands
    SeriesGap = "E0601", Error, "An index series misses a year inside its range";
    SeriesBaseYear = "E0602", Error, "An index series lacks the base year the rules use";
    BandsOrder = "E0603", Error, "Marginal bands are out of order or overlap";
    // ---- test cases (`tests/*.json` of a ruleset, read by `rulec check`)
    CaseFile = "E0801", Error, "A test file is not JSON in the case format";
    CaseUnknownName = "E0802", Error, "A test case names something the ruleset does not have";
    CaseWrongKey = "E0803", Error, "A test case puts a value under the wrong key";
    CaseClaim = "E0804", Error, "A test case's claim does not fit the declared input";
    // ---- evaluation (runtime)
    NoVersion = "E0701", Error, "No version of a value is in force at the evaluation date";
    RuleConflict = "E0702", Error, "Two exceptions apply to one claim at once";
    TableKeyMissing = "E0703", Error, "A table has no row for the keys of this claim";
    CodeNotInCatalog = "E0704", Error, "A code is not in the catalog at the evaluation date";
    SeriesYearMissing = "E0705", Error, "An index series has no value for a year the claim needs";
    Overflow = "E0706", Error, "A computation overflows";
    DivisionByZero = "E0707", Error, "A division by zero";
    EmptyAggregate = "E0708", Error, "The minimum or maximum of an empty list";
    InvalidClaim = "E0710", Error, "The claim does not fit the declared input";
    StepLimit = "E0711", Error, "Evaluation exceeds the step limit";
    NoEvaluationDate = "E0712", Error, "No evaluation date";
    RulesetErrors = "E0713", Error, "The ruleset has errors and cannot evaluate";
    NoRuleset = "E0714", Error, "No ruleset serves the claim's region";
    ClaimTooLarge = "E0715", Error, "A claim is larger than the limit";
    ClaimTooDeep = "E0716", Error, "A claim's JSON is nested deeper than the limit";
    ListTooLong = "E0717", Error, "A list in a claim is longer than the limit";
    TooPrecise = "E0718", Error, "A number in a claim has more fraction digits than its field allows";
    NotCovered = "E0730", Error, "No rule of the ruleset covers the claim";
    Internal = "E0739", Error, "Internal evaluator error (a bug in rulec)";
    Inexact = "E0740", Error, "A computation has no exact result";
    NotWholeFen = "E0741", Error, "A money amount of the settlement is not a whole number of fen";
    // ---- replay (runtime, `crate::replay`)
    NoInsuredId = "E0750", Error, "A replayed claim has no `insured.id`";
    NoEpisodeKey = "E0751", Error, "A replayed claim lacks the key of an accumulator's episode";
    ImpactInexact = "E0752", Error, "A total of an impact analysis has no exact value";
    // ---- warnings
    Unused = "W0001", Warning, "A declaration is never used";
    RateAbove100 = "W0002", Warning, "A rate is above 100%";
    UnreachableException = "W0003", Warning, "An exception can never apply";
    UnreachableArm = "W0004", Warning, "A match arm can never be reached";
    ParentHasErrors = "W0005", Warning, "A ruleset is not checked because its parent has errors";
    Uncited = "W0006", Warning, "A policy value does not say where it comes from";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secondary label: another place that explains the problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What to say there.
    pub message: String,
}

/// One problem found in the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The stable code.
    pub code: Code,
    /// Error or warning (from the code unless promoted).
    pub severity: Severity,
    /// The one-line message.
    pub message: String,
    /// The exact place, when there is one.
    pub span: Option<Span>,
    /// The label under the primary span.
    pub label: String,
    /// Further places.
    pub related: Vec<Label>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic at a span.
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            span: Some(span),
            label: String::new(),
            related: Vec::new(),
            help: None,
        }
    }

    /// A diagnostic with no place in a file.
    pub fn global(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            span: None,
            label: String::new(),
            related: Vec::new(),
            help: None,
        }
    }

    /// Sets the primary label.
    pub fn label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = label.into();
        self
    }

    /// Adds a secondary label.
    pub fn with(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.related.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// Sets the help text.
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Adds "did you mean" help when a suggestion exists.
    pub fn suggest(self, suggestion: Option<&str>) -> Diagnostic {
        match suggestion {
            Some(s) => self.help(format!("did you mean `{s}`?")),
            None => self,
        }
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The diagnostics of one run, errors and warnings kept apart.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// An empty collection.
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }

    /// Adds one.
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    /// Adds many.
    pub fn extend(&mut self, ds: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(ds);
    }

    /// True when any error was reported.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.items.len() - self.error_count()
    }

    /// All diagnostics: errors first, then warnings, each in source order, duplicates removed.
    pub fn sorted(&self) -> Vec<Diagnostic> {
        let mut v = self.items.clone();
        v.sort_by(|a, b| {
            (a.severity, a.span, a.code, &a.message).cmp(&(b.severity, b.span, b.code, &b.message))
        });
        v.dedup();
        v
    }

    /// The raw list, in the order reported.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// Number of diagnostics.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// One source file as miette reads it, without copying it.
///
/// miette's own `SourceCode` for a string scans the text from its first byte to find the
/// lines around a span, so rendering N diagnostics of one file cost N × the file's size
/// (20,000 warnings in one file took 41 s). This view keeps the start of every line, counted
/// as miette counts them (`\n`, `\r\n` or a lone `\r`), and hands miette only the window
/// of lines that holds the span and its context: its own reading then runs on that window,
/// so the output is the same and each diagnostic costs the size of its context. It also
/// reports the column in characters, not bytes.
///
/// A line longer than [`LONG_LINE`] bytes (a CSV header of thousands of columns, a minified
/// file) is shown without context lines, cut to a window around the span, and the column of
/// a span in it is counted from the previous span's column in the same line (diagnostics
/// come sorted), so N diagnostics on one long line cost N windows, not N lines.
#[derive(Debug)]
struct FileView<'s> {
    name: &'s str,
    text: &'s str,
    /// Byte offset of the start of each line; the first is 0.
    lines: &'s [usize],
    /// The last column counted: (line start, byte offset, characters from the line start).
    cursor: &'s Cursor,
}

/// The last column counted in a file: (line start, byte offset, characters from the line
/// start). A mutex only because miette's `SourceCode` must be `Sync`.
type Cursor = std::sync::Mutex<(usize, usize, usize)>;

/// Lines longer than this many bytes are cut around the span when shown.
const LONG_LINE: usize = 1024;
/// How many bytes of a long line are shown either side of the span.
const LONG_LINE_MARGIN: usize = 120;

/// Line starts as miette counts lines.
fn miette_line_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = vec![0];
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            i += 1;
        }
        if matches!(b, b'\r' | b'\n') {
            starts.push(i + 1);
        }
        i += 1;
    }
    starts
}

impl miette::SourceCode for FileView<'_> {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let start = span.offset();
        // The line holding the span's first byte, and the first line of the window.
        let line = self
            .lines
            .partition_point(|&s| s <= start)
            .saturating_sub(1);
        if let Some(cut) = self.long_line_window(
            line,
            start,
            span.len(),
            context_lines_before,
            context_lines_after,
        ) {
            return Ok(cut);
        }
        let first = line.saturating_sub(context_lines_before);
        let base = self.lines.get(first).copied().unwrap_or(0);
        let window = self
            .text
            .as_bytes()
            .get(base..)
            .ok_or(miette::MietteError::OutOfBounds)?;
        let inner = window.read_span(
            &(start.saturating_sub(base), span.len()).into(),
            context_lines_before,
            context_lines_after,
        )?;
        let column = if inner.column() == 0 {
            0
        } else {
            self.column(line, start)
        };
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.to_string(),
            inner.data(),
            (inner.span().offset() + base, inner.span().len()).into(),
            inner.line() + first,
            column,
            inner.line_count() + first,
        )))
    }
}

impl FileView<'_> {
    /// The byte range of line `i` without its line break.
    fn line_range(&self, i: usize) -> (usize, usize) {
        let start = self.lines.get(i).copied().unwrap_or(self.text.len());
        let mut end = self.lines.get(i + 1).copied().unwrap_or(self.text.len());
        let bytes = self.text.as_bytes();
        while end > start && matches!(bytes.get(end - 1), Some(b'\n' | b'\r')) {
            end -= 1;
        }
        (start, end)
    }

    /// The 0-based character column of byte `at` in line `line`.
    fn column(&self, line: usize, at: usize) -> usize {
        let line_start = self.lines.get(line).copied().unwrap_or(0);
        let (cached_line, cached_at, cached_chars) =
            self.cursor.lock().map(|c| *c).unwrap_or((usize::MAX, 0, 0));
        let chars = if cached_line == line_start && cached_at <= at && cached_at >= line_start {
            cached_chars + char_count(self.text, cached_at, at)
        } else {
            char_count(self.text, line_start, at)
        };
        if let Ok(mut c) = self.cursor.lock() {
            *c = (line_start, at, chars);
        }
        chars
    }

    /// The window shown for a span when a line it would show is long: the span's own line,
    /// cut to the span and a margin either side (at character boundaries).
    fn long_line_window<'a>(
        &'a self,
        line: usize,
        start: usize,
        len: usize,
        before: usize,
        after: usize,
    ) -> Option<Box<dyn miette::SpanContents<'a> + 'a>> {
        let first = line.saturating_sub(before);
        let end_line = self
            .lines
            .partition_point(|&s| s <= start + len.saturating_sub(1))
            .saturating_sub(1);
        let last = (end_line + after).min(self.lines.len().saturating_sub(1));
        let long = (first..=last).any(|i| {
            let (a, b) = self.line_range(i);
            b - a > LONG_LINE
        });
        if !long || end_line != line {
            return None;
        }
        let (line_start, line_end) = self.line_range(line);
        let mut from = start.saturating_sub(LONG_LINE_MARGIN).max(line_start);
        while from < start && !self.text.is_char_boundary(from) {
            from += 1;
        }
        let mut to = (start + len.min(LONG_LINE) + LONG_LINE_MARGIN).min(line_end);
        while to > start && !self.text.is_char_boundary(to) {
            to -= 1;
        }
        let data = self.text.get(from..to)?;
        let column = self.column(line, start);
        Some(Box::new(miette::MietteSpanContents::new_named(
            self.name.to_string(),
            data.as_bytes(),
            (from, to - from).into(),
            line,
            column,
            1,
        )))
    }
}

/// The number of characters between two byte offsets (the end rounded down to a character).
fn char_count(text: &str, from: usize, to: usize) -> usize {
    let mut to = to.min(text.len());
    while to > from && !text.is_char_boundary(to) {
        to -= 1;
    }
    text.get(from..to).map(|s| s.chars().count()).unwrap_or(0)
}

/// A diagnostic bound to its source, in the shape miette renders.
#[derive(Debug)]
struct MietteView<'s> {
    code: Code,
    severity: Severity,
    message: String,
    help: Option<String>,
    src: Option<FileView<'s>>,
    labels: Vec<LabeledSpan>,
    related: Vec<MietteView<'s>>,
    /// True for a secondary place in another file.
    is_related: bool,
}

impl fmt::Display for MietteView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MietteView<'_> {}

impl miette::Diagnostic for MietteView<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        if self.is_related {
            return None;
        }
        Some(Box::new(self.code.as_str()))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            _ if self.is_related => miette::Severity::Advice,
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.src.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(
                self.related.iter().map(|r| r as &dyn miette::Diagnostic),
            ))
        }
    }
}

/// The line starts of every file a run of rendering touches, each computed once.
struct LineIndex<'m> {
    map: &'m SourceMap,
    starts: std::collections::HashMap<FileId, (Vec<usize>, Cursor)>,
}

impl<'m> LineIndex<'m> {
    fn new(map: &'m SourceMap, diags: &[Diagnostic]) -> LineIndex<'m> {
        let mut starts = std::collections::HashMap::new();
        let files = diags
            .iter()
            .flat_map(|d| d.span.iter().chain(d.related.iter().map(|r| &r.span)))
            .map(|s| s.file);
        for id in files {
            if let (std::collections::hash_map::Entry::Vacant(e), Some(f)) =
                (starts.entry(id), map.get(id))
            {
                e.insert((
                    miette_line_starts(&f.text),
                    std::sync::Mutex::new((0, 0, 0)),
                ));
            }
        }
        LineIndex { map, starts }
    }

    fn view(&self, id: FileId) -> Option<FileView<'_>> {
        let file = self.map.get(id)?;
        let (lines, cursor) = self.starts.get(&id)?;
        Some(FileView {
            name: &file.name,
            text: &file.text,
            lines,
            cursor,
        })
    }
}

fn miette_view<'s>(d: &Diagnostic, index: &'s LineIndex<'_>) -> MietteView<'s> {
    let mut view = MietteView {
        code: d.code,
        severity: d.severity,
        message: d.message.clone(),
        help: d.help.clone(),
        src: None,
        labels: Vec::new(),
        related: Vec::new(),
        is_related: false,
    };
    let Some(span) = d.span else { return view };
    let Some(src) = index.view(span.file) else {
        return view;
    };
    view.src = Some(src);
    let label = if d.label.is_empty() {
        None
    } else {
        Some(d.label.clone())
    };
    view.labels.push(LabeledSpan::new_primary_with_span(
        label,
        (span.start as usize, span.len()),
    ));
    for rel in &d.related {
        if rel.span.file == span.file {
            view.labels.push(LabeledSpan::new_with_span(
                Some(rel.message.clone()),
                (rel.span.start as usize, rel.span.len()),
            ));
        } else if let Some(other) = index.view(rel.span.file) {
            view.related.push(MietteView {
                code: d.code,
                severity: d.severity,
                message: format!("related: {}", other.name),
                help: None,
                src: Some(other),
                labels: vec![LabeledSpan::new_with_span(
                    Some(rel.message.clone()),
                    (rel.span.start as usize, rel.span.len()),
                )],
                related: Vec::new(),
                is_related: true,
            });
        }
    }
    view
}

/// Renders diagnostics for people. With `color` off the output is plain text,
/// stable enough for golden tests. Lines and columns count characters; the cost is the
/// size of the files shown (indexed once) plus, per diagnostic, the lines it shows.
pub fn render_human(diags: &[Diagnostic], map: &SourceMap, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let index = LineIndex::new(map, diags);
    let mut out = String::new();
    for d in diags {
        let view = miette_view(d, &index);
        if handler.render_report(&mut out, &view).is_err() {
            out.push_str(&format!("{}: {}\n", d.code, d.message));
        }
        out.push('\n');
    }
    out
}

/// One diagnostic as machines see it.
#[derive(serde::Serialize, Debug, Clone, PartialEq, Eq)]
pub struct JsonDiagnostic {
    /// Stable code, e.g. `rulec::E0101`.
    pub code: &'static str,
    /// `error` or `warning`.
    pub severity: &'static str,
    /// The message.
    pub message: String,
    /// File name, when the problem has a place.
    pub file: Option<String>,
    /// Byte offset of the start.
    pub start: Option<u32>,
    /// Byte offset one past the end.
    pub end: Option<u32>,
    /// 1-based line.
    pub line: Option<usize>,
    /// 1-based column, in characters.
    pub column: Option<usize>,
    /// How to fix it.
    pub help: Option<String>,
}

/// Converts diagnostics to their JSON form.
pub fn to_json(diags: &[Diagnostic], map: &SourceMap) -> Vec<JsonDiagnostic> {
    diags
        .iter()
        .map(|d| {
            let file = d.span.and_then(|s| map.get(s.file));
            let (line, column) = match (d.span, file) {
                (Some(s), Some(f)) => {
                    let (l, c) = f.line_col(s.start);
                    (Some(l), Some(c))
                }
                _ => (None, None),
            };
            JsonDiagnostic {
                code: d.code.as_str(),
                severity: match d.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                },
                message: d.message.clone(),
                file: file.map(|f| f.name.clone()),
                start: d.span.map(|s| s.start),
                end: d.span.map(|s| s.end),
                line,
                column,
                help: d.help.clone(),
            }
        })
        .collect()
}

/// Renders diagnostics as one pretty JSON array.
pub fn render_json(diags: &[Diagnostic], map: &SourceMap) -> String {
    serde_json::to_string_pretty(&to_json(diags, map)).unwrap_or_else(|_| "[]".to_string())
}

/// The closest candidate to `name` (edit distance with adjacent transpositions, at most a
/// third of its length), for "did you mean" help.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)))
        .map(|(_, c)| c)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbouring characters (`cdoe` → `code`) each cost 1.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut before: Vec<usize> = Vec::new();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            let diag = prev.get(j).copied().unwrap_or(usize::MAX - 1) + cost;
            let up = prev.get(j + 1).copied().unwrap_or(usize::MAX - 1) + 1;
            let left = cur.last().copied().unwrap_or(usize::MAX - 1) + 1;
            let mut best = diag.min(up).min(left);
            let swapped = i > 0 && j > 0 && a.get(i - 1) == Some(cb) && b.get(j - 1) == Some(ca);
            if swapped {
                best = best.min(before.get(j - 1).copied().unwrap_or(usize::MAX - 1) + 1);
            }
            cur.push(best);
        }
        before = std::mem::replace(&mut prev, cur);
    }
    prev.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_swap_of_neighbours_is_one_edit() {
        assert_eq!(edit_distance("cdoe", "code"), 1);
        assert_eq!(edit_distance("code", "code"), 0);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(edit_distance("abc", "ca"), 3);
        assert_eq!(did_you_mean("cdoe", ["code", "name"]), Some("code"));
        assert_eq!(did_you_mean("ratoi", ["ratio"]), Some("ratio"));
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("deductable", ["deductible", "ratio"]),
            Some("deductible")
        );
        assert_eq!(did_you_mean("x", ["ratio"]), None);
    }

    #[test]
    fn codes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "{c} twice");
        }
    }
}
