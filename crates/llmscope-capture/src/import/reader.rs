//! Reading a log file line by line: plain or gzip (recognised by its magic bytes, whatever
//! the file is called), with line numbers and a count of the bytes read from disk for
//! progress reporting.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;

use super::documents::{self, Layout, Scanner};

/// Counts bytes read through it.
#[derive(Debug)]
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A line-numbered reader over a plain or gzip-compressed file. A file of JSON values
/// spanning lines, or of arrays of them, is read a value at a time instead
/// ([`super::documents`]): each value is one "line", numbered by the line it starts on.
pub struct LineReader {
    inner: Box<dyn BufRead + Send>,
    line_no: u64,
    /// Longest line kept in memory; longer lines are skipped and reported.
    pub max_line_bytes: usize,
    pub gzip: bool,
    /// Size of the file on disk.
    pub file_len: u64,
    disk_bytes: Arc<AtomicU64>,
    /// Told from the first bytes, at the first read.
    layout: Option<Layout>,
    scanner: Scanner,
}

impl std::fmt::Debug for LineReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineReader").field("line_no", &self.line_no).field("gzip", &self.gzip).finish()
    }
}

/// What reading the next line gave.
#[derive(Debug)]
pub enum NextLine {
    /// A line (without its `\n` / `\r\n`) and its 1-based number.
    Line(u64, Vec<u8>),
    /// The stream failed at this line number (e.g. a truncated gzip member); `partial` holds
    /// whatever bytes of the line had arrived.
    Broken {
        line: u64,
        error: io::Error,
        partial: Vec<u8>,
    },
    /// The line was longer than `max_line_bytes`; it was skipped without being held in
    /// memory. `head` is its beginning.
    TooLong {
        line: u64,
        len: u64,
        head: Vec<u8>,
    },
    Eof,
}

/// Lines read (blank ones counted apart, not among `lines`) and their bytes, as an import
/// counts them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LineTally {
    pub lines: u64,
    pub blank: u64,
    pub bytes: u64,
}

impl LineTally {
    /// Counts a line read; `false` when it is blank (nothing to parse).
    pub fn line(&mut self, bytes: &[u8]) -> bool {
        self.bytes += bytes.len() as u64 + 1;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            self.blank += 1;
            false
        } else {
            self.lines += 1;
            true
        }
    }

    /// Counts a line that could not be read, and gives its number, why it is rejected and
    /// the bytes of it that arrived (`None` for a line read, or the end).
    pub fn unreadable(&mut self, next: NextLine, max_line_bytes: usize) -> Option<(u64, String, Vec<u8>)> {
        let (line, reason, raw) = match next {
            NextLine::TooLong { line, len, head } => {
                self.bytes += len + 1;
                (line, format!("line is {len} bytes, longer than the {max_line_bytes} accepted; skipped"), head)
            }
            NextLine::Broken { line, error, partial } => (
                line,
                format!("the file is cut off or corrupt here ({error}); nothing after this line can be read"),
                partial,
            ),
            NextLine::Line(..) | NextLine::Eof => return None,
        };
        self.lines += 1;
        Some((line, reason, raw))
    }
}

/// The path that names standard input.
pub const STDIN: &str = "-";

/// Whether `path` names standard input ([`STDIN`]).
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN
}

/// How a file is named in messages: its path, or `stdin`.
pub fn display_name(path: &Path) -> String {
    if is_stdin(path) {
        "stdin".into()
    } else {
        path.display().to_string()
    }
}

impl LineReader {
    /// Opens a file, or standard input for [`STDIN`].
    pub fn open(path: &Path) -> io::Result<Self> {
        if is_stdin(path) {
            return Self::from_read(Box::new(io::stdin()), 0);
        }
        let file = File::open(path)?;
        let file_len = file.metadata().map(|m| m.len()).unwrap_or(0);
        Self::from_read(Box::new(file), file_len)
    }

    fn from_read(mut file: Box<dyn Read + Send>, file_len: u64) -> io::Result<Self> {
        let mut magic = [0u8; 2];
        let n = read_fully(&mut file, &mut magic)?;
        let gzip = n == 2 && magic == [0x1f, 0x8b];
        let disk_bytes = Arc::new(AtomicU64::new(n as u64));
        let head = io::Cursor::new(magic[..n].to_vec());
        let raw = Counting { inner: head.chain(file), count: Arc::clone(&disk_bytes) };
        let inner: Box<dyn BufRead + Send> = if gzip {
            disk_bytes.store(0, Ordering::Relaxed);
            let raw = Counting { inner: raw.inner, count: Arc::clone(&disk_bytes) };
            Box::new(BufReader::with_capacity(1 << 20, MultiGzDecoder::new(BufReader::with_capacity(1 << 20, raw))))
        } else {
            disk_bytes.store(0, Ordering::Relaxed);
            Box::new(BufReader::with_capacity(1 << 20, raw))
        };
        Ok(LineReader {
            inner,
            line_no: 0,
            max_line_bytes: 16 << 20,
            gzip,
            file_len,
            disk_bytes,
            layout: None,
            scanner: Scanner::default(),
        })
    }

    /// Bytes read from the file on disk so far (compressed bytes for gzip).
    pub fn disk_bytes(&self) -> u64 {
        self.disk_bytes.load(Ordering::Relaxed)
    }

