//! The Hive copy as this job sees it: its manifest (`hive.json`, written by `aftersales convert --layout hive`;
//! the main crate's `hive` module is the other side of this contract) and the tables registered from it.

use std::collections::BTreeMap;

use anyhow::{Context, Result, ensure};
use datafusion::arrow::datatypes::DataType;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use serde::Deserialize;

use crate::storage::Place;

pub const FORMAT: u32 = 1;

/// What this job reads of the manifest (the zone and maturity are `aftersales finish`'s).
#[derive(Debug, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// µs since the epoch, UTC.
    pub as_of: i64,
    pub tables: BTreeMap<String, TableEntry>,
    pub sla_rules: Vec<Rule>,
    /// A of the spike test: days after a line's ordered_at within which its return counts.
    pub spike_age_days: i64,
}

/// An SLA rule (SPEC §4.3), as the copy states it.
#[derive(Debug, Deserialize)]
pub struct Rule {
    pub name: String,
    pub table: String,
    pub case_types: Option<Vec<String>>,
    pub start: String,
    pub stop: String,
    pub target_hours: Option<f64>,
    pub target_working_days: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub struct TableEntry {
    pub rows: u64,
    pub partitioned_by: Option<String>,
    #[allow(dead_code)]
    pub months: Vec<String>,
}

pub struct Copy {
    /// Absolute, or an S3 prefix: executors in other processes resolve the tables' paths themselves.
    pub place: Place,
    pub manifest: Manifest,
}

/// The fact tables every aggregate reads; a copy without one of them cannot be aggregated.
pub const FACTS: [&str; 4] = ["orders", "cases", "shipments", "refunds"];

impl Copy {
    pub async fn open(ctx: &SessionContext, place: Place) -> Result<Copy> {
        let text = place.read(ctx, "hive.json").await.with_context(|| {
            format!("{place} has no hive.json: write the copy with `aftersales convert --layout hive`")
        })?;
        let manifest: Manifest =
            serde_json::from_slice(&text).with_context(|| format!("cannot read {place}hive.json"))?;
        ensure!(
            manifest.format == FORMAT,
            "{place}hive.json has layout version {}, this build reads version {FORMAT}: convert the exports again",
            manifest.format
        );
        for t in FACTS {
            ensure!(
                manifest.tables.get(t).is_some_and(|e| e.partitioned_by.is_some()),
                "{place} holds no partitioned {t} table (it lists {})",
                manifest.tables.keys().cloned().collect::<Vec<_>>().join(", ")
            );
        }
        Ok(Copy { place, manifest })
    }

    /// Registers the fact tables (with their `month` partition column) and the dimension tables.
    pub async fn register(&self, ctx: &SessionContext) -> Result<()> {
        for t in FACTS {
            let path = self.place.join(t).table_path();
            let options = ParquetReadOptions::default()
                .table_partition_cols(vec![("month".to_string(), DataType::Utf8)])
                .file_extension(".parquet");
            ctx.register_parquet(t, &path, options)
                .await
                .with_context(|| format!("cannot register {path}"))?;
        }
        for dim in ["responsibility", "calendar"] {
            let path = format!("{}{dim}.parquet", self.place.table_path());
            ctx.register_parquet(dim, &path, ParquetReadOptions::default())
                .await
                .with_context(|| format!("cannot register {path}"))?;
        }
        Ok(())
    }

    /// Counts each fact table's rows on the engine and compares them with the manifest: an executor that cannot
    /// see a file plans an empty scan and reports no error, so a silent shortfall is caught here.
    pub async fn check_scans(&self, ctx: &SessionContext) -> Result<()> {
        let mut problems = Vec::new();
        for t in FACTS {
            let batches = ctx
                .sql(&format!("SELECT COUNT(*) AS n FROM {t}"))
                .await?
                .collect()
                .await?;
            let n = crate::engine::single_i64(&batches)? as u64;
            let expected = self.manifest.tables[t].rows;
            if n != expected {
                problems.push(format!("{t}: the engine scanned {n} rows, the copy holds {expected}"));
            }
        }
        ensure!(
            problems.is_empty(),
            "the scans do not cover the copy ({}); can every executor read {}?",
            problems.join("; "),
            self.place
        );
        Ok(())
    }
}
