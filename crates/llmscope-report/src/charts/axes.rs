//! The frame of x-categories / y-values charts: y grid with nice ticks,
//! baseline, thinned x labels and axis titles, and the plot area they frame.

use super::scale::{format_tick, nice_ticks};
use super::writer::{colors, text_width, truncate, Anchor, SvgDoc, TextStyle, HEIGHT, WIDTH};

pub(super) const W: f64 = WIDTH as f64;
pub(super) const H: f64 = HEIGHT as f64;
/// Right edge of every plot area.
pub(super) const RIGHT: f64 = W - 24.0;
/// Top of the plot area when nothing sits between it and the title.
pub(super) const PLOT_TOP: f64 = 52.0;
pub(super) const LABEL_SIZE: f64 = 11.0;
/// Longest an x (category) label may get before it is cut with `…`.
const MAX_LABEL_W: f64 = 120.0;

/// The drawing area of an x-categories / y-values chart.
#[derive(Debug, Clone, Copy)]
pub(super) struct Plot {
    pub x0: f64,
    pub x1: f64,
    pub y0: f64,
    pub y1: f64,
    /// Value at the bottom and top of the y axis (`lo < hi`).
    pub lo: f64,
    pub hi: f64,
    /// Number of x categories (≥ 1).
    pub n: usize,
}

impl Plot {
    pub fn y(&self, v: f64) -> f64 {
        let span = self.hi - self.lo;
        if span.is_nan() || span <= 0.0 {
            return self.y1;
        }
        self.y1 - (v - self.lo) / span * (self.y1 - self.y0)
    }

    pub fn slot(&self) -> f64 {
        (self.x1 - self.x0) / self.n.max(1) as f64
    }

    pub fn x_center(&self, i: usize) -> f64 {
        self.x0 + (i as f64 + 0.5) * self.slot()
    }
}

/// Smallest and largest present value, both stretched to include zero.
pub(super) fn range_with_zero<'a>(values: impl IntoIterator<Item = &'a Option<f64>>) -> (f64, f64) {
    values.into_iter().flatten().fold((0.0, 0.0), |(lo, hi): (f64, f64), &v| (lo.min(v), hi.max(v)))
}

/// Draws the y grid, ticks, baseline, x category labels and axis titles,
/// and returns the plot area they frame.
pub(super) fn draw_axes(
    doc: &mut SvgDoc,
    x_label: &str,
    y_label: &str,
    labels: &[String],
    (lo, hi): (f64, f64),
    top: f64,
) -> Plot {
    let ticks = nice_ticks(lo, hi, 5);
    let step = match ticks.as_slice() {
        [a, b, ..] => b - a,
        _ => 1.0,
    };
    let tick_labels: Vec<String> = ticks.iter().map(|&t| format_tick(t, step)).collect();
    let tick_w = tick_labels.iter().map(|l| text_width(l, LABEL_SIZE)).fold(0.0, f64::max).min(120.0);
    let has_y_label = !y_label.trim().is_empty();
    let has_x_label = !x_label.trim().is_empty();
    let x0 = if has_y_label { 36.0 } else { 20.0 } + tick_w + 8.0;
    let y1 = H - if has_x_label { 46.0 } else { 30.0 };
    let plot = Plot {
        x0,
        x1: RIGHT,
        y0: top,
        y1,
        lo: ticks.first().copied().unwrap_or(0.0),
        hi: ticks.last().copied().unwrap_or(1.0),
        n: labels.len().max(1),
    };

    let tick_style = TextStyle::new(LABEL_SIZE, Anchor::End, colors::TEXT);
    for (t, label) in ticks.iter().zip(&tick_labels) {
        let y = plot.y(*t);
        doc.line(plot.x0, y, plot.x1, y, colors::GRID, 1.0);
        doc.text(plot.x0 - 8.0, y + 4.0, label, tick_style);
    }
    let zero = plot.y(0.0);
    doc.line(plot.x0, zero, plot.x1, zero, colors::AXIS, 1.0);
    draw_category_labels(doc, plot.x0, plot.x1, plot.y1 + 16.0, labels);

    let mut axis_style = TextStyle::new(12.0, Anchor::Middle, colors::TEXT);
    if has_x_label {
        let t = truncate(x_label, plot.x1 - plot.x0, 12.0);
        doc.text((plot.x0 + plot.x1) / 2.0, H - 12.0, &t, axis_style);
    }
    if has_y_label {
        axis_style.vertical = true;
        let t = truncate(y_label, plot.y1 - plot.y0 + 20.0, 12.0);
        doc.text(28.0, (plot.y0 + plot.y1) / 2.0, &t, axis_style);
    }
    plot
}

/// Category labels centred under `labels.len()` equal slots between `x0`
/// and `x1`, thinned out (every k-th shown) so that they never overlap.
pub(super) fn draw_category_labels(doc: &mut SvgDoc, x0: f64, x1: f64, y: f64, labels: &[String]) {
    let n = labels.len();
    if n == 0 {
        return;
    }
    let slot = (x1 - x0) / n as f64;
    let widest = labels.iter().map(|l| text_width(l, LABEL_SIZE).min(MAX_LABEL_W)).fold(0.0, f64::max);
    let every = ((widest + 8.0) / slot.max(1e-6)).ceil().max(1.0) as usize;
    let room = (slot * every as f64 - 6.0).min(MAX_LABEL_W);
    let style = TextStyle::new(LABEL_SIZE, Anchor::Middle, colors::TEXT);
    for (i, label) in labels.iter().enumerate().step_by(every.max(1)) {
        let text = truncate(label, room, LABEL_SIZE);
        let half = text_width(&text, LABEL_SIZE) / 2.0;
        // Keep edge labels inside the canvas.
        let cx = (x0 + (i as f64 + 0.5) * slot).min(W - half - 4.0).max(half + 4.0);
        doc.text(cx, y, &text, style);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plot_maps_values_linearly() {
        let plot = Plot { x0: 100.0, x1: 500.0, y0: 50.0, y1: 250.0, lo: 0.0, hi: 100.0, n: 4 };
        assert_eq!(plot.y(0.0), 250.0);
        assert_eq!(plot.y(100.0), 50.0);
        assert_eq!(plot.y(25.0), 200.0);
        assert_eq!(plot.slot(), 100.0);
        assert_eq!(plot.x_center(0), 150.0);
        assert_eq!(plot.x_center(3), 450.0);
    }

    #[test]
    fn range_includes_zero() {
        assert_eq!(range_with_zero(&[Some(3.0), None, Some(7.0)]), (0.0, 7.0));
        assert_eq!(range_with_zero(&[Some(-2.0), Some(-5.0)]), (-5.0, 0.0));
        assert_eq!(range_with_zero(&[]), (0.0, 0.0));
    }
}
