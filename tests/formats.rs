//! Every format and encoding of the same export loads to the same frame: UTF-8, UTF-8 with BOM, GBK, gzip,
//! Parquet (typed, and all-text as some export tools write it), a folder of parts, and a Chinese-header export
//! mapped by the config.

mod common;

use std::io::Write;
use std::path::Path;

use aftersales::config::{Config, Encoding, RawConfig, TableConfig};
use aftersales::input::load::load_files;
use aftersales::input::{LoadedTable, SourceFile, SourceFormat, load_table};
use aftersales::progress::Progress;
use aftersales::tables::TableKind;
use polars::prelude::*;

const TZ: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

fn base_orders_text() -> String {
    std::fs::read_to_string(common::data("base/orders.csv")).unwrap()
}

fn load(dir: &Path, tc: &TableConfig) -> LoadedTable {
    load_table(dir, TableKind::Orders, tc, TZ, &Progress::hidden())
        .unwrap()
        .unwrap()
}

fn reference() -> DataFrame {
    load(&common::data("base"), &TableConfig::default()).data().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

#[test]
fn reference_frame_has_the_canonical_types() {
    let df = reference();
    let schema = df.schema();
    assert_eq!(df.height(), 5);
    assert_eq!(schema.get("unit_price"), Some(&DataType::Decimal(18, 4)));
    assert_eq!(schema.get("ordered_at"), Some(&aftersales::time::ts_dtype()));
    assert_eq!(schema.get("quantity"), Some(&DataType::Int64));
    // 99.90 stays 99.90: decimal, not binary float.
    let prices = df.column("unit_price").unwrap().cast(&DataType::String).unwrap();
    assert_eq!(prices.str().unwrap().get(0), Some("99.9000"));
}

#[test]
fn utf8_with_bom_matches() {
    let d = tempfile::tempdir().unwrap();
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend(base_orders_text().as_bytes());
    write(d.path(), "orders.csv", &bytes);
    assert!(
        load(d.path(), &TableConfig::default())
            .data()
            .unwrap()
            .equals_missing(&reference())
    );
}

#[test]
fn gbk_matches_when_the_config_says_gbk() {
    let d = tempfile::tempdir().unwrap();
    let text = base_orders_text();
    let (gbk, _, bad) = encoding_rs::GBK.encode(&text);
    assert!(!bad);
    write(d.path(), "orders.csv", &gbk);
    let tc = TableConfig {
        encoding: Encoding::Gbk,
        ..TableConfig::default()
    };
    assert!(load(d.path(), &tc).data().unwrap().equals_missing(&reference()));
}

#[test]
fn gzip_matches() {
    let d = tempfile::tempdir().unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(base_orders_text().as_bytes()).unwrap();
    write(d.path(), "orders.csv.gz", &enc.finish().unwrap());
    assert!(
        load(d.path(), &TableConfig::default())
            .data()
            .unwrap()
            .equals_missing(&reference())
    );
}

#[test]
fn typed_parquet_matches() {
    let d = tempfile::tempdir().unwrap();
    let mut df = reference();
    ParquetWriter::new(std::fs::File::create(d.path().join("orders.parquet")).unwrap())
        .finish(&mut df)
        .unwrap();
    assert!(
        load(d.path(), &TableConfig::default())
            .data()
            .unwrap()
            .equals_missing(&reference())
    );
}

#[test]
fn all_text_parquet_with_naive_times_matches() {
    let d = tempfile::tempdir().unwrap();
    // As a spreadsheet tool writes it: every column text, times as local wall-clock strings.
    let mut rows = base_orders_text()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>())
        .collect::<Vec<_>>();
    let header: Vec<&str> = "order_id,line_no,merchant_id,sku,category,quantity,unit_price,ordered_at"
        .split(',')
        .collect();
    let cols: Vec<Column> = header
        .iter()
        .enumerate()
        .map(|(i, h)| StringChunked::from_iter_values((*h).into(), rows.iter_mut().map(|r| r[i].clone())).into_column())
        .collect();
    let mut df = DataFrame::new_infer_height(cols).unwrap();
    ParquetWriter::new(std::fs::File::create(d.path().join("orders.parquet")).unwrap())
        .finish(&mut df)
        .unwrap();
    assert!(
        load(d.path(), &TableConfig::default())
            .data()
            .unwrap()
            .equals_missing(&reference())
    );
}

