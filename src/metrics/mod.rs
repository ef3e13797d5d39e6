//! The metric families of SPEC §4, one module each; each module's `//!` states its grain and columns.
//!
//! `Prepared` is computed once per run and shared: order lines with their periods and GMV (a plan over the
//! orders, never copied), the after-sales facts of the few lines that have any, cases joined to their order line
//! with `counted` / `is_return` / `responsibility`, refunds attributed to an order line. Every metric starts from
//! these frames, so a join is done once, not once per table.

pub mod carriers;
mod cell_groups;
pub(crate) mod line_lookup;
pub mod merchants;
pub mod reasons;
pub mod return_rates;
pub mod sla;
pub(crate) mod sorted_ids;
pub mod spikes;

use anyhow::Result;
use chrono_tz::Tz;
use polars::prelude::*;

use crate::config::Config;
use crate::engine::Run;
use crate::time::{self, Micros};
use crate::workdir::WorkDir;

/// The z of a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Key used for the platform-level rows.
pub const ALL: &str = "all";

pub struct Prepared {
    /// One row per order line, as a plan over the loaded orders (nothing is copied): order_id, merchant_id, sku,
    /// category, quantity, ordered_at, gmv = unit_price × quantity (Decimal), and month_code, quarter_code,
    /// week_code (the periods of ordered_at as [`period_code`] numbers). Filter on ordered_at (see
    /// [`Prepared::quarter_lines`]) rather than on a code alone, so the Parquet reader can skip row groups.
    pub lines: LazyFrame,
    /// One row per order line with any after-sales fact (about one line in ten; a working copy when the run has
    /// one): order_id, merchant_id, sku, category, ordered_at, month_code, quarter_code, week_code as in `lines`,
    /// and returned_units (units of return cases on the line, capped at the units of its sku in the whole order),
    /// counted_cases, refunded
    /// (completed refunds attributed to the line, Decimal). Every other line has none of them: a metric sums
    /// `lines` for what was sold and these rows for what came back, and joins the two per group — 10 M lines are
    /// never joined to their facts.
    pub line_facts: LazyFrame,
    /// One row per case, in the export's order: every case column, plus counted, is_return, responsibility,
    /// line_no (null when the case reaches no order line), line_category, line_merchant_id, line_ordered_at,
    /// line_quantity, and [`LINE_ROW`] (the line's number within this preparation: equal on two cases exactly
    /// when they reach the same line). Held in memory.
    pub cases: LazyFrame,
    /// The shipments table without lineage columns (a scan of its working copy when there is one).
    pub shipments: LazyFrame,
    /// One row per refund, in the export's order, plus [`LINE_ROW`]: the order line it is attributed to, as in
    /// `cases`. Held in memory.
    pub refunds: LazyFrame,
    /// The optional merchants table (merchant_id, merchant_name, primary_category).
    pub merchants: Option<DataFrame>,
    /// The earliest and latest ordered_at when known (`Loaded::ordered_span`); None: found by reading the lines.
    pub ordered_span: Option<(Micros, Micros)>,
    /// The configured zone (`zone.tz`), with a fast local date when its offset is fixed over the run's span.
    pub zone: Zone,
    pub as_of: Micros,
    pub maturity_days: i64,
}

pub use crate::time::polars_tz as local_tz;

/// `(low, high)` of the Wilson score interval for `x` successes in `n` trials; null where n = 0. Unlike the normal
/// approximation it stays inside [0, 1] and gives a real interval at 0/n and n/n.
pub fn wilson(x: Expr, n: Expr) -> (Expr, Expr) {
    let n = n.cast(DataType::Float64);
    let x = x.cast(DataType::Float64);
    let z2 = Z95 * Z95;
    let p = x.clone() / n.clone();
    let denom = lit(1.0) + lit(z2) / n.clone();
    let center = (p.clone() + lit(z2) / (lit(2.0) * n.clone())) / denom.clone();
    let half = lit(Z95)
        * (p.clone() * (lit(1.0) - p) / n.clone() + lit(z2) / (lit(4.0) * n.clone() * n.clone())).sqrt()
        / denom;
    let ok = n.clone().gt(lit(0.0));
    // At 0 of n the lower bound is 0 and at n of n the upper bound is 1 exactly; the formula leaves a rounding
    // residue there (5.6e-17 for 0 of 3).
    (
        when(ok.clone())
            .then(
                when(x.clone().eq(lit(0.0)))
                    .then(lit(0.0))
                    .otherwise((center.clone() - half.clone()).clip_min(lit(0.0))),
            )
            .otherwise(lit(NULL).cast(DataType::Float64)),
        when(ok)
            .then(
                when(x.eq(n))
                    .then(lit(1.0))
                    .otherwise((center + half).clip_max(lit(1.0))),
            )
            .otherwise(lit(NULL).cast(DataType::Float64)),
    )
}

