//! The streaming half of the proxy: a task reads the upstream's event stream, hands each
//! piece to the caller as soon as it arrives, and joins a copy for the record.
//!
//! - The caller going away (the response body is dropped) closes the channel; the task then
//!   drops the upstream body, which closes the upstream connection (the upstream request is
//!   cancelled), and records the call as cancelled with the output so far.
//! - Events go out whole, as each completes. A stream that ends without `[DONE]`, fails
//!   mid-way or passes the total timeout ends, for the caller, with an OpenAI-shaped
//!   `data: {"error": …}` event (which OpenAI's SDKs raise as an `APIError`; a Responses API
//!   stream gets that API's typed `event: error`), and is recorded as failed with its partial
//!   output. A caller that stops reading is given up on at the
//!   total timeout too.
//! - A stream still open when the server's shutdown grace period ends is cut the same way
//!   (kind `shutdown`, error code `server_shutting_down`), keeping its output so far.
//! - After the upstream's last event the caller gets one SSE comment,
//!   `: llmscope trace_id=<id> call_id=<id>`, which SSE parsers ignore and a UI can read to
//!   attach feedback (the same ids are in the `X-LLMScope-Trace-Id` / `-Call-Id` headers).

use std::time::Instant;

use axum::body::Body;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use llmscope_capture::openai::sse::SseParser;
use llmscope_capture::openai::stream::StreamAssembler;
use tokio::sync::mpsc;

use crate::errors::ApiError;
use crate::exchange::{PendingCall, Response};
use crate::proxy::Ids;

type Chunk = Result<Bytes, std::io::Error>;

/// Starts pumping `upstream` into the returned body.
pub fn pump(upstream: Incoming, pending: PendingCall, strip_usage: bool, limits: Limits, ids: &Ids) -> Body {
    let (tx, rx) = mpsc::channel::<Chunk>(16);
    let trailer = Bytes::from(format!(": llmscope trace_id={} call_id={}\n\n", ids.trace_id, ids.call_id));
    tokio::spawn(run(upstream, pending, strip_usage, limits, tx, trailer));
    Body::from_stream(ChannelStream(rx))
}

/// When a stream must end: its total timeout, or the end of the server's shutdown grace.
pub struct Limits {
    pub deadline: tokio::time::Instant,
    pub cut: tokio::sync::watch::Receiver<bool>,
}

/// Resolves when the server cuts the requests still open ([`crate::App::cut`]); never, if the
/// server is gone without cutting (a closed channel is not a cut).
pub async fn cut_signal(cut: &mut tokio::sync::watch::Receiver<bool>) {
    if cut.wait_for(|c| *c).await.is_err() {
        std::future::pending::<()>().await;
    }
}

