//! The price table: USD per million tokens, built in for common hosted models and
//! overridable from the config. A model with no price is *unpriced*, never free.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Price of one model, in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    /// Price of cached input tokens; defaults to the input price.
    #[serde(default)]
    pub cached_input_per_mtok: Option<f64>,
}

impl ModelPrice {
    /// Cost of a number of tokens. Cached tokens are part of `input` (as in OpenAI's usage)
    /// and are charged at the cached price.
    pub fn cost(&self, input: u64, cached: u64, output: u64) -> f64 {
        let cached = cached.min(input);
        let cached_price = self.cached_input_per_mtok.unwrap_or(self.input_per_mtok);
        ((input - cached) as f64 * self.input_per_mtok
            + cached as f64 * cached_price
            + output as f64 * self.output_per_mtok)
            / 1_000_000.0
    }
}

/// Built-in list prices (USD per 1M tokens; input, output, cached input), as published by
/// the providers in 2025. Self-hosted models (vLLM, Ollama) have no list price: give them one
/// in the config (`[prices."qwen2.5-7b-instruct"]`), `0` included, if they should be costed.
const BUILTIN: &[(&str, f64, f64, Option<f64>)] = &[
    ("gpt-5", 1.25, 10.0, Some(0.125)),
    ("gpt-5-mini", 0.25, 2.0, Some(0.025)),
    ("gpt-5-nano", 0.05, 0.40, Some(0.005)),
    ("gpt-4.1", 2.0, 8.0, Some(0.50)),
    ("gpt-4.1-mini", 0.40, 1.60, Some(0.10)),
    ("gpt-4.1-nano", 0.10, 0.40, Some(0.025)),
    ("gpt-4o", 2.50, 10.0, Some(1.25)),
    ("gpt-4o-2024-05-13", 5.0, 15.0, None),
    ("gpt-4o-mini", 0.15, 0.60, Some(0.075)),
    ("gpt-4-turbo", 10.0, 30.0, None),
    ("gpt-4-turbo-preview", 10.0, 30.0, None),
    ("gpt-4", 30.0, 60.0, None),
    ("gpt-3.5-turbo", 0.50, 1.50, None),
    ("gpt-3.5-turbo-instruct", 1.50, 2.0, None),
    ("o1", 15.0, 60.0, Some(7.50)),
    ("o1-mini", 1.10, 4.40, Some(0.55)),
    ("o3", 2.0, 8.0, Some(0.50)),
    ("o3-mini", 1.10, 4.40, Some(0.55)),
    ("o4-mini", 1.10, 4.40, Some(0.275)),
    ("text-embedding-3-small", 0.02, 0.0, None),
    ("text-embedding-3-large", 0.13, 0.0, None),
    ("claude-opus-4", 15.0, 75.0, Some(1.50)),
    ("claude-sonnet-4", 3.0, 15.0, Some(0.30)),
    ("claude-3-7-sonnet", 3.0, 15.0, Some(0.30)),
    ("claude-3-5-sonnet", 3.0, 15.0, Some(0.30)),
    ("claude-3-5-haiku", 0.80, 4.0, Some(0.08)),
    ("claude-3-opus", 15.0, 75.0, Some(1.50)),
    ("claude-3-haiku", 0.25, 1.25, Some(0.03)),
    ("nova-pro", 0.80, 3.20, Some(0.20)),
    ("nova-lite", 0.06, 0.24, Some(0.015)),
    ("nova-micro", 0.035, 0.14, Some(0.00875)),
    ("gemini-2.5-pro", 1.25, 10.0, Some(0.31)),
    ("gemini-2.5-flash", 0.30, 2.50, Some(0.075)),
    ("gemini-2.5-flash-lite", 0.10, 0.40, Some(0.025)),
    ("gemini-2.0-flash", 0.10, 0.40, Some(0.025)),
    ("gemini-1.5-pro", 1.25, 5.0, None),
    ("gemini-1.5-flash", 0.075, 0.30, None),
    ("deepseek-chat", 0.27, 1.10, Some(0.07)),
    ("deepseek-reasoner", 0.55, 2.19, Some(0.14)),
    ("qwen-max", 1.60, 6.40, None),
    ("qwen-plus", 0.40, 1.20, None),
    ("qwen-turbo", 0.05, 0.20, None),
    ("mistral-large", 2.0, 6.0, None),
    ("mistral-small", 0.20, 0.60, None),
];

