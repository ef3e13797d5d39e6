//! The aggregates as SQL over the Hive copy's tables. The per-line views (`sql/*.sql`) state their grain and
//! columns; the grouped queries are written out per period kind and level here, as a UNION ALL of one GROUP BY
//! each — no GROUPING SETS and no window frames, whose distinct counts and remote plans Ballista handles least well.
//!
//! Each aggregate's grain and columns are those the main crate's `aggregates` module reads (and documents).

use anyhow::{Context, Result};
use datafusion::prelude::SessionContext;

/// The views every grouped query reads, registered from their SQL in dependency order.
const VIEWS: [(&str, &str); 2] = [
    ("line_facts", include_str!("../sql/line_facts.sql")),
    ("case_lines", include_str!("../sql/case_lines.sql")),
];

pub async fn register_views(ctx: &SessionContext) -> Result<()> {
    for (name, sql) in VIEWS {
        let df = ctx
            .sql(sql)
            .await
            .with_context(|| format!("cannot plan the view {name}"))?;
        ctx.register_table(name, df.into_view())?;
    }
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

pub fn plans() -> Vec<Plan> {
    vec![
        Plan {
            file: "return_rate_groups.parquet",
            sql: return_rate_groups(),
        },
        Plan {
            file: "reason_counts.parquet",
            sql: reason_counts(),
        },
    ]
}
