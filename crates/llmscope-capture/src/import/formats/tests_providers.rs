//! Pairs, bare answers and logged streams of providers other than OpenAI: Anthropic's
//! Messages API, Ollama's own API and Gemini's `generateContent`, with bodies as their
//! documentation shows them.

use chrono::{DateTime, Utc};
use llmscope_core::{checks, CallStatus};
use serde_json::{json, Value};

use super::*;

fn parse(v: &Value) -> Result<ParsedLine, LineError> {
    parse_line(v.to_string().as_bytes(), "logs.jsonl", 3, &ImportOptions::default())
}

fn ok(v: Value) -> Call {
    match parse(&v) {
        Ok(p) => p.call,
        Err(e) => panic!("line should parse: {e}\n{v}"),
    }
}

fn err(v: Value) -> String {
    match parse(&v) {
        Ok(p) => panic!("line should be rejected: {v}\n{:?}", p.call),
        Err(e) => e.to_string(),
    }
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc)).unwrap_or_default()
}

fn anthropic_message() -> Value {
    json!({"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
           "model": "claude-3-5-sonnet-20241022",
           "content": [{"type": "thinking", "thinking": "They greet me."},
                       {"type": "text", "text": "Hi! "}, {"type": "text", "text": "How can I help?"}],
           "stop_reason": "end_turn", "stop_sequence": null,
           "usage": {"input_tokens": 12, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 40,
                     "output_tokens": 8}})
}

fn anthropic_request() -> Value {
    json!({"model": "claude-3-5-sonnet-20241022", "max_tokens": 1024, "system": "Be brief.",
           "metadata": {"user_id": "u-42"}, "temperature": 0.3,
           "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello, Claude"}]}]})
}

#[test]
fn an_anthropic_pair_maps_text_thinking_usage_and_user() {
    let c = ok(json!({"timestamp": "2025-03-01T10:00:00Z", "latency_ms": 820,
                      "request": anthropic_request(), "response": anthropic_message()}));
    assert_eq!(c.provider.as_deref(), Some("anthropic"));
    assert_eq!(c.model.as_deref(), Some("claude-3-5-sonnet-20241022"));
    assert_eq!(c.input_text, "Hello, Claude");
    assert_eq!(c.output.as_deref(), Some("Hi! How can I help?"));
    assert_eq!(c.attributes.get("reasoning_content"), Some(&json!("They greet me.")));
    assert_eq!(c.request_id.as_deref(), Some("msg_01XFDUDYJgAACzvnptvVoYEL"));
    assert_eq!(c.user_id.as_deref(), Some("u-42"));
    assert_eq!(c.temperature, Some(0.3));
    // The system prompt leads the input, as in an OpenAI chat; it is not a parameter.
    assert_eq!(
        c.input,
        json!([{"role": "system", "content": "Be brief."},
               {"role": "user", "content": [{"type": "text", "text": "Hello, Claude"}]}])
    );
    assert!(!c.params.contains_key("system"));
    assert_eq!(c.params.get("max_tokens"), Some(&json!(1024)));
    // Cache reads and writes are part of the prompt, as OpenAI counts it.
    assert_eq!(
        (c.usage.input, c.usage.cached, c.usage.output, c.usage.total),
        (Some(152), Some(100), Some(8), Some(160))
    );
    assert_eq!(c.usage.cache_write, Some(40));
    assert_eq!(c.finish_reason.as_deref(), Some("stop"));
    assert_eq!(c.attributes.get("stop_reason"), Some(&json!("end_turn")));
    assert_eq!((c.start_time, c.latency_ms, c.status), (utc("2025-03-01T10:00:00Z"), Some(820.0), CallStatus::Ok));
}

#[test]
fn anthropic_tool_use_and_max_tokens_read_as_openai_would() {
    let mut resp = anthropic_message();
    resp["content"] = json!([{"type": "tool_use", "id": "toolu_01", "name": "get_weather",
                              "input": {"location": "Paris"}}]);
    resp["stop_reason"] = json!("tool_use");
    let c = ok(json!({"timestamp": "2025-03-01T10:00:00Z", "request": anthropic_request(), "response": resp.clone()}));
    assert_eq!(c.finish_reason.as_deref(), Some("tool_calls"));
    let tc = c.tool_calls.clone().unwrap_or_default();
    assert_eq!(tc[0]["function"]["name"], json!("get_weather"));
    assert_eq!(tc[0]["function"]["arguments"], json!("{\"location\":\"Paris\"}"));
    assert_eq!(tc[0]["id"], json!("toolu_01"));
    assert_eq!(c.output.as_deref(), Some(""));
    assert!(!c.flags.iter().any(|f| f == checks::INVALID_TOOL_ARGS), "{:?}", c.flags);

    resp["content"] = json!([{"type": "text", "text": "Once upon"}]);
    resp["stop_reason"] = json!("max_tokens");
    let c = ok(json!({"timestamp": "2025-03-01T10:00:00Z", "request": anthropic_request(), "response": resp}));
    assert_eq!(c.finish_reason.as_deref(), Some("length"));
    assert!(c.flags.iter().any(|f| f == checks::TRUNCATED), "{:?}", c.flags);
}

