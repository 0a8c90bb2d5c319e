//! Turning command-line filter flags into a `CallFilter`.

use anyhow::{anyhow, Context};
use chrono::Utc;
use chrono_tz::Tz;
use llmscope_core::timeparse::{parse_cli_time, parse_tz};
use llmscope_core::{CallFilter, CallStatus};

use crate::cli::FilterArgs;
use crate::config::Config;

/// The filter and the time zone the flags ask for.
pub fn build(a: &FilterArgs, cfg: &Config) -> anyhow::Result<(CallFilter, Tz)> {
    let tz_name = a.tz.clone().unwrap_or_else(|| cfg.report.tz.clone());
    let tz = parse_tz(&tz_name).map_err(|e| anyhow!("--tz: {e}"))?;
    let now = Utc::now();
    let time = |flag: &str, v: &Option<String>| -> anyhow::Result<_> {
        v.as_deref()
            .map(|s| parse_cli_time(s, tz, now).map_err(|e| anyhow!(e)).with_context(|| format!("--{flag}")))
            .transpose()
    };
    let status = a
        .status
        .as_deref()
        .map(|s| CallStatus::parse(s).ok_or_else(|| anyhow!("--status: {s:?} is not one of ok, error, cancelled")))
        .transpose()?;
    let f = CallFilter {
        since: time("since", &a.since)?,
        until: time("until", &a.until)?,
        models: a.model.clone(),
        users: a.user.clone(),
        sessions: a.session.clone(),
        status,
        flags: a.flag.clone(),
        tags: a.tag.clone(),
        text: a.search.clone(),
        ..Default::default()
    };
    if let (Some(s), Some(u)) = (f.since, f.until) {
        if s >= u {
            return Err(anyhow!("--since ({s}) must be before --until ({u})"));
        }
    }
    if let Some(p) = f.problem() {
        // Its message names what it is about (a flag, the search text).
        return Err(anyhow!("{p}"));
    }
    Ok((f, tz))
}
