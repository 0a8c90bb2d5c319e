//! Bulk loads ([`DuckBulk`]): many batches per transaction, a row group per transaction,
//! each committed behind the load.
//!
//! DuckDB compresses a row group's columns as its transaction commits, which took over half
//! of the appending thread's time in an import. So the load appends on two connections of
//! its own in turn: it hands a transaction it has filled to a committer thread
//! ([`Committer`]) and goes on appending the next one on the other connection meanwhile
//! (docs/BENCHMARKS.md, twenty-seventh session).
//!
//! - **Durable.** Commits end in the order they were handed over; the load counts those that
//!   ended well ([`BulkLoad::durable_commits`]). After a failure the committer rolls back
//!   every transaction handed to it later, and the load returns the failure from its next
//!   call: no commit after a failed one is durable.
//! - **Duplicates.** A transaction does not see the calls of one still being committed when
//!   it began. Each transaction keeps what it appended ([`Appended`]: the calls' ids, and
//!   the quarter hours it marked for the rollups), and the next transaction checks its
//!   calls' ids against those of every transaction not yet committed when it began, and
//!   does not mark those quarter hours again (whatever they marked is there once they
//!   commit, and this transaction commits only if they do).
//! - **The store's connection** stays locked for the whole load (it is the store's only
//!   writer meanwhile); it puts DuckDB's threads back at the end, and a fatal failure
//!   reopens the database through it, once the load's own connections are closed.

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::hash::BuildHasherDefault;
use std::ops::Range;
use std::rc::Rc;
use std::sync::mpsc;

use duckdb::arrow::array::{Array, ArrayRef, StringArray};
use duckdb::Connection;
use llmscope_core::store::{AppendOutcome, BulkLoad, PreparedCalls, StoreError};
use llmscope_core::{Assessment, Call};

use super::append::{bad_range, insert_assessments, insert_calls, insert_rows, prepare_staging, Check, DuckPrepared};
use super::known_ids::{AsIs, KnownIds};
use super::{db_err, second_conn, DuckStore};

/// Calls per bulk-load transaction: one of DuckDB's row groups (122,880 rows). A
/// transaction that appends whole row groups has them written compressed straight to the
/// database file, and only their location goes to the write-ahead log; rows committed in
/// smaller transactions are written to the log first and compressed into the file again at
/// the next checkpoint. One row group rather than two: each commit is handed over sooner,
/// and less is held in memory (docs/BENCHMARKS.md, fifteenth session).
pub const BULK_COMMIT_ROWS: usize = 122_880;

/// Cores an import's own threads keep busy: the reader parsing lines and its helper
/// parsing every second batch (the capture crate's import pipeline).
const IMPORT_PARSING_CORES: usize = 2;

/// DuckDB's threads during a bulk load: the cores the import's parsing leaves, at least one.
/// On two cores that is one, so each statement runs on the thread that runs it: with a
/// worker thread too, the appending thread spun waiting for the worker's tasks (an eighth
/// of the import's CPU time went to that polling, docs/BENCHMARKS.md, seventeenth session).
pub(crate) fn bulk_threads(cores: usize) -> usize {
    cores.saturating_sub(IMPORT_PARSING_CORES).max(1)
}

/// The load's own connections: one appending while the other commits.
const LOAD_CONNECTIONS: usize = 2;

/// What one transaction of a load appended.
#[derive(Default)]
pub(crate) struct Appended {
    /// The hashes of its calls' ids ([`KnownIds::hash`]), which rule most ids out at once.
    hashes: HashSet<u64, BuildHasherDefault<AsIs>>,
    /// Its calls' id columns.
    ids: Vec<ArrayRef>,
    /// The ids themselves, gathered when an id's hash is found among them.
    exact: OnceCell<HashSet<String>>,
    /// The quarter hours it marked for the rollups: their starts, by project.
    marks: BTreeMap<String, BTreeSet<i64>>,
}

impl Appended {
    /// Whether it stored a call with id `id` (whose hash is `hash`).
    fn holds(&self, hash: u64, id: &str) -> bool {
        self.hashes.contains(&hash)
            && self
                .exact
                .get_or_init(|| {
                    let columns = self.ids.iter().filter_map(|c| c.as_any().downcast_ref::<StringArray>());
                    columns.flat_map(|c| c.iter().flatten().map(str::to_string)).collect()
                })
                .contains(id)
    }
}

