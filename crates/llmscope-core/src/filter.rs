//! The filter every query surface (CLI, API, reports, dashboard) accepts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::call::CallStatus;

/// Which calls a query looks at. Empty lists mean "any"; several values in one list are OR-ed,
/// different fields are AND-ed. Fields left empty are not written out, so that a filter from a
/// newer llmscope that sets only the fields an older one knows still reads there (unknown
/// fields are rejected).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallFilter {
    /// Project; `None` means every project (single-tenant CLI use).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Inclusive lower bound on `start_time`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// Exclusive upper bound on `start_time`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sessions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<CallStatus>,
    /// Calls carrying every one of these flags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// Calls carrying every one of these tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Case-insensitive substring search over the question (`input_text`: the last user
    /// message or the prompt), the output and the error message; earlier messages of a chat
    /// are not searched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// A single trace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// Calls whose id starts with this (ids are shown shortened in reports).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_prefix: Option<String>,
}

/// Longest search text (a longer one is no search a person types, and a regular expression
/// engine limits the size of the pattern it is turned into).
pub const MAX_TEXT_CHARS: usize = 1000;

impl CallFilter {
    /// A filter over a time window only.
    pub fn window(since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> Self {
        CallFilter { since, until, ..Default::default() }
    }

    /// What is wrong with the filter, if anything: an empty window, a search text too long,
    /// a trace id that is not one, a flag no check sets (each would match nothing, silently,
    /// or fail in the store).
    pub fn problem(&self) -> Option<String> {
        if let (Some(since), Some(until)) = (self.since, self.until) {
            if since >= until {
                return Some(format!("since ({since}) must be before until ({until})"));
            }
        }
        if let Some(t) = self.text.as_ref().filter(|t| t.chars().count() > MAX_TEXT_CHARS) {
            return Some(format!("text: {} characters, at most {MAX_TEXT_CHARS} are searched for", t.chars().count()));
        }
        if let Some(t) = self.trace_id.as_ref().filter(|t| t.len() != 32 || !t.bytes().all(|b| b.is_ascii_hexdigit())) {
            return Some(format!("trace id {t:?} is not 32 hexadecimal digits"));
        }
        let unknown = self.flags.iter().find(|f| !crate::checks::ALL_FLAGS.contains(&f.as_str()))?;
        Some(format!("flag {unknown:?} is not one of {}", crate::checks::ALL_FLAGS.join(", ")))
    }
}
