//! OpenAI answers logged without their request:
//!
//! - a Batch API output line, `{"id": "batch_req_…", "custom_id": …, "response":
//!   {"status_code", "request_id", "body": <response>}, "error": null | {"code", "message"}}`;
//! - a bare response object (`"object": "chat.completion"`, `"text_completion"` or
//!   `"response"`), as `response.model_dump_json()` writes it.
//!
//! The answer is mapped as in a request/response pair ([`super::openai::map_response_at`]);
//! the prompt is not in the line, so the call has no input text — unless the batch's input
//! file is imported with it ([`crate::import::batch_requests`]), and then the request is
//! mapped as in a pair. Its time is the response's
//! `created` (`created_at` for the Responses API). A Batch *input* line (`custom_id`,
//! `method`, `url`, `body`) is a request not answered yet, and is rejected with that reason.
//! A failed Batch request comes back without a response, and an embedding without a
//! `created`, so without a time: they are rejected saying so, unless the import is told where
//! to place such lines ([`ImportOptions::undated_at`]; the call's attribute `time_assumed`).

use llmscope_core::{timeparse, Call, CallStatus};
use serde_json::{Map, Value};

use super::{openai, responses, ImportOptions, LineError};
use crate::import::fields::{describe, join, Obj};

/// A Batch output (or input) line.
pub fn map_batch(obj: &Map<String, Value>, opts: &ImportOptions, call: &mut Call) -> Result<(), LineError> {
    let top = Obj::new(obj, "");
    if is_batch_input(obj) {
        return Err(LineError::line(
            "an OpenAI Batch input line (a request without its answer): import the batch's input and output \
             files together (an input file is recognised by its first line)",
        ));
    }
    call.client_request_id = top.str("custom_id")?;
    // The request, when the batch's input file is part of the import (`batch_requests`).
    // (Counted as joined once the whole line is read, in `parse_line_or`.)
    let request = call.client_request_id.as_deref().and_then(|id| opts.batch_requests.as_ref()?.request(id));
    if let Some((body, url)) = request {
        crate::import::batch_requests::map_body(body, url, call)?;
    }
    if let Some(id) = top.str("id")? {
        call.attributes.insert("batch_request_id".into(), Value::String(id));
    }
    let error = match top.get("error") {
        None => None,
        Some(Value::Object(e)) => Some(e),
        Some(v) => return Err(LineError::at("error".into(), format!("expected an object, found {}", describe(v)))),
    };
    let Some(resp) = top.obj("response")? else {
        if let Some(at) = opts.undated_at {
            // A failed request, placed where the import was told to.
            assume_time(call, at);
            call.status = CallStatus::Error;
            call.output = Some(String::new());
            call.error_message = Some(error.map_or_else(|| "no response".into(), failure));
            call.error_kind = error.and_then(|e| e.get("code")).and_then(Value::as_str).map(str::to_string);
            return Ok(());
        }
        let why = error.map(|e| format!(" (the request failed: {})", failure(e))).unwrap_or_default();
        return Err(LineError::at(
            "response".into(),
            format!("no response, so no time to place the call at{why} (--undated-at places such lines)"),
        ));
    };
    let r = Obj::new(resp, "response");
    if let Some(code) = r.u64("status_code")? {
        let code =
            llmscope_core::call::http_status(code).map_err(|e| LineError::at("response.status_code".into(), e))?;
        call.status_code = Some(code);
        if code >= 400 {
            call.status = CallStatus::Error;
        }
    }
    if let Some(id) = r.str("request_id")? {
        call.attributes.insert("upstream_request_id".into(), Value::String(id));
    }
    let body = r.obj("body")?.ok_or_else(|| LineError::at("response.body".into(), "missing required field".into()))?;
    if let (Some(Value::Object(e)), false, None) = (body.get("error"), has_time(body), opts.undated_at) {
        let status = call.status_code.map(|c| format!("{c} ")).unwrap_or_default();
        return Err(LineError::at(
            "response.body".into(),
            format!(
                "a failed answer ({status}{}) carries no time to place the call at (--undated-at places such lines)",
                failure(e)
            ),
        ));
    }
    if let Some(kind) = body.get("object").and_then(Value::as_str) {
        if !KNOWN_OBJECTS.contains(&kind) {
            return Err(LineError::at(
                "response.body.object".into(),
                format!("{kind:?} is not an answer llmscope reads ({})", KNOWN_OBJECTS.join(", ")),
            ));
        }
    }
    let created = openai::map_response_at(body, "response.body", call)?;
    if request.is_none() {
        responses::echoed_request(body, call);
    }
    place(call, body, created, "response.body", opts)?;
    if let Some(e) = error {
        call.status = CallStatus::Error;
        call.error_message = e.get("message").and_then(Value::as_str).map(str::to_string);
        call.error_kind = e.get("code").and_then(Value::as_str).map(str::to_string);
    }
    Ok(())
}

