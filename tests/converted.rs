//! Files written by `aftersales convert` and unchanged since are read as they are (input/converted.rs): the same
//! frames, lineage and tables as when they are checked again, and any change to a file — or a table split into
//! parts — sends it back through the checks.

mod common;

use std::path::Path;

use aftersales::config::TableConfig;
use aftersales::input::{LoadedTable, ReadOptions, SourceFile, SourceFormat, load_files_with, load_table};
use aftersales::progress::Progress;
use aftersales::tables::TableKind;
use chrono_tz::Tz;
use common::*;
use polars::prelude::*;

const TZ: Tz = chrono_tz::Asia::Shanghai;

fn convert(data: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec![
        "convert",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    let o = aftersales(&args);
    assert!(o.status.success(), "{}", stderr(&o));
}

fn load(dir: &Path, kind: TableKind, trust_converted: bool) -> LoadedTable {
    let file = SourceFile {
        path: dir.join(format!("{}.parquet", kind.name())),
        format: SourceFormat::Parquet,
    };
    let read = ReadOptions {
        trust_converted,
        ..ReadOptions::default()
    };
    load_files_with(kind, &[file], &TableConfig::default(), TZ, &Progress::hidden(), read).unwrap()
}

/// data_quality names each finding's input file, which lies in another folder in each of the two runs.
fn file_names_only(df: DataFrame) -> DataFrame {
    let Ok(files) = df.column("source_file") else {
        return df;
    };
    let names: StringChunked = files
        .str()
        .unwrap()
        .iter()
        .map(|f| f.map(|f| f.rsplit('/').next().unwrap().to_string()))
        .collect();
    let mut df = df;
    df.replace("source_file", names.with_name("source_file".into()).into_column())
        .unwrap();
    df
}

#[test]
fn convert_fingerprints_each_table_file_it_writes() {
    let parent = tempfile::tempdir().unwrap();
    let pq = parent.path().join("pq");
    convert(&data("base"), &pq, &[]);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(pq.join("converted.json")).unwrap()).unwrap();
    assert_eq!(manifest["format"], 3);
    // tests/data/base: 5 order lines, 3 cases, 3 shipment legs, 2 refunds (the CSVs, counted by hand).
    for (table, rows) in [("orders", 5), ("cases", 3), ("shipments", 3), ("refunds", 2)] {
        let e = &manifest["tables"][table];
        assert_eq!(e["file"], format!("{table}.parquet"));
        assert_eq!(e["rows"], rows, "{table}");
        let bytes = std::fs::metadata(pq.join(format!("{table}.parquet"))).unwrap().len();
        assert_eq!(e["bytes"], bytes, "{table}");
        assert_eq!(e["blake3"].as_str().unwrap().len(), 64, "{table}");
    }
    // base has no suspicious row: an empty findings file, fingerprinted with the zone it was made in.
    let dq = &manifest["data_quality"];
    assert_eq!(dq["file"]["file"], "data_quality.parquet");
    assert_eq!(dq["file"]["rows"], 0);
    assert_eq!(dq["timezone"], "Asia/Shanghai");
    assert_eq!(dq["explicit_as_of"], serde_json::Value::Null);
}

#[test]
fn an_unchanged_converted_file_loads_to_the_same_frame_and_lineage_as_a_checked_one() {
    let parent = tempfile::tempdir().unwrap();
    let pq = parent.path().join("pq");
    // A duplicate case_id (C2) in the input: convert drops the second, so the trusted file is already deduplicated.
    convert(case_dir(Some("duplicate_key")).path(), &pq, &["--keep-going"]);
    for kind in [
        TableKind::Orders,
        TableKind::Cases,
        TableKind::Shipments,
        TableKind::Refunds,
    ] {
        let trusted = load(&pq, kind, true);
        let checked = load(&pq, kind, false);
        assert!(trusted.read_as_converted(), "{}", kind.name());
        assert!(!checked.read_as_converted(), "{}", kind.name());
        assert_eq!(trusted.rows_rejected(), 0);
        assert_eq!(
            (trusted.rows_read(), trusted.rows_accepted()),
            (checked.rows_read(), checked.rows_accepted()),
            "{}",
            kind.name()
        );
        assert_eq!(trusted.height(), checked.height());
        let (a, b) = (trusted.frame().unwrap(), checked.frame().unwrap());
        assert_eq!(a.schema(), b.schema(), "{}", kind.name());
        assert!(a.equals_missing(&b), "{}:\n{a}\n{b}", kind.name());
    }
    assert_eq!(load(&pq, TableKind::Cases, true).height(), 3);
    // The row numbers are the Parquet file's data rows, 1-based, as for any Parquet input.
    let rows: Vec<u64> = load(&pq, TableKind::Orders, true)
        .frame()
        .unwrap()
        .column("_row_number")
        .unwrap()
        .u64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(rows, (1..=rows.len() as u64).collect::<Vec<_>>());
}

