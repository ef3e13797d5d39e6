//! SLA clocks on the hand-worked fixtures tests/data/sla (Asia/Shanghai, China's 2026 calendar, as_of 2026-03-10
//! 12:00 local) and tests/data/sla_dst (Europe/Berlin). Every deadline and status below is worked out by hand.

mod common;

use common::*;
use polars::prelude::IntoLazy;

fn clock(df: &polars::prelude::DataFrame, rule: &str, id: &str) -> std::collections::BTreeMap<String, String> {
    row(df, &[("rule", rule), ("record_id", id)])
}

fn status(df: &polars::prelude::DataFrame, rule: &str, id: &str) -> String {
    clock(df, rule, id)["status"].clone()
}

#[test]
fn calendar_clocks_for_every_rule_and_status() {
    let out = run_pipeline(&data("sla"));
    let c = table(&out, "sla_clocks");
    // K1 (return) opened 03-02 10:00: acknowledged at 12:00:00, exactly the 2-hour deadline → met, 2.0 hours.
    let k1 = clock(&c, "merchant_ack", "K1");
    assert_eq!((k1["status"].as_str(), k1["elapsed"].as_str()), ("met", "2.0"));
    assert_eq!(k1["deadline"], "2026-03-02 04:00:00.000000+00:00");
    // First response at 03-03 10:00:01: one second after the 24-hour deadline → breached.
    assert_eq!(status(&c, "first_response", "K1"), "breached");
    assert_close(&clock(&c, "first_response", "K1"), "elapsed", 24.0 + 1.0 / 3600.0);
    // Decision at 20:00, 10 hours in → met; inspection exactly 48 hours after receipt → met.
    assert_eq!(status(&c, "review_decision", "K1"), "met");
    assert_eq!(clock(&c, "return_inspection", "K1")["elapsed"], "48.0");
    assert_eq!(status(&c, "return_inspection", "K1"), "met");
    // K2, a complaint: no acknowledgement clock; resolved one second past 72 hours → breached.
    assert_eq!(count_rows(&c, &[("rule", "merchant_ack"), ("record_id", "K2")]), 0);
    assert_eq!(status(&c, "complaint_resolution", "K2"), "breached");
    assert_eq!(status(&c, "first_response", "K2"), "met");
    // K3, a repair opened 03-09 10:00, untouched at as_of 03-10 12:00: the 2 h and 24 h deadlines have passed
    // (a running clock past its deadline is breached), the 48 h repair deadline (03-11 10:00) has not.
    assert_eq!(status(&c, "merchant_ack", "K3"), "breached");
    assert_eq!(status(&c, "first_response", "K3"), "breached");
    assert_eq!(status(&c, "repair_response", "K3"), "running");
    assert_eq!(clock(&c, "repair_response", "K3")["elapsed"], "null");
    // K4 opened 03-10 11:00, one hour before as_of: everything still running.
    for rule in ["merchant_ack", "first_response", "review_decision"] {
        assert_eq!(status(&c, rule, "K4"), "running", "{rule}");
    }
    // K5 was cancelled before anyone answered: void, not breached.
    for rule in ["merchant_ack", "first_response", "review_decision"] {
        assert_eq!(status(&c, rule, "K5"), "void", "{rule}");
    }
    // K6 acknowledged an hour before it was opened: invalid, and no elapsed.
    let k6 = clock(&c, "merchant_ack", "K6");
    assert_eq!((k6["status"].as_str(), k6["elapsed"].as_str()), ("invalid", "null"));
    // K8's acknowledgement is stamped 13:00, after as_of: at as_of it had not happened, and 10:00 has passed.
    let k8 = clock(&c, "merchant_ack", "K8");
    assert_eq!((k8["status"].as_str(), k8["stop"].as_str()), ("breached", "null"));
    assert_eq!(status(&c, "first_response", "K8"), "running");
    // Rules only where they apply: review_decision is for return, exchange and refund_only.
    assert_eq!(count_rows(&c, &[("rule", "review_decision"), ("record_id", "K7")]), 0);
}

