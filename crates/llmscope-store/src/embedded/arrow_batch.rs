//! Calls → an Arrow record batch in the column order and types of the `calls` table, inserted
//! through [`super::batch_scan`] (one data chunk per 2,048 rows instead of one call per value).

use std::sync::Arc;

use duckdb::arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Float64Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder,
    UInt16Builder, UInt64Builder,
};
use duckdb::arrow::datatypes::{Field, Schema};
use duckdb::arrow::record_batch::RecordBatch;
use llmscope_core::call::CALL_SCHEMA_VERSION;
use llmscope_core::store::StoreError;
use llmscope_core::{text, Call, Origin};
use xxhash_rust::xxh3::xxh3_64;

use super::bins::fine_bin;

/// Appends `v` as JSON text, written through `scratch` (one buffer for the whole batch
/// instead of a string per value). A value that cannot be written appends `fallback`.
fn append_json(to: &mut StringBuilder, scratch: &mut Vec<u8>, v: &impl serde::Serialize, fallback: &str) {
    scratch.clear();
    match serde_json::to_writer(&mut *scratch, v).ok().and_then(|()| std::str::from_utf8(scratch).ok()) {
        Some(text) => to.append_value(text),
        None => to.append_value(fallback),
    }
}

/// Appends `v` as JSON text, or null when it is absent or JSON null.
fn append_json_or_null(to: &mut StringBuilder, scratch: &mut Vec<u8>, v: Option<&serde_json::Value>) {
    match v.filter(|v| !v.is_null()) {
        Some(v) => append_json(to, scratch, v, "null"),
        None => to.append_null(),
    }
}

/// Builds the batch. `now_us` is the ingestion time.
pub fn calls_batch(calls: &[&Call], now_us: i64) -> Result<RecordBatch, StoreError> {
    // The long text columns sized to what they will hold (growing a buffer by doubling
    // copied it over and over: a few percent of an import's time).
    let text: usize = calls.iter().map(|c| c.input_text.len()).sum();
    let answers: usize = calls.iter().map(|c| c.output.as_deref().map_or(0, str::len)).sum();
    let mut b = CallsBuilder::new(Capacity { calls: calls.len(), text, answers }, now_us);
    for c in calls {
        b.push(c);
    }
    b.finish()
}

/// What a [`CallsBuilder`] reserves room for: calls, bytes of question text (`input_text`)
/// and of answers. More is taken by growing the columns.
#[derive(Debug, Clone, Copy)]
pub struct Capacity {
    pub calls: usize,
    pub text: usize,
    pub answers: usize,
}

/// The `calls` table's columns, built one call at a time: a call can be added as soon as it
/// is parsed, while its data is still in the cache, and dropped right after.
pub struct CallsBuilder {
    id: StringBuilder,
    project: StringBuilder,
    schema_version: UInt16Builder,
    trace_id: StringBuilder,
    span_id: StringBuilder,
    parent_span_id: StringBuilder,
    span_kind: StringBuilder,
    name: StringBuilder,
    start: TimestampMicrosecondBuilder,
    first_token: TimestampMicrosecondBuilder,
    end: TimestampMicrosecondBuilder,
    ingested: TimestampMicrosecondBuilder,
    latency: Float64Builder,
    ttft: Float64Builder,
    temperature: Float64Builder,
    model: StringBuilder,
    provider: StringBuilder,
    operation: StringBuilder,
    user_id: StringBuilder,
    session_id: StringBuilder,
    request_id: StringBuilder,
    client_request_id: StringBuilder,
    input: StringBuilder,
    input_text: StringBuilder,
    output: StringBuilder,
    tool_calls: StringBuilder,
    input_hash: UInt64Builder,
    question_key: UInt64Builder,
    output_empty: BooleanBuilder,
    tokens_counted: BooleanBuilder,
    json_mode: BooleanBuilder,
    status: StringBuilder,
    error_kind: StringBuilder,
    error_message: StringBuilder,
    finish_reason: StringBuilder,
    status_code: UInt16Builder,
    in_tok: UInt64Builder,
    out_tok: UInt64Builder,
    cached_tok: UInt64Builder,
    total_tok: UInt64Builder,
    write_tok: UInt64Builder,
    response_format: StringBuilder,
    tools: StringBuilder,
    params: StringBuilder,
    attributes: StringBuilder,
    tags: ListBuilder<StringBuilder>,
    flags: ListBuilder<StringBuilder>,
    origin: StringBuilder,
    source_file: StringBuilder,
    source_format: StringBuilder,
    source_line: UInt64Builder,
    latency_bin: UInt16Builder,
    ttft_bin: UInt16Builder,
    /// One buffer for every JSON value written (instead of a string per value).
    scratch: Vec<u8>,
    now_us: i64,
}

