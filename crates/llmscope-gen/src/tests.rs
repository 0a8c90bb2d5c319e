//! End-to-end checks of `generate`: determinism, exact field sets, time
//! order, fault rates, PII validity, the daily curve, and the stats against
//! an independent re-count of the written lines.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDateTime};
use serde_json::{Map, Value};

use crate::pii::{is_valid_cn_id, luhn_valid};
use crate::{generate, Format, GenConfig, GenStats};

fn run(cfg: &GenConfig) -> (String, GenStats) {
    let mut out = Vec::new();
    let stats = generate(cfg, &mut out).expect("generate into a Vec");
    (String::from_utf8(out).expect("utf-8 output"), stats)
}

fn cfg(format: Format, calls: u64) -> GenConfig {
    GenConfig {
        calls,
        format,
        ..GenConfig::default()
    }
}

fn lines(s: &str) -> Vec<Value> {
    assert!(s.is_empty() || s.ends_with('\n'));
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn obj(v: &Value) -> &Map<String, Value> {
    v.as_object().unwrap_or_else(|| panic!("not an object: {v}"))
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} not a string in {v}"))
}

fn detect(v: &Value) -> Format {
    let o = obj(v);
    if o.contains_key("input_category") {
        Format::Seed000Enhanced
    } else if o.contains_key("user_input") {
        Format::Seed000Basic
    } else if o.contains_key("level") {
        Format::Seed001
    } else if o.contains_key("message") {
        Format::Seed004
    } else {
        assert!(o.contains_key("request"), "unknown line {v}");
        Format::OpenAiPair
    }
}

/// Checks that `o` has all of `required`, some of `optional`, nothing else.
fn keys(o: &Map<String, Value>, required: &[&str], optional: &[&str]) {
    for k in required {
        assert!(o.contains_key(*k), "missing {k} in {o:?}");
    }
    for k in o.keys() {
        assert!(
            required.contains(&k.as_str()) || optional.contains(&k.as_str()),
            "extra {k} in {o:?}"
        );
    }
}

fn check_fields(v: &Value) {
    let o = obj(v);
    match detect(v) {
        Format::Seed000Basic => {
            keys(o, &["timestamp", "user_input", "model_response", "metadata"], &[]);
            let m = obj(&v["metadata"]);
            let req = ["session_id", "message_id", "response_time", "token_count", "model_name"];
            keys(m, &req, &["user_id"]);
            assert!(m["response_time"].is_f64() && m["token_count"].is_u64());
        }
        Format::Seed000Enhanced => {
            keys(
                o,
                &[
                    "timestamp", "session_id", "message_id", "user_input", "input_length",
                    "input_category", "model_response", "response_length", "response_time",
                    "token_count", "quality_rating", "confidence_score", "has_safety_issue",
                    "model_name", "model_version",
                ],
                &[],
            );
            let cat = s(v, "input_category");
            assert!(["technical", "creative", "general", "other"].contains(&cat));
            let q = s(v, "quality_rating");
            assert!(["excellent", "good", "fair", "poor"].contains(&q));
            let c = v["confidence_score"].as_f64().unwrap_or(-1.0);
            assert!((0.0..=1.0).contains(&c));
            let len = s(v, "user_input").chars().count() as u64;
            assert_eq!(v["input_length"].as_u64(), Some(len));
            let len = s(v, "model_response").chars().count() as u64;
            assert_eq!(v["response_length"].as_u64(), Some(len));
        }
        Format::Seed001 => {
            keys(
                o,
                &["timestamp", "level", "request_id", "model", "input", "output", "metadata"],
                &[],
            );
            assert!(v["timestamp"].is_i64());
            let m = obj(&v["metadata"]);
            let req = [
                "prompt_tokens", "completion_tokens", "total_tokens", "first_token_latency_ms",
                "total_latency_ms", "device", "temperature", "function_calling", "json_mode",
            ];
            keys(m, &req, &["user_id", "session_id", "status_code", "error"]);
            let failed = s(v, "level") == "ERROR";
            assert!(failed || s(v, "level") == "INFO");
            assert_eq!(m.contains_key("status_code"), failed);
            assert_eq!(m.contains_key("error"), failed);
            assert_eq!(m.contains_key("user_id"), m.contains_key("session_id"));
            let id = s(v, "request_id");
            assert!(id.len() == 16 && id.starts_with("req_"));
            let total = m["prompt_tokens"].as_u64().zip(m["completion_tokens"].as_u64());
            assert_eq!(total.map(|(a, b)| a + b), m["total_tokens"].as_u64());
        }
        Format::Seed004 => {
            keys(
                o,
                &[
                    "message", "time", "request_id", "user_id", "model_version", "input_tokens",
                    "output_tokens", "latency_ms", "prompt_length", "response_length",
                ],
                &[],
            );
            let msg = format!("LLM request processed for user {}", s(v, "user_id"));
            assert_eq!(s(v, "message"), msg);
            assert_eq!(s(v, "request_id").len(), 36);
        }
        Format::OpenAiPair | Format::Mixed => {
            let req = ["timestamp", "latency_ms", "user_id", "session_id", "request", "response"];
            keys(o, &req, &["status_code", "ttft_ms"]);
            let r = obj(&v["request"]);
            let req = ["model", "messages", "temperature", "stream", "user"];
            keys(r, &req, &["response_format", "tools"]);
            if o.contains_key("ttft_ms") {
                assert_eq!(r["stream"], Value::Bool(true));
            }
            let msgs = r["messages"].as_array().map_or(&[][..], |a| a.as_slice());
            assert!(!msgs.is_empty() && msgs.len() % 2 == 1 || msgs[0]["role"] == "system");
            assert_eq!(msgs.last().map(|m| &m["role"]), Some(&Value::from("user")));
            for m in msgs {
                keys(obj(m), &["role", "content"], &[]);
            }
            let resp = obj(&v["response"]);
            if o.contains_key("status_code") {
                keys(resp, &["error"], &[]);
                keys(obj(&resp["error"]), &["message", "type", "code"], &[]);
                assert!(!o.contains_key("ttft_ms"));
            } else {
                let req = ["id", "object", "created", "model", "choices", "usage"];
                keys(resp, &req, &[]);
                assert_eq!(resp["object"], "chat.completion");
                assert!(s(&v["response"], "id").starts_with("chatcmpl-"));
                let ch = obj(&resp["choices"][0]);
                keys(ch, &["index", "message", "finish_reason"], &[]);
                keys(obj(&ch["message"]), &["role", "content"], &["tool_calls"]);
                let fin = ch["finish_reason"].as_str().unwrap_or("");
                assert!(["stop", "length", "tool_calls"].contains(&fin));
                assert_eq!(fin == "tool_calls", obj(&ch["message"]).contains_key("tool_calls"));
                assert_eq!(fin == "tool_calls", r.contains_key("tools"));
                let u = obj(&resp["usage"]);
                let req = ["prompt_tokens", "completion_tokens", "total_tokens"];
                keys(u, &[&req[..], &["prompt_tokens_details"]].concat(), &[]);
                keys(obj(&u["prompt_tokens_details"]), &["cached_tokens"], &[]);
            }
        }
    }
}

