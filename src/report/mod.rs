//! The quarterly report: charts/*.png + *.svg and one self-contained report.html for the chosen quarter
//! (`--quarter`, default the latest quarter that has ended at as_of: [`default_quarter`]).
//!
//! Everything shown is read from the output tables (`facts`), never recomputed, and every headline names the
//! table, rows and column it comes from, so a reader can check a number in the Parquet file beside the page.
//! The page needs nothing outside itself: styles are inline and charts are embedded as PNG data URIs (PNG
//! rather than SVG because an SVG's text needs a CJK font on the reader's machine). Every text is in the run's
//! language (`i18n`: the page through `RunContext::lang`, the charts through `i18n::with_lang`).

pub mod facts;
mod font;
mod frame;
mod html;
pub mod merchant;

use std::collections::HashMap;

use anyhow::Result;
use polars::prelude::*;

use crate::charts::{self, Rendered};
use crate::config::Config;
use crate::input::Loaded;
use crate::metrics::MetricTables;
use crate::tables::TableKind;
use crate::time::{self, Micros};

pub struct Report {
    pub quarter: String,
    pub charts: Vec<Rendered>,
    pub html: String,
    /// (file name under merchants/, page): one per merchant with a badges row in the quarter.
    pub merchant_pages: Vec<(String, String)>,
    /// alerts.jsonl: one line per ongoing episode, in the page's language ([`crate::metrics::episodes`]).
    pub alerts: String,
}

impl Report {
    /// charts/<name>.png and .svg, report.html and merchants/<id>.html into the output folder.
    pub fn write(&self, dir: &mut crate::output::OutputDir) -> Result<()> {
        for c in &self.charts {
            dir.write_bytes(&format!("charts/{}.png", c.name), &c.png)?;
            dir.write_bytes(&format!("charts/{}.svg", c.name), c.svg.as_bytes())?;
        }
        dir.write_bytes("report.html", self.html.as_bytes())?;
        dir.write_bytes("alerts.jsonl", self.alerts.as_bytes())?;
        for (file, page) in &self.merchant_pages {
            dir.write_bytes(&format!("merchants/{file}"), page.as_bytes())?;
        }
        Ok(())
    }
}

/// What the page says about the inputs: per table the rows read, accepted and rejected, the data-quality
/// findings, as_of and where it came from, the merchants table. From a run's `Loaded` ([`InputFacts::of`]), or
/// from a Hive copy (`aftersales finish`), which carries the same.
pub struct InputFacts {
    pub counts: Vec<TableCounts>,
    pub data_quality: DataFrame,
    pub as_of: Micros,
    pub as_of_source: crate::input::AsOfSource,
    pub merchants: Option<DataFrame>,
}

pub struct TableCounts {
    pub table: String,
    pub read: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// Rejected among the rows read and not filtered on purpose.
    pub reject_rate: f64,
}

impl InputFacts {
    pub fn of(loaded: &Loaded) -> Result<InputFacts> {
        Ok(InputFacts {
            counts: loaded
                .tables
                .values()
                .map(|t| TableCounts {
                    table: t.kind.name().to_string(),
                    read: t.rows_read(),
                    accepted: t.rows_accepted(),
                    rejected: t.rows_rejected(),
                    reject_rate: t.reject_rate(),
                })
                .collect(),
            data_quality: loaded.data_quality.clone(),
            as_of: loaded.as_of,
            as_of_source: loaded.as_of_source,
            merchants: loaded.tables.get(&TableKind::Merchants).map(|t| t.data()).transpose()?,
        })
    }
}

/// What the page says about the run itself.
pub struct RunContext<'a> {
    pub data_dir: &'a std::path::Path,
    pub config: &'a Config,
    pub inputs: &'a InputFacts,
    /// The page's language (`--lang`, else the config's `language`).
    pub lang: crate::i18n::Lang,
}

/// The quarter the report covers when none is asked for (SPEC §5): the latest quarter that has ended at as_of —
/// on 5 October, Q3, not five days of Q4. When no order was placed in it (the data begins in as_of's quarter),
/// as_of's own quarter, which the page then marks provisional.
pub fn default_quarter(as_of: Micros, tz: chrono_tz::Tz, return_rates: &DataFrame) -> Result<String> {
    let current = time::quarter_of(as_of, tz);
    let ended = time::previous_quarter(&current);
    let has_orders = return_rates
        .clone()
        .lazy()
        .filter(
            col("period_kind")
                .eq(lit("quarter"))
                .and(col("period").eq(lit(ended.clone()))),
        )
        .select([len()])
        .collect()?
        .column("len")?
        .as_materialized_series()
        .cast(&DataType::UInt64)?
        .u64()?
        .get(0)
        .unwrap_or(0)
        > 0;
    Ok(if has_orders { ended } else { current })
}

