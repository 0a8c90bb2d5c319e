//! Ollama's own API (`/api/chat`, `/api/generate`, `/api/embed`), logged in a
//! request/response pair or as a bare answer. A request is read as a chat, completion or
//! embedding request ([`super::openai::map_chat_request`] reads `options.temperature` and
//! `format`); the answer carries the text in `message.content` (chat) or `response`
//! (generate), the reasoning in `thinking`, tool calls with their arguments as objects, and
//! the server's timings in nanoseconds. A streamed answer is logged as its chunks (the last
//! one, `"done": true`, carrying the timings), which [`join_stream`] puts back together.
//!
//! The call gets: latency from `total_duration`; time to first token as `total_duration`
//! less `eval_duration` (loading the model and reading the prompt), unless the request
//! said `"stream": false` (Ollama streams by default); the load, prompt and
//! generation times in attributes (ms); `prompt_eval_count` and `eval_count` as input and
//! output tokens; `done_reason` as the finish reason. `created_at` is when the answer ended,
//! so the call starts `total_duration` before it. An `{"error": "…"}` answer is a failed call.

use chrono::{DateTime, Utc};
use llmscope_core::{timeparse, Call, CallStatus};
use serde_json::{json, Map, Value};

use super::{common, LineError};
use crate::import::fields::Obj;

/// Whether a response body is an Ollama answer: a chat or generate answer (`created_at`,
/// `done`, `message` or `response`), or an `/api/embed` answer.
pub fn is_response(rm: &Map<String, Value>) -> bool {
    let has = |k: &str| rm.contains_key(k);
    (rm.get("created_at").is_some_and(Value::is_string) && has("done") && (has("message") || has("response")))
        || (has("embeddings") && (has("total_duration") || has("load_duration")))
}

/// Whether an object is a streamed chunk of an Ollama chat or generate answer.
pub fn is_chunk(m: &Map<String, Value>) -> bool {
    is_response(m) && !m.contains_key("embeddings")
}

/// Maps an Ollama answer found at `path` onto `call`. Returns the call's start time (as
/// RFC 3339 text), when the answer says when it ended and how long it took.
pub fn map_response_at(rm: &Map<String, Value>, path: &str, call: &mut Call) -> Result<Option<Value>, LineError> {
    let resp = Obj::new(rm, path);
    call.provider.get_or_insert_with(|| "ollama".into());
    super::openai::note_response_model(call, resp.str("model")?);
    if resp.has("embeddings") {
        call.operation = Some("embedding".into());
        call.span_kind = llmscope_core::SpanKind::Embedding;
        call.output = None;
    } else if let Some(msg) = resp.obj("message")? {
        call.operation.get_or_insert_with(|| "chat".into());
        let at = resp.path_of("message");
        let m = Obj::new(msg, &at);
        call.output = Some(m.text("content")?.unwrap_or_default());
        if let Some(t) = m.text("thinking")?.filter(|t| !t.is_empty()) {
            call.attributes.insert("reasoning_content".into(), Value::String(t));
        }
        if let Some(tcs) = m.arr("tool_calls")?.filter(|t| !t.is_empty()) {
            call.tool_calls =
                Some(Value::Array(tcs.iter().enumerate().map(|(i, tc)| openai_tool_call(i, tc)).collect()));
        }
    } else {
        call.operation.get_or_insert_with(|| "completion".into());
        call.output = Some(resp.text("response")?.unwrap_or_default());
        if let Some(t) = resp.text("thinking")?.filter(|t| !t.is_empty()) {
            call.attributes.insert("reasoning_content".into(), Value::String(t));
        }
    }
    if let Some(ctx) = resp.arr("context")? {
        call.attributes.insert("context_tokens".into(), ctx.len().into());
    }
    call.finish_reason = resp.str("done_reason")?;
    // Ollama says `stop` when it answers with tool calls; OpenAI says `tool_calls`.
    if call.tool_calls.is_some() && call.finish_reason.as_deref() == Some("stop") {
        call.finish_reason = Some("tool_calls".into());
    }
    if resp.get("done") == Some(&Value::Bool(false)) {
        // The last chunk of a stream that never finished.
        call.attributes.insert("done".into(), Value::Bool(false));
    }
    call.usage.input = resp.tokens("prompt_eval_count")?;
    call.usage.output = resp.tokens("eval_count")?;
    let ms = |key: &str| -> Result<Option<f64>, LineError> { Ok(resp.non_neg(key)?.map(|ns| ns / 1e6)) };
    let (total, eval) = (ms("total_duration")?, ms("eval_duration")?);
    for (key, attr) in
        [("load_duration", "load_ms"), ("prompt_eval_duration", "prompt_eval_ms"), ("eval_duration", "eval_ms")]
    {
        if let Some(v) = ms(key)? {
            call.attributes.insert(attr.into(), json!(v));
        }
    }
    call.latency_ms = total;
    // A time to first token from the timings, unless the request (mapped before the answer)
    // asked for no stream: such a call shows the user no first token.
    let unstreamed = call.params.get("stream") == Some(&Value::Bool(false));
    if let (Some(t), Some(e), false) = (total, eval, unstreamed) {
        call.ttft_ms = Some((t - e).max(0.0));
    }
    if let Some(err) = resp.get("error") {
        call.status = CallStatus::Error;
        call.output = Some(String::new());
        call.error_message = Some(err.as_str().map_or_else(|| err.to_string(), str::to_string));
    }
    let Some(created) = resp.get("created_at") else { return Ok(None) };
    let end: DateTime<Utc> = timeparse::parse_log_timestamp(created, chrono_tz::Tz::UTC)
        .map_err(|e| LineError::at(resp.path_of("created_at"), e))?;
    let start =
        total.and_then(|t| end.checked_sub_signed(chrono::Duration::microseconds((t * 1000.0) as i64))).unwrap_or(end);
    Ok(Some(Value::String(start.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))))
}

