//! What every output draws, worked out once from a [`Map`]: the checked input, the extent of
//! the points, which colour each point gets, the legend's entries and the labels' anchors.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::colour::{self, Colour};
use crate::map::{Field, Map, Style, Values};
use crate::text;
use crate::{Error, Result};

/// At most this many categories are offered as labels on the map, the largest first; placing
/// more would only drop them for want of room.
const LABEL_CANDIDATES: usize = 200;

/// The longest label drawn on the map, in characters.
const LABEL_LIMIT: usize = 40;

/// The rectangle the points span, in data coordinates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Extent {
    pub minimum_x: f32,
    pub minimum_y: f32,
    pub maximum_x: f32,
    pub maximum_y: f32,
}

impl Extent {
    /// The extent of the map's points, widened to a unit square around them when they have no
    /// width or height (one point, or none).
    pub fn of(map: &Map) -> Self {
        let mut extent = Extent {
            minimum_x: f32::INFINITY,
            minimum_y: f32::INFINITY,
            maximum_x: f32::NEG_INFINITY,
            maximum_y: f32::NEG_INFINITY,
        };
        for point in &map.points {
            extent.minimum_x = extent.minimum_x.min(point.x);
            extent.minimum_y = extent.minimum_y.min(point.y);
            extent.maximum_x = extent.maximum_x.max(point.x);
            extent.maximum_y = extent.maximum_y.max(point.y);
        }
        if map.points.is_empty() {
            return Extent { minimum_x: 0.0, minimum_y: 0.0, maximum_x: 1.0, maximum_y: 1.0 };
        }
        if extent.maximum_x - extent.minimum_x <= 0.0 {
            extent.minimum_x -= 0.5;
            extent.maximum_x += 0.5;
        }
        if extent.maximum_y - extent.minimum_y <= 0.0 {
            extent.minimum_y -= 0.5;
            extent.maximum_y += 0.5;
        }
        extent
    }

    /// The width in data units.
    pub fn width(&self) -> f32 {
        self.maximum_x - self.minimum_x
    }

    /// The height in data units.
    pub fn height(&self) -> f32 {
        self.maximum_y - self.minimum_y
    }
}

/// One line of a legend.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    /// The category's label, or its name, or "other (N)" or the field's name for no value.
    pub name: String,
    /// How many points it covers.
    pub count: usize,
    /// The colour its points are drawn in.
    pub colour: Colour,
    /// Whether it stands for points without a value or for the categories past the palette,
    /// which are drawn beneath the rest.
    pub background: bool,
}

/// How the points are coloured.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Colouring {
    /// All in one colour: the map has no field.
    Single,
    /// By category: the legend's entries and, per point, the index of its entry.
    Groups { field: String, entries: Vec<Entry>, of_point: Vec<u32> },
    /// Along the continuous scale from `minimum` to `maximum`: per point, where its value lies
    /// on the scale (0 to 1), or `None` for no value; `missing` is the legend's entry for those.
    Numbers {
        field: String,
        minimum: f64,
        maximum: f64,
        fractions: Vec<Option<f32>>,
        missing: Option<Entry>,
    },
}

/// A label to place on the map: a category's name at the centre of its points.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Anchor {
    /// The text to draw, on one line and at most [`LABEL_LIMIT`] characters long.
    pub text: String,
    /// The centre of the category's points (the median along each axis), in data units.
    pub x: f32,
    /// See `x`.
    pub y: f32,
    /// The colour of the category's points, or `None` when the map is coloured by another field.
    pub colour: Option<Colour>,
    /// The index of the category's legend entry, when the map is coloured by the same field.
    pub entry: Option<u32>,
}

/// Checks that every field has one value per point and every coordinate is finite.
pub(crate) fn check(map: &Map) -> Result<()> {
    for field in &map.fields {
        if field.values.len() != map.points.len() {
            return Err(Error::FieldLength {
                field: field.name.clone(),
                expected: map.points.len(),
                received: field.values.len(),
            });
        }
    }
    if let Some(point) =
        map.points.iter().find(|point| !(point.x.is_finite() && point.y.is_finite()))
    {
        return Err(Error::NotFinite { id: point.id.clone() });
    }
    Ok(())
}

