//! `spike_evaluation` and `risk_flags` (SPEC §4.4): return spikes by weekly order cohort, compared at the same age.
//!
//! Grain of the evaluation (`spike_evaluation`): one row per (level ∈ {merchant, sku}, key, ISO week of
//! ordered_at) that is mature, past the burn-in and has a category prior. `risk_flags` keeps the rows that are
//! flagged, with a sentence.
//!
//! Columns: level, key, category, period (`2026-W23`), week_start (local Monday, as a date), n_t (order lines sold
//! in the week), r_t (those lines with a return opened within A days of the line's ordered_at whose responsibility
//! is not the carrier's), r_carrier (lines whose every such return was the carrier's: left out of r_t, shown so the
//! reader sees what was set aside — a wave of parcels broken in transit is the carrier's spike, in
//! carrier_performance, not the merchant's), rate = r_t / n_t, units_sold, units_returned (of the r_t lines;
//! information only), r_b, n_b (the same counts summed over the previous B weeks of
//! the entity), p_c (the category's ratio over the same B weeks), p0 = max((r_b + k·p_c) / (n_b + k), floor),
//! z = (r_t − n_t·p0) / sqrt(n_t·p0·(1 − p0)) (the number a person reads; it does not decide), lift = rate / p0,
//! then from [`super::calibration`]: phi, p_value, q_value, flagged, severity (`high` when q_value ≤ q_high, else
//! `medium`; null when not flagged); risk_flags adds merchant_id after key (a merchant row's own key; an SKU's
//! merchant, [`flag_owners`]) and reason (a sentence a person can check).
//!
//! A week is evaluated once as_of ≥ its end + A days (so a spike is seen A days after its week closes) and once its
//! Monday is at least `burn_in_weeks` (default B) after the Monday of the first week with sales. Lines, not units,
//! are counted: a return takes a whole line's units at once, so units are clustered and a binomial test on them
//! over-flags. An entity's category: an SKU's own (the category it sold most units in); a merchant's
//! primary_category from `merchants`, else the category it sold most units in.

use anyhow::Result;
use polars::prelude::*;

use super::columns::{f64s_or_nan, strs_or_empty};
use super::return_rates::SoldWeeks;
use super::{LINE_ROW, Prepared, as_of_lit, local_tz, period_code, period_expr};
use crate::config::RiskParams;
use crate::engine::Run;

/// The returns that count towards R_t, case by case: returns (counted, not rejected) reaching an order line, opened
/// within A days of the line's ordered_at, with that age in µs as `_age`. What both the detector and its evidence
/// (`evidence::flag_evidence`) read.
pub(super) fn early_returns(p: &Prepared, r: &RiskParams) -> LazyFrame {
    let window_us = r.age_days * 86_400_000_000;
    p.cases
        .clone()
        .filter(col("is_return").and(col(LINE_ROW).is_not_null()))
        .with_column(
            (col("opened_at") - col("line_ordered_at"))
                .dt()
                .total_microseconds(false)
                .alias("_age"),
        )
        .filter(col("_age").gt_eq(lit(0i64)).and(col("_age").lt_eq(lit(window_us))))
}

/// A week's quarter, `2026Q3`: the quarter its Monday (`week_start`, a local date) falls in.
pub(super) fn quarter_of_week(week_start: Expr) -> Expr {
    concat_str(
        [
            week_start.clone().dt().year().cast(DataType::String),
            lit("Q"),
            week_start.dt().quarter().cast(DataType::String),
        ],
        "",
        false,
    )
}

