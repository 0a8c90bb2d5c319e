//! Files that are not JSON Lines: JSON values written over several lines each, one after
//! another (`json.dump(entry, f, indent=2)` appended per call), or a JSON array of them (a
//! whole log dumped at once, pretty-printed or on one line). Each value is one record,
//! numbered by the line it starts on and handed on as one line of JSON: the line breaks
//! between its tokens and the indentation after them are dropped (a space kept where they
//! separated two tokens), so a rejected record is copied to the rejects file as one JSONL
//! line. A record cut off (a crash mid-write) ends where that shows: at a line break inside a
//! string, or at a `{` starting a line inside it; the records after it are read as usual.
//!
//! [`detect`] tells such a file from JSON Lines by its first value; [`Scanner`] splits the
//! stream into values by their brackets and strings, without parsing them.

use std::io::{self, BufRead};

use super::reader::NextLine;

/// How a file lays out its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One JSON value per line.
    Lines,
    /// JSON values spanning lines, or arrays of values: see the module docs.
    Documents,
}

/// The layout of a file from its first bytes: `[` first (after a byte-order mark and
/// whitespace) is an array of records; `{` first is a record spanning lines when its value
/// ends within `head`, on a later line, with no line break inside a string, and parses, or
/// when it goes on past `head` from a first line holding `{` alone. Anything else, a first
/// value on one line included, is JSON Lines.
pub fn detect(head: &[u8]) -> Layout {
    let start = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = &start[start.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
    match start.first() {
        Some(b'[') => Layout::Documents,
        Some(b'{') => {
            let mut s = Scanner::default();
            let mut record = Vec::new();
            let mut spans = false;
            for &b in start {
                spans |= b == b'\n';
                match s.step(b, &mut record) {
                    Step::End => {
                        let parses = serde_json::from_slice::<serde_json::Value>(&record).is_ok();
                        return if spans && parses { Layout::Documents } else { Layout::Lines };
                    }
                    Step::EndedBefore => return Layout::Lines,
                    Step::More => {}
                }
            }
            // A first value longer than what was read: a record pretty-printed by `json.dump`
            // starts with a line holding `{` alone, which no JSON Lines file does.
            let first_line = start.split(|&b| b == b'\n').next().unwrap_or_default();
            if spans && first_line.trim_ascii() == b"{" {
                Layout::Documents
            } else {
                Layout::Lines
            }
        }
        _ => Layout::Lines,
    }
}

/// What one byte did to the value being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The byte belongs to the value (kept or, as layout, dropped); more follows.
    More,
    /// The byte ended the value (and belongs to it).
    End,
    /// The value (a bare number or word) ended before this byte, which is not part of it.
    EndedBefore,
}

/// Splits a stream into JSON values. See the module docs.
#[derive(Debug, Default)]
pub struct Scanner {
    /// Inside a value; `depth` counts its open brackets.
    started: bool,
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// The value is a bare number or word (it ends at whitespace, a comma or a bracket).
    bare: bool,
    /// After a line break outside strings: whitespace is indentation, dropped.
    indent: bool,
    /// No byte yet on this line (a `{` here, inside a value, starts the next record).
    line_start: bool,
    /// The last byte of the value kept or skipped outside whitespace (`0`: none yet).
    last: u8,
    /// Top-level arrays opened around the records.
    arrays: u32,
    /// Line of the next byte, 1-based.
    line: u64,
    /// Line the current value started on.
    start_line: u64,
    /// Bytes of the current value seen, kept or not.
    len: u64,
}

/// Whether a value can end with this byte (a space must stay between it and the next token).
fn ends_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'"' | b'}' | b']' | b'.' | b'+' | b'-')
}

