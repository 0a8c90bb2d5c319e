//! OpenAI Batch request files, joined to their answers by `custom_id`.
//!
//! A Batch output line carries the answer but not the prompt; the prompt is in the batch's
//! input file (`{"custom_id", "method", "url", "body": <request>}`). When one import is
//! given both, the input files are read first ([`read`]): each output line whose
//! `custom_id` names exactly one request is mapped as a request/response pair would be
//! (prompt, question, settings). A request file is recognised by its first line.
//!
//! Nothing is dropped in silence: a request line is either **joined** to an answer of the
//! import (counted in the summary), or rejected with its reason — its answer is not in the
//! import, its `custom_id` is given more than once (OpenAI keeps them unique within one
//! batch only, so the join would be a guess and the answer is stored without the prompt),
//! or the line is no Batch request.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use llmscope_core::Call;
use serde_json::{Map, Value};

use super::formats::openai::map_request;
use super::formats::openai_batch::is_batch_input;
use super::formats::{responses, ImportOptions, LineError};
use super::pipeline::Rejected;
use super::reader::{LineReader, LineTally, NextLine};

/// The requests of the Batch input files of one import, by `custom_id`.
#[derive(Default)]
pub struct BatchRequests {
    by_id: HashMap<String, Request>,
}

/// A request body and the endpoint (`url`) it was sent to.
type Body = (Map<String, Value>, Option<String>);

struct Request {
    /// The request body, and the endpoint it was sent to; `None` when the `custom_id` is
    /// given more than once.
    body: Option<Body>,
    /// Where each line giving this `custom_id` is (its bytes are read again only if it is
    /// rejected, rather than kept beside the parsed body).
    lines: Vec<(String, u64)>,
    joined: AtomicBool,
}

impl std::fmt::Debug for BatchRequests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BatchRequests({} custom ids)", self.by_id.len())
    }
}

impl BatchRequests {
    /// The request body of `custom_id` and its endpoint (`url`), when exactly one request
    /// line gave it.
    pub fn request(&self, custom_id: &str) -> Option<(&Map<String, Value>, Option<&str>)> {
        let (body, url) = self.by_id.get(custom_id)?.body.as_ref()?;
        Some((body, url.as_deref()))
    }

    /// Counts the request of `custom_id` as joined: its answer's line was read into a call.
    pub fn mark_joined(&self, custom_id: &str) {
        if let Some(r) = self.by_id.get(custom_id).filter(|r| r.body.is_some()) {
            r.joined.store(true, Ordering::Relaxed);
        }
    }

    fn add(&mut self, custom_id: String, body: Body, at: (String, u64)) {
        let r = self.by_id.entry(custom_id).or_insert_with(|| Request {
            body: Some(body),
            lines: Vec::new(),
            joined: AtomicBool::new(false),
        });
        if !r.lines.is_empty() {
            r.body = None;
        }
        r.lines.push(at);
    }

    /// After the answers were imported: how many request lines were joined, and the other
    /// request lines, rejected with their reason (in file and line order).
    pub fn settle(&self) -> (u64, Vec<Rejected>) {
        let mut joined = 0;
        let mut rejected = Vec::new();
        for (id, r) in &self.by_id {
            for (file, line) in &r.lines {
                let reason = match (&r.body, r.joined.load(Ordering::Relaxed)) {
                    (Some(_), true) => {
                        joined += 1;
                        continue;
                    }
                    (Some(_), false) => {
                        "a Batch request whose answer was not read into a call in this import (it is not \
                                         in the output files given, or its line was rejected)"
                            .to_string()
                    }
                    (None, _) => format!(
                        "custom_id {id:?} is given by {} request lines of this import, so no answer is joined \
                         to them (OpenAI keeps custom_ids unique within one batch only): import each batch's input \
                         and output files on their own",
                        r.lines.len()
                    ),
                };
                rejected.push(Rejected { file: file.clone(), line: *line, reason });
            }
        }
        rejected.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        (joined, rejected)
    }
}

/// The first non-blank line of a file, parsed (`None` when there is none or it is no JSON object).
fn first_object(path: &Path, max_line_bytes: usize) -> Option<Map<String, Value>> {
    let mut reader = LineReader::open(path).ok()?;
    reader.max_line_bytes = max_line_bytes;
    loop {
        match reader.next_line() {
            NextLine::Line(_, bytes) if bytes.iter().all(u8::is_ascii_whitespace) => continue,
            NextLine::Line(_, bytes) => {
                let text = std::str::from_utf8(&bytes).ok()?.trim_start_matches('\u{feff}');
                return serde_json::from_str(text).ok();
            }
            _ => return None,
        }
    }
}

/// Whether a file is a Batch request file: its first line is a Batch input line.
pub fn is_request_file(path: &Path, opts: &ImportOptions) -> bool {
    first_object(path, opts.max_line_bytes).is_some_and(|o| is_batch_input(&o))
}

/// What reading one request file gave.
#[derive(Debug, Default)]
pub struct FileRead {
    pub tally: LineTally,
    /// Lines that are no Batch request (or cannot be read), with their reason.
    pub rejected: Vec<(Rejected, Vec<u8>)>,
}

