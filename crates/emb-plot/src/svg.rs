//! The map as an SVG figure: title, points, labels and legend, with no axes.

use std::fmt::{self, Write as _};

use crate::colour;
use crate::fonts::{Fonts, Span};
use crate::labels::{self, Rectangle, Wish};
use crate::layout::{size, Layout, Unit};
use crate::legend::{self, Legend};
use crate::map::{Map, Style};
use crate::scene::{self, Colouring, Extent};
use crate::text;
use crate::{Error, Result};

/// The longest title drawn, in characters.
const TITLE_LIMIT: usize = 120;

/// Numbers colour points in this many steps of the scale, so that the SVG can group points by
/// colour; more would not be told apart.
const SCALE_STEPS: usize = 64;

/// Draws `map` as an SVG document of `style.width` by `style.height` pixels.
///
/// Points are coloured by the field [`Style::colour_by`] names; categories get a colour of their
/// own (at most [`Style::max_groups`] of them; the rest are "other" in grey, and points without
/// a value light grey), and numbers a colour along a continuous scale shown as a colour bar. The
/// labels of the categories sit at their centres, each in a box that covers no other; a label
/// with no free room nearby is left out.
pub fn svg(map: &Map, style: &Style) -> Result<String> {
    draw(map, style, &Fonts::system(), true)
}

/// Draws `map` with text measured in `fonts`; without any text (title, labels, legend) when
/// `with_text` is false.
pub(crate) fn draw(map: &Map, style: &Style, fonts: &Fonts, with_text: bool) -> Result<String> {
    scene::check(map)?;
    if style.width == 0 || style.height == 0 || style.width > 20_000 || style.height > 20_000 {
        return Err(Error::Size { width: style.width, height: style.height });
    }
    let colour_field = scene::colour_field(map, style)?;
    let colouring = scene::colouring(map, colour_field, style.max_groups);
    let extent = Extent::of(map);
    let unit = Unit::of(style);
    let legend =
        (with_text && style.show_legend).then(|| Legend::new(&colouring, fonts, unit)).flatten();
    let title = map
        .title
        .as_deref()
        .filter(|_| with_text)
        .map(|title| text::truncate(&text::one_line(title), TITLE_LIMIT))
        .filter(|title| !title.is_empty());
    let layout = Layout::new(
        style,
        &extent,
        map.points.len(),
        title.is_some(),
        legend.as_ref().map(|legend| legend.width),
    );
    // The title, cut to leave room for the number of points at the frame's right.
    let title = title.map(|title| {
        let count = format!("{} points", legend::grouped(map.points.len()));
        let count_span = Span { text: &count, size: unit.of_reference(size::SMALL), bold: false };
        let room = layout.frame.width - fonts.widths(&[count_span])[0] - unit.of_reference(24.0);
        let mut title = [title];
        fonts.fit(&mut title, unit.of_reference(size::TITLE), true, room.max(0.0));
        let [title] = title;
        (title, count)
    });
    let mut out = String::with_capacity(200 + map.points.len() * 48);
    write_document(
        &mut out,
        map,
        style,
        fonts,
        &Parts {
            colouring: &colouring,
            colour_field,
            layout: &layout,
            legend: legend.as_ref(),
            title: title.as_ref().map(|(title, count)| (title.as_str(), count.as_str())),
            with_text,
        },
    )
    .expect("writing to a String cannot fail");
    Ok(out)
}

/// What the document is drawn from.
struct Parts<'a> {
    colouring: &'a Colouring,
    colour_field: Option<usize>,
    layout: &'a Layout,
    legend: Option<&'a Legend>,
    /// The title and the number of points.
    title: Option<(&'a str, &'a str)>,
    with_text: bool,
}

