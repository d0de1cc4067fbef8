//! The test-case file format: what a ruleset's `tests/*.json` hold, and reading them.
//!
//! A file holds one case or an array of cases:
//!
//! ```json
//! { "name": "level 1, active: 80%",
//!   "source": "binzhou-outpatient-pooling-2024.txt: 一级医院报销比例 80%",
//!   "as_of": "2024-06-10",
//!   "claim": { … the standard claim … },
//!   "expect": { "funds.outpatient_pooling": "80.00", "patient_pays": "20.00" },
//!   "expect_values": { "deductible_now": "0.00" },
//!   "expect_error": { "code": "rulec::E0701", "message": "no version" } }
//! ```
//!
//! This module sits below both users of the format: `case_check` (what `rulec check` says
//! about a test file) and `testing` (what `rulec test` runs), so neither depends on the other
//! for it.

use crate::limits::Limits;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::path::Path;

/// One test case as written.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// What it checks.
    pub name: String,
    /// The source document and passage the numbers come from, if any.
    #[serde(default)]
    pub source: Option<String>,
    /// Evaluate as of this date instead of the claim's date.
    #[serde(default)]
    pub as_of: Option<String>,
    /// The claim.
    pub claim: Json,
    /// Expected settlement fields: path → value.
    #[serde(default)]
    pub expect: BTreeMap<String, Json>,
    /// Expected intermediate values: definition name → value.
    #[serde(default)]
    pub expect_values: BTreeMap<String, Json>,
    /// The expected error.
    #[serde(default)]
    pub expect_error: Option<ExpectError>,
}

/// An expected error.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectError {
    /// Its code, e.g. `rulec::E0705`.
    pub code: String,
    /// Text the message contains.
    #[serde(default)]
    pub message: Option<String>,
}

/// Reads the cases of one file (one case, or an array of them).
pub fn read_cases(path: &Path) -> Result<Vec<Case>, String> {
    let bytes = crate::io::read_file(path, Limits::default().max_source_bytes)
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8(bytes).map_err(|e| {
        format!(
            "`{}` is not valid UTF-8 (bad byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })?;
    let j: Json = serde_json::from_str(&text).map_err(|e| format!("not valid JSON: {e}"))?;
    let list = match j {
        Json::Array(a) => a,
        other => vec![other],
    };
    list.into_iter()
        .enumerate()
        .map(|(i, c)| serde_json::from_value::<Case>(c).map_err(|e| format!("case {}: {e}", i + 1)))
        .collect()
}
