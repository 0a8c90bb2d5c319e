//! Batched appends.
//!
//! A batch is deduplicated in Rust, its ids are checked against the stored calls (a
//! one-column temporary table joined with `calls`), and the new calls go to DuckDB's
//! columnar appender as one Arrow record batch, inside a transaction that is committed (and
//! so written to DuckDB's write-ahead log and synced) before `append_calls` returns. Because
//! an id fixes the call's start time (give or take a time-zone reading), the id check only
//! scans the batch's time range widened by 26 hours, which DuckDB's zone maps prune.

use duckdb::{params, Connection};
use llmscope_core::store::{AppendOutcome, CallSink, StoreError};
use llmscope_core::{Assessment, AssessmentValue, Call};

use super::arrow_batch::calls_batch;
use super::{db_err, DuckStore};

/// How far (µs) either side of a batch's time range duplicates are looked for: 26 hours,
/// the widest gap between two UTC offsets.
const DEDUP_SLACK_US: i64 = 26 * 3600 * 1_000_000;

pub fn prepare_staging(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS ids_stage (id VARCHAR);\n\
         CREATE TEMP TABLE IF NOT EXISTS assessments_stage AS SELECT * FROM assessments LIMIT 0;",
    )
    .map_err(db_err)
}

fn micros(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_micros()
}

/// The ids of `calls` already stored.
fn stored_ids(conn: &Connection, calls: &[&Call]) -> Result<std::collections::HashSet<String>, StoreError> {
    conn.execute_batch("DELETE FROM ids_stage").map_err(db_err)?;
    {
        let mut app = conn.appender("ids_stage").map_err(db_err)?;
        for c in calls {
            app.append_row(params![c.id]).map_err(db_err)?;
        }
        app.flush().map_err(db_err)?;
    }
    // A re-sent call has the same id and, almost always, the same start time. The window
    // is widened by a day each side so that a log re-imported under another
    // `--assume-tz` (naive timestamps shift by at most 26 hours) still matches.
    let lo = calls.iter().map(|c| micros(c.start_time)).min().unwrap_or(0).saturating_sub(DEDUP_SLACK_US);
    let hi = calls.iter().map(|c| micros(c.start_time)).max().unwrap_or(0).saturating_add(DEDUP_SLACK_US);
    let mut stmt = conn
        .prepare(
            "SELECT s.id FROM ids_stage s WHERE EXISTS (SELECT 1 FROM calls c \
             WHERE c.start_time BETWEEN make_timestamp(?) AND make_timestamp(?) AND c.id = s.id)",
        )
        .map_err(db_err)?;
    let rows = stmt.query_map(params![lo, hi], |r| r.get::<_, String>(0)).map_err(db_err)?;
    rows.collect::<Result<_, _>>().map_err(db_err)
}

impl CallSink for DuckStore {
    fn append_calls(&self, calls: &[Call]) -> Result<AppendOutcome, StoreError> {
        self.append(calls, true)
    }

    fn append_new_calls(&self, calls: &[Call]) -> Result<AppendOutcome, StoreError> {
        self.append(calls, false)
    }

    fn append_assessments(&self, items: &[Assessment]) -> Result<u64, StoreError> {
        if items.is_empty() {
            return Ok(0);
        }
        self.with_conn(|conn| append_assessments(conn, items))
    }
}

fn append_assessments(conn: &Connection, items: &[Assessment]) -> Result<u64, StoreError> {
    conn.execute_batch("DELETE FROM assessments_stage").map_err(db_err)?;
    {
        let mut app = conn.appender("assessments_stage").map_err(db_err)?;
        for a in items {
            let (b, n, t) = match &a.value {
                AssessmentValue::Bool(b) => (Some(*b), None, None),
                AssessmentValue::Number(n) => (None, Some(*n), None),
                AssessmentValue::Text(t) => (None, None, Some(t.as_str())),
            };
            app.append_row(params![
                a.id,
                a.project,
                a.trace_id,
                a.call_id,
                a.name,
                a.value.kind(),
                b,
                n,
                t,
                a.source.source_type.as_str(),
                a.source.source_id,
                a.rationale,
                serde_json::Value::Object(a.metadata.clone()).to_string(),
                a.overrides,
                duckdb::types::Value::Timestamp(duckdb::types::TimeUnit::Microsecond, micros(a.created_at)),
            ])
            .map_err(db_err)?;
        }
        app.flush().map_err(db_err)?;
    }
    conn.execute_batch("BEGIN TRANSACTION").map_err(db_err)?;
    let inserted = conn.execute(
        "INSERT INTO assessments SELECT * FROM (SELECT DISTINCT ON (id) * FROM assessments_stage) s \
             WHERE NOT EXISTS (SELECT 1 FROM assessments a WHERE a.id = s.id)",
        [],
    );
    match inserted {
        Ok(n) => {
            conn.execute_batch("COMMIT").map_err(db_err)?;
            Ok(n as u64)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(db_err(e))
        }
    }
}

impl DuckStore {
    /// Appends a batch; `check_stored` first looks up which ids are already stored. A fatal
    /// database error reopens the database (the batch itself fails; the caller retries).
    fn append(&self, calls: &[Call], check_stored: bool) -> Result<AppendOutcome, StoreError> {
        if calls.is_empty() {
            return Ok(AppendOutcome::default());
        }
        self.with_conn(|conn| append_calls(conn, calls, check_stored))
    }
}

fn append_calls(conn: &Connection, calls: &[Call], check_stored: bool) -> Result<AppendOutcome, StoreError> {
    let started = std::time::Instant::now();
    // Repeats within the batch are dropped here, so the SQL only checks stored rows.
    let mut seen = std::collections::HashSet::with_capacity(calls.len());
    let unique: Vec<&Call> = calls.iter().filter(|c| seen.insert(c.id.as_str())).collect();
    let stored = if check_stored { stored_ids(conn, &unique)? } else { Default::default() };
    let fresh: Vec<&Call> = unique.into_iter().filter(|c| !stored.contains(&c.id)).collect();
    let checked = started.elapsed();
    if !fresh.is_empty() {
        let batch = calls_batch(&fresh, micros(chrono::Utc::now()))?;
        conn.execute_batch("BEGIN TRANSACTION").map_err(db_err)?;
        let appended = conn.appender("calls").and_then(|mut app| {
            app.append_record_batch(batch)?;
            app.flush()
        });
        if let Err(e) = appended {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(db_err(e));
        }
        conn.execute_batch("COMMIT").map_err(db_err)?;
    }
    let inserted = fresh.len() as u64;
    tracing::debug!(
        rows = calls.len(),
        inserted,
        checked_ms = checked.as_millis() as u64,
        total_ms = started.elapsed().as_millis() as u64,
        "appended calls"
    );
    Ok(AppendOutcome { inserted, duplicates: calls.len() as u64 - inserted })
}
