//! Reading calls and assessments back.

use chrono::{DateTime, Utc};
use duckdb::types::Value as DbValue;
use duckdb::Row;
use llmscope_core::store::{CallOrder, CallReader, PageKey, StoreError};
use llmscope_core::{
    Assessment, AssessmentSource, AssessmentValue, Call, CallStatus, Origin, SourceType, SpanKind, TokenUsage,
};
use serde_json::Value;

use super::{db_err, filter, query_rows, DuckStore};

pub const CALL_SELECT: &str = "id, project, trace_id, span_id, parent_span_id, span_kind, name, \
    epoch_us(start_time), epoch_us(first_token_time), epoch_us(end_time), latency_ms, ttft_ms, \
    model, provider, operation, user_id, session_id, request_id, client_request_id, \
    input, input_text, output, tool_calls, status, status_code, error_kind, error_message, finish_reason, \
    input_tokens, output_tokens, cached_tokens, total_tokens, tokens_counted, temperature, json_mode, \
    response_format, tools, params, to_json(tags)::VARCHAR, attributes, to_json(flags)::VARCHAR, \
    origin, source_file, source_line, source_format, cache_write_tokens";

pub fn order_sql(order: CallOrder) -> &'static str {
    match order {
        CallOrder::NewestFirst => "start_time DESC, id",
        CallOrder::OldestFirst => "start_time ASC, id",
        CallOrder::SlowestFirst => "latency_ms DESC NULLS LAST, start_time DESC, id",
    }
}

/// Limits `w` to the calls after `key` in `order` (the orders of [`order_sql`]; ties on the
/// time are broken by the id, ascending).
pub fn after_key(w: &mut filter::Where, order: CallOrder, key: &PageKey) {
    let (start, id) = (DbValue::BigInt(key.start_us), DbValue::Text(key.id.clone()));
    let later_in_time = |newest_first: bool| {
        let cmp = if newest_first { "<" } else { ">" };
        format!("(start_time {cmp} make_timestamp(?) OR (start_time = make_timestamp(?) AND id > ?))")
    };
    match (order, key.latency_ms) {
        (CallOrder::NewestFirst | CallOrder::OldestFirst, _) => {
            w.push(&later_in_time(order == CallOrder::NewestFirst), [start.clone(), start, id])
        }
        (CallOrder::SlowestFirst, Some(l)) => w.push(
            &format!("(latency_ms < ? OR latency_ms IS NULL OR (latency_ms = ? AND {}))", later_in_time(true)),
            [DbValue::Double(l), DbValue::Double(l), start.clone(), start, id],
        ),
        // Past the last call with a latency: among those without one.
        (CallOrder::SlowestFirst, None) => {
            w.push(&format!("(latency_ms IS NULL AND {})", later_in_time(true)), [start.clone(), start, id])
        }
    }
}

pub fn ts(us: Option<i64>) -> Option<DateTime<Utc>> {
    us.and_then(DateTime::from_timestamp_micros)
}

fn json_col(s: Option<String>) -> Option<Value> {
    s.and_then(|s| serde_json::from_str(&s).ok())
}

