//! The rollups: per quarter hour (UTC), project and model, the counts and sums the report
//! reads (`call_rollup`); per quarter hour, project and user, the same counts and sums (`user_rollup`, for the top users, [`super::users`]); per quarter hour,
//! project and exact question, the calls (`question_rollup`, [`super::questions`]); per
//! quarter hour, project and label — a flag, an error's status code or kind, no session —
//! the calls (`label_rollup`, [`super::labels`]); and, kept by the same roll-ups, one row per
//! session ([`super::sessions`]) and the fine value bins of whole UTC days
//! ([`super::day_bins`]). (The percentiles' coarse counts come from those days' bins and
//! the calls' stored bins, not from a rollup of their own: see migration 7.)
//!
//! Rollup rows are never updated. An append only marks the quarter hours it stored calls
//! in as **dirty** (`rollup_dirty`, in the append's own transaction, so a crash cannot leave
//! calls outside both); [`roll_up`] later replaces the rows of dirty quarter hours with
//! aggregates of their calls and clears the marks, in one transaction (or, share by share,
//! on two connections side by side, [`roll_up_beside`], the marks cleared last). Readers take the
//! rollup rows of clean quarter hours and aggregate the calls of dirty ones (and of the
//! partial quarter hours at a window's edges) with the same SQL ([`cells_sql`] and the
//! others), so every answer is exact whatever has been rolled up. The server rolls up
//! finished quarter hours once a minute; an import rolls up what it stored when it ends.
//!
//! A quarter hour divides every UTC offset in use, so the rollup rows of a window group
//! into local days and hours exactly.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use duckdb::types::Value as DbValue;
use duckdb::Connection;
use llmscope_core::store::StoreError;

use super::append::in_transaction;
use super::{db_err, query_rows};

/// The rollups' time step: 15 minutes, in µs.
pub const BUCKET_US: i64 = 15 * 60 * 1_000_000;

/// Latency, then TTFT, in `day_bins.metric` (and in the overview's coarse counts).
pub const METRIC_LATENCY: u8 = 0;
pub const METRIC_TTFT: u8 = 1;

/// The start of the quarter hour holding `us`.
pub fn bucket_of(us: i64) -> i64 {
    us.div_euclid(BUCKET_US) * BUCKET_US
}

/// SQL: the start (µs) of the quarter hour of a call's `start_time` (floored, also before 1970).
pub fn bucket_sql() -> String {
    let t = "epoch_us(start_time)";
    format!("({t} - ((({t}) % {BUCKET_US}) + {BUCKET_US}) % {BUCKET_US})")
}

/// Sums over one quarter hour, project and model, as read back from `call_rollup`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    pub requests: i64,
    pub errors: i64,
    pub cancelled: i64,
    pub empty_output: i64,
    pub success: i64,
    pub without_user: i64,
    pub json_mode: i64,
    pub tokens_counted: i64,
    pub latency_n: i64,
    pub latency_sum: f64,
    pub latency_max: Option<f64>,
    pub ttft_n: i64,
    pub ttft_sum: f64,
    pub tps_n: i64,
    pub tps_sum: f64,
    /// Token sums, as doubles (as the grouped queries on the calls sum them): exact while
    /// every quarter hour's sum and the total stay under 2^53 tokens (beyond that, the
    /// rollups round each quarter hour's sum, the calls only the total).
    pub input_tokens: f64,
    pub output_tokens: f64,
    pub cached_tokens: f64,
    pub input_n: i64,
    pub output_n: i64,
    pub first_us: i64,
    pub last_us: i64,
    /// (Last: the column was added after the others, by migration 6.)
    pub cache_write_tokens: f64,
}

fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        // NaN ranks above every number, as in DuckDB's `max`.
        (Some(x), Some(y)) => Some(if x.is_nan() || !(y.is_nan() || y > x) { x } else { y }),
        (x, None) => x,
        (None, y) => y,
    }
}

