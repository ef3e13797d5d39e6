//! Episodes, alerts and the stability SPEC §4.4 promises: a week's flag depends only on that week and the weeks
//! before it, so a later export never changes or withdraws the verdict on a week already judged, and the same
//! episode keeps its alert_id from one weekly run to the next.
//!
//! The earlier export is the sample cut at a local date: order lines ordered, cases opened, parcels shipped and
//! refunds approved before it, with as_of at the cut — what the platform would have exported that day.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use polars::prelude::*;
use proptest::prelude::*;

/// The sample's files, keeping the rows whose `column` (local time, `2026-08-18…`) is before `cut`.
fn cut_sample(cut: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let src = repo().join("sample_data");
    for (file, column) in [
        ("orders.csv", "ordered_at"),
        ("cases.csv", "opened_at"),
        ("shipments.csv", "shipped_at"),
        ("refunds.csv", "approved_at"),
    ] {
        let text = std::fs::read_to_string(src.join(file)).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        let at = header.split(',').position(|c| c == column).unwrap();
        let mut out = format!("{header}\n");
        for l in lines {
            let v = l.split(',').nth(at).unwrap_or("");
            if !v.is_empty() && v.get(..10).is_some_and(|day| day < cut) {
                out.push_str(l);
                out.push('\n');
            }
        }
        std::fs::write(d.path().join(file), out).unwrap();
    }
    for file in ["merchants.csv", "aftersales.toml"] {
        std::fs::copy(src.join(file), d.path().join(file)).unwrap();
    }
    d
}

fn run_at(data: &Path, as_of: &str) -> tempfile::TempDir {
    run_pipeline_with(data, &["--as-of", as_of])
}

fn sorted(df: DataFrame, by: &[&str]) -> DataFrame {
    df.sort(by.to_vec(), SortMultipleOptions::default()).unwrap()
}

/// spike_evaluation of the earlier run equals the later run's rows of the same weeks, every column.
fn assert_mature_weeks_unchanged(early: &Path, late: &Path) {
    let by = ["level", "key", "period"];
    let a = sorted(read_parquet(&early.join("out/tables/spike_evaluation.parquet")), &by);
    let b = read_parquet(&late.join("out/tables/spike_evaluation.parquet"));
    let weeks: Vec<String> = str_col(&a, "period");
    let last = weeks.iter().max().cloned().unwrap_or_default();
    let b = sorted(
        b.lazy()
            .filter(col("period").lt_eq(lit(last.clone())))
            .collect()
            .unwrap(),
        &by,
    );
    assert!(a.height() > 500, "{} rows judged before the cut", a.height());
    assert_eq!(a.height(), b.height(), "rows of weeks up to {last}");
    for c in a.get_column_names() {
        let (x, y) = (a.column(c).unwrap(), b.column(c).unwrap());
        assert!(x.equals_missing(y), "column {c} changed for weeks up to {last}");
    }
}

fn episodes_by_id(out: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let e = read_parquet(&out.join("out/tables/flag_episodes.parquet"));
    (0..e.height())
        .map(|i| {
            let r = row(&e, &[("alert_id", &str_col(&e, "alert_id")[i])]);
            (r["alert_id"].clone(), r)
        })
        .collect()
}

/// Cut at 18 August: the latest week judged is 2026-W31 (it ends 2 August, + 14 days = 16 August; W32 matures on
/// 23 August). The planted SKU spike of W30–W31 is then ongoing. In the
/// whole year's run the same episodes are resolved, under the same alert_ids, with the same weeks.
#[test]
fn an_episode_keeps_its_alert_id_when_a_later_week_of_data_arrives() {
    let cut = cut_sample("2026-08-18");
    let early = run_at(cut.path(), "2026-08-18 00:00:00");
    let late = sample_out();
    let (a, b) = (episodes_by_id(early.path()), episodes_by_id(late));
    let ongoing: Vec<(&str, &str, &str)> = a
        .values()
        .filter(|e| e["status"] == "ongoing")
        .map(|e| (e["level"].as_str(), e["key"].as_str(), e["first_week"].as_str()))
        .collect();
    assert!(ongoing.contains(&("sku", "M0006-S001", "2026-W30")), "{ongoing:?}");
    for (id, e) in &a {
        let later = b
            .get(id)
            .unwrap_or_else(|| panic!("episode {id} ({e:?}) is gone in the later run"));
        for c in ["level", "key", "first_week", "periods", "r_t", "n_t", "severity"] {
            assert_eq!(e[c], later[c], "{id}: {c}");
        }
    }
    let sku = b.values().find(|e| e["key"] == "M0006-S001").unwrap();
    assert_eq!(
        (sku["last_week"].as_str(), sku["status"].as_str()),
        ("2026-W31", "resolved")
    );
    assert_mature_weeks_unchanged(early.path(), late);

    // alerts.jsonl: one JSON object per ongoing episode, the same ids, in the configured language (zh-CN).
    let text = std::fs::read_to_string(early.path().join("out/alerts.jsonl")).unwrap();
    let alerts: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let mut ids: Vec<&str> = alerts.iter().map(|a| a["alert_id"].as_str().unwrap()).collect();
    ids.sort();
    let mut want: Vec<&str> = a
        .values()
        .filter(|e| e["status"] == "ongoing")
        .map(|e| e["alert_id"].as_str())
        .collect();
    want.sort();
    assert_eq!(ids, want);
    let sku_alert = alerts.iter().find(|a| a["key"] == "M0006-S001").unwrap();
    assert_eq!(sku_alert["merchant_id"], "M0006");
    assert_eq!(sku_alert["language"], "zh-CN");
    assert!(
        sku_alert["action"]
            .as_str()
            .unwrap()
            .starts_with("请核查商品 M0006-S001 的质量")
    );
    assert_eq!(
        sku_alert["evidence"]["filter"],
        serde_json::json!({"level": "sku", "key": "M0006-S001", "period": ["2026-W30", "2026-W31"]})
    );
    assert!(sku_alert["merchant_name"].as_str().is_some_and(|n| !n.is_empty()));
    // The whole year's run: one line per ongoing episode (none when its latest judged week is quiet).
    let late_alerts = std::fs::read_to_string(late.join("out/alerts.jsonl")).unwrap();
    let late_ongoing = b.values().filter(|e| e["status"] == "ongoing").count();
    assert_eq!(late_alerts.lines().count(), late_ongoing);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2, ..ProptestConfig::default() })]

    /// Whatever the day of the earlier export, appending the later weeks leaves every judged week as it was: its
    /// counts, baseline, φ, p-value, q-value, flag and severity.
    #[test]
    fn appending_later_weeks_never_changes_a_judged_week(day in 0u32..120) {
        let cut = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap() + chrono::Duration::days(day.into());
        let cut = cut.format("%Y-%m-%d").to_string();
        let data = cut_sample(&cut);
        let early = run_at(data.path(), &format!("{cut} 00:00:00"));
        assert_mature_weeks_unchanged(early.path(), sample_out());
    }
}
