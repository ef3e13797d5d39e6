//! One table loaded from arbitrary bytes, with the accounting of SPEC §2 checked: the property the fuzz target
//! (`fuzz/fuzz_targets/load_table.rs`) searches for a counter-example to, and that `tests/fuzz_corpus.rs` replays
//! over the kept corpus in every `cargo test`.
//!
//! The first byte of the input chooses the table and the reading options; the rest is the file. Whatever the bytes,
//! loading must not panic, and when it does not refuse the file:
//! - every physical line of the file is the header, part of a record, a damaged line or a blank line;
//! - rows read = rows accepted + rows rejected, one reject row per rejected row;
//! - every reject names a line that exists in the file.

use std::io::Write as _;

use anyhow::Result;

use super::csv_lines::{CsvLines, CsvOptions, Item};
use super::discover::{SourceFile, SourceFormat};
use super::load::load_files;
use crate::config::{Encoding, TableConfig};
use crate::progress::Progress;
use crate::tables::TableKind;

/// What one input means: the table, the options, and the file's bytes.
pub struct Case<'a> {
    pub kind: TableKind,
    pub tc: TableConfig,
    pub bytes: &'a [u8],
}

impl<'a> Case<'a> {
    pub fn from_bytes(data: &'a [u8]) -> Option<Case<'a>> {
        let (&sel, bytes) = data.split_first()?;
        let kind = TableKind::ALL[(sel & 0x07) as usize % TableKind::ALL.len()];
        let tc = TableConfig {
            encoding: if sel & 0x08 != 0 { Encoding::Gbk } else { Encoding::Utf8 },
            delimiter: match (sel >> 4) & 0x03 {
                0 | 1 => b',',
                2 => b'\t',
                _ => b';',
            },
            quoting: sel & 0x40 == 0,
            ..TableConfig::default()
        };
        Some(Case { kind, tc, bytes })
    }
}

/// Physical lines in a file's bytes: line breaks, plus a last line without one.
pub fn physical_lines(bytes: &[u8]) -> u64 {
    let breaks = bytes.iter().filter(|b| **b == b'\n').count() as u64;
    breaks + u64::from(!bytes.is_empty() && bytes.last() != Some(&b'\n'))
}

/// Loads the case's file and panics if any accounting rule above is broken. `Ok(false)`: the file was refused.
pub fn check(case: &Case<'_>, dir: &std::path::Path) -> Result<bool> {
    let lines = physical_lines(case.bytes);

    // The line reader alone: every line lands in exactly one place.
    let opts = CsvOptions {
        delimiter: case.tc.delimiter,
        quoting: case.tc.quoting,
        encoding: case.tc.encoding,
    };
    let mut r = CsvLines::new(case.bytes, opts);
    // A file whose header is missing or damaged is refused whole: no line of it is read as a row.
    let readable = matches!(r.header(), Ok(Ok(_)));
    if readable {
        while let Some(item) = r.next_item()? {
            let line = match item {
                Item::Record { line, .. } | Item::Damaged { line, .. } => line,
            };
            assert!(line >= 1 && line <= lines, "line {line} of a file of {lines} lines");
        }
        let a = &r.account;
        assert_eq!(a.lines, lines, "lines read {a:?}");
        assert_eq!(a.header_lines + a.record_lines + a.damaged + a.blank, a.lines, "{a:?}");
    }

    // The whole loader: rows read = accepted + rejected.
    let path = dir.join(format!("{}.csv", case.kind.name()));
    std::fs::File::create(&path)?.write_all(case.bytes)?;
    let file = SourceFile {
        path,
        format: SourceFormat::Csv,
    };
    let loaded = load_files(
        case.kind,
        &[file],
        &case.tc,
        chrono_tz::Asia::Shanghai,
        &Progress::hidden(),
    );
    let Ok(t) = loaded else {
        return Ok(false);
    };
    assert!(readable, "a file whose header cannot be read was loaded");
    assert_eq!(t.rows_read(), t.rows_accepted() + t.rows_rejected());
    assert_eq!(t.rows_rejected(), t.rejects.len() as u64);
    assert_eq!(t.rows_accepted(), t.height() as u64);
    assert!(
        t.rows_read() < lines.max(1),
        "{} rows read from {lines} lines",
        t.rows_read()
    );
    for rej in &t.rejects {
        assert!(
            rej.row_number >= 2 && rej.row_number <= lines,
            "reject at line {} of {lines}",
            rej.row_number
        );
    }
    Ok(true)
}