/// The `object` kinds of the answers a Batch output line may carry: chat and text
/// completions, Responses API responses, embeddings (a `list`).
const KNOWN_OBJECTS: &[&str] = &["chat.completion", "text_completion", "response", "list"];

/// Whether an object is a Batch *input* line: a request (`custom_id`, `method`, `body`) without
/// its answer.
pub fn is_batch_input(obj: &Map<String, Value>) -> bool {
    let has = |k: &str| obj.get(k).is_some_and(|v| !v.is_null());
    obj.contains_key("custom_id") && has("method") && has("body") && !has("response") && !has("error")
}

/// Whether an answer carries its creation time.
fn has_time(answer: &Map<String, Value>) -> bool {
    answer.contains_key("created") || answer.contains_key("created_at")
}

/// An OpenAI error object in a few words: its code (or type) and message.
fn failure(e: &Map<String, Value>) -> String {
    let field = |k: &str| e.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    match (field("code").or(field("type")), field("message")) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(one), None) | (None, Some(one)) => one.to_string(),
        (None, None) => "no message".into(),
    }
}

/// Places a call that carries no time where the import was told to, and says so (the
/// attribute `time_assumed`).
fn assume_time(call: &mut Call, at: chrono::DateTime<chrono::Utc>) {
    call.start_time = at;
    call.attributes.insert("time_assumed".into(), Value::Bool(true));
}

/// A bare response object.
pub fn map_bare(obj: &Map<String, Value>, opts: &ImportOptions, call: &mut Call) -> Result<(), LineError> {
    if let (Some(Value::Object(e)), false, None) = (obj.get("error"), has_time(obj), opts.undated_at) {
        return Err(LineError::line(format!(
            "a failed answer ({}) carries no time to place the call at (--undated-at places such lines)",
            failure(e)
        )));
    }
    let created = openai::map_response_at(obj, "", call)?;
    responses::echoed_request(obj, call);
    place(call, obj, created, "", opts)
}

/// Whether an object is a response logged on its own (what [`map_bare`] reads).
pub fn is_bare_response(obj: &Map<String, Value>) -> bool {
    let kind = obj.get("object").and_then(Value::as_str);
    match kind {
        Some("chat.completion" | "text_completion") => obj.contains_key("choices"),
        Some("response") => obj.contains_key("output"),
        // Another provider's answer: an Anthropic message, an Ollama answer, a Gemini one.
        _ => {
            (obj.get("type").and_then(Value::as_str) == Some("message") && super::anthropic::is_response(obj))
                || super::ollama::is_response(obj)
                || (obj.contains_key("candidates") && super::gemini::is_response(obj))
        }
    }
}

/// The call's start time from the response's `created` (or `created_at`), and its operation
/// from the response's kind.
fn place(
    call: &mut Call,
    body: &Map<String, Value>,
    created: Option<Value>,
    path: &str,
    opts: &ImportOptions,
) -> Result<(), LineError> {
    let responses_api = body.get("object").and_then(Value::as_str) == Some("response");
    let field = if responses_api { "created_at" } else { "created" };
    let at = join(path, field);
    match (created.filter(|v| !v.is_null()), opts.undated_at) {
        (Some(created), _) => {
            call.start_time =
                timeparse::parse_log_timestamp(&created, opts.naive_tz).map_err(|e| LineError::at(at, e))?;
        }
        (None, Some(t)) => assume_time(call, t),
        (None, None) => {
            return Err(LineError::at(
                at,
                "missing: an answer logged without its request is placed at its creation time \
                 (--undated-at places answers without one, e.g. embeddings)"
                    .into(),
            ))
        }
    }
    match body.get("object").and_then(Value::as_str) {
        Some("chat.completion") => call.operation = Some("chat".into()),
        Some("text_completion") => call.operation = Some("completion".into()),
        Some("list") => {
            call.operation = Some("embedding".into());
            call.span_kind = llmscope_core::SpanKind::Embedding;
        }
        _ => {}
    }
    Ok(())
}
