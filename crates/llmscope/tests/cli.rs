//! End-to-end: the real binary, real files, a real DuckDB store in a temporary directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

type R = Result<(), Box<dyn std::error::Error>>;

fn llmscope(data: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_llmscope"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("LLMSCOPE_CONFIG")
        .env_remove("LLMSCOPE_TZ")
        .env_remove("LLMSCOPE_DATA_DIR")
        .output();
    match out {
        Ok(o) => o,
        Err(e) => panic!("cannot run llmscope: {e}"),
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: Output) -> Output {
    assert!(o.status.success(), "exit {:?}\nstdout:\n{}\nstderr:\n{}", o.status.code(), stdout(&o), stderr(&o));
    o
}

fn report_json(data: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["report", "--format", "json"];
    args.extend_from_slice(extra);
    let o = ok(llmscope(data, &args));
    match serde_json::from_slice(&o.stdout) {
        Ok(v) => v,
        Err(e) => panic!("report is not JSON ({e}): {}", stdout(&o)),
    }
}

fn write(path: &Path, lines: &[String]) -> std::io::Result<PathBuf> {
    std::fs::write(path, lines.join("\n") + "\n")?;
    Ok(path.to_path_buf())
}

/// Ten seed-001 lines with known numbers.
fn known_lines() -> Vec<String> {
    let lat = [100, 200, 300, 400, 500, 600, 700, 800, 900, 5000];
    lat.iter()
        .enumerate()
        .map(|(i, l)| {
            let (level, output, json_mode) = match i {
                3 => ("ERROR", "", false),
                5 => ("INFO", "   ", false),
                7 => ("INFO", "{\"a\": ", true),
                8 => ("INFO", "{\"a\": 1}", true),
                _ => ("INFO", "fine answer", false),
            };
            let question = match i {
                0..=3 => "How do I deploy vLLM?",
                4 | 5 => "how do i deploy vllm",
                6 => "写一首诗",
                _ => "其他问题",
            };
            serde_json::json!({
                "timestamp": 1736157600 + i as i64 * 3600, "level": level, "request_id": format!("req_{i}"),
                "model": if i % 2 == 0 { "qwen2.5-7b-instruct" } else { "gpt-4o-mini" },
                "input": question, "output": output,
                "metadata": {"prompt_tokens": 10, "completion_tokens": 20 * (i + 1), "total_tokens": 10 + 20 * (i + 1),
                    "first_token_latency_ms": l / 10, "total_latency_ms": l, "json_mode": json_mode,
                    "user_id": format!("u{}", i % 3), "session_id": format!("s{}", i % 4), "device": "cuda:0"}
            })
            .to_string()
        })
        .collect()
}

#[test]
fn import_then_report_matches_hand_computed_values() -> R {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let file = write(&dir.path().join("qwen_logs.jsonl"), &known_lines())?;
    let o = ok(llmscope(&data, &["import", file.to_str().unwrap_or_default()]));
    assert!(stdout(&o).contains("imported 10 calls, 0 already present, 0 rejected"), "{}", stdout(&o));

    let r = report_json(&data, &[]);
    assert_eq!(r["requests"]["total"], 10);
    assert_eq!(r["requests"]["errors"], 1);
    assert_eq!(r["requests"]["empty_output"], 2, "the failed call's empty output and the blank one");
    assert_eq!(r["requests"]["success_rate"], 0.8);
    // Latencies 100..900 and 5000: mean 950, p50 = 550, p90 = 900 + 0.1·4100 = 1310.
    assert_eq!(r["latency_ms"]["avg"], 950.0);
    assert_eq!(r["latency_ms"]["p50"], 550.0);
    let p90 = r["latency_ms"]["p90"].as_f64().unwrap_or(0.0);
    assert!((p90 - 1310.0).abs() < 1e-6, "{p90}");
    assert_eq!(r["ttft_ms"]["p50"], 55.0);
    assert_eq!(r["tokens"]["input_total"], 100);
    assert_eq!(r["tokens"]["output_total"], 1100);
    assert_eq!(r["tokens"]["output_avg"], 110.0);
    assert_eq!(r["compliance"]["empty_response"], 2);
    assert_eq!(r["compliance"]["malformed_json"], 1);
    assert_eq!(r["compliance"]["json_mode_calls"], 2);
    assert_eq!(r["by_model"].as_array().map(Vec::len), Some(2));
    assert_eq!(r["by_model"][0]["requests"], 5);
    assert_eq!(r["by_hour"].as_array().map(Vec::len), Some(24));
    assert_eq!(r["by_hour"][10]["requests"], 1, "1736157600 is 10:00 UTC");
    assert_eq!(r["top_questions"][0]["question"], "How do I deploy vLLM?");
    assert_eq!(r["top_questions"][0]["count"], 4);
    assert_eq!(r["top_questions_normalised"][0]["count"], 6);
    assert_eq!(r["top_questions_normalised"][0]["variants"], 2);
    assert_eq!(r["users"]["active"], 3);
    assert_eq!(r["sessions"]["sessions"], 4);
    // qwen is unpriced, gpt-4o-mini priced.
    assert_eq!(r["cost"]["unpriced_models"][0]["model"], "qwen2.5-7b-instruct");
    // Hours follow --tz: 10:00 UTC is 18:00 in Shanghai.
    let r8 = report_json(&data, &["--tz", "Asia/Shanghai"]);
    assert_eq!(r8["by_hour"][18]["requests"], 1);
    // A window.
    let rw = report_json(&data, &["--since", "2025-01-06T10:00:00Z", "--until", "2025-01-06T12:00:00Z"]);
    assert_eq!(rw["requests"]["total"], 2);
    Ok(())
}

#[test]
fn reimport_stores_nothing_twice() -> R {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let file = dir.path().join("mixed.jsonl.gz");
    ok(llmscope(&data, &["gen", "--format", "mixed", "--lines", "3000", "--out", file.to_str().unwrap_or_default()]));
    let first = ok(llmscope(&data, &["import", "--json", file.to_str().unwrap_or_default()]));
    let s: Value = serde_json::from_slice(&first.stdout)?;
    assert_eq!(s["imported"], 3000);
    assert_eq!(s["rejected"], 0);
    let again = ok(llmscope(&data, &["import", "--json", file.to_str().unwrap_or_default()]));
    let s: Value = serde_json::from_slice(&again.stdout)?;
    assert_eq!((s["imported"].as_u64(), s["already_present"].as_u64()), (Some(0), Some(3000)));
    assert_eq!(report_json(&data, &[])["requests"]["total"], 3000);
    Ok(())
}

/// The number before `label` in `gen`'s summary line ("generated 2000 lines (31 errors, …").
/// A command refused with exit code 1, saying `says` on standard error.
fn refused(o: &Output, says: &str) {
    assert_eq!(o.status.code(), Some(1), "{}", stderr(o));
    assert!(stderr(o).contains(says), "{}", stderr(o));
}

/// Lines, imported, joined and rejected of an `import --json` summary.
fn join_counts(summary: &Value) -> [u64; 4] {
    ["lines", "imported", "joined", "rejected"].map(|k| summary[k].as_u64().unwrap_or(u64::MAX))
}

/// The line and reason of each rejected line of an `import --json` summary.
fn reject_reasons(summary: &Value) -> Vec<(u64, String)> {
    summary["rejects"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| (r["line"].as_u64().unwrap_or(0), r["reason"].as_str().unwrap_or("").to_string()))
        .collect()
}

fn gen_count(summary: &str, label: &str) -> u64 {
    let words: Vec<&str> = summary.split([' ', '(', ',']).filter(|w| !w.is_empty()).collect();
    let at = words.iter().position(|w| *w == label).unwrap_or_else(|| panic!("no {label} in {summary}"));
    words[at - 1].parse().unwrap_or_else(|e| panic!("{e}: {summary}"))
}

#[test]
fn every_generated_format_imports_and_only_the_lines_without_a_time_are_rejected() -> R {
    let dir = tempfile::tempdir()?;
    let formats = [
        "seed000-basic",
        "seed000-enhanced",
        "seed001",
        "seed004",
        "openai",
        "mixed",
        "openai-batch",
        "openai-response",
        "native",
        "openai-batch-input",
        "litellm",
        "langfuse",
        "bedrock",
        "anthropic",
        "ollama",
        "gemini",
    ];
    // Request/response pairs, whatever the provider's shapes inside, count as `openai` lines.
    let pairs = ["openai", "anthropic", "ollama", "gemini"];
    for format in formats {
        let data = dir.path().join(format);
        let file = dir.path().join(format!("{format}.jsonl"));
        let file = file.to_str().unwrap_or_default();
        let gen = ok(llmscope(&data, &["gen", "--format", format, "--lines", "2000", "--seed", "9", "--out", file]));
        let errors = gen_count(&stderr(&gen), "errors");
        assert!(errors > 10, "{format}: {}", stderr(&gen));
        let o = llmscope(&data, &["import", "--json", "--no-progress", file]);
        let s: Value = serde_json::from_slice(&o.stdout)?;
        let (imported, rejected) = (s["imported"].as_u64().unwrap_or(0), s["rejected"].as_u64().unwrap_or(0));
        assert_eq!(imported + rejected, 2000, "{format}: {s}");
        if format != "openai-batch-input" {
            let key = match format {
                "mixed" => "seed001",
                f if pairs.contains(&f) => "openai",
                f => f,
            };
            let counted = s["by_format"][key].as_u64();
            assert_eq!(counted.map(|n| n > 0), Some(true), "{s}");
        }
        let r = report_json(&data, &[]);
        assert_eq!(r["requests"]["total"].as_u64(), Some(imported), "{format}");
        match format {
            // A Batch input file alone: requests without their answers, each rejected.
            "openai-batch-input" => {
                assert_eq!((imported, rejected), (0, 2000), "{s}");
                continue;
            }
            // A failed Batch request carries no time: each one is rejected, saying why.
            "openai-batch" => {
                assert_eq!((rejected, o.status.code()), (errors, Some(3)), "{format}: {s}");
                let reasons: Vec<&str> =
                    s["rejects"].as_array().into_iter().flatten().filter_map(|r| r["reason"].as_str()).collect();
                assert!(
                    !reasons.is_empty() && reasons.iter().all(|r| r.contains("no time to place the call")),
                    "{reasons:?}"
                );
                assert_eq!(r["requests"]["errors"], 0);
            }
            _ => {
                assert_eq!((rejected, o.status.code()), (0, Some(0)), "{format}: {s}");
            }
        }
        if format == "native" {
            // llmscope's own records show everything the generator planted.
            let c = &r["compliance"];
            assert_eq!(r["requests"]["errors"].as_u64(), Some(errors));
            assert_eq!(c["json_mode_calls"].as_u64(), Some(gen_count(&stderr(&gen), "JSON-mode")));
            assert_eq!(c["malformed_json"].as_u64(), Some(gen_count(&stderr(&gen), "broken")), "{c}");
            // Failed calls count as empty answers, as seed 001's `empty_response` and the proxy's records.
            let empty = gen_count(&stderr(&gen), "empty");
            assert_eq!(r["requests"]["empty_output"].as_u64(), Some(empty + errors));
        }
        if ["native", "litellm", "langfuse", "bedrock", "anthropic", "ollama", "gemini"].contains(&format) {
            // The planted users and sessions come through (LiteLLM: `end_user`, the caller's
            // metadata; Langfuse: its integrations' metadata keys; Bedrock: `requestMetadata`;
            // other providers' pairs: the proxy's `user_id` and `session_id` around the bodies).
            assert!(r["users"]["active"].as_u64().unwrap_or(0) > 10, "{format}: {}", r["users"]);
            assert!(r["sessions"]["sessions"].as_u64().unwrap_or(0) > 10, "{format}: {}", r["sessions"]);
            assert_eq!(r["sessions"]["calls_without_session"], 0, "{format}");
        }
        if format == "litellm" {
            assert_eq!(r["requests"]["errors"].as_u64(), Some(errors));
            assert_eq!(r["compliance"]["json_mode_calls"].as_u64(), Some(gen_count(&stderr(&gen), "JSON-mode")));
            assert!(r["ttft_ms"]["p50"].as_f64().unwrap_or(0.0) > 0.0, "streamed calls have a TTFT");
        }
        if format == "langfuse" || format == "bedrock" {
            // Failures are failed calls, and the priced models are priced.
            assert_eq!(r["requests"]["errors"].as_u64(), Some(errors), "{format}");
            assert!(r["cost"]["total_usd"].as_f64().unwrap_or(0.0) > 0.0, "{format}: {}", r["cost"]);
        }
        if format == "langfuse" {
            assert_eq!(r["compliance"]["json_mode_calls"].as_u64(), Some(gen_count(&stderr(&gen), "JSON-mode")));
            assert!(r["ttft_ms"]["p50"].as_f64().unwrap_or(0.0) > 0.0, "streamed calls have a TTFT");
        }
        if format == "bedrock" {
            // Bedrock counts the Claude model's prompt-cache reads apart; they come back as cached.
            assert!(r["tokens"]["cached_total"].as_u64().unwrap_or(0) > 0, "{}", r["tokens"]);
        }
        if ["anthropic", "ollama", "gemini"].contains(&format) {
            // Each provider's own error bodies and statuses are failed calls, every one of them.
            assert_eq!(r["requests"]["errors"].as_u64(), Some(errors), "{format}");
            assert!(r["ttft_ms"]["p50"].as_f64().unwrap_or(0.0) > 0.0, "{format}: streamed calls have a TTFT");
        }
        if format == "anthropic" {
            // The Claude models are priced, and their prompt-cache reads come back as cached.
            assert!(r["cost"]["total_usd"].as_f64().unwrap_or(0.0) > 0.0, "{format}: {}", r["cost"]);
            assert!(r["tokens"]["cached_total"].as_u64().unwrap_or(0) > 0, "{}", r["tokens"]);
        }
        if format == "gemini" {
            // Gemini names the model in the URL only: failed calls get theirs from there.
            let models = r["by_model"].as_array().cloned().unwrap_or_default();
            assert!(models.iter().all(|m| m["model"].as_str().is_some_and(|m| m.starts_with("gemini-"))), "{models:?}");
        }
        if format == "ollama" || format == "gemini" {
            // JSON mode is `format: "json"` for Ollama, `responseMimeType` for Gemini.
            let c = &r["compliance"];
            assert_eq!(c["json_mode_calls"].as_u64(), Some(gen_count(&stderr(&gen), "JSON-mode")), "{format}");
            assert_eq!(c["malformed_json"].as_u64(), Some(gen_count(&stderr(&gen), "broken")), "{format}: {c}");
        }
        if format == "openai-response" {
            // Every failure is a failed Responses API response, and JSON mode is echoed there.
            assert_eq!(r["requests"]["errors"].as_u64(), Some(errors));
            assert!(r["compliance"]["json_mode_calls"].as_u64().unwrap_or(0) > 0, "{}", r["compliance"]);
        }
    }
    Ok(())
}

/// `gen`'s Batch input and output files of one configuration, imported together: every
/// answer read gets its prompt; the failed requests (no time) and their requests are rejected.
#[test]
fn generated_batch_files_join() -> R {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let (input, output) = (dir.path().join("in.jsonl"), dir.path().join("out.jsonl.gz"));
    let (input, output) = (input.to_str().unwrap_or(""), output.to_str().unwrap_or(""));
    ok(llmscope(&data, &["gen", "--format", "openai-batch-input", "--lines", "3000", "--seed", "4", "--out", input]));
    let gen =
        ok(llmscope(&data, &["gen", "--format", "openai-batch", "--lines", "3000", "--seed", "4", "--out", output]));
    let errors = gen_count(&stderr(&gen), "errors");
    let o = llmscope(&data, &["import", "--json", "--no-progress", output, input]);
    let s: Value = serde_json::from_slice(&o.stdout)?;
    let counts = join_counts(&s);
    assert_eq!(counts, [6000, 3000 - errors, 3000 - errors, 2 * errors], "{s}");
    let r = report_json(&data, &[]);
    assert!(r["top_questions"].as_array().is_some_and(|q| !q.is_empty()), "the questions come from the requests");
    assert!(r["compliance"]["json_mode_calls"].as_u64().unwrap_or(0) > 0);
    // Told where to place the failed requests, the import stores them as failed calls.
    let placed = dir.path().join("placed");
    let o = llmscope(&placed, &["import", "--json", "--undated-at", "2026-11-01T12:00:00Z", output, input]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s: Value = serde_json::from_slice(&o.stdout)?;
    let counts = join_counts(&s);
    assert_eq!(counts, [6000, 3000, 3000, 0], "{s}");
    assert_eq!(report_json(&placed, &[])["requests"]["errors"].as_u64(), Some(errors));
    let bad = llmscope(&placed, &["import", "--undated-at", "soon", output]);
    refused(&bad, "--undated-at");
    Ok(())
}

/// A Batch input file imported with its output file gives the answers their prompts; a
/// request without an answer, or whose custom_id repeats, is reported, not dropped.
#[test]
fn batch_input_and_output_files_are_joined_by_custom_id() -> R {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let request = |id: &str, q: &str| {
        serde_json::json!({"custom_id": id, "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "temperature": 0.2, "user": "u9",
                     "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": q}]}})
        .to_string()
    };
    let answer = |id: &str, text: &str, created: i64| {
        serde_json::json!({"id": format!("batch_req_{id}"), "custom_id": id, "response": {"status_code": 200,
            "request_id": "req_1", "body": {"id": format!("chatcmpl-{id}"), "object": "chat.completion",
            "created": created, "model": "gpt-4o-mini-2024-07-18", "choices": [{"index": 0,
            "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}}}, "error": null})
        .to_string()
    };
    let input = write(
        &dir.path().join("batch_input.jsonl"),
        &[request("a", "What is 2+2?"), request("b", "Unanswered?"), request("c", "Twice"), request("c", "Twice?")],
    )?;
    let output = write(
        &dir.path().join("batch_output.jsonl"),
        &[answer("a", "4", 1_736_150_400), answer("c", "yes", 1_736_150_460), answer("d", "no request", 1_736_150_520)],
    )?;
    // The input file named first: it is read first whatever the order.
    let o = llmscope(
        &data,
        &["import", "--json", "--no-progress", input.to_str().unwrap_or(""), output.to_str().unwrap_or("")],
    );
    let s: Value = serde_json::from_slice(&o.stdout)?;
    assert_eq!(o.status.code(), Some(3), "{s}");
    let counts = join_counts(&s);
    assert_eq!(counts, [7, 3, 1, 3], "{s}");
    let reasons = reject_reasons(&s);
    assert_eq!(reasons.iter().map(|(l, _)| *l).collect::<Vec<_>>(), vec![2, 3, 4]);
    assert!(reasons[0].1.contains("answer was not read into a call"), "{reasons:?}");
    assert!(reasons[1].1.contains("custom_id \"c\" is given by 2 request lines"), "{reasons:?}");
    // The rejected request lines are copied verbatim, to be fixed and imported again.
    let rejects_file = s["rejects_files"][0].as_str().unwrap_or_default();
    let copied: Vec<String> = std::fs::read_to_string(rejects_file)?.lines().map(str::to_string).collect();
    assert_eq!(copied, vec![request("b", "Unanswered?"), request("c", "Twice"), request("c", "Twice?")]);
    let listed = ok(llmscope(&data, &["calls", "--format", "jsonl", "--order", "oldest"]));
    let calls: Vec<Value> = stdout(&listed).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert_eq!(calls.len(), 3);
    let a = &calls[0];
    assert_eq!((a["client_request_id"].as_str(), a["input_text"].as_str()), (Some("a"), Some("What is 2+2?")));
    assert_eq!(
        (a["user_id"].as_str(), a["temperature"].as_f64(), a["output"].as_str()),
        (Some("u9"), Some(0.2), Some("4"))
    );
    assert_eq!(a["input"][0]["content"], "Be brief.");
    for other in &calls[1..] {
        assert_eq!(other["input_text"], "", "no single request to join: {other}");
    }
    // A second batch: a Responses API request with a plain string input, a request whose
    // answer is rejected (a failed request carries no time), an input file starting with a
    // byte-order mark and named twice.
    let data2 = dir.path().join("data2");
    let responses_req = serde_json::json!({"custom_id": "r1", "method": "POST", "url": "/v1/responses",
        "body": {"model": "gpt-4.1", "input": "Name a colour", "safety_identifier": "h7"}})
    .to_string();
    let input2 = dir.path().join("in2.jsonl");
    std::fs::write(&input2, format!("\u{feff}{responses_req}\n{}\n", request("f1", "Fails?")))?;
    let output2 = write(
        &dir.path().join("out2.jsonl"),
        &[
            serde_json::json!({"id": "batch_req_r1", "custom_id": "r1", "response": {"status_code": 200, "body": {
                "id": "resp_1", "object": "response", "created_at": 1_736_150_400, "status": "completed", "model": "gpt-4.1",
                "output": [{"type": "message", "content": [{"type": "output_text", "text": "Blue"}]}]}}, "error": null})
            .to_string(),
            serde_json::json!({"id": "batch_req_f1", "custom_id": "f1", "response": {"status_code": 500, "body": {
                "error": {"message": "boom", "type": "server_error"}}}, "error": null})
            .to_string(),
        ],
    )?;
    let (i2, o2) = (input2.to_str().unwrap_or(""), output2.to_str().unwrap_or(""));
    let o = llmscope(&data2, &["import", "--json", "--no-progress", o2, i2, i2]);
    let s: Value = serde_json::from_slice(&o.stdout)?;
    let counts = join_counts(&s);
    assert_eq!(counts, [4, 1, 1, 2], "the failed answer and its request are both rejected: {s}");
    let listed = ok(llmscope(&data2, &["calls", "--format", "jsonl"]));
    let r1: Value = serde_json::from_str(stdout(&listed).lines().next().unwrap_or("{}"))?;
    assert_eq!((r1["input_text"].as_str(), r1["user_id"].as_str()), (Some("Name a colour"), Some("h7")), "{r1}");
    assert_eq!(r1["operation"], "responses");
    // The same output file alone again: nothing new, and no prompt needed to match it.
    let again = llmscope(&data, &["import", "--json", "--no-progress", output.to_str().unwrap_or("")]);
    let s: Value = serde_json::from_slice(&again.stdout)?;
    assert_eq!((s["already_present"].as_u64(), s["joined"].as_u64()), (Some(3), Some(0)), "{s}");
    Ok(())
}

#[test]
fn broken_lines_are_reported_by_line_and_the_rest_imported() -> R {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let mut lines = known_lines();
    lines.insert(2, "{\"timestamp\": 1736157600, \"input\": \"q\", \"output\": ".into()); // line 3: bad JSON
    lines.insert(4, "{\"timestamp\": 1736157600, \"input\": \"q\", \"output\": \"a\", \"metadata\": {\"total_latency_ms\": \"slow\"}}".into()); // line 5
    lines.insert(6, String::new()); // line 7: blank, skipped
    lines.insert(7, "{\"what\": \"is this\"}".into()); // line 8
    let file = write(&dir.path().join("broken.jsonl"), &lines)?;
    let o = llmscope(&data, &["import", file.to_str().unwrap_or_default()]);
    assert_eq!(o.status.code(), Some(3), "rejects give exit code 3: {}", stderr(&o));
    let err = stderr(&o);
    let name = file.display().to_string();
    assert!(err.contains(&format!("{name}:3: invalid JSON")), "{err}");
    assert!(err.contains(&format!("{name}:5: metadata.total_latency_ms: expected a number")), "{err}");
    assert!(err.contains(&format!("{name}:8: unrecognised line format")), "{err}");
    assert!(stdout(&o).contains("imported 10 calls, 0 already present, 3 rejected"), "{}", stdout(&o));
    let rejects: Vec<PathBuf> = std::fs::read_dir(data.join("rejects"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".rejected.jsonl"))
        .collect();
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    assert!(rejects[0].file_name().is_some_and(|n| n.to_string_lossy().starts_with("broken.jsonl.")));
    let rejected = std::fs::read_to_string(&rejects[0])?;
    assert_eq!(rejected.lines().count(), 3);
    assert_eq!(rejected.lines().nth(2), Some("{\"what\": \"is this\"}"));

    // A truncated gzip: everything before the cut is imported, the cut is reported.
    let gz_path = dir.path().join("cut.jsonl.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for i in 0..3000 {
        writeln!(gz, "{{\"timestamp\": {}, \"input\": \"q{i}\", \"output\": \"a\", \"metadata\": {{\"total_latency_ms\": {i}}}}}", 1736157600 + i)?;
    }
    let bytes = gz.finish()?;
    std::fs::write(&gz_path, &bytes[..bytes.len() * 2 / 3])?;
    let o = llmscope(&data, &["import", "--json", gz_path.to_str().unwrap_or_default()]);
    assert_eq!(o.status.code(), Some(3));
    let s: Value = serde_json::from_slice(&o.stdout)?;
    let imported = s["imported"].as_u64().unwrap_or(0);
    assert!(imported > 1000 && imported < 3000, "{s}");
    assert_eq!(s["rejected"], 1);
    assert_eq!(s["rejects"][0]["line"].as_u64(), Some(imported + 1));
    assert!(s["rejects"][0]["reason"].as_str().unwrap_or("").contains("cut off"), "{s}");
    Ok(())
}

#[test]
fn json_arrays_and_pretty_printed_records_import_a_record_at_a_time() -> R {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let record = |i: usize| {
        serde_json::json!({"timestamp": 1736157600 + i, "level": "INFO", "request_id": format!("r{i}"), "model": "m",
            "input": format!("question {i}\nin two lines"), "output": "answer", "metadata": {"total_latency_ms": 100 + i}})
    };
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    // `json.dump(records, f, indent=2)`, gzipped, with a broken record (line 10) and one that is no call.
    let mut records: Vec<String> = (0..3).map(|i| pretty(&record(i))).collect();
    records.insert(1, "{\n  \"timestamp\": 1736157600,\n  \"level\": }".into());
    records.push("\"just a string\"".into());
    let array = format!("[\n{}\n]\n", records.join(",\n"));
    let lines_before = |i: usize| 2 + records[..i].iter().map(|r| r.lines().count()).sum::<usize>();
    let broken_line = lines_before(1);
    let string_line = lines_before(4);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(array.as_bytes())?;
    let array_path = dir.path().join("dump.json.gz");
    std::fs::write(&array_path, gz.finish()?)?;
    // Pretty-printed records appended one after another, and a one-line array.
    let appended: String = (3..6).map(|i| pretty(&record(i)) + "\n").collect();
    let appended_path = dir.path().join("appended.jsonl");
    std::fs::write(&appended_path, appended)?;
    let one_line_path = dir.path().join("one-line.json");
    std::fs::write(&one_line_path, serde_json::to_string(&(6..9).map(record).collect::<Vec<_>>())?)?;
    let files = [&array_path, &appended_path, &one_line_path].map(|p| p.to_str().unwrap_or_default().to_string());
    let args: Vec<&str> = ["import", "--json"].into_iter().chain(files.iter().map(String::as_str)).collect();
    let o = llmscope(&data, &args);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let s: Value = serde_json::from_slice(&o.stdout)?;
    assert_eq!((s["imported"].as_u64(), s["rejected"].as_u64()), (Some(9), Some(2)), "{s}");
    let reasons = reject_reasons(&s);
    assert_eq!(reasons.len(), 2, "{s}");
    assert_eq!(reasons[0].0, broken_line as u64, "a record is numbered by its first line: {reasons:?}");
    assert!(reasons[0].1.starts_with("invalid JSON"), "{reasons:?}");
    assert_eq!(reasons[1], (string_line as u64, "expected a JSON object, found the string \"just a string\"".into()));
    // A rejected record is copied as one JSONL line.
    let rejects = std::fs::read_dir(data.join("rejects"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().ends_with(".rejected.jsonl"))
        .ok_or("no rejects file")?;
    let copied = std::fs::read_to_string(rejects)?;
    assert_eq!(copied.lines().collect::<Vec<_>>(), ["{\"timestamp\": 1736157600,\"level\": }", "\"just a string\""]);
    // Every record, with its text as written (the line break inside the question kept).
    let calls = stdout(&ok(llmscope(&data, &["calls", "--format", "jsonl", "--limit", "100"])));
    let mut questions: Vec<String> = calls
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|c| c["input_text"].as_str().unwrap_or("").to_string())
        .collect();
    questions.sort();
    assert_eq!(questions, (0..9).map(|i| format!("question {i}\nin two lines")).collect::<Vec<_>>());
    // Importing them again stores nothing twice.
    let again: Value = serde_json::from_slice(&llmscope(&data, &args).stdout)?;
    assert_eq!((again["imported"].as_u64(), again["already_present"].as_u64()), (Some(0), Some(9)), "{again}");
    Ok(())
}

#[test]
fn standard_input_imports_like_a_file() -> R {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let mut lines = known_lines();
    lines.push("{\"what\": \"is this\"}".into());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all((lines.join("\n") + "\n").as_bytes())?;
    let piped = |input: &[u8], args: &[&str]| -> std::io::Result<Output> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_llmscope"))
            .arg("--data-dir")
            .arg(&data)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        child.stdin.take().map(|mut i| i.write_all(input)).transpose()?;
        child.wait_with_output()
    };
    // Gzip is recognised on a pipe too; the rejected line is named by `stdin` and its number.
    let o = piped(&gz.finish()?, &["import", "--json", "-"])?;
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let s: Value = serde_json::from_slice(&o.stdout)?;
    assert_eq!((s["imported"].as_u64(), s["rejected"].as_u64()), (Some(10), Some(1)), "{s}");
    assert_eq!(reject_reasons(&s)[0].0, 11);
    assert_eq!(s["rejects"][0]["file"], "stdin", "{s}");
    assert!(data
        .join("rejects")
        .read_dir()?
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().starts_with("stdin.")));
    // The same lines again, plain, beside a file: nothing stored twice.
    let file = write(&dir.path().join("more.jsonl"), &known_lines())?;
    let o = piped((lines.join("\n") + "\n").as_bytes(), &["import", "--json", "-", file.to_str().unwrap_or_default()])?;
    let s: Value = serde_json::from_slice(&o.stdout)?;
    assert_eq!((s["imported"].as_u64(), s["already_present"].as_u64()), (Some(0), Some(20)), "{s}");
    let twice = piped(b"", &["import", "-", "-"])?;
    refused(&twice, "standard input can be named once");
    Ok(())
}

/// Pairs logged from Anthropic, Ollama (streamed) and Gemini import with their text, tokens
/// and provider, are priced by model in the report, and an answer of no known shape is
/// rejected, not stored without its output.
#[test]
fn other_providers_pairs_import_and_are_priced() -> R {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let user = |text: &str| serde_json::json!([{"role": "user", "content": text}]);
    let ollama_chunk = |text: &str, done: bool| {
        let mut c = serde_json::json!({"model": "llama3.2", "created_at": "2025-03-01T10:02:05Z",
                                       "message": {"role": "assistant", "content": text}, "done": done});
        if done {
            c["done_reason"] = "stop".into();
            c["total_duration"] = 2_000_000_000_u64.into();
            c["eval_duration"] = 1_500_000_000_u64.into();
            c["prompt_eval_count"] = 30.into();
            c["eval_count"] = 40.into();
        }
        c.to_string()
    };
    let lines = [
        serde_json::json!({"timestamp": "2025-03-01T10:00:00Z", "latency_ms": 900,
            "request": {"model": "claude-3-5-sonnet-20241022", "max_tokens": 512, "messages": user("Bonjour")},
            "response": {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-3-5-sonnet-20241022",
                         "content": [{"type": "text", "text": "Salut !"}], "stop_reason": "end_turn",
                         "usage": {"input_tokens": 1000, "cache_creation_input_tokens": 1000,
                                   "output_tokens": 500}}}),
        serde_json::json!({"request": {"model": "llama3.2", "messages": user("Why is the sky blue?")},
            "response": [ollama_chunk("Rayleigh", false), ollama_chunk(" scattering.", false), ollama_chunk("", true)]}),
        serde_json::json!({"timestamp": "2025-03-01T10:04:00Z",
            "request": {"model": "gemini-2.5-flash", "contents": [{"role": "user", "parts": [{"text": "Write a haiku"}]}]},
            "response": {"candidates": [{"content": {"role": "model", "parts": [{"text": "Old pond, a frog"}]},
                                         "finishReason": "STOP"}],
                         "usageMetadata": {"promptTokenCount": 2000, "candidatesTokenCount": 1000}}}),
        serde_json::json!({"timestamp": "2025-03-01T10:05:00Z", "request": {"model": "m", "messages": user("hi")},
            "response": {"answer": "hello"}}),
        serde_json::json!({"id": "obs-1", "traceId": "t-1", "type": "GENERATION", "startTime": "2025-03-01T10:06:00Z",
            "endTime": "2025-03-01T10:06:01Z", "model": "gpt-4o-mini", "input": user("Merci"), "output": "De rien",
            "usage": {"input": 1000, "output": 1000}}),
        serde_json::json!({"id": "obs-2", "traceId": "t-1", "type": "SPAN", "startTime": "2025-03-01T10:06:00Z"}),
        serde_json::json!({"schemaType": "ModelInvocationLog", "timestamp": "2025-03-01T10:07:00Z",
            "requestId": "b1", "operation": "Converse", "modelId": "us.anthropic.claude-3-haiku-20240307-v1:0",
            "input": {"inputBodyJson": {"messages": [{"role": "user", "content": [{"text": "Danke"}]}]},
                      "inputTokenCount": 1000},
            "output": {"outputBodyJson": {"output": {"message": {"role": "assistant", "content": [{"text": "Bitte"}]}},
                                          "stopReason": "end_turn", "metrics": {"latencyMs": 420}},
                       "outputTokenCount": 1000}}),
    ]
    .map(|v| v.to_string());
    let file = write(&dir.path().join("providers.jsonl"), &lines)?;
    let o = llmscope(&data, &["import", "--json", file.to_str().unwrap_or_default()]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let s: Value = serde_json::from_slice(&o.stdout)?;
    assert_eq!((s["imported"].as_u64(), s["rejected"].as_u64()), (Some(5), Some(2)), "{s}");
    let reasons = reject_reasons(&s);
    assert_eq!((reasons[0].0, reasons[1].0), (4, 6));
    assert!(reasons[0].1.starts_with("response: not an answer llmscope reads (keys: answer)"), "{reasons:?}");
    assert!(reasons[1].1.contains("SPAN observation is not an LLM call"), "{reasons:?}");
    assert_eq!((&s["by_format"]["langfuse"], &s["by_format"]["bedrock"]), (&1.into(), &1.into()), "{s}");

    let o = ok(llmscope(&data, &["calls", "--format", "jsonl"]));
    let calls: Vec<Value> = stdout(&o).lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
    let by_provider = |p: &str| calls.iter().find(|c| c["provider"] == p).cloned().unwrap_or_default();
    assert_eq!(by_provider("anthropic")["output"], "Salut !");
    let ollama = by_provider("ollama");
    assert_eq!(
        (&ollama["output"], &ollama["latency_ms"], &ollama["ttft_ms"]),
        (&"Rayleigh scattering.".into(), &2000.0.into(), &500.0.into())
    );
    assert_eq!(ollama["start_time"], "2025-03-01T10:02:03Z", "two seconds before the answer's end");
    assert_eq!(by_provider("google")["input_text"], "Write a haiku");
    let bedrock = by_provider("bedrock");
    assert_eq!((&bedrock["output"], &bedrock["latency_ms"]), (&"Bitte".into(), &420.0.into()));

    let r = report_json(&data, &[]);
    let cost = |model: &str| {
        r["by_model"].as_array().into_iter().flatten().find(|m| m["model"] == model).map(|m| m["cost_usd"].clone())
    };
    // $3 / $15 per million tokens for Claude 3.5 Sonnet ($3.75 for the 1000 written to its
    // prompt cache), $0.30 / $2.50 for Gemini 2.5 Flash.
    assert_eq!(cost("claude-3-5-sonnet-20241022").and_then(|c| c.as_f64()).map(|c| (c * 1e6).round()), Some(14_250.0));
    assert_eq!((&r["tokens"]["cache_write_total"], &r["tokens"]["input_total"]), (&1000.into(), &6030.into()));
    assert_eq!(cost("gemini-2.5-flash").and_then(|c| c.as_f64()).map(|c| (c * 1e6).round()), Some(3_100.0));
    assert_eq!(cost("gpt-4o-mini").and_then(|c| c.as_f64()).map(|c| (c * 1e6).round()), Some(750.0));
    // A Bedrock inference profile is priced as its model: $0.25 / $1.25 for Claude 3 Haiku.
    let haiku = cost("us.anthropic.claude-3-haiku-20240307-v1:0");
    assert_eq!(haiku.and_then(|c| c.as_f64()).map(|c| (c * 1e6).round()), Some(1_500.0));
    assert_eq!(r["cost"]["unpriced_models"][0]["model"], "llama3.2", "{}", r["cost"]);
    Ok(())
}

#[test]
fn markdown_and_html_reports_carry_charts() -> R {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let file = dir.path().join("seed001.jsonl");
    ok(llmscope(&data, &["gen", "--format", "seed001", "--lines", "2000", "--out", file.to_str().unwrap_or_default()]));
    ok(llmscope(&data, &["import", file.to_str().unwrap_or_default()]));
    let out = dir.path().join("report");
    ok(llmscope(&data, &["report", "--out", out.to_str().unwrap_or_default()]));
    let md = std::fs::read_to_string(out.join("report.md"))?;
    for chart in ["hourly_volume", "latency_histogram", "latency_by_day", "model_share"] {
        assert!(md.contains(&format!("](charts/{chart}.png)")), "{chart} linked");
        let png = std::fs::read(out.join(format!("charts/{chart}.png")))?;
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert!(std::fs::read_to_string(out.join(format!("charts/{chart}.svg")))?.starts_with("<svg"));
    }
    assert!(md.contains("## Suggestions") && md.contains("## The calls behind the problems"));
    // Self-hosted models have no list price: named as unpriced, as text (not a code span).
    assert!(md.contains("Unpriced models (cost unknown, not counted as zero): **"), "unpriced models listed");
    ok(llmscope(&data, &["report", "--format", "html", "--out", out.to_str().unwrap_or_default()]));
    let html = std::fs::read_to_string(out.join("report.html"))?;
    assert!(html.starts_with("<!DOCTYPE html>") && html.matches("<svg").count() >= 6);
    assert!(html.contains("<table>"));
    // Markdown on standard output.
    let o = ok(llmscope(&data, &["report"]));
    assert!(stdout(&o).starts_with("# LLM call report"));
    Ok(())
}

#[test]
fn calls_lists_what_the_numbers_count() -> R {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let file = write(&dir.path().join("known.jsonl"), &known_lines())?;
    ok(llmscope(&data, &["import", file.to_str().unwrap_or_default()]));
    let o = ok(llmscope(&data, &["calls", "--flag", "malformed_json", "--format", "jsonl"]));
    let calls: Vec<Value> = stdout(&o).lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["request_id"], "req_7");
    assert_eq!(calls[0]["origin"]["line"], 8);
    let o = ok(llmscope(&data, &["calls", "--status", "error"]));
    assert!(stdout(&o).contains("1 of 1 matching calls shown"), "{}", stdout(&o));
    let o = ok(llmscope(&data, &["calls", "--search", "VLLM", "--model", "gpt-4o-mini", "--format", "jsonl"]));
    assert_eq!(stdout(&o).lines().count(), 3);
    // jsonl output is re-importable and changes nothing.
    let o = ok(llmscope(&data, &["calls", "--format", "jsonl", "--limit", "100"]));
    let export = dir.path().join("export.jsonl");
    std::fs::write(&export, o.stdout)?;
    let o = ok(llmscope(&data, &["import", export.to_str().unwrap_or_default()]));
    assert!(stdout(&o).contains("imported 0 calls, 10 already present"), "{}", stdout(&o));
    Ok(())
}

#[test]
fn a_held_store_is_refused_clearly() -> R {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let _held = llmscope_store::DuckStore::open_dir(&data)?;
    let o = llmscope(&data, &["report"]);
    refused(&o, "in use by another llmscope process");
    Ok(())
}

#[test]
fn bad_flags_and_config_say_what_is_wrong() -> R {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let o = llmscope(&data, &["report", "--tz", "Mars/Olympus"]);
    refused(&o, "--tz: unknown time zone");
    let o = llmscope(&data, &["report", "--since", "tomorrow-ish"]);
    assert!(stderr(&o).contains("--since"), "{}", stderr(&o));
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[report]\ntimezone = 'UTC'\n")?;
    let o = llmscope(&data, &["--config", cfg.to_str().unwrap_or_default(), "report"]);
    assert!(stderr(&o).contains("unknown field `timezone`"), "{}", stderr(&o));
    std::fs::write(&cfg, "[server]\nrecorder_nice = 25\n")?;
    let o = llmscope(&data, &["--config", cfg.to_str().unwrap_or_default(), "config"]);
    refused(&o, "server.recorder_nice: 25 is above 19");
    std::fs::write(&cfg, "[server]\nqueue_capacity = 4611686018427387904\n")?;
    let o = llmscope(&data, &["--config", cfg.to_str().unwrap_or_default(), "config"]);
    assert!(stderr(&o).contains("server.queue_capacity: 4611686018427387904 is above 10000000"), "{}", stderr(&o));
    let o = Command::new(env!("CARGO_BIN_EXE_llmscope"))
        .args(["config"])
        .current_dir(dir.path())
        .env_remove("LLMSCOPE_UPSTREAM_URL")
        .env_remove("LLMSCOPE_UPSTREAM_PROVIDER")
        .env_remove("LLMSCOPE_CONFIG")
        .env("LLMSCOPE_UPSTREAM_API_KEY_ENV", "SOME_KEY")
        .output()?;
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("LLMSCOPE_UPSTREAM_API_KEY_ENV is set but LLMSCOPE_UPSTREAM_URL is not"),
        "{}",
        stderr(&o)
    );
    let o = llmscope(&data, &["import", "/nonexistent/file.jsonl"]);
    assert!(stderr(&o).contains("/nonexistent/file.jsonl: no such file"), "{}", stderr(&o));
    let o = llmscope(&data, &["import", dir.path().to_str().unwrap_or_default()]);
    assert!(stderr(&o).contains(": is a directory (name the files in it"), "{}", stderr(&o));
    Ok(())
}

#[test]
fn upstreams_come_from_the_environment_and_keys_stay_secret() -> R {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let run = |key: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_llmscope"));
        cmd.arg("--data-dir")
            .arg(&data)
            .arg("config")
            .env_remove("LLMSCOPE_CONFIG")
            .env("LLMSCOPE_UPSTREAM_URL", "http://proxyuser:hunter2@127.0.0.1:9/v1")
            .env("LLMSCOPE_UPSTREAM_API_KEY_ENV", "LLMSCOPE_TEST_UPSTREAM_KEY");
        match key {
            Some(k) => cmd.env("LLMSCOPE_TEST_UPSTREAM_KEY", k),
            None => cmd.env_remove("LLMSCOPE_TEST_UPSTREAM_KEY"),
        };
        cmd.output()
    };
    let missing = run(None)?;
    refused(&missing, "LLMSCOPE_TEST_UPSTREAM_KEY is not set");
    let set = ok(run(Some("sk-very-secret"))?);
    let out = stdout(&set);
    assert!(out.contains("upstream default → http://proxyuser:***@127.0.0.1:9/v1"), "{out}");
    assert!(!out.contains("hunter2"), "a password in the URL is never shown: {out}");
    assert!(out.contains("key from $LLMSCOPE_TEST_UPSTREAM_KEY"), "{out}");
    assert!(!out.contains("sk-very-secret") && !stderr(&set).contains("sk-very-secret"));
    let bad = llmscope(&data, &["serve", "--upstream", "ftp://nowhere"]);
    assert!(stderr(&bad).contains("is not an http:// or https:// URL"), "{}", stderr(&bad));
    Ok(())
}

/// Stops a server process with SIGTERM (what a service manager sends) and waits for it.
fn terminate(child: &mut std::process::Child) -> R {
    Command::new("kill").arg("-TERM").arg(child.id().to_string()).status()?;
    let status = child.wait()?;
    assert!(status.success(), "the server exited with {status}");
    Ok(())
}

/// `llmscope serve` on the store in `data`, once it has announced itself in server.json.
fn start_server(data: &Path) -> std::io::Result<std::process::Child> {
    let server = Command::new(env!("CARGO_BIN_EXE_llmscope"))
        .arg("--data-dir")
        .arg(data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("LLMSCOPE_CONFIG")
        .env_remove("LLMSCOPE_UPSTREAM_URL")
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let marker = data.join("server.json");
    for _ in 0..200 {
        if marker.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert!(marker.exists(), "the server did not announce itself in server.json");
    Ok(server)
}

#[test]
fn import_report_and_calls_go_through_a_running_server() -> R {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let mut lines = known_lines();
    lines.push("{\"broken\": ".into());
    let file = write(&dir.path().join("calls.jsonl"), &lines)?;
    let mut server = start_server(&data)?;
    let marker = data.join("server.json");

    // The store is held: every command goes through the server's API.
    let o = llmscope(&data, &["import", file.to_str().unwrap_or_default(), "--no-progress"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("importing through its API"), "{}", stderr(&o));
    assert!(stderr(&o).contains(":11: invalid JSON"), "{}", stderr(&o));
    let report = report_json(&data, &[]);
    assert_eq!(report["requests"]["total"], 10);
    let listed = ok(llmscope(&data, &["calls", "--format", "jsonl"]));
    assert_eq!(stdout(&listed).lines().count(), 10);
    terminate(&mut server)?;
    assert!(!marker.exists(), "server.json is removed at exit");

    // Same ids as a local import: importing the file again now, locally, stores nothing new.
    let o = llmscope(&data, &["import", file.to_str().unwrap_or_default(), "--no-progress", "--json"]);
    let summary: Value = serde_json::from_str(&stdout(&o))?;
    assert_eq!((summary["imported"].as_u64(), summary["already_present"].as_u64()), (Some(0), Some(10)));
    Ok(())
}

#[test]
fn calls_through_a_running_server_come_a_page_at_a_time_past_the_per_query_cap() -> R {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let file = dir.path().join("many.jsonl");
    let path = file.to_str().unwrap_or_default();
    // More calls than the server returns for one query (10,000).
    let n = 10_050;
    ok(llmscope(&data, &["gen", "--format", "seed001", "--lines", &n.to_string(), "--seed", "5", "--out", path]));
    let mut server = start_server(&data)?;
    ok(llmscope(&data, &["import", path, "--no-progress"]));
    let listed = ok(llmscope(&data, &["calls", "--format", "jsonl", "--order", "oldest", "--limit", "20000"]));
    let ids: Vec<String> = stdout(&listed)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).map(|c| c["id"].to_string()))
        .collect::<Result<_, _>>()?;
    assert_eq!(ids.len(), n, "every call, in pages: {}", stderr(&listed));
    assert_eq!(ids.iter().collect::<std::collections::HashSet<_>>().len(), n, "none listed twice");
    let starts = stdout(&listed)
        .lines()
        .map(|l| {
            let c: Value = serde_json::from_str(l)?;
            let t = c["start_time"].as_str().unwrap_or_default();
            Ok(chrono::DateTime::parse_from_rfc3339(t)?)
        })
        .collect::<Result<Vec<_>, Box<dyn std::error::Error>>>()?;
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "oldest first across pages");
    // A limit past one page stops there; the table's count is of every matching call.
    let some = ok(llmscope(&data, &["calls", "--format", "jsonl", "--limit", "10001"]));
    assert_eq!(stdout(&some).lines().count(), 10_001);
    let table = ok(llmscope(&data, &["calls", "--limit", "3"]));
    assert!(stdout(&table).ends_with(&format!("3 of {n} matching calls shown\n")), "{}", stdout(&table));
    let counted = ok(llmscope(&data, &["calls", "--limit", "0"]));
    assert!(stdout(&counted).ends_with(&format!("0 of {n} matching calls shown\n")), "{}", stdout(&counted));
    terminate(&mut server)
}

#[test]
fn suggestions_name_the_cause_the_numbers_show() -> R {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    // 20 good answers, 5 empty ones without an error, 10 failures that still carried some
    // text, 1 failure with a 429: the empty answers are 5 of the successful calls, and a
    // single 429 among 11 failures is not "being rate-limited".
    let line = |i: usize, level: &str, output: &str, code: Option<u16>| {
        let mut meta = serde_json::json!({"total_latency_ms": 300});
        if let Some(c) = code {
            meta["status_code"] = c.into();
        }
        serde_json::json!({"timestamp": 1736157600 + i, "level": level, "request_id": format!("r{i}"),
            "model": "m", "input": "q", "output": output, "metadata": meta})
        .to_string()
    };
    let mut lines = Vec::new();
    for i in 0..36 {
        lines.push(match i {
            0..20 => line(i, "INFO", "fine", None),
            20..25 => line(i, "INFO", "", None),
            25..35 => line(i, "ERROR", "partial answer", None),
            _ => line(i, "ERROR", "", Some(429)),
        });
    }
    let file = write(&dir.path().join("s.jsonl"), &lines)?;
    ok(llmscope(&data, &["import", file.to_str().unwrap_or_default()]));
    let r = report_json(&data, &[]);
    let said: Vec<(String, String)> = r["suggestions"]
        .as_array()
        .map(|a| a.iter().map(|s| (s["message"].to_string(), s["evidence"].to_string())).collect())
        .unwrap_or_default();
    let about = |what: &str| said.iter().find(|(m, _)| m.contains(what)).map(|(_, e)| e.clone());
    assert_eq!(
        about("successful calls returned nothing").as_deref(),
        Some("\"5 calls without an error returned an empty output (13.9% of all calls)\""),
        "{said:?}"
    );
    let errors = about("failed calls below").unwrap_or_else(|| panic!("no error suggestion: {said:?}"));
    assert!(errors.contains("11 of 36 calls failed") && errors.contains("most common: error (10)"), "{errors}");
    assert!(about("rate-limited").is_none(), "{said:?}");
    // `--limit 0` counts without listing.
    let o = ok(llmscope(&data, &["calls", "--limit", "0"]));
    assert!(stdout(&o).ends_with("0 of 36 matching calls shown\n"), "{}", stdout(&o));
    // A data directory without a store is an error, and is left without one.
    let typo = dir.path().join("typo");
    let o = llmscope(&typo, &["report"]);
    refused(&o, "no llmscope store in");
    assert!(!typo.join("llmscope.duckdb").exists());
    Ok(())
}

#[test]
fn demo_refuses_an_address_already_in_use_and_sends_nothing_there() -> R {
    let dir = tempfile::tempdir()?;
    let taken = std::net::TcpListener::bind("127.0.0.1:0")?;
    taken.set_nonblocking(true)?;
    let addr = taken.local_addr()?.to_string();
    let o = llmscope(&dir.path().join("data"), &["demo", "--listen", &addr, "--duration", "2"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains(&format!("cannot listen on {addr}")), "{}", stderr(&o));
    match taken.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(()),
        other => panic!("the demo connected to the address it was refused: {other:?}"),
    }
}
