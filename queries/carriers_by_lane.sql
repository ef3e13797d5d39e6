-- name: carriers_by_lane
-- question: On which lanes is each carrier's damage rate highest, among lanes with at least 30 legs in the quarter?
-- grain: one row per (quarter, carrier, origin_region, dest_region) with ≥ 30 legs
-- tables: carrier_lanes
SELECT quarter, carrier, origin_region, dest_region, shipments, damaged, damage_rate, damage_ci_low, on_time_rate
FROM carrier_lanes
WHERE shipments >= 30
ORDER BY quarter, damage_rate DESC, carrier, origin_region, dest_region
