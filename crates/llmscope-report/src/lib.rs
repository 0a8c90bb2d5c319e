//! Reports and charts.
//!
//! - [`charts`]: chart descriptions, rendered to deterministic SVG and to PNG.
//! - [`figures`]: the charts a report shows, built from a [`llmscope_analysis::Report`].
//! - [`markdown`]: the report as Markdown (charts as image links or inline SVG).
//! - [`html`]: the report as one self-contained HTML page (the Markdown, rendered, with
//!   inline SVG charts).
//! - [`output`]: writing a report (and its chart files) to a directory or a stream.

pub mod charts;
pub mod figures;
mod fmt;
pub mod html;
pub mod markdown;
pub mod output;

pub use output::{write_report, ReportFormat};
