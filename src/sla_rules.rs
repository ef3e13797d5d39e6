//! SLA rules (SPEC §4.3): the seven defaults, and the config's `[[sla.rules]]` that change or add rules without
//! new code. A config rule whose name is a default's changes only the fields it sets; a new name adds a rule and
//! must set start, stop and one target; `enabled = false` switches a rule off.

use serde::Deserialize;

use crate::tables::{ColumnKind, TableKind, cases::CASE_TYPES};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSla {
    #[serde(default)]
    pub rules: Vec<RawSlaRule>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawSlaRule {
    pub name: String,
    /// `cases` (default) or `refunds`.
    pub table: Option<String>,
    /// Case types the rule applies to (cases only); absent: every type.
    pub case_types: Option<Vec<String>>,
    pub start: Option<String>,
    pub stop: Option<String>,
    pub target_hours: Option<f64>,
    pub target_working_days: Option<u32>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Calendar clock: deadline = start + this many hours, exact to the microsecond (UTC arithmetic, so daylight
    /// saving changes neither add nor remove an hour).
    Hours(f64),
    /// Working-day clock: deadline = end of the N-th working day after the start's local date.
    WorkingDays(u32),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SlaRule {
    pub name: String,
    pub table: TableKind,
    /// Cases only: the case types the rule applies to (None = all).
    pub case_types: Option<Vec<String>>,
    pub start: String,
    pub stop: String,
    pub target: Target,
}

impl SlaRule {
    pub fn clock_kind(&self) -> &'static str {
        match self.target {
            Target::Hours(_) => "calendar",
            Target::WorkingDays(_) => "working_days",
        }
    }

    /// The target as the tables state it: its number and its unit (`hours` | `working_days`).
    pub fn target_and_unit(&self) -> (f64, &'static str) {
        match self.target {
            Target::Hours(h) => (h, "hours"),
            Target::WorkingDays(d) => (d as f64, "working_days"),
        }
    }
}

fn rule(name: &str, table: TableKind, types: Option<&[&str]>, start: &str, stop: &str, target: Target) -> SlaRule {
    SlaRule {
        name: name.into(),
        table,
        case_types: types.map(|t| t.iter().map(|s| s.to_string()).collect()),
        start: start.into(),
        stop: stop.into(),
        target,
    }
}

pub fn default_rules() -> Vec<SlaRule> {
    use TableKind::*;
    vec![
        rule(
            "merchant_ack",
            Cases,
            Some(&[
                "return",
                "exchange",
                "refund_only",
                "repair",
                "damage_claim",
                "loss_claim",
            ]),
            "opened_at",
            "merchant_ack_at",
            Target::Hours(2.0),
        ),
        rule(
            "first_response",
            Cases,
            None,
            "opened_at",
            "first_response_at",
            Target::Hours(24.0),
        ),
        rule(
            "review_decision",
            Cases,
            Some(&["return", "exchange", "refund_only"]),
            "opened_at",
            "decided_at",
            Target::Hours(24.0),
        ),
        rule(
            "return_inspection",
            Cases,
            Some(&["return", "exchange"]),
            "return_received_at",
            "inspected_at",
            Target::Hours(48.0),
        ),
        rule(
            "complaint_resolution",
            Cases,
            Some(&["complaint"]),
            "opened_at",
            "resolved_at",
            Target::Hours(72.0),
        ),
        rule(
            "repair_response",
            Cases,
            Some(&["repair"]),
            "opened_at",
            "first_response_at",
            Target::Hours(48.0),
        ),
        rule(
            "refund_payout",
            Refunds,
            None,
            "approved_at",
            "refunded_at",
            Target::WorkingDays(7),
        ),
    ]
}

/// Applies the config's rules to the defaults; problems are appended to `problems`.
pub fn resolve(raw: &RawSla, problems: &mut Vec<String>) -> Vec<SlaRule> {
    let mut rules = default_rules();
    for r in &raw.rules {
        let at = format!("[[sla.rules]] '{}'", r.name);
        if r.name.trim().is_empty() {
            problems.push("[[sla.rules]]: every rule needs a name".into());
            continue;
        }
        let existing = rules.iter().position(|d| d.name == r.name);
        if r.enabled == Some(false) {
            match existing {
                Some(i) => {
                    rules.remove(i);
                }
                None => problems.push(format!(
                    "{at}: enabled = false names no rule; rules are {}",
                    names(&rules)
                )),
            }
            continue;
        }
        let table = match r.table.as_deref() {
            None => existing.map(|i| rules[i].table).unwrap_or(TableKind::Cases),
            Some("cases") => TableKind::Cases,
            Some("refunds") => TableKind::Refunds,
            Some(t) => {
                problems.push(format!("{at}: table = '{t}': expected cases or refunds"));
                continue;
            }
        };
        let target = match (r.target_hours, r.target_working_days) {
            (Some(_), Some(_)) => {
                problems.push(format!("{at}: set target_hours or target_working_days, not both"));
                continue;
            }
            (Some(h), None) if h > 0.0 && h.is_finite() => Some(Target::Hours(h)),
            (Some(h), None) => {
                problems.push(format!("{at}: target_hours = {h}: expected a number of hours above 0"));
                continue;
            }
            (None, Some(0)) => {
                problems.push(format!("{at}: target_working_days = 0: expected 1 or more"));
                continue;
            }
            (None, Some(d)) => Some(Target::WorkingDays(d)),
            (None, None) => existing.map(|i| rules[i].target.clone()),
        };
        let base = existing.map(|i| rules[i].clone());
        let start = r.start.clone().or_else(|| base.as_ref().map(|b| b.start.clone()));
        let stop = r.stop.clone().or_else(|| base.as_ref().map(|b| b.stop.clone()));
        let (Some(start), Some(stop), Some(target)) = (start, stop, target) else {
            problems.push(format!(
                "{at}: a new rule needs start, stop and target_hours or target_working_days"
            ));
            continue;
        };
        let schema = table.schema();
        let mut ok = true;
        for (what, c) in [("start", &start), ("stop", &stop)] {
            if schema.column(c).map(|s| &s.kind) != Some(&ColumnKind::Ts) {
                problems.push(format!(
                    "{at}: {what} = '{c}' is not a timestamp column of {}; expected one of {}",
                    table.name(),
                    schema.ts_columns().collect::<Vec<_>>().join(", ")
                ));
                ok = false;
            }
        }
        let case_types = match (&r.case_types, table) {
            (Some(_), TableKind::Refunds) => {
                problems.push(format!("{at}: case_types only apply to rules on cases"));
                continue;
            }
            (Some(types), _) => {
                for t in types {
                    if !CASE_TYPES.contains(&t.as_str()) {
                        problems.push(format!(
                            "{at}: case type '{t}' is unknown; expected one of {}",
                            CASE_TYPES.join(", ")
                        ));
                        ok = false;
                    }
                }
                Some(types.clone())
            }
            (None, _) => base
                .as_ref()
                .filter(|b| b.table == table)
                .and_then(|b| b.case_types.clone()),
        };
        if !ok {
            continue;
        }
        let new = SlaRule {
            name: r.name.clone(),
            table,
            case_types,
            start,
            stop,
            target,
        };
        match existing {
            Some(i) => rules[i] = new,
            None => rules.push(new),
        }
    }
    rules
}

fn names(rules: &[SlaRule]) -> String {
    rules.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", ")
}
