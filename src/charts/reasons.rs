//! Chart 2: return reasons of the quarter as a Pareto chart: bars by case count, largest first, and the
//! cumulative share as a line on a second axis.

use crate::i18n::{tr, trf};
use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{BLUE, Chart, GREEN, GREY, ORANGE, PURPLE, RED, font, pct, titled, upper};

/// Bar colour by responsible party, so a manager sees at once whose problem the big bars are.
pub fn party_color(party: &str) -> RGBColor {
    match party {
        "merchant" => BLUE,
        "carrier" => ORANGE,
        "buyer" => GREEN,
        "other" => GREY,
        _ => PURPLE,
    }
}

pub struct ReasonPareto {
    pub quarter: String,
    /// (reason_code, responsibility, counted cases), in any order: the chart sorts.
    pub reasons: Vec<(String, String, i64)>,
}

impl ReasonPareto {
    /// Largest first; ties by name so the picture does not depend on input order.
    pub fn sorted(&self) -> Vec<(String, String, i64)> {
        let mut r = self.reasons.clone();
        r.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
        r
    }
}

impl Chart for ReasonPareto {
    fn name(&self) -> &'static str {
        "return_reasons_pareto"
    }

    fn title(&self) -> String {
        trf("chart.reasons_title", &[("quarter", &self.quarter)])
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let area = titled(root, &self.title())?;
        let rows = self.sorted();
        let total: i64 = rows.iter().map(|r| r.2).sum();
        if total == 0 {
            return super::nothing_to_draw(&area, &trf("chart.reasons_empty", &[("quarter", &self.quarter)]));
        }
        let n = rows.len();
        // Head room so the legend sits between the short bars on the right and the cumulative line above them.
        let top = upper(rows.iter().map(|r| r.2 as f64), 1.0) * 1.2;
        let labels: Vec<String> = rows.iter().map(|r| crate::i18n::name_of("reason", &r.0)).collect();
        let mut chart = ChartBuilder::on(&area)
            .margin(15)
            .x_label_area_size(60)
            .y_label_area_size(80)
            .right_y_label_area_size(70)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..top)?
            .set_secondary_coord(-0.5f64..(n as f64 - 0.5), 0f64..1.05);
        let names = labels.clone();
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&move |x| super::category_label(&names, *x, false))
            .x_label_style(font(13))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .x_desc(tr("chart.reasons_x"))
            .y_desc(tr("chart.reasons_y"))
            .label_style(font(13))
            .axis_desc_style(font(15))
            .draw()?;
        chart
            .configure_secondary_axes()
            .y_desc(tr("chart.reasons_y2"))
            .y_label_formatter(&|y| pct(*y, 0))
            .label_style(font(13))
            .axis_desc_style(font(15))
            .draw()?;
        chart.draw_series(rows.iter().enumerate().map(|(i, r)| {
            Rectangle::new(
                [(i as f64 - 0.38, 0.0), (i as f64 + 0.38, r.2 as f64)],
                party_color(&r.1).mix(0.85).filled(),
            )
        }))?;
        let mut parties: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
        parties.dedup();
        let mut seen = Vec::new();
        for p in parties {
            if seen.contains(&p) {
                continue;
            }
            seen.push(p);
            let c = party_color(p);
            chart
                .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())?
                .label(trf(
                    "chart.reasons_party",
                    &[("party", &crate::i18n::name_of("party", p))],
                ))
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 18, y + 6)], c.mix(0.85).filled()));
        }
        chart.draw_series(
            rows.iter()
                .enumerate()
                .map(|(i, r)| Text::new(r.2.to_string(), (i as f64 - 0.2, r.2 as f64 + top * 0.03), font(13))),
        )?;
        let mut running = 0i64;
        let cumulative: Vec<(f64, f64)> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                running += r.2;
                (i as f64, running as f64 / total as f64)
            })
            .collect();
        chart
            .draw_secondary_series(LineSeries::new(cumulative.clone(), RED.stroke_width(3)))?
            .label(tr("chart.reasons_cumulative"))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], RED.stroke_width(3)));
        chart.draw_secondary_series(cumulative.iter().map(|&p| Circle::new(p, 4, RED.filled())))?;
        chart
            .draw_secondary_series(LineSeries::new(
                vec![(-0.5, 0.8), (n as f64 - 0.5, 0.8)],
                RED.mix(0.4).stroke_width(1),
            ))?
            .label(tr("chart.reasons_80"))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], RED.mix(0.4).stroke_width(1)));
        super::legend(&mut *chart, SeriesLabelPosition::MiddleRight, 14)?;
        Ok(())
    }
}
