//! The staging layer: a platform's exports as its back office writes them → the canonical rows of SPEC §1.
//!
//! A table with `[[tables.<table>.sources]]` in the config is fed by those sources instead of by a canonical file.
//! Each source is one export (a file or a folder of files, CSV, xlsx or Parquet) read as text, then, per chunk of
//! rows and in this order:
//!
//! 1. **clean** the cells the source uses (`clean::Clean`: Excel guards, tabs, thousands separators and currency
//!    marks, full-width digits; the source's null words), counting each rule per column;
//! 2. **skip** the rows a `[[...skip]]` condition is true for, counted as filtered under its reason;
//! 3. **map** each canonical column from an export column, a SQL expression over the export's columns, a constant,
//!    or a `[lookups.<name>]` table found by a key; then enum labels through the value maps (`"*"` for the rest)
//!    and numeric times through `time_format`;
//! 4. hand the canonical frame, with each row's physical number, to the table loader, which parses, rejects and
//!    keeps exactly as it does for a canonical file.
//!
//! A row staging cannot complete (an expression fails on it, a lookup finds no row for a required column) is
//! rejected naming the raw file, its physical row, the canonical column and the inputs. For every file,
//! rows read = accepted + rejected + filtered. One export may feed several tables (a Taobao refund row is a case
//! and a refund): each table names it as a source of its own.

pub mod clean;
pub mod raw;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use anyhow::{Result, bail};
use chrono_tz::Tz;
use polars::prelude::*;

pub use crate::config::staging::{
    Clean, ColumnSource, FileSpec, FillDown, LookupSpec, RawFormat, Skip, SkipTest, Source, TimeForm, ValueMap, roots,
};
pub use crate::input::mapping::{ColumnReport, Counts, SourceReport};

use crate::config::TableConfig;
use crate::input::load::{LoadedTable, ReadOptions, TableLoader};
use crate::progress::Progress;
use crate::tables::{ColumnKind, TableKind};
use crate::workdir::WorkDir;

/// A lookup file in memory: key → the first non-empty value of each column.
struct LoadedLookup {
    spec: Arc<LookupSpec>,
    display: String,
    columns: HashMap<String, usize>,
    rows: HashMap<String, Vec<Option<String>>>,
}

/// The lookup files of one run, each read once however many tables look values up in it (Tmall's order report
/// feeds orders, cases and refunds); shared by the threads that load tables.
#[derive(Default)]
pub struct Lookups(std::sync::Mutex<HashMap<String, Arc<LoadedLookup>>>);

impl Lookups {
    fn get(&self, spec: &Arc<LookupSpec>) -> Result<Arc<LoadedLookup>> {
        // Held while a file is read: a second table asking for it waits instead of reading it again.
        let mut loaded = self
            .0
            .lock()
            .map_err(|_| anyhow::anyhow!("a thread loading lookups failed"))?;
        if let Some(l) = loaded.get(&spec.name) {
            return Ok(l.clone());
        }
        let l = Arc::new(load_lookup(spec)?);
        loaded.insert(spec.name.clone(), l.clone());
        Ok(l)
    }
}

fn load_lookup(spec: &Arc<LookupSpec>) -> Result<LoadedLookup> {
    let what = format!("[lookups.{}] (rows found by its column '{}')", spec.name, spec.key);
    let files = raw::files_of(&spec.file, &what)?;
    let mut columns: HashMap<String, usize> = HashMap::new();
    let mut rows: HashMap<String, Vec<Option<String>>> = HashMap::new();
    for path in &files {
        let mut names: Vec<String> = Vec::new();
        let mut on_header = |h: &[String]| -> Result<Vec<bool>> {
            if !h.iter().any(|n| *n == spec.key) {
                bail!(
                    "{what} {}: no column named '{}' to find rows by. Columns are {}",
                    path.display(),
                    spec.key,
                    h.join(", ")
                );
            }
            names = h.to_vec();
            for n in h {
                let next = columns.len();
                columns.entry(n.clone()).or_insert(next);
            }
            Ok(vec![true; h.len()])
        };
        let mut chunks = Vec::new();
        raw::read(path, &spec.file, &mut on_header, &mut |c| {
            chunks.push(c);
            Ok(())
        })?;
        for c in chunks {
            let cols: Vec<StringChunked> = names
                .iter()
                .map(|n| Ok(c.frame.column(n)?.str()?.clone()))
                .collect::<PolarsResult<_>>()?;
            let key_i = names.iter().position(|n| *n == spec.key).unwrap_or(0);
            for r in 0..c.frame.height() {
                let cell = |i: usize| cols[i].get(r).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
                let Some(key) = cell(key_i) else { continue };
                let width = columns.len();
                let entry = rows.entry(key).or_insert_with(|| vec![None; width]);
                entry.resize(width, None);
                for (i, n) in names.iter().enumerate() {
                    let at = columns[n];
                    if entry[at].is_none() {
                        entry[at] = cell(i);
                    }
                }
            }
        }
    }
    Ok(LoadedLookup {
        spec: spec.clone(),
        display: files
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        columns,
        rows,
    })
}

