//! The copy the distributed path reads (`aftersales convert --layout hive`; aftersales-dist, docs/scale-out.md).
//!
//! Each fact table is Hive-partitioned by the local month of its main timestamp —
//! `orders/month=2026-03/part-0.parquet` (ordered_at), `cases/…` (opened_at), `shipments/…` (shipped_at),
//! `refunds/…` (approved_at) — so an engine on many machines reads a month as a unit and prunes by folder. The rows
//! are the accepted rows of the checked inputs with their canonical columns, plus what needs the configured zone,
//! worked out here once: for every timestamp column `<ts>`, `<ts>_day` (the local date as days since 1970-01-01,
//! Int32), and the local periods of the main timestamp, `month_code`, `quarter_code`, `week_code`
//! ([`crate::metrics::period_code`] numbers). A distributed engine then needs no time-zone arithmetic of its own.
//!
//! Beside them: `merchants.parquet` (when given), `responsibility.parquet` (the config's reason_code →
//! responsibility map), `calendar.parquet` (one row per local date over the data's span and the longest working-day
//! target after it: `day`, `cum` = working days up to and including it, `workday`, `eod` = its last microsecond in
//! UTC, and its `month_code`, `quarter_code`, `week_code` — working-day clocks and the periods of any timestamp are
//! joins against it) and [`MANIFEST`], which holds as_of, the zone, maturity, the SLA rules and each table's
//! accepted rows — the counts a distributed job checks its scans against (an executor that cannot see a file
//! scans nothing and says nothing).

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::engine::Run;
use crate::input::loaded::Loaded;
use crate::metrics::{Zone, period_code, quarter_of_month};
use crate::output::OutputDir;
use crate::sla_rules::Target;
use crate::tables::TableKind;
use crate::time::Micros;

/// The copy's manifest, at its top.
pub const MANIFEST: &str = "hive.json";

/// The partitioned tables and the timestamp whose local month partitions each.
pub const PARTITIONED: [(&str, &str); 4] = [
    ("orders", "ordered_at"),
    ("cases", "opened_at"),
    ("shipments", "shipped_at"),
    ("refunds", "approved_at"),
];

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The layout's version; a reader refuses another.
    pub format: u32,
    /// as_of of the checked inputs, µs since the epoch (UTC).
    pub as_of: Micros,
    /// `command_line`, `config` or `latest_in_inputs`.
    pub as_of_source: String,
    pub timezone: String,
    pub maturity_days: i64,
    /// Per table: accepted rows (all partitions), the timestamp that partitions it, and its months.
    pub tables: BTreeMap<String, TableEntry>,
    /// The config's SLA rules, in their order (the order of sla_compliance's rows within a group).
    pub sla_rules: Vec<RuleEntry>,
    /// A (SPEC §4.4): a return counts towards its week's R_t when opened within this many days of the line's
    /// ordered_at.
    pub spike_age_days: i64,
    /// Per `<table>.<column>` of every timestamp column: its earliest and latest value (µs). What the calendar's
    /// findings (`checks::calendar_findings`) are worked out from, for whatever rules the config then has.
    pub spans: BTreeMap<String, (Micros, Micros)>,
}

/// An SLA rule as the distributed job reads it (`crate::sla_rules::SlaRule`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleEntry {
    pub name: String,
    /// `cases` or `refunds`.
    pub table: String,
    /// None: every case type.
    pub case_types: Option<Vec<String>>,
    pub start: String,
    pub stop: String,
    /// Exactly one of the two.
    pub target_hours: Option<f64>,
    pub target_working_days: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableEntry {
    /// Accepted rows: the rows the copy holds.
    pub rows: u64,
    /// What the exports gave (rows read = rows + rejected + filtered), for the report and run.json.
    pub read: u64,
    pub rejected: u64,
    pub filtered: u64,
    /// None for a table written whole (merchants).
    pub partitioned_by: Option<String>,
    pub months: Vec<String>,
}

pub const FORMAT: u32 = 1;

impl Manifest {
    pub fn read(copy: &std::path::Path) -> Result<Manifest> {
        let path = copy.join(MANIFEST);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "{} is not a Hive copy: it has no {MANIFEST} (write one with `aftersales convert --layout hive`)",
                copy.display()
            )
        })?;
        let m: Manifest = serde_json::from_str(&text).with_context(|| format!("cannot read {}", path.display()))?;
        anyhow::ensure!(
            m.format == FORMAT,
            "{} has layout version {}, this build reads version {FORMAT}: convert the exports again",
            path.display(),
            m.format
        );
        Ok(m)
    }
}

fn entry(t: &crate::input::load::LoadedTable) -> TableEntry {
    TableEntry {
        rows: t.rows_accepted(),
        read: t.rows_read(),
        rejected: t.rows_rejected(),
        filtered: t.rows_filtered(),
        partitioned_by: None,
        months: vec![],
    }
}

const DAY: Micros = 86_400_000_000;