/// The lines that came back within the age window: one row per such line with its merchant, sku, category, week,
/// and returned units (at most the line's quantity). Built from the cases, which already carry their line's facts,
/// so the order lines themselves are never joined.
fn early_returned_lines(p: &Prepared, r: &RiskParams) -> LazyFrame {
    early_returns(p, r)
        .with_column(
            col("responsibility")
                .neq(lit("carrier"))
                .fill_null(lit(true))
                .alias("_not_carrier"),
        )
        .group_by([col(LINE_ROW)])
        .agg([
            // A line counts in R_t when any early return on it is not the carrier's; a line whose every early
            // return is the carrier's (a parcel broken in transit) is left out and counted in r_carrier.
            col("_not_carrier").any(true).alias("_counted"),
            col("quantity").filter(col("_not_carrier")).sum().alias("_early_units"),
            // A case reaches its line through (order_id, sku): its sku is the line's.
            col("sku").first(),
            col("line_merchant_id").first().alias("merchant_id"),
            col("line_category").first().alias("category"),
            col("line_quantity").first(),
            col("line_ordered_at").first().alias("ordered_at"),
        ])
        .with_columns([
            col("_early_units")
                .clip_max(col("line_quantity"))
                .alias("returned_units"),
            period_code(p.zone.day(col("ordered_at")), "week").alias("_week"),
        ])
}

/// One row per week that sold anything: its week_code (`_week`), local Monday (`week_start`), the instant it is
/// judged from, and its label. Made per week, not per (key, week) row: a few dozen zone conversions and labels
/// instead of one per row.
fn week_facts(tz: chrono_tz::Tz, r: &RiskParams, sold: &LazyFrame) -> LazyFrame {
    let local_week = col("_some_instant")
        .dt()
        .convert_time_zone(local_tz(tz))
        .dt()
        .truncate(lit("1w"));
    sold.clone()
        .group_by([col("week_code").alias("_week")])
        .agg([col("ordered_at").min().alias("_some_instant")])
        .select([
            col("_week"),
            local_week.clone().dt().date().alias("week_start"),
            local_week
                .dt()
                .offset_by(lit("1w"))
                .dt()
                .offset_by(lit(format!("{}d", r.age_days)))
                .dt()
                .convert_time_zone(polars::prelude::TimeZone::UTC)
                .alias("judged_from"),
            period_expr(col("_some_instant"), "week", tz).alias("period"),
        ])
}

/// Per (key, week): order lines sold and their units (from the sold groups), lines returned early and their units
/// (from the early weeks, [`EarlyWeeks`]; 0 when none), as `_week` and `week_idx`.
fn key_weeks(sold: &LazyFrame, early: &LazyFrame, key: &str) -> LazyFrame {
    let sold = sold
        .clone()
        .group_by([col(key), col("week_code").alias("_week")])
        .agg([col("n").sum(), col("quantity").sum().alias("units_sold")]);
    let returned = early
        .clone()
        .group_by([col(key), col("week_code").alias("_week")])
        .agg([col("r").sum(), col("r_carrier").sum(), col("units_returned").sum()]);
    sold.join(
        returned,
        [col(key), col("_week")],
        [col(key), col("_week")],
        JoinArgs::new(JoinType::Left),
    )
    .with_columns([
        col("r").fill_null(lit(0i64)),
        col("r_carrier").fill_null(lit(0i64)),
        col("units_returned").fill_null(lit(0i64)),
    ])
    // The week code numbers weeks consecutively: the b weeks before week w are w − b … w − 1.
    .with_column(col("_week").alias("week_idx"))
}

/// Sums `r`, `n` over the `b` weeks before each week: every row contributes to the b weeks that follow it, so a
/// week with no row of its own gets one (a category's baseline is read at every week its entities sold).
fn trailing(agg: LazyFrame, key: &str, b: i64, r_out: &str, n_out: &str) -> Result<LazyFrame> {
    let shifted: Vec<LazyFrame> = (1..=b)
        .map(|k| {
            agg.clone().select([
                col(key),
                (col("week_idx") + lit(k)).alias("week_idx"),
                col("r"),
                col("n"),
            ])
        })
        .collect();
    Ok(concat(shifted, UnionArgs::default())?
        .group_by([col(key), col("week_idx")])
        .agg([col("r").sum().alias(r_out), col("n").sum().alias(n_out)]))
}

