//! What the generation endpoints read from a request: the per-request settings (config plus `x-mock-*`
//! header overrides plus the fault drawn for this request), the token schedule, body parsing and the
//! validation of common fields.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use bytes::Bytes;
use serde_json::{Map, Value};

use crate::config::{parse_fault, Fault, MockConfig};
use crate::text::splitmix64;
use crate::wire::{invalid_request, ApiError};

/// The most tokens a request may ask for through `x-mock-output-tokens`.
pub(crate) const MAX_OUTPUT_TOKENS: usize = 100_000;
/// The longest model name accepted (it is echoed in every chunk).
const MAX_MODEL_LEN: usize = 256;
/// The longest delay a request may ask for through an `x-mock-*-ms` header (one day).
const MAX_DELAY_MS: u64 = 86_400_000;
/// The longest interval between tokens (the slowest `tokens_per_s` is one an hour).
const MAX_INTERVAL: Duration = Duration::from_secs(3600);

/// How one request is answered.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    pub(crate) latency: Duration,
    pub(crate) ttft: Duration,
    /// Between two tokens after the first; zero means as fast as possible.
    pub(crate) interval: Duration,
    pub(crate) output_tokens: usize,
    pub(crate) usage: bool,
    pub(crate) fault: Option<Fault>,
}

fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms.min(MAX_DELAY_MS))
}

fn interval(tokens_per_s: f64) -> Duration {
    if tokens_per_s.is_finite() && tokens_per_s > 0.0 {
        Duration::try_from_secs_f64(1.0 / tokens_per_s).map_or(MAX_INTERVAL, |d| d.min(MAX_INTERVAL))
    } else {
        Duration::ZERO
    }
}

impl Settings {
    /// The settings of request number `n`: `cfg` overridden by the `x-mock-*` headers; a bad header value
    /// gives a 400 naming the header.
    pub(crate) fn resolve(cfg: &MockConfig, headers: &HeaderMap, n: u64) -> Result<Settings, ApiError> {
        let mut settings = Settings {
            latency: millis(cfg.latency_ms),
            ttft: millis(cfg.ttft_ms),
            interval: interval(cfg.tokens_per_s),
            output_tokens: cfg.output_tokens,
            usage: cfg.usage,
            fault: None,
        };
        if let Some(value) = header(headers, "x-mock-latency-ms")? {
            settings.latency = millis(parse_ms("x-mock-latency-ms", value)?);
        }
        if let Some(value) = header(headers, "x-mock-ttft-ms")? {
            settings.ttft = millis(parse_ms("x-mock-ttft-ms", value)?);
        }
        if let Some(value) = header(headers, "x-mock-tokens-per-s")? {
            match value.parse::<f64>() {
                Ok(tps) if tps.is_finite() && tps >= 0.0 => settings.interval = interval(tps),
                _ => return Err(bad_header("x-mock-tokens-per-s", value, "a non-negative number")),
            }
        }
        if let Some(value) = header(headers, "x-mock-output-tokens")? {
            match value.parse::<usize>() {
                Ok(n) if n <= MAX_OUTPUT_TOKENS => settings.output_tokens = n,
                _ => return Err(bad_header("x-mock-output-tokens", value, "an integer from 0 to 100000")),
            }
        }
        if let Some(value) = header(headers, "x-mock-usage")? {
            settings.usage = match value {
                "1" | "true" => true,
                "0" | "false" => false,
                _ => return Err(bad_header("x-mock-usage", value, "0 or 1")),
            };
        }
        settings.fault = match header(headers, "x-mock-fault")? {
            Some(value) if value.eq_ignore_ascii_case("none") => None,
            Some(value) => match parse_fault(value) {
                Ok(fault) => Some(fault),
                Err(err) => {
                    return Err(bad_header_message("x-mock-fault", &format!("Invalid x-mock-fault header: {err}")))
                }
            },
            None => draw_fault(cfg, n),
        };
        Ok(settings)
    }

    /// When the content token `i` (from 0) is due, from the start of the response body.
    pub(crate) fn due(&self, i: usize) -> Duration {
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        (self.latency + self.ttft).saturating_add(self.interval.saturating_mul(i))
    }

    /// Tokens in a text answer: none under an `empty` fault.
    pub(crate) fn answer_length(&self) -> usize {
        if self.fault == Some(Fault::Empty) {
            0
        } else {
            self.output_tokens
        }
    }

