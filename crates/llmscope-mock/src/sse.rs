//! Paced response bodies. A response is rendered up front into one buffer cut into segments, each due at an
//! offset from the start; the body stream hands out zero-copy slices of the buffer as they fall due (every
//! segment already due goes out in one frame, so sub-millisecond token intervals batch naturally instead of
//! sleeping), then either ends or, for the `cut` fault, drops the connection. Also the server-sent-events
//! writer and the response headers for streams.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use bytes::Bytes;
use futures_util::Stream;
use tokio::time::{Instant, Sleep};

use crate::stats::RequestGuard;

/// How long a cut body waits after its last bytes before failing, so the server flushes them first.
const CUT_FLUSH: Duration = Duration::from_millis(20);

/// What a paced body does after its last segment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Ending {
    /// End the body normally.
    Finish,
    /// Fail the body, which makes the server drop the connection mid-response.
    Cut,
}

/// A response body being rendered: the buffer and the segments it is cut into.
#[derive(Debug)]
pub(crate) struct Events {
    buf: String,
    /// `(due, end)`: `buf[previous end..end]` goes out `due` after the start.
    segments: Vec<(Duration, usize)>,
}

impl Events {
    /// Room for about `bytes` bytes and `segments` segments (the hints are capped; the buffers grow).
    pub(crate) fn with_capacity(bytes: usize, segments: usize) -> Events {
        const MAX_HINT: usize = 1 << 20;
        Events { buf: String::with_capacity(bytes.min(MAX_HINT)), segments: Vec::with_capacity(segments.min(MAX_HINT)) }
    }

    /// Everything written since the last mark goes out `due` after the start.
    pub(crate) fn mark(&mut self, due: Duration) {
        self.segments.push((due, self.buf.len()));
    }

    /// The buffer, to write to.
    pub(crate) fn buf(&mut self) -> &mut String {
        &mut self.buf
    }

    /// `data: [DONE]\n\n`.
    pub(crate) fn done(&mut self) {
        self.buf.push_str("data: [DONE]\n\n");
    }

    /// The body; bytes written after the last mark go out with the last segment.
    pub(crate) fn into_body(mut self, ending: Ending, guard: RequestGuard) -> PacedBody {
        if self.segments.last().is_none_or(|&(_, end)| end < self.buf.len()) {
            let due = self.segments.last().map_or(Duration::ZERO, |&(due, _)| due);
            self.segments.push((due, self.buf.len()));
        }
        PacedBody::new(Bytes::from(self.buf), self.segments, ending, guard)
    }
}

/// A body stream that releases pre-rendered segments on schedule; see the module docs.
#[derive(Debug)]
pub(crate) struct PacedBody {
    buf: Bytes,
    segments: Vec<(Duration, usize)>,
    next: usize,
    sent: usize,
    start: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
    ending: Ending,
    cutting: bool,
    finished: bool,
    /// Dropped with the body: if the client goes away first, the response counts as cancelled.
    guard: RequestGuard,
}

impl PacedBody {
    /// A body sending `buf[..segments.last().end]` on the segments' schedule, then ending as `ending` says.
    fn new(buf: Bytes, segments: Vec<(Duration, usize)>, ending: Ending, guard: RequestGuard) -> PacedBody {
        PacedBody {
            buf,
            segments,
            next: 0,
            sent: 0,
            start: Instant::now(),
            sleep: None,
            ending,
            cutting: false,
            finished: false,
            guard,
        }
    }

