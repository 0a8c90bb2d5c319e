//! Amazon Bedrock's model invocation log records, with bodies as Bedrock's documentation
//! and logs show them: Converse, ConverseStream, `InvokeModel` with Anthropic, Meta, Titan
//! and embedding bodies, failures.

use chrono::{DateTime, Utc};
use llmscope_core::{checks, CallStatus, SpanKind};
use serde_json::{json, Value};

use super::*;

fn parse(v: &Value) -> Result<ParsedLine, LineError> {
    parse_line(v.to_string().as_bytes(), "bedrock.jsonl", 7, &ImportOptions::default())
}

fn ok(v: Value) -> Call {
    match parse(&v) {
        Ok(p) => {
            assert_eq!(p.format, LineFormat::Bedrock, "{v}");
            p.call
        }
        Err(e) => panic!("line should parse: {e}\n{v}"),
    }
}

/// A record around `input` and `output` bodies.
fn record(operation: &str, model: &str, input: Value, output: Value) -> Value {
    json!({"schemaType": "ModelInvocationLog", "schemaVersion": "1.0", "timestamp": "2025-04-09T23:00:17Z",
           "accountId": "123456789012", "identity": {"arn": "arn:aws:sts::123456789012:assumed-role/chat-app/i-0abc"},
           "region": "us-east-1", "requestId": "915a6a04-3f83-4c70-a277-7fbf7ea546b3", "operation": operation,
           "modelId": model,
           "input": {"inputContentType": "application/json", "inputBodyJson": input, "inputTokenCount": 35},
           "output": {"outputContentType": "application/json", "outputBodyJson": output, "outputTokenCount": 446}})
}

fn converse() -> Value {
    record(
        "Converse",
        "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
        json!({"messages": [{"role": "user", "content": [{"text": "What is the weather in Paris?"}]}],
               "system": [{"text": "Be brief."}],
               "inferenceConfig": {"maxTokens": 512, "temperature": 0.3},
               "toolConfig": {"tools": [{"toolSpec": {"name": "weather", "inputSchema": {"json": {"type": "object"}}}}]}}),
        json!({"output": {"message": {"role": "assistant", "content": [
                   {"reasoningContent": {"reasoningText": {"text": "Need the tool."}}},
                   {"text": "Let me check."},
                   {"toolUse": {"toolUseId": "tooluse_1", "name": "weather", "input": {"city": "Paris"}}}]}},
               "stopReason": "tool_use", "metrics": {"latencyMs": 3640},
               "usage": {"inputTokens": 35, "outputTokens": 446, "totalTokens": 481}}),
    )
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc)).unwrap_or_default()
}