/// [`trailing`] at the weeks that have a row only (an entity's baseline is read at its own weeks): a rolling sum
/// over each key's weeks in order, instead of grouping b shifted copies of every (key, week) row.
/// `kid` is the key's rank among the keys ([`key_ids`]). The rows keep their other columns, so the sums need no join
/// back, and come sorted by `_by` = kid × [`KEY_STRIDE`] + week_idx, which orders them as (key, week) does.
fn trailing_at_own_weeks(agg: LazyFrame, kid: &str, b: i64, r_out: &str, n_out: &str) -> LazyFrame {
    let window = RollingOptionsDynamicWindow {
        window_size: Duration::parse(&format!("{b}i")),
        min_periods: 1,
        // [w − b, w): the b weeks before w, not w itself. Keys are KEY_STRIDE apart, so no window reaches
        // another key's weeks.
        closed_window: ClosedWindow::Left,
        fn_params: None,
    };
    agg.with_column(
        (col(kid).cast(DataType::Int64) * lit(KEY_STRIDE) + col("week_idx").cast(DataType::Int64)).alias("_by"),
    )
    .sort(["_by"], SortMultipleOptions::default())
    .with_columns([
        col("r").rolling_sum_by(col("_by"), window.clone()).alias(r_out),
        col("n").rolling_sum_by(col("_by"), window).alias(n_out),
    ])
}

/// A level's keys as dense integers `_kid` numbered in key order (0 = the smallest), beside their text. The
/// evaluation groups, joins and sorts by `_kid` — one hash of each sold group's text instead of one per grouping
/// and join — and the id orders the rows as the key does; the text comes back once, at the end.
fn key_ids(sold: &LazyFrame, key: &str) -> Result<DataFrame> {
    Ok(sold
        .clone()
        .select([col(key)])
        .unique(None, UniqueKeepStrategy::Any)
        .sort([key], SortMultipleOptions::default())
        .with_row_index("_kid", None)
        .run()?)
}

/// One level's entity weeks, in (key, week) order: key, `_by`, `_week`, n, units_sold, r, r_carrier,
/// units_returned, r_b, n_b, entity_category (columns as [`kernels::entity_weeks`] states them). By hand; by polars
/// ([`entity_rows_by_polars`], the same rows) when the kernel declines the inputs.
///
/// [`kernels::entity_weeks`]: super::kernels::entity_weeks
fn entity_rows(sold: &DataFrame, early: &DataFrame, key: &str, b: i64) -> Result<LazyFrame> {
    use super::kernels::entity_weeks::{Inputs, entity_weeks};
    let inputs = Inputs {
        sold,
        early,
        key,
        baseline_weeks: b,
        stride: KEY_STRIDE,
    };
    match entity_weeks(&inputs)? {
        Some(rows) => Ok(rows.lazy()),
        None => entity_rows_by_polars(&sold.clone().lazy(), &early.clone().lazy(), key, b),
    }
}

/// [`entity_rows`] by polars: the keys as dense ids in key order ([`key_ids`]) for the groupings, the join and the
/// baseline's sort, the text joined back at the end.
fn entity_rows_by_polars(sold: &LazyFrame, early: &LazyFrame, key: &str, b: i64) -> Result<LazyFrame> {
    let ids = key_ids(sold, key)?;
    // A null key is a group of its own, as in a grouping.
    let by_id = JoinArgs {
        nulls_equal: true,
        ..JoinArgs::new(JoinType::Inner)
    };
    let coded = |f: &LazyFrame| {
        f.clone()
            .join(ids.clone().lazy(), [col(key)], [col(key)], by_id.clone())
            .drop(cols(["merchant_id", "sku"]))
    };
    let (sold, early) = (coded(sold), coded(early));
    let entity_cat = most_by(sold.clone(), "_kid", "category", "quantity", "entity_category");
    Ok(
        trailing_at_own_weeks(key_weeks(&sold, &early, "_kid"), "_kid", b, "r_b", "n_b")
            .join(entity_cat, [col("_kid")], [col("_kid")], JoinArgs::new(JoinType::Left))
            .join(ids.lazy(), [col("_kid")], [col("_kid")], JoinArgs::new(JoinType::Left))
            .select([
                col(key),
                col("_by"),
                col("_week"),
                col("n"),
                col("units_sold"),
                col("r"),
                col("r_carrier"),
                col("units_returned"),
                col("r_b").fill_null(lit(0i64)),
                col("n_b").fill_null(lit(0i64)),
                col("entity_category"),
            ]),
    )
}

