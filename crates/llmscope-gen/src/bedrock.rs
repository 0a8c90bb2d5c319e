//! Amazon Bedrock's model invocation log records, as Bedrock writes them to S3 or CloudWatch
//! Logs when invocation logging is on: written from AWS's documentation of the record and of
//! the Converse API, not from llmscope's importer. The app calls `Converse`, or
//! `ConverseStream` when it streams (the log then holds the stream's events), and names its
//! user and session in `requestMetadata`. A failed call has Bedrock's exception name as
//! `errorCode` and no output. Bedrock's own token counts are the record's; for the Claude
//! model, prompt-cache reads are counted apart from the fresh input, as Bedrock does.

use rand::Rng;

use crate::call::Failure;
use crate::formats::{Line, Scratch};
use crate::json::Obj;
use crate::stamp;

/// The Bedrock model each of the generator's models stands for, in [`crate::traffic::MODELS`]'s order.
const MODEL_IDS: [&str; 5] = [
    "qwen.qwen3-32b-v1:0",
    "us.deepseek.r1-v1:0",
    "us.anthropic.claude-3-5-haiku-20241022-v1:0",
    "meta.llama3-1-8b-instruct-v1:0",
    "amazon.nova-lite-v1:0",
];

/// The Converse API's `toolConfig`: the chat tools (`corpus::TOOLS_JSON`) as `toolSpec`s.
pub(crate) const TOOL_CONFIG_JSON: &str = r#"{"tools":[{"toolSpec":{"name":"get_weather","description":"Get the current weather for a city","inputSchema":{"json":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}}}},{"toolSpec":{"name":"search_web","description":"Search the web","inputSchema":{"json":{"type":"object","properties":{"query":{"type":"string"}},"required":["query"]}}}},{"toolSpec":{"name":"get_stock_price","description":"Latest price of a stock","inputSchema":{"json":{"type":"object","properties":{"symbol":{"type":"string"}},"required":["symbol"]}}}},{"toolSpec":{"name":"calculator","description":"Evaluate an arithmetic expression","inputSchema":{"json":{"type":"object","properties":{"expression":{"type":"string"}},"required":["expression"]}}}},{"toolSpec":{"name":"lookup_order","description":"Find an order by id","inputSchema":{"json":{"type":"object","properties":{"order_id":{"type":"string"}},"required":["order_id"]}}}}]}"#;

/// Bedrock's exception for a failure (its HTTP status is Bedrock's, not the OpenAI one's).
fn error_code(f: Failure) -> &'static str {
    match f {
        Failure::Timeout => "ModelTimeoutException",
        Failure::Status(429) => "ThrottlingException",
        Failure::Status(503) => "ServiceUnavailableException",
        Failure::Status(_) => "InternalServerException",
    }
}

/// The Converse API's stop reasons for the generator's finishes are Anthropic's names.
use crate::anthropic::stop_reason;

/// Characters per streamed text piece.
const PIECE_CHARS: usize = 6;

pub(crate) fn bedrock(l: &Line<'_>, rng: &mut impl Rng, sc: &mut Scratch, out: &mut Vec<u8>) {
    let c = l.call;
    let streamed = l.session.stream;
    let mut o = Obj::new(out, false);
    o.str("schemaType", "ModelInvocationLog").str("schemaVersion", "1.0");
    // (Whole seconds, as the records show it.)
    stamp::rfc3339_ms(&mut sc.ts, c.ts_us);
    sc.ts.truncate(19);
    sc.ts.push('Z');
    o.str("timestamp", &sc.ts).str("accountId", "123456789012");
    o.obj("identity").str("arn", "arn:aws:sts::123456789012:assumed-role/chat-app/i-0a1b2c3d4e5f").end();
    o.str("region", "us-east-1");
    stamp::uuid4(rng, &mut sc.id);
    o.str("requestId", &sc.id);
    o.str("operation", if streamed { "ConverseStream" } else { "Converse" });
    o.str("modelId", MODEL_IDS[l.session.model % MODEL_IDS.len()]);
    let cached = if l.model().caches && c.failure.is_none() { c.cached_tokens.min(c.prompt_tokens) } else { 0 };
    {
        let mut i = o.obj("input");
        i.str("inputContentType", "application/json");
        let mut body = i.obj("inputBodyJson");
        request(l, &mut body);
        body.end();
        // (A refused call consumed no tokens: the record counts none.)
        if c.failure.is_none() {
            i.u64("inputTokenCount", u64::from(c.prompt_tokens - cached));
        }
        if cached > 0 {
            i.u64("cacheReadInputTokenCount", u64::from(cached)).u64("cacheWriteInputTokenCount", 0);
        }
        i.end();
    }
    match c.failure {
        Some(f) => {
            o.str("errorCode", error_code(f));
        }
        None => {
            let mut out = o.obj("output");
            out.str("outputContentType", "application/json");
            if streamed {
                stream_events(l, cached, rng, sc, &mut out);
            } else {
                answer(l, cached, rng, sc, &mut out);
            }
            out.u64("outputTokenCount", u64::from(c.completion_tokens));
            out.end();
        }
    }
    o.obj("requestMetadata").str("user_id", l.user_id).str("session_id", &l.session.id).end();
    o.end();
}

