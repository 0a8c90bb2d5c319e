//! The import pipeline: a reader thread reads lines, parses them into batches (two at a
//! time, the second on a helper thread) and has the store prepare each for its append ([`CallSink::prepare`]: DuckDB's columnar batch is
//! built there); the calling thread appends them through a [`BulkLoad`], committing where
//! the store asks to (and at the end of each file). Only committed calls are counted as imported, so
//! everything reported as imported is durable. Bad lines are reported and copied to a
//! rejects file; the import goes on.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use llmscope_core::store::{AppendOutcome, BulkLoad, CallSink, EachBatch, PreparedCalls, Preparing, StoreError};
use llmscope_core::{ids, Assessment};

use super::batch_requests::{self, BatchRequests};
use super::detect::LineFormat;
use super::formats::{parse_line, ImportOptions};
use super::reader::{display_name, is_stdin, LineReader, LineTally, NextLine};

/// Progress callbacks (the CLI draws a bar; tests and the server pass [`NoProgress`]).
pub trait ImportProgress: Sync {
    fn start_file(&self, _path: &str, _disk_bytes: u64) {}
    /// Called after each batch is appended with the bytes read from disk so far in this file.
    fn advance(&self, _disk_bytes: u64, _lines: u64) {}
    fn finish_file(&self) {}
    /// A line was rejected.
    fn rejected(&self, _file: &str, _line: u64, _reason: &str) {}
    /// Asked before each batch is appended: `true` stops the import there with
    /// [`ImportError::Stopped`] (what was appended before is committed).
    fn stop_requested(&self) -> bool {
        false
    }
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;
impl ImportProgress for NoProgress {}

/// A failure that stops an import (as opposed to a bad line, which is only reported).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: {source}")]
    Open { path: String, source: std::io::Error },
    #[error("cannot write the rejects file {path}: {source}")]
    Rejects { path: String, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stopped before the end of the file, as asked")]
    Stopped,
}

/// An import that stopped, with what it had done before: the calls committed then are
/// stored (durably), and importing the same files again skips them.
#[derive(Debug)]
pub struct ImportFailure {
    pub error: ImportError,
    /// Committed calls, lines read and rejected before the failure (rejected lines are in
    /// the rejects files).
    pub done: Box<ImportSummary>,
}

impl std::fmt::Display for ImportFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.error)
    }
}

impl std::error::Error for ImportFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

/// One rejected line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub file: String,
    pub line: u64,
    pub reason: String,
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportSummary {
    pub files: u64,
    pub lines: u64,
    pub blank: u64,
    /// Calls newly stored.
    pub imported: u64,
    /// Lines whose call was already stored (an earlier import, or a repeat within the file).
    pub already_present: u64,
    /// Lines of Batch input files joined to their answers (the answers' calls carry them).
    pub joined: u64,
    pub rejected: u64,
    pub assessments: u64,
    /// Bytes of line data read (decompressed).
    pub bytes: u64,
    /// Wall time, the rollups' update at the end included.
    pub elapsed: Duration,
    /// Of `elapsed`, the time spent bringing the store's rollups up to date at the end.
    pub rollup: Duration,
    /// Lines per detected format.
    pub by_format: BTreeMap<String, u64>,
    /// The first rejected lines (all of them are in the rejects files).
    pub rejects_sample: Vec<Rejected>,
    /// Where rejected lines were copied.
    pub rejects_files: Vec<PathBuf>,
}

impl ImportSummary {
    /// A line rejected: reported, copied to the rejects file, counted, and kept in the sample.
    fn reject(
        &mut self,
        r: Rejected,
        raw: &[u8],
        rejects: &mut RejectsWriter,
        progress: &dyn ImportProgress,
    ) -> Result<(), ImportError> {
        progress.rejected(&r.file, r.line, &r.reason);
        rejects.write(&r, raw)?;
        self.rejected += 1;
        if self.rejects_sample.len() < REJECTS_SAMPLE {
            self.rejects_sample.push(r);
        }
        Ok(())
    }

    fn add_tally(&mut self, t: LineTally) {
        self.lines += t.lines;
        self.blank += t.blank;
        self.bytes += t.bytes;
    }

    fn add_rollup(&mut self, took: Duration) {
        self.rollup += took;
        self.elapsed += took;
    }

    fn merge(&mut self, o: ImportSummary) {
        self.files += o.files;
        self.lines += o.lines;
        self.blank += o.blank;
        self.imported += o.imported;
        self.already_present += o.already_present;
        self.joined += o.joined;
        self.rejected += o.rejected;
        self.assessments += o.assessments;
        self.bytes += o.bytes;
        self.elapsed += o.elapsed;
        self.rollup += o.rollup;
        for (k, v) in o.by_format {
            *self.by_format.entry(k).or_default() += v;
        }
        let room = REJECTS_SAMPLE.saturating_sub(self.rejects_sample.len());
        self.rejects_sample.extend(o.rejects_sample.into_iter().take(room));
        self.rejects_files.extend(o.rejects_files);
    }
}