/// `x / n` as a float, null when n = 0.
pub fn ratio(x: Expr, n: Expr) -> Expr {
    let n = n.cast(DataType::Float64);
    when(n.clone().gt(lit(0.0)))
        .then(x.cast(DataType::Float64) / n)
        .otherwise(lit(NULL).cast(DataType::Float64))
}

/// Start and end (exclusive) of the month or quarter of a timestamp, in the configured zone, as UTC instants.
pub fn period_bounds(ts: Expr, kind: &str, tz: Tz) -> (Expr, Expr) {
    let every = if kind == "month" { "1mo" } else { "1q" };
    let start = ts.dt().convert_time_zone(local_tz(tz)).dt().truncate(lit(every));
    let end = start.clone().dt().offset_by(lit(every));
    (
        start.dt().convert_time_zone(polars::prelude::TimeZone::UTC),
        end.dt().convert_time_zone(polars::prelude::TimeZone::UTC),
    )
}

/// The order line columns `Prepared.lines` shares with the loaded orders.
const LINE_COLUMNS: [&str; 8] = [
    "order_id",
    "line_no",
    "merchant_id",
    "sku",
    "category",
    "quantity",
    "unit_price",
    "ordered_at",
];

/// The row of a case's or refund's order line among the lines preparation looks up (see [`Prepared::cases`]):
/// the per-line facts are gathered by this number, not by (order_id, line_no): grouping and joining on two string
/// columns costs far more than indexing by a row number.
pub const LINE_ROW: &str = "_line_row";

/// The calendar date of an instant in the configured zone.
pub fn local_day(ts: Expr, tz: Tz) -> Expr {
    ts.dt().convert_time_zone(local_tz(tz)).dt().date()
}

/// The configured zone for a run, with its offset from UTC when that offset is the same at every instant the run
/// can meet: then an instant's local date is integer arithmetic instead of a zone lookup per row (Asia/Shanghai
/// has kept +08:00 since 1991; 9.7 M order lines, 7.7 M shipment legs and 4 M SLA clocks each need a date).
#[derive(Debug, Clone, Copy)]
pub struct Zone {
    pub tz: Tz,
    /// µs to add to a UTC instant to get local wall time, when constant over the run's span.
    fixed_offset: Option<i64>,
}

/// How far past the inputs' first and last timestamp a date may be needed (SLA deadlines, a hand-set as_of).
const ZONE_MARGIN_DAYS: i64 = 400;

impl Zone {
    /// `span`: the earliest and latest timestamp in the inputs (and as_of); None keeps the per-row lookup.
    pub fn new(tz: Tz, span: Option<(Micros, Micros)>) -> Zone {
        use chrono::{Offset, TimeZone};
        const HOUR: i64 = 3_600_000_000;
        let fixed_offset = span.and_then(|(lo, hi)| {
            let margin = ZONE_MARGIN_DAYS * 24 * HOUR;
            let offset_at = |t: i64| {
                chrono::DateTime::from_timestamp_micros(t)
                    .map(|d| tz.offset_from_utc_datetime(&d.naive_utc()).fix().local_minus_utc() as i64 * 1_000_000)
            };
            let first = offset_at(lo - margin)?;
            // Every hour: no zone has changed its offset for less than an hour and back.
            let same = (lo - margin..=hi + margin)
                .step_by(HOUR as usize)
                .chain([hi + margin])
                .all(|t| offset_at(t) == Some(first));
            same.then_some(first)
        });
        Zone { tz, fixed_offset }
    }

    /// The calendar date of an instant in this zone.
    pub fn day(&self, ts: Expr) -> Expr {
        match self.fixed_offset {
            Some(offset) => (ts.cast(DataType::Int64) + lit(offset))
                .floor_div(lit(86_400_000_000i64))
                .cast(DataType::Int32)
                .cast(DataType::Date),
            None => local_day(ts, self.tz),
        }
    }

    /// Whether dates are computed with a fixed offset (for tests).
    pub fn is_fixed(&self) -> bool {
        self.fixed_offset.is_some()
    }
}

/// A number per month, quarter or ISO week of a local date, consecutive within each kind: grouping by it is
/// grouping by the period, without formatting a label on every row (labels are made per group, from an instant
/// of the group, with [`period_expr`]).
pub fn period_code(day: Expr, kind: &str) -> Expr {
    match kind {
        "month" => month_or_quarter_code(day, 12),
        "quarter" => month_or_quarter_code(day, 4),
        // Days since the epoch; 1970-01-05 (day 4) was a Monday, so Monday-to-Sunday weeks share (days − 4) ÷ 7.
        _ => (day.cast(DataType::Int32) - lit(4i32)).floor_div(lit(7i32)),
    }
}

