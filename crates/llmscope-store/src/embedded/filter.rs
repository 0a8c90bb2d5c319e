//! `CallFilter` → a SQL `WHERE` clause with bound parameters.

use duckdb::types::Value;
use llmscope_core::store::TzShift;
use llmscope_core::CallFilter;

/// A `WHERE` clause (without the keyword; `TRUE` when empty) and its parameters.
#[derive(Debug, Default)]
pub struct Where {
    pub sql: String,
    pub params: Vec<Value>,
}

impl Where {
    fn and(&mut self, cond: &str) {
        if !self.sql.is_empty() {
            self.sql.push_str(" AND ");
        }
        self.sql.push_str(cond);
    }

    fn in_list(&mut self, col: &str, values: &[String]) {
        if values.is_empty() {
            return;
        }
        let marks = vec!["?"; values.len()].join(", ");
        self.and(&format!("{col} IN ({marks})"));
        self.params.extend(values.iter().map(|v| Value::Text(v.clone())));
    }

    /// Adds a raw condition with its parameters.
    pub fn push(&mut self, cond: &str, params: impl IntoIterator<Item = Value>) {
        self.and(cond);
        self.params.extend(params);
    }

    pub fn clause(&self) -> &str {
        if self.sql.is_empty() {
            "TRUE"
        } else {
            &self.sql
        }
    }
}

/// `params` repeated `times` times (for SQL that names one condition several times).
pub fn repeat(params: &[Value], times: usize) -> Vec<Value> {
    (0..times).flat_map(|_| params.iter().cloned()).collect()
}

pub fn build(f: &CallFilter) -> Where {
    let mut w = Where::default();
    if let Some(p) = &f.project {
        w.push("project = ?", [Value::Text(p.clone())]);
    }
    if let Some(t) = f.since {
        w.push("start_time >= make_timestamp(?)", [Value::BigInt(t.timestamp_micros())]);
    }
    if let Some(t) = f.until {
        w.push("start_time < make_timestamp(?)", [Value::BigInt(t.timestamp_micros())]);
    }
    w.in_list("model", &f.models);
    w.in_list("user_id", &f.users);
    w.in_list("session_id", &f.sessions);
    if let Some(s) = f.status {
        w.push("status = ?", [Value::Text(s.as_str().into())]);
    }
    for flag in &f.flags {
        w.push("list_contains(flags, ?)", [Value::Text(flag.clone())]);
    }
    for tag in &f.tags {
        w.push("list_contains(tags, ?)", [Value::Text(tag.clone())]);
    }
    if let Some(t) = f.text.as_ref().filter(|t| !t.is_empty()) {
        // RE2 matching the text as a literal ('l'), folding case as it scans ('i'), where
        // `contains(lower(…))` lowered a copy of every question and answer first (3.5 times
        // slower over 10 M calls; docs/BENCHMARKS.md). RE2 folds case by Unicode's simple
        // folding: "s" also finds "ſ", and "i" does not find "İ" (which lower() made "i").
        // The error message too: a person looks up a failure by what it said ("rate limit").
        w.push(
            "(regexp_matches(input_text, ?, 'il') OR regexp_matches(coalesce(output, ''), ?, 'il') \
             OR regexp_matches(coalesce(error_message, ''), ?, 'il'))",
            [Value::Text(t.clone()), Value::Text(t.clone()), Value::Text(t.clone())],
        );
    }
    if let Some(p) = f.id_prefix.as_ref().filter(|p| !p.is_empty()) {
        w.push("starts_with(id, ?)", [Value::Text(p.to_ascii_lowercase())]);
    }
    if let Some(t) = &f.trace_id {
        // Stored in lower case (W3C's form), whatever case the caller writes.
        w.push("trace_id = ?", [Value::Text(t.to_ascii_lowercase())]);
    }
    w
}

/// SQL for the UTC offset (seconds) in force at `start_time` under a UTC-offset schedule.
/// The offsets are integers we computed, so they are written into the SQL directly.
fn offset_sql(tz: &TzShift) -> String {
    match tz.as_slice() {
        [] => "0".into(),
        [(_, off)] => off.to_string(),
        segs => {
            let mut case = String::from("CASE");
            for (from, off) in segs.iter().skip(1).rev() {
                case.push_str(&format!(" WHEN start_time >= make_timestamp({}) THEN {off}", from.timestamp_micros()));
            }
            case.push_str(&format!(" ELSE {} END", segs[0].1));
            case
        }
    }
}

/// SQL for the local wall-clock time of `start_time` under a UTC-offset schedule.
pub fn local_time(tz: &TzShift) -> String {
    match tz.as_slice() {
        [] => "start_time".into(),
        _ => format!("(start_time + to_seconds({}))", offset_sql(tz)),
    }
}

/// Microseconds in a day.
pub const DAY_US: i64 = 86_400_000_000;

/// SQL: the integer `x` floored to a multiple of `unit` (also below zero, where `%` is negative).
pub fn floor_sql(x: &str, unit: i64) -> String {
    format!("({x} - ((({x}) % {unit}) + {unit}) % {unit})")
}

/// SQL for the local day of `start_time`, as an integer: days since 1970-01-01 (floored,
/// in integer arithmetic: cheaper than a `DATE`).
pub fn local_day(tz: &TzShift) -> String {
    let x = format!("(epoch_us(start_time) + CAST(({}) AS BIGINT) * 1000000)", offset_sql(tz));
    format!("({} // {DAY_US})", floor_sql(&x, DAY_US))
}

/// `col` within `[lo, hi)` (µs), as conditions with their parameters; `start_time` is
/// compared with timestamps (which DuckDB's zone maps can prune).
pub fn between(w: &mut Where, col: &str, (lo, hi): (Option<i64>, Option<i64>)) {
    let at = if col == "start_time" { "make_timestamp(?)" } else { "?" };
    if let Some(lo) = lo {
        w.push(&format!("{col} >= {at}"), [Value::BigInt(lo)]);
    }
    if let Some(hi) = hi {
        w.push(&format!("{col} < {at}"), [Value::BigInt(hi)]);
    }
}
