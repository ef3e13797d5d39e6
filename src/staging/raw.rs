//! Reading an export as it is: every cell as text (xlsx dates as local wall time), in chunks of rows that keep
//! their physical row number — the line of a CSV file, the row of a worksheet — so every reject still names the
//! place a person finds it at.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use anyhow::{Context, Result, bail};
use polars::prelude::*;

use super::{FileSpec, RawFormat};
use crate::input::csv_lines::{CsvLines, CsvOptions, Item};

/// Rows handed on at a time: enough that expressions run vectorised, few enough that a chunk stays small.
pub const CHUNK_ROWS: usize = 1 << 17;

/// A run of rows of one file: String columns named by the header, and each row's physical number.
pub struct RawChunk {
    pub frame: DataFrame,
    pub rows: Vec<u64>,
    /// Rows that could not be rows (a damaged line, a wrong number of fields), in file order with the chunk.
    pub damaged: Vec<Damaged>,
}

pub struct Damaged {
    pub row: u64,
    pub text: String,
    pub problem: String,
}

/// What a file's structure took besides rows: lines before the header, blank lines and rows of bare delimiters.
#[derive(Debug, Default, Clone, Copy)]
pub struct Structure {
    pub preamble: u64,
    pub blank: u64,
}

/// The format a file is read in: the one the config names, else its extension's.
pub fn format_of(path: &Path, spec: &FileSpec) -> Result<RawFormat> {
    if let Some(f) = spec.format {
        return Ok(f);
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    Ok(if name.ends_with(".xlsx") || name.ends_with(".xlsm") || name.ends_with(".xls") {
        RawFormat::Xlsx
    } else if name.ends_with(".parquet") || name.ends_with(".pq") {
        RawFormat::Parquet
    } else if [".csv", ".csv.gz", ".tsv", ".txt", ".tsv.gz", ".txt.gz"]
        .iter()
        .any(|e| name.ends_with(e))
    {
        RawFormat::Csv
    } else {
        bail!(
            "{}: cannot tell the format from the name; set format = \"csv\", \"xlsx\" or \"parquet\" for this source",
            path.display()
        )
    })
}

/// The files a spec names: a file, or a folder's files in name order (hidden ones and `_`-prefixed ones left out).
pub fn files_of(spec: &FileSpec, what: &str) -> Result<Vec<std::path::PathBuf>> {
    let p = &spec.path;
    if p.is_dir() {
        let mut parts = Vec::new();
        for entry in std::fs::read_dir(p).with_context(|| format!("cannot list folder {}", p.display()))? {
            let path = entry?.path();
            let hidden = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.') || n.starts_with('_'));
            if path.is_file() && !hidden {
                parts.push(path);
            }
        }
        parts.sort();
        if parts.is_empty() {
            bail!("{what}: folder {} holds no files", p.display());
        }
        return Ok(parts);
    }
    if !p.is_file() {
        bail!("{what}: the config points at {}, which does not exist", p.display());
    }
    Ok(vec![p.clone()])
}

/// Reads one file, handing its rows on a chunk at a time.
pub fn read(
    path: &Path,
    spec: &FileSpec,
    on_header: &mut dyn FnMut(&[String]) -> Result<()>,
    on_chunk: &mut dyn FnMut(RawChunk) -> Result<()>,
) -> Result<Structure> {
    match format_of(path, spec)? {
        RawFormat::Csv => read_csv(path, spec, on_header, on_chunk),
        RawFormat::Xlsx => read_xlsx(path, spec, on_header, on_chunk),
        RawFormat::Parquet => read_parquet(path, on_header, on_chunk),
    }
}

/// Header names as columns can carry them: trimmed, a BOM dropped, a repeated name numbered (`备注`, `备注 (2)`).
fn header_names(raw: Vec<String>) -> Vec<String> {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    raw.into_iter()
        .enumerate()
        .map(|(i, n)| {
            let mut n = n.trim_start_matches('\u{feff}').trim().to_string();
            if n.is_empty() {
                n = format!("(column {})", i + 1);
            }
            let k = seen.entry(n.clone()).or_insert(0);
            *k += 1;
            if *k > 1 { format!("{n} ({k})") } else { n }
        })
        .collect()
}

/// Collects rows into String columns.
struct Builder {
    names: Vec<String>,
    cols: Vec<Vec<Option<String>>>,
    rows: Vec<u64>,
    damaged: Vec<Damaged>,
}

impl Builder {
    fn new(names: Vec<String>) -> Self {
        let n = names.len();
        Builder {
            names,
            cols: (0..n).map(|_| Vec::new()).collect(),
            rows: Vec::new(),
            damaged: Vec::new(),
        }
    }
    fn len(&self) -> usize {
        self.rows.len() + self.damaged.len()
    }
    fn take(&mut self) -> Result<RawChunk> {
        let cols: Vec<Column> = self
            .names
            .iter()
            .zip(self.cols.iter_mut())
            .map(|(n, v)| StringChunked::from_iter_options(n.as_str().into(), std::mem::take(v).into_iter()).into_series().into_column())
            .collect();
        let rows = std::mem::take(&mut self.rows);
        let frame = DataFrame::new(rows.len(), cols)?;
        Ok(RawChunk {
            frame,
            rows,
            damaged: std::mem::take(&mut self.damaged),
        })
    }
    /// Adds a row of cells; a row wider than the header is accepted when the extra cells are empty (exports
    /// that end every row with a delimiter), otherwise the row is damaged.
    fn push(&mut self, row: u64, cells: Vec<Option<String>>, shown: impl FnOnce() -> String) {
        let width = self.names.len();
        let extra_filled = cells.iter().skip(width).any(Option::is_some);
        if cells.len() < width || extra_filled {
            self.damaged.push(Damaged {
                row,
                text: shown(),
                problem: format!(
                    "row has {} field{} but the header has {width}: a stray delimiter, an unquoted text or a cut line",
                    cells.len(),
                    if cells.len() == 1 { "" } else { "s" }
                ),
            });
            return;
        }
        for (c, v) in self.cols.iter_mut().zip(cells) {
            c.push(v);
        }
        self.rows.push(row);
    }
}

fn read_csv(
    path: &Path,
    spec: &FileSpec,
    on_header: &mut dyn FnMut(&[String]) -> Result<()>,
    on_chunk: &mut dyn FnMut(RawChunk) -> Result<()>,
) -> Result<Structure> {
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let gz = path.to_string_lossy().to_ascii_lowercase().ends_with(".gz");
    let raw: Box<dyn Read> = if gz {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 20, f)))
    } else {
        Box::new(f)
    };
    let opts = CsvOptions {
        delimiter: spec.delimiter,
        quoting: spec.quoting,
        encoding: spec.encoding,
    };
    let mut lines = CsvLines::new(BufReader::with_capacity(1 << 20, raw), opts);
    let stream_err = |e: std::io::Error, at: u64| {
        anyhow::anyhow!(
            "{}: cannot read the file after line {at}: {e}; the file is refused whole (no row of it is used), since what follows cannot be read",
            path.display()
        )
    };
    lines
        .skip_lines(spec.header_line - 1)
        .map_err(|e| stream_err(e, 0))?;
    let (_, header_fields) = match lines.header().map_err(|e| stream_err(e, 0))? {
        Ok(h) => h,
        Err(problem) => bail!("{}: {problem}", path.display()),
    };
    let names: Vec<String> = header_fields
        .iter()
        .enumerate()
        .map(|(i, h)| {
            std::str::from_utf8(h).map(str::to_string).map_err(|_| {
                anyhow::anyhow!(
                    "{}: header column {} is not valid UTF-8; set encoding = \"gbk\" (Chinese exports) or \"windows-1252\" for this source",
                    path.display(),
                    i + 1
                )
            })
        })
        .collect::<Result<_>>()?;
    let names = header_names(names);
    on_header(&names)?;
    let mut b = Builder::new(names);
    let mut blank = 0u64;
    loop {
        let at = lines.account.lines;
        let Some(item) = lines.next_item().map_err(|e| stream_err(e, at))? else {
            break;
        };
        match item {
            Item::Record { line, fields } => {
                let mut cells: Vec<Option<String>> = Vec::with_capacity(fields.len());
                let mut bad: Option<usize> = None;
                for (i, f) in fields.iter().enumerate() {
                    match std::str::from_utf8(f) {
                        Ok("") => cells.push(None),
                        Ok(s) => cells.push(Some(s.to_string())),
                        Err(_) => {
                            bad.get_or_insert(i);
                            cells.push(None);
                        }
                    }
                }
                let delim = (spec.delimiter as char).to_string();
                let shown = || {
                    fields
                        .iter()
                        .map(|f| String::from_utf8_lossy(f).into_owned())
                        .collect::<Vec<_>>()
                        .join(&delim)
                };
                if let Some(i) = bad {
                    b.damaged.push(Damaged {
                        row: line,
                        text: shown(),
                        problem: format!(
                            "field {} is not valid UTF-8; set encoding = \"gbk\" (Chinese exports) or \"windows-1252\" for this source",
                            i + 1
                        ),
                    });
                } else if cells.iter().all(|c| c.as_deref().is_none_or(|s| s.trim().is_empty())) {
                    // A row of bare delimiters (spreadsheets pad a sheet's end with them): no data, like a blank line.
                    blank += 1;
                } else {
                    b.push(line, cells, shown);
                }
                lines.recycle(fields);
            }
            Item::Damaged { line, text, problem } => b.damaged.push(Damaged { row: line, text, problem }),
        }
        if b.len() >= CHUNK_ROWS {
            on_chunk(b.take()?)?;
        }
    }
    on_chunk(b.take()?)?;
    Ok(Structure {
        preamble: lines.account.preamble,
        blank: lines.account.blank + blank,
    })
}

