//! The fonts text is drawn with, and how wide a text is in them.
//!
//! Widths come from laying the text out with `usvg`, the same code and the same font database
//! that render the PNG, so a label's box fits the label as drawn. Without a usable font the
//! width is estimated as [`ESTIMATED_ADVANCE`] of the font size per character.

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use resvg::usvg::{self, fontdb};

use crate::text;

/// The font families text is drawn in, the first the system has winning; `sans-serif` follows
/// them in the SVG. `DejaVu Sans` comes first because it is on most Linux machines (Debian:
/// `fonts-dejavu-core`) and covers many scripts.
pub const FONT_FAMILIES: [&str; 5] =
    ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica"];

/// The width of a character, as a fraction of the font size, assumed when no font is
/// available: about the average advance of `DejaVu Sans` and Verdana, wide fonts, so that boxes
/// err on the roomy side.
pub(crate) const ESTIMATED_ADVANCE: f32 = 0.6;

/// A text to measure.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span<'a> {
    /// The text, on one line.
    pub text: &'a str,
    /// The font size in pixels.
    pub size: f32,
    /// Whether it is drawn bold.
    pub bold: bool,
}

/// Measures text in the fonts of a font database.
#[derive(Clone, Debug)]
pub(crate) struct Fonts {
    database: Arc<fontdb::Database>,
    /// The family text is drawn in: the first of [`FONT_FAMILIES`] the database has, else the
    /// first family it has at all; `None` when it has no font.
    family: Option<String>,
}

impl Fonts {
    /// Measures with the fonts of `database`.
    pub fn new(database: Arc<fontdb::Database>) -> Self {
        let known = FONT_FAMILIES.iter().find(|family| {
            let families = [fontdb::Family::Name(family)];
            database
                .query(&fontdb::Query { families: &families, ..fontdb::Query::default() })
                .is_some()
        });
        let family = match known {
            Some(family) => Some((*family).to_owned()),
            None => database
                .faces()
                .find_map(|face| face.families.first().map(|(name, _)| name.clone())),
        };
        Self { database, family }
    }

    /// The fonts installed on this machine, loaded once per process.
    pub fn system() -> Self {
        static SYSTEM: OnceLock<Fonts> = OnceLock::new();
        SYSTEM
            .get_or_init(|| {
                let mut database = fontdb::Database::new();
                database.load_system_fonts();
                Fonts::new(Arc::new(database))
            })
            .clone()
    }

    /// The database, for rendering with the same fonts.
    pub fn database(&self) -> &Arc<fontdb::Database> {
        &self.database
    }

    /// Whether the database has a font to draw text with.
    pub fn usable(&self) -> bool {
        self.family.is_some()
    }

    /// The value of an SVG `font-family` attribute: the family text is drawn in here, then the
    /// rest of [`FONT_FAMILIES`] and `sans-serif` for a viewer on another machine.
    pub fn family_attribute(&self) -> String {
        let mut attribute = String::new();
        let chosen = self.family.as_deref();
        for family in chosen
            .into_iter()
            .chain(FONT_FAMILIES.into_iter().filter(|family| Some(*family) != chosen))
        {
            let quote = if family.contains(',') || family.contains('"') { "'" } else { "" };
            let _ = write!(attribute, "{quote}{family}{quote}, ");
        }
        attribute.push_str("sans-serif");
        attribute
    }

