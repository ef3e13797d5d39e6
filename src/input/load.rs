//! Loading one table: every file's rows parsed into typed columns, bad rows rejected with the file, row, column,
//! value and problem (SPEC §2), duplicate keys rejected after the first, and the count kept so that
//! rows read = rows accepted + rows rejected, per file and per table.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use chrono_tz::Tz;
use polars::prelude::*;

use super::converted;
use super::discover::SourceFormat;
use super::discover::{SourceFile, discover};
use super::fast;
use super::parse::{Value, parse_cell};
use super::reader::{Cell, RowSink, feed_frame, parquet_header, parquet_slice, read_csv};
use crate::config::TableConfig;
use crate::progress::Progress;
use crate::tables::{ColumnKind, TableKind, TableSchema};
use crate::time::ts_dtype;
use crate::workdir::{self, WorkDir};

pub use super::lineage::{ROW_NUMBER, SOURCE_IDX};

/// How files are read; the defaults are what runs use, tests change them to compare paths.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// Typed Parquet checked with vectorised expressions (see `fast`); false reads it cell by cell.
    pub parquet_fast_path: bool,
    /// Rows of a Parquet file read and checked at a time: large enough that the vectorised checks dominate,
    /// small enough that a slice's temporaries stay a few hundred MB.
    pub parquet_slice_rows: usize,
    /// A table that is exactly the file `aftersales convert` wrote, unchanged, is scanned as it is (see
    /// `converted`); false checks it like any other file.
    pub trust_converted: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            parquet_fast_path: true,
            parquet_slice_rows: 1 << 20,
            trust_converted: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    pub source_file: String,
    pub row_number: u64,
    pub column: String,
    pub value: String,
    pub problem: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FileStats {
    pub file: String,
    pub rows_read: u64,
    pub rows_accepted: u64,
    pub rows_rejected: u64,
    /// Rows the config's staging rules left out on purpose (`rows_read = accepted + rejected + filtered`).
    pub rows_filtered: u64,
    /// `rows_filtered` by the rule's reason.
    pub filtered: std::collections::BTreeMap<String, u64>,
}

#[derive(Debug, Clone)]
pub struct LoadedTable {
    pub kind: TableKind,
    /// Accepted rows: the schema's columns in schema order, then `_source_idx`, `_row_number`.
    storage: Storage,
    pub files: Vec<FileStats>,
    pub rejects: Vec<Reject>,
    /// For a table fed through the staging layer: where each canonical column came from, per source.
    pub staging: Vec<super::mapping::SourceReport>,
}

/// Where the accepted rows are: in memory as loaded, or in a working copy (see `workdir`) once the run has
/// written them out, so later stages scan only the columns they use instead of holding the whole table.
#[derive(Debug, Clone)]
enum Storage {
    Memory(DataFrame),
    /// Chunk files in file order (one file once duplicates were taken out or lines numbered).
    WorkingCopy {
        paths: Vec<PathBuf>,
        rows: usize,
    },
    /// The one file `convert` wrote for this table, unchanged since (see `converted`): scanned where it is.
    Converted {
        path: PathBuf,
        rows: usize,
    },
}

impl LoadedTable {
    pub fn rows_read(&self) -> u64 {
        self.files.iter().map(|f| f.rows_read).sum()
    }
    pub fn rows_accepted(&self) -> u64 {
        self.files.iter().map(|f| f.rows_accepted).sum()
    }
    pub fn rows_rejected(&self) -> u64 {
        self.files.iter().map(|f| f.rows_rejected).sum()
    }
    pub fn rows_filtered(&self) -> u64 {
        self.files.iter().map(|f| f.rows_filtered).sum()
    }
    /// Rejected rows among the rows read and not filtered on purpose.
    pub fn reject_rate(&self) -> f64 {
        let read = self.rows_read() - self.rows_filtered();
        if read == 0 {
            0.0
        } else {
            self.rows_rejected() as f64 / read as f64
        }
    }
    /// Accepted rows, with lineage columns, as a lazy frame: a scan of the working copy once there is one.
    pub fn lazy(&self) -> PolarsResult<LazyFrame> {
        match &self.storage {
            Storage::Memory(df) => Ok(df.clone().lazy()),
            Storage::WorkingCopy { paths, .. } => scan_chunks(paths),
            Storage::Converted { path, .. } => {
                let mut select: Vec<Expr> = self.kind.schema().columns.iter().map(|c| col(c.name)).collect();
                select.push(lit(0u32).cast(DataType::UInt32).alias(SOURCE_IDX));
                select.push(col(ROW_NUMBER).cast(DataType::UInt64));
                // The scan numbers the rows itself, so filters still reach the Parquet reader.
                let args = ScanArgsParquet {
                    row_index: Some(RowIndex {
                        name: ROW_NUMBER.into(),
                        offset: 1,
                    }),
                    ..Default::default()
                };
                let path = PlRefPath::new(path.to_string_lossy().into_owned());
                Ok(LazyFrame::scan_parquet(path, args)?.select(select))
            }
        }
    }
    /// Accepted rows, with lineage columns, in memory.
    pub fn frame(&self) -> PolarsResult<DataFrame> {
        match &self.storage {
            Storage::Memory(df) => Ok(df.clone()),
            Storage::WorkingCopy { .. } | Storage::Converted { .. } => self.lazy()?.collect(),
        }
    }
    /// The table as users see it (no lineage columns), lazily.
    pub fn data_lazy(&self) -> PolarsResult<LazyFrame> {
        Ok(self.lazy()?.drop(cols([SOURCE_IDX, ROW_NUMBER])))
    }
    /// The table as users see it (no lineage columns), in memory.
    pub fn data(&self) -> PolarsResult<DataFrame> {
        match &self.storage {
            Storage::Memory(df) => Ok(df.drop_many([SOURCE_IDX, ROW_NUMBER])),
            Storage::WorkingCopy { .. } | Storage::Converted { .. } => self.data_lazy()?.collect(),
        }
    }
    /// Whether the rows came unchanged from a file `aftersales convert` wrote, so this run did not check them
    /// again (`converted`).
    pub fn read_as_converted(&self) -> bool {
        matches!(self.storage, Storage::Converted { .. })
    }
    /// The Parquet files this program wrote that hold exactly the accepted rows (the converted file or the
    /// working copy's chunks); None when the rows are in memory.
    pub fn own_parquet_files(&self) -> Option<Vec<&Path>> {
        match &self.storage {
            Storage::Memory(_) => None,
            Storage::WorkingCopy { paths, .. } => Some(paths.iter().map(PathBuf::as_path).collect()),
            Storage::Converted { path, .. } => Some(vec![path.as_path()]),
        }
    }
    /// The file `convert` wrote, when the rows were read from it as they are.
    pub fn converted_file(&self) -> Option<&Path> {
        match &self.storage {
            Storage::Converted { path, .. } => Some(path),
            _ => None,
        }
    }
    pub fn height(&self) -> usize {
        match &self.storage {
            Storage::Memory(df) => df.height(),
            Storage::WorkingCopy { rows, .. } | Storage::Converted { rows, .. } => *rows,
        }
    }
}

