//! Storage backends for llmscope.
//!
//! Every backend implements [`llmscope_core::store::Store`] (append, read, aggregate). The
//! backend is chosen by the store location: a directory (or `duckdb:` path) opens the
//! embedded DuckDB store; `clickhouse://` is reserved for the ClickHouse backend.

pub mod embedded;

use std::path::Path;

use llmscope_core::store::{Store, StoreError};

pub use embedded::{check_row_group_size, parse_size, DuckStore};

/// The DuckDB file inside a data directory.
pub const DUCKDB_FILE: &str = "llmscope.duckdb";

/// How a store is opened.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// The most memory the embedded database may use for its buffers (DuckDB's
    /// `memory_limit`, e.g. `"64MB"`); `None` keeps DuckDB's default (80 % of RAM), which
    /// suits bulk imports and reports. The long-running server sets a small limit.
    pub memory_limit: Option<String>,
    /// The memory limit while a query (a listing, a report) runs, when larger than
    /// `memory_limit`: raised for the query and set back after it (e.g. `"256MB"`).
    pub query_memory_limit: Option<String>,
    /// Write-ahead log size at which DuckDB checkpoints (e.g. `"16MB"`); `None` keeps the
    /// store's default (256 MB, suited to bulk imports).
    pub checkpoint_threshold: Option<String>,
    /// Threads DuckDB may use (`None`: one per core).
    pub threads: Option<usize>,
    /// Rows per row group written while open (a multiple of 2,048; `None`: DuckDB's
    /// 122,880). The server uses small ones to bound what a checkpoint takes.
    pub row_group_size: Option<u64>,
}

/// Opens the store at `location`: a data directory (created if missing) holding
/// `llmscope.duckdb`.
pub fn open(location: &str) -> Result<Box<dyn Store>, StoreError> {
    open_with(location, &StoreOptions::default())
}

/// The data directory of an embedded store at `location` (a directory, or `duckdb:` and
/// one); `None` for another backend's location.
pub fn embedded_dir(location: &str) -> Option<&Path> {
    let other = ["clickhouse://", "http://", "https://"].iter().any(|p| location.starts_with(p));
    (!other).then(|| Path::new(location.strip_prefix("duckdb:").unwrap_or(location)))
}

/// [`open`] with options.
pub fn open_with(location: &str, opts: &StoreOptions) -> Result<Box<dyn Store>, StoreError> {
    let Some(dir) = embedded_dir(location) else {
        return Err(StoreError::BadQuery(format!(
            "{location}: the ClickHouse backend is not part of this build yet; use a data directory"
        )));
    };
    let store = DuckStore::open_dir_with(dir, opts.row_group_size)?;
    if let Some(limit) = &opts.memory_limit {
        store.set_memory_limit(limit)?;
    }
    if let Some(limit) = &opts.query_memory_limit {
        store.set_query_memory_limit(limit)?;
    }
    if let Some(size) = &opts.checkpoint_threshold {
        store.set_checkpoint_threshold(size)?;
    }
    if let Some(n) = opts.threads {
        store.set_threads(n)?;
    }
    Ok(Box::new(store))
}
