//! Test helpers that read generated lines back: which format a line is in,
//! its exact field set, its time, its texts, and the PII a scan finds.

use chrono::{DateTime, NaiveDateTime};
use serde_json::{json, Map, Value};

use crate::pii::{is_valid_cn_id, luhn_valid};
use crate::Format;

pub(crate) fn obj(v: &Value) -> &Map<String, Value> {
    v.as_object().unwrap_or_else(|| panic!("not an object: {v}"))
}

pub(crate) fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} not a string in {v}"))
}

/// A key only one format's lines carry, in the order they are tried.
const TELLING_KEYS: [(&str, Format); 11] = [
    ("schemaType", Format::Bedrock),
    ("traceId", Format::Langfuse),
    ("call_type", Format::LiteLlm),
    ("input_category", Format::Seed000Enhanced),
    ("user_input", Format::Seed000Basic),
    ("level", Format::Seed001),
    ("message", Format::Seed004),
    ("span_kind", Format::Native),
    ("method", Format::OpenAiBatchInput),
    ("custom_id", Format::OpenAiBatch),
    ("object", Format::OpenAiResponse),
];

/// The request/response pairs all share their outer keys: a key only one provider's request
/// carries tells them apart (an OpenAI chat request has none of these).
const PAIR_REQUEST_KEYS: [(&str, Format); 3] =
    [("contents", Format::Gemini), ("options", Format::Ollama), ("max_tokens", Format::Anthropic)];

pub(crate) fn detect(v: &Value) -> Format {
    let o = obj(v);
    match TELLING_KEYS.iter().find(|(k, _)| o.contains_key(*k)) {
        Some((_, f)) => *f,
        None => {
            assert!(o.contains_key("request"), "unknown line {v}");
            let r = obj(&v["request"]);
            PAIR_REQUEST_KEYS.iter().find(|(k, _)| r.contains_key(*k)).map_or(Format::OpenAiPair, |(_, f)| *f)
        }
    }
}

/// Checks that `o` has all of `required`, some of `optional`, nothing else.
pub(crate) fn keys(o: &Map<String, Value>, required: &[&str], optional: &[&str]) {
    for k in required {
        assert!(o.contains_key(*k), "missing {k} in {o:?}");
    }
    for k in o.keys() {
        assert!(required.contains(&k.as_str()) || optional.contains(&k.as_str()), "extra {k} in {o:?}");
    }
}

