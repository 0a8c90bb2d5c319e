//! `POST /v1/chat/completions`: validates the request, decides the answer (text, JSON-mode content or a
//! tool call, clamped by `max_tokens`), and renders it as one `chat.completion` object or as
//! `chat.completion.chunk` server-sent events, in OpenAI's exact shape and key order.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::chunks::Chunks;
use crate::config::{Fault, MockConfig};
use crate::endpoint::{Answer, Endpoint};
use crate::request::{self, flag, include_usage, max_tokens, missing, now_secs, wrong_type, Settings};
use crate::text::{answer, argument_fragments, count_tokens, json_answer, tool_arguments, Tokens};
use crate::wire::{invalid_request, push_head, push_json_str, push_num, push_usage, ApiError};

/// Chat completion ids are `chatcmpl-mock-<n>`.
const ID_PREFIX: &str = "chatcmpl-mock-";
/// What OpenAI adds to a chat completion's `usage`.
const USAGE_DETAILS: &str =
    ",\"prompt_tokens_details\":{\"cached_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0}";

/// What the assistant answers.
#[derive(Debug)]
enum Output {
    Text(Tokens),
    /// One function call; `fragments` are the end offsets of the argument pieces streamed one per chunk.
    Tool {
        name: String,
        arguments: String,
        fragments: Vec<usize>,
    },
}

/// A validated request and its answer.
#[derive(Debug)]
pub(crate) struct Plan {
    model: String,
    stream: bool,
    include_usage: bool,
    prompt_tokens: usize,
    output: Output,
    finish_reason: &'static str,
}

impl Plan {
    /// The completion tokens: one per streamed content chunk (a tool call's header counts as one).
    fn completion_tokens(&self) -> usize {
        match &self.output {
            Output::Text(tokens) => tokens.len(),
            Output::Tool { fragments, .. } => 1 + fragments.len(),
        }
    }
}

/// Calls `f` with every text of a message `content`: the string, or the `text` of each content part.
fn for_each_text<'a>(content: Option<&'a Value>, mut f: impl FnMut(&'a str)) {
    match content {
        Some(Value::String(text)) => f(text),
        Some(Value::Array(parts)) => {
            for text in parts.iter().filter_map(|part| part.get("text")).filter_map(Value::as_str) {
                f(text);
            }
        }
        _ => {}
    }
}

/// The text of a message `content` (parts joined by newlines).
fn content_text(content: Option<&Value>) -> Cow<'_, str> {
    if let Some(Value::String(text)) = content {
        return Cow::Borrowed(text);
    }
    let mut joined = String::new();
    for_each_text(content, |text| {
        if !joined.is_empty() {
            joined.push('\n');
        }
        joined.push_str(text);
    });
    Cow::Owned(joined)
}

/// Whether JSON mode is on, with the `json_schema`'s properties when there are some.
fn json_mode(req: &Map<String, Value>) -> Result<Option<Option<&Map<String, Value>>>, ApiError> {
    let format = match req.get("response_format") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(format)) => format,
        Some(other) => return Err(wrong_type("response_format", "an object", other)),
    };
    match format.get("type").and_then(Value::as_str) {
        Some("text") => Ok(None),
        Some("json_object") => Ok(Some(None)),
        Some("json_schema") => Ok(Some(
            format
                .get("json_schema")
                .and_then(|s| s.get("schema"))
                .and_then(|s| s.get("properties"))
                .and_then(Value::as_object),
        )),
        _ => Err(invalid_request(
            "Invalid value for 'response_format.type': expected one of 'text', 'json_object' or 'json_schema'.",
            Some("response_format.type"),
        )),
    }
}

