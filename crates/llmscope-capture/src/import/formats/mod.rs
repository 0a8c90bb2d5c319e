//! Line mappers: one module per log format, each turning a JSON object into a
//! [`Call`] (plus any assessments the line carries).

mod anthropic;
pub(crate) mod bedrock;
pub(crate) mod common;
mod gemini;
pub(crate) mod langfuse;
pub(crate) mod litellm;
mod logged_stream;
mod native;
mod ollama;
pub(crate) mod openai;
pub(crate) mod openai_batch;
pub mod responses;
mod seed000;
mod seed001;
mod seed001_typed;
mod seed004;

use chrono_tz::Tz;
use llmscope_core::{checks, ids, Assessment, Call, Origin};
use serde_json::Value;

use super::detect::{detect, LineFormat};

/// How lines are read.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Zone of timestamps written without an offset (seed 000's `datetime.now().isoformat()`).
    /// Seed 004's `time` is UTC by its formatter's definition and ignores this.
    pub naive_tz: Tz,
    /// Project the calls are stored under.
    pub project: String,
    /// Longest line accepted, in bytes.
    pub max_line_bytes: usize,
    /// The requests of the Batch input files of this import, joined to their answers.
    pub batch_requests: Option<std::sync::Arc<crate::import::batch_requests::BatchRequests>>,
    /// Where to place answers that carry no time (OpenAI Batch output: failed requests,
    /// embeddings; bare failed responses); `None` rejects them.
    pub undated_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            naive_tz: Tz::UTC,
            project: "default".into(),
            max_line_bytes: 16 << 20,
            batch_requests: None,
            undated_at: None,
        }
    }
}

/// Why a line was rejected: the JSON path of the offending field (empty for the whole line)
/// and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub path: String,
    pub message: String,
}

impl LineError {
    pub fn at(path: String, message: String) -> Self {
        LineError { path, message }
    }

    pub fn line(message: impl Into<String>) -> Self {
        LineError { path: String::new(), message: message.into() }
    }
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for LineError {}

/// One successfully mapped line.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedLine {
    pub call: Call,
    pub assessments: Vec<Assessment>,
    pub format: LineFormat,
}

/// Parses one line (without its newline). `file` and `line_no` are recorded in the call's
/// origin. Blank lines are the caller's business.
pub fn parse_line(bytes: &[u8], file: &str, line_no: u64, opts: &ImportOptions) -> Result<ParsedLine, LineError> {
    parse_line_or(bytes, file, line_no, opts, None)
}

/// Like [`parse_line`], but a line whose format is not recognised is read as `fallback`
/// (the ingest API reads its items as llmscope's own call schema, so their errors name the
/// offending field instead of "unrecognised format").
pub fn parse_line_or(
    bytes: &[u8],
    file: &str,
    line_no: u64,
    opts: &ImportOptions,
    fallback: Option<LineFormat>,
) -> Result<ParsedLine, LineError> {
    if bytes.len() > opts.max_line_bytes {
        return Err(LineError::line(format!(
            "line is {} bytes, longer than the {} accepted",
            bytes.len(),
            opts.max_line_bytes
        )));
    }
    let text = utf8(bytes)?;
    let text = text.trim_start_matches('\u{feff}').trim();
    let mut call = Call { id: ids::content_id(text.as_bytes()), project: opts.project.clone(), ..Default::default() };
    // The commonest shape of the commonest format is read without a JSON tree.
    if seed001_typed::read(text, opts, &mut call).is_some() {
        finish(&mut call, file, line_no, LineFormat::Seed001)?;
        return Ok(ParsedLine { call, assessments: Vec::new(), format: LineFormat::Seed001 });
    }
    parse_general(text, call, file, line_no, opts, fallback)
}

/// A line as text. Checked with SIMD first (most log text is valid, and much of it is not
/// ASCII: the standard check takes a third of a core's second per million seed-001 lines);
/// a line that fails is checked again by the standard library, which says where.
fn utf8(bytes: &[u8]) -> Result<&str, LineError> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(_) => std::str::from_utf8(bytes)
            .map_err(|e| LineError::line(format!("line is not valid UTF-8 (at byte {})", e.valid_up_to()))),
    }
}

