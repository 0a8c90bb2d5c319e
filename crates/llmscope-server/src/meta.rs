//! Caller metadata carried on request headers (documented in `docs/proxy.md`):
//!
//! | header | becomes |
//! |---|---|
//! | `X-LLMScope-User-Id` | `user_id` (else the body's OpenAI `user` field) |
//! | `X-LLMScope-Session-Id` | `session_id` |
//! | `X-LLMScope-Client-Request-Id` | `client_request_id` (also `X-Client-Request-Id`) |
//! | `X-LLMScope-Tags` | `tags` (comma-separated) |
//! | `X-LLMScope-Property-<name>` | attribute `property.<name>` |
//! | `X-LLMScope-Trace-Id` | `trace_id` (32 hex digits) |
//! | `traceparent` (W3C) | `trace_id` and `parent_span_id` |
//!
//! The `X-LLMScope-*` headers are not forwarded upstream; the proxy sends the upstream a
//! `traceparent` of its own (the call's span). Values that are not valid UTF-8 or are
//! malformed are rejected with a 400 naming the header, never silently dropped — except a
//! `traceparent`, which W3C Trace Context says to ignore when it cannot be read.

use axum::http::HeaderMap;
use serde_json::{Map, Value};

use crate::errors::ApiError;

pub const PREFIX: &str = "x-llmscope-";
pub const TRACE_ID_HEADER: &str = "x-llmscope-trace-id";
pub const CALL_ID_HEADER: &str = "x-llmscope-call-id";
pub const OVERHEAD_HEADER: &str = "x-llmscope-overhead-ms";

/// Longest header value accepted for ids and tags.
const MAX_VALUE: usize = 1024;

/// What the caller told us about the call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallerMeta {
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub client_request_id: Option<String>,
    pub tags: Vec<String>,
    pub properties: Map<String, Value>,
    pub trace_id: Option<String>,
    pub parent_span_id: Option<String>,
    /// The trace flags of the caller's `traceparent` when the call continues that trace
    /// (then its `tracestate` is passed on too).
    pub trace_flags: Option<String>,
}

impl CallerMeta {
    pub fn from_headers(headers: &HeaderMap) -> Result<CallerMeta, ApiError> {
        let mut meta = CallerMeta::default();
        let mut parent: Option<(String, String, String)> = None;
        for (name, value) in headers {
            let name = name.as_str();
            let is_ours = name.starts_with(PREFIX);
            if !is_ours && name != "traceparent" && name != "x-client-request-id" {
                continue;
            }
            // UTF-8 bytes are taken as they are (user ids in Chinese, say), as HTTP allows.
            let text = match std::str::from_utf8(value.as_bytes()) {
                Ok(t) => t.trim(),
                Err(_) if name == "traceparent" => continue,
                Err(_) => {
                    return Err(ApiError::bad_request(
                        "invalid_header",
                        format!("header {name}: value is not valid UTF-8"),
                    ))
                }
            };
            if text.len() > MAX_VALUE && name == "traceparent" {
                continue;
            }
            if text.len() > MAX_VALUE && !name.starts_with("x-llmscope-property-") {
                return Err(ApiError::bad_request(
                    "invalid_header",
                    format!("header {name}: value is longer than {MAX_VALUE} bytes"),
                ));
            }
            let some = || (!text.is_empty()).then(|| text.to_string());
            match name {
                "x-llmscope-user-id" => meta.user_id = some(),
                "x-llmscope-session-id" => meta.session_id = some(),
                "x-llmscope-client-request-id" => meta.client_request_id = some(),
                "x-client-request-id" => {
                    if meta.client_request_id.is_none() {
                        meta.client_request_id = some();
                    }
                }
                "x-llmscope-tags" => {
                    meta.tags.extend(text.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string));
                }
                "x-llmscope-trace-id" => meta.trace_id = Some(hex_id(name, text, 32)?),
                // W3C Trace Context: a `traceparent` that cannot be read is ignored and the
                // call starts a trace of its own (the caller's request still goes through).
                "traceparent" => match traceparent(text) {
                    // The first readable one counts.
                    Some(tp) if parent.is_none() => parent = Some(tp),
                    Some(_) => {}
                    None => {
                        tracing::debug!(value = text, "ignoring a traceparent that is not 00-<32 hex>-<16 hex>-<2 hex>")
                    }
                },
                _ => {
                    if let Some(prop) = name.strip_prefix("x-llmscope-property-") {
                        if !prop.is_empty() {
                            meta.properties.insert(prop.to_string(), Value::String(text.to_string()));
                        }
                    }
                }
            }
        }
        // The call is a child of the caller's span when it stays in the caller's trace (an
        // `X-LLMScope-Trace-Id` naming another trace wins, and starts it afresh).
        if let Some((trace, span, flags)) = parent {
            if meta.trace_id.as_ref().is_none_or(|t| *t == trace) {
                meta.trace_id = Some(trace);
                meta.parent_span_id = Some(span);
                meta.trace_flags = Some(flags);
            }
        }
        meta.tags.sort();
        meta.tags.dedup();
        Ok(meta)
    }
}

