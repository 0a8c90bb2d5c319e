//! A response body as loggers keep it when it is not a JSON object: a streamed answer as
//! the array of its chunks (objects, or their `data` strings, `data: ` prefix or not), a
//! streamed answer as the text of its Server-Sent Events, or a whole body written as a JSON
//! string. A stream is joined back into the body a non-streaming call returns, as the
//! logging proxy joins a live one ([`StreamAssembler`]).

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::{anthropic, gemini, ollama, LineError};
use crate::import::fields::describe;
use crate::openai::sse::SseParser;
use crate::openai::stream::StreamAssembler;

/// A logged response body, read.
#[derive(Debug)]
pub enum Logged {
    /// A JSON object (given as one, or as a string holding one).
    Body(Map<String, Value>),
    /// A stream joined back into the body, and the stream's facts for the call's attributes
    /// (`stream: true`, `stream_chunks`, …).
    Stream(Map<String, Value>, Map<String, Value>),
}

/// Reads a `response` that is not an object; `path` names it in errors.
pub fn read(v: &Value, path: &str) -> Result<Logged, LineError> {
    let items = items(v, path)?;
    let items = match items {
        Items::Body(m) => return Ok(Logged::Body(m)),
        Items::Stream(items) => items,
    };
    let objects = || items.iter().filter_map(Item::object);
    // Another provider's stream: joined by that provider's rules.
    let joined = if objects().any(anthropic::is_event) {
        Some(anthropic::join_stream(objects()))
    } else if objects().any(ollama::is_chunk) {
        Some(ollama::join_stream(objects()))
    } else if objects().any(|m| gemini::is_response(m) && !m.contains_key("error")) {
        Some(gemini::join_stream(objects()))
    } else {
        None
    };
    if let Some(body) = joined {
        let mut facts = Map::new();
        facts.insert("stream".into(), Value::Bool(true));
        facts.insert("stream_chunks".into(), objects().count().into());
        let bad = items.iter().filter(|i| matches!(i, Item::Text(t) if t.trim() != "[DONE]")).count();
        if bad > 0 {
            facts.insert("stream_bad_chunks".into(), bad.into());
        }
        return Ok(Logged::Stream(body, facts));
    }
    let mut asm = StreamAssembler::new();
    // Some item is recognisably a stream's (an array of whole bodies, or of an unknown
    // provider's events, is not joined into an empty answer).
    let mut looked_like_chunks = false;
    for item in &items {
        match item {
            Item::Object(m) => {
                looked_like_chunks |= is_chunk(m);
                asm.push_map(m);
            }
            // Counted as a chunk that is not an object (`[DONE]` excepted).
            Item::Text(t) => {
                asm.push(t);
            }
        }
    }
    if asm.chunks() == 0 || !looked_like_chunks {
        return Err(LineError::at(
            path.into(),
            "expected an object or a stream, found no stream chunk (an object with `delta`s in its `choices`, \
             an `object` ending in `.chunk`, a `response.*` event, an Anthropic, Ollama or Gemini stream's event, \
             or an `error`)"
                .into(),
        ));
    }
    let mut facts = asm.attributes();
    facts.insert("stream".into(), Value::Bool(true));
    Ok(Logged::Stream(asm.response(), facts))
}

/// One logged item of a stream: an object (given as one, or parsed from its text), or text
/// that is not one.
enum Item<'a> {
    Object(Cow<'a, Map<String, Value>>),
    Text(String),
}

impl Item<'_> {
    fn object(&self) -> Option<&Map<String, Value>> {
        match self {
            Item::Object(m) => Some(m),
            Item::Text(_) => None,
        }
    }

    /// An event's `data`, parsed: a JSON object is one, anything else (`[DONE]`, text) text.
    fn parse(data: &str) -> Item<'static> {
        match serde_json::from_str::<Value>(data) {
            Ok(Value::Object(m)) => Item::Object(Cow::Owned(m)),
            _ => Item::Text(data.to_string()),
        }
    }
}

enum Items<'a> {
    Body(Map<String, Value>),
    Stream(Vec<Item<'a>>),
}

/// The items of a logged `response` that is not an object: an array's, the events' of a
/// stream's text, or the lines of newline-delimited JSON (Ollama's streams); or the body a
/// string holds.
fn items<'a>(v: &'a Value, path: &str) -> Result<Items<'a>, LineError> {
    match v {
        Value::Array(items) => Ok(Items::Stream(
            items
                .iter()
                .map(|item| match item {
                    Value::Object(m) => Item::Object(Cow::Borrowed(m)),
                    Value::String(s) => Item::parse(strip_data(s)),
                    other => Item::Text(other.to_string()),
                })
                .collect(),
        )),
        Value::String(s) => {
            let t = s.trim_start_matches('\u{feff}').trim();
            if t.starts_with('{') {
                if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(t) {
                    return Ok(Items::Body(m));
                }
                // Newline-delimited JSON: lines of objects (a last one cut off when the
                // client went away is counted as a bad chunk).
                let lines: Vec<Item<'_>> = t.lines().filter(|l| !l.trim().is_empty()).map(Item::parse).collect();
                let objects = lines.iter().filter(|i| i.object().is_some()).count();
                if lines.len() > 1 && lines[0].object().is_some() && objects * 2 > lines.len() {
                    return Ok(Items::Stream(lines));
                }
                return Err(LineError::at(path.into(), format!("expected an object, found {}", describe(v))));
            }
            if !is_sse(t) {
                return Err(LineError::at(
                    path.into(),
                    format!("expected an object, stream chunks or a stream's events, found {}", describe(v)),
                ));
            }
            let mut parser = SseParser::default();
            let mut events = Vec::new();
            parser.push(t.as_bytes(), |e| events.push(e));
            // The last event need not end with a blank line in a log.
            parser.push(b"\n\n", |e| events.push(e));
            Ok(Items::Stream(events.iter().filter(|e| e.has_data).map(|e| Item::parse(&e.data)).collect()))
        }
        other => Err(LineError::at(path.into(), format!("expected an object, found {}", describe(other)))),
    }
}