const REJECTS_SAMPLE: usize = 20;

/// Lines per batch by default: a sixth of a DuckDB row group (six batches to a bulk commit
/// of one row group), so that batches split at commit boundaries rarely.
pub const DEFAULT_BATCH: usize = 20_480;

/// Prepared batches waiting for the appending thread. While it commits (compressing a row
/// group's calls, about half a second per 122,880 seed-001 calls), the reading threads fill
/// this queue instead of waiting; four batches (about 25 MB each for seed-001 lines) cover
/// most of a commit.
const QUEUED_BATCHES: usize = 4;

/// Imports files into a sink.
pub struct Importer<'a> {
    pub sink: &'a dyn CallSink,
    pub opts: ImportOptions,
    /// Lines per batch handed from the reader thread to the store.
    pub batch_size: usize,
    /// Load through the store's [`CallSink::bulk_load`] (an import is its only writer);
    /// `false` commits each batch on its own, for a loader running beside other writers.
    pub bulk: bool,
    /// Directory for rejects files; `None` keeps them next to nothing (reported only).
    pub rejects_dir: Option<PathBuf>,
}

impl std::fmt::Debug for Importer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Importer").field("opts", &self.opts).field("batch_size", &self.batch_size).finish()
    }
}

#[derive(Default)]
struct Batch {
    /// The calls, prepared by the store for its append, in order (one part unless the
    /// store's batches could not hold them all).
    prepared: Vec<PreparedCalls>,
    assessments: Vec<Assessment>,
    rejected: Vec<(Rejected, Vec<u8>)>,
    tally: LineTally,
    by_format: BTreeMap<&'static str, u64>,
}

impl<'a> Importer<'a> {
    pub fn new(sink: &'a dyn CallSink, opts: ImportOptions) -> Self {
        Importer { sink, opts, batch_size: DEFAULT_BATCH, rejects_dir: None, bulk: true }
    }

    /// Brings the store's rollups up to date with what was imported, and says how long that
    /// took. Reports are exact without it (they read the calls the rollups lack), so a
    /// failure is only logged.
    pub fn roll_up(&self) -> Duration {
        let started = Instant::now();
        match self.sink.roll_up(None) {
            Ok(n) => tracing::debug!(quarter_hours = n, ms = started.elapsed().as_millis() as u64, "rolled up"),
            Err(e) => tracing::warn!(error = %e, "could not update the rollups; reports read those calls directly"),
        }
        started.elapsed()
    }

    /// Imports one file. Bad lines do not stop it; an unreadable file or a store failure does,
    /// and then the failure says what was committed before it.
    pub fn import_file(&self, path: &Path, progress: &dyn ImportProgress) -> Result<ImportSummary, ImportFailure> {
        let started = Instant::now();
        let display = display_name(path);
        let mut reader = LineReader::open(path).map_err(|source| ImportFailure {
            error: ImportError::Open { path: display.clone(), source },
            done: Box::default(),
        })?;
        reader.max_line_bytes = self.opts.max_line_bytes;
        progress.start_file(&display, reader.file_len);
        let disk = reader.disk_counter();
        let mut summary = ImportSummary { files: 1, ..Default::default() };
        let mut rejects = RejectsWriter::new(self.rejects_dir.as_deref(), path);
        let (tx, rx) = crossbeam_channel::bounded::<Batch>(QUEUED_BATCHES);
        let batch_size = self.batch_size.max(1);
        let source = Source { file: display.as_str(), opts: &self.opts, sink: self.sink };

        let consumed = std::thread::scope(|s| -> Result<(), ImportError> {
            s.spawn(move || read_batches(&mut reader, &source, batch_size, &tx));
            let result = self.consume(&rx, &mut summary, &mut rejects, progress, &disk);
            // Dropping the receiver unblocks the reader thread if we stop early.
            drop(rx);
            result
        });
        // The lines rejected before a failure are written out too.
        let finished = rejects.finish();
        summary.elapsed = started.elapsed();
        progress.finish_file();
        let failed = match (consumed, finished) {
            (Ok(()), Ok(file)) => {
                summary.rejects_files.extend(file);
                return Ok(summary);
            }
            (Err(e), finished) => {
                summary.rejects_files.extend(finished.ok().flatten());
                e
            }
            (Ok(()), Err(e)) => e,
        };
        Err(ImportFailure { error: failed, done: Box::new(summary) })
    }

