//! `sla_clocks` and `sla_compliance` (SPEC §4.3).
//!
//! `sla_clocks` grain: one row per (record, rule) where the rule applies to the record and its start is present
//! (and not after as_of). Columns: rule, clock (`calendar` | `working_days`), target, target_unit (`hours` |
//! `working_days`), record_type (`case` | `refund`), record_id, case_id, order_id, merchant_id, case_type, start,
//! stop, deadline, elapsed, status.
//!
//! - deadline: calendar clocks: start + target hours, exact (UTC arithmetic: a daylight-saving change neither adds
//!   nor removes an hour). Working-day clocks: the end (23:59:59.999999 local) of the N-th working day after the
//!   start's local date; the start's own day does not count; weekends and holidays are skipped, make-up workdays
//!   count.
//! - elapsed: hours (calendar) or working days (working-day clocks: 0 when stopped on the start's date, else the
//!   number of working days after the start's date up to the stop's date, where a stop on a day off counts as the
//!   next working day — so elapsed ≤ N exactly when the stop is by the deadline). Null for clocks not stopped.
//! - status at as_of: `invalid` (stop before start), `met` (stopped by the deadline, inclusive), `breached` (stopped
//!   after it, or not stopped and as_of past it), `void` (not stopped, and the case was cancelled or the refund
//!   failed), `running` (not stopped, deadline not reached). A stop after as_of has not happened yet at as_of.
//!
//! `sla_compliance` grain: one row per (period_kind ∈ {month, quarter}, period of the start, level ∈ {platform,
//! merchant}, merchant_id (`all` for the platform), rule). Columns: period_kind, period, level, merchant_id, rule,
//! clocks, evaluated (= met + breached), met, breached, running, void, invalid, compliance (= met / evaluated),
//! elapsed_p50, elapsed_p90 (over stopped clocks, met or breached), target, target_unit.

use anyhow::Result;
use chrono::{Datelike, Duration, NaiveDate, TimeZone as _};
use chrono_tz::Tz;
use polars::prelude::*;

use super::{ALL, Prepared, as_of_lit, code_label, in_order, level_rank, period_code, quarter_of_month, ratio};
use crate::config::Calendar;
use crate::engine::Run;
use crate::sla_rules::{SlaRule, Target};
use crate::tables::TableKind;
use crate::time::ts_dtype;
use crate::workdir::WorkDir;

const US_PER_HOUR: f64 = 3_600_000_000.0;

/// One row per local date in a range: the count of working days up to and including it (`cum`), whether it is a
/// working day, and the last microsecond of the day in UTC. Working-day clocks are two joins against it, never a
/// loop over records.
pub fn calendar_frame(cal: &Calendar, tz: Tz, from: NaiveDate, to: NaiveDate) -> PolarsResult<DataFrame> {
    let mut dates = Vec::new();
    let mut cum = Vec::new();
    let mut work = Vec::new();
    let mut eod = Vec::new();
    let mut n: i64 = 0;
    let mut d = from;
    while d <= to {
        let w = cal.is_workday(d);
        if w {
            n += 1;
        }
        dates.push(d.num_days_from_ce() - 719_163);
        cum.push(n);
        work.push(w);
        let next = d + Duration::days(1);
        let midnight = tz
            .from_local_datetime(&next.and_time(chrono::NaiveTime::MIN))
            .earliest()
            // A zone whose clocks skip midnight: the first instant of the next day.
            .unwrap_or_else(|| tz.from_utc_datetime(&next.and_time(chrono::NaiveTime::MIN)));
        eod.push(midnight.timestamp_micros() - 1);
        d = next;
    }
    DataFrame::new_infer_height(vec![
        Int32Chunked::from_vec("date".into(), dates)
            .into_series()
            .cast(&DataType::Date)?
            .into_column(),
        Int64Chunked::from_vec("cum".into(), cum).into_column(),
        BooleanChunked::from_slice("workday".into(), &work).into_column(),
        Int64Chunked::from_vec("eod".into(), eod)
            .into_series()
            .cast(&ts_dtype())?
            .into_column(),
    ])
}

