//! Loading one table: every file's rows parsed into typed columns, bad rows rejected with the file, row, column,
//! value and problem (SPEC §2), duplicate keys rejected after the first, and the count kept so that
//! rows read = rows accepted + rows rejected, per file and per table.

use std::path::Path;

use anyhow::{Result, bail};
use chrono_tz::Tz;
use polars::prelude::*;

use super::discover::SourceFormat;
use super::discover::{SourceFile, discover};
use super::fast;
use super::parse::{Value, parse_cell};
use super::reader::{Cell, RowSink, feed_frame, parquet_header, parquet_slice, read_file};
use crate::config::TableConfig;
use crate::progress::Progress;
use crate::tables::{ColumnKind, TableKind, TableSchema};
use crate::time::ts_dtype;

/// Lineage columns carried by every loaded frame: which file (index into `LoadedTable::files`) and which data row.
pub const SOURCE_IDX: &str = "_source_idx";
pub const ROW_NUMBER: &str = "_row_number";

/// How files are read; the defaults are what runs use, tests change them to compare paths.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// Typed Parquet checked with vectorised expressions (see `fast`); false reads it cell by cell.
    pub parquet_fast_path: bool,
    /// Rows of a Parquet file read and checked at a time: large enough that the vectorised checks dominate,
    /// small enough that a slice's temporaries stay a few hundred MB.
    pub parquet_slice_rows: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            parquet_fast_path: true,
            parquet_slice_rows: 1 << 20,
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

#[derive(Debug, Clone, PartialEq)]
pub struct FileStats {
    pub file: String,
    pub rows_read: u64,
    pub rows_accepted: u64,
    pub rows_rejected: u64,
}

#[derive(Debug, Clone)]
pub struct LoadedTable {
    pub kind: TableKind,
    /// Accepted rows: the schema's columns in schema order, then `_source_idx`, `_row_number`.
    pub df: DataFrame,
    pub files: Vec<FileStats>,
    pub rejects: Vec<Reject>,
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
    pub fn reject_rate(&self) -> f64 {
        let read = self.rows_read();
        if read == 0 {
            0.0
        } else {
            self.rows_rejected() as f64 / read as f64
        }
    }
    /// The frame without lineage columns, as users see the table.
    pub fn data(&self) -> DataFrame {
        self.df.drop_many([SOURCE_IDX, ROW_NUMBER])
    }
}

enum ColBuilder {
    Str(StringChunkedBuilder),
    Int(Vec<Option<i64>>),
    Cents(Vec<Option<i128>>),
    Ts(Vec<Option<i64>>),
}

impl ColBuilder {
    fn new(name: &str, kind: &ColumnKind) -> Self {
        match kind {
            ColumnKind::Id | ColumnKind::Text | ColumnKind::Enum(_) => {
                ColBuilder::Str(StringChunkedBuilder::new(name.into(), 1024))
            }
            ColumnKind::Int { .. } => ColBuilder::Int(Vec::new()),
            ColumnKind::Money { .. } => ColBuilder::Cents(Vec::new()),
            ColumnKind::Ts => ColBuilder::Ts(Vec::new()),
        }
    }

