//! What the report and the charts show, read from the output tables (never recomputed), each figure with the
//! table and rows it comes from.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::Result;
use polars::prelude::*;

use super::frame::Table;
use crate::charts::badges::{BadgeResults, CriterionResult};
use crate::charts::carriers::{CarrierRate, CarrierRates};
use crate::charts::funnel::{FunnelPoint, MerchantFunnel};
use crate::charts::rates::{MonthlyRates, RateSeries};
use crate::charts::reasons::ReasonPareto;
use crate::charts::sla::{ComplianceByRule, HeatRow, RuleCompliance, SlaHeatmap};
use crate::charts::spikes::{SpikeCharts, SpikeSeries, SpikeWeek};
use crate::metrics::ALL;
use crate::metrics::merchants::CRITERIA;

/// How many categories besides the platform chart 1 draws.
pub const TOP_CATEGORIES: usize = 5;
/// How many merchants the SLA heat map shows.
pub const HEATMAP_ROWS: usize = 15;
/// A merchant enters the heat map ranking with at least this many evaluated clocks in the quarter, so one late
/// acknowledgement out of two does not make a merchant "the worst".
pub const HEATMAP_MIN_EVALUATED: i64 = 20;
/// Weeks before the quarter drawn in a spike panel, to show the baseline the flag is judged against.
pub const SPIKE_WEEKS_BEFORE: i64 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Rate,
    Count,
    Money,
}

/// A figure as stored in its table: a number, or a decimal's exact text.
#[derive(Debug, Clone)]
pub enum Value {
    Num(f64),
    Decimal(String),
}

impl Value {
    pub fn as_f64(&self) -> f64 {
        match self {
            Value::Num(v) => *v,
            Value::Decimal(s) => s.parse().unwrap_or(f64::NAN),
        }
    }

    /// The raw value as written in the page's data-value attribute: f64's shortest round-trip text, or the
    /// decimal's digits, so a test (or a reader) can compare it with the table exactly.
    pub fn raw(&self) -> String {
        match self {
            Value::Num(v) => format!("{v}"),
            Value::Decimal(s) => s.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Headline {
    /// Stable id, the page's data-figure attribute.
    pub id: &'static str,
    pub label: String,
    pub kind: Kind,
    pub current: Option<Value>,
    pub previous: Option<Value>,
    /// Where it comes from: file, rows, column.
    pub source: String,
    /// A caveat, e.g. that the quarter is not mature yet.
    pub note: String,
}

#[derive(Debug, Clone)]
pub struct FlagRow {
    pub level: String,
    pub key: String,
    pub name: String,
    pub week: String,
    pub n_t: i64,
    pub r_t: i64,
    pub rate: f64,
    pub p0: f64,
    pub z: f64,
    pub lift: f64,
    pub severity: String,
    pub severity_label: String,
    pub level_label: String,
    /// The flag's sentence, in the page's language.
    pub reason: String,
    /// The first returns behind the flag (flag_evidence.parquet).
    pub evidence: Evidence,
}

/// An episode of flagged weeks (flag_episodes.parquet) as the page shows it.
#[derive(Debug, Clone)]
pub struct EpisodeRow {
    pub alert_id: String,
    pub level: String,
    pub key: String,
    /// The merchant it concerns (an SKU's merchant).
    pub merchant_id: String,
    pub name: String,
    pub level_label: String,
    pub first_week: String,
    pub last_week: String,
    pub weeks: usize,
    pub ongoing: bool,
    pub status_label: String,
    pub peak_z: f64,
    pub peak_week: String,
    pub high: bool,
    pub severity_label: String,
    /// The episode's sentence, with its q-value in plain words, in the page's language.
    pub sentence: String,
    /// What the merchant is asked to check.
    pub action: String,
}

/// How many evidence rows the page shows under a flag or a near-miss; the rest are in the evidence tables.
pub const EVIDENCE_ROWS: usize = 5;

/// The first records behind a flag or a failed criterion, with where the rest are.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub rows: Vec<EvidenceRow>,
    /// How many rows the evidence table holds for it.
    pub total: usize,
    /// What a row is: "return cases", "records".
    pub noun: String,
    /// The evidence table and the rows to filter it by.
    pub source: String,
}

impl Evidence {
    /// "First 5 of 27 … in <table and filter>", in the page's language.
    pub fn note(&self, m: &crate::i18n::Messages) -> String {
        let key = if self.total > self.rows.len() {
            "evidence.first"
        } else {
            "evidence.all"
        };
        m.f(
            key,
            &[
                ("shown", &self.rows.len()),
                ("total", &self.total),
                ("noun", &self.noun),
                ("source", &self.source),
            ],
        )
    }
}

#[derive(Debug, Clone)]
pub struct EvidenceRow {
    /// Case, refund or week.
    pub record: String,
    pub order: String,
    /// When (local time): the case opened, the clock started.
    pub when: String,
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct RiskRow {
    pub merchant_id: String,
    pub merchant_name: String,
    pub risk_level: String,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct CarrierRow {
    pub carrier: String,
    pub shipments: i64,
    pub damaged: i64,
    pub damage_rate: f64,
    pub damage_ci: (f64, f64),
    pub network_damage_rate: f64,
    pub lost: i64,
    pub loss_rate: f64,
    pub claim_cost: String,
}

#[derive(Debug, Clone)]
pub struct BadgeRow {
    pub merchant_id: String,
    pub merchant_name: String,
    pub units_sold: i64,
    pub counted_cases: i64,
    /// (criterion, value shown) for every criterion with a value.
    pub values: Vec<(String, String)>,
    pub failed: Vec<String>,
    /// The failed criteria's names in the page's language.
    pub failed_labels: Vec<String>,
    /// Each failed criterion's gap, in the page's language.
    pub gaps: Vec<String>,
    /// For a near miss: the first records behind its failed criterion (badge_evidence.parquet).
    pub evidence: Evidence,
}

#[derive(Debug, Clone)]
pub struct TableCounts {
    pub table: String,
    pub read: u64,
    pub accepted: u64,
    pub rejected: u64,
}

pub struct Facts {
    pub quarter: String,
    pub previous_quarter: String,
    pub headlines: Vec<Headline>,
    pub flags: Vec<FlagRow>,
    /// The episodes with a flagged week in the quarter: ongoing first, then high, then by peak z.
    pub episodes: Vec<EpisodeRow>,
    pub high_risk: Vec<RiskRow>,
    pub worse_carriers: Vec<CarrierRow>,
    pub gold: Vec<BadgeRow>,
    pub near_misses: Vec<BadgeRow>,
    pub rates: MonthlyRates,
    pub reasons: ReasonPareto,
    pub compliance: ComplianceByRule,
    pub heatmap: SlaHeatmap,
    pub carriers: CarrierRates,
    pub funnel: MerchantFunnel,
    pub spikes: SpikeCharts,
    pub badges: BadgeResults,
    /// Why the quarter's badges and risk levels are provisional, None when final.
    pub provisional: Option<String>,
    /// Every episode of the run (flag_episodes.parquet), for alerts.jsonl.
    pub episodes_all: Vec<crate::metrics::episodes::Episode>,
}

pub use crate::time::previous_quarter;

/// The quarter of a date printed `2026-09-07`.
pub fn quarter_of_date(d: &str) -> Option<String> {
    let year = d.get(..4)?;
    let month: u32 = d.get(5..7)?.parse().ok()?;
    Some(format!("{year}Q{}", (month - 1) / 3 + 1))
}

pub struct Inputs<'a> {
    pub tables: &'a [(&'static str, DataFrame)],
    /// merchant_id → merchant_name (merchants table, if given).
    pub merchant_names: HashMap<String, String>,
    /// sku → merchant_id for the flagged SKUs: risk_flags' merchant_id (the merchant that sold most of the SKU's
    /// lines), as flag_episodes names it too.
    pub sku_merchant: HashMap<String, String>,
    /// SLA rules switched off in the config (the exports carry no times for them): shown as not measured.
    pub rules_off: Vec<String>,
    /// Why the report's quarter is provisional at as_of (`time::Provisional`), None when it is final.
    pub provisional: Option<String>,
    /// The configured zone: evidence times are shown in it.
    pub tz: chrono_tz::Tz,
    /// The page's language.
    pub m: &'static crate::i18n::Messages,
    /// The parameters the flag sentences and badge gaps name.
    pub risk: crate::config::RiskParams,
    pub badge: crate::config::BadgeParams,
}

impl Inputs<'_> {
    fn merchant_label(&self, id: &str) -> String {
        match self.merchant_names.get(id) {
            Some(n) => format!("{id} {n}"),
            None => id.to_string(),
        }
    }

