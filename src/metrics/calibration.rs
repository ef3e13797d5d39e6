//! The judgement on each evaluated week (SPEC §4.4): how much weekly counts vary beyond a binomial (φ), how
//! unlikely the week's returns are under its baseline (p_value, an exact tail), and how many of the week's
//! flags may be luck when every entity is tested every week (q_value, Benjamini–Hochberg).
//!
//! Reads the evaluation rows (level, category, week_idx, n_t, r_t, rate, p0, z) in any order and adds, per row:
//! - `phi`: the median of z² over the evaluation rows of the same level and category in the B weeks before the
//!   row's week, ÷ the median of χ²₁; over the level's rows of every category when that window holds fewer than
//!   [`MIN_DISPERSION_ROWS`] rows; 1 when fewer still; never below 1. A median, so past spikes do not inflate it.
//! - `p_value` = I_p0(r_t/φ, (n_t − r_t)/φ + 1) (1 when r_t = 0);
//! - `q_value`: Benjamini–Hochberg over the rows of the same level and week;
//! - `flagged`: q_value ≤ fdr, r_t ≥ min_returns and rate ≥ min_lift·p0; `severity` `high` when q_value ≤
//!   q_high, else `medium` (null when not flagged).
//!
//! Every input of a week's judgement is that week's or an earlier week's, so data added later never changes the
//! verdict on a week already judged.

use std::collections::HashMap;

use anyhow::Result;
use polars::prelude::*;

use super::columns::{f64s_or_nan, i64s_or_zero};
use super::stats::{CHI2_1_MEDIAN, benjamini_hochberg, binomial_upper_tail, median_of};
use crate::config::RiskParams;

/// Fewer evaluation rows than this in a window and the median of z² says too little: fall back to the level, then
/// to 1.
pub const MIN_DISPERSION_ROWS: usize = 30;

/// Adds phi, p_value, q_value, flagged and severity after `lift`, and drops `week_idx`.
pub fn calibrate(mut eval: DataFrame, r: &RiskParams) -> Result<DataFrame> {
    let level = codes(&eval, "level")?;
    let category = codes(&eval, "category")?;
    let week = i64s_or_zero(&eval, "week_idx")?;
    let n_t = i64s_or_zero(&eval, "n_t")?;
    let r_t = i64s_or_zero(&eval, "r_t")?;
    let p0 = f64s_or_nan(&eval, "p0")?;
    let rate = f64s_or_nan(&eval, "rate")?;
    let z = f64s_or_nan(&eval, "z")?;

    let phi = dispersion(&level, &category, &week, &z, r.baseline_weeks);
    let p_value = p_values(&r_t, &n_t, &p0, &phi);
    let weeks = Weeks::of(&week);
    let mut q_value = vec![1.0; eval.height()];
    let by_week = Cells::of((max_code(&level) + 1) * weeks.len, |add| {
        for i in 0..level.len() {
            add(level[i] as usize * weeks.len + weeks.at(week[i]), i as u32);
        }
    });
    let mut p = Vec::new();
    for rows in by_week.iter() {
        p.clear();
        p.extend(rows.iter().map(|&i| p_value[i as usize]));
        for (&i, q) in rows.iter().zip(benjamini_hochberg(&p)) {
            q_value[i as usize] = q;
        }
    }
    let flagged: Vec<bool> = (0..eval.height())
        .map(|i| n_t[i] > 0 && q_value[i] <= r.fdr && r_t[i] >= r.min_returns && rate[i] >= r.min_lift * p0[i])
        .collect();
    let severity: Vec<Option<&str>> = (0..eval.height())
        .map(|i| flagged[i].then_some(if q_value[i] <= r.q_high { "high" } else { "medium" }))
        .collect();
    let at = eval.get_column_index("lift").expect("evaluation has lift") + 1;
    for (offset, c) in [
        Float64Chunked::from_vec("phi".into(), phi).into_column(),
        Float64Chunked::from_vec("p_value".into(), p_value).into_column(),
        Float64Chunked::from_vec("q_value".into(), q_value).into_column(),
        BooleanChunked::from_slice("flagged".into(), &flagged).into_column(),
        StringChunked::from_iter_options("severity".into(), severity.into_iter()).into_column(),
    ]
    .into_iter()
    .enumerate()
    {
        eval.insert_column(at + offset, c)?;
    }
    eval.drop_in_place("week_idx")?;
    Ok(eval)
}

