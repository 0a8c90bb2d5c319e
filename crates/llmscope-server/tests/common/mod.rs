//! Shared fixture for the server tests: a real mock upstream, a real server on loopback and a
//! real DuckDB store in a temporary directory.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use llmscope_core::store::{CallOrder, Store};
use llmscope_core::{Call, CallFilter};
use llmscope_mock::MockConfig;
use llmscope_server::{RecorderStats, Server, ServerConfig, Upstream};
use serde_json::Value;
use tokio::sync::oneshot;

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub store: Arc<dyn Store>,
    pub addr: SocketAddr,
    pub mock_addr: SocketAddr,
    pub app: Arc<llmscope_server::App>,
    pub client: HttpClient,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<RecorderStats>>>,
    mock_stop: Option<oneshot::Sender<()>>,
}

impl std::fmt::Debug for Fixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixture").field("addr", &self.addr).field("mock_addr", &self.mock_addr).finish()
    }
}

pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Starts a mock upstream with `mock` and a server over it, adjusted by `adjust`.
pub async fn start(mock: MockConfig, adjust: impl FnOnce(&mut ServerConfig)) -> Fixture {
    let mock_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind mock");
    let mock_addr = mock_listener.local_addr().expect("mock addr");
    let (mock_stop, mock_rx) = oneshot::channel::<()>();
    tokio::spawn(llmscope_mock::serve(mock_listener, mock, async {
        let _ = mock_rx.await;
    }));
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::from(llmscope_store::open(&dir.path().to_string_lossy()).expect("open store"));
    let mut cfg = ServerConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        upstreams: vec![Upstream::new("mock", &format!("http://{mock_addr}/v1"))],
        ..ServerConfig::default()
    };
    cfg.recorder.spill_dir = dir.path().join("spill");
    cfg.recorder.flush_interval = Duration::from_millis(20);
    cfg.shutdown_grace = Duration::from_secs(5);
    adjust(&mut cfg);
    let server = Server::bind(cfg, store.clone()).await.expect("bind server");
    let addr = server.local_addr().expect("server addr");
    let app = server.app();
    let (stop, stop_rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(server.run(async {
        let _ = stop_rx.await;
    }));
    Fixture {
        dir,
        store,
        addr,
        mock_addr,
        app,
        client: client(),
        stop: Some(stop),
        server: Some(handle),
        mock_stop: Some(mock_stop),
    }
}

impl Fixture {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends a request; returns the response with its body still open.
    pub async fn send(&self, path: &str, headers: &[(&str, &str)], body: &str) -> hyper::Response<Incoming> {
        let mut req = hyper::Request::post(self.url(path)).header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.client.request(req.body(Full::new(Bytes::from(body.to_string()))).expect("request")).await.expect("send")
    }

    /// Sends a request and reads the whole answer.
    pub async fn post(&self, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, hyper::HeaderMap, String) {
        let resp = self.send(path, headers, body).await;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (status, headers, String::from_utf8_lossy(&bytes).into_owned())
    }

    pub async fn mock_stats(&self) -> Value {
        let uri: hyper::Uri = format!("http://{}/mock/stats", self.mock_addr).parse().expect("uri");
        let resp = self.client.get(uri).await.expect("stats");
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        serde_json::from_slice(&bytes).expect("stats json")
    }

    /// Waits until everything recorded so far is written, then reads every stored call.
    pub async fn calls(&self) -> Vec<Call> {
        let rec = self.app.recorder.clone();
        tokio::task::spawn_blocking(move || rec.flush()).await.expect("flush");
        self.store.list_calls(&CallFilter::default(), CallOrder::OldestFirst, 10_000).expect("list")
    }

    /// The one call with this id.
    pub async fn call(&self, id: &str) -> Call {
        let calls = self.calls().await;
        calls.into_iter().find(|c| c.id == id).unwrap_or_else(|| panic!("call {id} not stored"))
    }

    /// Stops the server (draining the recorder) and the mock.
    pub async fn stop(mut self) -> (RecorderStats, Arc<dyn Store>, tempfile::TempDir) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let stats = match self.server.take() {
            Some(h) => h.await.expect("server task").expect("server run"),
            None => RecorderStats::default(),
        };
        if let Some(s) = self.mock_stop.take() {
            let _ = s.send(());
        }
        (stats, self.store.clone(), self.dir)
    }
}

/// The `data:` payloads of an SSE body, in order.
pub fn sse_data(body: &str) -> Vec<String> {
    body.split("\n\n")
        .filter_map(|ev| {
            let data: Vec<&str> = ev.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
            (!data.is_empty()).then(|| data.join("\n"))
        })
        .collect()
}

pub fn header<'a>(h: &'a hyper::HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}
