//! Periods and local dates (SPEC §3): an instant's local day in the configured zone (by a fixed offset when the
//! zone's offset does not change over the data, else per row), month, quarter and ISO-week codes as integers, their
//! labels, and grouping by period.

use chrono_tz::Tz;
use polars::prelude::*;

use crate::time::{self, Micros};

pub use crate::time::polars_tz as local_tz;

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
pub(super) const ZONE_MARGIN_DAYS: i64 = 400;

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
pub(super) fn civil_from_days(days: i32) -> (i32, i32) {
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
pub(super) fn month_or_quarter_code(day: Expr, per_year: i32) -> Expr {
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
