//! Return rates and the reason breakdown on the hand-worked fixture tests/data/metrics (as_of 2026-06-15 00:00
//! Asia/Shanghai, maturity 30 days). Every expected figure is worked out in the comments from the CSV rows.
//!
//! The order lines, with what happened to them:
//!
//! | line   | month | merchant | sku | category | qty | gmv     | returned units | counted cases | refunded (completed) |
//! |--------|-------|----------|-----|----------|-----|---------|----------------|---------------|----------------------|
//! | A10#1  | 02    | M1       | K1  | 服装     | 1   | 100.00  | 0              | C11           | –                    |
//! | A1#1   | 03    | M1       | K1  | 服装     | 2   | 200.00  | 2 (C1)         | C1            | 200.00 (R1)          |
//! | A1#2   | 03    | M1       | K2  | 服装     | 1   | 50.50   | 1 (C2 exchange, opened in April) | C2 | –              |
//! | A2#1   | 03 (31st 23:30 local) | M1 | K1 | 服装 | 1 | 100.00 | 0 (C3 rejected) | C3          | –                    |
//! | A3#1   | 04 (1st 00:10 local)  | M2 | K3 | 数码 | 1 | 999.99 | 0 (C4 refund_only) | C4       | 999.99 (R2)          |
//! | A4#1   | 04    | M2       | K3  | 数码     | 2   | 1999.98 | 2 (C5 3 + C9 1, capped at 2) | C5, C9 | – (R3 pending) |
//! | A5#1   | 04    | M2       | K4  | 数码     | 3   | 60.00   | 0 (C6 damage claim, C7 cancelled) | C6 | 20.00 (R4; R8 failed) |
//! | A6#1   | 05    | M3       | K5  | 家居     | 4   | 40.00   | 0              | –             | 5.25 (R5, no case → first line of A6) |
//! | A6#2   | 05    | M3       | K6  | 家居     | 1   | 35.25   | 0              | –             | –                    |
//! | A7#1   | 05    | M1       | K2  | 服装     | 2   | 101.00  | 0 (C8's sku K9 is not on A7) | – | 50.50 (R7: C8 has no line → first line of A7) |
//! | A8#1   | 05 (31st 23:59 local) | M3 | K5 | 家居 | 1 | 10.00 | 0            | –             | –                    |
//! | A9#1   | 06 (1st 00:00 local)  | M2 | K4 | 数码 | 1 | 20.00 | 0 (C10 loss claim) | C10     | 20.00 (R6)           |

mod common;

/// gmv is a Decimal of 4 places (unit prices may carry 4); these fixtures' prices are whole cents, so its last two
/// digits must be zeros: "100.0000" is shown as "100.00" (any other ending is left as it is, and fails the test).
fn cents4(s: &str) -> &str {
    match s.split_once('.') {
        Some((_, f)) if f.len() == 4 && f.ends_with("00") => &s[..s.len() - 2],
        _ => s,
    }
}

use common::*;

fn fixture() -> tempfile::TempDir {
    run_pipeline(&data("metrics"))
}

