//! The Parquet fast path (typed Parquet checked with vectorised expressions) must load exactly what the
//! row-by-row parser loads: the same accepted frame, the same rejects with the same words, the same counts.

use std::path::Path;

use aftersales::config::TableConfig;
use aftersales::input::fast;
use aftersales::input::{ReadOptions, SourceFile, SourceFormat, load_files_with};
use aftersales::progress::Progress;
use aftersales::tables::TableKind;
use polars::prelude::*;

const TZ: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

fn write(dir: &Path, name: &str, df: &mut DataFrame) -> SourceFile {
    let path = dir.join(name);
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .finish(df)
        .unwrap();
    SourceFile {
        path,
        format: SourceFormat::Parquet,
    }
}

fn ts(local: &[Option<&str>]) -> Column {
    let us: Vec<Option<i64>> = local
        .iter()
        .map(|s| s.map(|s| aftersales::time::parse_ts(s, TZ).unwrap()))
        .collect();
    Int64Chunked::from_iter_options("t".into(), us.into_iter())
        .into_series()
        .cast(&DataType::Datetime(
            TimeUnit::Microseconds,
            Some(aftersales::time::polars_tz(TZ)),
        ))
        .unwrap()
        .into_column()
}

fn money(name: &str, cents: &[Option<i128>]) -> Column {
    Int128Chunked::from_iter_options(name.into(), cents.iter().copied())
        .into_decimal(12, 2)
        .unwrap()
        .into_series()
        .into_column()
}

/// Eight order lines, hand-planted: two clean, one with spaces around its ids (clean after trimming), one with
/// quantity 0, one with a negative price, one without ordered_at, one duplicate key, one with an empty category.
fn orders() -> DataFrame {
    let mut ordered = ts(&[
        Some("2026-03-01 10:00:00"),
        Some("2026-03-01 11:00:00"),
        Some("2026-03-02 09:30:00"),
        Some("2026-03-02 09:31:00"),
        Some("2026-03-02 09:32:00"),
        None,
        Some("2026-03-03 08:00:00"),
        Some("2026-03-03 08:05:00"),
    ]);
    ordered.rename("ordered_at".into());
    DataFrame::new_infer_height(vec![
        Column::new("order_id".into(), ["O1", "O1", " O2 ", "O3", "O4", "O5", "O1", "O6"]),
        Column::new(
            "line_no".into(),
            [Some(1i32), Some(2), None, Some(1), Some(1), Some(1), Some(1), Some(1)],
        ),
        Column::new("merchant_id".into(), ["M1", "M1", "M2 ", "M1", "M2", "M2", "M1", "M1"]),
        Column::new("sku".into(), ["S1", "S2", "S3", "S1", "S3", "S3", "S1", "S1"]),
        Column::new(
            "category".into(),
            ["服装", "服装", "鞋靴", "服装", "鞋靴", "鞋靴", "服装", "  "],
        ),
        Column::new("quantity".into(), [1i64, 2, 1, 0, 1, 1, 1, 1]),
        money(
            "unit_price",
            &[
                Some(12990),
                Some(500),
                Some(9900),
                Some(100),
                Some(-100),
                Some(100),
                Some(100),
                Some(100),
            ],
        ),
        ordered,
    ])
    .unwrap()
}

fn load(files: &[SourceFile], fast_path: bool) -> aftersales::input::LoadedTable {
    load_sliced(files, fast_path, ReadOptions::default().parquet_slice_rows)
}

fn load_sliced(files: &[SourceFile], fast_path: bool, slice_rows: usize) -> aftersales::input::LoadedTable {
    let quiet = Progress::new(true);
    let read = ReadOptions {
        parquet_fast_path: fast_path,
        parquet_slice_rows: slice_rows,
        ..ReadOptions::default()
    };
    load_files_with(TableKind::Orders, files, &TableConfig::default(), TZ, &quiet, read).unwrap()
}

