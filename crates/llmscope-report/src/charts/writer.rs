//! A tiny SVG document writer: XML escaping, compact coordinates, text
//! width estimates and the few elements the charts need. No layout here.

use std::fmt::Write as _;

/// Canvas width of every chart, in SVG user units (pixels).
pub const WIDTH: u32 = 800;
/// Canvas height of every chart, in SVG user units (pixels).
pub const HEIGHT: u32 = 360;

pub(crate) const FONT_FAMILY: &str = "DejaVu Sans, Noto Sans CJK SC, sans-serif";

/// Colours shared by every chart.
pub(crate) mod colors {
    pub const BACKGROUND: &str = "#ffffff";
    pub const TITLE: &str = "#1f2937";
    pub const TEXT: &str = "#4b5563";
    pub const MUTED: &str = "#9ca3af";
    pub const GRID: &str = "#e5e7eb";
    pub const AXIS: &str = "#9ca3af";
    pub const OTHER: &str = "#b8bec9";
    /// Categorical palette (Tableau-like, colour-blind friendly enough).
    pub const PALETTE: [&str; 8] =
        ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1", "#edc948", "#9c755f"];

    /// The `i`-th palette colour, cycling.
    pub fn series(i: usize) -> &'static str {
        PALETTE[i % PALETTE.len()]
    }
}

/// Escapes text for XML content and attribute values, and drops characters
/// that XML 1.0 does not allow at all (control characters become spaces).
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push(' '),
            '\u{fffe}' | '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// A coordinate with at most one decimal, never `NaN` or `-0`.
pub(crate) fn num(v: f64) -> String {
    if !v.is_finite() {
        return "0".to_owned();
    }
    let r = (v.clamp(-1e7, 1e7) * 10.0).round() / 10.0;
    let s = format!("{r:.1}");
    let s = s.strip_suffix(".0").unwrap_or(&s).to_owned();
    if s == "-0" {
        "0".to_owned()
    } else {
        s
    }
}

/// Whether `c` is drawn about one em wide (CJK, Hangul, full-width forms,
/// emoji) rather than about half an em.
fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F
        | 0x2E80..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1FAFF
        | 0x20000..=0x3FFFD)
}

/// Estimated rendered width of `s` at `size` px (DejaVu Sans is wide:
/// about 0.62 em per Latin character, to be safe).
pub(crate) fn text_width(s: &str, size: f64) -> f64 {
    s.chars().map(|c| if is_wide(c) { 1.0 } else { 0.62 }).sum::<f64>() * size
}

