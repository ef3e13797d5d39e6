//! `reason_breakdown` (SPEC §4.2).
//!
//! Grain: one row per (period_kind ∈ {month, quarter}, period of the case's opened_at, level ∈ {platform,
//! category, merchant}, key, reason_code), over counted cases (status not cancelled).
//!
//! Columns: period_kind, period, level, key, reason_code, responsibility, cases, units, share.
//!
//! - category and merchant come from the case's order line. A case that reaches no order line (its sku is not on
//!   its order, or its order is unknown — both warned in data_quality) keeps its own merchant_id and has category
//!   `(unknown)`, so every level adds up to the platform.
//! - share = cases / all counted cases of the same (period_kind, period, level, key).
//! - responsibility: from the config's reason → party map (default: the spec's).

use anyhow::Result;
use polars::prelude::*;

use super::{ALL, Prepared, group_by_code, level_rank, period_code};
use crate::engine::Run;

pub const LEVELS: [&str; 3] = ["platform", "category", "merchant"];
pub const UNKNOWN_CATEGORY: &str = "(unknown)";

pub fn reason_breakdown(p: &Prepared) -> Result<DataFrame> {
    // Read once, with both periods' numbers, for the six groupings (each scanned the cases again).
    let day = p.zone.day(col("opened_at"));
    let cases = p
        .cases
        .clone()
        .filter(col("counted"))
        .select([
            col("line_category").fill_null(lit(UNKNOWN_CATEGORY)).alias("category"),
            col("line_merchant_id").fill_null(col("merchant_id")).alias("merchant"),
            col("reason_code"),
            col("quantity"),
            col("responsibility"),
            period_code(day.clone(), "month").alias("month_code"),
            period_code(day, "quarter").alias("quarter_code"),
        ])
        .run()?
        .lazy();
    let mut parts = Vec::new();
    for kind in ["month", "quarter"] {
        for level in LEVELS {
            // The platform's rows are grouped by reason alone and keyed `all` after: a constant key column is
            // still hashed on every row.
            let (keys, key) = match level {
                "platform" => (vec![], lit(ALL)),
                "category" => (vec![col("category")], col("category")),
                _ => (vec![col("merchant")], col("merchant")),
            };
            parts.push(
                group_by_code(
                    cases.clone(),
                    col(format!("{kind}_code")),
                    kind,
                    "period",
                    keys.into_iter().chain([col("reason_code")]).collect(),
                    vec![
                        len().cast(DataType::Int64).alias("cases"),
                        col("quantity").sum().alias("units"),
                        col("responsibility").first(),
                    ],
                )
                .with_columns([
                    key.alias("key"),
                    lit(kind).alias("period_kind"),
                    lit(level).alias("level"),
                ]),
            );
        }
    }
    // Diagonal: the platform's parts add their key after grouping, so their columns stand in another order.
    finish(concat(
        parts,
        UnionArgs {
            diagonal: true,
            ..Default::default()
        },
    )?)
}

/// The table from its counts — one row per (period_kind, period, level, key, reason_code) with responsibility,
/// cases and units: each reason's share of its group's cases, in reading order. The distributed path's counts are
/// finished here too (`crate::aggregates`).
pub fn finish(counts: LazyFrame) -> Result<DataFrame> {
    let out = counts
        .with_column(
            (col("cases").cast(DataType::Float64)
                / col("cases")
                    .sum()
                    .over([col("period_kind"), col("period"), col("level"), col("key")])?
                    .cast(DataType::Float64))
            .alias("share"),
        )
        .select([
            col("period_kind"),
            col("period"),
            col("level"),
            col("key"),
            col("reason_code"),
            col("responsibility"),
            col("cases"),
            col("units"),
            col("share"),
        ])
        .with_column(level_rank(col("level"), &LEVELS).alias("_rank"))
        .sort(
            ["period_kind", "period", "_rank", "key", "cases", "reason_code"],
            SortMultipleOptions::default().with_order_descending_multi([false, false, false, false, true, false]),
        )
        .drop(cols(["_rank"]))
        .run()?;
    Ok(out)
}