    fn poll_sleep(&mut self, deadline: Instant, cx: &mut Context<'_>) -> Poll<()> {
        let sleep = match &mut self.sleep {
            Some(sleep) => {
                if sleep.deadline() != deadline {
                    sleep.as_mut().reset(deadline);
                }
                sleep
            }
            None => self.sleep.insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        sleep.as_mut().poll(cx)
    }
}

impl Stream for PacedBody {
    type Item = Result<Bytes, io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.finished {
                return Poll::Ready(None);
            }
            if let Some(&(first_due, _)) = this.segments.get(this.next) {
                let elapsed = Instant::now().saturating_duration_since(this.start);
                let due = this.segments[this.next..].iter().take_while(|&&(due, _)| due <= elapsed).count();
                if due == 0 {
                    ready!(this.poll_sleep(this.start + first_due, cx));
                    continue;
                }
                this.next += due;
                let end = this.segments[this.next - 1].1;
                if this.next == this.segments.len() && this.ending == Ending::Finish {
                    this.guard.complete();
                }
                if end > this.sent {
                    let chunk = this.buf.slice(this.sent..end);
                    this.sent = end;
                    return Poll::Ready(Some(Ok(chunk)));
                }
                continue;
            }
            match this.ending {
                Ending::Finish => {
                    this.guard.complete();
                    this.finished = true;
                    return Poll::Ready(None);
                }
                Ending::Cut => {
                    if !this.cutting {
                        this.cutting = true;
                        let deadline = Instant::now() + CUT_FLUSH;
                        ready!(this.poll_sleep(deadline, cx));
                    } else if let Some(sleep) = &mut this.sleep {
                        ready!(sleep.as_mut().poll(cx));
                    }
                    this.guard.complete();
                    this.finished = true;
                    let err = io::Error::new(io::ErrorKind::ConnectionAborted, "llmscope-mock: cut fault");
                    return Poll::Ready(Some(Err(err)));
                }
            }
        }
    }
}

/// A `200 text/event-stream` response streaming `body`.
pub(crate) fn sse_response(body: PacedBody) -> Response {
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// A `200 application/json` response that announces the whole `json` in `Content-Length`, sends about half
/// of it, then drops the connection (the non-stream `cut` fault).
pub(crate) fn cut_json_response(json: String, guard: RequestGuard) -> Response {
    let full = json.len();
    let mut half = full / 2;
    while !json.is_char_boundary(half) {
        half -= 1;
    }
    let body = PacedBody::new(Bytes::from(json), vec![(Duration::ZERO, half)], Ending::Cut, guard);
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(full));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Stats;
    use futures_util::StreamExt;
    use std::sync::Arc;

    #[tokio::test]
    async fn segments_go_out_on_schedule_and_batch_when_due() {
        let stats = Arc::new(Stats::default());
        let (_, guard) = stats.begin();
        let mut events = Events::with_capacity(64, 4);
        for (i, ms) in [(0, 10), (1, 10), (2, 200)] {
            events.buf().push_str(&format!("e{i};"));
            events.mark(Duration::from_millis(ms));
        }
        events.done();
        // Segments due together go out in one write; a later one waits for its own.
        let mut body = events.into_body(Ending::Finish, guard);
        let first = body.next().await.and_then(Result::ok);
        assert_eq!(first.as_deref(), Some(&b"e0;e1;"[..]));
        let second = body.next().await.and_then(Result::ok);
        assert_eq!(second.as_deref(), Some(&b"e2;data: [DONE]\n\n"[..]));
        assert!(body.next().await.is_none());
        assert_eq!(stats.to_json(), r#"{"requests":1,"completed":1,"cancelled":0}"#);
    }

    #[tokio::test]
    async fn cut_bodies_fail_after_their_segments_and_dropped_bodies_cancel() {
        let stats = Arc::new(Stats::default());
        let (_, guard) = stats.begin();
        let mut body = PacedBody::new(Bytes::from_static(b"partial"), vec![(Duration::ZERO, 4)], Ending::Cut, guard);
        assert_eq!(body.next().await.and_then(Result::ok).as_deref(), Some(&b"part"[..]));
        assert!(body.next().await.is_some_and(|r| r.is_err()));
        assert!(body.next().await.is_none());
        let (_, guard) = stats.begin();
        let mut events = Events::with_capacity(8, 1);
        events.buf().push_str("late");
        events.mark(Duration::from_secs(5));
        drop(events.into_body(Ending::Finish, guard));
        assert_eq!(stats.to_json(), r#"{"requests":2,"completed":1,"cancelled":1}"#);
    }
}
