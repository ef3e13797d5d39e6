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
