//! LiteLLM's `StandardLoggingPayload`, as the LiteLLM proxy hands it to its loggers (S3, GCS,
//! a generic logging endpoint) for every call: written from LiteLLM's logging specification
//! (`docs/proxy/logging_spec.md`), not from llmscope's importer. Times are epoch seconds
//! with microseconds; a failed call has `status: "failure"`, LiteLLM's error string and
//! class, and no response.

use rand::Rng;

use crate::answers::{self, Shape};
use crate::call::Failure;
use crate::corpus::TOOLS_JSON;
use crate::formats::{Line, Scratch};
use crate::json::Obj;
use crate::stamp;

/// LiteLLM's exception class for a failure.
fn error_class(f: Failure) -> &'static str {
    match f {
        Failure::Timeout => "Timeout",
        Failure::Status(429) => "RateLimitError",
        Failure::Status(503) => "ServiceUnavailableError",
        Failure::Status(s) if s >= 500 => "InternalServerError",
        Failure::Status(_) => "BadRequestError",
    }
}

fn epoch_s(us: i64) -> f64 {
    us as f64 / 1e6
}

pub(crate) fn litellm(l: &Line<'_>, rng: &mut impl Rng, sc: &mut Scratch, out: &mut Vec<u8>) {
    let c = l.call;
    let model = l.model();
    let streamed = l.session.stream && c.failure.is_none();
    let ms_us = |ms: f64| (ms * 1000.0).round() as i64;
    let end_us = c.ts_us + ms_us(c.latency_ms);
    let mut o = Obj::new(out, false);
    stamp::uuid4(rng, &mut sc.id);
    o.str("id", &sc.id);
    stamp::uuid4(rng, &mut sc.id2);
    o.str("trace_id", &sc.id2).str("call_type", "acompletion").bool("stream", l.session.stream);
    o.str("status", if c.failure.is_some() { "failure" } else { "success" });
    let priced = model.name == "gpt-4o-mini";
    let (input_usd, output_usd) = crate::traffic::GPT_4O_MINI_USD;
    let cost = f64::from(c.prompt_tokens) * input_usd + f64::from(c.completion_tokens) * output_usd;
    o.f64("response_cost", if priced && c.failure.is_none() { cost } else { 0.0 });
    let (prompt, completion) = if c.failure.is_some() { (0, 0) } else { (c.prompt_tokens, c.completion_tokens) };
    o.u64("total_tokens", u64::from(prompt + completion))
        .u64("prompt_tokens", u64::from(prompt))
        .u64("completion_tokens", u64::from(completion));
    o.f64("startTime", epoch_s(c.ts_us)).f64("endTime", epoch_s(end_us));
    let first_us = if streamed { c.ts_us + ms_us(c.ttft_ms) } else { end_us };
    o.f64("completionStartTime", epoch_s(first_us));
    o.str("model", model.name).str("model_group", model.name);
    o.str("custom_llm_provider", if priced { "openai" } else { "hosted_vllm" });
    o.str("api_base", if priced { "https://api.openai.com/v1" } else { "http://vllm:8000/v1" });
    {
        let mut m = o.obj("metadata");
        stamp::hex_id(rng, &mut sc.text, "", 32);
        m.str("user_api_key_hash", &sc.text).str("user_api_key_alias", "chat-frontend");
        m.str("user_api_key_team_id", "team-support");
        m.obj("requester_metadata").str("session_id", &l.session.id).end();
        m.end();
    }
    o.bool("cache_hit", false);
    o.raw("request_tags", r#"["chat"]"#);
    o.str("end_user", l.user_id);
    crate::formats::messages(l, &mut o, "messages");
    match c.failure {
        Some(f) => {
            let (message, _, _) = f.error();
            o.raw("response", "null");
            let class = error_class(f);
            sc.text.clear();
            sc.text.push_str("litellm.");
            sc.text.push_str(class);
            sc.text.push_str(": ");
            sc.text.push_str(message);
            o.str("error_str", &sc.text);
            let code = f.status().to_string();
            o.obj("error_information")
                .str("error_code", &code)
                .str("error_class", class)
                .str("llm_provider", if priced { "openai" } else { "hosted_vllm" })
                .end();
        }
        None => {
            let mut resp = o.obj("response");
            answers::chat_completion(l, rng, sc, &mut resp, Shape::Pair);
            resp.end();
        }
    }
    let mut p = o.obj("model_parameters");
    p.f64("temperature", l.session.temperature);
    if c.json_mode {
        p.raw("response_format", r#"{"type":"json_object"}"#);
    }
    if c.function_calling {
        p.raw("tools", TOOLS_JSON);
    }
    p.end();
    o.end();
}