/// The line's time in microseconds since the epoch, truncated to what the
/// format shows.
fn time_us(v: &Value, tz: i32) -> i64 {
    let naive = |t: &str| {
        NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f")
            .unwrap_or_else(|e| panic!("{e}: {t}"))
            .and_utc()
            .timestamp_micros()
    };
    match detect(v) {
        Format::Seed000Basic | Format::Seed000Enhanced => {
            naive(s(v, "timestamp")) - i64::from(tz) * 3_600_000_000
        }
        Format::Seed001 => v["timestamp"].as_i64().unwrap_or(0) * 1_000_000,
        Format::Seed004 => naive(s(v, "time")),
        _ => DateTime::parse_from_rfc3339(s(v, "timestamp"))
            .map(|d| d.timestamp_micros())
            .unwrap_or(0),
    }
}

/// The new user message and the answer text of a line (`None` for seed004).
fn texts(v: &Value) -> Option<(String, String)> {
    let (i, o) = match detect(v) {
        Format::Seed000Basic | Format::Seed000Enhanced => {
            (s(v, "user_input"), s(v, "model_response"))
        }
        Format::Seed001 => (s(v, "input"), s(v, "output")),
        Format::Seed004 => return None,
        _ => {
            let msgs = v["request"]["messages"].as_array()?;
            let input = msgs.last()?["content"].as_str()?;
            (input, v["response"]["choices"][0]["message"]["content"].as_str().unwrap_or(""))
        }
    };
    Some((i.to_string(), o.to_string()))
}

/// PII found by scanning text, independent of the generator.
fn find_pii(t: &str) -> Vec<String> {
    let mut found = Vec::new();
    if t.contains('@') {
        found.push("email".into());
    }
    if let Some(i) = t.find("sk-") {
        let key: String = t[i + 3..].chars().take_while(char::is_ascii_alphanumeric).collect();
        assert_eq!(key.len(), 48, "{t}");
        found.push("key".into());
    }
    let b = t.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.' || b[i] == b'X') {
            i += 1;
        }
        let run = t[start..i].trim_end_matches('.');
        let dots = run.matches('.').count();
        if dots == 3 && run.split('.').all(|p| !p.is_empty() && p.len() <= 3) {
            found.push(format!("ip:{run}"));
        } else if dots == 0 {
            let n = run.len();
            if n == 18 {
                assert!(is_valid_cn_id(run), "bad id {run}");
                found.push(format!("id:{run}"));
            } else if n == 16 || n == 19 {
                assert!(luhn_valid(run), "bad card {run}");
                found.push(format!("card:{run}"));
            } else if n == 11 && run.starts_with('1') && (b'3'..=b'9').contains(&run.as_bytes()[1]) {
                found.push(format!("phone:{run}"));
            } else {
                assert!(n < 7, "stray digit run {run} in {t}");
            }
        }
    }
    found
}

