//! The top users from the rollups: their counts and sums from the user rollup
//! (`user_rollup`, per quarter hour, project and user, kept with the other rollups by
//! [`super::rollup::roll_up`]) through a window's plan ([`super::overview::Plan`]), and their
//! sessions from the session rollup ([`super::sessions`]).

use duckdb::Connection;
use llmscope_core::store::{GroupKey, GroupStats, Measures, StoreError};
use llmscope_core::CallFilter;

use super::overview::{self, stats_of, Plan};
use super::rollup::{self, user_cells_sql, CELL_SUMS};
use super::{query_rows, sessions};

/// Whether the rollups answer a `group_stats` query: the top users (a limited list) by
/// counts and sums (no percentiles), over a window and a project.
pub fn eligible(f: &CallFilter, key: &GroupKey, measures: Measures, limit: usize) -> bool {
    matches!(key, GroupKey::User)
        && limit > 0
        && !measures.percentiles
        && !measures.only_count
        && overview::eligible(f, &Vec::new())
        && f.models.is_empty()
}

/// The `limit` users with the most calls (ties by user id), with their measures; with
/// `measures.distinct`, their session counts too. `None` when the session rollup cannot
/// answer (too many dirty quarter hours).
pub fn top(
    conn: &Connection,
    f: &CallFilter,
    plan: &Plan,
    measures: Measures,
    limit: usize,
) -> Result<Option<Vec<GroupStats>>, StoreError> {
    let (rows, params) = plan.union("user_rollup", user_cells_sql, 1);
    let sql = format!(
        "SELECT user_id, {CELL_SUMS} FROM ({rows}) GROUP BY user_id
         ORDER BY sum(requests) DESC, user_id LIMIT {limit}"
    );
    let mut top = query_rows(conn, &sql, &params, |r| Ok(stats_of(r.get::<_, String>(0)?, &rollup::read_cell(r, 1)?)))?;
    if measures.distinct {
        let Some(sp) = sessions::plan(conn, f)? else { return Ok(None) };
        let users: Vec<String> = top.iter().map(|g| g.key.clone()).collect();
        let counts = sessions::of_users(conn, &sp, &users)?;
        for g in &mut top {
            g.distinct_users = 1;
            g.distinct_sessions = counts.get(&g.key).copied().unwrap_or(0);
        }
    }
    Ok(Some(top))
}
