//! The output tables open with an independent Parquet reader (the Apache `parquet` crate, not polars), with the
//! documented column names and types, and the row counts run.json states.

mod common;

use common::*;
use parquet::basic::{LogicalType, TimeUnit, Type as Physical};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

#[derive(Debug, Clone, Copy, PartialEq)]
enum T {
    Str,
    I64,
    F64,
    Bool,
    Money,
    Ts,
}

fn kind(col: &parquet::schema::types::ColumnDescriptor) -> T {
    match (col.physical_type(), col.logical_type_ref()) {
        (Physical::BYTE_ARRAY, Some(LogicalType::String)) => T::Str,
        (Physical::INT64, Some(LogicalType::Timestamp(t))) if t.is_adjusted_to_u_t_c && matches!(t.unit, TimeUnit::MICROS) => T::Ts,
        (_, Some(LogicalType::Decimal(d))) if d.scale == 2 => T::Money,
        (Physical::INT64, None) => T::I64,
        (Physical::INT64, Some(LogicalType::Integer(i))) if i.bit_width == 64 && i.is_signed => T::I64,
        (Physical::DOUBLE, _) => T::F64,
        (Physical::BOOLEAN, _) => T::Bool,
        other => panic!("{}: unexpected type {other:?}", col.name()),
    }
}

fn expected(table: &str) -> Vec<(&'static str, T)> {
    use T::*;
    match table {
        "return_rates" => vec![
            ("period_kind", Str),
            ("period", Str),
            ("level", Str),
            ("key", Str),
            ("units_sold", I64),
            ("units_returned", I64),
            ("return_rate", F64),
            ("ci_low", F64),
            ("ci_high", F64),
            ("orders", I64),
            ("orders_with_case", I64),
            ("after_sales_rate", F64),
            ("gmv", Money),
            ("refunded", Money),
            ("refund_value_rate", F64),
            ("period_start", Ts),
            ("period_end", Ts),
            ("mature", Bool),
        ],
        "reason_breakdown" => vec![
            ("period_kind", Str),
            ("period", Str),
            ("level", Str),
            ("key", Str),
            ("reason_code", Str),
            ("responsibility", Str),
            ("cases", I64),
            ("units", I64),
            ("share", F64),
        ],
        "carrier_performance" => vec![
            ("period_kind", Str),
            ("period", Str),
            ("carrier", Str),
            ("direction", Str),
            ("shipments", I64),
            ("delivered", I64),
            ("damaged", I64),
            ("lost", I64),
            ("returned_to_sender", I64),
            ("damage_rate", F64),
            ("damage_ci_low", F64),
            ("damage_ci_high", F64),
            ("loss_rate", F64),
            ("loss_ci_low", F64),
            ("loss_ci_high", F64),
            ("on_time_legs", I64),
            ("on_time_rate", F64),
            ("network_damage_rate", F64),
            ("worse_than_network", Bool),
            ("claim_cost", Money),
        ],
        "carrier_lanes" => vec![
            ("quarter", Str),
            ("carrier", Str),
            ("origin_region", Str),
            ("dest_region", Str),
            ("shipments", I64),
            ("delivered", I64),
            ("damaged", I64),
            ("lost", I64),
            ("returned_to_sender", I64),
            ("damage_rate", F64),
            ("damage_ci_low", F64),
            ("damage_ci_high", F64),
            ("loss_rate", F64),
            ("loss_ci_low", F64),
            ("loss_ci_high", F64),
            ("on_time_legs", I64),
            ("on_time_rate", F64),
        ],
        "sla_clocks" => vec![
            ("rule", Str),
            ("clock", Str),
            ("target", F64),
            ("target_unit", Str),
            ("record_type", Str),
            ("record_id", Str),
            ("case_id", Str),
            ("order_id", Str),
            ("merchant_id", Str),
            ("case_type", Str),
            ("start", Ts),
            ("stop", Ts),
            ("deadline", Ts),
            ("elapsed", F64),
            ("status", Str),
        ],
        "sla_compliance" => vec![
            ("period_kind", Str),
            ("period", Str),
            ("level", Str),
            ("merchant_id", Str),
            ("rule", Str),
            ("clocks", I64),
            ("evaluated", I64),
            ("met", I64),
            ("breached", I64),
            ("running", I64),
            ("void", I64),
            ("invalid", I64),
            ("compliance", F64),
            ("elapsed_p50", F64),
            ("elapsed_p90", F64),
            ("target", F64),
            ("target_unit", Str),
        ],
        other => panic!("no documented schema for {other}"),
    }
}

#[test]
fn every_table_opens_with_the_documented_schema_and_row_count() {
    let out = run_pipeline(&data("metrics"));
    let run = run_json(&out.path().join("out"));
    let mut seen = 0;
    for o in run["outputs"].as_array().unwrap() {
        let path = o["path"].as_str().unwrap();
        let Some(name) = path.strip_prefix("tables/").and_then(|p| p.strip_suffix(".parquet")) else { continue };
        seen += 1;
        let file = std::fs::File::open(out.path().join("out").join(path)).unwrap();
        let reader = SerializedFileReader::new(file).unwrap();
        let meta = reader.metadata();
        assert_eq!(meta.file_metadata().num_rows() as u64, o["rows"].as_u64().unwrap(), "{name}");
        let schema = meta.file_metadata().schema_descr();
        let got: Vec<(String, T)> = schema.columns().iter().map(|c| (c.name().to_string(), kind(c))).collect();
        let want: Vec<(String, T)> = expected(name).into_iter().map(|(n, t)| (n.to_string(), t)).collect();
        assert_eq!(got, want, "{name}");
    }
    assert_eq!(seen, 6);
}

#[test]
fn values_read_back_independently() {
    let out = run_pipeline(&data("metrics"));
    let file = std::fs::File::open(out.path().join("out/tables/return_rates.parquet")).unwrap();
    let reader = SerializedFileReader::new(file).unwrap();
    // March 2026, platform: 4 units sold, 3 returned, GMV 350.50 (see tests/metrics_rates.rs).
    let mut found = false;
    for r in reader.get_row_iter(None).unwrap() {
        let r = r.unwrap();
        let cols: std::collections::BTreeMap<String, Field> = r.get_column_iter().map(|(n, f)| (n.clone(), f.clone())).collect();
        if cols["period"] == Field::Str("2026-03".into()) && cols["level"] == Field::Str("platform".into()) {
            assert_eq!(cols["units_sold"], Field::Long(4));
            assert_eq!(cols["units_returned"], Field::Long(3));
            assert_eq!(cols["mature"], Field::Bool(true));
            let Field::Decimal(d) = &cols["gmv"] else { panic!("gmv is {:?}", cols["gmv"]) };
            // 350.50 as an unscaled big-endian integer with scale 2: 35050.
            let bytes = d.data();
            let unscaled = bytes.iter().fold(0i128, |acc, b| (acc << 8) | *b as i128);
            assert_eq!((unscaled, d.scale()), (35050, 2));
            found = true;
        }
    }
    assert!(found);
}
