//! The `llmscope` binary: a thin layer that parses the command line, loads the config and
//! calls into the library crates.

mod cli;
mod cmd;
mod config;
mod env;
mod filters;
mod malloc;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // Long-running servers only: an import allocates and frees large batches all the time,
    // and mapping each one afresh costs it more system time than it saves memory.
    let tuned = matches!(cli.command, cli::Command::Serve(_) | cli::Command::Demo(_)) && malloc::tune();
    let filter = tracing_subscriber::EnvFilter::try_from_env(env::LOG)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,usvg=error"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    tracing::debug!(tuned, "glibc allocator tuning");
    match cmd::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