/// The index of the field that colours the map: the one [`Style::colour_by`] names, or the
/// first; `None` when the map has no field.
pub(crate) fn colour_field(map: &Map, style: &Style) -> Result<Option<usize>> {
    match &style.colour_by {
        None => Ok(if map.fields.is_empty() { None } else { Some(0) }),
        Some(name) => match map.fields.iter().position(|field| &field.name == name) {
            Some(index) => Ok(Some(index)),
            None => Err(Error::UnknownField {
                name: name.clone(),
                available: map.fields.iter().map(|field| field.name.clone()).collect(),
            }),
        },
    }
}

/// The index of the field whose categories are labelled on the map: the colouring field when it
/// holds categories, otherwise the first field of categories that has labels.
pub(crate) fn label_field(map: &Map, colour_field: Option<usize>) -> Option<usize> {
    let is_category = |field: &Field| matches!(field.values, Values::Category(_));
    match colour_field {
        Some(index) if is_category(&map.fields[index]) => Some(index),
        _ => map.fields.iter().position(|field| is_category(field) && !field.labels.is_empty()),
    }
}

/// The points of one category.
struct Category<'a> {
    name: &'a str,
    points: Vec<usize>,
}

/// The field's categories, the largest first (ties in natural order of their names), and the
/// points without one.
fn categories(values: &[Option<String>]) -> (Vec<Category<'_>>, Vec<usize>) {
    let mut index_of: HashMap<&str, usize> = HashMap::new();
    let mut categories: Vec<Category> = Vec::new();
    let mut missing = Vec::new();
    for (point, value) in values.iter().enumerate() {
        let Some(name) = value.as_deref() else {
            missing.push(point);
            continue;
        };
        let index = *index_of.entry(name).or_insert_with(|| {
            categories.push(Category { name, points: Vec::new() });
            categories.len() - 1
        });
        categories[index].points.push(point);
    }
    categories.sort_by(|left, right| {
        right.points.len().cmp(&left.points.len()).then_with(|| natural(left.name, right.name))
    });
    (categories, missing)
}

/// Orders names as numbers when both are numbers ("2" before "10"), otherwise as text.
fn natural(left: &str, right: &str) -> Ordering {
    match (left.parse::<f64>(), right.parse::<f64>()) {
        (Ok(left), Ok(right)) => left.total_cmp(&right),
        _ => left.cmp(right),
    }
}

/// How field `index` colours the map, giving at most `max_groups` categories a colour of
/// their own (and never more than the palette has).
pub(crate) fn colouring(map: &Map, index: Option<usize>, max_groups: usize) -> Colouring {
    let Some(field) = index.map(|index| &map.fields[index]) else {
        return Colouring::Single;
    };
    let missing_entry = |count: usize| Entry {
        name: field.missing.clone(),
        count,
        colour: colour::MISSING,
        background: true,
    };
    match &field.values {
        Values::Category(values) => {
            let (categories, missing) = categories(values);
            let coloured = max_groups.min(colour::PALETTE.len()).min(categories.len());
            let mut entries: Vec<Entry> = categories[..coloured]
                .iter()
                .zip(colour::PALETTE)
                .map(|(category, colour)| Entry {
                    name: field
                        .labels
                        .get(category.name)
                        .map_or(category.name, String::as_str)
                        .to_owned(),
                    count: category.points.len(),
                    colour,
                    background: false,
                })
                .collect();
            let mut of_point = vec![0; values.len()];
            for (entry, category) in categories[..coloured].iter().enumerate() {
                for &point in &category.points {
                    of_point[point] = entry as u32;
                }
            }
            let rest = &categories[coloured..];
            if !rest.is_empty() {
                let entry = entries.len() as u32;
                for &point in rest.iter().flat_map(|category| &category.points) {
                    of_point[point] = entry;
                }
                entries.push(Entry {
                    name: format!("other ({} groups)", rest.len()),
                    count: rest.iter().map(|category| category.points.len()).sum(),
                    colour: colour::OTHER,
                    background: true,
                });
            }
            if !missing.is_empty() {
                let entry = entries.len() as u32;
                for &point in &missing {
                    of_point[point] = entry;
                }
                entries.push(missing_entry(missing.len()));
            }
            Colouring::Groups { field: field.name.clone(), entries, of_point }
        }
        Values::Number(values) => {
            let present = values.iter().flatten().copied().filter(|value| value.is_finite());
            let (minimum, maximum) = present
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), value| {
                    (low.min(value), high.max(value))
                });
            let (minimum, maximum) =
                if minimum > maximum { (0.0, 1.0) } else { (minimum, maximum) };
            let fractions: Vec<Option<f32>> = values
                .iter()
                .map(|value| {
                    value
                        .filter(|value| value.is_finite())
                        .map(|value| fraction(value, minimum, maximum))
                })
                .collect();
            let missing = fractions.iter().filter(|fraction| fraction.is_none()).count();
            Colouring::Numbers {
                field: field.name.clone(),
                minimum,
                maximum,
                fractions,
                missing: (missing > 0).then(|| missing_entry(missing)),
            }
        }
    }
}

