//! The binary's allocator for Rust's own memory: glibc's, until a command that allocates in
//! bulk switches to mimalloc ([`use_mimalloc`]).
//!
//! An import makes and frees some twenty small allocations per line (the call's strings and
//! maps) on its parsing threads, and hands large batches between threads; glibc's allocator
//! spends a sixth of the import's CPU on that (consolidating freed chunks when the next batch
//! is allocated), mimalloc much less (docs/BENCHMARKS.md, twenty-second session). A server,
//! though, must give memory back: with mimalloc it held about 40 MB more at steady load than
//! glibc's allocator tuned by `malloc.rs` (104 MB against 57–66 MB, over the 100 MB target).
//! So the choice is made per command, at run time.
//!
//! Switching is safe at any moment: each block is freed (or grown) by the allocator that
//! owns it, which mimalloc tells apart by its own address map (`mi_is_in_heap_region`).
//! Until the switch no block comes from mimalloc; its library is still initialised when the
//! process loads (it reserves a few MB of address space and reads any `MIMALLOC_*`
//! variables). DuckDB's C++ allocates through glibc either way.
//!
//! mimalloc is built without its request for transparent huge pages (the `no_thp` feature
//! of `libmimalloc-sys`): where the kernel grants huge pages only on request (`madvise`,
//! the usual setting), each first touch of a requested region waited for a 2 MB page to be
//! found (compacting memory) and zeroed. On the benchmark machine a gigabyte of fresh
//! memory took 2.3 s to touch that way and 0.4 s in ordinary pages; an import of 1 M
//! seed-001 lines spent 0.4 s less system time and about 0.25 s less wall time
//! (docs/BENCHMARKS.md, twenty-eighth session).

// (A global allocator is unsafe code by definition; the module holds nothing else.)
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};

use mimalloc::MiMalloc;

/// Set once, never cleared: new blocks come from mimalloc.
static MIMALLOC: AtomicBool = AtomicBool::new(false);

/// From now on, new allocations come from mimalloc (blocks allocated before are freed by
/// glibc's allocator as always).
pub fn use_mimalloc() {
    // Freed pages are kept for the next batches instead of going back to the system after
    // mimalloc's 10 ms: the import frees and allocates tens of MB per batch on different
    // threads, and pages given back are faulted in, zeroed, again. Memory stays at the
    // import's high-water mark (it is kept for reuse, not lost). 1 M seed-001 lines: about
    // 0.4 s less wall time, 150 MB more peak memory; 10 M lines: 60.2 s against 64.8 s with
    // a one-second delay, for 3.58 GB peak against 3.22 GB (docs/BENCHMARKS.md,
    // twenty-fifth session). (An operator's `MIMALLOC_PURGE_DELAY` wins.)
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: setting an option is allowed at any time; mimalloc reads it when it purges.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    }
    MIMALLOC.store(true, Ordering::SeqCst);
}

/// `mi_option_purge_delay` in mimalloc's `mi_option_t`: the 16th option both in its version 2
/// and in its version 3 (the one `libmimalloc-sys` builds by default), as their headers in
/// `libmimalloc-sys` 0.1.49 list them; the Rust bindings do not name it. (Other options moved
/// between the two: `allow_thp` is the 38th in one and the 44th in the other, which is why
/// huge pages are turned off by a build feature, not by index.)
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long (ms) an import's freed pages stay before mimalloc gives them back: `-1`, never
/// (they stay for reuse).
const PURGE_DELAY_MS: std::ffi::c_long = -1;

/// Whether new allocations come from mimalloc.
pub fn using_mimalloc() -> bool {
    MIMALLOC.load(Ordering::Relaxed)
}

/// glibc's allocator, or mimalloc after [`use_mimalloc`].
pub struct Switch;

/// Whether mimalloc owns `p` (asked only once it may: before the switch it owns nothing).
fn mimalloc_owns(p: *mut u8) -> bool {
    // SAFETY: `mi_is_in_heap_region` only looks `p` up in mimalloc's page map; any address
    // may be asked.
    using_mimalloc() && unsafe { libmimalloc_sys::mi_is_in_heap_region(p.cast()) }
}

// SAFETY: every block is allocated by exactly one of two conforming allocators and freed or
// resized by the one that owns it ([`mimalloc_owns`]), so each allocator only ever sees its
// own blocks, with the layouts they were allocated with.
unsafe impl GlobalAlloc for Switch {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract (a non-zero-sized layout) is passed on unchanged.
        unsafe {
            if using_mimalloc() {
                MiMalloc.alloc(layout)
            } else {
                System.alloc(layout)
            }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        unsafe {
            if using_mimalloc() {
                MiMalloc.alloc_zeroed(layout)
            } else {
                System.alloc_zeroed(layout)
            }
        }
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        // SAFETY: `p` was allocated by this allocator with `layout`, so by the owner found.
        unsafe {
            if mimalloc_owns(p) {
                MiMalloc.dealloc(p, layout)
            } else {
                System.dealloc(p, layout)
            }
        }
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; a block stays with the allocator that owns it.
        unsafe {
            if mimalloc_owns(p) {
                MiMalloc.realloc(p, layout, new_size)
            } else {
                System.realloc(p, layout, new_size)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks made before the switch are freed and grown by glibc's allocator after it; new
    /// ones come from mimalloc. (The test binary runs on this allocator too, so every other
    /// test of this crate checks the switch under load as well.)
    #[test]
    fn blocks_are_freed_by_the_allocator_that_made_them() {
        let before: Vec<Vec<u8>> = (0..1000).map(|i| vec![7u8; 1 + i % 300]).collect();
        let mut grown = vec![1u64; 10];
        use_mimalloc();
        assert!(using_mimalloc());
        let after: Vec<Box<[u8; 64]>> = (0..1000).map(|_| Box::new([3u8; 64])).collect();
        assert!(after.iter().all(|b| mimalloc_owns(b.as_ptr().cast_mut())), "new blocks are mimalloc's");
        assert!(before.iter().all(|b| !mimalloc_owns(b.as_ptr().cast_mut())), "old blocks stay glibc's");
        grown.extend(std::iter::repeat_n(2u64, 100_000));
        assert_eq!(grown.iter().sum::<u64>(), 10 + 200_000);
        assert!(before.iter().enumerate().all(|(i, b)| b.len() == 1 + i % 300 && b.iter().all(|x| *x == 7)));
        drop(before);
        drop(after);
        let zeroed = vec![0u32; 1 << 20];
        assert!(zeroed.iter().all(|x| *x == 0));
    }
}
