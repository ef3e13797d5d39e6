//! Wiring only: load → check → (metrics, in later stages) → write. Each stage is timed for run.json.

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
use crate::stages::Stages;
use crate::tables::TableKind;
use crate::time::{self, Micros};
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
) -> Vec<(TableKind, Result<Option<LoadedTable>>, f64)> {
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
    let mut done: Vec<(TableKind, Result<Option<LoadedTable>>, f64)> = std::thread::scope(|s| {
        let lane = || {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&kind) = ORDER.get(i) else { break };
                let started = std::time::Instant::now();
                progress.set_message(format!("loading {}", kind.name()));
                let tc = opts.config.table(kind);
                let loaded = crate::staging::load_table(&opts.data_dir, kind, &tc, tz, progress, work, &lookups);
                out.push((kind, loaded, started.elapsed().as_secs_f64()));
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
        Some(dir) => Some(WorkDir::create_in(dir).context(CannotStart)?),
        None => None,
    };
    let clock = stages.start();
    let loads = load_tables(opts, progress, work.as_ref());
    stages.end("load", clock);
    let since = stages.list.len() - 1;
    for (kind, result, seconds) in loads {
        if let Some(t) = result.context(CannotStart)? {
            tables.insert(kind, t);
        }
        stages.push_concurrent_since(since, &format!("load_{}", kind.name()), seconds);
    }
    let clock = stages.start();
    progress.set_message("setting aside implausible timestamps".into());
    let plausible = crate::input::plausible::apply(&mut tables, &opts.config, work.as_ref())?.map(|(b, _)| b);
    stages.end("plausibility", clock);
    let clock = stages.start();
    progress.set_message("finding the inputs' first and last timestamps".into());
    let Timestamps {
        latest,
        span: time_span,
        ordered: ordered_span,
    } = timestamps(&tables)?;
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
    let data_quality = match &findings_from {
        Some(path) => read_findings(path)?,
        None => checks::data_quality(&tables, as_of, explicit_as_of.is_some(), tz)?,
    };
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

fn read_findings(path: &Path) -> Result<DataFrame> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let df = anyhow::Context::with_context(ParquetReader::new(f).finish(), || {
        format!("cannot read the data-quality findings in {}", path.display())
    })?;
    let want = checks::empty_data_quality();
    anyhow::ensure!(
        df.schema() == want.schema(),
        "{} does not have the columns of data_quality.parquet ({:?}); delete converted.json beside it to check the \
         tables again",
        path.display(),
        want.get_column_names()
    );
    Ok(df)
}

pub fn summary_line(t: &LoadedTable) -> String {
    let filtered = if t.rows_filtered() > 0 {
        let mut by: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
        for f in &t.files {
            for (k, v) in &f.filtered {
                *by.entry(k).or_default() += v;
            }
        }
        format!(
            " + {} filtered ({})",
            t.rows_filtered(),
            by.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        String::new()
    };
    format!(
        "{:<10} {:>10} read = {:>10} accepted + {:>8} rejected ({:.2}%){filtered}{}",
        t.kind.name(),
        t.rows_read(),
        t.rows_accepted(),
        t.rows_rejected(),
        t.reject_rate() * 100.0,
        if t.read_as_converted() {
            "  as checked by `aftersales convert` (file unchanged)"
        } else {
            ""
        }
    )
}

/// How a staged table's columns were fed (`validate` prints it): per source, each canonical column's origin and
/// how often cleaning, value maps and time formats acted on it.
pub fn staging_lines(t: &LoadedTable) -> Vec<String> {
    let mut lines = Vec::new();
    for r in &t.staging {
        lines.push(format!(
            "{} ← source '{}' ({} file{}{}{})",
            t.kind.name(),
            r.source,
            r.files.len(),
            if r.files.len() == 1 { "" } else { "s" },
            if r.preamble_lines > 0 {
                format!(", {} preamble lines skipped", r.preamble_lines)
            } else {
                String::new()
            },
            if r.blank_lines > 0 {
                format!(", {} blank lines", r.blank_lines)
            } else {
                String::new()
            }
        ));
        for c in &r.columns {
            let mut notes: Vec<String> = c
                .cleaned
                .nonzero()
                .into_iter()
                .map(|(rule, n)| format!("{rule} {n}"))
                .collect();
            if c.mapped > 0 {
                notes.push(if c.mapped_by_wildcard > 0 {
                    format!("mapped {} (\"*\" {})", c.mapped, c.mapped_by_wildcard)
                } else {
                    format!("mapped {}", c.mapped)
                });
            }
            if c.times_converted > 0 {
                notes.push(format!("numeric times {}", c.times_converted));
            }
            lines.push(format!(
                "  {:<20} ← {}{}",
                c.canonical,
                c.from,
                if notes.is_empty() {
                    String::new()
                } else {
                    format!("   [{}]", notes.join(", "))
                }
            ));
        }
        if !r.filtered.is_empty() {
            lines.push(format!(
                "  filtered: {}",
                r.filtered
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    lines
}

/// The earliest and latest of some instants.
type Span = (Micros, Micros);

/// What [`timestamps`] finds.
struct Timestamps {
    /// The latest event timestamp among all accepted rows (the default as_of, SPEC §3).
    latest: Option<Micros>,
    /// The earliest and latest value of any timestamp column (promised_at too): the span the run's local dates
    /// are taken over (`metrics::Zone`).
    span: Option<Span>,
    /// The earliest and latest ordered_at: the quarters return_rates goes through.
    ordered: Option<Span>,
}

fn timestamps(tables: &BTreeMap<TableKind, LoadedTable>) -> Result<Timestamps> {
    let mut latest: Option<Micros> = None;
    let mut span: Option<Span> = None;
    let mut ordered: Option<Span> = None;
    for (kind, t) in tables {
        let cols: Vec<&str> = kind.schema().ts_columns().collect();
        // The footers of the files this program wrote say it without reading the columns (`input::footer`);
        // the columns they cannot tell about are read.
        let files = t.own_parquet_files();
        let mut found: Vec<(&str, Option<Span>)> = Vec::new();
        let mut unknown: Vec<&str> = Vec::new();
        for c in &cols {
            match files
                .as_deref()
                .and_then(|f| crate::input::footer::timestamp_span(f, c))
            {
                Some(s) => found.push((c, s)),
                None => unknown.push(c),
            }
        }
        if !unknown.is_empty() {
            let exprs = unknown.iter().flat_map(|c| {
                [
                    col(*c).min().cast(DataType::Int64).alias(format!("min {c}")),
                    col(*c).max().cast(DataType::Int64).alias(format!("max {c}")),
                ]
            });
            let read = t.lazy()?.select(exprs.collect::<Vec<_>>()).collect()?;
            for c in &unknown {
                let get = |which: &str| -> Result<Option<i64>> {
                    Ok(read
                        .column(&format!("{which} {c}"))?
                        .as_materialized_series()
                        .i64()?
                        .get(0))
                };
                found.push((c, get("min")?.zip(get("max")?)));
            }
        }
        for (c, s) in found {
            let Some((lo, hi)) = s else {
                continue;
            };
            span = Some(span.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
            if *kind == TableKind::Orders && c == "ordered_at" {
                ordered = Some((lo, hi));
            }
            if kind.schema().event_ts_columns().any(|e| e == c) {
                latest = Some(latest.map_or(hi, |b| b.max(hi)));
            }
        }
    }
    Ok(Timestamps { latest, span, ordered })
}

/// A message for tables over the reject limit, with the first problems of each so the user can act at once.
pub fn reject_limit_message(over: &[&LoadedTable], limit: f64) -> String {
    let mut msg = String::new();
    for t in over {
        msg.push_str(&format!(
            "{}: {} of {} rows rejected ({:.2}%), more than max_reject_rate {:.2}%. First problems:\n",
            t.kind.name(),
            t.rows_rejected(),
            t.rows_read(),
            t.reject_rate() * 100.0,
            limit * 100.0
        ));
        for r in t.rejects.iter().take(5) {
            msg.push_str(&format!(
                "  {} row {}, column {}, value '{}': {}\n",
                r.source_file, r.row_number, r.column, r.value, r.problem
            ));
        }
    }
    msg.push_str(
        "Fix the export or the config mapping, raise max_reject_rate, or pass --keep-going to use the accepted rows.",
    );
    msg
}

/// The metric tables of SPEC §4, in the order they are written, each timed as its own stage.
pub fn compute_metrics(
    loaded: &Loaded,
    config: &Config,
    progress: &Progress,
    stages: &mut Stages,
) -> Result<MetricTables> {
    let table = |k: TableKind| loaded.tables.get(&k).expect("required tables are loaded");
    let prepared = timed(stages, progress, "prepare", || {
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
        Ok(p)
    })?;
    use metrics::{carriers, merchants, reasons, return_rates, sla, spikes};
    // Up to SLA_BESIDE_MAX_LINES order lines the SLA families run on the concurrent thread too, after the carrier
    // family and reasons, so that it and this thread (return_rates, then the spike detector, which reads its weekly
    // sums) each keep a core busy for about as long. Above it they run here after the spike detector, as their
    // working sets beside return_rates' would raise the peak. `AFTERSALES_SLA_BESIDE_MAX_LINES` moves the limit: a
    // switch for tests and measuring, not a setting.
    let max_lines = std::env::var("AFTERSALES_SLA_BESIDE_MAX_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SLA_BESIDE_MAX_LINES);
    let sla_beside = table(TableKind::Orders).rows_accepted() <= max_lines;
    std::thread::scope(|scope| -> Result<MetricTables> {
        // The carrier family and reason_breakdown read only the shipments and the prepared cases and feed no other
        // family: they run on a thread of their own beside return_rates, filling the moments it leaves a core idle
        // (no family keeps both cores busy all the time). Their stages are recorded with their own seconds, marked
        // concurrent.
        let first_beside = stages.list.len();
        let beside = scope.spawn(|| -> Result<Beside> {
            let mut seconds = Vec::new();
            // Records a step's seconds and starts the next step's clock.
            let mut lap = |name: &'static str, started: std::time::Instant| {
                seconds.push((name, started.elapsed().as_secs_f64()));
                std::time::Instant::now()
            };
            let t = std::time::Instant::now();
            // Both carrier tables are sums of the same leg groups: grouped once.
            let legs = carriers::LegGroups::new(&prepared).context("computing carrier_legs")?;
            let t = lap("carrier_legs", t);
            let performance =
                carriers::carrier_performance(&prepared, &legs).context("computing carrier_performance")?;
            let t = lap("carrier_performance", t);
            let lanes = carriers::carrier_lanes(&legs).context("computing carrier_lanes")?;
            let t = lap("carrier_lanes", t);
            let reasons = reasons::reason_breakdown(&prepared).context("computing reason_breakdown")?;
            let t = lap("reason_breakdown", t);
            let sla = if sla_beside {
                let clocks = sla::sla_clocks(&prepared, &config.sla_rules, &config.calendar, loaded.work.as_ref())
                    .context("computing sla_clocks")?;
                let t = lap("sla_clocks", t);
                let compliance = sla::sla_compliance(&prepared, &clocks.scan, &config.sla_rules)
                    .context("computing sla_compliance")?;
                lap("sla_compliance", t);
                Some((clocks, compliance))
            } else {
                None
            };
            Ok(Beside {
                performance,
                lanes,
                reasons,
                sla,
                seconds,
            })
        });
        let (rates, sold_weeks) = timed(stages, progress, "return_rates", || {
            return_rates::return_rates(&prepared)
        })?;
        // The spike detector reads return_rates' weekly sums of the lines, so it comes after it.
        let evaluation = timed(stages, progress, "spike_evaluation", || {
            spikes::spike_evaluation(&prepared, &config.risk, &sold_weeks)
        })?;
        // sla_clocks (a row per case and rule, the largest table) goes to a working file a rule at a
        // time, in the output's format; sla_compliance and the queries read it from there, and the output links it.
        let sla_here = if sla_beside {
            None
        } else {
            let clocks = timed(stages, progress, "sla_clocks", || {
                sla::sla_clocks(&prepared, &config.sla_rules, &config.calendar, loaded.work.as_ref())
            })?;
            let compliance = timed(stages, progress, "sla_compliance", || {
                sla::sla_compliance(&prepared, &clocks.scan, &config.sla_rules)
            })?;
            Some((clocks, compliance))
        };
        let clock = stages.start();
        progress.set_message(if sla_beside {
            "computing the carrier tables, reason_breakdown and the SLA tables".into()
        } else {
            "computing the carrier tables and reason_breakdown".into()
        });
        let Beside {
            performance,
            lanes,
            reasons,
            sla,
            seconds,
        } = beside.join().expect("the concurrent thread panicked")?;
        stages.end("concurrent_wait", clock);
        for (name, secs) in seconds {
            stages.push_concurrent_since(first_beside, name, secs);
        }
        let (clocks, compliance) = sla_here
            .or(sla)
            .expect("the SLA families ran on one of the two threads");
        let mut stage = |name: &str, f: &dyn Fn() -> Result<DataFrame>| timed(stages, progress, name, f);
        let flags = stage("risk_flags", &|| spikes::risk_flags(&evaluation, &config.risk))?;
        // merchant_risk and badges read the same per-(quarter, merchant) facts: gathered once. A flagged SKU's
        // merchant, which they and the report need, is looked up once, in return_rates' weekly sums of the lines.
        let (facts, sku_merchants) = timed(stages, progress, "merchant_quarter_facts", || {
            let sku_merchants = merchants::flagged_sku_merchants(sold_weeks.0.clone().lazy(), &flags)?;
            let facts = merchants::QuarterFacts::new(&prepared, &rates, &compliance, &flags, &sku_merchants)?;
            Ok((facts, sku_merchants))
        })?;
        let mut stage = |name: &str, f: &dyn Fn() -> Result<DataFrame>| timed(stages, progress, name, f);
        let risk = stage("merchant_risk", &|| facts.merchant_risk(&config.badge))?;
        let badges = stage("badges", &|| facts.badges(&config.badge))?;
        Ok(MetricTables {
            frames: vec![
                ("return_rates", rates),
                ("reason_breakdown", reasons),
                ("sla_compliance", compliance),
                ("spike_evaluation", evaluation),
                ("risk_flags", flags),
                ("merchant_risk", risk),
                ("badges", badges),
                ("carrier_performance", performance),
                ("carrier_lanes", lanes),
            ],
            copies: vec![("sla_clocks", clocks)],
            sku_merchants,
        })
    })
}

/// Above this many order lines the SLA families run on the main thread after the spike detector, not on the
/// concurrent thread beside return_rates: with the largest inputs their working sets beside return_rates' raise the
/// run's peak and save no time, while below it the two threads keep both cores busier (BENCHMARKS.md).
pub const SLA_BESIDE_MAX_LINES: u64 = 30_000_000;

/// What the concurrent thread of [`compute_metrics`] computes, with each of its stages' seconds.
struct Beside {
    performance: DataFrame,
    lanes: DataFrame,
    reasons: DataFrame,
    /// sla_clocks and sla_compliance, when they ran there (see [`SLA_BESIDE_MAX_LINES`]).
    sla: Option<(metrics::sla::Clocks, DataFrame)>,
    seconds: Vec<(&'static str, f64)>,
}

/// Writes every metric table to `tables/<name>.parquet`.
pub fn write_metric_tables(tables: &mut MetricTables, out: &mut OutputDir) -> Result<()> {
    for (name, df) in tables.frames.iter_mut() {
        out.write_parquet(&format!("tables/{name}.parquet"), df)?;
        crate::stages::debug_mark(&format!("wrote {name}"));
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
                crate::output::bulk_table_options().compression,
            )?,
        }
        crate::stages::debug_mark(&format!("wrote {name}"));
    }
    Ok(())
}

/// Runs one stage, recording its seconds and peak memory under `name` and naming it in any error.
fn timed<T>(stages: &mut Stages, progress: &Progress, name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    crate::stages::debug_mark(&format!("start {name}"));
    let clock = stages.start();
    progress.set_message(format!("computing {name}"));
    let out = f().with_context(|| format!("computing {name}"))?;
    stages.end(name, clock);
    Ok(out)
}

/// Writes what loading and checking produced: rejects/<table>.parquet (every table, empty when none was rejected)
/// and data_quality.parquet.
pub fn write_checks(out: &mut OutputDir, loaded: &Loaded) -> Result<()> {
    for (kind, t) in &loaded.tables {
        out.write_parquet(
            &format!("rejects/{}.parquet", kind.name()),
            &mut rejects_frame(&t.rejects),
        )?;
    }
    let mut dq = loaded.data_quality.clone();
    out.write_parquet("data_quality.parquet", &mut dq)?;
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
