//! What a Parquet file's footer says about a timestamp column: its earliest and latest value, from the minimum and
//! maximum every row group records, instead of reading the column. The run needs them for the default as_of and
//! the span its local dates cover (`pipeline::timestamps`); the footers answer in milliseconds what reading every
//! timestamp of the four tables answers in a scan.
//!
//! Only files this program wrote are asked (the converted tables and the working copies, whose writer records
//! the statistics), and any doubt answers "unknown", so the caller reads the column as before: a file that cannot
//! be opened, a column missing or not a microsecond timestamp, a row group with values but no minimum or maximum.

use std::path::Path;

use polars_parquet::parquet::metadata::FileMetadata;
use polars_parquet::parquet::read::read_metadata;
use polars_parquet::parquet::schema::types::{PrimitiveLogicalType, TimeUnit};
use polars_parquet::parquet::statistics::Statistics;

/// The earliest and latest value of a table's timestamp `column` over its files: `Some(None)` when it holds no
/// value (no rows, or only nulls), `None` when the footers cannot tell.
pub fn timestamp_span(files: &[&Path], column: &str) -> Option<Option<(i64, i64)>> {
    let mut span: Option<(i64, i64)> = None;
    for path in files {
        let metadata = read_metadata(&mut std::fs::File::open(path).ok()?).ok()?;
        if let Some((lo, hi)) = file_span(&metadata, column)? {
            span = Some(span.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
        }
    }
    Some(span)
}

/// One row group's statistics of a timestamp column: its least and greatest value (None when it holds none) and how
/// many values it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupStats {
    pub span: Option<(i64, i64)>,
    pub values: u64,
}

/// Every row group's statistics of a table's timestamp `column` over its files; `None` when the footers cannot
/// tell (as for [`timestamp_span`], and also when a row group does not record its null count).
pub fn row_groups(files: &[&Path], column: &str) -> Option<Vec<GroupStats>> {
    let mut out = Vec::new();
    for path in files {
        let metadata = read_metadata(&mut std::fs::File::open(path).ok()?).ok()?;
        for group in &metadata.row_groups {
            let (stats, rows) = group_stats(metadata_group(&metadata, group, column)?, group.num_rows())?;
            out.push(GroupStats {
                span: stats,
                values: rows,
            });
        }
    }
    Some(out)
}

type Int64Stats = polars_parquet::parquet::statistics::PrimitiveStatistics<i64>;

/// A row group's statistics of a microsecond timestamp column; None when it has none or the column is another kind.
fn metadata_group(
    metadata: &FileMetadata,
    group: &polars_parquet::parquet::metadata::RowGroupMetadata,
    column: &str,
) -> Option<Int64Stats> {
    let mut chunks = group.columns_under_root_iter(column)?;
    let chunk = chunks.next()?;
    if chunks.next().is_some() {
        return None; // a nested column
    }
    let is_micros = matches!(
        chunk.descriptor().descriptor.primitive_type.logical_type,
        Some(PrimitiveLogicalType::Timestamp {
            unit: TimeUnit::Microseconds,
            ..
        })
    );
    if !is_micros {
        return None;
    }
    match chunk.statistics(&metadata.footer_buf)?.ok()? {
        Statistics::Int64(stats) => Some(stats),
        _ => None,
    }
}

/// (span, values) of one row group's statistics; None when they do not say.
fn group_stats(stats: Int64Stats, rows: usize) -> Option<(Option<(i64, i64)>, u64)> {
    let nulls = u64::try_from(stats.null_count?).ok()?;
    let values = (rows as u64).checked_sub(nulls)?;
    match (stats.min_value, stats.max_value) {
        (Some(lo), Some(hi)) => Some((Some((lo, hi)), values)),
        _ if values == 0 => Some((None, 0)),
        _ => None,
    }
}

fn file_span(metadata: &FileMetadata, column: &str) -> Option<Option<(i64, i64)>> {
    let mut span: Option<(i64, i64)> = None;
    for group in &metadata.row_groups {
        let stats = metadata_group(metadata, group, column)?;
        match (stats.min_value, stats.max_value) {
            (Some(lo), Some(hi)) => span = Some(span.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi)))),
            // No minimum: fine only when the row group has no value in this column.
            _ if stats.null_count == Some(group.num_rows() as i64) => {}
            _ => return None,
        }
    }
    Some(span)
}

