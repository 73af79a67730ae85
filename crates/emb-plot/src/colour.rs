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
    const fn from_hex(hex: u32) -> Self {
        Self { red: (hex >> 16) as u8, green: (hex >> 8) as u8, blue: hex as u8 }
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
    Colour::from_hex(0x0072b2), // blue
    Colour::from_hex(0xe69f00), // orange
    Colour::from_hex(0x009e73), // bluish green
    Colour::from_hex(0xd55e00), // vermilion
    Colour::from_hex(0x56b4e9), // sky blue
    Colour::from_hex(0xcc79a7), // reddish purple
    Colour::from_hex(0x332288), // indigo
    Colour::from_hex(0xddaa33), // mustard
    Colour::from_hex(0x44aa99), // teal
    Colour::from_hex(0x882255), // wine
    Colour::from_hex(0x999933), // olive
    Colour::from_hex(0xaa4499), // purple
    Colour::from_hex(0x117733), // green
    Colour::from_hex(0xcc6677), // rose
    Colour::from_hex(0x88ccee), // pale cyan
    Colour::from_hex(0x7f4f24), // brown
    Colour::from_hex(0xa6d854), // lime
    Colour::from_hex(0xb3a2e0), // lavender
    Colour::from_hex(0xe7298a), // magenta
    Colour::from_hex(0x005f5f), // dark teal
];

/// The colour of the categories past the palette, shown together as "other".
pub(crate) const OTHER: Colour = Colour::from_hex(0x9a9a9a);

/// The colour of points without a value (noise, for density clustering).
pub(crate) const MISSING: Colour = Colour::from_hex(0xcfcfcf);

/// The colour of every point when nothing colours them.
pub(crate) const SINGLE: Colour = PALETTE[0];

/// Dark text.
pub(crate) const INK: Colour = Colour::from_hex(0x222222);

/// Secondary text (counts, ticks).
pub(crate) const MUTED_INK: Colour = Colour::from_hex(0x6b6b6b);

/// Frames and rules.
pub(crate) const RULE: Colour = Colour::from_hex(0xc8c8c8);

/// Stops of the continuous scale for numbers, from the lowest value to the highest: the
/// perceptually uniform viridis colour map (dark blue through green to yellow), which reads in
/// greyscale and with colour-blindness.
pub(crate) const SCALE: [Colour; 9] = [
    Colour::from_hex(0x440154),
    Colour::from_hex(0x472d7b),
    Colour::from_hex(0x3b528b),
    Colour::from_hex(0x2c728e),
    Colour::from_hex(0x21918c),
    Colour::from_hex(0x28ae80),
    Colour::from_hex(0x5ec962),
    Colour::from_hex(0xaddc30),
    Colour::from_hex(0xfde725),
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
