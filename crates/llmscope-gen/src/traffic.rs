//! When calls happen, who makes them, in which session, against which model,
//! and how long they take.
//!
//! Call times: the window `[start, start + days)` is cut into hours; each hour
//! gets a share of the calls proportional to a daily curve in the app's local
//! time (quiet at night, peaks late morning and afternoon, lower at weekends)
//! with a little noise, and the calls inside an hour are uniform and sorted.
//! Sessions: each call either continues an open session whose next turn is
//! due, or starts a new session for a Zipf-chosen user.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub(crate) const SECOND_US: i64 = 1_000_000;
pub(crate) const HOUR_US: i64 = 3_600 * SECOND_US;
const DAY_US: i64 = 24 * HOUR_US;

/// Relative traffic per local hour of day.
pub(crate) const HOUR_WEIGHTS: [f64; 24] = [
    0.30, 0.20, 0.11, 0.07, 0.06, 0.08, 0.16, 0.32, 0.58, 0.85, 1.00, 0.97, 0.72, 0.78, 0.93, 1.00, 0.94, 0.80, 0.60,
    0.62, 0.68, 0.64, 0.52, 0.42,
];
const WEEKEND_FACTOR: f64 = 0.7;

/// A standard normal variate (Box-Muller).
pub(crate) fn normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>();
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A log-normal variate with the given median.
pub(crate) fn lognormal(rng: &mut impl Rng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

/// The sorted call times, in microseconds since the epoch.
#[derive(Debug)]
pub(crate) struct TimeStream {
    rng: ChaCha8Rng,
    start_us: i64,
    counts: Vec<u64>,
    hour: usize,
    buf: Vec<i64>,
    pos: usize,
}

impl TimeStream {
    pub(crate) fn new(mut rng: ChaCha8Rng, start_us: i64, days: u32, calls: u64, tz_hours: i32) -> Self {
        let hours = days as usize * 24;
        let mut day_noise = 1.0;
        let mut weights = Vec::with_capacity(hours);
        for h in 0..hours {
            let local = start_us + h as i64 * HOUR_US + i64::from(tz_hours) * HOUR_US;
            let hod = local.div_euclid(HOUR_US).rem_euclid(24) as usize;
            let day = local.div_euclid(DAY_US);
            if h == 0 || hod == 0 {
                day_noise = rng.gen_range(0.88..1.12);
            }
            // 1970-01-01 was a Thursday: day 0 has weekday index 3 (Mon = 0).
            let weekend = (day + 3).rem_euclid(7) >= 5;
            let mut w = HOUR_WEIGHTS[hod] * day_noise * rng.gen_range(0.92..1.08);
            if weekend {
                w *= WEEKEND_FACTOR;
            }
            weights.push(w);
        }
        let total: f64 = weights.iter().sum();
        let mut counts = Vec::with_capacity(hours);
        let (mut cum, mut given) = (0.0, 0u64);
        for w in &weights {
            cum += w / total * calls as f64;
            let upto = ((cum + 0.5).floor() as u64).min(calls);
            counts.push(upto - given);
            given = upto;
        }
        if let Some(last) = counts.last_mut() {
            *last += calls - given;
        }
        TimeStream { rng, start_us, counts, hour: 0, buf: Vec::new(), pos: 0 }
    }

    pub(crate) fn next_time(&mut self) -> Option<i64> {
        while self.pos == self.buf.len() {
            if self.hour == self.counts.len() {
                return None;
            }
            let base = self.start_us + self.hour as i64 * HOUR_US;
            let n = self.counts[self.hour];
            self.buf.clear();
            self.buf.extend((0..n).map(|_| base + self.rng.gen_range(0..HOUR_US)));
            self.buf.sort_unstable();
            self.pos = 0;
            self.hour += 1;
        }
        let t = self.buf[self.pos];
        self.pos += 1;
        Some(t)
    }
}

/// Samples ranks `0..n` with probability proportional to `1 / (rank + 1)^s`.
#[derive(Debug)]
pub(crate) struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    pub(crate) fn new(n: usize, s: f64) -> Self {
        let mut cdf = Vec::with_capacity(n);
        let mut acc = 0.0;
        for k in 0..n {
            acc += 1.0 / ((k + 1) as f64).powf(s);
            cdf.push(acc);
        }
        for c in &mut cdf {
            *c /= acc;
        }
        Zipf { cdf }
    }

    pub(crate) fn sample(&self, rng: &mut impl Rng) -> usize {
        let u: f64 = rng.gen();
        self.cdf.partition_point(|c| *c <= u).min(self.cdf.len().saturating_sub(1))
    }
}