/// Cuts `s` so that it fits in `max_width` px at `size`, ending it with `…`
/// when anything was cut.
pub(crate) fn truncate(s: &str, max_width: f64, size: f64) -> String {
    if text_width(s, size) <= max_width {
        return s.to_owned();
    }
    let budget = max_width - text_width("…", size);
    let mut out = String::new();
    let mut used = 0.0;
    for c in s.chars() {
        let w = text_width(c.encode_utf8(&mut [0; 4]), size);
        if used + w > budget {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// Horizontal text alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    Start,
    Middle,
    End,
}

/// How a piece of text looks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextStyle {
    pub size: f64,
    pub anchor: Anchor,
    pub fill: &'static str,
    pub bold: bool,
    /// Rotated -90° around its anchor point (vertical axis labels).
    pub vertical: bool,
}

impl TextStyle {
    pub fn new(size: f64, anchor: Anchor, fill: &'static str) -> Self {
        Self { size, anchor, fill, bold: false, vertical: false }
    }
}

/// An SVG document being written. Output depends only on the calls made,
/// so charts are byte-for-byte deterministic.
#[derive(Debug)]
pub(crate) struct SvgDoc {
    buf: String,
}

impl SvgDoc {
    /// Starts a `WIDTH`×`HEIGHT` document with a title and white background.
    pub fn new(title: &str) -> Self {
        let mut buf = String::with_capacity(8 * 1024);
        let t = escape(title);
        let _ = write!(
            buf,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
             viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"{FONT_FAMILY}\" role=\"img\" \
             aria-label=\"{t}\">\n<title>{t}</title>\n\
             <rect width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"{}\"/>\n",
            colors::BACKGROUND
        );
        Self { buf }
    }

    /// Writes raw markup (already escaped).
    pub fn raw(&mut self, s: &str) {
        self.buf.push_str(s);
    }

    /// A filled rectangle; `class` (if any) is its first attribute, so
    /// `<rect class="bar"` can be counted in the output.
    #[allow(clippy::too_many_arguments)]
    pub fn rect(&mut self, class: Option<&str>, x: f64, y: f64, w: f64, h: f64, fill: &str, radius: f64) {
        self.buf.push_str("<rect ");
        if let Some(class) = class {
            let _ = write!(self.buf, "class=\"{class}\" ");
        }
        let _ = write!(
            self.buf,
            "x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"",
            num(x),
            num(y),
            num(w.max(0.0)),
            num(h.max(0.0))
        );
        if radius > 0.0 {
            let _ = write!(self.buf, " rx=\"{}\"", num(radius));
        }
        self.buf.push_str("/>\n");
    }

    /// A straight line.
    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, width: f64) {
        let _ = writeln!(
            self.buf,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{stroke}\" stroke-width=\"{}\"/>",
            num(x1),
            num(y1),
            num(x2),
            num(y2),
            num(width)
        );
    }

    /// A circle.
    pub fn circle(&mut self, class: &str, cx: f64, cy: f64, r: f64, fill: &str) {
        let _ = writeln!(
            self.buf,
            "<circle class=\"{class}\" cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{fill}\" \
             stroke=\"#ffffff\" stroke-width=\"1\"/>",
            num(cx),
            num(cy),
            num(r)
        );
    }

    /// An unfilled polyline path from `d` (built with [`num`]).
    pub fn path(&mut self, class: &str, d: &str, stroke: &str, width: f64) {
        let _ = writeln!(
            self.buf,
            "<path class=\"{class}\" d=\"{d}\" fill=\"none\" stroke=\"{stroke}\" \
             stroke-width=\"{}\" stroke-linejoin=\"round\" stroke-linecap=\"round\"/>",
            num(width)
        );
    }

    /// A single line of text; `s` is escaped here.
    pub fn text(&mut self, x: f64, y: f64, s: &str, style: TextStyle) {
        let anchor = match style.anchor {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        };
        let (x, y) = (num(x), num(y));
        let _ = write!(
            self.buf,
            "<text x=\"{x}\" y=\"{y}\" font-size=\"{}\" fill=\"{}\" text-anchor=\"{anchor}\"",
            num(style.size),
            style.fill
        );
        if style.bold {
            self.buf.push_str(" font-weight=\"bold\"");
        }
        if style.vertical {
            let _ = write!(self.buf, " transform=\"rotate(-90 {x} {y})\"");
        }
        let _ = writeln!(self.buf, ">{}</text>", escape(s));
    }

    /// The chart title, top left, cut to `max_width` px.
    pub fn title(&mut self, title: &str, max_width: f64) {
        let mut style = TextStyle::new(16.0, Anchor::Start, colors::TITLE);
        style.bold = true;
        let t = truncate(title, max_width.max(40.0), 16.0);
        self.text(20.0, 28.0, &t, style);
    }

    /// The "No data" placeholder, centred in the canvas.
    pub fn no_data(&mut self) {
        let (w, h) = (f64::from(WIDTH), f64::from(HEIGHT));
        self.raw(&format!(
            "<rect class=\"no-data\" x=\"20\" y=\"52\" width=\"{}\" height=\"{}\" fill=\"#f9fafb\" \
             stroke=\"{}\" stroke-dasharray=\"4 4\" rx=\"6\"/>\n",
            num(w - 40.0),
            num(h - 72.0),
            colors::GRID
        ));
        self.text(w / 2.0, h / 2.0 + 16.0, "No data", TextStyle::new(16.0, Anchor::Middle, colors::MUTED));
    }

    /// Closes the document.
    pub fn finish(mut self) -> String {
        self.buf.push_str("</svg>\n");
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_controls() {
        assert_eq!(escape("a<b&c>\"d'"), "a&lt;b&amp;c&gt;&quot;d&apos;");
        assert_eq!(escape("x\u{0}y\nz\u{ffff}"), "x y z");
        assert_eq!(escape("模型"), "模型");
    }

    #[test]
    fn coordinates_are_compact() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(12.34), "12.3");
        assert_eq!(num(-0.01), "0");
        assert_eq!(num(f64::NAN), "0");
        assert_eq!(num(1e300), "10000000");
    }

    #[test]
    fn truncation_fits_width() {
        assert_eq!(truncate("short", 100.0, 10.0), "short");
        let t = truncate("a very long model name indeed", 60.0, 10.0);
        assert!(t.ends_with('…'));
        assert!(text_width(&t, 10.0) <= 60.0);
        // Wide characters count double.
        assert!(text_width("模型", 10.0) > text_width("ab", 10.0));
        assert_eq!(truncate("abc", 0.0, 10.0), "…");
    }
}
