//! Scheduling priority of the threads that write to the store. A checkpoint can keep the
//! recorder busy for tens of milliseconds; at the same priority as the request handlers it
//! takes turns with them on a busy core and delays answers. At a lower priority (a higher
//! nice value) it runs in the time they leave, and when they leave none the queue fills and
//! calls are spilled, as for a slow store. The request path is never the one that waits.

/// How far below the request handlers a thread writing to the store runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lowering {
    /// Nice steps below the calling thread's (capped at 19; 0: none).
    pub nice: u8,
    /// Linux's `SCHED_IDLE` policy: the thread runs only when no ordinary thread wants its
    /// core, and a request handler waking up takes the core from it at once. Nice alone only
    /// weighs the shares: under the EEVDF scheduler a niced thread in the middle of a
    /// checkpoint still delays a waking handler by up to a slice (the proxy's p99 overhead
    /// at 1,000 req/s: 1.1–1.3 ms niced, 0.14 ms idle; docs/BENCHMARKS.md).
    pub idle: bool,
}

/// Lowers the calling thread's priority (Linux only: there each thread has its own nice
/// value and policy). Returns whether anything was applied. Threads it starts afterwards
/// inherit both.
pub fn lower_current_thread(l: Lowering) -> bool {
    let idle = l.idle && set_current_thread_idle();
    if l.nice == 0 {
        return idle;
    }
    let Some(current) = current_thread_nice() else { return idle };
    let target = (current + i32::from(l.nice)).min(19);
    (target > current && set_current_thread_nice(target)) || idle
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn set_current_thread_idle() -> bool {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: sched_setscheduler reads the sched_param we pass by reference for the length
    // of the call and reports failure by returning -1; pid 0 is the calling thread.
    let done = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) == 0 };
    if !done {
        tracing::warn!("could not give the recorder thread the idle policy: {}", std::io::Error::last_os_error());
    }
    done
}

#[cfg(not(target_os = "linux"))]
fn set_current_thread_idle() -> bool {
    false
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

/// The `n`th field (1-based) of a `/proc/.../stat` line, as a number: counted after the
/// command (in parentheses, and it may hold spaces), which is the 2nd.
fn stat_field(stat: &str, n: usize) -> Option<i32> {
    stat.rfind(')').and_then(|at| stat[at + 1..].split_whitespace().nth(n.checked_sub(3)?)?.parse::<i32>().ok())
}

/// The nice value in a `/proc/.../stat` line (its 19th field).
fn stat_nice(stat: &str) -> Option<i32> {
    stat_field(stat, 19)
}

/// The nice values of this process's threads named `name` (as Linux shows it: the first
/// 15 bytes). For tests and checks.
pub fn thread_nices(name: &str) -> Vec<i32> {
    threads().into_iter().filter(|(comm, _)| comm == name).map(|(_, nice)| nice).collect()
}

/// The scheduling policies of this process's threads named `name` (Linux: 0 normal, 5
/// `SCHED_IDLE`; the 41st field). For tests and checks.
pub fn thread_policies(name: &str) -> Vec<i32> {
    tasks().into_iter().filter(|(comm, _)| comm == name).filter_map(|(_, stat)| stat_field(&stat, 41)).collect()
}

/// This process's threads: name and nice value (Linux). For tests and checks.
pub fn threads() -> Vec<(String, i32)> {
    tasks().into_iter().filter_map(|(comm, stat)| Some((comm, stat_nice(&stat)?))).collect()
}

/// This process's threads: name and `stat` line (Linux).
fn tasks() -> Vec<(String, String)> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return Vec::new() };
    tasks
        .flatten()
        .map(|task| {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            (comm.trim_end().to_string(), std::fs::read_to_string(task.path().join("stat")).unwrap_or_default())
        })
        .collect()
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
