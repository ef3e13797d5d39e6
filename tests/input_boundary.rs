//! The input boundary (SPEC §2): each damage a real export carries, planted in a copy of the bundled sample, is
//! contained to its own row, with the exact accounting rows read = accepted + rejected, and nothing else moves.
//! Row numbers are lines of the file as an editor shows them (header = line 1).

mod common;

use std::path::Path;

use common::*;

/// A copy of the bundled sample exports (the four tables, merchants and the config).
fn sample_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "orders.csv",
        "cases.csv",
        "shipments.csv",
        "refunds.csv",
        "merchants.csv",
        "aftersales.toml",
    ] {
        std::fs::copy(repo().join("sample_data").join(f), dir.path().join(f)).unwrap();
    }
    dir
}

/// Replaces the field named `column` on line `line` (1-based, header = 1) of a CSV file with what `edit` makes of it.
fn edit_field(path: &Path, line: usize, column: &str, edit: impl FnOnce(&str) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let at = lines[0].split(',').position(|h| h == column).unwrap();
    let mut fields: Vec<String> = lines[line - 1].split(',').map(str::to_string).collect();
    fields[at] = edit(&fields[at]);
    lines[line - 1] = fields.join(",");
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn data_rows(path: &Path) -> u64 {
    std::fs::read_to_string(path).unwrap().lines().count() as u64 - 1
}

/// `aftersales run` into `out`; its run.json.
fn run(data: &Path, out: &Path) -> serde_json::Value {
    let o = aftersales(&["run", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    run_json(out)
}

fn validate(data: &Path, out: &Path) -> (i32, String) {
    let o = aftersales(&[
        "validate",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    (o.status.code().unwrap(), stderr(&o))
}

fn counts(out: &Path, table: &str) -> (u64, u64, u64) {
    let run = run_json(out);
    assert_counts_balance(&run);
    let t = &run["tables"][table];
    (
        t["rows_read"].as_u64().unwrap(),
        t["rows_accepted"].as_u64().unwrap(),
        t["rows_rejected"].as_u64().unwrap(),
    )
}

/// (row_number, column, value, problem) of every reject of a table.
fn rejects(out: &Path, table: &str) -> Vec<(u64, String, String, String)> {
    let df = read_parquet(&out.join(format!("rejects/{table}.parquet")));
    let rows = df.column("row_number").unwrap().u64().unwrap().clone();
    let (c, v, p) = (str_col(&df, "column"), str_col(&df, "value"), str_col(&df, "problem"));
    (0..df.height())
        .map(|i| (rows.get(i).unwrap(), c[i].clone(), v[i].clone(), p[i].clone()))
        .collect()
}

#[test]
fn a_stray_quote_in_data_row_100_rejects_that_row_alone() {
    let data = sample_copy();
    let cases = data.path().join("cases.csv");
    let n = data_rows(&cases);
    assert!(n > 4000, "the sample's cases: {n}");
    // Data row 100 is line 101; its reason_code now opens a quote that never closes.
    edit_field(&cases, 101, "reason_code", |v| format!("\"{v}"));
    let out = tempfile::tempdir().unwrap();
    let (code, err) = validate(data.path(), out.path());
    assert_eq!(code, 0, "{err}");
    assert_eq!(counts(out.path(), "cases"), (n, n - 1, 1));
    let r = rejects(out.path(), "cases");
    assert_eq!(r.len(), 1);
    assert_eq!((r[0].0, r[0].1.as_str()), (101, "(row)"));
    assert!(r[0].3.contains("unbalanced quote"), "{}", r[0].3);
}

#[test]
fn a_nul_byte_in_a_merchant_id_rejects_that_row_alone_so_no_second_merchant_can_appear() {
    let data = sample_copy();
    let orders = data.path().join("orders.csv");
    let n = data_rows(&orders);
    let mut text = std::fs::read(&orders).unwrap();
    // The first data line's merchant id M0036 becomes "M0036\0".
    let at = text.windows(6).position(|w| w == b",M0036").unwrap() + 6;
    text.insert(at, 0);
    std::fs::write(&orders, text).unwrap();
    let out = tempfile::tempdir().unwrap();
    let (code, err) = validate(data.path(), out.path());
    assert_eq!(code, 0, "{err}");
    assert_eq!(counts(out.path(), "orders"), (n, n - 1, 1));
    let r = rejects(out.path(), "orders");
    assert_eq!((r[0].0, r[0].1.as_str()), (2, "(row)"));
    assert!(r[0].2.contains("M0036\\0"), "{}", r[0].2);
    assert!(r[0].3.contains("NUL byte"), "{}", r[0].3);
}

#[test]
fn a_year_9999_typo_is_rejected_and_moves_neither_as_of_nor_the_quarter() {
    let clean = sample_copy();
    let out_clean = tempfile::tempdir().unwrap();
    let before = run(clean.path(), out_clean.path());

    let data = sample_copy();
    let orders = data.path().join("orders.csv");
    let n = data_rows(&orders);
    edit_field(&orders, 500, "ordered_at", |_| "9999-12-31 00:00:00".into());
    let out = tempfile::tempdir().unwrap();
    let after = run(data.path(), out.path());
    assert_eq!(after["as_of"], before["as_of"]);
    assert_eq!(after["quarter"], before["quarter"]);
    // The typo shifts the percentile's rank by one value, not by a day.
    assert_eq!(
        after["plausible"]["latest"].as_str().unwrap()[..10],
        before["plausible"]["latest"].as_str().unwrap()[..10]
    );
    assert_eq!(counts(out.path(), "orders"), (n, n - 1, 1));
    let r = rejects(out.path(), "orders");
    assert_eq!(
        (r[0].0, r[0].1.as_str(), r[0].2.as_str()),
        (500, "ordered_at", "9999-12-31T00:00:00+08:00")
    );
    assert!(r[0].3.contains("later than latest_plausible"), "{}", r[0].3);
    assert!(r[0].3.contains("99.99th percentile"), "{}", r[0].3);
}

#[test]
fn a_date_before_earliest_plausible_is_rejected_and_an_as_of_far_outside_the_data_is_refused() {
    let data = sample_copy();
    let cases = data.path().join("cases.csv");
    let n = data_rows(&cases);
    edit_field(&cases, 3, "opened_at", |_| "1900-01-01 00:00:00".into());
    let out = tempfile::tempdir().unwrap();
    let (code, err) = validate(data.path(), out.path());
    assert_eq!(code, 0, "{err}");
    assert_eq!(counts(out.path(), "cases"), (n, n - 1, 1));
    let r = rejects(out.path(), "cases");
    assert_eq!((r[0].0, r[0].1.as_str()), (3, "opened_at"));
    assert!(
        r[0].3
            .contains("earlier than earliest_plausible (2000-01-01T00:00:00+08:00)"),
        "{}",
        r[0].3
    );

    let o = aftersales(&[
        "validate",
        "--data",
        data.path().to_str().unwrap(),
        "--out",
        out.path().join("x").to_str().unwrap(),
        "--as-of",
        "0099-01-01",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("outside the plausible window"), "{}", stderr(&o));
}

#[test]
fn a_killed_runs_working_folder_is_cleared_by_the_next_run_and_the_previous_output_survives() {
    let data = sample_copy();
    let parent = tempfile::tempdir().unwrap();
    let out = parent.path().join("out");
    let d = data.path().to_str().unwrap();
    let o = aftersales(&["run", "--data", d, "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = std::fs::read(out.join("run.json")).unwrap();
    let litter = |prefix: &str| -> Vec<String> {
        std::fs::read_dir(parent.path())
            .unwrap()
            .filter_map(|e| e.unwrap().file_name().into_string().ok())
            .filter(|n| n.starts_with(prefix))
            .collect()
    };

    // A second run, killed outright once its working folder exists.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_aftersales"))
        .args(["run", "--quiet", "--data", d, "--out", out.to_str().unwrap()])
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while litter(".aftersales-work-").is_empty() {
        assert!(t0.elapsed().as_secs() < 60, "no working folder appeared");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL: the run cannot clean up after itself
    child.wait().unwrap();
    assert_eq!(
        litter(".aftersales-work-").len(),
        1,
        "the killed run's folder is left behind"
    );
    assert_eq!(
        std::fs::read(out.join("run.json")).unwrap(),
        before,
        "the previous output is as it was"
    );

    // The next run clears it (its own folder is gone when it ends, as always).
    let o = aftersales(&[
        "validate",
        "--data",
        d,
        "--out",
        parent.path().join("v").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = aftersales(&["run", "--data", d, "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(litter(".aftersales-work-"), Vec::<String>::new());
    assert_eq!(litter(".out."), Vec::<String>::new());
}

/// Damage that cannot be contained to a line — a gzip stream cut short — refuses the file whole (exit 2, nothing
/// written), never half read.
#[test]
fn a_truncated_gzip_export_is_refused_whole() {
    use std::io::Write as _;
    let data = case_dir(None);
    let text = std::fs::read(data.path().join("orders.csv")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&text.repeat(50)).unwrap();
    let bytes = gz.finish().unwrap();
    std::fs::remove_file(data.path().join("orders.csv")).unwrap();
    std::fs::write(data.path().join("orders.csv.gz"), &bytes[..bytes.len() / 2]).unwrap();
    let out = tempfile::tempdir().unwrap();
    let (code, err) = validate(data.path(), &out.path().join("v"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("orders.csv.gz: cannot read the file after line"), "{err}");
    assert!(err.contains("the file is refused whole"), "{err}");
    assert!(!out.path().join("v").exists());
}

/// The plausible window comes out the same whether the percentile is found from the working copies' footers (a run)
/// or from every value (tables held in memory), on the sample's ≈ 180 k event timestamps.
#[test]
fn the_plausible_window_is_the_same_from_the_footers_and_from_every_value() {
    use aftersales::config::Config;
    use aftersales::pipeline::{LoadOptions, load_and_check};
    let data = repo().join("sample_data");
    let config = Config::load(&data.join("aftersales.toml")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let window = |work_in: Option<std::path::PathBuf>| {
        let opts = LoadOptions {
            data_dir: data.clone(),
            config: config.clone(),
            as_of: None,
            // The footers are read only from working copies: every table goes to one.
            hold_inputs: aftersales::workdir::HoldInputs::UpTo(0),
            work_in,
        };
        load_and_check(&opts, &aftersales::progress::Progress::hidden())
            .unwrap()
            .plausible
            .unwrap()
    };
    let (from_footers, from_values) = (window(Some(work.path().to_path_buf())), window(None));
    assert_eq!(from_footers, from_values);
    assert!(from_values.percentile.is_some());
}
