//! The encoder on all-MiniLM-L6-v2: one short query (latency) and a batch of 64 corpus texts
//! (throughput). The model comes from `scripts/fetch-model` (or `EMB_TEST_MODEL_DIR`).

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use emb_models::SentenceTransformer;

fn model() -> SentenceTransformer {
    let folder = std::env::var_os("EMB_TEST_MODEL_DIR").map_or_else(
        || {
            emb_models::resolve::default_home()
                .join("models/sentence-transformers/all-MiniLM-L6-v2")
        },
        PathBuf::from,
    );
    SentenceTransformer::load(&folder, "all-MiniLM-L6-v2")
        .unwrap_or_else(|error| panic!("{error}; run scripts/fetch-model first"))
}

fn texts() -> Vec<String> {
    // The reference texts ship with the repository, so the bench needs no other data.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/minilm-reference.jsonl");
    std::fs::read_to_string(path)
        .expect("reference texts")
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).expect("JSON")["text"]
                .as_str()
                .expect("text")
                .to_owned()
        })
        .take(64)
        .collect()
}

fn encoder(criterion: &mut Criterion) {
    let model = model();
    criterion.bench_function("embed one query", |bench| {
        bench.iter(|| {
            model.embed_texts(&["how do I back up a sqlite database"], None).expect("embeds")
        });
    });
    let texts = texts();
    let mut group = criterion.benchmark_group("embed batch");
    group.throughput(Throughput::Elements(texts.len() as u64));
    group.sample_size(10);
    group.bench_function("64 reference texts", |bench| {
        bench.iter(|| model.embed_texts(&texts, None).expect("embeds"));
    });
    group.finish();
}

criterion_group!(benches, encoder);
criterion_main!(benches);
