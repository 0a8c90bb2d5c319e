//! Assembling a report: one pass of aggregate queries over the window, then arithmetic.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use llmscope_core::checks;
use llmscope_core::price::PriceTable;
use llmscope_core::store::{Analytics, CallOrder, GroupKey, GroupStats, Measures, Overview, StoreError};
use llmscope_core::timeparse::offset_segments;
use llmscope_core::{CallFilter, CallStatus};

use crate::report::*;
use crate::{cost, histogram, suggest};

/// What to report on.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    pub filter: CallFilter,
    /// Zone for hours and days.
    pub tz: Tz,
    pub prices: PriceTable,
    /// Rows in "top" lists.
    pub top_n: usize,
    /// Example calls per problem.
    pub examples: usize,
    /// Calls slower than this count as slow (seed 000's 2 s).
    pub slow_threshold_ms: f64,
}

impl Default for ReportRequest {
    fn default() -> Self {
        ReportRequest {
            filter: CallFilter::default(),
            tz: Tz::UTC,
            prices: PriceTable::builtin(),
            top_n: 10,
            examples: 5,
            slow_threshold_ms: 2000.0,
        }
    }
}

fn rate(n: u64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 / d as f64
    }
}

fn avg(total: u64, n: u64) -> Option<f64> {
    (n > 0).then(|| total as f64 / n as f64)
}

fn latency(g: &GroupStats) -> Latency {
    Latency {
        avg: g.latency_avg,
        p50: g.latency_p50,
        p90: g.latency_p90,
        p95: g.latency_p95,
        p99: g.latency_p99,
        max: g.latency_max,
    }
}

fn ttft(g: &GroupStats) -> Ttft {
    Ttft { avg: g.ttft_avg, p50: g.ttft_p50, p95: g.ttft_p95, p99: g.ttft_p99 }
}

fn tokens(g: &GroupStats) -> Tokens {
    Tokens {
        input_total: g.input_tokens,
        output_total: g.output_tokens,
        cached_total: g.cached_tokens,
        cache_write_total: g.cache_write_tokens,
        input_avg: avg(g.input_tokens, g.calls_with_input_tokens),
        output_avg: avg(g.output_tokens, g.calls_with_output_tokens),
        counted_calls: g.calls_tokens_counted,
    }
}

fn key_counts(rows: Vec<GroupStats>) -> Vec<KeyCount> {
    rows.into_iter().map(|g| KeyCount { key: g.key, count: g.requests }).collect()
}

/// Runs one query and logs how long it took (`LLMSCOPE_LOG=llmscope_analysis=debug`).
fn timed<T>(query: &str, f: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
    let started = std::time::Instant::now();
    let out = f();
    tracing::debug!(query, ms = started.elapsed().as_millis() as u64, "report query");
    out
}

