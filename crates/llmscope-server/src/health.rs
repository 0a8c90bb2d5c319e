//! `/healthz` (the process answers) and `/readyz` (it accepts traffic: not draining, the
//! spill replay done, the write queue not full, a place free under `max_in_flight`), both
//! with the recorder's counters and the requests refused for overload.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::App;

pub async fn healthz(State(app): State<Arc<App>>) -> Response {
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "recorder": app.recorder.stats(),
        "overloaded": app.overloaded.load(Ordering::Relaxed),
    }))
    .into_response()
}

pub async fn readyz(State(app): State<Arc<App>>) -> Response {
    let stats = app.recorder.stats();
    let (status, why) = if app.draining.load(Ordering::Acquire) {
        (StatusCode::SERVICE_UNAVAILABLE, Some("shutting down"))
    } else if stats.queued >= stats.capacity {
        (StatusCode::SERVICE_UNAVAILABLE, Some("the write queue is full; calls are being spilled to disk"))
    } else if app.in_flight.as_ref().is_some_and(|s| s.available_permits() == 0) {
        (StatusCode::SERVICE_UNAVAILABLE, Some("server.max_in_flight requests are being handled; new ones get 503"))
    } else {
        (StatusCode::OK, None)
    };
    let body = json!({
        "status": if why.is_none() { "ready" } else { "unavailable" },
        "reason": why,
        "upstreams": app.config.upstreams.iter().map(|u| &u.name).collect::<Vec<_>>(),
        "recorder": stats,
        "overloaded": app.overloaded.load(Ordering::Relaxed),
    });
    (status, Json(body)).into_response()
}
