//! The fine value bins of whole UTC days (`day_bins`, migration 5): per day, project, model
//! and metric, the calls in each fine bin ([`super::bins`]) with the least and greatest
//! value. The overview's exact percentiles ([`super::overview`], step 2) read them for the
//! whole days of a window instead of counting the calls of every wanted coarse bin; the calls
//! of the rest of the window are still counted from the calls.
//!
//! A day's rows are rebuilt from its calls by a roll-up once the day is over (no part of it
//! in the quarter hours still receiving calls) and one of its quarter hours has been rolled
//! up since its last rebuild (`day_bins_dirty`). A day is read from `day_bins` only when it is
//! not in `day_bins_dirty` and none of its quarter hours is dirty (`rollup_dirty`): a call
//! appended after the rebuild marks its quarter hour in the same transaction, and rolling
//! that quarter hour up marks the day. So the rows of a day that is read always hold exactly
//! its calls. A server rebuilds each day once, shortly after midnight UTC, at the cost of
//! one scan of that day's calls; until then the day's calls are counted directly.

use std::collections::BTreeSet;

use duckdb::types::Value as DbValue;
use duckdb::Connection;
use llmscope_core::store::StoreError;
use llmscope_core::CallFilter;

use super::rollup::{mark, run_steps, runs_of, METRIC_LATENCY, METRIC_TTFT};
use super::{db_err, filter, query_rows};

pub use super::filter::DAY_US;

/// Dirty days inside a window beyond which `day_bins` is not read (each splits the window's
/// ranges, and the calls of each are scanned apart).
const MAX_DIRTY_DAYS: usize = 32;

/// The start of the UTC day holding `us`.
pub fn day_of(us: i64) -> i64 {
    us.div_euclid(DAY_US) * DAY_US
}

/// SQL: `day_bins` rows aggregated from the calls matching `where_` (named twice).
pub fn rows_sql(where_: &str) -> String {
    let day = filter::floor_sql("epoch_us(start_time)", DAY_US);
    let one = |metric: u8, bin: &str, col: &str| {
        format!(
            "SELECT project, {day} AS day_us, coalesce(model, '') AS model, CAST({metric} AS UTINYINT) AS metric,
                CAST({bin} AS INTEGER) AS bin, count(*) AS n, min({col}) AS lo, max({col}) AS hi
             FROM calls WHERE ({where_}) AND {bin} IS NOT NULL GROUP BY ALL"
        )
    };
    format!(
        "{} UNION ALL {}",
        one(METRIC_LATENCY, "latency_bin", "latency_ms"),
        one(METRIC_TTFT, "ttft_bin", "ttft_ms")
    )
}

/// Migration 5's step: the rows of every day with calls, from all its stored calls. (A call
/// appended later marks its quarter hour, which takes its day out until a roll-up after the
/// day ends rebuilds it.)
pub fn backfill(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(&format!("INSERT INTO day_bins {}", rows_sql("TRUE"))).map_err(db_err)
}

