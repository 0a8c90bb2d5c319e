//! Anthropic's Messages API, as gateways (LiteLLM and the like) and SDK wrappers log it in a
//! request/response pair: the request is read as a chat request (its `messages` have the
//! same roles; `system` leads the input as a system message, `max_tokens` is kept among the
//! parameters, `metadata.user_id` names the user), the answer is a `"type": "message"` object whose `content` blocks carry
//! the text, tool calls and thinking. A stream is logged as its events (`message_start`,
//! `content_block_delta`, …, `message_stop`), which [`join_stream`] puts back into that object.
//!
//! What the call keeps is what an OpenAI answer gives: text blocks joined as the output,
//! `tool_use` blocks as OpenAI-shaped `tool_calls` (so the tool-argument check reads them),
//! the stop reason in OpenAI's words (`end_turn` → `stop`, `max_tokens` → `length`,
//! `tool_use` → `tool_calls`; Anthropic's own word in the attribute `stop_reason`), cache
//! reads as cached input tokens, cache writes as cache-write tokens (both counted in the input). Anthropic's answers carry no time: a pair needs its
//! `timestamp`, and a bare answer `--undated-at`.

use llmscope_core::{Call, CallStatus};
use serde_json::{Map, Value};

use super::{common, LineError};
use crate::import::fields::{join, Obj};

/// Whether a response body is an Anthropic message (or an Anthropic error).
pub fn is_response(rm: &Map<String, Value>) -> bool {
    match rm.get("type").and_then(Value::as_str) {
        Some("message") => rm.get("content").is_some_and(Value::is_array),
        Some("error") => rm.get("error").is_some_and(Value::is_object),
        _ => false,
    }
}

/// Maps an Anthropic message (or error) found at `path` onto `call`.
pub fn map_response_at(rm: &Map<String, Value>, path: &str, call: &mut Call) -> Result<(), LineError> {
    let resp = Obj::new(rm, path);
    call.provider.get_or_insert_with(|| "anthropic".into());
    if let Some(err) = resp.obj("error")? {
        call.status = CallStatus::Error;
        call.output = Some(String::new());
        let e = Obj::new(err, "");
        call.error_message = Some(e.str("message")?.unwrap_or_else(|| Value::Object(err.clone()).to_string()));
        call.error_kind = e.str("type")?;
        return Ok(());
    }
    call.request_id = resp.str("id")?;
    super::openai::note_response_model(call, resp.str("model")?);
    let (mut text, mut thinking, mut tool_calls) = (String::new(), String::new(), Vec::new());
    for (i, block) in resp.arr("content")?.into_iter().flatten().enumerate() {
        let at = || format!("{}[{i}]", join(path, "content"));
        let Value::Object(b) = block else {
            return Err(LineError::at(at(), "expected a content block (an object)".into()));
        };
        match b.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(b.get("text").and_then(Value::as_str).unwrap_or("")),
            Some("thinking") => thinking.push_str(b.get("thinking").and_then(Value::as_str).unwrap_or("")),
            Some("tool_use" | "server_tool_use") => {
                let id = b.get("id").cloned().unwrap_or(Value::Null);
                tool_calls.push(common::function_call(id, b.get("name"), b.get("input"), "{}"));
            }
            Some(_) => {}
            None => return Err(LineError::at(format!("{}.type", at()), "missing required field".into())),
        }
    }
    common::answer(call, text, thinking, tool_calls);
    if let Some(reason) = resp.str("stop_reason")? {
        common::stop_reason(call, reason);
    }
    if let Some(usage) = resp.obj("usage")? {
        let usage_path = join(path, "usage");
        // Anthropic counts cached and cache-writing tokens apart from `input_tokens`; the
        // call's input is all the prompt's tokens, as OpenAI counts them.
        let keys = ["input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens"];
        common::split_usage(call, Obj::new(usage, &usage_path), keys)?;
    }
    Ok(())
}

