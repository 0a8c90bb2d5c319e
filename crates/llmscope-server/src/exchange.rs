//! One proxied exchange and how it becomes a [`Call`].
//!
//! The request handler only collects what it must (the caller's body as bytes, the
//! upstream's body or the assembled stream, timings, the outcome); [`Exchange::into_call`]
//! runs later on the recorder's thread, so parsing and mapping cost the caller nothing.
//! [`PendingCall`] records the exchange exactly once: when the handler finishes it, or —
//! if the caller went away and the handler was dropped — as cancelled.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use llmscope_capture::openai::{map_chat_request, map_response, responses, stream::StreamAssembler};
use llmscope_core::{checks, text, Call, CallStatus, Origin};
use serde_json::{Map, Value};

use crate::meta::CallerMeta;
use crate::recorder::Recorder;
use crate::tokens;

/// Longest non-JSON error body kept as the error message, in characters.
const MAX_ERROR_TEXT: usize = 4096;

/// What the upstream sent back.
#[derive(Debug)]
pub enum Response {
    /// Nothing: the request failed before a response (or the caller left first).
    None,
    /// A complete (or partial, when cut) non-streaming body.
    Body(Bytes),
    /// A stream, joined.
    Stream(Box<StreamAssembler>),
}

/// Everything known about one proxied call.
#[derive(Debug)]
pub struct Exchange {
    pub project: String,
    pub call_id: String,
    pub trace_id: String,
    pub span_id: String,
    pub meta: CallerMeta,
    pub upstream: String,
    pub provider: Option<String>,
    /// The caller's request body, as sent.
    pub request: Bytes,
    pub start: DateTime<Utc>,
    pub started: Instant,
    pub latency: Option<Duration>,
    pub ttft: Option<Duration>,
    pub status_code: Option<u16>,
    pub response: Response,
    /// llmscope's own error (kind, message): timeouts, unreachable upstream, cut streams.
    pub error: Option<(&'static str, String)>,
    pub cancelled: bool,
    pub stream: bool,
    /// The call went to the Responses API (`/v1/responses`): its request is read as one even
    /// when it looks like an embeddings request (`model` and `input` only), and a request to
    /// another endpoint never is.
    pub responses_api: bool,
}

impl Exchange {
    /// Builds the call record. Never fails: what cannot be mapped is kept as an attribute.
    pub fn into_call(self) -> Call {
        let mut call = Call {
            id: self.call_id,
            project: self.project,
            trace_id: self.trace_id,
            span_id: self.span_id,
            parent_span_id: self.meta.parent_span_id,
            start_time: self.start,
            origin: Origin::Proxy,
            ..Default::default()
        };
        let mut problems: Vec<String> = Vec::new();
        let request = match serde_json::from_slice::<Value>(&self.request) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        };
        if let Some(req) = &request {
            // The endpoint is known: no guessing from the body.
            let mapped = if self.responses_api {
                responses::map_request(req, &mut call)
            } else {
                map_chat_request(req, &mut call)
            };
            if let Err(e) = mapped {
                problems.push(format!("request: {e}"));
            }
        }
        call.name = call.operation.clone();
        call.provider = self.provider.or_else(|| Some(self.upstream.clone()));
        if !self.upstream.is_empty() {
            call.attributes.insert("upstream".into(), Value::String(self.upstream));
        }
        if self.stream {
            call.attributes.insert("stream".into(), Value::Bool(true));
        }
        call.status_code = self.status_code;

        match self.response {
            Response::None => {}
            Response::Body(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(m)) => {
                    if let Err(e) = map_response(&m, &mut call) {
                        problems.push(format!("response: {e}"));
                    }
                }
                _ if self.status_code.is_some_and(|c| c >= 400) => {
                    call.error_message = Some(text::snippet(&String::from_utf8_lossy(&bytes), MAX_ERROR_TEXT));
                }
                _ if !bytes.is_empty() => problems.push("response: the body is not a JSON object".into()),
                _ => {}
            },
            Response::Stream(asm) => {
                if let Err(e) = map_response(&asm.response(), &mut call) {
                    problems.push(format!("response: {e}"));
                }
                for (k, v) in asm.attributes() {
                    call.attributes.insert(k, v);
                }
            }
        }

        // Outcome.
        call.settle_error_kind("upstream_error");
        if let Some((kind, message)) = self.error {
            call.status = CallStatus::Error;
            call.error_kind = Some(kind.into());
            call.error_message = Some(message);
        }
        if self.cancelled {
            call.status = CallStatus::Cancelled;
            call.error_kind = Some("client_disconnected".into());
            call.error_message
                .get_or_insert_with(|| "the client closed the connection before the response ended".into());
        }
        let embedding = call.operation.as_deref() == Some("embedding");
        if call.status != CallStatus::Ok && call.output.is_none() && !embedding {
            call.output = Some(String::new());
        }

