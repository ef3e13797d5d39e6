//! The aggregates the distributed path writes (aftersales-dist, docs/scale-out.md), and the tables finished from
//! them here with the same code the local run finishes its own groups with.
//!
//! aftersales-dist scans the Hive copy ([`crate::hive`]) on a DataFusion/Ballista cluster and writes one Parquet
//! file per aggregate into a folder; `aftersales finish` reads them, checks each has the columns this build
//! expects, and writes the tables. Each aggregate's grain and columns:
//!
//! - `return_rate_groups.parquet`: one row per (period_kind, code, level, key) of `return_rates` (SPEC §4.1)
//!   before its ratios: units_sold, units_returned, orders, orders_with_case, gmv, refunded, some_instant (the
//!   earliest ordered_at of the group: any instant of the period gives its label and bounds).
//! - `reason_counts.parquet`: one row per (period_kind, code, level, key, reason_code) of `reason_breakdown`
//!   (SPEC §4.2): responsibility, cases, units.
//!
//! - `sla_clocks/` (a folder of parts, one row per record and rule): the `sla_clocks` table's columns plus
//!   month_code and quarter_code of the start; written here as one file in the local run's order (by rule, in the
//!   config's order, then record_id).
//! - `sla_counts.parquet`: one row per (rule, month_code, quarter_code, merchant_id): clocks, met, breached,
//!   running, void, invalid.
//! - `sla_elapsed.parquet`: one row per (rule, month_code, quarter_code, merchant_id, elapsed) over stopped clocks:
//!   n. The percentiles of `sla_compliance` are taken over these values, each repeated n times — exactly the local
//!   run's computation over the clocks themselves.
//!
//! - `leg_groups.parquet`: one row per (month_code of shipped_at, carrier, direction, origin_region, dest_region)
//!   over legs with a known outcome, a missing region as `(unknown)`: shipments, delivered, damaged, lost,
//!   returned_to_sender, on_time_legs, on_time.
//! - `carrier_claims.parquet`: one row per order with a carrier claim (completed refunds of counted cases whose
//!   responsibility is carrier): case_order_id, claim, and the carrier and shipped_at of the order's first forward
//!   leg (earliest shipped_at, then lowest shipment_id).
//!
//! - `sold_weeks.parquet`: order lines per (merchant_id, sku, category, week_code): n, quantity, ordered_at (the
//!   earliest) — `metrics::return_rates::SoldWeeks`.
//! - `early_weeks.parquet`: lines returned within A days per (merchant_id, sku, category, week_code of the line): r,
//!   r_carrier, units_returned — `metrics::spikes::EarlyWeeks`.
//! - `merchant_case_counts.parquet`: counted cases per (quarter_code of opened_at, the case's merchant_id): cases,
//!   disputes, losses, fault, ratings, rating_sum — `metrics::merchants::Tables::case_counts`.
//!
//! `code`, month_code and quarter_code are [`crate::metrics::period_code`] numbers, as the copy carries them.

use std::path::Path;

use anyhow::{Context, Result, bail};
use polars::prelude::*;

use crate::engine::Run;
use crate::metrics::{code_label, reasons, return_rates};

/// An aggregate file: its name and the columns read from it with the type each is cast to.
struct Aggregate {
    file: &'static str,
    columns: &'static [(&'static str, Kind)],
}

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Int,
    Code,
    Real,
    Money,
    Instant,
}

impl Kind {
    /// The type read; money keeps the scale it was written with (a price may have 4 places, `tables`).
    fn dtype(self, found: &DataType) -> DataType {
        match self {
            Kind::Text => DataType::String,
            Kind::Int => DataType::Int64,
            Kind::Code => DataType::Int32,
            Kind::Real => DataType::Float64,
            Kind::Money => match found {
                DataType::Decimal(_, scale) => DataType::Decimal(38, *scale),
                _ => DataType::Decimal(38, 2),
            },
            Kind::Instant => crate::time::ts_dtype(),
        }
    }
}

const RETURN_RATE_GROUPS: Aggregate = Aggregate {
    file: "return_rate_groups.parquet",
    columns: &[
        ("period_kind", Kind::Text),
        ("code", Kind::Int),
        ("level", Kind::Text),
        ("key", Kind::Text),
        ("units_sold", Kind::Int),
        ("units_returned", Kind::Int),
        ("orders", Kind::Int),
        ("orders_with_case", Kind::Int),
        ("gmv", Kind::Money),
        ("refunded", Kind::Money),
        ("some_instant", Kind::Instant),
    ],
};

const REASON_COUNTS: Aggregate = Aggregate {
    file: "reason_counts.parquet",
    columns: &[
        ("period_kind", Kind::Text),
        ("code", Kind::Int),
        ("level", Kind::Text),
        ("key", Kind::Text),
        ("reason_code", Kind::Text),
        ("responsibility", Kind::Text),
        ("cases", Kind::Int),
        ("units", Kind::Int),
    ],
};

