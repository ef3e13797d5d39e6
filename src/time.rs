//! Timestamps and periods (SPEC §3).
//!
//! Every timestamp is stored as a UTC instant in microseconds (`Datetime(us, "UTC")`). A timestamp written without
//! an offset is local time in the configured zone. Periods (month `2026-03`, quarter `2026Q1`, ISO week
//! `2026-W09`) are always taken in the configured zone, never in UTC, so an order at 23:30 on 31 March in
//! Shanghai belongs to March.

use chrono::{Datelike as _, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone as _};
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
/// `±HHMM`, `±HH` offset, and a bare date (midnight). Without an offset the time is local in `tz`. Back-office
/// exports add two more: `2026年8月3日 09:05` (Chinese date words) and `Sep 14, 2026 7:03:57 AM PDT` (Amazon's
/// reports: an English month, a 12-hour clock and a zone abbreviation, see [`zone_abbreviation`]).
pub fn parse_ts(s: &str, tz: Tz) -> Result<Micros, String> {
    let s = s.trim();
    match parse_iso(s, tz) {
        Ok(t) => Ok(t),
        Err(e) => {
            if s.contains('年') {
                // 2026年8月3日 09:05, 2026年08月03日9时5分30秒: the numbers in order are the date and time.
                let n: Vec<&str> = s
                    .split(|c: char| !c.is_ascii_digit())
                    .filter(|p| !p.is_empty())
                    .collect();
                let iso = match n.as_slice() {
                    [y, m, d] => format!("{y}-{m}-{d}"),
                    [y, m, d, h, mi] => format!("{y}-{m}-{d} {h}:{mi:0>2}"),
                    [y, m, d, h, mi, se] => format!("{y}-{m}-{d} {h}:{mi:0>2}:{se:0>2}"),
                    _ => return Err(e),
                };
                parse_iso(&iso, tz).map_err(|_| e)
            } else if s.as_bytes().first().is_some_and(u8::is_ascii_alphabetic) {
                parse_month_name(s, tz).map_err(|_| e)
            } else {
                Err(e)
            }
        }
    }
}

/// The offset from UTC, in seconds, of the zone abbreviations English-language exports write after a time. `CST`
/// is read as US Central (Amazon's US reports), never China Standard Time, which Chinese exports do not write.
pub fn zone_abbreviation(a: &str) -> Option<i32> {
    Some(match a {
        "UTC" | "GMT" | "Z" => 0,
        "PST" => -8 * 3600,
        "PDT" => -7 * 3600,
        "MST" => -7 * 3600,
        "MDT" => -6 * 3600,
        "CST" => -6 * 3600,
        "CDT" => -5 * 3600,
        "EST" => -5 * 3600,
        "EDT" => -4 * 3600,
        "AKST" => -9 * 3600,
        "AKDT" => -8 * 3600,
        "HST" => -10 * 3600,
        "BST" => 3600,
        "CET" => 3600,
        "CEST" => 2 * 3600,
        "JST" => 9 * 3600,
        _ => return None,
    })
}

/// `Sep 14, 2026 7:03:57 AM PDT`, `Jul 1, 2026 10:58 PM`, `September 14, 2026`: an English month name, the day,
/// the year, an optional 12- or 24-hour time and an optional zone abbreviation (local in `tz` without one).
fn parse_month_name(s: &str, tz: Tz) -> Result<Micros, String> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let mut words = s.split([' ', ',']).filter(|w| !w.is_empty());
    let bad = || expected(s);
    let m = words.next().ok_or_else(bad)?.to_ascii_lowercase();
    let month = MONTHS
        .iter()
        .position(|p| m.starts_with(p) && m.len() >= 3)
        .ok_or_else(bad)? as u32
        + 1;
    let day: u32 = words.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
    let year: i32 = words.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
    let mut text = format!("{year:04}-{month:02}-{day:02}");
    let mut offset: Option<i32> = None;
    let mut pm: Option<bool> = None;
    let mut clock: Option<String> = None;
    for w in words {
        let up = w.to_ascii_uppercase();
        if clock.is_none() && w.contains(':') {
            clock = Some(w.to_string());
        } else if up == "AM" || up == "PM" {
            pm = Some(up == "PM");
        } else if let Some(o) = zone_abbreviation(&up) {
            offset = Some(o);
        } else {
            return Err(bad());
        }
    }
    if let Some(c) = clock {
        let mut parts = c.splitn(2, ':');
        let mut h: u32 = parts.next().unwrap_or("").parse().map_err(|_| bad())?;
        let rest = parts.next().unwrap_or("");
        if let Some(pm) = pm {
            if !(1..=12).contains(&h) {
                return Err(format!("'{s}' has a time of day out of range"));
            }
            h = h % 12 + if pm { 12 } else { 0 };
        }
        text.push_str(&format!(" {h:02}:{rest}"));
    }
    if let Some(o) = offset {
        let sign = if o < 0 { '-' } else { '+' };
        text.push_str(&format!("{sign}{:02}:{:02}", o.abs() / 3600, o.abs() % 3600 / 60));
    }
    parse_iso(&text, tz).map_err(|_| bad())
}

