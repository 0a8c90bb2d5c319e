//! Scheduling priority of the threads that write to the store. A checkpoint can keep the
//! recorder busy for tens of milliseconds; at the same priority as the request handlers it
//! takes turns with them on a busy core and delays answers. At a lower priority (a higher
//! nice value) it runs in the time they leave, and when they leave none the queue fills and
//! calls are spilled, as for a slow store. The request path is never the one that waits.
//!
//! A lower nice value still lets the recorder finish its time slice (a millisecond or more)
//! before a request handler that wakes gets the core. Under Linux's `SCHED_IDLE` policy it
//! runs only on a core with nothing else to do, and a waking handler takes the core from it
//! at once ([`idle_current_thread`]). Nothing of it is ever starved for long: see the
//! recorder's rescue thread.

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

/// Moves the calling thread to the `SCHED_IDLE` policy. Returns whether it was applied
/// (Linux only). A thread cannot come back from it without `CAP_SYS_NICE`, so only threads
/// that stay idle for good use it.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub fn idle_current_thread() -> bool {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid sched_param that outlives the call, which only reads it; on
    // Linux pid 0 is the calling thread. Failure is reported by returning -1.
    let done = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) == 0 };
    if !done {
        tracing::warn!("could not move the recorder thread to SCHED_IDLE: {}", std::io::Error::last_os_error());
    }
    done
}

#[cfg(not(target_os = "linux"))]
pub fn idle_current_thread() -> bool {
    false
}

/// The calling thread's nice value (Linux).
pub fn current_thread_nice() -> Option<i32> {
    stat_nice(&std::fs::read_to_string("/proc/thread-self/stat").ok()?)
}

/// The nice value in a `/proc/.../stat` line (its 19th field).
fn stat_nice(stat: &str) -> Option<i32> {
    stat_field(stat, 19)?.parse().ok()
}

/// Field `n` (1-based, as `proc(5)` numbers them) of a `/proc/.../stat` line. The command,
/// field 2, is in parentheses and may hold spaces: fields are counted after its `)`.
fn stat_field(stat: &str, n: usize) -> Option<&str> {
    stat.rfind(')').and_then(|at| stat[at + 1..].split_whitespace().nth(n.checked_sub(3)?))
}

/// `SCHED_IDLE`'s number in the policy field of `/proc/.../stat`.
pub const POLICY_IDLE: u32 = 5;

/// The nice values of this process's threads named `name` (as Linux shows it: the first
/// 15 bytes). For tests and checks.
pub fn thread_nices(name: &str) -> Vec<i32> {
    threads().into_iter().filter(|(comm, _)| comm == name).map(|(_, nice)| nice).collect()
}

/// This process's threads: name and nice value (Linux). For tests and checks.
pub fn threads() -> Vec<(String, i32)> {
    thread_stats().into_iter().map(|t| (t.name, t.nice)).collect()
}

/// One thread's name (as Linux keeps it: the first 15 bytes), nice value and scheduling
/// policy ([`POLICY_IDLE`], …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadStat {
    pub name: String,
    pub nice: i32,
    pub policy: u32,
}

/// This process's threads (Linux). For tests and checks.
pub fn thread_stats() -> Vec<ThreadStat> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return Vec::new() };
    let mut found = Vec::new();
    for task in tasks.flatten() {
        let name = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default().trim_end().to_string();
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        let (Some(nice), Some(policy)) = (stat_nice(&stat), stat_field(&stat, 41).and_then(|p| p.parse().ok())) else {
            continue;
        };
        found.push(ThreadStat { name, nice, policy });
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
        let full = "7 (a) b) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 -3 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 5 40";
        assert_eq!((super::stat_nice(full), super::stat_field(full, 41)), (Some(-3), Some("5")));
    }
}
