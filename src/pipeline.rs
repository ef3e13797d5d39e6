//! Wiring only: load (two tables at a time) → plausibility → timestamps → checks → the metric steps (declared in
//! [`metric_steps`], run by `schedule`) → write. Each stage is timed for run.json.

use anyhow::{Context, Result};
use polars::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

use crate::checks;
use crate::config::Config;
use crate::input::{LoadedTable, converted};
use crate::metrics;
use crate::output::{OutputDir, rejects_frame};
use crate::progress::Progress;
use crate::schedule::{self, Slot, Step};
use crate::stages::{Stages, Timed};
use crate::tables::TableKind;
use crate::time;
use crate::workdir::WorkDir;

pub use crate::input::loaded::{AsOfSource, LoadOptions, Loaded};
pub use crate::metrics::MetricTables;
pub use crate::output::run_json::{RunInfo, run_json};

/// Marks an error that happened before any output was touched because the inputs or the config cannot be used:
/// exit code 2.
#[derive(Debug)]
pub struct CannotStart;

impl std::fmt::Display for CannotStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the run cannot start")
    }
}

/// Loads every table, two at a time: parsing a table is one thread's work, and a machine has at least two cores.
/// The largest exports go first so the two threads finish together. Results come back in table order, each with
/// its own seconds (they overlap).
fn load_tables(
    opts: &LoadOptions,
    progress: &Progress,
    work: Option<&WorkDir>,
) -> Vec<(TableKind, Result<Option<LoadedTable>>, Timed)> {
    const ORDER: [TableKind; 5] = [
        TableKind::Shipments,
        TableKind::Orders,
        TableKind::Cases,
        TableKind::Refunds,
        TableKind::Merchants,
    ];
    let next = std::sync::atomic::AtomicUsize::new(0);
    let lookups = crate::staging::Lookups::default();
    let tz = opts.config.timezone;
    let mut done: Vec<(TableKind, Result<Option<LoadedTable>>, Timed)> = std::thread::scope(|s| {
        let lane = || {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&kind) = ORDER.get(i) else { break };
                let started = std::time::Instant::now();
                progress.set_message(format!("loading {}", kind.name()));
                let tc = opts.config.table(kind);
                let loaded = crate::staging::load_table(&opts.data_dir, kind, &tc, tz, progress, work, &lookups);
                out.push((kind, loaded, Timed::since(started)));
            }
            out
        };
        let lanes = [s.spawn(lane), s.spawn(lane)];
        lanes
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    done.sort_by_key(|(k, _, _)| TableKind::ALL.iter().position(|a| a == k));
    done
}

