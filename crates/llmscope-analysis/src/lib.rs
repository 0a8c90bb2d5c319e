//! Analysis: turns the store's aggregates into a [`report::Report`], the documented JSON
//! contract (`docs/report-schema.md`) every report format is rendered from.
//!
//! - [`report`]: the report's types (the contract).
//! - [`build`]: runs the queries for a window and assembles the report.
//! - [`cost`]: token cost from the price table; unpriced models are listed, never free.
//! - [`suggest`]: improvement suggestions drawn from the numbers.
//! - [`histogram`]: bucket edges for latency histograms.

pub mod build;
pub mod cost;
pub mod histogram;
pub mod report;
pub mod suggest;

pub use build::{build_report, ReportRequest};
pub use report::Report;
