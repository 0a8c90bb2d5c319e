//! Per-line cost of the importer's parsing, on one thread, without a store (the figures in
//! docs/BENCHMARKS.md):
//!
//!     cargo build --release --workspace --examples
//!     $CARGO_TARGET_DIR/release/examples/parse_cost FILE.jsonl
//!
//! Reads the whole file into memory first, then times: serde_json's tree alone; the full
//! `parse_line` (detection, mapping, ids, flags); dropping the parsed calls.

use std::io::BufRead;
use std::time::Instant;

use llmscope_capture::import::{parse_line, ImportOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: parse_cost FILE.jsonl")?;
    let lines: Vec<Vec<u8>> =
        std::io::BufReader::new(std::fs::File::open(&path)?).split(b'\n').collect::<Result<_, _>>()?;
    let per_line = |t: Instant| t.elapsed().as_secs_f64() * 1e6 / lines.len().max(1) as f64;
    let opts = ImportOptions::default();

    let t = Instant::now();
    let mut keys = 0;
    for l in &lines {
        if let Ok(serde_json::Value::Object(m)) = serde_json::from_slice::<serde_json::Value>(l) {
            keys += m.len();
        }
    }
    println!("serde_json tree only: {:.2} µs/line ({keys} top-level keys)", per_line(t));

    // In batches of the importer's size, each dropped before the next (as the importer hands
    // its batches on), so that the figure is not the cost of holding every call at once.
    let t = Instant::now();
    let (mut parsed, mut rejected) = (0, 0);
    for (b, batch) in lines.chunks(20_480).enumerate() {
        let mut calls = Vec::with_capacity(batch.len());
        for (i, l) in batch.iter().enumerate() {
            match parse_line(l, "file.jsonl", (b * 20_480 + i) as u64 + 1, &opts) {
                Ok(p) => calls.push(p.call),
                Err(_) => rejected += 1,
            }
        }
        parsed += calls.len();
    }
    println!("parse_line, batches of 20,480: {:.2} µs/line ({parsed} calls, {rejected} rejected)", per_line(t));

    let t = Instant::now();
    let mut calls = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        if let Ok(p) = parse_line(l, "file.jsonl", i as u64 + 1, &opts) {
            calls.push(p.call);
        }
    }
    println!("parse_line, every call kept: {:.2} µs/line", per_line(t));

    let t = Instant::now();
    drop(calls);
    println!("dropping the calls: {:.2} µs/line", per_line(t));
    Ok(())
}
