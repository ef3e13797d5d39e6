//! Return-spike flags, merchant risk and badges on a fixture built here, row by row, so every count is known.
//!
//! Spike part (category "C", one SKU per merchant, ISO weeks W01..W10 of 2026, lines ordered Wednesdays 12:00,
//! returns opened 3 days later; as_of 2026-03-16 00:00 = the end of W09 + 14 days):
//!
//! | merchant | W01..W08 each       | W09                                        |
//! |----------|---------------------|--------------------------------------------|
//! | MX       | 100 lines, 5 returns | 100 lines, 20 returns within 14 days + 3 opened 20 days later (too late to count) |
//! | MY       | 100 lines, 5 returns | 100 lines, 5 returns                       |
//! | MW       | 100 lines, 5 returns | 100 lines, 12 returns                      |
//! | MV       | 100 lines, 5 returns | 100 lines, 11 returns                      |
//! | ML       | 100 lines, 5 returns | 2000 lines, 135 returns (a big week)       |
//! | MZ       | –                   | 3 lines, 2 returns                          |
//! | MT       | –                   | 40 lines, 10 returns (exactly the minimum count) |
//! | MU       | –                   | 40 lines, 9 returns (one below it)          |
//!
//! MX also sells 100 lines in W10 with 30 returns: W10 ends 03-09, matures 03-23 > as_of, so it is not judged.
//!
//! Burn-in: the first week with sales is W01, so W01..W08 are not evaluated (their baseline window would reach
//! before the data) and W09 is the first week judged. With no evaluation row before W09, φ = 1 for every W09 row.
//!
//! For W09 every merchant with history has r_b = 40, n_b = 800; the category's previous 8 weeks hold 5 × 100 lines
//! and 5 × 5 returns a week, so p_c = 200 / 4000 = 0.05 and p0 = (40 + 500 × 0.05) / (800 + 500) = 0.05; without
//! history p0 = (0 + 25) / (0 + 500) = 0.05 too. sd for 100 lines = sqrt(100 × 0.05 × 0.95) = 2.17945. The exact
//! tail p = P(X ≥ r) for X ~ Binomial(n, 0.05) (SciPy's binom.sf(r − 1, n, 0.05), run once), and the 8 merchant
//! rows of W09 ranked for Benjamini–Hochberg (m = 8, q = min over j ≥ i of 8·p_(j)/j):
//!
//! | rank | merchant | r / n    | z      | p          | 8·p/rank   | q          | lift | verdict                     |
//! |------|----------|----------|--------|------------|------------|------------|------|-----------------------------|
//! | 1    | MX       | 20/100   | 6.8825 | 1.0523e-07 | 8.4184e-07 | 8.4184e-07 | 4.0  | high (q ≤ 0.001)            |
//! | 2    | MT       | 10/40    | 5.8038 | 2.0683e-05 | 8.2733e-05 | 8.2733e-05 | 5.0  | high; r = 10, the minimum   |
//! | 3    | MU       | 9/40     | 5.0783 | 1.2958e-04 | 3.4555e-04 | 3.4555e-04 | 4.5  | not flagged: r = 9 < 10     |
//! | 4    | ML       | 135/2000 | 3.5909 | 3.5584e-04 | 7.1168e-04 | 7.1168e-04 | 1.35 | not flagged: lift < 1.5     |
//! | 5    | MW       | 12/100   | 3.2118 | 4.2742e-03 | 6.8387e-03 | 6.8387e-03 | 2.4  | medium                      |
//! | 6    | MZ       | 2/3      | 4.9008 | 7.2500e-03 | 9.6667e-03 | 9.6667e-03 | 13.3 | not flagged: r = 2 < 10     |
//! | 7    | MV       | 11/100   | 2.7530 | 1.1472e-02 | 1.3111e-02 | 1.3111e-02 | 2.2  | medium (q ≤ 0.05)           |
//! | 8    | MY       | 5/100    | 0      | 5.6402e-01 | 5.6402e-01 | 5.6402e-01 | 1.0  | not flagged                 |
//!
//! Each merchant sells one SKU, so the SKU level repeats the merchant level. MV (z = 2.75) is flagged where the
//! z ≥ 3 rule did not flag it: among only 8 tested entities a p of 0.011 is not luck; among thousands it would be.
//!
//! Badge part (category "B", Q1 2026): each merchant sells `units` lines of one unit on 2026-01-10 and has 30
//! return cases opened from 2026-02-02 10:00, an hour apart, each with a refund; acknowledged after 1 h (late: 3 h),
//! answered after 2 h (late: 30 h), refunds paid the next day (late: 20 days later).

mod common;

use std::fmt::Write as _;

use common::*;
use polars::prelude::{ChunkAgg, IntoLazy};

const LINE_HDR: &str = "order_id,line_no,merchant_id,sku,category,quantity,unit_price,ordered_at\n";
const CASE_HDR: &str = "case_id,order_id,sku,merchant_id,case_type,reason_code,opened_at,merchant_ack_at,first_response_at,decided_at,decision,escalated_at,dispute_outcome,resolved_at,status,satisfaction\n";
const REFUND_HDR: &str = "refund_id,case_id,order_id,merchant_id,amount,approved_at,refunded_at,status\n";

struct Fixture {
    orders: String,
    cases: String,
    refunds: String,
    n_orders: usize,
    n_cases: usize,
}

