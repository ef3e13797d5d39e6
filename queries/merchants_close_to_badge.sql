-- name: merchants_close_to_badge
-- question: Which eligible merchants missed the gold after-sales badge by exactly one criterion, and by how much?
-- grain: one row per (quarter, merchant) not awarded with exactly one failed criterion
-- tables: badges
SELECT quarter, merchant_id, merchant_name, failed_criteria, gaps
FROM badges
WHERE status = 'not_awarded'
  AND (CASE WHEN ack_on_time_pass = false THEN 1 ELSE 0 END
     + CASE WHEN first_response_on_time_pass = false THEN 1 ELSE 0 END
     + CASE WHEN refund_on_time_pass = false THEN 1 ELSE 0 END
     + CASE WHEN dispute_rate_pass = false THEN 1 ELSE 0 END
     + CASE WHEN dispute_loss_rate_pass = false THEN 1 ELSE 0 END
     + CASE WHEN satisfaction_pass = false THEN 1 ELSE 0 END
     + CASE WHEN no_high_spike_pass = false THEN 1 ELSE 0 END) = 1
ORDER BY quarter, merchant_id
