//! Arrow record batches turned into DuckDB data chunks by DuckDB's own Arrow reader, the
//! one its `arrow_scan` uses: numbers and strings are referenced where they lie in the
//! batch instead of copied value by value, and strings are not checked for UTF-8 again
//! (an Arrow string array holds valid UTF-8 by construction). duckdb-rs's
//! `record_batch_to_duckdb_data_chunk` copies every string and checks it: about half of
//! an import's appending (docs/BENCHMARKS.md, twenty-third session).
//!
//! DuckDB's C API converts with a connection's settings (`duckdb_data_chunk_from_arrow`),
//! which duckdb-rs does not expose. The settings it reads matter only for Arrow extension
//! types, which our batches do not use, so the conversion runs on a connection of its own
//! small in-memory database, opened once per process and never closed.
//!
//! Only flat columns of a few types (strings, integers, doubles, booleans, timestamps without
//! a zone, and lists of those) are taken: for those a type's id fixes its layout, which the
//! checks before referencing a vector rely on, and DuckDB reads every one of them. A batch
//! with any other column is copied by duckdb-rs instead.
//!
//! Safety: a chunk converted here references the batch's buffers. The caller keeps the
//! batch alive for as long as DuckDB may read those chunks (the statement they are produced
//! for): DuckDB's own reference, through the exported array, covers only the first column.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::sync::{Arc, Mutex, OnceLock};

use duckdb::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, StructArray};
use duckdb::arrow::buffer::{BooleanBuffer, NullBuffer};
use duckdb::arrow::datatypes::{DataType, Field, SchemaRef, TimeUnit};
use duckdb::arrow::ffi::{FFI_ArrowArray, FFI_ArrowSchema};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::core::DataChunkHandle;
use duckdb::ffi;

/// A connection of a private in-memory database, used only for its conversion settings.
struct Converter {
    conn: ffi::duckdb_connection,
}

// The handles are plain pointers DuckDB allows any thread to use; [`converter`] hands the
// converter out behind a mutex, so one thread at a time uses the connection.
unsafe impl Send for Converter {}

