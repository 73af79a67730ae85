//! Small pictures of stored pictures and sounds, for maps: a photo shrunk, a sound's
//! spectrogram.

use emb_models::{audio, pictures};
use emb_plot::Thumbnail;
use rayon::prelude::*;

/// The longest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: usize = 80;

/// At most this many items of a map get thumbnails (spread evenly over the collection); the
/// page carries them all, at 1 to 3 kB each (Fashion-MNIST's: 1.3 kB as base64).
pub const MAX_THUMBNAILS: usize = 10_000;

/// The stored items are read this many at a time and shrunk in parallel.
const BATCH: usize = 64;

/// A thumbnail of encoded content: a picture (JPEG, PNG, WebP, GIF) shrunk to fit
/// [`THUMBNAIL_SIDE`], or a sound's (WAV, FLAC, MP3, Ogg) spectrogram; `None` for anything
/// else, or what cannot be read.
pub fn thumbnail(bytes: &[u8]) -> Option<Thumbnail> {
    let picture = if pictures::format_of(bytes).is_some() {
        pictures::decode(bytes).ok()?
    } else if audio::format_of(bytes).is_some() {
        audio::spectrogram_picture(bytes).ok()?
    } else {
        return None;
    };
    let small = pictures::fit(&picture, THUMBNAIL_SIDE);
    Some(Thumbnail {
        bytes: pictures::encode_jpeg(&small, 85).ok()?,
        media_type: "image/jpeg".to_owned(),
        width: u32::try_from(small.width).ok()?,
        height: u32::try_from(small.height).ok()?,
    })
}

/// Collects `(row, bytes)` pairs and turns them into thumbnails in parallel batches, so that
/// at most [`BATCH`] encoded items are held at once.
pub(crate) struct Shrinker {
    pending: Vec<(usize, Vec<u8>)>,
    made: Vec<(usize, Thumbnail)>,
}

impl Shrinker {
    pub(crate) fn new() -> Self {
        Self { pending: Vec::with_capacity(BATCH), made: Vec::new() }
    }

    pub(crate) fn add(&mut self, row: usize, bytes: Vec<u8>) {
        self.pending.push((row, bytes));
        if self.pending.len() == BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let batch = std::mem::take(&mut self.pending);
        self.made.par_extend(
            batch.into_par_iter().filter_map(|(row, bytes)| Some((row, thumbnail(&bytes)?))),
        );
    }

    /// The thumbnails made, by row.
    pub(crate) fn finish(mut self) -> Vec<(usize, Thumbnail)> {
        self.flush();
        self.made
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_shrink_to_fit_and_other_content_has_none() {
        let picture = pictures::Rgb { width: 300, height: 150, pixels: vec![200; 300 * 150 * 3] };
        let mut png = Vec::new();
        image_png(&picture, &mut png);
        let made = thumbnail(&png).expect("a thumbnail");
        assert_eq!((made.width, made.height), (80, 40));
        assert!(made.bytes.starts_with(&[0xFF, 0xD8]), "a JPEG");
        assert!(thumbnail(b"plain text").is_none());
        assert!(thumbnail(b"\x89PNG\r\n\x1a\n broken").is_none());
    }

    fn image_png(picture: &pictures::Rgb, out: &mut Vec<u8>) {
        let grey: Vec<u8> = picture.pixels.iter().step_by(3).copied().collect();
        *out = pictures::encode_grey_png(picture.width, picture.height, &grey).unwrap();
    }
}
