//! The embedded store against hand-computed values.

use chrono::{DateTime, Duration, Utc};
use llmscope_core::store::{Analytics, CallOrder, CallReader, CallSink, GroupKey, Measures, PreparedCalls, Preparing};
use llmscope_core::timeparse::offset_segments;
use llmscope_core::{checks, stats, Call, CallFilter, CallStatus, Origin, TokenUsage};
use proptest::prelude::*;
use serde_json::json;

use super::DuckStore;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-01-06T10:00:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

fn call(i: u32, latency: f64) -> Call {
    let mut c = Call {
        id: format!("{i:032x}"),
        project: "default".into(),
        trace_id: format!("{:032x}", i + 1000),
        span_id: format!("{i:016x}"),
        start_time: t0() + Duration::minutes(i64::from(i)),
        latency_ms: Some(latency),
        ttft_ms: Some(latency / 4.0),
        model: Some(if i.is_multiple_of(2) { "gpt-4o-mini" } else { "qwen2.5-7b-instruct" }.into()),
        user_id: Some(format!("u{}", i % 3)),
        session_id: Some(format!("s{}", i % 2)),
        input: json!([{"role": "user", "content": format!("question {i}")}]),
        input_text: format!("Question {i}?"),
        output: Some(format!("answer {i}")),
        usage: TokenUsage { input: Some(10), output: Some(20), total: Some(30), ..Default::default() },
        origin: Origin::Import { file: "f.jsonl".into(), line: u64::from(i) + 1, format: "seed001".into() },
        ..Default::default()
    };
    c.flags = checks::flags_for(&c);
    c
}

fn store() -> DuckStore {
    match DuckStore::open_in_memory() {
        Ok(s) => s,
        Err(e) => panic!("in-memory store: {e}"),
    }
}

fn five() -> Vec<Call> {
    let mut calls: Vec<Call> =
        [100.0, 200.0, 300.0, 400.0, 1000.0].iter().enumerate().map(|(i, &l)| call(i as u32, l)).collect();
    calls[1].status = CallStatus::Error;
    calls[1].output = Some(String::new());
    calls[3].output = Some("  ".into());
    for c in &mut calls {
        c.flags = checks::flags_for(c);
    }
    calls
}

#[test]
fn append_is_idempotent() -> Result<(), Box<dyn std::error::Error>> {
    let s = store();
    let calls = five();
    let first = s.append_calls(&calls)?;
    assert_eq!((first.inserted, first.duplicates), (5, 0));
    let again = s.append_calls(&calls)?;
    assert_eq!((again.inserted, again.duplicates), (0, 5));
    let mut twice = calls[..2].to_vec();
    twice.extend(calls[..2].iter().cloned());
    twice.push(call(9, 5.0));
    let mixed = s.append_calls(&twice)?;
    assert_eq!((mixed.inserted, mixed.duplicates), (1, 4));
    assert_eq!(s.count_calls(&CallFilter::default())?, 6);
    Ok(())
}

#[test]
fn new_calls_skip_the_stored_lookup_but_not_in_batch_repeats() -> Result<(), Box<dyn std::error::Error>> {
    let s = store();
    let calls = five();
    let mut batch = calls.clone();
    batch.push(calls[0].clone());
    let out = s.append_new_calls(&batch)?;
    assert_eq!((out.inserted, out.duplicates), (5, 1));
    assert_eq!(s.count_calls(&CallFilter::default())?, 5);
    // The checked path still sees them as stored.
    assert_eq!(s.append_calls(&calls)?.inserted, 0);
    Ok(())
}

#[test]
fn calls_read_back_unchanged() -> Result<(), Box<dyn std::error::Error>> {
    let s = store();
    let mut c = call(1, 123.456);
    c.tags = vec!["beta".into(), "zh".into()];
    c.attributes.insert("device".into(), json!("cuda:0"));
    c.params.insert("max_tokens".into(), json!(100));
    c.tool_calls = Some(json!([{"function": {"name": "f", "arguments": "{}"}}]));
    c.json_mode = true;
    c.response_format = Some(json!({"type": "json_object"}));
    c.first_token_time = Some(c.start_time + Duration::milliseconds(30));
    c.end_time = Some(c.start_time + Duration::milliseconds(123));
    c.error_kind = Some("x".into());
    c.status_code = Some(200);
    c.usage.cached = Some(4);
    c.flags = checks::flags_for(&c);
    s.append_calls(std::slice::from_ref(&c))?;
    let back = s.list_calls(&CallFilter::default(), CallOrder::NewestFirst, 10)?;
    assert_eq!(back, vec![c]);
    Ok(())
}

