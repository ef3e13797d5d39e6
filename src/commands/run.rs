//! `aftersales run`: the whole pipeline.

use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result};
use polars::prelude::DataFrame;

use crate::cli::RunArgs;
use crate::metrics::MetricTables;
use crate::output::OutputDir;
use crate::pipeline::{self, CannotStart, RunInfo};
use crate::progress::Progress;
use crate::report;
use crate::schedule::{self, Lane, Slot, Step};

/// Returns the exit code.
pub fn run(args: &RunArgs, quiet: bool) -> Result<i32> {
    let started = Instant::now();
    let mut opts = super::resolve_inputs(&args.input)?;
    opts.work_in = Some(crate::output::parent_of(&args.out));
    if let Some(q) = &args.quarter
        && !is_quarter(q)
    {
        return Err(anyhow::anyhow!("--quarter '{q}': expected a quarter like 2026Q3")).context(CannotStart);
    }
    let progress = Progress::new(quiet);
    crate::stages::track_stage_peaks();
    let loaded = pipeline::load_and_check(&opts, &progress)?;
    for t in loaded.tables.values() {
        progress.println(crate::input::summary::summary_line(t));
    }
    let over = loaded.over_reject_limit(opts.config.max_reject_rate);
    let status = if over.is_empty() {
        "ok"
    } else {
        "ok_with_too_many_rejects"
    };
    if !over.is_empty() && !args.keep_going {
        progress.finish();
        eprintln!(
            "{}",
            crate::input::summary::reject_limit_message(&over, opts.config.max_reject_rate)
        );
        eprintln!("Nothing was written: {} is as it was.", args.out.display());
        return Ok(1);
    }
    let mut stages = loaded.stages.clone();
    pipeline::failpoint("load")?;
    let files = crate::queries::discover(&args.queries)?;
    let lang = args.lang.unwrap_or(opts.config.language);
    let merchant_pages = args.merchant_pages.unwrap_or(opts.config.merchant_pages);
    let slots = pipeline::MetricSlots::default();
    let tables: Slot<MetricTables> = Slot::new("write_tables");
    let out: Mutex<Option<OutputDir>> = Mutex::new(None);
    let page: Slot<report::Report> = Slot::new("charts_and_report");
    let early: Slot<Vec<Option<DataFrame>>> = Slot::new("early_queries");
    let answers: Slot<Vec<DataFrame>> = Slot::new("queries");
    let mut steps = Vec::new();
    // The users' queries write nothing the tables or the report need, and run on a lane of their own. Those that
    // read only the inputs start at once, beside the metric families, filling the moments these leave a core
    // idle. A query that names a metric table cannot be planned on the inputs alone; it runs, with every table,
    // once the tables are computed, while they are written and the charts drawn. Their results are written after.
    if !files.is_empty() {
        let (files, loaded) = (&files, &loaded);
        steps.push(Step::plain(
            "early_queries",
            Lane::Queries,
            &[],
            "running queries",
            || {
                let inputs = pipeline::input_catalog(loaded)?;
                // A query naming a metric table fails here; it is tried again, with its message, below.
                early.set(files.iter().map(|q| inputs.answer(q).ok()).collect());
                Ok(())
            },
        ));
    }
    steps.extend(pipeline::metric_steps(&slots, &loaded, &opts.config));
    let all_tables = pipeline::METRIC_STEPS_DONE;
    steps.push(Step::plain(
        "write_tables",
        Lane::Main,
        all_tables,
        "writing outputs",
        || {
            let mut dir = OutputDir::create(&args.out)?;
            pipeline::write_checks(&mut dir, &loaded, &loaded.data_quality)?;
            let t = slots.tables();
            pipeline::write_metric_tables(&t, &mut dir)?;
            tables.set(t);
            *out.lock().unwrap_or_else(|e| e.into_inner()) = Some(dir);
            Ok(())
        },
    ));
    steps.push(Step::plain(
        "charts_and_report",
        Lane::Main,
        &["write_tables"],
        "drawing charts and the report",
        || {
            let inputs = report::InputFacts::of(&loaded)?;
            let ctx = report::RunContext {
                data_dir: &opts.data_dir,
                config: &opts.config,
                inputs: &inputs,
                lang,
                merchant_pages,
            };
            let p = report::build(&ctx, tables.get(), args.quarter.as_deref())?;
            let mut guard = out.lock().unwrap_or_else(|e| e.into_inner());
            p.write(guard.as_mut().expect("write_tables made the output folder"))?;
            page.set(p);
            Ok(())
        },
    ));
    if !files.is_empty() {
        let (files, loaded, slots, early, answers) = (&files, &loaded, &slots, &early, &answers);
        let after: Vec<&str> = all_tables.iter().copied().chain(["early_queries"]).collect();
        steps.push(Step::plain(
            "queries",
            Lane::Queries,
            &after,
            "running queries",
            move || {
                let catalog = pipeline::catalog(loaded, &slots.tables())?;
                let mut list = Vec::new();
                for (q, answer) in files.iter().zip(early.get()) {
                    list.push(match answer {
                        Some(df) => df.clone(),
                        None => catalog.run(q)?,
                    });
                }
                answers.set(list);
                Ok(())
            },
        ));
    }
    schedule::run(steps, &mut stages, &progress)?;
    let mut out = out
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .expect("write_tables ran");
    let page = page.take().expect("charts_and_report ran");
    let answers = answers.take().unwrap_or_default();
    let clock = stages.start();
    let mut checks = serde_json::Map::new();
    if !files.is_empty() {
        progress.set_message("writing the queries' results".into());
        for (q, mut df) in files.iter().zip(answers) {
            out.write_parquet(&format!("queries/{}.parquet", q.name), &mut df)?;
            if q.is_check() {
                checks.insert(q.name.clone(), serde_json::json!(df.height()));
                let verdict = if df.height() == 0 {
                    "pass".to_string()
                } else {
                    format!("{} offending rows", df.height())
                };
                progress.println(format!("check {}: {verdict}", q.name));
            }
        }
    }
    stages.end("write_queries", clock);
    pipeline::failpoint("write")?;
    stages.total(started);
    let info = RunInfo {
        command: "run",
        data_dir: &opts.data_dir,
        config: &opts.config,
        quarter: Some(&page.quarter),
        status,
    };
    let mut json = pipeline::run_json(&info, &loaded, &out, &stages);
    json["checks"] = serde_json::Value::Object(checks);
    json["pages"] = crate::output::run_json::pages_json(lang, loaded.as_of, merchant_pages);
    out.write_bytes("config.toml", &opts.config.bytes)?;
    out.write_bytes("run.json", serde_json::to_string_pretty(&json)?.as_bytes())?;
    out.commit()?;
    progress.finish();
    progress.println(format!(
        "as_of {} · {} warnings{} · wrote {}",
        json["as_of"].as_str().unwrap_or(""),
        loaded.data_quality.height(),
        loaded.findings_note(),
        args.out.display()
    ));
    Ok(0)
}

pub fn is_quarter(q: &str) -> bool {
    let b = q.as_bytes();
    b.len() == 6 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'Q' && (b'1'..=b'4').contains(&b[5])
}
