//! The fine value bins of whole days against the same bins computed here, call by call.

use std::collections::BTreeMap;

use chrono::Duration;
use llmscope_core::store::CallSink;
use llmscope_core::{Call, CallFilter};
use proptest::prelude::*;

use super::bins::fine_bin;
use super::day_bins::{self, Range, Split, DAY_US};
use super::overview_tests::{append_in_parts, t0, with_ids};
use super::sessions_tests::{arb_call, window_filter};
use super::{query_rows, DuckStore};

const DAY_MS: i64 = 86_400_000;

/// (project, day, model, metric, fine bin) → (values, least, greatest as bits, NaN greatest).
type Bins = BTreeMap<(String, i64, String, u8, i64), (i64, u64, u64)>;

fn add(bins: &mut Bins, key: (String, i64, String, u8, i64), v: f64) {
    let e = bins.entry(key).or_insert((0, v.to_bits(), v.to_bits()));
    let (lo, hi) = (f64::from_bits(e.1), f64::from_bits(e.2));
    let least = if v.is_nan() || lo <= v { lo } else { v };
    let greatest = if hi.is_nan() || v.is_nan() { f64::NAN } else { hi.max(v) };
    *e = (e.0 + 1, least.to_bits(), greatest.to_bits());
}

fn within(us: i64, (lo, hi): Range) -> bool {
    lo.is_none_or(|lo| us >= lo) && hi.is_none_or(|hi| us < hi)
}

/// The ranges of a split, in order, tile the window exactly.
fn tiles(split: &Split, window: Range) -> Result<(), String> {
    let mut all: Vec<Range> = split.days.iter().chain(&split.calls).copied().collect();
    all.sort_by_key(|r| r.0.unwrap_or(i64::MIN));
    let mut at = window.0;
    for r in &all {
        if r.0 != at {
            return Err(format!("{all:?} does not tile {window:?} at {at:?}"));
        }
        if r.0.zip(r.1).is_some_and(|(a, b)| a >= b) {
            return Err(format!("an empty range in {all:?}"));
        }
        at = r.1;
        if at.is_none() && !std::ptr::eq(r, all.last().unwrap_or(r)) {
            return Err(format!("an open range before the last in {all:?}"));
        }
    }
    if at != window.1 && !all.is_empty() {
        return Err(format!("{all:?} ends at {at:?}, not at the window's end {:?}", window.1));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Any calls, appended in parts with roll-ups of everything or of all but a live span in
    /// between, and any window and project: the split tiles the window, and every day it
    /// reads from `day_bins` holds exactly the fine bins of its calls.
    #[test]
    fn the_days_read_from_day_bins_hold_exactly_their_calls(
        calls in prop::collection::vec(arb_call(), 1..120),
        cuts in (0usize..120, 0usize..120),
        since in prop::option::of(-3_600_000i64..3 * DAY_MS),
        span in prop::option::of(0i64..3 * DAY_MS),
        project in prop::option::of(any::<bool>()),
        rolls in prop::array::uniform3(prop::option::of(prop::option::of(0i64..3 * DAY_MS))),
    ) {
        let fail = |e: llmscope_core::store::StoreError| TestCaseError::fail(e.to_string());
        let calls = with_ids(calls);
        let s = DuckStore::open_in_memory().map_err(fail)?;
        append_in_parts(&s, &calls, cuts, rolls).map_err(fail)?;
        let f = window_filter(since, span, project);
        let window: Range = (f.since.map(|t| t.timestamp_micros()), f.until.map(|t| t.timestamp_micros()));
        let split = s.with_conn(|c| day_bins::split(c, &f)).map_err(fail)?;
        prop_assert!(tiles(&split, window).is_ok(), "{}", tiles(&split, window).err().unwrap_or_default());
        for r in &split.days {
            prop_assert!(r.0.is_none_or(|lo| lo % DAY_US == 0) && r.1.is_none_or(|hi| hi % DAY_US == 0), "{:?}", r);
        }
        let read = |us: i64| split.days.iter().any(|r| within(us, *r));
        let mut want = Bins::new();
        for c in &calls {
            let us = c.start_time.timestamp_micros();
            if !read(us) || f.project.as_ref().is_some_and(|p| p != &c.project) {
                continue;
            }
            let model = c.model.clone().unwrap_or_default();
            for (metric, v) in [(0u8, c.latency_ms), (1, c.ttft_ms)] {
                if let Some(v) = v {
                    add(&mut want, (c.project.clone(), day_bins::day_of(us), model.clone(), metric, i64::from(fine_bin(v))), v);
                }
            }
        }
        let rows = s
            .with_conn(|c| {
                query_rows(c, "SELECT project, day_us, model, metric, bin, n, lo, hi FROM day_bins", &[], |r| {
                    Ok(((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?), (r.get(5)?, r.get::<_, f64>(6)?, r.get::<_, f64>(7)?)))
                })
            })
            .map_err(fail)?;
        let mut got = Bins::new();
        for ((p, day, m, metric, bin), (n, lo, hi)) in rows {
            let key: (String, i64, String, u8, i64) = (p, day, m, metric, bin);
            if read(key.1) && f.project.as_ref().is_none_or(|fp| fp == &key.0) {
                prop_assert!(got.insert(key.clone(), (n, lo.to_bits(), hi.to_bits())).is_none(), "two rows for {:?}", key);
            }
        }
        prop_assert_eq!(got, want);
    }
}

/// A call appended to a day already rebuilt takes that day out of `day_bins`' reach until a
/// roll-up after it rebuilds the day; a live day is never read.
#[test]
fn a_late_call_takes_its_day_out_until_the_next_roll_up() -> Result<(), Box<dyn std::error::Error>> {
    let s = DuckStore::open_in_memory()?;
    let at =
        |ms: i64| Call { start_time: t0() + Duration::milliseconds(ms), latency_ms: Some(100.0), ..Call::default() };
    let calls = with_ids(vec![at(1_000), at(DAY_MS + 1_000), at(2 * DAY_MS + 1_000)]);
    s.append_calls(&calls)?;
    // The third day is live: the first two are rebuilt, the third is not read.
    s.roll_up(Some(t0() + Duration::milliseconds(2 * DAY_MS + 500)..t0() + Duration::days(4)))?;
    let f = CallFilter::default();
    let days = |s: &DuckStore| s.with_conn(|c| day_bins::split(c, &f)).map(|sp| sp.days);
    let d = |n: i64| Some(t0().timestamp_micros() + n * DAY_US);
    assert_eq!(days(&s)?, vec![(None, d(2)), (d(3), None)]);
    // A late call on the first day: out until the next roll-up, which brings it in.
    let mut late = with_ids(vec![at(5_000)]);
    late[0].id = "late".into();
    s.append_calls(&late)?;
    assert_eq!(days(&s)?, vec![(None, d(0)), (d(1), d(2)), (d(3), None)]);
    s.roll_up(None)?;
    assert_eq!(days(&s)?, vec![(None, None)]);
    let n: i64 = s.with_conn(|c| {
        c.query_row("SELECT sum(n) FROM day_bins WHERE metric = 0", [], |r| r.get(0)).map_err(super::db_err)
    })?;
    assert_eq!(n, 4);
    Ok(())
}
