//! Builds emb's HNSW index over a base set (or opens a saved one) and measures recall@k and
//! single-thread query rate against exact ground truth: what `bench/ann_speed.py` runs beside
//! hnswlib and FAISS.
//!
//! Prints JSON lines: `{"event":"build","seconds","index_bytes","search_bytes"}` (or
//! `{"event":"open","seconds"}` with `--load`), one `{"event":"search","ef","recall","qps",
//! "p50_ms","p99_ms"}` per ef, and `{"event":"memory","peak_kb","resident_kb"}` at the end.

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use emb_bench::Npy;
use emb_index::hnsw::{Hnsw, Parameters, Quantization};
use emb_index::{Query, VectorIndex};

#[derive(Parser)]
struct Arguments {
    /// Base vectors (float32 .npy, n x d); row numbers are the ids.
    #[arg(long)]
    base: Option<String>,
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
    /// Save the built index here (and report its size and the time to reopen it).
    #[arg(long)]
    save: Option<PathBuf>,
    /// Search the index saved here instead of building one (no base needed).
    #[arg(long, conflicts_with = "save")]
    load: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    if let Some(threads) = arguments.threads {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build_global()?;
    }
    let queries = emb_bench::read_npy_f32(&arguments.queries)?;
    let truth = emb_bench::read_npy_i32(&arguments.truth)?;
    anyhow::ensure!(truth.rows == queries.rows && truth.columns >= arguments.k, "truth too small");
    let index = if let Some(path) = &arguments.load {
        let start = Instant::now();
        let index =
            Hnsw::open(path)?.ok_or_else(|| anyhow::anyhow!("no index at {}", path.display()))?;
        let line = serde_json::json!({"event": "open", "seconds": start.elapsed().as_secs_f64()});
        println!("{line}");
        index
    } else {
        build(&arguments)?
    };
    search(&arguments, &index, &queries, &truth)?;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kilobytes = |key: &str| -> Option<u64> {
        let line = status.lines().find(|line| line.starts_with(key))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    let line = serde_json::json!({
        "event": "memory", "peak_kb": kilobytes("VmHWM:"), "resident_kb": kilobytes("VmRSS:"),
    });
    println!("{line}");
    Ok(())
}

fn build(arguments: &Arguments) -> anyhow::Result<Hnsw> {
    let path = arguments.base.as_deref().ok_or_else(|| anyhow::anyhow!("--base or --load"))?;
    let base = emb_bench::read_npy_f32(path)?;
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
    let mut line = serde_json::json!({
        "event": "build", "seconds": seconds, "index_bytes": info.bytes,
        "search_bytes": info.search_bytes, "quantize": arguments.quantize.to_string(),
    });
    if let Some(path) = &arguments.save {
        index.save(path)?;
        drop(index);
        let start = Instant::now();
        index =
            Hnsw::open(path)?.ok_or_else(|| anyhow::anyhow!("cannot reopen {}", path.display()))?;
        line["reopen_seconds"] = start.elapsed().as_secs_f64().into();
    }
    println!("{line}");
    Ok(index)
}

fn search(
    arguments: &Arguments,
    index: &Hnsw,
    queries: &Npy<f32>,
    truth: &Npy<i32>,
) -> anyhow::Result<()> {
    let dimensions = queries.columns;
    for ef in arguments.efs.split(',').map(str::parse::<usize>) {
        let ef = ef?;
        let query = |vector| Query { k: arguments.k, ef: Some(ef), ..Query::new(vector) };
        // Warm up (and page in a mapped index).
        for vector in queries.values.chunks_exact(dimensions).take(100) {
            index.search(&query(vector))?;
        }
        let mut results = Vec::with_capacity(queries.rows);
        let mut latencies = Vec::with_capacity(queries.rows);
        let start = Instant::now();
        for vector in queries.values.chunks_exact(dimensions) {
            let one = Instant::now();
            results.push(index.search(&query(vector))?);
            latencies.push(one.elapsed().as_secs_f64() * 1e3);
        }
        let elapsed = start.elapsed().as_secs_f64();
        let mut found = 0;
        for (row, hits) in results.iter().enumerate() {
            let expected = &truth.values[row * truth.columns..row * truth.columns + arguments.k];
            found += hits
                .iter()
                .filter(|hit| hit.id.parse::<i32>().is_ok_and(|base| expected.contains(&base)))
                .count();
        }
        latencies.sort_by(f64::total_cmp);
        let percentile = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
        let line = serde_json::json!({
            "event": "search", "ef": ef, "recall": found as f64 / (queries.rows * arguments.k) as f64,
            "qps": queries.rows as f64 / elapsed, "p50_ms": percentile(0.5), "p99_ms": percentile(0.99),
            "quantize": index.info().parameters.quantization.to_string(),
        });
        println!("{line}");
    }
    Ok(())
}
