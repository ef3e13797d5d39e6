//! The output tables open with an independent Parquet reader (the Apache `parquet` crate, not polars), with the
//! documented column names and types, and the row counts run.json states.

mod common;

use common::*;
use parquet::basic::{Compression, LogicalType, TimeUnit, Type as Physical};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

#[derive(Debug, Clone, Copy, PartialEq)]
enum T {
    Str,
    I64,
    F64,
    Bool,
    Money,
    /// A decimal with 4 places: GMV, whose unit prices may carry 4.
    Money4,
    Ts,
    Date,
    StrList,
}

fn kind(field: &parquet::schema::types::Type) -> T {
    if field.is_group() {
        // A list of strings: LIST group → repeated group → string leaf.
        let leaf = field.get_fields()[0].get_fields()[0].clone();
        assert!(
            matches!(field.get_basic_info().logical_type_ref(), Some(LogicalType::List)),
            "{}",
            field.name()
        );
        assert_eq!(kind(&leaf), T::Str, "{}", field.name());
        return T::StrList;
    }
    match (field.get_physical_type(), field.get_basic_info().logical_type_ref()) {
        (Physical::INT32, Some(LogicalType::Date)) => T::Date,
        (Physical::BYTE_ARRAY, Some(LogicalType::String)) => T::Str,
        (Physical::INT64, Some(LogicalType::Timestamp(t)))
            if t.is_adjusted_to_u_t_c && matches!(t.unit, TimeUnit::MICROS) =>
        {
            T::Ts
        }
        (_, Some(LogicalType::Decimal(d))) if d.scale == 2 => T::Money,
        (_, Some(LogicalType::Decimal(d))) if d.scale == 4 => T::Money4,
        (Physical::INT64, None) => T::I64,
        (Physical::INT64, Some(LogicalType::Integer(i))) if i.bit_width == 64 && i.is_signed => T::I64,
        (Physical::DOUBLE, _) => T::F64,
        (Physical::BOOLEAN, _) => T::Bool,
        other => panic!("{}: unexpected type {other:?}", field.name()),
    }
}

