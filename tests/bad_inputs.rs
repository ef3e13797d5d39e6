//! The corpus of bad inputs under tests/data/bad: each case is the hand-made base set with one file spoiled, and
//! each gives exactly the expected message, reject row or warning, with rows read = accepted + rejected. Row
//! numbers are lines of the file as an editor shows them: the header is line 1, the first data row line 2.

mod common;

use common::*;

/// Runs `validate` on a spoiled copy of the base set; returns (exit code, stderr, output folder).
fn validate(case: &str) -> (i32, String, tempfile::TempDir, tempfile::TempDir) {
    let data = case_dir(Some(case));
    let out = tempfile::tempdir().unwrap();
    let o = aftersales(&[
        "validate",
        "--data",
        data.path().to_str().unwrap(),
        "--out",
        out.path().join("v").to_str().unwrap(),
    ]);
    (o.status.code().unwrap(), stderr(&o), data, out)
}

/// The single reject row of a table: (file name, row, column, value, problem).
fn only_reject(out: &tempfile::TempDir, table: &str) -> (String, u64, String, String, String) {
    let df = read_parquet(&out.path().join(format!("v/rejects/{table}.parquet")));
    assert_eq!(df.height(), 1, "{df}");
    let file = str_col(&df, "source_file")[0].clone();
    let file = std::path::Path::new(&file)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let row = df.column("row_number").unwrap().u64().unwrap().get(0).unwrap();
    (
        file,
        row,
        str_col(&df, "column")[0].clone(),
        str_col(&df, "value")[0].clone(),
        str_col(&df, "problem")[0].clone(),
    )
}

fn table_counts(out: &tempfile::TempDir, table: &str) -> (u64, u64, u64) {
    let run = run_json(&out.path().join("v"));
    assert_counts_balance(&run);
    let t = &run["tables"][table];
    (
        t["rows_read"].as_u64().unwrap(),
        t["rows_accepted"].as_u64().unwrap(),
        t["rows_rejected"].as_u64().unwrap(),
    )
}

#[test]
fn base_set_is_clean() {
    let (code, err, _d, out) = validate_base();
    assert_eq!(code, 0, "{err}");
    for t in ["orders", "cases", "shipments", "refunds"] {
        let (r, _, j) = table_counts(&out, t);
        assert!(r > 0);
        assert_eq!(j, 0, "{t}");
    }
    // No finding about any row. No config, so no calendar: the refund clocks of 2026 count its holidays as working
    // days, and the run says so once.
    let dq = read_parquet(&out.path().join("v/data_quality.parquet"));
    assert_eq!(str_col(&dq, "check"), ["calendar_year_not_described"]);
    assert_eq!(
        (str_col(&dq, "key"), str_col(&dq, "value")),
        (vec!["refund_payout".to_string()], vec!["2026".to_string()])
    );
}

fn validate_base() -> (i32, String, tempfile::TempDir, tempfile::TempDir) {
    let data = case_dir(None);
    let out = tempfile::tempdir().unwrap();
    let o = aftersales(&[
        "validate",
        "--data",
        data.path().to_str().unwrap(),
        "--out",
        out.path().join("v").to_str().unwrap(),
    ]);
    (o.status.code().unwrap(), stderr(&o), data, out)
}

#[test]
fn missing_required_column_stops_the_run_naming_file_column_and_fix() {
    let (code, err, _d, out) = validate("missing_required_column");
    assert_eq!(code, 2);
    assert!(
        err.contains("orders.csv: missing required column sku for table orders."),
        "{err}"
    );
    assert!(
        err.contains(
            "Found columns: 'order_id', 'line_no', 'merchant_id', 'category', 'quantity', 'unit_price', 'ordered_at'"
        ),
        "{err}"
    );
    assert!(err.contains("[tables.orders.columns]"), "{err}");
    assert!(
        !out.path().join("v").exists(),
        "nothing may be written when the run cannot start"
    );
}

#[test]
fn unknown_enum_value_is_rejected_with_the_valid_choices() {
    let (code, _err, _d, out) = validate("unknown_enum");
    assert_eq!(code, 1, "1 of 3 cases rejected is over the 1% limit");
    let (file, row, column, value, problem) = only_reject(&out, "cases");
    assert_eq!(
        (file.as_str(), row, column.as_str(), value.as_str()),
        ("cases.csv", 3, "case_type", "refund")
    );
    assert_eq!(
        problem,
        "'refund' is not a known value: expected one of return, exchange, refund_only, repair, complaint, damage_claim, loss_claim (map export labels under [tables.<table>.values.<column>] in the config)"
    );
    assert_eq!(table_counts(&out, "cases"), (3, 2, 1));
}

