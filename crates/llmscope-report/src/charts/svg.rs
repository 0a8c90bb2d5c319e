//! Hand-written SVG for every chart type: layout and drawing on top of the
//! document writer. Output is deterministic and rendering never panics.

use super::axes::{draw_axes, draw_category_labels, range_with_zero, Plot, H, LABEL_SIZE, PLOT_TOP, RIGHT, W};
use super::model::{BarChart, Chart, Heatmap, Histogram, HistogramBucket, LineChart, ShareChart};
use super::scale::{format_compact, format_percent, sanitize};
use super::writer::{colors, num, text_width, truncate, Anchor, SvgDoc, TextStyle};

const VALUE_SIZE: f64 = 10.0;
/// Beyond this many items a share chart groups its tail into "other".
const MAX_SHARE_ROWS: usize = 8;

/// Renders `chart` as a complete standalone SVG document of
/// [`WIDTH`](super::WIDTH)×[`HEIGHT`](super::HEIGHT) pixels. The same chart always gives the same bytes.
pub fn render_svg(chart: &Chart) -> String {
    let mut doc = SvgDoc::new(chart.title());
    match chart {
        Chart::Bar(c) => bar_chart(&mut doc, c),
        Chart::Histogram(c) => histogram(&mut doc, c),
        Chart::Line(c) => line_chart(&mut doc, c),
        Chart::Share(c) => share_chart(&mut doc, c),
        Chart::Heatmap(c) => heatmap(&mut doc, c),
    }
    doc.finish()
}

/// One bar per value (`None` draws nothing), `width` px wide, centred in
/// its slot; value labels on top when every one of them fits.
fn draw_bars(doc: &mut SvgDoc, plot: &Plot, values: &[Option<f64>], width: f64, color: &str) {
    let slot = plot.slot();
    let zero = plot.y(0.0);
    let radius = (width / 4.0).min(3.0);
    let labels: Vec<Option<String>> = values.iter().map(|v| v.map(format_compact)).collect();
    let show_labels = values.len() <= 60 && labels.iter().flatten().all(|l| text_width(l, VALUE_SIZE) <= slot - 2.0);
    let label_style = TextStyle::new(VALUE_SIZE, Anchor::Middle, colors::TEXT);
    for (i, (v, label)) in values.iter().zip(&labels).enumerate() {
        let (Some(v), Some(label)) = (v, label) else {
            continue;
        };
        let top = plot.y(*v);
        let x = plot.x0 + i as f64 * slot + (slot - width) / 2.0;
        let height = (top - zero).abs();
        // Short bars get square corners rather than turning into pills.
        let r = radius.min(height / 2.0);
        doc.rect(Some("bar"), x, top.min(zero), width, height, color, r);
        if show_labels {
            let cx = plot.x_center(i);
            if *v >= 0.0 {
                doc.text(cx, top - 4.0, label, label_style);
            } else if top + 12.0 < plot.y1 {
                doc.text(cx, top + 12.0, label, label_style);
            }
        }
    }
}

fn bar_chart(doc: &mut SvgDoc, c: &BarChart) {
    doc.title(&c.title, W - 40.0);
    let n = c.labels.len().min(c.values.len());
    let values: Vec<Option<f64>> = c.values[..n].iter().map(|&v| sanitize(v)).collect();
    if values.iter().all(Option::is_none) {
        doc.no_data();
        return;
    }
    let plot = draw_axes(doc, &c.x_label, &c.y_label, &c.labels[..n], range_with_zero(&values), PLOT_TOP);
    let width = (plot.slot() * 0.72).min(64.0);
    draw_bars(doc, &plot, &values, width, colors::series(0));
}

/// `"100–250"`, or `"≥ 5k"` for an open-ended bucket.
fn bucket_label(b: &HistogramBucket) -> String {
    match b.hi.filter(|hi| hi.is_finite()) {
        Some(hi) => format!("{}–{}", format_compact(b.lo), format_compact(hi)),
        None => format!("≥ {}", format_compact(b.lo)),
    }
}

