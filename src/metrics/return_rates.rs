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

use super::kernels::cell_groups::{CELL, CellSum};
use super::kernels::order_cells::{LEVELS, cells, rollup};
use super::{Prepared, as_of_lit, level_rank, period_bounds, period_expr, ratio, wilson};
use crate::engine::Run;

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

// A quarter's lines are summed into one row per cell (`order_cells`); every group of every level and period is a
// sum of cells. The week is not a period of return_rates: it is in the cell so that the spike detector's weekly
// sums of the same lines come from these cells (`SoldWeeks`) instead of grouping every line by three strings again.

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

    /// A quarter's share of the sums, from its cells of sold lines.
    fn of_cells(sold: &DataFrame) -> LazyFrame {
        sold.clone().lazy().select([
            col("merchant_id"),
            col("sku"),
            col("category"),
            col("week_code"),
            col("_lines").alias("n"),
            col("units_sold").alias("quantity"),
            col("_some_instant").alias("ordered_at"),
        ])
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

/// What a cell of line facts holds: what came back (its orders with a counted case are counted beside).
const CAME_BACK: [CellSum; 2] = [
    CellSum::Sum {
        from: "returned_units",
        to: "units_returned",
    },
    CellSum::Sum {
        from: "refunded",
        to: "refunded",
    },
];

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
        weeks.push(SoldWeeks::of_cells(&sold));
        let facts = p
            .line_facts
            .clone()
            .filter(col("quarter_code").eq(lit(q)))
            .with_column(col("counted_cases").gt(lit(0u32)).alias("_counted"))
            .run()?;
        let came_back = cells(facts, CAME_BACK, "orders_with_case", Some("_counted"))?;
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
    let out = table(
        concat(groups, UnionArgs::default())?.run()?,
        p.zone.tz,
        p.as_of,
        p.maturity_days,
    )?;
    let weeks = if weeks.is_empty() {
        SoldWeeks::from_lines(p.lines.clone().limit(0))?
    } else {
        SoldWeeks(concat(weeks, UnionArgs::default())?.run()?)
    };
    Ok((out, weeks))
}

/// The table from its groups — one row per (period_kind, code, level, key) with units_sold, units_returned,
/// orders, orders_with_case, gmv, refunded and `_some_instant` (any instant of the period): each period's label,
/// bounds and maturity, the ratios and Wilson bounds, in reading order. The distributed path's groups are finished
/// here too (`crate::aggregates`).
pub fn table(
    groups: DataFrame,
    tz: chrono_tz::Tz,
    as_of: crate::time::Micros,
    maturity_days: i64,
) -> Result<DataFrame> {
    // A period's label, bounds and maturity are the same for all its rows: computed on its platform row (every
    // period has one) and joined to the rest, not worked out in the zone on each of ≈ 200 k rows a quarter.
    let (start, end) = period_bounds(col("_some_instant"), "month", tz);
    let (q_start, q_end) = period_bounds(col("_some_instant"), "quarter", tz);
    let month = col("period_kind").eq(lit("month"));
    let maturity = lit(format!("{maturity_days}d"));
    let periods = groups
        .clone()
        .lazy()
        .filter(col("level").eq(lit("platform")))
        .select([
            col("period_kind"),
            col("code"),
            when(month.clone())
                .then(period_expr(col("_some_instant"), "month", tz))
                .otherwise(period_expr(col("_some_instant"), "quarter", tz))
                .alias("period"),
            when(month.clone()).then(start).otherwise(q_start).alias("period_start"),
            when(month).then(end).otherwise(q_end).alias("period_end"),
        ])
        .with_column(
            as_of_lit(as_of)
                .gt_eq(
                    col("period_end")
                        .dt()
                        .convert_time_zone(super::local_tz(tz))
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
    Ok(groups
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
        .run()?)
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