fn ts(day: chrono::NaiveDate, hour: i64) -> String {
    (day.and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::hours(hour))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The Monday of ISO week `w` of 2026.
fn monday(w: i64) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2025, 12, 29).unwrap() + chrono::Duration::days(7 * (w - 1))
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            orders: LINE_HDR.into(),
            cases: CASE_HDR.into(),
            refunds: REFUND_HDR.into(),
            n_orders: 0,
            n_cases: 0,
        }
    }

    fn line(&mut self, merchant: &str, sku: &str, cat: &str, at: &str) -> String {
        self.n_orders += 1;
        let id = format!("O{}", self.n_orders);
        writeln!(self.orders, "{id},1,{merchant},{sku},{cat},1,10.00,{at}").unwrap();
        id
    }

    /// The fixture as a data folder (no parcels; as_of 2026-03-16 00:00 in Shanghai, plus `config`).
    fn write(&self, config: &str) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let put = |name: &str, text: &str| std::fs::write(d.path().join(name), text).unwrap();
        put("orders.csv", &self.orders);
        put("cases.csv", &self.cases);
        put("refunds.csv", &self.refunds);
        put(
            "shipments.csv",
            "shipment_id,order_id,case_id,direction,carrier,shipped_at,outcome\n",
        );
        put(
            "aftersales.toml",
            &format!("timezone = \"Asia/Shanghai\"\nas_of = \"2026-03-16 00:00:00\"\n{config}"),
        );
        d
    }

    #[allow(clippy::too_many_arguments)]
    fn case(
        &mut self,
        order: &str,
        sku: &str,
        merchant: &str,
        reason: &str,
        opened: &str,
        ack: &str,
        resp: &str,
        esc: &str,
        outcome: &str,
        sat: &str,
    ) -> String {
        self.n_cases += 1;
        let id = format!("C{}", self.n_cases);
        let resolved = if outcome.is_empty() { "" } else { opened };
        writeln!(self.cases, "{id},{order},{sku},{merchant},return,{reason},{opened},{ack},{resp},,approved,{esc},{outcome},{resolved},closed,{sat}").unwrap();
        id
    }
}

/// What is special about a badge merchant.
#[derive(Default, Clone, Copy)]
struct Badge {
    units: usize,
    late_acks: usize,
    late_responses: usize,
    late_refunds: usize,
    disputes: usize,
    buyer_favoured: usize,
    carrier_disputes: usize,
    ratings: usize,
    rating: u8,
}

fn build() -> tempfile::TempDir {
    let mut f = Fixture::new();
    let spike_week = |f: &mut Fixture, m: &str, w: i64, lines: usize, early: usize, late: usize| {
        let wed = monday(w) + chrono::Duration::days(2);
        for i in 0..lines {
            let sku = format!("S{m}");
            let o = f.line(m, &sku, "C", &ts(wed, 12));
            let days = if i < early { 3 } else { 20 };
            if i < early + late {
                // Acknowledged after 1 hour and answered after 2: these merchants' service is fine.
                let day = wed + chrono::Duration::days(days);
                f.case(
                    &o,
                    &sku,
                    m,
                    "quality_defect",
                    &ts(day, 12),
                    &ts(day, 13),
                    &ts(day, 14),
                    "",
                    "",
                    "",
                );
            }
        }
    };
    for m in ["MX", "MY", "MW", "MV", "ML"] {
        for w in 1..=8 {
            spike_week(&mut f, m, w, 100, 5, 0);
        }
    }
    spike_week(&mut f, "MX", 9, 100, 20, 3);
    spike_week(&mut f, "MY", 9, 100, 5, 0);
    spike_week(&mut f, "MW", 9, 100, 12, 0);
    spike_week(&mut f, "MV", 9, 100, 11, 0);
    spike_week(&mut f, "ML", 9, 2000, 135, 0);
    spike_week(&mut f, "MZ", 9, 3, 2, 0);
    spike_week(&mut f, "MT", 9, 40, 10, 0);
    spike_week(&mut f, "MU", 9, 40, 9, 0);
    spike_week(&mut f, "MX", 10, 100, 30, 0);

    let gold = Badge {
        units: 250,
        ratings: 12,
        rating: 5,
        ..Default::default()
    };
    let merchants: Vec<(&str, Badge)> = vec![
        ("G", gold),
        ("FA", Badge { late_acks: 3, ..gold }),
        (
            "FR",
            Badge {
                late_responses: 3,
                ..gold
            },
        ),
        (
            "FP",
            Badge {
                late_refunds: 1,
                ..gold
            },
        ),
        ("FD", Badge { disputes: 2, ..gold }),
        (
            "FL",
            Badge {
                buyer_favoured: 1,
                ..gold
            },
        ),
        ("FS", Badge { rating: 4, ..gold }),
        ("AL", Badge { disputes: 1, ..gold }),
        ("DH", Badge { disputes: 8, ..gold }),
        ("DW", Badge { disputes: 4, ..gold }),
        (
            "CR",
            Badge {
                carrier_disputes: 2,
                ..gold
            },
        ),
        ("LV", Badge { units: 150, ..gold }),
        (
            "FEW",
            Badge {
                ratings: 5,
                rating: 1,
                ..gold
            },
        ),
    ];
    let sold = chrono::NaiveDate::from_ymd_opt(2026, 1, 10).unwrap();
    let opened0 = chrono::NaiveDate::from_ymd_opt(2026, 2, 2).unwrap();
    for (m, b) in merchants {
        let orders: Vec<String> = (0..b.units)
            .map(|_| f.line(m, &format!("S{m}"), "B", &ts(sold, 10)))
            .collect();
        #[allow(clippy::needless_range_loop)]
        for i in 0..30 {
            let h = 10 + i as i64;
            let opened = ts(opened0, h);
            let ack = ts(opened0, h + if i < b.late_acks { 3 } else { 1 });
            let resp = ts(opened0, h + if i < b.late_responses { 30 } else { 2 });
            let (esc, outcome, reason) = if i < b.disputes {
                (ts(opened0, h + 24), "merchant_favoured", "size_fit")
            } else if i < b.disputes + b.buyer_favoured {
                (ts(opened0, h + 24), "buyer_favoured", "size_fit")
            } else if i < b.disputes + b.buyer_favoured + b.carrier_disputes {
                (ts(opened0, h + 24), "buyer_favoured", "damaged_in_transit")
            } else {
                (String::new(), "", "size_fit")
            };
            let sat = if i < b.ratings {
                b.rating.to_string()
            } else {
                String::new()
            };
            let c = f.case(
                &orders[i],
                &format!("S{m}"),
                m,
                reason,
                &opened,
                &ack,
                &resp,
                &esc,
                outcome,
                &sat,
            );
            let approved = ts(opened0, h + 3);
            let paid = ts(opened0, h + 3 + if i < b.late_refunds { 20 * 24 } else { 24 });
            writeln!(
                f.refunds,
                "R{c},{c},{},{m},10.00,{approved},{paid},completed",
                orders[i]
            )
            .unwrap();
        }
    }
    f.write("max_reject_rate = 0.0\n")
}