/// The exact tails, half the rows on a second thread (the incomplete beta is most of the calibration's time at a
/// million rows).
fn p_values(r_t: &[i64], n_t: &[i64], p0: &[f64], phi: &[f64]) -> Vec<f64> {
    let tail = |range: std::ops::Range<usize>| -> Vec<f64> {
        range
            .map(|i| binomial_upper_tail(r_t[i], n_t[i], p0[i], phi[i]))
            .collect()
    };
    let (n, half) = (r_t.len(), r_t.len() / 2);
    let (mut first, second) = std::thread::scope(|s| {
        let second = s.spawn(|| tail(half..n));
        (
            tail(0..half),
            second.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
        )
    });
    first.extend(second);
    first
}

/// A small dense code per distinct value of a text column (its level, its category), so that rows are grouped by
/// indexing, not by hashing text a million times. Rows come sorted by entity, so most rows repeat the value
/// before them and cost one comparison.
fn codes(df: &DataFrame, c: &str) -> Result<Vec<u32>> {
    let s = df.column(c)?.as_materialized_series().cast(&DataType::String)?;
    let mut seen: HashMap<&str, u32> = HashMap::new();
    let mut last: Option<(&str, u32)> = None;
    let mut out = Vec::with_capacity(s.len());
    for v in s.str()?.iter() {
        let v = v.unwrap_or("");
        let code = match last {
            Some((l, code)) if l == v => code,
            _ => {
                let next = seen.len() as u32;
                *seen.entry(v).or_insert(next)
            }
        };
        last = Some((v, code));
        out.push(code);
    }
    Ok(out)
}

fn max_code(c: &[u32]) -> usize {
    c.iter().copied().max().unwrap_or(0) as usize
}

/// The weeks of the evaluation as indices 0..len (week_idx counts ISO weeks, so its range is the data's).
struct Weeks {
    first: i64,
    len: usize,
}

impl Weeks {
    fn of(week: &[i64]) -> Weeks {
        let first = week.iter().copied().min().unwrap_or(0);
        let last = week.iter().copied().max().unwrap_or(0);
        Weeks {
            first,
            len: (last - first + 1).max(1) as usize,
        }
    }

    fn at(&self, w: i64) -> usize {
        (w - self.first) as usize
    }
}

/// Values grouped by a dense cell index, laid out one cell after another in one vector (counted first, then
/// placed): cells next to each other in the index are next to each other in memory, so a run of cells — a window
/// of weeks — is one slice.
struct Cells<T> {
    start: Vec<usize>,
    values: Vec<T>,
}

impl<T: Copy + Default> Cells<T> {
    /// `each` calls its argument once per (cell, value); it is called twice, to count and to place.
    fn of(cells: usize, each: impl Fn(&mut dyn FnMut(usize, T))) -> Cells<T> {
        let mut start = vec![0usize; cells + 1];
        each(&mut |c, _| start[c + 1] += 1);
        for c in 0..cells {
            start[c + 1] += start[c];
        }
        let mut next = start.clone();
        let mut values = vec![T::default(); start[cells]];
        each(&mut |c, v| {
            values[next[c]] = v;
            next[c] += 1;
        });
        Cells { start, values }
    }

    /// The values of cells `from..to`.
    fn run(&self, from: usize, to: usize) -> &[T] {
        &self.values[self.start[from]..self.start[to]]
    }

    /// Every non-empty cell's values.
    fn iter(&self) -> impl Iterator<Item = &[T]> {
        self.start
            .windows(2)
            .map(|w| &self.values[w[0]..w[1]])
            .filter(|v| !v.is_empty())
    }
}

