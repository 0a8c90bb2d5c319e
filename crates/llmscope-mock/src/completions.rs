//! `POST /v1/completions` (the legacy text API): `prompt` as a string, an array of strings, a token array
//! or an array of token arrays (one choice per prompt), answered as one `text_completion` object or as
//! `text_completion` server-sent events.

use std::sync::Arc;

use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Map, Value};

use crate::config::Fault;
use crate::request::{
    self, flag, include_usage, max_tokens, missing, now_secs, parse_body, prelude, with_request_id, wrong_type,
    Settings,
};
use crate::sse::{cut_json_response, sse_response, Ending, Events, PacedBody};
use crate::stats::RequestGuard;
use crate::text::{answer_seeded, contains_cjk, count_tokens, hash64, Tokens};
use crate::wire::{invalid_request, json_response, push_json_str, push_num, ApiError};
use crate::AppState;

/// The most prompts (choices) one request may have.
const MAX_PROMPTS: usize = 128;

/// A validated request and its answers (one choice per prompt).
#[derive(Debug)]
struct Plan {
    model: String,
    stream: bool,
    include_usage: bool,
    prompt_tokens: usize,
    choices: Vec<(Tokens, &'static str)>,
}

impl Plan {
    fn completion_tokens(&self) -> usize {
        self.choices.iter().map(|(tokens, _)| tokens.len()).sum()
    }
}

/// The handler; the guard counts the response as completed, or as cancelled if the client goes away first.
pub(crate) async fn handler(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (n, guard) = st.stats.begin();
    let response = handle(&st, n, &headers, body, &guard).await;
    guard.complete();
    with_request_id(response, n)
}

async fn handle(
    st: &AppState,
    n: u64,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    guard: &RequestGuard,
) -> Response {
    let settings = match Settings::resolve(&st.cfg, headers, n) {
        Ok(settings) => settings,
        Err(err) => return err.into_response(),
    };
    let plan = match parse_body(body).and_then(|req| plan(&req, &settings)) {
        Ok(plan) => plan,
        Err(err) => return err.into_response(),
    };
    if let Some(response) = prelude(st, &settings, &plan.model).await {
        return response;
    }
    let created = now_secs();
    if plan.stream {
        return sse_response(render_stream(&plan, &settings, n, created, guard.transfer()));
    }
    let body = render_full(&plan, n, created, settings.usage);
    if let Some(Fault::Cut { .. }) = settings.fault {
        request::sleep(settings.latency).await;
        return cut_json_response(body, guard.transfer());
    }
    let longest = plan.choices.iter().map(|(tokens, _)| tokens.len()).max().unwrap_or(0);
    request::sleep(settings.generation_time(longest)).await;
    json_response(StatusCode::OK, body)
}

/// One prompt reduced to what the answer needs: `(seed, chinese, prompt tokens)`.
type Prompt = (u64, bool, usize);

fn text_prompt(text: &str) -> Prompt {
    (hash64(text.as_bytes()), contains_cjk(text), count_tokens(text))
}

fn token_prompt(tokens: &[Value], param: &str) -> Result<Prompt, ApiError> {
    let mut bytes = Vec::with_capacity(tokens.len() * 8);
    for token in tokens {
        match token.as_u64() {
            Some(id) => bytes.extend_from_slice(&id.to_le_bytes()),
            None => return Err(wrong_type(param, "an array of integers", token)),
        }
    }
    Ok((hash64(&bytes), false, tokens.len()))
}

fn prompts(req: &Map<String, Value>) -> Result<Vec<Prompt>, ApiError> {
    let invalid =
        || invalid_request("'prompt' must be a string, an array of strings or an array of tokens.", Some("prompt"));
    match req.get("prompt") {
        None | Some(Value::Null) => Err(missing("prompt")),
        Some(Value::String(text)) => Ok(vec![text_prompt(text)]),
        Some(Value::Array(items)) if items.is_empty() => {
            Err(invalid_request("[] is too short - 'prompt'", Some("prompt")))
        }
        Some(Value::Array(items)) if items.len() > MAX_PROMPTS && !items[0].is_number() => Err(invalid_request(
            &format!("'prompt' has {} items; at most {MAX_PROMPTS} are allowed.", items.len()),
            Some("prompt"),
        )),
        Some(Value::Array(items)) => match &items[0] {
            Value::Number(_) => Ok(vec![token_prompt(items, "prompt")?]),
            _ => items
                .iter()
                .map(|item| match item {
                    Value::String(text) => Ok(text_prompt(text)),
                    Value::Array(tokens) => token_prompt(tokens, "prompt"),
                    _ => Err(invalid()),
                })
                .collect(),
        },
        Some(_) => Err(invalid()),
    }
}

/// Validates the request and decides the answers.
fn plan(req: &Map<String, Value>, settings: &Settings) -> Result<Plan, ApiError> {
    let model = request::model(req)?;
    let prompts = prompts(req)?;
    let stream = flag(req, "stream")?;
    let include_usage = include_usage(req, stream)?;
    let limit = max_tokens(req, &["max_tokens"])?.unwrap_or(usize::MAX);
    let length = if settings.fault == Some(Fault::Empty) { 0 } else { settings.output_tokens };
    let choices = prompts
        .iter()
        .map(|&(seed, chinese, _)| {
            let mut tokens = answer_seeded(seed, chinese, length);
            let finish = if tokens.truncate(limit) { "length" } else { "stop" };
            (tokens, finish)
        })
        .collect();
    let prompt_tokens = prompts.iter().map(|&(_, _, count)| count).sum();
    Ok(Plan { model: model.to_owned(), stream, include_usage, prompt_tokens, choices })
}

fn push_usage(out: &mut String, prompt: usize, completion: usize) {
    out.push_str("{\"prompt_tokens\":");
    push_num(out, prompt);
    out.push_str(",\"completion_tokens\":");
    push_num(out, completion);
    out.push_str(",\"total_tokens\":");
    push_num(out, prompt + completion);
    out.push('}');
}

fn push_head(out: &mut String, n: u64, created: u64, model: &str) {
    out.push_str("\"id\":\"cmpl-mock-");
    push_num(out, n);
    out.push_str("\",\"object\":\"text_completion\",\"created\":");
    push_num(out, created);
    out.push_str(",\"model\":");
    push_json_str(out, model);
    out.push_str(",\"system_fingerprint\":\"fp_mock\"");
}

/// `{"text":…,"index":…,"logprobs":null,"finish_reason":…}`.
fn push_choice(out: &mut String, text: &str, index: usize, finish_reason: Option<&str>) {
    out.push_str("{\"text\":");
    push_json_str(out, text);
    out.push_str(",\"index\":");
    push_num(out, index);
    out.push_str(",\"logprobs\":null,\"finish_reason\":");
    match finish_reason {
        Some(reason) => {
            out.push('"');
            out.push_str(reason);
            out.push('"');
        }
        None => out.push_str("null"),
    }
    out.push('}');
}

/// The non-stream `text_completion` object.
fn render_full(plan: &Plan, n: u64, created: u64, usage: bool) -> String {
    let text_len: usize = plan.choices.iter().map(|(tokens, _)| tokens.text().len() + 80).sum();
    let mut out = String::with_capacity(256 + plan.model.len() + text_len * 11 / 10);
    out.push('{');
    push_head(&mut out, n, created, &plan.model);
    out.push_str(",\"choices\":[");
    for (index, (tokens, finish)) in plan.choices.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        push_choice(&mut out, tokens.text(), index, Some(finish));
    }
    out.push(']');
    if usage {
        out.push_str(",\"usage\":");
        push_usage(&mut out, plan.prompt_tokens, plan.completion_tokens());
    }
    out.push('}');
    out
}