/// The leg counts and rates both carrier tables report.
fn legs() -> Vec<(&'static str, T)> {
    use T::*;
    vec![
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
    ]
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
            ("gmv", Money4),
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
        "carrier_performance" => [
            vec![
                ("period_kind", Str),
                ("period", Str),
                ("carrier", Str),
                ("direction", Str),
            ],
            legs(),
            vec![
                ("network_damage_rate", F64),
                ("worse_than_network", Bool),
                ("claim_cost", Money),
            ],
        ]
        .concat(),
        "carrier_lanes" => [
            vec![
                ("quarter", Str),
                ("carrier", Str),
                ("origin_region", Str),
                ("dest_region", Str),
            ],
            legs(),
        ]
        .concat(),
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
        "spike_evaluation" | "risk_flags" => {
            let mut v = vec![("level", Str), ("key", Str)];
            // The merchant is looked up for the flagged rows only (spikes::flag_owners).
            if table == "risk_flags" {
                v.push(("merchant_id", Str));
            }
            v.extend([
                ("category", Str),
                ("period", Str),
                ("week_start", Date),
                ("n_t", I64),
                ("r_t", I64),
                ("r_carrier", I64),
                ("rate", F64),
                ("units_sold", I64),
                ("units_returned", I64),
                ("r_b", I64),
                ("n_b", I64),
                ("p_c", F64),
                ("p0", F64),
                ("z", F64),
                ("lift", F64),
                ("phi", F64),
                ("p_value", F64),
                ("q_value", F64),
                ("flagged", Bool),
                ("severity", Str),
            ]);
            if table == "risk_flags" {
                v.retain(|(n, _)| *n != "flagged");
                v.push(("reason", Str));
            }
            v
        }
        "merchant_risk" => vec![
            ("quarter", Str),
            ("merchant_id", Str),
            ("merchant_name", Str),
            ("units_sold", I64),
            ("return_rate", F64),
            ("after_sales_rate", F64),
            ("counted_cases", I64),
            ("disputes", I64),
            ("dispute_rate", F64),
            ("buyer_favoured", I64),
            ("dispute_loss_rate", F64),
            ("merchant_fault_share", F64),
            ("sla_evaluated", I64),
            ("sla_breached", I64),
            ("sla_breach_rate", F64),
            ("flags_high", I64),
            ("flags_medium", I64),
            ("sku_flags", I64),
            ("platform_dispute_rate", F64),
            ("dispute_p_value", F64),
            ("dispute_q_value", F64),
            ("risk_level", Str),
            ("reasons", StrList),
            ("provisional", Bool),
            ("provisional_reason", Str),
        ],
        "badges" => {
            let mut v = vec![
                ("quarter", Str),
                ("merchant_id", Str),
                ("merchant_name", Str),
                ("status", Str),
                ("status_so_far", Str),
                ("provisional", Bool),
                ("provisional_reason", Str),
                ("units_sold", I64),
                ("counted_cases", I64),
            ];
            for (c, count) in [
                ("ack_on_time", None),
                ("first_response_on_time", None),
                ("refund_on_time", None),
                ("dispute_rate", Some("disputes")),
                ("dispute_loss_rate", Some("buyer_favoured")),
                ("satisfaction", Some("ratings")),
                ("no_high_spike", None),
            ] {
                let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
                v.push((leak(format!("{c}_value")), F64));
                v.push((leak(format!("{c}_threshold")), F64));
                v.push((leak(format!("{c}_pass")), Bool));
                if let Some(n) = count {
                    v.push((n, I64));
                }
            }
            v.push(("failed_criteria", StrList));
            v.push(("gaps", StrList));
            v
        }
        "flag_episodes" => vec![
            ("alert_id", Str),
            ("level", Str),
            ("key", Str),
            ("merchant_id", Str),
            ("category", Str),
            ("first_week", Str),
            ("last_week", Str),
            ("first_week_start", Date),
            ("last_week_start", Date),
            ("weeks", I64),
            ("periods", StrList),
            ("r_t", I64),
            ("n_t", I64),
            ("expected", F64),
            ("rate", F64),
            ("peak_z", F64),
            ("peak_week", Str),
            ("q_value", F64),
            ("severity", Str),
            ("status", Str),
            ("reason", Str),
        ],
        "flag_evidence" => vec![
            ("level", Str),
            ("key", Str),
            ("period", Str),
            ("severity", Str),
            ("order_id", Str),
            ("line_no", I64),
            ("sku", Str),
            ("merchant_id", Str),
            ("category", Str),
            ("ordered_at", Ts),
            ("line_quantity", I64),
            ("case_id", Str),
            ("case_type", Str),
            ("reason_code", Str),
            ("responsibility", Str),
            ("opened_at", Ts),
            ("days_after_order", F64),
            ("case_quantity", I64),
            ("carrier_case", Bool),
            ("line_in_r_t", Bool),
        ],
        "badge_evidence" => vec![
            ("quarter", Str),
            ("merchant_id", Str),
            ("criterion", Str),
            ("record_type", Str),
            ("record_id", Str),
            ("order_id", Str),
            ("at", Ts),
            ("stop", Ts),
            ("deadline", Ts),
            ("value", F64),
            ("unit", Str),
            ("detail", Str),
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
        let Some(name) = path.strip_prefix("tables/").and_then(|p| p.strip_suffix(".parquet")) else {
            continue;
        };
        seen += 1;
        let file = std::fs::File::open(out.path().join("out").join(path)).unwrap();
        let reader = SerializedFileReader::new(file).unwrap();
        let meta = reader.metadata();
        assert_eq!(
            meta.file_metadata().num_rows() as u64,
            o["rows"].as_u64().unwrap(),
            "{name}"
        );
        let root = meta.file_metadata().schema_descr().root_schema().clone();
        let got: Vec<(String, T)> = root
            .get_fields()
            .iter()
            .map(|f| (f.name().to_string(), kind(f)))
            .collect();
        let want: Vec<(String, T)> = expected(name).into_iter().map(|(n, t)| (n.to_string(), t)).collect();
        assert_eq!(got, want, "{name}");
        // zstd, except sla_clocks: LZ4 (docs/tables.md) — and its rows must decompress here too, not just open.
        for g in meta.row_groups() {
            for c in g.columns() {
                let ok = match (name, c.compression()) {
                    ("sla_clocks", Compression::LZ4_RAW) => true,
                    ("sla_clocks", _) => false,
                    (_, Compression::ZSTD(_)) => true,
                    _ => false,
                };
                assert!(ok, "{name}.{}: {:?}", c.column_path(), c.compression());
            }
        }
        if name == "sla_clocks" {
            let rows = reader
                .get_row_iter(None)
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .expect("every row decompresses")
                .len();
            assert_eq!(rows as u64, o["rows"].as_u64().unwrap());
            assert!(rows > 0, "the fixture has clocks");
        }
    }
    assert_eq!(seen, 13);
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
        let cols: std::collections::BTreeMap<String, Field> =
            r.get_column_iter().map(|(n, f)| (n.clone(), f.clone())).collect();
        if cols["period"] == Field::Str("2026-03".into()) && cols["level"] == Field::Str("platform".into()) {
            assert_eq!(cols["units_sold"], Field::Long(4));
            assert_eq!(cols["units_returned"], Field::Long(3));
            assert_eq!(cols["mature"], Field::Bool(true));
            let Field::Decimal(d) = &cols["gmv"] else {
                panic!("gmv is {:?}", cols["gmv"])
            };
            // 350.50 as an unscaled big-endian integer with scale 4 (unit prices may carry 4 places): 3505000.
            let bytes = d.data();
            let unscaled = bytes.iter().fold(0i128, |acc, b| (acc << 8) | *b as i128);
            assert_eq!((unscaled, d.scale()), (3_505_000, 4));
            found = true;
        }
    }
    assert!(found);
}
