//! Joins a streamed OpenAI response back into the body a non-streaming call returns.
//!
//! Feed it the `data` of every SSE event ([`StreamAssembler::push`]); it joins content
//! deltas (and `reasoning_content`, as vLLM and DeepSeek stream it), merges tool-call deltas
//! by their `index` (the first delta carries id and name, later ones argument fragments),
//! keeps the finish reason, the usage chunk and any `error` event, and reports for each
//! event whether it carried the first content (for time to first token). Legacy
//! `text_completion` chunks (`choices[].text`) are understood too, and so are the Responses
//! API's typed events (`response.output_text.delta`, `response.function_call_arguments.delta`,
//! …, ending with `response.completed` / `response.incomplete` / `response.failed`, whose
//! `response` is the whole answer; that stream has no `[DONE]`). A chunk that is not JSON is
//! counted, not fatal: the recorder must never lose a call because a stream was odd.

use std::borrow::Cow;

use serde_json::{json, Map, Value};

use super::chunk::{ChatChunk, Json, ToolCallDelta};

/// Whether a chunk is one of the Responses API's typed events.
fn is_responses_event(c: &ChatChunk<'_>) -> bool {
    c.kind.as_deref().is_some_and(|k| k.starts_with("response.") || k == "error")
}

/// What one event was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChunkKind {
    /// `data: [DONE]`.
    pub done: bool,
    /// The event carried output (text or a tool call) and none had come before.
    pub first_content: bool,
    /// The chunk carries only usage (`"choices": []`), as `stream_options.include_usage` adds.
    pub usage_only: bool,
    /// The chunk is an `{"error": …}` object.
    pub error: bool,
}

#[derive(Debug, Default, Clone)]
struct ToolCall {
    id: Option<String>,
    kind: Option<String>,
    name: String,
    arguments: String,
    /// `arguments` came whole with the item (Responses API); deltas, if any follow, replace them.
    whole: bool,
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct StreamAssembler {
    id: Option<Value>,
    model: Option<Value>,
    created: Option<Value>,
    fingerprint: Option<Value>,
    object: Option<String>,
    text: String,
    reasoning: String,
    refusal: String,
    tool_calls: Vec<(u64, ToolCall)>,
    finish_reason: Option<Value>,
    usage: Option<Value>,
    error: Option<Value>,
    saw_content: bool,
    saw_done: bool,
    chunks: u64,
    bad_chunks: u64,
    extra_choices: u64,
    /// The stream is the Responses API's.
    responses: bool,
    /// The Responses API's last `response` object (complete once the stream ended).
    last_response: Option<Map<String, Value>>,
}

impl StreamAssembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// True once `data: [DONE]` was seen.
    pub fn done(&self) -> bool {
        self.saw_done
    }

    /// True when the stream carried an `error` event.
    pub fn errored(&self) -> bool {
        self.error.is_some()
    }

    /// Chunks read as JSON objects.
    pub fn chunks(&self) -> u64 {
        self.chunks
    }

    /// Chunks that were not JSON objects.
    pub fn bad_chunks(&self) -> u64 {
        self.bad_chunks
    }

    /// Feeds the `data` of one event.
    pub fn push(&mut self, data: &str) -> ChunkKind {
        let data = data.trim();
        if data == "[DONE]" {
            self.saw_done = true;
            return ChunkKind { done: true, ..Default::default() };
        }
        // The typed read first; a chunk it cannot read (or a Responses API event, whose
        // payload the assembler reads as a map) is parsed into a `Value`. Once the stream is
        // known to be the Responses API's, its events go straight there (not read twice).
        if !self.responses {
            if let Some(chunk) = ChatChunk::parse(data).filter(|c| !is_responses_event(c)) {
                self.chunks += 1;
                return self.push_chat(chunk);
            }
        }
        self.push_tree(data)
    }

    /// Reads an event through a `Value` tree: the Responses API's events, and chunks the typed
    /// read refused.
    fn push_tree(&mut self, data: &str) -> ChunkKind {
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(data) else {
            self.bad_chunks += 1;
            return ChunkKind::default();
        };
        self.push_map(&map)
    }

