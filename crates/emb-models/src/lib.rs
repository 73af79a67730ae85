//! Embedding models for `emb`.
//!
//! [`SentenceTransformer`] runs sentence-transformers folders of the BERT family
//! (BERT, `RoBERTa`, XLM-`RoBERTa`) in pure Rust, matching sentence-transformers'
//! vectors; [`resolve`] finds a model by name or path in the emb cache, the
//! Hugging Face cache or the hub; [`WordVectorModel`] embeds texts with static word vectors
//! (GloVe, word2vec, fastText).
//!
//! ```no_run
//! use emb_models::SentenceTransformer;
//!
//! let model = SentenceTransformer::load("models/all-MiniLM-L6-v2".as_ref(), "all-MiniLM-L6-v2")?;
//! let embedded = model.embed_texts(&["Hello world"], None)?;
//! assert_eq!(embedded.vectors[0].len(), 384);
//! # Ok::<(), emb_models::ModelError>(())
//! ```
#![warn(missing_docs)]

mod attention;
mod bert;
mod error;
mod hub;
mod kernels;
mod pooling;
pub mod resolve;
mod sentence_transformer;
mod tensors;
mod word_vectors;

pub use emb_words;
pub use error::{ModelError, Result};
pub use pooling::Pooling;
pub use resolve::{Located, Locator, Source};
pub use sentence_transformer::{Embedded, ModelInfo, SentenceTransformer, TokenReport, Tokenized};
pub use word_vectors::{Weighting, WordVectorConfig, WordVectorModel};

/// Loads the model `name` (a short name, hub id or folder path, looked up as `locator` says) as
/// an [`emb_core::Embedder`]: a sentence-transformers folder or word vectors.
pub fn load(name: &str, locator: &Locator) -> Result<Box<dyn emb_core::Embedder>> {
    let located = locator.locate(name)?;
    let shown = match located.source {
        Source::Path => name,
        _ => located.id.as_str(),
    };
    Ok(if resolve::is_word_vectors(&located.path) {
        Box::new(WordVectorModel::load(&located.path, shown)?)
    } else {
        Box::new(SentenceTransformer::load(&located.path, shown)?)
    })
}
