//! A line's JSON object, read as written or, where a line is not plain JSON but plainly
//! means one, as meant:
//!
//! - **A log prefix** before the object: Python's `logging` with a format such as
//!   `%(asctime)s - %(name)s - %(levelname)s - %(message)s` writes
//!   `2025-01-06 10:03:22,123 - app - INFO - {"timestamp": …}`. The object is read from the
//!   first `{`, and the prefix is kept (the call's attribute `log_prefix`); a record with no
//!   time of its own is dated by the time the prefix starts with ([`prefix_time`]).
//! - **`NaN`, `Infinity` and `-Infinity`**, which Python's `json.dumps` writes for
//!   non-finite floats: read as `null` (the field is then absent), and counted (the call's
//!   attribute `non_finite_numbers`).
//!
//! Anything else that is not JSON is refused, with a hint where the mistake is a common one
//! (a Python dict printed with `str()`).

use serde_json::{Map, Value};

use super::fields::{describe, head};
use super::formats::LineError;

/// A line's object and what had to be read around.
#[derive(Debug)]
pub struct Read {
    pub obj: Map<String, Value>,
    /// Text before the object, when the line has a log prefix.
    pub prefix: Option<String>,
    /// `NaN` / `Infinity` values read as `null`.
    pub non_finite: usize,
}

/// Reads a line (trimmed, without its newline) as a JSON object.
pub fn object(text: &str) -> Result<Read, LineError> {
    let err = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(obj)) => return Ok(Read { obj, prefix: None, non_finite: 0 }),
        Ok(v) => return Err(LineError::line(format!("expected a JSON object, found {}", describe(&v)))),
        Err(e) => e,
    };
    // (A prefix says something: a broken array or string is no prefixed line.)
    let prefix_at =
        text.find('{').filter(|&at| text[..at].bytes().any(|b| b.is_ascii_alphanumeric()) && !text[..at].contains('"'));
    if let Some(at) = prefix_at {
        let prefix = text[..at].trim_end();
        return match object(&text[at..]) {
            Ok(read) => Ok(Read { prefix: Some(prefix.to_string()), ..read }),
            Err(e) => {
                let (cut, more) = head(prefix);
                Err(LineError::line(format!("after the prefix {:?}: {}", cut + more, e.message)))
            }
        };
    }
    if let Some((fixed, n)) = without_non_finite(text) {
        if let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(&fixed) {
            return Ok(Read { obj, prefix: None, non_finite: n });
        }
    }
    let hint = if text.starts_with("{'") || text.starts_with("{ '") {
        " (keys in single quotes: a Python dict printed with str() or repr(), not json.dumps)"
    } else {
        ""
    };
    Err(LineError::line(format!("invalid JSON: {err}{hint}")))
}

/// Keys that date a record in one of the formats: a record with none of them and a log
/// prefix is dated by the prefix ([`prefix_time`]).
pub const TIME_KEYS: &[&str] = &["timestamp", "time", "asctime", "start_time", "created_at", "created"];

/// The time a log prefix starts with: `2025-01-06 10:03:22,123 - …`, `[2025-01-06T10:03:22Z] …`
/// (naive times in `naive_tz`).
pub fn prefix_time(prefix: &str, naive_tz: chrono_tz::Tz) -> Option<chrono::DateTime<chrono::Utc>> {
    let p = prefix.trim_start_matches(['[', '(']);
    let mut words = p.split_whitespace().map(|w| w.trim_end_matches([']', ')', ',', '|', ';']));
    let first = words.next()?;
    let second = words.next().unwrap_or_default();
    let parse = |s: &str| llmscope_core::timeparse::parse_timestamp_str(s, naive_tz).ok();
    // (A date alone is no time of day: the first word alone must carry one.)
    // (A time of day is written with colons: a number alone is no epoch time here.)
    let both = format!("{first} {second}");
    (both.contains(':').then(|| parse(&both)).flatten()).or_else(|| first.contains(':').then(|| parse(first)).flatten())
}

