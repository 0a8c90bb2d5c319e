//! Cost from the price table. A model without a price is listed as unpriced: its cost is
//! unknown, and it is never added to the total as zero.

use llmscope_core::price::PriceTable;
use llmscope_core::store::GroupStats;

use crate::report::{Cost, ModelCost, UnpricedModel};

/// Cost of per-model aggregates (`GroupKey::Model` rows).
pub fn cost(by_model: &[GroupStats], prices: &PriceTable) -> Cost {
    let mut out = Cost::default();
    for g in by_model {
        let model = if g.key.is_empty() { "(unknown)" } else { g.key.as_str() };
        match prices.lookup(model).filter(|_| !g.key.is_empty()) {
            Some(p) => {
                let usd = p.cost(g.input_tokens, g.cached_tokens, g.cache_write_tokens, g.output_tokens);
                out.total_usd += usd;
                out.by_model.push(ModelCost {
                    model: model.to_string(),
                    input_tokens: g.input_tokens,
                    output_tokens: g.output_tokens,
                    cached_tokens: g.cached_tokens,
                    cache_write_tokens: g.cache_write_tokens,
                    usd,
                });
            }
            None => out.unpriced_models.push(UnpricedModel {
                model: model.to_string(),
                requests: g.requests,
                input_tokens: g.input_tokens,
                output_tokens: g.output_tokens,
            }),
        }
    }
    out.by_model.sort_by(|a, b| b.usd.total_cmp(&a.usd).then_with(|| a.model.cmp(&b.model)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priced_and_unpriced() {
        let rows = vec![
            GroupStats {
                key: "gpt-4o-mini".into(),
                requests: 2,
                input_tokens: 1_000_000,
                output_tokens: 500_000,
                ..Default::default()
            },
            GroupStats {
                key: "qwen2.5-7b-instruct".into(),
                requests: 3,
                input_tokens: 10,
                output_tokens: 20,
                ..Default::default()
            },
            GroupStats { key: "".into(), requests: 1, ..Default::default() },
        ];
        let c = cost(&rows, &PriceTable::builtin());
        // 1M × 0.15 + 0.5M × 0.60 = 0.45 USD
        assert!((c.total_usd - 0.45).abs() < 1e-9);
        assert_eq!(c.by_model.len(), 1);
        let unpriced: Vec<&str> = c.unpriced_models.iter().map(|u| u.model.as_str()).collect();
        assert_eq!(unpriced, vec!["qwen2.5-7b-instruct", "(unknown)"]);
    }
}