    fn consume(
        &self,
        rx: &crossbeam_channel::Receiver<Batch>,
        summary: &mut ImportSummary,
        rejects: &mut RejectsWriter,
        progress: &dyn ImportProgress,
        disk: &AtomicU64,
    ) -> Result<(), ImportError> {
        let mut load: Box<dyn BulkLoad + '_> =
            if self.bulk { self.sink.bulk_load()? } else { Box::new(EachBatch(self.sink)) };
        let mut commits = Commits::default();
        let load = &mut *load;
        let mut load_batches = || -> Result<(), ImportError> {
            for mut batch in rx.iter() {
                if progress.stop_requested() {
                    commits.commit(load, summary)?;
                    return Err(ImportError::Stopped);
                }
                for prepared in std::mem::take(&mut batch.prepared) {
                    let mut at = 0;
                    while at < prepared.len() {
                        if load.room() == 0 {
                            commits.commit(load, summary)?;
                        }
                        let n = (prepared.len() - at).min(load.room());
                        commits.open.add(load.append_prepared(&prepared, at..at + n)?);
                        if load.commits_each_append() {
                            commits.open.settle(summary);
                        }
                        at += n;
                    }
                }
                if !batch.assessments.is_empty() {
                    commits.open.assessments += load.append_assessments(&batch.assessments)?;
                }
                if load.commits_each_append() {
                    commits.open.settle(summary);
                }
                summary.add_tally(batch.tally);
                for (k, v) in batch.by_format {
                    *summary.by_format.entry(k.to_string()).or_default() += v;
                }
                for (r, raw) in batch.rejected {
                    summary.reject(r, &raw, rejects, progress)?;
                }
                progress.advance(disk.load(Ordering::Relaxed), summary.lines);
            }
            commits.commit(load, summary)?;
            Ok(())
        };
        let loaded = load_batches();
        // What the load made durable is counted whatever happened: after a failure too, once
        // every commit handed over has ended.
        let synced = load.sync();
        commits.settle(load, summary);
        loaded?;
        Ok(synced?)
    }
}

/// What a bulk load appended since its last commit.
#[derive(Default)]
struct Pending {
    calls: AppendOutcome,
    assessments: u64,
}

impl Pending {
    fn add(&mut self, o: AppendOutcome) {
        self.calls.inserted += o.inserted;
        self.calls.duplicates += o.duplicates;
    }

    /// Counts it into the summary once it is durable.
    fn settle(&mut self, summary: &mut ImportSummary) {
        let done = std::mem::take(self);
        summary.imported += done.calls.inserted;
        summary.already_present += done.calls.duplicates;
        summary.assessments += done.assessments;
    }
}

/// What a bulk load appended, commit by commit, until it is durable: a store may commit
/// behind the load ([`BulkLoad::durable_commits`]).
#[derive(Default)]
struct Commits {
    /// Appended since the last commit.
    open: Pending,
    /// Handed over by commits not known to be durable yet, oldest first.
    handed: VecDeque<Pending>,
    /// Commits counted into the summary.
    settled: u64,
}

impl Commits {
    fn commit(&mut self, load: &mut dyn BulkLoad, summary: &mut ImportSummary) -> Result<(), StoreError> {
        load.commit()?;
        self.handed.push_back(std::mem::take(&mut self.open));
        self.settle(load, summary);
        Ok(())
    }

    /// Counts into the summary the commits that are durable.
    fn settle(&mut self, load: &dyn BulkLoad, summary: &mut ImportSummary) {
        let durable = load.durable_commits().unwrap_or(self.settled + self.handed.len() as u64);
        let ended = (durable.saturating_sub(self.settled) as usize).min(self.handed.len());
        for mut done in self.handed.drain(..ended) {
            done.settle(summary);
        }
        self.settled += ended as u64;
    }
}

/// Imports several files one after the other and adds up their summaries. A file that
/// cannot be opened, or a store failure, stops the import; the failure's summary counts what
/// was committed before it, in this file and the ones before.
pub fn import_files(
    importer: &Importer<'_>,
    paths: &[PathBuf],
    progress: &dyn ImportProgress,
) -> Result<ImportSummary, ImportFailure> {
    let mut total = ImportSummary::default();
    // Batch input files are read first, so that their answers can be joined to them.
    let reading = Instant::now();
    let (mut request_files, answer_files): (Vec<&PathBuf>, Vec<&PathBuf>) =
        // (Standard input is read once, as answers: peeking at it would consume it.)
        paths.iter().partition(|p| !is_stdin(p) && batch_requests::is_request_file(p, &importer.opts));
    // A request file named twice is read once (its custom_ids would all look repeated).
    let mut seen = std::collections::HashSet::new();
    request_files.retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())));
    let mut requests = BatchRequests::default();
    let mut reads = Vec::new();
    for p in &request_files {
        match batch_requests::read(p, &importer.opts, &mut requests) {
            Ok(read) => reads.push((*p, read)),
            Err(source) => {
                let error = ImportError::Open { path: p.display().to_string(), source };
                return Err(ImportFailure { error, done: Box::new(total) });
            }
        }
    }
    let requests = std::sync::Arc::new(requests);
    total.elapsed += reading.elapsed();
    let joining = Importer {
        sink: importer.sink,
        opts: ImportOptions {
            batch_requests: (!request_files.is_empty()).then(|| std::sync::Arc::clone(&requests)),
            ..importer.opts.clone()
        },
        batch_size: importer.batch_size,
        bulk: importer.bulk,
        rejects_dir: importer.rejects_dir.clone(),
    };
    for p in answer_files {
        match joining.import_file(p, progress) {
            Ok(s) => total.merge(s),
            Err(ImportFailure { error, done }) => {
                total.merge(*done);
                total.add_rollup(importer.roll_up());
                return Err(ImportFailure { error, done: Box::new(total) });
            }
        }
    }
    let (max, settling) = (importer.opts.max_line_bytes, Instant::now());
    let settled = settle_requests(&requests, reads, max, importer.rejects_dir.as_deref(), progress, &mut total);
    total.elapsed += settling.elapsed();
    if let Err(error) = settled {
        total.add_rollup(importer.roll_up());
        return Err(ImportFailure { error, done: Box::new(total) });
    }
    total.add_rollup(importer.roll_up());
    Ok(total)
}

