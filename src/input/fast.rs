//! The Parquet fast path: a file whose columns already have canonical types (what `aftersales convert` writes,
//! or any typed export: text as strings, integers, decimals with ≤ 2 places, zoned timestamps) is checked with
//! vectorised expressions instead of cell by cell.
//!
//! The vectorised check only decides which rows are certainly clean. Clean rows are normalised in bulk (ids and
//! text trimmed, empty text as null, enums lowercased, money as Decimal(18, 2), instants in UTC); every other row
//! goes through the row-by-row parser, which accepts or rejects it with the same message as a CSV row would get.
//! So the fast path can never accept what the parser would reject or word a reject differently: at worst it
//! sends a good row the slow way. Files with other types (floats for money, naive timestamps, text for numbers)
//! or a value map on an enum column are read row by row altogether.

use polars::prelude::*;

use crate::config::TableConfig;
use crate::tables::{ColumnKind, MAX_CELL_BYTES, MAX_MONEY, TableSchema};
use crate::time::ts_dtype;

use super::lineage::{ROW_NUMBER, SOURCE_IDX};

/// The canonical dtype a loaded column has.
pub fn canonical_dtype(kind: &ColumnKind) -> DataType {
    match kind {
        ColumnKind::Id | ColumnKind::Text | ColumnKind::Enum(_) => DataType::String,
        ColumnKind::Int { .. } => DataType::Int64,
        ColumnKind::Money { places, .. } => DataType::Decimal(18, *places as usize),
        ColumnKind::Ts => ts_dtype(),
    }
}

/// Whether a file column of `dtype` can feed a schema column of `kind` without the cell parser.
fn eligible(kind: &ColumnKind, dtype: &DataType) -> bool {
    match kind {
        ColumnKind::Id | ColumnKind::Text | ColumnKind::Enum(_) => dtype == &DataType::String,
        ColumnKind::Int { .. } => matches!(
            dtype,
            DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::Int64
                | DataType::UInt8
                | DataType::UInt16
                | DataType::UInt32
        ),
        ColumnKind::Money { places, .. } => {
            matches!(dtype, DataType::Decimal(p, s) if *s <= *places as usize && p - s <= 18 - *places as usize)
        }
        ColumnKind::Ts => matches!(dtype, DataType::Datetime(_, Some(_))),
    }
}

/// A text cell within [`MAX_CELL_BYTES`] (a longer one goes to the parser, which rejects it).
fn short(v: Expr) -> Expr {
    v.clone()
        .is_null()
        .or(v.str().len_bytes().lt_eq(lit(MAX_CELL_BYTES as u32)))
}

/// Whether every value of a text column is already as loading keeps it — not empty, no whitespace at either end,
/// and for an enum (`lower`) lowercase ASCII — so the column is taken as it is instead of normalised into a copy
/// (a file `convert` wrote, and most typed exports: the copies were a quarter of a typed load's CPU).
fn already_clean(c: &Column, lower: bool) -> PolarsResult<bool> {
    Ok(c.str()?.iter().all(|v| match v {
        None => true,
        Some(t) => {
            !t.is_empty()
                && super::parse::trim(t).len() == t.len()
                && (!lower || t.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()))
        }
    }))
}

/// Trimmed text, empty as null.
fn trimmed(e: Expr) -> Expr {
    let t = e.str().strip_chars(lit(NULL));
    when(t.clone().eq(lit("")))
        .then(lit(NULL).cast(DataType::String))
        .otherwise(t)
}

pub struct Split {
    /// Clean rows in canonical types, in schema order, then `_source_idx`, `_row_number`.
    pub clean: DataFrame,
    /// The file's other rows, as read, for the row-by-row parser.
    pub suspect: DataFrame,
    /// The file's data row number of each suspect row.
    pub suspect_rows: Vec<u64>,
}

