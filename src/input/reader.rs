//! Row-by-row reading of one source file into cells, whatever its format and encoding. Cells stay borrowed from
//! the reader's buffers: parsing decides what is copied.

use std::fs::File;
use std::io::{BufReader, Read};

use anyhow::{Context, Result, bail};
use polars::prelude::*;

use super::csv_lines::{CsvLines, CsvOptions, Item};
use super::discover::{SourceFile, SourceFormat};
use crate::config::TableConfig;

/// One cell as found in the file, before parsing.
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    Null,
    Str(&'a str),
    /// Bytes that are not valid UTF-8 (a GBK file read as UTF-8, usually).
    BadUtf8(&'a [u8]),
    Int(i64),
    Float(f64),
    /// A Parquet timestamp with a zone: microseconds UTC.
    Utc(i64),
    /// A Parquet timestamp without a zone: microseconds of local wall time.
    Naive(i64),
    /// A Parquet date: days since the epoch.
    Date(i32),
    /// A Parquet decimal: the integer and its scale (value = integer × 10^-scale).
    Decimal(i128, usize),
}

impl Cell<'_> {
    /// The cell as text for reject rows and messages.
    pub fn show(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Str(s) => s.to_string(),
            Cell::BadUtf8(b) => String::from_utf8_lossy(b).into_owned(),
            Cell::Int(i) => i.to_string(),
            Cell::Float(f) => f.to_string(),
            Cell::Utc(t) => chrono::DateTime::from_timestamp_micros(*t)
                .map(|d| d.to_rfc3339())
                .unwrap_or_else(|| format!("{t} µs")),
            Cell::Naive(t) => chrono::DateTime::from_timestamp_micros(*t)
                .map(|d| d.naive_utc().format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_else(|| format!("{t} µs")),
            Cell::Date(d) => d
                .checked_add(719_163)
                .and_then(chrono::NaiveDate::from_num_days_from_ce_opt)
                .map(|d| d.to_string())
                .unwrap_or_else(|| format!("day {d}")),
            Cell::Decimal(v, scale) => show_decimal(*v, *scale),
        }
    }
}

/// `v × 10^-scale` written out exactly, e.g. (123450, 4) → `12.3450`.
pub fn show_decimal(v: i128, scale: usize) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let digits = v.unsigned_abs().to_string();
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{sign}{int}.{frac}")
}

/// Receives a file's header once, then its rows.
pub trait RowSink {
    fn header(&mut self, names: &[String]) -> Result<()>;
    /// `row_number`: the physical line of a CSV file where the record starts (the header is line 1), or the
    /// 1-based row of a Parquet file.
    fn row(&mut self, row_number: u64, cells: &[Cell<'_>]);
    /// A physical line that cannot be a row (see `csv_lines`): counted as read and rejected whole.
    fn damaged(&mut self, row_number: u64, text: &str, problem: String);
}

/// A CSV file (gzip when `gz`) opened for reading by physical lines.
pub type CsvReader = CsvLines<BufReader<Box<dyn Read>>>;

pub fn open_csv(path: &std::path::Path, gz: bool, opts: CsvOptions) -> Result<CsvReader> {
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let raw: Box<dyn Read> = if gz {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 20, f)))
    } else {
        Box::new(f)
    };
    Ok(CsvLines::new(BufReader::with_capacity(1 << 20, raw), opts))
}

/// The stream itself failing (I/O, a broken gzip member) cannot be contained to a row: the file is refused whole
/// rather than half read.
pub fn stream_error(file: &str, e: std::io::Error, at: u64) -> anyhow::Error {
    anyhow::anyhow!(
        "{file}: cannot read the file after line {at}: {e}; the file is refused whole (no row of it is used), since what follows cannot be read"
    )
}

/// The header's fields as names (trimmed), or which one is not UTF-8 and what to set.
pub fn header_names(file: &str, fields: &super::csv_lines::Fields) -> Result<Vec<String>> {
    fields
        .iter()
        .enumerate()
        .map(|(i, h)| {
            std::str::from_utf8(h).map(|s| s.trim().to_string()).map_err(|_| {
                anyhow::anyhow!(
                    "{file}: header column {} is not valid UTF-8; if the export is GBK (common for Chinese spreadsheets), set encoding = \"gbk\" (or \"windows-1252\" for a Western European export)",
                    i + 1
                )
            })
        })
        .collect()
}

/// Reads a CSV file (plain or gzip) row by row into the sink; Parquet is read a slice at a time by `load`.
pub fn read_csv(file: &SourceFile, tc: &TableConfig, sink: &mut dyn RowSink) -> Result<()> {
    let opts = CsvOptions {
        delimiter: tc.delimiter,
        quoting: tc.quoting,
        encoding: tc.encoding,
    };
    let mut lines = open_csv(&file.path, file.format == SourceFormat::CsvGz, opts)?;
    let shown = file.display();
    let stream_err = |e, at| stream_error(&shown, e, at);
    let (_, header_fields) = match lines.header().map_err(|e| stream_err(e, 0))? {
        Ok(h) => h,
        Err(problem) => bail!("{}: {problem}", file.display()),
    };
    let header = header_names(&shown, &header_fields)?;
    sink.header(&header)?;
    loop {
        let at = lines.account.lines;
        let Some(item) = lines.next_item().map_err(|e| stream_err(e, at))? else {
            break;
        };
        match item {
            Item::Record { line, fields } => {
                let cells: Vec<Cell<'_>> = fields
                    .texts()
                    .map(|field| match field {
                        Ok("") => Cell::Null,
                        Ok(s) => Cell::Str(s),
                        Err(bytes) => Cell::BadUtf8(bytes),
                    })
                    .collect();
                sink.row(line, &cells);
                drop(cells);
                lines.recycle(fields);
            }
            Item::Damaged { line, text, problem } => sink.damaged(line, &text, problem),
        }
    }
    debug_assert_eq!(
        lines.account.lines,
        lines.account.preamble
            + lines.account.header_lines
            + lines.account.record_lines
            + lines.account.damaged
            + lines.account.blank
    );
    Ok(())
}

