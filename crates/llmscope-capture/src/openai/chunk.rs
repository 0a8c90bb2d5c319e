//! One streamed chat (or legacy completions) chunk, read for the stream assembler without
//! building a `serde_json::Value` tree: strings are borrowed from the event where they hold
//! no escapes, and the fields kept whole (`id`, `usage`, `error`, …) stay raw JSON until they
//! are needed. Reading every event into a `Value` was the largest single cost of a streamed
//! call in the proxy's profile.
//!
//! The typed read is strict: a field of an unexpected type makes it fail. Such a chunk is
//! read again as a `Value` and converted by [`ChatChunk::from_map`], which is lenient in the
//! way the assembler always was (a field of the wrong type is ignored). Both ways end in the
//! same [`ChatChunk`], so the assembler has one way of applying a chunk. They differ only on
//! input no server sends: serde's derived structs also accept an array in an object's place
//! (read by position), and the typed read skips ignored fields without checking them as
//! strictly (a number out of range, a lone surrogate escape), where the tree read refuses
//! the whole chunk.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// A JSON value kept as it came: raw text from the typed read, a tree from the lenient one.
#[derive(Debug, Clone, Copy)]
pub enum Json<'a> {
    Raw(&'a RawValue),
    Tree(&'a Value),
}

impl Json<'_> {
    /// The value, `None` for `null` (or raw text that does not parse, which the typed read
    /// never hands over).
    pub fn to_value(self) -> Option<Value> {
        let v = match self {
            Json::Raw(r) => serde_json::from_str(r.get()).ok()?,
            Json::Tree(v) => v.clone(),
        };
        (!v.is_null()).then_some(v)
    }

    /// Whether the value is a JSON object.
    pub fn is_object(self) -> bool {
        match self {
            Json::Raw(r) => r.get().starts_with('{'),
            Json::Tree(v) => v.is_object(),
        }
    }
}

/// See the module docs. Absent and `null` fields are `None`.
#[derive(Debug, Default, Deserialize)]
pub struct ChatChunk<'a> {
    /// Set on the Responses API's typed events, which the assembler reads apart.
    #[serde(rename = "type", default, borrow, deserialize_with = "opt_str")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_raw")]
    pub error: Option<Json<'a>>,
    #[serde(default, borrow, deserialize_with = "opt_raw")]
    pub id: Option<Json<'a>>,
    #[serde(default, borrow, deserialize_with = "opt_raw")]
    pub model: Option<Json<'a>>,
    #[serde(default, borrow, deserialize_with = "opt_raw")]
    pub created: Option<Json<'a>>,
    #[serde(default, borrow, deserialize_with = "opt_raw")]
    pub system_fingerprint: Option<Json<'a>>,
    #[serde(default, borrow, deserialize_with = "opt_str")]
    pub object: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_raw")]
    pub usage: Option<Json<'a>>,
    #[serde(default, borrow)]
    pub choices: Option<Vec<Choice<'a>>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Choice<'a> {
    #[serde(default)]
    pub index: Option<u64>,
    #[serde(default, borrow, deserialize_with = "opt_raw")]
    pub finish_reason: Option<Json<'a>>,
    /// Legacy completions' text.
    #[serde(default, borrow, deserialize_with = "opt_str")]
    pub text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub delta: Option<Delta<'a>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Delta<'a> {
    #[serde(default, borrow, deserialize_with = "opt_str")]
    pub content: Option<Cow<'a, str>>,
    /// vLLM's and DeepSeek's reasoning stream.
    #[serde(default, borrow, deserialize_with = "opt_str")]
    pub reasoning_content: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_str")]
    pub reasoning: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_str")]
    pub refusal: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub tool_calls: Option<Vec<ToolCallDelta<'a>>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ToolCallDelta<'a> {
    #[serde(default)]
    pub index: Option<u64>,
    #[serde(default, borrow, deserialize_with = "opt_str")]
    pub id: Option<Cow<'a, str>>,
    #[serde(rename = "type", default, borrow, deserialize_with = "opt_str")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub function: Option<FunctionDelta<'a>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct FunctionDelta<'a> {
    #[serde(default, borrow, deserialize_with = "opt_str")]
    pub name: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_str")]
    pub arguments: Option<Cow<'a, str>>,
}

/// An optional string, borrowed when it has no escapes (`Option<Cow<str>>` alone always
/// copies).
fn opt_str<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    #[derive(Deserialize)]
    struct Borrowed<'a>(#[serde(borrow)] Cow<'a, str>);
    Ok(Option::<Borrowed>::deserialize(d)?.map(|b| b.0))
}

