-- name: dispute_refund_rate
-- question: Per merchant and quarter, the dispute-refund rate (纠纷退款率): cases the platform decided for the buyer
--   (carrier-caused cases left out) per counted case, and how often buyers escalated at all.
-- grain: one row per (quarter, merchant)
-- tables: merchant_risk
SELECT
    quarter,
    merchant_id,
    merchant_name,
    counted_cases,
    disputes,
    dispute_rate,
    buyer_favoured,
    dispute_loss_rate AS dispute_refund_rate,
    platform_dispute_rate
FROM merchant_risk
WHERE counted_cases > 0
ORDER BY quarter, dispute_refund_rate DESC, merchant_id