#[test]
fn an_edited_converted_file_is_checked_again_and_its_bad_row_rejected() {
    let parent = tempfile::tempdir().unwrap();
    let pq = parent.path().join("pq");
    convert(&data("base"), &pq, &[]);
    // Another tool sets the second order line's quantity to 0, keeping the canonical columns and types.
    let path = pq.join("orders.parquet");
    let mut df = read_parquet(&path);
    let q = df.column("quantity").unwrap().i64().unwrap().clone();
    let edited: Int64Chunked = q
        .iter()
        .enumerate()
        .map(|(i, v)| if i == 1 { Some(0) } else { v })
        .collect();
    df.replace("quantity", edited.with_name("quantity".into()).into_column())
        .unwrap();
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .finish(&mut df)
        .unwrap();
    let t = load_table(&pq, TableKind::Orders, &TableConfig::default(), TZ, &Progress::hidden())
        .unwrap()
        .unwrap();
    assert!(!t.read_as_converted());
    assert_eq!((t.rows_read(), t.rows_accepted(), t.rows_rejected()), (5, 4, 1));
    assert_eq!(t.rejects[0].row_number, 2);
    assert_eq!(t.rejects[0].column, "quantity");
    // The other tables are untouched and still read as converted.
    let cases = load_table(&pq, TableKind::Cases, &TableConfig::default(), TZ, &Progress::hidden())
        .unwrap()
        .unwrap();
    assert!(cases.read_as_converted());
}

#[test]
fn a_converted_file_of_the_same_size_but_other_bytes_is_checked_again() {
    let parent = tempfile::tempdir().unwrap();
    let pq = parent.path().join("pq");
    convert(&data("base"), &pq, &[]);
    let path = pq.join("refunds.parquet");
    let mut bytes = std::fs::read(&path).unwrap();
    // One byte in the middle changed: the same size, another digest.
    let i = bytes.len() / 2;
    bytes[i] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let file = SourceFile {
        path,
        format: SourceFormat::Parquet,
    };
    assert_eq!(
        aftersales::input::converted::trusted_rows(TableKind::Refunds, &[file]),
        None
    );
}

#[test]
fn a_table_in_parts_or_without_the_manifest_is_checked() {
    let parent = tempfile::tempdir().unwrap();
    let pq = parent.path().join("pq");
    convert(&data("base"), &pq, &[]);
    let orders = SourceFile {
        path: pq.join("orders.parquet"),
        format: SourceFormat::Parquet,
    };
    use aftersales::input::converted::trusted_rows;
    assert_eq!(trusted_rows(TableKind::Orders, std::slice::from_ref(&orders)), Some(5));
    // The orders file offered as the cases table: the manifest names another file for cases.
    assert_eq!(trusted_rows(TableKind::Cases, std::slice::from_ref(&orders)), None);
    // Two parts of one table: duplicates across parts need the check.
    assert_eq!(trusted_rows(TableKind::Orders, &[orders.clone(), orders.clone()]), None);
    std::fs::remove_file(pq.join("converted.json")).unwrap();
    assert_eq!(trusted_rows(TableKind::Orders, &[orders]), None);
}

