//! Token counting for upstreams that report no `usage` (older vLLM / Ollama builds, streams
//! without `stream_options`). Counts use OpenAI's tiktoken encodings: `o200k_base` for the
//! GPT-4o / GPT-4.1 / GPT-5 / o-series families, `cl100k_base` for everything else. For
//! non-OpenAI models (Qwen, Llama, …) this is an estimate, which is why such counts are
//! stored with `tokens_counted = true`. The encodings are loaded on first use only.

use std::sync::OnceLock;

use serde_json::Value;
use tiktoken_rs::CoreBPE;

static O200K: OnceLock<Option<CoreBPE>> = OnceLock::new();
static CL100K: OnceLock<Option<CoreBPE>> = OnceLock::new();

fn encoding_for(model: &str) -> Option<&'static CoreBPE> {
    let m = model.to_ascii_lowercase();
    let m = m.rsplit('/').next().unwrap_or(&m);
    let o200k = ["gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o", "gpt-oss"];
    if o200k.iter().any(|p| m.starts_with(p)) {
        O200K.get_or_init(|| tiktoken_rs::o200k_base().ok()).as_ref()
    } else {
        CL100K.get_or_init(|| tiktoken_rs::cl100k_base().ok()).as_ref()
    }
}

/// Texts longer than this are estimated (4 bytes a token) instead of encoded: encoding cost
/// grows with the text, and the tokenizer's regex engine can fail on pathological input.
const MAX_ENCODED: usize = 256 * 1024;

/// Tokens in `text` for `model`. Never panics: an encoder failure falls back to the estimate.
pub fn count_text(model: &str, text: &str) -> u64 {
    if text.is_empty() {
        return 0;
    }
    let estimate = text.len().div_ceil(4) as u64;
    if text.len() > MAX_ENCODED {
        return estimate;
    }
    match encoding_for(model) {
        // tiktoken-rs unwraps its regex engine's result; a backtracking limit hit on odd input
        // would panic the recorder's thread.
        Some(bpe) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| bpe.encode_ordinary(text).len() as u64))
            .unwrap_or(estimate),
        None => estimate,
    }
}

/// Prompt tokens of a chat `messages` array or a prompt, following OpenAI's accounting for
/// chat: 3 tokens per message, 1 per name, 3 to prime the reply.
pub fn count_input(model: &str, input: &Value) -> u64 {
    match input {
        Value::Array(items) if items.iter().all(Value::is_object) && !items.is_empty() => {
            let mut n = 3;
            for msg in items {
                n += 3;
                if let Some(obj) = msg.as_object() {
                    for (k, v) in obj {
                        n += match (k.as_str(), v) {
                            ("name", Value::String(s)) => 1 + count_text(model, s),
                            (_, Value::String(s)) => count_text(model, s),
                            ("content", Value::Array(parts)) => parts
                                .iter()
                                .filter_map(|p| p.get("text").and_then(Value::as_str))
                                .map(|t| count_text(model, t))
                                .sum(),
                            ("tool_calls", v) => count_text(model, &v.to_string()),
                            _ => 0,
                        };
                    }
                }
            }
            n
        }
        Value::String(s) => count_text(model, s),
        Value::Array(items) => items.iter().map(|v| count_input(model, v)).sum(),
        _ => 0,
    }
}

/// Completion tokens of an output text plus any tool calls' names and arguments.
pub fn count_output(model: &str, output: &str, tool_calls: Option<&Value>) -> u64 {
    let mut n = count_text(model, output);
    if let Some(Value::Array(calls)) = tool_calls {
        for c in calls {
            for ptr in ["/function/name", "/function/arguments"] {
                if let Some(s) = c.pointer(ptr).and_then(Value::as_str) {
                    n += count_text(model, s);
                }
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_follow_the_encodings() {
        // Known counts: "hello world" is 2 tokens in both encodings.
        assert_eq!(count_text("gpt-4o-mini", "hello world"), 2);
        assert_eq!(count_text("qwen2.5-7b", "hello world"), 2);
        assert_eq!(count_text("gpt-4o", ""), 0);
        let msgs = json!([{"role": "system", "content": "hello world"}, {"role": "user", "content": "hello world"}]);
        // 3 (priming) + 2 × (3 per message + 1 role token + 2 content tokens)
        assert_eq!(count_input("gpt-4o", &msgs), 3 + 2 * (3 + 1 + 2));
        let calls = json!([{"function": {"name": "get_weather", "arguments": "{}"}}]);
        assert!(count_output("gpt-4o", "", Some(&calls)) >= 2);
    }
}
