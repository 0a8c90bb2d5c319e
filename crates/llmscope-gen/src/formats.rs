//! The five line formats. Each writer serialises one call into `out` (without
//! the newline) from small borrowed structs, so field order and names are
//! exactly those of the real logs.

use std::io;

use rand::Rng;
use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::call::{Call, Failure};
use crate::corpus::TOOLS_JSON;
use crate::stamp;
use crate::traffic::{Model, Session, HOUR_US, MODELS};
use crate::Format;

/// Reusable strings for the per-line ids and timestamps.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    ts: String,
    id: String,
    id2: String,
    text: String,
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
}

impl Line<'_> {
    fn model(&self) -> &'static Model {
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

pub(crate) fn write(
    fmt: Format,
    line: &Line<'_>,
    rng: &mut impl Rng,
    sc: &mut Scratch,
    out: &mut Vec<u8>,
) -> io::Result<()> {
    match fmt {
        Format::Seed000Basic => seed000_basic(line, rng, sc, out),
        Format::Seed000Enhanced => seed000_enhanced(line, rng, sc, out),
        Format::Seed001 => seed001(line, rng, sc, out),
        Format::Seed004 => seed004(line, rng, sc, out),
        Format::OpenAiPair | Format::Mixed => openai(line, rng, sc, out),
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

#[derive(Serialize)]
struct BasicLine<'a> {
    timestamp: &'a str,
    user_input: &'a str,
    model_response: &'a str,
    metadata: BasicMeta<'a>,
}

#[derive(Serialize)]
struct BasicMeta<'a> {
    session_id: &'a str,
    message_id: &'a str,
    response_time: f64,
    token_count: u32,
    model_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
}

fn seed000_basic(
    l: &Line<'_>,
    rng: &mut impl Rng,
    sc: &mut Scratch,
    out: &mut Vec<u8>,
) -> io::Result<()> {
    stamp::python_iso(&mut sc.ts, l.local_us());
    stamp::uuid4(rng, &mut sc.id);
    let c = l.call;
    let line = BasicLine {
        timestamp: &sc.ts,
        user_input: &c.input,
        model_response: seed000_response(c, &mut sc.text),
        metadata: BasicMeta {
            session_id: &l.session.id,
            message_id: &sc.id,
            response_time: round(c.latency_ms / 1000.0, 6),
            token_count: c.completion_tokens,
            model_name: l.model().name,
            user_id: l.logged.then_some(l.user_id),
        },
    };
    Ok(serde_json::to_writer(out, &line)?)
}

#[derive(Serialize)]
struct EnhancedLine<'a> {
    timestamp: &'a str,
    session_id: &'a str,
    message_id: &'a str,
    user_input: &'a str,
    input_length: u32,
    input_category: &'a str,
    model_response: &'a str,
    response_length: u32,
    response_time: f64,
    token_count: u32,
    quality_rating: &'a str,
    confidence_score: f64,
    has_safety_issue: bool,
    model_name: &'a str,
    model_version: &'a str,
}

fn seed000_enhanced(
    l: &Line<'_>,
    rng: &mut impl Rng,
    sc: &mut Scratch,
    out: &mut Vec<u8>,
) -> io::Result<()> {
    stamp::python_iso(&mut sc.ts, l.local_us());
    stamp::uuid4(rng, &mut sc.id);
    let c = l.call;
    let response = seed000_response(c, &mut sc.text);
    let (rating, lo, hi) = if c.failure.is_some() || c.empty {
        ("poor", 0.0, 0.2)
    } else if c.refusal || c.broken_json || c.finish == crate::call::Finish::Length {
        ("fair", 0.4, 0.7)
    } else {
        match rng.gen_range(0..100) {
            0..=29 => ("excellent", 0.85, 0.99),
            30..=74 => ("good", 0.7, 0.9),
            75..=92 => ("fair", 0.5, 0.75),
            _ => ("poor", 0.2, 0.5),
        }
    };
    let line = EnhancedLine {
        timestamp: &sc.ts,
        session_id: &l.session.id,
        message_id: &sc.id,
        user_input: &c.input,
        input_length: c.input_chars,
        input_category: c.category.as_str(),
        model_response: response,
        response_length: response.chars().count() as u32,
        response_time: round(c.latency_ms / 1000.0, 6),
        token_count: c.completion_tokens,
        quality_rating: rating,
        confidence_score: round(rng.gen_range(lo..hi), 3),
        has_safety_issue: c.jailbreak || c.pii,
        model_name: l.model().name,
        model_version: l.model().version,
    };
    Ok(serde_json::to_writer(out, &line)?)
}

