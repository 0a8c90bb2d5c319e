//! OpenAI's Responses API (`POST /v1/responses`, what the OpenAI Agents SDK and
//! `client.responses.create` use) onto a [`Call`].
//!
//! - Request: `model`, `input` (a string, or an array of items: messages with `role` and
//!   `content` as a string or `input_text` parts, function calls and their outputs, …),
//!   `instructions` (kept as a leading system message), `temperature`, `text.format`
//!   (`json_object` / `json_schema` is JSON mode), `tools`; the rest goes to `params`.
//! - Response (`"object": "response"`): `output` items — `message` items' `output_text` parts
//!   joined as the output, `refusal` parts kept, `function_call` items as tool calls in the
//!   chat shape (`{id, type: "function", function: {name, arguments}}`, so the same checks
//!   apply) — `status` (`failed` with its `error` is a failed call; `incomplete` keeps its
//!   reason, `max_output_tokens` read as the finish reason `length`), and `usage`
//!   (`input_tokens`, `output_tokens`, `total_tokens`, cached and reasoning tokens).

use llmscope_core::{Call, CallStatus};
use serde_json::{json, Map, Value};

use super::{common, LineError};
use crate::import::fields::{join, Obj};

/// The operation name stored for Responses API calls.
pub const OPERATION: &str = "responses";

/// Request keys mapped onto their own fields (the rest are kept in `params`).
const OWN_REQ: &[&str] = &["model", "input", "instructions", "temperature", "text", "tools", "user"];

/// Request keys only the Responses API has (embeddings requests — OpenAI's and the
/// compatible ones, e.g. Voyage's `truncation` or Jina's multimodal `input` objects — have
/// none of these).
const RESPONSES_ONLY: &[&str] = &[
    "instructions",
    "previous_response_id",
    "max_output_tokens",
    "text",
    "reasoning",
    "store",
    "include",
    "tool_choice",
    "parallel_tool_calls",
    "background",
    "conversation",
    "tools",
    "stream",
    "temperature",
    "top_p",
];

/// Input item types of the Responses API besides messages.
const ITEM_TYPES: &[&str] = &[
    "message",
    "function_call",
    "function_call_output",
    "custom_tool_call",
    "custom_tool_call_output",
    "reasoning",
    "item_reference",
    "computer_call_output",
    "local_shell_call_output",
    "mcp_approval_response",
];

/// Whether a request body with `input` is a Responses API request rather than an
/// embeddings (or moderations) one, when the endpoint is not known, as in logged pairs.
pub fn is_request(req: &Map<String, Value>) -> bool {
    let items = match req.get("input") {
        Some(Value::Array(items)) => items.as_slice(),
        Some(_) => &[],
        None => return false,
    };
    // Embeddings take strings, token arrays or (multimodal) content objects; the Responses
    // API takes messages with a role, or typed items.
    let item = |v: &Value| {
        v.get("role").is_some_and(Value::is_string)
            || v.get("type").and_then(Value::as_str).is_some_and(|t| ITEM_TYPES.contains(&t))
    };
    items.iter().any(item) || RESPONSES_ONLY.iter().any(|k| req.contains_key(*k))
}

/// Output items the client is asked to act on (beside `function_call`), kept as tool calls.
const CLIENT_CALLS: &[&str] = &["custom_tool_call", "computer_call", "local_shell_call", "mcp_approval_request"];

/// Output items of tools OpenAI runs itself, counted in the `hosted_tool_calls` attribute.
const HOSTED_CALLS: &[&str] = &[
    "web_search_call",
    "file_search_call",
    "code_interpreter_call",
    "image_generation_call",
    "mcp_call",
    "mcp_list_tools",
];

/// Whether a response body is a Responses API response.
pub fn is_response(resp: &Map<String, Value>) -> bool {
    resp.get("object").and_then(Value::as_str) == Some("response")
}

