//! `aftersales convert`: exports → typed Parquet working copy (accepted rows only; rejects and warnings beside
//! them), with `converted.json` fingerprinting each table's file so that runs on the copy skip the row checks.

use anyhow::Result;
use polars::prelude::ParquetCompression;

use crate::cli::ConvertArgs;
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
        progress.println(pipeline::summary_line(t));
    }
    let over = loaded.over_reject_limit(opts.config.max_reject_rate);
    if !over.is_empty() && !args.keep_going {
        progress.finish();
        eprintln!("{}", pipeline::reject_limit_message(&over, opts.config.max_reject_rate));
        return Ok(1);
    }
    progress.set_message("writing Parquet".into());
    let mut out = OutputDir::create(&args.out)?;
    let mut written = Vec::new();
    for (kind, t) in &loaded.tables {
        let file = format!("{}.parquet", kind.name());
        // LZ4 like the run's own working copies, not the zstd of the outputs: a run scans these files several
        // times, and decoding zstd there cost more than the checks it skips (BENCHMARKS.md).
        out.write_parquet_lazy_as(&file, t.data_lazy()?, t.rows_accepted(), ParquetCompression::Lz4Raw)?;
        written.push((*kind, file, t.rows_accepted()));
    }
    pipeline::write_checks(&mut out, &loaded)?;
    // What lets a later run scan these files as they are, and read these findings, instead of checking them again
    // (input/converted.rs).
    progress.set_message("fingerprinting the Parquet files".into());
    let manifest = converted::manifest_for(
        out.path(),
        &written,
        loaded.data_quality.height() as u64,
        opts.config.timezone,
        loaded.as_of_source.explicit(loaded.as_of),
    )?;
    out.write_bytes(converted::MANIFEST, serde_json::to_string_pretty(&manifest)?.as_bytes())?;
    // The calendar and zone travel with the data, so the copy runs with the same config.
    if let Some(src) = &opts.config.source {
        out.write_bytes("aftersales.toml", &std::fs::read(src)?)?;
    }
    out.commit()?;
    progress.finish();
    progress.println(format!("wrote {}", args.out.display()));
    Ok(0)
}
