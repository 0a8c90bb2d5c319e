//! The OpenAI-compatible logging proxy: `/v1/chat/completions`, `/v1/completions`,
//! `/v1/embeddings` and `/v1/responses` are forwarded and recorded; every other `/v1/*` path
//! is passed through unrecorded, to the upstream its body's model (or, for
//! `/v1/models/{id}`, the model in its path) routes to. `GET /v1/models` over several
//! upstreams is merged by [`crate::models`].
//!
//! The caller's body is forwarded byte for byte (except `stream_options.include_usage`,
//! added when the upstream is configured to report stream usage and the caller did not ask:
//! the usage chunk and the `"usage":null` fields that implies are then removed from what the
//! caller receives). Streams are passed on event by event as they arrive while a copy is
//! joined for the record ([`crate::stream`]).

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::Value;

use crate::errors::ApiError;
use crate::exchange::{random_id, Exchange, PendingCall, RequestHead, Response as Upstreamed};
use crate::meta::{CallerMeta, CALL_ID_HEADER, OVERHEAD_HEADER, TRACE_ID_HEADER};
use crate::upstream;
use crate::App;

/// Handles a recorded endpoint.
pub async fn record(State(app): State<Arc<App>>, req: Request) -> Response {
    let permit = match crate::limit::admit(&app) {
        Ok(p) => p,
        Err(overloaded) => return *overloaded,
    };
    let resp = match forward(app, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    crate::limit::hold(resp, permit)
}

async fn forward(app: Arc<App>, req: Request) -> Result<Response, ApiError> {
    let t0 = Instant::now();
    let start = chrono::Utc::now();
    let (parts, body) = req.into_parts();
    let body = crate::body::read(body, app.config.max_body_bytes).await?;
    let head = parse_head(&body)?;
    let meta = CallerMeta::from_headers(&parts.headers)?;
    let call_id = random_id(32);
    let trace_id = meta.trace_id.clone().unwrap_or_else(|| random_id(32));
    let span_id = random_id(16);
    let stream = head.stream == Some(true);
    // The Responses API reports usage in its last event and has no `stream_options`.
    let responses_api = parts.uri.path().ends_with("/responses");
    let exchange = |meta: CallerMeta, upstream: String, provider: Option<String>, request: Bytes| Exchange {
        project: app.config.project.clone(),
        call_id: call_id.clone(),
        trace_id: trace_id.clone(),
        span_id: span_id.clone(),
        meta,
        upstream,
        provider,
        request,
        start,
        started: t0,
        latency: None,
        ttft: None,
        status_code: None,
        response: Upstreamed::None,
        error: None,
        cancelled: false,
        stream,
        responses_api,
    };
    let Some(up) = app.routes.route(head.model.as_deref()) else {
        // A well-formed call no upstream serves is recorded: the callers of a model nobody
        // routed should show in the report.
        let err = no_upstream(&app, head.model.as_deref());
        let mut pending = PendingCall::new(app.recorder.clone(), exchange(meta, String::new(), None, body));
        if let Some(ex) = pending.get_mut() {
            ex.status_code = Some(err.status.as_u16());
        }
        let kind = if err.code == "model_not_found" { "model_not_found" } else { "no_upstream" };
        pending.finish(Upstreamed::None, Some((kind, err.message.clone())));
        return Ok(Ids { trace_id, call_id }.error(err, t0.elapsed(), Instant::now()));
    };
    let path = parts.uri.path_and_query().map_or(parts.uri.path(), |p| p.as_str());
    let uri =
        upstream::target_uri(up, path).map_err(|m| ApiError::upstream(StatusCode::BAD_GATEWAY, "bad_upstream", m))?;

    let caller_wants_usage = head
        .stream_options
        .as_ref()
        .and_then(Option::as_ref)
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        == Some(true);
    let inject = stream
        && up.stream_usage
        && !caller_wants_usage
        && !parts.uri.path().ends_with("/embeddings")
        && !responses_api;
    // Whether the body was really rewritten decides whether the usage chunk is stripped.
    let (upstream_body, inject) = match inject.then(|| with_include_usage(&body, &head)).flatten() {
        Some(rewritten) => (rewritten, true),
        None => (body.clone(), false),
    };
    let mut fwd = upstream::request(up, parts.method.clone(), uri, &parts.headers, upstream_body)
        .map_err(|m| ApiError::upstream(StatusCode::BAD_GATEWAY, "bad_upstream", m))?;

    // The upstream (vLLM, say, with tracing on) continues the trace under this call's span,
    // with the caller's sampling decision; a trace started here drops the caller's tracestate.
    let flags = meta.trace_flags.as_deref().unwrap_or("01");
    if let Ok(tp) = axum::http::HeaderValue::from_str(&format!("00-{trace_id}-{span_id}-{flags}")) {
        fwd.headers_mut().insert("traceparent", tp);
    }
    if meta.trace_flags.is_none() {
        fwd.headers_mut().remove("tracestate");
    }
    let (upstream_name, provider) = (up.name.clone(), up.provider.clone());
    let mut pending = PendingCall::new(app.recorder.clone(), exchange(meta, upstream_name, provider, body));
    let ids = Ids { trace_id, call_id };
    let timeouts = app.config.timeouts;
    let deadline = tokio::time::Instant::from_std(t0) + timeouts.total;
    let pre = t0.elapsed();

    let mut cut = app.cut.subscribe();
    let answer = tokio::select! {
        biased;
        a = tokio::time::timeout(timeouts.first_byte, app.client.request(fwd)) => a,
        _ = crate::stream::cut_signal(&mut cut) => {
            return Ok(ids.cut_off(pending, pre, Instant::now()));
        }
    };
    // llmscope's own time in an error answer: before forwarding, and from here on (the wait
    // for the upstream is not llmscope's).
    let t_failed = Instant::now();
    let resp = match answer {
        Err(_) => {
            let msg = format!("upstream {} sent no response within {:?}", up.name, timeouts.first_byte);
            let err = ApiError::upstream(StatusCode::GATEWAY_TIMEOUT, "upstream_timeout", msg.clone());
            pending.finish(Upstreamed::None, Some(("first_byte_timeout", msg)));
            return Ok(ids.error(err, pre, t_failed));
        }
        Ok(Err(e)) => {
            let (status, kind, msg) = classify_client_error(&up.name, &e);
            let err = ApiError::upstream(status, kind, msg.clone());
            pending.finish(Upstreamed::None, Some((kind, msg)));
            return Ok(ids.error(err, pre, t_failed));
        }
        Ok(Ok(r)) => r,
    };
    let t_headers = Instant::now();
    let status = resp.status();
    if let Some(ex) = pending.get_mut() {
        ex.status_code = Some(status.as_u16());
    }
    let is_sse = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().starts_with("text/event-stream"));
    let mut headers = upstream::response_headers(resp.headers());

    if is_sse && status.is_success() {
        let limits = crate::stream::Limits { deadline, cut };
        let body = crate::stream::pump(resp.into_body(), pending, inject, limits, &ids);
        ids.stamp(&mut headers, pre + t_headers.elapsed());
        let mut out = Response::new(body);
        *out.status_mut() = status;
        *out.headers_mut() = headers;
        return Ok(out);
    }

    let collected = tokio::select! {
        biased;
        c = tokio::time::timeout_at(deadline, resp.into_body().collect()) => Some(c),
        _ = crate::stream::cut_signal(&mut cut) => None,
    };
    let t_body = Instant::now();
    let Some(collected) = collected else {
        if let Some(ex) = pending.get_mut() {
            ex.status_code = Some(StatusCode::SERVICE_UNAVAILABLE.as_u16());
        }
        return Ok(ids.cut_off(pending, pre, t_body));
    };
    let bytes = match collected {
        Err(_) => {
            let msg = format!("upstream {} did not finish its response within {:?}", up.name, timeouts.total);
            if let Some(ex) = pending.get_mut() {
                ex.status_code = Some(StatusCode::GATEWAY_TIMEOUT.as_u16());
            }
            pending.finish(Upstreamed::None, Some(("total_timeout", msg.clone())));
            return Ok(ids.error(
                ApiError::upstream(StatusCode::GATEWAY_TIMEOUT, "upstream_timeout", msg),
                pre,
                t_body,
            ));
        }
        Ok(Err(e)) => {
            let msg = format!("upstream {} closed the connection mid-response: {e}", up.name);
            if let Some(ex) = pending.get_mut() {
                ex.status_code = Some(StatusCode::BAD_GATEWAY.as_u16());
            }
            pending.finish(Upstreamed::None, Some(("upstream_cut", msg.clone())));
            return Ok(ids.error(ApiError::upstream(StatusCode::BAD_GATEWAY, "upstream_cut", msg), pre, t_body));
        }
        Ok(Ok(c)) => c.to_bytes(),
    };
    pending.finish(Upstreamed::Body(bytes.clone()), None);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    ids.stamp(&mut headers, pre + t_body.elapsed());
    let mut out = Response::new(Body::from(bytes));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    Ok(out)
}

