#!/usr/bin/env python3
"""What the spike test of SPEC §4.4 would flag with the dispersion that docs/risk.md proposes, against planted truth.

Usage: risk_proposal.py OUT_BURN_IN_0 [OUT_AFTER]

  OUT_BURN_IN_0  an `aftersales run` output on generated data with `[risk] burn_in_weeks = 0`: its
                 spike_evaluation holds every (level, key, week) with R_t, N_t, p0 and z; the spec's burn-in
                 (B = 8 weeks) is applied here.
  OUT_AFTER      optional: the default run on the same data; its flags are compared with this script's reading of
                 the spec (they must be the same rows).

Three dispersions, each followed by the spec's p-value, Benjamini-Hochberg per (level, week) and flag rule (q <= 0.05,
R_t >= 10, lift >= 1.5):
  spec      phi per (level, category, week) = median z^2 over the previous B weeks' evaluation rows / 0.4549 (the
            run's own numbers; recomputed here as a check that this script reads the spec as the program does).
  proposal  the return propensity of a week varies by a factor G around p0 with variance tau^2 (one buyer, one
            batch, one promotion), so Var(R) = N p0 (1 - p0) + (N p0)^2 tau^2 and z^2 has mean
            phi_i = 1 + N p0 tau^2 / (1 - p0): the dispersion grows with the entity's volume. tau^2 per (level,
            category, week) is the value at which the median over the same window of z^2 / phi_i is the median of
            chi^2 with one degree of freedom (0 when the window's median z^2 is already below it) — the spec's median,
            with a volume term; one past spike moves it no more than it moves the spec's phi. The fallbacks (level,
            then none) and the minimum of 30 rows are the spec's.
  proposal+ the same, with the window reaching into the burn-in weeks (their rows computed, not reported), so that
            the first reported week has a dispersion too.
Reads the table with pyarrow and computes with numpy and scipy (pip install pyarrow scipy).
"""
import sys

import numpy as np
import pyarrow.parquet as pq
from scipy.special import betainc

B = 8
FDR = 0.05
CHI2_1_MEDIAN = 0.4549364231195724
MIN_ROWS = 30
PLANTED_MERCHANT = {("M0002", w) for w in ("2026-W36", "2026-W37", "2026-W38")} | {
    ("M0006", w) for w in ("2026-W30", "2026-W31")
}
PLANTED_SKU_WEEKS = {"M0006-S001": {"2026-W30", "2026-W31"}}


def planted(level, key, period):
    if level == "merchant":
        return (key, period) in PLANTED_MERCHANT
    if key in PLANTED_SKU_WEEKS and period in PLANTED_SKU_WEEKS[key]:
        return True
    return key.startswith("M0002-") and period in ("2026-W36", "2026-W37", "2026-W38")