const SLA_COUNTS: Aggregate = Aggregate {
    file: "sla_counts.parquet",
    columns: &[
        ("rule", Kind::Text),
        ("month_code", Kind::Code),
        ("quarter_code", Kind::Code),
        ("merchant_id", Kind::Text),
        ("clocks", Kind::Int),
        ("met", Kind::Int),
        ("breached", Kind::Int),
        ("running", Kind::Int),
        ("void", Kind::Int),
        ("invalid", Kind::Int),
    ],
};

const SLA_ELAPSED: Aggregate = Aggregate {
    file: "sla_elapsed.parquet",
    columns: &[
        ("rule", Kind::Text),
        ("month_code", Kind::Code),
        ("quarter_code", Kind::Code),
        ("merchant_id", Kind::Text),
        ("elapsed", Kind::Real),
        ("n", Kind::Int),
    ],
};

const LEG_GROUPS: Aggregate = Aggregate {
    file: "leg_groups.parquet",
    columns: &[
        ("month_code", Kind::Code),
        ("carrier", Kind::Text),
        ("direction", Kind::Text),
        ("origin_region", Kind::Text),
        ("dest_region", Kind::Text),
        ("shipments", Kind::Int),
        ("delivered", Kind::Int),
        ("damaged", Kind::Int),
        ("lost", Kind::Int),
        ("returned_to_sender", Kind::Int),
        ("on_time_legs", Kind::Int),
        ("on_time", Kind::Int),
    ],
};

const CARRIER_CLAIMS: Aggregate = Aggregate {
    file: "carrier_claims.parquet",
    columns: &[
        ("case_order_id", Kind::Text),
        ("claim", Kind::Money),
        ("carrier", Kind::Text),
        ("shipped_at", Kind::Instant),
    ],
};

const SOLD_WEEKS: Aggregate = Aggregate {
    file: "sold_weeks.parquet",
    columns: &[
        ("merchant_id", Kind::Text),
        ("sku", Kind::Text),
        ("category", Kind::Text),
        ("week_code", Kind::Code),
        ("n", Kind::Int),
        ("quantity", Kind::Int),
        ("ordered_at", Kind::Instant),
    ],
};

const EARLY_WEEKS: Aggregate = Aggregate {
    file: "early_weeks.parquet",
    columns: &[
        ("merchant_id", Kind::Text),
        ("sku", Kind::Text),
        ("category", Kind::Text),
        ("week_code", Kind::Code),
        ("r", Kind::Int),
        ("r_carrier", Kind::Int),
        ("units_returned", Kind::Int),
    ],
};

const MERCHANT_CASE_COUNTS: Aggregate = Aggregate {
    file: "merchant_case_counts.parquet",
    columns: &[
        ("quarter_code", Kind::Code),
        ("merchant_id", Kind::Text),
        ("cases", Kind::Int),
        ("disputes", Kind::Int),
        ("losses", Kind::Int),
        ("fault", Kind::Int),
        ("ratings", Kind::Int),
        ("rating_sum", Kind::Real),
    ],
};

/// The columns of the `sla_clocks` table, as the local run writes them.
const CLOCK_COLUMNS: [&str; 15] = [
    "rule",
    "clock",
    "target",
    "target_unit",
    "record_type",
    "record_id",
    "case_id",
    "order_id",
    "merchant_id",
    "case_type",
    "start",
    "stop",
    "deadline",
    "elapsed",
    "status",
];

