//! The report as Markdown. The same text, rendered, is the HTML report.

use std::fmt::Write as _;

use llmscope_analysis::report::{Latency, Severity};
use llmscope_analysis::Report;
use llmscope_core::store::CallBrief;

use crate::charts::render_svg;
use crate::figures::{figures, Figure};
use crate::fmt::{cell, int, ms, num, pct, usd};

/// How charts appear in the Markdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartEmbed {
    /// `![title](charts/NAME.png)` — the files are written beside the report.
    PngLinks,
    /// Inline `<svg>` blocks (for the HTML page).
    InlineSvg,
    /// No charts (Markdown on standard output).
    Omit,
}

/// Renders the report as Markdown.
pub fn render(r: &Report, embed: ChartEmbed) -> String {
    let mut m = String::with_capacity(16 * 1024);
    let figs = figures(r);
    let fig = |name: &str| figs.iter().find(|f| f.name == name);
    let w = &mut m;

    let span = match (r.window.since.or(r.window.first_call), r.window.until.or(r.window.last_call)) {
        (Some(a), Some(b)) => format!("{} – {}", a.format("%Y-%m-%d %H:%M"), b.format("%Y-%m-%d %H:%M UTC")),
        _ => "no calls".into(),
    };
    let _ = writeln!(w, "# LLM call report\n");
    let _ = writeln!(
        w,
        "Window: {span} · hours and days in {} · generated {}\n",
        r.window.tz,
        r.generated_at.format("%Y-%m-%d %H:%M UTC")
    );

    // --- summary ---
    let q = &r.requests;
    let _ = writeln!(w, "## Summary\n");
    let _ = writeln!(w, "| Metric | Value |\n|---|---|");
    let rows: Vec<(String, String)> = vec![
        ("Requests".into(), int(q.total)),
        ("Errors".into(), format!("{} ({})", int(q.errors), pct(q.error_rate))),
        ("Empty outputs".into(), int(q.empty_output)),
        ("Success rate".into(), pct(q.success_rate)),
        ("Latency avg / p50 / p90 / p95 / p99".into(), latency_line(&r.latency_ms)),
        (
            "TTFT p50 / p95 / p99".into(),
            format!("{} / {} / {}", ms(r.ttft_ms.p50), ms(r.ttft_ms.p95), ms(r.ttft_ms.p99)),
        ),
        ("Throughput (output tokens/s, mean)".into(), num(r.throughput_tokens_per_s.avg, 1)),
        (
            "Tokens in / out (avg per call)".into(),
            format!(
                "{} / {} ({} / {})",
                int(r.tokens.input_total),
                int(r.tokens.output_total),
                num(r.tokens.input_avg, 1),
                num(r.tokens.output_avg, 1)
            ),
        ),
        ("Cost".into(), cost_line(r)),
        ("Active users".into(), int(r.users.active)),
        (
            "Sessions (avg turns, avg duration)".into(),
            format!(
                "{} ({}, {} s)",
                int(r.sessions.sessions),
                num(r.sessions.turns_avg, 1),
                num(r.sessions.duration_avg_s, 0)
            ),
        ),
    ];
    for (k, v) in rows {
        let _ = writeln!(w, "| {k} | {v} |");
    }
    let _ = writeln!(w);

    // --- suggestions ---
    let _ = writeln!(w, "## Suggestions\n");
    if r.suggestions.is_empty() {
        let _ = writeln!(w, "Nothing stands out in this window.\n");
    }
    for s in &r.suggestions {
        let tag = match s.severity {
            Severity::Critical => "**critical**",
            Severity::Warning => "**warning**",
            Severity::Info => "info",
        };
        let _ = writeln!(w, "- {tag}: {} — _{}_", cell(&s.message), cell(&s.evidence));
    }
    let _ = writeln!(w);

    // --- volume ---
    let _ = writeln!(w, "## Volume\n");
    chart(w, fig("hourly_volume"), embed);
    chart(w, fig("daily_volume"), embed);
    chart(w, fig("weekday_hour"), embed);
    if !r.by_day.is_empty() {
        let _ = writeln!(w, "| Day | Requests | Errors | p50 | p95 |\n|---|---:|---:|---:|---:|");
        for d in &r.by_day {
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | {} |",
                d.day,
                int(d.requests),
                int(d.errors),
                ms(d.latency_ms.p50),
                ms(d.latency_ms.p95)
            );
        }
        let _ = writeln!(w);
    }
    let busiest: Vec<String> = {
        let mut h: Vec<_> = r.by_hour.iter().filter(|h| h.requests > 0).collect();
        h.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.hour.cmp(&b.hour)));
        h.iter().take(3).map(|h| format!("{:02}:00 ({})", h.hour, int(h.requests))).collect()
    };
    if !busiest.is_empty() {
        let _ = writeln!(w, "Busiest hours: {}.\n", busiest.join(", "));
    }

    // --- latency ---
    let _ = writeln!(w, "## Latency\n");
    chart(w, fig("latency_histogram"), embed);
    chart(w, fig("latency_by_day"), embed);

    // --- models ---
    let _ = writeln!(w, "## Models\n");
    chart(w, fig("model_share"), embed);
    chart(w, fig("throughput_by_model"), embed);
    let _ = writeln!(
        w,
        "| Model | Requests | Share | Errors | p50 | p95 | p99 | TTFT p95 | Tokens/s | Tokens in / out | Cost |"
    );
    let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for mrow in &r.by_model {
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} ({}) | {} | {} | {} | {} | {} | {} / {} | {} |",
            cell(&mrow.model),
            int(mrow.requests),
            pct(mrow.share),
            int(mrow.errors),
            pct(mrow.error_rate),
            ms(mrow.latency_ms.p50),
            ms(mrow.latency_ms.p95),
            ms(mrow.latency_ms.p99),
            ms(mrow.ttft_ms.p95),
            num(mrow.throughput_tokens_per_s.avg, 1),
            int(mrow.tokens.input_total),
            int(mrow.tokens.output_total),
            mrow.cost_usd.map_or_else(|| "unpriced".into(), usd),
        );
    }
    let _ = writeln!(w);
    if !r.cost.unpriced_models.is_empty() {
        let names: Vec<String> = r
            .cost
            .unpriced_models
            .iter()
            // Escaped text, not a code span: inside one the escapes would show as written.
            .map(|u| format!("**{}** ({} calls)", cell(&u.model), int(u.requests)))
            .collect();
        let _ = writeln!(w, "Unpriced models (cost unknown, not counted as zero): {}. Add their prices under `[prices]` in the config.\n", names.join(", "));
    }

    // --- users and sessions ---
    let _ = writeln!(w, "## Users and sessions\n");
    let _ = writeln!(
        w,
        "{} active users; {} calls carry no user id. {} sessions: {} turns on average (median {}, max {}), lasting {} s on average (median {} s, p95 {} s); {} calls carry no session id.\n",
        int(r.users.active),
        int(r.users.calls_without_user),
        int(r.sessions.sessions),
        num(r.sessions.turns_avg, 1),
        num(r.sessions.turns_p50, 0),
        r.sessions.turns_max,
        num(r.sessions.duration_avg_s, 0),
        num(r.sessions.duration_p50_s, 0),
        num(r.sessions.duration_p95_s, 0),
        int(r.sessions.calls_without_session),
    );
    if !r.users.top.is_empty() {
        let _ = writeln!(w, "| User | Requests | Sessions | Errors | Tokens in / out |\n|---|---:|---:|---:|---:|");
        for u in &r.users.top {
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | {} / {} |",
                cell(&u.user),
                int(u.requests),
                int(u.sessions),
                int(u.errors),
                int(u.input_tokens),
                int(u.output_tokens)
            );
        }
        let _ = writeln!(w);
    }

    // --- questions ---
    let _ = writeln!(w, "## Top questions\n");
    for (title, rows) in [
        ("Exact (trimmed)", &r.top_questions),
        ("Grouped (case, spacing, punctuation and trailing numbers ignored)", &r.top_questions_normalised),
    ] {
        let _ = writeln!(w, "**{title}**\n");
        if rows.is_empty() {
            let _ = writeln!(w, "No question text recorded.\n");
            continue;
        }
        let _ = writeln!(w, "| # | Question | Count | Spellings |\n|---:|---|---:|---:|");
        for (i, q) in rows.iter().enumerate() {
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} |",
                i + 1,
                cell(&llmscope_core::text::snippet(&q.question, 80)),
                int(q.count),
                q.variants
            );
        }
        let _ = writeln!(w);
    }

    // --- errors and compliance ---
    let _ = writeln!(w, "## Errors and compliance\n");
    let c = &r.compliance;
    let _ = writeln!(w, "| Check | Calls |\n|---|---:|");
    let _ = writeln!(w, "| Errors | {} |", int(q.errors));
    let _ = writeln!(w, "| Empty response | {} |", int(c.empty_response));
    let _ = writeln!(
        w,
        "| Malformed JSON (of {} JSON-mode calls) | {} ({}) |",
        int(c.json_mode_calls),
        int(c.malformed_json),
        pct(c.malformed_json_rate)
    );
    let _ = writeln!(w, "| Invalid tool-call arguments | {} |", int(c.invalid_tool_args));
    let _ = writeln!(w, "| Truncated (finish_reason = length) | {} |", int(c.truncated));
    let _ = writeln!(w);
    chart(w, fig("compliance_flags"), embed);
    if !r.errors.by_kind.is_empty() {
        let kinds: Vec<String> = r
            .errors
            .by_kind
            .iter()
            .map(|k| format!("{} ({})", if k.key.is_empty() { "unknown" } else { &k.key }, int(k.count)))
            .collect();
        let codes: Vec<String> = r
            .errors
            .by_status_code
            .iter()
            .map(|k| format!("{} ({})", if k.key.is_empty() { "none" } else { &k.key }, int(k.count)))
            .collect();
        let _ = writeln!(w, "Errors by kind: {}. By HTTP status: {}.\n", kinds.join(", "), codes.join(", "));
    }

    // --- the calls behind the numbers ---
    let _ = writeln!(w, "## The calls behind the problems\n");
    if r.problems.is_empty() {
        let _ = writeln!(w, "No problem calls in this window.\n");
    }
    for p in &r.problems {
        let _ = writeln!(w, "### {} ({} calls)\n", p.kind, int(p.count));
        briefs(w, &p.examples);
    }
    let _ = writeln!(w, "## Slowest calls\n");
    briefs(w, &r.slowest_calls);

    let _ = writeln!(
        w,
        "---\n\nPercentiles are exact, by linear interpolation between closest ranks (numpy's default, DuckDB's `quantile_cont`). \
         Throughput is the mean over calls of output tokens ÷ latency. Read any call with `llmscope calls --id ID`, or list them with `llmscope calls --flag FLAG`."
    );
    m
}

