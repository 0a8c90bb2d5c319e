//! Mapping of the fields many log formats share under well-known names (`user_id`,
//! `session_id`, `status_code`, token counts, latencies, …). A format's mapper handles its
//! own fields first and hands every other key here; what this does not know becomes an
//! attribute, so nothing a line carries is lost.

use llmscope_core::{ids, Call, CallStatus};
use serde_json::{Map, Value};

use super::LineError;
use crate::import::fields::Obj;

/// Applies every key of `obj` not in `skip`: known names map onto call fields, the rest is
/// kept in `call.attributes` (nested under `prefix.` when `prefix` is not empty).
pub fn apply_rest(call: &mut Call, obj: Obj<'_>, skip: &[&str], prefix: &str) -> Result<(), LineError> {
    for (key, value) in obj.map {
        if skip.contains(&key.as_str()) || value.is_null() {
            continue;
        }
        if !apply_known(call, obj, key)? {
            let name = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
            call.attributes.insert(name, value.clone());
        }
    }
    Ok(())
}

/// Maps one well-known key; returns `false` when the key is not one of them.
pub fn apply_known(call: &mut Call, o: Obj<'_>, key: &str) -> Result<bool, LineError> {
    match key {
        // (`langfuse_*`: the metadata keys through which Langfuse's integrations set a
        // trace's user, session and tags, kept in its observations' metadata.)
        "user_id" | "userId" | "user" | "uid" | "end_user" | "langfuse_user_id" => {
            set_if_none(&mut call.user_id, o.str(key)?)
        }
        "session_id" | "sessionId" | "conversation_id" | "thread_id" | "chat_id" | "langfuse_session_id" => {
            set_if_none(&mut call.session_id, o.str(key)?)
        }
        "request_id" | "requestId" => set_if_none(&mut call.request_id, o.str(key)?),
        "client_request_id" | "clientRequestId" => set_if_none(&mut call.client_request_id, o.str(key)?),
        "trace_id" => set_hex(&mut call.trace_id, o, key, 32)?,
        "span_id" => set_hex(&mut call.span_id, o, key, 16)?,
        "parent_span_id" => {
            let mut s = String::new();
            set_hex(&mut s, o, key, 16)?;
            if !s.is_empty() {
                call.parent_span_id = Some(s);
            }
        }
        "status_code" | "http_status" | "http_status_code" => {
            let code = o.u64(key)?;
            if let Some(c) = code {
                let c = llmscope_core::call::http_status(c).map_err(|e| LineError::at(o.path_of(key), e))?;
                call.status_code = Some(c);
                if c >= 400 {
                    call.status = CallStatus::Error;
                }
            }
        }
        "error" | "error_message" | "exception" => {
            let msg = match o.get(key) {
                Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
                Some(Value::Object(m)) => Some(
                    m.get("message")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .unwrap_or_else(|| Value::Object(m.clone()).to_string()),
                ),
                Some(Value::Bool(true)) => Some("error".into()),
                _ => None,
            };
            if let Some(m) = msg {
                call.error_message = Some(m);
                call.status = CallStatus::Error;
            }
        }
        "error_type" | "error_kind" | "error_code" => set_if_none(&mut call.error_kind, o.str(key)?),
        "finish_reason" | "stop_reason" => set_if_none(&mut call.finish_reason, o.str(key)?),
        "prompt_tokens" | "input_tokens" => set_num(&mut call.usage.input, o.tokens(key)?),
        "completion_tokens" | "output_tokens" => set_num(&mut call.usage.output, o.tokens(key)?),
        "total_tokens" => set_num(&mut call.usage.total, o.tokens(key)?),
        "cached_tokens" => set_num(&mut call.usage.cached, o.tokens(key)?),
        "first_token_latency_ms" | "ttft_ms" | "time_to_first_token_ms" => set_num(&mut call.ttft_ms, o.non_neg(key)?),
        "total_latency_ms" | "latency_ms" | "duration_ms" => set_num(&mut call.latency_ms, o.non_neg(key)?),
        "temperature" => set_num(&mut call.temperature, o.f64(key)?),
        "json_mode" => call.json_mode |= o.bool(key)?.unwrap_or(false),
        "provider" => set_if_none(&mut call.provider, o.str(key)?),
        "model" | "model_name" => set_if_none(&mut call.model, o.str(key)?),
        "tags" | "langfuse_tags" => call.tags.extend(tags(o, key)?),
        "function_calling" | "stream" | "max_tokens" | "top_p" | "top_k" | "seed" | "presence_penalty"
        | "frequency_penalty" => {
            if let Some(v) = o.get(key) {
                call.params.insert(key.to_string(), v.clone());
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn set_if_none(slot: &mut Option<String>, v: Option<String>) {
    if slot.is_none() {
        *slot = v.filter(|s| !s.is_empty());
    }
}

fn set_num<T>(slot: &mut Option<T>, v: Option<T>) {
    if slot.is_none() {
        *slot = v;
    }
}

fn set_hex(slot: &mut String, o: Obj<'_>, key: &str, len: usize) -> Result<(), LineError> {
    if let Some(s) = o.str(key)? {
        let id = hex_id(s.trim().trim_start_matches("0x"), &o.path_of(key), len)?;
        if slot.is_empty() {
            *slot = id;
        }
    }
    Ok(())
}

/// A trace or span id of `len` hex digits (not all zero), in lower case; the error names
/// `path` and shows what was found.
pub fn hex_id(s: &str, path: &str, len: usize) -> Result<String, LineError> {
    ids::parse_hex_id(s, len).ok_or_else(|| {
        let shown: String = s.chars().take(40).collect();
        LineError::at(path.into(), format!("expected {len} hex digits, not all zero, found {shown:?}"))
    })
}

/// Sets what an answer said: its text as the output, its reasoning (when any) as the
/// attribute `reasoning_content`, its tool calls (when any) in OpenAI's shape.
pub fn answer(call: &mut Call, text: String, reasoning: String, tool_calls: Vec<Value>) {
    call.output = Some(text);
    if !reasoning.is_empty() {
        call.attributes.insert("reasoning_content".into(), Value::String(reasoning));
    }
    if !tool_calls.is_empty() {
        call.tool_calls = Some(Value::Array(tool_calls));
    }
}

/// Reads a usage object that counts the tokens read from and written to the prompt cache
/// apart from the rest of the input (Anthropic, Bedrock), by its `[fresh, read, written,
/// output]` key names: the call's input is all of them ([`prompt_tokens`]).
pub fn split_usage(call: &mut Call, u: Obj<'_>, [fresh, read, written, output]: [&str; 4]) -> Result<(), LineError> {
    let (read, written) = (u.tokens(read)?, u.tokens(written)?);
    call.usage.input = prompt_tokens(u.tokens(fresh)?, read, written);
    call.usage.cached = read;
    call.usage.cache_write = written;
    call.usage.output = u.tokens(output)?;
    Ok(())
}

/// A prompt's tokens when a provider counts those read from and written to its cache apart
/// from the rest (Anthropic, Bedrock): all of them, as OpenAI counts its input.
pub fn prompt_tokens(fresh: Option<u64>, read: Option<u64>, written: Option<u64>) -> Option<u64> {
    match (fresh, read, written) {
        (None, None, None) => None,
        (a, b, c) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0)).saturating_add(c.unwrap_or(0))),
    }
}

/// Sets a call's finish reason from a provider's stop reason, in OpenAI's words (`end_turn`,
/// `FINISH`, `COMPLETE` → `stop`; `max_tokens`, `LENGTH` → `length`; `tool_use` →
/// `tool_calls`; a refusal or a filter → `content_filter`; others as given), the provider's
/// own word kept as the attribute `stop_reason`.
pub fn stop_reason(call: &mut Call, reason: String) {
    let word = match reason.to_ascii_lowercase().as_str() {
        "end_turn" | "stop" | "stop_sequence" | "finish" | "complete" => "stop".to_string(),
        "max_tokens" | "length" => "length".to_string(),
        "tool_use" | "tool_calls" => "tool_calls".to_string(),
        "refusal" | "content_filtered" | "guardrail_intervened" => "content_filter".to_string(),
        _ => reason.clone(),
    };
    call.finish_reason = Some(word);
    call.attributes.insert("stop_reason".into(), Value::String(reason));
}

/// A trace id given as a UUID (its 32 hex digits) or as 32 hex digits, in lower case.
pub fn trace_id_of(s: &str) -> Option<String> {
    ids::parse_hex_id(&s.trim().replace('-', ""), 32)
}

/// A log record's level (kept as an attribute of the same name): `ERROR`, `CRITICAL` or
/// `FATAL` marks the call failed.
pub fn level(call: &mut Call, o: Obj<'_>, key: &str) -> Result<(), LineError> {
    if let Some(level) = o.str(key)? {
        if is_failure_level(&level) {
            call.status = CallStatus::Error;
        }
        call.attributes.insert(key.into(), Value::String(level));
    }
    Ok(())
}

/// Whether a log level marks a failed call: `ERROR`, `CRITICAL` or `FATAL`, in any case.
pub fn is_failure_level(level: &str) -> bool {
    ["ERROR", "CRITICAL", "FATAL"].iter().any(|failed| level.trim().eq_ignore_ascii_case(failed))
}

/// Tags: an array of strings or one comma-separated string.
pub fn tags(o: Obj<'_>, key: &str) -> Result<Vec<String>, LineError> {
    match o.get(key) {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => {
            Ok(s.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect())
        }
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(LineError::at(
                    format!("{}[{i}]", o.path_of(key)),
                    format!("expected a string, found {}", crate::import::fields::describe(other)),
                )),
            })
            .collect(),
        Some(v) => Err(LineError::at(
            o.path_of(key),
            format!("expected an array of strings, found {}", crate::import::fields::describe(v)),
        )),
    }
}

