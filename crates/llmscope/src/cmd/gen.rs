//! `llmscope gen`

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use chrono::NaiveDate;
use llmscope_gen::{generate, Format, GenConfig};

use crate::cli::GenArgs;

pub fn run(a: GenArgs) -> anyhow::Result<ExitCode> {
    let format: Format = a.format.parse().map_err(|e| anyhow!("--format: {e}"))?;
    let start = NaiveDate::parse_from_str(&a.start, "%Y-%m-%d")
        .map_err(|e| anyhow!("--start: {e} (expected YYYY-MM-DD)"))?
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .ok_or_else(|| anyhow!("--start: invalid date"))?;
    let cfg = GenConfig {
        seed: a.seed,
        calls: a.lines,
        start,
        days: a.days.max(1),
        users: a.users.max(1),
        format,
        tz_offset_hours: a.tz_offset,
    };
    let stats = match &a.out {
        Some(path) => {
            let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
            if path.extension().is_some_and(|e| e == "gz") {
                let mut gz =
                    flate2::write::GzEncoder::new(BufWriter::with_capacity(1 << 20, file), flate2::Compression::fast());
                let stats = generate(&cfg, &mut gz)?;
                gz.finish()?.flush()?;
                stats
            } else {
                let mut w = BufWriter::with_capacity(1 << 20, file);
                let stats = generate(&cfg, &mut w)?;
                w.flush()?;
                stats
            }
        }
        None => {
            let mut w = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            let stats = generate(&cfg, &mut w)?;
            w.flush()?;
            stats
        }
    };
    eprintln!(
        "generated {} lines ({} errors, {} empty outputs, {} JSON-mode of which {} broken, {} with PII, {} refusals, {} jailbreak attempts)",
        stats.lines, stats.errors, stats.empty_outputs, stats.json_mode, stats.broken_json, stats.with_pii, stats.refusals, stats.jailbreaks
    );
    Ok(ExitCode::SUCCESS)
}