#[test]
fn a_run_on_a_converted_sample_gives_the_same_tables_as_when_every_row_is_checked() {
    let parent = tempfile::tempdir().unwrap();
    let pq = parent.path().join("pq");
    convert(&repo().join("sample_data"), &pq, &[]);
    let trusted_run = run_pipeline(&pq);
    let trusted_out = trusted_run.path().join("out");
    // The same files without the manifest: every row checked again.
    let plain = parent.path().join("plain");
    copy_dir(&pq, &plain);
    std::fs::remove_file(plain.join("converted.json")).unwrap();
    let checked_run = run_pipeline(&plain);
    let checked_out = checked_run.path().join("out");

    let (trusted, checked) = (run_json(&trusted_out), run_json(&checked_out));
    assert_counts_balance(&trusted);
    for f in trusted["inputs"].as_array().unwrap() {
        assert!(
            f["rows_checked_by"].as_str().unwrap().starts_with("aftersales convert"),
            "{f}"
        );
    }
    for f in checked["inputs"].as_array().unwrap() {
        assert_eq!(f["rows_checked_by"], "this run", "{f}");
    }
    assert_eq!(trusted["tables"], checked["tables"]);
    assert!(trusted["tables"]["orders"]["rows_read"].as_u64().unwrap() > 20_000);
    // The findings came from convert: the same warnings, naming the rows of the sample's CSV exports.
    assert!(
        trusted["warnings_checked_by"]
            .as_str()
            .unwrap()
            .starts_with("aftersales convert"),
        "{}",
        trusted["warnings_checked_by"]
    );
    assert_eq!(checked["warnings_checked_by"], "this run");
    assert_eq!(trusted["warnings"], checked["warnings"]);
    let what = ["table", "key", "check", "column", "value", "message"];
    let found = |out: &Path| {
        read_parquet(&out.join("data_quality.parquet"))
            .select(what)
            .unwrap()
            .sort(what, SortMultipleOptions::default())
            .unwrap()
    };
    let (a, b) = (found(&trusted_out), found(&checked_out));
    assert!(a.height() > 5, "the sample plants suspicious rows: {a}");
    assert!(a.equals_missing(&b), "{a}\n{b}");
    let files = str_col(&read_parquet(&trusted_out.join("data_quality.parquet")), "source_file");
    assert!(files.iter().all(|f| !f.ends_with(".parquet")), "{files:?}");
    let mut compared = 0;
    for dir in ["tables", "."] {
        for e in std::fs::read_dir(trusted_out.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "parquet") && !p.ends_with("data_quality.parquet") {
                let name = p.file_name().unwrap();
                let (a, b) = (
                    file_names_only(read_parquet(&p)),
                    file_names_only(read_parquet(&checked_out.join(dir).join(name))),
                );
                assert!(a.equals_missing(&b), "{} differs", p.display());
                compared += 1;
            }
        }
    }
    assert!(compared >= 10, "only {compared} tables compared");
}

/// tests/data/base plus two suspicious cases: C4 names order O9, which does not exist (data row 4 of cases.csv);
/// C5's merchant_ack_at 09:00 is before its opened_at 10:00 on 2026-03-06, Shanghai time (data row 5).
fn base_with_two_findings() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&data("base"), dir.path());
    let cases = dir.path().join("cases.csv");
    let mut text = std::fs::read_to_string(&cases).unwrap();
    text.push_str("C4,O9,SKU-A,M1,return,size_fit,1,2026-03-10 09:00:00,,,,,open\n");
    text.push_str("C5,O2,SKU-C,M2,complaint,late_delivery,1,2026-03-06 10:00:00,2026-03-06 09:00:00,,,,open\n");
    std::fs::write(&cases, text).unwrap();
    dir
}

