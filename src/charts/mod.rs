//! Charts drawn with plotters, each written as PNG (for the report and for mail) and SVG (for slides).
//!
//! A chart is a plain data struct that knows nothing of polars: `report::facts` fills it from the output tables,
//! so what a chart shows is exactly what the tables hold. Every chart has a title naming what it shows and the
//! period it covers, axis labels with units, and draws the same on both backends.
//!
//! Text is drawn with one embedded font, WenQuanYi Micro Hei (assets/fonts, Apache-2.0), because plotters has no
//! fallback chain and merchant names, categories and carriers are Chinese: one font must cover Latin, digits
//! and CJK. The SVGs keep text as text, naming the font family, so a viewer needs a CJK font of its own; the
//! report therefore embeds the PNGs.

pub mod badges;
pub mod carriers;
pub mod funnel;
pub mod rates;
pub mod reasons;
pub mod sla;
pub mod spikes;
pub mod text;

use std::sync::OnceLock;

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

/// Every chart is this size in pixels, PNG and SVG alike.
pub const WIDTH: u32 = 1200;
pub const HEIGHT: u32 = 700;

pub static FONT: &[u8] = include_bytes!("../../assets/fonts/wqy-microhei.ttc");

pub const FAMILY: &str = "sans-serif";

pub const BLUE: RGBColor = RGBColor(31, 119, 180);
pub const ORANGE: RGBColor = RGBColor(255, 127, 14);
pub const GREEN: RGBColor = RGBColor(44, 160, 44);
pub const RED: RGBColor = RGBColor(214, 39, 40);
pub const PURPLE: RGBColor = RGBColor(148, 103, 189);
pub const BROWN: RGBColor = RGBColor(140, 86, 75);
pub const GREY: RGBColor = RGBColor(127, 127, 127);
pub const LIGHT_GREY: RGBColor = RGBColor(230, 230, 230);
pub const SERIES: [RGBColor; 6] = [BLUE, ORANGE, GREEN, PURPLE, BROWN, GREY];

/// Registers the embedded font under every family name plotters' defaults ask for. Safe to call many times.
pub fn init_fonts() -> Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        ["sans-serif", "serif", "monospace"]
            .iter()
            .all(|f| register_font(f, FontStyle::Normal, FONT).is_ok())
    });
    if ok {
        Ok(())
    } else {
        Err(anyhow!(
            "the embedded chart font (assets/fonts/wqy-microhei.ttc) cannot be read"
        ))
    }
}

/// One chart: a file stem, a title and the drawing, generic over the backend so PNG and SVG are the same picture.
pub trait Chart {
    /// File stem under charts/.
    fn name(&self) -> &'static str;
    fn title(&self) -> String;
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static;
}

pub struct Rendered {
    pub name: &'static str,
    pub title: String,
    pub png: Vec<u8>,
    pub svg: String,
}

/// Draws a chart on a white canvas, once into a PNG and once into an SVG.
pub fn render<C: Chart>(chart: &C) -> Result<Rendered> {
    init_fonts()?;
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let font = ab_glyph::FontRef::try_from_slice(FONT)?;
        let root =
            text::CrispText::new(BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)), font).into_drawing_area();
        root.fill(&WHITE)?;
        chart.draw(&root)?;
        root.present()?;
    }
    let mut png = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png, WIDTH, HEIGHT);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Default);
        enc.set_filter(png::FilterType::Paeth);
        let mut w = enc.write_header()?;
        w.write_image_data(&rgb)?;
        w.finish()?;
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        chart.draw(&root)?;
        root.present()?;
    }
    Ok(Rendered {
        name: chart.name(),
        title: chart.title(),
        png,
        svg,
    })
}

pub fn font(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().into()
}

/// The title band at the top of a chart; returns the area below it.
pub fn titled<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, title: &str) -> Result<DrawingArea<DB, Shift>>
where
    DB::ErrorType: 'static,
{
    Ok(root.titled(title, font(24))?)
}

/// A message in the middle of an area, for a chart whose period holds nothing to draw (so the file still says why
/// it is empty rather than being missing).
pub fn nothing_to_draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, message: &str) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let (w, h) = area.dim_in_pixel();
    let style = font(20).color(&GREY).pos(plotters::style::text_anchor::Pos::new(
        plotters::style::text_anchor::HPos::Center,
        plotters::style::text_anchor::VPos::Center,
    ));
    area.draw(&Text::new(message.to_string(), (w as i32 / 2, h as i32 / 2), style))?;
    Ok(())
}

/// The legend box every chart uses, at `position`, with labels of `size` px.
pub fn legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
    size: u32,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(position)
        .label_font(font(size))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    Ok(())
}

/// The label of the category drawn at `x` (categories sit at 0, 1, …), or nothing for a tick between them;
/// `reversed` when the first category is drawn at the top of a vertical axis.
pub fn category_label(names: &[String], x: f64, reversed: bool) -> String {
    let i = x.round();
    if (x - i).abs() > 1e-6 || i < 0.0 || i as usize >= names.len() {
        return String::new();
    }
    let i = i as usize;
    names[if reversed { names.len() - 1 - i } else { i }].clone()
}

/// `0.0523` → `5.2%`.
pub fn pct(v: f64, decimals: usize) -> String {
    format!("{:.*}%", decimals, v * 100.0)
}

/// A y range from 0 to a little above the largest value, so the top point is not on the frame.
pub fn upper(values: impl IntoIterator<Item = f64>, floor: f64) -> f64 {
    let m = values.into_iter().filter(|v| v.is_finite()).fold(0.0, f64::max);
    (m * 1.15).max(floor)
}

/// A label shortened to `max` characters (CJK counts as one), so long merchant names do not run into each other.
pub fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_labels_sit_on_whole_ticks_and_read_top_down_when_reversed() {
        let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        assert_eq!(category_label(&names, 0.0, false), "a");
        assert_eq!(category_label(&names, 2.0, false), "c");
        assert_eq!(category_label(&names, 0.5, false), "");
        assert_eq!(category_label(&names, 3.0, false), "");
        assert_eq!(category_label(&names, -1.0, false), "");
        // Reversed: the first name at the top (the highest y).
        assert_eq!(category_label(&names, 2.0, true), "a");
        assert_eq!(category_label(&names, 0.0, true), "c");
    }
}
