//! `llmscope calls`

use std::io::Write;
use std::process::ExitCode;

use anyhow::anyhow;
use llmscope_core::store::CallOrder;
use llmscope_core::Call;
use unicode_width::UnicodeWidthChar;

use super::open_existing_store;
use crate::cli::CallsArgs;
use crate::config::Config;
use crate::filters;

pub fn run(cfg: &Config, a: CallsArgs) -> anyhow::Result<ExitCode> {
    let (mut filter, _tz) = filters::build(&a.filter, cfg)?;
    filter.id_prefix = a.id.clone();
    filter.trace_id = a.trace.clone();
    if let Some(p) = filter.problem() {
        return Err(anyhow!("{p}"));
    }
    let order = match a.order.as_str() {
        "newest" => CallOrder::NewestFirst,
        "oldest" => CallOrder::OldestFirst,
        "slowest" => CallOrder::SlowestFirst,
        o => return Err(anyhow!("--order: {o:?} is not one of newest, oldest, slowest")),
    };
    let mut out = Listing::new(&a.format, std::io::stdout().lock())?;
    // The store, or — when a running server holds it — the server's API, a page at a time.
    match open_existing_store(cfg) {
        Ok(store) => {
            let calls = store.list_calls(&filter, order, a.limit)?;
            out.page(&calls)?;
            let total = if a.format == "table" { store.count_calls(&filter)? } else { calls.len() as u64 };
            out.finish(total)?;
        }
        Err(e) => match super::remote::server_for(&e, &cfg.storage.data_dir) {
            Some(url) => {
                eprintln!("(the store is held by the server at {url}; reading through its API)");
                let api = super::remote::ServerApi::new(&url)?;
                let (mut after, mut total) = (None, 0);
                while out.shown < a.limit {
                    let page = api.query_calls(&filter, order, after.as_ref(), a.limit - out.shown)?;
                    out.page(&page.calls)?;
                    total = page.total;
                    match page.next {
                        Some(key) if !page.calls.is_empty() => after = Some(key),
                        _ => break,
                    }
                }
                if a.limit == 0 && a.format == "table" {
                    total = api.query_calls(&filter, order, None, 0)?.total;
                }
                out.finish(total)?;
            }
            None => return Err(e),
        },
    }
    Ok(ExitCode::SUCCESS)
}

/// Listed calls written out as they come (a page at a time through a server).
struct Listing<W: Write> {
    out: W,
    table: bool,
    shown: usize,
}

impl<W: Write> Listing<W> {
    fn new(format: &str, mut out: W) -> anyhow::Result<Self> {
        let table = match format {
            "jsonl" => false,
            "table" => true,
            f => return Err(anyhow!("--format: {f:?} is not one of table, jsonl")),
        };
        if table {
            writeln!(
                out,
                "{:<12} {:<19} {:<22} {:<10} {:>9} {:<9} {:<30} OUTPUT",
                "ID", "TIME (UTC)", "MODEL", "USER", "LATENCY", "STATUS", "INPUT"
            )?;
        }
        Ok(Listing { out, table, shown: 0 })
    }

    fn page(&mut self, calls: &[Call]) -> anyhow::Result<()> {
        self.shown += calls.len();
        let out = &mut self.out;
        if !self.table {
            for c in calls {
                serde_json::to_writer(&mut *out, c)?;
                out.write_all(b"\n")?;
            }
            return Ok(());
        }
        for c in calls {
            let status =
                if c.flags.is_empty() { c.status.as_str().to_string() } else { format!("{}*", c.status.as_str()) };
            writeln!(
                out,
                "{:<12} {:<19} {} {} {:>9} {:<9} {} {}",
                c.id.chars().take(12).collect::<String>(),
                c.start_time.format("%Y-%m-%d %H:%M:%S"),
                column(c.model.as_deref().unwrap_or("-"), 22),
                column(c.user_id.as_deref().unwrap_or("-"), 10),
                c.latency_ms.map_or_else(|| "-".into(), |l| format!("{l:.0} ms")),
                status,
                column(&c.input_text, 30),
                column(c.output.as_deref().unwrap_or("(not recorded)"), 30).trim_end(),
            )?;
            if !c.flags.is_empty() {
                writeln!(out, "{:<12} flags: {}", "", c.flags.join(", "))?;
            }
        }
        Ok(())
    }

    fn finish(mut self, total: u64) -> anyhow::Result<()> {
        if self.table {
            writeln!(self.out, "{} of {} matching calls shown", self.shown, total)?;
        }
        self.out.flush()?;
        Ok(())
    }
}

/// `s` in a table column `width` terminal cells wide: cut with `…` when longer, padded with
/// spaces when shorter. Chinese and other wide characters take two cells.
fn column(s: &str, width: usize) -> String {
    let cells = |c: char| if c.is_control() { 1 } else { c.width().unwrap_or(0) };
    let total: usize = s.chars().map(cells).sum();
    let mut out = String::new();
    let mut used = 0;
    if total <= width {
        out.extend(s.chars().map(|c| if c.is_control() { ' ' } else { c }));
        used = total;
    } else {
        for c in s.chars() {
            let w = cells(c);
            if used + w > width - 1 {
                break;
            }
            out.push(if c.is_control() { ' ' } else { c });
            used += w;
        }
        out.push('…');
        used += 1;
    }
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(used)));
    out
}

#[cfg(test)]
mod tests {
    use super::column;

    #[test]
    fn columns_line_up_with_wide_characters() {
        assert_eq!(column("abc", 5), "abc  ");
        assert_eq!(column("写一首诗", 8), "写一首诗");
        assert_eq!(column("写一首诗吧", 8), "写一首… ");
        assert_eq!(column("写一首诗吧", 9), "写一首诗…");
        assert_eq!(column("a\nb", 4), "a b ");
        assert_eq!(column("abcdef", 4), "abc…");
    }
}
