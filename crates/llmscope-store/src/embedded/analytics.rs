//! The aggregate queries, run inside DuckDB. Percentiles use `quantile_cont`: linear
//! interpolation between closest ranks, the definition of [`llmscope_core::stats`].

use std::collections::HashMap;

use duckdb::types::Value as DbValue;
use llmscope_core::store::{
    overview_by_groups, Analytics, CallBrief, CallOrder, GroupKey, GroupStats, HistogramBucket, Measures, Overview,
    QuestionCount, SessionSummary, StoreError, TimeRange, TzShift,
};
use llmscope_core::{stats, text, CallFilter, CallStatus};

use super::read::{order_sql, ts};
use super::sessions::{self, TURNS_AND_DURATION};
use super::{db_err, filter, labels, latency, overview, query_rows, questions, rollup, users, DuckStore, Setting};

/// `group_stats`' measure columns when only the count is wanted (same types as the full list).
const ONLY_COUNT_SQL: &str = "0, 0, 0, 0, 0, 0, 0, CAST(NULL AS DOUBLE), NULL, CAST(NULL AS DOUBLE), \
    CAST(NULL AS DOUBLE), NULL, CAST(NULL AS DOUBLE), 0::DOUBLE, 0::DOUBLE, 0::DOUBLE, 0, 0, 0, 0, \
    CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), 0::DOUBLE";

/// The grouping expression and how the group value is shown as the key. Time keys group by
/// integers (a date; weekday × 24 + hour) and are formatted once per group, not per row.
pub(crate) fn key_expr(key: &GroupKey, tz: &TzShift) -> (String, String) {
    let local = filter::local_time(tz);
    let plain = |e: &str| (e.to_string(), "g".to_string());
    match key {
        GroupKey::Day => (format!("CAST({local} AS DATE)"), "CAST(g AS VARCHAR)".into()),
        GroupKey::WeekdayHour => (
            format!("(isodow({local}) - 1) * 24 + hour({local})"),
            "CAST(g // 24 AS VARCHAR) || ',' || CAST(g % 24 AS VARCHAR)".into(),
        ),
        other => plain(&key_sql(other)),
    }
}

fn key_sql(key: &GroupKey) -> String {
    match key {
        GroupKey::All => "''".into(),
        GroupKey::Model => "coalesce(model, '')".into(),
        GroupKey::User => "user_id".into(),
        GroupKey::Session => "session_id".into(),
        GroupKey::StatusCode => "coalesce(CAST(status_code AS VARCHAR), '')".into(),
        GroupKey::ErrorKind => "coalesce(error_kind, '')".into(),
        GroupKey::Day | GroupKey::WeekdayHour => "''".into(),
    }
}

