//! Writing the wire format: JSON text helpers (the mock writes its JSON by hand, in OpenAI's key order and
//! without intermediate values), the pieces the endpoints share (the `"id"…"system_fingerprint"` head of a
//! completion, the `usage` object), JSON responses, and OpenAI-shaped errors
//! (`{"error":{"message","type","param","code"}}`) including those of injected `status=<code>` faults.

use std::fmt::{Display, Write};

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;

/// Appends `s` to `out` as a JSON string literal (with quotes).
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Appends a number (or anything else whose `Display` is valid JSON).
pub(crate) fn push_num(out: &mut String, n: impl Display) {
    // Writing to a `String` cannot fail.
    let _ = write!(out, "{n}");
}

/// Appends `value` as a JSON string literal, or `null`.
pub(crate) fn push_json_opt(out: &mut String, value: Option<&str>) {
    match value {
        Some(s) => push_json_str(out, s),
        None => out.push_str("null"),
    }
}

/// Appends `items` comma-separated, each written by `push` (the brackets are the caller's).
pub(crate) fn push_list<T>(out: &mut String, items: impl IntoIterator<Item = T>, mut push: impl FnMut(&mut String, T)) {
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push(out, item);
    }
}

/// The fields a completion object or chunk starts with (without braces):
/// `"id":"<id_prefix><n>","object":…,"created":…,"model":…,"system_fingerprint":"fp_mock"`.
pub(crate) fn push_head(out: &mut String, id_prefix: &str, n: u64, object: &str, created: u64, model: &str) {
    out.push_str("\"id\":\"");
    out.push_str(id_prefix);
    push_num(out, n);
    out.push_str("\",\"object\":\"");
    out.push_str(object);
    out.push_str("\",\"created\":");
    push_num(out, created);
    out.push_str(",\"model\":");
    push_json_str(out, model);
    out.push_str(",\"system_fingerprint\":\"fp_mock\"");
}

/// A `usage` object: `{"prompt_tokens":…,"completion_tokens":…,"total_tokens":…}`, without
/// `completion_tokens` when `completion` is `None` (embeddings), and with `details` (more fields, each
/// after a comma) before the closing brace.
pub(crate) fn push_usage(out: &mut String, prompt: usize, completion: Option<usize>, details: &str) {
    out.push_str("{\"prompt_tokens\":");
    push_num(out, prompt);
    if let Some(completion) = completion {
        out.push_str(",\"completion_tokens\":");
        push_num(out, completion);
    }
    out.push_str(",\"total_tokens\":");
    push_num(out, prompt + completion.unwrap_or(0));
    out.push_str(details);
    out.push('}');
}

/// A JSON response with `body` as is.
pub(crate) fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// An OpenAI error: `{"error":{"message":…,"type":…,"param":…,"code":…}}`.
pub(crate) fn error_response(
    status: StatusCode,
    message: &str,
    kind: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Response {
    let mut body = String::with_capacity(message.len() + 96);
    body.push_str("{\"error\":{\"message\":");
    push_json_str(&mut body, message);
    body.push_str(",\"type\":");
    push_json_str(&mut body, kind);
    body.push_str(",\"param\":");
    push_json_opt(&mut body, param);
    body.push_str(",\"code\":");
    push_json_opt(&mut body, code);
    body.push_str("}}");
    json_response(status, body)
}

/// A rejected request (kept small, unlike a `Response`): an `invalid_request_error` with this status.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
    param: Option<String>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: String, param: Option<&str>) -> ApiError {
        ApiError { status, message, param: param.map(str::to_owned) }
    }

    /// The OpenAI-shaped error response.
    pub(crate) fn into_response(self) -> Response {
        error_response(self.status, &self.message, "invalid_request_error", self.param.as_deref(), None)
    }
}

/// A 400 `invalid_request_error` about `param`.
pub(crate) fn invalid_request(message: &str, param: Option<&str>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message.to_owned(), param)
}

/// The response of an injected `status=<code>` fault, worded as OpenAI words it.
pub(crate) fn status_fault(code: u16, model: &str) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let invalid = "invalid_request_error";
    let (message, kind, code_str): (String, &str, Option<&str>) = match status.as_u16() {
        400 => ("Invalid request.".into(), invalid, None),
        401 => ("Incorrect API key provided.".into(), invalid, Some("invalid_api_key")),
        403 => ("You are not allowed to sample from this model.".into(), invalid, None),
        404 => (
            format!("The model `{model}` does not exist or you do not have access to it."),
            invalid,
            Some("model_not_found"),
        ),
        408 => ("Request timed out.".into(), invalid, None),
        413 => ("Request too large.".into(), invalid, None),
        429 => (
            format!("Rate limit reached for {model} on requests per min (RPM). Please try again in 1s."),
            "requests",
            Some("rate_limit_exceeded"),
        ),
        500 => {
            ("The server had an error while processing your request. Sorry about that!".into(), "server_error", None)
        }
        502 => ("Bad gateway.".into(), "server_error", None),
        503 => ("The engine is currently overloaded, please try again later.".into(), "server_error", None),
        504 => ("Gateway timeout.".into(), "server_error", None),
        other if other >= 500 => (format!("The server had an error (status {other})."), "server_error", None),
        other => (format!("The request failed (status {other})."), invalid, None),
    };
    let mut response = error_response(status, &message, kind, None, code_str);
    if status == StatusCode::TOO_MANY_REQUESTS {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escaping() {
        let mut out = String::new();
        push_json_str(&mut out, "a\"b\\c\nd\u{1}é中");
        assert_eq!(serde_json::from_str::<String>(&out).ok().as_deref(), Some("a\"b\\c\nd\u{1}é中"));
    }
}
