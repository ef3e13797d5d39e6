#!/usr/bin/env python3
"""The baseline a user would otherwise pick: the return-rate, reason, carrier and SLA-compliance figures of
SPEC §4 written as DuckDB SQL over the same Parquet working copy `aftersales convert` writes, timed, and
cross-checked against aftersales' own output tables.

    python benches/duckdb_baseline.py --data DIR [--ours OUT] [--out DIR] [--threads 2]

DIR holds orders/cases/shipments/refunds .parquet and aftersales.toml (time zone, holidays); OUT is an
`aftersales run` output folder to compare with. Prints one JSON object: seconds per family, rows, and the
mismatches found (exit 1 if any). Run by benches/baseline.sh; never part of the product or of `cargo test`.

The SQL follows docs/tables.md: a case reaches the lowest line_no of (order_id, sku); a return is a counted case
(status not cancelled) of type return/exchange whose decision is not rejected; returned units are capped per
(order, sku) at the units of that sku the whole order holds (SPEC §4.1); periods are local to the configured zone;
as_of is the latest event timestamp; SLA statuses in the documented order, working-day deadlines at the end of the
N-th working day after the start's local date.
"""

import argparse
import json
import sys
import time
import tomllib
from pathlib import Path

import duckdb

# The built-in SLA rules (SPEC §4.3), as the sample config leaves them.
CASE_RULES = [
    # name, case types (None = all), start, stop, hours
    ("merchant_ack", ["return", "exchange", "refund_only", "repair", "damage_claim", "loss_claim"],
     "opened_at", "merchant_ack_at", 2),
    ("first_response", None, "opened_at", "first_response_at", 24),
    ("review_decision", ["return", "exchange", "refund_only"], "opened_at", "decided_at", 24),
    ("return_inspection", ["return", "exchange"], "return_received_at", "inspected_at", 48),
    ("complaint_resolution", ["complaint"], "opened_at", "resolved_at", 72),
    ("repair_response", ["repair"], "opened_at", "first_response_at", 48),
]
PAYOUT_WORKING_DAYS = 7