#[test]
fn overall_stats_match_hand_computed_values() -> Result<(), Box<dyn std::error::Error>> {
    let s = store();
    s.append_calls(&five())?;
    let g = s.group_stats(&CallFilter::default(), &GroupKey::All, &Vec::new(), Measures::ALL, 0)?;
    let g = &g[0];
    assert_eq!(g.requests, 5);
    assert_eq!(g.errors, 1);
    assert_eq!(g.empty_output, 2, "the failed call's empty output counts too");
    assert_eq!(g.success, 3);
    assert_eq!(g.latency_avg, Some(400.0));
    // Sorted 100, 200, 300, 400, 1000: h = 4q.
    assert_eq!(g.latency_p50, Some(300.0));
    assert_eq!(g.latency_p90.map(|v| (v * 1e6).round() / 1e6), Some(760.0));
    assert_eq!(g.latency_p95.map(|v| (v * 1e6).round() / 1e6), Some(880.0));
    assert_eq!(g.latency_p99.map(|v| (v * 1e6).round() / 1e6), Some(976.0));
    assert_eq!(g.ttft_p50, Some(75.0));
    // Output tokens / latency: 20/0.1 … 20/1.0 = 200, 100, 66.67, 50, 20 → mean 87.333…
    assert!((g.tokens_per_s_avg.unwrap_or(0.0) - 87.3333333).abs() < 1e-4);
    assert_eq!((g.input_tokens, g.output_tokens), (50, 100));
    // Distinct sessions are only counted per user (the session count has its own query).
    assert_eq!((g.distinct_users, g.distinct_sessions), (3, 0));
    let users = s.group_stats(&CallFilter::default(), &GroupKey::User, &Vec::new(), Measures::ALL, 0)?;
    let u0 = users.iter().find(|u| u.key == "u0").map(|u| (u.requests, u.distinct_sessions));
    assert_eq!(u0, Some((2, 2)), "u0 made calls 0 and 3, in sessions s0 and s1");
    // The top users (a limit): their sessions are counted by a second query; same answer.
    let top = s.group_stats(&CallFilter::default(), &GroupKey::User, &Vec::new(), Measures::ALL, 2)?;
    assert_eq!(top.len(), 2);
    for t in &top {
        let all = users.iter().find(|u| u.key == t.key).map(|u| (u.requests, u.distinct_users, u.distinct_sessions));
        assert_eq!(all, Some((t.requests, t.distinct_users, t.distinct_sessions)), "{}", t.key);
    }
    let by_model = s.group_stats(&CallFilter::default(), &GroupKey::Model, &Vec::new(), Measures::ALL, 0)?;
    let keys: Vec<(&str, u64)> = by_model.iter().map(|g| (g.key.as_str(), g.requests)).collect();
    assert_eq!(keys, vec![("gpt-4o-mini", 3), ("qwen2.5-7b-instruct", 2)]);
    // gpt-4o-mini: calls 0, 2, 4 → 100, 300, 1000.
    assert_eq!(by_model[0].latency_p50, Some(300.0));
    Ok(())
}

#[test]
fn local_days_and_hours_follow_the_zone() -> Result<(), Box<dyn std::error::Error>> {
    let s = store();
    let mut late = call(1, 10.0);
    late.start_time = DateTime::parse_from_rfc3339("2025-01-06T20:30:00Z").map(|t| t.with_timezone(&Utc))?;
    s.append_calls(&[late.clone()])?;
    let utc = s.group_stats(&CallFilter::default(), &GroupKey::Day, &Vec::new(), Measures::BASIC, 0)?;
    assert_eq!(utc[0].key, "2025-01-06");
    let shanghai =
        offset_segments(chrono_tz::Tz::Asia__Shanghai, late.start_time, late.start_time + Duration::hours(1));
    let local = s.group_stats(&CallFilter::default(), &GroupKey::Day, &shanghai, Measures::BASIC, 0)?;
    assert_eq!(local[0].key, "2025-01-07");
    let wh = s.group_stats(&CallFilter::default(), &GroupKey::WeekdayHour, &shanghai, Measures::BASIC, 0)?;
    assert_eq!(wh[0].key, "1,4", "Tuesday 04:30 in Shanghai");
    Ok(())
}

#[test]
fn filters_narrow_the_calls() -> Result<(), Box<dyn std::error::Error>> {
    let s = store();
    let mut calls = five();
    calls[1].error_message = Some("Rate limit reached for requests".into());
    s.append_calls(&calls)?;
    let count = |f: CallFilter| s.count_calls(&f);
    assert_eq!(count(CallFilter { models: vec!["gpt-4o-mini".into()], ..Default::default() })?, 3);
    assert_eq!(count(CallFilter { status: Some(CallStatus::Error), ..Default::default() })?, 1);
    assert_eq!(count(CallFilter { flags: vec![checks::EMPTY_RESPONSE.into()], ..Default::default() })?, 2);
    assert_eq!(count(CallFilter { text: Some("QUESTION 3".into()), ..Default::default() })?, 1);
    // The text is literal: regular-expression characters match only themselves.
    assert_eq!(count(CallFilter { text: Some("question 3?".into()), ..Default::default() })?, 1);
    assert_eq!(count(CallFilter { text: Some("question.3".into()), ..Default::default() })?, 0);
    assert_eq!(count(CallFilter { text: Some("(".into()), ..Default::default() })?, 0);
    // A failure is found by what its error said.
    assert_eq!(count(CallFilter { text: Some("RATE LIMIT".into()), ..Default::default() })?, 1);
    assert_eq!(count(CallFilter { users: vec!["u0".into(), "u1".into()], ..Default::default() })?, 4);
    assert_eq!(
        count(CallFilter {
            since: Some(t0() + Duration::minutes(2)),
            until: Some(t0() + Duration::minutes(4)),
            ..Default::default()
        })?,
        2
    );
    assert_eq!(count(CallFilter { id_prefix: Some(format!("{:031x}", 0)), ..Default::default() })?, 5);
    Ok(())
}

