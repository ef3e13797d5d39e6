-- name: merchants_close_to_badge
-- question: Which eligible merchants missed the gold after-sales badge by exactly one criterion, and by how much?
-- grain: one row per (quarter, merchant) not awarded (or, in a provisional quarter, not on course) with exactly one
--   failed criterion; `provisional` marks a quarter still open, where the merchant can still close the gap
-- tables: badges
SELECT quarter, merchant_id, merchant_name, provisional, failed_criteria, gaps
FROM badges
WHERE status_so_far = 'not_awarded'
  AND (CASE WHEN ack_on_time_pass = false THEN 1 ELSE 0 END
     + CASE WHEN first_response_on_time_pass = false THEN 1 ELSE 0 END
     + CASE WHEN refund_on_time_pass = false THEN 1 ELSE 0 END
     + CASE WHEN dispute_rate_pass = false THEN 1 ELSE 0 END
     + CASE WHEN dispute_loss_rate_pass = false THEN 1 ELSE 0 END
     + CASE WHEN satisfaction_pass = false THEN 1 ELSE 0 END
     + CASE WHEN no_high_spike_pass = false THEN 1 ELSE 0 END) = 1
ORDER BY quarter, merchant_id
