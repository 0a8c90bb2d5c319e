//! Scheduling priority of the threads that write to the store. A checkpoint can keep the
//! recorder busy for tens of milliseconds; at the same priority as the request handlers it
//! takes turns with them on a busy core and delays answers. At a lower priority (a higher
//! nice value) it runs in the time they leave, and when they leave none the queue fills and
//! calls are spilled, as for a slow store. The request path is never the one that waits.

/// Lowers the calling thread's priority by `nice` steps (relative to the nice value it runs
/// at, capped at 19; 0 leaves it unchanged). Returns whether it was applied (Linux only:
/// there each thread has its own nice value).
pub fn lower_current_thread(nice: u8) -> bool {
    if nice == 0 {
        return false;
    }
    let Some(current) = current_thread_nice() else { return false };
    let target = (current + i32::from(nice)).min(19);
    target > current && set_current_thread_nice(target)
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn set_current_thread_nice(nice: i32) -> bool {
    // SAFETY: setpriority takes three integers, reads no memory of ours and reports failure
    // by returning -1. On Linux `who = 0` with PRIO_PROCESS is the calling thread.
    let done = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) == 0 };
    if !done {
        tracing::warn!(nice, "could not lower the recorder thread's priority: {}", std::io::Error::last_os_error());
    }
    done
}

#[cfg(not(target_os = "linux"))]
fn set_current_thread_nice(_nice: i32) -> bool {
    false
}

/// The calling thread's nice value (Linux).
pub fn current_thread_nice() -> Option<i32> {
    stat_nice(&std::fs::read_to_string("/proc/thread-self/stat").ok()?)
}

/// The nice value in a `/proc/.../stat` line: after the command (in parentheses, and it may
/// hold spaces) it is the 17th field.
fn stat_nice(stat: &str) -> Option<i32> {
    stat.rfind(')').and_then(|at| stat[at + 1..].split_whitespace().nth(16)?.parse::<i32>().ok())
}

/// The nice values of this process's threads named `name` (as Linux shows it: the first
/// 15 bytes). For tests and checks.
pub fn thread_nices(name: &str) -> Vec<i32> {
    threads().into_iter().filter(|(comm, _)| comm == name).map(|(_, nice)| nice).collect()
}

/// This process's threads: name and nice value (Linux). For tests and checks.
pub fn threads() -> Vec<(String, i32)> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return Vec::new() };
    let mut found = Vec::new();
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if let Some(nice) = stat_nice(&std::fs::read_to_string(task.path().join("stat")).unwrap_or_default()) {
            found.push((comm.trim_end().to_string(), nice));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_nice_value_is_read_past_a_command_with_spaces() {
        let stat = "4242 (tokio rt) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 25 5 1 0";
        assert_eq!(super::stat_nice(stat), Some(5));
        assert_eq!(super::stat_nice("garbage"), None);
    }
}