#[test]
fn top_questions_exact_and_normalised() -> Result<(), Box<dyn std::error::Error>> {
    let s = store();
    let texts = ["Hello!", "hello", "HELLO 2", "hello", "bye", "  hello  "];
    let calls: Vec<Call> =
        texts.iter().enumerate().map(|(i, t)| Call { input_text: (*t).into(), ..call(i as u32, 1.0) }).collect();
    s.append_calls(&calls)?;
    let exact = s.top_questions(&CallFilter::default(), false, 10)?;
    assert_eq!((exact[0].question.as_str(), exact[0].count), ("hello", 3), "trimmed before grouping");
    let norm = s.top_questions(&CallFilter::default(), true, 10)?;
    assert_eq!((norm[0].question.as_str(), norm[0].count, norm[0].variants), ("hello", 5, 3));
    assert_eq!((norm[1].question.as_str(), norm[1].count), ("bye", 1));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Both question lists from one scan (of the question rollup and the calls it lacks)
    /// are the two lists asked for one at a time from the calls, and what the calls give
    /// (ties, empty questions, windows and roll-ups at random points included).
    #[test]
    fn both_question_lists_at_once_are_the_two_lists(
        picks in proptest::collection::vec(0usize..10, 1..60),
        limit in 1usize..5,
        since in prop::option::of(0i64..60),
        rolled in prop::option::of((0usize..60, prop::option::of(0i64..60))),
    ) {
        let texts = ["Hello!", "hello", "HELLO 2", "  hello  ", "bye", "", "What is 2+2?", "Bye.", "\tbye\n", "HELLO"];
        let calls: Vec<Call> = picks
            .iter()
            .enumerate()
            .map(|(i, &t)| Call { input_text: texts[t].into(), ..call(i as u32, 1.0) })
            .collect();
        let s = store();
        let fail = |e: llmscope_core::store::StoreError| TestCaseError::fail(e.to_string());
        // Some calls rolled up (all, or all but the quarter hours from a minute on), the
        // rest not: the lists come from rollup rows and calls together.
        let cut = rolled.map_or(calls.len(), |(at, _)| at.min(calls.len()));
        s.append_calls(&calls[..cut]).map_err(fail)?;
        if let Some((_, live)) = rolled {
            s.roll_up(live.map(|m| t0() + Duration::minutes(m)..t0() + Duration::days(1))).map_err(fail)?;
        }
        s.append_calls(&calls[cut..]).map_err(fail)?;
        let f = CallFilter { since: since.map(|m| t0() + Duration::minutes(m) + Duration::seconds(7)), ..CallFilter::default() };
        let both = s.top_questions_both(&f, limit).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let exact = s.top_questions(&f, false, limit).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let norm = s.top_questions(&f, true, limit).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&both, &(exact, norm));
        // Against the calls themselves: keys by count (ties by key); a normalised key shows
        // its most frequent trimmed spelling (ties by text) and counts its spellings.
        let mut by_key: std::collections::BTreeMap<(bool, u64), std::collections::BTreeMap<&str, u64>> = Default::default();
        for c in calls.iter().filter(|c| f.since.is_none_or(|t| c.start_time >= t)) {
            let t = c.input_text.trim();
            if !t.is_empty() {
                *by_key.entry((false, xxhash_rust::xxh3::xxh3_64(t.as_bytes()))).or_default().entry(t).or_default() += 1;
                *by_key.entry((true, llmscope_core::text::question_key(t))).or_default().entry(t).or_default() += 1;
            }
        }
        for (normalised, got) in [(false, &both.0), (true, &both.1)] {
            let mut want: Vec<(u64, u64, String, u64)> = by_key
                .iter()
                .filter(|((n, _), _)| *n == normalised)
                .map(|((_, k), v)| {
                    let most = v.values().max().copied().unwrap_or(0);
                    let shown = v.iter().filter(|(_, c)| **c == most).map(|(t, _)| *t).min().unwrap_or_default();
                    (v.values().sum(), *k, shown.to_string(), v.len() as u64)
                })
                .collect();
            want.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            let want: Vec<(String, u64, u64)> = want.into_iter().take(limit).map(|(n, _, q, v)| (q, n, v)).collect();
            let got: Vec<(String, u64, u64)> = got.iter().map(|q| (q.question.clone(), q.count, q.variants)).collect();
            prop_assert_eq!(got, want, "normalised: {}", normalised);
        }
    }
}

#[test]
fn sessions_histogram_flags_and_briefs() -> Result<(), Box<dyn std::error::Error>> {
    let s = store();
    s.append_calls(&five())?;
    let ss = s.session_summary(&CallFilter::default())?;
    // s0: calls 0, 2, 4 (minutes 0..4, last ends 1 s later); s1: calls 1, 3.
    assert_eq!((ss.sessions, ss.turns_max), (2, 3));
    assert_eq!(ss.turns_avg, Some(2.5));
    assert_eq!(ss.turns_p50, Some(2.5), "the median of 3 and 2 turns");
    let h = s.latency_histogram(&CallFilter::default(), &[0.0, 250.0, 500.0])?;
    let counts: Vec<u64> = h.iter().map(|b| b.count).collect();
    assert_eq!(counts, vec![2, 2, 1]);
    let flags = s.flag_counts(&CallFilter::default())?;
    assert_eq!(flags, vec![(checks::EMPTY_RESPONSE.to_string(), 2), (checks::ERROR.to_string(), 1)]);
    let slow = s.call_briefs(&CallFilter::default(), CallOrder::SlowestFirst, 2)?;
    assert_eq!(slow.iter().map(|b| b.latency_ms).collect::<Vec<_>>(), vec![Some(1000.0), Some(400.0)]);
    assert_eq!(slow[0].source.as_deref(), Some("f.jsonl:5"));
    Ok(())
}

#[test]
fn a_file_store_survives_reopening() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    {
        let s = DuckStore::open_dir(dir.path())?;
        s.append_calls(&five())?;
    }
    let s = DuckStore::open_dir(dir.path())?;
    assert_eq!(s.count_calls(&CallFilter::default())?, 5);
    assert_eq!(s.append_calls(&five())?.inserted, 0);
    Ok(())
}

#[test]
fn a_bulk_load_commits_together_and_finds_repeats_within_itself() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let s = DuckStore::open_dir(dir.path())?;
    let calls: Vec<Call> = (0..10).map(|i| call(i, f64::from(i))).collect();
    {
        let mut load = s.bulk_load()?;
        assert_eq!(load.room(), super::bulk::BULK_COMMIT_ROWS);
        assert_eq!(load.append_calls(&calls[..6])?.inserted, 6);
        // The second batch repeats two calls of the first, not committed yet.
        let outcome = load.append_calls(&calls[4..])?;
        assert_eq!((outcome.inserted, outcome.duplicates), (4, 2));
        // Repeats count towards the commit too, so a file of stored lines never shrinks the
        // batches to nothing.
        assert_eq!(load.room(), super::bulk::BULK_COMMIT_ROWS - 12);
        load.commit()?;
        assert_eq!(load.room(), super::bulk::BULK_COMMIT_ROWS);
        // Appended after the last commit, then dropped: discarded.
        assert_eq!(load.append_calls(&[call(50, 1.0)])?.inserted, 1);
    }
    assert_eq!(s.count_calls(&CallFilter::default())?, 10);
    // The store works normally after the load (its connection was given back).
    assert_eq!(s.append_calls(&[call(50, 1.0)])?.inserted, 1);
    drop(s);
    let s = DuckStore::open_dir(dir.path())?;
    assert_eq!(s.count_calls(&CallFilter::default())?, 11);
    Ok(())
}

