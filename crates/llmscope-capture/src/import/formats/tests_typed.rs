//! The typed seed-001 reader ([`super::seed001_typed`]) against the general path: the same
//! call for every line it reads, and every other line left to the general path.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

/// A line through the general path only.
fn general(line: &str) -> Result<ParsedLine, LineError> {
    let text = line.trim();
    let call = Call { id: ids::content_id(text.as_bytes()), project: "p".into(), ..Default::default() };
    parse_general(text, call, "logs.jsonl", 3, &opts(), None)
}

/// A line as the importer reads it (the typed reader first).
fn either(line: &str) -> Result<ParsedLine, LineError> {
    parse_line(line.as_bytes(), "logs.jsonl", 3, &opts())
}

fn opts() -> ImportOptions {
    ImportOptions { project: "p".into(), ..ImportOptions::default() }
}

/// Whether the typed reader takes the line.
fn typed(line: &str) -> bool {
    let mut call = Call { id: "x".into(), project: "p".into(), ..Default::default() };
    let taken = seed001_typed::read(line.trim(), &opts(), &mut call).is_some();
    if !taken {
        assert_eq!(call, Call { id: "x".into(), project: "p".into(), ..Default::default() }, "left as it was");
    }
    taken
}

/// Generated seed-001 logs: the typed reader takes every line and maps it as the general
/// path does (errors, empty answers, JSON mode, users and sessions, escapes included).
#[test]
fn generated_seed001_lines_read_the_same_both_ways() {
    let cfg = llmscope_gen::GenConfig {
        seed: 11,
        calls: 3_000,
        format: llmscope_gen::Format::Seed001,
        ..llmscope_gen::GenConfig::default()
    };
    let mut out = Vec::new();
    let stats = llmscope_gen::generate(&cfg, &mut out).unwrap_or_default();
    let text = String::from_utf8(out).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3_000);
    let mut errors = 0;
    for line in &lines {
        assert!(typed(line), "not read by the typed reader: {line}");
        let (a, b) = (either(line), general(line));
        assert_eq!(a, b, "{line}");
        errors += u64::from(a.is_ok_and(|p| p.call.status == llmscope_core::CallStatus::Error));
    }
    assert_eq!(errors, stats.errors);
    assert!(stats.errors > 0 && lines.iter().any(|l| l.contains("\\n")), "the sample has failures and escapes");
}

/// Lines the typed reader leaves alone are read by the general path, errors worded by it.
#[test]
fn lines_that_are_not_plain_go_the_general_way() {
    let base = json!({"timestamp": 1736121605, "level": "INFO", "request_id": "r", "model": "m",
                      "input": "q", "output": "a", "metadata": {"prompt_tokens": 3, "device": "cuda:0"}});
    assert!(typed(&base.to_string()));
    let with = |path: &[&str], v: Value| {
        let mut l = base.clone();
        let mut at = &mut l;
        for k in &path[..path.len() - 1] {
            at = &mut at[*k];
        }
        at[path[path.len() - 1]] = v;
        l.to_string()
    };
    let not_plain = [
        with(&["metadata", "prompt_tokens"], json!("3")),
        with(&["metadata", "prompt_tokens"], json!(3.0)),
        with(&["metadata", "json_mode"], json!(1)),
        with(&["metadata", "model"], json!("other")),
        with(&["metadata", "user"], json!("alice")),
        with(&["metadata", "max_tokens"], json!(100)),
        with(&["metadata", "status_code"], json!(700)),
        with(&["metadata", "total_latency_ms"], json!(-1)),
        with(&["metadata", "error"], json!({"message": "boom"})),
        with(&["input"], json!([{"role": "user", "content": "q"}])),
        with(&["request_id"], json!(12)),
        with(&["timestamp"], json!(null)),
        with(&["timestamp"], json!("yesterday")),
        with(&["user_id"], json!("top-level")),
        with(&["metadata"], json!("not an object")),
        r#"{"timestamp": 1736121605, "input": "q", "input": "again", "output": "a"}"#.to_string(),
        r#"{"timestamp": 1736121605, "input": "q", "output": "a", "metadata": {"x": 1, "x": 2}}"#.to_string(),
        r#"{"timestamp": NaN, "input": "q", "output": "a"}"#.to_string(),
        r#"2025-01-06 10:00:00 - app - INFO - {"timestamp": 1736121605, "input": "q", "output": "a"}"#.to_string(),
        r#"{"timestamp": 1736121605, "level": "INFO"}"#.to_string(),
    ];
    for line in &not_plain {
        assert!(!typed(line), "{line}");
        assert_eq!(either(line), general(line), "{line}");
    }
    // Plain after all: other metadata kept as attributes, nulls skipped, empty ids dropped.
    let plain = [
        with(&["metadata", "gpu_temp"], json!({"c": 71})),
        with(&["metadata", "user_id"], json!(null)),
        with(&["metadata", "level"], json!("meta level")),
        with(&["request_id"], json!("")),
        with(&["output"], json!(null)),
        with(&["metadata", "error"], json!("  ")),
        with(&["metadata", "function_calling"], json!({"name": "f"})),
        with(&["timestamp"], json!("2025-01-06T10:00:00")),
        with(&["level"], json!(" error ")),
        with(&["input"], json!("tab\tand \"quotes\" and \u{1F600}")),
    ];
    for line in &plain {
        assert!(typed(line), "{line}");
        assert_eq!(either(line), general(line), "{line}");
    }
}

fn odd() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(null)),
        Just(json!("")),
        Just(json!(" x\n")),
        Just(json!(0)),
        Just(json!(1)),
        Just(json!(-1)),
        Just(json!(2.5)),
        Just(json!(404)),
        Just(json!(1e308)),
        Just(json!(u64::MAX)),
        Just(json!(true)),
        Just(json!([1, "a"])),
        Just(json!({"a": 1})),
        Just(json!("2023-12-12T14:13:43Z")),
        Just(json!(1736121605)),
        Just(json!("ERROR")),
    ]
}

fn key() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("prompt_tokens"),
        Just("completion_tokens"),
        Just("total_tokens"),
        Just("first_token_latency_ms"),
        Just("total_latency_ms"),
        Just("temperature"),
        Just("json_mode"),
        Just("function_calling"),
        Just("user_id"),
        Just("session_id"),
        Just("status_code"),
        Just("error"),
        Just("device"),
        Just("model"),
        Just("stream"),
        Just("level"),
        Just("gpu"),
        Just("tags"),
    ]
}

proptest! {
    /// Whatever a seed-001-shaped line holds, the importer's reading of it is the general
    /// path's: the same call, or the same error.
    #[test]
    fn the_typed_reader_never_reads_a_line_differently(
        top in proptest::collection::vec((prop_oneof![Just("timestamp"), Just("level"), Just("request_id"),
            Just("model"), Just("input"), Just("output"), Just("user_id")], odd()), 0..8),
        meta in proptest::collection::vec((key(), odd()), 0..8),
        with_meta: bool,
        time: bool,
    ) {
        let mut line = String::from("{");
        if time {
            line.push_str(r#""timestamp": 1736121605, "#);
        }
        for (k, v) in &top {
            line.push_str(&format!("{}: {v}, ", json!(k)));
        }
        if with_meta {
            let fields: Vec<String> = meta.iter().map(|(k, v)| format!("{}: {v}", json!(k))).collect();
            line.push_str(&format!(r#""metadata": {{{}}}, "#, fields.join(", ")));
        }
        line.push_str(r#""input": "q"}"#);
        prop_assert_eq!(either(&line), general(&line), "{}", line);
    }
}