/// Loads a table: from its staging sources when the config gives any, else from its canonical files in
/// `data_dir` (`input::load_table_to`). `Ok(None)` when an optional table has no source.
pub fn load_table(
    data_dir: &std::path::Path,
    kind: TableKind,
    tc: &TableConfig,
    tz: Tz,
    progress: &Progress,
    work: Option<&WorkDir>,
    lookups: &Lookups,
) -> Result<Option<LoadedTable>> {
    if tc.sources.is_empty() {
        crate::input::load_table_to(data_dir, kind, tc, tz, progress, work)
    } else {
        load(kind, tc, tz, progress, work, lookups)
    }
}

/// Loads a table from its staging sources.
pub fn load(
    kind: TableKind,
    tc: &TableConfig,
    tz: Tz,
    progress: &Progress,
    work: Option<&WorkDir>,
    cache: &Lookups,
) -> Result<Option<LoadedTable>> {
    let mut loader = TableLoader::new(kind, TableConfig::default(), tz, progress, ReadOptions::default(), work);
    let mut reports = Vec::new();
    let mut lookups: HashMap<String, Arc<LoadedLookup>> = HashMap::new();
    for source in &tc.sources {
        for (_, c) in &source.columns {
            if let ColumnSource::Lookup { lookup, column, .. } = c {
                if !lookups.contains_key(&lookup.name) {
                    lookups.insert(lookup.name.clone(), cache.get(lookup)?);
                }
                let l = &lookups[&lookup.name];
                if !l.columns.contains_key(column) {
                    let mut cols: Vec<&String> = l.columns.keys().collect();
                    cols.sort();
                    bail!(
                        "{} ({}): no column named '{column}' for source '{}'. Columns are {}",
                        format_args!("[lookups.{}]", l.spec.name),
                        l.display,
                        source.name,
                        cols.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
                    );
                }
            }
        }
        let files = raw::files_of(&source.file, &format!("{} source '{}'", kind.name(), source.name))?;
        // Values of `repeated` skip columns read so far from this source, per rule.
        let mut seen: HashMap<String, HashSet<String>> = HashMap::new();
        let mut report = SourceReport {
            source: source.name.clone(),
            files: files.iter().map(|p| p.display().to_string()).collect(),
            columns: source
                .columns
                .iter()
                .map(|(c, s)| ColumnReport {
                    canonical: c.clone(),
                    from: s.describe(),
                    ..ColumnReport::default()
                })
                .collect(),
            ..SourceReport::default()
        };
        for path in &files {
            let display = path.display().to_string();
            progress.set_message(format!("reading {display}"));
            loader.begin_file(display.clone(), Some(TableConfig::default()));
            let mut stager = Stager {
                kind,
                source,
                tz,
                display: display.clone(),
                lookups: &lookups,
                raw_counts: HashMap::new(),
                seen: std::mem::take(&mut seen),
                above: None,
            };
            let canonical: Vec<String> = source.columns.iter().map(|(c, _)| c.clone()).collect();
            let state = std::cell::RefCell::new((&mut loader, &mut stager, &mut report));
            let mut on_header = |names: &[String]| -> Result<Vec<bool>> {
                let mut st = state.borrow_mut();
                st.1.check_header(names)?;
                st.0.header(&canonical)?;
                let used = st.1.used_columns();
                Ok(names.iter().map(|n| used.contains(n)).collect())
            };
            let mut on_chunk = |chunk: raw::RawChunk| -> Result<()> {
                let mut st = state.borrow_mut();
                let (l, s, r) = &mut *st;
                s.stage(chunk, l, r)
            };
            let structure = raw::read(path, &source.file, &mut on_header, &mut on_chunk)?;
            report.preamble_lines += structure.preamble;
            report.blank_lines += structure.blank;
            for (col, rep) in source.columns.iter().zip(report.columns.iter_mut()) {
                for input in col.1.inputs() {
                    if let Some(c) = stager.raw_counts.get(&input) {
                        rep.cleaned.add(c);
                    }
                }
            }
            seen = std::mem::take(&mut stager.seen);
            loader.flush()?;
            for (reason, n) in &loader.end_file().filtered {
                *report.filtered.entry(reason.clone()).or_default() += n;
            }
        }
        reports.push(report);
    }
    let mut table = loader.finish()?;
    table.staging = reports;
    Ok(Some(table))
}