#[test]
fn an_anthropic_error_is_a_failed_call_of_its_kind() {
    let c = ok(json!({"timestamp": "2025-03-01T10:00:00Z", "status_code": 529, "request": anthropic_request(),
                      "response": {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}}));
    assert_eq!(c.status, CallStatus::Error);
    assert_eq!(c.error_message.as_deref(), Some("Overloaded"));
    assert_eq!(c.error_kind.as_deref(), Some("upstream_5xx"));
    assert_eq!(c.attributes.get("upstream_error_type"), Some(&json!("overloaded_error")));
}

#[test]
fn an_anthropic_stream_logged_as_its_events_is_joined() {
    let events = [
        json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
               "model": "claude-sonnet-4-5", "content": [], "stop_reason": null,
               "usage": {"input_tokens": 25, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "ping"}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "!"}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "content_block_start", "index": 1,
               "content_block": {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"q\": "}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "\"tea\"}"}}),
        json!({"type": "content_block_stop", "index": 1}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
               "usage": {"output_tokens": 15}}),
        json!({"type": "message_stop"}),
    ];
    let sse: String =
        events.iter().map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap_or(""))).collect();
    for logged in [Value::Array(events.to_vec()), Value::String(sse)] {
        let c = ok(json!({"timestamp": "2025-03-01T10:00:00Z", "request": anthropic_request(), "response": logged}));
        assert_eq!(c.output.as_deref(), Some("Hello!"));
        assert_eq!((c.usage.input, c.usage.output), (Some(25), Some(15)));
        assert_eq!(c.finish_reason.as_deref(), Some("tool_calls"));
        let tc = c.tool_calls.clone().unwrap_or_default();
        assert_eq!(tc[0]["function"]["arguments"], json!("{\"q\":\"tea\"}"));
        assert_eq!(c.request_id.as_deref(), Some("msg_1"));
        assert_eq!(c.attributes.get("stream"), Some(&json!(true)));
        assert_eq!(c.attributes.get("stream_chunks"), Some(&json!(12)));
    }
    // An error event fails the call.
    let failed = json!([events[0].clone(),
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}]);
    let c = ok(json!({"timestamp": "2025-03-01T10:00:00Z", "request": anthropic_request(), "response": failed}));
    assert_eq!((c.status, c.error_message.as_deref()), (CallStatus::Error, Some("Overloaded")));
}

#[test]
fn a_bare_anthropic_message_needs_a_time_to_be_placed_at() {
    let e = err(anthropic_message());
    assert!(e.contains("--undated-at"), "{e}");
    let at = utc("2025-03-02T00:00:00Z");
    let opts = ImportOptions { undated_at: Some(at), ..Default::default() };
    let p = parse_line(anthropic_message().to_string().as_bytes(), "f", 1, &opts).map_err(|e| e.to_string());
    let c = p.map(|p| p.call).unwrap_or_default();
    assert_eq!((c.start_time, c.output.as_deref()), (at, Some("Hi! How can I help?")));
    assert_eq!(c.attributes.get("time_assumed"), Some(&json!(true)));
}

fn ollama_chat() -> Value {
    json!({"model": "llama3.2", "created_at": "2023-12-12T14:13:43.416799Z",
           "message": {"role": "assistant", "content": "Hello! How are you today?", "thinking": "A greeting."},
           "done": true, "done_reason": "stop", "total_duration": 5_191_566_416_u64, "load_duration": 2_154_458,
           "prompt_eval_count": 26, "prompt_eval_duration": 383_809_000, "eval_count": 298,
           "eval_duration": 4_799_921_000_u64})
}

#[test]
fn an_ollama_chat_pair_maps_timings_tokens_and_options() {
    let c = ok(json!({"request": {"model": "llama3.2", "stream": false, "format": "json",
                                  "options": {"temperature": 0.7, "num_ctx": 4096},
                                  "messages": [{"role": "user", "content": "why is the sky blue?"}]},
                      "response": ollama_chat()}));
    assert_eq!(c.provider.as_deref(), Some("ollama"));
    assert_eq!((c.model.as_deref(), c.operation.as_deref()), (Some("llama3.2"), Some("chat")));
    assert_eq!(c.input_text, "why is the sky blue?");
    assert_eq!(c.output.as_deref(), Some("Hello! How are you today?"));
    assert_eq!(c.attributes.get("reasoning_content"), Some(&json!("A greeting.")));
    assert_eq!((c.usage.input, c.usage.output, c.usage.total), (Some(26), Some(298), Some(324)));
    assert_eq!((c.latency_ms, c.ttft_ms), (Some(5191.566416), None), "no TTFT: not streamed");
    assert_eq!(c.attributes.get("eval_ms"), Some(&json!(4799.921)));
    assert_eq!(c.finish_reason.as_deref(), Some("stop"));
    assert_eq!(c.temperature, Some(0.7));
    assert!(c.json_mode, "format: json is JSON mode");
    // `created_at` is when the answer ended.
    assert_eq!(c.end_time, Some(utc("2023-12-12T14:13:43.416799Z")));
    assert_eq!(c.start_time, utc("2023-12-12T14:13:38.225233Z"));
    // Not JSON although JSON was asked for: flagged.
    assert!(c.flags.iter().any(|f| f == checks::MALFORMED_JSON), "{:?}", c.flags);
}

