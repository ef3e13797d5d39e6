-- name: check_case_closed_before_opened
-- question: Check: which cases were closed before they were opened?
-- grain: one row per offending case (zero rows = pass)
-- tables: cases
SELECT case_id, merchant_id, opened_at, closed_at
FROM cases
WHERE closed_at < opened_at
ORDER BY case_id
