//! `aftersales-dist aggregate`: registers the Hive copy, checks the scans cover it, runs every plan and writes
//! each aggregate as Parquet into a fresh folder that replaces `--out` only when all are written.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;

use crate::copy::Copy;
use crate::engine::{self, Engine};

#[derive(clap::Args)]
pub struct Args {
    /// The Hive copy (`aftersales convert --layout hive`); executors must see it at the same path.
    #[arg(long)]
    pub data: PathBuf,
    /// Folder for the aggregates, replaced when all are written.
    #[arg(long)]
    pub out: PathBuf,
    /// local (DataFusion in this process), standalone (a Ballista scheduler and executor in this process) or a
    /// cluster's df://host:port.
    #[arg(long, default_value = "standalone")]
    pub engine: Engine,
    /// Partitions per stage (local engine); default: the number of cores.
    #[arg(long)]
    pub partitions: Option<usize>,
}

pub async fn run(args: Args) -> Result<()> {
    let copy = Copy::open(&args.data)?;
    let partitions = args
        .partitions
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let ctx = engine::context(&args.engine, partitions).await?;
    copy.register(&ctx).await?;
    let started = Instant::now();
    copy.check_scans(&ctx).await?;
    eprintln!("scans checked in {:.2} s", started.elapsed().as_secs_f64());

    let tmp = sibling(&args.out, "tmp")?;
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    // Beside the output, so executors on this machine see it; a cluster's executors need it on shared storage
    // (docs/scale-out.md).
    let work = std::fs::canonicalize(&tmp)?.with_file_name(format!(
        "{}.work",
        args.out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let _ = std::fs::remove_dir_all(&work);
    crate::plans::stage(&ctx, &work).await?;
    // sla_clocks is an output table (a row per record and rule): written into the output folder itself.
    let clocks = crate::sla::clocks_sql(&copy.manifest.sla_rules, copy.manifest.as_of);
    if let Some(sql) = &clocks {
        let dir = std::fs::canonicalize(&tmp)?.join("sla_clocks");
        crate::plans::stage_one(&ctx, "sla_clocks", sql, &dir).await?;
    }
    for plan in crate::plans::plans(clocks.is_some(), copy.manifest.spike_age_days) {
        let started = Instant::now();
        let df = ctx
            .sql(&plan.sql)
            .await
            .with_context(|| format!("cannot plan {}", plan.file))?;
        let schema = df.schema().inner().clone();
        let batches = df
            .collect()
            .await
            .with_context(|| format!("cannot compute {}", plan.file))?;
        let path = tmp.join(plan.file);
        let file = std::fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .build();
        let mut w = ArrowWriter::try_new(file, schema, Some(props))?;
        let mut rows = 0;
        for b in &batches {
            rows += b.num_rows();
            w.write(b)?;
        }
        w.close()?;
        eprintln!("{}: {rows} rows in {:.2} s", plan.file, started.elapsed().as_secs_f64());
    }
    // The previous aggregates stay until the new ones are complete.
    let old = sibling(&args.out, "old")?;
    let _ = std::fs::remove_dir_all(&old);
    if args.out.exists() {
        std::fs::rename(&args.out, &old).with_context(|| format!("cannot move {} aside", args.out.display()))?;
    }
    std::fs::rename(&tmp, &args.out).with_context(|| format!("cannot put {} in place", args.out.display()))?;
    let _ = std::fs::remove_dir_all(&old);
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// `<out>.<what>` beside the output folder (same disk, so the final rename is atomic).
fn sibling(out: &std::path::Path, what: &str) -> Result<PathBuf> {
    let name = out
        .file_name()
        .with_context(|| format!("{} names no folder", out.display()))?;
    let mut n = name.to_os_string();
    n.push(format!(".{what}"));
    Ok(out.with_file_name(n))
}
