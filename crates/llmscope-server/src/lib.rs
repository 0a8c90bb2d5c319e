//! llmscope's HTTP server.
//!
//! - [`proxy`]: the OpenAI-compatible logging proxy (`/v1/*`), streaming included
//!   ([`stream`]), recording each exchange ([`exchange`]) with the caller's metadata
//!   headers ([`meta`]).
//! - [`ingest`]: `POST /api/v1/calls`, the native ingest API.
//! - [`query`]: `POST /api/v1/calls/query`, reading calls while the server holds the store
//!   (what `llmscope calls` uses when a server runs); [`report`]: `POST /api/v1/report`,
//!   the report's JSON while the server runs (what `llmscope report` uses then).
//! - [`health`]: `/healthz`, `/readyz`.
//! - [`models`]: `GET /v1/models`, merged over several upstreams as requests are routed.
//! - [`limit`]: `max_in_flight`, answering 503 beyond it.
//! - [`recorder`]: the bounded write batcher that keeps storage off the request path, with
//!   its spill directory.
//!
//! The server sees storage only through core's traits ([`Store`]); the binary opens it.

mod body;
pub mod config;
pub mod errors;
pub mod exchange;
mod health;
mod ingest;
mod limit;
pub mod meta;
mod models;
pub mod priority;
mod proxy;
pub mod query;
pub mod recorder;
pub mod report;
mod stream;
pub mod tokens;
pub mod upstream;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::routing::{any, get, post};
use axum::Router;
use llmscope_core::store::{CallSink, Store};
use tokio::net::TcpListener;

pub use config::{RecorderConfig, ServerConfig, Timeouts, Upstream};
pub use recorder::{Recorder, RecorderStats, ReplayOutcome};

/// Shared state of a running server.
pub struct App {
    pub config: ServerConfig,
    pub routes: upstream::Routes,
    pub client: upstream::HttpClient,
    pub recorder: Arc<Recorder>,
    pub store: Arc<dyn Store>,
    /// Set when shutdown begins: `/readyz` answers 503.
    pub draining: AtomicBool,
    /// Permits for proxied requests (`max_in_flight`); `None`: no limit.
    pub in_flight: Option<Arc<tokio::sync::Semaphore>>,
    /// Requests refused because `max_in_flight` were being handled.
    pub overloaded: std::sync::atomic::AtomicU64,
    /// Set when the shutdown grace period is over: requests still waiting for the upstream
    /// are cut, answered with an error and recorded with what had arrived.
    pub cut: tokio::sync::watch::Sender<bool>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("config", &self.config).finish()
    }
}

/// The routes.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        // Other methods on these paths (a CORS preflight's OPTIONS, OpenAI's `GET
        // /v1/chat/completions` listing stored completions) go to the upstream as they are.
        .route("/v1/chat/completions", post(proxy::record).fallback(proxy::passthrough))
        .route("/v1/completions", post(proxy::record).fallback(proxy::passthrough))
        .route("/v1/embeddings", post(proxy::record).fallback(proxy::passthrough))
        .route("/v1/responses", post(proxy::record).fallback(proxy::passthrough))
        .route("/v1/models", any(models::list))
        .route("/v1/{*rest}", any(proxy::passthrough))
        .route("/api/v1/calls", post(ingest::post_calls))
        .route("/api/v1/calls/query", post(query::query_calls))
        .route("/api/v1/assessments", post(ingest::post_assessments))
        .route("/api/v1/report", post(report::report))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .fallback(|| async {
            errors::ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "invalid_request_error",
                "not_found",
                "no such endpoint",
            )
        })
        .with_state(app)
}

/// A bound, not yet serving server.
#[derive(Debug)]
pub struct Server {
    app: Arc<App>,
    listener: TcpListener,
}

impl Server {
    /// Replays spill files a previous run left, starts the recorder and binds the listener.
    pub async fn bind(config: ServerConfig, store: Arc<dyn Store>) -> std::io::Result<Server> {
        let sink: Arc<dyn CallSink> = store.clone();
        let spill_dir = config.recorder.spill_dir.clone();
        let replay_sink = sink.clone();
        let project = config.project.clone();
        let replayed =
            tokio::task::spawn_blocking(move || recorder::replay_spill(&spill_dir, replay_sink.as_ref(), &project))
                .await
                .map_err(std::io::Error::other)??;
        if replayed.files > 0 {
            tracing::warn!(
                files = replayed.files,
                imported = replayed.imported,
                rejected = replayed.rejected,
                "replayed the calls an earlier run spilled to disk"
            );
        }
        let listener = TcpListener::bind(config.listen).await?;
        let recorder = Arc::new(Recorder::start(sink.clone(), &config.recorder));
        let in_flight = (config.max_in_flight > 0).then(|| Arc::new(tokio::sync::Semaphore::new(config.max_in_flight)));
        let app = Arc::new(App {
            routes: upstream::Routes::new(config.upstreams.clone()),
            client: upstream::client(&config.timeouts),
            recorder,
            store,
            config,
            draining: AtomicBool::new(false),
            in_flight,
            overloaded: Default::default(),
            cut: tokio::sync::watch::channel(false).0,
        });
        Ok(Server { app, listener })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn app(&self) -> Arc<App> {
        self.app.clone()
    }

    /// Serves until `shutdown` resolves, then stops accepting, lets open requests finish
    /// (at most the configured grace period), and writes every queued call before returning.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<RecorderStats> {
        let app = self.app.clone();
        let (fired_tx, mut fired_rx) = tokio::sync::watch::channel(false);
        let drain_flag = app.clone();
        let listener = axum::serve::ListenerExt::tap_io(self.listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let serve = axum::serve(listener, router(app.clone())).with_graceful_shutdown(async move {
            shutdown.await;
            drain_flag.draining.store(true, Ordering::Release);
            let _ = fired_tx.send(true);
        });
        let grace = app.config.shutdown_grace;
        let grace_over = async move {
            let _ = fired_rx.wait_for(|f| *f).await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            r = serve => r?,
            _ = grace_over => {
                let open = app.recorder.open_exchanges();
                tracing::warn!(open, "shutdown grace period over; cutting the requests still open");
                // Each records itself (failed, kind `shutdown`, with its output so far).
                app.cut.send_replace(true);
            }
        }
        // Every exchange begun is recorded before the queue is written: those just cut, and
        // streams whose callers left as the connections closed (bounded, in case one is stuck).
        let waited = std::time::Instant::now();
        while app.recorder.open_exchanges() > 0 && waited.elapsed() < CUT_WAIT {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let recorder = app.recorder.clone();
        let stats = tokio::task::spawn_blocking(move || recorder.shutdown()).await.map_err(std::io::Error::other)?;
        Ok(stats)
    }
}

/// How long the requests cut at the end of the shutdown grace period may take to record.
const CUT_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
