//! End-to-end tests of the mock over real HTTP on 127.0.0.1 with hyper's client.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::HttpBody;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use llmscope_mock::{parse_fault, serve, Fault, MockConfig};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

struct Mock {
    addr: SocketAddr,
    client: Client<HttpConnector, Full<Bytes>>,
    shutdown: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A config with no delays, so tests run fast.
fn fast() -> MockConfig {
    MockConfig { ttft_ms: 0, tokens_per_s: 0.0, ..MockConfig::default() }
}

async fn start(cfg: MockConfig) -> Mock {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, cfg, async move {
        let _ = rx.await;
    }));
    let client = Client::builder(TokioExecutor::new()).build_http();
    Mock { addr, client, shutdown: Some(tx), server }
}

impl Mock {
    fn request(&self, method: Method, path: &str, headers: &[(&str, &str)], body: &str) -> Request<Full<Bytes>> {
        let mut builder = Request::builder().method(method).uri(format!("http://{}{path}", self.addr));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_owned())))
            .expect("request")
    }

    async fn send(&self, req: Request<Full<Bytes>>) -> Reply {
        let response = self.client.request(req).await.expect("response");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        Reply { status, headers, body: String::from_utf8(bytes.to_vec()).expect("utf-8") }
    }

    async fn post(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> Reply {
        self.send(self.request(Method::POST, path, headers, &body.to_string())).await
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(self.request(Method::GET, path, &[], "")).await
    }

    async fn stats(&self) -> Value {
        self.get("/mock/stats").await.json()
    }

    /// Polls `/mock/stats` until `key` reaches `want` (or fails after 5 s).
    async fn wait_stat(&self, key: &str, want: u64) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let stats = self.stats().await;
            if stats[key].as_u64() == Some(want) {
                return;
            }
            assert!(Instant::now() < deadline, "{key} never reached {want}: {stats}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn chat(question: &str) -> Value {
    json!({"model": "mock-gpt-4o", "messages": [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": question},
    ]})
}

fn with(mut body: Value, extra: Value) -> Value {
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    body
}

/// The `data:` payloads of an SSE body, checking the framing.
fn sse_events(body: &str) -> Vec<String> {
    assert!(body.ends_with("\n\n"), "unterminated event stream: {body:?}");
    body.split_terminator("\n\n")
        .map(|event| event.strip_prefix("data: ").unwrap_or_else(|| panic!("not a data event: {event:?}")).to_owned())
        .collect()
}

fn json_chunks(events: &[String]) -> Vec<Value> {
    events
        .iter()
        .filter(|e| *e != "[DONE]")
        .map(|e| serde_json::from_str(e).unwrap_or_else(|err| panic!("bad chunk ({err}): {e}")))
        .collect()
}

fn streamed_content(chunks: &[Value]) -> String {
    chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect()
}

#[tokio::test]
async fn non_stream_chat_has_openai_fields_and_consistent_usage() {
    let mock = start(fast()).await;
    let reply = mock.post("/v1/chat/completions", &[("x-mock-output-tokens", "12")], &chat("What is Rust?")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "application/json");
    assert!(reply.body.starts_with("{\"id\":\"chatcmpl-mock-1\",\"object\":\"chat.completion\",\"created\":"));
    let v = reply.json();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "mock-gpt-4o");
    assert_eq!(v["system_fingerprint"], "fp_mock");
    assert!(v["created"].as_u64().is_some_and(|t| t > 1_700_000_000));
    let choice = &v["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["finish_reason"], "stop");
    assert!(choice["logprobs"].is_null());
    assert_eq!(choice["message"]["role"], "assistant");
    assert!(choice["message"]["refusal"].is_null());
    assert!(choice["message"].get("tool_calls").is_none());
    let content = choice["message"]["content"].as_str().expect("content");
    assert_eq!(content.split_whitespace().count(), 12, "{content}");
    let usage = &v["usage"];
    // 3 priming + (3 + 3 words) + (3 + 3 words).
    assert_eq!(usage["prompt_tokens"], 15);
    assert_eq!(usage["completion_tokens"], 12);
    assert_eq!(usage["total_tokens"], 27);
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 0);
    assert_eq!(usage["completion_tokens_details"]["reasoning_tokens"], 0);

    // Deterministic per question, different across questions.
    let again = mock.post("/v1/chat/completions", &[("x-mock-output-tokens", "12")], &chat("What is Rust?")).await;
    assert_eq!(again.json()["choices"][0]["message"]["content"], content);
    assert_eq!(again.json()["id"], "chatcmpl-mock-2");
    let other =
        mock.post("/v1/chat/completions", &[("x-mock-output-tokens", "12")], &chat("How do magnets work?")).await;
    assert_ne!(other.json()["choices"][0]["message"]["content"], content);
    assert_eq!(mock.stats().await, json!({"requests": 3, "completed": 3, "cancelled": 0}));
}

