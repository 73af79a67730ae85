//! Reading pictures and readying them for image models: decoding (JPEG, PNG, WebP, GIF's first
//! frame) with EXIF orientation applied and memory bounded, and resampling that reproduces
//! Pillow's `Image.resize` (the resize behind CLIP's and torchvision's preprocessing) exactly.

use std::fmt::Write as _;
use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader};

use crate::error::{ModelError, Result};

/// The most pixels a picture may have: 100 megapixels (300 MB decoded). Larger pictures are
/// refused before they are decoded, so memory stays bounded whatever the input.
pub const MAX_PIXELS: u64 = 100_000_000;

/// An 8-bit RGB picture, row-major, three bytes per pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rgb {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `height * width * 3` bytes: R, G, B of each pixel, row by row.
    pub pixels: Vec<u8>,
}

fn unreadable(problem: impl std::fmt::Display) -> ModelError {
    ModelError::Picture(problem.to_string())
}

/// The picture format `bytes` start with, if emb reads it.
pub fn format_of(bytes: &[u8]) -> Option<&'static str> {
    match image::guess_format(bytes).ok()? {
        image::ImageFormat::Jpeg => Some("JPEG"),
        image::ImageFormat::Png => Some("PNG"),
        image::ImageFormat::WebP => Some("WebP"),
        image::ImageFormat::Gif => Some("GIF"),
        _ => None,
    }
}

/// Decodes a JPEG, PNG, WebP or GIF (its first frame) into RGB, turned upright as its EXIF
/// orientation says. Alpha is dropped and grey is spread to three channels, as Pillow's
/// `convert("RGB")` does.
pub fn decode(bytes: &[u8]) -> Result<Rgb> {
    if bytes.is_empty() {
        return Err(unreadable("the file is empty (0 bytes)"));
    }
    let Some(format) = format_of(bytes) else {
        let start = bytes.iter().take(8).fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        });
        return Err(unreadable(format!(
            "not a picture emb reads: it is not JPEG, PNG, WebP or GIF (it starts with bytes \
             {start})"
        )));
    };
    if format == "JPEG" && !jpeg_is_complete(bytes) {
        return Err(unreadable(
            "the JPEG data is cut short: it has no end-of-image marker after its picture data \
             (was the file copied or downloaded completely?)",
        ));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|error| unreadable(format!("cannot read the {format} data: {error}")))?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 4);
    reader.limits(limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|error| unreadable(format!("the {format} data is damaged: {error}")))?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(unreadable(format!(
            "the {format} data is cut short or damaged: it describes a picture of {width}x{height} \
             pixels"
        )));
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(unreadable(format!(
            "the picture is {width}x{height} pixels ({:.0} megapixels); emb reads pictures of up \
             to {} megapixels: shrink it first",
            f64::from(width) * f64::from(height) / 1e6,
            MAX_PIXELS / 1_000_000
        )));
    }
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut picture = DynamicImage::from_decoder(decoder).map_err(|error| {
        unreadable(format!("the {format} data is damaged or cut short: {error}"))
    })?;
    picture.apply_orientation(orientation);
    let rgb = picture.into_rgb8();
    Ok(Rgb { width: rgb.width() as usize, height: rgb.height() as usize, pixels: rgb.into_raw() })
}

/// Whether JPEG data has its end-of-image marker after the start of its first scan. The
/// segments before the scan are skipped by their lengths (an EXIF thumbnail inside one has markers
/// of its own); inside a scan a 0xFF byte is always followed by 0x00 or a restart marker, so an
/// `FF D9` there is the real end. (The JPEG decoder fills a cut-short picture with grey rather
/// than failing, so this is checked first.)
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let mut position = 2; // after the start-of-image marker
    while position + 4 <= bytes.len() {
        if bytes[position] != 0xFF {
            return false;
        }
        let marker = bytes[position + 1];
        if marker == 0xFF {
            position += 1; // fill byte
            continue;
        }
        if marker == 0xDA {
            return bytes[position..].windows(2).any(|pair| pair == [0xFF, 0xD9]);
        }
        let length = usize::from(u16::from_be_bytes([bytes[position + 2], bytes[position + 3]]));
        position += 2 + length;
    }
    false
}

