//! Chart 4: carrier damage and loss rates of the quarter with their Wilson 95% intervals, and the network rate
//! (all carriers together) as a dashed line. Carriers flagged worse than the network are drawn red.

use crate::i18n::{tr, trf};
use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{BLUE, Chart, GREY, RED, font, pct, short, titled, upper};

pub struct CarrierRate {
    pub carrier: String,
    pub shipments: i64,
    pub damage: (f64, f64, f64),
    pub loss: (f64, f64, f64),
    pub worse_than_network: bool,
}

pub struct CarrierRates {
    pub quarter: String,
    pub carriers: Vec<CarrierRate>,
    pub network_damage: Option<f64>,
    pub network_loss: Option<f64>,
}

impl Chart for CarrierRates {
    fn name(&self) -> &'static str {
        "carrier_damage_loss"
    }

    fn title(&self) -> String {
        trf("chart.carriers_title", &[("quarter", &self.quarter)])
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let area = titled(root, &self.title())?;
        if self.carriers.is_empty() {
            return super::nothing_to_draw(&area, &trf("chart.carriers_empty", &[("quarter", &self.quarter)]));
        }
        let (left, right) = area.split_horizontally(area.dim_in_pixel().0 / 2);
        panel(
            &left,
            &tr("chart.carriers_damage"),
            &self.carriers,
            |c| c.damage,
            self.network_damage,
            true,
        )?;
        panel(
            &right,
            &tr("chart.carriers_loss"),
            &self.carriers,
            |c| c.loss,
            self.network_loss,
            false,
        )?;
        Ok(())
    }
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    what: &str,
    carriers: &[CarrierRate],
    rate: impl Fn(&CarrierRate) -> (f64, f64, f64),
    network: Option<f64>,
    mark_worse: bool,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let n = carriers.len();
    let top = upper(carriers.iter().map(|c| rate(c).2).chain(network), 0.005);
    let mut chart = ChartBuilder::on(area)
        .caption(what, font(18))
        .margin(12)
        .x_label_area_size(55)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..top)?;
    let names: Vec<String> = carriers.iter().map(|c| short(&c.carrier, 8)).collect();
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&move |x| super::category_label(&names, *x, false))
        .y_label_formatter(&|y| pct(*y, 2))
        .x_desc(tr("chart.carriers_x"))
        .y_desc(trf("chart.carriers_y", &[("what", &what.to_lowercase())]))
        .label_style(font(13))
        .axis_desc_style(font(15))
        .draw()?;
    let color = |c: &CarrierRate| if mark_worse && c.worse_than_network { RED } else { BLUE };
    // The interval as a whisker with caps (plotters' ErrorBar also rings the point, which hides it).
    let cap = 0.12;
    chart.draw_series(carriers.iter().enumerate().flat_map(|(i, c)| {
        let (_, lo, hi) = rate(c);
        let (x, style) = (i as f64, color(c).stroke_width(2));
        [
            PathElement::new(vec![(x, lo), (x, hi)], style),
            PathElement::new(vec![(x - cap, lo), (x + cap, lo)], style),
            PathElement::new(vec![(x - cap, hi), (x + cap, hi)], style),
        ]
    }))?;
    chart
        .draw_series(
            carriers
                .iter()
                .enumerate()
                .map(|(i, c)| Circle::new((i as f64, rate(c).0), 5, color(c).filled())),
        )?
        .label(tr("chart.carriers_interval"))
        .legend(|(x, y)| Circle::new((x + 9, y), 5, BLUE.filled()));
    if mark_worse && carriers.iter().any(|c| c.worse_than_network) {
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
            .label(tr("chart.carriers_worse"))
            .legend(|(x, y)| Circle::new((x + 9, y), 5, RED.filled()));
    }
    if let Some(net) = network {
        chart
            .draw_series(DashedLineSeries::new(
                vec![(-0.5, net), (n as f64 - 0.5, net)],
                8,
                5,
                GREY.stroke_width(2),
            ))?
            .label(trf("chart.carriers_network", &[("rate", &pct(net, 2))]))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], GREY.stroke_width(2)));
    }
    super::legend(&mut chart, SeriesLabelPosition::UpperRight, 13)?;
    Ok(())
}
