//! The line formats. Each writer appends one call to `out` (without the
//! newline), fields in the order of the real logs. The formats written by
//! Python apps (seed000, seed001, seed004) use `json.dumps` separators; the
//! OpenAI pair is compact, as a proxy in another language would write it. The
//! OpenAI answers without their request (Batch output, a response on its own)
//! are in [`crate::answers`].

use rand::Rng;

use crate::answers::{self, Shape};
use crate::call::{Call, Failure, Finish};
use crate::corpus::TOOLS_JSON;
use crate::json::Obj;
use crate::stamp;
use crate::traffic::{Model, Session, HOUR_US, MODELS};
use crate::Format;

/// Reusable strings for the per-line ids and timestamps.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    pub ts: String,
    pub id: String,
    pub id2: String,
    pub text: String,
}

/// Everything a writer needs about one call.
#[derive(Debug)]
pub(crate) struct Line<'a> {
    pub call: &'a Call,
    pub session: &'a Session,
    pub user_id: &'a str,
    /// Whether seed000's app logs the user id.
    pub logged: bool,
    pub tz_hours: i32,
    /// The line's number in the file, from 1 (Batch files name their requests by it).
    pub index: u64,
}

impl Line<'_> {
    pub(crate) fn model(&self) -> &'static Model {
        &MODELS[self.session.model]
    }
    fn local_us(&self) -> i64 {
        self.call.ts_us + i64::from(self.tz_hours) * HOUR_US
    }
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

pub(crate) fn write(fmt: Format, line: &Line<'_>, rng: &mut impl Rng, sc: &mut Scratch, out: &mut Vec<u8>) {
    match fmt {
        Format::Seed000Basic => seed000_basic(line, rng, sc, out),
        Format::Seed000Enhanced => seed000_enhanced(line, rng, sc, out),
        Format::Seed001 => seed001(line, rng, sc, out),
        Format::Seed004 => seed004(line, rng, sc, out),
        Format::OpenAiPair | Format::Mixed => openai(line, rng, sc, out),
        Format::OpenAiBatch => answers::batch(line, rng, sc, out),
        Format::OpenAiBatchInput => answers::batch_input(line, out),
        Format::OpenAiResponse => answers::bare(line, rng, sc, out),
        Format::Native => crate::native::native(line, rng, sc, out),
        Format::LiteLlm => crate::litellm::litellm(line, rng, sc, out),
        Format::Langfuse => crate::langfuse::langfuse(line, rng, sc, out),
        Format::Bedrock => crate::bedrock::bedrock(line, rng, sc, out),
        Format::Anthropic => crate::anthropic::anthropic(line, rng, sc, out),
        Format::Ollama => crate::ollama::ollama(line, rng, sc, out),
        Format::Gemini => crate::gemini::gemini(line, rng, sc, out),
    }
}

/// What seed000's Chainlit app shows (and logs) when the API call raised:
/// `f"Error: {e}"` of the openai client's exception.
fn seed000_response<'a>(call: &'a Call, buf: &'a mut String) -> &'a str {
    match call.failure {
        None => &call.output,
        Some(Failure::Timeout) => "Error: Request timed out.",
        Some(f) => {
            let (message, kind, code) = f.error();
            let code = code.map_or("None".to_string(), |c| format!("'{c}'"));
            buf.clear();
            buf.push_str(&format!(
                "Error: Error code: {} - {{'error': {{'message': '{message}', 'type': '{kind}', 'param': None, 'code': {code}}}}}",
                f.status()
            ));
            buf
        }
    }
}

/// Seconds as Python's `time.time()` differences show them, to the microsecond.
fn seconds(ms: f64) -> f64 {
    round(ms / 1000.0, 6)
}

fn seed000_basic(l: &Line<'_>, rng: &mut impl Rng, sc: &mut Scratch, out: &mut Vec<u8>) {
    stamp::python_iso(&mut sc.ts, l.local_us());
    stamp::uuid4(rng, &mut sc.id);
    let c = l.call;
    let mut o = Obj::new(out, true);
    o.str("timestamp", &sc.ts).str("user_input", &c.input).str("model_response", seed000_response(c, &mut sc.text));
    let mut m = o.obj("metadata");
    m.str("session_id", &l.session.id)
        .str("message_id", &sc.id)
        .f64("response_time", seconds(c.latency_ms))
        .u64("token_count", u64::from(c.completion_tokens))
        .str("model_name", l.model().name);
    if l.logged {
        m.str("user_id", l.user_id);
    }
    m.end();
    o.end();
}

