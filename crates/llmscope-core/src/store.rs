//! The storage traits. Each backend (embedded DuckDB, ClickHouse) implements all of them; the
//! rest of llmscope only ever sees these traits.
//!
//! - [`CallSink`]: append batches of calls; an `Ok` return means the batch is durable.
//!   [`BulkLoad`]: an import's appends, durable at each commit.
//! - [`CallReader`]: list calls for people to read.
//! - [`Analytics`]: the aggregate queries reports and dashboards are built from. Every
//!   aggregate runs inside the database; only small results cross the trait.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::assessment::Assessment;
use crate::call::Call;
use crate::filter::CallFilter;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The embedded store's file is held by another process (usually a running server).
    #[error("the data directory {path} is in use by another llmscope process{holder}; stop it, or reach the data through the running server's API")]
    Locked { path: String, holder: String },
    /// The stored schema is newer than this binary understands.
    #[error(
        "the store at {path} has schema version {found}, newer than this llmscope ({supported}); upgrade llmscope"
    )]
    SchemaTooNew { path: String, found: i64, supported: i64 },
    #[error("bad query: {0}")]
    BadQuery(String),
    #[error("storage backend error: {0}")]
    Backend(String),
}

/// What an append did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendOutcome {
    /// Rows newly written.
    pub inserted: u64,
    /// Rows skipped because a call with the same id was already stored.
    pub duplicates: u64,
}

/// A batch of calls made ready for one backend's append, on any thread: an import prepares
/// the next batch on its reading thread while the store appends this one (for DuckDB,
/// building the columnar batch, which would otherwise sit on the appending thread). What it
/// holds is the backend's business; the default keeps the calls as they are.
pub struct PreparedCalls {
    len: usize,
    payload: Box<dyn std::any::Any + Send>,
}

impl PreparedCalls {
    /// A backend's own form of `len` calls.
    pub fn new<T: std::any::Any + Send>(len: usize, payload: T) -> Self {
        PreparedCalls { len, payload: Box::new(payload) }
    }

    /// The calls as they are.
    pub fn from_calls(calls: Vec<Call>) -> Self {
        PreparedCalls::new(calls.len(), calls)
    }

    /// Calls in the batch.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The payload, if it is a `T`.
    pub fn payload<T: std::any::Any>(&self) -> Option<&T> {
        self.payload.downcast_ref()
    }

    /// The calls, when the batch holds them as they are.
    pub fn calls(&self) -> Option<&[Call]> {
        self.payload::<Vec<Call>>().map(Vec::as_slice)
    }

    /// Appends calls `range` of a batch that holds the calls as they are (a backend's
    /// fallback for batches it did not prepare itself).
    pub fn append_as_calls(
        &self,
        range: std::ops::Range<usize>,
        append: impl FnOnce(&[Call]) -> Result<AppendOutcome, StoreError>,
    ) -> Result<AppendOutcome, StoreError> {
        let calls = self
            .calls()
            .ok_or_else(|| StoreError::Backend("a batch prepared for another store was handed to this one".into()))?;
        let part = calls
            .get(range.clone())
            .ok_or_else(|| StoreError::Backend(format!("calls {range:?} of a batch of {}", calls.len())))?;
        append(part)
    }
}

impl std::fmt::Debug for PreparedCalls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedCalls").field("len", &self.len).finish_non_exhaustive()
    }
}

/// A batch of calls being prepared, one call at a time ([`CallSink::preparer`]).
pub trait CallPreparer {
    /// Adds `call`, or gives it back when the batch has no room left for it: then the batch
    /// is finished and the call goes in the next one. A call given back by an empty batch is
    /// appended as it is ([`PreparedCalls::from_calls`]), the way that handles any call.
    fn add(&mut self, call: Call) -> Result<(), Box<Call>>;
    /// Calls added.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The prepared batch.
    fn finish(self: Box<Self>) -> PreparedCalls;
}

