//! Google Gemini API calls (`models/{model}:generateContent`, or `:streamGenerateContent` when
//! the app streams), as a logging proxy in front of the API writes each one: a `request` /
//! `response` pair with the call's time, status, latency, user and session around the bodies,
//! as the `openai` pair has them. Written from Google's Gemini API reference (the
//! `generateContent` request and `GenerateContentResponse`, the troubleshooting page's error
//! codes), not from llmscope's importer.
//!
//! The model is named in the URL, not in the request body: the answer names it in
//! `modelVersion`, so a failed call's line names none. The turns are `contents` with roles
//! `user` and `model`, the system prompt is `systemInstruction`, JSON mode is
//! `generationConfig.responseMimeType: "application/json"`, and the tools are
//! `functionDeclarations`; a tool call comes back as a `functionCall` part with its `args`
//! parsed (`{}` when the model's arguments are no JSON object). An empty answer is a candidate
//! whose content has no parts. A streamed answer is logged as the response its chunks build.
//! The prompt's token count includes the implicitly cached tokens, which
//! `cachedContentTokenCount` counts again on their own. A failed call has Google's error body
//! (`{"error": {"code", "message", "status"}}`) and one of the codes Google documents (a bad
//! gateway is its 500 `INTERNAL`).

use rand::Rng;

use crate::call::{Failure, Finish};
use crate::formats::{args_object, pair_head, Line, Scratch};
use crate::json::Obj;
use crate::stamp;

/// The Gemini model each of the generator's models stands for, in [`crate::traffic::MODELS`]'s order.
pub(crate) const MODELS: [&str; 5] =
    ["gemini-2.0-flash-lite", "gemini-2.5-pro", "gemini-2.5-flash", "gemini-1.5-flash-8b", "gemini-2.5-flash-lite"];

/// Where the Gemini API's models are called (the model and the method follow).
pub(crate) const URL_BASE: &str = "https://generativelanguage.googleapis.com/v1beta/models/";

/// The request's `tools`: the chat tools (`corpus::TOOLS_JSON`) as function declarations.
pub(crate) const TOOLS_JSON: &str = r#"[{"functionDeclarations":[{"name":"get_weather","description":"Get the current weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}},{"name":"search_web","description":"Search the web","parameters":{"type":"object","properties":{"query":{"type":"string"}},"required":["query"]}},{"name":"get_stock_price","description":"Latest price of a stock","parameters":{"type":"object","properties":{"symbol":{"type":"string"}},"required":["symbol"]}},{"name":"calculator","description":"Evaluate an arithmetic expression","parameters":{"type":"object","properties":{"expression":{"type":"string"}},"required":["expression"]}},{"name":"lookup_order","description":"Find an order by id","parameters":{"type":"object","properties":{"order_id":{"type":"string"}},"required":["order_id"]}}]}]"#;

/// The request's `generationConfig.maxOutputTokens`, the app's setting on every call.
const MAX_OUTPUT_TOKENS: u64 = 2048;