pub(crate) fn check_fields(v: &Value) {
    let o = obj(v);
    match detect(v) {
        Format::Seed000Basic => {
            keys(o, &["timestamp", "user_input", "model_response", "metadata"], &[]);
            let m = obj(&v["metadata"]);
            let req = ["session_id", "message_id", "response_time", "token_count", "model_name"];
            keys(m, &req, &["user_id"]);
            assert!(m["response_time"].is_f64() && m["token_count"].is_u64());
        }
        Format::Seed000Enhanced => {
            keys(
                o,
                &[
                    "timestamp",
                    "session_id",
                    "message_id",
                    "user_input",
                    "input_length",
                    "input_category",
                    "model_response",
                    "response_length",
                    "response_time",
                    "token_count",
                    "quality_rating",
                    "confidence_score",
                    "has_safety_issue",
                    "model_name",
                    "model_version",
                ],
                &[],
            );
            let cat = s(v, "input_category");
            assert!(["technical", "creative", "general", "other"].contains(&cat));
            let q = s(v, "quality_rating");
            assert!(["excellent", "good", "fair", "poor"].contains(&q));
            let c = v["confidence_score"].as_f64().unwrap_or(-1.0);
            assert!((0.0..=1.0).contains(&c));
            let len = s(v, "user_input").chars().count() as u64;
            assert_eq!(v["input_length"].as_u64(), Some(len));
            let len = s(v, "model_response").chars().count() as u64;
            assert_eq!(v["response_length"].as_u64(), Some(len));
        }
        Format::Seed001 => {
            keys(o, &["timestamp", "level", "request_id", "model", "input", "output", "metadata"], &[]);
            assert!(v["timestamp"].is_i64());
            let m = obj(&v["metadata"]);
            let req = [
                "prompt_tokens",
                "completion_tokens",
                "total_tokens",
                "first_token_latency_ms",
                "total_latency_ms",
                "device",
                "temperature",
                "function_calling",
                "json_mode",
            ];
            keys(m, &req, &["user_id", "session_id", "status_code", "error"]);
            let failed = s(v, "level") == "ERROR";
            assert!(failed || s(v, "level") == "INFO");
            assert_eq!(m.contains_key("status_code"), failed);
            assert_eq!(m.contains_key("error"), failed);
            assert_eq!(m.contains_key("user_id"), m.contains_key("session_id"));
            let id = s(v, "request_id");
            assert!(id.len() == 16 && id.starts_with("req_"));
            let total = m["prompt_tokens"].as_u64().zip(m["completion_tokens"].as_u64());
            assert_eq!(total.map(|(a, b)| a + b), m["total_tokens"].as_u64());
        }
        Format::Seed004 => {
            keys(
                o,
                &[
                    "message",
                    "time",
                    "request_id",
                    "user_id",
                    "model_version",
                    "input_tokens",
                    "output_tokens",
                    "latency_ms",
                    "prompt_length",
                    "response_length",
                ],
                &[],
            );
            let msg = format!("LLM request processed for user {}", s(v, "user_id"));
            assert_eq!(s(v, "message"), msg);
            assert_eq!(s(v, "request_id").len(), 36);
        }
        Format::OpenAiBatch => check_batch(v),
        Format::Native => check_native(v),
        Format::OpenAiBatchInput => {
            keys(o, &["custom_id", "method", "url", "body"], &[]);
            let body = obj(&v["body"]);
            keys(body, &["model", "messages", "temperature", "user"], &["response_format", "tools"]);
            assert_eq!((s(v, "method"), s(v, "url")), ("POST", "/v1/chat/completions"));
        }
        Format::OpenAiResponse => check_bare(v),
        Format::LiteLlm => check_litellm(v),
        Format::Langfuse => check_langfuse(v),
        Format::Bedrock => check_bedrock(v),
        Format::Anthropic => check_anthropic(v),
        Format::Ollama => check_ollama(v),
        Format::Gemini => check_gemini(v),
        Format::OpenAiPair | Format::Mixed => {
            check_pair_head(v, &[]);
            let r = obj(&v["request"]);
            let req = ["model", "messages", "temperature", "stream", "user"];
            keys(r, &req, &["response_format", "tools"]);
            if o.contains_key("ttft_ms") {
                assert_eq!(r["stream"], Value::Bool(true));
            }
            let msgs = r["messages"].as_array().map_or(&[][..], |a| a.as_slice());
            let turns = match msgs.first() {
                Some(m) if m["role"] == "system" => &msgs[1..],
                _ => msgs,
            };
            assert_eq!(turns.len() % 2, 1, "{v}");
            for (i, m) in turns.iter().enumerate() {
                keys(obj(m), &["role", "content"], &[]);
                assert_eq!(m["role"], if i % 2 == 0 { "user" } else { "assistant" });
            }
            let resp = obj(&v["response"]);
            if o.contains_key("status_code") {
                keys(resp, &["error"], &[]);
                keys(obj(&resp["error"]), &["message", "type", "code"], &[]);
                assert!(!o.contains_key("ttft_ms"));
            } else {
                check_completion(resp, false);
                assert!(!resp.contains_key("system_fingerprint"));
                let fin = v["response"]["choices"][0]["finish_reason"].as_str().unwrap_or("");
                assert_eq!(fin == "tool_calls", r.contains_key("tools"));
            }
        }
    }
}

/// What a pair line carries around its bodies (as the `openai` pair has it); whether it failed.
fn check_pair_head(v: &Value, more: &[&str]) -> bool {
    let o = obj(v);
    let req = [&["timestamp", "latency_ms", "user_id", "session_id", "request", "response"][..], more].concat();
    keys(o, &req, &["status_code", "ttft_ms"]);
    assert!(DateTime::parse_from_rfc3339(s(v, "timestamp")).is_ok(), "{v}");
    let failed = o.contains_key("status_code");
    assert!(!failed || v["status_code"].as_u64().is_some_and(|c| c >= 400), "{v}");
    assert!(!(failed && o.contains_key("ttft_ms")), "a failed call has no first token: {v}");
    if let Some(stream) = v["request"].get("stream") {
        assert!(stream == true || !o.contains_key("ttft_ms"), "only a streamed answer has a TTFT: {v}");
    }
    failed
}

/// Chat turns (`role` and string `content`): the system prompt first if `system` names its
/// role, then user and `assistant` turns in turn, ending with the user's.
fn check_turns(msgs: &Value, system: Option<&str>, assistant: &str) {
    let msgs = msgs.as_array().map_or(&[][..], |a| a.as_slice());
    let turns = match (msgs.first(), system) {
        (Some(m), Some(role)) if m["role"] == role => &msgs[1..],
        _ => msgs,
    };
    assert_eq!(turns.len() % 2, 1, "{msgs:?}");
    for (i, m) in turns.iter().enumerate() {
        keys(obj(m), &["role", "content"], &[]);
        assert!(m["content"].is_string(), "{m}");
        assert_eq!(m["role"], if i % 2 == 0 { "user" } else { assistant });
    }
}

