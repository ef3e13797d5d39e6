//! `aftersales convert`: exports → typed Parquet working copy (accepted rows only; rejects and warnings beside
//! them), with `converted.json` fingerprinting each table's file so that runs on the copy skip the row checks.

use anyhow::Result;
use polars::prelude::ParquetCompression;

use crate::cli::{ConvertArgs, Layout};
use crate::input::converted;
use crate::output::OutputDir;
use crate::pipeline;
use crate::progress::Progress;

pub fn convert(args: &ConvertArgs, quiet: bool) -> Result<i32> {
    let mut opts = super::resolve_inputs(&args.input)?;
    opts.work_in = Some(crate::output::parent_of(&args.out));
    let progress = Progress::new(quiet);
    let loaded = pipeline::load_and_check(&opts, &progress)?;
    for t in loaded.tables.values() {
        progress.println(crate::input::summary::summary_line(t));
    }
    let over = loaded.over_reject_limit(opts.config.max_reject_rate);
    if !over.is_empty() && !args.keep_going {
        progress.finish();
        eprintln!(
            "{}",
            crate::input::summary::reject_limit_message(&over, opts.config.max_reject_rate)
        );
        return Ok(1);
    }
    progress.set_message("writing Parquet".into());
    let mut out = OutputDir::create(&args.out)?;
    // Only the findings about rows travel with the copy: the calendar's depend on the config a later run uses.
    let findings = crate::checks::row_findings(&loaded.data_quality)?;
    pipeline::write_checks(&mut out, &loaded, &findings)?;
    match args.layout {
        Layout::Flat => write_flat(&mut out, &loaded, &opts, &findings, &progress)?,
        Layout::Hive => {
            crate::hive::write(&mut out, &loaded, &opts.config)?;
        }
    }
    // The calendar and zone travel with the data, so the copy runs with the same config; how the exports were
    // read (paths, staging sources, lookups, column maps) does not: the copy's tables are canonical.
    if let Some(src) = &opts.config.source {
        let text = std::fs::read_to_string(src)?;
        out.write_bytes("aftersales.toml", config_for_copy(&text, src)?.as_bytes())?;
    }
    out.commit()?;
    progress.finish();
    progress.println(format!("wrote {}", args.out.display()));
    Ok(0)
}

/// One `<table>.parquet` per table and the fingerprints that let a later run scan them as they are.
fn write_flat(
    out: &mut OutputDir,
    loaded: &crate::input::loaded::Loaded,
    opts: &crate::pipeline::LoadOptions,
    findings: &polars::prelude::DataFrame,
    progress: &Progress,
) -> Result<()> {
    let mut written = Vec::new();
    for (kind, t) in &loaded.tables {
        let file = format!("{}.parquet", kind.name());
        // LZ4 like the run's own working copies, not the zstd of the outputs: a run scans these files several
        // times, and decoding zstd there cost more than the checks it skips (BENCHMARKS.md).
        out.write_parquet_lazy_as(&file, t.data_lazy()?, t.rows_accepted(), ParquetCompression::Lz4Raw)?;
        written.push((*kind, file, t.rows_accepted()));
    }
    // What lets a later run scan these files as they are, and read these findings, instead of checking them again
    // (input/converted.rs).
    progress.set_message("fingerprinting the Parquet files".into());
    let manifest = converted::manifest_for(
        out.path(),
        &written,
        findings.height() as u64,
        opts.config.timezone,
        loaded.as_of_source.explicit(loaded.as_of),
    )?;
    out.write_bytes(converted::MANIFEST, serde_json::to_string_pretty(&manifest)?.as_bytes())?;
    Ok(())
}

/// The config for the converted copy: the source config without what says how to read the exports (per-table
/// paths, encodings, column and value maps, staging sources, lookups), which would point the copy back at them.
fn config_for_copy(text: &str, src: &std::path::Path) -> Result<String> {
    const READING: &[&str] = &[
        "path",
        "encoding",
        "delimiter",
        "quoting",
        "columns",
        "values",
        "epoch",
        "sources",
    ];
    let mut doc: toml::Table = toml::from_str(text)?;
    let mut dropped = false;
    dropped |= doc.remove("lookups").is_some();
    if let Some(toml::Value::Table(tables)) = doc.get_mut("tables") {
        for (_, t) in tables.iter_mut() {
            if let toml::Value::Table(t) = t {
                for k in READING {
                    dropped |= t.remove(*k).is_some();
                }
            }
        }
        tables.retain(|_, t| !matches!(t, toml::Value::Table(t) if t.is_empty()));
        if tables.is_empty() {
            doc.remove("tables");
        }
    }
    if !dropped {
        return Ok(text.to_string());
    }
    Ok(format!(
        "# The config of {} for this converted copy, written by `aftersales convert`: how the exports were read\n\
         # (paths, encodings, column maps, staging sources, lookups) is left out, since the tables here are canonical.\n\n{}",
        src.display(),
        toml::to_string(&doc)?
    ))
}
