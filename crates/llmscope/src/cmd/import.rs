//! `llmscope import FILE...`

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::anyhow;
use indicatif::{ProgressBar, ProgressStyle};
use llmscope_capture::import::reader::is_stdin;
use llmscope_capture::import::{
    import_files, ImportFailure, ImportOptions, ImportProgress, ImportSummary, Importer, NoProgress,
};
use llmscope_core::timeparse::{parse_cli_time, parse_tz};

use super::{open_store, EXIT_REJECTED};
use crate::cli::ImportArgs;
use crate::config::Config;

/// Rejected lines printed on the terminal; the rest are in the rejects file.
const SHOWN_REJECTS: u64 = 20;

/// Shows progress (a bar on a terminal) and the first rejected lines.
struct Reporter {
    bar: Option<ProgressBar>,
    shown: AtomicU64,
}

impl ImportProgress for Reporter {
    fn start_file(&self, path: &str, disk_bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.reset();
            bar.set_length(disk_bytes);
            bar.set_message(path.to_string());
        }
    }
    fn advance(&self, disk_bytes: u64, _lines: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(disk_bytes);
        }
    }
    fn rejected(&self, file: &str, line: u64, reason: &str) {
        if self.shown.fetch_add(1, Ordering::Relaxed) >= SHOWN_REJECTS {
            return;
        }
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{file}:{line}: {reason}")),
            None => eprintln!("{file}:{line}: {reason}"),
        }
    }
}

