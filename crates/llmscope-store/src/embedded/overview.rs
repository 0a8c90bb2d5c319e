//! The report's overview from the rollups ([`super::rollup`]), with exact percentiles.
//!
//! Counts and sums come from a window's [`Plan`]: the rollup rows of its clean quarter hours
//! wholly inside it, plus the calls of the partial quarter hours at its edges and of the
//! dirty ones, aggregated by the SQL that builds the rollups. Percentiles stay exact (the
//! definition of [`llmscope_core::stats`]):
//!
//! 1. the values per coarse value bin tell, for each group and wanted rank, which coarse
//!    bin holds it and how many values lie below that bin: summed from the days' fine bins
//!    ([`super::day_bins`]) over the window's clean whole UTC days, counted from the calls'
//!    stored bins over the rest ([`coarse_rows`]) — and, under a zone other than UTC, the
//!    local days' counted from the calls of the whole window;
//! 2. the values of the wanted coarse bins are counted per fine bin (with each fine bin's
//!    least and greatest value): from the days' value bins ([`super::day_bins`]) over the
//!    window's clean whole UTC days, and from a scan of the calls whose value lies in a
//!    wanted coarse bin over the rest of the window — for every group under UTC; under
//!    another zone for the whole window and the models, the local days' counts coming from
//!    one scan of the window's calls grouped by local day;
//! 3. where a rank's fine bin holds more than one distinct value, one more scan fetches the
//!    values of just those fine bins, which are sorted here.
//!
//! The scans read only calls in the bins they need, so their cost is a filtered column scan
//! instead of a sort of every value per group.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use duckdb::arrow::array::Array;
use duckdb::types::Value as DbValue;
use duckdb::Connection;
use llmscope_core::store::{GroupKey, GroupStats, Overview, StoreError, TimeRange, TzShift};
use llmscope_core::CallFilter;

use super::analytics::key_expr;
use super::bins::FINE_PER_COARSE;
use super::columns;
use super::day_bins::{self, Split, DAY_US};
use super::quantiles::{inconsistent, interpolate, locate, ranks, At};
use super::read::ts;
use super::rollup::{self, Cell, BUCKET_US, METRIC_LATENCY, METRIC_TTFT};
use super::{db_err, filter, query_rows};

const LATENCY_QS: [f64; 4] = [0.5, 0.9, 0.95, 0.99];
const TTFT_QS: [f64; 3] = [0.5, 0.95, 0.99];

/// The groups whose percentiles the overview reports.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Group {
    All,
    Model(String),
    /// Local day, in days since 1970-01-01.
    Day(i64),
}

/// Whether the rollups answer this filter under this offset schedule: a window, a project
/// and models only, and offsets and offset changes on quarter hours.
pub fn eligible(f: &CallFilter, tz: &TzShift) -> bool {
    let CallFilter {
        project: _,
        since: _,
        until: _,
        models,
        users,
        sessions,
        status,
        flags,
        tags,
        text,
        trace_id,
        id_prefix,
    } = f;
    users.is_empty()
        && sessions.is_empty()
        && status.is_none()
        && flags.is_empty()
        && tags.is_empty()
        && text.as_deref().is_none_or(str::is_empty)
        && trace_id.is_none()
        && id_prefix.as_deref().is_none_or(str::is_empty)
        // The rollups keep a missing model as "": a filter naming "" means something else.
        && !models.iter().any(String::is_empty)
        && tz.iter().all(|(_, off)| off % 900 == 0)
        && tz.iter().skip(1).all(|(t, _)| t.timestamp_micros().rem_euclid(BUCKET_US) == 0)
}

/// The quarter hours wholly inside the window, as a `bucket_us` range (open ends: `None`).
fn full_buckets(f: &CallFilter) -> (Option<i64>, Option<i64>) {
    let lo = f.since.map(|t| -(-t.timestamp_micros()).div_euclid(BUCKET_US) * BUCKET_US);
    let hi = f.until.map(|t| t.timestamp_micros().div_euclid(BUCKET_US) * BUCKET_US);
    (lo, hi)
}

/// The sums of a window, grouped for the overview.
struct Sums {
    /// (model, local day, local weekday × 24 + hour) → sums.
    cells: Vec<(String, i64, i64, Cell)>,
    /// (group, metric, coarse bin) → values.
    hist: Vec<(Group, u8, i32, i64)>,
}

/// Dirty quarter hours inside a window beyond which the rollups are not worth reading (each
/// is a range condition in both halves of every query).
pub const MAX_DIRTY_RUNS: usize = 64;

/// How a window is read: the rollup rows of its clean whole quarter hours (a `WHERE` over
/// the rollup tables, which name the project and model as `calls` does), and the calls of
/// the rest (the partial quarter hours at its edges, and the dirty ones).
pub struct Plan {
    pub rollup: filter::Where,
    pub calls: filter::Where,
}