/// The `text_completion` events, paced like chat chunks: each choice's tokens then its finish chunk (choices
/// one after the other), the usage chunk when asked for, `[DONE]`; a `cut` fault stops after its chunks.
fn render_stream(plan: &Plan, settings: &Settings, n: u64, created: u64, guard: RequestGuard) -> PacedBody {
    let with_usage = plan.include_usage && settings.usage;
    let mut prefix = String::with_capacity(160 + plan.model.len());
    prefix.push_str("data: {");
    push_head(&mut prefix, n, created, &plan.model);
    prefix.push_str(",\"choices\":[");
    let suffix = if with_usage { "],\"usage\":null}\n\n" } else { "]}\n\n" };

    let units = plan.completion_tokens();
    let cut = match settings.fault {
        Some(Fault::Cut { after_chunks }) => Some(after_chunks.min(units)),
        _ => None,
    };
    let budget = cut.unwrap_or(usize::MAX);
    let mut events =
        Events::with_capacity((prefix.len() + suffix.len() + 80) * (units + 2 * plan.choices.len() + 2), units + 2);
    let mut sent = 0;
    'choices: for (index, (tokens, finish)) in plan.choices.iter().enumerate() {
        for token in tokens.iter() {
            if sent == budget {
                break 'choices;
            }
            let out = events.buf();
            out.push_str(&prefix);
            push_choice(out, token, index, None);
            out.push_str(suffix);
            events.mark(settings.due(sent));
            sent += 1;
        }
        if sent == budget {
            break;
        }
        let out = events.buf();
        out.push_str(&prefix);
        push_choice(out, "", index, Some(finish));
        out.push_str(suffix);
    }
    if sent == 0 {
        events.mark(settings.due(0));
    }
    if cut.is_some() {
        return events.into_body(Ending::Cut, guard);
    }
    let out = events.buf();
    if with_usage {
        out.push_str(&prefix);
        out.push_str("],\"usage\":");
        push_usage(out, plan.prompt_tokens, units);
        out.push_str("}\n\n");
    }
    events.done();
    events.into_body(Ending::Finish, guard)
}
