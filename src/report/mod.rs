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
use crate::config::{Config, MerchantPages};
use crate::input::Loaded;
use crate::metrics::MetricTables;
use crate::tables::TableKind;
use crate::time::{self, Micros};

pub struct Report {
    pub quarter: String,
    pub charts: Vec<Rendered>,
    pub html: String,
    /// (file name under merchants/, page): one per merchant `merchant_pages` chooses.
    pub merchant_pages: Vec<(String, String)>,
    /// merchants/index.json: every merchant of the quarter, its page's file name, whether it was written and why
    /// it is notable. None when `merchant_pages = "none"` (no merchants/ folder).
    pub merchant_index: Option<String>,
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
        if let Some(index) = &self.merchant_index {
            dir.write_bytes("merchants/index.json", index.as_bytes())?;
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
    /// Which merchants get a page (`--merchant-pages`, else the config's `merchant_pages`).
    pub merchant_pages: crate::config::MerchantPages,
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
    let inputs = inputs(
        ctx.config,
        ctx.inputs.merchants.as_ref(),
        tables,
        ctx.inputs.as_of,
        ctx.lang,
        &quarter,
    )?;
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
    let (merchant_pages, merchant_index) = match ctx.merchant_pages {
        MerchantPages::None => (Vec::new(), None),
        which => {
            let names = quarter_file_names(&inputs, &quarter)?;
            let notable = merchant::notable(&inputs, &f.flags, &f.episodes, &quarter)?;
            let chosen = |id: &str| which == MerchantPages::All || notable.contains_key(id);
            let pages = merchant::pages(
                &inputs,
                ctx.lang.code(),
                &f.flags,
                &f.episodes,
                &quarter,
                &time::format_local(ctx.inputs.as_of, ctx.config.timezone),
                f.provisional.as_deref(),
                &chosen,
            )?;
            let pages = pages.into_iter().map(|(id, page)| (names[&id].clone(), page)).collect();
            let index = serde_json::json!({
                "quarter": quarter,
                "language": ctx.lang.code(),
                "merchant_pages": which.name(),
                "render_any": "aftersales page MERCHANT_ID --from <this output folder> [--quarter Q] [--lang L]",
                "merchants": names.iter().map(|(id, file)| serde_json::json!({
                    "merchant_id": id,
                    "file": file,
                    "written": chosen(id),
                    "notable": notable.get(id).map(|w| w.iter().collect::<Vec<_>>()).unwrap_or_default(),
                })).collect::<Vec<_>>(),
            });
            (
                font::embed_all(pages)?,
                Some(serde_json::to_string_pretty(&index)? + "\n"),
            )
        }
    };
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
        merchant_index,
        alerts,
    })
}

/// What every page of the quarter reads: the tables, names, the SKUs' merchants, the rules switched off, whether
/// the quarter is provisional at as_of, the language and the parameters sentences name. `run` gives the tables it
/// computed; `page` the ones it wrote.
pub fn inputs<'a>(
    config: &Config,
    merchants: Option<&DataFrame>,
    tables: &'a [(&'static str, DataFrame)],
    as_of: Micros,
    lang: crate::i18n::Lang,
    quarter: &str,
) -> Result<facts::Inputs<'a>> {
    Ok(facts::Inputs {
        tables,
        merchant_names: merchant_names(merchants, tables)?,
        sku_merchant: sku_merchant(tables)?,
        rules_off: ["merchant_ack", "refund_payout"]
            .into_iter()
            .filter(|r| !config.sla_rules.iter().any(|s| s.name == *r))
            .map(str::to_string)
            .collect(),
        provisional: time::Provisional::of(quarter, as_of, config.timezone, config.maturity_days)
            .map(|p| provisional_reason(p, quarter, config.timezone, lang)),
        tz: config.timezone,
        m: lang.messages(),
        risk: config.risk.clone(),
        badge: config.badge.clone(),
    })
}

/// The page file name of every merchant with a badges row in the quarter ([`merchant::file_names`]).
pub fn quarter_file_names(
    inputs: &facts::Inputs<'_>,
    quarter: &str,
) -> Result<std::collections::BTreeMap<String, String>> {
    let badges = frame::Table::find(inputs.tables, "badges")?.rows(&[("quarter", quarter)])?;
    let ids: Vec<String> = badges.strs("merchant_id")?.into_iter().flatten().collect();
    Ok(merchant::file_names(ids.iter().map(String::as_str)))
}

/// One merchant's page of the quarter, as `run` writes it: (file name, page).
pub fn merchant_page(
    inputs: &facts::Inputs<'_>,
    lang: crate::i18n::Lang,
    as_of: &str,
    quarter: &str,
    id: &str,
) -> Result<Option<(String, String)>> {
    let names = quarter_file_names(inputs, quarter)?;
    let Some(file) = names.get(id) else {
        return Ok(None);
    };
    let (flags, _, episodes) = facts::flags_and_episodes(inputs, quarter)?;
    let pages = merchant::pages(
        inputs,
        lang.code(),
        &flags,
        &episodes,
        quarter,
        as_of,
        inputs.provisional.as_deref(),
        &|m| m == id,
    )?;
    let pages = font::embed_all(pages.into_iter().map(|(_, p)| (file.clone(), p)).collect())?;
    Ok(pages.into_iter().next())
}

/// merchant_id → merchant_name from the merchants table, else from merchant_risk (which carries names when
/// the table was given).
fn merchant_names(
    merchants: Option<&DataFrame>,
    tables: &[(&'static str, DataFrame)],
) -> Result<HashMap<String, String>> {
    let df = match merchants {
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

/// sku → merchant_id for the SKUs in risk_flags (the only SKUs the report names): the flag row's merchant_id, the
/// merchant that sold most of the SKU's lines, as flag_episodes names it.
fn sku_merchant(tables: &[(&'static str, DataFrame)]) -> Result<HashMap<String, String>> {
    let flags = frame::Table::find(tables, "risk_flags")?.rows(&[("level", "sku")])?;
    Ok(flags
        .strs("key")?
        .into_iter()
        .zip(flags.strs("merchant_id")?)
        .filter_map(|(s, m)| Some((s?, m?)))
        .collect())
}

/// Why the quarter is provisional, in the page's language (badges.parquet's `provisional_reason` says it in
/// English).
fn provisional_reason(p: time::Provisional, quarter: &str, tz: chrono_tz::Tz, lang: crate::i18n::Lang) -> String {
    let m = lang.messages();
    let day = |t: Micros| time::format_local(t, tz).chars().take(10).collect::<String>();
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
