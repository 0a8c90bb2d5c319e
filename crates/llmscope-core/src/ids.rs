//! Identifiers: content-derived ids for imported records, random ids for live ones.

use xxhash_rust::xxh3::{xxh3_128, Xxh3};

/// A 32-hex-digit id derived from bytes (xxh3-128). Used for imported lines so that importing
/// the same line twice yields the same id.
pub fn content_id(bytes: &[u8]) -> String {
    hex(xxh3_128(bytes), 32)
}

/// A trace or span id as given (`len` hex digits, either case, not all zero, as W3C Trace
/// Context requires), in lower case; `None` when it is not one.
pub fn parse_hex_id(s: &str, len: usize) -> Option<String> {
    let ok = s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit()) && s.bytes().any(|b| b != b'0');
    ok.then(|| s.to_ascii_lowercase())
}

/// Trace id for a record that has none of its own: derived from its call id, so that it is
/// stable across re-imports (xxh3-128 of `trace:<call id>`).
pub fn trace_id_for(call_id: &str) -> String {
    hex(hash_with(b"trace:", call_id), 32)
}

/// Span id (16 hex digits) derived from a call id (xxh3-128 of `span:<call id>`, low half).
pub fn span_id_for(call_id: &str) -> String {
    hex(hash_with(b"span:", call_id), 16)
}

/// xxh3-128 of `prefix` followed by `text`, without joining them first.
fn hash_with(prefix: &[u8], text: &str) -> u128 {
    let mut h = Xxh3::new();
    h.update(prefix);
    h.update(text.as_bytes());
    h.digest128()
}

/// The low `digits` hex digits of `v`, in lower case, zero-padded (an import makes three ids
/// per line: `format!` with padding took a few percent of its parsing).
fn hex(v: u128, digits: usize) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digits = digits.min(32);
    // (Bytes, then one string: collecting chars pushed them one by one, re-encoding each.)
    let mut out = [0u8; 32];
    for (i, d) in out[..digits].iter_mut().rev().enumerate() {
        *d = DIGITS[((v >> (4 * i)) & 0xf) as usize];
    }
    // (Hex digits are ASCII: the check cannot fail.)
    std::str::from_utf8(&out[..digits]).unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_well_formed() {
        let a = content_id(b"{\"x\":1}");
        assert_eq!(a, content_id(b"{\"x\":1}"));
        assert_ne!(a, content_id(b"{\"x\":2}"));
        assert_eq!(a.len(), 32);
        assert_eq!(trace_id_for(&a).len(), 32);
        assert_eq!(span_id_for(&a).len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    }

    /// The ids stored by earlier versions: a re-import must derive the same ones.
    #[test]
    fn ids_are_what_they_always_were() {
        for line in ["", "{\"x\":1}", "a longer line, with 中文 and more than one hash block of bytes in it …"] {
            let id = content_id(line.as_bytes());
            assert_eq!(id, format!("{:032x}", xxh3_128(line.as_bytes())));
            assert_eq!(trace_id_for(&id), format!("{:032x}", xxh3_128(format!("trace:{id}").as_bytes())));
            let span = xxh3_128(format!("span:{id}").as_bytes());
            assert_eq!(span_id_for(&id), format!("{:016x}", span as u64));
        }
        assert_eq!(hex(0xab, 4), "00ab");
        assert_eq!(hex(u128::MAX, 32), "f".repeat(32));
    }
}