    fn push(&mut self, v: Value) {
        match (self, v) {
            (ColBuilder::Str(b), Value::Str(s)) => b.append_value(s),
            (ColBuilder::Str(b), _) => b.append_null(),
            (ColBuilder::Int(b), Value::Int(i)) => b.push(Some(i)),
            (ColBuilder::Int(b), _) => b.push(None),
            (ColBuilder::Cents(b), Value::Cents(c)) => b.push(Some(c)),
            (ColBuilder::Cents(b), _) => b.push(None),
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
            ColBuilder::Cents(v) => Int128Chunked::from_iter_options(name.into(), v.into_iter())
                .into_decimal(18, 2)?
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
    tc: &'a TableConfig,
    tz: Tz,
    file: String,
    file_idx: u32,
    /// schema column index → field index in this file
    mapping: Vec<Option<usize>>,
    header_len: usize,
    builders: Vec<ColBuilder>,
    source_idx: Vec<u32>,
    row_numbers: Vec<u64>,
    values: Vec<Value>,
    stats: FileStats,
    rejects: Vec<Reject>,
    progress: &'a Progress,
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
        self.values.clear();
        for (spec, m) in self.schema.columns.iter().zip(&self.mapping) {
            let cell = m.map_or(Cell::Null, |i| cells[i]);
            match parse_cell(&cell, &spec.kind, self.tz, self.tc.value_maps.get(spec.name)) {
                Ok(Value::Null) if spec.required => {
                    self.reject(row_number, spec.name, String::new(), "required value is missing".into());
                    return;
                }
                Ok(v) => self.values.push(v),
                Err(problem) => {
                    self.reject(row_number, spec.name, cell.show(), problem);
                    return;
                }
            }
        }
        for (b, v) in self.builders.iter_mut().zip(self.values.drain(..)) {
            b.push(v);
        }
        self.source_idx.push(self.file_idx);
        self.row_numbers.push(row_number);
        self.stats.rows_accepted += 1;
    }
}

impl TableSink<'_> {
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

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n).collect::<String>() + "…"
    }
}

/// Loads every file of a table. `Ok(None)` when an optional table has no source.
pub fn load_table(
    data_dir: &Path,
    kind: TableKind,
    tc: &TableConfig,
    tz: Tz,
    progress: &Progress,
) -> Result<Option<LoadedTable>> {
    let files = discover(data_dir, kind, tc)?;
    if files.is_empty() {
        return Ok(None);
    }
    load_files(kind, &files, tc, tz, progress).map(Some)
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
    let schema = kind.schema();
    let mut sink = TableSink {
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
            .map(|c| ColBuilder::new(c.name, &c.kind))
            .collect(),
        source_idx: Vec::new(),
        row_numbers: Vec::new(),
        values: Vec::with_capacity(schema.columns.len()),
        stats: FileStats {
            file: String::new(),
            rows_read: 0,
            rows_accepted: 0,
            rows_rejected: 0,
        },
        rejects: Vec::new(),
        progress,
    };
    let mut stats = Vec::new();
    // Clean rows of typed Parquet files, already in canonical types (see `fast`).
    let mut chunks: Vec<DataFrame> = Vec::new();
    for (i, f) in files.iter().enumerate() {
        sink.file = f.display();
        sink.file_idx = i as u32;
        sink.stats = FileStats {
            file: f.display(),
            rows_read: 0,
            rows_accepted: 0,
            rows_rejected: 0,
        };
        progress.set_message(format!("reading {}", f.display()));
        if f.format == SourceFormat::Parquet && read.parquet_fast_path {
            // A slice at a time, so the raw columns, their normalised copies and the clean rows of a whole
            // file are never held side by side (measured: 5.6 GB for the scale-10 shipments file read whole).
            let mut offset = 0;
            loop {
                let (df, total) = parquet_slice(f, offset, read.parquet_slice_rows)?;
                if offset == 0 {
                    sink.header(&parquet_header(&df))?;
                }
                match fast::split(&df, &sink.mapping, schema, tc, i as u32, offset)? {
                    Some(split) => {
                        let n = split.clean.height() as u64;
                        sink.stats.rows_read += n;
                        sink.stats.rows_accepted += n;
                        progress.inc(n);
                        feed_frame(&split.suspect, Some(&split.suspect_rows), &mut sink)?;
                        chunks.push(split.clean);
                    }
                    None => {
                        let rows: Vec<u64> = (offset as u64 + 1..=(offset + df.height()) as u64).collect();
                        feed_frame(&df, Some(&rows), &mut sink)?
                    }
                }
                offset += df.height();
                if offset >= total || df.height() == 0 {
                    break;
                }
            }
        } else {
            read_file(f, tc, &mut sink)?;
        }
        stats.push(sink.stats.clone());
    }
    let TableSink {
        builders,
        source_idx,
        row_numbers,
        mut rejects,
        ..
    } = sink;
    let mut cols = Vec::with_capacity(builders.len() + 2);
    for (b, spec) in builders.into_iter().zip(schema.columns) {
        cols.push(b.finish(spec.name)?);
    }
    cols.push(
        UInt32Chunked::from_vec(SOURCE_IDX.into(), source_idx)
            .into_series()
            .into_column(),
    );
    cols.push(
        UInt64Chunked::from_vec(ROW_NUMBER.into(), row_numbers)
            .into_series()
            .into_column(),
    );
    let mut df = DataFrame::new_infer_height(cols)?;
    crate::stages::debug_mark(&format!("{}: read", kind.name()));
    if !chunks.is_empty() {
        let parsed_rows = df.height();
        for c in chunks {
            df.vstack_mut(&c)?;
        }
        // Rows parsed one by one and clean rows of the same files: back in file order, which numbering order
        // lines relies on.
        if parsed_rows > 0 {
            df = df.sort([SOURCE_IDX, ROW_NUMBER], SortMultipleOptions::default())?;
        }
        df.rechunk_mut();
    }

    df = match kind {
        TableKind::Orders => crate::tables::orders::number_lines(df)?,
        TableKind::Cases => crate::tables::cases::apply_defaults(df)?,
        _ => df,
    };
    let names: Vec<String> = stats.iter().map(|s| s.file.clone()).collect();
    let (df, dups) = reject_duplicate_keys(df, schema, &names)?;
    crate::stages::debug_mark(&format!("{}: duplicates checked", kind.name()));
    for d in &dups {
        let s = stats
            .iter_mut()
            .find(|s| s.file == d.source_file)
            .expect("file of a duplicate");
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
        df,
        files: stats,
        rejects,
    })
}

