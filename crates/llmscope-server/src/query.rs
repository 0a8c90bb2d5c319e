//! `POST /api/v1/calls/query`: lists stored calls while the server holds the store.
//!
//! Body: `{"filter": <CallFilter>, "order": "newest_first" | "oldest_first" | "slowest_first",
//! "limit": 50, "after": <page key>}` (all optional; `limit` at most 10,000). Answer:
//! `{"total": <matching calls>, "calls": [<call>…], "next": <page key>}`, where `next` is
//! there only when more calls match: send it back as `after` for the next page (keyset
//! paging, so calls stored between pages are neither repeated nor skipped).
//! `llmscope calls` sends this when it finds the data directory held by a running server, a
//! page at a time.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use llmscope_core::store::{CallOrder, PageKey};
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
    /// Where the previous page ended (its answer's `next`).
    pub after: Option<PageKey>,
}

pub async fn query_calls(State(app): State<Arc<App>>, body: axum::body::Bytes) -> Response {
    let q: CallQuery = match crate::body::parse_query(&body, "query") {
        Ok(q) => q,
        Err(e) => return e.into_response(),
    };
    if let Some(p) = q.filter.problem() {
        return ApiError::bad_request("invalid_query", format!("filter: {p}")).into_response();
    }
    if let Some(p) = q.after.as_ref().and_then(PageKey::problem) {
        return ApiError::bad_request("invalid_query", format!("after: {p}")).into_response();
    }
    let limit = q.limit.unwrap_or(50).min(MAX_LIMIT);
    let store = app.store.clone();
    let result = tokio::task::spawn_blocking(move || {
        // One call more than asked tells whether there is a next page.
        let mut calls = store.list_calls_after(&q.filter, q.order, q.after.as_ref(), limit + 1)?;
        let next = (calls.len() > limit).then(|| {
            calls.truncate(limit);
            calls.last().map(PageKey::of)
        });
        let total = store.count_calls(&q.filter)?;
        Ok::<_, llmscope_core::store::StoreError>((total, calls, next.flatten()))
    })
    .await;
    match result {
        Ok(Ok((total, calls, next))) => {
            let mut body = json!({"total": total, "calls": calls});
            if let Some(next) = next {
                body["next"] = json!(next);
            }
            (StatusCode::OK, Json(body)).into_response()
        }
        Ok(Err(e)) => ApiError::store(&e).into_response(),
        Err(e) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "llmscope_error", "internal", e.to_string())
            .into_response(),
    }
}
