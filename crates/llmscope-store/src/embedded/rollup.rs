//! The rollups: per quarter hour (UTC), project and model, the counts and sums the report
//! reads (`call_rollup`), and how many latency and TTFT values fall in each coarse value bin
//! (`call_rollup_hist`, see [`super::bins`]).
//!
//! They are kept in the transaction that appends the calls: the rows an append stores are
//! summed here from the very Arrow batch handed to DuckDB ([`Rollup::add_batch`]) and
//! merged into the tables (an `UPDATE` of the rows there, an `INSERT` of the others)
//! ([`Rollup::write`]). A store made before the rollups existed gets them from its calls,
//! read back through the same code, when it is migrated ([`backfill`]).
//!
//! A quarter hour divides every UTC offset in use, so the rollup rows of a window group
//! into local days and hours exactly; the report reads the calls themselves only for the
//! partial quarter hours at a window's edges.

use std::collections::HashMap;

use duckdb::arrow::array::{Array, BooleanArray, Float64Array, StringArray, TimestampMicrosecondArray, UInt64Array};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::types::Value as DbValue;
use duckdb::Connection;
use llmscope_core::store::StoreError;

use super::bins::{coarse_bin, fine_bin_sql};
use super::db_err;

/// The rollups' time step: 15 minutes, in µs.
pub const BUCKET_US: i64 = 15 * 60 * 1_000_000;

/// Latency, then TTFT, in `call_rollup_hist.metric`.
pub const METRIC_LATENCY: u8 = 0;
pub const METRIC_TTFT: u8 = 1;

/// The start of the quarter hour holding `us`.
pub fn bucket_of(us: i64) -> i64 {
    us.div_euclid(BUCKET_US) * BUCKET_US
}

/// Sums over one quarter hour, project and model. Each field matches a measure of the
/// grouped query on the calls (`analytics.rs`) that it stands in for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    pub requests: i64,
    pub errors: i64,
    pub cancelled: i64,
    pub empty_output: i64,
    pub success: i64,
    pub without_user: i64,
    pub json_mode: i64,
    pub tokens_counted: i64,
    pub latency_n: i64,
    pub latency_sum: f64,
    pub latency_max: Option<f64>,
    pub ttft_n: i64,
    pub ttft_sum: f64,
    pub tps_n: i64,
    pub tps_sum: f64,
    pub input_tokens: i128,
    pub output_tokens: i128,
    pub cached_tokens: i128,
    pub input_n: i64,
    pub output_n: i64,
    pub first_us: i64,
    pub last_us: i64,
}

fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if y > x || x.is_nan() { y } else { x }),
        (x, None) => x,
        (None, y) => y,
    }
}

impl Cell {
    fn new(start_us: i64) -> Cell {
        Cell { first_us: start_us, last_us: start_us, ..Cell::default() }
    }

    /// Adds another cell's sums.
    pub fn merge(&mut self, o: &Cell) {
        self.requests += o.requests;
        self.errors += o.errors;
        self.cancelled += o.cancelled;
        self.empty_output += o.empty_output;
        self.success += o.success;
        self.without_user += o.without_user;
        self.json_mode += o.json_mode;
        self.tokens_counted += o.tokens_counted;
        self.latency_n += o.latency_n;
        self.latency_sum += o.latency_sum;
        self.latency_max = max_opt(self.latency_max, o.latency_max);
        self.ttft_n += o.ttft_n;
        self.ttft_sum += o.ttft_sum;
        self.tps_n += o.tps_n;
        self.tps_sum += o.tps_sum;
        self.input_tokens += o.input_tokens;
        self.output_tokens += o.output_tokens;
        self.cached_tokens += o.cached_tokens;
        self.input_n += o.input_n;
        self.output_n += o.output_n;
        self.first_us = self.first_us.min(o.first_us);
        self.last_us = self.last_us.max(o.last_us);
    }
}

/// A rollup row's key: project, quarter hour (µs), model (`""` for none).
pub type CellKey = (String, i64, String);

/// Rollup rows, from appended calls or read back from the tables.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Rollup {
    pub cells: HashMap<CellKey, Cell>,
    /// Values per (row key, metric, coarse bin).
    pub hist: HashMap<(CellKey, u8, i32), i64>,
}

/// Values per (metric, coarse bin).
type BinCounts = HashMap<(u8, i32), i64>;

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T, StoreError> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| StoreError::Backend(format!("rollup: column {name} missing or of another type")))
}