impl LoadedTable {
    /// Moves accepted rows to the rejects after loading (a check that needs every table first, such as
    /// plausibility): `found` pairs each row's lineage (file index, row number) with its reject. The accepted rows
    /// keep their order; a working copy is written again without the rows, in `work`; rows in memory stay there.
    pub fn reject_rows(&mut self, found: Vec<(u32, Reject)>, work: Option<&WorkDir>) -> Result<()> {
        if found.is_empty() {
            return Ok(());
        }
        let (src, rows): (Vec<u32>, Vec<u64>) = found.iter().map(|(s, r)| (*s, r.row_number)).unzip();
        let drop = DataFrame::new_infer_height(vec![
            UInt32Chunked::from_vec(SOURCE_IDX.into(), src)
                .into_series()
                .into_column(),
            UInt64Chunked::from_vec(ROW_NUMBER.into(), rows)
                .into_series()
                .into_column(),
        ])?
        .lazy();
        let mut anti = crate::engine::small_right(JoinType::Anti);
        anti.maintain_order = MaintainOrderJoin::Left;
        let kept = self.lazy()?.join(
            drop,
            [col(SOURCE_IDX), col(ROW_NUMBER)],
            [col(SOURCE_IDX), col(ROW_NUMBER)],
            anti,
        );
        let expected = self.height() - found.len();
        let in_memory = matches!(self.storage, Storage::Memory(_));
        self.storage = match work {
            Some(w) if !in_memory => {
                let path = w.file(&format!("{}-plausible", self.kind.name()));
                workdir::sink_in_order(kept, &path)?;
                Storage::WorkingCopy {
                    paths: vec![path],
                    rows: expected,
                }
            }
            _ => Storage::Memory(kept.collect()?),
        };
        anyhow::ensure!(
            self.height() == expected,
            "{}: {} rows were to be set aside but the table kept {} of {}",
            self.kind.name(),
            found.len(),
            self.height(),
            expected + found.len()
        );
        for (s, r) in found {
            let stats = self
                .files
                .get_mut(s as usize)
                .ok_or_else(|| anyhow::anyhow!("{}: no file number {s}", self.kind.name()))?;
            stats.rows_accepted -= 1;
            stats.rows_rejected += 1;
            self.rejects.push(r);
        }
        let order: Vec<String> = self.files.iter().map(|f| f.file.clone()).collect();
        self.rejects
            .sort_by_key(|r| (order.iter().position(|n| *n == r.source_file), r.row_number));
        Ok(())
    }
}

/// The chunk files of a working copy as one lazy frame, in order.
fn scan_chunks(paths: &[PathBuf]) -> PolarsResult<LazyFrame> {
    workdir::scan_files(paths)
}

enum ColBuilder {
    Str(StringChunkedBuilder),
    Int(Vec<Option<i64>>),
    /// Money as an integer of 10^-places units, and its places.
    Cents(Vec<Option<i128>>, u32),
    Ts(Vec<Option<i64>>),
}

impl ColBuilder {
    /// A builder with room for `rows` values, so a chunk's values are not copied as its vectors grow.
    fn new(name: &str, kind: &ColumnKind, rows: usize) -> Self {
        match kind {
            ColumnKind::Id | ColumnKind::Text | ColumnKind::Enum(_) => {
                ColBuilder::Str(StringChunkedBuilder::new(name.into(), rows))
            }
            ColumnKind::Int { .. } => ColBuilder::Int(Vec::with_capacity(rows)),
            ColumnKind::Money { places, .. } => ColBuilder::Cents(Vec::with_capacity(rows), *places),
            ColumnKind::Ts => ColBuilder::Ts(Vec::with_capacity(rows)),
        }
    }