/// The clocks of one rule, before status: record columns, start, stop (null when after as_of), deadline, elapsed.
fn rule_clocks(p: &Prepared, rule: &SlaRule, calendar: Option<&DataFrame>) -> LazyFrame {
    let (src, record_type, id, void) = match rule.table {
        TableKind::Refunds => (
            p.refunds.clone(),
            "refund",
            col("refund_id"),
            col("status").eq(lit("failed")),
        ),
        _ => (
            p.cases.clone(),
            "case",
            col("case_id"),
            col("status").eq(lit("cancelled")),
        ),
    };
    let mut lf = src;
    if let Some(types) = &rule.case_types {
        lf = lf.filter(col("case_type").is_in(lit(Series::new("t".into(), types.clone())).implode(false), false));
    }
    let as_of = as_of_lit(p.as_of);
    let case_type = if rule.table == TableKind::Refunds {
        lit(NULL).cast(DataType::String)
    } else {
        col("case_type")
    };
    let (target, unit) = rule.target_and_unit();
    let lf = lf
        .filter(
            col(rule.start.as_str())
                .is_not_null()
                .and(col(rule.start.as_str()).lt_eq(as_of.clone())),
        )
        .select([
            lit(rule.name.clone()).alias("rule"),
            lit(rule.clock_kind()).alias("clock"),
            lit(target).alias("target"),
            lit(unit).alias("target_unit"),
            lit(record_type).alias("record_type"),
            id.alias("record_id"),
            col("case_id"),
            col("order_id"),
            col("merchant_id"),
            case_type.alias("case_type"),
            col(rule.start.as_str()).alias("start"),
            // Judged at as_of: a stop recorded after the export moment has not happened yet.
            when(col(rule.stop.as_str()).lt_eq(as_of))
                .then(col(rule.stop.as_str()))
                .otherwise(lit(NULL).cast(ts_dtype()))
                .alias("stop"),
            void.alias("_void"),
        ]);
    match (&rule.target, calendar) {
        (Target::Hours(h), _) => {
            let us = (h * US_PER_HOUR).round() as i64;
            lf.with_columns([
                (col("start") + lit(us).cast(DataType::Duration(TimeUnit::Microseconds))).alias("deadline"),
                ((col("stop") - col("start"))
                    .dt()
                    .total_microseconds(false)
                    .cast(DataType::Float64)
                    / lit(US_PER_HOUR))
                .alias("elapsed"),
            ])
        }
        (Target::WorkingDays(n), Some(cal)) => {
            let cal = cal.clone().lazy();
            let starts = cal
                .clone()
                .select([col("date").alias("_sdate"), col("cum").alias("_scum")]);
            let stops = cal.clone().select([
                col("date").alias("_tdate"),
                col("cum").alias("_tcum"),
                col("workday").alias("_twork"),
            ]);
            let deadlines = cal
                .filter(col("workday"))
                .select([col("cum").alias("_dcum"), col("eod").alias("deadline")]);
            lf.with_columns([
                p.zone.day(col("start")).alias("_sdate"),
                p.zone.day(col("stop")).alias("_tdate"),
            ])
            // Joins that keep the records' order: the clocks are written in their table's order (see sla_clocks).
            .join(
                starts,
                [col("_sdate")],
                [col("_sdate")],
                in_order(JoinArgs::new(JoinType::Left)),
            )
            .join(
                stops,
                [col("_tdate")],
                [col("_tdate")],
                in_order(JoinArgs::new(JoinType::Left)),
            )
            .with_column((col("_scum") + lit(*n as i64)).alias("_dcum"))
            .join(
                deadlines,
                [col("_dcum")],
                [col("_dcum")],
                in_order(JoinArgs::new(JoinType::Left)),
            )
            .with_column(
                when(col("stop").is_null())
                    .then(lit(NULL).cast(DataType::Float64))
                    .when(col("_tdate").lt_eq(col("_sdate")))
                    .then(lit(0.0))
                    .otherwise(
                        (col("_tcum") + col("_twork").not().cast(DataType::Int64) - col("_scum"))
                            .cast(DataType::Float64),
                    )
                    .alias("elapsed"),
            )
            .drop(cols(["_sdate", "_tdate", "_scum", "_tcum", "_twork", "_dcum"]))
        }
        (Target::WorkingDays(_), None) => unreachable!("a calendar frame is built whenever a working-day rule exists"),
    }
}

