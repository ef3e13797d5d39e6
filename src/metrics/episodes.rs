//! `flag_episodes` and `alerts.jsonl` (SPEC §4.4): the flagged weeks of one entity that follow each other, as the
//! one problem a risk team handles and a merchant is told about.
//!
//! Grain: one row per (level, key, first_week) — a run of flagged evaluation rows of one (level, key) with no
//! evaluated, unflagged week between them (a week the entity sold nothing has no evaluation row and does not end
//! an episode).
//!
//! Columns: alert_id (the first 16 hex digits of SHA-256 over `level`, `key` and `first_week`, separated by
//! U+001F: the same episode has the same id in every run, so a ticketing system keeps one ticket), level, key,
//! merchant_id, category, first_week, last_week (`2026-W36`), first_week_start, last_week_start (local Mondays),
//! weeks (flagged weeks), periods (their labels, the filter of flag_evidence), r_t and n_t summed, expected
//! (Σ n_t·p0: the returned lines the baselines expected), rate (r_t / n_t), peak_z and peak_week (the week of
//! the largest z), q_value (the smallest of its weeks'), severity (`high` when any week is high), status
//! (`ongoing` when its last week is the latest evaluated week of the run, else `resolved`), reason (an English
//! sentence; the report and the alerts say it in the configured language).

use anyhow::Result;
use polars::prelude::*;
use sha2::{Digest, Sha256};

use super::columns::{bools, f64s_or_nan, i64s, i64s_or_zero, strs};
use super::stats::{luck_odds, luck_words, sci};
use crate::config::RiskParams;
use crate::i18n::Messages;

/// One episode, as the table and the alerts carry it.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    pub alert_id: String,
    pub level: String,
    pub key: String,
    pub merchant_id: Option<String>,
    pub category: String,
    pub first_week: String,
    pub last_week: String,
    /// Local Mondays, days since 1970-01-01.
    pub first_week_start: i32,
    pub last_week_start: i32,
    pub periods: Vec<String>,
    pub r_t: i64,
    pub n_t: i64,
    pub expected: f64,
    pub peak_z: f64,
    pub peak_week: String,
    pub q_value: f64,
    pub high: bool,
    pub ongoing: bool,
}

impl Episode {
    pub fn severity(&self) -> &'static str {
        if self.high { "high" } else { "medium" }
    }

    pub fn status(&self) -> &'static str {
        if self.ongoing { "ongoing" } else { "resolved" }
    }

    pub fn weeks(&self) -> usize {
        self.periods.len()
    }

    pub fn rate(&self) -> f64 {
        self.r_t as f64 / self.n_t as f64
    }

    /// The English sentence of the table's `reason`.
    pub fn reason(&self, r: &RiskParams) -> String {
        let who = match (&self.level[..], &self.merchant_id) {
            ("sku", Some(m)) => format!("sku {} (merchant {m})", self.key),
            _ => format!("{} {}", self.level, self.key),
        };
        let span = if self.weeks() == 1 {
            format!("in {}", self.first_week)
        } else {
            format!("in {} weeks, {} to {}", self.weeks(), self.first_week, self.last_week)
        };
        format!(
            "{who}: return spike {span}, {}: {} of {} order lines returned within {} days ({:.1}%) where {:.1} were \
             expected ({:.1}%); peak z = {:.1} in {}; q = {}: {}",
            self.status(),
            self.r_t,
            self.n_t,
            r.age_days,
            self.rate() * 100.0,
            self.expected,
            self.expected / self.n_t as f64 * 100.0,
            self.peak_z,
            self.peak_week,
            sci(self.q_value),
            luck_words(self.q_value)
        )
    }

    /// The episode's sentence in a page's or an alert's language.
    pub fn sentence(&self, m: &Messages, age_days: i64, merchant_label: &str) -> String {
        let level = m
            .get(&format!("level.{}", self.level))
            .unwrap_or(&self.level)
            .to_string();
        let span = if self.weeks() == 1 {
            m.f("episode.span_one", &[("week", &self.first_week)])
        } else {
            m.f(
                "episode.span_many",
                &[
                    ("weeks", &self.weeks()),
                    ("first", &self.first_week),
                    ("last", &self.last_week),
                ],
            )
        };
        let merchant = if self.level == "sku" && !merchant_label.is_empty() {
            m.f("episode.of_merchant", &[("merchant", &merchant_label)])
        } else {
            String::new()
        };
        m.f(
            "episode.sentence",
            &[
                ("level", &level),
                ("key", &self.key),
                ("merchant", &merchant),
                ("span", &span),
                ("status", &m.t(&format!("status.{}", self.status()))),
                ("r", &self.r_t),
                ("n", &self.n_t),
                ("days", &age_days),
                ("rate", &format!("{:.1}", self.rate() * 100.0)),
                ("expected", &format!("{:.1}", self.expected)),
                (
                    "expected_rate",
                    &format!("{:.1}", self.expected / self.n_t as f64 * 100.0),
                ),
                ("z", &format!("{:.1}", self.peak_z)),
                ("peak_week", &self.peak_week),
                ("q", &sci(self.q_value)),
                ("luck", &luck_sentence(m, self.q_value)),
            ],
        )
    }

    /// What the merchant is asked to do (风险预警: 提示商家核查质量), in a page's or an alert's language.
    pub fn action(&self, m: &Messages) -> String {
        let key = if self.level == "sku" {
            "episode.action_sku"
        } else {
            "episode.action_merchant"
        };
        m.f(
            key,
            &[
                ("key", &self.key),
                ("first", &self.first_week),
                ("last", &self.last_week),
            ],
        )
    }
}

