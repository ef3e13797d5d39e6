//! `merchant_risk` (SPEC §4.5) and `badges` (SPEC §4.7): one row per (quarter, merchant) each.
//!
//! The quarter's cases are the counted cases opened in it, by the case's own merchant_id (the merchant who handled
//! it); its clocks those started in it; its sales the lines ordered in it; its weeks those whose Monday falls in
//! it. In dispute figures the numerators leave out cases whose responsibility is `carrier`; the denominator is all
//! the quarter's counted cases.
//!
//! `merchant_risk` columns: quarter, merchant_id, merchant_name, units_sold, return_rate, after_sales_rate,
//! counted_cases, disputes, dispute_rate, buyer_favoured, dispute_loss_rate, merchant_fault_share, sla_evaluated,
//! sla_breached, sla_breach_rate, flags_high, flags_medium (merchant-level return_spike flags), sku_flags (flags on
//! the merchant's SKUs, for information), platform_dispute_rate, dispute_p_value (P(X ≥ disputes) for X ~
//! Binomial(counted_cases, platform_dispute_rate), exact; null without counted cases), dispute_q_value
//! (Benjamini–Hochberg over the quarter's merchants with counted cases), risk_level (`high`: any high flag, or
//! dispute_rate more than twice the platform's with dispute_q_value ≤ dispute_q_high (0.01); `watch`: any other
//! flag, or the dispute excess with dispute_q_value ≤ dispute_q_watch (0.05); else `normal`), reasons (the list
//! that justifies the level), provisional, provisional_reason (as in badges).
//!
//! `badges` columns: quarter, merchant_id, merchant_name, status (`gold` | `not_awarded` |
//! `insufficient_volume` | `provisional`), status_so_far (the status the quarter's figures give at as_of: equal to
//! status for a final quarter), provisional (the quarter has not ended at as_of, or its last month is not mature
//! (§4.1): a provisional gold is not an award), provisional_reason, units_sold, counted_cases, and for each criterion `<c>_value`, `<c>_threshold`,
//! `<c>_pass` (null = not judged): ack_on_time, first_response_on_time, refund_on_time, dispute_rate (with
//! `disputes`), dispute_loss_rate (with `buyer_favoured`), satisfaction (with `ratings`), no_high_spike (value = the
//! quarter's high flags); then failed_criteria and gaps (e.g. "refund_on_time 0.962, needs ≥ 0.98").

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::Result;
use polars::prelude::*;

use super::columns::{f64s, i64s_or_zero, strs};
use super::stats::{benjamini_hochberg, binomial_upper_tail};
use super::{Prepared, group_by_period};
use crate::config::{BadgeParams, RiskParams};
use crate::engine::Run;
use crate::time::Provisional;

#[derive(Debug, Default, Clone)]
struct Agg {
    units_sold: i64,
    return_rate: Option<f64>,
    after_sales_rate: Option<f64>,
    cases: i64,
    disputes: i64,
    losses: i64,
    merchant_fault: i64,
    ratings: i64,
    rating_sum: f64,
    sla_evaluated: i64,
    sla_breached: i64,
    /// rule → (evaluated, met)
    rules: HashMap<String, (i64, i64)>,
    flags_high: i64,
    flags_medium: i64,
    sku_flags: i64,
}

type Key = (String, String);

/// Every per-(quarter, merchant) figure both tables need, gathered once per run.
pub struct QuarterFacts {
    facts: BTreeMap<Key, Agg>,
    names: HashMap<String, String>,
    /// Per quarter: why its figures are not final at as_of (None: final).
    provisional: BTreeMap<String, Option<String>>,
}

impl QuarterFacts {
    /// `sla_compliance`: the table of that name, whose (quarter, merchant, rule) rows count exactly the clocks a
    /// merchant's quarter needs (met, breached), so the clocks are not read again.
    /// `sku_merchants`: [`flagged_sku_merchants`] of `flags`.
    pub fn new(
        p: &Prepared,
        return_rates: &DataFrame,
        sla_compliance: &DataFrame,
        flags: &DataFrame,
        sku_merchants: &DataFrame,
    ) -> Result<QuarterFacts> {
        let tables = Tables {
            case_counts: &case_counts(p)?,
            return_rates,
            sla_compliance,
            flags,
            sku_merchants,
        };
        QuarterFacts::from_tables(&tables, p.merchants.as_ref(), p.as_of, p.zone.tz, p.maturity_days)
    }

