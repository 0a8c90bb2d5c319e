//! The typed configuration: defaults < TOML file < environment < command-line flags.
//! Unknown keys are rejected with their path; every problem is reported at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use llmscope_core::price::{ModelPrice, PriceTable};
use serde::Deserialize;

use crate::env;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub storage: StorageConfig,
    pub import: ImportConfig,
    pub report: ReportConfig,
    /// Price overrides and additions, USD per million tokens, by model name.
    pub prices: BTreeMap<String, ModelPrice>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    pub data_dir: PathBuf,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig { data_dir: PathBuf::from("llmscope-data") }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImportConfig {
    /// Zone of naive timestamps in imported logs.
    pub assume_tz: String,
    /// Calls per committed batch.
    pub batch_size: usize,
    /// Project imported calls belong to.
    pub project: String,
}

impl Default for ImportConfig {
    fn default() -> Self {
        ImportConfig { assume_tz: "UTC".into(), batch_size: 50_000, project: "default".into() }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportConfig {
    pub tz: String,
    pub top_n: usize,
    pub examples: usize,
    pub slow_threshold_ms: f64,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig { tz: "UTC".into(), top_n: 10, examples: 5, slow_threshold_ms: 2000.0 }
    }
}

impl Config {
    /// Loads the config: the file named by `--config`, else `$LLMSCOPE_CONFIG`, else
    /// `./llmscope.toml` when it exists; then the environment.
    pub fn load(explicit: Option<&Path>) -> anyhow::Result<Config> {
        let path = explicit
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os(env::CONFIG).map(PathBuf::from))
            .or_else(|| Some(PathBuf::from("llmscope.toml")).filter(|p| p.exists()));
        let mut cfg = match &path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read the config file {}", p.display()))?;
                Self::parse(&text).with_context(|| format!("invalid config file {}", p.display()))?
            }
            None => Config::default(),
        };
        if let Some(v) = std::env::var_os(env::DATA_DIR) {
            cfg.storage.data_dir = PathBuf::from(v);
        }
        if let Ok(v) = std::env::var(env::TZ) {
            cfg.report.tz = v;
        }
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn parse(text: &str) -> anyhow::Result<Config> {
        Ok(toml::from_str(text)?)
    }

    /// Checks everything and reports every problem at once.
    pub fn validate(&self) -> anyhow::Result<()> {
        let mut problems = Vec::new();
        for (key, tz) in [("import.assume_tz", &self.import.assume_tz), ("report.tz", &self.report.tz)] {
            if let Err(e) = llmscope_core::timeparse::parse_tz(tz) {
                problems.push(format!("{key}: {e}"));
            }
        }
        if self.import.batch_size == 0 {
            problems.push("import.batch_size: must be at least 1".into());
        }
        if !(self.report.slow_threshold_ms.is_finite() && self.report.slow_threshold_ms > 0.0) {
            problems.push("report.slow_threshold_ms: must be a positive number".into());
        }
        for (model, p) in &self.prices {
            for (field, v) in [
                ("input_per_mtok", Some(p.input_per_mtok)),
                ("output_per_mtok", Some(p.output_per_mtok)),
                ("cached_input_per_mtok", p.cached_input_per_mtok),
            ] {
                if v.is_some_and(|v| !(v.is_finite() && v >= 0.0)) {
                    problems.push(format!("prices.\"{model}\".{field}: must be a non-negative number"));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            bail!("{} problem(s) in the configuration:\n  {}", problems.len(), problems.join("\n  "))
        }
    }

    pub fn price_table(&self) -> PriceTable {
        PriceTable::builtin().with_overrides(&self.prices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses_and_validates() -> anyhow::Result<()> {
        let text = include_str!("../../../llmscope.example.toml");
        let cfg = Config::parse(text)?;
        cfg.validate()?;
        assert!(cfg.price_table().lookup("qwen2.5-7b-instruct").is_some());
        Ok(())
    }

    #[test]
    fn unknown_keys_and_bad_values_are_reported() {
        let e = Config::parse("[storage]\ndata_dirr = 'x'\n").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("unknown field `data_dirr`"), "{e}");
        let cfg = Config::parse("[report]\ntz = 'Mars/Base'\nslow_threshold_ms = -1\n[import]\nbatch_size = 0\n");
        let e = cfg.and_then(|c| c.validate()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.starts_with("3 problem(s)"), "{e}");
        assert!(e.contains("report.tz") && e.contains("import.batch_size") && e.contains("slow_threshold_ms"), "{e}");
    }
}
