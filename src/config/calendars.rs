//! The business calendar of SPEC §3 — Monday–Friday, minus holidays, plus make-up workdays (调休) — and the official
//! calendars bundled with the program (`calendars/*.toml`), selected by name and extended by the config:
//!
//! ```toml
//! calendar = "cn"                 # China's official calendar as published
//! [calendar]                      # or: a base with your own days on top
//! base = "cn"
//! holidays = ["2027-02-05"]       # a year not yet bundled, or a company holiday
//! extra_workdays = ["2026-10-11"]
//! ```
//!
//! The config's own days win over the base's (a holiday listed in the config is a holiday even where the base
//! says workday). A year is described when the base covers it or the config lists a day in it; working-day clocks
//! in a year no calendar describes treat its holidays as working days, and the run says so (`checks::calendar`).

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;

use crate::time;

/// The bundled official calendars: name, what it is, its file.
const BUNDLED: [(&str, &str, &str); 1] = [(
    "cn",
    "China's public holidays and make-up workdays (国务院办公厅 notices)",
    include_str!("../../calendars/cn.toml"),
)];

/// `calendar = "cn"` or a `[calendar]` table.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawCalendarSpec {
    Name(String),
    Table(RawCalendar),
}

impl Default for RawCalendarSpec {
    fn default() -> Self {
        RawCalendarSpec::Table(RawCalendar::default())
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCalendar {
    /// A bundled calendar to start from (`cn`).
    pub base: Option<String>,
    #[serde(default)]
    pub holidays: Vec<String>,
    #[serde(default)]
    pub extra_workdays: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Calendar {
    pub holidays: BTreeSet<NaiveDate>,
    pub extra_workdays: BTreeSet<NaiveDate>,
    /// The bundled calendar it starts from, if any.
    pub base: Option<&'static str>,
    /// Years whose holidays the calendar describes (the base's years and every year the config lists a day in).
    pub years: BTreeSet<i32>,
}

impl Calendar {
    pub fn is_workday(&self, d: NaiveDate) -> bool {
        if self.extra_workdays.contains(&d) {
            return true;
        }
        if self.holidays.contains(&d) {
            return false;
        }
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// Whether a year's holidays are known to this calendar.
    pub fn describes(&self, year: i32) -> bool {
        self.years.contains(&year)
    }
}

/// One year of a bundled file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BundledYear {
    holidays: Vec<String>,
    extra_workdays: Vec<String>,
}

/// A bundled calendar by name: its days and years.
fn bundled(name: &str) -> Option<(&'static str, Calendar)> {
    let (name, _, text) = BUNDLED.iter().find(|(n, _, _)| *n == name)?;
    let years: std::collections::BTreeMap<String, BundledYear> =
        toml::from_str(text).expect("a bundled calendar is valid TOML (tested)");
    let mut c = Calendar {
        base: Some(name),
        ..Calendar::default()
    };
    for (y, days) in years {
        c.years
            .insert(y.parse().expect("a bundled calendar's tables are years (tested)"));
        for (list, set) in [
            (&days.holidays, &mut c.holidays),
            (&days.extra_workdays, &mut c.extra_workdays),
        ] {
            for d in list {
                set.insert(time::parse_date(d).expect("a bundled calendar's days are dates (tested)"));
            }
        }
    }
    Some((name, c))
}

/// The typed calendar, or the problems found (all of them).
pub fn check(raw: &RawCalendarSpec, problems: &mut Vec<String>) -> Calendar {
    let empty = RawCalendar::default();
    let (base, own) = match raw {
        RawCalendarSpec::Name(n) => (Some(n.as_str()), &empty),
        RawCalendarSpec::Table(t) => (t.base.as_deref(), t),
    };
    let mut calendar = match base {
        None => Calendar::default(),
        Some(name) => match bundled(name) {
            Some((_, c)) => c,
            None => {
                let known: Vec<String> = BUNDLED.iter().map(|(n, what, _)| format!("'{n}' ({what})")).collect();
                problems.push(format!(
                    "calendar '{name}' is not bundled: the calendars are {}; or list holidays and extra_workdays under [calendar]",
                    known.join(", ")
                ));
                Calendar::default()
            }
        },
    };
    let (mut holidays, mut workdays) = (BTreeSet::new(), BTreeSet::new());
    for (list, set, name) in [
        (&own.holidays, &mut holidays, "calendar.holidays"),
        (&own.extra_workdays, &mut workdays, "calendar.extra_workdays"),
    ] {
        for d in list {
            match time::parse_date(d) {
                Ok(d) => {
                    set.insert(d);
                }
                Err(e) => problems.push(format!("{name}: {e}")),
            }
        }
    }
    for d in holidays.intersection(&workdays) {
        problems.push(format!(
            "calendar: {d} is listed both as a holiday and as an extra workday"
        ));
    }
    for d in &holidays {
        calendar.extra_workdays.remove(d);
        calendar.holidays.insert(*d);
        calendar.years.insert(d.year());
    }
    for d in &workdays {
        calendar.holidays.remove(d);
        calendar.extra_workdays.insert(*d);
        calendar.years.insert(d.year());
    }
    calendar
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        time::parse_date(s).unwrap()
    }

    /// Every bundled file parses, its tables are years, its days lie in their year, and no day is both.
    #[test]
    fn every_bundled_calendar_is_well_formed() {
        for (name, _, text) in BUNDLED {
            let years: std::collections::BTreeMap<String, BundledYear> = toml::from_str(text).unwrap();
            for (y, days) in &years {
                let y: i32 = y.parse().unwrap();
                for day in days.holidays.iter().chain(&days.extra_workdays) {
                    assert_eq!(d(day).year(), y, "{name}: {day} under {y}");
                }
                for w in &days.extra_workdays {
                    assert!(
                        matches!(d(w).weekday(), Weekday::Sat | Weekday::Sun),
                        "{name}: make-up workday {w} is not a weekend day"
                    );
                    assert!(!days.holidays.contains(w), "{name}: {w} both");
                }
            }
            assert!(bundled(name).is_some());
        }
    }

    /// 2026's National Day and Mid-Autumn as the notice gives them: 1–7 October off, Saturday 10 October and Sunday
    /// 20 September worked; 2026-02-14 (Saturday) worked before the Spring Festival.
    #[test]
    fn cn_2026_follows_the_notice() {
        let mut problems = Vec::new();
        let c = check(&RawCalendarSpec::Name("cn".into()), &mut problems);
        assert!(problems.is_empty());
        for off in ["2026-10-01", "2026-10-07", "2026-09-25", "2026-02-16", "2026-01-02"] {
            assert!(!c.is_workday(d(off)), "{off}");
        }
        for on in ["2026-10-10", "2026-09-20", "2026-02-14", "2026-10-08", "2026-01-04"] {
            assert!(c.is_workday(d(on)), "{on}");
        }
        assert!(c.describes(2026) && c.describes(2018) && !c.describes(2027) && !c.describes(2017));
    }

    /// The config's days go on top of the base's and win where they disagree; a listed day describes its year.
    #[test]
    fn config_days_extend_and_override_the_base() {
        let raw: RawCalendarSpec = toml::from_str::<std::collections::BTreeMap<String, RawCalendarSpec>>(
            "[calendar]\nbase = \"cn\"\nholidays = [\"2027-02-05\", \"2026-10-10\"]\nextra_workdays = [\"2026-10-07\"]",
        )
        .unwrap()
        .remove("calendar")
        .unwrap();
        let mut problems = Vec::new();
        let c = check(&raw, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(!c.is_workday(d("2027-02-05")) && c.describes(2027));
        assert!(!c.is_workday(d("2026-10-10")));
        assert!(c.is_workday(d("2026-10-07")));
        assert!(!c.is_workday(d("2026-10-06")));
    }

    /// The sample config writes 2026 out day by day; it is the bundled calendar's 2026.
    #[test]
    fn the_generators_2026_is_the_bundled_2026() {
        let (_, cn) = bundled("cn").unwrap();
        let in_2026 = |s: &BTreeSet<NaiveDate>| s.iter().filter(|d| d.year() == 2026).copied().collect::<Vec<_>>();
        let days = |v: &[&str]| v.iter().map(|s| d(s)).collect::<Vec<_>>();
        assert_eq!(in_2026(&cn.holidays), days(crate::generate::HOLIDAYS_2026));
        assert_eq!(in_2026(&cn.extra_workdays), days(crate::generate::EXTRA_WORKDAYS_2026));
    }

    #[test]
    fn an_unknown_calendar_names_the_bundled_ones() {
        let mut problems = Vec::new();
        check(&RawCalendarSpec::Name("jp".into()), &mut problems);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("calendar 'jp' is not bundled: the calendars are 'cn' (China's"),
            "{}",
            problems[0]
        );
    }
}