impl Cell {
    /// Adds another cell's sums.
    pub fn merge(&mut self, o: &Cell) {
        self.requests += o.requests;
        self.errors += o.errors;
        self.cancelled += o.cancelled;
        self.empty_output += o.empty_output;
        self.success += o.success;
        self.without_user += o.without_user;
        self.json_mode += o.json_mode;
        self.tokens_counted += o.tokens_counted;
        self.latency_n += o.latency_n;
        self.latency_sum += o.latency_sum;
        self.latency_max = max_opt(self.latency_max, o.latency_max);
        self.ttft_n += o.ttft_n;
        self.ttft_sum += o.ttft_sum;
        self.tps_n += o.tps_n;
        self.tps_sum += o.tps_sum;
        self.input_tokens += o.input_tokens;
        self.output_tokens += o.output_tokens;
        self.cached_tokens += o.cached_tokens;
        self.input_n += o.input_n;
        self.output_n += o.output_n;
        self.first_us = self.first_us.min(o.first_us);
        self.last_us = self.last_us.max(o.last_us);
        self.cache_write_tokens += o.cache_write_tokens;
    }
}

/// SQL: `call_rollup` rows (in its column order) aggregated from the calls matching
/// `where_`. Each measure is the one the grouped query on the calls (`analytics.rs`) uses.
pub fn cells_sql(where_: &str) -> String {
    cells_by(where_, "coalesce(model, '') AS model", Columns::Current)
}

/// SQL: `user_rollup` rows (in its column order) aggregated from the calls matching `where_`
/// that name a user.
pub fn user_cells_sql(where_: &str) -> String {
    user_cells_of(where_, Columns::Current)
}

fn user_cells_of(where_: &str, columns: Columns) -> String {
    cells_by(&format!("({where_}) AND user_id IS NOT NULL"), "user_id", columns)
}

/// The columns of the rollup rows [`cells_by`] gives: the tables' current ones, or those of
/// before migration 6 (the `calls` table had no `cache_write_tokens` then, so the backfills
/// of migrations 3 and 4 cannot name it).
#[derive(Clone, Copy, PartialEq)]
enum Columns {
    Current,
    BeforeCacheWrite,
}

/// SQL: `question_rollup` rows (in its column order) from the calls matching `where_` that
/// have a question.
pub fn questions_sql(where_: &str) -> String {
    format!(
        "SELECT project, {bucket} AS bucket_us, input_hash, question_key, count(*) AS n
         FROM calls WHERE ({where_}) AND input_hash IS NOT NULL GROUP BY ALL",
        bucket = bucket_sql(),
    )
}

/// `label_rollup.dim`: a flag, an error's status code, an error's kind, no session.
pub const LABEL_FLAG: u8 = 0;
pub const LABEL_STATUS_CODE: u8 = 1;
pub const LABEL_ERROR_KIND: u8 = 2;
pub const LABEL_NO_SESSION: u8 = 3;

/// SQL: `label_rollup` rows (in its column order) from the calls matching `where_`, which
/// it names four times. Each label is the key the grouped query on the calls uses.
pub fn labels_sql(where_: &str) -> String {
    let bucket = bucket_sql();
    format!(
        "SELECT project, bucket_us, dim, label, count(*) AS n FROM (
             SELECT project, {bucket} AS bucket_us, {LABEL_FLAG}::UTINYINT AS dim, unnest(flags) AS label
             FROM calls WHERE ({where_})
             UNION ALL SELECT project, {bucket}, {LABEL_STATUS_CODE}::UTINYINT, coalesce(CAST(status_code AS VARCHAR), '')
             FROM calls WHERE ({where_}) AND status = 'error'
             UNION ALL SELECT project, {bucket}, {LABEL_ERROR_KIND}::UTINYINT, coalesce(error_kind, '')
             FROM calls WHERE ({where_}) AND status = 'error'
             UNION ALL SELECT project, {bucket}, {LABEL_NO_SESSION}::UTINYINT, ''
             FROM calls WHERE ({where_}) AND session_id IS NULL)
         GROUP BY ALL"
    )
}

