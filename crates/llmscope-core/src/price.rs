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
    /// Price of input tokens written to the prompt cache (Anthropic: 1.25 times the input
    /// price for its five-minute cache); defaults to the input price.
    #[serde(default)]
    pub cache_write_input_per_mtok: Option<f64>,
}

impl ModelPrice {
    /// Cost of a number of tokens. Cached tokens (read from the prompt cache) and cache-write
    /// tokens are part of `input` (as in OpenAI's usage) and are charged at their own prices;
    /// together they count for at most `input`.
    pub fn cost(&self, input: u64, cached: u64, cache_write: u64, output: u64) -> f64 {
        let cached = cached.min(input);
        let cache_write = cache_write.min(input - cached);
        let cached_price = self.cached_input_per_mtok.unwrap_or(self.input_per_mtok);
        let write_price = self.cache_write_input_per_mtok.unwrap_or(self.input_per_mtok);
        ((input - cached - cache_write) as f64 * self.input_per_mtok
            + cached as f64 * cached_price
            + cache_write as f64 * write_price
            + output as f64 * self.output_per_mtok)
            / 1_000_000.0
    }
}

/// Built-in list prices (USD per 1M tokens; input, output, cached input, cache write), as published by
/// the providers in 2025. Self-hosted models (vLLM, Ollama) have no list price: give them one
/// in the config (`[prices."qwen2.5-7b-instruct"]`), `0` included, if they should be costed.
/// A built-in row: model, input, output, cached input, cache write.
type BuiltinPrice = (&'static str, f64, f64, Option<f64>, Option<f64>);

const BUILTIN: &[BuiltinPrice] = &[
    ("gpt-5", 1.25, 10.0, Some(0.125), None),
    ("gpt-5-mini", 0.25, 2.0, Some(0.025), None),
    ("gpt-5-nano", 0.05, 0.40, Some(0.005), None),
    ("gpt-4.1", 2.0, 8.0, Some(0.50), None),
    ("gpt-4.1-mini", 0.40, 1.60, Some(0.10), None),
    ("gpt-4.1-nano", 0.10, 0.40, Some(0.025), None),
    ("gpt-4o", 2.50, 10.0, Some(1.25), None),
    ("gpt-4o-2024-05-13", 5.0, 15.0, None, None),
    ("gpt-4o-mini", 0.15, 0.60, Some(0.075), None),
    ("gpt-4-turbo", 10.0, 30.0, None, None),
    ("gpt-4-turbo-preview", 10.0, 30.0, None, None),
    ("gpt-4", 30.0, 60.0, None, None),
    ("gpt-3.5-turbo", 0.50, 1.50, None, None),
    ("gpt-3.5-turbo-instruct", 1.50, 2.0, None, None),
    ("o1", 15.0, 60.0, Some(7.50), None),
    ("o1-mini", 1.10, 4.40, Some(0.55), None),
    ("o3", 2.0, 8.0, Some(0.50), None),
    ("o3-mini", 1.10, 4.40, Some(0.55), None),
    ("o4-mini", 1.10, 4.40, Some(0.275), None),
    ("text-embedding-3-small", 0.02, 0.0, None, None),
    ("text-embedding-3-large", 0.13, 0.0, None, None),
    ("claude-opus-4", 15.0, 75.0, Some(1.50), Some(18.75)),
    ("claude-sonnet-4", 3.0, 15.0, Some(0.30), Some(3.75)),
    ("claude-3-7-sonnet", 3.0, 15.0, Some(0.30), Some(3.75)),
    ("claude-3-5-sonnet", 3.0, 15.0, Some(0.30), Some(3.75)),
    ("claude-3-5-haiku", 0.80, 4.0, Some(0.08), Some(1.0)),
    ("claude-3-opus", 15.0, 75.0, Some(1.50), Some(18.75)),
    ("claude-3-haiku", 0.25, 1.25, Some(0.03), Some(0.30)),
    ("nova-pro", 0.80, 3.20, Some(0.20), None),
    ("nova-lite", 0.06, 0.24, Some(0.015), None),
    ("nova-micro", 0.035, 0.14, Some(0.00875), None),
    ("gemini-2.5-pro", 1.25, 10.0, Some(0.31), None),
    ("gemini-2.5-flash", 0.30, 2.50, Some(0.075), None),
    ("gemini-2.5-flash-lite", 0.10, 0.40, Some(0.025), None),
    ("gemini-2.0-flash", 0.10, 0.40, Some(0.025), None),
    ("gemini-1.5-pro", 1.25, 5.0, None, None),
    ("gemini-1.5-flash", 0.075, 0.30, None, None),
    ("deepseek-chat", 0.27, 1.10, Some(0.07), None),
    ("deepseek-reasoner", 0.55, 2.19, Some(0.14), None),
    ("qwen-max", 1.60, 6.40, None, None),
    ("qwen-plus", 0.40, 1.20, None, None),
    ("qwen-turbo", 0.05, 0.20, None, None),
    ("mistral-large", 2.0, 6.0, None, None),
    ("mistral-small", 0.20, 0.60, None, None),
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
            .map(|&(m, i, o, c, w)| {
                let price = ModelPrice {
                    input_per_mtok: i,
                    output_per_mtok: o,
                    cached_input_per_mtok: c,
                    cache_write_input_per_mtok: w,
                };
                (m.to_string(), price)
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
        let given = lower.rsplit('/').next().unwrap_or(&lower);
        // (A price set for the model id as Bedrock names it wins.)
        if let Some(p) = self.prices.get(given) {
            return Some(p);
        }
        let name = without_bedrock_prefix(given);
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
/// (then priced as Claude 3.5 Sonnet: Bedrock's on-demand prices for Anthropic's models are
/// Anthropic's, and Amazon's own models are priced in the table). Other vendors' models are
/// priced differently on Bedrock than by the vendor (Mistral's, for one): their ids are left
/// as they are, unpriced unless the config prices them; so is a name whose first part is not
/// a vendor (`gpt-4.1`, `qwen2.5:7b`).
fn without_bedrock_prefix(name: &str) -> &str {
    const GEOGRAPHIES: &[&str] = &["us", "eu", "apac", "global", "us-gov", "jp", "au", "ca"];
    const VENDORS: &[&str] = &["anthropic", "amazon"];
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
        assert_eq!(input("mistral.mistral-large-2402-v1:0"), None, "Bedrock's price is not Mistral's");
        let own = ModelPrice {
            input_per_mtok: 4.0,
            output_per_mtok: 12.0,
            cached_input_per_mtok: None,
            cache_write_input_per_mtok: None,
        };
        let t2 = PriceTable::builtin().with_overrides(&BTreeMap::from([
            ("mistral.mistral-large-2402-v1:0".to_string(), own),
            ("us.anthropic.claude-3-haiku-20240307-v1:0".to_string(), own),
        ]));
        assert_eq!(t2.lookup("mistral.mistral-large-2402-v1:0"), Some(&own), "a price set for the id");
        assert_eq!(t2.lookup("us.anthropic.claude-3-haiku-20240307-v1:0"), Some(&own), "wins over the model's");
        assert_eq!(input("us.claude-3-haiku"), None, "a geography alone is no Bedrock id");
        for other in
            ["gpt-4.5-preview", "o1-pro", "o3-pro", "gpt-5-pro", "gpt-4-32k", "gemini-2.0-flash-lite", "gpt-4o-"]
        {
            assert_eq!(input(other), None, "{other}");
        }
    }

    #[test]
    fn cost_charges_cached_tokens_at_cached_price() {
        let p = ModelPrice {
            input_per_mtok: 2.0,
            output_per_mtok: 8.0,
            cached_input_per_mtok: Some(0.5),
            cache_write_input_per_mtok: None,
        };
        // 1M input of which 400k cached, 100k output: 0.6*2 + 0.4*0.5 + 0.1*8 = 2.2
        assert!((p.cost(1_000_000, 400_000, 0, 100_000) - 2.2).abs() < 1e-9);
        // Without a cache-write price, writes cost the input price.
        assert!((p.cost(1_000_000, 400_000, 200_000, 100_000) - 2.2).abs() < 1e-9);
    }

    #[test]
    fn cache_writes_are_charged_at_their_price_within_the_input() {
        let t = PriceTable::builtin();
        let sonnet = t.lookup("claude-3-5-sonnet-20241022").copied().unwrap_or_else(|| panic!("priced"));
        // 1M input: 500k read from the cache ($0.30), 300k written to it ($3.75), 200k fresh ($3).
        let usd = sonnet.cost(1_000_000, 500_000, 300_000, 0);
        assert!((usd - (0.15 + 1.125 + 0.6)).abs() < 1e-9, "{usd}");
        // Counts beyond the input (a source that did not count them in it) are capped by it.
        let capped = sonnet.cost(100, 80, 80, 0);
        assert!((capped - (80.0 * 0.30 + 20.0 * 3.75) / 1e6).abs() < 1e-12, "{capped}");
    }

    #[test]
    fn overrides_win() {
        let mut o = BTreeMap::new();
        o.insert(
            "Qwen2.5-7B-Instruct".to_string(),
            ModelPrice {
                input_per_mtok: 0.0,
                output_per_mtok: 0.0,
                cached_input_per_mtok: None,
                cache_write_input_per_mtok: None,
            },
        );
        let t = PriceTable::builtin().with_overrides(&o);
        assert_eq!(t.lookup("qwen2.5-7b-instruct").map(|p| p.output_per_mtok), Some(0.0));
    }
}
