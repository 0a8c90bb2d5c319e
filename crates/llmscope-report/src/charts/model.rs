//! What a chart shows: plain data, no drawing. Renderers accept anything
//! (empty vectors, NaN, mismatched lengths) and make the best of it.

/// Vertical bars, one per label (requests by hour of day, by day, …).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BarChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// One label per bar; extra labels or values are ignored.
    pub labels: Vec<String>,
    /// Bar heights; non-finite values are missing bars, negatives point down.
    pub values: Vec<f64>,
}

/// One histogram bucket `[lo, hi)`; `hi: None` is open-ended (`≥ lo`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistogramBucket {
    pub lo: f64,
    pub hi: Option<f64>,
    pub count: u64,
}

/// Adjacent bars over value buckets (latency, tokens per call, …).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Histogram {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub buckets: Vec<HistogramBucket>,
}

/// One line of a [`LineChart`]; `None` (or a non-finite value) is a gap.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

/// Lines over shared x positions (p95 latency by day, …); a legend is drawn
/// when there is more than one series.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LineChart {
    pub title: String,
    pub y_label: String,
    pub x_labels: Vec<String>,
    pub series: Vec<Series>,
}

/// Shares of a whole (calls per model, …), drawn as sorted horizontal bars
/// with percentages. Beyond 8 items the tail is grouped into "other";
/// non-finite, zero and negative amounts are left out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ShareChart {
    pub title: String,
    pub items: Vec<(String, f64)>,
}

/// A grid of coloured cells (weekday × hour volume); `values[row][col]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Heatmap {
    pub title: String,
    pub row_labels: Vec<String>,
    pub col_labels: Vec<String>,
    pub values: Vec<Vec<f64>>,
}

/// Any chart the reports can draw.
#[derive(Debug, Clone, PartialEq)]
pub enum Chart {
    Bar(BarChart),
    Histogram(Histogram),
    Line(LineChart),
    Share(ShareChart),
    Heatmap(Heatmap),
}

impl Chart {
    /// The chart's title.
    pub fn title(&self) -> &str {
        match self {
            Chart::Bar(c) => &c.title,
            Chart::Histogram(c) => &c.title,
            Chart::Line(c) => &c.title,
            Chart::Share(c) => &c.title,
            Chart::Heatmap(c) => &c.title,
        }
    }
}

impl From<BarChart> for Chart {
    fn from(c: BarChart) -> Self {
        Chart::Bar(c)
    }
}

impl From<Histogram> for Chart {
    fn from(c: Histogram) -> Self {
        Chart::Histogram(c)
    }
}

impl From<LineChart> for Chart {
    fn from(c: LineChart) -> Self {
        Chart::Line(c)
    }
}

impl From<ShareChart> for Chart {
    fn from(c: ShareChart) -> Self {
        Chart::Share(c)
    }
}

impl From<Heatmap> for Chart {
    fn from(c: Heatmap) -> Self {
        Chart::Heatmap(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_of_each_variant() {
        let charts: Vec<Chart> = vec![
            BarChart { title: "bar".into(), ..Default::default() }.into(),
            Histogram { title: "hist".into(), ..Default::default() }.into(),
            LineChart { title: "line".into(), ..Default::default() }.into(),
            ShareChart { title: "share".into(), ..Default::default() }.into(),
            Heatmap { title: "heat".into(), ..Default::default() }.into(),
        ];
        let titles: Vec<&str> = charts.iter().map(Chart::title).collect();
        assert_eq!(titles, ["bar", "hist", "line", "share", "heat"]);
    }
}
