//! The legend beside the figure: a line per category with its colour and count, or a colour
//! bar with ticks for numbers.

use std::fmt::{self, Write as _};

use crate::colour::{self, Colour};
use crate::fonts::{Fonts, Span};
use crate::labels::Rectangle;
use crate::layout::{size, Unit};
use crate::scene::{Colouring, Entry};
use crate::text;

/// The colour bar's width at the reference size.
const BAR_WIDTH: f32 = 18.0;

/// The colour bar's largest height at the reference size.
const BAR_HEIGHT: f32 = 380.0;

/// The longest heading drawn, in characters.
const HEADING_LIMIT: usize = 40;

/// The id of the colour bar's gradient in the SVG.
const GRADIENT: &str = "colour-scale";

/// A legend line: a swatch, a name and a count.
#[derive(Clone, Debug, PartialEq)]
struct Line {
    name: String,
    count: String,
    colour: Colour,
}

/// What the legend lists.
#[derive(Clone, Debug, PartialEq)]
enum Body {
    /// One line per entry.
    Entries(Vec<Line>),
    /// A colour bar from the lowest value (bottom) to the highest, ticks at round values (as
    /// fractions of the bar and their text), and a line for points without a value.
    Scale { ticks: Vec<(f32, String)>, missing: Option<Line> },
}

/// A legend whose text has been measured and cut to fit.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Legend {
    heading: String,
    body: Body,
    /// The width it needs, in pixels.
    pub width: f32,
}

impl Legend {
    /// The legend of `colouring`, measured with `fonts`; `None` when everything has one colour.
    pub fn new(colouring: &Colouring, fonts: &Fonts, unit: Unit) -> Option<Legend> {
        let maximum = unit.of_reference(size::LEGEND_WIDTH);
        let swatch = unit.of_reference(size::SWATCH);
        let spacing = unit.of_reference(12.0);
        let line = |entry: &Entry| Line {
            name: text::one_line(&entry.name),
            count: grouped(entry.count),
            colour: entry.colour,
        };
        let (heading, body) = match colouring {
            Colouring::Single => return None,
            Colouring::Groups { field, entries, .. } => {
                (field, Body::Entries(entries.iter().map(line).collect()))
            }
            Colouring::Numbers { field, minimum, maximum, missing, .. } => {
                let ticks = ticks(*minimum, *maximum);
                (field, Body::Scale { ticks, missing: missing.as_ref().map(line) })
            }
        };
        let heading = text::truncate(&text::one_line(heading), HEADING_LIMIT);
        let heading_width = fonts.widths(&[span(&heading, size::HEADING, true, unit)])[0];
        let mut legend = Legend { heading, body, width: heading_width.min(maximum) };
        match &mut legend.body {
            Body::Entries(lines) => {
                legend.width = legend.width.max(fit(lines, fonts, unit, maximum));
            }
            Body::Scale { ticks, missing } => {
                let spans: Vec<Span> =
                    ticks.iter().map(|(_, tick)| span(tick, size::SMALL, false, unit)).collect();
                let widest = fonts.widths(&spans).into_iter().fold(0.0, f32::max);
                let bar = unit.of_reference(BAR_WIDTH) + spacing / 2.0 + widest;
                legend.width = legend.width.max(bar);
                if let Some(line) = missing {
                    let lines = std::slice::from_mut(line);
                    legend.width = legend.width.max(fit(lines, fonts, unit, maximum));
                }
            }
        }
        legend.width = legend.width.max(swatch * 4.0);
        Some(legend)
    }