    fn push(&mut self, v: Value<'_>) {
        match (self, v) {
            (ColBuilder::Str(b), Value::Str(s)) => b.append_value(s.as_ref()),
            (ColBuilder::Str(b), _) => b.append_null(),
            (ColBuilder::Int(b), Value::Int(i)) => b.push(Some(i)),
            (ColBuilder::Int(b), _) => b.push(None),
            (ColBuilder::Cents(b, _), Value::Cents(c)) => b.push(Some(c)),
            (ColBuilder::Cents(b, _), _) => b.push(None),
            (ColBuilder::Ts(b), Value::Ts(t)) => b.push(Some(t)),
            (ColBuilder::Ts(b), _) => b.push(None),
        }
    }

    fn finish(self, name: &str) -> Result<Column> {
        Ok(match self {
            ColBuilder::Str(b) => b.finish().into_series().into_column(),
            ColBuilder::Int(v) => Int64Chunked::from_iter_options(name.into(), v.into_iter())
                .into_series()
                .into_column(),
            ColBuilder::Cents(v, places) => Int128Chunked::from_iter_options(name.into(), v.into_iter())
                .into_decimal(18, places as usize)?
                .into_series()
                .into_column(),
            ColBuilder::Ts(v) => Int64Chunked::from_iter_options(name.into(), v.into_iter())
                .into_series()
                .cast(&ts_dtype())?
                .into_column(),
        })
    }
}

struct TableSink<'a> {
    schema: &'static TableSchema,
    tc: TableConfig,
    tz: Tz,
    file: String,
    file_idx: u32,
    /// schema column index → field index in this file
    mapping: Vec<Option<usize>>,
    header_len: usize,
    builders: Vec<ColBuilder>,
    source_idx: Vec<u32>,
    row_numbers: Vec<u64>,
    stats: FileStats,
    rejects: Vec<Reject>,
    progress: &'a Progress,
    chunks: Chunks<'a>,
    /// Rows parsed one by one are handed on every `chunk_rows` rows; off while the doubtful rows of a Parquet
    /// slice are parsed, which are merged with the slice's clean rows first (file order).
    auto_flush: bool,
    chunk_rows: usize,
    /// A failure to write a chunk from inside `row` (which cannot return one), reported after the file.
    failed: Option<anyhow::Error>,
}

