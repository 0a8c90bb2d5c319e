//! `POST /v1/completions` (the legacy text API): `prompt` as a string, an array of strings, a token array
//! or an array of token arrays (one choice per prompt), answered as one `text_completion` object or as
//! `text_completion` server-sent events.

use serde_json::{Map, Value};

use crate::chunks::Chunks;
use crate::config::MockConfig;
use crate::endpoint::{Answer, Endpoint};
use crate::request::{self, flag, include_usage, max_tokens, missing, now_secs, wrong_type, Settings};
use crate::text::{answer_seeded, contains_cjk, count_tokens, hash64, Tokens};
use crate::wire::{
    invalid_request, push_head, push_json_opt, push_json_str, push_list, push_num, push_usage, ApiError,
};

/// Completion ids are `cmpl-mock-<n>`.
const ID_PREFIX: &str = "cmpl-mock-";
/// The most prompts (choices) one request may have.
const MAX_PROMPTS: usize = 128;

/// A validated request and its answers (one choice per prompt).
#[derive(Debug)]
pub(crate) struct Plan {
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

/// The legacy completions [`Endpoint`].
#[derive(Debug)]
pub(crate) struct Completions;

impl Endpoint for Completions {
    type Plan = Plan;

    /// Validates the request and decides the answers.
    fn plan(_: &MockConfig, req: &Map<String, Value>, settings: &Settings) -> Result<Plan, ApiError> {
        let model = request::model(req)?;
        let prompts = prompts(req)?;
        let stream = flag(req, "stream")?;
        let include_usage = include_usage(req, stream)?;
        let limit = max_tokens(req, &["max_tokens"])?.unwrap_or(usize::MAX);
        let length = settings.answer_length();
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

    fn model(plan: &Plan) -> &str {
        &plan.model
    }

    fn answer(plan: Plan, settings: &Settings, n: u64) -> Answer {
        let created = now_secs();
        if plan.stream {
            return render_stream(&plan, settings, n, created);
        }
        let body = render_full(&plan, n, created, settings.usage);
        let longest = plan.choices.iter().map(|(tokens, _)| tokens.len()).max().unwrap_or(0);
        Answer::Json { body, after: settings.generation_time(longest) }
    }
}

/// `{"text":…,"index":…,"logprobs":null,"finish_reason":…}`.
fn push_choice(out: &mut String, text: &str, index: usize, finish_reason: Option<&str>) {
    out.push_str("{\"text\":");
    push_json_str(out, text);
    out.push_str(",\"index\":");
    push_num(out, index);
    out.push_str(",\"logprobs\":null,\"finish_reason\":");
    push_json_opt(out, finish_reason);
    out.push('}');
}

/// The non-stream `text_completion` object.
fn render_full(plan: &Plan, n: u64, created: u64, usage: bool) -> String {
    let text_len: usize = plan.choices.iter().map(|(tokens, _)| tokens.text().len() + 80).sum();
    let mut out = String::with_capacity(256 + plan.model.len() + text_len * 11 / 10);
    out.push('{');
    push_head(&mut out, ID_PREFIX, n, "text_completion", created, &plan.model);
    out.push_str(",\"choices\":[");
    push_list(&mut out, plan.choices.iter().enumerate(), |out, (index, (tokens, finish))| {
        push_choice(out, tokens.text(), index, Some(finish));
    });
    out.push(']');
    if usage {
        out.push_str(",\"usage\":");
        push_usage(&mut out, plan.prompt_tokens, Some(plan.completion_tokens()), "");
    }
    out.push('}');
    out
}

/// The `text_completion` events (see [`Chunks`]), paced like chat chunks: each choice's tokens then its
/// finish chunk (choices one after the other), the usage chunk when asked for, `[DONE]`; a `cut` fault stops
/// after its chunks.
fn render_stream(plan: &Plan, settings: &Settings, n: u64, created: u64) -> Answer {
    let units = plan.completion_tokens();
    let mut chunks = Chunks::new(settings, plan.include_usage, units, 2 * plan.choices.len() + 2, |out| {
        push_head(out, ID_PREFIX, n, "text_completion", created, &plan.model);
    });
    'choices: for (index, (tokens, finish)) in plan.choices.iter().enumerate() {
        for token in tokens.iter() {
            if !chunks.content(|out| push_choice(out, token, index, None)) {
                break 'choices;
            }
        }
        if chunks.cut_reached() {
            break;
        }
        chunks.chunk(|out| push_choice(out, "", index, Some(finish)));
    }
    chunks.end(|out| push_usage(out, plan.prompt_tokens, Some(units), ""))
}
