//! A bitmap backend that draws text itself.
//!
//! plotters 0.3.7's ab_glyph text drawing places each glyph at the pen position without its side bearing and
//! truncates its fractional top to whole pixels, so letters in a word sit up to a pixel apart vertically and
//! unevenly apart horizontally ("ref u nd"). This wrapper delegates every shape to `BitMapBackend` and draws text
//! by positioning each glyph on a common baseline at its exact sub-pixel position (ab_glyph does the coverage),
//! honouring the anchor and rotation plotters asks for. The text box is one em high with the baseline at the
//! font's ascent, so centred labels look centred.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use plotters::prelude::BitMapBackend;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind};

pub struct CrispText<'a> {
    inner: BitMapBackend<'a>,
    font: FontRef<'static>,
}

impl<'a> CrispText<'a> {
    pub fn new(inner: BitMapBackend<'a>, font: FontRef<'static>) -> Self {
        CrispText { inner, font }
    }

    fn width(&self, text: &str, size: f64) -> f32 {
        let f = self.font.as_scaled(PxScale::from(size as f32));
        let mut w = 0.0;
        let mut prev = None;
        for c in text.chars() {
            let id = f.glyph_id(c);
            if let Some(p) = prev {
                w += f.kern(p, id);
            }
            w += f.h_advance(id);
            prev = Some(id);
        }
        w
    }
}

type Res<E> = Result<(), DrawingErrorKind<E>>;

impl<'a> DrawingBackend for CrispText<'a> {
    type ErrorType = <BitMapBackend<'a> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Res<Self::ErrorType> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Res<Self::ErrorType> {
        self.inner.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Res<Self::ErrorType> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(&mut self, from: BackendCoord, to: BackendCoord, style: &S) -> Res<Self::ErrorType> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Res<Self::ErrorType> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Res<Self::ErrorType> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Res<Self::ErrorType> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Res<Self::ErrorType> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(&mut self, pos: BackendCoord, size: (u32, u32), src: &[u8]) -> Res<Self::ErrorType> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<TStyle: BackendTextStyle>(
        &self,
        text: &str,
        style: &TStyle,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        Ok((self.width(text, style.size()).ceil() as u32, style.size().ceil() as u32))
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Res<Self::ErrorType> {
        let color = style.color();
        if color.alpha == 0.0 || text.is_empty() {
            return Ok(());
        }
        let size = style.size() as f32;
        let scaled = self.font.as_scaled(PxScale::from(size));
        let width = self.width(text, style.size());
        // Offsets of the text box's top-left corner from the anchor, in the text's own (unrotated) frame.
        let dx = match style.anchor().h_pos {
            HPos::Left => 0.0,
            HPos::Center => -width / 2.0,
            HPos::Right => -width,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0.0,
            VPos::Center => -size / 2.0,
            VPos::Bottom => -size,
        };
        let baseline = dy + scaled.ascent();
        let trans = style.transform();
        let (w, h) = self.get_size();
        let mut pen = dx;
        let mut prev = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = prev {
                pen += scaled.kern(p, id);
            }
            prev = Some(id);
            let glyph = id.with_scale_and_position(PxScale::from(size), point(pen, baseline));
            pen += scaled.h_advance(id);
            let Some(outline) = self.font.outline_glyph(glyph) else {
                continue;
            };
            let b = outline.px_bounds();
            let mut pixels = Vec::new();
            outline
                .draw(|x, y, coverage| pixels.push((x as i32 + b.min.x as i32, y as i32 + b.min.y as i32, coverage)));
            for (x, y, coverage) in pixels {
                if coverage <= 0.0 {
                    continue;
                }
                let (x, y) = trans.transform(x, y);
                let (x, y) = (pos.0 + x, pos.1 + y);
                if x >= 0 && y >= 0 && x < w as i32 && y < h as i32 {
                    let c = BackendColor {
                        alpha: color.alpha * coverage.min(1.0) as f64,
                        rgb: color.rgb,
                    };
                    self.inner.draw_pixel((x, y), c)?;
                }
            }
        }
        Ok(())
    }
}