fn read_xlsx(
    path: &Path,
    spec: &FileSpec,
    on_header: &mut dyn FnMut(&[String]) -> Result<()>,
    on_chunk: &mut dyn FnMut(RawChunk) -> Result<()>,
) -> Result<Structure> {
    use calamine::{Data, Reader};
    let mut wb = calamine::open_workbook_auto(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot read as a spreadsheet: {e}", path.display()))?;
    let sheets = wb.sheet_names();
    let sheet = match &spec.sheet {
        Some(s) if sheets.contains(s) => s.clone(),
        Some(s) => bail!(
            "{}: no worksheet named '{s}'. Worksheets are {}",
            path.display(),
            sheets.join(", ")
        ),
        None => sheets
            .first()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("{}: the workbook has no worksheet", path.display()))?,
    };
    let range = wb
        .worksheet_range(&sheet)
        .map_err(|e| anyhow::anyhow!("{}: cannot read worksheet '{sheet}': {e}", path.display()))?;
    let (row0, _) = range.start().unwrap_or((0, 0));
    let text = |c: &Data| -> Option<String> {
        match c {
            Data::Empty => None,
            Data::String(s) => Some(s.clone()),
            Data::Int(i) => Some(i.to_string()),
            // Whole numbers (ids and quantities Excel stores as numbers) without a fraction.
            Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some(format!("{f:.0}")),
            Data::Float(f) => Some(f.to_string()),
            Data::Bool(b) => Some(b.to_string()),
            Data::DateTime(d) => match d.as_datetime() {
                Some(t) => Some(t.format("%Y-%m-%d %H:%M:%S%.f").to_string()),
                None => Some(d.as_f64().to_string()),
            },
            Data::DateTimeIso(s) | Data::DurationIso(s) => Some(s.clone()),
            Data::Error(e) => Some(format!("#{e:?}")),
        }
    };
    let mut preamble = 0u64;
    let mut blank = 0u64;
    let mut header: Option<Vec<String>> = None;
    let mut b: Option<Builder> = None;
    // Rows above the used range are empty rows of the sheet: part of the preamble when the header is below them.
    let first_row = row0 as u64 + 1;
    preamble += (spec.header_line.min(first_row)).saturating_sub(1);
    for (i, r) in range.rows().enumerate() {
        let row = first_row + i as u64;
        let cells: Vec<Option<String>> = r.iter().map(|c| text(c).filter(|s| !s.is_empty())).collect();
        if header.is_none() {
            if row < spec.header_line {
                preamble += 1;
                continue;
            }
            if cells.iter().all(Option::is_none) {
                blank += 1;
                continue;
            }
            let names = header_names(cells.iter().map(|c| c.clone().unwrap_or_default()).collect());
            on_header(&names)?;
            b = Some(Builder::new(names.clone()));
            header = Some(names);
            continue;
        }
        let Some(bld) = b.as_mut() else { continue };
        if cells.iter().all(|c| c.as_deref().is_none_or(|s| s.trim().is_empty())) {
            blank += 1;
            continue;
        }
        // Trailing empty cells beyond the header are the sheet's used range, not data.
        let shown = || cells.iter().map(|c| c.clone().unwrap_or_default()).collect::<Vec<_>>().join("\t");
        let text_shown = shown();
        let mut cells = cells;
        if cells.len() < bld.names.len() {
            cells.resize(bld.names.len(), None);
        }
        bld.push(row, cells, || text_shown);
        if bld.len() >= CHUNK_ROWS {
            on_chunk(bld.take()?)?;
        }
    }
    match b.as_mut() {
        Some(bld) => on_chunk(bld.take()?)?,
        None => bail!(
            "{}: worksheet '{sheet}' has no header row at or after row {}",
            path.display(),
            spec.header_line
        ),
    }
    Ok(Structure { preamble, blank })
}