impl RowSink for TableSink<'_> {
    fn header(&mut self, names: &[String]) -> Result<()> {
        let schema = self.schema;
        let table = schema.table;
        let mut mapping: Vec<Option<usize>> = vec![None; schema.columns.len()];
        for (i, raw) in names.iter().enumerate() {
            let name = raw.trim_start_matches('\u{feff}').trim();
            let canonical = self
                .tc
                .renames
                .get(name)
                .map(String::as_str)
                .or_else(|| schema.column(name).map(|c| c.name))
                .or_else(|| {
                    schema
                        .columns
                        .iter()
                        .find(|c| c.name.eq_ignore_ascii_case(name))
                        .map(|c| c.name)
                });
            let Some(canonical) = canonical else { continue };
            let idx = schema
                .columns
                .iter()
                .position(|c| c.name == canonical)
                .expect("canonical column");
            if let Some(prev) = mapping[idx] {
                bail!(
                    "{}: columns '{}' and '{}' both give {table}.{canonical}; keep one or rename one in [tables.{table}.columns]",
                    self.file,
                    names[prev],
                    raw
                );
            }
            mapping[idx] = Some(i);
        }
        let missing: Vec<&str> = schema
            .columns
            .iter()
            .zip(&mapping)
            .filter(|(c, m)| c.required && m.is_none())
            .map(|(c, _)| c.name)
            .collect();
        if !missing.is_empty() {
            let mut msg = format!(
                "{}: missing required column{} {} for table {table}. Found column{}: {}. Map export headers to canonical names under [tables.{table}.columns] in the config, e.g. \"{}\" = \"{}\"",
                self.file,
                if missing.len() > 1 { "s" } else { "" },
                missing.join(", "),
                if names.len() > 1 { "s" } else { "" },
                names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", "),
                names.first().map(String::as_str).unwrap_or("导出列名"),
                missing[0],
            );
            if names.len() == 1 {
                let delim = self.tc.delimiter as char;
                if let Some(d) = [';', '\t', '|', ',']
                    .into_iter()
                    .find(|d| *d != delim && names[0].contains(*d))
                {
                    let shown = if d == '\t' { "tab".to_string() } else { d.to_string() };
                    msg.push_str(&format!(
                        ". The header is a single column containing '{shown}': the file looks delimited by '{shown}', not '{}'; set delimiter = \"{shown}\" under [tables.{table}]",
                        if delim == '\t' { "tab".to_string() } else { delim.to_string() }
                    ));
                }
            }
            bail!(msg);
        }
        self.mapping = mapping;
        self.header_len = names.len();
        Ok(())
    }

    fn damaged(&mut self, row_number: u64, text: &str, problem: String) {
        self.stats.rows_read += 1;
        self.reject(row_number, "(row)", text.to_string(), problem);
    }

    fn row(&mut self, row_number: u64, cells: &[Cell<'_>]) {
        self.stats.rows_read += 1;
        if row_number.is_multiple_of(65_536) {
            self.progress.inc(65_536);
        }
        if cells.len() != self.header_len {
            let joined = cells
                .iter()
                .map(|c| c.show())
                .collect::<Vec<_>>()
                .join(&(self.tc.delimiter as char).to_string());
            let problem = format!(
                "row has {} field{} but the header has {}: a stray delimiter, an unquoted text or a cut line",
                cells.len(),
                if cells.len() == 1 { "" } else { "s" },
                self.header_len
            );
            self.reject(row_number, "(row)", truncate(&joined, 200), problem);
            return;
        }
        // The row's values borrow its cells: kept until every cell has parsed (a row is taken whole or rejected), on
        // the stack (dropped before a reject, which needs the sink whose value maps they may borrow).
        let mut values: smallvec::SmallVec<[Value<'_>; 24]> = smallvec::SmallVec::new();
        for (spec, m) in self.schema.columns.iter().zip(&self.mapping) {
            let mut cell = m.map_or(Cell::Null, |i| cells[i]);
            if let Some(unit) = self.tc.epoch_units.get(spec.name) {
                match epoch_cell(cell, *unit) {
                    Ok(c) => cell = c,
                    Err(problem) => {
                        drop(values);
                        self.reject(row_number, spec.name, cell.show(), problem);
                        return;
                    }
                }
            }
            match parse_cell(&cell, &spec.kind, self.tz, self.tc.value_maps.get(spec.name)) {
                Ok(Value::Null) if spec.required => {
                    drop(values);
                    self.reject(row_number, spec.name, String::new(), "required value is missing".into());
                    return;
                }
                Ok(v) => values.push(v),
                Err(problem) => {
                    drop(values);
                    self.reject(row_number, spec.name, cell.show(), problem);
                    return;
                }
            }
        }
        for (b, v) in self.builders.iter_mut().zip(values) {
            b.push(v);
        }
        self.source_idx.push(self.file_idx);
        self.row_numbers.push(row_number);
        self.stats.rows_accepted += 1;
        if self.auto_flush && self.source_idx.len() >= self.chunk_rows && self.failed.is_none() {
            let flushed = self.parsed_rows().and_then(|df| self.chunks.push(df));
            if let Err(e) = flushed {
                self.failed = Some(e);
            }
        }
    }
}

impl TableSink<'_> {
    /// The rows parsed so far as a frame (schema columns, then lineage); the builders start again empty.
    fn parsed_rows(&mut self) -> Result<DataFrame> {
        let schema = self.schema;
        let builders = std::mem::replace(
            &mut self.builders,
            schema
                .columns
                .iter()
                .map(|c| ColBuilder::new(c.name, &c.kind, self.chunk_rows))
                .collect(),
        );
        let mut cols = Vec::with_capacity(builders.len() + 2);
        for (b, spec) in builders.into_iter().zip(schema.columns) {
            cols.push(b.finish(spec.name)?);
        }
        cols.push(
            UInt32Chunked::from_vec(SOURCE_IDX.into(), std::mem::take(&mut self.source_idx))
                .into_series()
                .into_column(),
        );
        cols.push(
            UInt64Chunked::from_vec(ROW_NUMBER.into(), std::mem::take(&mut self.row_numbers))
                .into_series()
                .into_column(),
        );
        Ok(DataFrame::new_infer_height(cols)?)
    }

    fn flush(&mut self) -> Result<()> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let df = self.parsed_rows()?;
        self.chunks.push(df)
    }

    fn reject(&mut self, row_number: u64, column: &str, value: String, problem: String) {
        self.stats.rows_rejected += 1;
        self.rejects.push(Reject {
            source_file: self.file.clone(),
            row_number,
            column: column.to_string(),
            value,
            problem,
        });
    }
}

/// An epoch time (an integer of `unit` microseconds since 1970-01-01 UTC, as text or a number) as an instant; other
/// cells as they are (an ISO timestamp in the same column still parses).
fn epoch_cell(cell: Cell<'_>, unit: i64) -> Result<Cell<'_>, String> {
    let n = match cell {
        Cell::Int(i) => i,
        Cell::Float(f) if f.fract() == 0.0 && f.abs() < 9e18 => f as i64,
        Cell::Str(s) => match s.trim().parse::<i64>() {
            Ok(i) => i,
            Err(_) => return Ok(cell),
        },
        other => return Ok(other),
    };
    n.checked_mul(unit)
        .map(Cell::Utc)
        .ok_or_else(|| format!("{n} is out of range for an epoch time"))
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n).collect::<String>() + "…"
    }
}

/// Where a table's accepted rows go while it loads, a chunk at a time and in file order: kept in memory, or
/// written at once into the run's working folder, so that a table is never held whole. With a working folder,
/// chunks stay in memory while the folder's hold limit allows (`workdir::HoldInputs`); the first chunk past it
/// sends the table's chunks so far, and every later one, to working copies.
struct Chunks<'a> {
    kind: TableKind,
    work: Option<&'a WorkDir>,
    frames: Vec<DataFrame>,
    paths: Vec<PathBuf>,
    rows: usize,
    /// The key hash of every row written so far (working folder only): the duplicate check needs these, 8 bytes
    /// a row, not the rows.
    hashes: Vec<u64>,
    /// Order lines without a line_no are numbered within their order, which needs the whole table at once.
    needs_line_numbers: bool,
}