/// Stages one file's chunks.
struct Stager<'a> {
    kind: TableKind,
    source: &'a Source,
    tz: Tz,
    display: String,
    lookups: &'a HashMap<String, Arc<LoadedLookup>>,
    /// Cleaning counts per export column over the file.
    raw_counts: HashMap<String, Counts>,
    /// Per `repeated` rule's column, the values already read (across the source's files).
    seen: HashMap<String, HashSet<String>>,
    /// The last row's `fill_down.by` value and filled cells, carried from one chunk to the next.
    above: Option<(Option<String>, Vec<Option<String>>)>,
}

impl Stager<'_> {
    /// Every export column the source reads must be in the file.
    fn check_header(&self, names: &[String]) -> Result<()> {
        let have: HashSet<&str> = names.iter().map(String::as_str).collect();
        let mut wanted: Vec<(String, String)> = Vec::new();
        for (canonical, c) in &self.source.columns {
            for i in c.inputs() {
                wanted.push((i, format!("columns.{canonical}")));
            }
        }
        for s in &self.source.skip {
            if let SkipTest::Sql { expr, .. } = &s.test {
                for i in roots(expr) {
                    wanted.push((i, format!("skip '{}'", s.reason)));
                }
            }
        }
        if let Some(f) = &self.source.fill_down {
            for c in std::iter::once(&f.by).chain(&f.columns) {
                wanted.push((c.clone(), "fill_down".to_string()));
            }
        }
        let missing: Vec<String> = wanted
            .iter()
            .filter(|(c, _)| !have.contains(c.as_str()))
            .map(|(c, at)| format!("'{c}' (for {at})"))
            .collect();
        if !missing.is_empty() {
            bail!(
                "{}: source '{}' of {} reads column{} {} that the file does not have. Its columns are {}",
                self.display,
                self.source.name,
                self.kind.name(),
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", "),
                names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
            );
        }
        Ok(())
    }

    fn used_columns(&self) -> Vec<String> {
        let mut used: Vec<String> = self.source.columns.iter().flat_map(|(_, c)| c.inputs()).collect();
        for s in &self.source.skip {
            if let SkipTest::Sql { expr, .. } = &s.test {
                used.extend(roots(expr));
            }
        }
        if let Some(f) = &self.source.fill_down {
            used.push(f.by.clone());
            used.extend(f.columns.iter().cloned());
        }
        used.sort();
        used.dedup();
        used
    }

    /// Empty cells take the value above within a run of rows with the same `by` value.
    fn fill_down(&mut self, frame: &mut DataFrame, f: &FillDown) -> Result<()> {
        let by = frame.column(&f.by)?.str()?.clone();
        let cols: Vec<StringChunked> = f
            .columns
            .iter()
            .map(|c| Ok(frame.column(c)?.str()?.clone()))
            .collect::<PolarsResult<_>>()?;
        let (mut last_key, mut last) = self.above.take().unwrap_or((None, vec![None; cols.len()]));
        let mut out: Vec<Vec<Option<String>>> = vec![Vec::with_capacity(frame.height()); cols.len()];
        for r in 0..frame.height() {
            let key = by.get(r).map(str::to_string);
            let same = key.is_some() && key == last_key;
            for (j, c) in cols.iter().enumerate() {
                let v = c.get(r).map(str::to_string);
                let v = if v.is_none() && same { last[j].clone() } else { v };
                last[j] = v.clone();
                out[j].push(v);
            }
            last_key = key;
        }
        for (name, v) in f.columns.iter().zip(out) {
            let ca: StringChunked = v.into_iter().collect::<StringChunked>().with_name(name.as_str().into());
            frame.with_column(ca.into_series().into_column())?;
        }
        self.above = Some((last_key, last));
        Ok(())
    }

    fn stage(&mut self, chunk: raw::RawChunk, loader: &mut TableLoader<'_>, report: &mut SourceReport) -> Result<()> {
        for d in chunk.damaged {
            loader.reject(d.row, "(row)", d.text, d.problem);
        }
        let raw::RawChunk {
            mut frame,
            mut rows,
            cleaned: chunk_cleaned,
            ..
        } = chunk;
        if frame.height() == 0 {
            return Ok(());
        }
        // 1. The reader cleaned the cells the source reads; its counts go to the file's.
        for (c, n) in frame.get_column_names().iter().zip(&chunk_cleaned) {
            self.raw_counts.entry(c.to_string()).or_default().add(n);
        }
        if let Some(f) = &self.source.fill_down {
            self.fill_down(&mut frame, f)?;
        }
        // 2. Skip rows on purpose, first matching rule wins.
        for skip in &self.source.skip {
            if frame.height() == 0 {
                break;
            }
            let SkipTest::Sql { text, expr } = &skip.test else {
                continue;
            };
            let (mask, failed) = eval_rows(&frame, expr)?;
            let mask = mask.cast(&DataType::Boolean).map_err(|_| {
                anyhow::anyhow!(
                    "{}: skip '{}' of source '{}': `{}` is not a condition (it gives {} values, not true/false)",
                    self.display,
                    skip.reason,
                    self.source.name,
                    text,
                    mask.dtype()
                )
            })?;
            let mask = mask.bool()?;
            let mut keep = vec![true; frame.height()];
            let mut n = 0;
            for (i, m) in mask.iter().enumerate() {
                if m == Some(true) {
                    keep[i] = false;
                    n += 1;
                }
            }
            for (i, e) in &failed {
                keep[*i] = false;
                loader.reject(
                    rows[*i],
                    &format!("(skip: {})", skip.reason),
                    inputs_shown(&frame, expr, *i),
                    format!("the condition `{text}` cannot be evaluated on this row: {e}"),
                );
            }
            loader.filtered(&skip.reason, n);
            if n > 0 || !failed.is_empty() {
                (frame, rows) = keep_rows(frame, rows, &keep)?;
            }
        }
        if frame.height() == 0 {
            return Ok(());
        }
        // 3. Each canonical column from its source.
        let schema = self.kind.schema();
        let height = frame.height();
        let mut bad: Vec<Option<(String, String, String)>> = vec![None; height];
        let mut out: Vec<Column> = Vec::with_capacity(self.source.columns.len());
        for ((canonical, src), rep) in self.source.columns.iter().zip(report.columns.iter_mut()) {
            let required = schema.column(canonical).is_some_and(|c| c.required);
            let mut s: Series = match src {
                ColumnSource::Column(c) => frame.column(c)?.as_materialized_series().clone(),
                ColumnSource::Value(v) => Series::new(canonical.as_str().into(), vec![v.as_str(); height]),
                ColumnSource::Sql { text, expr } => {
                    let (s, failed) = eval_rows(&frame, expr)?;
                    for (i, e) in failed {
                        bad[i].get_or_insert((
                            canonical.clone(),
                            inputs_shown(&frame, expr, i),
                            format!("the expression `{text}` fails on this row: {e}"),
                        ));
                    }
                    if required {
                        for (i, v) in s.iter().enumerate() {
                            if v.is_null() && bad[i].is_none() {
                                bad[i] = Some((
                                    canonical.clone(),
                                    inputs_shown(&frame, expr, i),
                                    format!(
                                        "the expression `{text}` gives no value for this row, and {canonical} is required"
                                    ),
                                ));
                            }
                        }
                    }
                    match s.dtype() {
                        DataType::Boolean => s.cast(&DataType::String)?,
                        _ => s,
                    }
                }
                ColumnSource::Lookup { lookup, key, column } => {
                    let l = &self.lookups[&lookup.name];
                    let at = l.columns[column];
                    let keys = frame.column(key)?.str()?.clone();
                    let vals: StringChunked = keys
                        .iter()
                        .enumerate()
                        .map(|(i, k)| {
                            let k = k.map(str::trim);
                            let v = k.and_then(|k| l.rows.get(k)).and_then(|r| r.get(at).cloned().flatten());
                            if v.is_none() && required && bad[i].is_none() {
                                bad[i] = Some((
                                    canonical.clone(),
                                    k.unwrap_or("").to_string(),
                                    match k {
                                        None => format!("'{key}' is empty, so no row of lookup {} can give {canonical}", lookup.name),
                                        Some(k) => format!(
                                            "no row of lookup {} ({}) has {} = '{k}' with a '{column}', and {canonical} is required",
                                            lookup.name, l.display, lookup.key
                                        ),
                                    },
                                ));
                            }
                            v
                        })
                        .collect();
                    vals.into_series()
                }
            };
            // Enum labels through the value map.
            if let Some(vm) = self.source.values.get(canonical) {
                let ca = s.cast(&DataType::String)?.str()?.clone();
                let mapped: StringChunked = ca
                    .iter()
                    .map(|v| {
                        v.map(|v| {
                            let t = v.trim();
                            if let Some(m) = vm.map.get(t).or_else(|| vm.map.get(&t.to_lowercase())) {
                                rep.mapped += 1;
                                return m.clone();
                            }
                            if let Some(o) = &vm.otherwise
                                && !is_canonical_value(schema.column(canonical).map(|c| &c.kind), t)
                            {
                                rep.mapped += 1;
                                rep.mapped_by_wildcard += 1;
                                return o.clone();
                            }
                            t.to_string()
                        })
                    })
                    .collect();
                s = mapped.into_series();
            }
            // Numbers that are times.
            if let Some(form) = self.source.time_forms.get(canonical) {
                let ca = s.cast(&DataType::String)?.str()?.clone();
                let mut utc: Vec<Option<i64>> = Vec::with_capacity(height);
                for (i, v) in ca.iter().enumerate() {
                    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
                        utc.push(None);
                        continue;
                    };
                    let t = match (form, v.parse::<f64>()) {
                        (_, Err(_)) => crate::time::parse_ts(v, self.tz),
                        (TimeForm::Epoch(unit), Ok(n)) => {
                            if n.fract() != 0.0 || n.abs() > 9e18 / *unit as f64 {
                                Err(format!("{v} is not a whole number of epoch units"))
                            } else {
                                Ok(n as i64 * unit)
                            }
                        }
                        (TimeForm::ExcelSerial, Ok(n)) => crate::time::excel_serial(n, self.tz),
                    };
                    match t {
                        Ok(t) => {
                            if v.parse::<f64>().is_ok() {
                                rep.times_converted += 1;
                            }
                            utc.push(Some(t));
                        }
                        Err(e) => {
                            bad[i].get_or_insert((canonical.clone(), v.to_string(), e));
                            utc.push(None);
                        }
                    }
                }
                s = Int64Chunked::from_iter_options(canonical.as_str().into(), utc.into_iter())
                    .into_series()
                    .cast(&crate::time::ts_dtype())?;
            }
            out.push(s.with_name(canonical.as_str().into()).into_column());
        }
        let mut canonical_frame = DataFrame::new(height, out)?;
        // Rows left out because a mapped column has no value (first matching rule wins; before any reject).
        let mut skipped = vec![false; height];
        for skip in &self.source.skip {
            let mut n = 0;
            match &skip.test {
                SkipTest::Sql { .. } => continue,
                SkipTest::Missing(col) => {
                    let c = canonical_frame.column(col)?;
                    for (i, s) in skipped.iter_mut().enumerate() {
                        if !*s && c.get(i).map(|v| v.is_null()).unwrap_or(false) {
                            *s = true;
                            n += 1;
                        }
                    }
                }
                SkipTest::Repeated(col) => {
                    let c = canonical_frame.column(col)?.cast(&DataType::String)?;
                    let c = c.str()?;
                    let seen = self.seen.entry(col.clone()).or_default();
                    for (i, s) in skipped.iter_mut().enumerate() {
                        if *s || bad[i].is_some() {
                            continue;
                        }
                        if let Some(v) = c.get(i)
                            && !seen.insert(v.trim().to_string())
                        {
                            *s = true;
                            n += 1;
                        }
                    }
                }
            }
            loader.filtered(&skip.reason, n);
        }
        for (b, s) in bad.iter_mut().zip(&skipped) {
            if *s {
                *b = None;
            }
        }
        if skipped.iter().any(|s| *s) || bad.iter().any(Option::is_some) {
            let mut keep: Vec<bool> = skipped.iter().map(|s| !s).collect();
            for (i, b) in bad.into_iter().enumerate() {
                if let Some((column, value, problem)) = b {
                    keep[i] = false;
                    loader.reject(rows[i], &column, value, problem);
                }
            }
            (canonical_frame, rows) = keep_rows(canonical_frame, rows, &keep)?;
        }
        loader.feed(&canonical_frame, &rows)
    }
}

