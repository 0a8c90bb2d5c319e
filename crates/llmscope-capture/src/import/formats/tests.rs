//! Each format's mapping, field by field, and the errors bad lines get.

use chrono::{DateTime, Utc};
use llmscope_core::{checks, AssessmentValue, CallStatus, Origin};
use serde_json::json;

use super::*;

fn parse(line: &str) -> Result<ParsedLine, LineError> {
    parse_line(line.as_bytes(), "logs.jsonl", 7, &ImportOptions::default())
}

fn ok(line: &str) -> ParsedLine {
    match parse(line) {
        Ok(p) => p,
        Err(e) => panic!("line should parse: {e}"),
    }
}

fn err(line: &str) -> String {
    match parse(line) {
        Ok(_) => panic!("line should be rejected: {line}"),
        Err(e) => e.to_string(),
    }
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc)).unwrap_or_default()
}

#[test]
fn seed000_basic() {
    let p = ok(
        r#"{"timestamp": "2025-01-06T10:03:22.123456", "user_input": "如何部署模型？", "model_response": "使用 vLLM 部署。", "metadata": {"session_id": "s1", "message_id": "m1", "response_time": 0.5, "token_count": 12, "model_name": "Nanbeige4.1-3B", "user_id": "u1", "gpu": "A10"}}"#,
    );
    assert_eq!(p.format, LineFormat::Seed000Basic);
    let c = &p.call;
    assert_eq!(c.start_time, utc("2025-01-06T10:03:22.123456Z"));
    assert_eq!(c.input_text, "如何部署模型？");
    assert_eq!(c.input, json!([{"role": "user", "content": "如何部署模型？"}]));
    assert_eq!(c.output.as_deref(), Some("使用 vLLM 部署。"));
    assert_eq!(c.session_id.as_deref(), Some("s1"));
    assert_eq!(c.request_id.as_deref(), Some("m1"));
    assert_eq!(c.user_id.as_deref(), Some("u1"));
    assert_eq!(c.latency_ms, Some(500.0));
    assert_eq!(c.end_time, Some(utc("2025-01-06T10:03:22.623456Z")));
    assert_eq!(c.usage.output, Some(12));
    assert_eq!(c.usage.total, Some(12));
    assert_eq!(c.model.as_deref(), Some("Nanbeige4.1-3B"));
    assert_eq!(c.attributes.get("gpu"), Some(&json!("A10")));
    assert_eq!(c.status, CallStatus::Ok);
    assert_eq!(c.origin, Origin::Import { file: "logs.jsonl".into(), line: 7, format: "seed000-basic".into() });
    assert_eq!(c.id.len(), 32);
    assert_eq!(c.trace_id.len(), 32);
    assert!(p.assessments.is_empty());
}

#[test]
fn seed000_naive_timestamps_follow_the_assumed_zone() {
    let opts = ImportOptions { naive_tz: chrono_tz::Tz::Asia__Shanghai, ..Default::default() };
    let line = r#"{"timestamp": "2025-01-06T10:00:00", "user_input": "hi", "model_response": "hello", "metadata": {}}"#;
    let p = parse_line(line.as_bytes(), "f", 1, &opts).map_err(|e| e.to_string());
    assert_eq!(p.map(|p| p.call.start_time), Ok(utc("2025-01-06T02:00:00Z")));
}

#[test]
fn seed000_enhanced_with_its_verdicts() {
    let p = ok(
        r#"{"timestamp": "2025-01-06T10:03:22", "session_id": "s2", "message_id": "m2", "user_input": "写一首诗", "input_length": 4, "input_category": "creative", "model_response": "春眠不觉晓", "response_length": 5, "response_time": 1.25, "token_count": 9, "quality_rating": "good", "confidence_score": 0.8, "has_safety_issue": false, "model_name": "Nanbeige4.1-3B", "model_version": "4.1-3B"}"#,
    );
    assert_eq!(p.format, LineFormat::Seed000Enhanced);
    let c = &p.call;
    assert_eq!(c.latency_ms, Some(1250.0));
    assert_eq!(c.session_id.as_deref(), Some("s2"));
    assert_eq!(c.attributes.get("model_version"), Some(&json!("4.1-3B")));
    assert_eq!(c.attributes.get("input_length"), Some(&json!(4)));
    let names: Vec<&str> = p.assessments.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, vec!["quality", "category", "safety_issue"]);
    assert_eq!(p.assessments[0].value, AssessmentValue::Text("good".into()));
    assert_eq!(p.assessments[0].metadata.get("confidence_score"), Some(&json!(0.8)));
    assert_eq!(p.assessments[2].value, AssessmentValue::Bool(false));
    assert_eq!(p.assessments[0].call_id.as_deref(), Some(c.id.as_str()));
}