impl Chunks<'_> {
    fn push(&mut self, df: DataFrame) -> Result<()> {
        if df.height() == 0 {
            return Ok(());
        }
        let mut df = match self.kind {
            TableKind::Cases => crate::tables::cases::apply_defaults(df)?,
            _ => df,
        };
        if self.kind == TableKind::Orders && df.column("line_no")?.null_count() > 0 {
            self.needs_line_numbers = true;
        }
        self.rows += df.height();
        match self.work {
            None => self.frames.push(df),
            Some(w) => {
                let bytes = df.estimated_size();
                if self.paths.is_empty() && w.try_hold(bytes) {
                    self.frames.push(df);
                    return Ok(());
                }
                // Past the limit: the chunks held so far go first, and give back what they reserved.
                for mut held in std::mem::take(&mut self.frames) {
                    w.release(held.estimated_size());
                    self.write(w, &mut held)?;
                }
                self.write(w, &mut df)?;
            }
        }
        Ok(())
    }

    fn write(&mut self, w: &WorkDir, df: &mut DataFrame) -> Result<()> {
        append_key_hashes(df, self.kind.schema().key, &mut self.hashes)?;
        let path = w.file(&format!("{}-{:05}", self.kind.name(), self.paths.len()));
        workdir::write(df, &path)?;
        self.paths.push(path);
        Ok(())
    }

    /// Whether the table's rows are in memory (none went to a working copy).
    fn in_memory(&self) -> bool {
        self.work.is_none() || (self.paths.is_empty() && !self.frames.is_empty())
    }
}

/// Loads every file of a table, in memory. `Ok(None)` when an optional table has no source.
pub fn load_table(
    data_dir: &Path,
    kind: TableKind,
    tc: &TableConfig,
    tz: Tz,
    progress: &Progress,
) -> Result<Option<LoadedTable>> {
    load_table_to(data_dir, kind, tc, tz, progress, None)
}

/// Loads every file of a table; with `work`, the accepted rows go to a working copy there as they are read.
pub fn load_table_to(
    data_dir: &Path,
    kind: TableKind,
    tc: &TableConfig,
    tz: Tz,
    progress: &Progress,
    work: Option<&WorkDir>,
) -> Result<Option<LoadedTable>> {
    let files = discover(data_dir, kind, tc)?;
    if files.is_empty() {
        return Ok(None);
    }
    load_files_to(kind, &files, tc, tz, progress, ReadOptions::default(), work).map(Some)
}

pub fn load_files(
    kind: TableKind,
    files: &[SourceFile],
    tc: &TableConfig,
    tz: Tz,
    progress: &Progress,
) -> Result<LoadedTable> {
    load_files_with(kind, files, tc, tz, progress, ReadOptions::default())
}

pub fn load_files_with(
    kind: TableKind,
    files: &[SourceFile],
    tc: &TableConfig,
    tz: Tz,
    progress: &Progress,
    read: ReadOptions,
) -> Result<LoadedTable> {
    load_files_to(kind, files, tc, tz, progress, read, None)
}

pub fn load_files_to(
    kind: TableKind,
    files: &[SourceFile],
    tc: &TableConfig,
    tz: Tz,
    progress: &Progress,
    read: ReadOptions,
    work: Option<&WorkDir>,
) -> Result<LoadedTable> {
    if read.trust_converted
        && let Some(rows) = converted::trusted_rows(kind, files)
    {
        progress.inc(rows);
        let file = &files[0];
        return Ok(LoadedTable {
            kind,
            storage: Storage::Converted {
                path: file.path.clone(),
                rows: rows as usize,
            },
            files: vec![FileStats {
                file: file.display(),
                rows_read: rows,
                rows_accepted: rows,
                ..FileStats::default()
            }],
            rejects: Vec::new(),
            staging: Vec::new(),
        });
    }
    let mut loader = TableLoader::new(kind, tc.clone(), tz, progress, read, work);
    let schema = kind.schema();
    for (i, f) in files.iter().enumerate() {
        loader.begin_file(f.display(), None);
        let sink = &mut loader.sink;
        progress.set_message(format!("reading {}", f.display()));
        if f.format == SourceFormat::Parquet {
            // A slice at a time, so the raw columns, their normalised copies and the clean rows of a whole
            // file are never held side by side.
            let mut offset = 0;
            loop {
                let (df, total) = parquet_slice(f, offset, read.parquet_slice_rows)?;
                if offset == 0 {
                    sink.header(&parquet_header(&df))?;
                }
                let df = only_mapped(df, &sink.mapping)?;
                let split = if read.parquet_fast_path {
                    fast::split(&df, &sink.mapping, schema, tc, i as u32, offset)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?
                } else {
                    None
                };
                match split {
                    Some(split) => {
                        let n = split.clean.height() as u64;
                        sink.stats.rows_read += n;
                        sink.stats.rows_accepted += n;
                        progress.inc(n);
                        sink.auto_flush = false;
                        feed_frame(&split.suspect, Some(&split.suspect_rows), sink)
                            .map_err(|e| anyhow::anyhow!("{}: {e:#}", f.display()))?;
                        sink.auto_flush = true;
                        let parsed = sink.parsed_rows()?;
                        let chunk = if parsed.height() == 0 {
                            split.clean
                        } else {
                            // Doubtful rows that passed, back among the clean ones in file order.
                            let mut both = parsed;
                            both.vstack_mut(&split.clean)?;
                            both.sort([ROW_NUMBER], SortMultipleOptions::default())?
                        };
                        sink.chunks.push(chunk)?;
                    }
                    None => {
                        let rows: Vec<u64> = (offset as u64 + 1..=(offset + df.height()) as u64).collect();
                        feed_frame(&df, Some(&rows), sink).map_err(|e| anyhow::anyhow!("{}: {e:#}", f.display()))?;
                        sink.flush()?;
                    }
                }
                offset += df.height();
                if offset >= total || df.height() == 0 {
                    break;
                }
            }
        } else {
            read_csv(f, tc, sink)?;
            sink.flush()?;
        }
        loader.end_file();
    }
    loader.finish()
}

