//! Exact quantiles of one column that is stored with its fine value bins ([`super::bins`]),
//! without sorting the column: the same three steps as the overview's percentiles
//! ([`super::overview`]), for a single group.
//!
//! 1. The coarse counts (given: they come with the caller's other aggregates) place each
//!    wanted rank in a coarse bin.
//! 2. One scan of the rows in those coarse bins counts them per fine bin, with each fine
//!    bin's least and greatest value.
//! 3. Where a rank's fine bin holds more than one distinct value, one more scan fetches the
//!    values of just those fine bins, which are sorted here.
//!
//! Values the caller holds in memory (`extra`) join the column's at every step, so a
//! quantile can span rolled-up rows and rows aggregated on the fly.

use std::collections::{BTreeMap, HashMap};

use duckdb::types::Value as DbValue;
use duckdb::Connection;
use llmscope_core::store::StoreError;

use super::bins::{fine_bin, FINE_PER_COARSE};
use super::query_rows;

/// The ranks a quantile interpolates between, and the fraction (`llmscope_core::stats`).
pub fn ranks(n: i64, q: f64) -> (i64, i64, f64) {
    let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as i64;
    (lo, (lo + 1).min(n - 1), h - lo as f64)
}

/// Interpolates between the values at the two ranks (as DuckDB's `quantile_cont`: no
/// interpolation at a fraction of zero, so an infinite or NaN neighbour does not leak in).
pub fn interpolate(a: f64, b: f64, frac: f64) -> f64 {
    if frac == 0.0 {
        a
    } else {
        a + frac * (b - a)
    }
}

/// Where a rank lies: its bin and its rank among that bin's values.
#[derive(Debug, Clone, Copy)]
pub struct At {
    pub bin: i64,
    pub rank: i64,
}

/// Finds the bin holding rank `r` in ascending `(bin, count)` pairs.
pub fn locate(counts: impl Iterator<Item = (i64, i64)>, r: i64) -> Option<At> {
    let mut below = 0;
    for (bin, n) in counts {
        if r < below + n {
            return Some(At { bin, rank: r - below });
        }
        below += n;
    }
    None
}

pub fn inconsistent(what: &str) -> StoreError {
    StoreError::Backend(format!("rollup out of step with the calls ({what})"))
}

fn list<'a>(bins: impl IntoIterator<Item = &'a i64>) -> String {
    bins.into_iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

/// The coarse bin of a fine bin.
fn coarse_of(fine: i64) -> i64 {
    fine.div_euclid(FINE_PER_COARSE)
}

/// The quantiles `qs` of the values of `source` (SQL with the columns `v`, the value, and
/// `f`, its stored fine bin; `params` are its parameters) together with `extra`.
/// `coarse` counts `source`'s values per coarse bin (`f // 32`); `extra` is counted here.
pub fn exact(
    conn: &Connection,
    source: &str,
    params: &[DbValue],
    coarse: &BTreeMap<i64, i64>,
    extra: &[f64],
    qs: &[f64],
) -> Result<Vec<Option<f64>>, StoreError> {
    let extra_bins: Vec<(i64, f64)> = extra.iter().map(|&v| (i64::from(fine_bin(v)), v)).collect();
    let mut counts = coarse.clone();
    for (fb, _) in &extra_bins {
        *counts.entry(coarse_of(*fb)).or_default() += 1;
    }
    let n: i64 = counts.values().sum();
    if n == 0 {
        return Ok(vec![None; qs.len()]);
    }
    // Step 1: the coarse bin of every wanted rank.
    let mut wanted: BTreeMap<i64, At> = BTreeMap::new();
    for &q in qs {
        let (lo, hi, _) = ranks(n, q);
        for r in [lo, hi] {
            let at = locate(counts.iter().map(|(b, c)| (*b, *c)), r).ok_or_else(|| inconsistent("rank"))?;
            wanted.insert(r, at);
        }
    }
    // Step 2: count per fine bin, with the least and greatest value, in the wanted coarse bins.
    let coarse_wanted: std::collections::BTreeSet<i64> = wanted.values().map(|a| a.bin).collect();
    let sql = format!(
        "SELECT f, count(*), min(v), max(v) FROM ({source}) WHERE f // {FINE_PER_COARSE} IN ({}) GROUP BY f",
        list(&coarse_wanted)
    );
    let mut fine: BTreeMap<i64, (i64, f64, f64)> = BTreeMap::new();
    for (fb, c, lo, hi) in query_rows(conn, &sql, params, |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, f64>(2)?, r.get::<_, f64>(3)?))
    })? {
        fine.insert(fb, (c, lo, hi));
    }
    for &(fb, v) in &extra_bins {
        if coarse_wanted.contains(&coarse_of(fb)) {
            let e = fine.entry(fb).or_insert((0, v, v));
            e.0 += 1;
            e.1 = if v.total_cmp(&e.1).is_lt() { v } else { e.1 };
            e.2 = if v.total_cmp(&e.2).is_gt() { v } else { e.2 };
        }
    }
    let mut values: HashMap<i64, f64> = HashMap::new();
    let mut fetch: Vec<(i64, i64, i64)> = Vec::new(); // rank, fine bin, rank in it
    for (&r, at) in &wanted {
        let first = at.bin * FINE_PER_COARSE;
        let in_bin = || fine.range(first..first + FINE_PER_COARSE);
        let total: i64 = in_bin().map(|(_, (c, _, _))| c).sum();
        if Some(&total) != counts.get(&at.bin) {
            return Err(inconsistent("bin counts"));
        }
        let fat = locate(in_bin().map(|(b, (c, _, _))| (*b, *c)), at.rank).ok_or_else(|| inconsistent("fine rank"))?;
        let &(_, least, greatest) = fine.get(&fat.bin).ok_or_else(|| inconsistent("fine bin"))?;
        if least.total_cmp(&greatest).is_eq() {
            values.insert(r, least);
        } else {
            fetch.push((r, fat.bin, fat.rank));
        }
    }
    // Step 3: the values of the fine bins that need sorting.
    if !fetch.is_empty() {
        let bins: std::collections::BTreeSet<i64> = fetch.iter().map(|(_, fb, _)| *fb).collect();
        let sql = format!("SELECT f, v FROM ({source}) WHERE f IN ({})", list(&bins));
        let mut sorted: HashMap<i64, Vec<f64>> = HashMap::new();
        for (fb, v) in query_rows(conn, &sql, params, |r| Ok((r.get::<_, i64>(0)?, r.get::<_, f64>(1)?)))? {
            sorted.entry(fb).or_default().push(v);
        }
        for &(fb, v) in &extra_bins {
            if bins.contains(&fb) {
                sorted.entry(fb).or_default().push(v);
            }
        }
        for v in sorted.values_mut() {
            v.sort_by(f64::total_cmp);
        }
        for (r, fb, rank) in fetch {
            let v = sorted.get(&fb).and_then(|v| v.get(rank as usize)).ok_or_else(|| inconsistent("values"))?;
            values.insert(r, *v);
        }
    }
    qs.iter()
        .map(|&q| {
            let (lo, hi, frac) = ranks(n, q);
            match (values.get(&lo), values.get(&hi)) {
                (Some(a), Some(b)) => Ok(Some(interpolate(*a, *b, frac))),
                _ => Err(inconsistent("missing rank")),
            }
        })
        .collect()
}
