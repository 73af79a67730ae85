//! The map as a PNG image: the SVG figure rendered with `resvg`.

use std::fmt;

use resvg::{tiny_skia, usvg};

use crate::fonts::Fonts;
use crate::map::{Map, Style};
use crate::{Error, Result};

/// A rendered image and what the caller should know about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The PNG file's bytes.
    pub png: Vec<u8>,
    /// What went less well than asked (no font, so no text), to show the user.
    pub warnings: Vec<Warning>,
}

/// Something the image lacks, that the caller may want to tell the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Warning {
    /// The machine has no font, so the image has no title, labels or legend.
    NoFont,
}

impl fmt::Display for Warning {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::NoFont => formatter.write_str(
                "no font found, so the image has no title, labels or legend; \
                 install one (on Debian: apt-get install fonts-dejavu-core)",
            ),
        }
    }
}

/// Draws `map` as the figure of [`crate::svg`] and renders it to a PNG of `style.width` by
/// `style.height` pixels, with the system's fonts.
///
/// Without any usable font the image is drawn without text and [`Rendered::warnings`] holds
/// [`Warning::NoFont`]; this never fails for want of fonts.
pub fn png(map: &Map, style: &Style) -> Result<Rendered> {
    render(map, style, &Fonts::system())
}

/// Renders `map` with the fonts of `fonts`.
pub(crate) fn render(map: &Map, style: &Style, fonts: &Fonts) -> Result<Rendered> {
    let with_text = fonts.usable();
    let document = crate::svg::draw(map, style, fonts, with_text)?;
    let options = usvg::Options { fontdb: fonts.database().clone(), ..usvg::Options::default() };
    let tree = usvg::Tree::from_str(&document, &options)
        .map_err(|error| Error::Render(error.to_string()))?;
    let mut pixmap = tiny_skia::Pixmap::new(style.width, style.height)
        .ok_or(Error::Size { width: style.width, height: style.height })?;
    resvg::render(&tree, tiny_skia::Transform::identity(), &mut pixmap.as_mut());
    let png = pixmap.encode_png().map_err(|error| Error::Render(error.to_string()))?;
    let warnings = if with_text { Vec::new() } else { vec![Warning::NoFont] };
    Ok(Rendered { png, warnings })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use resvg::usvg::fontdb;

    use super::*;
    use crate::map::{Field, Point};

    fn map() -> Map {
        let points: Vec<Point> = (0..300)
            .map(|index| {
                let angle = index as f32 * 0.7;
                let centre = (index % 3) as f32 * 4.0;
                Point::new(
                    index.to_string(),
                    centre + angle.cos() * (index as f32 / 300.0),
                    angle.sin(),
                )
            })
            .collect();
        let clusters = (0..300).map(|index| Some((index % 3).to_string()));
        let field =
            Field::category("cluster", clusters).with_label("0", "first").with_label("1", "second");
        Map { title: Some("Test".to_owned()), points, fields: vec![field] }
    }

    /// The image's width, height and RGBA pixels.
    fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut reader = ::png::Decoder::new(std::io::Cursor::new(png)).read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!(info.color_type, ::png::ColorType::Rgba);
        pixels.truncate(info.buffer_size());
        (info.width, info.height, pixels)
    }

    fn coloured_pixels(pixels: &[u8]) -> usize {
        pixels
            .chunks_exact(4)
            .filter(|pixel| {
                let (low, high) =
                    (pixel[..3].iter().min().unwrap(), pixel[..3].iter().max().unwrap());
                high - low > 40
            })
            .count()
    }

    #[test]
    fn the_png_has_the_requested_size_and_coloured_points() {
        let style = Style { width: 640, height: 480, ..Style::default() };
        let rendered = png(&map(), &style).unwrap();
        let (width, height, pixels) = decode(&rendered.png);
        assert_eq!((width, height), (640, 480));
        assert!(pixels.chunks_exact(4).all(|pixel| pixel[3] == 255), "the background is opaque");
        assert!(coloured_pixels(&pixels) > 1000);
    }

    #[test]
    fn without_fonts_the_png_has_no_text_and_a_warning() {
        let fonts = Fonts::new(Arc::new(fontdb::Database::new()));
        let style = Style { width: 320, height: 240, ..Style::default() };
        let rendered = render(&map(), &style, &fonts).unwrap();
        assert_eq!(rendered.warnings, [Warning::NoFont]);
        assert!(rendered.warnings[0].to_string().contains("fonts-dejavu-core"));
        let (width, height, pixels) = decode(&rendered.png);
        assert_eq!((width, height), (320, 240));
        assert!(coloured_pixels(&pixels) > 100);
    }

    #[test]
    fn with_system_fonts_there_is_no_warning() {
        if Fonts::system().usable() {
            let style = Style { width: 320, height: 240, ..Style::default() };
            assert!(png(&map(), &style).unwrap().warnings.is_empty());
        }
    }
}
