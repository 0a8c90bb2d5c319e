//! SVG → PNG rasterisation through resvg, at 2× scale on white, with the
//! system fonts loaded once per process.

use std::sync::{Arc, OnceLock};

use resvg::tiny_skia::{Color, Pixmap, Transform};
use resvg::usvg::{fontdb, Options, Tree};

use super::model::Chart;
use super::svg::render_svg;

/// Pixels per SVG unit in rendered PNGs: crisp on high-density screens and
/// when a report is zoomed or printed.
pub const PNG_SCALE: f32 = 2.0;

/// Why a chart could not be turned into a PNG.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The SVG text could not be parsed.
    #[error("invalid SVG: {0}")]
    InvalidSvg(#[from] resvg::usvg::Error),
    /// The image could not be rasterised (zero or absurd size).
    #[error("cannot render a {width}×{height} image")]
    Render { width: u32, height: u32 },
    /// The pixels could not be encoded as PNG.
    #[error("PNG encoding failed: {0}")]
    Encode(String),
}

/// The system fonts, scanned on first use only. "sans-serif" resolves to
/// DejaVu Sans, which is what the charts ask for first anyway.
fn fontdb() -> Arc<fontdb::Database> {
    static FONTS: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = fontdb::Database::new();
            db.load_system_fonts();
            db.set_sans_serif_family("DejaVu Sans");
            Arc::new(db)
        })
        .clone()
}

/// Rasterises a standalone SVG document to PNG bytes at [`PNG_SCALE`]×
/// its size, on a white background.
pub fn render_png(svg: &str) -> Result<Vec<u8>, ChartError> {
    let options = Options { fontdb: fontdb(), font_family: "DejaVu Sans".to_owned(), ..Options::default() };
    let tree = Tree::from_str(svg, &options)?;
    let size = tree.size();
    let width = (size.width() * PNG_SCALE).ceil() as u32;
    let height = (size.height() * PNG_SCALE).ceil() as u32;
    let mut pixmap = Pixmap::new(width, height).ok_or(ChartError::Render { width, height })?;
    pixmap.fill(Color::WHITE);
    resvg::render(&tree, Transform::from_scale(PNG_SCALE, PNG_SCALE), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| ChartError::Encode(e.to_string()))
}

/// [`render_svg`] then [`render_png`].
pub fn render_png_chart(chart: &Chart) -> Result<Vec<u8>, ChartError> {
    render_png(&render_svg(chart))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::model::{BarChart, Heatmap, LineChart, Series, ShareChart};
    use crate::charts::{HEIGHT, WIDTH};

    /// PNG signature, then the IHDR chunk's width and height.
    fn png_size(png: &[u8]) -> (u32, u32) {
        assert!(png.len() > 24, "too short for a PNG");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        (be(&png[16..20]), be(&png[20..24]))
    }

    /// Share of pixels that are not (almost) white.
    fn ink(png: &[u8]) -> f64 {
        let pixmap = Pixmap::decode_png(png).expect("decodes");
        let inked = pixmap.pixels().iter().filter(|p| p.red() < 240 || p.green() < 240 || p.blue() < 240).count();
        inked as f64 / pixmap.pixels().len() as f64
    }

    fn bar() -> Chart {
        Chart::Bar(BarChart {
            title: "Requests by hour".into(),
            x_label: "hour".into(),
            y_label: "requests".into(),
            labels: (0..24).map(|h| format!("{h:02}")).collect(),
            values: (0..24).map(|h| f64::from(h * 37 % 100)).collect(),
        })
    }

    #[test]
    fn png_is_twice_the_svg_size_and_not_blank() {
        let png = render_png_chart(&bar()).expect("renders");
        assert_eq!(png_size(&png), (2 * WIDTH, 2 * HEIGHT));
        let ink = ink(&png);
        assert!(ink > 0.02 && ink < 0.9, "ink share {ink}");
    }

    #[test]
    fn text_is_drawn_with_system_fonts() {
        // Only a title: any ink beyond the background comes from glyphs.
        let chart = Chart::Share(ShareChart { title: "Model share".into(), items: vec![] });
        let with_title = ink(&render_png_chart(&chart).expect("renders"));
        let chart = Chart::Share(ShareChart { title: String::new(), items: vec![] });
        let without = ink(&render_png_chart(&chart).expect("renders"));
        assert!(with_title > without, "{with_title} vs {without}");
    }

    #[test]
    fn every_kind_rasterises() {
        let charts = [
            bar(),
            Chart::Line(LineChart {
                title: "p95".into(),
                y_label: "ms".into(),
                x_labels: vec!["a".into(), "b".into()],
                series: vec![Series { name: "x".into(), values: vec![Some(1.0), None] }],
            }),
            Chart::Heatmap(Heatmap {
                title: "heat".into(),
                row_labels: vec!["Mon".into()],
                col_labels: vec!["00".into(), "01".into()],
                values: vec![vec![1.0, 2.0]],
            }),
        ];
        for chart in &charts {
            let png = render_png_chart(chart).expect("renders");
            assert_eq!(png_size(&png), (1600, 720));
        }
    }

    #[test]
    fn fonts_are_loaded_once() {
        assert!(Arc::ptr_eq(&fontdb(), &fontdb()));
        assert!(!fontdb().is_empty(), "no system fonts found");
    }

    #[test]
    fn bad_svg_is_an_error() {
        assert!(matches!(render_png("not svg"), Err(ChartError::InvalidSvg(_))));
        let zero = r#"<svg xmlns="http://www.w3.org/2000/svg" width="0" height="0"/>"#;
        assert!(render_png(zero).is_err());
    }

    #[test]
    fn custom_size_is_scaled() {
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="7">
            <rect width="5" height="7" fill="#000"/></svg>"##;
        let png = render_png(svg).expect("renders");
        assert_eq!(png_size(&png), (20, 14));
        let ink = ink(&png);
        assert!((ink - 0.5).abs() < 0.01, "half black, got {ink}");
    }
}