/// A q-value in plain words in a page's language ("fewer than 1 in 1,000 such flags is luck").
pub fn luck_sentence(m: &Messages, q: f64) -> String {
    match luck_odds(q) {
        Some(n) => m.f("episode.luck", &[("n", &m.t(&format!("episode.odds_{n}")))]),
        None => m.f("episode.luck_share", &[("pct", &format!("{:.0}", q * 100.0))]),
    }
}

/// The stable id of an episode: the same (level, key, first_week) gives the same id in every run.
pub fn alert_id(level: &str, key: &str, first_week: &str) -> String {
    let mut h = Sha256::new();
    h.update(level.as_bytes());
    h.update([0x1f]);
    h.update(key.as_bytes());
    h.update([0x1f]);
    h.update(first_week.as_bytes());
    h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The episodes of an evaluation (spike_evaluation, in its (level, key, week) order). Only the flagged rows are
/// read into Rust (a few hundred of a million); whether each begins an episode — the row before it, of the same
/// entity, is not flagged — is worked out on the columns.
pub fn episodes(eval: &DataFrame, owners: &DataFrame) -> Result<Vec<Episode>> {
    let same_entity = col("level")
        .eq(col("level").shift(lit(1)))
        .and(col("key").eq(col("key").shift(lit(1))))
        .fill_null(lit(false));
    let flagged = col("flagged").fill_null(lit(false));
    let rows = eval
        .clone()
        .lazy()
        .with_columns([
            col("week_start").max().cast(DataType::Int32).alias("_latest"),
            flagged
                .clone()
                .and(
                    same_entity
                        .and(flagged.clone().shift(lit(1)).fill_null(lit(false)))
                        .not(),
                )
                .alias("_starts"),
        ])
        .filter(flagged)
        .join(
            owners.clone().lazy(),
            [col("level"), col("key")],
            [col("level"), col("key")],
            super::prepare::in_order(JoinArgs::new(JoinType::Left)),
        )
        .select([
            col("level"),
            col("key"),
            col("merchant_id"),
            col("category"),
            col("period"),
            col("week_start").cast(DataType::Int32),
            col("n_t"),
            col("r_t"),
            col("p0"),
            col("z"),
            col("q_value"),
            col("severity"),
            col("_starts"),
            col("_latest"),
        ])
        .collect()?;
    let s = |c: &str| strs(&rows, c);
    let f = |c: &str| f64s_or_nan(&rows, c);
    let (level, key, merchant, category, period) =
        (s("level")?, s("key")?, s("merchant_id")?, s("category")?, s("period")?);
    let days: Vec<i32> = i64s(&rows, "week_start")?
        .into_iter()
        .map(|v| v.map_or(i32::MIN, |d| d as i32))
        .collect();
    let (n_t, r_t, p0, z, q) = (f("n_t")?, f("r_t")?, f("p0")?, f("z")?, f("q_value")?);
    let starts: Vec<bool> = bools(&rows, "_starts")?
        .into_iter()
        .map(|v| v.unwrap_or(true))
        .collect();
    let severity = s("severity")?;
    let latest = i64s(&rows, "_latest")?
        .first()
        .copied()
        .flatten()
        .map_or(i32::MIN, |d| d as i32);
    let mut out: Vec<Episode> = Vec::new();
    for i in 0..rows.height() {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        if starts[i] || out.is_empty() {
            out.push(Episode {
                alert_id: alert_id(&text(&level[i]), &text(&key[i]), &text(&period[i])),
                level: text(&level[i]),
                key: text(&key[i]),
                merchant_id: merchant[i].clone(),
                category: text(&category[i]),
                first_week: text(&period[i]),
                last_week: String::new(),
                first_week_start: days[i],
                last_week_start: days[i],
                periods: Vec::new(),
                r_t: 0,
                n_t: 0,
                expected: 0.0,
                peak_z: f64::NEG_INFINITY,
                peak_week: String::new(),
                q_value: 1.0,
                high: false,
                ongoing: false,
            });
        }
        let e = out.last_mut().expect("pushed above");
        e.last_week = text(&period[i]);
        e.last_week_start = days[i];
        e.periods.push(text(&period[i]));
        e.r_t += r_t[i] as i64;
        e.n_t += n_t[i] as i64;
        e.expected += n_t[i] * p0[i];
        if z[i] > e.peak_z {
            e.peak_z = z[i];
            e.peak_week = text(&period[i]);
        }
        e.q_value = e.q_value.min(q[i]);
        e.high |= severity[i].as_deref() == Some("high");
        e.ongoing = days[i] == latest;
    }
    Ok(out)
}

/// The flag_episodes table of an evaluation (spike_evaluation).
pub fn flag_episodes_of(eval: &DataFrame, owners: &DataFrame, r: &RiskParams) -> Result<DataFrame> {
    flag_episodes(&episodes(eval, owners)?, r)
}

/// The flag_episodes table (see the module docs).
pub fn flag_episodes(episodes: &[Episode], r: &RiskParams) -> Result<DataFrame> {
    let strs = |name: &str, f: &dyn Fn(&Episode) -> String| {
        StringChunked::from_iter_values(name.into(), episodes.iter().map(f)).into_column()
    };
    let date = |name: &str, f: &dyn Fn(&Episode) -> i32| -> Result<Column> {
        Ok(Int32Chunked::from_iter_values(name.into(), episodes.iter().map(f))
            .into_column()
            .cast(&DataType::Date)?)
    };
    let int = |name: &str, f: &dyn Fn(&Episode) -> i64| {
        Int64Chunked::from_iter_values(name.into(), episodes.iter().map(f)).into_column()
    };
    let float = |name: &str, f: &dyn Fn(&Episode) -> f64| {
        Float64Chunked::from_iter_values(name.into(), episodes.iter().map(f)).into_column()
    };
    let periods: Vec<Series> = episodes
        .iter()
        .map(|e| Series::new("".into(), e.periods.clone()))
        .collect();
    let periods = if episodes.is_empty() {
        Series::new_empty("periods".into(), &DataType::List(Box::new(DataType::String)))
    } else {
        Series::new("periods".into(), periods)
    };
    Ok(DataFrame::new_infer_height(vec![
        strs("alert_id", &|e| e.alert_id.clone()),
        strs("level", &|e| e.level.clone()),
        strs("key", &|e| e.key.clone()),
        StringChunked::from_iter_options("merchant_id".into(), episodes.iter().map(|e| e.merchant_id.as_deref()))
            .into_column(),
        strs("category", &|e| e.category.clone()),
        strs("first_week", &|e| e.first_week.clone()),
        strs("last_week", &|e| e.last_week.clone()),
        date("first_week_start", &|e| e.first_week_start)?,
        date("last_week_start", &|e| e.last_week_start)?,
        int("weeks", &|e| e.weeks() as i64),
        periods.into_column(),
        int("r_t", &|e| e.r_t),
        int("n_t", &|e| e.n_t),
        float("expected", &|e| e.expected),
        float("rate", &|e| e.rate()),
        float("peak_z", &|e| e.peak_z),
        strs("peak_week", &|e| e.peak_week.clone()),
        float("q_value", &|e| e.q_value),
        strs("severity", &|e| e.severity().to_string()),
        strs("status", &|e| e.status().to_string()),
        strs("reason", &|e| e.reason(r)),
    ])?)
}

/// The episodes again from a flag_episodes table (what the report and `page` read from a finished run).
pub fn from_table(t: &DataFrame) -> Result<Vec<Episode>> {
    let s = |c: &str| strs(t, c);
    let f = |c: &str| f64s_or_nan(t, c);
    let i = |c: &str| i64s_or_zero(t, c);
    let (id, level, key, merchant, category) = (
        s("alert_id")?,
        s("level")?,
        s("key")?,
        s("merchant_id")?,
        s("category")?,
    );
    let (first, last, peak_week, severity, status) = (
        s("first_week")?,
        s("last_week")?,
        s("peak_week")?,
        s("severity")?,
        s("status")?,
    );
    let (first_start, last_start, r_t, n_t) = (i("first_week_start")?, i("last_week_start")?, i("r_t")?, i("n_t")?);
    let (expected, peak_z, q) = (f("expected")?, f("peak_z")?, f("q_value")?);
    let periods = t.column("periods")?.list()?.clone();
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    (0..t.height())
        .map(|k| {
            let weeks: Vec<String> = match periods.get_as_series(k) {
                Some(s) => s.str()?.iter().map(|v| v.unwrap_or_default().to_string()).collect(),
                None => Vec::new(),
            };
            Ok(Episode {
                alert_id: text(&id[k]),
                level: text(&level[k]),
                key: text(&key[k]),
                merchant_id: merchant[k].clone(),
                category: text(&category[k]),
                first_week: text(&first[k]),
                last_week: text(&last[k]),
                first_week_start: first_start[k] as i32,
                last_week_start: last_start[k] as i32,
                periods: weeks,
                r_t: r_t[k],
                n_t: n_t[k],
                expected: expected[k],
                peak_z: peak_z[k],
                peak_week: text(&peak_week[k]),
                q_value: q[k],
                high: severity[k].as_deref() == Some("high"),
                ongoing: status[k].as_deref() == Some("ongoing"),
            })
        })
        .collect()
}

/// alerts.jsonl: one JSON object per ongoing episode, in the given language, with where its evidence is.
pub fn alerts_jsonl(
    episodes: &[Episode],
    merchant_name: &dyn Fn(&str) -> Option<String>,
    m: &Messages,
    language: &str,
    age_days: i64,
) -> Result<String> {
    let mut out = String::new();
    for e in episodes.iter().filter(|e| e.ongoing) {
        let name = e.merchant_id.as_deref().and_then(merchant_name);
        let label = match (&e.merchant_id, &name) {
            (Some(id), Some(n)) => format!("{id} {n}"),
            (Some(id), None) => id.clone(),
            _ => String::new(),
        };
        let v = serde_json::json!({
            "alert_id": e.alert_id,
            "level": e.level,
            "key": e.key,
            "merchant_id": e.merchant_id,
            "merchant_name": name,
            "category": e.category,
            "first_week": e.first_week,
            "last_week": e.last_week,
            "weeks": e.weeks(),
            "severity": e.severity(),
            "status": e.status(),
            "returned_lines": e.r_t,
            "order_lines": e.n_t,
            "expected_returns": (e.expected * 10.0).round() / 10.0,
            "peak_z": (e.peak_z * 100.0).round() / 100.0,
            "q_value": e.q_value,
            "language": language,
            "reason": e.sentence(m, age_days, &label),
            "action": e.action(m),
            "evidence": {
                "table": "tables/flag_evidence.parquet",
                "filter": {"level": e.level, "key": e.key, "period": e.periods},
            },
        });
        out.push_str(&serde_json::to_string(&v)?);
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(rows: &[(&str, &str, &str, i32, bool, &str)]) -> DataFrame {
        let n = rows.len();
        df![
            "level" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            "key" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            "category" => vec!["C"; n],
            "period" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            "week_start" => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            "n_t" => vec![100i64; n],
            "r_t" => vec![20i64; n],
            "p0" => vec![0.05; n],
            "z" => (0..n).map(|i| i as f64).collect::<Vec<_>>(),
            "q_value" => vec![0.0005; n],
            "flagged" => rows.iter().map(|r| r.4).collect::<Vec<_>>(),
            "severity" => rows.iter().map(|r| if r.4 { Some(r.5) } else { None }).collect::<Vec<_>>(),
        ]
        .unwrap()
    }

    /// M1: W10 flagged, W11 evaluated and not flagged, W12–W13 flagged: two episodes, the second ongoing (W13 is
    /// the latest evaluated week). M2: W10 flagged, no row in W11 (sold nothing), W12 flagged: one episode of two
    /// weeks, resolved (its last week is not the latest).
    #[test]
    fn an_episode_is_split_by_one_unflagged_week_but_not_by_a_week_without_sales() {
        let e = eval(&[
            ("merchant", "M1", "2026-W10", 10, true, "medium"),
            ("merchant", "M1", "2026-W11", 17, false, ""),
            ("merchant", "M1", "2026-W12", 24, true, "medium"),
            ("merchant", "M1", "2026-W13", 31, true, "high"),
            ("merchant", "M2", "2026-W10", 10, true, "medium"),
            ("merchant", "M2", "2026-W12", 24, true, "medium"),
        ]);
        let owners =
            df!["level" => ["merchant", "merchant"], "key" => ["M1", "M2"], "merchant_id" => ["M1", "M2"]].unwrap();
        let ep = episodes(&e, &owners).unwrap();
        let got: Vec<(&str, &str, &str, usize, &str, &str)> = ep
            .iter()
            .map(|e| {
                (
                    e.key.as_str(),
                    e.first_week.as_str(),
                    e.last_week.as_str(),
                    e.weeks(),
                    e.severity(),
                    e.status(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("M1", "2026-W10", "2026-W10", 1, "medium", "resolved"),
                ("M1", "2026-W12", "2026-W13", 2, "high", "ongoing"),
                ("M2", "2026-W10", "2026-W12", 2, "medium", "resolved"),
            ]
        );
        // Sums over the episode's weeks: 2 × 20 of 2 × 100, expected 2 × 100 × 0.05; the peak is the larger z.
        assert_eq!((ep[1].r_t, ep[1].n_t), (40, 200));
        assert!((ep[1].expected - 10.0).abs() < 1e-12);
        assert_eq!((ep[1].peak_z, ep[1].peak_week.as_str()), (3.0, "2026-W13"));
        // The table round-trips.
        let r = RiskParams::default();
        let t = flag_episodes(&ep, &r).unwrap();
        assert_eq!(from_table(&t).unwrap(), ep);
    }

    #[test]
    fn alert_id_depends_on_level_key_and_first_week_only() {
        let a = alert_id("sku", "M0006-S001", "2026-W30");
        assert_eq!(a.len(), 16);
        assert_eq!(a, alert_id("sku", "M0006-S001", "2026-W30"));
        assert_ne!(a, alert_id("sku", "M0006-S001", "2026-W31"));
        assert_ne!(a, alert_id("merchant", "M0006-S001", "2026-W30"));
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        assert_ne!(alert_id("sku", "ab", "c"), alert_id("sku", "a", "bc"));
    }
}