fn write_document(
    out: &mut String,
    map: &Map,
    style: &Style,
    fonts: &Fonts,
    parts: &Parts,
) -> fmt::Result {
    let layout = parts.layout;
    let unit = layout.unit;
    let (width, height) = (style.width, style.height);
    writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="{}">"#,
        text::escape(&fonts.family_attribute()),
    )?;
    writeln!(out, r#"<rect width="{width}" height="{height}" fill="white"/>"#)?;
    if let (Some((title, count)), Some((x, y))) = (parts.title, layout.title) {
        writeln!(
            out,
            r#"<text x="{x:.1}" y="{y:.1}" font-size="{:.1}" font-weight="bold" fill="{}">{}</text>"#,
            unit.of_reference(size::TITLE),
            colour::INK,
            text::escape(title),
        )?;
        writeln!(
            out,
            r#"<text x="{:.1}" y="{y:.1}" font-size="{:.1}" fill="{}" text-anchor="end">{}</text>"#,
            layout.frame.right(),
            unit.of_reference(size::SMALL),
            colour::MUTED_INK,
            text::escape(count),
        )?;
    }
    let frame = layout.frame;
    writeln!(
        out,
        r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="{}" stroke-width="{:.1}"/>"#,
        frame.left,
        frame.top,
        frame.width,
        frame.height,
        colour::RULE,
        unit.of_reference(1.0),
    )?;
    write_points(out, map, parts.colouring, layout)?;
    if style.show_thumbnails {
        write_thumbnails(out, map, parts.colouring, layout)?;
    }
    if parts.with_text && style.show_labels {
        if let Some(field) = scene::label_field(map, parts.colour_field) {
            write_labels(out, map, field, parts.colouring, layout, fonts)?;
        }
    }
    if let (Some(legend), Some(area)) = (parts.legend, layout.legend) {
        legend.draw(out, area, unit)?;
    }
    writeln!(out, "</svg>")
}