/// Loads a table file by file: rows handed over as cells are parsed, checked and kept or rejected; the staging
/// layer (`crate::staging`) feeds it frames of canonical columns, the plain readers feed it rows.
pub(crate) struct TableLoader<'a> {
    kind: TableKind,
    sink: TableSink<'a>,
    stats: Vec<FileStats>,
}

impl<'a> TableLoader<'a> {
    pub(crate) fn new(
        kind: TableKind,
        tc: TableConfig,
        tz: Tz,
        progress: &'a Progress,
        read: ReadOptions,
        work: Option<&'a WorkDir>,
    ) -> Self {
        let schema = kind.schema();
        TableLoader {
            kind,
            sink: TableSink {
                schema,
                tc,
                tz,
                file: String::new(),
                file_idx: 0,
                mapping: Vec::new(),
                header_len: 0,
                builders: schema
                    .columns
                    .iter()
                    .map(|c| ColBuilder::new(c.name, &c.kind, read.parquet_slice_rows.max(1)))
                    .collect(),
                source_idx: Vec::new(),
                row_numbers: Vec::new(),
                stats: FileStats::default(),
                rejects: Vec::new(),
                progress,
                chunks: Chunks {
                    kind,
                    work,
                    frames: Vec::new(),
                    paths: Vec::new(),
                    rows: 0,
                    hashes: Vec::new(),
                    needs_line_numbers: false,
                },
                auto_flush: true,
                chunk_rows: read.parquet_slice_rows.max(1),
                failed: None,
            },
            stats: Vec::new(),
        }
    }

    /// Starts the next file; `tc` replaces how cells are read (a staged source's frames are canonical already).
    pub(crate) fn begin_file(&mut self, display: String, tc: Option<TableConfig>) {
        if let Some(tc) = tc {
            self.sink.tc = tc;
        }
        self.sink.file = display.clone();
        self.sink.file_idx = self.stats.len() as u32;
        self.sink.stats = FileStats {
            file: display,
            ..FileStats::default()
        };
    }

    /// The file's column names (canonical ones for a staged source).
    pub(crate) fn header(&mut self, names: &[String]) -> Result<()> {
        self.sink.header(names)
    }

    /// Rows of canonical columns with their physical row numbers, parsed and kept or rejected.
    pub(crate) fn feed(&mut self, df: &DataFrame, rows: &[u64]) -> Result<()> {
        let file = self.sink.file.clone();
        feed_frame(df, Some(rows), &mut self.sink).map_err(|e| anyhow::anyhow!("{file}: {e:#}"))
    }

    /// A row rejected before it reached the parser (damaged, or its staging failed): read and rejected.
    pub(crate) fn reject(&mut self, row_number: u64, column: &str, value: String, problem: String) {
        self.sink.stats.rows_read += 1;
        self.sink.reject(row_number, column, value, problem);
    }

    /// Rows left out by a staging rule: read and filtered, per reason.
    pub(crate) fn filtered(&mut self, reason: &str, n: u64) {
        if n == 0 {
            return;
        }
        self.sink.stats.rows_read += n;
        self.sink.stats.rows_filtered += n;
        *self.sink.stats.filtered.entry(reason.to_string()).or_default() += n;
    }

    /// Ends the file; its counts.
    pub(crate) fn end_file(&mut self) -> &FileStats {
        self.stats.push(self.sink.stats.clone());
        &self.sink.stats
    }

    /// Writes the file's parsed rows on (after a file, or in between to bound memory).
    pub(crate) fn flush(&mut self) -> Result<()> {
        self.sink.flush()
    }

