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
    /// Largest claim JSON, in bytes.
    pub max_claim_bytes: usize,
    /// Deepest nesting of a claim's JSON.
    pub max_json_depth: usize,
    /// Most elements in one list of a claim (e.g. items).
    pub max_list_len: usize,
    /// Most expression steps one evaluation may take.
    pub max_steps: u64,
    /// Most expression nodes in one compiled ruleset (all bodies together). Functions are
    /// compiled once, so this grows with the text, never with the number of calls.
    pub max_compiled_nodes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_source_bytes: 64 * 1024 * 1024,
            max_nesting: 256,
            max_expr_depth: 1024,
            max_catalog_rows: 2_000_000,
            max_claim_bytes: 16 * 1024 * 1024,
            max_json_depth: 64,
            max_list_len: 100_000,
            max_steps: 10_000_000,
            max_compiled_nodes: 4_000_000,
        }
    }
}

/// The most worker threads `--jobs` may ask for. More threads than that only cost memory
/// and start-up time (a thread each, and work split too fine), and a mistyped `--jobs
/// 100000` would otherwise seem to hang.
pub const MAX_JOBS: usize = 256;

/// Parses `--jobs N` (of `impact` and `eval --batch`; a clap value parser): 1 to
/// [`MAX_JOBS`] worker threads, or why not.
pub fn parse_jobs(s: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("expected a number of worker threads, 1 to {MAX_JOBS}"))?;
    if n == 0 || n > MAX_JOBS {
        return Err(format!(
            "{n} worker threads: give 1 to {MAX_JOBS} (this machine has {} cores; without \
             --jobs, every core is used)",
            std::thread::available_parallelism()
                .map(|c| c.get())
                .unwrap_or(1)
        ));
    }
    Ok(n)
}