/// The first instants (µs, UTC) of a month (its [`period_code`] number) and of the month after, in `tz`.
fn month_bounds(code: i32, tz: chrono_tz::Tz) -> Option<(Micros, Micros)> {
    use chrono::TimeZone;
    let first = |code: i32| {
        let year = (code - 1).div_euclid(12);
        let month = (code - year * 12) as u32;
        let day = chrono::NaiveDate::from_ymd_opt(year, month, 1)?;
        tz.from_local_datetime(&day.and_hms_opt(0, 0, 0)?)
            .earliest()
            .map(|t| t.timestamp_micros())
    };
    Some((first(code)?, first(code + 1)?))
}

/// `2026-03` of a month's [`period_code`] number.
pub fn month_label(code: i32) -> String {
    let year = (code - 1).div_euclid(12);
    format!("{year:04}-{:02}", code - year * 12)
}

/// The local date of every timestamp column and the local periods of `ts`, as the partitioned tables carry them.
fn with_periods(lf: LazyFrame, ts: &str, timestamps: &[String], zone: &Zone) -> LazyFrame {
    let days: Vec<Expr> = timestamps
        .iter()
        .map(|c| {
            zone.day(col(c.as_str()))
                .cast(DataType::Int32)
                .alias(format!("{c}_day"))
        })
        .collect();
    let main_day = col(format!("{ts}_day")).cast(DataType::Date);
    lf.with_columns(days)
        .with_columns([
            period_code(main_day.clone(), "month").alias("month_code"),
            period_code(main_day, "week").alias("week_code"),
        ])
        .with_column(quarter_of_month(col("month_code")).alias("quarter_code"))
}

/// One row per local date from `from` to `to`: the SLA calendar frame and the date's periods.
fn calendar(config: &Config, from: chrono::NaiveDate, to: chrono::NaiveDate) -> Result<DataFrame> {
    let frame = crate::metrics::sla::calendar_frame(&config.calendar, config.timezone, from, to)?;
    Ok(frame
        .lazy()
        .select([
            col("date").cast(DataType::Int32).alias("day"),
            col("cum"),
            col("workday"),
            col("eod"),
            period_code(col("date"), "month").alias("month_code"),
            period_code(col("date"), "week").alias("week_code"),
        ])
        .with_column(quarter_of_month(col("month_code")).alias("quarter_code"))
        .run()?)
}

