//! `llmscope report`

use std::process::ExitCode;

use anyhow::{anyhow, Context};
use llmscope_analysis::{build_report, ReportRequest};
use llmscope_report::{write_report, ReportFormat};

use super::open_existing_store;
use crate::cli::ReportArgs;
use crate::config::Config;
use crate::filters;

/// A report request with the configured limits and prices.
pub fn request(cfg: &Config, filter: llmscope_core::CallFilter, tz: chrono_tz::Tz) -> ReportRequest {
    ReportRequest {
        filter,
        tz,
        prices: cfg.price_table(),
        top_n: cfg.report.top_n,
        examples: cfg.report.examples,
        slow_threshold_ms: cfg.report.slow_threshold_ms,
    }
}

pub fn run(cfg: &Config, a: ReportArgs) -> anyhow::Result<ExitCode> {
    let format: ReportFormat = a.format.parse().map_err(|e: String| anyhow!("--format: {e}"))?;
    let (filter, tz) = filters::build(&a.filter, cfg)?;
    let report = match open_existing_store(cfg) {
        Ok(store) => build_report(store.as_ref(), &request(cfg, filter, tz)).context("building the report")?,
        // A running server holds the store: it builds the report, this renders it.
        Err(e) => match super::remote::server_for(&e, &cfg.storage.data_dir) {
            Some(url) => {
                eprintln!("(the store is held by the server at {url}; the report is built there)");
                let query = llmscope_server::report::ReportQuery {
                    filter,
                    tz: tz.name().to_string(),
                    top_n: cfg.report.top_n,
                    examples: cfg.report.examples,
                    slow_threshold_ms: cfg.report.slow_threshold_ms,
                    prices: cfg.prices.clone(),
                };
                super::remote::ServerApi::new(&url)?.report(&query)?
            }
            None => return Err(e),
        },
    };
    let mut stdout = std::io::stdout().lock();
    let written = write_report(&report, format, a.out.as_deref(), &mut stdout)?;
    if let Some(first) = written.first() {
        eprintln!("wrote {} ({} files)", first.display(), written.len());
    }
    Ok(ExitCode::SUCCESS)
}
