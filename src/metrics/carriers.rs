//! `carrier_performance` and `carrier_lanes` (SPEC §4.6).
//!
//! `carrier_performance` grain: one row per (period_kind ∈ {month, quarter}, period of shipped_at, carrier,
//! direction ∈ {all, forward, return, replacement}), over legs whose outcome is known (not `in_transit`).
//! Columns: period_kind, period, carrier, direction, shipments, delivered, damaged, lost, returned_to_sender,
//! damage_rate, damage_ci_low, damage_ci_high, loss_rate, loss_ci_low, loss_ci_high, on_time_legs,
//! on_time_rate, network_damage_rate, worse_than_network, claim_cost.
//!
//! - on_time_rate = legs delivered by promised_at / legs with both promised_at and delivered_at (on_time_legs).
//! - network_damage_rate: all carriers' damaged / shipments for the same period and direction.
//! - worse_than_network: the carrier's whole damage-rate interval lies above the network rate, and damaged ≥ 5.
//! - claim_cost: Σ completed refunds of counted cases whose responsibility is `carrier`, charged to the carrier of
//!   the order's first forward leg (earliest shipped_at), in that leg's period, on the `forward` and `all` rows.
//!   Decimal(38, 2). A claim whose first forward leg is still in transit gets a row with zero legs.
//!
//! `carrier_lanes` grain: one row per (quarter, carrier, origin_region, dest_region), all directions, known
//! outcomes; a missing region is `(unknown)`. Columns: quarter, carrier, origin_region, dest_region, shipments,
//! delivered, damaged, lost, returned_to_sender, damage_rate, damage_ci_low, damage_ci_high, loss_rate,
//! loss_ci_low, loss_ci_high, on_time_legs, on_time_rate.

use anyhow::Result;
use polars::prelude::*;

use super::{Prepared, group_by_period, level_rank, period_expr, ratio, wilson};
use crate::engine::Run;

pub const DIRECTIONS: [&str; 4] = ["all", "forward", "return", "replacement"];

/// `2026-03` → `2026Q1`: a month label's quarter, the same label `time::quarter_expr` gives its instants.
fn quarter_of_month(month: Expr) -> Expr {
    let m = month.clone().str().slice(lit(5), lit(2)).cast(DataType::Int32);
    concat_str(
        [
            month.str().slice(lit(0), lit(4)),
            lit("Q"),
            ((m - lit(1)) / lit(3) + lit(1)).cast(DataType::String),
        ],
        "",
        false,
    )
}

fn counts() -> Vec<Expr> {
    let is = |o: &str| col("outcome").eq(lit(o.to_string())).cast(DataType::Int64).sum();
    let has_both = col("promised_at").is_not_null().and(col("delivered_at").is_not_null());
    vec![
        len().cast(DataType::Int64).alias("shipments"),
        is("delivered").alias("delivered"),
        is("damaged").alias("damaged"),
        is("lost").alias("lost"),
        is("returned_to_sender").alias("returned_to_sender"),
        has_both.clone().cast(DataType::Int64).sum().alias("on_time_legs"),
        has_both
            .and(col("delivered_at").lt_eq(col("promised_at")))
            .cast(DataType::Int64)
            .sum()
            .alias("on_time"),
    ]
}

fn rates() -> Vec<Expr> {
    let (dl, dh) = wilson(col("damaged"), col("shipments"));
    let (ll, lh) = wilson(col("lost"), col("shipments"));
    vec![
        ratio(col("damaged"), col("shipments")).alias("damage_rate"),
        dl.alias("damage_ci_low"),
        dh.alias("damage_ci_high"),
        ratio(col("lost"), col("shipments")).alias("loss_rate"),
        ll.alias("loss_ci_low"),
        lh.alias("loss_ci_high"),
        ratio(col("on_time"), col("on_time_legs")).alias("on_time_rate"),
    ]
}

/// The counts and rates both tables report for a group of legs, in output order.
const LEG_COLUMNS: [&str; 13] = [
    "shipments",
    "delivered",
    "damaged",
    "lost",
    "returned_to_sender",
    "damage_rate",
    "damage_ci_low",
    "damage_ci_high",
    "loss_rate",
    "loss_ci_low",
    "loss_ci_high",
    "on_time_legs",
    "on_time_rate",
];

