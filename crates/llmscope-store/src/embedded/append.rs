//! Batched appends, and bulk loads ([`DuckBulk`]: many batches per transaction).
//!
//! A batch is deduplicated in Rust, its ids are checked against the stored calls (its id
//! column read through [`super::batch_scan`] and joined with `calls`), and the new calls are
//! inserted as one Arrow record batch through the same table function, inside a transaction
//! that is committed (and so written to DuckDB's write-ahead log and synced) before
//! `append_calls` returns. Because an id fixes the call's start time (give or take a
//! time-zone reading), the id check only scans the batch's time range widened by 26 hours,
//! which DuckDB's zone maps prune. The quarter hours of the stored rows are marked for the
//! rollups ([`super::rollup`]) in the same transaction.

use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use duckdb::arrow::array::{Array, ArrayRef, BooleanArray, StringArray, TimestampMicrosecondArray};
use duckdb::arrow::compute::filter_record_batch;
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::{params, Connection};
use llmscope_core::store::{AppendOutcome, BulkLoad, CallPreparer, CallSink, PreparedCalls, StoreError};
use llmscope_core::{Assessment, AssessmentValue, Call};

use super::arrow_batch::{calls_batch, CallsBuilder, Capacity};
use super::batch_scan;
use super::bulk::Unseen;
use super::known_ids::KnownIds;
use super::rollup;
use super::{db_err, duckdb_threads, DuckStore};

/// How far (µs) either side of a batch's time range duplicates are looked for: 26 hours,
/// the widest gap between two UTC offsets.
const DEDUP_SLACK_US: i64 = 26 * 3600 * 1_000_000;

pub fn prepare_staging(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch("CREATE TEMP TABLE IF NOT EXISTS assessments_stage AS SELECT * FROM assessments LIMIT 0;")
        .map_err(db_err)?;
    batch_scan::register(conn)
}

fn micros(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_micros()
}

/// Where a stored twin of calls starting in `[lo, hi]` (µs) is looked for. A re-sent call
/// has the same id and, almost always, the same start time. The window is widened by a day
/// each side so that a log re-imported under another `--assume-tz` (naive timestamps shift
/// by at most 26 hours) still matches.
fn widened((lo, hi): (i64, i64)) -> (i64, i64) {
    (lo.saturating_sub(DEDUP_SLACK_US), hi.saturating_add(DEDUP_SLACK_US))
}

/// Of `ids`, those already stored with a start between `lo` and `hi` (µs: the [`widened`]
/// span of the calls the ids are of).
fn stored_ids<'a>(
    conn: &Connection,
    ids: impl Iterator<Item = &'a str>,
    (lo, hi): (i64, i64),
) -> Result<std::collections::HashSet<String>, StoreError> {
    let ids: StringArray = ids.map(Some).collect();
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let ids = RecordBatch::try_from_iter([("id", Arc::new(ids) as ArrayRef)])
        .map_err(|e| StoreError::Backend(format!("building the id batch: {e}")))?;
    let lent = batch_scan::lend(ids);
    let mut stmt = conn
        .prepare(
            "SELECT s.id FROM llmscope_batch(?) s WHERE EXISTS (SELECT 1 FROM calls c \
             WHERE c.start_time BETWEEN make_timestamp(?) AND make_timestamp(?) AND c.id = s.id)",
        )
        .map_err(db_err)?;
    let rows = stmt.query_map(params![lent.key(), lo, hi], |r| r.get::<_, String>(0)).map_err(db_err)?;
    rows.collect::<Result<_, _>>().map_err(db_err)
}

/// Calls as DuckDB appends them: their columnar batch (whose id and start time columns the
/// duplicate check reads). Built on whichever thread prepares the batch.
pub(crate) struct DuckPrepared {
    batch: RecordBatch,
}

