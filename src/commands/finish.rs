//! `aftersales finish`: the distributed path's last step (docs/scale-out.md). From the aggregates aftersales-dist
//! wrote over a Hive copy, the small global stages run here, on one machine, with the code the local run uses —
//! ratios and intervals, percentiles, spike baselines and z-scores, merchant risk, badges, carriers' network
//! rates — and the output folder is written as `run` writes it: `tables/` (every table of SPEC §4),
//! `charts/`, `report.html`, `merchants/`, the copy's `data_quality.parquet` and `rejects/`, and `run.json`.
//!
//! The evidence tables and the page need a second pass: a first `finish` writes the other tables, from whose
//! risk_flags and badges `aftersales-dist evidence` finds the records behind each flag and failed criterion on the
//! cluster; `finish --evidence` then writes everything.

use std::time::Instant;

use anyhow::{Context, Result};
use polars::prelude::*;

use crate::aggregates;
use crate::cli::FinishArgs;
use crate::config::Config;
use crate::metrics::{MetricTables, carriers, episodes, evidence, merchants, sla, spikes};
use crate::output::OutputDir;
use crate::pipeline::CannotStart;
use crate::progress::Progress;
use crate::stages::Stages;

pub fn finish(args: &FinishArgs, quiet: bool) -> Result<i32> {
    let started = Instant::now();
    let manifest = crate::hive::Manifest::read(&args.data).context(CannotStart)?;
    let cfg = args.data.join("aftersales.toml");
    let config = if cfg.is_file() {
        Config::load(&cfg).context(CannotStart)?
    } else {
        Config::default()
    };
    anyhow::ensure!(
        config.timezone.name() == manifest.timezone,
        "{} says the zone is {}, but the copy's periods were worked out in {}",
        cfg.display(),
        config.timezone.name(),
        manifest.timezone
    );
    if let Some(q) = &args.quarter
        && !super::run::is_quarter(q)
    {
        return Err(anyhow::anyhow!("--quarter '{q}': expected a quarter like 2026Q3")).context(CannotStart);
    }
    let progress = Progress::new(quiet);
    let mut stages = Stages::default();
    let (agg, tz, as_of) = (&args.aggregates, config.timezone, manifest.as_of);
    let merchants = read_optional(&args.data.join("merchants.parquet"))?;

    progress.set_message("finishing the tables from the aggregates".into());
    let clock = stages.start();
    let rates = aggregates::return_rates(agg, tz, as_of, manifest.maturity_days)?;
    let reasons = aggregates::reason_breakdown(agg)?;
    let compliance = aggregates::sla_compliance(agg, &config.sla_rules)?;
    // Written as the local run writes its clocks (`workdir::sink_linkable`), then linked into the output; without
    // SLA rules the local run writes an empty sla_clocks table, and so does this.
    let clocks_file = tempfile::NamedTempFile::new_in(crate::output::parent_of(&args.out))?;
    let clocks = if config.sla_rules.is_empty() {
        sla::Clocks {
            scan: DataFrame::empty().lazy(),
            rows: 0,
            file: None,
        }
    } else {
        crate::workdir::sink_linkable(aggregates::sla_clocks(agg, &config.sla_rules)?, clocks_file.path())?;
        sla::Clocks::from_file(clocks_file.path().to_path_buf())?
    };
    let sold = aggregates::sold_weeks(agg)?;
    let early = aggregates::early_weeks(agg)?;
    let evaluation = spikes::evaluate(&early, &sold, merchants.as_ref(), tz, as_of, &config.risk)?;
    let owners = spikes::flag_owners(&evaluation, &sold)?;
    let flags = spikes::risk_flags(&evaluation, &owners, &config.risk)?;
    let episodes = episodes::flag_episodes_of(&evaluation, &owners, &config.risk)?;
    let sku_merchants = merchants::flagged_sku_merchants(sold.0.clone().lazy(), &flags)?;
    let case_counts = aggregates::merchant_case_counts(agg)?;
    let facts = merchants::QuarterFacts::from_tables(
        &merchants::Tables {
            case_counts: &case_counts,
            return_rates: &rates,
            sla_compliance: &compliance,
            flags: &flags,
            sku_merchants: &sku_merchants,
        },
        merchants.as_ref(),
        as_of,
        tz,
        manifest.maturity_days,
    )?;
    let risk = facts.merchant_risk(&config.risk)?;
    let badges = facts.badges(&config.badge)?;
    let legs = aggregates::leg_groups(agg)?;
    let performance = aggregates::carrier_performance(agg, &legs, tz)?;
    let lanes = carriers::carrier_lanes(&legs)?;
    let mut frames = vec![
        ("return_rates", rates),
        ("reason_breakdown", reasons),
        ("sla_compliance", compliance),
        ("spike_evaluation", evaluation),
        ("risk_flags", flags.clone()),
        ("flag_episodes", episodes),
        ("merchant_risk", risk),
        ("badges", badges.clone()),
        ("carrier_performance", performance),
        ("carrier_lanes", lanes),
    ];
    if let Some(dir) = &args.evidence {
        let early = crate::workdir::scan(&dir.join("evidence_early.parquet"))?;
        frames.push(("flag_evidence", evidence::flag_evidence_from(early, &flags)?));
        let cases = crate::workdir::scan(&dir.join("evidence_cases.parquet"))?;
        let breached = dir.join("evidence_clocks.parquet");
        let breached = if breached.is_file() {
            crate::workdir::scan(&breached)?
        } else {
            DataFrame::empty().lazy()
        };
        frames.push((
            "badge_evidence",
            evidence::badge_evidence_from(cases, tz, &config.badge, &badges, &breached, &flags)?,
        ));
    }
    let tables = MetricTables {
        frames,
        copies: vec![("sla_clocks", clocks)],
        sku_merchants,
    };
    stages.end("tables", clock);

    let clock = stages.start();
    progress.set_message("writing outputs".into());
    let mut out = OutputDir::create(&args.out)?;
    crate::pipeline::write_metric_tables(&tables, &mut out)?;
    // What the checks found, as convert wrote it with the copy, and the calendar's findings for this config.
    let dq_file = args.data.join("data_quality.parquet");
    let mut data_quality = manifest.data_quality(
        read_optional(&dq_file)?.with_context(|| format!("{} is missing", dq_file.display()))?,
        &config,
    )?;
    out.write_parquet("data_quality.parquet", &mut data_quality)?;
    for entry in std::fs::read_dir(args.data.join("rejects"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        out.write_bytes(&format!("rejects/{name}"), &std::fs::read(entry.path())?)?;
    }
    stages.end("write_tables", clock);

    // The page shows the evidence under each flag and near miss: drawn once the evidence is there.
    let mut quarter = None;
    if args.evidence.is_some() {
        let clock = stages.start();
        progress.set_message("drawing charts and the report".into());
        let inputs = manifest.input_facts(data_quality, merchants);
        let ctx = crate::report::RunContext {
            data_dir: &args.data,
            config: &config,
            inputs: &inputs,
            lang: args.lang.unwrap_or(config.language),
            merchant_pages: args.merchant_pages.unwrap_or(config.merchant_pages),
        };
        let page = crate::report::build(&ctx, &tables, args.quarter.as_deref())?;
        page.write(&mut out)?;
        quarter = Some(page.quarter);
        stages.end("charts_and_report", clock);
    }
    stages.total(started);

    let json = serde_json::json!({
        "command": "finish",
        "version": env!("CARGO_PKG_VERSION"),
        "as_of": crate::time::format_local(as_of, tz),
        "as_of_source": manifest.as_of_source,
        "timezone": tz.name(),
        "quarter": quarter,
        "data_dir": args.data.display().to_string(),
        "aggregates": args.aggregates.display().to_string(),
        "evidence": args.evidence.as_ref().map(|e| e.display().to_string()),
        "config": {
            "path": config.source.as_ref().map(|p| p.display().to_string()),
            "digest": config.digest,
        },
        "tables": manifest.tables.iter().map(|(name, t)| (name.clone(), serde_json::json!({
            "rows_read": t.read,
            "rows_accepted": t.rows,
            "rows_rejected": t.rejected,
            "rows_filtered": t.filtered,
        }))).collect::<serde_json::Map<_, _>>(),
        "outputs": out.written.iter().map(|(p, n)| serde_json::json!({"path": p, "rows": n})).collect::<Vec<_>>(),
        "stage_seconds": crate::output::run_json::stage_seconds(&stages),
        "pages": crate::output::run_json::pages_json(
            args.lang.unwrap_or(config.language),
            as_of,
            args.merchant_pages.unwrap_or(config.merchant_pages),
        ),
    });
    out.write_bytes("config.toml", &config.bytes)?;
    out.write_bytes("run.json", serde_json::to_string_pretty(&json)?.as_bytes())?;
    out.commit()?;
    progress.finish();
    progress.println(format!(
        "as_of {} · wrote {}{}",
        json["as_of"].as_str().unwrap_or(""),
        args.out.display(),
        if args.evidence.is_none() {
            " (the tables without evidence, no report yet: run aftersales-dist evidence, then finish --evidence)"
        } else {
            ""
        }
    ));
    Ok(0)
}

/// A table the copy may hold (merchants is optional).
fn read_optional(path: &std::path::Path) -> Result<Option<DataFrame>> {
    if !path.is_file() {
        return Ok(None);
    }
    let file = std::fs::File::open(path)?;
    Ok(Some(ParquetReader::new(file).finish()?))
}