def periods(ts, tz):
    """Month and quarter labels of a timestamptz column, in the configured zone."""
    local = f"timezone('{tz}', {ts})"
    return (f"strftime({local}, '%Y-%m')",
            f"CAST(year({local}) AS VARCHAR) || 'Q' || CAST(quarter({local}) AS VARCHAR)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--ours")
    ap.add_argument("--out", help="write the four tables here as Parquet (inside the timed work, as aftersales does)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    data = Path(args.data)
    cfg = tomllib.loads((data / "aftersales.toml").read_text()) if (data / "aftersales.toml").exists() else {}
    tz = cfg.get("timezone", "Asia/Shanghai")
    cal = cfg.get("calendar", {})
    holidays = cal.get("holidays", [])
    extra = cal.get("extra_workdays", [])

    con = duckdb.connect()
    con.execute(f"SET threads = {args.threads}")
    con.execute("SET TimeZone = 'UTC'")
    for t in ["orders", "cases", "shipments", "refunds"]:
        src = data / f"{t}.parquet"
        if not src.exists():
            src = data / t / "*.parquet"
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{src}')")

    seconds = {}
    started_all = time.perf_counter()

    def stage(name, sql):
        t0 = time.perf_counter()
        con.execute(sql)
        seconds[name] = round(time.perf_counter() - t0, 3)

    event_ts = {
        "orders": ["ordered_at"],
        "cases": ["opened_at", "merchant_ack_at", "first_response_at", "decided_at", "return_received_at",
                  "inspected_at", "escalated_at", "resolved_at", "closed_at"],
        "shipments": ["shipped_at", "delivered_at"],
        "refunds": ["approved_at", "refunded_at"],
    }
    maxes = " UNION ALL ".join(f"SELECT max({c}) AS m FROM {t}" for t, cs in event_ts.items() for c in cs)
    stage("as_of", f"CREATE TABLE as_of AS SELECT max(m) AS as_of FROM ({maxes})")

    om, oq = periods("o.ordered_at", tz)
    stage("lines", f"""
        CREATE TABLE first_line AS
            SELECT order_id, sku, min(line_no) AS line_no, sum(quantity) AS held FROM orders GROUP BY ALL;
        CREATE TABLE lines AS
        WITH ret AS (
            SELECT f.order_id, f.line_no, least(sum(coalesce(c.quantity, 1)), f.held) AS q
            FROM cases c JOIN first_line f USING (order_id, sku)
            WHERE c.status <> 'cancelled' AND c.case_type IN ('return', 'exchange')
              AND c.decision IS DISTINCT FROM 'rejected'
            GROUP BY f.order_id, f.line_no, f.held)
        SELECT o.order_id, o.line_no, o.category, o.merchant_id, o.sku, o.quantity,
               coalesce(r.q, 0) AS returned, {om} AS m, {oq} AS q
        FROM orders o LEFT JOIN ret r USING (order_id, line_no)""")
    stage("return_rates", """
        CREATE TABLE return_rates AS
        SELECT CASE WHEN grouping(m) = 0 THEN 'month' ELSE 'quarter' END AS period_kind,
               coalesce(m, q) AS period,
               CASE WHEN grouping(category) = 0 THEN 'category' WHEN grouping(merchant_id) = 0 THEN 'merchant'
                    WHEN grouping(sku) = 0 THEN 'sku' ELSE 'platform' END AS level,
               coalesce(category, merchant_id, sku, 'all') AS key,
               sum(quantity) AS units_sold, sum(returned) AS units_returned,
               sum(returned) / sum(quantity) AS return_rate
        FROM lines
        GROUP BY GROUPING SETS ((m), (m, category), (m, merchant_id), (m, sku),
                                (q), (q, category), (q, merchant_id), (q, sku))""")

    cm, cq = periods("c.opened_at", tz)
    stage("reason_breakdown", f"""
        CREATE TABLE reason_breakdown AS
        WITH c AS (
            SELECT c.reason_code, coalesce(o.category, '(unknown)') AS category,
                   coalesce(o.merchant_id, c.merchant_id) AS merchant, {cm} AS m, {cq} AS q
            FROM cases c
            LEFT JOIN first_line f USING (order_id, sku)
            LEFT JOIN orders o ON o.order_id = f.order_id AND o.line_no = f.line_no
            WHERE c.status <> 'cancelled')
        SELECT CASE WHEN grouping(m) = 0 THEN 'month' ELSE 'quarter' END AS period_kind,
               coalesce(m, q) AS period,
               CASE WHEN grouping(category) = 0 THEN 'category' WHEN grouping(merchant) = 0 THEN 'merchant'
                    ELSE 'platform' END AS level,
               coalesce(category, merchant, 'all') AS key, reason_code, count(*) AS cases
        FROM c
        GROUP BY GROUPING SETS ((m, reason_code), (m, category, reason_code), (m, merchant, reason_code),
                                (q, reason_code), (q, category, reason_code), (q, merchant, reason_code))""")

    sm, sq = periods("shipped_at", tz)
    stage("carrier_performance", f"""
        CREATE TABLE carrier_performance AS
        WITH s AS (SELECT carrier, direction, outcome, {sm} AS m, {sq} AS q
                   FROM shipments WHERE outcome <> 'in_transit')
        SELECT CASE WHEN grouping(m) = 0 THEN 'month' ELSE 'quarter' END AS period_kind,
               coalesce(m, q) AS period, carrier, coalesce(direction, 'all') AS direction,
               count(*) AS shipments,
               count(*) FILTER (WHERE outcome = 'damaged') AS damaged,
               count(*) FILTER (WHERE outcome = 'lost') AS lost,
               count(*) FILTER (WHERE outcome = 'damaged') / count(*) AS damage_rate
        FROM s
        GROUP BY GROUPING SETS ((m, carrier, direction), (m, carrier), (q, carrier, direction), (q, carrier))""")

    # SLA clocks: calendar rules on cases, the working-day payout rule on refunds.
    parts = []
    for name, types, start, stop, hours in CASE_RULES:
        where = f"{start} IS NOT NULL" + (
            " AND case_type IN (" + ", ".join(f"'{t}'" for t in types) + ")" if types else "")
        parts.append(f"""
            SELECT '{name}' AS rule, merchant_id, {start} AS start_ts,
                   CASE WHEN {stop} <= (SELECT as_of FROM as_of) THEN {stop} END AS stop_ts,
                   {start} + INTERVAL {hours} HOUR AS deadline, status = 'cancelled' AS voidable
            FROM cases WHERE {where}""")
    hol = ", ".join(f"DATE '{d}'" for d in holidays) or "NULL"
    ext = ", ".join(f"DATE '{d}'" for d in extra) or "NULL"
    stage("sla_calendar", f"""
        CREATE TABLE cal AS
        WITH d AS (SELECT CAST(x AS DATE) AS d FROM generate_series(
                     (SELECT CAST(timezone('{tz}', min(approved_at)) AS DATE) - 1 FROM refunds),
                     (SELECT CAST(timezone('{tz}', max(approved_at)) AS DATE) + 60 FROM refunds),
                     INTERVAL 1 DAY) t(x)),
             w AS (SELECT d, (isodow(d) <= 5 AND d NOT IN ({hol})) OR d IN ({ext}) AS working FROM d)
        SELECT d, working, sum(CAST(working AS INT)) OVER (ORDER BY d) AS n FROM w""")
    km, kq = periods("start_ts", tz)
    stage("sla_compliance", f"""
        CREATE TABLE clocks AS
        WITH c AS ({" UNION ALL ".join(parts)}),
        r AS (
            SELECT 'refund_payout' AS rule, r.merchant_id, r.approved_at AS start_ts,
                   CASE WHEN r.refunded_at <= (SELECT as_of FROM as_of) THEN r.refunded_at END AS stop_ts,
                   timezone('{tz}', CAST(e.d + 1 AS TIMESTAMP)) - INTERVAL 1 MICROSECOND AS deadline,
                   r.status = 'failed' AS voidable
            FROM refunds r
            JOIN cal s ON s.d = CAST(timezone('{tz}', r.approved_at) AS DATE)
            JOIN cal e ON e.working AND e.n = s.n + {PAYOUT_WORKING_DAYS})
        SELECT *, CASE
                WHEN stop_ts < start_ts THEN 'invalid'
                WHEN stop_ts <= deadline THEN 'met'
                WHEN stop_ts IS NOT NULL THEN 'breached'
                WHEN voidable THEN 'void'
                WHEN (SELECT as_of FROM as_of) > deadline THEN 'breached'
                ELSE 'running' END AS status
        FROM (SELECT * FROM c UNION ALL SELECT * FROM r)
        WHERE start_ts <= (SELECT as_of FROM as_of);
        CREATE TABLE sla_compliance AS
        WITH k AS (SELECT rule, merchant_id, status, {km} AS m, {kq} AS q FROM clocks)
        SELECT CASE WHEN grouping(m) = 0 THEN 'month' ELSE 'quarter' END AS period_kind,
               coalesce(m, q) AS period,
               CASE WHEN grouping(merchant_id) = 0 THEN 'merchant' ELSE 'platform' END AS level,
               coalesce(merchant_id, 'all') AS merchant_id, rule,
               count(*) FILTER (WHERE status = 'met') AS met,
               count(*) FILTER (WHERE status = 'breached') AS breached,
               count(*) FILTER (WHERE status = 'running') AS running,
               count(*) FILTER (WHERE status = 'void') AS void,
               count(*) FILTER (WHERE status = 'invalid') AS invalid,
               CASE WHEN count(*) FILTER (WHERE status IN ('met', 'breached')) > 0 THEN
                    count(*) FILTER (WHERE status = 'met')
                    / count(*) FILTER (WHERE status IN ('met', 'breached')) END AS compliance
        FROM k
        GROUP BY GROUPING SETS ((m, rule), (m, merchant_id, rule), (q, rule), (q, merchant_id, rule))""")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for t in ["return_rates", "reason_breakdown", "carrier_performance", "sla_compliance"]:
            stage(f"write_{t}", f"COPY {t} TO '{out / (t + '.parquet')}' (FORMAT parquet, COMPRESSION zstd)")
    seconds["total"] = round(time.perf_counter() - started_all, 3)

    rows = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ["return_rates", "reason_breakdown", "carrier_performance", "sla_compliance"]}
    result = {"engine": f"duckdb {duckdb.__version__}", "threads": args.threads, "seconds": seconds, "rows": rows}

    if args.ours:
        ours = Path(args.ours) / "tables"
        checks = {
            # table: (keys, exact columns, float columns, filter on our side)
            "return_rates": (["period_kind", "period", "level", "key"], ["units_sold", "units_returned"],
                             ["return_rate"], "true"),
            "reason_breakdown": (["period_kind", "period", "level", "key", "reason_code"], ["cases"], [], "true"),
            # Our table also has zero-leg rows that carry claim costs of legs still in transit.
            "carrier_performance": (["period_kind", "period", "carrier", "direction"],
                                    ["shipments", "damaged", "lost"], ["damage_rate"], "shipments > 0"),
            "sla_compliance": (["period_kind", "period", "level", "merchant_id", "rule"],
                               ["met", "breached", "running", "void", "invalid"], ["compliance"], "true"),
        }
        mismatches = {}
        for t, (keys, exact, floats, ours_filter) in checks.items():
            on = " AND ".join(f"a.{k} = b.{k}" for k in keys)
            diffs = " OR ".join([f"a.{c} IS DISTINCT FROM b.{c}" for c in exact] +
                                [f"NOT (abs(a.{c} - b.{c}) < 1e-12 OR (a.{c} IS NULL AND b.{c} IS NULL))"
                                 for c in floats])
            sql = f"""
                SELECT count(*) FILTER (WHERE a.{keys[0]} IS NULL) AS only_ours,
                       count(*) FILTER (WHERE b.{keys[0]} IS NULL) AS only_duckdb,
                       count(*) FILTER (WHERE a.{keys[0]} IS NOT NULL AND b.{keys[0]} IS NOT NULL
                                        AND ({diffs})) AS different,
                       count(*) AS compared
                FROM {t} a
                FULL JOIN (SELECT * FROM read_parquet('{ours / (t + '.parquet')}') WHERE {ours_filter}) b ON {on}"""
            only_ours, only_duck, different, compared = con.execute(sql).fetchone()
            mismatches[t] = {"rows_compared": compared, "only_in_aftersales": only_ours,
                             "only_in_duckdb": only_duck, "different_values": different}
        result["cross_check"] = mismatches
        bad = any(v["only_in_aftersales"] or v["only_in_duckdb"] or v["different_values"]
                  for v in mismatches.values())
        result["agree"] = not bad
    print(json.dumps(result, indent=2))
    if args.ours and not result["agree"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
