//! A table loaded into a working copy (chunk files written as rows are read, so the table is never held whole)
//! must be exactly the table loaded in memory: the same accepted rows in file order, the same rejects with the
//! same words — including duplicate keys whose first row is in another chunk or another file — and the same
//! counts, so that rows read = rows accepted + rows rejected still holds.

use std::path::Path;

use aftersales::config::TableConfig;
use aftersales::input::{LoadedTable, ReadOptions, SourceFile, SourceFormat, load_files_to};
use aftersales::progress::Progress;
use aftersales::tables::TableKind;
use aftersales::workdir::{HoldInputs, WorkDir};
use polars::prelude::*;

const TZ: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

fn parquet(dir: &Path, name: &str, df: &mut DataFrame) -> SourceFile {
    let path = dir.join(name);
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .finish(df)
        .unwrap();
    SourceFile {
        path,
        format: SourceFormat::Parquet,
    }
}

fn csv(dir: &Path, name: &str, text: &str) -> SourceFile {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    SourceFile {
        path,
        format: SourceFormat::Csv,
    }
}

/// Eight order lines: rows 4 (quantity 0), 5 (negative price) and 6 (no ordered_at) are rejected by the checks,
/// row 7 repeats row 1's key (O1, 1).
fn orders(line_no_of_row_3: Option<i64>) -> DataFrame {
    let ordered: Vec<Option<i64>> = [
        Some("2026-03-01 10:00:00"),
        Some("2026-03-01 11:00:00"),
        Some("2026-03-02 09:30:00"),
        Some("2026-03-02 09:31:00"),
        Some("2026-03-02 09:32:00"),
        None,
        Some("2026-03-03 08:00:00"),
        Some("2026-03-03 08:05:00"),
    ]
    .iter()
    .map(|s| s.map(|s| aftersales::time::parse_ts(s, TZ).unwrap()))
    .collect();
    let ordered = Int64Chunked::from_iter_options("ordered_at".into(), ordered.into_iter())
        .into_series()
        .cast(&DataType::Datetime(
            TimeUnit::Microseconds,
            Some(aftersales::time::polars_tz(TZ)),
        ))
        .unwrap()
        .into_column();
    let price = Int128Chunked::from_iter_options(
        "unit_price".into(),
        [12990i128, 500, 9900, 100, -100, 100, 100, 100].map(Some).into_iter(),
    )
    .into_decimal(12, 2)
    .unwrap()
    .into_series()
    .into_column();
    DataFrame::new_infer_height(vec![
        Column::new("order_id".into(), ["O1", "O1", "O2", "O3", "O4", "O5", "O1", "O6"]),
        Column::new(
            "line_no".into(),
            [
                Some(1i64),
                Some(2),
                line_no_of_row_3,
                Some(1),
                Some(1),
                Some(1),
                Some(1),
                Some(1),
            ],
        ),
        Column::new("merchant_id".into(), ["M1", "M1", "M2", "M1", "M2", "M2", "M1", "M1"]),
        Column::new("sku".into(), ["S1", "S2", "S3", "S1", "S3", "S3", "S1", "S1"]),
        Column::new(
            "category".into(),
            ["服装", "服装", "鞋靴", "服装", "鞋靴", "鞋靴", "服装", "服装"],
        ),
        Column::new("quantity".into(), [1i64, 2, 1, 0, 1, 1, 1, 1]),
        price,
        ordered,
    ])
    .unwrap()
}

/// Rows 1 and 3 repeat keys of a.parquet (O2/1 and O6/1), row 2 is new, row 4 has an unparseable quantity.
const MORE: &str = "order_id,line_no,merchant_id,sku,category,quantity,unit_price,ordered_at
O2,1,M2,S3,鞋靴,1,99.00,2026-03-04 10:00:00
O7,1,M2,S3,鞋靴,3,99.00,2026-03-04 10:00:00
O6,1,M1,S1,服装,1,1.00,2026-03-04 11:00:00
O8,1,M1,S1,服装,lots,1.00,2026-03-04 12:00:00
O9,2,M1,S2,服装,1,5.00,2026-03-05 12:00:00
";

fn load(files: &[SourceFile], rows_per_chunk: usize, work: Option<&WorkDir>) -> LoadedTable {
    let read = ReadOptions {
        parquet_fast_path: true,
        parquet_slice_rows: rows_per_chunk,
        ..ReadOptions::default()
    };
    load_files_to(
        TableKind::Orders,
        files,
        &TableConfig::default(),
        TZ,
        &Progress::hidden(),
        read,
        work,
    )
    .unwrap()
}

fn assert_same(copy: &LoadedTable, memory: &LoadedTable, what: &str) {
    let (a, b) = (copy.frame().unwrap(), memory.frame().unwrap());
    assert!(a.equals_missing(&b), "{what}: working copy\n{a}\nin memory\n{b}");
    assert_eq!(copy.rejects, memory.rejects, "{what}");
    assert_eq!(copy.files, memory.files, "{what}");
    assert_eq!(copy.height(), a.height(), "{what}");
    assert_eq!(copy.rows_read(), copy.rows_accepted() + copy.rows_rejected(), "{what}");
}

