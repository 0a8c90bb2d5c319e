//! The report as one self-contained HTML page: the Markdown report with inline SVG charts,
//! rendered by pulldown-cmark, in a small stylesheet. No scripts, no external assets.

use llmscope_analysis::Report;
use pulldown_cmark::{html, Options, Parser};

use crate::markdown::{self, ChartEmbed};

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI','Noto Sans CJK SC',sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;color:#1f2933;line-height:1.5}\
h1{border-bottom:2px solid #e4e7eb;padding-bottom:.3rem}h2{margin-top:2.2rem;border-bottom:1px solid #e4e7eb}\
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem;display:block;overflow-x:auto}th,td{border:1px solid #e4e7eb;padding:.3rem .6rem;vertical-align:top}\
th{background:#f5f7fa}tr:nth-child(even) td{background:#fafbfc}code{background:#f0f2f5;padding:0 .2rem;border-radius:3px}\
figure.chart{margin:1rem 0}figure.chart svg{max-width:100%;height:auto}strong{color:#b42318}";

/// Renders the report as an HTML page.
pub fn render(r: &Report) -> String {
    let md = markdown::render(r, ChartEmbed::InlineSvg);
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_TABLES);
    let mut body = String::with_capacity(md.len() * 2);
    html::push_html(&mut body, Parser::new_ext(&md, opts));
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>llmscope report</title><style>{STYLE}</style></head>\n<body>\n{body}</body></html>\n"
    )
}