/// The ids a response carries back to the caller.
pub struct Ids {
    pub trace_id: String,
    pub call_id: String,
}

impl Ids {
    /// A request cut at the end of the shutdown grace period: recorded (kind `shutdown`)
    /// and answered 503.
    fn cut_off(&self, pending: PendingCall, pre: std::time::Duration, failed: Instant) -> Response {
        pending.finish(Upstreamed::None, Some(("shutdown", crate::stream::SHUTDOWN.into())));
        self.error(crate::stream::shutdown_error(), pre, failed)
    }

    /// llmscope's own error answer, carrying the ids of the recorded call; its overhead is
    /// the time before forwarding (`pre`) and since the upstream failed (`failed`).
    fn error(&self, err: ApiError, pre: std::time::Duration, failed: Instant) -> Response {
        let mut resp = err.into_response();
        self.stamp(resp.headers_mut(), pre + failed.elapsed());
        resp
    }

    fn stamp(&self, headers: &mut HeaderMap, overhead: std::time::Duration) {
        for (name, value) in [(TRACE_ID_HEADER, &self.trace_id), (CALL_ID_HEADER, &self.call_id)] {
            if let Ok(v) = HeaderValue::from_str(value) {
                headers.insert(name, v);
            }
        }
        let ms = format!("{:.3}", overhead.as_secs_f64() * 1000.0);
        if let Ok(v) = HeaderValue::from_str(&ms) {
            headers.insert(OVERHEAD_HEADER, v);
        }
    }
}

