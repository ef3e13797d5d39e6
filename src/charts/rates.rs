//! Chart 1: return rate by order month, the platform and the top categories, immature months marked.

use crate::i18n::{tr, trf};
use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Chart, SERIES, font, pct, titled, upper};

pub struct RateSeries {
    /// `platform` or the category name.
    pub name: String,
    /// One value per month of `MonthlyRates::months`; None where the series sold nothing that month.
    pub rates: Vec<Option<f64>>,
}

pub struct MonthlyRates {
    /// `2026-01`, … in order.
    pub months: Vec<String>,
    /// Per month: false while returns may still arrive (return_rates.mature).
    pub mature: Vec<bool>,
    /// The platform first, then the categories.
    pub series: Vec<RateSeries>,
}

impl Chart for MonthlyRates {
    fn name(&self) -> &'static str {
        "return_rate_by_month"
    }

    fn title(&self) -> String {
        let span = match (self.months.first(), self.months.last()) {
            (Some(a), Some(b)) => format!("{a} – {b}"),
            _ => tr("chart.no_months"),
        };
        trf(
            "chart.rates_title",
            &[("n", &self.series.len().saturating_sub(1)), ("span", &span)],
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let area = titled(root, &self.title())?;
        if self.months.is_empty() {
            return super::nothing_to_draw(&area, &tr("chart.rates_empty"));
        }
        let n = self.months.len();
        let top = upper(self.series.iter().flat_map(|s| s.rates.iter().flatten().copied()), 0.01);
        let mut chart = ChartBuilder::on(&area)
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..top)?;
        let months = self.months.clone();
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&move |x| super::category_label(&months, *x, false))
            .y_label_formatter(&|y| pct(*y, 1))
            .x_desc(tr("chart.rates_x"))
            .y_desc(tr("chart.rates_y"))
            .label_style(font(14))
            .axis_desc_style(font(15))
            .draw()?;
        // Immature months: a grey band, because their rate can still rise.
        let immature: Vec<usize> = (0..n).filter(|&i| !self.mature[i]).collect();
        if !immature.is_empty() {
            let band = LIGHT_BAND.filled();
            chart
                .draw_series(
                    immature
                        .iter()
                        .map(|&i| Rectangle::new([(i as f64 - 0.5, 0.0), (i as f64 + 0.5, top)], band)),
                )?
                .label(tr("chart.rates_immature"))
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 18, y + 6)], band));
        }
        for (k, s) in self.series.iter().enumerate() {
            let color = SERIES[k % SERIES.len()];
            let width = if k == 0 { 4 } else { 2 };
            let points: Vec<(f64, f64)> = (0..n)
                .filter_map(|i| s.rates.get(i).copied().flatten().map(|r| (i as f64, r)))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(width)))?
                .label(s.name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(width)));
            // Mature months as filled dots, immature ones hollow.
            chart.draw_series(points.iter().map(|&(x, y)| {
                let filled = self.mature[x as usize];
                let style = if filled { color.filled() } else { color.stroke_width(2) };
                Circle::new((x, y), if k == 0 { 5 } else { 3 }, style)
            }))?;
        }
        super::legend(&mut chart, SeriesLabelPosition::UpperLeft, 14)?;
        Ok(())
    }
}

const LIGHT_BAND: RGBColor = RGBColor(235, 235, 235);
