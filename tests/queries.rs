//! The shipped SQL files in queries/: headers, hand-worked results on the small fixtures, the checks, and the
//! message for a broken query.

mod common;

use common::*;

fn query(file: &str, data: &std::path::Path) -> polars::prelude::DataFrame {
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("q.parquet");
    let o = aftersales(&[
        "query",
        repo().join("queries").join(file).to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        target.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    read_parquet(&target)
}

fn f64s(df: &polars::prelude::DataFrame, c: &str) -> Vec<Option<f64>> {
    df.column(c)
        .unwrap()
        .as_materialized_series()
        .cast(&polars::prelude::DataType::Float64)
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .collect()
}

#[test]
fn every_query_has_its_header() {
    let files = aftersales::queries::discover(&repo().join("queries")).unwrap();
    assert!(files.len() >= 6 + 2, "{}", files.len());
    for q in &files {
        assert_eq!(q.missing_header_fields(), Vec::<&str>::new(), "{}", q.path.display());
        let name = q.header.iter().find(|(k, _)| k == "name").map(|(_, v)| v.as_str());
        assert_eq!(
            name,
            Some(q.name.as_str()),
            "{}: the header's name must be the file's",
            q.path.display()
        );
    }
    assert!(files.iter().filter(|q| q.is_check()).count() >= 2);
}

#[test]
fn exchange_vs_refund_share_on_the_fixture() {
    // Counted cases of tests/data/metrics: returns C1, C3 (rejected, still a counted case), C5, C8, C9; one each of
    // exchange (C2), refund_only (C4), damage_claim (C6), loss_claim (C10), complaint (C11); C7 is cancelled.
    let df = query("exchange_vs_refund_share.sql", &data("metrics"));
    assert_eq!(
        str_col(&df, "case_type"),
        [
            "return",
            "complaint",
            "damage_claim",
            "exchange",
            "loss_claim",
            "refund_only"
        ]
    );
    assert_eq!(str_col(&df, "cases"), ["5", "1", "1", "1", "1", "1"]);
    assert_eq!(
        f64s(&df, "share"),
        [Some(0.5), Some(0.1), Some(0.1), Some(0.1), Some(0.1), Some(0.1)]
    );
}

#[test]
fn quality_refund_rate_on_the_fixture() {
    // Order lines: M1 5 (A10, A1 ×2, A2, A7), M2 4 (A3, A4, A5, A9), M3 3 (A6 ×2, A8). Completed refunds of
    // quality cases: only R2 (C4, not_as_described, M2). R1 and R7 are size_fit, R4 and R6 carrier-caused.
    let df = query("quality_refund_rate.sql", &data("metrics"));
    assert_eq!(str_col(&df, "merchant_id"), ["M2", "M1", "M3"]);
    assert_eq!(str_col(&df, "order_lines"), ["4", "5", "3"]);
    assert_eq!(str_col(&df, "quality_refunds"), ["1", "0", "0"]);
    assert_eq!(f64s(&df, "quality_refund_rate"), [Some(0.25), Some(0.0), Some(0.0)]);
}

#[test]
fn top_reasons_by_category_keeps_ties() {
    // Q1 服装: C1 size_fit, C11 late_delivery (1 each, both rank 1). Q2 数码: C4, C5, C6, C9, C10, five reasons with
    // one case each, all rank 1; Q2 服装: C2, C3; Q2 (unknown): C8.
    let df = query("top_reasons_by_category.sql", &data("metrics"));
    assert_eq!(df.height(), 10);
    assert_eq!(
        count_rows(
            &df,
            &[("quarter", "2026Q2"), ("category", "数码"), ("reason_rank", "1")]
        ),
        5
    );
    assert_eq!(count_rows(&df, &[("quarter", "2026Q1"), ("category", "服装")]), 2);
    assert_eq!(
        row(&df, &[("quarter", "2026Q2"), ("category", "(unknown)")])["reason_code"],
        "size_fit"
    );
}

#[test]
fn refund_completion_time_on_the_sla_fixture() {
    // Q1 2026, M1: F1 met after 7 working days, F2 breached after 8, F3 met after 1, F4 running, F6 void,
    // F8 invalid → 6 refunds, 3 finished or late, median 7, on time 2 of 3. M2: F7 unpaid past its deadline.
    let df = query("refund_completion_time.sql", &data("sla"));
    let m1 = row(&df, &[("quarter", "2026Q1"), ("merchant_id", "M1")]);
    assert_eq!(
        (
            m1["refunds"].as_str(),
            m1["refunds_finished_or_late"].as_str(),
            m1["median_working_days"].as_str()
        ),
        ("6", "3", "7.0")
    );
    assert_close(&m1, "on_time_share", 2.0 / 3.0);
    let m2 = row(&df, &[("quarter", "2026Q1"), ("merchant_id", "M2")]);
    assert_eq!(
        (
            m2["refunds"].as_str(),
            m2["median_working_days"].as_str(),
            m2["on_time_share"].as_str()
        ),
        ("1", "null", "0.0")
    );
}

#[test]
fn dispute_refund_rate_on_the_badge_like_sample() {
    // Each row restates merchant_risk: the rate is buyer-favoured cases over counted cases.
    let df = query("dispute_refund_rate.sql", &repo().join("sample_data"));
    let cases = f64s(&df, "counted_cases");
    let lost = f64s(&df, "buyer_favoured");
    let rate = f64s(&df, "dispute_refund_rate");
    assert!(df.height() > 100);
    for i in 0..df.height() {
        assert!((rate[i].unwrap() - lost[i].unwrap() / cases[i].unwrap()).abs() < 1e-12);
    }
}

#[test]
fn merchants_close_to_badge_missed_exactly_one_criterion() {
    let df = query("merchants_close_to_badge.sql", &repo().join("sample_data"));
    let b = sample_table("badges");
    let expected = (0..b.height())
        .filter(|&i| {
            let r = row(
                &b,
                &[
                    ("quarter", &str_col(&b, "quarter")[i]),
                    ("merchant_id", &str_col(&b, "merchant_id")[i]),
                ],
            );
            r["status_so_far"] == "not_awarded"
                && r["failed_criteria"].matches("\", \"").count() == 0
                && r["failed_criteria"] != "[]"
        })
        .count();
    assert_eq!(df.height(), expected);
    assert!(df.height() > 0);
    let gaps = df.column("gaps").unwrap();
    assert_eq!(
        gaps.dtype(),
        &polars::prelude::DataType::List(Box::new(polars::prelude::DataType::String))
    );
}

#[test]
fn carriers_by_lane_keeps_lanes_with_enough_legs() {
    let df = query("carriers_by_lane.sql", &repo().join("sample_data"));
    assert!(df.height() > 0);
    assert!(f64s(&df, "shipments").iter().all(|s| s.unwrap() >= 30.0));
    assert_eq!(
        query("carriers_by_lane.sql", &data("metrics")).height(),
        0,
        "the fixture has no lane with 30 legs"
    );
}

#[test]
fn checks_pass_on_clean_data_and_return_offending_rows() {
    let d = tempfile::tempdir().unwrap();
    copy_dir(&data("metrics"), d.path());
    let out = tempfile::tempdir().unwrap();
    let o = aftersales(&[
        "run",
        "--data",
        d.path().to_str().unwrap(),
        "--out",
        out.path().join("o").to_str().unwrap(),
        "--queries",
        repo().join("queries").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let run = run_json(&out.path().join("o"));
    assert_eq!(run["checks"]["check_refund_exceeds_order_line"], 0);
    assert_eq!(run["checks"]["check_case_closed_before_opened"], 0);
    assert!(out.path().join("o/queries/quality_refund_rate.parquet").is_file());

    // R1 pays 200.01 for a line worth 200.00; C1 closes an hour before it opened.
    let refunds = std::fs::read_to_string(d.path().join("refunds.csv"))
        .unwrap()
        .replace("R1,C1,A1,M1,200.00", "R1,C1,A1,M1,200.01");
    std::fs::write(d.path().join("refunds.csv"), refunds).unwrap();
    let cases = std::fs::read_to_string(d.path().join("cases.csv")).unwrap();
    let cases: String = cases
        .lines()
        .enumerate()
        .map(|(i, l)| match i {
            0 => format!("{l},closed_at\n"),
            _ if l.starts_with("C1,") => format!("{l},2026-03-12 08:00:00\n"),
            _ => format!("{l},\n"),
        })
        .collect();
    std::fs::write(d.path().join("cases.csv"), cases).unwrap();
    let o = aftersales(&[
        "run",
        "--data",
        d.path().to_str().unwrap(),
        "--out",
        out.path().join("o").to_str().unwrap(),
        "--queries",
        repo().join("queries").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let run = run_json(&out.path().join("o"));
    assert_eq!(run["checks"]["check_refund_exceeds_order_line"], 1);
    assert_eq!(run["checks"]["check_case_closed_before_opened"], 1);
    let bad = read_parquet(&out.path().join("o/queries/check_refund_exceeds_order_line.parquet"));
    assert_eq!(str_col(&bad, "refund_id"), ["R1"]);
}

#[test]
fn a_broken_query_names_the_file_the_line_and_the_tables() {
    let d = tempfile::tempdir().unwrap();
    let sql = d.path().join("broken.sql");
    std::fs::write(&sql, "-- name: broken\nSELECT order_id,\n       colour\nFROM orders\n").unwrap();
    let o = aftersales(&["query", sql.to_str().unwrap(), "--data", data("base").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("broken.sql line 3: the query failed"), "{err}");
    assert!(err.contains("colour"), "{err}");
    assert!(err.contains("Tables and columns you can use:"), "{err}");
    assert!(
        err.contains("  orders(order_id, line_no, merchant_id, sku, category, quantity, unit_price, ordered_at)"),
        "{err}"
    );
    assert!(err.contains("  badges(quarter, merchant_id"), "{err}");
    // A run with a broken query fails and leaves no output.
    let qdir = d.path().join("q");
    std::fs::create_dir(&qdir).unwrap();
    std::fs::copy(&sql, qdir.join("broken.sql")).unwrap();
    let o = aftersales(&[
        "run",
        "--data",
        data("base").to_str().unwrap(),
        "--out",
        d.path().join("out").to_str().unwrap(),
        "--queries",
        qdir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!d.path().join("out").exists());
}

#[test]
fn dispute_refund_rate_on_a_fixture_with_disputes() {
    // tests/data/metrics with two escalations, both decided for the buyer: C4 (not_as_described, M2) and C6
    // (damaged in transit, M2, the carrier's). Q2 M2 has 5 counted cases (C4, C5, C6, C9, C10): 1 dispute and 1
    // buyer-favoured outcome count, C6 does not → 0.2 each. Platform Q2: 1 of 8 counted cases = 0.125.
    let d = tempfile::tempdir().unwrap();
    copy_dir(&data("metrics"), d.path());
    let cases = std::fs::read_to_string(d.path().join("cases.csv")).unwrap();
    let cases: String = cases
        .lines()
        .map(|l| {
            let extra = if l.starts_with("case_id") {
                ",escalated_at,dispute_outcome,resolved_at".to_string()
            } else if l.starts_with("C4,") || l.starts_with("C6,") {
                let day = if l.starts_with("C4,") { "05" } else { "26" };
                format!(",2026-04-{day} 12:00:00,buyer_favoured,2026-04-{day} 18:00:00")
            } else {
                ",,,".to_string()
            };
            format!("{l}{extra}\n")
        })
        .collect();
    std::fs::write(d.path().join("cases.csv"), cases).unwrap();
    let df = query("dispute_refund_rate.sql", d.path());
    let m2 = row(&df, &[("quarter", "2026Q2"), ("merchant_id", "M2")]);
    assert_eq!(
        (
            m2["counted_cases"].as_str(),
            m2["disputes"].as_str(),
            m2["buyer_favoured"].as_str()
        ),
        ("5", "1", "1")
    );
    assert_close(&m2, "dispute_rate", 0.2);
    assert_close(&m2, "dispute_refund_rate", 0.2);
    assert_close(&m2, "platform_dispute_rate", 0.125);
    let m1 = row(&df, &[("quarter", "2026Q2"), ("merchant_id", "M1")]);
    assert_close(&m1, "dispute_refund_rate", 0.0);
}