/// The function to call, if the request has tools, doesn't forbid them, and isn't continuing after a tool
/// result: `(name, parameters)`.
fn tool_to_call<'a>(
    req: &'a Map<String, Value>,
    last_role: &str,
) -> Result<Option<(&'a str, Option<&'a Value>)>, ApiError> {
    let tools = match req.get("tools") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(tools)) => tools,
        Some(other) => return Err(wrong_type("tools", "an array", other)),
    };
    let wanted = match req.get("tool_choice") {
        None | Some(Value::Null) => None,
        Some(Value::String(choice)) => match choice.as_str() {
            "none" => return Ok(None),
            "auto" | "required" => None,
            other => {
                return Err(invalid_request(
                    &format!("Invalid value: '{other}'. Supported values are: 'none', 'auto', and 'required'."),
                    Some("tool_choice"),
                ))
            }
        },
        Some(Value::Object(choice)) => match choice.get("function").and_then(|f| f.get("name")).and_then(Value::as_str)
        {
            Some(name) => Some(name),
            None => return Err(missing("tool_choice.function.name")),
        },
        Some(other) => return Err(wrong_type("tool_choice", "a string or an object", other)),
    };
    if tools.is_empty() || last_role == "tool" {
        return Ok(None);
    }
    let function_name = |tool: &'a Value| tool.get("function").and_then(|f| f.get("name")).and_then(Value::as_str);
    let tool = match wanted {
        None => &tools[0],
        Some(wanted) => match tools.iter().find(|tool| function_name(tool) == Some(wanted)) {
            Some(tool) => tool,
            None => {
                return Err(invalid_request(
                    &format!("Tool choice 'function' with name '{wanted}' not found in 'tools'."),
                    Some("tool_choice"),
                ))
            }
        },
    };
    match function_name(tool) {
        Some(name) => Ok(Some((name, tool.get("function").and_then(|f| f.get("parameters"))))),
        None => Err(missing("tools[0].function.name")),
    }
}

/// The chat completions [`Endpoint`].
#[derive(Debug)]
pub(crate) struct Chat;

impl Endpoint for Chat {
    type Plan = Plan;

    /// Validates the request and decides the answer.
    fn plan(_: &MockConfig, req: &Map<String, Value>, settings: &Settings) -> Result<Plan, ApiError> {
        let model = request::model(req)?;
        let messages = match req.get("messages") {
            Some(Value::Array(messages)) if !messages.is_empty() => messages,
            Some(Value::Array(_)) => return Err(invalid_request("[] is too short - 'messages'", Some("messages"))),
            None | Some(Value::Null) => return Err(missing("messages")),
            Some(other) => return Err(wrong_type("messages", "an array", other)),
        };
        // Every reply is primed with a few tokens, and every message costs a few besides its content.
        let mut prompt_tokens = 3;
        let mut last_user = None;
        let mut last_role = "";
        for (i, message) in messages.iter().enumerate() {
            let Some(message) = message.as_object() else {
                return Err(wrong_type(&format!("messages[{i}]"), "an object", message));
            };
            let role = match message.get("role") {
                Some(Value::String(role)) => role.as_str(),
                None | Some(Value::Null) => return Err(missing(&format!("messages[{i}].role"))),
                Some(other) => return Err(wrong_type(&format!("messages[{i}].role"), "a string", other)),
            };
            prompt_tokens += 3;
            for_each_text(message.get("content"), |text| prompt_tokens += count_tokens(text));
            if role == "user" {
                last_user = Some(message);
            }
            last_role = role;
        }
        let stream = flag(req, "stream")?;
        let include_usage = include_usage(req, stream)?;
        let limit = max_tokens(req, &["max_completion_tokens", "max_tokens"])?.unwrap_or(usize::MAX);
        let json = json_mode(req)?;
        let tool = tool_to_call(req, last_role)?;
        let question = content_text(last_user.and_then(|message| message.get("content")));

        let (output, finish_reason) = match (&settings.fault, tool) {
            (Some(Fault::Empty), _) => (Output::Text(Tokens::default()), "stop"),
            (_, Some((name, parameters))) => {
                let mut arguments = tool_arguments(parameters);
                let mut fragments = argument_fragments(&arguments);
                let mut finish = "tool_calls";
                if 1 + fragments.len() > limit {
                    fragments.truncate(limit.saturating_sub(1));
                    arguments.truncate(fragments.last().copied().unwrap_or(0));
                    finish = "length";
                }
                (Output::Tool { name: name.to_owned(), arguments, fragments }, finish)
            }
            (fault, None) => {
                let mut tokens = match json {
                    None => answer(&question, settings.output_tokens),
                    Some(properties) => {
                        let mut tokens = Tokens::new(json_answer(&question, settings.output_tokens, properties));
                        if *fault == Some(Fault::BadJson) {
                            // Losing the closing brace is enough to make it invalid; cut a third for good measure.
                            let keep = (tokens.len() * 2 / 3).clamp(1, tokens.len().saturating_sub(1));
                            tokens.truncate(keep);
                        }
                        tokens
                    }
                };
                let finish = if tokens.truncate(limit) { "length" } else { "stop" };
                (Output::Text(tokens), finish)
            }
        };
        Ok(Plan { model: model.to_owned(), stream, include_usage, prompt_tokens, output, finish_reason })
    }

