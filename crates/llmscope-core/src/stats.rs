//! Exact percentiles.
//!
//! Definition (the same as numpy's default `linear`, pandas' `quantile`, DuckDB's
//! `quantile_cont` and R's type 7): for `n` sorted values `x[0..n]` and `q` in `[0, 1]`,
//! let `h = (n - 1) q`; the percentile is `x[⌊h⌋] + (h − ⌊h⌋)(x[⌊h⌋+1] − x[⌊h⌋])`.
//! Every percentile llmscope reports uses this definition, in Rust and in SQL alike.

/// The `q`-quantile of already sorted, NaN-free values; `None` for an empty slice.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let q = q.clamp(0.0, 1.0);
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let frac = h - lo as f64;
    Some(sorted[lo] + frac * (sorted[hi] - sorted[lo]))
}

/// Sorts `values` (dropping NaN) and returns the requested quantiles.
pub fn quantiles(values: &mut Vec<f64>, qs: &[f64]) -> Vec<Option<f64>> {
    values.retain(|v| !v.is_nan());
    values.sort_by(f64::total_cmp);
    qs.iter().map(|&q| quantile_sorted(values, q)).collect()
}

/// The `q`-quantile of values given as `(value, how many times)` pairs sorted by value (the
/// same definition; no pair may have a NaN value). For integer measures with few distinct
/// values — turns per session — this needs a count per value, not every value.
pub fn quantile_of_counts(sorted: &[(f64, u64)], q: f64) -> Option<f64> {
    let n: u64 = sorted.iter().map(|(_, c)| c).sum();
    if n == 0 {
        return None;
    }
    let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as u64;
    let hi = (lo + 1).min(n - 1);
    let at = |rank: u64| {
        let mut seen = 0u64;
        sorted.iter().find(|(_, c)| {
            seen += c;
            rank < seen
        })
    };
    let (a, b) = (at(lo)?.0, at(hi)?.0);
    Some(a + (h - lo as f64) * (b - a))
}

/// Arithmetic mean; `None` for no values.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hand_computed_values() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(quantile_sorted(&v, 0.5), Some(5.5));
        // h = 9 * 0.9 = 8.1 -> 9 + 0.1 * 1
        assert!((quantile_sorted(&v, 0.9).unwrap_or(0.0) - 9.1).abs() < 1e-9);
        assert!((quantile_sorted(&v, 0.95).unwrap_or(0.0) - 9.55).abs() < 1e-9);
        assert_eq!(quantile_sorted(&v, 0.0), Some(1.0));
        assert_eq!(quantile_sorted(&v, 1.0), Some(10.0));
        assert_eq!(quantile_sorted(&[42.0], 0.99), Some(42.0));
        assert_eq!(quantile_sorted(&[], 0.5), None);
    }

    proptest! {
        #[test]
        fn counts_give_the_quantile_of_the_expanded_values(
            pairs in proptest::collection::btree_map(0u32..50, 1u64..20, 0..12),
            q in 0.0f64..=1.0,
        ) {
            let sorted: Vec<(f64, u64)> = pairs.iter().map(|(&v, &c)| (f64::from(v), c)).collect();
            let mut all: Vec<f64> = sorted.iter().flat_map(|&(v, c)| std::iter::repeat_n(v, c as usize)).collect();
            let want = quantiles(&mut all, &[q])[0];
            let got = quantile_of_counts(&sorted, q);
            prop_assert_eq!(want.map(|x| (x * 1e9).round()), got.map(|x| (x * 1e9).round()));
        }
    }

    proptest! {
        #[test]
        fn quantile_is_bounded_and_monotone(mut v in proptest::collection::vec(-1e6f64..1e6, 1..200),
                                            a in 0.0f64..1.0, b in 0.0f64..1.0) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let r = quantiles(&mut v, &[lo, hi]);
            let (x, y) = (r[0].unwrap_or(f64::NAN), r[1].unwrap_or(f64::NAN));
            prop_assert!(x <= y + 1e-9);
            prop_assert!(x >= v[0] - 1e-9 && y <= v[v.len() - 1] + 1e-9);
        }

        #[test]
        fn quantile_ignores_order(v in proptest::collection::vec(-1e3f64..1e3, 1..100), q in 0.0f64..1.0) {
            let mut a = v.clone();
            let mut b: Vec<f64> = v.into_iter().rev().collect();
            prop_assert_eq!(quantiles(&mut a, &[q]), quantiles(&mut b, &[q]));
        }

        #[test]
        fn median_splits_the_data(mut v in proptest::collection::vec(-1e3f64..1e3, 1..100)) {
            let m = quantiles(&mut v, &[0.5])[0].unwrap_or(f64::NAN);
            let below = v.iter().filter(|&&x| x < m).count();
            let above = v.iter().filter(|&&x| x > m).count();
            prop_assert!(below <= v.len() / 2 && above <= v.len() / 2);
        }
    }
}