fn hex_id(header: &str, text: &str, len: usize) -> Result<String, ApiError> {
    llmscope_core::ids::parse_hex_id(text, len).ok_or_else(|| {
        ApiError::bad_request("invalid_header", format!("header {header}: expected {len} hex digits, not all zero"))
    })
}

/// Parses a W3C `traceparent`: `version-traceid-parentid-flags`.
fn traceparent(text: &str) -> Option<(String, String, String)> {
    let mut parts = text.split('-');
    let version = parts.next()?.to_ascii_lowercase();
    let trace = parts.next()?;
    let span = parts.next()?;
    let flags = parts.next()?;
    // Version 00 has exactly these four fields; a later version may add more after them.
    if version == "00" && parts.next().is_some() {
        return None;
    }
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    let nonzero = |s: &str| s.bytes().any(|b| b != b'0');
    (hex(&version, 2)
        && version != "ff"
        && hex(trace, 32)
        && nonzero(trace)
        && hex(span, 16)
        && nonzero(span)
        && hex(flags, 2))
    .then(|| (trace.to_ascii_lowercase(), span.to_ascii_lowercase(), flags.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("valid header"));
        }
        h
    }

    #[test]
    fn every_header_lands_in_its_field() {
        let m = CallerMeta::from_headers(&headers(&[
            ("x-llmscope-user-id", "u1"),
            ("x-llmscope-session-id", "s1"),
            ("x-llmscope-client-request-id", "c1"),
            ("x-llmscope-tags", "beta, rag,,beta"),
            ("x-llmscope-property-tenant", "acme"),
            ("traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"),
            ("authorization", "Bearer secret"),
        ]))
        .expect("valid");
        assert_eq!(m.user_id.as_deref(), Some("u1"));
        assert_eq!(m.session_id.as_deref(), Some("s1"));
        assert_eq!(m.client_request_id.as_deref(), Some("c1"));
        assert_eq!(m.tags, vec!["beta", "rag"]);
        assert_eq!(m.properties["tenant"], "acme");
        assert_eq!(m.trace_id.as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert_eq!(m.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
    }

    proptest::proptest! {
        #[test]
        fn any_header_value_is_accepted_or_named(name in "(x-llmscope-(user-id|tags|trace-id|property-p)|traceparent)", value in "[ -~]{0,80}") {
            let mut h = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.insert(axum::http::HeaderName::from_bytes(name.as_bytes()).expect("valid name"), v);
                match CallerMeta::from_headers(&h) {
                    Ok(_) => {}
                    Err(e) => proptest::prop_assert!(e.message.contains(name.as_str())),
                }
            }
        }
    }

    #[test]
    fn utf8_values_are_taken_and_other_bytes_named() {
        let mut h = HeaderMap::new();
        h.insert("x-llmscope-user-id", HeaderValue::from_bytes("用户 1".as_bytes()).expect("bytes"));
        assert_eq!(CallerMeta::from_headers(&h).expect("utf-8").user_id.as_deref(), Some("用户 1"));
        h.insert("x-llmscope-session-id", HeaderValue::from_bytes(b"s\xff").expect("bytes"));
        let e = CallerMeta::from_headers(&h).expect_err("not utf-8");
        assert!(e.message.contains("x-llmscope-session-id") && e.message.contains("UTF-8"), "{}", e.message);
    }

    #[test]
    fn malformed_values_name_the_header() {
        let e = CallerMeta::from_headers(&headers(&[("x-llmscope-trace-id", "abc")])).expect_err("rejected");
        assert!(e.message.contains("x-llmscope-trace-id"), "{}", e.message);
        // A trace id of the caller's own choosing wins over a traceparent of another trace,
        // whose span is then no parent of this call.
        let m = CallerMeta::from_headers(&headers(&[
            ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            ("x-llmscope-trace-id", "0af7651916cd43dd8448eb211c80319c"),
        ]))
        .expect("valid");
        assert_eq!(m.trace_id.as_deref(), Some("0af7651916cd43dd8448eb211c80319c"));
        assert_eq!((m.parent_span_id, m.trace_flags), (None, None));
        assert!(traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra").is_none());
        assert!(traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra").is_some());
        assert!(traceparent("FF-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").is_none());
        // An unreadable traceparent is ignored (W3C Trace Context), not the request's failure.
        let m = CallerMeta::from_headers(&headers(&[("traceparent", "00-xyz-00f067aa0ba902b7-01")])).expect("ignored");
        assert_eq!((m.trace_id, m.parent_span_id), (None, None));
    }
}