#[test]
fn platform_months_cohort_returns_by_order_date() {
    let out = fixture();
    let rr = table(&out, "return_rates");
    let m = |p: &str| {
        row(
            &rr,
            &[
                ("period_kind", "month"),
                ("period", p),
                ("level", "platform"),
                ("key", "all"),
            ],
        )
    };

    // February: A10 only; its complaint C11 is a counted case, not a return.
    let feb = m("2026-02");
    assert_eq!((feb["units_sold"].as_str(), feb["units_returned"].as_str()), ("1", "0"));
    assert_eq!((feb["orders"].as_str(), feb["orders_with_case"].as_str()), ("1", "1"));
    assert_eq!((cents4(&feb["gmv"]), feb["refunded"].as_str()), ("100.00", "0.00"));
    // Matures at 2026-03-01 + 30 days = 2026-03-31 ≤ as_of.
    assert_eq!(feb["mature"], "true");

    // March: A1#1 (2) + A1#2 (1) + A2#1 (1, ordered 23:30 on the 31st local = 15:30 UTC, still March) = 4 units.
    // Returned: C1 2 units + C2 1 unit (opened in April, but A1 was ordered in March) = 3. C3 was rejected.
    let mar = m("2026-03");
    assert_eq!((mar["units_sold"].as_str(), mar["units_returned"].as_str()), ("4", "3"));
    assert_close(&mar, "return_rate", 0.75);
    // Wilson 95% for 3/4: centre (0.75 + z²/8)/(1 + z²/4) = 0.627524, half-width 0.326885.
    assert_close_tol(&mar, "ci_low", 0.300640, 1e-5);
    assert_close_tol(&mar, "ci_high", 0.954408, 1e-5);
    assert_eq!((mar["orders"].as_str(), mar["orders_with_case"].as_str()), ("2", "2"));
    assert_close(&mar, "after_sales_rate", 1.0);
    assert_eq!((cents4(&mar["gmv"]), mar["refunded"].as_str()), ("350.50", "200.00"));
    assert_close(&mar, "refund_value_rate", 200.0 / 350.5);
    assert_eq!(mar["period_start"], "2026-02-28 16:00:00.000000+00:00");
    assert_eq!(mar["period_end"], "2026-03-31 16:00:00.000000+00:00");
    assert_eq!(mar["mature"], "true");

    // April: A3 (1) + A4 (2) + A5 (3) = 6 units; returned: A4's 3 + 1 capped at its 2 units. A3 00:10 on 1 April
    // local is 31 March UTC, but it is April here.
    let apr = m("2026-04");
    assert_eq!((apr["units_sold"].as_str(), apr["units_returned"].as_str()), ("6", "2"));
    assert_close(&apr, "return_rate", 2.0 / 6.0);
    assert_eq!((apr["orders"].as_str(), apr["orders_with_case"].as_str()), ("3", "3"));
    // gmv 999.99 + 1999.98 + 60.00; refunded R2 999.99 + R4 20.00 (R3 pending, R8 failed).
    assert_eq!((cents4(&apr["gmv"]), apr["refunded"].as_str()), ("3059.97", "1019.99"));
    // Matures at 2026-05-01 + 30 days = 2026-05-31 ≤ 2026-06-15.
    assert_eq!(apr["mature"], "true");

    // May: sales and no returns. 4 + 1 + 2 + 1 = 8 units; C8 names sku K9, which is not on A7, so A7 has no case.
    let may = m("2026-05");
    assert_eq!((may["units_sold"].as_str(), may["units_returned"].as_str()), ("8", "0"));
    assert_close(&may, "return_rate", 0.0);
    // Wilson for 0/8 still has width: high = (z²/n) / (1 + z²/n) = 0.480182 / 1.480182 = 0.324407.
    assert_close(&may, "ci_low", 0.0);
    assert_close_tol(&may, "ci_high", 0.324407, 1e-5);
    assert_eq!((may["orders"].as_str(), may["orders_with_case"].as_str()), ("3", "0"));
    // gmv 40.00 + 35.25 + 101.00 + 10.00; refunded R5 5.25 (no case) + R7 50.50.
    assert_eq!((cents4(&may["gmv"]), may["refunded"].as_str()), ("186.25", "55.75"));
    // Matures at 2026-06-01 + 30 days = 2026-07-01 > as_of: later returns may still come.
    assert_eq!(may["mature"], "false");

    let jun = m("2026-06");
    assert_eq!(
        (
            jun["units_sold"].as_str(),
            jun["orders_with_case"].as_str(),
            jun["refunded"].as_str()
        ),
        ("1", "1", "20.00")
    );
    assert_eq!(jun["mature"], "false");
}

fn assert_close_tol(r: &std::collections::BTreeMap<String, String>, col: &str, want: f64, tol: f64) {
    let got: f64 = r[col].parse().unwrap();
    assert!((got - want).abs() < tol, "{col}: got {got}, want {want}");
}

