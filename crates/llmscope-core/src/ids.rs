//! Identifiers: content-derived ids for imported records, random ids for live ones.

use xxhash_rust::xxh3::xxh3_128;

/// A 32-hex-digit id derived from bytes (xxh3-128). Used for imported lines so that importing
/// the same line twice yields the same id.
pub fn content_id(bytes: &[u8]) -> String {
    format!("{:032x}", xxh3_128(bytes))
}

/// Trace id for a record that has none of its own: derived from its call id, so that it is
/// stable across re-imports.
/// A trace or span id as given (`len` hex digits, either case, not all zero, as W3C Trace
/// Context requires), in lower case; `None` when it is not one.
pub fn parse_hex_id(s: &str, len: usize) -> Option<String> {
    let ok = s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit()) && s.bytes().any(|b| b != b'0');
    ok.then(|| s.to_ascii_lowercase())
}

pub fn trace_id_for(call_id: &str) -> String {
    format!("{:032x}", xxh3_128(format!("trace:{call_id}").as_bytes()))
}

/// Span id (16 hex digits) derived from a call id.
pub fn span_id_for(call_id: &str) -> String {
    let h = xxh3_128(format!("span:{call_id}").as_bytes());
    format!("{:016x}", h as u64)
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
}
