//! The native ingest API and the write batcher, against a real DuckDB store.

mod common;

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use common::start;
use llmscope_core::store::{AppendOutcome, CallOrder, CallReader, CallSink, StoreError};
use llmscope_core::{Assessment, Call, CallFilter, Origin};
use llmscope_mock::MockConfig;
use llmscope_server::{recorder, Recorder, RecorderConfig};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posted_calls_are_validated_like_imported_lines_and_committed() {
    let fx = start(MockConfig::default(), |_| {}).await;
    let items = json!([
        {"start_time": "2025-03-01T10:00:00Z", "model": "gpt-4o", "input_text": "hi", "output": "hello",
         "latency_ms": 420.5, "user_id": "u1", "usage": {"input": 3, "output": 2}},
        {"start_time": "2025-03-01T10:00:01Z", "model": "gpt-4o", "latency_ms": "fast"},
        {"timestamp": 1740823202, "request_id": "req-9", "model": "qwen2.5-7b", "input": "q", "output": "a",
         "metadata": {"total_latency_ms": 900, "prompt_tokens": 5, "completion_tokens": 7}},
        "not an object"
    ]);
    let (status, _, text) = fx.post("/api/v1/calls", &[], &items.to_string()).await;
    assert_eq!(status, 207, "{text}");
    let answer: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(answer["accepted"], 2);
    assert_eq!(answer["inserted"], 2);
    assert_eq!(answer["rejected"], 2);
    let ids = answer["ids"].as_array().expect("ids");
    assert!(ids[0].is_string() && ids[1].is_null() && ids[2].is_string() && ids[3].is_null());
    assert_eq!(answer["errors"][0]["index"], 1);
    assert_eq!(answer["errors"][0]["path"], "latency_ms");
    assert_eq!(answer["errors"][1]["index"], 3);

    // Acknowledged means committed: the calls are readable at once, without any flush.
    let stored = fx.store.list_calls(&CallFilter::default(), CallOrder::OldestFirst, 10).expect("list");
    assert_eq!(stored.len(), 2);
    let first = stored.iter().find(|c| Some(&Value::String(c.id.clone())) == ids.first()).expect("first");
    assert_eq!(first.origin, Origin::Api);
    assert_eq!((first.latency_ms, first.user_id.as_deref()), (Some(420.5), Some("u1")));
    let seed001 = stored.iter().find(|c| c.request_id.as_deref() == Some("req-9")).expect("seed001 item");
    assert_eq!((seed001.usage.input, seed001.usage.output), (Some(5), Some(7)));

    // The same items again store nothing twice.
    let (status, _, text) = fx.post("/api/v1/calls", &[], &json!([items[0], items[2]]).to_string()).await;
    assert_eq!(status, 200, "{text}");
    let again: Value = serde_json::from_str(&text).expect("json");
    assert_eq!((again["inserted"].as_u64(), again["duplicates"].as_u64()), (Some(0), Some(2)));
    assert_eq!(again["ids"], json!([ids[0], ids[2]]));

    for (body, code) in [("{\"a\": 1}", "invalid_body"), ("[", "invalid_json")] {
        let (status, _, text) = fx.post("/api/v1/calls", &[], body).await;
        assert_eq!(status, 400);
        assert!(text.contains(code), "{text}");
    }
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_and_call_queries_answer_while_the_server_holds_the_store() {
    let fx = start(MockConfig { ttft_ms: 1, ..MockConfig::default() }, |_| {}).await;
    for i in 0..3 {
        let body = json!({"model": "mock-gpt-4o", "messages": [{"role": "user", "content": format!("q{i}")}]});
        let (status, _, _) = fx
            .post(
                "/v1/chat/completions",
                &[("x-mock-fault", if i == 2 { "status=500" } else { "none" })],
                &body.to_string(),
            )
            .await;
        assert!(status == 200 || status == 500);
    }
    fx.calls().await; // flushed
    let (status, _, text) = fx.post("/api/v1/report", &[], &json!({"tz": "Asia/Shanghai"}).to_string()).await;
    assert_eq!(status, 200, "{text}");
    let report: Value = serde_json::from_str(&text).expect("report json");
    assert_eq!(report["requests"]["total"], 3);
    assert_eq!(report["requests"]["errors"], 1);
    let (status, _, text) = fx.post("/api/v1/report", &[], &json!({"tz": "Mars/Base"}).to_string()).await;
    assert_eq!(status, 400, "{text}");
    // A window at the end of chrono's calendar answers (empty), it does not panic the handler.
    let far = json!({"filter": {"since": "+262142-12-31T23:59:59Z"}, "tz": "America/New_York"});
    let (status, _, text) = fx.post("/api/v1/report", &[], &far.to_string()).await;
    assert_eq!(status, 200, "{text}");
    let report: Value = serde_json::from_str(&text).expect("report json");
    assert_eq!(report["requests"]["total"], 0);

    let q = json!({"filter": {"status": "error"}, "order": "oldest_first", "limit": 10});
    let (status, _, text) = fx.post("/api/v1/calls/query", &[], &q.to_string()).await;
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["total"], 1);
    assert_eq!(v["calls"][0]["error_kind"], "upstream_5xx");
    let (status, _, _) = fx.post("/api/v1/calls/query", &[], "{\"limit\": \"x\"}").await;
    assert_eq!(status, 400);
    // A mistyped filter is an error, not every call (nor none of them, silently).
    for bad in [json!({"filter": {"modle": ["x"]}}), json!({"filter": {"flags": ["nonsense"]}})] {
        let (status, _, text) = fx.post("/api/v1/calls/query", &[], &bad.to_string()).await;
        assert_eq!(status, 400, "{bad}: {text}");
        let (status, _, text) = fx.post("/api/v1/report", &[], &bad.to_string()).await;
        assert_eq!(status, 400, "{bad}: {text}");
    }
    let trace = v["calls"][0]["trace_id"].as_str().unwrap_or_default().to_ascii_uppercase();
    let q = json!({"filter": {"trace_id": trace}});
    let (_, _, text) = fx.post("/api/v1/calls/query", &[], &q.to_string()).await;
    assert_eq!(serde_json::from_str::<Value>(&text).expect("json")["total"], 1, "trace ids match in any case");

    // Pages: each answer's `next` sent back as `after` lists the rest, in order, until an
    // answer without one.
    let ids = |v: &Value| -> Vec<String> {
        v["calls"].as_array().map(|a| a.iter().map(|c| c["id"].to_string()).collect()).unwrap_or_default()
    };
    for order in ["newest_first", "oldest_first", "slowest_first"] {
        let (_, _, text) =
            fx.post("/api/v1/calls/query", &[], &json!({"order": order, "limit": 100}).to_string()).await;
        let whole: Value = serde_json::from_str(&text).expect("json");
        assert!(whole.get("next").is_none(), "one page holds every call: {text}");
        let (mut paged, mut after, mut pages) = (Vec::new(), Value::Null, 0);
        loop {
            let mut q = json!({"order": order, "limit": 2});
            if !after.is_null() {
                q["after"] = after.clone();
            }
            let (status, _, text) = fx.post("/api/v1/calls/query", &[], &q.to_string()).await;
            assert_eq!(status, 200, "{text}");
            let page: Value = serde_json::from_str(&text).expect("json");
            assert_eq!(page["total"], whole["total"]);
            paged.extend(ids(&page));
            pages += 1;
            match page.get("next") {
                Some(next) => after = next.clone(),
                None => break,
            }
            assert!(pages < 100, "paging does not end");
        }
        assert_eq!(paged, ids(&whole), "{order}");
        assert_eq!(pages, ids(&whole).len().div_ceil(2).max(1), "{order}: no empty last page");
    }
    for (body, says) in [
        (r#"{"after": {"id": 3}}"#, "invalid type"),
        (r#"{"after": {"start_us": 0, "id": "a", "start": 1}}"#, "unknown field `start`"),
        (
            r#"{"after": {"start_us": 9223372036854775807, "id": "a"}}"#,
            "after: start_us 9223372036854775807: not a time",
        ),
        (
            r#"{"after": {"start_us": 0, "id": "a", "latency_ms": "NaN"}}"#,
            "after.latency_ms: NaN is not a finite number",
        ),
        ("[]", "expected a JSON object"),
        (r#"{"filter": [null, "2025-01-08T00:00:00Z"]}"#, "filter: expected an object"),
        (r#"{"after": [1736726394648000, "a"]}"#, "after: expected an object"),
        (r#"{"after": {"start_us": "1", "id": "a"}}"#, "after.start_us: invalid type: string"),
        (r#"{"filter": {"since": "yesterday"}}"#, "filter.since: "),
        (r#"{"filter": {"since": "2025-02-01T00:00:00Z", "until": "2025-01-01T00:00:00Z"}}"#, "must be before until"),
        (r#"{"filter": {"trace_id": "xyz"}}"#, "is not 32 hexadecimal digits"),
        (r#"{"limit": 5, "limit": 10}"#, "duplicate field `limit`"),
        (r#"{"filter": {"text": "TEXT"}}"#, "characters, at most 1000 are searched for"),
    ] {
        let body = body.replace("TEXT", &"x".repeat(1001));
        let (status, _, text) = fx.post("/api/v1/calls/query", &[], &body).await;
        assert_eq!(status, 400, "{body} is refused: {text}");
        assert!(text.contains(says), "{body}: {text}");
    }
    for (body, says) in [
        (r#"{"prices": {"m": [1, 2]}}"#, "prices.m: expected an object"),
        (r#"{"slow_threshold_ms": -5}"#, "slow_threshold_ms -5: must be a positive number"),
    ] {
        let (status, _, text) = fx.post("/api/v1/report", &[], body).await;
        assert_eq!(status, 400, "{body} is refused: {text}");
        assert!(text.contains(says), "{body}: {text}");
    }
    fx.stop().await;
}

/// Paging slowest first over HTTP with latencies that serde_json would read back one unit in
/// the last place off (2035.0000000000002 is 2.035 × 1000): the page key keeps them exactly,
/// so no call of a tied latency is skipped or listed twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowest_first_pages_keep_latencies_exactly() {
    let fx = start(MockConfig::default(), |_| {}).await;
    let t0 = chrono::DateTime::parse_from_rfc3339("2025-03-01T10:00:00Z").expect("time").to_utc();
    let latencies = [2.035 * 1000.0, 2035.0, 2035.0, 2.035 * 1000.0, 2035.0 - 2.3e-13, 2035.0, 2.035 * 1000.0];
    assert_ne!(latencies[0], 2035.0, "the case needs a latency just above 2035");
    let calls: Vec<Call> = latencies
        .iter()
        .enumerate()
        .map(|(i, l)| Call {
            id: format!("{i:032x}"),
            project: "default".into(),
            trace_id: format!("{:032x}", i + 100),
            span_id: format!("{i:016x}"),
            start_time: t0 + chrono::Duration::seconds(i as i64),
            latency_ms: Some(*l),
            ..Default::default()
        })
        .collect();
    fx.store.append_calls(&calls).expect("append");
    let ids = |v: &Value| -> Vec<String> {
        v["calls"].as_array().map(|a| a.iter().map(|c| c["id"].to_string()).collect()).unwrap_or_default()
    };
    let (_, _, text) =
        fx.post("/api/v1/calls/query", &[], &json!({"order": "slowest_first", "limit": 100}).to_string()).await;
    let whole: Value = serde_json::from_str(&text).expect("json");
    let (mut paged, mut after) = (Vec::new(), Value::Null);
    for _ in 0..20 {
        let mut q = json!({"order": "slowest_first", "limit": 1});
        if !after.is_null() {
            q["after"] = after.clone();
        }
        let (status, _, text) = fx.post("/api/v1/calls/query", &[], &q.to_string()).await;
        assert_eq!(status, 200, "{text}");
        let page: Value = serde_json::from_str(&text).expect("json");
        paged.extend(ids(&page));
        match page.get("next") {
            Some(next) => after = next.clone(),
            None => break,
        }
    }
    assert_eq!(paged, ids(&whole));
    assert_eq!(paged.len(), latencies.len());
    fx.stop().await;
}

/// A real store behind a gate that the test opens and closes: a store that stalls.
struct Gated {
    inner: Box<dyn llmscope_core::store::Store>,
    open: Mutex<bool>,
    cv: Condvar,
}

impl Gated {
    fn set(&self, open: bool) {
        *self.open.lock().expect("gate") = open;
        self.cv.notify_all();
    }
}

impl CallSink for Gated {
    fn append_calls(&self, calls: &[Call]) -> Result<AppendOutcome, StoreError> {
        let mut open = self.open.lock().expect("gate");
        while !*open {
            open = self.cv.wait(open).expect("gate");
        }
        drop(open);
        self.inner.append_calls(calls)
    }

    fn append_assessments(&self, a: &[Assessment]) -> Result<u64, StoreError> {
        self.inner.append_assessments(a)
    }
}

fn call(i: u32) -> Call {
    Call {
        id: format!("{i:032x}"),
        project: "default".into(),
        trace_id: format!("{:032x}", i + 1_000_000),
        span_id: format!("{:016x}", i + 1),
        start_time: chrono::Utc::now(),
        input_text: format!("question {i}"),
        output: Some("answer".into()),
        origin: Origin::Proxy,
        ..Default::default()
    }
}

/// A closed gated store in a new directory, and a recorder configuration with a small queue
/// and batches over it.
fn stalled(replay_after: Option<Duration>) -> (tempfile::TempDir, Arc<Gated>, RecorderConfig) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gated = Arc::new(Gated {
        inner: llmscope_store::open(&dir.path().to_string_lossy()).expect("store"),
        open: Mutex::new(false),
        cv: Condvar::new(),
    });
    let cfg = RecorderConfig {
        queue_capacity: 8,
        batch_size: 4,
        flush_interval: Duration::from_millis(10),
        spill_dir: dir.path().join("spill"),
        replay_after,
        ..RecorderConfig::default()
    };
    (dir, gated, cfg)
}

#[test]
fn a_stalled_store_never_blocks_recording_and_loses_nothing() {
    // Here the spilled calls wait for the next start (the next test replays them live).
    let (_dir, gated, cfg) = stalled(None);
    let spill_dir = cfg.spill_dir.clone();
    let rec = Recorder::start(gated.clone(), &cfg);
    // The store is stalled: every one of these returns at once (the test would hang otherwise).
    for i in 0..100 {
        rec.record_call(call(i));
    }
    // At most the queue plus the batch the writer holds can wait; the rest overflowed to the
    // spill thread (or, when its queue was full too, was spilled by the caller). Wait for the
    // spill thread to write them.
    let mut stats = rec.stats();
    for _ in 0..1000 {
        if stats.spilled >= 100 - 8 - 4 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
        stats = rec.stats();
    }
    assert_eq!(stats.recorded, 100);
    assert_eq!(stats.written, 0);
    assert!(stats.spilled >= 100 - 8 - 4, "{stats:?}");
    let spilled_lines: usize = std::fs::read_dir(&spill_dir)
        .expect("spill dir")
        .map(|e| std::fs::read_to_string(e.expect("entry").path()).expect("read").lines().count())
        .sum();
    assert_eq!(spilled_lines as u64, stats.spilled);

    gated.set(true);
    let done = rec.shutdown();
    assert_eq!(done.written + done.spilled, 100, "{done:?}");

    // The next start replays the spill files into the store: all 100 calls are there.
    let out = recorder::replay_spill(&spill_dir, gated.as_ref(), "default").expect("replay");
    assert_eq!(out.imported, done.spilled);
    assert_eq!(gated.inner.count_calls(&CallFilter::default()).expect("count"), 100);
    let replayed = gated.inner.list_calls(&CallFilter::default(), CallOrder::OldestFirst, 200).expect("list");
    assert!(replayed.iter().all(|c| c.origin == Origin::Proxy), "spilled calls keep their origin");
    assert_eq!(
        std::fs::read_dir(&spill_dir).expect("dir").filter(|e| e.as_ref().is_ok_and(|e| e.path().is_file())).count(),
        0
    );
}

fn spill_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "jsonl"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn spilled_calls_are_stored_once_the_store_recovers_without_a_restart() {
    let (_dir, gated, cfg) = stalled(Some(Duration::from_millis(50)));
    let spill_dir = cfg.spill_dir.clone();
    let rec = Recorder::start(gated.clone(), &cfg);
    for i in 0..100 {
        rec.record_call(call(i));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while rec.stats().spilled < 100 - 8 - 4 {
        assert!(std::time::Instant::now() < deadline, "{:?}", rec.stats());
        std::thread::sleep(Duration::from_millis(10));
    }
    gated.set(true);
    // The writer drains its queue, and once nothing has been spilled for a while the spill
    // file is replayed and removed, with the server still running.
    let stored = || gated.inner.count_calls(&CallFilter::default()).expect("count");
    while stored() < 100 || !spill_files(&spill_dir).is_empty() {
        assert!(std::time::Instant::now() < deadline, "{} stored, {:?}", stored(), rec.stats());
        std::thread::sleep(Duration::from_millis(10));
    }
    let stats = rec.stats();
    assert_eq!((stats.written + stats.spilled, stats.replayed), (100, stats.spilled), "{stats:?}");
    // Calls spilled after a replay go to a new file, replayed in turn.
    gated.set(false);
    for i in 100..120 {
        rec.record_call(call(i));
    }
    while rec.stats().spilled < stats.spilled + 20 - 8 - 4 {
        assert!(std::time::Instant::now() < deadline, "{:?}", rec.stats());
        std::thread::sleep(Duration::from_millis(10));
    }
    gated.set(true);
    while stored() < 120 || !spill_files(&spill_dir).is_empty() {
        assert!(std::time::Instant::now() < deadline, "{} stored, {:?}", stored(), rec.stats());
        std::thread::sleep(Duration::from_millis(10));
    }
    let done = rec.shutdown();
    assert_eq!((done.written + done.spilled, done.replayed), (120, done.spilled), "{done:?}");
    let listed = gated.inner.list_calls(&CallFilter::default(), CallOrder::OldestFirst, 200).expect("list");
    let ids: std::collections::BTreeSet<&str> = listed.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), 120, "every call once");
    assert!(listed.iter().all(|c| c.origin == Origin::Proxy), "replayed calls keep their origin");
}

/// A replay the store refuses keeps its file (for a later try, or the next start), and
/// shutdown does not wait for its next try.
#[test]
fn a_replay_the_store_refuses_keeps_its_file() {
    struct Refuses(std::sync::atomic::AtomicU64);
    impl CallSink for Refuses {
        fn append_calls(&self, _: &[Call]) -> Result<AppendOutcome, StoreError> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Err(StoreError::Backend("disk full".into()))
        }
        fn append_assessments(&self, _: &[Assessment]) -> Result<u64, StoreError> {
            Err(StoreError::Backend("disk full".into()))
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = RecorderConfig {
        spill_dir: dir.path().to_path_buf(),
        flush_interval: Duration::from_millis(10),
        replay_after: Some(Duration::from_millis(20)),
        ..RecorderConfig::default()
    };
    let sink = Arc::new(Refuses(Default::default()));
    let rec = Recorder::start(sink.clone(), &cfg);
    for i in 0..5 {
        rec.record_call(call(i));
    }
    // Three attempts by the writer, then the batch is spilled; a fourth is the replay's.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while sink.0.load(std::sync::atomic::Ordering::SeqCst) < 4 {
        assert!(std::time::Instant::now() < deadline, "{:?}", rec.stats());
        std::thread::sleep(Duration::from_millis(10));
    }
    let stats = rec.shutdown();
    assert_eq!((stats.spilled, stats.replayed, stats.failed_batches), (5, 0, 1), "{stats:?}");
    let files = spill_files(dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    let lines = std::fs::read_to_string(&files[0]).expect("spill file").lines().count();
    assert_eq!(lines, 5);
}

#[test]
fn a_failing_store_spills_the_batch_after_retries() {
    struct Broken;
    impl CallSink for Broken {
        fn append_calls(&self, _: &[Call]) -> Result<AppendOutcome, StoreError> {
            Err(StoreError::Backend("disk full".into()))
        }
        fn append_assessments(&self, _: &[Assessment]) -> Result<u64, StoreError> {
            Err(StoreError::Backend("disk full".into()))
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = RecorderConfig { spill_dir: dir.path().to_path_buf(), ..RecorderConfig::default() };
    let rec = Recorder::start(Arc::new(Broken), &cfg);
    for i in 0..5 {
        rec.record_call(call(i));
    }
    let stats = rec.shutdown();
    assert_eq!((stats.written, stats.spilled, stats.failed_batches), (0, 5, 1));
}

/// A store that commits a batch and then reports an error (as DuckDB does when the commit is
/// in its log but the checkpoint after it fails): the retry finds the calls stored, and they
/// are counted as written once, stored once.
#[test]
fn a_batch_committed_before_its_error_is_stored_and_counted_once() {
    struct CommitsThenFails {
        inner: Box<dyn llmscope_core::store::Store>,
        failed: std::sync::atomic::AtomicBool,
    }
    impl CallSink for CommitsThenFails {
        fn append_calls(&self, calls: &[Call]) -> Result<AppendOutcome, StoreError> {
            self.inner.append_calls(calls)
        }
        fn append_new_calls(&self, calls: &[Call]) -> Result<AppendOutcome, StoreError> {
            let out = self.inner.append_new_calls(calls)?;
            if !self.failed.swap(true, std::sync::atomic::Ordering::SeqCst) {
                return Err(StoreError::Backend("FATAL Error: checkpoint failed after the commit".into()));
            }
            Ok(out)
        }
        fn append_assessments(&self, a: &[Assessment]) -> Result<u64, StoreError> {
            self.inner.append_assessments(a)
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = Arc::new(CommitsThenFails {
        inner: llmscope_store::open(&dir.path().to_string_lossy()).expect("store"),
        failed: Default::default(),
    });
    let cfg = RecorderConfig { spill_dir: dir.path().join("spill"), ..RecorderConfig::default() };
    let rec = Recorder::start(sink.clone(), &cfg);
    for i in 0..5 {
        rec.record_call(call(i));
    }
    let stats = rec.shutdown();
    assert_eq!((stats.written, stats.duplicates, stats.spilled, stats.failed_batches), (5, 0, 0, 0), "{stats:?}");
    assert_eq!(sink.inner.count_calls(&CallFilter::default()).expect("count"), 5);
}

/// The threads writing to the store run below the request handlers' priority (Linux, where
/// each thread has its own nice value): a checkpoint must not delay answers.
#[cfg(target_os = "linux")]
#[test]
fn the_threads_writing_to_the_store_yield_to_the_request_handlers() {
    struct Nothing;
    impl CallSink for Nothing {
        fn append_calls(&self, calls: &[Call]) -> Result<AppendOutcome, StoreError> {
            Ok(AppendOutcome { inserted: calls.len() as u64, duplicates: 0 })
        }
        fn append_assessments(&self, a: &[Assessment]) -> Result<u64, StoreError> {
            Ok(a.len() as u64)
        }
    }
    use llmscope_server::priority::{current_thread_nice, thread_nices, thread_policies};
    let dir = tempfile::tempdir().expect("tempdir");
    // 3 steps below this thread (a value no other test's recorder ends at: they use 10).
    let base = current_thread_nice().expect("this thread's nice value");
    assert!(base <= 16, "the test process runs at nice {base}: no room to go lower");
    let want = base + 3;
    let cfg = RecorderConfig { spill_dir: dir.path().to_path_buf(), nice: 3, ..RecorderConfig::default() };
    let rec = Recorder::start(Arc::new(Nothing), &cfg);
    rec.record_call(call(1));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    // Thread names as Linux keeps them: at most 15 bytes.
    while !(thread_nices("llmscope-record").contains(&want) && thread_nices("llmscope-spill").contains(&want)) {
        assert!(
            std::time::Instant::now() < deadline,
            "recorder {:?}, spill {:?}",
            thread_nices("llmscope-record"),
            thread_nices("llmscope-spill")
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Under the idle policy (5) too (every recorder of these tests is, by default).
    for name in ["llmscope-record", "llmscope-spill"] {
        let policies = thread_policies(name);
        assert!(!policies.is_empty() && policies.iter().all(|p| *p == 5), "{name}: {policies:?}");
    }
    // The calling thread (a request handler's stand-in) keeps its priority.
    assert_eq!(current_thread_nice(), Some(base));
    assert_eq!(rec.shutdown().written, 1);
}

/// DuckDB's own worker threads (which do part of every checkpoint) are restarted by the
/// recorder after it lowered its priority, so they run at its priority too.
#[cfg(target_os = "linux")]
#[test]
fn the_stores_worker_threads_run_at_the_recorders_priority() {
    use llmscope_server::priority::{current_thread_nice, threads};
    let dir = tempfile::tempdir().expect("tempdir");
    let store = llmscope_store::DuckStore::open_dir(&dir.path().join("data")).expect("store");
    store.set_threads(3).expect("threads");
    // 4 steps below this thread: a value no other test's threads end at.
    let base = current_thread_nice().expect("this thread's nice value");
    assert!(base <= 15, "the test process runs at nice {base}: no room to go lower");
    let want = base + 4;
    // Threads started by the recorder's thread inherit its name as well as its priority.
    let lowered = || threads().into_iter().filter(|(name, nice)| *nice == want && name == "llmscope-record").count();
    let cfg = RecorderConfig { spill_dir: dir.path().join("spill"), nice: 4, ..RecorderConfig::default() };
    let store = Arc::new(store);
    let rec = Recorder::start(store.clone(), &cfg);
    rec.record_call(call(1));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    // The recorder, and DuckDB's two workers (threads = 3 counts the calling thread).
    while lowered() < 3 {
        assert!(std::time::Instant::now() < deadline, "threads: {:?}", threads());
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(rec.shutdown().written, 1);
    assert_eq!(store.count_calls(&CallFilter::default()).expect("count"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assessments_are_checked_before_they_are_stored() {
    let fx = start(MockConfig::default(), |_| {}).await;
    let good = Assessment {
        id: "a1".into(),
        project: "default".into(),
        trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
        call_id: None,
        name: "quality".into(),
        value: llmscope_core::AssessmentValue::Number(4.0),
        source: llmscope_core::AssessmentSource {
            source_type: llmscope_core::SourceType::Human,
            source_id: "u1".into(),
        },
        rationale: None,
        metadata: Default::default(),
        overrides: None,
        created_at: chrono::Utc::now(),
    };
    let (status, _, text) = fx.post("/api/v1/assessments", &[], &serde_json::to_string(&[&good]).expect("json")).await;
    assert_eq!((status, text.contains("\"accepted\":1")), (200, true), "{text}");
    let bad = |f: &dyn Fn(&mut Assessment)| {
        let mut a = good.clone();
        a.id = "a2".into();
        f(&mut a);
        serde_json::to_string(&[&good, &a]).expect("json")
    };
    for (body, named) in [
        (bad(&|a| a.trace_id = "NOT-HEX".into()), "item 1: trace_id"),
        (bad(&|a| a.name = " ".into()), "item 1: name"),
        (
            bad(&|a| a.created_at = chrono::DateTime::from_timestamp(-5_000_000_000, 0).unwrap_or_default()),
            "item 1: created_at",
        ),
    ] {
        let (status, _, text) = fx.post("/api/v1/assessments", &[], &body).await;
        assert_eq!(status, 400, "{text}");
        assert!(text.contains(named), "{named}: {text}");
    }
    fx.stop().await;
}