/// SQL: rollup rows keyed by project, quarter hour and `key` (an expression with its alias).
fn cells_by(where_: &str, key: &str, columns: Columns) -> String {
    let cache_write = match columns {
        Columns::Current => ",\n            CAST(coalesce(sum(cache_write_tokens), 0) AS DOUBLE) AS cache_write_tokens",
        Columns::BeforeCacheWrite => "",
    };
    format!(
        "SELECT project, {bucket} AS bucket_us, {key}, count(*) AS requests,
            count(*) FILTER (WHERE status = 'error') AS errors,
            count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
            count(*) FILTER (WHERE output_empty) AS empty_output,
            count(*) FILTER (WHERE status = 'ok' AND NOT coalesce(output_empty, FALSE)) AS success,
            count(*) FILTER (WHERE user_id IS NULL) AS without_user,
            count(*) FILTER (WHERE json_mode) AS json_mode,
            count(*) FILTER (WHERE tokens_counted) AS tokens_counted,
            count(latency_ms) AS latency_n, coalesce(sum(latency_ms), 0) AS latency_sum, max(latency_ms) AS latency_max,
            count(ttft_ms) AS ttft_n, coalesce(sum(ttft_ms), 0) AS ttft_sum,
            count(*) FILTER (WHERE latency_ms > 0 AND output_tokens IS NOT NULL) AS tps_n,
            coalesce(sum(output_tokens / (latency_ms / 1000.0)) FILTER (WHERE latency_ms > 0 AND output_tokens IS NOT NULL), 0) AS tps_sum,
            CAST(coalesce(sum(input_tokens), 0) AS DOUBLE) AS input_tokens,
            CAST(coalesce(sum(output_tokens), 0) AS DOUBLE) AS output_tokens,
            CAST(coalesce(sum(cached_tokens), 0) AS DOUBLE) AS cached_tokens,
            count(input_tokens) AS input_n, count(output_tokens) AS output_n,
            epoch_us(min(start_time)) AS first_us, epoch_us(max(start_time)) AS last_us{cache_write}
         FROM calls WHERE {where_} GROUP BY ALL",
        bucket = bucket_sql(),
    )
}

/// SQL: the sums of rollup rows (of `call_rollup` or `user_rollup`, or aggregated by
/// [`cells_sql`]) in a `GROUP BY`, in the order [`read_cell`] reads them.
pub const CELL_SUMS: &str = "sum(requests)::BIGINT, sum(errors)::BIGINT, sum(cancelled)::BIGINT,
    sum(empty_output)::BIGINT, sum(success)::BIGINT, sum(without_user)::BIGINT, sum(json_mode)::BIGINT,
    sum(tokens_counted)::BIGINT, sum(latency_n)::BIGINT, sum(latency_sum), max(latency_max),
    sum(ttft_n)::BIGINT, sum(ttft_sum), sum(tps_n)::BIGINT, sum(tps_sum), sum(input_tokens),
    sum(output_tokens), sum(cached_tokens), sum(input_n)::BIGINT, sum(output_n)::BIGINT,
    min(first_us), max(last_us), sum(cache_write_tokens)";

/// Reads [`CELL_SUMS`] from a row, starting at column `at`.
pub fn read_cell(r: &duckdb::Row<'_>, at: usize) -> duckdb::Result<Cell> {
    Ok(Cell {
        requests: r.get(at)?,
        errors: r.get(at + 1)?,
        cancelled: r.get(at + 2)?,
        empty_output: r.get(at + 3)?,
        success: r.get(at + 4)?,
        without_user: r.get(at + 5)?,
        json_mode: r.get(at + 6)?,
        tokens_counted: r.get(at + 7)?,
        latency_n: r.get(at + 8)?,
        latency_sum: r.get(at + 9)?,
        latency_max: r.get(at + 10)?,
        ttft_n: r.get(at + 11)?,
        ttft_sum: r.get(at + 12)?,
        tps_n: r.get(at + 13)?,
        tps_sum: r.get(at + 14)?,
        input_tokens: r.get(at + 15)?,
        output_tokens: r.get(at + 16)?,
        cached_tokens: r.get(at + 17)?,
        input_n: r.get(at + 18)?,
        output_n: r.get(at + 19)?,
        first_us: r.get(at + 20)?,
        last_us: r.get(at + 21)?,
        cache_write_tokens: r.get(at + 22)?,
    })
}