#[test]
fn quarters_and_lower_levels() {
    let out = fixture();
    let rr = table(&out, "return_rates");
    let q = |level: &str, key: &str, p: &str| {
        row(
            &rr,
            &[
                ("period_kind", "quarter"),
                ("period", p),
                ("level", level),
                ("key", key),
            ],
        )
    };

    // Q1 = February + March: 5 units, 3 returned, orders A10, A1, A2 all with cases.
    let q1 = q("platform", "all", "2026Q1");
    assert_eq!(
        (
            q1["units_sold"].as_str(),
            q1["units_returned"].as_str(),
            q1["orders"].as_str(),
            q1["orders_with_case"].as_str()
        ),
        ("5", "3", "3", "3")
    );
    assert_eq!((cents4(&q1["gmv"]), q1["refunded"].as_str()), ("450.50", "200.00"));
    assert_eq!(q1["mature"], "true");
    // Q2 = April + May + June: 15 units, 2 returned; 7 orders, of which A3, A4, A5, A9 have counted cases.
    let q2 = q("platform", "all", "2026Q2");
    assert_eq!(
        (
            q2["units_sold"].as_str(),
            q2["units_returned"].as_str(),
            q2["orders"].as_str(),
            q2["orders_with_case"].as_str()
        ),
        ("15", "2", "7", "4")
    );
    assert_close(&q2, "after_sales_rate", 4.0 / 7.0);
    assert_eq!((cents4(&q2["gmv"]), q2["refunded"].as_str()), ("3266.22", "1095.74"));
    assert_eq!(q2["mature"], "false");

    // Q2 by category: 数码 = A3, A4, A5, A9; 家居 = A6 (two lines), A8; 服装 = A7.
    let dm = q("category", "数码", "2026Q2");
    assert_eq!(
        (
            dm["units_sold"].as_str(),
            dm["units_returned"].as_str(),
            dm["orders"].as_str(),
            dm["orders_with_case"].as_str()
        ),
        ("7", "2", "4", "4")
    );
    assert_eq!((cents4(&dm["gmv"]), dm["refunded"].as_str()), ("3079.97", "1039.99"));
    let jj = q("category", "家居", "2026Q2");
    assert_eq!(
        (
            jj["units_sold"].as_str(),
            jj["orders"].as_str(),
            jj["orders_with_case"].as_str(),
            cents4(&jj["gmv"]),
            jj["refunded"].as_str()
        ),
        ("6", "2", "0", "85.25", "5.25")
    );
    let fz = q("category", "服装", "2026Q2");
    assert_eq!(
        (fz["units_sold"].as_str(), cents4(&fz["gmv"]), fz["refunded"].as_str()),
        ("2", "101.00", "50.50")
    );

    // Merchants in Q2: M1 has only A7; M2 = 数码; M3 = 家居.
    assert_eq!(q("merchant", "M1", "2026Q2")["units_sold"], "2");
    assert_eq!(q("merchant", "M2", "2026Q2")["units_returned"], "2");
    assert_eq!(q("merchant", "M3", "2026Q2")["units_sold"], "6");

    // SKUs in Q1: K1 = A10#1 (1) + A1#1 (2) + A2#1 (1), 2 returned; K2 = A1#2, 1 of 1 returned.
    let k1 = q("sku", "K1", "2026Q1");
    assert_eq!(
        (
            k1["units_sold"].as_str(),
            k1["units_returned"].as_str(),
            k1["orders"].as_str(),
            cents4(&k1["gmv"]),
            k1["refunded"].as_str()
        ),
        ("4", "2", "3", "400.00", "200.00")
    );
    let k2 = q("sku", "K2", "2026Q1");
    assert_close(&k2, "return_rate", 1.0);
    // Wilson for 1/1: low = 1/(1 + z²) = 0.206549; the interval is not the degenerate [1, 1].
    assert_close_tol(&k2, "ci_low", 0.206549, 1e-5);
    assert_close(&k2, "ci_high", 1.0);
    // Rows: 2 kinds × periods × levels; every (period, level, key) once. Months 02..06 and quarters Q1, Q2.
    assert_eq!(count_rows(&rr, &[("period_kind", "month"), ("level", "platform")]), 5);
    assert_eq!(count_rows(&rr, &[("period_kind", "quarter"), ("level", "platform")]), 2);
}

