//! [`SqliteStore`]: collections in one SQLite file with llm's embeddings.db schema.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use emb_core::filter::{Filter, Literal, Operator};
use emb_core::store::{
    Change, CollectionHeader, CollectionInfo, Fingerprint, Generation, IndexRecord, Item, Record,
    Store,
};
use emb_core::{blob, Error, Result};
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::filter_sql::{condition, Dialect};
use crate::migrations::{self, CREATE_TRIGGERS, FTS_TRIGGERS, GENERATION_TRIGGERS};

/// How long a writer waits for another writer's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// A SQLite database of collections, in WAL mode, shared safely with other processes.
pub struct SqliteStore {
    connection: Connection,
    /// Where the database is, for messages (`:memory:` for an in-memory one).
    location: PathBuf,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| Error::Store {
                context: format!("cannot create the folder {}", parent.display()),
                source: source.into(),
            })?;
        }
        let connection =
            Connection::open(path).map_err(failed(path, "cannot open the database"))?;
        Self::prepare(connection, path.to_owned())
    }

    /// A fresh database in memory (for tests and one-off work).
    pub fn open_in_memory() -> Result<Self> {
        let connection = Connection::open_in_memory()
            .map_err(failed(Path::new(":memory:"), "cannot open the database"))?;
        Self::prepare(connection, PathBuf::from(":memory:"))
    }

    fn prepare(mut connection: Connection, location: PathBuf) -> Result<Self> {
        let fail = |what| failed(&location, what);
        connection.busy_timeout(BUSY_TIMEOUT).map_err(fail("cannot set the busy timeout"))?;
        // WAL: readers never block the writer; NORMAL sync: a crash of the process loses nothing
        // committed, a power cut at worst the last transactions, and never corrupts.
        connection
            .pragma_update(None, "journal_mode", "wal")
            .map_err(fail("cannot switch to WAL mode"))?;
        connection
            .pragma_update(None, "synchronous", "normal")
            .map_err(fail("cannot set synchronous mode"))?;
        migrations::migrate(&mut connection).map_err(fail("cannot update the schema"))?;
        let store = Self { connection, location };
        store.repair_triggers()?;
        Ok(store)
    }

    /// Where the database is.
    pub fn path(&self) -> &Path {
        &self.location
    }

    /// The underlying connection, for SQL of the caller's own (`emb embed-multi --sql`).
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    fn fail(&self, what: &str) -> impl FnOnce(rusqlite::Error) -> Error + '_ {
        let what = what.to_owned();
        move |source| Error::Store {
            context: format!("{}: {what}", self.location.display()),
            source: source.into(),
        }
    }

    /// Like [`Self::fail`], for a statement with a filter: SQLite's refusal of one too deep or
    /// too large is the filter's fault, not the store's.
    fn fail_filtered(&self, what: &str) -> impl FnOnce(rusqlite::Error) -> Error + '_ {
        let fail = self.fail(what);
        let what = what.to_owned();
        move |source| match &source {
            rusqlite::Error::SqliteFailure(_, Some(message)) if refuses_filter(message) => {
                Error::FilterTooComplex {
                    context: format!("{}: {what}", self.location.display()),
                    reason: message.clone(),
                }
            }
            _ => fail(source),
        }
    }

    fn triggers_present(&self) -> Result<bool> {
        self.all_triggers(GENERATION_TRIGGERS)
    }

    /// Whether all three triggers `names` exist.
    fn all_triggers(&self, names: [&str; 3]) -> Result<bool> {
        let count: i64 = self
            .connection
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN (?1, ?2, ?3)",
                names,
                |row| row.get(0),
            )
            .map_err(self.fail("cannot read the schema"))?;
        Ok(count as usize == names.len())
    }

    /// Recreates the change-counting triggers if a tool dropped them (rebuilding the embeddings
    /// table does), and gives the database a new identity so that every cache made before is
    /// known to be stale.
    fn repair_triggers(&self) -> Result<()> {
        if self.triggers_present()? {
            return Ok(());
        }
        self.connection
            .execute_batch(&format!(
                "BEGIN IMMEDIATE; {CREATE_TRIGGERS}
                 UPDATE emb_database SET identity = lower(hex(randomblob(16)));
                 COMMIT;"
            ))
            .map_err(self.fail("cannot restore the change-counting triggers"))
    }

    /// A transaction that holds the write lock from its start (so it never fails half way to
    /// upgrade), waiting up to the busy timeout for another writer.
    fn write_transaction(&mut self) -> Result<rusqlite::Transaction<'_>> {
        let location = self.location.clone();
        self.connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(failed(&location, "cannot start a transaction"))
    }

    fn collection_id(&self, name: &str) -> Result<Option<i64>> {
        self.connection
            .prepare_cached("SELECT id FROM collections WHERE name = ?1")
            .and_then(|mut statement| statement.query_row([name], |row| row.get(0)).optional())
            .map_err(self.fail("cannot look up the collection"))
    }

    fn require_collection(&self, name: &str) -> Result<i64> {
        self.collection_id(name)?.ok_or_else(|| Error::Store {
            context: format!("{}", self.location.display()),
            source: format!("there is no collection named {name:?}").into(),
        })
    }

    fn read_generation(
        connection: &Connection,
        collection_id: i64,
    ) -> rusqlite::Result<Generation> {
        let database: String =
            connection.query_row("SELECT identity FROM emb_database", [], |row| row.get(0))?;
        let counter: i64 = connection
            .query_row(
                "SELECT counter FROM emb_generations WHERE collection_id = ?1",
                [collection_id],
                |row| row.get(0),
            )
            .optional()?
            .unwrap_or(0);
        Ok(Generation { database, counter: counter as u64 })
    }
}

