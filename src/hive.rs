//! The copy the distributed path reads (`aftersales convert --layout hive`; aftersales-dist, docs/scale-out.md).
//!
//! Each fact table is Hive-partitioned by the local month of its main timestamp —
//! `orders/month=2026-03/part-0.parquet` (ordered_at), `cases/…` (opened_at), `shipments/…` (shipped_at),
//! `refunds/…` (approved_at) — so an engine on many machines reads a month as a unit and prunes by folder. The rows
//! are the accepted rows of the checked inputs with their canonical columns, plus the local periods of the main
//! timestamp worked out here, once, in the configured zone: `day` (days since 1970-01-01 of the local date, Int32)
//! and `month_code`, `quarter_code`, `week_code` ([`crate::metrics::period_code`] numbers). A distributed engine
//! then needs no time-zone arithmetic of its own.
//!
//! Beside them: `merchants.parquet` (when given), `responsibility.parquet` (the config's reason_code →
//! responsibility map) and [`MANIFEST`], which holds as_of, the zone, maturity and each table's accepted rows —
//! the counts a distributed job checks its scans against (an executor that cannot see a file scans nothing and
//! says nothing).

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::engine::Run;
use crate::input::loaded::Loaded;
use crate::metrics::{Zone, period_code, quarter_of_month};
use crate::output::OutputDir;
use crate::tables::TableKind;
use crate::time::Micros;

/// The copy's manifest, at its top.
pub const MANIFEST: &str = "hive.json";

/// The partitioned tables and the timestamp whose local month partitions each.
pub const PARTITIONED: [(&str, &str); 4] = [
    ("orders", "ordered_at"),
    ("cases", "opened_at"),
    ("shipments", "shipped_at"),
    ("refunds", "approved_at"),
];

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The layout's version; a reader refuses another.
    pub format: u32,
    /// as_of of the checked inputs, µs since the epoch (UTC).
    pub as_of: Micros,
    pub timezone: String,
    pub maturity_days: i64,
    /// Per table: accepted rows (all partitions), the timestamp that partitions it, and its months.
    pub tables: BTreeMap<String, TableEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableEntry {
    pub rows: u64,
    /// None for a table written whole (merchants).
    pub partitioned_by: Option<String>,
    pub months: Vec<String>,
}

pub const FORMAT: u32 = 1;

impl Manifest {
    pub fn read(copy: &std::path::Path) -> Result<Manifest> {
        let path = copy.join(MANIFEST);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "{} is not a Hive copy: it has no {MANIFEST} (write one with `aftersales convert --layout hive`)",
                copy.display()
            )
        })?;
        let m: Manifest = serde_json::from_str(&text).with_context(|| format!("cannot read {}", path.display()))?;
        anyhow::ensure!(
            m.format == FORMAT,
            "{} has layout version {}, this build reads version {FORMAT}: convert the exports again",
            path.display(),
            m.format
        );
        Ok(m)
    }
}

/// `2026-03` of a month's [`period_code`] number.
pub fn month_label(code: i32) -> String {
    let year = (code - 1).div_euclid(12);
    format!("{year:04}-{:02}", code - year * 12)
}

/// The local periods of `ts`, as the partitioned tables carry them.
fn with_periods(lf: LazyFrame, ts: &str, zone: &Zone) -> LazyFrame {
    lf.with_column(zone.day(col(ts)).alias("_day"))
        .with_columns([
            col("_day").cast(DataType::Int32).alias("day"),
            period_code(col("_day"), "month").alias("month_code"),
            period_code(col("_day"), "week").alias("week_code"),
        ])
        .with_column(quarter_of_month(col("month_code")).alias("quarter_code"))
        .drop(cols(["_day"]))
}

/// Writes the tables of `loaded` into `out` in the Hive layout, with the dimension tables and the manifest.
pub fn write(out: &mut OutputDir, loaded: &Loaded, config: &Config) -> Result<Manifest> {
    let zone = Zone::new(config.timezone, loaded.time_span);
    let mut tables = BTreeMap::new();
    for (kind, t) in &loaded.tables {
        let name = kind.name();
        let data = t.data_lazy()?;
        let Some(&(_, ts)) = PARTITIONED.iter().find(|(table, _)| *table == name) else {
            out.write_parquet_lazy_as(
                &format!("{name}.parquet"),
                data,
                t.rows_accepted(),
                ParquetCompression::Zstd(None),
            )?;
            tables.insert(
                name.to_string(),
                TableEntry {
                    rows: t.rows_accepted(),
                    partitioned_by: None,
                    months: vec![],
                },
            );
            continue;
        };
        // Materialised once and cut by month, in the order the rows were read within each month.
        let rows = with_periods(data, ts, &zone).run_streaming()?;
        let mut months = Vec::new();
        for part in rows.partition_by_stable(["month_code"], true)? {
            let code = part
                .column("month_code")?
                .i32()?
                .get(0)
                .context("a partition without rows")?;
            let label = month_label(code);
            let n = part.height() as u64;
            out.write_parquet_lazy_as(
                &format!("{name}/month={label}/part-0.parquet"),
                part.lazy(),
                n,
                ParquetCompression::Zstd(None),
            )?;
            months.push(label);
        }
        tables.insert(
            name.to_string(),
            TableEntry {
                rows: t.rows_accepted(),
                partitioned_by: Some(ts.to_string()),
                months,
            },
        );
    }
    let mut responsibility = crate::metrics::prepare::responsibility_frame(config);
    out.write_parquet("responsibility.parquet", &mut responsibility)?;
    let manifest = Manifest {
        format: FORMAT,
        as_of: loaded.as_of,
        timezone: config.timezone.name().to_string(),
        maturity_days: config.maturity_days,
        tables,
    };
    out.write_bytes(MANIFEST, serde_json::to_string_pretty(&manifest)?.as_bytes())?;
    Ok(manifest)
}

/// Whether the copy holds `kind` (a table the exports did not have is absent from the manifest).
pub fn has(m: &Manifest, kind: TableKind) -> bool {
    m.tables.contains_key(kind.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_labels_match_period_codes() {
        // period_code of a month = year·12 + month.
        assert_eq!(month_label(2026 * 12 + 3), "2026-03");
        assert_eq!(month_label(2026 * 12 + 12), "2026-12");
        assert_eq!(month_label(2027 * 12 + 1), "2027-01");
    }
}
