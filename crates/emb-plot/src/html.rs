//! The map as one self-contained interactive HTML page: the page's markup, style and script
//! are templates in this folder, and the map's data is embedded as JSON.

use serde_json::{json, Value};

use crate::colour;
use crate::legend;
use crate::map::{Map, Style, Values};
use crate::scene::{self, Colouring, Extent};
use crate::text;
use crate::Result;

/// The page's markup, with `{{name}}` where the parts below go.
const PAGE: &str = include_str!("page.html");

/// The page's style sheet.
const STYLE_SHEET: &str = include_str!("page.css");

/// The page's script: drawing, zoom and pan, hover, search, colouring and the legend.
const SCRIPT: &str = include_str!("page.js");

/// The page keeps this many characters of a point's text (for hover and search).
pub const TEXT_LIMIT: usize = 300;

/// Coordinates are sent as whole numbers from 0 to this, across the extent of the points:
/// five significant digits.
const GRID: f32 = 99_999.0;

/// Writes `map` as one HTML page that works offline: a zoomable scatter plot (WebGL where the GPU
/// draws it, a canvas otherwise) with a tooltip on hover, a search box that highlights matching
/// points, a "colour by" list over the map's fields, a legend whose entries toggle their points,
/// and the categories' labels.
///
/// The page refers to nothing outside itself. Points' texts are cut to [`TEXT_LIMIT`]
/// characters and coordinates rounded to five significant digits to keep the file small. The
/// page fills its window, so [`Style::width`] and [`Style::height`] are not used; the other
/// settings are.
pub fn html(map: &Map, style: &Style) -> Result<String> {
    scene::check(map)?;
    let colour_field = scene::colour_field(map, style)?;
    let data = data(map, style, colour_field);
    let title = map.title.as_deref().map(text::one_line).unwrap_or_default();
    let page_title = if title.is_empty() { "Map".to_owned() } else { title };
    Ok(fill(
        PAGE,
        &[
            ("title", &text::escape(&page_title)),
            ("style", STYLE_SHEET),
            ("script", SCRIPT),
            ("data", &script_safe(&data.to_string())),
        ],
    ))
}

/// The data the script draws from: `x` and `y` per point on a grid of 0 to [`GRID`] across
/// the longer side of the extent (`width` and `height` are the extent on that grid, y up),
/// `ids`, `texts` and `thumbnails` (data URIs, or `null` when no point has one) per point, the
/// `fields` (see [`field`]), the index of the field that
/// colours the map first (`colourBy`), the colours (`single`, `missing`, the `scale`'s stops)
/// and the style's settings (`radius` and `opacity`, `null` for automatic; `showLabels`,
/// `showLegend`).
fn data(map: &Map, style: &Style, colour_field: Option<usize>) -> Value {
    let extent = Extent::of(map);
    let side = extent.width().max(extent.height());
    let grid = |value: f32, minimum: f32| ((value - minimum) / side * GRID).round() as u32;
    let fields: Vec<Value> =
        (0..map.fields.len()).map(|index| field(map, style, index, &grid, extent)).collect();
    json!({
        "title": map.title.as_deref().map(text::one_line),
        "width": grid(extent.maximum_x, extent.minimum_x),
        "height": grid(extent.maximum_y, extent.minimum_y),
        "x": map.points.iter().map(|point| grid(point.x, extent.minimum_x)).collect::<Vec<_>>(),
        "y": map.points.iter().map(|point| grid(point.y, extent.minimum_y)).collect::<Vec<_>>(),
        "ids": map.points.iter().map(|point| point.id.as_str()).collect::<Vec<_>>(),
        "texts": map
            .points
            .iter()
            .map(|point| point.text.as_deref().map(|content| text::truncate(&text::one_line(content), TEXT_LIMIT)))
            .collect::<Vec<_>>(),
        // A data URI per point, or null; null for the whole when no point has a picture.
        "thumbnails": map.points.iter().any(|point| point.thumbnail.is_some()).then(|| {
            map.points
                .iter()
                .map(|point| point.thumbnail.as_ref().map(crate::Thumbnail::data_uri))
                .collect::<Vec<_>>()
        }),
        "fields": fields,
        "colourBy": colour_field,
        "single": colour::SINGLE.to_string(),
        "missing": colour::MISSING.to_string(),
        "scale": colour::SCALE.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "radius": style.point_radius,
        "opacity": style.point_opacity,
        "showLabels": style.show_labels,
        "showLegend": style.show_legend,
    })
}

