//! The aggregates as SQL over the Hive copy's tables. The per-line tables (`sql/*.sql`) state their grain and
//! columns; each is computed once and written as Parquet into the job's work folder, which every executor reads
//! (a view would be planned again inside each of the grouped queries that read it: eight times for line_facts).
//! The grouped queries are written out per period kind and level here, as a UNION ALL of one GROUP BY each — no
//! GROUPING SETS and no window frames, whose distinct counts and remote plans Ballista handles least well.
//!
//! Each aggregate's grain and columns are those the main crate's `aggregates` module reads (and documents).

use std::path::Path;

use anyhow::{Context, Result};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::prelude::{ParquetReadOptions, SessionContext};

/// The per-line tables every grouped query reads, in dependency order.
const STAGED: [(&str, &str); 2] = [
    ("line_facts", include_str!("../sql/line_facts.sql")),
    ("case_lines", include_str!("../sql/case_lines.sql")),
];

/// Computes each per-line table into `work/<name>/` (written by the executors) and registers it.
pub async fn stage(ctx: &SessionContext, work: &Path) -> Result<()> {
    for (name, sql) in STAGED {
        stage_one(ctx, name, sql, &work.join(name)).await?;
    }
    Ok(())
}

/// Computes `sql` into the folder `dir` (written by the executors, one file per partition) and registers it as
/// `name`.
pub async fn stage_one(ctx: &SessionContext, name: &str, sql: &str, dir: &Path) -> Result<()> {
    let started = std::time::Instant::now();
    let dir = format!("{}/", dir.display());
    ctx.sql(sql)
        .await
        .with_context(|| format!("cannot plan {name}"))?
        .write_parquet(&dir, DataFrameWriteOptions::new(), None)
        .await
        .with_context(|| format!("cannot write {name} into {dir}"))?;
    ctx.register_parquet(name, &dir, ParquetReadOptions::default())
        .await
        .with_context(|| format!("cannot register {dir}"))?;
    eprintln!("{name}: staged in {:.2} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// One aggregate: the file it is written to and its query.
pub struct Plan {
    pub file: &'static str,
    pub sql: String,
}

const KINDS: [&str; 2] = ["month", "quarter"];

/// The key expression of a level (`'all'` for the platform) over rows with category, merchant_id and sku.
fn key(level: &str) -> &'static str {
    match level {
        "platform" => "'all'",
        "category" => "category",
        "merchant" => "merchant_id",
        _ => "sku",
    }
}

fn union(parts: Vec<String>) -> String {
    parts.join("\nUNION ALL\n")
}

/// `return_rate_groups`: one row per (period_kind, code, level, key) — what was sold (order lines) left-joined
/// with what came back (line_facts) in the same group.
fn return_rate_groups() -> String {
    let mut parts = Vec::new();
    for kind in KINDS {
        for level in ["platform", "category", "merchant", "sku"] {
            let k = key(level);
            parts.push(format!(
                "SELECT '{kind}' AS period_kind, s.code, '{level}' AS level, s.key, s.units_sold,
        COALESCE(b.units_returned, 0) AS units_returned, s.orders, COALESCE(b.orders_with_case, 0) AS orders_with_case,
        s.gmv, COALESCE(b.refunded, CAST(0 AS DECIMAL(38, 2))) AS refunded, s.some_instant
 FROM (SELECT {kind}_code AS code, {k} AS key, SUM(quantity) AS units_sold, COUNT(DISTINCT order_id) AS orders,
              SUM(unit_price * CAST(quantity AS DECIMAL(20, 0))) AS gmv, MIN(ordered_at) AS some_instant
       FROM orders GROUP BY {kind}_code, {k}) s
 LEFT JOIN (SELECT {kind}_code AS code, {k} AS key, SUM(returned_units) AS units_returned,
                   COUNT(DISTINCT CASE WHEN counted_cases > 0 THEN order_id END) AS orders_with_case,
                   SUM(refunded) AS refunded
            FROM line_facts GROUP BY {kind}_code, {k}) b
   ON s.code = b.code AND s.key = b.key"
            ));
        }
    }
    union(parts)
}

/// `reason_counts`: one row per (period_kind, code of opened_at, level, key, reason_code) over counted cases; a
/// case without an order line keeps its own merchant and has category `(unknown)`.
fn reason_counts() -> String {
    let mut parts = Vec::new();
    for kind in KINDS {
        for (level, k) in [
            ("platform", "'all'"),
            ("category", "COALESCE(line_category, '(unknown)')"),
            ("merchant", "COALESCE(line_merchant_id, merchant_id)"),
        ] {
            parts.push(format!(
                "SELECT '{kind}' AS period_kind, {kind}_code AS code, '{level}' AS level, {k} AS key, reason_code,
        MIN(responsibility) AS responsibility, COUNT(*) AS cases, SUM(quantity) AS units
 FROM case_lines WHERE counted
 GROUP BY {kind}_code, {k}, reason_code"
            ));
        }
    }
    union(parts)
}

/// The aggregates; the SLA sums only when the copy has rules (they read the staged `sla_clocks`).
pub fn plans(with_sla: bool) -> Vec<Plan> {
    let mut plans = vec![
        Plan {
            file: "return_rate_groups.parquet",
            sql: return_rate_groups(),
        },
        Plan {
            file: "reason_counts.parquet",
            sql: reason_counts(),
        },
    ];
    if with_sla {
        plans.push(Plan {
            file: "sla_counts.parquet",
            sql: crate::sla::COUNTS_SQL.to_string(),
        });
        plans.push(Plan {
            file: "sla_elapsed.parquet",
            sql: crate::sla::ELAPSED_SQL.to_string(),
        });
    }
    plans
}
