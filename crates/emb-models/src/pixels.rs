//! Raw pixels as a vector: the naive picture embedding (MNIST's 784 numbers per digit), and the
//! baseline any learned picture model must beat.
//!
//! `pixels:28x28:gray` turns a picture grey with Pillow's weights (`L = 0.299 R + 0.587 G +
//! 0.114 B`), resizes it to 28x28 with Pillow's bicubic (when it is not that size already) and
//! gives its pixels row by row, scaled to 0..1: what `Image.open(path).convert("L").resize((28,
//! 28))` gives, divided by 255. `pixels:WxH:rgb` keeps the three channels
//! (R, G, B of each pixel in turn).

use std::collections::BTreeMap;

use emb_core::{Embedder, Input, InputKind, Vector};

use crate::error::{ModelError, Result};
use crate::pictures::{self, Filter, Rgb};
use crate::{ModelInfo, PictureModel, PreparedPicture};

/// The prefix of pixel model names.
pub const PREFIX: &str = "pixels:";

/// The largest side a pixel model may have (a 256x256 RGB vector has 196,608 dimensions).
const MAX_SIDE: usize = 256;

/// A picture's own pixels as its vector.
#[derive(Debug, Clone)]
pub struct PixelModel {
    info: ModelInfo,
    width: usize,
    height: usize,
    grey: bool,
}

impl PixelModel {
    /// Parses a name like `pixels:28x28:gray` (`gray`/`grey` or `rgb`; `WxH` or one side).
    pub fn parse(name: &str) -> Result<Self> {
        let wrong = |problem: String| ModelError::NotAModel {
            path: name.into(),
            problem: format!(
                "{problem}; pixel models are named pixels:WIDTHxHEIGHT:gray or \
                 pixels:WIDTHxHEIGHT:rgb, e.g. pixels:28x28:gray"
            ),
        };
        let rest = name.strip_prefix(PREFIX).ok_or_else(|| wrong("no pixels: prefix".into()))?;
        let (size, colour) = rest.split_once(':').unwrap_or((rest, "gray"));
        let grey = match colour {
            "gray" | "grey" | "l" => true,
            "rgb" => false,
            other => return Err(wrong(format!("{other:?} is not gray or rgb"))),
        };
        let (width, height) = size.split_once('x').unwrap_or((size, size));
        let side = |text: &str| match text.parse::<usize>() {
            Ok(side) if (1..=MAX_SIDE).contains(&side) => Ok(side),
            _ => Err(wrong(format!("{text:?} is not a side of 1 to {MAX_SIDE} pixels"))),
        };
        let (width, height) = (side(width)?, side(height)?);
        let dimensions = width * height * if grey { 1 } else { 3 };
        let canonical = format!("{PREFIX}{width}x{height}:{}", if grey { "gray" } else { "rgb" });
        Ok(Self {
            info: ModelInfo {
                name: canonical.clone(),
                path: canonical.into(),
                architecture: "pixels".into(),
                dimensions,
                max_seq_length: 0,
                pooling: "none".into(),
                normalize: false,
                prompts: BTreeMap::new(),
                size_bytes: 0,
            },
            width,
            height,
            grey,
        })
    }

    /// What the model is.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }
}

impl PictureModel for PixelModel {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn prepare_rgb(&self, picture: &Rgb) -> Result<PreparedPicture> {
        let mut picture = picture.clone();
        if self.grey {
            // Grey first, then resized, as `Image.open(path).convert("L").resize(size)` does:
            // the luma is spread over the three channels, which resize independently.
            for pixel in picture.pixels.chunks_exact_mut(3) {
                let [r, g, b] = [pixel[0], pixel[1], pixel[2]].map(u32::from);
                // Pillow's ITU-R 601-2 luma in 16-bit fixed point.
                let luma = ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16) as u8;
                pixel.fill(luma);
            }
        }
        if (picture.width, picture.height) != (self.width, self.height) {
            picture = pictures::resize(&picture, self.width, self.height, Filter::Bicubic);
        }
        let channels = if self.grey { 1 } else { 3 };
        let tensor = picture
            .pixels
            .chunks_exact(3)
            .flat_map(|pixel| pixel[..channels].iter().map(|value| f32::from(*value) / 255.0))
            .collect();
        Ok(PreparedPicture { tensor })
    }

    fn embed_pictures(&self, prepared: &[PreparedPicture]) -> Result<Vec<Vector>> {
        prepared
            .iter()
            .map(|picture| {
                if picture.tensor.len() == self.info.dimensions {
                    Ok(picture.tensor.clone())
                } else {
                    Err(ModelError::Picture(format!(
                        "a picture prepared for another model ({} values, {} expected)",
                        picture.tensor.len(),
                        self.info.dimensions
                    )))
                }
            })
            .collect()
    }
}

impl Embedder for PixelModel {
    fn name(&self) -> &str {
        &self.info.name
    }

    fn dimensions(&self) -> usize {
        self.info.dimensions
    }

    fn accepts(&self, kind: InputKind) -> bool {
        kind == InputKind::Image
    }

    fn embed_batch(&self, inputs: &[Input<'_>]) -> emb_core::Result<Vec<Vector>> {
        crate::embed_binary_inputs(self, &self.info.name, InputKind::Image, inputs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_to_sizes_and_channels() {
        assert_eq!(PixelModel::parse("pixels:28x28:gray").unwrap().info.dimensions, 784);
        assert_eq!(PixelModel::parse("pixels:32:rgb").unwrap().info.dimensions, 3072);
        assert_eq!(PixelModel::parse("pixels:8x4").unwrap().info.name, "pixels:8x4:gray");
        for bad in ["pixels:0x3", "pixels:28x28:cmyk", "pixels:axb", "pixels:999"] {
            let error = PixelModel::parse(bad).unwrap_err().to_string();
            assert!(error.contains("pixels:WIDTHxHEIGHT:gray"), "{bad}: {error}");
        }
    }
}