/// Passes any other `/v1/*` request through, unrecorded (e.g. `GET /v1/models`).
pub async fn passthrough(State(app): State<Arc<App>>, req: Request) -> Response {
    let permit = match crate::limit::admit(&app) {
        Ok(p) => p,
        Err(overloaded) => return *overloaded,
    };
    crate::limit::hold(pass(app, req).await, permit)
}

async fn pass(app: Arc<App>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = match crate::body::read(body, app.config.max_body_bytes).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    // The model named by the body, or by the path of `GET /v1/models/{id}`.
    let model = serde_json::from_slice::<RequestHead>(&body).ok().and_then(|h| h.model).or_else(|| {
        let id = parts.uri.path().strip_prefix("/v1/models/").filter(|id| !id.is_empty())?;
        // The OpenAI SDKs send `meta-llama%2FLlama-3-8B` for `meta-llama/Llama-3-8B`.
        Some(percent_encoding::percent_decode_str(id).decode_utf8_lossy().into_owned())
    });
    let Some(up) = model.as_deref().and_then(|m| app.routes.route(Some(m))).or_else(|| app.routes.default_upstream())
    else {
        return no_upstream(&app, None).into_response();
    };
    let path = parts.uri.path_and_query().map_or(parts.uri.path(), |p| p.as_str());
    let fwd = match upstream::target_uri(up, path)
        .and_then(|uri| upstream::request(up, parts.method.clone(), uri, &parts.headers, body))
    {
        Ok(r) => r,
        Err(m) => return ApiError::upstream(StatusCode::BAD_GATEWAY, "bad_upstream", m).into_response(),
    };
    match tokio::time::timeout(app.config.timeouts.first_byte, app.client.request(fwd)).await {
        Err(_) => ApiError::upstream(StatusCode::GATEWAY_TIMEOUT, "upstream_timeout", "no response from the upstream")
            .into_response(),
        Ok(Err(e)) => {
            let (status, kind, msg) = classify_client_error(&up.name, &e);
            ApiError::upstream(status, kind, msg).into_response()
        }
        Ok(Ok(resp)) => {
            let status = resp.status();
            let headers = upstream::response_headers(resp.headers());
            let mut out = Response::new(Body::new(resp.into_body()));
            *out.status_mut() = status;
            *out.headers_mut() = headers;
            out
        }
    }
}

fn parse_head(body: &[u8]) -> Result<RequestHead, ApiError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(ApiError::bad_request("invalid_json", "the request body must be a JSON object"));
    }
    serde_json::from_slice::<RequestHead>(body).map_err(|e| {
        let mut err = ApiError::bad_request("invalid_json", format!("the request body is not valid: {e}"));
        if e.is_data() {
            // serde names no path; the head has three fields, so say which.
            let msg = e.to_string();
            err.param = ["model", "stream_options", "stream"].iter().find(|p| msg.contains(*p)).map(|p| p.to_string());
        }
        err
    })
}