    fn entity_label(&self, level: &str, key: &str) -> String {
        match level {
            "merchant" => self.merchant_label(key),
            _ => match self.sku_merchant.get(key) {
                Some(m) => format!("{key} ({})", self.merchant_label(m)),
                None => key.to_string(),
            },
        }
    }
}

pub fn gather(inp: &Inputs<'_>, quarter: &str) -> Result<Facts> {
    let prev = previous_quarter(quarter);
    let t = |n: &'static str| Table::find(inp.tables, n);
    let rates = t("return_rates")?;
    let compliance = t("sla_compliance")?;
    let carriers = t("carrier_performance")?;
    let flags = t("risk_flags")?;
    let risk = t("merchant_risk")?;
    let badges = t("badges")?;
    let reasons = t("reason_breakdown")?;
    let evaluation = t("spike_evaluation")?;

    let (flag_rows, episodes_all, episodes) = flags_and_episodes(inp, quarter)?;
    let prev_flag_count = flag_rows_count(&flags, &prev)?;
    let ongoing = episodes_all.iter().filter(|e| e.ongoing).count();
    let headlines = headlines(
        &rates,
        &compliance,
        &carriers,
        &risk,
        &badges,
        quarter,
        &prev,
        (flag_rows.len(), prev_flag_count),
        inp.m,
    )?;

    let mut headlines = headlines;
    // Alerts are judged at as_of, not per quarter: the count of episodes still going on in the latest week judged.
    headlines.push(Headline {
        id: "ongoing_alerts",
        label: inp.m.t("headline.ongoing_alerts"),
        kind: Kind::Count,
        current: Some(Value::Num(ongoing as f64)),
        previous: None,
        source: "flag_episodes.parquet: status = ongoing, rows counted (alerts.jsonl has one line each)".into(),
        note: String::new(),
    });
    for h in headlines.iter_mut() {
        if let Some(why) = &inp.provisional
            && matches!(h.id, "gold_merchants" | "high_risk_merchants")
        {
            h.note = inp.m.f("headline.provisional", &[("why", why)]);
        }
        if let Some(rule) = h.id.strip_prefix("sla_")
            && inp.rules_off.iter().any(|r| r == rule)
        {
            h.note = inp.m.f("headline.rule_off", &[("rule", &rule)]);
        }
    }

    let q_risk = risk.rows(&[("quarter", quarter)])?;
    let mut high_risk = Vec::new();
    {
        let (ids, names, levels) = (
            q_risk.strs("merchant_id")?,
            q_risk.strs("merchant_name")?,
            q_risk.strs("risk_level")?,
        );
        for i in 0..q_risk.height() {
            let level = levels[i].clone().unwrap_or_default();
            if level == "high" {
                high_risk.push(RiskRow {
                    merchant_id: ids[i].clone().unwrap_or_default(),
                    merchant_name: names[i].clone().unwrap_or_default(),
                    risk_level: level,
                    reasons: risk_reasons(inp, &q_risk, i, quarter)?,
                });
            }
        }
        high_risk.sort_by(|a, b| a.merchant_id.cmp(&b.merchant_id));
    }

    let carrier_q = carriers.rows(&[("period_kind", "quarter"), ("period", quarter), ("direction", "all")])?;
    let carrier_rows = carrier_rows(&carrier_q)?;
    let worse_flags = carrier_q.bools("worse_than_network")?;
    let worse_carriers: Vec<CarrierRow> = carrier_rows
        .iter()
        .zip(&worse_flags)
        .filter(|(_, w)| w.unwrap_or(false))
        .map(|(c, _)| c.clone())
        .collect();

    let q_badges = badges.rows(&[("quarter", quarter)])?;
    let badge_rows = badge_rows(inp, &q_badges)?;
    // A provisional quarter's rows say `provisional`; the page shows where each merchant stands so far, marked.
    let statuses = q_badges.strs("status_so_far")?;
    let gold: Vec<BadgeRow> = badge_rows
        .iter()
        .zip(&statuses)
        .filter(|(_, s)| s.as_deref() == Some("gold"))
        .map(|(b, _)| b.clone())
        .collect();
    let mut near_misses: Vec<BadgeRow> = badge_rows
        .iter()
        .zip(&statuses)
        .filter(|(b, s)| s.as_deref() == Some("not_awarded") && b.failed.len() == 1)
        .map(|(b, _)| b.clone())
        .collect();
    let badge_evidence = t("badge_evidence")?;
    for b in near_misses.iter_mut() {
        b.evidence = badge_evidence_of(inp, &badge_evidence, quarter, b)?;
    }

    Ok(Facts {
        quarter: quarter.to_string(),
        previous_quarter: prev,
        headlines,
        rates: monthly_rates(inp.m, &rates)?,
        reasons: reason_pareto(&reasons, quarter)?,
        compliance: compliance_by_rule(inp.m, &compliance, quarter)?,
        heatmap: heatmap(inp, &compliance, quarter)?,
        carriers: carrier_chart(&carrier_q, &carrier_rows, quarter)?,
        funnel: funnel(inp, &rates, &flag_rows, quarter)?,
        spikes: spike_charts(inp, &evaluation, &flag_rows, quarter)?,
        badges: badge_chart(&q_badges, &badge_rows, &statuses, quarter)?,
        flags: flag_rows,
        episodes,
        high_risk,
        worse_carriers,
        gold,
        near_misses,
        provisional: inp.provisional.clone(),
        episodes_all,
    })
}

