//! `POST /v1/responses` (OpenAI's Responses API): `input` as a string or an array of input
//! items, answered with one `response` object (a `message` item with one `output_text` part)
//! or, with `stream: true`, as typed events — `response.created`, `response.in_progress`,
//! `response.output_item.added`, `response.content_part.added`, one
//! `response.output_text.delta` per token on the token schedule, the matching `.done` events
//! and `response.completed` carrying the whole response (`response.incomplete` when
//! `max_output_tokens` cut the answer). No `[DONE]`: the stream ends after the last event. A
//! `cut` fault drops the connection after that many deltas.

use serde_json::{json, Map, Value};

use crate::config::{Fault, MockConfig};
use crate::endpoint::{Answer, Endpoint};
use crate::request::{self, flag, max_tokens, now_secs, wrong_type, Settings};
use crate::sse::{Ending, Events};
use crate::text::{answer_seeded, contains_cjk, count_tokens, hash64, Tokens};
use crate::wire::ApiError;

/// A validated request and its answer.
#[derive(Debug)]
pub(crate) struct Plan {
    model: String,
    stream: bool,
    input_tokens: usize,
    tokens: Tokens,
    /// `max_output_tokens` cut the answer.
    truncated: bool,
}

/// The text the answer is seeded from: the string input, or every text in the input items.
fn input_text(req: &Map<String, Value>) -> Result<String, ApiError> {
    fn texts(content: &Value, out: &mut String) {
        match content {
            Value::String(s) => out.push_str(s),
            Value::Array(parts) => {
                for p in parts {
                    if let Some(t) = p.get("text").and_then(Value::as_str) {
                        out.push_str(t);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = String::new();
    if let Some(i) = req.get("instructions").and_then(Value::as_str) {
        out.push_str(i);
    }
    match req.get("input") {
        None | Some(Value::Null) => return Err(request::missing("input")),
        Some(Value::String(s)) => out.push_str(s),
        Some(Value::Array(items)) => {
            for item in items {
                match item {
                    Value::Object(m) => {
                        if let Some(c) = m.get("content") {
                            texts(c, &mut out);
                        }
                        if let Some(o) = m.get("output").and_then(Value::as_str) {
                            out.push_str(o);
                        }
                    }
                    other => return Err(wrong_type("input", "an array of input items", other)),
                }
            }
        }
        Some(other) => return Err(wrong_type("input", "a string or an array of input items", other)),
    }
    Ok(out)
}

/// The Responses API [`Endpoint`].
#[derive(Debug)]
pub(crate) struct Responses;

impl Endpoint for Responses {
    type Plan = Plan;

    fn plan(_: &MockConfig, req: &Map<String, Value>, settings: &Settings) -> Result<Plan, ApiError> {
        let model = request::model(req)?;
        let text = input_text(req)?;
        let stream = flag(req, "stream")?;
        let limit = max_tokens(req, &["max_output_tokens"])?.unwrap_or(usize::MAX);
        let length = if settings.fault == Some(Fault::Empty) { 0 } else { settings.output_tokens };
        let mut tokens = answer_seeded(hash64(text.as_bytes()), contains_cjk(&text), length);
        let truncated = tokens.truncate(limit);
        Ok(Plan { model: model.to_owned(), stream, input_tokens: count_tokens(&text), tokens, truncated })
    }

    fn model(plan: &Plan) -> &str {
        &plan.model
    }

    fn answer(plan: Plan, settings: &Settings, n: u64) -> Answer {
        let created = now_secs();
        if plan.stream {
            return render_stream(&plan, settings, n, created);
        }
        let body = response(&plan, n, created, "", settings.usage).to_string();
        Answer::Json { body, after: settings.generation_time(plan.tokens.len()) }
    }
}

fn message_id(n: u64) -> String {
    format!("msg_mock_{n}")
}

/// The `response` object; `status` empty means the final one (`completed`, or `incomplete`
/// when cut by `max_output_tokens`), with the answer and usage.
fn response(plan: &Plan, n: u64, created: u64, status: &str, usage: bool) -> Value {
    let done = status.is_empty();
    let status = match (done, plan.truncated) {
        (false, _) => status,
        (true, true) => "incomplete",
        (true, false) => "completed",
    };
    let output = if done {
        json!([{
            "type": "message", "id": message_id(n), "status": status, "role": "assistant",
            "content": [{"type": "output_text", "text": plan.tokens.text(), "annotations": []}],
        }])
    } else {
        json!([])
    };
    let usage = (done && usage).then(|| {
        json!({
            "input_tokens": plan.input_tokens, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": plan.tokens.len(), "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": plan.input_tokens + plan.tokens.len(),
        })
    });
    json!({
        "id": format!("resp_mock_{n}"), "object": "response", "created_at": created, "status": status,
        "error": null,
        "incomplete_details": if done && plan.truncated { json!({"reason": "max_output_tokens"}) } else { Value::Null },
        "instructions": null, "model": plan.model, "output": output, "parallel_tool_calls": true,
        "temperature": 1.0, "tool_choice": "auto", "tools": [], "top_p": 1.0, "metadata": {},
        "usage": usage,
    })
}

/// Appends one typed event.
fn event(events: &mut Events, seq: &mut u64, kind: &str, mut data: Value) {
    if let Some(m) = data.as_object_mut() {
        m.insert("type".into(), kind.into());
        m.insert("sequence_number".into(), (*seq).into());
    }
    *seq += 1;
    let out = events.buf();
    out.push_str("event: ");
    out.push_str(kind);
    out.push_str("\ndata: ");
    out.push_str(&data.to_string());
    out.push_str("\n\n");
}

fn render_stream(plan: &Plan, settings: &Settings, n: u64, created: u64) -> Answer {
    let units = plan.tokens.len();
    let mut events = Events::with_capacity(256 * (units + 8), units + 2);
    let mut seq = 0;
    let item = message_id(n);
    for kind in ["response.created", "response.in_progress"] {
        event(&mut events, &mut seq, kind, json!({"response": response(plan, n, created, "in_progress", false)}));
    }
    event(
        &mut events,
        &mut seq,
        "response.output_item.added",
        json!({"output_index": 0, "item": {"type": "message", "id": item, "status": "in_progress", "role": "assistant", "content": []}}),
    );
    event(
        &mut events,
        &mut seq,
        "response.content_part.added",
        json!({"item_id": item, "output_index": 0, "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}}),
    );
    let cut = match settings.fault {
        Some(Fault::Cut { after_chunks }) => Some(after_chunks.min(units)),
        _ => None,
    };
    for (i, token) in plan.tokens.iter().enumerate() {
        if cut == Some(i) {
            break;
        }
        event(
            &mut events,
            &mut seq,
            "response.output_text.delta",
            json!({"item_id": item, "output_index": 0, "content_index": 0, "delta": token}),
        );
        events.mark(settings.due(i));
    }
    if units == 0 || cut == Some(0) {
        events.mark(settings.due(0));
    }
    if cut.is_some() {
        return Answer::Stream(events, Ending::Cut);
    }
    let text = plan.tokens.text();
    event(
        &mut events,
        &mut seq,
        "response.output_text.done",
        json!({"item_id": item, "output_index": 0, "content_index": 0, "text": text}),
    );
    event(
        &mut events,
        &mut seq,
        "response.content_part.done",
        json!({"item_id": item, "output_index": 0, "content_index": 0, "part": {"type": "output_text", "text": text, "annotations": []}}),
    );
    let last = response(plan, n, created, "", settings.usage);
    event(&mut events, &mut seq, "response.output_item.done", json!({"output_index": 0, "item": last["output"][0]}));
    let kind = if plan.truncated { "response.incomplete" } else { "response.completed" };
    event(&mut events, &mut seq, kind, json!({"response": last}));
    Answer::Stream(events, Ending::Finish)
}
