//! The page carries the glyphs it uses, so it renders with no missing-glyph boxes on a machine without a CJK font
//! (SPEC §5): the characters of the finished page are looked up in the font the charts embed (WenQuanYi Micro
//! Hei, `charts::FONT`), those glyphs are cut out of it (allsorts' subsetter keeps a cmap, so a browser can use the
//! result) and put into the page's style as a `@font-face` data URL, named first in the font list. A page of a
//! quarter takes a few hundred glyphs, ≈ 50–100 KB of font.

use anyhow::{Context, Result};
use base64::Engine;

use allsorts::binary::read::ReadScope;
use allsorts::font::MatchingPresentation;
use allsorts::font_data::FontData;

/// The family name the page's style gives the subset.
pub const FAMILY: &str = "AftersalesCJK";

/// The marker in the template's style where the `@font-face` goes.
pub const MARKER: &str = "/* font-face */";

/// The embedded font, parsed once for all the pages of a run (parsing the 5 MB collection is most of the cost of
/// a page's subset; a run writes one page per merchant).
pub struct Subsetter {
    font: allsorts::font::Font<allsorts::font_data::DynamicFontTableProvider<'static>>,
    os2: Vec<u8>,
}

impl Subsetter {
    pub fn new() -> Result<Subsetter> {
        use allsorts::tables::FontTableProvider;
        let scope = ReadScope::new(crate::charts::FONT);
        let data = scope.read::<FontData<'static>>().context("reading the embedded font")?;
        let provider = data.table_provider(0).context("the embedded font's first face")?;
        let font = allsorts::font::Font::new(provider).context("reading the embedded font's tables")?;
        // The subsetter writes the tables a PDF needs; browsers' font sanitiser also wants OS/2 (metrics and
        // classification, independent of which glyphs are kept): the original one goes back in.
        let os2 = font
            .font_table_provider
            .read_table_data(allsorts::tag::OS_2)
            .context("the embedded font's OS/2 table")?
            .into_owned();
        Ok(Subsetter { font, os2 })
    }

    /// The subset holding a glyph for every character of `text` the font has, as TTF bytes, and the characters
    /// it has no glyph for.
    pub fn subset_for(&mut self, text: &str) -> Result<(Vec<u8>, Vec<char>)> {
        let mut chars: Vec<char> = text.chars().filter(|c| !c.is_control()).collect();
        chars.sort_unstable();
        chars.dedup();
        // Glyph 0 (.notdef) must come first.
        let mut glyphs: Vec<u16> = vec![0];
        let mut missing = Vec::new();
        for c in chars {
            let (g, _) = self.font.lookup_glyph_index(c, MatchingPresentation::NotRequired, None);
            if g == 0 {
                if !c.is_whitespace() {
                    missing.push(c);
                }
            } else if !glyphs.contains(&g) {
                glyphs.push(g);
            }
        }
        let bytes = allsorts::subset::subset(&self.font.font_table_provider, &glyphs)
            .map_err(|e| anyhow::anyhow!("cutting the page's glyphs out of the embedded font: {e:?}"))?;
        Ok((with_table(&bytes, *b"OS/2", &self.os2)?, missing))
    }

    /// The page with a `@font-face` for its own characters at the template's marker.
    pub fn embed(&mut self, html: &str) -> Result<String> {
        let (bytes, _) = self.subset_for(html)?;
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        let face = format!(
            "@font-face {{ font-family: \"{FAMILY}\"; src: url(data:font/ttf;base64,{b64}) format(\"truetype\"); }}"
        );
        Ok(html.replacen(MARKER, &face, 1))
    }
}

/// An sfnt (TrueType) font with one table added: the table directory rewritten, tables 4-byte aligned, each
/// table's checksum and the font's checksum adjustment in `head` computed as the OpenType specification says.
fn with_table(font: &[u8], tag: [u8; 4], table: &[u8]) -> Result<Vec<u8>> {
    let be16 = |b: &[u8], at: usize| u16::from_be_bytes([b[at], b[at + 1]]);
    let be32 = |b: &[u8], at: usize| u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    anyhow::ensure!(font.len() >= 12, "a font subset shorter than its header");
    let n = usize::from(be16(font, 4));
    let mut tables: Vec<([u8; 4], Vec<u8>)> = (0..n)
        .map(|i| {
            let r = 12 + 16 * i;
            let (off, len) = (be32(font, r + 8) as usize, be32(font, r + 12) as usize);
            (
                [font[r], font[r + 1], font[r + 2], font[r + 3]],
                font[off..off + len].to_vec(),
            )
        })
        .collect();
    tables.retain(|(t, _)| *t != tag);
    tables.push((tag, table.to_vec()));
    tables.sort_by_key(|(t, _)| *t);
    let checksum = |b: &[u8]| {
        b.chunks(4).fold(0u32, |sum, c| {
            let mut w = [0u8; 4];
            w[..c.len()].copy_from_slice(c);
            sum.wrapping_add(u32::from_be_bytes(w))
        })
    };
    let count = tables.len() as u16;
    let entry_selector = 15 - count.leading_zeros() as u16;
    let search_range = (1u16 << entry_selector) * 16;
    let mut out = Vec::new();
    out.extend_from_slice(&font[..4]);
    for v in [count, search_range, entry_selector, count * 16 - search_range] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    let mut offset = 12 + 16 * tables.len();
    let mut head_at = None;
    for (t, data) in tables.iter_mut() {
        if t == b"head" {
            // checkSumAdjustment is computed with itself zero.
            data[8..12].copy_from_slice(&[0; 4]);
            head_at = Some(offset);
        }
        out.extend_from_slice(t);
        out.extend_from_slice(&checksum(data).to_be_bytes());
        out.extend_from_slice(&(offset as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        offset += data.len().div_ceil(4) * 4;
    }
    for (_, data) in &tables {
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(4) * 4, 0);
    }
    let head_at = head_at.context("a font subset without a head table")?;
    let adjustment = 0xB1B0_AFBAu32.wrapping_sub(checksum(&out));
    out[head_at + 8..head_at + 12].copy_from_slice(&adjustment.to_be_bytes());
    Ok(out)
}

/// Each page with its own glyphs, on two threads (each with its own parsed font): a run writes a page per merchant.
pub fn embed_all(pages: Vec<(String, String)>) -> Result<Vec<(String, String)>> {
    let half = pages.len() / 2;
    let mut pages = pages;
    let second_half = pages.split_off(half);
    let embed = |list: Vec<(String, String)>| -> Result<Vec<(String, String)>> {
        let mut fonts = Subsetter::new()?;
        list.into_iter()
            .map(|(file, page)| Ok((file, fonts.embed(&page)?)))
            .collect()
    };
    let (first, second) = std::thread::scope(|s| {
        let second = s.spawn(|| embed(second_half));
        (
            embed(pages),
            second.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
        )
    });
    Ok(first?.into_iter().chain(second?).collect())
}
