//! A typed reader for seed 001's plain line, the shape nearly every line of such a log has:
//! the format's own top-level keys only, a text `input`, and metadata whose values have the
//! types the format writes. It reads the line straight into the call — no JSON tree, keys and
//! strings borrowed from the line — where the general path ([`super::seed001::map`] over
//! serde_json's tree) builds a map of owned keys and values, copies what it keeps and drops
//! the rest (two thirds of a seed-001 line's parsing, docs/BENCHMARKS.md).
//!
//! It maps exactly as the general path does. Anything else — another key at the top, a chat
//! array as input, a value of another type than the usual one (a number written as a string,
//! `0`/`1` for a flag), a repeated key, a metadata key whose meaning the general path maps
//! ([`common::apply_known`]) and this reader does not, an out-of-range value, a line that is
//! not plain JSON — makes it give up ([`read`] returns `None`), and the line is read by the
//! general path, which also words every error. The tests check that both paths give the same
//! call for every line this one reads.

use std::borrow::Cow;
use std::fmt;

use llmscope_core::{timeparse, Call, CallStatus};
use serde::de::{Deserializer, Error as _, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Number, Value};

use super::{common, ImportOptions};
use crate::import::fields::{Obj, MAX_TOKENS};

/// Maps a plain seed-001 line (trimmed, without its newline) into `call`, or returns `None`
/// (with `call` as it was) when the line is not plain: the general path reads it then.
pub fn read(text: &str, opts: &ImportOptions, call: &mut Call) -> Option<()> {
    if !text.starts_with('{') {
        return None;
    }
    let line: Line<'_> = serde_json::from_str(text).ok()?;
    let mut mapped = std::mem::take(call);
    match line.apply(opts, &mut mapped) {
        Some(()) => {
            *call = mapped;
            Some(())
        }
        None => {
            *call = mapped_back(mapped);
            None
        }
    }
}

/// What [`read`] hands back when it gives up: the id and project the caller had set.
fn mapped_back(c: Call) -> Call {
    Call { id: c.id, project: c.project, ..Default::default() }
}

/// Text as the line writes it: borrowed when it has no escapes.
#[derive(Debug)]
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, s: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s.to_string())))
            }
            fn visit_string<E: serde::de::Error>(self, s: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A line's top level. `None` fields were absent or `null` (the general path skips nulls).
#[derive(Debug, Default)]
struct Line<'a> {
    timestamp: Option<Value>,
    level: Option<Text<'a>>,
    request_id: Option<Text<'a>>,
    model: Option<Text<'a>>,
    input: Option<Text<'a>>,
    output: Option<Text<'a>>,
    metadata: Option<Meta<'a>>,
    /// Whether `input` or `output` was there at all (`null` included), as format detection
    /// asks.
    has_text: bool,
}

/// The metadata's keys this reader maps itself; any other key is kept as an attribute, or
/// makes the reader give up when the general path maps it.
#[derive(Debug, Default)]
struct Meta<'a> {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    total_tokens: Option<u64>,
    first_token_latency_ms: Option<f64>,
    total_latency_ms: Option<f64>,
    temperature: Option<f64>,
    json_mode: Option<bool>,
    function_calling: Option<Value>,
    user_id: Option<Text<'a>>,
    session_id: Option<Text<'a>>,
    status_code: Option<u64>,
    error: Option<Text<'a>>,
    /// Other keys with a value, in the line's order.
    rest: Vec<(Text<'a>, Value)>,
}

/// Stores a key's value, failing on a key seen before (serde_json's tree keeps the last
/// value of a repeated key; this reader leaves such lines to it).
fn once<T, E: serde::de::Error>(slot: &mut Option<T>, seen: &mut u32, bit: u32, v: Option<T>) -> Result<(), E> {
    if *seen & bit != 0 {
        return Err(E::custom("repeated key"));
    }
    *seen |= bit;
    *slot = v;
    Ok(())
}

