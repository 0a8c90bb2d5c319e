//! Typed, path-aware access to a JSON object. Every error names the JSON path of the field
//! and what was found there, e.g. ``metadata.total_latency_ms: expected a number, found "fast"``.
//!
//! Reading is lenient where the meaning is unambiguous (a number written as a string, `0`/`1`
//! for booleans) and strict otherwise.

use serde_json::{Map, Value};

use super::formats::LineError;

/// A JSON object and the path that led to it.
#[derive(Debug, Clone, Copy)]
pub struct Obj<'a> {
    pub map: &'a Map<String, Value>,
    pub path: &'a str,
}

impl<'a> Obj<'a> {
    pub fn new(map: &'a Map<String, Value>, path: &'a str) -> Self {
        Obj { map, path }
    }

    pub fn has(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(|v| !v.is_null())
    }

    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn path_of(&self, key: &str) -> String {
        join(self.path, key)
    }

    fn err(&self, key: &str, expected: &str, found: &Value) -> LineError {
        LineError::at(self.path_of(key), format!("expected {expected}, found {}", describe(found)))
    }

    /// A string; numbers are accepted and written out (ids are sometimes numeric).
    pub fn str(&self, key: &str) -> Result<Option<String>, LineError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(v) => Err(self.err(key, "a string", v)),
        }
    }

    /// Text content (prompts, outputs): strictly a string.
    pub fn text(&self, key: &str) -> Result<Option<String>, LineError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(self.err(key, "a string", v)),
        }
    }

    /// A log timestamp (epoch number or text; text without an offset read in `tz`).
    pub fn time(&self, key: &str, tz: chrono_tz::Tz) -> Result<Option<chrono::DateTime<chrono::Utc>>, LineError> {
        self.get(key)
            .map(|v| {
                llmscope_core::timeparse::parse_log_timestamp(v, tz).map_err(|e| LineError::at(self.path_of(key), e))
            })
            .transpose()
    }

    /// A string that must be present.
    pub fn req_str(&self, key: &str) -> Result<String, LineError> {
        self.str(key)?.ok_or_else(|| LineError::at(self.path_of(key), "missing required field".into()))
    }

    /// A finite number; a string holding a number is accepted.
    pub fn f64(&self, key: &str) -> Result<Option<f64>, LineError> {
        let v = match self.get(key) {
            None => return Ok(None),
            Some(v) => v,
        };
        let n = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if n.is_finite() => Ok(Some(n)),
            _ => Err(self.err(key, "a number", v)),
        }
    }

    /// A finite, non-negative number (durations, latencies).
    pub fn non_neg(&self, key: &str) -> Result<Option<f64>, LineError> {
        match self.f64(key)? {
            Some(n) if n < 0.0 => Err(LineError::at(self.path_of(key), format!("must not be negative, found {n}"))),
            other => Ok(other),
        }
    }

    /// A non-negative integer (token counts); `12.0` and `"12"` are accepted.
    pub fn u64(&self, key: &str) -> Result<Option<u64>, LineError> {
        let v = match self.get(key) {
            None => return Ok(None),
            Some(v) => v,
        };
        let n = match v {
            Value::Number(n) => n
                .as_u64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 9e15).map(|f| f as u64)),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        n.map(Some).ok_or_else(|| self.err(key, "a non-negative integer", v))
    }

    /// A token count: a non-negative integer ([`Self::u64`]) of at most [`MAX_TOKENS`].
    pub fn tokens(&self, key: &str) -> Result<Option<u64>, LineError> {
        match self.u64(key)? {
            Some(n) if n > MAX_TOKENS => {
                Err(LineError::at(self.path_of(key), format!("{n} tokens is out of range (at most {MAX_TOKENS})")))
            }
            other => Ok(other),
        }
    }

    /// A boolean; `0`/`1` and `"true"`/`"false"` are accepted.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, LineError> {
        let v = match self.get(key) {
            None => return Ok(None),
            Some(v) => v,
        };
        match v {
            Value::Bool(b) => Ok(Some(*b)),
            Value::Number(n) if n.as_u64() == Some(0) => Ok(Some(false)),
            Value::Number(n) if n.as_u64() == Some(1) => Ok(Some(true)),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            _ => Err(self.err(key, "a boolean", v)),
        }
    }

    /// A nested object.
    pub fn obj(&self, key: &str) -> Result<Option<&'a Map<String, Value>>, LineError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(v) => Err(self.err(key, "an object", v)),
        }
    }

    /// An array.
    pub fn arr(&self, key: &str) -> Result<Option<&'a Vec<Value>>, LineError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(v) => Err(self.err(key, "an array", v)),
        }
    }
}

/// `path.key`, or `key` at the top.
pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Largest token count accepted for one call.
pub const MAX_TOKENS: u64 = 1_000_000_000_000;

/// The first 40 characters of a text for an error message, and `…` when there is more.
pub fn head(s: &str) -> (String, &'static str) {
    let cut: String = s.chars().take(40).collect();
    let more = if cut.len() < s.len() { "…" } else { "" };
    (cut, more)
}

/// A short description of a JSON value for error messages.
pub fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        // A whole number too large for an integer is read as a float: written out in full
        // (2^64 as 18446744073709551616, not 1.8446744073709552e19) while that is exact.
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() >= 1e16 && f.abs() < 1e21 => {
                format!("the number {f:.0}")
            }
            _ => format!("the number {n}"),
        },
        Value::String(s) => {
            let (cut, more) = head(s);
            format!("the string {cut:?}{more}")
        }
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lenient_where_unambiguous_strict_otherwise() {
        let v = json!({"a": "12", "b": 1.5, "c": "fast", "d": {"x": 1}, "e": 1, "f": -3, "g": 12.0});
        let empty = Map::new();
        let o = Obj::new(v.as_object().unwrap_or(&empty), "metadata");
        assert_eq!(o.u64("a").ok().flatten(), Some(12));
        assert_eq!(o.u64("g").ok().flatten(), Some(12));
        assert_eq!(o.f64("b").ok().flatten(), Some(1.5));
        assert_eq!(o.bool("e").ok().flatten(), Some(true));
        let e = o.f64("c").err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(e, "metadata.c: expected a number, found the string \"fast\"");
        assert!(o.u64("b").is_err());
        assert!(o.str("d").is_err());
        assert!(o.non_neg("f").is_err());
        assert_eq!(o.f64("missing").ok().flatten(), None);
    }
}
