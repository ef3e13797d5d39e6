-- name: exchange_vs_refund_share
-- question: Of all counted cases, what share is each case type (return, exchange, refund_only, …)?
-- grain: one row per case_type present among counted cases
-- tables: cases
WITH by_type AS (
    SELECT case_type, COUNT(*) AS cases FROM cases WHERE status <> 'cancelled' GROUP BY case_type
),
total AS (
    SELECT SUM(cases) AS all_cases FROM by_type
)
SELECT b.case_type, b.cases, CAST(b.cases AS DOUBLE) / t.all_cases AS share
FROM by_type b CROSS JOIN total t
ORDER BY b.cases DESC, b.case_type
