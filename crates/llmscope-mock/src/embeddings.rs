//! `POST /v1/embeddings`: one unit-length vector per input (a string, or a token array), deterministic from
//! a hash of the input, `dimensions` long (default `MockConfig::embedding_dims`), as floats or, with
//! `encoding_format: "base64"` (what the official Python client asks for), as base64 little-endian `f32`s.

use serde_json::{Map, Value};

use crate::config::MockConfig;
use crate::endpoint::{Answer, Endpoint};
use crate::request::{self, missing, wrong_type, Settings};
use crate::text::{count_tokens, hash64, splitmix64};
use crate::wire::{invalid_request, push_json_str, push_list, push_num, push_usage, ApiError};

/// OpenAI's limit on inputs per request.
const MAX_INPUTS: usize = 2048;
/// The most numbers one response may hold (inputs × dimensions).
const MAX_VALUES: usize = 4 << 20;
/// The largest `dimensions` accepted.
const MAX_DIMENSIONS: usize = 16_384;

/// The embeddings [`Endpoint`]: the whole body is rendered while validating, and sent after the latency.
#[derive(Debug)]
pub(crate) struct Embeddings;

impl Endpoint for Embeddings {
    /// `(model, body)`.
    type Plan = (String, String);

    fn plan(cfg: &MockConfig, req: &Map<String, Value>, settings: &Settings) -> Result<Self::Plan, ApiError> {
        render(req, cfg.embedding_dims, settings.usage)
    }

    fn model((model, _): &Self::Plan) -> &str {
        model
    }

    fn answer((_, body): Self::Plan, settings: &Settings, _: u64) -> Answer {
        Answer::Json { body, after: settings.latency }
    }
}

/// The inputs as `(hash, tokens)`.
fn inputs(req: &Map<String, Value>) -> Result<Vec<(u64, usize)>, ApiError> {
    let tokens = |items: &[Value]| -> Result<(u64, usize), ApiError> {
        let mut bytes = Vec::with_capacity(items.len() * 8);
        for item in items {
            match item.as_u64() {
                Some(id) => bytes.extend_from_slice(&id.to_le_bytes()),
                None => return Err(wrong_type("input", "an array of integers", item)),
            }
        }
        Ok((hash64(&bytes), items.len()))
    };
    let text = |text: &str| -> Result<(u64, usize), ApiError> {
        if text.is_empty() {
            return Err(invalid_request("'$.input' is invalid: empty strings cannot be embedded.", Some("input")));
        }
        Ok((hash64(text.as_bytes()), count_tokens(text).max(1)))
    };
    let inputs = match req.get("input") {
        None | Some(Value::Null) => return Err(missing("input")),
        Some(Value::String(s)) => vec![text(s)?],
        Some(Value::Array(items)) if items.is_empty() => {
            return Err(invalid_request("[] is too short - 'input'", Some("input")))
        }
        Some(Value::Array(items)) if items[0].is_number() => vec![tokens(items)?],
        Some(Value::Array(items)) => {
            if items.len() > MAX_INPUTS {
                return Err(invalid_request(
                    &format!("'input' has {} items; at most {MAX_INPUTS} are allowed.", items.len()),
                    Some("input"),
                ));
            }
            items
                .iter()
                .map(|item| match item {
                    Value::String(s) => text(s),
                    Value::Array(items) => tokens(items),
                    other => Err(wrong_type("input", "a string, an array of strings or token arrays", other)),
                })
                .collect::<Result<_, _>>()?
        }
        Some(other) => return Err(wrong_type("input", "a string or an array", other)),
    };
    Ok(inputs)
}