#[test]
fn reason_breakdown_by_opening_period_with_responsibility() {
    let out = fixture();
    let rb = table(&out, "reason_breakdown");
    let r = |kind: &str, p: &str, level: &str, key: &str, reason: &str| {
        row(
            &rb,
            &[
                ("period_kind", kind),
                ("period", p),
                ("level", level),
                ("key", key),
                ("reason_code", reason),
            ],
        )
    };
    // March openings: C1 (size_fit, 2 units) and C11 (late_delivery): two cases, half each.
    let a = r("month", "2026-03", "platform", "all", "size_fit");
    assert_eq!(
        (a["cases"].as_str(), a["units"].as_str(), a["responsibility"].as_str()),
        ("1", "2", "buyer")
    );
    assert_close(&a, "share", 0.5);
    assert_eq!(
        r("month", "2026-03", "platform", "all", "late_delivery")["responsibility"],
        "carrier"
    );
    // April openings: C2, C3, C4, C5, C6 (C7 is cancelled): quality_defect = C2 (1 unit) + C5 (3 units).
    let q = r("month", "2026-04", "platform", "all", "quality_defect");
    assert_eq!(
        (q["cases"].as_str(), q["units"].as_str(), q["responsibility"].as_str()),
        ("2", "4", "merchant")
    );
    assert_close(&q, "share", 0.4);
    assert_eq!(
        count_rows(
            &rb,
            &[("period_kind", "month"), ("period", "2026-04"), ("level", "platform")]
        ),
        4
    );
    assert_eq!(
        count_rows(&rb, &[("reason_code", "wrong_item")]),
        0,
        "the cancelled case C7 is not counted"
    );
    // May: C8's sku is not on its order, so its category is unknown and its merchant is its own (M1).
    let u = r("month", "2026-05", "category", "(unknown)", "size_fit");
    assert_eq!(u["cases"], "1");
    assert_close(&u, "share", 1.0);
    assert_eq!(r("month", "2026-05", "merchant", "M1", "size_fit")["cases"], "1");
    assert_eq!(r("month", "2026-05", "category", "数码", "other")["cases"], "1");
    // Q2: C2..C6, C8, C9, C10 = 8 cases; quality_defect 2 of them.
    assert_close(
        &r("quarter", "2026Q2", "platform", "all", "quality_defect"),
        "share",
        0.25,
    );
    assert_eq!(
        r("quarter", "2026Q2", "merchant", "M2", "lost_in_transit")["responsibility"],
        "carrier"
    );
}

#[test]
fn responsibility_follows_the_config() {
    let d = case_dir(None);
    copy_dir(&data("metrics"), d.path());
    std::fs::write(
        d.path().join("aftersales.toml"),
        "timezone = \"Asia/Shanghai\"\nas_of = \"2026-06-15 00:00:00\"\n[responsibility]\nlate_delivery = \"merchant\"\n",
    )
    .unwrap();
    let out = run_pipeline(d.path());
    let rb = table(&out, "reason_breakdown");
    let late = row(
        &rb,
        &[
            ("period_kind", "month"),
            ("period", "2026-03"),
            ("level", "platform"),
            ("key", "all"),
            ("reason_code", "late_delivery"),
        ],
    );
    assert_eq!(late["responsibility"], "merchant");
}

