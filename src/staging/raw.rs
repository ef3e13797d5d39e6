//! Reading an export as it is: every cell as text (xlsx dates as local wall time), in chunks of rows that keep
//! their physical row number — the line of a CSV file, the row of a worksheet — so every reject still names the
//! place a person finds it at.

use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result, bail};
use polars::prelude::*;

use super::clean::{self, Counts};
use super::{FileSpec, RawFormat};
use crate::input::csv_lines::{CsvOptions, Item};
use crate::input::reader;

/// Rows handed on at a time: enough that expressions run vectorised, few enough that a chunk stays small.
pub const CHUNK_ROWS: usize = 1 << 17;

/// A run of rows of one file: the kept columns as cleaned text, named by the header, and each row's physical
/// number.
pub struct RawChunk {
    pub frame: DataFrame,
    pub rows: Vec<u64>,
    /// What cleaning did, per column of `frame`.
    pub cleaned: Vec<Counts>,
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
    Ok(
        if name.ends_with(".xlsx") || name.ends_with(".xlsm") || name.ends_with(".xls") {
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
        },
    )
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
            bail!(
                "{what}: folder {} holds no files; put this export's downloads there (docs/exports.md says which)",
                p.display()
            );
        }
        return Ok(parts);
    }
    if !p.is_file() {
        bail!("{what}: the config points at {}, which does not exist", p.display());
    }
    Ok(vec![p.clone()])
}

/// The header's names; returns which columns to keep (the ones a source reads: the rest is never copied).
pub type OnHeader<'a> = dyn FnMut(&[String]) -> Result<Vec<bool>> + 'a;

/// Reads one file, handing its rows on a chunk at a time, the kept cells cleaned by the spec's rules.
pub fn read(
    path: &Path,
    spec: &FileSpec,
    on_header: &mut OnHeader<'_>,
    on_chunk: &mut dyn FnMut(RawChunk) -> Result<()>,
) -> Result<Structure> {
    match format_of(path, spec)? {
        RawFormat::Csv => read_csv(path, spec, on_header, on_chunk),
        RawFormat::Xlsx => read_xlsx(path, spec, on_header, on_chunk),
        RawFormat::Parquet => read_parquet(path, spec, on_header, on_chunk),
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

/// Collects the kept cells of rows into String columns, cleaning each cell as it is copied.
struct Builder<'a> {
    spec: &'a FileSpec,
    /// Header width.
    width: usize,
    /// Raw position and name of each kept column.
    kept: Vec<(usize, String)>,
    cols: Vec<StringChunkedBuilder>,
    counts: Vec<Counts>,
    rows: Vec<u64>,
    damaged: Vec<Damaged>,
}

impl<'a> Builder<'a> {
    fn new(spec: &'a FileSpec, names: &[String], keep: &[bool]) -> Self {
        let kept: Vec<(usize, String)> = names
            .iter()
            .enumerate()
            .filter(|(i, _)| keep.get(*i).copied().unwrap_or(false))
            .map(|(i, n)| (i, n.clone()))
            .collect();
        Builder {
            spec,
            width: names.len(),
            cols: kept
                .iter()
                .map(|(_, n)| StringChunkedBuilder::new(n.as_str().into(), CHUNK_ROWS))
                .collect(),
            counts: vec![Counts::default(); kept.len()],
            kept,
            rows: Vec::new(),
            damaged: Vec::new(),
        }
    }
    fn len(&self) -> usize {
        self.rows.len() + self.damaged.len()
    }
    fn take(&mut self) -> Result<RawChunk> {
        let cols: Vec<Column> = self
            .cols
            .iter_mut()
            .zip(&self.kept)
            .map(|(b, (_, n))| {
                std::mem::replace(b, StringChunkedBuilder::new(n.as_str().into(), CHUNK_ROWS))
                    .finish()
                    .into_series()
                    .into_column()
            })
            .collect();
        let rows = std::mem::take(&mut self.rows);
        let frame = DataFrame::new(rows.len(), cols)?;
        Ok(RawChunk {
            frame,
            rows,
            cleaned: std::mem::replace(&mut self.counts, vec![Counts::default(); self.kept.len()]),
            damaged: std::mem::take(&mut self.damaged),
        })
    }
    /// Whether a row of `n` cells fits the header: as wide, or wider by empty cells only (exports that end every
    /// row with a delimiter). Otherwise the row is damaged.
    fn fits(&mut self, row: u64, n: usize, extra_filled: bool, shown: impl FnOnce() -> String) -> bool {
        if n < self.width || extra_filled {
            self.damaged.push(Damaged {
                row,
                text: shown(),
                problem: format!(
                    "row has {n} field{} but the header has {}: a stray delimiter, an unquoted text or a cut line",
                    if n == 1 { "" } else { "s" },
                    self.width
                ),
            });
            return false;
        }
        true
    }
    /// Adds a row whose cells `cell(i)` gives by raw position (None: empty).
    fn push<'c>(&mut self, row: u64, cell: impl Fn(usize) -> Option<&'c str>) {
        for (j, (i, _)) in self.kept.iter().enumerate() {
            let v = cell(*i)
                .and_then(|v| clean::clean_cell(v, self.spec.clean, &self.spec.null_values, &mut self.counts[j]));
            match v {
                Some(v) => self.cols[j].append_value(v.as_ref()),
                None => self.cols[j].append_null(),
            }
        }
        self.rows.push(row);
    }
}

