//! Command-line interface.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "llmscope", version, about = "LLM observability and log audit in one binary")]
pub struct Cli {
    /// Config file (TOML). Default: $LLMSCOPE_CONFIG, else ./llmscope.toml if present.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Data directory of the embedded store. Default: $LLMSCOPE_DATA_DIR, else ./llmscope-data.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import JSONL log files (plain or .gz; every known format, detected per line).
    Import(ImportArgs),
    /// Report on the stored calls (Markdown, JSON or HTML, with charts).
    Report(ReportArgs),
    /// List stored calls, to read the calls behind a number.
    Calls(CallsArgs),
    /// Generate realistic synthetic logs (deterministic for a seed).
    Gen(GenArgs),
    /// Check the configuration and print the effective values.
    Config(ConfigArgs),
    /// Run the server: the OpenAI-compatible logging proxy (/v1) and the ingest API.
    Serve(ServeArgs),
    /// Run a mock OpenAI-compatible LLM server (for tests, demos and benchmarks).
    MockLlm(MockArgs),
    /// Serve with a mock upstream and live generated traffic, to see llmscope at work.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:4000; env LLMSCOPE_LISTEN).
    #[arg(long)]
    pub listen: Option<String>,
    /// Base URL of the catch-all upstream, e.g. http://127.0.0.1:8000/v1 (env LLMSCOPE_UPSTREAM_URL).
    #[arg(long)]
    pub upstream: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct MockArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8001")]
    pub listen: String,
    /// Fixed delay before anything is produced, in ms.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Time to first token, in ms.
    #[arg(long, default_value_t = 50)]
    pub ttft_ms: u64,
    /// Tokens per second after the first (0 = as fast as possible).
    #[arg(long, default_value_t = 200.0)]
    pub tokens_per_s: f64,
    /// Default answer length in tokens.
    #[arg(long, default_value_t = 40)]
    pub output_tokens: usize,
    /// Report no `usage` (like upstreams that do not count).
    #[arg(long)]
    pub no_usage: bool,
    /// Probability that a request gets one of --faults.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Comma-separated faults: status=500, status=429, cut=3, hang, first-byte-ms=200, bad-json, empty.
    #[arg(long, default_value = "")]
    pub faults: String,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Require `Authorization: Bearer <key>` with the key read from this environment variable.
    #[arg(long)]
    pub api_key_env: Option<String>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address the llmscope server listens on.
    #[arg(long, default_value = "127.0.0.1:4000")]
    pub listen: String,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub duration: Option<u64>,
    /// Requests per second of generated traffic.
    #[arg(long, default_value_t = 4.0)]
    pub rate: f64,
    /// Simulated users.
    #[arg(long, default_value_t = 12)]
    pub users: u32,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Files to import (`-`: standard input, e.g. `zcat logs.gz | llmscope import -`). An
    /// OpenAI Batch input file (its first line a request) is read first and joined by
    /// custom_id to the Batch output lines of the other files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Zone of timestamps written without an offset (IANA name); not seed 004's `time`, which
    /// its formatter writes in UTC.
    #[arg(long)]
    pub assume_tz: Option<String>,
    /// Where to place answers that carry no time (OpenAI Batch output: failed requests and
    /// embeddings), e.g. the batch's completion time `2026-11-01T12:00:00Z` or `2h` (ago).
    /// Without it such lines are rejected, saying so.
    #[arg(long, value_name = "TIME")]
    pub undated_at: Option<String>,
    /// Where rejected lines are copied (default: <data-dir>/rejects).
    #[arg(long)]
    pub rejects_dir: Option<PathBuf>,
    /// Never draw a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Filters shared by `report` and `calls`.
#[derive(Debug, Args, Clone, Default)]
pub struct FilterArgs {
    /// Start of the window: RFC 3339, `YYYY-MM-DD[ HH:MM[:SS]]` (in --tz), or a duration ago (`24h`, `7d`).
    #[arg(long)]
    pub since: Option<String>,
    /// End of the window (exclusive), same forms as --since.
    #[arg(long)]
    pub until: Option<String>,
    /// Only these models (repeatable: any of them).
    #[arg(long)]
    pub model: Vec<String>,
    /// Only these users (repeatable: any of them).
    #[arg(long)]
    pub user: Vec<String>,
    /// Only these sessions (repeatable: any of them).
    #[arg(long)]
    pub session: Vec<String>,
    /// Only calls with this status: ok, error, cancelled.
    #[arg(long)]
    pub status: Option<String>,
    /// Only calls carrying this flag (repeatable: every one of them): empty_response, malformed_json,
    /// invalid_tool_args, truncated, error.
    #[arg(long)]
    pub flag: Vec<String>,
    /// Only calls carrying this tag (repeatable: every one of them).
    #[arg(long)]
    pub tag: Vec<String>,
    /// Case-insensitive text search in the question (the last user message or the prompt), the
    /// output and the error message.
    #[arg(long)]
    pub search: Option<String>,
    /// Time zone for hours, days and naive times on the command line (IANA name).
    #[arg(long)]
    pub tz: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// markdown, json or html.
    #[arg(long, default_value = "markdown")]
    pub format: String,
    /// Write the report (and its charts) into this directory instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CallsArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Calls whose id starts with this.
    #[arg(long)]
    pub id: Option<String>,
    /// Calls of this trace.
    #[arg(long)]
    pub trace: Option<String>,
    /// table or jsonl (one full call record per line; re-importable).
    #[arg(long, default_value = "table")]
    pub format: String,
    /// newest, oldest or slowest.
    #[arg(long, default_value = "newest")]
    pub order: String,
    /// At most this many calls (0: only count them).
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct GenArgs {
    /// seed000-basic, seed000-enhanced, seed001, seed004, openai (request/response pairs),
    /// mixed (those five, one chosen per line), openai-batch (Batch API output lines; the
    /// failed ones carry no time, so `import` rejects them, saying why), openai-batch-input (the
    /// requests of the same configuration's openai-batch lines: import both together to join
    /// them), openai-response (responses logged on their own, without the prompt), native
    /// (llmscope's own records), litellm (LiteLLM's logging payload), langfuse (Langfuse
    /// generations, as its API exports observations), bedrock (Amazon Bedrock model
    /// invocation log records), or anthropic, ollama or gemini (request/response pairs whose
    /// bodies are in that provider's own shapes: Anthropic Messages, Ollama `/api/chat`,
    /// Gemini `generateContent`).
    #[arg(long, default_value = "mixed")]
    pub format: String,
    /// Number of calls (lines).
    #[arg(long, default_value_t = 10_000)]
    pub lines: u64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// First day (UTC), YYYY-MM-DD.
    #[arg(long, default_value = "2025-01-06")]
    pub start: String,
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    #[arg(long, default_value_t = 200)]
    pub users: u32,
    /// UTC offset of the app's local time, in hours (daily curve, naive timestamps).
    #[arg(long, default_value_t = 8, allow_hyphen_values = true)]
    pub tz_offset: i32,
    /// Output file (`.gz` compresses); standard output when absent.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// List the environment variables llmscope reads.
    #[arg(long)]
    pub env: bool,
}
