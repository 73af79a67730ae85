//! Clusters a float32 `.npy` matrix with emb's HDBSCAN and reports the time and the clusters
//! found: what `bench/hdbscan_speed.py` runs beside scikit-learn's `HDBSCAN`.
//!
//! Prints one JSON line `{"event":"hdbscan","rows","dimensions","seconds","clusters","noise",
//! "threads"}`; with `--labels`, writes every row's cluster there as an `n × 1` int32 `.npy`
//! (-1 for noise, as scikit-learn writes it).

use std::time::Instant;

use clap::{Parser, ValueEnum};
use emb_analysis::neighbours::Metric;
use emb_analysis::{hdbscan, Rows};

#[derive(Clone, Copy, ValueEnum)]
enum MetricArgument {
    Cosine,
    Euclidean,
}

#[derive(Parser)]
struct Arguments {
    /// Vectors to cluster (float32 .npy, n x d).
    #[arg(long)]
    data: String,
    /// Cluster only the first ROWS rows (default: all).
    #[arg(long)]
    rows: Option<usize>,
    #[arg(long, value_enum, default_value_t = MetricArgument::Cosine)]
    metric: MetricArgument,
    #[arg(long, default_value_t = 5)]
    min_cluster_size: usize,
    /// Default: the minimum cluster size.
    #[arg(long)]
    min_samples: Option<usize>,
    /// Threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Write the labels here (int32 .npy, -1 for noise).
    #[arg(long)]
    labels: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    if let Some(threads) = arguments.threads {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build_global()?;
    }
    let data = emb_bench::read_npy_f32(&arguments.data)?;
    let count = arguments.rows.unwrap_or(data.rows).min(data.rows);
    let rows = Rows::new(&data.values[..count * data.columns], data.columns)?;
    let settings = hdbscan::Settings {
        min_cluster_size: arguments.min_cluster_size,
        min_samples: arguments.min_samples,
        metric: match arguments.metric {
            MetricArgument::Cosine => Metric::Cosine,
            MetricArgument::Euclidean => Metric::Euclidean,
        },
        ..hdbscan::Settings::default()
    };
    let start = Instant::now();
    let clustering = hdbscan::cluster(rows, &settings)?;
    let seconds = start.elapsed().as_secs_f64();
    if let Some(path) = &arguments.labels {
        let labels: Vec<i32> = clustering
            .labels
            .iter()
            .map(|label| label.map_or(-1, |label| i32::try_from(label).unwrap_or(i32::MAX)))
            .collect();
        emb_bench::write_npy_i32(path, labels.len(), 1, &labels)?;
    }
    let line = serde_json::json!({
        "event": "hdbscan", "rows": count, "dimensions": data.columns, "seconds": seconds,
        "clusters": clustering.clusters(), "noise": clustering.noise(),
        "threads": rayon::current_num_threads(),
    });
    println!("{line}");
    Ok(())
}