    /// The facts from the tables both paths have (the distributed path's case counts are `crate::aggregates`').
    pub fn from_tables(
        t: &Tables,
        merchants: Option<&DataFrame>,
        as_of: crate::time::Micros,
        tz: chrono_tz::Tz,
        maturity_days: i64,
    ) -> Result<QuarterFacts> {
        let facts = aggregate(t)?;
        let provisional = facts
            .keys()
            .map(|(q, _)| q)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|q| {
                let why = Provisional::of(q, as_of, tz, maturity_days).map(|r| r.reason(q, tz));
                (q.clone(), why)
            })
            .collect();
        Ok(QuarterFacts {
            facts,
            names: names(merchants)?,
            provisional,
        })
    }

    /// The `provisional` and `provisional_reason` columns for rows of these quarters.
    fn provisional_columns(&self, quarters: &[String]) -> [Column; 2] {
        let why: Vec<Option<&str>> = quarters
            .iter()
            .map(|q| self.provisional.get(q).and_then(|w| w.as_deref()))
            .collect();
        [
            BooleanChunked::from_iter_values("provisional".into(), why.iter().map(Option::is_some)).into_column(),
            StringChunked::from_iter_options("provisional_reason".into(), why.into_iter()).into_column(),
        ]
    }
}

/// The (quarter, merchant) rows of a metric table with period_kind and level columns.
fn quarter_merchant_rows() -> Expr {
    col("period_kind")
        .eq(lit("quarter"))
        .and(col("level").eq(lit("merchant")))
}

/// What the per-(quarter, merchant) facts are gathered from. `case_counts`: one row per (quarter, merchant_id) of
/// the counted cases opened in it, by the case's own merchant: cases, disputes, losses, fault, ratings, rating_sum
/// ([`case_counts`]).
pub struct Tables<'a> {
    pub case_counts: &'a DataFrame,
    pub return_rates: &'a DataFrame,
    pub sla_compliance: &'a DataFrame,
    pub flags: &'a DataFrame,
    pub sku_merchants: &'a DataFrame,
}

/// The counted cases per (quarter of opened_at, the case's merchant_id), as [`Tables::case_counts`] has them.
fn case_counts(p: &Prepared) -> Result<DataFrame> {
    let not_carrier = col("responsibility").neq(lit("carrier")).fill_null(lit(true));
    Ok(group_by_period(
        p.cases.clone().filter(col("counted")),
        col("opened_at"),
        "quarter",
        p.zone,
        "quarter",
        vec![col("merchant_id")],
        vec![
            len().cast(DataType::Int64).alias("cases"),
            col("escalated_at")
                .is_not_null()
                .and(not_carrier.clone())
                .cast(DataType::Int64)
                .sum()
                .alias("disputes"),
            col("dispute_outcome")
                .eq(lit("buyer_favoured"))
                .fill_null(lit(false))
                .and(not_carrier)
                .cast(DataType::Int64)
                .sum()
                .alias("losses"),
            col("responsibility")
                .eq(lit("merchant"))
                .fill_null(lit(false))
                .cast(DataType::Int64)
                .sum()
                .alias("fault"),
            col("satisfaction")
                .is_not_null()
                .cast(DataType::Int64)
                .sum()
                .alias("ratings"),
            col("satisfaction").cast(DataType::Float64).sum().alias("rating_sum"),
        ],
    )
    .run()?)
}