/// An Ollama tool call (`{"function": {"name", "arguments": {…}}}`) in OpenAI's shape, whose
/// arguments are JSON text.
fn openai_tool_call(i: usize, tc: &Value) -> Value {
    let f = tc.get("function");
    let id = tc.get("id").cloned().unwrap_or_else(|| Value::String(format!("call_{i}")));
    common::function_call(id, f.and_then(|f| f.get("name")), f.and_then(|f| f.get("arguments")), "{}")
}

/// Joins a streamed answer's chunks: the text, thinking and tool calls of them all, the rest
/// (timings, counts, `done_reason`, `created_at`) from the last.
pub fn join_stream<'a>(chunks: impl IntoIterator<Item = &'a Map<String, Value>>) -> Map<String, Value> {
    let mut out = Map::new();
    let (mut content, mut thinking, mut response, mut top_thinking) =
        (String::new(), String::new(), String::new(), String::new());
    let (mut tool_calls, mut chat, mut error) = (Vec::new(), false, None);
    for c in chunks {
        if let Some(e) = c.get("error") {
            error = Some(e.clone());
        }
        if let Some(Value::Object(m)) = c.get("message") {
            chat = true;
            let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("");
            content.push_str(s("content"));
            thinking.push_str(s("thinking"));
            tool_calls.extend(m.get("tool_calls").and_then(Value::as_array).into_iter().flatten().cloned());
        }
        let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("");
        response.push_str(s("response"));
        top_thinking.push_str(s("thinking"));
        for (k, v) in c {
            if !matches!(k.as_str(), "message" | "response" | "thinking" | "error") {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    if chat {
        let mut m = Map::new();
        m.insert("role".into(), "assistant".into());
        m.insert("content".into(), Value::String(content));
        if !thinking.is_empty() {
            m.insert("thinking".into(), Value::String(thinking));
        }
        if !tool_calls.is_empty() {
            m.insert("tool_calls".into(), Value::Array(tool_calls));
        }
        out.insert("message".into(), Value::Object(m));
    } else {
        out.insert("response".into(), Value::String(response));
        if !top_thinking.is_empty() {
            out.insert("thinking".into(), Value::String(top_thinking));
        }
    }
    if let Some(e) = error {
        out.insert("error".into(), e);
    }
    out
}
