//! Configuration: the TOML file as written (`Raw*`, serde, unknown keys refused) checked once into typed values
//! (`Config`). Every problem in a file is reported together, so a user fixes a config in one pass.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono_tz::Tz;
use serde::Deserialize;
use sha2::{Digest, Sha256};

pub mod calendars;
pub mod staging;

pub use calendars::{Calendar, RawCalendar, RawCalendarSpec};

use crate::tables::{ColumnKind, TableKind};
use crate::time::{self, Micros};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub timezone: Option<String>,
    pub as_of: Option<String>,
    /// Event timestamps before this are rejected as typos (SPEC §2); default 2000-01-01.
    pub earliest_plausible: Option<String>,
    /// Event timestamps after this are rejected as typos; default 31 days after the inputs' 99.99th percentile.
    pub latest_plausible: Option<String>,
    pub max_reject_rate: Option<f64>,
    pub maturity_days: Option<i64>,
    /// The report's language: `zh-CN` (default) or `en`.
    pub language: Option<String>,
    /// Which merchants get a page under merchants/: `notable` (default), `all` or `none`.
    pub merchant_pages: Option<String>,
    #[serde(default)]
    pub calendar: RawCalendarSpec,
    #[serde(default)]
    pub tables: BTreeMap<String, RawTable>,
    /// Tables that staging sources look values up in (a catalogue giving each sku's category, say).
    #[serde(default)]
    pub lookups: BTreeMap<String, staging::RawLookup>,
    /// reason_code → responsible party (merchant, carrier, buyer, platform, other); unlisted reasons keep the
    /// spec's default.
    #[serde(default)]
    pub responsibility: BTreeMap<String, String>,
    #[serde(default)]
    pub sla: crate::sla_rules::RawSla,
    #[serde(default)]
    pub risk: RiskParams,
    #[serde(default)]
    pub badge: BadgeParams,
}

/// Return-spike detection (SPEC §4.4) and the merchant dispute test (§4.5); every field has the spec's default.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RiskParams {
    /// A: a line counts as returned when its return case was opened within this many days of ordering.
    pub age_days: i64,
    /// B: weeks of the entity's own history before the week under test.
    pub baseline_weeks: i64,
    /// Weeks after the first week of the data before any week is evaluated; None = B (the baseline window lies
    /// inside the data). Lower it for exports shorter than a few months.
    pub burn_in_weeks: Option<i64>,
    /// k: weight of the category prior, in order lines.
    pub prior_strength: f64,
    pub p0_floor: f64,
    /// A week is flagged when its Benjamini–Hochberg q-value is at most this (the share of flags allowed to be
    /// luck), with at least `min_returns` returned lines and a lift of at least `min_lift`.
    pub fdr: f64,
    /// Severity `high` when the q-value is at most this.
    pub q_high: f64,
    pub min_returns: i64,
    pub min_lift: f64,
    /// Merchant risk `high` on disputes: dispute rate over twice the platform's and dispute_q_value at most this.
    pub dispute_q_high: f64,
    /// Merchant risk `watch` on disputes: the same with dispute_q_value at most this.
    pub dispute_q_watch: f64,
    /// The rule before the calibrated test decided flags by z; a config that still sets these is told what
    /// replaced them instead of being read as if they mattered.
    pub z_flag: Option<f64>,
    pub z_high: Option<f64>,
}

impl RiskParams {
    /// Weeks from the first week of the data to the first week evaluated.
    pub fn burn_in(&self) -> i64 {
        self.burn_in_weeks.unwrap_or(self.baseline_weeks)
    }
}

impl Default for RiskParams {
    fn default() -> Self {
        RiskParams {
            age_days: 14,
            baseline_weeks: 8,
            burn_in_weeks: None,
            prior_strength: 500.0,
            p0_floor: 0.001,
            fdr: 0.05,
            q_high: 0.001,
            min_returns: 10,
            min_lift: 1.5,
            dispute_q_high: 0.01,
            dispute_q_watch: 0.05,
            z_flag: None,
            z_high: None,
        }
    }
}

