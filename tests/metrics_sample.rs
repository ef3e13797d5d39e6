//! Properties of the metric tables on sample_data/ that a user checks first: the levels add up, and money adds
//! up to the cent against the CSV files read independently (plain text parsing, not our loader).

mod common;

use std::collections::BTreeMap;

use common::*;
use polars::prelude::*;

fn sums_by_level(df: &DataFrame, kind: &str, value: &str) -> BTreeMap<(String, String), i128> {
    // (period, level) → Σ value, in cents for money and units for counts, via the text form (exact).
    let mut m = BTreeMap::new();
    let periods = str_col(df, "period");
    let levels = str_col(df, "level");
    let kinds = str_col(df, "period_kind");
    let values = str_col(df, value);
    for i in 0..df.height() {
        if kinds[i] != kind {
            continue;
        }
        *m.entry((periods[i].clone(), levels[i].clone())).or_insert(0) += cents(&values[i]);
    }
    m
}

#[test]
fn levels_add_up_to_the_platform() {
    let rr = sample_table("return_rates");
    for kind in ["month", "quarter"] {
        for value in ["units_sold", "units_returned", "gmv", "refunded"] {
            let sums = sums_by_level(&rr, kind, value);
            let periods: Vec<String> = sums.keys().map(|(p, _)| p.clone()).collect();
            for p in periods {
                let platform = sums[&(p.clone(), "platform".to_string())];
                for level in ["category", "merchant", "sku"] {
                    assert_eq!(
                        sums[&(p.clone(), level.to_string())],
                        platform,
                        "{kind} {p} {value}: {level} vs platform"
                    );
                }
            }
        }
    }
    // The reason breakdown's levels add up too, and shares sum to 1 within each key.
    let rb = sample_table("reason_breakdown");
    for kind in ["month", "quarter"] {
        let sums = sums_by_level(&rb, kind, "cases");
        for ((p, level), n) in &sums {
            assert_eq!(*n, sums[&(p.clone(), "platform".to_string())], "{kind} {p} {level}");
        }
    }
    let shares = rb
        .lazy()
        .group_by([col("period_kind"), col("period"), col("level"), col("key")])
        .agg([col("share").sum()])
        .collect()
        .unwrap();
    for s in shares.column("share").unwrap().f64().unwrap().into_no_null_iter() {
        assert!((s - 1.0).abs() < 1e-9);
    }
}

/// Column `name` of a CSV file with a plain header, split by commas (the sample has no quoted fields).
fn csv_column(path: &str, names: &[&str]) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(repo().join(path)).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let idx: Vec<usize> = names
        .iter()
        .map(|n| header.iter().position(|h| h == n).unwrap())
        .collect();
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            idx.iter().map(|i| f[*i].to_string()).collect()
        })
        .collect()
}

#[test]
fn money_adds_up_to_the_cent() {
    let rr = sample_table("return_rates");
    let gmv_months: i128 = sums_by_level(&rr, "month", "gmv")
        .iter()
        .filter(|((_, l), _)| l == "platform")
        .map(|(_, v)| v)
        .sum();
    let gmv_csv: i128 = csv_column("sample_data/orders.csv", &["quantity", "unit_price"])
        .iter()
        .map(|r| r[0].parse::<i128>().unwrap() * cents(&r[1]))
        .sum();
    assert_eq!(gmv_months, gmv_csv);
    let gmv_quarters: i128 = sums_by_level(&rr, "quarter", "gmv")
        .iter()
        .filter(|((_, l), _)| l == "platform")
        .map(|(_, v)| v)
        .sum();
    assert_eq!(gmv_quarters, gmv_csv);

    // Every completed refund in the sample belongs to a known order, so all of them are in `refunded`.
    let refunded_csv: i128 = csv_column("sample_data/refunds.csv", &["amount", "status"])
        .iter()
        .filter(|r| r[1] == "completed")
        .map(|r| cents(&r[0]))
        .sum();
    let refunded: i128 = sums_by_level(&rr, "month", "refunded")
        .iter()
        .filter(|((_, l), _)| l == "platform")
        .map(|(_, v)| v)
        .sum();
    assert_eq!(refunded, refunded_csv);
    // Decimal all the way: the Parquet column is a decimal with 4 fraction digits (unit prices may carry 4), not
    // a float.
    assert_eq!(rr.schema().get("gmv"), Some(&DataType::Decimal(38, 4)));
}

#[test]
fn rejected_and_cancelled_requests_are_not_returns() {
    // Σ units_returned over platform months = Σ over return/exchange cases that are not cancelled and not rejected,
    // capped per (order, sku) at the units of the sku over all the order's lines — computed here from the CSV text.
    let cases = csv_column(
        "sample_data/cases.csv",
        &["order_id", "sku", "case_type", "decision", "status", "quantity"],
    );
    let orders = csv_column("sample_data/orders.csv", &["order_id", "sku", "quantity", "line_no"]);
    let mut line_qty: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for o in &orders {
        let e = line_qty.entry((o[0].clone(), o[1].clone())).or_insert((0, 0));
        e.1 += o[2].parse::<i64>().unwrap();
    }
    let mut returned: BTreeMap<(String, String), i64> = BTreeMap::new();
    for c in &cases {
        let is_return = (c[2] == "return" || c[2] == "exchange") && c[3] != "rejected" && c[4] != "cancelled";
        if is_return && line_qty.contains_key(&(c[0].clone(), c[1].clone())) {
            *returned.entry((c[0].clone(), c[1].clone())).or_default() += c[5].parse::<i64>().unwrap();
        }
    }
    let expected: i64 = returned.iter().map(|(k, v)| (*v).min(line_qty[k].1)).sum();
    let rr = sample_table("return_rates");
    let got: i128 = sums_by_level(&rr, "month", "units_returned")
        .iter()
        .filter(|((_, l), _)| l == "platform")
        .map(|(_, v)| v)
        .sum();
    assert_eq!(got / 100, expected as i128);
}