fn list_f64(v: DbValue) -> Vec<Option<f64>> {
    match v {
        DbValue::List(items) => items
            .into_iter()
            .map(|x| match x {
                DbValue::Double(d) => Some(d),
                DbValue::Float(f) => Some(f64::from(f)),
                DbValue::BigInt(i) => Some(i as f64),
                DbValue::UBigInt(i) => Some(i as f64),
                DbValue::Int(i) => Some(f64::from(i)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn pick(v: &[Option<f64>], i: usize) -> Option<f64> {
    v.get(i).copied().flatten()
}

fn u(n: Option<i64>) -> u64 {
    n.unwrap_or(0).max(0) as u64
}

/// A sum read as DOUBLE (so that no total can overflow the query), saturated into u64.
fn uf(n: Option<f64>) -> u64 {
    n.unwrap_or(0.0).clamp(0.0, u64::MAX as f64) as u64
}

impl DuckStore {
    /// Answers from the rollups a filter that does not group by local time, when they can:
    /// `None` (read the calls instead) for a filter they do not cover, too many dirty quarter
    /// hours, or a failure (logged).
    fn answer_from_rollups<T>(
        &self,
        f: &CallFilter,
        tz: &TzShift,
        what: &str,
        read: impl FnOnce(&duckdb::Connection, &overview::Plan) -> Result<T, StoreError>,
    ) -> Option<T> {
        self.answer_eligible(f, tz, what, |conn| match overview::plan(conn, f)? {
            Some(plan) => read(conn, &plan).map(Some),
            None => Ok(None),
        })
    }

    /// Answers through `read` (which may decline with `None`) a filter the rollups and the
    /// days' bins cover: `None` (read the calls instead) for another filter, or a failure
    /// (logged). For readers that need no quarter-hour [`overview::Plan`].
    fn answer_eligible<T>(
        &self,
        f: &CallFilter,
        tz: &TzShift,
        what: &str,
        read: impl FnOnce(&duckdb::Connection) -> Result<Option<T>, StoreError>,
    ) -> Option<T> {
        if !overview::eligible(f, tz) {
            return None;
        }
        self.with_query_conn(read).unwrap_or_else(|e| {
            tracing::warn!(error = %e, what, "the rollups could not answer; reading the calls instead");
            None
        })
    }
}

impl Analytics for DuckStore {
    fn group_stats(
        &self,
        f: &CallFilter,
        key: &GroupKey,
        tz: &TzShift,
        measures: Measures,
        limit: usize,
    ) -> Result<Vec<GroupStats>, StoreError> {
        // Errors counted by status code or kind: from the label rollup.
        let errors_by = match key {
            GroupKey::StatusCode => Some(rollup::LABEL_STATUS_CODE),
            GroupKey::ErrorKind => Some(rollup::LABEL_ERROR_KIND),
            _ => None,
        };
        let all_calls = CallFilter { status: None, ..f.clone() };
        if let Some(dim) = errors_by.filter(|_| {
            f.status == Some(CallStatus::Error) && measures.only_count && limit == 0 && labels::eligible(&all_calls)
        }) {
            let counts = self.answer_from_rollups(&all_calls, &Vec::new(), "errors by label", |conn, plan| {
                labels::counts(conn, plan, dim)
            });
            if let Some(counts) = counts {
                return Ok(counts
                    .into_iter()
                    .map(|(key, requests)| GroupStats { key, requests, ..GroupStats::default() })
                    .collect());
            }
        }
        if users::eligible(f, key, measures, limit) {
            let top = self.answer_from_rollups(f, &Vec::new(), "top users", |conn, plan| {
                users::top(conn, f, plan, measures, limit)
            });
            if let Some(top) = top.flatten() {
                return Ok(top);
            }
        }
        let mut w = filter::build(f);
        if matches!(key, GroupKey::User) {
            w.push("user_id IS NOT NULL", []);
        }
        if matches!(key, GroupKey::Session) {
            w.push("session_id IS NOT NULL", []);
        }
        // The top groups of a limited list are found by their call count alone (a scan of
        // the key column), and the measures computed for those groups only: the same groups
        // in the same order, as the ordering is by count, then key.
        let timeless = !matches!(key, GroupKey::All | GroupKey::Day | GroupKey::WeekdayHour);
        if limit > 0 && timeless && !measures.only_count {
            let ks = key_sql(key);
            let sql = format!(
                "SELECT {ks} AS k FROM calls WHERE {} GROUP BY k ORDER BY count(*) DESC, k LIMIT {limit}",
                w.clause()
            );
            let top: Vec<Option<String>> =
                self.with_query_conn(|conn| query_rows(conn, &sql, &w.params, |r| r.get(0)))?;
            let top: Vec<String> = top.into_iter().flatten().collect();
            if top.is_empty() {
                return Ok(Vec::new());
            }
            let marks = vec!["?"; top.len()].join(", ");
            w.push(&format!("{ks} IN ({marks})"), top.into_iter().map(DbValue::Text));
        }
        let (lat_q, ttft_q) = if measures.percentiles {
            ("quantile_cont(latency_ms, [0.5, 0.9, 0.95, 0.99])", "quantile_cont(ttft_ms, [0.5, 0.95, 0.99])")
        } else {
            ("NULL", "NULL")
        };
        // Distinct sessions per group are only worth their hash sets per user; the report's
        // session count comes from `session_summary`.
        // For the top users, their distinct sessions are counted afterwards, for the listed
        // users only (a hash set per shown user instead of one per user).
        let sessions_after = matches!(key, GroupKey::User) && measures.distinct && limit > 0;
        let distinct = match (measures.distinct, key) {
            (true, GroupKey::User) if sessions_after => "1, 0",
            (true, GroupKey::User) => {
                "count(DISTINCT user_id), count(DISTINCT (project, session_id)) FILTER (WHERE session_id IS NOT NULL)"
            }
            (true, _) => "count(DISTINCT user_id), 0",
            (false, _) => "0, 0",
        };
        let (group_expr, key_fmt) = key_expr(key, tz);
        let order = match key {
            GroupKey::Day | GroupKey::WeekdayHour => "g",
            _ => "requests DESC, k",
        };
        let limit_sql = if limit == 0 { String::new() } else { format!("LIMIT {limit}") };
        // Counts only: the other measures are constants, so the scan reads the grouping
        // and filter columns alone.
        let measures_sql = if measures.only_count {
            ONLY_COUNT_SQL.to_string()
        } else {
            format!(
                "count(*) FILTER (WHERE status = 'error'),
                count(*) FILTER (WHERE status = 'cancelled'),
                count(*) FILTER (WHERE output_empty),
                count(*) FILTER (WHERE status = 'ok' AND NOT coalesce(output_empty, FALSE)),
                {distinct},
                count(*) FILTER (WHERE user_id IS NULL),
                avg(latency_ms), {lat_q}, max(latency_ms),
                avg(ttft_ms), {ttft_q},
                avg(output_tokens / (latency_ms / 1000.0)) FILTER (WHERE latency_ms > 0 AND output_tokens IS NOT NULL),
                CAST(coalesce(sum(input_tokens), 0) AS DOUBLE), CAST(coalesce(sum(output_tokens), 0) AS DOUBLE),
                CAST(coalesce(sum(cached_tokens), 0) AS DOUBLE),
                count(input_tokens), count(output_tokens),
                count(*) FILTER (WHERE tokens_counted), count(*) FILTER (WHERE json_mode),
                epoch_us(min(start_time)), epoch_us(max(start_time)),
                CAST(coalesce(sum(cache_write_tokens), 0) AS DOUBLE)"
            )
        };
        let sql = format!(
            "SELECT {key_fmt} AS k, count(*) AS requests, {measures_sql}
             FROM (SELECT {group_expr} AS g, * FROM calls WHERE {where_}) GROUP BY g ORDER BY {order} {limit_sql}",
            where_ = w.clause(),
        );
        self.with_query_conn(|conn| {
            let mut rows = query_rows(conn, &sql, &w.params, |r| {
                let lat = list_f64(r.get(10)?);
                let ttft = list_f64(r.get(13)?);
                Ok(GroupStats {
                    key: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                    requests: u(r.get(1)?),
                    errors: u(r.get(2)?),
                    cancelled: u(r.get(3)?),
                    empty_output: u(r.get(4)?),
                    success: u(r.get(5)?),
                    distinct_users: u(r.get(6)?),
                    distinct_sessions: u(r.get(7)?),
                    calls_without_user: u(r.get(8)?),
                    latency_avg: r.get(9)?,
                    latency_p50: pick(&lat, 0),
                    latency_p90: pick(&lat, 1),
                    latency_p95: pick(&lat, 2),
                    latency_p99: pick(&lat, 3),
                    latency_max: r.get(11)?,
                    ttft_avg: r.get(12)?,
                    ttft_p50: pick(&ttft, 0),
                    ttft_p95: pick(&ttft, 1),
                    ttft_p99: pick(&ttft, 2),
                    tokens_per_s_avg: r.get(14)?,
                    input_tokens: uf(r.get(15)?),
                    output_tokens: uf(r.get(16)?),
                    cached_tokens: uf(r.get(17)?),
                    calls_with_input_tokens: u(r.get(18)?),
                    calls_with_output_tokens: u(r.get(19)?),
                    calls_tokens_counted: u(r.get(20)?),
                    json_mode_calls: u(r.get(21)?),
                    first_time: ts(r.get(22)?),
                    last_time: ts(r.get(23)?),
                    cache_write_tokens: uf(r.get(24)?),
                })
            })?;
            if sessions_after && !rows.is_empty() {
                let mut w = filter::build(f);
                let marks = vec!["?"; rows.len()].join(", ");
                w.push(&format!("user_id IN ({marks})"), rows.iter().map(|g| DbValue::Text(g.key.clone())));
                // (A session is a project's session id.)
                let sql = format!(
                    "SELECT user_id, count(DISTINCT (project, session_id)) FILTER (WHERE session_id IS NOT NULL)
                     FROM calls WHERE {} GROUP BY 1",
                    w.clause()
                );
                let sessions: HashMap<String, u64> =
                    query_rows(conn, &sql, &w.params, |r| Ok((r.get::<_, String>(0)?, u(r.get(1)?))))?
                        .into_iter()
                        .collect();
                for g in &mut rows {
                    g.distinct_sessions = sessions.get(&g.key).copied().unwrap_or(0);
                }
            }
            Ok(rows)
        })
    }

    fn top_questions(&self, f: &CallFilter, normalised: bool, limit: usize) -> Result<Vec<QuestionCount>, StoreError> {
        let w = filter::build(f);
        if questions::eligible(f) {
            let top = self.answer_from_rollups(f, &Vec::new(), "top questions", |conn, plan| {
                questions::top(conn, &w, &questions::Counts::rollup(plan), normalised, limit)
            });
            if let Some(top) = top {
                return Ok(top);
            }
        }
        self.with_query_conn(|conn| questions::top(conn, &w, &questions::Counts::calls(&w), normalised, limit))
    }

    fn top_questions_both(
        &self,
        f: &CallFilter,
        limit: usize,
    ) -> Result<(Vec<QuestionCount>, Vec<QuestionCount>), StoreError> {
        let w = filter::build(f);
        if questions::eligible(f) {
            let both = self.answer_from_rollups(f, &Vec::new(), "top questions", |conn, plan| {
                questions::top_both(conn, &w, &questions::Counts::rollup(plan), limit)
            });
            if let Some(both) = both {
                return Ok(both);
            }
        }
        self.with_query_conn(|conn| questions::top_both(conn, &w, &questions::Counts::calls(&w), limit))
    }

    fn session_summary(&self, f: &CallFilter) -> Result<SessionSummary, StoreError> {
        if sessions::eligible(f) {
            let rolled = self.with_query_conn(|conn| match sessions::plan(conn, f)? {
                Some(plan) => sessions::summary(conn, &plan),
                None => Ok(None),
            });
            match rolled {
                Ok(Some(s)) => return Ok(s),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "the session rollup could not answer; reading the calls instead"),
            }
        }
        let w = filter::build(f);
        let sql = format!(
            // Turns are small integers: their median comes from a count per value (in Rust),
            // not from sorting one value per session. A session is a (project, session id).
            "WITH s AS MATERIALIZED (
                SELECT {TURNS_AND_DURATION}
                FROM calls WHERE {c} AND session_id IS NOT NULL GROUP BY project, session_id)
             SELECT count(*), avg(turns), max(turns), avg(duration_s), quantile_cont(duration_s, [0.5, 0.95]),
                    (SELECT list([turns, n] ORDER BY turns) FROM (SELECT turns, count(*) AS n FROM s GROUP BY turns))
             FROM s",
            c = w.clause()
        );
        self.with_query_conn(|conn| {
            let mut summary = conn
                .query_row(&sql, duckdb::params_from_iter(w.params.iter()), |r| {
                    let d = list_f64(r.get(4)?);
                    let turns: Vec<(f64, u64)> = match r.get(5)? {
                        DbValue::List(pairs) => pairs
                            .into_iter()
                            .filter_map(|p| match list_f64(p).as_slice() {
                                [Some(t), Some(n)] => Some((*t, *n as u64)),
                                _ => None,
                            })
                            .collect(),
                        _ => Vec::new(),
                    };
                    Ok(SessionSummary {
                        sessions: u(r.get(0)?),
                        turns_avg: r.get(1)?,
                        turns_p50: stats::quantile_of_counts(&turns, 0.5),
                        turns_max: u(r.get(2)?),
                        duration_avg_s: r.get(3)?,
                        duration_p50_s: pick(&d, 0),
                        duration_p95_s: pick(&d, 1),
                        calls_without_session: 0,
                    })
                })
                .map_err(db_err)?;
            let sql = format!("SELECT count(*) FROM calls WHERE {} AND session_id IS NULL", w.clause());
            summary.calls_without_session =
                u(conn.query_row(&sql, duckdb::params_from_iter(w.params.iter()), |r| r.get(0)).map_err(db_err)?);
            Ok(summary)
        })
    }

    fn latency_histogram(&self, f: &CallFilter, edges: &[f64]) -> Result<Vec<HistogramBucket>, StoreError> {
        let edges: Vec<f64> = edges.iter().copied().filter(|e| e.is_finite()).collect();
        if edges.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(h) = self
            .answer_eligible(f, &Vec::new(), "latency histogram", |conn| latency::histogram(conn, f, &edges).map(Some))
        {
            return Ok(h);
        }
        let w = filter::build(f);
        let mut case = String::from("CASE");
        for (i, e) in edges.iter().enumerate().skip(1) {
            case.push_str(&format!(" WHEN latency_ms < {e:?} THEN {}", i - 1));
        }
        case.push_str(&format!(" ELSE {} END", edges.len() - 1));
        let sql = format!(
            "SELECT {case} AS b, count(*) FROM calls WHERE {} AND latency_ms IS NOT NULL AND latency_ms >= {:?} GROUP BY 1",
            w.clause(),
            edges[0]
        );
        let mut counts = vec![0u64; edges.len()];
        let rows = self
            .with_query_conn(|conn| query_rows(conn, &sql, &w.params, |r| Ok((r.get::<_, i64>(0)?, u(r.get(1)?)))))?;
        for (b, c) in rows {
            if let Some(slot) = counts.get_mut(b.max(0) as usize) {
                *slot = c;
            }
        }
        Ok(edges
            .iter()
            .enumerate()
            .map(|(i, &lo)| HistogramBucket { lo, hi: edges.get(i + 1).copied(), count: counts[i] })
            .collect())
    }

    fn flag_counts(&self, f: &CallFilter) -> Result<Vec<(String, u64)>, StoreError> {
        if labels::eligible(f) {
            let counts = self.answer_from_rollups(f, &Vec::new(), "flag counts", |conn, plan| {
                labels::counts(conn, plan, rollup::LABEL_FLAG)
            });
            if let Some(counts) = counts {
                return Ok(counts);
            }
        }
        let w = filter::build(f);
        let sql = format!(
            "SELECT fl, count(*) AS c FROM (SELECT unnest(flags) AS fl FROM calls WHERE {}) GROUP BY fl ORDER BY c DESC, fl",
            w.clause()
        );
        self.with_query_conn(|conn| query_rows(conn, &sql, &w.params, |r| Ok((r.get::<_, String>(0)?, u(r.get(1)?)))))
    }

    fn call_briefs(&self, f: &CallFilter, order: CallOrder, limit: usize) -> Result<Vec<CallBrief>, StoreError> {
        let mut w = filter::build(f);
        if order == CallOrder::SlowestFirst {
            w.push("latency_ms IS NOT NULL", []);
            // Only the calls in the highest latency bins that hold enough of them.
            let floor = self.answer_eligible(f, &Vec::new(), "slowest calls", |conn| {
                latency::slowest_floor(conn, f, limit.max(1)).map(Some)
            });
            if let Some(floor) = floor.flatten() {
                w.push("latency_bin >= ?", [DbValue::BigInt(floor)]);
            }
            // The slowest calls' key (latency, start) at the last place, read without the
            // wide columns: only calls at or above it are then read whole (many calls can
            // share the top latency, e.g. a timeout).
            let sql = format!(
                "SELECT latency_ms, epoch_us(start_time) FROM calls WHERE {}
                 ORDER BY latency_ms DESC, start_time DESC LIMIT 1 OFFSET {}",
                w.clause(),
                limit.max(1) - 1
            );
            let last: Vec<(f64, i64)> =
                self.with_query_conn(|conn| query_rows(conn, &sql, &w.params, |r| Ok((r.get(0)?, r.get(1)?))))?;
            if let Some(&(latency, start)) = last.first() {
                w.push(
                    "latency_ms >= ? AND (latency_ms > ? OR start_time >= make_timestamp(?))",
                    [DbValue::Double(latency), DbValue::Double(latency), DbValue::BigInt(start)],
                );
            }
        }
        // Whether the filter leaves few calls, read whole at once: DuckDB's late
        // materialisation (the order's columns first, then a second scan for the rest of the
        // few rows it keeps) costs a scan of every row group for those rows.
        let mut selective = false;
        if let (CallOrder::NewestFirst, [flag]) = (order, f.flags.as_slice()) {
            // The newest calls with one flag (the report's examples): only those from the
            // quarter hour on from which the label rollup counts enough of them.
            let unflagged = CallFilter { flags: Vec::new(), ..f.clone() };
            if labels::eligible(&unflagged) {
                let floor = self.answer_from_rollups(&unflagged, &Vec::new(), "newest flagged calls", |conn, plan| {
                    labels::newest_floor(conn, plan, flag, limit.max(1))
                });
                if let Some(floor) = floor.flatten() {
                    w.push("start_time >= make_timestamp(?)", [DbValue::BigInt(floor)]);
                    selective = true;
                }
            }
        }
        let sql = format!(
            "SELECT id, trace_id, epoch_us(start_time), model, user_id, latency_ms, status, error_kind, to_json(flags)::VARCHAR,
                    left(input_text, 200), left(coalesce(output, ''), 200), source_file, source_line
             FROM calls WHERE {} ORDER BY {} LIMIT {}",
            w.clause(),
            order_sql(order),
            limit.max(1)
        );
        self.with_query_conn(|conn| {
            // (Only a speed-up: without the setting, e.g. renamed by a later DuckDB, the
            // query runs as it is.)
            let _whole = selective
                .then(|| Setting::set(conn, "late_materialization_max_rows", "0"))
                .and_then(|s| s.map_err(|e| tracing::debug!(error = %e, "late materialisation stays on")).ok());
            query_rows(conn, &sql, &w.params, |r| {
                let file: Option<String> = r.get(11)?;
                let line: Option<u64> = r.get(12)?;
                Ok(CallBrief {
                    id: r.get(0)?,
                    trace_id: r.get(1)?,
                    start_time: ts(r.get(2)?).unwrap_or_default(),
                    model: r.get(3)?,
                    user_id: r.get(4)?,
                    latency_ms: r.get(5)?,
                    status: r.get(6)?,
                    error_kind: r.get(7)?,
                    flags: r
                        .get::<_, Option<String>>(8)?
                        .and_then(|s| serde_json::from_str(&s).ok())
                        .unwrap_or_default(),
                    input_snippet: text::snippet(&r.get::<_, String>(9)?, 120),
                    output_snippet: text::snippet(&r.get::<_, String>(10)?, 120),
                    source: file.map(|f| match line {
                        Some(l) => format!("{f}:{l}"),
                        None => f,
                    }),
                })
            })
        })
    }

    fn overview(&self, f: &CallFilter, tz: &TzShift) -> Result<Overview, StoreError> {
        match self.answer_from_rollups(f, tz, "overview", |conn, plan| overview::overview(conn, f, plan, tz)) {
            Some(o) => Ok(o),
            None => overview_by_groups(self, f, tz),
        }
    }

    fn time_range(&self, f: &CallFilter) -> Result<Option<TimeRange>, StoreError> {
        if let Some(range) = self.answer_from_rollups(f, &Vec::new(), "time range", overview::time_range) {
            return Ok(range);
        }
        let w = filter::build(f);
        let sql =
            format!("SELECT epoch_us(min(start_time)), epoch_us(max(start_time)) FROM calls WHERE {}", w.clause());
        self.with_query_conn(|conn| {
            let (a, b): (Option<i64>, Option<i64>) = conn
                .query_row(&sql, duckdb::params_from_iter(w.params.iter()), |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(db_err)?;
            Ok(ts(a).zip(ts(b)))
        })
    }
}