/// Marks quarter hours (project, bucket start) as holding calls the rollups lack, in the
/// caller's transaction.
pub fn mark_dirty(conn: &Connection, keys: &BTreeSet<(&str, i64)>) -> Result<(), StoreError> {
    mark(conn, "rollup_dirty", "bucket_us", keys)
        .map_err(|e| StoreError::Backend(format!("marking quarter hours for the rollups: {e}")))
}

/// Inserts the (project, `col`) keys `table` lacks.
pub fn mark(conn: &Connection, table: &str, col: &str, keys: &BTreeSet<(&str, i64)>) -> Result<(), StoreError> {
    for chunk in keys.iter().collect::<Vec<_>>().chunks(200) {
        let rows = vec!["(?::VARCHAR, ?::BIGINT)"; chunk.len()].join(", ");
        let params: Vec<DbValue> =
            chunk.iter().flat_map(|(p, b)| [DbValue::Text(p.to_string()), DbValue::BigInt(*b)]).collect();
        conn.execute(
            &format!(
                "INSERT INTO {table} SELECT * FROM (VALUES {rows}) v(project, k)
                 WHERE NOT EXISTS (SELECT 1 FROM {table} d WHERE d.project = v.project AND d.{col} = v.k)"
            ),
            duckdb::params_from_iter(params.iter()),
        )
        .map_err(db_err)?;
    }
    Ok(())
}

/// The dirty quarter hours (all projects), in order.
pub fn dirty(conn: &Connection) -> Result<Vec<(String, i64)>, StoreError> {
    query_rows(conn, "SELECT project, bucket_us FROM rollup_dirty ORDER BY bucket_us, project", &[], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
}

/// Runs of consecutive quarter hours, as `[start, end)` in µs.
pub fn runs(buckets: impl IntoIterator<Item = i64>) -> Vec<(i64, i64)> {
    runs_of(BUCKET_US, buckets)
}

/// Runs of consecutive spans `step` µs long starting at `starts`, as `[start, end)` in µs.
pub fn runs_of(step: i64, starts: impl IntoIterator<Item = i64>) -> Vec<(i64, i64)> {
    let mut sorted: Vec<i64> = starts.into_iter().collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out: Vec<(i64, i64)> = Vec::new();
    for b in sorted {
        match out.last_mut() {
            Some((_, end)) if *end == b => *end = b.saturating_add(step),
            _ => out.push((b, b.saturating_add(step))),
        }
    }
    out
}

/// The dirty quarter hours (project, start) a roll-up rebuilds: all but those overlapping
/// `live` (`[from, to)` in µs: the quarter hours still receiving calls).
pub fn due(conn: &Connection, live: Option<(i64, i64)>) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(dirty(conn)?
        .into_iter()
        .filter(|(_, b)| live.is_none_or(|(from, to)| b.saturating_add(BUCKET_US) <= from || *b >= to))
        .collect())
}

/// Rebuilds the rollups of the `due` quarter hours ([`due`]) from their calls and clears
/// their marks, in the caller's transaction: every [`Share`] in turn, then the marks.
pub fn roll_up(conn: &Connection, due: &[(String, i64)], live: Option<(i64, i64)>) -> Result<(), StoreError> {
    for share in SHARES {
        share.run(conn, due, live)?;
    }
    clear_marks(conn, due)
}