enum ColReader {
    Str(StringChunked),
    Int(Int64Chunked),
    Float(Float64Chunked),
    Utc(Int64Chunked),
    Naive(Int64Chunked),
    Date(Int32Chunked),
    Decimal(Int128Chunked, usize),
}

/// Rows `offset .. offset + len` of a Parquet file (only the row groups that hold them are decoded), and the
/// file's row count.
pub fn parquet_slice(file: &SourceFile, offset: usize, len: usize) -> Result<(DataFrame, usize)> {
    let mut reader = parquet_reader(file)?;
    let total = reader.num_rows().map_err(|e| not_parquet(file, e))?;
    let df = reader
        .with_slice(Some((offset, len)))
        .finish()
        .map_err(|e| not_parquet(file, e))?;
    Ok((df, total))
}

fn parquet_reader(file: &SourceFile) -> Result<ParquetReader<File>> {
    let f = File::open(&file.path).with_context(|| format!("cannot open {}", file.display()))?;
    Ok(ParquetReader::new(f))
}

fn not_parquet(file: &SourceFile, e: PolarsError) -> anyhow::Error {
    anyhow::anyhow!("{}: cannot read as Parquet: {e}", file.display())
}

pub fn parquet_header(df: &DataFrame) -> Vec<String> {
    df.get_column_names().iter().map(|s| s.trim().to_string()).collect()
}

/// Hands a frame's rows to the sink as cells. `row_numbers`: the file's data row of each frame row, when the frame
/// holds only some of the file's rows; else rows are numbered 1, 2, ….
pub fn feed_frame(df: &DataFrame, row_numbers: Option<&[u64]>, sink: &mut dyn RowSink) -> Result<()> {
    let mut cols = Vec::with_capacity(df.width());
    for c in df.columns() {
        let s = c.as_materialized_series().rechunk();
        let r = match s.dtype() {
            DataType::String => ColReader::Str(s.str()?.clone()),
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64 => ColReader::Int(s.cast(&DataType::Int64)?.i64()?.clone()),
            DataType::Float32 | DataType::Float64 => ColReader::Float(s.cast(&DataType::Float64)?.f64()?.clone()),
            DataType::Datetime(_, tz) => {
                let us = s.cast(&DataType::Datetime(TimeUnit::Microseconds, tz.clone()))?;
                let phys = us.to_physical_repr().i64()?.clone();
                if tz.is_some() {
                    ColReader::Utc(phys)
                } else {
                    ColReader::Naive(phys)
                }
            }
            DataType::Date => ColReader::Date(s.to_physical_repr().i32()?.clone()),
            DataType::Decimal(_, scale) => ColReader::Decimal(s.decimal()?.physical().clone(), *scale),
            other => ColReader::Str(
                s.cast(&DataType::String)
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "column '{}' holds {other} values, which cannot be read as a cell of the table; map another column or drop it from the export",
                            s.name()
                        )
                    })?
                    .str()?
                    .clone(),
            ),
        };
        cols.push(r);
    }
    let mut iters: Vec<Box<dyn Iterator<Item = Cell<'_>> + '_>> = cols
        .iter()
        .map(|c| -> Box<dyn Iterator<Item = Cell<'_>> + '_> {
            match c {
                ColReader::Str(ca) => Box::new(ca.iter().map(|v| match v {
                    None | Some("") => Cell::Null,
                    Some(s) => Cell::Str(s),
                })),
                ColReader::Int(ca) => Box::new(ca.iter().map(|v| v.map_or(Cell::Null, Cell::Int))),
                ColReader::Float(ca) => Box::new(ca.iter().map(|v| v.map_or(Cell::Null, Cell::Float))),
                ColReader::Utc(ca) => Box::new(ca.iter().map(|v| v.map_or(Cell::Null, Cell::Utc))),
                ColReader::Naive(ca) => Box::new(ca.iter().map(|v| v.map_or(Cell::Null, Cell::Naive))),
                ColReader::Date(ca) => Box::new(ca.iter().map(|v| v.map_or(Cell::Null, Cell::Date))),
                ColReader::Decimal(ca, scale) => Box::new(
                    ca.iter()
                        .map(move |v| v.map_or(Cell::Null, |v| Cell::Decimal(v, *scale))),
                ),
            }
        })
        .collect();
    let mut cells: Vec<Cell<'_>> = Vec::with_capacity(iters.len());
    for i in 0..df.height() {
        cells.clear();
        for it in iters.iter_mut() {
            cells.push(it.next().unwrap_or(Cell::Null));
        }
        let row = row_numbers.map_or(i as u64 + 1, |r| r[i]);
        sink.row(row, &cells);
    }
    Ok(())
}
