//! Command-line arguments. These types stay in the binary: commands turn them
//! into the library's settings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// emb: embeddings on your own machine.
///
/// Turns text into vectors with sentence-transformers models run in pure Rust,
/// and shows how models see text.
#[derive(Debug, Parser)]
#[command(name = "emb", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Embed one text and print its vector.
    ///
    /// The text comes from -c, from -i FILE, or from standard input.
    /// Example: emb embed -c "Hello world"
    Embed(EmbedArgs),
    /// Show how a model tokenizes a text, and whether it would be truncated.
    ///
    /// Example: emb tokens "Embeddings turn text into vectors"
    Tokens(TokensArgs),
    /// List, inspect, download and choose models.
    #[command(subcommand)]
    Models(ModelsCommand),
}

/// Which model, and how to prompt it.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// The model: a short name, a hub id (org/name) or a folder path.
    /// Default: the one set with `emb models default`, else all-MiniLM-L6-v2.
    #[arg(short, long, env = "EMB_MODEL")]
    pub model: Option<String>,
    /// Text to prepend to the input, as sentence-transformers' `prompt` (e.g. "query: ").
    #[arg(long, conflicts_with = "prompt_name")]
    pub prompt: Option<String>,
    /// The name of a prompt the model defines (`query`, `document`, ...) to prepend.
    #[arg(long)]
    pub prompt_name: Option<String>,
}

/// Where one text comes from.
#[derive(Debug, Args)]
pub struct TextSource {
    /// The text itself.
    #[arg(short, long, conflicts_with = "input")]
    pub content: Option<String>,
    /// A file holding the text (`-` for standard input).
    #[arg(short, long)]
    pub input: Option<PathBuf>,
}

/// `emb embed`.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    #[command(flatten)]
    pub source: TextSource,
    #[command(flatten)]
    pub model: ModelArgs,
    /// How to print the vector.
    #[arg(short, long, value_enum, default_value_t = VectorFormat::Json)]
    pub format: VectorFormat,
}

/// How a vector is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VectorFormat {
    /// A JSON array of numbers.
    Json,
    /// Raw little-endian float32 bytes (as stored in embeddings.db).
    Blob,
    /// The blob, base64-encoded.
    Base64,
    /// The blob, hex-encoded.
    Hex,
}

/// `emb tokens`.
#[derive(Debug, Args)]
pub struct TokensArgs {
    /// The text (or use -i, or standard input).
    #[arg(conflicts_with_all = ["content", "input"])]
    pub text: Option<String>,
    #[command(flatten)]
    pub source: TextSource,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `emb models ...`.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// List installed models (emb cache and Hugging Face cache) with their dimensions,
    /// maximum length, pooling and size.
    List {
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one model's details.
    Info {
        /// The model (short name, hub id or folder). Default: the default model.
        name: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Download a model from the Hugging Face hub into the emb model cache.
    Pull {
        /// The model (short name or hub id).
        name: String,
    },
    /// Show the default model, or set it.
    Default {
        /// The model to use when -m is not given.
        name: Option<String>,
    },
}
