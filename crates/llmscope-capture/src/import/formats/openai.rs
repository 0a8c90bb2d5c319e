//! OpenAI request/response pairs, as gateways and SDK wrappers log them:
//! `{"request": {…}, "response": {…}}` with optional siblings (`timestamp` / `start_time`,
//! `latency_ms`, `ttft_ms`, `user_id`, `session_id`, `status_code`, `metadata`, `tags`).
//! Chat completions, legacy completions (`prompt` / `choices[].text`), embeddings and the
//! Responses API ([`super::responses`]) are understood; an `error` object in the response
//! marks a failed call.

use llmscope_core::{timeparse, Call, CallStatus, SpanKind};
use serde_json::{Map, Value};

use super::logged_stream::{self, Logged};
use super::{common, seed001::last_user_text, ImportOptions, LineError};
use crate::import::fields::{join, Obj};

const OWN_TOP: &[&str] =
    &["request", "response", "timestamp", "start_time", "created_at", "end_time", "metadata", "latency_s"];
const OWN_REQ: &[&str] =
    &["model", "messages", "prompt", "input", "temperature", "response_format", "tools", "functions", "user"];

pub fn map(obj: &Map<String, Value>, opts: &ImportOptions, call: &mut Call) -> Result<(), LineError> {
    let top = Obj::new(obj, "");
    let req_map =
        top.obj("request")?.ok_or_else(|| LineError::at("request".into(), "expected an object, found null".into()))?;
    // A body that is not an object: a logged stream, or a body written as a string.
    let logged = match top.get("response") {
        Some(Value::Object(_)) | None => None,
        Some(v) => Some(logged_stream::read(v, "response")?),
    };
    let body = match (&logged, top.get("response")) {
        (Some(Logged::Body(m) | Logged::Stream(m, _)), _) | (None, Some(Value::Object(m))) => Some(m),
        _ => None,
    };

    map_request(req_map, call)?;
    // A failed call's body may be anything its server sent; an answer must be one llmscope reads.
    let failed = top.u64("status_code").ok().flatten().is_some_and(|c| c >= 400);
    if let (Some(e), false) = (body.and_then(|rm| unknown_answer(rm, "response")), failed) {
        return Err(e);
    }
    let created = match body {
        Some(rm) => map_response(rm, call)?,
        None => {
            call.output = None;
            None
        }
    };
    if let Some(Logged::Stream(_, facts)) = logged {
        call.attributes.extend(facts);
    }

    // --- when ---
    let ts = ["timestamp", "start_time", "created_at"].into_iter().find_map(|k| top.get(k).map(|v| (k, v)));
    call.start_time = match (ts, &created) {
        (Some((k, v)), _) => {
            timeparse::parse_log_timestamp(v, opts.naive_tz).map_err(|e| LineError::at(k.into(), e))?
        }
        (None, Some(c)) => {
            timeparse::parse_log_timestamp(c, opts.naive_tz).map_err(|e| LineError::at("response.created".into(), e))?
        }
        (None, None) => return Err(LineError::line("no timestamp: expected `timestamp` or `response.created`")),
    };
    if let Some(end) = top.get("end_time") {
        let end =
            timeparse::parse_log_timestamp(end, opts.naive_tz).map_err(|e| LineError::at("end_time".into(), e))?;
        if end >= call.start_time {
            call.end_time = Some(end);
        }
        if call.latency_ms.is_none() {
            call.latency_ms = common::ms_after(call.start_time, end);
        }
    }
    if let (None, Some(s)) = (top.get("latency_ms"), top.non_neg("latency_s")?) {
        call.latency_ms = Some(s * 1000.0);
    }
    if let Some(meta) = top.obj("metadata")? {
        common::apply_rest(call, Obj::new(meta, "metadata"), &[], "metadata")?;
    }
    common::apply_rest(call, top, OWN_TOP, "")?;
    // Gemini's and Bedrock's requests name their model in the URL only: a failed call's
    // answer names none either.
    if call.model.is_none() {
        call.model =
            common::URL_KEYS.iter().find_map(|k| top.get(k).and_then(Value::as_str)).and_then(common::model_from_url);
    }
    if call.user_id.is_none() {
        call.user_id = Obj::new(req_map, "request").str("user")?;
    }
    // Anthropic's requests name their user in `metadata.user_id`.
    if let (None, Some(Value::Object(meta))) = (&call.user_id, req_map.get("metadata")) {
        call.user_id = meta.get("user_id").and_then(Value::as_str).map(str::to_string);
    }
    Ok(())
}

