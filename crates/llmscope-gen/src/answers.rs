//! OpenAI answers written without their request: the chat-completion body (shared with the
//! request/response pair), a Batch API output line, and a response on its own as the
//! Python SDK's `model_dump_json()` writes it (a chat completion, or a Responses API
//! response).
//!
//! What the real files hold decides what a failed call looks like:
//!
//! - **Batch output**: a request that failed comes back with its HTTP status and an error
//!   body (`response.body.error`), or — when the batch expired before it ran — with no
//!   response at all and a top-level `error`. Neither carries a time, so the importer
//!   rejects those lines, saying why; they are written all the same, because the real files
//!   have them.
//! - **A response on its own**: the chat API raises instead of returning a failed
//!   completion, so failures are Responses API responses with `status: "failed"` and their
//!   `error` (`rate_limit_exceeded`, `server_error`), which do carry `created_at`.

use rand::Rng;

use crate::call::{Failure, Finish};
use crate::formats::{Line, Scratch};
use crate::json::Obj;
use crate::stamp;

/// The Responses API's `tools` (flat function tools), the same tools as [`crate::corpus::TOOLS_JSON`].
pub(crate) const RESPONSES_TOOLS_JSON: &str = r#"[{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]},"strict":false,"type":"function","description":"Get the current weather for a city"},{"name":"search_web","parameters":{"type":"object","properties":{"query":{"type":"string"}},"required":["query"]},"strict":false,"type":"function","description":"Search the web"},{"name":"get_stock_price","parameters":{"type":"object","properties":{"symbol":{"type":"string"}},"required":["symbol"]},"strict":false,"type":"function","description":"Latest price of a stock"},{"name":"calculator","parameters":{"type":"object","properties":{"expression":{"type":"string"}},"required":["expression"]},"strict":false,"type":"function","description":"Evaluate an arithmetic expression"},{"name":"lookup_order","parameters":{"type":"object","properties":{"order_id":{"type":"string"}},"required":["order_id"]},"strict":false,"type":"function","description":"Find an order by id"}]"#;

/// How a chat completion is written: as the pair's compact body, as a Batch output body
/// (OpenAI's documented example: `logprobs` and `system_fingerprint` too), or as
/// `model_dump_json()` writes it (every field of the SDK's model, in its order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Pair,
    Batch,
    Dump,
}

/// The fields of a successful chat completion, into the open object `resp`.
pub(crate) fn chat_completion(l: &Line<'_>, rng: &mut impl Rng, sc: &mut Scratch, resp: &mut Obj<'_>, shape: Shape) {
    let c = l.call;
    let model = l.model();
    stamp::completion_id(rng, &mut sc.id, model.name == "gpt-4o-mini");
    if shape == Shape::Dump {
        resp.str("id", &sc.id);
        write_choices(l, rng, sc, resp, shape);
        resp.i64("created", c.ts_us.div_euclid(1_000_000))
            .str("model", model.api_model)
            .str("object", "chat.completion");
        stamp::hex_id(rng, &mut sc.ts, "fp_", 10);
        resp.str("service_tier", "default").str("system_fingerprint", &sc.ts);
        write_usage(c, resp, shape);
        return;
    }
    resp.str("id", &sc.id)
        .str("object", "chat.completion")
        .i64("created", c.ts_us.div_euclid(1_000_000))
        .str("model", model.api_model);
    write_choices(l, rng, sc, resp, shape);
    write_usage(c, resp, shape);
    if shape == Shape::Batch {
        stamp::hex_id(rng, &mut sc.ts, "fp_", 10);
        resp.str("system_fingerprint", &sc.ts);
    }
}

fn write_choices(l: &Line<'_>, rng: &mut impl Rng, sc: &mut Scratch, resp: &mut Obj<'_>, shape: Shape) {
    let c = l.call;
    let mut choices = resp.arr("choices");
    let mut ch = choices.obj();
    if shape == Shape::Dump {
        ch.str("finish_reason", c.finish.as_str()).u64("index", 0).raw("logprobs", "null");
    } else {
        ch.u64("index", 0);
    }
    let mut msg = ch.obj("message");
    if shape == Shape::Dump {
        match &c.tool {
            Some(_) => msg.raw("content", "null"),
            None => msg.str("content", &c.output),
        };
        msg.raw("refusal", "null").str("role", "assistant").raw("annotations", "[]").raw("audio", "null");
        msg.raw("function_call", "null");
    } else {
        msg.str("role", "assistant");
    }
    match &c.tool {
        Some((name, args)) => {
            stamp::tool_call_id(rng, &mut sc.id2);
            if shape != Shape::Dump {
                msg.raw("content", "null");
            }
            let mut calls = msg.arr("tool_calls");
            let mut call = calls.obj();
            if shape == Shape::Dump {
                call.str("id", &sc.id2);
                call.obj("function").str("arguments", args).str("name", name).end();
                call.str("type", "function");
            } else {
                call.str("id", &sc.id2).str("type", "function");
                call.obj("function").str("name", name).str("arguments", args).end();
            }
            call.end();
            calls.end();
        }
        None if shape == Shape::Dump => {
            msg.raw("tool_calls", "null");
        }
        None => {
            msg.str("content", &c.output);
        }
    }
    msg.end();
    match shape {
        Shape::Pair => {
            ch.str("finish_reason", c.finish.as_str());
        }
        Shape::Batch => {
            ch.raw("logprobs", "null").str("finish_reason", c.finish.as_str());
        }
        Shape::Dump => {}
    }
    ch.end();
    choices.end();
}