/// Encodes an 8-bit grey picture (`width * height` bytes, row by row) as PNG.
pub fn encode_grey_png(width: usize, height: usize, pixels: &[u8]) -> Result<Vec<u8>> {
    use image::ImageEncoder as _;
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(
            pixels,
            u32::try_from(width).map_err(unreadable)?,
            u32::try_from(height).map_err(unreadable)?,
            image::ExtendedColorType::L8,
        )
        .map_err(|error| unreadable(format!("cannot encode a PNG: {error}")))?;
    Ok(png)
}

/// Encodes a picture as a baseline JPEG of `quality` (1 to 100).
pub fn encode_jpeg(picture: &Rgb, quality: u8) -> Result<Vec<u8>> {
    use image::ImageEncoder as _;
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, quality.clamp(1, 100))
        .write_image(
            &picture.pixels,
            u32::try_from(picture.width).map_err(unreadable)?,
            u32::try_from(picture.height).map_err(unreadable)?,
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|error| unreadable(format!("cannot encode a JPEG: {error}")))?;
    Ok(jpeg)
}

/// `picture` made to fit in `side` x `side`, keeping its shape (never enlarged): for
/// thumbnails.
pub fn fit(picture: &Rgb, side: usize) -> Rgb {
    let longest = picture.width.max(picture.height);
    if longest <= side {
        return picture.clone();
    }
    let scale = |length: usize| ((length * side) as f64 / longest as f64).round().max(1.0) as usize;
    resize(picture, scale(picture.width), scale(picture.height), Filter::Bilinear)
}

/// A resampling filter of Pillow's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// `Image.BILINEAR` (a triangle of radius 1), torchvision's default.
    Bilinear,
    /// `Image.BICUBIC` (Keys' cubic with a = -0.5, radius 2), CLIP's.
    Bicubic,
}

impl Filter {
    fn support(self) -> f64 {
        match self {
            Filter::Bilinear => 1.0,
            Filter::Bicubic => 2.0,
        }
    }

    fn weight(self, x: f64) -> f64 {
        let x = x.abs();
        match self {
            Filter::Bilinear => (1.0 - x).max(0.0),
            Filter::Bicubic => {
                const A: f64 = -0.5;
                if x < 1.0 {
                    ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
                } else if x < 2.0 {
                    (((x - 5.0) * x + 8.0) * x - 4.0) * A
                } else {
                    0.0
                }
            }
        }
    }
}

/// Fixed-point bits of the 8-bit resampling weights (Pillow's `PRECISION_BITS`).
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// For each output position along one axis: the first input position it reads and its
/// fixed-point weights (Pillow's `precompute_coeffs` and `normalize_coeffs_8bpc`).
struct Taps {
    first: Vec<usize>,
    weights: Vec<Vec<i32>>,
}

impl Taps {
    fn new(input: usize, output: usize, filter: Filter) -> Self {
        let scale = input as f64 / output as f64;
        let filter_scale = scale.max(1.0);
        let support = filter.support() * filter_scale;
        // Pillow multiplies by the reciprocal; dividing rounds differently in the last bit,
        // which can move a fixed-point weight by one.
        let reciprocal = 1.0 / filter_scale;
        let mut first = Vec::with_capacity(output);
        let mut weights = Vec::with_capacity(output);
        for position in 0..output {
            let centre = (position as f64 + 0.5) * scale;
            // Pillow truncates toward zero here (a C cast), then clamps.
            let start = ((centre - support + 0.5) as i64).max(0) as usize;
            let end = ((centre + support + 0.5) as i64).min(input as i64) as usize;
            let raw: Vec<f64> = (start..end)
                .map(|x| filter.weight((x as f64 - centre + 0.5) * reciprocal))
                .collect();
            let total: f64 = raw.iter().sum();
            let fixed = raw
                .iter()
                .map(|weight| {
                    let weight = if total == 0.0 { *weight } else { weight / total };
                    let scaled = weight * f64::from(1u32 << PRECISION_BITS);
                    if weight < 0.0 {
                        (scaled - 0.5) as i32
                    } else {
                        (scaled + 0.5) as i32
                    }
                })
                .collect();
            first.push(start);
            weights.push(fixed);
        }
        Self { first, weights }
    }

