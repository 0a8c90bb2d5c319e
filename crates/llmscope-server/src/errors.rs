//! OpenAI-shaped error responses: `{"error": {"message", "type", "param", "code"}}`, the body
//! every OpenAI SDK knows how to raise. llmscope's own errors use type `llmscope_error`
//! (proxy faults: `upstream_error`) and a machine-readable `code`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::json;

/// An error llmscope answers itself (the upstream never saw the request, or failed).
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub code: &'static str,
    pub message: String,
    pub param: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, kind, code, message: message.into(), param: None }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", code, message)
    }

    /// A store's failure to answer a query: the query's fault (400 `invalid_query`) or the
    /// store's (500 `store_error`, for instance a database out of memory).
    pub fn store(e: &llmscope_core::store::StoreError) -> Self {
        match e {
            llmscope_core::store::StoreError::BadQuery(_) => Self::bad_request("invalid_query", e.to_string()),
            _ => Self::new(StatusCode::INTERNAL_SERVER_ERROR, "llmscope_error", "store_error", e.to_string()),
        }
    }

    pub fn upstream(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self::new(status, "upstream_error", code, message)
    }

    /// OpenAI's error object: `{"message", "type", "param", "code"}`.
    fn object(&self) -> serde_json::Value {
        json!({"message": self.message, "type": self.kind, "param": self.param, "code": self.code})
    }

    pub fn body(&self) -> Bytes {
        Bytes::from(json!({"error": self.object()}).to_string())
    }

    /// The error as the Responses API's `error` event, for such a stream whose headers were
    /// already sent: typed (`"type": "error"`, `code`, `message`) as that API's clients parse
    /// it, and with the nested `error` object the OpenAI SDKs raise as an `APIError`.
    pub fn responses_sse_event(&self) -> Bytes {
        let v = json!({"type": "error", "code": self.code, "message": self.message, "param": self.param, "error": self.object()});
        Bytes::from(format!("event: error\ndata: {v}\n\n"))
    }

    /// The error as one SSE event, for a stream whose headers were already sent.
    pub fn sse_event(&self) -> Bytes {
        let mut out = b"data: ".to_vec();
        out.extend_from_slice(&self.body());
        out.extend_from_slice(b"\n\n");
        Bytes::from(out)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, self.body()).into_response();
        resp.headers_mut().insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        resp
    }
}
