//! The overview from the rollups against the same overview from the calls themselves.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use llmscope_core::store::{overview_by_groups, CallSink, GroupStats, Overview, TzShift};
use llmscope_core::timeparse::offset_segments;
use llmscope_core::{Call, CallFilter, CallStatus, TokenUsage};
use proptest::prelude::*;

use super::{overview, DuckStore};

pub(super) fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_736_121_600, 0).unwrap_or_default() // 2025-01-06 00:00 UTC
}

/// One random call: times over three days, a few models (or none), latencies with repeats,
/// zeros and gaps, every status, empty outputs and missing token counts.
fn arb_call() -> impl Strategy<Value = Call> {
    (
        (0i64..3 * 86_400_000, prop::option::of(0usize..3), 0u8..10, 0u8..3),
        (
            prop_oneof![
                Just(None),
                (0u32..4000).prop_map(|v| Some(f64::from(v))),
                (0.0f64..90_000.0).prop_map(Some),
                Just(Some(0.0))
            ],
            prop_oneof![Just(None), (0u32..500).prop_map(|v| Some(f64::from(v))), (0.0f64..3000.0).prop_map(Some)],
        ),
        (prop::option::of(0u64..2000), prop::option::of(0u64..2000), prop::option::of(0u64..50)),
        (any::<bool>(), any::<bool>(), prop::option::of(0u8..4)),
    )
        .prop_map(|((ms, model, status, out), (latency, ttft), (tin, tout, cached), (json, counted, user))| Call {
            id: String::new(),
            // (A second project now and then, which a filter may name.)
            project: if ms % 7 == 0 { "other" } else { "default" }.into(),
            start_time: t0() + Duration::milliseconds(ms),
            latency_ms: latency,
            ttft_ms: ttft,
            model: model.map(|m| ["gpt-4o-mini", "qwen2.5-7b-instruct", "deepseek-chat"][m].to_string()),
            user_id: user.map(|u| format!("u{u}")),
            status: match status {
                0 => CallStatus::Error,
                1 => CallStatus::Cancelled,
                _ => CallStatus::Ok,
            },
            output: match out {
                0 => None,
                1 => Some("  ".into()),
                _ => Some("an answer".into()),
            },
            // (Some calls wrote a third of their input to the prompt cache.)
            usage: TokenUsage {
                input: tin,
                output: tout,
                cached,
                cache_write: tin.filter(|t| t % 3 == 0).map(|t| t / 3),
                counted,
                ..Default::default()
            },
            json_mode: json,
            ..Default::default()
        })
}

pub(super) fn with_ids(mut calls: Vec<Call>) -> Vec<Call> {
    for (i, c) in calls.iter_mut().enumerate() {
        c.id = format!("{i:032x}");
        c.trace_id = format!("{:032x}", i + 1);
        c.span_id = format!("{i:016x}");
    }
    calls
}

/// `n` values of a strategy, the same on every run.
pub(super) fn sample<T: std::fmt::Debug>(s: impl Strategy<Value = T>, n: usize) -> Result<Vec<T>, String> {
    let mut rng = proptest::test_runner::TestRunner::deterministic();
    (0..n)
        .map(|_| s.new_tree(&mut rng).map(|t| proptest::strategy::ValueTree::current(&t)).map_err(|e| e.to_string()))
        .collect()
}

/// Appends the calls in three parts (cut at `cuts`), after each rolling up everything
/// (`Some(None)`), all but the quarter hours from a time on (`Some(Some(ms))`: still live),
/// or nothing, so that rollup rows, dirty quarter hours and window edges mix.
pub(super) fn append_in_parts(
    s: &DuckStore,
    calls: &[Call],
    cuts: (usize, usize),
    rolls: [Option<Option<i64>>; 3],
) -> Result<(), llmscope_core::store::StoreError> {
    let (a, b) = (cuts.0.min(cuts.1).min(calls.len()), cuts.0.max(cuts.1).min(calls.len()));
    for (part, roll) in [&calls[..a], &calls[a..b], &calls[b..]].into_iter().zip(rolls) {
        s.append_calls(part)?;
        if let Some(cut) = roll {
            s.roll_up(cut.map(|ms| t0() + Duration::milliseconds(ms)..t0() + Duration::days(4)))?;
        }
    }
    Ok(())
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
        (None, None) => true,
        _ => false,
    }
}