/// return_rates builds a level's quarter rows from its month rows when no order has lines in two months of the
/// quarter. Here order O1 has a line in February (SKU-B) and one in March (SKU-A), so summing months would count it
/// twice in Q1; the quarter rows must count it once (tests/data/base with O1#2 moved to 2026-02-20).
#[test]
fn an_order_with_lines_in_two_months_counts_once_in_its_quarter() {
    let data = case_dir(None);
    std::fs::write(
        data.path().join("orders.csv"),
        "order_id,line_no,merchant_id,sku,category,quantity,unit_price,ordered_at
O1,1,M1,SKU-A,服装,2,99.90,2026-03-01 10:00:00
O1,2,M1,SKU-B,服装,1,49.50,2026-02-20 10:00:00
O2,1,M2,SKU-C,数码,1,1299.00,2026-03-02 20:30:00
O3,1,M2,SKU-C,数码,3,1299.00,2026-03-31 23:30:00
O4,1,M1,SKU-A,服装,1,99.90,2026-04-01 00:10:00
",
    )
    .unwrap();
    let out = run_pipeline(data.path());
    let rr = table(&out, "return_rates");
    let get = |kind: &str, period: &str, level: &str, key: &str| {
        let r = row(
            &rr,
            &[
                ("period_kind", kind),
                ("period", period),
                ("level", level),
                ("key", key),
            ],
        );
        (
            r["units_sold"].clone(),
            r["orders"].clone(),
            r["orders_with_case"].clone(),
        )
    };
    let s = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    // February: O1#2 (1 unit, no case). March: O1#1 (2 units, case C1), O2 (1, C2), O3 (3, C3).
    assert_eq!(get("month", "2026-02", "category", "服装"), s("1", "1", "0"));
    assert_eq!(get("month", "2026-03", "category", "服装"), s("2", "1", "1"));
    // Q1: O1, O2, O3 — three orders, not four; 服装 and M1 have only O1.
    assert_eq!(get("quarter", "2026Q1", "platform", "all"), s("7", "3", "3"));
    assert_eq!(get("quarter", "2026Q1", "category", "服装"), s("3", "1", "1"));
    assert_eq!(get("quarter", "2026Q1", "merchant", "M1"), s("3", "1", "1"));
    assert_eq!(get("quarter", "2026Q1", "sku", "SKU-B"), s("1", "1", "0"));
    assert_eq!(get("quarter", "2026Q1", "category", "数码"), s("4", "2", "2"));
}

/// return_rates of a run on these order, case and refund rows (CSV without the header line) and the base
/// fixture's other tables.
fn return_rates_of(orders: &str, cases: &str, refunds: &str) -> polars::prelude::DataFrame {
    let data = case_dir(None);
    let write = |name: &str, header: &str, rows: &str| {
        std::fs::write(data.path().join(name), format!("{header}\n{rows}")).unwrap()
    };
    write(
        "orders.csv",
        "order_id,line_no,merchant_id,sku,category,quantity,unit_price,ordered_at",
        orders,
    );
    write(
        "cases.csv",
        "case_id,order_id,sku,merchant_id,case_type,reason_code,quantity,opened_at,merchant_ack_at,first_response_at,decided_at,decision,status",
        cases,
    );
    write(
        "refunds.csv",
        "refund_id,case_id,order_id,merchant_id,amount,method,approved_at,refunded_at,status",
        refunds,
    );
    let out = run_pipeline(data.path());
    table(&out, "return_rates")
}

/// units_sold, units_returned and refunded of an SKU's return_rates row for March 2026.
fn march_sku(rr: &polars::prelude::DataFrame, key: &str) -> [String; 3] {
    let r = row(
        rr,
        &[
            ("period_kind", "month"),
            ("period", "2026-03"),
            ("level", "sku"),
            ("key", key),
        ],
    );
    ["units_sold", "units_returned", "refunded"].map(|c| r[c].clone())
}

