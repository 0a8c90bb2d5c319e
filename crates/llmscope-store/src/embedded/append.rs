//! Batched appends.
//!
//! A batch goes through DuckDB's appender into a temporary staging table (fast, columnar),
//! then one `INSERT … SELECT` moves the rows that are not already stored into `calls`, inside
//! a transaction that is committed (and so written to DuckDB's write-ahead log and synced)
//! before `append_calls` returns. Duplicates are found by id; because an id fixes the call's
//! start time (give or take a time-zone reading), the check only scans the batch's time
//! range widened by 26 hours, which DuckDB's zone maps prune.

use duckdb::{params, Connection};
use llmscope_core::call::CALL_SCHEMA_VERSION;
use llmscope_core::store::{AppendOutcome, CallSink, StoreError};
use llmscope_core::{text, Assessment, AssessmentValue, Call, Origin};
use xxhash_rust::xxh3::xxh3_64;

use super::{db_err, DuckStore};

/// Staging columns: (name, staging type, expression producing the `calls` column).
const CALL_COLUMNS: &[(&str, &str, &str)] = &[
    ("id", "VARCHAR", "id"),
    ("project", "VARCHAR", "project"),
    ("schema_version", "USMALLINT", "schema_version"),
    ("trace_id", "VARCHAR", "trace_id"),
    ("span_id", "VARCHAR", "span_id"),
    ("parent_span_id", "VARCHAR", "parent_span_id"),
    ("span_kind", "VARCHAR", "span_kind"),
    ("name", "VARCHAR", "name"),
    ("start_us", "BIGINT", "make_timestamp(start_us)"),
    ("first_token_us", "BIGINT", "make_timestamp(first_token_us)"),
    ("end_us", "BIGINT", "make_timestamp(end_us)"),
    ("latency_ms", "DOUBLE", "latency_ms"),
    ("ttft_ms", "DOUBLE", "ttft_ms"),
    ("model", "VARCHAR", "model"),
    ("provider", "VARCHAR", "provider"),
    ("operation", "VARCHAR", "operation"),
    ("user_id", "VARCHAR", "user_id"),
    ("session_id", "VARCHAR", "session_id"),
    ("request_id", "VARCHAR", "request_id"),
    ("client_request_id", "VARCHAR", "client_request_id"),
    ("input", "VARCHAR", "input"),
    ("input_text", "VARCHAR", "input_text"),
    ("input_hash", "UBIGINT", "input_hash"),
    ("question_key", "UBIGINT", "question_key"),
    ("output", "VARCHAR", "output"),
    ("output_empty", "BOOLEAN", "output_empty"),
    ("tool_calls", "VARCHAR", "tool_calls"),
    ("status", "VARCHAR", "status"),
    ("status_code", "USMALLINT", "status_code"),
    ("error_kind", "VARCHAR", "error_kind"),
    ("error_message", "VARCHAR", "error_message"),
    ("finish_reason", "VARCHAR", "finish_reason"),
    ("input_tokens", "UBIGINT", "input_tokens"),
    ("output_tokens", "UBIGINT", "output_tokens"),
    ("cached_tokens", "UBIGINT", "cached_tokens"),
    ("total_tokens", "UBIGINT", "total_tokens"),
    ("tokens_counted", "BOOLEAN", "tokens_counted"),
    ("temperature", "DOUBLE", "temperature"),
    ("json_mode", "BOOLEAN", "json_mode"),
    ("response_format", "VARCHAR", "response_format"),
    ("tools", "VARCHAR", "tools"),
    ("params", "VARCHAR", "params"),
    ("tags_json", "VARCHAR", "CASE WHEN tags_json = '[]' THEN []::VARCHAR[] ELSE CAST(json_extract_string(tags_json, '$[*]') AS VARCHAR[]) END"),
    ("attributes", "VARCHAR", "attributes"),
    ("flags_json", "VARCHAR", "CASE WHEN flags_json = '[]' THEN []::VARCHAR[] ELSE CAST(json_extract_string(flags_json, '$[*]') AS VARCHAR[]) END"),
    ("origin", "VARCHAR", "origin"),
    ("source_file", "VARCHAR", "source_file"),
    ("source_line", "UBIGINT", "source_line"),
    ("source_format", "VARCHAR", "source_format"),
    ("ingested_us", "BIGINT", "make_timestamp(ingested_us)"),
];

/// How far (µs) either side of a batch's time range duplicates are looked for: 26 hours,
/// the widest gap between two UTC offsets.
const DEDUP_SLACK_US: i64 = 26 * 3600 * 1_000_000;

pub fn prepare_staging(conn: &Connection) -> Result<(), StoreError> {
    let cols: Vec<String> = CALL_COLUMNS.iter().map(|(n, t, _)| format!("{n} {t}")).collect();
    let sql = format!(
        "CREATE TEMP TABLE IF NOT EXISTS calls_stage ({});\n\
         CREATE TEMP TABLE IF NOT EXISTS assessments_stage AS SELECT * FROM assessments LIMIT 0;",
        cols.join(", ")
    );
    conn.execute_batch(&sql).map_err(db_err)
}