fn write_usage(c: &crate::call::Call, resp: &mut Obj<'_>, shape: Shape) {
    let mut u = resp.obj("usage");
    let total = u64::from(c.prompt_tokens + c.completion_tokens);
    if shape == Shape::Dump {
        u.u64("completion_tokens", u64::from(c.completion_tokens))
            .u64("prompt_tokens", u64::from(c.prompt_tokens))
            .u64("total_tokens", total)
            .raw(
                "completion_tokens_details",
                r#"{"accepted_prediction_tokens":0,"audio_tokens":0,"reasoning_tokens":0,"rejected_prediction_tokens":0}"#,
            );
        u.obj("prompt_tokens_details").u64("audio_tokens", 0).u64("cached_tokens", u64::from(c.cached_tokens)).end();
    } else {
        u.u64("prompt_tokens", u64::from(c.prompt_tokens))
            .u64("completion_tokens", u64::from(c.completion_tokens))
            .u64("total_tokens", total);
        u.obj("prompt_tokens_details").u64("cached_tokens", u64::from(c.cached_tokens)).end();
    }
    u.end();
}

/// A Batch API output line (`/v1/chat/completions` requests): `id`, `custom_id`, `response
/// {status_code, request_id, body}`, `error`, with Python's separators as in OpenAI's files.
pub(crate) fn batch(l: &Line<'_>, rng: &mut impl Rng, sc: &mut Scratch, out: &mut Vec<u8>) {
    let c = l.call;
    let mut o = Obj::new(out, true);
    stamp::hex_id(rng, &mut sc.id, "batch_req_", 32);
    o.str("id", &sc.id);
    // The caller's own id for the request, as OpenAI's examples name them: the input
    // file's line (`openai-batch-input` writes that file).
    o.str("custom_id", &format!("request-{}", l.index));
    match c.failure {
        Some(Failure::Timeout) => {
            o.raw("response", "null");
            o.obj("error")
                .str("code", "batch_expired")
                .str("message", "This request could not be executed before the completion window expired.")
                .end();
        }
        failure => {
            let mut r = o.obj("response");
            r.u64("status_code", failure.map_or(200, |f| u64::from(f.status())));
            stamp::hex_id(rng, &mut sc.text, "req_", 32);
            r.str("request_id", &sc.text);
            let mut body = r.obj("body");
            match failure {
                Some(f) => {
                    let (message, kind, code) = f.error();
                    body.obj("error")
                        .str("message", message)
                        .str("type", kind)
                        .raw("param", "null")
                        .opt_str("code", code)
                        .end();
                }
                None => chat_completion(l, rng, sc, &mut body, Shape::Batch),
            }
            body.end();
            r.end();
            o.raw("error", "null");
        }
    }
    o.end();
}

/// A Batch API input line: the request of the output line of the same number (same
/// configuration), `custom_id`, `method`, `url`, `body`, with Python's separators.
pub(crate) fn batch_input(l: &Line<'_>, out: &mut Vec<u8>) {
    let mut o = Obj::new(out, true);
    o.str("custom_id", &format!("request-{}", l.index)).str("method", "POST").str("url", "/v1/chat/completions");
    let mut body = o.obj("body");
    crate::formats::request_body(l, &mut body, false);
    body.end();
    o.end();
}

/// A response on its own, as `model_dump_json()` writes it: a chat completion or a
/// Responses API response (chosen per line), or a failed Responses API response.
pub(crate) fn bare(l: &Line<'_>, rng: &mut impl Rng, sc: &mut Scratch, out: &mut Vec<u8>) {
    let responses_api = rng.gen_bool(0.5);
    let mut o = Obj::new(out, false);
    if l.call.failure.is_none() && !responses_api {
        chat_completion(l, rng, sc, &mut o, Shape::Dump);
    } else {
        response(l, rng, sc, &mut o);
    }
    o.end();
}

