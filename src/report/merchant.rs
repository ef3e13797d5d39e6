//! One page per merchant, `merchants/<id>.html`: the merchant's quarter as a programme manager forwards it — its
//! rates beside the platform's, SLA compliance by rule beside the platform's, its flags (and its SKUs') with the
//! returns behind them, and each badge criterion with its value, threshold, verdict, gap and the records behind a
//! failure. Same language, same self-contained page and embedded glyphs as report.html; every figure is read from
//! the output tables. `run` writes the pages `merchant_pages` chooses ([`notable`] by default) and
//! merchants/index.json; `aftersales page` renders any other from the finished run, the same bytes.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::Result;
use askama::Template;
use sha2::{Digest, Sha256};

use super::facts::{EpisodeRow, Evidence, FlagRow, Inputs, criterion_evidence, gap_sentence, name, risk_reasons};
use super::frame::Table;
use crate::charts::pct;
use crate::i18n::Messages;
use crate::metrics::merchants::CRITERIA;

/// A merchant's figure beside the platform's.
pub struct Compared {
    pub label: String,
    pub merchant: String,
    pub platform: String,
}

pub struct Criterion {
    pub label: String,
    pub value: String,
    pub threshold: String,
    /// ✓, ✗ or — (not judged).
    pub verdict: &'static str,
    pub gap: String,
    pub evidence: Evidence,
}

#[derive(Template)]
#[template(path = "merchant.html")]
struct Page<'a> {
    m: &'static Messages,
    lang: &'static str,
    title: String,
    quarter: &'a str,
    as_of: String,
    provisional: Option<String>,
    rates: Vec<Compared>,
    sla: Vec<Compared>,
    flags: Vec<&'a FlagRow>,
    episodes: Vec<&'a EpisodeRow>,
    /// The dispute test in words: disputes of cases against the platform's rate, p and q.
    dispute_test: String,
    risk_level: String,
    risk_reasons: Vec<String>,
    status: String,
    criteria: Vec<Criterion>,
}

impl Page<'_> {
    fn t(&self, key: &str) -> String {
        self.m.t(key)
    }

    fn tq(&self, key: &str) -> String {
        self.m.f(key, &[("quarter", &self.quarter)])
    }

    fn provisional(&self, why: &str) -> String {
        super::html::provisional_markup(self.m, why)
    }

    fn evidence_note(&self, e: &Evidence) -> String {
        e.note(self.m)
    }

    fn pct1(&self, v: &f64) -> String {
        pct(*v, 1)
    }
}

/// `merchants/<file>` for each of the quarter's merchant ids. A page's name is its id when the id is made of
/// letters, digits, `-` and `_` and no other id differs from it only in case (a Windows or macOS disk would hold
/// one file for both); otherwise the id with anything else replaced by `_`, then `-` and 8 hex digits of the id's
/// SHA-256 — so an id can never leave the folder and two ids never share a file (`SHOP-X.1` and `SHOP-X_1`).
pub fn file_names<'a>(ids: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, String> {
    let ids: BTreeSet<&str> = ids.into_iter().collect();
    let mut by_lower: HashMap<String, usize> = HashMap::new();
    for id in &ids {
        *by_lower.entry(id.to_lowercase()).or_default() += 1;
    }
    ids.iter()
        .map(|id| {
            let safe: String = id
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let unique = safe == *id && by_lower[&id.to_lowercase()] == 1 && !id.is_empty();
            let file = if unique {
                format!("{id}.html")
            } else {
                let digest: String = Sha256::digest(id.as_bytes())
                    .iter()
                    .take(4)
                    .map(|b| format!("{b:02x}"))
                    .collect();
                format!("{safe}-{digest}.html")
            };
            (id.to_string(), file)
        })
        .collect()
}

