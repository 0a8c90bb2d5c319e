//! The typed configuration: defaults < TOML file < environment < command-line flags.
//! Unknown keys are rejected with their path; every problem is reported at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use llmscope_core::price::{ModelPrice, PriceTable};
use serde::Deserialize;

use crate::env;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub storage: StorageConfig,
    pub import: ImportConfig,
    pub report: ReportConfig,
    pub server: ServerSection,
    /// OpenAI-compatible upstreams the proxy forwards to, routed by model name.
    pub upstreams: Vec<UpstreamConfig>,
    /// Price overrides and additions, USD per million tokens, by model name.
    pub prices: BTreeMap<String, ModelPrice>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    pub data_dir: PathBuf,
    /// Memory the embedded database may use while `serve` runs (DuckDB `memory_limit`).
    /// Commands that run and exit (import, report) use DuckDB's default, 80 % of RAM.
    pub server_memory_limit: String,
    /// Memory the embedded database may use while the server answers a query (a call
    /// listing, a report): the limit is raised to this for the query and set back after.
    pub server_query_memory_limit: String,
    /// Write-ahead log size at which the database checkpoints while `serve` runs.
    pub server_checkpoint_threshold: String,
    /// Threads the database may use while `serve` runs (0: one per core).
    pub server_threads: usize,
    /// Rows per row group the server writes (a multiple of 2048; 0: DuckDB's 122,880).
    pub server_row_group_size: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("llmscope-data"),
            // Enough for a checkpoint of the call table in a store with 64 KiB blocks (what
            // llmscope creates); a store created with DuckDB's 256 KiB blocks needs about 40 MB
            // and is given at least 64 MB (`DuckStore::set_memory_limit`).
            server_memory_limit: "32MB".into(),
            // A page of 10,000 calls slowest first over 10 million stored needs ~48 MB.
            server_query_memory_limit: "256MB".into(),
            server_checkpoint_threshold: "16MB".into(),
            server_threads: 0,
            // Each checkpoint rewrites the row group being appended to; with DuckDB's 122,880
            // rows the memory that takes outside the buffer pool grows to ~50 MB.
            server_row_group_size: 16_384,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImportConfig {
    /// Zone of naive timestamps in imported logs.
    pub assume_tz: String,
    /// Lines per batch handed from the reader thread to the store.
    pub batch_size: usize,
    /// Project imported calls belong to.
    pub project: String,
}