/// Year and month (1–12) of the day `days` after 1970-01-01, proleptic Gregorian like polars' dates (H. Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i32) -> (i32, i32) {
    // Days since 0000-03-01: years then start in March, so the leap day is the last day of a year.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // day of the 400-year era, 0..=146096
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // year of the era, 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153; // month counted from March, 0..=11
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as i32, month as i32)
}

/// [`period_code`] of a month or quarter, computed natively per row: `dt().year()` and `dt().month()` convert
/// every row to a calendar date through chrono and were 3–4% of a whole run in the profile (every order line, SLA
/// clock and shipment leg gets a month and a quarter); the same arithmetic as an expression tree was slower still.
fn month_or_quarter_code(day: Expr, per_year: i32) -> Expr {
    day.cast(DataType::Int32).map(
        move |c| {
            let codes: Int32Chunked = c.i32()?.apply_values(|d| {
                let (year, month) = civil_from_days(d);
                month_or_quarter_number(year, month, per_year)
            });
            Ok(codes.into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::Int32)),
    )
}

/// The [`period_code`] number of a month (`per_year` 12) or its quarter (4), from its year and month (1–12).
pub(crate) fn month_or_quarter_number(year: i32, month: i32, per_year: i32) -> i32 {
    if per_year == 12 {
        year * 12 + month
    } else {
        year * 4 + (month + 2) / 3
    }
}

/// The quarter's [`period_code`] number of a month's: integer arithmetic on the column, where the quarter from the
/// day would convert every row's day to a calendar date a second time.
pub fn quarter_of_month(month_code: Expr) -> Expr {
    let m = month_code - lit(1i32);
    m.clone().floor_div(lit(12i32)) * lit(4i32) + (m % lit(12i32)).floor_div(lit(3i32)) + lit(1i32)
}

/// The label of a [`period_code`] number, as [`period_expr`] writes it: `2026-03`, `2026Q1`, `2026-W09`.
pub fn code_label(code: Expr, kind: &str) -> Expr {
    let per_year = if kind == "month" { 12 } else { 4 };
    let year = (code.clone() - lit(1i32)).floor_div(lit(per_year));
    let within = code.clone() - year.clone() * lit(per_year);
    match kind {
        "month" => concat_str(
            [
                year.cast(DataType::String),
                when(within.clone().lt(lit(10i32))).then(lit("-0")).otherwise(lit("-")),
                within.cast(DataType::String),
            ],
            "",
            false,
        ),
        "quarter" => concat_str(
            [year.cast(DataType::String), lit("Q"), within.cast(DataType::String)],
            "",
            false,
        ),
        // The week's Monday, formatted: only the ISO calendar knows which year a late-December week belongs to.
        _ => (code * lit(7i32) + lit(4i32))
            .cast(DataType::Date)
            .dt()
            .strftime("%G-W%V"),
    }
}

/// `lf` grouped by the period of the instant `ts` (a column named `alias`, labelled as [`period_expr`] does) and
/// by `keys`. The rows are grouped on the period's number and only the groups are labelled: formatting a label on
/// each of 4 M SLA clocks or 8 M shipment legs cost more than the grouping.
pub fn group_by_period(
    lf: LazyFrame,
    ts: Expr,
    kind: &str,
    zone: Zone,
    alias: &str,
    keys: Vec<Expr>,
    aggs: Vec<Expr>,
) -> LazyFrame {
    group_by_code(lf, period_code(zone.day(ts), kind), kind, alias, keys, aggs)
}

/// [`group_by_period`] for rows that carry their period's [`period_code`] already (`code`).
pub fn group_by_code(
    lf: LazyFrame,
    code: Expr,
    kind: &str,
    alias: &str,
    keys: Vec<Expr>,
    aggs: Vec<Expr>,
) -> LazyFrame {
    const CODE: &str = "_period_code";
    let by: Vec<Expr> = std::iter::once(code.alias(CODE)).chain(keys).collect();
    lf.group_by(by)
        .agg(aggs)
        .with_column(code_label(col(CODE), kind).alias(alias))
        .drop(cols([CODE]))
}

pub fn period_expr(ts: Expr, kind: &str, tz: Tz) -> Expr {
    match kind {
        "month" => time::month_expr(ts, tz),
        "quarter" => time::quarter_expr(ts, tz),
        _ => time::iso_week_expr(ts, tz),
    }
}

pub fn as_of_lit(as_of: Micros) -> Expr {
    lit(as_of).cast(time::ts_dtype())
}

fn responsibility_frame(config: &Config) -> DataFrame {
    DataFrame::new_infer_height(vec![
        StringChunked::from_iter_values("reason_code".into(), config.responsibility.keys().map(String::as_str))
            .into_column(),
        StringChunked::from_iter_values(
            "responsibility".into(),
            config.responsibility.values().map(String::as_str),
        )
        .into_column(),
    ])
    .expect("equal lengths")
}