/// Writes the tables of `loaded` into `out` in the Hive layout, with the dimension tables and the manifest.
pub fn write(out: &mut OutputDir, loaded: &Loaded, config: &Config) -> Result<Manifest> {
    let zone = Zone::new(config.timezone, loaded.time_span);
    let mut tables = BTreeMap::new();
    let mut spans = BTreeMap::new();
    for (kind, t) in &loaded.tables {
        let name = kind.name();
        let data = t.data_lazy()?;
        let Some(&(_, ts)) = PARTITIONED.iter().find(|(table, _)| *table == name) else {
            out.write_parquet_lazy_as(
                &format!("{name}.parquet"),
                data,
                t.rows_accepted(),
                ParquetCompression::Zstd(None),
            )?;
            tables.insert(name.to_string(), entry(t));
            continue;
        };
        let timestamps: Vec<String> = data
            .clone()
            .collect_schema()?
            .iter()
            .filter(|(_, dt)| matches!(dt, DataType::Datetime(..)))
            .map(|(n, _)| n.to_string())
            .collect();
        let columns: Vec<&str> = timestamps.iter().map(String::as_str).collect();
        for (c, span) in columns.iter().zip(crate::checks::column_spans(data.clone(), &columns)?) {
            if let Some(span) = span {
                spans.insert(format!("{name}.{c}"), span);
            }
        }
        // Each month streamed from the table's scan into its file, in the order the rows were read: the scan is
        // read once to find the months and their rows, then once per month through a filter on the timestamp
        // that the Parquet reader can prune row groups with — so the table is never held whole (a copy of scale
        // 100 would not fit in memory).
        let with = with_periods(data, ts, &timestamps, &zone);
        let counts = with
            .clone()
            .group_by([col("month_code")])
            .agg([len().cast(DataType::UInt64).alias("n")])
            .sort(["month_code"], SortMultipleOptions::default())
            .run_streaming()?;
        let mut months = Vec::new();
        let codes: Vec<Option<i32>> = counts.column("month_code")?.i32()?.iter().collect();
        let ns: Vec<Option<u64>> = counts.column("n")?.u64()?.iter().collect();
        for (code, n) in codes.into_iter().zip(ns) {
            let code = code.context("a row without its month (its timestamp is required)")?;
            let label = month_label(code);
            let month = match month_bounds(code, config.timezone) {
                // Two days either side of the local month: a coarse range the reader prunes with, then the exact
                // month.
                Some((lo, hi)) => with.clone().filter(
                    col(ts)
                        .gt_eq(lit(lo - 2 * DAY).cast(crate::time::ts_dtype()))
                        .and(col(ts).lt(lit(hi + 2 * DAY).cast(crate::time::ts_dtype()))),
                ),
                None => with.clone(),
            }
            .filter(col("month_code").eq(lit(code)));
            out.write_parquet_lazy_as(
                &format!("{name}/month={label}/part-0.parquet"),
                month,
                n.unwrap_or(0),
                ParquetCompression::Zstd(None),
            )?;
            months.push(label);
        }
        tables.insert(
            name.to_string(),
            TableEntry {
                partitioned_by: Some(ts.to_string()),
                months,
                ..entry(t)
            },
        );
    }
    let mut responsibility = crate::metrics::prepare::responsibility_frame(config);
    out.write_parquet("responsibility.parquet", &mut responsibility)?;
    // Every timestamp and as_of, two days either side, and after the last the room the local run's calendar
    // leaves for the longest working-day target (`metrics::sla`).
    let (lo, hi) = loaded.time_span.unwrap_or((loaded.as_of, loaded.as_of));
    let date = |t: Micros| {
        chrono::DateTime::from_timestamp_micros(t)
            .unwrap_or_default()
            .with_timezone(&config.timezone)
            .date_naive()
    };
    let max_days = config
        .sla_rules
        .iter()
        .filter_map(|r| match r.target {
            Target::WorkingDays(d) => Some(d as i64),
            Target::Hours(_) => None,
        })
        .max()
        .unwrap_or(0);
    let from = date(lo.min(loaded.as_of)) - chrono::Duration::days(2);
    let to = date(hi.max(loaded.as_of)) + chrono::Duration::days(max_days * 3 + 60);
    out.write_parquet("calendar.parquet", &mut calendar(config, from, to)?)?;
    let sla_rules = config
        .sla_rules
        .iter()
        .map(|r| RuleEntry {
            name: r.name.clone(),
            table: r.table.name().to_string(),
            case_types: r.case_types.clone(),
            start: r.start.clone(),
            stop: r.stop.clone(),
            target_hours: match r.target {
                Target::Hours(h) => Some(h),
                Target::WorkingDays(_) => None,
            },
            target_working_days: match r.target {
                Target::WorkingDays(d) => Some(d),
                Target::Hours(_) => None,
            },
        })
        .collect();
    let manifest = Manifest {
        format: FORMAT,
        as_of: loaded.as_of,
        as_of_source: match loaded.as_of_source {
            crate::input::AsOfSource::CommandLine => "command_line",
            crate::input::AsOfSource::Config => "config",
            crate::input::AsOfSource::LatestInInputs => "latest_in_inputs",
        }
        .to_string(),
        timezone: config.timezone.name().to_string(),
        maturity_days: config.maturity_days,
        tables,
        sla_rules,
        spike_age_days: config.risk.age_days,
        spans,
    };
    out.write_bytes(MANIFEST, serde_json::to_string_pretty(&manifest)?.as_bytes())?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_labels_match_period_codes() {
        // period_code of a month = year·12 + month.
        assert_eq!(month_label(2026 * 12 + 3), "2026-03");
        assert_eq!(month_label(2026 * 12 + 12), "2026-12");
        assert_eq!(month_label(2027 * 12 + 1), "2027-01");
    }
}

impl Manifest {
    /// data_quality as a run on the copy's exports finds it: the copy's findings about rows, then the calendar's
    /// for the config's working-day rules.
    pub fn data_quality(&self, row_findings: DataFrame, config: &Config) -> Result<DataFrame> {
        let mut spans = BTreeMap::new();
        for rule in &config.sla_rules {
            for c in [&rule.start, &rule.stop] {
                if let Some(&span) = self.spans.get(&format!("{}.{c}", rule.table.name())) {
                    spans.insert((rule.table, c.clone()), span);
                }
            }
        }
        let calendar = crate::checks::calendar_findings(&spans, &config.sla_rules, &config.calendar, config.timezone)?;
        let mut dq = row_findings;
        if calendar.height() > 0 {
            dq.vstack_mut(&calendar)?;
        }
        Ok(dq)
    }

    /// The report's view of the inputs the copy was made from.
    pub fn input_facts(&self, data_quality: DataFrame, merchants: Option<DataFrame>) -> crate::report::InputFacts {
        // In the tables' own order, as a run lists them.
        let counts = TableKind::ALL
            .iter()
            .filter_map(|k| self.tables.get_key_value(k.name()))
            .map(|(name, t)| {
                let read = t.read - t.filtered;
                crate::report::TableCounts {
                    table: name.clone(),
                    read: t.read,
                    accepted: t.rows,
                    rejected: t.rejected,
                    reject_rate: if read == 0 {
                        0.0
                    } else {
                        t.rejected as f64 / read as f64
                    },
                }
            })
            .collect();
        crate::report::InputFacts {
            counts,
            data_quality,
            as_of: self.as_of,
            as_of_source: match self.as_of_source.as_str() {
                "command_line" => crate::input::AsOfSource::CommandLine,
                "config" => crate::input::AsOfSource::Config,
                _ => crate::input::AsOfSource::LatestInInputs,
            },
            merchants,
        }
    }
}
