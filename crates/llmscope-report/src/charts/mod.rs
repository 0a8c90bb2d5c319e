//! Charts for reports: describe a chart with the plain data types of
//! [`model`], render it to a standalone SVG document with [`render_svg`],
//! and rasterise that to PNG with [`render_png`] (or both at once with
//! [`render_png_chart`]).
//!
//! Rendering is deterministic (same chart, same bytes) and never panics:
//! empty data draws a "No data" placeholder, non-finite values are treated
//! as missing, and mismatched lengths are cut to the shorter.
//!
//! ```
//! use llmscope_report::charts::{render_svg, BarChart, Chart};
//!
//! let chart = Chart::Bar(BarChart {
//!     title: "Requests by hour".into(),
//!     x_label: "hour".into(),
//!     y_label: "requests".into(),
//!     labels: (0..24).map(|h| format!("{h:02}")).collect(),
//!     values: (0..24).map(|h| f64::from(h * 10)).collect(),
//! });
//! let svg = render_svg(&chart);
//! assert!(svg.starts_with("<svg xmlns="));
//! assert_eq!(svg.matches("<rect class=\"bar\"").count(), 24);
//! // PNG at 2x for reports: render_png(&svg) or render_png_chart(&chart).
//! ```

mod axes;
pub mod model;
mod png;
mod scale;
mod svg;
mod writer;

pub use model::{BarChart, Chart, Heatmap, Histogram, HistogramBucket, LineChart, Series, ShareChart};
pub use png::{render_png, render_png_chart, ChartError, PNG_SCALE};
pub use svg::render_svg;
pub use writer::{HEIGHT, WIDTH};

#[cfg(test)]
mod tests;