/// Whether an object is one of a Messages stream's events.
pub fn is_event(m: &Map<String, Value>) -> bool {
    matches!(
        m.get("type").and_then(Value::as_str),
        Some(
            "message_start"
                | "content_block_start"
                | "content_block_delta"
                | "content_block_stop"
                | "message_delta"
                | "message_stop"
        )
    )
}

/// Joins a Messages stream's events back into the message a non-streaming call returns (an
/// `error` event makes it an error object). Blocks are put together by their `index`.
pub fn join_stream<'a>(events: impl IntoIterator<Item = &'a Map<String, Value>>) -> Map<String, Value> {
    let mut msg = Map::new();
    let mut blocks: Vec<(u64, Map<String, Value>, String)> = Vec::new();
    let mut usage = Map::new();
    for e in events {
        match e.get("type").and_then(Value::as_str) {
            Some("message_start") => {
                if let Some(Value::Object(m)) = e.get("message") {
                    for (k, v) in m {
                        match k.as_str() {
                            "usage" => usage.extend(v.as_object().cloned().unwrap_or_default()),
                            "content" => {}
                            _ => {
                                msg.insert(k.clone(), v.clone());
                            }
                        }
                    }
                }
            }
            Some("content_block_start") => {
                let index = e.get("index").and_then(Value::as_u64).unwrap_or(blocks.len() as u64);
                let block = e.get("content_block").and_then(Value::as_object).cloned().unwrap_or_default();
                blocks.push((index, block, String::new()));
            }
            Some("content_block_delta") => {
                let index = e.get("index").and_then(Value::as_u64);
                let Some(delta) = e.get("delta").and_then(Value::as_object) else { continue };
                let slot = match blocks.iter().position(|(i, _, _)| Some(*i) == index) {
                    Some(at) => at,
                    None => {
                        blocks.push((index.unwrap_or(blocks.len() as u64), Map::new(), String::new()));
                        blocks.len() - 1
                    }
                };
                let (_, block, json_args) = &mut blocks[slot];
                let piece = |k: &str| delta.get(k).and_then(Value::as_str).unwrap_or("");
                match delta.get("type").and_then(Value::as_str) {
                    Some("text_delta") => append(block, "text", "text", piece("text")),
                    Some("thinking_delta") => append(block, "thinking", "thinking", piece("thinking")),
                    Some("input_json_delta") => json_args.push_str(piece("partial_json")),
                    _ => {}
                }
            }
            Some("message_delta") => {
                if let Some(Value::Object(d)) = e.get("delta") {
                    for (k, v) in d {
                        msg.insert(k.clone(), v.clone());
                    }
                }
                if let Some(Value::Object(u)) = e.get("usage") {
                    usage.extend(u.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.clone())));
                }
            }
            Some("error") => {
                let mut err = Map::new();
                err.insert("type".into(), "error".into());
                err.insert("error".into(), e.get("error").cloned().unwrap_or_else(|| Value::Object(e.clone())));
                return err;
            }
            _ => {}
        }
    }
    blocks.sort_by_key(|(i, _, _)| *i);
    let content = blocks
        .into_iter()
        .map(|(_, mut block, args)| {
            // A tool call's input comes as JSON text in pieces; kept as text when it does not parse.
            if !args.is_empty() {
                let input = serde_json::from_str(&args).unwrap_or(Value::String(args));
                block.insert("input".into(), input);
            }
            Value::Object(block)
        })
        .collect();
    msg.insert("type".into(), "message".into());
    msg.insert("content".into(), Value::Array(content));
    if !usage.is_empty() {
        msg.insert("usage".into(), Value::Object(usage));
    }
    msg
}

/// Appends `piece` to the text at `key` of a block, making it a `kind` block if it had no type.
fn append(block: &mut Map<String, Value>, kind: &str, key: &str, piece: &str) {
    block.entry("type").or_insert_with(|| Value::String(kind.into()));
    match block.entry(key).or_insert_with(|| Value::String(String::new())) {
        Value::String(s) => s.push_str(piece),
        other => *other = Value::String(piece.into()),
    }
}