/// An Anthropic Messages API pair (Anthropic's API reference: the request, the `Message`
/// object, the error shapes).
fn check_anthropic(v: &Value) {
    let failed = check_pair_head(v, &[]);
    let r = obj(&v["request"]);
    let req = ["model", "max_tokens", "messages", "temperature", "stream", "metadata"];
    keys(r, &req, &["system", "tools", "cache_control"]);
    assert!(s(&v["request"], "model").starts_with("claude-") && r["max_tokens"].is_u64());
    assert!(r.get("system").is_none_or(Value::is_string));
    check_turns(&r["messages"], None, "assistant");
    keys(obj(&r["metadata"]), &["user_id"], &[]);
    assert_eq!(r["metadata"]["user_id"], v["user_id"]);
    for tool in r.get("tools").and_then(Value::as_array).into_iter().flatten() {
        keys(obj(tool), &["name", "description", "input_schema"], &[]);
    }
    let resp = obj(&v["response"]);
    if failed {
        keys(resp, &["type", "error", "request_id"], &[]);
        assert_eq!(resp["type"], "error");
        keys(obj(&resp["error"]), &["type", "message"], &[]);
        let kind = match v["status_code"].as_u64() {
            Some(429) => "rate_limit_error",
            Some(500) => "api_error",
            Some(504) => "timeout_error",
            Some(529) => "overloaded_error",
            other => panic!("not an Anthropic status: {other:?}"),
        };
        assert_eq!(resp["error"]["type"], kind);
        assert!(s(&v["response"], "request_id").starts_with("req_"));
        return;
    }
    let req = ["id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"];
    keys(resp, &req, &[]);
    assert!(s(&v["response"], "id").starts_with("msg_"));
    assert_eq!((&resp["type"], &resp["role"], &resp["model"]), (&json!("message"), &json!("assistant"), &r["model"]));
    let blocks = resp["content"].as_array().unwrap_or_else(|| panic!("no content blocks: {v}"));
    for b in blocks {
        match s(b, "type") {
            "text" => keys(obj(b), &["type", "text"], &[]),
            "tool_use" => {
                keys(obj(b), &["type", "id", "name", "input"], &[]);
                assert!(s(b, "id").starts_with("toolu_") && b["input"].is_object(), "{b}");
            }
            other => panic!("unexpected content block {other}"),
        }
    }
    let stop = s(&v["response"], "stop_reason");
    assert!(["end_turn", "max_tokens", "tool_use"].contains(&stop), "{stop}");
    let tool = blocks.iter().any(|b| b["type"] == "tool_use");
    assert_eq!((stop == "tool_use", tool), (tool, r.contains_key("tools")), "{v}");
    assert!(resp["stop_sequence"].is_null());
    let u = obj(&resp["usage"]);
    let req = ["input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens"];
    keys(u, &req, &[]);
    assert!(u["cache_read_input_tokens"] == 0 || r.contains_key("cache_control"), "{v}");
}

