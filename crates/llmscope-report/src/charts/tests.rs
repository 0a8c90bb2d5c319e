//! Tests of the rendered SVG documents, across all chart types: structure,
//! counts, escaping, determinism, and property tests on hostile input.

use proptest::prelude::*;
use resvg::usvg;

use super::*;

fn parses(svg: &str) -> bool {
    usvg::Tree::from_str(svg, &usvg::Options::default()).is_ok()
}

fn count(svg: &str, pattern: &str) -> usize {
    svg.matches(pattern).count()
}

/// The contents of every `<text>` element, unescaped only as far as the
/// tests need.
fn texts(svg: &str) -> Vec<&str> {
    svg.split("<text ")
        .skip(1)
        .filter_map(|t| t.split_once('>').and_then(|(_, rest)| rest.split_once("</text>")))
        .map(|(content, _)| content)
        .collect()
}

fn hours() -> BarChart {
    BarChart {
        title: "Requests by hour of day".into(),
        x_label: "hour (UTC)".into(),
        y_label: "requests".into(),
        labels: (0..24).map(|h| format!("{h:02}")).collect(),
        values: (0..24).map(|h| f64::from((h * 53) % 87 + 1)).collect(),
    }
}

fn latency() -> Histogram {
    let edges = [0.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0];
    let mut buckets: Vec<HistogramBucket> = edges
        .windows(2)
        .zip([3, 40, 120, 80, 22, 6])
        .map(|(w, count)| HistogramBucket { lo: w[0], hi: Some(w[1]), count })
        .collect();
    buckets.push(HistogramBucket { lo: 5000.0, hi: None, count: 2 });
    Histogram { title: "Latency".into(), x_label: "latency (ms)".into(), y_label: "calls".into(), buckets }
}

fn p95() -> LineChart {
    LineChart {
        title: "p95 latency by day".into(),
        y_label: "ms".into(),
        x_labels: (1..=10).map(|d| format!("2024-05-{d:02}")).collect(),
        series: vec![
            Series {
                name: "gpt-4o".into(),
                values: vec![Some(900.0), Some(950.0), None, Some(1200.0), Some(1100.0)]
                    .into_iter()
                    .chain([Some(980.0), Some(1010.0), None, None, Some(870.0)])
                    .collect(),
            },
            Series {
                name: "通义千问".into(), values: (0..10).map(|i| Some(400.0 + 25.0 * f64::from(i))).collect()
            },
        ],
    }
}

fn shares(n: usize) -> ShareChart {
    ShareChart {
        title: "Model share".into(),
        items: (0..n).map(|i| (format!("model-{i}"), 1000.0 / (i as f64 + 1.0))).collect(),
    }
}

fn week() -> Heatmap {
    Heatmap {
        title: "Volume by weekday and hour".into(),
        row_labels: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].map(String::from).to_vec(),
        col_labels: (0..24).map(|h| format!("{h:02}")).collect(),
        values: (0..7).map(|d| (0..24).map(|h| f64::from((d * 31 + h * 17) % 97) * 13.0).collect()).collect(),
    }
}

fn all_charts() -> Vec<Chart> {
    vec![hours().into(), latency().into(), p95().into(), shares(5).into(), week().into()]
}

#[test]
fn every_chart_is_a_standalone_svg_that_parses() {
    for chart in all_charts() {
        let svg = render_svg(&chart);
        assert!(
            svg.starts_with(
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"800\" height=\"360\" \
                 viewBox=\"0 0 800 360\""
            ),
            "{}",
            &svg[..100]
        );
        assert!(svg.ends_with("</svg>\n"));
        assert!(parses(&svg), "{} does not parse", chart.title());
        assert!(texts(&svg).contains(&chart.title()), "no title in {}", chart.title());
        assert!(!svg.contains("No data"));
    }
}

#[test]
fn bar_count_matches_data() {
    let mut chart = hours();
    assert_eq!(count(&render_svg(&chart.clone().into()), "<rect class=\"bar\""), 24);
    // Missing values draw no bar; extra labels are ignored.
    chart.values[3] = f64::NAN;
    chart.values[4] = f64::INFINITY;
    chart.labels.push("extra".into());
    let svg = render_svg(&chart.into());
    assert_eq!(count(&svg, "<rect class=\"bar\""), 22);
    assert!(!texts(&svg).contains(&"extra"));
}

