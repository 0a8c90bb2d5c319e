//! Parsing of timestamps found in logs and given on the command line, and time-zone shifts.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// Interprets a JSON timestamp: a number is seconds since the epoch (milliseconds above
/// 10¹¹, microseconds above 10¹⁴, nanoseconds above 10¹⁷); a string is RFC 3339, or a naive
/// date-time (`2024-05-01T14:03:22.123`, `2024-05-01 14:03:22`, `2026/1/20 3:05:50`, Python
/// logging's `2024-05-01 14:03:22,123`) read in `naive_tz`, or a bare number.
pub fn parse_log_timestamp(v: &serde_json::Value, naive_tz: Tz) -> Result<DateTime<Utc>, String> {
    match v {
        serde_json::Value::Number(n) => {
            let f = n.as_f64().ok_or_else(|| format!("timestamp {n} is not a number"))?;
            from_epoch_number(f)
        }
        serde_json::Value::String(s) => parse_timestamp_str(s, naive_tz),
        other => Err(format!("timestamp must be a number or a string, found {}", json_type(other))),
    }
}

/// Earliest and latest timestamps accepted from logs: anything outside is a unit mix-up or
/// garbage, not an LLM call.
const MIN_YEAR: i32 = 1990;
const MAX_YEAR: i32 = 2200;

/// `t` when its year is within the accepted range; otherwise an error showing it as `shown`.
pub fn in_range(t: DateTime<Utc>, shown: &str) -> Result<DateTime<Utc>, String> {
    use chrono::Datelike;
    if (MIN_YEAR..=MAX_YEAR).contains(&t.year()) {
        Ok(t)
    } else {
        Err(format!("timestamp {shown} is out of range ({MIN_YEAR} to {MAX_YEAR})"))
    }
}

fn from_epoch_number(f: f64) -> Result<DateTime<Utc>, String> {
    let out_of_range = || {
        let shown = if f.abs() < 1e16 { f.to_string() } else { format!("{f:e}") };
        format!("timestamp {shown} is out of range (an epoch time in the years {MIN_YEAR} to {MAX_YEAR})")
    };
    if !f.is_finite() || f < 0.0 {
        return Err(out_of_range());
    }
    let micros = if f >= 1e17 {
        f / 1e3
    } else if f >= 1e14 {
        f
    } else if f >= 1e11 {
        f * 1e3
    } else {
        f * 1e6
    };
    let t = DateTime::from_timestamp_micros(micros.round() as i64).ok_or_else(out_of_range)?;
    in_range(t, &f.to_string()).map_err(|_| out_of_range())
}

/// Parses a timestamp string (see [`parse_log_timestamp`]).
pub fn parse_timestamp_str(s: &str, naive_tz: Tz) -> Result<DateTime<Utc>, String> {
    parse_timestamp_unchecked(s, naive_tz).and_then(|t| in_range(t, &format!("{s:?}")))
}

fn parse_timestamp_unchecked(s: &str, naive_tz: Tz) -> Result<DateTime<Utc>, String> {
    let t = s.trim();
    // Python logging's `asctime` writes milliseconds after a comma: `2024-05-01 14:03:22,123`.
    let dotted;
    let t = match t.as_bytes().get(19) {
        Some(b',')
            if t.len() > 20 && t.is_char_boundary(19) && t[20..].bytes().take_while(u8::is_ascii_digit).count() > 0 =>
        {
            dotted = format!("{}.{}", &t[..19], &t[20..]);
            dotted.as_str()
        }
        _ => t,
    };
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    // RFC 3339 with a space instead of `T`, or a `+0800` offset.
    for fmt in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(dt) = DateTime::parse_from_str(t, fmt) {
            return Ok(dt.with_timezone(&Utc));
        }
    }
    for fmt in
        ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y/%m/%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
    {
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, fmt) {
            return local_to_utc(naive, naive_tz);
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return local_to_utc(d.and_hms_opt(0, 0, 0).unwrap_or_default(), naive_tz);
    }
    if let Ok(f) = t.parse::<f64>() {
        return from_epoch_number(f);
    }
    Err(format!("cannot read {s:?} as a timestamp (expected RFC 3339, `YYYY-MM-DD HH:MM:SS` or epoch seconds)"))
}

