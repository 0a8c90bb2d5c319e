//! Timestamps and identifiers, written into reusable strings without going
//! through a date library on the hot path.

use rand::Rng;

const HEX: &[u8; 16] = b"0123456789abcdef";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Writes `v` as `width` zero-padded digits into `buf[at..at + width]`.
fn put_num(buf: &mut [u8], at: usize, width: usize, v: u64) {
    let mut v = v;
    for i in (at..at + width).rev() {
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// `YYYY-MM-DDTHH:MM:SS.ffffff` of `us` microseconds since the epoch (years
/// 0 to 9999).
fn datetime(us: i64) -> ([u8; 26], u32) {
    let secs = us.div_euclid(1_000_000);
    let micros = us.rem_euclid(1_000_000) as u32;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400) as u64;
    let mut b = *b"0000-00-00T00:00:00.000000";
    put_num(&mut b, 0, 4, y.clamp(0, 9999) as u64);
    put_num(&mut b, 5, 2, u64::from(m));
    put_num(&mut b, 8, 2, u64::from(d));
    put_num(&mut b, 11, 2, sod / 3600);
    put_num(&mut b, 14, 2, sod / 60 % 60);
    put_num(&mut b, 17, 2, sod % 60);
    put_num(&mut b, 20, 6, u64::from(micros));
    (b, micros)
}

fn push_ascii(out: &mut String, b: &[u8]) {
    // Only ever called with ASCII digits and punctuation.
    out.push_str(std::str::from_utf8(b).unwrap_or_default());
}

/// As Python's naive `datetime.isoformat()`: microseconds only when non-zero.
pub(crate) fn python_iso(out: &mut String, us: i64) {
    out.clear();
    let (b, micros) = datetime(us);
    push_ascii(out, if micros != 0 { &b } else { &b[..19] });
}

/// RFC 3339 in UTC with milliseconds and `Z`.
pub(crate) fn rfc3339_ms(out: &mut String, us: i64) {
    out.clear();
    let (b, _) = datetime(us);
    push_ascii(out, &b[..23]);
    out.push('Z');
}

/// RFC 3339 in UTC as Go's `time.RFC3339Nano` writes it (the fraction's trailing zeros
/// dropped, and the dot with them when it is zero), to the microsecond.
pub(crate) fn rfc3339_go(out: &mut String, us: i64) {
    out.clear();
    let (b, _) = datetime(us);
    let frac = b[20..].iter().rposition(|&c| c != b'0').map_or(0, |i| i + 1);
    push_ascii(out, &b[..if frac == 0 { 19 } else { 20 + frac }]);
    out.push('Z');
}

/// A random UUID version 4, lowercase and hyphenated.
pub(crate) fn uuid4(rng: &mut impl Rng, out: &mut String) {
    out.clear();
    let mut bytes: [u8; 16] = rng.gen();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut text = [b'-'; 36];
    let mut j = 0;
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            j += 1;
        }
        text[j] = HEX[usize::from(b >> 4)];
        text[j + 1] = HEX[usize::from(b & 0x0f)];
        j += 2;
    }
    push_ascii(out, &text);
}

/// `prefix` followed by `n` random characters from `alphabet`.
fn push_random(rng: &mut impl Rng, out: &mut String, prefix: &str, n: usize, alphabet: &[u8]) {
    out.clear();
    out.push_str(prefix);
    let mut text = [0u8; 32];
    for c in text.iter_mut().take(n) {
        *c = alphabet[rng.gen_range(0..alphabet.len())];
    }
    push_ascii(out, &text[..n.min(32)]);
}

/// seed001's `req_` and 12 lowercase alphanumerics.
pub(crate) fn request_id(rng: &mut impl Rng, out: &mut String) {
    push_random(rng, out, "req_", 12, LOWER_ALNUM);
}

/// A completion id: OpenAI's 29 alphanumerics, or vLLM's 32 hex digits.
pub(crate) fn completion_id(rng: &mut impl Rng, out: &mut String, openai: bool) {
    if openai {
        push_random(rng, out, "chatcmpl-", 29, ALNUM);
    } else {
        push_random(rng, out, "chatcmpl-", 32, HEX);
    }
}

/// `prefix` and `n` (at most 32) random lowercase hex digits.
pub(crate) fn hex_id(rng: &mut impl Rng, out: &mut String, prefix: &str, n: usize) {
    push_random(rng, out, prefix, n, HEX);
}

/// `prefix` and `n` (at most 32) random alphanumerics, upper and lower case.
pub(crate) fn alnum_id(rng: &mut impl Rng, out: &mut String, prefix: &str, n: usize) {
    push_random(rng, out, prefix, n, ALNUM);
}

/// A tool call id, `call_` and 24 alphanumerics.
pub(crate) fn tool_call_id(rng: &mut impl Rng, out: &mut String) {
    push_random(rng, out, "call_", 24, ALNUM);
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, NaiveDateTime};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn timestamps_match_chrono() {
        let mut s = String::new();
        for us in [
            0i64,
            1_736_121_600_000_000,
            1_736_157_802_123_456,
            951_782_400_000_001, // 2000-02-29
            4_102_444_799_999_999,
        ] {
            let dt = DateTime::from_timestamp_micros(us).map(|d| d.naive_utc());
            python_iso(&mut s, us);
            let parsed = NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%.f").ok();
            assert_eq!(parsed, dt, "{s}");
            if us % 1_000_000 == 0 {
                assert_eq!(s.len(), 19, "{s}");
            } else {
                assert_eq!(s.len(), 26, "{s}");
            }
            rfc3339_ms(&mut s, us);
            let parsed = DateTime::parse_from_rfc3339(&s).map(|d| d.timestamp_millis());
            assert_eq!(parsed.ok(), Some(us.div_euclid(1000)), "{s}");
        }
        python_iso(&mut s, 1_736_157_802_123_456);
        assert_eq!(s, "2025-01-06T10:03:22.123456");
        for (us, go) in [
            (1_736_157_802_123_456, "2025-01-06T10:03:22.123456Z"),
            (1_736_157_802_120_000, "2025-01-06T10:03:22.12Z"),
            (1_736_157_802_000_000, "2025-01-06T10:03:22Z"),
        ] {
            rfc3339_go(&mut s, us);
            assert_eq!(s, go);
            assert_eq!(DateTime::parse_from_rfc3339(&s).map(|d| d.timestamp_micros()).ok(), Some(us));
        }
    }

    #[test]
    fn ids_have_their_shapes() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut s = String::new();
        uuid4(&mut rng, &mut s);
        assert_eq!(s.len(), 36);
        assert_eq!(&s[14..15], "4");
        assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"));
        request_id(&mut rng, &mut s);
        assert_eq!(s.len(), 16);
        completion_id(&mut rng, &mut s, true);
        assert_eq!(s.len(), 38);
        tool_call_id(&mut rng, &mut s);
        assert_eq!(s.len(), 29);
    }
}
