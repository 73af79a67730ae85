//! [`PostgresStore`]: collections in PostgreSQL with pgvector, for users who outgrow one file.
//!
//! Each collection's items live in a table of their own, `emb_items_N`, with a `vector(D)`
//! column, so that pgvector can index it and every collection keeps its own dimensions. Writes
//! go through `COPY` into a staging table and one `INSERT ... ON CONFLICT` per batch, in one
//! transaction. Searches run in SQL (`ORDER BY embedding <=> $1`), with pgvector's HNSW index
//! when the collection has one and the metadata filter in the `WHERE` clause.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use emb_core::filter::{Filter, Literal, Operator};
use emb_core::store::{
    Change, CollectionHeader, CollectionInfo, Fingerprint, Generation, IndexRecord, Item,
    NativeIndex, Record, Store, VectorQuery,
};
use emb_core::{blob, Error, Result};
use pgvector::Vector as PgVector;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use postgres::{Client, NoTls};

use crate::filter_sql::{condition, Dialect};
use crate::pg_migrations;

/// How long a failed operation is retried (reconnecting) before the error is reported.
const RETRY_FOR: Duration = Duration::from_secs(8);
/// The first pause before a retry; each next one doubles, up to 2 s.
const FIRST_PAUSE: Duration = Duration::from_millis(100);
/// Rows read per round trip when streaming a collection out.
const STREAM_ROWS: i64 = 2000;
/// The most candidates pgvector's HNSW search keeps (`hnsw.ef_search` tops out here).
const MAX_EF_SEARCH: usize = 1000;
/// Candidates kept when a search names none (pgvector's default).
const DEFAULT_EF_SEARCH: usize = 40;

/// A PostgreSQL database (with the pgvector extension) holding collections.
pub struct PostgresStore {
    /// Where and how to connect (parsed once, with emb's defaults filled in).
    config: postgres::Config,
    /// The URL without its password, for messages.
    shown: String,
    connection: RefCell<Connection>,
}

/// A live connection and what it has set up.
struct Connection {
    client: Client,
    /// The oid-carrying type of pgvector's `vector`, for binary COPY.
    vector_type: Type,
    /// Whether the session's staging table exists.
    staged: bool,
}

/// A collection's row in `emb_collections`.
#[derive(Debug, Clone)]
struct Collection {
    id: i32,
    model: String,
    dimensions: Option<usize>,
    index_settings: Option<String>,
}

impl Collection {
    fn table(&self) -> String {
        format!("emb_items_{}", self.id)
    }
}

impl PostgresStore {
    /// Whether `location` names a PostgreSQL database (`postgres://` or `postgresql://`).
    pub fn is_url(location: &str) -> bool {
        location.starts_with("postgres://") || location.starts_with("postgresql://")
    }

    /// Connects to the database at `url` (`postgres://user:password@host:port/database`) and
    /// brings its schema up to date; a server that does not answer is retried for a few seconds.
    pub fn connect(url: &str) -> Result<Self> {
        let shown = redact(url);
        let mut config: postgres::Config = url.parse().map_err(|error: postgres::Error| Error::Store {
            context: shown.clone(),
            source: format!("not a PostgreSQL URL ({error}); the form is postgres://user:password@host:port/database").into(),
        })?;
        if config.get_ssl_mode() == postgres::config::SslMode::Require {
            return Err(Error::Store {
                context: shown,
                source: "emb does not speak TLS to PostgreSQL yet (sslmode=require); connect through a local tunnel or proxy, or use sslmode=prefer on a trusted network".into(),
            });
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("emb");
        }
        let connection = retrying(&shown, "cannot connect", || Connection::open(&config))?;
        let store = Self { config, shown, connection: RefCell::new(connection) };
        store.run("cannot update the schema", |connection| {
            pg_migrations::migrate(&mut connection.client)
        })?;
        Ok(store)
    }

    /// Another connection to the same database.
    pub fn reconnect(&self) -> Result<Self> {
        let connection =
            retrying(&self.shown, "cannot connect", || Connection::open(&self.config))?;
        Ok(Self {
            config: self.config.clone(),
            shown: self.shown.clone(),
            connection: RefCell::new(connection),
        })
    }

    /// The URL of the database, without its password.
    pub fn location(&self) -> &str {
        &self.shown
    }

    /// Runs `work` on the connection, reconnecting and retrying while the failure is one that
    /// passes (a lost connection, a server starting or shutting down, a serialisation failure
    /// or deadlock), for up to [`RETRY_FOR`]; other failures are reported at once, with their
    /// SQL state.
    fn run<T>(
        &self,
        what: &str,
        mut work: impl FnMut(&mut Connection) -> std::result::Result<T, postgres::Error>,
    ) -> Result<T> {
        retrying(&self.shown, what, || {
            let mut connection = self.connection.borrow_mut();
            if connection.client.is_closed() {
                *connection = Connection::open(&self.config)?;
            }
            work(&mut connection)
        })
    }

