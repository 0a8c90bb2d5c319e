//! LiteLLM's `StandardLoggingPayload`: what the LiteLLM proxy or SDK hands its loggers (and
//! writes to S3, GCS or a generic logging endpoint) for every call, one JSON object each:
//! `id, trace_id, call_type, stream, status ("success" | "failure"), startTime, endTime,
//! completionStartTime` (epoch seconds), `model, model_group, model_id, api_base,
//! custom_llm_provider, prompt_tokens, completion_tokens, total_tokens, response_cost,
//! cache_hit, end_user, request_tags, metadata{user_api_key_*, requester_metadata, …},
//! messages, response, model_parameters, error_str, error_information{error_code,
//! error_class, llm_provider}`.
//!
//! `response` is the OpenAI-shaped answer LiteLLM returned (mapped as in a pair), `messages`
//! the request's, `model_parameters` its settings. The time to first token is
//! `completionStartTime` less `startTime` for a streamed call only (LiteLLM sets it to the
//! end time otherwise). The end user is `end_user`, else the key's user
//! (`metadata.user_api_key_user_id`); `metadata.requester_metadata` (what the caller sent as
//! `metadata`) is read for the well-known names (`session_id`, …). LiteLLM's own cost is
//! kept as the attribute `response_cost`; the report prices calls from its own table.

use llmscope_core::{Call, CallStatus, SpanKind};
use serde_json::{Map, Value};

use super::{common, openai, seed001::last_user_text, ImportOptions, LineError};
use crate::import::fields::Obj;

/// Whether an object is a `StandardLoggingPayload`.
pub fn is_payload(obj: &Map<String, Value>) -> bool {
    obj.contains_key("call_type") && obj.contains_key("startTime")
}

/// The keys read here; the rest go through [`common::apply_rest`].
const OWN: &[&str] = &[
    "id",
    "trace_id",
    "call_type",
    "stream",
    "status",
    "startTime",
    "endTime",
    "completionStartTime",
    "response_time",
    "model",
    "custom_llm_provider",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "end_user",
    "request_tags",
    "metadata",
    "messages",
    "response",
    "model_parameters",
    "error_str",
    "error_information",
];

pub fn map(obj: &Map<String, Value>, opts: &ImportOptions, call: &mut Call) -> Result<(), LineError> {
    let top = Obj::new(obj, "");
    let time = |key: &str| top.time(key, opts.naive_tz);
    let start = time("startTime")?.ok_or_else(|| LineError::at("startTime".into(), "missing".into()))?;
    call.start_time = start;
    let ms_after_start = |t| common::ms_after(start, t);
    let end = time("endTime")?;
    let latency = end.and_then(ms_after_start);
    let streamed = top.bool("stream")?.unwrap_or(false);
    let ttft = if streamed { time("completionStartTime")?.and_then(ms_after_start) } else { None };
    call.end_time = end.filter(|e| *e >= call.start_time);

    call.model = top.str("model")?;
    call.provider = top.str("custom_llm_provider")?;
    if let Some(kind) = top.str("call_type")? {
        // The SDK's async variants (`acompletion`) are the same calls.
        let base = kind.strip_prefix('a').filter(|k| KNOWN_CALLS.contains(k)).unwrap_or(&kind);
        call.operation = Some(
            match base {
                "completion" => "chat",
                "text_completion" => "completion",
                "embedding" => {
                    call.span_kind = SpanKind::Embedding;
                    "embedding"
                }
                "responses" => "responses",
                other => other,
            }
            .to_string(),
        );
        call.attributes.insert("call_type".into(), Value::String(kind));
    }
    match top.get("messages") {
        Some(Value::Array(msgs)) if msgs.iter().any(|m| m.get("role").is_some()) => {
            call.input_text = last_user_text(msgs);
            call.input = Value::Array(msgs.clone());
        }
        Some(Value::String(s)) => {
            call.input_text = s.clone();
            call.input = Value::String(s.clone());
        }
        Some(other) => {
            call.input_text = common::content_text(Some(other)).unwrap_or_default();
            call.input = other.clone();
        }
        None => {}
    }
    if let Some(p) = top.obj("model_parameters")? {
        let mut req = p.clone();
        req.remove("model");
        req.remove("messages");
        openai::map_chat_request(&req, call)?;
        call.model = call.model.take().or(top.str("model")?);
    }
    match top.get("response") {
        Some(Value::Object(r)) if !r.is_empty() => {
            openai::map_response_at(r, "response", call)?;
        }
        Some(Value::String(s)) => call.output = Some(s.clone()),
        _ => {}
    }
    // The payload's own counts win over the answer's (LiteLLM counts when the answer does not).
    for (slot, key) in [
        (&mut call.usage.input, "prompt_tokens"),
        (&mut call.usage.output, "completion_tokens"),
        (&mut call.usage.total, "total_tokens"),
    ] {
        if let Some(n) = top.tokens(key)?.filter(|n| *n > 0 || slot.is_none()) {
            *slot = Some(n);
        }
    }
    call.latency_ms = latency;
    call.ttft_ms = ttft;
    if let Some(id) = top.str("id")? {
        call.request_id.get_or_insert(id.clone());
        call.attributes.insert("litellm_call_id".into(), Value::String(id));
    }
    if let Some(t) = top.str("trace_id")? {
        // A UUID: its 32 hex digits are a trace id; anything else is kept as it is.
        match common::trace_id_of(&t) {
            Some(id) => call.trace_id = id,
            None => {
                call.attributes.insert("litellm_trace_id".into(), Value::String(t));
            }
        }
    }
    if top.str("status")?.as_deref() == Some("failure") {
        call.status = CallStatus::Error;
        call.output.get_or_insert_with(String::new);
        call.error_message = top.str("error_str")?.or_else(|| call.error_message.take());
        if let Some(info) = top.obj("error_information")? {
            let e = Obj::new(info, "error_information");
            call.error_kind = e.str("error_class")?.or_else(|| call.error_kind.take());
            if let Some(code) = e.str("error_code")?.and_then(|c| c.trim().parse::<u64>().ok()) {
                if let Ok(code) = llmscope_core::call::http_status(code) {
                    call.status_code = Some(code);
                }
            }
            if let Some(p) = e.str("llm_provider")? {
                call.provider.get_or_insert(p);
            }
        }
    }
    call.user_id = top.str("end_user")?.filter(|u| !u.is_empty());
    call.tags.extend(common::tags(top, "request_tags")?);
    if let Some(meta) = top.obj("metadata")? {
        let m = Obj::new(meta, "metadata");
        if let Some(r) = m.obj("requester_metadata")? {
            common::apply_rest(call, Obj::new(r, "metadata.requester_metadata"), &[], "metadata")?;
        }
        if call.user_id.is_none() {
            call.user_id = m.str("user_api_key_user_id")?;
        }
        for (k, v) in meta {
            if k != "requester_metadata" && !v.is_null() {
                call.attributes.insert(format!("metadata.{k}"), v.clone());
            }
        }
    }
    common::apply_rest(call, top, OWN, "")
}

/// LiteLLM's call types that have an async twin named with a leading `a`.
const KNOWN_CALLS: &[&str] = &[
    "completion",
    "text_completion",
    "embedding",
    "responses",
    "anthropic_messages",
    "image_generation",
    "transcription",
    "speech",
];
