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
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Files to import.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Zone of timestamps written without an offset (IANA name).
    #[arg(long)]
    pub assume_tz: Option<String>,
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
    /// Only these models (repeatable).
    #[arg(long)]
    pub model: Vec<String>,
    /// Only these users (repeatable).
    #[arg(long)]
    pub user: Vec<String>,
    /// Only these sessions (repeatable).
    #[arg(long)]
    pub session: Vec<String>,
    /// Only calls with this status: ok, error, cancelled.
    #[arg(long)]
    pub status: Option<String>,
    /// Only calls carrying this flag (repeatable): empty_response, malformed_json, invalid_tool_args, truncated, error.
    #[arg(long)]
    pub flag: Vec<String>,
    /// Only calls carrying this tag (repeatable).
    #[arg(long)]
    pub tag: Vec<String>,
    /// Case-insensitive text search in input and output.
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
    /// At most this many calls.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct GenArgs {
    /// seed000-basic, seed000-enhanced, seed001, seed004, openai or mixed.
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