/// Field `index` as the script needs it: its `name`, its `kind` (`category` or `number`), its
/// `values` per point (a legend entry's index for categories, a number or `null` for numbers),
/// its legend (`entries` for categories; `minimum`, `maximum`, `ticks` and the `missing` entry
/// for numbers), and the `labels` drawn while it colours the map (text, position on the grid,
/// border colour, and the legend entry that hides them).
fn field(
    map: &Map,
    style: &Style,
    index: usize,
    grid: &impl Fn(f32, f32) -> u32,
    extent: Extent,
) -> Value {
    let field = &map.fields[index];
    let colouring = scene::colouring(map, Some(index), style.max_groups);
    let labels: Vec<Value> = scene::label_field(map, Some(index))
        .map(|labelled| scene::anchors(map, labelled, &colouring))
        .unwrap_or_default()
        .into_iter()
        .map(|anchor| {
            json!({
                "text": anchor.text,
                "x": grid(anchor.x, extent.minimum_x),
                "y": grid(anchor.y, extent.minimum_y),
                "colour": anchor.colour.map(|colour| colour.to_string()),
                "entry": anchor.entry,
            })
        })
        .collect();
    let entry = |entry: &scene::Entry| {
        json!({
            "name": text::one_line(&entry.name),
            "count": entry.count,
            "colour": entry.colour.to_string(),
            "background": entry.background,
        })
    };
    match (&colouring, &field.values) {
        (Colouring::Groups { entries, of_point, .. }, _) => json!({
            "name": field.name,
            "kind": "category",
            "entries": entries.iter().map(entry).collect::<Vec<_>>(),
            "values": of_point,
            "labels": labels,
        }),
        (Colouring::Numbers { minimum, maximum, missing, .. }, Values::Number(values)) => json!({
            "name": field.name,
            "kind": "number",
            "minimum": minimum,
            "maximum": maximum,
            "ticks": legend::ticks(*minimum, *maximum),
            "missing": missing.as_ref().map(entry),
            "values": values
                .iter()
                .map(|value| value.filter(|value| value.is_finite()).map(significant))
                .collect::<Vec<_>>(),
            "labels": labels,
        }),
        _ => unreachable!("a field colours by groups or numbers"),
    }
}

/// `value` rounded to five significant digits, so that it prints short.
fn significant(value: f64) -> f64 {
    format!("{value:.4e}").parse().unwrap_or(value)
}

/// JSON made safe inside an HTML `<script>` element: `<`, `>` and `&` (which JSON only holds
/// inside strings) become `\u` escapes, so no `</script>` or `<!--` can appear; so do the line
/// and paragraph separators.
fn script_safe(json: &str) -> String {
    let mut safe = String::with_capacity(json.len());
    for character in json.chars() {
        match character {
            '<' => safe.push_str("\\u003c"),
            '>' => safe.push_str("\\u003e"),
            '&' => safe.push_str("\\u0026"),
            '\u{2028}' => safe.push_str("\\u2028"),
            '\u{2029}' => safe.push_str("\\u2029"),
            _ => safe.push(character),
        }
    }
    safe
}

