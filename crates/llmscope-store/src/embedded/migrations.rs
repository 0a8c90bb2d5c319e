//! Numbered schema migrations. Each runs once, in its own transaction, and is recorded in
//! `schema_migrations`; a store written by a newer llmscope is refused rather than misread.

use std::path::Path;

use duckdb::Connection;
use llmscope_core::store::StoreError;

use super::db_err;

/// A migration step in Rust, after its SQL and in its transaction.
type Backfill = fn(&Connection) -> Result<(), StoreError>;

/// One migration.
struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
    /// Needs a file in storage format v1.2 or later (zstd for strings). On an older file it
    /// is recorded as applied without running: the data stays as it is, readable and
    /// writable, only larger and slower to append to.
    needs_v1_2: bool,
    /// Fills what the SQL created from the stored data, in the same transaction.
    backfill: Option<Backfill>,
}

/// The migrations, in order. Never edit a released one: add the next.
const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "init", sql: include_str!("sql/001_init.sql"), needs_v1_2: false, backfill: None },
    Migration {
        version: 2,
        name: "column_compression",
        sql: include_str!("sql/002_column_compression.sql"),
        needs_v1_2: true,
        backfill: None,
    },
    Migration {
        version: 3,
        name: "rollups",
        sql: include_str!("sql/003_rollups.sql"),
        needs_v1_2: false,
        backfill: Some(super::rollup::backfill),
    },
    Migration {
        version: 4,
        name: "sessions_users_questions",
        sql: include_str!("sql/004_sessions_users_questions.sql"),
        needs_v1_2: false,
        backfill: Some(super::rollup::backfill_4),
    },
    Migration {
        version: 5,
        name: "day_bins",
        sql: include_str!("sql/005_day_bins.sql"),
        needs_v1_2: false,
        backfill: Some(super::day_bins::backfill),
    },
    Migration {
        version: 6,
        name: "cache_write",
        sql: include_str!("sql/006_cache_write.sql"),
        needs_v1_2: false,
        backfill: Some(super::rollup::backfill_6),
    },
    Migration {
        version: 7,
        name: "drop_hist",
        sql: include_str!("sql/007_drop_hist.sql"),
        needs_v1_2: false,
        backfill: None,
    },
];

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = 7;

/// The storage format llmscope creates new files in (DuckDB's `storage_compatibility_version`).
/// Pinned, so that a DuckDB upgrade does not change the files it writes unannounced.
pub const STORAGE_VERSION: &str = "v1.5.0";

/// Whether the open database's file format is v1.2 or later (an in-memory database is).
fn supports_v1_2(conn: &Connection) -> Result<bool, StoreError> {
    let tag: Option<String> = conn
        .query_row(
            "SELECT tags['storage_version'] FROM duckdb_databases() WHERE database_name = current_database()",
            [],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    Ok(match tag {
        None => true,
        Some(v) => storage_at_least(&v, (1, 2)),
    })
}

/// Whether a storage version tag such as `v1.5.0+` is at least `major.minor`.
fn storage_at_least(tag: &str, want: (u32, u32)) -> bool {
    let mut parts = tag.trim_start_matches('v').split(|c: char| !c.is_ascii_digit());
    let major = parts.next().and_then(|p| p.parse::<u32>().ok());
    let minor = parts.next().and_then(|p| p.parse::<u32>().ok());
    matches!((major, minor), (Some(a), Some(b)) if (a, b) >= want)
}

pub fn migrate(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    migrate_to(conn, path, SCHEMA_VERSION)
}

/// Applies the migrations up to `target` (tests build stores of an earlier schema with it).
pub(crate) fn migrate_to(conn: &Connection, path: &Path, target: i64) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT NOT NULL, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)",
    )
    .map_err(db_err)?;
    let current: i64 =
        conn.query_row("SELECT coalesce(max(version), 0) FROM schema_migrations", [], |r| r.get(0)).map_err(db_err)?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            path: path.display().to_string(),
            found: current,
            supported: SCHEMA_VERSION,
        });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > current && m.version <= target) {
        let (version, name) = (m.version, m.name);
        let runs = !m.needs_v1_2 || supports_v1_2(conn)?;
        let sql = if runs { m.sql } else { "" };
        if !runs {
            tracing::info!(
                version,
                name,
                "this store's file predates DuckDB storage format v1.2; migration recorded without running (the data is unchanged)"
            );
        }
        let script = format!("BEGIN TRANSACTION;\n{sql}");
        let applied = conn
            .execute_batch(&script)
            .map_err(db_err)
            .and_then(|()| m.backfill.map_or(Ok(()), |fill| fill(conn)))
            .and_then(|()| {
                conn.execute_batch(&format!(
                    "INSERT INTO schema_migrations VALUES ({version}, '{name}', now()::TIMESTAMP);\nCOMMIT;"
                ))
                .map_err(db_err)
            });
        if let Err(e) = applied {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(StoreError::Backend(format!("migration {version} ({name}) failed: {e}")));
        }
        tracing::info!(version, name, "applied schema migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::storage_at_least;

    #[test]
    fn storage_version_tags_are_compared_by_number() {
        assert!(storage_at_least("v1.5.0+", (1, 2)));
        assert!(storage_at_least("v1.2.0", (1, 2)));
        assert!(storage_at_least("v2.0.0", (1, 2)));
        assert!(!storage_at_least("v1.0.0+", (1, 2)));
        assert!(!storage_at_least("v0.10.2", (1, 2)));
        assert!(!storage_at_least("", (1, 2)));
        assert!(!storage_at_least("garbage", (1, 2)));
    }
}
