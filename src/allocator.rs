//! How the binary's allocator (mimalloc, set in `main.rs`) treats freed memory.
//!
//! By default mimalloc (v3) hands freed pages back to the kernel a second after they fall empty, and the kernel zeroes
//! every page again when it is next touched. polars frees and reallocates its column buffers stage after stage, so
//! a batch run spends a visible share of its CPU in the kernel clearing pages (`clear_page_rep` in `perf`). Keeping
//! freed pages for reuse trades a higher peak for that time; both stay inside the memory targets (BENCHMARKS.md,
//! kept optimisations).
//!
//! A user who needs the memory back sooner sets `MIMALLOC_PURGE_DELAY` (milliseconds; mimalloc's own variable,
//! read when the process starts): when it is set, it wins.
//!
//! Transparent huge pages are switched off for the process. mimalloc asks for them on its 1 GB arenas
//! (`madvise(MADV_HUGEPAGE)`, option `allow_thp`), and on the virtual machines we measure on a 2 MB page touched for
//! the first time is slow: the host backs it anew each time the guest has handed the memory back (virtio-balloon
//! free page reporting), several times slower than the same memory in 4 KB pages. A machine where huge pages pay
//! sets `MIMALLOC_ALLOW_THP` (mimalloc's own variable): when it is set, it wins.

use libmimalloc_sys::{mi_option_get, mi_option_set, mi_option_t};

/// mimalloc v3's `mi_option_purge_delay` (mimalloc.h, `mi_option_e`): the milliseconds before freed memory is
/// returned to the kernel, -1 for never. libmimalloc-sys names no constant for it, so the crate is pinned in
/// Cargo.toml and `tests/allocator.rs` checks that this number is the option whose default is mimalloc's 1000 ms.
pub const PURGE_DELAY: mi_option_t = 15;

/// Keeps freed memory in the process for reuse instead of returning it to the kernel, unless the user chose
/// otherwise through `MIMALLOC_PURGE_DELAY`.
pub fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: setting an option is a store into mimalloc's option table; any value is valid for this one.
        unsafe { mi_option_set(PURGE_DELAY, -1) }
    }
}

/// Switches transparent huge pages off for this process (`PR_SET_THP_DISABLE`, kept across exec; the kernel
/// checks it at every page fault, so the arenas mimalloc has already marked are covered too), unless the user
/// chose through `MIMALLOC_ALLOW_THP`. Returns whether they are off now.
pub fn no_huge_pages() -> bool {
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // SAFETY: prctl with PR_SET_THP_DISABLE takes plain integers and touches no memory of ours. A kernel
        // without it (before 3.15) returns an error, and the process just keeps huge pages.
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    }
    huge_pages_off()
}

/// Whether transparent huge pages are off for this process (`PR_GET_THP_DISABLE`).
pub fn huge_pages_off() -> bool {
    // SAFETY: as above; the flag is the return value.
    unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1 }
}

/// The purge delay mimalloc will use, in milliseconds (-1: never).
pub fn purge_delay_ms() -> i64 {
    // SAFETY: reading an option has no precondition.
    unsafe { mi_option_get(PURGE_DELAY) as i64 }
}