    /// The database's identity and `collection`'s change counter.
    fn generation_of(&self, collection: &Collection) -> Result<Option<Generation>> {
        self.run("cannot read the change counter", |connection| {
            let row = connection.client.query_one(
                "SELECT (SELECT identity FROM emb_database), counter FROM emb_collections
                 WHERE id = $1",
                &[&collection.id],
            )?;
            Ok(Some(Generation { database: row.get(0), counter: row.get::<_, i64>(1) as u64 }))
        })
    }

    fn find(&self, name: &str) -> Result<Option<Collection>> {
        self.run("cannot look up the collection", |connection| find(&mut connection.client, name))
    }

    fn require(&self, name: &str) -> Result<Collection> {
        self.find(name)?.ok_or_else(|| Error::Store {
            context: self.shown.clone(),
            source: format!("there is no collection named {name:?}").into(),
        })
    }

    /// Calls `visit` with the rows of `sql` (which takes `parameters` and then a row limit and
    /// an offset id as its last two parameters, and returns the id first), `STREAM_ROWS` at a
    /// time, in id order; the connection is free while `visit` runs.
    fn stream(
        &self,
        what: &str,
        sql: &str,
        parameters: &[&(dyn ToSql + Sync)],
        visit: &mut dyn FnMut(&postgres::Row) -> Result<()>,
    ) -> Result<()> {
        let mut after: Option<String> = None;
        loop {
            let rows = self.run(what, |connection| {
                let mut all: Vec<&(dyn ToSql + Sync)> = parameters.to_vec();
                all.push(&after);
                all.push(&STREAM_ROWS);
                connection.client.query(sql, &all)
            })?;
            for row in &rows {
                visit(row)?;
            }
            if rows.len() < STREAM_ROWS as usize {
                return Ok(());
            }
            after = rows.last().map(|row| row.get(0));
        }
    }
}

impl Connection {
    fn open(config: &postgres::Config) -> std::result::Result<Self, postgres::Error> {
        let mut client = config.connect(NoTls)?;
        // The extension must exist before its type can be looked up; the migrations create it.
        pg_migrations::ensure_extension(&mut client)?;
        let vector_type = client.prepare("SELECT $1::vector")?.params()[0].clone();
        Ok(Self { client, vector_type, staged: false })
    }
}

fn find(
    client: &mut Client,
    name: &str,
) -> std::result::Result<Option<Collection>, postgres::Error> {
    Ok(client
        .query_opt(
            "SELECT id, model, dimensions, index_settings FROM emb_collections WHERE name = $1",
            &[&name],
        )?
        .map(|row| Collection {
            id: row.get(0),
            model: row.get::<_, Option<String>>(1).unwrap_or_default(),
            dimensions: row.get::<_, Option<i32>>(2).map(|d| d as usize),
            index_settings: row.get(3),
        }))
}

/// Whether retrying may succeed: the connection was lost or refused, the server is starting or
/// stopping, or the transaction lost a race (serialisation failure, deadlock).
fn passing(error: &postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    match error.code() {
        Some(code) => {
            let text = code.code();
            text.starts_with("08")
                || text.starts_with("57P")
                || *code == SqlState::T_R_SERIALIZATION_FAILURE
                || *code == SqlState::T_R_DEADLOCK_DETECTED
                || *code == SqlState::TOO_MANY_CONNECTIONS
                || *code == SqlState::CANNOT_CONNECT_NOW
        }
        // No SQL state: passing when the server could not be reached (refused, reset, timed
        // out), not when the URL or the setup is wrong.
        None => std::error::Error::source(error)
            .is_some_and(|cause| cause.downcast_ref::<std::io::Error>().is_some()),
    }
}

/// The error's message, with its SQL state when the server sent one.
fn describe(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => {
            let mut text = format!("{} (SQL state {})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                text.push_str(": ");
                text.push_str(detail);
            }
            if let Some(hint) = db.hint() {
                text.push_str("; hint: ");
                text.push_str(hint);
            }
            text
        }
        None if error.is_closed() => "the connection to the server was lost".to_owned(),
        None => {
            let mut text = error.to_string();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            text
        }
    }
}