#[test]
fn ollama_generate_tools_errors_and_bare_answers() {
    let generate = json!({"model": "llama3.2", "created_at": "2023-08-04T19:22:45.499127Z", "response": "The sky is blue.",
                          "done": true, "context": [1, 2, 3], "total_duration": 10_706_818_083_u64,
                          "prompt_eval_count": 26, "eval_count": 290, "eval_duration": 4_709_213_000_u64});
    let c =
        ok(json!({"request": {"model": "llama3.2", "prompt": "Why is the sky blue?"}, "response": generate.clone()}));
    assert_eq!((c.operation.as_deref(), c.input_text.as_str()), (Some("completion"), "Why is the sky blue?"));
    assert_eq!(c.output.as_deref(), Some("The sky is blue."));
    assert_eq!(c.attributes.get("context_tokens"), Some(&json!(3)));
    // On its own, an answer is placed by its own time.
    let c = ok(generate);
    assert_eq!((c.end_time, c.output.as_deref()), (Some(utc("2023-08-04T19:22:45.499127Z")), Some("The sky is blue.")));

    let mut tools = ollama_chat();
    tools["message"] = json!({"role": "assistant", "content": "",
        "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Toronto"}}}]});
    let c = ok(tools);
    assert_eq!(c.finish_reason.as_deref(), Some("tool_calls"), "Ollama says stop");
    let tc = c.tool_calls.clone().unwrap_or_default();
    assert_eq!(tc[0]["function"]["arguments"], json!("{\"city\":\"Toronto\"}"));

    let c = ok(json!({"timestamp": "2025-03-01T10:00:00Z", "status_code": 404,
                      "request": {"model": "nope", "messages": [{"role": "user", "content": "hi"}]},
                      "response": {"error": "model \"nope\" not found, try pulling it first"}}));
    assert_eq!(c.status, CallStatus::Error);
    assert_eq!(c.error_message.as_deref(), Some("model \"nope\" not found, try pulling it first"), "not quoted again");
}

#[test]
fn an_ollama_stream_logged_as_chunks_or_lines_is_joined() {
    let chunk = |text: &str| {
        json!({"model": "llama3.2", "created_at": "2023-08-04T08:52:19.385406455Z",
                                    "message": {"role": "assistant", "content": text}, "done": false})
    };
    let mut last = ollama_chat();
    last["message"] = json!({"role": "assistant", "content": ""});
    let chunks = vec![chunk("The"), chunk(" sky"), chunk(" is blue."), last];
    let lines: String = chunks.iter().map(|c| format!("{c}\n")).collect();
    for logged in [Value::Array(chunks.clone()), Value::String(lines.clone())] {
        let c = ok(json!({"request": {"model": "llama3.2", "messages": [{"role": "user", "content": "Why?"}]},
                          "response": logged}));
        assert_eq!(c.output.as_deref(), Some("The sky is blue."));
        assert_eq!((c.usage.output, c.finish_reason.as_deref()), (Some(298), Some("stop")));
        assert_eq!(c.end_time, Some(utc("2023-12-12T14:13:43.416799Z")), "the last chunk's time");
        assert_eq!(c.attributes.get("stream_chunks"), Some(&json!(4)));
        assert_eq!(c.ttft_ms.map(|t| (t * 1000.0).round() / 1000.0), Some(391.645), "total less generation");
    }
    // A last line cut off: counted, the rest joined.
    let cut = format!("{lines}{{\"model\": \"llama3.2\", \"crea");
    let c = ok(json!({"request": {"model": "llama3.2", "messages": [{"role": "user", "content": "Why?"}]},
                      "response": cut}));
    assert_eq!(c.output.as_deref(), Some("The sky is blue."));
    assert_eq!(c.attributes.get("stream_bad_chunks"), Some(&json!(1)));
}

fn gemini_request() -> Value {
    json!({"model": "models/gemini-2.0-flash",
           "systemInstruction": {"parts": [{"text": "You are a cat."}]},
           "contents": [{"role": "user", "parts": [{"text": "Write a story"}]},
                        {"role": "model", "parts": [{"text": "About?"}]},
                        {"role": "user", "parts": [{"text": "A magic backpack."}]}],
           "generationConfig": {"temperature": 0.2, "maxOutputTokens": 800, "responseMimeType": "application/json"}})
}

