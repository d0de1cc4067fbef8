//! Resource limits: one struct a host can tighten.

/// Bounds on every input rulec reads. Each limit, when hit, gives its own diagnostic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest rule or CSV file, in bytes.
    pub max_source_bytes: usize,
    /// Deepest nesting of brackets and nested `if`/`let`/`match`/`not` in one declaration
    /// (every four keywords count as one level).
    pub max_nesting: usize,
    /// Deepest expression tree after parsing (a chain `a + b + c …` is as deep as it is long).
    pub max_expr_depth: usize,
    /// Most rows in one catalog.
    pub max_catalog_rows: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_source_bytes: 64 * 1024 * 1024,
            max_nesting: 256,
            max_expr_depth: 1024,
            max_catalog_rows: 2_000_000,
        }
    }
}
