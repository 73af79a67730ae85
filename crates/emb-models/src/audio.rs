//! Sound as a picture: `audio:MODEL` decodes a sound (WAV, FLAC, MP3, Ogg Vorbis), computes its
//! log-mel spectrogram, renders it as a picture and embeds that with the picture model `MODEL`
//! (CLIP, a ResNet, or raw pixels).
//!
//! The spectrogram, for a sound at sample rate `sr` (channels averaged to mono, at most its first
//! [`MAX_SECONDS`] seconds): a Hann window of 25 ms, a hop of 10 ms (in samples, rounded half to
//! even, as Python rounds), an FFT of the next power of
//! two, centred frames with zero padding, power, 128 mel bands of librosa's (Slaney) scale and
//! norm from 0 Hz to `min(sr / 2, 11025)` Hz, in decibels relative to the loudest bin (floor
//! 1e-10, range 80 dB): what `librosa.power_to_db(librosa.feature.melspectrogram(...), ref=np.max)`
//! gives with those settings. The picture has one row per band (the highest at the top), one
//! column per frame, grey level `round((dB + 80) / 80 * 255)`, resized to 224 x 224 with Pillow's
//! bilinear filter; the picture model then prepares it as it prepares any picture.

use std::collections::BTreeMap;
use std::io::Cursor;

use emb_core::{Embedder, Input, InputKind, Vector};
use rustfft::num_complex::Complex;
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as DecodeError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;

use crate::error::{ModelError, Result};
use crate::pictures::{self, Filter, Rgb};
use crate::{ModelInfo, PictureModel, PreparedPicture};

/// The prefix of sound model names: `audio:clip-ViT-B-32`.
pub const PREFIX: &str = "audio:";

/// The longest stretch of a sound that is embedded, from its start, in seconds.
pub const MAX_SECONDS: usize = 30;

/// Mel bands of the spectrogram.
const BANDS: usize = 128;

/// The side of the spectrogram picture handed to the picture model.
const SIDE: usize = 224;

/// The dynamic range kept, in decibels below the loudest bin.
const RANGE_DB: f64 = 80.0;

/// A decoded sound: mono samples in -1..1.
#[derive(Debug, Clone)]
pub struct Sound {
    /// Samples per second.
    pub rate: u32,
    /// The channels the file had (averaged into `samples`).
    pub channels: usize,
    /// The samples, channels averaged.
    pub samples: Vec<f32>,
}

/// The sound format `bytes` start like, if any: `wav`, `flac`, `ogg` or `mp3`.
pub fn format_of(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'A', b'V', b'E', ..] => Some("wav"),
        [b'f', b'L', b'a', b'C', ..] => Some("flac"),
        [b'O', b'g', b'g', b'S', ..] => Some("ogg"),
        [b'I', b'D', b'3', ..] => Some("mp3"),
        // An MPEG audio frame header: 11 sync bits, a valid version and layer III.
        [0xFF, second, ..] if second & 0xE0 == 0xE0 && second & 0x06 == 0x02 => Some("mp3"),
        _ => None,
    }
}

fn unreadable(problem: impl std::fmt::Display, bytes: &[u8]) -> ModelError {
    let hint = match pictures::format_of(bytes) {
        Some(format) => format!(" (it is a {format} picture; audio: models take sounds)"),
        None => String::new(),
    };
    ModelError::Sound(format!("{problem}{hint}"))
}