fn opt_raw<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Json<'de>>, D::Error> {
    Ok(Option::<&'de RawValue>::deserialize(d)?.map(Json::Raw))
}

fn str_of(v: Option<&Value>) -> Option<Cow<'_, str>> {
    v.and_then(Value::as_str).map(Cow::Borrowed)
}

fn json_of(v: Option<&Value>) -> Option<Json<'_>> {
    v.filter(|v| !v.is_null()).map(Json::Tree)
}

impl<'a> ChatChunk<'a> {
    /// The typed read of one event's data; `None` when it is not a JSON object of the
    /// expected shape.
    pub fn parse(data: &'a str) -> Option<Self> {
        // An array would be read by position (see the module docs).
        data.trim_start().starts_with('{').then(|| serde_json::from_str(data).ok()).flatten()
    }

    /// The lenient read of a chunk already parsed into a map: fields of the wrong type are
    /// left out.
    pub fn from_map(m: &'a Map<String, Value>) -> Self {
        ChatChunk {
            kind: str_of(m.get("type")),
            error: json_of(m.get("error")),
            id: json_of(m.get("id")),
            model: json_of(m.get("model")),
            created: json_of(m.get("created")),
            system_fingerprint: json_of(m.get("system_fingerprint")),
            object: str_of(m.get("object")),
            usage: json_of(m.get("usage")),
            choices: m.get("choices").and_then(Value::as_array).map(|a| a.iter().map(Choice::from_value).collect()),
        }
    }
}

impl<'a> Choice<'a> {
    fn from_value(c: &'a Value) -> Self {
        Choice {
            index: c.get("index").and_then(Value::as_u64),
            finish_reason: json_of(c.get("finish_reason")),
            text: str_of(c.get("text")),
            delta: c.get("delta").filter(|d| d.is_object()).map(|d| Delta {
                content: str_of(d.get("content")),
                reasoning_content: str_of(d.get("reasoning_content")),
                reasoning: str_of(d.get("reasoning")),
                refusal: str_of(d.get("refusal")),
                tool_calls: d.get("tool_calls").and_then(Value::as_array).map(|a| {
                    a.iter()
                        .map(|tc| ToolCallDelta {
                            index: tc.get("index").and_then(Value::as_u64),
                            id: str_of(tc.get("id")),
                            kind: str_of(tc.get("type")),
                            function: tc.get("function").map(|f| FunctionDelta {
                                name: str_of(f.get("name")),
                                arguments: str_of(f.get("arguments")),
                            }),
                        })
                        .collect()
                }),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_without_escapes_are_borrowed_and_raw_fields_stay_raw() {
        let data = r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","usage":null,
            "choices":[{"index":0,"delta":{"content":"plain","tool_calls":[{"index":0,"function":{"arguments":"{\"a\":1}"}}]},"finish_reason":null}]}"#;
        let c = ChatChunk::parse(data).expect("reads");
        let choice = &c.choices.as_ref().expect("choices")[0];
        let delta = choice.delta.as_ref().expect("delta");
        assert!(matches!(delta.content, Some(Cow::Borrowed("plain"))));
        let args = delta.tool_calls.as_ref().expect("calls")[0].function.as_ref().and_then(|f| f.arguments.clone());
        assert!(matches!(args, Some(Cow::Owned(ref s)) if s == "{\"a\":1}"), "escaped text is unescaped");
        assert!(c.usage.is_none() && choice.finish_reason.is_none(), "null is absent");
        assert_eq!(c.id.and_then(Json::to_value), Some(Value::from("c1")));
        assert_eq!(c.created.and_then(Json::to_value), Some(Value::from(1)));
    }

    #[test]
    fn a_field_of_an_unexpected_type_fails_the_typed_read_and_the_lenient_one_skips_it() {
        let data = r#"{"id":"c1","choices":[{"index":0,"delta":{"content":["odd"],"refusal":"no"}}]}"#;
        assert!(ChatChunk::parse(data).is_none());
        let map: Map<String, Value> = serde_json::from_str(data).expect("json");
        let c = ChatChunk::from_map(&map);
        let delta = c.choices.as_ref().expect("choices")[0].delta.as_ref().expect("delta");
        assert!(delta.content.is_none());
        assert_eq!(delta.refusal.as_deref(), Some("no"));
        for odd in ["[1,2]", "[]", " []", "not json"] {
            assert!(ChatChunk::parse(odd).is_none(), "{odd}");
        }
    }
}