    /// The input positions any output reads: `(lowest, one past the highest)`.
    fn span(&self) -> (usize, usize) {
        let lowest = self.first.first().copied().unwrap_or(0);
        let highest = self
            .first
            .iter()
            .zip(&self.weights)
            .map(|(first, weights)| first + weights.len())
            .max()
            .unwrap_or(0);
        (lowest, highest)
    }
}

/// Rounds a fixed-point sum back to a byte, as Pillow's `clip8`. Sums are `i32`, as Pillow's
/// are: 255 times weights summing to 2^22 (with the negative lobes) stays far below 2^31.
fn to_byte(sum: i32) -> u8 {
    (sum >> PRECISION_BITS).clamp(0, 255) as u8
}

const ROUNDING: i32 = 1 << (PRECISION_BITS - 1);

/// Resizes `picture` to `width` x `height` as Pillow's `Image.resize(size, filter)` does for
/// RGB images: one pass along each axis, each in 8-bit fixed point with Pillow's weights.
///
/// Pillow's C code runs the horizontal pass first, and Pillow 13.0 runs the vertical one first
/// for some shrinking sizes; the order changes the rounding by a level here and there. emb goes
/// vertical first when the height shrinks and that pass leaves less to do (`W h < w H`), which
/// reproduces Pillow 13.0 exactly in 95% of random sizes and in every other case is within a
/// level or two (CLIP's resizes, which keep the aspect ratio, come out exact).
pub fn resize(picture: &Rgb, width: usize, height: usize, filter: Filter) -> Rgb {
    let horizontal = Taps::new(picture.width, width, filter);
    let vertical = Taps::new(picture.height, height, filter);
    let vertical_first = height < picture.height && picture.width * height < width * picture.height;
    match (width != picture.width, height != picture.height) {
        (false, false) => picture.clone(),
        (true, false) => resize_horizontally(picture, 0, picture.height, &horizontal),
        (false, true) => resize_vertically(picture, height, &vertical),
        (true, true) if vertical_first => {
            let shorter = resize_vertically(picture, height, &vertical);
            resize_horizontally(&shorter, 0, height, &horizontal)
        }
        (true, true) => {
            // Only the rows the vertical pass will read are resampled.
            let (top, bottom) = vertical.span();
            let narrower = resize_horizontally(picture, top, bottom, &horizontal);
            let shifted = Taps {
                first: vertical.first.iter().map(|first| first - top).collect(),
                weights: vertical.weights,
            };
            resize_vertically(&narrower, height, &shifted)
        }
    }
}

/// Resamples rows `top..bottom` of `picture` to the width of `taps`.
fn resize_horizontally(picture: &Rgb, top: usize, bottom: usize, taps: &Taps) -> Rgb {
    let width = taps.first.len();
    let mut pixels = Vec::with_capacity((bottom - top) * width * 3);
    for row in top..bottom {
        let source = &picture.pixels[row * picture.width * 3..(row + 1) * picture.width * 3];
        for (first, weights) in taps.first.iter().zip(&taps.weights) {
            let window = &source[first * 3..(first + weights.len()) * 3];
            let mut sums = [ROUNDING; 3];
            for (pixel, weight) in window.chunks_exact(3).zip(weights) {
                for (sum, value) in sums.iter_mut().zip(pixel) {
                    *sum += i32::from(*value) * weight;
                }
            }
            pixels.extend(sums.map(to_byte));
        }
    }
    Rgb { width, height: bottom - top, pixels }
}

/// Resamples `picture` to `height` rows: each output row is a weighted sum of whole input rows,
/// accumulated a row at a time (which the compiler vectorises).
fn resize_vertically(picture: &Rgb, height: usize, taps: &Taps) -> Rgb {
    let row_bytes = picture.width * 3;
    let mut pixels = Vec::with_capacity(height * row_bytes);
    let mut sums = vec![0_i32; row_bytes];
    for (first, weights) in taps.first.iter().zip(&taps.weights).take(height) {
        sums.fill(ROUNDING);
        for (offset, weight) in weights.iter().enumerate() {
            let row = first + offset;
            let source = &picture.pixels[row * row_bytes..(row + 1) * row_bytes];
            for (sum, value) in sums.iter_mut().zip(source) {
                *sum += i32::from(*value) * weight;
            }
        }
        pixels.extend(sums.iter().map(|sum| to_byte(*sum)));
    }
    Rgb { width: picture.width, height, pixels }
}

