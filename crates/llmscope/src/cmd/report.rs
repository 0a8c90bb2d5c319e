//! `llmscope report`

use std::process::ExitCode;

use anyhow::{anyhow, Context};
use llmscope_analysis::{build_report, ReportRequest};
use llmscope_report::{write_report, ReportFormat};

use super::open_store;
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
    let store = open_store(cfg)?;
    let req = request(cfg, filter, tz);
    let report = build_report(store.as_ref(), &req).context("building the report")?;
    let mut stdout = std::io::stdout().lock();
    let written = write_report(&report, format, a.out.as_deref(), &mut stdout)?;
    if let Some(first) = written.first() {
        eprintln!("wrote {} ({} files)", first.display(), written.len());
    }
    Ok(ExitCode::SUCCESS)
}
