//! `aftersales-dist evidence`: the second, small pass. After `aftersales finish` has written risk_flags and badges,
//! the records behind them are found on the cluster — the flags and the failed (quarter, merchant) pairs are a few
//! rows, joined to every case and clock — and written as candidates that `aftersales finish --evidence` turns into
//! flag_evidence and badge_evidence with the local run's code:
//!
//! - `evidence_early.parquet`: every early return (as the spike detector counts them) on a line of a flagged
//!   (merchant or sku, week): the case and line columns, `_age` (µs after the line's ordered_at), `_week`;
//! - `evidence_cases.parquet`: the counted cases, escalated or rated, of the (quarter, merchant) pairs whose badge
//!   failed so far (status_so_far `not_awarded`);
//! - `evidence_clocks.parquet`: the breached clocks started in those quarters by those merchants.

use std::path::PathBuf;

use anyhow::{Context, Result};
use datafusion::prelude::ParquetReadOptions;

use crate::job::{Common, Job};
use crate::plans::Plan;
use crate::storage::Place;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// The `tables/` folder `aftersales finish` wrote: its risk_flags and badges are put into the work place,
    /// where the executors read them.
    #[arg(long)]
    pub tables: PathBuf,
    /// The aggregates folder of `aftersales-dist aggregate`: its sla_clocks/ is read unless `--clocks` says where
    /// the executors see them (the aggregate job's `--work` place + `sla_clocks/` on a cluster).
    #[arg(long)]
    pub aggregates: PathBuf,
    #[arg(long)]
    pub clocks: Option<String>,
}

/// The label `2026Q3` of a quarter's period code, in integer and string arithmetic only.
fn quarter_label(code: &str) -> String {
    format!("CONCAT(CAST(({code} - 1) / 4 AS VARCHAR), 'Q', CAST({code} - (({code} - 1) / 4) * 4 AS VARCHAR))")
}

fn early(window_us: i64) -> String {
    format!(
        "WITH flags AS (
    SELECT DISTINCT level, key, (CAST(week_start AS INT) - 4) / 7 AS week_code FROM risk_flags
),
early AS (
    SELECT order_id, line_no, sku, line_merchant_id, line_category, line_ordered_at, line_quantity, case_id,
           case_type, reason_code, responsibility, opened_at, quantity,
           CAST(opened_at AS BIGINT) - CAST(line_ordered_at AS BIGINT) AS _age, line_week_code AS _week
    FROM case_lines
    WHERE is_return AND line_no IS NOT NULL
      AND CAST(opened_at AS BIGINT) - CAST(line_ordered_at AS BIGINT) BETWEEN 0 AND {window_us}
)
SELECT e.*
FROM early e
LEFT JOIN (SELECT key, week_code FROM flags WHERE level = 'merchant') m
  ON e.line_merchant_id = m.key AND e._week = m.week_code
LEFT JOIN (SELECT key, week_code FROM flags WHERE level = 'sku') s
  ON e.sku = s.key AND e._week = s.week_code
WHERE m.key IS NOT NULL OR s.key IS NOT NULL"
    )
}

fn cases() -> String {
    format!(
        "SELECT c.case_id, c.order_id, c.merchant_id, c.counted, c.responsibility, c.opened_at, c.escalated_at,
       c.dispute_outcome, c.satisfaction
FROM case_lines c
JOIN (SELECT DISTINCT quarter, merchant_id FROM badges WHERE status_so_far = 'not_awarded') f
  ON c.merchant_id = f.merchant_id AND {} = f.quarter
WHERE c.counted AND (c.escalated_at IS NOT NULL OR c.satisfaction IS NOT NULL)",
        quarter_label("c.quarter_code")
    )
}

fn clocks_sql() -> String {
    format!(
        "SELECT k.rule, k.clock, k.target, k.target_unit, k.record_type, k.record_id, k.case_id, k.order_id,
       k.merchant_id, k.case_type, k.start, k.stop, k.deadline, k.elapsed, k.status
FROM sla_clocks k
JOIN (SELECT DISTINCT quarter, merchant_id FROM badges WHERE status_so_far = 'not_awarded') f
  ON k.merchant_id = f.merchant_id AND {} = f.quarter
WHERE k.status = 'breached'",
        quarter_label("k.quarter_code")
    )
}

pub async fn run(args: Args) -> Result<()> {
    let job = Job::start(&args.common).await?;
    // finish's small tables go where the executors read: the work place.
    let inputs = job.work.join("finish");
    for t in ["risk_flags", "badges"] {
        let file = args.tables.join(format!("{t}.parquet"));
        let bytes = std::fs::read(&file)
            .with_context(|| format!("cannot read {} (write it with `aftersales finish`)", file.display()))?;
        inputs.put(&job.ctx, &format!("{t}.parquet"), bytes).await?;
        let path = format!("{}{t}.parquet", inputs.table_path());
        job.ctx
            .register_parquet(t, &path, ParquetReadOptions::default())
            .await
            .with_context(|| format!("cannot register {path}"))?;
    }
    crate::plans::stage_one(
        &job.ctx,
        "case_lines",
        crate::plans::CASE_LINES,
        &job.work.join("case_lines"),
    )
    .await?;
    job.write(&Plan {
        file: "evidence_early.parquet",
        sql: early(job.copy.manifest.spike_age_days * 86_400_000_000),
    })
    .await?;
    job.write(&Plan {
        file: "evidence_cases.parquet",
        sql: cases(),
    })
    .await?;
    let clocks = match &args.clocks {
        Some(c) => Some(Place::parse(c, false)?),
        None => {
            let local = args.aggregates.join("sla_clocks");
            local
                .is_dir()
                .then(|| Place::parse(&local.display().to_string(), false))
                .transpose()?
        }
    };
    if let Some(clocks) = clocks {
        let dir = clocks.table_path();
        job.ctx
            .register_parquet("sla_clocks", &dir, ParquetReadOptions::default())
            .await
            .with_context(|| format!("cannot register {dir}"))?;
        job.write(&Plan {
            file: "evidence_clocks.parquet",
            sql: clocks_sql(),
        })
        .await?;
    }
    inputs.delete_all(&job.ctx).await?;
    job.finish(args.common.work.is_none()).await
}