    /// Writes the legend into `area` of the SVG.
    pub fn draw(&self, out: &mut String, area: Rectangle, unit: Unit) -> fmt::Result {
        let line_height = unit.of_reference(size::LINE);
        let heading_size = unit.of_reference(size::HEADING);
        writeln!(
            out,
            r#"<g class="legend"><text x="{:.1}" y="{:.1}" font-size="{heading_size:.1}" font-weight="bold" fill="{}">{}</text>"#,
            area.left,
            area.top + heading_size,
            colour::INK,
            text::escape(&self.heading),
        )?;
        let top = area.top + heading_size + line_height * 0.9;
        match &self.body {
            Body::Entries(lines) => {
                let room = ((area.bottom() - top) / line_height).floor().max(1.0) as usize;
                let shown = if lines.len() > room { room - 1 } else { lines.len() };
                for (index, line) in lines[..shown].iter().enumerate() {
                    draw_line(out, line, area, top + index as f32 * line_height, unit)?;
                }
                if shown < lines.len() {
                    let more = Line {
                        name: format!("{} more", lines.len() - shown),
                        count: String::new(),
                        colour: colour::OTHER,
                    };
                    draw_line(out, &more, area, top + shown as f32 * line_height, unit)?;
                }
            }
            Body::Scale { ticks, missing } => {
                let reserved = if missing.is_some() { line_height * 1.5 } else { 0.0 };
                let height = unit
                    .of_reference(BAR_HEIGHT)
                    .min(area.bottom() - top - reserved)
                    .max(line_height);
                let bar_top = top - line_height / 2.0;
                draw_scale(out, ticks, area.left, bar_top, height, unit)?;
                if let Some(line) = missing {
                    draw_line(out, line, area, bar_top + height + line_height, unit)?;
                }
            }
        }
        writeln!(out, "</g>")
    }
}

/// Cuts the names of `lines` so that name and count fit in `maximum` pixels; returns the width
/// the widest line needs.
fn fit(lines: &mut [Line], fonts: &Fonts, unit: Unit, maximum: f32) -> f32 {
    let swatch = unit.of_reference(size::SWATCH);
    let spacing = unit.of_reference(12.0);
    let counts: Vec<Span> =
        lines.iter().map(|line| span(&line.count, size::SMALL, false, unit)).collect();
    let count_width = fonts.widths(&counts).into_iter().fold(0.0, f32::max);
    let room = maximum - swatch - spacing - count_width;
    let mut names: Vec<String> = lines.iter().map(|line| line.name.clone()).collect();
    let widths = fonts.fit(&mut names, unit.of_reference(size::TEXT), false, room);
    for (line, name) in lines.iter_mut().zip(names) {
        line.name = name;
    }
    swatch + widths.into_iter().fold(0.0, f32::max) + spacing + count_width
}

/// A span of `text` at a reference font size.
fn span(text: &str, size: f32, bold: bool, unit: Unit) -> Span<'_> {
    Span { text, size: unit.of_reference(size), bold }
}

/// A legend line with its centre at height `y`.
fn draw_line(out: &mut String, line: &Line, area: Rectangle, y: f32, unit: Unit) -> fmt::Result {
    let text_size = unit.of_reference(size::TEXT);
    let small_size = unit.of_reference(size::SMALL);
    writeln!(
        out,
        r#"<circle cx="{:.1}" cy="{y:.1}" r="{:.1}" fill="{}"/><text x="{:.1}" y="{:.1}" font-size="{text_size:.1}" fill="{}">{}</text><text x="{:.1}" y="{:.1}" font-size="{small_size:.1}" fill="{}" text-anchor="end">{}</text>"#,
        area.left + unit.of_reference(7.0),
        unit.of_reference(6.0),
        line.colour,
        area.left + unit.of_reference(size::SWATCH),
        y + text_size * 0.36,
        colour::INK,
        text::escape(&line.name),
        area.right(),
        y + small_size * 0.36,
        colour::MUTED_INK,
        text::escape(&line.count),
    )
}

