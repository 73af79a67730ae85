//! `emb_search(collection, query [, k])`: a table-valued function that searches a collection of
//! the database it runs in, and returns `id, score, content, metadata`, best first.
//!
//! The query is text, embedded with the collection's model (so a JSON array is text too), or a
//! vector as a float32 blob (`emb_encode('[...]')` makes one). The search uses the collection's emb index when one is current (the file
//! `emb index build` saved beside the database, at the change counter the database is at now),
//! and otherwise scans every vector exactly, as `emb similar` does; either way it reads the
//! database through the host's own connection.

use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use emb_core::store::Generation;
use emb_core::topk::TopK;
use emb_index::hnsw::Hnsw;
use emb_index::{Query, VectorIndex};
use libsqlite3_sys::{
    sqlite3, sqlite3_context, sqlite3_index_info, sqlite3_module, sqlite3_value, sqlite3_vtab,
    sqlite3_vtab_cursor, SQLITE_ERROR, SQLITE_INDEX_CONSTRAINT_EQ, SQLITE_OK,
};

use crate::api::{self, Context, Kind, Output, Statement, Value};
use crate::models::Models;

/// The columns; the last three are the hidden ones the function's arguments fill.
const SCHEMA: &CStr = c"CREATE TABLE x(id TEXT, score REAL, content TEXT, metadata TEXT, \
                        collection HIDDEN, query HIDDEN, k HIDDEN)";
/// The first hidden column.
const FIRST_ARGUMENT: c_int = 4;
/// Results when `k` is not given.
const DEFAULT_K: i64 = 10;

/// The module SQLite calls; eponymous only (no `xCreate`), so `emb_search` needs no
/// `CREATE VIRTUAL TABLE`.
pub static MODULE: sqlite3_module = sqlite3_module {
    iVersion: 1,
    xCreate: None,
    xConnect: Some(connect),
    xBestIndex: Some(best_index),
    xDisconnect: Some(disconnect),
    xDestroy: None,
    xOpen: Some(open),
    xClose: Some(close),
    xFilter: Some(filter),
    xNext: Some(next),
    xEof: Some(eof),
    xColumn: Some(column),
    xRowid: Some(rowid),
    xUpdate: None,
    xBegin: None,
    xSync: None,
    xCommit: None,
    xRollback: None,
    xFindFunction: None,
    xRename: None,
    xSavepoint: None,
    xRelease: None,
    xRollbackTo: None,
    xShadowName: None,
    xIntegrity: None,
};

/// The table of one connection.
#[repr(C)]
struct Table {
    base: sqlite3_vtab,
    db: *mut sqlite3,
    models: Arc<Models>,
    /// Indexes opened so far, by file.
    indexes: Mutex<HashMap<PathBuf, Arc<Hnsw>>>,
}

/// One running search.
#[repr(C)]
struct Cursor {
    base: sqlite3_vtab_cursor,
    found: Vec<Found>,
    position: usize,
    arguments: [Output; 3],
}

/// One result row.
struct Found {
    /// The item's id.
    id: String,
    /// Cosine similarity with the query.
    score: f32,
    /// Its stored text.
    content: Option<String>,
    /// Its metadata, as stored.
    metadata: Option<String>,
}

/// What to search for.
enum Target {
    Text(String),
    Vector(Vec<f32>),
}

unsafe extern "C" fn connect(
    db: *mut sqlite3,
    data: *mut c_void,
    _argc: c_int,
    _argv: *const *const c_char,
    table: *mut *mut sqlite3_vtab,
    error: *mut *mut c_char,
) -> c_int {
    // SAFETY: SQLite passes the connection it connects; `data` is the `Arc<Models>` the module
    // was registered with.
    if let Err(message) = unsafe { api::declare_vtab(db, SCHEMA) } {
        // SAFETY: SQLite takes the message, allocated by its allocator.
        unsafe { *error = api::sqlite_string(&message) };
        return SQLITE_ERROR;
    }
    // SAFETY: as above.
    let models = Arc::clone(unsafe { &*data.cast::<Arc<Models>>() });
    let created = Box::new(Table {
        // SAFETY: SQLite fills in the base's fields itself; zero is its documented start.
        base: unsafe { std::mem::zeroed() },
        db,
        models,
        indexes: Mutex::default(),
    });
    // SAFETY: SQLite keeps the pointer until `disconnect`.
    unsafe { *table = Box::into_raw(created).cast() };
    SQLITE_OK
}