pub fn load_and_check(opts: &LoadOptions, progress: &Progress) -> Result<Loaded> {
    let tz = opts.config.timezone;
    let mut stages = Stages::default();
    let mut tables = BTreeMap::new();
    progress.reset();
    let work = match &opts.work_in {
        Some(dir) => Some(WorkDir::create_in(dir).context(CannotStart)?.holding(opts.hold_inputs)),
        None => None,
    };
    let clock = stages.start();
    let loads = load_tables(opts, progress, work.as_ref());
    stages.end("load", clock);
    let since = stages.list.len() - 1;
    for (kind, result, timed) in loads {
        if let Some(t) = result.context(CannotStart)? {
            tables.insert(kind, t);
        }
        stages.push_concurrent_since(since, &format!("load_{}", kind.name()), timed);
    }
    let clock = stages.start();
    progress.set_message("setting aside implausible timestamps".into());
    let plausible = crate::input::plausible::apply(&mut tables, &opts.config, work.as_ref())?.map(|(b, _)| b);
    stages.end("plausibility", clock);
    let clock = stages.start();
    progress.set_message("finding the inputs' first and last timestamps".into());
    let crate::input::timestamps::Timestamps {
        latest,
        span: time_span,
        ordered: ordered_span,
    } = crate::input::timestamps::scan(&tables)?;
    stages.end("timestamps", clock);
    let (as_of, as_of_source) = match (opts.as_of, opts.config.as_of) {
        (Some(t), _) => (t, AsOfSource::CommandLine),
        (None, Some(t)) => (t, AsOfSource::Config),
        (None, None) => (latest.unwrap_or(0), AsOfSource::LatestInInputs),
    };
    if as_of_source != AsOfSource::LatestInInputs {
        let earliest = opts.config.earliest_plausible;
        let last = plausible.map(|b| b.latest_deadline());
        if as_of < earliest || last.is_some_and(|l| as_of > l) {
            let shown = |t| time::format_local(t, tz);
            return Err(anyhow::anyhow!(
                "as_of {} is outside the plausible window from {} to {}: an export is taken while its data is recent;                  give the moment the export was taken",
                shown(as_of),
                shown(earliest),
                last.map_or("the data's end".to_string(), shown)
            )
            .context(CannotStart));
        }
    }
    let clock = stages.start();
    progress.set_message("checking references and clocks".into());
    let explicit_as_of = as_of_source.explicit(as_of);
    let trusted: BTreeMap<&str, Option<&Path>> = tables.iter().map(|(k, t)| (k.name(), t.converted_file())).collect();
    let findings_from = converted::trusted_findings(&trusted, tz, explicit_as_of);
    let mut data_quality = match &findings_from {
        Some(path) => checks::read_findings(path)?,
        None => checks::data_quality(&tables, as_of, explicit_as_of.is_some(), tz)?,
    };
    let calendar = checks::calendar_years(&tables, &opts.config.sla_rules, &opts.config.calendar, tz)?;
    if calendar.height() > 0 {
        data_quality.vstack_mut(&calendar)?;
    }
    stages.end("checks", clock);
    Ok(Loaded {
        tables,
        as_of,
        as_of_source,
        time_span,
        ordered_span,
        data_quality,
        plausible,
        findings_from,
        stages,
        work,
    })
}

/// The products of the metric steps, each set by the step of its name.
pub struct MetricSlots {
    prepared: Slot<metrics::Prepared>,
    legs: Slot<metrics::carriers::LegGroups>,
    rates: Slot<(DataFrame, metrics::return_rates::SoldWeeks)>,
    evaluation: Slot<DataFrame>,
    performance: Slot<DataFrame>,
    lanes: Slot<DataFrame>,
    reasons: Slot<DataFrame>,
    clocks: Slot<metrics::sla::Clocks>,
    compliance: Slot<DataFrame>,
    flags: Slot<DataFrame>,
    episodes: Slot<DataFrame>,
    facts: Slot<(metrics::merchants::QuarterFacts, DataFrame)>,
    risk: Slot<DataFrame>,
    badges: Slot<DataFrame>,
    flag_evidence: Slot<DataFrame>,
    badge_evidence: Slot<DataFrame>,
    /// (level, key, merchant_id) of every flagged entity (`spikes::flag_owners`), set by the risk_flags step.
    owners: Slot<DataFrame>,
}

impl Default for MetricSlots {
    fn default() -> Self {
        MetricSlots {
            prepared: Slot::new("prepare"),
            legs: Slot::new("carrier_legs"),
            rates: Slot::new("return_rates"),
            evaluation: Slot::new("spike_evaluation"),
            performance: Slot::new("carrier_performance"),
            lanes: Slot::new("carrier_lanes"),
            reasons: Slot::new("reason_breakdown"),
            clocks: Slot::new("sla_clocks"),
            compliance: Slot::new("sla_compliance"),
            flags: Slot::new("risk_flags"),
            episodes: Slot::new("flag_episodes"),
            facts: Slot::new("merchant_quarter_facts"),
            risk: Slot::new("merchant_risk"),
            badges: Slot::new("badges"),
            flag_evidence: Slot::new("flag_evidence"),
            badge_evidence: Slot::new("badge_evidence"),
            owners: Slot::new("risk_flags"),
        }
    }
}