#[test]
fn a_table_written_in_chunks_to_a_working_copy_is_the_table_loaded_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let files = vec![
        parquet(dir.path(), "a.parquet", &mut orders(Some(1))),
        csv(dir.path(), "b.csv", MORE),
    ];
    let memory = load(&files, 1 << 20, None);
    // Worked out by hand: a.parquet rows 4, 5, 6 fail their checks and row 7 repeats row 1; b.csv rows 1 and 3
    // repeat a.parquet's rows 3 and 8, row 4's quantity is not a number.
    let rejected: Vec<(String, u64, String)> = memory
        .rejects
        .iter()
        .map(|r| {
            (
                r.source_file.rsplit('/').next().unwrap().to_string(),
                r.row_number,
                r.column.clone(),
            )
        })
        .collect();
    let expect = [
        ("a.parquet", 4, "quantity"),
        ("a.parquet", 5, "unit_price"),
        ("a.parquet", 6, "ordered_at"),
        ("a.parquet", 7, "order_id+line_no"),
        ("b.csv", 2, "order_id+line_no"),
        ("b.csv", 4, "order_id+line_no"),
        ("b.csv", 5, "quantity"),
    ]
    .map(|(f, r, c)| (f.to_string(), r, c.to_string()));
    assert_eq!(rejected, expect);
    let problem = &memory.rejects[4].problem;
    assert!(
        problem.starts_with("duplicate key (order_id, line_no) = (O2, 1): first seen at row 3 of ")
            && problem.ends_with("a.parquet"),
        "{problem}"
    );
    assert_eq!((memory.rows_read(), memory.rows_accepted()), (13, 6));
    let ids: Vec<String> = memory
        .frame()
        .unwrap()
        .column("order_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap().to_string())
        .collect();
    assert_eq!(ids, ["O1", "O1", "O2", "O6", "O7", "O9"]);

    // Chunks of 1, 2, 3 and 7 rows: duplicates meet across chunks and across files.
    for rows in [1, 2, 3, 7, 1 << 20] {
        let work = WorkDir::create_in(dir.path()).unwrap();
        let copy = load(&files, rows, Some(&work));
        assert_same(&copy, &memory, &format!("chunks of {rows}"));
        let on_disk: Vec<_> = std::fs::read_dir(work.path()).unwrap().collect();
        assert!(!on_disk.is_empty(), "chunks of {rows}: the rows are on disk");
    }

    // Held in memory while they fit (`HoldInputs`): all of it; none of it; and half of it, where the chunks held so
    // far are written out first when one passes the limit, then the rest go after them in file order.
    let all = memory.frame().unwrap().estimated_size();
    for (limit, on_disk) in [(usize::MAX, false), (0, true), (all / 2, true)] {
        let work = WorkDir::create_in(dir.path()).unwrap().holding(HoldInputs::UpTo(limit));
        let held = load(&files, 2, Some(&work));
        assert_same(&held, &memory, &format!("held up to {limit} bytes"));
        let files_written = std::fs::read_dir(work.path()).unwrap().count() > 0;
        assert_eq!(files_written, on_disk, "held up to {limit} bytes of {all}");
    }
}

#[test]
fn order_lines_without_line_numbers_are_numbered_in_a_working_copy_as_in_memory() {
    // Row 3 (O2) has no line_no: it is numbered 1 within its order, which needs the whole table.
    let dir = tempfile::tempdir().unwrap();
    let files = vec![parquet(dir.path(), "a.parquet", &mut orders(None))];
    let memory = load(&files, 1 << 20, None);
    let line_no: Vec<Option<i64>> = memory
        .frame()
        .unwrap()
        .column("line_no")
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(line_no, [Some(1), Some(2), Some(1), Some(1)]);
    for rows in [1, 3] {
        let work = WorkDir::create_in(dir.path()).unwrap();
        assert_same(&load(&files, rows, Some(&work)), &memory, &format!("chunks of {rows}"));
    }
}

#[test]
fn a_table_with_no_accepted_row_still_has_its_columns_in_a_working_copy() {
    let dir = tempfile::tempdir().unwrap();
    let files = vec![parquet(dir.path(), "a.parquet", &mut orders(Some(1)).slice(3, 3))];
    let work = WorkDir::create_in(dir.path()).unwrap();
    let copy = load(&files, 2, Some(&work));
    let memory = load(&files, 2, None);
    assert_eq!((copy.rows_read(), copy.rows_accepted()), (3, 0));
    assert_same(&copy, &memory, "no accepted row");
    assert_eq!(
        copy.data().unwrap().get_column_names(),
        [
            "order_id",
            "line_no",
            "merchant_id",
            "sku",
            "category",
            "quantity",
            "unit_price",
            "ordered_at"
        ]
    );
}
