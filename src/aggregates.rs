//! The aggregates the distributed path writes (aftersales-dist, docs/scale-out.md), and the tables finished from
//! them here with the same code the local run finishes its own groups with.
//!
//! aftersales-dist scans the Hive copy ([`crate::hive`]) on a DataFusion/Ballista cluster and writes one Parquet
//! file per aggregate into a folder; `aftersales finish` reads them, checks each has the columns this build
//! expects, and writes the tables. Each aggregate's grain and columns:
//!
//! - `return_rate_groups.parquet`: one row per (period_kind, code, level, key) of `return_rates` (SPEC §4.1)
//!   before its ratios: units_sold, units_returned, orders, orders_with_case, gmv, refunded, some_instant (the
//!   earliest ordered_at of the group: any instant of the period gives its label and bounds).
//! - `reason_counts.parquet`: one row per (period_kind, code, level, key, reason_code) of `reason_breakdown`
//!   (SPEC §4.2): responsibility, cases, units.
//!
//! `code` is the period's [`crate::metrics::period_code`] number, as the copy carries it.

use std::path::Path;

use anyhow::{Context, Result, bail};
use polars::prelude::*;

use crate::engine::Run;
use crate::metrics::{code_label, reasons, return_rates};

/// An aggregate file: its name and the columns read from it with the type each is cast to.
struct Aggregate {
    file: &'static str,
    columns: &'static [(&'static str, Kind)],
}

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Int,
    Money,
    Instant,
}

impl Kind {
    /// The type read; money keeps the scale it was written with (a price may have 4 places, `tables`).
    fn dtype(self, found: &DataType) -> DataType {
        match self {
            Kind::Text => DataType::String,
            Kind::Int => DataType::Int64,
            Kind::Money => match found {
                DataType::Decimal(_, scale) => DataType::Decimal(38, *scale),
                _ => DataType::Decimal(38, 2),
            },
            Kind::Instant => crate::time::ts_dtype(),
        }
    }
}

const RETURN_RATE_GROUPS: Aggregate = Aggregate {
    file: "return_rate_groups.parquet",
    columns: &[
        ("period_kind", Kind::Text),
        ("code", Kind::Int),
        ("level", Kind::Text),
        ("key", Kind::Text),
        ("units_sold", Kind::Int),
        ("units_returned", Kind::Int),
        ("orders", Kind::Int),
        ("orders_with_case", Kind::Int),
        ("gmv", Kind::Money),
        ("refunded", Kind::Money),
        ("some_instant", Kind::Instant),
    ],
};

const REASON_COUNTS: Aggregate = Aggregate {
    file: "reason_counts.parquet",
    columns: &[
        ("period_kind", Kind::Text),
        ("code", Kind::Int),
        ("level", Kind::Text),
        ("key", Kind::Text),
        ("reason_code", Kind::Text),
        ("responsibility", Kind::Text),
        ("cases", Kind::Int),
        ("units", Kind::Int),
    ],
};

/// Reads an aggregate, naming the file and the columns it lacks when it is not what this build expects.
fn read(dir: &Path, agg: &Aggregate) -> Result<DataFrame> {
    let path = dir.join(agg.file);
    let file = std::fs::File::open(&path)
        .with_context(|| format!("cannot open {} (aftersales-dist aggregate writes it)", path.display()))?;
    let df = anyhow::Context::with_context(ParquetReader::new(file).finish(), || {
        format!("cannot read {}", path.display())
    })?;
    let missing: Vec<&str> = agg
        .columns
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| df.column(c).is_err())
        .collect();
    if !missing.is_empty() {
        bail!(
            "{} lacks the column(s) {}; it has {}. Was it written by another version of aftersales-dist?",
            path.display(),
            missing.join(", "),
            df.get_column_names()
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let schema = df.schema().clone();
    Ok(df
        .lazy()
        .select(
            agg.columns
                .iter()
                .map(|(c, k)| col(*c).strict_cast(k.dtype(schema.get(c).expect("checked above"))))
                .collect::<Vec<_>>(),
        )
        .run()
        .map_err(|e| anyhow::anyhow!("{}: a column has a type this build cannot read: {e}", path.display()))?)
}

/// The period label of a `code` column for rows of both kinds.
fn label(code: Expr) -> Expr {
    when(col("period_kind").eq(lit("month")))
        .then(code_label(code.clone(), "month"))
        .otherwise(code_label(code, "quarter"))
}

/// `return_rates` from `return_rate_groups`.
pub fn return_rates(
    dir: &Path,
    tz: chrono_tz::Tz,
    as_of: crate::time::Micros,
    maturity_days: i64,
) -> Result<DataFrame> {
    let groups = read(dir, &RETURN_RATE_GROUPS)?
        .lazy()
        .with_columns([
            col("code").cast(DataType::Int32),
            col("some_instant").alias("_some_instant"),
        ])
        .drop(cols(["some_instant"]))
        .run()?;
    return_rates::table(groups, tz, as_of, maturity_days)
}

/// `reason_breakdown` from `reason_counts`.
pub fn reason_breakdown(dir: &Path) -> Result<DataFrame> {
    let counts = read(dir, &REASON_COUNTS)?
        .lazy()
        .with_column(label(col("code").cast(DataType::Int32)).alias("period"))
        .drop(cols(["code"]));
    reasons::finish(counts)
}