/// Reads one request file into `requests`. A request whose body does not map (the path of
/// the error is named) is rejected here, so its answer is imported without it.
pub fn read(path: &Path, opts: &ImportOptions, requests: &mut BatchRequests) -> std::io::Result<FileRead> {
    let file = path.display().to_string();
    let mut reader = LineReader::open(path)?;
    reader.max_line_bytes = opts.max_line_bytes;
    let mut out = FileRead::default();
    loop {
        match reader.next_line() {
            NextLine::Eof => break,
            NextLine::Line(n, bytes) => {
                if !out.tally.line(&bytes) {
                    continue;
                }
                match request_of(&bytes) {
                    Ok((id, body)) => requests.add(id, body, (file.clone(), n)),
                    Err(reason) => out.rejected.push((Rejected { file: file.clone(), line: n, reason }, bytes)),
                }
            }
            unreadable => {
                let broken = matches!(unreadable, NextLine::Broken { .. });
                if let Some((line, reason, raw)) = out.tally.unreadable(unreadable, opts.max_line_bytes) {
                    out.rejected.push((Rejected { file: file.clone(), line, reason }, raw));
                }
                if broken {
                    break;
                }
            }
        }
    }
    Ok(out)
}

/// The bytes of the lines `numbers` (sorted) of a file, read again: one entry per number,
/// empty for a line no longer there.
pub fn lines_of(path: &Path, numbers: &[u64], max_line_bytes: usize) -> std::io::Result<Vec<Vec<u8>>> {
    let mut reader = LineReader::open(path)?;
    reader.max_line_bytes = max_line_bytes;
    let mut out = Vec::with_capacity(numbers.len());
    for &n in numbers {
        let bytes = loop {
            match reader.next_line() {
                NextLine::Line(at, bytes) if at == n => break bytes,
                NextLine::Eof | NextLine::Broken { .. } => break Vec::new(),
                _ => {}
            }
        };
        out.push(bytes);
    }
    Ok(out)
}

/// A request line's `custom_id`, body and endpoint, or why the line is not one.
fn request_of(bytes: &[u8]) -> Result<(String, Body), String> {
    let text =
        std::str::from_utf8(bytes).map_err(|e| format!("line is not valid UTF-8 (at byte {})", e.valid_up_to()))?;
    let v: Value =
        serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| format!("invalid JSON: {e}"))?;
    let Some(obj) = v.as_object().filter(|o| is_batch_input(o)) else {
        return Err(
            "not a Batch request line (`custom_id`, `method`, `url`, `body`) in a file read as Batch requests \
                    (its first line is one): import other lines from a file of their own"
                .into(),
        );
    };
    let id = match obj.get("custom_id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err("custom_id: expected a non-empty string or a number".into()),
    };
    let Some(Value::Object(body)) = obj.get("body") else {
        return Err("body: expected an object".into());
    };
    let url = obj.get("url").and_then(Value::as_str).map(str::to_string);
    // Mapped once here, so an answer's mapping cannot fail on its request.
    map_body(body, url.as_deref(), &mut Call::default())
        .map_err(|e| format!("body.{}", e.to_string().trim_start_matches("request.")))?;
    Ok((id, (body.clone(), url)))
}

/// Maps a Batch request body onto `call`, as a request/response pair's request is; the
/// endpoint settles what the body's shape leaves open (`/v1/responses` with a string input).
pub fn map_body(body: &Map<String, Value>, url: Option<&str>, call: &mut Call) -> Result<(), LineError> {
    if url.is_some_and(|u| u.trim_end_matches('/').ends_with("/responses")) {
        responses::map_request(body, call)?;
    } else {
        map_request(body, call)?;
    }
    if call.user_id.is_none() {
        call.user_id = responses::user_of(body);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str, content: &str) -> Vec<u8> {
        serde_json::json!({"custom_id": id, "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}]}})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn requests_join_once_and_the_others_are_rejected_with_their_reason() {
        let mut r = BatchRequests::default();
        for (n, (id, q)) in [("a", "one"), ("b", "two"), ("c", "three"), ("c", "again")].into_iter().enumerate() {
            let (id, body) = request_of(&line(id, q)).unwrap_or_default();
            r.add(id, body, ("in.jsonl".into(), n as u64 + 1));
        }
        let a = r.request("a").and_then(|(b, _)| b["messages"][0]["content"].as_str().map(str::to_string));
        assert_eq!(a.as_deref(), Some("one"));
        assert!(r.request("c").is_none(), "a custom_id given twice joins nothing");
        assert!(r.request("zzz").is_none());
        r.mark_joined("a");
        r.mark_joined("c");
        let (joined, rejected) = r.settle();
        assert_eq!(joined, 1);
        let lines: Vec<(u64, bool)> =
            rejected.iter().map(|r| (r.line, r.reason.contains("was not read into a call"))).collect();
        assert_eq!(lines, vec![(2, true), (3, false), (4, false)], "{rejected:?}");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
                        id in proptest::prelude::any::<String>(), body in "[a-z\\[\\]{}:\",0-9 ]{0,60}") {
            let _ = request_of(&bytes);
            let line = format!(r#"{{"custom_id": {}, "method": "POST", "body": {body}}}"#, serde_json::json!(id));
            let _ = request_of(line.as_bytes());
            let line = format!(r#"{{"custom_id": "x", "method": "POST", "body": {{"model": "m", "messages": {body}}}}}"#);
            let _ = request_of(line.as_bytes());
        }
    }

    #[test]
    fn lines_that_are_no_requests_say_so() {
        let why = |l: &str| request_of(l.as_bytes()).err().unwrap_or_default();
        assert!(why("{").starts_with("invalid JSON"));
        assert!(why(r#"{"custom_id": "a", "response": {}}"#).starts_with("not a Batch request line"));
        assert!(why(r#"{"custom_id": "", "method": "POST", "body": {}}"#).starts_with("custom_id"));
        let bad = r#"{"custom_id": "a", "method": "POST", "body": {"model": "m", "messages": 3}}"#;
        assert!(why(bad).starts_with("body.messages"), "{}", why(bad));
    }
}