/// An Ollama `/api/chat` pair (Ollama's API documentation: the chat request, its final
/// response with the usage metrics, the errors).
fn check_ollama(v: &Value) {
    let failed = check_pair_head(v, &[]);
    let r = obj(&v["request"]);
    keys(r, &["model", "messages", "options", "stream"], &["tools", "format"]);
    assert!(s(&v["request"], "model").contains(':'));
    assert!(r.get("format").is_none_or(|f| f == "json"));
    keys(obj(&r["options"]), &["temperature"], &[]);
    check_turns(&r["messages"], Some("system"), "assistant");
    let resp = obj(&v["response"]);
    if failed {
        keys(resp, &["error"], &[]);
        assert!(resp["error"].is_string());
        return;
    }
    let req = [
        "model",
        "created_at",
        "message",
        "done_reason",
        "done",
        "total_duration",
        "load_duration",
        "prompt_eval_count",
        "prompt_eval_duration",
        "eval_count",
        "eval_duration",
    ];
    keys(resp, &req, &[]);
    assert_eq!((&resp["model"], &resp["done"]), (&r["model"], &json!(true)));
    assert!(["stop", "length"].contains(&s(&v["response"], "done_reason")));
    let msg = obj(&resp["message"]);
    keys(msg, &["role", "content"], &["tool_calls"]);
    assert_eq!(msg["role"], "assistant");
    if let Some(calls) = msg.get("tool_calls") {
        assert_eq!(msg["content"], "");
        for call in calls.as_array().into_iter().flatten() {
            keys(obj(call), &["function"], &[]);
            keys(obj(&call["function"]), &["name", "arguments"], &[]);
            assert!(call["function"]["arguments"].is_object());
        }
    }
    assert_eq!(msg.contains_key("tool_calls"), r.contains_key("tools"), "{v}");
    // Nanoseconds, adding up to the call's latency; the time to the first token is all but
    // the generation; the answer is dated at its end.
    let ns = |k: &str| resp[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    let total = ns("total_duration");
    assert!(ns("load_duration") + ns("prompt_eval_duration") + ns("eval_duration") <= total, "{v}");
    assert_eq!(v["latency_ms"].as_u64(), Some((total as f64 / 1e6).round() as u64), "{v}");
    if let Some(ttft) = v["ttft_ms"].as_u64() {
        assert_eq!(ttft, ((total - ns("eval_duration")) as f64 / 1e6).round() as u64, "{v}");
    }
    let time = |t: &str| DateTime::parse_from_rfc3339(t).map(|d| d.timestamp_micros()).unwrap_or(-1);
    let span = time(s(&v["response"], "created_at")) - time(s(v, "timestamp"));
    assert!((span - (total / 1000) as i64).abs() <= 1000, "{v}");
}

/// A Gemini `generateContent` pair (Google's API reference: `GenerateContentRequest`,
/// `GenerateContentResponse`, the error codes).
fn check_gemini(v: &Value) {
    let failed = check_pair_head(v, &["url"]);
    let url = s(v, "url");
    let model = url.strip_prefix(crate::gemini::URL_BASE).and_then(|m| m.split(':').next()).unwrap_or_default();
    assert!(crate::gemini::MODELS.contains(&model), "{url}");
    let stream = url.ends_with(":streamGenerateContent?alt=sse");
    assert!(stream || url.ends_with(":generateContent"), "{url}");
    assert!(stream || !obj(v).contains_key("ttft_ms"), "only a streamed answer has a TTFT: {v}");
    let r = obj(&v["request"]);
    keys(r, &["contents", "generationConfig"], &["systemInstruction", "tools"]);
    let contents = r["contents"].as_array().map_or(&[][..], |a| a.as_slice());
    assert_eq!(contents.len() % 2, 1, "{v}");
    for (i, c) in contents.iter().enumerate() {
        keys(obj(c), &["role", "parts"], &[]);
        assert_eq!(c["role"], if i % 2 == 0 { "user" } else { "model" });
        assert_eq!(c["parts"].as_array().map(Vec::len), Some(1));
        keys(obj(&c["parts"][0]), &["text"], &[]);
    }
    if let Some(system) = r.get("systemInstruction") {
        keys(obj(system), &["parts"], &[]);
        keys(obj(&system["parts"][0]), &["text"], &[]);
    }
    keys(obj(&r["generationConfig"]), &["temperature", "maxOutputTokens"], &["responseMimeType"]);
    let mime = &r["generationConfig"]["responseMimeType"];
    assert!(mime.is_null() || mime == "application/json");
    for tool in r.get("tools").and_then(Value::as_array).into_iter().flatten() {
        keys(obj(tool), &["functionDeclarations"], &[]);
    }
    let resp = obj(&v["response"]);
    if failed {
        keys(resp, &["error"], &[]);
        keys(obj(&resp["error"]), &["code", "message", "status"], &[]);
        assert_eq!(resp["error"]["code"], v["status_code"]);
        let status = s(&resp["error"], "status");
        assert!(["RESOURCE_EXHAUSTED", "INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED"].contains(&status), "{status}");
        return;
    }
    keys(resp, &["candidates", "usageMetadata", "modelVersion", "responseId"], &[]);
    assert!(s(&v["response"], "modelVersion").starts_with("gemini-"));
    let cands = resp["candidates"].as_array().map_or(&[][..], |a| a.as_slice());
    assert_eq!(cands.len(), 1, "{v}");
    keys(obj(&cands[0]), &["content", "finishReason", "index"], &[]);
    keys(obj(&cands[0]["content"]), &["role"], &["parts"]);
    assert_eq!(cands[0]["content"]["role"], "model");
    assert!(["STOP", "MAX_TOKENS"].contains(&s(&cands[0], "finishReason")));
    let parts = cands[0]["content"]["parts"].as_array().map_or(&[][..], |a| a.as_slice());
    for p in parts {
        match p.get("functionCall") {
            Some(call) => {
                keys(obj(p), &["functionCall"], &[]);
                keys(obj(call), &["name", "args"], &[]);
                assert!(call["args"].is_object());
            }
            None => keys(obj(p), &["text"], &[]),
        }
    }
    assert_eq!(parts.iter().any(|p| p.get("functionCall").is_some()), r.contains_key("tools"), "{v}");
    let u = obj(&resp["usageMetadata"]);
    let req = ["promptTokenCount", "candidatesTokenCount", "totalTokenCount", "promptTokensDetails"];
    keys(u, &req, &["cachedContentTokenCount"]);
    let count = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    assert_eq!(count("totalTokenCount"), count("promptTokenCount") + count("candidatesTokenCount"));
    assert!(count("cachedContentTokenCount") <= count("promptTokenCount"));
}

/// The text of a list of content blocks or parts: the `text` of those that have one, joined.
fn joined_text(items: &Value) -> String {
    items.as_array().into_iter().flatten().filter_map(|b| b["text"].as_str()).collect()
}

/// A LiteLLM `StandardLoggingPayload`'s fields (LiteLLM's logging specification).
fn check_litellm(v: &Value) {
    let o = obj(v);
    let req = [
        "id",
        "trace_id",
        "call_type",
        "stream",
        "status",
        "response_cost",
        "total_tokens",
        "prompt_tokens",
        "completion_tokens",
        "startTime",
        "endTime",
        "completionStartTime",
        "model",
        "model_group",
        "custom_llm_provider",
        "api_base",
        "metadata",
        "cache_hit",
        "request_tags",
        "end_user",
        "messages",
        "response",
        "model_parameters",
    ];
    keys(o, &req, &["error_str", "error_information"]);
    assert_eq!(s(v, "id").len(), 36);
    let (start, end, first) = (v["startTime"].as_f64(), v["endTime"].as_f64(), v["completionStartTime"].as_f64());
    assert!(start <= first && first <= end, "{v}");
    if v["status"] == "failure" {
        assert!(v["response"].is_null());
        keys(obj(&v["error_information"]), &["error_code", "error_class", "llm_provider"], &[]);
        assert!(s(v, "error_str").starts_with("litellm."));
    } else {
        assert_eq!(v["status"], "success");
        check_completion(obj(&v["response"]), false);
        let total = v["prompt_tokens"].as_u64().unwrap_or(0) + v["completion_tokens"].as_u64().unwrap_or(0);
        assert_eq!(v["total_tokens"].as_u64(), Some(total));
    }
    keys(obj(&v["model_parameters"]), &["temperature"], &["response_format", "tools"]);
}

/// A Langfuse generation's fields (the `ObservationsView` of Langfuse's API specification).
fn check_langfuse(v: &Value) {
    let o = obj(v);
    let req = [
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
        "version",
        "metadata",
        "output",
        "usage",
        "level",
        "statusMessage",
        "parentObservationId",
        "promptId",
        "usageDetails",
        "costDetails",
        "environment",
        "promptName",
        "promptVersion",
        "modelId",
        "inputPrice",
        "outputPrice",
        "totalPrice",
        "calculatedInputCost",
        "calculatedOutputCost",
        "calculatedTotalCost",
        "latency",
        "timeToFirstToken",
    ];
    keys(o, &req, &[]);
    assert_eq!((s(v, "id").len(), s(v, "traceId").len(), s(v, "type")), (16, 32, "GENERATION"));
    let time = |k: &str| DateTime::parse_from_rfc3339(s(v, k)).map(|d| d.timestamp_millis()).unwrap_or(-1);
    let (start, end) = (time("startTime"), time("endTime"));
    assert!(0 < start && start <= end, "{v}");
    assert_eq!(v["latency"].as_f64().map(|l| (l * 1000.0).round() as i64), Some(end - start), "{v}");
    if !v["completionStartTime"].is_null() {
        let first = time("completionStartTime");
        assert!(start <= first && first <= end, "{v}");
        let ttft = v["timeToFirstToken"].as_f64().map(|t| (t * 1000.0).round() as i64);
        assert_eq!(ttft, Some(first - start), "{v}");
    }
    keys(obj(&v["metadata"]), &["langfuse_user_id", "langfuse_session_id", "langfuse_tags"], &[]);
    keys(obj(&v["modelParameters"]), &["temperature"], &["response_format"]);
    keys(obj(&v["usage"]), &["input", "output", "total", "unit"], &["inputCost", "outputCost", "totalCost"]);
    let failed = v["level"] == "ERROR";
    assert!(failed || v["level"] == "DEFAULT");
    assert_eq!(failed, v["output"].is_null());
    assert_eq!(failed, !v["statusMessage"].is_null());
    if !failed {
        let out = obj(&v["output"]);
        keys(out, &["role", "content"], &["tool_calls"]);
        assert_eq!(out["content"].is_null(), out.contains_key("tool_calls"));
        keys(obj(&v["usageDetails"]), &["input", "output", "total"], &[]);
    }
}

/// A Bedrock model invocation log record's fields (AWS's documentation of the record and of
/// the Converse API).
fn check_bedrock(v: &Value) {
    let o = obj(v);
    let req = [
        "schemaType",
        "schemaVersion",
        "timestamp",
        "accountId",
        "identity",
        "region",
        "requestId",
        "operation",
        "modelId",
        "input",
        "requestMetadata",
    ];
    keys(o, &req, &["output", "errorCode"]);
    assert_eq!((s(v, "schemaType"), s(v, "requestId").len()), ("ModelInvocationLog", 36));
    assert_eq!(o.contains_key("output"), !o.contains_key("errorCode"));
    let input = obj(&v["input"]);
    keys(
        input,
        &["inputContentType", "inputBodyJson"],
        &["inputTokenCount", "cacheReadInputTokenCount", "cacheWriteInputTokenCount"],
    );
    assert_eq!(input.contains_key("inputTokenCount"), o.contains_key("output"));
    let body = obj(&v["input"]["inputBodyJson"]);
    keys(body, &["messages", "inferenceConfig"], &["system", "toolConfig"]);
    keys(obj(&v["requestMetadata"]), &["user_id", "session_id"], &[]);
    let streamed = s(v, "operation") == "ConverseStream";
    assert!(streamed || s(v, "operation") == "Converse");
    if let Some(out) = o.get("output") {
        keys(obj(out), &["outputContentType", "outputBodyJson", "outputTokenCount"], &[]);
        let answer = &out["outputBodyJson"];
        if streamed {
            let events = answer.as_array().map_or(&[][..], |a| a.as_slice());
            let names: Vec<&str> = events.iter().filter_map(|e| obj(e).keys().next().map(String::as_str)).collect();
            assert!(events.iter().all(|e| obj(e).len() == 1), "{v}");
            assert_eq!(names.first(), Some(&"messageStart"));
            assert_eq!(&names[names.len().saturating_sub(3)..], &["contentBlockStop", "messageStop", "metadata"]);
        } else {
            keys(obj(answer), &["output", "stopReason", "metrics", "usage"], &[]);
            let stop = s(answer, "stopReason");
            assert!(["end_turn", "max_tokens", "tool_use"].contains(&stop), "{stop}");
        }
    }
}

/// A chat completion's fields (as the pair, a Batch body or `model_dump_json()` writes it).
fn check_completion(resp: &Map<String, Value>, dump: bool) {
    if dump {
        let req = ["id", "choices", "created", "model", "object", "service_tier", "system_fingerprint", "usage"];
        keys(resp, &req, &[]);
    } else {
        keys(resp, &["id", "object", "created", "model", "choices", "usage"], &["system_fingerprint"]);
    }
    assert_eq!(resp["object"], "chat.completion");
    assert!(resp["id"].as_str().is_some_and(|id| id.starts_with("chatcmpl-")));
    let ch = obj(&resp["choices"][0]);
    keys(ch, &["index", "message", "finish_reason"], &["logprobs"]);
    let msg = obj(&ch["message"]);
    if dump {
        keys(msg, &["content", "refusal", "role", "annotations", "audio", "function_call", "tool_calls"], &[]);
    } else {
        keys(msg, &["role", "content"], &["tool_calls"]);
    }
    let fin = ch["finish_reason"].as_str().unwrap_or("");
    assert!(["stop", "length", "tool_calls"].contains(&fin));
    let tools = msg.get("tool_calls").is_some_and(|t| !t.is_null());
    assert_eq!(fin == "tool_calls", tools);
    assert_eq!(tools, msg["content"].is_null());
    let u = obj(&resp["usage"]);
    let req = ["prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details"];
    keys(u, &req, if dump { &["completion_tokens_details"] } else { &[] });
    let total = u["prompt_tokens"].as_u64().zip(u["completion_tokens"].as_u64()).map(|(a, b)| a + b);
    assert_eq!(total, u["total_tokens"].as_u64());
}

fn check_native(v: &Value) {
    let o = obj(v);
    let required = [
        "trace_id",
        "span_id",
        "span_kind",
        "name",
        "start_time",
        "end_time",
        "latency_ms",
        "model",
        "provider",
        "operation",
        "user_id",
        "session_id",
        "request_id",
        "input",
        "input_text",
        "output",
        "status",
        "status_code",
        "temperature",
        "json_mode",
        "params",
        "tags",
        "attributes",
    ];
    let optional = [
        "first_token_time",
        "ttft_ms",
        "tool_calls",
        "error_kind",
        "error_message",
        "finish_reason",
        "usage",
        "response_format",
        "tools",
    ];
    keys(o, &required, &optional);
    assert!(s(v, "trace_id").len() == 32 && s(v, "span_id").len() == 16);
    let failed = s(v, "status") == "error";
    assert!(failed || s(v, "status") == "ok");
    assert_eq!(failed, o.contains_key("error_kind") && o.contains_key("error_message"));
    assert!(!failed || v["output"] == "", "a failed call's output is empty");
    assert_eq!(failed, !o.contains_key("usage") && !o.contains_key("finish_reason"));
    assert_eq!(o.contains_key("ttft_ms"), o.contains_key("first_token_time"));
    assert_eq!(o.contains_key("tool_calls"), v["finish_reason"] == "tool_calls");
    assert_eq!(o.contains_key("response_format"), v["json_mode"] == true);
    let msgs = v["input"].as_array().map_or(&[][..], |a| a.as_slice());
    assert_eq!(msgs.last().map(|m| &m["content"]), Some(&v["input_text"]));
}

fn check_batch(v: &Value) {
    let o = obj(v);
    keys(o, &["id", "custom_id", "response", "error"], &[]);
    assert!(s(v, "id").starts_with("batch_req_") && s(v, "custom_id").starts_with("request-"));
    if v["response"].is_null() {
        keys(obj(&v["error"]), &["code", "message"], &[]);
        assert_eq!(v["error"]["code"], "batch_expired");
        return;
    }
    assert!(v["error"].is_null());
    let r = obj(&v["response"]);
    keys(r, &["status_code", "request_id", "body"], &[]);
    let body = obj(&r["body"]);
    if r["status_code"] == 200 {
        check_completion(body, false);
    } else {
        keys(body, &["error"], &[]);
        keys(obj(&body["error"]), &["message", "type", "param", "code"], &[]);
    }
}

fn check_bare(v: &Value) {
    let o = obj(v);
    if v["object"] == "chat.completion" {
        check_completion(o, true);
        return;
    }
    assert_eq!(v["object"], "response");
    let req = [
        "id",
        "created_at",
        "error",
        "incomplete_details",
        "instructions",
        "metadata",
        "model",
        "object",
        "output",
        "parallel_tool_calls",
        "temperature",
        "tool_choice",
        "tools",
        "top_p",
        "background",
        "max_output_tokens",
        "previous_response_id",
        "status",
        "text",
        "truncation",
        "usage",
        "user",
    ];
    keys(o, &req, &[]);
    assert!(v["created_at"].is_f64() && s(v, "id").starts_with("resp_"));
    let status = s(v, "status");
    let failed = status == "failed";
    assert!(["completed", "incomplete", "failed"].contains(&status));
    assert_eq!(failed, !v["error"].is_null());
    assert_eq!(failed, v["usage"].is_null());
    assert_eq!(status == "incomplete", !v["incomplete_details"].is_null());
    let output = v["output"].as_array().map_or(&[][..], |a| a.as_slice());
    assert_eq!(output.is_empty(), failed);
    for item in output {
        match s(item, "type") {
            "message" => keys(obj(item), &["id", "content", "role", "status", "type"], &[]),
            "function_call" => keys(obj(item), &["arguments", "call_id", "name", "type", "id", "status"], &[]),
            other => panic!("unexpected output item {other}"),
        }
    }
}

/// Whether a line's answer is a tool call.
pub(crate) fn tool_called(v: &Value) -> bool {
    let chat = |resp: &Value| resp["choices"][0]["message"].get("tool_calls").is_some_and(|t| !t.is_null());
    match detect(v) {
        Format::OpenAiPair => chat(&v["response"]),
        Format::OpenAiBatch => chat(&v["response"]["body"]),
        Format::Native => v.get("tool_calls").is_some(),
        Format::LiteLlm => chat(&v["response"]),
        Format::Langfuse => v["output"].get("tool_calls").is_some(),
        Format::Bedrock => bedrock_answer(v).1,
        Format::Anthropic => {
            v["response"]["content"].as_array().is_some_and(|c| c.iter().any(|b| b["type"] == "tool_use"))
        }
        Format::Ollama => v["response"]["message"].get("tool_calls").is_some(),
        Format::Gemini => v["response"]["candidates"][0]["content"]["parts"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p.get("functionCall").is_some())),
        Format::OpenAiBatchInput => false,
        Format::OpenAiResponse => {
            chat(v) || v["output"].as_array().is_some_and(|o| o.iter().any(|i| i["type"] == "function_call"))
        }
        _ => texts(v).is_some_and(|(_, o)| o.starts_with("[tool_call] ")),
    }
}

