//! [`Database`]: named collections of embedded items in one SQLite file (or a PostgreSQL
//! database with pgvector), and searching them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use emb_core::filter::Filter;
use emb_core::store::VectorQuery;
use emb_core::store::{CollectionHeader, CollectionInfo, Generation, Record, Store};
use emb_index::exact::VectorFile;
use emb_index::{Query, VectorIndex};
use emb_store::{PostgresStore, SqliteStore};
use md5::{Digest, Md5};
use serde::Serialize;

use crate::{Error, Model, Result};

/// A database of collections: llm's embeddings.db schema in one SQLite file, with emb's caches
/// beside it (`NAME.db.emb/`), or a PostgreSQL database with pgvector (`postgres://...`), with
/// emb's caches in the emb home folder.
pub struct Database {
    store: Backend,
    /// The file, or the URL without its password.
    path: PathBuf,
    /// Where emb keeps what it derives from the collections (vector files, indexes, layouts).
    caches: PathBuf,
    /// Vector files already mapped, by collection; each is checked against the collection's
    /// generation before every use.
    mapped: Mutex<HashMap<String, Arc<VectorFile>>>,
    /// Search indexes already loaded, by collection.
    indexes: Mutex<HashMap<String, crate::index::Loaded>>,
}

/// What to search a collection for.
#[derive(Debug, Clone)]
pub enum Target {
    /// Items near this vector.
    Vector(Vec<f32>),
    /// Items near the stored item with this id (the item itself is left out).
    Id(String),
}

/// A search of one collection.
#[derive(Debug, Clone)]
pub struct Search {
    /// What to look for.
    pub target: Target,
    /// How many results. Default: 10.
    pub k: usize,
    /// Only ids that start with this. Default: all.
    pub prefix: String,
    /// Only results at least this similar (cosine). Default: none.
    pub threshold: Option<f32>,
    /// Only items whose metadata passes this filter, applied before ranking so that k results
    /// still come back. Default: none.
    pub filter: Option<Filter>,
    /// Scan every vector even when the collection has an index. Default: use the index.
    pub exact: bool,
    /// Candidates the index keeps while searching (more: better recall, slower). Default: the
    /// index's own.
    pub ef: Option<usize>,
    /// Also rank the items whose stored content matches these words (full-text, BM25), and fuse
    /// the two rankings by reciprocal rank: a hit's score is then its fused score,
    /// `Σ 1 / (60 + rank)`. Default: vectors only.
    pub keywords: Option<Keywords>,
}

/// The words a hybrid search ranks by, beside the vectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keywords {
    /// These words (the text the query vector was made from).
    Text(String),
    /// The stored content of the item a [`Target::Id`] search starts from; a search from an
    /// item without stored content, or from a vector, ranks by vectors only.
    OfTarget,
}

impl Search {
    /// The 10 items nearest `target`.
    pub fn new(target: Target) -> Self {
        Self {
            target,
            k: 10,
            prefix: String::new(),
            threshold: None,
            filter: None,
            exact: false,
            ef: None,
            keywords: None,
        }
    }
}

/// One search result, as `emb similar` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// The item's id.
    pub id: String,
    /// Cosine similarity with the query.
    pub score: f32,
    /// The stored text, if it was stored.
    pub content: Option<String>,
    /// The stored metadata, if any.
    pub metadata: Option<serde_json::Value>,
}

/// Fields a filter names that no item's metadata has (see [`Database::missing_filter_fields`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingFields {
    /// The fields named that no item has.
    pub missing: Vec<String>,
    /// The top-level fields the items' metadata does have.
    pub known: Vec<String>,
}

impl Database {
    /// The database used when none is named: `embeddings.db` in the emb home folder.
    pub fn default_path() -> PathBuf {
        crate::settings::home().join("embeddings.db")
    }

    /// Opens the database at `path` if it exists, for work that only reads: a missing SQLite
    /// file (a typo, or nothing stored yet) is an error rather than a new empty database.
    /// A `postgres://` URL opens as with [`Database::open`].
    pub fn open_existing(path: &Path) -> Result<Self> {
        if !Self::is_url(path) && !path.exists() {
            return Err(Error::NoSuchDatabase { path: path.to_owned() });
        }
        Self::open(path)
    }