/// φ per row (see the module docs): one median per (level, category, week) and per (level, week), each over the
/// z² of the B weeks before it. Levels and categories as [`codes`].
fn dispersion(level: &[u32], category: &[u32], week: &[i64], z: &[f64], b: i64) -> Vec<f64> {
    let weeks = Weeks::of(week);
    let (levels, cats) = (max_code(level) + 1, max_code(category) + 1);
    // Weeks vary fastest, so the B weeks before week w of one (level, category) are one run of cells.
    let cell = |lv: u32, cat: u32, w: usize| (lv as usize * cats + cat as usize) * weeks.len + w;
    let level_cell = |lv: u32, w: usize| lv as usize * weeks.len + w;
    // z² by (level, category, week) and by (level, week); non-finite z (p0 = 1) say nothing about spread.
    let finite = || (0..z.len()).filter(move |&i| z[i].is_finite());
    let by_cat = Cells::of(levels * cats * weeks.len, |add| {
        for i in finite() {
            add(cell(level[i], category[i], weeks.at(week[i])), z[i] * z[i]);
        }
    });
    let by_level = Cells::of(levels * weeks.len, |add| {
        for i in finite() {
            add(level_cell(level[i], weeks.at(week[i])), z[i] * z[i]);
        }
    });
    let b = b.max(0) as usize;
    let mut scratch: Vec<f64> = Vec::new();
    // The median of a window's values, when it holds enough of them (the values are copied: the median reorders).
    let mut median = |window: &[f64]| -> Option<f64> {
        if window.len() < MIN_DISPERSION_ROWS {
            return None;
        }
        scratch.clear();
        scratch.extend_from_slice(window);
        median_of(&mut scratch)
    };
    let mut level_phi: Vec<Option<Option<f64>>> = vec![None; levels * weeks.len];
    let mut cat_phi: Vec<Option<f64>> = vec![None; levels * cats * weeks.len];
    (0..z.len())
        .map(|i| {
            let (lv, cat, w) = (level[i], category[i], weeks.at(week[i]));
            // The window of week w: the B weeks before it (weeks before the data's first hold nothing).
            let from = w.saturating_sub(b);
            *cat_phi[cell(lv, cat, w)].get_or_insert_with(|| {
                let estimate = median(by_cat.run(cell(lv, cat, from), cell(lv, cat, w))).or_else(|| {
                    *level_phi[level_cell(lv, w)]
                        .get_or_insert_with(|| median(by_level.run(level_cell(lv, from), level_cell(lv, w))))
                });
                estimate.map_or(1.0, |m| (m / CHI2_1_MEDIAN).max(1.0))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 30 rows of category A in the week before (z = 0.1 … 3.0 in steps of 0.1) and one row under test. The even
    /// count's median of z² is the mean of the 15th and 16th: (1.5² + 1.6²) / 2 = (2.25 + 2.56) / 2 = 2.405;
    /// φ = 2.405 / 0.4549364231195724 = 5.28645…  With 29 rows the category falls back to the level (here the
    /// same 29 rows plus one of category B with z = 10: 30 rows, median (1.5² + 1.6²)/2 again). With fewer
    /// than 30 rows at the level too, φ = 1; and a window whose median is below χ²'s gives 1, never less.
    /// Codes as `codes` gives them, from plain strings.
    fn ids(v: &[String]) -> Vec<u32> {
        let mut seen: Vec<&String> = Vec::new();
        v.iter()
            .map(|s| match seen.iter().position(|x| *x == s) {
                Some(i) => i as u32,
                None => {
                    seen.push(s);
                    (seen.len() - 1) as u32
                }
            })
            .collect()
    }

    fn dispersion(level: &[String], category: &[String], week: &[i64], z: &[f64], b: i64) -> Vec<f64> {
        super::dispersion(&ids(level), &ids(category), week, z, b)
    }

    #[test]
    fn phi_is_the_median_of_the_previous_weeks_z_squared_over_the_chi_squared_median() {
        let mut level = vec![];
        let mut cat = vec![];
        let mut week = vec![];
        let mut z = vec![];
        for k in 1..=30 {
            level.push("sku".to_string());
            cat.push("A".to_string());
            week.push(9);
            z.push(k as f64 / 10.0);
        }
        level.push("sku".into());
        cat.push("A".into());
        week.push(10);
        z.push(0.0);
        let phi = dispersion(&level, &cat, &week, &z, 8);
        assert!((phi[30] - 2.405 / 0.454_936_423_119_572_4).abs() < 1e-12, "{}", phi[30]);
        assert!((phi[30] - 5.286_452).abs() < 1e-6);
        // Week 9's own rows have nothing before them: 1.
        assert_eq!(phi[0], 1.0);

        // 29 rows of A (drop z = 3.0) and one of B with z = 10: A's window is short, the level's has 30 rows whose
        // z² sorted are 0.01 … 8.41, 100: the middle two are again 1.5² and 1.6².
        let (mut level2, mut cat2, mut week2, mut z2) = (level.clone(), cat.clone(), week.clone(), z.clone());
        cat2[29] = "B".into();
        z2[29] = 10.0;
        let phi2 = dispersion(&level2, &cat2, &week2, &z2, 8);
        assert!((phi2[30] - 2.405 / CHI2_1_MEDIAN).abs() < 1e-12);

        // Only 29 rows anywhere: 1.
        level2.truncate(29);
        cat2.truncate(29);
        week2.truncate(29);
        z2.truncate(29);
        level2.push("sku".into());
        cat2.push("A".into());
        week2.push(10);
        z2.push(0.0);
        assert_eq!(dispersion(&level2, &cat2, &week2, &z2, 8)[29], 1.0);

        // Small residuals: median z² 0.01 < 0.4549 → φ = 1, not below.
        let z3 = vec![0.1; 31];
        assert_eq!(dispersion(&level, &cat, &week, &z3, 8)[30], 1.0);
        // Outside the window (B = 1 reaches only week 9 from week 10; week 8 rows do not count).
        let week4: Vec<i64> = week.iter().map(|w| if *w == 9 { 8 } else { 10 }).collect();
        assert_eq!(dispersion(&level, &cat, &week4, &z, 1)[30], 1.0);
    }
}