    /// The loaded table: duplicates of a key rejected after the first, rejects in file order.
    pub(crate) fn finish(self) -> Result<LoadedTable> {
        let TableLoader { kind, mut sink, stats } = self;
        let mut stats = stats;
        let schema = kind.schema();
        // The (empty) frame of the table's columns: a table with no accepted row still has its schema.
        let empty = sink.parsed_rows()?;
        let TableSink {
            mut rejects,
            mut chunks,
            ..
        } = sink;
        let names: Vec<String> = stats.iter().map(|s| s.file.clone()).collect();
        let in_memory = chunks.in_memory();
        let (storage, dups) = match chunks.work {
            Some(w) if !chunks.needs_line_numbers && !in_memory => {
                if chunks.paths.is_empty() {
                    let path = w.file(&format!("{}-00000", kind.name()));
                    workdir::write(&mut empty.clone(), &path)?;
                    chunks.paths.push(path);
                }
                let (paths, rows, dups) = reject_duplicates_in_copy(&chunks, &names, w)?;
                (Storage::WorkingCopy { paths, rows }, dups)
            }
            _ => {
                // In memory: the chunks put together (or, for order lines to number, read back from the copy).
                let mut df = empty;
                if chunks.paths.is_empty() {
                    for c in chunks.frames.drain(..) {
                        df.vstack_mut(&c)?;
                    }
                } else {
                    df = scan_chunks(&chunks.paths)?.collect()?;
                }
                df.rechunk_mut();
                if chunks.needs_line_numbers {
                    df = crate::tables::orders::number_lines(df)?;
                }
                let (mut df, dups) = reject_duplicate_keys(df, schema, &names)?;
                let storage = match chunks.work {
                    Some(w) if !in_memory => {
                        let path = w.file(kind.name());
                        workdir::write(&mut df, &path)?;
                        for p in &chunks.paths {
                            let _ = std::fs::remove_file(p);
                        }
                        Storage::WorkingCopy {
                            paths: vec![path],
                            rows: df.height(),
                        }
                    }
                    _ => Storage::Memory(df),
                };
                (storage, dups)
            }
        };
        for d in &dups {
            let s = stats
                .iter_mut()
                .find(|s| s.file == d.source_file)
                .ok_or_else(|| anyhow::anyhow!("{}: no file named {}", kind.name(), d.source_file))?;
            s.rows_accepted -= 1;
            s.rows_rejected += 1;
        }
        rejects.extend(dups);
        rejects.sort_by(|a, b| {
            let ia = names.iter().position(|n| *n == a.source_file);
            let ib = names.iter().position(|n| *n == b.source_file);
            (ia, a.row_number).cmp(&(ib, b.row_number))
        });
        Ok(LoadedTable {
            kind,
            storage,
            files: stats,
            rejects,
            staging: Vec::new(),
        })
    }
}

/// The frame with every column no schema column reads replaced by nulls (same name, same place): an export's
/// extra columns may be of any type (lists, structs, maps), and none of them is read or converted.
fn only_mapped(df: DataFrame, mapping: &[Option<usize>]) -> Result<DataFrame> {
    let used: std::collections::HashSet<usize> = mapping.iter().flatten().copied().collect();
    let height = df.height();
    let cols: Vec<Column> = df
        .columns()
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if used.contains(&i) {
                c.clone()
            } else {
                Column::full_null(c.name().clone(), height, &DataType::String)
            }
        })
        .collect();
    Ok(DataFrame::new(height, cols)?)
}

/// Appends each row's key hash; equal keys hash equal, so rows whose hash no other row shares are not
/// duplicates.
fn append_key_hashes(df: &DataFrame, key: &[&str], out: &mut Vec<u64>) -> Result<()> {
    use std::hash::BuildHasher;
    let state = foldhash::fast::FixedState::with_seed(0x0A57_E25A);
    let mut hashes = vec![0u64; df.height()];
    for k in key {
        let s = df.column(k)?.as_materialized_series();
        if s.dtype() == &DataType::String {
            for (h, v) in hashes.iter_mut().zip(s.str()?.iter()) {
                *h = state.hash_one((*h, v));
            }
        } else {
            let s = s.cast(&DataType::Int64)?;
            for (h, v) in hashes.iter_mut().zip(s.i64()?.iter()) {
                *h = state.hash_one((*h, v));
            }
        }
    }
    out.extend(hashes);
    Ok(())
}

/// The positions of rows whose key hash another row shares: every row with a duplicate key, plus the rare row
/// whose hash merely collides (the exact check that follows clears it).
fn shared_hash_positions(hashes: &[u64]) -> Vec<IdxSize> {
    let mut sorted = hashes.to_vec();
    sorted.sort_unstable();
    let shared: std::collections::HashSet<u64> = sorted.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
    drop(sorted);
    (0..hashes.len() as IdxSize)
        .filter(|&i| shared.contains(&hashes[i as usize]))
        .collect()
}

const SEQ_SHIFT: u64 = 40;

/// Of the candidate rows (key columns and lineage), which repeat a key seen earlier — the first row with a key
/// wins — and the reject of each, naming where the key was first seen.
fn mark_duplicates(candidates: DataFrame, schema: &TableSchema, files: &[String]) -> Result<(Vec<bool>, Vec<Reject>)> {
    let keys: Vec<Expr> = schema.key.iter().map(|k| col(*k)).collect();
    let seq = (col(SOURCE_IDX).cast(DataType::UInt64) * lit(1u64 << SEQ_SHIFT)) + col(ROW_NUMBER);
    let marked = candidates
        .lazy()
        .with_column(seq.alias("_seq"))
        .with_column(col("_seq").min().over(keys)?.alias("_first_seq"))
        .with_column(col("_seq").neq(col("_first_seq")).alias("_dup"))
        .collect()?;
    let is_dup = marked.column("_dup")?.bool()?.clone();
    let flags: Vec<bool> = is_dup.iter().map(|d| d == Some(true)).collect();
    let dups = marked.filter(&is_dup)?;
    let mut rejects = Vec::with_capacity(dups.height());
    if dups.height() > 0 {
        let first = dups.column("_first_seq")?.u64()?.clone();
        let src = dups.column(SOURCE_IDX)?.u32()?.clone();
        let rows = dups.column(ROW_NUMBER)?.u64()?.clone();
        let key_cols: Vec<Series> = schema
            .key
            .iter()
            .map(|k| {
                dups.column(k)
                    .and_then(|c| c.as_materialized_series().cast(&DataType::String))
            })
            .collect::<PolarsResult<_>>()?;
        for i in 0..dups.height() {
            let vals: Vec<String> = key_cols
                .iter()
                .map(|s| s.str().unwrap().get(i).unwrap_or("").to_string())
                .collect();
            let f = first.get(i).unwrap_or(0);
            let (ffile, frow) = ((f >> SEQ_SHIFT) as usize, f & ((1 << SEQ_SHIFT) - 1));
            let same_file = ffile == src.get(i).unwrap_or(0) as usize;
            let where_ = if same_file {
                format!("row {frow}")
            } else {
                format!("row {frow} of {}", files[ffile])
            };
            let (column, value, problem) = if schema.key.len() == 1 {
                (
                    schema.key[0].to_string(),
                    vals[0].clone(),
                    format!("duplicate {} '{}': first seen at {where_}", schema.key[0], vals[0]),
                )
            } else {
                let c = schema.key.join("+");
                let v = vals.join("+");
                (
                    c.clone(),
                    v.clone(),
                    format!(
                        "duplicate key ({}) = ({}): first seen at {where_}",
                        schema.key.join(", "),
                        vals.join(", ")
                    ),
                )
            };
            rejects.push(Reject {
                source_file: files[src.get(i).unwrap_or(0) as usize].clone(),
                row_number: rows.get(i).unwrap_or(0),
                column,
                value,
                problem,
            });
        }
    }
    Ok((flags, rejects))
}