impl Plan {
    /// `SELECT * FROM {table}` over the rollup half `UNION ALL` the same rows aggregated from
    /// the calls half (`from_calls` takes the calls' `WHERE`), with their parameters.
    /// `wheres` is how many times the aggregate's SQL repeats the calls' condition.
    pub fn union(&self, table: &str, from_calls: fn(&str) -> String, wheres: usize) -> (String, Vec<DbValue>) {
        let calls = from_calls(self.calls.clause());
        let mut params = self.rollup.params.clone();
        params.extend(filter::repeat(&self.calls.params, wheres));
        (format!("SELECT * FROM {table} WHERE {} UNION ALL {calls}", self.rollup.clause()), params)
    }
}

/// The plan of an eligible filter, or `None` when too many of its quarter hours are dirty.
pub fn plan(conn: &Connection, f: &CallFilter) -> Result<Option<Plan>, StoreError> {
    let full = full_buckets(f);
    let in_full = |b: i64| full.0.is_none_or(|lo| b >= lo) && full.1.is_none_or(|hi| b < hi);
    let dirty = rollup::dirty(conn)?
        .into_iter()
        .filter(|(p, b)| f.project.as_ref().is_none_or(|fp| fp == p) && in_full(*b))
        .map(|(_, b)| b);
    let runs = rollup::runs(dirty);
    if runs.len() > MAX_DIRTY_RUNS {
        return Ok(None);
    }
    let mut rollup = filter::build(&CallFilter { since: None, until: None, ..f.clone() });
    filter::between(&mut rollup, "bucket_us", full);
    let mut calls = filter::build(f);
    let mut other = Vec::new();
    let mut other_params = Vec::new();
    if full != (None, None) {
        // (Comparisons on `start_time` itself, which DuckDB's zone maps can prune.)
        let mut inside = filter::Where::default();
        filter::between(&mut inside, "start_time", full);
        other.push(format!("NOT ({})", inside.clause()));
        other_params.extend(inside.params);
    }
    for (lo, hi) in runs {
        rollup.push("NOT (bucket_us >= ? AND bucket_us < ?)", [DbValue::BigInt(lo), DbValue::BigInt(hi)]);
        other.push("(start_time >= make_timestamp(?) AND start_time < make_timestamp(?))".into());
        other_params.extend([DbValue::BigInt(lo), DbValue::BigInt(hi)]);
    }
    if other.is_empty() {
        calls.push("FALSE", []);
    } else {
        calls.push(&format!("({})", other.join(" OR ")), other_params);
    }
    Ok(Some(Plan { rollup, calls }))
}

fn sums(conn: &Connection, f: &CallFilter, plan: &Plan, tz: &TzShift, split: &Split) -> Result<Sums, StoreError> {
    // Keyed by the expressions the scans and the grouped queries use, on each row's quarter
    // hour as its `start_time`.
    let (day, wh) = (filter::local_day(tz), key_expr(&GroupKey::WeekdayHour, tz).0);
    let keyed = |rows: &str| {
        format!(
            "(SELECT *, {day} AS d, {wh} AS wh FROM (SELECT make_timestamp(bucket_us) AS start_time, * FROM ({rows})))"
        )
    };
    let (rows, params) = plan.union("call_rollup", rollup::cells_sql, 1);
    let sql = format!("SELECT model, d, wh, {} FROM {} GROUP BY model, d, wh", rollup::CELL_SUMS, keyed(&rows));
    let cells = query_rows(conn, &sql, &params, |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, rollup::read_cell(r, 3)?))
    })?;
    // The coarse counts per group: `day_bins` rows are keyed by UTC day, so under another
    // zone (when they are read at all) the local days' counts come from the calls.
    let (rows, mut params) = coarse_rows(f, split, &day, &METRICS);
    let sql = if is_utc(tz) || split.days.is_empty() {
        format!(
            "SELECT GROUPING(m, d), m, d, metric, c, sum(n)::BIGINT FROM ({rows})
             GROUP BY GROUPING SETS ((metric, c), (m, metric, c), (d, metric, c))"
        )
    } else {
        // Both metrics in one scan (a grouping set each: a fifth faster than a scan each).
        // `GROUPING(lc)` is 0 in the latency set and 1 in the TTFT one: the metrics' ids.
        const _: () = assert!(METRIC_LATENCY == 0 && METRIC_TTFT == 1);
        let w = filter::build(f);
        params.extend(w.params.iter().cloned());
        format!(
            "SELECT GROUPING(m) * 2 + 1, m, NULL, metric, c, sum(n)::BIGINT FROM ({rows})
             GROUP BY GROUPING SETS ((metric, c), (m, metric, c))
             UNION ALL SELECT 2, NULL, d, CAST(g AS UTINYINT), CAST(coalesce(lc, tc) AS INTEGER), n FROM (
                 SELECT GROUPING(lc) AS g, d, lc, tc, count(*) AS n FROM (
                     SELECT {day} AS d, {lat} // {FINE_PER_COARSE} AS lc, {ttft} // {FINE_PER_COARSE} AS tc
                     FROM calls WHERE {})
                 GROUP BY GROUPING SETS ((d, lc), (d, tc)))
             WHERE (g = {METRIC_LATENCY} AND lc IS NOT NULL) OR (g = {METRIC_TTFT} AND tc IS NOT NULL)",
            w.clause(),
            lat = METRICS[0].1,
            ttft = METRICS[1].1,
        )
    };
    let rows = query_rows(conn, &sql, &params, |r| {
        Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?, r.get::<_, u8>(3)?, r.get::<_, i32>(4)?, r.get::<_, i64>(5)?))
    })?;
    let hist = rows
        .into_iter()
        .filter_map(|(set, m, d, metric, bin, n)| group_of(set, m, d).map(|g| (g, metric, bin, n)))
        .collect();
    Ok(Sums { cells, hist })
}