#[tokio::test]
async fn chinese_questions_get_chinese_answers() {
    let mock = start(fast()).await;
    let zh = mock.post("/v1/chat/completions", &[], &chat("什么是向量数据库？")).await.json();
    let zh_text = zh["choices"][0]["message"]["content"].as_str().expect("content").to_owned();
    let cjk = zh_text.chars().filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c)).count();
    assert!(cjk >= 20, "{zh_text}");
    assert!(!zh_text.contains(' '));
    assert_eq!(zh["usage"]["completion_tokens"], 40);
    let chars = zh_text.chars().count();
    assert!((40..=80).contains(&chars), "{chars} chars for 40 tokens: {zh_text}");

    // Content parts work too, and English questions get English words.
    let parts =
        json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "Explain TCP"}]}]});
    let en = mock.post("/v1/chat/completions", &[], &parts).await.json();
    let en_text = en["choices"][0]["message"]["content"].as_str().expect("content");
    assert!(en_text.is_ascii() && en_text.split_whitespace().count() == 40, "{en_text}");
}

#[tokio::test]
async fn max_tokens_clamps_with_finish_reason_length() {
    let mock = start(fast()).await;
    for key in ["max_tokens", "max_completion_tokens"] {
        let v = mock.post("/v1/chat/completions", &[], &with(chat("Hello"), json!({key: 5}))).await.json();
        assert_eq!(v["choices"][0]["finish_reason"], "length");
        assert_eq!(v["usage"]["completion_tokens"], 5);
        assert_eq!(v["choices"][0]["message"]["content"].as_str().map(|c| c.split_whitespace().count()), Some(5));
    }
    let v = mock.post("/v1/chat/completions", &[], &with(chat("Hello"), json!({"max_tokens": 500}))).await.json();
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(v["usage"]["completion_tokens"], 40);
}

#[tokio::test]
async fn json_mode_is_valid_json_unless_bad_json() {
    let mock = start(fast()).await;
    let req = with(chat("Give me the facts"), json!({"response_format": {"type": "json_object"}}));
    let v = mock.post("/v1/chat/completions", &[], &req).await.json();
    let content = v["choices"][0]["message"]["content"].as_str().expect("content");
    let parsed: Value = serde_json::from_str(content).expect("content is JSON");
    assert!(parsed["answer"].is_string() && parsed["confidence"].is_number(), "{content}");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");

    let bad = mock.post("/v1/chat/completions", &[("x-mock-fault", "bad-json")], &req).await.json();
    let content = bad["choices"][0]["message"]["content"].as_str().expect("content");
    assert!(content.starts_with('{'), "{content}");
    assert!(serde_json::from_str::<Value>(content).is_err(), "{content}");

    // A stream with bad-json streams the same broken content.
    let stream = with(req.clone(), json!({"stream": true}));
    let reply = mock.post("/v1/chat/completions", &[("x-mock-fault", "bad-json")], &stream).await;
    assert_eq!(streamed_content(&json_chunks(&sse_events(&reply.body))), content);

    let schema = json!({"response_format": {"type": "json_schema", "json_schema": {"name": "weather", "schema": {
        "type": "object", "properties": {"city": {"type": "string"}, "celsius": {"type": "number"}}}}}});
    let v = mock.post("/v1/chat/completions", &[], &with(chat("Weather?"), schema)).await.json();
    let content = v["choices"][0]["message"]["content"].as_str().expect("content");
    let parsed: Value = serde_json::from_str(content).expect("content is JSON");
    assert!(parsed["city"].is_string() && parsed["celsius"] == 1.5, "{content}");
}