#[test]
fn unparsable_timestamp_is_rejected() {
    let (_, _, _d, out) = validate("unparsable_timestamp");
    let (file, row, column, value, problem) = only_reject(&out, "orders");
    assert_eq!(
        (file.as_str(), row, column.as_str(), value.as_str()),
        ("orders.csv", 4, "ordered_at", "2026-13-45 10:00")
    );
    assert_eq!(problem, "'2026-13-45 10:00' is not a real calendar date");
    assert_eq!(table_counts(&out, "orders"), (5, 4, 1));
}

#[test]
fn negative_quantity_is_rejected() {
    let (_, _, _d, out) = validate("negative_quantity");
    let (file, row, column, value, problem) = only_reject(&out, "orders");
    assert_eq!(
        (file.as_str(), row, column.as_str(), value.as_str()),
        ("orders.csv", 5, "quantity", "-2")
    );
    assert_eq!(problem, "-2 is out of range: expected a whole number ≥ 1");
    assert_eq!(table_counts(&out, "orders"), (5, 4, 1));
}

#[test]
fn duplicate_key_rejects_the_later_row_and_points_to_the_first() {
    let (_, _, _d, out) = validate("duplicate_key");
    let (file, row, column, value, problem) = only_reject(&out, "cases");
    assert_eq!(
        (file.as_str(), row, column.as_str(), value.as_str()),
        ("cases.csv", 5, "case_id", "C2")
    );
    assert_eq!(problem, "duplicate case_id 'C2': first seen at row 3");
    assert_eq!(table_counts(&out, "cases"), (4, 3, 1));
}

#[test]
fn empty_file_stops_the_run() {
    let (code, err, _d, _out) = validate("empty_file");
    assert_eq!(code, 2);
    assert!(
        err.contains("refunds.csv: the file is empty; expected a header row naming the columns"),
        "{err}"
    );
}

#[test]
fn header_only_file_is_an_empty_table() {
    let (code, err, _d, out) = validate("header_only");
    assert_eq!(code, 0, "{err}");
    assert_eq!(table_counts(&out, "refunds"), (0, 0, 0));
}

#[test]
fn ragged_row_is_rejected_whole() {
    let (_, _, _d, out) = validate("ragged_row");
    let (file, row, column, value, problem) = only_reject(&out, "shipments");
    assert_eq!((file.as_str(), row, column.as_str()), ("shipments.csv", 3, "(row)"));
    assert!(
        value.starts_with("S2,O2,,forward,极兔速递,广东,北京,朝阳区,"),
        "{value}"
    );
    assert_eq!(
        problem,
        "row has 12 fields but the header has 11: a stray delimiter, an unquoted text or a cut line"
    );
    assert_eq!(table_counts(&out, "shipments"), (3, 2, 1));
}

#[test]
fn wrong_delimiter_says_which_delimiter_the_file_uses() {
    let (code, err, _d, _out) = validate("wrong_delimiter");
    assert_eq!(code, 2);
    assert!(err.contains("orders.csv: missing required columns order_id, merchant_id, sku, category, quantity, unit_price, ordered_at"), "{err}");
    assert!(
        err.contains("the file looks delimited by ';', not ','; set delimiter = \";\" under [tables.orders]"),
        "{err}"
    );
}

#[test]
fn stop_before_start_is_a_warning_not_a_reject() {
    let (code, err, _d, out) = validate("stop_before_start");
    assert_eq!(code, 0, "{err}");
    assert_eq!(table_counts(&out, "cases"), (3, 3, 0));
    let dq = row_findings(&out.path().join("v/data_quality.parquet"));
    assert_eq!(dq.height(), 1, "{dq}");
    assert_eq!(str_col(&dq, "table"), ["cases"]);
    assert_eq!(str_col(&dq, "key"), ["C1"]);
    assert_eq!(str_col(&dq, "check"), ["stop_before_start"]);
    assert_eq!(str_col(&dq, "column"), ["merchant_ack_at"]);
    assert_eq!(dq.column("row_number").unwrap().u64().unwrap().get(0), Some(2));
    assert_eq!(
        str_col(&dq, "message"),
        [
            "merchant_ack_at 2026-03-04 08:30:00 is before opened_at 2026-03-04 09:00:00: clocks between them are invalid"
        ]
    );
}

#[test]
fn unknown_order_is_a_warning_not_a_reject() {
    let (code, err, _d, out) = validate("unknown_order");
    assert_eq!(code, 0, "{err}");
    assert_eq!(table_counts(&out, "refunds"), (2, 2, 0));
    let dq = row_findings(&out.path().join("v/data_quality.parquet"));
    assert_eq!(dq.height(), 1, "{dq}");
    assert_eq!(str_col(&dq, "check"), ["unknown_order"]);
    assert_eq!(str_col(&dq, "key"), ["R2"]);
    assert_eq!(str_col(&dq, "value"), ["O404"]);
    assert!(str_col(&dq, "source_file")[0].ends_with("refunds.csv"));
    assert_eq!(dq.column("row_number").unwrap().u64().unwrap().get(0), Some(3));
}