#[test]
fn working_day_refund_clocks_follow_the_calendar() {
    let out = run_pipeline(&data("sla"));
    let c = table(&out, "sla_clocks");
    // F1: approved Friday 02-13 20:00, before the Spring Festival. Working days after the 13th: Sat 02-14 (make-up
    // workday) = 1, 02-15..02-23 holidays, 02-24..02-27 = 2..5, Sat 02-28 (make-up) = 6, Mon 03-02 = 7. Deadline: end
    // of 03-02 local = 03-02 15:59:59.999999 UTC. Paid 03-02 23:59:59 → met after 7 working days.
    let f1 = clock(&c, "refund_payout", "F1");
    assert_eq!(f1["deadline"], "2026-03-02 15:59:59.999999+00:00");
    assert_eq!((f1["status"].as_str(), f1["elapsed"].as_str()), ("met", "7.0"));
    // F2: same approval, paid at 03-03 00:00:00 → one second late, the 8th working day.
    let f2 = clock(&c, "refund_payout", "F2");
    assert_eq!((f2["status"].as_str(), f2["elapsed"].as_str()), ("breached", "8.0"));
    // F3: approved on a holiday (Tue 02-17). Day 1 is 02-24 … day 7 is 03-03. Paid 02-20, still a holiday, which
    // counts as the next working day (02-24): 1 working day.
    let f3 = clock(&c, "refund_payout", "F3");
    assert_eq!(f3["deadline"], "2026-03-03 15:59:59.999999+00:00");
    assert_eq!((f3["status"].as_str(), f3["elapsed"].as_str()), ("met", "1.0"));
    // F4: approved on the make-up Saturday 02-28 (a working day, which does not count itself): 03-02 … 03-10 is
    // day 7, deadline 03-10 23:59:59.999999 local; unpaid at as_of 03-10 12:00 → running.
    let f4 = clock(&c, "refund_payout", "F4");
    assert_eq!(f4["deadline"], "2026-03-10 15:59:59.999999+00:00");
    assert_eq!(f4["status"], "running");
    // F5: approved 2025-12-31 over New Year: 01-01..01-03 off, Sun 01-04 make-up = 1, 01-05..01-09 = 2..6,
    // Mon 01-12 = 7. Paid 01-12 18:00 → met.
    let f5 = clock(&c, "refund_payout", "F5");
    assert_eq!(f5["deadline"], "2026-01-12 15:59:59.999999+00:00");
    assert_eq!((f5["status"].as_str(), f5["elapsed"].as_str()), ("met", "7.0"));
    // F6 failed: void. F7 approved Wed 02-25: 02-26 = 1, 02-27 = 2, 02-28 = 3, 03-02..03-05 = 4..7; unpaid and as_of
    // is past 03-05 → breached. F8 paid before it was approved → invalid.
    assert_eq!(status(&c, "refund_payout", "F6"), "void");
    let f7 = clock(&c, "refund_payout", "F7");
    assert_eq!(
        (f7["deadline"].as_str(), f7["status"].as_str()),
        ("2026-03-05 15:59:59.999999+00:00", "breached")
    );
    assert_eq!(status(&c, "refund_payout", "F8"), "invalid");
    assert_eq!(clock(&c, "refund_payout", "F1")["clock"], "working_days");
}

