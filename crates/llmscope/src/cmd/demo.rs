//! `llmscope demo`: the server, the mock upstream and simulated users talking through it,
//! with a live summary line, and a report of what was recorded at the end.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use llmscope_core::store::Store;
use llmscope_mock::{Fault, MockConfig};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::cli::DemoArgs;
use crate::config::{Config, UpstreamConfig};

type HttpClient = Client<HttpConnector, Full<Bytes>>;

const QUESTIONS: &[&str] = &[
    "How do I reset my password?",
    "What is the difference between a process and a thread?",
    "Write a haiku about autumn rain.",
    "Summarise the plot of Hamlet in three sentences.",
    "How do I reverse a linked list in Rust?",
    "What is your refund policy?",
    "Explain retrieval-augmented generation to a new engineer.",
    "如何重置我的密码？",
    "请用三句话介绍一下大语言模型。",
    "帮我写一首关于春天的诗。",
    "Python 和 Rust 有什么区别？",
    "我的订单什么时候发货？",
];

#[derive(Default)]
struct Tally {
    sent: AtomicU64,
    ok: AtomicU64,
    failed: AtomicU64,
    latencies_ms: Mutex<Vec<f64>>,
}

pub fn run(cfg: Config, a: DemoArgs) -> anyhow::Result<ExitCode> {
    if !(a.rate.is_finite() && a.rate > 0.0) {
        anyhow::bail!("--rate must be a positive number");
    }
    let mut cfg = cfg;
    let rt = super::serve::runtime()?;
    let store: Arc<dyn Store> = Arc::from(super::open_server_store(&cfg)?);
    let data_dir = cfg.storage.data_dir.clone();

    rt.block_on(async {
        // The mock upstream, with a realistic pace and a few faults.
        let mock_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let mock_addr = mock_listener.local_addr()?;
        let mock_cfg = MockConfig {
            ttft_ms: 250,
            tokens_per_s: 40.0,
            output_tokens: 60,
            fault_rate: 0.08,
            faults: vec![
                Fault::Status(500),
                Fault::Status(429),
                Fault::Cut { after_chunks: 4 },
                Fault::Empty,
                Fault::BadJson,
            ],
            seed: a.seed,
            ..MockConfig::default()
        };
        let models = mock_cfg.models.clone();
        let (mock_stop_tx, mock_stop_rx) = tokio::sync::oneshot::channel::<()>();
        let mock = tokio::spawn(llmscope_mock::serve(mock_listener, mock_cfg, async {
            let _ = mock_stop_rx.await;
        }));

        // The demo's traffic must reach its own server, never one already listening there
        // (a production `serve` on the default port would store the simulated calls).
        if let Err(e) = std::net::TcpListener::bind(&a.listen) {
            anyhow::bail!(
                "cannot listen on {}: {e} (is `llmscope serve` running there? pick another address with --listen)",
                a.listen
            );
        }
        cfg.server.listen = a.listen.clone();
        let mut mock_upstream = UpstreamConfig::catch_all("mock", &format!("http://{mock_addr}/v1"));
        mock_upstream.provider = Some("mock".into());
        cfg.upstreams = vec![mock_upstream];
        cfg.validate()?;
        let server_cfg = cfg.server_config()?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut server_stop = stop_rx.clone();
        let server_store = store.clone();
        let server_dir = data_dir.clone();
        let server = tokio::spawn(async move {
            super::serve::serve(server_cfg, server_store, &server_dir, async move {
                let _ = server_stop.wait_for(|s| *s).await;
            })
            .await
        });
        wait_ready(&a.listen).await?;
        eprintln!("demo: {} simulated users at ~{}/s through http://{}/v1 (Ctrl-C to stop)", a.users, a.rate, a.listen);

        let running = Arc::new(AtomicBool::new(true));
        let (quit_tx, quit_rx) = tokio::sync::watch::channel(false);
        let tally = Arc::new(Tally::default());
        let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
        let mut users = Vec::new();
        for u in 0..a.users {
            let ctx = UserCtx {
                client: client.clone(),
                base: format!("http://{}", a.listen),
                user: format!("demo-user-{:02}", u + 1),
                models: models.clone(),
                gap: Duration::try_from_secs_f64(f64::from(a.users) / a.rate).unwrap_or(Duration::from_secs(86_400)),
                running: running.clone(),
                quit: quit_rx.clone(),
                tally: tally.clone(),
                seed: a.seed.wrapping_mul(1000).wrapping_add(u64::from(u)),
            };
            users.push(tokio::spawn(simulate_user(ctx)));
        }

        let started = Instant::now();
        let until = a.duration.map(Duration::from_secs);
        let mut ticker = tokio::time::interval(Duration::from_secs(2));
        let ctrl_c = llmscope_server::shutdown_signal();
        tokio::pin!(ctrl_c);
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    print_line(started, &tally);
                    if until.is_some_and(|d| started.elapsed() >= d) { break; }
                }
                _ = &mut ctrl_c => break,
            }
        }
        running.store(false, Ordering::Release);
        let _ = quit_tx.send(true); // users stop waiting between turns; calls in flight finish
        for u in users {
            let _ = u.await;
        }
        print_line(started, &tally);
        let _ = stop_tx.send(true);
        let stats = server.await.context("server task")??;
        let _ = mock_stop_tx.send(());
        let _ = mock.await;
        eprintln!(
            "demo: {} calls recorded, {} written to the store, {} spilled",
            stats.recorded, stats.written, stats.spilled
        );
        anyhow::Ok(())
    })?;

    // The report over what the demo recorded.
    let (filter, tz) = crate::filters::build(&Default::default(), &cfg)?;
    let req = super::report::request(&cfg, filter, tz);
    let report = llmscope_analysis::build_report(store.as_ref(), &req).context("building the report")?;
    let out = data_dir.join("demo-report");
    let written = llmscope_report::write_report(
        &report,
        llmscope_report::ReportFormat::Markdown,
        Some(&out),
        &mut std::io::sink(),
    )?;
    if let Some(first) = written.first() {
        eprintln!("demo: report written to {}", first.display());
    }
    eprintln!("demo: run `llmscope report` or `llmscope calls` to read the calls");
    Ok(ExitCode::SUCCESS)
}