const COUNT_COLS: [&str; 6] = [
    "shipments",
    "delivered",
    "damaged",
    "lost",
    "returned_to_sender",
    "on_time_legs",
];

/// The legs whose outcome is known, counted per (month, carrier, direction, origin_region, dest_region), a missing
/// region as `(unknown)`: both tables are sums of these groups (every count adds up), so the legs are read and
/// grouped once for both.
pub struct LegGroups(DataFrame);

impl LegGroups {
    /// The groups as the distributed path sums them (`crate::aggregates`): month (label), carrier, direction,
    /// origin_region, dest_region and the counts.
    pub fn from_frame(groups: DataFrame) -> LegGroups {
        LegGroups(groups)
    }

    pub fn new(p: &Prepared) -> Result<LegGroups> {
        let unknown = |c: &str| col(c).fill_null(lit("(unknown)")).alias(c);
        let legs = p
            .shipments
            .clone()
            .filter(col("outcome").neq(lit("in_transit")))
            .with_columns([unknown("origin_region"), unknown("dest_region")]);
        Ok(LegGroups(
            group_by_period(
                legs,
                col("shipped_at"),
                "month",
                p.zone,
                "month",
                vec![
                    col("carrier"),
                    col("direction"),
                    col("origin_region"),
                    col("dest_region"),
                ],
                counts(),
            )
            .run_streaming()?,
        ))
    }
}

fn summed_counts() -> Vec<Expr> {
    COUNT_COLS.iter().chain(&["on_time"]).map(|c| col(*c).sum()).collect()
}

pub fn carrier_performance(p: &Prepared, legs: &LegGroups) -> Result<DataFrame> {
    performance_with_claims(legs, &claims_by_first_forward_leg(p)?, p.zone.tz)
}

/// carrier_performance from the leg groups and the claims (one row per order with a carrier claim:
/// case_order_id, claim, and its first forward leg's carrier and shipped_at) — the local run's and the distributed
/// path's.
pub fn performance_with_claims(legs: &LegGroups, claims: &DataFrame, tz: chrono_tz::Tz) -> Result<DataFrame> {
    // Quarters and the `all` direction are sums of the monthly groups.
    let monthly = legs
        .0
        .clone()
        .lazy()
        .group_by([col("month"), col("carrier"), col("direction")])
        .agg(summed_counts())
        .run()?;
    let keep = || -> Vec<Expr> {
        [col("period"), col("carrier"), col("direction")]
            .into_iter()
            .chain(COUNT_COLS.iter().chain(&["on_time"]).map(|c| col(*c)))
            .collect()
    };
    let mut parts = Vec::new();
    for kind in ["month", "quarter"] {
        let period = if kind == "month" {
            col("month")
        } else {
            quarter_of_month(col("month"))
        };
        let by_dir = monthly
            .clone()
            .lazy()
            .group_by([period.alias("period"), col("carrier"), col("direction")])
            .agg(summed_counts())
            .select(keep());
        let all_dirs = by_dir
            .clone()
            .group_by([col("period"), col("carrier")])
            .agg(summed_counts())
            .with_column(lit("all").alias("direction"))
            .select(keep());
        let grouped = concat([by_dir, all_dirs], UnionArgs::default())?.with_column(lit(kind).alias("period_kind"));
        let network = grouped.clone().group_by([col("period"), col("direction")]).agg([ratio(
            col("damaged").sum(),
            col("shipments").sum(),
        )
        .alias("network_damage_rate")]);
        let claim = claims
            .clone()
            .lazy()
            .with_column(period_expr(col("shipped_at"), kind, tz).alias("period"))
            .group_by([col("period"), col("carrier")])
            .agg([col("claim").sum().alias("claim_cost")]);
        let claim = concat(
            [
                claim.clone().with_column(lit("forward").alias("direction")),
                claim.with_column(lit("all").alias("direction")),
            ],
            UnionArgs::default(),
        )?
        .with_column(lit(kind).alias("period_kind"));
        let joined = grouped
            .join(
                claim,
                [col("period_kind"), col("period"), col("carrier"), col("direction")],
                [col("period_kind"), col("period"), col("carrier"), col("direction")],
                JoinArgs::new(JoinType::Full).with_coalesce(JoinCoalesce::CoalesceColumns),
            )
            .with_columns(
                COUNT_COLS
                    .iter()
                    .chain(&["on_time"])
                    .map(|c| col(*c).fill_null(lit(0i64)))
                    .collect::<Vec<_>>(),
            )
            .join(
                network,
                [col("period"), col("direction")],
                [col("period"), col("direction")],
                JoinArgs::new(JoinType::Left),
            );
        parts.push(joined);
    }
    let (dl, _) = wilson(col("damaged"), col("shipments"));
    let out = concat(parts, UnionArgs::default())?
        .with_columns(rates())
        .with_columns([
            dl.gt(col("network_damage_rate"))
                .and(col("damaged").gt_eq(lit(5i64)))
                .fill_null(lit(false))
                .alias("worse_than_network"),
            col("claim_cost").fill_null(lit(0i64).cast(DataType::Decimal(38, 2))),
        ])
        .select(
            ["period_kind", "period", "carrier", "direction"]
                .iter()
                .chain(&LEG_COLUMNS)
                .chain(&["network_damage_rate", "worse_than_network", "claim_cost"])
                .map(|c| col(*c))
                .collect::<Vec<_>>(),
        )
        .with_column(level_rank(col("direction"), &DIRECTIONS).alias("_rank"))
        .sort(
            ["period_kind", "period", "_rank", "carrier"],
            SortMultipleOptions::default(),
        )
        .drop(cols(["_rank"]))
        .run_streaming()?;
    Ok(out)
}

