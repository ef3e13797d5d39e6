//! Implausible timestamps (SPEC §2): a typo such as `9999-12-31` must not move as_of, the report's quarter, any
//! clock or the run time. Once every table is loaded, an event timestamp earlier than `earliest_plausible` or later
//! than `latest_plausible` rejects its row; a deadline (`promised_at`) may lie up to [`DEADLINE_GRACE_DAYS`] beyond
//! `latest_plausible`.
//!
//! `latest_plausible` defaults to 31 days after the 99.99th percentile (nearest rank) of every event timestamp of
//! every table: the data's own last days stay, a handful of far-future typos go. It depends on the data and the
//! config alone — never the wall clock — so a re-run gives the same result.

use std::collections::BTreeMap;

use anyhow::Result;
use chrono_tz::Tz;
use polars::prelude::*;

use super::footer;
use super::load::{LoadedTable, ROW_NUMBER, Reject, SOURCE_IDX};
use crate::config::Config;
use crate::tables::TableKind;
use crate::time::{self, Micros};
use crate::workdir::WorkDir;

const DAY: Micros = 86_400_000_000;
/// Days after the percentile that are still the data's own.
pub const MARGIN_DAYS: i64 = 31;
/// A promised delivery may lie this far beyond `latest_plausible`.
pub const DEADLINE_GRACE_DAYS: i64 = 365;
/// The percentile of event timestamps the default `latest_plausible` is measured from, in parts per 10,000.
pub const PERCENTILE_BP: u64 = 9_999;

/// The window a timestamp must fall in, and where its end came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub earliest: Micros,
    pub latest: Micros,
    /// The 99.99th percentile the default `latest` was measured from; None when the config set `latest`.
    pub percentile: Option<Micros>,
}

impl Bounds {
    pub fn latest_deadline(&self) -> Micros {
        self.latest.saturating_add(DEADLINE_GRACE_DAYS * DAY)
    }
}

/// Rows set aside per table.
pub type Rejected = BTreeMap<TableKind, u64>;

