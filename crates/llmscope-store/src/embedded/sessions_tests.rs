//! The sessions summary from the session rollup against the same summary computed here,
//! call by call.

use std::collections::BTreeMap;

use chrono::Duration;
use llmscope_core::store::{
    Analytics, CallOrder, CallSink, GroupKey, GroupStats, Measures, SessionSummary, StoreError,
};
use llmscope_core::{stats, Call, CallFilter};
use proptest::prelude::*;

use super::overview_tests::{append_in_parts, sample, t0, with_ids};
use super::{labels, overview, sessions, users, DuckStore};

const DAY_MS: i64 = 86_400_000;

/// One random call: two projects, a few session ids shared between them (or none), a few
/// users (or none; a session's calls may name several), starts over three days, ends
/// missing, after or even before the start; latencies with repeats (and NaN), TTFT, tokens
/// and every status, for the top users' sums.
pub(super) fn arb_call() -> impl Strategy<Value = Call> {
    (
        (0i64..3 * DAY_MS, prop::option::of(0u8..8), any::<bool>(), prop::option::of(-5_000i64..4_000_000)),
        (prop::option::of(0u8..4), prop::option::of(prop_oneof![0u32..5000, Just(120_000)]), any::<u8>()),
        (prop::option::of(0u32..800), prop::option::of(0u64..900), prop::option::of(0u64..900), 0u8..4),
        (prop::option::of(prop_oneof![Just(429u16), Just(500), Just(502)]), prop::option::of(0u8..3), 0u8..8),
    )
        .prop_map(
            |((ms, session, other, end), (user, latency, nan), (ttft, tin, tout, status), (code, kind, flags))| {
                // (Starts on whole minutes and quarter hours now and then, so that some calls
                // share one and some lie on a rollup row's edge.)
                let at = match ms % 15 {
                    0 => ms - ms % 900_000,
                    k if k % 3 == 0 => ms - ms % 60_000,
                    _ => ms,
                };
                let start_time = t0() + Duration::milliseconds(at);
                Call {
                    project: if other { "other" } else { "default" }.into(),
                    start_time,
                    end_time: end.map(|e| start_time + Duration::milliseconds(e)),
                    session_id: session.map(|s| format!("s{s}")),
                    user_id: user.map(|u| format!("u{u}")),
                    latency_ms: if nan == 0 { Some(f64::NAN) } else { latency.map(f64::from) },
                    ttft_ms: ttft.map(f64::from),
                    usage: llmscope_core::TokenUsage { input: tin, output: tout, ..Default::default() },
                    status: match status {
                        0 => llmscope_core::CallStatus::Error,
                        1 => llmscope_core::CallStatus::Cancelled,
                        _ => llmscope_core::CallStatus::Ok,
                    },
                    output: (status == 3).then(|| "an answer".to_string()),
                    status_code: code,
                    error_kind: kind.map(|k| ["timeout", "rate_limited", "upstream_error"][usize::from(k)].to_string()),
                    flags: ["empty_response", "pii", "json_invalid"]
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| flags & (1 << i) != 0)
                        .map(|(_, f)| f.to_string())
                        .collect(),
                    model: Some("m".into()),
                    ..Default::default()
                }
            },
        )
}

/// A window starting `since` ms after `t0` (open without), `span` ms long (open without),
/// and one of the two projects or both.
pub(super) fn window_filter(since: Option<i64>, span: Option<i64>, project: Option<bool>) -> CallFilter {
    let since_t = since.map(|ms| t0() + Duration::milliseconds(ms));
    CallFilter {
        project: project.map(|o| if o { "other" } else { "default" }.to_string()),
        since: since_t,
        until: span.map(|ms| since_t.unwrap_or(t0()) + Duration::milliseconds(ms)),
        ..CallFilter::default()
    }
}