#[test]
fn a_converse_record_maps_its_envelope_request_and_answer() {
    let mut v = converse();
    v["input"]["cacheReadInputTokenCount"] = json!(100);
    v["input"]["cacheWriteInputTokenCount"] = json!(20);
    v["requestMetadata"] = json!({"user_id": "u-42", "session_id": "s-7", "feature": "chat",
                                  "traceId": "b956002a-fd01-47ba-9da7-07e4c9b1a6b6"});
    let c = ok(v);
    assert_eq!(c.start_time, utc("2025-04-09T23:00:17Z"));
    assert_eq!(c.model.as_deref(), Some("us.anthropic.claude-3-5-sonnet-20241022-v2:0"));
    assert_eq!(c.provider.as_deref(), Some("bedrock"));
    assert_eq!(c.request_id.as_deref(), Some("915a6a04-3f83-4c70-a277-7fbf7ea546b3"));
    assert_eq!(c.operation.as_deref(), Some("chat"));
    assert_eq!(c.input_text, "What is the weather in Paris?");
    // Converse's system blocks lead the input, as a system message.
    assert_eq!(c.input[0], json!({"role": "system", "content": [{"text": "Be brief."}]}));
    assert_eq!(c.input[1]["content"][0]["text"], json!("What is the weather in Paris?"));
    assert!(!c.params.contains_key("system"));
    assert_eq!(c.temperature, Some(0.3));
    assert_eq!(c.tools.as_ref().map(|t| t[0]["toolSpec"]["name"].clone()), Some(json!("weather")));
    assert_eq!(c.output.as_deref(), Some("Let me check."));
    assert_eq!(c.attributes.get("reasoning_content"), Some(&json!("Need the tool.")));
    let tc = c.tool_calls.clone().unwrap_or_default();
    assert_eq!(tc[0]["id"], json!("tooluse_1"));
    assert_eq!(tc[0]["function"]["name"], json!("weather"));
    assert_eq!(tc[0]["function"]["arguments"], json!(r#"{"city":"Paris"}"#));
    assert_eq!(c.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(c.attributes.get("stop_reason"), Some(&json!("tool_use")));
    assert_eq!(c.latency_ms, Some(3640.0));
    assert_eq!(c.end_time, Some(utc("2025-04-09T23:00:20.640Z")));
    // Bedrock's own counts: fresh input plus cache reads and writes; reads are cached.
    assert_eq!(
        (c.usage.input, c.usage.cached, c.usage.output, c.usage.total),
        (Some(155), Some(100), Some(446), Some(601))
    );
    assert_eq!(c.usage.cache_write, Some(20));
    assert_eq!((c.user_id.as_deref(), c.session_id.as_deref()), (Some("u-42"), Some("s-7")));
    assert_eq!(c.trace_id, "b956002afd0147ba9da707e4c9b1a6b6");
    assert_eq!(c.attributes.get("requestMetadata.feature"), Some(&json!("chat")));
    assert_eq!(
        c.attributes.get("identity_arn"),
        Some(&json!("arn:aws:sts::123456789012:assumed-role/chat-app/i-0abc"))
    );
    assert_eq!(c.attributes.get("region"), Some(&json!("us-east-1")));
    assert_eq!(c.attributes.get("bedrock_operation"), Some(&json!("Converse")));
    assert_eq!(c.status, CallStatus::Ok);
    assert!(!c.attributes.contains_key("schemaType"));
}

#[test]
fn a_converse_stream_is_joined_from_its_events() {
    let events = json!([
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"delta": {"text": "Bonjour"}, "contentBlockIndex": 0}},
        {"contentBlockDelta": {"delta": {"text": " !"}, "contentBlockIndex": 0}},
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"contentBlockStart": {"start": {"toolUse": {"toolUseId": "t2", "name": "lookup"}}, "contentBlockIndex": 1}},
        {"contentBlockDelta": {"delta": {"toolUse": {"input": "{\"q\": "}}, "contentBlockIndex": 1}},
        {"contentBlockDelta": {"delta": {"toolUse": {"input": "\"x\"}"}}, "contentBlockIndex": 1}},
        {"messageStop": {"stopReason": "max_tokens"}},
        {"metadata": {"usage": {"inputTokens": 9, "outputTokens": 4, "totalTokens": 13}, "metrics": {"latencyMs": 812}}}
    ]);
    let mut v = record(
        "ConverseStream",
        "amazon.nova-lite-v1:0",
        json!({"messages": [{"role": "user", "content": [{"text": "Say hello in French"}]}]}),
        events,
    );
    v["input"].as_object_mut().map(|i| i.remove("inputTokenCount"));
    v["output"].as_object_mut().map(|o| o.remove("outputTokenCount"));
    let c = ok(v);
    assert_eq!(c.output.as_deref(), Some("Bonjour !"));
    assert_eq!(c.tool_calls.as_ref().map(|t| t[0]["function"]["arguments"].clone()), Some(json!(r#"{"q":"x"}"#)));
    assert_eq!(c.finish_reason.as_deref(), Some("length"));
    assert_eq!(c.latency_ms, Some(812.0));
    assert_eq!((c.usage.input, c.usage.output), (Some(9), Some(4)), "the body's counts when the record has none");
    assert_eq!(c.params.get("stream"), Some(&json!(true)));
    assert!(c.flags.contains(&checks::TRUNCATED.to_string()), "{:?}", c.flags);

    // A stream cut by an exception event is a failed call, with the exception's status.
    let failed = record(
        "ConverseStream",
        "amazon.nova-lite-v1:0",
        json!({"messages": []}),
        json!([
            {"messageStart": {"role": "assistant"}},
            {"contentBlockDelta": {"delta": {"text": "Bon"}, "contentBlockIndex": 0}},
            {"throttlingException": {"message": "Too many requests, please wait before trying again."}}
        ]),
    );
    let c = ok(failed);
    assert_eq!(c.status, CallStatus::Error);
    assert_eq!(c.status_code, Some(429));
    assert_eq!(c.error_kind.as_deref(), Some("rate_limited"), "the kind its status names");
    assert_eq!(c.attributes.get("upstream_error_type"), Some(&json!("throttlingException")));
    assert_eq!(c.error_message.as_deref(), Some("Too many requests, please wait before trying again."));
}

#[test]
fn invoke_model_bodies_are_read_in_their_vendors_shapes() {
    // Anthropic's Messages body: the answer's id is kept apart from Bedrock's request id.
    let c = ok(record(
        "InvokeModel",
        "anthropic.claude-3-haiku-20240307-v1:0",
        json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200, "temperature": 0.1,
               "messages": [{"role": "user", "content": [{"type": "text", "text": "Summarise this."}]}]}),
        json!({"id": "msg_bdrk_01", "type": "message", "role": "assistant", "model": "claude-3-haiku-20240307",
               "content": [{"type": "text", "text": "A summary."}], "stop_reason": "end_turn",
               "usage": {"input_tokens": 30, "output_tokens": 4}}),
    ));
    assert_eq!((c.input_text.as_str(), c.output.as_deref()), ("Summarise this.", Some("A summary.")));
    assert_eq!(c.request_id.as_deref(), Some("915a6a04-3f83-4c70-a277-7fbf7ea546b3"));
    assert_eq!(c.attributes.get("response_id"), Some(&json!("msg_bdrk_01")));
    assert_eq!(c.model.as_deref(), Some("anthropic.claude-3-haiku-20240307-v1:0"));
    assert_eq!(c.provider.as_deref(), Some("bedrock"));
    assert_eq!((c.temperature, c.finish_reason.as_deref()), (Some(0.1), Some("stop")));
    assert_eq!((c.usage.input, c.usage.output), (Some(35), Some(446)), "Bedrock's counts win over the body's");

    // Meta's Llama.
    let c = ok(record(
        "InvokeModel",
        "meta.llama3-8b-instruct-v1:0",
        json!({"prompt": "<|begin_of_text|>Hi", "max_gen_len": 64, "temperature": 0.5}),
        json!({"generation": "Hello there.", "prompt_token_count": 5, "generation_token_count": 3, "stop_reason": "length"}),
    ));
    assert_eq!((c.operation.as_deref(), c.output.as_deref()), (Some("completion"), Some("Hello there.")));
    assert_eq!((c.finish_reason.as_deref(), c.temperature), (Some("length"), Some(0.5)));

    // Amazon Titan Text, and Titan embeddings.
    let c = ok(record(
        "InvokeModel",
        "amazon.titan-text-express-v1",
        json!({"inputText": "Name a colour.", "textGenerationConfig": {"temperature": 0.7, "maxTokenCount": 50}}),
        json!({"inputTextTokenCount": 4, "results": [{"tokenCount": 1, "outputText": "Blue.", "completionReason": "FINISH"}]}),
    ));
    assert_eq!((c.input_text.as_str(), c.output.as_deref()), ("Name a colour.", Some("Blue.")));
    assert_eq!((c.temperature, c.finish_reason.as_deref()), (Some(0.7), Some("stop")));
    let c = ok(record(
        "InvokeModel",
        "amazon.titan-embed-text-v2:0",
        json!({"inputText": "embed me"}),
        json!({"embedding": [0.1, 0.2], "inputTextTokenCount": 3}),
    ));
    assert_eq!(
        (c.span_kind, c.operation.as_deref(), c.output.as_deref()),
        (SpanKind::Embedding, Some("embedding"), None)
    );
    assert!(!c.flags.contains(&checks::EMPTY_RESPONSE.to_string()), "{:?}", c.flags);

    // A body of no shape llmscope reads: the call is kept, the body as an attribute.
    let c = ok(record("InvokeModel", "stability.sd3-large-v1:0", json!({"prompt": "a cat"}), json!({"images": ["…"]})));
    assert_eq!(c.output, None);
    assert_eq!(c.attributes.get("output_body"), Some(&json!({"images": ["…"]})));
    assert_eq!(c.usage.output, Some(446));
}

#[test]
fn other_vendors_answers_and_answers_of_no_known_shape() {
    let answer = |model: &str, body: Value| ok(record("InvokeModel", model, json!({"prompt": "p"}), body));
    let c = answer("mistral.mistral-7b-instruct-v0:2", json!({"outputs": [{"text": "Oui.", "stop_reason": "stop"}]}));
    assert_eq!((c.output.as_deref(), c.finish_reason.as_deref()), (Some("Oui."), Some("stop")));
    let c =
        answer("cohere.command-text-v14", json!({"generations": [{"text": "Yes.", "finish_reason": "MAX_TOKENS"}]}));
    assert_eq!((c.output.as_deref(), c.finish_reason.as_deref()), (Some("Yes."), Some("length")));
    let c = answer("anthropic.claude-v2", json!({"completion": " Sure.", "stop_reason": "stop_sequence"}));
    assert_eq!((c.output.as_deref(), c.finish_reason.as_deref()), (Some(" Sure."), Some("stop")));
    // An AI21 answer has an `id`, a rerank `results` without text, a body a `message`: none is
    // read as an OpenAI answer or a Titan one; each is kept whole and the call is not failed.
    for body in [
        json!({"id": 1234, "prompt": {"text": "p"}, "completions": [{"data": {"text": "Hi"}}]}),
        json!({"results": [{"index": 0, "relevance_score": 0.9}]}),
        json!({"message": "a status note", "output": ["not", "an", "object"]}),
    ] {
        let c = answer("ai21.j2-mid-v1", body.clone());
        assert_eq!((c.output.as_deref(), c.status), (None, CallStatus::Ok), "{body}");
        assert_eq!(c.attributes.get("output_body"), Some(&body));
    }
}

#[test]
fn caller_metadata_is_read_leniently_and_counts_stay_consistent() {
    // `requestMetadata` is the caller's free-form strings: odd values are kept, never refused.
    let mut v = converse();
    v["requestMetadata"] = json!({"trace_id": "not-hex", "temperature": "warm", "error": "false",
                                  "input_tokens": "many", "userId": "u-9"});
    let c = ok(v);
    assert_eq!((c.status, c.user_id.as_deref(), c.temperature), (CallStatus::Ok, Some("u-9"), Some(0.3)));
    assert_eq!(c.attributes.get("requestMetadata.error"), Some(&json!("false")));
    assert_eq!(c.attributes.get("requestMetadata.trace_id"), Some(&json!("not-hex")));
    assert_eq!(c.usage.input, Some(35), "Bedrock's count, not the caller's tag");

    // The record counts the fresh input; the body's cache reads and writes are added to it.
    let mut v = converse();
    v["output"]["outputBodyJson"]["usage"] =
        json!({"inputTokens": 35, "cacheReadInputTokens": 500, "cacheWriteInputTokens": 65, "outputTokens": 446});
    let c = ok(v.clone());
    assert_eq!((c.usage.input, c.usage.cached, c.usage.cache_write), (Some(600), Some(500), Some(65)));
    assert!(!c.attributes.keys().any(|k| k.starts_with("input.cache")), "{:?}", c.attributes);
    // The record's own cache counts win.
    v["input"]["cacheReadInputTokenCount"] = json!(0);
    let c = ok(v);
    assert_eq!((c.usage.input, c.usage.cached, c.usage.cache_write), (Some(100), Some(0), Some(65)));

    // A streamed tool call with no input pieces has `{}` for arguments, as a whole one would.
    let c = ok(record(
        "ConverseStream",
        "amazon.nova-pro-v1:0",
        json!({"messages": []}),
        json!([
            {"contentBlockStart": {"start": {"toolUse": {"toolUseId": "t", "name": "now"}}, "contentBlockIndex": 0}},
            {"messageStop": {"stopReason": "tool_use"}}
        ]),
    ));
    assert_eq!(c.tool_calls.as_ref().map(|t| t[0]["function"]["arguments"].clone()), Some(json!("{}")));
    assert!(!c.flags.contains(&checks::INVALID_TOOL_ARGS.to_string()), "{:?}", c.flags);

    // Titan's prompt is the input, not a parameter as well.
    let c = ok(record("InvokeModel", "amazon.titan-text-lite-v1", json!({"inputText": "Hi"}), json!({"results": []})));
    assert_eq!((c.input_text.as_str(), c.params.get("inputText")), ("Hi", None));
}

#[test]
fn failed_and_large_invocations() {
    let mut v = converse();
    v.as_object_mut().map(|m| m.remove("output"));
    v["errorCode"] = json!("ThrottlingException");
    let c = ok(v);
    assert_eq!(c.status, CallStatus::Error);
    assert_eq!((c.status_code, c.error_kind.as_deref()), (Some(429), Some("rate_limited")));
    assert_eq!(c.attributes.get("upstream_error_type"), Some(&json!("ThrottlingException")));
    assert_eq!(c.error_message.as_deref(), Some("ThrottlingException"));
    assert_eq!(c.output.as_deref(), Some(""));

    let mut v = converse();
    v["errorCode"] = json!("ValidationException");
    v["errorMessage"] = json!("Malformed input request");
    let c = ok(v);
    assert_eq!((c.status_code, c.error_message.as_deref()), (Some(400), Some("Malformed input request")));

    // A body too large for the log is delivered to S3: its path is kept.
    let mut v = converse();
    v["input"] = json!({"inputContentType": "application/json", "inputTokenCount": 120000,
                        "inputBodyS3Path": "s3://logs/AWSLogs/123/BedrockModelInvocationLogs/data/input.json.gz"});
    let c = ok(v);
    assert_eq!(c.usage.input, Some(120000));
    assert_eq!(
        c.attributes.get("input.inputBodyS3Path"),
        Some(&json!("s3://logs/AWSLogs/123/BedrockModelInvocationLogs/data/input.json.gz"))
    );

    // Without its time, a record is rejected saying so; a body of the wrong type too.
    let mut v = converse();
    v.as_object_mut().map(|m| m.remove("timestamp"));
    assert_eq!(
        parse(&v).map(|p| p.call.id).map_err(|e| e.to_string()),
        Err("timestamp: missing required field".into())
    );
    let mut v = converse();
    v["input"]["inputBodyJson"]["inferenceConfig"]["temperature"] = json!("hot");
    assert_eq!(
        parse(&v).map(|p| p.call.id).map_err(|e| e.to_string()),
        Err("input.inputBodyJson.inferenceConfig.temperature: expected a number, found the string \"hot\"".into())
    );
}

#[test]
fn detection_needs_the_records_own_keys() {
    let without_schema = {
        let mut v = converse();
        v.as_object_mut().map(|m| m.remove("schemaType"));
        v
    };
    assert_eq!(parse(&without_schema).map(|p| p.format), Ok(LineFormat::Bedrock));
    // A Langfuse observation names a `modelId`, llmscope's own record an `operation`: each
    // alone is no Bedrock record.
    let langfuse = json!({"id": "o", "traceId": "t", "type": "GENERATION", "startTime": "2025-03-01T10:00:00Z",
                          "modelId": "m1", "model": "gpt-4o-mini", "input": "a", "output": {"x": 1}});
    assert_eq!(parse(&langfuse).map(|p| p.format), Ok(LineFormat::Langfuse));
    let seedish = json!({"timestamp": 1736121605, "request_id": "r", "operation": "chat", "input": {"inputTokenCount": 3},
                         "output": "b", "metadata": {}});
    assert_eq!(seedish.as_object().and_then(detect), Some(LineFormat::Seed001));
}

mod props {
    use proptest::prelude::*;

    use super::*;

    fn odd() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(json!(null)),
            Just(json!("")),
            Just(json!("{\"output\": 1}")),
            Just(json!(-1)),
            Just(json!(u64::MAX)),
            Just(json!([1, "a", null, {}])),
            Just(json!([{"contentBlockDelta": {"delta": 3}}, {"metadata": []}, {"xException": 1}])),
            Just(json!({"output": {"message": {"content": [1, {"text": 2}, {"toolUse": []}]}}, "usage": "x"})),
            Just(json!({"results": [1], "generations": {}, "outputs": null})),
            Just(json!("2023-12-12T14:13:43Z")),
        ]
    }

    proptest! {
        /// Odd values anywhere a record is read never make the mapper panic.
        #[test]
        fn never_panics_on_odd_records(a in odd(), b in odd(), c in odd(), d in odd(), e in odd()) {
            let line = json!({"schemaType": "ModelInvocationLog", "timestamp": "2025-04-09T23:00:17Z",
                              "operation": a, "modelId": b, "errorCode": c, "status": d, "requestMetadata": e,
                              "input": {"inputBodyJson": {"messages": a, "inferenceConfig": b, "toolConfig": c,
                                                          "inputText": d, "texts": e},
                                        "inputTokenCount": c, "cacheReadInputTokenCount": d},
                              "output": {"outputBodyJson": e, "outputTokenCount": a}});
            let _ = parse(&line);
            let _ = parse(&json!({"schemaType": "ModelInvocationLog", "timestamp": "2025-04-09T23:00:17Z",
                                  "input": a, "output": {"outputBodyJson": b}, "identity": c}));
        }
    }
}