/// Counts the Batch input files' lines once their answers are imported: joined, or rejected
/// (reported and copied to the rejects files) with their reason.
fn settle_requests(
    requests: &BatchRequests,
    reads: Vec<(&PathBuf, batch_requests::FileRead)>,
    max_line_bytes: usize,
    rejects_dir: Option<&Path>,
    progress: &dyn ImportProgress,
    total: &mut ImportSummary,
) -> Result<(), ImportError> {
    let (joined, mut unjoined) = requests.settle();
    total.joined += joined;
    for (path, read) in reads {
        let file = path.display().to_string();
        let mut summary = ImportSummary { files: 1, ..Default::default() };
        summary.add_tally(read.tally);
        let mut rejected = read.rejected;
        let (mine, others): (Vec<Rejected>, Vec<Rejected>) = unjoined.into_iter().partition(|r| r.file == file);
        unjoined = others;
        // The request lines' bytes, read again for the rejects file.
        let numbers: Vec<u64> = mine.iter().map(|r| r.line).collect();
        let bytes = batch_requests::lines_of(path, &numbers, max_line_bytes)
            .map_err(|source| ImportError::Open { path: file.clone(), source })?;
        rejected.extend(mine.into_iter().zip(bytes));
        rejected.sort_by_key(|(r, _)| r.line);
        let read_as_requests = read.tally.lines.saturating_sub(rejected.len() as u64);
        if read_as_requests > 0 {
            summary.by_format.insert(LineFormat::OpenAiBatch.name().to_string(), read_as_requests);
        }
        let mut rejects = RejectsWriter::new(rejects_dir, path);
        for (r, raw) in rejected {
            summary.reject(r, &raw, &mut rejects, progress)?;
        }
        summary.rejects_files.extend(rejects.finish()?);
        total.merge(summary);
    }
    Ok(())
}

/// What the reading threads need: the file's name, how to read lines, and the store (which
/// prepares each batch for its append).
struct Source<'a> {
    file: &'a str,
    opts: &'a ImportOptions,
    sink: &'a dyn CallSink,
}

/// Raw bytes a chunk holds at most before it is parsed (its lines may be long).
const CHUNK_BYTES: u64 = 64 << 20;

/// Reads the file in chunks of two batches' lines; each chunk's two batches are parsed and
/// prepared side by side (this thread and a helper: parsing is the import's heaviest step
/// besides DuckDB's), then sent in order. A chunk of long lines stops at `CHUNK_BYTES` and is
/// split in half.
fn read_batches(reader: &mut LineReader, src: &Source<'_>, batch_size: usize, tx: &crossbeam_channel::Sender<Batch>) {
    loop {
        let mut chunk: Vec<NextLine> = Vec::with_capacity(2 * batch_size);
        let (mut bytes, mut last) = (0u64, false);
        while chunk.len() < 2 * batch_size && bytes < CHUNK_BYTES {
            match reader.next_line() {
                NextLine::Eof => {
                    last = true;
                    break;
                }
                broken @ NextLine::Broken { .. } => {
                    chunk.push(broken);
                    last = true;
                    break;
                }
                line => {
                    if let NextLine::Line(_, b) = &line {
                        bytes += b.len() as u64;
                    }
                    chunk.push(line);
                }
            }
        }
        let mid = if bytes >= CHUNK_BYTES { chunk.len().div_ceil(2) } else { chunk.len().min(batch_size) };
        let second = chunk.split_off(mid);
        let (a, b) = if second.is_empty() {
            (parse_part(chunk, src), None)
        } else {
            // (Borrowed by the helper, so that if no thread can be had this one parses both.)
            let second = std::sync::Mutex::new(Some(second));
            let take = || second.lock().map(|mut s| s.take().unwrap_or_default()).unwrap_or_default();
            std::thread::scope(|s| {
                let other = std::thread::Builder::new()
                    .name("llmscope-parse".into())
                    .spawn_scoped(s, || parse_part(take(), src));
                let a = parse_part(chunk, src);
                let b = match other {
                    // (A panic there is a bug; it goes on as this thread's, as before the split.)
                    Ok(h) => h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
                    Err(_) => parse_part(take(), src),
                };
                (a, Some(b))
            })
        };
        if tx.send(a).is_err() || b.is_some_and(|b| tx.send(b).is_err()) || last {
            return;
        }
    }
}