/// Where `value` lies between `minimum` (0) and `maximum` (1); 0.5 when they are equal.
pub(crate) fn fraction(value: f64, minimum: f64, maximum: f64) -> f32 {
    if maximum > minimum {
        ((value - minimum) / (maximum - minimum)) as f32
    } else {
        0.5
    }
}

/// The labels of field `index`'s categories at their centres, in the order they should claim
/// room on the map: categories with a colour of their own first, then those with a label, each
/// the largest first. A category shows its label, or its name when it has none. `colouring`
/// gives each its colour when it colours the map by the same field.
pub(crate) fn anchors(map: &Map, index: usize, colouring: &Colouring) -> Vec<Anchor> {
    let field = &map.fields[index];
    let Values::Category(values) = &field.values else {
        return Vec::new();
    };
    let (entries, of_point): (&[Entry], &[u32]) = match colouring {
        Colouring::Groups { field: name, entries, of_point } if *name == field.name => {
            (entries, of_point)
        }
        _ => (&[], &[]),
    };
    let (mut categories, _) = categories(values);
    let claim = |category: &Category| {
        let background = of_point
            .get(category.points[0])
            .is_some_and(|entry| entries[*entry as usize].background);
        (background, !field.labels.contains_key(category.name))
    };
    categories.sort_by_key(claim);
    categories
        .into_iter()
        .take(LABEL_CANDIDATES)
        .map(|category| {
            let mut xs: Vec<f32> =
                category.points.iter().map(|&point| map.points[point].x).collect();
            let mut ys: Vec<f32> =
                category.points.iter().map(|&point| map.points[point].y).collect();
            let text = field.labels.get(category.name).map_or(category.name, String::as_str);
            Anchor {
                text: text::truncate(&text::one_line(text), LABEL_LIMIT),
                x: median(&mut xs),
                y: median(&mut ys),
                colour: of_point
                    .get(category.points[0])
                    .map(|entry| entries[*entry as usize].colour),
                entry: of_point.get(category.points[0]).copied(),
            }
        })
        .collect()
}