/// A join that keeps the left side's row order: the prepared cases and refunds keep the export's, so the SLA
/// clocks (read from them rule by rule) come out in record order when the export is in id order and need no sort.
pub(crate) fn in_order(mut args: JoinArgs) -> JoinArgs {
    args.maintain_order = MaintainOrderJoin::Left;
    args
}

/// `right`'s columns beside `left`'s, row for row — both are read from the same table in its order. Strict: a
/// difference in height is an error, never rows padded with nulls.
fn beside(left: LazyFrame, right: LazyFrame) -> PolarsResult<LazyFrame> {
    concat_lf_horizontal(
        [left, right],
        HConcatOptions {
            strict: true,
            ..Default::default()
        },
    )
}

/// The prepared cases or refunds, collected and held for the run: every family reads them (the per-line facts,
/// reasons, the spike detector, SLA clocks, merchant facts), and a working copy would be decoded again at each of
/// those reads. They are about a tenth of the order lines' count, small beside the run's peak.
fn in_memory(lf: LazyFrame) -> Result<LazyFrame> {
    Ok(lf.run_streaming()?.lazy())
}

/// unit_price × quantity in the money type, computed on the integer cents: polars' Decimal × integer product
/// rescales every row through a 128-bit division, which is most of the cost of reading the lines' GMV.
/// unit_price is a Decimal of at most 18 digits (input/fast.rs) and quantity an Int64, so the product of their
/// integers cannot overflow an i128 (< 10¹⁸ × 2⁶³ < 2¹²⁷); the result is a Decimal(38, unit_price's scale), as
/// polars' product is.
fn line_value(unit_price: Expr, quantity: Expr) -> Expr {
    unit_price.map_many(
        |c: &mut [Column]| {
            let price = c[0].decimal()?;
            let scale = price.scale();
            let quantity = c[1].cast(&DataType::Int64)?;
            let quantity = quantity.i64()?;
            let cents: Int128Chunked = price
                .physical()
                .iter()
                .zip(quantity.iter())
                .map(|(p, q)| Some(p? * i128::from(q?)))
                .collect();
            Ok(cents
                .with_name(c[0].name().clone())
                .into_decimal_unchecked(38, scale)
                .into_column())
        },
        &[quantity],
        |_, f| match f[0].dtype() {
            DataType::Decimal(_, scale) => Ok(Field::new(f[0].name().clone(), DataType::Decimal(38, *scale))),
            other => polars_bail!(ComputeError: "unit_price is {other}, expected a Decimal"),
        },
    )
}

