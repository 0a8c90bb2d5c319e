//! Langfuse observations, as its public API (`GET /api/public/observations`) and its exports
//! give them, one JSON object each: `id, traceId, type, name, startTime, endTime,
//! completionStartTime, model, modelParameters, input, output, usage{input, output, total},
//! usageDetails, costDetails, level, statusMessage, parentObservationId, metadata, …`.
//!
//! A `GENERATION` (or `EMBEDDING`) observation is an LLM call; any other type (a span, an
//! event, a tool) is rejected saying so. The input is the messages (an array, or an object
//! holding `messages`) or the prompt text; the output a string, a message (`content`,
//! `tool_calls`) or an OpenAI answer. Times are ISO; the time to first token is
//! `completionStartTime` less `startTime`. A `level` of `ERROR` is a failed call with
//! `statusMessage` as its message. Ids that are OpenTelemetry's (32 and 16 hex digits, as
//! Langfuse's v3 SDKs make them) become the trace and span ids; others are kept as attributes.

use llmscope_core::{ids, Call, CallStatus, SpanKind};
use serde_json::{Map, Value};

use super::{common, openai, seed001::last_user_text, ImportOptions, LineError};
use crate::import::fields::Obj;

/// Whether an object is a Langfuse observation.
pub fn is_observation(obj: &Map<String, Value>) -> bool {
    obj.contains_key("traceId") && obj.contains_key("startTime") && obj.get("type").is_some_and(Value::is_string)
}

const OWN: &[&str] = &[
    "id",
    "traceId",
    "type",
    "name",
    "startTime",
    "endTime",
    "completionStartTime",
    "model",
    "modelParameters",
    "input",
    "output",
    "usage",
    "usageDetails",
    "level",
    "statusMessage",
    "parentObservationId",
    "metadata",
    "latency",
    "timeToFirstToken",
    "promptTokens",
    "completionTokens",
    "totalTokens",
    "unit",
];

pub fn map(obj: &Map<String, Value>, opts: &ImportOptions, call: &mut Call) -> Result<(), LineError> {
    let top = Obj::new(obj, "");
    let kind = top.req_str("type")?;
    call.span_kind = match kind.as_str() {
        "GENERATION" => SpanKind::Llm,
        "EMBEDDING" => SpanKind::Embedding,
        other => {
            return Err(LineError::at(
                "type".into(),
                format!("a Langfuse {other} observation is not an LLM call (GENERATION and EMBEDDING ones are)"),
            ))
        }
    };
    call.operation = Some(if kind == "EMBEDDING" { "embedding" } else { "chat" }.into());
    let time = |key: &str| top.time(key, opts.naive_tz);
    let start = time("startTime")?.ok_or_else(|| LineError::at("startTime".into(), "missing".into()))?;
    call.start_time = start;
    let after = |t| common::ms_after(start, t);
    let (latency, ttft) = (time("endTime")?.and_then(after), time("completionStartTime")?.and_then(after));
    call.latency_ms = latency.or(top.non_neg("latency")?.map(|s| s * 1000.0));
    call.ttft_ms = ttft.or(top.non_neg("timeToFirstToken")?.map(|s| s * 1000.0));

    for (key, slot, len) in [("traceId", 0, 32), ("id", 1, 16), ("parentObservationId", 2, 16)] {
        let Some(id) = top.str(key)? else { continue };
        match (ids::parse_hex_id(&id.replace('-', ""), len), slot) {
            (Some(hex), 0) => call.trace_id = hex,
            (Some(hex), 1) => call.span_id = hex,
            (Some(hex), _) => call.parent_span_id = Some(hex),
            (None, _) => {
                call.attributes.insert(format!("langfuse_{key}"), Value::String(id));
            }
        }
    }
    call.model = top.str("model")?;
    call.name = top.str("name")?;
    if let Some(p) = top.obj("modelParameters")? {
        let params = Obj::new(p, "modelParameters");
        for (k, v) in p {
            if k == "temperature" {
                call.temperature = params.f64(k)?;
            } else if !v.is_null() {
                call.params.insert(k.clone(), v.clone());
            }
        }
        if let Some(rf) = p.get("response_format").filter(|rf| !rf.is_null()) {
            call.json_mode = matches!(rf.get("type").and_then(Value::as_str), Some("json_object" | "json_schema"));
            call.response_format = Some(rf.clone());
        }
    }
    read_input(top.get("input"), call);
    read_output(top.get("output"), call)?;
    read_usage(top, call)?;
    match top.str("level")?.as_deref() {
        Some("ERROR") => {
            call.status = CallStatus::Error;
            call.error_message = top.str("statusMessage")?;
            call.output.get_or_insert_with(String::new);
        }
        Some(level @ ("WARNING" | "DEBUG")) => {
            call.attributes.insert("level".into(), Value::String(level.into()));
            if let Some(m) = top.str("statusMessage")? {
                call.attributes.insert("status_message".into(), Value::String(m));
            }
        }
        _ => {}
    }
    if let Some(meta) = top.obj("metadata")? {
        common::apply_rest(call, Obj::new(meta, "metadata"), &[], "metadata")?;
    }
    common::apply_rest(call, top, OWN, "")
}