/// The transactions of the load the open one cannot see (handed over, not known to be
/// committed when it began), and what it appends itself.
#[derive(Default)]
pub(crate) struct Unseen {
    before: Vec<Rc<Appended>>,
    mine: Appended,
}

impl Unseen {
    /// Whether a transaction this one cannot see stored a call with id `id` (whose hash,
    /// [`KnownIds::hash`], is `hash`).
    pub fn stored(&self, hash: u64, id: &str) -> bool {
        self.before.iter().any(|a| a.holds(hash, id))
    }

    /// Whether a transaction this one cannot see marked this quarter hour.
    pub fn marked(&self, project: &str, bucket: i64) -> bool {
        self.before.iter().any(|a| a.marks.get(project).is_some_and(|b| b.contains(&bucket)))
    }

    /// Records calls this transaction stored (their id column and the ids' hashes) and the
    /// quarter hours it marked or found marked.
    pub fn appended<'a>(
        &mut self,
        ids: ArrayRef,
        hashes: impl Iterator<Item = u64>,
        marks: impl Iterator<Item = (&'a str, i64)>,
    ) {
        self.mine.hashes.extend(hashes);
        self.mine.ids.push(ids);
        for (p, b) in marks {
            self.mine.marks.entry(p.to_string()).or_default().insert(b);
        }
    }
}

/// The committer thread: commits the transactions handed to it, in order, and hands each
/// connection back with the outcome.
struct Committer {
    to_commit: Option<mpsc::Sender<Connection>>,
    ended: mpsc::Receiver<(Connection, Result<(), StoreError>)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Committer {
    fn start() -> Result<Self, StoreError> {
        let (to_commit, incoming) = mpsc::channel::<Connection>();
        let (report, ended) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("llmscope-commit".into())
            .spawn(move || commit_in_order(&incoming, &report))
            .map_err(|e| StoreError::Backend(format!("starting the import's committing thread: {e}")))?;
        Ok(Committer { to_commit: Some(to_commit), ended, thread: Some(thread) })
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        // Closing the channel ends the thread once it has ended the transactions handed over.
        self.to_commit.take();
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                tracing::error!("the import's committing thread panicked");
            }
        }
    }
}

fn commit_in_order(incoming: &mpsc::Receiver<Connection>, report: &mpsc::Sender<(Connection, Result<(), StoreError>)>) {
    let mut failed = false;
    for conn in incoming {
        let result = if failed {
            let _ = conn.execute_batch("ROLLBACK");
            Err(StoreError::Backend("not committed: an earlier commit of the load failed".into()))
        } else {
            conn.execute_batch("COMMIT").map_err(db_err).inspect_err(|_| {
                let _ = conn.execute_batch("ROLLBACK");
                failed = true;
            })
        };
        if report.send((conn, result)).is_err() {
            break;
        }
    }
}

/// A bulk load into the embedded store (see the module's documentation). DuckDB works with
/// [`bulk_threads`] threads meanwhile; its setting is put back when the load is dropped.
pub struct DuckBulk<'a> {
    store: &'a DuckStore,
    conn: std::sync::MutexGuard<'a, Connection>,
    /// DuckDB's `threads` before the load, when the load changed it.
    threads_before: Option<i64>,
    /// The open transaction's connection.
    open: Option<Connection>,
    /// Calls handed to the open transaction, stored or found already stored. Counting the
    /// repeats too keeps every append a full batch when a file's remaining lines are mostly
    /// stored already (the commit then comes a little early, with a partial row group).
    rows: usize,
    /// What the load knows of the stored ids, to skip most lookups.
    known: KnownIds,
    /// What the open transaction cannot see, and what it appended.
    unseen: Unseen,
    /// The load's connections with no transaction open (the others are open or committing).
    idle: Vec<Connection>,
    committer: Option<Committer>,
    /// What each transaction handed to the committer and not ended yet appended, oldest
    /// first.
    committing: VecDeque<Rc<Appended>>,
    /// Commits that ended well.
    durable: u64,
    /// Why a commit failed, returned by every later call.
    failed: Option<String>,
}