impl Prepared {
    /// `orders` … `refunds` are the loaded tables with lineage columns; the prepared cases and refunds are held in
    /// memory; with `work`, the line facts are written to a working copy there (on the streaming engine) and
    /// scanned, else held in memory too.
    /// `span`: the inputs' earliest and latest timestamps (`Loaded::time_span`), for [`Zone`].
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        orders: LazyFrame,
        cases: LazyFrame,
        shipments: LazyFrame,
        refunds: LazyFrame,
        config: &Config,
        as_of: Micros,
        span: Option<(Micros, Micros)>,
        work: Option<&WorkDir>,
    ) -> Result<Prepared> {
        let tz = config.timezone;
        let zone = Zone::new(tz, span.map(|(lo, hi)| (lo.min(as_of), hi.max(as_of))));
        let base_lines = orders.clone().select(LINE_COLUMNS.map(col));
        // Only orders with a case or a refund need their lines looked up (about one line in six): the group-bys and
        // joins on (order_id, …) below run over those lines, not over every line. They are kept by walking the sorted ids of those orders
        // beside the lines as they are read ([`sorted_ids`]), not by a semi join.
        let case_keys = cases.clone().select([col("order_id"), col("sku")]).run()?;
        let refund_keys = refunds.clone().select([col("case_id"), col("order_id")]).run()?;
        let strings = |df: &DataFrame, name: &str| -> Result<StringChunked> { Ok(df.column(name)?.str()?.clone()) };
        let ids = std::sync::Arc::new(sorted_ids::SortedIds::new(&[
            &strings(&case_keys, "order_id")?,
            &strings(&refund_keys, "order_id")?,
        ]));
        let touched_lines = base_lines
            .clone()
            .filter(sorted_ids::is_in_sorted(col("order_id"), ids.clone()))
            // Streaming: the in-memory engine would read every line's eight columns before the filter keeps a tenth.
            .run_streaming()?;
        crate::stages::debug_mark("prepare: touched lines");
        // Each case's line (the lowest line_no of its order_id and sku) and each refund's order's first line, looked
        // up by hand in the touched lines grouped by order ([`line_lookup`]), then put beside the cases and refunds
        // by gathering the lines' columns: a join of the cases themselves gathers every one of their 22 columns.
        let lookup = line_lookup::TouchedLines::new(touched_lines, ids)?;
        let case_rows = lookup
            .case_lines(&strings(&case_keys, "order_id")?, &strings(&case_keys, "sku")?)?
            .with_name(LINE_ROW.into());
        let first_rows = lookup
            .first_lines(&strings(&refund_keys, "order_id")?)
            .with_name("_first_line_row".into());
        let mut case_lines = lookup
            .lines
            .select(["line_no", "category", "merchant_id", "ordered_at", "quantity"])?
            .take(&case_rows)?;
        case_lines.set_column_names(&[
            "line_no",
            "line_category",
            "line_merchant_id",
            "line_ordered_at",
            "line_quantity",
        ])?;
        case_lines.with_column(case_rows.into_column())?;
        let sku_units = lookup.sku_units_in_order()?;
        let mut touched_lines = lookup.lines.with_row_index(LINE_ROW.into(), None)?;
        touched_lines.with_column(sku_units.into_column())?;
        drop(case_keys);
        // Cases with their line, held in memory (see `in_memory`).
        let cases_p = cases
            .drop(cols([
                crate::input::lineage::SOURCE_IDX,
                crate::input::lineage::ROW_NUMBER,
            ]))
            .with_columns([col("status").neq(lit("cancelled")).alias("counted")])
            .with_column(
                (col("counted")
                    .and(
                        col("case_type")
                            .eq(lit("return"))
                            .or(col("case_type").eq(lit("exchange"))),
                    )
                    .and(col("decision").neq(lit("rejected")).fill_null(lit(true))))
                .alias("is_return"),
            )
            .join(
                responsibility_frame(config).lazy(),
                [col("reason_code")],
                [col("reason_code")],
                in_order(crate::engine::small_right(JoinType::Left)),
            );
        let cases_p = beside(cases_p, case_lines.lazy())?;
        let cases_p = in_memory(cases_p)?;
        crate::stages::debug_mark("prepare: cases");

        // Refunds: a refund in a case belongs to the case's line; one outside a case (or whose case reaches no line)
        // to the first line of its order.
        // Narrow again: the refunds' keys find the line, which is put beside the refunds.
        let mut refund_keys = refund_keys;
        refund_keys.with_column(first_rows.into_column())?;
        let refund_lines = refund_keys
            .lazy()
            .select([col("case_id"), col("_first_line_row")])
            .join(
                cases_p
                    .clone()
                    .select([col("case_id"), col(LINE_ROW).alias("_case_line_row")]),
                [col("case_id")],
                [col("case_id")],
                in_order(crate::engine::small_right(JoinType::Left)),
            )
            .select([coalesce(&[col("_case_line_row"), col("_first_line_row")]).alias(LINE_ROW)]);
        let refunds_p = beside(
            refunds.drop(cols([
                crate::input::lineage::SOURCE_IDX,
                crate::input::lineage::ROW_NUMBER,
            ])),
            refund_lines,
        )?;
        let refunds_p = in_memory(refunds_p)?;
        crate::stages::debug_mark("prepare: refunds");

        // Each line's after-sales facts, summed by hand into arrays indexed by the line's row (LINE_ROW numbers the
        // touched lines 0, 1, …): a group_by of the cases and refunds by LINE_ROW and a join of the touched lines
        // with it would hash every case's and refund's line again. The lines with any fact, in the touched lines' order (by
        // order, as return_rates wants them), are the line facts.
        let facts = PerLine::new(
            touched_lines.height(),
            &cases_p.clone().collect()?,
            &refunds_p.clone().collect()?,
        )?;
        let touched_lines = facts.beside(touched_lines)?;
        crate::stages::debug_mark("prepare: per-line facts");
        let with_periods = |lf: LazyFrame| {
            lf.with_column(zone.day(col("ordered_at")).alias("_day"))
                .with_columns([
                    period_code(col("_day"), "month").alias("month_code"),
                    period_code(col("_day"), "week").alias("week_code"),
                ])
                .with_column(quarter_of_month(col("month_code")).alias("quarter_code"))
        };
        let line_facts = with_periods(touched_lines.lazy()).select([
            col("order_id"),
            col("merchant_id"),
            col("sku"),
            col("category"),
            col("ordered_at"),
            col("month_code"),
            col("quarter_code"),
            col("week_code"),
            // Returns of an sku reach the order's lowest line of it, and cannot take back more units than the
            // whole order holds of that sku (over all its lines, SPEC §4.1); a case asking for more is a warning.
            col("return_units").clip_max(col("sku_units")).alias("returned_units"),
            col("counted_cases"),
            col("refunded"),
        ]);
        let line_facts = crate::workdir::materialize(line_facts, work, "line_facts")?;
        crate::stages::debug_mark("prepare: line facts");
        let lines = with_periods(orders.select(LINE_COLUMNS.map(col))).select([
            col("order_id"),
            col("merchant_id"),
            col("sku"),
            col("category"),
            col("quantity"),
            col("ordered_at"),
            line_value(col("unit_price"), col("quantity")).alias("gmv"),
            col("month_code"),
            col("quarter_code"),
            col("week_code"),
        ]);
        let shipments = shipments.drop(cols([
            crate::input::lineage::SOURCE_IDX,
            crate::input::lineage::ROW_NUMBER,
        ]));
        Ok(Prepared {
            lines,
            line_facts,
            cases: cases_p,
            shipments,
            refunds: refunds_p,
            merchants: None,
            ordered_span: None,
            zone,
            as_of,
            maturity_days: config.maturity_days,
        })
    }
}