fn is_canonical_value(kind: Option<&ColumnKind>, v: &str) -> bool {
    matches!(kind, Some(ColumnKind::Enum(allowed)) if allowed.contains(&v.to_lowercase().as_str()))
}

fn keep_rows(frame: DataFrame, rows: Vec<u64>, keep: &[bool]) -> Result<(DataFrame, Vec<u64>)> {
    let mask = BooleanChunked::from_slice("keep".into(), keep);
    let frame = frame.filter(&mask)?;
    let rows = rows
        .into_iter()
        .zip(keep)
        .filter(|(_, k)| **k)
        .map(|(r, _)| r)
        .collect();
    Ok((frame, rows))
}

/// An expression over the frame: its values, and the rows it fails on with why. A failure (a strict CAST of a bad
/// cell, say) is found row by row, so one bad cell costs its own row only.
fn eval_rows(frame: &DataFrame, expr: &Expr) -> Result<(Series, Vec<(usize, String)>)> {
    let height = frame.height();
    let run = |df: DataFrame| -> PolarsResult<Series> {
        let rows = df.height();
        let out = df.lazy().select([expr.clone().alias("_v")]).collect()?;
        let s = out.column("_v")?.as_materialized_series().clone();
        // A constant expression gives one value: the same for every row.
        Ok(if s.len() == 1 && rows != 1 {
            s.new_from_index(0, rows)
        } else {
            s
        })
    };
    match run(frame.clone()) {
        Ok(s) if s.len() == height => Ok((s, Vec::new())),
        Ok(s) => bail!(
            "the expression gives {} values for {height} rows: use a value per row, not an aggregate",
            s.len()
        ),
        Err(_) => {
            let mut parts: Vec<Series> = Vec::with_capacity(height);
            let mut failed = Vec::new();
            let mut dtype: Option<DataType> = None;
            for i in 0..height {
                match run(frame.slice(i as i64, 1)) {
                    Ok(s) => {
                        dtype.get_or_insert_with(|| s.dtype().clone());
                        parts.push(s);
                    }
                    Err(e) => {
                        failed.push((i, first_line(&e.to_string())));
                        parts.push(Series::full_null("_v".into(), 1, &DataType::Null));
                    }
                }
            }
            let dtype = dtype.unwrap_or(DataType::String);
            let mut all = Series::new_empty("_v".into(), &dtype);
            for p in parts {
                all.append(&p.cast(&dtype)?)?;
            }
            Ok((all, failed))
        }
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

/// The cells an expression reads on one row, for a reject's `value`: `价格='12.5', 购买数量='0'`.
fn inputs_shown(frame: &DataFrame, expr: &Expr, i: usize) -> String {
    roots(expr)
        .iter()
        .map(|c| {
            let v = frame
                .column(c)
                .ok()
                .and_then(|s| s.str().ok().and_then(|s| s.get(i).map(str::to_string)))
                .unwrap_or_default();
            format!("{c}='{v}'")
        })
        .collect::<Vec<_>>()
        .join(", ")
}