unsafe extern "C" fn disconnect(table: *mut sqlite3_vtab) -> c_int {
    // SAFETY: made by `connect`, handed back once.
    let table = unsafe { Box::from_raw(table.cast::<Table>()) };
    if !table.base.zErrMsg.is_null() {
        // SAFETY: allocated by SQLite's allocator.
        unsafe { api::free(table.base.zErrMsg.cast()) };
    }
    SQLITE_OK
}

/// Chooses a plan: the hidden columns given with `=` become the arguments of `filter`, in their
/// order, and `idxNum` says which were given. A plan without the collection and the query costs
/// so much that SQLite only takes it when there is no other, and `filter` then says what is
/// missing.
unsafe extern "C" fn best_index(_table: *mut sqlite3_vtab, info: *mut sqlite3_index_info) -> c_int {
    // SAFETY: SQLite passes a filled-in index info.
    let info = unsafe { &mut *info };
    let count = usize::try_from(info.nConstraint).unwrap_or(0);
    // SAFETY: SQLite passes `nConstraint` constraints and as many usages.
    let (constraints, usages) = unsafe {
        (
            std::slice::from_raw_parts(info.aConstraint, count),
            std::slice::from_raw_parts_mut(info.aConstraintUsage, count),
        )
    };
    let mut chosen = [None; 3];
    for (position, constraint) in constraints.iter().enumerate() {
        let argument = constraint.iColumn - FIRST_ARGUMENT;
        if constraint.usable != 0
            && i32::from(constraint.op) == SQLITE_INDEX_CONSTRAINT_EQ
            && (0..3).contains(&argument)
        {
            chosen[argument as usize] = Some(position);
        }
    }
    let mut next_argument = 1;
    let mut given = 0;
    for (argument, position) in chosen.iter().enumerate() {
        if let Some(position) = position {
            usages[*position].argvIndex = next_argument;
            usages[*position].omit = 1;
            next_argument += 1;
            given |= 1 << argument;
        }
    }
    info.idxNum = given;
    let complete = given & 0b11 == 0b11;
    info.estimatedCost = if complete { 10.0 } else { 1e12 };
    info.estimatedRows = if complete { DEFAULT_K } else { 1_000_000_000 };
    // Rows come best first: an ORDER BY score DESC alone needs no sort.
    let order_count = usize::try_from(info.nOrderBy).unwrap_or(0);
    if order_count == 1 {
        // SAFETY: SQLite passes `nOrderBy` terms.
        let term = unsafe { &*info.aOrderBy };
        if term.iColumn == 1 && term.desc != 0 {
            info.orderByConsumed = 1;
        }
    }
    SQLITE_OK
}

unsafe extern "C" fn open(
    _table: *mut sqlite3_vtab,
    cursor: *mut *mut sqlite3_vtab_cursor,
) -> c_int {
    let created = Box::new(Cursor {
        // SAFETY: SQLite fills in the base itself.
        base: unsafe { std::mem::zeroed() },
        found: Vec::new(),
        position: 0,
        arguments: [Output::Null, Output::Null, Output::Null],
    });
    // SAFETY: SQLite keeps the pointer until `close`.
    unsafe { *cursor = Box::into_raw(created).cast() };
    SQLITE_OK
}

unsafe extern "C" fn close(cursor: *mut sqlite3_vtab_cursor) -> c_int {
    // SAFETY: made by `open`, handed back once.
    drop(unsafe { Box::from_raw(cursor.cast::<Cursor>()) });
    SQLITE_OK
}

