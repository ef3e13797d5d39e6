//! orders — one row per order line; the denominator of every rate.

use super::{ColumnKind::*, ColumnSpec, MAX_QTY, TableSchema, spec};

pub static COLUMNS: [ColumnSpec; 8] = [
    spec("order_id", Id, true),
    spec("line_no", Int { min: 1, max: 1_000_000 }, false),
    spec("merchant_id", Id, true),
    spec("sku", Id, true),
    spec("category", Text, true),
    spec("quantity", Int { min: 1, max: MAX_QTY }, true),
    spec(
        "unit_price",
        Money {
            positive: false,
            places: 4,
        },
        true,
    ),
    spec("ordered_at", Ts, true),
];

pub static SCHEMA: TableSchema = TableSchema {
    table: "orders",
    columns: &COLUMNS,
    key: &["order_id", "line_no"],
};

use polars::prelude::*;

/// Lines without a `line_no` (the column absent, or empty) are numbered 1, 2, … in file order within each order
/// (SPEC §1). Files are read in name order, so the numbering is stable across runs.
pub fn number_lines(df: DataFrame) -> PolarsResult<DataFrame> {
    // The window over every order is the costliest step of loading orders: skip it when no line needs a number.
    if df.column("line_no")?.null_count() == 0 {
        return Ok(df);
    }
    let missing = col("line_no").is_null();
    let n = col("order_id")
        .cum_count(false)
        .over([col("order_id"), missing.clone()])?
        .cast(DataType::Int64);
    df.lazy()
        .with_column(when(missing).then(n).otherwise(col("line_no")).alias("line_no"))
        .collect()
}
