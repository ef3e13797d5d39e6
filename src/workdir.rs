//! Working copies: the checked input tables and the prepared order lines, written once as Parquet into a hidden
//! temporary folder and scanned lazily by every stage that reads them.
//!
//! Why: held in memory for the whole run, the inputs alone would be several times the rest of the run's memory
//! (BENCHMARKS.md). Scanned from a working copy, each stage reads only the columns it uses (projection
//! pushdown) and the streaming engine reads them a morsel at a time. The folder is made beside the output (same
//! disk, which may be larger than /tmp) and removed when the run ends, failed or not.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use polars::prelude::*;

/// Working folders are `.aftersales-work-<owner>-<random>` (see `litter`).
pub const WORK_PREFIX: &str = ".aftersales-work-";

pub struct WorkDir {
    dir: tempfile::TempDir,
    /// Numbers every file handed out, so that no two callers share one.
    next: std::sync::atomic::AtomicU32,
    /// Bytes of input rows kept in memory instead of written here, and the most they may take (see
    /// [`HoldInputs`]).
    held: std::sync::atomic::AtomicUsize,
    hold_limit: usize,
}

/// How much of the input tables a run keeps in memory rather than in working copies.
///
/// Why: writing a table's working copy and reading it back (Parquet encoding, dictionaries, LZ4) was about a fifth
/// of a first run's CPU at scale 10 (BENCHMARKS.md), and a machine that can hold the inputs gains nothing from it.
/// Inputs that would pass the limit go to working copies as before, so the largest runs keep their memory bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HoldInputs {
    /// A quarter of the memory available when the run starts (none where that cannot be read).
    #[default]
    Auto,
    /// Never more than this many bytes of rows (0: every table goes to a working copy).
    UpTo(usize),
}

impl HoldInputs {
    pub fn limit(self) -> usize {
        match self {
            HoldInputs::UpTo(n) => n,
            HoldInputs::Auto => available_memory().map_or(0, |m| m / 4),
        }
    }
}

/// MemAvailable from /proc/meminfo, in bytes (Linux); None elsewhere.
fn available_memory() -> Option<usize> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

impl WorkDir {
    /// A new hidden folder `.aftersales-work-*` inside `parent`, after clearing those that killed runs left there.
    pub fn create_in(parent: &Path) -> Result<WorkDir> {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create folder {}", parent.display()))?;
        crate::litter::clear(parent, WORK_PREFIX);
        let dir = tempfile::Builder::new()
            .prefix(&format!("{WORK_PREFIX}{}-", crate::litter::owner_tag()))
            .tempdir_in(parent)
            .with_context(|| {
                format!(
                    "cannot create a working folder in {}: the run keeps its working copies there",
                    parent.display()
                )
            })?;
        Ok(WorkDir {
            dir,
            next: std::sync::atomic::AtomicU32::new(0),
            held: std::sync::atomic::AtomicUsize::new(0),
            hold_limit: 0,
        })
    }

    /// Input rows up to `hold` stay in memory (see [`HoldInputs`]); without it, every table goes to a working copy.
    pub fn holding(mut self, hold: HoldInputs) -> WorkDir {
        self.hold_limit = hold.limit();
        self
    }