impl<'de> Deserialize<'de> for Line<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Line<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a seed-001 line")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Line<'de>, A::Error> {
                let (mut l, mut seen) = (Line::default(), 0u32);
                while let Some(key) = m.next_key::<Text<'de>>()? {
                    match key.0.as_ref() {
                        "timestamp" => {
                            let v = m.next_value::<Option<Stamp>>()?.map(|s| s.0);
                            once(&mut l.timestamp, &mut seen, 1, v)?
                        }
                        "level" => once(&mut l.level, &mut seen, 2, m.next_value()?)?,
                        "request_id" => once(&mut l.request_id, &mut seen, 4, m.next_value()?)?,
                        "model" => once(&mut l.model, &mut seen, 8, m.next_value()?)?,
                        "input" => {
                            l.has_text = true;
                            once(&mut l.input, &mut seen, 16, m.next_value()?)?
                        }
                        "output" => {
                            l.has_text = true;
                            once(&mut l.output, &mut seen, 32, m.next_value()?)?
                        }
                        "metadata" => once(&mut l.metadata, &mut seen, 64, m.next_value()?)?,
                        _ => return Err(A::Error::custom("another key")),
                    }
                }
                Ok(l)
            }
        }
        d.deserialize_map(V)
    }
}

/// A timestamp as the general path takes it: a number or a string.
struct Stamp(Value);

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            v @ (Value::Number(_) | Value::String(_)) => Ok(Stamp(v)),
            _ => Err(D::Error::custom("not a time")),
        }
    }
}

/// A JSON number that is a non-negative integer as written (`12`, not `12.0` or `"12"`).
fn uint<'de, A: MapAccess<'de>>(m: &mut A) -> Result<Option<u64>, A::Error> {
    match m.next_value::<Option<Number>>()? {
        None => Ok(None),
        Some(n) => n.as_u64().map(Some).ok_or_else(|| A::Error::custom("not a count")),
    }
}

/// A JSON number as a double.
fn num<'de, A: MapAccess<'de>>(m: &mut A) -> Result<Option<f64>, A::Error> {
    match m.next_value::<Option<Number>>()? {
        None => Ok(None),
        Some(n) => n.as_f64().filter(|f| f.is_finite()).map(Some).ok_or_else(|| A::Error::custom("not a number")),
    }
}

impl<'de> Deserialize<'de> for Meta<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Meta<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Meta<'de>, A::Error> {
                let (mut x, mut seen) = (Meta::default(), 0u32);
                while let Some(key) = m.next_key::<Text<'de>>()? {
                    match key.0.as_ref() {
                        "prompt_tokens" => once(&mut x.prompt_tokens, &mut seen, 1, uint(&mut m)?)?,
                        "completion_tokens" => once(&mut x.completion_tokens, &mut seen, 2, uint(&mut m)?)?,
                        "total_tokens" => once(&mut x.total_tokens, &mut seen, 4, uint(&mut m)?)?,
                        "first_token_latency_ms" => once(&mut x.first_token_latency_ms, &mut seen, 8, num(&mut m)?)?,
                        "total_latency_ms" => once(&mut x.total_latency_ms, &mut seen, 16, num(&mut m)?)?,
                        "temperature" => once(&mut x.temperature, &mut seen, 32, num(&mut m)?)?,
                        "json_mode" => once(&mut x.json_mode, &mut seen, 64, m.next_value()?)?,
                        "function_calling" => {
                            let v = m.next_value::<Value>()?;
                            once(&mut x.function_calling, &mut seen, 128, (!v.is_null()).then_some(v))?
                        }
                        "user_id" => once(&mut x.user_id, &mut seen, 256, m.next_value()?)?,
                        "session_id" => once(&mut x.session_id, &mut seen, 512, m.next_value()?)?,
                        "status_code" => once(&mut x.status_code, &mut seen, 1024, uint(&mut m)?)?,
                        "error" => once(&mut x.error, &mut seen, 2048, m.next_value()?)?,
                        _ => {
                            let v = m.next_value::<Value>()?;
                            if x.rest.iter().any(|(k, _)| k.0 == key.0) {
                                return Err(A::Error::custom("repeated key"));
                            }
                            x.rest.push((key, v));
                        }
                    }
                }
                Ok(x)
            }
        }
        d.deserialize_map(V)
    }
}