/// The calls matching `f` (project and window).
fn matching<'a>(calls: &'a [Call], f: &CallFilter) -> Vec<&'a Call> {
    calls
        .iter()
        .filter(|c| f.project.as_ref().is_none_or(|p| &c.project == p))
        .filter(|c| f.since.is_none_or(|t| c.start_time >= t) && f.until.is_none_or(|t| c.start_time < t))
        .collect()
}

/// The sessions summary through the session rollup (`None`: too many dirty quarter hours).
fn rolled_summary(s: &DuckStore, f: &CallFilter) -> Result<Option<SessionSummary>, StoreError> {
    s.with_conn(|c| match sessions::plan(c, f)? {
        Some(plan) => sessions::summary(c, &plan),
        None => Ok(None),
    })
}

/// The top users through the rollups (`None`: too many dirty quarter hours).
fn rolled_users(s: &DuckStore, f: &CallFilter, limit: usize) -> Result<Option<Vec<GroupStats>>, StoreError> {
    s.with_conn(|c| match overview::plan(c, f)? {
        Some(plan) => users::top(c, f, &plan, USERS, limit),
        None => Ok(None),
    })
}

/// The report's top-users measures.
const USERS: Measures = Measures { distinct: true, ..Measures::BASIC };

/// The summary of the calls matching `f` (project and window), computed here.
fn expected(calls: &[Call], f: &CallFilter) -> SessionSummary {
    let inside = matching(calls, f);
    let mut by_session: BTreeMap<(&str, &str), (u64, i64, i64)> = BTreeMap::new();
    for c in &inside {
        let Some(s) = &c.session_id else { continue };
        let start = c.start_time.timestamp_micros();
        let end = c.end_time.unwrap_or(c.start_time).timestamp_micros();
        let e = by_session.entry((&c.project, s)).or_insert((0, start, end));
        e.0 += 1;
        e.1 = e.1.min(start);
        e.2 = e.2.max(end);
    }
    let n = by_session.len() as u64;
    let mut durations: Vec<f64> = by_session.values().map(|(_, a, b)| (b - a) as f64 / 1e6).collect();
    let mut turns: BTreeMap<u64, u64> = BTreeMap::new();
    for (t, _, _) in by_session.values() {
        *turns.entry(*t).or_default() += 1;
    }
    let counts: Vec<(f64, u64)> = turns.iter().map(|(t, c)| (*t as f64, *c)).collect();
    let avg = |sum: f64| (n > 0).then(|| sum / n as f64);
    let d = stats::quantiles(&mut durations, &[0.5, 0.95]);
    SessionSummary {
        sessions: n,
        turns_avg: avg(by_session.values().map(|v| v.0 as f64).sum()),
        turns_p50: stats::quantile_of_counts(&counts, 0.5),
        turns_max: turns.keys().next_back().copied().unwrap_or(0),
        duration_avg_s: avg(durations.iter().sum()),
        duration_p50_s: d[0],
        duration_p95_s: d[1],
        calls_without_session: inside.iter().filter(|c| c.session_id.is_none()).count() as u64,
    }
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
        (None, None) => true,
        _ => false,
    }
}

/// Equal; averages up to summation order and percentiles up to the rounding of their
/// interpolation (DuckDB's `quantile_cont` rounds it differently in the last place).
fn same(a: &SessionSummary, b: &SessionSummary) -> Result<(), String> {
    let blank = |s: &SessionSummary| SessionSummary {
        turns_avg: None,
        duration_avg_s: None,
        duration_p50_s: None,
        duration_p95_s: None,
        ..s.clone()
    };
    let floats = [
        (a.turns_avg, b.turns_avg),
        (a.duration_avg_s, b.duration_avg_s),
        (a.duration_p50_s, b.duration_p50_s),
        (a.duration_p95_s, b.duration_p95_s),
    ];
    if blank(a) != blank(b) || floats.iter().any(|(x, y)| !close(*x, *y)) {
        return Err(format!("{a:?}\nagainst\n{b:?}"));
    }
    Ok(())
}