fn store_error(shown: &str, what: &str, error: &postgres::Error) -> Error {
    let mut message = describe(error);
    // Only a statement with a metadata filter can be deep enough for this: the filter's fault.
    if error.code() == Some(&SqlState::STATEMENT_TOO_COMPLEX) {
        return Error::FilterTooComplex { context: format!("{shown}: {what}"), reason: message };
    }
    if passing(error) {
        let _ = write!(message, " (retried for {} s)", RETRY_FOR.as_secs());
        message.push_str(if what.starts_with("cannot write") {
            "; the unfinished batch was not kept (batches are transactions): run the command again once the server answers, and what is stored is skipped"
        } else if what.starts_with("cannot connect") {
            "; is the server running, and are the host and port right?"
        } else {
            "; run the command again once the server answers"
        });
    }
    Error::Store { context: format!("{shown}: {what}"), source: message.into() }
}

fn retrying<T>(
    shown: &str,
    what: &str,
    mut work: impl FnMut() -> std::result::Result<T, postgres::Error>,
) -> Result<T> {
    let started = Instant::now();
    let mut pause = FIRST_PAUSE;
    loop {
        match work() {
            Ok(value) => return Ok(value),
            Err(error) if passing(&error) && started.elapsed() < RETRY_FOR => {
                if pause == FIRST_PAUSE {
                    tracing::warn!(
                        "{shown}: {what}: {}; retrying for up to {} s",
                        describe(&error),
                        RETRY_FOR.as_secs()
                    );
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(2));
            }
            Err(error) => return Err(store_error(shown, what, &error)),
        }
    }
}

/// `url` with its password (if any) replaced by `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority, tail) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, ""),
    };
    let Some((credentials, host)) = authority.rsplit_once('@') else { return url.to_owned() };
    let user = credentials.split_once(':').map_or(credentials, |(user, _)| user);
    let tail = tail.split_once('?').map_or_else(|| tail.to_owned(), |(path, _)| path.to_owned());
    format!("{scheme}://{user}@{host}{tail}")
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs() as i64)
}

/// The metadata as a JSON document, when it is one (filters read it; the text is kept as given).
/// jsonb refuses the NUL character, so in the document a NUL becomes U+FFFD rather than failing
/// the item's whole batch.
fn document(metadata: Option<&str>) -> Option<serde_json::Value> {
    let text = metadata?;
    if text.contains("\\u0000") {
        serde_json::from_str(&text.replace("\\u0000", "\\ufffd")).ok()
    } else {
        serde_json::from_str(text).ok()
    }
}

/// Creates `collection`'s items table for vectors of `dimensions` if it has none, and records
/// the dimensions. Runs inside the caller's transaction, with the collection's row locked.
fn ensure_table(
    transaction: &mut postgres::Transaction<'_>,
    collection: &mut Collection,
    dimensions: usize,
) -> std::result::Result<(), postgres::Error> {
    let row = transaction.query_one(
        "SELECT dimensions FROM emb_collections WHERE id = $1 FOR UPDATE",
        &[&collection.id],
    )?;
    if let Some(existing) = row.get::<_, Option<i32>>(0) {
        collection.dimensions = Some(existing as usize);
        return Ok(());
    }
    let table = collection.table();
    let id = collection.id;
    transaction.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {table} (
            id text COLLATE \"C\" PRIMARY KEY,
            embedding vector({dimensions}) NOT NULL,
            content text,
            content_blob bytea,
            content_hash bytea,
            metadata text,
            document jsonb,
            updated bigint,
            fts tsvector GENERATED ALWAYS AS (to_tsvector('english', coalesce(content, ''))) STORED
        );
        CREATE INDEX IF NOT EXISTS {table}_fts ON {table} USING gin (fts);
        CREATE OR REPLACE TRIGGER {table}_counted
            AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION emb_count_change({id});"
    ))?;
    transaction.execute(
        "UPDATE emb_collections SET dimensions = $2 WHERE id = $1",
        &[&id, &(dimensions as i32)],
    )?;
    collection.dimensions = Some(dimensions);
    Ok(())
}

/// The columns the staging table and an items table share, in COPY order.
const COLUMNS: &str =
    "id, embedding, content, content_blob, content_hash, metadata, document, updated";