/// For each row, whether another row's key has the same hash: every row with a duplicate key is marked, plus
/// the rare row whose hash merely collides (the exact check that follows clears it).
fn shared_key_hash(df: &DataFrame, key: &[&str]) -> Result<Vec<bool>> {
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
    let mut sorted = hashes.clone();
    sorted.sort_unstable();
    let shared: std::collections::HashSet<u64> = sorted.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
    drop(sorted);
    Ok(hashes.iter().map(|h| shared.contains(h)).collect())
}

/// The first row with a key wins; later rows with the same key are rejected, naming where the key was first seen.
fn reject_duplicate_keys(df: DataFrame, schema: &TableSchema, files: &[String]) -> Result<(DataFrame, Vec<Reject>)> {
    const SHIFT: u64 = 40;
    let keys: Vec<Expr> = schema.key.iter().map(|k| col(*k)).collect();
    let seq = (col(SOURCE_IDX).cast(DataType::UInt64) * lit(1u64 << SHIFT)) + col(ROW_NUMBER);
    // Grouping every row by its key (a window over 10 M order lines) held 1.7 GB at scale 10. Rows whose key hash
    // is unique cannot be duplicates, so only the few rows that share a hash are grouped exactly.
    let candidates = shared_key_hash(&df, schema.key)?;
    if !candidates.iter().any(|&c| c) {
        return Ok((df, Vec::new()));
    }
    let positions: Vec<IdxSize> = (0..candidates.len() as IdxSize)
        .filter(|&i| candidates[i as usize])
        .collect();
    let marked = df
        .select(schema.key.iter().copied().chain([SOURCE_IDX, ROW_NUMBER]))?
        .take(&IdxCa::from_vec("".into(), positions.clone()))?
        .lazy()
        .with_column(seq.alias("_seq"))
        .with_column(col("_seq").min().over(keys)?.alias("_first_seq"))
        .with_column(col("_seq").neq(col("_first_seq")).alias("_dup"))
        .collect()?;
    let is_dup = marked.column("_dup")?.bool()?.clone();
    let mut keep = vec![true; df.height()];
    for (p, d) in positions.iter().zip(is_dup.iter()) {
        if d == Some(true) {
            keep[*p as usize] = false;
        }
    }
    if !keep.contains(&false) {
        // Only colliding hashes, no duplicate: the table stays as it is, uncopied.
        return Ok((df, Vec::new()));
    }
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
            let (ffile, frow) = ((f >> SHIFT) as usize, f & ((1 << SHIFT) - 1));
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
    let kept = df.filter(&BooleanChunked::from_slice("keep".into(), &keep))?;
    Ok((kept, rejects))
}
