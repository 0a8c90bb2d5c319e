//! The write batcher between request handlers and the store.
//!
//! Handlers never wait for storage. [`Recorder::record`] puts a job (a closure that builds the
//! [`Call`], so parsing the response body also happens off the request path) on a bounded
//! queue and returns at once, without waking anyone. One writer thread wakes every
//! `flush_interval` (or when the queue is half full, or on [`Recorder::flush`]), builds the
//! calls and appends them in batches of up to `batch_size`, each committed by the store
//! before the next. The calls carry freshly generated ids, so they are appended with
//! [`CallSink::append_new_calls`] (no duplicate lookup).
//!
//! When the queue is full because the store is slower than the traffic, or a batch still
//! fails after retries, the calls are **spilled**: appended as JSON lines (llmscope's own
//! call format) to a file in `spill_dir`, and counted. Nothing is dropped. Calls that
//! overflow the queue go to a second bounded queue drained by a spill thread, so an
//! overloaded server does not build records or write files on its request threads either
//! (only when both queues are full does the handler spill the call itself).
//!
//! Spilled calls are stored as soon as the store can take them again: once no call has been
//! spilled for `replay_after` and the queue is at most a quarter full, the writer closes the
//! spill file (the next spill opens a new one) and a replay thread, at the writer's
//! priority, imports it into the store a batch at a time and removes it. At shutdown the
//! replay stops between batches; what it had not stored stays in its file, and at the next
//! start [`replay_spill`] imports every file left (calls stored before are recognised by
//! their ids and skipped); `llmscope import` reads them too. [`Recorder::shutdown`] writes
//! everything still queued before it returns.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use llmscope_capture::import::{ImportOptions, Importer, NoProgress};
use llmscope_core::store::CallSink;
use llmscope_core::Call;
use serde::Serialize;

use crate::config::RecorderConfig;

/// Builds a call; run on the writer thread.
pub type Job = Box<dyn FnOnce() -> Call + Send>;

/// Runs a job; a job that panics is logged and counted, and never takes the writer down.
fn build(job: Job, counters: &Counters) -> Option<Call> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)) {
        Ok(call) => Some(call),
        Err(_) => {
            counters.failed_jobs.fetch_add(1, Ordering::Relaxed);
            tracing::error!("building a call record panicked; the call is lost");
            None
        }
    }
}

/// Control messages. Calls travel on their own queue that nobody blocks on, so recording a
/// call never wakes the writer (no context switch per request); the writer drains the queue
/// every `flush_interval`, or at once when told to.
enum Ctrl {
    /// The queue is half full: drain it now.
    Kick,
    Flush(Sender<()>),
    Stop,
}

/// Counters, readable while the server runs (`/readyz`, `/metrics`).
#[derive(Debug, Default)]
struct Counters {
    recorded: AtomicU64,
    written: AtomicU64,
    duplicates: AtomicU64,
    spilled: AtomicU64,
    failed_batches: AtomicU64,
    failed_jobs: AtomicU64,
    replayed: AtomicU64,
}

/// A snapshot of the recorder's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RecorderStats {
    /// Calls handed to the recorder.
    pub recorded: u64,
    /// Calls committed to the store.
    pub written: u64,
    /// Calls the store already had (same id).
    pub duplicates: u64,
    /// Calls written to the spill directory instead of the store.
    pub spilled: u64,
    /// Spilled calls stored since by this run's replay (the others wait in the spill
    /// directory for the next start).
    pub replayed: u64,
    /// Batches the store refused (after retries); their calls were spilled.
    pub failed_batches: u64,
    /// Calls whose record could not be built (a bug: logged as errors).
    pub failed_jobs: u64,
    /// Calls waiting in the queue.
    pub queued: u64,
    pub capacity: u64,
}

struct Shared {
    counters: Counters,
    spill: Mutex<Spill>,
    closed: AtomicBool,
    /// Set when the writer stops: the replay thread stops between batches.
    stop_replay: AtomicBool,
    /// The second (Unix time) of the last "spilled" warning.
    last_warned: std::sync::atomic::AtomicI64,
}