    /// Under a `cut` fault, how many of a stream's `units` content pieces go out before the
    /// connection is dropped.
    pub(crate) fn cut_after(&self, units: usize) -> Option<usize> {
        match self.fault {
            Some(Fault::Cut { after_chunks }) => Some(after_chunks.min(units)),
            _ => None,
        }
    }

    /// How long generating `tokens` tokens takes (a non-stream response waits this long).
    pub(crate) fn generation_time(&self, tokens: usize) -> Duration {
        self.due(tokens.saturating_sub(1))
    }
}

/// The fault of request `n` when the request names none: drawn from `cfg.faults` with probability
/// `cfg.fault_rate`, deterministically from `cfg.seed` and `n`.
pub(crate) fn draw_fault(cfg: &MockConfig, n: u64) -> Option<Fault> {
    if cfg.faults.is_empty() || cfg.fault_rate.is_nan() || cfg.fault_rate <= 0.0 {
        return None;
    }
    let mut state = cfg.seed ^ n.wrapping_mul(0xd1b5_4a32_d192_ed03);
    let u = (splitmix64(&mut state) >> 11) as f64 / (1u64 << 53) as f64;
    if u >= cfg.fault_rate {
        return None;
    }
    let i = splitmix64(&mut state) % cfg.faults.len() as u64;
    cfg.faults.get(usize::try_from(i).ok()?).cloned()
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<Option<&'a str>, ApiError> {
    match headers.get(name) {
        None => Ok(None),
        Some(value) => match value.to_str() {
            Ok(value) => Ok(Some(value.trim())),
            Err(_) => Err(bad_header_message(name, &format!("Invalid {name} header: not visible ASCII."))),
        },
    }
}

fn parse_ms(name: &'static str, value: &str) -> Result<u64, ApiError> {
    match value.parse::<u64>() {
        Ok(ms) if ms <= MAX_DELAY_MS => Ok(ms),
        _ => Err(bad_header(name, value, "milliseconds from 0 to 86400000")),
    }
}

fn bad_header(name: &str, value: &str, expected: &str) -> ApiError {
    bad_header_message(name, &format!("Invalid {name} header: `{value}` is not {expected}."))
}

fn bad_header_message(name: &str, message: &str) -> ApiError {
    invalid_request(message, Some(name))
}

/// The request body as a JSON object, or the 400 (or 413) a real server gives.
pub(crate) fn parse_body(body: Result<Bytes, BytesRejection>) -> Result<Map<String, Value>, ApiError> {
    let bytes = body.map_err(|rejection| ApiError::new(rejection.status(), rejection.body_text(), None))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(invalid_request("The request body must be a JSON object.", None)),
        Err(err) => Err(invalid_request(
            &format!(
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your \
                 HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid \
                 JSON: {err}.)"
            ),
            None,
        )),
    }
}

/// The JSON type name OpenAI's messages use.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A 400 for a field of the wrong type.
pub(crate) fn wrong_type(param: &str, expected: &str, got: &Value) -> ApiError {
    invalid_request(
        &format!("Invalid type for '{param}': expected {expected}, but got {} instead.", type_name(got)),
        Some(param),
    )
}

/// A 400 for a missing field.
pub(crate) fn missing(param: &str) -> ApiError {
    invalid_request(&format!("Missing required parameter: '{param}'."), Some(param))
}

/// The required `model` string.
pub(crate) fn model(req: &Map<String, Value>) -> Result<&str, ApiError> {
    match req.get("model") {
        Some(Value::String(model)) if model.len() <= MAX_MODEL_LEN => Ok(model),
        Some(Value::String(_)) => Err(invalid_request(
            &format!("Invalid 'model': the name is longer than {MAX_MODEL_LEN} bytes."),
            Some("model"),
        )),
        None | Some(Value::Null) => Err(invalid_request("you must provide a model parameter", Some("model"))),
        Some(other) => Err(wrong_type("model", "a string", other)),
    }
}

/// An optional boolean field (absent or null is false).
pub(crate) fn flag(req: &Map<String, Value>, name: &str) -> Result<bool, ApiError> {
    match req.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(wrong_type(name, "a boolean", other)),
    }
}

