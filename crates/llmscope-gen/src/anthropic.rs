//! Anthropic Messages API calls (`POST /v1/messages`), as a logging proxy in front of the API
//! writes each one: a `request` / `response` pair with the call's time, status, latency, user
//! and session around the bodies, as the `openai` pair has them. Written from Anthropic's API
//! reference (the Messages request, the `Message` object, the errors page), not from
//! llmscope's importer.
//!
//! The system prompt is the request's top-level `system`; the tools are offered in Anthropic's
//! shape (`name`, `description`, `input_schema`) and called through a `tool_use` content
//! block, whose `input` the API hands over parsed (`{}` when the model's arguments are no JSON
//! object). The app names its user in `metadata.user_id`, and turns on automatic prompt caching
//! (top-level `cache_control`) for the models whose cache reads the provider reports: those are
//! counted apart from the fresh input, as Anthropic counts them. A streamed answer is logged as
//! the message its events build. The Messages API has no schemaless JSON mode, so the JSON
//! tasks ask for JSON in the prompt alone. A failed call has Anthropic's error body and
//! Anthropic's status: an overload is its 529 `overloaded_error`, a timeout its 504
//! `timeout_error`, any other server error its 500 `api_error`.

use rand::Rng;

use crate::call::{Failure, Finish};
use crate::formats::{args_object, pair_head, turns, Line, Scratch};
use crate::json::Obj;
use crate::stamp;

/// The Claude model each of the generator's models stands for, in [`crate::traffic::MODELS`]'s order.
pub(crate) const MODELS: [&str; 5] = [
    "claude-3-haiku-20240307",
    "claude-sonnet-4-20250514",
    "claude-3-5-haiku-20241022",
    "claude-3-7-sonnet-20250219",
    "claude-3-5-sonnet-20241022",
];

/// The request's `max_tokens`, the app's setting on every call.
const MAX_TOKENS: u64 = 2048;

/// The chat tools (`corpus::TOOLS_JSON`) in the Messages API's shape.
pub(crate) const TOOLS_JSON: &str = r#"[{"name":"get_weather","description":"Get the current weather for a city","input_schema":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}},{"name":"search_web","description":"Search the web","input_schema":{"type":"object","properties":{"query":{"type":"string"}},"required":["query"]}},{"name":"get_stock_price","description":"Latest price of a stock","input_schema":{"type":"object","properties":{"symbol":{"type":"string"}},"required":["symbol"]}},{"name":"calculator","description":"Evaluate an arithmetic expression","input_schema":{"type":"object","properties":{"expression":{"type":"string"}},"required":["expression"]}},{"name":"lookup_order","description":"Find an order by id","input_schema":{"type":"object","properties":{"order_id":{"type":"string"}},"required":["order_id"]}}]"#;

/// Anthropic's HTTP status, error type and message for a failure.
fn error(f: Failure) -> (u16, &'static str, &'static str) {
    match f {
        Failure::Status(429) => (
            429,
            "rate_limit_error",
            "This request would exceed the rate limit for your organization of 50 requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later.",
        ),
        Failure::Status(503) => (529, "overloaded_error", "Overloaded"),
        Failure::Timeout => (504, "timeout_error", "Request timed out"),
        Failure::Status(_) => (500, "api_error", "Internal server error"),
    }
}

/// The Messages API's stop reason for the call's finish (Bedrock's Converse API uses the same
/// names for these three).
pub(crate) fn stop_reason(f: Finish) -> &'static str {
    match f {
        Finish::Stop => "end_turn",
        Finish::Length => "max_tokens",
        Finish::ToolCalls => "tool_use",
    }
}

pub(crate) fn anthropic(l: &Line<'_>, rng: &mut impl Rng, sc: &mut Scratch, out: &mut Vec<u8>) {
    let c = l.call;
    let caches = l.model().caches;
    let mut o = Obj::new(out, false);
    pair_head(l, c.failure.map(|f| error(f).0), sc, &mut o);
    {
        let mut r = o.obj("request");
        r.str("model", MODELS[l.session.model % MODELS.len()]).u64("max_tokens", MAX_TOKENS);
        if let Some(system) = l.session.system {
            r.str("system", system);
        }
        turns(l, &mut r, "messages");
        r.f64("temperature", l.session.temperature);
        if c.function_calling {
            r.raw("tools", TOOLS_JSON);
        }
        r.bool("stream", l.session.stream);
        r.obj("metadata").str("user_id", l.user_id).end();
        if caches {
            r.raw("cache_control", r#"{"type":"ephemeral"}"#);
        }
        r.end();
    }
    let mut resp = o.obj("response");
    match c.failure {
        Some(f) => {
            let (_, kind, message) = error(f);
            resp.str("type", "error");
            resp.obj("error").str("type", kind).str("message", message).end();
            stamp::alnum_id(rng, &mut sc.id, "req_011", 21);
            resp.str("request_id", &sc.id);
        }
        None => {
            stamp::alnum_id(rng, &mut sc.id, "msg_01", 22);
            resp.str("id", &sc.id).str("type", "message").str("role", "assistant");
            resp.str("model", MODELS[l.session.model % MODELS.len()]);
            match &c.tool {
                Some((name, args)) => {
                    stamp::alnum_id(rng, &mut sc.id2, "toolu_01", 22);
                    let mut content = resp.arr("content");
                    let mut block = content.obj();
                    block.str("type", "tool_use").str("id", &sc.id2).str("name", name);
                    block.raw("input", &args_object(args));
                    block.end();
                    content.end();
                }
                // (An empty answer is a message without content blocks.)
                None if c.output.is_empty() => {
                    resp.raw("content", "[]");
                }
                None => {
                    let mut content = resp.arr("content");
                    content.obj().str("type", "text").str("text", &c.output).end();
                    content.end();
                }
            }
            resp.str("stop_reason", stop_reason(c.finish)).raw("stop_sequence", "null");
            let cached = if caches { c.cached_tokens.min(c.prompt_tokens) } else { 0 };
            resp.obj("usage")
                .u64("input_tokens", u64::from(c.prompt_tokens - cached))
                .u64("cache_creation_input_tokens", 0)
                .u64("cache_read_input_tokens", u64::from(cached))
                .u64("output_tokens", u64::from(c.completion_tokens))
                .end();
        }
    }
    resp.end();
    o.end();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::TOOLS_JSON as CHAT_TOOLS_JSON;

    #[test]
    fn the_tools_are_the_chat_tools_in_anthropics_shape() {
        let chat: serde_json::Value = serde_json::from_str(CHAT_TOOLS_JSON).unwrap_or_default();
        let tools: serde_json::Value = serde_json::from_str(TOOLS_JSON).unwrap_or_default();
        let (chat, tools) =
            (chat.as_array().cloned().unwrap_or_default(), tools.as_array().cloned().unwrap_or_default());
        assert_eq!((chat.len(), tools.len()), (5, 5));
        for (c, t) in chat.iter().zip(&tools) {
            let func = &c["function"];
            assert_eq!(t.as_object().map(|o| o.len()), Some(3));
            assert_eq!(func["name"], t["name"]);
            assert_eq!(func["description"], t["description"]);
            assert_eq!(func["parameters"], t["input_schema"]);
        }
    }

    #[test]
    fn every_model_is_a_claude_model() {
        assert_eq!(MODELS.len(), crate::traffic::MODELS.len());
        assert!(MODELS.iter().all(|m| m.starts_with("claude-")));
    }
}