/// A bulk load finds repeats of calls stored before it (also re-read 25 hours off, as a log
/// read under another zone is) and of calls it stored itself, across its commits.
#[test]
fn a_bulk_load_finds_repeats_of_calls_stored_before_it_and_by_it() -> Result<(), Box<dyn std::error::Error>> {
    let s = store();
    s.append_calls(&[call(0, 1.0), call(1, 1.0)])?;
    let at = |i: u32, hours: i64| Call { start_time: t0() + Duration::hours(hours), ..call(i, 2.0) };
    let mut load = s.bulk_load()?;
    let near = load.append_calls(&[at(1, 25), at(2, 25)])?;
    assert_eq!((near.inserted, near.duplicates), (1, 1));
    let far = load.append_calls(&[at(3, 240), at(4, 240)])?;
    load.commit()?;
    let again = load.append_calls(&[at(4, 241), at(5, 241), at(3, 260)])?;
    assert_eq!((far.inserted, again.inserted, again.duplicates), (2, 1, 2));
    load.commit()?;
    drop(load);
    assert_eq!(s.count_calls(&CallFilter::default())?, 6);
    Ok(())
}

/// `calls` prepared as an import's reader prepares them, in one batch.
fn prepare(s: &DuckStore, calls: Vec<Call>) -> Result<PreparedCalls, String> {
    let mut p = Preparing::new(s, calls.len(), 0);
    calls.into_iter().for_each(|c| p.add(c));
    let mut parts = p.finish();
    match (parts.pop(), parts.is_empty()) {
        (Some(one), true) => Ok(one),
        (last, _) => Err(format!("{} batches", parts.len() + usize::from(last.is_some()))),
    }
}

/// A batch prepared on another thread (as an import's reader does) is appended in parts:
/// repeats within a part and calls already stored are dropped from the columnar batch, and
/// the rows stored are exactly the others, intact.
#[test]
fn prepared_batches_append_in_parts_without_repeats() -> Result<(), Box<dyn std::error::Error>> {
    let s = store();
    s.append_calls(&[call(3, 3.0)])?;
    let mut calls: Vec<Call> = (0..6).map(|i| call(i, f64::from(i) + 0.5)).collect();
    calls[2] = call(0, 0.5); // a repeat of the first
    let want: Vec<Call> = [0, 1, 4, 5].iter().map(|&i| calls[i].clone()).collect();
    let prepared = std::thread::scope(|t| t.spawn(|| prepare(&s, calls)).join()).map_err(|_| "prepare panicked")??;
    assert_eq!(prepared.len(), 6);
    assert!(prepared.calls().is_none(), "DuckDB prepares its own batch");
    {
        let mut load = s.bulk_load()?;
        let first = load.append_prepared(&prepared, 0..2)?;
        // Call 0 again (appended just before, in the same load), call 3 (stored), 4, 5.
        let rest = load.append_prepared(&prepared, 2..6)?;
        assert_eq!((first.inserted, first.duplicates, rest.inserted, rest.duplicates), (2, 0, 2, 2));
        // A range past the batch is an error, and leaves the load's open transaction alone.
        assert!(load.append_prepared(&prepared, 5..9).is_err());
        load.commit()?;
    }
    let mut stored = s.list_calls(&CallFilter::default(), CallOrder::OldestFirst, 10)?;
    stored.retain(|c| c.id != call(3, 3.0).id);
    assert_eq!(stored.len(), 4);
    for (got, want) in stored.iter().zip(&want) {
        assert_eq!((&got.id, got.latency_ms, &got.input_text), (&want.id, want.latency_ms, &want.input_text));
    }
    // Through the sink itself (each append committed), with the same filtering.
    let again = prepare(&s, vec![call(5, 5.5), call(7, 7.5), call(7, 7.5)])?;
    let outcome = s.append_prepared(&again, 0..3)?;
    assert_eq!((outcome.inserted, outcome.duplicates), (1, 2));
    assert_eq!(s.count_calls(&CallFilter::default())?, 6);
    Ok(())
}

/// The compression of each stored column of `calls`, after a checkpoint.
fn column_compression(path: &std::path::Path) -> Result<Vec<(String, String)>, Box<dyn std::error::Error>> {
    let conn = duckdb::Connection::open(path)?;
    conn.execute_batch("CHECKPOINT")?;
    let mut stmt = conn.prepare(
        "SELECT DISTINCT column_name, compression FROM pragma_storage_info('calls') \
         WHERE compression NOT IN ('Constant', 'Empty') AND segment_type <> 'VALIDITY' ORDER BY ALL",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn compression_of<'a>(cols: &'a [(String, String)], column: &str) -> Vec<&'a str> {
    cols.iter().filter(|(c, _)| c == column).map(|(_, k)| k.as_str()).collect()
}

#[test]
fn a_new_store_has_small_blocks_zstd_answers_and_plain_ids() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("llmscope.duckdb");
    {
        let s = DuckStore::open_file(&path)?;
        let calls: Vec<Call> = (0..3000).map(|i| call(i, f64::from(i))).collect();
        s.append_calls(&calls)?;
    }
    let cols = column_compression(&path)?;
    let block: i64 =
        duckdb::Connection::open(&path)?
            .query_row("SELECT block_size FROM pragma_database_size()", [], |r| r.get(0))?;
    assert_eq!(block as u64, super::BLOCK_SIZE);
    assert_eq!(compression_of(&cols, "output"), ["ZSTD"], "{cols:?}");
    assert_eq!(compression_of(&cols, "id"), ["Uncompressed"], "{cols:?}");
    let s = DuckStore::open_file(&path)?;
    assert_eq!(s.count_calls(&CallFilter::default())?, 3000);
    assert_eq!(s.list_calls(&CallFilter::default(), CallOrder::OldestFirst, 1)?[0].output.as_deref(), Some("answer 0"));
    Ok(())
}

