//! `POST /v1/responses` (OpenAI's Responses API): `input` as a string or an array of input
//! items, answered with one `response` object (a `message` item with one `output_text` part)
//! or, with `stream: true`, as typed events — `response.created`, `response.in_progress`,
//! `response.output_item.added`, `response.content_part.added`, one
//! `response.output_text.delta` per token on the token schedule, the matching `.done` events
//! and `response.completed` carrying the whole response (`response.incomplete` when
//! `max_output_tokens` cut the answer). No `[DONE]`: the stream ends after the last event. A
//! `cut` fault drops the connection after that many deltas.
//!
//! With `tools` (function tools, `{"type": "function", "name", "parameters"}`), unless
//! `tool_choice` is `"none"` or the last input item is a `function_call_output`, the answer
//! is one `function_call` item instead (the named tool, else the first), its arguments made
//! up from the tool's parameters and streamed in fragments
//! (`response.function_call_arguments.delta`).

use serde_json::{json, Map, Value};

use crate::config::{Fault, MockConfig};
use crate::endpoint::{Answer, Endpoint};
use crate::request::{self, flag, max_tokens, now_secs, wrong_type, Settings};
use crate::sse::{Ending, Events};
use crate::text::{answer_seeded, argument_fragments, contains_cjk, count_tokens, hash64, tool_arguments, Tokens};
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
    /// A function call instead of text: `(name, arguments, end offsets of the streamed fragments)`.
    call: Option<(String, String, Vec<usize>)>,
}

/// The function tool to call, if any (see the module docs).
fn tool_to_call(req: &Map<String, Value>) -> Result<Option<(String, Option<Value>)>, ApiError> {
    let tools = match req.get("tools") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(tools)) => tools,
        Some(other) => return Err(wrong_type("tools", "an array", other)),
    };
    let wanted = match req.get("tool_choice") {
        Some(Value::String(c)) if c == "none" => return Ok(None),
        Some(Value::Object(c)) => c.get("name").and_then(Value::as_str),
        _ => None,
    };
    let after_result = match req.get("input") {
        Some(Value::Array(items)) => {
            items.last().and_then(|i| i.get("type")).and_then(Value::as_str) == Some("function_call_output")
        }
        _ => false,
    };
    if after_result {
        return Ok(None);
    }
    let functions = tools.iter().filter(|t| t.get("type").and_then(Value::as_str) == Some("function"));
    let mut chosen = None;
    for tool in functions {
        let name = tool.get("name").and_then(Value::as_str);
        if wanted.is_none() || name == wanted {
            chosen = Some(tool);
            break;
        }
    }
    match chosen {
        None => Ok(None),
        Some(tool) => match tool.get("name").and_then(Value::as_str) {
            Some(name) => Ok(Some((name.to_owned(), tool.get("parameters").cloned()))),
            None => Err(request::missing("tools[0].name")),
        },
    }
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
        let mut tokens = answer_seeded(hash64(text.as_bytes()), contains_cjk(&text), settings.answer_length());
        let call = match (&settings.fault, tool_to_call(req)?) {
            (Some(Fault::Empty), _) | (_, None) => None,
            (_, Some((name, parameters))) => {
                tokens = Tokens::default();
                let arguments = tool_arguments(parameters.as_ref());
                let fragments = argument_fragments(&arguments);
                Some((name, arguments, fragments))
            }
        };
        let truncated = tokens.truncate(limit);
        Ok(Plan { model: model.to_owned(), stream, input_tokens: count_tokens(&text), tokens, truncated, call })
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

impl Plan {
    fn output_tokens(&self) -> usize {
        match &self.call {
            Some((_, arguments, _)) => count_tokens(arguments).max(1),
            None => self.tokens.len(),
        }
    }
}