fn weather_tools() -> Value {
    json!({"tools": [
        {"type": "function", "function": {"name": "search", "parameters": {"type": "object",
            "properties": {"query": {"type": "string"}}}}},
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {
            "location": {"type": "string"}, "days": {"type": "integer"}, "detailed": {"type": "boolean"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["location"]}}},
    ]})
}

#[tokio::test]
async fn tool_calls_non_stream_and_stream_agree() {
    let mock = start(fast()).await;
    let req = with(
        with(chat("Weather in Paris?"), weather_tools()),
        json!({"tool_choice": {"type": "function", "function": {"name": "get_weather"}}}),
    );
    let v = mock.post("/v1/chat/completions", &[], &req).await.json();
    let choice = &v["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert!(choice["message"]["content"].is_null());
    let call = &choice["message"]["tool_calls"][0];
    assert_eq!(call["id"], "call_mock_1");
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "get_weather");
    let arguments = call["function"]["arguments"].as_str().expect("arguments");
    let parsed: Value = serde_json::from_str(arguments).expect("arguments are JSON");
    assert_eq!(parsed, json!({"location": "example", "days": 1, "detailed": true, "unit": "celsius"}));
    assert!(v["usage"]["completion_tokens"].as_u64().is_some_and(|c| c > 1));

    let stream = with(req.clone(), json!({"stream": true}));
    let reply = mock.post("/v1/chat/completions", &[], &stream).await;
    let chunks = json_chunks(&sse_events(&reply.body));
    assert_eq!(chunks[0]["choices"][0]["delta"], json!({"role": "assistant", "content": null}));
    let header = &chunks[1]["choices"][0]["delta"]["tool_calls"][0];
    assert_eq!(header["index"], 0);
    assert_eq!(header["id"], "call_mock_2");
    assert_eq!(header["type"], "function");
    assert_eq!(header["function"], json!({"name": "get_weather", "arguments": ""}));
    let fragments: Vec<&str> = chunks[2..]
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str())
        .collect();
    assert!(fragments.len() > 3, "{fragments:?}");
    assert!(chunks[2..].iter().all(|c| c["choices"][0]["delta"]["tool_calls"][0].get("id").is_none()));
    assert_eq!(fragments.concat(), arguments);
    let last = chunks.last().expect("chunks");
    assert_eq!(last["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(last["choices"][0]["delta"], json!({}));

    // The first tool by default; text with tool_choice "none" or after a tool result.
    let first = mock.post("/v1/chat/completions", &[], &with(chat("Find it"), weather_tools())).await.json();
    assert_eq!(first["choices"][0]["message"]["tool_calls"][0]["function"]["name"], "search");
    let none = with(with(chat("Hi"), weather_tools()), json!({"tool_choice": "none"}));
    let none = mock.post("/v1/chat/completions", &[], &none).await.json();
    assert_eq!(none["choices"][0]["finish_reason"], "stop");
    assert!(none["choices"][0]["message"]["content"].is_string());
    let after = with(
        json!({"model": "m", "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "get_weather", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 21}"},
        ]}),
        weather_tools(),
    );
    let after = mock.post("/v1/chat/completions", &[], &after).await.json();
    assert_eq!(after["choices"][0]["finish_reason"], "stop");
    assert!(after["choices"][0]["message"].get("tool_calls").is_none());
    let unknown = with(
        with(chat("x"), weather_tools()),
        json!({"tool_choice": {"type": "function", "function": {"name": "nope"}}}),
    );
    let unknown = mock.post("/v1/chat/completions", &[], &unknown).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.json()["error"]["param"], "tool_choice");
}