/// A Responses API response (`"object": "response"`), fields in the SDK model's order.
fn response(l: &Line<'_>, rng: &mut impl Rng, sc: &mut Scratch, o: &mut Obj<'_>) {
    let c = l.call;
    stamp::hex_id(rng, &mut sc.id, "resp_", 32);
    o.str("id", &sc.id);
    // The SDK types `created_at` as a float.
    sc.ts.clear();
    sc.ts.push_str(&format!("{}.0", c.ts_us.div_euclid(1_000_000)));
    o.raw("created_at", &sc.ts);
    match c.failure {
        Some(f) => {
            let (code, message) = match f {
                Failure::Status(429) => ("rate_limit_exceeded", f.error().0),
                Failure::Timeout => ("server_error", "Request timed out."),
                _ => ("server_error", f.error().0),
            };
            o.obj("error").str("code", code).str("message", message).end();
        }
        None => {
            o.raw("error", "null");
        }
    }
    if c.finish == Finish::Length && c.failure.is_none() {
        o.raw("incomplete_details", r#"{"reason":"max_output_tokens"}"#);
    } else {
        o.raw("incomplete_details", "null");
    }
    o.opt_str("instructions", l.session.system).raw("metadata", "{}").str("model", l.model().api_model);
    o.str("object", "response");
    let mut output = o.arr("output");
    if c.failure.is_none() {
        match &c.tool {
            Some((name, args)) => {
                stamp::tool_call_id(rng, &mut sc.id2);
                stamp::hex_id(rng, &mut sc.text, "fc_", 32);
                output
                    .obj()
                    .str("arguments", args)
                    .str("call_id", &sc.id2)
                    .str("name", name)
                    .str("type", "function_call")
                    .str("id", &sc.text)
                    .str("status", "completed")
                    .end();
            }
            None => {
                stamp::hex_id(rng, &mut sc.text, "msg_", 32);
                let mut m = output.obj();
                m.str("id", &sc.text);
                let mut parts = m.arr("content");
                parts
                    .obj()
                    .raw("annotations", "[]")
                    .str("text", &c.output)
                    .str("type", "output_text")
                    .raw("logprobs", "[]")
                    .end();
                parts.end();
                let status = if c.finish == Finish::Length { "incomplete" } else { "completed" };
                m.str("role", "assistant").str("status", status).str("type", "message").end();
            }
        }
    }
    output.end();
    o.bool("parallel_tool_calls", true).f64("temperature", l.session.temperature).str("tool_choice", "auto");
    o.raw("tools", if c.function_calling { RESPONSES_TOOLS_JSON } else { "[]" });
    o.f64("top_p", 1.0).bool("background", false).raw("max_output_tokens", "null").raw("previous_response_id", "null");
    let status = match (c.failure, c.finish) {
        (Some(_), _) => "failed",
        (None, Finish::Length) => "incomplete",
        (None, _) => "completed",
    };
    o.str("status", status);
    o.raw("text", if c.json_mode { r#"{"format":{"type":"json_object"}}"# } else { r#"{"format":{"type":"text"}}"# });
    o.str("truncation", "disabled");
    if c.failure.is_some() {
        o.raw("usage", "null");
    } else {
        let mut u = o.obj("usage");
        u.u64("input_tokens", u64::from(c.prompt_tokens));
        u.obj("input_tokens_details").u64("cached_tokens", u64::from(c.cached_tokens)).end();
        u.u64("output_tokens", u64::from(c.completion_tokens));
        u.raw("output_tokens_details", r#"{"reasoning_tokens":0}"#);
        u.u64("total_tokens", u64::from(c.prompt_tokens + c.completion_tokens));
        u.end();
    }
    o.str("user", l.user_id);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::TOOLS_JSON;

    #[test]
    fn the_responses_tools_are_the_chat_tools_flattened() {
        let chat: serde_json::Value = serde_json::from_str(TOOLS_JSON).unwrap_or_default();
        let flat: serde_json::Value = serde_json::from_str(RESPONSES_TOOLS_JSON).unwrap_or_default();
        let chat = chat.as_array().cloned().unwrap_or_default();
        let flat = flat.as_array().cloned().unwrap_or_default();
        assert_eq!(chat.len(), 5);
        assert_eq!(chat.len(), flat.len());
        for (c, f) in chat.iter().zip(&flat) {
            let func = &c["function"];
            for k in ["name", "description", "parameters"] {
                assert_eq!(func[k], f[k], "{k}");
            }
            assert_eq!(f["type"], "function");
        }
    }
}