#[derive(Serialize)]
struct Seed001Line<'a> {
    timestamp: i64,
    level: &'a str,
    request_id: &'a str,
    model: &'a str,
    input: &'a str,
    output: &'a str,
    metadata: Seed001Meta<'a>,
}

#[derive(Serialize)]
struct Seed001Meta<'a> {
    prompt_tokens: u32,
    completion_tokens: u32,
    total_tokens: u32,
    first_token_latency_ms: u64,
    total_latency_ms: u64,
    device: &'a str,
    temperature: f64,
    function_calling: bool,
    json_mode: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

fn seed001(l: &Line<'_>, rng: &mut impl Rng, sc: &mut Scratch, out: &mut Vec<u8>) -> io::Result<()> {
    stamp::request_id(rng, &mut sc.id);
    let c = l.call;
    let with_ids = rng.gen_bool(0.9);
    let error = c.failure.map(|f| {
        sc.text.clear();
        match f {
            Failure::Timeout => sc.text.push_str("Request timed out after 60s"),
            f => sc.text.push_str(&format!("HTTP {}: {}", f.status(), f.error().0)),
        }
        sc.text.as_str()
    });
    let line = Seed001Line {
        timestamp: c.ts_us.div_euclid(1_000_000),
        level: if c.failure.is_some() { "ERROR" } else { "INFO" },
        request_id: &sc.id,
        model: l.model().name,
        input: &c.input,
        output: &c.output,
        metadata: Seed001Meta {
            prompt_tokens: c.prompt_tokens,
            completion_tokens: c.completion_tokens,
            total_tokens: c.prompt_tokens + c.completion_tokens,
            first_token_latency_ms: c.ttft_ms.round() as u64,
            total_latency_ms: c.latency_ms.round() as u64,
            device: if rng.gen_bool(0.5) { "cuda:0" } else { "cuda:1" },
            temperature: l.session.temperature,
            function_calling: c.function_calling,
            json_mode: c.json_mode,
            user_id: with_ids.then_some(l.user_id),
            session_id: with_ids.then_some(l.session.id.as_str()),
            status_code: c.failure.map(Failure::status),
            error,
        },
    };
    Ok(serde_json::to_writer(out, &line)?)
}

#[derive(Serialize)]
struct Seed004Line<'a> {
    message: &'a str,
    time: &'a str,
    request_id: &'a str,
    user_id: &'a str,
    model_version: &'a str,
    input_tokens: u32,
    output_tokens: u32,
    latency_ms: f64,
    prompt_length: u32,
    response_length: u32,
}

fn seed004(l: &Line<'_>, rng: &mut impl Rng, sc: &mut Scratch, out: &mut Vec<u8>) -> io::Result<()> {
    stamp::python_iso(&mut sc.ts, l.call.ts_us);
    stamp::uuid4(rng, &mut sc.id);
    sc.text.clear();
    sc.text.push_str("LLM request processed for user ");
    sc.text.push_str(l.user_id);
    let c = l.call;
    let line = Seed004Line {
        message: &sc.text,
        time: &sc.ts,
        request_id: &sc.id,
        user_id: l.user_id,
        model_version: l.model().name,
        input_tokens: c.prompt_tokens,
        output_tokens: c.completion_tokens,
        latency_ms: round(c.latency_ms, 2),
        prompt_length: c.input_chars,
        response_length: c.output_chars,
    };
    Ok(serde_json::to_writer(out, &line)?)
}

#[derive(Serialize)]
struct Msg<'a> {
    role: &'a str,
    content: &'a str,
}

/// System prompt, earlier turns, then the new user message.
struct Messages<'a>(&'a Line<'a>);

impl Serialize for Messages<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let l = self.0;
        let mut seq = s.serialize_seq(None)?;
        if let Some(system) = l.session.system {
            seq.serialize_element(&Msg { role: "system", content: system })?;
        }
        for (q, a) in &l.session.history {
            seq.serialize_element(&Msg { role: "user", content: q })?;
            seq.serialize_element(&Msg { role: "assistant", content: a })?;
        }
        seq.serialize_element(&Msg { role: "user", content: &l.call.input })?;
        seq.end()
    }
}