#[tokio::test]
async fn stream_events_match_openai_with_and_without_include_usage() {
    let mock = start(fast()).await;
    let plain = mock.post("/v1/chat/completions", &[], &chat("Tell me about caching")).await.json();
    let expected = plain["choices"][0]["message"]["content"].as_str().expect("content").to_owned();

    let req = with(chat("Tell me about caching"), json!({"stream": true, "stream_options": {"include_usage": true}}));
    let reply = mock.post("/v1/chat/completions", &[], &req).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "text/event-stream");
    let events = sse_events(&reply.body);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    assert_eq!(events.iter().filter(|e| *e == "[DONE]").count(), 1);
    assert!(events[0].starts_with("{\"id\":\"chatcmpl-mock-2\",\"object\":\"chat.completion.chunk\",\"created\":"));
    let chunks = json_chunks(&events);
    for chunk in &chunks {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["id"], "chatcmpl-mock-2");
        assert_eq!(chunk["model"], "mock-gpt-4o");
        assert_eq!(chunk["system_fingerprint"], "fp_mock");
        assert!(chunk.get("usage").is_some(), "include_usage: every chunk has a usage key: {chunk}");
    }
    assert_eq!(
        chunks[0]["choices"],
        json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": null, "finish_reason": null}])
    );
    assert!(chunks[0]["usage"].is_null());
    // role chunk + 40 content chunks + finish chunk + usage chunk.
    assert_eq!(chunks.len(), 43);
    assert!(chunks[1..41].iter().all(|c| c["choices"][0]["delta"].as_object().is_some_and(|d| d.len() == 1)));
    assert_eq!(streamed_content(&chunks), expected);
    let finish = &chunks[41];
    assert_eq!(finish["choices"], json!([{"index": 0, "delta": {}, "logprobs": null, "finish_reason": "stop"}]));
    assert!(finish["usage"].is_null());
    let usage = &chunks[42];
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"], plain["usage"]);

    let req = with(chat("Tell me about caching"), json!({"stream": true}));
    let reply = mock.post("/v1/chat/completions", &[], &req).await;
    let events = sse_events(&reply.body);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks = json_chunks(&events);
    assert_eq!(chunks.len(), 42);
    assert!(chunks.iter().all(|c| c.get("usage").is_none()));
    assert!(chunks.iter().all(|c| c["choices"].as_array().is_some_and(|a| a.len() == 1)));
}

#[tokio::test]
async fn usage_false_omits_usage_everywhere() {
    let mock = start(MockConfig { usage: false, ..fast() }).await;
    let v = mock.post("/v1/chat/completions", &[], &chat("Hi")).await.json();
    assert!(v.get("usage").is_none());
    let req = with(chat("Hi"), json!({"stream": true, "stream_options": {"include_usage": true}}));
    let reply = mock.post("/v1/chat/completions", &[], &req).await;
    let chunks = json_chunks(&sse_events(&reply.body));
    assert!(chunks.iter().all(|c| c.get("usage").is_none() && c["choices"].as_array().is_some_and(|a| a.len() == 1)));
    // And the header turns it back on.
    let v = mock.post("/v1/chat/completions", &[("x-mock-usage", "1")], &chat("Hi")).await.json();
    assert_eq!(v["usage"]["completion_tokens"], 40);
}

