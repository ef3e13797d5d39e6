//! `aftersales run`: the whole pipeline.

use std::time::Instant;

use anyhow::{Context, Result};

use crate::cli::RunArgs;
use crate::output::OutputDir;
use crate::pipeline::{self, CannotStart, RunInfo};
use crate::progress::Progress;
use crate::report;

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
        progress.println(pipeline::summary_line(t));
    }
    let over = loaded.over_reject_limit(opts.config.max_reject_rate);
    let status = if over.is_empty() {
        "ok"
    } else {
        "ok_with_too_many_rejects"
    };
    if !over.is_empty() && !args.keep_going {
        progress.finish();
        eprintln!("{}", pipeline::reject_limit_message(&over, opts.config.max_reject_rate));
        eprintln!("Nothing was written: {} is as it was.", args.out.display());
        return Ok(1);
    }
    let mut stages = loaded.stages.clone();
    pipeline::failpoint("load")?;
    // The users' queries write nothing the tables or the report need, and run on threads of their own. Those that
    // read only the inputs start at once, beside the metric families: these leave part of the two cores idle at
    // moments, which the queries fill. A query that names a metric
    // table cannot be planned on the inputs alone; it runs, with every table, once the tables are computed, while
    // they are written and the charts drawn. Their results are written after.
    let files = crate::queries::discover(&args.queries)?;
    let inputs = (!files.is_empty())
        .then(|| pipeline::input_catalog(&loaded))
        .transpose()?;
    let beside_from = stages.list.len();
    let (mut out, page, answers, query_seconds) = std::thread::scope(|scope| -> Result<_> {
        let early = scope.spawn(|| -> (Vec<Option<polars::prelude::DataFrame>>, f64) {
            let started = std::time::Instant::now();
            let answers = files
                .iter()
                .map(|q| {
                    // A query naming a metric table fails here; it is tried again, with its message, below.
                    let answer = inputs.as_ref().and_then(|c| c.answer(q).ok());
                    crate::stages::debug_mark(&format!("early query {}: {}", q.name, answer.is_some()));
                    answer
                })
                .collect();
            (answers, started.elapsed().as_secs_f64())
        });
        let mut tables = pipeline::compute_metrics(&loaded, &opts.config, &progress, &mut stages)?;
        let mut out = OutputDir::create(&args.out)?;
        let catalog = (!files.is_empty())
            .then(|| pipeline::catalog(&loaded, &tables))
            .transpose()?;
        let files = &files;
        let queries = scope.spawn(move || -> Result<(Vec<polars::prelude::DataFrame>, f64)> {
            let (early, early_seconds) = early.join().expect("the early queries' thread panicked");
            let started = std::time::Instant::now();
            let mut answers = Vec::new();
            if let Some(catalog) = &catalog {
                for (q, answer) in files.iter().zip(early) {
                    answers.push(match answer {
                        Some(df) => df,
                        None => catalog.run(q)?,
                    });
                    crate::stages::debug_mark(&format!("query {}", q.name));
                }
            }
            Ok((answers, early_seconds + started.elapsed().as_secs_f64()))
        });
        let clock = stages.start();
        progress.set_message("writing outputs".into());
        pipeline::write_checks(&mut out, &loaded)?;
        pipeline::write_metric_tables(&mut tables, &mut out)?;
        stages.end("write_tables", clock);
        let clock = stages.start();
        progress.set_message("drawing charts and the report".into());
        let ctx = report::RunContext {
            data_dir: &opts.data_dir,
            config: &opts.config,
            loaded: &loaded,
        };
        let page = report::build(&ctx, &tables, args.quarter.as_deref())?;
        for c in &page.charts {
            out.write_bytes(&format!("charts/{}.png", c.name), &c.png)?;
            out.write_bytes(&format!("charts/{}.svg", c.name), c.svg.as_bytes())?;
        }
        out.write_bytes("report.html", page.html.as_bytes())?;
        stages.end("charts_and_report", clock);
        let (answers, seconds) = queries.join().expect("the queries' thread panicked")?;
        Ok((out, page, answers, seconds))
    })?;
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
    stages.push_concurrent_since(beside_from, "queries", query_seconds);
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
