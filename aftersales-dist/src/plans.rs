//! The aggregates as SQL over the Hive copy's tables. The per-line tables (`sql/*.sql`) state their grain and
//! columns; each is computed once and written as Parquet into the job's work folder, which every executor reads
//! (a view would be planned again inside each of the grouped queries that read it: eight times for line_facts).
//! The grouped queries are written out per period kind and level here, as a UNION ALL of one GROUP BY each — no
//! GROUPING SETS and no window frames, whose distinct counts and remote plans Ballista handles least well.
//!
//! Each aggregate's grain and columns are those the main crate's `aggregates` module reads (and documents).

use anyhow::{Context, Result};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::prelude::{ParquetReadOptions, SessionContext};

use crate::storage::Place;

/// The per-line tables every grouped query reads, in dependency order.
const STAGED: [(&str, &str); 2] = [
    ("line_facts", include_str!("../sql/line_facts.sql")),
    ("case_lines", CASE_LINES),
];

/// Every case with its order line (`sql/case_lines.sql`).
pub const CASE_LINES: &str = include_str!("../sql/case_lines.sql");

/// Computes each per-line table into `work/<name>/` (written by the executors) and registers it.
pub async fn stage(ctx: &SessionContext, work: &Place) -> Result<()> {
    for (name, sql) in STAGED {
        stage_one(ctx, name, sql, &work.join(name)).await?;
    }
    Ok(())
}

/// The per-line tables [`stage`] writes.
pub const STAGED_NAMES: [&str; 2] = ["line_facts", "case_lines"];