/// Whether an object is recognisably a streamed event: a chat or completions chunk (`delta`s
/// in its choices, or an `object` ending in `.chunk`), a Responses API event, or an error.
fn is_chunk(m: &Map<String, Value>) -> bool {
    let kind = |k: &str| m.get(k).and_then(Value::as_str);
    let delta =
        m.get("choices").and_then(Value::as_array).is_some_and(|cs| cs.iter().any(|c| c.get("delta").is_some()));
    delta
        || kind("object").is_some_and(|o| o.ends_with(".chunk"))
        || kind("type").is_some_and(|t| t.starts_with("response."))
        || m.contains_key("error")
}

/// A chunk's `data` from a logged line of an event (`data: {…}` or the JSON alone).
fn strip_data(s: &str) -> &str {
    let t = s.trim();
    t.strip_prefix("data:").map_or(t, str::trim_start)
}

/// Whether text reads as Server-Sent Events: its first field line is `data:`, `event:`, `id:`
/// or a comment.
fn is_sse(t: &str) -> bool {
    let first = t.lines().map(str::trim_start).find(|l| !l.is_empty()).unwrap_or("");
    ["data:", "event:", "id:", ":"].iter().any(|p| first.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chunk(content: &str, finish: Value) -> Value {
        json!({"id": "c1", "object": "chat.completion.chunk", "created": 1761991200, "model": "m",
               "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}]})
    }

    fn text_of(body: &Map<String, Value>) -> Option<&str> {
        body.get("choices")?.get(0)?.get("message")?.get("content")?.as_str()
    }

    #[test]
    fn chunk_arrays_and_event_text_join_into_one_body() -> Result<(), LineError> {
        let usage = json!({"id": "c1", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}});
        let arrays = [
            json!([chunk("Hel", Value::Null), chunk("lo", json!("stop")), usage.clone()]),
            json!([
                format!("data: {}", chunk("Hel", Value::Null)),
                chunk("lo", json!("stop")).to_string(),
                usage.to_string(),
                "data: [DONE]"
            ]),
            Value::String(format!(
                "data: {}\n\ndata: {}\n\n: keep-alive\n\ndata: {usage}\n\ndata: [DONE]",
                chunk("Hel", Value::Null),
                chunk("lo", json!("stop"))
            )),
        ];
        for v in arrays {
            let Logged::Stream(body, facts) = read(&v, "response")? else { panic!("a stream: {v}") };
            assert_eq!(text_of(&body), Some("Hello"), "{v}");
            assert_eq!(body.get("usage").and_then(|u| u.get("completion_tokens")), Some(&json!(2)));
            assert_eq!(body.get("created"), Some(&json!(1761991200)));
            assert_eq!(facts.get("stream"), Some(&json!(true)));
            assert_eq!(facts.get("stream_chunks"), Some(&json!(3)));
        }
        Ok(())
    }

    #[test]
    fn a_body_written_as_a_string_is_read_as_the_body() -> Result<(), LineError> {
        let body = json!({"id": "x", "object": "chat.completion", "choices": []});
        assert!(
            matches!(read(&Value::String(body.to_string()), "response")?, Logged::Body(m) if m.get("id") == Some(&json!("x")))
        );
        Ok(())
    }

    #[test]
    fn what_is_no_body_and_no_stream_is_refused_by_path() {
        let err = |v: Value| read(&v, "response").err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            err(json!("no answer")),
            "response: expected an object, stream chunks or a stream's events, found the string \"no answer\""
        );
        assert_eq!(err(json!("{broken")), "response: expected an object, found the string \"{broken\"");
        assert_eq!(err(json!(12)), "response: expected an object, found the number 12");
        assert!(err(json!([])).contains("no stream chunk"), "{}", err(json!([])));
        assert!(err(json!([1, "x"])).contains("no stream chunk"));
        assert!(err(json!("data: not json\n\n")).contains("no stream chunk"));
        assert!(err(json!([{}])).contains("no stream chunk"), "an empty object is no chunk");
        let whole = json!([{"choices": [{"message": {"content": "Hi"}}]}]);
        assert!(err(whole).contains("no stream chunk"), "whole bodies are not joined into an empty answer");
        let other = json!([{"type": "ping"}, {"kind": "delta", "text": "Hi"}]);
        assert!(err(other).contains("no stream chunk"), "an unknown provider's events");
    }

    #[test]
    fn odd_chunks_are_counted_not_fatal() -> Result<(), LineError> {
        let v = json!([chunk("Hi", json!("stop")), 7, "not json"]);
        let Logged::Stream(body, facts) = read(&v, "response")? else { panic!("a stream") };
        assert_eq!(text_of(&body), Some("Hi"));
        assert_eq!(facts.get("stream_bad_chunks"), Some(&json!(2)));
        Ok(())
    }
}