/// [`roll_up`] on two connections side by side, each on its own thread (`side` is a second
/// connection to the same database), then a last transaction that clears the marks. Each
/// connection takes the next [`Share`] not taken yet, in a transaction of its own, until
/// none is left, so the two finish close together whatever the shares' sizes. Rows
/// rebuilt while their quarter hours are still dirty are read as dirty (from the calls), so
/// a failure of either, or a crash before the marks are cleared, leaves every answer exact,
/// and the next roll-up does the rest. Run one after the other on DuckDB's threads, the
/// statements left a core idle for much of their time, and their parallel inserts left row
/// groups part full, which the next checkpoint merged again (docs/BENCHMARKS.md,
/// twenty-fourth and twenty-fifth sessions).
pub fn roll_up_beside(
    conn: &Connection,
    side: Connection,
    due: &[(String, i64)],
    live: Option<(i64, i64)>,
) -> Result<(), StoreError> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    // The shares one connection takes, each in a transaction of its own (so that one
    // commits, compressing its rows, while the other connection works: DuckDB commits one
    // transaction at a time); after a failure on either, neither takes more.
    let take = |conn: &Connection| -> Result<(), StoreError> {
        while !failed.load(Ordering::Relaxed) {
            let Some(share) = SHARES.get(next.fetch_add(1, Ordering::Relaxed)) else {
                break;
            };
            if let Err(e) = in_transaction(conn, || share.run(conn, due, live)) {
                failed.store(true, Ordering::Relaxed);
                return Err(e);
            }
        }
        Ok(())
    };
    std::thread::scope(|s| {
        let beside = std::thread::Builder::new().name("llmscope-rollup".into()).spawn_scoped(s, move || take(&side));
        let beside = match beside {
            Ok(b) => b,
            Err(e) => return Err(StoreError::Backend(format!("starting the roll-up's second thread: {e}"))),
        };
        let mine = take(conn);
        let theirs =
            beside.join().unwrap_or_else(|_| Err(StoreError::Backend("the roll-up's second thread failed".into())));
        mine.and(theirs)
    })?;
    in_transaction(conn, || clear_marks(conn, due))
}

/// A part of a roll-up, run by its own statements in the caller's transaction: the rows of
/// the sessions with calls in the due quarter hours, the days' value bins (which also
/// rebuilds days marked earlier that are no longer live), or one of the quarter hours'
/// rollups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Share {
    Sessions,
    DayBins,
    Users,
    Cells,
    Questions,
    Labels,
}

/// Every share, longest first (as they take for 1 M seed-001 calls: the sessions 0.26 s,
/// the days 0.27, the users 0.24, the models 0.11, the questions 0.10, the labels 0.06), so
/// that connections taking them in turn end close together.
const SHARES: [Share; 6] =
    [Share::Sessions, Share::DayBins, Share::Users, Share::Cells, Share::Questions, Share::Labels];

impl Share {
    fn run(self, conn: &Connection, due: &[(String, i64)], live: Option<(i64, i64)>) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        let done = match self {
            Share::Sessions => {
                for (project, due_runs) in by_project(due) {
                    super::sessions::roll_up(conn, project, &due_runs)?;
                }
                Ok(())
            }
            Share::DayBins => super::day_bins::roll_up(conn, due, live).map(drop),
            Share::Users => quarter_hours(conn, due, "user_rollup", &user_cells_sql, 1),
            Share::Cells => quarter_hours(conn, due, "call_rollup", &cells_sql, 1),
            Share::Questions => quarter_hours(conn, due, "question_rollup", &questions_sql, 1),
            // (The labels' SQL names its condition four times.)
            Share::Labels => quarter_hours(conn, due, "label_rollup", &labels_sql, 4),
        };
        tracing::trace!(ms = started.elapsed().as_millis() as u64, share = ?self, "roll-up share");
        done
    }
}

/// The due quarter hours of each project, as runs.
fn by_project(due: &[(String, i64)]) -> Vec<(&String, Vec<(i64, i64)>)> {
    let projects = due.iter().map(|(p, _)| p).collect::<BTreeSet<_>>();
    projects.into_iter().map(|p| (p, runs(due.iter().filter(|(q, _)| q == p).map(|(_, b)| *b)))).collect()
}

