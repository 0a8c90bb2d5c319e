//! Per-line format detection, from the keys a line's JSON object carries.

use serde_json::{Map, Value};

/// The log formats the importer understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineFormat {
    /// Seed 000 basic Chainlit log: `timestamp, user_input, model_response, metadata{…}`.
    Seed000Basic,
    /// Seed 000 flat `EnhancedLogEntry`: `user_input, model_response, response_time, …`.
    Seed000Enhanced,
    /// Seed 001 inference log: `timestamp, level, request_id, model, input, output, metadata{…}`.
    Seed001,
    /// Seed 004 `json_log_formatter` line: `message, time, request_id, user_id, model_version, …`.
    Seed004,
    /// An OpenAI request/response pair: `{"request": {…}, "response": {…}}`.
    OpenAiPair,
    /// An OpenAI Batch API output (or input) line: `custom_id` + `response` / `error`.
    OpenAiBatch,
    /// An OpenAI response logged on its own: `"object": "chat.completion"`, … .
    OpenAiResponse,
    /// llmscope's own call record (what `llmscope calls --format jsonl` writes).
    Native,
    /// LiteLLM's `StandardLoggingPayload`: `call_type`, `startTime`, `messages`, `response`, … .
    LiteLlm,
    /// A Langfuse observation: `traceId`, `type`, `startTime`, `input`, `output`, `usage`, … .
    Langfuse,
    /// An Amazon Bedrock model invocation log record: `schemaType: "ModelInvocationLog"`,
    /// `modelId`, `operation`, `input{inputBodyJson, …}`, `output{outputBodyJson, …}`.
    Bedrock,
}

impl LineFormat {
    pub const ALL: [LineFormat; 11] = [
        LineFormat::Seed000Basic,
        LineFormat::Seed000Enhanced,
        LineFormat::Seed001,
        LineFormat::Seed004,
        LineFormat::OpenAiPair,
        LineFormat::OpenAiBatch,
        LineFormat::OpenAiResponse,
        LineFormat::Native,
        LineFormat::LiteLlm,
        LineFormat::Langfuse,
        LineFormat::Bedrock,
    ];

    pub fn name(self) -> &'static str {
        match self {
            LineFormat::Seed000Basic => "seed000-basic",
            LineFormat::Seed000Enhanced => "seed000-enhanced",
            LineFormat::Seed001 => "seed001",
            LineFormat::Seed004 => "seed004",
            LineFormat::OpenAiPair => "openai",
            LineFormat::OpenAiBatch => "openai-batch",
            LineFormat::OpenAiResponse => "openai-response",
            LineFormat::Native => "native",
            LineFormat::LiteLlm => "litellm",
            LineFormat::Langfuse => "langfuse",
            LineFormat::Bedrock => "bedrock",
        }
    }
}

/// Detects the format of one line's object, or `None` when no format fits.
pub fn detect(obj: &Map<String, Value>) -> Option<LineFormat> {
    let has = |k: &str| obj.contains_key(k);
    let request_like = obj.get("request").is_some_and(|r| r.get("messages").is_some() || r.get("prompt").is_some());
    if has("request") && (has("response") || request_like) {
        return Some(LineFormat::OpenAiPair);
    }
    if has("custom_id") && (has("response") || has("error") || (has("method") && has("body"))) {
        return Some(LineFormat::OpenAiBatch);
    }
    if crate::import::formats::litellm::is_payload(obj) {
        return Some(LineFormat::LiteLlm);
    }
    // (Before seed 001's check: a record has `input`, `output` and `timestamp`.)
    if crate::import::formats::bedrock::is_record(obj) {
        return Some(LineFormat::Bedrock);
    }
    if crate::import::formats::langfuse::is_observation(obj) {
        return Some(LineFormat::Langfuse);
    }
    // (Before seed 001's check: a Responses API object has `output` and `metadata`.)
    if crate::import::formats::openai_batch::is_bare_response(obj) {
        return Some(LineFormat::OpenAiResponse);
    }
    if has("user_input") || has("model_response") {
        return Some(if obj.get("metadata").is_some_and(Value::is_object) {
            LineFormat::Seed000Basic
        } else {
            LineFormat::Seed000Enhanced
        });
    }
    if has("start_time") && (has("trace_id") || has("input_text") || has("origin")) {
        return Some(LineFormat::Native);
    }
    if (has("input") || has("output")) && (has("timestamp") || has("request_id") || has("metadata")) {
        return Some(LineFormat::Seed001);
    }
    if has("message")
        && (has("time") || has("asctime") || has("timestamp"))
        && (has("latency_ms") || has("input_tokens") || has("output_tokens") || has("model_version"))
    {
        return Some(LineFormat::Seed004);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(v: Value) -> Option<LineFormat> {
        v.as_object().and_then(detect)
    }

    #[test]
    fn detects_each_format() {
        assert_eq!(
            d(json!({"timestamp": "t", "user_input": "a", "model_response": "b", "metadata": {}})),
            Some(LineFormat::Seed000Basic)
        );
        assert_eq!(
            d(json!({"timestamp": "t", "user_input": "a", "model_response": "b", "response_time": 1})),
            Some(LineFormat::Seed000Enhanced)
        );
        assert_eq!(
            d(json!({"timestamp": 1, "level": "INFO", "request_id": "r", "input": "a", "output": "b", "metadata": {}})),
            Some(LineFormat::Seed001)
        );
        assert_eq!(d(json!({"message": "m", "time": "t", "latency_ms": 1})), Some(LineFormat::Seed004));
        assert_eq!(d(json!({"request": {}, "response": {}})), Some(LineFormat::OpenAiPair));
        assert_eq!(d(json!({"start_time": "t", "trace_id": "x"})), Some(LineFormat::Native));
        assert_eq!(d(json!({"custom_id": "r1", "response": {}, "error": null})), Some(LineFormat::OpenAiBatch));
        assert_eq!(d(json!({"custom_id": "r1", "method": "POST", "body": {}})), Some(LineFormat::OpenAiBatch));
        assert_eq!(d(json!({"object": "chat.completion", "choices": []})), Some(LineFormat::OpenAiResponse));
        assert_eq!(
            d(json!({"object": "response", "output": [], "metadata": {}, "created_at": 1})),
            Some(LineFormat::OpenAiResponse)
        );
        assert_eq!(
            d(json!({"id": "x", "call_type": "acompletion", "startTime": 1.5, "messages": [], "metadata": {}})),
            Some(LineFormat::LiteLlm)
        );
        assert_eq!(
            d(json!({"id": "o", "traceId": "t", "type": "GENERATION", "startTime": "x", "input": [], "output": "",
                     "metadata": {}})),
            Some(LineFormat::Langfuse)
        );
        assert_eq!(d(json!({"object": "chat.completion.chunk", "choices": []})), None, "a stream chunk is no call");
        assert_eq!(d(json!({"message": "plain log line", "time": "t"})), None);
        assert_eq!(d(json!({"foo": 1})), None);
    }
}
