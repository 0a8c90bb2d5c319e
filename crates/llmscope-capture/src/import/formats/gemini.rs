//! Google's Gemini API (`generateContent`, AI Studio or Vertex AI), logged in a
//! request/response pair or as a bare answer. The request's `contents` (turns of `parts`)
//! are the input (led by `systemInstruction` as a `system` turn), the last `user` turn's text
//! the question, `generationConfig` (its `temperature`; a `responseMimeType` of `application/json` is JSON
//! mode) and `tools` are read as for OpenAI. The answer's first candidate gives the output
//! (its text parts, thoughts apart), `functionCall` parts become OpenAI-shaped tool calls,
//! `finishReason` the finish reason in OpenAI's words (`STOP` → `stop`, `MAX_TOKENS` →
//! `length`, safety stops → `content_filter`; Gemini's own word in `gemini_finish_reason`),
//! and `usageMetadata` the tokens. A prompt blocked before any answer has no candidates and
//! a `promptFeedback.blockReason`. A streamed answer is logged as its response objects,
//! which [`join_stream`] puts together. Gemini's answers carry no time (Vertex AI's
//! `createTime` excepted): a pair needs its `timestamp`.

use llmscope_core::{Call, CallStatus, SpanKind};
use serde_json::{json, Map, Value};

use super::{common, LineError};
use crate::import::fields::{join, Obj};

/// Whether a request body is a Gemini `generateContent` request.
pub fn is_request(req: &Map<String, Value>) -> bool {
    req.get("contents").is_some() && !req.contains_key("messages")
}

/// Whether a response body is a Gemini answer (or a Google API error).
pub fn is_response(rm: &Map<String, Value>) -> bool {
    let candidate_like = rm.get("candidates").and_then(Value::as_array).is_some_and(|cs| {
        cs.iter().any(|c| c.get("content").is_some_and(|c| c.get("parts").is_some()) || c.get("finishReason").is_some())
    });
    let google_error = rm.get("error").and_then(Value::as_object).is_some_and(|e| {
        e.get("status").is_some_and(Value::is_string)
            && e.get("code").is_some_and(Value::is_u64)
            && !e.contains_key("type")
    });
    candidate_like
        || (rm.get("candidates").is_some_and(Value::is_array)
            && ["usageMetadata", "modelVersion", "responseId"].iter().any(|k| rm.contains_key(*k)))
        || rm.get("promptFeedback").is_some_and(Value::is_object)
        || google_error
}

/// Maps a `generateContent` request onto `call`.
pub fn map_request(req_map: &Map<String, Value>, call: &mut Call) -> Result<(), LineError> {
    let req = Obj::new(req_map, "request");
    call.provider.get_or_insert_with(|| "google".into());
    call.model = req.str("model")?.map(|m| m.trim_start_matches("models/").to_string());
    call.operation = Some("chat".into());
    call.span_kind = SpanKind::default();
    let contents = match req.get("contents") {
        Some(Value::Array(turns)) => turns.clone(),
        // A single turn, or a bare string (the SDKs accept both).
        Some(Value::String(s)) => vec![json!({"role": "user", "parts": [{"text": s}]})],
        Some(v @ Value::Object(_)) => vec![v.clone()],
        Some(v) => {
            return Err(LineError::at(
                "request.contents".into(),
                format!("expected turns, found {}", crate::import::fields::describe(v)),
            ))
        }
        None => Vec::new(),
    };
    call.input_text = contents
        .iter()
        .rev()
        .find(|t| t.get("role").and_then(Value::as_str).is_none_or(|r| r == "user"))
        .map(|t| parts_text(t.get("parts"), false))
        .unwrap_or_default();
    // The system instruction goes first among the turns, as a `system` one (the question
    // stays the last `user` turn's text).
    let key = ["systemInstruction", "system_instruction"].into_iter().find(|k| req.has(k));
    let parts = match key.and_then(|k| req.get(k)) {
        Some(Value::String(s)) => Some(json!([{"text": s}])),
        Some(Value::Object(c)) => Some(c.get("parts").cloned().unwrap_or(Value::Null)),
        _ => None,
    };
    // (Kept among the parameters when it is neither.)
    let moved = key.filter(|_| parts.is_some());
    let system = parts.map(|parts| json!({"role": "system", "parts": parts}));
    call.input = Value::Array(system.into_iter().chain(contents).collect());
    if let Some(cfg) = req.obj("generationConfig")? {
        let g = Obj::new(cfg, "request.generationConfig");
        call.temperature = g.f64("temperature")?;
        let mime = g.str("responseMimeType")?;
        if mime.as_deref() == Some("application/json") || g.has("responseSchema") || g.has("responseJsonSchema") {
            call.json_mode = true;
            let mut rf = Map::new();
            rf.insert("type".into(), Value::String("json_object".into()));
            for k in ["responseMimeType", "responseSchema", "responseJsonSchema"] {
                if let Some(v) = g.get(k) {
                    rf.insert(k.into(), v.clone());
                }
            }
            call.response_format = Some(Value::Object(rf));
        }
    }
    call.tools = req.get("tools").cloned();
    for (k, v) in req_map {
        if !matches!(k.as_str(), "model" | "contents" | "tools") && !v.is_null() && Some(k.as_str()) != moved {
            call.params.insert(k.clone(), v.clone());
        }
    }
    Ok(())
}