fn rollup_rows(s: &DuckStore) -> i64 {
    s.with_conn(|c| c.query_row("SELECT count(*) FROM session_rollup", [], |r| r.get(0)).map_err(super::db_err))
        .unwrap_or(-1)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Any calls, appended in up to three batches with roll-ups of everything or of all but
    /// a live span in between, any window and project: the session rollup gives the summary
    /// the calls give, and so does the calls-only query.
    #[test]
    fn the_session_rollup_gives_the_summary_the_calls_give(
        calls in prop::collection::vec(arb_call(), 1..120),
        cuts in (0usize..120, 0usize..120),
        since in prop::option::of(-3_600_000i64..3 * DAY_MS),
        span in prop::option::of(0i64..3 * DAY_MS),
        project in prop::option::of(any::<bool>()),
        rolls in prop::array::uniform3(prop::option::of(prop::option::of(0i64..3 * DAY_MS))),
        limit in 1usize..6,
    ) {
        let calls = with_ids(calls);
        let fail = |e: llmscope_core::store::StoreError| TestCaseError::fail(e.to_string());
        let s = DuckStore::open_in_memory().map_err(fail)?;
        append_in_parts(&s, &calls, cuts, rolls).map_err(fail)?;
        let f = window_filter(since, span, project);
        prop_assert!(sessions::eligible(&f));
        let want = expected(&calls, &f);
        let rolled = match rolled_summary(&s, &f).map_err(fail)? {
            Some(got) => got,
            None => {
                // Too many dirty quarter hours: the store reads the calls; then everything
                // is rolled up and the rollup is read.
                let public = s.session_summary(&f).map_err(fail)?;
                prop_assert!(same(&public, &want).is_ok(), "{}", same(&public, &want).err().unwrap_or_default());
                s.roll_up(None).map_err(fail)?;
                rolled_summary(&s, &f).map_err(fail)?.ok_or_else(|| TestCaseError::fail("no plan after a full roll-up"))?
            }
        };
        prop_assert!(same(&rolled, &want).is_ok(), "rollup: {}", same(&rolled, &want).err().unwrap_or_default());
        // The calls-only query (an empty text search, which the rollup does not take, and
        // which matches every call).
        let raw_filter = CallFilter { text: Some(String::new()), ..f.clone() };
        prop_assert!(!sessions::eligible(&raw_filter));
        let raw = s.session_summary(&raw_filter).map_err(fail)?;
        prop_assert!(same(&raw, &want).is_ok(), "calls: {}", same(&raw, &want).err().unwrap_or_default());
        // The top users: the rollups against the calls-only query (a users filter, which the
        // rollups do not take, naming every user: the same calls count), and their session
        // counts against the calls themselves.
        prop_assert!(users::eligible(&f, &GroupKey::User, USERS, limit));
        let every_user = CallFilter { users: (0..4).map(|u| format!("u{u}")).collect(), ..f.clone() };
        prop_assert!(!users::eligible(&every_user, &GroupKey::User, USERS, limit));
        let raw = s.group_stats(&every_user, &GroupKey::User, &Vec::new(), USERS, limit).map_err(fail)?;
        let top = match rolled_users(&s, &f, limit).map_err(fail)? {
            Some(top) => top,
            None => {
                s.roll_up(None).map_err(fail)?;
                rolled_users(&s, &f, limit).map_err(fail)?.ok_or_else(|| TestCaseError::fail("no plan after a full roll-up"))?
            }
        };
        let blank = |g: &GroupStats| GroupStats {
            latency_avg: None,
            latency_max: None,
            ttft_avg: None,
            tokens_per_s_avg: None,
            ..g.clone()
        };
        prop_assert_eq!(top.iter().map(blank).collect::<Vec<_>>(), raw.iter().map(blank).collect::<Vec<_>>());
        let inside = matching(&calls, &f);
        for (g, h) in top.iter().zip(&raw) {
            let floats = [
                (g.latency_avg, h.latency_avg),
                (g.latency_max, h.latency_max),
                (g.ttft_avg, h.ttft_avg),
                (g.tokens_per_s_avg, h.tokens_per_s_avg),
            ];
            for (x, y) in floats {
                prop_assert!(close(x, y) || x.zip(y).is_some_and(|(x, y)| x.is_nan() && y.is_nan()), "{:?} against {:?}", x, y);
            }
            let sessions: std::collections::BTreeSet<(&str, &str)> = inside
                .iter()
                .filter(|c| c.user_id.as_deref() == Some(g.key.as_str()))
                .filter_map(|c| c.session_id.as_deref().map(|s| (c.project.as_str(), s)))
                .collect();
            prop_assert_eq!(g.distinct_sessions, sessions.len() as u64, "sessions of {}", g.key);
        }
        // Flags, and errors by status code and by kind: the rollups against the calls-only
        // queries (a models filter, which the rollups do not take, naming the one model).
        let one_model = CallFilter { models: vec!["m".into()], ..f.clone() };
        prop_assert!(labels::eligible(&f) && !labels::eligible(&one_model));
        prop_assert_eq!(s.flag_counts(&f).map_err(fail)?, s.flag_counts(&one_model).map_err(fail)?);
        let mut flags: std::collections::BTreeMap<&str, u64> = Default::default();
        for c in &inside {
            for fl in &c.flags {
                *flags.entry(fl.as_str()).or_default() += 1;
            }
        }
        let mut want: Vec<(String, u64)> = flags.into_iter().map(|(k, n)| (k.to_string(), n)).collect();
        want.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        prop_assert_eq!(s.flag_counts(&f).map_err(fail)?, want.clone());
        // (The label rollup itself, which the public calls fall back from on any failure.)
        let by_label = |dim: u8| -> Result<Option<Vec<(String, u64)>>, StoreError> {
            s.with_conn(|c| match overview::plan(c, &f)? {
                Some(plan) => labels::counts(c, &plan, dim).map(Some),
                None => Ok(None),
            })
        };
        if let Some(rolled) = by_label(super::rollup::LABEL_FLAG).map_err(fail)? {
            prop_assert_eq!(rolled, want);
        }
        for key in [GroupKey::StatusCode, GroupKey::ErrorKind] {
            let errors = |f: &CallFilter| CallFilter { status: Some(llmscope_core::CallStatus::Error), ..f.clone() };
            let got = s.group_stats(&errors(&f), &key, &Vec::new(), Measures::COUNT, 0).map_err(fail)?;
            let raw = s.group_stats(&errors(&one_model), &key, &Vec::new(), Measures::COUNT, 0).map_err(fail)?;
            prop_assert_eq!(&got, &raw, "{:?}", key);
            let dim = if key == GroupKey::StatusCode { super::rollup::LABEL_STATUS_CODE } else { super::rollup::LABEL_ERROR_KIND };
            if let Some(rolled) = by_label(dim).map_err(fail)? {
                prop_assert_eq!(rolled, raw.iter().map(|g| (g.key.clone(), g.requests)).collect::<Vec<_>>());
            }
            let n: u64 = got.iter().map(|g| g.requests).sum();
            prop_assert_eq!(n, inside.iter().filter(|c| c.status == llmscope_core::CallStatus::Error).count() as u64);
        }
        // The slowest calls (many share a latency, some a start too): ordered by latency,
        // then start, then id.
        // (NaN sorts above every number, as in DuckDB.)
        let mut slow: Vec<(f64, &Call)> = inside.iter().filter_map(|c| c.latency_ms.map(|l| (l, *c))).collect();
        slow.sort_by(|(x, a), (y, b)| y.total_cmp(x).then(b.start_time.cmp(&a.start_time)).then(a.id.cmp(&b.id)));
        let slow: Vec<&Call> = slow.into_iter().map(|(_, c)| c).collect();
        let want: Vec<&str> = slow.iter().take(limit).map(|c| c.id.as_str()).collect();
        let got = s.call_briefs(&f, CallOrder::SlowestFirst, limit).map_err(fail)?;
        prop_assert_eq!(got.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(), want);
        // The newest calls with each flag (the report's examples): newest first, then by id;
        // the label rollup's floor never above the last of them.
        for flag in ["empty_response", "pii", "json_invalid"] {
            let mut flagged: Vec<&Call> = inside.iter().copied().filter(|c| c.flags.iter().any(|x| x == flag)).collect();
            flagged.sort_by(|a, b| b.start_time.cmp(&a.start_time).then(a.id.cmp(&b.id)));
            let want: Vec<&str> = flagged.iter().take(limit).map(|c| c.id.as_str()).collect();
            let ff = CallFilter { flags: vec![flag.into()], ..f.clone() };
            let got = s.call_briefs(&ff, CallOrder::NewestFirst, limit).map_err(fail)?;
            prop_assert_eq!(got.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(), want, "{}", flag);
            let floor = s
                .with_conn(|c| match overview::plan(c, &f)? {
                    Some(plan) => labels::newest_floor(c, &plan, flag, limit),
                    None => Ok(None),
                })
                .map_err(fail)?;
            if let Some(floor) = floor {
                let last = flagged.get(limit - 1).ok_or_else(|| TestCaseError::fail("a floor with too few calls"))?;
                prop_assert!(floor <= last.start_time.timestamp_micros(), "floor {} after the {}th newest", floor, limit);
            }
        }
    }
}