/// Calls `f` with the conditions on rollup rows and on calls (and their parameters) that
/// select each group of due quarter hours, on `conn` (whose `rollup_due` table it fills).
fn each_group(
    conn: &Connection,
    due: &[(String, i64)],
    mut f: impl FnMut(&str, &str, &[DbValue]) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    for (project, due_runs) in by_project(due) {
        for group in groups(&due_runs, GROUP_GAP_US, GROUP_SPAN_US) {
            let (lo, hi) = (group[0].0, group[group.len() - 1].1);
            let p = [DbValue::Text(project.clone()), DbValue::BigInt(lo), DbValue::BigInt(hi)];
            let (mut in_rollup, mut in_calls) = (
                "project = ? AND bucket_us >= ? AND bucket_us < ?".to_string(),
                "project = ? AND start_time >= make_timestamp(?) AND start_time < make_timestamp(?)".to_string(),
            );
            if group.len() > 1 {
                // Only the due quarter hours of the group's span: those between its runs
                // keep their rows.
                fill_due(conn, group)?;
                in_rollup.push_str(" AND bucket_us IN (SELECT bucket_us FROM temp.rollup_due)");
                in_calls.push_str(&format!(" AND {} IN (SELECT bucket_us FROM temp.rollup_due)", bucket_sql()));
            }
            f(&in_rollup, &in_calls, &p)?;
        }
    }
    Ok(())
}

/// Rebuilds one quarter-hour rollup `table` for the `due` quarter hours, in the caller's
/// transaction: `rows` gives its rows for a condition on the calls, which it names `wheres`
/// times.
fn quarter_hours(
    conn: &Connection,
    due: &[(String, i64)],
    table: &str,
    rows: &dyn Fn(&str) -> String,
    wheres: usize,
) -> Result<(), StoreError> {
    each_group(conn, due, |in_rollup, in_calls, p| {
        let steps = [
            (format!("DELETE FROM {table} WHERE {in_rollup}"), 1),
            (format!("INSERT INTO {table} {}", rows(in_calls)), wheres),
        ];
        run_steps(conn, &steps, p, "rolling up")
    })
}

/// Clears the marks of the `due` quarter hours, in the caller's transaction.
fn clear_marks(conn: &Connection, due: &[(String, i64)]) -> Result<(), StoreError> {
    each_group(conn, due, |in_rollup, _, p| {
        run_steps(conn, &[(format!("DELETE FROM rollup_dirty WHERE {in_rollup}"), 1)], p, "rolling up")
    })
}

/// Runs of due quarter hours closer than this are rolled up together (one set of
/// statements, each restricted to the due quarter hours), not run by run: a day's logs with
/// quiet nights, or sparse test data, made hundreds of runs of eleven statements each.
const GROUP_GAP_US: i64 = 24 * 3600 * 1_000_000;

/// The longest span one group covers: each of its statements scans the calls of its whole
/// span (a dirty quarter hour on each of many days must not make one group of months).
const GROUP_SPAN_US: i64 = 7 * 24 * 3600 * 1_000_000;

/// `runs` (sorted, as [`runs`] gives them) in groups whose runs are less than `gap` apart,
/// each group spanning at most `span` (a single run longer than that stands alone).
pub fn groups(runs: &[(i64, i64)], gap: i64, span: i64) -> Vec<&[(i64, i64)]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=runs.len() {
        let split = i == runs.len()
            || runs[i].0.saturating_sub(runs[i - 1].1) >= gap
            || runs[i].1.saturating_sub(runs[start].0) > span;
        if split {
            out.push(&runs[start..i]);
            start = i;
        }
    }
    out
}

/// Fills the connection's `rollup_due` table with the quarter hours of `runs`.
fn fill_due(conn: &Connection, runs: &[(i64, i64)]) -> Result<(), StoreError> {
    conn.execute_batch("CREATE TEMP TABLE IF NOT EXISTS rollup_due (bucket_us BIGINT); DELETE FROM temp.rollup_due;")
        .map_err(db_err)?;
    let mut app = conn.appender("rollup_due").map_err(db_err)?;
    for &(lo, hi) in runs {
        let mut b = lo;
        while b < hi {
            app.append_row([b]).map_err(db_err)?;
            b = b.saturating_add(BUCKET_US);
        }
    }
    app.flush().map_err(db_err)
}

