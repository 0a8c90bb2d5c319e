//! Times one run of the generator into a sink (or a file given as the second
//! argument): `cargo run --release -p llmscope-gen --example gen_speed -- 1000000 [out.jsonl] [format]`.

use std::time::Instant;

use llmscope_gen::{generate, Format, GenConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let calls = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let path = args.next();
    let format: Format = args.next().map_or(Ok(Format::Mixed), |a| a.parse())?;
    let cfg = GenConfig { calls, format, ..GenConfig::default() };
    let t = Instant::now();
    let stats = match path.as_deref() {
        Some(p) if p != "-" => generate(&cfg, std::fs::File::create(p)?)?,
        _ => generate(&cfg, std::io::sink())?,
    };
    let secs = t.elapsed().as_secs_f64();
    println!("{stats:?}");
    println!(
        "{} lines ({} formats: {format}) in {secs:.2}s = {:.0} lines/s, {:.1} MB/s",
        stats.lines,
        Format::ALL.len(),
        stats.lines as f64 / secs,
        stats.bytes as f64 / secs / 1e6
    );
    Ok(())
}
