//! Search indexes of collections: building one, keeping it current as items change (from emb or
//! from any other writer, through the store's change log), and saying when it cannot be used.

use std::path::PathBuf;
use std::sync::Arc;

use emb_core::store::Generation;
use emb_index::hnsw::{Hnsw, Info, Parameters, Quantization};
use serde::{Deserialize, Serialize};

use crate::{Database, Error, Result};

/// Changes a search applies to an index in memory before it would rather scan exactly and ask
/// for a rebuild.
const CATCH_UP_LIMIT: usize = 2000;

/// How a collection's index was asked to be built (kept in the database, for rebuilds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexSettings {
    /// Links per node.
    pub m: usize,
    /// Candidates kept while linking.
    pub ef_construction: usize,
    /// How vectors are stored for searching: none, f16, int8 or binary.
    #[serde(with = "quantization_name")]
    pub quantize: Quantization,
}

impl Default for IndexSettings {
    fn default() -> Self {
        Self::of(Parameters::default())
    }
}

impl IndexSettings {
    /// The settings an index was built with.
    fn of(parameters: Parameters) -> Self {
        Self {
            m: parameters.m,
            ef_construction: parameters.ef_construction,
            quantize: parameters.quantization,
        }
    }

    fn parameters(self) -> Parameters {
        Parameters {
            m: self.m,
            ef_construction: self.ef_construction,
            quantization: self.quantize,
            ..Parameters::default()
        }
    }
}

mod quantization_name {
    use emb_index::hnsw::Quantization;
    use serde::{Deserialize, Deserializer, Serializer};

    #[allow(clippy::trivially_copy_pass_by_ref, reason = "serde's `with` passes a reference")]
    pub fn serialize<S: Serializer>(
        value: &Quantization,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Quantization, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
    }
}

/// Whether an index can answer searches now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum IndexState {
    /// It reflects every item.
    Current,
    /// Items changed since it was saved; searches apply the changes in memory (up to a limit),
    /// and the next emb write saves them.
    Behind {
        /// Items changed.
        changes: usize,
    },
    /// It cannot be trusted (missing, damaged, from another database, or the change log does
    /// not reach back to it): searches scan exactly until it is rebuilt.
    Unusable {
        /// Why.
        reason: String,
    },
}

/// A collection's index, as `emb index info` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct IndexStatus {
    /// The collection.
    pub collection: String,
    /// The settings it was built with, as its file records them (the settings last asked for
    /// when the file cannot be read).
    pub settings: IndexSettings,
    /// The settings last asked for, when they differ from the file's: a build with them did
    /// not finish (it was killed, or failed), and the next rebuild uses them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested: Option<IndexSettings>,
    /// Whether searches can use it.
    #[serde(flatten)]
    pub state: IndexState,
    /// Items it returns.
    pub items: Option<usize>,
    /// Nodes of changed or removed items awaiting the next rebuild.
    pub deleted: Option<usize>,
    /// The size of its file.
    pub bytes: Option<usize>,
    /// The bytes searches read (all but the full vectors a quantised index rescores from).
    pub search_bytes: Option<usize>,
    /// Where its file is.
    pub path: PathBuf,
}

/// What keeping an index current did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexSync {
    /// It was already current.
    Current,
    /// This many changed items were re-linked.
    Updated(usize),
    /// It could not be trusted, so it was built again.
    Rebuilt,
}

/// A collection's items as one matrix, read from one snapshot.
struct Snapshot {
    ids: Vec<String>,
    vectors: Vec<f32>,
    dimensions: usize,
    generation: Option<Generation>,
}

/// What checking a saved index found.
enum Checked {
    /// It can be used once these items (changed since it was saved) are re-linked.
    Usable { index: Arc<Hnsw>, pending: Vec<String> },
    /// It cannot be trusted, for this reason.
    Unusable(String),
}

/// Which way a search goes.
pub(crate) enum IndexChoice {
    /// The collection has no index: scan.
    None,
    /// Search this index.
    Use(Arc<Hnsw>),
    /// The index cannot be used, for this reason: scan, and say so.
    Scan(String),
}

/// A loaded index, and the generation it was last checked against.
pub(crate) struct Loaded {
    pub index: Arc<Hnsw>,
    pub checked: Generation,
}

