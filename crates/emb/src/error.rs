//! The error type of the `emb` facade.

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong using `emb`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Finding, loading or running a model failed.
    #[error(transparent)]
    Model(#[from] emb_models::ModelError),
    /// Word vectors could not be read, asked or evaluated.
    #[error(transparent)]
    Words(#[from] emb_models::emb_words::Error),
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
    /// The database cannot do what was asked, for the reason given.
    #[error("{0}")]
    Unsupported(String),
    /// A metadata filter does not parse.
    #[error(transparent)]
    Filter(#[from] emb_core::filter::FilterError),
    /// Searching failed.
    #[error(transparent)]
    Index(#[from] emb_index::Error),
    /// An input item is bad; nothing of its batch was written.
    #[error("{problem}\n{stored} items before it were stored; fix the input (or pass --skip-errors) and run again: stored items are skipped")]
    Input {
        /// What is wrong, and where.
        problem: crate::sources::Problem,
        /// How many items were stored before it.
        stored: u64,
    },
    /// An analysis could not run on these vectors or settings.
    #[error(transparent)]
    Analysis(#[from] emb_analysis::Error),
    /// Reading or writing a file emb keeps beside the database failed.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Writing would replace a file the caller did not name (the ids file beside an `.npy`).
    #[error("{path} exists: {why}, and a file that was not named is not overwritten; name another output, or allow replacing it")]
    WouldOverwrite {
        /// The file that exists.
        path: std::path::PathBuf,
        /// Why it would be written.
        why: &'static str,
    },
    /// A language model's chat endpoint failed (cluster summaries, `emb ask`).
    #[error("asking the language model at {url} failed: {problem}")]
    Chat {
        /// The endpoint.
        url: String,
        /// What went wrong.
        problem: String,
    },
    /// A database opened for reading does not exist.
    #[error("there is no database at {path}: nothing has been stored there yet (check the path)")]
    NoSuchDatabase {
        /// The file asked for.
        path: std::path::PathBuf,
    },
    /// There is no collection of that name.
    #[error("there is no collection named {name:?} in {database} (collections: {known})")]
    NoSuchCollection {
        /// The name asked for.
        name: String,
        /// The database looked in.
        database: std::path::PathBuf,
        /// The collections there are.
        known: String,
    },
    /// There is no item of that id in the collection.
    #[error("collection {collection:?} has no item with id {id:?}")]
    NoSuchItem {
        /// The collection.
        collection: String,
        /// The id asked for.
        id: String,
    },
    /// A collection is being written or searched with a model other than the one that made it.
    #[error("collection {collection:?} was embedded with {stored}, not {requested}: vectors of different models cannot be compared; use -m {stored} or another collection")]
    ModelMismatch {
        /// The collection.
        collection: String,
        /// The model recorded for it.
        stored: String,
        /// The model asked for.
        requested: String,
    },
}
