//! Properties of the whole computation (issue "The input boundary"), each checked on small generated exports
//! (`aftersales generate --scale 0.003`, ≈ 3,000 order lines, a different seed per case):
//! - shuffling the data rows of every input file changes no output table;
//! - splitting every table into a folder of parts changes no output table;
//! - converting the CSV exports to typed Parquet (`aftersales convert`) changes no output table;
//! - adding a cancelled case changes no figure (only the SLA clock listing gains its void clocks);
//! - duplicating every merchant under a new id (its lines, cases, parcels and refunds copied under new ids) leaves
//!   every platform rate unchanged, doubles every platform count, and gives each twin the figures of its original.
//!
//! Tables are compared as sets of rows (the row order of a listing may follow the export's), floats to 1e-9
//! relative.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use aftersales::config::Config;
use aftersales::pipeline::{self, LoadOptions};
use aftersales::progress::Progress;
use aftersales::stages::Stages;
use polars::prelude::*;
use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

type Tables = BTreeMap<String, DataFrame>;

fn generated(seed: u64) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let o = common::aftersales(&[
        "generate",
        "--out",
        d.path().to_str().unwrap(),
        "--scale",
        "0.003",
        "--seed",
        &seed.to_string(),
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    d
}

/// Every metric table of a data folder (its aftersales.toml when there is one), computed as `run` does.
fn tables_of(data: &Path, config_dir: &Path) -> Tables {
    let cfg = config_dir.join("aftersales.toml");
    let config = if cfg.exists() {
        Config::load(&cfg).unwrap()
    } else {
        Config::default()
    };
    let opts = LoadOptions {
        data_dir: data.to_path_buf(),
        config: config.clone(),
        as_of: None,
        work_in: None,
        hold_inputs: aftersales::workdir::HoldInputs::Auto,
    };
    let progress = Progress::hidden();
    let loaded = pipeline::load_and_check(&opts, &progress).unwrap();
    let mut stages = Stages::default();
    let m = pipeline::compute_metrics(&loaded, &config, &progress, &mut stages).unwrap();
    let mut out: Tables = m.frames.into_iter().map(|(n, df)| (n.to_string(), df)).collect();
    for (n, c) in m.copies {
        out.insert(n.to_string(), c.scan.collect().unwrap());
    }
    out
}

/// A table's rows as sorted strings, floats to 10 significant digits.
fn rows(df: &DataFrame) -> Vec<String> {
    let cols: Vec<Vec<String>> = df
        .columns()
        .iter()
        .map(|c| {
            let s = c.as_materialized_series();
            if matches!(s.dtype(), DataType::Float64 | DataType::Float32) {
                s.cast(&DataType::Float64)
                    .unwrap()
                    .f64()
                    .unwrap()
                    .iter()
                    .map(|v| v.map_or("∅".into(), |v| format!("{v:.9e}")))
                    .collect()
            } else {
                (0..s.len()).map(|i| s.get(i).unwrap().to_string()).collect()
            }
        })
        .collect();
    let mut out: Vec<String> = (0..df.height())
        .map(|i| cols.iter().map(|c| c[i].as_str()).collect::<Vec<_>>().join("|"))
        .collect();
    out.sort();
    out
}

fn assert_same(a: &Tables, b: &Tables, what: &str) {
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "{what}");
    for (name, df) in a {
        let (x, y) = (rows(df), rows(&b[name]));
        assert!(x == y, "{what}: {name} differs ({} rows against {})", x.len(), y.len());
    }
}

/// (header, data lines) of a CSV file.
fn read_csv(path: &Path) -> (String, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines().map(str::to_string);
    let header = lines.next().unwrap();
    (header, lines.collect())
}

