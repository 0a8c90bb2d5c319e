//! `llmscope mock-llm`: the mock OpenAI-compatible upstream, on its own.

use std::process::ExitCode;

use anyhow::Context;
use llmscope_mock::MockConfig;

use crate::cli::MockArgs;

pub fn config(a: &MockArgs) -> anyhow::Result<MockConfig> {
    if !(0.0..=1.0).contains(&a.fault_rate) {
        anyhow::bail!("--fault-rate must be between 0 and 1, not {}", a.fault_rate);
    }
    if !(a.tokens_per_s.is_finite() && a.tokens_per_s >= 0.0) {
        anyhow::bail!("--tokens-per-s must be a non-negative number");
    }
    let faults = if a.faults.trim().is_empty() {
        Vec::new()
    } else {
        llmscope_mock::parse_faults(&a.faults).map_err(|e| anyhow::anyhow!("--faults: {e}"))?
    };
    let api_key = match &a.api_key_env {
        Some(var) => Some(std::env::var(var).map_err(|_| anyhow::anyhow!("--api-key-env: {var} is not set"))?),
        None => None,
    };
    Ok(MockConfig {
        api_key,
        latency_ms: a.latency_ms,
        ttft_ms: a.ttft_ms,
        tokens_per_s: a.tokens_per_s,
        output_tokens: a.output_tokens,
        usage: !a.no_usage,
        fault_rate: a.fault_rate,
        faults,
        seed: a.seed,
        ..MockConfig::default()
    })
}

pub fn run(a: MockArgs) -> anyhow::Result<ExitCode> {
    let cfg = config(&a)?;
    let rt = super::serve::runtime()?;
    rt.block_on(async {
        let listener =
            tokio::net::TcpListener::bind(&a.listen).await.with_context(|| format!("cannot listen on {}", a.listen))?;
        eprintln!("mock LLM listening on http://{}/v1", listener.local_addr()?);
        llmscope_mock::serve(listener, cfg, llmscope_server::shutdown_signal()).await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