impl DuckPrepared {
    fn build(calls: &[Call]) -> Result<Self, StoreError> {
        let refs: Vec<&Call> = calls.iter().collect();
        // Arrow's string columns panic past 2 GiB of text; `append` keeps batches far below
        // that, and a single call that large fails here instead of taking the thread down.
        let batch =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| calls_batch(&refs, micros(chrono::Utc::now()))))
                .map_err(|_| {
                    StoreError::Backend("a batch of calls too large to store (over 2 GiB of text in one column)".into())
                })??;
        Ok(DuckPrepared { batch })
    }

    /// The DuckDB batch `batch` holds, if it holds one (`None`: the calls as they are).
    pub(crate) fn of(batch: &PreparedCalls) -> Result<Option<&DuckPrepared>, StoreError> {
        if let Some(Unbuilt(e)) = batch.payload::<Unbuilt>() {
            return Err(StoreError::Backend(e.clone()));
        }
        Ok(batch.payload::<DuckPrepared>())
    }

    /// One of the batch's columns, as the array type it was built with.
    fn column<T: 'static>(&self, name: &str) -> Result<&T, StoreError> {
        self.batch
            .column_by_name(name)
            .and_then(|c| c.as_any().downcast_ref::<T>())
            .ok_or_else(|| StoreError::Backend(format!("the batch has no {name} column of the expected type")))
    }
}

/// A batch whose columns could not be put together (a bug: every column has one value per
/// call); appending it fails with this error.
struct Unbuilt(String);

/// Builds a columnar batch as calls are parsed ([`CallsBuilder`]).
struct DuckPreparer {
    rows: CallsBuilder,
    /// Text taken ([`text_len`]), and most it may take.
    text: usize,
    limit: usize,
}

impl DuckPreparer {
    fn new(cap: Capacity, now_us: i64, limit: usize) -> Self {
        DuckPreparer { rows: CallsBuilder::new(cap, now_us), text: 0, limit }
    }
}

impl CallPreparer for DuckPreparer {
    fn add(&mut self, call: Call) -> Result<(), Box<Call>> {
        let size = text_len(&call);
        if self.text.saturating_add(size) > self.limit {
            return Err(Box::new(call));
        }
        self.text += size;
        self.rows.push(&call);
        Ok(())
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn finish(self: Box<Self>) -> PreparedCalls {
        let n = self.rows.len();
        match self.rows.finish() {
            Ok(batch) => PreparedCalls::new(n, DuckPrepared { batch }),
            Err(e) => PreparedCalls::new(n, Unbuilt(e.to_string())),
        }
    }
}

impl CallSink for DuckStore {
    fn append_calls(&self, calls: &[Call]) -> Result<AppendOutcome, StoreError> {
        self.append(calls, true)
    }

    fn append_new_calls(&self, calls: &[Call]) -> Result<AppendOutcome, StoreError> {
        self.append(calls, false)
    }

    fn append_assessments(&self, items: &[Assessment]) -> Result<u64, StoreError> {
        if items.is_empty() {
            return Ok(0);
        }
        self.with_conn(|conn| append_assessments(conn, items))
    }

    fn bulk_load(&self) -> Result<Box<dyn BulkLoad + '_>, StoreError> {
        Ok(Box::new(super::bulk::DuckBulk::new(self)?))
    }

    fn restart_workers_here(&self) -> Result<(), StoreError> {
        self.restart_workers()
    }

    fn roll_up(&self, live: Option<Range<chrono::DateTime<chrono::Utc>>>) -> Result<usize, StoreError> {
        let live = live.map(|r| (micros(r.start), micros(r.end)));
        self.with_query_conn(|conn| {
            let due = rollup::due(conn, live)?;
            // Side by side only where it pays and memory allows: with quarter hours due, and
            // no memory limit that two aggregates at once could exceed (the server's).
            if due.is_empty() || self.current_settings().memory_limit.is_some() {
                return in_transaction(conn, || rollup::roll_up(conn, &due, live)).map(|()| due.len());
            }
            let side = super::second_conn(conn)?;
            // Each connection on its share of the cores. (Not lowered, the roll-up is only
            // slower.)
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as i64;
            let back = self.lower_threads(conn, (cores / 2).max(1)).unwrap_or(None);
            let out = rollup::roll_up_beside(conn, side, &due, live);
            if let Some(n) = back {
                self.put_threads_back(conn, n, "a roll-up");
            }
            out.map(|()| due.len())
        })
    }

