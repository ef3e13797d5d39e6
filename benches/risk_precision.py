#!/usr/bin/env python3
"""Precision and recall of the risk judgements against the generator's planted truth (docs/risk.md).

Usage: risk_precision.py OUT_AFTER OUT_BURN_IN_0

  OUT_AFTER      an `aftersales run` output on generated data, default config (the calibrated rule, SPEC §4.4);
  OUT_BURN_IN_0  the same data run with `[risk] burn_in_weeks = 0`: its spike_evaluation holds every row the
                 rule before the calibration evaluated (no burn-in), with the same z, r_t and lift, so the old rule
                 (z >= 3, r_t >= 10, lift >= 1.5; high when z >= 5) is applied to it here.

Planted truth (src/generate/mod.rs): merchant M0002 in order weeks 2026-W36..W38, and every SKU of M0002 in those
weeks (the spike raises every line's return propensity); SKU M0006-S001 in 2026-W30..W31, and its merchant M0006 in
those weeks (the SKU was ~90% of its orders). "Planted weeks found" counts the named entities' weeks only. No dispute problem is planted: merchants at
`high` or `watch` for disputes are false. Reads the tables with DuckDB (pip install duckdb).
"""
import sys

import duckdb

PLANTED = {
    ("merchant", "M0002"): ["2026-W36", "2026-W37", "2026-W38"],
    ("merchant", "M0006"): ["2026-W30", "2026-W31"],
    ("sku", "M0006-S001"): ["2026-W30", "2026-W31"],
}


def planted_sql():
    # A merchant's planted spike raises the return propensity of every line it sells: each of its SKUs spiked too.
    return " OR ".join(
        [
            f"(level = '{lv}' AND key = '{k}' AND period IN ({', '.join(repr(w) for w in ws)}))"
            for (lv, k), ws in PLANTED.items()
        ]
        + [
            f"(level = 'sku' AND key LIKE '{k}-%' AND period IN ({', '.join(repr(w) for w in ws)}))"
            for (lv, k), ws in PLANTED.items()
            if lv == "merchant" and k == "M0002"
        ]
    )


def flags(con, path, rule, name):
    cond = {
        "after": "flagged",
        "before": "z >= 3 AND r_t >= 10 AND rate >= 1.5 * p0",
    }[rule]
    high = {"after": "severity = 'high'", "before": "z >= 5"}[rule]
    con.execute(
        f"""CREATE OR REPLACE TABLE {name} AS
            SELECT level, key, period, week_start, CASE WHEN level = 'merchant' THEN key END AS merchant_id,
                   ({high}) AS high, ({planted_sql()}) AS planted
            FROM '{path}/tables/spike_evaluation.parquet' WHERE {cond}"""
    ).fetchall()
    return name


def report(con, label, f):
    for level in ["merchant", "sku"]:
        n, true, high, high_true = con.execute(
            f"SELECT count(*), count(*) FILTER (planted), count(*) FILTER (high), count(*) FILTER (high AND planted) "
            f"FROM {f} WHERE level = '{level}'"
        ).fetchall()[0]
        planted_weeks = sum(len(w) for (lv, _), w in PLANTED.items() if lv == level)
        prec = f"{true / n:.2f}" if n else "–"
        print(
            f"| {label} | {level} | {n} | {true} | {prec} | {true}/{planted_weeks} | {high} | {high_true} |"
        )


def risk_levels(con, after, before):
    # After: merchant_risk as written. Before: high on any old high merchant flag in the quarter (weeks whose Monday
    # is in it) or a dispute rate over twice the platform's with more than one dispute; watch on any other old flag.
    flags(con, before, "before", "old")
    rows = con.execute(
        f"""
        WITH f AS (
          SELECT merchant_id, strftime(week_start, '%Y') || 'Q' || CAST(quarter(week_start) AS VARCHAR) AS quarter,
                 bool_or(high) AS any_high, count(*) AS n
          FROM old WHERE level = 'merchant' GROUP BY ALL),
        b AS (
          SELECT r.quarter, r.merchant_id,
                 CASE WHEN coalesce(f.any_high, false) OR (r.dispute_rate > 2 * r.platform_dispute_rate AND r.disputes > 1)
                      THEN 'high' WHEN coalesce(f.n, 0) > 0 THEN 'watch' ELSE 'normal' END AS level
          FROM '{before}/tables/merchant_risk.parquet' r LEFT JOIN f USING (merchant_id, quarter)),
        a AS (SELECT quarter, merchant_id, risk_level AS level FROM '{after}/tables/merchant_risk.parquet')
        SELECT quarter,
               (SELECT count(*) FROM b WHERE b.quarter = q.quarter AND level = 'high') AS before_high,
               (SELECT count(*) FROM b WHERE b.quarter = q.quarter AND level = 'watch') AS before_watch,
               (SELECT count(*) FROM a WHERE a.quarter = q.quarter AND level = 'high') AS after_high,
               (SELECT count(*) FROM a WHERE a.quarter = q.quarter AND level = 'watch') AS after_watch,
               (SELECT count(*) FROM a WHERE a.quarter = q.quarter) AS merchants,
               (SELECT string_agg(merchant_id || ':' || level, ' ' ORDER BY merchant_id) FROM a
                 WHERE a.quarter = q.quarter AND level <> 'normal') AS after_listed
        FROM (SELECT DISTINCT quarter FROM a) q ORDER BY quarter"""
    ).fetchall()
    print("\n| quarter | merchants | high before | watch before | high after | watch after | after: who |")
    print("|---|---|---|---|---|---|---|")
    for q, bh, bw, ah, aw, n, who in rows:
        print(f"| {q} | {n} | {bh} | {bw} | {ah} | {aw} | {who or ''} |")


def main():
    after, before = sys.argv[1], sys.argv[2]
    con = duckdb.connect()
    print("| rule | level | flags | planted | precision | planted weeks found | high | high planted |")
    print("|---|---|---|---|---|---|---|---|")
    fb = flags(con, before, "before", "fb")
    report(con, "before (z ≥ 3, no burn-in)", fb)
    fa = flags(con, after, "after", "fa")
    report(con, "after (q ≤ 0.05)", fa)
    false_after = con.execute(
        "SELECT level, key, period FROM fa WHERE NOT planted ORDER BY ALL"
    ).fetchall()
    if false_after:
        print("\nfalse flags after:", ", ".join(" ".join(r) for r in false_after))
    missed = [
        (lv, k, w)
        for (lv, k), ws in PLANTED.items()
        for w in ws
        if not con.execute(
            f"SELECT count(*) FROM fa WHERE level = '{lv}' AND key = '{k}' AND period = '{w}'"
        ).fetchall()[0][0]
    ]
    if missed:
        print("planted weeks missed after:", ", ".join(" ".join(m) for m in missed))
    risk_levels(con, after, before)


if __name__ == "__main__":
    main()
