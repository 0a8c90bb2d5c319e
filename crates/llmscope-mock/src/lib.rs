//! A mock OpenAI-compatible LLM server for tests, the demo and the proxy benchmark: the only fake in
//! llmscope, so its wire format matches a real OpenAI/vLLM server byte for byte.
//!
//! Endpoints: `POST /v1/chat/completions` (text, JSON mode, tool calls; streaming or not),
//! `POST /v1/completions` (legacy), `POST /v1/embeddings`, `GET /v1/models`, `GET /v1/models/{id}`, and
//! `GET /mock/stats` (`{"requests","completed","cancelled"}`). Answers are deterministic functions of the
//! question; timing (latency, time to first token, token rate), answer length, usage reporting and faults
//! come from [`MockConfig`] and can be overridden per request with `x-mock-*` headers (see [`router`]).

mod chat;
mod chunks;
mod completions;
mod config;
mod embeddings;
mod endpoint;
mod models;
mod request;
mod responses;
mod sse;
mod stats;
mod text;
mod wire;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::Router;
use tokio::sync::watch;

pub use config::{parse_fault, parse_faults, Fault, MockConfig};

use chat::Chat;
use completions::Completions;
use embeddings::Embeddings;
use endpoint::handler;
use stats::Stats;
use wire::{error_response, json_response};

/// The largest request body accepted (long contexts and inline images are big).
const BODY_LIMIT: usize = 64 * 1024 * 1024;
/// How long [`serve`] waits for in-flight responses after the shutdown signal before returning anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Shared by all handlers.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) cfg: MockConfig,
    pub(crate) stats: Arc<Stats>,
    /// The `GET /v1/models` body, rendered once.
    models_body: String,
    /// Becomes `true` when the server shuts down (ends hanging requests).
    shutdown: watch::Receiver<bool>,
    /// Keeps the channel open for a router that is never shut down.
    _shutdown_tx: Option<watch::Sender<bool>>,
}

impl AppState {
    /// Resolves when the server shuts down; never for a plain [`router`].
    pub(crate) async fn shutdown_signal(&self) {
        wait_for_shutdown(self.shutdown.clone()).await;
    }
}

async fn wait_for_shutdown(mut rx: watch::Receiver<bool>) {
    if rx.wait_for(|&down| down).await.is_err() {
        // The sender is gone without a shutdown: never.
        std::future::pending::<()>().await;
    }
}

fn build(cfg: MockConfig, shutdown: watch::Receiver<bool>, shutdown_tx: Option<watch::Sender<bool>>) -> Router {
    let state = Arc::new(AppState {
        models_body: models::render_list(&cfg.models),
        cfg,
        stats: Arc::new(Stats::default()),
        shutdown,
        _shutdown_tx: shutdown_tx,
    });
    Router::new()
        .route("/v1/chat/completions", post(handler::<Chat>))
        .route("/v1/completions", post(handler::<Completions>))
        .route("/v1/embeddings", post(handler::<Embeddings>))
        .route("/v1/responses", post(handler::<responses::Responses>))
        .route("/v1/models", get(models::list))
        .route("/v1/models/{id}", get(models::get))
        .route("/mock/stats", get(stats))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// The mock server's routes.
///
/// Per-request overrides through request headers: `x-mock-fault: <fault | none>` (see [`parse_fault`]),
/// `x-mock-ttft-ms`, `x-mock-latency-ms`, `x-mock-tokens-per-s`, `x-mock-output-tokens`, `x-mock-usage: 0|1`.
/// A bad value gives a 400 naming the header.
///
/// `GET /mock/stats` counts the generation requests (chat, completions, embeddings, responses) in `requests`, those
/// whose response the mock finished producing in `completed` (errors and injected faults included: a `cut`
/// counts once the connection is dropped), and those whose client went away before the response finished
/// (a stream dropped half-way, a hanging or slow request given up) in `cancelled`; the rest are in flight.
pub fn router(cfg: MockConfig) -> Router {
    let (tx, rx) = watch::channel(false);
    build(cfg, rx, Some(tx))
}

/// Serves the mock on `listener` until `shutdown` resolves, then waits (a few seconds at most) for the
/// responses in flight; hanging requests are answered with a 503 at shutdown.
pub async fn serve(
    listener: tokio::net::TcpListener,
    cfg: MockConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (tx, rx) = watch::channel(false);
    let app = build(cfg, rx.clone(), None);
    tokio::spawn(async move {
        shutdown.await;
        let _ = tx.send(true);
    });
    let listener = listener.tap_io(|stream| {
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!("llmscope-mock: cannot set TCP_NODELAY: {err}");
        }
    });
    let graceful = std::future::IntoFuture::into_future(
        axum::serve(listener, app).with_graceful_shutdown(wait_for_shutdown(rx.clone())),
    );
    let deadline = async move {
        wait_for_shutdown(rx).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        result = graceful => result,
        () = deadline => Ok(()),
    }
}

async fn stats(State(st): State<Arc<AppState>>) -> Response {
    json_response(StatusCode::OK, st.stats.to_json())
}

async fn not_found(method: Method, uri: Uri) -> Response {
    no_route(StatusCode::NOT_FOUND, "Invalid URL", &method, &uri)
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    no_route(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed", &method, &uri)
}

/// The error for a request no route takes: `<what> (<METHOD> <path>)`, as OpenAI words it.
fn no_route(status: StatusCode, what: &str, method: &Method, uri: &Uri) -> Response {
    error_response(status, &format!("{what} ({method} {})", uri.path()), "invalid_request_error", None, None)
}
