//! Statistics the metric families share: rates as ratios (null when the denominator is 0) and Wilson score
//! intervals for them.

use polars::prelude::*;

/// The z of a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// `(low, high)` of the Wilson score interval for `x` successes in `n` trials; null where n = 0. Unlike the normal
/// approximation it stays inside [0, 1] and gives a real interval at 0/n and n/n.
pub fn wilson(x: Expr, n: Expr) -> (Expr, Expr) {
    let n = n.cast(DataType::Float64);
    let x = x.cast(DataType::Float64);
    let z2 = Z95 * Z95;
    let p = x.clone() / n.clone();
    let denom = lit(1.0) + lit(z2) / n.clone();
    let center = (p.clone() + lit(z2) / (lit(2.0) * n.clone())) / denom.clone();
    let half = lit(Z95)
        * (p.clone() * (lit(1.0) - p) / n.clone() + lit(z2) / (lit(4.0) * n.clone() * n.clone())).sqrt()
        / denom;
    let ok = n.clone().gt(lit(0.0));
    // At 0 of n the lower bound is 0 and at n of n the upper bound is 1 exactly; the formula leaves a rounding
    // residue there (5.6e-17 for 0 of 3).
    (
        when(ok.clone())
            .then(
                when(x.clone().eq(lit(0.0)))
                    .then(lit(0.0))
                    .otherwise((center.clone() - half.clone()).clip_min(lit(0.0))),
            )
            .otherwise(lit(NULL).cast(DataType::Float64)),
        when(ok)
            .then(
                when(x.eq(n))
                    .then(lit(1.0))
                    .otherwise((center + half).clip_max(lit(1.0))),
            )
            .otherwise(lit(NULL).cast(DataType::Float64)),
    )
}

/// `x / n` as a float, null when n = 0.
pub fn ratio(x: Expr, n: Expr) -> Expr {
    let n = n.cast(DataType::Float64);
    when(n.clone().gt(lit(0.0)))
        .then(x.cast(DataType::Float64) / n)
        .otherwise(lit(NULL).cast(DataType::Float64))
}

/// The median of χ² with one degree of freedom: the median of z² when z is a standard normal. Dividing the median
/// of observed z² by it estimates how much more the counts vary than a binomial says (SPEC §4.4, φ).
pub const CHI2_1_MEDIAN: f64 = 0.454_936_423_119_572_4;

/// P(X ≥ r/φ) for X ~ Binomial(n/φ, p) made continuous: the regularized incomplete beta I_p(r/φ, (n − r)/φ + 1);
/// 1 when r = 0. With φ = 1 it is the exact binomial upper tail P(X ≥ r). Computed in the far tail without the
/// `1 − …` that would lose it (statrs' continued fraction; tested against SciPy down to 1e-65).
pub fn binomial_upper_tail(r: i64, n: i64, p: f64, phi: f64) -> f64 {
    if r <= 0 || n <= 0 {
        return 1.0;
    }
    let phi = phi.max(1.0);
    let a = r as f64 / phi;
    let b = (n - r).max(0) as f64 / phi + 1.0;
    statrs::function::beta::checked_beta_reg(a, b, p.clamp(0.0, 1.0)).unwrap_or(f64::NAN)
}

/// Benjamini–Hochberg q-values, in the order of `p`: with the p-values ascending, q_(i) = min over j ≥ i of
/// m·p_(j)/j, at most 1. Tied p-values get the same q-value.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len() as f64;
    // A p-value of 1 (no return at all, most SKU-weeks) has q = 1 whatever its rank (m·1/j ≥ 1), and ranks after
    // every smaller one: only the others are sorted, with m still the count of all.
    let mut order: Vec<(f64, u32)> = p
        .iter()
        .enumerate()
        .filter(|(_, v)| **v < 1.0)
        .map(|(i, v)| (*v, i as u32))
        .collect();
    order.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let mut q = vec![1.0; p.len()];
    let mut running = 1.0f64;
    for (rank, &(v, i)) in order.iter().enumerate().rev() {
        running = running.min(v * m / (rank + 1) as f64);
        q[i as usize] = running.min(1.0);
    }
    q
}