/// Equal, floats up to summation order.
fn same_stats(a: &GroupStats, b: &GroupStats) -> Result<(), String> {
    let floats = [
        ("latency_avg", a.latency_avg, b.latency_avg),
        ("latency_p50", a.latency_p50, b.latency_p50),
        ("latency_p90", a.latency_p90, b.latency_p90),
        ("latency_p95", a.latency_p95, b.latency_p95),
        ("latency_p99", a.latency_p99, b.latency_p99),
        ("latency_max", a.latency_max, b.latency_max),
        ("ttft_avg", a.ttft_avg, b.ttft_avg),
        ("ttft_p50", a.ttft_p50, b.ttft_p50),
        ("ttft_p95", a.ttft_p95, b.ttft_p95),
        ("ttft_p99", a.ttft_p99, b.ttft_p99),
        ("tokens_per_s_avg", a.tokens_per_s_avg, b.tokens_per_s_avg),
    ];
    for (name, x, y) in floats {
        if !close(x, y) {
            return Err(format!("group {:?}: {name} {x:?} against {y:?}", a.key));
        }
    }
    let blank = |g: &GroupStats| GroupStats {
        latency_avg: None,
        latency_p50: None,
        latency_p90: None,
        latency_p95: None,
        latency_p99: None,
        latency_max: None,
        ttft_avg: None,
        ttft_p50: None,
        ttft_p95: None,
        ttft_p99: None,
        tokens_per_s_avg: None,
        ..g.clone()
    };
    if blank(a) != blank(b) {
        return Err(format!("{:?}\nagainst\n{:?}", blank(a), blank(b)));
    }
    Ok(())
}

fn same(a: &Overview, b: &Overview) -> Result<(), String> {
    same_stats(&a.all, &b.all)?;
    for (x, y) in [(&a.by_model, &b.by_model), (&a.by_day, &b.by_day), (&a.weekday_hour, &b.weekday_hour)] {
        if x.len() != y.len() {
            return Err(format!("{} groups against {}: {x:?} / {y:?}", x.len(), y.len()));
        }
        for (g, h) in x.iter().zip(y) {
            same_stats(g, h)?;
        }
    }
    Ok(())
}

const ZONES: [Tz; 5] =
    [Tz::UTC, Tz::Asia__Kolkata, Tz::Asia__Kathmandu, Tz::America__New_York, Tz::Australia__Lord_Howe];

fn tz_shift(tz: Tz, f: &CallFilter) -> TzShift {
    let a = f.since.unwrap_or(t0() - Duration::days(1));
    let b = f.until.unwrap_or(t0() + Duration::days(5));
    offset_segments(tz, a, b.max(a + Duration::seconds(1)))
}

/// How the rollups read a window (the store falls back to the calls when they cannot).
fn plan_of(s: &DuckStore, f: &CallFilter) -> overview::Plan {
    match s.with_conn(|c| overview::plan(c, f)) {
        Ok(Some(p)) => p,
        Ok(None) => panic!("too many dirty quarter hours for {f:?}"),
        Err(e) => panic!("rollup plan: {e}"),
    }
}

/// The rollup path itself.
fn from_rollups(s: &DuckStore, f: &CallFilter, tz: &TzShift) -> Overview {
    assert!(overview::eligible(f, tz), "the rollups should answer {f:?} under {tz:?}");
    let plan = plan_of(s, f);
    match s.with_conn(|c| overview::overview(c, f, &plan, tz)) {
        Ok(o) => o,
        Err(e) => panic!("rollup overview: {e}"),
    }
}

