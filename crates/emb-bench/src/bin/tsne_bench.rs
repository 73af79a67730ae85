//! Maps the first rows of a float32 `.npy` matrix with emb's Barnes-Hut t-SNE and reports the
//! time and the final KL divergence: what `bench/tsne_speed.py` runs beside scikit-learn's
//! `TSNE`.
//!
//! Prints one JSON line `{"event":"tsne","rows","dimensions","seconds","kl_divergence",
//! "threads"}`; with `--output`, writes the map there as an `n × dimensions` float32 `.npy`.

use std::time::Instant;

use clap::{Parser, ValueEnum};
use emb_analysis::neighbours::Metric;
use emb_analysis::tsne::{self, Initialisation};
use emb_analysis::Rows;

#[derive(Clone, Copy, ValueEnum)]
enum MetricArgument {
    Cosine,
    Euclidean,
}

#[derive(Clone, Copy, ValueEnum)]
enum InitialisationArgument {
    Pca,
    Random,
}

#[derive(Parser)]
struct Arguments {
    /// Vectors to map (float32 .npy, n x d).
    #[arg(long)]
    data: String,
    /// Map only the first ROWS rows (default: all).
    #[arg(long)]
    rows: Option<usize>,
    #[arg(long, value_enum, default_value_t = MetricArgument::Cosine)]
    metric: MetricArgument,
    #[arg(long, value_enum, default_value_t = InitialisationArgument::Pca)]
    initialisation: InitialisationArgument,
    #[arg(long, default_value_t = 2)]
    dimensions: usize,
    #[arg(long, default_value_t = 30.0)]
    perplexity: f64,
    #[arg(long, default_value_t = 1000)]
    iterations: usize,
    #[arg(long, default_value_t = 0.5)]
    theta: f64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Write the map here (float32 .npy).
    #[arg(long)]
    output: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    if let Some(threads) = arguments.threads {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build_global()?;
    }
    let data = emb_bench::read_npy_f32(&arguments.data)?;
    let count = arguments.rows.unwrap_or(data.rows).min(data.rows);
    let rows = Rows::new(&data.values[..count * data.columns], data.columns)?;
    let settings = tsne::Settings {
        dimensions: arguments.dimensions,
        perplexity: arguments.perplexity,
        iterations: arguments.iterations,
        theta: arguments.theta,
        seed: arguments.seed,
        metric: match arguments.metric {
            MetricArgument::Cosine => Metric::Cosine,
            MetricArgument::Euclidean => Metric::Euclidean,
        },
        initialisation: match arguments.initialisation {
            InitialisationArgument::Pca => Initialisation::Pca,
            InitialisationArgument::Random => Initialisation::Random,
        },
        ..tsne::Settings::default()
    };
    let start = Instant::now();
    let map = tsne::project(rows, &settings)?;
    let seconds = start.elapsed().as_secs_f64();
    if let Some(path) = &arguments.output {
        emb_bench::write_npy_f32(path, map.len(), map.dimensions, &map.coordinates)?;
    }
    let line = serde_json::json!({
        "event": "tsne", "rows": count, "dimensions": data.columns, "seconds": seconds,
        "kl_divergence": map.kl_divergence, "threads": rayon::current_num_threads(),
    });
    println!("{line}");
    Ok(())
}