#[test]
fn the_store_spills_beside_its_file_and_refuses_a_path_it_cannot_name() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("it's here.duckdb");
    let s = DuckStore::open_file(&path)?;
    let temp: String = s.with_conn(|c| {
        c.query_row("SELECT current_setting('temp_directory')", [], |r| r.get(0)).map_err(super::db_err)
    })?;
    assert_eq!(temp, format!("{}.tmp", path.display()));
    assert_eq!(s.append_calls(&five())?.inserted, 5);
    drop(s);
    assert_eq!(DuckStore::open_file(&path)?.count_calls(&CallFilter::default())?, 5);
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let bad = dir.path().join(std::ffi::OsStr::from_bytes(b"bad\xff.duckdb"));
        let e = DuckStore::open_file(&bad).map(|_| ()).map_err(|e| e.to_string());
        assert!(matches!(&e, Err(m) if m.contains("UTF-8")), "{e:?}");
    }
    Ok(())
}

/// A store file with DuckDB's 256 KiB blocks needs about 40 MB for a checkpoint: a smaller
/// limit is raised to 64 MB rather than failing a checkpoint at every start. A store with
/// llmscope's 64 KiB blocks takes the limit it is given.
#[test]
fn a_memory_limit_too_small_for_the_files_blocks_is_raised() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let old = dir.path().join("old.duckdb");
    drop(duckdb::Connection::open(&old)?.execute_batch("CREATE TABLE x (a INT)"));
    let s = DuckStore::open_file(&old)?;
    s.set_memory_limit("32MB")?;
    assert_eq!(s.memory_limit(), Some(64_000_000));
    s.set_memory_limit("128MB")?;
    assert_eq!(s.memory_limit(), Some(128_000_000));
    let new = DuckStore::open_file(&dir.path().join("new.duckdb"))?;
    new.set_memory_limit("10MB")?;
    assert_eq!(new.memory_limit(), Some(10_000_000));
    Ok(())
}

/// The server's store writes small row groups (so a checkpoint, which rewrites the row group
/// being appended to, stays small); a store opened without the option writes DuckDB's.
#[test]
fn a_store_opened_with_a_row_group_size_writes_row_groups_of_that_size() -> Result<(), Box<dyn std::error::Error>> {
    let row_groups = |dir: &std::path::Path, size: Option<u64>| -> Result<i64, Box<dyn std::error::Error>> {
        let s = DuckStore::open_dir_with(dir, size)?;
        for b in 0..5u32 {
            let calls: Vec<Call> = (0..5_000).map(|i| call(b * 5_000 + i, f64::from(i))).collect();
            s.append_new_calls(&calls)?;
        }
        let n = s.with_conn(|c| {
            c.execute_batch("CHECKPOINT").map_err(super::db_err)?;
            c.query_row("SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('calls')", [], |r| r.get(0))
                .map_err(super::db_err)
        })?;
        Ok(n)
    };
    let (small, default) = (tempfile::tempdir()?, tempfile::tempdir()?);
    assert_eq!(row_groups(small.path(), Some(8192))?, 4, "25,000 calls in row groups of 8,192");
    assert_eq!(row_groups(default.path(), None)?, 1);
    assert!(DuckStore::open_dir_with(small.path(), Some(1000)).is_err());
    Ok(())
}

/// Brings the database on `conn` to schema 1 (what llmscope wrote before migration 2) and
/// appends `calls` to it.
fn schema_1_store(
    conn: &duckdb::Connection,
    path: &std::path::Path,
    calls: &[Call],
) -> Result<(), Box<dyn std::error::Error>> {
    super::migrations::migrate_to(conn, path, 1)?;
    let mut app = conn.appender("calls")?;
    app.append_record_batch(batch_before_bins(calls)?)?;
    Ok(())
}

/// Calls as a batch for the `calls` table as it was before migration 3 added the value bins.
pub(super) fn batch_before_bins(
    calls: &[Call],
) -> Result<duckdb::arrow::record_batch::RecordBatch, Box<dyn std::error::Error>> {
    batch_without(calls, &["latency_bin", "ttft_bin", "cache_write_tokens"])
}

/// Calls as a batch for the `calls` table as it was before migration 6 added the
/// cache-write count.
pub(super) fn batch_before_cache_write(
    calls: &[Call],
) -> Result<duckdb::arrow::record_batch::RecordBatch, Box<dyn std::error::Error>> {
    batch_without(calls, &["cache_write_tokens"])
}

fn batch_without(
    calls: &[Call],
    columns: &[&str],
) -> Result<duckdb::arrow::record_batch::RecordBatch, Box<dyn std::error::Error>> {
    let refs: Vec<&Call> = calls.iter().collect();
    let batch = super::arrow_batch::calls_batch(&refs, 0)?;
    let schema = batch.schema();
    let keep: Vec<usize> =
        (0..batch.num_columns()).filter(|&i| !columns.contains(&schema.field(i).name().as_str())).collect();
    Ok(batch.project(&keep)?)
}

/// A call's flags are stored once each, so the label rollup and the flag counts count calls.
#[test]
fn a_repeated_flag_is_stored_once() -> Result<(), Box<dyn std::error::Error>> {
    let s = DuckStore::open_in_memory()?;
    let mut c = call(1, 5.0);
    c.flags = vec!["pii".into(), "error".into(), "pii".into()];
    s.append_calls(&[c])?;
    let stored = s.list_calls(&CallFilter::default(), CallOrder::NewestFirst, 10)?;
    assert_eq!(stored.first().map(|c| c.flags.clone()), Some(vec!["pii".to_string(), "error".to_string()]));
    s.roll_up(None)?;
    assert_eq!(s.flag_counts(&CallFilter::default())?, [("error".to_string(), 1), ("pii".to_string(), 1)]);
    Ok(())
}

