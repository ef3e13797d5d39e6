//! return_rates' cells and their roll-ups to groups.
//!
//! A quarter's lines (or line facts) are summed into one row per cell ([`CELL`]: month, week, category,
//! merchant, sku); every group of every period kind and level is a sum of cells. Sums add up across cells, but
//! distinct orders do not: a cell therefore also counts, for each period kind and level, the orders whose first
//! row in that group is in the cell, so a group's distinct orders are again a sum over its cells ([`cells`]).
//! [`rollup`] makes a level's month and quarter rows from the cells.
//!
//! `n_unique(order_id)` per group is most of a grouping's time (a hash set of strings per group, several times the
//! cost of its sums), once per period and level. Here the rows are sorted by order (exports usually are already:
//! then it is only checked), so an order's rows are consecutive and its first row in a group is found by comparing
//! each row with the rows of its order before it (`first_of_order`): one pass over the rows for all eight counts,
//! and one grouping of the rows instead of eight — by hand (`cell_groups`), or by polars for rows the hand
//! grouping declines.

use anyhow::Result;
use polars::prelude::*;

use super::cell_groups::{CELL, CellSum, group_cells};
use super::first_of_order::*;
use crate::engine::Run;
use crate::metrics::ALL;

pub const LEVELS: [&str; 4] = ["platform", "category", "merchant", "sku"];

const KINDS: [&str; 2] = ["month", "quarter"];

/// The key column of a level (None: the platform, one key for all).
fn key_column(level: &str) -> Option<&'static str> {
    match level {
        "platform" => None,
        "category" => Some("category"),
        "merchant" => Some("merchant_id"),
        _ => Some("sku"),
    }
}

/// The name of a cell column counting distinct orders (`name`) for a period kind and level.
fn order_count(name: &str, kind: &str, level: &str) -> String {
    format!("{name}_{kind}_{level}")
}

/// One row per [`CELL`] of a quarter's lines (or facts): `sums`, and for each period kind and level the number of
/// distinct orders whose first line in the group (among the rows with `only` true, when given) is in the cell —
/// so a group's distinct orders are the sum over its cells.
pub fn cells<const N: usize>(rows: DataFrame, sums: [CellSum; N], name: &str, only: Option<&str>) -> Result<DataFrame> {
    let (mut rows, order) = by_order(rows)?;
    let mut specs = Vec::new();
    for kind in KINDS {
        for level in LEVELS {
            // Every row is of one quarter: only a month needs comparing.
            let period = (kind == "month").then_some("month_code");
            let same: Vec<&str> = period.into_iter().chain(only).chain(key_column(level)).collect();
            specs.push((order_count(name, kind, level), same));
        }
    }
    match order {
        OrderCount::Runs(_) => {
            for flag in first_of_order_flags(&rows, &specs, only)? {
                rows.with_column(flag)?;
            }
        }
        OrderCount::Long => {
            // Rare: an order with more than MAX_RUN rows. Sorted by order and the group's columns, an order's
            // first row in a group is the one that differs from the row before it.
            for (flag, same) in &specs {
                let by: Vec<&str> = std::iter::once("_order").chain(same.iter().copied()).collect();
                rows = rows.sort(by, SortMultipleOptions::default())?;
                let first = first_after_sort(same);
                let first = match only {
                    Some(only) => first.and(col(only)),
                    None => first,
                };
                rows = rows.lazy().with_column(first.alias(flag)).run()?;
            }
        }
    }
    let flags: Vec<String> = specs.into_iter().map(|(flag, _)| flag).collect();
    if let Some(grouped) = group_cells(&rows, &sums, &flags)? {
        return Ok(grouped);
    }
    let aggs: Vec<Expr> = sums
        .into_iter()
        .map(CellSum::expr)
        .chain(flags.iter().map(|f| col(f).sum().cast(IDX_DTYPE)))
        .collect();
    // The streaming engine's grouping by the three strings is faster than the in-memory engine's on these rows.
    Ok(rows.lazy().group_by(CELL.map(col)).agg(aggs).run_streaming()?)
}