impl Line<'_> {
    /// Maps the line as [`super::seed001::map`] and [`common::apply_rest`] would; `None` when
    /// they would fail or when the line needs their reading.
    fn apply(self, opts: &ImportOptions, call: &mut Call) -> Option<()> {
        // Format detection: seed 001 needs an input or an output key (a time is required).
        if !self.has_text {
            return None;
        }
        call.start_time = timeparse::parse_log_timestamp(self.timestamp.as_ref()?, opts.naive_tz).ok()?;
        let input = self.input.map(|t| t.0.into_owned()).unwrap_or_default();
        call.input_text.clone_from(&input);
        call.input = Value::String(input);
        call.output = Some(self.output.map(|t| t.0.into_owned()).unwrap_or_default());
        if let Some(level) = self.level {
            if common::is_failure_level(&level.0) {
                call.status = CallStatus::Error;
            }
            call.attributes.insert("level".into(), Value::String(level.0.into_owned()));
        }
        call.request_id = non_empty(self.request_id);
        call.model = non_empty(self.model);
        if let Some(meta) = self.metadata {
            meta.apply(call)?;
        }
        Some(())
    }
}

impl Meta<'_> {
    fn apply(self, call: &mut Call) -> Option<()> {
        let tokens = |n: Option<u64>| match n {
            Some(n) if n > MAX_TOKENS => None,
            n => Some(n),
        };
        let duration = |ms: Option<f64>| match ms {
            Some(ms) if ms < 0.0 => None,
            ms => Some(ms),
        };
        call.usage.input = tokens(self.prompt_tokens)?;
        call.usage.output = tokens(self.completion_tokens)?;
        call.usage.total = tokens(self.total_tokens)?;
        call.ttft_ms = duration(self.first_token_latency_ms)?;
        call.latency_ms = duration(self.total_latency_ms)?;
        call.temperature = self.temperature;
        call.json_mode |= self.json_mode.unwrap_or(false);
        if let Some(v) = self.function_calling {
            call.params.insert("function_calling".into(), v);
        }
        call.user_id = non_empty(self.user_id);
        call.session_id = non_empty(self.session_id);
        if let Some(code) = self.status_code {
            let code = llmscope_core::call::http_status(code).ok()?;
            call.status_code = Some(code);
            if code >= 400 {
                call.status = CallStatus::Error;
            }
        }
        if let Some(e) = self.error.filter(|e| !e.0.trim().is_empty()) {
            call.error_message = Some(e.0.into_owned());
            call.status = CallStatus::Error;
        }
        for (key, value) in self.rest {
            if value.is_null() {
                continue;
            }
            if maps_key(&key.0) {
                return None;
            }
            call.attributes.insert(key.0.into_owned(), value);
        }
        Some(())
    }
}

/// Whether the general path maps `key` onto a call field ([`common::apply_known`]), asked of
/// it directly so that the two cannot drift apart. Keys every seed-001 line carries are
/// answered without asking.
fn maps_key(key: &str) -> bool {
    if key == "device" {
        return false;
    }
    let mut probe = Map::new();
    probe.insert(key.to_string(), Value::Null);
    common::apply_known(&mut Call::default(), Obj::new(&probe, ""), key).unwrap_or(true)
}

/// Text that names something (an id, a model): `None` when empty, as the general path keeps it.
fn non_empty(t: Option<Text<'_>>) -> Option<String> {
    t.map(|t| t.0.into_owned()).filter(|s| !s.is_empty())
}