fn gemini_answer() -> Value {
    json!({"candidates": [{"content": {"parts": [{"text": "I am thinking.", "thought": true},
                                                 {"text": "{\"story\": \"Once upon a time\"}"}], "role": "model"},
                           "finishReason": "STOP", "index": 0}],
           "usageMetadata": {"promptTokenCount": 14, "candidatesTokenCount": 9, "thoughtsTokenCount": 5,
                             "totalTokenCount": 28},
           "modelVersion": "gemini-2.0-flash-001", "responseId": "resp-1"})
}

#[test]
fn a_gemini_pair_maps_contents_config_and_usage() {
    let c = ok(json!({"timestamp": "2025-03-01T10:00:00Z", "request": gemini_request(), "response": gemini_answer()}));
    assert_eq!(c.provider.as_deref(), Some("google"));
    assert_eq!(c.model.as_deref(), Some("gemini-2.0-flash"));
    assert_eq!(c.attributes.get("response_model"), Some(&json!("gemini-2.0-flash-001")));
    assert_eq!(c.input_text, "A magic backpack.");
    assert_eq!(c.input.as_array().map(Vec::len), Some(4));
    assert_eq!(c.input[0], json!({"role": "system", "parts": [{"text": "You are a cat."}]}));
    assert_eq!(c.input[1]["parts"][0]["text"], "Write a story");
    assert_eq!(c.output.as_deref(), Some("{\"story\": \"Once upon a time\"}"));
    assert_eq!(c.attributes.get("reasoning_content"), Some(&json!("I am thinking.")));
    assert_eq!((c.usage.input, c.usage.output, c.usage.total), (Some(14), Some(14), Some(28)));
    assert_eq!((c.temperature, c.json_mode), (Some(0.2), true));
    assert!(!c.params.contains_key("systemInstruction"));
    assert_eq!(c.finish_reason.as_deref(), Some("stop"));
    assert_eq!(c.request_id.as_deref(), Some("resp-1"));
    assert!(!c.flags.iter().any(|f| f == checks::MALFORMED_JSON), "{:?}", c.flags);
}

/// Gemini's REST requests name the model in the URL only, and a failed call's answer names
/// none: a pair that logged its URL gets its model from there.
#[test]
fn a_model_only_the_url_names_is_the_calls_model() {
    let mut req = gemini_request();
    req.as_object_mut().map(|m| m.remove("model"));
    // Python's SDK spells the system instruction in snake case.
    req["system_instruction"] = json!("Be a cat.");
    req.as_object_mut().map(|m| m.remove("systemInstruction"));
    let failed =
        json!({"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED"}});
    let url = "https://generativelanguage.googleapis.com/v1beta/models/gemini-1.5-flash:generateContent";
    let c = ok(json!({"timestamp": "2025-03-01T10:00:00Z", "url": url, "status_code": 429,
                      "request": req, "response": failed}));
    assert_eq!(c.model.as_deref(), Some("gemini-1.5-flash"));
    assert_eq!((c.status, c.status_code), (CallStatus::Error, Some(429)));
    assert_eq!(c.attributes.get("url"), Some(&json!(url)), "the URL is kept as logged");
    assert_eq!(c.input[0], json!({"role": "system", "parts": [{"text": "Be a cat."}]}));
    assert!(!c.params.contains_key("system_instruction"));
    // A model the body names wins over the URL's.
    let c = ok(json!({"timestamp": "2025-03-01T10:00:00Z", "endpoint": url, "request": gemini_request(),
                      "response": gemini_answer()}));
    assert_eq!(c.model.as_deref(), Some("gemini-2.0-flash"));
    // An OpenAI URL names no model.
    let c = ok(json!({"timestamp": "2025-03-01T10:00:00Z", "url": "https://api.openai.com/v1/chat/completions",
                      "request": {"messages": [{"role": "user", "content": "hi"}]},
                      "response": {"error": {"message": "boom", "type": "server_error"}}, "status_code": 500}));
    assert_eq!(c.model, None);
}