impl<'a> DuckBulk<'a> {
    pub(crate) fn new(store: &'a DuckStore) -> Result<Self, StoreError> {
        let conn = store.lock_ready()?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads_before = store.lower_threads(&conn, bulk_threads(cores) as i64)?;
        let mut load = DuckBulk {
            store,
            conn,
            threads_before,
            open: None,
            rows: 0,
            known: KnownIds::default(),
            unseen: Unseen::default(),
            idle: Vec::new(),
            committer: None,
            committing: VecDeque::new(),
            durable: 0,
            failed: None,
        };
        // (On failure, dropping the load sets the threads back.)
        load.known = KnownIds::load(&load.conn)?;
        Ok(load)
    }

    fn check_failed(&self) -> Result<(), StoreError> {
        match &self.failed {
            Some(e) => Err(StoreError::Backend(e.clone())),
            None => Ok(()),
        }
    }

    /// Takes in the commits that ended (waiting for one if `wait`).
    fn receive(&mut self, wait: bool) {
        let Some(committer) = &self.committer else {
            return;
        };
        let mut next = if wait { committer.ended.recv().ok() } else { committer.ended.try_recv().ok() };
        if next.is_none() && wait {
            // The thread is gone with the transactions handed to it (it panicked): none of
            // them is known to be durable.
            self.committing.clear();
            self.failed.get_or_insert_with(|| "the import's committing thread stopped".into());
            return;
        }
        while let Some((conn, result)) = next {
            self.committing.pop_front();
            // (After a failure the committer ends nothing well.)
            match result {
                Ok(()) => self.durable += 1,
                Err(e) => {
                    self.failed.get_or_insert_with(|| e.to_string());
                }
            }
            self.idle.push(conn);
            next = committer.ended.try_recv().ok();
        }
    }

    /// Waits until every commit handed over has ended (or the committer is gone).
    fn end_commits(&mut self) {
        while !self.committing.is_empty() && self.committer.is_some() {
            self.receive(true);
        }
    }

    /// A connection of the load with no transaction open (called with none open): an idle
    /// one, a new one, or the next one a commit gives back.
    fn connection(&mut self) -> Result<Connection, StoreError> {
        self.receive(false);
        loop {
            if let Some(c) = self.idle.pop() {
                return Ok(c);
            }
            // (None idle and none open: the others are committing.)
            if self.committing.len() < LOAD_CONNECTIONS {
                let c = second_conn(&self.conn)?;
                prepare_staging(&c)?;
                return Ok(c);
            }
            self.receive(true);
        }
    }

    /// Runs `f` in the open transaction (opening one if needed). A failure rolls the
    /// transaction back, and a fatal one reopens the database.
    fn run<T>(&mut self, f: impl FnOnce(&Connection, &mut Unseen) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let out = (|| {
            self.check_failed()?;
            if self.open.is_none() {
                let conn = self.connection()?;
                self.check_failed()?;
                if let Err(e) = conn.execute_batch("BEGIN TRANSACTION") {
                    self.idle.push(conn);
                    return Err(db_err(e));
                }
                self.open = Some(conn);
                self.unseen = Unseen { before: self.committing.iter().cloned().collect(), mine: Appended::default() };
            }
            let conn = self.open.as_ref().ok_or_else(|| StoreError::Backend("no transaction open".into()))?;
            f(conn, &mut self.unseen)
        })();
        if let Err(e) = &out {
            self.fail(e);
        }
        out
    }

