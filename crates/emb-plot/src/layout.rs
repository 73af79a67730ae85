//! Where things go in the figure: margins, the title, the legend, the frame of the map, the
//! scale from data to pixels, and the size and opacity of the points.

use crate::labels::Rectangle;
use crate::map::Style;
use crate::scene::Extent;

/// The figure's measurements are given for the default 1600x1200 image and scaled with the
/// square root of the image's area relative to it.
const REFERENCE_AREA: f32 = 1600.0 * 1200.0;

/// Font sizes and spacings at the reference size, in pixels.
pub(crate) mod size {
    /// The title's font size.
    pub const TITLE: f32 = 28.0;
    /// The legend heading's font size.
    pub const HEADING: f32 = 17.0;
    /// The font size of a legend entry's name and of labels on the map.
    pub const TEXT: f32 = 15.0;
    /// The font size of counts and ticks.
    pub const SMALL: f32 = 13.0;
    /// The space around the figure.
    pub const MARGIN: f32 = 28.0;
    /// The space between the map and the legend.
    pub const GUTTER: f32 = 28.0;
    /// The height of a legend line.
    pub const LINE: f32 = 24.0;
    /// The width of the legend's swatch column.
    pub const SWATCH: f32 = 24.0;
    /// The widest the legend may be.
    pub const LEGEND_WIDTH: f32 = 340.0;
}

/// Scales one measure of the reference figure to this one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Unit(pub f32);

impl Unit {
    /// The unit for an image of the style's size: 1 at 1600x1200, never below 0.75, so that
    /// text stays readable in small images.
    pub fn of(style: &Style) -> Self {
        let area = style.width as f32 * style.height as f32;
        Unit((area / REFERENCE_AREA).sqrt().max(0.75))
    }

    /// `measure` (given at the reference size) in this figure's pixels.
    pub fn of_reference(self, measure: f32) -> f32 {
        self.0 * measure
    }
}

/// Maps data coordinates to pixels, with the same scale on both axes and y pointing up.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Projection {
    scale: f32,
    centre_x: f32,
    centre_y: f32,
    pixel_x: f32,
    pixel_y: f32,
}

impl Projection {
    /// Fits `extent` centred into `area`.
    pub fn fit(extent: &Extent, area: Rectangle) -> Self {
        let scale = (area.width / extent.width()).min(area.height / extent.height());
        Projection {
            scale,
            centre_x: f32::midpoint(extent.minimum_x, extent.maximum_x),
            centre_y: f32::midpoint(extent.minimum_y, extent.maximum_y),
            pixel_x: area.left + area.width / 2.0,
            pixel_y: area.top + area.height / 2.0,
        }
    }

    /// The pixel position of data point (`x`, `y`).
    pub fn apply(&self, x: f32, y: f32) -> (f32, f32) {
        (
            self.pixel_x + (x - self.centre_x) * self.scale,
            self.pixel_y - (y - self.centre_y) * self.scale,
        )
    }
}

/// The figure's parts.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Layout {
    /// The scale of measures.
    pub unit: Unit,
    /// Where the title's baseline starts, when there is a title.
    pub title: Option<(f32, f32)>,
    /// The thin frame around the map.
    pub frame: Rectangle,
    /// The legend's column, when there is a legend.
    pub legend: Option<Rectangle>,
    /// From data to pixels.
    pub projection: Projection,
    /// The radius of a point.
    pub radius: f32,
    /// The opacity of a point.
    pub opacity: f32,
}