/// A case names its line by (order_id, sku); when the order has the sku on two lines the lowest line_no is meant,
/// and a refund outside a case belongs to its order's lowest line — wherever those lines stand in the file. O1's
/// lines are listed 3, 1, 2: C1 (SKU-A, 3 units) reaches line 2 and counts all 3 units, since the order holds 6 of
/// SKU-A over lines 2 and 3 (SPEC §4.1 caps per order and sku, not at the first line's 1 unit); R1 (in C1) follows
/// it to SKU-A, and R2 (no case) goes to line 1, SKU-B (line 3 is SKU-A).
#[test]
fn a_case_reaches_the_lowest_line_of_its_sku_and_a_refund_without_a_case_the_lowest_line_of_its_order() {
    let rr = return_rates_of(
        "O1,3,M1,SKU-A,服装,5,10.00,2026-03-01 10:00:00
O1,1,M1,SKU-B,服装,1,20.00,2026-03-01 10:00:00
O1,2,M1,SKU-A,服装,1,10.00,2026-03-01 10:00:00
O2,1,M2,SKU-C,数码,1,1299.00,2026-03-02 20:30:00
",
        "C1,O1,SKU-A,M1,return,size_fit,3,2026-03-04 09:00:00,2026-03-04 09:30:00,2026-03-04 10:00:00,2026-03-04 12:00:00,approved,closed
",
        "R1,C1,O1,M1,8.00,original_route,2026-03-08 10:00:00,2026-03-09 10:00:00,completed
R2,,O1,M1,5.00,original_route,2026-03-08 10:00:00,2026-03-09 10:00:00,completed
",
    );
    let sku = |key: &str| march_sku(&rr, key);
    assert_eq!(sku("SKU-A"), ["6", "3", "8.00"]);
    assert_eq!(sku("SKU-B"), ["1", "0", "5.00"]);
}

/// Preparation finds a case's and a refund's line among the touched lines grouped by order; an export that lists
/// two orders' lines interleaved (O1, O2, O1, O2, O1) must reach the same lines as one that keeps them together.
/// C1 (SKU-A, 3 units) reaches O1's line 2 and counts 3 (O1 holds 6 of SKU-A); C2 (SKU-C, 3 units) reaches O2's
/// line 1 and counts 3 (O2 holds 6 of SKU-C over lines 1 and 2); R1 (in C2) goes with it to SKU-C, R2 (no case) to
/// O1's line 1 (SKU-B) and R3 (no case) to O2's line 1 (SKU-C).
#[test]
fn lines_of_orders_listed_interleaved_reach_the_same_cases_and_refunds() {
    let rr = return_rates_of(
        "O1,3,M1,SKU-A,服装,5,10.00,2026-03-01 10:00:00
O2,2,M2,SKU-C,数码,4,10.00,2026-03-02 20:30:00
O1,1,M1,SKU-B,服装,1,20.00,2026-03-01 10:00:00
O2,1,M2,SKU-C,数码,2,10.00,2026-03-02 20:30:00
O1,2,M1,SKU-A,服装,1,10.00,2026-03-01 10:00:00
",
        "C1,O1,SKU-A,M1,return,size_fit,3,2026-03-04 09:00:00,2026-03-04 09:30:00,2026-03-04 10:00:00,2026-03-04 12:00:00,approved,closed
C2,O2,SKU-C,M2,return,size_fit,3,2026-03-05 09:00:00,2026-03-05 09:30:00,2026-03-05 10:00:00,2026-03-05 12:00:00,approved,closed
",
        "R1,C2,O2,M2,8.00,original_route,2026-03-08 10:00:00,2026-03-09 10:00:00,completed
R2,,O1,M1,5.00,original_route,2026-03-08 10:00:00,2026-03-09 10:00:00,completed
R3,,O2,M2,3.00,original_route,2026-03-08 10:00:00,2026-03-09 10:00:00,completed
",
    );
    let sku = |key: &str| march_sku(&rr, key);
    assert_eq!(sku("SKU-A"), ["6", "3", "0.00"]);
    assert_eq!(sku("SKU-B"), ["1", "0", "5.00"]);
    assert_eq!(sku("SKU-C"), ["6", "3", "11.00"]);
}