fn fixture_out() -> &'static std::path::Path {
    static OUT: std::sync::OnceLock<(tempfile::TempDir, tempfile::TempDir)> = std::sync::OnceLock::new();
    let (_, out) = OUT.get_or_init(|| {
        let d = build();
        let out = run_pipeline(d.path());
        (d, out)
    });
    out.path()
}

fn t(name: &str) -> polars::prelude::DataFrame {
    read_parquet(&fixture_out().join(format!("out/tables/{name}.parquet")))
}

#[test]
fn spike_evidence_for_week_9() {
    let e = t("spike_evaluation");
    let w = |m: &str| row(&e, &[("level", "merchant"), ("key", m), ("period", "2026-W09")]);
    let mx = w("MX");
    assert_eq!(
        (
            mx["n_t"].as_str(),
            mx["r_t"].as_str(),
            mx["r_b"].as_str(),
            mx["n_b"].as_str()
        ),
        ("100", "20", "40", "800")
    );
    assert_close(&mx, "p_c", 0.05);
    assert_close(&mx, "p0", 0.05);
    assert!((mx["z"].parse::<f64>().unwrap() - 6.8825).abs() < 1e-4, "{}", mx["z"]);
    assert_close(&mx, "lift", 4.0);
    assert_eq!(
        (mx["flagged"].as_str(), mx["severity"].as_str(), mx["category"].as_str()),
        ("true", "high", "C")
    );
    let mw = w("MW");
    assert!((mw["z"].parse::<f64>().unwrap() - 3.2118).abs() < 1e-4);
    assert_eq!((mw["flagged"].as_str(), mw["severity"].as_str()), ("true", "medium"));
    let mv = w("MV");
    assert!((mv["z"].parse::<f64>().unwrap() - 2.7530).abs() < 1e-4);
    assert_eq!((mv["flagged"].as_str(), mv["severity"].as_str()), ("true", "medium"));
    // p and q as worked in the module docs; φ = 1 in the first week after the burn-in.
    for (m, p, q) in [
        ("MX", 1.052_295e-7, 8.418_363e-7),
        ("MT", 2.068_331e-5, 8.273_322e-5),
        ("MU", 1.295_818e-4, 3.455_516e-4),
        ("ML", 3.558_421e-4, 7.116_842e-4),
        ("MW", 4.274_182e-3, 6.838_692e-3),
        ("MZ", 7.25e-3, 9.666_667e-3),
        ("MV", 1.147_241e-2, 1.311_133e-2),
        ("MY", 5.640_187e-1, 5.640_187e-1),
    ] {
        let r = w(m);
        let got = |c: &str| r[c].parse::<f64>().unwrap();
        assert!((got("p_value") / p - 1.0).abs() < 1e-5, "{m} p {} vs {p}", r["p_value"]);
        assert!((got("q_value") / q - 1.0).abs() < 1e-5, "{m} q {} vs {q}", r["q_value"]);
        assert_eq!(got("phi"), 1.0, "{m}");
    }
    let ml = w("ML");
    assert!((ml["z"].parse::<f64>().unwrap() - 3.5909).abs() < 1e-4);
    assert_close(&ml, "lift", 1.35);
    assert_eq!(ml["flagged"], "false", "lift below 1.5");
    let mz = w("MZ");
    assert_eq!((mz["n_b"].as_str(), mz["r_t"].as_str()), ("0", "2"));
    assert_close(&mz, "p0", 0.05);
    assert!((mz["z"].parse::<f64>().unwrap() - 4.9008).abs() < 1e-4);
    assert_eq!(mz["flagged"], "false", "2 returns are below the minimum count");
    let my = w("MY");
    assert_eq!(my["flagged"], "false");
    let mt = w("MT");
    assert!((mt["z"].parse::<f64>().unwrap() - 5.8038).abs() < 1e-4, "{}", mt["z"]);
    assert_eq!(
        (mt["r_t"].as_str(), mt["flagged"].as_str(), mt["severity"].as_str()),
        ("10", "true", "high")
    );
    let mu = w("MU");
    assert!((mu["z"].parse::<f64>().unwrap() - 5.0783).abs() < 1e-4, "{}", mu["z"]);
    assert_eq!(mu["flagged"], "false", "9 returns are one below the minimum count");
    // W10 is not mature at as_of. W08 is the last week of the burn-in: its baseline window (W00..W07) would reach
    // before the data, so it has no row; W09 is the first week judged.
    for (week, rows) in [("2026-W10", 0), ("2026-W08", 0), ("2026-W01", 0), ("2026-W09", 1)] {
        assert_eq!(
            count_rows(&e, &[("level", "merchant"), ("key", "MX"), ("period", week)]),
            rows,
            "{week}"
        );
    }
    let weeks = str_col(&e, "period");
    assert!(
        weeks.iter().all(|w| w.as_str() >= "2026-W09"),
        "nothing before the burn-in"
    );
}