fn seed000_enhanced(l: &Line<'_>, rng: &mut impl Rng, sc: &mut Scratch, out: &mut Vec<u8>) {
    stamp::python_iso(&mut sc.ts, l.local_us());
    stamp::uuid4(rng, &mut sc.id);
    let c = l.call;
    let response = seed000_response(c, &mut sc.text);
    let (rating, lo, hi) = if c.failure.is_some() || c.empty {
        ("poor", 0.0, 0.2)
    } else if c.refusal || c.broken_json || c.finish == Finish::Length {
        ("fair", 0.4, 0.7)
    } else {
        match rng.gen_range(0..100) {
            0..=29 => ("excellent", 0.85, 0.99),
            30..=74 => ("good", 0.7, 0.9),
            75..=92 => ("fair", 0.5, 0.75),
            _ => ("poor", 0.2, 0.5),
        }
    };
    let response_length = if c.failure.is_some() { response.chars().count() as u64 } else { u64::from(c.output_chars) };
    let mut o = Obj::new(out, true);
    o.str("timestamp", &sc.ts)
        .str("session_id", &l.session.id)
        .str("message_id", &sc.id)
        .str("user_input", &c.input)
        .u64("input_length", u64::from(c.input_chars))
        .str("input_category", c.category.as_str())
        .str("model_response", response)
        .u64("response_length", response_length)
        .f64("response_time", seconds(c.latency_ms))
        .u64("token_count", u64::from(c.completion_tokens))
        .str("quality_rating", rating)
        .f64("confidence_score", round(rng.gen_range(lo..hi), 3))
        .bool("has_safety_issue", c.jailbreak || c.pii)
        .str("model_name", l.model().name)
        .str("model_version", l.model().version);
    o.end();
}

fn seed001(l: &Line<'_>, rng: &mut impl Rng, sc: &mut Scratch, out: &mut Vec<u8>) {
    stamp::request_id(rng, &mut sc.id);
    let c = l.call;
    let with_ids = rng.gen_bool(0.9);
    let mut o = Obj::new(out, true);
    o.i64("timestamp", c.ts_us.div_euclid(1_000_000))
        .str("level", if c.failure.is_some() { "ERROR" } else { "INFO" })
        .str("request_id", &sc.id)
        .str("model", l.model().name)
        .str("input", &c.input)
        .str("output", &c.output);
    let mut m = o.obj("metadata");
    m.u64("prompt_tokens", u64::from(c.prompt_tokens))
        .u64("completion_tokens", u64::from(c.completion_tokens))
        .u64("total_tokens", u64::from(c.prompt_tokens + c.completion_tokens))
        .u64("first_token_latency_ms", c.ttft_ms.round() as u64)
        .u64("total_latency_ms", c.latency_ms.round() as u64)
        .str("device", if rng.gen_bool(0.5) { "cuda:0" } else { "cuda:1" })
        .f64("temperature", l.session.temperature)
        .bool("function_calling", c.function_calling)
        .bool("json_mode", c.json_mode);
    if with_ids {
        m.str("user_id", l.user_id).str("session_id", &l.session.id);
    }
    if let Some(f) = c.failure {
        sc.text.clear();
        match f {
            Failure::Timeout => sc.text.push_str("Request timed out after 60s"),
            f => sc.text.push_str(&format!("HTTP {}: {}", f.status(), f.error().0)),
        }
        m.u64("status_code", u64::from(f.status())).str("error", &sc.text);
    }
    m.end();
    o.end();
}

