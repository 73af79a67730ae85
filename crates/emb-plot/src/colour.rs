//! Colours: the categorical palette, the greys, and the continuous scale for numbers.

use std::fmt;

/// An opaque sRGB colour, written as `#rrggbb`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Colour {
    /// Red, 0 to 255.
    pub red: u8,
    /// Green, 0 to 255.
    pub green: u8,
    /// Blue, 0 to 255.
    pub blue: u8,
}

impl Colour {
    const fn rgb(red: u8, green: u8, blue: u8) -> Self {
        Self { red, green, blue }
    }

    /// The colour a fraction `t` (0 to 1) of the way from `self` to `other`.
    fn mix(self, other: Colour, t: f32) -> Colour {
        let channel = |from: u8, to: u8| {
            (f32::from(from) + (f32::from(to) - f32::from(from)) * t).round().clamp(0.0, 255.0)
                as u8
        };
        Colour {
            red: channel(self.red, other.red),
            green: channel(self.green, other.green),
            blue: channel(self.blue, other.blue),
        }
    }
}

impl fmt::Display for Colour {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "#{:02x}{:02x}{:02x}", self.red, self.green, self.blue)
    }
}

/// Colours for categories, most distinct first. The first eight follow the Okabe–Ito advice
/// for readers with colour-blindness; past them hues repeat at other lightness, so a legend and
/// labels are what tell the later ones apart.
pub(crate) const PALETTE: [Colour; 20] = [
    Colour::rgb(0x00, 0x72, 0xb2), // blue
    Colour::rgb(0xe6, 0x9f, 0x00), // orange
    Colour::rgb(0x00, 0x9e, 0x73), // bluish green
    Colour::rgb(0xd5, 0x5e, 0x00), // vermilion
    Colour::rgb(0x56, 0xb4, 0xe9), // sky blue
    Colour::rgb(0xcc, 0x79, 0xa7), // reddish purple
    Colour::rgb(0x33, 0x22, 0x88), // indigo
    Colour::rgb(0xdd, 0xaa, 0x33), // mustard
    Colour::rgb(0x44, 0xaa, 0x99), // teal
    Colour::rgb(0x88, 0x22, 0x55), // wine
    Colour::rgb(0x99, 0x99, 0x33), // olive
    Colour::rgb(0xaa, 0x44, 0x99), // purple
    Colour::rgb(0x11, 0x77, 0x33), // green
    Colour::rgb(0xcc, 0x66, 0x77), // rose
    Colour::rgb(0x88, 0xcc, 0xee), // pale cyan
    Colour::rgb(0x7f, 0x4f, 0x24), // brown
    Colour::rgb(0xa6, 0xd8, 0x54), // lime
    Colour::rgb(0xb3, 0xa2, 0xe0), // lavender
    Colour::rgb(0xe7, 0x29, 0x8a), // magenta
    Colour::rgb(0x00, 0x5f, 0x5f), // dark teal
];

/// The colour of the categories past the palette, shown together as "other".
pub(crate) const OTHER: Colour = Colour::rgb(0x9a, 0x9a, 0x9a);

/// The colour of points without a value (noise, for density clustering).
pub(crate) const MISSING: Colour = Colour::rgb(0xcf, 0xcf, 0xcf);

/// The colour of every point when nothing colours them.
pub(crate) const SINGLE: Colour = PALETTE[0];

/// Dark text.
pub(crate) const INK: Colour = Colour::rgb(0x22, 0x22, 0x22);

/// Secondary text (counts, ticks).
pub(crate) const MUTED_INK: Colour = Colour::rgb(0x6b, 0x6b, 0x6b);

/// Frames and rules.
pub(crate) const RULE: Colour = Colour::rgb(0xc8, 0xc8, 0xc8);

/// Stops of the continuous scale for numbers, from the lowest value to the highest: the
/// perceptually uniform viridis colour map (dark blue through green to yellow), which reads in
/// greyscale and with colour-blindness.
pub(crate) const SCALE: [Colour; 9] = [
    Colour::rgb(0x44, 0x01, 0x54),
    Colour::rgb(0x47, 0x2d, 0x7b),
    Colour::rgb(0x3b, 0x52, 0x8b),
    Colour::rgb(0x2c, 0x72, 0x8e),
    Colour::rgb(0x21, 0x91, 0x8c),
    Colour::rgb(0x28, 0xae, 0x80),
    Colour::rgb(0x5e, 0xc9, 0x62),
    Colour::rgb(0xad, 0xdc, 0x30),
    Colour::rgb(0xfd, 0xe7, 0x25),
];

/// The colour of the scale at `t`, from 0 (lowest) to 1 (highest); clamped.
pub(crate) fn scale(t: f32) -> Colour {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let position = t * (SCALE.len() - 1) as f32;
    let below = (position.floor() as usize).min(SCALE.len() - 2);
    SCALE[below].mix(SCALE[below + 1], position - below as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_print_as_hex() {
        assert_eq!(PALETTE[0].to_string(), "#0072b2");
        assert_eq!(MISSING.to_string(), "#cfcfcf");
    }

    #[test]
    fn the_palette_has_no_repeats() {
        for (index, colour) in PALETTE.iter().enumerate() {
            assert!(!PALETTE[index + 1..].contains(colour), "{colour} repeats");
            assert_ne!(*colour, OTHER);
            assert_ne!(*colour, MISSING);
        }
    }

    #[test]
    fn the_scale_runs_from_the_first_stop_to_the_last() {
        assert_eq!(scale(0.0), SCALE[0]);
        assert_eq!(scale(1.0), SCALE[8]);
        assert_eq!(scale(2.0), SCALE[8]);
        assert_eq!(scale(f32::NAN), SCALE[0]);
        assert_eq!(scale(0.5), SCALE[4]);
        let between = scale(1.0 / 16.0);
        assert_eq!(between, SCALE[0].mix(SCALE[1], 0.5));
    }
}