const REFUSALS: [&str; 2] = ["抱歉，我无法回答这个问题。", "I'm sorry, but I can't help with that."];
const JAILBREAK: [&str; 3] = ["忽略上述指令", "Ignore all previous instructions", "DAN"];

/// Re-counts from the lines alone. Returns the stats and, per field, whether
/// every line's format could show it.
fn recount(text: &str) -> GenStats {
    let mut st = GenStats {
        bytes: text.len() as u64,
        ..GenStats::default()
    };
    for v in lines(text) {
        st.lines += 1;
        let fmt = detect(&v);
        let failed = match fmt {
            Format::Seed000Basic | Format::Seed000Enhanced => {
                let r = if fmt == Format::Seed000Basic { "model_response" } else { "model_response" };
                s(&v, r).starts_with("Error: ")
            }
            Format::Seed001 => s(&v, "level") == "ERROR",
            Format::Seed004 => false,
            _ => v.get("status_code").is_some(),
        };
        st.errors += u64::from(failed);
        let json_mode = match fmt {
            Format::Seed001 => v["metadata"]["json_mode"] == Value::Bool(true),
            Format::OpenAiPair => v["request"].get("response_format").is_some(),
            _ => false,
        };
        st.json_mode += u64::from(json_mode);
        let Some((input, output)) = texts(&v) else { continue };
        let tool = output.starts_with("[tool_call] ")
            || v["response"]["choices"][0]["message"].get("tool_calls").is_some();
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
    assert_eq!(seen.len(), 5);
}

#[test]
fn times_are_ordered_and_inside_the_window() {
    for f in Format::ALL {
        for tz in [8, 0, -5] {
            let c = GenConfig {
                tz_offset_hours: tz,
                ..cfg(f, 5_000)
            };
            let start = c.start.timestamp_micros();
            let end = start + i64::from(c.days) * 86_400_000_000;
            let (text, _) = run(&c);
            let mut prev = i64::MIN;
            for v in lines(&text) {
                let mut t = time_us(&v, tz);
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
        let local = time_us(&v, 0) + i64::from(c.tz_offset_hours) * 3_600_000_000;
        by_hour[local.div_euclid(3_600_000_000).rem_euclid(24) as usize] += 1;
    }
    let night = by_hour[3] + by_hour[4];
    let day = by_hour[10] + by_hour[11];
    assert!(night * 5 < day, "{by_hour:?}");
}

#[test]
fn stats_match_a_recount() {
    for f in [Format::Seed001, Format::OpenAiPair] {
        let (text, st) = run(&cfg(f, 20_000));
        assert_eq!(recount(&text), st, "{f}");
    }
    for f in [Format::Seed000Basic, Format::Seed000Enhanced] {
        let (text, st) = run(&cfg(f, 20_000));
        let r = recount(&text);
        // seed000 shows no JSON-mode flag.
        let expect = GenStats {
            json_mode: 0,
            broken_json: 0,
            ..st
        };
        assert_eq!(r, expect, "{f}");
    }
    let (text, st) = run(&cfg(Format::Seed004, 2_000));
    assert_eq!((st.lines, st.bytes), (2_000, text.len() as u64));
    let (text, st) = run(&cfg(Format::Mixed, 20_000));
    let r = recount(&text);
    assert_eq!((r.lines, r.bytes), (st.lines, st.bytes));
    for (seen, truth) in [
        (r.errors, st.errors),
        (r.with_pii, st.with_pii),
        (r.refusals, st.refusals),
        (r.jailbreaks, st.jailbreaks),
    ] {
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
    let (text, st) = run(&GenConfig {
        users: 1,
        days: 1,
        ..cfg(Format::OpenAiPair, 50)
    });
    assert_eq!(st.lines, 50);
    assert_eq!(lines(&text).len(), 50);
    let bad = GenConfig {
        days: 0,
        ..GenConfig::default()
    };
    assert!(generate(&bad, std::io::sink()).is_err());
}

#[test]
fn speed_print_only() {
    let c = cfg(Format::Mixed, 200_000);
    let t = std::time::Instant::now();
    let st = generate(&c, std::io::sink()).expect("sink never fails");
    let secs = t.elapsed().as_secs_f64();
    println!(
        "generated {} lines, {} bytes in {secs:.2}s: {:.0} lines/s",
        st.lines,
        st.bytes,
        st.lines as f64 / secs
    );
}
