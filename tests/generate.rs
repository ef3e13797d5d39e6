//! `generate` is deterministic, sample_data/ is exactly what it makes, and the planted patterns are found again
//! by counting the output — never by asking the generator.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use aftersales::config::Config;
use aftersales::input::load_table;
use aftersales::progress::Progress;
use aftersales::tables::TableKind;
use aftersales::time::iso_week_expr;
use polars::prelude::*;

const TZ: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().unwrap() != "README.md")
        .map(|p| {
            (
                p.file_name().unwrap().to_str().unwrap().to_string(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

fn gen_into(dir: &Path, scale: &str, seed: &str, extra: &[&str]) {
    let mut args = vec![
        "generate",
        "--out",
        dir.to_str().unwrap(),
        "--scale",
        scale,
        "--seed",
        seed,
    ];
    args.extend(extra);
    let o = common::aftersales(&args);
    assert!(o.status.success(), "{}", common::stderr(&o));
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    gen_into(a.path(), "0.005", "5", &[]);
    gen_into(b.path(), "0.005", "5", &[]);
    gen_into(c.path(), "0.005", "6", &[]);
    let (fa, fb, fc) = (files(a.path()), files(b.path()), files(c.path()));
    assert_eq!(
        fa.keys().collect::<Vec<_>>(),
        [
            "aftersales.toml",
            "cases.csv",
            "merchants.csv",
            "orders.csv",
            "refunds.csv",
            "shipments.csv"
        ]
    );
    assert!(fa == fb, "same seed must give the same bytes");
    assert_ne!(fa["orders.csv"], fc["orders.csv"]);
}

#[test]
fn sample_data_is_what_generate_makes() {
    // sample_data/README.md gives this command; a change to the generator must come with regenerated samples.
    let d = tempfile::tempdir().unwrap();
    gen_into(d.path(), "0.04", "42", &["--zh-copy"]);
    let (made, committed) = (files(d.path()), files(&common::repo().join("sample_data")));
    assert_eq!(made.keys().collect::<Vec<_>>(), committed.keys().collect::<Vec<_>>());
    for (name, bytes) in &made {
        assert!(
            bytes == &committed[name],
            "sample_data/{name} differs from what `generate` makes now"
        );
    }
}

struct Sample {
    orders: DataFrame,
    cases: DataFrame,
    shipments: DataFrame,
    refunds: DataFrame,
    merchants: DataFrame,
}

fn sample() -> Sample {
    let dir = common::repo().join("sample_data");
    let cfg = Config::load(&dir.join("aftersales.toml")).unwrap();
    let load = |k| {
        load_table(&dir, k, &cfg.table(k), TZ, &Progress::hidden())
            .unwrap()
            .unwrap()
            .data()
            .unwrap()
    };
    Sample {
        orders: load(TableKind::Orders),
        cases: load(TableKind::Cases),
        shipments: load(TableKind::Shipments),
        refunds: load(TableKind::Refunds),
        merchants: load(TableKind::Merchants),
    }
}

fn f64s(df: &DataFrame, c: &str) -> Vec<f64> {
    df.column(c)
        .unwrap()
        .cast(&DataType::Float64)
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect()
}

/// (key, value) pairs of a two-column frame.
fn pairs(df: &DataFrame, k: &str, v: &str) -> Vec<(String, f64)> {
    common::str_col(df, k).into_iter().zip(f64s(df, v)).collect()
}

#[test]
fn damage_prone_carrier_damages_about_three_times_as_often() {
    let s = sample();
    let rates = s
        .shipments
        .lazy()
        .filter(col("outcome").neq(lit("in_transit")))
        .group_by([col("carrier")])
        .agg([
            (col("outcome").eq(lit("damaged")).cast(DataType::Float64).mean()).alias("rate"),
            len().alias("n"),
        ])
        .sort(["carrier"], Default::default())
        .collect()
        .unwrap();
    let r = pairs(&rates, "carrier", "rate");
    let (jt, others): (Vec<_>, Vec<_>) = r.into_iter().partition(|(c, _)| c == "极兔速递");
    let jt = jt[0].1;
    let mean_others = others.iter().map(|x| x.1).sum::<f64>() / others.len() as f64;
    for (c, rate) in &others {
        assert!(jt > 2.0 * rate, "极兔速递 {jt:.4} vs {c} {rate:.4}");
    }
    let ratio = jt / mean_others;
    assert!((2.0..=5.0).contains(&ratio), "ratio {ratio:.2}");
}

fn hours(a: &str, b: &str) -> Expr {
    (col(b) - col(a)).dt().total_seconds(false).cast(DataType::Float64) / lit(3600.0)
}

#[test]
fn sla_breacher_is_slowest_to_acknowledge_and_to_pay_out() {
    let s = sample();
    let ack = s
        .cases
        .lazy()
        .filter(col("merchant_ack_at").is_not_null())
        .group_by([col("merchant_id")])
        .agg([
            hours("opened_at", "merchant_ack_at")
                .gt(lit(2.0))
                .cast(DataType::Float64)
                .mean()
                .alias("late"),
            len().alias("n"),
        ])
        .filter(col("n").gt_eq(lit(50)))
        .sort(["late"], SortMultipleOptions::default().with_order_descending(true))
        .collect()
        .unwrap();
    let ack = pairs(&ack, "merchant_id", "late");
    assert_eq!(ack[0].0, "M0004", "{ack:?}");
    assert!(ack[0].1 > 0.3 && ack[1].1 < 0.2, "{ack:?}");

    // 7 working days is at least 9 calendar days; late payouts are counted conservatively.
    let pay = s
        .refunds
        .lazy()
        .filter(col("refunded_at").is_not_null())
        .group_by([col("merchant_id")])
        .agg([
            hours("approved_at", "refunded_at")
                .gt(lit(9.0 * 24.0))
                .cast(DataType::Float64)
                .mean()
                .alias("late"),
            len().alias("n"),
        ])
        .filter(col("n").gt_eq(lit(30)))
        .sort(["late"], SortMultipleOptions::default().with_order_descending(true))
        .collect()
        .unwrap();
    let pay = pairs(&pay, "merchant_id", "late");
    assert_eq!(pay[0].0, "M0004", "{pay:?}");
    assert!(pay[0].1 > 0.2 && pay[1].1 < 0.1, "{pay:?}");
}

/// Return cases (return/exchange) per order line, by the line's ISO order week, in spike weeks vs the rest.
fn spike_ratio(s: &Sample, filter: Expr, weeks: &[&str]) -> (f64, f64) {
    let returns = s
        .cases
        .clone()
        .lazy()
        .filter(col("case_type").is_in(
            lit(Series::new("t".into(), ["return", "exchange"])).implode(false),
            false,
        ))
        .select([col("order_id"), col("sku"), lit(1.0).alias("ret")])
        .unique(None, UniqueKeepStrategy::Any);
    let lines = s
        .orders
        .clone()
        .lazy()
        .filter(filter)
        .join(
            returns,
            [col("order_id"), col("sku")],
            [col("order_id"), col("sku")],
            JoinArgs::new(JoinType::Left),
        )
        .with_column(iso_week_expr(col("ordered_at"), TZ).alias("week"))
        .with_column(
            col("week")
                .is_in(lit(Series::new("w".into(), weeks)).implode(false), false)
                .alias("spike"),
        )
        .group_by([col("spike")])
        .agg([col("ret").fill_null(lit(0.0)).mean().alias("rate")])
        .sort(["spike"], Default::default())
        .collect()
        .unwrap();
    let r = f64s(&lines, "rate");
    (r[1], r[0])
}

#[test]
fn spiking_merchant_and_sku_return_far_more_in_their_weeks() {
    let s = sample();
    let (spike, rest) = spike_ratio(
        &s,
        col("merchant_id").eq(lit("M0002")),
        &["2026-W36", "2026-W37", "2026-W38"],
    );
    assert!(spike > 2.0 * rest, "M0002 spike weeks {spike:.3} vs rest {rest:.3}");
    let (spike, rest) = spike_ratio(&s, col("sku").eq(lit("M0006-S001")), &["2026-W30", "2026-W31"]);
    assert!(
        spike > 2.5 * rest,
        "M0006-S001 spike weeks {spike:.3} vs rest {rest:.3}"
    );
}

#[test]
fn gold_worthy_merchants_are_fast_and_well_rated() {
    let s = sample();
    let per = s
        .cases
        .lazy()
        .group_by([col("merchant_id")])
        .agg([
            hours("opened_at", "merchant_ack_at")
                .gt(lit(2.0))
                .cast(DataType::Float64)
                .mean()
                .alias("ack_late"),
            hours("opened_at", "first_response_at")
                .gt(lit(24.0))
                .cast(DataType::Float64)
                .mean()
                .alias("resp_late"),
            col("satisfaction").cast(DataType::Float64).mean().alias("sat"),
            col("escalated_at")
                .is_not_null()
                .cast(DataType::Float64)
                .mean()
                .alias("disputes"),
        ])
        .collect()
        .unwrap();
    let ids = common::str_col(&per, "merchant_id");
    let (ack, resp, sat, disp) = (
        f64s(&per, "ack_late"),
        f64s(&per, "resp_late"),
        f64s(&per, "sat"),
        f64s(&per, "disputes"),
    );
    for m in ["M0001", "M0003", "M0005", "M0007", "M0009"] {
        let i = ids.iter().position(|x| x == m).unwrap();
        assert!(
            ack[i] < 0.02 && resp[i] < 0.02 && sat[i] >= 4.5 && disp[i] < 0.02,
            "{m}: ack {} resp {} sat {} disputes {}",
            ack[i],
            resp[i],
            sat[i],
            disp[i]
        );
    }
    // And most other merchants are not: their mean rating is below 4.5.
    let others_below = ids
        .iter()
        .zip(&sat)
        .filter(|(m, s)| !["M0001", "M0003", "M0005", "M0007", "M0009"].contains(&m.as_str()) && **s < 4.5)
        .count();
    assert!(
        others_below as f64 >= 0.9 * (ids.len() - 5) as f64,
        "{others_below} of {}",
        ids.len() - 5
    );
}

#[test]
fn double_eleven_surge_is_there() {
    let s = sample();
    let tz = polars::prelude::TimeZone::opt_try_new(Some("Asia/Shanghai"))
        .unwrap()
        .unwrap();
    let daily = s
        .orders
        .lazy()
        .with_column(
            col("ordered_at")
                .dt()
                .convert_time_zone(tz)
                .dt()
                .strftime("%Y-%m-%d")
                .alias("day"),
        )
        .group_by([col("day")])
        .agg([len().cast(DataType::Float64).alias("n")])
        .collect()
        .unwrap();
    let days: BTreeMap<String, f64> = pairs(&daily, "day", "n").into_iter().collect();
    let mut october: Vec<f64> = days
        .iter()
        .filter(|(d, _)| d.starts_with("2026-10"))
        .map(|(_, n)| *n)
        .collect();
    october.sort_by(f64::total_cmp);
    let median = october[october.len() / 2];
    assert!(
        days["2026-11-11"] > 5.0 * median,
        "11-11: {} vs October median {median}",
        days["2026-11-11"]
    );
}

#[test]
fn chinese_names_and_open_cases_at_export() {
    let s = sample();
    let names = common::str_col(&s.merchants, "merchant_name");
    assert!(
        names
            .iter()
            .all(|n| n.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))),
        "{names:?}"
    );
    let cats = common::str_col(
        &s.orders
            .clone()
            .lazy()
            .select([col("category").unique()])
            .collect()
            .unwrap(),
        "category",
    );
    assert!(cats.contains(&"服装".to_string()) && cats.len() >= 8, "{cats:?}");
    // Cases take days to close: at the export moment most of the last fortnight's cases are still open, and
    // almost none of the older ones.
    let export = aftersales::time::parse_ts("2026-12-31 23:59:59", TZ).unwrap();
    let recent = lit(export - 14 * 86_400_000_000).cast(aftersales::time::ts_dtype());
    let share = s
        .cases
        .clone()
        .lazy()
        .group_by([col("opened_at").gt_eq(recent).alias("recent")])
        .agg([col("status")
            .eq(lit("open"))
            .cast(DataType::Float64)
            .mean()
            .alias("open")])
        .sort(["recent"], Default::default())
        .collect()
        .unwrap();
    let open = f64s(&share, "open");
    assert!(open[0] < 0.01, "older cases open: {:.3}", open[0]);
    assert!(
        (0.2..=0.8).contains(&open[1]),
        "last fortnight's cases open: {:.3}",
        open[1]
    );
    let pending = common::str_col(&s.refunds, "status")
        .iter()
        .filter(|s| *s == "pending")
        .count();
    assert!(pending > 0);
    let in_transit = common::str_col(&s.shipments, "outcome")
        .iter()
        .filter(|s| *s == "in_transit")
        .count();
    assert!(in_transit > 0);
}

#[test]
fn the_chinese_gbk_cases_export_reads_back_to_the_same_cases() {
    let dir = common::repo().join("sample_data");
    let zh = Config::load(&dir.join("zh_export.toml")).unwrap();
    let plain = Config::load(&dir.join("aftersales.toml")).unwrap();
    let a = load_table(
        &dir,
        TableKind::Cases,
        &zh.table(TableKind::Cases),
        TZ,
        &Progress::hidden(),
    )
    .unwrap()
    .unwrap();
    let b = load_table(
        &dir,
        TableKind::Cases,
        &plain.table(TableKind::Cases),
        TZ,
        &Progress::hidden(),
    )
    .unwrap()
    .unwrap();
    assert!(a.files[0].file.ends_with("cases_zh_gbk.csv"));
    assert_eq!(a.rows_rejected(), 0, "{:?}", &a.rejects[..a.rejects.len().min(3)]);
    assert!(a.data().unwrap().equals_missing(&b.data().unwrap()));
}