#[test]
fn folder_of_parts_matches() {
    let d = tempfile::tempdir().unwrap();
    let parts = d.path().join("orders");
    std::fs::create_dir(&parts).unwrap();
    let text = base_orders_text();
    let lines: Vec<&str> = text.lines().collect();
    // Part 1 as CSV, part 2 as gzip: a folder may mix formats.
    write(
        &parts,
        "part-0001.csv",
        format!("{}\n{}\n{}\n", lines[0], lines[1], lines[2]).as_bytes(),
    );
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(format!("{}\n{}\n{}\n{}\n", lines[0], lines[3], lines[4], lines[5]).as_bytes())
        .unwrap();
    write(&parts, "part-0002.csv.gz", &enc.finish().unwrap());
    write(&parts, ".hidden.csv", b"garbage");
    let t = load(d.path(), &TableConfig::default());
    assert!(t.data().unwrap().equals_missing(&reference()));
    assert_eq!(t.files.len(), 2);
    assert_eq!((t.files[0].rows_read, t.files[1].rows_read), (2, 3));
}

#[test]
fn missing_line_numbers_count_up_in_file_order_within_each_order() {
    let d = tempfile::tempdir().unwrap();
    let text: String = base_orders_text()
        .lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split(',').collect();
            f.remove(1);
            f.join(",") + "\n"
        })
        .collect();
    write(d.path(), "orders.csv", text.as_bytes());
    assert!(
        load(d.path(), &TableConfig::default())
            .data()
            .unwrap()
            .equals_missing(&reference())
    );
}

#[test]
fn chinese_gbk_export_mapped_by_config_matches_the_canonical_cases() {
    // The same cases as tests/data/base/cases.csv, as a Chinese back office exports them.
    let zh = "售后单号,订单号,商品编码,商家编号,售后类型,售后原因,数量,申请时间,商家受理时间,首次响应时间,审核时间,审核结果,售后状态,备注\r\n\
              C1,O1,SKU-A,M1,退货退款,尺码不合适,2,2026/3/4 09:00,2026/3/4 09:30,2026/3/4 10:00,2026/3/4 12:00,同意,已完结,\r\n\
              C2,O2,SKU-C,M2,仅退款,质量问题,,2026/3/5 11:00,2026/3/5 11:20,2026/3/5 12:00,2026/3/5 15:00,同意,已完结,加急\r\n\
              C3,O3,SKU-C,M2,投诉,发货延迟,1,2026/4/2 08:00,,2026/4/2 09:00,,,处理中,\r\n";
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "售后单.csv", &encoding_rs::GBK.encode(zh).0);
    let cfg_text = format!(
        "[tables.cases]\npath = \"售后单.csv\"\nencoding = \"gbk\"\n{}",
        "[tables.cases.columns]\n\"售后单号\" = \"case_id\"\n\"订单号\" = \"order_id\"\n\"商品编码\" = \"sku\"\n\"商家编号\" = \"merchant_id\"\n\
         \"售后类型\" = \"case_type\"\n\"售后原因\" = \"reason_code\"\n\"数量\" = \"quantity\"\n\"申请时间\" = \"opened_at\"\n\
         \"商家受理时间\" = \"merchant_ack_at\"\n\"首次响应时间\" = \"first_response_at\"\n\"审核时间\" = \"decided_at\"\n\
         \"审核结果\" = \"decision\"\n\"售后状态\" = \"status\"\n\
         [tables.cases.values.case_type]\n\"退货退款\" = \"return\"\n\"仅退款\" = \"refund_only\"\n\"投诉\" = \"complaint\"\n\
         [tables.cases.values.reason_code]\n\"尺码不合适\" = \"size_fit\"\n\"质量问题\" = \"quality_defect\"\n\"发货延迟\" = \"late_delivery\"\n\
         [tables.cases.values.decision]\n\"同意\" = \"approved\"\n\
         [tables.cases.values.status]\n\"已完结\" = \"closed\"\n\"处理中\" = \"open\"\n"
    );
    let cfg_path = d.path().join("zh.toml");
    write(d.path(), "zh.toml", cfg_text.as_bytes());
    let cfg = Config::load(&cfg_path).unwrap();
    let zh_cases = load_table(
        d.path(),
        TableKind::Cases,
        &cfg.table(TableKind::Cases),
        TZ,
        &Progress::hidden(),
    )
    .unwrap()
    .unwrap();
    let canonical = load_table(
        &common::data("base"),
        TableKind::Cases,
        &TableConfig::default(),
        TZ,
        &Progress::hidden(),
    )
    .unwrap()
    .unwrap();
    assert_eq!(zh_cases.rows_rejected(), 0, "{:?}", zh_cases.rejects);
    assert!(
        zh_cases.data().unwrap().equals_missing(&canonical.data().unwrap()),
        "{}\n{}",
        zh_cases.data().unwrap(),
        canonical.data().unwrap()
    );
    let _ = Config::from_raw(RawConfig::default(), None, b"").unwrap();
}

