//! `aftersales-dist aggregate`: registers the Hive copy, checks the scans cover it, stages the per-line tables,
//! writes sla_clocks and every aggregate into a fresh folder that replaces `--out` only when all are written.

use anyhow::Result;

use crate::job::{Common, Job};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
}

pub async fn run(args: Args) -> Result<()> {
    let job = Job::start(&args.common).await?;
    crate::plans::stage(&job.ctx, &job.work).await?;
    // sla_clocks, an output table (a row per record and rule), is staged by the executors like the per-line
    // tables, then fetched into the output; on a shared work place it stays for the evidence pass.
    let clocks = crate::sla::clocks_sql(&job.copy.manifest.sla_rules, job.copy.manifest.as_of);
    if let Some(sql) = &clocks {
        crate::plans::stage_one(&job.ctx, "sla_clocks", sql, &job.work.join("sla_clocks")).await?;
    }
    for plan in crate::plans::plans(clocks.is_some(), job.copy.manifest.spike_age_days) {
        job.write(&plan).await?;
    }
    if clocks.is_some() {
        let n = job
            .work
            .join("sla_clocks")
            .fetch_parquet(&job.ctx, &job.tmp.join("sla_clocks"))
            .await?;
        eprintln!("sla_clocks: {n} parts fetched");
    }
    job.finish(args.common.work.is_none()).await
}