/// Writes `items` (unique ids) into `table` through the session's staging table.
fn upsert(
    transaction: &mut postgres::Transaction<'_>,
    (vector_type, staged): (&Type, bool),
    table: &str,
    items: &[&Item],
    updated: i64,
) -> std::result::Result<(), postgres::Error> {
    if !staged {
        transaction.batch_execute(
            "CREATE TEMP TABLE IF NOT EXISTS emb_stage (
                id text, embedding vector, content text, content_blob bytea, content_hash bytea,
                metadata text, document jsonb, updated bigint
            ) ON COMMIT DELETE ROWS",
        )?;
    }
    let types = [
        Type::TEXT,
        vector_type.clone(),
        Type::TEXT,
        Type::BYTEA,
        Type::BYTEA,
        Type::TEXT,
        Type::JSONB,
        Type::INT8,
    ];
    let sink =
        transaction.copy_in(&format!("COPY emb_stage ({COLUMNS}) FROM STDIN (FORMAT binary)"))?;
    let mut writer = BinaryCopyInWriter::new(sink, &types);
    for item in items {
        let vector = PgVector::from(item.vector.clone());
        let hash = item.content_hash.as_slice();
        let document = document(item.metadata.as_deref());
        writer.write(&[
            &item.id,
            &vector,
            &item.content,
            &item.content_blob,
            &hash,
            &item.metadata,
            &document,
            &updated,
        ])?;
    }
    writer.finish()?;
    transaction.batch_execute(&format!(
        "INSERT INTO {table} ({COLUMNS}) SELECT {COLUMNS} FROM emb_stage
         ON CONFLICT (id) DO UPDATE SET
            embedding = excluded.embedding, content = excluded.content,
            content_blob = excluded.content_blob, content_hash = excluded.content_hash,
            metadata = excluded.metadata, document = excluded.document,
            updated = excluded.updated;
         TRUNCATE emb_stage"
    ))?;
    Ok(())
}

fn hash_from(bytes: Option<Vec<u8>>) -> Option<[u8; 16]> {
    bytes.and_then(|bytes| bytes.try_into().ok())
}

/// The comparisons of PostgreSQL, over the `document` (jsonb) column, values bound as `$N` after
/// the parameters already there. Semantics follow the SQLite store's: a field that is missing or
/// JSON null `is null`; text compares bytewise; numbers compare as numbers, also when they are
/// stored as text; a row whose metadata is not JSON matches no comparison.
struct Postgres<'a> {
    parameters: &'a mut Vec<Box<dyn ToSql + Sync>>,
}

impl Postgres<'_> {
    fn bind(&mut self, value: Box<dyn ToSql + Sync>) -> String {
        self.parameters.push(value);
        format!("${}", self.parameters.len())
    }
}

impl Dialect for Postgres<'_> {
    const FALSE: &'static str = "false";
    const TRUE: &'static str = "true";

    fn is_null(&mut self, field: &[String]) -> String {
        let path = self.bind(Box::new(field.to_vec()));
        format!("(coalesce(jsonb_typeof(document #> {path}::text[]), 'null') = 'null')")
    }

    fn compare(&mut self, field: &[String], operator: Operator, value: &Literal) -> String {
        let path = self.bind(Box::new(field.to_vec()));
        let kind = format!("jsonb_typeof(document #> {path}::text[])");
        let text = format!("(document #>> {path}::text[])");
        let op = operator.sql();
        match value {
            Literal::Null if operator == Operator::Equal => {
                format!("(coalesce({kind}, 'null') = 'null')")
            }
            Literal::Null => format!("(coalesce({kind}, 'null') <> 'null')"),
            Literal::Text(value) => {
                let value = self.bind(Box::new(value.clone()));
                format!(
                    "({kind} = 'string' AND {text} COLLATE \"C\" {op} {value}::text COLLATE \"C\")"
                )
            }
            Literal::Bool(truth) => {
                let value = self.bind(Box::new(*truth));
                format!(
                    "({kind} = 'boolean' AND (CASE WHEN {kind} = 'boolean' THEN {text}::boolean END) {op} {value}::boolean)"
                )
            }
            // The CASE keeps text that is not a number from ever being cast.
            Literal::Number(number) => {
                let value = self.bind(Box::new(*number));
                format!(
                    "((CASE WHEN {kind} = 'number'
                              OR ({kind} = 'string'
                                  AND {text} ~ '^\\s*[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?\\s*$')
                            THEN {text}::float8 END) {op} {value}::float8)"
                )
            }
        }
    }
}

fn filter_sql(filter: &Filter, parameters: &mut Vec<Box<dyn ToSql + Sync>>) -> String {
    condition(filter, &mut Postgres { parameters })
}

/// A full-text query matching any of the words of `text` (letters and digits only, so no word
/// is read as an operator); `None` when `text` has no words.
fn any_of_words(text: &str) -> Option<String> {
    let words: Vec<&str> =
        text.split(|c: char| !c.is_alphanumeric()).filter(|word| !word.is_empty()).collect();
    (!words.is_empty()).then(|| words.join(" | "))
}

fn parameters_of(values: &[Box<dyn ToSql + Sync>]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|value| &**value as &(dyn ToSql + Sync)).collect()
}

