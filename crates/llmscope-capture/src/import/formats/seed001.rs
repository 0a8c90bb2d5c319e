//! Seed 001's inference log: `{"timestamp" (epoch s), "level", "request_id", "model",
//! "input", "output", "metadata": {"prompt_tokens", "completion_tokens", "total_tokens",
//! "first_token_latency_ms", "total_latency_ms", "device", "temperature",
//! "function_calling", "json_mode", …}}`. `level: ERROR` marks a failed call; other metadata
//! with a clear meaning (`user_id`, `session_id`, `status_code`, `error`, …) is mapped, the
//! rest (`device`, …) kept as attributes.

use llmscope_core::{timeparse, Call};
use serde_json::{Map, Value};

use super::{common, ImportOptions, LineError};
use crate::import::fields::Obj;

const OWN: &[&str] = &["timestamp", "level", "input", "output", "metadata"];

pub fn map(obj: &Map<String, Value>, opts: &ImportOptions, call: &mut Call) -> Result<(), LineError> {
    let top = Obj::new(obj, "");
    let ts = top.get("timestamp").ok_or_else(|| LineError::at("timestamp".into(), "missing required field".into()))?;
    call.start_time =
        timeparse::parse_log_timestamp(ts, opts.naive_tz).map_err(|e| LineError::at("timestamp".into(), e))?;
    match top.get("input") {
        Some(Value::Array(msgs)) => {
            call.input_text = last_user_text(msgs);
            call.input = Value::Array(msgs.clone());
        }
        _ => {
            let input = top.text("input")?.unwrap_or_default();
            call.input = Value::String(input.clone());
            call.input_text = input;
        }
    }
    call.output = Some(top.text("output")?.unwrap_or_default());
    common::level(call, top, "level")?;
    // The format's own top-level fields win over same-named metadata.
    common::apply_rest(call, top, OWN, "")?;
    if let Some(meta) = top.obj("metadata")? {
        common::apply_rest(call, Obj::new(meta, "metadata"), &[], "")?;
    }
    Ok(())
}

/// The text of the last `user` message of a chat message array.
pub fn last_user_text(msgs: &[Value]) -> String {
    msgs.iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .and_then(|m| common::content_text(m.get("content")))
        .unwrap_or_default()
}
