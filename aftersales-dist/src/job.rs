//! What every job shares: the copy registered on an engine with its scans checked, a fresh output folder beside
//! `--out` that replaces it only when everything is written, and a work folder for staged tables.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::prelude::SessionContext;

use crate::copy::Copy;
use crate::engine::{self, Engine};
use crate::plans::Plan;
use crate::storage::Place;

/// The options every job takes.
#[derive(clap::Args)]
pub struct Common {
    /// The Hive copy (`aftersales convert --layout hive`): a folder executors see at the same path, or an S3 prefix
    /// (s3://bucket/prefix).
    #[arg(long)]
    pub data: String,
    /// Output folder, replaced when everything is written.
    #[arg(long)]
    pub out: PathBuf,
    /// local (DataFusion in this process), standalone (a Ballista scheduler and executor in this process) or a
    /// cluster's df://host:port.
    #[arg(long, default_value = "standalone")]
    pub engine: Engine,
    /// Partitions per stage; default: the number of cores.
    #[arg(long)]
    pub partitions: Option<usize>,
    /// Where executors write the staged tables and sla_clocks: a folder every executor sees, or an S3 prefix;
    /// default: `<out>.work` beside the output (enough in one process or on one machine).
    #[arg(long)]
    pub work: Option<String>,
}

pub struct Job {
    pub ctx: SessionContext,
    pub copy: Copy,
    /// The output being written (absolute: executors write parts of it).
    pub tmp: PathBuf,
    /// Staged tables (`--work`): deleted at the end, but for sla_clocks/ on a shared place, which the evidence pass
    /// reads.
    pub work: Place,
    out: PathBuf,
}

impl Job {
    pub async fn start(c: &Common) -> Result<Job> {
        let partitions = c
            .partitions
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        let ctx = engine::context(&c.engine, partitions).await?;
        let copy = Copy::open(&ctx, Place::parse(&c.data, false)?).await?;
        copy.register(&ctx).await?;
        let started = Instant::now();
        copy.check_scans(&ctx).await?;
        eprintln!("scans checked in {:.2} s", started.elapsed().as_secs_f64());
        let tmp = sibling(&c.out, "tmp")?;
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        let tmp = std::fs::canonicalize(&tmp)?;
        let work = match &c.work {
            Some(w) => Place::parse(w, true)?,
            None => {
                let local = sibling(&tmp, "work")?;
                let _ = std::fs::remove_dir_all(&local);
                Place::parse(&local.display().to_string(), true)?
            }
        };
        Ok(Job {
            ctx,
            copy,
            tmp,
            work,
            out: c.out.clone(),
        })
    }

    /// Runs `plan` and writes its result, collected (an aggregate is small), as one Parquet file in the output.
    pub async fn write(&self, plan: &Plan) -> Result<()> {
        let started = Instant::now();
        let df = self
            .ctx
            .sql(&plan.sql)
            .await
            .with_context(|| format!("cannot plan {}", plan.file))?;
        let schema = df.schema().inner().clone();
        let batches = df
            .collect()
            .await
            .with_context(|| format!("cannot compute {}", plan.file))?;
        let path = self.tmp.join(plan.file);
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
        Ok(())
    }

    /// Puts the output in place of `--out` (the previous one stays until then) and deletes the staged tables —
    /// the whole work folder when it is the default one beside the output.
    pub async fn finish(self, default_work: bool) -> Result<()> {
        let old = sibling(&self.out, "old")?;
        let _ = std::fs::remove_dir_all(&old);
        if self.out.exists() {
            std::fs::rename(&self.out, &old).with_context(|| format!("cannot move {} aside", self.out.display()))?;
        }
        std::fs::rename(&self.tmp, &self.out).with_context(|| format!("cannot put {} in place", self.out.display()))?;
        let _ = std::fs::remove_dir_all(&old);
        if default_work {
            self.work.delete_all(&self.ctx).await?;
        } else {
            for name in crate::plans::STAGED_NAMES {
                self.work.join(name).delete_all(&self.ctx).await?;
            }
        }
        Ok(())
    }
}

/// `<out>.<what>` beside the output folder (same disk, so the final rename is atomic).
fn sibling(out: &Path, what: &str) -> Result<PathBuf> {
    let name = out
        .file_name()
        .with_context(|| format!("{} names no folder", out.display()))?;
    let mut n = name.to_os_string();
    n.push(format!(".{what}"));
    Ok(out.with_file_name(n))
}