/// The points, one circle each, grouped by colour: points without a value and "other" at the
/// bottom, then categories from the largest to the smallest, so small ones stay visible; numbers
/// from the lowest to the highest.
fn write_points(
    out: &mut String,
    map: &Map,
    colouring: &Colouring,
    layout: &Layout,
) -> fmt::Result {
    let mut layers: Vec<(colour::Colour, Vec<usize>)> = match colouring {
        Colouring::Single => vec![(colour::SINGLE, (0..map.points.len()).collect())],
        Colouring::Groups { entries, of_point, .. } => {
            let mut layers: Vec<(colour::Colour, Vec<usize>)> =
                entries.iter().map(|entry| (entry.colour, Vec::new())).collect();
            for (point, entry) in of_point.iter().enumerate() {
                layers[*entry as usize].1.push(point);
            }
            let (background, foreground): (Vec<_>, Vec<_>) =
                layers.into_iter().zip(entries).partition(|(_, entry)| entry.background);
            background.into_iter().rev().chain(foreground).map(|(layer, _)| layer).collect()
        }
        Colouring::Numbers { fractions, .. } => {
            let mut layers: Vec<(colour::Colour, Vec<usize>)> = (0..=SCALE_STEPS)
                .map(|step| (colour::scale(step as f32 / SCALE_STEPS as f32), Vec::new()))
                .collect();
            let mut missing = (colour::MISSING, Vec::new());
            for (point, fraction) in fractions.iter().enumerate() {
                match fraction {
                    Some(fraction) => {
                        let step = (fraction.clamp(0.0, 1.0) * SCALE_STEPS as f32).round() as usize;
                        layers[step].1.push(point);
                    }
                    None => missing.1.push(point),
                }
            }
            std::iter::once(missing).chain(layers).collect()
        }
    };
    layers.retain(|(_, points)| !points.is_empty());
    writeln!(out, r#"<g class="points" fill-opacity="{:.2}">"#, layout.opacity)?;
    let radius = layout.radius;
    for (colour, points) in layers {
        write!(out, r#"<g fill="{colour}">"#)?;
        for point in points {
            let (x, y) = layout.projection.apply(map.points[point].x, map.points[point].y);
            write!(out, r#"<circle cx="{x:.1}" cy="{y:.1}" r="{radius:.2}"/>"#)?;
        }
        writeln!(out, "</g>")?;
    }
    writeln!(out, "</g>")
}

/// The colour point `point` is drawn in.
fn colour_of(colouring: &Colouring, point: usize) -> colour::Colour {
    match colouring {
        Colouring::Single => colour::SINGLE,
        Colouring::Groups { entries, of_point, .. } => entries[of_point[point] as usize].colour,
        Colouring::Numbers { fractions, .. } => fractions[point]
            .map_or(colour::MISSING, |fraction| colour::scale(fraction.clamp(0.0, 1.0))),
    }
}

/// The points' thumbnails, centred on their points, as many as fit without overlapping: points
/// are tried in an order set by a hash of their ids, so the pictures spread over the map rather
/// than crowd where the first items lie. Each is framed in its point's colour.
fn write_thumbnails(
    out: &mut String,
    map: &Map,
    colouring: &Colouring,
    layout: &Layout,
) -> fmt::Result {
    let frame = layout.frame;
    let side = (frame.width.min(frame.height) / 13.0).max(16.0);
    let border = (side / 24.0).max(1.0);
    let mut order: Vec<usize> =
        (0..map.points.len()).filter(|point| map.points[*point].thumbnail.is_some()).collect();
    if order.is_empty() {
        return Ok(());
    }
    let hash = |id: &str| {
        id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    order.sort_by_key(|point| (hash(&map.points[*point].id), *point));
    let mut placed: Vec<Rectangle> = Vec::new();
    writeln!(out, r#"<g class="thumbnails">"#)?;
    for point in order {
        let item = &map.points[point];
        let thumbnail = item.thumbnail.as_ref().expect("filtered for thumbnails");
        let longest = thumbnail.width.max(thumbnail.height).max(1) as f32;
        let width = side * thumbnail.width.max(1) as f32 / longest;
        let height = side * thumbnail.height.max(1) as f32 / longest;
        let (x, y) = layout.projection.apply(item.x, item.y);
        let left = (x - width / 2.0).clamp(frame.left, (frame.right() - width).max(frame.left));
        let top = (y - height / 2.0).clamp(frame.top, (frame.bottom() - height).max(frame.top));
        let spot = Rectangle { left, top, width, height };
        if placed.iter().any(|other| other.overlaps(&spot, border * 2.0)) {
            continue;
        }
        placed.push(spot);
        // Small pictures (MNIST's 28x28) are enlarged as blocks of pixels rather than blurred.
        let rendering = if (thumbnail.width.max(thumbnail.height) as f32) * 2.0 <= side {
            "optimizeSpeed"
        } else {
            "optimizeQuality"
        };
        writeln!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"/><image x="{left:.1}" y="{top:.1}" width="{width:.1}" height="{height:.1}" preserveAspectRatio="none" image-rendering="{rendering}" href="{}"><title>{}</title></image>"#,
            left - border,
            top - border,
            width + 2.0 * border,
            height + 2.0 * border,
            colour_of(colouring, point),
            thumbnail.data_uri(),
            text::escape(&item.id),
        )?;
    }
    writeln!(out, "</g>")
}

/// The labels of field `field`'s categories, each centred on its category when there is room.
fn write_labels(
    out: &mut String,
    map: &Map,
    field: usize,
    colouring: &Colouring,
    layout: &Layout,
    fonts: &Fonts,
) -> fmt::Result {
    let unit = layout.unit;
    let font_size = unit.of_reference(size::TEXT);
    let mut anchors = scene::anchors(map, field, colouring);
    anchors.retain(|anchor| !anchor.text.is_empty());
    let spans: Vec<Span> = anchors
        .iter()
        .map(|anchor| Span { text: &anchor.text, size: font_size, bold: true })
        .collect();
    let widths = fonts.widths(&spans);
    let padding = unit.of_reference(7.0);
    let height = font_size * 1.6;
    let wishes: Vec<Wish> = anchors
        .iter()
        .zip(&widths)
        .map(|(anchor, width)| {
            let (x, y) = layout.projection.apply(anchor.x, anchor.y);
            Wish { x, y, width: width + 2.0 * padding, height }
        })
        .collect();
    let inset = unit.of_reference(4.0);
    let area = Rectangle {
        left: layout.frame.left + inset,
        top: layout.frame.top + inset,
        width: layout.frame.width - 2.0 * inset,
        height: layout.frame.height - 2.0 * inset,
    };
    let placed = labels::place(&wishes, area, unit.of_reference(3.0));
    writeln!(
        out,
        r#"<g class="labels" font-size="{font_size:.1}" font-weight="bold" text-anchor="middle" fill="{}">"#,
        colour::INK
    )?;
    for (anchor, spot) in anchors.iter().zip(placed) {
        let Some(spot) = spot else { continue };
        writeln!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="{:.1}" fill="white" fill-opacity="0.88" stroke="{}" stroke-width="{:.1}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            spot.left,
            spot.top,
            spot.width,
            spot.height,
            unit.of_reference(4.0),
            anchor.colour.unwrap_or(colour::RULE),
            unit.of_reference(1.5),
            spot.left + spot.width / 2.0,
            spot.top + spot.height / 2.0 + font_size * 0.36,
            text::escape(&anchor.text),
        )?;
    }
    writeln!(out, "</g>")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use resvg::usvg::fontdb;

    use super::*;
    use crate::map::{Field, Point};

    /// A map of `clusters` tight clusters of `per_cluster` points each, side by side, labelled.
    fn clusters(clusters: usize, per_cluster: usize) -> Map {
        let mut points = Vec::new();
        let mut values = Vec::new();
        for cluster in 0..clusters {
            for index in 0..per_cluster {
                let angle = index as f32 * 2.4;
                let x = (cluster % 10) as f32 + 0.1 * angle.cos();
                let y = (cluster / 10) as f32 + 0.1 * angle.sin();
                points.push(Point::new(format!("{cluster}-{index}"), x, y).with_text("some text"));
                values.push(Some(cluster.to_string()));
            }
        }
        let mut field = Field::category("cluster", values);
        for cluster in 0..clusters {
            field = field.with_label(cluster.to_string(), format!("topic {cluster}, words, more"));
        }
        Map { title: Some("A <map> & \"more\"".to_owned()), points, fields: vec![field] }
    }

    fn parse(svg: &str) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(svg).expect("the SVG is well-formed XML")
    }

    fn circles_in(document: &roxmltree::Document, class: &str) -> usize {
        document
            .descendants()
            .find(|node| node.attribute("class") == Some(class))
            .map_or(0, |group| {
                group.descendants().filter(|node| node.has_tag_name("circle")).count()
            })
    }

    #[test]
    fn every_point_is_one_circle_in_well_formed_xml() {
        let map = clusters(25, 40);
        let svg = svg(&map, &Style::default()).unwrap();
        let document = parse(&svg);
        assert_eq!(circles_in(&document, "points"), 1000);
        let root = document.root_element();
        assert_eq!(
            (root.attribute("width"), root.attribute("height")),
            (Some("1600"), Some("1200"))
        );
        assert!(svg.contains("other (5 groups)"));
    }

    #[test]
    fn thumbnails_are_drawn_where_they_fit_and_never_overlap() {
        let mut map = clusters(25, 40);
        for (index, point) in map.points.iter_mut().enumerate() {
            if index % 3 != 0 {
                point.thumbnail = Some(crate::Thumbnail {
                    bytes: vec![index as u8; 4],
                    media_type: "image/png".to_owned(),
                    width: 40,
                    height: 20,
                });
            }
        }
        let style = Style { width: 800, height: 600, ..Style::default() };
        let drawn = svg(&map, &style).unwrap();
        let document = parse(&drawn);
        let images: Vec<roxmltree::Node> =
            document.descendants().filter(|node| node.has_tag_name("image")).collect();
        // Room for some but not all 667 of them, each kept to its shape (twice as wide as high).
        assert!(images.len() > 5 && images.len() < 300, "{} thumbnails", images.len());
        let number = |node: &roxmltree::Node, name: &str| {
            node.attribute(name).unwrap().parse::<f32>().unwrap()
        };
        let boxes: Vec<Rectangle> = images
            .iter()
            .map(|image| Rectangle {
                left: number(image, "x"),
                top: number(image, "y"),
                width: number(image, "width"),
                height: number(image, "height"),
            })
            .collect();
        for (index, first) in boxes.iter().enumerate() {
            assert!((first.width - 2.0 * first.height).abs() < 0.2, "{first:?}");
            for second in &boxes[index + 1..] {
                assert!(!first.overlaps(second, 0.0), "{first:?} overlaps {second:?}");
            }
        }
        assert!(images[0].attribute("href").unwrap().starts_with("data:image/png;base64,"));
        let without = svg(&map, &Style { show_thumbnails: false, ..style }).unwrap();
        assert!(!without.contains("<image"));
    }

    #[test]
    fn text_is_escaped() {
        let mut map = clusters(2, 3);
        map.fields[0] = map.fields[0].clone().with_label("0", "</text><script>&\"'");
        let svg = svg(&map, &Style::default()).unwrap();
        let document = parse(&svg);
        let texts: Vec<&str> = document.descendants().filter_map(|node| node.text()).collect();
        assert!(texts.contains(&"A <map> & \"more\""), "{texts:?}");
        assert!(texts.contains(&"</text><script>&\"'"));
        assert!(!svg.contains("<script>"));
    }

    #[test]
    fn placed_labels_never_overlap() {
        let map = clusters(60, 5);
        let style = Style { width: 500, height: 400, ..Style::default() };
        let svg = svg(&map, &style).unwrap();
        let document = parse(&svg);
        let labels =
            document.descendants().find(|node| node.attribute("class") == Some("labels")).unwrap();
        let number = |node: roxmltree::Node, name: &str| {
            node.attribute(name).unwrap().parse::<f32>().unwrap()
        };
        let boxes: Vec<Rectangle> = labels
            .children()
            .filter(|node| node.has_tag_name("rect"))
            .map(|node| Rectangle {
                left: number(node, "x"),
                top: number(node, "y"),
                width: number(node, "width"),
                height: number(node, "height"),
            })
            .collect();
        assert!(boxes.len() > 3 && boxes.len() < 60, "{} labels placed", boxes.len());
        for (index, first) in boxes.iter().enumerate() {
            for second in &boxes[index + 1..] {
                assert!(!first.overlaps(second, 0.0), "{first:?} overlaps {second:?}");
            }
        }
    }

    #[test]
    fn numbers_get_a_colour_bar() {
        let mut map = clusters(3, 10);
        map.fields.push(Field::number(
            "year",
            (0..30).map(|index| (index % 7 != 0).then_some(f64::from(index))),
        ));
        let style = Style { colour_by: Some("year".to_owned()), ..Style::default() };
        let svg = svg(&map, &style).unwrap();
        let document = parse(&svg);
        assert_eq!(circles_in(&document, "points"), 30);
        assert!(document.descendants().any(|node| node.has_tag_name("linearGradient")));
        assert!(svg.contains(">none<"), "the legend names points without a value");
        assert!(svg.contains("topic 0"), "labels of the clusters still show");
    }

    #[test]
    fn without_text_only_points_and_frame_are_drawn() {
        let fonts = Fonts::new(Arc::new(fontdb::Database::new()));
        let svg = draw(&clusters(3, 10), &Style::default(), &fonts, false).unwrap();
        assert!(!svg.contains("<text"));
        assert_eq!(circles_in(&parse(&svg), "points"), 30);
    }

    #[test]
    fn an_empty_map_is_an_empty_frame() {
        let svg = svg(&Map::default(), &Style::default()).unwrap();
        assert_eq!(circles_in(&parse(&svg), "points"), 0);
    }

    #[test]
    fn a_zero_size_is_refused() {
        let style = Style { width: 0, ..Style::default() };
        assert!(matches!(svg(&Map::default(), &style), Err(Error::Size { width: 0, .. })));
    }
}