    /// Feeds one event already parsed (a logged stream kept as an array of chunk objects).
    pub fn push_map(&mut self, map: &Map<String, Value>) -> ChunkKind {
        self.chunks += 1;
        let chunk = ChatChunk::from_map(map);
        if is_responses_event(&chunk) {
            let event = chunk.kind.as_deref().unwrap_or_default();
            return self.push_responses_event(event, map);
        }
        self.push_chat(chunk)
    }

    /// One chat or legacy completions chunk.
    fn push_chat(&mut self, chunk: ChatChunk<'_>) -> ChunkKind {
        let mut kind = ChunkKind::default();
        if let Some(err) = chunk.error.and_then(Json::to_value) {
            self.error = Some(err);
            kind.error = true;
            return kind;
        }
        for (slot, v) in [
            (&mut self.id, chunk.id),
            (&mut self.model, chunk.model),
            (&mut self.created, chunk.created),
            (&mut self.fingerprint, chunk.system_fingerprint),
        ] {
            if slot.is_none() {
                *slot = v.and_then(Json::to_value);
            }
        }
        if self.object.is_none() {
            self.object = chunk.object.map(Cow::into_owned);
        }
        if let Some(u) = chunk.usage.filter(|u| u.is_object()).and_then(Json::to_value) {
            self.usage = Some(u);
        }
        if chunk.choices.as_ref().is_some_and(Vec::is_empty) && self.usage.is_some() {
            kind.usage_only = true;
        }
        let had_content = self.saw_content;
        for choice in chunk.choices.into_iter().flatten() {
            let index = choice.index.unwrap_or(0);
            if index != 0 {
                self.extra_choices = self.extra_choices.max(index);
                continue;
            }
            if let Some(fr) = choice.finish_reason.and_then(Json::to_value) {
                self.finish_reason = Some(fr);
            }
            if let Some(t) = &choice.text {
                self.add_text(t);
            }
            let Some(delta) = choice.delta else { continue };
            if let Some(t) = &delta.content {
                self.add_text(t);
            }
            for t in [&delta.reasoning_content, &delta.reasoning].into_iter().flatten() {
                self.reasoning.push_str(t);
            }
            if let Some(t) = &delta.refusal {
                self.refusal.push_str(t);
                self.saw_content |= !t.is_empty();
            }
            for (pos, tc) in delta.tool_calls.into_iter().flatten().enumerate() {
                self.merge_tool_call(pos, tc);
            }
        }
        kind.first_content = !had_content && self.saw_content;
        kind
    }

