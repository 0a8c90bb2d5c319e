//! `llmscope-load`: an open-loop load generator for the proxy benchmark.
//!
//! Sends chat completions at a fixed rate (requests are started on schedule whether or not
//! earlier ones have finished, and latency is measured from the scheduled start, so a slow
//! server cannot hide its queueing: no coordinated omission) and prints one JSON line with
//! latency percentiles, the achieved rate, errors, and — when the target is llmscope — the
//! percentiles of the overhead it reports in `x-llmscope-overhead-ms`.
//!
//! ```text
//! llmscope-load --url http://127.0.0.1:4000/v1/chat/completions --rate 1000 --seconds 10 [--stream] [--warmup 2] [--connections N]
//! ```
//!
//! `--connections N` keeps at most N requests in flight (so at most N connections), as a
//! client with a bounded connection pool does; a request waiting for a place still has its
//! latency measured from its scheduled start. Without it every late request opens another
//! connection.
//!
//! `--compare-url URL2 [--slice-ms 1000] [--settle-ms 400]` measures two targets in one run:
//! the schedule is cut into slices, even slices go to `--url` and odd ones to `URL2` (each
//! with its own `--connections` places), and URL2's figures come under `"compare"`. Both then
//! see the same machine over the same minutes, which a shared host's slow spells of several
//! seconds would otherwise load onto one side of the comparison. Requests in the first
//! `--settle-ms` of every slice are sent but not measured: work a target defers (llmscope
//! writes the calls of its slice to its store a little later) must not land on the other
//! target's measured requests. `rate` and `achieved_rate` are the schedule's, which each
//! target gets during its slices; `seconds` is each target's share of the run.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;

#[derive(Debug, Default)]
struct Samples {
    latency_ms: Vec<f64>,
    overhead_ms: Vec<f64>,
    errors: u64,
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let url = arg(&args, "--url").ok_or("--url is required")?;
    let rate: f64 = arg(&args, "--rate").unwrap_or_else(|| "100".into()).parse()?;
    let seconds: f64 = arg(&args, "--seconds").unwrap_or_else(|| "10".into()).parse()?;
    let warmup: f64 = arg(&args, "--warmup").unwrap_or_else(|| "2".into()).parse()?;
    let threads: usize = arg(&args, "--threads").unwrap_or_else(|| "1".into()).parse()?;
    let stream = args.iter().any(|a| a == "--stream");
    let connections: usize = arg(&args, "--connections").unwrap_or_else(|| "0".into()).parse()?;
    let compare = arg(&args, "--compare-url");
    let slice_ms: u64 = arg(&args, "--slice-ms").unwrap_or_else(|| "1000".into()).parse()?;
    let settle_ms: u64 = arg(&args, "--settle-ms").unwrap_or_else(|| "400".into()).parse()?;
    if !(rate > 0.0 && seconds > 0.0) || slice_ms == 0 || settle_ms >= slice_ms {
        return Err("--rate, --seconds and --slice-ms must be positive, and --settle-ms below --slice-ms".into());
    }
    let body = serde_json::json!({
        "model": "mock-gpt-4o",
        "stream": stream,
        "messages": [{"role": "user", "content": "Benchmark question: what is the capital of France?"}],
    })
    .to_string();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(threads.max(1)).enable_all().build()?;
    let mut urls = vec![url];
    urls.extend(compare);
    let two = urls.len() > 1;
    let run = Run {
        body: Bytes::from(body),
        rate,
        seconds,
        warmup,
        connections,
        slice: Duration::from_millis(slice_ms),
        settle: if two { Duration::from_millis(settle_ms) } else { Duration::ZERO },
    };
    let report = rt.block_on(run.go(urls))?;
    println!("{report}");
    Ok(())
}

struct Run {
    body: Bytes,
    rate: f64,
    seconds: f64,
    warmup: f64,
    connections: usize,
    /// With two targets: how long each holds the schedule before the other's turn.
    slice: Duration,
    /// With two targets: the start of each slice, not measured.
    settle: Duration,
}

/// One target: where, its places, what it measured.
#[derive(Clone)]
struct Target {
    uri: hyper::Uri,
    places: Option<Arc<tokio::sync::Semaphore>>,
    samples: Arc<Mutex<Samples>>,
}