    fn preparer(&self, calls: usize, bytes: usize) -> Box<dyn CallPreparer + '_> {
        // Room for what seed 001's lines hold (questions a twentieth of a line, answers
        // two fifths); columns grow past it.
        let cap = Capacity { calls, text: bytes / 16, answers: bytes / 2 };
        Box::new(DuckPreparer::new(cap, micros(chrono::Utc::now()), MAX_BATCH_TEXT))
    }

    fn append_prepared(&self, batch: &PreparedCalls, range: Range<usize>) -> Result<AppendOutcome, StoreError> {
        match DuckPrepared::of(batch)? {
            Some(p) => self.with_conn(|conn| in_transaction(conn, || insert_rows(conn, p, range, Check::Stored))),
            None => batch.append_as_calls(range, |calls| self.append_calls(calls)),
        }
    }
}

fn append_assessments(conn: &Connection, items: &[Assessment]) -> Result<u64, StoreError> {
    in_transaction(conn, || insert_assessments(conn, items))
}

/// Runs `f` in a transaction, committed when `f` succeeds and rolled back when it fails.
pub(crate) fn in_transaction<T>(conn: &Connection, f: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
    conn.execute_batch("BEGIN TRANSACTION").map_err(db_err)?;
    match f() {
        Ok(v) => {
            conn.execute_batch("COMMIT").map_err(db_err)?;
            Ok(v)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Inserts assessments not stored yet, in the caller's transaction.
pub(crate) fn insert_assessments(conn: &Connection, items: &[Assessment]) -> Result<u64, StoreError> {
    conn.execute_batch("DELETE FROM assessments_stage").map_err(db_err)?;
    {
        let mut app = conn.appender("assessments_stage").map_err(db_err)?;
        for a in items {
            let (b, n, t) = match &a.value {
                AssessmentValue::Bool(b) => (Some(*b), None, None),
                AssessmentValue::Number(n) => (None, Some(*n), None),
                AssessmentValue::Text(t) => (None, None, Some(t.as_str())),
            };
            app.append_row(params![
                a.id,
                a.project,
                a.trace_id,
                a.call_id,
                a.name,
                a.value.kind(),
                b,
                n,
                t,
                a.source.source_type.as_str(),
                a.source.source_id,
                a.rationale,
                serde_json::Value::Object(a.metadata.clone()).to_string(),
                a.overrides,
                duckdb::types::Value::Timestamp(duckdb::types::TimeUnit::Microsecond, micros(a.created_at)),
            ])
            .map_err(db_err)?;
        }
        app.flush().map_err(db_err)?;
    }
    let inserted = conn
        .execute(
            "INSERT INTO assessments SELECT * FROM (SELECT DISTINCT ON (id) * FROM assessments_stage) s \
             WHERE NOT EXISTS (SELECT 1 FROM assessments a WHERE a.id = s.id)",
            [],
        )
        .map_err(db_err)?;
    Ok(inserted as u64)
}

impl DuckStore {
    /// Appends a batch; `check_stored` first looks up which ids are already stored. A fatal
    /// database error reopens the database (the batch itself fails; the caller retries).
    fn append(&self, calls: &[Call], check_stored: bool) -> Result<AppendOutcome, StoreError> {
        if calls.is_empty() {
            return Ok(AppendOutcome::default());
        }
        self.with_conn(|conn| append_calls(conn, calls, check_stored))
    }
}

/// Most text (bytes, estimated by [`text_len`]) one columnar batch holds, whether built at
/// once or call by call: a sixth of the 2 GiB an Arrow string column addresses, as JSON
/// written out may take up to six times the estimate (a control character becomes
/// `\u00XX`), so that no column can overflow. Only batches of very large calls are split.
const MAX_BATCH_TEXT: usize = 320 << 20;

/// `calls` in consecutive parts of at most `budget` bytes of text each (a larger call alone).
fn text_parts(calls: &[Call], budget: usize) -> Vec<&[Call]> {
    let mut parts = Vec::new();
    let (mut start, mut bytes) = (0, 0usize);
    for (i, c) in calls.iter().enumerate() {
        let size = text_len(c);
        if i > start && bytes.saturating_add(size) > budget {
            parts.push(&calls[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes = bytes.saturating_add(size);
    }
    if start < calls.len() {
        parts.push(&calls[start..]);
    }
    parts
}

/// A call's text, about as stored: its strings, and its JSON values as written out without
/// escapes (see [`MAX_BATCH_TEXT`]).
fn text_len(c: &Call) -> usize {
    fn json(v: &serde_json::Value) -> usize {
        match v {
            serde_json::Value::String(s) => s.len() + 2,
            serde_json::Value::Array(a) => a.iter().map(json).sum::<usize>() + 2,
            serde_json::Value::Object(m) => m.iter().map(|(k, v)| k.len() + 4 + json(v)).sum::<usize>() + 2,
            _ => 8,
        }
    }
    let opt = |v: &Option<serde_json::Value>| v.as_ref().map_or(0, json);
    let named = [
        &c.parent_span_id,
        &c.name,
        &c.model,
        &c.provider,
        &c.operation,
        &c.user_id,
        &c.session_id,
        &c.request_id,
        &c.client_request_id,
        &c.output,
        &c.error_kind,
        &c.error_message,
        &c.finish_reason,
    ];
    let source = match &c.origin {
        llmscope_core::Origin::Import { file, format, .. } => file.len() + format.len(),
        _ => 0,
    };
    json(&c.input)
        + c.input_text.len()
        + c.id.len()
        + c.project.len()
        + c.trace_id.len()
        + c.span_id.len()
        + named.iter().map(|s| s.as_ref().map_or(0, String::len)).sum::<usize>()
        + opt(&c.tool_calls)
        + opt(&c.tools)
        + opt(&c.response_format)
        + c.tags.iter().chain(&c.flags).map(String::len).sum::<usize>()
        + source
        + c.attributes.iter().chain(&c.params).map(|(k, v)| k.len() + 4 + json(v)).sum::<usize>()
}

/// Appends calls in one transaction: as one columnar batch, or as several when their text
/// is too much for one (the id lookup sees the parts stored before it in the transaction).
fn append_calls(conn: &Connection, calls: &[Call], check_stored: bool) -> Result<AppendOutcome, StoreError> {
    in_transaction(conn, || {
        let mut out = AppendOutcome::default();
        for part in text_parts(calls, MAX_BATCH_TEXT) {
            let o = insert_calls(conn, part, Check::stored(check_stored))?;
            out.inserted += o.inserted;
            out.duplicates += o.duplicates;
        }
        Ok(out)
    })
}

/// Inserts the calls not stored yet, in the caller's transaction (which the id lookup sees
/// into: a repeat of a call appended earlier in it is found too).
pub(crate) fn insert_calls(conn: &Connection, calls: &[Call], check: Check<'_>) -> Result<AppendOutcome, StoreError> {
    insert_rows(conn, &DuckPrepared::build(calls)?, 0..calls.len(), check)
}

/// Which of a batch's ids are looked up among the stored calls before it is inserted.
pub(crate) enum Check<'k> {
    /// None (the caller knows the calls are new).
    Nothing,
    /// Every id.
    Stored,
    /// Those a bulk load cannot rule out ([`KnownIds`]), which learns the ids stored, and
    /// those stored by its transactions this one cannot see ([`Unseen`]), which learns the
    /// ids and quarter hours this one stores.
    Bulk(&'k mut KnownIds, &'k mut Unseen),
}

impl Check<'_> {
    fn stored(check_stored: bool) -> Self {
        if check_stored {
            Check::Stored
        } else {
            Check::Nothing
        }
    }
}

pub(crate) fn bad_range(batch: &PreparedCalls, range: &Range<usize>) -> StoreError {
    StoreError::Backend(format!("calls {range:?} of a batch of {}", batch.len()))
}

/// Inserts rows `range` of a prepared batch that are not stored yet, in the caller's
/// transaction. Repeats within the range are dropped here, so the SQL only checks stored rows.
pub(crate) fn insert_rows(
    conn: &Connection,
    p: &DuckPrepared,
    range: Range<usize>,
    check: Check<'_>,
) -> Result<AppendOutcome, StoreError> {
    let started = std::time::Instant::now();
    let (id_column, start_column) =
        (p.column::<StringArray>("id")?, p.column::<TimestampMicrosecondArray>("start_time")?);
    if range.start > range.end || range.end > id_column.len() {
        return Err(StoreError::Backend(format!("rows {range:?} of a batch of {}", id_column.len())));
    }
    let ids: Vec<&str> = range.clone().map(|i| id_column.value(i)).collect();
    let starts = &start_column.values()[range.clone()];
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    let first: Vec<bool> = ids.iter().map(|id| seen.insert(*id)).collect();
    let span = (starts.iter().copied().min().unwrap_or(0), starts.iter().copied().max().unwrap_or(0));
    // The ids' hashes, for what a bulk load keeps of the ids it stored (each hashed once).
    let hashes: Vec<u64> =
        if matches!(check, Check::Bulk(..)) { ids.iter().map(|id| KnownIds::hash(id)).collect() } else { Vec::new() };
    let unique = (0..ids.len()).filter(|&i| first[i]);
    let near = widened(span);
    let mut stored = match &check {
        Check::Nothing => Default::default(),
        Check::Bulk(known, _) if !known.occupied_within(near.0, near.1) => {
            // Only an id the load stored itself can be stored already.
            stored_ids(conn, unique.clone().filter(|&i| known.may_have_appended(hashes[i])).map(|i| ids[i]), near)?
        }
        Check::Stored | Check::Bulk(..) => stored_ids(conn, unique.clone().map(|i| ids[i]), near)?,
    };
    if let Check::Bulk(_, unseen) = &check {
        stored.extend(unique.filter(|&i| unseen.stored(hashes[i], ids[i])).map(|i| ids[i].to_string()));
    }
    let keep: Vec<bool> = ids.iter().zip(&first).map(|(id, f)| *f && !stored.contains(*id)).collect();
    let inserted = keep.iter().filter(|k| **k).count();
    // The quarter hours of exactly the rows stored, marked for the rollups in the same
    // transaction.
    let projects = p.column::<StringArray>("project")?;
    let quarters: BTreeSet<(&str, i64)> = (0..ids.len())
        .filter(|&i| keep[i])
        .map(|i| (projects.value(range.start + i), rollup::bucket_of(starts[i])))
        .collect();
    let checked = started.elapsed();
    if inserted > 0 {
        let rows = p.batch.slice(range.start, range.len());
        let rows = if inserted == rows.num_rows() {
            rows
        } else {
            filter_record_batch(&rows, &BooleanArray::from(keep.clone()))
                .map_err(|e| StoreError::Backend(format!("dropping repeated calls from the batch: {e}")))?
        };
        let id_column = rows.column_by_name("id").cloned();
        batch_scan::insert(conn, "calls", rows)?;
        match check {
            Check::Bulk(known, unseen) => {
                // The quarter hours a transaction not committed yet marked are marked once it
                // commits (and this one commits only if it does).
                let unmarked = quarters.iter().filter(|(p, b)| !unseen.marked(p, *b)).copied().collect();
                rollup::mark_dirty(conn, &unmarked)?;
                let kept = || hashes.iter().zip(&keep).filter(|(_, k)| **k).map(|(h, _)| *h);
                known.appended(kept());
                if let Some(column) = id_column {
                    unseen.appended(column, kept(), quarters.iter().copied());
                }
            }
            _ => rollup::mark_dirty(conn, &quarters)?,
        }
    }
    let inserted = inserted as u64;
    tracing::debug!(
        rows = ids.len(),
        inserted,
        checked_ms = checked.as_millis() as u64,
        total_ms = started.elapsed().as_millis() as u64,
        "appended calls"
    );
    Ok(AppendOutcome { inserted, duplicates: ids.len() as u64 - inserted })
}

impl DuckStore {
    /// Lowers DuckDB's threads to `wanted` when it has more, first taking over a setting
    /// owed by an earlier failure to put it back. Returns the setting to put back with
    /// [`DuckStore::put_threads_back`] (the owed one even when nothing changed), if any.
    pub(crate) fn lower_threads(&self, conn: &Connection, wanted: i64) -> Result<Option<i64>, StoreError> {
        let owed = self.threads_owed.swap(0, Ordering::Relaxed);
        let lowered = (|| {
            let before = if owed > 0 { owed } else { duckdb_threads(conn)? };
            if wanted >= before {
                return Ok((owed > 0).then_some(owed));
            }
            conn.execute_batch(&format!("SET threads = {wanted};")).map_err(db_err)?;
            Ok(Some(before))
        })();
        if lowered.is_err() {
            self.threads_owed.store(owed, Ordering::Relaxed);
        }
        lowered
    }

    /// Sets DuckDB's threads back to `n` after `what`; on failure, leaves them owed to the
    /// next [`DuckStore::lower_threads`].
    pub(crate) fn put_threads_back(&self, conn: &Connection, n: i64, what: &str) {
        if let Err(e) = conn.execute_batch(&format!("SET threads = {n};")) {
            tracing::warn!(error = %e, threads = n, "cannot set DuckDB's threads back after {what}");
            self.threads_owed.store(n, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(id: &str, hour: i64) -> Call {
        let start = chrono::DateTime::from_timestamp(1_736_000_000 + hour * 3600, 0).unwrap_or_default();
        Call { id: id.into(), project: "default".into(), start_time: start, ..Call::default() }
    }

    fn insert(conn: &Connection, calls: &[Call], check: Check<'_>) -> Result<u64, StoreError> {
        Ok(insert_rows(conn, &DuckPrepared::build(calls)?, 0..calls.len(), check)?.inserted)
    }

    #[test]
    fn a_bulk_load_looks_up_only_ids_near_earlier_calls_or_its_own() -> Result<(), StoreError> {
        let store = DuckStore::open_in_memory()?;
        let conn = store.lock()?;
        assert_eq!(insert(&conn, &[at("old", 0)], Check::Stored)?, 1);

        // Near a quarter hour occupied before the load: every id is looked up.
        let mut known = KnownIds::load(&conn)?;
        assert_eq!(insert(&conn, &[at("old", 20), at("new", 20)], Check::Bulk(&mut known, &mut Unseen::default()))?, 1);
        // Far from those, the load's own ids are looked up when they come again (within 26
        // hours, as always), in this transaction or a later one.
        assert_eq!(
            insert(
                &conn,
                &[at("far", 100), at("far", 100), at("new", 40)],
                Check::Bulk(&mut known, &mut Unseen::default())
            )?,
            1
        );
        assert_eq!(
            insert(&conn, &[at("far", 110), at("other", 110)], Check::Bulk(&mut known, &mut Unseen::default()))?,
            1
        );
        conn.execute_batch("BEGIN TRANSACTION").map_err(db_err)?;
        assert_eq!(insert(&conn, &[at("gone", 300)], Check::Bulk(&mut known, &mut Unseen::default()))?, 1);
        conn.execute_batch("ROLLBACK").map_err(db_err)?;
        assert_eq!(
            insert(&conn, &[at("gone", 300)], Check::Bulk(&mut known, &mut Unseen::default()))?,
            1,
            "a rolled-back id is stored again"
        );

        // What is skipped: an id stored before the load, in what the load took for an
        // empty stretch (here: it knew of nothing), is not looked up.
        let mut blind = KnownIds::default();
        assert_eq!(insert(&conn, &[at("old", 10)], Check::Bulk(&mut blind, &mut Unseen::default()))?, 1);
        assert_eq!(insert(&conn, &[at("old", 10)], Check::Stored)?, 0, "as a lookup would have found");
        let stored: i64 = conn.query_row("SELECT count(*) FROM calls", [], |r| r.get(0)).map_err(db_err)?;
        assert_eq!(stored, 6, "old twice (the second unseen), new, far, other, gone, and no repeat else");
        Ok(())
    }

    /// A batch prepared call by call holds the columns of the same calls prepared at once, and
    /// takes no more text than its limit: a call past it is given back, and a call larger
    /// than the limit is refused even by an empty batch.
    #[test]
    fn a_batch_prepared_call_by_call_is_the_batch_prepared_at_once() -> Result<(), StoreError> {
        let store = DuckStore::open_in_memory()?;
        let mut calls: Vec<Call> = (0..4).map(|i| at(&format!("c{i}"), i)).collect();
        calls[1].output = Some("an answer".into());
        calls[2].attributes.insert("device".into(), serde_json::json!("cuda:1"));
        calls[3].tags = vec!["a".into(), "b".into()];
        let whole = DuckPrepared::build(&calls)?;
        let mut one = store.preparer(calls.len(), 0);
        for c in calls.clone() {
            one.add(c).map_err(|c| StoreError::Backend(format!("{} refused", c.id)))?;
        }
        let prepared = one.finish();
        let built = DuckPrepared::of(&prepared)?.ok_or_else(|| StoreError::Backend("not prepared".into()))?;
        assert_eq!(prepared.len(), 4);
        let (a, b) = (&built.batch, &whole.batch);
        assert_eq!(a.schema(), b.schema());
        for (i, field) in a.schema().fields().iter().enumerate() {
            if field.name() != "ingested_at" {
                assert_eq!(a.column(i), b.column(i), "{}", field.name());
            }
        }

        let sizes: Vec<usize> = calls.iter().map(text_len).collect();
        let limit = sizes[0] + sizes[1];
        let mut small = DuckPreparer::new(Capacity { calls: 2, text: 0, answers: 0 }, 0, limit);
        assert!(small.add(calls[0].clone()).is_ok() && small.add(calls[1].clone()).is_ok());
        assert_eq!(small.add(calls[2].clone()).map_err(|c| c.id), Err("c2".into()), "past the limit");
        assert_eq!(small.len(), 2);
        let mut tiny = DuckPreparer::new(Capacity { calls: 1, text: 0, answers: 0 }, 0, 1);
        assert!(tiny.add(calls[0].clone()).is_err() && tiny.len() == 0, "larger than the limit alone");
        Ok(())
    }

    #[test]
    fn batches_of_large_calls_are_split_by_their_text() {
        let call = |n: usize| Call { output: Some("x".repeat(n)), ..Call::default() };
        let calls: Vec<Call> = [40, 40, 30, 100, 5, 5].into_iter().map(call).collect();
        let sizes = |budget| text_parts(&calls, budget).iter().map(|p| p.len()).collect::<Vec<_>>();
        // Each default call carries a few bytes of JSON besides its output (`input: null`).
        assert_eq!(sizes(100), vec![2, 1, 1, 2], "a part never passes the budget; a larger call stands alone");
        assert_eq!(sizes(1 << 20), vec![6]);
        assert_eq!(sizes(1), vec![1; 6]);
        assert!(text_parts(&[], 10).is_empty());
        assert_eq!(sizes(100).iter().sum::<usize>(), calls.len(), "every call in exactly one part");
    }
}
