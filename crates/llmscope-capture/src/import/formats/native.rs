//! llmscope's own call record, one per line (what `llmscope calls --format jsonl` writes and
//! the ingest API takes). `start_time` is required, a field the schema does not name is
//! rejected, and type errors name the JSON path of the field (docs/api.md).

use std::sync::OnceLock;

use llmscope_core::{timeparse, Call, TokenUsage};
use serde_json::{Map, Value};

use super::{common, LineError};
use crate::import::fields::{Obj, MAX_TOKENS};

pub fn map(obj: &Map<String, Value>, call: &mut Call) -> Result<(), LineError> {
    check_fields(obj)?;
    let derived_id = std::mem::take(&mut call.id);
    let project = std::mem::take(&mut call.project);
    let value = Value::Object(obj.clone());
    let parsed: Call = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        LineError::at(if path == "." { String::new() } else { path }, e.into_inner().to_string())
    })?;
    *call = parsed;
    if call.id.is_empty() {
        call.id = derived_id;
    } else if call.id.len() > 128 {
        return Err(LineError::at("id".into(), "longer than 128 characters".into()));
    }
    if call.project.is_empty() {
        call.project = project;
    }
    // The other formats read their token counts through `Obj::tokens`, which checks this.
    let u = &call.usage;
    for (name, v) in [("input", u.input), ("output", u.output), ("cached", u.cached), ("total", u.total)] {
        if let Some(n) = v.filter(|n| *n > MAX_TOKENS) {
            return Err(LineError::at(
                format!("usage.{name}"),
                format!("{name} token count {n} is out of range (at most {MAX_TOKENS})"),
            ));
        }
    }
    for (key, t) in [
        ("start_time", Some(call.start_time)),
        ("first_token_time", call.first_token_time),
        ("end_time", call.end_time),
    ] {
        if let Some(t) = t {
            timeparse::in_range(t, &t.to_rfc3339()).map_err(|e| LineError::at(key.into(), e))?;
        }
    }
    // Empty ids are derived later.
    if !call.trace_id.is_empty() {
        call.trace_id = common::hex_id(&call.trace_id, "trace_id", 32)?;
    }
    if !call.span_id.is_empty() {
        call.span_id = common::hex_id(&call.span_id, "span_id", 16)?;
    }
    if let Some(p) = call.parent_span_id.as_deref().filter(|p| !p.is_empty()) {
        call.parent_span_id = Some(common::hex_id(p, "parent_span_id", 16)?);
    }
    Ok(())
}

/// Field names of the call schema, of its `usage` and of its `origin`: what a default record
/// serialises to, so the list follows the struct.
fn known() -> &'static [Vec<String>; 3] {
    static KNOWN: OnceLock<[Vec<String>; 3]> = OnceLock::new();
    KNOWN.get_or_init(|| {
        let keys = |v: Value| v.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
        let call = keys(serde_json::to_value(Call::default()).unwrap_or_default());
        let usage = keys(serde_json::to_value(TokenUsage::default()).unwrap_or_default());
        let origin = ["kind", "file", "line", "format"].map(str::to_string).to_vec();
        [call, usage, origin]
    })
}

/// Rejects a record without `start_time` or with a field the schema does not name.
fn check_fields(obj: &Map<String, Value>) -> Result<(), LineError> {
    let [call, usage, origin] = known();
    let unknown = |map: &Map<String, Value>, names: &[String], path: &str| -> Result<(), LineError> {
        match map.keys().find(|k| !names.contains(k)) {
            Some(k) => Err(LineError::at(
                Obj::new(map, path).path_of(k),
                "unknown field (the call schema's fields are listed in docs/api.md)".into(),
            )),
            None => Ok(()),
        }
    };
    unknown(obj, call, "")?;
    if let Some(Value::Object(u)) = obj.get("usage") {
        unknown(u, usage, "usage")?;
    }
    if let Some(Value::Object(o)) = obj.get("origin") {
        unknown(o, origin, "origin")?;
    }
    if obj.get("start_time").is_none_or(Value::is_null) {
        return Err(LineError::at("start_time".into(), "missing required field".into()));
    }
    Ok(())
}
