//! The quarterly report: charts/*.png + *.svg and one self-contained report.html for the chosen quarter
//! (`--quarter`, default the quarter of as_of).
//!
//! Everything shown is read from the output tables (`facts`), never recomputed, and every headline names the
//! table, rows and column it comes from, so a reader can check a number in the Parquet file beside the page.
//! The page needs nothing outside itself: styles are inline and charts are embedded as PNG data URIs (PNG
//! rather than SVG because an SVG's text needs a CJK font on the reader's machine).

pub mod facts;
mod frame;
mod html;

use std::collections::HashMap;

use anyhow::Result;
use chrono::{Datelike, TimeZone};
use polars::prelude::*;

use crate::charts::{self, Rendered};
use crate::config::Config;
use crate::input::Loaded;
use crate::metrics::MetricTables;
use crate::tables::TableKind;
use crate::time::Micros;

pub struct Report {
    pub quarter: String,
    pub charts: Vec<Rendered>,
    pub html: String,
}

/// What the page says about the run itself.
pub struct RunContext<'a> {
    pub data_dir: &'a std::path::Path,
    pub config: &'a Config,
    pub loaded: &'a Loaded,
}

/// The quarter an instant falls in, in the configured zone: `2026Q4`.
pub fn quarter_of(t: Micros, tz: chrono_tz::Tz) -> String {
    let d = tz
        .timestamp_micros(t)
        .single()
        .map(|d| d.date_naive())
        .unwrap_or_default();
    format!("{}Q{}", d.year(), (d.month() - 1) / 3 + 1)
}

pub fn build(ctx: &RunContext<'_>, metrics: &MetricTables, quarter: Option<&str>) -> Result<Report> {
    let tables = &metrics.frames[..];
    let quarter = quarter
        .map(str::to_string)
        .unwrap_or_else(|| quarter_of(ctx.loaded.as_of, ctx.config.timezone));
    let inputs = facts::Inputs {
        tables,
        merchant_names: merchant_names(ctx.loaded, tables)?,
        sku_merchant: sku_merchant(&metrics.sku_merchants)?,
        rules_off: ["merchant_ack", "refund_payout"]
            .into_iter()
            .filter(|r| !ctx.config.sla_rules.iter().any(|s| s.name == *r))
            .map(str::to_string)
            .collect(),
    };
    let f = facts::gather(&inputs, &quarter)?;
    let charts = vec![
        charts::render(&f.rates)?,
        charts::render(&f.reasons)?,
        charts::render(&f.compliance)?,
        charts::render(&f.heatmap)?,
        charts::render(&f.carriers)?,
        charts::render(&f.funnel)?,
        charts::render(&f.spikes)?,
        charts::render(&f.badges)?,
    ];
    let html = html::page(ctx, &f, &charts)?;
    Ok(Report { quarter, charts, html })
}

/// merchant_id → merchant_name from the merchants table, else from merchant_risk (which carries names when
/// the table was given).
fn merchant_names(loaded: &Loaded, tables: &[(&'static str, DataFrame)]) -> Result<HashMap<String, String>> {
    let df = match loaded.tables.get(&TableKind::Merchants) {
        Some(t) => t.data()?,
        None => match tables.iter().find(|(n, _)| *n == "merchant_risk") {
            Some((_, d)) => d.clone(),
            None => return Ok(HashMap::new()),
        },
    };
    let (ids, names) = (df.column("merchant_id")?.str()?, df.column("merchant_name")?.str()?);
    Ok(ids
        .iter()
        .zip(names.iter())
        .filter_map(|(i, n)| Some((i?.to_string(), n?.to_string())))
        .collect())
}

/// sku → merchant_id for the skus in risk_flags (the only skus the report names), as the merchant facts count
/// them (`MetricTables::sku_merchants`).
fn sku_merchant(df: &DataFrame) -> Result<HashMap<String, String>> {
    let (skus, ids) = (df.column("sku")?.str()?, df.column("merchant_id")?.str()?);
    Ok(skus
        .iter()
        .zip(ids.iter())
        .filter_map(|(s, m)| Some((s?.to_string(), m?.to_string())))
        .collect())
}