impl Prepared {
    /// The order lines of one quarter (a [`period_code`] number): filtered on ordered_at two days beyond the
    /// quarter's local bounds, which the Parquet reader can use to skip row groups, then on the code exactly.
    pub fn quarter_lines(&self, quarter: i32) -> LazyFrame {
        use chrono::TimeZone;
        let first_day = |code: i32| {
            let year = (code - 1).div_euclid(4);
            let q = code - year * 4;
            chrono::NaiveDate::from_ymd_opt(year, (3 * (q - 1) + 1) as u32, 1)
        };
        let instant = |d: Option<chrono::NaiveDate>| {
            d.and_then(|d| d.and_hms_opt(12, 0, 0))
                .and_then(|t| self.zone.tz.from_local_datetime(&t).earliest())
                .map(|t| t.timestamp_micros())
        };
        const DAY: i64 = 86_400_000_000;
        let at = |t: Micros| lit(t).cast(time::ts_dtype());
        let exact = col("quarter_code").eq(lit(quarter));
        match (instant(first_day(quarter)), instant(first_day(quarter + 1))) {
            // Noon of the first days, widened by two days: no zone is 36 hours from UTC.
            (Some(start), Some(end)) => self
                .lines
                .clone()
                .filter(
                    col("ordered_at")
                        .gt_eq(at(start - 2 * DAY))
                        .and(col("ordered_at").lt(at(end + 2 * DAY))),
                )
                .filter(exact),
            _ => self.lines.clone().filter(exact),
        }
    }
}

/// The after-sales facts of each touched line (by LINE_ROW): units of its return cases (counted return or
/// exchange cases, not rejected), its counted cases, and its completed refunds' amounts (Decimal(38, 2)).
struct PerLine {
    return_units: Vec<i64>,
    counted_cases: Vec<u32>,
    /// In cents (hundredths), the money type's scale.
    refunded: Vec<i128>,
    /// Whether any case or refund counted above reached the line.
    any: Vec<bool>,
}

impl PerLine {
    /// `cases` and `refunds` as prepared (with LINE_ROW, is_return, counted; status, amount).
    fn new(lines: usize, cases: &DataFrame, refunds: &DataFrame) -> Result<PerLine> {
        let mut f = PerLine {
            return_units: vec![0; lines],
            counted_cases: vec![0; lines],
            refunded: vec![0; lines],
            any: vec![false; lines],
        };
        let rows = |df: &DataFrame| -> Result<IdxCa> { Ok(df.column(LINE_ROW)?.idx()?.clone()) };
        let flag = |name: &str| -> Result<BooleanChunked> { Ok(cases.column(name)?.bool()?.clone()) };
        let quantity = cases.column("quantity")?.cast(&DataType::Int64)?;
        let (is_return, counted) = (flag("is_return")?, flag("counted")?);
        for (((row, is_return), counted), quantity) in rows(cases)?
            .iter()
            .zip(is_return.iter())
            .zip(counted.iter())
            .zip(quantity.i64()?.iter())
        {
            let Some(r) = row.map(|r| r as usize) else { continue };
            if is_return == Some(true) {
                // A null quantity adds nothing, as polars' sum skips nulls.
                f.return_units[r] += quantity.unwrap_or(0);
                f.any[r] = true;
            }
            if counted == Some(true) {
                f.counted_cases[r] += 1;
                f.any[r] = true;
            }
        }
        let completed = refunds.column("status")?.str()?.equal("completed");
        let amount = refunds.column("amount")?.cast(&DataType::Decimal(38, 2))?;
        for ((row, completed), amount) in rows(refunds)?
            .iter()
            .zip(completed.iter())
            .zip(amount.decimal()?.physical().iter())
        {
            let (Some(r), Some(true)) = (row.map(|r| r as usize), completed) else {
                continue;
            };
            f.refunded[r] += amount.unwrap_or(0);
            f.any[r] = true;
        }
        Ok(f)
    }

    /// The lines with any fact, with return_units, counted_cases (UInt32) and refunded (Decimal(38, 2)) beside.
    fn beside(self, lines: DataFrame) -> Result<DataFrame> {
        let mut lines = lines;
        lines.with_column(Int64Chunked::from_vec("return_units".into(), self.return_units).into_column())?;
        lines.with_column(UInt32Chunked::from_vec("counted_cases".into(), self.counted_cases).into_column())?;
        lines.with_column(
            Int128Chunked::from_vec("refunded".into(), self.refunded)
                .into_decimal_unchecked(38, 2)
                .into_column(),
        )?;
        let any = BooleanChunked::from_slice("any".into(), &self.any);
        Ok(lines.filter(&any)?)
    }
}

