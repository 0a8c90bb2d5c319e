//! Writing a report: to standard output, or to a directory with its chart files.

use std::io::Write;
use std::path::{Path, PathBuf};

use llmscope_analysis::Report;

use crate::charts::{render_png_chart, render_svg};
use crate::figures::figures;
use crate::markdown::{self, ChartEmbed};

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Markdown,
    Json,
    Html,
}

impl std::str::FromStr for ReportFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "markdown" | "md" => Ok(ReportFormat::Markdown),
            "json" => Ok(ReportFormat::Json),
            "html" => Ok(ReportFormat::Html),
            other => Err(format!("unknown report format {other:?} (markdown, json, html)")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("cannot render chart {name}: {source}")]
    Chart { name: String, source: crate::charts::ChartError },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |source| OutputError::Io { path: path.display().to_string(), source }
}

/// Writes the report. With `out_dir`, writes `report.{md,html,json}` there and, for Markdown,
/// the charts as `charts/NAME.png` and `charts/NAME.svg`; returns the files written. Without,
/// writes the report to `stdout` (Markdown then carries no charts; HTML inlines them).
pub fn write_report(
    r: &Report,
    format: ReportFormat,
    out_dir: Option<&Path>,
    stdout: &mut dyn Write,
) -> Result<Vec<PathBuf>, OutputError> {
    let Some(dir) = out_dir else {
        let text = match format {
            ReportFormat::Markdown => markdown::render(r, ChartEmbed::Omit),
            ReportFormat::Html => crate::html::render(r),
            ReportFormat::Json => json(r),
        };
        stdout.write_all(text.as_bytes()).map_err(io(Path::new("<stdout>")))?;
        return Ok(Vec::new());
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut written = Vec::new();
    let (name, text) = match format {
        ReportFormat::Markdown => {
            let charts = dir.join("charts");
            std::fs::create_dir_all(&charts).map_err(io(&charts))?;
            for f in figures(r) {
                let png =
                    render_png_chart(&f.chart).map_err(|source| OutputError::Chart { name: f.name.into(), source })?;
                for (ext, bytes) in [("png", png), ("svg", render_svg(&f.chart).into_bytes())] {
                    let p = charts.join(format!("{}.{ext}", f.name));
                    std::fs::write(&p, bytes).map_err(io(&p))?;
                    written.push(p);
                }
            }
            ("report.md", markdown::render(r, ChartEmbed::PngLinks))
        }
        ReportFormat::Html => ("report.html", crate::html::render(r)),
        ReportFormat::Json => ("report.json", json(r)),
    };
    let p = dir.join(name);
    std::fs::write(&p, text).map_err(io(&p))?;
    written.insert(0, p);
    Ok(written)
}

fn json(r: &Report) -> String {
    let mut s = serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