/// The steps that make the metric tables: every table of SPEC §4 once all have run.
pub const METRIC_STEPS_DONE: &[&str] = &[
    "return_rates",
    "reason_breakdown",
    "sla_clocks",
    "sla_compliance",
    "spike_evaluation",
    "risk_flags",
    "flag_episodes",
    "merchant_risk",
    "badges",
    "carrier_performance",
    "carrier_lanes",
    "flag_evidence",
    "badge_evidence",
];

impl MetricSlots {
    /// The metric tables, once every step of [`METRIC_STEPS_DONE`] has run (frames are shared, not copied).
    pub fn tables(&self) -> MetricTables {
        let frame = |s: &Slot<DataFrame>| s.get().clone();
        MetricTables {
            frames: vec![
                ("return_rates", self.rates.get().0.clone()),
                ("reason_breakdown", frame(&self.reasons)),
                ("sla_compliance", frame(&self.compliance)),
                ("spike_evaluation", frame(&self.evaluation)),
                ("risk_flags", frame(&self.flags)),
                ("flag_episodes", frame(&self.episodes)),
                ("merchant_risk", frame(&self.risk)),
                ("badges", frame(&self.badges)),
                ("carrier_performance", frame(&self.performance)),
                ("carrier_lanes", frame(&self.lanes)),
                ("flag_evidence", frame(&self.flag_evidence)),
                ("badge_evidence", frame(&self.badge_evidence)),
            ],
            copies: vec![("sla_clocks", self.clocks.get().clone())],
            sku_merchants: self.facts.get().1.clone(),
        }
    }
}