/// Gold after-sales badge thresholds (SPEC §4.7).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BadgeParams {
    pub min_units_sold: i64,
    pub min_cases: i64,
    pub ack_on_time: f64,
    pub first_response_on_time: f64,
    pub refund_on_time: f64,
    pub dispute_rate: f64,
    /// Escalated (non-carrier) cases a merchant may have before the dispute rate can fail it.
    pub dispute_allowance: i64,
    pub dispute_loss_rate: f64,
    /// buyer_favoured (non-carrier) cases a merchant may have before the loss rate can fail it.
    pub dispute_loss_allowance: i64,
    pub satisfaction: f64,
    pub min_ratings: i64,
}

impl Default for BadgeParams {
    fn default() -> Self {
        BadgeParams {
            min_units_sold: 200,
            min_cases: 20,
            ack_on_time: 0.95,
            first_response_on_time: 0.95,
            refund_on_time: 0.98,
            dispute_rate: 0.02,
            dispute_allowance: 1,
            dispute_loss_rate: 0.005,
            dispute_loss_allowance: 0,
            satisfaction: 4.5,
            min_ratings: 10,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTable {
    /// A file or a folder of parts; relative paths are taken from the config file's folder.
    pub path: Option<String>,
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    /// false for exports that never quote (Amazon's tab-separated reports): a `"` is then ordinary text.
    pub quoting: Option<bool>,
    /// Export header → canonical column name.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Canonical enum column → (export label → canonical value).
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    /// Timestamp column → the unit of its integers ("s", "ms", "us"): epoch times, UTC.
    #[serde(default)]
    pub epoch: BTreeMap<String, String>,
    /// Exports as their back office writes them, each mapped to this table (`crate::staging`); instead of path,
    /// columns, values and epoch.
    #[serde(default)]
    pub sources: Vec<staging::RawSource>,
}

/// Who is responsible for a case, by its reason (SPEC §4.2).
pub const DEFAULT_RESPONSIBILITY: &[(&str, &str)] = &[
    ("quality_defect", "merchant"),
    ("not_as_described", "merchant"),
    ("wrong_item", "merchant"),
    ("missing_parts", "merchant"),
    ("damaged_in_transit", "carrier"),
    ("lost_in_transit", "carrier"),
    ("late_delivery", "carrier"),
    ("size_fit", "buyer"),
    ("changed_mind", "buyer"),
    ("other", "other"),
];
pub const PARTIES: &[&str] = &["merchant", "carrier", "buyer", "platform", "other"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    /// GBK and its superset GB18030 (one decoder reads both).
    Gbk,
    /// Western European spreadsheet exports (Amazon's reports downloaded from a European marketplace).
    Windows1252,
}

#[derive(Debug, Clone)]
pub struct TableConfig {
    pub path: Option<PathBuf>,
    pub encoding: Encoding,
    pub delimiter: u8,
    /// Whether `"` opens a quoted field (see `input::csv_lines`).
    pub quoting: bool,
    /// Export header → canonical column.
    pub renames: HashMap<String, String>,
    /// Canonical column → export label → canonical value.
    pub value_maps: HashMap<String, HashMap<String, String>>,
    /// Timestamp column → microseconds per unit of its integers (epoch times).
    pub epoch_units: HashMap<String, i64>,
    /// Staging sources; when any, they feed the table and the fields above are unused.
    pub sources: Vec<std::sync::Arc<staging::Source>>,
}

impl Default for TableConfig {
    fn default() -> Self {
        TableConfig {
            path: None,
            encoding: Encoding::Utf8,
            delimiter: b',',
            quoting: true,
            renames: HashMap::new(),
            value_maps: HashMap::new(),
            epoch_units: HashMap::new(),
            sources: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub timezone: Tz,
    pub as_of: Option<Micros>,
    pub earliest_plausible: Micros,
    /// None: found from the data (`input::plausible`).
    pub latest_plausible: Option<Micros>,
    pub max_reject_rate: f64,
    pub maturity_days: i64,
    pub language: crate::i18n::Lang,
    pub merchant_pages: MerchantPages,
    pub calendar: Calendar,
    pub tables: HashMap<TableKind, TableConfig>,
    /// reason_code → responsible party, for every reason code.
    pub responsibility: BTreeMap<String, String>,
    /// The SLA rules in force: the defaults as changed by the config.
    pub sla_rules: Vec<crate::sla_rules::SlaRule>,
    pub risk: RiskParams,
    pub badge: BadgeParams,
    /// Where the config came from (None: built-in defaults).
    pub source: Option<PathBuf>,
    /// sha256 of the config file's bytes, or of the empty string for the defaults.
    pub digest: String,
    /// The config file's bytes (empty for the defaults): the run keeps a copy beside its tables, from which
    /// `aftersales page` renders a page as the run would have.
    pub bytes: Vec<u8>,
}

/// Which merchants get a page under merchants/ (`merchant_pages`, `--merchant-pages`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MerchantPages {
    /// The merchants with something to act on in the report's quarter: an episode or a flag (their own or an
    /// SKU's), risk watch or high, gold, or eligible and missed by exactly one criterion.
    #[default]
    Notable,
    All,
    None,
}

impl MerchantPages {
    pub fn parse(s: &str) -> Result<MerchantPages, String> {
        match s.trim() {
            "notable" => Ok(MerchantPages::Notable),
            "all" => Ok(MerchantPages::All),
            "none" => Ok(MerchantPages::None),
            other => Err(format!(
                "merchant_pages '{other}': expected \"notable\" (the merchants with something to act on), \"all\" or \"none\""
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            MerchantPages::Notable => "notable",
            MerchantPages::All => "all",
            MerchantPages::None => "none",
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::from_raw(RawConfig::default(), None, b"").expect("defaults are valid")
    }
}

impl Config {
    pub fn table(&self, t: TableKind) -> TableConfig {
        self.tables.get(&t).cloned().unwrap_or_default()
    }

    pub fn load(path: &Path) -> Result<Config> {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read config file {}", path.display()))?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| anyhow::anyhow!("config file {} is not valid UTF-8", path.display()))?;
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| anyhow::anyhow!("config file {} is not valid: {e}", path.display()))?;
        Config::from_raw(raw, Some(path), &bytes)
    }

    /// Checks the raw config into typed values; all problems are collected and reported in one error.
    pub fn from_raw(raw: RawConfig, source: Option<&Path>, bytes: &[u8]) -> Result<Config> {
        let mut problems: Vec<String> = Vec::new();
        let tz_name = raw.timezone.clone().unwrap_or_else(|| "Asia/Shanghai".to_string());
        let timezone: Tz = match tz_name.parse() {
            Ok(tz) => tz,
            Err(_) => {
                problems.push(format!(
                    "timezone '{tz_name}' is not an IANA time zone name (e.g. Asia/Shanghai, Europe/Berlin)"
                ));
                chrono_tz::Asia::Shanghai
            }
        };
        let as_of = match &raw.as_of {
            None => None,
            Some(s) => match time::parse_ts(s, timezone) {
                Ok(t) => Some(t),
                Err(e) => {
                    problems.push(format!("as_of: {e}"));
                    None
                }
            },
        };
        let mut plausible = |name: &str, v: &Option<String>| match v {
            None => None,
            Some(s) => match time::parse_ts(s, timezone) {
                Ok(t) => Some(t),
                Err(e) => {
                    problems.push(format!("{name}: {e}"));
                    None
                }
            },
        };
        let earliest_plausible = plausible("earliest_plausible", &raw.earliest_plausible)
            .unwrap_or_else(|| time::local_midnight(2000, 1, 1, timezone));
        let latest_plausible = plausible("latest_plausible", &raw.latest_plausible);
        if let Some(l) = latest_plausible
            && l <= earliest_plausible
        {
            problems.push("latest_plausible must be later than earliest_plausible".into());
        }
        let max_reject_rate = raw.max_reject_rate.unwrap_or(0.01);
        if !(0.0..=1.0).contains(&max_reject_rate) {
            problems.push(format!(
                "max_reject_rate = {max_reject_rate}: expected a fraction between 0 and 1 (0.01 = 1%)"
            ));
        }
        let maturity_days = raw.maturity_days.unwrap_or(30);
        if maturity_days < 0 {
            problems.push(format!("maturity_days = {maturity_days}: expected 0 or more days"));
        }
        let calendar = calendars::check(&raw.calendar, &mut problems);
        let language = match raw.language.as_deref().map(crate::i18n::Lang::parse).transpose() {
            Ok(l) => l.unwrap_or_default(),
            Err(e) => {
                problems.push(e);
                crate::i18n::Lang::default()
            }
        };

        let merchant_pages = match raw.merchant_pages.as_deref().map(MerchantPages::parse).transpose() {
            Ok(p) => p.unwrap_or_default(),
            Err(e) => {
                problems.push(e);
                MerchantPages::default()
            }
        };

        let base = source
            .and_then(|p| p.parent())
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let lookups = staging::check_lookups(
            &raw.lookups,
            &mut staging::Ctx {
                base: &base,
                problems: &mut problems,
            },
        );
        let mut tables = HashMap::new();
        for (name, rt) in &raw.tables {
            let Some(kind) = TableKind::from_name(name) else {
                problems.push(format!(
                    "[tables.{name}]: unknown table; valid tables are {}",
                    TableKind::ALL.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
                ));
                continue;
            };
            let mut tc = TableConfig {
                path: rt.path.as_ref().map(|p| base.join(p)),
                ..TableConfig::default()
            };
            let at = format!("[tables.{name}]");
            tc.encoding = staging::check_encoding(rt.encoding.as_deref(), &at, &mut problems);
            tc.delimiter = staging::check_delimiter(rt.delimiter.as_deref(), &at, &mut problems);
            if !rt.sources.is_empty() {
                let plain = rt.path.is_some()
                    || rt.encoding.is_some()
                    || rt.delimiter.is_some()
                    || rt.quoting.is_some()
                    || !rt.columns.is_empty()
                    || !rt.values.is_empty()
                    || !rt.epoch.is_empty();
                if plain {
                    problems.push(format!(
                        "{at}: give either sources (exports mapped through staging) or path/encoding/delimiter/quoting/columns/values/epoch, not both; each source has these settings of its own"
                    ));
                }
                tc.sources = staging::check_sources(
                    kind,
                    &rt.sources,
                    &lookups,
                    &mut staging::Ctx {
                        base: &base,
                        problems: &mut problems,
                    },
                );
            }
            if let Some(q) = rt.quoting {
                tc.quoting = q;
            }
            let schema = kind.schema();
            let valid_cols = || schema.columns.iter().map(|c| c.name).collect::<Vec<_>>().join(", ");
            for (export, canonical) in &rt.columns {
                if schema.column(canonical).is_none() {
                    problems.push(format!(
                        "[tables.{name}.columns] '{export}' = '{canonical}': no column named '{canonical}' in {name}. Valid columns are {}",
                        valid_cols()
                    ));
                } else {
                    tc.renames.insert(export.trim().to_string(), canonical.clone());
                }
            }
            for (col, map) in &rt.values {
                match schema.column(col).map(|c| &c.kind) {
                    Some(ColumnKind::Enum(allowed)) => {
                        let mut m = HashMap::new();
                        for (label, value) in map {
                            let v = value.trim().to_lowercase();
                            if !allowed.contains(&v.as_str()) {
                                problems.push(format!(
                                    "[tables.{name}.values.{col}] '{label}' = '{value}': not a {col} value; expected one of {}",
                                    allowed.join(", ")
                                ));
                            }
                            m.insert(label.trim().to_string(), v);
                        }
                        tc.value_maps.insert(col.clone(), m);
                    }
                    Some(_) => problems.push(format!(
                        "[tables.{name}.values.{col}]: {col} is not an enum column, so it has no values to map"
                    )),
                    None => problems.push(format!(
                        "[tables.{name}.values.{col}]: no column named '{col}' in {name}. Valid columns are {}",
                        valid_cols()
                    )),
                }
            }
            for (col, unit) in &rt.epoch {
                let micros = match unit.trim() {
                    "s" => Some(1_000_000),
                    "ms" => Some(1_000),
                    "us" | "µs" => Some(1),
                    _ => None,
                };
                match (schema.column(col).map(|c| &c.kind), micros) {
                    (Some(ColumnKind::Ts), Some(m)) => {
                        tc.epoch_units.insert(col.clone(), m);
                    }
                    (Some(ColumnKind::Ts), None) => problems.push(format!(
                        "[tables.{name}.epoch] {col} = '{unit}': expected one of s, ms, us"
                    )),
                    _ => problems.push(format!(
                        "[tables.{name}.epoch] {col}: not a timestamp column of {name}. Timestamp columns are {}",
                        schema.ts_columns().collect::<Vec<_>>().join(", ")
                    )),
                }
            }
            tables.insert(kind, tc);
        }

        let mut responsibility: BTreeMap<String, String> = DEFAULT_RESPONSIBILITY
            .iter()
            .map(|(r, p)| (r.to_string(), p.to_string()))
            .collect();
        for (reason, party) in &raw.responsibility {
            if !crate::tables::cases::REASON_CODES.contains(&reason.as_str()) {
                problems.push(format!(
                    "[responsibility] '{reason}': not a reason_code; expected one of {}",
                    crate::tables::cases::REASON_CODES.join(", ")
                ));
            } else if !PARTIES.contains(&party.as_str()) {
                problems.push(format!(
                    "[responsibility] {reason} = '{party}': expected one of {}",
                    PARTIES.join(", ")
                ));
            } else {
                responsibility.insert(reason.clone(), party.clone());
            }
        }

        let sla_rules = crate::sla_rules::resolve(&raw.sla, &mut problems);
        let r = &raw.risk;
        if r.age_days < 1
            || r.baseline_weeks < 1
            || r.burn_in_weeks.is_some_and(|w| w < 0)
            || r.prior_strength < 0.0
            || !(0.0..1.0).contains(&r.p0_floor)
        {
            problems.push(format!(
                "[risk]: expected age_days ≥ 1, baseline_weeks ≥ 1, burn_in_weeks ≥ 0, prior_strength ≥ 0 and 0 ≤ p0_floor < 1; found {r:?}"
            ));
        }
        for (name, v) in [
            ("fdr", r.fdr),
            ("q_high", r.q_high),
            ("dispute_q_high", r.dispute_q_high),
            ("dispute_q_watch", r.dispute_q_watch),
        ] {
            if !(0.0..=1.0).contains(&v) {
                problems.push(format!("[risk] {name} = {v}: expected a fraction between 0 and 1"));
            }
        }
        if r.q_high > r.fdr || r.dispute_q_high > r.dispute_q_watch {
            problems.push(format!(
                "[risk]: expected q_high ≤ fdr and dispute_q_high ≤ dispute_q_watch (high is the stronger evidence); found q_high = {}, fdr = {}, dispute_q_high = {}, dispute_q_watch = {}",
                r.q_high, r.fdr, r.dispute_q_high, r.dispute_q_watch
            ));
        }
        if r.z_flag.is_some() || r.z_high.is_some() {
            problems.push(
                "[risk] z_flag and z_high no longer decide flags: a week is flagged by its q-value (SPEC §4.4, docs/risk.md); \
                 remove them and set fdr (default 0.05) and q_high (default 0.001) instead"
                    .to_string(),
            );
        }
        let b = &raw.badge;
        for (name, v) in [
            ("ack_on_time", b.ack_on_time),
            ("first_response_on_time", b.first_response_on_time),
            ("refund_on_time", b.refund_on_time),
            ("dispute_rate", b.dispute_rate),
            ("dispute_loss_rate", b.dispute_loss_rate),
        ] {
            if !(0.0..=1.0).contains(&v) {
                problems.push(format!("[badge] {name} = {v}: expected a fraction between 0 and 1"));
            }
        }

        let shown = source
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "built-in defaults".into());
        if !problems.is_empty() {
            let n = problems.len();
            anyhow::bail!(
                "config {shown} has {n} problem{}:\n  - {}",
                if n == 1 { "" } else { "s" },
                problems.join("\n  - ")
            );
        }
        let digest = format!("sha256:{:x}", Sha256::digest(bytes));
        Ok(Config {
            timezone,
            as_of,
            earliest_plausible,
            latest_plausible,
            max_reject_rate,
            maturity_days,
            language,
            merchant_pages,
            calendar,
            tables,
            responsibility,
            sla_rules,
            risk: raw.risk.clone(),
            badge: raw.badge.clone(),
            source: source.map(Path::to_path_buf),
            digest,
            bytes: bytes.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        let raw: RawConfig = toml::from_str(text)?;
        Config::from_raw(raw, None, text.as_bytes())
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let err = parse(
            r#"
timezone = "Mars/Olympus"
max_reject_rate = 5
[calendar]
holidays = ["2026-10-01", "2026-13-01"]
[tables.orderz]
[tables.cases]
encoding = "ebcdic"
[tables.cases.columns]
"售后单号" = "case_no"
[tables.cases.values.case_type]
"退货" = "refund"
"#,
        )
        .unwrap_err()
        .to_string();
        for part in [
            "7 problems",
            "timezone 'Mars/Olympus'",
            "max_reject_rate = 5",
            "'2026-13-01' is not a date",
            "[tables.orderz]: unknown table; valid tables are orders, cases, shipments, refunds, merchants",
            "encoding = 'ebcdic'",
            "no column named 'case_no' in cases. Valid columns are case_id, order_id",
            "'退货' = 'refund': not a case_type value; expected one of return, exchange",
        ] {
            assert!(err.contains(part), "missing {part:?} in:\n{err}");
        }
    }

    #[test]
    fn responsibility_map_overrides_the_default_reason_by_reason() {
        let c = parse("[responsibility]\nlate_delivery = \"merchant\"").unwrap();
        assert_eq!(c.responsibility["late_delivery"], "merchant");
        assert_eq!(c.responsibility["lost_in_transit"], "carrier");
        assert_eq!(c.responsibility.len(), 10);
        let err = parse("[responsibility]\nlate = \"merchant\"\nsize_fit = \"shop\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("2 problems")
                && err.contains("'late': not a reason_code")
                && err.contains("size_fit = 'shop'"),
            "{err}"
        );
    }

    #[test]
    fn sla_rules_change_add_and_switch_off() {
        let c = parse(
            r#"
[[sla.rules]]
name = "merchant_ack"
target_hours = 4
[[sla.rules]]
name = "receipt_confirmation"
case_types = ["return", "exchange"]
start = "return_received_at"
stop = "inspected_at"
target_hours = 24
[[sla.rules]]
name = "repair_response"
enabled = false
"#,
        )
        .unwrap();
        let names: Vec<&str> = c.sla_rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "merchant_ack",
                "first_response",
                "review_decision",
                "return_inspection",
                "complaint_resolution",
                "refund_payout",
                "receipt_confirmation"
            ]
        );
        let ack = &c.sla_rules[0];
        assert_eq!(ack.target, crate::sla_rules::Target::Hours(4.0));
        assert_eq!(
            (ack.start.as_str(), ack.stop.as_str()),
            ("opened_at", "merchant_ack_at")
        );
        assert_eq!(
            ack.case_types.as_ref().unwrap().len(),
            6,
            "the default's case types are kept"
        );
        let err = parse(
            "[[sla.rules]]\nname = \"x\"\nstart = \"opened\"\nstop = \"closed_at\"\ntarget_hours = 1\n[[sla.rules]]\nname = \"y\"\nstart = \"opened_at\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("start = 'opened' is not a timestamp column of cases"),
            "{err}"
        );
        assert!(
            err.contains("'y': a new rule needs start, stop and target_hours or target_working_days"),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = parse("timezon = \"UTC\"").unwrap_err().to_string();
        assert!(err.contains("unknown field `timezon`"), "{err}");
    }

    #[test]
    fn calendar_counts_makeup_days_and_holidays() {
        let c = parse("[calendar]\nholidays = [\"2026-10-01\"]\nextra_workdays = [\"2026-09-27\"]").unwrap();
        let d = |s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(!c.calendar.is_workday(d("2026-10-01"))); // Thursday, National Day
        assert!(c.calendar.is_workday(d("2026-09-27"))); // Sunday, make-up workday
        assert!(!c.calendar.is_workday(d("2026-09-26"))); // plain Saturday
        assert!(c.calendar.is_workday(d("2026-09-28"))); // plain Monday
    }
}
