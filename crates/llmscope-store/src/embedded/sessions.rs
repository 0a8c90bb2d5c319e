//! The session rollup: one row per (project, session) with its turns, first and last call
//! start, and duration (first start to last end), kept beside the quarter-hour rollups
//! ([`super::rollup`]) so that the report's sessions summary reads a row per session instead
//! of grouping every call by its session id.
//!
//! **Kept.** When [`super::rollup::roll_up`] rolls up dirty quarter hours, every session
//! with a call in them is rebuilt, in the same transaction or one committed before it, from
//! its calls between its row's first and last start and in those quarter hours (one scan of
//! the project's calls between the earliest and the latest of these, so a long-lived
//! session widens it). So a row holds every call of its session that lies in a clean
//! quarter hour: a call the row lacks lies in a quarter hour that is still dirty (and is
//! read when that one is rolled up).
//!
//! **Read.** For a window, a session's calls inside it are exactly its row when the row
//! lies wholly inside the window and none of the session's calls in the window is in a
//! dirty quarter hour. The other sessions with calls in the window — those with such a
//! dirty call, and those whose row crosses an edge of the window — are aggregated from
//! their calls in the window, as the calls-only query does. Every answer is exact (the
//! averages up to the order of summation).

use std::collections::{BTreeMap, HashMap};

use duckdb::types::Value as DbValue;
use duckdb::Connection;
use llmscope_core::stats;
use llmscope_core::store::{SessionSummary, StoreError};
use llmscope_core::CallFilter;

use super::bins::{fine_bin_sql, FINE_PER_COARSE};
use super::rollup::{self, BUCKET_US};
use super::{db_err, filter, labels, overview, quantiles, query_rows};

/// SQL: a session's turns and duration (seconds) from its calls, in a `GROUP BY project,
/// session_id` over calls with a session id; the calls-only summary uses the same. (The
/// difference is taken in doubles, exact for any span under 285 years, so that absurd
/// timestamps cannot overflow it and stop every roll-up.)
pub const TURNS_AND_DURATION: &str = "count(*) AS turns,
    (max(epoch_us(coalesce(end_time, start_time)))::DOUBLE - min(epoch_us(start_time))::DOUBLE) / 1e6 AS duration_s";

/// SQL: `session_rollup` rows (in its column order) built from the calls matching `where_`.
pub fn rows_sql(where_: &str) -> String {
    format!(
        "SELECT project, session_id, turns, first_us, last_us, duration_s,
                CAST({bin} AS USMALLINT) AS duration_bin,
                CASE WHEN least_user = greatest_user THEN least_user END AS user_id,
                coalesce(least_user <> greatest_user, FALSE) AS mixed_users
         FROM (SELECT project, session_id, {TURNS_AND_DURATION},
                      epoch_us(min(start_time)) AS first_us, epoch_us(max(start_time)) AS last_us,
                      min(user_id) AS least_user, max(user_id) AS greatest_user
               FROM calls WHERE ({where_}) AND session_id IS NOT NULL GROUP BY project, session_id)",
        bin = fine_bin_sql("duration_s"),
    )
}

/// Runs of quarter hours beyond which [`calls_in_runs`] scans once instead of once per run.
const RUNS_SCANNED_APART: usize = 32;

/// SQL: `cols` of the calls matching `where_` that start in one of the `[lo, hi)` runs (µs),
/// and how many times `where_`'s parameters repeat in it. One scan per run, each pruned by
/// start time (DuckDB prunes a range, not an `OR` of ranges); beyond
/// [`RUNS_SCANNED_APART`] runs, one scan bounded by the first and the last.
fn calls_in_runs(cols: &str, where_: &str, runs: &[(i64, i64)]) -> (String, usize) {
    let range = |lo: i64, hi: i64| format!("start_time >= make_timestamp({lo}) AND start_time < make_timestamp({hi})");
    let (Some(first), Some(last)) = (runs.first(), runs.last()) else {
        return (format!("SELECT {cols} FROM calls WHERE FALSE"), 0);
    };
    if runs.len() > RUNS_SCANNED_APART {
        let any: Vec<String> = runs.iter().map(|(lo, hi)| format!("({})", range(*lo, *hi))).collect();
        let sql = format!(
            "SELECT {cols} FROM calls WHERE ({where_}) AND {} AND ({})",
            range(first.0, last.1),
            any.join(" OR ")
        );
        return (sql, 1);
    }
    let parts: Vec<String> = runs
        .iter()
        .map(|(lo, hi)| format!("SELECT {cols} FROM calls WHERE ({where_}) AND {}", range(*lo, *hi)))
        .collect();
    (parts.join(" UNION ALL "), runs.len())
}

