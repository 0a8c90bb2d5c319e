//! A response body as loggers keep it when it is not a JSON object: a streamed answer as
//! the array of its chunks (objects, or their `data` strings, `data: ` prefix or not), a
//! streamed answer as the text of its Server-Sent Events, or a whole body written as a JSON
//! string. A stream is joined back into the body a non-streaming call returns, as the
//! logging proxy joins a live one ([`StreamAssembler`]).

use serde_json::{Map, Value};

use super::LineError;
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
    let mut asm = StreamAssembler::new();
    // Some item is recognisably a stream's (an array of whole bodies, or of another
    // provider's events, is not joined into an empty answer).
    let mut looked_like_chunks = false;
    // An event's `data`, parsed once: a JSON object is fed as one, anything else (`[DONE]`,
    // text) as text for the assembler to count. Says whether it was a chunk.
    let feed = |asm: &mut StreamAssembler, data: &str| match serde_json::from_str::<Value>(data) {
        Ok(Value::Object(m)) => {
            asm.push_map(&m);
            is_chunk(&m)
        }
        _ => {
            asm.push(data);
            false
        }
    };
    match v {
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(m) => {
                        looked_like_chunks |= is_chunk(m);
                        asm.push_map(m);
                    }
                    Value::String(s) => looked_like_chunks |= feed(&mut asm, strip_data(s)),
                    // Counted as a chunk that is not an object.
                    other => {
                        asm.push(&other.to_string());
                    }
                }
            }
        }
        Value::String(s) => {
            let t = s.trim_start_matches('\u{feff}').trim();
            if t.starts_with('{') {
                return match serde_json::from_str::<Value>(t) {
                    Ok(Value::Object(m)) => Ok(Logged::Body(m)),
                    _ => Err(LineError::at(path.into(), format!("expected an object, found {}", describe(v)))),
                };
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
            for e in events.iter().filter(|e| e.has_data) {
                looked_like_chunks |= feed(&mut asm, &e.data);
            }
        }
        other => return Err(LineError::at(path.into(), format!("expected an object, found {}", describe(other)))),
    }
    if asm.chunks() == 0 || !looked_like_chunks {
        return Err(LineError::at(
            path.into(),
            "expected an object or a stream, found no stream chunk (an object with `delta`s in its `choices`, \
             an `object` ending in `.chunk`, a `response.*` event or an `error`)"
                .into(),
        ));
    }
    let mut facts = asm.attributes();
    facts.insert("stream".into(), Value::Bool(true));
    Ok(Logged::Stream(asm.response(), facts))
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
        let other = json!([{"type": "content_block_delta", "delta": {"text": "Hi"}}]);
        assert!(err(other).contains("no stream chunk"), "another provider's events");
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
