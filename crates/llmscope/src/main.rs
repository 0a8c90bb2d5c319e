//! The `llmscope` binary: a thin layer that parses the command line, loads the config and
//! calls into the library crates.

mod alloc;
mod cli;
mod cmd;
mod config;
mod env;
mod filters;
mod malloc;

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: alloc::Switch = alloc::Switch;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // Long-running servers only: an import allocates and frees large batches all the time,
    // and mapping each one afresh costs it more system time than it saves memory.
    let tuned = matches!(cli.command, cli::Command::Serve(_) | cli::Command::Demo(_)) && malloc::tune();
    // An import's parsing allocates in bulk: mimalloc does that faster (see `alloc.rs`).
    if matches!(cli.command, cli::Command::Import(_)) {
        alloc::use_mimalloc();
    }
    let filter = tracing_subscriber::EnvFilter::try_from_env(env::LOG)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,usvg=error"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    tracing::debug!(tuned, mimalloc = alloc::using_mimalloc(), "allocator");
    match cmd::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
