//! The call model: one record per LLM call (or per span of a larger trace).
//!
//! Every capture path lands here: the proxy fills it from the request and the (streamed)
//! response, the OTLP receiver from a span, the API from a posted JSON object and the importer
//! from a log line. Fields a source does not know stay `None`; nothing is invented.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The version of the call record layout. Stored with every row so that later layouts can
/// tell old rows apart.
pub const CALL_SCHEMA_VERSION: u16 = 1;

/// One LLM call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Call {
    /// Unique id of this record (32 lowercase hex digits). For imported lines it is derived
    /// from the line's content, which is what makes re-imports idempotent.
    pub id: String,
    /// Project the call belongs to (isolation unit for keys and queries).
    pub project: String,

    // --- trace context (denormalised onto every row) ---
    /// W3C trace id, 32 hex digits.
    pub trace_id: String,
    /// W3C span id, 16 hex digits.
    pub span_id: String,
    /// Parent span id, when this call is a child span.
    pub parent_span_id: Option<String>,
    /// What kind of span this is.
    pub span_kind: SpanKind,
    /// Span or operation name (e.g. `chat`, `ChatOpenAI`, `retrieve`).
    pub name: Option<String>,

    // --- timing ---
    /// When the call started.
    pub start_time: DateTime<Utc>,
    /// When the first output token (or first content chunk) arrived.
    pub first_token_time: Option<DateTime<Utc>>,
    /// When the call finished.
    pub end_time: Option<DateTime<Utc>>,
    /// Total latency in milliseconds.
    pub latency_ms: Option<f64>,
    /// Time to first token in milliseconds.
    pub ttft_ms: Option<f64>,

    // --- what was called ---
    /// Model name as the caller asked for it (or as the log names it).
    pub model: Option<String>,
    /// Provider or serving system (`openai`, `vllm`, `ollama`, …).
    pub provider: Option<String>,
    /// Operation (`chat`, `completion`, `embedding`, …).
    pub operation: Option<String>,

    // --- who called ---
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    /// Request id given by the upstream or the log (e.g. `chatcmpl-…`, `req_abc`).
    pub request_id: Option<String>,
    /// The client's own id for this request (used to attach feedback later).
    pub client_request_id: Option<String>,

    // --- content ---
    /// The input: an array of chat messages, or a prompt string.
    pub input: Value,
    /// The text of the last user message (or the prompt): what "the question" is.
    pub input_text: String,
    /// The assistant's output text (stream deltas joined). `None` when the source did not
    /// record the text at all (e.g. metrics-only log lines); `Some("")` when it was empty.
    pub output: Option<String>,
    /// Tool calls the model made, as OpenAI's `tool_calls` array.
    pub tool_calls: Option<Value>,

    // --- outcome ---
    pub status: CallStatus,
    /// HTTP status code, when there was one.
    pub status_code: Option<u16>,
    /// Machine-readable error kind (`timeout`, `upstream_5xx`, `rate_limited`, …).
    pub error_kind: Option<String>,
    pub error_message: Option<String>,
    /// `stop`, `length`, `tool_calls`, `content_filter`, …
    pub finish_reason: Option<String>,

    // --- usage ---
    pub usage: TokenUsage,

    // --- parameters ---
    pub temperature: Option<f64>,
    /// True when JSON output was requested (`response_format` json_object / json_schema, or a
    /// log's `json_mode` flag).
    pub json_mode: bool,
    /// The `response_format` as requested, when there was one.
    pub response_format: Option<Value>,
    /// The tool definitions offered to the model.
    pub tools: Option<Value>,
    /// Every other request parameter (`max_tokens`, `top_p`, `function_calling`, …).
    pub params: serde_json::Map<String, Value>,

    // --- free-form ---
    pub tags: Vec<String>,
    /// Anything else the source carried whose meaning is not mapped to a field.
    pub attributes: serde_json::Map<String, Value>,

    /// Where the record came from.
    pub origin: Origin,
    /// Cheap compliance flags computed before storing (see [`crate::checks`]).
    pub flags: Vec<String>,
}

/// Token usage of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct TokenUsage {
    pub input: Option<u64>,
    pub output: Option<u64>,
    pub cached: Option<u64>,
    /// Input tokens written to the provider's prompt cache (part of `input`, as `cached` is):
    /// Anthropic and Bedrock charge them above the input price.
    pub cache_write: Option<u64>,
    pub total: Option<u64>,
    /// True when llmscope counted the tokens itself because the source reported none.
    pub counted: bool,
}

impl TokenUsage {
    /// Total tokens: the reported total, else input + output when either is known.
    pub fn effective_total(&self) -> Option<u64> {
        self.total.or(match (self.input, self.output) {
            (None, None) => None,
            (i, o) => Some(i.unwrap_or(0).saturating_add(o.unwrap_or(0))),
        })
    }
}

/// Outcome of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    #[default]
    Ok,
    Error,
    /// The client went away before the call finished.
    Cancelled,
}

impl CallStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Ok => "ok",
            CallStatus::Error => "error",
            CallStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ok" => Some(CallStatus::Ok),
            "error" => Some(CallStatus::Error),
            "cancelled" => Some(CallStatus::Cancelled),
            _ => None,
        }
    }
}

/// The role a span plays in its trace (OpenInference span kinds, lower-cased).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    #[default]
    Llm,
    Chain,
    Tool,
    Retriever,
    Embedding,
    Agent,
    Reranker,
    Guardrail,
    Evaluator,
    Other,
}

