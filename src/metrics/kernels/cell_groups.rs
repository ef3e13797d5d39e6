//! return_rates' cells grouped by hand: one row per (month_code, week_code, category, merchant_id, sku) of a
//! quarter's order lines (or line facts), with sums, the earliest instant, the row count and flag counts.
//!
//! Why not polars' group_by: the key is two integers and three strings, which polars row-encodes and hashes on
//! every row, the largest part of return_rates' time. Here the three strings are
//! hashed into a small table of their distinct combinations (≈ 40 k: an SKU has one merchant and category, so this
//! fits in cache), and the cell is found by position in a dense array indexed by (combination, month, week) — a
//! quarter spans 3 months and at most 15 weeks. [`group_cells`] declines (returns None) rows it is not built for
//! (a null key or value, an unexpected type, spans too wide for the dense array), and the caller groups them with
//! polars, which gives the same cells (tests check both on the same rows).

use std::collections::HashMap;

use anyhow::Result;
use polars::prelude::*;

/// What a cell holds of its rows.
#[derive(Debug, Clone, Copy)]
pub enum CellSum {
    /// Σ of an Int64 or Decimal column (its type kept).
    Sum { from: &'static str, to: &'static str },
    /// The earliest value of a Datetime column.
    Earliest { from: &'static str, to: &'static str },
    /// The number of rows, as Int64.
    Rows { to: &'static str },
}

impl CellSum {
    /// The same as a polars aggregation, for rows [`group_cells`] declines.
    pub fn expr(self) -> Expr {
        match self {
            CellSum::Sum { from, to } => col(from).sum().alias(to),
            CellSum::Earliest { from, to } => col(from).min().alias(to),
            CellSum::Rows { to } => len().cast(DataType::Int64).alias(to),
        }
    }
}

/// The cell: a quarter's order lines (or line facts) of one month, week, category, merchant and sku.
pub const CELL: [&str; 5] = ["month_code", "week_code", "category", "merchant_id", "sku"];

/// [`CELL`]'s two integer codes and three strings.
const MONTH: &str = CELL[0];
const WEEK: &str = CELL[1];
const STRINGS: [&str; 3] = [CELL[2], CELL[3], CELL[4]];

/// A hash table with polars' fast hasher (no defence against chosen keys is needed for a batch run's own data).
type Table<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// (category, merchant_id, sku) as bytes.
type Combination<'a> = (&'a [u8], &'a [u8], &'a [u8]);

/// The dense array of (combination, month, week) slots is at most this long (256 MB of u32).
const MAX_SLOTS: usize = 1 << 26;