#[test]
fn compliance_counts_medians_and_platform_rows() {
    let out = run_pipeline(&data("sla"));
    let s = table(&out, "sla_compliance");
    let r = |kind: &str, p: &str, m: &str, rule: &str| {
        row(
            &s,
            &[("period_kind", kind), ("period", p), ("merchant_id", m), ("rule", rule)],
        )
    };
    // merchant_ack, March, platform: K1 met, K3 breached, K4 running, K5 void, K6 invalid, K7 met, K8 breached.
    let ack = r("month", "2026-03", "all", "merchant_ack");
    assert_eq!(
        (
            ack["clocks"].as_str(),
            ack["evaluated"].as_str(),
            ack["met"].as_str(),
            ack["breached"].as_str(),
            ack["running"].as_str(),
            ack["void"].as_str(),
            ack["invalid"].as_str()
        ),
        ("7", "4", "2", "2", "1", "1", "1")
    );
    assert_close(&ack, "compliance", 0.5);
    // Elapsed over stopped clocks only: K1 2.0 h and K7 1.0 h (K3 and K8 are breached but not stopped).
    assert_close(&ack, "elapsed_p50", 1.5);
    assert_close(&ack, "elapsed_p90", 1.9);
    assert_eq!(ack["level"], "platform");
    // Per merchant: M2 has only K7.
    let m2 = r("month", "2026-03", "M2", "merchant_ack");
    assert_eq!(
        (m2["evaluated"].as_str(), m2["met"].as_str(), m2["level"].as_str()),
        ("1", "1", "merchant")
    );
    // refund_payout by the month of approval. February: F1 met (7), F2 breached (8), F3 met (1), F4 running,
    // F7 breached → 2 of 4; p50 of [1, 7, 8] = 7, p90 = 7 + 0.8 × (8 − 7) = 7.8.
    let feb = r("month", "2026-02", "all", "refund_payout");
    assert_eq!(
        (feb["evaluated"].as_str(), feb["met"].as_str(), feb["running"].as_str()),
        ("4", "2", "1")
    );
    assert_close(&feb, "compliance", 0.5);
    assert_close(&feb, "elapsed_p50", 7.0);
    assert_close(&feb, "elapsed_p90", 7.8);
    // March: F6 void and F8 invalid: nothing evaluated, so no compliance figure.
    let mar = r("month", "2026-03", "all", "refund_payout");
    assert_eq!((mar["evaluated"].as_str(), mar["compliance"].as_str()), ("0", "null"));
    // December 2025 (F5) and Q4 2025.
    assert_close(&r("quarter", "2025Q4", "all", "refund_payout"), "compliance", 1.0);
}

#[test]
fn a_rule_added_in_the_config_appears_in_both_tables() {
    let d = tempfile::tempdir().unwrap();
    copy_dir(&data("sla"), d.path());
    let mut cfg = std::fs::read_to_string(d.path().join("aftersales.toml")).unwrap();
    cfg.push_str("\n[[sla.rules]]\nname = \"late_response\"\nstart = \"opened_at\"\nstop = \"first_response_at\"\ntarget_hours = 48\n");
    std::fs::write(d.path().join("aftersales.toml"), cfg).unwrap();
    let out = run_pipeline(d.path());
    let c = table(&out, "sla_clocks");
    // K1's first response came 24 h 1 s after opening: late for the 24-hour rule, in time for the 48-hour one.
    assert_eq!(status(&c, "late_response", "K1"), "met");
    assert_eq!(status(&c, "first_response", "K1"), "breached");
    // K3 (opened 03-09 10:00, no response): 48 hours not yet passed at as_of.
    assert_eq!(status(&c, "late_response", "K3"), "running");
    let s = table(&out, "sla_compliance");
    let r = row(
        &s,
        &[
            ("period_kind", "month"),
            ("period", "2026-03"),
            ("merchant_id", "all"),
            ("rule", "late_response"),
        ],
    );
    assert_eq!(r["target"], "48.0");
}

#[test]
fn calendar_targets_are_exact_across_daylight_saving_changes() {
    let out = run_pipeline(&data("sla_dst"));
    let c = table(&out, "sla_clocks");
    // D1: opened 03-28 12:00 CET (11:00 UTC), answered 03-29 13:00 CEST (11:00 UTC): 25 hours on the wall clock,
    // exactly 24 hours of real time → met. D2 one second later → breached.
    let d1 = clock(&c, "first_response", "D1");
    assert_eq!((d1["status"].as_str(), d1["elapsed"].as_str()), ("met", "24.0"));
    assert_eq!(d1["deadline"], "2026-03-29 11:00:00.000000+00:00");
    assert_eq!(status(&c, "first_response", "D2"), "breached");
    // D3: opened 10-24 12:00 CEST (10:00 UTC), answered 10-25 11:00 CET (10:00 UTC): 23 wall-clock hours, 24 real
    // hours → met. D4 answered at 12:00 CET: 24 wall-clock hours but 25 real ones → breached.
    let d3 = clock(&c, "first_response", "D3");
    assert_eq!((d3["status"].as_str(), d3["elapsed"].as_str()), ("met", "24.0"));
    let d4 = clock(&c, "first_response", "D4");
    assert_eq!((d4["status"].as_str(), d4["elapsed"].as_str()), ("breached", "25.0"));
}