pub fn run(cfg: &Config, a: ImportArgs) -> anyhow::Result<ExitCode> {
    let tz_name = a.assume_tz.clone().unwrap_or_else(|| cfg.import.assume_tz.clone());
    let naive_tz = parse_tz(&tz_name).map_err(|e| anyhow!("--assume-tz: {e}"))?;
    if a.files.iter().filter(|f| is_stdin(f)).count() > 1 {
        return Err(anyhow!("-: standard input can be named once"));
    }
    for f in a.files.iter().filter(|f| !is_stdin(f)) {
        if f.is_dir() {
            return Err(anyhow!(
                "{}: is a directory (name the files in it, e.g. {}/*.jsonl)",
                f.display(),
                f.display()
            ));
        }
        if !f.is_file() {
            return Err(anyhow!("{}: no such file", f.display()));
        }
    }
    // The store, or — when a running server holds it — the server's ingest API.
    let (store, remote): (Option<Box<dyn llmscope_core::store::Store>>, Option<super::remote::ServerApi>) =
        match open_store(cfg) {
            Ok(s) => (Some(s), None),
            Err(e) => match super::remote::server_for(&e, &cfg.storage.data_dir) {
                Some(url) => {
                    eprintln!("(the store is held by the server at {url}; importing through its API)");
                    (None, Some(super::remote::ServerApi::new(&url)?))
                }
                None => return Err(e),
            },
        };
    let sink: &dyn llmscope_core::store::CallSink = match (&store, &remote) {
        (Some(s), _) => s.as_ref(),
        (None, Some(r)) => r,
        (None, None) => return Err(anyhow!("no store to import into")),
    };
    let undated_at = a
        .undated_at
        .as_deref()
        .map(|t| parse_cli_time(t, naive_tz, chrono::Utc::now()).map_err(|e| anyhow!("--undated-at: {e}")))
        .transpose()?;
    let opts = ImportOptions { naive_tz, project: cfg.import.project.clone(), undated_at, ..Default::default() };
    let mut importer = Importer::new(sink, opts);
    importer.batch_size =
        if remote.is_some() { cfg.import.batch_size.min(super::remote::REMOTE_BATCH) } else { cfg.import.batch_size };
    importer.rejects_dir = Some(a.rejects_dir.clone().unwrap_or_else(|| cfg.storage.data_dir.join("rejects")));

    let result = if a.json {
        import_files(&importer, &a.files, &NoProgress)
    } else {
        let bar = (!a.no_progress && std::io::stderr().is_terminal()).then(|| {
            ProgressBar::new(0).with_style(
                ProgressStyle::with_template("{msg:.dim} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            )
        });
        let reporter = Reporter { bar, shown: AtomicU64::new(0) };
        let result = import_files(&importer, &a.files, &reporter);
        if let Some(bar) = &reporter.bar {
            bar.finish_and_clear();
        }
        result
    };
    let summary = match result {
        Ok(s) => s,
        Err(ImportFailure { error, done }) => {
            // What was committed before the failure is stored: say so, with the counts.
            if a.json {
                let mut v = summary_json(&done);
                v["error"] = serde_json::Value::String(error.to_string());
                println!("{v}");
            } else if done.lines > 0 {
                println!("stopped by an error; before it:");
                print_summary(&done);
                println!(
                    "the {} calls imported before the error are stored; importing the same files again skips them",
                    done.imported
                );
            }
            return Err(error.into());
        }
    };
    if a.json {
        println!("{}", summary_json(&summary));
    } else {
        print_summary(&summary);
    }
    Ok(if summary.rejected > 0 { ExitCode::from(EXIT_REJECTED) } else { ExitCode::SUCCESS })
}

fn print_summary(s: &ImportSummary) {
    let secs = s.elapsed.as_secs_f64().max(1e-9);
    println!(
        "imported {} calls, {} already present, {} rejected ({} lines in {} file(s), {:.1} s, {:.0} lines/s, {:.1} MB/s)",
        s.imported,
        s.already_present,
        s.rejected,
        s.lines,
        s.files,
        secs,
        s.lines as f64 / secs,
        s.bytes as f64 / secs / 1e6
    );
    if s.joined > 0 {
        println!(
            "{} Batch requests joined to their answers (an answer stored before without its request keeps what it \
             was stored with)",
            s.joined
        );
    }
    if s.rollup.as_secs_f64() >= 0.05 {
        println!("  (of the {secs:.1} s, {:.1} s went to updating the report's rollups)", s.rollup.as_secs_f64());
    }
    let formats: Vec<String> = s.by_format.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    if !formats.is_empty() {
        println!("formats: {}", formats.join(", "));
    }
    if s.assessments > 0 {
        println!("assessments recorded from the logs: {}", s.assessments);
    }
    if s.rejected > 0 {
        if s.rejected > SHOWN_REJECTS {
            println!("… {} more rejected lines not shown", s.rejected - SHOWN_REJECTS);
        }
        for f in &s.rejects_files {
            println!("rejected lines copied to {} (reasons in the .log beside it)", f.display());
        }
    }
}

fn summary_json(s: &ImportSummary) -> serde_json::Value {
    serde_json::json!({
        "files": s.files,
        "lines": s.lines,
        "blank": s.blank,
        "imported": s.imported,
        "already_present": s.already_present,
        "joined": s.joined,
        "rejected": s.rejected,
        "assessments": s.assessments,
        "bytes": s.bytes,
        "elapsed_s": s.elapsed.as_secs_f64(),
        "rollup_s": s.rollup.as_secs_f64(),
        "by_format": s.by_format,
        "rejects": s.rejects_sample.iter().map(|r| serde_json::json!({"file": r.file, "line": r.line, "reason": r.reason})).collect::<Vec<_>>(),
        "rejects_files": s.rejects_files,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// `--json` reports the import's durations in seconds, the roll-up's apart (the output
    /// contract; how long an import takes is the benchmarks' business).
    #[test]
    fn the_json_summary_gives_durations_in_seconds() {
        let s = ImportSummary {
            imported: 3,
            elapsed: Duration::from_millis(2500),
            rollup: Duration::from_millis(500),
            ..Default::default()
        };
        let j = summary_json(&s);
        assert_eq!((&j["imported"], &j["elapsed_s"], &j["rollup_s"]), (&3.into(), &2.5.into(), &0.5.into()));
    }
}