#[test]
fn gemini_function_calls_blocked_prompts_errors_and_streams() {
    let mut fc = gemini_answer();
    fc["candidates"][0]["content"]["parts"] =
        json!([{"functionCall": {"name": "find_movies", "args": {"city": "SF"}}}]);
    let c = ok(json!({"timestamp": "2025-03-01T10:00:00Z", "request": gemini_request(), "response": fc}));
    assert_eq!(c.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(c.tool_calls.clone().unwrap_or_default()[0]["function"]["arguments"], json!("{\"city\":\"SF\"}"));

    let blocked = json!({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 8}});
    let c = ok(json!({"timestamp": "2025-03-01T10:00:00Z", "request": gemini_request(), "response": blocked}));
    assert_eq!((c.output.as_deref(), c.finish_reason.as_deref()), (Some(""), Some("content_filter")));
    assert_eq!(c.attributes.get("block_reason"), Some(&json!("SAFETY")));

    let error =
        json!({"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED"}});
    let c = ok(json!({"timestamp": "2025-03-01T10:00:00Z", "request": gemini_request(), "response": error}));
    assert_eq!(
        (c.status, c.status_code, c.error_kind.as_deref()),
        (CallStatus::Error, Some(429), Some("rate_limited"))
    );
    assert_eq!(c.attributes.get("upstream_error_type"), Some(&json!("RESOURCE_EXHAUSTED")));

    let part = |text: &str, finish: Option<&str>| {
        let mut r = json!({"candidates": [{"content": {"parts": [{"text": text}], "role": "model"}}],
                           "modelVersion": "gemini-2.0-flash-001"});
        if let Some(f) = finish {
            r["candidates"][0]["finishReason"] = json!(f);
            r["usageMetadata"] = json!({"promptTokenCount": 4, "candidatesTokenCount": 7});
        }
        r
    };
    let events: String = [part("Once ", None), part("upon a ", None), part("time", Some("MAX_TOKENS"))]
        .iter()
        .map(|p| format!("data: {p}\r\n\r\n"))
        .collect();
    let c = ok(json!({"timestamp": "2025-03-01T10:00:00Z", "request": gemini_request(), "response": events}));
    assert_eq!(c.output.as_deref(), Some("Once upon a time"));
    assert_eq!((c.finish_reason.as_deref(), c.usage.output), (Some("length"), Some(7)));
    assert_eq!(c.attributes.get("stream_chunks"), Some(&json!(3)));
}

#[test]
fn an_answer_of_no_known_shape_is_refused_not_stored_empty() {
    let e = err(json!({"timestamp": "2025-03-01T10:00:00Z",
                       "request": {"model": "m", "messages": [{"role": "user", "content": "hi"}]},
                       "response": {"answer": "hello", "latency": 3}}));
    assert!(e.starts_with("response: not an answer llmscope reads (keys: answer, latency)"), "{e}");
    // The same body of a failed call is what its server sent: the call is kept.
    let c = ok(json!({"timestamp": "2025-03-01T10:00:00Z", "status_code": 502,
                      "request": {"model": "m", "messages": [{"role": "user", "content": "hi"}]},
                      "response": {"answer": "hello"}}));
    assert_eq!((c.status, c.status_code), (CallStatus::Error, Some(502)));
    // An empty object (nothing came back) is still a call without an answer.
    let c = ok(json!({"timestamp": "2025-03-01T10:00:00Z", "error": "timeout",
                      "request": {"model": "m", "messages": [{"role": "user", "content": "hi"}]}, "response": {}}));
    assert_eq!(c.status, CallStatus::Error);
}

