//! `aftersales validate`: load and check only.

use anyhow::Result;

use crate::cli::ValidateArgs;
use crate::output::OutputDir;
use crate::pipeline::{self, RunInfo};
use crate::progress::Progress;

/// Returns the exit code: 1 when a table is over max_reject_rate, else 0.
pub fn validate(args: &ValidateArgs, quiet: bool) -> Result<i32> {
    let opts = super::resolve_inputs(&args.input)?;
    let progress = Progress::new(quiet);
    let loaded = pipeline::load_and_check(&opts, &progress)?;
    let over = loaded.over_reject_limit(opts.config.max_reject_rate);
    let mut out = OutputDir::create(&args.out)?;
    pipeline::write_checks(&mut out, &loaded, &loaded.data_quality)?;
    let status = if over.is_empty() { "ok" } else { "too_many_rejects" };
    let info = RunInfo {
        command: "validate",
        data_dir: &opts.data_dir,
        config: &opts.config,
        quarter: None,
        status,
    };
    let json = pipeline::run_json(&info, &loaded, &out, &loaded.stages);
    out.write_bytes("run.json", serde_json::to_string_pretty(&json)?.as_bytes())?;
    out.commit()?;
    progress.finish();
    // The summary is the point of this command: print it even when --quiet silences progress.
    for t in loaded.tables.values() {
        println!("{}", crate::input::summary::summary_line(t));
    }
    for t in loaded.tables.values() {
        for line in crate::input::summary::staging_lines(t) {
            println!("{line}");
        }
    }
    println!(
        "{} warnings{} in data_quality.parquet; rejects and warnings written to {}",
        loaded.data_quality.height(),
        loaded.findings_note(),
        args.out.display()
    );
    if !over.is_empty() {
        eprintln!(
            "{}",
            crate::input::summary::reject_limit_message(&over, opts.config.max_reject_rate)
        );
        return Ok(1);
    }
    Ok(0)
}