/// The batcher. Cheap to share behind an `Arc`.
pub struct Recorder {
    tx: Sender<Job>,
    /// A second handle on the queue, to drain what raced the stop message.
    rx: Receiver<Job>,
    /// The overflow queue, drained by the spill thread; and a second handle on it.
    spill_tx: Sender<Job>,
    spill_rx: Receiver<Job>,
    spill_thread: Mutex<Option<JoinHandle<()>>>,
    /// Dropped at shutdown to stop the spill thread.
    spill_stop: Mutex<Option<Sender<()>>>,
    ctrl: Sender<Ctrl>,
    shared: Arc<Shared>,
    capacity: usize,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Exchanges begun and not yet recorded ([`crate::exchange::PendingCall`]).
    open: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").field("stats", &self.stats()).finish()
    }
}

impl Recorder {
    /// Starts the writer thread.
    pub fn start(sink: Arc<dyn CallSink>, cfg: &RecorderConfig) -> Recorder {
        let capacity = cfg.queue_capacity.max(1);
        let (tx, rx) = crossbeam_channel::bounded(capacity);
        let (ctrl, ctrl_rx) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared {
            counters: Counters::default(),
            spill: Mutex::new(Spill::new(cfg.spill_dir.clone())),
            closed: AtomicBool::new(false),
            stop_replay: AtomicBool::new(false),
            last_warned: Default::default(),
        });
        let writer = Writer {
            sink,
            rx: rx.clone(),
            ctrl: ctrl_rx,
            shared: shared.clone(),
            batch_size: cfg.batch_size.max(1),
            flush_interval: cfg.flush_interval,
            nice: crate::priority::Lowering { nice: cfg.nice, idle: cfg.idle },
            replay: Replay { after: cfg.replay_after, capacity, thread: None },
        };
        let thread = std::thread::Builder::new()
            .name("llmscope-recorder".into())
            .spawn(move || writer.run())
            .expect("spawning the recorder thread");
        let (spill_tx, spill_rx) = crossbeam_channel::bounded(capacity);
        let (spill_stop, stop) = crossbeam_channel::bounded::<()>(0);
        let spiller = Spiller {
            rx: spill_rx.clone(),
            stop,
            shared: shared.clone(),
            batch_size: cfg.batch_size.max(1),
            nice: crate::priority::Lowering { nice: cfg.nice, idle: cfg.idle },
        };
        let spill_thread = std::thread::Builder::new()
            .name("llmscope-spill".into())
            .spawn(move || spiller.run())
            .expect("spawning the spill thread");
        Recorder {
            tx,
            rx,
            spill_tx,
            spill_rx,
            spill_thread: Mutex::new(Some(spill_thread)),
            spill_stop: Mutex::new(Some(spill_stop)),
            ctrl,
            shared,
            capacity,
            thread: Mutex::new(Some(thread)),
            open: Default::default(),
        }
    }

    /// Exchanges begun and not yet recorded.
    pub fn open_exchanges(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    pub(crate) fn exchange_opened(&self) {
        self.open.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn exchange_recorded(&self, job: Job) {
        self.record(job);
        self.open.fetch_sub(1, Ordering::AcqRel);
    }

    /// Queues a call to be built and written. Never blocks: when the queue is full the call
    /// is spilled to disk instead.
    pub fn record(&self, job: Job) {
        self.shared.counters.recorded.fetch_add(1, Ordering::Relaxed);
        if self.shared.closed.load(Ordering::Acquire) {
            self.spill_job(job);
            return;
        }
        match self.tx.try_send(job) {
            Ok(()) => {
                if self.tx.len() == self.capacity / 2 {
                    let _ = self.ctrl.send(Ctrl::Kick);
                }
                // Shutdown may have drained the queue between the check above and the send.
                if self.shared.closed.load(Ordering::Acquire) {
                    self.shared.spill_queued(&self.rx);
                }
            }
            Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => self.overflow(job),
        }
    }

    /// The queue is full: hand the call to the spill thread, or spill it here when that
    /// thread is behind too.
    fn overflow(&self, job: Job) {
        match self.spill_tx.try_send(job) {
            Ok(()) => {
                if self.shared.closed.load(Ordering::Acquire) {
                    self.shared.spill_queued(&self.spill_rx);
                }
            }
            Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => self.spill_job(job),
        }
    }

    fn spill_job(&self, job: Job) {
        if let Some(call) = build(job, &self.shared.counters) {
            self.shared.spill_calls(&[call]);
        }
    }

    /// Queues a call that is already built.
    pub fn record_call(&self, call: Call) {
        self.record(Box::new(move || call));
    }

    /// Waits until everything queued for the store before this call has been written (or
    /// spilled after failed retries). Calls that overflowed to the spill thread are written
    /// by it independently; `stats().spilled` counts them once they are on disk.
    pub fn flush(&self) {
        let (done_tx, done_rx) = crossbeam_channel::bounded(1);
        if self.ctrl.send(Ctrl::Flush(done_tx)).is_ok() {
            let _ = done_rx.recv();
        }
    }

    pub fn stats(&self) -> RecorderStats {
        let c = &self.shared.counters;
        RecorderStats {
            recorded: c.recorded.load(Ordering::Relaxed),
            written: c.written.load(Ordering::Relaxed),
            duplicates: c.duplicates.load(Ordering::Relaxed),
            spilled: c.spilled.load(Ordering::Relaxed),
            failed_batches: c.failed_batches.load(Ordering::Relaxed),
            failed_jobs: c.failed_jobs.load(Ordering::Relaxed),
            replayed: c.replayed.load(Ordering::Relaxed),
            queued: self.tx.len() as u64,
            capacity: self.capacity as u64,
        }
    }

    /// Writes everything queued, stops the writer thread and syncs the spill file. Calls
    /// recorded afterwards are spilled directly.
    pub fn shutdown(&self) -> RecorderStats {
        let handle = self.thread.lock().map(|mut t| t.take()).unwrap_or(None);
        if let Some(handle) = handle {
            let _ = self.ctrl.send(Ctrl::Stop);
            if handle.join().is_err() {
                tracing::error!("the recorder thread panicked");
            }
        }
        self.shared.closed.store(true, Ordering::Release);
        if let Ok(mut stop) = self.spill_stop.lock() {
            stop.take();
        }
        let spiller = self.spill_thread.lock().map(|mut t| t.take()).unwrap_or(None);
        if let Some(handle) = spiller {
            if handle.join().is_err() {
                tracing::error!("the spill thread panicked");
            }
        }
        // Anything that slipped in between the threads' last reads and `closed`.
        self.shared.spill_queued(&self.rx);
        self.shared.spill_queued(&self.spill_rx);
        if let Ok(mut s) = self.shared.spill.lock() {
            s.sync();
        }
        self.stats()
    }
}

impl Shared {
    /// Builds whatever is waiting in `rx` and spills it in one write.
    fn spill_queued(&self, rx: &Receiver<Job>) {
        let calls: Vec<Call> = rx.try_iter().filter_map(|job| build(job, &self.counters)).collect();
        self.spill_calls(&calls);
    }

    fn spill_calls(&self, calls: &[Call]) {
        if calls.is_empty() {
            return;
        }
        let mut n = calls.len() as u64;
        // Serialised before taking the lock: the spill thread runs at a lower priority, and a
        // request handler spilling beside it must not wait while it formats a batch.
        let mut lines = Vec::with_capacity(calls.len() * 1024);
        for call in calls {
            let start = lines.len();
            if let Err(e) = serde_json::to_writer(&mut lines, call) {
                lines.truncate(start);
                // A `Call` is plain data: this does not happen, but it is not hidden if it does.
                tracing::error!(call = %call.id, error = %e, "a call could not be serialised for the spill file; it is lost");
                n -= 1;
                continue;
            }
            lines.push(b'\n');
        }
        let result = match self.spill.lock() {
            Ok(mut s) => {
                let written = s.write(&lines);
                // After shutdown nobody syncs the file again: calls spilled this late (a
                // stream cut at the end of the grace period) are synced as they are written.
                if written.is_ok() && self.closed.load(Ordering::Acquire) {
                    s.sync();
                }
                written
            }
            Err(_) => Err(std::io::Error::other("spill lock poisoned")),
        };
        match result {
            Ok(path) => {
                let total = self.counters.spilled.fetch_add(n, Ordering::Relaxed) + n;
                // At most one warning a second, however many batches overflow.
                let now = chrono::Utc::now().timestamp();
                if self.last_warned.swap(now, Ordering::Relaxed) != now {
                    tracing::warn!(calls = n, total, file = %path.display(), "store busy or failing: calls spilled to disk");
                }
            }
            Err(e) => {
                // The one place a call can be lost: the store refused it and the disk too.
                tracing::error!(calls = n, error = %e, "could not spill calls to disk; they are lost");
            }
        }
    }
}

/// How often the writer rolls up finished quarter hours, and how long after their end.
const ROLL_UP_EVERY: Duration = Duration::from_secs(60);

struct Writer {
    sink: Arc<dyn CallSink>,
    rx: Receiver<Job>,
    ctrl: Receiver<Ctrl>,
    shared: Arc<Shared>,
    batch_size: usize,
    flush_interval: Duration,
    nice: crate::priority::Lowering,
    replay: Replay,
}

/// The writer's side of the replay of spill files while the server runs.
struct Replay {
    /// How long no call must have been spilled before the spill file is replayed (`None`:
    /// only at the next start).
    after: Option<Duration>,
    /// The queue's capacity: a replay starts only while it is at most a quarter full.
    capacity: usize,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    fn run(mut self) {
        if crate::priority::lower_current_thread(self.nice) {
            // The store's own workers (DuckDB's) do part of every checkpoint: down with us.
            if let Err(e) = self.sink.restart_workers_here() {
                tracing::warn!("could not restart the store's worker threads at the recorder's priority: {e}");
            }
        }
        let mut rolled_up = std::time::Instant::now();
        loop {
            let (stop, waiter) = match self.ctrl.recv_timeout(self.flush_interval) {
                Ok(Ctrl::Kick) | Err(RecvTimeoutError::Timeout) => (false, None),
                Ok(Ctrl::Flush(w)) => (false, Some(w)),
                Ok(Ctrl::Stop) | Err(RecvTimeoutError::Disconnected) => (true, None),
            };
            self.drain();
            if let Some(w) = waiter {
                let _ = w.send(());
            }
            if !stop && rolled_up.elapsed() >= ROLL_UP_EVERY {
                rolled_up = std::time::Instant::now();
                self.roll_up();
            }
            if !stop {
                self.replay_when_quiet();
            }
            if stop {
                self.shared.stop_replay.store(true, Ordering::Release);
                if let Some(handle) = self.replay.thread.take() {
                    if handle.join().is_err() {
                        tracing::error!("the spill replay thread panicked");
                    }
                }
                // Answer flushes that raced the stop.
                while let Ok(msg) = self.ctrl.try_recv() {
                    if let Ctrl::Flush(w) = msg {
                        let _ = w.send(());
                    }
                }
                return;
            }
        }
    }

    /// Starts a replay of the spill file when no call has been spilled for `replay.after`,
    /// the queue is at most a quarter full and no replay runs.
    fn replay_when_quiet(&mut self) {
        let Some(after) = self.replay.after else { return };
        if self.replay.thread.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        if let Some(done) = self.replay.thread.take() {
            if done.join().is_err() {
                tracing::error!("the spill replay thread panicked");
            }
        }
        if self.rx.len() > self.replay.capacity / 4 {
            return;
        }
        let Some(file) = self.shared.spill.lock().ok().and_then(|mut s| s.close_if_quiet(after)) else { return };
        let (sink, shared, nice) = (self.sink.clone(), self.shared.clone(), self.nice);
        let spawned = std::thread::Builder::new()
            .name("llmscope-replay".into())
            .spawn(move || replay_file(&file, sink.as_ref(), &shared, nice));
        match spawned {
            Ok(t) => self.replay.thread = Some(t),
            Err(e) => {
                tracing::warn!(error = %e, "could not start the spill replay; the spilled calls wait for the next start")
            }
        }
    }

    /// Brings the store's rollups up to date, except for the quarter hours still receiving
    /// calls (from a minute ago to the next quarter hour); future-dated calls are rolled up
    /// too. Reports are exact without it; it makes them fast.
    fn roll_up(&self) {
        let now = chrono::Utc::now();
        let live =
            now - chrono::Duration::from_std(ROLL_UP_EVERY).unwrap_or_default()..now + chrono::Duration::minutes(15);
        let started = std::time::Instant::now();
        match self.sink.roll_up(Some(live)) {
            Ok(quarter_hours) => {
                tracing::debug!(quarter_hours, ms = started.elapsed().as_millis() as u64, "rolled up")
            }
            Err(e) => tracing::warn!(error = %e, "could not update the rollups; reports read those calls directly"),
        }
    }

    /// Writes everything queued, in batches.
    fn drain(&self) {
        let mut batch: Vec<Call> = Vec::with_capacity(self.batch_size.min(self.rx.len().max(1)));
        while let Ok(job) = self.rx.try_recv() {
            batch.extend(build(job, &self.shared.counters));
            if batch.len() >= self.batch_size {
                self.write(&mut batch);
            }
        }
        self.write(&mut batch);
    }

    fn write(&self, batch: &mut Vec<Call>) {
        if batch.is_empty() {
            return;
        }
        let mut delay = Duration::from_millis(50);
        for attempt in 1..=3 {
            // The recorder's calls carry freshly generated ids: no duplicate check needed the
            // first time. A retry looks the ids up, because a failure reported at commit (a
            // checkpoint that failed after the write-ahead log had the batch) may have stored it.
            let appended = if attempt == 1 { self.sink.append_new_calls(batch) } else { self.sink.append_calls(batch) };
            match appended {
                Ok(out) => {
                    let c = &self.shared.counters;
                    if attempt == 1 {
                        c.written.fetch_add(out.inserted, Ordering::Relaxed);
                        c.duplicates.fetch_add(out.duplicates, Ordering::Relaxed);
                    } else {
                        // Fresh ids: a call found stored on a retry is this batch's, committed
                        // by an attempt that reported an error.
                        c.written.fetch_add(out.inserted + out.duplicates, Ordering::Relaxed);
                    }
                    batch.clear();
                    return;
                }
                Err(e) => {
                    tracing::warn!(attempt, calls = batch.len(), error = %e, "writing a batch of calls failed");
                    if attempt < 3 {
                        std::thread::sleep(delay);
                        delay *= 4;
                    }
                }
            }
        }
        self.shared.counters.failed_batches.fetch_add(1, Ordering::Relaxed);
        self.shared.spill_calls(batch);
        batch.clear();
    }
}

/// Drains the overflow queue into the spill file, a batch at a time, until the recorder
/// closes.
struct Spiller {
    rx: Receiver<Job>,
    /// Disconnected (its sender dropped) when the recorder shuts down. The thread sleeps
    /// until a call or this arrives: no timer wake-ups while nothing overflows.
    stop: Receiver<()>,
    shared: Arc<Shared>,
    batch_size: usize,
    nice: crate::priority::Lowering,
}

impl Spiller {
    fn run(self) {
        crate::priority::lower_current_thread(self.nice);
        loop {
            crossbeam_channel::select! {
                recv(self.rx) -> job => match job {
                    Ok(job) => {
                        let mut calls: Vec<Call> = build(job, &self.shared.counters).into_iter().collect();
                        while calls.len() < self.batch_size {
                            let Ok(job) = self.rx.try_recv() else { break };
                            calls.extend(build(job, &self.shared.counters));
                        }
                        self.shared.spill_calls(&calls);
                    }
                    Err(_) => break,
                },
                recv(self.stop) -> _ => break,
            }
        }
        self.shared.spill_queued(&self.rx);
    }
}

/// The spill file: opened on first use, and again after each replay closed it.
struct Spill {
    dir: PathBuf,
    out: Option<(PathBuf, BufWriter<File>)>,
    /// When calls were last written to `out`.
    last_write: Option<std::time::Instant>,
}

impl Spill {
    fn new(dir: PathBuf) -> Self {
        Spill { dir, out: None, last_write: None }
    }

    /// Closes the spill file, synced, when nothing has been written to it for `quiet`, and
    /// returns its path (for a replay); the next spill opens a new file.
    fn close_if_quiet(&mut self, quiet: Duration) -> Option<PathBuf> {
        if self.last_write.is_some_and(|t| t.elapsed() < quiet) {
            return None;
        }
        self.sync();
        self.out.take().map(|(path, _)| path)
    }

    /// Appends JSON lines.
    fn write(&mut self, lines: &[u8]) -> std::io::Result<PathBuf> {
        if self.out.is_none() {
            std::fs::create_dir_all(&self.dir)?;
            let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ");
            let path = self.dir.join(format!("spill-{stamp}-{}.jsonl", std::process::id()));
            let file = OpenOptions::new().create(true).append(true).open(&path)?;
            self.out = Some((path, BufWriter::new(file)));
        }
        let Some((path, out)) = self.out.as_mut() else { return Err(std::io::Error::other("spill file not open")) };
        self.last_write = Some(std::time::Instant::now());
        out.write_all(lines)?;
        out.flush()?;
        Ok(path.clone())
    }

    fn sync(&mut self) {
        if let Some((_, out)) = self.out.as_mut() {
            let _ = out.flush();
            let _ = out.get_ref().sync_all();
        }
    }
}

/// Stops a replay between batches once the writer has stopped.
struct StopWhen<'a>(&'a AtomicBool);