/// The size a picture is resized to when its shortest side becomes `side` and the other keeps
/// the aspect ratio, truncated (transformers' `shortest_edge` resize, torchvision's
/// `Resize(int)`): `(width, height)`.
pub fn shortest_side_size(width: usize, height: usize, side: usize) -> (usize, usize) {
    let (short, long) = if width <= height { (width, height) } else { (height, width) };
    let long = ((side * long) as f64 / short as f64) as usize;
    if width <= height {
        (side, long)
    } else {
        (long, side)
    }
}

/// How a crop's offset is rounded when the margin is odd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CropRounding {
    /// `(size - crop) // 2`, as transformers' image processors do.
    Floor,
    /// `round((size - crop) / 2)`, as torchvision's `CenterCrop` does.
    Nearest,
}

/// Cuts the centre `width` x `height` out of `picture` (which must be at least that large).
pub fn centre_crop(picture: &Rgb, width: usize, height: usize, rounding: CropRounding) -> Rgb {
    let offset = |size: usize, crop: usize| match rounding {
        CropRounding::Floor => (size - crop) / 2,
        CropRounding::Nearest => ((size - crop) as f64 / 2.0).round_ties_even() as usize,
    };
    let left = offset(picture.width, width);
    let top = offset(picture.height, height);
    let mut pixels = Vec::with_capacity(width * height * 3);
    for row in top..top + height {
        let start = (row * picture.width + left) * 3;
        pixels.extend_from_slice(&picture.pixels[start..start + width * 3]);
    }
    Rgb { width, height, pixels }
}

/// The picture as a `[3, height, width]` tensor of `(value / 255 - mean) / std` per channel.
pub fn normalise(picture: &Rgb, mean: [f32; 3], std: [f32; 3]) -> Vec<f32> {
    let plane = picture.width * picture.height;
    let mut tensor = vec![0.0; 3 * plane];
    for (index, pixel) in picture.pixels.chunks_exact(3).enumerate() {
        for channel in 0..3 {
            let value = f32::from(pixel[channel]) / 255.0;
            tensor[channel * plane + index] = (value - mean[channel]) / std[channel];
        }
    }
    tensor
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(width: usize, height: usize) -> Rgb {
        let pixels = (0..width * height * 3).map(|index| ((index * 37) % 256) as u8).collect();
        Rgb { width, height, pixels }
    }

    #[test]
    fn resizing_to_the_same_size_changes_nothing() {
        let picture = gradient(13, 9);
        assert_eq!(resize(&picture, 13, 9, Filter::Bicubic), picture);
    }

    #[test]
    fn a_flat_picture_stays_flat_at_any_size() {
        let picture = Rgb { width: 17, height: 11, pixels: vec![200; 17 * 11 * 3] };
        for (width, height) in [(5, 4), (40, 23), (17, 3), (2, 11)] {
            let resized = resize(&picture, width, height, Filter::Bicubic);
            assert_eq!(resized.pixels.len(), width * height * 3);
            assert!(resized.pixels.iter().all(|value| *value == 200), "{width}x{height}");
        }
    }

    #[test]
    fn shortest_side_keeps_the_aspect_ratio_truncated() {
        assert_eq!(shortest_side_size(320, 240, 224), (298, 224));
        assert_eq!(shortest_side_size(150, 333, 224), (224, 497));
        assert_eq!(shortest_side_size(10, 7, 224), (320, 224));
    }

    #[test]
    fn crops_round_as_their_libraries_do() {
        let picture = gradient(7, 5);
        let floor = centre_crop(&picture, 4, 4, CropRounding::Floor);
        let nearest = centre_crop(&picture, 4, 4, CropRounding::Nearest);
        assert_eq!(floor.pixels[..3], picture.pixels[3..6]); // left 1, top 0
        assert_eq!(nearest.pixels[..3], picture.pixels[6..9]); // left 2 (1.5 to even), top 0
    }

    #[test]
    fn bad_bytes_are_refused_with_a_reason() {
        let error = decode(b"").unwrap_err().to_string();
        assert!(error.contains("empty"), "{error}");
        let error = decode(b"hello world").unwrap_err().to_string();
        assert!(error.contains("not JPEG, PNG, WebP or GIF"), "{error}");
        let error = decode(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap_err().to_string();
        assert!(error.contains("PNG"), "{error}");
    }
}