    /// Opens (creating if needed) the database at `path`: a SQLite file, or a PostgreSQL
    /// database when `path` is a `postgres://` URL.
    pub fn open(path: &Path) -> Result<Self> {
        let store = Backend::open(path)?;
        let (path, caches) = match &store {
            Backend::Sqlite(_) => (path.to_owned(), emb_index::cache_folder(path)),
            Backend::Postgres(postgres) => {
                let shown = postgres.location().to_owned();
                let folder = crate::settings::home()
                    .join("postgres")
                    .join(emb_index::hex(&Md5::digest(shown.as_bytes())));
                (PathBuf::from(shown), folder)
            }
        };
        Ok(Self { store, path, caches, mapped: Mutex::default(), indexes: Mutex::default() })
    }

    /// Where the database is: its file, or its URL without the password.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether `location` names a PostgreSQL database rather than a file.
    pub fn is_url(location: &Path) -> bool {
        location.to_str().is_some_and(PostgresStore::is_url)
    }

    /// The store underneath, for reads and writes the facade does not wrap.
    pub fn store(&self) -> &dyn Store {
        self.store.get()
    }

    /// The store underneath, to write to.
    pub fn store_mut(&mut self) -> &mut dyn Store {
        self.store.get_mut()
    }

    /// The SQLite store underneath, when the database is a SQLite file.
    pub fn sqlite(&self) -> Option<&SqliteStore> {
        match &self.store {
            Backend::Sqlite(store) => Some(store),
            Backend::Postgres(_) => None,
        }
    }

    /// Another connection to the same database (for a writer thread).
    pub(crate) fn reopen(&self) -> Result<Box<dyn Store>> {
        Ok(match &self.store {
            Backend::Sqlite(store) => Box::new(SqliteStore::open(store.path())?),
            Backend::Postgres(store) => Box::new(store.reconnect()?),
        })
    }

    /// Every collection.
    pub fn collections(&self) -> Result<Vec<CollectionInfo>> {
        Ok(self.store().collections()?)
    }

    /// The collection `name` with its counts, if it exists.
    pub fn collection(&self, name: &str) -> Result<Option<CollectionInfo>> {
        Ok(self.store().collection(name)?)
    }

    /// The model and dimensions of the collection `name`, if it exists (cheap).
    pub fn header(&self, name: &str) -> Result<Option<CollectionHeader>> {
        Ok(self.store().header(name)?)
    }

    /// The collection `name` with its counts, or an error saying it does not exist.
    pub fn summary(&self, name: &str) -> Result<CollectionInfo> {
        self.require(name)?;
        self.collection(name)?.ok_or_else(|| self.missing(name))
    }

    /// The model and dimensions of the collection `name`, or an error saying it does not exist
    /// and which do.
    pub fn require(&self, name: &str) -> Result<CollectionHeader> {
        self.header(name)?.ok_or_else(|| self.missing(name))
    }

    fn missing(&self, name: &str) -> Error {
        let known: Vec<String> = self
            .collections()
            .map(|all| all.into_iter().map(|info| info.name).collect())
            .unwrap_or_default();
        Error::NoSuchCollection {
            name: name.to_owned(),
            database: self.path.clone(),
            known: if known.is_empty() { "none".to_owned() } else { known.join(", ") },
        }
    }

    /// Deletes the collection `name` and its cached vectors; whether it existed.
    pub fn delete_collection(&mut self, name: &str) -> Result<bool> {
        if self.header(name)?.is_some() {
            self.drop_index(name)?;
        }
        let existed = self.store_mut().delete_collection(name)?;
        self.mapped.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(name);
        let _ = std::fs::remove_file(self.cache_path("vectors", name));
        Ok(existed)
    }

    /// The model name recorded for `model`'s collections (the hub id, as llm records it).
    pub fn model_name(model: &Model) -> &str {
        &model.location().id
    }

    /// Refuses the model named `requested` (as a user gave it) for `collection` when the
    /// collection was made with another model; a missing collection, or one with no model
    /// recorded, takes any.
    pub fn check_model(&self, collection: &str, requested: &str) -> Result<()> {
        match self.header(collection)? {
            Some(header) if !header.model.is_empty() => {
                check_model(collection, &header.model, requested)
            }
            _ => Ok(()),
        }
    }

    /// Makes sure `collection` exists for `model`: creates it, or checks that it was embedded
    /// with the same model and the same number of dimensions.
    pub fn prepare(&mut self, collection: &str, model: &Model) -> Result<()> {
        let name = Self::model_name(model);
        match self.header(collection)? {
            None => self.store_mut().create_collection(collection, name)?,
            Some(info) => {
                check_model(collection, &info.model, name)?;
                if let Some(dimensions) = info.dimensions.filter(|&d| d != model.dimensions()) {
                    return Err(Error::Core(emb_core::Error::DimensionMismatch {
                        expected: dimensions,
                        received: model.dimensions(),
                    }));
                }
            }
        }
        Ok(())
    }

