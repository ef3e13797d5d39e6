//! The evidence behind the flags and the failed badge criteria (SPEC §5: every flag and every failed criterion can
//! be traced to the cases behind it, so a merchant can appeal and the risk team can defend).
//!
//! `flag_evidence` grain: one row per (flag in risk_flags, return case behind it) — every case of type return or
//! exchange, counted and not rejected, opened within A days of its line's ordered_at, on an order line of the
//! flagged entity (the merchant, or the sku) bought in the flagged week. Columns: level, key, period, severity,
//! order_id, line_no, sku, merchant_id, category (the line's), ordered_at, line_quantity, case_id, case_type,
//! reason_code, responsibility, opened_at, days_after_order, case_quantity, carrier_case (this case's
//! responsibility is the carrier's), line_in_r_t (one of the line's early returns is not the carrier's). Per flag,
//! the distinct (order_id, line_no) with line_in_r_t are the flag's r_t lines, the others its r_carrier lines.
//!
//! `badge_evidence` grain: one row per (quarter, merchant, failed criterion of badges — failed so far in a
//! provisional quarter —, record behind the failure). Columns: quarter, merchant_id, criterion, record_type
//! (`case` | `refund` | `flag`), record_id, order_id, at, stop, deadline, value, unit, detail. By criterion:
//! - ack_on_time, first_response_on_time, refund_on_time: the breached clocks of merchant_ack, first_response,
//!   refund_payout started in the quarter (at = start, stop, deadline, value = elapsed in `unit`, detail =
//!   `stopped after the deadline` or `not stopped by as_of`);
//! - dispute_rate: the counted cases opened in the quarter that were escalated, carrier cases left out as the
//!   criterion leaves them out (at = opened_at, stop = escalated_at, detail = the dispute outcome);
//! - dispute_loss_rate: those whose dispute_outcome is buyer_favoured;
//! - satisfaction: the rated cases opened in the quarter rated below the threshold (value = the rating);
//! - no_high_spike: the merchant's high return-spike flags of weeks whose Monday is in the quarter (record_id =
//!   the week, value = z, detail = the flag's reason; their cases are in flag_evidence).

use anyhow::Result;
use polars::prelude::*;

use super::{Prepared, period_code, period_expr};
use crate::config::{BadgeParams, RiskParams};
use crate::engine::Run;

/// flag_evidence (see the module docs).
pub fn flag_evidence(p: &Prepared, r: &RiskParams, flags: &DataFrame) -> Result<DataFrame> {
    // The early returns, as the spike detector counts them, case by case.
    let early = super::spikes::early_returns(p, r)
        .with_column(period_code(p.zone.day(col("line_ordered_at")), "week").alias("_week"));
    flag_evidence_from(early, flags)
}

/// flag_evidence from the early returns (one row per return case counted as the spike detector counts them, with
/// order_id, line_no, sku, line_merchant_id, line_category, line_ordered_at, line_quantity, case_id, case_type,
/// reason_code, responsibility, opened_at, quantity, `_age` (µs after the line's ordered_at) and `_week` (the
/// line's week code)) — all of them, or at least every early return on each line of a flagged week (the
/// distributed path's candidates).
pub fn flag_evidence_from(early: LazyFrame, flags: &DataFrame) -> Result<DataFrame> {
    let early = early
        .with_column(
            col("responsibility")
                .eq(lit("carrier"))
                .fill_null(lit(false))
                .alias("carrier_case"),
        )
        .with_column(
            col("carrier_case")
                .not()
                .any(true)
                .over([col("order_id"), col("line_no")])?
                .alias("line_in_r_t"),
        );
    let flagged = flags.clone().lazy().select([
        col("level"),
        col("key"),
        col("period"),
        col("severity"),
        period_code(col("week_start"), "week").alias("_week"),
    ]);
    let of_level = |level: &str, key: &str| {
        flagged.clone().filter(col("level").eq(lit(level.to_string()))).join(
            early.clone().with_column(col(key).alias("_key")),
            [col("key"), col("_week")],
            [col("_key"), col("_week")],
            JoinArgs::new(JoinType::Inner),
        )
    };
    let both = concat(
        [of_level("merchant", "line_merchant_id"), of_level("sku", "sku")],
        UnionArgs::default(),
    )?;
    Ok(both
        .select([
            col("level"),
            col("key"),
            col("period"),
            col("severity"),
            col("order_id"),
            col("line_no"),
            col("sku"),
            col("line_merchant_id").alias("merchant_id"),
            col("line_category").alias("category"),
            col("line_ordered_at").alias("ordered_at"),
            col("line_quantity"),
            col("case_id"),
            col("case_type"),
            col("reason_code"),
            col("responsibility"),
            col("opened_at"),
            (col("_age").cast(DataType::Float64) / lit(86_400_000_000.0)).alias("days_after_order"),
            col("quantity").alias("case_quantity"),
            col("carrier_case"),
            col("line_in_r_t"),
        ])
        .sort(
            ["level", "key", "period", "order_id", "line_no", "case_id"],
            SortMultipleOptions::default(),
        )
        .run()?)
}