/// Runs statements in order, each with the parameters `p` repeated as often as it names its
/// condition, logging each one's time at trace level.
pub fn run_steps(conn: &Connection, steps: &[(String, usize)], p: &[DbValue], what: &str) -> Result<(), StoreError> {
    for (sql, wheres) in steps {
        let started = std::time::Instant::now();
        conn.execute(sql, duckdb::params_from_iter(super::filter::repeat(p, *wheres)))
            .map_err(|e| StoreError::Backend(format!("{what}: {e}")))?;
        tracing::trace!(ms = started.elapsed().as_millis() as u64, what = &sql[..sql.len().min(40)], "roll-up step");
    }
    Ok(())
}

/// Migration 3's step in Rust: the stored calls' value bins, then the rollups of every call.
/// (Its `call_rollup_hist` is left empty: migration 7, which runs after it, drops it.)
pub fn backfill(conn: &Connection) -> Result<(), StoreError> {
    use super::bins::fine_bin_sql;
    conn.execute_batch(&format!(
        "UPDATE calls SET latency_bin = {}, ttft_bin = {};
         INSERT INTO call_rollup {};",
        fine_bin_sql("latency_ms"),
        fine_bin_sql("ttft_ms"),
        cells_by("TRUE", "coalesce(model, '') AS model", Columns::BeforeCacheWrite),
    ))
    .map_err(db_err)
}

/// Migration 4's step: the session, user, question and label rollups of every stored call.
pub fn backfill_4(conn: &Connection) -> Result<(), StoreError> {
    super::sessions::backfill(conn)?;
    conn.execute_batch(&format!(
        "INSERT INTO user_rollup {};
         INSERT INTO question_rollup {};
         INSERT INTO label_rollup {};",
        user_cells_of("TRUE", Columns::BeforeCacheWrite),
        questions_sql("TRUE"),
        labels_sql("TRUE")
    ))
    .map_err(db_err)
}

/// Migration 6's step: the cache-write counts it read from the calls' attributes, summed
/// into the rollup rows of their quarter hours (a dirty quarter hour's rows are rebuilt
/// anyway when it is rolled up).
pub fn backfill_6(conn: &Connection) -> Result<(), StoreError> {
    let sums = |table: &str, key: &str, col: &str| {
        format!(
            "UPDATE {table} AS r SET cache_write_tokens = v.w
             FROM (SELECT project, {bucket} AS b, {key} AS k, CAST(sum(cache_write_tokens) AS DOUBLE) AS w
                   FROM calls WHERE cache_write_tokens IS NOT NULL GROUP BY ALL) v
             WHERE r.project = v.project AND r.bucket_us = v.b AND r.{col} = v.k",
            bucket = bucket_sql()
        )
    };
    let model = sums("call_rollup", "coalesce(model, '')", "model");
    let user = sums("user_rollup", "user_id", "user_id");
    conn.execute_batch(&format!("{model};\n{user};")).map_err(db_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_less_than_a_gap_apart_are_grouped() {
        let q = BUCKET_US;
        let runs = runs([0, q, 3 * q, 10 * q, 40 * q]);
        assert_eq!(runs, vec![(0, 2 * q), (3 * q, 4 * q), (10 * q, 11 * q), (40 * q, 41 * q)]);
        let sizes = |gap| groups(&runs, gap, 1000 * q).iter().map(|g| g.len()).collect::<Vec<_>>();
        assert_eq!(sizes(2 * q), vec![2, 1, 1], "a gap of one quarter hour groups, one of six does not");
        assert_eq!(sizes(29 * q), vec![3, 1], "runs exactly the gap apart are not grouped");
        assert_eq!(sizes(30 * q), vec![4]);
        assert_eq!(sizes(q), vec![1, 1, 1, 1]);
        assert_eq!(sizes(100 * q), vec![4]);
        assert!(groups(&[], q, q).is_empty());
        // A group spans at most `span`; a longer run stands alone.
        let spans = |span| groups(&runs, 100 * q, span).iter().map(|g| g.len()).collect::<Vec<_>>();
        assert_eq!(spans(11 * q), vec![3, 1], "runs up to 11 quarter hours from the first");
        assert_eq!(spans(10 * q), vec![2, 1, 1]);
        assert_eq!(spans(q), vec![1, 1, 1, 1], "the first run (two quarter hours) alone");
    }
}