/// Parses lines into a batch prepared by the store for its append, each call as soon as it
/// is parsed ([`Preparing`]): its data is still in the cache when the store copies it into
/// its batch, and its memory is freed for the next line's (preparing a whole part's parsed
/// calls at once read them back from memory).
fn parse_part(lines: Vec<NextLine>, src: &Source<'_>) -> Batch {
    let (file, opts) = (src.file, src.opts);
    let mut batch = Batch::default();
    let bytes = lines.iter().map(|l| if let NextLine::Line(_, b) = l { b.len() } else { 0 }).sum();
    let mut calls = Preparing::new(src.sink, lines.len(), bytes);
    for next in lines {
        match next {
            NextLine::Eof => {}
            NextLine::Line(n, bytes) => {
                if !batch.tally.line(&bytes) {
                    continue;
                }
                match parse_line(&bytes, file, n, opts) {
                    Ok(parsed) => {
                        *batch.by_format.entry(parsed.format.name()).or_default() += 1;
                        for mut a in parsed.assessments {
                            a.id = ids::content_id(format!("{}:{}", parsed.call.id, a.name).as_bytes());
                            a.project.clone_from(&parsed.call.project);
                            batch.assessments.push(a);
                        }
                        calls.add(parsed.call);
                    }
                    Err(e) => batch
                        .rejected
                        .push((Rejected { file: file.to_string(), line: n, reason: e.to_string() }, bytes)),
                }
            }
            unreadable => {
                if let Some((line, reason, raw)) = batch.tally.unreadable(unreadable, opts.max_line_bytes) {
                    batch.rejected.push((Rejected { file: file.to_string(), line, reason }, raw));
                }
            }
        }
    }
    batch.prepared = calls.finish();
    batch
}

/// Writes rejected lines verbatim to `<dir>/<file name>.<path hash>.rejected.jsonl` (so they
/// can be fixed and imported again) and the reasons to `….rejected.log` beside it. Each import
/// of a file rewrites its rejects files: they describe the latest run.
struct RejectsWriter {
    paths: Option<(PathBuf, PathBuf)>,
    files: Option<(BufWriter<File>, BufWriter<File>)>,
}

impl RejectsWriter {
    fn new(dir: Option<&Path>, source: &Path) -> Self {
        let paths = dir.map(|d| {
            let name = match source.file_name() {
                _ if is_stdin(source) => "stdin".into(),
                Some(n) => n.to_string_lossy().into_owned(),
                None => "input".into(),
            };
            let name = name.trim_end_matches(".gz").to_string();
            // Two inputs with the same file name must not share a rejects file.
            let full = std::fs::canonicalize(source).unwrap_or_else(|_| source.to_path_buf());
            let tag = &llmscope_core::ids::content_id(full.to_string_lossy().as_bytes())[..8];
            (d.join(format!("{name}.{tag}.rejected.jsonl")), d.join(format!("{name}.{tag}.rejected.log")))
        });
        RejectsWriter { paths, files: None }
    }

    fn write(&mut self, r: &Rejected, raw: &[u8]) -> Result<(), ImportError> {
        let Some((data_path, log_path)) = &self.paths else { return Ok(()) };
        let err = |p: &Path| {
            let path = p.display().to_string();
            move |source| ImportError::Rejects { path, source }
        };
        if self.files.is_none() {
            if let Some(parent) = data_path.parent() {
                std::fs::create_dir_all(parent).map_err(err(data_path))?;
            }
            let d = File::create(data_path).map_err(err(data_path))?;
            let l = File::create(log_path).map_err(err(log_path))?;
            self.files = Some((BufWriter::new(d), BufWriter::new(l)));
        }
        if let Some((d, l)) = &mut self.files {
            d.write_all(raw).and_then(|_| d.write_all(b"\n")).map_err(err(data_path))?;
            writeln!(l, "{r}").map_err(err(log_path))?;
        }
        Ok(())
    }