fn aggregate(t: &Tables) -> Result<BTreeMap<Key, Agg>> {
    let Tables {
        case_counts: cases,
        return_rates,
        sla_compliance,
        flags,
        sku_merchants,
    } = *t;
    let mut m: BTreeMap<Key, Agg> = BTreeMap::new();
    let rr = return_rates.clone().lazy().filter(quarter_merchant_rows()).run()?;
    let (q, k, units, rate, asr) = (
        strs(&rr, "period")?,
        strs(&rr, "key")?,
        i64s_or_zero(&rr, "units_sold")?,
        f64s(&rr, "return_rate")?,
        f64s(&rr, "after_sales_rate")?,
    );
    for i in 0..rr.height() {
        let (Some(q), Some(k)) = (q[i].clone(), k[i].clone()) else {
            continue;
        };
        let a = m.entry((q, k)).or_default();
        a.units_sold = units[i];
        a.return_rate = rate[i];
        a.after_sales_rate = asr[i];
    }
    let (q, k) = (strs(cases, "quarter")?, strs(cases, "merchant_id")?);
    let (n, d, l, f, r) = (
        i64s_or_zero(cases, "cases")?,
        i64s_or_zero(cases, "disputes")?,
        i64s_or_zero(cases, "losses")?,
        i64s_or_zero(cases, "fault")?,
        i64s_or_zero(cases, "ratings")?,
    );
    let rs = f64s(cases, "rating_sum")?;
    for i in 0..cases.height() {
        let (Some(q), Some(k)) = (q[i].clone(), k[i].clone()) else {
            continue;
        };
        let a = m.entry((q, k)).or_default();
        (a.cases, a.disputes, a.losses, a.merchant_fault, a.ratings, a.rating_sum) =
            (n[i], d[i], l[i], f[i], r[i], rs[i].unwrap_or(0.0));
    }
    // No SLA rules: a table without columns.
    if sla_compliance.width() > 0 {
        let c = sla_compliance
            .clone()
            .lazy()
            .filter(quarter_merchant_rows())
            .select([
                col("period").alias("quarter"),
                col("merchant_id"),
                col("rule"),
                col("met"),
                col("breached"),
                col("clocks"),
                col("void"),
            ])
            .run()?;
        let (q, k, rule, met, br) = (
            strs(&c, "quarter")?,
            strs(&c, "merchant_id")?,
            strs(&c, "rule")?,
            i64s_or_zero(&c, "met")?,
            i64s_or_zero(&c, "breached")?,
        );
        let (clocks, void) = (i64s_or_zero(&c, "clocks")?, i64s_or_zero(&c, "void")?);
        for i in 0..c.height() {
            let (Some(q), Some(k), Some(rule)) = (q[i].clone(), k[i].clone(), rule[i].clone()) else {
                continue;
            };
            // Void clocks only (a cancelled case's, a failed refund's) do not make a merchant's quarter: a
            // cancelled case alone changes no figure.
            if clocks[i] == void[i] && !m.contains_key(&(q.clone(), k.clone())) {
                continue;
            }
            let a = m.entry((q, k)).or_default();
            a.sla_evaluated += met[i] + br[i];
            a.sla_breached += br[i];
            a.rules.insert(rule, (met[i] + br[i], met[i]));
        }
    }
    if flags.height() > 0 {
        // A week belongs to the quarter its Monday falls in.
        let sku_merchant = sku_merchants
            .clone()
            .lazy()
            .select([col("sku"), col("merchant_id").alias("sku_merchant")]);
        let f = flags
            .clone()
            .lazy()
            .join(sku_merchant, [col("key")], [col("sku")], JoinArgs::new(JoinType::Left))
            .with_column(super::spikes::quarter_of_week(col("week_start")).alias("quarter"))
            .run()?;
        let (q, level, key, sev, skm) = (
            strs(&f, "quarter")?,
            strs(&f, "level")?,
            strs(&f, "key")?,
            strs(&f, "severity")?,
            strs(&f, "sku_merchant")?,
        );
        for i in 0..f.height() {
            let (Some(quarter), Some(k)) = (q[i].clone(), key[i].clone()) else {
                continue;
            };
            if level[i].as_deref() == Some("merchant") {
                let a = m.entry((quarter, k)).or_default();
                if sev[i].as_deref() == Some("high") {
                    a.flags_high += 1;
                } else {
                    a.flags_medium += 1;
                }
            } else if let Some(mid) = &skm[i] {
                m.entry((quarter, mid.clone())).or_default().sku_flags += 1;
            }
        }
    }
    Ok(m)
}