impl Database {
    fn index_path(&self, collection: &str) -> PathBuf {
        self.cache_path("hnsw", collection)
    }

    /// Builds (or rebuilds) the search index of `collection` with `settings`, saves it beside the
    /// database and registers it, so that searches use it and writes keep it current.
    /// `progress(done, total)` hears how far linking has got.
    pub fn build_index(
        &mut self,
        collection: &str,
        settings: IndexSettings,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<Info> {
        let header = self.require(collection)?;
        let text = serde_json::to_string(&settings).unwrap_or_default();
        if self.store().searches_natively() {
            return self.build_native_index(collection, header.dimensions, settings, &text);
        }
        // Registered first: changes made while it builds are logged and caught up later.
        self.store_mut().register_index(collection, &text)?;
        let Snapshot { ids, vectors, dimensions, generation } = self.read_all(collection)?;
        let total = ids.len() as u64;
        let index =
            Hnsw::build(dimensions, settings.parameters(), ids, vectors, generation, &|done| {
                progress(done, total);
            })?;
        self.save_index(collection, index)
    }

    /// Has a store that searches itself (PostgreSQL: pgvector's HNSW) build its own index.
    fn build_native_index(
        &mut self,
        collection: &str,
        dimensions: Option<usize>,
        settings: IndexSettings,
        text: &str,
    ) -> Result<Info> {
        if settings.quantize != Quantization::None {
            return Err(Error::Unsupported(format!(
                "on PostgreSQL the index is pgvector's HNSW over full-precision vectors; \
                 --quantize {} is for emb's own index of a SQLite database",
                settings.quantize
            )));
        }
        let native = emb_core::store::NativeIndex {
            m: settings.m,
            ef_construction: settings.ef_construction,
            settings: text,
        };
        self.store_mut().build_native_index(collection, &native)?;
        let bytes = self.store().native_index_bytes(collection)?.unwrap_or(0) as usize;
        let items = self.collection(collection)?.map_or(0, |info| info.count as usize);
        let generation = self
            .store()
            .generation(collection)?
            .unwrap_or(Generation { database: emb_index::UNTRUSTED.to_owned(), counter: 0 });
        Ok(Info {
            items,
            deleted: 0,
            dimensions: dimensions.unwrap_or(0),
            parameters: settings.parameters(),
            bytes,
            search_bytes: bytes,
            generation,
        })
    }

    /// Every item's id and vector, and the generation they were read at.
    fn read_all(&self, collection: &str) -> Result<Snapshot> {
        let mut ids = Vec::new();
        let mut vectors = Vec::new();
        let mut dimensions = None;
        let generation = self.store().scan_vectors(collection, &mut |id, bytes| {
            let vector = emb_core::blob::decode(bytes)?;
            let expected = *dimensions.get_or_insert(vector.len());
            emb_core::distance::check_dimensions(expected, vector.len()).map_err(|source| {
                emb_core::Error::Store { context: format!("item {id:?}"), source: Box::new(source) }
            })?;
            ids.push(id.to_owned());
            vectors.extend_from_slice(&vector);
            Ok(())
        })?;
        Ok(Snapshot { ids, vectors, dimensions: dimensions.unwrap_or(0), generation })
    }

    /// Saves `index` as `collection`'s, forgets the changes it includes, and caches it.
    fn save_index(&mut self, collection: &str, index: Hnsw) -> Result<Info> {
        let path = self.index_path(collection);
        index.save(&path)?;
        let info = index.info();
        if info.generation.database != emb_index::UNTRUSTED {
            self.store_mut().trim_changes(collection, info.generation.counter)?;
        }
        // Map the saved file rather than keep the built copy in memory.
        let index = Hnsw::open(&path)?.ok_or_else(|| {
            Error::Index(emb_index::Error::Io {
                path: path.clone(),
                source: std::io::ErrorKind::InvalidData.into(),
            })
        })?;
        let checked = info.generation.clone();
        self.indexes_mut()
            .insert(collection.to_owned(), Loaded { index: Arc::new(index), checked });
        Ok(info)
    }

    /// Removes the search index of `collection`; whether it had one.
    pub fn drop_index(&mut self, collection: &str) -> Result<bool> {
        self.require(collection)?;
        let dropped = self.store_mut().drop_index(collection)?;
        self.indexes_mut().remove(collection);
        let path = self.index_path(collection);
        let existed = std::fs::remove_file(&path).is_ok();
        Ok(dropped || existed)
    }

    /// The state of `collection`'s index, if it has one.
    pub fn index_status(&self, collection: &str) -> Result<Option<IndexStatus>> {
        self.require(collection)?;
        let Some(record) = self.store().index(collection)? else { return Ok(None) };
        let settings: IndexSettings = serde_json::from_str(&record.settings).unwrap_or_default();
        if self.store().searches_natively() {
            // pgvector keeps its index current with every write.
            let bytes = self.store().native_index_bytes(collection)?.map(|bytes| bytes as usize);
            let items = self.collection(collection)?.map(|info| info.count as usize);
            return Ok(Some(IndexStatus {
                collection: collection.to_owned(),
                settings,
                requested: None,
                state: IndexState::Current,
                items,
                deleted: Some(0),
                bytes,
                search_bytes: bytes,
                path: PathBuf::from(format!("{} (pgvector HNSW)", self.path().display())),
            }));
        }
        let path = self.index_path(collection);
        let (state, info) = match self.check_index(collection)? {
            Checked::Unusable(reason) => {
                // A file that is whole but stale still says what it holds.
                let info = Hnsw::open(&path).ok().flatten().map(|index| index.info());
                (IndexState::Unusable { reason }, info)
            }
            // Searches check the vectors as they read them; info reads them all, so that it
            // never calls a damaged index current.
            Checked::Usable { index, pending } => match index.verify() {
                Err(error) => {
                    let reason = unusable_file(error)?;
                    (IndexState::Unusable { reason }, Some(index.info()))
                }
                Ok(()) if pending.is_empty() => (IndexState::Current, Some(index.info())),
                Ok(()) => (IndexState::Behind { changes: pending.len() }, Some(index.info())),
            },
        };
        // The file says what it was built with; the record says what was asked for last.
        let built = info.as_ref().map_or(settings, |info| IndexSettings::of(info.parameters));
        Ok(Some(IndexStatus {
            collection: collection.to_owned(),
            settings: built,
            requested: (built != settings).then_some(settings),
            state,
            items: info.as_ref().map(|info| info.items),
            deleted: info.as_ref().map(|info| info.deleted),
            bytes: info.as_ref().map(|info| info.bytes),
            search_bytes: info.as_ref().map(|info| info.search_bytes),
            path,
        }))
    }

    /// The saved index of `collection` and the ids changed since it was saved, or why it cannot
    /// be used. Only for collections with a registered index.
    fn check_index(&self, collection: &str) -> Result<Checked> {
        let Some(current) = self.store().generation(collection)? else {
            return Ok(Checked::Unusable(
                "the database's change triggers are missing, so the index cannot be \
                           trusted"
                    .to_owned(),
            ));
        };
        let cached = self
            .indexes()
            .get(collection)
            .map(|loaded| (Arc::clone(&loaded.index), loaded.checked.clone()));
        let index = match cached {
            Some((index, checked)) if checked == current => {
                return Ok(Checked::Usable { index, pending: Vec::new() })
            }
            Some((index, _)) => index,
            None => {
                let path = self.index_path(collection);
                match Hnsw::open(&path) {
                    Ok(Some(index)) => Arc::new(index),
                    Ok(None) => {
                        return Ok(Checked::Unusable(format!(
                            "the index file {} is missing",
                            path.display()
                        )))
                    }
                    Err(error) => return unusable_file(error).map(Checked::Unusable),
                }
            }
        };
        let saved = index.generation();
        if saved.database != current.database {
            return Ok(Checked::Unusable(
                "the index was built for another database (or before the database \
                           was repaired)"
                    .to_owned(),
            ));
        }
        if saved.counter == current.counter {
            return Ok(Checked::Usable { index, pending: Vec::new() });
        }
        match self.store().changes_since(collection, saved.counter)? {
            Some(pending) => Ok(Checked::Usable { index, pending }),
            None => Ok(Checked::Unusable(
                "the change log does not reach back to when the index was saved".to_owned(),
            )),
        }
    }

    /// The changes to apply for `ids`: each id with its current vector, or none if it is gone.
    fn changes_of(
        &self,
        collection: &str,
        ids: &[String],
    ) -> Result<Vec<(String, Option<Vec<f32>>)>> {
        let mut changes = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(512) {
            let wanted: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let mut found: std::collections::HashMap<String, Vec<f32>> = self
                .store()
                .get(collection, &wanted)?
                .into_iter()
                .map(|record| (record.id, record.vector))
                .collect();
            changes.extend(chunk.iter().map(|id| (id.clone(), found.remove(id))));
        }
        Ok(changes)
    }

    /// The index a search of `collection` should use: `Ok(None)` without one, `Err(reason)`
    /// when it cannot be trusted or is too far behind (then the search scans exactly). Changes
    /// since the index was saved are applied in memory.
    pub(crate) fn index_for_search(&self, collection: &str) -> Result<IndexChoice> {
        if self.store().index(collection)?.is_none() {
            return Ok(IndexChoice::None);
        }
        let (index, pending) = match self.check_index(collection)? {
            Checked::Unusable(reason) => {
                return Ok(IndexChoice::Scan(format!(
                    "{reason}; run `emb index build {collection}`"
                )))
            }
            Checked::Usable { index, pending } => (index, pending),
        };
        let current = self.store().generation(collection)?;
        let index = if pending.is_empty() {
            index
        } else if pending.len() > CATCH_UP_LIMIT {
            return Ok(IndexChoice::Scan(format!(
                "the index is {} changes behind; run `emb index build {collection}` (emb's own \
                 writes keep it current)",
                pending.len()
            )));
        } else {
            let changes = self.changes_of(collection, &pending)?;
            match index.update(changes, current.clone(), &|_| {}) {
                Ok(updated) => Arc::new(updated),
                Err(error) => {
                    let reason = unusable_file(error)?;
                    return Ok(IndexChoice::Scan(format!(
                        "{reason}; run `emb index build {collection}`"
                    )));
                }
            }
        };
        if let Some(current) = current {
            self.indexes().insert(
                collection.to_owned(),
                Loaded { index: Arc::clone(&index), checked: current },
            );
        }
        Ok(IndexChoice::Use(index))
    }

    /// Brings `collection`'s index (if it has one) up to date with its items and saves it:
    /// re-links the items changed since it was saved, or rebuilds it when it cannot be trusted.
    /// emb's writes call this; `progress(done, total)` hears how far linking has got.
    pub fn sync_index(
        &mut self,
        collection: &str,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<Option<IndexSync>> {
        let Some(record) = self.store().index(collection)? else { return Ok(None) };
        if self.store().searches_natively() {
            return Ok(Some(IndexSync::Current));
        }
        let reason = match self.check_index(collection)? {
            Checked::Usable { pending, .. } if pending.is_empty() => {
                return Ok(Some(IndexSync::Current))
            }
            Checked::Usable { index, pending } => {
                let current = self.store().generation(collection)?;
                let changes = self.changes_of(collection, &pending)?;
                let total = changes.len() as u64;
                // Updating reads every vector of the index, and finds any damage the searches
                // have not come across.
                match index.update(changes, current, &|done| progress(done, total)) {
                    Ok(updated) => {
                        self.save_index(collection, updated)?;
                        return Ok(Some(IndexSync::Updated(pending.len())));
                    }
                    Err(error) => unusable_file(error)?,
                }
            }
            Checked::Unusable(reason) => reason,
        };
        tracing::warn!(collection, "rebuilding the index: {reason}");
        let settings: IndexSettings = serde_json::from_str(&record.settings).unwrap_or_default();
        self.build_index(collection, settings, progress)?;
        Ok(Some(IndexSync::Rebuilt))
    }
}

/// Why an index file cannot be used, when `error` says it is damaged (or of another format);
/// any other error is returned as it is.
pub(crate) fn unusable_file(error: emb_index::Error) -> Result<String> {
    match error {
        emb_index::Error::Damaged { path, detail } => {
            Ok(format!("the file {} cannot be used: {detail}", path.display()))
        }
        error => Err(error.into()),
    }
}
