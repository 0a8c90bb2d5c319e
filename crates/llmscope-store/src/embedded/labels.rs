//! Counts per label from the label rollup (`label_rollup`, per quarter hour, project and
//! label, kept with the other rollups by [`super::rollup::roll_up`] and read through a
//! window's [`Plan`]): the flags, the errors by status code and by kind, and the calls
//! without a session.

use duckdb::Connection;
use llmscope_core::store::StoreError;
use llmscope_core::CallFilter;

use super::overview::{self, Plan};
use super::query_rows;
use super::rollup::labels_sql;

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