fn read_parquet(
    path: &Path,
    on_header: &mut dyn FnMut(&[String]) -> Result<()>,
    on_chunk: &mut dyn FnMut(RawChunk) -> Result<()>,
) -> Result<Structure> {
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let df = ParquetReader::new(f)
        .finish()
        .map_err(|e| anyhow::anyhow!("{}: cannot read as Parquet: {e}", path.display()))?;
    let names = header_names(df.get_column_names().iter().map(|s| s.to_string()).collect());
    on_header(&names)?;
    let cols: Vec<Column> = df
        .columns()
        .iter()
        .zip(&names)
        .map(|(c, n)| {
            let s = c.as_materialized_series();
            let s = match s.dtype() {
                DataType::Datetime(_, Some(_)) => s
                    .cast(&DataType::Datetime(TimeUnit::Microseconds, Some(polars::prelude::TimeZone::UTC)))?
                    .cast(&DataType::String)?,
                _ => s.cast(&DataType::String)?,
            };
            Ok(s.with_name(n.as_str().into()).into_column())
        })
        .collect::<PolarsResult<_>>()?;
    let frame = DataFrame::new(df.height(), cols)?;
    let rows = (1..=df.height() as u64).collect();
    on_chunk(RawChunk {
        frame,
        rows,
        damaged: Vec::new(),
    })?;
    Ok(Structure::default())
}