/// Builds the report for a request.
pub fn build_report(store: &dyn Analytics, req: &ReportRequest) -> Result<Report, StoreError> {
    let f = &req.filter;
    let range = timed("time_range", || store.time_range(f))?;
    let (first_call, last_call) = (range.map(|r| r.0), range.map(|r| r.1));
    let second_after = |t: DateTime<Utc>| t.checked_add_signed(Duration::seconds(1)).unwrap_or(t);
    let tz_shift = match (f.since.or(first_call), f.until.or(last_call.map(second_after))) {
        (Some(a), Some(b)) if a < b => offset_segments(req.tz, a, b),
        (Some(a), _) => offset_segments(req.tz, a, second_after(a)),
        _ => Vec::new(),
    };
    let count = Measures::COUNT;

    let Overview { all, by_model: by_model_stats, by_day: by_day_stats, weekday_hour: wh_stats } =
        timed("overview", || store.overview(f, &tz_shift))?;
    let top_users = timed("top_users", || {
        store.group_stats(f, &GroupKey::User, &tz_shift, Measures { distinct: true, ..Measures::BASIC }, req.top_n)
    })?;
    let errors_only = CallFilter { status: Some(CallStatus::Error), ..f.clone() };
    let by_status = timed("by_status", || store.group_stats(&errors_only, &GroupKey::StatusCode, &tz_shift, count, 0))?;
    let by_kind = timed("by_kind", || store.group_stats(&errors_only, &GroupKey::ErrorKind, &tz_shift, count, 0))?;
    let (exact, normalised) = timed("questions", || store.top_questions_both(f, req.top_n))?;
    let sessions = timed("sessions", || store.session_summary(f))?;
    let flags = timed("flags", || store.flag_counts(f))?;
    // The chart's buckets and the slow calls' count from one histogram.
    let edges = histogram::edges(all.latency_p99, 20);
    let merged =
        timed("histogram", || store.latency_histogram(f, &histogram::merged_edges(&edges, req.slow_threshold_ms)))?;
    let (hist, slow) = histogram::split_merged(&merged, &edges, req.slow_threshold_ms);
    let slowest = timed("slowest", || store.call_briefs(f, CallOrder::SlowestFirst, req.top_n))?;

    let flag = |name: &str| flags.iter().find(|(k, _)| k == name).map_or(0, |(_, c)| *c);
    let mut problems = Vec::new();
    for kind in
        [checks::ERROR, checks::EMPTY_RESPONSE, checks::MALFORMED_JSON, checks::INVALID_TOOL_ARGS, checks::TRUNCATED]
    {
        let count = flag(kind);
        if count == 0 {
            continue;
        }
        let ff = CallFilter { flags: [f.flags.clone(), vec![kind.to_string()]].concat(), ..f.clone() };
        problems.push(Problem {
            kind: kind.to_string(),
            count,
            examples: timed("examples", || store.call_briefs(&ff, CallOrder::NewestFirst, req.examples))?,
        });
    }
    if slow > 0 {
        problems.push(Problem {
            kind: "slow".into(),
            count: slow,
            examples: slowest.iter().take(req.examples).cloned().collect(),
        });
    }

    let cost = cost::cost(&by_model_stats, &req.prices);
    let by_model = by_model_stats
        .iter()
        .map(|g| ModelRow {
            model: if g.key.is_empty() { "(unknown)".into() } else { g.key.clone() },
            requests: g.requests,
            share: rate(g.requests, all.requests),
            errors: g.errors,
            error_rate: rate(g.errors, g.requests),
            empty_output: g.empty_output,
            latency_ms: latency(g),
            ttft_ms: ttft(g),
            throughput_tokens_per_s: Throughput { avg: g.tokens_per_s_avg },
            tokens: tokens(g),
            cost_usd: cost.by_model.iter().find(|c| c.model == g.key).map(|c| c.usd),
        })
        .collect();

    let mut by_weekday_hour: Vec<WeekdayHourRow> =
        (0..7).flat_map(|d| (0..24).map(move |h| WeekdayHourRow { weekday: d, hour: h, requests: 0 })).collect();
    for g in &wh_stats {
        let mut it = g.key.split(',').map(|p| p.parse::<u32>().ok());
        if let (Some(Some(d)), Some(Some(h))) = (it.next(), it.next()) {
            if let Some(row) = by_weekday_hour.get_mut((d * 24 + h) as usize) {
                row.requests += g.requests;
            }
        }
    }
    let by_hour = (0..24)
        .map(|h| HourRow {
            hour: h,
            requests: by_weekday_hour.iter().filter(|r| r.hour == h).map(|r| r.requests).sum(),
        })
        .collect();
    let by_day = by_day_stats
        .iter()
        .filter_map(|g| {
            llmscope_core::store::parse_day_key(&g.key).map(|day| DayRow {
                day,
                requests: g.requests,
                errors: g.errors,
                latency_ms: latency(g),
            })
        })
        .collect();

    let question_rows = |v: Vec<llmscope_core::store::QuestionCount>| {
        v.into_iter().map(|q| QuestionRow { question: q.question, count: q.count, variants: q.variants }).collect()
    };

    let malformed = flag(checks::MALFORMED_JSON);
    let mut report = Report {
        schema_version: REPORT_SCHEMA_VERSION,
        generated_at: Utc::now(),
        window: Window { since: f.since, until: f.until, tz: req.tz.name().to_string(), first_call, last_call },
        requests: Requests {
            total: all.requests,
            errors: all.errors,
            error_rate: rate(all.errors, all.requests),
            cancelled: all.cancelled,
            empty_output: all.empty_output,
            success: all.success,
            success_rate: rate(all.success, all.requests),
        },
        latency_ms: latency(&all),
        ttft_ms: ttft(&all),
        throughput_tokens_per_s: Throughput { avg: all.tokens_per_s_avg },
        tokens: tokens(&all),
        cost,
        by_model,
        by_hour,
        by_day,
        by_weekday_hour,
        users: Users {
            active: all.distinct_users,
            calls_without_user: all.calls_without_user,
            top: top_users
                .into_iter()
                .map(|g| UserRow {
                    user: g.key,
                    requests: g.requests,
                    sessions: g.distinct_sessions,
                    errors: g.errors,
                    input_tokens: g.input_tokens,
                    output_tokens: g.output_tokens,
                })
                .collect(),
        },
        sessions,
        errors: Errors { by_status_code: key_counts(by_status), by_kind: key_counts(by_kind) },
        top_questions: question_rows(exact),
        top_questions_normalised: question_rows(normalised),
        compliance: Compliance {
            empty_response: all.empty_output,
            malformed_json: malformed,
            json_mode_calls: all.json_mode_calls,
            malformed_json_rate: rate(malformed, all.json_mode_calls),
            invalid_tool_args: flag(checks::INVALID_TOOL_ARGS),
            truncated: flag(checks::TRUNCATED),
            flags: flags.iter().map(|(k, c)| KeyCount { key: k.clone(), count: *c }).collect(),
        },
        latency_histogram: hist,
        slowest_calls: slowest,
        problems,
        suggestions: Vec::new(),
    };
    report.suggestions = suggest::suggest(&report, req.slow_threshold_ms);
    Ok(report)
}