impl Scanner {
    /// One byte of a value (the scanner is inside one).
    fn step(&mut self, b: u8, out: &mut Vec<u8>) -> Step {
        let first = !self.started;
        if first {
            self.started = true;
            self.depth = 0;
            (self.in_string, self.escaped, self.indent, self.line_start) = (false, false, false, false);
            self.bare = !matches!(b, b'{' | b'[' | b'"');
            self.last = 0;
        }
        if self.in_string {
            // A line break is never inside a JSON string: the value was cut off here, and
            // the next record may start on the next line.
            if b == b'\n' {
                return Step::EndedBefore;
            }
            out.push(b);
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.in_string = false;
                self.last = b;
                if self.depth == 0 {
                    return Step::End;
                }
            }
            return Step::More;
        }
        if self.bare && !first && matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b',' | b']' | b'[' | b'{' | b'}') {
            return Step::EndedBefore;
        }
        // A `{` at the start of a line inside a value: the value was cut off before it
        // (pretty-printed records indent what is inside them).
        if b == b'{' && self.line_start && self.depth > 0 {
            return Step::EndedBefore;
        }
        match b {
            b'\n' | b'\r' => {
                (self.indent, self.line_start) = (true, true);
                return Step::More;
            }
            b' ' | b'\t' if self.indent => {
                self.line_start = false;
                return Step::More;
            }
            _ => {}
        }
        // Two tokens the dropped line break kept apart stay apart (`[1\n2]` is no `[12]`).
        if self.indent && ends_token(self.last) && !matches!(b, b',' | b':' | b'}' | b']') {
            out.push(b' ');
        }
        (self.indent, self.line_start, self.last) = (false, false, b);
        out.push(b);
        match b {
            b'"' => {
                self.in_string = true;
                Step::More
            }
            b'{' | b'[' => {
                self.depth = self.depth.saturating_add(1);
                Step::More
            }
            b'}' | b']' => {
                self.depth = self.depth.saturating_sub(1);
                if self.depth == 0 {
                    Step::End
                } else {
                    Step::More
                }
            }
            _ => Step::More,
        }
    }

    /// The next record of `input`, holding at most `max_bytes` of it.
    pub fn next(&mut self, input: &mut dyn BufRead, max_bytes: usize) -> NextLine {
        if self.line == 0 {
            self.line = 1;
        }
        let mut out = Vec::with_capacity(512);
        let mut too_long = false;
        // (What a value too long to keep would have kept, one byte at a time.)
        let mut sink = Vec::new();
        loop {
            let available = match input.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    let line = if self.started { self.start_line } else { self.line };
                    self.started = false;
                    return NextLine::Broken { line, error, partial: out };
                }
            };
            if available.is_empty() {
                // The end, possibly inside a value: handed on, its parse says what is missing.
                if !std::mem::take(&mut self.started) {
                    return NextLine::Eof;
                }
                return self.record(out, too_long);
            }
            let mut used = 0;
            let mut ended = false;
            for &b in available {
                if !self.started {
                    used += 1;
                    match b {
                        b'\n' => self.line += 1,
                        // Between records: whitespace, a byte-order mark, commas, and the
                        // brackets of arrays holding the records.
                        b' ' | b'\t' | b'\r' | b',' | 0xEF | 0xBB | 0xBF => {}
                        b'[' if self.arrays == 0 => self.arrays = 1,
                        b']' if self.arrays > 0 => self.arrays = 0,
                        _ => {
                            self.start_line = self.line;
                            self.begin(b, &mut out, max_bytes, &mut too_long);
                            if !self.started {
                                ended = true;
                                break;
                            }
                        }
                    }
                    continue;
                }
                sink.clear();
                let kept = if too_long { &mut sink } else { &mut out };
                match self.step(b, kept) {
                    Step::EndedBefore => {
                        self.started = false;
                        ended = true;
                        break;
                    }
                    step => {
                        used += 1;
                        self.len += 1;
                        if b == b'\n' {
                            self.line += 1;
                        }
                        if !too_long && out.len() > max_bytes {
                            too_long = true;
                            out.truncate(200);
                            out.shrink_to_fit();
                        }
                        if step == Step::End {
                            self.started = false;
                            ended = true;
                            break;
                        }
                    }
                }
            }
            input.consume(used);
            if ended {
                return self.record(out, too_long);
            }
        }
    }

    /// Starts a value with its first byte (a one-byte value, e.g. a digit followed by the
    /// end of the buffer, goes on at the next fill).
    fn begin(&mut self, b: u8, out: &mut Vec<u8>, max_bytes: usize, too_long: &mut bool) {
        self.len = 1;
        if self.step(b, out) == Step::End {
            self.started = false;
        }
        if out.len() > max_bytes {
            *too_long = true;
        }
    }

    fn record(&self, out: Vec<u8>, too_long: bool) -> NextLine {
        if too_long {
            NextLine::TooLong { line: self.start_line, len: self.len, head: out }
        } else {
            NextLine::Line(self.start_line, out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(text: &str, max: usize) -> Vec<(u64, String)> {
        let mut s = Scanner::default();
        let mut input = io::BufReader::with_capacity(7, text.as_bytes());
        let mut out = Vec::new();
        loop {
            match s.next(&mut input, max) {
                NextLine::Line(n, b) => out.push((n, String::from_utf8_lossy(&b).into_owned())),
                NextLine::TooLong { line, len, .. } => out.push((line, format!("too long: {len}"))),
                NextLine::Eof => return out,
                NextLine::Broken { .. } => panic!("no stream error here"),
            }
        }
    }

    #[test]
    fn the_layout_is_told_by_the_first_value() {
        assert_eq!(detect(b"{\"a\": 1}\n{\"a\": 2}\n"), Layout::Lines);
        assert_eq!(detect(b"{\n  \"a\": 1\n}\n{\n"), Layout::Documents);
        assert_eq!(detect(b"\xEF\xBB\xBF  [\n{\"a\": 1}]"), Layout::Documents);
        assert_eq!(detect(b"[{\"a\": 1}, {\"a\": 2}]"), Layout::Documents);
        assert_eq!(detect(b"{\"a\": \"cut\n{\"a\": 2}\n"), Layout::Lines, "a broken first line stays a line");
        assert_eq!(detect(b"{\"a\": [1,\n{\"b\": 2}}\n"), Layout::Lines, "a value that does not parse");
        assert_eq!(detect(b"{\n  \"a\": 1,\n"), Layout::Documents, "a pretty record longer than what was read");
        assert_eq!(detect(b"{\"a\": [1,\n{\"b\": 2}\n"), Layout::Lines, "a cut first line goes on past what was read");
        assert_eq!(detect(b""), Layout::Lines);
        assert_eq!(detect(b"not json"), Layout::Lines);
    }

    #[test]
    fn values_are_split_by_brackets_and_strings_and_numbered_by_their_first_line() {
        let text = "[\n  {\n    \"q\": \"a } ] \\\" [ {\",\n    \"n\": [1, 2]\n  },\n  {\"q\": \"b\"}, 7, \"s\", true\n]\n{\n \"q\": \"c\"\n}\n";
        assert_eq!(
            records(text, 1000),
            vec![
                (2, r#"{"q": "a } ] \" [ {","n": [1, 2]}"#.to_string()),
                (6, r#"{"q": "b"}"#.into()),
                (6, "7".into()),
                (6, "\"s\"".into()),
                (6, "true".into()),
                (8, r#"{"q": "c"}"#.into()),
            ]
        );
    }

    #[test]
    fn a_cut_record_does_not_take_the_next_ones_with_it() {
        // Cut inside a string: the line break ends it.
        let cut_string = "{\n  \"a\": \"cut\n{\n  \"b\": 1\n}\n{\n  \"c\": 2\n}\n";
        assert_eq!(
            records(cut_string, 1000),
            vec![(1, "{\"a\": \"cut".into()), (3, "{\"b\": 1}".into()), (6, "{\"c\": 2}".into())]
        );
        // Cut between tokens: the next record starts with a `{` at the start of a line.
        let cut_value = "{\n  \"a\": 1,\n{\n  \"b\": 2\n}\n";
        assert_eq!(records(cut_value, 1000), vec![(1, "{\"a\": 1,".into()), (3, "{\"b\": 2}".into())]);
        // Dropped line breaks never join two tokens into one.
        assert_eq!(records("{\"a\": [1\n2, true\nfalse]}", 1000), vec![(1, "{\"a\": [1 2, true false]}".into())]);
        // A bare value too long to keep still ends where it ends.
        assert_eq!(records("[123456789, {\"a\":1}]", 8), vec![(1, "too long: 9".into()), (1, "{\"a\":1}".into())]);
    }

    #[test]
    fn a_value_cut_off_by_the_end_is_handed_on_and_long_ones_are_skipped() {
        assert_eq!(
            records("[{\"a\": 1},\n {\"b\": [2,", 1000),
            vec![(1, "{\"a\": 1}".into()), (2, "{\"b\": [2,".into())]
        );
        let long = format!("[{{\"a\": \"{}\"}},\n{{\"b\": 1}}]", "x".repeat(100));
        assert_eq!(records(&long, 50), vec![(1, "too long: 109".into()), (2, "{\"b\": 1}".into())]);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn value() -> impl Strategy<Value = serde_json::Value> {
            let leaf = prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
                "[ -~\n\t\u{4e00}-\u{4e10}\\\\\"{}\\[\\]]{0,12}".prop_map(serde_json::Value::from),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                    proptest::collection::btree_map("[a-z\"\\\\{]{1,4}", inner, 0..4)
                        .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #[test]
            fn never_panics_and_ends(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
                let mut s = Scanner::default();
                let mut input = io::BufReader::with_capacity(5, &bytes[..]);
                let _ = detect(&bytes);
                for _ in 0..=bytes.len() {
                    if matches!(s.next(&mut input, 64), NextLine::Eof) {
                        return Ok(());
                    }
                }
                prop_assert!(false, "more records than bytes");
            }

            #[test]
            fn pretty_printed_values_come_back_as_written(values in proptest::collection::vec(value(), 0..6), array in any::<bool>()) {
                let pretty: Vec<String> = values.iter().map(|v| serde_json::to_string_pretty(v).unwrap_or_default()).collect();
                let text = if array { format!("[\n{}\n]", pretty.join(",\n")) } else { pretty.join("\n") };
                let got: Vec<serde_json::Value> = records(&text, 1 << 20)
                    .into_iter()
                    .map(|(_, r)| serde_json::from_str(&r).unwrap_or(serde_json::Value::String(format!("unparsed: {r}"))))
                    .collect();
                // (A top-level array of values reads as its elements when the file is not one array.)
                if array || values.iter().all(|v| !v.is_array()) {
                    prop_assert_eq!(got, values);
                }
            }
        }
    }
}