impl SpanKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::Llm => "llm",
            SpanKind::Chain => "chain",
            SpanKind::Tool => "tool",
            SpanKind::Retriever => "retriever",
            SpanKind::Embedding => "embedding",
            SpanKind::Agent => "agent",
            SpanKind::Reranker => "reranker",
            SpanKind::Guardrail => "guardrail",
            SpanKind::Evaluator => "evaluator",
            SpanKind::Other => "other",
        }
    }

    /// Parses a kind case-insensitively; unknown kinds become [`SpanKind::Other`].
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_lowercase().as_str() {
            "llm" => SpanKind::Llm,
            "chain" => SpanKind::Chain,
            "tool" => SpanKind::Tool,
            "retriever" => SpanKind::Retriever,
            "embedding" => SpanKind::Embedding,
            "agent" => SpanKind::Agent,
            "reranker" => SpanKind::Reranker,
            "guardrail" => SpanKind::Guardrail,
            "evaluator" => SpanKind::Evaluator,
            _ => SpanKind::Other,
        }
    }
}

/// Where a call record came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    /// Recorded by the logging proxy.
    Proxy,
    /// Received as an OTLP span.
    Otlp,
    /// Posted to the native ingest API.
    #[default]
    Api,
    /// Imported from a log file.
    Import {
        file: String,
        line: u64,
        /// The detected line format (see the importer).
        format: String,
    },
}

impl Origin {
    pub fn kind(&self) -> &'static str {
        match self {
            Origin::Proxy => "proxy",
            Origin::Otlp => "otlp",
            Origin::Api => "api",
            Origin::Import { .. } => "import",
        }
    }
}

/// `code` as an HTTP status code, or why it is not one (a status is 100 to 599).
pub fn http_status(code: u64) -> Result<u16, String> {
    match u16::try_from(code) {
        Ok(c @ 100..=599) => Ok(c),
        _ => Err(format!("{code} is not an HTTP status code (100 to 599)")),
    }
}

/// The error kind of a call that failed with HTTP status `code` (≥ 400), the same whichever
/// way the call was captured: `rate_limited` (429), `upstream_5xx`, `upstream_4xx`.
pub fn error_kind_for_status(code: u16) -> &'static str {
    match code {
        429 => "rate_limited",
        500..=599 => "upstream_5xx",
        _ => "upstream_4xx",
    }
}

impl Call {
    /// Marks a failed call's error kind the same way for every capture path: a status of 400
    /// or more names it ([`error_kind_for_status`]; a different kind the source gave is kept
    /// as the attribute `upstream_error_type`), a failure without one is `otherwise` unless
    /// the source named its kind.
    pub fn settle_error_kind(&mut self, otherwise: &str) {
        if let Some(code) = self.status_code.filter(|c| *c >= 400) {
            self.status = CallStatus::Error;
            let kind = error_kind_for_status(code);
            if let Some(given) = self.error_kind.take().filter(|k| k != kind) {
                self.attributes.entry("upstream_error_type").or_insert(Value::String(given));
            }
            self.error_kind = Some(kind.into());
        } else if self.status == CallStatus::Error && self.error_kind.is_none() {
            self.error_kind = Some(otherwise.into());
        }
    }

    /// For a record that states its own outcome (llmscope's call schema): a failed call
    /// without a kind gets the one its status names, else `error`; nothing stated is changed.
    pub fn fill_error_kind(&mut self) {
        if self.status == CallStatus::Error && self.error_kind.is_none() {
            let by_status = self.status_code.filter(|c| *c >= 400).map(error_kind_for_status);
            self.error_kind = Some(by_status.unwrap_or("error").into());
        }
    }

    /// True when the output is known, empty after trimming (seed 001's `empty_response`), and
    /// the model made no tool calls instead.
    pub fn output_is_empty(&self) -> bool {
        self.output.as_deref().is_some_and(|o| o.trim().is_empty()) && self.tool_calls.is_none()
    }

    /// Output tokens per second of total latency (seed 001's throughput definition:
    /// `completion_tokens / (total_latency_ms / 1000)`); `None` without both numbers or when
    /// the latency is zero.
    pub fn tokens_per_second(&self) -> Option<f64> {
        let out = self.usage.output? as f64;
        let lat = self.latency_ms?;
        (lat > 0.0).then(|| out / (lat / 1000.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_total_prefers_reported_total() {
        let u = TokenUsage { input: Some(3), output: Some(4), total: Some(10), ..Default::default() };
        assert_eq!(u.effective_total(), Some(10));
        let u = TokenUsage { input: Some(3), output: None, ..Default::default() };
        assert_eq!(u.effective_total(), Some(3));
        assert_eq!(TokenUsage::default().effective_total(), None);
    }

    #[test]
    fn tokens_per_second_uses_total_latency() {
        let c = Call {
            usage: TokenUsage { output: Some(100), ..Default::default() },
            latency_ms: Some(1500.0),
            ttft_ms: Some(500.0),
            ..Default::default()
        };
        assert!((c.tokens_per_second().unwrap_or(0.0) - 66.666).abs() < 0.01);
        let c = Call { latency_ms: Some(0.0), ..c };
        assert_eq!(c.tokens_per_second(), None);
    }

    #[test]
    fn status_and_kind_round_trip() {
        for s in [CallStatus::Ok, CallStatus::Error, CallStatus::Cancelled] {
            assert_eq!(CallStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(SpanKind::parse("LLM"), SpanKind::Llm);
        assert_eq!(SpanKind::parse("weird"), SpanKind::Other);
    }
}