/// A `function_call` output item; `status` "in_progress" leaves its arguments empty.
fn function_call_item((name, arguments, _): &(String, String, Vec<usize>), n: u64, status: &str) -> Value {
    let arguments = if status == "in_progress" { "" } else { arguments.as_str() };
    json!({"type": "function_call", "id": format!("fc_mock_{n}"), "call_id": format!("call_mock_{n}"),
           "name": name, "arguments": arguments, "status": status})
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
    let output = match (&plan.call, done) {
        (_, false) => json!([]),
        (Some(call), true) => json!([function_call_item(call, n, status)]),
        (None, true) => json!([{
            "type": "message", "id": message_id(n), "status": status, "role": "assistant",
            "content": [{"type": "output_text", "text": plan.tokens.text(), "annotations": []}],
        }]),
    };
    let output_tokens = plan.output_tokens();
    let usage = (done && usage).then(|| {
        json!({
            "input_tokens": plan.input_tokens, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": plan.input_tokens + output_tokens,
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
    let last = response(plan, n, created, "", settings.usage);
    // A text answer and a function call differ in the events that open and close their item
    // and in what the deltas carry; the schedule, the cut and the ending are the same.
    let (opening, delta_kind, delta_base, pieces, closing) = match &plan.call {
        Some(call) => {
            let (_, arguments, fragments) = call;
            let base = json!({"item_id": format!("fc_mock_{n}"), "output_index": 0});
            let starts = std::iter::once(0).chain(fragments.iter().copied());
            let pieces: Vec<&str> = starts.zip(fragments).map(|(start, &end)| &arguments[start..end]).collect();
            let added = json!({"output_index": 0, "item": function_call_item(call, n, "in_progress")});
            let mut done = base.clone();
            done["arguments"] = json!(arguments);
            (
                vec![("response.output_item.added", added)],
                "response.function_call_arguments.delta",
                base,
                pieces,
                vec![("response.function_call_arguments.done", done)],
            )
        }
        None => {
            let item = message_id(n);
            let base = json!({"item_id": item, "output_index": 0, "content_index": 0});
            let text = plan.tokens.text();
            let part = |text: &str| json!({"type": "output_text", "text": text, "annotations": []});
            let with = |key: &str, value: Value| {
                let mut v = base.clone();
                v[key] = value;
                v
            };
            let added = json!({"output_index": 0, "item": {"type": "message", "id": item, "status": "in_progress", "role": "assistant", "content": []}});
            (
                vec![("response.output_item.added", added), ("response.content_part.added", with("part", part("")))],
                "response.output_text.delta",
                base.clone(),
                plan.tokens.iter().collect(),
                vec![
                    ("response.output_text.done", with("text", json!(text))),
                    ("response.content_part.done", with("part", part(text))),
                ],
            )
        }
    };
    let mut events = Events::with_capacity(256 * (pieces.len() + 8), pieces.len() + 2);
    let mut seq = 0;
    for kind in ["response.created", "response.in_progress"] {
        event(&mut events, &mut seq, kind, json!({"response": response(plan, n, created, "in_progress", false)}));
    }
    for (kind, data) in opening {
        event(&mut events, &mut seq, kind, data);
    }
    let cut = settings.cut_after(pieces.len());
    for (i, piece) in pieces.iter().enumerate() {
        if cut == Some(i) {
            break;
        }
        let mut delta = delta_base.clone();
        delta["delta"] = json!(piece);
        event(&mut events, &mut seq, delta_kind, delta);
        events.mark(settings.due(i));
    }
    if pieces.is_empty() || cut == Some(0) {
        events.mark(settings.due(0));
    }
    if cut.is_some() {
        return Answer::Stream(events, Ending::Cut);
    }
    for (kind, data) in closing {
        event(&mut events, &mut seq, kind, data);
    }
    event(&mut events, &mut seq, "response.output_item.done", json!({"output_index": 0, "item": last["output"][0]}));
    let kind = if plan.truncated { "response.incomplete" } else { "response.completed" };
    event(&mut events, &mut seq, kind, json!({"response": last}));
    Answer::Stream(events, Ending::Finish)
}