#[test]
fn seed001_with_mapped_and_kept_metadata() {
    let p = ok(
        r#"{"timestamp": 1735689234, "level": "INFO", "request_id": "req_abc123xyz", "model": "qwen2.5-7b-instruct", "input": "请用 Python 写一个快速排序函数，并返回 JSON 格式。", "output": "{\"code\": \"def quicksort(arr):...\"}", "metadata": {"prompt_tokens": 28, "completion_tokens": 67, "total_tokens": 95, "first_token_latency_ms": 320, "total_latency_ms": 1150, "device": "cuda:0", "temperature": 0.7, "function_calling": false, "json_mode": true, "user_id": "u7", "session_id": "s7"}}"#,
    );
    assert_eq!(p.format, LineFormat::Seed001);
    let c = &p.call;
    assert_eq!(c.start_time, utc("2024-12-31T23:53:54Z"));
    assert_eq!(c.request_id.as_deref(), Some("req_abc123xyz"));
    assert_eq!(c.model.as_deref(), Some("qwen2.5-7b-instruct"));
    assert_eq!(c.input, json!("请用 Python 写一个快速排序函数，并返回 JSON 格式。"));
    assert_eq!((c.usage.input, c.usage.output, c.usage.total), (Some(28), Some(67), Some(95)));
    assert!(!c.usage.counted);
    assert_eq!((c.ttft_ms, c.latency_ms), (Some(320.0), Some(1150.0)));
    assert_eq!(c.temperature, Some(0.7));
    assert!(c.json_mode);
    assert_eq!(c.params.get("function_calling"), Some(&json!(false)));
    assert_eq!(c.attributes.get("device"), Some(&json!("cuda:0")));
    assert_eq!(c.user_id.as_deref(), Some("u7"));
    assert_eq!(c.session_id.as_deref(), Some("s7"));
    assert!(c.flags.is_empty(), "valid JSON output: {:?}", c.flags);
}