/// (sku, merchant_id) for the skus flagged at the sku level in `flags` (risk_flags rows): a SKU belongs to the
/// merchant that sells it, the smallest id if several do. `lines`: rows with sku and merchant_id holding every
/// (sku, merchant) pair sold — the order lines, or return_rates' weekly sums of them ([`SoldWeeks`], a sixth of
/// the lines' rows, so the lookup need not read every line). Only the flagged skus'
/// rows are grouped (a few hundred skus). The merchant facts count a flagged SKU against its merchant with it,
/// and the report names the SKU's merchant.
///
/// [`SoldWeeks`]: super::return_rates::SoldWeeks
pub fn flagged_sku_merchants(lines: LazyFrame, flags: &DataFrame) -> Result<DataFrame> {
    let skus = flags
        .clone()
        .lazy()
        .filter(col("level").eq(lit("sku")))
        .select([col("key").alias("sku")])
        .unique(None, UniqueKeepStrategy::Any)
        .run()?;
    let looked_up = lines.select([col("sku"), col("merchant_id")]);
    if skus.height() == 0 {
        // Nothing to look up: no scan of the lines, the columns only.
        return Ok(looked_up.limit(0).run()?);
    }
    Ok(looked_up
        .join(
            skus.lazy(),
            [col("sku")],
            [col("sku")],
            crate::engine::small_right(JoinType::Semi),
        )
        .group_by([col("sku")])
        .agg([col("merchant_id").min()])
        .run_streaming()?)
}

fn names(merchants: Option<&DataFrame>) -> Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    if let Some(df) = merchants {
        for (id, name) in strs(df, "merchant_id")?.into_iter().zip(strs(df, "merchant_name")?) {
            if let (Some(id), Some(name)) = (id, name) {
                out.insert(id, name);
            }
        }
    }
    Ok(out)
}

fn rate(x: i64, n: i64) -> Option<f64> {
    (n > 0).then(|| x as f64 / n as f64)
}

fn list_column(name: &str, rows: &[Vec<String>]) -> Column {
    let series: Vec<Series> = rows.iter().map(|r| Series::new("".into(), r.clone())).collect();
    let mut s = Series::new(name.into(), series);
    if rows.is_empty() {
        s = Series::new_empty(name.into(), &DataType::List(Box::new(DataType::String)));
    }
    s.into_column()
}

