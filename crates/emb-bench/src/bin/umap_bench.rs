//! Projects the rows of a float32 `.npy` matrix to 2-D (or 3-D) with emb's UMAP and prints one
//! JSON line of timings and trustworthiness: what `bench/umap_speed.py` runs beside umap-learn.
//!
//! `umap-bench --input X.npy [--output MAP.npy]` prints `{"event":"umap","rows","columns",
//! "threads","epochs","seconds":{"neighbours","graph","initialisation","optimisation","total"},
//! "trustworthiness","trustworthiness_seconds"}`; `umap-bench --input X.npy --score MAP.npy`
//! only measures the trustworthiness of a map made elsewhere: `{"event":"trustworthiness",
//! "rows","k","trustworthiness","seconds"}`.

use std::time::Instant;

use clap::{Parser, ValueEnum};
use emb_analysis::neighbours::Metric;
use emb_analysis::trustworthiness::trustworthiness;
use emb_analysis::umap::{self, Initialisation, NeighbourSearch};
use emb_analysis::Rows;

#[derive(Parser)]
struct Arguments {
    /// The rows to project (float32 .npy, n x d).
    #[arg(long)]
    input: String,
    /// Write the map here (float32 .npy, n x dimensions).
    #[arg(long)]
    output: Option<String>,
    /// Measure the trustworthiness of this map (float32 .npy, n x 2 or 3) instead of projecting.
    #[arg(long, conflicts_with = "output")]
    score: Option<String>,
    #[arg(long, default_value_t = 15)]
    neighbours: usize,
    #[arg(long, default_value_t = 0.1)]
    minimum_distance: f32,
    #[arg(long, default_value_t = 2)]
    dimensions: usize,
    /// Default: 200 above 10,000 rows, else 500.
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long, value_enum, default_value_t = MetricArgument::Cosine)]
    metric: MetricArgument,
    #[arg(long, value_enum, default_value_t = InitialisationArgument::Spectral)]
    initialisation: InitialisationArgument,
    #[arg(long, value_enum, default_value_t = SearchArgument::Automatic)]
    neighbour_search: SearchArgument,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Neighbours of the trustworthiness measure (0: do not measure).
    #[arg(long, default_value_t = 15)]
    trustworthiness_k: usize,
}

#[derive(Clone, Copy, ValueEnum)]
enum MetricArgument {
    Cosine,
    Euclidean,
}

#[derive(Clone, Copy, ValueEnum)]
enum InitialisationArgument {
    Spectral,
    Random,
}

#[derive(Clone, Copy, ValueEnum)]
enum SearchArgument {
    Automatic,
    Exact,
    Approximate,
}

fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    if let Some(threads) = arguments.threads {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build_global()?;
    }
    let input = emb_bench::read_npy_f32(&arguments.input)?;
    let rows = Rows::new(&input.values, input.columns)?;
    if let Some(path) = &arguments.score {
        let map = emb_bench::read_npy_f32(path)?;
        let start = Instant::now();
        let value = trustworthiness(
            rows,
            Rows::new(&map.values, map.columns)?,
            arguments.trustworthiness_k,
        )?;
        let line = serde_json::json!({
            "event": "trustworthiness", "rows": input.rows, "k": arguments.trustworthiness_k,
            "trustworthiness": value, "seconds": start.elapsed().as_secs_f64(),
        });
        println!("{line}");
        return Ok(());
    }
    let settings = umap::Settings::default()
        .neighbours(arguments.neighbours)
        .minimum_distance(arguments.minimum_distance)
        .dimensions(arguments.dimensions)
        .metric(match arguments.metric {
            MetricArgument::Cosine => Metric::Cosine,
            MetricArgument::Euclidean => Metric::Euclidean,
        })
        .initialisation(match arguments.initialisation {
            InitialisationArgument::Spectral => Initialisation::Spectral,
            InitialisationArgument::Random => Initialisation::Random,
        })
        .neighbour_search(match arguments.neighbour_search {
            SearchArgument::Automatic => NeighbourSearch::Automatic,
            SearchArgument::Exact => NeighbourSearch::Exact,
            SearchArgument::Approximate => NeighbourSearch::Approximate,
        })
        .seed(arguments.seed);
    let settings = match arguments.epochs {
        Some(epochs) => settings.epochs(epochs),
        None => settings,
    };
    let start = Instant::now();
    let map = umap::project(rows, &settings)?;
    let total = start.elapsed().as_secs_f64();
    if let Some(path) = &arguments.output {
        emb_bench::write_npy_f32(path, input.rows, map.dimensions, &map.coordinates)?;
    }
    let timings = map.timings;
    let mut line = serde_json::json!({
        "event": "umap", "rows": input.rows, "columns": input.columns,
        "threads": rayon::current_num_threads(), "epochs": map.epochs,
        "seconds": {
            "neighbours": timings.neighbours.as_secs_f64(),
            "graph": timings.graph.as_secs_f64(),
            "initialisation": timings.initialisation.as_secs_f64(),
            "optimisation": timings.optimisation.as_secs_f64(),
            "total": total,
        },
    });
    if arguments.trustworthiness_k > 0 {
        let start = Instant::now();
        line["trustworthiness"] =
            trustworthiness(rows, map.rows(), arguments.trustworthiness_k)?.into();
        line["trustworthiness_seconds"] = start.elapsed().as_secs_f64().into();
    }
    println!("{line}");
    Ok(())
}