/// The first and last start time of an eligible filter's calls.
pub fn time_range(conn: &Connection, plan: &Plan) -> Result<Option<TimeRange>, StoreError> {
    // (The calls half needs only its first and last start, not the rollup aggregates.)
    let sql = format!(
        "SELECT min(a), max(b) FROM (
             SELECT min(first_us) AS a, max(last_us) AS b FROM call_rollup WHERE {}
             UNION ALL SELECT epoch_us(min(start_time)), epoch_us(max(start_time)) FROM calls WHERE {})",
        plan.rollup.clause(),
        plan.calls.clause()
    );
    let params = plan.rollup.params.iter().chain(&plan.calls.params);
    let (a, b): (Option<i64>, Option<i64>) =
        conn.query_row(&sql, duckdb::params_from_iter(params), |r| Ok((r.get(0)?, r.get(1)?))).map_err(db_err)?;
    Ok(ts(a).zip(ts(b)))
}

fn ratio(sum: f64, n: i64) -> Option<f64> {
    (n > 0).then(|| sum / n as f64)
}

fn count(n: i64) -> u64 {
    n.max(0) as u64
}

fn tokens(n: f64) -> u64 {
    // (`as` saturates, and maps NaN to 0.)
    n.max(0.0) as u64
}

/// A group's measures from its sums (percentiles are filled in afterwards).
pub fn stats_of(key: String, c: &Cell) -> GroupStats {
    GroupStats {
        key,
        requests: count(c.requests),
        errors: count(c.errors),
        cancelled: count(c.cancelled),
        empty_output: count(c.empty_output),
        success: count(c.success),
        distinct_users: 0,
        distinct_sessions: 0,
        calls_without_user: count(c.without_user),
        latency_avg: ratio(c.latency_sum, c.latency_n),
        latency_max: c.latency_max,
        ttft_avg: ratio(c.ttft_sum, c.ttft_n),
        tokens_per_s_avg: ratio(c.tps_sum, c.tps_n),
        input_tokens: tokens(c.input_tokens),
        output_tokens: tokens(c.output_tokens),
        cached_tokens: tokens(c.cached_tokens),
        cache_write_tokens: tokens(c.cache_write_tokens),
        calls_with_input_tokens: count(c.input_n),
        calls_with_output_tokens: count(c.output_n),
        calls_tokens_counted: count(c.tokens_counted),
        json_mode_calls: count(c.json_mode),
        first_time: ts(Some(c.first_us)),
        last_time: ts(Some(c.last_us)),
        ..GroupStats::default()
    }
}

fn day_key(day: i64) -> String {
    NaiveDate::from_num_days_from_ce_opt((day + 719_163) as i32).map_or_else(String::new, |d| d.to_string())
}

fn merge(into: &mut Option<Cell>, c: &Cell) {
    match into {
        Some(x) => x.merge(c),
        None => *into = Some(c.clone()),
    }
}

