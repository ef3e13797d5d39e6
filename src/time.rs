//! Timestamps and periods (SPEC §3).
//!
//! Every timestamp is stored as a UTC instant in microseconds (`Datetime(us, "UTC")`). A timestamp written without
//! an offset is local time in the configured zone. Periods (month `2026-03`, quarter `2026Q1`, ISO week
//! `2026-W09`) are always taken in the configured zone, never in UTC, so an order at 23:30 on 31 March in
//! Shanghai belongs to March.

use chrono::{LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone as _};
use chrono_tz::Tz;
use polars::prelude::*;

/// Microseconds since the Unix epoch, UTC.
pub type Micros = i64;

/// The polars dtype every timestamp column has once loaded.
pub fn ts_dtype() -> DataType {
    DataType::Datetime(TimeUnit::Microseconds, Some(polars::prelude::TimeZone::UTC))
}

/// Parses the timestamp forms of SPEC §1: `2026-03-01 14:05:00`, `2026-03-01T14:05:00+08:00`, `2026/03/01 14:05`,
/// `2026/3/1 9:05` (spreadsheet exports drop the zero padding), optional fractional seconds, a `Z` or `±HH:MM`,
/// `±HHMM`, `±HH` offset, and a bare date (midnight). Without an offset the time is local in `tz`.
pub fn parse_ts(s: &str, tz: Tz) -> Result<Micros, String> {
    let s = s.trim();
    let b = s.as_bytes();
    let mut p = Cursor { b, i: 0 };
    let year = p.digits(4, 4).ok_or_else(|| expected(s))?;
    let sep = p.peek().ok_or_else(|| expected(s))?;
    if sep != b'-' && sep != b'/' {
        return Err(expected(s));
    }
    p.i += 1;
    let month = p.digits(1, 2).ok_or_else(|| expected(s))?;
    if !p.eat(sep) {
        return Err(expected(s));
    }
    let day = p.digits(1, 2).ok_or_else(|| expected(s))?;
    let date =
        NaiveDate::from_ymd_opt(year as i32, month, day).ok_or_else(|| format!("'{s}' is not a real calendar date"))?;
    let (mut hour, mut min, mut sec, mut nanos) = (0, 0, 0, 0u32);
    if p.eat(b'T') || p.eat(b' ') {
        while p.eat(b' ') {}
        hour = p.digits(1, 2).ok_or_else(|| expected(s))?;
        if !p.eat(b':') {
            return Err(expected(s));
        }
        min = p.digits(2, 2).ok_or_else(|| expected(s))?;
        if p.eat(b':') {
            sec = p.digits(2, 2).ok_or_else(|| expected(s))?;
            if p.eat(b'.') || p.eat(b',') {
                let start = p.i;
                let frac = p.digits(1, 9).ok_or_else(|| expected(s))?;
                let len = p.i - start;
                nanos = frac * 10u32.pow(9 - len as u32);
            }
        }
    }
    let time = NaiveTime::from_hms_nano_opt(hour, min, sec, nanos)
        .ok_or_else(|| format!("'{s}' has a time of day out of range"))?;
    let naive = NaiveDateTime::new(date, time);
    while p.eat(b' ') {}
    let offset_secs: Option<i32> = match p.peek() {
        None => None,
        Some(b'Z') | Some(b'z') => {
            p.i += 1;
            Some(0)
        }
        Some(c @ (b'+' | b'-')) => {
            p.i += 1;
            let oh = p.digits(2, 2).ok_or_else(|| expected(s))? as i32;
            p.eat(b':');
            let om = p.digits(2, 2).unwrap_or(0) as i32;
            if oh > 23 || om > 59 {
                return Err(format!("'{s}' has an offset out of range"));
            }
            let sign = if c == b'-' { -1 } else { 1 };
            Some(sign * (oh * 3600 + om * 60))
        }
        Some(_) => return Err(expected(s)),
    };
    if p.i != b.len() {
        return Err(expected(s));
    }
    let utc = match offset_secs {
        Some(off) => naive - chrono::Duration::seconds(off as i64),
        None => match tz.from_local_datetime(&naive) {
            LocalResult::Single(t) => t.naive_utc(),
            // The hour repeated when clocks go back: the earlier reading is the one a log writes first.
            LocalResult::Ambiguous(early, _) => early.naive_utc(),
            LocalResult::None => {
                return Err(format!(
                    "'{s}' does not exist in {tz}: clocks skipped that hour (daylight saving); add an offset"
                ));
            }
        },
    };
    Ok(utc.and_utc().timestamp_micros())
}

fn expected(s: &str) -> String {
    format!(
        "'{s}' is not a timestamp: expected e.g. 2026-03-01 14:05:00, 2026-03-01T14:05:00+08:00 or 2026/03/01 14:05"
    )
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.i;
        let mut v: u32 = 0;
        while self.i - start < max {
            match self.peek() {
                Some(c) if c.is_ascii_digit() => {
                    v = v * 10 + (c - b'0') as u32;
                    self.i += 1;
                }
                _ => break,
            }
        }
        (self.i - start >= min).then_some(v)
    }
}

