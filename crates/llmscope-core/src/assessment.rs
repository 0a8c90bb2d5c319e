//! Assessments: named verdicts attached to a call, modelled on MLflow 3's `Feedback`.
//!
//! Assessments are append-only. A later assessment with the same `name` on the same target
//! overrides an earlier one (it names the earlier id in `overrides`); nothing is updated in
//! place. Automatic checks (source `CODE`), LLM judges (`LLM_JUDGE`) and people (`HUMAN`) all
//! write the same record.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One assessment of one call (or of one span of a trace).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// Unique id (32 hex digits).
    pub id: String,
    pub project: String,
    /// The trace the assessment is attached to.
    pub trace_id: String,
    /// The call (span) it is about; `None` when it is about the whole trace.
    pub call_id: Option<String>,
    /// Dimension name: `user_feedback`, `accuracy`, `pii`, `quality`, `category`, …
    pub name: String,
    pub value: AssessmentValue,
    pub source: AssessmentSource,
    pub rationale: Option<String>,
    pub metadata: serde_json::Map<String, Value>,
    /// The id of the assessment this one replaces, if any.
    pub overrides: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The value of an assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AssessmentValue {
    Bool(bool),
    Number(f64),
    /// A category or free text.
    Text(String),
}

impl Assessment {
    /// What is wrong with an assessment taken from outside, if anything: an empty id or
    /// name, a trace id that is not 32 hex digits (not all zero), a time outside the years
    /// logs are accepted from.
    pub fn problem(&self) -> Option<(&'static str, String)> {
        if self.id.trim().is_empty() {
            return Some(("id", "must not be empty".into()));
        }
        if self.name.trim().is_empty() {
            return Some(("name", "must not be empty".into()));
        }
        if crate::ids::parse_hex_id(&self.trace_id, 32).is_none() {
            return Some(("trace_id", format!("expected 32 hex digits, not all zero, found {:?}", self.trace_id)));
        }
        if let Err(e) = crate::timeparse::in_range(self.created_at, &self.created_at.to_rfc3339()) {
            return Some(("created_at", e));
        }
        None
    }
}

impl AssessmentValue {
    /// The value's type name as stored (`bool`, `number`, `text`).
    pub fn kind(&self) -> &'static str {
        match self {
            AssessmentValue::Bool(_) => "bool",
            AssessmentValue::Number(_) => "number",
            AssessmentValue::Text(_) => "text",
        }
    }
}

/// Who produced an assessment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssessmentSource {
    pub source_type: SourceType,
    /// The person, judge or check that produced it (`user-123`, `gpt-4o-judge`, `pii.v1`).
    pub source_id: String,
}

/// MLflow's assessment source types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SourceType {
    Human,
    LlmJudge,
    Code,
}

impl SourceType {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceType::Human => "HUMAN",
            SourceType::LlmJudge => "LLM_JUDGE",
            SourceType::Code => "CODE",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "HUMAN" => Some(SourceType::Human),
            "LLM_JUDGE" => Some(SourceType::LlmJudge),
            "CODE" => Some(SourceType::Code),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_serialises_untagged() {
        assert_eq!(serde_json::to_string(&AssessmentValue::Bool(true)).ok(), Some("true".into()));
        let v: AssessmentValue = serde_json::from_str("4").unwrap_or(AssessmentValue::Bool(false));
        assert_eq!(v, AssessmentValue::Number(4.0));
        assert_eq!(SourceType::parse("llm_judge"), Some(SourceType::LlmJudge));
    }
}