/// Sorts a metric table for reading: levels and directions in their natural order, then keys.
pub fn level_rank(level: Expr, order: &[&str]) -> Expr {
    let mut e = lit(order.len() as u32);
    for (i, l) in order.iter().enumerate().rev() {
        e = when(level.clone().eq(lit(*l))).then(lit(i as u32)).otherwise(e);
    }
    e
}

/// The metric tables of a run (SPEC §4).
pub struct MetricTables {
    /// Held in memory: what the report reads, each a small table beside the order lines.
    pub frames: Vec<(&'static str, DataFrame)>,
    /// Tables with a row per record, kept out of memory: written from their scan, or linked when already written
    /// in the output's format.
    pub copies: Vec<(&'static str, sla::Clocks)>,
    /// (sku, merchant_id) of the skus flagged in risk_flags ([`merchants::flagged_sku_merchants`]): not
    /// written; the report names a flagged SKU's merchant from it.
    pub sku_merchants: DataFrame,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Line 0: a return (2 units) and an exchange that was rejected (not returned, still counted), a completed
    /// refund of 12.34 and a pending one (left out). Line 1: a cancelled return only (nothing: not kept). Line 2: a
    /// refund of 0.66 only. A case or refund reaching no line (null) adds to none.
    #[test]
    fn per_line_facts_count_what_spec_counts_and_keep_only_lines_with_any() {
        let idx = |v: &[Option<IdxSize>]| IdxCa::from_iter_options(LINE_ROW.into(), v.iter().copied()).into_column();
        let cases = DataFrame::new(
            4,
            vec![
                idx(&[Some(0), Some(0), Some(1), None]),
                Column::new("is_return".into(), [true, false, false, true]),
                Column::new("counted".into(), [true, true, false, true]),
                Column::new("quantity".into(), [2i64, 5, 1, 7]),
            ],
        )
        .unwrap();
        let amount = Int128Chunked::from_vec("amount".into(), vec![1234, 999, 66, 500])
            .into_decimal_unchecked(18, 2)
            .into_column();
        let refunds = DataFrame::new(
            4,
            vec![
                idx(&[Some(0), Some(0), Some(2), None]),
                Column::new("status".into(), ["completed", "pending", "completed", "completed"]),
                amount,
            ],
        )
        .unwrap();
        let lines = df!["line_no" => [1i64, 2, 3]].unwrap();
        let got = PerLine::new(3, &cases, &refunds).unwrap().beside(lines).unwrap();
        let ints = |c: &str| -> Vec<i64> {
            got.column(c)
                .unwrap()
                .cast(&DataType::Int64)
                .unwrap()
                .i64()
                .unwrap()
                .iter()
                .flatten()
                .collect()
        };
        assert_eq!(ints("line_no"), [1, 3]);
        assert_eq!(ints("return_units"), [2, 0]);
        assert_eq!(ints("counted_cases"), [2, 0]);
        let refunded: Vec<i128> = got
            .column("refunded")
            .unwrap()
            .decimal()
            .unwrap()
            .physical()
            .iter()
            .flatten()
            .collect();
        assert_eq!(refunded, [1234, 66]);
        assert_eq!(got.column("refunded").unwrap().dtype(), &DataType::Decimal(38, 2));
    }

    #[test]
    fn civil_year_and_month_match_the_calendar_from_1422_to_2517() {
        // Every day from −200 000 to 200 000 days from 1970: leap days, century years (1700, 1800, 1900 are not
        // leap years, 1600, 2000, 2400 are) and dates before the epoch.
        let days: Vec<i32> = (-200_000..=200_000).collect();
        let out = df!["d" => &days]
            .unwrap()
            .lazy()
            .with_column(col("d").cast(DataType::Date))
            .select([
                col("d").dt().year().alias("year"),
                col("d").dt().month().cast(DataType::Int32).alias("month"),
            ])
            .collect()
            .unwrap();
        let year = out.column("year").unwrap().i32().unwrap();
        let month = out.column("month").unwrap().i32().unwrap();
        for (i, d) in days.iter().enumerate() {
            let want = (year.get(i).unwrap(), month.get(i).unwrap());
            assert_eq!(civil_from_days(*d), want, "day {d}");
        }
    }

    /// Every day from 2019 to 2031 (ISO years of 52 and 53 weeks, weeks straddling New Year), at 00:30 local time
    /// in Shanghai — the previous day in UTC — labelled through the period number and through the timestamp.
    #[test]
    fn code_labels_are_the_labels_of_the_timestamps() {
        let tz = chrono_tz::Asia::Shanghai;
        let first = 1_546_273_800_000_000i64; // 2019-01-01 00:30 +08:00
        let ts: Vec<i64> = (0..12 * 366).map(|d| first + d * 86_400_000_000).collect();
        let df = df!["ts" => ts].unwrap();
        let lf = df.lazy().with_column(col("ts").cast(crate::time::ts_dtype()));
        let fixed = Zone::new(tz, Some((first, first + 12 * 366 * 86_400_000_000)));
        assert!(fixed.is_fixed());
        for kind in ["month", "quarter", "week"] {
            let out = lf
                .clone()
                .select([
                    period_expr(col("ts"), kind, tz).alias("want"),
                    code_label(period_code(local_day(col("ts"), tz), kind), kind).alias("got"),
                    code_label(period_code(fixed.day(col("ts")), kind), kind).alias("fixed"),
                ])
                .collect()
                .unwrap();
            let (want, got) = (
                out.column("want").unwrap().str().unwrap(),
                out.column("got").unwrap().str().unwrap(),
            );
            assert_eq!(
                want.get(0),
                Some(match kind {
                    "month" => "2019-01",
                    "quarter" => "2019Q1",
                    _ => "2019-W01",
                })
            );
            let differ: Vec<_> = want.iter().zip(got.iter()).filter(|(a, b)| a != b).take(3).collect();
            assert!(differ.is_empty(), "{kind}: {differ:?}");
            assert!(
                out.column("fixed").unwrap().equals_missing(out.column("want").unwrap()),
                "{kind}: fixed offset"
            );
        }
    }

    /// The quarter worked out from the month's number is the quarter of the day, for every day from year −3 to
    /// 2517 (negative month numbers included: the arithmetic must floor, not truncate).
    #[test]
    fn quarter_of_a_month_number_is_the_quarter_of_its_days() {
        let days: Vec<i32> = (-720_000..200_000).step_by(7).collect();
        let out = df!["d" => days]
            .unwrap()
            .lazy()
            .with_column(period_code(col("d"), "month").alias("m"))
            .select([
                period_code(col("d"), "quarter").alias("want"),
                quarter_of_month(col("m")).alias("got"),
            ])
            .collect()
            .unwrap();
        assert!(out.column("got").unwrap().equals(out.column("want").unwrap()));
        // 2026-03-15 (day 20527) is in 2026Q1, 2026-04-01 (20544) in 2026Q2.
        let q = |d: i32| month_or_quarter_number(civil_from_days(d).0, civil_from_days(d).1, 4);
        assert_eq!((q(20527), q(20544)), (2026 * 4 + 1, 2026 * 4 + 2));
    }
}

#[cfg(test)]
mod zone_tests {
    use super::*;

    fn days(zone: Zone, ts: &[i64]) -> Vec<Option<i32>> {
        let df = df!["ts" => ts].unwrap();
        let out = df
            .lazy()
            .select([zone.day(col("ts").cast(crate::time::ts_dtype())).cast(DataType::Int32)])
            .collect()
            .unwrap();
        out.columns()[0].i32().unwrap().iter().collect()
    }

    #[test]
    fn a_zone_with_summer_time_keeps_the_lookup_and_shanghai_is_fixed_after_1991() {
        let y2026 = (1_767_225_600_000_000, 1_798_761_600_000_000);
        assert!(Zone::new(chrono_tz::Asia::Shanghai, Some(y2026)).is_fixed());
        assert!(!Zone::new(chrono_tz::Europe::Berlin, Some(y2026)).is_fixed());
        assert!(Zone::new(chrono_tz::UTC, Some(y2026)).is_fixed());
        // Shanghai observed summer time 1986–1991: inputs from 1990 must use the lookup.
        assert!(!Zone::new(chrono_tz::Asia::Shanghai, Some((631_152_000_000_000, y2026.1))).is_fixed());
        assert!(!Zone::new(chrono_tz::Asia::Shanghai, None).is_fixed());
    }

    #[test]
    fn fixed_and_looked_up_dates_agree_around_local_midnight() {
        // 2026-03-01 00:00 +08:00 is 2026-02-28 16:00 UTC (1772294400 s): one µs before is still 28 February.
        let midnight = 1_772_294_400_000_000i64;
        let ts = [midnight - 1, midnight, midnight + 86_400_000_000 - 1, -1, 0];
        let sh = chrono_tz::Asia::Shanghai;
        let fixed = Zone::new(sh, Some((midnight, midnight)));
        assert!(fixed.is_fixed());
        let lookup = Zone::new(sh, None);
        // Days since 1970-01-01: 2026-02-28 is day 20512; the epoch itself is already 08:00 on day 0 in Shanghai.
        let want = vec![Some(20512), Some(20513), Some(20513), Some(0), Some(0)];
        assert_eq!(days(lookup, &ts), want);
        assert_eq!(days(fixed, &ts), want);
    }
}