/// A served model and how fast it answers.
#[derive(Debug)]
pub(crate) struct Model {
    pub name: &'static str,
    /// Version label of seed000's `model_version`.
    pub version: &'static str,
    /// What the API reports back as `model`.
    pub api_model: &'static str,
    pub share: f64,
    ttft_median_ms: f64,
    ttft_sigma: f64,
    tokens_per_s: f64,
    /// Whether the provider reports prompt caching.
    pub caches: bool,
}

/// OpenAI's price of gpt-4o-mini, USD per input and per output token: the one model the
/// gateways' and tracers' own cost fields price (LiteLLM, Langfuse).
pub(crate) const GPT_4O_MINI_USD: (f64, f64) = (0.15e-6, 0.6e-6);

pub(crate) const MODELS: [Model; 5] = [
    Model {
        name: "qwen2.5-7b-instruct",
        version: "2.5.0",
        api_model: "qwen2.5-7b-instruct",
        share: 0.34,
        ttft_median_ms: 180.0,
        ttft_sigma: 0.5,
        tokens_per_s: 55.0,
        caches: false,
    },
    Model {
        name: "deepseek-chat",
        version: "v3-0324",
        api_model: "deepseek-chat",
        share: 0.24,
        ttft_median_ms: 850.0,
        ttft_sigma: 0.7,
        tokens_per_s: 30.0,
        caches: true,
    },
    Model {
        name: "gpt-4o-mini",
        version: "2024-07-18",
        api_model: "gpt-4o-mini-2024-07-18",
        share: 0.20,
        ttft_median_ms: 420.0,
        ttft_sigma: 0.55,
        tokens_per_s: 75.0,
        caches: true,
    },
    Model {
        name: "llama3.1-8b-instruct",
        version: "3.1.0",
        api_model: "llama3.1-8b-instruct",
        share: 0.13,
        ttft_median_ms: 220.0,
        ttft_sigma: 0.5,
        tokens_per_s: 48.0,
        caches: false,
    },
    Model {
        name: "Nanbeige4.1-3B",
        version: "4.1.0",
        api_model: "Nanbeige4.1-3B",
        share: 0.09,
        ttft_median_ms: 120.0,
        ttft_sigma: 0.45,
        tokens_per_s: 85.0,
        caches: false,
    },
];

pub(crate) fn pick_model(rng: &mut impl Rng) -> usize {
    let mut u: f64 = rng.gen();
    for (i, m) in MODELS.iter().enumerate() {
        if u < m.share {
            return i;
        }
        u -= m.share;
    }
    0
}

impl Model {
    /// Time to first token and total latency, in milliseconds.
    pub(crate) fn latency(&self, rng: &mut impl Rng, prompt: u32, completion: u32) -> (f64, f64) {
        let mut ttft = lognormal(rng, self.ttft_median_ms, self.ttft_sigma) + f64::from(prompt) * 0.15;
        if rng.gen_bool(0.03) {
            // Queueing behind a burst: the long tail.
            ttft *= rng.gen_range(3.0..15.0);
        }
        ttft = ttft.min(20_000.0);
        let tps = lognormal(rng, self.tokens_per_s, 0.25);
        let decode = f64::from(completion) / tps * 1000.0;
        // Clients give up at 30 to 120 s; a success never takes longer.
        (ttft, (ttft + decode).min(28_000.0))
    }
}

/// Per-user traits, fixed for the whole run. Activity is Zipf-skewed
/// (exponent 0.8: the busiest of 200 users makes about a tenth of the calls).
#[derive(Debug)]
pub(crate) struct Users {
    pub ids: Vec<String>,
    pub zh_share: Vec<f64>,
    pub model: Vec<usize>,
    /// Whether the seed000 app logs this user's id in metadata.
    pub logged: Vec<bool>,
    by_rank: Vec<u32>,
    zipf: Zipf,
}

impl Users {
    pub(crate) fn new(rng: &mut ChaCha8Rng, n: u32) -> Self {
        let n = n.max(1) as usize;
        let width = n.to_string().len().max(4);
        let ids = (1..=n).map(|i| format!("u_{i:0width$}")).collect();
        let zh_share = (0..n).map(|_| if rng.gen_bool(0.68) { 0.9 } else { 0.12 }).collect();
        let model = (0..n).map(|_| pick_model(rng)).collect();
        let logged = (0..n).map(|_| rng.gen_bool(0.5)).collect();
        // A deterministic shuffle so the heaviest user is not always u_0001.
        let mut by_rank: Vec<u32> = (0..n as u32).collect();
        for i in (1..n).rev() {
            by_rank.swap(i, rng.gen_range(0..=i));
        }
        Users { ids, zh_share, model, logged, by_rank, zipf: Zipf::new(n, 0.8) }
    }

