//! Sounds against their reference implementations, on the sounds of
//! `tests/fixtures/make-sounds.py`: decoding against libsndfile (soundfile), the log-mel
//! spectrogram against librosa, the spectrogram picture against Pillow's resize, and the vectors
//! of `audio:` + the tiny CLIP against sentence-transformers on that picture.

use std::path::{Path, PathBuf};

use emb_core::distance::cosine;
use emb_core::{Embedder, Input};
use emb_models::audio::{self, AudioModel};
use emb_models::{pictures, ClipModel, PictureModel};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn sound_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("sounds").join(name)).expect("a test sound")
}

fn description() -> serde_json::Value {
    let text = std::fs::read_to_string(fixtures().join("sounds/sounds.json")).expect("sounds.json");
    serde_json::from_str(&text).expect("JSON")
}

fn lossless(name: &str) -> bool {
    ["chirp.wav", "duet.flac"].contains(&name)
}

fn stem(name: &str) -> String {
    name.replace('.', "-")
}

fn model() -> AudioModel {
    let clip = fixtures().join("tiny/clip-h32-st");
    AudioModel::new(Box::new(ClipModel::load(&clip, "clip-h32-st").expect("the model loads")))
}

#[test]
fn every_format_decodes_to_the_samples_libsndfile_reads() {
    let description = description();
    for name in ["chirp.wav", "duet.flac", "chirp.ogg", "chirp.mp3"] {
        let sound = audio::decode(&sound_bytes(name)).unwrap();
        let expected = &description[name];
        assert_eq!(u64::from(sound.rate), expected["rate"].as_u64().unwrap(), "{name}");
        assert_eq!(sound.channels as u64, expected["channels"].as_u64().unwrap(), "{name}");
        let samples = expected["samples"].as_u64().unwrap() as usize;
        // Lossy decoders may add or drop a little padding at the ends.
        let allowed = if lossless(name) { 0 } else { 2048 };
        assert!(
            sound.samples.len().abs_diff(samples) <= allowed,
            "{name}: {}",
            sound.samples.len()
        );
    }
}

#[test]
fn the_log_mel_spectrogram_matches_librosa() {
    for name in ["chirp.wav", "duet.flac"] {
        let sound = audio::decode(&sound_bytes(name)).unwrap();
        let (ours, frames) = audio::log_mel(&sound);
        let bytes =
            std::fs::read(fixtures().join(format!("sounds/{}.mel.f32", stem(name)))).unwrap();
        let expected: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|chunk| f32::from_le_bytes(chunk.try_into().unwrap()))
            .collect();
        assert_eq!(frames, description()[name]["frames"].as_u64().unwrap() as usize);
        assert_eq!(ours.len(), expected.len(), "{name}");
        // librosa works in single precision, emb in double; measured: 8e-6 dB at most.
        let mut loud_worst = 0.0_f32;
        let mut worst = 0.0_f32;
        for (a, b) in ours.iter().zip(&expected) {
            let difference = (a - b).abs();
            worst = worst.max(difference);
            if *b > -50.0 {
                loud_worst = loud_worst.max(difference);
            }
        }
        assert!(loud_worst < 1e-3, "{name}: bins above -50 dB differ by up to {loud_worst} dB");
        assert!(worst < 0.05, "{name}: bins differ by up to {worst} dB");
    }
}

#[test]
fn the_spectrogram_picture_matches_the_reference_rendering() {
    for name in ["chirp.wav", "duet.flac"] {
        let ours = audio::spectrogram_picture(&sound_bytes(name)).unwrap();
        let png = std::fs::read(fixtures().join(format!("sounds/{}.png", stem(name)))).unwrap();
        let expected = pictures::decode(&png).unwrap();
        assert_eq!((ours.width, ours.height), (224, 224));
        let differences: Vec<u8> =
            ours.pixels.iter().zip(&expected.pixels).map(|(a, b)| a.abs_diff(*b)).collect();
        let worst = differences.iter().max().copied().unwrap();
        let off = differences.iter().filter(|difference| **difference > 0).count();
        // Equal here; a grey level that rounds the other way (a bin at x.5 levels, which the FFT's
        // last bits can decide) would move a pixel by one.
        assert!(worst <= 1, "{name}: off by up to {worst}");
        assert!(off * 100 < differences.len(), "{name}: {off} values differ");
    }
}

#[test]
fn sound_vectors_match_sentence_transformers_on_the_spectrogram() {
    let model = model();
    let description = description();
    assert_eq!(model.info().name, "audio:clip-h32-st");
    for name in ["chirp.wav", "duet.flac", "chirp.ogg", "chirp.mp3"] {
        let expected: Vec<f32> = description[name]["clip-h32"]
            .as_array()
            .unwrap()
            .iter()
            .map(|value| value.as_f64().unwrap() as f32)
            .collect();
        let vector = model.embed(Input::Audio(&sound_bytes(name))).unwrap();
        let similarity = cosine(&vector, &expected);
        // Lossy formats: symphonia's decoders and libsndfile's (mpg123, libvorbis) differ in
        // their last bits and in padding.
        let wanted = if lossless(name) { 0.9999 } else { 0.999 };
        assert!(similarity >= wanted, "{name}: cosine {similarity}");
    }
    let wav = model.embed(Input::Audio(&sound_bytes("chirp.wav"))).unwrap();
    let flac = model.embed(Input::Audio(&sound_bytes("duet.flac"))).unwrap();
    assert!(cosine(&wav, &flac) < 0.999, "different sounds give different vectors");
}

#[test]
fn what_is_not_a_sound_is_refused_with_the_reason() {
    let model = model();
    let picture = std::fs::read(fixtures().join("images/grey.png")).unwrap();
    let error = model.prepare_picture(&picture).map(|_| ()).unwrap_err().to_string();
    assert!(error.contains("PNG picture"), "{error}");
    let error = model.prepare_picture(b"").map(|_| ()).unwrap_err().to_string();
    assert!(error.contains("empty"), "{error}");
    let error = model.prepare_picture(b"hello, world").map(|_| ()).unwrap_err().to_string();
    assert!(error.contains("not a sound"), "{error}");
    let error = model.embed(Input::Text("a dog barking")).unwrap_err().to_string();
    assert!(error.contains("audio:clip-h32-st"), "{error}");
    // A WAV cut short embeds what is there.
    let wav = sound_bytes("chirp.wav");
    let sound = audio::decode(&wav[..wav.len() / 2]).unwrap();
    assert!(sound.samples.len() < 33075 / 2 + 100 && sound.samples.len() > 33075 / 3);
}
