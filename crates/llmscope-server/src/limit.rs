//! `max_in_flight`: at most that many proxied requests at once. A request over the limit is
//! answered at once with 503 `server_overloaded` and `Retry-After: 1` (the OpenAI SDKs retry
//! it), and counted; it never reaches the upstream, so it is not a call and is not recorded.
//! A permit is held until the response's last byte, so a stream counts while it runs.

use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use tokio::sync::OwnedSemaphorePermit;

use crate::errors::ApiError;
use crate::App;

/// A permit for one request, or the 503 to answer; `Ok(None)` when there is no limit.
pub fn admit(app: &App) -> Result<Option<OwnedSemaphorePermit>, Box<Response>> {
    let Some(sem) = &app.in_flight else { return Ok(None) };
    match sem.clone().try_acquire_owned() {
        Ok(permit) => Ok(Some(permit)),
        Err(_) => {
            app.overloaded.fetch_add(1, Ordering::Relaxed);
            let mut resp = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "llmscope_error",
                "server_overloaded",
                format!(
                    "llmscope is already handling {} requests (server.max_in_flight); retry shortly",
                    app.config.max_in_flight
                ),
            )
            .into_response();
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            Err(Box::new(resp))
        }
    }
}

/// Ties the permit to the response body: released when the body is finished or dropped.
pub fn hold(resp: Response, permit: Option<OwnedSemaphorePermit>) -> Response {
    match permit {
        None => resp,
        Some(permit) => resp.map(|body| {
            Body::new(body.map_frame(move |frame| {
                let _held = &permit;
                frame
            }))
        }),
    }
}