/// The unit-length vector of an input.
fn vector(seed: u64, dims: usize, out: &mut Vec<f32>) {
    out.clear();
    let mut state = seed;
    let mut norm = 0.0f32;
    for _ in 0..dims {
        // 24 random bits → [-1, 1).
        let x = (splitmix64(&mut state) >> 40) as f32 / (1u32 << 23) as f32 - 1.0;
        norm += x * x;
        out.push(x);
    }
    let norm = norm.sqrt();
    if norm > 0.0 {
        out.iter_mut().for_each(|x| *x /= norm);
    } else if let Some(first) = out.first_mut() {
        *first = 1.0;
    }
}

/// Appends the standard base64 encoding of `bytes`.
fn push_base64(out: &mut String, bytes: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |i: u32| char::from(ALPHABET[(i & 63) as usize]);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(sym(v >> 18));
        out.push(sym(v >> 12));
        out.push(if chunk.len() > 1 { sym(v >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { sym(v) } else { '=' });
    }
}

/// Validates the request and renders the response body; returns the model too.
fn render(req: &Map<String, Value>, default_dims: usize, usage: bool) -> Result<(String, String), ApiError> {
    let model = request::model(req)?;
    let inputs = inputs(req)?;
    let dims = match req.get("dimensions") {
        None | Some(Value::Null) => default_dims.clamp(1, MAX_DIMENSIONS),
        Some(value) => match value.as_u64().and_then(|d| usize::try_from(d).ok()) {
            Some(d) if (1..=MAX_DIMENSIONS).contains(&d) => d,
            _ => {
                return Err(invalid_request(
                    &format!("Invalid 'dimensions': expected an integer from 1 to {MAX_DIMENSIONS}."),
                    Some("dimensions"),
                ))
            }
        },
    };
    if inputs.len().saturating_mul(dims) > MAX_VALUES {
        return Err(invalid_request(
            &format!("{} inputs of {dims} dimensions are more than this server returns at once.", inputs.len()),
            Some("input"),
        ));
    }
    let base64 = match req.get("encoding_format") {
        None | Some(Value::Null) => false,
        Some(Value::String(format)) if format == "float" => false,
        Some(Value::String(format)) if format == "base64" => true,
        Some(_) => {
            return Err(invalid_request(
                "Invalid value for 'encoding_format': expected 'float' or 'base64'.",
                Some("encoding_format"),
            ))
        }
    };
    let per_vector = if base64 { dims * 4 * 4 / 3 + 8 } else { dims * 12 };
    let mut out = String::with_capacity(128 + model.len() + inputs.len() * (per_vector + 48));
    out.push_str("{\"object\":\"list\",\"data\":[");
    let mut values = Vec::with_capacity(dims);
    let mut bytes = Vec::with_capacity(if base64 { dims * 4 } else { 0 });
    push_list(&mut out, inputs.iter().enumerate(), |out, (index, &(seed, _))| {
        out.push_str("{\"object\":\"embedding\",\"index\":");
        push_num(out, index);
        out.push_str(",\"embedding\":");
        vector(seed, dims, &mut values);
        if base64 {
            bytes.clear();
            values.iter().for_each(|x| bytes.extend_from_slice(&x.to_le_bytes()));
            out.push('"');
            push_base64(out, &bytes);
            out.push('"');
        } else {
            out.push('[');
            push_list(out, &values, push_num);
            out.push(']');
        }
        out.push('}');
    });
    out.push_str("],\"model\":");
    push_json_str(&mut out, model);
    if usage {
        let tokens: usize = inputs.iter().map(|&(_, tokens)| tokens).sum();
        out.push_str(",\"usage\":");
        push_usage(&mut out, tokens, None, "");
    }
    out.push('}');
    Ok((model.to_owned(), out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_unit_length_and_deterministic() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        vector(7, 64, &mut a);
        vector(7, 64, &mut b);
        assert_eq!(a, b);
        let norm: f32 = a.iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-4, "{norm}");
        vector(8, 64, &mut b);
        assert_ne!(a, b);
    }

    #[test]
    fn base64() {
        for (input, expected) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")] {
            let mut out = String::new();
            push_base64(&mut out, input.as_bytes());
            assert_eq!(out, expected);
        }
    }
}