/// A Converse request body: the turns as content blocks, the system prompt, the options.
fn request(l: &Line<'_>, body: &mut Obj<'_>) {
    let mut msgs = body.arr("messages");
    let mut turn = |role: &str, text: &str| {
        let mut m = msgs.obj();
        m.str("role", role);
        let mut content = m.arr("content");
        content.obj().str("text", text).end();
        content.end();
        m.end();
    };
    for (q, a, _) in &l.session.history {
        turn("user", q);
        turn("assistant", a);
    }
    turn("user", &l.call.input);
    msgs.end();
    if let Some(system) = l.session.system {
        let mut s = body.arr("system");
        s.obj().str("text", system).end();
        s.end();
    }
    body.obj("inferenceConfig").u64("maxTokens", 2048).f64("temperature", l.session.temperature).end();
    if l.call.function_calling {
        body.raw("toolConfig", TOOL_CONFIG_JSON);
    }
}

/// A Converse answer: the message's content blocks, the stop reason, the latency, the usage.
fn answer(l: &Line<'_>, cached: u32, rng: &mut impl Rng, sc: &mut Scratch, out: &mut Obj<'_>) {
    let c = l.call;
    let mut body = out.obj("outputBodyJson");
    {
        let mut o = body.obj("output");
        let mut msg = o.obj("message");
        msg.str("role", "assistant");
        let mut content = msg.arr("content");
        match &c.tool {
            Some((name, args)) => {
                stamp::hex_id(rng, &mut sc.text, "tooluse_", 22);
                let mut block = content.obj();
                let mut tu = block.obj("toolUse");
                tu.str("toolUseId", &sc.text).str("name", name);
                // (Bedrock hands the model's arguments over parsed: input that is no JSON
                // object cannot appear here, only in a stream's pieces.)
                tu.raw("input", &crate::formats::args_object(args));
                tu.end();
                block.end();
            }
            None => {
                content.obj().str("text", &c.output).end();
            }
        }
        content.end();
        msg.end();
        o.end();
    }
    body.str("stopReason", stop_reason(c.finish));
    body.obj("metrics").u64("latencyMs", c.latency_ms.round() as u64).end();
    usage(c, cached, &mut body);
    body.end();
}

/// The body's usage: fresh input apart from prompt-cache reads, as the record counts them.
fn usage(c: &crate::call::Call, cached: u32, o: &mut Obj<'_>) {
    let mut u = o.obj("usage");
    u.u64("inputTokens", u64::from(c.prompt_tokens - cached))
        .u64("outputTokens", u64::from(c.completion_tokens))
        .u64("totalTokens", u64::from(c.prompt_tokens + c.completion_tokens));
    if cached > 0 {
        u.u64("cacheReadInputTokens", u64::from(cached)).u64("cacheWriteInputTokens", 0);
    }
    u.end();
}

/// A ConverseStream's events, as the log keeps them: the message's start, the text (or the
/// tool call's input) in pieces, the stop, and the metadata event with usage and latency.
fn stream_events(l: &Line<'_>, cached: u32, rng: &mut impl Rng, sc: &mut Scratch, out: &mut Obj<'_>) {
    let c = l.call;
    let mut events = out.arr("outputBodyJson");
    let mut e = events.obj();
    e.obj("messageStart").str("role", "assistant").end();
    e.end();
    let (text, tool) = match &c.tool {
        Some((name, args)) => (args.as_str(), Some(*name)),
        None => (c.output.as_str(), None),
    };
    if let Some(name) = tool {
        stamp::hex_id(rng, &mut sc.text, "tooluse_", 22);
        let mut e = events.obj();
        let mut start = e.obj("contentBlockStart");
        let mut what = start.obj("start");
        what.obj("toolUse").str("toolUseId", &sc.text).str("name", name).end();
        what.end();
        start.u64("contentBlockIndex", 0);
        start.end();
        e.end();
    }
    let mut piece_start = 0;
    let mut chars = 0;
    for (i, _) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        if (chars == PIECE_CHARS || i == text.len()) && i > piece_start {
            let piece = &text[piece_start..i];
            let mut e = events.obj();
            let mut d = e.obj("contentBlockDelta");
            let mut delta = d.obj("delta");
            match tool {
                Some(_) => delta.obj("toolUse").str("input", piece).end(),
                None => {
                    delta.str("text", piece);
                }
            }
            delta.end();
            d.u64("contentBlockIndex", 0);
            d.end();
            e.end();
            piece_start = i;
            chars = 0;
        }
        chars += 1;
    }
    let mut e = events.obj();
    e.obj("contentBlockStop").u64("contentBlockIndex", 0).end();
    e.end();
    let mut e = events.obj();
    e.obj("messageStop").str("stopReason", stop_reason(c.finish)).end();
    e.end();
    {
        let mut e = events.obj();
        let mut m = e.obj("metadata");
        usage(c, cached, &mut m);
        m.obj("metrics").u64("latencyMs", c.latency_ms.round() as u64).end();
        m.end();
        e.end();
    }
    events.end();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::TOOLS_JSON;

    #[test]
    fn the_tool_config_is_the_chat_tools_as_tool_specs() {
        let chat: serde_json::Value = serde_json::from_str(TOOLS_JSON).unwrap_or_default();
        let config: serde_json::Value = serde_json::from_str(TOOL_CONFIG_JSON).unwrap_or_default();
        let chat = chat.as_array().cloned().unwrap_or_default();
        let specs = config["tools"].as_array().cloned().unwrap_or_default();
        assert_eq!(chat.len(), 5);
        assert_eq!(chat.len(), specs.len());
        for (c, s) in chat.iter().zip(&specs) {
            let (func, spec) = (&c["function"], &s["toolSpec"]);
            assert_eq!(func["name"], spec["name"]);
            assert_eq!(func["description"], spec["description"]);
            assert_eq!(func["parameters"], spec["inputSchema"]["json"]);
        }
    }

    #[test]
    fn every_model_has_a_bedrock_id() {
        assert_eq!(MODEL_IDS.len(), crate::traffic::MODELS.len());
    }
}