#[test]
fn a_source_file_can_be_loaded_directly() {
    let f = SourceFile {
        path: common::data("base/orders.csv"),
        format: SourceFormat::Csv,
    };
    let t = load_files(
        TableKind::Orders,
        &[f],
        &TableConfig::default(),
        TZ,
        &Progress::hidden(),
    )
    .unwrap();
    assert_eq!((t.rows_read(), t.rows_accepted(), t.rows_rejected()), (5, 5, 0));
}

#[test]
fn convert_writes_a_parquet_copy_that_loads_to_the_same_frames() {
    let out = tempfile::tempdir().unwrap();
    let o = common::aftersales(&[
        "convert",
        "--data",
        common::data("base").to_str().unwrap(),
        "--out",
        out.path().join("pq").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    for kind in [
        TableKind::Orders,
        TableKind::Cases,
        TableKind::Shipments,
        TableKind::Refunds,
    ] {
        let csv = load_table(
            &common::data("base"),
            kind,
            &TableConfig::default(),
            TZ,
            &Progress::hidden(),
        )
        .unwrap()
        .unwrap();
        let pq = load_table(
            &out.path().join("pq"),
            kind,
            &TableConfig::default(),
            TZ,
            &Progress::hidden(),
        )
        .unwrap()
        .unwrap();
        assert!(pq.files[0].file.ends_with(".parquet"));
        assert!(
            csv.data().unwrap().equals_missing(&pq.data().unwrap()),
            "{}",
            kind.name()
        );
    }
}

/// A frame's unit prices as the integers of their decimal.
fn prices(df: &DataFrame) -> Vec<Option<i128>> {
    df.column("unit_price")
        .unwrap()
        .decimal()
        .unwrap()
        .physical()
        .iter()
        .collect()
}

/// An export's Parquet may carry columns the config does not map, of any type: a list and a struct column beside
/// the canonical ones are ignored (the run used to stop on them, naming no file). Decimals of any scale are read
/// exactly: prices at scale 6 (99.900000) load as 99.90, and a sub-cent unit price (0.001 at scale 6) is kept to its
/// 4 places; a price at scale 6 that is not whole to the 4th place (0.00015) is rejected, naming its places.
#[test]
fn parquet_extra_columns_of_any_type_and_decimals_of_any_scale_load() {
    let d = tempfile::tempdir().unwrap();
    let mut df = reference();
    let n = df.height();
    // Prices as Decimal(20, 6): the reference's cents × 10⁴, then row 2 (0-based) at 0.001 and row 3 at 0.00015.
    let cents: Vec<i128> = prices(&df).into_iter().map(|v| v.unwrap() * 100).collect();
    let mut micro = cents.clone();
    micro[2] = 1_000;
    micro[3] = 150;
    let price = Int128Chunked::from_vec("unit_price".into(), micro)
        .into_decimal(20, 6)
        .unwrap();
    df.with_column(price.into_column()).unwrap();
    let tags = Series::new(
        "tags".into(),
        (0..n)
            .map(|i| Series::new("".into(), vec![i as i64; 2]))
            .collect::<Vec<_>>(),
    );
    df.with_column(tags.into_column()).unwrap();
    let a = Series::new("a".into(), vec![1i32; n]);
    let b = Series::new("b".into(), vec!["x"; n]);
    let st = StructChunked::from_series("meta".into(), n, [a, b].iter()).unwrap();
    df.with_column(st.into_series().into_column()).unwrap();
    ParquetWriter::new(std::fs::File::create(d.path().join("orders.parquet")).unwrap())
        .finish(&mut df)
        .unwrap();
    let t = load(d.path(), &TableConfig::default());
    assert_eq!((t.rows_read(), t.rows_accepted(), t.rows_rejected()), (5, 4, 1));
    assert_eq!(
        (t.rejects[0].row_number, t.rejects[0].column.as_str()),
        (4, "unit_price")
    );
    assert_eq!(
        t.rejects[0].problem,
        "0.000150 has more than 4 decimal places: money must be exact"
    );
    let got = prices(&t.data().unwrap());
    // In ten-thousandths: the reference's prices, and 0.001 = 10.
    let want: Vec<Option<i128>> = [cents[0] / 100, cents[1] / 100, 10, cents[4] / 100].map(Some).to_vec();
    assert_eq!(got, want);
}

/// Timestamps stored as integers with their unit are read exactly: a Parquet timestamp in milliseconds with a zone,
/// one in nanoseconds without a zone (local wall time), and plain integers of epoch milliseconds named in the
/// config (`[tables.orders.epoch] ordered_at = "ms"`) all load to the reference's instants.
#[test]
fn integer_timestamps_with_their_unit_load_exactly() {
    let reference = reference();
    let utc_us: Vec<i64> = reference
        .column("ordered_at")
        .unwrap()
        .as_materialized_series()
        .to_physical_repr()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    let with = |ordered_at: Series, tc: &TableConfig| {
        let d = tempfile::tempdir().unwrap();
        let mut df = reference.clone();
        df.with_column(ordered_at.with_name("ordered_at".into()).into_column())
            .unwrap();
        ParquetWriter::new(std::fs::File::create(d.path().join("orders.parquet")).unwrap())
            .finish(&mut df)
            .unwrap();
        let t = load(d.path(), tc);
        assert_eq!(t.rows_rejected(), 0, "{:?}", t.rejects);
        t.data().unwrap()
    };
    let ms: Vec<i64> = utc_us.iter().map(|u| u / 1000).collect();
    let zoned_ms = Series::new("t".into(), ms.clone())
        .cast(&DataType::Datetime(
            TimeUnit::Milliseconds,
            Some(polars::prelude::TimeZone::UTC),
        ))
        .unwrap();
    assert!(with(zoned_ms, &TableConfig::default()).equals_missing(&reference));
    // Local wall time in Shanghai (+08:00), in nanoseconds, without a zone.
    let wall_ns: Vec<i64> = utc_us.iter().map(|u| (u + 8 * 3_600_000_000) * 1000).collect();
    let naive_ns = Series::new("t".into(), wall_ns)
        .cast(&DataType::Datetime(TimeUnit::Nanoseconds, None))
        .unwrap();
    assert!(with(naive_ns, &TableConfig::default()).equals_missing(&reference));
    let mut tc = TableConfig::default();
    tc.epoch_units.insert("ordered_at".into(), 1_000);
    assert!(with(Series::new("t".into(), ms), &tc).equals_missing(&reference));
}