impl llmscope_capture::import::ImportProgress for StopWhen<'_> {
    fn stop_requested(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// How long a replay waits after a store failure before it tries the file again.
const REPLAY_RETRY: Duration = Duration::from_secs(30);

/// The replay thread: imports a closed spill file into the store and removes it, trying
/// again after a store failure until the writer stops (the file then waits for the next
/// start, as does a file that cannot be read).
fn replay_file(file: &Path, sink: &dyn CallSink, shared: &Shared, nice: crate::priority::Lowering) {
    crate::priority::lower_current_thread(nice);
    let stop = StopWhen(&shared.stop_replay);
    let dir = file.parent().unwrap_or(Path::new("."));
    let importer = spill_importer(sink, dir, "default");
    loop {
        let (stored, error) = match importer.import_file(file, &stop) {
            Ok(s) => (s.imported + s.already_present, None),
            Err(e) => (e.done.imported + e.done.already_present, Some(e.error)),
        };
        // Counted when the file is done or the replay stops, not after a failure: a retry
        // reads the file from its start, and what a failed attempt stored comes back then
        // as already present.
        let counted = &shared.counters.replayed;
        match error {
            None => {
                counted.fetch_add(stored, Ordering::Relaxed);
                match std::fs::remove_file(file) {
                    Ok(()) => tracing::info!(calls = stored, file = %file.display(), "stored the spilled calls"),
                    Err(e) => tracing::warn!(file = %file.display(), error = %e,
                        "stored the spilled calls but could not remove their file; the next start skips them"),
                }
                return;
            }
            Some(llmscope_capture::import::ImportError::Stopped) => {
                counted.fetch_add(stored, Ordering::Relaxed);
                tracing::info!(file = %file.display(), "replay stopped at shutdown; the rest waits for the next start");
                return;
            }
            Some(e @ llmscope_capture::import::ImportError::Store(_)) => {
                tracing::warn!(file = %file.display(), error = %e, retry_s = REPLAY_RETRY.as_secs(), "replaying spilled calls failed");
            }
            Some(e) => {
                tracing::warn!(file = %file.display(), error = %e, "cannot replay spilled calls; they wait for the next start");
                return;
            }
        }
        let deadline = std::time::Instant::now() + REPLAY_RETRY;
        while std::time::Instant::now() < deadline {
            if shared.stop_replay.load(Ordering::Acquire) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The importer of spill files: batch by batch, each committed on its own (the recorder
/// writes beside it), rejected lines kept in `<dir>/rejects/`.
fn spill_importer<'a>(sink: &'a dyn CallSink, dir: &Path, project: &str) -> Importer<'a> {
    Importer {
        sink,
        opts: ImportOptions { project: project.to_string(), ..Default::default() },
        batch_size: 5_000,
        rejects_dir: Some(dir.join("rejects")),
        bulk: false,
    }
}

/// What [`replay_spill`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayOutcome {
    pub files: u64,
    pub imported: u64,
    pub already_present: u64,
    pub rejected: u64,
}

/// Imports the spill files a previous run left in `dir` and removes each once it is stored.
/// A file with rejected lines keeps its rejects beside it (`<dir>/rejects/`).
pub fn replay_spill(dir: &Path, sink: &dyn CallSink, project: &str) -> std::io::Result<ReplayOutcome> {
    let mut out = ReplayOutcome::default();
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(out) };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl") && p.is_file())
        .collect();
    files.sort();
    let importer = spill_importer(sink, dir, project);
    for f in files {
        let s = importer.import_file(&f, &NoProgress).map_err(|e| {
            std::io::Error::other(format!("{e} ({} of its calls were stored before it)", e.done.imported))
        })?;
        out.files += 1;
        out.imported += s.imported;
        out.already_present += s.already_present;
        out.rejected += s.rejected;
        std::fs::remove_file(&f)?;
    }
    Ok(out)
}