impl CallsBuilder {
    /// An empty batch; `now_us` is the ingestion time of its calls.
    pub fn new(cap: Capacity, now_us: i64) -> Self {
        let n = cap.calls;
        let s = || StringBuilder::with_capacity(n, n * 16);
        let sized = |bytes: usize| StringBuilder::with_capacity(n, bytes);
        let ts = || TimestampMicrosecondBuilder::with_capacity(n);
        let f = || Float64Builder::with_capacity(n);
        let u = || UInt64Builder::with_capacity(n);
        let u16 = || UInt16Builder::with_capacity(n);
        let b = || BooleanBuilder::with_capacity(n);
        let l = || ListBuilder::new(StringBuilder::new());
        CallsBuilder {
            id: s(),
            project: s(),
            schema_version: u16(),
            trace_id: s(),
            span_id: s(),
            parent_span_id: s(),
            span_kind: s(),
            name: s(),
            start: ts(),
            first_token: ts(),
            end: ts(),
            ingested: ts(),
            latency: f(),
            ttft: f(),
            temperature: f(),
            model: s(),
            provider: s(),
            operation: s(),
            user_id: s(),
            session_id: s(),
            request_id: s(),
            client_request_id: s(),
            input: sized(cap.text + n * 48),
            input_text: sized(cap.text),
            output: sized(cap.answers),
            tool_calls: s(),
            input_hash: u(),
            question_key: u(),
            output_empty: b(),
            tokens_counted: b(),
            json_mode: b(),
            status: s(),
            error_kind: s(),
            error_message: s(),
            finish_reason: s(),
            status_code: u16(),
            in_tok: u(),
            out_tok: u(),
            cached_tok: u(),
            total_tok: u(),
            write_tok: u(),
            response_format: s(),
            tools: s(),
            params: sized(n * 64),
            attributes: sized(n * 96),
            tags: l(),
            flags: l(),
            origin: s(),
            source_file: s(),
            source_format: s(),
            source_line: u(),
            latency_bin: u16(),
            ttft_bin: u16(),
            scratch: Vec::with_capacity(4096),
            now_us,
        }
    }

    /// Calls added so far.
    pub fn len(&self) -> usize {
        self.id.len()
    }

    /// Adds a call. (A string column holds at most 2 GiB: callers bound the text they add.)
    pub fn push(&mut self, c: &Call) {
        self.id.append_value(&c.id);
        self.project.append_value(&c.project);
        self.schema_version.append_value(CALL_SCHEMA_VERSION);
        self.trace_id.append_value(&c.trace_id);
        self.span_id.append_value(&c.span_id);
        self.parent_span_id.append_option(c.parent_span_id.as_deref());
        self.span_kind.append_value(c.span_kind.as_str());
        self.name.append_option(c.name.as_deref());
        self.start.append_value(c.start_time.timestamp_micros());
        self.first_token.append_option(c.first_token_time.map(|t| t.timestamp_micros()));
        self.end.append_option(c.end_time.map(|t| t.timestamp_micros()));
        self.latency.append_option(c.latency_ms);
        self.ttft.append_option(c.ttft_ms);
        self.model.append_option(c.model.as_deref());
        self.provider.append_option(c.provider.as_deref());
        self.operation.append_option(c.operation.as_deref());
        self.user_id.append_option(c.user_id.as_deref());
        self.session_id.append_option(c.session_id.as_deref());
        self.request_id.append_option(c.request_id.as_deref());
        self.client_request_id.append_option(c.client_request_id.as_deref());
        append_json_or_null(&mut self.input, &mut self.scratch, Some(&c.input));
        self.input_text.append_value(&c.input_text);
        let trimmed = c.input_text.trim();
        if trimmed.is_empty() {
            self.input_hash.append_null();
            self.question_key.append_null();
        } else {
            self.input_hash.append_value(xxh3_64(trimmed.as_bytes()));
            self.question_key.append_value(text::question_key(trimmed));
        }
        self.output.append_option(c.output.as_deref());
        self.output_empty.append_option(c.output.as_ref().map(|o| o.trim().is_empty() && c.tool_calls.is_none()));
        append_json_or_null(&mut self.tool_calls, &mut self.scratch, c.tool_calls.as_ref());
        self.status.append_value(c.status.as_str());
        self.status_code.append_option(c.status_code);
        self.error_kind.append_option(c.error_kind.as_deref());
        self.error_message.append_option(c.error_message.as_deref());
        self.finish_reason.append_option(c.finish_reason.as_deref());
        self.in_tok.append_option(c.usage.input);
        self.out_tok.append_option(c.usage.output);
        self.cached_tok.append_option(c.usage.cached);
        self.write_tok.append_option(c.usage.cache_write);
        self.total_tok.append_option(c.usage.total);
        self.tokens_counted.append_value(c.usage.counted);
        self.temperature.append_option(c.temperature);
        self.json_mode.append_value(c.json_mode);
        append_json_or_null(&mut self.response_format, &mut self.scratch, c.response_format.as_ref());
        append_json_or_null(&mut self.tools, &mut self.scratch, c.tools.as_ref());
        append_json(&mut self.params, &mut self.scratch, &c.params, "{}");
        for t in &c.tags {
            self.tags.values().append_value(t);
        }
        self.tags.append(true);
        append_json(&mut self.attributes, &mut self.scratch, &c.attributes, "{}");
        // Each flag once (a call either carries it or not: the label rollup counts calls).
        for (i, fl) in c.flags.iter().enumerate() {
            if !c.flags[..i].contains(fl) {
                self.flags.values().append_value(fl);
            }
        }
        self.flags.append(true);
        self.origin.append_value(c.origin.kind());
        match &c.origin {
            Origin::Import { file, line, format } => {
                self.source_file.append_value(file);
                self.source_line.append_value(*line);
                self.source_format.append_value(format);
            }
            _ => {
                self.source_file.append_null();
                self.source_line.append_null();
                self.source_format.append_null();
            }
        }
        self.ingested.append_value(self.now_us);
        self.latency_bin.append_option(c.latency_ms.map(fine_bin));
        self.ttft_bin.append_option(c.ttft_ms.map(fine_bin));
    }

