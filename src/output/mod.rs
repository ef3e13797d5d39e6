//! The output directory, written atomically: everything goes to a hidden temporary folder beside the target,
//! which replaces the target only when the whole run has succeeded. A failed or interrupted run leaves the
//! previous output as it was (SPEC §2).

pub mod finished;
pub mod run_json;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use polars::prelude::*;

use crate::input::Reject;

/// The folder an output folder is made in ("." for a bare name).
pub fn parent_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// How every output table is written: zstd, with full column statistics.
pub fn table_writer<W: std::io::Write>(w: W) -> ParquetWriter<W> {
    ParquetWriter::new(w)
        .with_compression(ParquetCompression::Zstd(None))
        .with_statistics(StatisticsOptions::full())
}

/// What a run killed while writing `target` left beside it: its unfinished folders are removed; the previous
/// output, if the kill came between moving it aside and putting the new one in place, goes back where it was.
fn recover_killed(target: &Path, parent: &Path, name: &str) {
    crate::litter::clear(parent, &format!(".{name}.tmp-"));
    for old in crate::litter::orphans(parent, &format!(".{name}.old-")) {
        if !target.exists() {
            let _ = fs::rename(&old, target);
        } else {
            let _ = fs::remove_dir_all(&old);
        }
    }
}

pub struct OutputDir {
    target: PathBuf,
    tmp: tempfile::TempDir,
    /// (path relative to the output folder, rows)
    pub written: Vec<(String, u64)>,
}

impl OutputDir {
    pub fn create(target: &Path) -> Result<OutputDir> {
        let parent = parent_of(target);
        fs::create_dir_all(&parent).with_context(|| format!("cannot create folder {}", parent.display()))?;
        let name = target.file_name().and_then(|n| n.to_str()).unwrap_or("out");
        recover_killed(target, &parent, name);
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}.tmp-{}-", crate::litter::owner_tag()))
            .tempdir_in(&parent)
            .with_context(|| format!("cannot create a temporary folder in {}", parent.display()))?;
        Ok(OutputDir {
            target: target.to_path_buf(),
            tmp,
            written: Vec::new(),
        })
    }

    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    pub fn write_parquet(&mut self, rel: &str, df: &mut DataFrame) -> Result<()> {
        // A large frame goes through the streaming engine's sink, which compresses row groups on every core (the
        // writer below compresses on one).
        if df.height() >= 1 << 16 {
            return self.write_parquet_lazy(rel, df.clone().lazy(), df.height() as u64);
        }
        let path = self.tmp.path().join(rel);
        if let Some(p) = path.parent() {
            fs::create_dir_all(p)?;
        }
        let f = fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        table_writer(f)
            .finish(df)
            .map_err(|e| anyhow::anyhow!("cannot write {rel}: {e}"))?;
        self.written.push((rel.to_string(), df.height() as u64));
        Ok(())
    }

    /// Puts a table that was already written in the output format (by [`table_writer`], in a working folder on
    /// the same disk) into the output: a hard link, else a copy. The working file stays readable until the
    /// working folder goes.
    pub fn link_file(&mut self, rel: &str, file: &Path, rows: u64) -> Result<()> {
        let path = self.tmp.path().join(rel);
        if let Some(p) = path.parent() {
            fs::create_dir_all(p)?;
        }
        if fs::hard_link(file, &path).is_err() {
            fs::copy(file, &path).with_context(|| format!("cannot copy {} to {}", file.display(), path.display()))?;
        }
        self.written.push((rel.to_string(), rows));
        Ok(())
    }

    /// Writes a plan's result on the streaming engine, without holding it: for tables as large as the inputs.
    pub fn write_parquet_lazy(&mut self, rel: &str, lf: LazyFrame, rows: u64) -> Result<()> {
        self.write_parquet_lazy_as(rel, lf, rows, ParquetCompression::Zstd(None))
    }

    /// [`Self::write_parquet_lazy`] with another compression.
    pub fn write_parquet_lazy_as(
        &mut self,
        rel: &str,
        lf: LazyFrame,
        rows: u64,
        compression: ParquetCompression,
    ) -> Result<()> {
        let path = self.tmp.path().join(rel);
        if let Some(p) = path.parent() {
            fs::create_dir_all(p)?;
        }
        let options = ParquetWriteOptions {
            compression,
            statistics: StatisticsOptions::full(),
            ..Default::default()
        };
        crate::workdir::sink_as(lf, &path, true, options).with_context(|| format!("cannot write {rel}"))?;
        self.written.push((rel.to_string(), rows));
        Ok(())
    }

    pub fn write_bytes(&mut self, rel: &str, bytes: &[u8]) -> Result<()> {
        let path = self.tmp.path().join(rel);
        if let Some(p) = path.parent() {
            fs::create_dir_all(p)?;
        }
        fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Puts the finished folder in place of the target. The old target is moved aside first and deleted only
    /// after the new one is in place; if the swap fails, the old one is moved back.
    pub fn commit(self) -> Result<()> {
        let tmp = self.tmp.keep();
        let old = self.target.with_file_name(format!(
            ".{}.old-{}",
            self.target.file_name().and_then(|n| n.to_str()).unwrap_or("out"),
            crate::litter::owner_tag()
        ));
        let had_old = self.target.exists();
        if had_old {
            fs::rename(&self.target, &old)
                .with_context(|| format!("cannot move the previous {} aside", self.target.display()))?;
        }
        if let Err(e) = fs::rename(&tmp, &self.target) {
            if had_old {
                let _ = fs::rename(&old, &self.target);
            }
            let _ = fs::remove_dir_all(&tmp);
            return Err(e).with_context(|| format!("cannot move the new output into {}", self.target.display()));
        }
        if had_old {
            fs::remove_dir_all(&old)
                .with_context(|| format!("cannot remove the previous output at {}", old.display()))?;
        }
        Ok(())
    }
}

pub fn rejects_frame(rejects: &[Reject]) -> DataFrame {
    DataFrame::new_infer_height(vec![
        StringChunked::from_iter_values("source_file".into(), rejects.iter().map(|r| r.source_file.as_str()))
            .into_column(),
        UInt64Chunked::from_vec("row_number".into(), rejects.iter().map(|r| r.row_number).collect()).into_column(),
        StringChunked::from_iter_values("column".into(), rejects.iter().map(|r| r.column.as_str())).into_column(),
        StringChunked::from_iter_values("value".into(), rejects.iter().map(|r| r.value.as_str())).into_column(),
        StringChunked::from_iter_values("problem".into(), rejects.iter().map(|r| r.problem.as_str())).into_column(),
    ])
    .expect("equal lengths")
}
