//! The vector kernels at the sizes embeddings have.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use emb_core::distance;

fn kernels(criterion: &mut Criterion) {
    for dimensions in [384, 768] {
        let a: Vec<f32> = (0..dimensions).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..dimensions).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut group = criterion.benchmark_group(format!("{dimensions} dimensions"));
        group.throughput(Throughput::Bytes((dimensions * 8) as u64));
        group.bench_function("dot", |bench| {
            bench.iter(|| distance::dot(black_box(&a), black_box(&b)));
        });
        group.bench_function("cosine", |bench| {
            bench.iter(|| distance::cosine(black_box(&a), black_box(&b)));
        });
        group.bench_function("squared_l2", |bench| {
            bench.iter(|| distance::squared_l2(black_box(&a), black_box(&b)));
        });
        group.finish();
    }
}

criterion_group!(benches, kernels);
criterion_main!(benches);
