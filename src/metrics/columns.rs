//! A metric table's columns as plain vectors, for the steps that walk rows in order (dispersion, episodes, the
//! merchant judgements, flag reasons). Each value is cast first, so an integer count reads as f64 and a date as text.

use anyhow::Result;
use polars::prelude::*;

fn cast(df: &DataFrame, c: &str, to: DataType) -> Result<Series> {
    Ok(df.column(c)?.as_materialized_series().cast(&to)?)
}

pub fn strs(df: &DataFrame, c: &str) -> Result<Vec<Option<String>>> {
    Ok(cast(df, c, DataType::String)?
        .str()?
        .iter()
        .map(|v| v.map(str::to_string))
        .collect())
}

pub fn f64s(df: &DataFrame, c: &str) -> Result<Vec<Option<f64>>> {
    Ok(cast(df, c, DataType::Float64)?.f64()?.iter().collect())
}

pub fn i64s(df: &DataFrame, c: &str) -> Result<Vec<Option<i64>>> {
    Ok(cast(df, c, DataType::Int64)?.i64()?.iter().collect())
}

pub fn bools(df: &DataFrame, c: &str) -> Result<Vec<Option<bool>>> {
    Ok(cast(df, c, DataType::Boolean)?.bool()?.iter().collect())
}

/// Missing values as `""`, NaN, 0: for columns the table never leaves empty, or where empty reads as that.
pub fn strs_or_empty(df: &DataFrame, c: &str) -> Result<Vec<String>> {
    Ok(cast(df, c, DataType::String)?
        .str()?
        .iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect())
}

pub fn f64s_or_nan(df: &DataFrame, c: &str) -> Result<Vec<f64>> {
    let s = cast(df, c, DataType::Float64)?;
    Ok(values_or(s.f64()?, f64::NAN))
}

pub fn i64s_or_zero(df: &DataFrame, c: &str) -> Result<Vec<i64>> {
    let s = cast(df, c, DataType::Int64)?;
    Ok(values_or(s.i64()?, 0))
}

/// A numeric column's values chunk by chunk, `missing` where null: a chunk without nulls is one copy of its
/// values (a row-at-a-time iterator over a million rows costs more than the work done with them).
fn values_or<T: PolarsNumericType>(ca: &ChunkedArray<T>, missing: T::Native) -> Vec<T::Native> {
    let mut out = Vec::with_capacity(ca.len());
    for arr in ca.downcast_iter() {
        match arr.validity().filter(|v| v.unset_bits() > 0) {
            None => out.extend_from_slice(arr.values()),
            Some(valid) => out.extend(
                arr.values()
                    .iter()
                    .zip(valid.iter())
                    .map(|(&v, ok)| if ok { v } else { missing }),
            ),
        }
    }
    out
}
