//! The staging part of the config: `[[tables.<table>.sources]]` and `[lookups.<name>]` as written (`Raw*`, serde,
//! unknown keys refused), checked into typed values (`Source`, `LookupSpec`, …) with every problem collected. The
//! `staging` module reads exports by them.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use polars::prelude::Expr;
use serde::Deserialize;
use std::path::PathBuf;

use super::Encoding;
use crate::tables::{ColumnKind, TableKind};

/// How a file is read: shared by sources and lookups.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFileSpec {
    /// A file or a folder of parts; relative paths are taken from the config file's folder.
    pub path: String,
    /// csv, xlsx or parquet; by default from the file name's extension.
    pub format: Option<String>,
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    pub quoting: Option<bool>,
    /// The line (a spreadsheet's row) that holds the column names: lines before it are a preamble.
    pub header_line: Option<u64>,
    /// The worksheet of an xlsx file; the first one by default.
    pub sheet: Option<String>,
    /// Cell cleaning rules: excel_guard, trim, numbers, fullwidth (see `staging::clean`).
    #[serde(default)]
    pub clean: Vec<String>,
    /// Cell texts that mean "no value" in this export (e.g. "无退款申请", "--").
    #[serde(default)]
    pub null_values: Vec<String>,
}

/// One export feeding a canonical table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    /// Shown in messages and in `validate`; by default the path.
    pub name: Option<String>,
    #[serde(flatten)]
    pub file: RawFileSpec,
    /// Canonical column → where its value comes from.
    #[serde(default)]
    pub columns: BTreeMap<String, RawColumnSource>,
    /// Canonical enum column → (export label → canonical value); the label "*" maps every other non-empty label.
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    /// Canonical timestamp column → the form of its numbers: s, ms, us (epoch, UTC) or excel (serial days, local).
    #[serde(default)]
    pub time_format: BTreeMap<String, String>,
    /// Rows the config leaves out on purpose, each with its reason (counted as filtered).
    #[serde(default)]
    pub skip: Vec<RawSkip>,
    /// Exports that write an order's fields on its first line only (Shopify): empty cells of these columns take
    /// the value of the row above while the `by` column stays the same.
    pub fill_down: Option<RawFillDown>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFillDown {
    pub by: String,
    pub columns: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawColumnSource {
    /// The export column of that name.
    Column(String),
    Spec(RawColumnSpec),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawColumnSpec {
    /// An export column (same as the plain string form).
    pub column: Option<String>,
    /// A SQL expression over the export's columns (after cleaning), e.g. `TRY_CAST("total" AS DOUBLE) * -1`.
    pub sql: Option<String>,
    /// The same text on every row of this source (a shop's file carries its merchant).
    pub value: Option<String>,
    /// A `[lookups.<name>]` table: the value of `lookup_column` (default: this canonical column's name) on the row
    /// whose key equals this row's `key` column.
    pub lookup: Option<String>,
    pub key: Option<String>,
    pub lookup_column: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSkip {
    /// Why these rows are left out, e.g. "unpaid" (run.json counts filtered rows per reason).
    pub reason: String,
    /// A SQL condition over the export's columns; rows where it is true are left out (false or null: kept).
    pub when: Option<String>,
    /// Or: a canonical column; rows where it has no value once mapped are left out (an order line whose payment
    /// time, looked up in the order report, is empty was never paid).
    pub missing: Option<String>,
    /// Or: a canonical column; a row whose value there was already read from this source is left out (the
    /// second and later items of one parcel in a report written one row per item).
    pub repeated: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLookup {
    #[serde(flatten)]
    pub file: RawFileSpec,
    /// The lookup file's column that rows are found by.
    pub key: String,
}

/// Context for messages and paths.
pub struct Ctx<'a> {
    pub base: &'a Path,
    pub problems: &'a mut Vec<String>,
}

pub fn check_encoding(e: Option<&str>, at: &str, problems: &mut Vec<String>) -> Encoding {
    match e.map(|e| e.trim().to_ascii_lowercase()) {
        None => Encoding::Utf8,
        Some(e) if e == "utf-8" || e == "utf8" => Encoding::Utf8,
        Some(e) if e == "gbk" || e == "gb2312" || e == "gb18030" => Encoding::Gbk,
        Some(e) if e == "windows-1252" || e == "cp1252" || e == "latin1" || e == "iso-8859-1" => Encoding::Windows1252,
        Some(e) => {
            problems.push(format!(
                "{at} encoding = '{e}': expected one of utf-8, gbk (also gb18030), windows-1252"
            ));
            Encoding::Utf8
        }
    }
}

pub fn check_delimiter(d: Option<&str>, at: &str, problems: &mut Vec<String>) -> u8 {
    match d {
        None => b',',
        Some("\\t") | Some("tab") | Some("\t") => b'\t',
        Some(d) if d.len() == 1 && d.is_ascii() => d.as_bytes()[0],
        Some(d) => {
            problems.push(format!(
                "{at} delimiter = '{d}': expected one ASCII character such as ',', ';', '|' or \"tab\""
            ));
            b','
        }
    }
}

fn check_file(raw: &RawFileSpec, at: &str, cx: &mut Ctx<'_>) -> FileSpec {
    let format = match raw.format.as_deref().map(|f| f.trim().to_ascii_lowercase()) {
        None => None,
        Some(f) if f == "csv" || f == "tsv" || f == "txt" => Some(RawFormat::Csv),
        Some(f) if f == "xlsx" || f == "excel" => Some(RawFormat::Xlsx),
        Some(f) if f == "parquet" => Some(RawFormat::Parquet),
        Some(f) => {
            cx.problems
                .push(format!("{at} format = '{f}': expected one of csv, xlsx, parquet"));
            None
        }
    };
    let mut clean = Clean::default();
    for rule in &raw.clean {
        match rule.trim() {
            "excel_guard" => clean.excel_guard = true,
            "trim" => clean.trim = true,
            "numbers" => clean.numbers = true,
            "fullwidth" => clean.fullwidth = true,
            other => cx.problems.push(format!(
                "{at} clean: '{other}' is not a cleaning rule; expected any of excel_guard (=\"…\" and a leading '), trim (spaces and tabs around a cell), numbers (thousands separators and currency marks in numbers), fullwidth (full-width digits and letters)"
            )),
        }
    }
    let header_line = raw.header_line.unwrap_or(1);
    if header_line == 0 {
        cx.problems
            .push(format!("{at} header_line = 0: lines are numbered from 1"));
    }
    FileSpec {
        path: cx.base.join(&raw.path),
        format,
        encoding: check_encoding(raw.encoding.as_deref(), at, cx.problems),
        delimiter: check_delimiter(raw.delimiter.as_deref(), at, cx.problems),
        quoting: raw.quoting.unwrap_or(true),
        header_line: header_line.max(1),
        sheet: raw.sheet.clone(),
        clean,
        null_values: raw.null_values.iter().map(|s| s.trim().to_string()).collect(),
    }
}

fn sql(text: &str, at: &str, problems: &mut Vec<String>) -> Option<Expr> {
    match polars::sql::sql_expr(text) {
        Ok(e) => Some(e),
        Err(e) => {
            problems.push(format!("{at}: the SQL expression `{text}` cannot be read: {e}"));
            None
        }
    }
}

pub fn check_lookups(raw: &BTreeMap<String, RawLookup>, cx: &mut Ctx<'_>) -> HashMap<String, Arc<LookupSpec>> {
    raw.iter()
        .map(|(name, l)| {
            let at = format!("[lookups.{name}]");
            let file = check_file(&l.file, &at, cx);
            (
                name.clone(),
                Arc::new(LookupSpec {
                    name: name.clone(),
                    file,
                    key: l.key.trim().to_string(),
                }),
            )
        })
        .collect()
}

pub fn check_sources(
    kind: TableKind,
    raw: &[RawSource],
    lookups: &HashMap<String, Arc<LookupSpec>>,
    cx: &mut Ctx<'_>,
) -> Vec<Arc<Source>> {
    let table = kind.name();
    let schema = kind.schema();
    let valid_cols = || schema.columns.iter().map(|c| c.name).collect::<Vec<_>>().join(", ");
    let mut out = Vec::new();
    for (i, rs) in raw.iter().enumerate() {
        let name = rs.name.clone().unwrap_or_else(|| rs.file.path.clone());
        let at = format!("[[tables.{table}.sources]] #{} ({name})", i + 1);
        let file = check_file(&rs.file, &at, cx);
        let mut columns = Vec::new();
        for (canonical, spec) in &rs.columns {
            if schema.column(canonical).is_none() {
                cx.problems.push(format!(
                    "{at} columns: no column named '{canonical}' in {table}. Valid columns are {}",
                    valid_cols()
                ));
                continue;
            }
            let source = match spec {
                RawColumnSource::Column(c) => Some(ColumnSource::Column(c.trim().to_string())),
                RawColumnSource::Spec(s) => {
                    let given = [
                        s.column.is_some(),
                        s.sql.is_some(),
                        s.value.is_some(),
                        s.lookup.is_some(),
                    ]
                    .iter()
                    .filter(|b| **b)
                    .count();
                    if given != 1 {
                        cx.problems.push(format!(
                            "{at} columns.{canonical}: give exactly one of column, sql, value or lookup"
                        ));
                        None
                    } else if let Some(c) = &s.column {
                        Some(ColumnSource::Column(c.trim().to_string()))
                    } else if let Some(text) = &s.sql {
                        sql(text, &format!("{at} columns.{canonical}"), cx.problems).map(|expr| ColumnSource::Sql {
                            text: text.clone(),
                            expr,
                        })
                    } else if let Some(v) = &s.value {
                        Some(ColumnSource::Value(v.clone()))
                    } else {
                        let lname = s.lookup.clone().unwrap_or_default();
                        match (lookups.get(&lname), &s.key) {
                            (None, _) => {
                                cx.problems.push(format!(
                                    "{at} columns.{canonical}: no [lookups.{lname}] in the config{}",
                                    if lookups.is_empty() {
                                        String::new()
                                    } else {
                                        format!(
                                            "; lookups are {}",
                                            lookups.keys().cloned().collect::<Vec<_>>().join(", ")
                                        )
                                    }
                                ));
                                None
                            }
                            (Some(_), None) => {
                                cx.problems.push(format!(
                                    "{at} columns.{canonical}: a lookup needs key = \"<this export's column>\""
                                ));
                                None
                            }
                            (Some(l), Some(key)) => Some(ColumnSource::Lookup {
                                lookup: l.clone(),
                                key: key.trim().to_string(),
                                column: s.lookup_column.clone().unwrap_or_else(|| canonical.clone()),
                            }),
                        }
                    }
                }
            };
            if let Some(source) = source {
                columns.push((canonical.clone(), source));
            }
        }
        let missing: Vec<&str> = schema
            .columns
            .iter()
            .filter(|c| c.required && !rs.columns.contains_key(c.name))
            .filter(|c| !(kind == TableKind::Cases && c.name == "quantity"))
            .map(|c| c.name)
            .collect();
        if !missing.is_empty() {
            cx.problems.push(format!(
                "{at}: no source for required column{} {} of {table}; give each one under columns (an export column, sql, value or lookup)",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", ")
            ));
        }
        let mut values = HashMap::new();
        for (col, map) in &rs.values {
            match schema.column(col).map(|c| &c.kind) {
                Some(ColumnKind::Enum(allowed)) => {
                    let mut vm = ValueMap::default();
                    for (label, value) in map {
                        let v = value.trim().to_lowercase();
                        if !allowed.contains(&v.as_str()) {
                            cx.problems.push(format!(
                                "{at} values.{col}: '{label}' = '{value}': not a {col} value; expected one of {}",
                                allowed.join(", ")
                            ));
                        }
                        if label == "*" {
                            vm.otherwise = Some(v);
                        } else {
                            vm.map.insert(label.trim().to_string(), v);
                        }
                    }
                    values.insert(col.clone(), vm);
                }
                Some(_) => cx.problems.push(format!(
                    "{at} values.{col}: {col} is not an enum column, so it has no values to map"
                )),
                None => cx.problems.push(format!(
                    "{at} values.{col}: no column named '{col}' in {table}. Valid columns are {}",
                    valid_cols()
                )),
            }
        }
        let mut time_forms = HashMap::new();
        for (col, form) in &rs.time_format {
            let f = match form.trim() {
                "s" => Some(TimeForm::Epoch(1_000_000)),
                "ms" => Some(TimeForm::Epoch(1_000)),
                "us" | "µs" => Some(TimeForm::Epoch(1)),
                "excel" => Some(TimeForm::ExcelSerial),
                _ => None,
            };
            match (schema.column(col).map(|c| &c.kind), f) {
                (Some(ColumnKind::Ts), Some(f)) => {
                    time_forms.insert(col.clone(), f);
                }
                (Some(ColumnKind::Ts), None) => cx.problems.push(format!(
                    "{at} time_format.{col} = '{form}': expected one of s, ms, us (epoch times, UTC) or excel (serial day numbers, local time)"
                )),
                _ => cx.problems.push(format!(
                    "{at} time_format.{col}: not a timestamp column of {table}. Timestamp columns are {}",
                    schema.ts_columns().collect::<Vec<_>>().join(", ")
                )),
            }
        }
        let mut skip = Vec::new();
        for (j, s) in rs.skip.iter().enumerate() {
            if s.reason.trim().is_empty() {
                cx.problems
                    .push(format!("{at} skip #{}: give a reason (counted in run.json)", j + 1));
            }
            let reason = s.reason.trim().to_string();
            match (&s.when, &s.missing.as_ref().or(s.repeated.as_ref())) {
                (Some(when), None) => {
                    if let Some(expr) = sql(when, &format!("{at} skip '{reason}'"), cx.problems) {
                        skip.push(Skip {
                            reason,
                            test: SkipTest::Sql { text: when.clone(), expr },
                        });
                    }
                }
                (None, Some(col)) if rs.columns.contains_key(*col) && !(s.missing.is_some() && s.repeated.is_some()) => {
                    skip.push(Skip {
                        reason,
                        test: if s.missing.is_some() {
                            SkipTest::Missing((*col).clone())
                        } else {
                            SkipTest::Repeated((*col).clone())
                        },
                    })
                }
                (None, Some(col)) if !rs.columns.contains_key(*col) => cx.problems.push(format!(
                    "{at} skip '{reason}': '{col}' is not a column this source maps; it maps {}",
                    rs.columns.keys().cloned().collect::<Vec<_>>().join(", ")
                )),
                _ => cx.problems.push(format!(
                    "{at} skip '{reason}': give exactly one of when = \"<SQL condition>\", missing = \"<canonical column>\" or repeated = \"<canonical column>\""
                )),
            }
        }
        let fill_down = rs.fill_down.as_ref().map(|f| FillDown {
            by: f.by.trim().to_string(),
            columns: f.columns.iter().map(|c| c.trim().to_string()).collect(),
        });
        out.push(Arc::new(Source {
            name,
            file,
            columns,
            values,
            time_forms,
            skip,
            fill_down,
        }));
    }
    out
}

/// The rules a source asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clean {
    /// `="3412…"` (Excel's guard against long numbers turning into 3.41E+18) and a leading `'`.
    pub excel_guard: bool,
    /// Spaces, tabs and non-breaking spaces around a cell (Tmall's refund export ends ids with a tab).
    pub trim: bool,
    /// Thousands separators and currency marks in numbers: `¥1,099.00`, `1,099.00元`, `$12.50`, `RMB 5`.
    pub numbers: bool,
    /// Full-width digits, letters and punctuation (`１２３`, `ＡＢＣ`) as their ASCII forms.
    pub fullwidth: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawFormat {
    Csv,
    Xlsx,
    Parquet,
}

/// How a file is read (sources and lookups alike).
#[derive(Debug, Clone)]
pub struct FileSpec {
    pub path: PathBuf,
    pub format: Option<RawFormat>,
    pub encoding: Encoding,
    pub delimiter: u8,
    pub quoting: bool,
    /// The physical line (spreadsheet row) of the header.
    pub header_line: u64,
    pub sheet: Option<String>,
    pub clean: Clean,
    pub null_values: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum ColumnSource {
    Column(String),
    Sql {
        text: String,
        expr: Expr,
    },
    Value(String),
    Lookup {
        lookup: Arc<LookupSpec>,
        /// This source's column holding the key.
        key: String,
        /// The lookup file's column giving the value.
        column: String,
    },
}

impl ColumnSource {
    /// Where the value comes from, as `validate` shows it.
    pub fn describe(&self) -> String {
        match self {
            ColumnSource::Column(c) => format!("column '{c}'"),
            ColumnSource::Sql { text, .. } => format!("sql `{text}`"),
            ColumnSource::Value(v) => format!("value '{v}'"),
            ColumnSource::Lookup { lookup, key, column } => {
                format!("lookup {}.'{column}' by '{key}'", lookup.name)
            }
        }
    }
    /// The export columns it reads.
    pub fn inputs(&self) -> Vec<String> {
        match self {
            ColumnSource::Column(c) => vec![c.clone()],
            ColumnSource::Sql { expr, .. } => roots(expr),
            ColumnSource::Value(_) => Vec::new(),
            ColumnSource::Lookup { key, .. } => vec![key.clone()],
        }
    }
}

/// The export columns an expression reads.
pub fn roots(e: &Expr) -> Vec<String> {
    let mut r: Vec<String> = e.clone().meta().root_names().iter().map(|n| n.to_string()).collect();
    r.sort();
    r.dedup();
    r
}

#[derive(Debug, Clone, Default)]
pub struct ValueMap {
    pub map: HashMap<String, String>,
    /// The value of every other non-empty label (`"*"`).
    pub otherwise: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeForm {
    /// Integers of this many microseconds since 1970-01-01 UTC.
    Epoch(i64),
    /// Excel serial days (1900 date system), local wall time.
    ExcelSerial,
}

#[derive(Debug, Clone)]
pub struct Skip {
    pub reason: String,
    pub test: SkipTest,
}

#[derive(Debug, Clone)]
pub enum SkipTest {
    /// A condition over the export's columns, before mapping.
    Sql { text: String, expr: Expr },
    /// A canonical column without a value, after mapping.
    Missing(String),
    /// A canonical column whose value an earlier row of the source had, after mapping.
    Repeated(String),
}

#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub file: FileSpec,
    /// Canonical column → where it comes from, in canonical name order.
    pub columns: Vec<(String, ColumnSource)>,
    pub values: HashMap<String, ValueMap>,
    pub time_forms: HashMap<String, TimeForm>,
    pub skip: Vec<Skip>,
    pub fill_down: Option<FillDown>,
}

/// Empty cells of `columns` take the value above while `by` stays the same (an order's fields written on its
/// first line only).
#[derive(Debug, Clone)]
pub struct FillDown {
    pub by: String,
    pub columns: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct LookupSpec {
    pub name: String,
    pub file: FileSpec,
    pub key: String,
}