/// return_rates goes through the quarters from the first ordered_at's to the last's; one between them without any
/// order gives no rows (and no error), and the last quarter is the local one: O2 was ordered at 00:10 on 1 July in
/// Shanghai, still 30 June (Q2) in UTC — Q3 must be there.
#[test]
fn a_quarter_without_orders_between_two_with_orders_has_no_rows() {
    let data = case_dir(None);
    std::fs::write(
        data.path().join("orders.csv"),
        "order_id,line_no,merchant_id,sku,category,quantity,unit_price,ordered_at
O1,1,M1,SKU-A,服装,2,99.90,2026-01-10 10:00:00
O2,1,M2,SKU-C,数码,1,1299.00,2026-07-01 00:10:00
",
    )
    .unwrap();
    let out = run_pipeline(data.path());
    let rr = table(&out, "return_rates");
    let (level, period) = (
        rr.column("level").unwrap().str().unwrap(),
        rr.column("period").unwrap().str().unwrap(),
    );
    let mut periods: Vec<&str> = level
        .iter()
        .zip(period.iter())
        .filter(|(l, _)| *l == Some("platform"))
        .filter_map(|(_, p)| p)
        .collect();
    periods.sort();
    assert_eq!(periods, ["2026-01", "2026-07", "2026Q1", "2026Q3"]);
}

/// The case: a 3-unit return of an SKU bought as three 1-unit lines counts 3 units, not the first line's 1;
/// a case asking for more units than the order holds is capped at what it holds (4 of 5 asked) and warned; a case
/// filed under a merchant that sells none of the order's lines of that sku, and a refund under a merchant that sells
/// no line of its order, are warned (merchant_not_of_order).
#[test]
fn an_sku_on_several_lines_of_an_order_is_returned_up_to_the_whole_orders_units() {
    let data = case_dir(None);
    let write = |name: &str, text: &str| std::fs::write(data.path().join(name), text).unwrap();
    write(
        "orders.csv",
        "order_id,line_no,merchant_id,sku,category,quantity,unit_price,ordered_at
O1,1,M1,SKU-A,服装,1,10.00,2026-03-01 10:00:00
O1,2,M1,SKU-A,服装,1,10.00,2026-03-01 10:00:00
O1,3,M1,SKU-A,服装,1,10.00,2026-03-01 10:00:00
O2,1,M2,SKU-C,数码,2,10.00,2026-03-02 20:30:00
O2,2,M2,SKU-C,数码,2,10.00,2026-03-02 20:30:00
",
    );
    write(
        "cases.csv",
        "case_id,order_id,sku,merchant_id,case_type,reason_code,quantity,opened_at,status
C1,O1,SKU-A,M1,return,size_fit,3,2026-03-04 09:00:00,closed
C2,O2,SKU-C,M9,return,size_fit,5,2026-03-05 09:00:00,closed
",
    );
    write(
        "refunds.csv",
        "refund_id,case_id,order_id,merchant_id,amount,method,approved_at,refunded_at,status
R1,,O1,M2,5.00,original_route,2026-03-08 10:00:00,2026-03-09 10:00:00,completed
",
    );
    let out = run_pipeline(data.path());
    let rr = table(&out, "return_rates");
    assert_eq!(march_sku(&rr, "SKU-A"), ["3", "3", "5.00"]);
    assert_eq!(march_sku(&rr, "SKU-C"), ["4", "4", "0.00"]);
    let dq = row_findings(&out.path().join("out/data_quality.parquet"));
    let checks: Vec<(String, String, String)> = {
        let (t, k, c) = (str_col(&dq, "table"), str_col(&dq, "key"), str_col(&dq, "check"));
        (0..dq.height())
            .map(|i| (t[i].clone(), k[i].clone(), c[i].clone()))
            .collect()
    };
    let want = |t: &str, k: &str, c: &str| (t.to_string(), k.to_string(), c.to_string());
    assert!(
        checks.contains(&want("cases", "C2", "case_quantity_over_order")),
        "{dq}"
    );
    assert!(checks.contains(&want("cases", "C2", "merchant_not_of_order")), "{dq}");
    assert!(checks.contains(&want("refunds", "R1", "merchant_not_of_order")), "{dq}");
    assert!(!checks.iter().any(|(_, k, _)| k == "C1"), "C1 is a clean case: {dq}");
    let msg = &str_col(&dq, "message")[checks.iter().position(|c| c.2 == "case_quantity_over_order").unwrap()];
    assert_eq!(
        msg,
        "the case asks for 5 units of sku 'SKU-C' but order 'O2' holds 4: returned units are capped at what the order holds"
    );
}
