//! Deterministic synthetic LLM-call logs for tests, demos and benchmarks.
//!
//! [`generate`] writes `cfg.calls` JSON lines, in non-decreasing time order
//! over `[start, start + days)`, in one of fourteen log formats — the formats the
//! importer reads, other providers' own request/response pairs among them — or a
//! mix of five of them, one format chosen per line, or as the Batch input file of
//! the Batch output lines of the same configuration. The same [`GenConfig`] always
//! gives the same bytes; the format only changes how the calls are written, not which
//! calls there are (ids drawn for a format aside).
//!
//! The traffic follows a daily curve in the app's local time, with Zipf-skewed
//! users and prompts, multi-turn sessions, five models with their own latency,
//! Chinese and English prompts, and planted faults: errors, empty and
//! truncated answers, JSON-mode output (some broken), refusals, jailbreak
//! attempts, tool calls (some with invalid arguments) and PII.
//!
//! ```
//! let cfg = llmscope_gen::GenConfig { calls: 100, ..Default::default() };
//! let mut out = Vec::new();
//! let stats = llmscope_gen::generate(&cfg, &mut out)?;
//! assert_eq!(stats.lines, 100);
//! assert_eq!(stats.bytes, out.len() as u64);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::io::{self, BufWriter, Write};
use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod answers;
mod anthropic;
mod bedrock;
mod call;
mod corpus;
mod corpus_code;
mod corpus_en;
mod corpus_zh;
mod formats;
mod gemini;
mod json;
mod langfuse;
mod litellm;
mod native;
mod ollama;
pub mod pii;
mod stamp;
mod traffic;

#[cfg(test)]
mod test_lines;
#[cfg(test)]
mod tests;

/// The log format of the generated lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// seed000's Chainlit log: `timestamp` (naive local), `user_input`,
    /// `model_response`, `metadata{...}`.
    Seed000Basic,
    /// seed000's flat EnhancedLogEntry.
    Seed000Enhanced,
    /// seed001: epoch-second `timestamp`, `level`, `request_id`, `input`,
    /// `output`, `metadata{...}`.
    Seed001,
    /// seed004: a Python json_log_formatter line, no texts.
    Seed004,
    /// An OpenAI chat-completion request/response pair.
    OpenAiPair,
    /// Each line in one of the five formats above, chosen at random.
    Mixed,
    /// An OpenAI Batch API output line (the answer without its prompt). Failed
    /// requests are written as the real files have them, with no time: the
    /// importer rejects them, saying why.
    OpenAiBatch,
    /// An OpenAI response on its own, as the Python SDK's `model_dump_json()`
    /// writes it: a chat completion or a Responses API response (a failed call
    /// is a Responses API response with `status: "failed"`).
    OpenAiResponse,
    /// llmscope's own call record, as the ingest API takes it and `llmscope
    /// calls --format jsonl` writes it.
    Native,
    /// The Batch API input file of the same calls as [`Format::OpenAiBatch`]
    /// (same configuration): each line the request its output line answers.
    OpenAiBatchInput,
    /// LiteLLM's `StandardLoggingPayload`, as the LiteLLM proxy logs each call.
    LiteLlm,
    /// A Langfuse generation, as Langfuse's public API and exports give observations.
    Langfuse,
    /// An Amazon Bedrock model invocation log record (`Converse` / `ConverseStream`).
    Bedrock,
    /// An Anthropic Messages API request/response pair, in Anthropic's own shapes.
    Anthropic,
    /// An Ollama `/api/chat` request/response pair, in Ollama's own shapes.
    Ollama,
    /// A Google Gemini `generateContent` request/response pair, in Google's own shapes.
    Gemini,
}

impl Format {
    /// Every format, in the order of their names in [`Format::name`].
    pub const ALL: [Format; 16] = [
        Format::Seed000Basic,
        Format::Seed000Enhanced,
        Format::Seed001,
        Format::Seed004,
        Format::OpenAiPair,
        Format::Mixed,
        Format::OpenAiBatch,
        Format::OpenAiResponse,
        Format::Native,
        Format::OpenAiBatchInput,
        Format::LiteLlm,
        Format::Langfuse,
        Format::Bedrock,
        Format::Anthropic,
        Format::Ollama,
        Format::Gemini,
    ];

