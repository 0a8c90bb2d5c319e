//! A columnar batch inserted with `INSERT … SELECT` from a table function
//! (`llmscope_batch(key)`), instead of through DuckDB's appender.
//!
//! The appender copies every value twice before the table sees it: into a DuckDB chunk, then
//! into the appender's own buffer, which it appends to the table when flushed. The table
//! function hands DuckDB's insert the chunk directly, so every value is copied once less.
//! The duplicate check reads the batch's ids the same way instead of appending them row by
//! row to a staging table. Together: 3.0 → 2.5 µs per seed-001 call on the appending thread
//! (`examples/append_cost.rs`; docs/BENCHMARKS.md, fifteenth session).
//!
//! The batch is lent to the function through a process-wide table keyed by a number (the
//! function's one argument) for the duration of one statement ([`Lent`] takes it back), so
//! no pointer crosses into SQL and nothing outlives the statement. (duckdb-rs's own Arrow
//! table function keeps every batch it is given for the life of the process.)

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use duckdb::arrow::record_batch::RecordBatch;
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{record_batch_to_duckdb_data_chunk, to_duckdb_logical_type_for_field};
use duckdb::vtab::{BindInfo, InitInfo, TableFunctionInfo, VTab};
use duckdb::{params, Connection};
use llmscope_core::store::StoreError;

use super::arrow_native::{self, NativeSchema};
use super::db_err;

/// The table function's name.
pub const FUNCTION: &str = "llmscope_batch";

fn lent() -> &'static Mutex<HashMap<u64, RecordBatch>> {
    static LENT: OnceLock<Mutex<HashMap<u64, RecordBatch>>> = OnceLock::new();
    LENT.get_or_init(Default::default)
}

/// A batch lent to [`FUNCTION`] under [`Lent::key`]; dropping it takes the batch back.
pub struct Lent {
    key: u64,
}

impl Lent {
    /// The argument that makes `llmscope_batch(?)` read this batch.
    pub fn key(&self) -> u64 {
        self.key
    }
}

/// Lends `batch` to [`FUNCTION`] until the returned guard is dropped.
pub fn lend(batch: RecordBatch) -> Lent {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let key = NEXT.fetch_add(1, Ordering::Relaxed);
    lent().lock().unwrap_or_else(|p| p.into_inner()).insert(key, batch);
    Lent { key }
}

/// Whether a batch is lent under `key`.
#[cfg(test)]
fn is_lent(key: u64) -> bool {
    lent().lock().unwrap_or_else(|p| p.into_inner()).contains_key(&key)
}

impl Drop for Lent {
    fn drop(&mut self) {
        lent().lock().unwrap_or_else(|p| p.into_inner()).remove(&self.key);
    }
}

/// Registers [`FUNCTION`] on a connection (once per database: DuckDB keeps it in the
/// catalog; registering it again is harmless).
pub fn register(conn: &Connection) -> Result<(), StoreError> {
    match conn.register_table_function::<BatchScan>(FUNCTION) {
        Ok(()) => Ok(()),
        Err(e) if e.to_string().contains("already exists") => Ok(()),
        Err(e) => Err(db_err(e)),
    }
}

/// Inserts every row of `batch` into `table` (whose columns it matches in order), in the
/// caller's transaction. Returns the rows inserted.
pub fn insert(conn: &Connection, table: &str, batch: RecordBatch) -> Result<usize, StoreError> {
    let lent = lend(batch);
    let sql = format!("INSERT INTO {table} SELECT * FROM {FUNCTION}(?)");
    let n = conn.execute(&sql, params![lent.key]).map_err(db_err)?;
    drop(lent);
    Ok(n)
}

struct BatchScan;

struct Bound {
    batch: RecordBatch,
    /// The batch's schema as DuckDB's own Arrow reader takes it (`None`: DuckDB could not
    /// read it, and duckdb-rs's copying conversion is used).
    native: Option<NativeSchema>,
    /// The native conversion failed once: the rest of the batch is copied.
    copying: std::sync::atomic::AtomicBool,
}

struct Cursor {
    next: AtomicUsize,
}

impl VTab for BatchScan {
    type BindData = Bound;
    type InitData = Cursor;

