-- case_lines: one row per case with the order line it reaches (the lowest line_no of its order_id and sku; none
-- when its sku is not on its order or its order is unknown).
-- Columns: every case column, counted, is_return, responsibility, and of the line (null without one): line_no,
--   line_category, line_merchant_id, line_ordered_at, line_quantity, line_week_code.
WITH sku_lines AS (
    SELECT order_id, sku, MIN(line_no) AS line_no FROM orders GROUP BY order_id, sku
)
SELECT c.*,
       c.status <> 'cancelled' AS counted,
       c.status <> 'cancelled'
         AND c.case_type IN ('return', 'exchange')
         AND (c.decision IS NULL OR c.decision <> 'rejected') AS is_return,
       r.responsibility,
       o.line_no, o.category AS line_category, o.merchant_id AS line_merchant_id,
       o.ordered_at AS line_ordered_at, o.quantity AS line_quantity, o.week_code AS line_week_code
FROM cases c
LEFT JOIN sku_lines s ON c.order_id = s.order_id AND c.sku = s.sku
LEFT JOIN orders o ON s.order_id = o.order_id AND s.line_no = o.line_no
LEFT JOIN responsibility r ON c.reason_code = r.reason_code
