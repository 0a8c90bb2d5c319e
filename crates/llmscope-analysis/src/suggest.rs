//! Improvement suggestions drawn from a report's numbers, like seed 000's daily report
//! ("found N poor responses, check them"; "N calls slower than 2 s") but with the evidence
//! attached and a concrete action. Thresholds are deliberately simple and documented here.

use crate::report::{Report, Severity, Suggestion};

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn s(severity: Severity, message: String, evidence: String) -> Suggestion {
    Suggestion { severity, message, evidence }
}

/// Suggestions, most severe first.
pub fn suggest(r: &Report, slow_threshold_ms: f64) -> Vec<Suggestion> {
    let mut out = Vec::new();
    let total = r.requests.total;
    if total == 0 {
        out.push(s(
            Severity::Info,
            "No calls in this window: check that logging reaches llmscope.".into(),
            "0 calls".into(),
        ));
        return out;
    }
    let t = total as f64;

    // Errors.
    if r.requests.error_rate >= 0.01 {
        let sev = if r.requests.error_rate >= 0.05 { Severity::Critical } else { Severity::Warning };
        let top_kind = r
            .errors
            .by_kind
            .iter()
            .find(|k| !k.key.is_empty())
            .map(|k| format!("; most common: {} ({})", k.key, k.count))
            .unwrap_or_default();
        // The advice names a cause only when it accounts for at least half of the failures.
        let codes = |pred: &dyn Fn(&str) -> bool| -> u64 {
            r.errors.by_status_code.iter().filter(|k| pred(&k.key)).map(|k| k.count).sum()
        };
        let half = |n: u64| n > 0 && 2 * n >= r.requests.errors;
        let action = if half(codes(&|c| c == "429")) {
            "Calls are being rate-limited: add client-side retries with backoff, or raise the upstream's limits."
        } else if half(codes(&|c| c.len() == 3 && c.starts_with('5'))) {
            "The upstream is failing: check the model server's health, memory and queue, and add retries for 5xx."
        } else {
            "Read the failed calls below and fix their most common cause."
        };
        out.push(s(
            sev,
            action.into(),
            format!("{} of {} calls failed ({}){}", r.requests.errors, total, pct(r.requests.error_rate), top_kind),
        ));
    }
    // Per-model error outliers.
    for m in &r.by_model {
        if m.requests >= 20 && m.error_rate >= 0.05 && m.error_rate >= 2.0 * r.requests.error_rate.max(0.005) {
            out.push(s(
                Severity::Warning,
                format!("Model {} fails far more often than the others: check its deployment.", m.model),
                format!("{} error rate vs {} overall", pct(m.error_rate), pct(r.requests.error_rate)),
            ));
        }
    }
    // Empty outputs on calls that did not fail.
    // (Calls are ok, failed or cancelled; the ok ones not counted as successes had an empty output.)
    let q = &r.requests;
    let empty_ok = total.saturating_sub(q.errors).saturating_sub(q.cancelled).saturating_sub(q.success);
    if empty_ok as f64 / t >= 0.005 {
        out.push(s(
            Severity::Warning,
            "Some successful calls returned nothing: check stop sequences, max_tokens and the chat template.".into(),
            format!(
                "{empty_ok} calls without an error returned an empty output ({} of all calls)",
                pct(empty_ok as f64 / t)
            ),
        ));
    }
    // Malformed JSON.
    if r.compliance.malformed_json > 0 && r.compliance.malformed_json_rate >= 0.01 {
        out.push(s(
            if r.compliance.malformed_json_rate >= 0.05 { Severity::Critical } else { Severity::Warning },
            "JSON was requested but not returned: use json_schema / guided decoding, lower the temperature, or validate and retry.".into(),
            format!("{} of {} JSON-mode calls did not parse ({})", r.compliance.malformed_json, r.compliance.json_mode_calls, pct(r.compliance.malformed_json_rate)),
        ));
    }
    if r.compliance.invalid_tool_args > 0 {
        out.push(s(
            Severity::Warning,
            "Tool calls came with invalid JSON arguments: tighten the tool schemas or validate arguments before executing.".into(),
            format!("{} calls with invalid tool arguments", r.compliance.invalid_tool_args),
        ));
    }
    // Truncation.
    if r.compliance.truncated as f64 / t >= 0.01 {
        out.push(s(
            Severity::Warning,
            "Answers are being cut off at the token limit: raise max_tokens or ask for shorter answers.".into(),
            format!(
                "{} calls stopped with finish_reason=length ({})",
                r.compliance.truncated,
                pct(r.compliance.truncated as f64 / t)
            ),
        ));
    }
    // Latency.
    if let Some(slow) = r.problems.iter().find(|p| p.kind == "slow") {
        let share = slow.count as f64 / t;
        if share >= 0.05 {
            out.push(s(
                if share >= 0.25 { Severity::Critical } else { Severity::Warning },
                "Many calls are slow: stream responses, cap max_tokens, enable prefix caching, or add capacity at peak hours.".into(),
                format!("{} calls ({}) took longer than {:.1} s; p95 {:.0} ms", slow.count, pct(share), slow_threshold_ms / 1000.0, r.latency_ms.p95.unwrap_or(0.0)),
            ));
        }
    }
    if let Some(p95) = r.ttft_ms.p95.filter(|v| *v >= 1000.0) {
        out.push(s(
            Severity::Warning,
            "Users wait long for the first token: check queueing on the model server, long prompts, and prefix caching.".into(),
            format!("TTFT p95 {p95:.0} ms"),
        ));
    }
    for m in &r.by_model {
        if let Some(tps) = m.throughput_tokens_per_s.avg.filter(|v| *v < 20.0 && m.requests >= 20) {
            out.push(s(
                Severity::Info,
                format!("Model {} generates slowly: check batching, quantisation and GPU utilisation.", m.model),
                format!("{tps:.1} tokens/s on average over {} calls", m.requests),
            ));
        }
    }
    // Load shape.
    let peak = r.by_hour.iter().max_by_key(|h| h.requests);
    if let Some(p) = peak.filter(|p| p.requests as f64 / t >= 0.15) {
        out.push(s(
            Severity::Info,
            format!(
                "Traffic is concentrated around {:02}:00 ({}): plan capacity and autoscaling for that hour.",
                p.hour, r.window.tz
            ),
            format!("{} of calls in that hour", pct(p.requests as f64 / t)),
        ));
    }
    // Repeated questions.
    if let Some(q) = r.top_questions_normalised.first().filter(|q| q.count >= 10 && q.count as f64 / t >= 0.02) {
        out.push(s(
            Severity::Info,
            "One question keeps coming back: answer it in the UI (FAQ, suggested prompt) or cache the answer.".into(),
            format!(
                "\"{}\" asked {} times ({})",
                llmscope_core::text::snippet(&q.question, 60),
                q.count,
                pct(q.count as f64 / t)
            ),
        ));
    }
    // Cost coverage.
    if !r.cost.unpriced_models.is_empty() {
        let names: Vec<&str> = r.cost.unpriced_models.iter().map(|m| m.model.as_str()).take(5).collect();
        out.push(s(
            Severity::Info,
            "Some models have no price, so the cost shown is incomplete: add them under [prices] in the config (0 for self-hosted if that is what you mean).".into(),
            format!("unpriced: {}", names.join(", ")),
        ));
    }
    if r.tokens.input_avg.is_none() && r.tokens.output_avg.is_none() {
        out.push(s(
            Severity::Info,
            "The logs carry no token counts: log the upstream's `usage`, or send calls through the llmscope proxy."
                .into(),
            "0 calls with token counts".into(),
        ));
    }
    out.sort_by_key(|x| match x.severity {
        Severity::Critical => 0,
        Severity::Warning => 1,
        Severity::Info => 2,
    });
    out
}
