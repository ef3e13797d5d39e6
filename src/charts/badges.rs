//! Chart 7: gold after-sales (金牌售后) results of the quarter: each criterion's pass rate among the eligible
//! merchants judged on it, and how many merchants missed gold by exactly one criterion, by that criterion.

use crate::i18n::{tr, trf};
use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{BLUE, Chart, ORANGE, font, pct, titled, upper};

pub struct CriterionResult {
    pub criterion: String,
    /// Eligible merchants judged on the criterion (pass not null).
    pub judged: i64,
    pub passed: i64,
    /// Merchants whose only failed criterion is this one.
    pub sole_miss: i64,
}

pub struct BadgeResults {
    pub quarter: String,
    pub eligible: i64,
    pub gold: i64,
    pub criteria: Vec<CriterionResult>,
}

impl Chart for BadgeResults {
    fn name(&self) -> &'static str {
        "badge_results"
    }

    fn title(&self) -> String {
        trf(
            "chart.badges_title",
            &[
                ("quarter", &self.quarter),
                ("gold", &self.gold),
                ("eligible", &self.eligible),
            ],
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let area = titled(root, &self.title())?;
        if self.eligible == 0 || self.criteria.is_empty() {
            return super::nothing_to_draw(&area, &trf("chart.badges_empty", &[("quarter", &self.quarter)]));
        }
        let (left, right) = area.split_horizontally(area.dim_in_pixel().0 * 55 / 100);
        let n = self.criteria.len();
        let names: Vec<String> = self
            .criteria
            .iter()
            .map(|c| crate::i18n::name_of("criterion", &c.criterion))
            .collect();
        let row = |i: usize| (n - 1 - i) as f64;
        let mut chart = ChartBuilder::on(&left)
            .caption(tr("chart.badges_pass"), font(16))
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(190)
            .build_cartesian_2d(0f64..1.0, -0.5f64..(n as f64 - 0.5))?;
        let ln = names.clone();
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&move |y| super::category_label(&ln, *y, true))
            .x_label_formatter(&|x| pct(*x, 0))
            .x_desc(tr("chart.badges_x"))
            .y_desc(tr("chart.badges_y"))
            .label_style(font(13))
            .axis_desc_style(font(14))
            .draw()?;
        chart.draw_series(
            self.criteria
                .iter()
                .enumerate()
                .filter(|(_, c)| c.judged > 0)
                .map(|(i, c)| {
                    let r = c.passed as f64 / c.judged as f64;
                    Rectangle::new([(0.0, row(i) - 0.35), (r, row(i) + 0.35)], BLUE.mix(0.8).filled())
                }),
        )?;
        let text = font(13).pos(Pos::new(HPos::Left, VPos::Center));
        chart.draw_series(self.criteria.iter().enumerate().map(|(i, c)| {
            let (label, x) = if c.judged > 0 {
                let r = c.passed as f64 / c.judged as f64;
                (
                    format!("{} ({}/{})", pct(r, 0), c.passed, c.judged),
                    (r + 0.01).min(0.72),
                )
            } else {
                (tr("chart.not_judged"), 0.01)
            };
            Text::new(label, (x, row(i)), text.clone())
        }))?;

        if self.criteria.iter().all(|c| c.sole_miss == 0) {
            return super::nothing_to_draw(&right, &tr("chart.badges_no_near"));
        }
        let top = upper(self.criteria.iter().map(|c| c.sole_miss as f64), 1.0).ceil();
        let mut chart = ChartBuilder::on(&right)
            .caption(tr("chart.badges_near"), font(16))
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(20)
            .build_cartesian_2d(0f64..top, -0.5f64..(n as f64 - 0.5))?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .disable_y_mesh()
            .y_labels(0)
            .x_label_formatter(&|x| {
                if x.fract() == 0.0 {
                    format!("{x:.0}")
                } else {
                    String::new()
                }
            })
            .x_desc(tr("chart.badges_near_x"))
            .label_style(font(13))
            .axis_desc_style(font(14))
            .draw()?;
        chart.draw_series(
            self.criteria
                .iter()
                .enumerate()
                .filter(|(_, c)| c.sole_miss > 0)
                .map(|(i, c)| {
                    Rectangle::new(
                        [(0.0, row(i) - 0.35), (c.sole_miss as f64, row(i) + 0.35)],
                        ORANGE.filled(),
                    )
                }),
        )?;
        chart.draw_series(self.criteria.iter().enumerate().map(|(i, c)| {
            Text::new(
                c.sole_miss.to_string(),
                (c.sole_miss as f64 + top * 0.01, row(i)),
                text.clone(),
            )
        }))?;
        Ok(())
    }
}