fn latency_line(l: &Latency) -> String {
    format!("{} / {} / {} / {} / {}", ms(l.avg), ms(l.p50), ms(l.p90), ms(l.p95), ms(l.p99))
}

fn cost_line(r: &Report) -> String {
    let mut s = usd(r.cost.total_usd);
    if !r.cost.unpriced_models.is_empty() {
        let _ = write!(s, " + {} unpriced model(s)", r.cost.unpriced_models.len());
    }
    s
}

fn chart(w: &mut String, f: Option<&Figure>, embed: ChartEmbed) {
    let Some(f) = f else { return };
    match embed {
        ChartEmbed::PngLinks => {
            let _ = writeln!(w, "![{}](charts/{}.png)\n", cell(f.chart.title()), f.name);
        }
        ChartEmbed::InlineSvg => {
            let _ = writeln!(w, "<figure class=\"chart\">{}</figure>\n", render_svg(&f.chart).trim());
        }
        ChartEmbed::Omit => {}
    }
}

fn briefs(w: &mut String, calls: &[CallBrief]) {
    if calls.is_empty() {
        let _ = writeln!(w, "None.\n");
        return;
    }
    let _ = writeln!(w, "| Call | Time (UTC) | Model | User | Latency | Status | Input | Output | Source |\n|---|---|---|---|---:|---|---|---|---|");
    for c in calls {
        let status = match &c.error_kind {
            Some(k) => format!("{} ({k})", c.status),
            None => c.status.clone(),
        };
        let _ = writeln!(
            w,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} |",
            c.id.chars().take(12).collect::<String>(),
            c.start_time.format("%Y-%m-%d %H:%M:%S"),
            cell(c.model.as_deref().unwrap_or("")),
            cell(c.user_id.as_deref().unwrap_or("")),
            ms(c.latency_ms),
            cell(&status),
            cell(&c.input_snippet),
            cell(&c.output_snippet),
            cell(c.source.as_deref().unwrap_or("")),
        );
    }
    let _ = writeln!(w);
}