fn seed004(l: &Line<'_>, rng: &mut impl Rng, sc: &mut Scratch, out: &mut Vec<u8>) {
    stamp::python_iso(&mut sc.ts, l.call.ts_us);
    stamp::uuid4(rng, &mut sc.id);
    sc.text.clear();
    sc.text.push_str("LLM request processed for user ");
    sc.text.push_str(l.user_id);
    let c = l.call;
    let mut o = Obj::new(out, true);
    o.str("message", &sc.text)
        .str("time", &sc.ts)
        .str("request_id", &sc.id)
        .str("user_id", l.user_id)
        .str("model_version", l.model().name)
        .u64("input_tokens", u64::from(c.prompt_tokens))
        .u64("output_tokens", u64::from(c.completion_tokens))
        .f64("latency_ms", round(c.latency_ms, 2))
        .u64("prompt_length", u64::from(c.input_chars))
        .u64("response_length", u64::from(c.output_chars));
    o.end();
}

/// The chat messages under `key`: system prompt, earlier turns, the new user message.
pub(crate) fn messages(l: &Line<'_>, o: &mut Obj<'_>, key: &str) {
    chat_messages(l, o, key, true);
}

/// The chat turns under `key`, without the system prompt (for APIs that take it apart).
pub(crate) fn turns(l: &Line<'_>, o: &mut Obj<'_>, key: &str) {
    chat_messages(l, o, key, false);
}

fn chat_messages(l: &Line<'_>, o: &mut Obj<'_>, key: &str, with_system: bool) {
    let mut msgs = o.arr(key);
    if let (Some(system), true) = (l.session.system, with_system) {
        msgs.obj().str("role", "system").str("content", system).end();
    }
    for (q, a, _) in &l.session.history {
        msgs.obj().str("role", "user").str("content", q).end();
        msgs.obj().str("role", "assistant").str("content", a).end();
    }
    msgs.obj().str("role", "user").str("content", &l.call.input).end();
    msgs.end();
}

/// The request: the messages and the options.
fn openai_request(l: &Line<'_>, o: &mut Obj<'_>) {
    let mut r = o.obj("request");
    request_body(l, &mut r, true);
    r.end();
}

/// A chat-completion request body's fields, into the open object `r` (`stream` only where
/// the endpoint takes it: not in Batch files).
pub(crate) fn request_body(l: &Line<'_>, r: &mut Obj<'_>, with_stream: bool) {
    let c = l.call;
    r.str("model", l.model().name);
    messages(l, r, "messages");
    r.f64("temperature", l.session.temperature);
    if with_stream {
        r.bool("stream", l.session.stream);
    }
    if c.json_mode {
        r.raw("response_format", r#"{"type":"json_object"}"#);
    }
    if c.function_calling {
        r.raw("tools", TOOLS_JSON);
    }
    r.str("user", l.user_id);
}

/// What a request/response pair line carries around its bodies, as a logging proxy writes it:
/// the call's start, the HTTP status of a failed call (`status`, the provider's), the latency,
/// the time to the first token of a streamed answer, and the app's user and session.
pub(crate) fn pair_head(l: &Line<'_>, status: Option<u16>, sc: &mut Scratch, o: &mut Obj<'_>) {
    let c = l.call;
    stamp::rfc3339_ms(&mut sc.ts, c.ts_us);
    o.str("timestamp", &sc.ts);
    if let Some(s) = status {
        o.u64("status_code", u64::from(s));
    }
    o.u64("latency_ms", c.latency_ms.round() as u64);
    if l.session.stream && c.failure.is_none() {
        o.u64("ttft_ms", c.ttft_ms.round() as u64);
    }
    o.str("user_id", l.user_id).str("session_id", &l.session.id);
}

fn openai(l: &Line<'_>, rng: &mut impl Rng, sc: &mut Scratch, out: &mut Vec<u8>) {
    let c = l.call;
    let mut o = Obj::new(out, false);
    pair_head(l, c.failure.map(Failure::status), sc, &mut o);
    openai_request(l, &mut o);
    let mut resp = o.obj("response");
    if let Some(f) = c.failure {
        let (message, kind, code) = f.error();
        resp.obj("error").str("message", message).str("type", kind).opt_str("code", code).end();
    } else {
        answers::chat_completion(l, rng, sc, &mut resp, Shape::Pair);
    }
    resp.end();
    o.end();
}

/// A tool call's arguments as an API that hands them over parsed writes them: the JSON object,
/// compact, or `{}` when the model's arguments are no JSON object (cut short, Python quotes).
pub(crate) fn args_object(args: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(args) {
        Ok(v) if v.is_object() => v.to_string(),
        _ => "{}".to_string(),
    }
}
