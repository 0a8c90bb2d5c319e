//! The native ingest API: `POST /api/v1/calls` with a JSON array of calls.
//!
//! Each item is validated exactly as an imported line is (llmscope's own call schema —
//! `docs/api.md` — or any format `llmscope import` reads), so the same item always gets the
//! same id and posting it again stores nothing twice. Valid items are appended and
//! committed before the answer: a 200/207 answer means they are durable. The answer lists
//! one id per item (`null` for rejected ones) and one error per rejected item, with its
//! index and the JSON path of the problem.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use llmscope_capture::import::{parse_line_or, ImportOptions, LineFormat};
use llmscope_core::{Call, Origin};
use serde::Serialize;
use serde_json::Value;

use crate::errors::ApiError;
use crate::App;

/// Most items accepted in one request.
pub const MAX_ITEMS: usize = 10_000;

#[derive(Debug, Serialize)]
struct ItemError {
    index: usize,
    path: String,
    message: String,
}

#[derive(Debug, Serialize)]
struct IngestAnswer {
    /// Items that were valid (stored now or already stored).
    accepted: usize,
    /// Of those, the ones newly stored.
    inserted: u64,
    /// Of those, the ones already stored (same id).
    duplicates: u64,
    rejected: usize,
    ids: Vec<Option<String>>,
    errors: Vec<ItemError>,
}

/// `POST /api/v1/assessments`: a JSON array of assessments in core's schema (what an import of
/// seed 000's enhanced lines produces), appended and committed before the answer. This is the
/// raw form `llmscope import` uses through a running server.
pub async fn post_assessments(State(app): State<Arc<App>>, req: Request) -> Response {
    let body = match crate::body::read(req.into_body(), app.config.max_body_bytes).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let mut items: Vec<llmscope_core::Assessment> = match serde_json::from_slice(&body) {
        Ok(items) => items,
        Err(e) => {
            return ApiError::bad_request("invalid_body", format!("expected a JSON array of assessments: {e}"))
                .into_response()
        }
    };
    // All or nothing (this is the importer's way in): the first bad item is named.
    if let Some((i, (field, problem))) = items.iter().enumerate().find_map(|(i, a)| a.problem().map(|p| (i, p))) {
        let mut e = ApiError::bad_request("invalid_body", format!("item {i}: {field}: {problem}"));
        e.param = Some(format!("[{i}].{field}"));
        return e.into_response();
    }
    for a in &mut items {
        a.trace_id.make_ascii_lowercase(); // as the calls' trace ids are stored
    }
    let store = app.store.clone();
    match tokio::task::spawn_blocking(move || store.append_assessments(&items)).await {
        Ok(Ok(n)) => (StatusCode::OK, Json(serde_json::json!({"accepted": n}))).into_response(),
        Ok(Err(e)) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "llmscope_error",
            "store_unavailable",
            format!("nothing was stored: {e}"),
        )
        .into_response(),
        Err(e) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "llmscope_error", "internal", e.to_string())
            .into_response(),
    }
}

pub async fn post_calls(State(app): State<Arc<App>>, req: Request) -> Response {
    match ingest(app, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn ingest(app: Arc<App>, req: Request) -> Result<Response, ApiError> {
    let body = crate::body::read(req.into_body(), app.config.max_body_bytes).await?;
    let items: Vec<Value> = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(items)) => items,
        Ok(_) => return Err(ApiError::bad_request("invalid_body", "expected a JSON array of calls")),
        Err(e) => return Err(ApiError::bad_request("invalid_json", format!("the body is not valid JSON: {e}"))),
    };
    if items.len() > MAX_ITEMS {
        return Err(ApiError::bad_request(
            "too_many_items",
            format!("{} items in one request; at most {MAX_ITEMS} are accepted", items.len()),
        ));
    }
    let opts = ImportOptions { project: app.config.project.clone(), ..Default::default() };
    let n = items.len();
    let mut ids = Vec::with_capacity(n);
    let mut errors = Vec::new();
    let mut calls: Vec<Call> = Vec::with_capacity(n);
    let mut assessments = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let bytes = serde_json::to_vec(&item).unwrap_or_default();
        match parse_line_or(&bytes, "api", index as u64, &opts, Some(LineFormat::Native)) {
            Ok(mut parsed) => {
                if matches!(parsed.call.origin, Origin::Import { ref format, .. } if format == "native") {
                    parsed.call.origin = Origin::Api;
                }
                ids.push(Some(parsed.call.id.clone()));
                calls.push(parsed.call);
                assessments.extend(parsed.assessments);
            }
            Err(e) => {
                ids.push(None);
                errors.push(ItemError { index, path: e.path, message: e.message });
            }
        }
    }
    let accepted = calls.len();
    let sink = app.store.clone();
    let outcome = tokio::task::spawn_blocking(move || -> Result<_, String> {
        let out =
            if calls.is_empty() { Default::default() } else { sink.append_calls(&calls).map_err(|e| e.to_string())? };
        if !assessments.is_empty() {
            sink.append_assessments(&assessments).map_err(|e| e.to_string())?;
        }
        Ok(out)
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r)
    .map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "llmscope_error",
            "store_unavailable",
            format!("nothing was stored: {e}"),
        )
    })?;
    let status = match (accepted, errors.len()) {
        (_, 0) => StatusCode::OK,
        (0, _) => StatusCode::BAD_REQUEST,
        _ => StatusCode::MULTI_STATUS,
    };
    let answer = IngestAnswer {
        accepted,
        inserted: outcome.inserted,
        duplicates: outcome.duplicates,
        rejected: errors.len(),
        ids,
        errors,
    };
    Ok((status, Json(answer)).into_response())
}
