//! The arguments of `emb serve`.

use std::path::PathBuf;

use clap::Args;

/// `emb serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on. 127.0.0.1 serves this machine only; 0.0.0.0 serves the
    /// network (then set --api-key).
    #[arg(long, env = "EMB_HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// The port (0 picks a free one).
    #[arg(long, env = "EMB_PORT", default_value_t = 8080)]
    pub port: u16,
    /// The database of collections: a SQLite file, or a PostgreSQL database with pgvector
    /// (postgres://user:password@host:port/name). Default: embeddings.db in the emb home folder.
    #[arg(short, long = "database", env = "EMB_DB", value_name = "FILE|URL")]
    pub database: Option<PathBuf>,
    /// A model to load at start (repeat for more, or list them comma-separated in the environment variable). The
    /// first answers requests that name none. Default: the default model.
    #[arg(short, long = "model", env = "EMB_SERVE_MODELS", value_delimiter = ',')]
    pub models: Vec<String>,
    /// Require `Authorization: Bearer KEY` on every route but /health and the page's files.
    #[arg(long, env = "EMB_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// The largest request body, in bytes.
    #[arg(long, env = "EMB_BODY_LIMIT", default_value_t = 2 * 1024 * 1024)]
    pub body_limit: usize,
    /// The most texts (or items) one request may hold.
    #[arg(long, env = "EMB_MAX_INPUTS", default_value_t = 2048)]
    pub max_inputs: usize,
    /// The most tokens one request may embed.
    #[arg(long, env = "EMB_MAX_REQUEST_TOKENS", default_value_t = 300_000)]
    pub max_request_tokens: usize,
    /// Tokens per batch: concurrent requests are joined until this many.
    #[arg(long, env = "EMB_MAX_BATCH_TOKENS", default_value_t = 16_384)]
    pub max_batch_tokens: usize,
    /// Requests per batch (1 turns batching off).
    #[arg(long, env = "EMB_MAX_BATCH_REQUESTS", default_value_t = 256)]
    pub max_batch_requests: usize,
    /// Requests that may wait per model; more get 503 with Retry-After.
    #[arg(long, env = "EMB_MAX_QUEUE", default_value_t = 512)]
    pub max_queue: usize,
    /// Seconds a request may take before it gets 504.
    #[arg(long, env = "EMB_REQUEST_TIMEOUT", default_value_t = 60.0)]
    pub request_timeout: f64,
}
