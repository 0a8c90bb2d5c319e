//! What the embedded store spends per call on an import's appends, on one thread and
//! without the parsing beside it (the figures in docs/BENCHMARKS.md):
//!
//!     cargo build --release --workspace --examples
//!     $CARGO_TARGET_DIR/release/examples/append_cost DATA_DIR [CALLS]
//!
//! Reads up to CALLS (default 491,520) calls from the store in DATA_DIR, then into a fresh
//! store in a temporary directory times: preparing the columnar batches (20,480 calls
//! each, as the importer does), appending them through a bulk load (id check included),
//! the commits (every 122,880 calls), and the roll-up at the end.

use std::time::{Duration, Instant};

use llmscope_core::store::{CallOrder, CallReader, CallSink, Preparing};
use llmscope_core::CallFilter;
use llmscope_store::embedded::DuckStore;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: append_cost DATA_DIR [CALLS]")?;
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(491_520);
    let calls = DuckStore::open_dir(std::path::Path::new(&dir))?.list_calls(
        &CallFilter::default(),
        CallOrder::OldestFirst,
        n,
    )?;
    let n = calls.len();
    let tmp = tempfile::tempdir()?;
    let store = DuckStore::open_dir(tmp.path())?;
    let per = |d: Duration| d.as_secs_f64() * 1e6 / n.max(1) as f64;

    let parts: Vec<Vec<_>> = calls.chunks(20_480).map(<[_]>::to_vec).collect();
    drop(calls);
    let t = Instant::now();
    let batches: Vec<_> = parts
        .into_iter()
        .flat_map(|c| {
            let mut p = Preparing::new(&store, c.len(), 0);
            c.into_iter().for_each(|call| p.add(call));
            p.finish()
        })
        .collect();
    let prepare = t.elapsed();

    let (mut append, mut commit) = (Duration::ZERO, Duration::ZERO);
    {
        let mut load = store.bulk_load()?;
        for b in &batches {
            let mut at = 0;
            while at < b.len() {
                if load.room() == 0 {
                    let t = Instant::now();
                    load.commit()?;
                    commit += t.elapsed();
                }
                let k = (b.len() - at).min(load.room());
                let t = Instant::now();
                load.append_prepared(b, at..at + k)?;
                append += t.elapsed();
                at += k;
            }
        }
        let t = Instant::now();
        load.commit()?;
        commit += t.elapsed();
    }
    let t = Instant::now();
    store.roll_up(None)?;
    let roll_up = t.elapsed();
    println!(
        "{n} calls, µs per call: prepare {:.2} | append {:.2} | commit {:.2} | roll-up {:.2}",
        per(prepare),
        per(append),
        per(commit),
        per(roll_up)
    );
    Ok(())
}