/// Rolling up everything leaves one row per (project, session) holding all its calls.
#[test]
fn a_full_roll_up_keeps_one_row_per_session() -> Result<(), Box<dyn std::error::Error>> {
    let calls = with_ids(sample(arb_call(), 500)?);
    let s = DuckStore::open_in_memory()?;
    s.append_calls(&calls[..250])?;
    s.roll_up(None)?;
    s.append_calls(&calls[250..])?;
    s.roll_up(None)?;
    let keys: std::collections::BTreeSet<(&str, &str)> =
        calls.iter().filter_map(|c| c.session_id.as_deref().map(|s| (c.project.as_str(), s))).collect();
    assert_eq!(rollup_rows(&s), keys.len() as i64);
    let turns: i64 = s.with_conn(|c| {
        c.query_row("SELECT sum(turns)::BIGINT FROM session_rollup", [], |r| r.get(0)).map_err(super::db_err)
    })?;
    assert_eq!(turns, calls.iter().filter(|c| c.session_id.is_some()).count() as i64);
    same(&s.session_summary(&CallFilter::default())?, &expected(&calls, &CallFilter::default()))?;
    Ok(())
}

/// A store whose calls predate the session rollup gets it when it is migrated.
#[test]
fn migrating_builds_the_session_rollup_from_the_stored_calls() -> Result<(), Box<dyn std::error::Error>> {
    let calls = with_ids(sample(arb_call(), 800)?);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("llmscope.duckdb");
    {
        let conn = duckdb::Connection::open(&path)?;
        super::migrations::migrate_to(&conn, &path, 3)?;
        conn.appender("calls")?.append_record_batch(super::tests::batch_before_cache_write(&calls)?)?;
    }
    let migrated = DuckStore::open_file(&path)?;
    assert!(rollup_rows(&migrated) > 10);
    let f = CallFilter::window(Some(t0() + Duration::minutes(100)), Some(t0() + Duration::hours(50)));
    for f in [CallFilter::default(), f] {
        let got = rolled_summary(&migrated, &f)?.ok_or("no plan")?;
        same(&got, &expected(&calls, &f))?;
    }
    Ok(())
}