/// Finds the bounds and moves every row outside them to its table's rejects. None when no table has an event
/// timestamp (nothing to measure, nothing to reject).
pub fn apply(
    tables: &mut BTreeMap<TableKind, LoadedTable>,
    config: &Config,
    work: Option<&WorkDir>,
) -> Result<Option<(Bounds, Rejected)>> {
    let tz = config.timezone;
    // The percentile is the m-th largest event timestamp, m = n − rank + 1 ≈ n/10,000. Where the Parquet footers of
    // the files this program wrote tell each row group's extremes and count (`footer::row_groups`), they give n
    // and a floor that at least m values reach, and only values at or above the floor are read: the row groups
    // below it are skipped by the reader, so a run reads a row group or two per column. Any other column is read
    // whole, one at a time, keeping its largest n/10,000 + 2 values.
    let values_at_most: u64 = tables
        .iter()
        .map(|(k, t)| t.height() as u64 * k.schema().event_ts_columns().count() as u64)
        .sum();
    let keep = (values_at_most / 10_000 + 2) as usize;
    let mut n: u64 = 0;
    let mut top: Vec<Micros> = Vec::new();
    let mut extremes: BTreeMap<(TableKind, &'static str), (Micros, Micros)> = BTreeMap::new();
    let mut known: Vec<(TableKind, &'static str, Vec<footer::GroupStats>)> = Vec::new();
    for (kind, t) in tables.iter() {
        if t.height() == 0 {
            continue;
        }
        let files = t.own_parquet_files();
        for c in kind.schema().ts_columns() {
            if let Some(groups) = files.as_deref().and_then(|f| footer::row_groups(f, c)) {
                let spans = groups.iter().filter_map(|g| g.span);
                if let Some(lo) = spans.clone().map(|s| s.0).min()
                    && let Some(hi) = spans.map(|s| s.1).max()
                {
                    extremes.insert((*kind, c), (lo, hi));
                }
                if c != "promised_at" {
                    n += groups.iter().map(|g| g.values).sum::<u64>();
                    known.push((*kind, c, groups));
                }
                continue;
            }
            let df = t.lazy()?.select([col(c).cast(DataType::Int64)]).collect()?;
            let s = df.column(c)?.as_materialized_series().i64()?.clone();
            let (Some(lo), Some(hi)) = (s.min(), s.max()) else {
                continue;
            };
            extremes.insert((*kind, c), (lo, hi));
            if c == "promised_at" {
                continue;
            }
            let mut v: Vec<Micros> = Vec::with_capacity(s.len() - s.null_count());
            for chunk in s.downcast_iter() {
                v.extend(chunk.non_null_values_iter());
            }
            n += v.len() as u64;
            if v.len() > keep {
                let cut = v.len() - keep;
                v.select_nth_unstable(cut);
                v.drain(..cut);
            }
            top.extend(v);
        }
    }
    if n == 0 {
        return Ok(None);
    }
    let (latest, percentile) = match config.latest_plausible {
        Some(l) => (l, None),
        None => {
            let m = n - nearest_rank_index(n, PERCENTILE_BP) + 1;
            let floor = floor_reached_by(&known, m);
            for (kind, c, groups) in &known {
                if !groups.iter().any(|g| g.span.is_some_and(|(_, hi)| hi >= floor)) {
                    continue;
                }
                let at = lit(floor).cast(crate::time::ts_dtype());
                let df = tables[kind]
                    .lazy()?
                    .filter(col(*c).gt_eq(at))
                    .select([col(*c).cast(DataType::Int64)])
                    .collect()?;
                let s = df.column(c)?.as_materialized_series().i64()?.clone();
                for chunk in s.downcast_iter() {
                    top.extend(chunk.non_null_values_iter());
                }
            }
            let p = from_the_top(&mut top, n, PERCENTILE_BP);
            (p.saturating_add(MARGIN_DAYS * DAY), Some(p))
        }
    };
    drop(top);
    let bounds = Bounds {
        earliest: config.earliest_plausible,
        latest,
        percentile,
    };
    let mut rejected = Rejected::new();
    for (kind, t) in tables.iter_mut() {
        let outside = kind.schema().ts_columns().any(|c| {
            extremes
                .get(&(*kind, c))
                .is_some_and(|(lo, hi)| *lo < bounds.earliest || *hi > upper(&bounds, c))
        });
        if !outside {
            continue;
        }
        let found = implausible_rows(*kind, t, &bounds, tz)?;
        rejected.insert(*kind, found.len() as u64);
        t.reject_rows(found, work)?;
    }
    Ok(Some((bounds, rejected)))
}

fn upper(b: &Bounds, column: &str) -> Micros {
    if column == "promised_at" {
        b.latest_deadline()
    } else {
        b.latest
    }
}

/// A value that at least `m` of the row groups' values reach: the least minimum among the row groups of greatest
/// minimum that together hold `m` values (each of their values is at least its group's minimum). i64::MIN when
/// they hold fewer.
fn floor_reached_by(known: &[(TableKind, &'static str, Vec<footer::GroupStats>)], m: u64) -> Micros {
    let mut groups: Vec<(Micros, u64)> = known
        .iter()
        .flat_map(|(_, _, g)| g.iter().filter_map(|g| g.span.map(|(lo, _)| (lo, g.values))))
        .collect();
    groups.sort_unstable_by_key(|g| std::cmp::Reverse(g.0));
    let mut held = 0;
    for (lo, values) in groups {
        held += values;
        if held >= m {
            return lo;
        }
    }
    Micros::MIN
}

/// [`nearest_rank`] of `n` values, given only the largest of them (at least n − rank + 1).
fn from_the_top(top: &mut [Micros], n: u64, bp: u64) -> Micros {
    let rank = nearest_rank_index(n, bp);
    let m = (n - rank + 1) as usize; // the m-th largest
    top.sort_unstable_by(|a, b| b.cmp(a));
    top[(m - 1).min(top.len() - 1)]
}

/// The 1-based rank [`nearest_rank`] takes among `n` sorted values.
fn nearest_rank_index(n: u64, bp: u64) -> u64 {
    (n * bp).div_ceil(10_000).clamp(1, n.max(1))
}

/// The value at rank ⌈n·bp/10000⌉ (1-based) of the sorted values, in integers so no rounding moves the rank. Below
/// 10,000 values that rank is the maximum itself: the default bound then catches no typo (docs/inputs.md).
pub fn nearest_rank(values: &mut [Micros], bp: u64) -> Micros {
    let rank = nearest_rank_index(values.len() as u64, bp);
    *values.select_nth_unstable(rank as usize - 1).1
}

/// The rows of one table with a timestamp outside the bounds, each with the reject for its first such column.
fn implausible_rows(kind: TableKind, t: &LoadedTable, b: &Bounds, tz: Tz) -> Result<Vec<(u32, Reject)>> {
    let cols: Vec<&'static str> = kind.schema().ts_columns().collect();
    let out_of = |c: &str| {
        let v = col(c).cast(DataType::Int64);
        v.clone().lt(lit(b.earliest)).or(v.gt(lit(upper(b, c))))
    };
    let any = cols
        .iter()
        .map(|c| out_of(c))
        .reduce(|a, e| a.or(e))
        .unwrap_or(lit(false));
    let mut select: Vec<Expr> = cols.iter().map(|c| col(*c).cast(DataType::Int64)).collect();
    select.push(col(SOURCE_IDX));
    select.push(col(ROW_NUMBER));
    let df = t.lazy()?.filter(any).select(select).collect()?;
    let src = df.column(SOURCE_IDX)?.u32()?.clone();
    let rows = df.column(ROW_NUMBER)?.u64()?.clone();
    let values: Vec<Int64Chunked> = cols
        .iter()
        .map(|c| Ok(df.column(c)?.i64()?.clone()))
        .collect::<Result<_>>()?;
    let mut found = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let (Some(s), Some(row)) = (src.get(i), rows.get(i)) else {
            continue;
        };
        let Some((c, v)) = cols
            .iter()
            .zip(&values)
            .filter_map(|(c, v)| v.get(i).map(|v| (*c, v)))
            .find(|(c, v)| *v < b.earliest || *v > upper(b, c))
        else {
            continue;
        };
        let source_file = t.files.get(s as usize).map(|f| f.file.clone()).unwrap_or_default();
        found.push((
            s,
            Reject {
                source_file,
                row_number: row,
                column: c.to_string(),
                value: time::format_local(v, tz),
                problem: problem(c, v, b, tz),
            },
        ));
    }
    Ok(found)
}

fn problem(column: &str, v: Micros, b: &Bounds, tz: Tz) -> String {
    let show = |t| time::format_local(t, tz);
    if v < b.earliest {
        return format!(
            "{} is earlier than earliest_plausible ({}): a typo or a placeholder date? Set earliest_plausible in the config if such dates are real",
            show(v),
            show(b.earliest)
        );
    }
    let whence = match b.percentile {
        Some(p) => format!(
            "{MARGIN_DAYS} days after {}, the 99.99th percentile of the inputs' event timestamps",
            show(p)
        ),
        None => "set in the config".to_string(),
    };
    if column == "promised_at" {
        format!(
            "{} is more than {DEADLINE_GRACE_DAYS} days after latest_plausible ({}, {whence}): a deadline that far out is a typo. Set latest_plausible in the config if it is real",
            show(v),
            show(b.latest)
        )
    } else {
        format!(
            "{} is later than latest_plausible ({}, {whence}): a typo? Set latest_plausible in the config if such dates are real",
            show(v),
            show(b.latest)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_percentile_from_the_largest_values_is_the_percentile_of_all() {
        // 0 … 24,997 in a scrambled order (7,919 is prime to 24,998), and 2 typos far beyond: 25,000 values, rank
        // ⌈24,997.5⌉ = 24,998 is the largest value that is not a typo.
        let mut all: Vec<i64> = (0..24_998).map(|i| (i * 7_919) % 24_998).collect();
        all.insert(10, i64::MAX);
        all.insert(20_000, 9_000_000);
        let want = nearest_rank(&mut all.clone(), 9_999);
        assert_eq!(want, 24_997);
        // Each half keeps only its largest n/10,000 + 2 values.
        let keep = 25_000 / 10_000 + 2;
        let mut top = Vec::new();
        for half in all.chunks(12_500) {
            let mut v = half.to_vec();
            let cut = v.len() - keep;
            v.select_nth_unstable(cut);
            top.extend_from_slice(&v[cut..]);
        }
        assert_eq!(from_the_top(&mut top, 25_000, 9_999), want);
    }

    /// Row groups with minimums 50 (3 values), 40 (5), 10 (100) and one without values: 6 values reach 40 (the
    /// groups of 50 and 40 hold 8 ≥ 6), 9 reach 10, 200 are more than all hold.
    #[test]
    fn the_floor_is_a_minimum_that_enough_values_reach() {
        let g = |lo: i64, values: u64| footer::GroupStats {
            span: (values > 0).then_some((lo, lo + 5)),
            values,
        };
        let known = vec![
            (TableKind::Orders, "ordered_at", vec![g(10, 100), g(50, 3)]),
            (TableKind::Cases, "opened_at", vec![g(40, 5), g(0, 0)]),
        ];
        assert_eq!(floor_reached_by(&known, 3), 50);
        assert_eq!(floor_reached_by(&known, 6), 40);
        assert_eq!(floor_reached_by(&known, 9), 10);
        assert_eq!(floor_reached_by(&known, 200), i64::MIN);
    }

    #[test]
    fn nearest_rank_takes_the_ceiling_rank() {
        let mut v: Vec<i64> = (1..=10_000).rev().collect();
        assert_eq!(nearest_rank(&mut v, 9_999), 9_999);
        let mut v: Vec<i64> = (1..=20_000).collect();
        v[0] = i64::MAX; // one far-future typo among 20,000: rank 19,998 of the sorted values
        assert_eq!(nearest_rank(&mut v, 9_999), 19_999);
        let mut v = vec![5];
        assert_eq!(nearest_rank(&mut v, 9_999), 5);
        // Below 10,000 values the rank is the maximum.
        let mut v = vec![3, 9_999, 1, 2];
        assert_eq!(nearest_rank(&mut v, 9_999), 9_999);
    }
}
