//! The report: a stable, documented JSON contract (`docs/report-schema.md`). Fields are only
//! ever added; `schema_version` changes if one is removed or changes meaning.

use chrono::{DateTime, NaiveDate, Utc};
use llmscope_core::store::{CallBrief, HistogramBucket, SessionSummary};
use serde::{Deserialize, Serialize};

pub const REPORT_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub generated_at: DateTime<Utc>,
    pub window: Window,
    pub requests: Requests,
    pub latency_ms: Latency,
    pub ttft_ms: Ttft,
    pub throughput_tokens_per_s: Throughput,
    pub tokens: Tokens,
    pub cost: Cost,
    pub by_model: Vec<ModelRow>,
    /// 24 rows, hour of day 0–23 in the report's time zone.
    pub by_hour: Vec<HourRow>,
    pub by_day: Vec<DayRow>,
    /// 7 × 24 rows, weekday 0 = Monday.
    pub by_weekday_hour: Vec<WeekdayHourRow>,
    pub users: Users,
    pub sessions: SessionSummary,
    pub errors: Errors,
    /// Most frequent questions, exact after trimming.
    pub top_questions: Vec<QuestionRow>,
    /// Most frequent questions after normalising case, whitespace, punctuation and trailing
    /// numbers; `question` is the most frequent spelling.
    pub top_questions_normalised: Vec<QuestionRow>,
    pub compliance: Compliance,
    pub latency_histogram: Vec<HistogramBucket>,
    pub slowest_calls: Vec<CallBrief>,
    /// Each problem found, with the calls behind it.
    pub problems: Vec<Problem>,
    pub suggestions: Vec<Suggestion>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// As asked (`null` = unbounded).
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// IANA zone used for hours and days.
    pub tz: String,
    pub first_call: Option<DateTime<Utc>>,
    pub last_call: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Requests {
    pub total: u64,
    /// Calls with status `error`.
    pub errors: u64,
    /// `errors / total` (0 when there are no calls).
    pub error_rate: f64,
    pub cancelled: u64,
    /// Calls whose output is empty after trimming, failed calls included.
    pub empty_output: u64,
    /// Calls with status `ok` whose output is not known to be empty.
    pub success: u64,
    pub success_rate: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub avg: Option<f64>,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ttft {
    pub avg: Option<f64>,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    /// Mean over calls of `output_tokens / (latency_ms / 1000)`.
    pub avg: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tokens {
    pub input_total: u64,
    pub output_total: u64,
    pub cached_total: u64,
    /// Input tokens written to the prompt cache (part of `input_total`).
    pub cache_write_total: u64,
    /// Averages over the calls that report the count.
    pub input_avg: Option<f64>,
    pub output_avg: Option<f64>,
    /// Calls whose tokens llmscope counted because the source reported none.
    pub counted_calls: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    /// Cost of the priced models, USD.
    pub total_usd: f64,
    pub by_model: Vec<ModelCost>,
    /// Models with calls but no price: their cost is unknown, not zero.
    pub unpriced_models: Vec<UnpricedModel>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCost {
    pub model: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_tokens: u64,
    pub cache_write_tokens: u64,
    pub usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnpricedModel {
    pub model: String,
    pub requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRow {
    pub model: String,
    pub requests: u64,
    /// Share of all requests, 0–1.
    pub share: f64,
    pub errors: u64,
    pub error_rate: f64,
    pub empty_output: u64,
    pub latency_ms: Latency,
    pub ttft_ms: Ttft,
    pub throughput_tokens_per_s: Throughput,
    pub tokens: Tokens,
    /// `null` when the model has no price.
    pub cost_usd: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HourRow {
    pub hour: u32,
    pub requests: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayRow {
    pub day: NaiveDate,
    pub requests: u64,
    pub errors: u64,
    pub latency_ms: Latency,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeekdayHourRow {
    pub weekday: u32,
    pub hour: u32,
    pub requests: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Users {
    /// Distinct user ids in the window.
    pub active: u64,
    /// Calls that carry no user id.
    pub calls_without_user: u64,
    pub top: Vec<UserRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRow {
    pub user: String,
    pub requests: u64,
    pub sessions: u64,
    pub errors: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Errors {
    pub by_status_code: Vec<KeyCount>,
    pub by_kind: Vec<KeyCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyCount {
    pub key: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuestionRow {
    pub question: String,
    pub count: u64,
    /// Different spellings grouped together (1 for exact grouping).
    pub variants: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Compliance {
    /// Calls whose output is empty after trimming (seed 001's `empty_response`).
    pub empty_response: u64,
    /// JSON output requested and the output does not parse.
    pub malformed_json: u64,
    pub json_mode_calls: u64,
    /// `malformed_json / json_mode_calls`.
    pub malformed_json_rate: f64,
    pub invalid_tool_args: u64,
    /// `finish_reason = length`.
    pub truncated: u64,
    /// Every flag and its count (includes the checks added by the audit).
    pub flags: Vec<KeyCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// `error`, `empty_response`, `malformed_json`, `invalid_tool_args`, `truncated`, `slow`.
    pub kind: String,
    pub count: u64,
    pub examples: Vec<CallBrief>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    pub severity: Severity,
    /// What to do, in one sentence.
    pub message: String,
    /// The numbers behind it.
    pub evidence: String,
}
