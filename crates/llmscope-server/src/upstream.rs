//! Talking to upstreams: routing a request to one by model name, building the forwarded
//! request (headers filtered, key substituted) and the shared HTTP client.

use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::config::{Timeouts, Upstream};
use crate::meta::PREFIX;

pub type HttpsConnector = hyper_rustls::HttpsConnector<HttpConnector>;
/// The client every upstream request goes through (connection pooling, HTTP/1.1 and 2,
/// TLS with the Mozilla roots).
pub type HttpClient = Client<HttpsConnector, Full<Bytes>>;

pub fn client(timeouts: &Timeouts) -> HttpClient {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(timeouts.connect));
    http.set_nodelay(true);
    http.enforce_http(false);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(512)
        .build(https)
}

/// Checks that `url` is an absolute `http://` or `https://` URL.
pub fn check_url(url: &str) -> Result<(), String> {
    match url.parse::<Uri>() {
        Ok(uri) if matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some() => Ok(()),
        _ => Err(format!("{:?} is not an http:// or https:// URL", shown_url(url))),
    }
}

/// Upstreams in routing order.
#[derive(Debug, Clone)]
pub struct Routes {
    upstreams: Vec<Upstream>,
}

impl Routes {
    pub fn new(upstreams: Vec<Upstream>) -> Self {
        Routes { upstreams }
    }

    pub fn is_empty(&self) -> bool {
        self.upstreams.is_empty()
    }

    /// The upstream for `model`: the first that claims it by name or prefix, else the first
    /// catch-all one.
    pub fn route(&self, model: Option<&str>) -> Option<&Upstream> {
        model
            .and_then(|m| self.upstreams.iter().find(|u| u.claims(m)))
            .or_else(|| self.upstreams.iter().find(|u| u.models.is_empty()))
    }

    /// Every upstream, in routing order.
    pub fn all(&self) -> &[Upstream] {
        &self.upstreams
    }

    /// Where requests naming no model go (`GET /v1/models` with one upstream, other `/v1/*`
    /// paths): the first catch-all upstream, else the first.
    pub fn default_upstream(&self) -> Option<&Upstream> {
        self.upstreams.iter().find(|u| u.models.is_empty()).or_else(|| self.upstreams.first())
    }
}

/// Headers that describe one hop, not the message (RFC 9110 §7.6.1), plus the ones the
/// client sets itself.
fn hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            | "content-length"
    )
}

/// The upstream URL for a request path such as `/v1/chat/completions?x=1`: the upstream's
/// base URL (which includes its API prefix, e.g. `/v1`) plus the path after `/v1`.
pub fn target_uri(upstream: &Upstream, path_and_query: &str) -> Result<Uri, String> {
    let rest = path_and_query.strip_prefix("/v1").unwrap_or(path_and_query);
    let url = format!("{}{rest}", upstream.url);
    url.parse::<Uri>().map_err(|e| format!("upstream {} has an invalid URL {url:?}: {e}", upstream.name))
}