#[test]
fn error_bodies_of_openai_compatible_servers_fail_the_call() {
    let pair = |response: Value| {
        ok(json!({"timestamp": "2025-03-01T10:00:00Z", "status_code": 404,
                  "request": {"model": "m", "messages": [{"role": "user", "content": "hi"}]}, "response": response}))
    };
    let c = pair(json!({"detail": "Not Found"}));
    assert_eq!((c.status, c.error_message.as_deref()), (CallStatus::Error, Some("Not Found")));
    let c = pair(json!({"object": "error", "message": "The model `m` does not exist.", "type": "NotFoundError",
                        "param": null, "code": 404}));
    assert_eq!((c.status, c.error_message.as_deref()), (CallStatus::Error, Some("The model `m` does not exist.")));
    assert_eq!(c.attributes.get("upstream_error_type"), Some(&json!("NotFoundError")));
    let c = pair(json!({"statusCode": 401, "message": "Unauthorized. Access token is missing."}));
    assert_eq!(c.error_message.as_deref(), Some("Unauthorized. Access token is missing."));
    let c = pair(json!({"errors": [{"code": 10000, "message": "Authentication error"}], "success": false}));
    assert_eq!(c.error_message.as_deref(), Some("Authentication error"));
    let c = pair(json!({"error": "Input validation error", "error_type": "validation"}));
    assert_eq!(c.attributes.get("upstream_error_type"), Some(&json!("validation")), "TGI's kind");
    // An OpenAI-style error with a `status` is not taken for Google's (its code is a string).
    let c = pair(json!({"error": {"message": "bad key", "type": "invalid_request_error", "code": "invalid_api_key",
                                  "status": "UNAUTHENTICATED"}}));
    assert_eq!((c.status_code, c.error_message.as_deref()), (Some(404), Some("bad key")));
    assert_eq!(c.provider, None);
    // An embedding or a transcription on its own is an answer.
    let ok_pair = |response: Value| {
        ok(json!({"timestamp": "2025-03-01T10:00:00Z",
                  "request": {"model": "m", "input": "hi"}, "response": response}))
    };
    assert_eq!(ok_pair(json!({"embedding": [0.1, 0.2]})).operation.as_deref(), Some("embedding"));
    assert_eq!(ok_pair(json!({"text": "Hello there."})).output.as_deref(), Some("Hello there."));
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn odd() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(json!(null)),
            Just(json!("")),
            Just(json!("x")),
            Just(json!(-1)),
            Just(json!(1e308)),
            Just(json!(u64::MAX)),
            Just(json!([1, "a", null, {}])),
            Just(json!({"a": 1})),
            Just(json!([{"type": "text"}, {"type": 3}, {}])),
            Just(json!("2023-12-12T14:13:43Z")),
        ]
    }

    proptest! {
        /// Every field a provider's mapper or stream joiner reads, given odd values: the line
        /// is mapped or rejected, never a panic.
        #[test]
        fn never_panics_on_provider_shaped_lines(a in odd(), b in odd(), c in odd(), d in odd(), shape in 0u8..9) {
            let response = match shape {
                0 => json!({"type": "message", "id": a, "content": [b, {"type": "tool_use", "input": c}],
                            "stop_reason": d, "usage": {"input_tokens": a, "cache_read_input_tokens": c}}),
                1 => json!({"type": "error", "error": {"type": a, "message": b}}),
                2 => json!([{"type": "message_start", "message": a}, {"type": "content_block_start", "index": b, "content_block": c},
                            {"type": "content_block_delta", "index": b, "delta": {"type": "input_json_delta", "partial_json": d}},
                            {"type": "message_delta", "delta": a, "usage": c}, {"type": "error", "error": d}]),
                3 => json!({"model": a, "created_at": "2023-12-12T14:13:43Z", "done": b, "message": {"content": c, "tool_calls": d},
                            "total_duration": a, "eval_duration": c, "prompt_eval_count": d, "context": b}),
                4 => json!({"model": "m", "created_at": a, "done": true, "response": b, "total_duration": c, "thinking": d}),
                5 => json!([{"model": "m", "created_at": "2023-12-12T14:13:43Z", "done": false, "message": a}, b,
                            {"created_at": c, "done": true, "message": {"tool_calls": d}, "error": a}]),
                6 => json!({"candidates": [{"content": {"parts": [a, {"functionCall": b}, {"text": c, "thought": d}]},
                            "finishReason": a}], "usageMetadata": {"promptTokenCount": b, "thoughtsTokenCount": c}}),
                7 => json!([{"candidates": a}, {"candidates": [{"content": {"parts": b}, "finishReason": c}]}, d]),
                _ => json!({"error": {"code": a, "message": b, "status": "X"}, "promptFeedback": c}),
            };
            let request = match shape % 3 {
                0 => json!({"model": a, "messages": [{"role": "user", "content": b}], "metadata": c, "system": d}),
                1 => json!({"model": a, "prompt": b, "options": c, "format": d}),
                _ => json!({"contents": a, "generationConfig": {"temperature": b, "responseMimeType": c}, "model": d}),
            };
            let line = json!({"timestamp": "2025-03-01T10:00:00Z", "request": request, "response": response});
            let _ = parse(&line);
            let _ = parse(&json!({"request": line["request"], "response": line["response"].to_string()}));
            let _ = parse(&line["response"]);
        }

        /// LiteLLM's payload and Langfuse's observation with odd values in every field read.
        #[test]
        fn never_panics_on_gateway_and_tracer_records(a in odd(), b in odd(), c in odd(), d in odd(), langfuse: bool) {
            let line = if langfuse {
                json!({"id": a, "traceId": b, "type": "GENERATION", "startTime": "2025-03-01T10:00:00Z", "endTime": c,
                       "completionStartTime": d, "modelParameters": {"temperature": a, "response_format": b},
                       "input": c, "output": d, "usage": a, "usageDetails": {"input": b, "cache_read_input_tokens": c},
                       "level": "ERROR", "statusMessage": d, "metadata": a, "parentObservationId": c, "costDetails": d})
            } else {
                json!({"id": a, "trace_id": b, "call_type": c, "startTime": 1740823200, "endTime": d, "stream": true,
                       "completionStartTime": a, "status": "failure", "messages": b, "response": c,
                       "model_parameters": {"temperature": d}, "error_information": a, "metadata": {"requester_metadata": b},
                       "request_tags": c, "end_user": d, "prompt_tokens": a})
            };
            let _ = parse(&line);
        }
    }
}

fn litellm_payload() -> Value {
    json!({"id": "chatcmpl-2a4b", "trace_id": "0d2b6f4e-6a1c-4f4e-9e0b-2c8d7f1a3b5c", "call_type": "acompletion",
           "stream": true, "status": "success", "response_cost": 0.00042,
           "startTime": 1740823200.0, "endTime": 1740823201.25, "completionStartTime": 1740823200.3,
           "response_time": 1.25, "model": "gpt-4o-mini", "model_group": "fast", "model_id": "dep-1",
           "api_base": "https://api.openai.com/v1", "custom_llm_provider": "openai",
           "prompt_tokens": 21, "completion_tokens": 7, "total_tokens": 28, "cache_hit": false,
           "end_user": "", "request_tags": ["prod", "chat"],
           "metadata": {"user_api_key_hash": "88dc", "user_api_key_alias": "web", "user_api_key_user_id": "u-7",
                        "user_api_key_team_id": "t-1", "requester_metadata": {"session_id": "s-9", "page": "faq"}},
           "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is RAG?"}],
           "response": {"id": "chatcmpl-9x", "object": "chat.completion", "created": 1740823201, "model": "gpt-4o-mini-2024-07-18",
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": "Retrieval-augmented generation."}}],
                        "usage": {"prompt_tokens": 21, "completion_tokens": 7, "total_tokens": 28}},
           "model_parameters": {"temperature": 0.2, "response_format": {"type": "json_object"}, "max_tokens": 200},
           "error_str": null, "error_information": null,
           "hidden_params": {"model_id": "dep-1", "cache_key": null}})
}