fn record_of(row: &postgres::Row) -> Record {
    let vector: PgVector = row.get(1);
    Record {
        id: row.get(0),
        vector: vector.to_vec(),
        content: row.get(2),
        content_blob: row.get(3),
        metadata: row.get(4),
        updated: row.get(5),
        content_hash: hash_from(row.get(6)),
    }
}

const RECORD_COLUMNS: &str =
    "id, embedding, content, content_blob, metadata, updated, content_hash";

impl Store for PostgresStore {
    fn collections(&self) -> Result<Vec<CollectionInfo>> {
        let names: Vec<String> = self.run("cannot list collections", |connection| {
            Ok(connection
                .client
                .query("SELECT name FROM emb_collections ORDER BY name COLLATE \"C\"", &[])?
                .iter()
                .map(|row| row.get(0))
                .collect())
        })?;
        let mut all = Vec::with_capacity(names.len());
        for name in names {
            if let Some(info) = self.collection(&name)? {
                all.push(info);
            }
        }
        Ok(all)
    }

    fn collection(&self, name: &str) -> Result<Option<CollectionInfo>> {
        let Some(collection) = self.find(name)? else { return Ok(None) };
        let (count, bytes) = if collection.dimensions.is_some() {
            let table = collection.table();
            self.run("cannot count the collection", |connection| {
                let row = connection.client.query_one(
                    &format!(
                        "SELECT count(*), pg_total_relation_size('{table}'::regclass) FROM {table}"
                    ),
                    &[],
                )?;
                Ok((row.get::<_, i64>(0) as u64, row.get::<_, i64>(1) as u64))
            })?
        } else {
            (0, 0)
        };
        Ok(Some(CollectionInfo {
            name: name.to_owned(),
            model: collection.model,
            count,
            dimensions: collection.dimensions.filter(|_| count > 0),
            bytes,
        }))
    }

    fn header(&self, name: &str) -> Result<Option<CollectionHeader>> {
        Ok(self.find(name)?.map(|collection| CollectionHeader {
            name: name.to_owned(),
            model: collection.model,
            dimensions: collection.dimensions,
        }))
    }

    fn create_collection(&mut self, name: &str, model: &str) -> Result<()> {
        emb_core::store::check_collection_name(name)?;
        self.run("cannot create the collection", |connection| {
            connection.client.execute(
                "INSERT INTO emb_collections (name, model) VALUES ($1, $2)
                 ON CONFLICT (name) DO NOTHING",
                &[&name, &model],
            )
        })?;
        Ok(())
    }

    fn delete_collection(&mut self, name: &str) -> Result<bool> {
        let Some(collection) = self.find(name)? else { return Ok(false) };
        let table = collection.table();
        self.run("cannot delete the collection", |connection| {
            let mut transaction = connection.client.transaction()?;
            transaction.batch_execute(&format!("DROP TABLE IF EXISTS {table}"))?;
            transaction.execute("DELETE FROM emb_collections WHERE id = $1", &[&collection.id])?;
            transaction.commit()
        })?;
        Ok(true)
    }

    fn fingerprints(&self, collection: &str, ids: &[&str]) -> Result<HashMap<String, Fingerprint>> {
        let Some(found) = self.find(collection)? else { return Ok(HashMap::new()) };
        if found.dimensions.is_none() || ids.is_empty() {
            return Ok(HashMap::new());
        }
        let table = found.table();
        self.run("cannot read stored items", |connection| {
            let rows = connection.client.query(
                &format!("SELECT id, content_hash, metadata FROM {table} WHERE id = ANY($1)"),
                &[&ids],
            )?;
            Ok(rows
                .iter()
                .map(|row| {
                    let fingerprint =
                        Fingerprint { content_hash: hash_from(row.get(1)), metadata: row.get(2) };
                    (row.get(0), fingerprint)
                })
                .collect())
        })
    }

