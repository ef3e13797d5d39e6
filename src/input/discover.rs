//! Where a table's rows live: `<table>.csv`, `<table>.csv.gz`, `<table>.parquet`, a folder `<table>/` of such
//! parts, or the path the config gives.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::config::TableConfig;
use crate::tables::TableKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    Csv,
    CsvGz,
    Parquet,
}

#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub format: SourceFormat,
}

impl SourceFile {
    /// The name shown in messages and in `source_file` columns.
    pub fn display(&self) -> String {
        self.path.display().to_string()
    }
}

pub fn format_of(path: &Path) -> Option<SourceFormat> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    if name.ends_with(".csv.gz") {
        Some(SourceFormat::CsvGz)
    } else if name.ends_with(".csv") || name.ends_with(".tsv") || name.ends_with(".txt") {
        Some(SourceFormat::Csv)
    } else if name.ends_with(".parquet") || name.ends_with(".pq") {
        Some(SourceFormat::Parquet)
    } else {
        None
    }
}

fn parts_of(dir: &Path) -> Result<Vec<SourceFile>> {
    let mut parts = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| anyhow::anyhow!("cannot list folder {}: {e}", dir.display()))? {
        let path = entry?.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.') || n.starts_with('_'));
        if hidden || !path.is_file() {
            continue;
        }
        if let Some(format) = format_of(&path) {
            parts.push(SourceFile { path, format });
        }
    }
    // File order defines row order (and so line numbers when line_no is absent): sort by name.
    parts.sort_by(|a, b| a.path.cmp(&b.path));
    if parts.is_empty() {
        bail!("folder {} holds no .csv, .csv.gz or .parquet files", dir.display());
    }
    Ok(parts)
}

/// The files of one table. An absent optional table gives an empty list; an absent required one is an error
/// that says where we looked.
pub fn discover(data_dir: &Path, table: TableKind, tc: &TableConfig) -> Result<Vec<SourceFile>> {
    if let Some(p) = &tc.path {
        if p.is_dir() {
            return parts_of(p);
        }
        if !p.exists() {
            bail!(
                "{}: the config points this table at {}, which does not exist",
                table.name(),
                p.display()
            );
        }
        let Some(format) = format_of(p) else {
            bail!(
                "{}: {} is not a .csv, .csv.gz or .parquet file",
                table.name(),
                p.display()
            );
        };
        return Ok(vec![SourceFile {
            path: p.clone(),
            format,
        }]);
    }
    let name = table.name();
    let candidates = [
        (data_dir.join(format!("{name}.csv")), SourceFormat::Csv),
        (data_dir.join(format!("{name}.csv.gz")), SourceFormat::CsvGz),
        (data_dir.join(format!("{name}.parquet")), SourceFormat::Parquet),
    ];
    let found: Vec<SourceFile> = candidates
        .iter()
        .filter(|(p, _)| p.is_file())
        .map(|(p, f)| SourceFile {
            path: p.clone(),
            format: *f,
        })
        .collect();
    let folder = data_dir.join(name);
    let has_folder = folder.is_dir();
    if found.len() + has_folder as usize > 1 {
        let mut names: Vec<String> = found.iter().map(SourceFile::display).collect();
        if has_folder {
            names.push(format!("{}/", folder.display()));
        }
        bail!(
            "{name}: found more than one source ({}); keep one, or choose with [tables.{name}] path = …",
            names.join(", ")
        );
    }
    if has_folder {
        return parts_of(&folder);
    }
    if found.is_empty() && table.required() {
        if !data_dir.is_dir() {
            bail!("data folder {} does not exist", data_dir.display());
        }
        bail!(
            "{name}: no input found in {}: expected {name}.csv, {name}.csv.gz, {name}.parquet or a folder {name}/ (or set [tables.{name}] path in the config)",
            data_dir.display()
        );
    }
    Ok(found)
}