#[test]
fn a_litellm_payload_maps_times_users_tags_and_the_answer() {
    let p = parse(&litellm_payload()).map_err(|e| e.to_string());
    assert_eq!(p.as_ref().map(|p| p.format), Ok(LineFormat::LiteLlm));
    let c = p.map(|p| p.call).unwrap_or_default();
    assert_eq!(c.start_time, utc("2025-03-01T10:00:00Z"));
    assert_eq!((c.latency_ms, c.ttft_ms), (Some(1250.0), Some(300.0)));
    assert_eq!(
        (c.model.as_deref(), c.provider.as_deref(), c.operation.as_deref()),
        (Some("gpt-4o-mini"), Some("openai"), Some("chat"))
    );
    assert_eq!(c.input_text, "What is RAG?");
    assert_eq!(c.output.as_deref(), Some("Retrieval-augmented generation."));
    assert_eq!((c.usage.input, c.usage.output, c.usage.total), (Some(21), Some(7), Some(28)));
    assert_eq!(c.trace_id, "0d2b6f4e6a1c4f4e9e0b2c8d7f1a3b5c");
    assert_eq!(c.request_id.as_deref(), Some("chatcmpl-9x"));
    assert_eq!(c.attributes.get("litellm_call_id"), Some(&json!("chatcmpl-2a4b")));
    assert_eq!(c.user_id.as_deref(), Some("u-7"), "the key's user when there is no end user");
    assert_eq!(c.session_id.as_deref(), Some("s-9"));
    assert_eq!(c.attributes.get("metadata.page"), Some(&json!("faq")));
    assert_eq!(c.attributes.get("metadata.user_api_key_alias"), Some(&json!("web")));
    assert_eq!(c.attributes.get("response_cost"), Some(&json!(0.00042)));
    assert_eq!(c.attributes.get("model_group"), Some(&json!("fast")));
    assert_eq!(c.tags, vec!["prod".to_string(), "chat".to_string()]);
    assert_eq!((c.temperature, c.json_mode), (Some(0.2), true));
    assert_eq!(c.params.get("max_tokens"), Some(&json!(200)));
    assert!(c.flags.iter().any(|f| f == checks::MALFORMED_JSON), "JSON asked, prose answered: {:?}", c.flags);
}

#[test]
fn a_failed_litellm_call_keeps_its_status_and_class() {
    let mut v = litellm_payload();
    v["status"] = json!("failure");
    v["stream"] = json!(false);
    v["end_user"] = json!("alice");
    v["response"] = json!({});
    v["completion_tokens"] = json!(0);
    v["error_str"] = json!("litellm.RateLimitError: Rate limit reached for gpt-4o-mini");
    v["error_information"] = json!({"error_code": "429", "error_class": "RateLimitError", "llm_provider": "openai"});
    let c = ok(v);
    assert_eq!(
        (c.status, c.status_code, c.error_kind.as_deref()),
        (CallStatus::Error, Some(429), Some("rate_limited"))
    );
    assert_eq!(c.attributes.get("upstream_error_type"), Some(&json!("RateLimitError")));
    assert_eq!(c.error_message.as_deref(), Some("litellm.RateLimitError: Rate limit reached for gpt-4o-mini"));
    assert_eq!((c.user_id.as_deref(), c.ttft_ms), (Some("alice"), None), "no TTFT for a call not streamed");
    assert_eq!(c.output.as_deref(), Some(""));

    let mut embed = litellm_payload();
    embed["call_type"] = json!("aembedding");
    embed["messages"] = json!(["some text"]);
    embed["response"] = json!({"object": "list", "data": [{"embedding": [0.1]}], "model": "text-embedding-3-small"});
    let c = ok(embed);
    assert_eq!(c.operation.as_deref(), Some("embedding"));
    assert_eq!(c.input_text, "some text");
    let e = err(json!({"call_type": "completion", "startTime": "yesterday", "messages": []}));
    assert!(e.starts_with("startTime: "), "{e}");
}