/// The quarter's flags (each with its first evidence rows), every episode, and the quarter's episodes as the page
/// shows them: what the report and each merchant page read, whether `run` or `page` renders them.
#[allow(clippy::type_complexity)]
pub fn flags_and_episodes(
    inp: &Inputs<'_>,
    quarter: &str,
) -> Result<(Vec<FlagRow>, Vec<crate::metrics::episodes::Episode>, Vec<EpisodeRow>)> {
    let t = |n: &'static str| Table::find(inp.tables, n);
    let mut flag_rows = flag_rows(inp, &t("risk_flags")?, quarter)?;
    let flag_evidence = t("flag_evidence")?;
    for f in flag_rows.iter_mut() {
        f.evidence = flag_evidence_of(inp, &flag_evidence, f)?;
    }
    let episodes_all = crate::metrics::episodes::from_table(&t("flag_episodes")?.df)?;
    let episodes = episode_rows(inp, &episodes_all, quarter);
    Ok((flag_rows, episodes_all, episodes))
}

#[allow(clippy::too_many_arguments)]
fn headlines(
    rates: &Table,
    compliance: &Table,
    carriers: &Table,
    risk: &Table,
    badges: &Table,
    q: &str,
    prev: &str,
    flag_counts: (usize, usize),
    m: &crate::i18n::Messages,
) -> Result<Vec<Headline>> {
    let platform = |p: &str| rates.rows(&[("period_kind", "quarter"), ("period", p), ("level", "platform")]);
    let (cur, old) = (platform(q)?, platform(prev)?);
    let num = |t: &Table, c: &str| -> Result<Option<Value>> { Ok(t.one_f64(c)?.map(Value::Num)) };
    let dec = |t: &Table, c: &str| -> Result<Option<Value>> { Ok(t.one_str(c)?.map(Value::Decimal)) };
    let rr_src =
        |c: &str| format!("return_rates.parquet: period_kind = quarter, period = {q} / {prev}, level = platform → {c}");
    let immature = if cur.bools("mature")?.first().copied().flatten() == Some(false) {
        m.t("headline.immature")
    } else {
        String::new()
    };
    let ci = match (cur.one_f64("ci_low")?, cur.one_f64("ci_high")?) {
        (Some(l), Some(h)) => m.f(
            "headline.interval",
            &[("low", &crate::charts::pct(l, 2)), ("high", &crate::charts::pct(h, 2))],
        ),
        _ => String::new(),
    };
    let mut out = vec![
        Headline {
            id: "units_sold",
            label: m.t("headline.units_sold"),
            kind: Kind::Count,
            current: num(&cur, "units_sold")?,
            previous: num(&old, "units_sold")?,
            source: rr_src("units_sold"),
            note: String::new(),
        },
        Headline {
            id: "return_rate",
            label: m.t("headline.return_rate"),
            kind: Kind::Rate,
            current: num(&cur, "return_rate")?,
            previous: num(&old, "return_rate")?,
            source: rr_src("return_rate"),
            note: [ci, immature.clone()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("; "),
        },
        Headline {
            id: "after_sales_rate",
            label: m.t("headline.after_sales_rate"),
            kind: Kind::Rate,
            current: num(&cur, "after_sales_rate")?,
            previous: num(&old, "after_sales_rate")?,
            source: rr_src("after_sales_rate"),
            note: immature,
        },
        Headline {
            id: "refunded",
            label: m.t("headline.refunded"),
            kind: Kind::Money,
            current: dec(&cur, "refunded")?,
            previous: dec(&old, "refunded")?,
            source: rr_src("refunded"),
            note: String::new(),
        },
        Headline {
            id: "refund_value_rate",
            label: m.t("headline.refund_value_rate"),
            kind: Kind::Rate,
            current: num(&cur, "refund_value_rate")?,
            previous: num(&old, "refund_value_rate")?,
            source: rr_src("refund_value_rate"),
            note: String::new(),
        },
    ];
    for (id, rule, label) in [
        ("sla_merchant_ack", "merchant_ack", "headline.sla_merchant_ack"),
        ("sla_refund_payout", "refund_payout", "headline.sla_refund_payout"),
    ] {
        let rows = |p: &str| {
            compliance.rows(&[
                ("period_kind", "quarter"),
                ("period", p),
                ("level", "platform"),
                ("rule", rule),
            ])
        };
        out.push(Headline {
            id,
            label: m.t(label),
            kind: Kind::Rate,
            current: num(&rows(q)?, "compliance")?,
            previous: num(&rows(prev)?, "compliance")?,
            source: format!(
                "sla_compliance.parquet: period_kind = quarter, period = {q} / {prev}, level = platform, rule = {rule} → compliance"
            ),
            note: String::new(),
        });
    }
    let dispute = |p: &str| risk.rows(&[("quarter", p)]);
    out.push(Headline {
        id: "dispute_rate",
        label: m.t("headline.dispute_rate"),
        kind: Kind::Rate,
        current: num(&dispute(q)?, "platform_dispute_rate")?,
        previous: num(&dispute(prev)?, "platform_dispute_rate")?,
        source: format!("merchant_risk.parquet: quarter = {q} / {prev} (any row) → platform_dispute_rate"),
        note: String::new(),
    });
    let network = |p: &str| carriers.rows(&[("period_kind", "quarter"), ("period", p), ("direction", "all")]);
    out.push(Headline {
        id: "network_damage_rate",
        label: m.t("headline.network_damage_rate"),
        kind: Kind::Rate,
        current: num(&network(q)?, "network_damage_rate")?,
        previous: num(&network(prev)?, "network_damage_rate")?,
        source: format!(
            "carrier_performance.parquet: period_kind = quarter, period = {q} / {prev}, direction = all (any carrier) → network_damage_rate"
        ),
        note: String::new(),
    });
    let count_where = |t: &Table, p: &str, c: &str, v: &str| -> Result<Option<Value>> {
        let rows = t.rows(&[("quarter", p)])?;
        if rows.height() == 0 {
            return Ok(None);
        }
        let n = rows.strs(c)?.iter().filter(|s| s.as_deref() == Some(v)).count();
        Ok(Some(Value::Num(n as f64)))
    };
    let has_prev_weeks = flag_counts.1 > 0 || rates.rows(&[("period", prev)])?.height() > 0;
    out.push(Headline {
        id: "spike_flags",
        label: m.t("headline.spike_flags"),
        kind: Kind::Count,
        current: Some(Value::Num(flag_counts.0 as f64)),
        previous: has_prev_weeks.then_some(Value::Num(flag_counts.1 as f64)),
        source: format!("risk_flags.parquet: rows whose week_start falls in {q} / {prev}, counted"),
        note: String::new(),
    });
    out.push(Headline {
        id: "high_risk_merchants",
        label: m.t("headline.high_risk_merchants"),
        kind: Kind::Count,
        current: count_where(risk, q, "risk_level", "high")?,
        previous: count_where(risk, prev, "risk_level", "high")?,
        source: format!("merchant_risk.parquet: quarter = {q} / {prev}, risk_level = high, rows counted"),
        note: String::new(),
    });
    out.push(Headline {
        id: "gold_merchants",
        label: m.t("headline.gold_merchants"),
        kind: Kind::Count,
        current: count_where(badges, q, "status_so_far", "gold")?,
        previous: count_where(badges, prev, "status_so_far", "gold")?,
        source: format!("badges.parquet: quarter = {q} / {prev}, status_so_far = gold, rows counted"),
        note: String::new(),
    });
    Ok(out)
}

fn flag_rows_count(flags: &Table, quarter: &str) -> Result<usize> {
    Ok(flags
        .strs("week_start")?
        .iter()
        .filter(|d| d.as_deref().and_then(quarter_of_date).as_deref() == Some(quarter))
        .count())
}

/// The flags whose week (its Monday) falls in the quarter, strongest first.
fn flag_rows(inp: &Inputs<'_>, flags: &Table, quarter: &str) -> Result<Vec<FlagRow>> {
    let week_start = flags.strs("week_start")?;
    let (level, key, period) = (flags.strs("level")?, flags.strs("key")?, flags.strs("period")?);
    let (n_t, r_t) = (flags.i64s("n_t")?, flags.i64s("r_t")?);
    let (rate, p0, z, lift) = (
        flags.f64s("rate")?,
        flags.f64s("p0")?,
        flags.f64s("z")?,
        flags.f64s("lift")?,
    );
    let severity = flags.strs("severity")?;
    let mut out = Vec::new();
    for i in 0..flags.height() {
        if week_start[i].as_deref().and_then(quarter_of_date).as_deref() != Some(quarter) {
            continue;
        }
        let (lv, k) = (level[i].clone().unwrap_or_default(), key[i].clone().unwrap_or_default());
        out.push(FlagRow {
            name: inp.entity_label(&lv, &k),
            level: lv,
            key: k,
            week: period[i].clone().unwrap_or_default(),
            n_t: n_t[i].unwrap_or(0),
            r_t: r_t[i].unwrap_or(0),
            rate: rate[i].unwrap_or(f64::NAN),
            p0: p0[i].unwrap_or(f64::NAN),
            z: z[i].unwrap_or(f64::NAN),
            lift: lift[i].unwrap_or(f64::NAN),
            severity_label: name(inp.m, "severity", severity[i].as_deref().unwrap_or_default()),
            level_label: name(inp.m, "level", level[i].as_deref().unwrap_or_default()),
            severity: severity[i].clone().unwrap_or_default(),
            reason: flag_sentence(inp, flags, i)?,
            evidence: Evidence::default(),
        });
    }
    out.sort_by(|a, b| b.z.total_cmp(&a.z).then_with(|| a.key.cmp(&b.key)));
    Ok(out)
}

/// The episodes with a flagged week whose Monday falls in the quarter.
fn episode_rows(inp: &Inputs<'_>, all: &[crate::metrics::episodes::Episode], quarter: &str) -> Vec<EpisodeRow> {
    let day = |d: i32| {
        chrono::NaiveDate::from_num_days_from_ce_opt(d + 719_163)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    };
    let mut out: Vec<EpisodeRow> = all
        .iter()
        .filter(|e| {
            let (first, last) = (
                quarter_of_date(&day(e.first_week_start)),
                quarter_of_date(&day(e.last_week_start)),
            );
            matches!((first, last), (Some(f), Some(l)) if f.as_str() <= quarter && quarter <= l.as_str())
        })
        .map(|e| {
            let merchant_id = e.merchant_id.clone().unwrap_or_default();
            let merchant_label = if merchant_id.is_empty() {
                String::new()
            } else {
                inp.merchant_label(&merchant_id)
            };
            EpisodeRow {
                alert_id: e.alert_id.clone(),
                level: e.level.clone(),
                key: e.key.clone(),
                name: inp.entity_label(&e.level, &e.key),
                level_label: name(inp.m, "level", &e.level),
                first_week: e.first_week.clone(),
                last_week: e.last_week.clone(),
                weeks: e.weeks(),
                ongoing: e.ongoing,
                status_label: inp.m.t(&format!("status.{}", e.status())),
                peak_z: e.peak_z,
                peak_week: e.peak_week.clone(),
                high: e.high,
                severity_label: name(inp.m, "severity", e.severity()),
                sentence: e.sentence(inp.m, inp.risk.age_days, &merchant_label),
                action: e.action(inp.m),
                merchant_id,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.ongoing
            .cmp(&a.ongoing)
            .then(b.high.cmp(&a.high))
            .then(b.peak_z.total_cmp(&a.peak_z))
            .then_with(|| a.key.cmp(&b.key))
    });
    out
}

/// The name of a code in the page's language (`reason.size_fit` …); the code itself when the catalogue has none.
pub(super) fn name(m: &crate::i18n::Messages, section: &str, code: &str) -> String {
    m.get(&format!("{section}.{code}"))
        .map_or_else(|| code.to_string(), str::to_string)
}

/// A flag's sentence in the page's language, from the flag's own figures (risk_flags' `reason` is the same in
/// English).
fn flag_sentence(inp: &Inputs<'_>, t: &Table, i: usize) -> Result<String> {
    let s = |c: &str| -> Result<String> { Ok(t.strs(c)?[i].clone().unwrap_or_default()) };
    let f = |c: &str| -> Result<f64> { Ok(t.f64s(c)?[i].unwrap_or(f64::NAN)) };
    let m = inp.m;
    let carrier = f("r_carrier")?;
    let carrier_note = if carrier > 0.0 {
        m.f(
            if carrier == 1.0 {
                "flag.carrier_one"
            } else {
                "flag.carrier_many"
            },
            &[("n", &carrier)],
        )
    } else {
        String::new()
    };
    Ok(m.f(
        "flag.sentence",
        &[
            ("level", &name(m, "level", &s("level")?)),
            ("key", &s("key")?),
            ("r", &f("r_t")?),
            ("n", &f("n_t")?),
            ("week", &s("period")?),
            ("days", &inp.risk.age_days),
            ("rate", &format!("{:.1}", f("rate")? * 100.0)),
            ("lift", &format!("{:.1}", f("lift")?)),
            ("p0", &format!("{:.1}", f("p0")? * 100.0)),
            ("weeks", &inp.risk.baseline_weeks),
            ("r_b", &f("r_b")?),
            ("n_b", &f("n_b")?),
            ("category", &s("category")?),
            ("p_c", &format!("{:.1}", f("p_c")? * 100.0)),
            ("k", &inp.risk.prior_strength),
            ("z", &format!("{:.1}", f("z")?)),
            ("phi", &format!("{:.2}", f("phi")?)),
            ("p", &crate::metrics::stats::sci(f("p_value")?)),
            ("q", &crate::metrics::stats::sci(f("q_value")?)),
            ("luck", &crate::metrics::episodes::luck_sentence(m, f("q_value")?)),
            ("carrier", &carrier_note),
        ],
    ))
}

/// Why a merchant is at high risk, in the page's language, from its merchant_risk row (the table's `reasons` say
/// the same in English).
pub(super) fn risk_reasons(inp: &Inputs<'_>, t: &Table, i: usize, quarter: &str) -> Result<Vec<String>> {
    let m = inp.m;
    let (high, medium) = (
        t.i64s("flags_high")?[i].unwrap_or(0),
        t.i64s("flags_medium")?[i].unwrap_or(0),
    );
    let (rate, platform) = (t.f64s("dispute_rate")?[i], t.f64s("platform_dispute_rate")?[i]);
    let (disputes, cases) = (
        t.i64s("disputes")?[i].unwrap_or(0),
        t.i64s("counted_cases")?[i].unwrap_or(0),
    );
    let mut out = Vec::new();
    if high > 0 {
        out.push(m.f("risk.reason_high", &[("n", &high), ("quarter", &quarter)]));
    }
    let q = t.f64s("dispute_q_value")?[i];
    if let (Some(d), Some(p), Some(q)) = (rate, platform, q)
        && d > 2.0 * p
        && q <= inp.risk.dispute_q_watch
    {
        out.push(m.f(
            "risk.reason_dispute",
            &[
                ("rate", &format!("{d:.3}")),
                ("platform", &format!("{p:.3}")),
                ("disputes", &disputes),
                ("cases", &cases),
                ("q", &crate::metrics::stats::sci(q)),
                ("luck", &crate::metrics::episodes::luck_sentence(m, q)),
            ],
        ));
    }
    if medium > 0 {
        out.push(m.f("risk.reason_medium", &[("n", &medium), ("quarter", &quarter)]));
    }
    Ok(out)
}

/// A failed criterion's gap in the page's language, from the badge row's value, threshold and counts (the table's
/// `gaps` say the same in English).
pub(super) fn gap_sentence(inp: &Inputs<'_>, t: &Table, i: usize, c: &str) -> Result<String> {
    let m = inp.m;
    let value = t.f64s(&format!("{c}_value"))?[i].unwrap_or(f64::NAN);
    let threshold = t.f64s(&format!("{c}_threshold"))?[i].unwrap_or(f64::NAN);
    let label = name(m, "criterion", c);
    Ok(match c {
        "dispute_rate" | "dispute_loss_rate" => {
            let (count, allowance) = if c == "dispute_rate" {
                (t.i64s("disputes")?[i].unwrap_or(0), inp.badge.dispute_allowance)
            } else {
                (
                    t.i64s("buyer_favoured")?[i].unwrap_or(0),
                    inp.badge.dispute_loss_allowance,
                )
            };
            m.f(
                "gap.at_most",
                &[
                    ("criterion", &label),
                    ("value", &format!("{value:.3}")),
                    ("count", &count),
                    ("threshold", &threshold),
                    ("allowance", &allowance),
                ],
            )
        }
        "no_high_spike" => m.f("gap.no_high_spike", &[("criterion", &label), ("n", &value)]),
        _ => m.f(
            "gap.at_least",
            &[
                ("criterion", &label),
                ("value", &format!("{value:.3}")),
                ("threshold", &threshold),
            ],
        ),
    })
}

/// A timestamp column of an evidence table as local time `2026-09-12 12:47`.
fn local_times(t: &Table, c: &str, tz: chrono_tz::Tz) -> Result<Vec<String>> {
    Ok(t.i64s(c)?
        .into_iter()
        .map(|v| {
            v.map(|v| {
                crate::time::format_local(v, tz)
                    .replacen('T', " ", 1)
                    .chars()
                    .take(16)
                    .collect()
            })
            .unwrap_or_default()
        })
        .collect())
}

/// The first returns behind a flag: case, order line, when it was opened and how long after the order.
fn flag_evidence_of(inp: &Inputs<'_>, t: &Table, f: &FlagRow) -> Result<Evidence> {
    let rows = t.rows(&[("level", &f.level), ("key", &f.key), ("period", &f.week)])?;
    let (case, order, line, sku) = (
        rows.strs("case_id")?,
        rows.strs("order_id")?,
        rows.i64s("line_no")?,
        rows.strs("sku")?,
    );
    let (case_type, reason, days, carrier) = (
        rows.strs("case_type")?,
        rows.strs("reason_code")?,
        rows.f64s("days_after_order")?,
        rows.bools("carrier_case")?,
    );
    let opened = local_times(&rows, "opened_at", inp.tz)?;
    let shown = (0..rows.height())
        .take(EVIDENCE_ROWS)
        .map(|i| EvidenceRow {
            record: case[i].clone().unwrap_or_default(),
            order: inp.m.f(
                "evidence.order_line",
                &[
                    ("order", &order[i].clone().unwrap_or_default()),
                    ("line", &line[i].map_or("?".into(), |l| l.to_string())),
                    ("sku", &sku[i].clone().unwrap_or_default()),
                ],
            ),
            when: opened[i].clone(),
            detail: inp.m.f(
                "evidence.flag_detail",
                &[
                    (
                        "case_type",
                        &name(inp.m, "case_type", case_type[i].as_deref().unwrap_or_default()),
                    ),
                    (
                        "reason",
                        &name(inp.m, "reason", reason[i].as_deref().unwrap_or_default()),
                    ),
                    ("days", &format!("{:.1}", days[i].unwrap_or(f64::NAN))),
                    (
                        "carrier",
                        &if carrier[i] == Some(true) {
                            inp.m.t("evidence.carrier_left_out")
                        } else {
                            String::new()
                        },
                    ),
                ],
            ),
        })
        .collect();
    Ok(Evidence {
        rows: shown,
        total: rows.height(),
        noun: inp.m.t("evidence.flag_noun"),
        source: format!(
            "tables/flag_evidence.parquet: level = {}, key = {}, period = {}",
            f.level, f.key, f.week
        ),
    })
}

/// The first records behind a near miss's failed criterion.
fn badge_evidence_of(inp: &Inputs<'_>, t: &Table, quarter: &str, b: &BadgeRow) -> Result<Evidence> {
    match b.failed.first() {
        Some(criterion) => criterion_evidence(inp, t, quarter, &b.merchant_id, criterion),
        None => Ok(Evidence::default()),
    }
}

/// The first records behind one failed criterion of a merchant's quarter (badge_evidence.parquet).
pub(super) fn criterion_evidence(
    inp: &Inputs<'_>,
    t: &Table,
    quarter: &str,
    merchant_id: &str,
    criterion: &str,
) -> Result<Evidence> {
    let criterion = criterion.to_string();
    let rows = t.rows(&[
        ("quarter", quarter),
        ("merchant_id", merchant_id),
        ("criterion", &criterion),
    ])?;
    let m = inp.m;
    let (record, order, value, unit) = (
        rows.strs("record_id")?,
        rows.strs("order_id")?,
        rows.f64s("value")?,
        rows.strs("unit")?,
    );
    let (at, stop, deadline) = (
        local_times(&rows, "at", inp.tz)?,
        local_times(&rows, "stop", inp.tz)?,
        local_times(&rows, "deadline", inp.tz)?,
    );
    // An escalated case's outcome, as badge_evidence's detail holds it ("escalated; outcome X").
    let outcome = rows.strs("detail")?;
    let shown = (0..rows.height())
        .take(EVIDENCE_ROWS)
        .map(|i| {
            let v = value[i].unwrap_or(f64::NAN);
            let d = match criterion.as_str() {
                "dispute_rate" | "dispute_loss_rate" => {
                    let o = outcome[i].as_deref().unwrap_or_default();
                    let o = o.strip_prefix("escalated; outcome ").unwrap_or(o);
                    m.f(
                        "evidence.escalated",
                        &[("at", &stop[i]), ("outcome", &name(m, "outcome", o))],
                    )
                }
                "satisfaction" => m.f("evidence.rated", &[("n", &v)]),
                "no_high_spike" => m.f("evidence.flag_z", &[("z", &format!("{v:.1}"))]),
                _ if stop[i].is_empty() => m.f("evidence.not_stopped", &[("deadline", &deadline[i])]),
                _ => m.f(
                    "evidence.stopped_late",
                    &[
                        ("stop", &stop[i]),
                        ("deadline", &deadline[i]),
                        ("elapsed", &format!("{v:.1}")),
                        ("unit", &name(m, "unit", unit[i].as_deref().unwrap_or_default())),
                    ],
                ),
            };
            EvidenceRow {
                record: record[i].clone().unwrap_or_default(),
                order: order[i].clone().unwrap_or_default(),
                when: at[i].clone(),
                detail: d,
            }
        })
        .collect();
    Ok(Evidence {
        rows: shown,
        total: rows.height(),
        noun: inp.m.t("evidence.badge_noun"),
        source: format!(
            "tables/badge_evidence.parquet: quarter = {quarter}, merchant_id = {merchant_id}, criterion = {criterion}"
        ),
    })
}

fn monthly_rates(m: &crate::i18n::Messages, rates: &Table) -> Result<MonthlyRates> {
    let months_t = rates.rows(&[("period_kind", "month")])?;
    let (period, level, key) = (months_t.strs("period")?, months_t.strs("level")?, months_t.strs("key")?);
    let (rate, units, mature) = (
        months_t.f64s("return_rate")?,
        months_t.i64s("units_sold")?,
        months_t.bools("mature")?,
    );
    let months: BTreeSet<String> = period.iter().flatten().cloned().collect();
    let months: Vec<String> = months.into_iter().collect();
    let idx: HashMap<&str, usize> = months.iter().enumerate().map(|(i, m)| (m.as_str(), i)).collect();
    let mut mature_by_month = vec![true; months.len()];
    let mut platform = vec![None; months.len()];
    // category → (units sold over all months, rate per month)
    type Cat = (i64, Vec<Option<f64>>);
    let mut cats: BTreeMap<String, Cat> = BTreeMap::new();
    for i in 0..months_t.height() {
        let (Some(p), Some(l), Some(k)) = (&period[i], &level[i], &key[i]) else {
            continue;
        };
        let m = idx[p.as_str()];
        match l.as_str() {
            "platform" => {
                platform[m] = rate[i];
                mature_by_month[m] = mature[i].unwrap_or(true);
            }
            "category" => {
                let e = cats.entry(k.clone()).or_insert_with(|| (0, vec![None; months.len()]));
                e.0 += units[i].unwrap_or(0);
                e.1[m] = rate[i];
            }
            _ => {}
        }
    }
    let mut top: Vec<(String, Cat)> = cats.into_iter().collect();
    top.sort_by(|a, b| b.1.0.cmp(&a.1.0).then_with(|| a.0.cmp(&b.0)));
    let mut series = vec![RateSeries {
        name: name(m, "level", "platform"),
        rates: platform,
    }];
    series.extend(
        top.into_iter()
            .take(TOP_CATEGORIES)
            .map(|(name, (_, rates))| RateSeries { name, rates }),
    );
    Ok(MonthlyRates {
        months,
        mature: mature_by_month,
        series,
    })
}

fn reason_pareto(reasons: &Table, quarter: &str) -> Result<ReasonPareto> {
    let q = reasons.rows(&[("period_kind", "quarter"), ("period", quarter), ("level", "platform")])?;
    let (code, resp, cases) = (q.strs("reason_code")?, q.strs("responsibility")?, q.i64s("cases")?);
    Ok(ReasonPareto {
        quarter: quarter.to_string(),
        reasons: (0..q.height())
            .map(|i| {
                (
                    code[i].clone().unwrap_or_default(),
                    resp[i].clone().unwrap_or_default(),
                    cases[i].unwrap_or(0),
                )
            })
            .collect(),
    })
}

fn target_text(m: &crate::i18n::Messages, target: Option<f64>, unit: Option<&str>) -> String {
    match (target, unit) {
        (Some(t), Some(u)) => format!("{t} {}", name(m, "unit", u)),
        _ => String::new(),
    }
}

fn compliance_by_rule(m: &crate::i18n::Messages, compliance: &Table, quarter: &str) -> Result<ComplianceByRule> {
    let q = compliance.rows(&[("period_kind", "quarter"), ("period", quarter), ("level", "platform")])?;
    let (rule, target, unit) = (q.strs("rule")?, q.f64s("target")?, q.strs("target_unit")?);
    let (evaluated, value) = (q.i64s("evaluated")?, q.f64s("compliance")?);
    Ok(ComplianceByRule {
        quarter: quarter.to_string(),
        rules: (0..q.height())
            .map(|i| RuleCompliance {
                rule: rule[i].clone().unwrap_or_default(),
                target: target_text(m, target[i], unit[i].as_deref()),
                evaluated: evaluated[i].unwrap_or(0),
                compliance: value[i],
            })
            .collect(),
    })
}

fn heatmap(inp: &Inputs<'_>, compliance: &Table, quarter: &str) -> Result<SlaHeatmap> {
    let q = compliance.rows(&[("period_kind", "quarter"), ("period", quarter), ("level", "merchant")])?;
    let (merchant, rule) = (q.strs("merchant_id")?, q.strs("rule")?);
    let (evaluated, value) = (q.i64s("evaluated")?, q.f64s("compliance")?);
    // Rules in the order the platform rows list them (the config's order).
    let platform = compliance.rows(&[("period_kind", "quarter"), ("period", quarter), ("level", "platform")])?;
    let rules: Vec<String> = platform.strs("rule")?.into_iter().flatten().collect();
    // merchant → (evaluated clocks over all rules, compliance by rule)
    let mut by_merchant: BTreeMap<String, (i64, HashMap<String, f64>)> = BTreeMap::new();
    for i in 0..q.height() {
        let (Some(m), Some(r)) = (&merchant[i], &rule[i]) else {
            continue;
        };
        let e = by_merchant.entry(m.clone()).or_default();
        e.0 += evaluated[i].unwrap_or(0);
        if let Some(v) = value[i] {
            e.1.insert(r.clone(), v);
        }
    }
    // Ranked by the mean of the merchant's rule compliances: each rule counts once, however many clocks it has.
    let mut ranked: Vec<(f64, String, HashMap<String, f64>)> = by_merchant
        .into_iter()
        .filter(|(_, (ev, vals))| *ev >= HEATMAP_MIN_EVALUATED && !vals.is_empty())
        .map(|(m, (_, vals))| (vals.values().sum::<f64>() / vals.len() as f64, m, vals))
        .collect();
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let count = ranked.len();
    let rows = ranked
        .into_iter()
        .take(HEATMAP_ROWS)
        .map(|(_, m, vals)| HeatRow {
            merchant: inp.merchant_names.get(&m).cloned().unwrap_or_else(|| m.clone()),
            compliance: rules.iter().map(|r| vals.get(r).copied()).collect(),
        })
        .collect();
    Ok(SlaHeatmap {
        quarter: quarter.to_string(),
        rules,
        rows,
        ranked: count,
    })
}

fn carrier_rows(q: &Table) -> Result<Vec<CarrierRow>> {
    let carrier = q.strs("carrier")?;
    let (shipments, damaged, lost) = (q.i64s("shipments")?, q.i64s("damaged")?, q.i64s("lost")?);
    let (dr, dl, dh) = (
        q.f64s("damage_rate")?,
        q.f64s("damage_ci_low")?,
        q.f64s("damage_ci_high")?,
    );
    let (lr, net, claim) = (
        q.f64s("loss_rate")?,
        q.f64s("network_damage_rate")?,
        q.strs("claim_cost")?,
    );
    // In the table's row order, so the rows zip with its other columns.
    let rows: Vec<CarrierRow> = (0..q.height())
        .map(|i| CarrierRow {
            carrier: carrier[i].clone().unwrap_or_default(),
            shipments: shipments[i].unwrap_or(0),
            damaged: damaged[i].unwrap_or(0),
            damage_rate: dr[i].unwrap_or(f64::NAN),
            damage_ci: (dl[i].unwrap_or(f64::NAN), dh[i].unwrap_or(f64::NAN)),
            network_damage_rate: net[i].unwrap_or(f64::NAN),
            lost: lost[i].unwrap_or(0),
            loss_rate: lr[i].unwrap_or(f64::NAN),
            claim_cost: claim[i].clone().unwrap_or_else(|| "0".into()),
        })
        .collect();
    Ok(rows)
}

fn carrier_chart(q: &Table, rows: &[CarrierRow], quarter: &str) -> Result<CarrierRates> {
    let (ll, lh) = (q.f64s("loss_ci_low")?, q.f64s("loss_ci_high")?);
    let worse = q.bools("worse_than_network")?;
    let mut carriers: Vec<CarrierRate> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.shipments > 0)
        .map(|(i, r)| CarrierRate {
            carrier: r.carrier.clone(),
            shipments: r.shipments,
            damage: (r.damage_rate, r.damage_ci.0, r.damage_ci.1),
            loss: (r.loss_rate, ll[i].unwrap_or(f64::NAN), lh[i].unwrap_or(f64::NAN)),
            worse_than_network: worse[i].unwrap_or(false),
        })
        .collect();
    carriers.sort_by(|a, b| b.shipments.cmp(&a.shipments).then_with(|| a.carrier.cmp(&b.carrier)));
    let shipments: i64 = rows.iter().map(|r| r.shipments).sum();
    let lost: i64 = rows.iter().map(|r| r.lost).sum();
    Ok(CarrierRates {
        quarter: quarter.to_string(),
        network_damage: rows.iter().map(|r| r.network_damage_rate).find(|v| v.is_finite()),
        // The table has no network loss column: all carriers' lost legs over all legs, the same rows summed.
        network_loss: (shipments > 0).then(|| lost as f64 / shipments as f64),
        carriers,
    })
}

fn funnel(inp: &Inputs<'_>, rates: &Table, flags: &[FlagRow], quarter: &str) -> Result<MerchantFunnel> {
    let platform = rates.rows(&[("period_kind", "quarter"), ("period", quarter), ("level", "platform")])?;
    let m = rates.rows(&[("period_kind", "quarter"), ("period", quarter), ("level", "merchant")])?;
    let (key, units, rate) = (m.strs("key")?, m.i64s("units_sold")?, m.f64s("return_rate")?);
    // Flags arrive strongest first: the first MAX_LABELS distinct merchants are the ones named.
    let mut flagged: Vec<&str> = Vec::new();
    for f in flags.iter().filter(|f| f.level == "merchant") {
        if !flagged.contains(&f.key.as_str()) {
            flagged.push(f.key.as_str());
        }
    }
    let labelled: BTreeSet<&str> = flagged
        .iter()
        .take(crate::charts::funnel::MAX_LABELS)
        .copied()
        .collect();
    let points = (0..m.height())
        .filter_map(|i| {
            let (k, n, r) = (key[i].as_ref()?, units[i]?, rate[i]?);
            (n > 0 && k != ALL).then(|| FunnelPoint {
                merchant: inp.merchant_names.get(k).cloned().unwrap_or_else(|| k.clone()),
                units_sold: n,
                return_rate: r,
                flagged: flagged.contains(&k.as_str()),
                labelled: labelled.contains(k.as_str()),
            })
        })
        .collect();
    Ok(MerchantFunnel {
        quarter: quarter.to_string(),
        platform_rate: platform.one_f64("return_rate")?,
        points,
    })
}

fn spike_charts(inp: &Inputs<'_>, evaluation: &Table, flags: &[FlagRow], quarter: &str) -> Result<SpikeCharts> {
    let mut entities: Vec<(String, String, f64)> = Vec::new();
    for f in flags {
        match entities.iter_mut().find(|e| e.0 == f.level && e.1 == f.key) {
            Some(e) => e.2 = e.2.max(f.z),
            None => entities.push((f.level.clone(), f.key.clone(), f.z)),
        }
    }
    entities.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| a.1.cmp(&b.1)));
    let qstart = quarter_start(quarter);
    let mut series = Vec::new();
    // Only the panels the chart draws are read from the evaluation table; the report's table lists every flag.
    for (level, key, _) in entities.iter().take(crate::charts::spikes::MAX_PANELS) {
        let (level, key) = (level.as_str(), key.as_str());
        let e = evaluation.rows(&[("level", level), ("key", key)])?;
        let (week, start) = (e.strs("period")?, e.strs("week_start")?);
        let (rate, p0, flagged) = (e.f64s("rate")?, e.f64s("p0")?, e.bools("flagged")?);
        let mut weeks: Vec<(String, SpikeWeek)> = (0..e.height())
            .filter_map(|i| {
                let s = start[i].clone()?;
                let in_window = days_between(&qstart, &s).is_some_and(|d| d >= -7 * SPIKE_WEEKS_BEFORE)
                    && quarter_of_date(&s).is_some_and(|q| q.as_str() <= quarter);
                in_window.then(|| {
                    (
                        s,
                        SpikeWeek {
                            week: week[i].clone().unwrap_or_default(),
                            rate: rate[i],
                            p0: p0[i],
                            flagged: flagged[i].unwrap_or(false),
                        },
                    )
                })
            })
            .collect();
        weeks.sort_by(|a, b| a.0.cmp(&b.0));
        series.push(SpikeSeries {
            label: format!("{} {}", name(inp.m, "level", level), inp.entity_label(level, key)),
            weeks: weeks.into_iter().map(|(_, w)| w).collect(),
        });
    }
    Ok(SpikeCharts {
        quarter: quarter.to_string(),
        flagged_entities: entities.len(),
        series,
    })
}