/// The metric families' steps (SPEC §4). Lanes: return_rates and the spike detector that reads its weekly sums
/// are the long path, on the main lane. The carrier family and reason_breakdown read only the shipments and the
/// prepared cases and feed no other family: they run beside it, filling the moments it leaves a core idle (no
/// family keeps both cores busy all the time). The SLA families join them there up to [`SLA_BESIDE_MAX_LINES`]
/// order lines, so both lanes stay busy about as long; above it they run on the main lane after the spike
/// detector, as their working sets beside return_rates' would raise the peak. `AFTERSALES_SLA_BESIDE_MAX_LINES`
/// moves the limit: a switch for tests and measuring, not a setting.
pub fn metric_steps<'a>(s: &'a MetricSlots, loaded: &'a Loaded, config: &'a Config) -> Vec<Step<'a>> {
    use metrics::{carriers, episodes, evidence, merchants, reasons, return_rates, sla, spikes};
    use schedule::Lane::{Beside, Main};
    let table = |k: TableKind| loaded.tables.get(&k).expect("required tables are loaded");
    let max_lines = std::env::var("AFTERSALES_SLA_BESIDE_MAX_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SLA_BESIDE_MAX_LINES);
    let sla_lane = if table(TableKind::Orders).rows_accepted() <= max_lines {
        Beside
    } else {
        Main
    };
    let set = |slot: &'a Slot<DataFrame>, df: Result<DataFrame>| df.map(|df| slot.set(df));
    vec![
        Step::new("prepare", Main, &[], move || {
            let mut p = metrics::Prepared::new(
                table(TableKind::Orders).lazy()?,
                table(TableKind::Cases).lazy()?,
                table(TableKind::Shipments).lazy()?,
                table(TableKind::Refunds).lazy()?,
                config,
                loaded.as_of,
                loaded.time_span,
                loaded.work.as_ref(),
            )?;
            p.merchants = loaded.tables.get(&TableKind::Merchants).map(|t| t.data()).transpose()?;
            p.ordered_span = loaded.ordered_span;
            s.prepared.set(p);
            Ok(())
        }),
        // Both carrier tables are sums of the same leg groups: grouped once.
        Step::new("carrier_legs", Beside, &["prepare"], move || {
            s.legs.set(carriers::LegGroups::new(s.prepared.get())?);
            Ok(())
        }),
        Step::new("carrier_performance", Beside, &["carrier_legs"], move || {
            set(
                &s.performance,
                carriers::carrier_performance(s.prepared.get(), s.legs.get()),
            )
        }),
        Step::new("carrier_lanes", Beside, &["carrier_legs"], move || {
            set(&s.lanes, carriers::carrier_lanes(s.legs.get()))
        }),
        Step::new("reason_breakdown", Beside, &["prepare"], move || {
            set(&s.reasons, reasons::reason_breakdown(s.prepared.get()))
        }),
        Step::new("return_rates", Main, &["prepare"], move || {
            s.rates.set(return_rates::return_rates(s.prepared.get())?);
            Ok(())
        }),
        Step::new("spike_evaluation", Main, &["return_rates"], move || {
            let sold_weeks = &s.rates.get().1;
            set(
                &s.evaluation,
                spikes::spike_evaluation(s.prepared.get(), &config.risk, sold_weeks),
            )
        }),
        // sla_clocks (a row per case and rule, the largest table) goes to a working file a rule at a time, in the
        // output's format; sla_compliance and the queries read it from there, and the output links it.
        Step::new("sla_clocks", sla_lane, &["prepare"], move || {
            let clocks = sla::sla_clocks(
                s.prepared.get(),
                &config.sla_rules,
                &config.calendar,
                loaded.work.as_ref(),
            )?;
            s.clocks.set(clocks);
            Ok(())
        }),
        Step::new("sla_compliance", sla_lane, &["sla_clocks"], move || {
            let compliance = sla::sla_compliance(s.prepared.get(), &s.clocks.get().scan, &config.sla_rules);
            set(&s.compliance, compliance)
        }),
        // A flagged entity's merchant, looked up once for the flags and the episodes (the evaluation has none).
        Step::new("risk_flags", Main, &["spike_evaluation"], move || {
            let owners = spikes::flag_owners(s.evaluation.get(), &s.rates.get().1)?;
            let flags = spikes::risk_flags(s.evaluation.get(), &owners, &config.risk)?;
            s.owners.set(owners);
            s.flags.set(flags);
            Ok(())
        }),
        Step::new("flag_episodes", Main, &["risk_flags"], move || {
            set(
                &s.episodes,
                episodes::flag_episodes_of(s.evaluation.get(), s.owners.get(), &config.risk),
            )
        }),
        // merchant_risk and badges read the same per-(quarter, merchant) facts: gathered once. A flagged SKU's
        // merchant, which they and the report need, is looked up once, in return_rates' weekly sums of the lines.
        Step::new(
            "merchant_quarter_facts",
            Main,
            &["return_rates", "sla_compliance", "risk_flags"],
            move || {
                let (rates, sold_weeks) = s.rates.get();
                let flags = s.flags.get();
                let sku_merchants = merchants::flagged_sku_merchants(sold_weeks.0.clone().lazy(), flags)?;
                let facts =
                    merchants::QuarterFacts::new(s.prepared.get(), rates, s.compliance.get(), flags, &sku_merchants)?;
                s.facts.set((facts, sku_merchants));
                Ok(())
            },
        ),
        Step::new("merchant_risk", Main, &["merchant_quarter_facts"], move || {
            set(&s.risk, s.facts.get().0.merchant_risk(&config.risk))
        }),
        Step::new("badges", Main, &["merchant_quarter_facts"], move || {
            set(&s.badges, s.facts.get().0.badges(&config.badge))
        }),
        // The cases behind each flag and each failed criterion: small tables read from the flags, the badges, the
        // prepared cases and the clocks' file.
        Step::new("flag_evidence", Main, &["risk_flags"], move || {
            set(
                &s.flag_evidence,
                evidence::flag_evidence(s.prepared.get(), &config.risk, s.flags.get()),
            )
        }),
        Step::new("badge_evidence", Main, &["badges", "sla_clocks"], move || {
            let e = evidence::badge_evidence(
                s.prepared.get(),
                &config.badge,
                s.badges.get(),
                &s.clocks.get().scan,
                s.flags.get(),
            );
            set(&s.badge_evidence, e)
        }),
    ]
}