#[test]
fn typed_parquet_loads_the_same_with_and_without_the_fast_path() {
    let dir = tempfile::tempdir().unwrap();
    let files = vec![
        write(dir.path(), "a.parquet", &mut orders()),
        write(dir.path(), "b.parquet", &mut orders().slice(0, 3)),
    ];
    let fast = load(&files, true);
    let slow = load(&files, false);
    assert!(
        fast.frame().unwrap().equals_missing(&slow.frame().unwrap()),
        "fast:\n{}\nslow:\n{}",
        fast.frame().unwrap(),
        slow.frame().unwrap()
    );
    assert_eq!(fast.rejects, slow.rejects);
    assert_eq!(fast.files, slow.files);

    // What a person expects of file a: rows 1, 2, 3 accepted (row 3 trimmed); row 4 quantity 0, row 5 price
    // -1.00, row 6 no ordered_at, row 8 empty category rejected; row 7 repeats (O1, 1). File b repeats rows
    // 1–3 of a: (O1, 1) and (O1, 2) are duplicates, but O2's line has no line_no and is numbered on from a's:
    // it becomes (O2, 2).
    let a = &fast.files[0];
    assert_eq!((a.rows_read, a.rows_accepted, a.rows_rejected), (8, 3, 5));
    let b = &fast.files[1];
    assert_eq!((b.rows_read, b.rows_accepted, b.rows_rejected), (3, 1, 2));
    let problems: Vec<(u64, &str, &str)> = fast.rejects[..5]
        .iter()
        .map(|r| (r.row_number, r.column.as_str(), r.problem.as_str()))
        .collect();
    assert_eq!(
        problems,
        vec![
            (4, "quantity", "0 is out of range: expected a whole number ≥ 1"),
            (5, "unit_price", "-1.00 is out of range: expected an amount ≥ 0"),
            (6, "ordered_at", "required value is missing"),
            (
                7,
                "order_id+line_no",
                "duplicate key (order_id, line_no) = (O1, 1): first seen at row 1"
            ),
            (8, "category", "required value is missing"),
        ]
    );
    let frame = fast.frame().unwrap();
    let ids: Vec<&str> = frame
        .column("order_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    assert_eq!(ids, ["O1", "O1", "O2", "O2"]);
    // Lines without line_no are numbered in file order within their order.
    let line_no: Vec<Option<i64>> = fast
        .frame()
        .unwrap()
        .column("line_no")
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(line_no, [Some(1), Some(2), Some(1), Some(2)]);
}

#[test]
fn the_vectorised_check_sends_only_doubtful_rows_to_the_parser() {
    let df = orders();
    let mapping: Vec<Option<usize>> = (0..8).map(Some).collect();
    let split = fast::split(&df, &mapping, TableKind::Orders.schema(), &TableConfig::default(), 0, 0)
        .unwrap()
        .expect("typed columns take the fast path");
    // Rows 4, 5, 6 and 8 fail a check; row 7's duplicate key is found later, on the whole table.
    assert_eq!(split.suspect_rows, [4, 5, 6, 8]);
    assert_eq!(split.clean.height(), 4);
}

#[test]
fn a_file_read_in_slices_numbers_rows_and_finds_duplicates_across_slices_as_read_whole() {
    // Slices of 3 rows: file a's rejects fall in its second slice (rows 4–6) and third (row 7 repeats row 1's key,
    // row 8); file b (3 rows) is one slice. Every row number, reject and count must be as when read whole.
    let dir = tempfile::tempdir().unwrap();
    let files = vec![
        write(dir.path(), "a.parquet", &mut orders()),
        write(dir.path(), "b.parquet", &mut orders().slice(0, 3)),
    ];
    let whole = load(&files, true);
    for slice_rows in [1, 3, 7] {
        let sliced = load_sliced(&files, true, slice_rows);
        assert!(
            sliced.frame().unwrap().equals_missing(&whole.frame().unwrap()),
            "slices of {slice_rows}:\n{}",
            sliced.frame().unwrap()
        );
        assert_eq!(sliced.rejects, whole.rejects, "slices of {slice_rows}");
        assert_eq!(sliced.files, whole.files, "slices of {slice_rows}");
    }
    let rows: Vec<(u64, &str)> = whole
        .rejects
        .iter()
        .map(|r| (r.row_number, r.source_file.as_str()))
        .collect();
    assert_eq!(rows.len(), 7);
    assert_eq!(&rows[..5].iter().map(|r| r.0).collect::<Vec<_>>(), &[4, 5, 6, 7, 8]);
    // A file whose types keep it off the fast path is read in slices too, numbered on from slice to slice.
    let mut floats = orders();
    let f = floats.column("unit_price").unwrap().cast(&DataType::Float64).unwrap();
    floats.with_column(f).unwrap();
    let files = vec![write(dir.path(), "floats.parquet", &mut floats)];
    let sliced = load_sliced(&files, true, 3);
    let whole = load_sliced(&files, false, 1 << 20);
    assert_eq!(sliced.rejects, whole.rejects);
    assert!(sliced.frame().unwrap().equals_missing(&whole.frame().unwrap()));
    assert_eq!(
        sliced.rejects.iter().map(|r| r.row_number).collect::<Vec<_>>(),
        [4, 5, 6, 7, 8]
    );
}

#[test]
fn money_stored_as_floats_is_read_cell_by_cell() {
    let mut df = orders();
    let f = df.column("unit_price").unwrap().cast(&DataType::Float64).unwrap();
    df.with_column(f).unwrap();
    let mapping: Vec<Option<usize>> = (0..8).map(Some).collect();
    let split = fast::split(&df, &mapping, TableKind::Orders.schema(), &TableConfig::default(), 0, 0).unwrap();
    assert!(split.is_none());
}

#[test]
fn enums_are_trimmed_and_lowercased_like_the_parser_does() {
    let dir = tempfile::tempdir().unwrap();
    let mut opened = ts(&[
        Some("2026-03-01 10:00:00"),
        Some("2026-03-01 10:00:00"),
        Some("2026-03-01 10:00:00"),
    ]);
    opened.rename("opened_at".into());
    let mut cases = DataFrame::new_infer_height(vec![
        Column::new("case_id".into(), ["C1", "C2", "C3"]),
        Column::new("order_id".into(), ["O1", "O1", "O1"]),
        Column::new("sku".into(), ["S1", "S1", "S1"]),
        Column::new("merchant_id".into(), ["M1", "M1", "M1"]),
        Column::new("case_type".into(), [" Return ", "refund", "exchange"]),
        Column::new("reason_code".into(), ["size_fit", "size_fit", "SIZE_FIT"]),
        opened,
        Column::new("status".into(), ["closed", "closed", "open"]),
    ])
    .unwrap();
    let files = vec![write(dir.path(), "cases.parquet", &mut cases)];
    let quiet = Progress::new(true);
    let tc = TableConfig::default();
    let fast = load_files_with(TableKind::Cases, &files, &tc, TZ, &quiet, ReadOptions::default()).unwrap();
    let slow = load_files_with(
        TableKind::Cases,
        &files,
        &tc,
        TZ,
        &quiet,
        ReadOptions {
            parquet_fast_path: false,
            ..ReadOptions::default()
        },
    )
    .unwrap();
    assert!(fast.frame().unwrap().equals_missing(&slow.frame().unwrap()));
    assert_eq!(fast.rejects, slow.rejects);
    let frame = fast.frame().unwrap();
    let types: Vec<&str> = frame
        .column("case_type")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    assert_eq!(types, ["return", "exchange"]);
    assert_eq!(fast.rejects.len(), 1);
    assert!(
        fast.rejects[0].problem.starts_with("'refund' is not a known value"),
        "{:?}",
        fast.rejects[0]
    );
}
