//! Parity with sentence-transformers on tiny random models that reach what all-MiniLM-L6-v2
//! does not: a head size served by the GEMM attention path (16), the `RoBERTa` position offset and
//! byte-level BPE tokenizer, the tanh GELU, float16 weights, CLS pooling, no Normalize, and
//! truncation. `tests/fixtures/make-tiny-models.py` made the folders and reference vectors.

use std::path::PathBuf;

use emb_core::distance::{cosine, norm};
use emb_models::SentenceTransformer;

fn fixtures() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/tiny"))
}

fn check(name: &str, normalized: bool) {
    let model =
        SentenceTransformer::load(&fixtures().join(name), name).expect("the tiny model loads");
    let reference: Vec<(String, Vec<f32>)> =
        std::fs::read_to_string(fixtures().join(format!("{name}.jsonl")))
            .expect("reference vectors")
            .lines()
            .map(|line| {
                let row: serde_json::Value = serde_json::from_str(line).expect("JSON");
                let vector = row["embedding"]
                    .as_array()
                    .expect("array")
                    .iter()
                    .map(|x| x.as_f64().unwrap() as f32)
                    .collect();
                (row["text"].as_str().expect("text").to_owned(), vector)
            })
            .collect();
    let texts: Vec<&str> = reference.iter().map(|(text, _)| text.as_str()).collect();
    let embedded = model.embed_texts(&texts, None).expect("embedding works");
    assert!(embedded.truncated >= 1, "the long text is cut at max_seq_length");
    for ((text, expected), actual) in reference.iter().zip(&embedded.vectors) {
        assert_eq!(actual.len(), expected.len());
        let difference =
            expected.iter().zip(actual).map(|(e, a)| (e - a).abs()).fold(0.0_f32, f32::max);
        assert!(
            cosine(expected, actual) >= 0.99999,
            "{name}: cosine {} for {text:?}",
            cosine(expected, actual)
        );
        assert!(difference <= 1e-4, "{name}: max abs difference {difference} for {text:?}");
        assert_eq!((norm(actual) - 1.0).abs() < 1e-5, normalized, "{name}: normalisation");
    }
}

#[test]
fn bert_with_head_size_16_cls_pooling_and_float16_weights() {
    check("bert-h16-cls-f16", false);
}

#[test]
fn roberta_with_tanh_gelu_mean_pooling_and_normalize() {
    check("roberta-h32-mean-norm", true);
}
