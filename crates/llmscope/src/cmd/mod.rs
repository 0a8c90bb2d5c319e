//! One module per subcommand; each is a plain function over the library crates.

mod calls;
mod demo;
mod gen;
mod import;
mod mock;
mod remote;
mod report;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use llmscope_core::store::Store;

use crate::cli::{Cli, Command};
use crate::config::Config;

/// Exit code when an import finished but rejected some lines.
pub const EXIT_REJECTED: u8 = 3;

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut cfg = Config::load(cli.config.as_deref())?;
    if let Some(d) = &cli.data_dir {
        cfg.storage.data_dir = d.clone();
    }
    match cli.command {
        Command::Import(a) => import::run(&cfg, a),
        Command::Report(a) => report::run(&cfg, a),
        Command::Calls(a) => calls::run(&cfg, a),
        Command::Gen(a) => gen::run(a),
        Command::Serve(a) => serve::run(cfg, a),
        Command::MockLlm(a) => mock::run(a),
        Command::Demo(a) => demo::run(cfg, a),
        Command::Config(a) => {
            if a.env {
                for (name, what) in crate::env::ALL {
                    println!("{name:<20} {what}");
                }
            } else {
                println!("data_dir = {}", cfg.storage.data_dir.display());
                println!("import.assume_tz = {}", cfg.import.assume_tz);
                println!("report.tz = {}", cfg.report.tz);
                println!("prices: {} built-in or configured models", cfg.price_table().iter().count());
                println!("server.listen = {}", cfg.server.listen);
                let or_default =
                    |s: &str| if s.trim().is_empty() { "DuckDB's default".to_string() } else { s.to_string() };
                println!("storage.server_memory_limit = {}", or_default(&cfg.storage.server_memory_limit));
                println!("storage.server_query_memory_limit = {}", or_default(&cfg.storage.server_query_memory_limit));
                println!(
                    "storage.server_checkpoint_threshold = {}",
                    or_default(&cfg.storage.server_checkpoint_threshold)
                );
                let rg = cfg.storage.server_row_group_size;
                println!(
                    "storage.server_row_group_size = {}",
                    if rg == 0 { "DuckDB's default (122880)".to_string() } else { rg.to_string() }
                );
                let cap = cfg.server.max_in_flight;
                println!("server.max_in_flight = {}", if cap == 0 { "no limit".to_string() } else { cap.to_string() });
                let s = &cfg.server;
                println!(
                    "server.queue_capacity = {}, server.batch_size = {}, server.flush_interval_ms = {}",
                    s.queue_capacity, s.batch_size, s.flush_interval_ms
                );
                println!(
                    "server.spill_replay_after_s = {}",
                    if s.spill_replay_after_s == 0 {
                        "0 (spilled calls are stored at the next start)".to_string()
                    } else {
                        s.spill_replay_after_s.to_string()
                    }
                );
                let nice = cfg.server.recorder_nice;
                println!(
                    "server.recorder_nice = {nice}{}",
                    if nice == 0 { " (the request handlers' priority)" } else { " (below the request handlers)" }
                );
                println!("server.recorder_idle = {}", cfg.server.recorder_idle);
                for u in &cfg.upstreams {
                    let models =
                        if u.models.is_empty() { "every other model".to_string() } else { u.models.join(", ") };
                    let key = match &u.api_key_env {
                        Some(var) => format!("key from ${var}"),
                        None => "caller's Authorization passed on".into(),
                    };
                    println!("upstream {} → {} ({models}; {key})", u.name, u.shown_url());
                }
                println!("configuration OK");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Opens the embedded store in the configured data directory.
pub fn open_store(cfg: &Config) -> anyhow::Result<Box<dyn Store>> {
    open_store_with(cfg, &llmscope_store::StoreOptions::default())
}

/// Opens the store for a command that only reads it (`report`, `calls`): a data directory
/// without a store is an error (a mistyped `--data-dir` would otherwise get a new, empty
/// store and an empty answer).
pub fn open_existing_store(cfg: &Config) -> anyhow::Result<Box<dyn Store>> {
    let location = cfg.storage.data_dir.to_string_lossy();
    // (Another backend's location is left to `open_store` to answer.)
    if let Some(dir) = llmscope_store::embedded_dir(&location).filter(|d| !d.join(llmscope_store::DUCKDB_FILE).exists())
    {
        anyhow::bail!(
            "no llmscope store in {}: import logs or run `llmscope serve` there first, or name another \
             directory with --data-dir (or LLMSCOPE_DATA_DIR)",
            dir.display()
        );
    }
    open_store(cfg)
}

/// Opens the store for a long-running server: memory capped by `storage.server_memory_limit`,
/// checkpoints at `storage.server_checkpoint_threshold`, row groups of
/// `storage.server_row_group_size` rows.
pub fn open_server_store(cfg: &Config) -> anyhow::Result<Box<dyn Store>> {
    let setting = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    let opts = llmscope_store::StoreOptions {
        memory_limit: setting(&cfg.storage.server_memory_limit),
        query_memory_limit: setting(&cfg.storage.server_query_memory_limit),
        checkpoint_threshold: setting(&cfg.storage.server_checkpoint_threshold),
        threads: (cfg.storage.server_threads > 0).then_some(cfg.storage.server_threads),
        row_group_size: (cfg.storage.server_row_group_size > 0).then_some(cfg.storage.server_row_group_size),
    };
    open_store_with(cfg, &opts)
}

fn open_store_with(cfg: &Config, opts: &llmscope_store::StoreOptions) -> anyhow::Result<Box<dyn Store>> {
    let dir: &PathBuf = &cfg.storage.data_dir;
    llmscope_store::open_with(&dir.to_string_lossy(), opts)
        .with_context(|| format!("opening the store in {}", dir.display()))
}