fn no_upstream(app: &App, model: Option<&str>) -> ApiError {
    if app.routes.is_empty() {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "llmscope_error",
            "no_upstream",
            "llmscope has no upstream configured: set LLMSCOPE_UPSTREAM_URL or [[upstreams]] in the config",
        );
    }
    let mut e = ApiError::new(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "model_not_found",
        format!("no upstream is configured for model {:?}", model.unwrap_or("")),
    );
    e.param = Some("model".into());
    e
}

/// A client error with its causes, `: `-separated.
pub(crate) fn client_error_chain(e: &hyper_util::client::legacy::Error) -> String {
    let mut chain = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        src = s.source();
    }
    chain
}

/// Turns a client error into (status, kind, message) for the caller and the record.
fn classify_client_error(upstream: &str, e: &hyper_util::client::legacy::Error) -> (StatusCode, &'static str, String) {
    let chain = client_error_chain(e);
    let lower = chain.to_ascii_lowercase();
    if e.is_connect() {
        if lower.contains("timed out") || lower.contains("timeout") || lower.contains("deadline has elapsed") {
            (
                StatusCode::GATEWAY_TIMEOUT,
                "connect_timeout",
                format!("connecting to upstream {upstream} timed out: {chain}"),
            )
        } else {
            (
                StatusCode::BAD_GATEWAY,
                "upstream_unreachable",
                format!("could not connect to upstream {upstream}: {chain}"),
            )
        }
    } else {
        (StatusCode::BAD_GATEWAY, "upstream_error", format!("upstream {upstream} failed: {chain}"))
    }
}

/// The body with `stream_options.include_usage = true`, or `None` when it cannot be
/// rewritten (then it is forwarded unchanged). A body without `stream_options` (the usual
/// case) gets the member appended and is otherwise forwarded byte for byte (key order,
/// number spelling and all); one with it is re-serialised.
fn with_include_usage(body: &[u8], head: &RequestHead) -> Option<Bytes> {
    if head.stream_options.is_none() {
        // A JSON object (the head was read from it): its last byte that is not white space
        // is its closing brace.
        let end = body.iter().rposition(|b| !b.is_ascii_whitespace())?;
        if body[end] != b'}' {
            return None;
        }
        let mut out = Vec::with_capacity(body.len() + 40);
        out.extend_from_slice(&body[..end]);
        out.extend_from_slice(br#","stream_options":{"include_usage":true}"#);
        out.extend_from_slice(&body[end..]);
        return Some(out.into());
    }
    let mut v: Value = serde_json::from_slice(body).ok()?;
    let obj = v.as_object_mut()?;
    let opts = obj.entry("stream_options").or_insert_with(|| Value::Object(Default::default()));
    if opts.is_null() {
        *opts = Value::Object(Default::default());
    }
    opts.as_object_mut()?.insert("include_usage".into(), Value::Bool(true));
    serde_json::to_vec(&v).ok().map(Bytes::from)
}

#[cfg(test)]
mod tests {
    use super::{parse_head, with_include_usage as rewrite};

    fn with_include_usage(body: &[u8]) -> Option<bytes::Bytes> {
        rewrite(body, &parse_head(body).ok()?)
    }

    #[test]
    fn usage_is_asked_for_without_rewriting_the_callers_body() {
        let body = br#"{"stream": true, "model": "m", "seed": 123456789012345678901234567890, "messages": []}  "#;
        let out = with_include_usage(body).expect("rewritten");
        assert_eq!(
            std::str::from_utf8(&out).expect("utf-8"),
            r#"{"stream": true, "model": "m", "seed": 123456789012345678901234567890, "messages": [],"stream_options":{"include_usage":true}}  "#
        );
        let with =
            with_include_usage(br#"{"stream": true, "stream_options": {"include_usage": false}}"#).expect("rewritten");
        let v: serde_json::Value = serde_json::from_slice(&with).expect("json");
        assert_eq!(v["stream_options"]["include_usage"], true);
        assert!(with_include_usage(b"[1]").is_none());
        // An escaped spelling of the member is still the member: re-serialised, never doubled.
        let escaped = with_include_usage(br#"{"stream": true, "\u0073tream_options": {"include_usage": false}}"#)
            .expect("rewritten");
        let text = std::str::from_utf8(&escaped).expect("utf-8");
        assert_eq!(text.matches("stream_options").count(), 1, "{text}");
    }
}