    /// Reserves `bytes` for input rows kept in memory: false, and nothing reserved, when they would pass the limit.
    pub fn try_hold(&self, bytes: usize) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        self.held
            .fetch_update(Relaxed, Relaxed, |h| {
                h.checked_add(bytes).filter(|&n| n <= self.hold_limit)
            })
            .is_ok()
    }

    /// Gives back what [`Self::try_hold`] reserved (the rows went to a working copy after all).
    pub fn release(&self, bytes: usize) {
        self.held.fetch_sub(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A new file name in the folder, never handed out before: a lazy scan keeps the file's layout from when it
    /// was planned, so a working copy must not be rewritten while a scan of it lives (preparing twice in one
    /// folder, as the metrics benchmark does, rewrote the first preparation's copies under its scans).
    pub fn file(&self, name: &str) -> PathBuf {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.dir.path().join(format!("{name}-{n:04}.parquet"))
    }
}

/// Working copies are written fast and read a few times, then deleted: LZ4 (cheap to write and read) rather than
/// the zstd of the outputs, and row groups of 256 k rows so the streaming engine can start early.
fn write_options() -> ParquetWriteOptions {
    ParquetWriteOptions {
        compression: ParquetCompression::Lz4Raw,
        row_group_size: Some(1 << 18),
        ..Default::default()
    }
}

/// Writes a frame as a working copy.
pub fn write(df: &mut DataFrame, path: &Path) -> Result<()> {
    let o = write_options();
    let f = std::fs::File::create(path).with_context(|| format!("cannot create working copy {}", path.display()))?;
    ParquetWriter::new(f)
        .with_compression(o.compression)
        .with_row_group_size(o.row_group_size)
        .finish(df)
        .map_err(|e| anyhow::anyhow!("cannot write working copy {}: {e}", path.display()))?;
    Ok(())
}

/// Runs a plan on the streaming engine straight into a working copy, never holding its result. Rows land in
/// any order: nothing reads a working copy's row order (the loader writes its chunks itself); see
/// [`sink_in_order`] for a sorted result.
pub fn sink(lf: LazyFrame, path: &Path) -> Result<()> {
    sink_with(lf, path, false)
}

/// [`sink`] keeping the plan's row order (a sorted output table).
pub fn sink_in_order(lf: LazyFrame, path: &Path) -> Result<()> {
    sink_with(lf, path, true)
}

fn sink_with(lf: LazyFrame, path: &Path, maintain_order: bool) -> Result<()> {
    sink_as(lf, path, maintain_order, write_options()).context("writing a working copy")
}

/// Sinks a working file that the output links as one of its tables instead of writing it again: in the format
/// of the output's bulk tables ([`bulk_table_options`]), in the plan's order.
pub fn sink_linkable(lf: LazyFrame, path: &Path) -> Result<()> {
    sink_as(lf, path, true, bulk_table_options())
}

/// How `sla_clocks` is written (by a streaming sink): as the output's other tables (`output::table_writer`) but LZ4, in row groups of 256 k rows
/// like the working copies. It is the one table with a row per record and rule (four times the cases), where
/// zstd's smaller file is not worth its compression time.
/// pyarrow, DuckDB and the Apache `parquet` crate read LZ4_RAW.
pub fn bulk_table_options() -> ParquetWriteOptions {
    ParquetWriteOptions {
        compression: ParquetCompression::Lz4Raw,
        statistics: StatisticsOptions::full(),
        row_group_size: Some(1 << 18),
        ..Default::default()
    }
}

/// Runs a plan on the streaming engine straight into a Parquet file written with `options`: the engine encodes
/// and compresses row groups on every core, where a writer fed frames compresses on one.
pub fn sink_as(lf: LazyFrame, path: &Path, maintain_order: bool, options: ParquetWriteOptions) -> Result<()> {
    lf.sink(
        SinkDestination::File {
            target: SinkTarget::Path(PlRefPath::new(path.to_string_lossy().into_owned())),
        },
        FileWriteFormat::Parquet(Arc::new(options)),
        UnifiedSinkArgs {
            maintain_order,
            ..Default::default()
        },
    )
    .and_then(|q| q.collect_with_engine(Engine::Streaming))
    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(())
}

/// A plan whose result later stages scan: sunk into a working copy (streaming) and scanned from there with
/// `work`, else collected in memory.
pub fn materialize(lf: LazyFrame, work: Option<&WorkDir>, name: &str) -> Result<LazyFrame> {
    match work {
        Some(w) => {
            let path = w.file(name);
            sink_with(lf, &path, false)?;
            Ok(scan(&path)?)
        }
        None => Ok(crate::engine::Run::run(lf)?.lazy()),
    }
}

/// One scan over several working copies, in the order given (one scan node: a concat of one scan per file let
/// the streaming engine open and buffer every file at once).
pub fn scan_files(paths: &[PathBuf]) -> PolarsResult<LazyFrame> {
    LazyFrame::scan_parquet_files(
        paths
            .iter()
            .map(|p| PlRefPath::new(p.to_string_lossy().into_owned()))
            .collect(),
        ScanArgsParquet::default(),
    )
}

/// A lazy scan of a working copy.
pub fn scan(path: &Path) -> PolarsResult<LazyFrame> {
    LazyFrame::scan_parquet(
        PlRefPath::new(path.to_string_lossy().into_owned()),
        ScanArgsParquet::default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_working_file_name_is_never_handed_out_twice() {
        let parent = tempfile::tempdir().unwrap();
        let w = WorkDir::create_in(parent.path()).unwrap();
        let (a, b) = (w.file("line_facts"), w.file("line_facts"));
        assert_ne!(a, b);
        assert!(a.starts_with(w.path()) && b.starts_with(w.path()));
    }

    #[test]
    fn rows_are_held_up_to_the_limit_and_no_further() {
        let parent = tempfile::tempdir().unwrap();
        let none = WorkDir::create_in(parent.path()).unwrap();
        assert!(!none.try_hold(1), "no limit given: nothing is held");
        let w = WorkDir::create_in(parent.path())
            .unwrap()
            .holding(HoldInputs::UpTo(100));
        assert!(w.try_hold(60));
        assert!(!w.try_hold(41), "60 + 41 passes 100");
        assert!(w.try_hold(40));
        w.release(60);
        assert!(w.try_hold(60) && !w.try_hold(1));
    }
}
