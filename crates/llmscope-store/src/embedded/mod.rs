//! The embedded store: one DuckDB file in the data directory.
//!
//! - [`migrations`]: numbered, idempotent schema migrations (`sql/NNN_*.sql`).
//! - [`append`]: batched, deduplicating, committed appends;
//!   [`arrow_batch`]: calls as an Arrow record batch; [`batch_scan`]: such a batch inserted
//!   (or joined) through a table function.
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
mod arrow_native;
mod batch_scan;
mod bins;
mod bulk;
mod columns;
mod day_bins;
mod filter;
mod known_ids;
mod labels;
mod latency;
mod migrations;
mod overview;
mod quantiles;
mod questions;
mod read;
mod rollup;
mod sessions;
mod users;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use duckdb::Connection;
use llmscope_core::store::{Store, StoreError};

/// The embedded DuckDB store.
pub struct DuckStore {
    path: PathBuf,
    conn: Mutex<Connection>,
    /// Settings made through this store, made again after a reopen.
    settings: Mutex<Settings>,
    /// How many times the database was reopened after a fatal error.
    reopens: std::sync::atomic::AtomicU64,
    /// A reopen failed: the connection is an empty in-memory placeholder, and the next
    /// error tries again.
    broken: std::sync::atomic::AtomicBool,
    /// DuckDB's memory limit is above the store's own: a query raised it (see
    /// [`DuckStore::with_query_conn`]) and it has not been set back yet.
    raised: std::sync::atomic::AtomicBool,
    /// DuckDB's `threads` before a bulk load that lowered it and could not set it back (0:
    /// none): the next load takes this as the setting to restore, not the lowered value.
    pub(crate) threads_owed: std::sync::atomic::AtomicI64,
    /// The file's block size (0 in memory).
    block_size: u64,
    /// Rows per row group while this store is open (`None`: DuckDB's 122,880).
    row_group_size: Option<u64>,
}

impl std::fmt::Debug for DuckStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DuckStore").field("path", &self.path).finish()
    }
}

impl DuckStore {
    /// Opens (creating if needed) `dir/llmscope.duckdb` and brings its schema up to date.
    pub fn open_dir(dir: &Path) -> Result<Self, StoreError> {
        Self::open_dir_with(dir, None)
    }

