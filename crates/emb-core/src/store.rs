//! The [`Store`] trait: named collections of embedded items, and the records it reads and writes.

use std::collections::HashMap;

use crate::{Result, Vector};

/// A named collection: the model that embedded it and how much it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionInfo {
    /// The collection's name.
    pub name: String,
    /// The model that embedded its items, as recorded when it was created.
    pub model: String,
    /// How many items it holds.
    pub count: u64,
    /// The number of dimensions of its vectors (`None` while it is empty).
    pub dimensions: Option<usize>,
    /// The bytes its vectors, content and metadata take (before storage overhead).
    pub bytes: u64,
}

/// What a collection is, without counting what it holds: cheap to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionHeader {
    /// The collection's name.
    pub name: String,
    /// The model that embedded its items.
    pub model: String,
    /// The number of dimensions of its vectors (`None` while it is empty).
    pub dimensions: Option<usize>,
}

/// One item to write: its id, its vector, and what it was made from.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The item's id, unique in its collection.
    pub id: String,
    /// The embedding.
    pub vector: Vector,
    /// The text, when it is kept (`--store`).
    pub content: Option<String>,
    /// Binary content (an image, a sound), when it is kept.
    pub content_blob: Option<Vec<u8>>,
    /// The md5 of the content as embedded: how unchanged items are recognised.
    pub content_hash: [u8; 16],
    /// A JSON object of metadata, as text.
    pub metadata: Option<String>,
}

/// One change to a collection, applied with others in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Insert the item, or replace the item with the same id.
    Upsert(Item),
    /// Replace only the metadata of an existing item (its content did not change).
    Metadata {
        /// The item's id.
        id: String,
        /// The new metadata (a JSON object as text), or none.
        metadata: Option<String>,
    },
    /// Remove an item.
    Delete {
        /// The item's id.
        id: String,
    },
}

/// What identifies the stored version of an item: enough to tell whether it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// The md5 of the content as embedded, if one was recorded.
    pub content_hash: Option<[u8; 16]>,
    /// The stored metadata (JSON text).
    pub metadata: Option<String>,
}

/// A stored item as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The item's id.
    pub id: String,
    /// The embedding.
    pub vector: Vector,
    /// The stored text, if any.
    pub content: Option<String>,
    /// The stored binary content, if any.
    pub content_blob: Option<Vec<u8>>,
    /// The stored metadata (JSON text), if any.
    pub metadata: Option<String>,
    /// When it was last written, in seconds since the Unix epoch.
    pub updated: Option<i64>,
    /// The md5 of the content as embedded, if one was recorded.
    pub content_hash: Option<[u8; 16]>,
}

/// A nearest-neighbour search that a store runs itself (see [`Store::search`]).
#[derive(Debug, Clone)]
pub struct VectorQuery<'a> {
    /// The query vector.
    pub vector: &'a [f32],
    /// How many results, at most.
    pub k: usize,
    /// Only ids that start with this.
    pub prefix: &'a str,
    /// Leave out this id (the item a search starts from).
    pub exclude: Option<&'a str>,
    /// Only items whose metadata passes this filter.
    pub filter: Option<&'a crate::filter::Filter>,
    /// Only results at least this similar (cosine).
    pub threshold: Option<f32>,
    /// Compare with every vector, ignoring any index.
    pub exact: bool,
    /// Candidates the index keeps while searching.
    pub ef: Option<usize>,
}

/// An index a store builds and keeps current itself (see [`Store::build_native_index`]).
#[derive(Debug, Clone)]
pub struct NativeIndex<'a> {
    /// Links per node.
    pub m: usize,
    /// Candidates kept while linking.
    pub ef_construction: usize,
    /// The settings to record (JSON), as [`Store::index`] returns them.
    pub settings: &'a str,
}

/// Checks a name for a new collection: it must hold something besides white space, must not
/// start or end with white space (a name that differs from another by a space cannot be told
/// apart in a listing), and must hold no control characters. Existing collections, whatever
/// another tool named them, are opened as they are.
pub fn check_collection_name(name: &str) -> Result<()> {
    let reason = if name.trim().is_empty() {
        "a collection's name must hold something besides white space"
    } else if name.trim() != name {
        "a collection's name must not start or end with white space"
    } else if name.chars().any(char::is_control) {
        "a collection's name must not hold control characters"
    } else {
        return Ok(());
    };
    Err(crate::Error::InvalidCollectionName { name: name.to_owned(), reason })
}

/// Where collections live. Implementations: SQLite (llm's embeddings.db) and PostgreSQL with
/// pgvector.
///
/// Writes go through [`Store::apply`], which applies a batch of changes atomically: after a crash
/// a batch is either wholly stored or not at all.
pub trait Store: Send {
    /// Every collection, by name.
    fn collections(&self) -> Result<Vec<CollectionInfo>>;

    /// The collection called `name` with its counts, if there is one.
    fn collection(&self, name: &str) -> Result<Option<CollectionInfo>> {
        Ok(self.collections()?.into_iter().find(|info| info.name == name))
    }

    /// The model and dimensions of the collection `name`, if there is one, without counting
    /// its items.
    fn header(&self, name: &str) -> Result<Option<CollectionHeader>>;

    /// Creates the collection `name` for vectors of `model`; does nothing if it exists.
    fn create_collection(&mut self, name: &str, model: &str) -> Result<()>;

