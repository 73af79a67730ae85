//! Arguments of the commands that analyse a collection.
// The doc comments are `--help` text: field names appear as users type them, not as code.
#![allow(clippy::doc_markdown)]

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{DatabaseArgs, ModelArgs};

/// `emb cluster`.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// The collection.
    pub collection: String,
    /// The number of clusters. Default: the k in 2..--max-k with the best silhouette.
    #[arg(short)]
    pub k: Option<usize>,
    /// The largest k tried when -k is not given.
    #[arg(long, default_value_t = 20, conflicts_with = "k")]
    pub max_k: usize,
    /// kmeans (a given -k, or the k with the best silhouette), or hdbscan: as many clusters as
    /// there are dense regions of at least --min-cluster-size items; the rest is noise.
    #[arg(long, value_enum, default_value = "kmeans")]
    pub method: ClusterMethodArg,
    /// The fewest items an hdbscan cluster may have.
    #[arg(long, default_value_t = 5)]
    pub min_cluster_size: usize,
    /// hdbscan: the neighbours (the item itself included) that measure how dense an item's
    /// surroundings are; fewer call fewer items noise. Default: --min-cluster-size.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub min_samples: Option<u64>,
    /// Words in each cluster's name (from its stored content; 0: no names).
    #[arg(long, default_value_t = 3)]
    pub terms: usize,
    /// Print a table (cluster, size, label, first items) instead of JSON.
    #[arg(long)]
    pub table: bool,
    /// Show at most this many characters of each item's content (0: leave content out).
    #[arg(long, default_value_t = 100)]
    pub truncate: usize,
    /// Also ask this language model for a short title per cluster, through an
    /// OpenAI-compatible chat endpoint: EMB_LLM_BASE_URL (default https://api.openai.com/v1)
    /// with EMB_LLM_API_KEY or OPENAI_API_KEY. Sends each cluster's central items' text.
    #[arg(long, value_name = "MODEL")]
    pub summary_model: Option<String>,
    /// Store each item's cluster number in this metadata field (and its name in FIELD_label).
    #[arg(long, value_name = "FIELD")]
    pub save: Option<String>,
    /// k-means starts (the lowest inertia is kept).
    #[arg(long, default_value_t = 4)]
    pub starts: usize,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Clustering methods on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClusterMethodArg {
    /// k-means.
    Kmeans,
    /// Density clustering; items in no dense region are noise.
    Hdbscan,
}

/// Projection methods on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ProjectionMethodArg {
    /// Principal components: fast, linear.
    Pca,
    /// UMAP: neighbours stay neighbours; the usual map of embeddings.
    Umap,
    /// t-SNE (Barnes-Hut): tight local groups, slower.
    Tsne,
}

/// `emb project`.
#[derive(Debug, Args)]
pub struct ProjectArgs {
    /// The collection.
    pub collection: String,
    /// How to flatten.
    #[arg(long, value_enum, default_value = "umap")]
    pub method: ProjectionMethodArg,
    /// Coordinates per item: 2 or 3.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(2..=3))]
    pub dims: u8,
    /// Write the coordinates to this file (.csv or .json) instead of JSON lines on stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Classifiers on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ClassifierArg {
    /// Nearest class centre.
    Centroid,
    /// Vote of the -k most similar examples.
    Knn,
    /// Logistic regression.
    Logistic,
}

/// `emb classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// The collection to classify, or - for texts on standard input (one per line).
    pub collection: String,
    /// Zero-shot: comma-separated class names (each embedded through --template).
    #[arg(long, conflicts_with = "train", required_unless_present = "train")]
    pub labels: Option<String>,
    /// How a class name becomes the text that is embedded; {} is the name.
    #[arg(long, default_value = "{}")]
    pub template: String,
    /// Learn the classes from this labelled collection.
    #[arg(long, requires = "field")]
    pub train: Option<String>,
    /// The metadata field holding the training items' class.
    #[arg(long)]
    pub field: Option<String>,
    /// How to learn from --train.
    #[arg(long, value_enum, default_value = "centroid")]
    pub method: ClassifierArg,
    /// Examples that vote, with --method knn.
    #[arg(short, default_value_t = 5)]
    pub k: usize,
    /// The lowest score that earns a class: an item whose best class scores less gets label
    /// null (it fits none of them). Zero-shot scores are cosines: with all-MiniLM-L6-v2 and
    /// --template "This text is about {}.", texts on a class's subject score about 0.3 and
    /// up, unrelated ones under 0.2. Trained scores are from 0 to 1. Default: every item gets
    /// its best class.
    #[arg(long, value_name = "SCORE")]
    pub min_score: Option<f32>,
    /// Report the accuracy against this metadata field of the classified collection (on
    /// stderr, with a per-class breakdown).
    #[arg(long, value_name = "FIELD")]
    pub eval: Option<String>,
    /// Store each item's class in this metadata field.
    #[arg(long, value_name = "FIELD")]
    pub save: Option<String>,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// `emb score`.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// The collection.
    pub collection: String,
    /// An example text of the 0 end (repeat for several).
    #[arg(long, required = true)]
    pub from: Vec<String>,
    /// An example text of the 1 end (repeat for several).
    #[arg(long, required = true)]
    pub to: Vec<String>,
    /// Print only this many items (0: all).
    #[arg(short = 'n', long, default_value_t = 0)]
    pub number: usize,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// `emb dedup`.
