//! The charts a report shows, built from its numbers.

use llmscope_analysis::Report;

use crate::charts::{BarChart, Chart, Heatmap, Histogram, HistogramBucket, LineChart, Series, ShareChart};

/// A chart and the file stem it is written under.
#[derive(Debug, Clone)]
pub struct Figure {
    pub name: &'static str,
    pub chart: Chart,
}

/// Every chart of a report, in display order.
pub fn figures(r: &Report) -> Vec<Figure> {
    let tz = &r.window.tz;
    let mut out = vec![
        Figure {
            name: "hourly_volume",
            chart: Chart::Bar(BarChart {
                title: format!("Requests by hour of day ({tz})"),
                x_label: "hour".into(),
                y_label: "requests".into(),
                labels: r.by_hour.iter().map(|h| format!("{:02}", h.hour)).collect(),
                values: r.by_hour.iter().map(|h| h.requests as f64).collect(),
            }),
        },
        Figure {
            name: "daily_volume",
            chart: Chart::Bar(BarChart {
                title: format!("Requests by day ({tz})"),
                x_label: "day".into(),
                y_label: "requests".into(),
                labels: r.by_day.iter().map(|d| d.day.format("%m-%d").to_string()).collect(),
                values: r.by_day.iter().map(|d| d.requests as f64).collect(),
            }),
        },
        Figure {
            name: "latency_histogram",
            chart: Chart::Histogram(Histogram {
                title: "Latency distribution".into(),
                x_label: "latency (ms)".into(),
                y_label: "calls".into(),
                buckets: r
                    .latency_histogram
                    .iter()
                    .map(|b| HistogramBucket { lo: b.lo, hi: b.hi, count: b.count })
                    .collect(),
            }),
        },
        Figure {
            name: "latency_by_day",
            chart: Chart::Line(LineChart {
                title: "Latency by day (ms)".into(),
                y_label: "ms".into(),
                x_labels: r.by_day.iter().map(|d| d.day.format("%m-%d").to_string()).collect(),
                series: vec![
                    Series { name: "p95".into(), values: r.by_day.iter().map(|d| d.latency_ms.p95).collect() },
                    Series { name: "p50".into(), values: r.by_day.iter().map(|d| d.latency_ms.p50).collect() },
                ],
            }),
        },
        Figure {
            name: "model_share",
            chart: Chart::Share(ShareChart {
                title: "Requests by model".into(),
                items: r.by_model.iter().map(|m| (m.model.clone(), m.requests as f64)).collect(),
            }),
        },
        Figure {
            name: "throughput_by_model",
            chart: Chart::Bar(BarChart {
                title: "Output tokens per second by model".into(),
                x_label: "model".into(),
                y_label: "tokens/s".into(),
                labels: r.by_model.iter().map(|m| m.model.clone()).collect(),
                values: r.by_model.iter().map(|m| m.throughput_tokens_per_s.avg.unwrap_or(f64::NAN)).collect(),
            }),
        },
        Figure {
            name: "weekday_hour",
            chart: Chart::Heatmap(Heatmap {
                title: format!("Requests by weekday and hour ({tz})"),
                row_labels: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].iter().map(|s| s.to_string()).collect(),
                col_labels: (0..24).map(|h| format!("{h:02}")).collect(),
                values: (0..7u32)
                    .map(|d| {
                        (0..24u32)
                            .map(|h| {
                                r.by_weekday_hour
                                    .iter()
                                    .find(|x| x.weekday == d && x.hour == h)
                                    .map_or(0.0, |x| x.requests as f64)
                            })
                            .collect()
                    })
                    .collect(),
            }),
        },
    ];
    if !r.compliance.flags.is_empty() {
        out.push(Figure {
            name: "compliance_flags",
            chart: Chart::Share(ShareChart {
                title: "Flagged calls by flag".into(),
                items: r.compliance.flags.iter().map(|k| (k.key.clone(), k.count as f64)).collect(),
            }),
        });
    }
    out
}