/// The overview of an eligible filter (see [`eligible`]).
pub fn overview(conn: &Connection, f: &CallFilter, plan: &Plan, tz: &TzShift) -> Result<Overview, StoreError> {
    let started = std::time::Instant::now();
    // The whole UTC days of the window that `day_bins` answers, for every step.
    let split = day_bins::split(conn, f)?;
    let Sums { cells, hist } = sums(conn, f, plan, tz, &split)?;
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        cells = cells.len(),
        hist = hist.len(),
        "overview: rollup rows"
    );
    let mut all = None;
    let mut by_model: HashMap<String, Option<Cell>> = HashMap::new();
    let mut by_day: BTreeMap<i64, Option<Cell>> = BTreeMap::new();
    let mut wh: BTreeMap<i64, i64> = BTreeMap::new();
    for (model, d, h, c) in &cells {
        merge(&mut all, c);
        merge(by_model.entry(model.clone()).or_default(), c);
        merge(by_day.entry(*d).or_default(), c);
        *wh.entry(*h).or_default() += c.requests;
    }
    let mut hists: HashMap<(Group, u8), BTreeMap<i32, i64>> = HashMap::new();
    for (g, metric, bin, n) in hist {
        *hists.entry((g, metric)).or_default().entry(bin).or_default() += n;
    }
    let started = std::time::Instant::now();
    let pct = percentiles(conn, &Scope { f, tz, split: &split }, &hists)?;
    tracing::debug!(ms = started.elapsed().as_millis() as u64, "overview: percentiles");
    let started = std::time::Instant::now();
    let with_pct = |g: Group, mut s: GroupStats| {
        if let Some(v) = pct.get(&(g.clone(), METRIC_LATENCY)) {
            (s.latency_p50, s.latency_p90, s.latency_p95, s.latency_p99) = (v[0], v[1], v[2], v[3]);
        }
        if let Some(v) = pct.get(&(g, METRIC_TTFT)) {
            (s.ttft_p50, s.ttft_p95, s.ttft_p99) = (v[0], v[1], v[2]);
        }
        s
    };
    let mut all = match &all {
        Some(c) => with_pct(Group::All, stats_of(String::new(), c)),
        None => GroupStats::default(),
    };
    let w = filter::build(f);
    all.distinct_users = conn
        .query_row(
            &format!("SELECT count(DISTINCT user_id) FROM calls WHERE {}", w.clause()),
            duckdb::params_from_iter(w.params.iter()),
            |r| r.get::<_, i64>(0),
        )
        .map_err(db_err)?
        .max(0) as u64;
    tracing::debug!(ms = started.elapsed().as_millis() as u64, "overview: distinct users");
    let mut models: Vec<GroupStats> = by_model
        .into_iter()
        .filter_map(|(m, c)| c.map(|c| with_pct(Group::Model(m.clone()), stats_of(m, &c))))
        .collect();
    models.sort_by(|a, b| b.requests.cmp(&a.requests).then_with(|| a.key.cmp(&b.key)));
    let days =
        by_day.into_iter().filter_map(|(d, c)| c.map(|c| with_pct(Group::Day(d), stats_of(day_key(d), &c)))).collect();
    let weekday_hour = wh
        .into_iter()
        .map(|(h, n)| GroupStats { key: format!("{},{}", h / 24, h % 24), requests: count(n), ..GroupStats::default() })
        .collect();
    Ok(Overview { all, by_model: models, by_day: days, weekday_hour })
}

/// Days beyond which the fine-bin scan keeps only each group's own bins in SQL (in tests,
/// whose calls span three days, two: windows over three days take that way, shorter
/// ones the other).
const MANY_DAYS: usize = if cfg!(test) { 2 } else { 62 };

/// A group's percentiles of one metric, in the order of `LATENCY_QS` or `TTFT_QS`.
type Percentiles = Vec<Option<f64>>;

/// Exact percentiles of every group with a histogram, per metric (`LATENCY_QS`, `TTFT_QS`).
fn percentiles(
    conn: &Connection,
    scope: &Scope<'_>,
    hists: &HashMap<(Group, u8), BTreeMap<i32, i64>>,
) -> Result<HashMap<(Group, u8), Percentiles>, StoreError> {
    let mut out = HashMap::new();
    for (metric, col, qs) in [(METRIC_LATENCY, "latency_ms", &LATENCY_QS[..]), (METRIC_TTFT, "ttft_ms", &TTFT_QS[..])] {
        // Step 1: the coarse bin of every wanted rank.
        let mut wanted: Vec<(Group, i64, At)> = Vec::new();
        for ((g, m), h) in hists {
            if *m != metric {
                continue;
            }
            let n: i64 = h.values().sum();
            for &q in qs {
                let (lo, hi, _) = ranks(n, q);
                for r in [lo, hi] {
                    let at =
                        locate(h.iter().map(|(b, c)| (i64::from(*b), *c)), r).ok_or_else(|| inconsistent("rank"))?;
                    wanted.push((g.clone(), r, at));
                }
            }
        }
        if wanted.is_empty() {
            continue;
        }
        let values = rank_values(conn, scope, (metric, col), &wanted, hists)?;
        for ((g, m), h) in hists {
            if *m != metric {
                continue;
            }
            let n: i64 = h.values().sum();
            let v: Vec<Option<f64>> = qs
                .iter()
                .map(|&q| {
                    let (lo, hi, frac) = ranks(n, q);
                    let a = values.get(&(g.clone(), lo))?;
                    let b = values.get(&(g.clone(), hi))?;
                    Some(interpolate(*a, *b, frac))
                })
                .collect();
            if v.iter().any(Option::is_none) {
                return Err(inconsistent("missing rank"));
            }
            out.insert((g.clone(), metric), v);
        }
    }
    Ok(out)
}

