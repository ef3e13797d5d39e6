//! A naive timestamp and its offset form land on the same instant, and periods follow the configured zone:
//! an order at 2026-03-31 23:30 in Asia/Shanghai is March and 2026Q1, although it is 15:30 UTC.

mod common;

use aftersales::config::TableConfig;
use aftersales::input::load_table;
use aftersales::progress::Progress;
use aftersales::tables::TableKind;
use aftersales::time::{iso_week_expr, month_expr, quarter_expr};
use polars::prelude::*;

fn periods(tz: chrono_tz::Tz) -> DataFrame {
    let t = load_table(
        &common::data("base"),
        TableKind::Orders,
        &TableConfig::default(),
        tz,
        &Progress::hidden(),
    )
    .unwrap()
    .unwrap();
    t.frame()
        .unwrap()
        .lazy()
        .select([
            col("order_id"),
            col("ordered_at").dt().timestamp(TimeUnit::Microseconds).alias("utc_us"),
            month_expr(col("ordered_at"), tz).alias("month"),
            quarter_expr(col("ordered_at"), tz).alias("quarter"),
            iso_week_expr(col("ordered_at"), tz).alias("week"),
        ])
        .collect()
        .unwrap()
}

#[test]
fn month_end_order_belongs_to_its_local_month_and_quarter() {
    let df = periods(chrono_tz::Asia::Shanghai);
    // Rows: O1#1, O1#2, O2, O3 (2026-03-31 23:30 local), O4 (2026-04-01 00:10 local).
    assert_eq!(
        common::str_col(&df, "month"),
        ["2026-03", "2026-03", "2026-03", "2026-03", "2026-04"]
    );
    assert_eq!(
        common::str_col(&df, "quarter"),
        ["2026Q1", "2026Q1", "2026Q1", "2026Q1", "2026Q2"]
    );
    // 2026-03-01 is a Sunday (ISO week 9); 2026-03-31 is a Tuesday of week 14.
    assert_eq!(
        common::str_col(&df, "week"),
        ["2026-W09", "2026-W09", "2026-W10", "2026-W14", "2026-W14"]
    );
    // 2026-03-31 23:30 +08:00 = 2026-03-31 15:30 UTC = 1774971000 s.
    let utc = df.column("utc_us").unwrap().i64().unwrap().get(3).unwrap();
    assert_eq!(utc, 1_774_971_000_000_000);
}

#[test]
fn the_same_wall_clock_in_utc_is_another_instant() {
    let sh = periods(chrono_tz::Asia::Shanghai);
    let utc = periods(chrono_tz::UTC);
    let a = sh.column("utc_us").unwrap().i64().unwrap().get(3).unwrap();
    let b = utc.column("utc_us").unwrap().i64().unwrap().get(3).unwrap();
    assert_eq!(b - a, 8 * 3_600_000_000, "naive times are local to the configured zone");
}