/// Parses a calendar date `YYYY-MM-DD` (config holidays and the like).
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| format!("'{s}' is not a date: expected YYYY-MM-DD"))
}

/// Formats a UTC instant as local time with its offset, e.g. `2026-03-31T23:30:00+08:00`.
pub fn format_local(t: Micros, tz: Tz) -> String {
    match chrono::DateTime::from_timestamp_micros(t) {
        Some(utc) => utc.with_timezone(&tz).format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        None => format!("{t} µs after 1970-01-01 UTC (beyond any calendar date)"),
    }
}

/// Local midnight of a date in `tz` (the first instant of the day where midnight is skipped).
pub fn local_midnight(y: i32, m: u32, d: u32, tz: Tz) -> Micros {
    let date = NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
    let naive = date.and_time(NaiveTime::MIN);
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.timestamp_micros(),
        LocalResult::None => naive.and_utc().timestamp_micros(),
    }
}

/// The instants this program can place in a calendar: years 1 to 9999. A typed Parquet timestamp outside is not
/// a timestamp of anything (i64::MAX, say) and is refused when parsed.
pub const MIN_MICROS: Micros = -62_135_596_800_000_000;
pub const MAX_MICROS: Micros = 253_402_300_799_999_999;

/// The configured zone as polars names it. The name comes from chrono-tz, so it is a valid IANA name.
pub fn polars_tz(tz: Tz) -> polars::prelude::TimeZone {
    polars::prelude::TimeZone::opt_try_new(Some(tz.name()))
        .ok()
        .flatten()
        .expect("IANA zone")
}

fn local(e: Expr, tz: Tz) -> Expr {
    e.dt().convert_time_zone(polars_tz(tz))
}

/// Month of a timestamp in the configured zone: `2026-03`.
pub fn month_expr(e: Expr, tz: Tz) -> Expr {
    local(e, tz).dt().strftime("%Y-%m")
}

/// Quarter of a timestamp in the configured zone: `2026Q1`.
pub fn quarter_expr(e: Expr, tz: Tz) -> Expr {
    let l = local(e, tz);
    concat_str(
        [
            l.clone().dt().year().cast(DataType::String),
            lit("Q"),
            l.dt().quarter().cast(DataType::String),
        ],
        "",
        false,
    )
}

/// ISO week of a timestamp in the configured zone: `2026-W09`.
pub fn iso_week_expr(e: Expr, tz: Tz) -> Expr {
    local(e, tz).dt().strftime("%G-W%V")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SH: Tz = chrono_tz::Asia::Shanghai;

    #[test]
    fn naive_and_offset_forms_are_the_same_instant() {
        let a = parse_ts("2026-03-01 14:05:00", SH).unwrap();
        let b = parse_ts("2026-03-01T14:05:00+08:00", SH).unwrap();
        let c = parse_ts("2026-03-01T06:05:00Z", SH).unwrap();
        let d = parse_ts("2026/03/01 14:05", SH).unwrap();
        let e = parse_ts("2026/3/1 14:05:00", SH).unwrap();
        let f = parse_ts("2026-03-01T14:05:00+0800", SH).unwrap();
        assert!([b, c, d, e, f].iter().all(|x| *x == a));
        // 06:05 UTC on 1 March 2026 = 1772345100 s since the epoch.
        assert_eq!(a, 1_772_345_100_000_000);
    }

    #[test]
    fn fractional_seconds_and_bare_dates() {
        let a = parse_ts("2026-03-01 00:00:00.250", SH).unwrap();
        let b = parse_ts("2026-03-01", SH).unwrap();
        assert_eq!(a - b, 250_000);
    }

    #[test]
    fn rejects_garbage_and_impossible_dates() {
        assert!(parse_ts("yesterday", SH).unwrap_err().contains("not a timestamp"));
        assert!(
            parse_ts("2026-02-30 10:00", SH)
                .unwrap_err()
                .contains("not a real calendar date")
        );
        assert!(parse_ts("2026-03-01 25:00", SH).unwrap_err().contains("out of range"));
        assert!(parse_ts("2026-03-01 10:00 junk", SH).is_err());
    }

    #[test]
    fn dst_gap_is_refused_and_overlap_takes_the_earlier_instant() {
        let berlin = chrono_tz::Europe::Berlin;
        assert!(
            parse_ts("2026-03-29 02:30", berlin)
                .unwrap_err()
                .contains("does not exist")
        );
        let early = parse_ts("2026-10-25 02:30", berlin).unwrap();
        assert_eq!(early, parse_ts("2026-10-25T02:30:00+02:00", berlin).unwrap());
    }
}