fn text(a: &StringArray, i: usize) -> Option<&str> {
    (!a.is_null(i)).then(|| a.value(i))
}

fn flag(a: &BooleanArray, i: usize) -> bool {
    !a.is_null(i) && a.value(i)
}

fn num<T: Array + 'static>(a: &T, i: usize, get: impl Fn(&T, usize) -> f64) -> Option<f64> {
    (!a.is_null(i)).then(|| get(a, i))
}

impl Rollup {
    /// Adds the calls of a batch with the columns (names and Arrow types) of the `calls`
    /// table; other columns are ignored.
    pub fn add_batch(&mut self, b: &RecordBatch) -> Result<(), StoreError> {
        let project = column::<StringArray>(b, "project")?;
        let start = column::<TimestampMicrosecondArray>(b, "start_time")?;
        let model = column::<StringArray>(b, "model")?;
        let status = column::<StringArray>(b, "status")?;
        let empty = column::<BooleanArray>(b, "output_empty")?;
        let user = column::<StringArray>(b, "user_id")?;
        let latency = column::<Float64Array>(b, "latency_ms")?;
        let ttft = column::<Float64Array>(b, "ttft_ms")?;
        let (tin, tout, tcached) = (
            column::<UInt64Array>(b, "input_tokens")?,
            column::<UInt64Array>(b, "output_tokens")?,
            column::<UInt64Array>(b, "cached_tokens")?,
        );
        let counted = column::<BooleanArray>(b, "tokens_counted")?;
        let json = column::<BooleanArray>(b, "json_mode")?;

        // Rows of this batch, keyed by borrowed strings; owned keys are made once per row key.
        let mut local: HashMap<(&str, i64, &str), (Cell, BinCounts)> = HashMap::new();
        for i in 0..b.num_rows() {
            let t = start.value(i);
            let key = (text(project, i).unwrap_or(""), bucket_of(t), text(model, i).unwrap_or(""));
            let (c, h) = local.entry(key).or_insert_with(|| (Cell::new(t), HashMap::new()));
            c.requests += 1;
            c.first_us = c.first_us.min(t);
            c.last_us = c.last_us.max(t);
            let st = text(status, i).unwrap_or("");
            let is_empty = flag(empty, i);
            c.errors += i64::from(st == "error");
            c.cancelled += i64::from(st == "cancelled");
            c.empty_output += i64::from(is_empty);
            c.success += i64::from(st == "ok" && !is_empty);
            c.without_user += i64::from(user.is_null(i));
            c.json_mode += i64::from(flag(json, i));
            c.tokens_counted += i64::from(flag(counted, i));
            let lat = num(latency, i, Float64Array::value);
            if let Some(v) = lat {
                c.latency_n += 1;
                c.latency_sum += v;
                c.latency_max = max_opt(c.latency_max, Some(v));
                *h.entry((METRIC_LATENCY, coarse_bin(v))).or_default() += 1;
            }
            if let Some(v) = num(ttft, i, Float64Array::value) {
                c.ttft_n += 1;
                c.ttft_sum += v;
                *h.entry((METRIC_TTFT, coarse_bin(v))).or_default() += 1;
            }
            let out = (!tout.is_null(i)).then(|| tout.value(i));
            if let (Some(l), Some(o)) = (lat, out) {
                if l > 0.0 {
                    c.tps_n += 1;
                    c.tps_sum += o as f64 / (l / 1000.0);
                }
            }
            if !tin.is_null(i) {
                c.input_n += 1;
                c.input_tokens += i128::from(tin.value(i));
            }
            if let Some(o) = out {
                c.output_n += 1;
                c.output_tokens += i128::from(o);
            }
            if !tcached.is_null(i) {
                c.cached_tokens += i128::from(tcached.value(i));
            }
        }
        for ((p, bucket, m), (cell, hist)) in local {
            let key: CellKey = (p.to_string(), bucket, m.to_string());
            for ((metric, bin), n) in hist {
                *self.hist.entry((key.clone(), metric, bin)).or_default() += n;
            }
            self.merge_cell(key, &cell);
        }
        Ok(())
    }

    /// Adds one row's sums.
    pub fn merge_cell(&mut self, key: CellKey, cell: &Cell) {
        match self.cells.get_mut(&key) {
            Some(c) => c.merge(cell),
            None => {
                self.cells.insert(key, cell.clone());
            }
        }
    }