/// The metadata as a JSON document, or NULL when it is not valid JSON (so one bad row cannot make
/// the whole query fail).
const DOCUMENT: &str = "(CASE WHEN json_valid(metadata) THEN metadata END)";

/// The comparisons of SQLite: JSON functions over `embeddings.metadata`, values bound as `?N`
/// after the parameters already there.
struct Sqlite<'a> {
    parameters: &'a mut Vec<Value>,
}

impl Sqlite<'_> {
    fn bind(&mut self, value: Value) -> String {
        self.parameters.push(value);
        format!("?{}", self.parameters.len())
    }
}

impl Dialect for Sqlite<'_> {
    const FALSE: &'static str = "0";
    const TRUE: &'static str = "1";

    fn is_null(&mut self, field: &[String]) -> String {
        let path = self.bind(Value::Text(json_path(field)));
        format!("(json_extract({DOCUMENT}, {path}) IS NULL)")
    }

    fn compare(&mut self, field: &[String], operator: Operator, value: &Literal) -> String {
        let path = self.bind(Value::Text(json_path(field)));
        let extracted = format!("json_extract({DOCUMENT}, {path})");
        let kind = format!("json_type({DOCUMENT}, {path})");
        let op = operator.sql();
        match value {
            Literal::Null if operator == Operator::Equal => format!("({extracted} IS NULL)"),
            Literal::Null => format!("({extracted} IS NOT NULL)"),
            Literal::Text(text) => {
                let value = self.bind(Value::Text(text.clone()));
                format!("({kind} = 'text' AND {extracted} {op} {value})")
            }
            Literal::Bool(truth) => {
                let value = self.bind(Value::Integer(i64::from(*truth)));
                format!("({kind} IN ('true', 'false') AND {extracted} {op} {value})")
            }
            // Numbers compare as numbers, also when stored as text ("2020" from a CSV).
            Literal::Number(number) => {
                let value = self.bind(Value::Real(*number));
                format!(
                    "(({kind} IN ('integer', 'real') AND {extracted} {op} {value})
                      OR ({kind} = 'text' AND {extracted} GLOB '*[0-9]*'
                          AND {extracted} NOT GLOB '*[^0-9.eE+-]*'
                          AND CAST({extracted} AS REAL) {op} {value}))"
                )
            }
        }
    }
}

/// The JSON path of a metadata field: `$."a"."b"`.
/// An FTS5 query matching any of the words of `text` (each quoted, so no word is read as an
/// operator); `None` when `text` has no words.
fn match_expression(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| format!("\"{word}\""))
        .collect();
    (!words.is_empty()).then(|| words.join(" OR "))
}

