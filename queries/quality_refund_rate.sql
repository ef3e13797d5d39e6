-- name: quality_refund_rate
-- question: Per merchant, the quality-refund rate (品质退款率): completed refunds for quality reasons (quality_defect,
--   not_as_described, wrong_item, missing_parts) per order line sold, over the whole export.
-- grain: one row per merchant with sales
-- tables: orders, cases, refunds
WITH sold AS (
    SELECT merchant_id, COUNT(*) AS order_lines FROM orders GROUP BY merchant_id
),
quality AS (
    SELECT c.merchant_id, COUNT(*) AS quality_refunds
    FROM refunds r
    JOIN cases c ON r.case_id = c.case_id
    WHERE r.status = 'completed'
      AND c.reason_code IN ('quality_defect', 'not_as_described', 'wrong_item', 'missing_parts')
    GROUP BY c.merchant_id
)
SELECT
    s.merchant_id,
    s.order_lines,
    COALESCE(q.quality_refunds, 0) AS quality_refunds,
    CAST(COALESCE(q.quality_refunds, 0) AS DOUBLE) / s.order_lines AS quality_refund_rate
FROM sold s
LEFT JOIN quality q ON s.merchant_id = q.merchant_id
ORDER BY quality_refund_rate DESC, s.merchant_id