/// The metric tables of SPEC §4: the metric steps alone, for commands that do not write the whole output.
pub fn compute_metrics(
    loaded: &Loaded,
    config: &Config,
    progress: &Progress,
    stages: &mut Stages,
) -> Result<MetricTables> {
    let slots = MetricSlots::default();
    schedule::run(metric_steps(&slots, loaded, config), stages, progress)?;
    Ok(slots.tables())
}

/// Above this many order lines the SLA families run on the main lane after the spike detector, not beside
/// return_rates: with the largest inputs their working sets beside return_rates' raise the run's peak and save no
/// time, while below it the two lanes keep both cores busier (BENCHMARKS.md).
pub const SLA_BESIDE_MAX_LINES: u64 = 30_000_000;

/// Writes every metric table to `tables/<name>.parquet`.
pub fn write_metric_tables(tables: &MetricTables, out: &mut OutputDir) -> Result<()> {
    for (name, df) in &tables.frames {
        out.write_parquet(&format!("tables/{name}.parquet"), &mut df.clone())?;
    }
    for (name, t) in &tables.copies {
        let rel = format!("tables/{name}.parquet");
        match &t.file {
            Some(file) => out.link_file(&rel, file, t.rows)?,
            // The working file's format (`bulk_table_options`), whichever way the table is made.
            None => out.write_parquet_lazy_as(
                &rel,
                t.scan.clone(),
                t.rows,
                crate::workdir::bulk_table_options().compression,
            )?,
        }
    }
    Ok(())
}

/// Writes what loading and checking produced: rejects/<table>.parquet (every table, empty when none was rejected)
/// and data_quality.parquet (`findings`: the run's, or for a converted copy its row findings only).
pub fn write_checks(out: &mut OutputDir, loaded: &Loaded, findings: &DataFrame) -> Result<()> {
    for (kind, t) in &loaded.tables {
        out.write_parquet(
            &format!("rejects/{}.parquet", kind.name()),
            &mut rejects_frame(&t.rejects),
        )?;
    }
    out.write_parquet("data_quality.parquet", &mut findings.clone())?;
    Ok(())
}

/// Test hook: `AFTERSALES_FAILPOINT=<stage>` makes the run fail after that stage, to prove that a failed run
/// leaves the previous output untouched.
/// `AFTERSALES_FAILPOINT=panic:<stage>` panics there instead, to prove what a user sees of a bug (`crash`).
pub fn failpoint(stage: &str) -> Result<()> {
    let set = std::env::var("AFTERSALES_FAILPOINT");
    if set.as_deref() == Ok(stage) {
        anyhow::bail!("failpoint '{stage}' reached (AFTERSALES_FAILPOINT is set)");
    }
    if set.as_deref().ok().and_then(|s| s.strip_prefix("panic:")) == Some(stage) {
        panic!("failpoint '{stage}' reached (AFTERSALES_FAILPOINT is set)");
    }
    Ok(())
}

/// The inputs as users see them (no lineage columns), each under its table's name.
fn inputs_as_seen(loaded: &Loaded) -> PolarsResult<Vec<(String, LazyFrame)>> {
    loaded
        .tables
        .iter()
        .map(|(k, t)| Ok((k.name().to_string(), t.data_lazy()?)))
        .collect()
}

/// The tables a query can read before the metrics are computed: the inputs only.
pub fn input_catalog(loaded: &Loaded) -> Result<crate::queries::Catalog> {
    Ok(crate::queries::Catalog::new(inputs_as_seen(loaded)?))
}

/// Every table a query can read: the inputs as users see them (no lineage columns), then the metric tables.
pub fn catalog(loaded: &Loaded, tables: &MetricTables) -> Result<crate::queries::Catalog> {
    let mut all = inputs_as_seen(loaded)?;
    all.extend(tables.frames.iter().map(|(n, d)| (n.to_string(), d.clone().lazy())));
    all.extend(tables.copies.iter().map(|(n, t)| (n.to_string(), t.scan.clone())));
    Ok(crate::queries::Catalog::new(all))
}
