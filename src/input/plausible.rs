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
    // Every event timestamp, and each column's extremes (most runs need no second look at any table).
    let mut all: Vec<Micros> = Vec::new();
    let mut extremes: BTreeMap<(TableKind, &'static str), (Micros, Micros)> = BTreeMap::new();
    for (kind, t) in tables.iter() {
        let cols: Vec<&'static str> = kind.schema().ts_columns().collect();
        if cols.is_empty() || t.height() == 0 {
            continue;
        }
        let df = t
            .lazy()?
            .select(cols.iter().map(|c| col(*c).cast(DataType::Int64)).collect::<Vec<_>>())
            .collect()?;
        for c in &cols {
            let s = df.column(c)?.as_materialized_series().i64()?.clone();
            let (Some(lo), Some(hi)) = (s.min(), s.max()) else {
                continue;
            };
            extremes.insert((*kind, c), (lo, hi));
            if *c != "promised_at" {
                all.reserve(s.len() - s.null_count());
                for chunk in s.downcast_iter() {
                    all.extend(chunk.non_null_values_iter());
                }
            }
        }
    }
    if all.is_empty() {
        return Ok(None);
    }
    let (latest, percentile) = match config.latest_plausible {
        Some(l) => (l, None),
        None => {
            let p = nearest_rank(&mut all, PERCENTILE_BP);
            (p.saturating_add(MARGIN_DAYS * DAY), Some(p))
        }
    };
    drop(all);
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

/// The value at rank ⌈n·bp/10000⌉ (1-based) of the sorted values, in integers so no rounding moves the rank — but
/// never the largest of two or more values: below 10,000 values that rank is the maximum itself, and a single typo
/// would set its own bound. So in a small export one typo is still caught (two are not: see docs/inputs.md).
pub fn nearest_rank(values: &mut [Micros], bp: u64) -> Micros {
    let n = values.len() as u64;
    let rank = (n * bp).div_ceil(10_000).min(n.saturating_sub(1)).max(1);
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
    fn nearest_rank_takes_the_ceiling_rank() {
        let mut v: Vec<i64> = (1..=10_000).rev().collect();
        assert_eq!(nearest_rank(&mut v, 9_999), 9_999);
        let mut v: Vec<i64> = (1..=20_000).collect();
        v[0] = i64::MAX; // one far-future typo among 20,000: rank 19,998 of the sorted values
        assert_eq!(nearest_rank(&mut v, 9_999), 19_999);
        let mut v = vec![5];
        assert_eq!(nearest_rank(&mut v, 9_999), 5);
        // Below 10,000 values the rank would be the maximum: the second largest is taken instead.
        let mut v = vec![3, 9_999, 1, 2];
        assert_eq!(nearest_rank(&mut v, 9_999), 3);
    }
}
