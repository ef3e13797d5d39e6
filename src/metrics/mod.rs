//! The metric families of SPEC §4, one module each; each module's `//!` states its grain and columns.
//!
//! Rooms, in the order a run goes through them:
//! - `prepare`: the shared `Prepared` frames every family starts from (a join is done once, not once per table),
//!   per-line facts, with `prepare::sorted_ids` (the touched lines found by walking sorted order ids) and
//!   `prepare::line_lookup` (a case or refund's line found among its order's lines);
//! - `kernels`: hand-written code that beats polars on return_rates' hot path, behind small interfaces;
//! - `stats` (ratios, Wilson intervals) and `periods` (local dates, period codes, labels and bounds);
//! - one module per family: `return_rates`, `reasons`, `sla`, `spikes` (with `calibration`: φ, p- and q-values,
//!   the flag; and `episodes`: consecutive flagged weeks and their alerts), `merchants` (merchant_risk and badges),
//!   `carriers`; `evidence`: the cases behind each flag and each failed badge criterion.

pub mod calibration;
pub mod carriers;
mod columns;
pub mod episodes;
pub mod evidence;
mod kernels;
pub mod merchants;
pub mod periods;
pub mod prepare;
pub mod reasons;
pub mod return_rates;
pub mod sla;
pub mod spikes;
pub mod stats;

pub use periods::*;
pub use prepare::*;
pub use stats::*;

use polars::prelude::*;

/// Key used for the platform-level rows.
pub const ALL: &str = "all";

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
    use super::periods::*;
    use super::prepare::*;
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
