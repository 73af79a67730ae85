//! `emb serve`: embeddings over HTTP, and a page to search and map collections.
//!
//! One process serves the OpenAI embeddings API (`POST /v1/embeddings`, so the `openai` client
//! and OpenAI embedding classes such as LangChain's work with only their base URL changed), the
//! text-embeddings-inference routes (`/embed`, `/tokenize`, `/similarity`), routes over the
//! collections of one database (list, upsert, delete, search, related, cluster, project, map),
//! `/health`, `/info`, `/metrics` (Prometheus), `/openapi.json`, and a page at `/`.
//!
//! ```no_run
//! # async fn run() -> Result<(), emb_server::Error> {
//! let settings = emb_server::Settings {
//!     models: vec!["all-MiniLM-L6-v2".into()],
//!     ..emb_server::Settings::default()
//! };
//! let server = emb_server::Server::bind(settings).await?;
//! println!("listening on http://{}", server.address());
//! server.run(async { tokio::signal::ctrl_c().await.ok(); }).await
//! # }
//! ```
//!
//! Requests to embed are grouped into batches by a token budget ([`BatchLimits`]); the queue
//! in front of each model is bounded and answers 503 with `Retry-After` when full. Bodies are
//! limited in size, requests in inputs and tokens, and in time; with an API key, every route
//! but `/health` and the page's own files needs `Authorization: Bearer KEY`.
#![warn(missing_docs)]

mod batcher;
mod error;
mod guard;
mod metrics;
mod routes;
mod state;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use batcher::BatchLimits;
pub use error::ApiError;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The address to listen on. Default: 127.0.0.1 (this machine only).
    pub host: String,
    /// The port (0 picks a free one). Default: 8080.
    pub port: u16,
    /// The database of collections. Default: `$EMB_HOME/embeddings.db`.
    pub database: PathBuf,
    /// Models to load at start; the first answers requests that name none. Collections made
    /// with other models load theirs when first searched. Default: all-MiniLM-L6-v2.
    pub models: Vec<String>,
    /// The key every route but `/health` and the page needs, as `Authorization: Bearer KEY`.
    /// Default: none (open).
    pub api_key: Option<String>,
    /// The largest request body, in bytes. Default: 2 MB.
    pub body_limit: usize,
    /// The most texts one request may embed. Default: 2,048 (OpenAI's limit).
    pub max_inputs: usize,
    /// The most tokens one request may embed, after truncation. Default: 300,000.
    pub max_request_tokens: usize,
    /// How requests are batched.
    pub batching: BatchLimits,
    /// How long a request may take. Default: 60 s.
    pub request_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            database: emb::Database::default_path(),
            models: vec!["all-MiniLM-L6-v2".into()],
            api_key: None,
            body_limit: 2 * 1024 * 1024,
            max_inputs: 2048,
            max_request_tokens: 300_000,
            batching: BatchLimits::default(),
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A model or the database could not be opened.
    #[error(transparent)]
    Emb(#[from] emb::Error),
    /// The address could not be bound (in use, or not this machine's).
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address asked for.
        address: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("the server failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// A server bound to its address, not yet serving.
pub struct Server {
    listener: tokio::net::TcpListener,
    state: Arc<state::State>,
}

impl Server {
    /// Loads the models, opens the database and binds the address.
    pub async fn bind(settings: Settings) -> Result<Self, Error> {
        let address = format!("{}:{}", settings.host, settings.port);
        // Opening checks the database now rather than at the first request.
        let database = settings.database.clone();
        let state = tokio::task::spawn_blocking(move || -> Result<state::State, Error> {
            emb::Database::open(&database)?;
            Ok(state::State::start(settings)?)
        })
        .await
        .map_err(|error| Error::Serve(std::io::Error::other(error)))??;
        let listener = tokio::net::TcpListener::bind(&address)
            .await
            .map_err(|source| Error::Bind { address, source })?;
        Ok(Self { listener, state: Arc::new(state) })
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Serves until `shutdown` completes, then stops taking connections, finishes the requests
    /// in flight (their batches run, their writes commit) and returns.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let app = routes::router(Arc::clone(&self.state));
        axum::serve(self.listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(Error::Serve)?;
        // Dropping the state closes the queues and joins the batchers once no request holds it.
        drop(self.state);
        Ok(())
    }
}

/// Serves on a runtime of its own until Ctrl-C or SIGTERM, then shuts down gracefully; calls
/// `ready` with the address once it listens. For programs that are not async themselves.
pub fn serve_until_stopped(
    settings: Settings,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("emb-server")
        .build()
        .map_err(Error::Serve)?;
    runtime.block_on(async {
        let server = Server::bind(settings).await?;
        ready(server.address());
        server.run(stopped()).await
    })
}

/// A server running on a thread of its own: for tests, benchmarks and programs that serve
/// beside other work.
pub struct Background {
    address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), Error>>>,
}

impl Background {
    /// Binds and starts serving on a new thread; returns once it listens.
    pub fn start(settings: Settings) -> Result<Self, Error> {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready, bound) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("emb-server".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()
                    .map_err(Error::Serve)?;
                runtime.block_on(async move {
                    let server = match Server::bind(settings).await {
                        Ok(server) => server,
                        Err(error) => {
                            let _ = ready.send(Err(error));
                            return Ok(());
                        }
                    };
                    let _ = ready.send(Ok(server.address()));
                    server
                        .run(async {
                            let _ = stopped.await;
                        })
                        .await
                })
            })
            .map_err(Error::Serve)?;
        match bound.recv() {
            Ok(Ok(address)) => Ok(Self { address, stop: Some(stop), thread: Some(thread) }),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(match thread.join() {
                Ok(Err(error)) => error,
                _ => Error::Serve(std::io::Error::other(
                    "the server thread stopped before it listened",
                )),
            }),
        }
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Shuts down gracefully (the requests in flight finish) and waits for it.
    pub fn stop(mut self) -> Result<(), Error> {
        self.finish()
    }

    fn finish(&mut self) -> Result<(), Error> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(outcome)) => outcome,
            Some(Err(_)) => Err(Error::Serve(std::io::Error::other("the server thread panicked"))),
            None => Ok(()),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Completes at Ctrl-C or SIGTERM.
async fn stopped() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("stopping: finishing the requests in flight");
}