unsafe extern "C" fn filter(
    cursor: *mut sqlite3_vtab_cursor,
    given: c_int,
    _name: *const c_char,
    argc: c_int,
    argv: *mut *mut sqlite3_value,
) -> c_int {
    // SAFETY: a cursor made by `open`, whose base SQLite points at its table.
    let cursor = unsafe { &mut *cursor.cast::<Cursor>() };
    // SAFETY: as above.
    let table = unsafe { &mut *cursor.base.pVtab.cast::<Table>() };
    // SAFETY: SQLite passes `argc` arguments.
    let arguments = unsafe { api::arguments(argc, argv) };
    let result = catch_unwind(AssertUnwindSafe(|| -> Result<Vec<Found>, String> {
        let mut values = arguments.iter();
        let mut slots: [Option<Value>; 3] = [None; 3];
        for (argument, slot) in slots.iter_mut().enumerate() {
            if given & (1 << argument) != 0 {
                *slot = values.next().copied();
            }
        }
        let [Some(collection), Some(query), k] = slots else {
            return Err("emb_search needs a collection and a query: SELECT * FROM \
                        emb_search('collection', 'query text', 10)"
                .to_owned());
        };
        let collection = match collection.kind() {
            Kind::Text => collection.text().into_owned(),
            kind => return Err(format!("emb_search: the collection is {}, not text", kind.name())),
        };
        let target = match query.kind() {
            Kind::Text => Target::Text(query.text().into_owned()),
            Kind::Blob => Target::Vector(
                emb_core::blob::decode(query.blob())
                    .map_err(|error| format!("emb_search: {error}"))?,
            ),
            kind => {
                return Err(format!(
                    "emb_search: the query is {}; give text or a vector (a float32 blob)",
                    kind.name()
                ))
            }
        };
        let k = match k {
            None => DEFAULT_K,
            Some(value) if value.kind() == Kind::Integer && value.integer() >= 0 => value.integer(),
            Some(value) => {
                return Err(format!(
                    "emb_search: k is {}; give the number of results (0 or more)",
                    value.kind().name()
                ))
            }
        };
        cursor.arguments = [
            Output::Text(collection.clone()),
            match &target {
                Target::Text(text) => Output::Text(text.clone()),
                Target::Vector(vector) => Output::Blob(emb_core::blob::encode(vector)),
            },
            Output::Integer(k),
        ];
        table.search(&collection, target, usize::try_from(k).unwrap_or(usize::MAX))
    }));
    let message = match result {
        Ok(Ok(found)) => {
            cursor.found = found;
            cursor.position = 0;
            return SQLITE_OK;
        }
        Ok(Err(message)) => message,
        Err(_) => "emb_search: internal error (a bug in emb; please report it)".to_owned(),
    };
    if !table.base.zErrMsg.is_null() {
        // SAFETY: allocated by SQLite's allocator, replaced below.
        unsafe { api::free(table.base.zErrMsg.cast()) };
    }
    table.base.zErrMsg = api::sqlite_string(&message);
    SQLITE_ERROR
}

unsafe extern "C" fn next(cursor: *mut sqlite3_vtab_cursor) -> c_int {
    // SAFETY: a cursor made by `open`.
    unsafe { (*cursor.cast::<Cursor>()).position += 1 };
    SQLITE_OK
}

unsafe extern "C" fn eof(cursor: *mut sqlite3_vtab_cursor) -> c_int {
    // SAFETY: a cursor made by `open`.
    let cursor = unsafe { &*cursor.cast::<Cursor>() };
    c_int::from(cursor.position >= cursor.found.len())
}

