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

use super::{ALL, Prepared, as_of_lit, level_rank, period_bounds, period_expr, ratio, wilson};
use crate::engine::Run;

pub const LEVELS: [&str; 4] = ["platform", "category", "merchant", "sku"];

/// The columns the groupings read from the order lines.
const COLUMNS: [&str; 9] = [
    "month_code",
    "quarter_code",
    "category",
    "merchant_id",
    "sku",
    "order_id",
    "quantity",
    "gmv",
    "ordered_at",
];

pub fn return_rates(p: &Prepared) -> Result<DataFrame> {
    // One quarter of order lines at a time: every group (a month or a quarter, by a key) lies within one quarter,
    // so the distinct-order counts need only that quarter's lines in memory — a year's lines read at once held
    // 10 GB at scale 30. Each quarter's columns are read once for its eight groupings (decoding them eight times
    // cost 5.8 s at scale 10), and the groupings are collected one at a time (side by side their hash tables
    // outgrew memory at scale 30). BENCHMARKS.md has the figures.
    let quarters = p.lines.clone().select([col("quarter_code").unique()]).run_streaming()?;
    let mut quarters: Vec<i32> = quarters.column("quarter_code")?.i32()?.iter().flatten().collect();
    quarters.sort_unstable();
    let mut groups = Vec::new();
    for q in quarters {
        let lines = p.quarter_lines(q).select(COLUMNS.map(col)).run()?.lazy();
        let facts = p
            .line_facts
            .clone()
            .filter(col("quarter_code").eq(lit(q)))
            .run()?
            .lazy();
        let lines = (&lines, &facts);
        let months = crate::engine::one_at_a_time(LEVELS.map(|l| grouping(p, lines, "month", l)).to_vec())?;
        let platform = grouping(p, lines, "quarter", "platform").run()?.lazy();
        // Months add up to their quarter for every sum; distinct orders add up too when no order has lines in two
        // months, i.e. when the quarter's distinct orders equal the sum of its months' (the platform rows). Then
        // the lower levels' quarter rows are sums of their month rows (rows per key, not lines) instead of three
        // more groupings of the quarter's lines (return_rates 9.6–10.1 → 6.3–6.4 s at scale 10). An order with
        // lines in two months sends the quarter back to grouping its lines (tests/metrics_rates.rs pins both).
        let additive = total_orders(&platform)? == total_orders(&months[0])?;
        let mut quarter = vec![platform];
        for (level, month_rows) in LEVELS.iter().zip(&months).skip(1) {
            let rows = if additive {
                quarter_from_months(p, month_rows, q, level).run()?.lazy()
            } else {
                grouping(p, lines, "quarter", level).run()?.lazy()
            };
            quarter.push(rows);
        }
        groups.extend(months);
        groups.extend(quarter);
    }
    let (lo, hi) = wilson(col("units_returned"), col("units_sold"));
    let maturity = lit(format!("{}d", p.maturity_days));
    let out = concat(groups, UnionArgs::default())?
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
        ])
        .with_column(level_rank(col("level"), &LEVELS).alias("_rank"))
        .sort(
            ["period_kind", "period", "_rank", "key"],
            SortMultipleOptions::default(),
        )
        .drop(cols(["_rank"]))
        .run()?;
    Ok(out)
}

/// Σ `orders` over a grouping's rows.
fn total_orders(rows: &LazyFrame) -> Result<u64> {
    let total = rows.clone().select([col("orders").sum()]).run()?;
    Ok(total.column("orders")?.as_materialized_series().sum::<u64>()?)
}

/// One grouping of a set of order lines (and of the facts of those that have any) by period (month or quarter)
/// and level: what was sold from the lines, what came back from the facts, joined per group.
fn grouping(p: &Prepared, (lines, facts): (&LazyFrame, &LazyFrame), kind: &str, level: &str) -> LazyFrame {
    let key = || match level {
        "platform" => lit(ALL),
        "category" => col("category"),
        "merchant" => col("merchant_id"),
        _ => col("sku"),
    };
    let code = format!("{kind}_code");
    let sold = lines.clone().group_by([col(&code), key().alias("key")]).agg([
        col("quantity").sum().alias("units_sold"),
        col("order_id").n_unique().alias("orders"),
        col("gmv").sum(),
        // Any instant of the period gives its bounds: computed on the groups, not on every line.
        col("ordered_at").min().alias("_some_instant"),
    ]);
    let came_back = facts.clone().group_by([col(&code), key().alias("key")]).agg([
        col("returned_units").sum().alias("units_returned"),
        col("order_id")
            .filter(col("counted_cases").gt(lit(0u32)))
            .n_unique()
            .alias("orders_with_case"),
        col("refunded").sum(),
    ]);
    // Every fact's line is among the lines, so no group of facts lacks a group of lines.
    let grouped = sold
        .join(
            came_back,
            [col(&code), col("key")],
            [col(&code), col("key")],
            JoinArgs::new(JoinType::Left),
        )
        .select([
            col(&code),
            col("key"),
            col("units_sold"),
            col("units_returned").fill_null(lit(0i64)),
            col("orders"),
            col("orders_with_case").fill_null(lit(0u32).cast(IDX_DTYPE)),
            col("gmv"),
            col("refunded").fill_null(lit(0i64).cast(DataType::Decimal(38, 2))),
            col("_some_instant"),
        ]);
    labelled(p, grouped, kind, level)
}

/// A level's quarter rows as sums of its month rows (valid only when no order spans two months, see above).
fn quarter_from_months(p: &Prepared, months: &LazyFrame, quarter: i32, level: &str) -> LazyFrame {
    let summed = months
        .clone()
        .group_by([col("key")])
        .agg([
            col("units_sold").sum(),
            col("units_returned").sum(),
            col("orders").sum().cast(IDX_DTYPE),
            col("orders_with_case").sum().cast(IDX_DTYPE),
            col("gmv").sum(),
            col("refunded").sum(),
            col("_some_instant").min(),
        ])
        .select([
            lit(quarter).alias("quarter_code"),
            col("key"),
            col("units_sold"),
            col("units_returned"),
            col("orders"),
            col("orders_with_case"),
            col("gmv"),
            col("refunded"),
            col("_some_instant"),
        ]);
    labelled(p, summed, "quarter", level)
}

fn labelled(p: &Prepared, grouped: LazyFrame, kind: &str, level: &str) -> LazyFrame {
    grouped.with_columns([
        lit(kind).alias("period_kind"),
        period_expr(col("_some_instant"), kind, p.zone.tz).alias("period"),
        lit(level).alias("level"),
        period_bounds(col("_some_instant"), kind, p.zone.tz)
            .0
            .alias("period_start"),
        period_bounds(col("_some_instant"), kind, p.zone.tz)
            .1
            .alias("period_end"),
    ])
}
