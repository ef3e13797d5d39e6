//! Golden snapshots of every output table: the pipeline on the hand-made fixture tests/data/metrics (12 order lines,
//! 11 cases, every metric family represented) and the flags of sample_data (the fixture plants no spike). Each table
//! is kept as CSV in tests/snapshots/, reviewed by hand when it was first written; a change to any figure, column or
//! row order shows as a diff (`cargo insta review`, or INSTA_UPDATE=always to accept after reading the diff).

mod common;

use common::*;
use polars::prelude::*;

/// The table as CSV; a list column (reasons, failed criteria, gaps) as its items joined by " | ".
fn csv(df: DataFrame) -> String {
    let lists: Vec<Expr> = df
        .columns()
        .iter()
        .filter(|c| matches!(c.dtype(), DataType::List(_)))
        .map(|c| col(c.name().clone()).list().join(lit(" | "), true))
        .collect();
    let mut df = df.lazy().with_columns(lists).collect().unwrap();
    let mut buf = Vec::new();
    CsvWriter::new(&mut buf).finish(&mut df).unwrap();
    String::from_utf8(buf).unwrap()
}

const TABLES: &[&str] = &[
    "return_rates",
    "reason_breakdown",
    "sla_clocks",
    "sla_compliance",
    "spike_evaluation",
    "risk_flags",
    "merchant_risk",
    "carrier_performance",
    "carrier_lanes",
    "badges",
    "flag_evidence",
    "badge_evidence",
];

#[test]
fn every_output_table_of_the_metrics_fixture() {
    let out = run_pipeline(&data("metrics"));
    for name in TABLES {
        insta::assert_snapshot!(format!("metrics_{name}"), csv(table(&out, name)));
    }
    let dq = read_parquet(&out.path().join("out/data_quality.parquet"));
    // Paths differ from machine to machine: the file's name only.
    let dq = dq
        .lazy()
        .with_column(
            col("source_file")
                .str()
                .split(lit("/"))
                .list()
                .last()
                .alias("source_file"),
        )
        .collect()
        .unwrap();
    insta::assert_snapshot!("metrics_data_quality", csv(dq));
}

#[test]
fn the_flags_of_the_sample() {
    insta::assert_snapshot!("sample_risk_flags", csv(sample_table("risk_flags")));
}
