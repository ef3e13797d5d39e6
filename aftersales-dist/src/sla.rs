//! SLA clocks (SPEC §4.3) as SQL, one SELECT per rule of the copy's manifest, in micros since the epoch so that no
//! time-zone arithmetic happens on the engine: a start's local date and periods, a stop's local date and a
//! working-day deadline are joins against the copy's calendar (`day`, `cum` working days up to and including it,
//! `workday`, `eod`), never a UDF or a window frame.
//!
//! - `sla_clocks` (written whole, one row per record and rule): the output table's columns, plus `month_code` and
//!   `quarter_code` of the start, which the sums group by.
//! - `sla_counts`: one row per (rule, month_code, quarter_code, merchant_id): clocks and a count per status.
//! - `sla_elapsed`: one row per (rule, month_code, quarter_code, merchant_id, elapsed) over stopped (met or
//!   breached) clocks: n. Exact percentiles are not decomposable; these value counts are, and `aftersales finish`
//!   takes the median and 90th percentile over them exactly as the local run does over the clocks.

use crate::copy::Rule;

const US_PER_HOUR: f64 = 3_600_000_000.0;

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A column name as SQL sees it (the copy's columns are lowercase identifiers; quoted all the same).
fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The clocks of one rule.
fn rule_sql(rule: &Rule, as_of: i64) -> String {
    let refunds = rule.table == "refunds";
    let (record_type, id, void) = if refunds {
        ("refund", "r.refund_id", "r.status = 'failed'")
    } else {
        ("case", "r.case_id", "r.status = 'cancelled'")
    };
    let case_type = if refunds {
        "CAST(NULL AS VARCHAR)"
    } else {
        "r.case_type"
    };
    let (start, stop) = (ident(&rule.start), ident(&rule.stop));
    let (start_day, stop_day) = (
        ident(&format!("{}_day", rule.start)),
        ident(&format!("{}_day", rule.stop)),
    );
    let mut filter = format!("r.{start} IS NOT NULL AND CAST(r.{start} AS BIGINT) <= {as_of}");
    if let Some(types) = &rule.case_types {
        let list: Vec<String> = types.iter().map(|t| quote(t)).collect();
        filter.push_str(&format!(" AND r.case_type IN ({})", list.join(", ")));
    }
    // A stop after as_of has not happened yet at as_of.
    let stopped = format!("CAST(r.{stop} AS BIGINT) <= {as_of}");
    let base = format!(
        "SELECT {id} AS record_id, r.case_id, r.order_id, r.merchant_id, {case_type} AS case_type,
                r.{start} AS start, CASE WHEN {stopped} THEN r.{stop} END AS stop,
                CAST(r.{start} AS BIGINT) AS start_us,
                CASE WHEN {stopped} THEN CAST(r.{stop} AS BIGINT) END AS stop_us,
                r.{start_day} AS start_day,
                CASE WHEN {stopped} THEN r.{stop_day} END AS stop_day,
                {void} AS void
         FROM {table} r WHERE {filter}",
        table = rule.table,
    );
    let (target, unit, clock, deadline, deadline_us, elapsed, joins) =
        match (rule.target_hours, rule.target_working_days) {
            (Some(h), _) => {
                let us = (h * US_PER_HOUR).round() as i64;
                (
                    h,
                    "hours",
                    "calendar",
                    format!("c.start + INTERVAL '{us} microseconds'"),
                    format!("(c.start_us + {us})"),
                    // × (1 / 3.6e9), not ÷ 3.6e9: the local run's engine (polars) turns a division by a constant into
                    // that product, whose last bit can differ from the quotient's — and the page rounds elapsed to a
                    // tenth, where 30.349999999999998 and 30.35 read differently. `{:?}` writes the f64 exactly.
                    format!("CAST(c.stop_us - c.start_us AS DOUBLE) * {:?}", 1.0 / US_PER_HOUR),
                    String::new(),
                )
            }
            (None, Some(n)) => (
                f64::from(n),
                "working_days",
                "working_days",
                "d.eod".to_string(),
                "CAST(d.eod AS BIGINT)".to_string(),
                // 0 when stopped on the start's date, else the working days after it up to the stop's date, a stop on a
                // day off counting as the next working day.
                "CASE WHEN c.stop_day <= c.start_day THEN 0.0
                  ELSE CAST(t.cum + CASE WHEN t.workday THEN 0 ELSE 1 END - s.cum AS DOUBLE) END"
                    .to_string(),
                format!(
                    "LEFT JOIN calendar t ON c.stop_day = t.day
                 LEFT JOIN calendar d ON d.workday AND d.cum = s.cum + {n}"
                ),
            ),
            _ => unreachable!("the copy states exactly one target"),
        };
    let status = format!(
        "CASE WHEN c.stop_us IS NOT NULL AND c.stop_us < c.start_us THEN 'invalid'
              WHEN c.stop_us IS NOT NULL AND c.stop_us <= {deadline_us} THEN 'met'
              WHEN c.stop_us IS NOT NULL THEN 'breached'
              WHEN c.void THEN 'void'
              WHEN {as_of} > {deadline_us} THEN 'breached'
              ELSE 'running' END"
    );
    format!(
        "SELECT {name} AS rule, '{clock}' AS clock, CAST({target:?} AS DOUBLE) AS target, '{unit}' AS target_unit,
                '{record_type}' AS record_type, c.record_id, c.case_id, c.order_id, c.merchant_id, c.case_type,
                c.start, c.stop, {deadline} AS deadline,
                CASE WHEN c.stop_us IS NULL OR c.stop_us < c.start_us THEN CAST(NULL AS DOUBLE) ELSE {elapsed} END
                  AS elapsed,
                {status} AS status,
                s.month_code, s.quarter_code
         FROM ({base}) c
         JOIN calendar s ON c.start_day = s.day
         {joins}",
        name = quote(&rule.name),
    )
}

/// Every rule's clocks.
pub fn clocks_sql(rules: &[Rule], as_of: i64) -> Option<String> {
    let parts: Vec<String> = rules.iter().map(|r| rule_sql(r, as_of)).collect();
    (!parts.is_empty()).then(|| parts.join("\nUNION ALL\n"))
}

pub const COUNTS_SQL: &str = "SELECT rule, month_code, quarter_code, merchant_id, COUNT(*) AS clocks,
       SUM(CASE WHEN status = 'met' THEN 1 ELSE 0 END) AS met,
       SUM(CASE WHEN status = 'breached' THEN 1 ELSE 0 END) AS breached,
       SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END) AS running,
       SUM(CASE WHEN status = 'void' THEN 1 ELSE 0 END) AS void,
       SUM(CASE WHEN status = 'invalid' THEN 1 ELSE 0 END) AS invalid
FROM sla_clocks
GROUP BY rule, month_code, quarter_code, merchant_id";

pub const ELAPSED_SQL: &str = "SELECT rule, month_code, quarter_code, merchant_id, elapsed, COUNT(*) AS n
FROM sla_clocks
WHERE status IN ('met', 'breached')
GROUP BY rule, month_code, quarter_code, merchant_id, elapsed";
