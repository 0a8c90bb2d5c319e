//! `POST /api/v1/calls/query`: lists stored calls while the server holds the store.
//!
//! Body: `{"filter": <CallFilter>, "order": "newest_first" | "oldest_first" | "slowest_first",
//! "limit": 50}` (all optional). Answer: `{"total": <matching calls>, "calls": [<call>…]}`.
//! `llmscope calls` sends this when it finds the data directory held by a running server.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use llmscope_core::store::CallOrder;
use llmscope_core::CallFilter;
use serde::Deserialize;
use serde_json::json;

use crate::errors::ApiError;
use crate::App;

/// Most calls one query returns.
pub const MAX_LIMIT: usize = 10_000;

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallQuery {
    pub filter: CallFilter,
    pub order: CallOrder,
    pub limit: Option<usize>,
}

pub async fn query_calls(State(app): State<Arc<App>>, body: axum::body::Bytes) -> Response {
    let q: CallQuery = match crate::body::parse_query(&body, "query") {
        Ok(q) => q,
        Err(e) => return e.into_response(),
    };
    if let Some(p) = q.filter.problem() {
        return ApiError::bad_request("invalid_query", format!("filter: {p}")).into_response();
    }
    let limit = q.limit.unwrap_or(50).min(MAX_LIMIT);
    let store = app.store.clone();
    let result = tokio::task::spawn_blocking(move || {
        let calls = store.list_calls(&q.filter, q.order, limit)?;
        let total = store.count_calls(&q.filter)?;
        Ok::<_, llmscope_core::store::StoreError>((total, calls))
    })
    .await;
    match result {
        Ok(Ok((total, calls))) => (StatusCode::OK, Json(json!({"total": total, "calls": calls}))).into_response(),
        Ok(Err(e)) => ApiError::bad_request("invalid_query", e.to_string()).into_response(),
        Err(e) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "llmscope_error", "internal", e.to_string())
            .into_response(),
    }
}