/// `template` with each `{{name}}` replaced by its part, in one pass, so that a part that
/// holds `{{...}}` is left as it is. An unknown name is kept.
fn fill(template: &str, parts: &[(&str, &str)]) -> String {
    let mut filled = String::with_capacity(
        template.len() + parts.iter().map(|(_, part)| part.len()).sum::<usize>(),
    );
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        filled.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let part = after.find("}}").and_then(|end| {
            let name = &after[..end];
            parts.iter().find(|(known, _)| *known == name).map(|(_, part)| (*part, end))
        });
        if let Some((part, end)) = part {
            filled.push_str(part);
            rest = &after[end + 2..];
        } else {
            filled.push_str("{{");
            rest = after;
        }
    }
    filled.push_str(rest);
    filled
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::{Field, Point};

    fn map(count: usize) -> Map {
        let points = (0..count)
            .map(|index| {
                Point::new(format!("item-{index}"), index as f32 * 0.37, (index % 17) as f32)
                    .with_text(format!("text of item {index}"))
            })
            .collect();
        Map {
            title: Some("Notes".to_owned()),
            points,
            fields: vec![
                Field::category("cluster", (0..count).map(|index| Some((index % 5).to_string())))
                    .with_label("1", "sqlite, backup"),
                Field::number("length", (0..count).map(|index| Some(index as f64 * 1.234_567_89))),
            ],
        }
    }

    /// The JSON embedded in `page`, parsed.
    fn embedded(page: &str) -> Value {
        let start = page.find(r#"<script id="map-data" type="application/json">"#).unwrap();
        let after = &page[start..];
        let json = &after[after.find('>').unwrap() + 1..after.find("</script>").unwrap()];
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn the_page_carries_every_point() {
        let page = html(&map(2000), &Style::default()).unwrap();
        let data = embedded(&page);
        assert_eq!(data["ids"].as_array().unwrap().len(), 2000);
        assert_eq!(data["x"].as_array().unwrap().len(), 2000);
        assert_eq!(data["texts"][1999], "text of item 1999");
        assert_eq!(data["fields"][0]["values"].as_array().unwrap().len(), 2000);
        assert_eq!(data["fields"][1]["values"][1], 1.2346);
        let labels = data["fields"][0]["labels"].as_array().unwrap();
        assert!(labels.iter().any(|label| label["text"] == "sqlite, backup"));
        assert!(data["x"].as_array().unwrap().iter().all(|x| x.as_u64().unwrap() <= 99_999));
    }

    #[test]
    fn the_page_refers_to_nothing_outside_itself() {
        let page = html(&map(10), &Style::default()).unwrap();
        for scheme in ["http://", "https://", "//cdn", "src=\"//"] {
            assert!(!page.contains(scheme), "the page holds {scheme}");
        }
        assert!(!page.contains("{{"), "every part of the template is filled");
    }

    #[test]
    fn content_cannot_break_out_of_the_script() {
        let mut map = map(3);
        map.title = Some("<b>Title</b> & co".to_owned());
        map.points[0].text = Some("</script><script>alert(1)</script> <!-- &".to_owned());
        map.points[1].id = "{{data}}\u{2028}".to_owned();
        let page = html(&map, &Style::default()).unwrap();
        assert_eq!(page.matches("</script>").count(), page.matches("<script").count());
        assert!(!page.contains("alert(1)</script>"));
        assert!(page.contains("<title>&lt;b&gt;Title&lt;/b&gt; &amp; co</title>"));
        let data = embedded(&page);
        assert_eq!(data["texts"][0], "</script><script>alert(1)</script> <!-- &");
        assert_eq!(data["ids"][1], "{{data}}\u{2028}");
        assert!(!page.contains('\u{2028}'));
    }

    #[test]
    fn thumbnails_go_to_the_page_as_data_uris() {
        let mut with = map(3);
        assert_eq!(embedded(&html(&with, &Style::default()).unwrap())["thumbnails"], Value::Null);
        with.points[1].thumbnail = Some(crate::Thumbnail {
            bytes: b"\xFF\xD8jpeg".to_vec(),
            media_type: "image/jpeg".to_owned(),
            width: 8,
            height: 8,
        });
        let data = embedded(&html(&with, &Style::default()).unwrap());
        assert_eq!(data["thumbnails"][0], Value::Null);
        assert_eq!(data["thumbnails"][1], "data:image/jpeg;base64,/9hqcGVn");
    }

    #[test]
    fn long_texts_are_cut() {
        let mut map = map(1);
        map.points[0].text = Some("word ".repeat(200));
        let data = embedded(&html(&map, &Style::default()).unwrap());
        assert_eq!(data["texts"][0].as_str().unwrap().chars().count(), TEXT_LIMIT);
    }

    #[test]
    fn templates_fill_in_one_pass() {
        let filled = fill("a {{x}} b {{y}} {{unknown}} {{", &[("x", "{{y}}"), ("y", "2")]);
        assert_eq!(filled, "a {{y}} b 2 {{unknown}} {{");
    }

    #[test]
    fn numbers_keep_five_significant_digits() {
        assert_eq!(significant(1.234_567_89), 1.2346);
        assert_eq!(significant(123_456_789.0), 123_460_000.0);
        assert_eq!(significant(0.0), 0.0);
    }
}