/// The default [`CallPreparer`]: the calls as they are.
#[derive(Debug, Default)]
pub struct HeldCalls(pub Vec<Call>);

impl CallPreparer for HeldCalls {
    fn add(&mut self, call: Call) -> Result<(), Box<Call>> {
        self.0.push(call);
        Ok(())
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn finish(self: Box<Self>) -> PreparedCalls {
        PreparedCalls::from_calls(self.0)
    }
}

/// Calls handed to a sink's [`CallPreparer`]s one at a time, in as many batches as they
/// need: a call a batch has no room for starts the next one, and a call even an empty batch
/// refuses becomes a batch of its own, as it is.
pub struct Preparing<'a> {
    sink: &'a dyn CallSink,
    /// The size hints for each batch ([`CallSink::preparer`]).
    calls: usize,
    bytes: usize,
    current: Box<dyn CallPreparer + 'a>,
    done: Vec<PreparedCalls>,
}

impl std::fmt::Debug for Preparing<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preparing").field("current", &self.current.len()).field("done", &self.done).finish()
    }
}

impl<'a> Preparing<'a> {
    pub fn new(sink: &'a dyn CallSink, calls: usize, bytes: usize) -> Self {
        Preparing { sink, calls, bytes, current: sink.preparer(calls, bytes), done: Vec::new() }
    }

    pub fn add(&mut self, call: Call) {
        let Err(call) = self.current.add(call) else { return };
        let call = if self.current.is_empty() {
            call
        } else {
            let full = std::mem::replace(&mut self.current, self.sink.preparer(self.calls, self.bytes));
            self.done.push(full.finish());
            match self.current.add(*call) {
                Ok(()) => return,
                Err(call) => call,
            }
        };
        self.done.push(PreparedCalls::from_calls(vec![*call]));
    }

    /// The prepared batches, in the calls' order.
    pub fn finish(mut self) -> Vec<PreparedCalls> {
        if !self.current.is_empty() {
            self.done.push(self.current.finish());
        }
        self.done
    }
}

/// Appends calls. Implementations commit each batch before returning `Ok`.
pub trait CallSink: Send + Sync {
    fn append_calls(&self, calls: &[Call]) -> Result<AppendOutcome, StoreError>;
    /// Appends calls whose ids were just generated at random (the proxy's): nothing stored
    /// can share them, so backends may skip the duplicate check. Repeats within the batch
    /// are still dropped.
    fn append_new_calls(&self, calls: &[Call]) -> Result<AppendOutcome, StoreError> {
        self.append_calls(calls)
    }
    fn append_assessments(&self, assessments: &[Assessment]) -> Result<u64, StoreError>;
    /// Starts a bulk load (an import). The default commits every append on its own; a
    /// backend that writes large loads more cheaply in one transaction (DuckDB writes whole
    /// row groups straight to its file instead of through its log) returns its own.
    fn bulk_load(&self) -> Result<Box<dyn BulkLoad + '_>, StoreError> {
        Ok(Box::new(EachBatch(self)))
    }
    /// Restarts the backend's own worker threads, if it has any, from the calling thread, so
    /// that they run at its scheduling priority (on Linux a thread starts with its creator's
    /// nice value). The server's recorder calls it after lowering its own priority: worker
    /// threads doing part of a checkpoint at the request handlers' priority would delay
    /// answers as much as the recorder itself did.
    fn restart_workers_here(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Brings the store's precomputed summaries (rollups) up to date, except for calls that
    /// started in `live` (the span still receiving calls; `None`: everything); returns how
    /// many units of work it did. Reads are exact either way (they summarise from the calls
    /// what is not rolled up); rolling up only makes them faster. The default has nothing to do.
    fn roll_up(&self, _live: Option<std::ops::Range<DateTime<Utc>>>) -> Result<usize, StoreError> {
        Ok(0)
    }
    /// Starts a batch of calls prepared for [`CallSink::append_prepared`] /
    /// [`BulkLoad::append_prepared`] one call at a time (see [`Preparing`]), for about `calls`
    /// calls read from `bytes` bytes of logs; it may be filled on another thread than the
    /// append. A parser adds each call as soon as it has it, while the call's data is still
    /// in the processor's cache. The default keeps the calls as they are.
    fn preparer(&self, calls: usize, _bytes: usize) -> Box<dyn CallPreparer + '_> {
        Box::new(HeldCalls(Vec::with_capacity(calls)))
    }
    /// Appends calls `range` of a batch this sink prepared, like [`CallSink::append_calls`].
    fn append_prepared(
        &self,
        batch: &PreparedCalls,
        range: std::ops::Range<usize>,
    ) -> Result<AppendOutcome, StoreError> {
        batch.append_as_calls(range, |calls| self.append_calls(calls))
    }
}