/// The month and the quarter rows of one level of return_rates from a quarter's cells: what was sold, what came
/// back and the distinct orders of each, summed per group. The cells are grouped once, by (month, key), with the
/// quarter's order counts summed alongside the month's; the quarter rows are the sums of those month rows per key
/// (exact: every column is a sum of cells, or their earliest instant), which is cheaper than grouping the cells
/// once per period kind.
pub fn rollup(cells: &LazyFrame, level: &str) -> Result<[LazyFrame; 2]> {
    let key = key_column(level).map_or(lit(ALL), col);
    let count = |name: &str, kind: &str| col(order_count(name, kind, level));
    // Collected here, one grouping of the cells at a time: side by side in one plan their hash tables are all held
    // at once.
    let by_month = cells
        .clone()
        .group_by([col("month_code"), col("quarter_code"), key.alias("key")])
        .agg([
            col("units_sold").sum(),
            col("units_returned").sum(),
            count("orders", "month").sum().alias("orders"),
            count("orders_with_case", "month").sum().alias("orders_with_case"),
            count("orders", "quarter").sum().alias("_q_orders"),
            count("orders_with_case", "quarter").sum().alias("_q_orders_with_case"),
            col("gmv").sum(),
            col("refunded").sum(),
            col("_some_instant").min(),
        ])
        .run()?
        .lazy();
    let by_quarter = by_month.clone().group_by([col("quarter_code"), col("key")]).agg([
        col("units_sold").sum(),
        col("units_returned").sum(),
        col("_q_orders").sum().alias("orders"),
        col("_q_orders_with_case").sum().alias("orders_with_case"),
        col("gmv").sum(),
        col("refunded").sum(),
        col("_some_instant").min(),
    ]);
    let finish = |rows: LazyFrame, kind: &str| {
        rows.select([
            col(format!("{kind}_code")).alias("code"),
            col("key"),
            col("units_sold"),
            col("units_returned").fill_null(lit(0i64)),
            col("orders"),
            col("orders_with_case").fill_null(lit(0u32).cast(IDX_DTYPE)),
            col("gmv"),
            col("refunded").fill_null(lit(0i64).cast(DataType::Decimal(38, 2))),
            col("_some_instant"),
            lit(kind.to_string()).alias("period_kind"),
            lit(level.to_string()).alias("level"),
        ])
    };
    Ok([finish(by_month, "month"), finish(by_quarter, "quarter")])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Σ of a cell count column per group of a period kind and level: (month code or 0 for the quarter, key,
    /// distinct orders), sorted.
    fn rolled(cells: &DataFrame, name: &str, kind: &str, level: &str) -> Vec<(i32, String, u32)> {
        let period = if kind == "month" { col("month_code") } else { lit(0i32) };
        let out = cells
            .clone()
            .lazy()
            .group_by([period.alias("p"), key_column(level).map_or(lit(ALL), col).alias("key")])
            .agg([col(order_count(name, kind, level))
                .sum()
                .cast(DataType::UInt32)
                .alias("n")])
            .sort(["p", "key"], SortMultipleOptions::default())
            .collect()
            .unwrap();
        let p = out.column("p").unwrap().i32().unwrap().clone();
        let k = out.column("key").unwrap().str().unwrap().clone();
        let n = out.column("n").unwrap().u32().unwrap().clone();
        (0..out.height())
            .map(|i| (p.get(i).unwrap(), k.get(i).unwrap().to_string(), n.get(i).unwrap()))
            .collect()
    }

    /// [`cells`] of `rows` with their quantity summed.
    fn quantity_cells(rows: DataFrame, name: &str, only: Option<&str>) -> DataFrame {
        let quantity = CellSum::Sum {
            from: "quantity",
            to: "quantity",
        };
        cells(rows, [quantity], name, only).unwrap()
    }

    fn row(p: i32, key: &str, n: u32) -> (i32, String, u32) {
        (p, key.to_string(), n)
    }

    /// Rows in turn of two weeks of their month (week_code = 10 × month + row % 2): a group's distinct orders are
    /// the sum over its cells however finely the cells split it.
    fn lines(ids: &[&str], months: &[i32], merchants: &[&str], skus: &[&str]) -> DataFrame {
        let weeks: Vec<i32> = months
            .iter()
            .enumerate()
            .map(|(i, m)| 10 * m + (i as i32 % 2))
            .collect();
        df!(
            "order_id" => ids,
            "month_code" => months,
            "week_code" => weeks,
            "category" => vec!["c1"; ids.len()],
            "merchant_id" => merchants,
            "sku" => skus,
            "quantity" => vec![1i64; ids.len()],
        )
        .unwrap()
    }

    /// Rows out of order (O2's lines apart, O1 after O3), an order with the same sku twice (O1: a, b, a), an order
    /// with lines in two months (O3) and a sku sold by two merchants (a: m1, and m2 in O3). Worked by hand:
    /// month 1 — sku a ← O1, O2; b ← O1, O2; c ← O3; merchant m1 ← O1, O2; m2 ← O3; platform ← O1, O2, O3;
    /// month 2 — sku a, m2, platform ← O3. Quarter — sku a ← O1, O2, O3; b ← O1, O2; c ← O3; m1 ← O1, O2;
    /// m2 ← O3 (once, though in two months); platform 3.
    #[test]
    fn orders_out_of_export_order_with_a_repeated_sku_count_once_per_group() {
        let rows = lines(
            &["O2", "O3", "O1", "O2", "O1", "O3", "O1"],
            &[1, 1, 1, 1, 1, 2, 1],
            &["m1", "m2", "m1", "m1", "m1", "m2", "m1"],
            &["a", "c", "a", "b", "b", "a", "a"],
        );
        assert_eq!(by_order(rows.clone()).unwrap().1, OrderCount::Runs(3));
        let cells = quantity_cells(rows, "orders", None);
        let r = |kind, level| rolled(&cells, "orders", kind, level);
        assert_eq!(
            r("month", "sku"),
            vec![row(1, "a", 2), row(1, "b", 2), row(1, "c", 1), row(2, "a", 1)]
        );
        assert_eq!(
            r("month", "merchant"),
            vec![row(1, "m1", 2), row(1, "m2", 1), row(2, "m2", 1)]
        );
        assert_eq!(r("month", "platform"), vec![row(1, ALL, 3), row(2, ALL, 1)]);
        assert_eq!(
            r("quarter", "sku"),
            vec![row(0, "a", 3), row(0, "b", 2), row(0, "c", 1)]
        );
        assert_eq!(r("quarter", "merchant"), vec![row(0, "m1", 2), row(0, "m2", 1)]);
        assert_eq!(r("quarter", "category"), vec![row(0, "c1", 3)]);
        assert_eq!(r("quarter", "platform"), vec![row(0, ALL, 3)]);
    }

    /// An order with more rows than MAX_RUN (big: skus a and b in turn) is counted by sorting, once per group;
    /// one row fewer is counted by comparing rows. Either way: month 1 sku a ← big, small; b ← big; platform ←
    /// big, small.
    #[test]
    fn an_order_longer_than_the_comparison_window_counts_once_per_group() {
        for (n, how) in [(MAX_RUN + 1, OrderCount::Long), (MAX_RUN, OrderCount::Runs(MAX_RUN))] {
            let mut ids = vec!["big"; n];
            let mut skus: Vec<&str> = (0..n).map(|i| if i % 2 == 0 { "a" } else { "b" }).collect();
            ids.insert(3, "small");
            skus.insert(3, "a");
            let rows = lines(&ids, &vec![1; n + 1], &vec!["m1"; n + 1], &skus);
            assert_eq!(by_order(rows.clone()).unwrap().1, how);
            let cells = quantity_cells(rows, "orders", None);
            assert_eq!(
                rolled(&cells, "orders", "month", "sku"),
                vec![row(1, "a", 2), row(1, "b", 1)],
                "{how:?}"
            );
            assert_eq!(rolled(&cells, "orders", "quarter", "platform"), vec![row(0, ALL, 2)]);
        }
    }

    /// Strings longer than the 12 bytes a view holds are compared by their bytes: two skus that share length and
    /// first four bytes but differ later are two groups; the same long sku twice in an order is one. A null sku
    /// equals a null sku. Worked by hand: sku "SKU-LONG-NAME-0001" ← O1 (twice, once), O2; "SKU-LONG-NAME-0002" ←
    /// O1; null ← O2 (twice, once).
    #[test]
    fn long_and_null_keys_compare_by_value() {
        let (x, y) = ("SKU-LONG-NAME-0001", "SKU-LONG-NAME-0002");
        let rows = df!(
            "order_id" => ["O1", "O1", "O1", "O2", "O2", "O2"],
            "month_code" => [1i32; 6],
            "week_code" => [1i32; 6],
            "category" => ["c1"; 6],
            "merchant_id" => ["m1"; 6],
            "sku" => [Some(x), Some(y), Some(x), Some(x), None, None],
            "quantity" => [1i64; 6],
        )
        .unwrap();
        let cells = quantity_cells(rows, "orders", None);
        let out = cells
            .lazy()
            .group_by([col("sku")])
            .agg([col("orders_month_sku").sum().cast(DataType::UInt32)])
            .sort(["sku"], SortMultipleOptions::default().with_nulls_last(true))
            .collect()
            .unwrap();
        let skus: Vec<Option<&str>> = out.column("sku").unwrap().str().unwrap().iter().collect();
        let n: Vec<Option<u32>> = out.column("orders_month_sku").unwrap().u32().unwrap().iter().collect();
        assert_eq!(skus, vec![Some(x), Some(y), None]);
        assert_eq!(n, vec![Some(2), Some(1), Some(1)]);
    }

    /// Only rows with `only` true count: O1 has a counted line (a) and one not (b); O2 has two lines of sku a, the
    /// second counted; O3 has only an uncounted line. Orders with a case: sku a ← O1, O2; b ← none; platform ← O1,
    /// O2.
    #[test]
    fn orders_with_a_case_count_only_their_counted_rows() {
        let rows = lines(
            &["O1", "O1", "O2", "O2", "O3"],
            &[1; 5],
            &["m1"; 5],
            &["a", "b", "a", "a", "b"],
        )
        .lazy()
        .with_column(Series::new("_counted".into(), [true, false, false, true, false]).lit())
        .collect()
        .unwrap();
        let cells = quantity_cells(rows, "cases", Some("_counted"));
        assert_eq!(
            rolled(&cells, "cases", "month", "sku"),
            vec![row(1, "a", 2), row(1, "b", 0)]
        );
        assert_eq!(rolled(&cells, "cases", "month", "platform"), vec![row(1, ALL, 2)]);
    }
}
