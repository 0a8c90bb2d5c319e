//! Amazon Bedrock's model invocation logs: what Bedrock writes to S3 or CloudWatch Logs for
//! every call when model invocation logging is on, one JSON object each:
//! `schemaType: "ModelInvocationLog", schemaVersion, timestamp, accountId, identity{arn},
//! region, requestId, operation, modelId, input{inputContentType, inputBodyJson,
//! inputTokenCount, cacheReadInputTokenCount, cacheWriteInputTokenCount}, output{
//! outputContentType, outputBodyJson, outputTokenCount}, errorCode, requestMetadata{…}`.
//!
//! The bodies are the model's own: the Converse API's (`messages` of content blocks,
//! `inferenceConfig`, `toolConfig`; the answer's `output.message`, `stopReason`, `usage`,
//! `metrics.latencyMs`, or a ConverseStream's events), or what `InvokeModel` sent and got
//! back, in the shape of the model's vendor: Anthropic's Messages, OpenAI's chat, Meta's
//! `generation`, Mistral's `outputs`, Amazon Titan's `results`, Cohere's `generations`,
//! embeddings. An answer of another shape leaves the call without output, its body kept as
//! the attribute `output_body`: the record itself (model, time, tokens, error) is still a call.
//!
//! The record's `timestamp` is the call's time. Bedrock's own token counts win over the
//! body's; cache reads and writes are counted in the input, and kept as cached and
//! cache-write tokens (as for Anthropic). `errorCode` (an AWS exception name) fails the call, with its HTTP status.
//! `requestMetadata` (the caller's tags) is read for the well-known names (`user_id`,
//! `session_id`, …); the caller's IAM identity is kept as the attribute `identity_arn`.

use llmscope_core::{Call, CallStatus, SpanKind};
use serde_json::{Map, Value};

use super::logged_stream::{self, Logged};
use super::{common, openai, ImportOptions, LineError};
use crate::import::fields::{join, Obj};

/// Whether an object is a model invocation log record.
pub fn is_record(obj: &Map<String, Value>) -> bool {
    if obj.get("schemaType").and_then(Value::as_str) == Some("ModelInvocationLog") {
        return true;
    }
    let part = |key: &str, fields: &[&str]| {
        obj.get(key).and_then(Value::as_object).is_some_and(|m| fields.iter().any(|f| m.contains_key(*f)))
    };
    obj.contains_key("modelId")
        && obj.contains_key("operation")
        && (part("input", &["inputBodyJson", "inputTokenCount", "inputBodyS3Path"])
            || part("output", &["outputBodyJson", "outputTokenCount", "outputBodyS3Path"]))
}

/// The keys read here; the rest go through [`common::apply_rest`].
const OWN: &[&str] = &[
    "schemaType",
    "timestamp",
    "requestId",
    "operation",
    "modelId",
    "input",
    "output",
    "errorCode",
    "errorMessage",
    "status",
    "requestMetadata",
    "identity",
];