/// Maps an OpenAI request body (chat, legacy completion, embedding, or Responses API) onto `call`: model,
/// operation, input and last user text, temperature, JSON mode, tools, other parameters.
/// Errors name their path under `request`.
pub fn map_request(req_map: &Map<String, Value>, call: &mut Call) -> Result<(), LineError> {
    if super::responses::is_request(req_map) {
        return super::responses::map_request(req_map, call);
    }
    if super::gemini::is_request(req_map) {
        return super::gemini::map_request(req_map, call);
    }
    map_chat_request(req_map, call)
}

/// Like [`map_request`] for a body known not to be a Responses API request (the proxy knows
/// the endpoint): chat, legacy completion or embedding.
pub fn map_chat_request(req_map: &Map<String, Value>, call: &mut Call) -> Result<(), LineError> {
    map_chat_request_at(req_map, "request", call)
}

/// [`map_chat_request`] of a body found at `path` (errors name their path under it).
pub fn map_chat_request_at(req_map: &Map<String, Value>, path: &str, call: &mut Call) -> Result<(), LineError> {
    let req = Obj::new(req_map, path);
    call.model = req.str("model")?;
    // Anthropic's Messages API sets its system prompt beside the messages: it goes first
    // among them, as an OpenAI system message, so that every chat's input reads alike.
    let system = req.get("system").filter(|s| s.is_string() || s.is_array()).filter(|_| req.has("messages"));
    if let Some(msgs) = req.arr("messages")? {
        call.operation = Some("chat".into());
        call.input_text = last_user_text(msgs);
        let system = system.map(|s| serde_json::json!({"role": "system", "content": s}));
        call.input = Value::Array(system.into_iter().chain(msgs.iter().cloned()).collect());
    } else if req.has("prompt") {
        call.operation = Some("completion".into());
        call.input_text = common::content_text(req.get("prompt")).unwrap_or_default();
        call.input = req.get("prompt").cloned().unwrap_or(Value::Null);
    } else if req.has("input") {
        call.operation = Some("embedding".into());
        call.span_kind = SpanKind::Embedding;
        call.input_text = common::content_text(req.get("input")).unwrap_or_default();
        call.input = req.get("input").cloned().unwrap_or(Value::Null);
    }
    if let Some(rf) = req.get("response_format") {
        let kind = rf.get("type").and_then(Value::as_str).unwrap_or("");
        call.json_mode = matches!(kind, "json_object" | "json_schema");
        call.response_format = Some(rf.clone());
    }
    // Ollama's own API: JSON mode is `format` ("json", or a JSON schema).
    if let Some(f) = req.get("format").filter(|f| f.as_str() == Some("json") || f.is_object()) {
        call.json_mode = true;
        call.response_format.get_or_insert_with(|| f.clone());
    }
    call.tools = req.get("tools").or_else(|| req.get("functions")).cloned();
    for (k, v) in req_map {
        let moved = k == "system" && system.is_some();
        if !(OWN_REQ.contains(&k.as_str()) || v.is_null() || moved) {
            call.params.insert(k.clone(), v.clone());
        }
    }
    // Last, so that a temperature of the wrong type (which an import rejects, and which the
    // proxy forwards and records as a mapping problem) leaves the rest of the request mapped
    // and itself kept among the parameters.
    call.temperature = req.f64("temperature").inspect_err(|_| {
        if let Some(v) = req.get("temperature") {
            call.params.insert("temperature".into(), v.clone());
        }
    })?;
    // Ollama's own API sets it among `options` (kept whole among the parameters).
    if let (None, Some(options)) = (call.temperature, req.obj("options")?) {
        call.temperature = Obj::new(options, &req.path_of("options")).f64("temperature")?;
    }
    Ok(())
}

