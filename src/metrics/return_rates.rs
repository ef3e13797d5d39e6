//! `return_rates` (SPEC §4.1).
//!
//! Grain: one row per (period_kind ∈ {month, quarter}, period, level ∈ {platform, category, merchant, sku}, key).
//! Periods are those of the order line's `ordered_at` in the configured zone: returns are cohorted by order date,
//! so a March order returned in April counts in March. For the platform level, key = `all`.
//!
//! Columns: period_kind, period, level, key, units_sold, units_returned, return_rate, ci_low, ci_high (Wilson
//! 95%), orders, orders_with_case, after_sales_rate, gmv, refunded, refund_value_rate, period_start, period_end,
//! mature.
//!
//! - units_sold: Σ quantity of the lines ordered in the period.
//! - units_returned: Σ quantity of returns (counted cases of type return or exchange, not rejected) on those lines,
//!   at most the line's quantity per line.
//! - orders: distinct orders with a line in the group; orders_with_case: those of them with a counted case on a
//!   line of the group.
//! - gmv: Σ quantity × unit_price; refunded: Σ completed refund amounts attributed to the group's lines (a refund
//!   in a case → the case's line; a refund outside a case → the first line of its order). Both Decimal(38, 2).
//! - mature: as_of ≥ period_end + maturity_days; an immature period can still gain returns.

use anyhow::Result;
use polars::prelude::*;

use super::cell_groups::{CellSum, group_cells};
use super::first_of_order::*;
use super::{ALL, Prepared, as_of_lit, level_rank, period_bounds, period_expr, ratio, wilson};
use crate::engine::Run;

pub const LEVELS: [&str; 4] = ["platform", "category", "merchant", "sku"];

/// The columns read from the order lines.
const COLUMNS: [&str; 10] = [
    "month_code",
    "week_code",
    "quarter_code",
    "category",
    "merchant_id",
    "sku",
    "order_id",
    "quantity",
    "gmv",
    "ordered_at",
];

// A quarter's lines are summed into one row per cell (`cell_groups::CELL`); every group of every level and period
// is a sum of cells. The week is not a period of return_rates: it is in the cell so that the spike detector's
// weekly sums of the same lines come from these cells (`SoldWeeks`) instead of grouping every line by three
// strings again.
use super::cell_groups::CELL;

/// The order lines summed per (merchant_id, sku, category, week_code) — possibly in more than one row for a group
/// (a week across two months or quarters): n (lines, Int64), quantity (Σ units), ordered_at (the earliest). What
/// the spike detector reads of the lines ([`super::spikes::spike_evaluation`]), and where a flagged SKU's merchant
/// is looked up ([`super::merchants::flagged_sku_merchants`]); made by [`return_rates`] from its cells.
#[derive(Clone)]
pub struct SoldWeeks(pub DataFrame);

impl SoldWeeks {
    /// The same sums grouped from order lines directly (one row per group): for a spike detector run without
    /// return_rates, and the check that both give the same.
    pub fn from_lines(lines: LazyFrame) -> Result<SoldWeeks> {
        Ok(SoldWeeks(
            lines
                .group_by([col("merchant_id"), col("sku"), col("category"), col("week_code")])
                .agg([
                    len().cast(DataType::Int64).alias("n"),
                    col("quantity").sum(),
                    col("ordered_at").min(),
                ])
                .run_streaming()?,
        ))
    }
}

/// What a cell of sold lines holds: units, value, an instant of its period and its number of lines.
pub(super) const SOLD: [CellSum; 4] = [
    CellSum::Sum {
        from: "quantity",
        to: "units_sold",
    },
    CellSum::Sum { from: "gmv", to: "gmv" },
    // Any instant of the period gives its bounds: computed on the groups, not on every line.
    CellSum::Earliest {
        from: "ordered_at",
        to: "_some_instant",
    },
    CellSum::Rows { to: "_lines" },
];

const KINDS: [&str; 2] = ["month", "quarter"];