pub fn map(obj: &Map<String, Value>, opts: &ImportOptions, call: &mut Call) -> Result<(), LineError> {
    let top = Obj::new(obj, "");
    call.start_time = top
        .time("timestamp", opts.naive_tz)?
        .ok_or_else(|| LineError::at("timestamp".into(), "missing required field".into()))?;
    call.provider = Some("bedrock".into());
    let operation = top.str("operation")?;
    if let Some(op) = &operation {
        call.attributes.insert("bedrock_operation".into(), Value::String(op.clone()));
        if op.ends_with("Stream") {
            call.params.insert("stream".into(), Value::Bool(true));
        }
    }

    if let Some(input) = top.obj("input")? {
        let i = Obj::new(input, "input");
        if let Some(body) = body(i, "inputBodyJson")? {
            map_request(&body, &i.path_of("inputBodyJson"), call)?;
        }
        const COUNTS: &[&str] = &[
            "inputBodyJson",
            "inputTokenCount",
            "cacheReadInputTokenCount",
            "cacheWriteInputTokenCount",
            "inputContentType",
        ];
        common::apply_rest(call, i, COUNTS, "input")?;
    }
    // The model named by the record: a model id, an inference profile or an ARN.
    call.model = top.str("modelId")?.or_else(|| call.model.take());
    if let Some(output) = top.obj("output")? {
        let o = Obj::new(output, "output");
        if let Some(body) = body(o, "outputBodyJson")? {
            map_answer(body, &o.path_of("outputBodyJson"), call)?;
        }
        common::apply_rest(call, o, &["outputBodyJson", "outputTokenCount", "outputContentType"], "output")?;
    }
    if call.span_kind == SpanKind::Embedding {
        call.output = None;
    }
    // Bedrock's request id names the call; an answer's own id (Anthropic's `msg_…`) is kept.
    if let Some(id) = top.str("requestId")? {
        if let Some(own) = call.request_id.replace(id).filter(|own| call.request_id.as_ref() != Some(own)) {
            call.attributes.insert("response_id".into(), Value::String(own));
        }
    }
    counts(top, call)?;

    if let Some(code) = top.str("errorCode")? {
        call.status = CallStatus::Error;
        call.output.get_or_insert_with(String::new);
        call.error_message = top.str("errorMessage")?.or_else(|| call.error_message.take()).or(Some(code.clone()));
        call.status_code = call.status_code.or(exception_status(&code));
        call.error_kind = Some(code);
    }
    if let Some(status) = top.get("status") {
        if status
            .as_str()
            .is_some_and(|s| matches!(s.trim().to_ascii_lowercase().as_str(), "failure" | "failed" | "error"))
        {
            call.status = CallStatus::Error;
        }
        call.attributes.insert("status".into(), status.clone());
    }
    if let Some(identity) = top.obj("identity")? {
        if let Some(arn) = Obj::new(identity, "identity").str("arn")? {
            call.attributes.insert("identity_arn".into(), Value::String(arn));
        }
    }
    if let Some(meta) = top.obj("requestMetadata")? {
        request_metadata(meta, call);
    }
    common::apply_rest(call, top, OWN, "")
}

/// The caller's `requestMetadata`, a free-form map of strings: a user or session id under a
/// well-known name, and a UUID `traceId`, are read; everything (those too) is kept as an
/// attribute `requestMetadata.<key>`. Nothing in it rejects the record.
fn request_metadata(meta: &Map<String, Value>, call: &mut Call) {
    for (k, v) in meta {
        let text = v.as_str().map(str::trim).filter(|s| !s.is_empty());
        match (k.as_str(), text) {
            ("user_id" | "userId" | "user" | "end_user", Some(u)) => {
                call.user_id.get_or_insert_with(|| u.to_string());
            }
            ("session_id" | "sessionId" | "conversation_id" | "thread_id", Some(s)) => {
                call.session_id.get_or_insert_with(|| s.to_string());
            }
            ("traceId" | "trace_id", Some(t)) => {
                if let Some(id) = common::trace_id_of(t) {
                    call.trace_id = id;
                }
            }
            _ => {}
        }
        if !v.is_null() {
            call.attributes.insert(format!("requestMetadata.{k}"), v.clone());
        }
    }
}

/// A logged body: JSON (an object or array), or JSON written as a string (kept as text
/// when it does not parse).
fn body(o: Obj<'_>, key: &str) -> Result<Option<Value>, LineError> {
    Ok(match o.get(key) {
        None => None,
        Some(Value::String(s)) => Some(serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone()))),
        Some(v) => Some(v.clone()),
    })
}

/// Bedrock's own token counts (what it bills), over the body's. Its input count leaves out
/// the tokens read from and written to the prompt cache, as its cache counts do; those the
/// record does not give are the body's.
fn counts(top: Obj<'_>, call: &mut Call) -> Result<(), LineError> {
    if let Some(input) = top.obj("input")? {
        let i = Obj::new(input, "input");
        let (fresh, read, written) = (
            i.tokens("inputTokenCount")?,
            i.tokens("cacheReadInputTokenCount")?,
            i.tokens("cacheWriteInputTokenCount")?,
        );
        if fresh.is_some() || read.is_some() || written.is_some() {
            let u = call.usage;
            let (read, written) = (read.or(u.cached), written.or(u.cache_write));
            let body_fresh =
                u.input.map(|n| n.saturating_sub(u.cached.unwrap_or(0)).saturating_sub(u.cache_write.unwrap_or(0)));
            call.usage.input = common::prompt_tokens(fresh.or(body_fresh), read, written);
            (call.usage.cached, call.usage.cache_write, call.usage.total) = (read, written, None);
        }
    }
    if let Some(output) = top.obj("output")? {
        if let Some(n) = Obj::new(output, "output").tokens("outputTokenCount")? {
            call.usage.output = Some(n);
            call.usage.total = None;
        }
    }
    Ok(())
}

