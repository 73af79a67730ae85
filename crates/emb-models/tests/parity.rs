//! Parity with sentence-transformers on the real all-MiniLM-L6-v2 weights.
//!
//! The model comes from `scripts/fetch-model` (run by `make test`); set
//! `EMB_TEST_MODEL_DIR` to use another copy of the folder.

use std::path::PathBuf;

use emb_core::distance::cosine;
use emb_models::SentenceTransformer;

fn model_folder() -> PathBuf {
    if let Some(folder) = std::env::var_os("EMB_TEST_MODEL_DIR") {
        return folder.into();
    }
    emb_models::resolve::default_home().join("models/sentence-transformers/all-MiniLM-L6-v2")
}

fn load() -> SentenceTransformer {
    let folder = model_folder();
    assert!(
        folder.join("model.safetensors").is_file(),
        "all-MiniLM-L6-v2 is not at {}: run scripts/fetch-model (make test does)",
        folder.display()
    );
    SentenceTransformer::load(&folder, "all-MiniLM-L6-v2").expect("the model loads")
}

fn reference() -> Vec<(String, Vec<f32>)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/minilm-reference.jsonl");
    std::fs::read_to_string(path)
        .expect("the reference fixture")
        .lines()
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            let text = row["text"].as_str().expect("text").to_owned();
            let embedding = row["embedding"]
                .as_array()
                .expect("embedding")
                .iter()
                .map(|value| value.as_f64().expect("a number") as f32)
                .collect();
            (text, embedding)
        })
        .collect()
}

#[test]
fn matches_sentence_transformers_on_every_reference_text() {
    let model = load();
    let reference = reference();
    assert_eq!(reference.len(), 103);
    let texts: Vec<&str> = reference.iter().map(|(text, _)| text.as_str()).collect();
    let embedded = model.embed_texts(&texts, None).expect("embedding works");
    let mut worst_cosine = 1.0_f32;
    let mut worst_difference = 0.0_f32;
    for ((text, expected), actual) in reference.iter().zip(&embedded.vectors) {
        assert_eq!(actual.len(), 384);
        let similarity = cosine(expected, actual);
        let difference =
            expected.iter().zip(actual).map(|(e, a)| (e - a).abs()).fold(0.0_f32, f32::max);
        assert!(similarity >= 0.99999, "cosine {similarity} for {text:?}");
        assert!(difference <= 1e-4, "max abs difference {difference} for {text:?}");
        worst_cosine = worst_cosine.min(similarity);
        worst_difference = worst_difference.max(difference);
    }
    eprintln!("worst cosine {worst_cosine}, worst max abs difference {worst_difference:e}");
}

#[test]
fn one_at_a_time_equals_batched() {
    let model = load();
    let texts = ["A man is eating food.", "A cheetah is running behind its prey.", "x"];
    let batched = model.embed_texts(&texts, None).expect("batch").vectors;
    for (text, expected) in texts.iter().zip(&batched) {
        let alone = model.embed_texts(&[text], None).expect("single").vectors.remove(0);
        assert!(cosine(&alone, expected) > 0.999_999, "{text}");
    }
}

#[test]
fn quick_start_similarities() {
    // The three sentences of the sentence-transformers quick start.
    let model = load();
    let sentences =
        ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."];
    let vectors = model.embed_texts(&sentences, None).expect("embedding works").vectors;
    let matrix = emb_core::distance::cosine_matrix(&vectors, &vectors);
    let four_decimals = |x: f32| format!("{x:.4}");
    // sentence-transformers 5.1 prints the same matrix for these sentences.
    assert_eq!(four_decimals(matrix[0][0]), "1.0000");
    assert_eq!(four_decimals(matrix[0][1]), "0.6660");
    assert_eq!(four_decimals(matrix[0][2]), "0.1046");
    assert_eq!(four_decimals(matrix[1][2]), "0.1411");
}

#[test]
fn long_input_is_truncated_at_max_seq_length() {
    let model = load();
    let long = "word ".repeat(400);
    let report = model.tokenize(&long, None).expect("tokenize");
    assert_eq!(report.ids.len(), 402);
    assert!(report.truncated);
    assert_eq!(report.used, 256);
    let embedded = model.embed_texts(&[long.as_str(), "short"], None).expect("embed");
    assert_eq!(embedded.truncated, 1);
    // Truncation keeps [CLS] + 254 words + [SEP]: the same as 254 words.
    let cut = "word ".repeat(254);
    let reference = model.embed_texts(&[cut.as_str()], None).expect("embed").vectors.remove(0);
    assert!(cosine(&embedded.vectors[0], &reference) > 0.999_999);
}
