//! `aftersales finish`: the tables from the aggregates aftersales-dist wrote over a Hive copy (`crate::aggregates`,
//! docs/scale-out.md). The small global stages run here, on one machine, with the code the local run uses.
//!
//! Written: `tables/` return_rates, reason_breakdown, sla_clocks, sla_compliance, spike_evaluation, risk_flags,
//! merchant_risk, badges, carrier_performance, carrier_lanes, with `--evidence` flag_evidence and badge_evidence
//! (from `aftersales-dist evidence`, which reads this command's risk_flags and badges), and the copy's
//! `data_quality.parquet`.

use anyhow::{Context, Result};

use polars::prelude::*;

use crate::cli::FinishArgs;
use crate::config::Config;
use crate::metrics::{merchants, spikes};
use crate::output::OutputDir;
use crate::pipeline::CannotStart;
use crate::progress::Progress;

pub fn finish(args: &FinishArgs, quiet: bool) -> Result<i32> {
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
    let progress = Progress::new(quiet);
    progress.set_message("finishing the tables from the aggregates".into());
    let mut out = OutputDir::create(&args.out)?;
    let tz = config.timezone;
    let mut rr = crate::aggregates::return_rates(&args.aggregates, tz, manifest.as_of, manifest.maturity_days)?;
    out.write_parquet("tables/return_rates.parquet", &mut rr)?;
    let mut reasons = crate::aggregates::reason_breakdown(&args.aggregates)?;
    out.write_parquet("tables/reason_breakdown.parquet", &mut reasons)?;
    let mut compliance = DataFrame::empty();
    if !config.sla_rules.is_empty() {
        let clocks = crate::aggregates::sla_clocks(&args.aggregates, &config.sla_rules)?;
        let file = tempfile::NamedTempFile::new_in(crate::output::parent_of(&args.out))?;
        crate::workdir::sink_linkable(clocks, file.path())?;
        let rows = crate::workdir::scan(file.path())?
            .select([len().cast(DataType::UInt64).alias("n")])
            .collect()?
            .column("n")?
            .u64()?
            .get(0)
            .unwrap_or(0);
        out.link_file("tables/sla_clocks.parquet", file.path(), rows)?;
        compliance = crate::aggregates::sla_compliance(&args.aggregates, &config.sla_rules)?;
        out.write_parquet("tables/sla_compliance.parquet", &mut compliance)?;
    }
    let merchants = read_optional(&args.data.join("merchants.parquet"))?;
    let sold = crate::aggregates::sold_weeks(&args.aggregates)?;
    let early = crate::aggregates::early_weeks(&args.aggregates)?;
    let mut evaluation = spikes::evaluate(&early, &sold, merchants.as_ref(), tz, manifest.as_of, &config.risk)?;
    let mut flags = spikes::risk_flags(&evaluation, &config.risk)?;
    out.write_parquet("tables/spike_evaluation.parquet", &mut evaluation)?;
    out.write_parquet("tables/risk_flags.parquet", &mut flags)?;
    let sku_merchants = merchants::flagged_sku_merchants(sold.0.clone().lazy(), &flags)?;
    let case_counts = crate::aggregates::merchant_case_counts(&args.aggregates)?;
    let tables = merchants::Tables {
        case_counts: &case_counts,
        return_rates: &rr,
        sla_compliance: &compliance,
        flags: &flags,
        sku_merchants: &sku_merchants,
    };
    let facts =
        merchants::QuarterFacts::from_tables(&tables, merchants.as_ref(), manifest.as_of, tz, manifest.maturity_days)?;
    out.write_parquet("tables/merchant_risk.parquet", &mut facts.merchant_risk(&config.badge)?)?;
    let mut badges = facts.badges(&config.badge)?;
    out.write_parquet("tables/badges.parquet", &mut badges)?;
    if let Some(dir) = &args.evidence {
        let early = crate::workdir::scan(&dir.join("evidence_early.parquet"))?;
        let mut flag_evidence = crate::metrics::evidence::flag_evidence_from(early, &flags)?;
        out.write_parquet("tables/flag_evidence.parquet", &mut flag_evidence)?;
        let cases = crate::workdir::scan(&dir.join("evidence_cases.parquet"))?;
        let clocks_file = dir.join("evidence_clocks.parquet");
        let clocks = if clocks_file.is_file() {
            crate::workdir::scan(&clocks_file)?
        } else {
            DataFrame::empty().lazy()
        };
        let mut badge_evidence =
            crate::metrics::evidence::badge_evidence_from(cases, tz, &config.badge, &badges, &clocks, &flags)?;
        out.write_parquet("tables/badge_evidence.parquet", &mut badge_evidence)?;
    }

    let legs = crate::aggregates::leg_groups(&args.aggregates)?;
    let mut performance = crate::aggregates::carrier_performance(&args.aggregates, &legs, tz)?;
    out.write_parquet("tables/carrier_performance.parquet", &mut performance)?;
    let mut lanes = crate::metrics::carriers::carrier_lanes(&legs)?;
    out.write_parquet("tables/carrier_lanes.parquet", &mut lanes)?;
    let dq = args.data.join("data_quality.parquet");
    if dq.is_file() {
        out.write_bytes("data_quality.parquet", &std::fs::read(&dq)?)?;
    }
    out.commit()?;
    progress.finish();
    progress.println(format!("wrote {}", args.out.display()));
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
