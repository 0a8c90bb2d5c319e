//! Numbered schema migrations. Each runs once, in its own transaction, and is recorded in
//! `schema_migrations`; a store written by a newer llmscope is refused rather than misread.

use std::path::Path;

use duckdb::Connection;
use llmscope_core::store::StoreError;

use super::db_err;

/// The migrations, in order. Never edit a released one: add the next.
const MIGRATIONS: &[(i64, &str, &str)] = &[(1, "init", include_str!("sql/001_init.sql"))];

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = 1;

pub fn migrate(conn: &Connection, path: &Path) -> Result<(), StoreError> {
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
    for &(version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        let script = format!(
            "BEGIN TRANSACTION;\n{sql}\nINSERT INTO schema_migrations VALUES ({version}, '{name}', now()::TIMESTAMP);\nCOMMIT;"
        );
        if let Err(e) = conn.execute_batch(&script) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(StoreError::Backend(format!("migration {version} ({name}) failed: {e}")));
        }
        tracing::info!(version, name, "applied schema migration");
    }
    Ok(())
}
