//! Word vectors: load GloVe, word2vec (text and binary) and fastText `.vec` files, keep them in a
//! file that opens by mmap in milliseconds, ask them for similar words and analogies, evaluate them
//! the way gensim does, and train your own with word2vec.
//!
//! ```
//! use emb_words::WordVectors;
//!
//! let words = ["king", "queen", "man", "woman"].map(String::from).to_vec();
//! let values = vec![
//!     0.9, 0.8, 0.1, //
//!     0.9, 0.1, 0.8, //
//!     0.1, 0.9, 0.1, //
//!     0.1, 0.2, 0.9,
//! ];
//! let vectors = WordVectors::from_parts(words, values, 3)?;
//! let answers = vectors.most_similar(&emb_words::Query::analogy("man", "king", "woman"), 1)?;
//! assert_eq!(answers[0].word, "queen");
//! # Ok::<(), emb_words::Error>(())
//! ```
#![warn(missing_docs)]

mod binary;
pub mod evaluate;
mod formats;
mod native;
mod query;
mod text;
pub mod train;
mod vectors;
mod wink;

pub use formats::Format;
pub use query::{Expression, Query, Scoring, Similar};
pub use vectors::WordVectors;

use std::path::{Path, PathBuf};

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong with word vectors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A line (or, in binary files, a record) of a vectors file is malformed.
    #[error("{path}:{line}: {problem}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The line (1-based; the record number in a binary file).
        line: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// A file is not in any format emb reads.
    #[error("{path}: {problem}")]
    UnknownFormat {
        /// The file.
        path: PathBuf,
        /// Why it could not be recognised.
        problem: String,
    },
    /// Words asked about are not in the vocabulary.
    #[error("not in the vocabulary: {}", .words.join(", "))]
    UnknownWords {
        /// The missing words, in the order they were asked for.
        words: Vec<String>,
    },
    /// A query or expression cannot be answered as written.
    #[error("{0}")]
    Query(String),
    /// Settings out of range (zero dimensions, a window of 0, ...).
    #[error("invalid settings: {0}")]
    Settings(String),
    /// A training corpus has no words at all.
    #[error(
        "{corpus}: the corpus has no words; give text with one sentence per line, its words \
         separated by spaces"
    )]
    EmptyCorpus {
        /// The corpus: its file, or how many sentences were given.
        corpus: String,
    },
    /// No word of a training corpus occurs often enough to be kept.
    #[error(
        "no word occurs {minimum_count} times or more (the most frequent occurs {highest_count} \
         times): lower the minimum count or train on more text"
    )]
    NoWordReachesMinimumCount {
        /// The minimum count in force (raised by a maximum vocabulary size, if one was set).
        minimum_count: u64,
        /// How often the most frequent word occurs.
        highest_count: u64,
    },
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.to_owned(), source }
    }

    pub(crate) fn malformed(path: &Path, line: usize, problem: impl Into<String>) -> Self {
        Self::Malformed { path: path.to_owned(), line, problem: problem.into() }
    }
}