fn json_path(field: &[String]) -> String {
    field.iter().fold(String::from("$"), |mut path, key| {
        path.push_str(".\"");
        path.push_str(&key.replace('\\', "\\\\").replace('"', "\\\""));
        path.push('"');
        path
    })
}

/// Turns a SQLite error into the store error for `what` at `path`.
/// Whether SQLite's `message` refuses a statement for its size: an expression too deep, too
/// many nested parentheses, too many parameters, or too long.
fn refuses_filter(message: &str) -> bool {
    [
        "Expression tree is too large",
        "Recursion limit", // the parser's stack overflowed (SQLite 3.54's wording)
        "parser stack overflow", // the same (older wording)
        "too many SQL variables",
        "statement too long",
    ]
    .iter()
    .any(|refusal| message.contains(refusal))
}

fn failed<'a>(path: &'a Path, what: &'a str) -> impl Fn(rusqlite::Error) -> Error + 'a {
    move |source| Error::Store {
        context: format!("{}: {what}", path.display()),
        source: source.into(),
    }
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs() as i64)
}

fn hash_from(bytes: Option<Vec<u8>>) -> Option<[u8; 16]> {
    bytes.and_then(|bytes| bytes.try_into().ok())
}

const SUMMARY: &str = "SELECT c.name, c.model, count(e.id),
        coalesce(sum(length(e.embedding) + coalesce(length(e.content), 0)
            + coalesce(length(e.content_blob), 0) + coalesce(length(e.metadata), 0)), 0),
        (SELECT length(embedding) FROM embeddings WHERE collection_id = c.id LIMIT 1)
    FROM collections c LEFT JOIN embeddings e ON e.collection_id = c.id";

fn summary(row: &rusqlite::Row<'_>) -> rusqlite::Result<CollectionInfo> {
    let blob_length: Option<i64> = row.get(4)?;
    Ok(CollectionInfo {
        name: row.get(0)?,
        model: row.get::<_, Option<String>>(1)?.unwrap_or_default(),
        count: row.get::<_, i64>(2)? as u64,
        bytes: row.get::<_, i64>(3)? as u64,
        dimensions: blob_length.map(|length| length as usize / 4),
    })
}

fn record(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Record, Vec<u8>)> {
    Ok((
        Record {
            id: row.get(0)?,
            vector: Vec::new(),
            content: row.get(2)?,
            content_blob: row.get(3)?,
            metadata: row.get(4)?,
            updated: row.get(5)?,
            content_hash: hash_from(row.get(6)?),
        },
        row.get::<_, Option<Vec<u8>>>(1)?.unwrap_or_default(),
    ))
}

fn decode(id: &str, (mut record, bytes): (Record, Vec<u8>)) -> Result<Record> {
    record.vector = blob::decode(&bytes)
        .map_err(|error| Error::Store { context: format!("item {id:?}"), source: error.into() })?;
    Ok(record)
}

impl Store for SqliteStore {
    fn collections(&self) -> Result<Vec<CollectionInfo>> {
        let mut statement = self
            .connection
            .prepare(&format!("{SUMMARY} GROUP BY c.id ORDER BY c.name"))
            .map_err(self.fail("cannot list collections"))?;
        let rows =
            statement.query_map([], summary).map_err(self.fail("cannot list collections"))?;
        rows.collect::<rusqlite::Result<_>>().map_err(self.fail("cannot list collections"))
    }

    fn collection(&self, name: &str) -> Result<Option<CollectionInfo>> {
        self.connection
            .query_row(&format!("{SUMMARY} WHERE c.name = ?1 GROUP BY c.id"), [name], summary)
            .optional()
            .map_err(self.fail("cannot read the collection"))
    }

    fn header(&self, name: &str) -> Result<Option<CollectionHeader>> {
        self.connection
            .prepare_cached(
                "SELECT c.model,
                    (SELECT length(embedding) FROM embeddings WHERE collection_id = c.id LIMIT 1)
                 FROM collections c WHERE c.name = ?1",
            )
            .and_then(|mut statement| {
                statement
                    .query_row([name], |row| {
                        Ok(CollectionHeader {
                            name: name.to_owned(),
                            model: row.get::<_, Option<String>>(0)?.unwrap_or_default(),
                            dimensions: row
                                .get::<_, Option<i64>>(1)?
                                .map(|length| length as usize / 4),
                        })
                    })
                    .optional()
            })
            .map_err(self.fail("cannot read the collection"))
    }

