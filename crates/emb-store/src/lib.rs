//! Collection stores of `emb`: where embedded items live.
//!
//! [`SqliteStore`] keeps collections in one SQLite file with the schema of `llm`'s
//! embeddings.db, so `llm` and `emb` read and write the same databases. [`PostgresStore`]
//! keeps them in PostgreSQL with pgvector, for collections that outgrow one file.
//!
//! ```
//! use emb_core::store::{Change, Item, Store};
//! use emb_store::SqliteStore;
//!
//! let mut store = SqliteStore::open_in_memory()?;
//! store.create_collection("notes", "all-MiniLM-L6-v2")?;
//! let item = Item {
//!     id: "a".into(),
//!     vector: vec![1.0, 0.0],
//!     content: Some("hello".into()),
//!     content_blob: None,
//!     content_hash: [0; 16],
//!     metadata: None,
//! };
//! store.apply("notes", &[Change::Upsert(item)])?;
//! assert_eq!(store.collection("notes")?.unwrap().count, 1);
//! # Ok::<(), emb_core::Error>(())
//! ```
#![warn(missing_docs)]

mod filter_sql;
mod migrations;
mod pg_migrations;
mod postgres;
mod sqlite;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