/// One row per order with a carrier claim: the first forward leg's carrier and shipped_at, and the claim amount.
fn claims_by_first_forward_leg(p: &Prepared) -> Result<DataFrame> {
    let carrier_cases = p
        .cases
        .clone()
        .filter(col("counted").and(col("responsibility").eq(lit("carrier"))))
        .select([col("case_id"), col("order_id").alias("case_order_id")]);
    let claims = p
        .refunds
        .clone()
        .filter(col("status").eq(lit("completed")))
        .join(
            carrier_cases,
            [col("case_id")],
            [col("case_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .group_by([col("case_order_id")])
        .agg([col("amount").sum().alias("claim")])
        .run()?;
    // Only the claimed orders' legs are sorted for their first one (a few thousand orders, not every leg).
    let first_leg = p
        .shipments
        .clone()
        .filter(col("direction").eq(lit("forward")))
        .join(
            claims.clone().lazy().select([col("case_order_id")]),
            [col("order_id")],
            [col("case_order_id")],
            crate::engine::small_right(JoinType::Semi),
        )
        .sort(
            ["order_id", "shipped_at", "shipment_id"],
            SortMultipleOptions::default(),
        )
        .group_by([col("order_id")])
        .agg([col("carrier").first(), col("shipped_at").first()]);
    let out = claims
        .lazy()
        .join(
            first_leg,
            [col("case_order_id")],
            [col("order_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .run_streaming()?;
    Ok(out)
}

pub fn carrier_lanes(legs: &LegGroups) -> Result<DataFrame> {
    let out = legs
        .0
        .clone()
        .lazy()
        .group_by([
            quarter_of_month(col("month")).alias("quarter"),
            col("carrier"),
            col("origin_region"),
            col("dest_region"),
        ])
        .agg(summed_counts())
        .with_columns(rates())
        .select(
            ["quarter", "carrier", "origin_region", "dest_region"]
                .iter()
                .chain(&LEG_COLUMNS)
                .map(|c| col(*c))
                .collect::<Vec<_>>(),
        )
        .sort(
            ["quarter", "carrier", "origin_region", "dest_region"],
            SortMultipleOptions::default(),
        )
        .run()?;
    Ok(out)
}
