//! Rendering of llmscope reports (Markdown, HTML, JSON) and of the charts
//! they embed (standalone SVG documents, rasterised to PNG).

pub mod charts;
