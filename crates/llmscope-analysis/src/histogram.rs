//! Bucket edges for latency histograms: about `n` equal buckets of a "nice" width (1, 2, 2.5 or
//! 5 × 10ᵏ ms) from 0 up to the p99, and one open bucket above.

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

#[cfg(test)]
mod tests {
    use super::*;

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