#[test]
fn seed001_failures_and_broken_json() {
    let c = ok(r#"{"timestamp": 1735689234, "level": "ERROR", "request_id": "r", "model": "m", "input": "q", "output": "", "metadata": {"status_code": 503, "error": "upstream overloaded", "json_mode": false}}"#).call;
    assert_eq!(c.status, CallStatus::Error);
    assert_eq!(c.status_code, Some(503));
    assert_eq!(c.error_message.as_deref(), Some("upstream overloaded"));
    assert_eq!(c.error_kind.as_deref(), Some("upstream_5xx"));
    assert_eq!(c.flags, vec![checks::EMPTY_RESPONSE.to_string(), checks::ERROR.to_string()]);
    let c = ok(r#"{"timestamp": 1735689234, "level": "INFO", "request_id": "r2", "model": "m", "input": "q", "output": "{\"a\": 1,", "metadata": {"json_mode": true}}"#).call;
    assert_eq!(c.flags, vec![checks::MALFORMED_JSON.to_string()]);
    let seed001 = |metadata: &str| {
        format!(
            r#"{{"timestamp": 1735689234, "level": "INFO", "request_id": "r", "model": "m", "input": "q", "output": "a", "metadata": {metadata}}}"#
        )
    };
    assert_eq!(
        err(&seed001(r#"{"prompt_tokens": 18446744073709551616}"#)),
        "metadata.prompt_tokens: expected a non-negative integer, found the number 18446744073709551616"
    );
    assert_eq!(
        err(&seed001(r#"{"completion_tokens": 9223372036854775807}"#)),
        "metadata.completion_tokens: 9223372036854775807 tokens is out of range (at most 1000000000000)"
    );
    assert_eq!(
        err(r#"{"timestamp": 1e30, "level": "INFO", "request_id": "r", "model": "m", "input": "q", "output": "a"}"#),
        "timestamp: timestamp 1e30 is out of range (an epoch time in the years 1990 to 2200)"
    );
    for code in [0, 99, 600, 999, 70_000] {
        assert_eq!(
            err(&format!(
                r#"{{"timestamp": 1735689234, "level": "ERROR", "request_id": "r", "model": "m", "input": "q", "output": "", "metadata": {{"status_code": {code}}}}}"#
            )),
            format!("metadata.status_code: {code} is not an HTTP status code (100 to 599)")
        );
    }
}

#[test]
fn seed004_metrics_only() {
    let p = ok(
        r#"{"message": "LLM request processed for user user-123", "time": "2025-01-06T10:03:22.500000", "request_id": "9f1c", "user_id": "user-123", "model_version": "gpt-4-turbo-2024-04-09", "input_tokens": 5, "output_tokens": 5, "latency_ms": 500.12, "prompt_length": 40, "response_length": 30}"#,
    );
    assert_eq!(p.format, LineFormat::Seed004);
    let c = &p.call;
    assert_eq!(c.start_time, utc("2025-01-06T10:03:22.5Z"));
    assert_eq!(c.model.as_deref(), Some("gpt-4-turbo-2024-04-09"));
    assert_eq!(c.user_id.as_deref(), Some("user-123"));
    assert_eq!((c.usage.input, c.usage.output), (Some(5), Some(5)));
    assert_eq!(c.latency_ms, Some(500.12));
    assert_eq!(c.output, None, "no text recorded, so not empty either");
    assert!(c.flags.is_empty());
    assert_eq!(c.attributes.get("message"), Some(&json!("LLM request processed for user user-123")));
    let c = ok(r#"{"message": "m", "time": "2025-01-06T10:03:22", "latency_ms": 5, "response_length": 0}"#).call;
    assert_eq!(c.flags, vec![checks::EMPTY_RESPONSE.to_string()]);
}

#[test]
fn openai_pair_chat_with_tools_and_usage() {
    let line = json!({
        "timestamp": "2025-01-06T10:00:00Z", "latency_ms": 812.5, "ttft_ms": 120, "session_id": "s9",
        "request": {"model": "gpt-4o-mini", "temperature": 0.2, "max_tokens": 100, "user": "u9",
            "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": [{"type": "text", "text": "weather in Paris?"}]}],
            "tools": [{"type": "function", "function": {"name": "get_weather"}}],
            "response_format": {"type": "json_object"}},
        "response": {"id": "chatcmpl-1", "object": "chat.completion", "created": 1736157600, "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]}, "finish_reason": "tool_calls"}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60, "prompt_tokens_details": {"cached_tokens": 32}}}
    });
    let p = ok(&line.to_string());
    assert_eq!(p.format, LineFormat::OpenAiPair);
    let c = &p.call;
    assert_eq!(c.start_time, utc("2025-01-06T10:00:00Z"));
    assert_eq!(c.model.as_deref(), Some("gpt-4o-mini"));
    assert_eq!(c.attributes.get("response_model"), Some(&json!("gpt-4o-mini-2024-07-18")));
    assert_eq!(c.input_text, "weather in Paris?");
    assert_eq!(c.output.as_deref(), Some(""));
    assert_eq!(c.tool_calls.as_ref().map(|t| t[0]["function"]["name"].clone()), Some(json!("get_weather")));
    assert_eq!(c.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(
        (c.usage.input, c.usage.output, c.usage.total, c.usage.cached),
        (Some(50), Some(10), Some(60), Some(32))
    );
    assert_eq!((c.latency_ms, c.ttft_ms), (Some(812.5), Some(120.0)));
    assert!(c.json_mode);
    assert!(c.tools.is_some());
    assert_eq!(c.params.get("max_tokens"), Some(&json!(100)));
    assert_eq!(c.user_id.as_deref(), Some("u9"));
    assert_eq!(c.session_id.as_deref(), Some("s9"));
    assert_eq!(c.request_id.as_deref(), Some("chatcmpl-1"));
    assert!(c.flags.is_empty(), "{:?}", c.flags);
}

#[test]
fn openai_pair_error_and_created_fallback() {
    let line = json!({"status_code": 429, "request": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
        "response": {"created": 1736157600, "error": {"message": "Rate limit reached", "type": "rate_limit_error", "code": "rate_limit_exceeded"}}});
    let c = ok(&line.to_string()).call;
    assert_eq!(c.start_time, utc("2025-01-06T10:00:00Z"));
    assert_eq!(c.status, CallStatus::Error);
    assert_eq!(c.status_code, Some(429));
    // The kind the proxy gives a 429; the provider's own type is kept beside it.
    assert_eq!(c.error_kind.as_deref(), Some("rate_limited"));
    assert_eq!(c.attributes.get("upstream_error_type"), Some(&json!("rate_limit_error")));
    assert_eq!(c.error_message.as_deref(), Some("Rate limit reached"));
    let failed = json!({"request": {"model": "m", "messages": [{"role": "user", "content": "hi"}]},
        "response": {"created": 1736157600, "error": {"message": "boom", "type": "server_error"}}});
    assert_eq!(ok(&failed.to_string()).call.error_kind.as_deref(), Some("server_error"), "no status: the type stays");
    // seed 004 (`json_log_formatter`): the record's level marks failures, a status names the kind.
    let c = ok(r#"{"message": "LLM call failed", "time": "2025-03-10T08:02:00", "levelname": "ERROR", "model_version": "gpt-4o", "latency_ms": 30000}"#).call;
    assert_eq!((c.status, c.error_kind.as_deref()), (CallStatus::Error, Some("error")));
    let c = ok(
        r#"{"message": "m", "time": "2025-03-10T08:02:00", "level": "critical", "status_code": 503, "latency_ms": 3}"#,
    )
    .call;
    assert_eq!((c.status, c.error_kind.as_deref()), (CallStatus::Error, Some("upstream_5xx")));
    let c = ok(r#"{"message": "m", "time": "2025-03-10T08:02:00", "levelname": "INFO", "latency_ms": 3}"#).call;
    assert_eq!((c.status, c.error_kind), (CallStatus::Ok, None));
    assert!(err(r#"{"request": {"messages": []}, "response": {}}"#).contains("no timestamp"));
}

#[test]
fn openai_pairs_with_logged_streams_and_string_bodies() {
    let req = json!({"model": "gpt-4o-mini", "stream": true, "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "weather?"}]});
    let chunk = |delta: serde_json::Value, finish: serde_json::Value| {
        json!({"id": "chatcmpl-9", "object": "chat.completion.chunk", "created": 1736157600, "model": "gpt-4o-mini-2024-07-18",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let chunks = [
        chunk(json!({"role": "assistant", "content": ""}), json!(null)),
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":"}}]}),
            json!(null),
        ),
        chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}), json!("tool_calls")),
        json!({"id": "chatcmpl-9", "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16}}),
    ];
    let sse: String = chunks.iter().map(|c| format!("data: {c}\n\n")).collect::<String>() + "data: [DONE]\n\n";
    for response in [json!(chunks), json!(sse)] {
        let c = ok(&json!({"request": req, "response": response}).to_string()).call;
        assert_eq!(c.start_time, utc("2025-01-06T10:00:00Z"), "dated by the chunks' created");
        assert_eq!(c.request_id.as_deref(), Some("chatcmpl-9"));
        assert_eq!(c.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(c.output.as_deref(), Some(""));
        assert_eq!(
            c.tool_calls,
            Some(
                json!([{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}])
            )
        );
        assert_eq!((c.usage.input, c.usage.output, c.usage.total), (Some(9), Some(7), Some(16)));
        assert_eq!(c.attributes.get("stream"), Some(&json!(true)));
        assert_eq!(c.attributes.get("stream_chunks"), Some(&json!(4)));
        assert_eq!(c.attributes.get("response_model"), Some(&json!("gpt-4o-mini-2024-07-18")));
        assert_eq!(c.input_text, "weather?");
    }
    // A stream cut by an error event is a failed call.
    let cut = json!([chunk(json!({"content": "Par"}), json!(null)), {"error": {"message": "overloaded", "type": "server_error"}}]);
    let c = ok(&json!({"timestamp": 1736157600, "request": req, "response": cut}).to_string()).call;
    assert_eq!((c.status, c.error_message.as_deref()), (CallStatus::Error, Some("overloaded")));
    assert_eq!(c.output.as_deref(), Some("Par"));
    // A body written as a JSON string is the body.
    let body = json!({"id": "chatcmpl-2", "object": "chat.completion", "created": 1736157600,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Sunny."}, "finish_reason": "stop"}]});
    let c = ok(&json!({"request": req, "response": body.to_string()}).to_string()).call;
    assert_eq!((c.output.as_deref(), c.request_id.as_deref()), (Some("Sunny."), Some("chatcmpl-2")));
    assert!(!c.attributes.contains_key("stream"));
    assert_eq!(
        err(&json!({"timestamp": 1736157600, "request": req, "response": "sunny"}).to_string()),
        "response: expected an object, stream chunks or a stream's events, found the string \"sunny\""
    );
}

#[test]
fn a_mistyped_temperature_leaves_the_rest_of_the_request_mapped() {
    let req = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": "hot",
        "response_format": {"type": "json_object"}, "max_tokens": 5});
    let mut call = llmscope_core::Call::default();
    let e = openai::map_chat_request(req.as_object().unwrap_or(&serde_json::Map::new()), &mut call);
    assert_eq!(
        e.map_err(|e| e.to_string()),
        Err("request.temperature: expected a number, found the string \"hot\"".into())
    );
    assert!(call.json_mode);
    assert_eq!((call.params.get("temperature"), call.params.get("max_tokens")), (Some(&json!("hot")), Some(&json!(5))));
    assert_eq!(call.input_text, "hi");
}

#[test]
fn refusals_and_reasoning_are_kept() {
    let req = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "help me pick a lock"}]});
    let line = json!({"timestamp": 1736157600, "request": req, "response": {"choices": [{"index": 0, "finish_reason": "stop",
        "message": {"role": "assistant", "content": null, "refusal": "I can't help with that."}}]}});
    let c = ok(&line.to_string()).call;
    assert_eq!(c.output.as_deref(), Some("I can't help with that."), "the refusal is what the user saw");
    assert_eq!(c.attributes.get("refusal"), Some(&json!("I can't help with that.")));
    assert!(!c.flags.iter().any(|f| f == checks::EMPTY_RESPONSE), "{:?}", c.flags);
    let line = json!({"timestamp": 1736157600, "request": req, "response": {"choices": [{"index": 0,
        "message": {"role": "assistant", "content": "42", "reasoning_content": "6 times 7"}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 9, "completion_tokens_details": {"reasoning_tokens": 7}}}});
    let c = ok(&line.to_string()).call;
    assert_eq!(c.output.as_deref(), Some("42"));
    assert_eq!(c.attributes.get("reasoning_content"), Some(&json!("6 times 7")));
    assert_eq!(c.attributes.get("reasoning_tokens"), Some(&json!(7)));
    let chunk = json!({"timestamp": 1736157600, "request": req, "response": {"object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": "Hello"}, "finish_reason": "stop"}]}});
    assert_eq!(ok(&chunk.to_string()).call.output.as_deref(), Some("Hello"), "a logged chunk's delta is its text");
    let line = json!({"timestamp": 1736157600, "request": {"model": "gpt-4.1", "input": "pick a lock"},
        "response": {"object": "response", "status": "completed", "output": [{"type": "message", "role": "assistant",
            "content": [{"type": "refusal", "refusal": "No."}]}]}});
    let c = ok(&line.to_string()).call;
    assert_eq!((c.output.as_deref(), c.attributes.get("refusal")), (Some("No."), Some(&json!("No."))));
}

#[test]
fn openai_pair_responses_api_dated_by_created_at() {
    // A minimal request (`model` and `input`) reads like embeddings; the response settles it.
    let line = json!({"request": {"model": "gpt-4.1", "input": "Give me JSON", "text": {"format": {"type": "json_object"}}},
        "response": {"id": "resp_7", "object": "response", "created_at": 1736157600, "status": "completed",
                     "output": [{"type": "message", "content": [{"type": "output_text", "text": "{\"a\": 1"}]}],
                     "usage": {"input_tokens": 4, "output_tokens": 3, "total_tokens": 7}}});
    let p = ok(&line.to_string());
    let c = p.call;
    assert_eq!(p.format.name(), "openai");
    assert_eq!(c.start_time, utc("2025-01-06T10:00:00Z"));
    assert_eq!((c.operation.as_deref(), c.input_text.as_str()), (Some("responses"), "Give me JSON"));
    assert_eq!((c.output.as_deref(), c.usage.total), (Some("{\"a\": 1"), Some(7)));
    assert!(c.json_mode);
    assert!(c.flags.iter().any(|f| f == "malformed_json"), "{:?}", c.flags);
    let bare = json!({"timestamp": 1736157600, "request": {"model": "gpt-4.1", "input": "hi"},
        "response": {"object": "response", "status": "completed", "output": []}});
    assert_eq!(ok(&bare.to_string()).call.operation.as_deref(), Some("responses"));
}

#[test]
fn native_round_trip() {
    let c = ok(r#"{"timestamp": 1735689234, "request_id": "r", "model": "m", "input": "q", "output": "a", "metadata": {"user_id": "u"}}"#).call;
    let line = serde_json::to_string(&c).unwrap_or_default();
    let back = ok(&line);
    assert_eq!(back.format, LineFormat::Native);
    assert_eq!(back.call, c, "a call written as JSON reads back identical");
    assert!(err(r#"{"start_time": "2025-01-01T00:00:00Z", "trace_id": "t", "latency_ms": "slow"}"#)
        .starts_with("latency_ms:"));
}

#[test]
fn native_records_need_a_start_and_known_fields() {
    let start = r#""start_time": "2025-03-01T10:02:00Z""#;
    let trace = r#""trace_id": "0123456789ABCDEF0123456789abcdef""#;
    let c = ok(&format!("{{{start}, {trace}, \"usage\": {{\"input\": 3}}}}")).call;
    assert_eq!(c.trace_id, "0123456789abcdef0123456789abcdef", "stored in lower case");
    assert_eq!(c.usage.input, Some(3));
    assert_eq!(
        err(&format!("{{{start}, {trace}, \"usage\": {{\"output\": 2000000000000}}}}")),
        "usage.output: output token count 2000000000000 is out of range (at most 1000000000000)"
    );
    assert_eq!(
        err(&format!("{{{start}, {trace}, \"inputt\": \"typo\"}}")),
        "inputt: unknown field (the call schema's fields are listed in docs/api.md)"
    );
    assert!(
        err(&format!("{{{start}, {trace}, \"usage\": {{\"inptu\": 3}}}}")).starts_with("usage.inptu: unknown field")
    );
    assert!(err(&format!("{{{start}, {trace}, \"origin\": {{\"kind\": \"api\", \"x\": 1}}}}"))
        .starts_with("origin.x: unknown field"));
    assert_eq!(
        err(&format!("{{{start}, \"trace_id\": \"xyz\"}}")),
        "trace_id: expected 32 hex digits, not all zero, found \"xyz\""
    );
    assert!(err(&format!("{{{start}, {trace}, \"span_id\": \"12\"}}")).starts_with("span_id: expected 16 hex digits"));
    assert!(err(&format!("{{{start}, \"trace_id\": \"{}\"}}", "0".repeat(32)))
        .starts_with("trace_id: expected 32 hex digits, not all zero"));
    // A record states its own outcome: a failure without a kind gets one, nothing else changes.
    let c = ok(&format!("{{{start}, {trace}, \"status\": \"error\", \"status_code\": 503}}")).call;
    assert_eq!(c.error_kind.as_deref(), Some("upstream_5xx"));
    let c =
        ok(&format!("{{{start}, {trace}, \"status\": \"error\", \"error_kind\": \"timeout\", \"status_code\": 504}}"))
            .call;
    assert_eq!(c.error_kind.as_deref(), Some("timeout"));
    let c = ok(&format!("{{{start}, {trace}, \"status\": \"ok\", \"status_code\": 500}}")).call;
    assert_eq!((c.status, c.error_kind), (CallStatus::Ok, None));
    // The ingest API reads unrecognised items as this schema: without a start they are
    // rejected, not stored at 1970-01-01.
    let api =
        |line: &str| parse_line_or(line.as_bytes(), "api", 0, &ImportOptions::default(), Some(LineFormat::Native));
    for item in [r#"{"model": "x", "latency_ms": 5}"#, "{}", r#"{"start_time": null, "model": "x"}"#] {
        assert_eq!(
            api(item).map(|_| ()),
            Err(LineError::at("start_time".into(), "missing required field".into())),
            "{item}"
        );
    }
    assert!(api(r#"{"start_time": "+262142-12-31T23:59:59Z", "input_text": "x"}"#).is_err_and(|e| e
        .to_string()
        .starts_with("start_time: timestamp +262142-12-31T23:59:59+00:00 is out of range")));
    assert!(api(&format!("{{{start}, \"end_time\": \"1900-01-01T00:00:00Z\"}}"))
        .is_err_and(|e| e.to_string().starts_with("end_time:")));
    assert_eq!(
        err(&format!("{{{start}, {trace}, \"latency_ms\": 1e300}}")),
        "latency_ms: latency of 1e300 ms is out of range (0 to 30 days)"
    );
    assert_eq!(
        api(r#"{"foo": "bar"}"#).map(|_| ()).map_err(|e| e.to_string()),
        Err("foo: unknown field (the call schema's fields are listed in docs/api.md)".into())
    );
}

#[test]
fn bad_lines_say_what_and_where() {
    assert!(err("{not json").starts_with("invalid JSON"));
    assert!(err("[1, 2]").starts_with("expected a JSON object, found an array"));
    assert!(err(r#"{"hello": "world"}"#).starts_with("unrecognised line format"));
    assert_eq!(
        err(r#"{"timestamp": 1735689234, "input": "q", "output": "a", "metadata": {"total_latency_ms": "fast"}}"#),
        "metadata.total_latency_ms: expected a number, found the string \"fast\""
    );
    assert_eq!(
        err(r#"{"timestamp": 1735689234, "input": "q", "output": 42, "metadata": {}}"#),
        "output: expected a string, found the number 42"
    );
    assert_eq!(
        err(r#"{"timestamp": 1735689234, "input": "q", "output": "a", "metadata": {"prompt_tokens": -4}}"#),
        "metadata.prompt_tokens: expected a non-negative integer, found the number -4"
    );
    assert!(err(r#"{"timestamp": "soon", "user_input": "q", "model_response": "a", "metadata": {}}"#)
        .starts_with("timestamp: cannot read"));
    assert_eq!(
        err(r#"{"user_input": "q", "model_response": "a", "metadata": {}}"#),
        "timestamp: missing required field"
    );
    assert!(parse_line(b"\xff\xfe{}", "f", 1, &ImportOptions::default()).is_err());
}

#[test]
fn ids_follow_content() {
    let a = ok(r#"{"timestamp": 1735689234, "input": "q", "output": "a", "metadata": {}}"#).call.id;
    let b = ok(r#"  {"timestamp": 1735689234, "input": "q", "output": "a", "metadata": {}}  "#).call.id;
    let c = ok(r#"{"timestamp": 1735689234, "input": "q", "output": "b", "metadata": {}}"#).call.id;
    assert_eq!(a, b);
    assert_ne!(a, c);
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_line(&bytes, "f", 1, &ImportOptions::default());
        }

        #[test]
        fn never_panics_on_json_shaped_lines(ts in prop_oneof![Just(json!(1735689234)), Just(json!("x")), Just(json!(-1)), Just(json!(1e300)), Just(json!(null))],
                                             lat in prop_oneof![Just(json!(5)), Just(json!("7")), Just(json!([1])), Just(json!(-3.5)), Just(json!(1e308))],
                                             out in prop_oneof![Just(json!("")), Just(json!("{")), Just(json!(3)), Just(json!({"a": 1}))],
                                             shape in 0u8..8) {
            let line = match shape {
                0 => json!({"timestamp": ts, "input": "q", "output": out, "metadata": {"total_latency_ms": lat, "json_mode": true}}),
                1 => json!({"timestamp": ts, "user_input": "q", "model_response": out, "metadata": {"response_time": lat}}),
                2 => json!({"message": "m", "time": ts, "latency_ms": lat}),
                3 => json!({"timestamp": ts, "latency_ms": lat, "request": {"messages": out}, "response": {"choices": out}}),
                4 => json!({"custom_id": lat, "response": {"status_code": lat, "body": {"object": "chat.completion", "created": ts, "choices": out, "usage": out}}, "error": out}),
                5 => json!({"custom_id": "c", "response": out, "error": {"code": lat, "message": out}}),
                6 => json!({"object": "response", "created_at": ts, "output": out, "usage": {"input_tokens": lat},
                            "text": {"format": out}, "temperature": lat, "tools": out, "user": lat, "instructions": out}),
                _ => json!({"start_time": ts, "trace_id": out, "latency_ms": lat}),
            };
            let _ = parse_line(line.to_string().as_bytes(), "f", 1, &ImportOptions::default());
        }
    }
}

/// What a Responses API response echoes of its request is read only where the request is
/// missing: a Batch line or a response on its own. A pair keeps its request's settings and
/// its own user id.
#[test]
fn settings_echoed_by_a_response_fill_in_only_for_a_missing_request() {
    let body = r#"{"id": "resp_1", "object": "response", "created_at": 1711652795.0, "status": "completed", "model": "gpt-4.1", "temperature": 1.0, "user": "h123", "text": {"format": {"type": "json_object"}}, "instructions": [{"role": "developer", "content": "JSON only"}], "output": [{"type": "message", "content": [{"type": "output_text", "text": "{}"}]}]}"#;
    let bare = ok(body);
    let batch = ok(&format!(
        r#"{{"id": "batch_req_1", "custom_id": "c1", "response": {{"status_code": 200, "body": {body}}}, "error": null}}"#
    ));
    for p in [&bare, &batch] {
        let c = &p.call;
        assert!(c.json_mode, "{:?}", p.format);
        assert_eq!((c.temperature, c.user_id.as_deref()), (Some(1.0), Some("h123")));
        assert_eq!(c.input, json!([{"role": "developer", "content": "JSON only"}]));
    }
    let pair = ok(&format!(
        r#"{{"user_id": "alice", "request": {{"model": "gpt-4.1", "input": "Say hi"}}, "response": {body}}}"#
    ));
    let c = &pair.call;
    assert_eq!((c.user_id.as_deref(), c.temperature, c.json_mode), (Some("alice"), None, false));
    assert_eq!(c.input_text, "Say hi");
}

#[test]
fn openai_batch_output_lines_and_bare_responses() {
    let p = ok(
        r#"{"id": "batch_req_1", "custom_id": "request-2", "response": {"status_code": 200, "request_id": "req_1", "body": {"id": "chatcmpl-1", "object": "chat.completion", "created": 1711652795, "model": "gpt-4o-mini", "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello."}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 22, "completion_tokens": 2, "total_tokens": 24}}}, "error": null}"#,
    );
    assert_eq!(p.format, LineFormat::OpenAiBatch);
    let c = &p.call;
    assert_eq!(c.start_time, utc("2024-03-28T19:06:35Z"));
    assert_eq!((c.model.as_deref(), c.operation.as_deref()), (Some("gpt-4o-mini"), Some("chat")));
    assert_eq!((c.output.as_deref(), c.finish_reason.as_deref()), (Some("Hello."), Some("stop")));
    assert_eq!((c.usage.input, c.usage.output, c.usage.total), (Some(22), Some(2), Some(24)));
    assert_eq!((c.status, c.status_code), (CallStatus::Ok, Some(200)));
    assert_eq!(c.client_request_id.as_deref(), Some("request-2"));
    assert_eq!(c.request_id.as_deref(), Some("chatcmpl-1"));
    assert_eq!(c.attributes.get("batch_request_id"), Some(&json!("batch_req_1")));
    assert_eq!(c.attributes.get("upstream_request_id"), Some(&json!("req_1")));
    assert_eq!(c.input_text, "", "the prompt is not in a Batch output line");
    assert!(matches!(&c.origin, Origin::Import { format, .. } if format == "openai-batch"));

    // A bare chat completion and a bare Responses API object.
    let p = ok(
        r#"{"id": "chatcmpl-9", "object": "chat.completion", "created": 1711652795, "model": "gpt-4o", "choices": [{"index": 0, "message": {"role": "assistant", "content": ""}, "finish_reason": "stop"}]}"#,
    );
    assert_eq!(p.format, LineFormat::OpenAiResponse);
    assert!(p.call.flags.contains(&"empty_response".to_string()), "{:?}", p.call.flags);
    let p = ok(
        r#"{"id": "resp_1", "object": "response", "created_at": 1741476542, "status": "completed", "model": "gpt-4.1", "output": [{"type": "message", "content": [{"type": "output_text", "text": "A grove."}]}], "usage": {"input_tokens": 36, "output_tokens": 87, "total_tokens": 123}, "metadata": {}}"#,
    );
    assert_eq!(p.format, LineFormat::OpenAiResponse);
    assert_eq!((p.call.start_time, p.call.output.as_deref()), (utc("2025-03-08T23:29:02Z"), Some("A grove.")));
    assert_eq!(p.call.operation.as_deref(), Some("responses"));

    // What cannot be placed or is no call says why, and where.
    assert_eq!(
        err(
            r#"{"custom_id": "r1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m", "messages": []}}"#
        ),
        "an OpenAI Batch input line (a request without its answer): import the batch's input and output files \
         together (an input file is recognised by its first line)"
    );
    assert_eq!(
        err(
            r#"{"id": "b", "custom_id": "r3", "response": null, "error": {"code": "batch_expired", "message": "Expired."}}"#
        ),
        "response: no response, so no time to place the call at (the request failed: batch_expired: Expired.) \
         (--undated-at places such lines)"
    );
    assert_eq!(
        err(
            r#"{"custom_id": "r4", "response": {"status_code": 400, "body": {"error": {"message": "bad", "type": "invalid_request_error"}}}}"#
        ),
        "response.body: a failed answer (400 invalid_request_error: bad) carries no time to place the call at \
         (--undated-at places such lines)"
    );
    assert_eq!(
        err(
            r#"{"custom_id": "r5", "response": {"status_code": 200, "body": {"object": "chat.completion", "choices": [], "usage": {"prompt_tokens": "many"}, "created": 1}}}"#
        ),
        "response.body.usage.prompt_tokens: expected a non-negative integer, found the string \"many\""
    );
    assert_eq!(
        err(r#"{"object": "chat.completion", "choices": []}"#),
        "created: missing: an answer logged without its request is placed at its creation time (--undated-at \
         places answers without one, e.g. embeddings)"
    );
    assert_eq!(
        err(r#"{"custom_id": "r6", "response": {"status_code": 200, "body": {"object": "fine_tuning.job", "created": 1}}}"#),
        "response.body.object: \"fine_tuning.job\" is not an answer llmscope reads (chat.completion, text_completion, response, list)"
    );
    assert_eq!(
        err(
            r#"{"custom_id": "r7", "response": {"status_code": 600, "body": {"object": "chat.completion", "created": 1}}}"#
        ),
        "response.status_code: 600 is not an HTTP status code (100 to 599)"
    );

    assert_eq!(
        err(r#"{"object": "chat.completion", "choices": [], "error": {"message": "boom"}}"#),
        "a failed answer (boom) carries no time to place the call at (--undated-at places such lines)"
    );
    assert_eq!(
        err(r#"{"object": "chat.completion", "created": -5, "choices": []}"#),
        "created: timestamp -5 is out of range (an epoch time in the years 1990 to 2200)"
    );

    // An embeddings answer in a Batch output file.
    let p = ok(
        r#"{"id": "b8", "custom_id": "r8", "response": {"status_code": 200, "body": {"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.1]}], "model": "text-embedding-3-small", "usage": {"prompt_tokens": 5, "total_tokens": 5}, "created": 1711652795}}}"#,
    );
    assert_eq!(p.call.operation.as_deref(), Some("embedding"));
    assert_eq!(p.call.span_kind, llmscope_core::SpanKind::Embedding);
}

#[test]
fn answers_without_a_time_are_placed_where_the_import_is_told() {
    let at = utc("2026-11-01T12:00:00Z");
    let opts = ImportOptions { undated_at: Some(at), ..Default::default() };
    let parse = |line: &str| match parse_line(line.as_bytes(), "out.jsonl", 1, &opts) {
        Ok(p) => p.call,
        Err(e) => panic!("{line}: {e}"),
    };
    // An embedding as OpenAI's Batch API returns it: no `created`.
    let c = parse(
        r#"{"id": "b1", "custom_id": "e1", "response": {"status_code": 200, "request_id": "q", "body": {"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.1]}], "model": "text-embedding-3-small", "usage": {"prompt_tokens": 5, "total_tokens": 5}}}, "error": null}"#,
    );
    assert_eq!((c.start_time, c.status, c.usage.input), (at, CallStatus::Ok, Some(5)));
    assert_eq!(c.attributes.get("time_assumed"), Some(&json!(true)));
    assert_eq!(c.operation.as_deref(), Some("embedding"));
    // Failed requests count as failed calls.
    let c = parse(
        r#"{"id": "b2", "custom_id": "r2", "response": null, "error": {"code": "batch_expired", "message": "This request could not be executed before the completion window expired."}}"#,
    );
    assert_eq!((c.start_time, c.status, c.error_kind.as_deref()), (at, CallStatus::Error, Some("batch_expired")));
    assert_eq!(c.output.as_deref(), Some(""));
    assert!(c.error_message.as_deref().is_some_and(|m| m.contains("completion window")));
    let c = parse(
        r#"{"custom_id": "r4", "response": {"status_code": 400, "body": {"error": {"message": "bad", "type": "invalid_request_error"}}}}"#,
    );
    assert_eq!((c.start_time, c.status, c.status_code), (at, CallStatus::Error, Some(400)));
    assert_eq!(c.error_message.as_deref(), Some("bad"));
    let c = parse(r#"{"object": "chat.completion", "choices": [], "error": {"message": "boom"}}"#);
    assert_eq!((c.start_time, c.status), (at, CallStatus::Error));
    // An answer with its own time keeps it.
    let c = parse(r#"{"object": "chat.completion", "created": 1736157600, "choices": []}"#);
    assert_eq!(c.start_time, utc("2025-01-06T10:00:00Z"));
    assert!(!c.attributes.contains_key("time_assumed"));
}

#[test]
fn prefixed_lines_and_python_non_finite_numbers_import() {
    let p = ok(
        r#"2025-01-06 10:03:22,123 - qwen_inference - INFO - {"timestamp": 1736157802, "level": "INFO", "request_id": "r1", "model": "qwen", "input": "hi", "output": "hello", "metadata": {"total_latency_ms": NaN, "first_token_latency_ms": 12}}"#,
    );
    assert_eq!(p.format, LineFormat::Seed001);
    let c = &p.call;
    assert_eq!(c.attributes.get("log_prefix"), Some(&json!("2025-01-06 10:03:22,123 - qwen_inference - INFO -")));
    assert_eq!(c.attributes.get("non_finite_numbers"), Some(&json!(1)));
    assert_eq!((c.latency_ms, c.ttft_ms), (None, Some(12.0)), "NaN is no latency");
    assert_eq!(c.output.as_deref(), Some("hello"));
    assert!(err("{'timestamp': 1}").contains("Python dict"));
    // A record that leaves its time to the prefix is dated by it.
    let c = ok(r#"2025-01-06 10:03:22,123 - app - WARNING - {"request_id": "r2", "input": "hi", "output": "", "metadata": {}}"#).call;
    assert_eq!(c.start_time, utc("2025-01-06T10:03:22.123Z"));
    let c = ok(r#"[2025-01-06T10:03:22Z] {"message": "llm call", "latency_ms": 5, "model_version": "m"}"#).call;
    assert_eq!((c.start_time, c.latency_ms), (utc("2025-01-06T10:03:22Z"), Some(5.0)));
    assert!(err(r#"INFO:app:{"request_id": "r3", "input": "hi", "output": "x"}"#).contains("timestamp"));
}