/// One row per cell of `rows` (key columns as in the input, then `sums` in order, then one IDX_DTYPE count of true
/// values per column named in `counts`), in the order each cell first appears; None when the rows do not suit.
pub fn group_cells(rows: &DataFrame, sums: &[CellSum], counts: &[String]) -> Result<Option<DataFrame>> {
    let n = rows.height();
    if n == 0 || !suits(rows, sums, counts)? {
        return Ok(None);
    }
    let codes = |name: &str| -> Result<Int32Chunked> { Ok(rows.column(name)?.i32()?.rechunk().into_owned()) };
    let (month, week) = (codes(MONTH)?, codes(WEEK)?);
    let strings = STRINGS
        .iter()
        .map(|name| Ok(rows.column(name)?.str()?.rechunk().into_owned()))
        .collect::<Result<Vec<_>>>()?;
    let (month, week) = (month.cont_slice()?, week.cont_slice()?);
    let arrays: Vec<_> = strings
        .iter()
        .map(|s| s.downcast_iter().next().expect("one chunk"))
        .collect();

    // Each row's combination of the three strings, numbered in order of first appearance. Looked up by the sku
    // alone (one short string to hash; an SKU almost always has one merchant and category): a row whose category
    // and merchant are those of the sku's first row has that row's combination, any other goes through a table of
    // whole combinations.
    let (category, merchant, sku) = (arrays[0], arrays[1], arrays[2]);
    // An sku of up to 12 bytes is keyed by its view (the string itself, see `same_string`), a longer one by its bytes.
    let mut by_short_sku: Table<u128, (u32, usize)> = HashMap::default();
    let mut by_sku: Table<&[u8], (u32, usize)> = HashMap::default();
    let mut others: Table<Combination, u32> = HashMap::default();
    let mut combo_of = Vec::with_capacity(n);
    let mut combos = 0u32;
    for i in 0..n {
        let new_combo = || {
            combos += 1;
            (combos - 1, i)
        };
        let view = sku.views()[i];
        let (combo, first) = if view.length <= 12 {
            *by_short_sku.entry(view.as_u128()).or_insert_with(new_combo)
        } else {
            *by_sku.entry(sku.value(i).as_bytes()).or_insert_with(new_combo)
        };
        let combo = if same_string(category, i, first) && same_string(merchant, i, first) {
            combo
        } else {
            let key = (
                category.value(i).as_bytes(),
                merchant.value(i).as_bytes(),
                sku.value(i).as_bytes(),
            );
            *others.entry(key).or_insert_with(|| {
                combos += 1;
                combos - 1
            })
        };
        combo_of.push(combo);
    }
    let span = |v: &[i32]| {
        let (lo, hi) = v
            .iter()
            .fold((i32::MAX, i32::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        (lo, (hi as i64 - lo as i64 + 1) as usize)
    };
    let ((m0, m_span), (w0, w_span)) = (span(month), span(week));
    let slots = (combos as usize).saturating_mul(m_span).saturating_mul(w_span);
    if slots > MAX_SLOTS {
        return Ok(None);
    }

    // Each row's cell, numbered in order of first appearance, and each cell's first row.
    let mut cell_at = vec![u32::MAX; slots];
    let mut cell_of = Vec::with_capacity(n);
    let mut first_row: Vec<IdxSize> = Vec::new();
    for i in 0..n {
        let slot = (combo_of[i] as usize * m_span + (month[i] - m0) as usize) * w_span + (week[i] - w0) as usize;
        let mut cell = cell_at[slot];
        if cell == u32::MAX {
            cell = first_row.len() as u32;
            cell_at[slot] = cell;
            first_row.push(i as IdxSize);
        }
        cell_of.push(cell);
    }
    drop(cell_at);
    let cells = first_row.len();

    let mut columns: Vec<Column> = rows
        .select(CELL)?
        .take(&IdxCa::from_vec("".into(), first_row))?
        .into_columns();
    for s in sums {
        columns.push(sum_column(rows, *s, &cell_of, cells)?);
    }
    for name in counts {
        let flags = rows.column(name)?.bool()?.rechunk();
        let mut count = vec![0 as IdxSize; cells];
        for (cell, flag) in cell_of
            .iter()
            .zip(flags.downcast_iter().next().expect("one chunk").values_iter())
        {
            count[*cell as usize] += flag as IdxSize;
        }
        columns.push(IdxCa::from_vec(name.as_str().into(), count).into_column());
    }
    Ok(Some(DataFrame::new(cells, columns)?))
}

/// Whether every column the grouping reads is of a type it is made for, without nulls: checked before any
/// grouping, so rows it declines cost only this look at their columns.
fn suits(rows: &DataFrame, sums: &[CellSum], counts: &[String]) -> Result<bool> {
    let of = |name: &str, ok: fn(&DataType) -> bool| -> Result<bool> {
        let c = rows.column(name)?;
        Ok(ok(c.dtype()) && c.null_count() == 0)
    };
    for name in [MONTH, WEEK] {
        if !of(name, |t| t == &DataType::Int32)? {
            return Ok(false);
        }
    }
    for name in STRINGS {
        if !of(name, |t| t == &DataType::String)? {
            return Ok(false);
        }
    }
    for s in sums {
        let fits = match s {
            CellSum::Sum { from, .. } => of(from, |t| matches!(t, DataType::Int64 | DataType::Decimal(_, _)))?,
            CellSum::Earliest { from, .. } => of(from, |t| matches!(t, DataType::Datetime(_, _)))?,
            CellSum::Rows { .. } => true,
        };
        if !fits {
            return Ok(false);
        }
    }
    for name in counts {
        if !of(name, |t| t == &DataType::Boolean)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether rows `i` and `j` hold the same string (both valid: nulls are not looked at).
#[inline]
pub(super) fn same_string(a: &<StringType as PolarsDataType>::Array, i: usize, j: usize) -> bool {
    // A string of up to 12 bytes is held inside its 16-byte view: equal views are equal strings, and views of
    // different lengths are different strings.
    let (vi, vj) = (a.views()[i], a.views()[j]);
    if vi.as_u128() == vj.as_u128() {
        true
    } else if vi.length != vj.length || vi.length <= 12 {
        false
    } else {
        a.value(i) == a.value(j)
    }
}

/// One cell column of `s` (its input checked by [`suits`]).
fn sum_column(rows: &DataFrame, s: CellSum, cell_of: &[u32], cells: usize) -> Result<Column> {
    Ok(match s {
        CellSum::Rows { to } => {
            let mut n = vec![0i64; cells];
            for c in cell_of {
                n[*c as usize] += 1;
            }
            Int64Chunked::from_vec(to.into(), n).into_column()
        }
        CellSum::Sum { from, to } => {
            let c = rows.column(from)?;
            if let DataType::Decimal(precision, scale) = c.dtype() {
                let v = c.decimal()?.physical().rechunk();
                let mut sum = vec![0i128; cells];
                for (cell, x) in cell_of.iter().zip(v.cont_slice()?) {
                    sum[*cell as usize] += x;
                }
                Int128Chunked::from_vec(to.into(), sum)
                    .into_decimal_unchecked(*precision, *scale)
                    .into_column()
            } else {
                let v = c.i64()?.rechunk();
                let mut sum = vec![0i64; cells];
                for (cell, x) in cell_of.iter().zip(v.cont_slice()?) {
                    sum[*cell as usize] += x;
                }
                Int64Chunked::from_vec(to.into(), sum).into_column()
            }
        }
        CellSum::Earliest { from, to } => {
            let c = rows.column(from)?;
            let v = c.datetime()?.physical().rechunk();
            let mut min = vec![i64::MAX; cells];
            for (cell, x) in cell_of.iter().zip(v.cont_slice()?) {
                let m = &mut min[*cell as usize];
                *m = (*m).min(*x);
            }
            Int64Chunked::from_vec(to.into(), min)
                .into_series()
                .cast(c.dtype())?
                .into_column()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::metrics::return_rates::SOLD as SUMS;

    /// Six lines: an sku sold by two merchants (its second merchant's row goes through the table of whole
    /// combinations), and a category and an sku longer than the 12 bytes a view holds inline.
    fn lines() -> DataFrame {
        let long_cat = "home_and_kitchen_appliances";
        let long_sku = "SKU-LONGER-THAN-12-BYTES";
        let mut df = df!(
            "month_code" => [1i32, 1, 1, 2, 1, 1],
            "week_code" => [10i32, 10, 11, 11, 10, 10],
            "category" => ["shoes", "shoes", "shoes", "shoes", long_cat, long_cat],
            "merchant_id" => ["M1", "M1", "M1", "M2", "M1", "M1"],
            "sku" => ["S1", "S1", "S1", "S1", long_sku, long_sku],
            "quantity" => [2i64, 3, 1, 4, 5, 1],
            "flag" => [true, false, true, true, true, true],
        )
        .unwrap();
        let gmv =
            Int128Chunked::from_vec("gmv".into(), vec![1000, 1550, 500, 2000, 125, 75]).into_decimal_unchecked(38, 2);
        let at = Int64Chunked::from_vec("ordered_at".into(), vec![100, 50, 200, 300, 10, 20])
            .into_series()
            .cast(&DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)))
            .unwrap();
        df.with_column(gmv.into_column()).unwrap();
        df.with_column(at.into_column()).unwrap();
        df
    }

    fn group(df: &DataFrame) -> Option<DataFrame> {
        group_cells(df, &SUMS, &["flag".to_string()]).unwrap()
    }

    #[test]
    fn cells_hold_the_sums_earliest_instant_rows_and_flag_counts_worked_out_by_hand() {
        let cells = group(&lines()).expect("these rows suit the hand grouping");
        let strs = |c: &str| -> Vec<String> {
            cells
                .column(c)
                .unwrap()
                .str()
                .unwrap()
                .iter()
                .map(|v| v.unwrap().to_string())
                .collect()
        };
        let i64s = |c: &str| -> Vec<i64> { cells.column(c).unwrap().i64().unwrap().iter().flatten().collect() };
        // In order of first appearance: (1, 10, S1 by M1), (1, 11, S1 by M1), (2, 11, S1 by M2), the long sku.
        assert_eq!(strs("merchant_id"), ["M1", "M1", "M2", "M1"]);
        assert_eq!(strs("sku")[3], "SKU-LONGER-THAN-12-BYTES");
        let weeks: Vec<i32> = cells
            .column("week_code")
            .unwrap()
            .i32()
            .unwrap()
            .iter()
            .flatten()
            .collect();
        assert_eq!(weeks, [10, 11, 11, 10]);
        assert_eq!(i64s("units_sold"), [2 + 3, 1, 4, 5 + 1]);
        assert_eq!(i64s("_lines"), [2, 1, 1, 2]);
        let gmv: Vec<i128> = cells
            .column("gmv")
            .unwrap()
            .decimal()
            .unwrap()
            .physical()
            .iter()
            .flatten()
            .collect();
        assert_eq!(gmv, [1000 + 1550, 500, 2000, 125 + 75], "cents, at the input's scale");
        assert_eq!(cells.column("gmv").unwrap().dtype(), &DataType::Decimal(38, 2));
        let earliest: Vec<i64> = cells
            .column("_some_instant")
            .unwrap()
            .datetime()
            .unwrap()
            .physical()
            .iter()
            .flatten()
            .collect();
        assert_eq!(earliest, [50, 200, 300, 10]);
        let flags: Vec<IdxSize> = cells.column("flag").unwrap().idx().unwrap().iter().flatten().collect();
        assert_eq!(flags, [1, 1, 1, 2]);
    }

    #[test]
    fn hand_grouped_cells_equal_polars_group_by_on_the_same_rows() {
        let df = lines();
        let by_key = SortMultipleOptions::default();
        let hand = group(&df).unwrap().sort(CELL, by_key.clone()).unwrap();
        let aggs: Vec<Expr> = SUMS
            .into_iter()
            .map(CellSum::expr)
            .chain([col("flag").sum().cast(IDX_DTYPE)])
            .collect();
        let polars = df
            .lazy()
            .group_by(CELL.map(col))
            .agg(aggs)
            .collect()
            .unwrap()
            .sort(CELL, by_key)
            .unwrap();
        assert!(hand.equals(&polars), "hand:\n{hand}\npolars:\n{polars}");
    }

    #[test]
    fn rows_with_a_null_key_or_codes_of_another_type_are_left_to_polars() {
        let mut df = lines();
        df.with_column(Column::new(
            "sku".into(),
            [Some("S1"), None, Some("S1"), Some("S1"), Some("S2"), Some("S2")],
        ))
        .unwrap();
        assert!(group(&df).is_none(), "a null sku");
        let mut df = lines();
        df.with_column(Column::new("week_code".into(), [10i64, 10, 11, 11, 10, 10]))
            .unwrap();
        assert!(group(&df).is_none(), "Int64 week codes");
    }
}
