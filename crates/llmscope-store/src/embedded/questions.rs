//! The top questions, exact (`input_hash`: the hash of the trimmed text) and normalised
//! (`question_key`), from the calls or from the question rollup (`question_rollup`: how many
//! calls per quarter hour, project and exact key, kept with the other rollups by
//! [`super::rollup::roll_up`] and read through a window's [`Plan`]).
//!
//! Both lists' keys come from one grouping; a normalised key's spellings are its exact keys,
//! counted without reading any text; only the shown spelling's text is read, from one call.

use std::collections::HashMap;

use duckdb::types::Value as DbValue;
use duckdb::Connection;
use llmscope_core::store::{QuestionCount, StoreError};
use llmscope_core::CallFilter;

use super::overview::{self, Plan};
use super::rollup::questions_sql;
use super::{filter, query_rows};

/// Whether the question rollup answers this filter: a window and a project.
pub fn eligible(f: &CallFilter) -> bool {
    overview::eligible(f, &Vec::new()) && f.models.is_empty()
}

/// Where question counts come from: SQL with the columns `input_hash`, `question_key` and
/// `n` (calls), and its parameters.
pub struct Counts {
    sql: String,
    params: Vec<DbValue>,
}

impl Counts {
    /// The calls matching a filter, one row each.
    pub fn calls(w: &filter::Where) -> Self {
        Counts {
            sql: format!(
                "SELECT input_hash, question_key, 1 AS n FROM calls WHERE {} AND input_hash IS NOT NULL",
                w.clause()
            ),
            params: w.params.clone(),
        }
    }

    /// A window's rollup rows, and the rest of its calls aggregated the same way.
    pub fn rollup(plan: &Plan) -> Self {
        let (sql, params) = plan.union("question_rollup", questions_sql, 1);
        Counts { sql, params }
    }
}

fn u(n: i64) -> u64 {
    n.max(0) as u64
}

/// One list: the `limit` most frequent exact or normalised keys (ties by key).
pub fn top(
    conn: &Connection,
    w: &filter::Where,
    counts: &Counts,
    normalised: bool,
    limit: usize,
) -> Result<Vec<QuestionCount>, StoreError> {
    let col = if normalised { "question_key" } else { "input_hash" };
    let sql = format!(
        "SELECT {col}, sum(n)::BIGINT AS c FROM ({}) WHERE {col} IS NOT NULL GROUP BY 1 ORDER BY c DESC, 1 LIMIT {}",
        counts.sql,
        limit.max(1)
    );
    let top = query_rows(conn, &sql, &counts.params, |r| Ok((r.get::<_, u64>(0)?, u(r.get::<_, i64>(1)?))))?;
    shown(conn, w, counts, normalised, top)
}

/// Both lists: the `limit` most frequent exact and normalised keys (ties by key).
pub fn top_both(
    conn: &Connection,
    w: &filter::Where,
    counts: &Counts,
    limit: usize,
) -> Result<(Vec<QuestionCount>, Vec<QuestionCount>), StoreError> {
    let sql = format!(
        "SELECT g, k, c FROM (
             SELECT GROUPING(input_hash, question_key) AS g, coalesce(input_hash, question_key) AS k, sum(n)::BIGINT AS c
             FROM ({}) GROUP BY GROUPING SETS ((input_hash), (question_key)))
         WHERE k IS NOT NULL
         QUALIFY row_number() OVER (PARTITION BY g ORDER BY c DESC, k) <= {}
         ORDER BY g, c DESC, k",
        counts.sql,
        limit.max(1)
    );
    let rows = query_rows(conn, &sql, &counts.params, |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, u64>(1)?, u(r.get::<_, i64>(2)?)))
    })?;
    // GROUPING(input_hash, question_key) is 1 in the exact set, 2 in the normalised one.
    let pick = |set: i64| rows.iter().filter(|r| r.0 == set).map(|r| (r.1, r.2)).collect::<Vec<_>>();
    Ok((shown(conn, w, counts, false, pick(1))?, shown(conn, w, counts, true, pick(2))?))
}

/// The question shown for each top key — for a normalised key its most frequent spelling
/// (ties broken by text) — and how many spellings it has. `w` selects the calls whose
/// text is read; `counts` counts the spellings.
pub fn shown(
    conn: &Connection,
    w: &filter::Where,
    counts: &Counts,
    normalised: bool,
    top: Vec<(u64, u64)>,
) -> Result<Vec<QuestionCount>, StoreError> {
    if top.is_empty() {
        return Ok(Vec::new());
    }
    if !normalised {
        return top
            .into_iter()
            .map(|(k, count)| {
                let question = texts(conn, w, &[k])?.remove(&k).unwrap_or_default();
                Ok(QuestionCount { question, count, variants: 1 })
            })
            .collect();
    }
    // A normalised key's spellings are its exact keys (distinct trimmed texts).
    let keys: Vec<String> = top.iter().map(|(k, _)| k.to_string()).collect();
    let sql = format!(
        "SELECT question_key, input_hash, sum(n)::BIGINT FROM ({}) WHERE question_key IN ({}) GROUP BY 1, 2",
        counts.sql,
        keys.join(", ")
    );
    let mut exact: HashMap<u64, Vec<(u64, u64)>> = HashMap::new();
    for (k, h, c) in query_rows(conn, &sql, &counts.params, |r| {
        Ok((r.get::<_, u64>(0)?, r.get::<_, u64>(1)?, u(r.get::<_, i64>(2)?)))
    })? {
        exact.entry(k).or_default().push((h, c));
    }
    top.into_iter()
        .map(|(k, count)| {
            let spellings = exact.remove(&k).unwrap_or_default();
            // The most frequent spelling; between equally frequent ones, the least text.
            let most = spellings.iter().map(|(_, c)| *c).max().unwrap_or(0);
            let tied: Vec<u64> = spellings.iter().filter(|(_, c)| *c == most).map(|(h, _)| *h).collect();
            let question = texts(conn, w, &tied)?.into_values().min().unwrap_or_default();
            Ok(QuestionCount { question, count, variants: spellings.len() as u64 })
        })
        .collect()
}

/// The question (trimmed) of each exact key: every call under a key trims to the same
/// text, so one call tells it.
fn texts(conn: &Connection, w: &filter::Where, keys: &[u64]) -> Result<HashMap<u64, String>, StoreError> {
    // Spellings are trimmed here, with Rust's `trim` (the one the keys were made with):
    // DuckDB's `trim` only strips spaces, not newlines or tabs.
    let mut out = HashMap::new();
    if let [k] = keys {
        // (The scan stops at the first call, where a grouping would read every call of a
        // frequent question.)
        let sql = format!("SELECT input_text FROM calls WHERE {} AND input_hash = ? LIMIT 1", w.clause());
        let params: Vec<DbValue> = w.params.iter().cloned().chain([DbValue::UBigInt(*k)]).collect();
        let text: Vec<String> = query_rows(conn, &sql, &params, |r| r.get(0))?;
        if let Some(t) = text.first() {
            out.insert(*k, t.trim().to_string());
        }
    } else if !keys.is_empty() {
        let list = keys.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT input_hash, any_value(input_text) FROM calls WHERE {} AND input_hash IN ({list}) GROUP BY 1",
            w.clause()
        );
        for (k, t) in query_rows(conn, &sql, &w.params, |r| Ok((r.get::<_, u64>(0)?, r.get::<_, String>(1)?)))? {
            out.insert(k, t.trim().to_string());
        }
    }
    Ok(out)
}