/// Whether a line shows a failed call.
pub(crate) fn failed(v: &Value) -> bool {
    match detect(v) {
        Format::Seed000Basic | Format::Seed000Enhanced => s(v, "model_response").starts_with("Error: "),
        Format::Seed001 => s(v, "level") == "ERROR",
        Format::Seed004 => false,
        Format::OpenAiBatch => v["response"]["status_code"] != 200,
        Format::OpenAiResponse => v["status"] == "failed",
        Format::Native => v["status"] == "error",
        Format::LiteLlm => v["status"] == "failure",
        Format::Langfuse => v["level"] == "ERROR",
        Format::Bedrock => v.get("errorCode").is_some(),
        Format::OpenAiBatchInput => false,
        Format::OpenAiPair | Format::Mixed | Format::Anthropic | Format::Ollama | Format::Gemini => {
            v.get("status_code").is_some()
        }
    }
}

/// The line's time in microseconds since the epoch, truncated to what the
/// format shows; `None` for a failed Batch request and a Batch input line (no time).
pub(crate) fn time_us(v: &Value, tz: i32) -> Option<i64> {
    let naive = |t: &str| {
        NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f")
            .unwrap_or_else(|e| panic!("{e}: {t}"))
            .and_utc()
            .timestamp_micros()
    };
    let epoch = |t: &Value| t.as_f64().map(|t| t as i64 * 1_000_000);
    Some(match detect(v) {
        Format::Seed000Basic | Format::Seed000Enhanced => naive(s(v, "timestamp")) - i64::from(tz) * 3_600_000_000,
        Format::Seed001 => v["timestamp"].as_i64().unwrap_or(0) * 1_000_000,
        Format::Seed004 => naive(s(v, "time")),
        Format::OpenAiBatch => return epoch(&v["response"]["body"]["created"]),
        Format::Native => DateTime::parse_from_rfc3339(s(v, "start_time")).map(|d| d.timestamp_micros()).unwrap_or(0),
        Format::OpenAiBatchInput => return None,
        Format::LiteLlm => (v["startTime"].as_f64().unwrap_or(0.0) * 1e6).round() as i64,
        Format::Langfuse => DateTime::parse_from_rfc3339(s(v, "startTime")).map(|d| d.timestamp_micros()).unwrap_or(0),
        Format::Bedrock => DateTime::parse_from_rfc3339(s(v, "timestamp")).map(|d| d.timestamp_micros()).unwrap_or(0),
        Format::OpenAiResponse => {
            return epoch(if v["object"] == "response" { &v["created_at"] } else { &v["created"] })
        }
        Format::OpenAiPair | Format::Mixed | Format::Anthropic | Format::Ollama | Format::Gemini => {
            DateTime::parse_from_rfc3339(s(v, "timestamp")).map(|d| d.timestamp_micros()).unwrap_or(0)
        }
    })
}

