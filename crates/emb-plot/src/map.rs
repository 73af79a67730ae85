//! What a map is made of: points, the fields that colour them, and how to draw them.

use std::collections::BTreeMap;

/// A 2-D map of embeddings: points already projected to the plane and the fields that can
/// colour them.
#[derive(Clone, Debug, Default)]
pub struct Map {
    /// A title drawn above the map; none by default.
    pub title: Option<String>,
    /// The points, drawn in this coordinate system scaled to fit (one unit is the same length
    /// along both axes).
    pub points: Vec<Point>,
    /// Values per point that can colour the map; each holds one value per point, in the order
    /// of [`Map::points`].
    pub fields: Vec<Field>,
}

/// One item on the map.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// The item's id, shown on hover and matched by the page's search.
    pub id: String,
    /// The horizontal coordinate.
    pub x: f32,
    /// The vertical coordinate; larger values are drawn higher up.
    pub y: f32,
    /// The item's content, shown on hover and matched by the page's search; the page keeps
    /// its first [`crate::TEXT_LIMIT`] characters.
    pub text: Option<String>,
    /// A small picture of the item (a photo, a sound's spectrogram): shown on hover in the
    /// page, and drawn on the figures where there is room.
    pub thumbnail: Option<Thumbnail>,
}

/// A small encoded picture (PNG or JPEG) of an item.
#[derive(Clone, Debug, PartialEq)]
pub struct Thumbnail {
    /// The encoded picture.
    pub bytes: Vec<u8>,
    /// Its media type: `image/png` or `image/jpeg`.
    pub media_type: String,
    /// Its width in pixels.
    pub width: u32,
    /// Its height in pixels.
    pub height: u32,
}

impl Thumbnail {
    /// The picture as a `data:` URI, for `<img src>` and SVG `<image href>`.
    pub fn data_uri(&self) -> String {
        use base64::Engine as _;
        format!(
            "data:{};base64,{}",
            self.media_type,
            base64::engine::general_purpose::STANDARD.encode(&self.bytes)
        )
    }
}

impl Point {
    /// A point with an id and coordinates and no text.
    pub fn new(id: impl Into<String>, x: f32, y: f32) -> Self {
        Self { id: id.into(), x, y, text: None, thumbnail: None }
    }

    /// Sets the content shown on hover.
    #[must_use]
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// Sets the picture shown on hover and drawn on figures.
    #[must_use]
    pub fn with_thumbnail(mut self, thumbnail: Thumbnail) -> Self {
        self.thumbnail = Some(thumbnail);
        self
    }
}

/// A named value per point that can colour the map.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// The name shown in the legend and in the page's "colour by" list.
    pub name: String,
    /// One value per point.
    pub values: Values,
    /// Readable names of categories, keyed by category (`"3"` -> `"sqlite, backup,
    /// database"`): shown in the legend and drawn at the category's centre on the map. A
    /// category without one is shown by its own name. Ignored for numbers.
    pub labels: BTreeMap<String, String>,
    /// What the legend calls points without a value; `"none"` by default (`"noise"` suits
    /// density clustering).
    pub missing: String,
}

/// The values of a [`Field`], one per point.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    /// A category per point (a cluster number, a metadata string), or none: each category gets
    /// a colour of its own.
    Category(Vec<Option<String>>),
    /// A number per point, or none: coloured along a continuous scale.
    Number(Vec<Option<f64>>),
}

impl Values {
    /// The number of values.
    pub fn len(&self) -> usize {
        match self {
            Values::Category(values) => values.len(),
            Values::Number(values) => values.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Field {
    /// A field of categories, one per point (`None` for a point in no category).
    pub fn category<S: Into<String>>(
        name: impl Into<String>,
        values: impl IntoIterator<Item = Option<S>>,
    ) -> Self {
        let values = values.into_iter().map(|value| value.map(Into::into)).collect();
        Self::new(name, Values::Category(values))
    }

    /// A field of numbers, one per point (`None` for a point without one).
    pub fn number(name: impl Into<String>, values: impl IntoIterator<Item = Option<f64>>) -> Self {
        Self::new(name, Values::Number(values.into_iter().collect()))
    }

    fn new(name: impl Into<String>, values: Values) -> Self {
        Self { name: name.into(), values, labels: BTreeMap::new(), missing: "none".to_owned() }
    }

    /// Gives `category` a readable label.
    #[must_use]
    pub fn with_label(mut self, category: impl Into<String>, label: impl Into<String>) -> Self {
        self.labels.insert(category.into(), label.into());
        self
    }

    /// Sets what the legend calls points without a value.
    #[must_use]
    pub fn with_missing(mut self, missing: impl Into<String>) -> Self {
        self.missing = missing.into();
        self
    }
}

/// How to draw a map.
#[derive(Clone, Debug, PartialEq)]
pub struct Style {
    /// The image's width in pixels; 1600 by default. The page fills its window instead.
    pub width: u32,
    /// The image's height in pixels; 1200 by default. The page fills its window instead.
    pub height: u32,
    /// The radius of a point in pixels; by default (`None`) it shrinks as the points get more
    /// numerous.
    pub point_radius: Option<f32>,
    /// The opacity of a point, from 0 to 1; by default (`None`) it falls as the points get more
    /// numerous, so that dense regions read darker.
    pub point_opacity: Option<f32>,
    /// Whether category labels are drawn on the map; true by default.
    pub show_labels: bool,
    /// Whether the legend (or colour bar) is drawn; true by default.
    pub show_legend: bool,
    /// The name of the field that colours the points; by default (`None`) the first field,
    /// and one colour for all when the map has no field.
    pub colour_by: Option<String>,
    /// How many categories get a colour of their own, the largest first; the rest share one
    /// grey "other". 20 by default, and at most that many colours are distinct.
    pub max_groups: usize,
    /// Whether the figures draw the points' thumbnails (those that fit without overlapping,
    /// framed in their point's colour); true by default. The page always shows them on hover.
    pub show_thumbnails: bool,
}

impl Default for Style {
    fn default() -> Self {
        Self {
            width: 1600,
            height: 1200,
            point_radius: None,
            point_opacity: None,
            show_labels: true,
            show_legend: true,
            colour_by: None,
            max_groups: 20,
            show_thumbnails: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_fill_the_fields() {
        let field = Field::category("cluster", [Some("0"), None])
            .with_label("0", "sqlite, backup")
            .with_missing("noise");
        assert_eq!(field.values, Values::Category(vec![Some("0".to_owned()), None]));
        assert_eq!(field.labels["0"], "sqlite, backup");
        assert_eq!(field.missing, "noise");
        assert_eq!(Field::number("year", [Some(2.0), None]).values.len(), 2);
        assert_eq!(Point::new("a", 1.0, 2.0).with_text("hi").text.as_deref(), Some("hi"));
        assert!(Style::default().show_labels);
    }
}