unsafe extern "C" fn column(
    cursor: *mut sqlite3_vtab_cursor,
    context: *mut sqlite3_context,
    index: c_int,
) -> c_int {
    // SAFETY: a cursor made by `open`, on a row (SQLite checks `eof` first).
    let cursor = unsafe { &*cursor.cast::<Cursor>() };
    let Some(found) = cursor.found.get(cursor.position) else { return SQLITE_ERROR };
    let output = match index {
        0 => Output::Text(found.id.clone()),
        1 => Output::Real(f64::from(found.score)),
        2 => found.content.clone().map_or(Output::Null, Output::Text),
        3 => found.metadata.clone().map_or(Output::Null, Output::Text),
        _ => usize::try_from(index - FIRST_ARGUMENT)
            .ok()
            .and_then(|argument| cursor.arguments.get(argument).cloned())
            .unwrap_or(Output::Null),
    };
    Context(context).set(output);
    SQLITE_OK
}

unsafe extern "C" fn rowid(cursor: *mut sqlite3_vtab_cursor, rowid: *mut i64) -> c_int {
    // SAFETY: a cursor made by `open`; SQLite passes where to write.
    unsafe { *rowid = i64::try_from((*cursor.cast::<Cursor>()).position).unwrap_or(i64::MAX) + 1 };
    SQLITE_OK
}

impl Table {
    /// The `k` items of `collection` nearest `target`, best first.
    fn search(&self, collection: &str, target: Target, k: usize) -> Result<Vec<Found>, String> {
        // SAFETY: the connection that made this table is open while it is queried.
        let mut statement = unsafe {
            Statement::prepare(
                self.db,
                "SELECT id, model, (SELECT count(*) FROM embeddings WHERE collection_id = \
                     collections.id) FROM collections WHERE name = ?1",
            )
        }
        .map_err(|reason| {
            format!("emb_search: this is not an emb or llm embeddings database ({reason})")
        })?;
        statement.bind_text(1, collection)?;
        let Some((collection_id, model, count)) = statement
            .step()?
            .map(|row| (row.integer(0), row.text(1).unwrap_or_default(), row.integer(2)))
        else {
            return Err(format!("emb_search: this database has no collection {collection:?}"));
        };
        drop(statement);
        let k = k.min(usize::try_from(count).unwrap_or(0));
        let vector = match target {
            Target::Vector(vector) => vector,
            Target::Text(text) => {
                let name = Models::name(Some(model.as_str()).filter(|model| !model.is_empty()));
                self.models.embed(&name, &text).map_err(|reason| format!("emb_search: {reason}"))?
            }
        };
        let found = match self.current_index(collection, collection_id)? {
            Some(index) => match index.search(&Query { k, ..Query::new(&vector) }) {
                Ok(hits) => Some(hits.into_iter().map(|hit| (hit.score, hit.id)).collect()),
                // A page of the index failed its checksum: scan, as without an index.
                Err(emb_index::Error::Damaged { .. }) => None,
                Err(error) => return Err(format!("emb_search: {error}")),
            },
            None => None,
        };
        let hits = match found {
            Some(hits) => hits,
            None => self.scan(collection_id, &vector, k)?,
        };
        self.rows(collection_id, hits)
    }

    /// Scores every vector of the collection.
    fn scan(
        &self,
        collection_id: i64,
        query: &[f32],
        k: usize,
    ) -> Result<Vec<(f32, String)>, String> {
        // SAFETY: as in `search`.
        let mut statement = unsafe {
            Statement::prepare(
                self.db,
                "SELECT id, embedding FROM embeddings WHERE collection_id = ?1",
            )
        }?;
        statement.bind_integer(1, collection_id)?;
        let mut best = TopK::new(k);
        let mut vector = Vec::new();
        while let Some(row) = statement.step()? {
            let bytes = row.blob(1);
            if bytes.len() != 4 * query.len() {
                return Err(format!(
                    "emb_search: the query has {} dimensions but item {:?} has {} bytes ({} \
                     float32 dimensions); search with the collection's model",
                    query.len(),
                    row.text(0).unwrap_or_default(),
                    bytes.len(),
                    bytes.len() / 4
                ));
            }
            vector.clear();
            vector.extend(
                bytes
                    .chunks_exact(4)
                    .map(|four| f32::from_le_bytes([four[0], four[1], four[2], four[3]])),
            );
            let score = emb_core::distance::cosine(query, &vector);
            if score > best.threshold() {
                best.push(score, row.text(0).unwrap_or_default());
            }
        }
        Ok(best.into_sorted())
    }