    /// One event of a Responses API stream.
    fn push_responses_event(&mut self, event: &str, chunk: &Map<String, Value>) -> ChunkKind {
        self.responses = true;
        let had_content = self.saw_content;
        let mut kind = ChunkKind::default();
        let index = chunk.get("output_index").and_then(Value::as_u64).unwrap_or(0);
        let delta = chunk.get("delta").and_then(Value::as_str).unwrap_or("");
        match event {
            "response.output_text.delta" => self.add_text(delta),
            "response.refusal.delta" => {
                self.refusal.push_str(delta);
                self.saw_content |= !delta.is_empty();
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => self.reasoning.push_str(delta),
            "response.output_item.added" | "response.output_item.done" => {
                let item = chunk.get("item").filter(|i| i.get("type").and_then(Value::as_str) == Some("function_call"));
                if let Some(item) = item {
                    let tc = self.tool_call_at(index);
                    tc.id = item.get("call_id").and_then(Value::as_str).map(str::to_string).or(tc.id.take());
                    tc.kind = Some("function".into());
                    if let Some(name) = item.get("name").and_then(Value::as_str) {
                        name.clone_into(&mut tc.name);
                    }
                    if let Some(args) = item.get("arguments").and_then(Value::as_str) {
                        args.clone_into(&mut tc.arguments);
                        tc.whole = true;
                    }
                    self.saw_content = true;
                }
            }
            "response.function_call_arguments.delta" => {
                let tc = self.tool_call_at(index);
                if std::mem::take(&mut tc.whole) {
                    tc.arguments.clear();
                }
                tc.arguments.push_str(delta);
                self.saw_content = true;
            }
            "response.function_call_arguments.done" => {
                if let Some(args) = chunk.get("arguments").and_then(Value::as_str) {
                    let tc = self.tool_call_at(index);
                    args.clone_into(&mut tc.arguments);
                    tc.whole = true;
                }
            }
            "error" => {
                // The fields are at the top (`{"type": "error", "code", "message"}`) or, as some
                // servers send them, in a nested `error` object.
                let source = match chunk.get("error") {
                    Some(Value::Object(nested)) => nested,
                    _ => chunk,
                };
                let mut err = Map::new();
                for key in ["message", "code", "type", "param"] {
                    if let Some(v) = source.get(key).filter(|v| !v.is_null()) {
                        err.insert(key.into(), v.clone());
                    }
                }
                self.error = Some(Value::Object(err));
                kind.error = true;
            }
            _ => {}
        }
        if let Some(Value::Object(r)) = chunk.get("response") {
            if self.id.is_none() {
                self.id = r.get("id").filter(|v| !v.is_null()).cloned();
            }
            if self.model.is_none() {
                self.model = r.get("model").filter(|v| !v.is_null()).cloned();
            }
            self.last_response = Some(r.clone());
            if matches!(event, "response.completed" | "response.incomplete" | "response.failed") {
                self.saw_done = true;
                if let Some(e) = r.get("error").filter(|e| !e.is_null()) {
                    self.error = Some(e.clone());
                    kind.error = true;
                }
            }
        }
        kind.done = self.saw_done && matches!(event, "response.completed" | "response.incomplete" | "response.failed");
        kind.first_content = !had_content && self.saw_content;
        kind
    }

    /// The tool call with this index (a chat delta's `index`, a Responses API event's
    /// `output_index`), added when it is new.
    fn tool_call_at(&mut self, index: u64) -> &mut ToolCall {
        let at = match self.tool_calls.iter().position(|(i, _)| *i == index) {
            Some(at) => at,
            None => {
                self.tool_calls.push((index, ToolCall::default()));
                self.tool_calls.len() - 1
            }
        };
        &mut self.tool_calls[at].1
    }

    /// Whether the stream is the Responses API's (typed events, no `[DONE]`).
    pub fn is_responses(&self) -> bool {
        self.responses
    }

    /// The Responses API answer: the final `response` object when the stream ended, else
    /// one built from what arrived (status `incomplete`, or `failed` after an error event).
    fn responses_body(&self) -> Map<String, Value> {
        if self.saw_done {
            if let Some(r) = &self.last_response {
                return r.clone();
            }
        }
        let mut resp = self.last_response.clone().unwrap_or_default();
        resp.insert("object".into(), "response".into());
        let mut output = Vec::new();
        if !self.text.is_empty() || !self.refusal.is_empty() {
            let mut parts = vec![json!({"type": "output_text", "text": self.text})];
            if !self.refusal.is_empty() {
                parts.push(json!({"type": "refusal", "refusal": self.refusal}));
            }
            output.push(json!({"type": "message", "role": "assistant", "content": parts}));
        }
        for (_, tc) in &self.tool_calls {
            output.push(json!({"type": "function_call", "call_id": tc.id, "name": tc.name, "arguments": tc.arguments}));
        }
        resp.insert("output".into(), Value::Array(output));
        match &self.error {
            Some(e) => {
                resp.insert("status".into(), "failed".into());
                resp.insert("error".into(), e.clone());
            }
            None => {
                resp.insert("status".into(), "incomplete".into());
            }
        }
        resp
    }

    fn add_text(&mut self, t: &str) {
        if !t.is_empty() {
            self.saw_content = true;
            self.text.push_str(t);
        }
    }

    fn merge_tool_call(&mut self, pos: usize, tc: ToolCallDelta<'_>) {
        let slot = self.tool_call_at(tc.index.unwrap_or(pos as u64));
        if let Some(id) = tc.id {
            slot.id = Some(id.into_owned());
        }
        if let Some(t) = tc.kind {
            slot.kind = Some(t.into_owned());
        }
        if let Some(f) = tc.function {
            if let Some(n) = &f.name {
                slot.name.push_str(n);
            }
            if let Some(a) = &f.arguments {
                slot.arguments.push_str(a);
            }
        }
        self.saw_content = true;
    }

    /// The usage the stream reported, if any.
    pub fn usage(&self) -> Option<&Value> {
        self.usage.as_ref()
    }

    /// The response body a non-streaming call would have returned (as far as the stream
    /// got), shaped so [`super::map_response`] reads it.
    pub fn response(&self) -> Map<String, Value> {
        if self.responses {
            return self.responses_body();
        }
        let mut resp = Map::new();
        for (key, v) in [("id", &self.id), ("model", &self.model), ("created", &self.created)] {
            if let Some(v) = v {
                resp.insert(key.into(), v.clone());
            }
        }
        if let Some(fp) = &self.fingerprint {
            resp.insert("system_fingerprint".into(), fp.clone());
        }
        let legacy = self.object.as_deref() == Some("text_completion");
        let finish = self.finish_reason.clone().unwrap_or(Value::Null);
        let choice = if legacy {
            json!({"index": 0, "text": self.text, "finish_reason": finish})
        } else {
            let mut msg = Map::new();
            msg.insert("role".into(), "assistant".into());
            let content = if self.text.is_empty() && !self.tool_calls.is_empty() {
                Value::Null
            } else {
                Value::String(self.text.clone())
            };
            msg.insert("content".into(), content);
            if !self.refusal.is_empty() {
                msg.insert("refusal".into(), self.refusal.clone().into());
            }
            if !self.reasoning.is_empty() {
                msg.insert("reasoning_content".into(), self.reasoning.clone().into());
            }
            if !self.tool_calls.is_empty() {
                let calls: Vec<Value> = self
                    .tool_calls
                    .iter()
                    .map(|(_, tc)| {
                        json!({
                            "id": tc.id,
                            "type": tc.kind.as_deref().unwrap_or("function"),
                            "function": {"name": tc.name, "arguments": tc.arguments},
                        })
                    })
                    .collect();
                msg.insert("tool_calls".into(), Value::Array(calls));
            }
            json!({"index": 0, "message": msg, "finish_reason": finish})
        };
        resp.insert("object".into(), (if legacy { "text_completion" } else { "chat.completion" }).into());
        resp.insert("choices".into(), Value::Array(vec![choice]));
        if let Some(u) = &self.usage {
            resp.insert("usage".into(), u.clone());
        }
        if let Some(e) = &self.error {
            resp.insert("error".into(), e.clone());
        }
        resp
    }

    /// Extra facts worth keeping as attributes: reasoning length, number of choices beyond
    /// the first, malformed chunks.
    pub fn attributes(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("stream_chunks".into(), self.chunks.into());
        if self.bad_chunks > 0 {
            m.insert("stream_bad_chunks".into(), self.bad_chunks.into());
        }
        if self.extra_choices > 0 {
            m.insert("choices".into(), (self.extra_choices + 1).into());
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmscope_core::Call;

    fn chunk(delta: Value, finish: Value) -> String {
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1700000000, "model": "m",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        .to_string()
    }

    #[test]
    fn content_deltas_join_and_ttft_marks_the_first_text() {
        let mut a = StreamAssembler::new();
        assert!(!a.push(&chunk(json!({"role": "assistant", "content": ""}), Value::Null)).first_content);
        assert!(a.push(&chunk(json!({"content": "Hel"}), Value::Null)).first_content);
        assert!(!a.push(&chunk(json!({"content": "lo"}), Value::Null)).first_content);
        a.push(&chunk(json!({}), json!("stop")));
        let u = a.push(
            r#"{"id":"chatcmpl-1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#,
        );
        assert!(u.usage_only);
        assert!(a.push("[DONE]").done);
        let mut call = Call::default();
        crate::openai::map_response(&a.response(), &mut call).expect("maps");
        assert_eq!(call.output.as_deref(), Some("Hello"));
        assert_eq!(call.finish_reason.as_deref(), Some("stop"));
        assert_eq!(call.request_id.as_deref(), Some("chatcmpl-1"));
        assert_eq!((call.usage.input, call.usage.output, call.usage.total), (Some(3), Some(2), Some(5)));
    }

    #[test]
    fn tool_call_fragments_merge_by_index() {
        let mut a = StreamAssembler::new();
        a.push(&chunk(json!({"role": "assistant", "content": null}), Value::Null));
        let first = a.push(&chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
            Value::Null,
        ));
        assert!(first.first_content);
        a.push(&chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}), Value::Null));
        a.push(&chunk(
            json!({"tool_calls": [{"index": 1, "id": "call_2", "function": {"name": "now", "arguments": "{}"}}]}),
            Value::Null,
        ));
        a.push(&chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": " \"Paris\"}"}}]}), Value::Null));
        a.push(&chunk(json!({}), json!("tool_calls")));
        let resp = a.response();
        let msg = &resp["choices"][0]["message"];
        assert_eq!(msg["content"], Value::Null);
        assert_eq!(msg["tool_calls"][0]["id"], "call_1");
        assert_eq!(msg["tool_calls"][0]["function"]["arguments"], "{\"city\": \"Paris\"}");
        assert_eq!(msg["tool_calls"][1]["function"]["name"], "now");
        let mut call = Call::default();
        crate::openai::map_response(&resp, &mut call).expect("maps");
        assert_eq!(call.tool_calls.as_ref().and_then(|t| t.as_array()).map(Vec::len), Some(2));
        assert_eq!(call.finish_reason.as_deref(), Some("tool_calls"));
    }

    #[test]
    fn legacy_completions_error_events_and_junk() {
        let mut a = StreamAssembler::new();
        a.push(
            r#"{"id":"cmpl-1","object":"text_completion","choices":[{"index":0,"text":"ab","finish_reason":null}]}"#,
        );
        a.push(
            r#"{"id":"cmpl-1","object":"text_completion","choices":[{"index":0,"text":"c","finish_reason":"length"}]}"#,
        );
        assert_eq!(a.push("not json"), ChunkKind::default());
        assert_eq!(a.bad_chunks(), 1);
        let resp = a.response();
        assert_eq!(resp["choices"][0]["text"], "abc");
        let e = a.push(r#"{"error":{"message":"overloaded","type":"server_error"}}"#);
        assert!(e.error && a.errored());
        let mut call = Call::default();
        crate::openai::map_response(&a.response(), &mut call).expect("maps");
        assert_eq!(call.error_message.as_deref(), Some("overloaded"));
    }

    #[test]
    fn a_responses_api_stream_ends_with_its_final_response() {
        let ev = |v: Value| v.to_string();
        let mut a = StreamAssembler::new();
        let created =
            json!({"id": "resp_1", "object": "response", "model": "m", "status": "in_progress", "output": []});
        assert!(!a.push(&ev(json!({"type": "response.created", "response": created}))).first_content);
        assert!(
            a.push(&ev(json!({"type": "response.output_text.delta", "output_index": 0, "delta": "Hel"}))).first_content
        );
        a.push(&ev(json!({"type": "response.output_text.delta", "output_index": 0, "delta": "lo"})));
        assert!(!a.done());
        // Cut here: what arrived is an incomplete response with the text so far.
        let mut call = Call::default();
        crate::openai::map_response(&a.response(), &mut call).expect("maps");
        assert_eq!((call.output.as_deref(), call.request_id.as_deref()), (Some("Hello"), Some("resp_1")));
        a.push(&ev(json!({"type": "response.output_item.added", "output_index": 1,
                          "item": {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": ""}})));
        a.push(&ev(json!({"type": "response.function_call_arguments.delta", "output_index": 1, "delta": "{\"a\":"})));
        a.push(&ev(json!({"type": "response.function_call_arguments.delta", "output_index": 1, "delta": "1}"})));
        let partial = a.response();
        assert_eq!(partial["output"][1]["arguments"], "{\"a\":1}");
        let done = json!({"id": "resp_1", "object": "response", "model": "m", "status": "completed",
            "output": [{"type": "message", "content": [{"type": "output_text", "text": "Hello"}]}],
            "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}});
        assert!(a.push(&ev(json!({"type": "response.completed", "response": done}))).done);
        assert!(a.done() && !a.errored());
        let mut call = Call::default();
        crate::openai::map_response(&a.response(), &mut call).expect("maps");
        assert_eq!(
            (call.output.as_deref(), call.usage.total, call.finish_reason.as_deref()),
            (Some("Hello"), Some(5), Some("stop"))
        );
        // Whole arguments on the added item, then deltas too (some servers): not doubled; the
        // `.done` event has the last word.
        let mut d = StreamAssembler::new();
        d.push(&ev(json!({"type": "response.output_item.added", "output_index": 0,
                          "item": {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{\"x\":1}"}})));
        d.push(&ev(json!({"type": "response.function_call_arguments.delta", "output_index": 0, "delta": "{\"x\":"})));
        d.push(&ev(json!({"type": "response.function_call_arguments.delta", "output_index": 0, "delta": "1}"})));
        assert_eq!(d.response()["output"][0]["arguments"], "{\"x\":1}");
        d.push(&ev(
            json!({"type": "response.function_call_arguments.done", "output_index": 0, "arguments": "{\"x\":2}"}),
        ));
        assert_eq!(d.response()["output"][0]["arguments"], "{\"x\":2}");
        // A nested error object is read too.
        let mut e = StreamAssembler::new();
        e.push(&ev(json!({"type": "error", "sequence_number": 2, "error": {"type": "server_error", "code": "overloaded", "message": "try later"}})));
        let mut call = Call::default();
        crate::openai::map_response(&e.response(), &mut call).expect("maps");
        assert_eq!(
            (call.error_message.as_deref(), call.error_kind.as_deref()),
            (Some("try later"), Some("overloaded"))
        );
        // An error event fails the call.
        let mut b = StreamAssembler::new();
        assert!(b.push(&ev(json!({"type": "error", "code": "server_error", "message": "boom"}))).error);
        let mut call = Call::default();
        crate::openai::map_response(&b.response(), &mut call).expect("maps");
        assert_eq!((call.status, call.error_message.as_deref()), (llmscope_core::CallStatus::Error, Some("boom")));
    }

    /// A chat chunk with any mix of the fields the assembler reads, of the right type or not.
    fn any_chunk() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let text = prop_oneof![
            Just(Value::Null),
            "[a-z \\n\"\\\\é{}]{0,8}".prop_map(Value::from),
            any::<u8>().prop_map(Value::from),
            Just(json!(["odd"]))
        ];
        let index = prop_oneof![Just(Value::Null), (0u64..3).prop_map(Value::from), Just(json!(-1)), Just(json!(1.5))];
        let tool = (index.clone(), text.clone(), text.clone(), text.clone()).prop_map(
            |(i, id, n, a)| json!({"index": i, "id": id, "type": "function", "function": {"name": n, "arguments": a}}),
        );
        let delta = (text.clone(), text.clone(), text.clone(), proptest::collection::vec(tool, 0..3))
            .prop_map(|(c, r, f, t)| json!({"content": c, "reasoning_content": r, "refusal": f, "tool_calls": t}));
        let choice = (index, text.clone(), prop_oneof![Just(Value::Null), delta, Just(json!("x"))])
            .prop_map(|(i, fr, d)| json!({"index": i, "finish_reason": fr, "text": fr, "delta": d}));
        let usage = prop_oneof![Just(Value::Null), Just(json!({"total_tokens": 3})), Just(json!(7))];
        (text.clone(), text, usage, proptest::collection::vec(choice, 0..3)).prop_map(|(id, obj, u, c)| {
            json!({"id": id, "object": obj, "model": "m", "usage": u, "choices": c}).to_string()
        })
    }

    /// A chunk of the right types throughout, with keys left out at random.
    fn well_typed_chunk() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let text = || proptest::option::of("[a-z \\n\"\\\\é{}]{0,8}");
        let tool = (proptest::option::of(0u64..3), text(), text(), text()).prop_map(|(i, id, n, a)| {
            let mut f = Map::new();
            n.map(|n| f.insert("name".into(), n.into()));
            a.map(|a| f.insert("arguments".into(), a.into()));
            let mut t = Map::new();
            i.map(|i| t.insert("index".into(), i.into()));
            id.map(|id| t.insert("id".into(), id.into()));
            t.insert("type".into(), "function".into());
            t.insert("function".into(), Value::Object(f));
            Value::Object(t)
        });
        let delta = (text(), text(), text(), text(), proptest::option::of(proptest::collection::vec(tool, 0..3)))
            .prop_map(|(c, r, rr, f, t)| {
                let mut d = Map::new();
                for (k, v) in [("content", c), ("reasoning_content", r), ("reasoning", rr), ("refusal", f)] {
                    v.map(|v| d.insert(k.into(), v.into()));
                }
                t.map(|t| d.insert("tool_calls".into(), Value::Array(t)));
                Value::Object(d)
            });
        let finish = prop_oneof![Just(Value::Null), Just(json!("stop")), Just(json!("tool_calls"))];
        let choice = (0u64..2, finish, proptest::option::of(delta))
            .prop_map(|(i, fr, d)| json!({"index": i, "finish_reason": fr, "delta": d}));
        let usage = prop_oneof![Just(Value::Null), Just(json!({"prompt_tokens": 3, "total_tokens": 5}))];
        (proptest::option::of("[a-z]{1,4}"), usage, proptest::collection::vec(choice, 0..3)).prop_map(|(id, u, c)| {
            let mut m = Map::new();
            id.map(|id| m.insert("id".into(), id.into()));
            m.insert("object".into(), "chat.completion.chunk".into());
            m.insert("usage".into(), u);
            m.insert("choices".into(), Value::Array(c));
            Value::Object(m).to_string()
        })
    }

    proptest::proptest! {
        /// Chunks as servers send them take the typed read, and it assembles what the tree
        /// read does.
        #[test]
        fn well_typed_chunks_are_read_typed_and_assemble_as_the_tree_read_does(
            chunks in proptest::collection::vec(well_typed_chunk(), 1..6),
        ) {
            let (mut fast, mut tree) = (StreamAssembler::new(), StreamAssembler::new());
            for c in &chunks {
                proptest::prop_assert!(ChatChunk::parse(c).is_some(), "{}", c);
                proptest::prop_assert_eq!(fast.push(c), tree.push_tree(c));
            }
            proptest::prop_assert_eq!(fast.response(), tree.response());
            proptest::prop_assert_eq!(fast.attributes(), tree.attributes());
        }

        #[test]
        fn the_typed_read_and_the_tree_read_assemble_the_same(chunks in proptest::collection::vec(any_chunk(), 1..6)) {
            let (mut fast, mut tree) = (StreamAssembler::new(), StreamAssembler::new());
            for c in &chunks {
                proptest::prop_assert_eq!(fast.push(c), tree.push_tree(c));
            }
            proptest::prop_assert_eq!(fast.response(), tree.response());
            proptest::prop_assert_eq!(fast.attributes(), tree.attributes());
        }

        #[test]
        fn never_panics(data in ".{0,200}") {
            let mut a = StreamAssembler::new();
            a.push(&data);
            let _ = a.response();
        }
    }
}