#[test]
fn bar_labels_ticks_and_values() {
    let svg = render_svg(&hours().into());
    let texts = texts(&svg);
    // Values 1..=85: ticks every 20 up to 100, every hour labelled, values
    // on top of the bars.
    assert_eq!(hours().values.iter().copied().fold(0.0, f64::max), 85.0);
    for t in ["0", "20", "40", "60", "80", "100", "00", "12", "23", "85"] {
        assert!(texts.contains(&t), "missing {t:?} in {texts:?}");
    }
    assert!(texts.contains(&"hour (UTC)") && texts.contains(&"requests"));
    let big = BarChart { values: vec![1234.0, 3_400_000.0], labels: vec!["a".into(), "b".into()], ..hours() };
    let svg_big = render_svg(&big.into());
    let texts_big = super::tests::texts(&svg_big);
    assert!(texts_big.contains(&"1.2k") && texts_big.contains(&"3.4M"), "{texts_big:?}");
}

#[test]
fn histogram_bars_and_open_bucket() {
    let svg = render_svg(&latency().into());
    assert_eq!(count(&svg, "<rect class=\"bar\""), 7);
    let texts = texts(&svg);
    assert!(texts.contains(&"≥ 5k"), "{texts:?}");
    assert!(texts.contains(&"100–250"), "{texts:?}");
}

#[test]
fn line_chart_gaps_points_and_legend() {
    let svg = render_svg(&p95().into());
    assert_eq!(count(&svg, "<path class=\"line\""), 2);
    // 7 + 10 present values, all drawn as points with only 10 x values.
    assert_eq!(count(&svg, "<circle class=\"point\""), 17);
    // The first series has two gaps, so its path is three runs.
    let first = svg.split("<path class=\"line\" d=\"").nth(1).unwrap_or_default();
    let d = first.split('"').next().unwrap_or_default();
    assert_eq!(d.matches('M').count(), 3, "{d}");
    let texts = texts(&svg);
    assert!(texts.contains(&"gpt-4o") && texts.contains(&"通义千问"));
    assert_eq!(count(&svg, "<rect class=\"legend\""), 2);
    // A single series has no legend.
    let mut one = p95();
    one.series.truncate(1);
    assert_eq!(count(&render_svg(&one.into()), "class=\"legend\""), 0);
}

#[test]
fn share_groups_tail_into_other() {
    for n in 1..=8 {
        let svg = render_svg(&shares(n).into());
        assert_eq!(count(&svg, "<rect class=\"bar\""), n);
        assert!(!svg.contains("other"));
    }
    let svg = render_svg(&shares(12).into());
    assert_eq!(count(&svg, "<rect class=\"bar\""), 8);
    assert!(texts(&svg).contains(&"other (5)"));
    // One item is the whole.
    let svg = render_svg(&shares(1).into());
    assert!(texts(&svg).iter().any(|t| t.starts_with("100.0%")));
    // Zero, negative and NaN amounts are left out.
    let chart = ShareChart {
        title: "s".into(),
        items: vec![
            ("a".into(), 3.0),
            ("b".into(), 0.0),
            ("c".into(), -1.0),
            ("d".into(), f64::NAN),
            ("e".into(), 1.0),
        ],
    };
    let svg = render_svg(&chart.into());
    assert_eq!(count(&svg, "<rect class=\"bar\""), 2);
    let texts = texts(&svg);
    assert!(texts.contains(&"75.0%  ·  3") && texts.contains(&"25.0%  ·  1"), "{texts:?}");
}

#[test]
fn heatmap_cells() {
    let svg = render_svg(&week().into());
    assert_eq!(count(&svg, "<rect class=\"cell\""), 7 * 24);
    let texts = texts(&svg);
    assert!(texts.contains(&"Mon") && texts.contains(&"Sun") && texts.contains(&"23"));
    // Ragged rows: missing cells still drawn (grey), extra values ignored.
    let ragged = Heatmap {
        title: "r".into(),
        row_labels: vec!["a".into(), "b".into()],
        col_labels: vec!["x".into(), "y".into(), "z".into()],
        values: vec![vec![1.0], vec![1.0, 2.0, 3.0, 4.0], vec![9.0]],
    };
    let svg = render_svg(&ragged.into());
    assert_eq!(count(&svg, "<rect class=\"cell\""), 6);
    assert_eq!(count(&svg, "fill=\"#f3f4f6\""), 2);
}