fn json_obj(s: String) -> serde_json::Map<String, Value> {
    match serde_json::from_str(&s) {
        Ok(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    }
}

fn str_list(s: Option<String>) -> Vec<String> {
    s.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default()
}

pub fn call_from_row(r: &Row<'_>) -> duckdb::Result<Call> {
    let origin_kind: String = r.get(41)?;
    let origin = match origin_kind.as_str() {
        "proxy" => Origin::Proxy,
        "otlp" => Origin::Otlp,
        "import" => Origin::Import {
            file: r.get::<_, Option<String>>(42)?.unwrap_or_default(),
            line: r.get::<_, Option<u64>>(43)?.unwrap_or_default(),
            format: r.get::<_, Option<String>>(44)?.unwrap_or_default(),
        },
        _ => Origin::Api,
    };
    Ok(Call {
        id: r.get(0)?,
        project: r.get(1)?,
        trace_id: r.get(2)?,
        span_id: r.get(3)?,
        parent_span_id: r.get(4)?,
        span_kind: SpanKind::parse(&r.get::<_, String>(5)?),
        name: r.get(6)?,
        start_time: ts(r.get(7)?).unwrap_or_default(),
        first_token_time: ts(r.get(8)?),
        end_time: ts(r.get(9)?),
        latency_ms: r.get(10)?,
        ttft_ms: r.get(11)?,
        model: r.get(12)?,
        provider: r.get(13)?,
        operation: r.get(14)?,
        user_id: r.get(15)?,
        session_id: r.get(16)?,
        request_id: r.get(17)?,
        client_request_id: r.get(18)?,
        input: json_col(r.get(19)?).unwrap_or(Value::Null),
        input_text: r.get(20)?,
        output: r.get(21)?,
        tool_calls: json_col(r.get(22)?),
        status: CallStatus::parse(&r.get::<_, String>(23)?).unwrap_or(CallStatus::Ok),
        status_code: r.get(24)?,
        error_kind: r.get(25)?,
        error_message: r.get(26)?,
        finish_reason: r.get(27)?,
        usage: TokenUsage {
            input: r.get(28)?,
            output: r.get(29)?,
            cached: r.get(30)?,
            cache_write: r.get(45)?,
            total: r.get(31)?,
            counted: r.get(32)?,
        },
        temperature: r.get(33)?,
        json_mode: r.get(34)?,
        response_format: json_col(r.get(35)?),
        tools: json_col(r.get(36)?),
        params: json_obj(r.get(37)?),
        tags: str_list(r.get(38)?),
        attributes: json_obj(r.get(39)?),
        flags: str_list(r.get(40)?),
        origin,
    })
}

impl CallReader for DuckStore {
    fn list_calls_after(
        &self,
        f: &llmscope_core::CallFilter,
        order: CallOrder,
        after: Option<&PageKey>,
        limit: usize,
    ) -> Result<Vec<Call>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut w = filter::build(f);
        if let Some(key) = after {
            after_key(&mut w, order, key);
        }
        let sql =
            format!("SELECT {CALL_SELECT} FROM calls WHERE {} ORDER BY {} LIMIT {limit}", w.clause(), order_sql(order));
        self.with_query_conn(|conn| query_rows(conn, &sql, &w.params, call_from_row))
    }

    fn count_calls(&self, f: &llmscope_core::CallFilter) -> Result<u64, StoreError> {
        let w = filter::build(f);
        let sql = format!("SELECT count(*) FROM calls WHERE {}", w.clause());
        self.with_query_conn(|conn| {
            conn.query_row(&sql, duckdb::params_from_iter(w.params.iter()), |r| r.get::<_, i64>(0))
                .map(|n| n.max(0) as u64)
                .map_err(db_err)
        })
    }

    fn assessments_for(&self, call_ids: &[String]) -> Result<Vec<Assessment>, StoreError> {
        if call_ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; call_ids.len()].join(", ");
        let sql = format!(
            "SELECT id, project, trace_id, call_id, name, value_type, value_bool, value_num, value_text, source_type, source_id, \
             rationale, metadata, overrides, epoch_us(created_at) FROM assessments WHERE call_id IN ({marks}) ORDER BY created_at, id"
        );
        let params: Vec<DbValue> = call_ids.iter().map(|s| DbValue::Text(s.clone())).collect();
        self.with_query_conn(|conn| {
            query_rows(conn, &sql, &params, |r| {
                let kind: String = r.get(5)?;
                let value = match kind.as_str() {
                    "bool" => AssessmentValue::Bool(r.get::<_, Option<bool>>(6)?.unwrap_or(false)),
                    "number" => AssessmentValue::Number(r.get::<_, Option<f64>>(7)?.unwrap_or(f64::NAN)),
                    _ => AssessmentValue::Text(r.get::<_, Option<String>>(8)?.unwrap_or_default()),
                };
                Ok(Assessment {
                    id: r.get(0)?,
                    project: r.get(1)?,
                    trace_id: r.get(2)?,
                    call_id: r.get(3)?,
                    name: r.get(4)?,
                    value,
                    source: AssessmentSource {
                        source_type: SourceType::parse(&r.get::<_, String>(9)?).unwrap_or(SourceType::Code),
                        source_id: r.get(10)?,
                    },
                    rationale: r.get(11)?,
                    metadata: json_obj(r.get(12)?),
                    overrides: r.get(13)?,
                    created_at: ts(r.get(14)?).unwrap_or_default(),
                })
            })
        })
    }
}