/// [`parse_line_or`] through serde_json's tree, for every format (`call` carries the line's
/// id and project).
fn parse_general(
    text: &str,
    mut call: Call,
    file: &str,
    line_no: u64,
    opts: &ImportOptions,
    fallback: Option<LineFormat>,
) -> Result<ParsedLine, LineError> {
    let super::lenient::Read { mut obj, prefix, non_finite } = super::lenient::object(text)?;
    // A record written through a logging prefix may leave its time to the prefix.
    if let Some(p) = prefix.as_deref().filter(|_| !super::lenient::TIME_KEYS.iter().any(|k| obj.contains_key(*k))) {
        if let Some(t) = super::lenient::prefix_time(p, opts.naive_tz) {
            obj.insert("timestamp".into(), Value::String(t.to_rfc3339()));
        }
    }
    let format = detect(&obj).or(fallback).ok_or_else(|| {
        let keys: Vec<&str> = obj.keys().map(String::as_str).take(12).collect();
        LineError::line(format!("unrecognised line format (keys: {})", keys.join(", ")))
    })?;
    let mut assessments = Vec::new();
    match format {
        LineFormat::Seed000Basic | LineFormat::Seed000Enhanced => {
            seed000::map(&obj, opts, &mut call, &mut assessments)?
        }
        LineFormat::Seed001 => seed001::map(&obj, opts, &mut call)?,
        LineFormat::Seed004 => seed004::map(&obj, &mut call)?,
        LineFormat::OpenAiPair => openai::map(&obj, opts, &mut call)?,
        LineFormat::OpenAiBatch => openai_batch::map_batch(&obj, opts, &mut call)?,
        LineFormat::OpenAiResponse => openai_batch::map_bare(&obj, opts, &mut call)?,
        LineFormat::Native => native::map(&obj, &mut call)?,
        LineFormat::LiteLlm => litellm::map(&obj, opts, &mut call)?,
        LineFormat::Langfuse => langfuse::map(&obj, opts, &mut call)?,
        LineFormat::Bedrock => bedrock::map(&obj, opts, &mut call)?,
    }
    if let Some(p) = prefix {
        call.attributes.insert("log_prefix".into(), Value::String(p));
    }
    if non_finite > 0 {
        call.attributes.insert("non_finite_numbers".into(), Value::from(non_finite));
    }
    finish(&mut call, file, line_no, format)?;
    if let (LineFormat::OpenAiBatch, Some(requests), Some(id)) =
        (format, &opts.batch_requests, call.client_request_id.as_deref())
    {
        requests.mark_joined(id);
    }
    for a in &mut assessments {
        a.trace_id.clone_from(&call.trace_id);
        a.call_id = Some(call.id.clone());
        a.created_at = call.start_time;
    }
    Ok(ParsedLine { call, assessments, format })
}

/// Fills what every format derives the same way: trace context, end time, origin, flags.
fn finish(call: &mut Call, file: &str, line_no: u64, format: LineFormat) -> Result<(), LineError> {
    for (name, field, v) in
        [("latency", "latency_ms", call.latency_ms), ("time to first token", "ttft_ms", call.ttft_ms)]
    {
        if let Some(ms) = v.filter(|ms| !(0.0..=MAX_DURATION_MS).contains(ms)) {
            let shown = if ms.abs() < 1e12 { format!("{ms}") } else { format!("{ms:e}") };
            let message = format!("{name} of {shown} ms is out of range (0 to 30 days)");
            // llmscope's own records name the field; other formats map it from their own names.
            return Err(if format == LineFormat::Native {
                LineError::at(field.into(), message)
            } else {
                LineError::line(message)
            });
        }
    }
    if call.trace_id.is_empty() {
        call.trace_id = ids::trace_id_for(&call.id);
    }
    if call.span_id.is_empty() {
        call.span_id = ids::span_id_for(&call.id);
    }
    let start = call.start_time;
    let after = |ms: f64| start.checked_add_signed(chrono::Duration::microseconds((ms * 1000.0) as i64));
    if call.end_time.is_none() {
        call.end_time = call.latency_ms.and_then(after);
    }
    if call.first_token_time.is_none() {
        call.first_token_time = call.ttft_ms.and_then(after);
    }
    if call.usage.total.is_none() && (call.usage.input.is_some() || call.usage.output.is_some()) {
        call.usage.total = call.usage.effective_total();
    }
    if matches!(format, LineFormat::Native) {
        call.fill_error_kind();
    } else {
        call.settle_error_kind("error");
    }
    if !matches!(format, LineFormat::Native) || matches!(call.origin, Origin::Api) {
        call.origin = Origin::Import { file: file.to_string(), line: line_no, format: format.name().to_string() };
    }
    call.flags = checks::flags_for(call);
    Ok(())
}

/// Longest latency accepted (30 days): anything longer is a unit mix-up, not a call.
const MAX_DURATION_MS: f64 = 30.0 * 86_400_000.0;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_bedrock;
#[cfg(test)]
mod tests_providers;
#[cfg(test)]
mod tests_typed;
