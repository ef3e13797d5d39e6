//! Files that `aftersales convert` wrote and nobody changed since: read as they are, without the row checks and
//! without a working copy.
//!
//! `convert` checks every row, drops rejected rows and duplicate keys, and writes each table as one Parquet file in
//! the canonical columns and types. It records each file's size and BLAKE3 digest in `converted.json` beside them.
//! A later run that finds a table as exactly that one file, byte for byte, knows every row would pass the checks
//! again (they depend on the schema, not on the config: the config's renames, value maps and time zone were
//! applied by `convert`), so it scans the file directly — no second parse, no second copy on disk. Anything else
//! (a file edited or rewritten by another tool, a table split into parts, a manifest of another format) is loaded
//! and checked as usual; the digest costs one read of the file.
//!
//! The data-quality findings (`checks`) are kept the same way: they depend on the accepted rows, the time zone
//! (timestamps in messages) and a hand-set as_of, nothing else. When every table of a run is a trusted file of one
//! manifest, and the manifest's `data_quality.parquet` is unchanged and was made with the run's zone and as_of, the
//! run reads those findings instead of joining every table again. They name the rows of the original exports
//! (`cases.csv` row 17), which is where a user fixes them; run.json says where they came from.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono_tz::Tz;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::discover::{SourceFile, SourceFormat};
use super::fast::canonical_dtype;
use crate::tables::TableKind;
use crate::time::Micros;

/// The manifest's name in a converted folder.
pub const MANIFEST: &str = "converted.json";
/// Raised whenever what `convert` writes or what a trusted file must hold changes, so older manifests are
/// ignored rather than trusted. 3: unit prices to 4 places, row numbers as lines, the order-line checks.
const FORMAT: u32 = 3;
/// The findings' file in a converted folder (written by `pipeline::write_checks`).
pub const DATA_QUALITY: &str = "data_quality.parquet";

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    /// Table name → its file.
    pub tables: BTreeMap<String, Entry>,
    /// The data-quality findings over exactly these tables.
    pub data_quality: Checks,
}

/// What the findings in `data_quality.parquet` were made with.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Checks {
    pub file: Entry,
    /// The zone the findings' timestamps are shown in.
    pub timezone: String,
    /// The as_of set by hand (µs since the epoch), which adds the `after_as_of` check; null when as_of was the
    /// latest timestamp in the inputs (then that check does not run).
    pub explicit_as_of: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// File name inside the converted folder.
    pub file: String,
    pub rows: u64,
    pub bytes: u64,
    pub blake3: String,
}

/// Size and BLAKE3 digest (hex) of a file.
pub fn fingerprint(path: &Path) -> Result<(u64, String)> {
    let mut f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((bytes, hasher.finalize().to_hex().to_string()))
}

fn entry(dir: &Path, file: &str, rows: u64) -> Result<Entry> {
    let (bytes, blake3) = fingerprint(&dir.join(file))?;
    Ok(Entry {
        file: file.to_string(),
        rows,
        bytes,
        blake3,
    })
}

/// The manifest for the tables written into `dir` (name → (file name, rows)) and the findings over them, already
/// written to `dir`/[`DATA_QUALITY`].
pub fn manifest_for(
    dir: &Path,
    tables: &[(TableKind, String, u64)],
    findings: u64,
    tz: Tz,
    explicit_as_of: Option<Micros>,
) -> Result<Manifest> {
    let mut entries = BTreeMap::new();
    for (kind, file, rows) in tables {
        entries.insert(kind.name().to_string(), entry(dir, file, *rows)?);
    }
    Ok(Manifest {
        format: FORMAT,
        tables: entries,
        data_quality: Checks {
            file: entry(dir, DATA_QUALITY, findings)?,
            timezone: tz.name().to_string(),
            explicit_as_of,
        },
    })
}

fn read_manifest(dir: &Path) -> Option<Manifest> {
    let text = std::fs::read_to_string(dir.join(MANIFEST)).ok()?;
    let manifest: Manifest = serde_json::from_str(&text).ok()?;
    (manifest.format == FORMAT).then_some(manifest)
}

fn unchanged(path: &Path, entry: &Entry) -> bool {
    // The size first: a changed file is usually caught without reading it.
    std::fs::metadata(path).is_ok_and(|m| m.len() == entry.bytes)
        && fingerprint(path).is_ok_and(|(_, digest)| digest == entry.blake3)
}

/// The findings `convert` wrote, when they are exactly what this run's checks would find: every table of the run
/// (`tables`: name → the trusted file it was read from, None when it was checked) is a trusted file of one
/// manifest that lists no other table, its `data_quality.parquet` is unchanged, and it was made with this zone
/// and this hand-set as_of. None otherwise (the run checks itself).
pub fn trusted_findings(
    tables: &BTreeMap<&str, Option<&Path>>,
    tz: Tz,
    explicit_as_of: Option<Micros>,
) -> Option<PathBuf> {
    let mut dirs = tables.values().map(|p| p.and_then(Path::parent));
    let dir = dirs.next()??;
    if !dirs.all(|d| d == Some(dir)) {
        return None;
    }
    let manifest = read_manifest(dir)?;
    let same_tables = manifest.tables.len() == tables.len()
        && tables.iter().all(|(name, path)| {
            manifest.tables.get(*name).is_some_and(|e| {
                path.and_then(Path::file_name)
                    .is_some_and(|f| f.to_str() == Some(e.file.as_str()))
            })
        });
    let dq = &manifest.data_quality;
    let path = dir.join(&dq.file.file);
    (same_tables
        && dq.timezone == tz.name()
        && dq.explicit_as_of == explicit_as_of
        && dq.file.file == DATA_QUALITY
        && unchanged(&path, &dq.file))
    .then_some(path)
}

/// The number of rows when `files` is exactly the one file `convert` wrote for this table, unchanged since, with
/// the canonical columns; None otherwise (then the table is loaded and checked as usual). Never an error: a
/// manifest that cannot be read only means the files are checked.
pub fn trusted_rows(kind: TableKind, files: &[SourceFile]) -> Option<u64> {
    let [file] = files else { return None };
    if file.format != SourceFormat::Parquet {
        return None;
    }
    let manifest = read_manifest(file.path.parent()?)?;
    let entry = manifest.tables.get(kind.name())?;
    if file.path.file_name()?.to_str()? != entry.file || !unchanged(&file.path, entry) {
        return None;
    }
    let f = std::fs::File::open(&file.path).ok()?;
    let mut reader = ParquetReader::new(f);
    let schema = reader.schema().ok()?;
    let expected = kind.schema().columns.iter().map(|c| (c.name, canonical_dtype(&c.kind)));
    let same = schema.len() == kind.schema().columns.len()
        && schema
            .iter()
            .zip(expected)
            .all(|((name, field), (want, dtype))| name.as_str() == want && DataType::from_arrow_field(field) == dtype);
    let rows = reader.num_rows().ok()? as u64;
    (same && rows == entry.rows).then_some(rows)
}