#[test]
fn flags_carry_their_evidence_and_a_reason() {
    let f = t("risk_flags");
    let keys: Vec<String> = str_col(&f, "key");
    // Merchant and SKU levels: MX / SMX and MT / SMT high, MW / SMW and MV / SMV medium; nothing else in any week.
    let mut got: Vec<(String, String, String)> = (0..f.height())
        .map(|i| {
            (
                str_col(&f, "level")[i].clone(),
                keys[i].clone(),
                str_col(&f, "severity")[i].clone(),
            )
        })
        .collect();
    got.sort();
    let want = [
        ("merchant", "MT", "high"),
        ("merchant", "MV", "medium"),
        ("merchant", "MW", "medium"),
        ("merchant", "MX", "high"),
        ("sku", "SMT", "high"),
        ("sku", "SMV", "medium"),
        ("sku", "SMW", "medium"),
        ("sku", "SMX", "high"),
    ];
    assert_eq!(got, want.map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())));
    let mx = row(&f, &[("level", "merchant"), ("key", "MX")]);
    assert_eq!(mx["period"], "2026-W09");
    assert_eq!(
        mx["reason"],
        "merchant MX: 20 of 100 order lines bought in 2026-W09 were returned within 14 days (20.0%), 4.0× the expected 5.0% \
         (own previous 8 weeks 40/800, category C 5.0%, prior weight 500); z = 6.9, φ = 1.00, p = 1.1e-7, \
         q = 8.4e-7: fewer than 1 in 1,000 such flags is luck"
    );
}

#[test]
fn badge_decisions() {
    let b = t("badges");
    let r = |m: &str| row(&b, &[("quarter", "2026Q1"), ("merchant_id", m)]);
    let failed = |m: &str| r(m)["failed_criteria"].clone();
    // as_of (16 March) lies inside 2026Q1: every row is provisional, and status_so_far holds the verdicts.
    assert_eq!(r("G")["status"], "provisional");
    assert_eq!(
        r("G")["provisional_reason"],
        "2026Q1 has not ended at as_of (it ends 2026-04-01)"
    );
    assert_eq!(r("G")["status_so_far"], "gold");
    assert_eq!(failed("G"), "[]");
    // One failing each criterion, with its value, threshold and gap.
    let fa = r("FA");
    assert_eq!(fa["status_so_far"], "not_awarded");
    assert_close(&fa, "ack_on_time_value", 0.9);
    assert_eq!(
        (fa["ack_on_time_threshold"].as_str(), fa["ack_on_time_pass"].as_str()),
        ("0.95", "false")
    );
    assert!(fa["gaps"].contains("ack_on_time 0.900, needs ≥ 0.95"), "{}", fa["gaps"]);
    assert!(failed("FR").contains("first_response_on_time"));
    let fp = r("FP");
    assert_close(&fp, "refund_on_time_value", 29.0 / 30.0);
    assert!(
        fp["gaps"].contains("refund_on_time 0.967, needs ≥ 0.98"),
        "{}",
        fp["gaps"]
    );
    // 2 disputes of 30 = 0.067 > 0.02, and 2 > the allowance of 1.
    let fd = r("FD");
    assert_eq!(
        (fd["disputes"].as_str(), fd["dispute_rate_pass"].as_str()),
        ("2", "false")
    );
    // 1 buyer-favoured outcome of 30 = 0.033 > 0.005 and > the allowance of 0; its single dispute passes.
    let fl = r("FL");
    assert_eq!(
        (fl["dispute_loss_rate_pass"].as_str(), fl["dispute_rate_pass"].as_str()),
        ("false", "true")
    );
    let fs = r("FS");
    assert_close(&fs, "satisfaction_value", 4.0);
    assert!(failed("FS").contains("satisfaction"));
    // One dispute among 30 cases is luck, not a pattern: the rate is past 0.02 but the count is within 1.
    let al = r("AL");
    assert_close(&al, "dispute_rate_value", 1.0 / 30.0);
    assert_eq!(
        (al["dispute_rate_pass"].as_str(), al["status_so_far"].as_str()),
        ("true", "gold")
    );
    // Two buyer-favoured disputes over parcels broken in transit are the carrier's, not the merchant's.
    let cr = r("CR");
    assert_eq!(
        (
            cr["disputes"].as_str(),
            cr["buyer_favoured"].as_str(),
            cr["status_so_far"].as_str()
        ),
        ("0", "0", "gold")
    );
    // Too little volume: says so instead of failing criteria.
    let lv = r("LV");
    assert_eq!(
        (
            lv["status_so_far"].as_str(),
            lv["failed_criteria"].as_str(),
            lv["ack_on_time_pass"].as_str()
        ),
        ("insufficient_volume", "[]", "null")
    );
    assert!(lv["gaps"].contains("150 units sold (needs ≥ 200)"), "{}", lv["gaps"]);
    // 5 ratings of 1: below 10 ratings, satisfaction is shown but not judged.
    let few = r("FEW");
    assert_eq!(
        (
            few["ratings"].as_str(),
            few["satisfaction_pass"].as_str(),
            few["status_so_far"].as_str()
        ),
        ("5", "null", "gold")
    );
    assert_close(&few, "satisfaction_value", 1.0);
    // A high spike in a week of the quarter: MX fails only that (its cases are answered on time; it has no refunds
    // or ratings to judge). A case never acknowledged would breach: an unstopped clock past its deadline.
    let mx = r("MX");
    assert_eq!(
        (
            mx["status_so_far"].as_str(),
            mx["failed_criteria"].as_str(),
            mx["no_high_spike_value"].as_str()
        ),
        ("not_awarded", "[\"no_high_spike\"]", "1.0")
    );
    assert_eq!(
        (mx["ack_on_time_pass"].as_str(), mx["refund_on_time_pass"].as_str()),
        ("true", "null")
    );
    // A medium flag does not block the badge.
    assert_eq!(r("MW")["status_so_far"], "gold");
}

