//! report.html through an askama template (templates/report.html, checked at compile time, HTML-escaped).
//! The Rust side formats every number once, so the page and the tests agree on how a figure is written.

use std::collections::BTreeMap;

use anyhow::Result;
use askama::Template;
use base64::Engine;

use super::RunContext;
use super::facts::{Facts, Headline, Kind, Value};
use crate::charts::{Rendered, pct};
use crate::i18n::Messages;
use crate::time;

/// `1234567` → `1,234,567`; keeps a sign and any decimals.
pub fn thousands(s: &str) -> String {
    let (sign, rest) = s.strip_prefix('-').map_or(("", s), |r| ("-", r));
    let (int, frac) = rest.split_once('.').map_or((rest, None), |(i, f)| (i, Some(f)));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

/// How a figure is written on the page: rates as `4.83%`, counts as `12,345`, money as `¥1,234.50`.
pub fn format_value(kind: Kind, v: &Value) -> String {
    match (kind, v) {
        (Kind::Rate, v) => pct(v.as_f64(), 2),
        (Kind::Count, v) => thousands(&format!("{:.0}", v.as_f64())),
        (Kind::Money, Value::Decimal(s)) => format!("¥{}", thousands(s)),
        (Kind::Money, v) => format!("¥{}", thousands(&format!("{:.2}", v.as_f64()))),
    }
}

/// The change from the previous quarter: percentage points for rates, absolute and relative for the rest.
pub fn format_change(kind: Kind, cur: &Value, prev: &Value) -> String {
    let (c, p) = (cur.as_f64(), prev.as_f64());
    let d = c - p;
    let rel = if p != 0.0 {
        format!(" ({:+.1}%)", d / p * 100.0)
    } else {
        String::new()
    };
    match kind {
        Kind::Rate => format!("{:+.2} pp", d * 100.0),
        Kind::Count => format!(
            "{}{}{rel}",
            if d >= 0.0 { "+" } else { "" },
            thousands(&format!("{d:.0}"))
        ),
        Kind::Money => format!(
            "{}¥{}{rel}",
            if d >= 0.0 { "+" } else { "−" },
            thousands(&format!("{:.2}", d.abs()))
        ),
    }
}

struct HeadlineView {
    id: &'static str,
    label: String,
    current: String,
    raw: String,
    previous: String,
    change: String,
    source: String,
    note: String,
}

fn headline_view(h: &Headline) -> HeadlineView {
    let dash = "—".to_string();
    HeadlineView {
        id: h.id,
        label: h.label.clone(),
        current: h.current.as_ref().map_or(dash.clone(), |v| format_value(h.kind, v)),
        raw: h.current.as_ref().map(Value::raw).unwrap_or_default(),
        previous: h.previous.as_ref().map_or(dash.clone(), |v| format_value(h.kind, v)),
        change: match (&h.current, &h.previous) {
            (Some(c), Some(p)) => format_change(h.kind, c, p),
            _ => dash,
        },
        source: h.source.clone(),
        note: h.note.clone(),
    }
}

struct ChartView {
    name: &'static str,
    title: String,
    data_uri: String,
}

struct CountsView {
    table: String,
    read: String,
    accepted: String,
    rejected: String,
    rate: String,
}

struct WarningView {
    table: String,
    check: String,
    rows: String,
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    m: &'static Messages,
    lang: &'static str,
    title: String,
    quarter: &'a str,
    previous_quarter: &'a str,
    /// Markup from the catalogue, its values escaped.
    meta_as_of: String,
    meta_inputs: String,
    meta_read_from: String,
    headlines: Vec<HeadlineView>,
    charts: Vec<ChartView>,
    facts: &'a Facts,
    counts: Vec<CountsView>,
    warnings: Vec<WarningView>,
}

/// The provisional banner's markup (report.html and the merchant pages), its reason escaped.
pub(super) fn provisional_markup(m: &Messages, why: &str) -> String {
    m.f("page.provisional", &[("why", &escape(why))])
}

/// Escapes a value put into catalogue markup.
fn escape(v: &str) -> String {
    v.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Page<'_> {
    fn t(&self, key: &str) -> String {
        self.m.t(key)
    }

    /// A text naming the report's quarter (and the one before).
    fn tq(&self, key: &str) -> String {
        self.m
            .f(key, &[("quarter", &self.quarter), ("previous", &self.previous_quarter)])
    }

    fn provisional(&self, why: &str) -> String {
        provisional_markup(self.m, why)
    }

    fn figure_files(&self, name: &str) -> String {
        self.m.f("page.figure_files", &[("name", &name)])
    }

    fn evidence_note(&self, e: &super::facts::Evidence) -> String {
        e.note(self.m)
    }

    fn chart(&self, name: &str) -> Option<&ChartView> {
        self.charts.iter().find(|c| c.name == name)
    }

    fn pct1(&self, v: &f64) -> String {
        pct(*v, 1)
    }

    fn pct2(&self, v: &f64) -> String {
        pct(*v, 2)
    }

    fn num(&self, v: &i64) -> String {
        thousands(&v.to_string())
    }

    fn money(&self, v: &str) -> String {
        format!("¥{}", thousands(v))
    }
}

pub fn page(ctx: &RunContext<'_>, facts: &Facts, charts: &[Rendered]) -> Result<String> {
    let m = ctx.lang.messages();
    let b64 = base64::engine::general_purpose::STANDARD;
    let loaded = ctx.inputs;
    let counts = loaded
        .counts
        .iter()
        .map(|t| CountsView {
            table: t.table.clone(),
            read: thousands(&t.read.to_string()),
            accepted: thousands(&t.accepted.to_string()),
            rejected: thousands(&t.rejected.to_string()),
            rate: pct(t.reject_rate, 2),
        })
        .collect();
    let mut by_check: BTreeMap<(String, String), u64> = BTreeMap::new();
    if let (Ok(t), Ok(c)) = (loaded.data_quality.column("table"), loaded.data_quality.column("check"))
        && let (Ok(t), Ok(c)) = (t.str(), c.str())
    {
        for (t, c) in t.iter().zip(c.iter()) {
            *by_check
                .entry((t.unwrap_or("").to_string(), c.unwrap_or("").to_string()))
                .or_default() += 1;
        }
    }
    let as_of_source = m.t(match loaded.as_of_source {
        crate::input::AsOfSource::CommandLine => "page.as_of_command_line",
        crate::input::AsOfSource::Config => "page.as_of_config",
        crate::input::AsOfSource::LatestInInputs => "page.as_of_latest",
    });
    let config = match &ctx.config.source {
        Some(p) => m.f(
            "page.config_file",
            &[("path", &p.display()), ("digest", &ctx.config.digest)],
        ),
        None => m.f("page.config_defaults", &[("digest", &ctx.config.digest)]),
    };
    let p = Page {
        m,
        lang: ctx.lang.code(),
        title: m.f("page.title", &[("quarter", &facts.quarter)]),
        quarter: &facts.quarter,
        previous_quarter: &facts.previous_quarter,
        meta_as_of: m.f(
            "page.as_of",
            &[
                ("as_of", &escape(&time::format_local(loaded.as_of, ctx.config.timezone))),
                ("source", &escape(&as_of_source)),
                ("timezone", &ctx.config.timezone.name()),
            ],
        ),
        meta_inputs: m.f(
            "page.inputs",
            &[
                ("data_dir", &ctx.data_dir.display()),
                ("config", &config),
                ("version", &env!("CARGO_PKG_VERSION")),
            ],
        ),
        meta_read_from: m.f("page.read_from", &[("previous", &escape(&facts.previous_quarter))]),
        headlines: facts.headlines.iter().map(headline_view).collect(),
        charts: charts
            .iter()
            .map(|c| ChartView {
                name: c.name,
                title: c.title.clone(),
                data_uri: format!("data:image/png;base64,{}", b64.encode(&c.png)),
            })
            .collect(),
        facts,
        counts,
        warnings: by_check
            .into_iter()
            .map(|((table, check), n)| WarningView {
                table,
                check: m.get(&format!("check.{check}")).map_or(check, str::to_string),
                rows: thousands(&n.to_string()),
            })
            .collect(),
    };
    Ok(p.render()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_the_integer_part_only() {
        assert_eq!(thousands("0"), "0");
        assert_eq!(thousands("999"), "999");
        assert_eq!(thousands("1000"), "1,000");
        assert_eq!(thousands("1234567.891"), "1,234,567.891");
        assert_eq!(thousands("-12345.5"), "-12,345.5");
    }

    #[test]
    fn change_is_in_points_for_rates_and_relative_for_counts() {
        assert_eq!(
            format_change(Kind::Rate, &Value::Num(0.0512), &Value::Num(0.0471)),
            "+0.41 pp"
        );
        assert_eq!(
            format_change(Kind::Count, &Value::Num(1100.0), &Value::Num(1000.0)),
            "+100 (+10.0%)"
        );
        assert_eq!(
            format_change(
                Kind::Money,
                &Value::Decimal("900.00".into()),
                &Value::Decimal("1000.50".into())
            ),
            "−¥100.50 (-10.0%)"
        );
    }
}