impl Layout {
    /// Lays out a figure of `count` points spanning `extent`, with a title when `titled`, and a
    /// legend `legend_width` pixels wide when there is one.
    pub fn new(
        style: &Style,
        extent: &Extent,
        count: usize,
        titled: bool,
        legend_width: Option<f32>,
    ) -> Self {
        let unit = Unit::of(style);
        let (width, height) = (style.width as f32, style.height as f32);
        let margin = unit.of_reference(size::MARGIN);
        let title_height = if titled { unit.of_reference(size::TITLE * 2.0) } else { 0.0 };
        let legend_space =
            legend_width.map_or(0.0, |legend| legend + unit.of_reference(size::GUTTER));
        let frame = Rectangle {
            left: margin,
            top: margin + title_height,
            width: (width - 2.0 * margin - legend_space).max(1.0),
            height: (height - 2.0 * margin - title_height).max(1.0),
        };
        let legend = legend_width.map(|legend| Rectangle {
            left: frame.right() + unit.of_reference(size::GUTTER),
            top: frame.top,
            width: legend,
            height: frame.height,
        });
        let radius = style
            .point_radius
            .unwrap_or_else(|| automatic_radius(frame.width * frame.height, count, unit));
        let padding = radius + unit.of_reference(12.0);
        let inside = Rectangle {
            left: frame.left + padding,
            top: frame.top + padding,
            width: (frame.width - 2.0 * padding).max(1.0),
            height: (frame.height - 2.0 * padding).max(1.0),
        };
        Layout {
            unit,
            title: titled.then(|| (margin, margin + unit.of_reference(size::TITLE))),
            frame,
            legend,
            projection: Projection::fit(extent, inside),
            radius,
            opacity: style
                .point_opacity
                .unwrap_or_else(|| automatic_opacity(count))
                .clamp(0.0, 1.0),
        }
    }
}

/// A point's radius when the style leaves it open: a fraction of the side of the square each
/// point would have if they were spread evenly over `area`, kept between 1.5 and 7 pixels at
/// the reference size.
pub(crate) fn automatic_radius(area: f32, count: usize, unit: Unit) -> f32 {
    let share = (area / count.max(1) as f32).sqrt();
    (0.3 * share).clamp(unit.of_reference(1.5), unit.of_reference(7.0))
}

/// A point's opacity when the style leaves it open: nearly opaque for up to a thousand points,
/// falling with the logarithm of the count to 0.3, so that dense regions read darker.
pub(crate) fn automatic_opacity(count: usize) -> f32 {
    let thousands = (count.max(1) as f32 / 1000.0).max(1.0);
    (0.85 - 0.25 * thousands.log10()).clamp(0.3, 0.85)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_fits_inside_the_frame_with_equal_scales() {
        let extent = Extent { minimum_x: -1.0, minimum_y: 0.0, maximum_x: 1.0, maximum_y: 10.0 };
        let layout = Layout::new(&Style::default(), &extent, 100, true, Some(300.0));
        let (left, top) = layout.projection.apply(-1.0, 10.0);
        let (right, bottom) = layout.projection.apply(1.0, 0.0);
        assert!(top >= layout.frame.top && bottom <= layout.frame.bottom());
        assert!(left >= layout.frame.left && right <= layout.frame.right());
        assert!(((bottom - top) / (right - left) - 5.0).abs() < 1e-3);
        let legend = layout.legend.unwrap();
        assert!(legend.left > layout.frame.right() && legend.right() < 1600.0);
    }

    #[test]
    fn points_shrink_and_fade_as_they_multiply() {
        let unit = Unit(1.0);
        assert!(automatic_radius(1e6, 100, unit) > automatic_radius(1e6, 20_000, unit));
        assert_eq!(automatic_radius(1e6, 10_000_000, unit), 1.5);
        assert_eq!(automatic_opacity(10), 0.85);
        assert!(automatic_opacity(20_000) < 0.6);
        assert_eq!(automatic_opacity(100_000_000), 0.3);
    }

    #[test]
    fn measures_scale_with_the_image() {
        let smaller = Style { width: 1200, height: 900, ..Style::default() };
        assert_eq!(Unit::of(&smaller), Unit(0.75));
        let small = Style { width: 400, height: 300, ..Style::default() };
        assert_eq!(Unit::of(&small), Unit(0.75));
        assert_eq!(Unit::of(&Style::default()), Unit(1.0));
    }
}
