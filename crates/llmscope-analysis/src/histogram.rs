//! Bucket edges for latency histograms: about `n` equal buckets of a "nice" width (1, 2, 2.5 or
//! 5 × 10ᵏ ms) from 0 up to the p99, and one open bucket above.

use llmscope_core::store::HistogramBucket;

/// Edges `[0, w, 2w, …]`; the last bucket (from the last edge up) is open.
pub fn edges(p99: Option<f64>, n: usize) -> Vec<f64> {
    let top = match p99 {
        Some(v) if v.is_finite() && v >= 1e-3 => v,
        _ => return vec![0.0],
    };
    let raw = top / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let width = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|w| *w >= raw).unwrap_or(10.0 * mag);
    let count = ((top / width).ceil() as usize).min(4 * n.max(1));
    (0..=count).map(|i| i as f64 * width).collect()
}

/// The edges of one histogram that answers both the chart's buckets (`edges`) and the count
/// of calls at or above `threshold`: the union of both, ascending.
pub fn merged_edges(edges: &[f64], threshold: f64) -> Vec<f64> {
    let mut all: Vec<f64> = edges.iter().copied().chain([threshold]).filter(|e| e.is_finite()).collect();
    all.sort_by(f64::total_cmp);
    all.dedup_by(|a, b| a.to_bits() == b.to_bits());
    all
}

/// Splits a histogram over [`merged_edges`] into the chart's buckets over `edges` and the
/// values at or above `threshold`. Every merged bucket lies inside one chart bucket (or below
/// the first), so the chart's counts are sums of whole merged buckets.
pub fn split_merged(merged: &[HistogramBucket], edges: &[f64], threshold: f64) -> (Vec<HistogramBucket>, u64) {
    let slow = merged.iter().filter(|b| b.lo >= threshold).map(|b| b.count).sum();
    let chart = edges
        .iter()
        .enumerate()
        .map(|(i, &lo)| {
            let hi = edges.get(i + 1).copied();
            let count = merged.iter().filter(|b| b.lo >= lo && hi.is_none_or(|h| b.lo < h)).map(|b| b.count).sum();
            HistogramBucket { lo, hi, count }
        })
        .collect();
    (chart, slow)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A histogram of `values` over ascending `edges`, counted directly.
    fn direct(values: &[f64], edges: &[f64]) -> Vec<HistogramBucket> {
        (0..edges.len())
            .map(|i| {
                let (lo, hi) = (edges[i], edges.get(i + 1).copied());
                let count = values.iter().filter(|&&v| v >= lo && hi.is_none_or(|h| v < h)).count() as u64;
                HistogramBucket { lo, hi, count }
            })
            .collect()
    }

    #[test]
    fn one_histogram_answers_the_chart_and_the_slow_count() {
        let values = [0.0, 1.0, 99.9, 100.0, 150.0, 1999.0, 2000.0, 2000.5, 2600.0, 9000.0];
        for (edges, threshold) in [
            (edges(Some(2500.0), 10), 2000.0),
            (edges(Some(2500.0), 10), 2100.0),
            (edges(Some(2500.0), 10), 0.0),
            (edges(Some(2500.0), 10), 50_000.0),
            (vec![100.0, 200.0], 50.0),
            (vec![0.0], 2000.0),
        ] {
            let merged = merged_edges(&edges, threshold);
            let (chart, slow) = split_merged(&direct(&values, &merged), &edges, threshold);
            assert_eq!(chart, direct(&values, &edges), "{edges:?} {threshold}");
            assert_eq!(slow, values.iter().filter(|&&v| v >= threshold).count() as u64, "{edges:?} {threshold}");
        }
        assert_eq!(merged_edges(&[0.0, 1.0], f64::INFINITY), vec![0.0, 1.0]);
    }

    #[test]
    fn nice_widths() {
        assert_eq!(edges(Some(1000.0), 10), (0..=10).map(|i| i as f64 * 100.0).collect::<Vec<_>>());
        let e = edges(Some(4321.0), 20);
        assert_eq!(e[1], 500.0 / 2.0);
        assert!(*e.last().unwrap_or(&0.0) >= 4321.0);
        assert_eq!(edges(None, 20), vec![0.0]);
        assert_eq!(edges(Some(0.0), 20), vec![0.0]);
    }
}
