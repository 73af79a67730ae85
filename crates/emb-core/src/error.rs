//! The error type of `emb-core`.

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in core operations and in any [`crate::Embedder`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Two vectors (or a vector and a collection) have different lengths.
    #[error("dimension mismatch: expected {expected} dimensions, received {received}")]
    DimensionMismatch {
        /// The number of dimensions that was required.
        expected: usize,
        /// The number of dimensions that was given.
        received: usize,
    },
    /// A byte blob is not a whole number of little-endian float32 values.
    #[error("invalid vector blob: {length} bytes is not a multiple of 4")]
    InvalidBlob {
        /// The length of the blob in bytes.
        length: usize,
    },
    /// The embedder cannot embed this kind of input.
    #[error("model {model} cannot embed {kind} input")]
    UnsupportedInput {
        /// The model that was asked.
        model: String,
        /// The kind of input that was given.
        kind: crate::InputKind,
    },
    /// An input was empty where content is required.
    #[error("input {index} is empty: there is nothing to embed")]
    EmptyInput {
        /// The position of the empty input in the batch.
        index: usize,
    },
    /// A name given to a new collection cannot be one.
    #[error("{name:?} cannot name a collection: {reason}")]
    InvalidCollectionName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The embedder failed for a reason of its own.
    #[error("model {model} failed: {source}")]
    Embedding {
        /// The model that failed.
        model: String,
        /// The underlying cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A store refused a metadata filter as too deep or too large for its database: the
    /// filter, not the store, is at fault. [`crate::filter::Filter::parse`] keeps filters far
    /// within every store's limits, so only a filter built by hand meets this.
    #[error("{context}: the filter is too complex for the database ({reason}); use fewer conditions or less nesting")]
    FilterTooComplex {
        /// What was being done, and where.
        context: String,
        /// What the database said.
        reason: String,
    },
    /// A store (a database of collections) failed.
    #[error("{context}: {source}")]
    Store {
        /// What was being done, and where.
        context: String,
        /// The underlying cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}