/// Whether every offset of the schedule is zero: local days are UTC days (`day_bins`' days).
fn is_utc(tz: &TzShift) -> bool {
    tz.iter().all(|(_, off)| *off == 0)
}

/// The metrics with the bin column each is stored with.
const METRICS: [(u8, &str); 2] = [(METRIC_LATENCY, "latency_bin"), (METRIC_TTFT, "ttft_bin")];

/// SQL (with its parameters): the values per coarse bin of the filter's window, as rows
/// `m, d, metric, c, n` (model, day, metric, coarse bin, values; several rows may share a
/// key): summed from `day_bins` over the split's whole days (`d` their UTC day), counted from
/// the calls' stored bins over its other ranges (`d` the SQL `day` over `start_time`), each
/// range its own scan (DuckDB prunes a range by its zone maps, not an `OR` of them). Only
/// the `metrics` given (id and bin column).
pub fn coarse_rows(f: &CallFilter, split: &Split, day: &str, metrics: &[(u8, &str)]) -> (String, Vec<DbValue>) {
    let mut parts = Vec::new();
    let mut params = Vec::new();
    let ids: Vec<String> = metrics.iter().map(|(m, _)| m.to_string()).collect();
    if !split.days.is_empty() {
        let w = filter::build(&CallFilter { since: None, until: None, ..f.clone() });
        params.extend(w.params.iter().cloned());
        let ranges = day_ranges(split, &mut params);
        parts.push(format!(
            "SELECT model AS m, day_us // {DAY_US} AS d, metric, bin // {FINE_PER_COARSE} AS c, n
             FROM day_bins WHERE {} AND metric IN ({}) AND ({ranges})",
            w.clause(),
            ids.join(", "),
        ));
    }
    for r in &split.calls {
        let mut w = filter::build(f);
        filter::between(&mut w, "start_time", *r);
        for (metric, b) in metrics {
            params.extend(w.params.iter().cloned());
            parts.push(format!(
                "SELECT m, d, CAST({metric} AS UTINYINT) AS metric, c, count(*) AS n FROM (
                     SELECT coalesce(model, '') AS m, {day} AS d, CAST({b} // {FINE_PER_COARSE} AS INTEGER) AS c
                     FROM calls WHERE {} AND {b} IS NOT NULL) GROUP BY m, d, c",
                w.clause()
            ));
        }
    }
    if parts.is_empty() {
        parts.push("SELECT '' AS m, 0 AS d, CAST(0 AS UTINYINT) AS metric, 0 AS c, 0 AS n WHERE FALSE".into());
    }
    (parts.join(" UNION ALL "), params)
}

/// SQL: `day_us` in one of the split's whole-day ranges (their parameters added to `params`).
fn day_ranges(split: &Split, params: &mut Vec<DbValue>) -> String {
    let ranges: Vec<String> = split
        .days
        .iter()
        .map(|r| {
            let mut range = filter::Where::default();
            filter::between(&mut range, "day_us", *r);
            params.extend(range.params.iter().cloned());
            format!("({})", range.clause())
        })
        .collect();
    ranges.join(" OR ")
}

/// The calls both scans read: model, local day (days since 1970), value, stored fine bin
/// and its coarse bin, of the calls whose bin passes `bins` (SQL over the bin column `{b}`).
fn binned_calls(col: &str, tz: &TzShift, w: &filter::Where, bins: &str) -> String {
    let b = bin_column(col);
    format!(
        "SELECT coalesce(model, '') AS m, {day} AS d, {col} AS v, {b} AS f, {b} // {FINE_PER_COARSE} AS c \
         FROM calls WHERE {w} AND ({bins})",
        day = filter::local_day(tz),
        w = w.clause(),
        bins = bins.replace("{b}", b),
    )
}