#[test]
fn merchant_risk_levels_and_reasons() {
    let m = t("merchant_risk");
    let r = |id: &str| row(&m, &[("quarter", "2026Q1"), ("merchant_id", id)]);
    let mx = r("MX");
    assert_eq!(
        (
            mx["risk_level"].as_str(),
            mx["flags_high"].as_str(),
            mx["sku_flags"].as_str()
        ),
        ("high", "1", "1")
    );
    assert!(
        mx["reasons"].contains("1 high return-spike flag(s) in 2026Q1"),
        "{}",
        mx["reasons"]
    );
    assert_eq!(r("MW")["risk_level"], "watch");
    assert_eq!(r("MV")["risk_level"], "watch");
    assert_eq!(r("MY")["risk_level"], "normal");
    // Platform disputes in Q1: FD 2 + FL 1 + AL 1 + DH 8 + DW 4 (CR's are the carrier's) = 16 of the 827 counted
    // cases of the quarter's 21 merchants: 0.019347, twice that 0.0387. The dispute test, worked with SciPy
    // (binom.sf(d − 1, 30, 16/827), then Benjamini–Hochberg over the 21 merchants, 16 of whose p are 1):
    // | merchant | disputes / cases | rate  | p          | q          | level                                  |
    // | DH       | 8 / 30           | 0.267 | 7.8512e-08 | 1.6488e-06 | high (q ≤ 0.01)                        |
    // | DW       | 4 / 30           | 0.133 | 2.5683e-03 | 2.6967e-02 | watch (0.01 < q ≤ 0.05)                |
    // | FD       | 2 / 30           | 0.067 | 1.1414e-01 | 7.9897e-01 | normal: twice the platform's, by luck  |
    // | FL, AL   | 1 / 30           | 0.033 | 4.4351e-01 | 1          | normal                                 |
    let fd = r("FD");
    let platform: f64 = fd["platform_dispute_rate"].parse().unwrap();
    let cases: i64 = m
        .clone()
        .lazy()
        .filter(polars::prelude::col("quarter").eq(polars::prelude::lit("2026Q1")))
        .collect()
        .unwrap()
        .column("counted_cases")
        .unwrap()
        .i64()
        .unwrap()
        .sum()
        .unwrap();
    assert_eq!(cases, 827);
    assert!((platform - 16.0 / 827.0).abs() < 1e-12);
    for (id, p, q, level) in [
        ("DH", 7.851_249_303_909_877e-8, 1.648_762_353_821_074_3e-6, "high"),
        ("DW", 2.568_299_897_683_619e-3, 2.696_714_892_567_8e-2, "watch"),
        ("FD", 0.114_138_703_197_980_6, 0.798_970_922_385_864_2, "normal"),
        ("FL", 0.443_506_187_678_979_2, 1.0, "normal"),
        ("AL", 0.443_506_187_678_979_2, 1.0, "normal"),
    ] {
        let x = r(id);
        let got = |c: &str| x[c].parse::<f64>().unwrap();
        assert!(
            (got("dispute_p_value") / p - 1.0).abs() < 1e-9,
            "{id}: p {}",
            x["dispute_p_value"]
        );
        assert!(
            (got("dispute_q_value") / q - 1.0).abs() < 1e-9,
            "{id}: q {}",
            x["dispute_q_value"]
        );
        assert_eq!(x["risk_level"], level, "{id}: {}", x["reasons"]);
    }
    assert!(
        r("DH")["reasons"].contains("8 disputes in 30 cases; q = 1.6e-6, high"),
        "{}",
        r("DH")["reasons"]
    );
    assert!(
        r("DW")["reasons"].contains("4 disputes in 30 cases; q = 0.027, watch"),
        "{}",
        r("DW")["reasons"]
    );
    // A merchant with counted cases and no dispute: p = 1.
    assert_eq!(r("G")["dispute_p_value"], "1.0");
    // merchant_fault_share: FS's cases are all size_fit (buyer) → 0.
    assert_close(&r("FS"), "merchant_fault_share", 0.0);
}