/// An Excel serial date-time (days since 1899-12-30, the fraction the time of day) as local wall time in `tz`.
pub fn excel_serial(days: f64, tz: Tz) -> Result<Micros, String> {
    if !days.is_finite() || !(1.0..=2_958_465.0).contains(&days) {
        return Err(format!("{days} is not an Excel date serial number (1 = 1900-01-01)"));
    }
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)
        .unwrap_or_default()
        .and_time(NaiveTime::MIN);
    // Rounded to the millisecond: a spreadsheet's binary fraction of a day is never meant finer than that.
    let millis = (days * 86_400_000.0).round() as i64;
    let naive = base + chrono::Duration::milliseconds(millis);
    match local_to_utc(tz, naive) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Ok(t.and_utc().timestamp_micros()),
        LocalResult::None => Err(format!("'{naive}' does not exist in {tz} (daylight-saving gap)")),
    }
}

fn parse_iso(s: &str, tz: Tz) -> Result<Micros, String> {
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
    let days = days_from_civil(year as i32, month, day).ok_or_else(|| format!("'{s}' is not a real calendar date"))?;
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
    if hour > 23 || min > 59 || sec > 59 {
        return Err(format!("'{s}' has a time of day out of range"));
    }
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
    // Seconds of the wall time as if it were UTC, then the offset taken off: plain arithmetic on the day number, with
    // the zone's offset for that day from the cache (`day_offset`), and chrono-tz only on a day the offset changes.
    let wall = days as i64 * 86_400 + (hour * 3600 + min * 60 + sec) as i64;
    let utc = match offset_secs.or_else(|| day_offset(tz, days)) {
        Some(off) => wall - off as i64,
        None => {
            let naive = NaiveDate::from_num_days_from_ce_opt(days + UNIX_EPOCH_DAYS_FROM_CE)
                .and_then(|d| d.and_hms_opt(hour, min, sec))
                .ok_or_else(|| format!("'{s}' is not a real calendar date"))?;
            match local_to_utc(tz, naive) {
                LocalResult::Single(t) => t.and_utc().timestamp(),
                // The hour repeated when clocks go back: the earlier reading is the one a log writes first.
                LocalResult::Ambiguous(early, _) => early.and_utc().timestamp(),
                LocalResult::None => {
                    return Err(format!(
                        "'{s}' does not exist in {tz}: clocks skipped that hour (daylight saving); add an offset"
                    ));
                }
            }
        }
    };
    Ok(utc * 1_000_000 + (nanos / 1000) as i64)
}

