//! Every environment variable llmscope reads, in one place. Each overrides the config file
//! and is overridden by the matching command-line flag.

/// Data directory of the embedded store (default `./llmscope-data`).
pub const DATA_DIR: &str = "LLMSCOPE_DATA_DIR";
/// Path of the TOML config file (default: `llmscope.toml` in the working directory, if any).
pub const CONFIG: &str = "LLMSCOPE_CONFIG";
/// Time zone for report hours and days (IANA name; default `UTC`).
pub const TZ: &str = "LLMSCOPE_TZ";
/// Log filter in `tracing` syntax (default `warn`).
pub const LOG: &str = "LLMSCOPE_LOG";
/// `0` leaves glibc's allocator at its defaults (see `malloc.rs`).
pub const MALLOC_TUNING: &str = "LLMSCOPE_MALLOC_TUNING";

/// Address `serve` listens on (default `127.0.0.1:4000`).
pub const LISTEN: &str = "LLMSCOPE_LISTEN";
/// Base URL of the catch-all upstream, e.g. `http://127.0.0.1:8000/v1`.
pub const UPSTREAM_URL: &str = "LLMSCOPE_UPSTREAM_URL";
/// Name of the environment variable that holds that upstream's API key (e.g. `OPENAI_API_KEY`).
pub const UPSTREAM_API_KEY_ENV: &str = "LLMSCOPE_UPSTREAM_API_KEY_ENV";
/// Provider name stored for that upstream's calls (`openai`, `vllm`, `ollama`, …).
pub const UPSTREAM_PROVIDER: &str = "LLMSCOPE_UPSTREAM_PROVIDER";

/// All of them, with a one-line description (for `llmscope config --env`).
pub const ALL: &[(&str, &str)] = &[
    (DATA_DIR, "data directory of the embedded store"),
    (CONFIG, "path of the TOML config file"),
    (TZ, "time zone for report hours and days"),
    (LOG, "log filter (tracing syntax)"),
    (MALLOC_TUNING, "0 leaves glibc's allocator at its defaults (tuned to give memory back)"),
    (LISTEN, "address serve listens on"),
    (UPSTREAM_URL, "base URL of the catch-all upstream"),
    (UPSTREAM_API_KEY_ENV, "name of the env variable holding that upstream's API key"),
    (UPSTREAM_PROVIDER, "provider name stored for that upstream's calls"),
];