#[test]
fn planted_patterns_in_the_sample() {
    let flags = sample_table("risk_flags");
    let eval = sample_table("spike_evaluation");
    // Every flag is a planted week (precision 1 at both levels), and the planted spikes are found: the SKU in both
    // of its weeks, its merchant M0006 there too (its SKU was ~90% of its orders), and M0002 in its strongest week.
    // At the sample's volume (M0002 sells 28–43 lines a week) its W36 (9 of 43) and W38 (8 of 28) stay below the
    // minimum of 10 returned lines; at scale 10 all three weeks are flagged (docs/risk.md).
    let mut got: Vec<String> = (0..flags.height())
        .map(|i| {
            format!(
                "{} {} {}",
                str_col(&flags, "level")[i],
                str_col(&flags, "key")[i],
                str_col(&flags, "period")[i]
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            "merchant M0002 2026-W37",
            "merchant M0006 2026-W30",
            "merchant M0006 2026-W31",
            "sku M0006-S001 2026-W30",
            "sku M0006-S001 2026-W31",
        ]
    );
    let m2 = |w: &str| row(&eval, &[("level", "merchant"), ("key", "M0002"), ("period", w)]);
    assert_eq!(
        (m2("2026-W36")["r_t"].as_str(), m2("2026-W36")["n_t"].as_str()),
        ("9", "43")
    );
    assert_eq!(
        (m2("2026-W38")["r_t"].as_str(), m2("2026-W38")["n_t"].as_str()),
        ("8", "28")
    );
    // Of ≈ 2,500 other merchant-weeks none is flagged, the weeks after the Double 11 surge (8× a normal day)
    // included; the old z ≥ 3 rule flagged some of them.
    let other = (0..eval.height())
        .filter(|&i| str_col(&eval, "level")[i] == "merchant")
        .count();
    assert!(other > 2000, "{other} merchant-weeks evaluated");
    // Badges: every gold badge goes to a planted gold-worthy merchant, each of them wins at least 3 of 4 quarters,
    // and the SLA breacher never wins.
    let b = sample_table("badges");
    // The sample's last quarter has not ended at as_of: its standings count as the quarter's verdicts here.
    let (ids, status) = (str_col(&b, "merchant_id"), str_col(&b, "status_so_far"));
    let awarded = str_col(&b, "status");
    assert!(awarded.iter().any(|s| s == "provisional"));
    let gold_worthy = ["M0001", "M0003", "M0005", "M0007", "M0009"];
    // An award (an ended quarter) goes only to the planted merchants. A standing in the unfinished quarter may be
    // luck — in the sample M0014 stands gold after 28 cases and 9 ratings (too few to judge satisfaction) — which
    // is why a provisional gold is not an award (SPEC §4.7).
    for ((id, st), aw) in ids.iter().zip(&status).zip(&awarded) {
        if st == "gold" && !gold_worthy.contains(&id.as_str()) {
            assert_eq!(aw, "provisional", "{id} was awarded gold");
        }
    }
    assert!(
        awarded.iter().filter(|a| *a == "gold").count() >= 12,
        "the planted merchants' awards"
    );
    for m in gold_worthy {
        let won = ids.iter().zip(&status).filter(|(i, s)| *i == m && *s == "gold").count();
        assert!(won >= 3, "{m} won {won} quarters");
    }
    for (id, st) in ids.iter().zip(&status) {
        if id == "M0004" {
            assert_eq!(st, "not_awarded");
        }
    }
}

/// The spike detector reads the weekly sums of the lines from return_rates' cells, where a week that crosses a
/// month or a quarter is split over two rows; grouped from the lines directly it has one row per week. On the
/// sample (two quarters of lines on every day, planted spikes) both must give the same evaluation, flagged rows
/// included.
#[test]
fn spikes_from_return_rates_weekly_sums_equal_spikes_from_the_lines() {
    use aftersales::metrics::{self, return_rates, spikes};
    let (config, _loaded, p) = load_and_prepare(&repo().join("sample_data"), None);
    let (_, weeks) = return_rates::return_rates(&p).unwrap();
    let whole = return_rates::SoldWeeks::from_lines(p.lines.clone()).unwrap();
    let (split_rows, whole_rows) = (weeks.0.height(), whole.0.height());
    assert!(
        split_rows > whole_rows,
        "some week crosses a month: {split_rows} rows against {whole_rows} groups"
    );
    let from_cells = spikes::spike_evaluation(&p, &config.risk, &weeks).unwrap();
    let from_lines = spikes::spike_evaluation(&p, &config.risk, &whole).unwrap();
    assert!(from_lines.height() > 1000, "{} rows evaluated", from_lines.height());
    let flagged = from_lines.column("flagged").unwrap().bool().unwrap().sum().unwrap();
    assert!(flagged > 0, "the sample's planted spikes are flagged");
    assert!(from_cells.equals_missing(&from_lines));
    // A flagged SKU's merchant looked up in the weekly sums is the one the lines give.
    let owners = spikes::flag_owners(&from_lines, &whole).unwrap();
    let flags = spikes::risk_flags(&from_lines, &owners, &config.risk).unwrap();
    let sorted = |df: polars::prelude::DataFrame| df.sort(["sku"], Default::default()).unwrap();
    let by_weeks = sorted(metrics::merchants::flagged_sku_merchants(weeks.0.clone().lazy(), &flags).unwrap());
    let by_lines = sorted(metrics::merchants::flagged_sku_merchants(p.lines.clone(), &flags).unwrap());
    assert!(by_lines.height() > 0, "the sample flags skus");
    assert!(by_weeks.equals_missing(&by_lines));
}

/// A wave of parcels broken in transit is the carrier's spike, not the merchant's (SPEC §4.4). Two merchants, each
/// alone in its category, sell 100 lines a week in W01..W09 with 5 quality returns a week; in W09 each also gets 20
/// more early returns — MC's for damaged_in_transit (carrier), MQ's for quality_defect (merchant). Both have
/// r_b = 40, n_b = 800, p_c = 0.05, p0 = 0.05 in W09. MC: the 20 carrier lines are left out, r_t = 5, r_carrier =
/// 20, z = 0, not flagged. MQ: r_t = 25, z = (25 − 5) / 2.17945 = 9.1766 → high (the same data with the merchant's
/// reason, so the test fails if carrier returns count).
#[test]
fn a_carrier_damage_wave_does_not_flag_the_merchant_and_the_flag_row_says_what_was_left_out() {
    let mut f = Fixture::new();
    for (m, cat, wave_reason) in [("MC", "K", "damaged_in_transit"), ("MQ", "Q", "quality_defect")] {
        for w in 1..=9 {
            let wed = monday(w) + chrono::Duration::days(2);
            let returned = if w == 9 { 25 } else { 5 };
            for i in 0..100 {
                let sku = format!("S{m}");
                let o = f.line(m, &sku, cat, &ts(wed, 12));
                if i < returned {
                    let reason = if i < 5 { "quality_defect" } else { wave_reason };
                    let day = wed + chrono::Duration::days(3);
                    f.case(
                        &o,
                        &sku,
                        m,
                        reason,
                        &ts(day, 12),
                        &ts(day, 13),
                        &ts(day, 14),
                        "",
                        "",
                        "",
                    );
                }
            }
        }
    }
    let d = f.write("");
    let out = run_pipeline(d.path());
    let e = table(&out, "spike_evaluation");
    let w9 = |m: &str| row(&e, &[("level", "merchant"), ("key", m), ("period", "2026-W09")]);
    let mc = w9("MC");
    assert_eq!(
        [
            &mc["n_t"],
            &mc["r_t"],
            &mc["r_carrier"],
            &mc["r_b"],
            &mc["n_b"],
            &mc["flagged"]
        ]
        .map(String::as_str),
        ["100", "5", "20", "40", "800", "false"]
    );
    assert_close(&mc, "z", 0.0);
    let mq = w9("MQ");
    assert_eq!(
        [&mq["r_t"], &mq["r_carrier"], &mq["flagged"], &mq["severity"]].map(String::as_str),
        ["25", "0", "true", "high"]
    );
    assert!((mq["z"].parse::<f64>().unwrap() - 9.1766).abs() < 1e-4, "{}", mq["z"]);
    let flags = table(&out, "risk_flags");
    assert_eq!(count_rows(&flags, &[("level", "merchant"), ("key", "MC")]), 0);
    assert_eq!(str_col(&flags, "key").iter().filter(|k| *k == "MQ").count(), 1);
}

/// The rows of `df` where every (column, value) matches, as column → text, in file order.
fn rows_where(
    df: &polars::prelude::DataFrame,
    keys: &[(&str, &str)],
) -> Vec<std::collections::BTreeMap<String, String>> {
    use polars::prelude::{col, lit};
    let mut lf = df.clone().lazy();
    for (c, v) in keys {
        lf = lf.filter(col(*c).cast(polars::prelude::DataType::String).eq(lit(*v)));
    }
    let mut hit = lf.collect().unwrap();
    // Lists (failed_criteria, gaps) as their items joined by ",".
    let lists: Vec<String> = hit
        .columns()
        .iter()
        .filter(|c| matches!(c.dtype(), polars::prelude::DataType::List(_)))
        .map(|c| c.name().to_string())
        .collect();
    if !lists.is_empty() {
        hit = hit
            .lazy()
            .with_columns(
                lists
                    .iter()
                    .map(|c| col(c.as_str()).list().join(lit(","), true))
                    .collect::<Vec<_>>(),
            )
            .collect()
            .unwrap();
    }
    (0..hit.height())
        .map(|i| {
            hit.get_column_names()
                .iter()
                .map(|c| (c.to_string(), str_col(&hit, c)[i].clone()))
                .collect()
        })
        .collect()
}

/// MX's W09 flag is traced to its 20 returned lines: each returned 3 days after its Wednesday-noon order, none the
/// carrier's; the 3 returns opened 20 days later (outside the 14-day window) are not evidence. MT's high flag has
/// its 10.
#[test]
fn a_flag_is_traced_to_the_returns_behind_it() {
    let e = t("flag_evidence");
    let mx = rows_where(&e, &[("level", "merchant"), ("key", "MX"), ("period", "2026-W09")]);
    assert_eq!(mx.len(), 20);
    let lines: std::collections::BTreeSet<(String, String)> = mx
        .iter()
        .map(|r| (r["order_id"].clone(), r["line_no"].clone()))
        .collect();
    assert_eq!(lines.len(), 20);
    for r in &mx {
        assert_eq!(
            (
                r["severity"].as_str(),
                r["days_after_order"].as_str(),
                r["line_in_r_t"].as_str(),
                r["carrier_case"].as_str(),
                r["merchant_id"].as_str()
            ),
            ("high", "3.0", "true", "false", "MX")
        );
    }
    assert_eq!(rows_where(&e, &[("key", "MT"), ("period", "2026-W09")]).len(), 10);
    // Only flagged weeks have evidence: MY and MU (not flagged) have none; MV's 11 returns of W09 are there.
    assert!(rows_where(&e, &[("key", "MY")]).is_empty());
    assert!(rows_where(&e, &[("key", "MU")]).is_empty());
    assert_eq!(rows_where(&e, &[("key", "MV"), ("level", "merchant")]).len(), 11);
}

/// Each failed criterion of the badge fixture is traced to its records (all Q1, opened from 2026-02-02 10:00
/// local, an hour apart): FA's 3 acknowledgements 3 h after opening (deadline 2 h); FP's one refund paid 20 days
/// after its approval (02-02 13:00 → Sunday 02-22, counted as Monday 02-23: 4 + 5 + 5 + 1 = 15 working days with no
/// calendar); FD's 2 escalated cases; FL's 1 buyer-favoured dispute; FS's 12 ratings of 4. Merchants that passed
/// (G, AL, CR) have none.
#[test]
fn a_failed_badge_criterion_is_traced_to_its_records() {
    let e = t("badge_evidence");
    let of = |m: &str, c: &str| rows_where(&e, &[("quarter", "2026Q1"), ("merchant_id", m), ("criterion", c)]);
    let fa = of("FA", "ack_on_time");
    assert_eq!(fa.len(), 3);
    assert_eq!(
        (fa[0]["at"].as_str(), fa[0]["deadline"].as_str(), fa[0]["stop"].as_str()),
        (
            "2026-02-02 02:00:00.000000+00:00",
            "2026-02-02 04:00:00.000000+00:00",
            "2026-02-02 05:00:00.000000+00:00"
        )
    );
    assert!(
        fa.iter()
            .all(|r| r["value"] == "3.0" && r["unit"] == "hours" && r["record_type"] == "case")
    );
    let fp = of("FP", "refund_on_time");
    assert_eq!(fp.len(), 1);
    assert_eq!(
        (
            fp[0]["record_type"].as_str(),
            fp[0]["value"].as_str(),
            fp[0]["unit"].as_str(),
            fp[0]["detail"].as_str()
        ),
        ("refund", "15.0", "working_days", "stopped after the deadline")
    );
    let fd = of("FD", "dispute_rate");
    assert_eq!(fd.len(), 2);
    assert!(fd.iter().all(|r| r["detail"] == "escalated; outcome merchant_favoured"));
    let fl = of("FL", "dispute_loss_rate");
    assert_eq!(fl.len(), 1);
    assert_eq!(
        (fl[0]["at"].as_str(), fl[0]["stop"].as_str(), fl[0]["detail"].as_str()),
        (
            "2026-02-02 02:00:00.000000+00:00",
            "2026-02-03 02:00:00.000000+00:00",
            "escalated; outcome buyer_favoured"
        )
    );
    let fs = of("FS", "satisfaction");
    assert_eq!(fs.len(), 12);
    assert!(fs.iter().all(|r| r["value"] == "4.0" && r["detail"] == "rated 4"));
    for m in ["G", "AL", "CR"] {
        assert!(rows_where(&e, &[("merchant_id", m)]).is_empty(), "{m}");
    }
}

/// On the sample, the evidence adds up to the tables it explains: per flag, its evidence lines in r_t are r_t and
/// the others r_carrier; per failed criterion, the records are the badge's own counts (disputes, buyer_favoured,
/// high flags) or the breached clocks sla_compliance counts; and every failed criterion has evidence.
#[test]
fn the_evidence_adds_up_to_the_flags_and_badges_it_explains() {
    let (fe, flags) = (sample_table("flag_evidence"), sample_table("risk_flags"));
    assert!(flags.height() > 0);
    for f in rows_where(&flags, &[]) {
        let rows = rows_where(
            &fe,
            &[("level", &f["level"]), ("key", &f["key"]), ("period", &f["period"])],
        );
        let lines = |in_r: &str| {
            rows.iter()
                .filter(|r| r["line_in_r_t"] == in_r)
                .map(|r| (r["order_id"].clone(), r["line_no"].clone()))
                .collect::<std::collections::BTreeSet<_>>()
                .len()
        };
        assert_eq!(lines("true").to_string(), f["r_t"], "{f:?}");
        assert_eq!(lines("false").to_string(), f["r_carrier"], "{f:?}");
    }
    let (be, badges, compliance) = (
        sample_table("badge_evidence"),
        sample_table("badges"),
        sample_table("sla_compliance"),
    );
    let mut checked = 0;
    for b in rows_where(&badges, &[]) {
        let failed: Vec<&str> = b["failed_criteria"].split(',').filter(|c| !c.is_empty()).collect();
        let n = |c: &str| {
            rows_where(
                &be,
                &[
                    ("quarter", &b["quarter"]),
                    ("merchant_id", &b["merchant_id"]),
                    ("criterion", c),
                ],
            )
            .len()
        };
        for c in &failed {
            let want = match *c {
                "dispute_rate" => b["disputes"].parse().unwrap(),
                "dispute_loss_rate" => b["buyer_favoured"].parse().unwrap(),
                "no_high_spike" => b["no_high_spike_value"].parse::<f64>().unwrap() as usize,
                "satisfaction" => n(c).max(1),
                rule_criterion => {
                    let rule = match rule_criterion {
                        "ack_on_time" => "merchant_ack",
                        "first_response_on_time" => "first_response",
                        _ => "refund_payout",
                    };
                    row(
                        &compliance,
                        &[
                            ("period_kind", "quarter"),
                            ("period", &b["quarter"]),
                            ("level", "merchant"),
                            ("merchant_id", &b["merchant_id"]),
                            ("rule", rule),
                        ],
                    )["breached"]
                        .parse()
                        .unwrap()
                }
            };
            assert!(n(c) > 0, "{c} of {b:?} has no evidence");
            assert_eq!(n(c), want, "{c} of {}/{}", b["quarter"], b["merchant_id"]);
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked}");
    // Nothing else: every evidence row explains a failed criterion.
    let total: usize = be.height();
    let explained: usize = rows_where(&badges, &[])
        .iter()
        .map(|b| {
            let failed: Vec<&str> = b["failed_criteria"].split(',').filter(|c| !c.is_empty()).collect();
            failed
                .iter()
                .map(|c| {
                    rows_where(
                        &be,
                        &[
                            ("quarter", &b["quarter"]),
                            ("merchant_id", &b["merchant_id"]),
                            ("criterion", c),
                        ],
                    )
                    .len()
                })
                .sum::<usize>()
        })
        .sum();
    assert_eq!(total, explained);
}