    /// [`Self::run`] for an insert that checks its ids against what the load knows.
    fn run_checked(
        &mut self,
        f: impl FnOnce(&Connection, Check<'_>) -> Result<AppendOutcome, StoreError>,
    ) -> Result<AppendOutcome, StoreError> {
        // (Taken out for the call: `run` borrows the whole load.)
        let mut known = std::mem::take(&mut self.known);
        let outcome = self.run(|conn, unseen| f(conn, Check::Bulk(&mut known, unseen)));
        self.known = known;
        outcome
    }

    /// Rolls the open transaction back.
    fn abandon(&mut self) {
        if let Some(conn) = self.open.take() {
            let _ = conn.execute_batch("ROLLBACK");
            self.idle.push(conn);
        }
        self.rows = 0;
        self.unseen = Unseen::default();
    }

    /// After a failure: rolls the open transaction back and, once every commit handed over
    /// has ended, closes the load's connections (a fatal failure reopens the database,
    /// which they would keep open; a next transaction opens new ones).
    fn fail(&mut self, e: &StoreError) {
        self.abandon();
        self.end_commits();
        self.committer = None;
        self.idle.clear();
        self.store.recover(&mut self.conn, e);
    }
}

impl BulkLoad for DuckBulk<'_> {
    fn append_calls(&mut self, calls: &[Call]) -> Result<AppendOutcome, StoreError> {
        if calls.is_empty() {
            return Ok(AppendOutcome::default());
        }
        let outcome = self.run_checked(|conn, check| insert_calls(conn, calls, check))?;
        self.rows += calls.len();
        Ok(outcome)
    }

    fn append_prepared(&mut self, batch: &PreparedCalls, range: Range<usize>) -> Result<AppendOutcome, StoreError> {
        if range.end > batch.len() {
            // Refused before the transaction is touched: what it holds stays.
            return Err(bad_range(batch, &range));
        }
        if range.is_empty() {
            return Ok(AppendOutcome::default());
        }
        let Some(p) = DuckPrepared::of(batch)? else {
            return batch.append_as_calls(range, |calls| self.append_calls(calls));
        };
        let n = range.len();
        let outcome = self.run_checked(|conn, check| insert_rows(conn, p, range, check))?;
        self.rows += n;
        Ok(outcome)
    }

    fn append_assessments(&mut self, items: &[Assessment]) -> Result<u64, StoreError> {
        if items.is_empty() {
            return Ok(0);
        }
        self.run(|conn, _| insert_assessments(conn, items))
    }

    fn room(&self) -> usize {
        BULK_COMMIT_ROWS.saturating_sub(self.rows)
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        self.receive(false);
        let Some(conn) = self.open.take() else {
            return self.check_failed();
        };
        self.rows = 0;
        let appended = std::mem::take(&mut self.unseen).mine;
        let handed = (|| {
            self.check_failed()?;
            if self.committer.is_none() {
                self.committer = Some(Committer::start()?);
            }
            let to_commit = self.committer.as_ref().and_then(|c| c.to_commit.as_ref());
            to_commit
                .ok_or_else(|| StoreError::Backend("the import's committing thread is gone".into()))?
                .send(conn)
                .map_err(|e| {
                    let _ = e.0.execute_batch("ROLLBACK");
                    StoreError::Backend("the import's committing thread is gone".into())
                })
        })();
        match handed {
            Ok(()) => {
                self.committing.push_back(Rc::new(appended));
                self.receive(false);
                Ok(())
            }
            Err(e) => {
                self.fail(&e);
                Err(e)
            }
        }
    }

    fn durable_commits(&self) -> Option<u64> {
        Some(self.durable)
    }

    fn sync(&mut self) -> Result<(), StoreError> {
        self.end_commits();
        self.check_failed()
    }
}