fn micros(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_micros()
}

fn json_or_null(v: &Option<serde_json::Value>) -> Option<String> {
    v.as_ref().filter(|v| !v.is_null()).map(|v| v.to_string())
}

fn append_stage(conn: &Connection, calls: &[&Call], now_us: i64) -> Result<(), StoreError> {
    let mut app = conn.appender("calls_stage").map_err(db_err)?;
    for c in calls {
        let trimmed = c.input_text.trim();
        let (input_hash, question_key) = if trimmed.is_empty() {
            (None, None)
        } else {
            (Some(xxh3_64(trimmed.as_bytes())), Some(text::question_key(trimmed)))
        };
        let (file, line, format) = match &c.origin {
            Origin::Import { file, line, format } => (Some(file.as_str()), Some(*line), Some(format.as_str())),
            _ => (None, None, None),
        };
        let input = if c.input.is_null() { None } else { Some(c.input.to_string()) };
        app.append_row(params![
            c.id,
            c.project,
            CALL_SCHEMA_VERSION,
            c.trace_id,
            c.span_id,
            c.parent_span_id,
            c.span_kind.as_str(),
            c.name,
            micros(c.start_time),
            c.first_token_time.map(micros),
            c.end_time.map(micros),
            c.latency_ms,
            c.ttft_ms,
            c.model,
            c.provider,
            c.operation,
            c.user_id,
            c.session_id,
            c.request_id,
            c.client_request_id,
            input,
            c.input_text,
            input_hash,
            question_key,
            c.output,
            c.output.as_ref().map(|o| o.trim().is_empty() && c.tool_calls.is_none()),
            json_or_null(&c.tool_calls),
            c.status.as_str(),
            c.status_code,
            c.error_kind,
            c.error_message,
            c.finish_reason,
            c.usage.input,
            c.usage.output,
            c.usage.cached,
            c.usage.total,
            c.usage.counted,
            c.temperature,
            c.json_mode,
            json_or_null(&c.response_format),
            json_or_null(&c.tools),
            serde_json::Value::Object(c.params.clone()).to_string(),
            serde_json::to_string(&c.tags).unwrap_or_else(|_| "[]".into()),
            serde_json::Value::Object(c.attributes.clone()).to_string(),
            serde_json::to_string(&c.flags).unwrap_or_else(|_| "[]".into()),
            c.origin.kind(),
            file,
            line,
            format,
            now_us,
        ])
        .map_err(db_err)?;
    }
    app.flush().map_err(db_err)
}

impl CallSink for DuckStore {
    fn append_calls(&self, calls: &[Call]) -> Result<AppendOutcome, StoreError> {
        if calls.is_empty() {
            return Ok(AppendOutcome::default());
        }
        let conn = self.lock()?;
        let started = std::time::Instant::now();
        let now_us = micros(chrono::Utc::now());
        conn.execute_batch("DELETE FROM calls_stage").map_err(db_err)?;
        // Repeats within the batch are dropped here, so the SQL only checks stored rows.
        let mut seen = std::collections::HashSet::with_capacity(calls.len());
        let unique: Vec<&Call> = calls.iter().filter(|c| seen.insert(c.id.as_str())).collect();
        append_stage(&conn, &unique, now_us)?;
        let staged = started.elapsed();
        // A re-sent call has the same id and, almost always, the same start time. The window
        // is widened by a day each side so that a log re-imported under another
        // `--assume-tz` (naive timestamps shift by at most 26 hours) still matches.
        let lo = calls.iter().map(|c| micros(c.start_time)).min().unwrap_or(0) - DEDUP_SLACK_US;
        let hi = calls.iter().map(|c| micros(c.start_time)).max().unwrap_or(0) + DEDUP_SLACK_US;
        let select: Vec<&str> = CALL_COLUMNS.iter().map(|c| c.2).collect();
        let sql = format!(
            "INSERT INTO calls SELECT {} FROM calls_stage s \
             WHERE NOT EXISTS (SELECT 1 FROM calls c WHERE c.start_time BETWEEN make_timestamp(?) AND make_timestamp(?) AND c.id = s.id)",
            select.join(", ")
        );
        conn.execute_batch("BEGIN TRANSACTION").map_err(db_err)?;
        let inserted = match conn.execute(&sql, params![lo, hi]) {
            Ok(n) => n as u64,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(db_err(e));
            }
        };
        conn.execute_batch("COMMIT").map_err(db_err)?;
        tracing::debug!(rows = calls.len(), inserted, staged_ms = staged.as_millis() as u64, total_ms = started.elapsed().as_millis() as u64, "appended calls");
        Ok(AppendOutcome { inserted, duplicates: calls.len() as u64 - inserted })
    }

    fn append_assessments(&self, items: &[Assessment]) -> Result<u64, StoreError> {
        if items.is_empty() {
            return Ok(0);
        }
        let conn = self.lock()?;
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
}