#[tokio::test]
async fn status_faults_are_openai_errors() {
    let mock = start(fast()).await;
    let reply = mock.post("/v1/chat/completions", &[("x-mock-fault", "status=429")], &chat("Hi")).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.headers["retry-after"], "1");
    let error = &reply.json()["error"];
    assert!(error["message"].is_string() && error["type"].is_string());
    assert!(error["param"].is_null());
    assert_eq!(error["code"], "rate_limit_exceeded");

    for code in [500u16, 502, 503] {
        let header = format!("status={code}");
        let stream = with(chat("Hi"), json!({"stream": true}));
        let reply = mock.post("/v1/chat/completions", &[("x-mock-fault", &header)], &stream).await;
        assert_eq!(reply.status.as_u16(), code);
        assert_eq!(reply.headers["content-type"], "application/json");
        assert!(reply.headers.get("retry-after").is_none());
        let v = reply.json();
        assert_eq!(v["error"]["type"], "server_error");
        assert_eq!(v["error"].as_object().map(|e| e.len()), Some(4));
    }

    // Faults drawn from the config.
    let always = start(MockConfig { fault_rate: 1.0, faults: vec![Fault::Status(503)], ..fast() }).await;
    assert_eq!(always.post("/v1/chat/completions", &[], &chat("Hi")).await.status, StatusCode::SERVICE_UNAVAILABLE);
    let ok = always.post("/v1/chat/completions", &[("x-mock-fault", "none")], &chat("Hi")).await;
    assert_eq!(ok.status, StatusCode::OK);
}

/// Reads a response's body frame by frame until it ends or fails: `(bytes, failed)`.
async fn read_until_error<B: HttpBody<Data = Bytes> + Unpin>(response: axum::http::Response<B>) -> (String, bool) {
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    loop {
        match body.frame().await {
            None => return (String::from_utf8_lossy(&bytes).into_owned(), false),
            Some(Err(_)) => return (String::from_utf8_lossy(&bytes).into_owned(), true),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    bytes.extend_from_slice(&data);
                }
            }
        }
    }
}

#[tokio::test]
async fn cut_fault_drops_the_connection() {
    let mock = start(fast()).await;
    let stream = with(chat("Hi"), json!({"stream": true, "stream_options": {"include_usage": true}}));
    let req = mock.request(Method::POST, "/v1/chat/completions", &[("x-mock-fault", "cut=3")], &stream.to_string());
    let response = mock.client.request(req).await.expect("headers arrive");
    assert_eq!(response.status(), StatusCode::OK);
    let (body, failed) = read_until_error(response).await;
    assert!(failed, "the body should fail: {body}");
    assert!(!body.contains("[DONE]"));
    let events = sse_events(&body);
    let chunks = json_chunks(&events);
    assert_eq!(chunks.len(), 4, "role chunk + 3 content chunks: {body}");
    assert!(chunks.iter().all(|c| c["choices"][0]["finish_reason"].is_null()));

    let req = mock.request(Method::POST, "/v1/chat/completions", &[("x-mock-fault", "cut=0")], &chat("Hi").to_string());
    let response = mock.client.request(req).await.expect("headers arrive");
    assert_eq!(response.status(), StatusCode::OK);
    let length: usize =
        response.headers()["content-length"].to_str().ok().and_then(|l| l.parse().ok()).expect("length");
    let (body, failed) = read_until_error(response).await;
    assert!(failed);
    assert!(!body.is_empty() && body.len() < length);
    assert!(serde_json::from_str::<Value>(&body).is_err());
    mock.wait_stat("completed", 2).await;
}

#[tokio::test]
async fn hang_until_the_client_leaves_counts_as_cancelled() {
    let mock = start(fast()).await;
    let body = chat("Hi").to_string();
    let mut tcp = tokio::net::TcpStream::connect(mock.addr).await.expect("connect");
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: mock\r\ncontent-type: application/json\r\nx-mock-fault: hang\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(head.as_bytes()).await.expect("write");
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_millis(200), tcp.read(&mut buf)).await;
    assert!(read.is_err(), "a hanging request must not answer");
    mock.wait_stat("requests", 1).await;
    assert_eq!(mock.stats().await["cancelled"], 0);
    drop(tcp);
    mock.wait_stat("cancelled", 1).await;

    // Through hyper's client: giving up on a hanging request cancels it too.
    let req = mock.request(Method::POST, "/v1/chat/completions", &[("x-mock-fault", "hang")], &body);
    assert!(tokio::time::timeout(Duration::from_millis(100), mock.client.request(req)).await.is_err());
    mock.wait_stat("cancelled", 2).await;

    // So does dropping a slow stream half-way.
    let stream = with(chat("Hi"), json!({"stream": true}));
    let req = mock.request(Method::POST, "/v1/chat/completions", &[("x-mock-tokens-per-s", "20")], &stream.to_string());
    let response = mock.client.request(req).await.expect("headers");
    let mut body = response.into_body();
    let first = body.frame().await.and_then(Result::ok).and_then(|f| f.into_data().ok()).expect("first frame");
    assert!(first.starts_with(b"data: "));
    drop(body);
    mock.wait_stat("cancelled", 3).await;
    assert_eq!(mock.stats().await, json!({"requests": 3, "completed": 0, "cancelled": 3}));
}

