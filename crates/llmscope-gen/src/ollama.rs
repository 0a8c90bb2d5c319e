//! Ollama's own chat API (`POST /api/chat`), as a logging proxy in front of Ollama writes each
//! call: a `request` / `response` pair with the call's time, status, latency, user and session
//! around the bodies, as the `openai` pair has them. Written from Ollama's API documentation
//! (`/api/chat`, the usage metrics of its final response, the errors page), not from llmscope's
//! importer.
//!
//! The models are Ollama `model:tag` names. The request always says whether it streams
//! (Ollama streams unless told not to); a streamed answer is logged as its final chunk
//! (`done: true`, with the metrics) carrying the message the stream built. JSON mode is
//! `format: "json"`, the temperature is under `options`, and the tools are OpenAI's function
//! tools; a tool call comes back under `message.tool_calls` with its `arguments` parsed (`{}`
//! when the model's arguments are no JSON object). The durations are in nanoseconds and add
//! up to the call's latency: loading and prompt evaluation take the time to the first token,
//! `eval_duration` the rest. `created_at` is when the answer ended. A failed call has Ollama's
//! `{"error": "…"}` body and status; a timeout is the proxy's own 504 (Ollama sent nothing).

use rand::Rng;

use crate::call::{Failure, Finish};
use crate::corpus::TOOLS_JSON;
use crate::formats::{args_object, messages, pair_head, Line, Scratch};
use crate::json::Obj;
use crate::stamp;

/// The Ollama model each of the generator's models stands for, in [`crate::traffic::MODELS`]'s order.
pub(crate) const MODELS: [&str; 5] =
    ["qwen2.5:7b-instruct", "deepseek-v3.1:671b-cloud", "gpt-oss:20b", "llama3.1:8b", "llama3.2:3b"];

/// The HTTP status and Ollama's error message for a failure.
fn error(f: Failure) -> (u16, &'static str) {
    match f {
        Failure::Status(429) => (429, "too many requests, please try again later"),
        Failure::Status(502) => (502, "could not reach the cloud model: bad gateway"),
        Failure::Status(503) => (503, "server busy, please try again.  maximum pending requests exceeded"),
        Failure::Timeout => (504, "timed out waiting for ollama to respond"),
        Failure::Status(s) => (s, "the model failed to generate a response"),
    }
}

pub(crate) fn ollama(l: &Line<'_>, rng: &mut impl Rng, sc: &mut Scratch, out: &mut Vec<u8>) {
    let c = l.call;
    let model = MODELS[l.session.model % MODELS.len()];
    let mut o = Obj::new(out, false);
    pair_head(l, c.failure.map(|f| error(f).0), sc, &mut o);
    {
        let mut r = o.obj("request");
        r.str("model", model);
        messages(l, &mut r, "messages");
        if c.function_calling {
            r.raw("tools", TOOLS_JSON);
        }
        if c.json_mode {
            r.str("format", "json");
        }
        r.obj("options").f64("temperature", l.session.temperature).end();
        r.bool("stream", l.session.stream);
        r.end();
    }
    let mut resp = o.obj("response");
    match c.failure {
        Some(f) => {
            resp.str("error", error(f).1);
        }
        None => {
            let ns = |ms: f64| (ms * 1e6).round() as u64;
            let total = ns(c.latency_ms);
            let first = ns(c.ttft_ms).min(total);
            let load = first * rng.gen_range(2..12) / 100;
            let prompt_eval = first - load - first / 100;
            stamp::rfc3339_go(&mut sc.ts, c.ts_us + (c.latency_ms * 1000.0).round() as i64);
            resp.str("model", model).str("created_at", &sc.ts);
            {
                let mut msg = resp.obj("message");
                msg.str("role", "assistant");
                match &c.tool {
                    Some((name, args)) => {
                        msg.str("content", "");
                        let mut calls = msg.arr("tool_calls");
                        let mut call = calls.obj();
                        call.obj("function").str("name", name).raw("arguments", &args_object(args)).end();
                        call.end();
                        calls.end();
                    }
                    None => {
                        msg.str("content", &c.output);
                    }
                }
                msg.end();
            }
            resp.str("done_reason", if c.finish == Finish::Length { "length" } else { "stop" }).bool("done", true);
            resp.u64("total_duration", total)
                .u64("load_duration", load)
                .u64("prompt_eval_count", u64::from(c.prompt_tokens))
                .u64("prompt_eval_duration", prompt_eval)
                .u64("eval_count", u64::from(c.completion_tokens))
                .u64("eval_duration", total - first);
        }
    }
    resp.end();
    o.end();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_has_an_ollama_tag() {
        assert_eq!(MODELS.len(), crate::traffic::MODELS.len());
        assert!(MODELS.iter().all(|m| m.contains(':')));
    }
}
