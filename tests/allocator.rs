//! The allocator settings `main` makes are the ones it means: libmimalloc-sys names no constant for mimalloc's
//! purge delay, so `allocator::PURGE_DELAY` is a number, and a new mimalloc could move it; huge pages are off for
//! the process once asked.

use aftersales::allocator;

#[test]
fn purge_delay_option_number_is_mimallocs_purge_delay() {
    // This test binary does not set the option (only `main` does). mimalloc v3's default purge delay is 1000 ms
    // (options.c), a default no other option has (os_tag 100, retry_on_oom 400, arena_purge_mult 1, ...).
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return; // the user's own value is read instead of the default
    }
    assert_eq!(allocator::purge_delay_ms(), 1000);
    allocator::keep_freed_memory();
    assert_eq!(allocator::purge_delay_ms(), -1);
}

#[test]
fn transparent_huge_pages_are_off_unless_the_user_allows_them() {
    // The flag is the process's: this test binary has not set it (only `main` does), so it is off at first.
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
        return; // the user's choice, left to mimalloc
    }
    assert!(!allocator::huge_pages_off());
    assert!(allocator::no_huge_pages());
    assert!(allocator::huge_pages_off());
}