/// The colour bar at (`left`, `top`), `height` tall, with its ticks.
fn draw_scale(
    out: &mut String,
    ticks: &[(f32, String)],
    left: f32,
    top: f32,
    height: f32,
    unit: Unit,
) -> fmt::Result {
    let width = unit.of_reference(BAR_WIDTH);
    let small_size = unit.of_reference(size::SMALL);
    write!(out, r#"<defs><linearGradient id="{GRADIENT}" x1="0" y1="1" x2="0" y2="0">"#)?;
    for (index, stop) in colour::SCALE.iter().enumerate() {
        let offset = index as f32 / (colour::SCALE.len() - 1) as f32;
        write!(out, r#"<stop offset="{offset:.3}" stop-color="{stop}"/>"#)?;
    }
    writeln!(out, "</linearGradient></defs>")?;
    writeln!(
        out,
        r#"<rect x="{left:.1}" y="{top:.1}" width="{width:.1}" height="{height:.1}" fill="url(#{GRADIENT})"/>"#
    )?;
    for (fraction, tick) in ticks {
        let y = top + height * (1.0 - fraction);
        writeln!(
            out,
            r#"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{}" stroke-width="{:.1}"/><text x="{:.1}" y="{:.1}" font-size="{small_size:.1}" fill="{}">{}</text>"#,
            left + width,
            left + width + unit.of_reference(5.0),
            colour::MUTED_INK,
            unit.of_reference(1.0),
            left + width + unit.of_reference(8.0),
            y + small_size * 0.36,
            colour::INK,
            text::escape(tick),
        )?;
    }
    Ok(())
}

/// Round values between `minimum` and `maximum` (about five), as fractions of the range and
/// their text.
pub(crate) fn ticks(minimum: f64, maximum: f64) -> Vec<(f32, String)> {
    let range = maximum - minimum;
    if range <= 0.0 || !range.is_finite() {
        return vec![(0.5, number(minimum, 0))];
    }
    let rough = range / 5.0;
    let magnitude = 10_f64.powf(rough.log10().floor());
    let factor = [1.0, 2.0, 2.5, 5.0, 10.0].into_iter().find(|factor| factor * magnitude >= rough);
    let factor = factor.unwrap_or(10.0);
    let step = factor * magnitude;
    let decimals =
        (-step.log10().floor()).max(0.0) as usize + usize::from(factor == 2.5 && step < 10.0);
    let first = (minimum / step).ceil() as i64;
    let last = (maximum / step + 1e-9).floor() as i64;
    (first..=last)
        .map(|index| {
            let value = index as f64 * step;
            (crate::scene::fraction(value, minimum, maximum), number(value, decimals))
        })
        .collect()
}

/// `value` with `decimals` decimals, and no minus sign on zero.
fn number(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    if text.trim_start_matches('-').chars().all(|character| character == '0' || character == '.') {
        text.trim_start_matches('-').to_owned()
    } else {
        text
    }
}

/// `count` with commas between groups of three digits.
pub(crate) fn grouped(count: usize) -> String {
    let digits = count.to_string();
    let mut text = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use resvg::usvg::fontdb;

    use super::*;

    #[test]
    fn ticks_fall_on_round_values() {
        let texts =
            |ticks: Vec<(f32, String)>| ticks.into_iter().map(|(_, text)| text).collect::<Vec<_>>();
        assert_eq!(texts(ticks(0.0, 1.0)), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        assert_eq!(texts(ticks(1987.0, 2024.0)), ["1990", "2000", "2010", "2020"]);
        assert_eq!(texts(ticks(-0.3, 0.3)), ["-0.2", "0.0", "0.2"]);
        assert_eq!(texts(ticks(0.0, 12.0)), ["0.0", "2.5", "5.0", "7.5", "10.0"]);
        assert_eq!(texts(ticks(5.0, 5.0)), ["5"]);
        let fractions: Vec<f32> =
            ticks(0.0, 1.0).into_iter().map(|(fraction, _)| fraction).collect();
        assert_eq!(fractions[0], 0.0);
        assert!((fractions[5] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(7), "7");
        assert_eq!(grouped(1234), "1,234");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(grouped(100_000), "100,000");
    }

    #[test]
    fn long_names_are_cut_to_fit() {
        let fonts = Fonts::new(Arc::new(fontdb::Database::new()));
        let entry = Entry {
            name: "a very long label made of many many words that cannot fit".repeat(3),
            count: 12,
            colour: colour::PALETTE[0],
            background: false,
        };
        let colouring = Colouring::Groups {
            field: "cluster".to_owned(),
            entries: vec![entry],
            of_point: vec![0],
        };
        let legend = Legend::new(&colouring, &fonts, Unit(1.0)).unwrap();
        assert!(legend.width <= size::LEGEND_WIDTH + 1e-3, "{}", legend.width);
        let Body::Entries(lines) = &legend.body else { panic!("expected entries") };
        assert!(lines[0].name.ends_with(text::ELLIPSIS));
    }
}