/// Computes `sql` into the folder `dir` (written by the executors, one file per partition) and registers it as
/// `name`.
pub async fn stage_one(ctx: &SessionContext, name: &str, sql: &str, dir: &Place) -> Result<()> {
    let started = std::time::Instant::now();
    let dir = dir.table_path();
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
pub fn plans(with_sla: bool, spike_age_days: i64) -> Vec<Plan> {
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
    plans.push(Plan {
        file: "sold_weeks.parquet",
        sql: SOLD_WEEKS.to_string(),
    });
    plans.push(Plan {
        file: "early_weeks.parquet",
        sql: early_weeks(spike_age_days * 86_400_000_000),
    });
    plans.push(Plan {
        file: "merchant_case_counts.parquet",
        sql: MERCHANT_CASE_COUNTS.to_string(),
    });
    plans.push(Plan {
        file: "leg_groups.parquet",
        sql: LEG_GROUPS.to_string(),
    });
    plans.push(Plan {
        file: "carrier_claims.parquet",
        sql: CARRIER_CLAIMS.to_string(),
    });
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

/// `leg_groups`: legs with a known outcome counted per (month_code of shipped_at, carrier, direction, regions).
const LEG_GROUPS: &str = "SELECT month_code, carrier, direction,
       COALESCE(origin_region, '(unknown)') AS origin_region, COALESCE(dest_region, '(unknown)') AS dest_region,
       COUNT(*) AS shipments,
       SUM(CASE WHEN outcome = 'delivered' THEN 1 ELSE 0 END) AS delivered,
       SUM(CASE WHEN outcome = 'damaged' THEN 1 ELSE 0 END) AS damaged,
       SUM(CASE WHEN outcome = 'lost' THEN 1 ELSE 0 END) AS lost,
       SUM(CASE WHEN outcome = 'returned_to_sender' THEN 1 ELSE 0 END) AS returned_to_sender,
       SUM(CASE WHEN promised_at IS NOT NULL AND delivered_at IS NOT NULL THEN 1 ELSE 0 END) AS on_time_legs,
       SUM(CASE WHEN promised_at IS NOT NULL AND delivered_at IS NOT NULL AND delivered_at <= promised_at
                THEN 1 ELSE 0 END) AS on_time
FROM shipments
WHERE outcome <> 'in_transit'
GROUP BY month_code, carrier, direction, COALESCE(origin_region, '(unknown)'), COALESCE(dest_region, '(unknown)')";

/// `carrier_claims`: per order with a carrier claim, the claim and its first forward leg (earliest shipped_at, then
/// lowest shipment_id: two MINs and joins instead of a window frame).
const CARRIER_CLAIMS: &str = "WITH claims AS (
    SELECT c.order_id AS case_order_id, SUM(CAST(r.amount AS DECIMAL(38, 2))) AS claim
    FROM refunds r
    JOIN case_lines c ON r.case_id = c.case_id
    WHERE r.status = 'completed' AND c.counted AND c.responsibility = 'carrier'
    GROUP BY c.order_id
),
forward AS (
    SELECT s.order_id, s.shipment_id, s.carrier, s.shipped_at
    FROM shipments s
    JOIN claims k ON s.order_id = k.case_order_id
    WHERE s.direction = 'forward'
),
first_at AS (
    SELECT order_id, MIN(shipped_at) AS shipped_at FROM forward GROUP BY order_id
),
first_id AS (
    SELECT f.order_id, MIN(f.shipment_id) AS shipment_id
    FROM forward f
    JOIN first_at a ON f.order_id = a.order_id AND f.shipped_at = a.shipped_at
    GROUP BY f.order_id
)
SELECT k.case_order_id, k.claim, f.carrier, f.shipped_at
FROM claims k
JOIN first_id i ON k.case_order_id = i.order_id
JOIN forward f ON f.order_id = i.order_id AND f.shipment_id = i.shipment_id";

/// `sold_weeks`: order lines per (merchant_id, sku, category, week_code): n lines, quantity, the earliest
/// ordered_at — what the spike detector reads of the lines.
const SOLD_WEEKS: &str = "SELECT merchant_id, sku, category, week_code, COUNT(*) AS n, SUM(quantity) AS quantity,
       MIN(ordered_at) AS ordered_at
FROM orders
GROUP BY merchant_id, sku, category, week_code";

/// `early_weeks`: lines with a return opened within A days of the line's ordered_at (`{window_us}`), per
/// (merchant_id, sku, category, week_code of the line): r (lines with such a return not the carrier's), r_carrier
/// (lines whose every such return is the carrier's), units_returned (units of the non-carrier returns, at most
/// the line's quantity).
fn early_weeks(window_us: i64) -> String {
    format!(
        "WITH early AS (
    SELECT order_id, line_no, sku, line_merchant_id, line_category, line_week_code, line_quantity, quantity,
           responsibility IS NULL OR responsibility <> 'carrier' AS not_carrier
    FROM case_lines
    WHERE is_return AND line_no IS NOT NULL
      AND CAST(opened_at AS BIGINT) - CAST(line_ordered_at AS BIGINT) BETWEEN 0 AND {window_us}
),
lines AS (
    SELECT order_id, line_no, MIN(sku) AS sku, MIN(line_merchant_id) AS merchant_id,
           MIN(line_category) AS category, MIN(line_week_code) AS week_code,
           BOOL_OR(not_carrier) AS counted,
           COALESCE(SUM(CASE WHEN not_carrier THEN quantity END), 0) AS early_units,
           MIN(line_quantity) AS line_quantity
    FROM early
    GROUP BY order_id, line_no
)
SELECT merchant_id, sku, category, week_code,
       SUM(CASE WHEN counted THEN 1 ELSE 0 END) AS r,
       SUM(CASE WHEN counted THEN 0 ELSE 1 END) AS r_carrier,
       SUM(CASE WHEN early_units > line_quantity THEN line_quantity ELSE early_units END) AS units_returned
FROM lines
GROUP BY merchant_id, sku, category, week_code"
    )
}

/// `merchant_case_counts`: counted cases per (quarter_code of opened_at, the case's merchant_id): cases, disputes
/// and losses (escalated / buyer_favoured, not the carrier's), fault (the merchant's responsibility), ratings and
/// rating_sum — what merchant_risk and badges read of the cases.
const MERCHANT_CASE_COUNTS: &str = "SELECT quarter_code, merchant_id, COUNT(*) AS cases,
       SUM(CASE WHEN escalated_at IS NOT NULL AND (responsibility IS NULL OR responsibility <> 'carrier')
                THEN 1 ELSE 0 END) AS disputes,
       SUM(CASE WHEN dispute_outcome = 'buyer_favoured' AND (responsibility IS NULL OR responsibility <> 'carrier')
                THEN 1 ELSE 0 END) AS losses,
       SUM(CASE WHEN responsibility = 'merchant' THEN 1 ELSE 0 END) AS fault,
       SUM(CASE WHEN satisfaction IS NOT NULL THEN 1 ELSE 0 END) AS ratings,
       CAST(SUM(satisfaction) AS DOUBLE) AS rating_sum
FROM case_lines
WHERE counted
GROUP BY quarter_code, merchant_id";