enum End {
    Done,
    Cancelled,
    Failed(&'static str, String),
}

async fn run(
    mut upstream: Incoming,
    mut pending: PendingCall,
    strip_usage: bool,
    limits: Limits,
    tx: mpsc::Sender<Chunk>,
    trailer: Bytes,
) {
    let Limits { deadline, mut cut } = limits;
    let started = pending.get_mut().map_or_else(Instant::now, |ex| ex.started);
    let mut parser = SseParser::default();
    let mut asm = Box::new(StreamAssembler::new());
    let mut ttft = None;
    let end = loop {
        let frame = tokio::select! {
            biased;
            _ = tx.closed() => break End::Cancelled,
            _ = tokio::time::sleep_until(deadline) => break End::Failed("total_timeout", TIMEOUT.into()),
            _ = cut_signal(&mut cut) => break End::Failed("shutdown", SHUTDOWN.into()),
            f = upstream.frame() => f,
        };
        let data = match frame {
            None => {
                // Past an event too large to parse, `[DONE]` cannot be seen: not a cut.
                if asm.done() || asm.errored() || parser.overflowed() {
                    break End::Done;
                }
                let last = if asm.is_responses() { "its final `response.completed` event" } else { "`data: [DONE]`" };
                break End::Failed("upstream_cut", format!("the upstream stream ended before {last}"));
            }
            Some(Err(e)) => break End::Failed("upstream_cut", format!("the upstream stream broke off: {e}")),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(d) => d,
                Err(_) => continue, // trailers
            },
        };
        // Whole events go out as they complete (so an error event can never be glued to half
        // an event); past an event too large to parse, bytes go out raw.
        let out = if parser.overflowed() {
            data
        } else {
            let mut events = Vec::with_capacity(data.len());
            parser.push(&data, |ev| {
                let kind = if ev.has_data { asm.push(&ev.data) } else { Default::default() };
                if kind.first_content && ttft.is_none() {
                    ttft = Some(started.elapsed());
                }
                if !strip_usage {
                    events.extend_from_slice(&ev.raw);
                } else if !kind.usage_only {
                    extend_without_usage_null(&ev.raw, &mut events);
                }
            });
            if parser.overflowed() {
                events.extend(parser.take_rest());
            }
            Bytes::from(events)
        };
        if !out.is_empty() {
            // A caller that stopped reading is cut at shutdown like any other.
            let sent = tokio::select! {
                biased;
                s = send(&tx, out, deadline) => s,
                _ = cut_signal(&mut cut) => Sent::Cut,
            };
            match sent {
                Sent::Ok => {}
                Sent::Closed => break End::Cancelled,
                Sent::Timeout => break End::Failed("total_timeout", TIMEOUT.into()),
                Sent::Cut => break End::Failed("shutdown", SHUTDOWN.into()),
            }
        }
    };
    drop(upstream); // closes the upstream connection if it was still open
    if let Some(ex) = pending.get_mut() {
        ex.ttft = ttft;
    }
    // The record first, then the last bytes to the caller (which may never read them).
    match end {
        End::Done => {
            pending.finish(Response::Stream(asm), None);
            // Bytes after the last complete event (a stream not ending in a blank line).
            let rest = if parser.overflowed() { Vec::new() } else { parser.take_rest() };
            if !rest.is_empty() {
                let _ = send(&tx, Bytes::from(rest), deadline + GRACE).await;
            }
            let _ = send(&tx, trailer, deadline + GRACE).await;
        }
        // A caller that left right after `[DONE]` got the whole answer.
        End::Cancelled if asm.done() => pending.finish(Response::Stream(asm), None),
        End::Cancelled => pending.cancel(Response::Stream(asm)),
        End::Failed(kind, message) => {
            // An unterminated event at the cut is dropped (SSE clients discard it anyway).
            let err = match kind {
                "shutdown" => shutdown_error(),
                "total_timeout" => ApiError::upstream(BAD_GATEWAY, "upstream_timeout", message.clone()),
                _ => ApiError::upstream(BAD_GATEWAY, "upstream_cut", message.clone()),
            };
            let event = if asm.is_responses() { err.responses_sse_event() } else { err.sse_event() };
            pending.finish(Response::Stream(asm), Some((kind, message)));
            let _ = send(&tx, event, tokio::time::Instant::now() + GRACE).await;
        }
    }
}

const TIMEOUT: &str = "the upstream stream did not finish within the total timeout";

/// Why a request still open at the end of the shutdown grace period was cut.
pub const SHUTDOWN: &str = "llmscope shut down before the upstream's response ended";

/// What the caller of a request cut at shutdown is told (a 503, or a stream's error event).
pub fn shutdown_error() -> ApiError {
    ApiError::new(axum::http::StatusCode::SERVICE_UNAVAILABLE, "llmscope_error", "server_shutting_down", SHUTDOWN)
}

const BAD_GATEWAY: axum::http::StatusCode = axum::http::StatusCode::BAD_GATEWAY;

/// How long the last bytes (trailer, error event) may wait for a slow reader.
const GRACE: std::time::Duration = std::time::Duration::from_secs(5);

enum Sent {
    Ok,
    Closed,
    Timeout,
    Cut,
}

/// Sends to the caller, giving up at `deadline` (a caller that stops reading must not hold
/// the upstream connection and the record forever).
async fn send(tx: &mpsc::Sender<Chunk>, bytes: Bytes, deadline: tokio::time::Instant) -> Sent {
    match tokio::time::timeout_at(deadline, tx.send(Ok(bytes))).await {
        Ok(Ok(())) => Sent::Ok,
        Ok(Err(_)) => Sent::Closed,
        Err(_) => Sent::Timeout,
    }
}

