//! Large query answers read as Arrow columns.
//!
//! The row API costs a type check and, for text, an allocation per value; an answer of tens
//! of thousands of rows (the overview's fine-bin counts) is read column by column instead.

use duckdb::arrow::array::{Array, ArrayRef, Float64Array, Int64Array, StringArray};
use duckdb::arrow::compute::cast;
use duckdb::arrow::datatypes::DataType;
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::types::Value as DbValue;
use duckdb::Connection;
use llmscope_core::store::StoreError;

use super::db_err;

/// Runs a query with bound parameters and returns its answer as record batches.
pub fn query_batches(conn: &Connection, sql: &str, params: &[DbValue]) -> Result<Vec<RecordBatch>, StoreError> {
    let mut stmt = conn.prepare(sql).map_err(db_err)?;
    let batches = stmt.query_arrow(duckdb::params_from_iter(params.iter())).map_err(db_err)?.collect();
    Ok(batches)
}

fn column(b: &RecordBatch, i: usize, ty: &DataType) -> Result<ArrayRef, StoreError> {
    if i >= b.num_columns() {
        return Err(StoreError::Backend(format!("answer has no column {i}")));
    }
    cast(b.column(i), ty).map_err(|e| StoreError::Backend(format!("column {i} as {ty}: {e}")))
}

fn downcast<T: Array + Clone + 'static>(a: &ArrayRef, i: usize) -> Result<T, StoreError> {
    a.as_any().downcast_ref::<T>().cloned().ok_or_else(|| StoreError::Backend(format!("column {i}: unexpected type")))
}

/// Column `i` as 64-bit integers (nulls are the caller's to check).
pub fn i64s(b: &RecordBatch, i: usize) -> Result<Int64Array, StoreError> {
    downcast(&column(b, i, &DataType::Int64)?, i)
}

/// Column `i` as doubles.
pub fn f64s(b: &RecordBatch, i: usize) -> Result<Float64Array, StoreError> {
    downcast(&column(b, i, &DataType::Float64)?, i)
}

/// Column `i` as text.
pub fn strs(b: &RecordBatch, i: usize) -> Result<StringArray, StoreError> {
    downcast(&column(b, i, &DataType::Utf8)?, i)
}
