//! `POST /api/v1/report`: the full report while the server holds the store.
//!
//! Body (every field optional): `{"filter": <CallFilter>, "tz": "Asia/Shanghai", "top_n": 10,
//! "examples": 5, "slow_threshold_ms": 2000, "prices": {"<model>": {"input_per_mtok": …,
//! "output_per_mtok": …}}}` — `prices` adds to or overrides the built-in price table. The
//! answer is the report's JSON contract (`docs/report-schema.md`). `llmscope report` sends this
//! when a running server holds the data directory, and renders the answer itself (Markdown,
//! HTML, charts).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use llmscope_analysis::{build_report, ReportRequest};
use llmscope_core::price::{ModelPrice, PriceTable};
use llmscope_core::store::Analytics;
use llmscope_core::CallFilter;
use serde::{Deserialize, Serialize};

use crate::errors::ApiError;
use crate::App;

/// What to report on; the defaults are the CLI's.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportQuery {
    pub filter: CallFilter,
    pub tz: String,
    pub top_n: usize,
    pub examples: usize,
    pub slow_threshold_ms: f64,
    pub prices: BTreeMap<String, ModelPrice>,
}

impl Default for ReportQuery {
    fn default() -> Self {
        ReportQuery {
            filter: CallFilter::default(),
            tz: "UTC".into(),
            top_n: 10,
            examples: 5,
            slow_threshold_ms: 2000.0,
            prices: BTreeMap::new(),
        }
    }
}

pub async fn report(State(app): State<Arc<App>>, body: axum::body::Bytes) -> Response {
    let q: ReportQuery = match crate::body::parse_query(&body, "report query") {
        Ok(q) => q,
        Err(e) => return e.into_response(),
    };
    if let Some(p) = q.filter.problem() {
        return ApiError::bad_request("invalid_query", format!("filter: {p}")).into_response();
    }
    if !(q.slow_threshold_ms.is_finite() && q.slow_threshold_ms > 0.0) {
        return ApiError::bad_request(
            "invalid_query",
            format!("slow_threshold_ms {}: must be a positive number", q.slow_threshold_ms),
        )
        .into_response();
    }
    let tz = match llmscope_core::timeparse::parse_tz(&q.tz) {
        Ok(tz) => tz,
        Err(e) => return ApiError::bad_request("invalid_query", format!("tz: {e}")).into_response(),
    };
    let req = ReportRequest {
        filter: q.filter,
        tz,
        prices: PriceTable::builtin().with_overrides(&q.prices),
        top_n: q.top_n.clamp(1, 1000),
        examples: q.examples.min(100),
        slow_threshold_ms: q.slow_threshold_ms,
    };
    let store = app.store.clone();
    match tokio::task::spawn_blocking(move || {
        let analytics: &dyn Analytics = store.as_ref();
        build_report(analytics, &req)
    })
    .await
    {
        Ok(Ok(report)) => (StatusCode::OK, Json(report)).into_response(),
        Ok(Err(e)) => ApiError::store(&e).into_response(),
        Err(e) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "llmscope_error", "internal", e.to_string())
            .into_response(),
    }
}