/// Why each merchant is worth a page in the quarter (`merchant_pages = "notable"`): the merchants with
/// something to act on — an episode or a flag (their own or one of their SKUs'), risk watch or high, gold (so far),
/// or eligible and missed by exactly one criterion. Merchants with nothing to act on are absent.
pub fn notable(
    inp: &Inputs<'_>,
    flags: &[FlagRow],
    episodes: &[EpisodeRow],
    quarter: &str,
) -> Result<BTreeMap<String, BTreeSet<&'static str>>> {
    let mut why: BTreeMap<String, BTreeSet<&'static str>> = BTreeMap::new();
    for f in flags {
        let owner = match f.level.as_str() {
            "merchant" => Some(f.key.clone()),
            _ => inp.sku_merchant.get(&f.key).cloned(),
        };
        if let Some(id) = owner {
            why.entry(id).or_default().insert("flag");
        }
    }
    for e in episodes.iter().filter(|e| !e.merchant_id.is_empty()) {
        why.entry(e.merchant_id.clone()).or_default().insert("episode");
    }
    let risk = Table::find(inp.tables, "merchant_risk")?.rows(&[("quarter", quarter)])?;
    for (id, level) in risk.strs("merchant_id")?.into_iter().zip(risk.strs("risk_level")?) {
        if let (Some(id), Some(level @ ("watch" | "high"))) = (id, level.as_deref()) {
            why.entry(id)
                .or_default()
                .insert(if level == "high" { "risk_high" } else { "risk_watch" });
        }
    }
    let badges = Table::find(inp.tables, "badges")?.rows(&[("quarter", quarter)])?;
    let (ids, status, failed) = (
        badges.strs("merchant_id")?,
        badges.strs("status_so_far")?,
        badges.lists("failed_criteria")?,
    );
    for i in 0..badges.height() {
        let Some(id) = ids[i].clone() else { continue };
        match status[i].as_deref() {
            Some("gold") => {
                why.entry(id).or_default().insert("gold");
            }
            Some("not_awarded") if failed[i].len() == 1 => {
                why.entry(id).or_default().insert("one_criterion_short");
            }
            _ => {}
        }
    }
    Ok(why)
}

