//! `aftersales convert --layout hive`: the copy the distributed path reads (src/hive.rs, docs/scale-out.md) —
//! partitioned by the local month of each table's main timestamp, with local dates and periods worked out, every
//! row accounted for, and the calendar and spans the distributed jobs and `finish` need.

mod common;

use chrono::{NaiveDate, TimeZone};
use common::*;
use polars::prelude::*;

/// Days since 1970-01-01 of a date, worked out with chrono (not the code under test).
fn days(y: i32, m: u32, d: u32) -> i32 {
    (NaiveDate::from_ymd_opt(y, m, d).unwrap() - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
}

fn local_micros(s: &str) -> i64 {
    let t = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
    chrono_tz::Asia::Shanghai
        .from_local_datetime(&t)
        .unwrap()
        .timestamp_micros()
}

fn ints(df: &DataFrame, c: &str) -> Vec<Option<i64>> {
    df.column(c)
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .collect()
}

/// The base set with O3's quantity negative: orders O1 (two lines) and O2 in March, O3 rejected, and O4 at
/// 2026-04-01 00:10 in Shanghai — still 31 March in UTC, so a month taken in UTC would put it in March.
#[test]
fn the_hive_copy_partitions_by_local_month_and_accounts_for_every_row() {
    let data = case_dir(Some("negative_quantity"));
    let out = tempfile::tempdir().unwrap();
    let copy = out.path().join("copy");
    let o = aftersales(&[
        "--quiet",
        "convert",
        "--layout",
        "hive",
        "--keep-going",
        "--data",
        data.path().to_str().unwrap(),
        "--out",
        copy.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));

    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(copy.join("hive.json")).unwrap()).unwrap();
    let orders = &manifest["tables"]["orders"];
    assert_eq!(
        (
            orders["read"].as_u64(),
            orders["rows"].as_u64(),
            orders["rejected"].as_u64(),
            orders["filtered"].as_u64()
        ),
        (Some(5), Some(4), Some(1), Some(0)),
        "read = accepted + rejected + filtered"
    );
    assert_eq!(orders["partitioned_by"], "ordered_at");
    assert_eq!(orders["months"], serde_json::json!(["2026-03", "2026-04"]));
    assert_eq!(
        manifest["tables"]["cases"]["months"],
        serde_json::json!(["2026-03", "2026-04"])
    );
    assert_eq!(manifest["as_of_source"], "latest_in_inputs");
    assert_eq!(manifest["timezone"], "Asia/Shanghai");
    let span = &manifest["spans"]["orders.ordered_at"];
    assert_eq!(span[0].as_i64(), Some(local_micros("2026-03-01 10:00:00")));
    assert_eq!(span[1].as_i64(), Some(local_micros("2026-04-01 00:10:00")));
    assert_eq!(read_parquet(&copy.join("rejects/orders.parquet")).height(), 1);

    let march = read_parquet(&copy.join("orders/month=2026-03/part-0.parquet"));
    assert_eq!(
        str_col(&march, "order_id"),
        ["O1", "O1", "O2"],
        "the file's order is kept within a month"
    );
    let april = read_parquet(&copy.join("orders/month=2026-04/part-0.parquet"));
    assert_eq!(str_col(&april, "order_id"), ["O4"]);
    let d = days(2026, 4, 1);
    assert_eq!(ints(&april, "ordered_at_day"), [Some(d as i64)]);
    assert_eq!(ints(&april, "month_code"), [Some(2026 * 12 + 4)]);
    assert_eq!(ints(&april, "quarter_code"), [Some(2026 * 4 + 2)]);
    // Weeks run Monday to Sunday; 1970-01-05 (day 4) was a Monday. 2026-04-01 is a Wednesday: its week's Monday is
    // 30 March.
    assert_eq!(ints(&april, "week_code"), [Some(((days(2026, 3, 30) - 4) / 7) as i64)]);
    assert!(
        march.column("month").is_err(),
        "the partition value lives in the folder name only"
    );

    // C3 (opened 2 April) has no merchant_ack_at: its local date is null too.
    let cases = read_parquet(&copy.join("cases/month=2026-04/part-0.parquet"));
    assert_eq!(str_col(&cases, "case_id"), ["C3"]);
    assert_eq!(ints(&cases, "opened_at_day"), [Some(days(2026, 4, 2) as i64)]);
    assert_eq!(ints(&cases, "merchant_ack_at_day"), [None]);

    // The calendar: one row per local date, from two days before the first timestamp; 1 April 2026 a working
    // Wednesday of April, 4 April a Saturday off, and `cum` counting working days.
    let cal = read_parquet(&copy.join("calendar.parquet"));
    let day = ints(&cal, "day");
    assert_eq!(day[0], Some(days(2026, 2, 27) as i64));
    assert!(
        day.windows(2).all(|w| w[1].unwrap() == w[0].unwrap() + 1),
        "consecutive dates"
    );
    let at = |d: i32| day.iter().position(|x| *x == Some(d as i64)).unwrap();
    let work: Vec<Option<bool>> = cal.column("workday").unwrap().bool().unwrap().iter().collect();
    let cum = ints(&cal, "cum");
    let (wed, sat) = (at(days(2026, 4, 1)), at(days(2026, 4, 4)));
    assert_eq!((work[wed], work[sat]), (Some(true), Some(false)));
    assert_eq!(cum[sat].unwrap() - cum[wed].unwrap(), 2, "Thursday and Friday");
    assert_eq!(ints(&cal, "month_code")[wed], Some(2026 * 12 + 4));
}