/// Appends `raw` to `out` without the `"usage":null` member OpenAI adds to every chunk once
/// `include_usage` is set (the caller did not ask for it). Works on the raw bytes so nothing
/// else changes, in one pass and without a copy of the event.
fn extend_without_usage_null(raw: &[u8], out: &mut Vec<u8>) {
    // Built once: `memmem::find` builds a searcher on every call, which showed in profiles
    // of every streamed event.
    static USAGE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"usage\""));
    let mut from = 0;
    for at in USAGE.find_iter(raw) {
        let rest = &raw[at + 7..];
        let Some(value) = [b":null".as_slice(), b": null"].into_iter().find(|v| rest.starts_with(v)) else { continue };
        // A member name starts after `{` or `,` (and any whitespace); anything else is the
        // end of another string that happens to close with `\"usage` (`{"k\"usage":null}`).
        if !matches!(raw[..at].iter().rev().find(|b| !b.is_ascii_whitespace()), Some(b'{' | b',')) {
            continue;
        }
        let end = at + 7 + value.len();
        if raw.get(end).is_some_and(|b| !matches!(b, b',' | b'}' | b' ' | b'\t' | b'\r' | b'\n')) {
            continue; // not a whole `null`
        }
        // The member goes with one comma beside it (and the space after that comma).
        let before = &raw[from..at];
        let after = &raw[end..];
        let (cut, resume) = if before.ends_with(b", ") {
            (at - 2, end)
        } else if before.ends_with(b",") {
            (at - 1, end)
        } else if after.starts_with(b", ") {
            (at, end + 2)
        } else if after.starts_with(b",") {
            (at, end + 1)
        } else {
            continue;
        };
        out.extend_from_slice(&raw[from..cut]);
        from = resume;
    }
    out.extend_from_slice(&raw[from..]);
}

/// The receiving end of the pump as a body stream.
struct ChannelStream(mpsc::Receiver<Chunk>);

impl futures_util::Stream for ChannelStream {
    type Item = Chunk;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::extend_without_usage_null;

    fn strip(raw: &[u8]) -> Vec<u8> {
        let mut out = b"kept:".to_vec();
        extend_without_usage_null(raw, &mut out);
        out.drain(..5);
        out
    }

    #[test]
    fn usage_null_goes_and_nothing_else_changes() {
        let raw = br#"data: {"id":"x","choices":[{"index":0,"delta":{"content":"hi"}}],"usage":null}

"#;
        assert_eq!(
            strip(raw),
            br#"data: {"id":"x","choices":[{"index":0,"delta":{"content":"hi"}}]}

"#
        );
        assert_eq!(strip(br#"data: {"usage": null, "id": "x"}"#), br#"data: {"id": "x"}"#);
        assert_eq!(strip(br#"data: {"usage":null,"id":"x","usage":null}"#), br#"data: {"id":"x"}"#);
        for untouched in [
            br#"data: {"id":"x","usage":{"total_tokens":3}}"#.as_slice(),
            br#"data: {"usage":null}"#,
            br#"data: {"content":"\"usage\":null, said"}"#,
            br#"data: {"id":"x","usage":nullish}"#,
            br#"data: {"k\"usage":null,"b":1}"#,
        ] {
            assert_eq!(strip(untouched), untouched);
        }
    }

    proptest::proptest! {
        /// An object with `"usage": null` members anywhere among others (values that may
        /// spell `"usage"` themselves), compact or spaced as Python writes it: the members go,
        /// and what is left is the same object without them.
        #[test]
        fn the_result_is_the_same_json_without_usage_null(
            members in proptest::collection::vec(
                (proptest::bool::ANY, "[a-z\"]{1,6}", proptest::option::of("[a-z\" ,:]{0,12}")), 1..6),
            spaced in proptest::bool::ANY,
        ) {
            use serde_json::{Map, Value};
            let mut parts = Vec::new();
            let mut want = Map::new();
            for (i, (usage, key, text)) in members.iter().enumerate() {
                let (k, v) = if *usage {
                    ("usage".to_string(), Value::Null)
                } else {
                    let v = text.clone().map_or(Value::Null, Value::from);
                    want.insert(format!("{key}{i}"), v.clone());
                    (format!("{key}{i}"), v)
                };
                let (k, v) = (Value::from(k).to_string(), v.to_string());
                parts.push(if spaced { format!("{k}: {v}") } else { format!("{k}:{v}") });
            }
            let raw = format!("{{{}}}", parts.join(if spaced { ", " } else { "," }));
            let out = strip(raw.as_bytes());
            // The last `"usage":null` of an object that holds nothing else has no comma
            // beside it and is kept (the object stays valid).
            if members.iter().all(|m| m.0) {
                want.insert("usage".into(), Value::Null);
            }
            let got: Map<String, Value> = serde_json::from_slice(&out).expect("still JSON");
            proptest::prop_assert_eq!(got, want);
        }
    }
}