/// The HTTP status of an AWS exception Bedrock names in `errorCode`.
fn exception_status(code: &str) -> Option<u16> {
    let name = code.trim().trim_end_matches("Exception").to_ascii_lowercase();
    Some(match name.as_str() {
        "validation" | "servicequotaexceeded" => 400,
        "accessdenied" | "unrecognizedclient" => 403,
        "resourcenotfound" => 404,
        "modeltimeout" => 408,
        "throttling" | "modelnotready" | "toomanyrequests" => 429,
        "modelerror" | "modelstreamerror" => 424,
        "internalserver" => 500,
        "serviceunavailable" => 503,
        _ => return None,
    })
}

/// Maps a request body: a Converse request, or an `InvokeModel` body in its vendor's shape.
fn map_request(body: &Value, path: &str, call: &mut Call) -> Result<(), LineError> {
    let Value::Object(req) = body else {
        if let Value::String(s) = body {
            call.input_text = s.clone();
            call.input = body.clone();
        }
        return Ok(());
    };
    openai::map_chat_request_at(req, path, call)?;
    let r = Obj::new(req, path);
    // Amazon Titan's text and embedding models, Cohere's embeddings.
    if call.operation.is_none() {
        if let Some(text) = r.text("inputText")? {
            call.params.remove("inputText");
            call.operation = Some("completion".into());
            call.input_text = text;
            call.input = req.get("inputText").cloned().unwrap_or(Value::Null);
        } else if let Some(texts) = r.arr("texts")? {
            call.params.remove("texts");
            call.operation = Some("embedding".into());
            call.span_kind = SpanKind::Embedding;
            call.input_text = common::content_text(req.get("texts")).unwrap_or_default();
            call.input = Value::Array(texts.clone());
        }
    }
    // The Converse API's (and Amazon Nova's) settings, and Amazon Titan's.
    for key in ["inferenceConfig", "textGenerationConfig"] {
        if let (None, Some(cfg)) = (call.temperature, r.obj(key)?) {
            let at = r.path_of(key);
            call.temperature = Obj::new(cfg, &at).f64("temperature")?;
        }
    }
    if let (None, Some(tools)) = (&call.tools, r.obj("toolConfig")?.and_then(|t| t.get("tools"))) {
        call.tools = Some(tools.clone());
    }
    Ok(())
}