#[cfg(test)]
mod tests {
    use super::timestamp_span;
    use polars::prelude::*;
    use std::path::Path;

    /// Writes `df` to a Parquet file in `dir` in row groups of 3 rows, with or without statistics.
    fn write(dir: &Path, name: &str, df: &mut DataFrame, statistics: bool) -> std::path::PathBuf {
        let path = dir.join(name);
        let stats = if statistics {
            StatisticsOptions::full()
        } else {
            StatisticsOptions::empty()
        };
        ParquetWriter::new(std::fs::File::create(&path).unwrap())
            .with_row_group_size(Some(3))
            .with_statistics(stats)
            .finish(df)
            .unwrap();
        path
    }

    fn micros(values: &[Option<i64>], unit: TimeUnit) -> Column {
        Series::new("at".into(), values)
            .cast(&DataType::Datetime(unit, Some(polars::prelude::TimeZone::UTC)))
            .unwrap()
            .into_column()
    }

    /// Three row groups: [5, null, 9], [null, null, null], [-2, 40, 7] over two files, the second [100]: the span
    /// is (-2, 100), the all-null group adds nothing. Worked by hand.
    #[test]
    fn the_span_is_the_extremes_of_every_row_group_of_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let vals = [Some(5), None, Some(9), None, None, None, Some(-2), Some(40), Some(7)];
        let mut a = DataFrame::new(9, vec![micros(&vals, TimeUnit::Microseconds)]).unwrap();
        let mut b = DataFrame::new(1, vec![micros(&[Some(100)], TimeUnit::Microseconds)]).unwrap();
        let (a, b) = (
            write(dir.path(), "a.parquet", &mut a, true),
            write(dir.path(), "b.parquet", &mut b, true),
        );
        assert_eq!(timestamp_span(&[&a], "at"), Some(Some((-2, 40))));
        assert_eq!(timestamp_span(&[&a, &b], "at"), Some(Some((-2, 100))));
    }

    #[test]
    fn no_value_is_a_known_empty_span() {
        let dir = tempfile::tempdir().unwrap();
        let mut nulls = DataFrame::new(4, vec![micros(&[None; 4], TimeUnit::Microseconds)]).unwrap();
        let mut empty = DataFrame::new(0, vec![micros(&[], TimeUnit::Microseconds)]).unwrap();
        let nulls = write(dir.path(), "nulls.parquet", &mut nulls, true);
        let empty = write(dir.path(), "empty.parquet", &mut empty, true);
        assert_eq!(timestamp_span(&[&nulls], "at"), Some(None));
        assert_eq!(timestamp_span(&[&empty], "at"), Some(None));
    }

    /// Without statistics, in another unit, under another name, or not a file: the footers cannot tell, and the
    /// caller reads the column.
    #[test]
    fn what_the_footer_cannot_tell_is_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let vals = [Some(5), Some(9)];
        let mut df = DataFrame::new(2, vec![micros(&vals, TimeUnit::Microseconds)]).unwrap();
        let bare = write(dir.path(), "bare.parquet", &mut df, false);
        let with = write(dir.path(), "with.parquet", &mut df, true);
        let mut ms = DataFrame::new(2, vec![micros(&vals, TimeUnit::Milliseconds)]).unwrap();
        let ms = write(dir.path(), "ms.parquet", &mut ms, true);
        assert_eq!(timestamp_span(&[&with], "at"), Some(Some((5, 9))));
        assert_eq!(timestamp_span(&[&bare], "at"), None);
        assert_eq!(timestamp_span(&[&with, &bare], "at"), None);
        assert_eq!(timestamp_span(&[&ms], "at"), None);
        assert_eq!(timestamp_span(&[&with], "other"), None);
        assert_eq!(timestamp_span(&[&dir.path().join("missing.parquet")], "at"), None);
    }
}
