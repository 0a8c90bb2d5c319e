//! The life of a generation request, shared by `/v1/chat/completions`, `/v1/completions` and
//! `/v1/embeddings`: count it, resolve its [`Settings`], parse and validate the body, apply the faults that
//! act before generation, deliver the [`Answer`] (paced server-sent events, or one JSON body once it is
//! "generated", cut short by a `cut` fault), and tag the response with a request id. What differs per
//! endpoint is an [`Endpoint`].

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Map, Value};

use crate::config::{Fault, MockConfig};
use crate::request::{parse_body, Settings};
use crate::sse::{cut_json_response, sse_response, Ending, Events};
use crate::stats::RequestGuard;
use crate::wire::{error_response, json_response, status_fault, ApiError};
use crate::AppState;

/// One generation endpoint: how it validates a request and renders the answer.
pub(crate) trait Endpoint {
    /// A validated request and the answer decided for it.
    type Plan;

    /// Validates the request body and decides the answer.
    fn plan(cfg: &MockConfig, req: &Map<String, Value>, settings: &Settings) -> Result<Self::Plan, ApiError>;

    /// The requested model (named in the errors of `status` faults).
    fn model(plan: &Self::Plan) -> &str;

    /// Renders the answer to request number `n`.
    fn answer(plan: Self::Plan, settings: &Settings, n: u64) -> Answer;
}

/// A rendered answer, ready to go out.
#[derive(Debug)]
pub(crate) enum Answer {
    /// Server-sent events, released on their schedule, then ending as the [`Ending`] says.
    Stream(Events, Ending),
    /// One JSON body, sent `after` this long; under a `cut` fault, part of it is sent after the latency and
    /// the connection dropped instead.
    Json { body: String, after: Duration },
}

/// The handler of endpoint `E`; the guard counts the response as completed, or as cancelled if the client
/// goes away first.
pub(crate) async fn handler<E: Endpoint>(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (n, guard) = st.stats.begin();
    let response = handle::<E>(&st, n, &headers, body, &guard).await;
    guard.complete();
    with_request_id(response, n)
}

async fn handle<E: Endpoint>(
    st: &AppState,
    n: u64,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    guard: &RequestGuard,
) -> Response {
    if let Some(denied) = check_key(&st.cfg, headers) {
        return denied;
    }
    let settings = match Settings::resolve(&st.cfg, headers, n) {
        Ok(settings) => settings,
        Err(err) => return err.into_response(),
    };
    let plan = match parse_body(body).and_then(|req| E::plan(&st.cfg, &req, &settings)) {
        Ok(plan) => plan,
        Err(err) => return err.into_response(),
    };
    if let Some(response) = prelude(st, &settings, E::model(&plan)).await {
        return response;
    }
    match E::answer(plan, &settings, n) {
        Answer::Stream(events, ending) => sse_response(events.into_body(ending, guard.transfer())),
        Answer::Json { body, after } => {
            if let Some(Fault::Cut { .. }) = settings.fault {
                sleep(settings.latency).await;
                return cut_json_response(body, guard.transfer());
            }
            sleep(after).await;
            json_response(StatusCode::OK, body)
        }
    }
}

/// Applies the faults that act before generation: `status` answers with an error (after the latency),
/// `hang` never answers (until the server shuts down), `first-byte-ms` delays the response. `None` means go
/// on and generate.
async fn prelude(st: &AppState, settings: &Settings, model: &str) -> Option<Response> {
    match settings.fault {
        Some(Fault::Status(code)) => {
            sleep(settings.latency).await;
            Some(status_fault(code, model))
        }
        Some(Fault::Hang) => {
            st.shutdown_signal().await;
            Some(error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "The server is shutting down.",
                "server_error",
                None,
                None,
            ))
        }
        Some(Fault::FirstByteMs(ms)) => {
            sleep(Duration::from_millis(ms)).await;
            None
        }
        _ => None,
    }
}

/// Sets `x-request-id: req_mock_<n>`, as OpenAI sends a request id.
fn with_request_id(mut response: Response, n: u64) -> Response {
    if let Ok(value) = HeaderValue::from_str(&format!("req_mock_{n}")) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// Sleeps for `d` (without touching the timer when it is zero).
async fn sleep(d: Duration) {
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

/// OpenAI's answer to a missing or wrong key, when the mock is configured with one.
pub(crate) fn check_key(cfg: &MockConfig, headers: &HeaderMap) -> Option<Response> {
    let want = cfg.api_key.as_deref()?;
    let given = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if given.and_then(|g| g.strip_prefix("Bearer ")) == Some(want) {
        return None;
    }
    let message = match given {
        None => "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        Some(_) => "Incorrect API key provided.",
    };
    Some(error_response(StatusCode::UNAUTHORIZED, message, "invalid_request_error", None, Some("invalid_api_key")))
}
