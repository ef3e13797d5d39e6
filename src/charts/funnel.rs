//! Chart 5: a funnel plot of merchants for the quarter: return rate against units sold, with the platform rate
//! and its 95% and 99.8% control limits (p ± z·√(p(1−p)/n)), which narrow as volume grows. A small merchant far
//! from the platform rate is noise; a large one is not. Merchants with a spike flag in the quarter are labelled.

use crate::i18n::{tr, trf};
use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{BLUE, Chart, GREY, RED, font, pct, short, titled, upper};
use crate::metrics::Z95;

/// z of a two-sided 99.8% interval (the outer funnel, "3 sigma").
pub const Z998: f64 = 3.090_232_306_167_813;

/// At most this many flagged merchants are named on the chart, the strongest flags first; more names would
/// overlap into an unreadable blot (a large platform's quarter has dozens of flagged merchants). The report's table lists all.
pub const MAX_LABELS: usize = 10;

pub struct FunnelPoint {
    pub merchant: String,
    pub units_sold: i64,
    pub return_rate: f64,
    pub flagged: bool,
    /// Named on the chart (one of the MAX_LABELS strongest flagged merchants).
    pub labelled: bool,
}

pub struct MerchantFunnel {
    pub quarter: String,
    pub platform_rate: Option<f64>,
    pub points: Vec<FunnelPoint>,
}

/// The control limits around `p` for `n` units at `z`, clamped to [0, 1].
pub fn limits(p: f64, n: f64, z: f64) -> (f64, f64) {
    let half = z * (p * (1.0 - p) / n).sqrt();
    ((p - half).max(0.0), (p + half).min(1.0))
}

impl Chart for MerchantFunnel {
    fn name(&self) -> &'static str {
        "merchant_funnel"
    }

    fn title(&self) -> String {
        trf("chart.funnel_title", &[("quarter", &self.quarter)])
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let area = titled(root, &self.title())?;
        let (Some(p), false) = (self.platform_rate, self.points.is_empty()) else {
            return super::nothing_to_draw(&area, &trf("chart.funnel_empty", &[("quarter", &self.quarter)]));
        };
        let max_n = self.points.iter().map(|m| m.units_sold).max().unwrap_or(1).max(10) as f64;
        let min_n = (self.points.iter().map(|m| m.units_sold).min().unwrap_or(1).max(1) as f64 / 1.5).max(1.0);
        // Head room above the highest merchant for the legend, which sits top left.
        let top = (upper(self.points.iter().map(|m| m.return_rate), p * 2.0) * 1.3).min(1.0);
        let mut chart = ChartBuilder::on(&area)
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d((min_n..max_n * 1.5).log_scale(), 0f64..top)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| pct(*y, 1))
            .x_desc(tr("chart.funnel_x"))
            .y_desc(tr("chart.rates_y"))
            .label_style(font(14))
            .axis_desc_style(font(15))
            .draw()?;
        // Limits drawn as curves over a log-spaced grid of volumes.
        let grid: Vec<f64> = (0..=200)
            .map(|i| min_n * (max_n * 1.5 / min_n).powf(i as f64 / 200.0))
            .collect();
        for (z, label, style) in [
            (Z95, tr("chart.funnel_95"), GREY.stroke_width(1)),
            (Z998, tr("chart.funnel_998"), RED.mix(0.6).stroke_width(2)),
        ] {
            let lo: Vec<(f64, f64)> = grid.iter().map(|&n| (n, limits(p, n, z).0)).collect();
            let hi: Vec<(f64, f64)> = grid.iter().map(|&n| (n, limits(p, n, z).1.min(top))).collect();
            chart
                .draw_series(LineSeries::new(hi, style))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
            chart.draw_series(LineSeries::new(lo, style))?;
        }
        chart
            .draw_series(LineSeries::new(
                vec![(min_n, p), (max_n * 1.5, p)],
                BLACK.stroke_width(2),
            ))?
            .label(trf("chart.funnel_platform", &[("rate", &pct(p, 2))]))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(2)));
        chart
            .draw_series(
                self.points
                    .iter()
                    .filter(|m| !m.flagged)
                    .map(|m| Circle::new((m.units_sold as f64, m.return_rate), 4, BLUE.mix(0.7).filled())),
            )?
            .label(tr("chart.funnel_merchant"))
            .legend(|(x, y)| Circle::new((x + 9, y), 4, BLUE.filled()));
        let flagged: Vec<&FunnelPoint> = self.points.iter().filter(|m| m.flagged).collect();
        if !flagged.is_empty() {
            chart
                .draw_series(
                    flagged
                        .iter()
                        .map(|m| Circle::new((m.units_sold as f64, m.return_rate), 6, RED.filled())),
                )?
                .label(if flagged.iter().filter(|m| m.labelled).count() < flagged.len() {
                    trf("chart.funnel_flagged_named", &[("n", &MAX_LABELS)])
                } else {
                    tr("chart.funnel_flagged")
                })
                .legend(|(x, y)| Circle::new((x + 9, y), 6, RED.filled()));
            chart.draw_series(flagged.iter().filter(|m| m.labelled).map(|m| {
                Text::new(
                    short(&m.merchant, 14),
                    (m.units_sold as f64 * 1.06, (m.return_rate + top * 0.02).min(top * 0.97)),
                    font(14).color(&RED),
                )
            }))?;
        }
        super::legend(&mut chart, SeriesLabelPosition::UpperLeft, 14)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_narrow_with_volume_and_stay_inside_zero_and_one() {
        // p = 0.1, n = 100: sd = sqrt(0.09 / 100) = 0.03; 1.96 × 0.03 = 0.0588.
        let (lo, hi) = limits(0.1, 100.0, Z95);
        assert!((lo - 0.0412).abs() < 1e-4 && (hi - 0.1588).abs() < 1e-4, "{lo} {hi}");
        // n = 10 000: sd = 0.003; 3.09 × 0.003 = 0.00927.
        let (lo, hi) = limits(0.1, 10_000.0, Z998);
        assert!((lo - 0.09073).abs() < 1e-5 && (hi - 0.10927).abs() < 1e-5, "{lo} {hi}");
        // A tiny merchant: the lower limit would be negative.
        assert_eq!(limits(0.1, 4.0, Z998).0, 0.0);
    }
}
