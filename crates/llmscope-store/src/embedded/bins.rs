//! Value bins for exact percentiles from the rollups.
//!
//! A latency or TTFT value falls in a **coarse bin** (32 per doubling, about 2 % wide),
//! whose counts place a percentile's rank (summed from the days' fine bins or counted from the
//! calls', [`super::overview::coarse_rows`]); each coarse bin splits into 32
//! **fine bins** (1,024 per doubling), stored with each call. Both are read off the value's
//! IEEE-754 bits — the exponent and the top 5 (coarse) or 10 (fine) mantissa bits — so every bin is an exact
//! value range `[lo, hi)` whose edges are exact doubles: SQL finds a bin's values with plain
//! comparisons, and the fine index inside a coarse bin is `⌊(v − 2^e) · 2^(10−e)⌋`, which
//! IEEE arithmetic computes exactly (the subtraction is exact by Sterbenz's lemma, the
//! product is by a power of two). Rust and DuckDB therefore put every value in the same bin.
//!
//! Bin 0 holds everything below 2^-20 ms (zero and negative values included); the top bin
//! everything from 2^40 ms (about 35 years) up, infinities and NaN included (DuckDB orders
//! NaN above every number). Neither is split further.

/// The smallest binned value: 2^-20 ms, about a nanosecond.
const MIN_EXP: i32 = -20;
/// Values from 2^40 ms up go to the top bin.
const MAX_EXP: i32 = 40;
/// Mantissa bits read for a coarse bin (32 per doubling, about 2 % wide) and a fine one.
const COARSE_BITS: u32 = 5;
const FINE_BITS: u32 = 10;
const COARSE_PER_DOUBLING: i32 = 1 << COARSE_BITS;
/// Fine bins per coarse bin.
pub const FINE_PER_COARSE: i64 = 1 << (FINE_BITS - COARSE_BITS);
/// Shifts that keep the exponent and the coarse / fine mantissa bits.
const COARSE_SHIFT: u32 = 52 - COARSE_BITS;
const FINE_SHIFT: u32 = 52 - FINE_BITS;
/// The top coarse bin.
pub const COARSE_TOP: i32 = 1 + (MAX_EXP - MIN_EXP) * COARSE_PER_DOUBLING;

fn pow2(e: i32) -> f64 {
    f64::from_bits(((e + 1023) as u64) << 52)
}

fn min_bits() -> u64 {
    pow2(MIN_EXP).to_bits()
}

/// The coarse bin of a value.
pub fn coarse_bin(v: f64) -> i32 {
    if v.is_nan() || v >= pow2(MAX_EXP) {
        COARSE_TOP
    } else if v < pow2(MIN_EXP) {
        0
    } else {
        1 + ((v.to_bits() - min_bits()) >> COARSE_SHIFT) as i32
    }
}

/// The fine bin of a value: `coarse × 32 + index` (index 0 in the two end bins); stored
/// with each call (`latency_bin`, `ttft_bin`). [`fine_bin_sql`] computes the same in DuckDB;
/// the tests hold them to each other.
pub fn fine_bin(v: f64) -> u16 {
    let k = coarse_bin(v);
    let base = k as u16 * FINE_PER_COARSE as u16;
    if k == 0 || k == COARSE_TOP {
        base
    } else {
        base + (((v.to_bits() - min_bits()) >> FINE_SHIFT) as i64 % FINE_PER_COARSE) as u16
    }
}

/// The value range `[lo, hi)` of a coarse bin; `None` for an open end.
pub fn coarse_range(k: i32) -> (Option<f64>, Option<f64>) {
    match k {
        k if k <= 0 => (None, Some(pow2(MIN_EXP))),
        k if k >= COARSE_TOP => (Some(pow2(MAX_EXP)), None),
        k => {
            let lo = f64::from_bits(min_bits() + (((k - 1) as u64) << COARSE_SHIFT));
            let hi = f64::from_bits(min_bits() + ((k as u64) << COARSE_SHIFT));
            (Some(lo), Some(hi))
        }
    }
}

/// The value range of a fine bin (the whole coarse range in the two end bins).
#[cfg(test)]
pub fn fine_range(f: i64) -> (Option<f64>, Option<f64>) {
    let k = f.div_euclid(FINE_PER_COARSE) as i32;
    if k <= 0 || k >= COARSE_TOP {
        return coarse_range(k);
    }
    let j = f.rem_euclid(FINE_PER_COARSE) as u64;
    let base = min_bits() + (((k - 1) as u64) << COARSE_SHIFT);
    (Some(f64::from_bits(base + (j << FINE_SHIFT))), Some(f64::from_bits(base + ((j + 1) << FINE_SHIFT))))
}

/// A double as a SQL literal that DuckDB reads back as exactly the same double.
pub fn lit(v: f64) -> String {
    format!("'{v:?}'::DOUBLE")
}

/// SQL: `col` lies in the range (`TRUE` for an unbounded one).
#[cfg(test)]
pub fn range_sql(col: &str, (lo, hi): (Option<f64>, Option<f64>)) -> String {
    match (lo, hi) {
        (Some(lo), Some(hi)) => format!("({col} >= {} AND {col} < {})", lit(lo), lit(hi)),
        (Some(lo), None) => format!("{col} >= {}", lit(lo)),
        (None, Some(hi)) => format!("{col} < {}", lit(hi)),
        (None, None) => "TRUE".into(),
    }
}