    /// Adds these sums to the rollup tables, in the caller's transaction.
    ///
    /// There is no index on the tables (an ART index on these keys would live in memory,
    /// and the server's budget is small): the rows to add to are found by a join limited to
    /// the batch's quarter hours, which the zone maps on `bucket_us` prune.
    pub fn write(&self, conn: &Connection) -> Result<(), StoreError> {
        let (cells, hist) = self.rows();
        let cell_set = CELL_COLUMNS
            .iter()
            .skip(3)
            .map(|(c, _)| match *c {
                "latency_max" | "last_us" => format!("{c} = greatest(r.{c}, s.{c})"),
                "first_us" => format!("{c} = least(r.{c}, s.{c})"),
                _ => format!("{c} = r.{c} + s.{c}"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        merge(conn, "call_rollup", &CELL_COLUMNS, 3, &cell_set, &cells)?;
        merge(conn, "call_rollup_hist", &HIST_COLUMNS, 5, "n = r.n + s.n", &hist)
    }

    /// The rows of both tables, as values in table order.
    fn rows(&self) -> (Vec<Vec<DbValue>>, Vec<Vec<DbValue>>) {
        let cells: Vec<Vec<DbValue>> = self
            .cells
            .iter()
            .map(|((p, bucket, m), c)| {
                let big = |v: i64| DbValue::BigInt(v);
                let huge = |v: i128| DbValue::HugeInt(v);
                vec![
                    DbValue::Text(p.clone()),
                    big(*bucket),
                    DbValue::Text(m.clone()),
                    big(c.requests),
                    big(c.errors),
                    big(c.cancelled),
                    big(c.empty_output),
                    big(c.success),
                    big(c.without_user),
                    big(c.json_mode),
                    big(c.tokens_counted),
                    big(c.latency_n),
                    DbValue::Double(c.latency_sum),
                    c.latency_max.map_or(DbValue::Null, DbValue::Double),
                    big(c.ttft_n),
                    DbValue::Double(c.ttft_sum),
                    big(c.tps_n),
                    DbValue::Double(c.tps_sum),
                    huge(c.input_tokens),
                    huge(c.output_tokens),
                    huge(c.cached_tokens),
                    big(c.input_n),
                    big(c.output_n),
                    big(c.first_us),
                    big(c.last_us),
                ]
            })
            .collect();
        let hist: Vec<Vec<DbValue>> = self
            .hist
            .iter()
            .map(|(((p, bucket, m), metric, bin), n)| {
                vec![
                    DbValue::Text(p.clone()),
                    DbValue::BigInt(*bucket),
                    DbValue::Text(m.clone()),
                    DbValue::UTinyInt(*metric),
                    DbValue::Int(*bin),
                    DbValue::BigInt(*n),
                ]
            })
            .collect();
        (cells, hist)
    }
}

impl Rollup {
    /// Appends these sums as new rows, for keys known to be absent from the tables (a
    /// migration building them day by day), in the caller's transaction.
    pub fn append_new(&self, conn: &Connection) -> Result<(), StoreError> {
        let (cells, hist) = self.rows();
        for (table, rows) in [("call_rollup", cells), ("call_rollup_hist", hist)] {
            let mut app = conn.appender(table).map_err(db_err)?;
            for row in &rows {
                app.append_row(duckdb::appender_params_from_iter(row.iter())).map_err(db_err)?;
            }
            app.flush().map_err(db_err)?;
        }
        Ok(())
    }
}

/// `call_rollup`'s columns and types, in table order; the first three are the key.
const CELL_COLUMNS: [(&str, &str); 25] = [
    ("project", "VARCHAR"),
    ("bucket_us", "BIGINT"),
    ("model", "VARCHAR"),
    ("requests", "BIGINT"),
    ("errors", "BIGINT"),
    ("cancelled", "BIGINT"),
    ("empty_output", "BIGINT"),
    ("success", "BIGINT"),
    ("without_user", "BIGINT"),
    ("json_mode", "BIGINT"),
    ("tokens_counted", "BIGINT"),
    ("latency_n", "BIGINT"),
    ("latency_sum", "DOUBLE"),
    ("latency_max", "DOUBLE"),
    ("ttft_n", "BIGINT"),
    ("ttft_sum", "DOUBLE"),
    ("tps_n", "BIGINT"),
    ("tps_sum", "DOUBLE"),
    ("input_tokens", "HUGEINT"),
    ("output_tokens", "HUGEINT"),
    ("cached_tokens", "HUGEINT"),
    ("input_n", "BIGINT"),
    ("output_n", "BIGINT"),
    ("first_us", "BIGINT"),
    ("last_us", "BIGINT"),
];

/// `call_rollup_hist`'s columns; the first five are the key.
const HIST_COLUMNS: [(&str, &str); 6] = [
    ("project", "VARCHAR"),
    ("bucket_us", "BIGINT"),
    ("model", "VARCHAR"),
    ("metric", "UTINYINT"),
    ("bin", "INTEGER"),
    ("n", "BIGINT"),
];

/// Adds `rows` to `table` through its staging table (`{table}_stage`, temporary): `set`
/// updates the rows already there (`r`) from the new ones (`s`), the others are inserted,
/// and the staging table is emptied, all in the caller's transaction (so the staged rows
/// never outlive it).
fn merge(
    conn: &Connection,
    table: &str,
    cols: &[(&str, &str)],
    keys: usize,
    set: &str,
    rows: &[Vec<DbValue>],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let fail = |e: duckdb::Error| StoreError::Backend(format!("updating {table}: {e}"));
    let stage = format!("{table}_stage");
    {
        let mut app = conn.appender(&stage).map_err(fail)?;
        for row in rows {
            app.append_row(duckdb::appender_params_from_iter(row.iter())).map_err(fail)?;
        }
        app.flush().map_err(fail)?;
    }
    let buckets = rows.iter().filter_map(|r| match r.get(1) {
        Some(DbValue::BigInt(b)) => Some(*b),
        _ => None,
    });
    let (lo, hi) = buckets.fold((i64::MAX, i64::MIN), |(lo, hi), b| (lo.min(b), hi.max(b)));
    let same = cols[..keys].iter().map(|(c, _)| format!("r.{c} = s.{c}")).collect::<Vec<_>>().join(" AND ");
    conn.execute_batch(&format!(
        "UPDATE {table} AS r SET {set} FROM {stage} s WHERE r.bucket_us BETWEEN {lo} AND {hi} AND {same};
         INSERT INTO {table} SELECT * FROM {stage} s
             WHERE NOT EXISTS (SELECT 1 FROM {table} r WHERE r.bucket_us BETWEEN {lo} AND {hi} AND {same});
         DELETE FROM {stage};"
    ))
    .map_err(fail)
}

/// The columns [`Rollup::add_batch`] reads, as a `SELECT` list over `calls`.
pub const SOURCE_COLUMNS: &str = "project, start_time, model, status, output_empty, user_id, latency_ms, ttft_ms, \
     input_tokens, output_tokens, cached_tokens, tokens_counted, json_mode";

/// Sums the calls matching `where_` (with its parameters) into a rollup.
pub fn from_calls(conn: &Connection, where_: &str, params: &[duckdb::types::Value]) -> Result<Rollup, StoreError> {
    let mut stmt = conn.prepare(&format!("SELECT {SOURCE_COLUMNS} FROM calls WHERE {where_}")).map_err(db_err)?;
    let mut rollup = Rollup::default();
    for batch in stmt.query_arrow(duckdb::params_from_iter(params.iter())).map_err(db_err)? {
        rollup.add_batch(&batch)?;
    }
    Ok(rollup)
}

/// Migration 3's step in Rust: the stored calls' value bins, then the rollups from the
/// calls, one day of calls (that has calls) at a time, so that memory stays that of a day.
pub fn backfill(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(&format!(
        "UPDATE calls SET latency_bin = {}, ttft_bin = {}",
        fine_bin_sql("latency_ms"),
        fine_bin_sql("ttft_ms")
    ))
    .map_err(db_err)?;
    const DAY_US: i64 = 24 * 3600 * 1_000_000;
    let days: Vec<i64> = super::query_rows(
        conn,
        "SELECT DISTINCT epoch_us(date_trunc('day', start_time)) AS d FROM calls ORDER BY d",
        &[],
        |r| r.get(0),
    )?;
    for from in days {
        let until = from.saturating_add(DAY_US);
        let r = from_calls(
            conn,
            "start_time >= make_timestamp(?) AND start_time < make_timestamp(?)",
            &[duckdb::types::Value::BigInt(from), duckdb::types::Value::BigInt(until)],
        )?;
        r.append_new(conn)?;
    }
    Ok(())
}
