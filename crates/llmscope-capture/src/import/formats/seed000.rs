//! Seed 000's Chainlit logs.
//!
//! Basic: `{"timestamp", "user_input", "model_response", "metadata": {"session_id",
//! "message_id", "response_time" (s), "token_count", "model_name"}}`.
//! Enhanced (flat `EnhancedLogEntry`): the same plus `input_length`, `input_category`,
//! `response_length`, `quality_rating`, `confidence_score`, `has_safety_issue`,
//! `model_version`, all at the top level. The entry's own quality rating, category and
//! safety flag become assessments from source `CODE` / `import:seed000`.
//!
//! `timestamp` is Python's naive `datetime.now().isoformat()`: local time of the app,
//! read in the import's `--assume-tz`.

use chrono::Utc;
use llmscope_core::{timeparse, Assessment, AssessmentSource, AssessmentValue, Call, SourceType};
use serde_json::{Map, Value};

use super::{common, ImportOptions, LineError};
use crate::import::fields::Obj;

const OWN: &[&str] = &[
    "timestamp",
    "user_input",
    "model_response",
    "metadata",
    "session_id",
    "message_id",
    "response_time",
    "token_count",
    "model_name",
    "model_version",
    "input_category",
    "quality_rating",
    "confidence_score",
    "has_safety_issue",
];

pub fn map(
    obj: &Map<String, Value>,
    opts: &ImportOptions,
    call: &mut Call,
    out: &mut Vec<Assessment>,
) -> Result<(), LineError> {
    let top = Obj::new(obj, "");
    let ts = top.get("timestamp").ok_or_else(|| LineError::at("timestamp".into(), "missing required field".into()))?;
    call.start_time =
        timeparse::parse_log_timestamp(ts, opts.naive_tz).map_err(|e| LineError::at("timestamp".into(), e))?;
    let input = top.text("user_input")?.unwrap_or_default();
    call.input = common::user_message(&input);
    call.input_text = input;
    call.output = Some(top.text("model_response")?.unwrap_or_default());
    call.operation = Some("chat".into());

    // Basic entries nest these under `metadata`; enhanced ones keep them at the top level.
    let meta_map = top.obj("metadata")?;
    let sources: Vec<Obj<'_>> = match meta_map {
        Some(m) => vec![Obj::new(m, "metadata"), top],
        None => vec![top],
    };
    for o in &sources {
        if call.session_id.is_none() {
            call.session_id = o.str("session_id")?;
        }
        if call.request_id.is_none() {
            call.request_id = o.str("message_id")?;
        }
        if call.latency_ms.is_none() {
            call.latency_ms = o.non_neg("response_time")?.map(|s| s * 1000.0);
        }
        if call.usage.output.is_none() {
            call.usage.output = o.tokens("token_count")?;
        }
        if call.model.is_none() {
            call.model = o.str("model_name")?;
        }
        if let Some(v) = o.str("model_version")? {
            call.attributes.insert("model_version".into(), Value::String(v));
        }
    }
    if call.model.is_none() {
        call.model = top.str("model_version")?;
    }

    // The entry's own verdicts.
    let confidence = top.f64("confidence_score")?;
    if let Some(q) = top.str("quality_rating")? {
        let mut metadata = Map::new();
        if let Some(c) = confidence {
            metadata.insert("confidence_score".into(), serde_json::json!(c));
        }
        out.push(assessment("quality", AssessmentValue::Text(q), metadata));
    }
    if let Some(c) = top.str("input_category")? {
        out.push(assessment("category", AssessmentValue::Text(c), Map::new()));
    }
    if let Some(s) = top.bool("has_safety_issue")? {
        out.push(assessment("safety_issue", AssessmentValue::Bool(s), Map::new()));
    }

    if let Some(m) = meta_map {
        common::apply_rest(call, Obj::new(m, "metadata"), OWN, "")?;
    }
    common::apply_rest(call, top, OWN, "")
}

fn assessment(name: &str, value: AssessmentValue, metadata: Map<String, Value>) -> Assessment {
    Assessment {
        id: String::new(),
        project: String::new(),
        trace_id: String::new(),
        call_id: None,
        name: name.into(),
        value,
        source: AssessmentSource { source_type: SourceType::Code, source_id: "import:seed000".into() },
        rationale: Some("recorded in the imported log entry".into()),
        metadata,
        overrides: None,
        created_at: Utc::now(),
    }
}
