//! Carrier performance and lanes on the hand-worked fixture tests/data/metrics, and the planted damage-prone
//! carrier of sample_data/.
//!
//! Legs with a known outcome (S7 is in transit and is left out), by shipped_at in local time:
//!
//! | leg | carrier  | dir         | month | outcome   | promised → delivered               |
//! |-----|----------|-------------|-------|-----------|------------------------------------|
//! | S12 | 顺丰速运 | forward     | 02 (28th 23:59 local) | delivered | on time          |
//! | S1  | 顺丰速运 | forward     | 03    | delivered | on time                            |
//! | S2  | 顺丰速运 | forward     | 03 (31st 23:50 local) | delivered | late (04-04 > 04-03 23:50) |
//! | S9  | 顺丰速运 | return      | 03    | delivered | no promise: not an on-time leg     |
//! | S11 | 顺丰速运 | replacement | 04    | delivered | on time                            |
//! | S3  | 极兔速递 | forward     | 04    | delivered | on time                            |
//! | S4  | 极兔速递 | forward     | 04    | delivered | on time                            |
//! | S5  | 极兔速递 | forward     | 04    | damaged   | on time (delivered, broken)        |
//! | S10 | 极兔速递 | return      | 04    | delivered | late                               |
//! | S13 | 中通快递 | forward     | 04    | delivered | on time                            |
//! | S6  | 中通快递 | forward     | 05    | delivered | no promise                         |
//! | S8  | 中通快递 | forward     | 06    | lost      | never delivered: not an on-time leg |
//!
//! Carrier claims: counted cases whose reason is carrier-caused are C6 (damaged, A5), C10 (lost, A9) and C11
//! (late delivery, A10, no refund). Completed refunds: R4 20.00 for C6, R6 20.00 for C10 (R8 failed). A5's first
//! forward leg is S5 (极兔速递, 20 April), not the re-shipment S13 (中通快递, 26 April); A9's is S8 (中通快递, June).

mod common;

use common::*;
use polars::prelude::*;

#[test]
fn monthly_rates_network_and_claims() {
    let out = run_pipeline(&data("metrics"));
    let cp = table(&out, "carrier_performance");
    let r = |p: &str, carrier: &str, dir: &str| {
        row(
            &cp,
            &[
                ("period_kind", "month"),
                ("period", p),
                ("carrier", carrier),
                ("direction", dir),
            ],
        )
    };

    let jt = r("2026-04", "极兔速递", "all");
    assert_eq!(
        (
            jt["shipments"].as_str(),
            jt["delivered"].as_str(),
            jt["damaged"].as_str(),
            jt["lost"].as_str(),
            jt["returned_to_sender"].as_str()
        ),
        ("4", "3", "1", "0", "0")
    );
    assert_close(&jt, "damage_rate", 0.25);
    // Wilson for 1/4: centre (0.25 + z²/8)/(1 + z²/4) = 0.372476, half-width 0.326885 → [0.045592, 0.699361].
    assert!(
        (jt["damage_ci_low"].parse::<f64>().unwrap() - 0.045592).abs() < 1e-5,
        "{}",
        jt["damage_ci_low"]
    );
    assert!(
        (jt["damage_ci_high"].parse::<f64>().unwrap() - 0.699361).abs() < 1e-5,
        "{}",
        jt["damage_ci_high"]
    );
    assert_close(&jt, "loss_rate", 0.0);
    assert_eq!(jt["on_time_legs"], "4");
    assert_close(&jt, "on_time_rate", 0.75);
    // April, all directions: 6 legs (S11, S3, S4, S5, S10, S13), 1 damaged.
    assert_close(&jt, "network_damage_rate", 1.0 / 6.0);
    // Damaged 1 < 5: never worse_than_network, whatever its interval.
    assert_eq!(jt["worse_than_network"], "false");
    assert_eq!(jt["claim_cost"], "20.00");

    let jt_fwd = r("2026-04", "极兔速递", "forward");
    assert_eq!(
        (
            jt_fwd["shipments"].as_str(),
            jt_fwd["damaged"].as_str(),
            jt_fwd["claim_cost"].as_str()
        ),
        ("3", "1", "20.00")
    );
    // April forward legs: S3, S4, S5, S13 → 1 damaged of 4.
    assert_close(&jt_fwd, "network_damage_rate", 0.25);
    let jt_ret = r("2026-04", "极兔速递", "return");
    assert_eq!(
        (jt_ret["shipments"].as_str(), jt_ret["claim_cost"].as_str()),
        ("1", "0.00")
    );
    assert_close(&jt_ret, "on_time_rate", 0.0);

    // A carrier with no damaged legs: 顺丰速运 in March.
    let sf = r("2026-03", "顺丰速运", "all");
    assert_eq!(
        (
            sf["shipments"].as_str(),
            sf["damaged"].as_str(),
            sf["on_time_legs"].as_str()
        ),
        ("3", "0", "2")
    );
    assert_close(&sf, "damage_rate", 0.0);
    assert_close(&sf, "damage_ci_low", 0.0);
    assert_close(&sf, "on_time_rate", 0.5);
    assert_eq!(sf["claim_cost"], "0.00");
    // S12 left at 23:59 on 28 February local time (15:59 UTC): February.
    assert_eq!(r("2026-02", "顺丰速运", "forward")["shipments"], "1");

    // June: the lost parcel; no on-time legs at all, so no on-time rate.
    let zt = r("2026-06", "中通快递", "all");
    assert_eq!(
        (
            zt["shipments"].as_str(),
            zt["lost"].as_str(),
            zt["on_time_legs"].as_str(),
            zt["on_time_rate"].as_str()
        ),
        ("1", "1", "0", "null")
    );
    assert_close(&zt, "loss_rate", 1.0);
    assert_eq!(zt["claim_cost"], "20.00");
    // The in-transit leg S7 (May) is not counted: 中通快递 in May has S6 only.
    assert_eq!(r("2026-05", "中通快递", "all")["shipments"], "1");
    // The C11 complaint (late delivery) has no refund: no claim for 顺丰速运 in February.
    assert_eq!(r("2026-02", "顺丰速运", "all")["claim_cost"], "0.00");
}