/// Splits a file's frame into clean and suspect rows. `mapping`: schema column → file column index (from the
/// header check); `offset`: how many of the file's data rows come before `df`'s first. None when the file is not
/// eligible for the fast path.
pub fn split(
    df: &DataFrame,
    mapping: &[Option<usize>],
    schema: &TableSchema,
    tc: &TableConfig,
    file_idx: u32,
    offset: usize,
) -> PolarsResult<Option<Split>> {
    let names = df.get_column_names();
    // Normalised values are computed once, beside the raw columns (`__n_<column>`); the checks then read those,
    // so no normalisation runs twice. Clean rows take the normalised values, suspect rows keep the raw ones.
    let n = |name: &str| format!("__n_{name}");
    let mut norm = Vec::with_capacity(schema.columns.len());
    let mut ok = lit(true);
    for (spec, m) in schema.columns.iter().zip(mapping) {
        let Some(i) = *m else {
            norm.push(lit(NULL).cast(canonical_dtype(&spec.kind)).alias(n(spec.name)));
            continue;
        };
        let src = names[i].as_str();
        if !eligible(&spec.kind, df.columns()[i].dtype()) {
            return Ok(None);
        }
        if matches!(spec.kind, ColumnKind::Enum(_)) && tc.value_maps.contains_key(spec.name) {
            return Ok(None);
        }
        let c = col(src);
        let v = col(n(spec.name));
        let (value, valid) = match &spec.kind {
            ColumnKind::Id | ColumnKind::Text if already_clean(&df.columns()[i], false)? => (c, short(v.clone())),
            ColumnKind::Id | ColumnKind::Text => (trimmed(c), short(v.clone())),
            ColumnKind::Enum(allowed) => {
                let known = v.clone().is_in(
                    lit(Series::new("allowed".into(), allowed.to_vec())).implode(false),
                    false,
                );
                let value = if already_clean(&df.columns()[i], true)? {
                    c
                } else {
                    trimmed(c).str().to_lowercase()
                };
                (value, v.clone().is_null().or(known.and(short(v.clone()))))
            }
            ColumnKind::Int { min, max } => (
                c.cast(DataType::Int64),
                v.clone()
                    .is_null()
                    .or(v.clone().gt_eq(lit(*min)).and(v.clone().lt_eq(lit(*max)))),
            ),
            ColumnKind::Money { positive, places } => {
                let f = v.clone().cast(DataType::Float64);
                let sign = if *positive {
                    f.clone().gt(lit(0.0))
                } else {
                    f.clone().gt_eq(lit(0.0))
                };
                // Below the bound with room to spare: a value near it goes to the parser, which decides exactly.
                let bounded = f.clone().lt(lit(MAX_MONEY as f64 * 0.999));
                (
                    c.cast(DataType::Decimal(18, *places as usize)),
                    f.is_null().or(sign.and(bounded)),
                )
            }
            ColumnKind::Ts => (c.cast(ts_dtype()), lit(true)),
        };
        let valid = if spec.required {
            valid.and(v.is_not_null())
        } else {
            valid
        };
        ok = ok.and(valid);
        norm.push(value.alias(n(spec.name)));
    }
    let marked = df
        .clone()
        .lazy()
        .with_row_index("_file_row", Some(offset as IdxSize + 1))
        .with_columns(norm)
        .with_column(ok.alias("_clean"))
        .collect()?;
    let mut select: Vec<Expr> = schema.columns.iter().map(|c| col(n(c.name)).alias(c.name)).collect();
    select.push(lit(file_idx).cast(DataType::UInt32).alias(SOURCE_IDX));
    select.push(col("_file_row").cast(DataType::UInt64).alias(ROW_NUMBER));
    let clean = marked.clone().lazy().filter(col("_clean")).select(select).collect()?;
    let mut raw: Vec<Expr> = names.iter().map(|c| col(c.as_str())).collect();
    raw.push(col("_file_row"));
    let suspect = marked.lazy().filter(col("_clean").not()).select(raw).collect()?;
    let suspect_rows: Vec<u64> = suspect
        .column("_file_row")?
        .as_materialized_series()
        .cast(&DataType::UInt64)?
        .u64()?
        .iter()
        .map(|v| v.unwrap_or(0))
        .collect();
    let suspect = suspect.drop_many(["_file_row"]);
    Ok(Some(Split {
        clean,
        suspect,
        suspect_rows,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(values: &[Option<&str>]) -> Column {
        Column::new("c".into(), values)
    }

    #[test]
    fn a_text_column_is_taken_as_it_is_only_when_no_value_would_change() {
        assert!(already_clean(&text(&[Some("O1"), None, Some("商家 A")]), false).unwrap());
        assert!(
            !already_clean(&text(&[Some("O1"), Some(" O2")]), false).unwrap(),
            "a space to trim"
        );
        assert!(
            !already_clean(&text(&[Some("O1"), Some("O2\u{3000}")]), false).unwrap(),
            "an ideographic space"
        );
        assert!(!already_clean(&text(&[Some("")]), false).unwrap(), "empty becomes null");
        // Enums are lowercased: uppercase or non-ASCII text goes through the normalising copy.
        assert!(already_clean(&text(&[Some("return"), None]), true).unwrap());
        assert!(!already_clean(&text(&[Some("Return")]), true).unwrap());
        assert!(!already_clean(&text(&[Some("退货")]), true).unwrap());
    }
}