/// `text` with Python's non-finite number tokens outside strings replaced by `null`, and
/// how many there were; `None` when there are none.
fn without_non_finite(text: &str) -> Option<(String, usize)> {
    if !text.contains("NaN") && !text.contains("Infinity") {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped, mut n) = (false, false, 0);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if let Some(token) = ["NaN", "Infinity", "-Infinity"].into_iter().find(|t| rest.starts_with(t)) {
            out.push_str("null");
            rest = &rest[token.len()..];
            n += 1;
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    (n > 0).then_some((out, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        object(text).err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn plain_objects_and_what_is_no_object() -> Result<(), LineError> {
        let r = object(r#"{"a": 1}"#)?;
        assert_eq!((r.obj.get("a"), r.prefix, r.non_finite), (Some(&Value::from(1)), None, 0));
        assert_eq!(err("[1]"), "expected a JSON object, found an array");
        assert_eq!(err("12"), "expected a JSON object, found the number 12");
        assert!(err(r#"{"a": "#).starts_with("invalid JSON: EOF while parsing"), "{}", err(r#"{"a": "#));
        Ok(())
    }

    #[test]
    fn a_log_prefix_is_kept_apart() -> Result<(), LineError> {
        let r = object(r#"2025-01-06 10:03:22,123 - qwen_inference - INFO - {"timestamp": 1, "note": "{x}"}"#)?;
        assert_eq!(r.prefix.as_deref(), Some("2025-01-06 10:03:22,123 - qwen_inference - INFO -"));
        assert_eq!(r.obj.get("note"), Some(&Value::from("{x}")));
        assert_eq!(
            err(r#"INFO:root:{"timestamp": 1,"#),
            "after the prefix \"INFO:root:\": invalid JSON: EOF while parsing a value at line 1 column 16"
        );
        assert!(err("plain text, no braces").starts_with("invalid JSON: expected value"));
        assert!(err(r#"["a", {"b": 1}"#).starts_with("invalid JSON"), "a broken array is no prefixed line");
        Ok(())
    }

    #[test]
    fn python_non_finite_numbers_read_as_null_outside_strings() -> Result<(), LineError> {
        let r = object(r#"{"a": NaN, "b": [Infinity, -Infinity], "c": "NaN and Infinity", "d": "\"NaN"}"#)?;
        assert_eq!(r.non_finite, 3);
        assert_eq!(r.obj.get("a"), Some(&Value::Null));
        assert_eq!(r.obj.get("b"), Some(&serde_json::json!([null, null])));
        assert_eq!(r.obj.get("c"), Some(&Value::from("NaN and Infinity")));
        assert_eq!(r.obj.get("d"), Some(&Value::from("\"NaN")));
        let r = object(r#"ts=1 {"a": NaN}"#)?;
        assert_eq!((r.prefix.as_deref(), r.non_finite), (Some("ts=1"), 1));
        assert!(err(r#"{"a": NaNa}"#).starts_with("invalid JSON"), "no other word is read as null");
        Ok(())
    }

    #[test]
    fn a_prefix_dates_a_record() {
        let at = |p: &str| prefix_time(p, chrono_tz::Tz::UTC).map(|t| t.to_rfc3339());
        let want = Some("2025-01-06T10:03:22.123+00:00".to_string());
        assert_eq!(at("2025-01-06 10:03:22,123 - app - INFO -"), want);
        assert_eq!(at("[2025-01-06T10:03:22.123Z] INFO"), want);
        assert_eq!(at("2025-01-06T10:03:22.123 INFO:"), want);
        assert_eq!(at("(2025-01-06 10:03:22.123) |"), want);
        assert_eq!(at("INFO:root:"), None);
        assert_eq!(at("2025-01-06 app"), None);
        assert_eq!(at("3141592653 app"), None, "a number is no time here");
        assert_eq!(at(""), None);
        let shanghai = prefix_time("2025-01-06 10:03:22", chrono_tz::Asia::Shanghai).map(|t| t.to_rfc3339());
        assert_eq!(shanghai, Some("2025-01-06T02:03:22+00:00".to_string()), "naive times in the assumed zone");
    }

    #[test]
    fn a_python_dict_gets_a_hint() {
        assert_eq!(
            err("{'timestamp': 1}"),
            "invalid JSON: key must be a string at line 1 column 2 (keys in single quotes: a Python dict printed with str() or repr(), not json.dumps)"
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "[ -~\u{4e00}-\u{4e05}]{0,80}") {
            let _ = object(&text);
            let _ = object(&format!("x {{{text}"));
        }
    }
}
