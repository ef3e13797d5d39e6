//! Preparation, done once per run and shared by every family (`Prepared`): the order lines with their periods and
//! GMV (a plan over the orders, never copied), the after-sales facts of the few lines that have any, the cases
//! joined to their order line with `counted` / `is_return` / `responsibility`, and the refunds attributed to an
//! order line. The touched lines are found by the sorted-id walk (`sorted_ids`), each case's and refund's line by
//! hand (`line_lookup`), and the per-line facts are summed into arrays (`PerLine`).

use anyhow::Result;
use polars::prelude::*;

use crate::config::Config;
use crate::engine::Run;
use crate::metrics::periods::*;
use crate::time::{self, Micros};
use crate::workdir::WorkDir;

pub mod line_lookup;
pub mod sorted_ids;

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

/// The order line columns `Prepared.lines` shares with the loaded orders.
pub(super) const LINE_COLUMNS: [&str; 8] = [
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

pub(crate) fn responsibility_frame(config: &Config) -> DataFrame {
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
pub(super) fn beside(left: LazyFrame, right: LazyFrame) -> PolarsResult<LazyFrame> {
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
pub(super) fn in_memory(lf: LazyFrame) -> Result<LazyFrame> {
    Ok(lf.run_streaming()?.lazy())
}

/// unit_price × quantity in the money type, computed on the integer cents: polars' Decimal × integer product
/// rescales every row through a 128-bit division, which is most of the cost of reading the lines' GMV.
/// unit_price is a Decimal of at most 18 digits (input/fast.rs) and quantity an Int64, so the product of their
/// integers cannot overflow an i128 (< 10¹⁸ × 2⁶³ < 2¹²⁷); the result is a Decimal(38, unit_price's scale), as
/// polars' product is.
pub(super) fn line_value(unit_price: Expr, quantity: Expr) -> Expr {
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
pub(super) struct PerLine {
    return_units: Vec<i64>,
    counted_cases: Vec<u32>,
    /// In cents (hundredths), the money type's scale.
    refunded: Vec<i128>,
    /// Whether any case or refund counted above reached the line.
    any: Vec<bool>,
}

impl PerLine {
    /// `cases` and `refunds` as prepared (with LINE_ROW, is_return, counted; status, amount).
    pub(super) fn new(lines: usize, cases: &DataFrame, refunds: &DataFrame) -> Result<PerLine> {
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
    pub(super) fn beside(self, lines: DataFrame) -> Result<DataFrame> {
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
