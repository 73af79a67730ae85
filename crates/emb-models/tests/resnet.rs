//! ResNet against torchvision, on the tiny random ResNets and pictures of
//! `tests/fixtures/make-tiny-resnets.py`: preprocessing pixel by pixel against torchvision's
//! `Resize(256)` + `CenterCrop(224)` (Pillow's bilinear underneath), average-pool vectors against
//! torchvision's forward pass, for a `BasicBlock` and a `Bottleneck` network.

use std::path::{Path, PathBuf};

use emb_core::distance::cosine;
use emb_core::{Embedder, Input};
use emb_models::pictures;
use emb_models::{PictureModel, ResnetModel};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

struct Reference {
    model: String,
    image: String,
    embedding: Vec<f32>,
}

fn reference() -> Vec<Reference> {
    std::fs::read_to_string(fixtures().join("tiny/resnet.jsonl"))
        .expect("the reference vectors")
        .lines()
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            Reference {
                model: row["model"].as_str().expect("a model").into(),
                image: row["image"].as_str().expect("an image").into(),
                embedding: row["embedding"]
                    .as_array()
                    .expect("a vector")
                    .iter()
                    .map(|value| value.as_f64().expect("a number") as f32)
                    .collect(),
            }
        })
        .collect()
}

fn load(name: &str) -> ResnetModel {
    ResnetModel::load(&fixtures().join("tiny").join(name), name).expect("the model loads")
}

fn picture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("images").join(name)).expect("a test picture")
}

fn read_png(path: &Path) -> pictures::Rgb {
    pictures::decode(&std::fs::read(path).expect("a fixture picture")).expect("it decodes")
}

#[test]
fn preprocessing_reproduces_torchvision_exactly() {
    let model = load("resnet-basic");
    let mut checked = 0;
    for row in reference().iter().filter(|row| row.model == "resnet-basic") {
        let stem = row.image.rsplit_once('.').unwrap().0;
        let expected = read_png(&fixtures().join(format!("images/resnet224/{stem}.png")));
        let jpeg = Path::new(&row.image).extension().is_some_and(|extension| extension == "jpg");
        // On exactly the pixels Pillow decoded (the JPEGs' decodes are kept as PNGs).
        let input = if jpeg {
            read_png(&fixtures().join(format!("images/decoded/{stem}.png")))
        } else {
            pictures::decode(&picture_bytes(&row.image)).unwrap()
        };
        let ours = model.preprocess(&input);
        assert_eq!((ours.width, ours.height), (224, 224));
        let worst =
            ours.pixels.iter().zip(&expected.pixels).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
        assert_eq!(worst, 0, "{}", row.image);
        checked += 1;
    }
    assert_eq!(checked, 7);
}

#[test]
fn average_pool_vectors_match_torchvision() {
    for name in ["resnet-basic", "resnet-bottleneck"] {
        let model = load(name);
        let rows: Vec<Reference> =
            reference().into_iter().filter(|row| row.model == name).collect();
        assert_eq!(rows.len(), 7);
        // The pictures' vectors differ, so matching each one to 0.9999 means something.
        for (index, row) in rows.iter().enumerate() {
            for other in &rows[index + 1..] {
                assert!(cosine(&row.embedding, &other.embedding) < 0.99, "{name}");
            }
        }
        // JPEGs are given as the pixels Pillow decoded them to (kept as PNGs): zune-jpeg and
        // libjpeg-turbo round a few pixels differently by up to 4 levels, which a random
        // random network amplifies (to a cosine of 0.998 for the JPEG photo); that is checked
        // on its own below.
        let decoded = |row: &Reference| match row.image.strip_suffix(".jpg") {
            Some(stem) => std::fs::read(fixtures().join(format!("images/decoded/{stem}.png")))
                .expect("a decoded JPEG"),
            None => picture_bytes(&row.image),
        };
        let bytes: Vec<Vec<u8>> = rows.iter().map(decoded).collect();
        let inputs: Vec<Input<'_>> = bytes.iter().map(|bytes| Input::Image(bytes)).collect();
        // Together (pictures side by side) and one at a time (every core inside a picture).
        let together = model.embed_batch(&inputs).unwrap();
        for ((row, vector), input) in rows.iter().zip(&together).zip(&inputs) {
            assert_eq!(vector.len(), row.embedding.len(), "{name}");
            let similarity = cosine(vector, &row.embedding);
            assert!(similarity >= 0.9999, "{name}: {}: cosine {similarity}", row.image);
            let alone = model.embed(*input).unwrap();
            assert!(cosine(&alone, vector) > 0.99999);
            if row.image.strip_suffix(".jpg").is_some() {
                let from_file = model.embed(Input::Image(&picture_bytes(&row.image))).unwrap();
                let similarity = cosine(&from_file, &row.embedding);
                assert!(similarity >= 0.99, "{name}: {} from the file: {similarity}", row.image);
            }
        }
    }
    assert_eq!(load("resnet-basic").info().dimensions, 64);
    assert_eq!(load("resnet-bottleneck").info().dimensions, 128);
}

#[test]
fn text_and_unreadable_pictures_are_refused() {
    let model = load("resnet-basic");
    let error = model.embed(Input::Text("a cat")).unwrap_err().to_string();
    assert!(error.contains("resnet-basic"), "{error}");
    let error = model.prepare_picture(b"not a picture").map(|_| ()).unwrap_err().to_string();
    assert!(error.contains("picture"), "{error}");
}

#[test]
fn a_folder_without_resnet_weights_is_refused_with_the_reason() {
    let temporary = tempfile::tempdir().unwrap();
    std::fs::write(temporary.path().join("config.json"), r#"{"architecture": "resnet50d"}"#)
        .unwrap();
    let error = ResnetModel::load(temporary.path(), "x").map(|_| ()).unwrap_err().to_string();
    assert!(error.contains("model.safetensors"), "{error}");
    let basic = fixtures().join("tiny/resnet-basic");
    std::fs::copy(basic.join("model.safetensors"), temporary.path().join("model.safetensors"))
        .unwrap();
    std::fs::write(
        temporary.path().join("config.json"),
        r#"{"architecture": "resnet18", "pretrained_cfg": {"interpolation": "lanczos"}}"#,
    )
    .unwrap();
    let error = ResnetModel::load(temporary.path(), "x").map(|_| ()).unwrap_err().to_string();
    assert!(error.contains("lanczos"), "{error}");
}