fn run_into(data: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["run", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend(extra);
    let o = aftersales(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    run_json(out)
}

/// (row_number, check, column, value) of each finding, in file order.
fn findings(out: &Path) -> Vec<(String, String, String, String)> {
    let df = row_findings(&out.join("data_quality.parquet"));
    let rows = str_col(&df, "row_number");
    let (checks, cols, values) = (str_col(&df, "check"), str_col(&df, "column"), str_col(&df, "value"));
    (0..df.height())
        .map(|i| (rows[i].clone(), checks[i].clone(), cols[i].clone(), values[i].clone()))
        .collect()
}

fn owned(v: &[(&str, &str, &str, &str)]) -> Vec<(String, String, String, String)> {
    v.iter()
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
        .collect()
}

#[test]
fn a_run_on_unchanged_converted_tables_reads_the_findings_convert_made() {
    let input = base_with_two_findings();
    let parent = tempfile::tempdir().unwrap();
    let pq = parent.path().join("pq");
    convert(input.path(), &pq, &[]);
    let want = owned(&[
        ("5", "unknown_order", "order_id", "O9"),
        ("6", "stop_before_start", "merchant_ack_at", "2026-03-06 09:00:00"),
    ]);
    assert_eq!(findings(&pq), want);

    let out = parent.path().join("out");
    let run = run_into(&pq, &out, &[]);
    assert!(
        run["warnings_checked_by"]
            .as_str()
            .unwrap()
            .starts_with("aftersales convert"),
        "{}",
        run["warnings_checked_by"]
    );
    assert_eq!(
        run["warnings"],
        // No config, no calendar: the run adds the calendar's finding, which the copy does not keep.
        serde_json::json!({"calendar_year_not_described": 1, "stop_before_start": 1, "unknown_order": 1})
    );
    assert_eq!(findings(&out), want);
    // They name the export the user can fix, not the Parquet copy.
    let files = str_col(&row_findings(&out.join("data_quality.parquet")), "source_file");
    assert!(files.iter().all(|f| f.ends_with("cases.csv")), "{files:?}");
    // validate says where its count came from.
    let checked = parent.path().join("validation");
    let o = aftersales(&[
        "validate",
        "--data",
        pq.to_str().unwrap(),
        "--out",
        checked.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let said = String::from_utf8_lossy(&o.stdout);
    // The third is the calendar's, found by this run from its config.
    assert!(said.contains("3 warnings (2 found by `aftersales convert`)"), "{said}");
}

#[test]
fn findings_are_made_again_when_the_zone_the_as_of_the_tables_or_the_findings_file_differ() {
    let input = base_with_two_findings();
    let parent = tempfile::tempdir().unwrap();
    let pq = parent.path().join("pq");
    convert(input.path(), &pq, &[]);
    let checked_here = |run: &serde_json::Value| run["warnings_checked_by"] == "this run";

    // Another zone shows the timestamps in it: 09:00 in Shanghai is 01:00 UTC.
    let utc = parent.path().join("utc.toml");
    std::fs::write(&utc, "timezone = \"UTC\"\n").unwrap();
    let out = parent.path().join("out-utc");
    let run = run_into(&pq, &out, &["--config", utc.to_str().unwrap()]);
    assert!(checked_here(&run), "{}", run["warnings_checked_by"]);
    // Checked here, on the Parquet copy: its rows are numbered from 1 (no header line), the CSV's lines from 2.
    assert_eq!(
        findings(&out),
        owned(&[
            ("4", "unknown_order", "order_id", "O9"),
            ("5", "stop_before_start", "merchant_ack_at", "2026-03-06 01:00:00"),
        ])
    );

    // An as_of set by hand adds the after_as_of check: C5 was opened after 2026-03-06 00:00 (and so were C4, the
    // refund R1 and the later shipments — the point here is only that the run checked).
    let out = parent.path().join("out-asof");
    let run = run_into(&pq, &out, &["--as-of", "2026-03-06 00:00:00"]);
    assert!(checked_here(&run), "{}", run["warnings_checked_by"]);
    assert!(
        run["warnings"]["after_as_of"].as_u64().unwrap() > 0,
        "{}",
        run["warnings"]
    );

    // A table the manifest does not list (merchants): its rows were never part of convert's checks.
    let more = parent.path().join("more");
    copy_dir(&pq, &more);
    std::fs::write(
        more.join("merchants.csv"),
        "merchant_id,merchant_name,primary_category\nM1,一号店,服装\n",
    )
    .unwrap();
    let run = run_into(&more, &parent.path().join("out-more"), &[]);
    assert!(checked_here(&run), "{}", run["warnings_checked_by"]);

    // The findings file rewritten (one finding dropped): not what convert fingerprinted.
    let edited = parent.path().join("edited");
    copy_dir(&pq, &edited);
    let path = edited.join("data_quality.parquet");
    let mut df = read_parquet(&path).head(Some(1));
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .finish(&mut df)
        .unwrap();
    let out = parent.path().join("out-edited");
    let run = run_into(&edited, &out, &[]);
    assert!(checked_here(&run), "{}", run["warnings_checked_by"]);
    assert_eq!(findings(&out).len(), 2);
}