/// The new user message and the answer text of a line (`None` for seed004).
pub(crate) fn texts(v: &Value) -> Option<(String, String)> {
    let (i, o) = match detect(v) {
        Format::Seed000Basic | Format::Seed000Enhanced => (s(v, "user_input"), s(v, "model_response")),
        Format::Seed001 => (s(v, "input"), s(v, "output")),
        Format::Seed004 => return None,
        // Answers without their request: no input text.
        Format::OpenAiBatch => ("", v["response"]["body"]["choices"][0]["message"]["content"].as_str().unwrap_or("")),
        Format::OpenAiResponse if v["object"] == "response" => {
            let text = v["output"].as_array().into_iter().flatten().find(|i| i["type"] == "message");
            ("", text.and_then(|m| m["content"][0]["text"].as_str()).unwrap_or(""))
        }
        Format::OpenAiResponse => ("", v["choices"][0]["message"]["content"].as_str().unwrap_or("")),
        Format::Native => (s(v, "input_text"), v["output"].as_str().unwrap_or("")),
        // A request without its answer.
        Format::OpenAiBatchInput => {
            let msgs = v["body"]["messages"].as_array()?;
            (msgs.last()?["content"].as_str()?, "")
        }
        Format::OpenAiPair | Format::Mixed => {
            let msgs = v["request"]["messages"].as_array()?;
            let input = msgs.last()?["content"].as_str()?;
            (input, v["response"]["choices"][0]["message"]["content"].as_str().unwrap_or(""))
        }
        Format::LiteLlm => {
            let input = v["messages"].as_array()?.last()?["content"].as_str()?;
            (input, v["response"]["choices"][0]["message"]["content"].as_str().unwrap_or(""))
        }
        Format::Langfuse => {
            let input = v["input"].as_array()?.last()?["content"].as_str()?;
            (input, v["output"]["content"].as_str().unwrap_or(""))
        }
        Format::Anthropic => {
            let input = v["request"]["messages"].as_array()?.last()?["content"].as_str()?;
            return Some((input.to_string(), joined_text(&v["response"]["content"])));
        }
        Format::Ollama => {
            let input = v["request"]["messages"].as_array()?.last()?["content"].as_str()?;
            (input, v["response"]["message"]["content"].as_str().unwrap_or(""))
        }
        Format::Gemini => {
            let input = v["request"]["contents"].as_array()?.last()?["parts"][0]["text"].as_str()?;
            return Some((input.to_string(), joined_text(&v["response"]["candidates"][0]["content"]["parts"])));
        }
        Format::Bedrock => {
            let input = v["input"]["inputBodyJson"]["messages"].as_array()?.last()?["content"][0]["text"].as_str()?;
            return Some((input.to_string(), bedrock_answer(v).0));
        }
    };
    Some((i.to_string(), o.to_string()))
}