/// The first row with a key wins; later rows with the same key are rejected, naming where the key was first seen.
fn reject_duplicate_keys(df: DataFrame, schema: &TableSchema, files: &[String]) -> Result<(DataFrame, Vec<Reject>)> {
    // Grouping every row by its key (a window over all rows) holds a large hash table. Rows whose key hash
    // is unique cannot be duplicates, so only the few rows that share a hash are grouped exactly.
    let mut hashes = Vec::with_capacity(df.height());
    append_key_hashes(&df, schema.key, &mut hashes)?;
    let positions = shared_hash_positions(&hashes);
    drop(hashes);
    if positions.is_empty() {
        return Ok((df, Vec::new()));
    }
    let candidates = df
        .select(schema.key.iter().copied().chain([SOURCE_IDX, ROW_NUMBER]))?
        .take(&IdxCa::from_vec("".into(), positions.clone()))?;
    let (is_dup, rejects) = mark_duplicates(candidates, schema, files)?;
    if rejects.is_empty() {
        // Only colliding hashes, no duplicate: the table stays as it is, uncopied.
        return Ok((df, Vec::new()));
    }
    let mut keep = vec![true; df.height()];
    for (p, d) in positions.iter().zip(is_dup) {
        if d {
            keep[*p as usize] = false;
        }
    }
    let kept = df.filter(&BooleanChunked::from_slice("keep".into(), &keep))?;
    Ok((kept, rejects))
}

/// The duplicate check on a working copy: candidates (rows whose key hash is shared) are read back by position,
/// checked exactly, and only when a duplicate is found is the copy rewritten without it (streaming).
fn reject_duplicates_in_copy(
    chunks: &Chunks<'_>,
    files: &[String],
    w: &WorkDir,
) -> Result<(Vec<PathBuf>, usize, Vec<Reject>)> {
    let schema = chunks.kind.schema();
    let positions = shared_hash_positions(&chunks.hashes);
    if positions.is_empty() {
        return Ok((chunks.paths.clone(), chunks.rows, Vec::new()));
    }
    let pos_frame = |p: Vec<IdxSize>| -> PolarsResult<LazyFrame> {
        Ok(DataFrame::new_infer_height(vec![IdxCa::from_vec("_pos".into(), p).into_series().into_column()])?.lazy())
    };
    let candidates = scan_chunks(&chunks.paths)?
        .with_row_index("_pos", None)
        .join(
            pos_frame(positions)?,
            [col("_pos")],
            [col("_pos")],
            crate::engine::small_right(JoinType::Semi),
        )
        .sort(["_pos"], SortMultipleOptions::default())
        .collect()?;
    let cand_pos: Vec<IdxSize> = candidates.column("_pos")?.idx()?.into_no_null_iter().collect();
    let candidates = candidates.select(schema.key.iter().copied().chain([SOURCE_IDX, ROW_NUMBER]))?;
    let (is_dup, rejects) = mark_duplicates(candidates, schema, files)?;
    if rejects.is_empty() {
        return Ok((chunks.paths.clone(), chunks.rows, Vec::new()));
    }
    let dup_pos: Vec<IdxSize> = cand_pos
        .iter()
        .zip(&is_dup)
        .filter(|(_, d)| **d)
        .map(|(p, _)| *p)
        .collect();
    let path = w.file(chunks.kind.name());
    let kept = scan_chunks(&chunks.paths)?
        .with_row_index("_pos", None)
        .join(pos_frame(dup_pos)?, [col("_pos")], [col("_pos")], {
            let mut a = crate::engine::small_right(JoinType::Anti);
            a.maintain_order = MaintainOrderJoin::Left;
            a
        })
        .drop(cols(["_pos"]));
    workdir::sink(kept, &path)?;
    for p in &chunks.paths {
        let _ = std::fs::remove_file(p);
    }
    Ok((vec![path], chunks.rows - rejects.len(), rejects))
}