/// A bulk load: what is appended becomes durable at [`BulkLoad::commit`], or, for a backend
/// that commits behind the load, once [`BulkLoad::durable_commits`] counts that commit
/// (dropping the load without committing discards what it appended since the last commit).
/// Duplicates of stored calls, and of calls appended earlier in the load, are skipped.
pub trait BulkLoad {
    fn append_calls(&mut self, calls: &[Call]) -> Result<AppendOutcome, StoreError>;
    /// Appends calls `range` of a batch prepared by the sink this load came from.
    fn append_prepared(
        &mut self,
        batch: &PreparedCalls,
        range: std::ops::Range<usize>,
    ) -> Result<AppendOutcome, StoreError> {
        batch.append_as_calls(range, |calls| self.append_calls(calls))
    }
    fn append_assessments(&mut self, assessments: &[Assessment]) -> Result<u64, StoreError>;
    /// How many more calls (stored or repeats) the backend would like before the next
    /// commit; 0 means commit now. A loader splits its batches at this boundary.
    fn room(&self) -> usize;
    /// Makes everything appended so far durable, or, for a backend that commits behind the
    /// load, hands it over to be made durable while the next calls are appended; then the
    /// failure of an earlier commit may be returned here, or by the next call.
    fn commit(&mut self) -> Result<(), StoreError>;
    /// For a backend that commits behind the load: how many of its commits (in the order
    /// they were handed over by a `commit` that returned `Ok`) are durable so far. A failed
    /// commit is never counted, nor is any after it. `None`: each commit is durable when
    /// `commit` returns.
    fn durable_commits(&self) -> Option<u64> {
        None
    }
    /// Waits until every commit handed over is durable, or says why one is not (after
    /// which [`BulkLoad::durable_commits`] counts exactly those that are).
    fn sync(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Whether each append is durable when it returns (then a loader can count it as done
    /// at once instead of at the next commit).
    fn commits_each_append(&self) -> bool {
        false
    }
}

/// A bulk load that commits each append on its own (the default, and what a loader uses when
/// other writers must not wait for it).
pub struct EachBatch<'a, S: CallSink + ?Sized>(pub &'a S);

impl<S: CallSink + ?Sized> std::fmt::Debug for EachBatch<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EachBatch")
    }
}

impl<S: CallSink + ?Sized> BulkLoad for EachBatch<'_, S> {
    fn append_calls(&mut self, calls: &[Call]) -> Result<AppendOutcome, StoreError> {
        self.0.append_calls(calls)
    }
    fn append_prepared(
        &mut self,
        batch: &PreparedCalls,
        range: std::ops::Range<usize>,
    ) -> Result<AppendOutcome, StoreError> {
        self.0.append_prepared(batch, range)
    }
    fn append_assessments(&mut self, assessments: &[Assessment]) -> Result<u64, StoreError> {
        self.0.append_assessments(assessments)
    }
    fn room(&self) -> usize {
        usize::MAX
    }
    fn commit(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
    fn commits_each_append(&self) -> bool {
        true
    }
}

/// Order of a call listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOrder {
    #[default]
    NewestFirst,
    OldestFirst,
    SlowestFirst,
}