#[test]
fn judged_at_as_of_not_the_wall_clock() {
    // K4 was opened at 2026-03-10 11:00, an hour before the fixture's as_of, and nothing has happened to it since.
    // Judged at as_of its 2-hour acknowledgement clock is still running; judged at today's date (months later, as
    // the premise checks) it would be breached.
    let deadline = chrono::NaiveDate::from_ymd_opt(2026, 3, 10)
        .unwrap()
        .and_hms_opt(13, 0, 0)
        .unwrap();
    assert!(
        chrono::Local::now().naive_local() > deadline,
        "the premise: the deadline is in the past"
    );
    let c = table(&run_pipeline(&data("sla")), "sla_clocks");
    assert_eq!(status(&c, "merchant_ack", "K4"), "running");
    assert_eq!(status(&c, "first_response", "K4"), "running");
}

#[test]
fn planted_sla_breacher_has_the_lowest_ack_and_refund_compliance() {
    let s = sample_table("sla_compliance");
    for rule in ["merchant_ack", "refund_payout"] {
        for q in ["2026Q1", "2026Q2", "2026Q3", "2026Q4"] {
            // Merchants with at least 20 evaluated clocks in the quarter: the others' rates are mostly noise.
            let rows = s
                .clone()
                .lazy()
                .filter(
                    polars::prelude::col("period_kind")
                        .eq(polars::prelude::lit("quarter"))
                        .and(polars::prelude::col("period").eq(polars::prelude::lit(q)))
                        .and(polars::prelude::col("level").eq(polars::prelude::lit("merchant")))
                        .and(polars::prelude::col("rule").eq(polars::prelude::lit(rule)))
                        .and(polars::prelude::col("evaluated").gt_eq(polars::prelude::lit(20i64))),
                )
                .sort(["compliance"], Default::default())
                .collect()
                .unwrap();
            let ids = str_col(&rows, "merchant_id");
            assert_eq!(ids[0], "M0004", "{rule} {q}: {rows}");
        }
    }
}

/// The clocks written into a working file (as every command does) and the clocks held in memory (no working
/// folder: the benches) are the same rows in the same order — rule by rule, each rule's by record_id — although
/// the working-file path only checks an order the in-memory path always sorts (regression: the sort moved out of
/// the plans, and the in-memory path lost it).
#[test]
fn sla_clocks_in_a_working_file_and_in_memory_are_the_same_rows_in_record_order() {
    use aftersales::metrics::sla;

    // The hand-worked fixture with its cases and refunds in reverse id order: neither path may keep the export's.
    let copy = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(data("sla")).unwrap() {
        let f = f.unwrap().path();
        let text = std::fs::read_to_string(&f).unwrap();
        let name = f.file_name().unwrap().to_owned();
        let text = if name == "cases.csv" || name == "refunds.csv" {
            let mut lines: Vec<&str> = text.lines().collect();
            lines[1..].reverse();
            lines.join("\n") + "\n"
        } else {
            text
        };
        std::fs::write(copy.path().join(name), text).unwrap();
    }
    let dir = copy.path().to_path_buf();
    let work = tempfile::tempdir().unwrap();
    let (config, loaded, p) = load_and_prepare(&dir, Some(work.path()));
    let collect = |c: sla::Clocks| (c.rows, c.scan.collect().unwrap());
    let (file_rows, in_file) =
        collect(sla::sla_clocks(&p, &config.sla_rules, &config.calendar, loaded.work.as_ref()).unwrap());
    let (memory_rows, in_memory) = collect(sla::sla_clocks(&p, &config.sla_rules, &config.calendar, None).unwrap());
    assert!(file_rows > 0);
    assert_eq!(
        (file_rows, memory_rows),
        (in_file.height() as u64, in_memory.height() as u64)
    );
    assert!(in_file.equals_missing(&in_memory), "{in_file}\n{in_memory}");
    let strs = |df: &polars::prelude::DataFrame, c: &str| -> Vec<String> {
        df.column(c)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .flatten()
            .map(str::to_string)
            .collect()
    };
    for clocks in [&in_file, &in_memory] {
        let (rules, ids) = (strs(clocks, "rule"), strs(clocks, "record_id"));
        for i in 1..ids.len() {
            if rules[i] == rules[i - 1] {
                assert!(ids[i - 1] <= ids[i], "{} before {} in {}", ids[i - 1], ids[i], rules[i]);
            }
        }
    }
}