/// `stream_options.include_usage`; `stream_options` is only allowed with `stream: true`.
pub(crate) fn include_usage(req: &Map<String, Value>, stream: bool) -> Result<bool, ApiError> {
    match req.get("stream_options") {
        None | Some(Value::Null) => Ok(false),
        Some(_) if !stream => Err(invalid_request(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            Some("stream_options"),
        )),
        Some(Value::Object(options)) => match options.get("include_usage") {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(wrong_type("stream_options.include_usage", "a boolean", other)),
        },
        Some(other) => Err(wrong_type("stream_options", "an object", other)),
    }
}

/// The token limit: the first of `names` that is present (a positive integer), if any.
pub(crate) fn max_tokens(req: &Map<String, Value>, names: &[&str]) -> Result<Option<usize>, ApiError> {
    for &name in names {
        match req.get(name) {
            None | Some(Value::Null) => continue,
            Some(value) => {
                return match value.as_u64() {
                    Some(0) => Err(invalid_request(
                        &format!(
                            "Invalid '{name}': integer below minimum value. Expected a value >= 1, but got 0 instead."
                        ),
                        Some(name),
                    )),
                    Some(n) => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
                    None => Err(wrong_type(name, "an integer", value)),
                };
            }
        }
    }
    Ok(None)
}

/// Seconds since the Unix epoch, for `created`.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderValue, StatusCode};

    #[test]
    fn header_overrides_and_errors() {
        let cfg = MockConfig::default();
        let mut headers = HeaderMap::new();
        let base = Settings::resolve(&cfg, &headers, 1).ok();
        assert_eq!(base.as_ref().map(|s| (s.ttft, s.output_tokens, s.usage)), Some((millis(50), 40, true)));
        for (name, value) in [
            ("x-mock-ttft-ms", "7"),
            ("x-mock-latency-ms", "3"),
            ("x-mock-tokens-per-s", "0"),
            ("x-mock-output-tokens", "5"),
            ("x-mock-usage", "0"),
            ("x-mock-fault", "cut=2"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        let s = Settings::resolve(&cfg, &headers, 1).ok();
        let expected = Settings {
            latency: millis(3),
            ttft: millis(7),
            interval: Duration::ZERO,
            output_tokens: 5,
            usage: false,
            fault: Some(Fault::Cut { after_chunks: 2 }),
        };
        assert_eq!(s, Some(expected));
        for (name, value) in [("x-mock-ttft-ms", "-1"), ("x-mock-tokens-per-s", "NaN"), ("x-mock-fault", "boom")] {
            let mut headers = HeaderMap::new();
            headers.insert(name, HeaderValue::from_static(value));
            let err = Settings::resolve(&cfg, &headers, 1).err();
            assert_eq!(err.map(|e| e.into_response().status()), Some(StatusCode::BAD_REQUEST), "{name}: {value}");
        }
    }

    #[test]
    fn schedule() {
        let s = Settings {
            latency: millis(10),
            ttft: millis(20),
            interval: interval(100.0),
            output_tokens: 3,
            usage: true,
            fault: None,
        };
        assert_eq!(s.due(0), millis(30));
        assert_eq!(s.due(2), millis(50));
        assert_eq!(s.generation_time(3), millis(50));
        assert_eq!(s.generation_time(0), millis(30));
        assert_eq!(interval(1e-300), MAX_INTERVAL);
        assert_eq!(interval(f64::INFINITY), Duration::ZERO);
    }

    #[test]
    fn faults_are_drawn_deterministically_at_the_configured_rate() {
        let cfg = MockConfig {
            fault_rate: 0.25,
            faults: vec![Fault::Status(500), Fault::Hang],
            seed: 42,
            ..MockConfig::default()
        };
        let draws: Vec<_> = (1..=4000).map(|n| draw_fault(&cfg, n)).collect();
        assert_eq!(draws, (1..=4000).map(|n| draw_fault(&cfg, n)).collect::<Vec<_>>());
        let hits = draws.iter().filter(|f| f.is_some()).count();
        assert!((800..1200).contains(&hits), "{hits}");
        assert!(draws.contains(&Some(Fault::Hang)) && draws.contains(&Some(Fault::Status(500))));
        assert_eq!(draw_fault(&MockConfig { fault_rate: 1.0, ..MockConfig::default() }, 1), None);
        let always = MockConfig { fault_rate: 1.0, faults: vec![Fault::Empty], ..MockConfig::default() };
        assert!((1..100).all(|n| draw_fault(&always, n) == Some(Fault::Empty)));
    }
}