/// A Bedrock record's answer text (joined from a stream's text pieces) and whether it is a
/// tool call.
fn bedrock_answer(v: &Value) -> (String, bool) {
    let body = &v["output"]["outputBodyJson"];
    match body.as_array() {
        Some(events) => {
            let delta = |e: &Value| e["contentBlockDelta"]["delta"].clone();
            let text = events.iter().filter_map(|e| delta(e)["text"].as_str().map(str::to_string)).collect();
            (text, events.iter().any(|e| e.get("contentBlockStart").is_some()))
        }
        None => {
            let block = &body["output"]["message"]["content"][0];
            (block["text"].as_str().unwrap_or("").to_string(), block.get("toolUse").is_some())
        }
    }
}

/// PII found by scanning text, independent of the generator.
pub(crate) fn find_pii(t: &str) -> Vec<String> {
    let mut found = Vec::new();
    if t.contains('@') {
        found.push("email".into());
    }
    if let Some(i) = t.find("sk-") {
        let key: String = t[i + 3..].chars().take_while(char::is_ascii_alphanumeric).collect();
        assert_eq!(key.len(), 48, "{t}");
        found.push("key".into());
    }
    let b = t.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.' || b[i] == b'X') {
            i += 1;
        }
        let run = t[start..i].trim_end_matches('.');
        let dots = run.matches('.').count();
        if dots == 3 && run.split('.').all(|p| !p.is_empty() && p.len() <= 3) {
            found.push(format!("ip:{run}"));
        } else if dots == 0 {
            let n = run.len();
            if n == 18 {
                assert!(is_valid_cn_id(run), "bad id {run}");
                found.push(format!("id:{run}"));
            } else if n == 16 || n == 19 {
                assert!(luhn_valid(run), "bad card {run}");
                found.push(format!("card:{run}"));
            } else if n == 11 && run.starts_with('1') && (b'3'..=b'9').contains(&run.as_bytes()[1]) {
                found.push(format!("phone:{run}"));
            } else {
                assert!(n < 7, "stray digit run {run} in {t}");
            }
        }
    }
    found
}