    fn finish(self) -> Result<Option<PathBuf>, ImportError> {
        match (self.files, self.paths) {
            (Some((mut d, mut l)), Some((dp, lp))) => {
                d.flush().map_err(|source| ImportError::Rejects { path: dp.display().to_string(), source })?;
                l.flush().map_err(|source| ImportError::Rejects { path: lp.display().to_string(), source })?;
                Ok(Some(dp))
            }
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use llmscope_core::store::{AppendOutcome, BulkLoad, CallPreparer, CallSink, HeldCalls, PreparedCalls, StoreError};
    use llmscope_core::{Assessment, Call};

    use super::{ImportOptions, Importer, NoProgress};

    /// A sink whose bulk load wants a commit every `every` calls, and which remembers the
    /// size of each append and each commit.
    #[derive(Default)]
    struct Recording {
        every: usize,
        appends: Mutex<Vec<usize>>,
        commits: Mutex<Vec<usize>>,
        /// The questions appended, in order.
        questions: Mutex<Vec<String>>,
        /// Calls a prepared batch holds (`None`: the default preparer, without a limit).
        prepared_room: Option<usize>,
        /// The load commits behind: each commit ends at the next one (or at `sync`), and the
        /// commit with this number (from 1), if any, fails then.
        behind: Option<Option<u64>>,
    }

    /// A preparer with room for `room` calls, which refuses any call asking something "big".
    struct Small {
        calls: HeldCalls,
        room: usize,
    }

    impl CallPreparer for Small {
        fn add(&mut self, call: Call) -> Result<(), Box<Call>> {
            if self.calls.len() == self.room || call.input_text.starts_with("big") {
                return Err(Box::new(call));
            }
            self.calls.add(call)
        }
        fn len(&self) -> usize {
            self.calls.len()
        }
        fn finish(self: Box<Self>) -> PreparedCalls {
            Box::new(self.calls).finish()
        }
    }

    struct Load<'a> {
        sink: &'a Recording,
        open: usize,
        /// Commits handed over, and those ended (when committing behind).
        handed: u64,
        ended: u64,
    }

    impl Load<'_> {
        /// Ends the commits handed over, up to `upto`; the first failure is returned.
        fn end(&mut self, upto: u64) -> Result<(), StoreError> {
            let fails = self.sink.behind.flatten();
            while self.ended < upto {
                if fails.is_some_and(|f| self.ended + 1 >= f) {
                    return Err(StoreError::Backend(format!("commit {} failed", self.ended + 1)));
                }
                self.ended += 1;
            }
            Ok(())
        }
    }

