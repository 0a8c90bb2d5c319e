//! llmscope's own call record (docs/api.md, "The call schema"), as an app instrumented with
//! llmscope's ingest API posts it and `llmscope calls --format jsonl` writes it: trace
//! context, times, the chat messages and the answer, status and error, token usage, request
//! settings. Written here from the schema's documentation, not from llmscope's types, so the
//! generator cannot share a bug with the importer it tests.

use rand::Rng;

use crate::call::Failure;
use crate::corpus::TOOLS_JSON;
use crate::formats::{Line, Scratch};
use crate::json::Obj;
use crate::stamp;

/// Who serves each model, by its name.
fn provider(model: &str) -> &'static str {
    match model {
        "gpt-4o-mini" => "openai",
        "deepseek-chat" => "deepseek",
        m if m.starts_with("llama") => "ollama",
        _ => "vllm",
    }
}

/// The error kind llmscope gives a failure (README, "Log formats the importer understands").
fn error_kind(f: Failure) -> &'static str {
    match f {
        Failure::Timeout => "timeout",
        Failure::Status(429) => "rate_limited",
        Failure::Status(s) if s >= 500 => "upstream_5xx",
        Failure::Status(_) => "upstream_4xx",
    }
}

pub(crate) fn native(l: &Line<'_>, rng: &mut impl Rng, sc: &mut Scratch, out: &mut Vec<u8>) {
    let c = l.call;
    let model = l.model();
    let mut o = Obj::new(out, false);
    stamp::hex_id(rng, &mut sc.id, "", 32);
    o.str("trace_id", &sc.id);
    stamp::hex_id(rng, &mut sc.id2, "", 16);
    o.str("span_id", &sc.id2).str("span_kind", "llm").str("name", "chat");
    stamp::rfc3339_ms(&mut sc.ts, c.ts_us);
    o.str("start_time", &sc.ts);
    let ms = |x: f64| (x * 1000.0).round() as i64;
    if l.session.stream && c.failure.is_none() {
        stamp::rfc3339_ms(&mut sc.ts, c.ts_us + ms(c.ttft_ms));
        o.str("first_token_time", &sc.ts);
    }
    stamp::rfc3339_ms(&mut sc.ts, c.ts_us + ms(c.latency_ms));
    o.str("end_time", &sc.ts).f64("latency_ms", round3(c.latency_ms));
    if l.session.stream && c.failure.is_none() {
        o.f64("ttft_ms", round3(c.ttft_ms));
    }
    o.str("model", model.name).str("provider", provider(model.name)).str("operation", "chat");
    o.str("user_id", l.user_id).str("session_id", &l.session.id);
    stamp::request_id(rng, &mut sc.text);
    o.str("request_id", &sc.text);
    crate::formats::messages(l, &mut o, "input");
    o.str("input_text", &c.input);
    match (c.failure, &c.tool) {
        // As llmscope records a failed call: no answer, an empty output.
        (Some(_), _) => {
            o.str("output", "");
        }
        (None, Some((name, args))) => {
            o.str("output", "");
            stamp::tool_call_id(rng, &mut sc.id2);
            let mut calls = o.arr("tool_calls");
            let mut call = calls.obj();
            call.str("id", &sc.id2).str("type", "function");
            call.obj("function").str("name", name).str("arguments", args).end();
            call.end();
            calls.end();
        }
        (None, None) => {
            o.str("output", &c.output);
        }
    }
    match c.failure {
        Some(f) => {
            let (message, _, _) = f.error();
            o.str("status", "error").u64("status_code", u64::from(f.status()));
            o.str("error_kind", error_kind(f)).str("error_message", message);
        }
        None => {
            o.str("status", "ok").u64("status_code", 200).str("finish_reason", c.finish.as_str());
        }
    }
    if c.failure.is_none() {
        let mut u = o.obj("usage");
        u.u64("input", u64::from(c.prompt_tokens))
            .u64("output", u64::from(c.completion_tokens))
            .u64("cached", u64::from(c.cached_tokens))
            .u64("total", u64::from(c.prompt_tokens + c.completion_tokens))
            .bool("counted", false);
        u.end();
    }
    o.f64("temperature", l.session.temperature).bool("json_mode", c.json_mode);
    if c.json_mode {
        o.raw("response_format", r#"{"type":"json_object"}"#);
    }
    if c.function_calling {
        o.raw("tools", TOOLS_JSON);
    }
    o.obj("params").bool("stream", l.session.stream).end();
    o.raw("tags", if l.session.zh { r#"["zh"]"# } else { r#"["en"]"# });
    o.obj("attributes").str("app", "chainlit").u64("turn", u64::from(l.session.turn)).end();
    o.end();
}

/// Milliseconds to the microsecond.
fn round3(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}