fn read_input(input: Option<&Value>, call: &mut Call) {
    let msgs = match input {
        Some(Value::Array(m)) if m.iter().any(|m| m.get("role").is_some()) => Some(m),
        Some(Value::Object(o)) => o.get("messages").and_then(Value::as_array),
        _ => None,
    };
    match (msgs, input) {
        (Some(m), _) => {
            call.input_text = last_user_text(m);
            call.input = Value::Array(m.clone());
        }
        (None, Some(v)) => {
            call.input_text = common::content_text(Some(v))
                .or_else(|| v.get("prompt").and_then(|p| common::content_text(Some(p))))
                .unwrap_or_default();
            call.input = v.clone();
        }
        (None, None) => {}
    }
}

fn read_output(output: Option<&Value>, call: &mut Call) -> Result<(), LineError> {
    match output {
        None => {}
        Some(Value::String(s)) => call.output = Some(s.clone()),
        Some(Value::Object(o)) if o.contains_key("choices") => {
            openai::map_response_at(o, "output", call)?;
        }
        Some(Value::Object(o)) => {
            call.output = Some(common::content_text(o.get("content")).unwrap_or_default());
            call.tool_calls = o.get("tool_calls").filter(|t| !t.is_null()).cloned();
        }
        // An embedding's vectors, or any other value: no text to speak of.
        Some(_) if call.span_kind == SpanKind::Embedding => call.output = None,
        Some(v) => call.output = Some(v.to_string()),
    }
    Ok(())
}

fn read_usage(top: Obj<'_>, call: &mut Call) -> Result<(), LineError> {
    let details = top.obj("usageDetails")?;
    let usage = top.obj("usage")?;
    let count = |keys: &[&str]| -> Result<Option<u64>, LineError> {
        for (map, path) in [(details, "usageDetails"), (usage, "usage")] {
            let Some(m) = map else { continue };
            let o = Obj::new(m, path);
            for k in keys {
                if let Some(n) = o.tokens(k)? {
                    return Ok(Some(n));
                }
            }
        }
        Ok(None)
    };
    call.usage.input = count(&["input", "prompt_tokens", "input_tokens"])?.or(top.tokens("promptTokens")?);
    call.usage.output = count(&["output", "completion_tokens", "output_tokens"])?.or(top.tokens("completionTokens")?);
    call.usage.total = count(&["total", "total_tokens"])?.or(top.tokens("totalTokens")?);
    call.usage.cached = count(&["cache_read_input_tokens", "input_cached_tokens", "cached_tokens"])?;
    call.usage.cache_write = count(&["cache_creation_input_tokens", "input_cache_creation"])?;
    let total_cost = top.obj("costDetails")?.and_then(|c| c.get("total"));
    if let Some(cost) = top.get("calculatedTotalCost").or(total_cost).filter(|v| v.is_number()) {
        call.attributes.insert("langfuse_cost".into(), cost.clone());
    }
    Ok(())
}
