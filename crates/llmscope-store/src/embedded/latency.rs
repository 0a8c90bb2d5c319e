//! The latency histogram and the slowest calls from the latencies' coarse bins.
//!
//! A histogram bucket's count is the number of values below its upper edge minus those below
//! its lower edge. Values below an edge are the coarse bins wholly below it (summed from the
//! days' fine bins and the calls' stored bins, [`super::overview::coarse_rows`]) plus, for the one coarse bin the edge cuts, a count over the calls in that bin:
//! one filtered scan for every edge at once. The slowest calls are found among the calls at
//! or above the lower edge of the highest coarse bins that hold enough of them.

use std::collections::BTreeMap;

use duckdb::Connection;
use llmscope_core::store::{HistogramBucket, StoreError};
use llmscope_core::CallFilter;

use super::bins::{coarse_bin, coarse_range, lit, FINE_PER_COARSE};
use super::overview::coarse_rows;
use super::rollup::METRIC_LATENCY;
use super::{day_bins, filter, query_rows};

/// Latency values per coarse bin over the window (every project and model the filter names).
fn coarse_counts(conn: &Connection, f: &CallFilter) -> Result<BTreeMap<i32, i64>, StoreError> {
    let split = day_bins::split(conn, f)?;
    // (The days are not read: any day expression does.)
    let (rows, params) = coarse_rows(f, &split, "0", &[(METRIC_LATENCY, "latency_bin")]);
    let sql = format!("SELECT c, sum(n)::BIGINT FROM ({rows}) GROUP BY c");
    Ok(query_rows(conn, &sql, &params, |r| Ok((r.get(0)?, r.get(1)?)))?.into_iter().collect())
}

/// The histogram over `edges` (ascending, finite; the last bucket is open).
pub fn histogram(conn: &Connection, f: &CallFilter, edges: &[f64]) -> Result<Vec<HistogramBucket>, StoreError> {
    let counts = coarse_counts(conn, f)?;
    let total: i64 = counts.values().sum();
    // For each edge: the values in bins wholly below it, and the bin it cuts (if any).
    let mut cut = Vec::new();
    let below_whole: Vec<i64> = edges
        .iter()
        .map(|&e| {
            let k = coarse_bin(e);
            let lo = coarse_range(k).0;
            // (Bin 0 has no lower edge: it holds zeros and negative values too.)
            if lo != Some(e) && counts.contains_key(&k) {
                cut.push((e, k));
            }
            counts.range(..k).map(|(_, n)| n).sum()
        })
        .collect();
    let mut partial = vec![0i64; edges.len()];
    if !cut.is_empty() {
        let w = filter::build(f);
        // The cut bins' calls (found by their stored fine bins) below their edge: one join
        // with the (bin, edge) pairs, not one filtered count per edge over every row.
        // (Two edges may cut the same bin: the pairs are told apart by their position.)
        let pairs: Vec<String> = cut.iter().enumerate().map(|(i, &(e, k))| format!("({i}, {k}, {})", lit(e))).collect();
        let ks: Vec<String> = cut.iter().map(|&(_, k)| k.to_string()).collect();
        let sql = format!(
            "SELECT t.i, count(*) FROM (SELECT latency_bin // {FINE_PER_COARSE} AS c, latency_ms AS v FROM calls
                 WHERE {} AND latency_bin // {FINE_PER_COARSE} IN ({})) x
             JOIN (VALUES {}) t(i, c, e) ON x.c = t.c WHERE x.v < t.e GROUP BY t.i",
            w.clause(),
            ks.join(", "),
            pairs.join(", ")
        );
        let got: std::collections::HashMap<i64, i64> =
            query_rows(conn, &sql, &w.params, |r| Ok((r.get(0)?, r.get(1)?)))?.into_iter().collect();
        for (i, &e) in edges.iter().enumerate() {
            if let Some(j) = cut.iter().position(|&(x, _)| x.to_bits() == e.to_bits()) {
                partial[i] = got.get(&(j as i64)).copied().unwrap_or(0);
            }
        }
    }
    let below: Vec<i64> = below_whole.iter().zip(&partial).map(|(a, b)| a + b).collect();
    Ok(edges
        .iter()
        .enumerate()
        .map(|(i, &lo)| {
            let upto = below.get(i + 1).copied().unwrap_or(total);
            HistogramBucket { lo, hi: edges.get(i + 1).copied(), count: (upto - below[i]).max(0) as u64 }
        })
        .collect())
}

/// A fine bin at or below that of the `n`-th greatest latency (so that the `n` slowest calls
/// are the slowest of those whose stored `latency_bin` is at or above it); `None` when every
/// call must be looked at. (The bin column is cheaper to filter on than the latencies.)
pub fn slowest_floor(conn: &Connection, f: &CallFilter, n: usize) -> Result<Option<i64>, StoreError> {
    let counts = coarse_counts(conn, f)?;
    let mut seen = 0i64;
    for (k, c) in counts.iter().rev() {
        seen += c;
        if seen >= n as i64 {
            return Ok((*k > 0).then_some(i64::from(*k) * FINE_PER_COARSE));
        }
    }
    Ok(None)
}