/// Where a page of a call listing ended: the last listed call's place in the order. The
/// next page lists the calls after it, so paging through a listing while calls are being
/// stored neither repeats nor skips one (calls stored meanwhile appear only if they sort
/// after the key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageKey {
    /// The call's start time, µs since the epoch.
    pub start_us: i64,
    pub id: String,
    /// The call's latency (the order [`CallOrder::SlowestFirst`] sorts by first), written as
    /// text so that it comes back exactly: serde_json reads some 17-digit numbers one unit
    /// in the last place off, and an inexact key would skip or repeat calls of that latency.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "exact_f64")]
    pub latency_ms: Option<f64>,
}

/// An `f64` as its shortest exact decimal text (a number is accepted too when reading).
mod exact_f64 {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(x) => s.serialize_str(&x.to_string()),
            None => s.serialize_none(),
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum TextOrNumber {
        Text(String),
        Number(f64),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        let v = match Option::<TextOrNumber>::deserialize(d)? {
            None => return Ok(None),
            Some(TextOrNumber::Number(n)) => n,
            Some(TextOrNumber::Text(t)) => {
                t.trim().parse::<f64>().map_err(|_| D::Error::custom(format!("{t:?} is not a number")))?
            }
        };
        if v.is_finite() {
            Ok(Some(v))
        } else {
            Err(D::Error::custom(format!("{v} is not a finite number")))
        }
    }
}

impl PageKey {
    /// The key of a listed call.
    pub fn of(call: &Call) -> Self {
        PageKey { start_us: call.start_time.timestamp_micros(), id: call.id.clone(), latency_ms: call.latency_ms }
    }

    /// What makes this key one no listing hands out (a time outside the years 1 to 9999),
    /// if anything. (Reading one refuses a latency that is not a finite number.)
    pub fn problem(&self) -> Option<String> {
        use chrono::Datelike;
        let in_range =
            chrono::DateTime::from_timestamp_micros(self.start_us).is_some_and(|t| (1..=9999).contains(&t.year()));
        (!in_range).then(|| format!("start_us {}: not a time between the years 1 and 9999", self.start_us))
    }
}

/// Reads calls back.
pub trait CallReader: Send + Sync {
    /// The first `limit` calls matching `filter` in `order`.
    fn list_calls(&self, filter: &CallFilter, order: CallOrder, limit: usize) -> Result<Vec<Call>, StoreError> {
        self.list_calls_after(filter, order, None, limit)
    }
    /// Like [`CallReader::list_calls`], starting after the call `after` names (a page
    /// boundary: [`PageKey::of`] the last call of the page before).
    fn list_calls_after(
        &self,
        filter: &CallFilter,
        order: CallOrder,
        after: Option<&PageKey>,
        limit: usize,
    ) -> Result<Vec<Call>, StoreError>;
    fn count_calls(&self, filter: &CallFilter) -> Result<u64, StoreError>;
    fn assessments_for(&self, call_ids: &[String]) -> Result<Vec<Assessment>, StoreError>;
}

/// A UTC-offset schedule for local-time grouping: `(from, offset_seconds)` segments sorted by
/// `from` (see [`crate::timeparse::offset_segments`]). Empty means UTC.
pub type TzShift = Vec<(DateTime<Utc>, i32)>;

/// The first and last start time of a set of calls.
pub type TimeRange = (DateTime<Utc>, DateTime<Utc>);

/// What to group calls by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupKey {
    /// Everything in one group (key `""`).
    All,
    Model,
    User,
    Session,
    /// HTTP status code (`""` when none).
    StatusCode,
    /// Error kind of failed calls (`""` when none).
    ErrorKind,
    /// Local calendar day `YYYY-MM-DD`.
    Day,
    /// Local `weekday,hour` with Monday = 0 (`"0,13"`).
    WeekdayHour,
}