/// The median; the mean of the two middle values when their count is even; None when empty. Reorders `v`.
pub fn median_of(v: &mut [f64]) -> Option<f64> {
    let n = v.len();
    if n == 0 {
        return None;
    }
    let (_, &mut upper, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    if n % 2 == 1 {
        return Some(upper);
    }
    let lower = v[..n / 2].iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some((lower + upper) / 2.0)
}

/// A probability as a person reads it: 0.0123 or 3.4e-6.
pub fn sci(v: f64) -> String {
    if v >= 0.001 || v == 0.0 {
        format!("{v:.4}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        format!("{v:.1e}")
    }
}

/// "1 in N": the largest of 1,000, 100, 20 and 10 whose share is at least q (None above 0.1).
pub fn luck_odds(q: f64) -> Option<u32> {
    [1000, 100, 20, 10].into_iter().find(|n| q <= 1.0 / f64::from(*n))
}

/// What a q-value means in plain words: "fewer than 1 in 1,000 such flags is luck".
pub fn luck_words(q: f64) -> String {
    match luck_odds(q) {
        Some(1000) => "fewer than 1 in 1,000 such flags is luck".to_string(),
        Some(n) => format!("fewer than 1 in {n} such flags is luck"),
        None => format!("about {:.0} in 100 such flags would be luck", q * 100.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, rel: f64) {
        assert!(
            ((got - want) / want).abs() <= rel,
            "got {got:e}, want {want:e} (relative error {:e})",
            ((got - want) / want).abs()
        );
    }

    /// Reference values from SciPy 1.x, `scipy.special.betainc(a, b, x)` (= `binom.sf(r − 1, n, p)` for whole
    /// a, b), run once; the far tail matters because Benjamini–Hochberg ranks these values.
    #[test]
    fn the_exact_tail_agrees_with_scipy_far_into_the_tail() {
        // R = 12 of N = 57 at p0 = 0.068: exact 3.85e-4. The normal approximation of z = 4.2743 says 9.58e-6,
        // forty times too small: a small week looks significant by orders of magnitude more than it is.
        close(
            binomial_upper_tail(12, 57, 0.068, 1.0),
            0.000_385_266_946_647_091_55,
            1e-10,
        );
        let z = (12.0 - 57.0 * 0.068) / (57.0f64 * 0.068 * 0.932).sqrt();
        assert!((z - 4.274_349_935_061_243).abs() < 1e-12);
        close(binomial_upper_tail(40, 200, 0.05, 1.0), 6.388_069_393_022_489e-14, 1e-9);
        close(binomial_upper_tail(60, 200, 0.05, 1.0), 5.282_389_253_739_885e-30, 1e-9);
        close(
            binomial_upper_tail(100, 999, 0.01, 1.0),
            7.521_699_640_416_522_6e-65,
            1e-9,
        );
        close(
            binomial_upper_tail(200, 10_000, 0.005, 1.0),
            6.532_501_929_150_328e-58,
            1e-8,
        );
        // φ = 1.7: a = 30/1.7, b = 370/1.7 + 1.
        close(
            binomial_upper_tail(30, 400, 0.03, 1.7),
            0.000_444_446_876_775_148_34,
            1e-9,
        );
        assert_eq!(binomial_upper_tail(0, 57, 0.068, 1.0), 1.0);
    }

    /// p = [0.01, 0.04, 0.04, 0.03, 0.20], m = 5. Ascending: 0.01 (1), 0.03 (2), 0.04 (3), 0.04 (4), 0.20 (5);
    /// m·p/rank: 0.05, 0.075, 0.0667, 0.05, 0.20; the minimum from the right: 0.05, 0.05, 0.05, 0.05, 0.20.
    /// Both 0.04s get 0.05 (the tie takes the better rank's value), and so does 0.03, pulled down by them.
    #[test]
    fn benjamini_hochberg_with_ties_by_hand() {
        let q = benjamini_hochberg(&[0.01, 0.04, 0.04, 0.03, 0.20]);
        let want = [0.05, 0.05, 0.05, 0.05, 0.20];
        for (g, w) in q.iter().zip(want) {
            assert!((g - w).abs() < 1e-15, "{q:?}");
        }
        // Capped at 1; one value alone is its own q.
        assert_eq!(benjamini_hochberg(&[0.9, 0.95]), vec![0.95, 0.95]);
        assert_eq!(benjamini_hochberg(&[0.3]), vec![0.3]);
        assert!(benjamini_hochberg(&[]).is_empty());
    }

    #[test]
    fn median_of_an_even_count_is_the_mean_of_the_two_middle_values() {
        assert_eq!(median_of(&mut [4.0, 1.0, 9.0, 2.0]), Some(3.0));
        assert_eq!(median_of(&mut [4.0, 1.0, 9.0]), Some(4.0));
        assert_eq!(median_of(&mut []), None);
    }
}
