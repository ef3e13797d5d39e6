//! Loading one table from arbitrary bytes: no panic, and every physical line and row accounted for
//! (`aftersales::input::accounting`).
#![no_main]

use libfuzzer_sys::fuzz_target;

thread_local! {
    static DIR: tempfile::TempDir = tempfile::tempdir().expect("a temporary folder");
}

fuzz_target!(|data: &[u8]| {
    let Some(case) = aftersales::input::accounting::Case::from_bytes(data) else {
        return;
    };
    DIR.with(|dir| {
        let _ = aftersales::input::accounting::check(&case, dir.path());
    });
});
