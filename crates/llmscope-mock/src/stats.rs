//! Request counters behind `GET /mock/stats`, and the drop guard that tells a finished response from one
//! whose client went away first.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

/// Counts of the generation requests (`/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`).
#[derive(Debug, Default)]
pub(crate) struct Stats {
    requests: AtomicU64,
    completed: AtomicU64,
    cancelled: AtomicU64,
}

impl Stats {
    /// Counts a new request; returns its number (from 1) and the guard tracking its response.
    pub(crate) fn begin(self: &Arc<Self>) -> (u64, RequestGuard) {
        let n = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        (n, RequestGuard { stats: Arc::clone(self), state: AtomicU8::new(PENDING) })
    }

    /// `{"requests":n,"completed":n,"cancelled":n}`.
    pub(crate) fn to_json(&self) -> String {
        format!(
            "{{\"requests\":{},\"completed\":{},\"cancelled\":{}}}",
            self.requests.load(Ordering::Relaxed),
            self.completed.load(Ordering::Relaxed),
            self.cancelled.load(Ordering::Relaxed)
        )
    }
}

const PENDING: u8 = 0;
const DONE: u8 = 1;

/// Tracks one response: [`RequestGuard::complete`] counts it as completed; dropping it before that (the
/// handler future or the body stream was dropped because the client went away) counts it as cancelled.
#[derive(Debug)]
pub(crate) struct RequestGuard {
    stats: Arc<Stats>,
    state: AtomicU8,
}

impl RequestGuard {
    /// Marks the response finished (idempotent; a no-op after [`RequestGuard::transfer`]).
    pub(crate) fn complete(&self) {
        if self.state.swap(DONE, Ordering::Relaxed) == PENDING {
            self.stats.completed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Hands the tracking over to a new guard (e.g. one owned by a streaming body); this one then counts
    /// nothing.
    pub(crate) fn transfer(&self) -> RequestGuard {
        let state = if self.state.swap(DONE, Ordering::Relaxed) == PENDING { PENDING } else { DONE };
        RequestGuard { stats: Arc::clone(&self.stats), state: AtomicU8::new(state) }
    }
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        if *self.state.get_mut() == PENDING {
            self.stats.cancelled.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_counts_completed_cancelled_and_transferred() {
        let stats = Arc::new(Stats::default());
        let (n1, g1) = stats.begin();
        g1.complete();
        g1.complete();
        drop(g1);
        let (n2, g2) = stats.begin();
        drop(g2);
        let (_, g3) = stats.begin();
        let body = g3.transfer();
        g3.complete();
        drop(g3);
        assert_eq!(stats.to_json(), r#"{"requests":3,"completed":1,"cancelled":1}"#);
        drop(body);
        assert_eq!((n1, n2), (1, 2));
        assert_eq!(stats.to_json(), r#"{"requests":3,"completed":1,"cancelled":2}"#);
    }
}