fn histogram(doc: &mut SvgDoc, c: &Histogram) {
    doc.title(&c.title, W - 40.0);
    if c.buckets.is_empty() {
        doc.no_data();
        return;
    }
    let labels: Vec<String> = c.buckets.iter().map(bucket_label).collect();
    let values: Vec<Option<f64>> = c.buckets.iter().map(|b| Some(b.count as f64)).collect();
    let plot = draw_axes(doc, &c.x_label, &c.y_label, &labels, range_with_zero(&values), PLOT_TOP);
    // Adjacent bars, a hairline apart: a histogram, not categories.
    let slot = plot.slot();
    let width = slot - (slot * 0.08).min(2.0);
    draw_bars(doc, &plot, &values, width, colors::series(0));
}

/// A wrapping row of legend entries (colour swatch + name) under the title;
/// returns the height it takes. At most two rows; the rest is "+N more".
fn draw_legend(doc: &mut SvgDoc, entries: &[(String, &'static str)]) -> f64 {
    const ROW_H: f64 = 18.0;
    const MAX_ROWS: usize = 2;
    let style = TextStyle::new(LABEL_SIZE, Anchor::Start, colors::TEXT);
    let (mut x, mut row) = (20.0, 0);
    for (i, (name, color)) in entries.iter().enumerate() {
        let name = truncate(name, 160.0, LABEL_SIZE);
        let w = 22.0 + text_width(&name, LABEL_SIZE) + 16.0;
        if x + w > RIGHT && x > 20.0 {
            row += 1;
            x = 20.0;
        }
        let y = PLOT_TOP - 2.0 + row as f64 * ROW_H;
        let more = entries.len() - i;
        if row + 1 == MAX_ROWS && more > 1 && x + w + 70.0 > RIGHT {
            doc.text(x, y + 4.0, &format!("+{more} more"), style);
            return MAX_ROWS as f64 * ROW_H;
        }
        doc.rect(Some("legend"), x, y - 2.0, 16.0, 4.0, color, 2.0);
        doc.text(x + 22.0, y + 4.0, &name, style);
        x += w;
    }
    (row + 1) as f64 * ROW_H
}

fn line_chart(doc: &mut SvgDoc, c: &LineChart) {
    doc.title(&c.title, W - 40.0);
    let longest = c.series.iter().map(|s| s.values.len()).max().unwrap_or(0);
    let n = c.x_labels.len().min(longest);
    let series: Vec<Vec<Option<f64>>> = c
        .series
        .iter()
        .map(|s| (0..n).map(|i| s.values.get(i).copied().flatten().and_then(sanitize)).collect())
        .collect();
    if series.iter().flatten().all(Option::is_none) {
        doc.no_data();
        return;
    }
    let mut top = PLOT_TOP;
    if c.series.len() > 1 {
        let entries: Vec<(String, &'static str)> = c
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let name = if s.name.trim().is_empty() { format!("series {}", i + 1) } else { s.name.clone() };
                (name, colors::series(i))
            })
            .collect();
        top += draw_legend(doc, &entries) + 4.0;
    }
    let plot = draw_axes(doc, "", &c.y_label, &c.x_labels[..n], range_with_zero(series.iter().flatten()), top);
    let all_points = n <= 40;
    for (si, values) in series.iter().enumerate() {
        let color = colors::series(si);
        let mut d = String::new();
        let mut pen_down = false;
        for (i, v) in values.iter().enumerate() {
            match v {
                Some(v) => {
                    let cmd = if pen_down { 'L' } else { 'M' };
                    d.push_str(&format!("{cmd}{} {}", num(plot.x_center(i)), num(plot.y(*v))));
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        if !d.is_empty() {
            doc.path("line", &d, color, 2.0);
        }
        for (i, v) in values.iter().enumerate() {
            let Some(v) = v else { continue };
            let isolated = (i == 0 || values[i - 1].is_none()) && values.get(i + 1).is_none_or(Option::is_none);
            if all_points || isolated {
                let r = if all_points { 3.0 } else { 2.0 };
                doc.circle("point", plot.x_center(i), plot.y(*v), r, color);
            }
        }
    }
}

fn share_chart(doc: &mut SvgDoc, c: &ShareChart) {
    let mut items: Vec<(String, f64)> =
        c.items.iter().filter_map(|(name, v)| sanitize(*v).filter(|v| *v > 0.0).map(|v| (name.clone(), v))).collect();
    if items.is_empty() {
        doc.title(&c.title, W - 40.0);
        doc.no_data();
        return;
    }
    // Largest first; the sort is stable, so ties keep their input order.
    items.sort_by(|a, b| b.1.total_cmp(&a.1));
    // Shares are computed on values scaled by the largest, so that the sum
    // stays finite whatever the input.
    let max = items[0].1;
    let mut rows: Vec<(String, f64, f64, &'static str)> =
        items.iter().enumerate().map(|(i, (name, v))| (name.clone(), *v, v / max, colors::series(i))).collect();
    if rows.len() > MAX_SHARE_ROWS {
        let tail = rows.split_off(MAX_SHARE_ROWS - 1);
        let amount = tail.iter().map(|r| r.1).sum::<f64>();
        let scaled = tail.iter().map(|r| r.2).sum::<f64>();
        let name = format!("other ({})", tail.len());
        rows.push((name, amount, scaled, colors::OTHER));
    }
    let total_scaled: f64 = rows.iter().map(|r| r.2).sum();
    let total: f64 = items.iter().map(|(_, v)| v).sum();

    let total_text = format!("total {}", format_compact(total));
    let total_w = text_width(&total_text, 12.0);
    doc.title(&c.title, W - 60.0 - total_w);
    doc.text(RIGHT, 28.0, &total_text, TextStyle::new(12.0, Anchor::End, colors::MUTED));

    const NAME_SIZE: f64 = 12.0;
    let name_w = rows.iter().map(|r| text_width(&r.0, NAME_SIZE)).fold(0.0, f64::max).min(220.0);
    let bar_x = 20.0 + name_w + 12.0;
    let bar_max = RIGHT - bar_x - 110.0;
    let available = H - PLOT_TOP - 16.0;
    let row_h = (available / rows.len() as f64).min(36.0);
    let bar_h = (row_h * 0.62).min(22.0);
    let start = PLOT_TOP + (available - row_h * rows.len() as f64) / 2.0;
    let largest = rows.iter().map(|r| r.2).fold(0.0, f64::max);
    let name_style = TextStyle::new(NAME_SIZE, Anchor::End, colors::TITLE);
    let value_style = TextStyle::new(LABEL_SIZE, Anchor::Start, colors::TEXT);
    for (i, (name, amount, scaled, color)) in rows.iter().enumerate() {
        let mid = start + (i as f64 + 0.5) * row_h;
        let fraction = scaled / total_scaled;
        let w = (scaled / largest * bar_max).max(1.0);
        doc.text(20.0 + name_w, mid + 4.0, &truncate(name, 220.0, NAME_SIZE), name_style);
        doc.rect(Some("bar"), bar_x, mid - bar_h / 2.0, w, bar_h, color, 3.0);
        let label = format!("{}  ·  {}", format_percent(fraction), format_compact(*amount));
        doc.text(bar_x + w + 8.0, mid + 4.0, &label, value_style);
    }
}

/// Light-to-dark blue ramp for `t` in 0..=1.
fn heat_color(t: f64) -> String {
    const STOPS: [(f64, [f64; 3]); 3] =
        [(0.0, [240.0, 244.0, 250.0]), (0.5, [127.0, 168.0, 214.0]), (1.0, [31.0, 78.0, 140.0])];
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let (a, b) = if t <= STOPS[1].0 { (STOPS[0], STOPS[1]) } else { (STOPS[1], STOPS[2]) };
    let f = (t - a.0) / (b.0 - a.0);
    let c: Vec<u8> = (0..3).map(|k| (a.1[k] + (b.1[k] - a.1[k]) * f).round() as u8).collect();
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

fn heatmap(doc: &mut SvgDoc, c: &Heatmap) {
    let n_rows = c.row_labels.len().min(c.values.len());
    let widest_row = c.values[..n_rows].iter().map(Vec::len).max().unwrap_or(0);
    let n_cols = c.col_labels.len().min(widest_row);
    let cells: Vec<Vec<Option<f64>>> = c.values[..n_rows]
        .iter()
        .map(|row| (0..n_cols).map(|j| row.get(j).copied().and_then(sanitize)).collect())
        .collect();
    let present = || cells.iter().flatten().flatten().copied();
    let Some(max) = present().reduce(f64::max) else {
        doc.title(&c.title, W - 40.0);
        doc.no_data();
        return;
    };
    let min = present().fold(0.0, f64::min);
    let span = max - min;

    // Colour key, top right: min label, 12 ramp steps, max label.
    let (min_label, max_label) = (format_compact(min), format_compact(max));
    let key_x = RIGHT - text_width(&max_label, VALUE_SIZE) - 6.0 - 96.0;
    let key_left = key_x - 6.0 - text_width(&min_label, VALUE_SIZE);
    doc.title(&c.title, key_left - 36.0);
    for k in 0..12 {
        let fill = heat_color(k as f64 / 11.0);
        doc.rect(None, key_x + k as f64 * 8.0, 18.0, 8.0, 10.0, &fill, 0.0);
    }
    let key_style = TextStyle::new(VALUE_SIZE, Anchor::End, colors::TEXT);
    doc.text(key_x - 6.0, 27.0, &min_label, key_style);
    let key_style = TextStyle::new(VALUE_SIZE, Anchor::Start, colors::TEXT);
    doc.text(key_x + 102.0, 27.0, &max_label, key_style);

    let row_w = c.row_labels[..n_rows].iter().map(|l| text_width(l, LABEL_SIZE)).fold(0.0, f64::max).min(100.0);
    let (x0, x1, y0) = (20.0 + row_w + 8.0, RIGHT, PLOT_TOP + 4.0);
    let cw = (x1 - x0) / n_cols.max(1) as f64;
    let ch = ((H - 36.0 - y0) / n_rows.max(1) as f64).min(40.0);
    let gap = if cw > 6.0 && ch > 6.0 { 2.0 } else { 0.0 };

    let value_labels: Vec<Vec<Option<String>>> =
        cells.iter().map(|row| row.iter().map(|v| v.map(format_compact)).collect()).collect();
    let show_values =
        ch >= 14.0 && value_labels.iter().flatten().flatten().all(|l| text_width(l, 9.0) <= cw - gap - 3.0);
    for (i, row) in cells.iter().enumerate() {
        let y = y0 + i as f64 * ch;
        for (j, v) in row.iter().enumerate() {
            let x = x0 + j as f64 * cw;
            let t = v.map(|v| if span > 0.0 { (v - min) / span } else { 0.0 });
            let fill = t.map_or_else(|| "#f3f4f6".to_owned(), heat_color);
            doc.rect(Some("cell"), x, y, cw - gap, ch - gap, &fill, gap);
            if let (true, Some(t), Some(label)) = (show_values, t, &value_labels[i][j]) {
                let color = if t > 0.55 { "#ffffff" } else { colors::TEXT };
                let style = TextStyle::new(9.0, Anchor::Middle, color);
                doc.text(x + (cw - gap) / 2.0, y + (ch - gap) / 2.0 + 3.0, label, style);
            }
        }
    }
    // Row labels, thinned when rows are thinner than a line of text.
    let every = (14.0 / ch.max(1e-6)).ceil().max(1.0) as usize;
    let style = TextStyle::new(LABEL_SIZE, Anchor::End, colors::TEXT);
    for (i, label) in c.row_labels[..n_rows].iter().enumerate().step_by(every) {
        let y = y0 + (i as f64 + 0.5) * ch - gap / 2.0 + 4.0;
        doc.text(x0 - 8.0, y, &truncate(label, 100.0, LABEL_SIZE), style);
    }
    let bottom = y0 + n_rows as f64 * ch;
    draw_category_labels(doc, x0, x1 - gap, bottom + 12.0, &c.col_labels[..n_cols]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_labels() {
        let closed = HistogramBucket { lo: 100.0, hi: Some(250.0), count: 3 };
        assert_eq!(bucket_label(&closed), "100–250");
        let open = HistogramBucket { lo: 5000.0, hi: None, count: 1 };
        assert_eq!(bucket_label(&open), "≥ 5k");
        let nan = HistogramBucket { lo: f64::NAN, hi: Some(f64::INFINITY), count: 1 };
        assert_eq!(bucket_label(&nan), "≥ –");
    }

    #[test]
    fn heat_ramp_ends_and_middle() {
        assert_eq!(heat_color(0.0), "#f0f4fa");
        assert_eq!(heat_color(0.5), "#7fa8d6");
        assert_eq!(heat_color(1.0), "#1f4e8c");
        assert_eq!(heat_color(f64::NAN), "#f0f4fa");
        assert_eq!(heat_color(7.0), "#1f4e8c");
    }
}