impl Drop for DuckBulk<'_> {
    fn drop(&mut self) {
        self.abandon();
        // (The committer ends the transactions handed to it before it stops.)
        self.committer = None;
        self.idle.clear();
        if let Some(n) = self.threads_before.take() {
            self.store.put_threads_back(&self.conn, n, "a bulk load");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::duckdb_threads;
    use llmscope_core::store::CallReader;
    use std::sync::atomic::Ordering;

    fn threads(conn: &Connection) -> i64 {
        duckdb_threads(conn).unwrap_or(-1)
    }

    #[test]
    fn a_bulk_load_leaves_the_parsing_cores_to_the_import_and_puts_the_threads_back() -> Result<(), StoreError> {
        assert_eq!(bulk_threads(1), 1);
        assert_eq!(bulk_threads(2), 1, "on two cores DuckDB works on the appending thread alone");
        assert_eq!(bulk_threads(8), 6);
        let store = DuckStore::open_in_memory()?;
        store.set_threads(5)?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        {
            let load = DuckBulk::new(&store)?;
            assert_eq!(threads(&load.conn), bulk_threads(cores).min(5) as i64);
        }
        assert_eq!(threads(&*store.lock()?), 5, "the setting is back once the load is dropped");
        // A setting a load could not put back is the one the next load restores.
        store.set_threads(1)?;
        store.threads_owed.store(5, Ordering::Relaxed);
        drop(DuckBulk::new(&store)?);
        assert_eq!(threads(&*store.lock()?), 5, "the owed setting, not the lowered one, is restored");
        assert_eq!(store.threads_owed.load(Ordering::Relaxed), 0);
        // A load that needs no change changes nothing.
        store.set_threads(1)?;
        drop(DuckBulk::new(&store)?);
        assert_eq!(threads(&*store.lock()?), 1);
        Ok(())
    }

    fn at(id: &str, hour: i64) -> Call {
        let start = chrono::DateTime::from_timestamp(1_736_000_000 + hour * 3600, 0).unwrap_or_default();
        Call { id: id.into(), project: "default".into(), start_time: start, ..Call::default() }
    }

    fn count(conn: &Connection, table: &str) -> Result<i64, StoreError> {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).map_err(db_err)
    }

    /// A transaction begun while another is still committing finds that one's calls and
    /// quarter-hour marks through what it appended, which DuckDB does not show it.
    #[test]
    fn a_transaction_finds_the_calls_and_marks_of_one_still_committing() -> Result<(), StoreError> {
        let store = DuckStore::open_in_memory()?;
        let main = store.lock()?;
        let (a, b) = (second_conn(&main)?, second_conn(&main)?);
        for c in [&a, &b] {
            prepare_staging(c)?;
        }
        let mut known = KnownIds::load(&main)?;
        let calls = |ids: &[&str]| ids.iter().map(|id| at(id, 5)).collect::<Vec<_>>();

        a.execute_batch("BEGIN TRANSACTION").map_err(db_err)?;
        let mut first = Unseen::default();
        assert_eq!(insert_calls(&a, &calls(&["x", "y"]), Check::Bulk(&mut known, &mut first))?.inserted, 2);
        // `b` begins before `a` commits: DuckDB shows it neither `a`'s calls nor its mark.
        b.execute_batch("BEGIN TRANSACTION").map_err(db_err)?;
        assert_eq!(count(&b, "calls")?, 0);
        let mut second = Unseen { before: vec![Rc::new(first.mine)], mine: Appended::default() };
        let outcome = insert_calls(&b, &calls(&["y", "z"]), Check::Bulk(&mut known, &mut second))?;
        assert_eq!((outcome.inserted, outcome.duplicates), (1, 1), "y is in the transaction still committing");
        a.execute_batch("COMMIT").map_err(db_err)?;
        b.execute_batch("COMMIT").map_err(db_err)?;
        assert_eq!(count(&main, "calls")?, 3);
        assert_eq!(count(&main, "rollup_dirty")?, 1, "the quarter hour is marked once");
        // What `b` appended is what the next transaction checks against.
        let holds = |id: &str| second.mine.holds(KnownIds::hash(id), id);
        assert!(holds("z") && !holds("y") && !holds("x"));
        Ok(())
    }

    /// Every commit handed over ends in order; the load counts the durable ones, and the
    /// calls of a dropped load's open transaction are discarded.
    #[test]
    fn a_bulk_load_counts_the_commits_that_ended() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = DuckStore::open_dir(dir.path())?;
        {
            let mut load = DuckBulk::new(&store)?;
            for round in 0..5 {
                let calls: Vec<Call> = (0..3).map(|i| at(&format!("c{round}-{i}"), round)).collect();
                assert_eq!(load.append_calls(&calls)?.inserted, 3);
                // A repeat of the previous round's first call, which may still be committing.
                if round > 0 {
                    let again = load.append_calls(&[at(&format!("c{}-0", round - 1), round - 1)])?;
                    assert_eq!(again.duplicates, 1, "round {round}");
                }
                load.commit()?;
            }
            load.sync()?;
            assert_eq!(load.durable_commits(), Some(5));
            assert_eq!(load.append_calls(&[at("dropped", 9)])?.inserted, 1);
        }
        assert_eq!(store.count_calls(&llmscope_core::CallFilter::default())?, 15);
        Ok(())
    }
}