/// A store made by an earlier llmscope (schema 1, DuckDB's default storage format) opens: its
/// calls are all there, and appends go on; the compression migration is recorded without
/// rewriting a file whose format cannot hold it.
#[test]
fn a_store_in_the_older_file_format_migrates_without_rewriting() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("llmscope.duckdb");
    let five = five();
    schema_1_store(&duckdb::Connection::open(&path)?, &path, &five)?;
    let s = DuckStore::open_file(&path)?;
    assert_eq!(s.count_calls(&CallFilter::default())?, 5);
    assert_eq!(s.append_calls(&five)?.inserted, 0);
    assert_eq!(s.append_calls(&[call(77, 5.0)])?.inserted, 1);
    drop(s);
    let conn = duckdb::Connection::open(&path)?;
    let versions: Vec<i64> = conn
        .prepare("SELECT version FROM schema_migrations ORDER BY 1")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    assert_eq!(versions, [1, 2, 3, 4, 5, 6, 7]);
    let hist: i64 =
        conn.query_row("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'call_rollup_hist'", [], |r| r.get(0))?;
    assert_eq!(hist, 0, "migration 7 drops the quarter-hour histograms");
    Ok(())
}

/// A store at schema 1 in the current file format is rewritten by migration 2 with every
/// call kept.
#[test]
fn migration_2_rewrites_a_schema_1_store_keeping_every_call() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("llmscope.duckdb");
    let calls: Vec<Call> = (0..3000).map(|i| call(i, f64::from(i))).collect();
    {
        let config =
            duckdb::Config::default().with("storage_compatibility_version", super::migrations::STORAGE_VERSION)?;
        schema_1_store(&duckdb::Connection::open_with_flags(&path, config)?, &path, &calls)?;
    }
    let before = column_compression(&path)?;
    assert!(!compression_of(&before, "output").contains(&"ZSTD"), "{before:?}");
    let s = DuckStore::open_file(&path)?;
    assert_eq!(s.count_calls(&CallFilter::default())?, 3000);
    assert_eq!(s.append_calls(&calls)?.inserted, 0);
    let back = s.list_calls(&CallFilter::default(), CallOrder::OldestFirst, 3000)?;
    assert_eq!(back.len(), 3000);
    assert_eq!(back[2999].output, calls[2999].output);
    drop(s);
    assert_eq!(compression_of(&column_compression(&path)?, "output"), ["ZSTD"]);
    Ok(())
}

/// A checkpoint that runs out of memory is a fatal error for DuckDB: the database refuses
/// every later statement. The store reopens it with twice the memory; a batch that failed is sent again the way
/// the server's recorder does (first without the stored-id lookup, then with it), and
/// every call ends up stored exactly once.
#[test]
fn a_fatal_error_reopens_the_database_and_loses_nothing() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let s = DuckStore::open_dir(dir.path())?;
    s.set_memory_limit("10MB")?;
    s.set_checkpoint_threshold("1MB")?;
    let mut sent = 0u64;
    for b in 0..30u32 {
        let calls: Vec<Call> = (0..200u32)
            .map(|i| {
                let mut c = call(b * 200 + i, f64::from(i));
                c.output = Some(format!("{} {}", "a long answer".repeat(40), b * 200 + i));
                c
            })
            .collect();
        let mut stored = s.append_new_calls(&calls).is_ok();
        for _ in 0..3 {
            if stored {
                break;
            }
            stored = s.append_calls(&calls).is_ok();
        }
        assert!(stored, "batch {b} could not be stored after a reopen");
        sent += calls.len() as u64;
    }
    assert!(s.reopens() > 0, "the memory limit did not provoke a fatal error; the test proves nothing");
    assert_eq!(s.count_calls(&CallFilter::default())?, sent);
    Ok(())
}

/// When the file cannot be opened again after a fatal error, the store tries again at its
/// next use (a read or a write) instead of staying on its empty placeholder for good.
#[test]
fn a_failed_reopen_is_tried_again_at_the_next_error() -> Result<(), Box<dyn std::error::Error>> {
    use llmscope_core::store::StoreError;
    let dir = tempfile::tempdir()?;
    let s = DuckStore::open_dir(dir.path())?;
    s.append_calls(&five())?;
    let file = dir.path().join(crate::DUCKDB_FILE);
    let aside = dir.path().join("aside.duckdb");
    // The file is away and a directory stands in its place: the reopen fails.
    std::fs::rename(&file, &aside)?;
    std::fs::create_dir(&file)?;
    let fatal = StoreError::Backend("FATAL Error: simulated".into());
    assert!(!s.recover(&mut *s.lock()?, &fatal), "the reopen cannot succeed");
    assert!(s.append_calls(&[call(7, 1.0)]).is_err(), "the placeholder stores nothing");
    assert!(s.count_calls(&CallFilter::default()).is_err(), "nor reads");
    // The file is back: the next use, a read here, reopens it first.
    std::fs::remove_dir(&file)?;
    std::fs::rename(&aside, &file)?;
    assert_eq!(s.count_calls(&CallFilter::default())?, 5);
    assert_eq!(s.reopens(), 1);
    s.append_calls(&[call(7, 1.0)])?;
    assert_eq!(s.count_calls(&CallFilter::default())?, 6);
    Ok(())
}

#[test]
fn sizes_parse_like_duckdb_reads_them() {
    use super::parse_size;
    assert_eq!(parse_size("64MB"), Some(64_000_000));
    assert_eq!(parse_size(" 1.5 GB "), Some(1_500_000_000));
    assert_eq!(parse_size("512MiB"), Some(512 << 20));
    assert_eq!(parse_size("4096"), Some(4096));
    assert_eq!(parse_size("2kib"), Some(2048));
    for bad in ["", "MB", "64 parsecs", "-1MB", "0", "1e3MB", "1'; DROP TABLE calls; --"] {
        assert_eq!(parse_size(bad), None, "{bad:?}");
    }
}