    impl BulkLoad for Load<'_> {
        fn append_calls(&mut self, calls: &[Call]) -> Result<AppendOutcome, StoreError> {
            self.sink.appends.lock().map_err(|_| StoreError::Backend("poisoned".into()))?.push(calls.len());
            let mut questions = self.sink.questions.lock().map_err(|_| StoreError::Backend("poisoned".into()))?;
            questions.extend(calls.iter().map(|c| c.input_text.clone()));
            self.open += calls.len();
            Ok(AppendOutcome { inserted: calls.len() as u64, duplicates: 0 })
        }
        fn append_assessments(&mut self, a: &[Assessment]) -> Result<u64, StoreError> {
            Ok(a.len() as u64)
        }
        fn room(&self) -> usize {
            self.sink.every - self.open
        }
        fn commit(&mut self) -> Result<(), StoreError> {
            if self.open > 0 {
                self.sink.commits.lock().map_err(|_| StoreError::Backend("poisoned".into()))?.push(self.open);
            }
            self.open = 0;
            if self.sink.behind.is_some() {
                // The previous commit ends now; this one at the next.
                self.end(self.handed)?;
                self.handed += 1;
            }
            Ok(())
        }
        fn durable_commits(&self) -> Option<u64> {
            self.sink.behind.map(|_| self.ended)
        }
        fn sync(&mut self) -> Result<(), StoreError> {
            self.end(self.handed)
        }
    }

    impl CallSink for Recording {
        fn append_calls(&self, _: &[Call]) -> Result<AppendOutcome, StoreError> {
            Err(StoreError::Backend("a bulk import must not append outside its load".into()))
        }
        fn append_assessments(&self, _: &[Assessment]) -> Result<u64, StoreError> {
            Ok(0)
        }
        fn bulk_load(&self) -> Result<Box<dyn BulkLoad + '_>, StoreError> {
            Ok(Box::new(Load { sink: self, open: 0, handed: 0, ended: 0 }))
        }
        fn preparer(&self, calls: usize, _bytes: usize) -> Box<dyn CallPreparer + '_> {
            match self.prepared_room {
                Some(room) => Box::new(Small { calls: HeldCalls::default(), room }),
                None => Box::new(HeldCalls(Vec::with_capacity(calls))),
            }
        }
    }

    /// Calls are prepared as they are parsed. When a prepared batch is full the next call
    /// starts another; a call even an empty batch refuses is appended as it is. Every call is
    /// appended once, in the file's order.
    #[test]
    fn calls_a_prepared_batch_has_no_room_for_go_in_the_next() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("calls.jsonl");
        let mut lines: Vec<String> = (0..9).map(seed001).collect();
        lines[4] = lines[4].replace("\"q4\"", "\"big4\"");
        lines[5] = lines[5].replace("\"q5\"", "\"big5\"");
        std::fs::write(&path, lines.join("\n") + "\n")?;
        let sink = Recording { every: 1000, prepared_room: Some(3), ..Default::default() };
        let mut importer = Importer::new(&sink, ImportOptions::default());
        importer.batch_size = 100;
        let summary = importer.import_file(&path, &NoProgress)?;
        assert_eq!((summary.imported, summary.rejected), (9, 0));
        // q0-q2 fill a batch; q3 starts one that refuses big4, appended alone, as is big5;
        // q6-q8 fill the last.
        assert_eq!(*sink.appends.lock().map_err(|_| "poisoned")?, [3, 1, 1, 1, 3]);
        let want = ["q0", "q1", "q2", "q3", "big4", "big5", "q6", "q7", "q8"];
        assert_eq!(*sink.questions.lock().map_err(|_| "poisoned")?, want);
        Ok(())
    }

    #[test]
    fn a_bulk_import_splits_batches_where_the_store_commits_and_commits_the_rest_at_the_end(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("calls.jsonl");
        let lines: Vec<String> = (0..25)
            .map(|i| {
                format!(
                    r#"{{"timestamp": {}, "level": "INFO", "request_id": "r{i}", "model": "m", "input": "q{i}", "output": "a{i}", "metadata": {{}}}}"#,
                    1_700_000_000 + i
                )
            })
            .collect();
        std::fs::write(&path, lines.join("\n") + "\n")?;
        let sink = Recording { every: 10, ..Default::default() };
        let mut importer = Importer::new(&sink, ImportOptions::default());
        importer.batch_size = 7;
        let summary = importer.import_file(&path, &NoProgress)?;
        assert_eq!((summary.imported, summary.rejected), (25, 0));
        // Batches of 7 split at every 10th call; the last 5 are committed at the end.
        assert_eq!(*sink.appends.lock().map_err(|_| "poisoned")?, [7, 3, 4, 6, 1, 4]);
        assert_eq!(*sink.commits.lock().map_err(|_| "poisoned")?, [10, 10, 5]);
        Ok(())
    }

    fn seed001(i: u32) -> String {
        format!(
            r#"{{"timestamp": {}, "level": "INFO", "request_id": "r{i}", "model": "m", "input": "q{i}", "output": "a{i}", "metadata": {{}}}}"#,
            1_700_000_000 + i
        )
    }

    /// Lines are read two batches at a time and the halves parsed apart: whatever the file's
    /// length against the batches, every line is counted once, in order.
    #[test]
    fn every_line_is_counted_once_whatever_the_chunks() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        for (n, blank_at, bad_at) in
            [(0u32, None, None), (14, None, None), (15, Some(9), Some(11)), (3, Some(0), Some(2))]
        {
            let mut lines: Vec<String> = (0..n).map(seed001).collect();
            if let Some(i) = bad_at {
                lines[i] = "{not json".into();
            }
            if let Some(i) = blank_at {
                lines[i] = "   ".into();
            }
            let path = dir.path().join(format!("f{n}.jsonl"));
            std::fs::write(&path, lines.iter().map(|l| format!("{l}\n")).collect::<String>())?;
            let sink = Recording { every: 1000, ..Default::default() };
            let mut importer = Importer::new(&sink, ImportOptions::default());
            importer.batch_size = 7;
            importer.rejects_dir = Some(dir.path().join("rejects"));
            let s = importer.import_file(&path, &NoProgress)?;
            let (blank, bad) = (u64::from(blank_at.is_some()), u64::from(bad_at.is_some()));
            assert_eq!((s.lines, s.blank, s.rejected), (u64::from(n) - blank, blank, bad), "{n} lines");
            assert_eq!(s.imported, u64::from(n) - blank - bad, "{n} lines");
            assert_eq!(s.bytes, lines.iter().map(|l| l.len() as u64 + 1).sum::<u64>(), "{n} lines");
            if let Some(i) = bad_at {
                assert_eq!(s.rejects_sample.first().map(|r| r.line), Some(i as u64 + 1));
            }
        }
        Ok(())
    }

    /// A gzip file cut off in the second batch of a chunk: the lines before the cut are
    /// imported and the cut is reported at its line.
    #[test]
    fn a_cut_in_the_second_half_of_a_chunk_is_reported_at_its_line() -> Result<(), Box<dyn std::error::Error>> {
        use std::io::Write;
        let dir = tempfile::tempdir()?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for i in 0..3000 {
            writeln!(gz, "{}", seed001(i))?;
        }
        let bytes = gz.finish()?;
        let path = dir.path().join("cut.jsonl.gz");
        std::fs::write(&path, &bytes[..bytes.len() / 2])?;
        // The lines before the cut, then batches that put the cut in a chunk's second half.
        let mut reader = super::LineReader::open(&path)?;
        let mut good = 0u64;
        while let super::NextLine::Line(..) = reader.next_line() {
            good += 1;
        }
        assert!(good > 100, "{good}");
        let batch = (2 * good / 3) as usize;
        assert!(good % (2 * batch as u64) >= batch as u64);
        let sink = Recording { every: 100_000, ..Default::default() };
        let mut importer = Importer::new(&sink, ImportOptions::default());
        importer.batch_size = batch;
        importer.rejects_dir = Some(dir.path().join("rejects"));
        let s = importer.import_file(&path, &NoProgress)?;
        assert_eq!((s.imported, s.rejected, s.lines), (good, 1, good + 1));
        assert_eq!(s.rejects_sample.first().map(|r| r.line), Some(good + 1));
        Ok(())
    }

    /// A sink that commits each batch and fails from the `fail_at`-th append on.
    struct FailsLater {
        appends: Mutex<usize>,
        fail_at: usize,
    }

    impl CallSink for FailsLater {
        fn append_calls(&self, calls: &[Call]) -> Result<AppendOutcome, StoreError> {
            let mut n = self.appends.lock().map_err(|_| StoreError::Backend("poisoned".into()))?;
            *n += 1;
            if *n >= self.fail_at {
                return Err(StoreError::Backend("disk full".into()));
            }
            Ok(AppendOutcome { inserted: calls.len() as u64, duplicates: 0 })
        }
        fn append_assessments(&self, a: &[Assessment]) -> Result<u64, StoreError> {
            Ok(a.len() as u64)
        }
    }

    #[test]
    fn calls_committed_behind_the_load_are_counted_once_durable() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("calls.jsonl");
        let lines: Vec<String> = (0..25).map(|i| seed001(i as u32)).collect();
        std::fs::write(&path, lines.join("\n") + "\n")?;
        // Commits of 10, 10 and 5 calls, each ending only at the next commit or at the end.
        let sink = Recording { every: 10, behind: Some(None), ..Default::default() };
        let mut importer = Importer::new(&sink, ImportOptions::default());
        importer.batch_size = 7;
        assert_eq!(importer.import_file(&path, &NoProgress)?.imported, 25, "all, once the last commit ended");
        // The second commit fails behind the load: only the first is durable, and the
        // failure says so (reported when the third is handed over).
        let sink = Recording { every: 10, behind: Some(Some(2)), ..Default::default() };
        let mut importer = Importer::new(&sink, ImportOptions::default());
        importer.batch_size = 7;
        let failed = importer.import_file(&path, &NoProgress).err().ok_or("the import should fail")?;
        assert!(failed.error.to_string().contains("commit 2 failed"), "{}", failed.error);
        assert_eq!(failed.done.imported, 10);
        Ok(())
    }

    #[test]
    fn a_failed_import_reports_what_was_committed_before_it() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let line = |i: u32| {
            format!(
                r#"{{"timestamp": {}, "level": "INFO", "request_id": "r{i}", "model": "m", "input": "q{i}", "output": "a{i}", "metadata": {{}}}}"#,
                1_700_000_000 + i
            )
        };
        let first = dir.path().join("first.jsonl");
        std::fs::write(&first, (0..10).map(line).collect::<Vec<_>>().join("\n") + "\n")?;
        // The second file has a bad line in its first (committed) batch.
        let second = dir.path().join("second.jsonl");
        let mut lines: Vec<String> = (10..40).map(line).collect();
        lines[2] = "{not json".into();
        std::fs::write(&second, lines.join("\n") + "\n")?;
        // Batches of 5: the first file's two and the second file's first commit; the
        // second file's second batch fails.
        let sink = FailsLater { appends: Mutex::new(0), fail_at: 4 };
        let mut importer = Importer::new(&sink, ImportOptions::default());
        importer.batch_size = 5;
        importer.bulk = false;
        importer.rejects_dir = Some(dir.path().join("rejects"));
        let failure = match super::import_files(&importer, &[first, second], &NoProgress) {
            Ok(s) => return Err(format!("the import should have failed, but imported {}", s.imported).into()),
            Err(f) => f,
        };
        assert!(matches!(failure.error, super::ImportError::Store(_)), "{}", failure.error);
        assert_eq!(failure.to_string(), "storage backend error: disk full");
        let done = &failure.done;
        assert_eq!((done.files, done.imported, done.rejected), (2, 14, 1));
        // The rejected line was written out although the import stopped.
        assert_eq!(done.rejects_files.len(), 1);
        assert_eq!(std::fs::read_to_string(&done.rejects_files[0])?, "{not json\n");
        Ok(())
    }
}