/// Rebuilds, in the caller's transaction, the rows of `project`'s sessions with a call in
/// the `due` runs of quarter hours (those being rolled up).
pub fn roll_up(conn: &Connection, project: &str, due: &[(i64, i64)]) -> Result<(), StoreError> {
    if due.is_empty() {
        return Ok(());
    }
    let err = |e: duckdb::Error| StoreError::Backend(format!("rolling up sessions: {e}"));
    let p = [DbValue::Text(project.to_string())];
    let insert = |listed: &str, lo: i64, hi: i64| {
        let range = format!("start_time >= make_timestamp({lo}) AND start_time < make_timestamp({hi})");
        conn.execute(
            &format!("INSERT INTO session_rollup {}", rows_sql(&format!("{listed} AND {range}"))),
            duckdb::params_from_iter(p.iter()),
        )
        .map_err(err)
    };
    if let [(lo, hi)] = due {
        let any: bool = conn
            .query_row("SELECT EXISTS (SELECT 1 FROM session_rollup WHERE project = ?)", [project], |r| r.get(0))
            .map_err(err)?;
        if !any {
            // The project's first sessions (a first import, typically): no clean quarter
            // hour holds a call of a session yet, so each row needs only the run's calls.
            insert("project = ?", *lo, *hi)?;
            return Ok(());
        }
    }
    let (sessions, times) = calls_in_runs("session_id", "project = ? AND session_id IS NOT NULL", due);
    conn.execute(
        &format!("CREATE OR REPLACE TEMP TABLE rollup_sessions AS SELECT DISTINCT session_id FROM ({sessions})"),
        duckdb::params_from_iter(filter::repeat(&p, times)),
    )
    .map_err(err)?;
    let mine = "project = ? AND session_id IN (SELECT session_id FROM temp.rollup_sessions)";
    // A call of these sessions that their rows lack lies in a dirty quarter hour: the due
    // ones are read now, the others stay dirty (and their calls are read for any window
    // holding them) until they are due.
    let (first, last): (Option<i64>, Option<i64>) = conn
        .query_row(
            &format!("SELECT min(first_us), max(last_us) FROM session_rollup WHERE {mine}"),
            duckdb::params_from_iter(p.iter()),
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(err)?;
    let lo = due.iter().map(|r| r.0).chain(first).min().unwrap_or(0);
    let hi = due.iter().map(|r| r.1).chain(last.map(|l| l.saturating_add(1))).max().unwrap_or(0);
    if first.is_some() {
        conn.execute(&format!("DELETE FROM session_rollup WHERE {mine}"), duckdb::params_from_iter(p.iter()))
            .map_err(err)?;
    }
    // When the due quarter hours are one run that the rows do not widen (an import of new
    // days, typically), every session with a call in it is listed: the calls need no
    // filter (over 10 M calls the filter cost more than the aggregate it fed).
    insert(if due == [(lo, hi)] { "project = ?" } else { mine }, lo, hi)?;
    conn.execute_batch("DROP TABLE temp.rollup_sessions").map_err(err)?;
    Ok(())
}

/// Migration 4's step: a row for every session of the stored calls.
pub fn backfill(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(&format!("INSERT INTO session_rollup {}", rows_sql("TRUE"))).map_err(db_err)
}

/// Whether the session rollup answers this filter: a window and a project only.
pub fn eligible(f: &CallFilter) -> bool {
    f == &CallFilter { project: f.project.clone(), since: f.since, until: f.until, ..CallFilter::default() }
}

/// How a window's sessions are read.
pub struct Plan {
    /// The window's calls.
    calls: filter::Where,
    /// The rows read as they are: wholly inside the window (and of its project).
    rows: filter::Where,
    /// SQL listing (project, session_id) of the sessions read from their calls instead —
    /// with a call of the window in a dirty quarter hour, or a row crossing an edge of the
    /// window — with its parameters; `None` for none.
    aside: Option<(String, Vec<DbValue>)>,
    /// The filter, whose quarter-hour plan counts the calls without a session from the
    /// label rollup.
    filter: CallFilter,
}

impl Plan {
    /// SQL: the rows read as they are, `cols` of each, with the parameters.
    fn rows_sql(&self, cols: &str) -> (String, Vec<DbValue>) {
        match &self.aside {
            None => {
                (format!("SELECT {cols} FROM session_rollup WHERE {}", self.rows.clause()), self.rows.params.clone())
            }
            Some((x, xp)) => (
                format!(
                    "SELECT {cols} FROM session_rollup ANTI JOIN ({x}) x USING (project, session_id) WHERE {}",
                    self.rows.clause()
                ),
                xp.iter().chain(&self.rows.params).cloned().collect(),
            ),
        }
    }
}

/// The plan of an eligible filter, or `None` when too many of the window's quarter hours
/// are dirty.
pub fn plan(conn: &Connection, f: &CallFilter) -> Result<Option<Plan>, StoreError> {
    let (since, until) = (f.since.map(|t| t.timestamp_micros()), f.until.map(|t| t.timestamp_micros()));
    // The dirty quarter hours with calls the window may hold.
    let dirty = rollup::dirty(conn)?.into_iter().filter(|(p, b)| {
        f.project.as_ref().is_none_or(|fp| fp == p)
            && since.is_none_or(|s| b.saturating_add(BUCKET_US) > s)
            && until.is_none_or(|u| *b < u)
    });
    let runs = rollup::runs(dirty.map(|(_, b)| b));
    if runs.len() > overview::MAX_DIRTY_RUNS {
        return Ok(None);
    }
    let calls = filter::build(f);
    let mut rows = filter::build(&CallFilter { project: f.project.clone(), ..CallFilter::default() });
    let mut aside: Vec<String> = Vec::new();
    let mut aside_params: Vec<DbValue> = Vec::new();
    if !runs.is_empty() {
        let (dirty, times) =
            calls_in_runs("project, session_id", &format!("{} AND session_id IS NOT NULL", calls.clause()), &runs);
        aside.push(format!("SELECT DISTINCT project, session_id FROM ({dirty})"));
        aside_params.extend(filter::repeat(&calls.params, times));
    }
    if since.is_some() || until.is_some() {
        // (A row meeting the window starts before its end and ends at or after its start.)
        let mut meets = vec![rows.clause().to_string()];
        let mut inside = Vec::new();
        if let Some(s) = since {
            meets.push(format!("last_us >= {s}"));
            inside.push(format!("first_us >= {s}"));
        }
        if let Some(u) = until {
            meets.push(format!("first_us < {u}"));
            inside.push(format!("last_us < {u}"));
        }
        let inside = inside.join(" AND ");
        aside.push(format!(
            "SELECT project, session_id FROM session_rollup WHERE {} AND NOT ({inside})",
            meets.join(" AND ")
        ));
        aside_params.extend(rows.params.iter().cloned());
        rows.push(&inside, []);
    }
    let aside = (!aside.is_empty()).then(|| (aside.join(" UNION "), aside_params));
    Ok(Some(Plan { calls, rows, aside, filter: f.clone() }))
}

/// Sessions set aside beyond which the summary reads the calls instead.
const MAX_ASIDE: usize = 200_000;

/// The session summary of an eligible filter's plan, or `None` when more than
/// [`MAX_ASIDE`] sessions are set aside (many dirty quarter hours in the window).
pub fn summary(conn: &Connection, plan: &Plan) -> Result<Option<SessionSummary>, StoreError> {
    let calls = &plan.calls;
    // The sessions set aside: their turns and durations, from their calls in the window.
    let from_calls: Vec<(i64, f64)> = match &plan.aside {
        None => Vec::new(),
        Some((x, xp)) => {
            let sql = format!(
                "WITH x AS MATERIALIZED ({x})
                 SELECT {TURNS_AND_DURATION} FROM calls SEMI JOIN x USING (project, session_id)
                 WHERE {} AND session_id IS NOT NULL GROUP BY project, session_id",
                calls.clause()
            );
            let params: Vec<DbValue> = xp.iter().chain(&calls.params).cloned().collect();
            let rows: Vec<(i64, f64)> =
                query_rows(conn, &format!("{sql} LIMIT {}", MAX_ASIDE + 1), &params, |r| Ok((r.get(0)?, r.get(1)?)))?;
            if rows.len() > MAX_ASIDE {
                // (Held here, they would cost more memory than the calls-only query.)
                return Ok(None);
            }
            rows
        }
    };
    // The other sessions' rows.
    let (source, params) = plan.rows_sql("turns, duration_s AS v, duration_bin AS f");
    // Turns per value and durations per coarse bin, in one scan.
    let sql = format!(
        "SELECT GROUPING(turns), turns, c, count(*), sum(v)
         FROM (SELECT turns, v, f // {FINE_PER_COARSE} AS c FROM ({source})) GROUP BY GROUPING SETS ((turns), (c))"
    );
    let mut turns: BTreeMap<i64, u64> = BTreeMap::new();
    let mut coarse: BTreeMap<i64, i64> = BTreeMap::new();
    let mut duration_sum = 0.0;
    type Row = (i64, Option<i64>, Option<i64>, i64, Option<f64>);
    for (set, t, c, n, sum) in query_rows(conn, &sql, &params, |r| -> duckdb::Result<Row> {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })? {
        match (set, t, c) {
            (0, Some(t), _) => {
                *turns.entry(t).or_default() += n.max(0) as u64;
                duration_sum += sum.unwrap_or(0.0);
            }
            (1, _, Some(c)) => *coarse.entry(c).or_default() += n,
            _ => return Err(quantiles::inconsistent("session groups")),
        }
    }
    for &(t, d) in &from_calls {
        *turns.entry(t).or_default() += 1;
        duration_sum += d;
    }
    let sessions: u64 = turns.values().sum();
    let extra: Vec<f64> = from_calls.iter().map(|(_, d)| *d).collect();
    let durations = quantiles::exact(conn, &source, &params, &coarse, &extra, &[0.5, 0.95])?;
    let turn_counts: Vec<(f64, u64)> = turns.iter().map(|(t, n)| (*t as f64, *n)).collect();
    let turn_total: f64 = turns.iter().map(|(t, n)| *t as f64 * *n as f64).sum();
    // (`None`: too many dirty quarter hours; they are counted from the calls.)
    let without = match overview::plan(conn, &plan.filter)? {
        Some(lp) => labels::counts(conn, &lp, rollup::LABEL_NO_SESSION)?.first().map_or(0, |(_, n)| *n as i64),
        None => {
            let sql = format!("SELECT count(*) FROM calls WHERE {} AND session_id IS NULL", calls.clause());
            conn.query_row(&sql, duckdb::params_from_iter(calls.params.iter()), |r| r.get(0)).map_err(db_err)?
        }
    };
    Ok(Some(SessionSummary {
        sessions,
        turns_avg: (sessions > 0).then(|| turn_total / sessions as f64),
        turns_p50: stats::quantile_of_counts(&turn_counts, 0.5),
        turns_max: turns.keys().next_back().map_or(0, |t| (*t).max(0) as u64),
        duration_avg_s: (sessions > 0).then(|| duration_sum / sessions as f64),
        duration_p50_s: durations[0],
        duration_p95_s: durations[1],
        calls_without_session: without.max(0) as u64,
    }))
}

/// How many sessions each of `users` has calls in, under an eligible filter's plan.
pub fn of_users(conn: &Connection, plan: &Plan, users: &[String]) -> Result<HashMap<String, u64>, StoreError> {
    let mut out: HashMap<String, u64> = HashMap::new();
    if users.is_empty() {
        return Ok(out);
    }
    let marks = vec!["?"; users.len()].join(", ");
    let names = users.iter().map(|u| DbValue::Text(u.clone()));
    // The rows of one user's sessions.
    let (rows, mut params) = plan.rows_sql("user_id");
    params.extend(names.clone());
    let sql = format!("SELECT user_id, count(*) FROM ({rows}) WHERE user_id IN ({marks}) GROUP BY user_id");
    for (u, n) in query_rows(conn, &sql, &params, |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        *out.entry(u).or_default() += n.max(0) as u64;
    }
    // The sessions set aside, and those of several users, from their calls in the window.
    let mut x =
        vec![format!("SELECT project, session_id FROM session_rollup WHERE {} AND mixed_users", plan.rows.clause())];
    let mut xp = plan.rows.params.clone();
    if let Some((aside, ap)) = &plan.aside {
        x.push(aside.clone());
        xp.extend(ap.iter().cloned());
    }
    let x = x.join(" UNION ");
    let any: bool = conn
        .query_row(&format!("SELECT EXISTS ({x})"), duckdb::params_from_iter(xp.iter()), |r| r.get(0))
        .map_err(db_err)?;
    if any {
        let sql = format!(
            "WITH x AS MATERIALIZED ({x})
             SELECT user_id, count(DISTINCT session_id) FROM calls SEMI JOIN x USING (project, session_id)
             WHERE {} AND user_id IN ({marks}) GROUP BY project, user_id",
            plan.calls.clause()
        );
        let params: Vec<DbValue> = xp.into_iter().chain(plan.calls.params.iter().cloned()).chain(names).collect();
        for (u, n) in query_rows(conn, &sql, &params, |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            *out.entry(u).or_default() += n.max(0) as u64;
        }
    }
    Ok(out)
}
