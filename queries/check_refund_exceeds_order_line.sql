-- name: check_refund_exceeds_order_line
-- question: Check: which completed refunds of a case pay out more than the case's order line was worth?
-- grain: one row per offending refund (zero rows = pass)
-- tables: refunds, cases, orders
WITH lines AS (
    SELECT order_id, sku, SUM(quantity * unit_price) AS line_value FROM orders GROUP BY order_id, sku
)
SELECT r.refund_id, r.case_id, r.order_id, c.sku, r.amount, l.line_value
FROM refunds r
JOIN cases c ON r.case_id = c.case_id
JOIN lines l ON c.order_id = l.order_id AND c.sku = l.sku
WHERE r.status = 'completed' AND r.amount > l.line_value
ORDER BY r.refund_id
