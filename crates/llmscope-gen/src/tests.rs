//! End-to-end checks of `generate`: determinism, exact field sets, time
//! order, fault rates, PII validity, the daily curve, and the stats against
//! an independent re-count of the written lines.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::test_lines::{check_fields, detect, failed, find_pii, s, texts, time_us, tool_called};
use crate::{generate, Format, GenConfig, GenStats};

fn run(cfg: &GenConfig) -> (String, GenStats) {
    let mut out = Vec::new();
    let stats = generate(cfg, &mut out).expect("generate into a Vec");
    (String::from_utf8(out).expect("utf-8 output"), stats)
}

fn cfg(format: Format, calls: u64) -> GenConfig {
    GenConfig { calls, format, ..GenConfig::default() }
}

fn lines(s: &str) -> Vec<Value> {
    assert!(s.is_empty() || s.ends_with('\n'));
    s.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

const REFUSALS: [&str; 2] = ["抱歉，我无法回答这个问题。", "I'm sorry, but I can't help with that."];
const JAILBREAK: [&str; 3] = ["忽略上述指令", "Ignore all previous instructions", "DAN"];

/// Re-counts from the lines alone; seed004 lines add only to `lines` and
/// `bytes`, and only seed001 and openai lines show the JSON-mode flag.
fn recount(text: &str) -> GenStats {
    let mut st = GenStats { bytes: text.len() as u64, ..GenStats::default() };
    for v in lines(text) {
        st.lines += 1;
        let fmt = detect(&v);
        let failed = failed(&v);
        st.errors += u64::from(failed);
        let json_mode = match fmt {
            Format::Seed001 => v["metadata"]["json_mode"] == Value::Bool(true),
            Format::OpenAiPair => v["request"].get("response_format").is_some(),
            Format::OpenAiResponse => v["text"]["format"]["type"] == "json_object",
            Format::Native => v["json_mode"] == Value::Bool(true),
            Format::LiteLlm => v["model_parameters"].get("response_format").is_some(),
            Format::Langfuse => v["modelParameters"].get("response_format").is_some(),
            Format::OpenAiBatchInput => v["body"].get("response_format").is_some(),
            Format::Ollama => v["request"]["format"] == "json",
            Format::Gemini => v["request"]["generationConfig"]["responseMimeType"] == "application/json",
            // (The Messages API has no schemaless JSON mode: the prompt alone asks for JSON.)
            _ => false,
        };
        st.json_mode += u64::from(json_mode);
        let Some((input, output)) = texts(&v) else {
            continue;
        };
        let tool = tool_called(&v);
        st.empty_outputs += u64::from(!failed && !tool && output.is_empty());
        let broken = json_mode && !failed && serde_json::from_str::<Value>(&output).is_err();
        st.broken_json += u64::from(broken);
        let pii = !find_pii(&input).is_empty() || !find_pii(&output).is_empty();
        st.with_pii += u64::from(pii);
        st.refusals += u64::from(!failed && REFUSALS.iter().any(|r| output.starts_with(r)));
        st.jailbreaks += u64::from(JAILBREAK.iter().any(|j| input.contains(j)));
    }
    st
}

#[test]
fn same_config_same_bytes_other_seed_other_bytes() {
    for f in Format::ALL {
        let c = cfg(f, 3_000);
        let (a, sa) = run(&c);
        let (b, sb) = run(&c);
        assert_eq!(a, b, "{f}");
        assert_eq!(sa, sb);
        let (d, _) = run(&GenConfig { seed: 43, ..c });
        assert_ne!(a, d, "{f}");
    }
}

#[test]
fn formats_write_the_same_calls() {
    let inputs = |f: Format, key: &str| -> Vec<String> {
        let (text, _) = run(&cfg(f, 2_000));
        lines(&text).iter().map(|v| s(v, key).to_string()).collect()
    };
    let a = inputs(Format::Seed001, "input");
    assert_eq!(a, inputs(Format::Seed000Basic, "user_input"));
    assert_eq!(a, inputs(Format::Seed000Enhanced, "user_input"));
    let pairs = |f: Format| -> Vec<(String, String)> {
        let (text, _) = run(&cfg(f, 2_000));
        lines(&text).iter().map(|v| texts(v).unwrap_or_default()).collect()
    };
    let openai = pairs(Format::OpenAiPair);
    assert_eq!(openai.iter().map(|(i, _)| i.clone()).collect::<Vec<_>>(), a);
    // Other providers' pairs ask the same and answer the same (a tool call shows no text).
    for f in [Format::Anthropic, Format::Ollama, Format::Gemini] {
        assert_eq!(pairs(f), openai, "{f}");
    }
}

#[test]
fn every_line_has_exactly_the_documented_fields() {
    let mut seen = BTreeSet::new();
    for f in Format::ALL {
        let (text, stats) = run(&cfg(f, 4_000));
        let vs = lines(&text);
        assert_eq!(vs.len(), 4_000);
        assert_eq!(stats.lines, 4_000);
        for v in &vs {
            check_fields(v);
            let d = detect(v);
            if f != Format::Mixed {
                assert_eq!(d, f);
            }
            seen.insert(d.name());
        }
    }
    assert_eq!(seen.len(), 15);
}

#[test]
fn times_are_ordered_and_inside_the_window() {
    for f in Format::ALL {
        for tz in [8, 0, -5] {
            let c = GenConfig { tz_offset_hours: tz, ..cfg(f, 5_000) };
            let start = c.start.timestamp_micros();
            let end = start + i64::from(c.days) * 86_400_000_000;
            let (text, _) = run(&c);
            let mut prev = i64::MIN;
            for v in lines(&text) {
                let Some(mut t) = time_us(&v, tz) else {
                    let batch = (f == Format::OpenAiBatch && failed(&v)) || f == Format::OpenAiBatchInput;
                    assert!(batch, "only a failed Batch request and a Batch input line have no time: {v}");
                    continue;
                };
                assert!(t >= start && t < end, "{v}");
                if f == Format::Mixed {
                    // Precision differs per format: compare whole seconds.
                    t = t.div_euclid(1_000_000);
                }
                assert!(t >= prev, "out of order: {v}");
                prev = t;
            }
        }
    }
}

#[test]
fn fault_rates_are_roughly_as_specified() {
    let (text, st) = run(&cfg(Format::Seed001, 20_000));
    let n = st.lines as f64;
    let rate = |x: u64| x as f64 / n;
    assert!((0.01..0.04).contains(&rate(st.errors)), "{st:?}");
    assert!((0.005..0.02).contains(&rate(st.empty_outputs)), "{st:?}");
    assert!((0.07..0.13).contains(&rate(st.json_mode)), "{st:?}");
    let broken = st.broken_json as f64 / st.json_mode as f64;
    assert!((0.05..0.16).contains(&broken), "{st:?}");
    assert!((0.01..0.04).contains(&rate(st.refusals)), "{st:?}");
    assert!((0.005..0.02).contains(&rate(st.jailbreaks)), "{st:?}");
    assert!((0.01..0.035).contains(&rate(st.with_pii)), "{st:?}");
    let vs = lines(&text);
    let tools = vs.iter().filter(|v| v["metadata"]["function_calling"] == true).count();
    assert!((0.02..0.07).contains(&(tools as f64 / n)), "{tools}");
    let mut models = std::collections::BTreeMap::new();
    let mut users = BTreeSet::new();
    let mut inputs = std::collections::BTreeMap::new();
    for v in &vs {
        *models.entry(s(v, "model").to_string()).or_insert(0u32) += 1;
        if let Some(u) = v["metadata"]["user_id"].as_str() {
            users.insert(u.to_string());
        }
        *inputs.entry(s(v, "input").to_string()).or_insert(0u32) += 1;
    }
    assert_eq!(models.len(), 5, "{models:?}");
    assert!(models.values().all(|c| *c > 600), "{models:?}");
    assert!(users.len() > 150, "{}", users.len());
    // Popular questions recur, and with variations.
    assert!(inputs.get("How do I deploy vLLM?").copied().unwrap_or(0) > 20);
    assert!(inputs.keys().any(|k| k.starts_with("how do i deploy vllm")));
    assert!(inputs.values().filter(|c| **c >= 10).count() > 60);
}

#[test]
fn planted_ids_and_cards_validate() {
    let (text, _) = run(&cfg(Format::Seed001, 20_000));
    let (mut ids, mut cards, mut phones) = (0, 0, 0);
    for v in lines(&text) {
        if let Some((i, o)) = texts(&v) {
            // find_pii asserts the check digits.
            for p in find_pii(&i).into_iter().chain(find_pii(&o)) {
                ids += usize::from(p.starts_with("id:"));
                cards += usize::from(p.starts_with("card:"));
                phones += usize::from(p.starts_with("phone:"));
            }
        }
    }
    assert!(ids > 10 && cards > 10 && phones > 10, "{ids} {cards} {phones}");
}

#[test]
fn daily_curve_is_quiet_at_night() {
    let c = cfg(Format::Seed004, 20_000);
    let (text, _) = run(&c);
    let mut by_hour = [0u32; 24];
    for v in lines(&text) {
        let local =
            time_us(&v, 0).unwrap_or_else(|| panic!("no time in {v}")) + i64::from(c.tz_offset_hours) * 3_600_000_000;
        by_hour[local.div_euclid(3_600_000_000).rem_euclid(24) as usize] += 1;
    }
    let night = by_hour[3] + by_hour[4];
    let day = by_hour[10] + by_hour[11];
    assert!(night * 5 < day, "{by_hour:?}");
}

#[test]
fn stats_match_a_recount() {
    for f in [Format::Seed001, Format::OpenAiPair, Format::Native] {
        let (text, st) = run(&cfg(f, 20_000));
        assert_eq!(recount(&text), st, "{f}");
    }
    for f in [Format::Seed000Basic, Format::Seed000Enhanced] {
        let (text, st) = run(&cfg(f, 20_000));
        let r = recount(&text);
        // seed000 shows no JSON-mode flag.
        let expect = GenStats { json_mode: 0, broken_json: 0, ..st };
        assert_eq!(r, expect, "{f}");
    }
    // Answers without their request show no input (so neither jailbreaks nor the PII of
    // questions), and JSON mode only where a Responses API response echoes it.
    for f in [Format::OpenAiBatch, Format::OpenAiResponse] {
        let (text, st) = run(&cfg(f, 20_000));
        let r = recount(&text);
        assert_eq!((r.lines, r.bytes, r.errors), (st.lines, st.bytes, st.errors), "{f}");
        assert_eq!((r.empty_outputs, r.refusals, r.jailbreaks), (st.empty_outputs, st.refusals, 0), "{f}");
        assert!(r.with_pii < st.with_pii && r.with_pii > 0, "{f}: {r:?} {st:?}");
        let shown = if f == Format::OpenAiResponse { (st.json_mode / 4, st.json_mode) } else { (0, 0) };
        assert!(r.json_mode >= shown.0 && r.json_mode <= shown.1, "{f}: {r:?} {st:?}");
        assert!(r.broken_json <= st.broken_json, "{f}");
    }
    // The Batch input file shows the requests (their questions and JSON mode), not their outcome.
    let (text, st) = run(&cfg(Format::OpenAiBatchInput, 20_000));
    let r = recount(&text);
    assert_eq!((r.lines, r.bytes, r.json_mode, r.jailbreaks), (st.lines, st.bytes, st.json_mode, st.jailbreaks));
    let (answers, _) = run(&cfg(Format::OpenAiBatch, 20_000));
    for (i, (req, ans)) in lines(&text).iter().zip(lines(&answers)).enumerate() {
        let id = format!("request-{}", i + 1);
        assert_eq!((req["custom_id"].as_str(), ans["custom_id"].as_str()), (Some(id.as_str()), Some(id.as_str())));
    }
    // Other providers' pairs show everything, JSON mode included where the API has one.
    for f in [Format::Ollama, Format::Gemini] {
        let (text, st) = run(&cfg(f, 20_000));
        assert_eq!(recount(&text), st, "{f}");
    }
    let (text, st) = run(&cfg(Format::Anthropic, 20_000));
    assert_eq!(recount(&text), GenStats { json_mode: 0, broken_json: 0, ..st }, "the Messages API has no JSON mode");
    let (text, st) = run(&cfg(Format::Seed004, 2_000));
    assert_eq!((st.lines, st.bytes), (2_000, text.len() as u64));
    let (text, st) = run(&cfg(Format::Mixed, 20_000));
    let r = recount(&text);
    assert_eq!((r.lines, r.bytes), (st.lines, st.bytes));
    for (seen, truth) in
        [(r.errors, st.errors), (r.with_pii, st.with_pii), (r.refusals, st.refusals), (r.jailbreaks, st.jailbreaks)]
    {
        // About a fifth of the lines are seed004, which shows no texts.
        assert!(seen <= truth && seen * 10 >= truth * 6, "{seen} {truth}");
    }
}

#[test]
fn format_names_round_trip() {
    for f in Format::ALL {
        assert_eq!(f.to_string().parse::<Format>(), Ok(f));
    }
    assert_eq!("OpenAI".parse::<Format>(), Ok(Format::OpenAiPair));
    assert!("csv".parse::<Format>().is_err());
}

#[test]
fn edge_configs() {
    let (text, st) = run(&cfg(Format::Mixed, 0));
    assert!(text.is_empty() && st == GenStats::default());
    let (text, st) = run(&GenConfig { users: 1, days: 1, ..cfg(Format::OpenAiPair, 50) });
    assert_eq!(st.lines, 50);
    assert_eq!(lines(&text).len(), 50);
    let bad = GenConfig { days: 0, ..GenConfig::default() };
    assert!(generate(&bad, std::io::sink()).is_err());
}

#[test]
fn speed_print_only() {
    let n = if cfg!(debug_assertions) { 20_000 } else { 200_000 };
    let c = cfg(Format::Mixed, n);
    let t = std::time::Instant::now();
    let st = generate(&c, std::io::sink()).expect("sink never fails");
    let secs = t.elapsed().as_secs_f64();
    println!("generated {} lines, {} bytes in {secs:.2}s: {:.0} lines/s", st.lines, st.bytes, st.lines as f64 / secs);
}
