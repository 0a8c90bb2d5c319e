//! Langfuse generations, as Langfuse's public API (`GET /api/public/observations`) and its
//! exports give them: the `ObservationsView` of Langfuse's OpenAPI specification, written from
//! that specification, not from llmscope's importer. The ids are OpenTelemetry's (16 and
//! 32 hex digits), as Langfuse's v3 SDKs make them; the app set the trace's user and session
//! through the metadata keys Langfuse's integrations read (`langfuse_user_id`,
//! `langfuse_session_id`, `langfuse_tags`), which stay in the observation's metadata. Times
//! are ISO with milliseconds, `latency` and `timeToFirstToken` in seconds. A failed call has
//! `level: "ERROR"`, the provider's message as `statusMessage`, and no output.

use rand::Rng;

use crate::formats::{Line, Scratch};
use crate::json::Obj;
use crate::stamp;

use crate::traffic::GPT_4O_MINI_USD as GPT_4O_MINI;

pub(crate) fn langfuse(l: &Line<'_>, rng: &mut impl Rng, sc: &mut Scratch, out: &mut Vec<u8>) {
    let c = l.call;
    let model = l.model();
    let streamed = l.session.stream && c.failure.is_none();
    let ms_us = |ms: f64| (ms * 1000.0).round() as i64;
    let mut o = Obj::new(out, false);
    stamp::hex_id(rng, &mut sc.id, "", 16);
    stamp::hex_id(rng, &mut sc.id2, "", 32);
    o.str("id", &sc.id).str("traceId", &sc.id2).str("type", "GENERATION").str("name", "OpenAI-generation");
    stamp::rfc3339_ms(&mut sc.ts, c.ts_us);
    o.str("startTime", &sc.ts);
    stamp::rfc3339_ms(&mut sc.ts, c.ts_us + ms_us(c.latency_ms));
    o.str("endTime", &sc.ts);
    if streamed {
        stamp::rfc3339_ms(&mut sc.ts, c.ts_us + ms_us(c.ttft_ms));
        o.str("completionStartTime", &sc.ts);
    } else {
        o.raw("completionStartTime", "null");
    }
    o.str("model", model.api_model);
    let mut p = o.obj("modelParameters");
    p.f64("temperature", l.session.temperature);
    if c.json_mode {
        p.raw("response_format", r#"{"type":"json_object"}"#);
    }
    p.end();
    crate::formats::messages(l, &mut o, "input");
    o.raw("version", "null");
    {
        let mut m = o.obj("metadata");
        m.str("langfuse_user_id", l.user_id).str("langfuse_session_id", &l.session.id);
        m.raw("langfuse_tags", r#"["chat"]"#);
        m.end();
    }
    match (&c.failure, &c.tool) {
        (Some(_), _) => {
            o.raw("output", "null");
        }
        (None, Some((name, args))) => {
            let mut msg = o.obj("output");
            msg.str("role", "assistant").raw("content", "null");
            let mut calls = msg.arr("tool_calls");
            stamp::tool_call_id(rng, &mut sc.text);
            let mut call = calls.obj();
            call.str("id", &sc.text).str("type", "function");
            call.obj("function").str("name", name).str("arguments", args).end();
            call.end();
            calls.end();
            msg.end();
        }
        (None, None) => {
            o.obj("output").str("role", "assistant").str("content", &c.output).end();
        }
    }
    let (input, output) = if c.failure.is_some() { (0, 0) } else { (c.prompt_tokens, c.completion_tokens) };
    let priced = model.name == "gpt-4o-mini";
    let (in_cost, out_cost) = (f64::from(input) * GPT_4O_MINI.0, f64::from(output) * GPT_4O_MINI.1);
    {
        let mut u = o.obj("usage");
        u.u64("input", u64::from(input)).u64("output", u64::from(output)).u64("total", u64::from(input + output));
        u.str("unit", "TOKENS");
        if priced {
            u.f64("inputCost", in_cost).f64("outputCost", out_cost).f64("totalCost", in_cost + out_cost);
        }
        u.end();
    }
    o.str("level", if c.failure.is_some() { "ERROR" } else { "DEFAULT" });
    match c.failure {
        Some(f) => o.str("statusMessage", f.error().0),
        None => o.raw("statusMessage", "null"),
    };
    o.raw("parentObservationId", "null").raw("promptId", "null");
    {
        let mut u = o.obj("usageDetails");
        if c.failure.is_none() {
            u.u64("input", u64::from(input)).u64("output", u64::from(output)).u64("total", u64::from(input + output));
        }
        u.end();
    }
    {
        let mut d = o.obj("costDetails");
        if priced && c.failure.is_none() {
            d.f64("input", in_cost).f64("output", out_cost).f64("total", in_cost + out_cost);
        }
        d.end();
    }
    o.str("environment", "default").raw("promptName", "null").raw("promptVersion", "null");
    if priced {
        o.str("modelId", "clrkwk4cb000408l576jl7koo");
        o.f64("inputPrice", GPT_4O_MINI.0).f64("outputPrice", GPT_4O_MINI.1).raw("totalPrice", "null");
        o.f64("calculatedInputCost", in_cost)
            .f64("calculatedOutputCost", out_cost)
            .f64("calculatedTotalCost", in_cost + out_cost);
    } else {
        o.raw("modelId", "null").raw("inputPrice", "null").raw("outputPrice", "null").raw("totalPrice", "null");
        o.raw("calculatedInputCost", "null").raw("calculatedOutputCost", "null").raw("calculatedTotalCost", "null");
    }
    // (Seconds between the times as written, to the millisecond, as Langfuse derives them.)
    let seconds = |ms: f64| ((c.ts_us + ms_us(ms)).div_euclid(1000) - c.ts_us.div_euclid(1000)) as f64 / 1000.0;
    o.f64("latency", seconds(c.latency_ms));
    if streamed {
        o.f64("timeToFirstToken", seconds(c.ttft_ms));
    } else {
        o.raw("timeToFirstToken", "null");
    }
    o.end();
}