fn langfuse_generation() -> Value {
    json!({"id": "b7e1c2d3a4f50617", "traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "type": "GENERATION",
           "name": "chat", "startTime": "2025-03-01T10:00:00.000Z", "endTime": "2025-03-01T10:00:02.500Z",
           "completionStartTime": "2025-03-01T10:00:00.400Z", "model": "gpt-4o",
           "modelParameters": {"temperature": "0.7", "max_tokens": 256},
           "input": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hola"}],
           "output": {"role": "assistant", "content": "¡Hola! ¿Qué tal?"},
           "usage": {"input": 11, "output": 6, "total": 17, "unit": "TOKENS"},
           "usageDetails": {"input": 11, "output": 6, "total": 17, "cache_read_input_tokens": 4},
           "costDetails": {"input": 0.0000275, "output": 0.00006, "total": 0.0000875},
           "level": "DEFAULT", "statusMessage": null, "parentObservationId": "0123456789abcdef",
           "version": "v2", "environment": "production", "promptName": "greeter",
           "metadata": {"session_id": "s-1", "user_id": "u-1", "route": "/chat"},
           "calculatedTotalCost": 0.0000875, "latency": 2.5, "timeToFirstToken": 0.4})
}

#[test]
fn a_langfuse_generation_maps_ids_times_usage_and_metadata() {
    let p = parse(&langfuse_generation()).map_err(|e| e.to_string());
    assert_eq!(p.as_ref().map(|p| p.format), Ok(LineFormat::Langfuse));
    let c = p.map(|p| p.call).unwrap_or_default();
    assert_eq!((c.trace_id.as_str(), c.span_id.as_str()), ("4bf92f3577b34da6a3ce929d0e0e4736", "b7e1c2d3a4f50617"));
    assert_eq!(c.parent_span_id.as_deref(), Some("0123456789abcdef"));
    assert_eq!((c.start_time, c.latency_ms, c.ttft_ms), (utc("2025-03-01T10:00:00Z"), Some(2500.0), Some(400.0)));
    assert_eq!((c.model.as_deref(), c.temperature), (Some("gpt-4o"), Some(0.7)));
    assert_eq!(c.params.get("max_tokens"), Some(&json!(256)));
    assert_eq!((c.input_text.as_str(), c.output.as_deref()), ("Hola", Some("¡Hola! ¿Qué tal?")));
    assert_eq!((c.usage.input, c.usage.output, c.usage.total, c.usage.cached), (Some(11), Some(6), Some(17), Some(4)));
    assert_eq!((c.user_id.as_deref(), c.session_id.as_deref()), (Some("u-1"), Some("s-1")));
    assert_eq!(c.attributes.get("metadata.route"), Some(&json!("/chat")));
    assert_eq!(c.attributes.get("langfuse_cost"), Some(&json!(0.0000875)));
    assert_eq!(c.attributes.get("promptName"), Some(&json!("greeter")));
    assert_eq!(c.status, CallStatus::Ok);
}

/// Langfuse's integrations (LangChain, the OpenAI wrapper) set a trace's user, session and
/// tags through metadata keys, which stay in the observation's metadata.
#[test]
fn langfuse_metadata_keys_name_the_user_session_and_tags() {
    let mut v = langfuse_generation();
    v["metadata"] = json!({"langfuse_user_id": "u-9", "langfuse_session_id": "s-9",
                           "langfuse_tags": ["chat", "beta"], "route": "/chat"});
    let c = parse(&v).map(|p| p.call).unwrap_or_default();
    assert_eq!((c.user_id.as_deref(), c.session_id.as_deref()), (Some("u-9"), Some("s-9")));
    assert_eq!(c.tags, ["chat", "beta"]);
    assert_eq!(c.attributes.get("metadata.route"), Some(&json!("/chat")));
    assert!(!c.attributes.keys().any(|k| k.contains("langfuse_user_id")), "{:?}", c.attributes);
}

#[test]
fn langfuse_errors_other_ids_and_observations_that_are_no_calls() {
    let mut v = langfuse_generation();
    v["level"] = json!("ERROR");
    v["statusMessage"] = json!("Error code: 429 - Rate limit reached");
    v["output"] = Value::Null;
    v["id"] = json!("obs-1");
    v["traceId"] = json!("trace-abc");
    let c = ok(v);
    assert_eq!(
        (c.status, c.error_message.as_deref()),
        (CallStatus::Error, Some("Error code: 429 - Rate limit reached"))
    );
    assert_eq!(c.output.as_deref(), Some(""));
    assert_eq!(c.attributes.get("langfuse_traceId"), Some(&json!("trace-abc")), "kept, not a trace id");
    assert_eq!(c.trace_id.len(), 32, "derived from the line");

    let mut span = langfuse_generation();
    span["type"] = json!("SPAN");
    assert_eq!(err(span), "type: a Langfuse SPAN observation is not an LLM call (GENERATION and EMBEDDING ones are)");

    let mut choices = langfuse_generation();
    choices["output"] =
        json!({"choices": [{"message": {"role": "assistant", "content": "{\"a\": 1}"}, "finish_reason": "stop"}]});
    choices["modelParameters"] = json!({"response_format": {"type": "json_object"}});
    let c = ok(choices);
    assert_eq!(
        (c.output.as_deref(), c.finish_reason.as_deref(), c.json_mode),
        (Some("{\"a\": 1}"), Some("stop"), true)
    );
}
