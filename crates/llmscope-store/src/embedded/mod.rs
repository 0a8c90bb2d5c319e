//! The embedded store: one DuckDB file in the data directory.
//!
//! - [`migrations`]: numbered, idempotent schema migrations (`sql/NNN_*.sql`).
//! - [`append`]: batched, deduplicating, committed appends;
//!   [`arrow_batch`]: calls as an Arrow record batch for DuckDB's columnar appender.
//! - [`filter`]: `CallFilter` → SQL `WHERE` with bound parameters.
//! - [`read`]: listing calls and assessments.
//! - [`analytics`]: the aggregate queries.
//!
//! One process at a time may open the file (DuckDB takes an exclusive lock). A CLI command
//! that finds the file locked by a running server says so ([`StoreError::Locked`]) instead of
//! waiting; it reaches the data through the server's API instead.

mod analytics;
mod append;
mod arrow_batch;
mod filter;
mod migrations;
mod read;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use duckdb::Connection;
use llmscope_core::store::{Store, StoreError};

/// The embedded DuckDB store.
pub struct DuckStore {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for DuckStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DuckStore").field("path", &self.path).finish()
    }
}

impl DuckStore {
    /// Opens (creating if needed) `dir/llmscope.duckdb` and brings its schema up to date.
    pub fn open_dir(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Backend(format!("cannot create the data directory {}: {e}", dir.display())))?;
        Self::open_file(&dir.join(crate::DUCKDB_FILE))
    }

    /// Opens (creating if needed) a DuckDB file.
    pub fn open_file(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(|e| open_error(path, e))?;
        tune(&conn)?;
        migrations::migrate(&conn, path)?;
        append::prepare_staging(&conn)?;
        Ok(DuckStore { path: path.to_path_buf(), conn: Mutex::new(conn) })
    }

    /// An in-memory store (tests).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory().map_err(db_err)?;
        migrations::migrate(&conn, Path::new(":memory:"))?;
        append::prepare_staging(&conn)?;
        Ok(DuckStore { path: PathBuf::from(":memory:"), conn: Mutex::new(conn) })
    }

    /// Caps the memory DuckDB uses for its buffers (`"64MB"`, `"1GB"`, …).
    pub fn set_memory_limit(&self, limit: &str) -> Result<(), StoreError> {
        let ok = limit.trim().chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == ' ');
        if !ok || limit.trim().is_empty() {
            return Err(StoreError::BadQuery(format!("memory limit {limit:?}: expected a size such as 64MB")));
        }
        self.lock()?.execute_batch(&format!("SET memory_limit = '{}'", limit.trim())).map_err(db_err)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>, StoreError> {
        self.conn
            .lock()
            .map_err(|_| StoreError::Backend("the store connection was poisoned by an earlier panic".into()))
    }
}

impl Store for DuckStore {
    fn describe(&self) -> String {
        format!("duckdb:{}", self.path.display())
    }
}

fn open_error(path: &Path, e: duckdb::Error) -> StoreError {
    let msg = e.to_string();
    if msg.contains("Could not set lock") || msg.contains("Conflicting lock") {
        // DuckDB: "Could not set lock on file …: Conflicting lock is held in /path/llmscope (PID 123)"
        let holder = msg.find("held in").map(|i| format!(" ({})", msg[i..].trim_end_matches('.'))).unwrap_or_default();
        StoreError::Locked { path: path.display().to_string(), holder }
    } else {
        StoreError::Backend(format!("cannot open {}: {msg}", path.display()))
    }
}

/// Session settings. Commits are durable through the write-ahead log; checkpoints (which
/// rewrite and compress the data file) run when the log reaches a quarter gigabyte instead of
/// DuckDB's 16 MB default, so a bulk import is not checkpointing after every batch.
fn tune(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(&format!(
        "SET checkpoint_threshold = '{}'",
        std::env::var("LLMSCOPE_CHECKPOINT").unwrap_or_else(|_| "256MB".into())
    ))
    .map_err(db_err)
}

/// Runs a query with bound parameters and maps every row.
pub(crate) fn query_rows<T>(
    conn: &Connection,
    sql: &str,
    params: &[duckdb::types::Value],
    map: impl FnMut(&duckdb::Row<'_>) -> duckdb::Result<T>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare(sql).map_err(db_err)?;
    let rows = stmt.query_map(duckdb::params_from_iter(params.iter()), map).map_err(db_err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
}

pub(crate) fn db_err(e: duckdb::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

#[cfg(test)]
mod tests;
