//! `GET /v1/models` and `GET /v1/models/{id}`: the configured models as OpenAI `model` objects.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::wire::{error_response, json_response, push_json_str, push_list, push_num};
use crate::AppState;

/// The `created` time of the listed models.
const MODELS_CREATED: u64 = 1_715_367_049;

/// The `GET /v1/models` body (rendered once, when the router is built).
pub(crate) fn render_list(models: &[String]) -> String {
    let mut out = String::with_capacity(32 + models.len() * 96);
    out.push_str("{\"object\":\"list\",\"data\":[");
    push_list(&mut out, models, |out, id| render_model(out, id));
    out.push_str("]}");
    out
}

fn render_model(out: &mut String, id: &str) {
    out.push_str("{\"id\":");
    push_json_str(out, id);
    out.push_str(",\"object\":\"model\",\"created\":");
    push_num(out, MODELS_CREATED);
    out.push_str(",\"owned_by\":\"llmscope-mock\"}");
}

/// `GET /v1/models`.
pub(crate) async fn list(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(denied) = crate::endpoint::check_key(&st.cfg, &headers) {
        return denied;
    }
    json_response(StatusCode::OK, st.models_body.clone())
}

/// `GET /v1/models/{id}`: the model, or a 404 when it is not configured.
pub(crate) async fn get(State(st): State<Arc<AppState>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if let Some(denied) = crate::endpoint::check_key(&st.cfg, &headers) {
        return denied;
    }
    if st.cfg.models.contains(&id) {
        let mut body = String::with_capacity(96 + id.len());
        render_model(&mut body, &id);
        json_response(StatusCode::OK, body)
    } else {
        error_response(
            StatusCode::NOT_FOUND,
            &format!("The model '{id}' does not exist"),
            "invalid_request_error",
            Some("model"),
            Some("model_not_found"),
        )
    }
}