/// Per `key`, the value of `pick` whose rows sum the most `amount` (the smallest such value among equals), as
/// (key, `out`): an entity's category by units sold, an SKU's merchant by lines sold.
fn most_by(rows: LazyFrame, key: &str, pick: &str, amount: &str, out: &str) -> LazyFrame {
    rows.group_by([col(key), col(pick)])
        .agg([col(amount).sum().alias("_amount")])
        .sort(
            [key, "_amount", pick],
            SortMultipleOptions::default().with_order_descending_multi([false, true, false]),
        )
        .group_by([col(key)])
        .agg([col(pick).first().alias(out)])
}

/// Distance between two keys' week numbers in `_by`: more than any span of weeks (19,000 years) plus a baseline.
/// `_by` stays below KEY_STRIDE × 10⁹ (a billion keys), the distance between the two levels in the output order.
const KEY_STRIDE: i64 = 1_000_000;

/// Every evaluated (level, key, week), flagged or not — the evidence behind `risk_flags`.
///
/// `sold`: the order lines summed per (merchant_id, sku, category, week_code), as return_rates leaves them (its
/// cells hold the week for this, so the lines are not grouped by three strings a second time), or
/// [`SoldWeeks::from_lines`]. Every grouping of sold lines below is a sum (or the earliest instant) over these
/// rows, so a group split over two rows counts the same.
pub fn spike_evaluation(p: &Prepared, r: &RiskParams, sold: &SoldWeeks) -> Result<DataFrame> {
    let early = EarlyWeeks::new(p, r)?;
    evaluate(&early, sold, p.merchants.as_ref(), p.zone.tz, p.as_of, r)
}

/// The lines returned early (see [`early_returned_lines`]) summed per (merchant_id, sku, category, week_code of
/// the line): r (lines counted in R_t), r_carrier (lines whose every early return is the carrier's),
/// units_returned. Every level's R_t is a sum of these rows; the distributed path sums the same
/// (`crate::aggregates`).
pub struct EarlyWeeks(pub DataFrame);

impl EarlyWeeks {
    pub fn new(p: &Prepared, r: &RiskParams) -> Result<EarlyWeeks> {
        Ok(EarlyWeeks(
            early_returned_lines(p, r)
                .group_by([
                    col("merchant_id"),
                    col("sku"),
                    col("category"),
                    col("_week").alias("week_code"),
                ])
                .agg([
                    col("_counted").sum().cast(DataType::Int64).alias("r"),
                    col("_counted").not().sum().cast(DataType::Int64).alias("r_carrier"),
                    col("returned_units").sum().alias("units_returned"),
                ])
                // The in-memory engine: the cases are held in memory, and its groupings of them are quicker.
                .run()?,
        ))
    }
}

