//! A minimal JSON object writer for the hot path. Strings are escaped exactly
//! as serde_json escapes them, but eight bytes at a time: log text is mostly
//! bytes that need no escaping.

const HEX: &[u8; 16] = b"0123456789abcdef";
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// True when any of the eight bytes is a control character, `"` or `\`.
#[inline]
fn needs_escape(x: u64) -> bool {
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGHS;
    (below_space | zero(x ^ (ONES * u64::from(b'"'))) | zero(x ^ (ONES * u64::from(b'\\')))) != 0
}

/// Bytes that JSON strings must escape: control characters, `"` and `\`.
#[inline]
fn is_special(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

fn escape_byte(b: u8, out: &mut Vec<u8>) {
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        b => out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]),
    }
}

/// Escapes the special bytes of `b[from..to]`, copying clean runs whole;
/// `clean` is where the pending clean run starts.
#[inline]
fn escape_range(b: &[u8], from: usize, to: usize, clean: &mut usize, out: &mut Vec<u8>) {
    for (j, &c) in b.iter().enumerate().take(to).skip(from) {
        if is_special(c) {
            out.extend_from_slice(&b[*clean..j]);
            escape_byte(c, out);
            *clean = j + 1;
        }
    }
}

/// Appends `s` as a JSON string literal.
pub(crate) fn push_str(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    let mut clean = 0; // start of the not yet copied clean run
    let mut i = 0;
    while i + 8 <= b.len() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[i..i + 8]);
        if needs_escape(u64::from_le_bytes(w)) {
            escape_range(b, i, i + 8, &mut clean, out);
        }
        i += 8;
    }
    escape_range(b, i, b.len(), &mut clean, out);
    out.extend_from_slice(&b[clean..]);
    out.push(b'"');
}

pub(crate) fn push_u64(out: &mut Vec<u8>, v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut v = v;
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn push_f64(out: &mut Vec<u8>, v: f64) {
    // serde_json's float formatting: shortest round trip, always with a
    // fraction or exponent, `null` when not finite. Writing to a Vec cannot
    // fail.
    let _ = serde_json::to_writer(&mut *out, &v);
}

/// Writes one JSON object; keys are static names that need no escaping.
/// `py` objects use Python's `json.dumps` separators (`", "` and `": "`),
/// the others are compact like serde_json's.
#[derive(Debug)]
pub(crate) struct Obj<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    py: bool,
}

impl<'a> Obj<'a> {
    pub(crate) fn new(out: &'a mut Vec<u8>, py: bool) -> Self {
        out.push(b'{');
        Obj { out, first: true, py }
    }

    fn key(&mut self, k: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.extend_from_slice(if self.py { b", " } else { b"," });
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(if self.py { b"\": " } else { b"\":" });
        self.out
    }

    pub(crate) fn str(&mut self, k: &str, v: &str) -> &mut Self {
        push_str(self.key(k), v);
        self
    }

    pub(crate) fn opt_str(&mut self, k: &str, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.str(k, v),
            None => self.raw(k, "null"),
        }
    }

    pub(crate) fn u64(&mut self, k: &str, v: u64) -> &mut Self {
        push_u64(self.key(k), v);
        self
    }

    pub(crate) fn i64(&mut self, k: &str, v: i64) -> &mut Self {
        let out = self.key(k);
        if v < 0 {
            out.push(b'-');
        }
        push_u64(out, v.unsigned_abs());
        self
    }

    pub(crate) fn f64(&mut self, k: &str, v: f64) -> &mut Self {
        push_f64(self.key(k), v);
        self
    }

    pub(crate) fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.raw(k, if v { "true" } else { "false" })
    }

    /// `v` must already be valid JSON.
    pub(crate) fn raw(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k).extend_from_slice(v.as_bytes());
        self
    }

    /// Starts a nested object under `k`; end it before writing to `self`.
    pub(crate) fn obj(&mut self, k: &str) -> Obj<'_> {
        let py = self.py;
        Obj::new(self.key(k), py)
    }

    /// Starts an array of objects under `k`.
    pub(crate) fn arr(&mut self, k: &str) -> Arr<'_> {
        let py = self.py;
        let out = self.key(k);
        out.push(b'[');
        Arr { out, first: true, py }
    }

    pub(crate) fn end(&mut self) {
        self.out.push(b'}');
    }
}

/// Writes one JSON array of objects.
#[derive(Debug)]
pub(crate) struct Arr<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    py: bool,
}

impl Arr<'_> {
    pub(crate) fn obj(&mut self) -> Obj<'_> {
        if !self.first {
            self.out.extend_from_slice(if self.py { b", " } else { b"," });
        }
        self.first = false;
        Obj::new(self.out, self.py)
    }

    pub(crate) fn end(&mut self) {
        self.out.push(b']');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn escaping_matches_serde_json() {
        let pieces = [
            "a", "\"", "\\", "\n", "\r", "\t", "\u{8}", "\u{c}", "\u{1}", "\u{1f}", "\u{7f}", "你好", "é", "😀",
            "\u{2028}", " ", "abcdefgh", "/",
        ];
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for _ in 0..5_000 {
            let n = rng.gen_range(0..40);
            let s: String = (0..n).map(|_| pieces[rng.gen_range(0..pieces.len())]).collect();
            let mut mine = Vec::new();
            push_str(&mut mine, &s);
            let theirs = serde_json::to_vec(&s).unwrap_or_default();
            assert_eq!(mine, theirs, "{s:?}");
        }
    }

    #[test]
    fn objects_and_numbers() {
        let mut out = Vec::new();
        let mut o = Obj::new(&mut out, false);
        o.str("a", "x").u64("b", 0).i64("c", -12).f64("d", 1.0).bool("e", true);
        o.opt_str("f", None).raw("g", "[1]");
        let mut m = o.obj("h");
        m.u64("i", 18_446_744_073_709_551_615);
        m.end();
        let mut a = o.arr("j");
        a.obj().end();
        a.obj().str("k", "v").end();
        a.end();
        o.end();
        let text = String::from_utf8(out).unwrap_or_default();
        assert_eq!(
            text,
            r#"{"a":"x","b":0,"c":-12,"d":1.0,"e":true,"f":null,"g":[1],"h":{"i":18446744073709551615},"j":[{},{"k":"v"}]}"#
        );
        let mut out = Vec::new();
        let mut o = Obj::new(&mut out, true);
        o.str("a", "x").u64("b", 1);
        o.obj("c").bool("d", false).u64("e", 2).end();
        o.end();
        let text = String::from_utf8(out).unwrap_or_default();
        assert_eq!(text, r#"{"a": "x", "b": 1, "c": {"d": false, "e": 2}}"#);
    }
}
