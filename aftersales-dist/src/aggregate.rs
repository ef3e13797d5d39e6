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
    // sla_clocks is an output table (a row per record and rule): written into the output folder itself.
    let clocks = crate::sla::clocks_sql(&job.copy.manifest.sla_rules, job.copy.manifest.as_of);
    if let Some(sql) = &clocks {
        crate::plans::stage_one(&job.ctx, "sla_clocks", sql, &job.tmp.join("sla_clocks")).await?;
    }
    for plan in crate::plans::plans(clocks.is_some(), job.copy.manifest.spike_age_days) {
        job.write(&plan).await?;
    }
    job.finish()
}