fn dirty_count(s: &DuckStore) -> i64 {
    s.with_conn(|c| c.query_row("SELECT count(*) FROM rollup_dirty", [], |r| r.get(0)).map_err(super::db_err))
        .unwrap_or(-1)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Any calls, appended in up to three batches (so rollup rows are added to), any window
    /// (edges off the quarter hours included) and zones with 30- and 45-minute offsets and
    /// daylight saving: the rollups give the overview the calls give.
    #[test]
    fn the_rollups_give_the_overview_the_calls_give(
        calls in prop::collection::vec(arb_call(), 1..160),
        cuts in (0usize..160, 0usize..160),
        since in prop::option::of(-3_600_000i64..3 * 86_400_000),
        span in prop::option::of(1i64..3 * 86_400_000),
        // (UTC half the time: the days' value bins are read under UTC only.)
        zone in prop_oneof![Just(0usize), 0usize..ZONES.len()],
        models in prop::option::of(0usize..3),
        width in (prop_oneof![Just(100.0f64), Just(250.0), Just(0.5), Just(1000.0)], 1u32..30),
        rolls in prop::array::uniform3(prop::option::of(prop::option::of(0i64..3 * 86_400_000))),
        project in prop::option::of(any::<bool>()),
    ) {
        let calls = with_ids(calls);
        let s = DuckStore::open_in_memory().map_err(|e| TestCaseError::fail(e.to_string()))?;
        append_in_parts(&s, &calls, cuts, rolls).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if rolls[2] == Some(None) {
            prop_assert_eq!(dirty_count(&s), 0);
        }
        let since_t = since.map(|ms| t0() + Duration::milliseconds(ms));
        let f = CallFilter {
            since: since_t,
            until: span.map(|ms| since_t.unwrap_or(t0()) + Duration::milliseconds(ms)),
            models: models.map(|m| vec![["gpt-4o-mini", "qwen2.5-7b-instruct", "deepseek-chat"][m].to_string()]).unwrap_or_default(),
            project: project.map(|o| if o { "other" } else { "default" }.to_string()),
            ..CallFilter::default()
        };
        let fail = |e: llmscope_core::store::StoreError| TestCaseError::fail(e.to_string());
        if s.with_conn(|c| overview::plan(c, &f)).map_err(fail)?.is_none() {
            // Too many dirty quarter hours for the rollups: the store reads the calls. Then
            // everything is rolled up and the rollups are tested.
            let tz = tz_shift(ZONES[zone], &f);
            let raw = overview_by_groups(&s, &f, &tz).map_err(fail)?;
            let public = llmscope_core::store::Analytics::overview(&s, &f, &tz).map_err(fail)?;
            prop_assert!(same(&public, &raw).is_ok(), "{}", same(&public, &raw).err().unwrap_or_default());
            s.roll_up(None).map_err(fail)?;
        }
        let in_project = |c: &Call| f.project.as_ref().is_none_or(|p| &c.project == p);
        let inside: Vec<DateTime<Utc>> = calls
            .iter()
            .filter(|c| in_project(c))
            .filter(|c| f.since.is_none_or(|t| c.start_time >= t) && f.until.is_none_or(|t| c.start_time < t))
            .filter(|c| f.models.is_empty() || c.model.as_ref().is_some_and(|m| f.models.contains(m)))
            .map(|c| c.start_time)
            .collect();
        let expected = inside.iter().min().copied().zip(inside.iter().max().copied());
        let plan = plan_of(&s, &f);
        let range = s.with_conn(|c| overview::time_range(c, &plan)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(range, expected);
        // The latency histogram and the slowest calls, against the calls themselves.
        let lat: Vec<f64> = calls
            .iter()
            .filter(|c| in_project(c) && inside.contains(&c.start_time) && (f.models.is_empty() || c.model.as_ref().is_some_and(|m| f.models.contains(m))))
            .filter_map(|c| c.latency_ms)
            .collect();
        for edges in [vec![0.0, 2000.0], (0..=width.1).map(|i| f64::from(i) * width.0).collect::<Vec<_>>()] {
            let hist = s.with_conn(|c| super::latency::histogram(c, &f, &edges)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            for (i, b) in hist.iter().enumerate() {
                let want = lat.iter().filter(|&&v| v >= edges[i] && edges.get(i + 1).is_none_or(|&hi| v < hi)).count() as u64;
                prop_assert_eq!(b.count, want, "bucket {} of {:?}", i, edges);
            }
        }
        let n = 1 + width.1 as usize;
        let floor = s.with_conn(|c| super::latency::slowest_floor(c, &f, n)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut sorted = lat.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        if let (Some(floor), Some(nth)) = (floor, sorted.get(n - 1)) {
            let nth_bin = i64::from(super::bins::fine_bin(*nth));
            prop_assert!(floor <= nth_bin, "floor bin {} above the {}th slowest's {} ({})", floor, n, nth_bin, nth);
        }
        let tz = tz_shift(ZONES[zone], &f);
        let raw = overview_by_groups(&s, &f, &tz).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let rolled = from_rollups(&s, &f, &tz);
        prop_assert!(same(&rolled, &raw).is_ok(), "{}", same(&rolled, &raw).err().unwrap_or_default());
    }
}

/// A store whose calls predate the rollups gets them when it is migrated: its overview is
/// the one a store that kept them from the start gives.
#[test]
fn migrating_builds_the_rollups_from_the_stored_calls() -> Result<(), Box<dyn std::error::Error>> {
    let calls = with_ids(sample(arb_call(), 3000)?);
    // Before migration 6, a cache-write count was kept as Anthropic's attribute.
    let as_stored_then: Vec<Call> = calls
        .iter()
        .cloned()
        .map(|mut c| {
            if let Some(n) = c.usage.cache_write.take() {
                c.attributes.insert("cache_creation_input_tokens".into(), n.into());
            }
            c
        })
        .collect();
    assert!(as_stored_then.iter().filter(|c| c.attributes.contains_key("cache_creation_input_tokens")).count() > 100);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("llmscope.duckdb");
    {
        let conn = duckdb::Connection::open(&path)?;
        super::migrations::migrate_to(&conn, &path, 2)?;
        let mut app = conn.appender("calls")?;
        app.append_record_batch(super::tests::batch_before_bins(&as_stored_then)?)?;
    }
    let migrated = DuckStore::open_file(&path)?;
    assert_eq!(dirty_count(&migrated), 0, "the migration leaves nothing to roll up");
    let kept = DuckStore::open_in_memory()?;
    kept.append_calls(&calls)?;
    assert!(dirty_count(&kept) > 100);
    assert!(kept.roll_up(None)? > 100);
    assert_eq!(dirty_count(&kept), 0);
    for (zone, f) in [
        (Tz::UTC, CallFilter::default()),
        (Tz::Asia__Kolkata, CallFilter::window(Some(t0() + Duration::minutes(100)), Some(t0() + Duration::hours(50)))),
    ] {
        let tz = tz_shift(zone, &f);
        let (a, b) = (from_rollups(&migrated, &f, &tz), from_rollups(&kept, &f, &tz));
        same(&a, &b)?;
        same(&a, &overview_by_groups(&migrated, &f, &tz)?)?;
        assert_eq!(a.all.requests, if f.since.is_none() { 3000 } else { a.all.requests });
    }
    let rows: i64 = migrated
        .with_conn(|c| c.query_row("SELECT count(*) FROM call_rollup", [], |r| r.get(0)).map_err(super::db_err))?;
    assert!(rows > 100, "the migration left {rows} rollup rows");
    // The days' value bins, as a full roll-up leaves them.
    type DayBin = (i64, String, u8, i32, i64);
    let bins = |s: &DuckStore| -> Result<Vec<DayBin>, llmscope_core::store::StoreError> {
        s.with_conn(|c| {
            super::query_rows(c, "SELECT day_us, model, metric, bin, n FROM day_bins ORDER BY ALL", &[], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
        })
    };
    let (a, b) = (bins(&migrated)?, bins(&kept)?);
    assert!(a.len() > 100, "the migration left {} day bins", a.len());
    assert_eq!(a, b);
    Ok(())
}