/// The text of a message `content`: a string, or the `text` parts of a content array.
pub fn content_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            let texts: Vec<&str> =
                parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str).or_else(|| p.as_str())).collect();
            Some(texts.join("\n"))
        }
        _ => None,
    }
}

/// A tool call in OpenAI's shape (`{"id", "type": "function", "function": {"name",
/// "arguments"}}`), as every provider's answer is recorded: the arguments as JSON text (a
/// string kept as it is, any other value written out, none or `null` as `missing`).
pub fn function_call(id: Value, name: Option<&Value>, arguments: Option<&Value>, missing: &str) -> Value {
    let arguments = match arguments {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => missing.to_string(),
        Some(v) => v.to_string(),
    };
    let mut function = Map::new();
    function.insert("name".into(), name.cloned().unwrap_or(Value::Null));
    function.insert("arguments".into(), Value::String(arguments));
    let mut tc = Map::new();
    tc.insert("id".into(), id);
    tc.insert("type".into(), Value::String("function".into()));
    tc.insert("function".into(), Value::Object(function));
    Value::Object(tc)
}

/// Milliseconds from `start` to `t`, when `t` is not before it.
pub fn ms_after(start: chrono::DateTime<chrono::Utc>, t: chrono::DateTime<chrono::Utc>) -> Option<f64> {
    (t >= start).then(|| (t - start).num_microseconds().unwrap_or(0) as f64 / 1000.0)
}