fn write_csv(path: &Path, header: &str, lines: &[String]) {
    let mut text = format!("{header}\n");
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

const TABLES: [&str; 5] = ["orders", "cases", "shipments", "refunds", "merchants"];

fn copy_config(from: &Path, to: &Path) {
    std::fs::copy(from.join("aftersales.toml"), to.join("aftersales.toml")).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn shuffling_the_rows_of_every_input_changes_no_table(seed in 0u64..1_000, shuffle in any::<u64>()) {
        let g = generated(seed);
        let want = tables_of(g.path(), g.path());
        let d = tempfile::tempdir().unwrap();
        copy_config(g.path(), d.path());
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(shuffle);
        for t in TABLES {
            let (h, mut lines) = read_csv(&g.path().join(format!("{t}.csv")));
            lines.shuffle(&mut rng);
            write_csv(&d.path().join(format!("{t}.csv")), &h, &lines);
        }
        assert_same(&want, &tables_of(d.path(), d.path()), "shuffled");
    }

    #[test]
    fn splitting_every_table_into_parts_changes_no_table(seed in 0u64..1_000, cuts in any::<u64>()) {
        let g = generated(seed);
        let want = tables_of(g.path(), g.path());
        let d = tempfile::tempdir().unwrap();
        copy_config(g.path(), d.path());
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(cuts);
        for t in TABLES {
            let (h, lines) = read_csv(&g.path().join(format!("{t}.csv")));
            let dir = d.path().join(t);
            std::fs::create_dir(&dir).unwrap();
            let parts = rng.random_range(1..=4usize);
            let mut at: Vec<usize> = (0..parts - 1).map(|_| rng.random_range(0..=lines.len())).collect();
            at.sort();
            let mut start = 0;
            for (i, end) in at.into_iter().chain([lines.len()]).enumerate() {
                write_csv(&dir.join(format!("part-{i:03}.csv")), &h, &lines[start..end]);
                start = end;
            }
        }
        assert_same(&want, &tables_of(d.path(), d.path()), "split into parts");
    }

    #[test]
    fn converting_the_csv_exports_to_typed_parquet_changes_no_table(seed in 0u64..1_000) {
        let g = generated(seed);
        let want = tables_of(g.path(), g.path());
        let p = tempfile::tempdir().unwrap();
        let pq = p.path().join("pq");
        let o = common::aftersales(&["convert", "--data", g.path().to_str().unwrap(), "--out", pq.to_str().unwrap()]);
        prop_assert!(o.status.success(), "{}", common::stderr(&o));
        assert_same(&want, &tables_of(&pq, g.path()), "converted to Parquet");
    }

    #[test]
    fn adding_a_cancelled_case_changes_no_figure(seed in 0u64..1_000, pick in any::<u64>()) {
        let g = generated(seed);
        let mut want = tables_of(g.path(), g.path());
        let (h, mut cases) = read_csv(&g.path().join("cases.csv"));
        let (_, orders) = read_csv(&g.path().join("orders.csv"));
        // A cancelled return on an existing order line, opened a day after it was ordered, nothing else recorded.
        let line: Vec<&str> = orders[pick as usize % orders.len()].split(',').collect();
        let ordered = chrono::NaiveDateTime::parse_from_str(line[7], "%Y-%m-%d %H:%M:%S").unwrap();
        let opened = (ordered + chrono::Duration::days(1)).format("%Y-%m-%d %H:%M:%S").to_string();
        let header: Vec<&str> = h.split(',').collect();
        let cell = |c: &str| -> String {
            match c {
                "case_id" => "C-CANCELLED".into(),
                "order_id" => line[0].into(),
                "sku" => line[3].into(),
                "merchant_id" => line[2].into(),
                "case_type" => "return".into(),
                "reason_code" => "quality_defect".into(),
                "quantity" => "1".into(),
                "opened_at" => opened.clone(),
                "status" => "cancelled".into(),
                _ => String::new(),
            }
        };
        cases.push(header.iter().map(|c| cell(c)).collect::<Vec<_>>().join(","));
        write_csv(&g.path().join("cases.csv"), &h, &cases);
        let mut got = tables_of(g.path(), g.path());
        // Its clocks are listed as void (sla_clocks, and the clocks and void counts of sla_compliance, where a
        // group of only void clocks has a row with nothing evaluated); every figure — clocks met, breached, running
        // or invalid, compliance, elapsed — is unchanged.
        let void = |t: &mut Tables| {
            let clocks = t.remove("sla_clocks").unwrap();
            let c = t
                .remove("sla_compliance")
                .unwrap()
                .lazy()
                .filter((col("evaluated") + col("running") + col("invalid")).gt(lit(0)))
                .drop(cols(["clocks", "void"]))
                .collect()
                .unwrap();
            t.insert("sla_compliance".into(), c);
            clocks
        };
        let (before, after) = (void(&mut want), void(&mut got));
        let added = after.height() - before.height();
        prop_assert!(added >= 2, "the cancelled case's clocks are listed: {added}");
        assert_same(&want, &got, "with a cancelled case");
    }

    #[test]
    fn duplicating_every_merchant_under_a_new_id_leaves_every_platform_rate_unchanged(seed in 0u64..1_000) {
        let g = generated(seed);
        let want = tables_of(g.path(), g.path());
        let d = tempfile::tempdir().unwrap();
        copy_config(g.path(), d.path());
        // Every id column gets a twin with "~2" appended; the rest of the row is copied.
        let ids = ["order_id", "case_id", "shipment_id", "refund_id", "merchant_id"];
        for t in TABLES {
            let (h, lines) = read_csv(&g.path().join(format!("{t}.csv")));
            let cols: Vec<&str> = h.split(',').collect();
            let mut all = lines.clone();
            for l in &lines {
                let twin: Vec<String> = l
                    .split(',')
                    .zip(&cols)
                    .map(|(v, c)| if ids.contains(c) && !v.is_empty() { format!("{v}~2") } else { v.to_string() })
                    .collect();
                all.push(twin.join(","));
            }
            write_csv(&d.path().join(format!("{t}.csv")), &h, &all);
        }
        let got = tables_of(d.path(), d.path());
        let platform = |t: &DataFrame, level_col: &str| -> DataFrame {
            t.clone().lazy().filter(col(level_col).eq(lit("platform"))).collect().unwrap()
        };
        let check = |table: &str, level_col: &str, keys: &[&str], rates: &[&str], counts: &[&str]| {
            let (a, b) = (platform(&want[table], level_col), platform(&got[table], level_col));
            assert_eq!(a.height(), b.height(), "{table}");
            let sorted = |df: &DataFrame| df.sort(keys.to_vec(), SortMultipleOptions::default()).unwrap();
            let (a, b) = (sorted(&a), sorted(&b));
            for r in rates {
                let (x, y) = (a.column(r).unwrap().f64().unwrap(), b.column(r).unwrap().f64().unwrap());
                for (x, y) in x.iter().zip(y.iter()) {
                    match (x, y) {
                        (Some(x), Some(y)) => assert!((x - y).abs() <= 1e-9 * x.abs().max(1e-12), "{table}.{r}: {x} against {y}"),
                        (x, y) => assert_eq!(x, y, "{table}.{r}"),
                    }
                }
            }
            for c in counts {
                let x = a.column(c).unwrap().cast(&DataType::Int64).unwrap();
                let y = b.column(c).unwrap().cast(&DataType::Int64).unwrap();
                let doubled: Vec<Option<i64>> = x.i64().unwrap().iter().map(|v| v.map(|v| 2 * v)).collect();
                assert_eq!(doubled, y.i64().unwrap().iter().collect::<Vec<_>>(), "{table}.{c} doubles");
            }
        };
        check(
            "return_rates",
            "level",
            &["period_kind", "period"],
            &["return_rate", "after_sales_rate", "refund_value_rate"],
            &["units_sold", "units_returned", "orders", "orders_with_case"],
        );
        check("sla_compliance", "level", &["period_kind", "period", "rule"], &["compliance"], &["evaluated", "met", "breached", "running"]);
        // The twin of a merchant has its original's figures, row for row.
        let merchant_rows = |t: &Tables, m: &str| -> Vec<String> {
            let df = t["return_rates"]
                .clone()
                .lazy()
                .filter(col("level").eq(lit("merchant")).and(col("key").eq(lit(m))))
                .drop(cols(["key"]))
                .collect()
                .unwrap();
            rows(&df)
        };
        let (_, merchants) = read_csv(&g.path().join("merchants.csv"));
        let m = merchants[0].split(',').next().unwrap();
        let original = merchant_rows(&want, m);
        prop_assert!(!original.is_empty());
        prop_assert_eq!(merchant_rows(&got, m), original.clone());
        prop_assert_eq!(merchant_rows(&got, &format!("{m}~2")), original);
    }
}

/// Regression (found by `adding_a_cancelled_case_changes_no_figure`): a merchant whose only trace in a quarter is
/// a cancelled case — its clocks all void — got a row in badges and merchant_risk. Here M7 handles one cancelled
/// case in 2026Q1 of an order of M1's and nothing else: no row of M7 anywhere in the merchant tables, and M1's
/// rows are unchanged.
#[test]
fn a_merchant_with_only_a_cancelled_case_gets_no_badge_or_risk_row() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_dir(&common::data("metrics"), dir.path());
    let cases = dir.path().join("cases.csv");
    let mut text = std::fs::read_to_string(&cases).unwrap();
    text.push_str("C99,A1,K1,M7,return,size_fit,1,2026-03-13 09:00:00,,cancelled\n");
    std::fs::write(&cases, text).unwrap();
    let with = common::run_pipeline(dir.path());
    let without = common::run_pipeline(&common::data("metrics"));
    for t in ["badges", "merchant_risk"] {
        let (a, b) = (common::table(&with, t), common::table(&without, t));
        assert!(
            !common::str_col(&a, "merchant_id").contains(&"M7".to_string()),
            "{t}: {a}"
        );
        assert_eq!(rows(&a), rows(&b), "{t}");
    }
}