/// The table a rule's records come from: the prepared cases or refunds (held in memory, see `Prepared`).
fn records_of<'a>(p: &'a Prepared, rule: &SlaRule) -> &'a LazyFrame {
    if rule.table == TableKind::Refunds {
        &p.refunds
    } else {
        &p.cases
    }
}

/// The clocks of every rule (see [`Clocks`]), one rule at a time and sorted by record within it.
pub fn sla_clocks(p: &Prepared, rules: &[SlaRule], calendar: &Calendar, work: Option<&WorkDir>) -> Result<Clocks> {
    let cal = if rules.iter().any(|r| matches!(r.target, Target::WorkingDays(_))) {
        Some(calendar_for(p, rules, calendar)?)
    } else {
        None
    };
    if rules.is_empty() {
        return Ok(Clocks {
            scan: DataFrame::empty().lazy(),
            rows: 0,
            file: None,
        });
    }
    let as_of = as_of_lit(p.as_of);
    let status = when(col("stop").is_not_null().and(col("stop").lt(col("start"))))
        .then(lit("invalid"))
        .when(col("stop").is_not_null().and(col("stop").lt_eq(col("deadline"))))
        .then(lit("met"))
        .when(col("stop").is_not_null())
        .then(lit("breached"))
        .when(col("_void"))
        .then(lit("void"))
        .when(as_of.gt(col("deadline")))
        .then(lit("breached"))
        .otherwise(lit("running"));
    let plans: Vec<LazyFrame> = rules
        .iter()
        .map(|r| {
            rule_clocks(p, r, cal.as_ref())
                .with_columns([
                    status.clone().alias("status"),
                    // An invalid clock's negative span is not a duration: no elapsed for it.
                    when(col("stop").lt(col("start")))
                        .then(lit(NULL).cast(DataType::Float64))
                        .otherwise(col("elapsed"))
                        .alias("elapsed"),
                ])
                .select([
                    col("rule"),
                    col("clock"),
                    col("target"),
                    col("target_unit"),
                    col("record_type"),
                    col("record_id"),
                    col("case_id"),
                    col("order_id"),
                    col("merchant_id"),
                    col("case_type"),
                    col("start"),
                    col("stop"),
                    col("deadline"),
                    col("elapsed"),
                    col("status"),
                ])
        })
        .collect();
    let Some(path) = work.map(|w| w.file("sla_clocks")) else {
        let frames = plans
            .into_iter()
            .map(|lf| in_record_order(lf.run()?))
            .collect::<Result<Vec<_>>>()?;
        let rows = frames.iter().map(|f| f.height() as u64).sum();
        let scan = concat(
            frames.into_iter().map(DataFrame::lazy).collect::<Vec<_>>(),
            UnionArgs::default(),
        )?;
        return Ok(Clocks { scan, rows, file: None });
    };
    // Every rule's clocks in one plan, rule after rule, sunk into the file on the streaming engine: it encodes
    // and compresses on both cores, where a writer fed one rule's frame at a time compresses on one (most of the
    // stage's time then). A rule's clocks are sorted by record only when their table is not in record order already
    // (checked once per table: the prepared cases and refunds keep the export's order).
    let cases_in_order = in_id_order(&p.cases, "case_id")?;
    let refunds_in_order = in_id_order(&p.refunds, "refund_id")?;
    let write = |sort_all: bool| -> Result<()> {
        let plans: Vec<LazyFrame> = rules
            .iter()
            .zip(plans.iter())
            .map(|(rule, lf)| {
                let in_order = if rule.table == TableKind::Refunds {
                    refunds_in_order
                } else {
                    cases_in_order
                };
                if in_order && !sort_all {
                    lf.clone()
                } else {
                    lf.clone().sort(["record_id"], SortMultipleOptions::default())
                }
            })
            .collect();
        let all = concat(
            plans,
            UnionArgs {
                parallel: false,
                maintain_order: true,
                ..Default::default()
            },
        )?;
        crate::workdir::sink_linkable(all, &path)
    };
    write(false)?;
    // The table's order is part of its contract: verified on the file (a cheap read of one column), and should a plan not have kept
    // its table's order after all, written again with every rule sorted.
    if !in_record_order_within_rules(crate::workdir::scan(&path)?)? {
        write(true)?;
    }
    Clocks::from_file(path)
}

