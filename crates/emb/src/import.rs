//! [`Importer`]: items that arrive with their vectors (an export of another collection, vectors
//! made elsewhere), written in checked batches without running a model.

use emb_core::store::{Change, Item, Store};
use serde::Deserialize;

use crate::{content_hash, Database, Error, Result};

/// One line of a JSON lines export.
#[derive(Deserialize)]
struct Line {
    id: serde_json::Value,
    embedding: Vec<f32>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    metadata: Option<serde_json::Value>,
}

/// Writes items with their vectors into a collection, a batch per transaction.
pub struct Importer<'a> {
    database: &'a mut Database,
    collection: String,
    dimensions: Option<usize>,
    batch: Vec<Change>,
    written: u64,
}

impl Database {
    /// An importer into `collection`, created for `model` if it does not exist.
    pub fn importer(&mut self, collection: &str, model: &str) -> Result<Importer<'_>> {
        if self.header(collection)?.is_none() {
            self.store_mut().create_collection(collection, model)?;
        }
        let dimensions = self.require(collection)?.dimensions;
        Ok(Importer {
            database: self,
            collection: collection.to_owned(),
            dimensions,
            batch: Vec::new(),
            written: 0,
        })
    }
}

impl Importer<'_> {
    /// Adds one `{"id", "embedding", "content", "metadata"}` JSON object; a vector of another
    /// size than the collection's is refused.
    pub fn push_json(&mut self, line: &str) -> Result<()> {
        let line: Line = serde_json::from_str(line).map_err(|error| {
            Error::Core(emb_core::Error::Store {
                context: "malformed JSON".into(),
                source: Box::new(error),
            })
        })?;
        let id = match line.id {
            serde_json::Value::String(id) => id,
            other => other.to_string(),
        };
        let expected = *self.dimensions.get_or_insert(line.embedding.len());
        emb_core::distance::check_dimensions(expected, line.embedding.len())?;
        self.batch.push(Change::Upsert(Item {
            content_hash: content_hash(line.content.as_deref().unwrap_or_default()),
            id,
            vector: line.embedding,
            content: line.content,
            content_blob: None,
            metadata: line.metadata.map(|value| value.to_string()),
        }));
        Ok(())
    }

    /// How many items wait for the next [`Importer::flush`].
    pub fn pending(&self) -> usize {
        self.batch.len()
    }

    /// Writes the waiting items in one transaction.
    pub fn flush(&mut self) -> Result<()> {
        self.database.store_mut().apply(&self.collection, &self.batch)?;
        self.written += self.batch.len() as u64;
        self.batch.clear();
        Ok(())
    }

    /// Writes what is left; the number of items written in all.
    pub fn finish(mut self) -> Result<u64> {
        self.flush()?;
        Ok(self.written)
    }
}