/// Keys of which an OpenAI(-compatible) answer has at least one.
const ANSWER_KEYS: &[&str] = &["choices", "data", "error", "usage", "object", "id", "created", "model"];

/// The message of an error body that is not OpenAI's `{"error": …}`: FastAPI's `detail`
/// (vLLM and other Python servers answer 404s and 422s with it), a gateway's `message` or
/// `statusCode` (Azure API Management, Kong, AWS), Cloudflare's `errors`.
fn bare_error(rm: &Map<String, Value>) -> Option<String> {
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    if let Some(d) = rm.get("detail").filter(|d| !d.is_null()) {
        return Some(text(d));
    }
    if let Some(m) = rm.get("message").and_then(Value::as_str) {
        return Some(m.to_string());
    }
    if let Some(e) = rm.get("errors").filter(|e| !e.is_null()) {
        let first = e.as_array().and_then(|a| a.first()).and_then(|f| f.get("message")).and_then(Value::as_str);
        return Some(first.map_or_else(|| text(e), str::to_string));
    }
    rm.get("statusCode").map(|c| format!("status {}", text(c)))
}

/// Whether an answer object is one llmscope reads: an OpenAI(-compatible) body, another
/// provider's answer, an error body, an embedding or a transcription. An import refuses a
/// pair whose answer is not (the proxy records whatever its upstream answered).
fn known_answer(rm: &Map<String, Value>) -> bool {
    rm.is_empty()
        || ANSWER_KEYS.iter().any(|k| rm.contains_key(*k))
        || super::responses::is_response(rm)
        || super::anthropic::is_response(rm)
        || super::ollama::is_response(rm)
        || super::gemini::is_response(rm)
        || bare_error(rm).is_some()
        || rm.contains_key("embedding")
        || rm.get("text").is_some_and(Value::is_string)
}

/// The refusal of an answer of no shape llmscope knows, naming its keys.
pub(super) fn unknown_answer(rm: &Map<String, Value>, path: &str) -> Option<LineError> {
    if known_answer(rm) {
        return None;
    }
    let keys: Vec<&str> = rm.keys().map(String::as_str).take(12).collect();
    Some(LineError::at(
        path.into(),
        format!(
            "not an answer llmscope reads (keys: {}): expected an OpenAI chat, completion, embedding or \
             Responses API body, an Anthropic message, an Ollama or a Gemini answer, or an error",
            keys.join(", ")
        ),
    ))
}

/// The model the response names: the call's model when the request named none, and kept as
/// `response_model` when it differs from the requested one (e.g. a dated snapshot).
pub(super) fn note_response_model(call: &mut Call, model: Option<String>) {
    let Some(m) = model else { return };
    if call.model.as_deref() != Some(m.as_str()) {
        if call.model.is_none() {
            call.model = Some(m.clone());
        }
        call.attributes.insert("response_model".into(), Value::String(m));
    }
}

/// Maps an OpenAI response body onto `call`: upstream request id, output text, tool calls,
/// finish reason, usage, and an `error` object as a failed call. Returns the response's
/// `created` value, if any. Errors name their path under `response`.
pub fn map_response(rm: &Map<String, Value>, call: &mut Call) -> Result<Option<Value>, LineError> {
    map_response_at(rm, "response", call)
}