    /// The widths of `spans` in pixels, in order, as laid out with these fonts; estimated (see
    /// [`ESTIMATED_ADVANCE`]) for any span that the fonts cannot lay out.
    pub fn widths(&self, spans: &[Span]) -> Vec<f32> {
        let mut widths: Vec<f32> = spans.iter().map(estimate).collect();
        if spans.is_empty() || !self.usable() {
            return widths;
        }
        let mut document =
            String::from(r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">"#);
        let family = text::escape(&self.family_attribute());
        for (index, span) in spans.iter().enumerate() {
            let _ = write!(
                document,
                r#"<text id="t{index}" x="0" y="0" font-family="{family}" font-size="{}" font-weight="{}">{}</text>"#,
                span.size,
                if span.bold { "bold" } else { "normal" },
                text::escape(span.text),
            );
        }
        document.push_str("</svg>");
        let options = usvg::Options { fontdb: self.database.clone(), ..usvg::Options::default() };
        let Ok(tree) = usvg::Tree::from_str(&document, &options) else {
            return widths;
        };
        for (index, width) in widths.iter_mut().enumerate() {
            if let Some(usvg::Node::Text(laid_out)) = tree.node_by_id(&format!("t{index}")) {
                let measured = laid_out.bounding_box().width();
                if measured > 0.0 {
                    *width = measured;
                }
            }
        }
        widths
    }
}

/// How many times [`Fonts::fit`] cuts a text before it settles for what it has.
const FIT_ATTEMPTS: usize = 4;

impl Fonts {
    /// Cuts each of `texts`, drawn at `size` pixels (bold or not), with an ellipsis until it is
    /// at most `maximum` pixels wide; returns their widths, each at most `maximum`.
    pub fn fit(&self, texts: &mut [String], size: f32, bold: bool, maximum: f32) -> Vec<f32> {
        for attempt in 0..=FIT_ATTEMPTS {
            let spans: Vec<Span> = texts.iter().map(|text| Span { text, size, bold }).collect();
            let widths = self.widths(&spans);
            if attempt == FIT_ATTEMPTS || widths.iter().all(|width| *width <= maximum) {
                return widths.into_iter().map(|width| width.min(maximum)).collect();
            }
            for (text, width) in texts.iter_mut().zip(widths) {
                if width > maximum {
                    // Keep the share of characters that fits, assuming they are equally wide.
                    let characters = text.chars().count();
                    let keep = (characters as f32 * maximum / width).floor() as usize;
                    *text = text::truncate(text, keep.min(characters.saturating_sub(1)).max(2));
                }
            }
        }
        unreachable!("the last attempt returns")
    }
}

/// The width of `span` estimated without a font.
fn estimate(span: &Span) -> f32 {
    let advance = if span.bold { ESTIMATED_ADVANCE * 1.1 } else { ESTIMATED_ADVANCE };
    span.text.chars().count() as f32 * span.size * advance
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(text: &str) -> Span<'_> {
        Span { text, size: 20.0, bold: false }
    }

    #[test]
    fn without_fonts_widths_are_estimated() {
        let fonts = Fonts::new(Arc::new(fontdb::Database::new()));
        assert!(!fonts.usable());
        assert_eq!(fonts.widths(&[span("abcde")]), [5.0 * 20.0 * ESTIMATED_ADVANCE]);
    }

    #[test]
    fn with_system_fonts_widths_follow_the_glyphs() {
        let fonts = Fonts::system();
        if !fonts.usable() {
            return; // Nothing to measure with on this machine; the estimate is tested above.
        }
        let widths = fonts.widths(&[span("iiii"), span("WWWW"), span("<&>"), span("")]);
        assert!(widths[0] > 0.0 && widths[0] < widths[1], "{widths:?}");
        assert!(widths[2] > 0.0);
        assert_eq!(widths[3], 0.0);
    }

    #[test]
    fn texts_are_cut_to_fit() {
        for fonts in [Fonts::new(Arc::new(fontdb::Database::new())), Fonts::system()] {
            let mut texts =
                vec!["short".to_owned(), "a much longer text than fits in the room".repeat(4)];
            let widths = fonts.fit(&mut texts, 20.0, true, 200.0);
            assert_eq!(texts[0], "short");
            assert!(texts[1].ends_with(text::ELLIPSIS), "{texts:?}");
            assert!(widths.iter().all(|width| *width <= 200.0));
            let spans = [Span { text: &texts[1], size: 20.0, bold: true }];
            assert!(fonts.widths(&spans)[0] <= 200.0, "{texts:?}");
        }
    }

    #[test]
    fn the_family_list_ends_in_a_generic_family() {
        let none = Fonts::new(Arc::new(fontdb::Database::new()));
        assert_eq!(none.family_attribute(), format!("{}, sans-serif", FONT_FAMILIES.join(", ")));
        let system = Fonts::system();
        if let Some(family) = &system.family {
            assert!(system.family_attribute().starts_with(family.as_str()));
            assert_eq!(system.family_attribute().matches(family.as_str()).count(), 1);
        }
    }
}
