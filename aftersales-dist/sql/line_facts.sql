-- line_facts: one row per order line with any after-sales fact (SPEC §4.1; the main crate's
-- metrics/prepare computes the same by hand). A case reaches the lowest line_no of its (order_id, sku); a refund its
-- case's line, else the lowest line_no of its order (docs/tables.md).
-- Columns: order_id, line_no, month_code, quarter_code, week_code, category, merchant_id, sku, ordered_at,
--   returned_units (units of returns on the line, capped at the units of its sku in the whole order),
--   counted_cases, refunded (completed refunds, Decimal).
WITH sku_lines AS (
    SELECT order_id, sku, MIN(line_no) AS line_no, SUM(quantity) AS sku_units
    FROM orders
    GROUP BY order_id, sku
),
case_lines AS (
    SELECT c.case_id, s.order_id, s.line_no, s.sku_units, c.quantity,
           c.status <> 'cancelled' AS counted,
           c.status <> 'cancelled'
             AND c.case_type IN ('return', 'exchange')
             AND (c.decision IS NULL OR c.decision <> 'rejected') AS is_return
    FROM cases c
    JOIN sku_lines s ON c.order_id = s.order_id AND c.sku = s.sku
),
order_first AS (
    SELECT order_id, MIN(line_no) AS line_no FROM orders GROUP BY order_id
),
refund_lines AS (
    SELECT COALESCE(cl.order_id, f.order_id) AS order_id,
           COALESCE(cl.line_no, f.line_no) AS line_no,
           CAST(r.amount AS DECIMAL(38, 2)) AS amount
    FROM refunds r
    LEFT JOIN case_lines cl ON r.case_id = cl.case_id
    LEFT JOIN order_first f ON r.order_id = f.order_id
    WHERE r.status = 'completed'
),
per_line AS (
    SELECT order_id, line_no,
           SUM(returned) AS return_units, SUM(counted) AS counted_cases, SUM(amount) AS refunded,
           MAX(sku_units) AS sku_units
    FROM (
        SELECT order_id, line_no,
               CASE WHEN is_return THEN quantity ELSE 0 END AS returned,
               CASE WHEN counted THEN 1 ELSE 0 END AS counted,
               CAST(0 AS DECIMAL(38, 2)) AS amount,
               sku_units
        FROM case_lines
        UNION ALL
        SELECT order_id, line_no, 0, 0, amount, CAST(NULL AS BIGINT) FROM refund_lines
    ) u
    GROUP BY order_id, line_no
)
SELECT l.order_id, l.line_no, l.month_code, l.quarter_code, l.week_code, l.category, l.merchant_id, l.sku,
       l.ordered_at,
       CASE WHEN p.return_units > p.sku_units THEN p.sku_units ELSE p.return_units END AS returned_units,
       p.counted_cases, p.refunded
FROM per_line p
JOIN orders l ON p.order_id = l.order_id AND p.line_no = l.line_no