/// A one-message chat input for formats that log only the user's text.
pub fn user_message(text: &str) -> Value {
    let mut m = Map::new();
    m.insert("role".into(), Value::String("user".into()));
    m.insert("content".into(), Value::String(text.to_string()));
    Value::Array(vec![Value::Object(m)])
}

/// Keys under which a pair's log names the URL it called.
pub const URL_KEYS: &[&str] = &["url", "request_url", "endpoint", "uri", "path"];

/// The model a request URL names, for APIs that put it there instead of in the body:
/// Gemini and Vertex AI (`…/models/gemini-2.0-flash:generateContent`), Bedrock's runtime
/// (`/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse`), Azure OpenAI's deployments
/// (`/openai/deployments/gpt-4o-prod/chat/completions`: the deployment's name, which is what
/// its callers call the model). `None` for URLs that name none (OpenAI's, Ollama's).
pub fn model_from_url(url: &str) -> Option<String> {
    // The path alone: no scheme and host, no query or fragment.
    let path = match url.find("://") {
        Some(at) => url[at + 3..].find('/').map_or("", |p| &url[at + 3 + p..]),
        None => url,
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let after = |name: &str| segments.iter().position(|s| *s == name).and_then(|i| segments.get(i + 1)).copied();
    let named = if let Some(m) = after("models") {
        // Gemini: the method follows the model after a colon.
        m.split(':').next().unwrap_or_default().to_string()
    } else if let Some(m) = after("model") {
        percent_decoded(m)?
    } else {
        after("deployments")?.to_string()
    };
    let named = named.trim();
    (!named.is_empty()).then(|| named.to_string())
}

/// `%XX` escapes decoded (Bedrock's model ids carry their version after an escaped colon);
/// `None` when the result is not UTF-8.
fn percent_decoded(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (b[i], b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_a_url_names() {
        let m = |u: &str| model_from_url(u);
        let gemini = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent?key=k";
        assert_eq!(m(gemini).as_deref(), Some("gemini-2.0-flash"));
        assert_eq!(m("/v1beta/models/gemini-1.5-pro:streamGenerateContent?alt=sse").as_deref(), Some("gemini-1.5-pro"));
        let vertex = "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/publishers/google/models/gemini-1.5-flash-002:generateContent";
        assert_eq!(m(vertex).as_deref(), Some("gemini-1.5-flash-002"));
        let bedrock =
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse";
        assert_eq!(m(bedrock).as_deref(), Some("anthropic.claude-3-haiku-20240307-v1:0"));
        let azure = "https://x.openai.azure.com/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-06-01";
        assert_eq!(m(azure).as_deref(), Some("gpt-4o-prod"));
        for none in [
            "https://api.openai.com/v1/chat/completions",
            "http://localhost:11434/api/chat",
            "/v1/models",
            "",
            "https://host",
            "/model/%ff%fe/invoke",
            "https://h/v1beta/models/:generateContent",
        ] {
            assert_eq!(m(none), None, "{none}");
        }
    }
}