/// The return_rates table, and the sums of its lines per week the spike detector reads.
pub fn return_rates(p: &Prepared) -> Result<(DataFrame, SoldWeeks)> {
    // One quarter of order lines at a time: every group (a month or a quarter, by a key) lies within one quarter,
    // so the distinct-order counts need only that quarter's lines in memory, not a year's.
    let mut groups = Vec::new();
    let mut weeks = Vec::new();
    for q in quarters(p)? {
        let lines = p.quarter_lines(q).select(COLUMNS.map(col)).run()?;
        if lines.height() == 0 {
            // A quarter between the first and the last order without any.
            continue;
        }
        let sold = cells(lines, SOLD, "orders", None)?;
        weeks.push(sold.clone().lazy().select([
            col("merchant_id"),
            col("sku"),
            col("category"),
            col("week_code"),
            col("_lines").alias("n"),
            col("units_sold").alias("quantity"),
            col("_some_instant").alias("ordered_at"),
        ]));
        let facts = p
            .line_facts
            .clone()
            .filter(col("quarter_code").eq(lit(q)))
            .with_column(col("counted_cases").gt(lit(0u32)).alias("_counted"))
            .run()?;
        let came_back = cells(
            facts,
            [
                CellSum::Sum {
                    from: "returned_units",
                    to: "units_returned",
                },
                CellSum::Sum {
                    from: "refunded",
                    to: "refunded",
                },
            ],
            "orders_with_case",
            Some("_counted"),
        )?;
        // Every fact's line is among the lines, in the same cell, so no cell of facts lacks a cell of lines.
        let cells = sold
            .lazy()
            .join(
                came_back.lazy(),
                CELL.map(col),
                CELL.map(col),
                JoinArgs::new(JoinType::Left),
            )
            .with_column(lit(q).alias("quarter_code"))
            .run()?
            .lazy();
        for level in LEVELS {
            groups.extend(rollup(&cells, level)?);
        }
    }
    let groups = concat(groups, UnionArgs::default())?.run()?;
    // A period's label, bounds and maturity are the same for all its rows: computed on its platform row (every
    // period has one) and joined to the rest, not worked out in the zone on each of ≈ 200 k rows a quarter.
    let (start, end) = period_bounds(col("_some_instant"), "month", p.zone.tz);
    let (q_start, q_end) = period_bounds(col("_some_instant"), "quarter", p.zone.tz);
    let month = col("period_kind").eq(lit("month"));
    let maturity = lit(format!("{}d", p.maturity_days));
    let periods = groups
        .clone()
        .lazy()
        .filter(col("level").eq(lit("platform")))
        .select([
            col("period_kind"),
            col("code"),
            when(month.clone())
                .then(period_expr(col("_some_instant"), "month", p.zone.tz))
                .otherwise(period_expr(col("_some_instant"), "quarter", p.zone.tz))
                .alias("period"),
            when(month.clone()).then(start).otherwise(q_start).alias("period_start"),
            when(month).then(end).otherwise(q_end).alias("period_end"),
        ])
        .with_column(
            as_of_lit(p.as_of)
                .gt_eq(
                    col("period_end")
                        .dt()
                        .convert_time_zone(super::local_tz(p.zone.tz))
                        .dt()
                        .offset_by(maturity)
                        .dt()
                        .convert_time_zone(polars::prelude::TimeZone::UTC),
                )
                .alias("mature"),
        );
    let key_places = groups
        .clone()
        .lazy()
        .select([col("key").unique()])
        .sort(["key"], SortMultipleOptions::default())
        .with_row_index("_key_place", None)
        .run()?
        .lazy();
    let (lo, hi) = wilson(col("units_returned"), col("units_sold"));
    let out = groups
        .lazy()
        .join(
            periods,
            [col("period_kind"), col("code")],
            [col("period_kind"), col("code")],
            JoinArgs::new(JoinType::Left),
        )
        .select([
            col("period_kind"),
            col("period"),
            col("level"),
            col("key"),
            col("units_sold"),
            col("units_returned"),
            ratio(col("units_returned"), col("units_sold")).alias("return_rate"),
            lo.alias("ci_low"),
            hi.alias("ci_high"),
            col("orders").cast(DataType::Int64),
            col("orders_with_case").cast(DataType::Int64),
            ratio(col("orders_with_case"), col("orders")).alias("after_sales_rate"),
            col("gmv"),
            col("refunded"),
            ratio(col("refunded"), col("gmv")).alias("refund_value_rate"),
            col("period_start"),
            col("period_end"),
            col("mature"),
            col("code"),
        ])
        // Sorted by (period kind, period, level, key) as integers: the period's number, not its label (the same
        // order: labels of four-digit years sort as their periods do), and each key's place among the distinct
        // keys (sorted once), which is cheaper than sorting every row by two strings.
        .join(key_places, [col("key")], [col("key")], JoinArgs::new(JoinType::Left))
        .with_column(
            (when(col("period_kind").eq(lit("month")))
                .then(lit(0i64))
                .otherwise(lit(1i64))
                * lit(1i64 << 40)
                + col("code").cast(DataType::Int64) * lit(8i64)
                + level_rank(col("level"), &LEVELS).cast(DataType::Int64))
            .alias("_group"),
        )
        .sort(["_group", "_key_place"], SortMultipleOptions::default())
        .drop(cols(["_group", "_key_place", "code"]))
        .run()?;
    let weeks = if weeks.is_empty() {
        SoldWeeks::from_lines(p.lines.clone().limit(0))?
    } else {
        SoldWeeks(concat(weeks, UnionArgs::default())?.run()?)
    };
    Ok((out, weeks))
}

/// The quarters ([`super::period_code`] numbers) with order lines, in order — or, when the first and last
/// ordered_at are known (the run found them already), every quarter from the first's to the last's, without
/// reading every line's quarter.
fn quarters(p: &Prepared) -> Result<Vec<i32>> {
    if let Some((lo, hi)) = p.ordered_span {
        let code = |t: i64| {
            use chrono::Datelike;
            let d = chrono::DateTime::from_timestamp_micros(t).map(|d| d.with_timezone(&p.zone.tz).date_naive())?;
            Some(super::month_or_quarter_number(d.year(), d.month() as i32, 4))
        };
        if let (Some(first), Some(last)) = (code(lo), code(hi)) {
            return Ok((first..=last).collect());
        }
    }
    let found = p.lines.clone().select([col("quarter_code").unique()]).run_streaming()?;
    let mut quarters: Vec<i32> = found.column("quarter_code")?.i32()?.iter().flatten().collect();
    quarters.sort_unstable();
    Ok(quarters)
}

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
///
/// `n_unique(order_id)` per group is most of a grouping's time (a hash set of strings per group, several times the
/// cost of its sums), once per period and level. Here the rows are
/// sorted by order (exports usually are already: then it is only checked), so an order's rows are consecutive
/// and its first row in a group is found by comparing each row with the rows of its order before it (orders have
/// a few lines): one pass over the rows for all eight counts, and one grouping of the rows instead of eight —
/// by hand ([`group_cells`]: the five-column key hashed by polars was most of the grouping's cost), or by polars
/// for rows the hand grouping declines. BENCHMARKS.md has the figures.
fn cells<const N: usize>(rows: DataFrame, sums: [CellSum; N], name: &str, only: Option<&str>) -> Result<DataFrame> {
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
fn rollup(cells: &LazyFrame, level: &str) -> Result<[LazyFrame; 2]> {
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