/// [`map_response`] of a body found at `path` (errors name their path under it).
pub fn map_response_at(rm: &Map<String, Value>, path: &str, call: &mut Call) -> Result<Option<Value>, LineError> {
    if super::responses::is_response(rm) {
        return super::responses::map_response_at(rm, path, call);
    }
    if super::anthropic::is_response(rm) {
        return super::anthropic::map_response_at(rm, path, call).map(|()| None);
    }
    if super::ollama::is_response(rm) {
        return super::ollama::map_response_at(rm, path, call);
    }
    if super::gemini::is_response(rm) {
        return super::gemini::map_response_at(rm, path, call);
    }
    if !ANSWER_KEYS.iter().any(|k| rm.contains_key(*k)) {
        if let Some(message) = bare_error(rm) {
            call.status = CallStatus::Error;
            call.output = Some(String::new());
            call.error_message = Some(message);
            return Ok(None);
        }
        if rm.contains_key("embedding") {
            // An embedding on its own (Ollama's `/api/embeddings`, Gemini's `embedContent`).
            call.operation.get_or_insert_with(|| "embedding".into());
            call.span_kind = SpanKind::Embedding;
            call.output = None;
            return Ok(None);
        }
        if let Some(Value::String(t)) = rm.get("text") {
            // A transcription (`/v1/audio/transcriptions`).
            call.output = Some(t.clone());
            return Ok(None);
        }
    }
    let resp = Obj::new(rm, path);
    call.request_id = resp.str("id")?;
    let created = resp.get("created").cloned();
    note_response_model(call, resp.str("model")?);
    // vLLM's older error body is the error itself: `{"object": "error", "message", "type", "code"}`.
    let whole = (rm.get("object").and_then(Value::as_str) == Some("error")).then(|| Value::Object(rm.clone()));
    let err = resp.get("error").or(whole.as_ref());
    if let Some(err) = err {
        call.status = CallStatus::Error;
        call.output = Some(String::new());
        call.error_message = Some(
            err.as_str()
                .or_else(|| err.get("message").and_then(Value::as_str))
                .map_or_else(|| err.to_string(), str::to_string),
        );
        // (TGI's errors are a string beside their `error_type`.)
        call.error_kind = err
            .get("type")
            .or_else(|| err.get("code"))
            .or_else(|| err.is_string().then(|| rm.get("error_type")).flatten())
            .and_then(|v| v.as_str().map(str::to_string).or_else(|| v.as_u64().map(|n| n.to_string())));
    }
    if let Some(choices) = resp.arr("choices")? {
        if let Some(first) = choices.first() {
            // A logged stream chunk carries its text in `delta`.
            let msg = first.get("message").or_else(|| first.get("delta"));
            let text = msg
                .and_then(|m| common::content_text(m.get("content")))
                .or_else(|| first.get("text").and_then(Value::as_str).map(str::to_string));
            let said = |key: &str| {
                msg.and_then(|m| m.get(key)).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
            };
            // A refusal (`message.refusal`) is what the user was shown when there is no
            // content: the output, and the attribute `refusal` either way.
            let refusal = said("refusal");
            call.output = Some(text.filter(|t| !t.is_empty()).or_else(|| refusal.clone()).unwrap_or_default());
            if let Some(r) = refusal {
                call.attributes.insert("refusal".into(), Value::String(r));
            }
            // Reasoning models served by vLLM, DeepSeek or Ollama return their reasoning apart.
            if let Some(r) = said("reasoning_content").or_else(|| said("reasoning")) {
                call.attributes.insert("reasoning_content".into(), Value::String(r));
            }
            call.tool_calls = msg.and_then(|m| m.get("tool_calls")).filter(|v| !v.is_null()).cloned();
            call.finish_reason = first.get("finish_reason").and_then(Value::as_str).map(str::to_string);
        }
        if choices.len() > 1 {
            call.attributes.insert("choices".into(), Value::from(choices.len()));
        }
    } else if resp.has("data") && call.output.is_none() {
        // Embeddings: there is no text output to speak of.
        call.output = None;
    }
    if let Some(usage) = resp.obj("usage")? {
        let usage_path = join(path, "usage");
        let u = Obj::new(usage, &usage_path);
        call.usage.input = u.tokens("prompt_tokens")?.or(u.tokens("input_tokens")?);
        call.usage.output = u.tokens("completion_tokens")?.or(u.tokens("output_tokens")?);
        call.usage.total = u.tokens("total_tokens")?;
        if let Some(d) = u.obj("prompt_tokens_details")? {
            call.usage.cached = Obj::new(d, &u.path_of("prompt_tokens_details")).tokens("cached_tokens")?;
        }
        // LiteLLM and other gateways in front of Anthropic pass its cache-write count on.
        call.usage.cache_write = u.tokens("cache_creation_input_tokens")?;
        if let Some(d) = u.obj("completion_tokens_details")? {
            if let Some(n) = Obj::new(d, &u.path_of("completion_tokens_details")).tokens("reasoning_tokens")? {
                call.attributes.insert("reasoning_tokens".into(), n.into());
            }
        }
    }
    Ok(created)
}
