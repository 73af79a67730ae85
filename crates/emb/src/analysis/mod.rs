//! What people do with a collection once it is embedded: clusters with names, 2-D maps,
//! classification, scores along an axis, near-duplicates, outliers and recommendations. Each
//! reads the collection once (a [`Snapshot`]) and hands its vectors to `emb_analysis`.

mod classify;
mod cluster;
mod map;
mod project;
mod summarise;
mod understand;

pub use classify::{Classifier, ClassifierMethod};
pub use cluster::{Cluster, ClusterMethod, ClusterSettings, Clustering, Member};
pub use emb_analysis::classify::nearest_centre;
pub use map::{ColourBy, Drawn, MapSettings};
pub use project::{Projection, ProjectionMethod, ProjectionSettings};
pub use summarise::{summarise, SummarySettings};
pub use understand::{Duplicate, DuplicateGroup, Outlier, OutlierSettings, Scored};

use std::sync::Arc;

use emb_analysis::Rows;

use crate::{Database, Error, Result, VectorFile};

/// A collection as read at one moment: its ids, normalised vectors and, when asked for, its
/// stored content and metadata, all in the same (id) order.
pub struct Snapshot {
    vectors: Arc<VectorFile>,
    /// The ids, in row order.
    pub ids: Vec<String>,
    /// The stored text of each item (`None` when not stored or not read).
    pub contents: Vec<Option<String>>,
    /// The metadata of each item (`None` when it has none or it was not read).
    pub metadata: Vec<Option<serde_json::Value>>,
}

impl Snapshot {
    /// The normalised vectors as rows.
    pub fn rows(&self) -> Rows<'_> {
        Rows::new(self.vectors.matrix(), self.vectors.dimensions().max(1)).expect("whole rows")
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the collection is empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The row of the item `id`.
    pub fn row_of(&self, id: &str) -> Option<usize> {
        self.vectors.find(id)
    }

    /// The vectors' generation (which version of the collection they are).
    pub fn generation(&self) -> &emb_core::store::Generation {
        self.vectors.generation()
    }
}

impl Database {
    /// Reads `collection` for analysis; with `records`, its stored content and metadata too.
    pub fn snapshot(&self, collection: &str, records: bool) -> Result<Snapshot> {
        self.require(collection)?;
        let vectors = self.vectors(collection)?;
        let ids: Vec<String> = (0..vectors.len()).map(|row| vectors.id(row).to_owned()).collect();
        let mut contents = vec![None; ids.len()];
        let mut metadata = vec![None; ids.len()];
        if records {
            self.store().for_each(collection, "", &mut |record| {
                if let Some(row) = vectors.find(&record.id) {
                    contents[row] = record.content;
                    metadata[row] = record.metadata.as_deref().map(crate::database::parse_metadata);
                }
                Ok(())
            })?;
        }
        Ok(Snapshot { vectors, ids, contents, metadata })
    }

    /// Sets `field` in the metadata of each `(id, value)` item (other fields are kept); one
    /// transaction. Returns how many items were written.
    pub fn set_metadata_field(
        &mut self,
        collection: &str,
        field: &str,
        values: &[(String, serde_json::Value)],
    ) -> Result<u64> {
        let ids: Vec<&str> = values.iter().map(|(id, _)| id.as_str()).collect();
        let mut current: std::collections::HashMap<String, Option<String>> = self
            .store()
            .get(collection, &ids)?
            .into_iter()
            .map(|record| (record.id, record.metadata))
            .collect();
        let mut changes = Vec::with_capacity(values.len());
        for (id, value) in values {
            let Some(existing) = current.remove(id) else { continue };
            let mut object = match existing.as_deref().map(crate::database::parse_metadata) {
                Some(serde_json::Value::Object(object)) => object,
                Some(other) => {
                    // Metadata that is not an object keeps its value under "metadata".
                    let mut object = serde_json::Map::new();
                    object.insert("metadata".into(), other);
                    object
                }
                None => serde_json::Map::new(),
            };
            object.insert(field.to_owned(), value.clone());
            changes.push(emb_core::store::Change::Metadata {
                id: id.clone(),
                metadata: Some(serde_json::Value::Object(object).to_string()),
            });
        }
        self.store_mut().apply(collection, &changes)?;
        Ok(changes.len() as u64)
    }
}

/// Rows of `snapshot` picked by id, as one matrix; an unknown id is an error naming it.
pub(crate) fn rows_of(snapshot: &Snapshot, collection: &str, ids: &[String]) -> Result<Vec<f32>> {
    let mut values = Vec::with_capacity(ids.len() * snapshot.rows().dimensions());
    for id in ids {
        let row = snapshot.row_of(id).ok_or_else(|| Error::NoSuchItem {
            collection: collection.to_owned(),
            id: id.clone(),
        })?;
        values.extend_from_slice(snapshot.rows().row(row));
    }
    Ok(values)
}