    /// A handle on the disk byte counter, for progress reporting from another thread.
    pub fn disk_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.disk_bytes)
    }

    /// Reads the file's first bytes (up to [`LAYOUT_HEAD`]) to tell its layout, and puts them
    /// back in front of the rest. A read error there is put back too, to be met where it was.
    fn detect_layout(&mut self) -> Layout {
        let mut head = Vec::new();
        let mut failed = None;
        while head.len() < LAYOUT_HEAD {
            match self.inner.fill_buf() {
                Ok([]) => break,
                Ok(b) => {
                    let n = b.len().min(LAYOUT_HEAD - head.len());
                    head.extend_from_slice(&b[..n]);
                    self.inner.consume(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        let layout = documents::detect(&head);
        let rest = std::mem::replace(&mut self.inner, Box::new(io::empty()));
        self.inner = match failed {
            None => Box::new(io::Cursor::new(head).chain(rest)),
            Some(e) => Box::new(io::Cursor::new(head).chain(BufReader::new(FailOnce(Some(e))))),
        };
        *self.layout.insert(layout)
    }

    /// How the file lays out its records (known after the first read).
    pub fn layout(&self) -> Option<Layout> {
        self.layout
    }

    /// Reads the next line (or value, for a file of values spanning lines) into a fresh
    /// buffer, holding at most `max_line_bytes` of it.
    pub fn next_line(&mut self) -> NextLine {
        let layout = match self.layout {
            Some(l) => l,
            None => self.detect_layout(),
        };
        if layout == Layout::Documents {
            return self.scanner.next(&mut self.inner, self.max_line_bytes);
        }
        // Sized by its first extension: a line within the read buffer (nearly all) takes one
        // allocation of its exact length.
        let mut buf = Vec::new();
        self.line_no += 1;
        let mut len: u64 = 0;
        let mut ended = false;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return NextLine::Broken { line: self.line_no, error, partial: buf },
            };
            if available.is_empty() {
                break;
            }
            let (chunk, used) = match memchr::memchr(b'\n', available) {
                Some(i) => {
                    ended = true;
                    (&available[..i], i + 1)
                }
                None => (available, available.len()),
            };
            len += chunk.len() as u64;
            let room = (self.max_line_bytes + 1).saturating_sub(buf.len());
            buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
            self.inner.consume(used);
            if ended {
                break;
            }
        }
        if len == 0 && !ended {
            return NextLine::Eof;
        }
        if len > self.max_line_bytes as u64 {
            // (Its buffer gives back what the skipped line took: rejects wait in batches.)
            buf.truncate(200);
            buf.shrink_to_fit();
            return NextLine::TooLong { line: self.line_no, len, head: buf };
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        NextLine::Line(self.line_no, buf)
    }
}

/// Bytes read to tell a file's layout ([`documents::detect`]).
const LAYOUT_HEAD: usize = 64 << 10;

/// A reader that fails with a given error, then ends.
struct FailOnce(Option<io::Error>);

impl Read for FailOnce {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        self.0.take().map_or(Ok(0), Err)
    }
}

fn read_fully(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lines(r: &mut LineReader) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        while let NextLine::Line(n, l) = r.next_line() {
            out.push((n, String::from_utf8_lossy(&l).into_owned()));
        }
        out
    }

    #[test]
    fn plain_and_gzip_read_the_same() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let text = "a\r\nb\n\nc";
        std::fs::write(dir.path().join("x.jsonl"), text)?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text.as_bytes())?;
        std::fs::write(dir.path().join("x.jsonl.gz"), gz.finish()?)?;
        let want: Vec<(u64, String)> = vec![(1, "a".into()), (2, "b".into()), (3, "".into()), (4, "c".into())];
        let mut plain = LineReader::open(&dir.path().join("x.jsonl"))?;
        assert!(!plain.gzip);
        assert_eq!(lines(&mut plain), want);
        let mut z = LineReader::open(&dir.path().join("x.jsonl.gz"))?;
        assert!(z.gzip);
        assert_eq!(lines(&mut z), want);
        assert_eq!(z.disk_bytes(), z.file_len);
        Ok(())
    }

    #[test]
    fn long_lines_are_skipped_not_held() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let text = format!("short\n{}\nafter\n", "x".repeat(5000));
        std::fs::write(dir.path().join("l.jsonl"), text)?;
        let mut r = LineReader::open(&dir.path().join("l.jsonl"))?;
        r.max_line_bytes = 1000;
        assert!(matches!(r.next_line(), NextLine::Line(1, l) if l == b"short"));
        assert!(
            matches!(r.next_line(), NextLine::TooLong { line: 2, len: 5000, head } if head.len() == 200 && head.capacity() < 1000)
        );
        assert!(matches!(r.next_line(), NextLine::Line(3, l) if l == b"after"));
        assert!(matches!(r.next_line(), NextLine::Eof));
        Ok(())
    }

    #[test]
    fn truncated_gzip_reports_the_line() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for i in 0..2000 {
            writeln!(gz, "{{\"line\": {i}, \"pad\": \"{}\"}}", "x".repeat(i % 50))?;
        }
        let bytes = gz.finish()?;
        std::fs::write(dir.path().join("t.gz"), &bytes[..bytes.len() / 2])?;
        let mut r = LineReader::open(&dir.path().join("t.gz"))?;
        let mut good = 0;
        loop {
            match r.next_line() {
                NextLine::Line(..) => good += 1,
                NextLine::Broken { line, .. } => {
                    assert_eq!(line, good + 1);
                    break;
                }
                NextLine::Eof | NextLine::TooLong { .. } => panic!("a truncated gzip must not look like a clean end"),
            }
        }
        assert!(good > 100 && good < 2000);
        Ok(())
    }
}
