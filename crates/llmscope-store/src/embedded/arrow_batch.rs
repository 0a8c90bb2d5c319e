//! Calls → an Arrow record batch in the column order and types of the `calls` table, inserted
//! through [`super::batch_scan`] (one data chunk per 2,048 rows instead of one call per value).

use std::sync::Arc;

use duckdb::arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder, UInt16Builder,
    UInt64Builder,
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
    let n = calls.len();
    let s = || StringBuilder::with_capacity(n, n * 16);
    let (mut id, mut project, mut trace_id, mut span_id, mut parent_span_id, mut span_kind, mut name) =
        (s(), s(), s(), s(), s(), s(), s());
    let mut schema_version = UInt16Builder::with_capacity(n);
    let ts = || TimestampMicrosecondBuilder::with_capacity(n);
    let (mut start, mut first_token, mut end, mut ingested) = (ts(), ts(), ts(), ts());
    let f = || Float64Builder::with_capacity(n);
    let (mut latency, mut ttft, mut temperature) = (f(), f(), f());
    let (mut model, mut provider, mut operation, mut user_id, mut session_id, mut request_id, mut client_request_id) =
        (s(), s(), s(), s(), s(), s(), s());
    // The long text columns sized to what they will hold (growing a buffer by doubling
    // copied it over and over: a few percent of an import's time).
    let text: usize = calls.iter().map(|c| c.input_text.len()).sum();
    let answers: usize = calls.iter().map(|c| c.output.as_deref().map_or(0, str::len)).sum();
    let sized = |bytes: usize| StringBuilder::with_capacity(n, bytes);
    let (mut input, mut input_text, mut output, mut tool_calls) =
        (sized(text + n * 48), sized(text), sized(answers), s());
    let u = || UInt64Builder::with_capacity(n);
    let (mut input_hash, mut question_key) = (u(), u());
    let b = || BooleanBuilder::with_capacity(n);
    let (mut output_empty, mut tokens_counted, mut json_mode) = (b(), b(), b());
    let (mut status, mut error_kind, mut error_message, mut finish_reason) = (s(), s(), s(), s());
    let mut status_code = UInt16Builder::with_capacity(n);
    let (mut in_tok, mut out_tok, mut cached_tok, mut total_tok, mut write_tok) = (u(), u(), u(), u(), u());
    let (mut response_format, mut tools, mut params, mut attributes) = (s(), s(), sized(n * 64), sized(n * 96));
    let l = || ListBuilder::new(StringBuilder::new());
    let (mut tags, mut flags) = (l(), l());
    let (mut origin, mut source_file, mut source_format) = (s(), s(), s());
    let mut source_line = u();
    let (mut latency_bin, mut ttft_bin) = (UInt16Builder::with_capacity(n), UInt16Builder::with_capacity(n));

    let mut scratch = Vec::with_capacity(4096);
    for c in calls {
        id.append_value(&c.id);
        project.append_value(&c.project);
        schema_version.append_value(CALL_SCHEMA_VERSION);
        trace_id.append_value(&c.trace_id);
        span_id.append_value(&c.span_id);
        parent_span_id.append_option(c.parent_span_id.as_deref());
        span_kind.append_value(c.span_kind.as_str());
        name.append_option(c.name.as_deref());
        start.append_value(c.start_time.timestamp_micros());
        first_token.append_option(c.first_token_time.map(|t| t.timestamp_micros()));
        end.append_option(c.end_time.map(|t| t.timestamp_micros()));
        latency.append_option(c.latency_ms);
        ttft.append_option(c.ttft_ms);
        model.append_option(c.model.as_deref());
        provider.append_option(c.provider.as_deref());
        operation.append_option(c.operation.as_deref());
        user_id.append_option(c.user_id.as_deref());
        session_id.append_option(c.session_id.as_deref());
        request_id.append_option(c.request_id.as_deref());
        client_request_id.append_option(c.client_request_id.as_deref());
        append_json_or_null(&mut input, &mut scratch, Some(&c.input));
        input_text.append_value(&c.input_text);
        let trimmed = c.input_text.trim();
        if trimmed.is_empty() {
            input_hash.append_null();
            question_key.append_null();
        } else {
            input_hash.append_value(xxh3_64(trimmed.as_bytes()));
            question_key.append_value(text::question_key(trimmed));
        }
        output.append_option(c.output.as_deref());
        output_empty.append_option(c.output.as_ref().map(|o| o.trim().is_empty() && c.tool_calls.is_none()));
        append_json_or_null(&mut tool_calls, &mut scratch, c.tool_calls.as_ref());
        status.append_value(c.status.as_str());
        status_code.append_option(c.status_code);
        error_kind.append_option(c.error_kind.as_deref());
        error_message.append_option(c.error_message.as_deref());
        finish_reason.append_option(c.finish_reason.as_deref());
        in_tok.append_option(c.usage.input);
        out_tok.append_option(c.usage.output);
        cached_tok.append_option(c.usage.cached);
        write_tok.append_option(c.usage.cache_write);
        total_tok.append_option(c.usage.total);
        tokens_counted.append_value(c.usage.counted);
        temperature.append_option(c.temperature);
        json_mode.append_value(c.json_mode);
        append_json_or_null(&mut response_format, &mut scratch, c.response_format.as_ref());
        append_json_or_null(&mut tools, &mut scratch, c.tools.as_ref());
        append_json(&mut params, &mut scratch, &c.params, "{}");
        for t in &c.tags {
            tags.values().append_value(t);
        }
        tags.append(true);
        append_json(&mut attributes, &mut scratch, &c.attributes, "{}");
        // Each flag once (a call either carries it or not: the label rollup counts calls).
        for (i, fl) in c.flags.iter().enumerate() {
            if !c.flags[..i].contains(fl) {
                flags.values().append_value(fl);
            }
        }
        flags.append(true);
        origin.append_value(c.origin.kind());
        match &c.origin {
            Origin::Import { file, line, format } => {
                source_file.append_value(file);
                source_line.append_value(*line);
                source_format.append_value(format);
            }
            _ => {
                source_file.append_null();
                source_line.append_null();
                source_format.append_null();
            }
        }
        ingested.append_value(now_us);
        latency_bin.append_option(c.latency_ms.map(fine_bin));
        ttft_bin.append_option(c.ttft_ms.map(fine_bin));
    }

    let cols: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(id.finish())),
        ("project", Arc::new(project.finish())),
        ("schema_version", Arc::new(schema_version.finish())),
        ("trace_id", Arc::new(trace_id.finish())),
        ("span_id", Arc::new(span_id.finish())),
        ("parent_span_id", Arc::new(parent_span_id.finish())),
        ("span_kind", Arc::new(span_kind.finish())),
        ("name", Arc::new(name.finish())),
        ("start_time", Arc::new(start.finish())),
        ("first_token_time", Arc::new(first_token.finish())),
        ("end_time", Arc::new(end.finish())),
        ("latency_ms", Arc::new(latency.finish())),
        ("ttft_ms", Arc::new(ttft.finish())),
        ("model", Arc::new(model.finish())),
        ("provider", Arc::new(provider.finish())),
        ("operation", Arc::new(operation.finish())),
        ("user_id", Arc::new(user_id.finish())),
        ("session_id", Arc::new(session_id.finish())),
        ("request_id", Arc::new(request_id.finish())),
        ("client_request_id", Arc::new(client_request_id.finish())),
        ("input", Arc::new(input.finish())),
        ("input_text", Arc::new(input_text.finish())),
        ("input_hash", Arc::new(input_hash.finish())),
        ("question_key", Arc::new(question_key.finish())),
        ("output", Arc::new(output.finish())),
        ("output_empty", Arc::new(output_empty.finish())),
        ("tool_calls", Arc::new(tool_calls.finish())),
        ("status", Arc::new(status.finish())),
        ("status_code", Arc::new(status_code.finish())),
        ("error_kind", Arc::new(error_kind.finish())),
        ("error_message", Arc::new(error_message.finish())),
        ("finish_reason", Arc::new(finish_reason.finish())),
        ("input_tokens", Arc::new(in_tok.finish())),
        ("output_tokens", Arc::new(out_tok.finish())),
        ("cached_tokens", Arc::new(cached_tok.finish())),
        ("total_tokens", Arc::new(total_tok.finish())),
        ("tokens_counted", Arc::new(tokens_counted.finish())),
        ("temperature", Arc::new(temperature.finish())),
        ("json_mode", Arc::new(json_mode.finish())),
        ("response_format", Arc::new(response_format.finish())),
        ("tools", Arc::new(tools.finish())),
        ("params", Arc::new(params.finish())),
        ("tags", Arc::new(tags.finish())),
        ("attributes", Arc::new(attributes.finish())),
        ("flags", Arc::new(flags.finish())),
        ("origin", Arc::new(origin.finish())),
        ("source_file", Arc::new(source_file.finish())),
        ("source_line", Arc::new(source_line.finish())),
        ("source_format", Arc::new(source_format.finish())),
        ("ingested_at", Arc::new(ingested.finish())),
        ("latency_bin", Arc::new(latency_bin.finish())),
        ("ttft_bin", Arc::new(ttft_bin.finish())),
        // (Last, as migration 6 added it to the table.)
        ("cache_write_tokens", Arc::new(write_tok.finish())),
    ];
    let fields: Vec<Field> = cols.iter().map(|(n, a)| Field::new(*n, a.data_type().clone(), true)).collect();
    let schema = Arc::new(Schema::new(fields));
    RecordBatch::try_new(schema, cols.into_iter().map(|(_, a)| a).collect())
        .map_err(|e| StoreError::Backend(format!("building the Arrow batch: {e}")))
}