/// Maps a Responses API request body onto `call`. Errors name their path under `request`.
pub fn map_request(req_map: &Map<String, Value>, call: &mut Call) -> Result<(), LineError> {
    let req = Obj::new(req_map, "request");
    call.model = req.str("model")?;
    call.operation = Some(OPERATION.into());
    let mut items: Vec<Value> = match req.get("input") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => match common::user_message(s) {
            Value::Array(items) => items,
            other => vec![other],
        },
        Some(Value::Array(a)) => a.clone(),
        Some(v) => {
            return Err(LineError::at(
                "request.input".into(),
                format!("expected a string or an array of items, found {}", crate::import::fields::describe(v)),
            ))
        }
    };
    call.input_text = items
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .and_then(|m| common::content_text(m.get("content")))
        .unwrap_or_default();
    if let Some(instructions) = req.text("instructions")?.filter(|s| !s.is_empty()) {
        items.insert(0, json!({"role": "system", "content": instructions}));
    }
    call.input = Value::Array(items);
    call.temperature = req.f64("temperature")?;
    if let Some(text) = req.obj("text")? {
        if let Some(format) = text.get("format").filter(|f| !f.is_null()) {
            set_format(call, format);
        }
        // Other text settings (`verbosity`, …) are parameters.
        if text.keys().any(|k| k != "format") {
            call.params.insert("text".into(), Value::Object(text.clone()));
        }
    }
    call.tools = req.get("tools").filter(|t| !t.is_null()).cloned();
    for (k, v) in req_map {
        if !OWN_REQ.contains(&k.as_str()) && !v.is_null() {
            call.params.insert(k.clone(), v.clone());
        }
    }
    Ok(())
}

/// The output format asked for (`text.format`): `json_object` and `json_schema` are JSON mode.
fn set_format(call: &mut Call, format: &Value) {
    let kind = format.get("type").and_then(Value::as_str).unwrap_or("");
    call.json_mode = matches!(kind, "json_object" | "json_schema");
    call.response_format = Some(format.clone());
}

/// The request settings a Responses API response echoes (`instructions`, `temperature`,
/// `text.format`, `tools`, `user` / `safety_identifier`), for an answer logged without its
/// request (a response on its own, a Batch output line): what the call would otherwise not
/// know. Values of another type than the API's are left out, never a reason to reject the
/// line. (A request/response pair takes these from its request and its own fields.)
pub fn echoed_request(body: &Map<String, Value>, call: &mut Call) {
    if !is_response(body) {
        return;
    }
    if let Some(format) = body.get("text").and_then(|t| t.get("format")).filter(|f| f.is_object()) {
        // Plain text is the default, not a choice worth recording.
        if format.get("type").and_then(Value::as_str) != Some("text") {
            set_format(call, format);
        }
    }
    if let Some(t) = body.get("temperature").and_then(Value::as_f64) {
        call.temperature = Some(t);
    }
    if let Some(tools) = body.get("tools").filter(|t| t.as_array().is_some_and(|a| !a.is_empty())) {
        call.tools = Some(tools.clone());
    }
    if let Some(u) = user_of(body) {
        call.user_id = Some(u);
    }
    // The instructions: a string (a system message), or input items (from a stored prompt).
    match body.get("instructions") {
        Some(Value::String(s)) if !s.is_empty() => call.input = json!([{"role": "system", "content": s}]),
        Some(Value::Array(items)) if !items.is_empty() => call.input = Value::Array(items.clone()),
        _ => {}
    }
}

/// The end user a request (or a response echoing it) names: `user`, or OpenAI's newer
/// `safety_identifier`.
pub fn user_of(body: &Map<String, Value>) -> Option<String> {
    let user = ["user", "safety_identifier"].iter().find_map(|k| body.get(*k).and_then(Value::as_str));
    user.filter(|u| !u.is_empty()).map(str::to_string)
}

/// Maps a Responses API response body onto `call`. Returns its `created_at`. Errors name
/// their path under `response`.
pub fn map_response(rm: &Map<String, Value>, call: &mut Call) -> Result<Option<Value>, LineError> {
    map_response_at(rm, "response", call)
}