#[derive(Debug, Args)]
pub struct DedupArgs {
    /// The collection.
    pub collection: String,
    /// How similar (cosine) an item must be to a group's central item to belong to it.
    #[arg(long, default_value_t = 0.95)]
    pub threshold: f32,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Outlier scores on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutlierArg {
    /// Mean distance to the -k nearest neighbours.
    Knn,
    /// Local outlier factor: sparser than the neighbours' neighbourhoods.
    Lof,
}

/// `emb outliers`.
#[derive(Debug, Args)]
pub struct OutliersArgs {
    /// The collection.
    pub collection: String,
    /// How many to print.
    #[arg(short = 'n', long, default_value_t = 20)]
    pub number: usize,
    /// Neighbours considered.
    #[arg(short, default_value_t = 10)]
    pub k: usize,
    /// The score.
    #[arg(long, value_enum, default_value = "knn")]
    pub method: OutlierArg,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// `emb recommend`.
#[derive(Debug, Args)]
pub struct RecommendArgs {
    /// The collection.
    pub collection: String,
    /// Ids of liked items (comma-separated, or repeat the flag).
    #[arg(long, value_delimiter = ',', required = true)]
    pub liked: Vec<String>,
    /// Ids of disliked items.
    #[arg(long, value_delimiter = ',')]
    pub disliked: Vec<String>,
    /// How strongly to steer away from the disliked items.
    #[arg(long, default_value_t = 0.5)]
    pub weight: f32,
    /// How many recommendations.
    #[arg(short = 'n', long, default_value_t = 10)]
    pub number: usize,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Evaluation tasks on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvalTask {
    /// Document similarity against human ratings (gensim's Lee corpus).
    Lee,
    /// Clustering, zero-shot and trained classification, retrieval (gensim's mini_newsgroup).
    Newsgroups,
}

/// `emb eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Measure a collection of your own instead: how well its vectors separate the classes in
    /// metadata --field (clustering, trained classification, retrieval). Needs no data set.
    #[arg(long, value_name = "NAME", requires = "field", conflicts_with_all = ["task", "data"])]
    pub collection: Option<String>,
    /// The metadata field holding each item's class, with --collection.
    #[arg(long, requires = "collection")]
    pub field: Option<String>,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The tasks to run (repeat or comma-separate). Default: all.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub task: Vec<EvalTask>,
    /// The folder with the data (scripts/fetch-eval-data installs it). Default:
    /// $EMB_HOME/eval/gensim-4.4.0.
    #[arg(long, env = "EMB_EVAL_DATA")]
    pub data: Option<PathBuf>,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// `emb plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// The collection.
    pub collection: String,
    /// The file to write: .png or .svg for a figure, .html for an interactive page.
    #[arg(short, long)]
    pub output: PathBuf,
    /// How to flatten the vectors (a projection stored by `emb project` is reused while the
    /// collection is unchanged).
    #[arg(long, value_enum, default_value = "umap")]
    pub method: ProjectionMethodArg,
    /// What colours the points: cluster, or metadata.FIELD (the page can switch among all).
    #[arg(long, visible_alias = "colour-by", default_value = "cluster")]
    pub color_by: String,
    /// The number of clusters. Default: chosen by silhouette.
    #[arg(short)]
    pub k: Option<usize>,
    /// Leave the cluster names off the map.
    #[arg(long)]
    pub no_labels: bool,
    /// Draw no thumbnails. By default, when the items are stored pictures or sounds (embedded
    /// with --binary --store), the figure draws as many thumbnails as fit without overlapping
    /// and the page shows each item's on hover (of at most 10,000 items, spread evenly).
    #[arg(long)]
    pub no_thumbnails: bool,
    /// The title. Default: the collection's name, size and projection.
    #[arg(long)]
    pub title: Option<String>,
    /// Image width in pixels.
    #[arg(long, default_value_t = 1600)]
    pub width: u32,
    /// Image height in pixels.
    #[arg(long, default_value_t = 1200)]
    pub height: u32,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub database: DatabaseArgs,
}
