//! Counts per label from the label rollup (`label_rollup`, per quarter hour, project and
//! label, kept with the other rollups by [`super::rollup::roll_up`] and read through a
//! window's [`Plan`]): the flags, the errors by status code and by kind, and the calls
//! without a session.

use duckdb::Connection;
use llmscope_core::store::StoreError;
use llmscope_core::CallFilter;

use super::overview::{self, Plan};
use super::query_rows;
use super::rollup::{labels_sql, LABEL_FLAG};

/// Whether the label rollup answers this filter: a window and a project.
pub fn eligible(f: &CallFilter) -> bool {
    overview::eligible(f, &Vec::new()) && f.models.is_empty()
}

/// How many calls carry each label of `dim` in the plan's window, most first (ties by label).
pub fn counts(conn: &Connection, plan: &Plan, dim: u8) -> Result<Vec<(String, u64)>, StoreError> {
    let (rows, params) = plan.union("label_rollup", labels_sql, 4);
    let sql = format!(
        "SELECT label, sum(n)::BIGINT AS c FROM ({rows}) WHERE dim = {dim} GROUP BY label ORDER BY c DESC, label"
    );
    query_rows(conn, &sql, &params, |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64)))
}

/// A start (µs) from which on the plan's window holds at least `n` calls carrying `flag`,
/// by the label rollup's clean quarter hours wholly inside it: the newest `n` such calls
/// start at or after it, so a newest-first listing reads only the calls from there on (which
/// DuckDB's zone maps prune by start time). `None` when those quarter hours hold fewer.
pub fn newest_floor(conn: &Connection, plan: &Plan, flag: &str, n: usize) -> Result<Option<i64>, StoreError> {
    let mut params = plan.rollup.params.clone();
    params.push(duckdb::types::Value::Text(flag.to_string()));
    let sql = format!(
        "SELECT bucket_us, sum(n)::BIGINT FROM label_rollup WHERE {} AND dim = {LABEL_FLAG} AND label = ?
         GROUP BY bucket_us ORDER BY bucket_us DESC",
        plan.rollup.clause()
    );
    let mut seen = 0i64;
    for (bucket, count) in query_rows(conn, &sql, &params, |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))? {
        seen += count;
        if seen >= n as i64 {
            return Ok(Some(bucket));
        }
    }
    Ok(None)
}