/// Decodes a WAV, FLAC, MP3 or Ogg Vorbis sound's first [`MAX_SECONDS`] seconds, averaging its
/// channels.
pub fn decode(bytes: &[u8]) -> Result<Sound> {
    if bytes.is_empty() {
        return Err(ModelError::Sound("the file is empty".into()));
    }
    let stream =
        MediaSourceStream::new(Box::new(Cursor::new(bytes)), MediaSourceStreamOptions::default());
    let mut format = symphonia::default::get_probe()
        .probe(&Hint::new(), stream, FormatOptions::default(), MetadataOptions::default())
        .map_err(|error| {
            unreadable(
                format!("not a sound emb can read (WAV, FLAC, MP3, Ogg Vorbis): {error}"),
                bytes,
            )
        })?;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| ModelError::Sound("the file has no audio track".into()))?;
    let track_id = track.id;
    let parameters = track
        .codec_params
        .as_ref()
        .and_then(|parameters| parameters.audio())
        .ok_or_else(|| ModelError::Sound("the audio track has no codec parameters".into()))?;
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(parameters, &AudioDecoderOptions::default())
        .map_err(|error| ModelError::Sound(format!("no decoder for its codec: {error}")))?;
    let mut samples = Vec::new();
    let mut interleaved: Vec<f32> = Vec::new();
    let (mut rate, mut channels) = (0_u32, 0_usize);
    let mut damaged = 0_usize;
    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            // The end, or a file cut short: the sound ends where the file does.
            Ok(None) | Err(DecodeError::IoError(_)) => break,
            Err(error) => return Err(ModelError::Sound(format!("reading the file: {error}"))),
        };
        if packet.track_id != track_id {
            continue;
        }
        let buffer = match decoder.decode(&packet) {
            Ok(buffer) => buffer,
            Err(DecodeError::DecodeError(_)) => {
                damaged += 1;
                continue;
            }
            Err(error) => return Err(ModelError::Sound(format!("decoding: {error}"))),
        };
        rate = buffer.spec().rate();
        channels = buffer.spec().channels().count().max(1);
        interleaved.resize(buffer.samples_interleaved(), 0.0);
        buffer.copy_to_slice_interleaved(&mut interleaved);
        samples.extend(
            interleaved
                .chunks_exact(channels)
                .map(|frame| frame.iter().sum::<f32>() / channels as f32),
        );
        if samples.len() >= MAX_SECONDS * rate as usize {
            samples.truncate(MAX_SECONDS * rate as usize);
            break;
        }
    }
    if samples.is_empty() || rate == 0 {
        let reason =
            if damaged > 0 { format!(" ({damaged} damaged packets)") } else { String::new() };
        return Err(ModelError::Sound(format!("no samples could be decoded{reason}")));
    }
    Ok(Sound { rate, channels, samples })
}

