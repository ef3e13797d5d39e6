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

/// An executor that cannot see a file plans an empty scan and says nothing: every job first counts each fact
/// table's rows and stops when they are not the copy's. Here the manifest claims one order line more than the
/// files hold.
#[test]
fn a_job_whose_scans_miss_rows_stops_and_names_the_table() {
    let work = tempfile::tempdir().unwrap();
    let hive = work.path().join("hive");
    run(std::process::Command::new(aftersales())
        .args(["--quiet", "convert", "--layout", "hive", "--data"])
        .arg(repo().join("sample_data"))
        .arg("--out")
        .arg(&hive));
    let path = hive.join("hive.json");
    let mut manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let rows = manifest["tables"]["orders"]["rows"].as_u64().unwrap();
    manifest["tables"]["orders"]["rows"] = (rows + 1).into();
    std::fs::write(&path, serde_json::to_string(&manifest).unwrap()).unwrap();
    let out = std::process::Command::new(dist())
        .args(["aggregate", "--engine", "local", "--data"])
        .arg(&hive)
        .arg("--out")
        .arg(work.path().join("agg"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "orders: the engine scanned {rows} rows, the copy holds {}",
            rows + 1
        )),
        "{err}"
    );
    assert!(!work.path().join("agg").exists(), "nothing written");
}