#[derive(Serialize)]
struct OaRequest<'a> {
    model: &'a str,
    messages: Messages<'a>,
    temperature: f64,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tools: Option<&'a RawValue>,
    user: &'a str,
}

#[derive(Serialize)]
struct OaFunction<'a> {
    name: &'a str,
    arguments: &'a str,
}

#[derive(Serialize)]
struct OaToolCall<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    function: OaFunction<'a>,
}

#[derive(Serialize)]
struct OaMessage<'a> {
    role: &'a str,
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<[OaToolCall<'a>; 1]>,
}

#[derive(Serialize)]
struct OaChoice<'a> {
    index: u32,
    message: OaMessage<'a>,
    finish_reason: &'a str,
}

#[derive(Serialize)]
struct OaDetails {
    cached_tokens: u32,
}

#[derive(Serialize)]
struct OaUsage {
    prompt_tokens: u32,
    completion_tokens: u32,
    total_tokens: u32,
    prompt_tokens_details: OaDetails,
}

#[derive(Serialize)]
struct OaCompletion<'a> {
    id: &'a str,
    object: &'a str,
    created: i64,
    model: &'a str,
    choices: [OaChoice<'a>; 1],
    usage: OaUsage,
}

#[derive(Serialize)]
struct OaErrorBody<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    code: Option<&'a str>,
}

#[derive(Serialize)]
struct OaError<'a> {
    error: OaErrorBody<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum OaResponse<'a> {
    Ok(OaCompletion<'a>),
    Err(OaError<'a>),
}

#[derive(Serialize)]
struct OaLine<'a> {
    timestamp: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_code: Option<u16>,
    latency_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttft_ms: Option<u64>,
    user_id: &'a str,
    session_id: &'a str,
    request: OaRequest<'a>,
    response: OaResponse<'a>,
}

fn raw(s: &'static str) -> Option<&'static RawValue> {
    serde_json::from_str::<&RawValue>(s).ok()
}

fn openai(l: &Line<'_>, rng: &mut impl Rng, sc: &mut Scratch, out: &mut Vec<u8>) -> io::Result<()> {
    let c = l.call;
    let model = l.model();
    stamp::rfc3339_ms(&mut sc.ts, c.ts_us);
    let response = match c.failure {
        Some(f) => {
            let (message, kind, code) = f.error();
            OaResponse::Err(OaError {
                error: OaErrorBody { message, kind, code },
            })
        }
        None => {
            stamp::completion_id(rng, &mut sc.id, model.name == "gpt-4o-mini");
            let tool_calls = c.tool.as_ref().map(|(name, args)| {
                stamp::tool_call_id(rng, &mut sc.id2);
                [OaToolCall {
                    id: &sc.id2,
                    kind: "function",
                    function: OaFunction {
                        name,
                        arguments: args,
                    },
                }]
            });
            OaResponse::Ok(OaCompletion {
                id: &sc.id,
                object: "chat.completion",
                created: c.ts_us.div_euclid(1_000_000),
                model: model.api_model,
                choices: [OaChoice {
                    index: 0,
                    message: OaMessage {
                        role: "assistant",
                        content: if tool_calls.is_some() {
                            None
                        } else {
                            Some(&c.output)
                        },
                        tool_calls,
                    },
                    finish_reason: c.finish.as_str(),
                }],
                usage: OaUsage {
                    prompt_tokens: c.prompt_tokens,
                    completion_tokens: c.completion_tokens,
                    total_tokens: c.prompt_tokens + c.completion_tokens,
                    prompt_tokens_details: OaDetails {
                        cached_tokens: c.cached_tokens,
                    },
                },
            })
        }
    };
    let line = OaLine {
        timestamp: &sc.ts,
        status_code: c.failure.map(Failure::status),
        latency_ms: c.latency_ms.round() as u64,
        ttft_ms: (l.session.stream && c.failure.is_none()).then(|| c.ttft_ms.round() as u64),
        user_id: l.user_id,
        session_id: &l.session.id,
        request: OaRequest {
            model: model.name,
            messages: Messages(l),
            temperature: l.session.temperature,
            stream: l.session.stream,
            response_format: if c.json_mode {
                raw(r#"{"type":"json_object"}"#)
            } else {
                None
            },
            tools: if c.function_calling {
                raw(TOOLS_JSON)
            } else {
                None
            },
            user: l.user_id,
        },
        response,
    };
    Ok(serde_json::to_writer(out, &line)?)
}
