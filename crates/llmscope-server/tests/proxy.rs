//! The proxy end to end: real mock upstream, real server, real DuckDB store, real HTTP.

mod common;

use std::time::Duration;

use common::{header, sse_data, start};
use http_body_util::BodyExt;
use llmscope_core::{CallStatus, Origin};
use llmscope_mock::MockConfig;
use serde_json::{json, Value};

fn chat(extra: Value) -> String {
    let mut body = json!({"model": "mock-gpt-4o", "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is the capital of France?"}]});
    if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), extra) {
        b.extend(extra);
    }
    body.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_call_is_forwarded_unchanged_and_recorded_field_by_field() {
    let fx = start(MockConfig::default(), |_| {}).await;
    let headers = [
        ("x-llmscope-user-id", "alice"),
        ("x-llmscope-session-id", "sess-1"),
        ("x-llmscope-client-request-id", "client-42"),
        ("x-llmscope-tags", "prod, rag"),
        ("x-llmscope-property-tenant", "acme"),
        ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    ];
    let body = chat(json!({"temperature": 0.2, "max_tokens": 300, "user": "body-user"}));
    let (status, h, text) = fx.post("/v1/chat/completions", &headers, &body).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(header(&h, "x-llmscope-trace-id"), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert!(header(&h, "x-llmscope-overhead-ms").parse::<f64>().is_ok());
    let resp: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(resp["object"], "chat.completion");

    let c = fx.call(header(&h, "x-llmscope-call-id")).await;
    assert_eq!(c.origin, Origin::Proxy);
    assert_eq!(c.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(c.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
    assert_eq!(c.span_id.len(), 16);
    assert_eq!(c.model.as_deref(), Some("mock-gpt-4o"));
    assert_eq!(c.provider.as_deref(), Some("mock"));
    assert_eq!(c.operation.as_deref(), Some("chat"));
    assert_eq!(c.input_text, "What is the capital of France?");
    assert_eq!(c.input.as_array().map(Vec::len), Some(2));
    assert_eq!(c.output.as_deref(), resp.pointer("/choices/0/message/content").and_then(Value::as_str));
    assert_eq!(c.finish_reason.as_deref(), Some("stop"));
    assert_eq!(c.request_id.as_deref(), resp["id"].as_str());
    assert_eq!(c.usage.input, resp.pointer("/usage/prompt_tokens").and_then(Value::as_u64));
    assert_eq!(c.usage.output, resp.pointer("/usage/completion_tokens").and_then(Value::as_u64));
    assert_eq!(c.usage.total, resp.pointer("/usage/total_tokens").and_then(Value::as_u64));
    assert!(!c.usage.counted);
    assert_eq!(c.status, CallStatus::Ok);
    assert_eq!(c.status_code, Some(200));
    assert_eq!(c.user_id.as_deref(), Some("alice"), "the header wins over the body's user");
    assert_eq!(c.session_id.as_deref(), Some("sess-1"));
    assert_eq!(c.client_request_id.as_deref(), Some("client-42"));
    assert_eq!(c.tags, vec!["prod", "rag"]);
    assert_eq!(c.attributes["property.tenant"], "acme");
    assert_eq!(c.temperature, Some(0.2));
    assert_eq!(c.params["max_tokens"], 300);
    assert!(c.latency_ms.is_some_and(|l| l > 0.0));
    assert!(c.end_time.is_some_and(|e| e >= c.start_time));
    assert!(c.flags.is_empty(), "{:?}", c.flags);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_reaches_the_client_as_sent_and_is_joined_for_the_record() {
    let fx = start(MockConfig { ttft_ms: 60, tokens_per_s: 500.0, ..MockConfig::default() }, |_| {}).await;
    let (status, h, text) =
        fx.post("/v1/chat/completions", &[("x-llmscope-user-id", "bob")], &chat(json!({"stream": true}))).await;
    assert_eq!(status, 200);
    assert!(header(&h, "content-type").starts_with("text/event-stream"));
    let data = sse_data(&text);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    // llmscope asked the upstream for usage; the caller did not, so sees none of it.
    assert!(!text.contains("\"usage\""), "usage leaked to the caller:\n{text}");
    let call_id = header(&h, "x-llmscope-call-id").to_string();
    assert!(text.ends_with(&format!("call_id={call_id}\n\n")), "trailer comment missing:\n{text}");
    let mut joined = String::new();
    for d in &data[..data.len() - 1] {
        let v: Value = serde_json::from_str(d).expect("chunk json");
        if let Some(s) = v.pointer("/choices/0/delta/content").and_then(Value::as_str) {
            joined.push_str(s);
        }
    }
    let c = fx.call(&call_id).await;
    assert_eq!(c.output.as_deref(), Some(joined.as_str()));
    assert_eq!(c.attributes["stream"], true);
    assert!(c.usage.output.is_some_and(|n| n > 0) && !c.usage.counted, "{:?}", c.usage);
    let (ttft, latency) = (c.ttft_ms.expect("ttft"), c.latency_ms.expect("latency"));
    assert!(ttft >= 60.0 && ttft <= latency, "ttft {ttft} latency {latency}");
    assert_eq!(c.finish_reason.as_deref(), Some("stop"));
    assert_eq!(c.params["stream"], true);
    assert!(c.params.get("stream_options").is_none(), "the caller's request is recorded, not the rewritten one");

    // A caller that asks for usage gets the usage chunk, untouched.
    let (_, _, text) = fx
        .post("/v1/chat/completions", &[], &chat(json!({"stream": true, "stream_options": {"include_usage": true}})))
        .await;
    let data = sse_data(&text);
    let usage_chunk: Value = serde_json::from_str(&data[data.len() - 2]).expect("usage chunk");
    assert!(usage_chunk["usage"]["total_tokens"].as_u64().is_some(), "{text}");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_tool_calls_json_mode_and_counted_usage() {
    let fx = start(MockConfig { usage: false, ttft_ms: 5, tokens_per_s: 0.0, ..MockConfig::default() }, |_| {}).await;
    let tools = json!([{"type": "function", "function": {"name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}}}]);
    let (_, h, text) = fx.post("/v1/chat/completions", &[], &chat(json!({"stream": true, "tools": tools}))).await;
    assert!(text.contains("tool_calls"));
    let c = fx.call(header(&h, "x-llmscope-call-id")).await;
    let calls = c.tool_calls.as_ref().and_then(Value::as_array).expect("tool calls recorded");
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    let args: Value =
        serde_json::from_str(calls[0]["function"]["arguments"].as_str().expect("args")).expect("args json");
    assert_eq!(args, json!({"city": "example", "days": 1}));
    assert_eq!(c.finish_reason.as_deref(), Some("tool_calls"));
    assert!(c.flags.is_empty(), "a tool call is not an empty response: {:?}", c.flags);
    assert!(c.tools.is_some());
    // The upstream reported no usage: counted, and marked so.
    assert!(c.usage.counted);
    assert!(c.usage.input.is_some_and(|n| n > 5) && c.usage.output.is_some_and(|n| n > 0), "{:?}", c.usage);

    let json_mode = json!({"response_format": {"type": "json_object"}});
    let (_, h, _) = fx.post("/v1/chat/completions", &[], &chat(json_mode.clone())).await;
    let good = fx.call(header(&h, "x-llmscope-call-id")).await;
    assert!(good.json_mode && good.flags.is_empty(), "{:?}", good.flags);
    let (_, h, _) = fx.post("/v1/chat/completions", &[("x-mock-fault", "bad-json")], &chat(json_mode)).await;
    let bad = fx.call(header(&h, "x-llmscope-call-id")).await;
    assert_eq!(bad.flags, vec!["malformed_json"]);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_errors_pass_through_and_are_recorded_with_their_kind() {
    let fx = start(MockConfig::default(), |_| {}).await;
    let (status, h, text) = fx.post("/v1/chat/completions", &[("x-mock-fault", "status=429")], &chat(json!({}))).await;
    assert_eq!(status, 429);
    assert_eq!(header(&h, "retry-after"), "1");
    let err: Value = serde_json::from_str(&text).expect("json");
    let c = fx.call(header(&h, "x-llmscope-call-id")).await;
    assert_eq!(c.status, CallStatus::Error);
    assert_eq!(c.status_code, Some(429));
    assert_eq!(c.error_kind.as_deref(), Some("rate_limited"));
    assert_eq!(c.error_message.as_deref(), err.pointer("/error/message").and_then(Value::as_str));
    // Rejected calls are not billed: no tokens counted for them.
    assert_eq!((c.usage.input, c.usage.output, c.usage.counted), (None, None, false), "{:?}", c.usage);

    let (status, h, _) = fx.post("/v1/chat/completions", &[("x-mock-fault", "status=503")], &chat(json!({}))).await;
    assert_eq!(status, 503);
    let c = fx.call(header(&h, "x-llmscope-call-id")).await;
    assert_eq!(c.error_kind.as_deref(), Some("upstream_5xx"));
    assert_eq!((c.usage.input, c.usage.counted), (None, false));

    // A stream cut mid-way: the caller gets an OpenAI-shaped error event, the record keeps the partial output.
    let (status, h, text) =
        fx.post("/v1/chat/completions", &[("x-mock-fault", "cut=3")], &chat(json!({"stream": true}))).await;
    assert_eq!(status, 200);
    let last: Value = serde_json::from_str(sse_data(&text).last().expect("events")).expect("json");
    assert_eq!(last["error"]["code"], "upstream_cut", "{text}");
    let c = fx.call(header(&h, "x-llmscope-call-id")).await;
    assert_eq!(c.error_kind.as_deref(), Some("upstream_cut"));
    assert_eq!(c.status, CallStatus::Error);
    assert!(c.output.as_deref().is_some_and(|o| !o.is_empty()), "partial output kept: {:?}", c.output);
    fx.stop().await;
}

async fn get(fx: &common::Fixture, path: &str) -> (u16, hyper::HeaderMap, Value) {
    let resp = fx.client.get(fx.url(path).parse().expect("uri")).await.expect("get");
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, headers, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn model_ids(v: &Value) -> Vec<&str> {
    let mut ids: Vec<&str> =
        v["data"].as_array().map(|d| d.iter().filter_map(|m| m["id"].as_str()).collect()).unwrap_or_default();
    ids.sort_unstable();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_list_merges_the_upstreams_as_requests_are_routed() {
    // A second upstream listing a model of its own and one the first upstream is routed.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let other = listener.local_addr().expect("addr");
    let (stop_other, stopped) = tokio::sync::oneshot::channel::<()>();
    let models = vec!["llama3".to_string(), "mock-gpt-4o".to_string()];
    tokio::spawn(llmscope_mock::serve(listener, MockConfig { models, ..MockConfig::default() }, async {
        let _ = stopped.await;
    }));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead = closed.local_addr().expect("addr");
    drop(closed);
    let fx = start(MockConfig::default(), |cfg| {
        cfg.upstreams[0].models = vec!["mock-gpt-4o*".into()];
        let mut down = llmscope_server::Upstream::new("down", &format!("http://{dead}/v1"));
        down.models = vec!["down-*".into()];
        cfg.upstreams.push(down);
        cfg.upstreams.push(llmscope_server::Upstream::new("other", &format!("http://{other}/v1")));
    })
    .await;
    let (status, h, v) = get(&fx, "/v1/models").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["object"], "list");
    // The first upstream's gpt-4o models; its qwen model would be routed to `other`, which
    // does not list it; `other`'s mock-gpt-4o is routed to the first upstream, listed once.
    assert_eq!(model_ids(&v), ["llama3", "mock-gpt-4o", "mock-gpt-4o-mini"], "{v}");
    assert_eq!(header(&h, "x-llmscope-upstreams-failed"), "down");
    assert_eq!(header(&h, "content-type"), "application/json");

    // One model at a time goes where a request naming it would.
    let (status, _, v) = get(&fx, "/v1/models/llama3").await;
    assert_eq!((status, v["id"].as_str()), (200, Some("llama3")), "{v}");
    let (status, _, v) = get(&fx, "/v1/models/mock-gpt-4o-mini").await;
    assert_eq!((status, v["id"].as_str()), (200, Some("mock-gpt-4o-mini")), "{v}");
    let (status, _, v) = get(&fx, "/v1/models/mock-qwen2.5-7b").await;
    assert_eq!(status, 404, "routed to `other`, which does not serve it: {v}");
    // Ids come percent-encoded from the OpenAI SDKs (`meta-llama%2FLlama-3-8B`).
    let (status, _, v) = get(&fx, "/v1/models/mock%2Dgpt%2D4o%2Dmini").await;
    assert_eq!((status, v["id"].as_str()), (200, Some("mock-gpt-4o-mini")), "routed as decoded: {v}");
    // HEAD answers as GET does.
    let head = hyper::Request::head(fx.url("/v1/models")).body(http_body_util::Full::new(bytes::Bytes::new()));
    let resp = fx.client.request(head.expect("request")).await.expect("head");
    assert_eq!(resp.status(), 200);
    assert_eq!(header(resp.headers(), "x-llmscope-upstreams-failed"), "down");
    assert_eq!(fx.calls().await.len(), 0, "listings are not calls");

    // When every upstream refuses, the first one's answer is passed on.
    let _ = stop_other.send(());
    fx.stop().await;
    let fx = start(MockConfig { api_key: Some("sk-right".into()), ..MockConfig::default() }, |cfg| {
        cfg.upstreams.push(llmscope_server::Upstream::new("down", &format!("http://{dead}/v1")));
        cfg.upstreams[0].models = vec!["mock-*".into()];
    })
    .await;
    let (status, h, v) = get(&fx, "/v1/models").await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(header(&h, "x-llmscope-upstreams-failed"), "mock, down");
    assert!(v["error"]["message"].is_string(), "{v}");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_upstream_and_timeouts_give_openai_errors() {
    // Nothing listens on the upstream port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead = closed.local_addr().expect("addr");
    drop(closed);
    let fx = start(MockConfig::default(), |cfg| {
        cfg.upstreams[0].models = vec!["mock-*".into()];
        cfg.upstreams.push(llmscope_server::Upstream::new("dead", &format!("http://{dead}/v1")));
        cfg.timeouts.first_byte = Duration::from_millis(300);
        cfg.timeouts.total = Duration::from_millis(1500);
    })
    .await;
    let (status, h, text) = fx
        .post(
            "/v1/chat/completions",
            &[],
            &json!({"model": "other", "messages": [{"role": "user", "content": "x"}]}).to_string(),
        )
        .await;
    assert_eq!(status, 502, "{text}");
    let err: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(err["error"]["code"], "upstream_unreachable");
    let c = fx.call(header(&h, "x-llmscope-call-id")).await;
    assert_eq!(c.error_kind.as_deref(), Some("upstream_unreachable"));
    assert_eq!(c.provider.as_deref(), Some("dead"));

    let (status, h, text) =
        fx.post("/v1/chat/completions", &[("x-mock-fault", "first-byte-ms=3000")], &chat(json!({}))).await;
    assert_eq!(status, 504, "{text}");
    assert_eq!(fx.call(header(&h, "x-llmscope-call-id")).await.error_kind.as_deref(), Some("first_byte_timeout"));
    // The 300 ms spent waiting for the upstream are not llmscope's overhead.
    let overhead: f64 = header(&h, "x-llmscope-overhead-ms").parse().expect("a number");
    assert!(overhead < 300.0, "overhead {overhead} ms includes the upstream's wait");

    // A stream slower than the total timeout ends with an error event and keeps what came.
    let slow = [("x-mock-tokens-per-s", "10"), ("x-mock-output-tokens", "100"), ("x-mock-ttft-ms", "10")];
    let (_, h, text) = fx.post("/v1/chat/completions", &slow, &chat(json!({"stream": true}))).await;
    let last: Value = serde_json::from_str(sse_data(&text).last().expect("events")).expect("json");
    assert_eq!(last["error"]["code"], "upstream_timeout");
    let c = fx.call(header(&h, "x-llmscope-call-id")).await;
    assert_eq!(c.error_kind.as_deref(), Some("total_timeout"));
    assert!(c.output.as_deref().is_some_and(|o| !o.is_empty()));
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_leaves_mid_stream_cancels_the_upstream_request() {
    let fx = start(MockConfig { ttft_ms: 10, tokens_per_s: 20.0, output_tokens: 200, ..MockConfig::default() }, |_| {})
        .await;
    let resp = fx.send("/v1/chat/completions", &[], &chat(json!({"stream": true}))).await;
    let call_id = header(resp.headers(), "x-llmscope-call-id").to_string();
    let mut body = resp.into_body();
    let mut got = 0;
    while got < 3 {
        match body.frame().await {
            Some(Ok(f)) if f.is_data() => got += 1,
            Some(Ok(_)) => {}
            other => panic!("stream ended early: {other:?}"),
        }
    }
    drop(body);
    let mut cancelled = 0;
    for _ in 0..100 {
        cancelled = fx.mock_stats().await["cancelled"].as_u64().unwrap_or(0);
        if cancelled > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(cancelled, 1, "the upstream request was not cancelled");
    let mut call = None;
    for _ in 0..100 {
        call = fx.calls().await.into_iter().find(|c| c.id == call_id);
        if call.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let c = call.expect("cancelled call recorded");
    assert_eq!(c.status, CallStatus::Cancelled);
    assert_eq!(c.error_kind.as_deref(), Some("client_disconnected"));
    assert!(c.output.as_deref().is_some_and(|o| !o.is_empty()), "what had arrived is kept");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_requests_get_a_clear_4xx() {
    let fx = start(MockConfig::default(), |cfg| {
        cfg.max_body_bytes = 2048;
        cfg.upstreams[0].models = vec!["mock-*".into()];
    })
    .await;
    let cases = [
        ("{\"model\": \"mock-gpt-4o\", ", 400, "invalid_json"),
        ("[1, 2]", 400, "invalid_json"),
        ("{\"model\": 5, \"messages\": []}", 400, "invalid_json"),
        ("{\"model\": \"gpt-unknown\", \"messages\": []}", 404, "model_not_found"),
    ];
    let mut unrouted = String::new();
    for (body, want, code) in cases {
        let (status, h, text) = fx.post("/v1/chat/completions", &[], body).await;
        assert_eq!(status, want, "{body} → {text}");
        let err: Value = serde_json::from_str(&text).expect("OpenAI-shaped error");
        assert_eq!(err["error"]["code"], code, "{text}");
        assert!(err["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
        if code == "model_not_found" {
            unrouted = header(&h, "x-llmscope-call-id").to_string();
        }
    }
    let big = chat(json!({"padding": "x".repeat(4096)}));
    let (status, _, text) = fx.post("/v1/chat/completions", &[], &big).await;
    assert_eq!(status, 413, "{text}");
    let (status, _, text) =
        fx.post("/v1/chat/completions", &[("x-llmscope-trace-id", "garbage")], &chat(json!({}))).await;
    assert_eq!(status, 400);
    assert!(text.contains("x-llmscope-trace-id"), "{text}");
    // Malformed requests reach neither the upstream nor the store; a well-formed call for a
    // model no upstream serves is recorded, so its callers show in the report.
    let calls = fx.calls().await;
    assert_eq!(calls.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), vec![unrouted.as_str()]);
    let c = &calls[0];
    assert_eq!(
        (c.model.as_deref(), c.status_code, c.error_kind.as_deref()),
        (Some("gpt-unknown"), Some(404), Some("model_not_found"))
    );
    assert_eq!(fx.mock_stats().await["requests"], 0);
    // An unreadable traceparent is ignored (W3C Trace Context): the call goes through on a trace of its own.
    let (status, h, _) = fx.post("/v1/chat/completions", &[("traceparent", "garbage")], &chat(json!({}))).await;
    assert_eq!(status, 200);
    let c = fx.call(header(&h, "x-llmscope-call-id")).await;
    assert_eq!((c.trace_id.len(), c.parent_span_id), (32, None));
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_embeddings_and_models_pass_through() {
    let fx = start(MockConfig { ttft_ms: 1, ..MockConfig::default() }, |_| {}).await;
    let (status, h, _) = fx
        .post("/v1/completions", &[], &json!({"model": "mock-gpt-4o", "prompt": "Say hi", "max_tokens": 5}).to_string())
        .await;
    assert_eq!(status, 200);
    let c = fx.call(header(&h, "x-llmscope-call-id")).await;
    assert_eq!(c.operation.as_deref(), Some("completion"));
    assert_eq!(c.input_text, "Say hi");
    assert_eq!(c.finish_reason.as_deref(), Some("length"));
    assert_eq!(c.flags, vec!["truncated"]);

    let (status, h, _) =
        fx.post("/v1/embeddings", &[], &json!({"model": "mock-embed", "input": ["a b", "c"]}).to_string()).await;
    assert_eq!(status, 200);
    let c = fx.call(header(&h, "x-llmscope-call-id")).await;
    assert_eq!(c.operation.as_deref(), Some("embedding"));
    assert!(c.output.is_none() && c.flags.is_empty());
    assert!(c.usage.input.is_some());

    let uri: hyper::Uri = fx.url("/v1/models").parse().expect("uri");
    let resp = fx.client.get(uri).await.expect("models");
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    let v: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(v["object"], "list");

    // Other methods on the recorded paths reach the upstream too (whose answer names them).
    for (method, path) in
        [("GET", "/v1/chat/completions?limit=5"), ("OPTIONS", "/v1/responses"), ("DELETE", "/v1/embeddings")]
    {
        let req = hyper::Request::builder()
            .method(method)
            .uri(fx.url(path))
            .header("origin", "http://localhost:8000")
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .expect("request");
        let resp = fx.client.request(req).await.expect("response");
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        let want = format!("Method Not Allowed ({method} {})", path.split('?').next().unwrap_or(path));
        assert!(String::from_utf8_lossy(&body).contains(&want), "{method} {path}: {}", String::from_utf8_lossy(&body));
    }
    assert_eq!(fx.calls().await.len(), 2, "/v1/models and other methods are not calls");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_writes_every_call_that_was_answered() {
    let fx = start(MockConfig { ttft_ms: 1, tokens_per_s: 0.0, ..MockConfig::default() }, |cfg| {
        cfg.recorder.flush_interval = Duration::from_secs(60); // only shutdown can flush
        cfg.recorder.batch_size = 1_000;
    })
    .await;
    let mut ids = Vec::new();
    for i in 0..40 {
        let stream = json!({"stream": i % 2 == 0});
        let (status, h, _) = fx.post("/v1/chat/completions", &[], &chat(stream)).await;
        assert_eq!(status, 200);
        ids.push(header(&h, "x-llmscope-call-id").to_string());
    }
    let (stats, store, _dir) = fx.stop().await;
    assert_eq!((stats.recorded, stats.written, stats.spilled), (40, 40, 0));
    let stored = store
        .list_calls(&llmscope_core::CallFilter::default(), llmscope_core::store::CallOrder::OldestFirst, 100)
        .expect("list");
    let mut stored_ids: Vec<String> = stored.into_iter().map(|c| c.id).collect();
    stored_ids.sort();
    ids.sort();
    assert_eq!(stored_ids, ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_that_hangs_times_out() {
    // A listener with a backlog of one that never accepts: once its queue is full, new
    // connections hang in the handshake, as with a black-holed upstream.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
    let listener = socket.listen(1).expect("listen");
    let addr = listener.local_addr().expect("addr");
    let mut fillers = Vec::new();
    for _ in 0..8 {
        match tokio::time::timeout(Duration::from_millis(200), tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(s)) => fillers.push(s),
            _ => break, // the queue is full
        }
    }
    let fx = start(MockConfig::default(), |cfg| {
        cfg.upstreams = vec![llmscope_server::Upstream::new("blackhole", &format!("http://{addr}/v1"))];
        cfg.timeouts.connect = Duration::from_millis(300);
        cfg.timeouts.first_byte = Duration::from_secs(30);
    })
    .await;
    // Without the connect timeout this would hang for the OS's own limit (minutes), then end
    // with another code; the code below is what proves the timeout applied.
    let (status, h, text) = fx.post("/v1/chat/completions", &[], &chat(json!({}))).await;
    assert_eq!(status, 504, "{text}");
    let err: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(err["error"]["code"], "connect_timeout", "{text}");
    assert_eq!(fx.call(header(&h, "x-llmscope-call-id")).await.error_kind.as_deref(), Some("connect_timeout"));
    drop(listener);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstream_key_replaces_the_callers_and_the_callers_passes_otherwise() {
    let mock = MockConfig { api_key: Some("sk-upstream".into()), ttft_ms: 1, ..MockConfig::default() };
    // Configured key: the caller's Authorization is never forwarded, the upstream's is.
    let fx = start(mock.clone(), |cfg| cfg.upstreams[0].api_key = Some("sk-upstream".into())).await;
    for caller in [Some("Bearer sk-caller"), None] {
        let headers: Vec<(&str, &str)> = caller.map(|c| ("authorization", c)).into_iter().collect();
        let (status, _, text) = fx.post("/v1/chat/completions", &headers, &chat(json!({}))).await;
        assert_eq!(status, 200, "caller {caller:?}: {text}");
    }
    assert!(!format!("{:?}", fx.app).contains("sk-upstream"), "the key leaks into Debug output");
    fx.stop().await;

    // No configured key: the caller's own is passed on, right or wrong.
    let fx = start(mock, |_| {}).await;
    let (status, _, _) =
        fx.post("/v1/chat/completions", &[("authorization", "Bearer sk-upstream")], &chat(json!({}))).await;
    assert_eq!(status, 200);
    let (status, h, text) =
        fx.post("/v1/chat/completions", &[("authorization", "Bearer wrong")], &chat(json!({}))).await;
    assert_eq!(status, 401, "{text}");
    let c = fx.call(header(&h, "x-llmscope-call-id")).await;
    assert_eq!((c.status_code, c.error_kind.as_deref()), (Some(401), Some("upstream_4xx")));
    assert_eq!(c.attributes["upstream_error_type"], "invalid_request_error");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_stops_reading_is_given_up_on_at_the_total_timeout() {
    let fx = start(MockConfig { ttft_ms: 1, tokens_per_s: 0.0, ..MockConfig::default() }, |cfg| {
        cfg.timeouts.total = Duration::from_millis(800);
    })
    .await;
    // A long, fast answer: far more than the socket buffers hold, so the proxy's sends block.
    let resp =
        fx.send("/v1/chat/completions", &[("x-mock-output-tokens", "100000")], &chat(json!({"stream": true}))).await;
    let call_id = header(resp.headers(), "x-llmscope-call-id").to_string();
    let mut body = resp.into_body();
    let _first = body.frame().await;
    // Hold the connection open without reading; the record must still be written.
    let mut call = None;
    for _ in 0..150 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        call = fx.calls().await.into_iter().find(|c| c.id == call_id);
        if call.is_some() {
            break;
        }
    }
    let c = call.expect("recorded while the caller still holds the connection");
    assert_eq!(c.error_kind.as_deref(), Some("total_timeout"));
    drop(body);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_max_in_flight_get_a_503_while_a_stream_holds_its_place() {
    let fx =
        start(MockConfig { ttft_ms: 10, tokens_per_s: 20.0, output_tokens: 200, ..MockConfig::default() }, |cfg| {
            cfg.max_in_flight = 1
        })
        .await;
    // One stream runs (slowly): it holds the only place until its last byte.
    let resp = fx.send("/v1/chat/completions", &[], &chat(json!({"stream": true}))).await;
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    match body.frame().await {
        Some(Ok(_)) => {}
        other => panic!("the stream did not start: {other:?}"),
    }
    let (status, headers, text) = fx.post("/v1/chat/completions", &[], &chat(json!({}))).await;
    assert_eq!(status, 503, "{text}");
    assert_eq!(header(&headers, "retry-after"), "1");
    let err: Value = serde_json::from_str(&text).expect("OpenAI-shaped error");
    assert_eq!(err["error"]["code"], "server_overloaded", "{text}");
    let (status, _, _) = fx.post("/v1/models", &[], "").await;
    assert_eq!(status, 503, "pass-through requests count too");
    let ready = fx.client.get(fx.url("/readyz").parse().expect("uri")).await.expect("readyz");
    assert_eq!(ready.status(), 503, "not ready while every place is taken");
    assert_eq!(fx.app.overloaded.load(std::sync::atomic::Ordering::Relaxed), 2);
    // The caller leaves; the place is freed once the server notices.
    drop(body);
    let mut status = 0;
    for _ in 0..200 {
        status = fx.post("/v1/chat/completions", &[], &chat(json!({}))).await.0;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, 200, "the place was never freed");
    let health = fx.client.get(fx.url("/healthz").parse().expect("uri")).await.expect("healthz");
    let health: Value =
        serde_json::from_slice(&health.into_body().collect().await.expect("body").to_bytes()).expect("json");
    // The two above, and any refused while the freed place was awaited.
    let refused = fx.app.overloaded.load(std::sync::atomic::Ordering::Relaxed);
    assert!(refused >= 2 && health["overloaded"] == refused, "{health}");
    let (stats, store, _dir) = fx.stop().await;
    // The refused requests never reached the upstream and are not calls: the stream and the
    // last request are.
    let calls =
        store.list_calls(&llmscope_core::CallFilter::default(), llmscope_core::store::CallOrder::OldestFirst, 10);
    assert_eq!(calls.map(|c| c.len()).unwrap_or(0), 2, "{stats:?}");
}

/// OpenAI's Responses API (what the Agents SDK and `client.responses.create` use): recorded
/// like chat, plain and streamed; its stream (typed events, no `[DONE]`) reaches the caller
/// untouched, and a cut one is recorded with the text that arrived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_api_calls_are_recorded_plain_streamed_and_cut() {
    let fx = start(MockConfig { ttft_ms: 30, tokens_per_s: 500.0, ..MockConfig::default() }, |_| {}).await;
    // A string input and nothing else reads like an embeddings request: the path decides.
    let body = json!({"model": "mock-gpt-4o", "input": "What is the capital of France?"}).to_string();
    let (status, h, text) = fx.post("/v1/responses", &[("x-llmscope-user-id", "ann")], &body).await;
    assert_eq!(status, 200, "{text}");
    let resp: Value = serde_json::from_str(&text).expect("json");
    let c = fx.call(header(&h, "x-llmscope-call-id")).await;
    assert_eq!(c.operation.as_deref(), Some("responses"));
    assert_eq!(c.input_text, "What is the capital of France?");
    assert_eq!(c.output.as_deref(), resp.pointer("/output/0/content/0/text").and_then(Value::as_str));
    assert_eq!(c.request_id.as_deref(), resp["id"].as_str());
    assert_eq!(c.usage.input, resp.pointer("/usage/input_tokens").and_then(Value::as_u64));
    assert_eq!(c.usage.output, resp.pointer("/usage/output_tokens").and_then(Value::as_u64));
    assert!(!c.usage.counted);
    assert_eq!(
        (c.finish_reason.as_deref(), c.status, c.user_id.as_deref()),
        (Some("stop"), CallStatus::Ok, Some("ann"))
    );

    let body = json!({"model": "mock-gpt-4o", "instructions": "Be brief.", "stream": true,
                      "input": [{"role": "user", "content": [{"type": "input_text", "text": "Name a colour"}]}]})
    .to_string();
    let (status, h, text) = fx.post("/v1/responses", &[], &body).await;
    assert_eq!(status, 200);
    let data = sse_data(&text);
    assert!(!data.iter().any(|d| d == "[DONE]"), "{text}");
    let events: Vec<Value> = data.iter().map(|d| serde_json::from_str(d).expect("event json")).collect();
    let last = events.last().expect("events");
    assert_eq!(last["type"], "response.completed");
    let joined: String = events
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .filter_map(|e| e["delta"].as_str())
        .collect();
    let c = fx.call(header(&h, "x-llmscope-call-id")).await;
    assert_eq!(c.output.as_deref(), Some(joined.as_str()));
    assert_eq!(c.input_text, "Name a colour");
    assert_eq!(c.input[0], json!({"role": "system", "content": "Be brief."}));
    assert_eq!(c.usage.total, last.pointer("/response/usage/total_tokens").and_then(Value::as_u64));
    assert!(c.ttft_ms.is_some_and(|t| t >= 30.0), "{:?}", c.ttft_ms);
    assert!(c.params.get("stream_options").is_none(), "{:?}", c.params);
    assert_eq!(c.status, CallStatus::Ok);

    let (_, h, text) = fx.post("/v1/responses", &[("x-mock-fault", "cut=2")], &body).await;
    let data = sse_data(&text);
    let err: Value = serde_json::from_str(data.last().expect("events")).expect("json");
    // The Responses API's own error event, with the nested object the SDKs raise.
    assert!(text.contains("event: error\ndata: "), "{text}");
    assert_eq!((err["type"].as_str(), err["code"].as_str()), (Some("error"), Some("upstream_cut")), "{text}");
    assert_eq!(err["error"]["code"], "upstream_cut", "{text}");
    let c = fx.call(header(&h, "x-llmscope-call-id")).await;
    assert_eq!((c.status, c.error_kind.as_deref()), (CallStatus::Error, Some("upstream_cut")));
    let partial: String = data
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter(|e| e["type"] == "response.output_text.delta")
        .filter_map(|e| e["delta"].as_str().map(str::to_string))
        .collect();
    assert!(!partial.is_empty());
    assert_eq!(c.output.as_deref(), Some(partial.as_str()));
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_api_function_calls_are_recorded_as_tool_calls() {
    let fx = start(MockConfig::default(), |_| {}).await;
    let tools = json!([{"type": "function", "name": "get_weather", "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]);
    for stream in [false, true] {
        let body = json!({"model": "mock-gpt-4o", "input": "Weather in Paris?", "tools": tools, "stream": stream});
        let (status, h, text) = fx.post("/v1/responses", &[], &body.to_string()).await;
        assert_eq!(status, 200, "{text}");
        let answered: Value = if stream {
            let data = sse_data(&text);
            let done = data
                .iter()
                .filter_map(|d| serde_json::from_str::<Value>(d).ok())
                .find(|e| e["type"] == "response.completed");
            done.expect("response.completed")["response"].clone()
        } else {
            serde_json::from_str(&text).expect("json")
        };
        let item = &answered["output"][0];
        assert_eq!(item["type"], "function_call", "{answered}");
        let c = fx.call(header(&h, "x-llmscope-call-id")).await;
        let calls = c.tool_calls.clone().expect("tool calls");
        assert_eq!(calls[0]["function"]["name"], "get_weather");
        assert_eq!(calls[0]["function"]["arguments"], item["arguments"], "stream {stream}");
        assert_eq!(calls[0]["id"], item["call_id"]);
        assert_eq!(c.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(c.tools, Some(tools.clone()));
        assert!(c.flags.is_empty(), "{:?}", c.flags);
    }
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_still_open_when_the_grace_ends_are_cut_and_recorded() {
    let fx = start(MockConfig::default(), |cfg| {
        cfg.shutdown_grace = Duration::from_millis(300);
        cfg.recorder.flush_interval = Duration::from_secs(60); // only shutdown can flush
    })
    .await;
    // A stream that would take 20 s, of which the client has read the first words, and a
    // plain request whose upstream has not answered yet.
    let slow = [("x-mock-tokens-per-s", "5"), ("x-mock-output-tokens", "100"), ("x-mock-ttft-ms", "10")];
    let resp = fx.send("/v1/chat/completions", &slow, &chat(json!({"stream": true}))).await;
    let stream_id = header(resp.headers(), "x-llmscope-call-id").to_string();
    let mut body = resp.into_body();
    let mut seen = String::new();
    while !seen.contains("\"content\":\"") {
        match body.frame().await {
            Some(Ok(f)) => seen.push_str(&String::from_utf8_lossy(&f.into_data().unwrap_or_default())),
            other => panic!("the stream ended early: {other:?}"),
        }
    }
    let addr = fx.addr;
    let plain = tokio::spawn(async move {
        let client = common::client();
        let req = hyper::Request::post(format!("http://{addr}/v1/chat/completions"))
            .header("x-mock-fault", "first-byte-ms=20000")
            .body(http_body_util::Full::new(bytes::Bytes::from(chat(json!({})))))
            .expect("request");
        client.request(req).await.map(|r| r.status().as_u16()).ok()
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let reader = tokio::spawn(async move {
        let mut rest = String::new();
        while let Some(Ok(f)) = body.frame().await {
            rest.push_str(&String::from_utf8_lossy(&f.into_data().unwrap_or_default()));
        }
        rest
    });
    let (stats, store, _dir) = fx.stop().await;
    assert_eq!((stats.recorded, stats.written, stats.spilled), (2, 2, 0), "both recorded before the queue closed");
    let calls = store
        .list_calls(&llmscope_core::CallFilter::default(), llmscope_core::store::CallOrder::OldestFirst, 10)
        .expect("list");
    let stream = calls.iter().find(|c| c.id == stream_id).expect("the stream is stored");
    assert_eq!((stream.status, stream.error_kind.as_deref()), (CallStatus::Error, Some("shutdown")));
    assert!(stream.output.as_deref().is_some_and(|o| !o.is_empty()), "the output so far is kept: {:?}", stream.output);
    assert!(stream.ttft_ms.is_some());
    let other = calls.iter().find(|c| c.id != stream_id).expect("the plain call is stored");
    assert_eq!(other.error_kind.as_deref(), Some("shutdown"));
    assert!(reader.await.expect("reader").contains("server_shutting_down"), "the client is told why");
    let status = plain.await.expect("plain request");
    assert!(matches!(status, Some(503) | None), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstream_continues_the_trace_under_the_calls_span() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // An upstream that keeps what it was sent and answers one chat completion per connection.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let seen = seen_tx.clone();
            tokio::spawn(async move {
                // The whole request: its head, then as many bytes as its content-length says.
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_ascii_lowercase();
                    let complete = text.find("\r\n\r\n").is_some_and(|end| {
                        let len = text
                            .lines()
                            .find_map(|l| {
                                l.strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        buf.len() >= end + 4 + len
                    });
                    if n == 0 || complete {
                        break;
                    }
                }
                let _ = seen.send(String::from_utf8_lossy(&buf).to_ascii_lowercase());
                let body = r#"{"id":"c1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}"#;
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    let fx = start(MockConfig::default(), |cfg| {
        cfg.upstreams = vec![llmscope_server::Upstream::new("echo", &format!("http://{addr}/v1"))];
    })
    .await;
    // The caller's trace and sampling decision (here: not sampled) go on, with its tracestate;
    // a trace begun here (no traceparent, or an unreadable one) is sampled and has none.
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    for caller in [Some(parent), None, Some("garbage")] {
        let mut headers = vec![("tracestate", "vendor=x")];
        headers.extend(caller.map(|p| ("traceparent", p)));
        let (status, h, _) = fx.post("/v1/chat/completions", &headers, &chat(json!({}))).await;
        assert_eq!(status, 200);
        let c = fx.call(header(&h, "x-llmscope-call-id")).await;
        let sent = seen_rx.recv().await.expect("the upstream was called");
        let continued = caller == Some(parent);
        let want = format!("traceparent: 00-{}-{}-{}", c.trace_id, c.span_id, if continued { "00" } else { "01" });
        assert!(sent.contains(&want), "the upstream should see {want:?} in:\n{sent}");
        assert_eq!(sent.matches("traceparent:").count(), 1, "{sent}");
        assert_eq!(sent.contains("tracestate: vendor=x"), continued, "{sent}");
        if continued {
            assert_eq!(c.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
            assert_eq!(c.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
        }
    }
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_whose_caller_stopped_reading_is_cut_at_shutdown_too() {
    let fx = start(MockConfig { ttft_ms: 1, tokens_per_s: 0.0, ..MockConfig::default() }, |cfg| {
        cfg.shutdown_grace = Duration::from_millis(300);
    })
    .await;
    // A long, fast stream read once and then left: llmscope's sends to the caller block.
    let long = [("x-mock-output-tokens", "100000")];
    let resp = fx.send("/v1/chat/completions", &long, &chat(json!({"stream": true}))).await;
    let id = header(resp.headers(), "x-llmscope-call-id").to_string();
    let mut body = resp.into_body();
    let _ = body.frame().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (stats, store, _dir) = fx.stop().await;
    assert_eq!((stats.recorded, stats.written, stats.spilled), (1, 1, 0));
    let calls = store
        .list_calls(&llmscope_core::CallFilter::default(), llmscope_core::store::CallOrder::OldestFirst, 10)
        .expect("list");
    let c = calls.iter().find(|c| c.id == id).expect("stored");
    assert_eq!(c.error_kind.as_deref(), Some("shutdown"));
    assert!(c.output.as_deref().is_some_and(|o| !o.is_empty()));
    drop(body);
}
