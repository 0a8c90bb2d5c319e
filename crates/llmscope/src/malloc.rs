//! Tuning of glibc's allocator, the one DuckDB's C++ allocates through (the Rust side uses
//! it too). With glibc's defaults a long-running server keeps what DuckDB frees after each
//! checkpoint: the threshold above which blocks are mapped on their own (and unmapped when
//! freed) rises to 32 MB after the first large free, so later large buffers are carved from
//! the heap and stay there, and each thread that allocates gets its own arena. At 1,000
//! streaming requests/s that left the server's memory 15 MB higher
//! (docs/BENCHMARKS.md, "glibc's allocator").
//!
//! Done for `serve` and `demo` only: an import allocates and frees large batches all the
//! time, and with a fixed 128 KiB threshold each is mapped afresh (300,000 lines: 1.2 s of
//! system time without the tuning, 1.8–2.7 s with it).
//!
//! Skipped when the operator tunes glibc's allocator themselves (`GLIBC_TUNABLES` or a
//! `MALLOC_*` variable is set) or turns this off with `LLMSCOPE_MALLOC_TUNING=0`.

/// Large allocations at or above this size get their own mapping, returned to the system
/// when freed (glibc's initial value, held fixed instead of rising to 32 MB).
pub const MMAP_THRESHOLD: usize = 128 * 1024;
/// Free memory at the top of the heap beyond this is returned to the system.
pub const TRIM_THRESHOLD: usize = 128 * 1024;
/// Arenas for all threads together.
pub const ARENA_MAX: usize = 2;

/// Whether to tune, given the process's environment.
pub fn wanted(vars: impl IntoIterator<Item = (String, String)>) -> bool {
    for (name, value) in vars {
        if name == crate::env::MALLOC_TUNING
            && matches!(value.trim().to_ascii_lowercase().as_str(), "0" | "false" | "off" | "no")
        {
            return false;
        }
        // Unrelated tunables (e.g. `glibc.pthread.rseq=0`, set by some container images) do
        // not count.
        if (name == "GLIBC_TUNABLES" && value.contains("glibc.malloc.")) || name.starts_with("MALLOC_") {
            return false;
        }
    }
    true
}

/// Applies the tuning. Call before any thread starts (clap's parsing starts none): the
/// arena limit only holds for arenas not created yet. Returns whether glibc accepted every setting
/// (`false` on other C libraries, where nothing is done).
pub fn tune() -> bool {
    if !wanted(std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))) {
        return false;
    }
    set_all()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn set_all() -> bool {
    [(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD), (libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD), (libc::M_ARENA_MAX, ARENA_MAX)]
        .into_iter()
        .fold(true, |all, (param, value)| {
            let value = libc::c_int::try_from(value).unwrap_or(libc::c_int::MAX);
            // SAFETY: mallopt takes two integers, touches only the allocator's own settings
            // (under its lock) and reports a rejected value by returning 0.
            let accepted = unsafe { libc::mallopt(param, value) == 1 };
            all && accepted
        })
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_all() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn tuning_steps_aside_for_the_operators_own_settings() {
        assert!(wanted(vars(&[("PATH", "/bin"), ("LLMSCOPE_MALLOC_TUNING", "1")])));
        assert!(!wanted(vars(&[("LLMSCOPE_MALLOC_TUNING", "0")])));
        assert!(!wanted(vars(&[("LLMSCOPE_MALLOC_TUNING", "off")])));
        assert!(!wanted(vars(&[("LLMSCOPE_MALLOC_TUNING", "FALSE")])));
        assert!(!wanted(vars(&[("GLIBC_TUNABLES", "glibc.malloc.arena_max=4")])));
        assert!(wanted(vars(&[("GLIBC_TUNABLES", "glibc.pthread.rseq=0")])));
        assert!(!wanted(vars(&[("MALLOC_ARENA_MAX", "4")])));
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn glibc_accepts_every_setting() {
        assert!(set_all());
    }
}