async fn wait_ready(listen: &str) -> anyhow::Result<()> {
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let uri: hyper::Uri = format!("http://{listen}/readyz").parse()?;
    for _ in 0..100 {
        if let Ok(r) = client.get(uri.clone()).await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("the server did not become ready on {listen}")
}

fn print_line(started: Instant, t: &Tally) {
    let mut lat = t.latencies_ms.lock().map(|l| l.clone()).unwrap_or_default();
    lat.sort_by(f64::total_cmp);
    let q = |p: f64| llmscope_core::stats::quantile_sorted(&lat, p).unwrap_or(0.0);
    eprintln!(
        "[{:>4}s] sent {:>5}  ok {:>5}  failed {:>4}  latency p50 {:>6.0} ms  p95 {:>6.0} ms",
        started.elapsed().as_secs(),
        t.sent.load(Ordering::Relaxed),
        t.ok.load(Ordering::Relaxed),
        t.failed.load(Ordering::Relaxed),
        q(0.5),
        q(0.95),
    );
}

struct UserCtx {
    client: HttpClient,
    base: String,
    user: String,
    models: Vec<String>,
    gap: Duration,
    running: Arc<AtomicBool>,
    quit: tokio::sync::watch::Receiver<bool>,
    tally: Arc<Tally>,
    seed: u64,
}

/// Waits `d`, or less if the demo is stopping; `false` when it is.
async fn pause(ctx: &mut UserCtx, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => ctx.running.load(Ordering::Acquire),
        _ = ctx.quit.wait_for(|q| *q) => false,
    }
}