/// (merchant id, page) for every merchant with a badges row in the quarter that `chosen` accepts, in id order.
#[allow(clippy::too_many_arguments)]
pub fn pages(
    inp: &Inputs<'_>,
    lang: &'static str,
    flags: &[FlagRow],
    episodes: &[EpisodeRow],
    quarter: &str,
    as_of: &str,
    provisional: Option<&str>,
    chosen: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Vec<(String, String)>> {
    let m = inp.m;
    let t = |n: &'static str| Table::find(inp.tables, n);
    let (badges, rates, risk, compliance, evidence) = (
        t("badges")?,
        t("return_rates")?,
        t("merchant_risk")?,
        t("sla_compliance")?,
        t("badge_evidence")?,
    );
    let q_badges = badges.rows(&[("quarter", quarter)])?;
    let ids: Vec<Option<String>> = q_badges
        .strs("merchant_id")?
        .into_iter()
        .map(|id| id.filter(|id| chosen(id)))
        .collect();
    let statuses = q_badges.strs("status_so_far")?;
    // The quarter's rows of each table, cut once: a page then filters a few thousand rows, not the whole table
    // (return_rates has a row per sku and period).
    let rates = rates.rows(&[("period_kind", "quarter"), ("period", quarter)])?;
    let (risk, evidence) = (
        risk.rows(&[("quarter", quarter)])?,
        evidence.rows(&[("quarter", quarter)])?,
    );
    let compliance = compliance.rows(&[("period_kind", "quarter"), ("period", quarter)])?;
    let merchant_rates = rates.rows(&[("level", "merchant")])?;
    let rate_row = |key: &str| merchant_rates.rows(&[("key", key)]);
    let platform = rates.rows(&[("level", "platform")])?;
    let sla_rows = |level: &str, id: &str| compliance.rows(&[("level", level), ("merchant_id", id)]);
    let platform_sla = sla_rows("platform", crate::metrics::ALL)?;
    let (p_rules, p_compliance) = (platform_sla.strs("rule")?, platform_sla.f64s("compliance")?);
    let show = |v: Option<f64>| v.map_or("—".to_string(), |v| pct(v, 2));
    let page_of = |i: usize| -> Result<Option<(String, String)>> {
        let Some(id) = ids[i].as_deref() else {
            return Ok(None);
        };
        let own = rate_row(id)?;
        let mut compared: Vec<Compared> = ["return_rate", "after_sales_rate", "refund_value_rate"]
            .iter()
            .map(|c| -> Result<Compared> {
                Ok(Compared {
                    label: m.t(&format!("headline.{c}")),
                    merchant: show(own.one_f64(c)?),
                    platform: show(platform.one_f64(c)?),
                })
            })
            .collect::<Result<_>>()?;
        let r = risk.rows(&[("quarter", quarter), ("merchant_id", id)])?;
        compared.push(Compared {
            label: m.t("criterion.dispute_rate"),
            merchant: show(r.one_f64("dispute_rate")?),
            platform: show(r.one_f64("platform_dispute_rate")?),
        });
        let own_sla = sla_rows("merchant", id)?;
        let (rules, own_compliance, evaluated) = (
            own_sla.strs("rule")?,
            own_sla.f64s("compliance")?,
            own_sla.i64s("evaluated")?,
        );
        let sla = rules
            .iter()
            .enumerate()
            .map(|(j, rule)| {
                let rule = rule.clone().unwrap_or_default();
                let p = p_rules.iter().position(|r| r.as_deref() == Some(rule.as_str()));
                Compared {
                    label: format!("{} (n = {})", name(m, "rule", &rule), evaluated[j].unwrap_or(0)),
                    merchant: show(own_compliance[j]),
                    platform: show(p.and_then(|p| p_compliance[p])),
                }
            })
            .collect();
        let mine: Vec<&FlagRow> = flags
            .iter()
            .filter(|f| {
                (f.level == "merchant" && f.key == id)
                    || (f.level == "sku" && inp.sku_merchant.get(&f.key).map(String::as_str) == Some(id))
            })
            .collect();
        let my_episodes: Vec<&EpisodeRow> = episodes.iter().filter(|e| e.merchant_id == id).collect();
        let dispute_test = if r.height() > 0 {
            let (d, n) = (
                r.i64s("disputes")?[0].unwrap_or(0),
                r.i64s("counted_cases")?[0].unwrap_or(0),
            );
            match (
                r.f64s("dispute_p_value")?[0],
                r.f64s("dispute_q_value")?[0],
                r.f64s("platform_dispute_rate")?[0],
            ) {
                (Some(p), Some(q), Some(pr)) => m.f(
                    "merchant.dispute_test",
                    &[
                        ("disputes", &d),
                        ("cases", &n),
                        ("platform", &pct(pr, 2)),
                        ("expected", &format!("{:.1}", pr * n as f64)),
                        ("p", &crate::metrics::stats::sci(p)),
                        ("q", &crate::metrics::stats::sci(q)),
                        (
                            "verdict",
                            &m.t(if q <= inp.risk.dispute_q_watch && d as f64 > 2.0 * pr * n as f64 {
                                "merchant.dispute_significant"
                            } else {
                                "merchant.dispute_luck"
                            }),
                        ),
                    ],
                ),
                _ => String::new(),
            }
        } else {
            String::new()
        };
        let (risk_level, reasons) = if r.height() > 0 {
            let level = r.strs("risk_level")?[0].clone().unwrap_or_default();
            (name(m, "risk_level", &level), risk_reasons(inp, &r, 0, quarter)?)
        } else {
            (String::new(), Vec::new())
        };
        let row = q_badges.rows(&[("merchant_id", id)])?;
        let failed = row.lists("failed_criteria")?.first().cloned().unwrap_or_default();
        let mut criteria = Vec::new();
        for c in CRITERIA {
            let value = row.f64s(&format!("{c}_value"))?[0];
            let threshold = row.f64s(&format!("{c}_threshold"))?[0];
            let pass = row.bools(&format!("{c}_pass"))?[0];
            let is_failed = failed.iter().any(|f| f == c);
            criteria.push(Criterion {
                label: name(m, "criterion", c),
                value: match (c, value) {
                    (_, None) => "—".into(),
                    ("satisfaction", Some(v)) => format!("{v:.2}"),
                    ("no_high_spike", Some(v)) => format!("{v:.0}"),
                    (_, Some(v)) => pct(v, 1),
                },
                threshold: threshold.map_or(String::new(), |t| t.to_string()),
                verdict: match pass {
                    Some(true) => "✓",
                    Some(false) => "✗",
                    None => "—",
                },
                gap: if is_failed {
                    gap_sentence(inp, &row, 0, c)?
                } else {
                    String::new()
                },
                evidence: if is_failed {
                    criterion_evidence(inp, &evidence, quarter, id, c)?
                } else {
                    Evidence::default()
                },
            });
        }
        let label = inp
            .merchant_names
            .get(id)
            .map_or(id.to_string(), |n| format!("{id} {n}"));
        let page = Page {
            m,
            lang,
            title: m.f("merchant.title", &[("merchant", &label), ("quarter", &quarter)]),
            quarter,
            as_of: as_of.to_string(),
            provisional: provisional.map(str::to_string),
            rates: compared,
            sla,
            flags: mine,
            episodes: my_episodes,
            dispute_test,
            risk_level,
            risk_reasons: reasons,
            status: name(m, "badge_status", statuses[i].as_deref().unwrap_or_default()),
            criteria,
        };
        Ok(Some((id.to_string(), page.render()?)))
    };
    // Two threads, half the merchants each (a page is a few milliseconds, a run has hundreds to thousands).
    let half = ids.len() / 2;
    let (first, second) = std::thread::scope(|s| {
        let second = s.spawn(|| (half..ids.len()).map(page_of).collect::<Result<Vec<_>>>());
        let first = (0..half).map(page_of).collect::<Result<Vec<_>>>();
        (first, second.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
    });
    Ok(first?.into_iter().chain(second?).flatten().collect())
}
