//! Scheduling priority of the threads that write to the store. A checkpoint can keep the
//! recorder busy for tens of milliseconds; at the same priority as the request handlers it
//! takes turns with them on a busy core and delays answers. At a lower priority (a higher
//! nice value) it runs in the time they leave, and when they leave none the queue fills and
//! calls are spilled, as for a slow store. The request path is never the one that waits.

/// Lowers the calling thread's priority to `nice` (0 to 19; 0 leaves it unchanged). Returns
/// whether it was applied (Linux only: there each thread has its own nice value).
pub fn lower_current_thread(nice: u8) -> bool {
    if nice == 0 {
        return false;
    }
    set_current_thread_nice(i32::from(nice.min(19)))
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn set_current_thread_nice(nice: i32) -> bool {
    // SAFETY: gettid takes nothing and cannot fail; setpriority takes three integers, reads
    // no memory of ours and reports failure (e.g. no permission) by returning -1.
    let done = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice) == 0
    };
    if !done {
        tracing::warn!(nice, "could not lower the recorder thread's priority: {}", std::io::Error::last_os_error());
    }
    done
}

#[cfg(not(target_os = "linux"))]
fn set_current_thread_nice(_nice: i32) -> bool {
    false
}

/// The nice values of this process's threads named `name` (as Linux shows it: the first
/// 15 bytes). For tests and checks.
pub fn thread_nices(name: &str) -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return Vec::new() };
    let mut found = Vec::new();
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim_end() != name {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // After the command (in parentheses, and it may hold spaces) nice is the 17th field.
        let nice = stat.rfind(')').and_then(|at| stat[at + 1..].split_whitespace().nth(16)?.parse::<i32>().ok());
        found.extend(nice);
    }
    found
}