impl QuarterFacts {
    pub fn merchant_risk(&self, r: &RiskParams) -> Result<DataFrame> {
        let (m, names) = (&self.facts, &self.names);
        let mut platform: HashMap<String, (i64, i64)> = HashMap::new();
        for ((q, _), a) in m {
            let e = platform.entry(q.clone()).or_default();
            e.0 += a.disputes;
            e.1 += a.cases;
        }
        // The dispute test: P(X ≥ disputes) for X ~ Binomial(cases, the platform's rate), exact; q-values by
        // Benjamini–Hochberg over the quarter's merchants with counted cases.
        let mut p_value: Vec<Option<f64>> = Vec::with_capacity(m.len());
        let mut by_quarter: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, ((q, _), a)) in m.iter().enumerate() {
            let (pd, pn) = platform[q];
            let p = (a.cases > 0).then(|| binomial_upper_tail(a.disputes, a.cases, pd as f64 / pn as f64, 1.0));
            if p.is_some() {
                by_quarter.entry(q.as_str()).or_default().push(i);
            }
            p_value.push(p);
        }
        let mut q_value: Vec<Option<f64>> = vec![None; m.len()];
        for rows in by_quarter.values() {
            let p: Vec<f64> = rows.iter().map(|&i| p_value[i].unwrap_or(1.0)).collect();
            for (&i, q) in rows.iter().zip(benjamini_hochberg(&p)) {
                q_value[i] = Some(q);
            }
        }
        let mut cols: BTreeMap<&str, Vec<Option<f64>>> = BTreeMap::new();
        let (mut quarter, mut merchant, mut name, mut level, mut reasons) = (vec![], vec![], vec![], vec![], vec![]);
        let mut counts: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
        for (i, ((q, id), a)) in m.iter().enumerate() {
            let (pd, pn) = platform[q];
            let platform_rate = rate(pd, pn);
            let dispute_rate = rate(a.disputes, a.cases);
            let mut why = Vec::new();
            let mut lvl = "normal";
            if a.flags_high > 0 {
                lvl = "high";
                why.push(format!("{} high return-spike flag(s) in {q}", a.flags_high));
            }
            // "More than twice the platform's dispute rate" only when the count says it is not luck: 3 disputes
            // in 40 cases is twice the platform's by chance for about one merchant in ten.
            if let (Some(d), Some(pr), Some(dq)) = (dispute_rate, platform_rate, q_value[i])
                && d > 2.0 * pr
                && dq <= r.dispute_q_watch
            {
                let high = dq <= r.dispute_q_high;
                if high {
                    lvl = "high";
                } else if lvl == "normal" {
                    lvl = "watch";
                }
                why.push(format!(
                    "dispute rate {:.3} is more than twice the platform's {:.3} ({} disputes in {} cases; q = {}, {})",
                    d,
                    pr,
                    a.disputes,
                    a.cases,
                    super::stats::sci(dq),
                    if high { "high" } else { "watch" }
                ));
            }
            if lvl == "normal" && a.flags_medium > 0 {
                lvl = "watch";
            }
            if a.flags_medium > 0 {
                why.push(format!("{} medium return-spike flag(s) in {q}", a.flags_medium));
            }
            if why.is_empty() {
                why.push("no return-spike flag, no significant dispute excess".into());
            }
            cols.entry("dispute_p_value").or_default().push(p_value[i]);
            cols.entry("dispute_q_value").or_default().push(q_value[i]);
            quarter.push(q.clone());
            merchant.push(id.clone());
            name.push(names.get(id).cloned());
            level.push(lvl.to_string());
            reasons.push(why);
            for (c, v) in [
                ("return_rate", a.return_rate),
                ("after_sales_rate", a.after_sales_rate),
                ("dispute_rate", dispute_rate),
                ("dispute_loss_rate", rate(a.losses, a.cases)),
                ("merchant_fault_share", rate(a.merchant_fault, a.cases)),
                ("sla_breach_rate", rate(a.sla_breached, a.sla_evaluated)),
                ("platform_dispute_rate", platform_rate),
            ] {
                cols.entry(c).or_default().push(v);
            }
            for (c, v) in [
                ("units_sold", a.units_sold),
                ("counted_cases", a.cases),
                ("disputes", a.disputes),
                ("buyer_favoured", a.losses),
                ("sla_evaluated", a.sla_evaluated),
                ("sla_breached", a.sla_breached),
                ("flags_high", a.flags_high),
                ("flags_medium", a.flags_medium),
                ("sku_flags", a.sku_flags),
            ] {
                counts.entry(c).or_default().push(v);
            }
        }
        let f = |c: &str| {
            Float64Chunked::from_iter_options(c.into(), cols.get(c).cloned().unwrap_or_default().into_iter())
                .into_column()
        };
        let i = |c: &str| Int64Chunked::from_vec(c.into(), counts.get(c).cloned().unwrap_or_default()).into_column();
        let [provisional_risk, provisional_risk_reason] = self.provisional_columns(&quarter);
        Ok(DataFrame::new_infer_height(vec![
            StringChunked::from_iter_values("quarter".into(), quarter.iter().map(String::as_str)).into_column(),
            StringChunked::from_iter_values("merchant_id".into(), merchant.iter().map(String::as_str)).into_column(),
            StringChunked::from_iter_options("merchant_name".into(), name.iter().map(|n| n.as_deref())).into_column(),
            i("units_sold"),
            f("return_rate"),
            f("after_sales_rate"),
            i("counted_cases"),
            i("disputes"),
            f("dispute_rate"),
            i("buyer_favoured"),
            f("dispute_loss_rate"),
            f("merchant_fault_share"),
            i("sla_evaluated"),
            i("sla_breached"),
            f("sla_breach_rate"),
            i("flags_high"),
            i("flags_medium"),
            i("sku_flags"),
            f("platform_dispute_rate"),
            f("dispute_p_value"),
            f("dispute_q_value"),
            StringChunked::from_iter_values("risk_level".into(), level.iter().map(String::as_str)).into_column(),
            list_column("reasons", &reasons),
            provisional_risk,
            provisional_risk_reason,
        ])?)
    }
}