    /// The content and metadata of each hit.
    fn rows(&self, collection_id: i64, hits: Vec<(f32, String)>) -> Result<Vec<Found>, String> {
        // SAFETY: as in `search`.
        let mut statement = unsafe {
            Statement::prepare(
                self.db,
                "SELECT content, metadata FROM embeddings WHERE collection_id = ?1 AND id = ?2",
            )
        }?;
        statement.bind_integer(1, collection_id)?;
        let mut found = Vec::with_capacity(hits.len());
        for (score, id) in hits {
            statement.reset();
            statement.bind_text(2, &id)?;
            let (content, metadata) =
                statement.step()?.map_or((None, None), |row| (row.text(0), row.text(1)));
            found.push(Found { id, score, content, metadata });
        }
        Ok(found)
    }

    /// The collection's emb index, when it has one at the change counter the database is at now
    /// (else the search scans).
    fn current_index(
        &self,
        collection: &str,
        collection_id: i64,
    ) -> Result<Option<Arc<Hnsw>>, String> {
        let Some(current) = self.generation(collection_id)? else { return Ok(None) };
        // SAFETY: as in `search`.
        let Some(database) = (unsafe { api::main_file(self.db) }) else { return Ok(None) };
        let path =
            emb_index::cache_folder(&database).join(emb_index::cache_file("hnsw", collection));
        let mut indexes = self.indexes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(index) = indexes.get(&path).filter(|index| *index.generation() == current) {
            return Ok(Some(Arc::clone(index)));
        }
        // The file may have been rebuilt since it was opened: open it again.
        // A damaged index (or one of another format) is not used: the search scans.
        let opened = match Hnsw::open(&path) {
            Err(emb_index::Error::Damaged { .. }) => None,
            opened => opened.map_err(|error| format!("emb_search: {error}"))?,
        };
        match opened.filter(|index| *index.generation() == current) {
            Some(index) => {
                let index = Arc::new(index);
                indexes.insert(path, Arc::clone(&index));
                Ok(Some(index))
            }
            None => Ok(None),
        }
    }

    /// The database's identity and the collection's change counter, when the collection has an
    /// index registered and emb's change triggers are in place (an llm-only database has
    /// neither).
    fn generation(&self, collection_id: i64) -> Result<Option<Generation>, String> {
        // SAFETY: as in `search`.
        let mut statement = unsafe {
            Statement::prepare(
                self.db,
                "SELECT count(*) FROM sqlite_master WHERE (type = 'table' AND name IN \
                 ('emb_database', 'emb_generations', 'emb_indexes')) OR (type = 'trigger' AND \
                 name IN ('emb_embeddings_inserted', 'emb_embeddings_updated', \
                 'emb_embeddings_deleted'))",
            )
        }?;
        let present = statement.step()?.map_or(0, |row| row.integer(0));
        drop(statement);
        if present != 6 {
            return Ok(None);
        }
        // SAFETY: as in `search`.
        let mut statement = unsafe {
            Statement::prepare(
                self.db,
                "SELECT (SELECT identity FROM emb_database), \
                 (SELECT counter FROM emb_generations WHERE collection_id = ?1), \
                 EXISTS (SELECT 1 FROM emb_indexes WHERE collection_id = ?1)",
            )
        }?;
        statement.bind_integer(1, collection_id)?;
        let Some(row) = statement.step()? else { return Ok(None) };
        if row.integer(2) == 0 {
            return Ok(None);
        }
        let Some(database) = row.text(0) else { return Ok(None) };
        let counter = u64::try_from(row.integer(1)).unwrap_or(0);
        Ok(Some(Generation { database, counter }))
    }
}
