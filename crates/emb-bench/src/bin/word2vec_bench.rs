//! Trains word2vec with emb on a text file (one sentence per line) and reports the time of each
//! step: what `bench/word2vec_speed.py` runs beside gensim's `Word2Vec`.
//!
//! Prints one JSON line `{"event":"word2vec", "vocabulary_size", "corpus_words", "sentences",
//! "epochs", "trained_words", "vocabulary_seconds", "training_seconds", "words_per_second",
//! "threads", "architecture"}`; with `--output`, saves the vectors there as word2vec binary
//! (not timed).

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use emb_words::train::{self, Architecture, Corpus, Settings};
use emb_words::Format;

#[derive(Clone, Copy, ValueEnum)]
enum ArchitectureArgument {
    SkipGram,
    Cbow,
}

#[derive(Parser)]
struct Arguments {
    /// The corpus: UTF-8 text, one sentence per line, words separated by spaces.
    #[arg(long)]
    corpus: PathBuf,
    #[arg(long, value_enum, default_value_t = ArchitectureArgument::SkipGram)]
    architecture: ArchitectureArgument,
    #[arg(long, default_value_t = 100)]
    dimensions: usize,
    #[arg(long, default_value_t = 5)]
    window: usize,
    #[arg(long, default_value_t = 5)]
    minimum_count: u64,
    #[arg(long, default_value_t = 5)]
    negative_samples: usize,
    #[arg(long, default_value_t = 1e-3)]
    sample: f64,
    #[arg(long, default_value_t = 5)]
    epochs: usize,
    #[arg(long, default_value_t = 2)]
    threads: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Save the vectors here (word2vec binary).
    #[arg(long)]
    output: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    let (architecture, architecture_name) = match arguments.architecture {
        ArchitectureArgument::SkipGram => (Architecture::SkipGram, "skip-gram"),
        ArchitectureArgument::Cbow => (Architecture::Cbow, "cbow"),
    };
    let settings = Settings::default()
        .architecture(architecture)
        .dimensions(arguments.dimensions)
        .window(arguments.window)
        .minimum_count(arguments.minimum_count)
        .negative_samples(arguments.negative_samples)
        .sample(arguments.sample)
        .epochs(arguments.epochs)
        .threads(arguments.threads)
        .seed(arguments.seed);
    let (vectors, report) = train::train(&Corpus::from_path(&arguments.corpus), &settings)?;
    let mut event = serde_json::to_value(&report)?;
    event["event"] = "word2vec".into();
    event["words_per_second"] = report.words_per_second().into();
    event["threads"] = arguments.threads.into();
    event["architecture"] = architecture_name.into();
    println!("{event}");
    if let Some(path) = &arguments.output {
        vectors.save(path, Format::Word2vecBinary)?;
    }
    Ok(())
}