/// One criterion's verdict for one merchant-quarter.
struct Verdict {
    value: Option<f64>,
    threshold: f64,
    pass: Option<bool>,
    gap: Option<String>,
}

fn at_least(name: &str, value: Option<f64>, threshold: f64) -> Verdict {
    let pass = value.map(|v| v >= threshold);
    let gap = match (pass, value) {
        (Some(false), Some(v)) => Some(format!("{name} {v:.3}, needs ≥ {threshold}")),
        _ => None,
    };
    Verdict {
        value,
        threshold,
        pass,
        gap,
    }
}

/// A rate that fails only when both the rate is above its threshold and the count above its allowance.
fn at_most_with_allowance(name: &str, count: i64, cases: i64, threshold: f64, allowance: i64) -> Verdict {
    let value = rate(count, cases);
    let pass = value.map(|v| v <= threshold || count <= allowance);
    let gap = match (pass, value) {
        (Some(false), Some(v)) => Some(format!(
            "{name} {v:.3} ({count} cases), needs ≤ {threshold} or at most {allowance} case(s)"
        )),
        _ => None,
    };
    Verdict {
        value,
        threshold,
        pass,
        gap,
    }
}

pub const CRITERIA: [&str; 7] = [
    "ack_on_time",
    "first_response_on_time",
    "refund_on_time",
    "dispute_rate",
    "dispute_loss_rate",
    "satisfaction",
    "no_high_spike",
];