/// Ids are looked up by walking sorted ids beside the rows; rows out of order (S2 after S1's O2, S4's O0 before
/// everything) must still be found, or not, exactly.
#[test]
fn unknown_case_and_order_are_found_in_rows_out_of_order() {
    let (code, err, _d, out) = validate("unknown_case_rows_out_of_order");
    assert_eq!(code, 0, "{err}");
    assert_eq!(table_counts(&out, "shipments"), (4, 4, 0));
    let dq = row_findings(&out.path().join("v/data_quality.parquet"));
    let found: Vec<(String, String, String)> = str_col(&dq, "check")
        .into_iter()
        .zip(str_col(&dq, "key"))
        .zip(str_col(&dq, "value"))
        .map(|((c, k), v)| (c, k, v))
        .collect();
    let own = |c: &str, k: &str, v: &str| (c.to_string(), k.to_string(), v.to_string());
    assert_eq!(
        found,
        [own("unknown_case", "S3", "C9"), own("unknown_order", "S4", "O0")],
        "{dq}"
    );
    let rows: Vec<Option<u64>> = dq.column("row_number").unwrap().u64().unwrap().iter().collect();
    assert_eq!(rows, [Some(4), Some(5)]);
}

#[test]
fn gbk_bytes_in_a_utf8_file_are_rejected_with_a_hint() {
    let (_, _, _d, out) = validate("gbk_read_as_utf8");
    let (_, row, column, _value, problem) = only_reject(&out, "cases");
    assert_eq!((row, column.as_str()), (4, "status"));
    assert!(
        problem.contains("not valid UTF-8") && problem.contains("encoding = \"gbk\""),
        "{problem}"
    );
}

#[test]
fn stray_quote_rejects_its_own_line_and_reading_resumes_on_the_next() {
    let (code, _, _d, out) = validate("stray_quote");
    assert_eq!(code, 1, "1 of 3 cases rejected is over the 1% limit");
    let (file, row, column, value, problem) = only_reject(&out, "cases");
    assert_eq!((file.as_str(), row, column.as_str()), ("cases.csv", 3, "(row)"));
    assert!(
        value.starts_with("C2,O2,SKU-C,M2,refund_only,\"quality_defect,"),
        "{value}"
    );
    assert_eq!(
        problem,
        "a field opens with a quote (\") that is still open when the file ends: an unbalanced quote; this line is rejected on its own and reading goes on with the next line (set quoting = false for exports that never quote)"
    );
    // C3, on the line after, is read as usual.
    assert_eq!(table_counts(&out, "cases"), (3, 2, 1));
}

#[test]
fn nul_byte_rejects_its_line() {
    let (_, _, _d, out) = validate("nul_byte");
    let (file, row, column, value, problem) = only_reject(&out, "orders");
    assert_eq!((file.as_str(), row, column.as_str()), ("orders.csv", 4, "(row)"));
    assert_eq!(value, "O2,1,M2\\0,SKU-C,数码,1,1299.00,2026-03-02 20:30:00");
    assert_eq!(problem, "line contains a NUL byte (binary data or a UTF-16 file?)");
    assert_eq!(table_counts(&out, "orders"), (5, 4, 1));
}

/// The hand-made set has a few dozen timestamps, too few for the default bound (the 99.99th percentile of fewer than
/// 10,000 values is their maximum): the case's config sets latest_plausible, as docs/inputs.md says to. The default
/// bound on a realistic volume is tests/input_boundary.rs's.
#[test]
fn far_future_date_is_rejected_and_as_of_is_the_datas() {
    let (_, _, _d, out) = validate("far_future_date");
    let (file, row, column, value, problem) = only_reject(&out, "orders");
    assert_eq!(
        (file.as_str(), row, column.as_str(), value.as_str()),
        ("orders.csv", 3, "ordered_at", "9999-12-31T00:00:00+08:00")
    );
    assert_eq!(
        problem,
        "9999-12-31T00:00:00+08:00 is later than latest_plausible (2026-12-31T23:59:59+08:00, set in the config): a typo? Set latest_plausible in the config if such dates are real"
    );
    assert_eq!(table_counts(&out, "orders"), (5, 4, 1));
    let run = run_json(&out.path().join("v"));
    let base = validate_base();
    assert_eq!(run["as_of"], run_json(&base.3.path().join("v"))["as_of"]);
}