/// The process's converter, opened on first use.
fn converter() -> Result<&'static Mutex<Converter>, String> {
    static CONVERTER: OnceLock<Result<Mutex<Converter>, String>> = OnceLock::new();
    CONVERTER
        .get_or_init(|| {
            let mut db: ffi::duckdb_database = std::ptr::null_mut();
            let mut conn: ffi::duckdb_connection = std::ptr::null_mut();
            // SAFETY: a null path opens an in-memory database; both out pointers are valid.
            unsafe {
                if ffi::duckdb_open(std::ptr::null(), &mut db) != ffi::DuckDBSuccess {
                    return Err("cannot open DuckDB's Arrow converter (an in-memory database)".into());
                }
                if ffi::duckdb_connect(db, &mut conn) != ffi::DuckDBSuccess {
                    ffi::duckdb_close(&mut db);
                    return Err("cannot connect to DuckDB's Arrow converter".into());
                }
                // The connection keeps the database alive; the handle is not needed again.
                ffi::duckdb_close(&mut db);
            }
            Ok(Mutex::new(Converter { conn }))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Takes a DuckDB error's message and frees the error (`None` for no error).
fn take_error(mut e: ffi::duckdb_error_data) -> Option<String> {
    if e.is_null() {
        return None;
    }
    // SAFETY: `e` is a live error DuckDB returned; its message lives until it is destroyed.
    unsafe {
        let msg = ffi::duckdb_error_data_message(e);
        let text = if msg.is_null() {
            "unknown error".to_string()
        } else {
            CStr::from_ptr(msg).to_string_lossy().into_owned()
        };
        ffi::duckdb_destroy_error_data(&mut e);
        Some(text)
    }
}

/// A batch schema as DuckDB's Arrow reader understands it.
pub struct NativeSchema {
    raw: ffi::duckdb_arrow_converted_schema,
    /// The schema it was made from: DuckDB reads a batch's buffers by it, so only batches of
    /// exactly this schema are converted with it.
    arrow: SchemaRef,
}

// Read-only after creation; DuckDB's reader only looks it up.
unsafe impl Send for NativeSchema {}
unsafe impl Sync for NativeSchema {}

impl Drop for NativeSchema {
    fn drop(&mut self) {
        // SAFETY: created by `duckdb_schema_from_arrow`, destroyed once.
        unsafe { ffi::duckdb_destroy_arrow_converted_schema(&mut self.raw) }
    }
}

impl NativeSchema {
    /// Reads `schema` as DuckDB would scan it, if every column is of a type taken here.
    pub fn new(schema: &SchemaRef) -> Result<Self, String> {
        if let Some(f) = schema.fields().iter().find(|f| !taken(f)) {
            return Err(format!("column {} is of a type not read natively ({})", f.name(), f.data_type()));
        }
        let mut ffi_schema =
            FFI_ArrowSchema::try_from(schema.as_ref()).map_err(|e| format!("exporting the schema: {e}"))?;
        let conv = converter()?.lock().unwrap_or_else(|p| p.into_inner());
        let mut raw: ffi::duckdb_arrow_converted_schema = std::ptr::null_mut();
        // SAFETY: arrow-rs's FFI_ArrowSchema is the C data interface's ArrowSchema, the
        // struct DuckDB's header declares; DuckDB reads it and leaves it to us to release
        // (its Drop does).
        let err = unsafe {
            ffi::duckdb_schema_from_arrow(
                conv.conn,
                (&mut ffi_schema as *mut FFI_ArrowSchema).cast::<ffi::ArrowSchema>(),
                &mut raw,
            )
        };
        match take_error(err) {
            Some(e) => Err(format!("DuckDB cannot read the batch's schema: {e}")),
            None if raw.is_null() => Err("DuckDB returned no schema for the batch".into()),
            None => Ok(NativeSchema { raw, arrow: Arc::clone(schema) }),
        }
    }
}

/// The flat Arrow types read natively, each with the DuckDB type DuckDB's reader makes of
/// it (a type its id fixes).
fn flat_types() -> [(DataType, ffi::DUCKDB_TYPE); 10] {
    [
        (DataType::Utf8, ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR),
        (DataType::Boolean, ffi::DUCKDB_TYPE_DUCKDB_TYPE_BOOLEAN),
        (DataType::Int16, ffi::DUCKDB_TYPE_DUCKDB_TYPE_SMALLINT),
        (DataType::Int32, ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTEGER),
        (DataType::Int64, ffi::DUCKDB_TYPE_DUCKDB_TYPE_BIGINT),
        (DataType::UInt16, ffi::DUCKDB_TYPE_DUCKDB_TYPE_USMALLINT),
        (DataType::UInt32, ffi::DUCKDB_TYPE_DUCKDB_TYPE_UINTEGER),
        (DataType::UInt64, ffi::DUCKDB_TYPE_DUCKDB_TYPE_UBIGINT),
        (DataType::Float64, ffi::DUCKDB_TYPE_DUCKDB_TYPE_DOUBLE),
        (DataType::Timestamp(TimeUnit::Microsecond, None), ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP),
    ]
}

/// Whether a flat Arrow type is one DuckDB's reader takes as a type its id fixes.
fn flat_taken(t: &DataType) -> bool {
    flat_types().iter().any(|(a, _)| a == t)
}

/// Whether a column is read natively: a flat type taken, or a list of one, without metadata
/// (which could name an Arrow extension type).
fn taken(f: &Field) -> bool {
    f.metadata().is_empty()
        && match f.data_type() {
            DataType::List(child) => child.metadata().is_empty() && flat_taken(child.data_type()),
            t => flat_taken(t),
        }
}

/// Whether a DuckDB type id is one of those the types [`flat_taken`] gives become.
fn flat_id(id: ffi::DUCKDB_TYPE) -> bool {
    flat_types().iter().any(|(_, d)| *d == id)
}

/// A vector's type as (id, a list's child's id), if its layout is fixed by them: a flat type
/// [`flat_id`] names or a list of one. `None` for any other type.
fn type_key(vector: ffi::duckdb_vector) -> Option<(ffi::DUCKDB_TYPE, Option<ffi::DUCKDB_TYPE>)> {
    // SAFETY: `vector` is a live vector; each logical type fetched is destroyed here.
    unsafe {
        let mut t = ffi::duckdb_vector_get_column_type(vector);
        let id = ffi::duckdb_get_type_id(t);
        let key = if id == ffi::DUCKDB_TYPE_DUCKDB_TYPE_LIST {
            let mut c = ffi::duckdb_list_type_child_type(t);
            let cid = ffi::duckdb_get_type_id(c);
            ffi::duckdb_destroy_logical_type(&mut c);
            flat_id(cid).then_some((id, Some(cid)))
        } else {
            flat_id(id).then_some((id, None))
        };
        ffi::duckdb_destroy_logical_type(&mut t);
        key
    }
}

/// A boolean array whose bits start at a byte (DuckDB reads one byte past a validity
/// bitmap that starts within one): an unaligned one copied to offset 0.
fn byte_aligned(column: &ArrayRef) -> ArrayRef {
    let Some(b) = column.as_boolean_opt() else {
        return Arc::clone(column);
    };
    let unaligned = b.values().offset() % 8 != 0 || b.nulls().is_some_and(|n| n.offset() % 8 != 0);
    if !unaligned {
        return Arc::clone(column);
    }
    let values = BooleanBuffer::new(b.values().sliced(), 0, b.len());
    let nulls = b.nulls().map(|n| NullBuffer::new(BooleanBuffer::new(n.inner().sliced(), 0, n.len())));
    Arc::new(BooleanArray::new(values, nulls))
}

/// Fills `output` with `batch` (at most one vector of rows), converted by DuckDB's Arrow
/// reader. `output`'s columns must have the types DuckDB gives the batch's; a column that
/// does not is an error, nothing is referenced then.
///
/// The caller keeps `batch` (its buffers) alive until DuckDB is done with `output`.
pub fn fill(schema: &NativeSchema, batch: &RecordBatch, output: &mut DataChunkHandle) -> Result<(), String> {
    // DuckDB reads the batch's buffers as the converted schema says, before any check here.
    if !Arc::ptr_eq(&schema.arrow, &batch.schema()) && schema.arrow.fields() != batch.schema().fields() {
        return Err("the batch's schema is not the one converted".into());
    }
    let out = output.get_ptr();
    let rows = batch.num_rows();
    // SAFETY (here and below): `out` is the live chunk DuckDB handed the table function.
    let columns = unsafe { ffi::duckdb_data_chunk_get_column_count(out) } as usize;
    if columns != batch.num_columns() {
        return Err(format!("the batch has {} columns, the scan {columns}", batch.num_columns()));
    }
    let columns_aligned: Vec<ArrayRef> = batch.columns().iter().map(byte_aligned).collect();
    let data = StructArray::try_new(batch.schema().fields().clone(), columns_aligned, None)
        .map_err(|e| format!("exporting the batch: {e}"))?
        .into_data();
    let mut array = FFI_ArrowArray::new(&data);
    let mut chunk: ffi::duckdb_data_chunk = std::ptr::null_mut();
    {
        let conv = converter()?.lock().unwrap_or_else(|p| p.into_inner());
        // SAFETY: `array` is a valid exported Arrow array (the C data interface's struct);
        // DuckDB takes it over (clearing its release callback, so our Drop releases
        // nothing) and references its buffers from the chunk it returns.
        let err = unsafe {
            ffi::duckdb_data_chunk_from_arrow(
                conv.conn,
                (&mut array as *mut FFI_ArrowArray).cast::<ffi::ArrowArray>(),
                schema.raw,
                &mut chunk,
            )
        };
        if let Some(e) = take_error(err) {
            return Err(format!("DuckDB cannot read the batch: {e}"));
        }
    }
    if chunk.is_null() {
        return Err("DuckDB returned no chunk for the batch".into());
    }
    let result = (|| {
        let got = unsafe { ffi::duckdb_data_chunk_get_column_count(chunk) } as usize;
        if got != columns || unsafe { ffi::duckdb_data_chunk_get_size(chunk) } as usize != rows {
            return Err(format!("DuckDB read the batch as {got} columns, expected {columns} of {rows} rows"));
        }
        let pairs: Vec<_> = (0..columns as u64)
            .map(|i| unsafe {
                (ffi::duckdb_data_chunk_get_vector(out, i), ffi::duckdb_data_chunk_get_vector(chunk, i))
            })
            .collect();
        let differs = |to, from| type_key(to).is_none_or(|t| Some(t) != type_key(from));
        if let Some(i) = pairs.iter().position(|&(to, from)| differs(to, from)) {
            return Err(format!("column {} of the batch: DuckDB reads it as another type than the scan's", i + 1));
        }
        for (to, from) in pairs {
            // SAFETY: same types, each fixed by its ids (checked above); `to` shares
            // `from`'s buffers, whose Arrow data the caller's batch keeps alive after
            // `chunk` is destroyed.
            unsafe { ffi::duckdb_vector_reference_vector(to, from) };
        }
        unsafe { ffi::duckdb_data_chunk_set_size(out, rows as u64) };
        Ok(())
    })();
    // SAFETY: `chunk` was created by DuckDB for us and is destroyed once.
    unsafe { ffi::duckdb_destroy_data_chunk(&mut chunk) };
    result
}

#[cfg(test)]
mod tests {
    use duckdb::arrow::array::StringArray;
    use duckdb::arrow::datatypes::Schema;
    use duckdb::core::{LogicalTypeHandle, LogicalTypeId};
    use duckdb::vtab::to_duckdb_logical_type_for_field;
    use duckdb::{params, Connection};
    use llmscope_core::{checks, Call, CallStatus, TokenUsage};
    use serde_json::json;

    use super::super::arrow_batch::calls_batch;
    use super::super::batch_scan;
    use super::*;

    /// Calls whose columns take every kind of value: short (inlined) and long strings, CJK
    /// and emoji, empty strings, nulls, lists of tags, JSON.
    fn varied(n: u32) -> Vec<Call> {
        let t0 = chrono::DateTime::from_timestamp(1_736_000_000, 0).unwrap_or_default();
        (0..n)
            .map(|i| {
                let mut c = Call {
                    id: format!("{i:032x}"),
                    project: if i % 7 == 0 { "other".into() } else { "default".into() },
                    trace_id: format!("{:032x}", u64::from(i) * 31),
                    span_id: format!("{i:016x}"),
                    parent_span_id: (i % 3 == 0).then(|| format!("{:016x}", i + 1)),
                    start_time: t0 + chrono::Duration::milliseconds(i64::from(i) * 1_337),
                    latency_ms: (i % 5 != 0).then_some(f64::from(i) * 1.5),
                    ttft_ms: (i % 4 == 0).then_some(f64::from(i) / 3.0),
                    model: (i % 11 != 0).then(|| ["gpt-4o", "qwen2.5-72b-instruct", ""][i as usize % 3].into()),
                    user_id: (i % 2 == 0).then(|| format!("用户{}", i % 13)),
                    input: json!([{"role": "user", "content": format!("问题 {i} 🚀 {}", "x".repeat(i as usize % 40))}]),
                    input_text: format!("问题 {i} 🚀 {}", "x".repeat(i as usize % 40)),
                    output: match i % 6 {
                        0 => None,
                        1 => Some(String::new()),
                        _ => Some(format!("answer {i} {}", "é".repeat(i as usize % 20))),
                    },
                    status: if i % 9 == 0 { CallStatus::Error } else { CallStatus::Ok },
                    error_message: (i % 9 == 0).then(|| "upstream timed out".into()),
                    usage: TokenUsage {
                        input: Some(u64::from(i)),
                        output: (i % 3 != 1).then_some(7),
                        ..Default::default()
                    },
                    tags: (0..i % 3).map(|k| format!("tag{k}")).collect(),
                    ..Default::default()
                };
                c.flags = checks::flags_for(&c);
                c
            })
            .collect()
    }

    fn ok<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
        r.unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_calls_batch_is_read_natively_and_stores_what_the_copying_conversion_stores() {
        let calls = varied(2 * 2048 + 300);
        let refs: Vec<&Call> = calls.iter().collect();
        let batch = ok(calls_batch(&refs, 1_736_000_000_000_000));

        // DuckDB's reader takes the whole schema, every column as the scan declares it.
        let schema = ok(NativeSchema::new(&batch.schema()));
        let types: Vec<LogicalTypeHandle> =
            batch.schema().fields().iter().map(|f| ok(to_duckdb_logical_type_for_field(f))).collect();
        for (at, n) in [(0, 2048), (5, 1000), (4096, 300)] {
            let mut chunk = DataChunkHandle::new(&types);
            ok(fill(&schema, &batch.slice(at, n), &mut chunk));
            assert_eq!(chunk.len(), n);
        }

        let conn = ok(Connection::open_in_memory());
        ok(batch_scan::register(&conn));
        let lent = batch_scan::lend(batch.clone());
        ok(conn.execute("CREATE TABLE native AS SELECT * FROM llmscope_batch(?) LIMIT 0", params![lent.key()]));
        drop(lent);
        ok(conn.execute_batch("CREATE TABLE copied AS SELECT * FROM native"));
        // Through the table function (natively), from an offset to exercise sliced arrays.
        assert_eq!(ok(batch_scan::insert(&conn, "native", batch.slice(0, 17))), 17);
        assert_eq!(ok(batch_scan::insert(&conn, "native", batch.slice(17, batch.num_rows() - 17))), calls.len() - 17);
        // Through duckdb-rs's appender, which copies value by value.
        {
            let mut app = ok(conn.appender("copied"));
            ok(app.append_record_batch(batch));
            ok(app.flush());
        }
        let count = |sql: &str| -> i64 { ok(conn.query_row(sql, [], |r| r.get(0))) };
        assert_eq!(count("SELECT count(*) FROM native"), calls.len() as i64);
        assert_eq!(count("SELECT count(*) FROM (SELECT * FROM native EXCEPT ALL SELECT * FROM copied)"), 0);
        assert_eq!(count("SELECT count(*) FROM (SELECT * FROM copied EXCEPT ALL SELECT * FROM native)"), 0);
        assert_eq!(
            count("SELECT count(*) FROM native WHERE output IS NULL"),
            calls.iter().filter(|c| c.output.is_none()).count() as i64
        );
        assert_eq!(
            count("SELECT count(*) FROM native WHERE input_text LIKE '问题 %🚀%'"),
            calls.len() as i64,
            "multi-byte text arrives whole"
        );
    }

    #[test]
    fn only_batches_of_the_converted_schema_and_of_taken_types_are_read_natively() {
        use duckdb::arrow::array::{Date32Array, Int64Array};
        let ids = ok(RecordBatch::try_from_iter([("id", Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef)]));
        let numbers = ok(RecordBatch::try_from_iter([("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef)]));
        let schema = ok(NativeSchema::new(&ids.schema()));
        let mut chunk = DataChunkHandle::new(&[LogicalTypeHandle::from(LogicalTypeId::Varchar)]);
        let e = fill(&schema, &numbers, &mut chunk).err().unwrap_or_default();
        assert!(e.contains("not the one converted"), "{e}");
        assert_eq!(chunk.len(), 0);

        // A type outside the few taken, or a field with metadata (an extension type, say),
        // is left to the copying conversion, which the table function then uses.
        let dates = ok(RecordBatch::try_from_iter([("d", Arc::new(Date32Array::from(vec![0, 20_000])) as ArrayRef)]));
        assert!(NativeSchema::new(&dates.schema()).is_err());
        let tagged = Field::new("id", DataType::Utf8, true)
            .with_metadata([("ARROW:extension:name".to_string(), "x".to_string())].into());
        assert!(NativeSchema::new(&Arc::new(Schema::new(vec![tagged]))).is_err());
        let conn = ok(Connection::open_in_memory());
        ok(batch_scan::register(&conn));
        ok(conn.execute_batch("CREATE TABLE t (d DATE)"));
        assert_eq!(ok(batch_scan::insert(&conn, "t", dates)), 2);
        let last: String = ok(conn.query_row("SELECT CAST(max(d) AS VARCHAR) FROM t", [], |r| r.get(0)));
        assert_eq!(last, "2024-10-04");
    }

    #[test]
    fn booleans_starting_within_a_byte_are_copied_to_start_at_one() {
        let all: ArrayRef = Arc::new(BooleanArray::from(
            (0..100).map(|i| (i % 3 != 0).then_some(i % 2 == 0)).collect::<Vec<Option<bool>>>(),
        ));
        for at in [0, 3, 8, 17] {
            let part = all.slice(at, 50);
            let aligned = byte_aligned(&part);
            let b = aligned.as_boolean();
            assert_eq!(b.values().offset() % 8, 0, "values from {at}");
            assert!(b.nulls().is_none_or(|n| n.offset() % 8 == 0), "validity from {at}");
            assert_eq!(b, part.as_boolean(), "the same values from {at}");
        }
    }

    #[test]
    fn a_column_of_another_type_is_refused_and_nothing_is_filled() {
        let batch = ok(RecordBatch::try_from_iter([("id", Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef)]));
        let schema = ok(NativeSchema::new(&batch.schema()));
        let mut chunk = DataChunkHandle::new(&[LogicalTypeHandle::from(LogicalTypeId::Bigint)]);
        let e = fill(&schema, &batch, &mut chunk).err().unwrap_or_default();
        assert!(e.contains("column 1"), "{e}");
        assert_eq!(chunk.len(), 0);
        let mut two = DataChunkHandle::new(&[
            LogicalTypeHandle::from(LogicalTypeId::Varchar),
            LogicalTypeHandle::from(LogicalTypeId::Varchar),
        ]);
        let e = fill(&schema, &batch, &mut two).err().unwrap_or_default();
        assert!(e.contains("1 columns, the scan 2"), "{e}");
    }
}