    /// [`DuckStore::open_dir`], writing row groups of `row_group_size` rows (a multiple of
    /// 2,048) while open instead of DuckDB's 122,880. A long-running server uses small ones:
    /// each checkpoint rewrites the row group rows are being appended to, and the memory it
    /// takes outside DuckDB's buffer pool grows with it.
    pub fn open_dir_with(dir: &Path, row_group_size: Option<u64>) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Backend(format!("cannot create the data directory {}: {e}", dir.display())))?;
        Self::open_file_with(&dir.join(crate::DUCKDB_FILE), row_group_size)
    }

    /// Opens (creating if needed) a DuckDB file.
    pub fn open_file(path: &Path) -> Result<Self, StoreError> {
        Self::open_file_with(path, None)
    }

    /// [`DuckStore::open_file`] with a row group size (see [`DuckStore::open_dir_with`]).
    pub fn open_file_with(path: &Path, row_group_size: Option<u64>) -> Result<Self, StoreError> {
        if let Some(n) = row_group_size {
            check_row_group_size(n).map_err(StoreError::BadQuery)?;
        }
        let conn = open_conn(path, row_group_size)?;
        tune(&conn)?;
        migrations::migrate(&conn, path)?;
        append::prepare_staging(&conn)?;
        let block_size: i64 = conn
            .query_row(
                "SELECT block_size FROM pragma_database_size() WHERE database_name = current_database()",
                [],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        Ok(DuckStore {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            settings: Mutex::default(),
            reopens: Default::default(),
            broken: Default::default(),
            threads_owed: Default::default(),
            raised: Default::default(),
            block_size: block_size.max(0) as u64,
            row_group_size,
        })
    }

    /// An in-memory store (tests).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory().map_err(db_err)?;
        migrations::migrate(&conn, Path::new(":memory:"))?;
        append::prepare_staging(&conn)?;
        Ok(DuckStore {
            path: PathBuf::from(":memory:"),
            conn: Mutex::new(conn),
            settings: Mutex::default(),
            reopens: Default::default(),
            broken: Default::default(),
            threads_owed: Default::default(),
            raised: Default::default(),
            block_size: 0,
            row_group_size: None,
        })
    }

    /// Caps the memory DuckDB uses for its buffers (`"64MB"`, `"1GB"`, `"512MiB"`, …).
    /// A limit below what a checkpoint of this file needs is raised to it (a store created
    /// with DuckDB's 256 KiB blocks needs about 40 MB), with a warning.
    pub fn set_memory_limit(&self, limit: &str) -> Result<(), StoreError> {
        let asked = parse_size(limit)
            .ok_or_else(|| StoreError::BadQuery(format!("memory limit {limit:?}: expected a size such as 64MB")))?;
        let floor = memory_floor(self.block_size);
        if asked < floor {
            tracing::warn!(
                asked_mb = asked / 1_000_000,
                used_mb = floor / 1_000_000,
                block_kib = self.block_size / 1024,
                "the memory limit is below what a checkpoint of this store needs; raised"
            );
        }
        self.update_settings(|s| s.memory_limit = Some(asked.max(floor)))
    }

    /// The memory limit in force, in bytes (`None`: DuckDB's default).
    pub fn memory_limit(&self) -> Option<u64> {
        self.settings.lock().ok().and_then(|s| s.memory_limit)
    }

    /// Lets a query (a call listing, a report, a roll-up) use up to `limit` while it runs, when that is
    /// more than the memory limit: the limit is raised for the query and set back once its
    /// answer is read, so the buffers a server keeps between queries stay small. A listing
    /// of 10,000 calls slowest first over 10 million stored needs about 48 MB, which a
    /// server's 32 MB could not give it.
    pub fn set_query_memory_limit(&self, limit: &str) -> Result<(), StoreError> {
        let bytes = parse_size(limit).ok_or_else(|| {
            StoreError::BadQuery(format!("query memory limit {limit:?}: expected a size such as 256MB"))
        })?;
        self.update_settings(|s| s.query_memory_limit = Some(bytes))
    }

    /// Sets the size of write-ahead log at which DuckDB checkpoints (`"16MB"`, …).
    pub fn set_checkpoint_threshold(&self, size: &str) -> Result<(), StoreError> {
        let bytes = parse_size(size).ok_or_else(|| {
            StoreError::BadQuery(format!("checkpoint threshold {size:?}: expected a size such as 16MB"))
        })?;
        self.update_settings(|s| s.checkpoint_threshold = Some(bytes))
    }

    /// Sets how many threads DuckDB may use (at least 1).
    pub fn set_threads(&self, n: usize) -> Result<(), StoreError> {
        self.update_settings(|s| s.threads = Some(n.max(1)))?;
        // (A setting made now is the one to keep, not one a bulk load still owes.)
        self.threads_owed.store(0, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// Stops DuckDB's worker threads and starts them again from the calling thread (DuckDB
    /// stops its workers when `threads` goes down and starts new ones when it goes up).
    pub fn restart_workers(&self) -> Result<(), StoreError> {
        let conn = self.lock()?;
        let threads = duckdb_threads(&conn)?;
        conn.execute_batch(&format!("SET threads = 1; SET threads = {threads};")).map_err(db_err)
    }

    /// Changes the settings and applies them, under the connection's lock (the lock `recover`
    /// holds while it reapplies them to a reopened database).
    fn update_settings(&self, change: impl FnOnce(&mut Settings)) -> Result<(), StoreError> {
        let conn = self.lock()?;
        let mut settings =
            self.settings.lock().map_err(|_| StoreError::Backend("the store settings were poisoned".into()))?;
        let mut next = settings.clone();
        change(&mut next);
        next.apply(&conn)?;
        *settings = next;
        Ok(())
    }

    /// After a fatal error DuckDB refuses every later statement on this database
    /// ("database has been invalidated"); what was committed is in the file and its
    /// write-ahead log. This closes the database and opens it again, so that a long-running
    /// server recovers instead of failing every write until it is restarted. Returns whether
    /// it reopened.
    pub(crate) fn recover(&self, conn: &mut Connection, error: &StoreError) -> bool {
        let msg = error.to_string();
        let broken = self.broken.load(std::sync::atomic::Ordering::Relaxed);
        if !(is_fatal(&msg) || broken) || self.path == Path::new(":memory:") {
            return false;
        }
        tracing::error!(path = %self.path.display(), error = %msg, "the database hit a fatal error; reopening it");
        // The old instance must be closed before the file is opened again.
        match Connection::open_in_memory() {
            Ok(placeholder) => drop(std::mem::replace(conn, placeholder)),
            Err(e) => {
                tracing::error!(error = %e, "cannot reopen the database");
                return false;
            }
        }
        // A checkpoint that ran out of memory will run out again under the same limit: the
        // limit is too small for this table, so it is doubled (not when a query had raised
        // it: the store's own limit was not the one that fell short).
        let mut settings = match self.settings.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        let raised = self.raised.swap(false, std::sync::atomic::Ordering::Relaxed);
        if is_out_of_memory(&msg) && !raised {
            if let Some(limit) = settings.memory_limit.as_mut() {
                *limit = limit.saturating_mul(2);
                tracing::warn!(memory_limit_mb = *limit / (1 << 20), "the memory limit was too small; raised");
            }
        }
        let reopened = open_conn(&self.path, self.row_group_size).and_then(|c| {
            tune(&c)?;
            append::prepare_staging(&c)?;
            settings.apply(&c)?;
            Ok(c)
        });
        drop(settings);
        match reopened {
            Ok(c) => {
                *conn = c;
                self.broken.store(false, std::sync::atomic::Ordering::Relaxed);
                self.reopens.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::info!(path = %self.path.display(), "database reopened");
                true
            }
            Err(e) => {
                // The connection is the placeholder now: every statement fails (and the
                // recorder spills) until a later error reopens the file.
                self.broken.store(true, std::sync::atomic::Ordering::Relaxed);
                tracing::error!(error = %e, "cannot reopen the database; trying again at the next error");
                false
            }
        }
    }

    /// Runs `f` on the connection. A store whose last reopen failed tries again first, and a
    /// fatal error from `f` reopens the database (see `recover`); the error is returned.
    pub(crate) fn with_conn<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut conn = self.lock_ready()?;
        let out = f(&conn);
        if let Err(e) = &out {
            self.recover(&mut conn, e);
        }
        out
    }

    /// Runs a query `f` (a listing, a report's aggregation, a roll-up, which aggregates like
    /// one) like [`Self::with_conn`], with the memory limit raised to the query memory limit
    /// while it runs and set back afterwards (DuckDB evicts what it cached beyond it). The
    /// connection's lock is held throughout, so nothing else runs under the raised limit; if
    /// DuckDB cannot evict enough to set it back, the next use of the store tries again
    /// before it runs anything.
    pub(crate) fn with_query_conn<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        use std::sync::atomic::Ordering::Relaxed;
        let mut conn = self.lock_ready()?;
        if let Some(bytes) = self.current_settings().raised_for_queries() {
            match set_memory_limit(&conn, bytes) {
                Ok(()) => self.raised.store(true, Relaxed),
                Err(e) => tracing::warn!(error = %e, "could not raise the memory limit for a query"),
            }
        }
        let out = f(&conn);
        if let Err(e) = &out {
            // A reopen applies the store's own settings afresh (and clears `raised`).
            self.recover(&mut conn, e);
        }
        self.lower_if_raised(&conn);
        out
    }

    /// Sets DuckDB's memory limit back to the store's own after a query raised it.
    fn lower_if_raised(&self, conn: &Connection) {
        use std::sync::atomic::Ordering::Relaxed;
        if !self.raised.load(Relaxed) {
            return;
        }
        let Some(base) = self.current_settings().memory_limit else {
            self.raised.store(false, Relaxed);
            return;
        };
        match set_memory_limit(conn, base) {
            Ok(()) => self.raised.store(false, Relaxed),
            Err(e) => {
                tracing::warn!(error = %e, "could not set the memory limit back after a query; trying again at the next use")
            }
        }
    }

    fn current_settings(&self) -> Settings {
        self.settings.lock().map(|s| s.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// How many times the database was reopened after a fatal error (see `recover`).
    pub fn reopens(&self) -> u64 {
        self.reopens.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection, reopened first if the last reopen failed.
    fn lock_ready(&self) -> Result<std::sync::MutexGuard<'_, Connection>, StoreError> {
        let mut conn = self.lock()?;
        if self.broken.load(std::sync::atomic::Ordering::Relaxed) {
            self.recover(&mut conn, &StoreError::Backend("an earlier reopen failed".into()));
        }
        self.lower_if_raised(&conn);
        Ok(conn)
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

/// DuckDB's block size for new store files: 64 KiB instead of DuckDB's 256 KiB. A checkpoint
/// pins a block per column of the 50-column call table (and appended rows live in blocks of
/// that size until then), so with 256 KiB blocks a checkpoint needs over 32 MB of buffers and
/// the server's memory could not go below ~150 MB; with 64 KiB blocks it fits in 32 MB.
/// Imports and reports were measured no slower (docs/BENCHMARKS.md). An existing file keeps
/// the block size it was created with.
pub const BLOCK_SIZE: u64 = 64 * 1024;

/// Opens a DuckDB file: attached to an in-memory instance (ATTACH is where DuckDB takes a new
/// file's block size and storage format) and made the connection's default database. A new
/// file is created in storage format [`migrations::STORAGE_VERSION`] with [`BLOCK_SIZE`]
/// blocks; an existing file keeps its own.
fn open_conn(path: &Path, row_group_size: Option<u64>) -> Result<Connection, StoreError> {
    let text = path
        .to_str()
        .ok_or_else(|| StoreError::Backend(format!("{}: the store's path must be valid UTF-8", path.display())))?;
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let conn = Connection::open_in_memory().map_err(db_err)?;
    // An empty file is what a crashed first open can leave: DuckDB creates the database in it.
    let exists = std::fs::metadata(path).map(|m| m.len() > 0).unwrap_or(false);
    let mut options = Vec::new();
    if !exists {
        options.push(format!("BLOCK_SIZE {BLOCK_SIZE}"));
        options.push(format!("STORAGE_VERSION '{}'", migrations::STORAGE_VERSION));
    }
    if let Some(n) = row_group_size {
        options.push(format!("ROW_GROUP_SIZE {n}"));
    }
    let create = if options.is_empty() { String::new() } else { format!(" ({})", options.join(", ")) };
    // An in-memory instance would spill large queries to `.tmp/` in the working directory;
    // they go beside the file instead, as when DuckDB opens the file itself.
    conn.execute_batch(&format!(
        "ATTACH {} AS {CATALOG}{create}; USE {CATALOG}; SET temp_directory = {};",
        quote(text),
        quote(&format!("{text}.tmp"))
    ))
    .map_err(|e| open_error(path, e))?;
    Ok(conn)
}

/// Another connection to the database `conn` is connected to, with the same default
/// database (for work beside `conn`'s, as the roll-up does).
pub(crate) fn second_conn(conn: &Connection) -> Result<Connection, StoreError> {
    let db: String = conn.query_row("SELECT current_database()", [], |r| r.get(0)).map_err(db_err)?;
    let other = conn.try_clone().map_err(db_err)?;
    other.execute_batch(&format!("USE \"{}\";", db.replace('"', "\"\""))).map_err(db_err)?;
    Ok(other)
}

/// Checks a row group size: DuckDB takes positive multiples of its 2,048-row vectors.
pub fn check_row_group_size(n: u64) -> Result<(), String> {
    if n > 0 && n.is_multiple_of(2048) {
        Ok(())
    } else {
        Err(format!("row group size {n}: must be a positive multiple of 2048"))
    }
}

/// The smallest `memory_limit` accepted for a file with this block size. A checkpoint of the
/// call table needs about 40 MB of buffers with DuckDB's 256 KiB blocks (stores created before
/// llmscope chose 64 KiB), so those get at least 64 MB instead of failing a checkpoint at every
/// start; with 64 KiB blocks it needs about 30 MB, and a smaller limit is the user's choice.
fn memory_floor(block_size: u64) -> u64 {
    if block_size > BLOCK_SIZE {
        64_000_000
    } else {
        0
    }
}

/// The name the store's file is attached under.
const CATALOG: &str = "llmscope";

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

/// Settings made through a [`DuckStore`], in bytes.
#[derive(Debug, Clone, Default)]
struct Settings {
    memory_limit: Option<u64>,
    /// The memory limit while a query runs (see [`DuckStore::set_query_memory_limit`]).
    query_memory_limit: Option<u64>,
    checkpoint_threshold: Option<u64>,
    threads: Option<usize>,
}

impl Settings {
    /// Makes every setting on `conn` (`SET` is idempotent).
    fn apply(&self, conn: &Connection) -> Result<(), StoreError> {
        let kib = |bytes: u64| bytes.div_ceil(1024);
        let mut sql = String::new();
        if let Some(bytes) = self.memory_limit {
            sql.push_str(&memory_limit_sql(bytes));
        }
        if let Some(bytes) = self.checkpoint_threshold {
            sql.push_str(&format!("SET checkpoint_threshold = '{}KiB';", kib(bytes)));
        }
        if let Some(n) = self.threads {
            sql.push_str(&format!("SET threads = {n};"));
        }
        if sql.is_empty() {
            return Ok(());
        }
        conn.execute_batch(&sql).map_err(db_err)
    }

    /// The larger limit a query may use, when there is one.
    fn raised_for_queries(&self) -> Option<u64> {
        match (self.query_memory_limit, self.memory_limit) {
            (Some(q), Some(m)) if q > m => Some(q),
            _ => None,
        }
    }
}

fn set_memory_limit(conn: &Connection, bytes: u64) -> Result<(), StoreError> {
    conn.execute_batch(&memory_limit_sql(bytes)).map_err(db_err)
}

fn memory_limit_sql(bytes: u64) -> String {
    format!("SET memory_limit = '{}KiB';", bytes.div_ceil(1024))
}

/// A size such as `64MB`, `1.5 GB`, `512MiB` or `4096` (bytes), in bytes. KB, MB, GB and TB
/// are powers of 1000, KiB, MiB, GiB and TiB powers of 1024, as DuckDB reads them.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let num: f64 = num.parse().ok()?;
    let unit = unit.trim().to_ascii_lowercase();
    let factor: f64 = match unit.as_str() {
        "" | "b" | "bytes" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let bytes = num * factor;
    (1.0..1e18).contains(&bytes).then_some(bytes as u64)
}

fn is_out_of_memory(msg: &str) -> bool {
    ["Out of Memory", "failed to pin block", "could not allocate block"].iter().any(|m| msg.contains(m))
}

/// Whether a DuckDB error left the database instance unusable.
fn is_fatal(msg: &str) -> bool {
    msg.contains("FATAL Error") || msg.contains("database has been invalidated")
}

/// Session settings. Commits are durable through the write-ahead log; checkpoints (which
/// rewrite and compress the data file) run when the log reaches a quarter gigabyte instead of
/// DuckDB's 16 MB default, so a bulk import is not checkpointing after every batch.
fn tune(conn: &Connection) -> Result<(), StoreError> {
    // Late materialization sorts a listing on its order's columns and the row id alone and
    // reads the other columns of the rows it keeps; DuckDB does it only up to 50 rows by
    // default, and a page of 10,000 wide rows sorted whole needs several times the memory.
    conn.execute_batch(&format!(
        "SET checkpoint_threshold = '256MB'; SET late_materialization_max_rows = {LATE_MATERIALIZATION_ROWS}"
    ))
    .map_err(db_err)
}

/// The longest listing (`LIMIT`) sorted by late materialization: the server's largest page
/// (10,000 calls) and the one more it asks for to know whether another page follows.
const LATE_MATERIALIZATION_ROWS: u32 = 16_384;

/// DuckDB's `threads` setting on `conn`.
pub(crate) fn duckdb_threads(conn: &Connection) -> Result<i64, StoreError> {
    conn.query_row("SELECT current_setting('threads')::BIGINT", [], |r| r.get(0)).map_err(db_err)
}

/// A DuckDB setting changed for as long as this lives (reset to its default when dropped).
pub(crate) struct Setting<'a> {
    conn: &'a Connection,
    name: &'static str,
}

impl<'a> Setting<'a> {
    pub(crate) fn set(conn: &'a Connection, name: &'static str, value: &str) -> Result<Self, StoreError> {
        conn.execute_batch(&format!("SET {name} = {value}")).map_err(db_err)?;
        Ok(Setting { conn, name })
    }
}

impl Drop for Setting<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.conn.execute_batch(&format!("RESET {}", self.name)) {
            tracing::warn!(error = %e, setting = self.name, "could not reset a DuckDB setting");
        }
    }
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
mod day_bins_tests;
#[cfg(test)]
mod overview_tests;
#[cfg(test)]
mod sessions_tests;
#[cfg(test)]
mod tests;
