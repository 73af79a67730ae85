//! CLIP against its reference implementations, on the tiny random models and pictures of
//! `tests/fixtures/make-tiny-image-models.py`: preprocessing pixel by pixel against transformers'
//! `CLIPImageProcessor` (Pillow underneath), vectors against sentence-transformers, token ids
//! against transformers' tokenizer, for both folder layouts.

use std::path::{Path, PathBuf};

use emb_core::distance::cosine;
use emb_core::{Embedder, Input};
use emb_models::pictures;
use emb_models::{ClipModel, PictureModel};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

struct Reference {
    image: Option<String>,
    text: Option<String>,
    ids: Vec<u32>,
    embedding: Vec<f32>,
}

fn reference() -> Vec<Reference> {
    std::fs::read_to_string(fixtures().join("tiny/clip-h32.jsonl"))
        .expect("the reference vectors")
        .lines()
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            let numbers = |key: &str| -> Vec<f64> {
                row[key].as_array().map_or_else(Vec::new, |values| {
                    values.iter().map(|value| value.as_f64().expect("a number")).collect()
                })
            };
            Reference {
                image: row["image"].as_str().map(String::from),
                text: row["text"].as_str().map(String::from),
                ids: numbers("ids").into_iter().map(|id| id as u32).collect(),
                embedding: numbers("embedding").into_iter().map(|x| x as f32).collect(),
            }
        })
        .collect()
}

fn picture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("images").join(name)).expect("a test picture")
}

fn models() -> Vec<ClipModel> {
    ["tiny/clip-h32", "tiny/clip-h32-st"]
        .iter()
        .map(|folder| ClipModel::load(&fixtures().join(folder), folder).expect("the model loads"))
        .collect()
}

fn read_png(path: &Path) -> pictures::Rgb {
    pictures::decode(&std::fs::read(path).expect("a fixture picture")).expect("it decodes")
}

fn largest_difference(ours: &pictures::Rgb, expected: &pictures::Rgb) -> u8 {
    assert_eq!((ours.width, ours.height), (expected.width, expected.height));
    ours.pixels.iter().zip(&expected.pixels).map(|(a, b)| a.abs_diff(*b)).max().unwrap()
}

#[test]
fn preprocessing_reproduces_transformers_and_pillow_exactly() {
    let model = &models()[0];
    for row in reference().iter().filter(|row| row.image.is_some()) {
        let name = row.image.as_deref().unwrap();
        let stem = name.rsplit_once('.').unwrap().0;
        let expected = read_png(&fixtures().join(format!("images/clip224/{stem}.png")));
        // Resize and crop, on exactly the pixels Pillow decoded: bit for bit.
        let jpeg = Path::new(name).extension().is_some_and(|extension| extension == "jpg");
        let input = if jpeg {
            read_png(&fixtures().join(format!("images/decoded/{stem}.png")))
        } else {
            pictures::decode(&picture_bytes(name)).unwrap()
        };
        assert_eq!(largest_difference(&model.preprocess(&input), &expected), 0, "{name}");
        // From the file: lossless formats decode to the same pixels as in Pillow; JPEG decoders
        // round their IDCT and chroma upsampling differently by a few levels in places.
        let end_to_end = model.preprocess(&pictures::decode(&picture_bytes(name)).unwrap());
        let worst = largest_difference(&end_to_end, &expected);
        let allowed = if jpeg { 4 } else { 0 };
        assert!(worst <= allowed, "{name}: decoded and preprocessed, off by up to {worst}");
    }
}

#[test]
fn normalising_scales_each_channel_by_clips_mean_and_std() {
    let picture = pictures::Rgb { width: 1, height: 2, pixels: vec![0, 128, 255, 255, 0, 64] };
    let tensor = pictures::normalise(&picture, [0.5, 0.25, 0.0], [0.5, 0.25, 1.0]);
    let expected = [-1.0, 1.0, 128.0 / 255.0 / 0.5 * 2.0 - 1.0, -1.0, 1.0, 64.0 / 255.0];
    for (value, want) in tensor.iter().zip(expected) {
        assert!((value - want).abs() < 1e-6, "{tensor:?}");
    }
}

#[test]
fn picture_and_text_vectors_match_sentence_transformers() {
    for model in models() {
        for row in reference() {
            let vector = match (&row.image, &row.text) {
                (Some(name), _) => model.embed(Input::Image(&picture_bytes(name))).unwrap(),
                (None, Some(text)) => model.embed(Input::Text(text)).unwrap(),
                _ => unreachable!(),
            };
            let label = row.image.as_deref().or(row.text.as_deref()).unwrap();
            assert_eq!(vector.len(), 24);
            let similarity = cosine(&vector, &row.embedding);
            let worst = vector
                .iter()
                .zip(&row.embedding)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0_f32, f32::max);
            assert!(
                similarity >= 0.9999 && worst < 5e-3,
                "{}: {label}: cosine {similarity}, largest difference {worst}",
                model.info().name
            );
        }
    }
}

#[test]
fn token_ids_match_transformers_with_and_without_tokenizer_json() {
    for model in models() {
        for row in reference().iter().filter(|row| row.text.is_some()) {
            let report = model.tokenize(row.text.as_deref().unwrap()).unwrap();
            assert_eq!(report.ids[..report.used.min(76)], row.ids[..report.used.min(76)]);
            assert_eq!(report.used, row.ids.len(), "{}", model.info().name);
        }
    }
}

#[test]
fn a_batch_mixing_texts_and_pictures_keeps_their_order() {
    let model = &models()[0];
    let photo = picture_bytes("photo.jpg");
    let grey = picture_bytes("grey.png");
    let inputs =
        [Input::Text("a bunny"), Input::Image(&photo), Input::Text("x"), Input::Image(&grey)];
    let together = model.embed_batch(&inputs).unwrap();
    for (input, vector) in inputs.iter().zip(&together) {
        let alone = model.embed(*input).unwrap();
        assert!(cosine(&alone, vector) > 0.99999);
    }
}

#[test]
fn unreadable_pictures_are_refused_with_the_reason() {
    let model = &models()[0];
    let photo = picture_bytes("photo.jpg");
    let cases: [(&[u8], &str); 3] =
        [(b"", "empty"), (b"GIF89a", "GIF"), (&photo[..photo.len() / 3], "JPEG")];
    for (bytes, expected) in cases {
        let error = model.prepare_picture(bytes).map(|_| ()).unwrap_err().to_string();
        assert!(error.contains(expected), "{error}");
    }
}