/// Maps an answer body found at `path`.
fn map_answer(body: Value, path: &str, call: &mut Call) -> Result<(), LineError> {
    let body = match body {
        Value::Array(events) if events.iter().any(is_converse_event) => Value::Object(join_converse_stream(&events)),
        Value::Object(m) => Value::Object(m),
        Value::String(s) => {
            call.output = Some(s);
            return Ok(());
        }
        other => match logged_stream::read(&other, path) {
            Ok(Logged::Body(m)) => Value::Object(m),
            Ok(Logged::Stream(m, facts)) => {
                call.attributes.extend(facts);
                Value::Object(m)
            }
            Err(_) => {
                call.attributes.insert("output_body".into(), other);
                return Ok(());
            }
        },
    };
    let Value::Object(rm) = &body else { return Ok(()) };
    let r = Obj::new(rm, path);
    if let Some(out) = rm.get("output").and_then(Value::as_object).filter(|o| o.contains_key("message")) {
        let at = r.path_of("output");
        return map_converse_answer(r, Obj::new(out, &at), call);
    }
    let texts = |key: &str, field: &str| -> Option<String> {
        let items = rm.get(key)?.as_array()?;
        let texts: Vec<&str> = items.iter().filter_map(|i| i.get(field).and_then(Value::as_str)).collect();
        (!texts.is_empty()).then(|| texts.concat())
    };
    let first_reason = |key: &str, field: &str| {
        rm.get(key).and_then(Value::as_array).and_then(|a| a.first()).and_then(|f| f.get(field)).and_then(Value::as_str)
    };
    if let Some(g) = r.text("generation")? {
        // Meta's Llama models.
        call.output = Some(g);
        finish(call, r.str("stop_reason")?.as_deref());
        call.usage.input = r.tokens("prompt_token_count")?;
        call.usage.output = r.tokens("generation_token_count")?;
    } else if let Some(text) = texts("results", "outputText") {
        // Amazon Titan.
        call.output = Some(text);
        finish(call, first_reason("results", "completionReason"));
        call.usage.input = r.tokens("inputTextTokenCount")?;
    } else if let Some(text) = texts("outputs", "text") {
        // Mistral.
        call.output = Some(text);
        finish(call, first_reason("outputs", "stop_reason"));
    } else if let Some(text) = texts("generations", "text") {
        // Cohere Command.
        call.output = Some(text);
        finish(call, first_reason("generations", "finish_reason"));
    } else if let Some(c) = r.text("completion")? {
        // Anthropic's legacy Text Completions (Claude 2 and Instant).
        call.output = Some(c);
        finish(call, r.str("stop_reason")?.as_deref());
    } else if rm.contains_key("embedding") || rm.contains_key("embeddings") {
        call.operation = Some("embedding".into());
        call.span_kind = SpanKind::Embedding;
        call.usage.input = r.tokens("inputTextTokenCount")?;
    } else if is_known_answer(rm) {
        openai::map_response_at(rm, path, call)?;
    } else {
        call.attributes.insert("output_body".into(), body.clone());
    }
    Ok(())
}

/// A vendor's stop reason, if any ([`common::stop_reason`]).
fn finish(call: &mut Call, reason: Option<&str>) {
    if let Some(reason) = reason {
        common::stop_reason(call, reason.to_string());
    }
}

/// Whether an `InvokeModel` answer is one the pair mapper reads by its shape: an Anthropic
/// message or error, an OpenAI chat or completion body (gpt-oss), a Responses API one.
/// Anything else is kept whole rather than read by its keys (an `id` or a `message` alone
/// would make another vendor's answer an empty or failed OpenAI one).
fn is_known_answer(rm: &Map<String, Value>) -> bool {
    super::anthropic::is_response(rm)
        || super::responses::is_response(rm)
        || rm.get("choices").is_some_and(Value::is_array)
        || rm.get("error").is_some_and(Value::is_object)
}

/// A Converse answer: `output.message.content` blocks (text, `toolUse`, `reasoningContent`),
/// `stopReason`, `usage`, `metrics.latencyMs`.
fn map_converse_answer(r: Obj<'_>, out: Obj<'_>, call: &mut Call) -> Result<(), LineError> {
    let msg_path = out.path_of("message");
    let (mut text, mut reasoning, mut tool_calls) = (String::new(), String::new(), Vec::new());
    if let Some(msg) = out.obj("message")? {
        let m = Obj::new(msg, &msg_path);
        for (i, block) in m.arr("content")?.into_iter().flatten().enumerate() {
            let Value::Object(b) = block else {
                return Err(LineError::at(
                    format!("{}[{i}]", join(&msg_path, "content")),
                    "expected a content block (an object)".into(),
                ));
            };
            if let Some(t) = b.get("text").and_then(Value::as_str) {
                text.push_str(t);
            }
            if let Some(t) =
                b.get("reasoningContent").and_then(|c| c.pointer("/reasoningText/text")).and_then(Value::as_str)
            {
                reasoning.push_str(t);
            }
            if let Some(Value::Object(u)) = b.get("toolUse") {
                let id = u.get("toolUseId").cloned().unwrap_or(Value::Null);
                tool_calls.push(common::function_call(id, u.get("name"), u.get("input"), "{}"));
            }
        }
    }
    common::answer(call, text, reasoning, tool_calls);
    finish(call, r.str("stopReason")?.as_deref());
    // A stream that ended in an exception event.
    if let Some(exception) = r.str("exception")? {
        call.status = CallStatus::Error;
        call.status_code = call.status_code.or(exception_status(&exception));
        call.error_message = r.str("exceptionMessage")?.or(Some(exception.clone()));
        call.error_kind = Some(exception);
    }
    if let Some(usage) = r.obj("usage")? {
        let at = r.path_of("usage");
        let u = Obj::new(usage, &at);
        common::split_usage(call, u, ["inputTokens", "cacheReadInputTokens", "cacheWriteInputTokens", "outputTokens"])?;
        call.usage.total = u.tokens("totalTokens")?;
    }
    if let Some(metrics) = r.obj("metrics")? {
        call.latency_ms = Obj::new(metrics, &r.path_of("metrics")).non_neg("latencyMs")?;
    }
    Ok(())
}

