-- name: top_reasons_by_category
-- question: What are the three most frequent after-sales reasons in each category, each quarter?
-- grain: one row per (quarter, category, reason_code) among the category's top 3 by cases (ties share a rank)
-- tables: reason_breakdown
WITH ranked AS (
    SELECT
        period AS quarter,
        key AS category,
        reason_code,
        responsibility,
        cases,
        share,
        RANK() OVER (PARTITION BY period, key ORDER BY cases DESC) AS reason_rank
    FROM reason_breakdown
    WHERE period_kind = 'quarter' AND level = 'category'
)
SELECT quarter, category, reason_code, responsibility, cases, share, reason_rank
FROM ranked
WHERE reason_rank <= 3
ORDER BY quarter, category, reason_rank, reason_code
