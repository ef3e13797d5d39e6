//! User SQL over every table (SPEC §6, `queries/`): the input tables (orders, cases, shipments, refunds,
//! merchants, without lineage columns) and every output table are registered under their own names in polars' SQL
//! context. Each file opens with a header comment: `-- name:`, `-- question:`, `-- grain:`, `-- tables:`.
//! Files whose name starts with `check_` are data tests (dbt style): they return offending rows, zero rows = pass.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use polars::prelude::*;
use polars::sql::SQLContext;

use crate::engine::Run;

#[derive(Debug, Clone)]
pub struct QueryFile {
    pub path: PathBuf,
    /// File stem: the output is `queries/<name>.parquet`.
    pub name: String,
    pub sql: String,
    pub header: Vec<(String, String)>,
}

impl QueryFile {
    pub fn is_check(&self) -> bool {
        self.name.starts_with("check_")
    }

    pub fn read(path: &Path) -> Result<QueryFile> {
        let sql = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("query").to_string();
        let header = sql
            .lines()
            .take_while(|l| l.trim_start().starts_with("--") || l.trim().is_empty())
            .filter_map(|l| l.trim_start().trim_start_matches("--").trim().split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        Ok(QueryFile {
            path: path.to_path_buf(),
            name,
            sql,
            header,
        })
    }

    /// The header fields every shipped query must state.
    pub fn missing_header_fields(&self) -> Vec<&'static str> {
        ["name", "question", "grain", "tables"]
            .into_iter()
            .filter(|f| !self.header.iter().any(|(k, _)| k == f))
            .collect()
    }
}

/// The `.sql` files of a folder, by name; an absent folder has none.
pub fn discover(dir: &Path) -> Result<Vec<QueryFile>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("sql"))
        .collect();
    paths.sort();
    paths.iter().map(|p| QueryFile::read(p)).collect()
}

/// Every table a query can read, as lazy frames: the inputs are scans of the run's working copies, so a query
/// reads only the columns it names.
pub struct Catalog {
    tables: Vec<(String, LazyFrame)>,
    /// Said after the tables in an error (what this catalog leaves out, and where to find it).
    note: Option<String>,
}

impl Catalog {
    pub fn new(tables: Vec<(String, LazyFrame)>) -> Catalog {
        Catalog { tables, note: None }
    }

    pub fn with_note(mut self, note: &str) -> Catalog {
        self.note = Some(note.to_string());
        self
    }

    fn context(&self) -> SQLContext {
        let ctx = SQLContext::new();
        for (name, lf) in &self.tables {
            ctx.register(name, lf.clone());
        }
        ctx
    }

    /// "orders(order_id, line_no, …)" for every table: what an error message lists.
    pub fn describe(&self) -> String {
        self.tables
            .iter()
            .map(|(n, lf)| {
                let names = lf
                    .clone()
                    .collect_schema()
                    .map(|s| s.iter_names().map(|c| c.to_string()).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default();
                format!("  {n}({names})")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The query's answer, or polars' error as it is (see [`Catalog::run`] for the message users get).
    pub fn answer(&self, q: &QueryFile) -> PolarsResult<DataFrame> {
        self.context().execute(&q.sql).and_then(|lf| lf.run_streaming())
    }

    /// The query's answer, or an error naming the file, the line and the tables and columns there are.
    pub fn run(&self, q: &QueryFile) -> Result<DataFrame> {
        match self.answer(q) {
            Ok(df) => Ok(df),
            Err(e) => {
                let msg = e.to_string();
                let line = line_hint(&msg, &q.sql);
                bail!(
                    "{}{}: the query failed: {}\nTables and columns you can use:\n{}{}",
                    q.path.display(),
                    line.map(|l| format!(" line {l}")).unwrap_or_default(),
                    msg.lines().next().unwrap_or(&msg),
                    self.describe(),
                    self.note.as_ref().map(|n| format!("\n({n})")).unwrap_or_default()
                )
            }
        }
    }
}

/// The line of the SQL the error points at: polars' parser reports "Line: N"; for unknown names, the first line
/// that mentions the quoted name.
fn line_hint(msg: &str, sql: &str) -> Option<usize> {
    if let Some(i) = msg.find("Line: ") {
        let n: String = msg[i + 6..].chars().take_while(char::is_ascii_digit).collect();
        if let Ok(n) = n.parse() {
            return Some(n);
        }
    }
    let quoted = msg.split(['\'', '"', '`']).nth(1)?;
    if quoted.is_empty() {
        return None;
    }
    sql.lines().position(|l| l.contains(quoted)).map(|i| i + 1)
}