/// [`spike_evaluation`] from the early weeks and the sold weeks: `merchants` gives a merchant's primary category.
pub fn evaluate(
    early: &EarlyWeeks,
    sold: &SoldWeeks,
    merchants: Option<&DataFrame>,
    tz: chrono_tz::Tz,
    as_of: crate::time::Micros,
    r: &RiskParams,
) -> Result<DataFrame> {
    let (sold_rows, early_rows) = (&sold.0, &early.0);
    let early = early.0.clone().lazy();
    let sold = sold.0.clone().lazy();
    let weeks = week_facts(tz, r, &sold).run()?.lazy();
    let cat_weeks = key_weeks(&sold, &early, "category").select([col("category"), col("week_idx"), col("r"), col("n")]);
    // A few hundred rows, read by both levels: collected once (as a plan, each level's join and each of the b
    // shifted copies would group the sold groups by category again).
    let cat_weeks = cat_weeks.run()?.lazy();
    let cat_base = trailing(cat_weeks, "category", r.baseline_weeks, "r_cb", "n_cb")?
        .run()?
        .lazy();
    let mut parts = Vec::new();
    for (level, key) in [("merchant", "merchant_id"), ("sku", "sku")] {
        let mut rows = entity_rows(sold_rows, early_rows, key, r.baseline_weeks)?;
        if level == "merchant"
            && let Some(m) = merchants
        {
            rows = rows
                .join(
                    m.clone().lazy().select([col("merchant_id"), col("primary_category")]),
                    [col(key)],
                    [col("merchant_id")],
                    JoinArgs::new(JoinType::Left),
                )
                .with_column(
                    col("primary_category")
                        .fill_null(col("entity_category"))
                        .alias("entity_category"),
                )
                .drop(cols(["primary_category"]));
        }
        parts.push(
            rows.join(
                weeks.clone(),
                [col("_week")],
                [col("_week")],
                JoinArgs::new(JoinType::Left),
            )
            .join(
                cat_base.clone(),
                [col("entity_category"), col("_week")],
                [col("category"), col("week_idx")],
                JoinArgs::new(JoinType::Left),
            )
            .select([
                // Output order (level, key, week) as one integer: levels apart, then `_by`.
                (lit(if level == "merchant" { 0i64 } else { 1i64 }) * lit(KEY_STRIDE * 1_000_000_000) + col("_by"))
                    .alias("_sort"),
                lit(level).alias("level"),
                col(key).alias("key"),
                col("entity_category").alias("category"),
                col("_week").cast(DataType::Int64).alias("week_idx"),
                col("period"),
                col("week_start"),
                col("judged_from"),
                col("n").alias("n_t"),
                col("r").alias("r_t"),
                col("r_carrier"),
                col("units_sold"),
                col("units_returned"),
                col("r_b"),
                col("n_b"),
                col("r_cb").fill_null(lit(0i64)),
                col("n_cb").fill_null(lit(0i64)),
            ]),
        );
    }
    let k = lit(r.prior_strength);
    let f = |c: &str| col(c).cast(DataType::Float64);
    let p0 = ((f("r_b") + k.clone() * col("p_c")) / (f("n_b") + k)).clip_min(lit(r.p0_floor));
    // Burn-in: a week is judged only when its whole baseline window lies inside the data.
    let first_week = weeks
        .clone()
        .select([col("_week").min().cast(DataType::Int64)])
        .run()?
        .column("_week")?
        .i64()?
        .get(0);
    let burn_in = lit(first_week.unwrap_or(i64::MAX / 2) + r.burn_in());
    let out = concat(parts, UnionArgs::default())?
        // Judged only once mature, past the burn-in, and only where the category sold something in the baseline
        // window.
        .filter(
            as_of_lit(as_of)
                .gt_eq(col("judged_from"))
                .and(col("week_idx").gt_eq(burn_in))
                .and(col("n_cb").gt(lit(0i64))),
        )
        .with_columns([
            (f("r_cb") / f("n_cb")).alias("p_c"),
            (f("r_t") / f("n_t")).alias("rate"),
        ])
        .with_column(p0.alias("p0"))
        .with_column(
            ((f("r_t") - f("n_t") * col("p0")) / (f("n_t") * col("p0") * (lit(1.0) - col("p0"))).sqrt()).alias("z"),
        )
        .with_column((col("rate") / col("p0")).alias("lift"))
        .select([
            col("level"),
            col("key"),
            col("category"),
            col("period"),
            col("week_start"),
            col("week_idx"),
            col("n_t"),
            col("r_t"),
            col("r_carrier"),
            col("rate"),
            col("units_sold"),
            col("units_returned"),
            col("r_b"),
            col("n_b"),
            col("p_c"),
            col("p0"),
            col("z"),
            col("lift"),
            col("_sort"),
        ])
        .sort(["_sort"], SortMultipleOptions::default())
        .drop(cols(["_sort"]))
        // Every input is an in-memory frame of weekly sums: the in-memory engine, quicker on them than streaming.
        .run()?;
    super::calibration::calibrate(out, r)
}