/// SQL: the fine bin of `col`, as [`fine_bin`] (for migrating stored calls). The binade
/// `e` from `log2` is corrected by exact comparisons with powers of two, so rounding in
/// `log2` cannot move a value to the next bin; `(v − 2^e) · 2^(10−e)` is exact.
pub fn fine_bin_sql(col: &str) -> String {
    let e0 = format!("floor(log2({col}))");
    let e =
        format!("({e0} - CASE WHEN {col} < pow(2.0, {e0}) THEN 1 WHEN {col} >= pow(2.0, {e0} + 1) THEN -1 ELSE 0 END)");
    format!(
        "CASE WHEN {col} IS NULL THEN NULL WHEN {col} < {lo} THEN 0 WHEN NOT ({col} < {hi}) THEN {top} \
         ELSE CAST({first} + ({e} - ({min})) * 1024 + floor(({col} - pow(2.0, {e})) * pow(2.0, 10 - {e})) AS INTEGER) END",
        lo = lit(pow2(MIN_EXP)),
        hi = lit(pow2(MAX_EXP)),
        top = i64::from(COARSE_TOP) * FINE_PER_COARSE,
        first = FINE_PER_COARSE,
        min = MIN_EXP,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;

    fn in_range(v: f64, (lo, hi): (Option<f64>, Option<f64>)) -> bool {
        lo.is_none_or(|lo| v >= lo || v.is_nan()) && hi.is_none_or(|hi| v < hi)
    }

    #[test]
    fn end_bins_and_edges() {
        assert_eq!(coarse_bin(0.0), 0);
        assert_eq!(coarse_bin(-5.0), 0);
        assert_eq!(coarse_bin(f64::NAN), COARSE_TOP);
        assert_eq!(coarse_bin(f64::INFINITY), COARSE_TOP);
        assert_eq!(coarse_bin(f64::NEG_INFINITY), 0);
        assert_eq!(coarse_bin(pow2(-20)), 1);
        assert_eq!(coarse_bin(1.0), 1 + 20 * 32);
        assert_eq!(coarse_bin(1.03125), 2 + 20 * 32);
        assert_eq!(coarse_range(1 + 20 * 32), (Some(1.0), Some(1.03125)));
        let one = 1 + 20 * COARSE_PER_DOUBLING; // the coarse bin starting at 1.0
        assert_eq!(i64::from(fine_bin(1.0 + 1.0 / 1024.0)), i64::from(one) * FINE_PER_COARSE + 1);
        assert_eq!(
            fine_range(i64::from(one) * FINE_PER_COARSE + 1),
            (Some(1.0 + 1.0 / 1024.0), Some(1.0 + 2.0 / 1024.0))
        );
        assert_eq!(coarse_bin(pow2(40) * 0.999_999), COARSE_TOP - 1);
    }

    /// Values spread over every binade, the end bins and the bins' own edges.
    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            (-25i32..45, 0.0f64..1.0).prop_map(|(e, m)| pow2(e) * (1.0 + m)),
            (0i32..=COARSE_TOP, any::<bool>()).prop_map(|(k, hi)| {
                let (a, b) = coarse_range(k);
                if hi {
                    b.unwrap_or(f64::MAX)
                } else {
                    a.unwrap_or(-1.0)
                }
            }),
            (0.0f64..200_000.0).prop_map(|v| v.round()),
            Just(0.0),
            Just(-1.0),
        ]
    }

    proptest! {
        #[test]
        fn a_value_lies_in_its_bins_ranges(v in value()) {
            let k = coarse_bin(v);
            prop_assert!(in_range(v, coarse_range(k)), "{v} not in coarse {k} {:?}", coarse_range(k));
            let f = i64::from(fine_bin(v));
            prop_assert_eq!(f.div_euclid(FINE_PER_COARSE), i64::from(k));
            prop_assert!(in_range(v, fine_range(f)), "{v} not in fine {f} {:?}", fine_range(f));
        }

        #[test]
        fn bins_grow_with_the_value(a in value(), b in value()) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(fine_bin(lo) <= fine_bin(hi));
        }
    }

    /// DuckDB computes the same fine bin from the SQL as Rust does from the bits.
    #[test]
    fn sql_fine_bins_match_rust() -> Result<(), Box<dyn std::error::Error>> {
        let conn = duckdb::Connection::open_in_memory()?;
        let mut rng = proptest::test_runner::TestRunner::deterministic();
        let mut values: Vec<f64> = (0..3000)
            .map(|_| value().new_tree(&mut rng).map(|t| t.current()))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        values.extend([1.0, 1000.0, 999.999, 1e-7, 0.0, 3.5e11]);
        for v in values {
            let k = coarse_bin(v);
            let sql = format!(
                "SELECT {}, {} FROM (SELECT {} AS v)",
                fine_bin_sql("v"),
                range_sql("v", coarse_range(k)),
                lit(v)
            );
            let (f, inside): (i64, bool) = conn.query_row(&sql, [], |r| Ok((r.get(0)?, r.get(1)?)))?;
            assert_eq!(f, i64::from(fine_bin(v)), "fine bin of {v:?} (coarse {k})");
            assert!(inside, "{v:?} outside coarse {k} in SQL");
            let inside_fine: bool = conn.query_row(
                &format!("SELECT {} FROM (SELECT {} AS v)", range_sql("v", fine_range(f)), lit(v)),
                [],
                |r| r.get(0),
            )?;
            assert!(inside_fine, "{v:?} outside fine {f} in SQL");
        }
        Ok(())
    }
}
