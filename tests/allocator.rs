//! The allocator option `main` sets is the one it means: libmimalloc-sys names no constant for mimalloc's
//! purge delay, so `allocator::PURGE_DELAY` is a number, and a new mimalloc could move it.

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
