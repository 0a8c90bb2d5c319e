//! Seed 004's `json_log_formatter` lines: `{"message", "time", "request_id", "user_id",
//! "model_version", "input_tokens", "output_tokens", "latency_ms", "prompt_length",
//! "response_length"}`. `time` is the formatter's `datetime.utcnow()`: naive UTC.
//!
//! These lines carry metrics but no text: the output is unknown (not empty) unless
//! `response_length` is 0.

use chrono_tz::Tz;
use llmscope_core::{timeparse, Call};
use serde_json::{Map, Value};

use super::{common, LineError};
use crate::import::fields::Obj;

const OWN: &[&str] = &[
    "message",
    "time",
    "asctime",
    "timestamp",
    "model_version",
    "levelname",
    "level",
    "prompt_length",
    "response_length",
];

pub fn map(obj: &Map<String, Value>, call: &mut Call) -> Result<(), LineError> {
    let top = Obj::new(obj, "");
    let key = ["time", "asctime", "timestamp"].into_iter().find(|k| top.has(k)).unwrap_or("time");
    let ts = top.get(key).ok_or_else(|| LineError::at("time".into(), "missing required field".into()))?;
    call.start_time = timeparse::parse_log_timestamp(ts, Tz::UTC).map_err(|e| LineError::at(key.into(), e))?;
    call.input = Value::Null;
    call.model = top.str("model_version")?;
    if let Some(m) = top.str("message")? {
        call.attributes.insert("message".into(), Value::String(m));
    }
    // `logging`'s own name for the level, and the one a formatter may rename it to.
    common::level(call, top, "levelname")?;
    common::level(call, top, "level")?;
    if let Some(n) = top.u64("prompt_length")? {
        call.attributes.insert("prompt_length".into(), n.into());
    }
    match top.u64("response_length")? {
        Some(0) => call.output = Some(String::new()),
        Some(n) => {
            call.attributes.insert("response_length".into(), n.into());
        }
        None => {}
    }
    common::apply_rest(call, top, OWN, "")
}
