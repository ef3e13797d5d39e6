//! Chart 3: SLA compliance of the quarter by rule (platform), and a merchant × rule heat map of the merchants
//! with the lowest compliance.

use crate::i18n::{tr, trf};
use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{BLUE, Chart, GREY, font, pct, short, titled};

pub struct RuleCompliance {
    pub rule: String,
    /// `2 hours`, `7 working_days`.
    pub target: String,
    pub evaluated: i64,
    pub compliance: Option<f64>,
}

pub struct ComplianceByRule {
    pub quarter: String,
    pub rules: Vec<RuleCompliance>,
}

impl Chart for ComplianceByRule {
    fn name(&self) -> &'static str {
        "sla_compliance_by_rule"
    }

    fn title(&self) -> String {
        trf("chart.sla_title", &[("quarter", &self.quarter)])
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let area = titled(root, &self.title())?;
        if self.rules.is_empty() {
            return super::nothing_to_draw(&area, &trf("chart.sla_empty", &[("quarter", &self.quarter)]));
        }
        let n = self.rules.len();
        let labels: Vec<String> = self
            .rules
            .iter()
            .map(|r| {
                format!(
                    "{} (≤ {}, n = {})",
                    crate::i18n::name_of("rule", &r.rule),
                    r.target,
                    r.evaluated
                )
            })
            .collect();
        let mut chart = ChartBuilder::on(&area)
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(330)
            .build_cartesian_2d(0f64..1.0, -0.5f64..(n as f64 - 0.5))?;
        let names = labels.clone();
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&move |y| super::category_label(&names, *y, true))
            .x_label_formatter(&|x| pct(*x, 0))
            .x_desc(tr("chart.sla_x"))
            .y_desc(tr("chart.sla_y"))
            .label_style(font(14))
            .axis_desc_style(font(15))
            .draw()?;
        // First rule at the top.
        let row = |i: usize| (n - 1 - i) as f64;
        chart.draw_series(self.rules.iter().enumerate().filter_map(|(i, r)| {
            r.compliance
                .map(|c| Rectangle::new([(0.0, row(i) - 0.35), (c, row(i) + 0.35)], BLUE.mix(0.8).filled()))
        }))?;
        let inside = font(14).color(&WHITE).pos(Pos::new(HPos::Right, VPos::Center));
        let outside = font(14).color(&GREY).pos(Pos::new(HPos::Left, VPos::Center));
        chart.draw_series(self.rules.iter().enumerate().map(|(i, r)| match r.compliance {
            Some(c) if c > 0.15 => Text::new(pct(c, 1), (c - 0.01, row(i)), inside.clone()),
            Some(c) => Text::new(pct(c, 1), (c + 0.01, row(i)), outside.clone()),
            None => Text::new(tr("chart.not_evaluated"), (0.01, row(i)), outside.clone()),
        }))?;
        Ok(())
    }
}

pub struct HeatRow {
    pub merchant: String,
    /// One per `SlaHeatmap::rules`; None where the merchant had no evaluated clock for the rule.
    pub compliance: Vec<Option<f64>>,
}

pub struct SlaHeatmap {
    pub quarter: String,
    pub rules: Vec<String>,
    /// Worst first.
    pub rows: Vec<HeatRow>,
    /// How many merchants were ranked (the chart shows the worst `rows.len()`).
    pub ranked: usize,
}

/// Red at 50% and below, through yellow, to green at 100%.
pub fn heat_color(c: f64) -> RGBColor {
    let t = ((c - 0.5) / 0.5).clamp(0.0, 1.0);
    let (r, g, b) = if t < 0.5 {
        let u = t / 0.5;
        (
            215.0 + (254.0 - 215.0) * u,
            48.0 + (224.0 - 48.0) * u,
            39.0 + (139.0 - 39.0) * u,
        )
    } else {
        let u = (t - 0.5) / 0.5;
        (
            254.0 + (26.0 - 254.0) * u,
            224.0 + (152.0 - 224.0) * u,
            139.0 + (80.0 - 139.0) * u,
        )
    };
    RGBColor(r as u8, g as u8, b as u8)
}

impl Chart for SlaHeatmap {
    fn name(&self) -> &'static str {
        "sla_worst_merchants_heatmap"
    }

    fn title(&self) -> String {
        trf(
            "chart.heatmap_title",
            &[
                ("shown", &self.rows.len()),
                ("total", &self.ranked),
                ("quarter", &self.quarter),
            ],
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let area = titled(root, &self.title())?;
        if self.rows.is_empty() || self.rules.is_empty() {
            return super::nothing_to_draw(&area, &trf("chart.heatmap_empty", &[("quarter", &self.quarter)]));
        }
        let (nx, ny) = (self.rules.len(), self.rows.len());
        let mut chart = ChartBuilder::on(&area)
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(220)
            .build_cartesian_2d(-0.5f64..(nx as f64 - 0.5), -0.5f64..(ny as f64 - 0.5))?;
        let rules: Vec<String> = self.rules.iter().map(|r| crate::i18n::name_of("rule", r)).collect();
        let merchants: Vec<String> = self.rows.iter().map(|r| short(&r.merchant, 18)).collect();
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .disable_mesh()
            .x_labels(nx)
            .y_labels(ny)
            .x_label_formatter(&move |x| super::category_label(&rules, *x, false))
            .y_label_formatter(&move |y| super::category_label(&merchants, *y, true))
            .x_desc(tr("chart.heatmap_x"))
            .y_desc(tr("chart.heatmap_y"))
            .label_style(font(13))
            .axis_desc_style(font(15))
            .draw()?;
        let cell = |x: usize, y: usize| {
            let yy = (ny - 1 - y) as f64;
            [(x as f64 - 0.5, yy - 0.5), (x as f64 + 0.5, yy + 0.5)]
        };
        let mut cells = Vec::new();
        let mut texts = Vec::new();
        let center = font(13).pos(Pos::new(HPos::Center, VPos::Center));
        for (y, row) in self.rows.iter().enumerate() {
            for x in 0..nx {
                let c = row.compliance.get(x).copied().flatten();
                let color = c.map(heat_color).unwrap_or(super::LIGHT_GREY);
                cells.push(Rectangle::new(cell(x, y), color.filled()));
                cells.push(Rectangle::new(cell(x, y), WHITE.stroke_width(1)));
                let label = c.map(|v| pct(v, 0)).unwrap_or_else(|| "–".into());
                let style = if c.is_some_and(|v| v < 0.6) {
                    center.clone().color(&WHITE)
                } else {
                    center.clone()
                };
                texts.push(Text::new(label, (x as f64, (ny - 1 - y) as f64), style));
            }
        }
        chart.draw_series(cells)?;
        chart.draw_series(texts)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heat_colours_run_from_red_through_yellow_to_green() {
        assert_eq!(heat_color(0.2), heat_color(0.5), "50% and below are equally red");
        let RGBColor(r, g, _) = heat_color(0.5);
        assert!(r > 200 && g < 60);
        let RGBColor(r, g, _) = heat_color(0.75);
        assert!(r > 250 && g > 220, "yellow in the middle");
        let RGBColor(r, g, _) = heat_color(1.0);
        assert!(r < 30 && g > 150);
    }
}
