//! Axis maths and number formatting: "nice" 1-2-5 ticks and compact numbers
//! (`1.2k`, `3.4M`) for tick labels, data labels and legends.

/// Values beyond this magnitude are clamped, so that every difference and
/// ratio computed while laying out a chart stays finite.
pub(crate) const MAX_ABS: f64 = 1e300;

/// Turns a raw input value into a plottable one: NaN and infinities are
/// missing, huge finite values are clamped to ±[`MAX_ABS`].
pub(crate) fn sanitize(v: f64) -> Option<f64> {
    v.is_finite().then(|| v.clamp(-MAX_ABS, MAX_ABS))
}

/// A "nice" step (1, 2 or 5 times a power of ten) that cuts `span` into at
/// most about `target` intervals.
pub(crate) fn nice_step(span: f64, target: usize) -> f64 {
    let raw = span / target.max(1) as f64;
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    if !(mag.is_finite() && mag > 0.0) {
        return 1.0;
    }
    let norm = raw / mag;
    // The tolerance keeps 0.2 (stored as 0.2000000000000004 after the
    // division) from jumping to the next step.
    let nice = if norm <= 1.0 + 1e-9 {
        1.0
    } else if norm <= 2.0 + 1e-9 {
        2.0
    } else if norm <= 5.0 + 1e-9 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// Tick values covering `[lo, hi]` with a 1-2-5 step, about `target`
/// intervals, first tick ≤ `lo` and last tick ≥ `hi`. Always at least two
/// ticks, in increasing order; degenerate or non-finite bounds give a
/// sensible axis instead of panicking.
pub(crate) fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let lo = sanitize(lo).unwrap_or(0.0);
    let hi = sanitize(hi).unwrap_or(0.0);
    let (mut lo, mut hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    let magnitude = lo.abs().max(hi.abs());
    if magnitude < 1e-200 {
        (lo, hi) = (0.0, 1.0);
    } else if hi - lo < 1e-9 * magnitude {
        let pad = magnitude * 0.5;
        (lo, hi) = (lo - pad, hi + pad);
    }
    let step = nice_step(hi - lo, target);
    let k0 = (lo / step + 1e-9).floor();
    let mut k1 = (hi / step - 1e-9).ceil();
    if k1 <= k0 {
        k1 = k0 + 1.0;
    }
    let count = k1 - k0;
    if !(step.is_finite() && step > 0.0 && count.is_finite() && count <= 100.0) {
        return vec![lo, hi];
    }
    (0..=count as usize)
        .map(|i| {
            let v = (k0 + i as f64) * step;
            // No "-0" label.
            if v == 0.0 {
                0.0
            } else {
                v
            }
        })
        .collect()
}

const UNITS: [(f64, &str); 4] = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")];

/// Formats `v` with `decimals` decimals, then drops trailing zeros.
fn fixed(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_owned() } else { s };
    if s == "-0" {
        "0".to_owned()
    } else {
        s
    }
}

/// A tick label: compact like [`format_compact`], but with exactly enough
/// decimals for neighbouring ticks `step` apart to read differently.
pub(crate) fn format_tick(v: f64, step: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let a = v.abs();
    if a < 1e-12 * step.abs().max(1e-300) || a == 0.0 {
        return "0".to_owned();
    }
    if a >= 1e15 {
        return format!("{v:.1e}");
    }
    let (unit, suffix) = UNITS.iter().copied().find(|(u, _)| a >= *u).unwrap_or((1.0, ""));
    let rel = step.abs() / unit;
    let decimals = if rel.is_finite() && rel > 0.0 && rel < 1.0 {
        ((-rel.log10() - 1e-9).ceil().max(0.0) as usize).min(10)
    } else {
        0
    };
    format!("{}{suffix}", fixed(v / unit, decimals))
}

/// A short human number: `7`, `12.5`, `0.042`, `1.2k`, `12.3k`, `123k`,
/// `3.4M`. Non-finite values read as `–`.
pub(crate) fn format_compact(v: f64) -> String {
    if !v.is_finite() {
        return "–".to_owned();
    }
    let a = v.abs();
    if a >= 1e15 {
        return format!("{v:.1e}");
    }
    if a < 1000.0 {
        if a == 0.0 || a == a.trunc() {
            return fixed(v, 0);
        }
        let decimals = if a >= 100.0 {
            0
        } else if a >= 10.0 {
            1
        } else if a >= 1.0 {
            2
        } else if a >= 0.001 {
            3
        } else {
            return format!("{v:.1e}");
        };
        return fixed(v, decimals);
    }
    // Largest unit first; step up when rounding reaches 1000 (999_999 → 1M).
    let mut idx = UNITS.iter().position(|(u, _)| a >= *u).unwrap_or(3);
    loop {
        let (unit, suffix) = UNITS[idx];
        let scaled = a / unit;
        let decimals = if scaled < 99.95 { 1 } else { 0 };
        let factor = if decimals == 1 { 10.0 } else { 1.0 };
        let rounded = (scaled * factor).round() / factor;
        if rounded >= 1000.0 && idx > 0 {
            idx -= 1;
            continue;
        }
        let sign = if v < 0.0 { "-" } else { "" };
        return format!("{sign}{}{suffix}", fixed(rounded, decimals));
    }
}