proptest! {
    /// `parse_size` reads outside input (the config file): never panics, and anything it
    /// accepts is a size DuckDB can be given.
    #[test]
    fn sizes_never_panic(s in "\\PC{0,24}", n in 0u64..100_000, unit in "(|B|KB|MB|GB|TB|KiB|MiB|GiB|TiB|kb|mib)") {
        if let Some(b) = super::parse_size(&s) {
            prop_assert!(b >= 1);
        }
        let text = format!("{n}{unit}");
        prop_assert_eq!(super::parse_size(&text).is_some(), n > 0, "{}", text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn sql_percentiles_equal_the_rust_definition(lat in proptest::collection::vec(0.0f64..100_000.0, 1..60)) {
        let s = store();
        let calls: Vec<Call> = lat.iter().enumerate().map(|(i, &l)| call(i as u32, l)).collect();
        s.append_calls(&calls).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let g = s.group_stats(&CallFilter::default(), &GroupKey::All, &Vec::new(), Measures::ALL, 0)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut v = lat.clone();
        let want = stats::quantiles(&mut v, &[0.5, 0.9, 0.95, 0.99]);
        let got = [g[0].latency_p50, g[0].latency_p90, g[0].latency_p95, g[0].latency_p99];
        for (w, g) in want.iter().zip(got.iter()) {
            prop_assert!((w.unwrap_or(-1.0) - g.unwrap_or(-2.0)).abs() < 1e-6, "{:?} vs {:?}", want, got);
        }
    }

    /// Percentiles per group equal the Rust definition, with repeated values,
    /// zeros and values spread over ten orders of magnitude (several to a bucket, and
    /// wanted ranks on bucket edges).
    #[test]
    fn grouped_percentiles_equal_the_rust_definition(
        lat in proptest::collection::vec(
            prop_oneof![1 => Just(0.0f64), 4 => (1u32..40).prop_map(f64::from), 4 => 1e-3f64..1e7],
            1..120,
        )
    ) {
        let s = store();
        let calls: Vec<Call> = lat.iter().enumerate().map(|(i, &l)| call(i as u32, l)).collect();
        s.append_calls(&calls).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let groups = s.group_stats(&CallFilter::default(), &GroupKey::Model, &Vec::new(), Measures::PERCENTILES, 0)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        for g in &groups {
            let mut v: Vec<f64> = calls.iter().filter(|c| c.model.as_deref() == Some(g.key.as_str()))
                .filter_map(|c| c.latency_ms).collect();
            let mut t: Vec<f64> = v.iter().map(|x| x / 4.0).collect();
            let want = stats::quantiles(&mut v, &[0.5, 0.9, 0.95, 0.99]);
            let got = [g.latency_p50, g.latency_p90, g.latency_p95, g.latency_p99];
            prop_assert_eq!(want.len(), got.len());
            for (w, x) in want.iter().zip(got.iter()) {
                prop_assert!((w.unwrap_or(-1.0) - x.unwrap_or(-2.0)).abs() <= 1e-9 * w.unwrap_or(1.0).abs().max(1.0), "{:?} vs {:?}", want, got);
            }
            let want = stats::quantiles(&mut t, &[0.5, 0.95, 0.99]);
            let got = [g.ttft_p50, g.ttft_p95, g.ttft_p99];
            for (w, x) in want.iter().zip(got.iter()) {
                prop_assert!((w.unwrap_or(-1.0) - x.unwrap_or(-2.0)).abs() <= 1e-9 * w.unwrap_or(1.0).abs().max(1.0), "{:?} vs {:?}", want, got);
            }
        }
    }
}

#[test]
fn count_only_groups_count_like_the_full_measures() -> Result<(), Box<dyn std::error::Error>> {
    let s = store();
    s.append_calls(&five())?;
    let f = CallFilter::default();
    for key in [GroupKey::Model, GroupKey::WeekdayHour, GroupKey::StatusCode, GroupKey::Day] {
        let full = s.group_stats(&f, &key, &Vec::new(), Measures::BASIC, 0)?;
        let count = s.group_stats(&f, &key, &Vec::new(), Measures::COUNT, 0)?;
        let pairs =
            |v: &[llmscope_core::store::GroupStats]| v.iter().map(|g| (g.key.clone(), g.requests)).collect::<Vec<_>>();
        assert_eq!(pairs(&full), pairs(&count), "{key:?}");
        assert!(full.iter().any(|g| g.latency_avg.is_some()));
        assert!(count.iter().all(|g| g.latency_avg.is_none() && g.errors == 0), "{key:?}: counts only");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Paging through a listing (each page after the last call of the page before) gives
    /// the whole listing, in order, with nothing repeated or skipped: ties on the start time
    /// and on the latency, and calls without a latency, included.
    #[test]
    fn pages_after_a_key_add_up_to_the_whole_listing(
        shape in proptest::collection::vec((0i64..4, prop::option::of(0u8..3)), 1..40),
        page in 1usize..7,
        order in prop::sample::select(vec![CallOrder::NewestFirst, CallOrder::OldestFirst, CallOrder::SlowestFirst]),
    ) {
        use llmscope_core::store::PageKey;
        let s = store();
        let calls: Vec<Call> = shape
            .iter()
            .enumerate()
            .map(|(i, (minute, latency))| {
                let mut c = call(i as u32, 0.0);
                c.start_time = t0() + Duration::minutes(*minute);
                c.latency_ms = latency.map(|l| 100.0 * f64::from(l));
                c
            })
            .collect();
        s.append_calls(&calls).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let all = s.list_calls(&CallFilter::default(), order, 1000).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(all.len(), calls.len());
        let mut paged: Vec<String> = Vec::new();
        let mut after: Option<PageKey> = None;
        loop {
            let got = s
                .list_calls_after(&CallFilter::default(), order, after.as_ref(), page)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(got.len() <= page);
            paged.extend(got.iter().map(|c| c.id.clone()));
            match got.last() {
                Some(last) if got.len() == page => after = Some(PageKey::of(last)),
                _ => break,
            }
            prop_assert!(paged.len() <= calls.len(), "paging does not end");
        }
        let whole: Vec<String> = all.iter().map(|c| c.id.clone()).collect();
        prop_assert_eq!(paged, whole);
    }
}

/// A listing of wide calls needs more memory than a server keeps for DuckDB between
/// queries: with the query memory limit the limit is raised while the listing runs and set
/// back after it.
#[test]
fn a_query_gets_the_query_memory_limit_while_it_runs() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let s = DuckStore::open_dir(dir.path())?;
    for b in 0..12u32 {
        let calls: Vec<Call> = (0..1000u32)
            .map(|i| {
                let n = b * 1000 + i;
                let mut c = call(n, f64::from(n % 977));
                c.output = Some(format!("{n} {}", "a long answer that does not compress away ".repeat(60)));
                c.input = json!([{"role": "user", "content": format!("{n} {}", "a long question ".repeat(60))}]);
                c
            })
            .collect();
        s.append_calls(&calls)?;
    }
    s.set_memory_limit("8MB")?;
    let limit_now = || {
        s.with_conn(|c| {
            c.query_row("SELECT current_setting('memory_limit')", [], |r| r.get::<_, String>(0)).map_err(super::db_err)
        })
    };
    let before = limit_now()?;
    let all = CallFilter::default();
    let starved = s.list_calls(&all, CallOrder::SlowestFirst, 10_001);
    assert!(
        starved.as_ref().is_err_and(|e| e.to_string().contains("Out of Memory")),
        "8 MB sufficed for the listing: the test proves nothing ({:?})",
        starved.map(|c| c.len())
    );
    s.set_query_memory_limit("256MB")?;
    let listed = s.list_calls(&all, CallOrder::SlowestFirst, 10_001)?;
    assert_eq!(listed.len(), 10_001);
    assert!(listed.windows(2).all(|w| w[0].latency_ms >= w[1].latency_ms));
    assert_eq!(limit_now()?, before, "the limit went back down after the query");
    assert_eq!(s.memory_limit(), Some(8_000_000));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The text search finds what a case-insensitive substring search finds, for texts of
    /// ASCII (punctuation, `_`, backslashes included) and CJK: DuckDB's RE2 with the literal
    /// and case-folding options against `contains(lower(…))`, the definition it replaced.
    /// (Outside these, Unicode's case folding and lower() differ on a few letters such as
    /// "ſ" and "İ"; docs/api.md.)
    #[test]
    fn the_text_search_pattern_is_a_literal(
        needle in "[a-zA-Z0-9 _.*+?()\\[\\]{}|^$\\\\/%'\"#\\-]{1,6}|[退款问题A-Za-z]{1,3}",
        hay in "[a-zA-Z0-9 _.*+?()\\[\\]{}|^$\\\\/%'\"#\\-退款问题]{0,24}",
    ) {
        let conn = duckdb::Connection::open_in_memory().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (by_regex, by_lower): (bool, bool) = conn
            .query_row(
                "SELECT regexp_matches(?, ?, 'il'), contains(lower(?), lower(?))",
                duckdb::params![hay, needle, hay, needle],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| TestCaseError::fail(format!("{needle:?}: {e}")))?;
        prop_assert_eq!(by_regex, by_lower, "needle {:?} in {:?}", needle, hay);
    }
}

/// The sessions and days are rolled up beside the quarter hours, on a second connection
/// (without a memory limit), or with them in one transaction (with one). When the sessions'
/// and days' share fails, nothing commits; when the quarter hours' share fails, the quarter
/// hours keep their marks (reports read their calls, and the sessions with calls in them),
/// though the side may have committed its rows. The next roll-up does it all. DuckDB's
/// threads are put back either way.
#[test]
fn a_failed_roll_up_leaves_the_quarter_hours_dirty() -> Result<(), Box<dyn std::error::Error>> {
    use super::{db_err, duckdb_threads};
    for limited in [false, true] {
        for broken in ["day_bins", "user_rollup"] {
            let s = store();
            if limited {
                s.set_memory_limit("1GB")?;
            }
            s.append_calls(&five())?;
            let threads = s.with_conn(duckdb_threads)?;
            let counts = |s: &DuckStore| {
                s.with_conn(|c| {
                    c.query_row(
                        "SELECT (SELECT count(*) FROM rollup_dirty), (SELECT count(*) FROM call_rollup),
                                (SELECT count(*) FROM session_rollup)",
                        [],
                        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)),
                    )
                    .map_err(db_err)
                })
            };
            let rename = |from: &str, to: &str| {
                s.with_conn(|c| c.execute_batch(&format!("ALTER TABLE {from} RENAME TO {to}")).map_err(db_err))
            };
            let case = format!("{broken} missing, memory limit {limited}");
            rename(broken, "away")?;
            assert!(s.roll_up(None).is_err(), "{case}");
            // Without a memory limit the two connections take the shares in turn, so which
            // rows the one that did not fail committed depends on which was faster; with one,
            // nothing is.
            let (dirty, models, sessions) = counts(&s)?;
            assert_eq!(dirty, 1, "{case}: the quarter hour still dirty");
            assert!([0, 2].contains(&models) && [0, 2].contains(&sessions), "{case}: {models} {sessions}");
            if limited {
                assert_eq!((models, sessions), (0, 0), "{case}: one transaction, rolled back");
            }
            assert_eq!(s.with_conn(duckdb_threads)?, threads, "{case}");
            rename("away", broken)?;
            // (Read between the failed roll-up and the next: the same as after it.)
            let f = CallFilter { since: Some(t0()), until: Some(t0() + Duration::days(1)), ..CallFilter::default() };
            let utc: llmscope_core::store::TzShift = vec![(t0() - Duration::days(1), 0)];
            let between = (s.session_summary(&f)?, s.overview(&f, &utc)?);
            assert_eq!(s.roll_up(None)?, 1, "{case}");
            assert_eq!(counts(&s)?, (0, 2, 2), "{case}: a row per model and per session");
            let after = (s.session_summary(&f)?, s.overview(&f, &utc)?);
            assert_eq!(format!("{between:?}"), format!("{after:?}"), "{case}");
            assert_eq!(s.with_conn(duckdb_threads)?, threads, "{case}");
        }
    }
    Ok(())
}