    fn apply(&mut self, collection: &str, changes: &[Change]) -> Result<()> {
        let mut found = self.require(collection)?;
        let first_vector = changes.iter().find_map(|change| match change {
            Change::Upsert(item) => Some(item.vector.len()),
            _ => None,
        });
        if found.dimensions.is_none() && first_vector.is_none() {
            // Nothing stored yet, so there is nothing to change or delete.
            return Ok(());
        }
        self.run("cannot write items", |connection| {
            let updated = now();
            let staged = connection.staged;
            let mut upserted = false;
            let mut transaction = connection.client.transaction()?;
            if let (None, Some(dimensions)) = (found.dimensions, first_vector) {
                ensure_table(&mut transaction, &mut found, dimensions)?;
            }
            let table = found.table();
            let mut at = 0;
            while at < changes.len() {
                match &changes[at] {
                    Change::Upsert(_) => {
                        // A run of upserts goes in one COPY; the last of each id wins.
                        let mut run: Vec<&Item> = Vec::new();
                        let mut position: HashMap<&str, usize> = HashMap::new();
                        while let Some(Change::Upsert(item)) = changes.get(at) {
                            if let Some(&index) = position.get(item.id.as_str()) {
                                run[index] = item;
                            } else {
                                position.insert(&item.id, run.len());
                                run.push(item);
                            }
                            at += 1;
                        }
                        let stage = (&connection.vector_type, staged || upserted);
                        upsert(&mut transaction, stage, &table, &run, updated)?;
                        upserted = true;
                    }
                    Change::Metadata { id, metadata } => {
                        let parsed = document(metadata.as_deref());
                        transaction.execute(
                            &format!(
                                "UPDATE {table} SET metadata = $2, document = $3, updated = $4
                                 WHERE id = $1"
                            ),
                            &[id, metadata, &parsed, &updated],
                        )?;
                        at += 1;
                    }
                    Change::Delete { .. } => {
                        let mut ids: Vec<&str> = Vec::new();
                        while let Some(Change::Delete { id }) = changes.get(at) {
                            ids.push(id);
                            at += 1;
                        }
                        transaction
                            .execute(&format!("DELETE FROM {table} WHERE id = ANY($1)"), &[&ids])?;
                    }
                }
            }
            transaction.commit()?;
            // The staging table made in this transaction now outlives it.
            connection.staged |= upserted;
            Ok(())
        })
    }

    fn get(&self, collection: &str, ids: &[&str]) -> Result<Vec<Record>> {
        let Some(found) = self.find(collection)? else { return Ok(Vec::new()) };
        if found.dimensions.is_none() || ids.is_empty() {
            return Ok(Vec::new());
        }
        let table = found.table();
        self.run("cannot read items", |connection| {
            let rows = connection.client.query(
                &format!("SELECT {RECORD_COLUMNS} FROM {table} WHERE id = ANY($1)"),
                &[&ids],
            )?;
            Ok(rows.iter().map(record_of).collect())
        })
    }