/// A share of a whole (`fraction` in 0..=1) as a percentage: `42.3%`,
/// `<0.1%`.
pub(crate) fn format_percent(fraction: f64) -> String {
    if !fraction.is_finite() {
        return "–".to_owned();
    }
    let pct = fraction * 100.0;
    if pct > 0.0 && pct < 0.05 {
        "<0.1%".to_owned()
    } else {
        format!("{pct:.1}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_ticks(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len(), "ticks {got:?}, wanted {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 1e-9 * w.abs().max(1.0), "{got:?} vs {want:?}");
        }
    }

    #[test]
    fn nice_ticks_hand_computed() {
        // 87 / 5 = 17.4 → 2 × 10 → step 20.
        assert_ticks(&nice_ticks(0.0, 87.0, 5), &[0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        // 1 / 5 = 0.2 → step 0.2 exactly (not 0.5).
        assert_ticks(&nice_ticks(0.0, 1.0, 5), &[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        // 10 / 5 = 2 → step 2; -3 floors to -4, 7 ceils to 8.
        assert_ticks(&nice_ticks(-3.0, 7.0, 5), &[-4.0, -2.0, 0.0, 2.0, 4.0, 6.0, 8.0]);
        // 12345 / 5 = 2469 → 5 × 1000.
        assert_ticks(&nice_ticks(0.0, 12345.0, 5), &[0.0, 5000.0, 10000.0, 15000.0]);
        // 100 / 5 = 20 exactly: the top tick is 100, not 120.
        assert_ticks(&nice_ticks(0.0, 100.0, 5), &[0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        // 0.03 / 5 = 0.006 → 1 × 0.01 → step 0.01.
        assert_ticks(&nice_ticks(0.0, 0.03, 5), &[0.0, 0.01, 0.02, 0.03]);
        // Reversed bounds are swapped.
        assert_ticks(&nice_ticks(50.0, 0.0, 5), &[0.0, 10.0, 20.0, 30.0, 40.0, 50.0]);
    }

    #[test]
    fn nice_ticks_degenerate_inputs() {
        assert_ticks(&nice_ticks(0.0, 0.0, 5), &[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_ticks(&nice_ticks(f64::NAN, f64::INFINITY, 5), &[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        // 5..5 widens to 2.5..7.5: span 5 → step 1.
        assert_ticks(&nice_ticks(5.0, 5.0, 5), &[2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        let huge = nice_ticks(-f64::MAX, f64::MAX, 5);
        assert!(huge.len() >= 2 && huge.iter().all(|t| t.is_finite()));
        assert!(huge.windows(2).all(|w| w[0] < w[1]));
        assert!(nice_ticks(0.0, 1e-310, 5).len() >= 2);
    }

    #[test]
    fn nice_step_values() {
        assert_eq!(nice_step(10.0, 5), 2.0);
        assert_eq!(nice_step(30.0, 5), 10.0);
        assert_eq!(nice_step(24.0, 5), 5.0);
        assert_eq!(nice_step(f64::NAN, 5), 1.0);
        assert_eq!(nice_step(0.0, 5), 1.0);
    }

    #[test]
    fn tick_labels() {
        assert_eq!(format_tick(0.0, 20.0), "0");
        assert_eq!(format_tick(-0.0, 20.0), "0");
        assert_eq!(format_tick(80.0, 20.0), "80");
        assert_eq!(format_tick(2500.0, 500.0), "2.5k");
        assert_eq!(format_tick(10000.0, 5000.0), "10k");
        assert_eq!(format_tick(1_002_000.0, 2000.0), "1.002M");
        assert_eq!(format_tick(0.6000000000000001, 0.2), "0.6");
        assert_eq!(format_tick(0.03, 0.01), "0.03");
        assert_eq!(format_tick(-4.0, 2.0), "-4");
        // Neighbouring ticks never read the same.
        let ticks = nice_ticks(0.0, 1234.0, 5);
        let step = ticks[1] - ticks[0];
        let labels: Vec<_> = ticks.iter().map(|&t| format_tick(t, step)).collect();
        assert_eq!(labels, ["0", "500", "1k", "1.5k"]);
    }

    #[test]
    fn compact_numbers() {
        assert_eq!(format_compact(0.0), "0");
        assert_eq!(format_compact(7.0), "7");
        assert_eq!(format_compact(12.54), "12.5");
        assert_eq!(format_compact(4.5678), "4.57");
        assert_eq!(format_compact(0.0421), "0.042");
        assert_eq!(format_compact(456.7), "457");
        assert_eq!(format_compact(1234.0), "1.2k");
        assert_eq!(format_compact(12_345.0), "12.3k");
        assert_eq!(format_compact(123_456.0), "123k");
        assert_eq!(format_compact(999_999.0), "1M");
        assert_eq!(format_compact(3_400_000.0), "3.4M");
        assert_eq!(format_compact(-2_000.0), "-2k");
        assert_eq!(format_compact(5e9), "5B");
        assert_eq!(format_compact(f64::NAN), "–");
        assert_eq!(format_compact(2e15), "2.0e15");
    }

    #[test]
    fn percentages() {
        assert_eq!(format_percent(0.4234), "42.3%");
        assert_eq!(format_percent(1.0), "100.0%");
        assert_eq!(format_percent(0.0001), "<0.1%");
        assert_eq!(format_percent(0.0), "0.0%");
    }

    #[test]
    fn sanitize_values() {
        assert_eq!(sanitize(f64::NAN), None);
        assert_eq!(sanitize(f64::NEG_INFINITY), None);
        assert_eq!(sanitize(-f64::MAX), Some(-MAX_ABS));
        assert_eq!(sanitize(2.5), Some(2.5));
    }
}