    /// The loaded search indexes.
    pub(crate) fn indexes(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, crate::index::Loaded>> {
        self.indexes.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The loaded search indexes, to change.
    pub(crate) fn indexes_mut(&mut self) -> &mut HashMap<String, crate::index::Loaded> {
        self.indexes.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Where emb keeps a file of `kind` derived from `collection`: `NAME.db.emb/KIND-MD5` (for
    /// a PostgreSQL database, a folder of the emb home named after its URL).
    pub(crate) fn cache_path(&self, kind: &str, collection: &str) -> PathBuf {
        self.caches.join(emb_index::cache_file(kind, collection))
    }

    /// The vectors of `collection` ready to scan: the cached file when it is current, else
    /// read from the database (and cached when the database can vouch for its version).
    pub fn vectors(&self, collection: &str) -> Result<Arc<VectorFile>> {
        let current = self.store().generation(collection)?;
        let mut mapped = self.mapped.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let (Some(current), Some(file)) = (&current, mapped.get(collection)) {
            if file.generation() == current {
                return Ok(Arc::clone(file));
            }
        }
        let file = Arc::new(self.load_vectors(collection, current.as_ref())?);
        mapped.insert(collection.to_owned(), Arc::clone(&file));
        Ok(file)
    }

    /// The cached vector file of `collection` if it is at generation `current`, else a new one
    /// read from the database.
    fn load_vectors(&self, collection: &str, current: Option<&Generation>) -> Result<VectorFile> {
        let path = self.cache_path("vectors", collection);
        let cached = VectorFile::open(&path).or_else(|error| {
            let reason = crate::index::unusable_file(error)?;
            tracing::warn!(collection, "reading the vectors from the database: {reason}");
            Ok::<_, Error>(None)
        })?;
        if let (Some(current), Some(file)) = (current, cached) {
            if file.generation() == current {
                return Ok(file);
            }
        }
        tracing::debug!(collection, "reading vectors from the database");
        Ok(VectorFile::build(&path, |writer| {
            self.store()
                .scan_vectors(collection, &mut |id, bytes| {
                    writer.push(id, bytes).map_err(|error| emb_core::Error::Store {
                        context: format!("collection {collection:?}"),
                        source: Box::new(error),
                    })
                })
                .map_err(emb_index::Error::Core)
        })?)
    }

    /// The fields `filter` names (by their first key) that no item of `collection` has in its
    /// metadata, and the fields the items do have: for saying why a filtered search found
    /// nothing. `None` when every field named is there. Scans the metadata.
    pub fn missing_filter_fields(
        &self,
        collection: &str,
        filter: &Filter,
    ) -> Result<Option<MissingFields>> {
        let known = self.store().metadata_keys(collection)?;
        let mut missing: Vec<String> = Vec::new();
        let mut pending = vec![filter];
        while let Some(filter) = pending.pop() {
            let field = match filter {
                Filter::And(parts) | Filter::Or(parts) => {
                    pending.extend(parts);
                    continue;
                }
                Filter::Not(inner) => {
                    pending.push(inner);
                    continue;
                }
                Filter::Compare { field, .. }
                | Filter::In { field, .. }
                | Filter::IsNull { field } => field,
            };
            let Some(first) = field.first() else { continue };
            if !known.contains(first) && !missing.contains(first) {
                missing.push(first.clone());
            }
        }
        missing.sort();
        Ok((!missing.is_empty()).then_some(MissingFields { missing, known }))
    }

    /// The items of `collection` most similar to the search's target, best first: by the
    /// collection's index when it has a usable one (unless the search asks for exact), else by
    /// scanning every vector (saying why on the log when an index exists but cannot be used).
    pub fn search(&self, collection: &str, search: &Search) -> Result<Vec<Hit>> {
        let header = self.require(collection)?;
        if header.dimensions.is_none() {
            return Ok(Vec::new());
        }
        let (vector, exclude, content) = match &search.target {
            Target::Vector(vector) => (vector.clone(), None, None),
            Target::Id(id) => {
                let record =
                    self.store().get(collection, &[id.as_str()])?.pop().ok_or_else(|| {
                        Error::NoSuchItem { collection: collection.to_owned(), id: id.clone() }
                    })?;
                (record.vector, Some(id.as_str()), record.content)
            }
        };
        let keywords = match &search.keywords {
            Some(Keywords::Text(text)) => Some(text.as_str()),
            Some(Keywords::OfTarget) => content.as_deref(),
            None => None,
        };
        let native = self.store().searches_natively();
        // The ids the filter lets through: for emb's own search, and for the keyword ranking of
        // a hybrid search (a store that searches itself filters its own ranking in SQL).
        let allowed = match &search.filter {
            Some(filter) if !native || keywords.is_some() => {
                Some(self.store().filter_ids(collection, filter)?)
            }
            _ => None,
        };
        let mut query = Query {
            k: search.k,
            ef: search.ef,
            prefix: &search.prefix,
            threshold: search.threshold,
            exclude,
            allowed: allowed.as_deref(),
            ..Query::new(&vector)
        };
        if keywords.is_some() {
            // Enough candidates from each ranking for the fusion to choose from.
            query.k = (3 * search.k).max(FUSION_CANDIDATES);
            query.ef = query.ef.map(|ef| ef.max(query.k));
        }
        let mut hits = if native {
            let asked = VectorQuery {
                vector: &vector,
                k: query.k,
                prefix: &search.prefix,
                exclude,
                filter: search.filter.as_ref(),
                threshold: search.threshold,
                exact: search.exact,
                ef: query.ef,
            };
            let found = self.store().search(collection, &asked)?.unwrap_or_default();
            found.into_iter().map(|(id, score)| emb_index::Hit { id, score }).collect()
        } else {
            let index = if search.exact {
                crate::index::IndexChoice::None
            } else {
                self.index_for_search(collection)?
            };
            match index {
                // The index checks the pages of vectors it reads as it reads them: one that
                // fails turns the search into an exact scan, as an index known bad does.
                crate::index::IndexChoice::Use(index) => match index.search(&query) {
                    Ok(hits) => hits,
                    Err(error) => {
                        let reason = crate::index::unusable_file(error)?;
                        tracing::warn!(
                            "searching {collection:?} exactly: {reason}; run `emb index build \
                             {collection}`"
                        );
                        self.indexes().remove(collection);
                        self.vectors(collection)?.search(&query)?
                    }
                },
                crate::index::IndexChoice::Scan(reason) => {
                    tracing::warn!("searching {collection:?} exactly: {reason}");
                    self.vectors(collection)?.search(&query)?
                }
                crate::index::IndexChoice::None => self.vectors(collection)?.search(&query)?,
            }
        };
        if let Some(keywords) = keywords {
            hits = self.fuse_keywords(collection, keywords, &query, hits, search.k)?;
        }
        let ids: Vec<&str> = hits.iter().map(|hit| hit.id.as_str()).collect();
        let mut records: std::collections::HashMap<String, Record> = self
            .store()
            .get(collection, &ids)?
            .into_iter()
            .map(|record| (record.id.clone(), record))
            .collect();
        Ok(hits
            .into_iter()
            .map(|hit| {
                let record = records.remove(&hit.id);
                let (content, metadata) = record.map_or((None, None), |record| {
                    (record.content, record.metadata.as_deref().map(parse_metadata))
                });
                Hit { id: hit.id, score: hit.score, content, metadata }
            })
            .collect())
    }
}

/// Candidates each ranking contributes to a hybrid search, at least.
const FUSION_CANDIDATES: usize = 50;
/// The constant of reciprocal rank fusion (Cormack et al., 2009): a hit at rank r of a ranking
/// adds 1 / (60 + r).
const FUSION_CONSTANT: f32 = 60.0;

impl Database {
    /// Fuses the vector ranking `hits` with the full-text ranking of `keywords` (restricted as
    /// `query` restricts the vector search) by reciprocal rank; the best `k`.
    fn fuse_keywords(
        &self,
        collection: &str,
        keywords: &str,
        query: &Query<'_>,
        hits: Vec<emb_index::Hit>,
        k: usize,
    ) -> Result<Vec<emb_index::Hit>> {
        // A restricted search reads further down the keyword ranking to find enough allowed ids.
        let restricted = !query.prefix.is_empty() || query.allowed.is_some();
        let limit = if restricted { 20 * query.k } else { query.k };
        let Some(matched) = self.store().keyword_search(collection, keywords, limit)? else {
            return Err(Error::Core(emb_core::Error::Store {
                context: format!("hybrid search of {collection:?}"),
                source: "this database has no full-text index of stored content".into(),
            }));
        };
        let allowed: Option<std::collections::HashSet<&str>> =
            query.allowed.map(|ids| ids.iter().map(String::as_str).collect());
        let keyword_ranking = matched
            .iter()
            .filter(|id| id.starts_with(query.prefix))
            .filter(|id| allowed.as_ref().is_none_or(|allowed| allowed.contains(id.as_str())))
            .filter(|id| Some(id.as_str()) != query.exclude)
            .take(query.k);
        let mut fused: HashMap<String, f32> = HashMap::new();
        for (rank, id) in hits.iter().map(|hit| &hit.id).enumerate() {
            *fused.entry(id.clone()).or_default() += 1.0 / (FUSION_CONSTANT + rank as f32 + 1.0);
        }
        for (rank, id) in keyword_ranking.enumerate() {
            *fused.entry(id.clone()).or_default() += 1.0 / (FUSION_CONSTANT + rank as f32 + 1.0);
        }
        let mut ranked: Vec<emb_index::Hit> =
            fused.into_iter().map(|(id, score)| emb_index::Hit { id, score }).collect();
        ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        ranked.truncate(k);
        Ok(ranked)
    }
}

/// One item's related items, as `emb related` prints them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Related {
    /// The item's id.
    pub id: String,
    /// Its most similar other items, best first.
    pub related: Vec<Neighbour>,
}

/// One related item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Neighbour {
    /// Its id.
    pub id: String,
    /// Cosine similarity.
    pub score: f32,
}

impl Database {
    /// The `k` most similar other items of every item of `collection`, computed in one pass (a
    /// GEMM per block of items), handed to `visit` in id order; with `store`, also saved in the
    /// `emb_related` table (replacing what was there).
    pub fn related(
        &mut self,
        collection: &str,
        k: usize,
        store: bool,
        visit: &mut dyn FnMut(&Related) -> Result<()>,
    ) -> Result<u64> {
        self.require(collection)?;
        let vectors = self.vectors(collection)?;
        let mut kept = Vec::new();
        let mut count = 0;
        emb_index::related::all_neighbours(&vectors, k, &mut |row, neighbours| -> Result<()> {
            let related = Related {
                id: vectors.id(row).to_owned(),
                related: neighbours
                    .into_iter()
                    .map(|(other, score)| Neighbour { id: vectors.id(other).to_owned(), score })
                    .collect(),
            };
            count += 1;
            visit(&related)?;
            if store {
                let pairs = related.related.into_iter().map(|n| (n.id, n.score)).collect();
                kept.push((related.id, pairs));
            }
            Ok(())
        })?;
        if store {
            self.store_mut().store_related(collection, &kept)?;
        }
        Ok(count)
    }
}

/// Where collections are kept.
enum Backend {
    Sqlite(SqliteStore),
    Postgres(Box<PostgresStore>),
}

impl Backend {
    fn open(location: &Path) -> Result<Self> {
        match location.to_str() {
            Some(url) if PostgresStore::is_url(url) => {
                Ok(Self::Postgres(Box::new(PostgresStore::connect(url)?)))
            }
            _ => Ok(Self::Sqlite(SqliteStore::open(location)?)),
        }
    }

    fn get(&self) -> &dyn Store {
        match self {
            Self::Sqlite(store) => store,
            Self::Postgres(store) => &**store,
        }
    }

    fn get_mut(&mut self) -> &mut dyn Store {
        match self {
            Self::Sqlite(store) => store,
            Self::Postgres(store) => &mut **store,
        }
    }
}

/// Stored metadata as JSON (text that is not JSON comes back as a JSON string).
pub(crate) fn parse_metadata(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_owned()))
}

/// Refuses the model `requested` for `collection`, made with `stored`, unless they are the same
/// model.
pub(crate) fn check_model(collection: &str, stored: &str, requested: &str) -> Result<()> {
    if same_model(stored, requested) {
        return Ok(());
    }
    Err(Error::ModelMismatch {
        collection: collection.to_owned(),
        stored: stored.to_owned(),
        requested: requested.to_owned(),
    })
}

/// Whether two model names mean the same model (`all-MiniLM-L6-v2` is
/// `sentence-transformers/all-MiniLM-L6-v2`).
fn same_model(stored: &str, requested: &str) -> bool {
    stored == requested || crate::hub_id(stored) == crate::hub_id(requested)
}
