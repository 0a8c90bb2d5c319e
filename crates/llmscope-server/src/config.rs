//! The server's runtime settings. The binary fills them from its TOML/env/flag config; the
//! server crate itself reads no files and no environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything `llmscope serve` needs besides the store.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Project that proxied and posted calls are stored under.
    pub project: String,
    pub upstreams: Vec<Upstream>,
    pub timeouts: Timeouts,
    /// Largest request body accepted, in bytes (larger bodies get a 413).
    pub max_body_bytes: usize,
    pub recorder: RecorderConfig,
    /// How long shutdown waits for open requests (streams) before closing them.
    pub shutdown_grace: Duration,
    /// Proxied requests (streams included, until their last byte) handled at once, at most;
    /// more get a 503 with `Retry-After`. 0: no limit.
    pub max_in_flight: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 4000)),
            project: "default".into(),
            upstreams: Vec::new(),
            timeouts: Timeouts::default(),
            max_body_bytes: 32 << 20,
            recorder: RecorderConfig::default(),
            shutdown_grace: Duration::from_secs(30),
            max_in_flight: 0,
        }
    }
}

/// One OpenAI-compatible upstream.
#[derive(Clone)]
pub struct Upstream {
    /// Name used in logs and stored as the call's provider when `provider` is not set.
    pub name: String,
    /// Base URL including the API prefix, e.g. `http://127.0.0.1:8000/v1`.
    pub url: String,
    /// Models routed here: exact names, or prefixes ending in `*`. Empty: every model no
    /// other upstream claims (the default upstream).
    pub models: Vec<String>,
    /// The key sent as `Authorization: Bearer …`. When set, the caller's own
    /// `Authorization` is never forwarded. Never logged (see the `Debug` impl).
    pub api_key: Option<String>,
    /// Provider name to store (`openai`, `vllm`, `ollama`, …).
    pub provider: Option<String>,
    /// Ask streaming upstreams for a usage chunk (`stream_options.include_usage`) when the
    /// caller did not; the chunk and the `"usage":null` fields it implies are removed from
    /// what the caller receives.
    pub stream_usage: bool,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("models", &self.models)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("provider", &self.provider)
            .field("stream_usage", &self.stream_usage)
            .finish()
    }
}

impl Upstream {
    /// A catch-all upstream at `url`.
    pub fn new(name: &str, url: &str) -> Self {
        Upstream {
            name: name.into(),
            url: url.trim_end_matches('/').into(),
            models: Vec::new(),
            api_key: None,
            provider: None,
            stream_usage: true,
        }
    }

    /// True when this upstream claims `model` by name or prefix.
    pub fn claims(&self, model: &str) -> bool {
        self.models.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => model.starts_with(prefix),
            None => p == model,
        })
    }
}

/// Upstream timeouts. A timeout ends the call with an OpenAI-shaped 504 (or an error event
/// when a stream had already started) and records it with its kind.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// TCP (and TLS) connection set-up.
    pub connect: Duration,
    /// From sending the request to the response headers.
    pub first_byte: Duration,
    /// From sending the request to the last byte of the response.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            first_byte: Duration::from_secs(120),
            total: Duration::from_secs(600),
        }
    }
}

/// Default nice steps of the threads that write to the store below the request handlers.
pub const DEFAULT_RECORDER_NICE: u8 = 10;

/// The write batcher between request handlers and the store.
#[derive(Debug, Clone)]
pub struct RecorderConfig {
    /// Calls waiting for the store, at most. When the queue is full (the store is slower
    /// than the traffic), further calls are spilled to `spill_dir`.
    pub queue_capacity: usize,
    /// Calls per committed batch, at most.
    pub batch_size: usize,
    /// How long a partial batch waits for more calls before it is written.
    pub flush_interval: Duration,
    /// Where calls that could not be queued or written go, one JSON call per line, replayed
    /// into the store once spilling has stopped for `replay_after`, or when the server next
    /// starts (`llmscope import` reads them too).
    pub spill_dir: PathBuf,
    /// How long no call must have been spilled before the spilled calls are replayed into
    /// the store while the server runs (`None`: only at the next start).
    pub replay_after: Option<Duration>,
    /// Nice steps the recorder and spill threads run below the request handlers (0: the same
    /// priority). See [`crate::priority`].
    pub nice: u8,
    /// Run them under Linux's `SCHED_IDLE` policy as well ([`crate::priority::Lowering`]).
    pub idle: bool,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        RecorderConfig {
            queue_capacity: 10_000,
            batch_size: 1_000,
            flush_interval: Duration::from_millis(200),
            spill_dir: PathBuf::from("llmscope-data/spill"),
            replay_after: Some(Duration::from_secs(10)),
            nice: DEFAULT_RECORDER_NICE,
            idle: true,
        }
    }
}