    fn for_each(
        &self,
        collection: &str,
        prefix: &str,
        visit: &mut dyn FnMut(Record) -> Result<()>,
    ) -> Result<()> {
        let found = self.require(collection)?;
        if found.dimensions.is_none() {
            return Ok(());
        }
        let table = found.table();
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM {table}
             WHERE left(id, length($1)) = $1 AND ($2::text IS NULL OR id > $2)
             ORDER BY id LIMIT $3"
        );
        self.stream("cannot read items", &sql, &[&prefix], &mut |row| visit(record_of(row)))
    }

    fn scan_vectors(
        &self,
        collection: &str,
        visit: &mut dyn FnMut(&str, &[u8]) -> Result<()>,
    ) -> Result<Option<Generation>> {
        let found = self.require(collection)?;
        let before = self.generation_of(&found)?;
        if found.dimensions.is_none() {
            return Ok(before);
        }
        let table = found.table();
        let sql = format!(
            "SELECT id, embedding FROM {table} WHERE ($1::text IS NULL OR id > $1)
             ORDER BY id LIMIT $2"
        );
        self.stream("cannot read vectors", &sql, &[], &mut |row| {
            let vector: PgVector = row.get(1);
            visit(row.get(0), &blob::encode(vector.as_slice()))
        })?;
        // The scan reads in several statements: it is one snapshot only if nothing changed
        // meanwhile, which the counter tells.
        let after = self.generation_of(&found)?;
        Ok(if before == after { after } else { None })
    }

    fn filter_ids(&self, collection: &str, filter: &Filter) -> Result<Vec<String>> {
        let found = self.require(collection)?;
        if found.dimensions.is_none() {
            return Ok(Vec::new());
        }
        let table = found.table();
        let mut values: Vec<Box<dyn ToSql + Sync>> = Vec::new();
        let condition = filter_sql(filter, &mut values);
        let sql = format!("SELECT id FROM {table} WHERE coalesce({condition}, false) ORDER BY id");
        self.run("cannot filter", |connection| {
            Ok(connection
                .client
                .query(&sql, &parameters_of(&values))?
                .iter()
                .map(|row| row.get(0))
                .collect())
        })
    }

    fn metadata_keys(&self, collection: &str) -> Result<Vec<String>> {
        let found = self.require(collection)?;
        if found.dimensions.is_none() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT DISTINCT jsonb_object_keys(document) AS key FROM {} \
             WHERE jsonb_typeof(document) = 'object' ORDER BY key",
            found.table()
        );
        self.run("cannot list the metadata's fields", |connection| {
            Ok(connection.client.query(&sql, &[])?.iter().map(|row| row.get(0)).collect())
        })
    }

    fn store_related(
        &mut self,
        collection: &str,
        related: &[(String, Vec<(String, f32)>)],
    ) -> Result<()> {
        let found = self.require(collection)?;
        let mut ids = Vec::new();
        let mut ranks = Vec::new();
        let mut others = Vec::new();
        let mut scores = Vec::new();
        for (id, neighbours) in related {
            for (rank, (other, score)) in neighbours.iter().enumerate() {
                ids.push(id.as_str());
                ranks.push(rank as i32 + 1);
                others.push(other.as_str());
                scores.push(*score);
            }
        }
        self.run("cannot write the related items", |connection| {
            let mut transaction = connection.client.transaction()?;
            transaction
                .execute("DELETE FROM emb_related WHERE collection_id = $1", &[&found.id])?;
            transaction.execute(
                "INSERT INTO emb_related (collection_id, id, rank, related_id, score)
                 SELECT $1, * FROM unnest($2::text[], $3::int[], $4::text[], $5::real[])",
                &[&found.id, &ids, &ranks, &others, &scores],
            )?;
            transaction.commit()
        })
    }

    fn generation(&self, collection: &str) -> Result<Option<Generation>> {
        let found = self.require(collection)?;
        self.generation_of(&found)
    }

    fn index(&self, collection: &str) -> Result<Option<IndexRecord>> {
        Ok(self
            .find(collection)?
            .and_then(|found| found.index_settings)
            .map(|settings| IndexRecord { settings, trimmed: 0 }))
    }

    fn register_index(&mut self, collection: &str, settings: &str) -> Result<()> {
        let found = self.require(collection)?;
        self.run("cannot register the index", |connection| {
            connection.client.execute(
                "UPDATE emb_collections SET index_settings = $2 WHERE id = $1",
                &[&found.id, &settings],
            )
        })?;
        Ok(())
    }

    fn drop_index(&mut self, collection: &str) -> Result<bool> {
        let Some(found) = self.find(collection)? else { return Ok(false) };
        let table = found.table();
        self.run("cannot drop the index", |connection| {
            let mut transaction = connection.client.transaction()?;
            transaction.batch_execute(&format!("DROP INDEX IF EXISTS {table}_hnsw"))?;
            transaction.execute(
                "UPDATE emb_collections SET index_settings = NULL WHERE id = $1",
                &[&found.id],
            )?;
            transaction.commit()
        })?;
        Ok(found.index_settings.is_some())
    }

    fn changes_since(&self, _collection: &str, _counter: u64) -> Result<Option<Vec<String>>> {
        // pgvector keeps its index current itself; no change log is kept.
        Ok(None)
    }

    fn trim_changes(&mut self, _collection: &str, _through: u64) -> Result<()> {
        Ok(())
    }

    fn keyword_search(
        &self,
        collection: &str,
        text: &str,
        limit: usize,
    ) -> Result<Option<Vec<String>>> {
        let found = self.require(collection)?;
        let Some(query) = any_of_words(text) else { return Ok(Some(Vec::new())) };
        if found.dimensions.is_none() {
            return Ok(Some(Vec::new()));
        }
        let table = found.table();
        let limit = limit as i64;
        self.run("cannot search the full-text index", |connection| {
            let rows = connection.client.query(
                &format!(
                    "SELECT id FROM {table}, to_tsquery('english', $1) query
                     WHERE fts @@ query ORDER BY ts_rank_cd(fts, query) DESC, id LIMIT $2"
                ),
                &[&query, &limit],
            )?;
            Ok(Some(rows.iter().map(|row| row.get(0)).collect()))
        })
    }

    fn search(
        &self,
        collection: &str,
        query: &VectorQuery<'_>,
    ) -> Result<Option<Vec<(String, f32)>>> {
        let found = self.require(collection)?;
        if found.dimensions.is_none() || query.k == 0 {
            return Ok(Some(Vec::new()));
        }
        let table = found.table();
        let vector = PgVector::from(query.vector.to_vec());
        let mut values: Vec<Box<dyn ToSql + Sync>> = vec![Box::new(vector)];
        let mut conditions = Vec::new();
        if !query.prefix.is_empty() {
            values.push(Box::new(query.prefix.to_owned()));
            let at = values.len();
            conditions.push(format!("left(id, length(${at})) = ${at}"));
        }
        if let Some(exclude) = query.exclude {
            values.push(Box::new(exclude.to_owned()));
            conditions.push(format!("id <> ${}", values.len()));
        }
        if let Some(filter) = query.filter {
            let condition = filter_sql(filter, &mut values);
            conditions.push(format!("coalesce({condition}, false)"));
        }
        values.push(Box::new(query.k as i64));
        let limit = values.len();
        let restricted = !conditions.is_empty();
        let condition =
            if restricted { format!("WHERE {}", conditions.join(" AND ")) } else { String::new() };
        let sql = format!(
            "SELECT id, (embedding <=> $1)::float8 FROM {table} {condition}
             ORDER BY embedding <=> $1 LIMIT ${limit}"
        );
        let indexed = found.index_settings.is_some() && !query.exact;
        let ef = query.ef.unwrap_or(DEFAULT_EF_SEARCH).max(query.k);
        let run = |exact: bool| -> Result<Vec<(String, f32)>> {
            self.run("cannot search", |connection| {
                let mut transaction = connection.client.transaction()?;
                if exact {
                    transaction.batch_execute("SET LOCAL enable_indexscan = off")?;
                } else {
                    transaction.batch_execute(&format!(
                        "SET LOCAL hnsw.ef_search = {}",
                        ef.min(MAX_EF_SEARCH)
                    ))?;
                }
                let rows = transaction.query(&sql, &parameters_of(&values))?;
                transaction.commit()?;
                Ok(rows.iter().map(|row| (row.get(0), 1.0 - row.get::<_, f64>(1) as f32)).collect())
            })
        };
        let mut hits = if indexed && ef <= MAX_EF_SEARCH { run(false)? } else { run(true)? };
        // An index search keeps ef candidates and filters them after: when that leaves fewer
        // than k, the exact scan (with the filter in the same query) finds the rest.
        if indexed && restricted && hits.len() < query.k {
            hits = run(true)?;
        }
        if let Some(threshold) = query.threshold {
            hits.retain(|(_, score)| *score >= threshold);
        }
        Ok(Some(hits))
    }

    fn build_native_index(&mut self, collection: &str, index: &NativeIndex<'_>) -> Result<()> {
        let found = self.require(collection)?;
        let Some(dimensions) = found.dimensions else {
            return Err(Error::Store {
                context: format!("{}: index of {collection:?}", self.shown),
                source: "the collection is empty; add items before building its index".into(),
            });
        };
        if dimensions > 2000 {
            return Err(Error::Store {
                context: format!("{}: index of {collection:?}", self.shown),
                source: format!(
                    "pgvector's HNSW index takes vectors of up to 2,000 dimensions; these have {dimensions}"
                )
                .into(),
            });
        }
        let table = found.table();
        let (m, ef_construction) = (index.m, index.ef_construction);
        self.run("cannot build the index", |connection| {
            // Building is much faster when the graph fits in memory.
            connection.client.batch_execute("SET maintenance_work_mem = '1GB'")?;
            let mut transaction = connection.client.transaction()?;
            transaction.batch_execute(&format!(
                "DROP INDEX IF EXISTS {table}_hnsw;
                 CREATE INDEX {table}_hnsw ON {table}
                    USING hnsw (embedding vector_cosine_ops)
                    WITH (m = {m}, ef_construction = {ef_construction})"
            ))?;
            transaction.execute(
                "UPDATE emb_collections SET index_settings = $2 WHERE id = $1",
                &[&found.id, &index.settings],
            )?;
            transaction.commit()?;
            connection.client.batch_execute("RESET maintenance_work_mem")
        })
    }

    fn native_index_bytes(&self, collection: &str) -> Result<Option<u64>> {
        let Some(found) = self.find(collection)? else { return Ok(None) };
        if found.index_settings.is_none() || found.dimensions.is_none() {
            return Ok(None);
        }
        let name = format!("{}_hnsw", found.table());
        self.run("cannot read the index size", |connection| {
            let row = connection
                .client
                .query_one("SELECT pg_relation_size(to_regclass($1))", &[&name])?;
            Ok(row.get::<_, Option<i64>>(0).map(|bytes| bytes as u64))
        })
    }

    fn searches_natively(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://emb:secret@db.example:5433/vectors?sslmode=require"),
            "postgres://emb@db.example:5433/vectors"
        );
        assert_eq!(redact("postgres://emb@localhost/x"), "postgres://emb@localhost/x");
        assert_eq!(redact("postgresql://localhost"), "postgresql://localhost");
    }

    #[test]
    fn keyword_queries_hold_only_words() {
        assert_eq!(
            any_of_words("sqlite: backup & tools!").as_deref(),
            Some("sqlite | backup | tools")
        );
        assert_eq!(any_of_words("&|!"), None);
    }
}