/// The delays themselves are the schedule's (unit-tested in `request.rs`, measured by the proxy
/// tests' timeouts); here: the overrides are accepted and the answers stay whole.
#[tokio::test]
async fn first_byte_delay_and_timing_overrides_are_accepted() {
    let mock = start(fast()).await;
    let reply = mock.post("/v1/chat/completions", &[("x-mock-fault", "first-byte-ms=150")], &chat("Hi")).await;
    assert_eq!(reply.status, StatusCode::OK);

    let headers = [("x-mock-ttft-ms", "100"), ("x-mock-latency-ms", "50"), ("x-mock-tokens-per-s", "1000")];
    let v = mock.post("/v1/chat/completions", &headers, &chat("Hi")).await.json();
    assert_eq!(v["usage"]["completion_tokens"], 40);

    // Streams: headers at once, the content after latency + ttft, then the end.
    let stream = with(chat("Hi"), json!({"stream": true}));
    let req = mock.request(Method::POST, "/v1/chat/completions", &[("x-mock-ttft-ms", "150")], &stream.to_string());
    let response = mock.client.request(req).await.expect("headers");
    let body = response.into_body().collect().await.expect("body").to_bytes();
    assert!(body.ends_with(b"data: [DONE]\n\n"));
}

#[tokio::test]
async fn empty_fault_and_output_token_override() {
    let mock = start(fast()).await;
    let v = mock.post("/v1/chat/completions", &[("x-mock-fault", "empty")], &chat("Hi")).await.json();
    assert_eq!(v["choices"][0]["message"]["content"], "");
    assert_eq!(v["usage"]["completion_tokens"], 0);
    let stream = with(chat("Hi"), json!({"stream": true}));
    let reply = mock.post("/v1/chat/completions", &[("x-mock-fault", "empty")], &stream).await;
    let chunks = json_chunks(&sse_events(&reply.body));
    assert_eq!(chunks.len(), 2);
    assert_eq!(streamed_content(&chunks), "");

    let v = mock.post("/v1/chat/completions", &[("x-mock-output-tokens", "3")], &chat("Hi")).await.json();
    assert_eq!(v["usage"]["completion_tokens"], 3);
}

