//! The distributed path run in-process — a Ballista scheduler and executor inside aftersales-dist, or plain
//! DataFusion — gives the local pipeline's tables, row by row.

mod common;

use common::*;

#[test]
fn standalone_aggregates_finish_into_the_local_tables_on_the_sample() {
    let work = tempfile::tempdir().unwrap();
    let (local, dist) = both_paths(&repo().join("sample_data"), work.path(), "standalone");
    let compared = assert_same_tables(&local, &dist);
    assert_sample_compared(&compared);
}

#[test]
fn standalone_aggregates_finish_into_the_local_tables_at_scale_0_1() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    run(std::process::Command::new(aftersales())
        .args(["--quiet", "generate", "--scale", "0.1", "--seed", "11", "--out"])
        .arg(&data));
    let (local, dist) = both_paths(&data, work.path(), "standalone");
    assert_same_tables(&local, &dist);
}

#[test]
fn plain_datafusion_aggregates_finish_into_the_local_tables_on_the_sample() {
    let work = tempfile::tempdir().unwrap();
    let (local, dist) = both_paths(&repo().join("sample_data"), work.path(), "local");
    assert_same_tables(&local, &dist);
}