#[test]
fn text_is_escaped() {
    let chart = BarChart {
        title: "a <&> \"b\" 'c'".into(),
        labels: vec!["<x>".into()],
        values: vec![1.0],
        ..Default::default()
    };
    let svg = render_svg(&chart.into());
    assert!(svg.contains("a &lt;&amp;&gt; &quot;b&quot; &apos;c&apos;"));
    assert!(!svg.contains("<&>") && !svg.contains("<x>"));
    assert!(svg.contains("&lt;x&gt;"));
    assert!(parses(&svg));
}

#[test]
fn rendering_is_deterministic() {
    for chart in all_charts() {
        assert_eq!(render_svg(&chart), render_svg(&chart.clone()));
    }
    assert_ne!(render_svg(&hours().into()), render_svg(&week().into()));
}

#[test]
fn empty_charts_say_no_data() {
    let empty: Vec<Chart> = vec![
        BarChart::default().into(),
        BarChart { labels: vec!["a".into()], values: vec![f64::NAN], ..Default::default() }.into(),
        Histogram::default().into(),
        LineChart { x_labels: vec!["a".into()], series: vec![Series::default()], ..Default::default() }.into(),
        ShareChart { title: "t".into(), items: vec![("a".into(), 0.0)] }.into(),
        Heatmap {
            row_labels: vec!["a".into()],
            col_labels: vec!["b".into()],
            values: vec![vec![]],
            ..Default::default()
        }
        .into(),
    ];
    for chart in empty {
        let svg = render_svg(&chart);
        assert!(texts(&svg).contains(&"No data"), "{chart:?}");
        assert!(!svg.contains("class=\"bar\"") && !svg.contains("class=\"cell\""));
        assert!(parses(&svg));
    }
}

#[test]
fn thousands_of_labels_are_thinned() {
    let n = 5000;
    let chart = BarChart {
        title: "many".into(),
        labels: (0..n).map(|i| format!("label-{i}")).collect(),
        values: (0..n).map(f64::from).collect(),
        ..Default::default()
    };
    let svg = render_svg(&chart.into());
    assert_eq!(count(&svg, "<rect class=\"bar\""), 5000);
    let shown = texts(&svg).iter().filter(|t| t.starts_with("label-")).count();
    // ~716 px of plot, ~70 px per label: about ten labels, never thousands.
    assert!((5..=12).contains(&shown), "{shown} labels");
    assert!(parses(&svg));
}

#[test]
fn negative_values_hang_below_zero() {
    let chart = BarChart { labels: vec!["a".into(), "b".into()], values: vec![-50.0, 100.0], ..Default::default() };
    let svg = render_svg(&chart.into());
    assert_eq!(count(&svg, "<rect class=\"bar\""), 2);
    assert!(texts(&svg).contains(&"-50"));
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -1e4..1e7f64,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(0.0),
        1 => Just(f64::MAX),
        2 => any::<f64>(),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9 ]{0,12}",
        "[<>&\"'模型日本語 ]{0,8}",
        prop::collection::vec(any::<char>(), 0..16).prop_map(|cs| cs.into_iter().collect()),
    ]
}