fn read_csv(
    path: &Path,
    spec: &FileSpec,
    on_header: &mut OnHeader<'_>,
    on_chunk: &mut dyn FnMut(RawChunk) -> Result<()>,
) -> Result<Structure> {
    let opts = CsvOptions {
        delimiter: spec.delimiter,
        quoting: spec.quoting,
        encoding: spec.encoding,
    };
    let gz = path.to_string_lossy().to_ascii_lowercase().ends_with(".gz");
    let mut lines = reader::open_csv(path, gz, opts)?;
    let shown = path.display().to_string();
    let stream_err = |e, at| reader::stream_error(&shown, e, at);
    lines.skip_lines(spec.header_line - 1).map_err(|e| stream_err(e, 0))?;
    let (_, header_fields) = match lines.header().map_err(|e| stream_err(e, 0))? {
        Ok(h) => h,
        Err(problem) => bail!("{}: {problem}", path.display()),
    };
    let names = reader::header_names(&shown, &header_fields)?;
    let names = header_names(names);
    let keep = on_header(&names)?;
    let mut b = Builder::new(spec, &names, &keep);
    let mut blank = 0u64;
    let delim = (spec.delimiter as char).to_string();
    loop {
        let at = lines.account.lines;
        let Some(item) = lines.next_item().map_err(|e| stream_err(e, at))? else {
            break;
        };
        match item {
            Item::Record { line, fields } => {
                let shown = || {
                    fields
                        .iter()
                        .map(|f| String::from_utf8_lossy(f).into_owned())
                        .collect::<Vec<_>>()
                        .join(&delim)
                };
                // The cells borrow `fields`, which goes back to the reader once the row is copied.
                let mut strs_here: Vec<Option<&str>> = Vec::with_capacity(fields.len());
                let mut bad: Option<usize> = None;
                for (i, f) in fields.iter().enumerate() {
                    match std::str::from_utf8(f) {
                        Ok("") => strs_here.push(None),
                        Ok(v) => strs_here.push(Some(v)),
                        Err(_) => {
                            bad.get_or_insert(i);
                            strs_here.push(None);
                        }
                    }
                }
                if strs_here.iter().all(|c| c.is_none_or(|v| v.trim().is_empty())) {
                    // A row of bare delimiters (spreadsheets pad a sheet's end with them): no data, like a blank line.
                    blank += 1;
                } else if let Some(i) = bad {
                    b.damaged.push(Damaged {
                        row: line,
                        text: shown(),
                        problem: format!(
                            "field {} is not valid UTF-8; set encoding = \"gbk\" (Chinese exports) or \"windows-1252\" for this source",
                            i + 1
                        ),
                    });
                } else {
                    let extra = strs_here.iter().skip(b.width).any(Option::is_some);
                    if b.fits(line, strs_here.len(), extra, shown) {
                        b.push(line, |i| strs_here.get(i).copied().flatten());
                    }
                }
                drop(strs_here);
                lines.recycle(fields);
            }
            Item::Damaged { line, text, problem } => b.damaged.push(Damaged {
                row: line,
                text,
                problem,
            }),
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
    on_header: &mut OnHeader<'_>,
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
    let mut b: Option<Builder> = None;
    // Rows above the used range are empty rows of the sheet: part of the preamble when the header is below them.
    let first_row = row0 as u64 + 1;
    preamble += (spec.header_line.min(first_row)).saturating_sub(1);
    for (i, r) in range.rows().enumerate() {
        let row = first_row + i as u64;
        let cells: Vec<Option<String>> = r.iter().map(|c| text(c).filter(|s| !s.is_empty())).collect();
        let Some(bld) = b.as_mut() else {
            if row < spec.header_line {
                preamble += 1;
                continue;
            }
            if cells.iter().all(Option::is_none) {
                blank += 1;
                continue;
            }
            let names = header_names(cells.iter().map(|c| c.clone().unwrap_or_default()).collect());
            let keep = on_header(&names)?;
            b = Some(Builder::new(spec, &names, &keep));
            continue;
        };
        if cells.iter().all(|c| c.as_deref().is_none_or(|s| s.trim().is_empty())) {
            blank += 1;
            continue;
        }
        // A sheet's rows are as wide as its used range: cells beyond the header count only when filled.
        let extra = cells.iter().skip(bld.width).any(Option::is_some);
        let shown = || {
            cells
                .iter()
                .map(|c| c.clone().unwrap_or_default())
                .collect::<Vec<_>>()
                .join("\t")
        };
        if bld.fits(row, cells.len().max(bld.width), extra, shown) {
            bld.push(row, |i| cells.get(i).and_then(|c| c.as_deref()));
        }
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
    spec: &FileSpec,
    on_header: &mut OnHeader<'_>,
    on_chunk: &mut dyn FnMut(RawChunk) -> Result<()>,
) -> Result<Structure> {
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let df = ParquetReader::new(f)
        .finish()
        .map_err(|e| anyhow::anyhow!("{}: cannot read as Parquet: {e}", path.display()))?;
    let names = header_names(df.get_column_names().iter().map(|s| s.to_string()).collect());
    let keep = on_header(&names)?;
    let cols: Vec<StringChunked> = df
        .columns()
        .iter()
        .map(|c| {
            let s = c.as_materialized_series();
            let s = match s.dtype() {
                DataType::Datetime(_, Some(_)) => s
                    .cast(&DataType::Datetime(
                        TimeUnit::Microseconds,
                        Some(polars::prelude::TimeZone::UTC),
                    ))?
                    .datetime()?
                    .to_string("%Y-%m-%dT%H:%M:%S%.fZ")?
                    .into_series(),
                _ => s.cast(&DataType::String)?,
            };
            Ok(s.str()?.clone())
        })
        .collect::<PolarsResult<_>>()?;
    let mut b = Builder::new(spec, &names, &keep);
    for r in 0..df.height() {
        b.push(r as u64 + 1, |i| cols.get(i).and_then(|c| c.get(r)));
        if b.len() >= CHUNK_ROWS {
            on_chunk(b.take()?)?;
        }
    }
    on_chunk(b.take()?)?;
    Ok(Structure::default())
}
