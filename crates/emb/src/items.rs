//! Writing items whose vectors were made elsewhere, and deleting items, one batch at a time.

use emb_core::store::{Change, Item};
use md5::Digest as _;

use crate::{content_hash, Database, Error, Result};

/// An item with its vector, made by the caller (not by a model emb runs).
#[derive(Debug, Clone, PartialEq)]
pub struct VectorItem {
    /// The item's id.
    pub id: String,
    /// Its embedding.
    pub vector: Vec<f32>,
    /// Its text, to store with it.
    pub content: Option<String>,
    /// Its metadata (a JSON object).
    pub metadata: Option<serde_json::Value>,
}

impl Database {
    /// Writes `items` into `collection` in one transaction (creating the collection, recorded
    /// as made by `model`, when it is missing) and brings its index up to date. Every vector
    /// must have the collection's number of dimensions; a wrong one fails the whole batch.
    /// The content hash is the md5 of the content, or of the vector when there is none.
    pub fn upsert_vectors(
        &mut self,
        collection: &str,
        model: &str,
        items: Vec<VectorItem>,
    ) -> Result<u64> {
        if self.header(collection)?.is_none() {
            self.store_mut().create_collection(collection, model)?;
        }
        let header = self.require(collection)?;
        let mut expected = header.dimensions;
        let mut changes = Vec::with_capacity(items.len());
        for item in items {
            let wanted = *expected.get_or_insert(item.vector.len());
            if item.vector.len() != wanted || wanted == 0 {
                return Err(Error::Core(emb_core::Error::DimensionMismatch {
                    expected: wanted,
                    received: item.vector.len(),
                }));
            }
            let hash = match &item.content {
                Some(content) => content_hash(content),
                None => md5::Md5::digest(emb_core::blob::encode(&item.vector)).into(),
            };
            changes.push(Change::Upsert(Item {
                id: item.id,
                vector: item.vector,
                content: item.content,
                content_blob: None,
                content_hash: hash,
                metadata: item.metadata.map(|value| value.to_string()),
            }));
        }
        let written = changes.len() as u64;
        if !changes.is_empty() {
            self.store_mut().apply(collection, &changes)?;
            self.sync_index(collection, &|_, _| {})?;
        }
        Ok(written)
    }

    /// Deletes the items `ids` of `collection` in one transaction and brings its index up to
    /// date; returns how many of them existed.
    pub fn delete_items(&mut self, collection: &str, ids: &[&str]) -> Result<u64> {
        self.require(collection)?;
        let existing = self.store().fingerprints(collection, ids)?;
        let changes: Vec<Change> = ids
            .iter()
            .filter(|id| existing.contains_key(**id))
            .map(|id| Change::Delete { id: (*id).to_owned() })
            .collect();
        if !changes.is_empty() {
            self.store_mut().apply(collection, &changes)?;
            self.sync_index(collection, &|_, _| {})?;
        }
        Ok(changes.len() as u64)
    }
}