/// Whether clocks are in record order within each rule (a rule's first clock may come before the previous
/// rule's last).
fn in_record_order_within_rules(clocks: LazyFrame) -> Result<bool> {
    let new_rule = col("rule").neq(col("rule").shift(lit(1)));
    let ordered = clocks
        .select([new_rule
            .or(col("record_id").gt_eq(col("record_id").shift(lit(1))))
            .all(true)
            .alias("ordered")])
        .run_streaming()?;
    Ok(ordered.column("ordered")?.bool()?.get(0) == Some(true))
}

/// Whether a prepared table's rows are in order of their id (nulls never are: ids are required).
fn in_id_order(lf: &LazyFrame, id: &str) -> Result<bool> {
    let sorted = lf
        .clone()
        .select([col(id).gt_eq(col(id).shift(lit(1))).all(true).alias("sorted")])
        .run_streaming()?;
    Ok(sorted.column("sorted")?.bool()?.get(0) == Some(true))
}

/// A rule's clocks sorted by record_id — only checked when they already are: the prepared cases and refunds keep
/// the export's order (usually by id), and sorting every rule's clocks by a string is a visible share of the
/// stage. Used
/// without a working folder; with one, [`sla_clocks`] checks the tables once and the written file after.
fn in_record_order(df: DataFrame) -> Result<DataFrame> {
    if in_id_order(&df.clone().lazy(), "record_id")? {
        return Ok(df);
    }
    Ok(df.sort(["record_id"], SortMultipleOptions::default())?)
}

/// Every clock of every rule, in rule order, and within a rule in record order. With a working folder they are
/// written straight into one file in the output's format (`workdir::sink_linkable`: LZ4 and full
/// statistics, so a scan for one rule skips most other rules' row groups): `tables/sla_clocks.parquet` is that
/// file, linked, not written again: it is the largest output table (a row per record and rule), and encoding it a
/// second time would cost as much as the first. Without one, they are held in memory.
#[derive(Clone)]
pub struct Clocks {
    pub scan: LazyFrame,
    pub rows: u64,
    /// The file `scan` reads, when there is a working folder.
    pub file: Option<std::path::PathBuf>,
}

impl Clocks {
    /// The clocks written in the output's format at `path` (by `workdir::sink_linkable`): scanned from there, their
    /// rows counted.
    pub fn from_file(path: std::path::PathBuf) -> Result<Clocks> {
        let scan = crate::workdir::scan(&path)?;
        let rows = scan
            .clone()
            .select([len().cast(DataType::UInt64).alias("rows")])
            .run()?
            .column("rows")?
            .u64()?
            .get(0)
            .unwrap_or(0);
        Ok(Clocks {
            scan,
            rows,
            file: Some(path),
        })
    }
}