/// Model name → price. Lookup is case-insensitive, ignores a `provider/` prefix, and falls
/// back to the longest known name followed only by a version (`gpt-4o-2024-08-06`,
/// `claude-3-5-sonnet@20240620`, `mistral-large-latest`, `qwen2.5:7b` → the name before it).
/// Another suffix names another model (`gpt-4o-mini`, `o3-pro`, `gpt-4.5-preview`), priced
/// only if the table has it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PriceTable {
    prices: BTreeMap<String, ModelPrice>,
}

impl PriceTable {
    /// An empty table: every model is unpriced.
    pub fn empty() -> Self {
        PriceTable::default()
    }

    /// The built-in table.
    pub fn builtin() -> Self {
        let prices = BUILTIN
            .iter()
            .map(|&(m, i, o, c)| {
                (m.to_string(), ModelPrice { input_per_mtok: i, output_per_mtok: o, cached_input_per_mtok: c })
            })
            .collect();
        PriceTable { prices }
    }

    /// Adds or replaces prices (config overrides win over built-ins).
    pub fn with_overrides(mut self, overrides: &BTreeMap<String, ModelPrice>) -> Self {
        for (m, p) in overrides {
            self.prices.insert(m.to_ascii_lowercase(), *p);
        }
        self
    }

    /// The price of a model, if it has one.
    pub fn lookup(&self, model: &str) -> Option<&ModelPrice> {
        let lower = model.trim().to_ascii_lowercase();
        let name = without_bedrock_prefix(lower.rsplit('/').next().unwrap_or(&lower));
        if let Some(p) = self.prices.get(name) {
            return Some(p);
        }
        self.prices
            .iter()
            .filter(|(k, _)| name.strip_prefix(k.as_str()).is_some_and(is_version))
            .max_by_key(|(k, _)| k.len())
            .map(|(_, p)| p)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &ModelPrice)> {
        self.prices.iter()
    }
}

/// A Bedrock model id without its vendor and, for a cross-region inference profile, its
/// geography: `us.anthropic.claude-3-5-sonnet-20241022-v2:0` → `claude-3-5-sonnet-20241022-v2:0`
/// (then priced as Claude 3.5 Sonnet: Bedrock's on-demand prices are the vendors' own). A name
/// whose first part is not a known vendor is left as it is (`gpt-4.1`, `qwen2.5:7b`).
fn without_bedrock_prefix(name: &str) -> &str {
    const GEOGRAPHIES: &[&str] = &["us", "eu", "apac", "global", "us-gov", "jp", "au", "ca"];
    const VENDORS: &[&str] =
        &["anthropic", "meta", "amazon", "mistral", "cohere", "ai21", "deepseek", "openai", "qwen", "writer"];
    let rest = match name.split_once('.') {
        Some((geo, tail)) if GEOGRAPHIES.contains(&geo) => tail,
        _ => name,
    };
    match rest.split_once('.') {
        Some((vendor, model)) if VENDORS.contains(&vendor) => model,
        _ => name,
    }
}