#[test]
fn quarterly_rows_and_lanes() {
    let out = run_pipeline(&data("metrics"));
    let cp = table(&out, "carrier_performance");
    let q2 = row(
        &cp,
        &[
            ("period_kind", "quarter"),
            ("period", "2026Q2"),
            ("carrier", "中通快递"),
            ("direction", "all"),
        ],
    );
    // S13, S6, S8: 2 delivered, 1 lost.
    assert_eq!(
        (
            q2["shipments"].as_str(),
            q2["delivered"].as_str(),
            q2["lost"].as_str(),
            q2["claim_cost"].as_str()
        ),
        ("3", "2", "1", "20.00")
    );
    // Q2, all directions: 8 legs, 1 damaged.
    assert_close(&q2, "network_damage_rate", 0.125);

    let lanes = table(&out, "carrier_lanes");
    let l = |q: &str, c: &str, o: &str, d: &str| {
        row(
            &lanes,
            &[("quarter", q), ("carrier", c), ("origin_region", o), ("dest_region", d)],
        )
    };
    let sf = l("2026Q1", "顺丰速运", "浙江", "上海");
    // S12, S1, S2: three on-time legs, S2 late.
    assert_eq!((sf["shipments"].as_str(), sf["on_time_legs"].as_str()), ("3", "3"));
    assert_close(&sf, "on_time_rate", 2.0 / 3.0);
    assert_eq!(l("2026Q1", "顺丰速运", "上海", "浙江")["shipments"], "1");
    assert_eq!(l("2026Q2", "极兔速递", "广东", "北京")["shipments"], "2");
    // S5 has no destination region.
    let unknown = l("2026Q2", "极兔速递", "广东", "(unknown)");
    assert_eq!((unknown["shipments"].as_str(), unknown["damaged"].as_str()), ("1", "1"));
    assert_close(&unknown, "damage_rate", 1.0);
    assert_eq!(l("2026Q2", "中通快递", "广东", "山东")["lost"], "1");
    // Every known leg lands in exactly one lane: 12 legs.
    let total: i64 = lanes.column("shipments").unwrap().i64().unwrap().sum().unwrap();
    assert_eq!(total, 12);
}

#[test]
fn planted_damage_prone_carrier_and_no_other_is_worse_than_network() {
    let cp = sample_table("carrier_performance");
    // Quarters are the grain a carrier review is held at: 极兔速递 (≈ 1.8% damaged against ≈ 0.6%) is worse than
    // the network in every quarter, and no other carrier in any quarter or direction.
    let worse_q = cp
        .clone()
        .lazy()
        .filter(col("worse_than_network").and(col("period_kind").eq(lit("quarter"))))
        .collect()
        .unwrap();
    assert!(
        str_col(&worse_q, "carrier").iter().all(|c| c == "极兔速递"),
        "{worse_q}"
    );
    for q in ["2026Q1", "2026Q2", "2026Q3", "2026Q4"] {
        let r = row(
            &cp,
            &[
                ("period_kind", "quarter"),
                ("period", q),
                ("carrier", "极兔速递"),
                ("direction", "all"),
            ],
        );
        assert_eq!(r["worse_than_network"], "true", "{q}: {r:?}");
    }
    // Months hold about 300 legs per carrier, so with 7 carriers × 12 months a fair carrier can cross the line by
    // chance (a 95% interval, many comparisons). Measured on the sample: 极兔速递 in 7 of 12 months, other carriers
    // in 1 of 72 carrier-months. The test pins that the planted carrier dominates and others stay rare.
    let worse_m = cp
        .clone()
        .lazy()
        .filter(
            col("worse_than_network")
                .and(col("period_kind").eq(lit("month")))
                .and(col("direction").eq(lit("all"))),
        )
        .collect()
        .unwrap();
    let carriers = str_col(&worse_m, "carrier");
    let planted = carriers.iter().filter(|c| *c == "极兔速递").count();
    let others = carriers.len() - planted;
    assert!(
        planted >= 6 && others <= 2,
        "极兔速递 {planted} months, others {others}: {worse_m}"
    );
}
