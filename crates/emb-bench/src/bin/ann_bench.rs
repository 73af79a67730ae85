//! Builds emb's HNSW index over a base set and measures recall@k and single-thread query rate
//! against exact ground truth: what `bench/ann_speed.py` runs beside hnswlib and FAISS.
//!
//! Prints JSON lines: `{"event":"build","seconds","index_bytes","search_bytes"}`, then one
//! `{"event":"search","ef","recall","qps"}` per ef.

use std::time::Instant;

use clap::Parser;
use emb_index::hnsw::{Hnsw, Parameters, Quantization};
use emb_index::{Query, VectorIndex};

#[derive(Parser)]
struct Arguments {
    /// Base vectors (float32 .npy, n x d).
    #[arg(long)]
    base: String,
    /// Query vectors (float32 .npy, q x d).
    #[arg(long)]
    queries: String,
    /// Ground truth (int32 .npy, q x >= k: base rows, nearest first).
    #[arg(long)]
    truth: String,
    #[arg(long, default_value_t = 16)]
    m: usize,
    #[arg(long, default_value_t = 200)]
    ef_construction: usize,
    /// Build threads (queries always run on one).
    #[arg(long)]
    threads: Option<usize>,
    #[arg(long, default_value = "none")]
    quantize: Quantization,
    /// Comma-separated ef values to sweep.
    #[arg(long, default_value = "10,20,40,80,160,320")]
    efs: String,
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Also save the index here and time reopening it.
    #[arg(long)]
    save: Option<std::path::PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    if let Some(threads) = arguments.threads {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build_global()?;
    }
    let base = emb_bench::read_npy_f32(&arguments.base)?;
    let queries = emb_bench::read_npy_f32(&arguments.queries)?;
    let truth = emb_bench::read_npy_i32(&arguments.truth)?;
    anyhow::ensure!(base.columns == queries.columns, "base and queries differ in dimensions");
    anyhow::ensure!(truth.rows == queries.rows && truth.columns >= arguments.k, "truth too small");
    let ids: Vec<String> = (0..base.rows).map(|row| row.to_string()).collect();
    let parameters = Parameters {
        m: arguments.m,
        ef_construction: arguments.ef_construction,
        quantization: arguments.quantize,
        ..Parameters::default()
    };
    let start = Instant::now();
    let mut index = Hnsw::build(base.columns, parameters, ids, base.values, None, &|_| {})?;
    let seconds = start.elapsed().as_secs_f64();
    let info = index.info();
    let mut build = serde_json::json!({
        "event": "build", "seconds": seconds, "index_bytes": info.bytes,
        "search_bytes": info.search_bytes, "quantize": arguments.quantize.to_string(),
    });
    if let Some(path) = &arguments.save {
        index.save(path)?;
        let start = Instant::now();
        index =
            Hnsw::open(path)?.ok_or_else(|| anyhow::anyhow!("cannot reopen {}", path.display()))?;
        build["reopen_seconds"] = start.elapsed().as_secs_f64().into();
    }
    println!("{build}");
    let dimensions = queries.columns;
    for ef in arguments.efs.split(',').map(str::parse::<usize>) {
        let ef = ef?;
        // Warm up (and page in a mapped index).
        for vector in queries.values.chunks_exact(dimensions).take(100) {
            index.search(&Query { k: arguments.k, ef: Some(ef), ..Query::new(vector) })?;
        }
        let mut found = 0;
        let start = Instant::now();
        let mut results = Vec::with_capacity(queries.rows);
        for vector in queries.values.chunks_exact(dimensions) {
            results.push(index.search(&Query {
                k: arguments.k,
                ef: Some(ef),
                ..Query::new(vector)
            })?);
        }
        let elapsed = start.elapsed().as_secs_f64();
        for (row, hits) in results.iter().enumerate() {
            let expected = &truth.values[row * truth.columns..row * truth.columns + arguments.k];
            found += hits
                .iter()
                .filter(|hit| {
                    hit.id.parse::<i32>().is_ok_and(|base_row| expected.contains(&base_row))
                })
                .count();
        }
        let recall = found as f64 / (queries.rows * arguments.k) as f64;
        let line = serde_json::json!({
            "event": "search", "ef": ef, "recall": recall, "qps": queries.rows as f64 / elapsed,
            "quantize": arguments.quantize.to_string(),
        });
        println!("{line}");
    }
    Ok(())
}