/// The merchant of every entity with a flagged week: (level, key, merchant_id). A merchant's is its own key; an
/// SKU's is the merchant that sold most of its lines (the smallest id among equals; an SKU id belongs to one shop
/// in practice), looked up in the weekly sums for the flagged SKUs only — a few hundred of a million evaluation
/// rows need it, so the evaluation itself does not carry it.
pub fn flag_owners(eval: &DataFrame, sold: &SoldWeeks) -> Result<DataFrame> {
    let flagged = eval
        .clone()
        .lazy()
        .filter(col("flagged"))
        .select([col("level"), col("key")])
        .unique(None, UniqueKeepStrategy::Any)
        .run()?;
    let merchants = flagged
        .clone()
        .lazy()
        .filter(col("level").eq(lit("merchant")))
        .with_column(col("key").alias("merchant_id"));
    let skus = flagged.lazy().filter(col("level").eq(lit("sku")));
    let flagged_sold = sold.0.clone().lazy().join(
        skus.clone().select([col("key").alias("sku")]),
        [col("sku")],
        [col("sku")],
        crate::engine::small_right(JoinType::Semi),
    );
    let sku_merchants = most_by(flagged_sold, "sku", "merchant_id", "n", "merchant_id");
    let skus = skus.join(sku_merchants, [col("key")], [col("sku")], JoinArgs::new(JoinType::Left));
    Ok(concat([merchants, skus], UnionArgs::default())?
        .select([col("level"), col("key"), col("merchant_id")])
        .run()?)
}

