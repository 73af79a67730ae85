//! What people do with embeddings once they have them, as pure functions over vectors:
//! clustering ([`kmeans`], [`hdbscan`]), 2-D maps ([`pca`], [`umap`], [`tsne`]), nearest-neighbour graphs
//! ([`neighbours`]) and the quality measures that check them ([`quality`], [`trustworthiness`]).
//!
//! Every function takes its vectors as [`Rows`], a borrowed row-major matrix, and a settings
//! struct; randomised ones take a seed, so a result can be reproduced.
//!
//! ```
//! use emb_analysis::{neighbours, Rows};
//!
//! let points = [0.0, 0.0, 0.1, 0.0, 5.0, 5.0, 5.1, 5.0];
//! let graph = neighbours::exact(Rows::new(&points, 2)?, 1, neighbours::Metric::Euclidean)?;
//! assert_eq!(graph.neighbours(0).next().unwrap().0, 1);
//! # Ok::<(), emb_analysis::Error>(())
//! ```
#![warn(missing_docs)]

pub mod classify;
pub mod hdbscan;
pub mod kmeans;
pub mod labels;
pub mod linear;
pub mod neighbourhood;
pub mod neighbours;
pub mod pca;
pub mod quality;
pub mod random;
pub mod trustworthiness;
pub mod tsne;
pub mod umap;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in an analysis.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is out of range for the data (k larger than the number of points, ...).
    #[error("invalid settings: {0}")]
    Settings(String),
    /// The vectors cannot be analysed as given (no rows, ragged rows, non-finite values, ...).
    #[error("invalid vectors: {0}")]
    Vectors(String),
}

/// A borrowed row-major matrix of `f32`: `len()` rows of `dimensions()` values.
#[derive(Clone, Copy, Debug)]
pub struct Rows<'a> {
    values: &'a [f32],
    dimensions: usize,
}

impl<'a> Rows<'a> {
    /// Views `values` as rows of `dimensions` values; `values.len()` must be a multiple of it.
    pub fn new(values: &'a [f32], dimensions: usize) -> Result<Self> {
        if dimensions == 0 || !values.len().is_multiple_of(dimensions) {
            return Err(Error::Vectors(format!(
                "{} values do not make rows of {dimensions} dimensions",
                values.len()
            )));
        }
        Ok(Self { values, dimensions })
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.values.len() / self.dimensions
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The number of values in a row.
    pub fn dimensions(&self) -> usize {
        self.dimensions
    }

    /// Row `index`.
    pub fn row(&self, index: usize) -> &'a [f32] {
        &self.values[index * self.dimensions..(index + 1) * self.dimensions]
    }

    /// All values, row-major.
    pub fn values(&self) -> &'a [f32] {
        self.values
    }

    /// The rows in order.
    pub fn rows(&self) -> std::slice::ChunksExact<'a, f32> {
        self.values.chunks_exact(self.dimensions)
    }

    /// Fails unless there are at least `minimum` rows and every value is finite.
    pub fn check(&self, minimum: usize) -> Result<()> {
        if self.len() < minimum {
            return Err(Error::Vectors(format!(
                "{} rows given, at least {minimum} needed",
                self.len()
            )));
        }
        if let Some(at) = self.values.iter().position(|value| !value.is_finite()) {
            return Err(Error::Vectors(format!(
                "row {} has a value that is not a finite number",
                at / self.dimensions
            )));
        }
        Ok(())
    }
}