    /// The batch of the calls added.
    pub fn finish(mut self) -> Result<RecordBatch, StoreError> {
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("id", Arc::new(self.id.finish())),
            ("project", Arc::new(self.project.finish())),
            ("schema_version", Arc::new(self.schema_version.finish())),
            ("trace_id", Arc::new(self.trace_id.finish())),
            ("span_id", Arc::new(self.span_id.finish())),
            ("parent_span_id", Arc::new(self.parent_span_id.finish())),
            ("span_kind", Arc::new(self.span_kind.finish())),
            ("name", Arc::new(self.name.finish())),
            ("start_time", Arc::new(self.start.finish())),
            ("first_token_time", Arc::new(self.first_token.finish())),
            ("end_time", Arc::new(self.end.finish())),
            ("latency_ms", Arc::new(self.latency.finish())),
            ("ttft_ms", Arc::new(self.ttft.finish())),
            ("model", Arc::new(self.model.finish())),
            ("provider", Arc::new(self.provider.finish())),
            ("operation", Arc::new(self.operation.finish())),
            ("user_id", Arc::new(self.user_id.finish())),
            ("session_id", Arc::new(self.session_id.finish())),
            ("request_id", Arc::new(self.request_id.finish())),
            ("client_request_id", Arc::new(self.client_request_id.finish())),
            ("input", Arc::new(self.input.finish())),
            ("input_text", Arc::new(self.input_text.finish())),
            ("input_hash", Arc::new(self.input_hash.finish())),
            ("question_key", Arc::new(self.question_key.finish())),
            ("output", Arc::new(self.output.finish())),
            ("output_empty", Arc::new(self.output_empty.finish())),
            ("tool_calls", Arc::new(self.tool_calls.finish())),
            ("status", Arc::new(self.status.finish())),
            ("status_code", Arc::new(self.status_code.finish())),
            ("error_kind", Arc::new(self.error_kind.finish())),
            ("error_message", Arc::new(self.error_message.finish())),
            ("finish_reason", Arc::new(self.finish_reason.finish())),
            ("input_tokens", Arc::new(self.in_tok.finish())),
            ("output_tokens", Arc::new(self.out_tok.finish())),
            ("cached_tokens", Arc::new(self.cached_tok.finish())),
            ("total_tokens", Arc::new(self.total_tok.finish())),
            ("tokens_counted", Arc::new(self.tokens_counted.finish())),
            ("temperature", Arc::new(self.temperature.finish())),
            ("json_mode", Arc::new(self.json_mode.finish())),
            ("response_format", Arc::new(self.response_format.finish())),
            ("tools", Arc::new(self.tools.finish())),
            ("params", Arc::new(self.params.finish())),
            ("tags", Arc::new(self.tags.finish())),
            ("attributes", Arc::new(self.attributes.finish())),
            ("flags", Arc::new(self.flags.finish())),
            ("origin", Arc::new(self.origin.finish())),
            ("source_file", Arc::new(self.source_file.finish())),
            ("source_line", Arc::new(self.source_line.finish())),
            ("source_format", Arc::new(self.source_format.finish())),
            ("ingested_at", Arc::new(self.ingested.finish())),
            ("latency_bin", Arc::new(self.latency_bin.finish())),
            ("ttft_bin", Arc::new(self.ttft_bin.finish())),
            // (Last, as migration 6 added it to the table.)
            ("cache_write_tokens", Arc::new(self.write_tok.finish())),
        ];
        let fields: Vec<Field> = cols.iter().map(|(n, a)| Field::new(*n, a.data_type().clone(), true)).collect();
        let schema = Arc::new(Schema::new(fields));
        RecordBatch::try_new(schema, cols.into_iter().map(|(_, a)| a).collect())
            .map_err(|e| StoreError::Backend(format!("building the Arrow batch: {e}")))
    }
}