/// The events of a ConverseStream, by their one key.
const CONVERSE_EVENTS: &[&str] =
    &["messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"];

fn is_converse_event(v: &Value) -> bool {
    v.as_object().is_some_and(|m| m.keys().any(|k| CONVERSE_EVENTS.contains(&k.as_str()) || k.ends_with("Exception")))
}

/// Joins a ConverseStream's events into the answer a Converse call returns: text and
/// reasoning deltas by block, a tool call's input from its JSON pieces, the stop reason, and
/// the closing `metadata` event's usage and metrics. An exception event ends it as an error.
fn join_converse_stream(events: &[Value]) -> Map<String, Value> {
    let mut blocks: Vec<(u64, Map<String, Value>, String, String)> = Vec::new();
    let mut answer = Map::new();
    let mut reasoning = String::new();
    let slot = |blocks: &mut Vec<(u64, Map<String, Value>, String, String)>, index: u64| match blocks
        .iter()
        .position(|(i, ..)| *i == index)
    {
        Some(at) => at,
        None => {
            blocks.push((index, Map::new(), String::new(), String::new()));
            blocks.len() - 1
        }
    };
    for e in events.iter().filter_map(Value::as_object) {
        for (kind, ev) in e {
            let index = ev.get("contentBlockIndex").and_then(Value::as_u64).unwrap_or(0);
            match kind.as_str() {
                "contentBlockStart" => {
                    if let Some(Value::Object(tool)) = ev.pointer("/start/toolUse") {
                        let at = slot(&mut blocks, index);
                        blocks[at].1 = tool.clone();
                    }
                }
                "contentBlockDelta" => {
                    let at = slot(&mut blocks, index);
                    let Some(delta) = ev.get("delta") else { continue };
                    let (_, _, text, args) = &mut blocks[at];
                    if let Some(t) = delta.get("text").and_then(Value::as_str) {
                        text.push_str(t);
                    }
                    if let Some(t) = delta.pointer("/reasoningContent/text").and_then(Value::as_str) {
                        reasoning.push_str(t);
                    }
                    if let Some(t) = delta.pointer("/toolUse/input").and_then(Value::as_str) {
                        args.push_str(t);
                    }
                }
                "messageStop" => {
                    if let Some(r) = ev.get("stopReason") {
                        answer.insert("stopReason".into(), r.clone());
                    }
                }
                "metadata" => {
                    for key in ["usage", "metrics"] {
                        if let Some(v) = ev.get(key) {
                            answer.insert(key.into(), v.clone());
                        }
                    }
                }
                k if k.ends_with("Exception") => {
                    answer.insert("exception".into(), Value::String(k.to_string()));
                    if let Some(m) = ev.get("message") {
                        answer.insert("exceptionMessage".into(), m.clone());
                    }
                }
                _ => {}
            }
        }
    }
    blocks.sort_by_key(|(i, ..)| *i);
    let mut content: Vec<Value> = Vec::new();
    if !reasoning.is_empty() {
        content.push(serde_json::json!({"reasoningContent": {"reasoningText": {"text": reasoning}}}));
    }
    for (_, mut tool, text, args) in blocks {
        if !text.is_empty() {
            content.push(serde_json::json!({ "text": text }));
        }
        if !tool.is_empty() || !args.is_empty() {
            // (No input pieces: the tool call's arguments are `{}`, as for a non-streamed one.)
            if !args.is_empty() {
                tool.insert("input".into(), serde_json::from_str(&args).unwrap_or(Value::String(args)));
            }
            content.push(serde_json::json!({ "toolUse": tool }));
        }
    }
    answer.insert("output".into(), serde_json::json!({"message": {"role": "assistant", "content": content}}));
    answer
}