/// The criteria whose evidence is a rule's breached clocks.
const CLOCK_CRITERIA: [(&str, &str); 3] = [
    ("ack_on_time", "merchant_ack"),
    ("first_response_on_time", "first_response"),
    ("refund_on_time", "refund_payout"),
];

/// badge_evidence (see the module docs). `clocks`: sla_clocks; `flags`: risk_flags.
pub fn badge_evidence(
    p: &Prepared,
    b: &BadgeParams,
    badges: &DataFrame,
    clocks: &LazyFrame,
    flags: &DataFrame,
) -> Result<DataFrame> {
    badge_evidence_from(p.cases.clone(), p.zone.tz, b, badges, clocks, flags)
}

/// badge_evidence from the cases (every case with counted, responsibility and the case columns, or at least the
/// counted ones of the merchants' quarters that failed a case criterion) and the clocks (all, or at least the
/// breached ones of those that failed a clock criterion).
pub fn badge_evidence_from(
    cases: LazyFrame,
    tz: chrono_tz::Tz,
    b: &BadgeParams,
    badges: &DataFrame,
    clocks: &LazyFrame,
    flags: &DataFrame,
) -> Result<DataFrame> {
    // (quarter, merchant_id, criterion) of every failed criterion.
    let failed = badges
        .clone()
        .lazy()
        .select([
            col("quarter"),
            col("merchant_id"),
            col("failed_criteria").alias("criterion"),
        ])
        .explode(
            cols(["criterion"]),
            ExplodeOptions {
                empty_as_null: false,
                keep_nulls: false,
            },
        )
        .filter(col("criterion").is_not_null())
        .run()?
        .lazy();
    let keep = |rows: LazyFrame| {
        rows.join(
            failed.clone(),
            [col("quarter"), col("merchant_id"), col("criterion")],
            [col("quarter"), col("merchant_id"), col("criterion")],
            JoinArgs::new(JoinType::Inner),
        )
    };
    let ts_null = || lit(NULL).cast(crate::time::ts_dtype());
    let mut criterion = lit(NULL).cast(DataType::String);
    for (c, rule) in CLOCK_CRITERIA.iter().rev() {
        criterion = when(col("rule").eq(lit(*rule))).then(lit(*c)).otherwise(criterion);
    }
    let breached = keep(
        clocks
            .clone()
            .filter(col("status").eq(lit("breached")))
            .with_columns([
                period_expr(col("start"), "quarter", tz).alias("quarter"),
                criterion.alias("criterion"),
            ])
            .filter(col("criterion").is_not_null()),
    )
    .select([
        col("quarter"),
        col("merchant_id"),
        col("criterion"),
        col("record_type"),
        col("record_id"),
        col("order_id"),
        col("start").alias("at"),
        col("stop"),
        col("deadline"),
        col("elapsed").alias("value"),
        col("target_unit").alias("unit"),
        when(col("stop").is_null())
            .then(lit("not stopped by as_of"))
            .otherwise(lit("stopped after the deadline"))
            .alias("detail"),
    ]);
    let not_carrier = col("responsibility").neq(lit("carrier")).fill_null(lit(true));
    let cases = cases
        .filter(col("counted"))
        .with_column(period_expr(col("opened_at"), "quarter", tz).alias("quarter"));
    let case_rows = |criterion: &str, which: Expr, stop: Expr, value: Expr, unit: Expr, detail: Expr| {
        keep(
            cases
                .clone()
                .filter(which)
                .with_column(lit(criterion.to_string()).alias("criterion")),
        )
        .select([
            col("quarter"),
            col("merchant_id"),
            col("criterion"),
            lit("case").alias("record_type"),
            col("case_id").alias("record_id"),
            col("order_id"),
            col("opened_at").alias("at"),
            stop.alias("stop"),
            ts_null().alias("deadline"),
            value.alias("value"),
            unit.alias("unit"),
            detail.alias("detail"),
        ])
    };
    let outcome = concat_str(
        [
            lit("escalated; outcome "),
            col("dispute_outcome").fill_null(lit("not given")),
        ],
        "",
        false,
    );
    let disputes = case_rows(
        "dispute_rate",
        col("escalated_at").is_not_null().and(not_carrier.clone()),
        col("escalated_at"),
        lit(NULL).cast(DataType::Float64),
        lit(NULL).cast(DataType::String),
        outcome.clone(),
    );
    let losses = case_rows(
        "dispute_loss_rate",
        col("dispute_outcome")
            .eq(lit("buyer_favoured"))
            .fill_null(lit(false))
            .and(not_carrier),
        col("escalated_at"),
        lit(NULL).cast(DataType::Float64),
        lit(NULL).cast(DataType::String),
        outcome,
    );
    let low_ratings = case_rows(
        "satisfaction",
        col("satisfaction")
            .cast(DataType::Float64)
            .lt(lit(b.satisfaction))
            .fill_null(lit(false)),
        ts_null(),
        col("satisfaction").cast(DataType::Float64),
        lit("rating"),
        concat_str([lit("rated "), col("satisfaction").cast(DataType::String)], "", false),
    );
    let high_flags = keep(
        flags
            .clone()
            .lazy()
            .filter(col("level").eq(lit("merchant")).and(col("severity").eq(lit("high"))))
            .with_columns([
                super::spikes::quarter_of_week(col("week_start")).alias("quarter"),
                col("key").alias("merchant_id"),
                lit("no_high_spike").alias("criterion"),
            ]),
    )
    .select([
        col("quarter"),
        col("merchant_id"),
        col("criterion"),
        lit("flag").alias("record_type"),
        col("period").alias("record_id"),
        lit(NULL).cast(DataType::String).alias("order_id"),
        ts_null().alias("at"),
        ts_null().alias("stop"),
        ts_null().alias("deadline"),
        col("z").alias("value"),
        lit("z").alias("unit"),
        col("reason").alias("detail"),
    ]);
    let mut parts = vec![disputes, losses, low_ratings, high_flags];
    if clocks_have_columns(clocks)? {
        parts.insert(0, breached);
    }
    Ok(concat(parts, UnionArgs::default())?
        .with_column(super::level_rank(col("criterion"), &super::merchants::CRITERIA).alias("_c"))
        .sort(
            ["quarter", "merchant_id", "_c", "at", "record_id"],
            SortMultipleOptions::default().with_nulls_last(true),
        )
        .drop(cols(["_c"]))
        .run()?)
}

/// False when the run has no SLA rule (sla_clocks then has no columns).
fn clocks_have_columns(clocks: &LazyFrame) -> Result<bool> {
    Ok(clocks.clone().collect_schema()?.get("rule").is_some())
}
