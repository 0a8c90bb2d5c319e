//! Storage backends for llmscope.
//!
//! Every backend implements [`llmscope_core::store::Store`] (append, read, aggregate). The
//! backend is chosen by the store location: a directory (or `duckdb:` path) opens the
//! embedded DuckDB store; `clickhouse://` is reserved for the ClickHouse backend.

pub mod embedded;

use std::path::Path;

use llmscope_core::store::{Store, StoreError};

pub use embedded::DuckStore;

/// The DuckDB file inside a data directory.
pub const DUCKDB_FILE: &str = "llmscope.duckdb";

/// Opens the store at `location`: a data directory (created if missing) holding
/// `llmscope.duckdb`.
pub fn open(location: &str) -> Result<Box<dyn Store>, StoreError> {
    if location.starts_with("clickhouse://") || location.starts_with("http://") || location.starts_with("https://") {
        return Err(StoreError::BadQuery(format!(
            "{location}: the ClickHouse backend is not part of this build yet; use a data directory"
        )));
    }
    let dir = location.strip_prefix("duckdb:").unwrap_or(location);
    Ok(Box::new(DuckStore::open_dir(Path::new(dir))?))
}