/// SQL (with its parameters): per (model `m`, local day `d`, fine bin `f`, its coarse bin
/// `c`) of the wanted coarse bins, the values `n` and their least `lo` and greatest `hi` —
/// from `day_bins` over the split's whole days (UTC days, as `d` is under UTC), from the
/// calls over its other ranges, each range its own scan (DuckDB prunes a range by its zone
/// maps, not an `OR` of them).
fn fine_counts(
    f: &CallFilter,
    tz: &TzShift,
    col: &str,
    metric: u8,
    split: &Split,
    coarse: &HashSet<i64>,
) -> (String, Vec<DbValue>) {
    let mut parts = Vec::new();
    let mut params = Vec::new();
    if !split.days.is_empty() {
        let w = filter::build(&CallFilter { since: None, until: None, ..f.clone() });
        params.extend(w.params.iter().cloned());
        let ranges = day_ranges(split, &mut params);
        parts.push(format!(
            "SELECT model AS m, day_us // {DAY_US} AS d, bin AS f, bin // {FINE_PER_COARSE} AS c, n, lo, hi
             FROM day_bins WHERE {} AND metric = {metric} AND bin // {FINE_PER_COARSE} IN ({}) AND ({ranges})",
            w.clause(),
            list(coarse),
        ));
    }
    for r in &split.calls {
        let mut w = filter::build(f);
        filter::between(&mut w, "start_time", *r);
        params.extend(w.params.iter().cloned());
        parts.push(format!(
            "SELECT m, d, f, c, count(*) AS n, min(v) AS lo, max(v) AS hi FROM ({}) GROUP BY m, d, f, c",
            binned_calls(col, tz, &w, &in_coarse(coarse))
        ));
    }
    if parts.is_empty() {
        parts.push("SELECT '' AS m, 0 AS d, 0 AS f, 0 AS c, 0 AS n, 0.0 AS lo, 0.0 AS hi WHERE FALSE".into());
    }
    (parts.join(" UNION ALL "), params)
}

/// The lesser and greater of two values in DuckDB's order (NaN above every number), as the
/// SQL `min` and `max` give them.
fn least(a: f64, b: f64) -> f64 {
    if b.is_nan() || a < b {
        a
    } else {
        b
    }
}

fn greatest(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn bin_column(col: &str) -> &'static str {
    if col == "ttft_ms" {
        "ttft_bin"
    } else {
        "latency_bin"
    }
}

/// SQL: the bin column lies in one of the coarse bins (one integer `IN` list: DuckDB
/// evaluates it far faster than a chain of ranges).
fn in_coarse(coarse: &HashSet<i64>) -> String {
    format!("{{b}} // {FINE_PER_COARSE} IN ({})", list(coarse))
}

fn list(s: &HashSet<i64>) -> String {
    s.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

/// SQL over `m`, `d` and a bin expression: the row belongs to a group that wants that bin
/// (`scale` separates days from bins in one integer key); the model names are parameters.
fn wanted_by_group(want: &HashMap<&Group, HashSet<i64>>, bin: &str, scale: i64, params: &mut Vec<DbValue>) -> String {
    let mut conds = Vec::new();
    let mut day_keys = HashSet::new();
    for (g, bins) in want {
        match g {
            Group::All => conds.push(format!("{bin} IN ({})", list(bins))),
            Group::Model(m) => {
                conds.push(format!("(m = ? AND {bin} IN ({}))", list(bins)));
                params.push(DbValue::Text(m.clone()));
            }
            Group::Day(d) => day_keys.extend(bins.iter().map(|b| d * scale + b)),
        }
    }
    if !day_keys.is_empty() {
        conds.push(format!("d * {scale} + {bin} IN ({})", list(&day_keys)));
    }
    conds.join(" OR ")
}

/// Runs one of the percentile scans, logging its time and size
/// (`LLMSCOPE_LOG=llmscope_store=debug`).
fn scan<T>(
    conn: &Connection,
    sql: &str,
    params: &[DbValue],
    col: &str,
    what: &str,
    map: impl FnMut(&duckdb::Row<'_>) -> duckdb::Result<T>,
) -> Result<Vec<T>, StoreError> {
    let started = std::time::Instant::now();
    tracing::trace!(sql, "overview scan");
    let rows = query_rows(conn, sql, params, map)?;
    tracing::debug!(ms = started.elapsed().as_millis() as u64, rows = rows.len(), col, what);
    Ok(rows)
}

fn group_of(set: i64, m: Option<String>, d: Option<i64>) -> Option<Group> {
    match (set, m, d) {
        (3, _, _) => Some(Group::All),
        (1, Some(m), _) => Some(Group::Model(m)),
        (2, _, Some(d)) => Some(Group::Day(d)),
        _ => None,
    }
}

/// Which groups the rows of a fine-bin source count for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ForGroups {
    Every,
    WindowAndModels,
    Days,
}

/// Reads the rows of a fine-bin source (`m, d, f, c, n, lo, hi`) into `each(m, d, f, n, lo,
/// hi)`; returns how many there were.
fn fine_rows(
    conn: &Connection,
    source: &str,
    params: &[DbValue],
    mut each: impl FnMut(&str, i64, i64, i64, f64, f64),
) -> Result<usize, StoreError> {
    let mut rows = 0;
    for b in columns::query_batches(conn, source, params)? {
        let (m, d, fb) = (columns::strs(&b, 0)?, columns::i64s(&b, 1)?, columns::i64s(&b, 2)?);
        let (n, lo, hi) = (columns::i64s(&b, 4)?, columns::f64s(&b, 5)?, columns::f64s(&b, 6)?);
        if [m.null_count(), d.null_count(), fb.null_count(), n.null_count(), lo.null_count(), hi.null_count()]
            .iter()
            .any(|&k| k > 0)
        {
            return Err(inconsistent("null in fine bins"));
        }
        for i in 0..b.num_rows() {
            each(m.value(i), d.value(i), fb.value(i), n.value(i), lo.value(i), hi.value(i));
        }
        rows += b.num_rows();
    }
    Ok(rows)
}

/// What the percentile scans read: the filter, the offsets of local time, and which of its
/// ranges `day_bins` answers.
struct Scope<'a> {
    f: &'a CallFilter,
    tz: &'a TzShift,
    split: &'a Split,
}

