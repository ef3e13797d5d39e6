//! Chart 6: the spike of each merchant or SKU flagged in the quarter: its weekly return rate against its shrunk
//! baseline p0, flagged weeks in red. One small panel per entity, the strongest (largest z) first.

use crate::i18n::{tr, trf};
use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{BLUE, Chart, GREY, RED, font, pct, short, titled, upper};

/// At most this many panels (3 rows × 2); the report's table lists every flag.
pub const MAX_PANELS: usize = 6;

pub struct SpikeWeek {
    /// `2026-W36`.
    pub week: String,
    pub rate: Option<f64>,
    pub p0: Option<f64>,
    pub flagged: bool,
}

pub struct SpikeSeries {
    /// e.g. `merchant M0002 广州青禾服装旗舰店`.
    pub label: String,
    pub weeks: Vec<SpikeWeek>,
}

pub struct SpikeCharts {
    pub quarter: String,
    /// Merchants and SKUs flagged in the quarter.
    pub flagged_entities: usize,
    /// The strongest of them (largest z) first, at most MAX_PANELS.
    pub series: Vec<SpikeSeries>,
}

impl Chart for SpikeCharts {
    fn name(&self) -> &'static str {
        "return_spikes"
    }

    fn title(&self) -> String {
        let shown = self.series.len();
        let of = if shown < self.flagged_entities {
            trf(
                "chart.spikes_of",
                &[("shown", &shown), ("total", &self.flagged_entities)],
            )
        } else {
            format!("{shown}")
        };
        trf("chart.spikes_title", &[("quarter", &self.quarter), ("of", &of)])
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let area = titled(root, &self.title())?;
        if self.series.is_empty() {
            return super::nothing_to_draw(&area, &trf("chart.spikes_empty", &[("quarter", &self.quarter)]));
        }
        let shown = &self.series[..self.series.len().min(MAX_PANELS)];
        let rows = shown.len().div_ceil(2);
        let cols = if shown.len() == 1 { 1 } else { 2 };
        let panels = area.split_evenly((rows, cols));
        for (s, panel) in shown.iter().zip(panels.iter()) {
            draw_panel(panel, s)?;
        }
        Ok(())
    }
}

fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, s: &SpikeSeries) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let n = s.weeks.len();
    let top = upper(s.weeks.iter().flat_map(|w| [w.rate, w.p0]).flatten(), 0.01);
    let mut chart = ChartBuilder::on(area)
        .caption(short(&s.label, 40), font(15))
        .margin(8)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5).max(0.5), 0f64..top)?;
    let weeks: Vec<String> = s.weeks.iter().map(|w| w.week.clone()).collect();
    let step = n.div_ceil(8).max(1);
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .disable_x_mesh()
        .x_labels(n.min(20))
        .x_label_formatter(&move |x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize).is_multiple_of(step) {
                weeks.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| pct(*y, 0))
        .x_desc(tr("chart.spikes_x"))
        .y_desc(tr("chart.spikes_y"))
        .label_style(font(11))
        .axis_desc_style(font(12))
        .draw()?;
    let p0: Vec<(f64, f64)> = s
        .weeks
        .iter()
        .enumerate()
        .filter_map(|(i, w)| w.p0.map(|p| (i as f64, p)))
        .collect();
    chart
        .draw_series(DashedLineSeries::new(p0, 6, 4, GREY.stroke_width(2)))?
        .label(tr("chart.spikes_p0"))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], GREY.stroke_width(2)));
    let rate: Vec<(f64, f64)> = s
        .weeks
        .iter()
        .enumerate()
        .filter_map(|(i, w)| w.rate.map(|r| (i as f64, r)))
        .collect();
    chart
        .draw_series(LineSeries::new(rate.clone(), BLUE.stroke_width(2)))?
        .label(tr("chart.spikes_rate"))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLUE.stroke_width(2)));
    chart
        .draw_series(
            s.weeks
                .iter()
                .enumerate()
                .filter(|(_, w)| w.flagged)
                .filter_map(|(i, w)| w.rate.map(|r| Circle::new((i as f64, r), 5, RED.filled()))),
        )?
        .label(tr("chart.spikes_flagged"))
        .legend(|(x, y)| Circle::new((x + 9, y), 5, RED.filled()));
    super::legend(&mut chart, SeriesLabelPosition::UpperLeft, 11)?;
    Ok(())
}
