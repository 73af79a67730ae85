//! The error type of the `emb` facade.

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong using `emb`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Finding, loading or running a model failed.
    #[error(transparent)]
    Model(#[from] emb_models::ModelError),
    /// A vector operation failed.
    #[error(transparent)]
    Core(#[from] emb_core::Error),
    /// A settings file could not be read or written.
    #[error("{path}: {source}")]
    Settings {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}