/// Steps 2 and 3: the value at every wanted (group, rank) of one metric (id and column).
fn rank_values(
    conn: &Connection,
    scope: &Scope<'_>,
    (metric, col): (u8, &str),
    wanted: &[(Group, i64, At)],
    hists: &HashMap<(Group, u8), BTreeMap<i32, i64>>,
) -> Result<HashMap<(Group, i64), f64>, StoreError> {
    let Scope { f, tz, split } = *scope;
    let w = filter::build(f);
    let mut coarse_by_group: HashMap<&Group, HashSet<i64>> = HashMap::new();
    for (g, _, at) in wanted {
        coarse_by_group.entry(g).or_default().insert(at.bin);
    }
    let union: HashSet<i64> = coarse_by_group.values().flatten().copied().collect();
    // Step 2: values per fine bin, with the least and greatest, of the wanted coarse bins
    // (a value counts for every group it belongs to), per (model, day, fine bin): from
    // `day_bins` over the split's whole days, from the calls over the rest. Over a few weeks
    // those rows come back and each group's own bins are summed here: telling the groups
    // apart in SQL (a condition per model and a day × bin list, or grouping sets per kind
    // of group) cost more than that. Over many days the rows would grow as days × the bins
    // all groups want, so the groups are told apart in SQL then.
    type Fine = BTreeMap<i64, (i64, f64, f64)>;
    let mut fine: HashMap<Group, Fine> = HashMap::new();
    let mut add = |g: Group, fb: i64, n: i64, lo: f64, hi: f64| {
        if coarse_by_group.get(&g).is_some_and(|ks| ks.contains(&fb.div_euclid(FINE_PER_COARSE))) {
            let e = fine.entry(g).or_default().entry(fb).or_insert((0, lo, hi));
            *e = (e.0 + n, least(e.1, lo), greatest(e.2, hi));
        }
    };
    let days = coarse_by_group.keys().filter(|g| matches!(g, Group::Day(_))).count();
    let utc = is_utc(tz);
    let started = std::time::Instant::now();
    let mut rows = 0;
    if days <= MANY_DAYS {
        // Which groups each source's rows count for: under UTC one source for all; under
        // another zone `day_bins` (UTC days) and the calls of the window's edges for the
        // whole window and the models, and the calls grouped by local day (no model
        // column to read) for the days.
        let mut sources = Vec::new();
        if utc || split.days.is_empty() {
            let (sql, params) = fine_counts(f, tz, col, metric, split, &union);
            sources.push((sql, params, ForGroups::Every));
        } else {
            let of = |day: bool| -> HashSet<i64> {
                coarse_by_group
                    .iter()
                    .filter(|(g, _)| matches!(g, Group::Day(_)) == day)
                    .flat_map(|(_, bins)| bins.iter().copied())
                    .collect()
            };
            let (whole, by_day) = (of(false), of(true));
            if !whole.is_empty() {
                let (sql, params) = fine_counts(f, tz, col, metric, split, &whole);
                sources.push((sql, params, ForGroups::WindowAndModels));
            }
            if !by_day.is_empty() {
                let sql = format!(
                    "SELECT '' AS m, d, f, c, count(*) AS n, min(v) AS lo, max(v) AS hi FROM ({}) GROUP BY d, f, c",
                    binned_calls(col, tz, &w, &in_coarse(&by_day))
                );
                sources.push((sql, w.params.clone(), ForGroups::Days));
            }
        }
        for (source, params, targets) in sources {
            rows += fine_rows(conn, &source, &params, |m, d, fb, n, lo, hi| {
                if targets != ForGroups::Days {
                    add(Group::All, fb, n, lo, hi);
                    add(Group::Model(m.to_string()), fb, n, lo, hi);
                }
                if targets != ForGroups::WindowAndModels {
                    add(Group::Day(d), fb, n, lo, hi);
                }
            })?;
        }
    } else {
        // Over many days the groups are told apart in SQL, from one source whose days are
        // the report's: `day_bins` only under UTC.
        let everything = Split { days: Vec::new(), calls: vec![(None, None)] };
        let (source, mut params) = fine_counts(f, tz, col, metric, if utc { split } else { &everything }, &union);
        let mut sets = Vec::new();

        if coarse_by_group.keys().any(|g| matches!(g, Group::All)) {
            sets.push("(f)");
        }
        if coarse_by_group.keys().any(|g| matches!(g, Group::Model(_))) {
            sets.push("(m, f)");
        }
        sets.push("(d, f)");
        let groups = wanted_by_group(&coarse_by_group, "c", 10_000, &mut params);
        let sql = format!(
            "SELECT GROUPING(m, d), m, d, f, sum(n)::BIGINT, min(lo), max(hi) FROM ({source}) WHERE {groups}
             GROUP BY GROUPING SETS ({})",
            sets.join(", ")
        );
        let got = query_rows(conn, &sql, &params, |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, f64>(5)?,
                r.get::<_, f64>(6)?,
            ))
        })?;
        rows = got.len();
        for (set, m, d, fb, n, lo, hi) in got {
            if let Some(g) = group_of(set, m, d) {
                add(g, fb, n, lo, hi);
            }
        }
    }
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        rows,
        col,
        whole_days = split.days.len(),
        calls_ranges = split.calls.len(),
        "overview: fine bins"
    );
    // Each rank's fine bin; a bin of one distinct value answers at once.
    let mut values = HashMap::new();
    let mut fetch: Vec<(Group, i64, i64, i64)> = Vec::new(); // group, rank, fine bin, rank in it
    for (g, r, at) in wanted {
        let bins = fine.get(g).ok_or_else(|| inconsistent("fine bins"))?;
        let lo = at.bin * FINE_PER_COARSE;
        let in_coarse = bins.range(lo..lo + FINE_PER_COARSE).map(|(b, (n, _, _))| (*b, *n));
        let total: i64 = bins.range(lo..lo + FINE_PER_COARSE).map(|(_, (n, _, _))| n).sum();
        let expected = hists.get(&(g.clone(), metric)).and_then(|h| h.get(&(at.bin as i32))).copied();
        if Some(total) != expected {
            return Err(inconsistent("bin counts"));
        }
        let fat = locate(in_coarse, at.rank).ok_or_else(|| inconsistent("fine rank"))?;
        let &(_, least, greatest) = bins.get(&fat.bin).ok_or_else(|| inconsistent("fine bin"))?;
        if least == greatest {
            values.insert((g.clone(), *r), least);
        } else {
            fetch.push((g.clone(), *r, fat.bin, fat.rank));
        }
    }
    if fetch.is_empty() {
        return Ok(values);
    }
    // Step 3: the values of the fine bins that need sorting, for their groups only.
    let mut want: HashMap<&Group, HashSet<i64>> = HashMap::new();
    for (g, _, fb, _) in &fetch {
        want.entry(g).or_default().insert(*fb);
    }
    let union: HashSet<i64> = want.values().flatten().copied().collect();
    let mut params = w.params.clone();
    let groups = wanted_by_group(&want, "f", 100_000, &mut params);
    let sql = format!(
        "SELECT m, d, f, v FROM ({}) WHERE {groups}",
        binned_calls(col, tz, &w, &format!("{{b}} IN ({})", list(&union)))
    );
    let mut sorted: HashMap<(Group, i64), Vec<f64>> = HashMap::new();
    let rows = scan(conn, &sql, &params, col, "overview: values", |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, f64>(3)?))
    })?;
    for (m, d, fb, v) in rows {
        for g in [Group::All, Group::Model(m.clone()), Group::Day(d)] {
            if want.get(&g).is_some_and(|fs| fs.contains(&fb)) {
                sorted.entry((g, fb)).or_default().push(v);
            }
        }
    }
    for v in sorted.values_mut() {
        v.sort_by(f64::total_cmp);
    }
    for (g, r, fb, rank) in fetch {
        let v =
            sorted.get(&(g.clone(), fb)).and_then(|v| v.get(rank as usize)).ok_or_else(|| inconsistent("values"))?;
        values.insert((g, r), *v);
    }
    Ok(values)
}