impl Run {
    async fn go(self, urls: Vec<String>) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
        let Run { body, rate, seconds, warmup, connections, slice, settle } = self;
        let mut targets = Vec::new();
        for url in &urls {
            targets.push(Target {
                uri: url.parse()?,
                places: (connections > 0).then(|| Arc::new(tokio::sync::Semaphore::new(connections))),
                samples: Arc::new(Mutex::new(Samples::default())),
            });
        }
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).pool_max_idle_per_host(4096).build(http);
        let interval = Duration::from_secs_f64(1.0 / rate);
        let start = Instant::now() + Duration::from_millis(50);
        let total = ((warmup + seconds) * rate) as u64;
        let measured_from = (warmup * rate) as u64;
        // Pacing runs on its own OS thread: `std::thread::sleep` wakes within tens of
        // microseconds, where the async timer rounds to whole milliseconds.
        let handle = tokio::runtime::Handle::current();
        let paced = targets.clone();
        let pacer = std::thread::spawn(move || {
            let mut tasks = Vec::with_capacity(total as usize);
            for i in 0..total {
                let offset = interval.mul_f64(i as f64);
                let scheduled = start + offset;
                let now = Instant::now();
                if scheduled > now {
                    std::thread::sleep(scheduled - now);
                }
                let turn = (offset.as_nanos() / slice.as_nanos().max(1)) as usize % paced.len();
                let settled = offset.as_nanos() % slice.as_nanos().max(1) >= settle.as_nanos();
                let target = paced[turn].clone();
                let (client, body) = (client.clone(), body.clone());
                tasks.push(handle.spawn(async move {
                    // Held until the answer's last byte.
                    let _place = match &target.places {
                        Some(p) => p.clone().acquire_owned().await.ok(),
                        None => None,
                    };
                    one(client, target.uri, body, target.samples, scheduled, i >= measured_from && settled).await
                }));
            }
            tasks
        });
        let tasks = tokio::task::spawn_blocking(move || pacer.join()).await?.map_err(|_| "pacer panicked")?;
        for t in tasks {
            let _ = t.await;
        }
        let sent_in = (start.elapsed().as_secs_f64()).max(f64::MIN_POSITIVE);
        let share = targets.len() as f64;
        let mut reports = Vec::new();
        for (url, t) in urls.iter().zip(&targets) {
            let s = std::mem::take(&mut *t.samples.lock().map_err(|_| "poisoned")?);
            // Each target was driven at `rate` during its slices, for its share of the time.
            reports.push(summary(url, s, rate, total as f64 / sent_in, seconds / share, connections));
        }
        let mut report = reports.remove(0);
        if let Some(other) = reports.pop() {
            report["compare"] = other;
        }
        Ok(report)
    }
}

/// One target's figures.
fn summary(url: &str, mut s: Samples, rate: f64, achieved: f64, seconds: f64, connections: usize) -> serde_json::Value {
    s.latency_ms.sort_by(f64::total_cmp);
    s.overhead_ms.sort_by(f64::total_cmp);
    let pct = |v: &[f64]| {
        serde_json::json!({
            "p50": quantile(v, 0.5), "p90": quantile(v, 0.9), "p99": quantile(v, 0.99),
            "max": v.last().copied().unwrap_or(f64::NAN), "n": v.len(),
        })
    };
    serde_json::json!({
        "url": url,
        "rate": rate,
        "connections": connections,
        "achieved_rate": achieved,
        "seconds": seconds,
        "ok": s.latency_ms.len(),
        "errors": s.errors,
        "latency_ms": pct(&s.latency_ms),
        "overhead_header_ms": if s.overhead_ms.is_empty() { serde_json::Value::Null } else { pct(&s.overhead_ms) },
    })
}

/// One request, its latency measured from when it was scheduled.
async fn one(
    client: Client<HttpConnector, Full<Bytes>>,
    uri: hyper::Uri,
    body: Bytes,
    samples: Arc<Mutex<Samples>>,
    scheduled: Instant,
    measured: bool,
) {
    let req = match hyper::Request::post(uri).header("content-type", "application/json").body(Full::new(body)) {
        Ok(r) => r,
        Err(_) => return,
    };
    let result = async {
        let resp = client.request(req).await.map_err(|e| e.to_string())?;
        let ok = resp.status().is_success();
        let overhead = resp
            .headers()
            .get("x-llmscope-overhead-ms")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<f64>().ok());
        let bytes = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        if !ok || bytes.is_empty() {
            return Err("bad response".to_string());
        }
        Ok(overhead)
    }
    .await;
    let ms = scheduled.elapsed().as_secs_f64() * 1000.0;
    if !measured {
        return;
    }
    if let Ok(mut s) = samples.lock() {
        match result {
            Ok(overhead) => {
                s.latency_ms.push(ms);
                if let Some(o) = overhead {
                    s.overhead_ms.push(o);
                }
            }
            Err(_) => s.errors += 1,
        }
    }
}