    /// The format's name, as accepted by [`FromStr`].
    pub fn name(self) -> &'static str {
        match self {
            Format::Seed000Basic => "seed000-basic",
            Format::Seed000Enhanced => "seed000-enhanced",
            Format::Seed001 => "seed001",
            Format::Seed004 => "seed004",
            Format::OpenAiPair => "openai",
            Format::Mixed => "mixed",
            Format::OpenAiBatch => "openai-batch",
            Format::OpenAiResponse => "openai-response",
            Format::Native => "native",
            Format::OpenAiBatchInput => "openai-batch-input",
            Format::LiteLlm => "litellm",
            Format::Langfuse => "langfuse",
            Format::Bedrock => "bedrock",
            Format::Anthropic => "anthropic",
            Format::Ollama => "ollama",
            Format::Gemini => "gemini",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown format name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format {0:?} (expected one of: seed000-basic, seed000-enhanced, seed001, seed004, openai, mixed, openai-batch, openai-batch-input, openai-response, native, litellm, langfuse, bedrock, anthropic, ollama, gemini)")]
pub struct ParseFormatError(pub String);

impl FromStr for Format {
    type Err = ParseFormatError;

    /// Case-insensitive; surrounding whitespace is ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(t))
            .ok_or_else(|| ParseFormatError(s.to_string()))
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenConfig {
    pub seed: u64,
    /// Number of lines (calls).
    pub calls: u64,
    /// Start of the time window.
    pub start: DateTime<Utc>,
    /// Length of the time window in days; must be at least 1.
    pub days: u32,
    /// Number of distinct users; must be at least 1.
    pub users: u32,
    pub format: Format,
    /// The app's local zone, for the daily curve and the naive local
    /// timestamps of the seed000 formats.
    pub tz_offset_hours: i32,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            seed: 42,
            calls: 10_000,
            start: Utc.with_ymd_and_hms(2025, 1, 6, 0, 0, 0).single().unwrap_or(DateTime::UNIX_EPOCH),
            days: 7,
            users: 200,
            format: Format::Mixed,
            tz_offset_hours: 8,
        }
    }
}

/// What was generated. The counts are ground truth about the calls, whatever
/// the format shows: seed004 lines carry no texts, and seed000 lines show no
/// JSON-mode flag, so an importer can only recover some of them per format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GenStats {
    pub lines: u64,
    /// Failed calls (HTTP 429/500/502/503 or timeouts).
    pub errors: u64,
    /// Successful calls that returned an empty answer.
    pub empty_outputs: u64,
    /// Requests in JSON mode (`response_format: json_object`), failed or not.
    pub json_mode: u64,
    /// Successful JSON-mode calls whose answer does not parse as JSON.
    pub broken_json: u64,
    /// Calls with PII in the new user message or in the answer.
    pub with_pii: u64,
    /// Successful calls whose answer is a refusal.
    pub refusals: u64,
    /// Calls whose new user message is a jailbreak attempt.
    pub jailbreaks: u64,
    /// Bytes written, newlines included.
    pub bytes: u64,
}

/// The formats `Mixed` chooses from.
const CONCRETE: [Format; 5] =
    [Format::Seed000Basic, Format::Seed000Enhanced, Format::Seed001, Format::Seed004, Format::OpenAiPair];

/// Writes `cfg.calls` JSON lines to `out` (buffered here) and returns what
/// was generated. Fails on a write error, or with `InvalidInput` when
/// `cfg.days` or `cfg.users` is zero while calls are asked for.
pub fn generate<W: Write>(cfg: &GenConfig, out: W) -> io::Result<GenStats> {
    let mut stats = GenStats::default();
    if cfg.calls == 0 {
        return Ok(stats);
    }
    if cfg.days == 0 || cfg.users == 0 {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "days and users must be at least 1"));
    }
    let mut w = BufWriter::with_capacity(1 << 20, out);
    let mut gen = call::Generator::new(cfg);
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    rng.set_stream(4);
    let mut scratch = formats::Scratch::default();
    let mut buf = Vec::with_capacity(16 * 1024);
    while let Some((session, c)) = gen.next_call() {
        let fmt = match cfg.format {
            Format::Mixed => CONCRETE[rng.gen_range(0..CONCRETE.len())],
            f => f,
        };
        let line = formats::Line {
            call: &c,
            session: &session,
            user_id: &gen.users.ids[session.user],
            logged: gen.users.logged[session.user],
            tz_hours: cfg.tz_offset_hours,
            index: stats.lines + 1,
        };
        buf.clear();
        formats::write(fmt, &line, &mut rng, &mut scratch, &mut buf);
        buf.push(b'\n');
        w.write_all(&buf)?;
        stats.lines += 1;
        stats.bytes += buf.len() as u64;
        stats.errors += u64::from(c.failure.is_some());
        stats.empty_outputs += u64::from(c.empty);
        stats.json_mode += u64::from(c.json_mode);
        stats.broken_json += u64::from(c.broken_json);
        stats.with_pii += u64::from(c.pii);
        stats.refusals += u64::from(c.refusal);
        stats.jailbreaks += u64::from(c.jailbreak);
        gen.finish(session, c);
    }
    w.flush()?;
    Ok(stats)
}