/// In a roll-up of the quarter hours `due` (project, start; before their marks are
/// cleared): marks their days, then rebuilds every marked day that no longer overlaps
/// `live` (`[from, to)` in µs, the quarter hours still receiving calls; all of them without
/// it). Returns how many days it rebuilt.
pub fn roll_up(conn: &Connection, due: &[(String, i64)], live: Option<(i64, i64)>) -> Result<usize, StoreError> {
    let days: BTreeSet<(&str, i64)> = due.iter().map(|(p, b)| (p.as_str(), day_of(*b))).collect();
    mark(conn, "day_bins_dirty", "day_us", &days)?;
    let marked: Vec<(String, i64)> =
        query_rows(conn, "SELECT project, day_us FROM day_bins_dirty ORDER BY day_us, project", &[], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let over: Vec<(String, i64)> = marked
        .into_iter()
        .filter(|(_, day)| live.is_none_or(|(from, to)| day.saturating_add(DAY_US) <= from || *day >= to))
        .collect();
    // One scan per project and run of consecutive days (an import rebuilds all its days).
    let projects: BTreeSet<&String> = over.iter().map(|(p, _)| p).collect();
    for project in projects {
        for (lo, hi) in runs_of(DAY_US, over.iter().filter(|(p, _)| p == project).map(|(_, d)| *d)) {
            let p = [DbValue::Text(project.clone()), DbValue::BigInt(lo), DbValue::BigInt(hi)];
            let in_days = "project = ? AND day_us >= ? AND day_us < ?";
            let in_calls = "project = ? AND start_time >= make_timestamp(?) AND start_time < make_timestamp(?)";
            let steps = [
                (format!("DELETE FROM day_bins WHERE {in_days}"), 1),
                (format!("INSERT INTO day_bins {}", rows_sql(in_calls)), 2),
                (format!("DELETE FROM day_bins_dirty WHERE {in_days}"), 1),
            ];
            run_steps(conn, &steps, &p, "rebuilding the days' value bins")?;
        }
    }
    Ok(over.len())
}

/// A time range `[lo, hi)` in µs; `None` for an open end.
pub type Range = (Option<i64>, Option<i64>);

/// How a window's fine bins are read: `day_bins` over `days`, the calls over `calls`
/// (together exactly the window).
#[derive(Debug, Default, PartialEq)]
pub struct Split {
    pub days: Vec<Range>,
    pub calls: Vec<Range>,
}

/// The split of an eligible filter's window: its whole UTC days that are clean (for the
/// filter's project, or every project) from `day_bins`, the rest from the calls; everything
/// from the calls when too many days inside it are dirty.
pub fn split(conn: &Connection, f: &CallFilter) -> Result<Split, StoreError> {
    let window: Range = (f.since.map(|t| t.timestamp_micros()), f.until.map(|t| t.timestamp_micros()));
    let lo = window.0.map(|t| day_of(t) + if day_of(t) == t { 0 } else { DAY_US });
    let hi = window.1.map(day_of);
    if lo.zip(hi).is_some_and(|(lo, hi)| lo >= hi) {
        return Ok(Split { days: Vec::new(), calls: vec![window] });
    }
    let mut w = filter::Where::default();
    if let Some(p) = &f.project {
        w.push("project = ?", [DbValue::Text(p.clone())]);
    }
    let sql = format!(
        "SELECT DISTINCT day_us FROM (SELECT day_us FROM day_bins_dirty WHERE {w}
             UNION ALL SELECT {day} FROM rollup_dirty WHERE {w})
         ORDER BY day_us",
        w = w.clause(),
        day = filter::floor_sql("bucket_us", DAY_US),
    );
    let dirty: Vec<i64> = query_rows(conn, &sql, &filter::repeat(&w.params, 2), |r| r.get(0))?
        .into_iter()
        .filter(|d| lo.is_none_or(|lo| *d >= lo) && hi.is_none_or(|hi| *d < hi))
        .collect();
    if dirty.len() > MAX_DIRTY_DAYS {
        return Ok(Split { days: Vec::new(), calls: vec![window] });
    }
    // The whole days between the dirty ones, then the rest of the window.
    let mut days = Vec::new();
    let mut from = lo;
    for d in dirty {
        if from.is_none_or(|f| f < d) {
            days.push((from, Some(d)));
        }
        from = Some(d + DAY_US);
    }
    if from.zip(hi).is_none_or(|(f, h)| f < h) {
        days.push((from, hi));
    }
    let calls = complement(window, &days);
    Ok(Split { days, calls })
}

/// The parts of `window` outside the ascending, disjoint `inside` ranges (which lie in it).
fn complement(window: Range, inside: &[Range]) -> Vec<Range> {
    let mut out = Vec::new();
    let mut from = window.0;
    for &(lo, hi) in inside {
        // (An open start inside means the window's start is open too, and nothing precedes it.)
        if let Some(lo) = lo {
            if from.is_none_or(|f| f < lo) {
                out.push((from, Some(lo)));
            }
        }
        match hi {
            Some(hi) => from = Some(hi),
            None => return out,
        }
    }
    if from.zip(window.1).is_none_or(|(f, h)| f < h) {
        out.push((from, window.1));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_complement_of_the_days_is_the_rest_of_the_window() {
        let d = DAY_US;
        assert_eq!(
            complement((Some(5), Some(3 * d + 7)), &[(Some(d), Some(3 * d))]),
            vec![(Some(5), Some(d)), (Some(3 * d), Some(3 * d + 7))]
        );
        assert_eq!(complement((None, None), &[(None, Some(d)), (Some(2 * d), None)]), vec![(Some(d), Some(2 * d))]);
        assert_eq!(complement((None, None), &[(None, None)]), vec![]);
        assert_eq!(complement((Some(d), Some(2 * d)), &[(Some(d), Some(2 * d))]), vec![]);
        assert_eq!(complement((Some(d), Some(2 * d)), &[]), vec![(Some(d), Some(2 * d))]);
        assert_eq!(day_of(-1), -d);
        assert_eq!(day_of(d), d);
    }
}
