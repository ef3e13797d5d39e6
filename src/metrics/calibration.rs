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

use super::columns::{f64s_or_nan, i64s_or_zero, strs_or_empty};
use super::stats::{CHI2_1_MEDIAN, benjamini_hochberg, binomial_upper_tail, median_of};
use crate::config::RiskParams;

/// Fewer evaluation rows than this in a window and the median of z² says too little: fall back to the level, then
/// to 1.
pub const MIN_DISPERSION_ROWS: usize = 30;

/// Adds phi, p_value, q_value, flagged and severity after `lift`, and drops `week_idx`.
pub fn calibrate(mut eval: DataFrame, r: &RiskParams) -> Result<DataFrame> {
    let level = strs_or_empty(&eval, "level")?;
    let category = strs_or_empty(&eval, "category")?;
    let week = i64s_or_zero(&eval, "week_idx")?;
    let n_t = i64s_or_zero(&eval, "n_t")?;
    let r_t = i64s_or_zero(&eval, "r_t")?;
    let p0 = f64s_or_nan(&eval, "p0")?;
    let rate = f64s_or_nan(&eval, "rate")?;
    let z = f64s_or_nan(&eval, "z")?;

    let phi = dispersion(&level, &category, &week, &z, r.baseline_weeks);
    let p_value: Vec<f64> = (0..eval.height())
        .map(|i| binomial_upper_tail(r_t[i], n_t[i], p0[i], phi[i]))
        .collect();
    let mut q_value = vec![1.0; eval.height()];
    let mut by_week: HashMap<(&str, i64), Vec<usize>> = HashMap::new();
    for i in 0..eval.height() {
        by_week.entry((level[i].as_str(), week[i])).or_default().push(i);
    }
    for rows in by_week.values() {
        let p: Vec<f64> = rows.iter().map(|&i| p_value[i]).collect();
        for (&i, q) in rows.iter().zip(benjamini_hochberg(&p)) {
            q_value[i] = q;
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

/// φ per row (see the module docs): one median per (level, category, week) and per (level, week), each over the
/// z² of the B weeks before it.
fn dispersion(level: &[String], category: &[String], week: &[i64], z: &[f64], b: i64) -> Vec<f64> {
    // z² by (level, category, week) and by (level, week); non-finite z (p0 = 1) say nothing about spread.
    let mut by_cat: HashMap<(&str, &str, i64), Vec<f64>> = HashMap::new();
    let mut by_level: HashMap<(&str, i64), Vec<f64>> = HashMap::new();
    for i in 0..z.len() {
        if z[i].is_finite() {
            let z2 = z[i] * z[i];
            by_cat
                .entry((level[i].as_str(), category[i].as_str(), week[i]))
                .or_default()
                .push(z2);
            by_level.entry((level[i].as_str(), week[i])).or_default().push(z2);
        }
    }
    fn window<'v>(w: i64, b: i64, get: impl Fn(i64) -> Option<&'v Vec<f64>>) -> Vec<f64> {
        (w - b..w).filter_map(get).flatten().copied().collect()
    }
    let mut level_phi: HashMap<(&str, i64), Option<f64>> = HashMap::new();
    let mut cat_phi: HashMap<(&str, &str, i64), f64> = HashMap::new();
    (0..z.len())
        .map(|i| {
            let (lv, cat, w) = (level[i].as_str(), category[i].as_str(), week[i]);
            *cat_phi.entry((lv, cat, w)).or_insert_with(|| {
                let mut v = window(w, b, |k| by_cat.get(&(lv, cat, k)));
                let estimate = if v.len() >= MIN_DISPERSION_ROWS {
                    median_of(&mut v)
                } else {
                    *level_phi.entry((lv, w)).or_insert_with(|| {
                        let mut v = window(w, b, |k| by_level.get(&(lv, k)));
                        (v.len() >= MIN_DISPERSION_ROWS).then(|| median_of(&mut v)).flatten()
                    })
                };
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