/// [`map_response`] of a body found at `path` (errors name their path under it).
pub fn map_response_at(rm: &Map<String, Value>, path: &str, call: &mut Call) -> Result<Option<Value>, LineError> {
    let resp = Obj::new(rm, path);
    call.request_id = resp.str("id")?;
    // A request of only `model` and `input` reads like an embeddings request; the response
    // settles it.
    if call.operation.as_deref() != Some(OPERATION) {
        call.operation = Some(OPERATION.into());
        call.span_kind = llmscope_core::SpanKind::default();
    }
    super::openai::note_response_model(call, resp.str("model")?);
    let (mut text, mut refusal, mut tool_calls) = (String::new(), String::new(), Vec::new());
    let (mut reasoning_items, mut hosted) = (0u64, 0u64);
    for (i, item) in resp.arr("output")?.into_iter().flatten().enumerate() {
        match item.get("type").and_then(Value::as_str) {
            Some("message") => {
                for part in item.get("content").and_then(Value::as_array).into_iter().flatten() {
                    match part.get("type").and_then(Value::as_str) {
                        Some("output_text") => text.push_str(part.get("text").and_then(Value::as_str).unwrap_or("")),
                        Some("refusal") => refusal.push_str(part.get("refusal").and_then(Value::as_str).unwrap_or("")),
                        _ => {}
                    }
                }
            }
            Some("function_call") => {
                let id = item.get("call_id").or_else(|| item.get("id")).cloned().unwrap_or(Value::Null);
                tool_calls.push(common::function_call(id, item.get("name"), item.get("arguments"), ""));
            }
            Some("reasoning") => reasoning_items += 1,
            // A free-form tool's input is not JSON: kept without `function.arguments`, so the
            // tool-argument check does not flag it.
            Some(kind) if CLIENT_CALLS.contains(&kind) => {
                let mut tc = Map::new();
                tc.insert("id".into(), item.get("call_id").or_else(|| item.get("id")).cloned().unwrap_or(Value::Null));
                tc.insert("type".into(), Value::String(kind.trim_end_matches("_call").to_string()));
                tc.insert(kind.to_string(), item.clone());
                tool_calls.push(Value::Object(tc));
            }
            Some(kind) if HOSTED_CALLS.contains(&kind) => hosted += 1,
            Some(_) => {}
            None => {
                return Err(LineError::at(
                    format!("{}[{i}].type", join(path, "output")),
                    "missing required field".into(),
                ));
            }
        }
    }
    // A refusal is what the user was shown when there is no text (as for chat).
    call.output = Some(if text.is_empty() { refusal.clone() } else { text });
    if !refusal.is_empty() {
        call.attributes.insert("refusal".into(), Value::String(refusal));
    }
    if reasoning_items > 0 {
        call.attributes.insert("reasoning_items".into(), reasoning_items.into());
    }
    if hosted > 0 {
        call.attributes.insert("hosted_tool_calls".into(), hosted.into());
    }
    let has_tools = !tool_calls.is_empty();
    if has_tools {
        call.tool_calls = Some(Value::Array(tool_calls));
    }
    match resp.str("status")?.as_deref() {
        Some("failed") => call.status = CallStatus::Error,
        Some("cancelled") => {
            call.status = CallStatus::Cancelled;
            call.error_kind.get_or_insert_with(|| "cancelled".into());
        }
        // A background response not finished yet: no answer to judge.
        Some(pending @ ("queued" | "in_progress")) => {
            call.output = None;
            call.attributes.insert("response_status".into(), Value::String(pending.to_string()));
        }
        Some("incomplete") => {
            let reason = resp
                .obj("incomplete_details")?
                .and_then(|d| d.get("reason"))
                .and_then(Value::as_str)
                .unwrap_or("incomplete")
                .to_string();
            call.finish_reason = Some(if reason == "max_output_tokens" { "length".into() } else { reason.clone() });
            call.attributes.insert("incomplete_reason".into(), Value::String(reason));
        }
        Some("completed") => call.finish_reason = Some(if has_tools { "tool_calls" } else { "stop" }.into()),
        Some(other) => {
            call.attributes.insert("response_status".into(), Value::String(other.to_string()));
        }
        None => {}
    }
    if let Some(err) = resp.get("error").filter(|e| !e.is_null()) {
        call.status = CallStatus::Error;
        call.error_message =
            Some(err.get("message").and_then(Value::as_str).map_or_else(|| err.to_string(), str::to_string));
        call.error_kind = err.get("code").or_else(|| err.get("type")).and_then(Value::as_str).map(str::to_string);
    }
    if let Some(usage) = resp.obj("usage")? {
        let usage_path = join(path, "usage");
        let u = Obj::new(usage, &usage_path);
        call.usage.input = u.tokens("input_tokens")?;
        call.usage.output = u.tokens("output_tokens")?;
        call.usage.total = u.tokens("total_tokens")?;
        if let Some(d) = u.obj("input_tokens_details")? {
            call.usage.cached = Obj::new(d, &u.path_of("input_tokens_details")).tokens("cached_tokens")?;
        }
        if let Some(d) = u.obj("output_tokens_details")? {
            if let Some(r) = Obj::new(d, &u.path_of("output_tokens_details")).tokens("reasoning_tokens")? {
                call.attributes.insert("reasoning_tokens".into(), r.into());
            }
        }
    }
    Ok(resp.get("created_at").cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn requests_are_told_from_embeddings() {
        assert!(is_request(&obj(json!({"model": "m", "input": "hi", "instructions": "be brief"}))));
        assert!(is_request(&obj(json!({"model": "m", "input": [{"role": "user", "content": "hi"}]}))));
        assert!(!is_request(&obj(json!({"model": "e", "input": "hi"}))));
        assert!(!is_request(&obj(json!({"model": "e", "input": ["a", "b"], "dimensions": 8}))));
        assert!(!is_request(&obj(json!({"model": "m", "messages": []}))));
        // Embeddings APIs beside OpenAI's: multimodal content objects, Voyage's `truncation`.
        assert!(!is_request(&obj(json!({"model": "jina", "input": [{"text": "a"}, {"image": "https://x/y.png"}]}))));
        assert!(!is_request(&obj(json!({"model": "voyage-3", "input": ["a"], "truncation": true}))));
        assert!(is_request(&obj(
            json!({"model": "m", "input": [{"type": "function_call_output", "call_id": "c", "output": "1"}]})
        )));
    }

    #[test]
    fn other_tool_calls_hosted_tools_and_unfinished_statuses() -> Result<(), LineError> {
        let resp = obj(json!({"id": "r", "object": "response", "status": "completed", "output": [
            {"type": "web_search_call", "id": "ws_1", "status": "completed"},
            {"type": "custom_tool_call", "call_id": "call_c", "name": "run_sql", "input": "SELECT 1"}]}));
        let mut call = Call::default();
        map_response(&resp, &mut call)?;
        assert_eq!(call.finish_reason.as_deref(), Some("tool_calls"));
        let tc = call.tool_calls.clone().unwrap_or_default();
        assert_eq!((tc[0]["id"].clone(), tc[0]["type"].clone()), (json!("call_c"), json!("custom_tool")));
        assert_eq!(tc[0]["custom_tool_call"]["input"], "SELECT 1");
        assert_eq!(call.attributes.get("hosted_tool_calls"), Some(&json!(1)));
        // Free-form input is not JSON arguments: not flagged.
        assert!(!llmscope_core::checks::flags_for(&call).iter().any(|f| f == "invalid_tool_args"));
        let mut call = Call::default();
        map_response(&obj(json!({"object": "response", "status": "cancelled", "output": []})), &mut call)?;
        assert_eq!(call.status, CallStatus::Cancelled);
        let mut call = Call::default();
        map_response(&obj(json!({"object": "response", "status": "queued", "output": []})), &mut call)?;
        assert_eq!((call.status, call.output.clone()), (CallStatus::Ok, None));
        // Text settings other than the format are parameters.
        let mut call = Call::default();
        map_request(&obj(json!({"model": "m", "input": "hi", "text": {"verbosity": "low"}})), &mut call)?;
        assert_eq!(call.params.get("text"), Some(&json!({"verbosity": "low"})));
        Ok(())
    }

    #[test]
    fn a_request_maps_input_instructions_json_mode_and_params() -> Result<(), LineError> {
        let req = obj(json!({
            "model": "gpt-4.1", "instructions": "Answer in JSON.", "temperature": 0.2,
            "input": [{"role": "user", "content": [{"type": "input_text", "text": "List two colours"}]}],
            "text": {"format": {"type": "json_object"}}, "max_output_tokens": 50, "user": "u1",
        }));
        let mut call = Call::default();
        map_request(&req, &mut call)?;
        assert_eq!(call.operation.as_deref(), Some(OPERATION));
        assert_eq!(call.model.as_deref(), Some("gpt-4.1"));
        assert_eq!(call.input_text, "List two colours");
        assert_eq!(call.input[0], json!({"role": "system", "content": "Answer in JSON."}));
        assert_eq!(call.input.as_array().map(Vec::len), Some(2));
        assert!(call.json_mode);
        assert_eq!(call.temperature, Some(0.2));
        assert_eq!(call.params.get("max_output_tokens"), Some(&json!(50)));
        assert!(!call.params.contains_key("user"));
        // A plain string input is the user's message.
        let mut call = Call::default();
        map_request(&obj(json!({"model": "m", "input": "hello"})), &mut call)?;
        assert_eq!(
            (call.input_text.as_str(), call.input.clone()),
            ("hello", json!([{"role": "user", "content": "hello"}]))
        );
        Ok(())
    }

    #[test]
    fn a_response_maps_text_tool_calls_status_and_usage() -> Result<(), LineError> {
        let resp = obj(json!({
            "id": "resp_1", "object": "response", "created_at": 1_700_000_000, "status": "completed", "model": "gpt-4.1-2025",
            "output": [
                {"type": "reasoning", "id": "rs_1", "summary": []},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hello", "annotations": []}, {"type": "output_text", "text": " there"}]},
                {"type": "function_call", "call_id": "call_9", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}
            ],
            "usage": {"input_tokens": 11, "input_tokens_details": {"cached_tokens": 4}, "output_tokens": 7,
                      "output_tokens_details": {"reasoning_tokens": 2}, "total_tokens": 18}
        }));
        let mut call = Call { model: Some("gpt-4.1".into()), ..Default::default() };
        let created = map_response(&resp, &mut call)?;
        assert_eq!(created, Some(json!(1_700_000_000)));
        assert_eq!(call.request_id.as_deref(), Some("resp_1"));
        assert_eq!(call.output.as_deref(), Some("Hello there"));
        assert_eq!(call.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(call.tool_calls.as_ref().map(|t| t[0]["function"]["name"].clone()), Some(json!("get_weather")));
        assert_eq!(call.tool_calls.as_ref().map(|t| t[0]["id"].clone()), Some(json!("call_9")));
        assert_eq!(
            (call.usage.input, call.usage.output, call.usage.total, call.usage.cached),
            (Some(11), Some(7), Some(18), Some(4))
        );
        assert_eq!(call.attributes.get("reasoning_tokens"), Some(&json!(2)));
        assert_eq!(call.attributes.get("response_model"), Some(&json!("gpt-4.1-2025")));
        assert_eq!(call.model.as_deref(), Some("gpt-4.1"));
        Ok(())
    }

    #[test]
    fn a_response_without_its_request_keeps_the_settings_it_echoes() -> Result<(), LineError> {
        let resp = obj(json!({
            "id": "resp_2", "object": "response", "created_at": 1_700_000_000.0, "status": "completed",
            "instructions": "Answer in JSON.", "temperature": 0.3, "text": {"format": {"type": "json_object"}},
            "tools": [{"type": "function", "name": "f", "parameters": {}}], "user": "u7",
            "output": [{"type": "message", "content": [{"type": "output_text", "text": "{}"}]}]
        }));
        let mut call = Call::default();
        map_response(&resp, &mut call)?;
        assert_eq!((call.json_mode, call.temperature, call.user_id.clone()), (false, None, None), "not by itself");
        echoed_request(&resp, &mut call);
        assert!(call.json_mode);
        assert_eq!(call.response_format, Some(json!({"type": "json_object"})));
        assert_eq!((call.temperature, call.user_id.as_deref()), (Some(0.3), Some("u7")));
        assert_eq!(call.tools.as_ref().map(|t| t[0]["name"].clone()), Some(json!("f")));
        assert_eq!(call.input, json!([{"role": "system", "content": "Answer in JSON."}]));
        assert_eq!(call.input_text, "", "the instructions are no user question");
        // Plain text and no tools are the defaults, not recorded; values of the wrong type
        // are left out; instructions given as items are the input.
        let odd = obj(json!({"object": "response", "status": "completed", "output": [], "temperature": "hot",
                             "text": {"format": {"type": "text"}}, "tools": [], "user": 7, "safety_identifier": "h1",
                             "instructions": [{"role": "developer", "content": "Be brief."}]}));
        let mut call = Call::default();
        echoed_request(&odd, &mut call);
        assert_eq!((call.json_mode, call.response_format.clone(), call.tools.clone()), (false, None, None));
        assert_eq!((call.temperature, call.user_id.as_deref()), (None, Some("h1")));
        assert_eq!(call.input, json!([{"role": "developer", "content": "Be brief."}]));
        // A chat completion echoes nothing.
        let mut call = Call::default();
        echoed_request(&obj(json!({"object": "chat.completion", "temperature": 0.3, "user": "u"})), &mut call);
        assert_eq!((call.temperature, call.user_id), (None, None));
        Ok(())
    }

    #[test]
    fn failed_and_incomplete_responses() -> Result<(), LineError> {
        let mut call = Call::default();
        map_response(
            &obj(json!({"id": "r", "object": "response", "status": "failed", "output": [],
                        "error": {"code": "server_error", "message": "The model crashed"}})),
            &mut call,
        )?;
        assert_eq!(call.status, CallStatus::Error);
        assert_eq!(
            (call.error_kind.as_deref(), call.error_message.as_deref()),
            (Some("server_error"), Some("The model crashed"))
        );
        let mut call = Call::default();
        map_response(
            &obj(json!({"id": "r", "object": "response", "status": "incomplete",
                        "incomplete_details": {"reason": "max_output_tokens"},
                        "output": [{"type": "message", "content": [{"type": "output_text", "text": "Once upon"}]}]})),
            &mut call,
        )?;
        assert_eq!((call.output.as_deref(), call.finish_reason.as_deref()), (Some("Once upon"), Some("length")));
        // An output item without a type is named by its path.
        let mut call = Call::default();
        let e = map_response(&obj(json!({"object": "response", "output": [{"content": []}]})), &mut call);
        assert_eq!(e.map_err(|e| e.path), Err("response.output[0].type".to_string()));
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn never_panics(input in proptest::prelude::any::<String>(), status in "[a-z]{0,12}") {
            let req = obj(json!({"model": "m", "input": input.clone(), "instructions": input.clone()}));
            let mut call = Call::default();
            let _ = map_request(&req, &mut call);
            let resp = obj(json!({"object": "response", "status": status, "output": [{"type": "message", "content": [{"type": "output_text", "text": input}]}]}));
            let _ = map_response(&resp, &mut call);
        }
    }
}