/// `2026Q3` → `2026-07-01`.
fn quarter_start(q: &str) -> String {
    let n: u32 = q.get(5..).and_then(|n| n.parse().ok()).unwrap_or(1).clamp(1, 4);
    format!("{}-{:02}-01", q.get(..4).unwrap_or("0000"), (n - 1) * 3 + 1)
}

fn days_between(from: &str, to: &str) -> Option<i64> {
    let a = chrono::NaiveDate::parse_from_str(from, "%Y-%m-%d").ok()?;
    let b = chrono::NaiveDate::parse_from_str(to, "%Y-%m-%d").ok()?;
    Some((b - a).num_days())
}

fn badge_rows(inp: &Inputs<'_>, q: &Table) -> Result<Vec<BadgeRow>> {
    let m = inp.m;
    let (id, merchant_name) = (q.strs("merchant_id")?, q.strs("merchant_name")?);
    let (units, cases) = (q.i64s("units_sold")?, q.i64s("counted_cases")?);
    let failed = q.lists("failed_criteria")?;
    let mut values: Vec<Vec<(String, String)>> = vec![Vec::new(); q.height()];
    for c in CRITERIA {
        let col = format!("{c}_value");
        let v: Vec<Option<String>> = q
            .f64s(&col)?
            .into_iter()
            .map(|x| {
                x.map(|x| match c {
                    "satisfaction" => format!("{x:.2}"),
                    // The value is the quarter's count of high flags.
                    "no_high_spike" => m.f("badges.high_flags", &[("n", &format!("{x:.0}"))]),
                    _ => crate::charts::pct(x, 1),
                })
            })
            .collect();
        for (i, x) in v.into_iter().enumerate() {
            if let Some(x) = x {
                values[i].push((name(m, "criterion", c), x));
            }
        }
    }
    let mut rows = Vec::new();
    for i in 0..q.height() {
        rows.push(BadgeRow {
            merchant_id: id[i].clone().unwrap_or_default(),
            merchant_name: merchant_name[i].clone().unwrap_or_default(),
            units_sold: units[i].unwrap_or(0),
            counted_cases: cases[i].unwrap_or(0),
            values: std::mem::take(&mut values[i]),
            failed_labels: failed[i].iter().map(|c| name(m, "criterion", c)).collect(),
            gaps: failed[i]
                .iter()
                .map(|c| gap_sentence(inp, q, i, c))
                .collect::<Result<_>>()?,
            failed: failed[i].clone(),
            evidence: Evidence::default(),
        });
    }
    Ok(rows)
}