        // Usage, counted when the upstream answered (a call it rejected, or never answered,
        // is not billed) and reported none.
        let model = call.model.clone().unwrap_or_default();
        let answered = self.status_code.is_some_and(|c| c < 400);
        if answered && call.usage.input.is_none() && call.usage.output.is_none() && (call.output.is_some() || embedding)
        {
            call.usage.input = Some(tokens::count_input(&model, &call.input));
            if !embedding {
                call.usage.output =
                    Some(tokens::count_output(&model, call.output.as_deref().unwrap_or(""), call.tool_calls.as_ref()));
            }
            call.usage.total = call.usage.effective_total();
            call.usage.counted = true;
        } else if call.usage.total.is_none() {
            call.usage.total = call.usage.effective_total();
        }

        // Timings.
        if let Some(l) = self.latency {
            call.latency_ms = Some(l.as_secs_f64() * 1000.0);
            call.end_time = Some(self.start + chrono::Duration::from_std(l).unwrap_or_default());
        }
        if let Some(t) = self.ttft {
            call.ttft_ms = Some(t.as_secs_f64() * 1000.0);
            call.first_token_time = Some(self.start + chrono::Duration::from_std(t).unwrap_or_default());
        }

        // Caller metadata wins over the body's `user`.
        let body_user = request.as_ref().and_then(|r| r.get("user")).and_then(Value::as_str).map(str::to_string);
        call.user_id = self.meta.user_id.or(body_user);
        call.session_id = self.meta.session_id;
        call.client_request_id = self.meta.client_request_id;
        call.tags = self.meta.tags;
        for (k, v) in self.meta.properties {
            call.attributes.insert(format!("property.{k}"), v);
        }
        if request.is_none() {
            call.attributes.insert(
                "request_body".into(),
                Value::String(text::snippet(&String::from_utf8_lossy(&self.request), MAX_ERROR_TEXT)),
            );
        }
        if !problems.is_empty() {
            call.attributes.insert("mapping_problems".into(), Value::from(problems));
        }
        call.flags = checks::flags_for(&call);
        call
    }
}

/// An exchange in flight. Recorded exactly once: by [`PendingCall::finish`], or on drop
/// as cancelled (the caller disconnected and the handler or stream was dropped).
#[derive(Debug)]
pub struct PendingCall {
    recorder: Arc<Recorder>,
    exchange: Option<Box<Exchange>>,
}

impl PendingCall {
    pub fn new(recorder: Arc<Recorder>, exchange: Exchange) -> Self {
        recorder.exchange_opened();
        PendingCall { recorder, exchange: Some(Box::new(exchange)) }
    }

    pub fn get_mut(&mut self) -> Option<&mut Exchange> {
        self.exchange.as_deref_mut()
    }

    /// Records the exchange with its latency measured now.
    pub fn finish(mut self, response: Response, error: Option<(&'static str, String)>) {
        if let Some(mut ex) = self.exchange.take() {
            ex.latency = Some(ex.started.elapsed());
            ex.response = response;
            ex.error = error;
            self.recorder.exchange_recorded(Box::new(move || ex.into_call()));
        }
    }

    /// Records the exchange as cancelled by the caller, with what had arrived.
    pub fn cancel(mut self, response: Response) {
        if let Some(mut ex) = self.exchange.take() {
            ex.latency = Some(ex.started.elapsed());
            ex.response = response;
            ex.cancelled = true;
            self.recorder.exchange_recorded(Box::new(move || ex.into_call()));
        }
    }
}

impl Drop for PendingCall {
    fn drop(&mut self) {
        if let Some(mut ex) = self.exchange.take() {
            ex.latency = Some(ex.started.elapsed());
            ex.cancelled = true;
            self.recorder.exchange_recorded(Box::new(move || ex.into_call()));
        }
    }
}

/// A fresh random id of `hex_digits` lowercase hex digits (at most 32).
pub fn random_id(hex_digits: usize) -> String {
    let v: u128 = rand::random();
    let s = format!("{v:032x}");
    s[..hex_digits.min(32)].to_string()
}

/// Request attributes the proxy reads before forwarding (the rest is parsed later).
#[derive(Debug, Default, serde::Deserialize)]
pub struct RequestHead {
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub stream: Option<bool>,
    /// `None` when the body has no `stream_options` member, `Some(None)` when it is `null`
    /// (serde decodes escaped key spellings, so this is the member's true presence).
    #[serde(default, deserialize_with = "present")]
    pub stream_options: Option<Option<Map<String, Value>>>,
}

/// A member that is present, `null` or not.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<Map<String, Value>>>, D::Error> {
    serde::Deserialize::deserialize(d).map(Some)
}
