//! An incremental Server-Sent-Events parser (the `text/event-stream` framing OpenAI-compatible
//! servers stream with).
//!
//! Bytes are pushed as they arrive, in chunks of any size; every complete event comes back
//! with its `data` (multi-line data joined with `\n`), its `event` name, and the exact bytes it
//! was made of, so a proxy can forward events unchanged. Lines end with `\n` (a `\r` before it
//! is dropped). A line longer than the parser's limit makes it give up parsing instead of
//! holding unbounded memory: [`SseParser::overflowed`] turns true, the bytes it held are
//! handed back by [`SseParser::take_rest`] (so a caller forwarding events loses nothing), and
//! later bytes are ignored.

/// One complete event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field, when there was one.
    pub event: Option<String>,
    /// The `data:` fields joined with `\n`. Empty for comment-only blocks.
    pub data: String,
    /// True when the block had at least one `data:` field.
    pub has_data: bool,
    /// The bytes of the event, including the blank line that ended it.
    pub raw: Vec<u8>,
}

/// Incremental parser. See the module docs.
#[derive(Debug)]
pub struct SseParser {
    /// Bytes of the event being read (complete lines and the unfinished last line).
    pending: Vec<u8>,
    /// Where the unfinished line starts in `pending`.
    line_start: usize,
    current: SseEvent,
    max_line: usize,
    overflowed: bool,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::new(16 << 20)
    }
}

impl SseParser {
    /// A parser that gives up on lines longer than `max_line` bytes.
    pub fn new(max_line: usize) -> Self {
        SseParser { pending: Vec::new(), line_start: 0, current: SseEvent::default(), max_line, overflowed: false }
    }

    /// True when a line exceeded the limit and parsing stopped.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Feeds bytes; calls `on_event` for every event they complete.
    pub fn push(&mut self, bytes: &[u8], mut on_event: impl FnMut(SseEvent)) {
        if self.overflowed {
            return;
        }
        let mut rest = bytes;
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            self.pending.extend_from_slice(&rest[..=nl]);
            rest = &rest[nl + 1..];
            let line_end = self.pending.len() - 1;
            let mut line = &self.pending[self.line_start..line_end];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            if line.is_empty() {
                let mut ev = std::mem::take(&mut self.current);
                ev.raw = std::mem::take(&mut self.pending);
                self.line_start = 0;
                on_event(ev);
                continue;
            }
            // Borrowed when valid UTF-8 (always, from a well-behaved server): no copy per line.
            // `str::from_utf8` checks faster than `from_utf8_lossy`'s chunked walk.
            match std::str::from_utf8(line) {
                Ok(line) => field(&mut self.current, line),
                Err(_) => field(&mut self.current, &String::from_utf8_lossy(line)),
            }
            self.line_start = self.pending.len();
        }
        self.pending.extend_from_slice(rest);
        // Caps the whole unfinished event, not just its last line: many short lines without
        // the blank line that ends an event must not grow memory either.
        if self.pending.len() > self.max_line {
            // Give up; `take_rest` hands the held bytes back.
            self.overflowed = true;
            self.line_start = 0;
        }
    }

    /// Bytes received after the last complete event (a stream that ended without its final
    /// blank line). Empties the parser.
    pub fn take_rest(&mut self) -> Vec<u8> {
        self.line_start = 0;
        self.current = SseEvent::default();
        std::mem::take(&mut self.pending)
    }
}

/// Adds one field line to the event being read.
fn field(current: &mut SseEvent, line: &str) {
    if line.starts_with(':') {
        return; // comment
    }
    let (name, value) = match line.split_once(':') {
        Some((n, v)) => (n, v.strip_prefix(' ').unwrap_or(v)),
        None => (line, ""),
    };
    match name {
        "data" => {
            if current.has_data {
                current.data.push('\n');
            }
            current.data.push_str(value);
            current.has_data = true;
        }
        "event" => current.event = Some(value.to_string()),
        _ => {} // id, retry and unknown fields do not matter here
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::default();
        let mut out = Vec::new();
        for c in chunks {
            p.push(c, |e| out.push(e));
        }
        out
    }

    #[test]
    fn events_split_anywhere_come_out_whole_with_their_bytes() {
        let stream = b"data: {\"a\":1}\n\n: keep-alive\n\nevent: error\ndata: x\ndata: y\r\n\r\ndata: [DONE]\n\n";
        let whole = parse_all(&[stream]);
        for split in 0..stream.len() {
            let parts = parse_all(&[&stream[..split], &stream[split..]]);
            assert_eq!(parts, whole, "split at {split}");
        }
        assert_eq!(whole.len(), 4);
        assert_eq!(whole[0].data, "{\"a\":1}");
        assert_eq!(whole[0].raw, b"data: {\"a\":1}\n\n");
        assert!(!whole[1].has_data);
        assert_eq!(whole[2].event.as_deref(), Some("error"));
        assert_eq!(whole[2].data, "x\ny");
        assert_eq!(whole[3].data, "[DONE]");
        let joined: Vec<u8> = whole.iter().flat_map(|e| e.raw.clone()).collect();
        assert_eq!(joined, stream);
    }

    #[test]
    fn data_without_space_and_unfinished_tail() {
        let mut p = SseParser::default();
        let mut out = Vec::new();
        p.push(b"data:abc\n\ndata: partial", |e| out.push(e));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].data, "abc");
        assert_eq!(p.take_rest(), b"data: partial");
    }

    #[test]
    fn an_endless_line_stops_parsing_instead_of_growing() {
        let mut p = SseParser::new(64);
        let mut n = 0;
        p.push(b"data: a\n\n", |_| n += 1);
        p.push(&[b'x'; 100], |_| n += 1);
        assert!(p.overflowed());
        assert_eq!(p.take_rest(), vec![b'x'; 100], "the held bytes come back");
        p.push(b"\n\ndata: later\n\n", |_| n += 1);
        assert_eq!(n, 1);
        assert!(p.take_rest().is_empty(), "nothing is held after giving up");
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_keeps_every_byte(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300), cut in 0usize..300) {
            let cut = cut.min(bytes.len());
            let mut p = SseParser::default();
            let mut raw = Vec::new();
            p.push(&bytes[..cut], |e| raw.extend(e.raw));
            p.push(&bytes[cut..], |e| raw.extend(e.raw));
            raw.extend(p.take_rest());
            proptest::prop_assert_eq!(raw, bytes);
        }
    }
}