impl Default for ImportConfig {
    fn default() -> Self {
        ImportConfig {
            assume_tz: "UTC".into(),
            batch_size: llmscope_capture::import::DEFAULT_BATCH,
            project: "default".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportConfig {
    pub tz: String,
    pub top_n: usize,
    pub examples: usize,
    pub slow_threshold_ms: f64,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig { tz: "UTC".into(), top_n: 10, examples: 5, slow_threshold_ms: 2000.0 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// Address `serve` listens on.
    pub listen: String,
    /// Project that proxied and posted calls are stored under.
    pub project: String,
    /// Largest request body accepted, in MiB.
    pub max_body_mb: usize,
    /// Seconds shutdown waits for open requests (streams) before closing them.
    pub shutdown_grace_s: u64,
    /// Proxied requests handled at once, at most (0: no limit); more get a 503.
    pub max_in_flight: usize,
    pub connect_timeout_ms: u64,
    pub first_byte_timeout_ms: u64,
    pub total_timeout_ms: u64,
    /// Calls waiting for the store, at most; beyond that they are spilled to disk.
    pub queue_capacity: usize,
    /// Calls per committed batch.
    pub batch_size: usize,
    /// How long a partial batch waits before it is written, in ms.
    pub flush_interval_ms: u64,
    /// Seconds without a spilled call after which the spilled calls are stored while the
    /// server runs (0: only at the next start).
    pub spill_replay_after_s: u64,
    /// How many nice steps (0–19) below the request handlers the threads writing to the store
    /// run; 0 keeps them at the handlers' priority.
    pub recorder_nice: u8,
    /// Run those threads under Linux's `SCHED_IDLE` policy too: only on time the request
    /// handlers leave, giving the core up at once when one wakes.
    pub recorder_idle: bool,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            listen: "127.0.0.1:4000".into(),
            project: "default".into(),
            max_body_mb: 32,
            shutdown_grace_s: 30,
            max_in_flight: 0,
            connect_timeout_ms: 5_000,
            first_byte_timeout_ms: 120_000,
            total_timeout_ms: 600_000,
            queue_capacity: 10_000,
            batch_size: 1_000,
            flush_interval_ms: 200,
            spill_replay_after_s: 10,
            recorder_nice: llmscope_server::config::DEFAULT_RECORDER_NICE,
            recorder_idle: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    pub name: String,
    /// Base URL including the API prefix, e.g. `http://127.0.0.1:8000/v1`.
    pub url: String,
    /// Models routed here (exact names, or prefixes ending in `*`); empty = catch-all.
    #[serde(default)]
    pub models: Vec<String>,
    /// Name of the environment variable holding this upstream's API key. The key replaces
    /// the caller's `Authorization`; it is never written to logs.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Provider stored on each call (`openai`, `vllm`, `ollama`, …); default: the name.
    #[serde(default)]
    pub provider: Option<String>,
    /// Ask for a usage chunk on streams the caller did not ask it for (removed again before
    /// the caller sees the stream).
    #[serde(default = "yes")]
    pub stream_usage: bool,
}

fn yes() -> bool {
    true
}

impl UpstreamConfig {
    /// An upstream for every model no other upstream claims.
    pub fn catch_all(name: &str, url: &str) -> Self {
        UpstreamConfig {
            name: name.into(),
            url: url.into(),
            models: Vec::new(),
            api_key_env: None,
            provider: None,
            stream_usage: true,
        }
    }

    /// The URL as it may be shown ([`llmscope_server::upstream::shown_url`]).
    pub fn shown_url(&self) -> String {
        llmscope_server::upstream::shown_url(&self.url)
    }
}

impl Config {
    /// Loads the config: the file named by `--config`, else `$LLMSCOPE_CONFIG`, else
    /// `./llmscope.toml` when it exists; then the environment.
    pub fn load(explicit: Option<&Path>) -> anyhow::Result<Config> {
        let path = explicit
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os(env::CONFIG).map(PathBuf::from))
            .or_else(|| Some(PathBuf::from("llmscope.toml")).filter(|p| p.exists()));
        let mut cfg = match &path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read the config file {}", p.display()))?;
                Self::parse(&text).with_context(|| format!("invalid config file {}", p.display()))?
            }
            None => Config::default(),
        };
        if let Some(v) = std::env::var_os(env::DATA_DIR) {
            cfg.storage.data_dir = PathBuf::from(v);
        }
        if let Ok(v) = std::env::var(env::TZ) {
            cfg.report.tz = v;
        }
        if let Ok(v) = std::env::var(env::LISTEN) {
            cfg.server.listen = v;
        }
        if let Ok(url) = std::env::var(env::UPSTREAM_URL) {
            let mut up = UpstreamConfig::catch_all("default", &url);
            up.api_key_env = std::env::var(env::UPSTREAM_API_KEY_ENV).ok().filter(|s| !s.is_empty());
            up.provider = std::env::var(env::UPSTREAM_PROVIDER).ok().filter(|s| !s.is_empty());
            cfg.set_catch_all(up);
        } else {
            // They describe the upstream LLMSCOPE_UPSTREAM_URL names: alone they would be
            // ignored, and callers' keys forwarded where the operator meant a key to go.
            for var in [env::UPSTREAM_API_KEY_ENV, env::UPSTREAM_PROVIDER] {
                if std::env::var_os(var).is_some_and(|v| !v.is_empty()) {
                    anyhow::bail!(
                        "{var} is set but {} is not: it describes that upstream, so set the URL too, or unset \
                         it (an upstream in the config file takes its key from its own api_key_env)",
                        env::UPSTREAM_URL
                    );
                }
            }
        }
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn parse(text: &str) -> anyhow::Result<Config> {
        Ok(toml::from_str(text)?)
    }

    /// Checks everything and reports every problem at once.
    pub fn validate(&self) -> anyhow::Result<()> {
        let mut problems = Vec::new();
        for (key, tz) in [("import.assume_tz", &self.import.assume_tz), ("report.tz", &self.report.tz)] {
            if let Err(e) = llmscope_core::timeparse::parse_tz(tz) {
                problems.push(format!("{key}: {e}"));
            }
        }
        if self.import.batch_size == 0 {
            problems.push("import.batch_size: must be at least 1".into());
        }
        if !(self.report.slow_threshold_ms.is_finite() && self.report.slow_threshold_ms > 0.0) {
            problems.push("report.slow_threshold_ms: must be a positive number".into());
        }
        for (key, size) in [
            ("storage.server_memory_limit", &self.storage.server_memory_limit),
            ("storage.server_query_memory_limit", &self.storage.server_query_memory_limit),
            ("storage.server_checkpoint_threshold", &self.storage.server_checkpoint_threshold),
        ] {
            if !size.trim().is_empty() && llmscope_store::parse_size(size).is_none() {
                problems.push(format!("{key}: {size:?} is not a size such as 64MB or 1GB (empty: DuckDB's default)"));
            }
        }
        let rows = self.storage.server_row_group_size;
        if rows != 0 && llmscope_store::check_row_group_size(rows).is_err() {
            problems
                .push(format!("storage.server_row_group_size: {rows} is not a multiple of 2048 (0: DuckDB's 122880)"));
        }
        if self.server.listen.parse::<std::net::SocketAddr>().is_err() {
            problems.push(format!("server.listen: {:?} is not an address like 127.0.0.1:4000", self.server.listen));
        }
        for (key, v) in [
            ("server.max_body_mb", self.server.max_body_mb as u64),
            ("server.connect_timeout_ms", self.server.connect_timeout_ms),
            ("server.first_byte_timeout_ms", self.server.first_byte_timeout_ms),
            ("server.total_timeout_ms", self.server.total_timeout_ms),
            ("server.queue_capacity", self.server.queue_capacity as u64),
            ("server.batch_size", self.server.batch_size as u64),
            ("server.flush_interval_ms", self.server.flush_interval_ms),
        ] {
            if v == 0 {
                problems.push(format!("{key}: must be at least 1"));
            }
        }
        // Upper bounds: each of these sizes a buffer, a channel or a semaphore up front.
        for (key, v, most) in [
            ("import.batch_size", self.import.batch_size as u64, 1_000_000),
            ("server.max_body_mb", self.server.max_body_mb as u64, 1_024),
            ("server.queue_capacity", self.server.queue_capacity as u64, 10_000_000),
            ("server.batch_size", self.server.batch_size as u64, 100_000),
            ("server.max_in_flight", self.server.max_in_flight as u64, 1_000_000),
            ("server.spill_replay_after_s", self.server.spill_replay_after_s, 86_400),
        ] {
            if v > most {
                problems.push(format!("{key}: {v} is above {most}, the most accepted"));
            }
        }
        if self.server.recorder_nice > 19 {
            problems
                .push(format!("server.recorder_nice: {} is above 19, the lowest priority", self.server.recorder_nice));
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, u) in self.upstreams.iter().enumerate() {
            let at = format!("upstreams[{i}] ({})", u.name);
            if !names.insert(u.name.as_str()) {
                problems.push(format!("{at}: the name is used twice"));
            }
            if let Err(e) = llmscope_server::upstream::check_url(&u.url) {
                problems.push(format!("{at}.url: {e}"));
            }
            if let Some(var) = &u.api_key_env {
                if std::env::var_os(var).is_none_or(|v| v.is_empty()) {
                    problems.push(format!("{at}.api_key_env: the environment variable {var} is not set"));
                }
            }
        }
        if self.upstreams.iter().filter(|u| u.models.is_empty()).count() > 1 {
            problems.push("upstreams: more than one catch-all upstream (no `models`); the first would win".into());
        }
        for (model, p) in &self.prices {
            for (field, v) in [
                ("input_per_mtok", Some(p.input_per_mtok)),
                ("output_per_mtok", Some(p.output_per_mtok)),
                ("cached_input_per_mtok", p.cached_input_per_mtok),
                ("cache_write_input_per_mtok", p.cache_write_input_per_mtok),
            ] {
                if v.is_some_and(|v| !(v.is_finite() && v >= 0.0)) {
                    problems.push(format!("prices.\"{model}\".{field}: must be a non-negative number"));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            bail!("{} problem(s) in the configuration:\n  {}", problems.len(), problems.join("\n  "))
        }
    }

    /// Makes `up` the catch-all upstream; configured upstreams that name models stay.
    pub fn set_catch_all(&mut self, up: UpstreamConfig) {
        self.upstreams.retain(|u| !u.models.is_empty());
        self.upstreams.push(up);
    }

    /// The server's runtime settings (API keys read from their environment variables).
    pub fn server_config(&self) -> anyhow::Result<llmscope_server::ServerConfig> {
        use std::time::Duration;
        let s = &self.server;
        let mut upstreams = Vec::new();
        for u in &self.upstreams {
            let mut up = llmscope_server::Upstream::new(&u.name, &u.url);
            up.models.clone_from(&u.models);
            up.provider.clone_from(&u.provider);
            up.stream_usage = u.stream_usage;
            if let Some(var) = &u.api_key_env {
                let key = std::env::var(var)
                    .with_context(|| format!("upstream {}: the environment variable {var} is not set", u.name))?;
                up.api_key = Some(key);
            }
            upstreams.push(up);
        }
        Ok(llmscope_server::ServerConfig {
            listen: s.listen.parse().with_context(|| format!("server.listen {:?}", s.listen))?,
            project: s.project.clone(),
            upstreams,
            timeouts: llmscope_server::Timeouts {
                connect: Duration::from_millis(s.connect_timeout_ms),
                first_byte: Duration::from_millis(s.first_byte_timeout_ms),
                total: Duration::from_millis(s.total_timeout_ms),
            },
            max_body_bytes: s.max_body_mb << 20,
            recorder: llmscope_server::RecorderConfig {
                queue_capacity: s.queue_capacity,
                batch_size: s.batch_size,
                flush_interval: Duration::from_millis(s.flush_interval_ms),
                nice: s.recorder_nice,
                idle: s.recorder_idle,
                spill_dir: self.storage.data_dir.join("spill"),
                replay_after: (s.spill_replay_after_s > 0).then(|| Duration::from_secs(s.spill_replay_after_s)),
            },
            shutdown_grace: Duration::from_secs(s.shutdown_grace_s),
            max_in_flight: s.max_in_flight,
        })
    }

    pub fn price_table(&self) -> PriceTable {
        PriceTable::builtin().with_overrides(&self.prices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses_and_validates() -> anyhow::Result<()> {
        let text = include_str!("../../../llmscope.example.toml");
        let cfg = Config::parse(text)?;
        cfg.validate()?;
        assert!(cfg.price_table().lookup("qwen2.5-7b-instruct").is_some());
        Ok(())
    }

    #[test]
    fn unknown_keys_and_bad_values_are_reported() {
        let e = Config::parse("[storage]\ndata_dirr = 'x'\n").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("unknown field `data_dirr`"), "{e}");
        let cfg = Config::parse("[report]\ntz = 'Mars/Base'\nslow_threshold_ms = -1\n[import]\nbatch_size = 0\n");
        let e = cfg.and_then(|c| c.validate()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.starts_with("3 problem(s)"), "{e}");
        assert!(e.contains("report.tz") && e.contains("import.batch_size") && e.contains("slow_threshold_ms"), "{e}");
        let cfg = Config::parse("[storage]\nserver_memory_limit = 'lots'\nserver_checkpoint_threshold = '16MB'\n");
        let e = cfg.and_then(|c| c.validate()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.starts_with("1 problem(s)") && e.contains("storage.server_memory_limit: \"lots\""), "{e}");
        let cfg = Config::parse("[storage]\nserver_row_group_size = 10000\n");
        let e = cfg.and_then(|c| c.validate()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("storage.server_row_group_size: 10000 is not a multiple of 2048"), "{e}");
    }

    #[test]
    fn the_example_config_states_the_defaults() -> anyhow::Result<()> {
        let example = Config::parse(include_str!("../../../llmscope.example.toml"))?;
        let default = Config::default();
        assert_eq!(example.storage.server_memory_limit, default.storage.server_memory_limit);
        assert_eq!(example.storage.server_checkpoint_threshold, default.storage.server_checkpoint_threshold);
        assert_eq!(example.storage.server_row_group_size, default.storage.server_row_group_size);
        assert_eq!(example.server.max_in_flight, default.server.max_in_flight);
        Ok(())
    }
}
