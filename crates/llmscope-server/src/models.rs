//! `GET /v1/models` over several upstreams.
//!
//! With one upstream the listing passes through as it is. With several, each is asked at
//! once (with the caller's headers, as a forwarded request gets them) and the answer lists
//! every model as requests are routed: a model an upstream lists is shown from that upstream
//! when a request naming it would go there, so a client (Open WebUI, Chainlit's model
//! picker) offers exactly the models that work through llmscope. An upstream that fails is
//! left out and named in `x-llmscope-upstreams-failed`; when every one fails, the first
//! upstream answer is passed on (or a 502 when none answered), with that header too. `HEAD`
//! is answered as `GET` is; the query string goes to every upstream. `GET /v1/models/{id}`
//! goes to the upstream `id` (percent-decoded) routes to ([`crate::proxy`]).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::Value;

use crate::config::Upstream;
use crate::errors::ApiError;
use crate::{upstream, App};

/// The largest model listing read from one upstream.
const MAX_LISTING_BYTES: usize = 16 << 20;

/// `/v1/models` (any method; only `GET` over several upstreams is merged).
pub async fn list(State(app): State<Arc<App>>, req: Request) -> Response {
    let listing = req.method() == Method::GET || req.method() == Method::HEAD;
    if !listing || app.routes.all().len() < 2 {
        return crate::proxy::passthrough(State(app), req).await;
    }
    let permit = match crate::limit::admit(&app) {
        Ok(p) => p,
        Err(overloaded) => return *overloaded,
    };
    // Every upstream is asked with GET: a HEAD's answer (status and headers, the server
    // leaves out the body) is the merged GET's.
    let path = req.uri().path_and_query().map_or("/v1/models", |p| p.as_str()).to_string();
    crate::limit::hold(merged(&app, &path, req.headers()).await, permit)
}

/// What one upstream answered.
enum Listing {
    Models(Vec<Value>),
    /// An HTTP answer that is not a listing: passed on when no upstream gives one.
    Refused(Response),
    Failed(String),
}

async fn merged(app: &App, path: &str, caller: &HeaderMap) -> Response {
    let ups = app.routes.all();
    let asked = ups.iter().map(|up| listing(app, up, path, caller));
    let answers = futures_util::future::join_all(asked).await;
    let mut data = Vec::new();
    let mut failed = Vec::new();
    let mut first_refusal = None;
    let mut reasons = Vec::new();
    let mut any_listed = false;
    for (up, answer) in ups.iter().zip(answers) {
        match answer {
            Listing::Models(models) => {
                any_listed = true;
                // Shown from this upstream when a request naming the model comes here.
                data.extend(models.into_iter().filter(|m| {
                    m.get("id")
                        .and_then(Value::as_str)
                        .and_then(|id| app.routes.route(Some(id)))
                        .is_some_and(|routed| std::ptr::eq(routed, up))
                }));
            }
            Listing::Refused(resp) => {
                tracing::warn!(upstream = %up.name, status = resp.status().as_u16(), "upstream refused GET /models");
                reasons.push(format!("{}: HTTP {}", up.name, resp.status().as_u16()));
                failed.push(up.name.as_str());
                first_refusal.get_or_insert(resp);
            }
            Listing::Failed(why) => {
                tracing::warn!(upstream = %up.name, error = %why, "could not list the upstream's models");
                reasons.push(format!("{}: {why}", up.name));
                failed.push(up.name.as_str());
            }
        }
    }
    let mut resp = if any_listed {
        let body = serde_json::json!({"object": "list", "data": data}).to_string();
        let mut resp = Response::new(axum::body::Body::from(body));
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        resp
    } else {
        first_refusal.unwrap_or_else(|| {
            ApiError::upstream(
                StatusCode::BAD_GATEWAY,
                "upstream_unreachable",
                format!("no upstream listed its models ({})", reasons.join("; ")),
            )
            .into_response()
        })
    };
    if !failed.is_empty() {
        // Upstream names are plain configuration strings; one that is not a valid header
        // value leaves the header out (the warning above names it).
        if let Ok(v) = HeaderValue::from_str(&failed.join(", ")) {
            resp.headers_mut().insert("x-llmscope-upstreams-failed", v);
        }
    }
    resp
}

/// Asks one upstream for its models, within the first-byte and total timeouts.
async fn listing(app: &App, up: &Upstream, path: &str, caller: &HeaderMap) -> Listing {
    let fwd = match upstream::target_uri(up, path)
        .and_then(|uri| upstream::request(up, Method::GET, uri, caller, Bytes::new()))
    {
        Ok(r) => r,
        Err(m) => return Listing::Failed(m),
    };
    let resp = match tokio::time::timeout(app.config.timeouts.first_byte, app.client.request(fwd)).await {
        Err(_) => return Listing::Failed("no response within the first-byte timeout".into()),
        Ok(Err(e)) => return Listing::Failed(crate::proxy::client_error_chain(&e)),
        Ok(Ok(r)) => r,
    };
    let status = resp.status();
    let headers = upstream::response_headers(resp.headers());
    let limited = http_body_util::Limited::new(resp.into_body(), MAX_LISTING_BYTES);
    let body = match tokio::time::timeout(app.config.timeouts.total, limited.collect()).await {
        Err(_) => return Listing::Failed("the listing did not arrive within the total timeout".into()),
        Ok(Err(e)) => return Listing::Failed(format!("reading the listing: {e}")),
        Ok(Ok(c)) => c.to_bytes(),
    };
    if !status.is_success() {
        let mut out = Response::new(axum::body::Body::from(body));
        *out.status_mut() = status;
        *out.headers_mut() = headers;
        return Listing::Refused(out);
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(mut o)) => match o.remove("data") {
            Some(Value::Array(models)) => Listing::Models(models),
            _ => Listing::Failed("the listing has no `data` array".into()),
        },
        Ok(_) => Listing::Failed("the listing is not a JSON object".into()),
        Err(e) => Listing::Failed(format!("the listing is not JSON: {e}")),
    }
}
