-- name: refund_completion_time
-- question: How long do merchants take to complete refunds (退款完结时长), in working days from approval to payout?
-- grain: one row per (quarter, merchant) with at least one refund clock
-- tables: sla_compliance
SELECT
    period AS quarter,
    merchant_id,
    clocks AS refunds,
    evaluated AS refunds_finished_or_late,
    elapsed_p50 AS median_working_days,
    elapsed_p90 AS p90_working_days,
    compliance AS on_time_share
FROM sla_compliance
WHERE period_kind = 'quarter' AND level = 'merchant' AND rule = 'refund_payout'
ORDER BY quarter, median_working_days DESC, merchant_id