/// The calendar frame covering every start and stop (and as_of) with room for the longest working-day target.
fn calendar_for(p: &Prepared, rules: &[SlaRule], calendar: &Calendar) -> Result<DataFrame> {
    let mut lo = p.as_of;
    let mut hi = p.as_of;
    for r in rules {
        let df = records_of(p, r);
        for c in [&r.start, &r.stop] {
            let bounds = df
                .clone()
                .select([
                    col(c.as_str()).min().cast(DataType::Int64).alias("lo"),
                    col(c.as_str()).max().cast(DataType::Int64).alias("hi"),
                ])
                .run_streaming()?;
            let (a, b) = (bounds.column("lo")?.i64()?.get(0), bounds.column("hi")?.i64()?.get(0));
            if let (Some(a), Some(b)) = (a, b) {
                lo = lo.min(a);
                hi = hi.max(b);
            }
        }
    }
    let max_days = rules
        .iter()
        .filter_map(|r| match r.target {
            Target::WorkingDays(d) => Some(d as i64),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let date = |t: i64| {
        chrono::DateTime::from_timestamp_micros(t)
            .unwrap_or_default()
            .with_timezone(&p.zone.tz)
            .date_naive()
    };
    // Each working day is at most a few weeks away even across China's longest holiday; 3× + 60 days is ample.
    let from = date(lo) - Duration::days(2);
    let to = date(hi) + Duration::days(max_days * 3 + 60);
    Ok(calendar_frame(calendar, p.zone.tz, from, to)?)
}

pub fn sla_compliance(p: &Prepared, clocks: &LazyFrame, rules: &[SlaRule]) -> Result<DataFrame> {
    if rules.is_empty() {
        return no_compliance();
    }
    // One rule at a time, its clocks read once (with their month and quarter numbers and one 0/1 column per
    // status) for its four groupings: the groupings scanned every clock of every rule four times, and one rule's
    // clocks are a fraction of the memory. The rule, its target and unit are the same on all its clocks: added to
    // the groups, not grouped by.
    let mut sums = Vec::new();
    for rule in rules {
        let day = p.zone.day(col("start"));
        let mut columns = vec![
            col("merchant_id"),
            // Elapsed of the stopped clocks (met or breached) only: the percentiles are over those.
            when(col("status").eq(lit("met")).or(col("status").eq(lit("breached"))))
                .then(col("elapsed"))
                .otherwise(lit(NULL).cast(DataType::Float64))
                .alias("_stopped"),
            period_code(day, "month").alias("month_code"),
        ];
        columns.extend(STATUSES.map(|s| col("status").eq(lit(s)).cast(DataType::Int64).alias(format!("_is_{s}"))));
        let rule_clocks = clocks
            .clone()
            .filter(col("rule").eq(lit(rule.name.clone())))
            .select(columns)
            .with_column(quarter_of_month(col("month_code")).alias("quarter_code"))
            .run()?
            .lazy();
        // The counts of each status per (month, merchant) once; the platform's and the quarters' counts are sums of
        // those few rows, not four groupings of every clock.
        let mut counts = vec![len().cast(DataType::Int64).alias("clocks")];
        counts.extend(STATUSES.map(|s| col(format!("_is_{s}")).sum().alias(s)));
        let fine = rule_clocks
            .clone()
            .group_by([col("month_code"), col("quarter_code"), col("merchant_id")])
            .agg(counts)
            .run()?
            .lazy();
        let stopped = rule_clocks
            .clone()
            .filter(col("_stopped").is_not_null())
            .select([
                col("merchant_id"),
                col("month_code"),
                col("quarter_code"),
                col("_stopped"),
            ])
            .run()?
            .lazy();
        sums.push(RuleSums { fine, stopped });
    }
    compliance_from_sums(rules, sums)
}

/// sla_compliance without rules: no rows, but its columns, so that readers (the report, merchant pages) filter it as
/// any other table.
fn no_compliance() -> Result<DataFrame> {
    let text = |n: &str| Column::new_empty(n.into(), &DataType::String);
    let int = |n: &str| Column::new_empty(n.into(), &DataType::Int64);
    let real = |n: &str| Column::new_empty(n.into(), &DataType::Float64);
    Ok(DataFrame::new_infer_height(vec![
        text("period_kind"),
        text("period"),
        text("level"),
        text("merchant_id"),
        text("rule"),
        int("clocks"),
        int("evaluated"),
        int("met"),
        int("breached"),
        int("running"),
        int("void"),
        int("invalid"),
        real("compliance"),
        real("elapsed_p50"),
        real("elapsed_p90"),
        real("target"),
        text("target_unit"),
    ])?)
}

/// The statuses a clock can have, in the order sla_compliance's columns give them.
pub const STATUSES: [&str; 5] = ["met", "breached", "running", "void", "invalid"];

/// A rule's clocks, summed: `fine` has one row per (month_code, quarter_code, merchant_id) of the start with
/// clocks and one count per status of [`STATUSES`]; `stopped` one row per stopped (met or breached) clock with
/// merchant_id, month_code, quarter_code and its elapsed as `_stopped`. The distributed path sums the same
/// (`crate::aggregates`).
pub struct RuleSums {
    pub fine: LazyFrame,
    pub stopped: LazyFrame,
}

/// sla_compliance from each rule's sums (`sums[i]` is `rules[i]`'s).
pub fn compliance_from_sums(rules: &[SlaRule], sums: Vec<RuleSums>) -> Result<DataFrame> {
    if rules.is_empty() {
        return no_compliance();
    }
    const CODE: &str = "_period_code";
    let mut parts = Vec::new();
    for (rule, RuleSums { fine, stopped }) in rules.iter().zip(sums) {
        let (target, unit) = rule.target_and_unit();
        for kind in ["month", "quarter"] {
            for level in ["platform", "merchant"] {
                // The platform's rows are grouped by period alone and named `all` after: a constant key column
                // is still hashed on every row.
                let mut by = vec![col(format!("{kind}_code")).alias(CODE)];
                let mut on = vec![col(CODE)];
                if level == "merchant" {
                    by.push(col("merchant_id"));
                    on.push(col("merchant_id"));
                }
                let mut aggs = vec![col("clocks").sum()];
                aggs.extend(STATUSES.map(|s| col(s).sum()));
                let percentiles = stopped.clone().group_by(by.clone()).agg([
                    col("_stopped").median().alias("elapsed_p50"),
                    col("_stopped")
                        .quantile(lit(0.9), QuantileMethod::Linear)
                        .alias("elapsed_p90"),
                ]);
                parts.push(
                    fine.clone()
                        .group_by(by)
                        .agg(aggs)
                        .join(percentiles, on.clone(), on, JoinArgs::new(JoinType::Left))
                        .with_columns([
                            code_label(col(CODE), kind).alias("period"),
                            if level == "platform" {
                                lit(ALL).alias("merchant_id")
                            } else {
                                col("merchant_id")
                            },
                            lit(kind).alias("period_kind"),
                            lit(level).alias("level"),
                            lit(rule.name.clone()).alias("rule"),
                            lit(target).alias("target"),
                            lit(unit).alias("target_unit"),
                        ])
                        .drop(cols([CODE]))
                        .run()?
                        .lazy(),
                );
            }
        }
    }
    let rule_refs: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
    // Diagonal: the platform's parts name their merchant_id column after grouping, so it stands elsewhere.
    let out = concat(
        parts,
        UnionArgs {
            diagonal: true,
            ..Default::default()
        },
    )?
    .with_column((col("met") + col("breached")).alias("evaluated"))
    .with_column(ratio(col("met"), col("evaluated")).alias("compliance"))
    .select([
        col("period_kind"),
        col("period"),
        col("level"),
        col("merchant_id"),
        col("rule"),
        col("clocks"),
        col("evaluated"),
        col("met"),
        col("breached"),
        col("running"),
        col("void"),
        col("invalid"),
        col("compliance"),
        col("elapsed_p50"),
        col("elapsed_p90"),
        col("target"),
        col("target_unit"),
    ])
    .with_columns([
        level_rank(col("level"), &["platform", "merchant"]).alias("_lrank"),
        level_rank(col("rule"), &rule_refs).alias("_rrank"),
    ])
    .sort(
        ["period_kind", "period", "_lrank", "merchant_id", "_rrank"],
        SortMultipleOptions::default(),
    )
    .drop(cols(["_lrank", "_rrank"]))
    .run()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(df: &DataFrame) -> Vec<&str> {
        df.column("record_id")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .flatten()
            .collect()
    }

    #[test]
    fn the_written_clocks_order_check_restarts_at_each_rule_and_catches_a_step_back_within_one() {
        let check = |rules: &[&str], ids: &[&str]| {
            in_record_order_within_rules(df!["rule" => rules, "record_id" => ids].unwrap().lazy()).unwrap()
        };
        assert!(check(&["a", "a", "b", "b"], &["C1", "C2", "C1", "C3"]));
        assert!(check(&["a", "b"], &["C9", "C0"]), "a new rule may start lower");
        assert!(check(&["a", "a"], &["C1", "C1"]), "equal ids are in order");
        assert!(!check(&["a", "a", "b"], &["C2", "C1", "C3"]));
        assert!(
            !check(&["a", "b", "b"], &["C1", "C3", "C2"]),
            "a step back after the rule changed"
        );
    }

    #[test]
    fn clocks_out_of_record_order_are_sorted_and_sorted_ones_kept() {
        let unsorted = df!["record_id" => ["C3", "C1", "C2"], "n" => [3, 1, 2]].unwrap();
        let sorted = in_record_order(unsorted).unwrap();
        assert_eq!(ids(&sorted), ["C1", "C2", "C3"]);
        let n: Vec<i32> = sorted.column("n").unwrap().i32().unwrap().iter().flatten().collect();
        assert_eq!(n, [1, 2, 3], "rows move whole");
        let already = df!["record_id" => ["A", "B", "B", "C"]].unwrap();
        assert_eq!(ids(&in_record_order(already).unwrap()), ["A", "B", "B", "C"]);
    }
}
