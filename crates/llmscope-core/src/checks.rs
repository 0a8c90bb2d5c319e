//! Cheap compliance checks run on every call before it is stored.
//!
//! These are the checks that need nothing but the call itself and cost microseconds; their
//! results are stored as `flags` on the call row so that every view can filter by them. The
//! full audit (PII, jailbreaks, quality, judges) writes assessments instead.

use crate::call::{Call, CallStatus};

/// The output is empty after trimming (seed 001's `empty_response`).
pub const EMPTY_RESPONSE: &str = "empty_response";
/// JSON output was requested and the output does not parse as JSON.
pub const MALFORMED_JSON: &str = "malformed_json";
/// A tool call's `arguments` do not parse as a JSON object.
pub const INVALID_TOOL_ARGS: &str = "invalid_tool_args";
/// Generation stopped at the token limit (`finish_reason = length`).
pub const TRUNCATED: &str = "truncated";
/// The call failed (status `error`).
pub const ERROR: &str = "error";

/// Every flag this module can set, in report order.
pub const ALL_FLAGS: &[&str] = &[EMPTY_RESPONSE, MALFORMED_JSON, INVALID_TOOL_ARGS, TRUNCATED, ERROR];

/// Computes the flags of a call (sorted, without duplicates).
pub fn flags_for(call: &Call) -> Vec<String> {
    let mut flags = Vec::new();
    let empty = call.output_is_empty();
    if empty {
        flags.push(EMPTY_RESPONSE);
    }
    if let (true, Some(out)) = (call.json_mode, call.output.as_deref()) {
        if !empty && call.tool_calls.is_none() && serde_json::from_str::<serde::de::IgnoredAny>(out.trim()).is_err() {
            flags.push(MALFORMED_JSON);
        }
    }
    if let Some(serde_json::Value::Array(calls)) = &call.tool_calls {
        let bad = calls.iter().any(|tc| {
            let args = tc.pointer("/function/arguments");
            match args {
                Some(serde_json::Value::String(s)) => {
                    !matches!(serde_json::from_str::<serde_json::Value>(s), Ok(serde_json::Value::Object(_)))
                }
                Some(serde_json::Value::Object(_)) | None => false,
                Some(_) => true,
            }
        });
        if bad {
            flags.push(INVALID_TOOL_ARGS);
        }
    }
    if call.finish_reason.as_deref() == Some("length") {
        flags.push(TRUNCATED);
    }
    if call.status == CallStatus::Error {
        flags.push(ERROR);
    }
    let mut flags: Vec<String> = flags.into_iter().map(str::to_string).collect();
    flags.sort();
    flags
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(output: &str, json_mode: bool) -> Call {
        Call { output: Some(output.into()), json_mode, ..Default::default() }
    }

    #[test]
    fn empty_and_malformed() {
        assert_eq!(flags_for(&call("  \n", true)), vec![EMPTY_RESPONSE]);
        assert_eq!(flags_for(&call("{\"a\":1}", true)), Vec::<String>::new());
        assert_eq!(flags_for(&call("{\"a\":1", true)), vec![MALFORMED_JSON]);
        assert_eq!(flags_for(&call("not json", false)), Vec::<String>::new());
        let unrecorded = Call { output: None, json_mode: true, ..Default::default() };
        assert_eq!(flags_for(&unrecorded), Vec::<String>::new());
    }

    #[test]
    fn tool_args_truncation_and_errors() {
        let mut c = call("", false);
        c.tool_calls = Some(json!([{"function": {"name": "f", "arguments": "{\"x\": "}}]));
        c.finish_reason = Some("length".into());
        c.status = CallStatus::Error;
        assert_eq!(flags_for(&c), vec![ERROR, INVALID_TOOL_ARGS, TRUNCATED]);
        c.tool_calls = Some(json!([{"function": {"name": "f", "arguments": "{\"x\": 1}"}}]));
        assert_eq!(flags_for(&c), vec![ERROR, TRUNCATED]);
    }
}