/// Converts a local wall-clock time to UTC; in a DST gap or fold the earlier instant wins.
pub fn local_to_utc(naive: NaiveDateTime, tz: Tz) -> Result<DateTime<Utc>, String> {
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        chrono::LocalResult::Ambiguous(a, _) => Ok(a.with_timezone(&Utc)),
        // A gap (spring forward): move past it.
        chrono::LocalResult::None => tz
            .from_local_datetime(&naive.checked_add_signed(Duration::hours(1)).unwrap_or(naive))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| format!("{naive} does not exist in {tz}")),
    }
}

/// Parses a command-line time: anything [`parse_timestamp_str`] takes (naive ones in `tz`),
/// or a duration ago: `30m`, `24h`, `7d`, `2w`.
pub fn parse_cli_time(s: &str, tz: Tz, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = s.trim();
    if let Some(d) = parse_duration_ago(t) {
        return now.checked_sub_signed(d).ok_or_else(|| format!("{t} ago is out of range"));
    }
    parse_timestamp_str(t, tz)
}

fn parse_duration_ago(t: &str) -> Option<Duration> {
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = num.parse().ok()?;
    match unit {
        "s" => Duration::try_seconds(n),
        "m" | "min" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        _ => None,
    }
}

/// Parses a time-zone name (`UTC`, `Asia/Shanghai`, `Europe/Warsaw`).
pub fn parse_tz(s: &str) -> Result<Tz, String> {
    s.parse::<Tz>().map_err(|_| format!("unknown time zone {s:?} (use an IANA name such as Asia/Shanghai)"))
}