    pub(crate) fn sample(&self, rng: &mut impl Rng) -> usize {
        self.by_rank[self.zipf.sample(rng)] as usize
    }
}

/// What a session remembers about its last turn.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TopicRef {
    pub zh: bool,
    pub cat: crate::corpus::Category,
    pub idx: usize,
}

/// One conversation of one user with one model.
#[derive(Debug)]
pub(crate) struct Session {
    pub id: String,
    pub user: usize,
    pub zh: bool,
    pub model: usize,
    pub system: Option<&'static str>,
    pub temperature: f64,
    pub stream: bool,
    pub turns_left: u32,
    pub turn: u32,
    pub last_us: i64,
    /// Last answered turns (input, output, their tokens with the chat
    /// template's overhead), oldest first, at most two.
    pub history: Vec<(String, String, u32)>,
    pub topic: Option<TopicRef>,
    /// The input (and its category) of a failed call, that the user will
    /// likely send again.
    pub retry: Option<(String, crate::corpus::Category)>,
}

impl Session {
    /// Hands the session's strings back for reuse.
    pub(crate) fn release(&mut self, spare: &mut Vec<String>) {
        for (q, a, _) in self.history.drain(..) {
            crate::call::recycle(spare, q);
            crate::call::recycle(spare, a);
        }
        if let Some((q, _)) = self.retry.take() {
            crate::call::recycle(spare, q);
        }
    }
}

/// How many turns a new session will have (1..=12, mean about 2.6).
pub(crate) fn session_turns(rng: &mut impl Rng) -> u32 {
    let mut k = 1;
    while k < 12 && rng.gen_bool(0.62) {
        k += 1;
    }
    k
}

/// The user's pause before the next turn: seconds to minutes.
pub(crate) fn think_time_us(rng: &mut impl Rng) -> i64 {
    let s = lognormal(rng, 40.0, 0.9).clamp(3.0, 900.0);
    (s * SECOND_US as f64) as i64
}

/// A session left idle this long is abandoned.
const MAX_IDLE_US: i64 = 30 * 60 * SECOND_US;

#[derive(Debug)]
struct Pending {
    due: i64,
    seq: u64,
    session: Box<Session>,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    // Reversed: the max-heap pops the earliest due turn first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.due, other.seq).cmp(&(self.due, self.seq))
    }
}

/// Open sessions, keyed by when their next turn is due.
#[derive(Debug, Default)]
pub(crate) struct SessionPool {
    heap: BinaryHeap<Pending>,
    seq: u64,
}

impl SessionPool {
    /// The open session whose next turn is due at `t`, if any; sessions idle
    /// for too long are dropped on the way.
    pub(crate) fn take_due(&mut self, t: i64, spare: &mut Vec<String>) -> Option<Box<Session>> {
        while self.heap.peek().is_some_and(|p| p.due <= t) {
            let mut p = self.heap.pop()?;
            if t - p.session.last_us <= MAX_IDLE_US {
                return Some(p.session);
            }
            p.session.release(spare);
        }
        None
    }

    pub(crate) fn park(&mut self, session: Box<Session>, due: i64) {
        self.seq += 1;
        self.heap.push(Pending { due, seq: self.seq, session });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn time_stream_is_sorted_complete_and_in_window() {
        let rng = ChaCha8Rng::seed_from_u64(5);
        let start = 1_736_121_600 * SECOND_US; // 2025-01-06T00:00:00Z
        let mut ts = TimeStream::new(rng, start, 3, 5_000, 8);
        let mut prev = i64::MIN;
        let mut n = 0;
        while let Some(t) = ts.next_time() {
            assert!(t >= prev && t >= start && t < start + 3 * DAY_US);
            prev = t;
            n += 1;
        }
        assert_eq!(n, 5_000);
    }

    #[test]
    fn zipf_prefers_low_ranks() {
        let z = Zipf::new(100, 1.1);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut hits = [0u32; 100];
        for _ in 0..20_000 {
            hits[z.sample(&mut rng)] += 1;
        }
        assert!(hits[0] > hits[9] * 5, "{hits:?}");
        assert!(hits[99] > 0);
    }

    #[test]
    fn model_shares_sum_to_one() {
        let s: f64 = MODELS.iter().map(|m| m.share).sum();
        assert!((s - 1.0).abs() < 1e-9);
    }
}