    fn model(plan: &Plan) -> &str {
        &plan.model
    }

    fn answer(plan: Plan, settings: &Settings, n: u64) -> Answer {
        let created = now_secs();
        if plan.stream {
            return render_stream(&plan, settings, n, created);
        }
        let body = render_full(&plan, n, created, settings.usage);
        Answer::Json { body, after: settings.generation_time(plan.completion_tokens()) }
    }
}

/// The non-stream `chat.completion` object.
fn render_full(plan: &Plan, n: u64, created: u64, usage: bool) -> String {
    let content_len = match &plan.output {
        Output::Text(tokens) => tokens.text().len(),
        Output::Tool { arguments, .. } => arguments.len() * 2,
    };
    let mut out = String::with_capacity(512 + plan.model.len() + content_len * 11 / 10);
    out.push('{');
    push_head(&mut out, ID_PREFIX, n, "chat.completion", created, &plan.model);
    out.push_str(",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":");
    match &plan.output {
        Output::Text(tokens) => {
            push_json_str(&mut out, tokens.text());
            out.push_str(",\"refusal\":null}");
        }
        Output::Tool { name, arguments, .. } => {
            out.push_str("null,\"refusal\":null,\"tool_calls\":[{\"id\":\"call_mock_");
            push_num(&mut out, n);
            out.push_str("\",\"type\":\"function\",\"function\":{\"name\":");
            push_json_str(&mut out, name);
            out.push_str(",\"arguments\":");
            push_json_str(&mut out, arguments);
            out.push_str("}}]}");
        }
    }
    out.push_str(",\"logprobs\":null,\"finish_reason\":\"");
    out.push_str(plan.finish_reason);
    out.push_str("\"}]");
    if usage {
        out.push_str(",\"usage\":");
        push_usage(&mut out, plan.prompt_tokens, Some(plan.completion_tokens()), USAGE_DETAILS);
    }
    out.push('}');
    out
}

/// The `chat.completion.chunk` events (see [`Chunks`]): the role chunk goes out with the first content chunk
/// at latency + ttft, the rest at the token rate, then the finish chunk, the usage chunk (when asked for
/// with `stream_options.include_usage`) and `[DONE]`. A `cut` fault stops after its chunks and drops the
/// connection.
fn render_stream(plan: &Plan, settings: &Settings, n: u64, created: u64) -> Answer {
    let units = plan.completion_tokens();
    let mut chunks = Chunks::new(settings, plan.include_usage, units, 4, |out| {
        push_head(out, ID_PREFIX, n, "chat.completion.chunk", created, &plan.model);
    });
    chunks.chunk(|out| {
        out.push_str(match plan.output {
            Output::Text(_) => "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}",
            Output::Tool { .. } => "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null}",
        });
        out.push_str(",\"logprobs\":null,\"finish_reason\":null}");
    });
    match &plan.output {
        Output::Text(tokens) => {
            for token in tokens.iter() {
                let written = chunks.content(|out| {
                    out.push_str("{\"index\":0,\"delta\":{\"content\":");
                    push_json_str(out, token);
                    out.push_str("},\"logprobs\":null,\"finish_reason\":null}");
                });
                if !written {
                    break;
                }
            }
        }
        Output::Tool { name, arguments, fragments } => {
            chunks.content(|out| {
                out.push_str("{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_mock_");
                push_num(out, n);
                out.push_str("\",\"type\":\"function\",\"function\":{\"name\":");
                push_json_str(out, name);
                out.push_str(",\"arguments\":\"\"}}]},\"logprobs\":null,\"finish_reason\":null}");
            });
            let mut start = 0;
            for &end in fragments {
                let written = chunks.content(|out| {
                    out.push_str("{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":");
                    push_json_str(out, &arguments[start..end]);
                    out.push_str("}}]},\"logprobs\":null,\"finish_reason\":null}");
                });
                if !written {
                    break;
                }
                start = end;
            }
        }
    }
    if !chunks.cut_reached() {
        chunks.chunk(|out| {
            out.push_str("{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"");
            out.push_str(plan.finish_reason);
            out.push_str("\"}");
        });
    }
    chunks.end(|out| push_usage(out, plan.prompt_tokens, Some(units), USAGE_DETAILS))
}