async fn simulate_user(mut ctx: UserCtx) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(ctx.seed);
    let first = ctx.gap.mul_f64(rng.gen_range(0.0..1.0));
    if !pause(&mut ctx, first).await {
        return;
    }
    let mut session = 0u32;
    while ctx.running.load(Ordering::Acquire) {
        session += 1;
        let session_id = format!("{}-s{session}", ctx.user);
        let model = ctx.models[rng.gen_range(0..ctx.models.len())].clone();
        let mut messages = vec![json!({"role": "system", "content": "You are a helpful assistant."})];
        for _turn in 0..rng.gen_range(1..=4) {
            if !ctx.running.load(Ordering::Acquire) {
                return;
            }
            let q = QUESTIONS[rng.gen_range(0..QUESTIONS.len())];
            messages.push(json!({"role": "user", "content": q}));
            // Some users' apps are on OpenAI's Responses API (as the Agents SDK is).
            let responses_api = rng.gen_bool(0.15);
            let mut body = if responses_api {
                json!({"model": model, "instructions": messages[0]["content"], "input": messages[1..], "temperature": 0.7})
            } else {
                json!({"model": model, "messages": messages, "temperature": 0.7})
            };
            let stream = rng.gen_bool(0.6);
            if stream {
                body["stream"] = json!(true);
            }
            let roll: f64 = rng.gen();
            if roll < 0.1 {
                body["response_format"] = json!({"type": "json_object"});
            } else if roll < 0.2 && !responses_api {
                body["tools"] = json!([{"type": "function", "function": {"name": "get_order_status",
                    "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}}}}]);
            }
            let t = Instant::now();
            ctx.tally.sent.fetch_add(1, Ordering::Relaxed);
            // Answers of varied length and pace, as real traffic has.
            let pace = [
                ("x-mock-output-tokens", rng.gen_range(15..140).to_string()),
                ("x-mock-ttft-ms", rng.gen_range(80..900).to_string()),
            ];
            let path = if responses_api { "/v1/responses" } else { "/v1/chat/completions" };
            match send(&ctx, path, &session_id, &body, &pace).await {
                Some(answer) => {
                    ctx.tally.ok.fetch_add(1, Ordering::Relaxed);
                    messages.push(json!({"role": "assistant", "content": answer}));
                }
                None => {
                    ctx.tally.failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            if let Ok(mut l) = ctx.tally.latencies_ms.lock() {
                l.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            let jitter = rng.gen_range(0.5..1.5);
            let gap = ctx.gap.mul_f64(jitter);
            if !pause(&mut ctx, gap).await {
                return;
            }
        }
    }
}

/// The answer text of a Responses API reply (plain, or the stream's final event), `None` for
/// a failed one.
fn responses_answer(text: &str) -> Option<String> {
    let last = if text.starts_with("event:") || text.starts_with("data:") {
        let events: Vec<Value> = text
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .filter_map(|d| serde_json::from_str(d).ok())
            .collect();
        events.into_iter().rev().find_map(|e| (e["type"] == "response.completed").then(|| e["response"].clone()))?
    } else {
        serde_json::from_str::<Value>(text).ok()?
    };
    if last["status"] != "completed" {
        return None;
    }
    let parts = last["output"].as_array()?.iter().filter_map(|i| i["content"].as_array()).flatten();
    Some(parts.filter_map(|p| p["text"].as_str()).collect())
}

/// Sends one chat (or Responses API) request; returns the answer text (for the next turn) or
/// `None` on failure.
async fn send(ctx: &UserCtx, path: &str, session: &str, body: &Value, extra: &[(&str, String)]) -> Option<String> {
    let mut req = hyper::Request::post(format!("{}{path}", ctx.base));
    for (k, v) in extra {
        req = req.header(*k, v.as_str());
    }
    let req = req
        .header("content-type", "application/json")
        .header("x-llmscope-user-id", &ctx.user)
        .header("x-llmscope-session-id", session)
        .header("x-llmscope-tags", "demo")
        .body(Full::new(Bytes::from(body.to_string())))
        .ok()?;
    let resp = ctx.client.request(req).await.ok()?;
    let ok = resp.status().is_success();
    let bytes = resp.into_body().collect().await.ok()?.to_bytes();
    let text = String::from_utf8_lossy(&bytes);
    if !ok {
        return None;
    }
    if path.ends_with("/responses") {
        return responses_answer(&text);
    }
    if text.contains("\"error\"") {
        return None;
    }
    // Streams: join the content deltas; plain answers: the message content.
    if text.starts_with("data:") {
        let mut out = String::new();
        for line in text.lines().filter_map(|l| l.strip_prefix("data: ")) {
            if let Ok(v) = serde_json::from_str::<Value>(line) {
                if let Some(c) = v.pointer("/choices/0/delta/content").and_then(Value::as_str) {
                    out.push_str(c);
                }
            }
        }
        Some(out)
    } else {
        let v: Value = serde_json::from_slice(&bytes).ok()?;
        Some(v.pointer("/choices/0/message/content").and_then(Value::as_str).unwrap_or("").to_string())
    }
}