/// A model name's version suffix: `-` and digits (dates, `-0613`, `-002`), `-latest`, `-v2`,
/// `@` and a version (Vertex AI), or a `:` tag (Ollama, Bedrock), in any sequence.
fn is_version(rest: &str) -> bool {
    if rest.is_empty() {
        return false;
    }
    let mut rest = rest;
    while !rest.is_empty() {
        if rest.starts_with([':', '@']) {
            return rest.len() > 1;
        }
        let Some(seg) = rest.strip_prefix('-') else { return false };
        let end = seg.find('-').unwrap_or(seg.len());
        let end = seg[..end].find([':', '@']).unwrap_or(end);
        let part = &seg[..end];
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !(digits(part) || part == "latest" || part.strip_prefix('v').is_some_and(digits)) {
            return false;
        }
        rest = &seg[end..];
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_by_exact_prefix_and_provider() {
        let t = PriceTable::builtin();
        assert_eq!(t.lookup("gpt-4o").map(|p| p.input_per_mtok), Some(2.50));
        assert_eq!(t.lookup("GPT-4o-mini-2024-07-18").map(|p| p.input_per_mtok), Some(0.15));
        assert_eq!(t.lookup("openai/gpt-4o-2024-08-06").map(|p| p.output_per_mtok), Some(10.0));
        assert_eq!(t.lookup("gpt-4.1-mini").map(|p| p.input_per_mtok), Some(0.40));
        assert!(t.lookup("qwen2.5-7b-instruct").is_none());
        assert!(t.lookup("gpt-4oops").is_none());
        // Only a version falls back to the name before it; another model is not guessed.
        let input = |m: &str| t.lookup(m).map(|p| p.input_per_mtok);
        assert_eq!(input("gpt-4-0613"), Some(30.0));
        assert_eq!(input("gpt-4o-2024-05-13"), Some(5.0), "a snapshot with its own price");
        assert_eq!(input("claude-3-5-sonnet-20241022"), Some(3.0));
        assert_eq!(input("claude-3-5-sonnet@20240620"), Some(3.0));
        assert_eq!(input("gemini-1.5-pro-002"), Some(1.25));
        assert_eq!(input("mistral-large-latest"), Some(2.0));
        assert_eq!(input("anthropic/claude-sonnet-4-v1:0"), Some(3.0));
        assert_eq!(input("gpt-3.5-turbo-instruct"), Some(1.50));
        // Bedrock: model ids, cross-region inference profiles, ARNs.
        assert_eq!(input("anthropic.claude-3-haiku-20240307-v1:0"), Some(0.25));
        assert_eq!(input("us.anthropic.claude-3-5-sonnet-20241022-v2:0"), Some(3.0));
        assert_eq!(
            input("arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0"),
            Some(3.0)
        );
        assert_eq!(input("eu.amazon.nova-lite-v1:0"), Some(0.06));
        assert_eq!(input("meta.llama3-70b-instruct-v1:0"), None, "no price for it");
        assert_eq!(input("us.claude-3-haiku"), None, "a geography alone is no Bedrock id");
        for other in
            ["gpt-4.5-preview", "o1-pro", "o3-pro", "gpt-5-pro", "gpt-4-32k", "gemini-2.0-flash-lite", "gpt-4o-"]
        {
            assert_eq!(input(other), None, "{other}");
        }
    }

    #[test]
    fn cost_charges_cached_tokens_at_cached_price() {
        let p = ModelPrice { input_per_mtok: 2.0, output_per_mtok: 8.0, cached_input_per_mtok: Some(0.5) };
        // 1M input of which 400k cached, 100k output: 0.6*2 + 0.4*0.5 + 0.1*8 = 2.2
        assert!((p.cost(1_000_000, 400_000, 100_000) - 2.2).abs() < 1e-9);
    }

    #[test]
    fn overrides_win() {
        let mut o = BTreeMap::new();
        o.insert(
            "Qwen2.5-7B-Instruct".to_string(),
            ModelPrice { input_per_mtok: 0.0, output_per_mtok: 0.0, cached_input_per_mtok: None },
        );
        let t = PriceTable::builtin().with_overrides(&o);
        assert_eq!(t.lookup("qwen2.5-7b-instruct").map(|p| p.output_per_mtok), Some(0.0));
    }
}