fn badge_chart(q: &Table, rows: &[BadgeRow], statuses: &[Option<String>], quarter: &str) -> Result<BadgeResults> {
    let eligible: Vec<bool> = statuses
        .iter()
        .map(|s| s.as_deref().is_some_and(|s| s != "insufficient_volume"))
        .collect();
    let mut criteria = Vec::new();
    for c in CRITERIA {
        let pass = q.bools(&format!("{c}_pass"))?;
        let (mut judged, mut passed, mut sole) = (0, 0, 0);
        for i in 0..rows.len() {
            if !eligible[i] {
                continue;
            }
            if let Some(p) = pass[i] {
                judged += 1;
                passed += p as i64;
            }
            if statuses[i].as_deref() == Some("not_awarded") && rows[i].failed.len() == 1 && rows[i].failed[0] == c {
                sole += 1;
            }
        }
        criteria.push(CriterionResult {
            criterion: c.to_string(),
            judged,
            passed,
            sole_miss: sole,
        });
    }
    Ok(BadgeResults {
        quarter: quarter.to_string(),
        eligible: eligible.iter().filter(|e| **e).count() as i64,
        gold: statuses.iter().filter(|s| s.as_deref() == Some("gold")).count() as i64,
        criteria,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previous_quarter_crosses_the_year() {
        assert_eq!(previous_quarter("2026Q1"), "2025Q4");
        assert_eq!(previous_quarter("2026Q4"), "2026Q3");
    }

    #[test]
    fn a_week_belongs_to_the_quarter_of_its_monday() {
        assert_eq!(quarter_of_date("2026-09-28").as_deref(), Some("2026Q3"));
        assert_eq!(quarter_of_date("2026-10-05").as_deref(), Some("2026Q4"));
        assert_eq!(quarter_start("2026Q3"), "2026-07-01");
        assert_eq!(days_between("2026-07-01", "2026-06-24"), Some(-7));
    }
}