/// The slaney mel scale of librosa (linear below 1 kHz, logarithmic above).
fn hz_to_mel(hz: f64) -> f64 {
    let (linear_step, break_hz) = (200.0 / 3.0, 1000.0);
    if hz >= break_hz {
        break_hz / linear_step + (hz / break_hz).ln() / (6.4_f64.ln() / 27.0)
    } else {
        hz / linear_step
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    let (linear_step, break_hz) = (200.0 / 3.0, 1000.0);
    let break_mel = break_hz / linear_step;
    if mel >= break_mel {
        break_hz * ((6.4_f64.ln() / 27.0) * (mel - break_mel)).exp()
    } else {
        mel * linear_step
    }
}

/// librosa's mel filter bank (Slaney scale and area norm): `BANDS` rows of `fft / 2 + 1`.
fn mel_filters(rate: f64, fft: usize, highest: f64) -> Vec<Vec<f64>> {
    let bins = fft / 2 + 1;
    let (low, high) = (hz_to_mel(0.0), hz_to_mel(highest));
    let edges: Vec<f64> = (0..BANDS + 2)
        .map(|index| mel_to_hz(low + (high - low) * index as f64 / (BANDS + 1) as f64))
        .collect();
    let frequencies: Vec<f64> = (0..bins).map(|bin| bin as f64 * rate / fft as f64).collect();
    (0..BANDS)
        .map(|band| {
            let (left, centre, right) = (edges[band], edges[band + 1], edges[band + 2]);
            let norm = 2.0 / (right - left);
            frequencies
                .iter()
                .map(|frequency| {
                    let rising = (frequency - left) / (centre - left);
                    let falling = (right - frequency) / (right - centre);
                    rising.min(falling).max(0.0) * norm
                })
                .collect()
        })
        .collect()
}

/// The log-mel spectrogram (see the module documentation): `(decibels, frames)`, `decibels`
/// being `BANDS` rows of `frames`, lowest band first.
pub fn log_mel(sound: &Sound) -> (Vec<f32>, usize) {
    let rate = f64::from(sound.rate);
    let window = ((0.025 * rate).round_ties_even() as usize).max(2);
    let hop = ((0.010 * rate).round_ties_even() as usize).max(1);
    let fft = window.next_power_of_two();
    let offset = (fft - window) / 2;
    let hann: Vec<f64> = (0..window)
        .map(|index| 0.5 - 0.5 * (std::f64::consts::TAU * index as f64 / window as f64).cos())
        .collect();
    let frames = 1 + sound.samples.len() / hop;
    let filters = mel_filters(rate, fft, (rate / 2.0).min(11025.0));
    let plan = rustfft::FftPlanner::<f64>::new().plan_fft_forward(fft);
    let mut buffer = vec![Complex::new(0.0, 0.0); fft];
    let mut scratch = vec![Complex::new(0.0, 0.0); plan.get_inplace_scratch_len()];
    let mut power = vec![0.0_f64; BANDS * frames];
    let mut spectrum = vec![0.0_f64; fft / 2 + 1];
    for frame in 0..frames {
        // Frame `frame` is centred on sample `frame * hop` (zeros beyond the ends).
        for (index, value) in buffer.iter_mut().enumerate() {
            let tap = index.wrapping_sub(offset);
            let position = (frame * hop + index).wrapping_sub(fft / 2);
            *value = match (hann.get(tap), sound.samples.get(position)) {
                (Some(weight), Some(sample)) => Complex::new(weight * f64::from(*sample), 0.0),
                _ => Complex::new(0.0, 0.0),
            };
        }
        plan.process_with_scratch(&mut buffer, &mut scratch);
        for (bin, value) in spectrum.iter_mut().enumerate() {
            *value = buffer[bin].norm_sqr();
        }
        for (band, filter) in filters.iter().enumerate() {
            power[band * frames + frame] =
                filter.iter().zip(&spectrum).map(|(weight, value)| weight * value).sum();
        }
    }
    let floor = 1e-10;
    let loudest = power.iter().copied().fold(floor, f64::max);
    let reference = 10.0 * loudest.log10();
    let decibels = power
        .iter()
        .map(|value| (10.0 * value.max(floor).log10() - reference).max(-RANGE_DB) as f32);
    (decibels.collect(), frames)
}

/// Renders a log-mel spectrogram as the picture the image model sees (see the module
/// documentation).
pub fn render(decibels: &[f32], frames: usize) -> Rgb {
    let bands = decibels.len() / frames;
    let mut pixels = Vec::with_capacity(bands * frames * 3);
    for band in (0..bands).rev() {
        for value in &decibels[band * frames..(band + 1) * frames] {
            let level =
                ((f64::from(*value) + RANGE_DB) / RANGE_DB * 255.0).round().clamp(0.0, 255.0);
            pixels.extend([level as u8; 3]);
        }
    }
    let picture = Rgb { width: frames, height: bands, pixels };
    pictures::resize(&picture, SIDE, SIDE, Filter::Bilinear)
}

/// The spectrogram picture of an encoded sound.
pub fn spectrogram_picture(bytes: &[u8]) -> Result<Rgb> {
    let sound = decode(bytes)?;
    let (decibels, frames) = log_mel(&sound);
    Ok(render(&decibels, frames))
}

/// A picture model embedding sounds through their spectrogram pictures.
pub struct AudioModel {
    info: ModelInfo,
    picture: Box<dyn PictureModel>,
}

impl AudioModel {
    /// Wraps the picture model `picture`, naming the result `audio:` + its name.
    pub fn new(picture: Box<dyn PictureModel>) -> Self {
        let inner = picture.info();
        let info = ModelInfo {
            name: format!("{PREFIX}{}", inner.name),
            path: inner.path.clone(),
            architecture: format!("log-mel spectrogram -> {}", inner.architecture),
            dimensions: inner.dimensions,
            max_seq_length: 0,
            pooling: inner.pooling.clone(),
            normalize: inner.normalize,
            prompts: BTreeMap::new(),
            size_bytes: inner.size_bytes,
        };
        Self { info, picture }
    }
}

impl PictureModel for AudioModel {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn prepare_picture(&self, bytes: &[u8]) -> Result<PreparedPicture> {
        self.picture.prepare_rgb(&spectrogram_picture(bytes)?)
    }

    fn prepare_rgb(&self, picture: &Rgb) -> Result<PreparedPicture> {
        self.picture.prepare_rgb(picture)
    }

    fn embed_pictures(&self, prepared: &[PreparedPicture]) -> Result<Vec<Vector>> {
        self.picture.embed_pictures(prepared)
    }
}

impl Embedder for AudioModel {
    fn name(&self) -> &str {
        &self.info.name
    }

    fn dimensions(&self) -> usize {
        self.info.dimensions
    }

    fn accepts(&self, kind: InputKind) -> bool {
        kind == InputKind::Audio
    }

    fn embed_batch(&self, inputs: &[Input<'_>]) -> emb_core::Result<Vec<Vector>> {
        crate::embed_binary_inputs(self, &self.info.name, InputKind::Audio, inputs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mel_scale_round_trips_and_breaks_at_one_kilohertz() {
        for hz in [0.0, 440.0, 1000.0, 4000.0, 11025.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9, "{hz}");
        }
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
    }

    #[test]
    fn sound_formats_are_known_by_their_first_bytes() {
        assert_eq!(format_of(b"RIFF\0\0\0\0WAVEfmt "), Some("wav"));
        assert_eq!(format_of(b"fLaC\0"), Some("flac"));
        assert_eq!(format_of(&[0xFF, 0xFB, 0x90]), Some("mp3"));
        assert_eq!(format_of(b"\x89PNG\r\n"), None);
    }
}