/// Which measures a grouped query computes. Percentiles cost a sort per group; ask for them
/// only when the view shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Measures {
    pub percentiles: bool,
    /// Distinct users (a hash set per group), and distinct sessions for `GroupKey::User`.
    pub distinct: bool,
    /// Only `requests` (the call count); every other measure is left empty. A scan of the
    /// grouping columns alone.
    #[serde(default)]
    pub only_count: bool,
}

impl Measures {
    /// Everything.
    pub const ALL: Measures = Measures { percentiles: true, distinct: true, only_count: false };
    /// Counts, sums and averages only.
    pub const BASIC: Measures = Measures { percentiles: false, distinct: false, only_count: false };
    /// Counts, sums, averages and percentiles.
    pub const PERCENTILES: Measures = Measures { percentiles: true, distinct: false, only_count: false };
    /// The call count only.
    pub const COUNT: Measures = Measures { percentiles: false, distinct: false, only_count: true };
}

/// Aggregates of one group of calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupStats {
    pub key: String,
    pub requests: u64,
    /// Calls with status `error`.
    pub errors: u64,
    pub cancelled: u64,
    /// Calls whose output is empty after trimming (failed calls included).
    pub empty_output: u64,
    /// Calls with status `ok` and a non-empty output (or tool calls).
    pub success: u64,
    /// Distinct user ids (0 unless `Measures::distinct`).
    pub distinct_users: u64,
    /// Distinct session ids (0 unless `Measures::distinct` and grouping by user).
    pub distinct_sessions: u64,
    /// Calls that carry no user id.
    pub calls_without_user: u64,
    pub latency_avg: Option<f64>,
    pub latency_p50: Option<f64>,
    pub latency_p90: Option<f64>,
    pub latency_p95: Option<f64>,
    pub latency_p99: Option<f64>,
    pub latency_max: Option<f64>,
    pub ttft_avg: Option<f64>,
    pub ttft_p50: Option<f64>,
    pub ttft_p95: Option<f64>,
    pub ttft_p99: Option<f64>,
    /// Mean over calls of output tokens per second of latency.
    pub tokens_per_s_avg: Option<f64>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_tokens: u64,
    /// Input tokens written to the prompt cache (part of `input_tokens`).
    pub cache_write_tokens: u64,
    /// Calls that report input / output token counts (denominators of the averages).
    pub calls_with_input_tokens: u64,
    pub calls_with_output_tokens: u64,
    /// Calls whose token counts were counted by llmscope rather than reported.
    pub calls_tokens_counted: u64,
    pub json_mode_calls: u64,
    pub first_time: Option<DateTime<Utc>>,
    pub last_time: Option<DateTime<Utc>>,
}

/// A question and how often it was asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuestionCount {
    /// The question (for normalised grouping, the most frequent original spelling).
    pub question: String,
    pub count: u64,
    /// How many different spellings were grouped (1 for exact grouping).
    pub variants: u64,
}

/// Session aggregates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub sessions: u64,
    pub turns_avg: Option<f64>,
    pub turns_p50: Option<f64>,
    pub turns_max: u64,
    /// First call start to last call end, in seconds.
    pub duration_avg_s: Option<f64>,
    pub duration_p50_s: Option<f64>,
    pub duration_p95_s: Option<f64>,
    /// Calls that carry no session id.
    pub calls_without_session: u64,
}

/// One bucket of a histogram: values in `[lo, hi)`; the last bucket is `[lo, +∞)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistogramBucket {
    pub lo: f64,
    pub hi: Option<f64>,
    pub count: u64,
}

/// A one-line view of a call, for "the calls behind the number".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallBrief {
    pub id: String,
    pub trace_id: String,
    pub start_time: DateTime<Utc>,
    pub model: Option<String>,
    pub user_id: Option<String>,
    pub latency_ms: Option<f64>,
    pub status: String,
    pub error_kind: Option<String>,
    pub flags: Vec<String>,
    pub input_snippet: String,
    pub output_snippet: String,
    /// `file:line` for imported calls.
    pub source: Option<String>,
}