/// Maps a Gemini answer (or a Google API error) found at `path` onto `call`. Returns Vertex
/// AI's `createTime`, when there is one.
pub fn map_response_at(rm: &Map<String, Value>, path: &str, call: &mut Call) -> Result<Option<Value>, LineError> {
    let resp = Obj::new(rm, path);
    call.provider.get_or_insert_with(|| "google".into());
    if let Some(err) = rm.get("error").and_then(Value::as_object) {
        let field = |k: &str| err.get(k).and_then(Value::as_str).map(str::to_string);
        call.status = CallStatus::Error;
        call.output = Some(String::new());
        call.error_message = field("message").or_else(|| Some(Value::Object(err.clone()).to_string()));
        call.error_kind = field("status");
        // The HTTP status a proxy saw wins over the body's.
        if call.status_code.is_none() {
            call.status_code =
                err.get("code").and_then(Value::as_u64).and_then(|c| llmscope_core::call::http_status(c).ok());
        }
        return Ok(None);
    }
    call.request_id = resp.str("responseId")?;
    super::openai::note_response_model(call, resp.str("modelVersion")?);
    let candidates = resp.arr("candidates")?.map(Vec::as_slice).unwrap_or_default();
    if let Some(first) = candidates.first() {
        let parts = first.get("content").and_then(|c| c.get("parts"));
        let calls: Vec<Value> = parts
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("functionCall"))
            .enumerate()
            .map(|(i, fc)| {
                let id = fc.get("id").cloned().unwrap_or_else(|| Value::String(format!("call_{i}")));
                common::function_call(id, fc.get("name"), fc.get("args"), "{}")
            })
            .collect();
        let has_tools = !calls.is_empty();
        common::answer(call, parts_text(parts, false), parts_text(parts, true), calls);
        if let Some(reason) = first.get("finishReason").and_then(Value::as_str) {
            call.finish_reason = Some(finish_reason(reason, has_tools).into());
            call.attributes.insert("gemini_finish_reason".into(), Value::String(reason.into()));
        }
        if candidates.len() > 1 {
            call.attributes.insert("choices".into(), candidates.len().into());
        }
    } else {
        // No candidate: the prompt was blocked (or the answer is empty).
        call.output = Some(String::new());
        if let Some(reason) = rm.get("promptFeedback").and_then(|f| f.get("blockReason")).and_then(Value::as_str) {
            call.finish_reason = Some("content_filter".into());
            call.attributes.insert("block_reason".into(), Value::String(reason.into()));
        }
    }
    if let Some(usage) = resp.obj("usageMetadata")? {
        let usage_path = join(path, "usageMetadata");
        let u = Obj::new(usage, &usage_path);
        // The results of tools Gemini ran itself are part of the prompt it read.
        call.usage.input = match (u.tokens("promptTokenCount")?, u.tokens("toolUsePromptTokenCount")?) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        // Thinking tokens are billed as output; Gemini counts them apart.
        let thoughts = u.tokens("thoughtsTokenCount")?;
        call.usage.output = match (u.tokens("candidatesTokenCount")?, thoughts) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        if let Some(n) = thoughts {
            call.attributes.insert("reasoning_tokens".into(), n.into());
        }
        call.usage.cached = u.tokens("cachedContentTokenCount")?;
        call.usage.total = u.tokens("totalTokenCount")?;
    }
    Ok(resp.get("createTime").cloned())
}

/// A `finishReason` in OpenAI's words.
fn finish_reason(reason: &str, has_tools: bool) -> &str {
    match reason {
        "STOP" if has_tools => "tool_calls",
        "STOP" => "stop",
        "MAX_TOKENS" => "length",
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => "content_filter",
        other => other,
    }
}

/// The text of a turn's `parts`: the answer's (`thought: false`) or the thoughts'.
fn parts_text(parts: Option<&Value>, thoughts: bool) -> String {
    let mut out = String::new();
    for p in parts.and_then(Value::as_array).into_iter().flatten() {
        let is_thought = p.get("thought").and_then(Value::as_bool).unwrap_or(false);
        if let (Some(t), true) = (p.get("text").and_then(Value::as_str), is_thought == thoughts) {
            out.push_str(t);
        }
    }
    out
}

/// Joins a streamed answer's response objects: the first candidate's parts of them all (the
/// text of consecutive text parts joined), the rest (finish reason, usage, model) from the
/// last that has it.
pub fn join_stream<'a>(chunks: impl IntoIterator<Item = &'a Map<String, Value>>) -> Map<String, Value> {
    let mut out = Map::new();
    let mut parts: Vec<Value> = Vec::new();
    let (mut candidate, mut any) = (Map::new(), false);
    for c in chunks {
        for (k, v) in c {
            if k != "candidates" {
                out.insert(k.clone(), v.clone());
            }
        }
        let Some(first) = c.get("candidates").and_then(Value::as_array).and_then(|cs| cs.first()) else { continue };
        any = true;
        for (k, v) in first.as_object().into_iter().flatten() {
            if k != "content" {
                candidate.insert(k.clone(), v.clone());
            }
        }
        for p in first.get("content").and_then(|c| c.get("parts")).and_then(Value::as_array).into_iter().flatten() {
            let thought = p.get("thought").and_then(Value::as_bool).unwrap_or(false);
            let last_text = parts.last_mut().filter(|l| {
                l.get("text").is_some() && l.get("thought").and_then(Value::as_bool).unwrap_or(false) == thought
            });
            match (p.get("text").and_then(Value::as_str), last_text) {
                (Some(t), Some(Value::Object(l))) if p.as_object().is_some_and(|o| o.len() <= 2) => {
                    if let Some(Value::String(s)) = l.get_mut("text") {
                        s.push_str(t);
                    }
                }
                _ => parts.push(p.clone()),
            }
        }
    }
    if any {
        candidate.insert("content".into(), json!({"role": "model", "parts": parts}));
        out.insert("candidates".into(), Value::Array(vec![Value::Object(candidate)]));
    }
    out
}