/// The hand-worked fixture with its own 2026 days replaced by `calendar = "cn"` (the bundled official calendar)
/// gives the same clocks, and no calendar warning (2025 and 2026 are both described). With no calendar at all,
/// F1 (approved Friday 02-13 20:00) counts the Spring Festival as working days — 02-16 … 02-20 = 1..5, 02-23 = 6,
/// 02-24 = 7: deadline end of 02-24, paid 03-02 → breached — and data_quality says, once per year the clocks touch,
/// that no calendar describes it.
#[test]
fn the_bundled_cn_calendar_gives_the_hand_worked_clocks_and_no_calendar_says_so() {
    let with = |calendar: &str| {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&data("sla"), dir.path());
        std::fs::write(
            dir.path().join("aftersales.toml"),
            format!("timezone = \"Asia/Shanghai\"\nas_of = \"2026-03-10 12:00:00\"\n{calendar}"),
        )
        .unwrap();
        let out = run_pipeline(dir.path());
        let dq = read_parquet(&out.path().join("out/data_quality.parquet"));
        let calendar_rows: Vec<(String, String)> = (0..dq.height())
            .filter(|&i| str_col(&dq, "check")[i] == "calendar_year_not_described")
            .map(|i| (str_col(&dq, "key")[i].clone(), str_col(&dq, "value")[i].clone()))
            .collect();
        (table(&out, "sla_clocks"), calendar_rows, dq)
    };
    let own = std::fs::read_to_string(data("sla/aftersales.toml")).unwrap();
    let (explicit, explicit_warnings, _) = with(&own[own.find("[calendar]").unwrap()..]);
    let (cn, cn_warnings, _) = with("calendar = \"cn\"\n");
    for id in ["F1", "F2", "F3", "F4", "F5", "F7"] {
        assert_eq!(
            clock(&cn, "refund_payout", id),
            clock(&explicit, "refund_payout", id),
            "{id}"
        );
    }
    assert!(cn_warnings.is_empty(), "{cn_warnings:?}");
    // The fixture's own list covers 2026 only; F5 was approved on 2025-12-31.
    assert_eq!(explicit_warnings, [("refund_payout".to_string(), "2025".to_string())]);
    let (none, none_warnings, dq) = with("");
    let f1 = clock(&none, "refund_payout", "F1");
    assert_eq!(
        (f1["deadline"].as_str(), f1["status"].as_str()),
        ("2026-02-24 15:59:59.999999+00:00", "breached")
    );
    assert_eq!(
        none_warnings,
        [
            ("refund_payout".to_string(), "2025".to_string()),
            ("refund_payout".to_string(), "2026".to_string())
        ]
    );
    let message = str_col(&dq, "message")
        .into_iter()
        .find(|m| m.starts_with("rule refund_payout counts working days in 2026"))
        .unwrap();
    assert!(message.contains("set calendar = \"cn\""), "{message}");
}