/// Google's HTTP code, status and message for a failure.
fn error(f: Failure) -> (u16, &'static str, &'static str) {
    match f {
        Failure::Status(429) => (429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
        Failure::Status(503) => (503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
        Failure::Timeout => (504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
        Failure::Status(_) => (
            500,
            "INTERNAL",
            "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
        ),
    }
}

/// One `Content`: a role and its text as the one part.
fn content(arr: &mut crate::json::Arr<'_>, role: &str, text: &str) {
    let mut c = arr.obj();
    c.str("role", role);
    let mut parts = c.arr("parts");
    parts.obj().str("text", text).end();
    parts.end();
    c.end();
}

pub(crate) fn gemini(l: &Line<'_>, rng: &mut impl Rng, sc: &mut Scratch, out: &mut Vec<u8>) {
    let c = l.call;
    let mut o = Obj::new(out, false);
    pair_head(l, c.failure.map(|f| error(f).0), sc, &mut o);
    // The REST API names the model in the URL only (the request body has none), as a
    // logging proxy in front of it records.
    let method = if l.session.stream { "streamGenerateContent?alt=sse" } else { "generateContent" };
    o.str("url", &format!("{URL_BASE}{}:{method}", MODELS[l.session.model % MODELS.len()]));
    {
        let mut r = o.obj("request");
        let mut contents = r.arr("contents");
        for (q, a, _) in &l.session.history {
            content(&mut contents, "user", q);
            content(&mut contents, "model", a);
        }
        content(&mut contents, "user", &c.input);
        contents.end();
        if c.function_calling {
            r.raw("tools", TOOLS_JSON);
        }
        if let Some(system) = l.session.system {
            let mut s = r.obj("systemInstruction");
            let mut parts = s.arr("parts");
            parts.obj().str("text", system).end();
            parts.end();
            s.end();
        }
        let mut g = r.obj("generationConfig");
        g.f64("temperature", l.session.temperature).u64("maxOutputTokens", MAX_OUTPUT_TOKENS);
        if c.json_mode {
            g.str("responseMimeType", "application/json");
        }
        g.end();
        r.end();
    }
    let mut resp = o.obj("response");
    match c.failure {
        Some(f) => {
            let (code, status, message) = error(f);
            resp.obj("error").u64("code", u64::from(code)).str("message", message).str("status", status).end();
        }
        None => {
            {
                let mut cands = resp.arr("candidates");
                let mut cand = cands.obj();
                {
                    let mut content = cand.obj("content");
                    match &c.tool {
                        Some((name, args)) => {
                            let mut parts = content.arr("parts");
                            let mut part = parts.obj();
                            part.obj("functionCall").str("name", name).raw("args", &args_object(args)).end();
                            part.end();
                            parts.end();
                        }
                        None if c.output.is_empty() => {}
                        None => {
                            let mut parts = content.arr("parts");
                            parts.obj().str("text", &c.output).end();
                            parts.end();
                        }
                    }
                    content.str("role", "model");
                    content.end();
                }
                cand.str("finishReason", if c.finish == Finish::Length { "MAX_TOKENS" } else { "STOP" });
                cand.u64("index", 0);
                cand.end();
                cands.end();
            }
            let cached = if l.model().caches { c.cached_tokens.min(c.prompt_tokens) } else { 0 };
            {
                let mut u = resp.obj("usageMetadata");
                u.u64("promptTokenCount", u64::from(c.prompt_tokens))
                    .u64("candidatesTokenCount", u64::from(c.completion_tokens))
                    .u64("totalTokenCount", u64::from(c.prompt_tokens + c.completion_tokens));
                if cached > 0 {
                    u.u64("cachedContentTokenCount", u64::from(cached));
                }
                let mut details = u.arr("promptTokensDetails");
                details.obj().str("modality", "TEXT").u64("tokenCount", u64::from(c.prompt_tokens)).end();
                details.end();
                u.end();
            }
            resp.str("modelVersion", MODELS[l.session.model % MODELS.len()]);
            stamp::alnum_id(rng, &mut sc.id, "", 23);
            resp.str("responseId", &sc.id);
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
    fn the_tools_are_the_chat_tools_as_function_declarations() {
        let chat: serde_json::Value = serde_json::from_str(CHAT_TOOLS_JSON).unwrap_or_default();
        let tools: serde_json::Value = serde_json::from_str(TOOLS_JSON).unwrap_or_default();
        let chat = chat.as_array().cloned().unwrap_or_default();
        let decls = tools[0]["functionDeclarations"].as_array().cloned().unwrap_or_default();
        assert_eq!((chat.len(), decls.len(), tools.as_array().map(Vec::len)), (5, 5, Some(1)));
        for (c, d) in chat.iter().zip(&decls) {
            assert_eq!(&c["function"], d);
        }
    }

    #[test]
    fn every_model_is_a_gemini_model() {
        assert_eq!(MODELS.len(), crate::traffic::MODELS.len());
        assert!(MODELS.iter().all(|m| m.starts_with("gemini-")));
    }
}