/// The middle value of a non-empty slice (the upper one of the two middles for an even length).
fn median(values: &mut [f32]) -> f32 {
    let middle = values.len() / 2;
    *values.select_nth_unstable_by(middle, f32::total_cmp).1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::Point;

    fn map() -> Map {
        Map {
            title: None,
            points: (0..6).map(|index| Point::new(index.to_string(), index as f32, 0.0)).collect(),
            fields: vec![
                Field::category(
                    "cluster",
                    [Some("1"), Some("1"), Some("10"), Some("2"), Some("2"), None],
                )
                .with_label("2", "two")
                .with_missing("noise"),
                Field::number(
                    "year",
                    [Some(2000.0), Some(2010.0), None, Some(2020.0), None, Some(f64::NAN)],
                ),
            ],
        }
    }

    #[test]
    fn categories_are_ordered_by_size_then_naturally() {
        let Colouring::Groups { entries, of_point, .. } = colouring(&map(), Some(0), 20) else {
            panic!("expected groups")
        };
        let names: Vec<&str> = entries.iter().map(|entry| entry.name.as_str()).collect();
        assert_eq!(names, ["1", "two", "10", "noise"]);
        assert_eq!(of_point, [0, 0, 2, 1, 1, 3]);
        assert_eq!(entries[3].colour, colour::MISSING);
    }

    #[test]
    fn categories_past_the_limit_are_other() {
        let Colouring::Groups { entries, of_point, .. } = colouring(&map(), Some(0), 1) else {
            panic!("expected groups")
        };
        assert_eq!(entries[1].name, "other (2 groups)");
        assert_eq!(entries[1].count, 3);
        assert_eq!(entries[1].colour, colour::OTHER);
        assert_eq!(of_point, [0, 0, 1, 1, 1, 2]);
    }

    #[test]
    fn numbers_span_their_finite_values() {
        let colouring = colouring(&map(), Some(1), 20);
        let Colouring::Numbers { minimum, maximum, missing, fractions, .. } = &colouring else {
            panic!("expected numbers")
        };
        assert_eq!((*minimum, *maximum), (2000.0, 2020.0));
        assert_eq!(missing.as_ref().map(|entry| entry.count), Some(3));
        assert_eq!(fractions, &[Some(0.0), Some(0.5), None, Some(1.0), None, None]);
    }

    #[test]
    fn the_field_to_colour_by_is_checked() {
        let map = map();
        let style = Style { colour_by: Some("year".to_owned()), ..Style::default() };
        assert_eq!(colour_field(&map, &style).unwrap(), Some(1));
        assert_eq!(colour_field(&map, &Style::default()).unwrap(), Some(0));
        let style = Style { colour_by: Some("nope".to_owned()), ..Style::default() };
        assert!(matches!(colour_field(&map, &style), Err(Error::UnknownField { .. })));
        assert_eq!(label_field(&map, Some(1)), Some(0));
    }

    #[test]
    fn anchors_sit_at_the_median_of_their_points() {
        let map = map();
        let colouring = colouring(&map, Some(0), 20);
        let anchors = anchors(&map, 0, &colouring);
        let texts: Vec<&str> = anchors.iter().map(|anchor| anchor.text.as_str()).collect();
        assert_eq!(texts, ["two", "1", "10"], "labelled categories claim room first");
        assert_eq!(anchors[0].x, 4.0);
        assert_eq!(anchors[0].colour, Some(colour::PALETTE[1]));
        assert_eq!(anchors[0].entry, Some(1));
        assert_eq!(super::anchors(&map, 0, &Colouring::Single)[0].colour, None);
    }

    #[test]
    fn categories_past_the_palette_claim_room_last() {
        let map = map();
        let anchors = anchors(&map, 0, &colouring(&map, Some(0), 1));
        let texts: Vec<&str> = anchors.iter().map(|anchor| anchor.text.as_str()).collect();
        assert_eq!(texts, ["1", "two", "10"]);
    }

    #[test]
    fn bad_input_is_refused() {
        let mut bad = map();
        bad.points[2].y = f32::NAN;
        assert!(matches!(check(&bad), Err(Error::NotFinite { id }) if id == "2"));
        let mut short = map();
        short.fields[1] = Field::number("year", [Some(1.0)]);
        assert!(matches!(check(&short), Err(Error::FieldLength { expected: 6, received: 1, .. })));
        assert!(check(&map()).is_ok());
    }

    #[test]
    fn a_lone_point_gets_a_unit_extent() {
        let map = Map { points: vec![Point::new("a", 3.0, 3.0)], ..Map::default() };
        let extent = Extent::of(&map);
        assert_eq!((extent.width(), extent.height()), (1.0, 1.0));
    }
}