/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01, less one: chrono's `num_days_from_ce` of the epoch.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// The days from 1970-01-01 to a date of the proleptic Gregorian calendar, or None when there is no such date
/// (month 13, 30 February). The civil-from-days arithmetic of H. Hinnant's date algorithms.
fn days_from_civil(year: i32, month: u32, day: u32) -> Option<i32> {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > month_days {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y.rem_euclid(400);
    let march_based = (month + 9) % 12;
    let day_of_year = (153 * march_based + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year as i32;
    Some(era * 146_097 + day_of_era - 719_468)
}

/// The zone's offset from UTC in seconds on a day (days since 1970-01-01) when it is the same all day; None on a
/// day it changes. Found in the zone's table once per thread and kept in a small cache by day: loading converts
/// every timestamp cell, and the table search was most of that cost.
fn day_offset(tz: Tz, days: i32) -> Option<i32> {
    use chrono::Offset as _;
    const SLOTS: usize = 512;
    std::thread_local! {
        /// (zone, day, offset in seconds or None for a day with a change), by day modulo SLOTS.
        static DAYS: [std::cell::Cell<Option<(Tz, i32, Option<i32>)>>; SLOTS] =
            const { [const { std::cell::Cell::new(None) }; SLOTS] };
    }
    let slot = days.rem_euclid(SLOTS as i32) as usize;
    let cached = DAYS.with(|d| d[slot].get());
    if let Some((z, d, off)) = cached
        && z == tz
        && d == days
    {
        return off;
    }
    let date = NaiveDate::from_num_days_from_ce_opt(days.checked_add(UNIX_EPOCH_DAYS_FROM_CE)?)?;
    let offset_at = |h: u32, m: u32, s: u32, nano: u32| {
        let t = NaiveTime::from_hms_nano_opt(h, m, s, nano).expect("a valid time of day");
        match tz.from_local_datetime(&date.and_time(t)) {
            LocalResult::Single(x) => Some(x.offset().fix().local_minus_utc()),
            _ => None,
        }
    };
    // One offset at the day's start, middle and end: no change that day (a zone changes at most once a day).
    let (start, noon, end) = (
        offset_at(0, 0, 0, 0),
        offset_at(12, 0, 0, 0),
        offset_at(23, 59, 59, 999_999_999),
    );
    let off = match (start, noon, end) {
        (Some(a), Some(b), Some(c)) if a == b && b == c => Some(a),
        _ => None,
    };
    DAYS.with(|d| d[slot].set(Some((tz, days, off))));
    off
}

/// The UTC readings of a local wall time in `tz`, as chrono-tz gives them; a day with one offset throughout from
/// the per-day cache ([`day_offset`]).
pub fn local_to_utc(tz: Tz, naive: NaiveDateTime) -> LocalResult<NaiveDateTime> {
    let days = naive.date().num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE;
    match day_offset(tz, days) {
        Some(off) => LocalResult::Single(naive - chrono::Duration::seconds(off as i64)),
        None => tz.from_local_datetime(&naive).map(|t| t.naive_utc()),
    }
}

fn expected(s: &str) -> String {
    format!(
        "'{s}' is not a timestamp: expected e.g. 2026-03-01 14:05:00, 2026-03-01T14:05:00+08:00, 2026/03/01 14:05, 2026年3月1日 14:05 or Mar 1, 2026 2:05:00 PM PST"
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

/// The quarter an instant falls in, in `tz`: `2026Q4`.
pub fn quarter_of(t: Micros, tz: Tz) -> String {
    let d = chrono::DateTime::from_timestamp_micros(t)
        .map(|d| d.with_timezone(&tz).date_naive())
        .unwrap_or_default();
    format!("{}Q{}", d.year(), (d.month() - 1) / 3 + 1)
}

/// `2026Q3` → (2026, 3).
pub fn parse_quarter(q: &str) -> Option<(i32, u32)> {
    let b = q.as_bytes();
    if b.len() != 6 || b[4] != b'Q' || !(b'1'..=b'4').contains(&b[5]) {
        return None;
    }
    Some((q[..4].parse().ok()?, u32::from(b[5] - b'0')))
}

/// The quarter before `2026Q1`: `2025Q4`.
pub fn previous_quarter(q: &str) -> String {
    match parse_quarter(q) {
        Some((y, 1)) => format!("{}Q4", y - 1),
        Some((y, n)) => format!("{y}Q{}", n - 1),
        None => q.to_string(),
    }
}

/// The first instant after a quarter (local midnight of the next quarter's first day).
pub fn quarter_end(q: &str, tz: Tz) -> Option<Micros> {
    let (y, n) = parse_quarter(q)?;
    Some(if n == 4 {
        local_midnight(y + 1, 1, 1, tz)
    } else {
        local_midnight(y, 3 * n + 1, 1, tz)
    })
}

/// Why a quarter's figures are not final at as_of (SPEC §4.7): badges and merchant risk of such a quarter are
/// provisional.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provisional {
    /// as_of lies before the quarter's end.
    NotEnded { ends: Micros },
    /// The quarter has ended but its last month is not mature (§4.1): its orders can still be returned.
    NotMature { mature_at: Micros },
}

impl Provisional {
    /// None when the quarter is final at as_of: ended, and its last month mature (`maturity_days` local days
    /// after its end).
    pub fn of(q: &str, as_of: Micros, tz: Tz, maturity_days: i64) -> Option<Provisional> {
        let ends = quarter_end(q, tz)?;
        if as_of < ends {
            return Some(Provisional::NotEnded { ends });
        }
        let end_day = chrono::DateTime::from_timestamp_micros(ends)?
            .with_timezone(&tz)
            .date_naive();
        let day = end_day.checked_add_signed(chrono::Duration::days(maturity_days))?;
        let mature_at = local_midnight(day.year(), day.month(), day.day(), tz);
        (as_of < mature_at).then_some(Provisional::NotMature { mature_at })
    }

    /// The sentence the tables carry (`provisional_reason`).
    pub fn reason(&self, q: &str, tz: Tz) -> String {
        let day = |t: Micros| format_local(t, tz).get(..10).unwrap_or_default().to_string();
        match self {
            Provisional::NotEnded { ends } => format!("{q} has not ended at as_of (it ends {})", day(*ends)),
            Provisional::NotMature { mature_at } => format!(
                "{q}'s last month is not mature at as_of (its orders can still be returned until {})",
                day(*mature_at)
            ),
        }
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

    /// Every quarter hour of 2026 in zones with and without daylight saving (New York's gap on 8 March and repeated
    /// hour on 1 November, London's, Shanghai's none), each converted twice so the second reads the cache: the same
    /// readings as chrono-tz's own conversion.
    #[test]
    fn the_per_day_offset_cache_gives_the_zone_table_readings() {
        let zones = [
            chrono_tz::America::New_York,
            chrono_tz::Europe::London,
            chrono_tz::Asia::Shanghai,
        ];
        let start = NaiveDate::from_ymd_opt(2026, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        let (mut gaps, mut repeats) = (0, 0);
        for q in 0..(365 * 96) {
            let naive = start + chrono::Duration::minutes(15 * q);
            for tz in zones {
                let want = tz.from_local_datetime(&naive).map(|t| t.naive_utc());
                match want {
                    LocalResult::None => gaps += 1,
                    LocalResult::Ambiguous(..) => repeats += 1,
                    LocalResult::Single(_) => {}
                }
                assert_eq!(local_to_utc(tz, naive), want, "{naive} in {tz}");
                assert_eq!(local_to_utc(tz, naive), want, "{naive} in {tz}, again");
            }
        }
        // Each of the two zones with daylight saving: one hour skipped and one repeated in spring and autumn.
        assert_eq!((gaps, repeats), (8, 8));
    }

    /// The day arithmetic agrees with chrono on every day from 1600 to 2400 (leap centuries included), and refuses
    /// what chrono refuses.
    #[test]
    fn days_from_civil_agrees_with_chrono() {
        let mut d = NaiveDate::from_ymd_opt(1600, 1, 1).unwrap();
        while d.year() < 2400 {
            let want = d.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE;
            assert_eq!(days_from_civil(d.year(), d.month(), d.day()), Some(want), "{d}");
            d = d.succ_opt().unwrap();
        }
        for (y, m, day) in [
            (2026, 2, 29),
            (1900, 2, 29),
            (2026, 4, 31),
            (2026, 13, 1),
            (2026, 0, 1),
            (2026, 1, 0),
        ] {
            assert_eq!(days_from_civil(y, m, day), None, "{y}-{m}-{day}");
            assert!(NaiveDate::from_ymd_opt(y, m, day).is_none());
        }
        assert_eq!(days_from_civil(2000, 2, 29), Some(11_016));
    }

    /// Every 7 minutes of 2026 (so every hour's minutes come round) in three zones, written as an export writes them:
    /// the instant chrono-tz gives, the earlier one in a repeated hour, an error in a skipped hour.
    #[test]
    fn text_timestamps_read_as_chrono_tz_reads_them() {
        let zones = [chrono_tz::America::New_York, chrono_tz::Europe::London, SH];
        let start = NaiveDate::from_ymd_opt(2026, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        for k in 0..(365 * 24 * 60 / 7) {
            let naive = start + chrono::Duration::minutes(7 * k) + chrono::Duration::seconds(k % 60);
            let text = naive.format("%Y-%m-%d %H:%M:%S").to_string();
            for tz in zones {
                let want = match tz.from_local_datetime(&naive) {
                    LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.timestamp_micros()),
                    LocalResult::None => None,
                };
                assert_eq!(parse_ts(&text, tz).ok(), want, "{text} in {tz}");
            }
        }
    }

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
    fn back_office_forms_chinese_words_us_months_and_excel_serials() {
        let a = parse_ts("2026-08-03 09:05", SH).unwrap();
        assert_eq!(parse_ts("2026年8月3日 09:05", SH).unwrap(), a);
        assert_eq!(parse_ts("2026年8月3日9时5分", SH).unwrap(), a);
        assert_eq!(parse_ts("2026/8/3 9:05", SH).unwrap(), a);
        // 7:03:57 AM PDT = 14:03:57 UTC = 22:03:57 in Shanghai.
        assert_eq!(
            parse_ts("Sep 14, 2026 7:03:57 AM PDT", SH).unwrap(),
            parse_ts("2026-09-14 22:03:57", SH).unwrap()
        );
        assert_eq!(
            parse_ts("Jul 1, 2026 12:30:00 AM PST", SH).unwrap(),
            parse_ts("2026-07-01T08:30:00Z", SH).unwrap()
        );
        assert_eq!(
            parse_ts("Jul 1, 2026 12:30 PM", SH).unwrap(),
            parse_ts("2026-07-01 12:30", SH).unwrap()
        );
        assert!(parse_ts("Jul 1, 2026 13:30 PM", SH).is_err());
        assert!(parse_ts("Jul 1, 2026 10:00 XYZ", SH).is_err());
        // 46237 = 2026-08-03 (45658 was 2025-01-01); .378472… of a day ≈ 09:05.
        let serial = 46237.0 + (9.0 * 60.0 + 5.0) / 1440.0;
        assert_eq!(excel_serial(serial, SH).unwrap(), a);
        assert!(excel_serial(-3.0, SH).is_err());
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

    /// Q3 2026 in Shanghai ends 2026-10-01 00:00 +08:00 (2026-09-30 16:00 UTC); with 30 maturity days its last
    /// month (September) is mature from 2026-10-31 00:00 +08:00. On 5 October it has ended but is not mature; Q4
    /// has not ended; Q2 is final.
    #[test]
    fn a_quarter_is_provisional_until_it_ends_and_its_last_month_matures() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        let at = |s: &str| parse_ts(s, tz).unwrap();
        let oct5 = at("2026-10-05 09:00:00");
        assert_eq!(quarter_of(oct5, tz), "2026Q4");
        assert_eq!(previous_quarter("2026Q1"), "2025Q4");
        assert_eq!(quarter_end("2026Q3", tz), Some(at("2026-10-01 00:00:00")));
        assert_eq!(
            Provisional::of("2026Q4", oct5, tz, 30),
            Some(Provisional::NotEnded {
                ends: at("2027-01-01 00:00:00")
            })
        );
        assert_eq!(
            Provisional::of("2026Q3", oct5, tz, 30),
            Some(Provisional::NotMature {
                mature_at: at("2026-10-31 00:00:00")
            })
        );
        assert_eq!(Provisional::of("2026Q2", oct5, tz, 30), None);
        // The boundaries: one µs before the end, and the first instant of maturity.
        assert!(matches!(
            Provisional::of("2026Q3", at("2026-10-01 00:00:00") - 1, tz, 30),
            Some(Provisional::NotEnded { .. })
        ));
        assert_eq!(Provisional::of("2026Q3", at("2026-10-31 00:00:00"), tz, 30), None);
        assert_eq!(
            Provisional::of("2026Q3", oct5, tz, 30).unwrap().reason("2026Q3", tz),
            "2026Q3's last month is not mature at as_of (its orders can still be returned until 2026-10-31)"
        );
    }
}