#[tokio::test]
async fn bad_requests_get_openai_400s() {
    let mock = start(fast()).await;
    let cases: [(&str, Option<&str>); 6] = [
        ("{not json", None),
        ("[1, 2]", None),
        (r#"{"messages": [{"role": "user", "content": "hi"}]}"#, Some("model")),
        (r#"{"model": "m"}"#, Some("messages")),
        (r#"{"model": "m", "messages": []}"#, Some("messages")),
        (r#"{"model": "m", "messages": "hi"}"#, Some("messages")),
    ];
    for (body, param) in cases {
        let reply = mock.send(mock.request(Method::POST, "/v1/chat/completions", &[], body)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        let v = reply.json();
        assert_eq!(v["error"]["type"], "invalid_request_error", "{body}");
        assert_eq!(v["error"]["param"].as_str(), param, "{body}");
        assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(v["error"]["code"].is_null());
    }
    let cases = [
        with(chat("x"), json!({"max_tokens": 0})),
        with(chat("x"), json!({"max_tokens": "many"})),
        with(chat("x"), json!({"stream_options": {"include_usage": true}})),
        with(chat("x"), json!({"response_format": {"type": "xml"}})),
        json!({"model": "m", "messages": [{"content": "no role"}]}),
    ];
    for body in cases {
        let reply = mock.post("/v1/chat/completions", &[], &body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(reply.json()["error"]["param"].is_string(), "{}", reply.body);
    }
    for (name, value) in [
        ("x-mock-fault", "explode"),
        ("x-mock-ttft-ms", "soon"),
        ("x-mock-latency-ms", "-5"),
        ("x-mock-tokens-per-s", "fast"),
        ("x-mock-output-tokens", "1.5"),
        ("x-mock-usage", "maybe"),
    ] {
        let reply = mock.post("/v1/chat/completions", &[(name, value)], &chat("x")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{name}");
        let v = reply.json();
        assert_eq!(v["error"]["param"], name);
        assert!(v["error"]["message"].as_str().is_some_and(|m| m.contains(name)), "{v}");
    }
    let reply = mock.post("/v1/embeddings", &[], &json!({"model": "e"})).await;
    assert_eq!((reply.status, reply.json()["error"]["param"].clone()), (StatusCode::BAD_REQUEST, json!("input")));
    let reply = mock.post("/v1/completions", &[], &json!({"model": "e", "prompt": 5})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn legacy_completions() {
    let mock = start(fast()).await;
    let req = json!({"model": "mock-gpt-3.5-instruct", "prompt": "Once upon a time", "max_tokens": 7});
    let reply = mock.post("/v1/completions", &[], &req).await;
    assert!(reply.body.starts_with("{\"id\":\"cmpl-mock-1\",\"object\":\"text_completion\""));
    let v = reply.json();
    assert_eq!(v["object"], "text_completion");
    assert_eq!(v["model"], "mock-gpt-3.5-instruct");
    let choice = &v["choices"][0];
    assert_eq!((choice["index"].clone(), choice["finish_reason"].clone()), (json!(0), json!("length")));
    assert!(choice["logprobs"].is_null());
    let text = choice["text"].as_str().expect("text").to_owned();
    assert_eq!(text.split_whitespace().count(), 7);
    assert_eq!(v["usage"], json!({"prompt_tokens": 4, "completion_tokens": 7, "total_tokens": 11}));

    let stream = with(req.clone(), json!({"stream": true, "stream_options": {"include_usage": true}}));
    let reply = mock.post("/v1/completions", &[], &stream).await;
    assert_eq!(reply.headers["content-type"], "text/event-stream");
    let events = sse_events(&reply.body);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks = json_chunks(&events);
    assert_eq!(chunks.len(), 7 + 2);
    assert!(chunks.iter().all(|c| c["object"] == "text_completion" && c.get("usage").is_some()));
    let streamed: String = chunks.iter().filter_map(|c| c["choices"][0]["text"].as_str()).collect();
    assert_eq!(streamed, text);
    assert_eq!(
        chunks[0]["choices"][0],
        json!({"text": chunks[0]["choices"][0]["text"], "index": 0, "logprobs": null,
        "finish_reason": null})
    );
    assert_eq!(chunks[7]["choices"][0]["finish_reason"], "length");
    assert_eq!(chunks[8]["choices"], json!([]));
    assert_eq!(chunks[8]["usage"], v["usage"]);

    let batch = json!({"model": "m", "prompt": ["first prompt", "second prompt"]});
    let v = mock.post("/v1/completions", &[], &batch).await.json();
    assert_eq!(v["choices"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["choices"][1]["index"], 1);
    assert_eq!(v["usage"]["completion_tokens"], 80);
    let tokens = json!({"model": "m", "prompt": [1, 2, 3]});
    assert_eq!(mock.post("/v1/completions", &[], &tokens).await.json()["usage"]["prompt_tokens"], 3);
}

#[tokio::test]
async fn embeddings_honour_dimensions_and_formats() {
    let mock = start(fast()).await;
    let v = mock.post("/v1/embeddings", &[], &json!({"model": "mock-embed", "input": "hello world"})).await.json();
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "mock-embed");
    assert_eq!(v["data"][0]["object"], "embedding");
    assert_eq!(v["data"][0]["index"], 0);
    let vector = v["data"][0]["embedding"].as_array().expect("floats");
    assert_eq!(vector.len(), 8);
    let norm: f64 = vector.iter().filter_map(Value::as_f64).map(|x| x * x).sum();
    assert!((norm - 1.0).abs() < 1e-3);
    assert_eq!(v["usage"], json!({"prompt_tokens": 2, "total_tokens": 2}));

    let req = json!({"model": "e", "input": ["a", "b", "a"], "dimensions": 32});
    let v = mock.post("/v1/embeddings", &[], &req).await.json();
    let data = v["data"].as_array().expect("data");
    assert_eq!(data.len(), 3);
    assert!(data.iter().all(|d| d["embedding"].as_array().map(Vec::len) == Some(32)));
    assert_eq!(data[0]["embedding"], data[2]["embedding"]);
    assert_ne!(data[0]["embedding"], data[1]["embedding"]);
    assert_eq!(data[2]["index"], 2);

    let req = json!({"model": "e", "input": "a", "dimensions": 16, "encoding_format": "base64"});
    let v = mock.post("/v1/embeddings", &[], &req).await.json();
    let encoded = v["data"][0]["embedding"].as_str().expect("base64");
    assert_eq!(encoded.len(), (16 * 4usize).div_ceil(3) * 4);

    let reply = mock.post("/v1/embeddings", &[], &json!({"model": "e", "input": "a", "dimensions": 0})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json()["error"]["param"], "dimensions");
    let custom = start(MockConfig { embedding_dims: 3, ..fast() }).await;
    let v = custom.post("/v1/embeddings", &[], &json!({"model": "e", "input": [[1, 2], [3]]})).await.json();
    assert_eq!(v["data"][1]["embedding"].as_array().map(Vec::len), Some(3));
    assert_eq!(v["usage"]["prompt_tokens"], 3);
}

#[tokio::test]
async fn models_unknown_paths_and_shutdown() {
    let mut mock = start(MockConfig { models: vec!["a".into(), "b".into()], ..fast() }).await;
    let reply = mock.get("/v1/models").await;
    assert_eq!(reply.status, StatusCode::OK);
    let v = reply.json();
    assert_eq!(v["object"], "list");
    let data = v["data"].as_array().expect("data");
    assert_eq!(data.len(), 2);
    assert_eq!(data[1]["id"], "b");
    assert_eq!(data[0]["object"], "model");
    assert_eq!(data[0]["owned_by"], "llmscope-mock");
    assert!(data[0]["created"].is_u64());
    assert_eq!(mock.get("/v1/models/a").await.json()["id"], "a");
    assert_eq!(mock.get("/v1/models/zzz").await.status, StatusCode::NOT_FOUND);

    let reply = mock.post("/v1/nope", &[], &json!({})).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.json()["error"]["type"], "invalid_request_error");
    assert!(reply.json()["error"]["message"].as_str().is_some_and(|m| m.contains("/v1/nope")));
    let reply = mock.get("/v1/chat/completions").await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(reply.json()["error"].is_object());
    // Only generation requests are counted.
    assert_eq!(mock.stats().await["requests"], 0);

    if let Some(tx) = mock.shutdown.take() {
        let _ = tx.send(());
    }
    let server = &mut mock.server;
    let result = tokio::time::timeout(Duration::from_secs(10), server).await;
    assert!(matches!(result, Ok(Ok(Ok(())))), "serve returns after the shutdown signal");
}

#[test]
fn parse_fault_round_trips_and_errors() {
    for text in ["status=500", "status=429", "cut=3", "hang", "first-byte-ms=200", "bad-json", "empty"] {
        let fault = parse_fault(text).expect("parses");
        assert_eq!(fault.to_string(), text);
    }
    assert_eq!(parse_fault("cut=3"), Ok(Fault::Cut { after_chunks: 3 }));
    assert_eq!(parse_fault("first-byte-ms=200"), Ok(Fault::FirstByteMs(200)));
    for bad in ["", "status=abc", "status=200", "cut", "hang=5", "explode", "none"] {
        assert!(parse_fault(bad).is_err(), "{bad}");
    }
}