impl QuarterFacts {
    pub fn badges(&self, b: &BadgeParams) -> Result<DataFrame> {
        let (m, names) = (&self.facts, &self.names);
        let mut quarter = vec![];
        let mut merchant = vec![];
        let mut name = vec![];
        let mut status = vec![];
        let mut so_far = vec![];
        let mut failed_all = vec![];
        let mut gaps_all = vec![];
        let mut units = vec![];
        let mut cases = vec![];
        let mut extra: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
        let mut vals: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::new();
        let mut thresholds: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let mut passes: BTreeMap<String, Vec<Option<bool>>> = BTreeMap::new();
        let known: BTreeSet<&str> = CRITERIA.into_iter().collect();
        for ((q, id), a) in m {
            let compliance = |rule: &str| a.rules.get(rule).and_then(|(ev, met)| rate(*met, *ev));
            let mean = (a.ratings > 0).then(|| a.rating_sum / a.ratings as f64);
            let mut verdicts: Vec<(&str, Verdict)> = vec![
                (
                    "ack_on_time",
                    at_least("ack_on_time", compliance("merchant_ack"), b.ack_on_time),
                ),
                (
                    "first_response_on_time",
                    at_least(
                        "first_response_on_time",
                        compliance("first_response"),
                        b.first_response_on_time,
                    ),
                ),
                (
                    "refund_on_time",
                    at_least("refund_on_time", compliance("refund_payout"), b.refund_on_time),
                ),
                (
                    "dispute_rate",
                    at_most_with_allowance("dispute_rate", a.disputes, a.cases, b.dispute_rate, b.dispute_allowance),
                ),
                (
                    "dispute_loss_rate",
                    at_most_with_allowance(
                        "dispute_loss_rate",
                        a.losses,
                        a.cases,
                        b.dispute_loss_rate,
                        b.dispute_loss_allowance,
                    ),
                ),
            ];
            let mut sat = at_least("satisfaction", mean, b.satisfaction);
            if a.ratings < b.min_ratings {
                // Too few ratings to judge: shown, but it does not block.
                sat.pass = None;
                sat.gap = None;
            }
            verdicts.push(("satisfaction", sat));
            let spike_pass = a.flags_high == 0;
            verdicts.push((
                "no_high_spike",
                Verdict {
                    value: Some(a.flags_high as f64),
                    threshold: 0.0,
                    pass: Some(spike_pass),
                    gap: (!spike_pass).then(|| {
                        format!(
                            "no_high_spike: {} high return-spike flag(s) in the quarter, needs none",
                            a.flags_high
                        )
                    }),
                },
            ));
            debug_assert!(verdicts.iter().all(|(c, _)| known.contains(c)));
            let eligible = a.units_sold >= b.min_units_sold && a.cases >= b.min_cases;
            let failed: Vec<String> = verdicts
                .iter()
                .filter(|(_, v)| v.pass == Some(false))
                .map(|(c, _)| c.to_string())
                .collect();
            let mut gaps: Vec<String> = verdicts.iter().filter_map(|(_, v)| v.gap.clone()).collect();
            let provisional = self.provisional.get(q).is_some_and(Option::is_some);
            let st = if !eligible {
                gaps.insert(
                    0,
                    format!(
                        "insufficient volume: {} units sold (needs ≥ {}), {} counted cases (needs ≥ {})",
                        a.units_sold, b.min_units_sold, a.cases, b.min_cases
                    ),
                );
                "insufficient_volume"
            } else if failed.is_empty() {
                "gold"
            } else {
                "not_awarded"
            };
            quarter.push(q.clone());
            merchant.push(id.clone());
            name.push(names.get(id).cloned());
            status.push(if provisional { "provisional" } else { st }.to_string());
            so_far.push(st.to_string());
            // A merchant short of volume is not judged on criteria, so none is listed as failed.
            failed_all.push(if eligible { failed } else { vec![] });
            gaps_all.push(gaps);
            units.push(a.units_sold);
            cases.push(a.cases);
            for (c, v) in [
                ("disputes", a.disputes),
                ("buyer_favoured", a.losses),
                ("ratings", a.ratings),
            ] {
                extra.entry(c).or_default().push(v);
            }
            for (c, v) in verdicts {
                vals.entry(c.to_string()).or_default().push(v.value);
                thresholds.entry(c.to_string()).or_default().push(v.threshold);
                passes
                    .entry(c.to_string())
                    .or_default()
                    .push(if eligible { v.pass } else { None });
            }
        }
        let [provisional, provisional_reason] = self.provisional_columns(&quarter);
        let mut columns = vec![
            StringChunked::from_iter_values("quarter".into(), quarter.iter().map(String::as_str)).into_column(),
            StringChunked::from_iter_values("merchant_id".into(), merchant.iter().map(String::as_str)).into_column(),
            StringChunked::from_iter_options("merchant_name".into(), name.iter().map(|n| n.as_deref())).into_column(),
            StringChunked::from_iter_values("status".into(), status.iter().map(String::as_str)).into_column(),
            StringChunked::from_iter_values("status_so_far".into(), so_far.iter().map(String::as_str)).into_column(),
            provisional,
            provisional_reason,
            Int64Chunked::from_vec("units_sold".into(), units).into_column(),
            Int64Chunked::from_vec("counted_cases".into(), cases).into_column(),
        ];
        for c in CRITERIA {
            columns.push(
                Float64Chunked::from_iter_options(
                    format!("{c}_value").into(),
                    vals.get(c).cloned().unwrap_or_default().into_iter(),
                )
                .into_column(),
            );
            columns.push(
                Float64Chunked::from_vec(
                    format!("{c}_threshold").into(),
                    thresholds.get(c).cloned().unwrap_or_default(),
                )
                .into_column(),
            );
            columns.push(
                BooleanChunked::from_iter_options(
                    format!("{c}_pass").into(),
                    passes.get(c).cloned().unwrap_or_default().into_iter(),
                )
                .into_column(),
            );
            let count = match c {
                "dispute_rate" => Some("disputes"),
                "dispute_loss_rate" => Some("buyer_favoured"),
                "satisfaction" => Some("ratings"),
                _ => None,
            };
            if let Some(n) = count {
                columns.push(Int64Chunked::from_vec(n.into(), extra.get(n).cloned().unwrap_or_default()).into_column());
            }
        }
        columns.push(list_column("failed_criteria", &failed_all));
        columns.push(list_column("gaps", &gaps_all));
        Ok(DataFrame::new_infer_height(columns)?)
    }
}
