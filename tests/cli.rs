//! The command line end to end: exit codes 0 / 1 / 2, run.json, --keep-going, --as-of, and atomic output.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;

fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut m = BTreeMap::new();
    for e in walk(dir) {
        m.insert(
            e.strip_prefix(dir).unwrap().display().to_string(),
            std::fs::read(&e).unwrap(),
        );
    }
    m
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { v.extend(walk(&p)) } else { v.push(p) }
    }
    v
}

fn run_on(data: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend(extra);
    aftersales(&args)
}

#[test]
fn run_writes_run_json_with_counts_as_of_and_timings() {
    let data = case_dir(None);
    let out = tempfile::tempdir().unwrap();
    let o = run_on(data.path(), &out.path().join("out"), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let run = run_json(&out.path().join("out"));
    assert_counts_balance(&run);
    assert_eq!(run["version"], env!("CARGO_PKG_VERSION"));
    // The latest event in the base set is C3's first response, 2026-04-02 09:00 local.
    assert_eq!(run["as_of"], "2026-04-02T09:00:00+08:00");
    assert_eq!(run["as_of_source"], "latest timestamp in the inputs");
    assert_eq!(run["tables"]["orders"]["rows_read"], 5);
    assert_eq!(run["tables"]["cases"]["rows_accepted"], 3);
    // No config file: the digest is that of the empty text.
    assert_eq!(
        run["config"]["digest"],
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let stages: Vec<&str> = run["stage_seconds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert!(
        stages.contains(&"load_orders") && stages.contains(&"checks") && stages.contains(&"total"),
        "{stages:?}"
    );
    // Each stage says when it started: the main lane's stages one after another, the loads inside `load`.
    let at = |stage: &str, field: &str| {
        run_json_entry(&run, "stage_seconds", "stage", stage)[field]
            .as_f64()
            .unwrap()
    };
    assert!(at("checks", "started_s") >= at("load", "started_s") + at("load", "seconds") - 0.002);
    assert!(at("prepare", "started_s") >= at("checks", "started_s") + at("checks", "seconds") - 0.002);
    assert!(at("load_orders", "started_s") >= at("load", "started_s"));
    assert!(
        at("load_orders", "started_s") + at("load_orders", "seconds")
            <= at("load", "started_s") + at("load", "seconds") + 0.002
    );
    assert_eq!(at("total", "started_s"), 0.0);
    // On Linux every stage names its peak memory, and the run's peak is the largest of them.
    if std::path::Path::new("/proc/self/clear_refs").exists() {
        let peaks: Vec<u64> = run["stage_seconds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["peak_rss_mb"].as_u64().expect("a peak for every stage"))
            .collect();
        let (total, each) = peaks.split_last().unwrap();
        assert!(*total > 0 && each.iter().all(|p| p <= total), "{peaks:?}");
    }
    for t in ["orders", "cases", "shipments", "refunds"] {
        assert!(out.path().join(format!("out/rejects/{t}.parquet")).is_file());
    }
    assert!(out.path().join("out/data_quality.parquet").is_file());
}

#[test]
fn a_run_that_fails_part_way_leaves_the_earlier_output_as_it_was() {
    let data = case_dir(None);
    let parent = tempfile::tempdir().unwrap();
    let out = parent.path().join("out");
    assert!(run_on(data.path(), &out, &[]).status.success());
    let before = snapshot(&out);
    // Different inputs, and a failure after every output file was written to the temporary folder.
    let other = case_dir(Some("stop_before_start"));
    let o = aftersales_env(
        &[
            "run",
            "--data",
            other.path().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[("AFTERSALES_FAILPOINT", "write")],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("failpoint 'write' reached"), "{}", stderr(&o));
    assert!(before == snapshot(&out), "out/ changed after a failed run");
    let leftovers: Vec<_> = std::fs::read_dir(parent.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["out"], "temporary folders must be cleaned up");
    // Without the failure the same run replaces the output.
    assert!(run_on(other.path(), &out, &[]).status.success());
    assert!(before != snapshot(&out));
    // The working copies are made beside the output and removed when the run ends.
    let leftovers: Vec<_> = std::fs::read_dir(parent.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["out"], "the working folder must be removed after a run");
}

#[test]
fn too_many_rejects_exit_1_and_write_nothing_unless_told_to_go_on() {
    let data = case_dir(Some("unknown_enum"));
    let parent = tempfile::tempdir().unwrap();
    let out = parent.path().join("out");
    let o = run_on(data.path(), &out, &[]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("cases: 1 of 3 rows rejected (33.33%), more than max_reject_rate 1.00%"),
        "{err}"
    );
    assert!(
        err.contains("cases.csv row 3, column case_type, value 'refund'"),
        "{err}"
    );
    assert!(!out.exists());

    let o = run_on(data.path(), &out, &["--keep-going"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let run = run_json(&out);
    assert_eq!(run["status"], "ok_with_too_many_rejects");
    assert_eq!(read_parquet(&out.join("rejects/cases.parquet")).height(), 1);
}

#[test]
fn reject_limit_comes_from_the_config() {
    let data = case_dir(Some("unknown_enum"));
    std::fs::write(data.path().join("aftersales.toml"), "max_reject_rate = 0.5\n").unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = run_on(data.path(), &out.path().join("out"), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn config_errors_exit_2_listing_every_problem() {
    let data = case_dir(None);
    let cfg = data.path().join("bad.toml");
    std::fs::write(&cfg, "timezone = \"Asia/Shangai\"\n[tables.refund]\n").unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = run_on(
        data.path(),
        &out.path().join("out"),
        &["--config", cfg.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("has 2 problems"), "{err}");
    assert!(
        err.contains("timezone 'Asia/Shangai' is not an IANA time zone name"),
        "{err}"
    );
    assert!(
        err.contains("[tables.refund]: unknown table; valid tables are orders, cases, shipments, refunds, merchants"),
        "{err}"
    );
    assert!(!out.path().join("out").exists());
}

#[test]
fn usage_errors_exit_2() {
    let o = aftersales(&[
        "run",
        "--quarter",
        "2026-Q3",
        "--data",
        data("base").to_str().unwrap(),
        "--out",
        "/nonexistent/never",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--quarter '2026-Q3': expected a quarter like 2026Q3"));
    let o = aftersales(&["run", "--data", "/nonexistent/folder"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("data folder /nonexistent/folder does not exist"),
        "{}",
        stderr(&o)
    );
    let o = aftersales(&["run", "--bogus"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn an_explicit_as_of_flags_later_timestamps() {
    let data = case_dir(None);
    let out = tempfile::tempdir().unwrap();
    let o = run_on(data.path(), &out.path().join("out"), &["--as-of", "2026-04-01 12:00"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let run = run_json(&out.path().join("out"));
    assert_eq!(run["as_of"], "2026-04-01T12:00:00+08:00");
    assert_eq!(run["as_of_source"], "command line");
    let dq = row_findings(&out.path().join("out/data_quality.parquet"));
    // After 2026-04-01 12:00: C3 opened_at and first_response_at (2026-04-02). O4 (00:10 on 04-01) is before.
    assert_eq!(str_col(&dq, "check"), ["after_as_of", "after_as_of"]);
    assert_eq!(str_col(&dq, "key"), ["C3", "C3"]);
    let mut cols = str_col(&dq, "column");
    cols.sort();
    assert_eq!(cols, ["first_response_at", "opened_at"]);
}

#[test]
fn run_with_no_arguments_uses_the_bundled_sample() {
    let work = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("sample_data"), &work.path().join("sample_data"));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_aftersales"))
        .args(["run", "--quiet"])
        .current_dir(work.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let run = run_json(&work.path().join("out"));
    assert_counts_balance(&run);
    assert_eq!(run["data_dir"], "sample_data");
    assert!(run["config"]["path"].as_str().unwrap().ends_with("aftersales.toml"));
    assert!(run["tables"]["orders"]["rows_read"].as_u64().unwrap() > 20_000);
    // The sample's planted clock skew shows up as warnings, and nothing is rejected.
    assert!(run["warnings"]["stop_before_start"].as_u64().unwrap() > 0);
    for t in run["tables"].as_object().unwrap().values() {
        assert_eq!(t["rows_rejected"], 0);
    }
}

/// The SLA families run on the concurrent thread beside return_rates on small inputs and on the main thread after
/// the spike detector on large ones (`pipeline::SLA_BESIDE_MAX_LINES`): both ways write the same tables, and the
/// tables that read sla_compliance (merchant_risk, badges) are the same too. The sample data has flagged rows.
#[test]
fn sla_and_spike_tables_are_the_same_whether_the_sla_families_run_beside_return_rates_or_after_the_spike_detector() {
    let data = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("sample_data");
    let out = tempfile::tempdir().unwrap();
    let (beside, after) = (out.path().join("beside"), out.path().join("after"));
    let run = |dir: &Path, max: &str| {
        let args = ["run", "--data", data.to_str().unwrap(), "--out", dir.to_str().unwrap()];
        let o = aftersales_env(&args, &[("AFTERSALES_SLA_BESIDE_MAX_LINES", max)]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    };
    run(&beside, "1000000000");
    run(&after, "0");
    let concurrent = |dir: &Path, stage: &str| -> bool {
        run_json_entry(&run_json(dir), "stage_seconds", "stage", stage)["concurrent"]
            .as_bool()
            .unwrap()
    };
    for stage in ["sla_clocks", "sla_compliance"] {
        assert!(concurrent(&beside, stage) && !concurrent(&after, stage), "{stage}");
    }
    assert!(!concurrent(&beside, "spike_evaluation") && !concurrent(&after, "spike_evaluation"));
    for t in [
        "sla_clocks",
        "sla_compliance",
        "spike_evaluation",
        "risk_flags",
        "merchant_risk",
        "badges",
        "return_rates",
    ] {
        let read = |dir: &Path| std::fs::read(dir.join(format!("tables/{t}.parquet"))).unwrap();
        if read(&beside) != read(&after) {
            // Say what differs, not only that the bytes do.
            let (a, b) = (
                read_parquet(&beside.join(format!("tables/{t}.parquet"))),
                read_parquet(&after.join(format!("tables/{t}.parquet"))),
            );
            let cols: Vec<String> = a
                .get_column_names()
                .iter()
                .filter(|c| b.column(c.as_str()).ok() != a.column(c.as_str()).ok())
                .map(|c| c.to_string())
                .collect();
            panic!("tables/{t}.parquet differs: columns {cols:?}\nbeside:\n{a}\nafter:\n{b}");
        }
    }
    let flagged = run_json_entry(&run_json(&beside), "outputs", "path", "tables/risk_flags.parquet")["rows"]
        .as_u64()
        .unwrap();
    assert!(flagged > 0, "the sample's planted spikes should be flagged");
}

/// A bug that panics shows the user a short request for a report (command line, shape of the inputs), not a
/// backtrace, and leaves the previous output as it was.
#[test]
fn a_panic_prints_a_request_for_a_report_not_a_backtrace() {
    let data = case_dir(None);
    let parent = tempfile::tempdir().unwrap();
    let out = parent.path().join("out");
    assert!(run_on(data.path(), &out, &[]).status.success());
    let before = std::fs::read(out.join("run.json")).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_aftersales"))
        .args([
            "run",
            "--quiet",
            "--data",
            data.path().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .env("AFTERSALES_FAILPOINT", "panic:write")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(101), "{err}");
    assert!(
        err.contains("aftersales stopped on an internal error: failpoint 'write' reached"),
        "{err}"
    );
    assert!(
        err.contains("Please report it with: the command line (") && err.contains(" run --quiet --data "),
        "{err}"
    );
    assert!(
        !err.contains("stack backtrace") && !err.contains("note: run with"),
        "{err}"
    );
    assert_eq!(std::fs::read(out.join("run.json")).unwrap(), before);
}