/// Reads an aggregate, naming the file and the columns it lacks when it is not what this build expects.
fn read(dir: &Path, agg: &Aggregate) -> Result<DataFrame> {
    let path = dir.join(agg.file);
    let file = std::fs::File::open(&path)
        .with_context(|| format!("cannot open {} (aftersales-dist aggregate writes it)", path.display()))?;
    let df = anyhow::Context::with_context(ParquetReader::new(file).finish(), || {
        format!("cannot read {}", path.display())
    })?;
    let missing: Vec<&str> = agg
        .columns
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| df.column(c).is_err())
        .collect();
    if !missing.is_empty() {
        bail!(
            "{} lacks the column(s) {}; it has {}. Was it written by another version of aftersales-dist?",
            path.display(),
            missing.join(", "),
            df.get_column_names()
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let schema = df.schema().clone();
    Ok(df
        .lazy()
        .select(
            agg.columns
                .iter()
                .map(|(c, k)| col(*c).strict_cast(k.dtype(schema.get(c).expect("checked above"))))
                .collect::<Vec<_>>(),
        )
        .run()
        .map_err(|e| anyhow::anyhow!("{}: a column has a type this build cannot read: {e}", path.display()))?)
}

/// The period label of a `code` column for rows of both kinds.
fn label(code: Expr) -> Expr {
    when(col("period_kind").eq(lit("month")))
        .then(code_label(code.clone(), "month"))
        .otherwise(code_label(code, "quarter"))
}

/// `return_rates` from `return_rate_groups`.
pub fn return_rates(
    dir: &Path,
    tz: chrono_tz::Tz,
    as_of: crate::time::Micros,
    maturity_days: i64,
) -> Result<DataFrame> {
    let groups = read(dir, &RETURN_RATE_GROUPS)?
        .lazy()
        .with_columns([
            col("code").cast(DataType::Int32),
            col("some_instant").alias("_some_instant"),
        ])
        .drop(cols(["some_instant"]))
        .run()?;
    return_rates::table(groups, tz, as_of, maturity_days)
}

/// `reason_breakdown` from `reason_counts`.
pub fn reason_breakdown(dir: &Path) -> Result<DataFrame> {
    let counts = read(dir, &REASON_COUNTS)?
        .lazy()
        .with_column(label(col("code").cast(DataType::Int32)).alias("period"))
        .drop(cols(["code"]));
    reasons::finish(counts)
}

/// `sla_compliance` from `sla_counts` and `sla_elapsed`, with the local run's code.
pub fn sla_compliance(dir: &Path, rules: &[crate::sla_rules::SlaRule]) -> Result<DataFrame> {
    if rules.is_empty() {
        return crate::metrics::sla::compliance_from_sums(rules, vec![]);
    }
    let counts = read(dir, &SLA_COUNTS)?;
    let elapsed = read(dir, &SLA_ELAPSED)?;
    let mut sums = Vec::new();
    for rule in rules {
        let this = col("rule").eq(lit(rule.name.clone()));
        let fine = counts.clone().lazy().filter(this.clone()).drop(cols(["rule"]));
        let values = elapsed.clone().lazy().filter(this).run()?;
        let stopped = repeated(&values)?.lazy().select([
            col("merchant_id"),
            col("month_code"),
            col("quarter_code"),
            col("elapsed").alias("_stopped"),
        ]);
        sums.push(crate::metrics::sla::RuleSums { fine, stopped });
    }
    crate::metrics::sla::compliance_from_sums(rules, sums)
}

/// The `sla_clocks` table from the parts in `sla_clocks/`, sorted as the local run writes it, as a plan; write it
/// with `workdir::sink_linkable` as the local run does (its strings are large strings, not views).
pub fn sla_clocks(dir: &Path, rules: &[crate::sla_rules::SlaRule]) -> Result<LazyFrame> {
    let parts = dir.join("sla_clocks");
    let files: Vec<std::path::PathBuf> = std::fs::read_dir(&parts)
        .with_context(|| format!("cannot read the clocks in {}", parts.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    anyhow::ensure!(!files.is_empty(), "{} holds no Parquet file", parts.display());
    let names: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
    Ok(crate::workdir::scan_files(&files)?
        .select(CLOCK_COLUMNS.map(col))
        .with_column(crate::metrics::level_rank(col("rule"), &names).alias("_rule_rank"))
        .sort(["_rule_rank", "record_id"], SortMultipleOptions::default())
        .drop(cols(["_rule_rank"])))
}

/// Each row of `values` repeated `n` times (its count column), in order.
fn repeated(values: &DataFrame) -> Result<DataFrame> {
    let n = values.column("n")?.i64()?;
    let mut rows: Vec<IdxSize> = Vec::new();
    for (i, n) in n.iter().enumerate() {
        let n = n.context("a null count in sla_elapsed")?;
        anyhow::ensure!(n >= 0, "a negative count in sla_elapsed");
        rows.extend(std::iter::repeat_n(i as IdxSize, n as usize));
    }
    Ok(values.take(&IdxCa::from_vec("".into(), rows))?)
}

/// The carrier leg groups, as the local run groups them.
pub fn leg_groups(dir: &Path) -> Result<crate::metrics::carriers::LegGroups> {
    let groups = read(dir, &LEG_GROUPS)?
        .lazy()
        .with_column(code_label(col("month_code"), "month").alias("month"))
        .drop(cols(["month_code"]))
        .run()?;
    Ok(crate::metrics::carriers::LegGroups::from_frame(groups))
}

/// `carrier_performance` from the leg groups and `carrier_claims`.
pub fn carrier_performance(
    dir: &Path,
    legs: &crate::metrics::carriers::LegGroups,
    tz: chrono_tz::Tz,
) -> Result<DataFrame> {
    crate::metrics::carriers::performance_with_claims(legs, &read(dir, &CARRIER_CLAIMS)?, tz)
}

pub fn sold_weeks(dir: &Path) -> Result<crate::metrics::return_rates::SoldWeeks> {
    Ok(crate::metrics::return_rates::SoldWeeks(read(dir, &SOLD_WEEKS)?))
}

pub fn early_weeks(dir: &Path) -> Result<crate::metrics::spikes::EarlyWeeks> {
    Ok(crate::metrics::spikes::EarlyWeeks(read(dir, &EARLY_WEEKS)?))
}

/// The case counts of `metrics::merchants::Tables`, their quarter labelled.
pub fn merchant_case_counts(dir: &Path) -> Result<DataFrame> {
    Ok(read(dir, &MERCHANT_CASE_COUNTS)?
        .lazy()
        .with_column(code_label(col("quarter_code"), "quarter").alias("quarter"))
        .drop(cols(["quarter_code"]))
        .run()?)
}