/// Builds the forwarded request: the caller's headers minus hop-by-hop ones, llmscope's
/// own `X-LLMScope-*` headers and `Accept-Encoding` (the recorder reads the body); the
/// caller's `Authorization` unless the upstream has its own key, which then replaces it.
/// (The proxy then sets `traceparent` to the call's own span.)
pub fn request(
    upstream: &Upstream,
    method: Method,
    uri: Uri,
    caller: &HeaderMap,
    body: Bytes,
) -> Result<Request<Full<Bytes>>, String> {
    let mut req = Request::builder().method(method).uri(uri);
    let headers = req.headers_mut().ok_or_else(|| "invalid request".to_string())?;
    for (name, value) in caller {
        let n = name.as_str();
        if hop_by_hop(name) || n.starts_with(PREFIX) || n == "accept-encoding" {
            continue;
        }
        if n == "authorization" && upstream.api_key.is_some() {
            continue;
        }
        headers.append(name.clone(), value.clone());
    }
    if let Some(key) = &upstream.api_key {
        let mut v = HeaderValue::from_str(&format!("Bearer {key}"))
            .map_err(|_| format!("the API key of upstream {} is not a valid header value", upstream.name))?;
        v.set_sensitive(true);
        headers.insert(header::AUTHORIZATION, v);
    }
    if !body.is_empty() {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    req.body(Full::new(body)).map_err(|e| e.to_string())
}

/// Response headers passed back to the caller: all but hop-by-hop ones.
pub fn response_headers(from: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(from.len() + 3);
    for (name, value) in from {
        if !hop_by_hop(name) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// A URL as it may be shown (start-up banner, `llmscope config`, logs): a password in it
/// (basic auth, `http://user:secret@host/v1`) replaced by `***`, and a user part without
/// one (`https://TOKEN@host`, a token) too.
pub fn shown_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, host)) => {
            let hidden = match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:***"),
                None => "***".to_string(),
            };
            format!("{scheme}://{hidden}@{host}{}", &rest[authority_end..])
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_urls_hide_passwords() {
        assert_eq!(shown_url("http://user:hunter2@10.0.0.5:8000/v1"), "http://user:***@10.0.0.5:8000/v1");
        assert_eq!(shown_url("https://tok@host/v1?x=a@b"), "https://***@host/v1?x=a@b");
        assert!(!check_url("ftp://u:hunter2@h/").expect_err("not http").contains("hunter2"));
        assert_eq!(shown_url("http://127.0.0.1:8000/v1"), "http://127.0.0.1:8000/v1");
        assert_eq!(shown_url("http://u:p@h"), "http://u:***@h");
        assert_eq!(shown_url("not a url"), "not a url");
    }

    fn up(name: &str, models: &[&str]) -> Upstream {
        let mut u = Upstream::new(name, &format!("http://{name}:8000/v1/"));
        u.models = models.iter().map(|s| s.to_string()).collect();
        u
    }

    #[test]
    fn routes_by_exact_name_then_prefix_then_default() {
        let r = Routes::new(vec![up("openai", &["gpt-*", "o3"]), up("vllm", &[]), up("ollama", &["llama3*"])]);
        assert_eq!(r.route(Some("gpt-4o")).map(|u| u.name.as_str()), Some("openai"));
        assert_eq!(r.route(Some("o3")).map(|u| u.name.as_str()), Some("openai"));
        assert_eq!(r.route(Some("o3-mini")).map(|u| u.name.as_str()), Some("vllm"));
        assert_eq!(r.route(Some("llama3.1:8b")).map(|u| u.name.as_str()), Some("ollama"));
        assert_eq!(r.route(None).map(|u| u.name.as_str()), Some("vllm"));
        assert_eq!(Routes::new(vec![up("a", &["x"])]).route(Some("y")).map(|u| u.name.as_str()), None);
    }

    #[test]
    fn forwarded_headers_drop_ours_and_swap_the_key() {
        let mut caller = HeaderMap::new();
        caller.insert("authorization", HeaderValue::from_static("Bearer caller"));
        caller.insert("x-llmscope-user-id", HeaderValue::from_static("u1"));
        caller.insert("openai-organization", HeaderValue::from_static("org"));
        caller.insert("connection", HeaderValue::from_static("keep-alive"));
        caller.insert("accept-encoding", HeaderValue::from_static("gzip"));
        let plain = up("vllm", &[]);
        let uri = target_uri(&plain, "/v1/chat/completions").expect("uri");
        assert_eq!(uri.to_string(), "http://vllm:8000/v1/chat/completions");
        let req = request(&plain, Method::POST, uri.clone(), &caller, Bytes::from_static(b"{}")).expect("req");
        assert_eq!(req.headers()["authorization"], "Bearer caller");
        assert_eq!(req.headers()["openai-organization"], "org");
        for gone in ["x-llmscope-user-id", "connection", "accept-encoding"] {
            assert!(req.headers().get(gone).is_none(), "{gone} forwarded");
        }
        let mut keyed = plain.clone();
        keyed.api_key = Some("sk-upstream".into());
        let req = request(&keyed, Method::POST, uri, &caller, Bytes::new()).expect("req");
        assert_eq!(req.headers()["authorization"], "Bearer sk-upstream");
        assert_eq!(req.headers().get_all("authorization").iter().count(), 1);
    }
}