def main(path, after):
    t = pq.read_table(f"{path}/tables/spike_evaluation.parquet").to_pydict()
    level = np.array(t["level"])
    key = np.array(t["key"])
    cat = np.array(t["category"])
    period = np.array(t["period"])
    week = np.array([np.datetime64(d, "D").astype(int) // 7 for d in t["week_start"]])
    n = np.array(t["n_t"], dtype=float)
    r = np.array(t["r_t"], dtype=float)
    p0 = np.array(t["p0"], dtype=float)
    z = np.array(t["z"], dtype=float)
    # The data's first week has no baseline, so no evaluation row even without burn-in: it is the week before the
    # first row's.
    first = week.min() - 1
    reported = week >= first + B
    est_tau = ((r - n * p0) ** 2 - n * p0 * (1 - p0)) / (n * p0) ** 2

    def windowed(stat, use_rows):
        """Per row: stat(rows) over use_rows of the same level and category in the B weeks before (else the
        level's rows, else NaN)."""
        out = np.full(len(n), np.nan)
        for lv in np.unique(level):
            for w in np.unique(week[level == lv]):
                window = use_rows & (level == lv) & (week >= w - B) & (week < w)
                here = (level == lv) & (week == w)
                lvl = stat(np.where(window)[0]) if window.sum() >= MIN_ROWS else np.nan
                for c in np.unique(cat[here]):
                    cw = window & (cat == c)
                    out[here & (cat == c)] = stat(np.where(cw)[0]) if cw.sum() >= MIN_ROWS else lvl
        return out

    k_vol = n * p0 / (1 - p0)

    def tau2(rows):
        z2, k = z[rows] ** 2, k_vol[rows]
        if np.median(z2) <= CHI2_1_MEDIAN:
            return 0.0
        lo, hi = 0.0, 1.0
        while np.median(z2 / (1 + k * hi)) > CHI2_1_MEDIAN:
            hi *= 4
        for _ in range(60):
            mid = (lo + hi) / 2
            if np.median(z2 / (1 + k * mid)) > CHI2_1_MEDIAN:
                lo = mid
            else:
                hi = mid
        return hi

    def judge(phi):
        a = r / phi
        b = (n - r) / phi + 1
        p = np.where(r > 0, betainc(a, b, p0), 1.0)
        q = np.ones(len(p))
        for lv in np.unique(level):
            for w in np.unique(week[reported & (level == lv)]):
                idx = np.where(reported & (level == lv) & (week == w))[0]
                order = idx[np.argsort(p[idx], kind="stable")]
                m = len(order)
                adj = p[order] * m / np.arange(1, m + 1)
                adj = np.minimum.accumulate(adj[::-1])[::-1]
                q[order] = np.minimum(adj, 1.0)
        flagged = reported & (q <= FDR) & (r >= 10) & (r / n >= 1.5 * p0)
        return flagged, q

    phi_spec = windowed(lambda rows: np.median(z[rows] ** 2), reported) / CHI2_1_MEDIAN
    phi_spec = np.maximum(np.nan_to_num(phi_spec, nan=1.0), 1.0)
    tau = np.nan_to_num(windowed(tau2, reported), nan=0.0)
    phi_prop = 1 + k_vol * tau
    tau_all = np.nan_to_num(windowed(tau2, np.ones(len(n), dtype=bool)), nan=0.0)
    phi_prop_all = 1 + k_vol * tau_all

    truth = np.array([planted(lv, k, pe) for lv, k, pe in zip(level, key, period)])
    print("| dispersion | level | flags | planted | precision | planted merchant weeks found | planted SKU weeks found |")
    print("|---|---|---|---|---|---|---|")
    for name, phi in (("spec", phi_spec), ("proposal", phi_prop), ("proposal+", phi_prop_all)):
        flagged, _ = judge(phi)
        for lv in ("merchant", "sku"):
            f = flagged & (level == lv)
            tp = (f & truth).sum()
            found_m = len({(k, pe) for k, pe in zip(key[f], period[f]) if (k, pe) in PLANTED_MERCHANT})
            found_s = len({(k, pe) for k, pe in zip(key[f], period[f]) if pe in PLANTED_SKU_WEEKS.get(k, ())})
            prec = tp / f.sum() if f.sum() else float("nan")
            print(
                f"| {name} | {lv} | {f.sum()} | {tp} | {prec:.2f} | "
                + (f"{found_m}/5 |  |" if lv == "merchant" else f" | {found_s}/2 |")
            )
        if name == "proposal+":
            f = flagged & (level == "merchant") & ~truth
            print(f"\n{name}: false merchant flags: " + ", ".join(
                f"{k} {pe} (N {int(nn)}, R {int(rr)}, lift {rr / nn / pp:.2f}, phi {ph:.1f})"
                for k, pe, nn, rr, pp, ph in zip(key[f], period[f], n[f], r[f], p0[f], phi[f])) + "\n")
    if after:
        a = pq.read_table(f"{after}/tables/risk_flags.parquet").to_pydict()
        run = set(zip(a["level"], a["key"], a["period"]))
        mine_f, _ = judge(phi_spec)
        mine = set(zip(level[mine_f], key[mine_f], period[mine_f]))
        print(f"\ncheck: the run's flags {len(run)}, this script's reading of the spec {len(mine)}, "
              f"differing {len(run ^ mine)}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
