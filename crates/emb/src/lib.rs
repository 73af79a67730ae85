//! `emb`: embeddings on your own machine.
//!
//! Load a sentence-transformers model by name (from the emb model cache, the
//! Hugging Face cache or the hub) or by folder, embed texts, and compare the
//! vectors:
//!
//! ```no_run
//! let model = emb::Model::load("all-MiniLM-L6-v2")?;
//! let vectors = model.embed(&["The weather is lovely today.", "It's so sunny outside!"])?;
//! let similarities = emb::similarity(&vectors, &vectors);
//! assert!(similarities[0][1] > 0.5);
//! # Ok::<(), emb::Error>(())
//! ```
//!
//! The model runs in pure Rust and gives the vectors sentence-transformers gives
//! (cosine >= 0.99999 on the reference texts).
//!
//! Keep items in a named collection of a [`Database`] (llm's embeddings.db schema) and search
//! them:
//!
//! ```no_run
//! use emb::sources::{read_table, Columns};
//!
//! let model = emb::Model::load("all-MiniLM-L6-v2")?;
//! let mut database = emb::Database::open("embeddings.db".as_ref())?;
//! let input = std::io::BufReader::new(std::fs::File::open("docs.jsonl").expect("docs.jsonl"));
//! let items = read_table(Box::new(input), None, Columns::default()).expect("a table");
//! let options = emb::IngestOptions { store_content: true, ..Default::default() };
//! let report = database.ingest("docs", &model, items, &options, &mut |_progress| {})?;
//! println!("{} embedded, {} unchanged", report.embedded, report.skipped);
//!
//! let query = model.embed(&["sqlite backup tools"])?.remove(0);
//! for hit in database.search("docs", &emb::Search::new(emb::Target::Vector(query)))? {
//!     println!("{:.3} {}", hit.score, hit.id);
//! }
//! # Ok::<(), emb::Error>(())
//! ```
#![warn(missing_docs)]

pub mod analysis;
pub mod chat;
mod database;
pub mod documents;
mod error;
pub mod evaluate;
mod index;
mod ingest;
mod items;
mod model;
pub mod retrieve;
pub mod settings;
pub mod sources;
pub mod thumbnails;
pub mod transfer;
pub mod words;

pub use analysis::Snapshot;
pub use database::{Database, Hit, Keywords, MissingFields, Neighbour, Related, Search, Target};
pub use emb_analysis::neighbourhood::OutlierMethod;
pub use emb_analysis::Rows;
pub use emb_core::filter::{Filter, FilterError};
pub use emb_core::store::{CollectionHeader, CollectionInfo, Record, Store};
pub use emb_core::Error as CoreError;
pub use emb_core::{blob, distance, topk, Embedder, Input, InputKind, Vector};
pub use emb_index::exact::VectorFile;
pub use emb_index::hnsw::{Info as IndexInfo, Quantization};
pub use emb_index::{Query, VectorIndex};
pub use emb_models::resolve::{hub_id, Located, Locator, Source};
pub use emb_models::{audio, pictures, Embedded, ModelError, ModelInfo, PictureModel, TokenReport};
pub use emb_plot as plot;
pub use error::{Error, Result};
pub use index::{IndexSettings, IndexState, IndexStatus, IndexSync};
pub use ingest::{content_hash, unembeddable, IngestOptions, IngestReport};
pub use items::VectorItem;
pub use model::{describe, register_word_vectors, EmbedOptions, Model, Prepared, TokenCounter};

/// The cosine similarity of every vector in `left` with every vector in `right`.
pub fn similarity<A: AsRef<[f32]>, B: AsRef<[f32]>>(left: &[A], right: &[B]) -> Vec<Vec<f32>> {
    distance::cosine_matrix(left, right)
}