/// The flagged rows of the evaluation with their merchant ([`flag_owners`]), each with a sentence that states its
/// evidence.
pub fn risk_flags(eval: &DataFrame, owners: &DataFrame, r: &RiskParams) -> Result<DataFrame> {
    let mut flags = eval
        .clone()
        .lazy()
        .filter(col("flagged"))
        .drop(cols(["flagged"]))
        .join(
            owners.clone().lazy(),
            [col("level"), col("key")],
            [col("level"), col("key")],
            super::prepare::in_order(JoinArgs::new(JoinType::Left)),
        )
        .run()?;
    let at = flags.get_column_index("key").expect("flags have key") + 1;
    let merchant = flags.drop_in_place("merchant_id")?;
    flags.insert_column(at, merchant)?;
    let s = |c: &str| strs_or_empty(&flags, c);
    let g = |c: &str| f64s_or_nan(&flags, c);
    let (level, key, cat, period) = (s("level")?, s("key")?, s("category")?, s("period")?);
    let (n_t, r_t, rate, r_b, n_b, p_c, p0, z, lift) = (
        g("n_t")?,
        g("r_t")?,
        g("rate")?,
        g("r_b")?,
        g("n_b")?,
        g("p_c")?,
        g("p0")?,
        g("z")?,
        g("lift")?,
    );
    let r_carrier = g("r_carrier")?;
    let (phi, p_value, q_value) = (g("phi")?, g("p_value")?, g("q_value")?);
    use super::stats::{luck_words, sci};
    let reasons: Vec<String> = (0..flags.height())
        .map(|i| {
            let carrier = match r_carrier[i] {
                c if c > 0.0 => format!(
                    "; {c} more line{} returned for the carrier's reasons left out",
                    if c == 1.0 { "" } else { "s" }
                ),
                _ => String::new(),
            };
            format!(
                "{} {}: {} of {} order lines bought in {} were returned within {} days ({:.1}%), {:.1}× the expected {:.1}% \
                 (own previous {} weeks {}/{}, category {} {:.1}%, prior weight {}); z = {:.1}, φ = {:.2}, p = {}, \
                 q = {}: {}{carrier}",
                level[i],
                key[i],
                r_t[i],
                n_t[i],
                period[i],
                r.age_days,
                rate[i] * 100.0,
                lift[i],
                p0[i] * 100.0,
                r.baseline_weeks,
                r_b[i],
                n_b[i],
                cat[i],
                p_c[i] * 100.0,
                r.prior_strength,
                z[i],
                phi[i],
                sci(p_value[i]),
                sci(q_value[i]),
                luck_words(q_value[i])
            )
        })
        .collect();
    flags.with_column(
        StringChunked::from_iter_values("reason".into(), reasons.iter().map(String::as_str)).into_column(),
    )?;
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Weeks 1, 2, 5, 12, 13 of entity a (id 0) and week 3 of b (id 1); baseline of 8 weeks = the weeks w − 8 … w − 1 that have a
    /// row. Worked by hand: a@2 ← a@1; a@5 ← a@1, a@2; a@12 (weeks 4–11) ← a@5; a@13 (5–12) ← a@5, a@12; b@3 ← none.
    #[test]
    fn an_entity_baseline_sums_its_rows_in_the_eight_weeks_before_each_of_its_weeks() {
        let agg = df![
            "_kid" => [0u32, 1, 0, 0, 0, 0],
            "week_idx" => [12i32, 3, 1, 5, 2, 13],
            "r" => [4i64, 9, 1, 3, 2, 5],
            "n" => [40i64, 90, 10, 30, 20, 50],
        ]
        .unwrap();
        let out = trailing_at_own_weeks(agg.lazy(), "_kid", 8, "r_b", "n_b")
            .sort(["_kid", "week_idx"], SortMultipleOptions::default())
            .collect()
            .unwrap();
        let get = |c: &str| -> Vec<Option<i64>> { out.column(c).unwrap().i64().unwrap().iter().collect() };
        let weeks: Vec<Option<i32>> = out.column("week_idx").unwrap().i32().unwrap().iter().collect();
        assert_eq!(weeks, [1, 2, 5, 12, 13, 3].map(Some).to_vec());
        assert_eq!(get("r_b"), vec![None, Some(1), Some(3), Some(3), Some(7), None]);
        assert_eq!(get("n_b"), vec![None, Some(10), Some(30), Some(30), Some(70), None]);
    }

    /// Weekly sums as return_rates leaves them: some (key, week) groups in two rows, SKUs longer than the 12 bytes a
    /// string view holds inline, an SKU sold in two categories with equal units, early returns in weeks that sold
    /// nothing. Made by a fixed recurrence, so the test is the same every time.
    fn weekly_sums() -> (DataFrame, DataFrame) {
        let mut x = 7u64;
        let mut next = |m: u64| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 33) % m
        };
        let cats = ["bags", "shoes", "toys"];
        let (mut m, mut sku, mut cat, mut week, mut n, mut q) = (vec![], vec![], vec![], vec![], vec![], vec![]);
        for _ in 0..400 {
            let s = next(40);
            m.push(format!("M{}", s % 7));
            sku.push(if s % 5 == 0 {
                format!("SKU-LONGER-THAN-12-BYTES-{s}")
            } else {
                format!("S{s}")
            });
            cat.push(cats[((s + next(2) * (s % 3 == 0) as u64) % 3) as usize].to_string());
            week.push(100 + next(30) as i32);
            n.push(1 + next(50) as i64);
            q.push(1 + next(3) as i64);
        }
        let sold = df!["merchant_id" => &m, "sku" => &sku, "category" => &cat, "week_code" => &week,
            "n" => &n, "quantity" => &q]
        .unwrap();
        let (mut r, mut rc, mut u) = (vec![], vec![], vec![]);
        for _ in 0..400 {
            r.push(next(5) as i64);
            rc.push(next(2) as i64);
            u.push(next(9) as i64);
        }
        let mut early = sold.select(["merchant_id", "sku", "category", "week_code"]).unwrap();
        let shifted: Vec<i32> = week.iter().map(|w| w + (next(4) == 0) as i32 * 40).collect();
        early.with_column(Column::new("week_code".into(), shifted)).unwrap();
        for (name, v) in [("r", r), ("r_carrier", rc), ("units_returned", u)] {
            early.with_column(Column::new(name.into(), v)).unwrap();
        }
        (sold, early)
    }

    #[test]
    fn entity_weeks_by_hand_equal_entity_weeks_by_polars() {
        let (sold, early) = weekly_sums();
        for key in ["merchant_id", "sku"] {
            let inputs = super::super::kernels::entity_weeks::Inputs {
                sold: &sold,
                early: &early,
                key,
                baseline_weeks: 8,
                stride: KEY_STRIDE,
            };
            let hand = super::super::kernels::entity_weeks::entity_weeks(&inputs)
                .unwrap()
                .expect("these sums suit the kernel");
            let by_polars = entity_rows_by_polars(&sold.clone().lazy(), &early.clone().lazy(), key, 8)
                .unwrap()
                .sort(["_by"], SortMultipleOptions::default())
                .collect()
                .unwrap();
            assert!(hand.height() > 100, "{key}: {} rows", hand.height());
            assert!(hand.equals(&by_polars), "{key}\nhand:\n{hand}\npolars:\n{by_polars}");
        }
    }
}