/// The report's overview of a window: every call, by model and by local day (with
/// percentiles), and the call count by local weekday × hour.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    /// `Measures::ALL`.
    pub all: GroupStats,
    /// `Measures::PERCENTILES`, most calls first.
    pub by_model: Vec<GroupStats>,
    /// `Measures::PERCENTILES`, by day.
    pub by_day: Vec<GroupStats>,
    /// `Measures::COUNT`, by weekday and hour.
    pub weekday_hour: Vec<GroupStats>,
}

/// [`Analytics::overview`] from four grouped queries.
pub fn overview_by_groups<A: Analytics + ?Sized>(
    store: &A,
    filter: &CallFilter,
    tz: &TzShift,
) -> Result<Overview, StoreError> {
    Ok(Overview {
        all: store.group_stats(filter, &GroupKey::All, tz, Measures::ALL, 0)?.into_iter().next().unwrap_or_default(),
        by_model: store.group_stats(filter, &GroupKey::Model, tz, Measures::PERCENTILES, 0)?,
        by_day: store.group_stats(filter, &GroupKey::Day, tz, Measures::PERCENTILES, 0)?,
        weekday_hour: store.group_stats(filter, &GroupKey::WeekdayHour, tz, Measures::COUNT, 0)?,
    })
}

/// The aggregate queries.
pub trait Analytics: Send + Sync {
    /// The report's overview. A backend with rollups answers it without reading every call.
    fn overview(&self, filter: &CallFilter, tz: &TzShift) -> Result<Overview, StoreError> {
        overview_by_groups(self, filter, tz)
    }

    /// Grouped aggregates, ordered by `requests` descending (in time order for `Day` and
    /// `WeekdayHour`), at most `limit` groups (`0` = all).
    fn group_stats(
        &self,
        filter: &CallFilter,
        key: &GroupKey,
        tz: &TzShift,
        measures: Measures,
        limit: usize,
    ) -> Result<Vec<GroupStats>, StoreError>;

    /// The most frequent questions both ways: (exact, normalised). A backend may find both
    /// in one pass.
    fn top_questions_both(
        &self,
        filter: &CallFilter,
        limit: usize,
    ) -> Result<(Vec<QuestionCount>, Vec<QuestionCount>), StoreError> {
        Ok((self.top_questions(filter, false, limit)?, self.top_questions(filter, true, limit)?))
    }

    /// Most frequent questions (last user message), exact (trimmed) or normalised.
    fn top_questions(
        &self,
        filter: &CallFilter,
        normalised: bool,
        limit: usize,
    ) -> Result<Vec<QuestionCount>, StoreError>;

    fn session_summary(&self, filter: &CallFilter) -> Result<SessionSummary, StoreError>;

    /// Latency histogram over the given bucket edges (ascending; the last bucket is open).
    fn latency_histogram(&self, filter: &CallFilter, edges: &[f64]) -> Result<Vec<HistogramBucket>, StoreError>;

    /// How many calls carry each flag.
    fn flag_counts(&self, filter: &CallFilter) -> Result<Vec<(String, u64)>, StoreError>;

    /// Brief views of calls, for examples in reports.
    fn call_briefs(&self, filter: &CallFilter, order: CallOrder, limit: usize) -> Result<Vec<CallBrief>, StoreError>;

    /// The earliest and latest start times of the matching calls.
    fn time_range(&self, filter: &CallFilter) -> Result<Option<TimeRange>, StoreError>;
}

/// Days parse helper for `GroupKey::Day` keys.
pub fn parse_day_key(key: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(key, "%Y-%m-%d").ok()
}

/// Everything a storage backend provides.
pub trait Store: CallSink + CallReader + Analytics {
    /// A one-line description (`duckdb:/path/llmscope.duckdb`), for logs and reports.
    fn describe(&self) -> String;
}
