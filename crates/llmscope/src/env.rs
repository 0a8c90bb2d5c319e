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

/// All of them, with a one-line description (for `llmscope config --env`).
pub const ALL: &[(&str, &str)] = &[
    (DATA_DIR, "data directory of the embedded store"),
    (CONFIG, "path of the TOML config file"),
    (TZ, "time zone for report hours and days"),
    (LOG, "log filter (tracing syntax)"),
];