    fn create_collection(&mut self, name: &str, model: &str) -> Result<()> {
        emb_core::store::check_collection_name(name)?;
        self.connection
            .execute(
                "INSERT INTO collections (name, model) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
                [name, model],
            )
            .map_err(self.fail("cannot create the collection"))?;
        Ok(())
    }

    fn delete_collection(&mut self, name: &str) -> Result<bool> {
        let Some(id) = self.collection_id(name)? else { return Ok(false) };
        let location = self.location.clone();
        let transaction = self.write_transaction()?;
        transaction
            .execute("DELETE FROM embeddings WHERE collection_id = ?1", [id])
            .and_then(|_| transaction.execute("DELETE FROM collections WHERE id = ?1", [id]))
            .and_then(|_| transaction.commit())
            .map_err(failed(&location, "cannot delete the collection"))?;
        Ok(true)
    }

    fn fingerprints(&self, collection: &str, ids: &[&str]) -> Result<HashMap<String, Fingerprint>> {
        let Some(collection_id) = self.collection_id(collection)? else {
            return Ok(HashMap::new());
        };
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT content_hash, metadata FROM embeddings WHERE collection_id = ?1 AND id = ?2",
            )
            .map_err(self.fail("cannot read stored items"))?;
        let mut found = HashMap::new();
        for &id in ids {
            let row = statement
                .query_row(params![collection_id, id], |row| {
                    Ok(Fingerprint { content_hash: hash_from(row.get(0)?), metadata: row.get(1)? })
                })
                .optional()
                .map_err(self.fail("cannot read stored items"))?;
            if let Some(fingerprint) = row {
                found.insert(id.to_owned(), fingerprint);
            }
        }
        Ok(found)
    }

    fn apply(&mut self, collection: &str, changes: &[Change]) -> Result<()> {
        let collection_id = self.require_collection(collection)?;
        let location = self.location.clone();
        let fail = |what| failed(&location, what);
        let transaction = self.write_transaction()?;
        let updated = now();
        {
            let mut upsert = transaction
                .prepare_cached(
                    "INSERT INTO embeddings
                        (collection_id, id, embedding, content, content_blob, content_hash,
                         metadata, updated)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (collection_id, id) DO UPDATE SET
                        embedding = excluded.embedding, content = excluded.content,
                        content_blob = excluded.content_blob,
                        content_hash = excluded.content_hash, metadata = excluded.metadata,
                        updated = excluded.updated",
                )
                .map_err(fail("cannot prepare the write"))?;
            let mut set_metadata = transaction
                .prepare_cached(
                    "UPDATE embeddings SET metadata = ?3, updated = ?4
                     WHERE collection_id = ?1 AND id = ?2",
                )
                .map_err(fail("cannot prepare the write"))?;
            let mut delete = transaction
                .prepare_cached("DELETE FROM embeddings WHERE collection_id = ?1 AND id = ?2")
                .map_err(fail("cannot prepare the write"))?;
            for change in changes {
                match change {
                    Change::Upsert(Item {
                        id,
                        vector,
                        content,
                        content_blob,
                        content_hash,
                        metadata,
                    }) => upsert.execute(params![
                        collection_id,
                        id,
                        blob::encode(vector),
                        content,
                        content_blob,
                        content_hash.as_slice(),
                        metadata,
                        updated
                    ]),
                    Change::Metadata { id, metadata } => {
                        set_metadata.execute(params![collection_id, id, metadata, updated])
                    }
                    Change::Delete { id } => delete.execute(params![collection_id, id]),
                }
                .map_err(fail("cannot write an item"))?;
            }
        }
        transaction.commit().map_err(fail("cannot commit"))
    }

    fn get(&self, collection: &str, ids: &[&str]) -> Result<Vec<Record>> {
        let Some(collection_id) = self.collection_id(collection)? else { return Ok(Vec::new()) };
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT id, embedding, content, content_blob, metadata, updated, content_hash
                 FROM embeddings WHERE collection_id = ?1 AND id = ?2",
            )
            .map_err(self.fail("cannot read items"))?;
        let mut records = Vec::with_capacity(ids.len());
        for &id in ids {
            let row = statement
                .query_row(params![collection_id, id], record)
                .optional()
                .map_err(self.fail("cannot read items"))?;
            if let Some(row) = row {
                records.push(decode(id, row)?);
            }
        }
        Ok(records)
    }

    fn for_each(
        &self,
        collection: &str,
        prefix: &str,
        visit: &mut dyn FnMut(Record) -> Result<()>,
    ) -> Result<()> {
        let collection_id = self.require_collection(collection)?;
        let mut statement = self
            .connection
            .prepare(
                "SELECT id, embedding, content, content_blob, metadata, updated, content_hash
                 FROM embeddings
                 WHERE collection_id = ?1 AND substr(id, 1, length(?2)) = ?2
                 ORDER BY id",
            )
            .map_err(self.fail("cannot read items"))?;
        let mut rows = statement
            .query(params![collection_id, prefix])
            .map_err(self.fail("cannot read items"))?;
        while let Some(row) = rows.next().map_err(self.fail("cannot read items"))? {
            let row = record(row).map_err(self.fail("cannot read items"))?;
            let id = row.0.id.clone();
            visit(decode(&id, row)?)?;
        }
        Ok(())
    }

    fn scan_vectors(
        &self,
        collection: &str,
        visit: &mut dyn FnMut(&str, &[u8]) -> Result<()>,
    ) -> Result<Option<Generation>> {
        let collection_id = self.require_collection(collection)?;
        let transaction =
            self.connection.unchecked_transaction().map_err(self.fail("cannot start reading"))?;
        // Reading the counter inside the transaction ties it to the snapshot the scan sees.
        let generation = if self.triggers_present()? {
            Some(
                Self::read_generation(&transaction, collection_id)
                    .map_err(self.fail("cannot read the change counter"))?,
            )
        } else {
            None
        };
        let mut statement = transaction
            .prepare("SELECT id, embedding FROM embeddings WHERE collection_id = ?1 ORDER BY id")
            .map_err(self.fail("cannot read vectors"))?;
        let mut rows =
            statement.query([collection_id]).map_err(self.fail("cannot read vectors"))?;
        while let Some(row) = rows.next().map_err(self.fail("cannot read vectors"))? {
            let id = row
                .get_ref(0)
                .and_then(|value| Ok(value.as_str()?))
                .map_err(self.fail("cannot read vectors"))?;
            let bytes = row
                .get_ref(1)
                .map_err(self.fail("cannot read vectors"))?
                .as_blob_or_null()
                .map_err(|error| Error::Store {
                    context: format!("item {id:?}"),
                    source: error.into(),
                })?
                .unwrap_or_default();
            visit(id, bytes)?;
        }
        Ok(generation)
    }

    fn filter_ids(&self, collection: &str, filter: &Filter) -> Result<Vec<String>> {
        let collection_id = self.require_collection(collection)?;
        let mut parameters: Vec<Value> = vec![Value::Integer(collection_id)];
        let condition = condition(filter, &mut Sqlite { parameters: &mut parameters });
        let mut statement = self
            .connection
            .prepare(&format!(
                "SELECT id FROM embeddings WHERE collection_id = ?1 AND coalesce(({condition}), 0) ORDER BY id"
            ))
            .map_err(self.fail_filtered("cannot filter"))?;
        let rows = statement
            .query_map(rusqlite::params_from_iter(parameters), |row| row.get(0))
            .map_err(self.fail_filtered("cannot filter"))?;
        rows.collect::<rusqlite::Result<_>>().map_err(self.fail_filtered("cannot filter"))
    }

    fn metadata_keys(&self, collection: &str) -> Result<Vec<String>> {
        let collection_id = self.require_collection(collection)?;
        let mut statement = self
            .connection
            .prepare(
                "SELECT DISTINCT key FROM embeddings, json_each(embeddings.metadata)
                 WHERE collection_id = ?1
                   AND CASE WHEN json_valid(embeddings.metadata)
                       THEN json_type(embeddings.metadata) END = 'object'
                 ORDER BY key",
            )
            .map_err(self.fail("cannot list the metadata's fields"))?;
        let rows = statement
            .query_map([collection_id], |row| row.get(0))
            .map_err(self.fail("cannot list the metadata's fields"))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(self.fail("cannot list the metadata's fields"))
    }

    fn store_related(
        &mut self,
        collection: &str,
        related: &[(String, Vec<(String, f32)>)],
    ) -> Result<()> {
        let collection_id = self.require_collection(collection)?;
        let location = self.location.clone();
        let fail = |what| failed(&location, what);
        let transaction = self.write_transaction()?;
        transaction
            .execute("DELETE FROM emb_related WHERE collection_id = ?1", [collection_id])
            .map_err(fail("cannot clear the related items"))?;
        {
            let mut insert = transaction
                .prepare(
                    "INSERT INTO emb_related (collection_id, id, rank, related_id, score)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(fail("cannot prepare the write"))?;
            for (id, neighbours) in related {
                for (rank, (other, score)) in neighbours.iter().enumerate() {
                    insert
                        .execute(params![
                            collection_id,
                            id,
                            rank as i64 + 1,
                            other,
                            f64::from(*score)
                        ])
                        .map_err(fail("cannot write the related items"))?;
                }
            }
        }
        transaction.commit().map_err(fail("cannot commit"))
    }

    fn generation(&self, collection: &str) -> Result<Option<Generation>> {
        let collection_id = self.require_collection(collection)?;
        if !self.triggers_present()? {
            return Ok(None);
        }
        Self::read_generation(&self.connection, collection_id)
            .map(Some)
            .map_err(self.fail("cannot read the change counter"))
    }

    fn index(&self, collection: &str) -> Result<Option<IndexRecord>> {
        let Some(collection_id) = self.collection_id(collection)? else { return Ok(None) };
        self.connection
            .query_row(
                "SELECT settings, trimmed FROM emb_indexes WHERE collection_id = ?1",
                [collection_id],
                |row| {
                    Ok(IndexRecord { settings: row.get(0)?, trimmed: row.get::<_, i64>(1)? as u64 })
                },
            )
            .optional()
            .map_err(self.fail("cannot read the index settings"))
    }

    fn register_index(&mut self, collection: &str, settings: &str) -> Result<()> {
        let collection_id = self.require_collection(collection)?;
        let location = self.location.clone();
        let transaction = self.write_transaction()?;
        transaction
            .execute(
                "INSERT INTO emb_indexes (collection_id, settings) VALUES (?1, ?2)
                 ON CONFLICT (collection_id) DO UPDATE SET settings = excluded.settings",
                params![collection_id, settings],
            )
            .and_then(|_| transaction.commit())
            .map_err(failed(&location, "cannot register the index"))
    }

    fn drop_index(&mut self, collection: &str) -> Result<bool> {
        let Some(collection_id) = self.collection_id(collection)? else { return Ok(false) };
        let location = self.location.clone();
        let transaction = self.write_transaction()?;
        let dropped = transaction
            .execute("DELETE FROM emb_indexes WHERE collection_id = ?1", [collection_id])
            .and_then(|dropped| {
                transaction
                    .execute("DELETE FROM emb_changes WHERE collection_id = ?1", [collection_id])?;
                transaction.commit()?;
                Ok(dropped)
            })
            .map_err(failed(&location, "cannot drop the index"))?;
        Ok(dropped > 0)
    }

    fn changes_since(&self, collection: &str, counter: u64) -> Result<Option<Vec<String>>> {
        let collection_id = self.require_collection(collection)?;
        if !self.triggers_present()? {
            return Ok(None);
        }
        let fail = || self.fail("cannot read the change log");
        // One read transaction, so the registration and the log agree.
        let transaction = self.connection.unchecked_transaction().map_err(fail())?;
        let trimmed: Option<i64> = transaction
            .query_row(
                "SELECT trimmed FROM emb_indexes WHERE collection_id = ?1",
                [collection_id],
                |row| row.get(0),
            )
            .optional()
            .map_err(fail())?;
        match trimmed {
            Some(trimmed) if trimmed as u64 <= counter => {}
            _ => return Ok(None),
        }
        let mut statement = transaction
            .prepare_cached(
                "SELECT id FROM emb_changes WHERE collection_id = ?1 AND counter > ?2 ORDER BY id",
            )
            .map_err(fail())?;
        let ids = statement
            .query_map(params![collection_id, counter as i64], |row| row.get(0))
            .and_then(Iterator::collect)
            .map_err(fail())?;
        Ok(Some(ids))
    }

    fn keyword_search(
        &self,
        collection: &str,
        text: &str,
        limit: usize,
    ) -> Result<Option<Vec<String>>> {
        let collection_id = self.require_collection(collection)?;
        if !self.all_triggers(FTS_TRIGGERS)? {
            return Ok(None);
        }
        let Some(expression) = match_expression(text) else { return Ok(Some(Vec::new())) };
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT emb_fts_keys.id FROM emb_fts JOIN emb_fts_keys
                   ON emb_fts_keys.rowid = emb_fts.rowid
                 WHERE emb_fts MATCH ?1 AND emb_fts_keys.collection_id = ?2
                 ORDER BY bm25(emb_fts) LIMIT ?3",
            )
            .map_err(self.fail("cannot search the full-text index"))?;
        let ids = statement
            .query_map(params![expression, collection_id, limit as i64], |row| row.get(0))
            .and_then(Iterator::collect)
            .map_err(self.fail("cannot search the full-text index"))?;
        Ok(Some(ids))
    }

    fn trim_changes(&mut self, collection: &str, through: u64) -> Result<()> {
        let collection_id = self.require_collection(collection)?;
        let location = self.location.clone();
        let transaction = self.write_transaction()?;
        transaction
            .execute(
                "DELETE FROM emb_changes WHERE collection_id = ?1 AND counter <= ?2",
                params![collection_id, through as i64],
            )
            .and_then(|_| {
                transaction.execute(
                    "UPDATE emb_indexes SET trimmed = max(trimmed, ?2) WHERE collection_id = ?1",
                    params![collection_id, through as i64],
                )
            })
            .and_then(|_| transaction.commit())
            .map_err(failed(&location, "cannot trim the change log"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_triggers_are_restored_under_a_new_identity() {
        let store = SqliteStore::open_in_memory().unwrap();
        store
            .connection
            .execute_batch("INSERT INTO collections (name, model) VALUES ('c', 'm')")
            .unwrap();
        let before = store.generation("c").unwrap().unwrap();
        store.connection.execute_batch("DROP TRIGGER emb_embeddings_updated").unwrap();
        assert_eq!(store.generation("c").unwrap(), None);
        store.repair_triggers().unwrap();
        let after = store.generation("c").unwrap().unwrap();
        assert_ne!(before.database, after.database);
    }

    /// The filter limits leave SQLite room: a filter at twice both (128 `not`s before a chain
    /// of 512 conditions, 778 expression levels deep) still runs, and one far past SQLite's own
    /// limits is refused as the filter's fault.
    #[test]
    fn filters_at_twice_the_limits_run_and_far_past_them_are_refused() {
        use emb_core::filter::{Literal, Operator, MAX_CONDITIONS, MAX_NESTING};
        let mut store = SqliteStore::open_in_memory().unwrap();
        store.create_collection("c", "m").unwrap();
        let comparison = Filter::Compare {
            field: vec!["n".into()],
            operator: Operator::Greater,
            value: Literal::Number(1.0),
        };
        let negated = |count: usize| {
            (0..count).fold(comparison.clone(), |inner, _| Filter::Not(Box::new(inner)))
        };
        let chain = |first: Filter, count: usize| {
            Filter::And([first].into_iter().chain(vec![comparison.clone(); count - 1]).collect())
        };
        let twice = chain(negated(2 * MAX_NESTING), 2 * MAX_CONDITIONS);
        assert_eq!(store.filter_ids("c", &twice).unwrap(), Vec::<String>::new());
        for far in [chain(negated(0), 1000), negated(600)] {
            let error = store.filter_ids("c", &far).unwrap_err();
            assert!(matches!(error, Error::FilterTooComplex { .. }), "{error}");
        }
    }
}