fn check(svg: &str) -> Result<(), TestCaseError> {
    prop_assert!(parses(svg), "does not parse: {}", svg);
    // Every coordinate is a finite number (text is escaped, so `x="` only
    // ever starts an attribute).
    for attr in [" x=\"", " y=\"", " width=\"", " height=\"", " cx=\"", " cy=\"", " x1=\"", " y2=\""] {
        for rest in svg.split(attr).skip(1) {
            let value = rest.split('"').next().unwrap_or_default();
            let parsed: Result<f64, _> = value.parse();
            prop_assert!(parsed.is_ok_and(f64::is_finite), "{}{}\"", attr, value);
        }
    }
    prop_assert!(!svg.contains("NaN"));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn bar_never_panics(
        title in text(),
        labels in prop::collection::vec(text(), 0..300),
        values in prop::collection::vec(value(), 0..300),
    ) {
        let n = labels.len().min(values.len());
        let present = values[..n].iter().filter(|v| v.is_finite()).count();
        let svg = render_svg(&BarChart { title, labels, values, ..Default::default() }.into());
        check(&svg)?;
        prop_assert_eq!(count(&svg, "<rect class=\"bar\""), present);
    }

    #[test]
    fn histogram_never_panics(
        buckets in prop::collection::vec((value(), prop::option::of(value()), any::<u64>()), 0..60),
    ) {
        let n = buckets.len();
        let buckets = buckets.into_iter().map(|(lo, hi, count)| HistogramBucket { lo, hi, count }).collect();
        let svg = render_svg(&Histogram { buckets, ..Default::default() }.into());
        check(&svg)?;
        prop_assert_eq!(count(&svg, "<rect class=\"bar\""), n);
    }

    #[test]
    fn line_never_panics(
        y_label in text(),
        x_labels in prop::collection::vec(text(), 0..200),
        series in prop::collection::vec(
            (text(), prop::collection::vec(prop::option::of(value()), 0..200)), 0..12),
    ) {
        let series = series.into_iter().map(|(name, values)| Series { name, values }).collect();
        check(&render_svg(&LineChart { title: "t".into(), y_label, x_labels, series }.into()))?;
    }

    #[test]
    fn share_never_panics(items in prop::collection::vec((text(), value()), 0..40)) {
        let positive = items.iter().filter(|(_, v)| v.is_finite() && *v > 0.0).count();
        let svg = render_svg(&ShareChart { title: "t".into(), items }.into());
        check(&svg)?;
        prop_assert_eq!(count(&svg, "<rect class=\"bar\""), positive.min(8));
    }

    #[test]
    fn heatmap_never_panics(
        row_labels in prop::collection::vec(text(), 0..12),
        col_labels in prop::collection::vec(text(), 0..40),
        values in prop::collection::vec(prop::collection::vec(value(), 0..40), 0..12),
    ) {
        check(&render_svg(&Heatmap { title: "t".into(), row_labels, col_labels, values }.into()))?;
    }
}

/// Renders one realistic chart of each type to PNG and SVG files in
/// `$TMPDIR/charts-sample-<pid>/` (kept, to look at by eye) and checks each
/// PNG decodes.
#[test]
fn write_samples() {
    let dir = std::env::temp_dir().join(format!("charts-sample-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create sample dir");
    let days = BarChart {
        title: "Requests by day".into(),
        x_label: "day".into(),
        y_label: "requests".into(),
        labels: (1..=31).map(|d| format!("2024-05-{d:02}")).collect(),
        values: (1..=31).map(|d| f64::from(d * 7919 % 5000 + 800)).collect(),
    };
    let mut p95 = p95();
    p95.series.push(Series { name: "claude-3-5-sonnet".into(), values: vec![Some(1500.0); 10] });
    let share = ShareChart {
        title: "Calls by model".into(),
        items: [
            "gpt-4o",
            "gpt-4o-mini",
            "claude-3-5-sonnet",
            "通义千问-max",
            "deepseek-chat",
            "llama-3.1-70b",
            "mistral-large",
            "gemini-1.5-pro",
            "qwen2.5-72b",
            "o1-mini",
            "glm-4",
            "yi-large",
        ]
        .iter()
        .enumerate()
        .map(|(i, m)| ((*m).to_owned(), 52_000.0 / (i as f64 + 1.0).powf(1.3)))
        .collect(),
    };
    let charts: Vec<(&str, Chart)> = vec![
        ("bar", hours().into()),
        ("bar-days", days.into()),
        ("histogram", latency().into()),
        ("line", p95.into()),
        ("share", share.into()),
        ("heatmap", week().into()),
        ("empty", LineChart { title: "Nothing yet".into(), ..Default::default() }.into()),
    ];
    for (name, chart) in charts {
        let png = render_png_chart(&chart).expect("renders");
        let decoded = resvg::tiny_skia::Pixmap::decode_png(&png).expect("decodes");
        assert!(decoded.width() > 0, "{name}");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write png");
        std::fs::write(dir.join(format!("{name}.svg")), render_svg(&chart)).expect("write svg");
    }
}
