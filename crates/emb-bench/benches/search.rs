//! Exact search of a 100,000 x 384 collection, end to end through [`emb::Database::search`]:
//! the change-counter check, mapping the cached vector file, the scan, and reading the content
//! of the hits from SQLite. The cache is warm, as it is for every search after the first; "database
//! opened each time" is what one `emb similar` process does (open, map the file, scan).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use emb::{Database, Search, Target, VectorIndex};
use emb_core::store::{Change, Item};

const ITEMS: usize = 100_000;
const DIMENSIONS: usize = 384;

/// A reproducible pseudo-random vector.
fn vector(seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..DIMENSIONS)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}

fn search(criterion: &mut Criterion) {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let mut database = Database::open(&folder.path().join("bench.db")).expect("a database");
    let store = database.store_mut();
    store.create_collection("bench", "random").expect("a collection");
    for start in (0..ITEMS).step_by(10_000) {
        let changes: Vec<Change> = (start..start + 10_000)
            .map(|index| {
                Change::Upsert(Item {
                    id: format!("item-{index:06}"),
                    vector: vector(index as u64),
                    content: Some(format!("the text of item {index}")),
                    content_blob: None,
                    content_hash: [0; 16],
                    metadata: None,
                })
            })
            .collect();
        store.apply("bench", &changes).expect("a write");
    }
    let query = Search { k: 10, ..Search::new(Target::Vector(vector(u64::MAX))) };
    // The first search builds the vector file; the benchmark measures the ones after it.
    database.search("bench", &query).expect("a search");

    let mut group = criterion.benchmark_group("exact search");
    group.throughput(Throughput::Bytes((ITEMS * DIMENSIONS * 4) as u64));
    group.sample_size(30);
    group.bench_function("100000 x 384, top 10", |bench| {
        bench.iter(|| database.search("bench", black_box(&query)).expect("a search"));
    });
    group.bench_function("100000 x 384, top 10, database opened each time", |bench| {
        bench.iter(|| {
            let database = Database::open(&folder.path().join("bench.db")).expect("a database");
            database.search("bench", black_box(&query)).expect("a search")
        });
    });
    group.bench_function("100000 x 384, scan only", |bench| {
        let vectors = database.vectors("bench").expect("vectors");
        let raw = vector(u64::MAX);
        bench.iter(|| vectors.search(&emb::Query::new(&raw)).expect("a scan"));
    });
    group.finish();
}

criterion_group!(benches, search);
criterion_main!(benches);