pub fn build(ctx: &RunContext<'_>, metrics: &MetricTables, quarter: Option<&str>) -> Result<Report> {
    let tables = &metrics.frames[..];
    let quarter = match quarter {
        Some(q) => q.to_string(),
        None => {
            let rates = tables.iter().find(|(n, _)| *n == "return_rates").map(|(_, d)| d);
            match rates {
                Some(r) => default_quarter(ctx.inputs.as_of, ctx.config.timezone, r)?,
                None => time::previous_quarter(&time::quarter_of(ctx.inputs.as_of, ctx.config.timezone)),
            }
        }
    };
    let inputs = facts::Inputs {
        tables,
        merchant_names: merchant_names(ctx.inputs, tables)?,
        sku_merchant: sku_merchant(&metrics.sku_merchants)?,
        rules_off: ["merchant_ack", "refund_payout"]
            .into_iter()
            .filter(|r| !ctx.config.sla_rules.iter().any(|s| s.name == *r))
            .map(str::to_string)
            .collect(),
        provisional: time::Provisional::of(
            &quarter,
            ctx.inputs.as_of,
            ctx.config.timezone,
            ctx.config.maturity_days,
        )
        .map(|p| provisional_reason(p, &quarter, ctx)),
        tz: ctx.config.timezone,
        m: ctx.lang.messages(),
        risk: ctx.config.risk.clone(),
        badge: ctx.config.badge.clone(),
    };
    let f = facts::gather(&inputs, &quarter)?;
    let charts = crate::i18n::with_lang(ctx.lang, || -> Result<Vec<Rendered>> {
        Ok(vec![
            charts::render(&f.rates)?,
            charts::render(&f.reasons)?,
            charts::render(&f.compliance)?,
            charts::render(&f.heatmap)?,
            charts::render(&f.carriers)?,
            charts::render(&f.funnel)?,
            charts::render(&f.spikes)?,
            charts::render(&f.badges)?,
        ])
    })?;
    let mut fonts = font::Subsetter::new()?;
    let html = fonts.embed(&html::page(ctx, &f, &charts)?)?;
    let as_of = time::format_local(ctx.inputs.as_of, ctx.config.timezone);
    let merchant_pages = merchant::pages(
        &inputs,
        ctx.lang.code(),
        &f.flags,
        &f.episodes,
        &quarter,
        &as_of,
        f.provisional.as_deref(),
    )?;
    let merchant_pages = font::embed_all(merchant_pages)?;
    let alerts = crate::metrics::episodes::alerts_jsonl(
        &f.episodes_all,
        &|id| inputs.merchant_names.get(id).cloned(),
        inputs.m,
        ctx.lang.code(),
        ctx.config.risk.age_days,
    )?;
    Ok(Report {
        quarter,
        charts,
        html,
        merchant_pages,
        alerts,
    })
}

/// merchant_id → merchant_name from the merchants table, else from merchant_risk (which carries names when
/// the table was given).
fn merchant_names(inputs: &InputFacts, tables: &[(&'static str, DataFrame)]) -> Result<HashMap<String, String>> {
    let df = match &inputs.merchants {
        Some(m) => m.clone(),
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

/// Why the quarter is provisional, in the page's language (badges.parquet's `provisional_reason` says it in
/// English).
fn provisional_reason(p: time::Provisional, quarter: &str, ctx: &RunContext<'_>) -> String {
    let m = ctx.lang.messages();
    let day = |t: Micros| {
        time::format_local(t, ctx.config.timezone)
            .chars()
            .take(10)
            .collect::<String>()
    };
    match p {
        time::Provisional::NotEnded { ends } => {
            m.f("provisional.not_ended", &[("quarter", &quarter), ("date", &day(ends))])
        }
        time::Provisional::NotMature { mature_at } => m.f(
            "provisional.not_mature",
            &[("quarter", &quarter), ("date", &day(mature_at))],
        ),
    }
}
