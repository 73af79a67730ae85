//! Runs emb's k-means and PCA on a float32 .npy matrix and prints what `bench/cluster_speed.py`
//! compares with scikit-learn: one JSON line per run with its seconds and quality.
//!
//! `{"event":"kmeans","k","starts","seconds","inertia","iterations"}` and
//! `{"event":"pca","components","seconds","explained_variance_ratio":[..]}`.

use std::time::Instant;

use clap::Parser;
use emb_analysis::{kmeans, pca, Rows};

#[derive(Parser)]
struct Arguments {
    /// Vectors (float32 .npy, n x d).
    #[arg(long)]
    base: String,
    /// Clusters.
    #[arg(long, default_value_t = 20)]
    k: usize,
    /// k-means starts (the best inertia is kept).
    #[arg(long, default_value_t = 1)]
    starts: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// PCA components.
    #[arg(long, default_value_t = 2)]
    components: usize,
    /// Times to repeat each measurement.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Write the k-means labels here (one per line).
    #[arg(long)]
    labels: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    let matrix = emb_bench::read_npy_f32(&arguments.base)?;
    let rows = Rows::new(&matrix.values, matrix.columns)?;
    for round in 0..arguments.rounds {
        let mut settings = kmeans::Settings::new(arguments.k);
        settings.starts = arguments.starts;
        settings.seed = arguments.seed + round as u64;
        let started = Instant::now();
        let result = kmeans::kmeans(rows, &settings)?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{}",
            serde_json::json!({"event": "kmeans", "k": arguments.k, "starts": arguments.starts,
                "seconds": seconds, "inertia": result.inertia, "iterations": result.iterations})
        );
        if let Some(path) = &arguments.labels {
            let text: Vec<String> = result.labels.iter().map(ToString::to_string).collect();
            let text = text.join("\n") + "\n";
            std::fs::write(path, text)?;
        }
        let started = Instant::now();
        let projection = pca::pca(rows, &pca::Settings::new(arguments.components))?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{}",
            serde_json::json!({"event": "pca", "components": arguments.components, "seconds": seconds,
                "explained_variance_ratio": projection.explained_variance_ratio})
        );
    }
    Ok(())
}
