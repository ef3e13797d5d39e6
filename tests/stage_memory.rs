//! run.json's per-stage peak memory: a stage that holds a large buffer must show it, the next one must not.
//! Alone in its own test binary so no other test's allocations land inside the measured stages.

use std::time::Instant;

use aftersales::stages::Stages;

#[test]
fn a_stage_that_holds_a_large_buffer_shows_it_in_its_peak_and_the_next_stage_does_not() {
    if !std::path::Path::new("/proc/self/clear_refs").exists() {
        return; // not Linux: run.json leaves per-stage peaks out, nothing to check
    }
    aftersales::stages::track_stage_peaks();
    let mut stages = Stages::default();
    let clock = stages.start();
    // 256 MiB, written so every page is resident.
    let big = vec![1u8; 256 << 20];
    assert_eq!(
        big.iter().step_by(4096).map(|&b| b as u64).sum::<u64>(),
        (256 << 20) / 4096
    );
    stages.end("big", clock);
    drop(big);
    let clock = stages.start();
    let small = vec![1u8; 1 << 20];
    assert_eq!(small[small.len() - 1], 1);
    stages.end("small", clock);
    stages.total(Instant::now());
    let big_peak = stages.list[0].peak_rss_mb.expect("peak of the big stage");
    let small_peak = stages.list[1].peak_rss_mb.expect("peak of the small stage");
    assert!(
        big_peak >= small_peak + 200,
        "big {big_peak} MiB, small {small_peak} MiB"
    );
    assert_eq!(stages.list[2].name, "total");
    assert_eq!(stages.list[2].peak_rss_mb, Some(big_peak));
}