    fn bind(bind: &BindInfo) -> Result<Bound, Box<dyn std::error::Error>> {
        let key = bind.get_parameter(0).to_uint64();
        let batch = lent()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned()
            .ok_or_else(|| format!("{FUNCTION}({key}): no batch is lent under that key"))?;
        for field in batch.schema().fields() {
            bind.add_result_column(field.name(), to_duckdb_logical_type_for_field(field)?);
        }
        let native = NativeSchema::new(&batch.schema())
            .map_err(|e| tracing::warn!(error = %e, "the batch is copied into DuckDB value by value"))
            .ok();
        Ok(Bound { batch, native, copying: Default::default() })
    }

    fn init(_: &InitInfo) -> Result<Cursor, Box<dyn std::error::Error>> {
        Ok(Cursor { next: AtomicUsize::new(0) })
    }

    fn func(info: &TableFunctionInfo<Self>, output: &mut DataChunkHandle) -> Result<(), Box<dyn std::error::Error>> {
        let Bound { batch, native, copying } = info.get_bind_data();
        let rows = if batch.num_columns() == 0 { 0 } else { batch.num_rows() };
        // DuckDB's vector size: the rows one output chunk holds.
        let vector = if rows == 0 { 1 } else { output.flat_vector(0).capacity().max(1) };
        let at = info.get_init_data().next.fetch_add(vector, Ordering::Relaxed).min(rows);
        let n = (rows - at).min(vector);
        if n == 0 {
            output.set_len(0);
            return Ok(());
        }
        let rows = batch.slice(at, n);
        if let Some(schema) = native.as_ref().filter(|_| !copying.load(Ordering::Relaxed)) {
            // (The bound batch keeps the buffers the chunk references alive to the end of
            // the statement.)
            match arrow_native::fill(schema, &rows, output) {
                Ok(()) => return Ok(()),
                // Nothing was filled: the copying conversion takes over, for the rest of the
                // batch too.
                Err(e) => {
                    copying.store(true, Ordering::Relaxed);
                    tracing::warn!(error = %e, "the batch is copied into DuckDB value by value");
                }
            }
        }
        record_batch_to_duckdb_data_chunk(&rows, output)
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeHandle::from(LogicalTypeId::UBigint)])
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use duckdb::arrow::array::{ArrayRef, Int64Array, StringArray};

    use super::*;

    fn batch(n: i64) -> RecordBatch {
        let ids: Vec<i64> = (0..n).collect();
        let names: Vec<Option<String>> = (0..n).map(|i| (i % 3 != 0).then(|| format!("name {i}"))).collect();
        RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
            ("name", Arc::new(StringArray::from(names)) as ArrayRef),
        ])
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn inserts_every_row_across_chunks_and_lends_nothing_after() {
        let conn = Connection::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        register(&conn).unwrap_or_else(|e| panic!("{e}"));
        register(&conn).unwrap_or_else(|e| panic!("registering twice: {e}"));
        conn.execute_batch("CREATE TABLE t (id BIGINT, name VARCHAR)").unwrap_or_else(|e| panic!("{e}"));
        // Past several of DuckDB's vectors (2,048 rows each), with a last partial one.
        let n = 3 * 2048 + 17;
        let lent = lend(batch(n));
        let key = lent.key();
        let inserted = conn
            .execute("INSERT INTO t SELECT * FROM llmscope_batch(?)", params![key])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(inserted, n as usize);
        assert!(is_lent(key));
        drop(lent);
        assert!(!is_lent(key), "dropping the guard takes the batch back");
        assert_eq!(insert(&conn, "t", batch(10)).unwrap_or_else(|e| panic!("{e}")), 10);
        let (rows, sum, nulls, last): (i64, i64, i64, String) = conn
            .query_row("SELECT count(*), sum(id), count(*) FILTER (name IS NULL), max_by(name, id) FROM t", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((rows, sum), (n + 10, n * (n - 1) / 2 + 45));
        assert_eq!(nulls, (0..n).filter(|i| i % 3 == 0).count() as i64 + 4);
        assert_eq!(last, format!("name {}", n - 1));
    }

    #[test]
    fn a_refused_insert_fails_and_an_unknown_key_is_an_error() {
        let conn = Connection::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        register(&conn).unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch("CREATE TABLE t (id BIGINT NOT NULL, name VARCHAR NOT NULL)")
            .unwrap_or_else(|e| panic!("{e}"));
        // Row 0 has no name: the NOT NULL constraint refuses the insert.
        assert!(insert(&conn, "t", batch(5)).is_err());
        let rows: i64 = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows, 0);
        let e = conn.execute("SELECT * FROM llmscope_batch(?)", params![u64::MAX]).err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("no batch is lent")), "an unknown key names the problem");
    }
}