    /// Deletes the collection `name` and its items; returns whether it existed.
    fn delete_collection(&mut self, name: &str) -> Result<bool>;

    /// The fingerprints of those of `ids` that are stored in `collection`.
    fn fingerprints(&self, collection: &str, ids: &[&str]) -> Result<HashMap<String, Fingerprint>>;

    /// Applies `changes` to `collection` in one transaction.
    fn apply(&mut self, collection: &str, changes: &[Change]) -> Result<()>;

    /// The stored items with these ids (those that exist), in no particular order.
    fn get(&self, collection: &str, ids: &[&str]) -> Result<Vec<Record>>;

    /// Calls `visit` with every item of `collection` whose id starts with `prefix`, in id order.
    fn for_each(
        &self,
        collection: &str,
        prefix: &str,
        visit: &mut dyn FnMut(Record) -> Result<()>,
    ) -> Result<()>;

    /// Calls `visit` with the id and raw vector blob of every item, in id order, from one
    /// consistent snapshot, and returns the [`Store::generation`] of that snapshot.
    fn scan_vectors(
        &self,
        collection: &str,
        visit: &mut dyn FnMut(&str, &[u8]) -> Result<()>,
    ) -> Result<Option<Generation>>;

    /// The ids of the items of `collection` whose metadata passes `filter`, in id order.
    fn filter_ids(&self, collection: &str, filter: &crate::filter::Filter) -> Result<Vec<String>>;

    /// The top-level keys of the metadata of `collection`'s items, sorted and without repeats
    /// (a whole scan: for messages about a filter that found nothing, not for every search).
    fn metadata_keys(&self, collection: &str) -> Result<Vec<String>>;

    /// Replaces the stored related items of `collection` with `related`: for each item id, its
    /// related ids and scores, best first. One transaction.
    fn store_related(
        &mut self,
        collection: &str,
        related: &[(String, Vec<(String, f32)>)],
    ) -> Result<()>;

    /// A value that changes whenever `collection`'s items change, by any writer; `None` when the
    /// store cannot vouch for one (then nothing derived from the items may be cached).
    fn generation(&self, collection: &str) -> Result<Option<Generation>>;

    /// The search index registered for `collection`, if any.
    fn index(&self, collection: &str) -> Result<Option<IndexRecord>>;

    /// Registers a search index for `collection` with `settings` (replacing any), from when on
    /// the store logs which items change (see [`Store::changes_since`]).
    fn register_index(&mut self, collection: &str, settings: &str) -> Result<()>;

    /// Forgets the search index of `collection` and its change log; whether there was one.
    fn drop_index(&mut self, collection: &str) -> Result<bool>;

    /// The ids of the items of `collection` whose vectors changed (were added, replaced or
    /// removed) after generation counter `counter`; `None` when the store cannot vouch for the
    /// whole list (no index registered, the log trimmed past `counter`, or the triggers gone).
    fn changes_since(&self, collection: &str, counter: u64) -> Result<Option<Vec<String>>>;

    /// Forgets the logged changes of `collection` up to counter `through`, which an index saved
    /// at that counter no longer needs.
    fn trim_changes(&mut self, collection: &str, through: u64) -> Result<()>;

    /// The ids of up to `limit` items of `collection` whose stored content best matches the
    /// words of `text` (full-text ranking, best first); `None` when the store keeps no full-text
    /// index.
    fn keyword_search(
        &self,
        collection: &str,
        text: &str,
        limit: usize,
    ) -> Result<Option<Vec<String>>>;

    /// Whether the store searches and indexes vectors itself ([`Store::search`],
    /// [`Store::build_native_index`]) rather than leave it to emb's own index and scans.
    fn searches_natively(&self) -> bool {
        false
    }

    /// The ids and cosine similarities of the items of `collection` nearest `query`, best
    /// first, searched by the store itself; `None` when it does not search (emb scans or uses
    /// its own index then).
    fn search(
        &self,
        collection: &str,
        query: &VectorQuery<'_>,
    ) -> Result<Option<Vec<(String, f32)>>> {
        let _ = (collection, query);
        Ok(None)
    }

    /// Builds (or rebuilds) the store's own search index of `collection` and records its
    /// settings; only for stores that [search natively](Store::searches_natively).
    fn build_native_index(&mut self, collection: &str, index: &NativeIndex<'_>) -> Result<()> {
        let _ = index;
        Err(crate::Error::Store {
            context: format!("index of {collection:?}"),
            source: "this store keeps no index of its own".into(),
        })
    }

    /// The size in bytes of the store's own index of `collection`, if it has one.
    fn native_index_bytes(&self, collection: &str) -> Result<Option<u64>> {
        let _ = collection;
        Ok(None)
    }
}

/// A collection's search index as the store records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexRecord {
    /// The index's build settings (JSON).
    pub settings: String,
    /// Changes up to this counter are no longer logged.
    pub trimmed: u64,
}

/// A version stamp of a collection's items: see [`Store::generation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    /// Identifies the database (a new or replaced database gets a new one).
    pub database: String,
    /// Grows with every change to the collection's items.
    pub counter: u64,
}

impl std::fmt::Display for Generation {
    /// `database:counter`, as caches beside the database record the version they hold.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}:{}", self.database, self.counter)
    }
}