/// The UTC offsets of a zone over a time range, as `(from, offset_seconds)` segments sorted by
/// `from`: the first segment starts at `start`, each later one at a transition. Storage
/// backends turn this into a SQL `CASE` so that local hours and days are computed in the
/// database, exactly, across DST changes.
pub fn offset_segments(tz: Tz, start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<(DateTime<Utc>, i32)> {
    let offset_at = |t: DateTime<Utc>| tz.offset_from_utc_datetime(&t.naive_utc()).fix().local_minus_utc();
    let mut segs = vec![(start, offset_at(start))];
    // Offsets change at most a few times a year; probe every 6 hours and bisect each change
    // down to the second.
    // Only the accepted years can hold calls: the probes stay within them (a window of
    // far-off dates would otherwise take billions of steps).
    let step = Duration::hours(6);
    let year =
        |y: i32| chrono::NaiveDate::from_ymd_opt(y, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc());
    let end = year(MAX_YEAR + 1).map_or(end, |last| end.min(last));
    let mut t = year(MIN_YEAR).map_or(start, |first| start.max(first));
    if t > start && t < end && offset_at(t) != segs[0].1 {
        segs.push((t, offset_at(t)));
    }
    while t < end {
        let next = t.checked_add_signed(step).unwrap_or(end).min(end);
        let (a, b) = (offset_at(t), offset_at(next));
        if a != b {
            // Transitions fall on whole seconds: bisect over integer seconds.
            let (mut lo, mut hi) = (t.timestamp(), next.timestamp());
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                let at = DateTime::from_timestamp(mid, 0).unwrap_or(t);
                if offset_at(at) == a {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let hi = DateTime::from_timestamp(hi, 0).unwrap_or(next);
            segs.push((hi, b));
        }
        t = next;
    }
    segs
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn epoch_numbers_of_every_unit() {
        let want = utc("2024-12-31T23:53:54Z");
        for v in [json!(1735689234), json!(1735689234000u64), json!(1735689234000000u64), json!(1735689234.0)] {
            assert_eq!(parse_log_timestamp(&v, Tz::UTC), Ok(want), "{v}");
        }
        assert!(parse_log_timestamp(&json!(-5), Tz::UTC).is_err());
        assert!(parse_log_timestamp(&json!(true), Tz::UTC).is_err());
        // Nanoseconds far in the future, and year 1970 from a tiny number, are refused.
        assert!(parse_log_timestamp(&json!(9e18), Tz::UTC).is_err());
        assert!(parse_log_timestamp(&json!(5), Tz::UTC).is_err());
    }

    #[test]
    fn strings_naive_and_zoned() {
        assert_eq!(parse_timestamp_str("2024-05-01T14:03:22.5", Tz::UTC), Ok(utc("2024-05-01T14:03:22.5Z")));
        assert_eq!(parse_timestamp_str("2024-05-01T14:03:22+08:00", Tz::UTC), Ok(utc("2024-05-01T06:03:22Z")));
        assert_eq!(parse_timestamp_str("2024-05-01 14:03:22", Tz::Asia__Shanghai), Ok(utc("2024-05-01T06:03:22Z")));
        // Python logging's asctime, milliseconds after a comma.
        assert_eq!(parse_timestamp_str("2024-05-01 14:03:22,123", Tz::UTC), Ok(utc("2024-05-01T14:03:22.123Z")));
        assert_eq!(parse_timestamp_str("2024-05-01 14:03:22,123+0800", Tz::UTC), Ok(utc("2024-05-01T06:03:22.123Z")));
        assert!(parse_timestamp_str("2024-05-01 14:03:22,", Tz::UTC).is_err());
        assert!(parse_timestamp_str("2024-05-01 14:03:2,12", Tz::UTC).is_err());
        assert_eq!(parse_timestamp_str("2026/1/20 3:05:50", Tz::UTC), Ok(utc("2026-01-20T03:05:50Z")));
        assert!(parse_timestamp_str("yesterday-ish", Tz::UTC).is_err());
    }

    #[test]
    fn cli_durations() {
        let now = utc("2024-05-02T00:00:00Z");
        assert_eq!(parse_cli_time("24h", Tz::UTC, now), Ok(utc("2024-05-01T00:00:00Z")));
        assert_eq!(parse_cli_time("2024-05-01", Tz::UTC, now), Ok(utc("2024-05-01T00:00:00Z")));
        assert!(parse_cli_time("99999999999d", Tz::UTC, now).is_err());
    }

    #[test]
    fn dst_segments_for_warsaw() {
        let segs = offset_segments(Tz::Europe__Warsaw, utc("2024-03-01T00:00:00Z"), utc("2024-11-01T00:00:00Z"));
        assert_eq!(segs.len(), 3);
        assert_eq!(segs[0].1, 3600);
        assert_eq!(segs[1], (utc("2024-03-31T01:00:00Z"), 7200));
        assert_eq!(segs[2], (utc("2024-10-27T01:00:00Z"), 3600));
        // Far-off windows (dates chrono can hold but no call can have) are probed over the
        // accepted years only, and nothing overflows.
        let wide = offset_segments(Tz::Asia__Shanghai, DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
        assert_eq!(wide.last().map(|s| s.1), Some(28800));
        assert!(wide.len() < 100, "{}", wide.len());
        let naive = chrono::NaiveDate::from_ymd_opt(262142, 12, 31).and_then(|d| d.and_hms_opt(23, 30, 0));
        if let Some(n) = naive {
            let _ = local_to_utc(n, Tz::America__New_York);
        }
        let fixed = offset_segments(Tz::Asia__Shanghai, utc("2024-01-01T00:00:00Z"), utc("2025-01-01T00:00:00Z"));
        assert_eq!(fixed, vec![(utc("2024-01-01T00:00:00Z"), 28800)]);
    }
}
