//! Numbered schema migrations of the SQLite store. A landed migration is never edited: changes
//! are new migrations appended to [`MIGRATIONS`].

use rusqlite::Connection;

/// The migrations, in order; the number of a migration is its position plus one.
///
/// 1. llm's `collections` and `embeddings` tables exactly as `llm` (0.36) creates them, and the
///    record of llm's five embeddings migrations when llm has not written its own, without
///    which llm would try to create the tables again and fail (nothing happens to a database
///    llm already wrote); emb's own tables, which llm ignores: the database's identity, and a change counter per collection kept by triggers, so that caches derived
///    from a collection's vectors know when any writer (emb or llm) changed it.
/// 2. `emb_related`: each item's related items, ranked, as `emb related --store` writes them.
/// 3. `emb_indexes` (the collections that have a search index, with its settings) and
///    `emb_changes` (per indexed collection, the ids whose vectors changed, with the change
///    counter at the time), and triggers that keep the change log as well as the counter, so an
///    index catches up with what any writer (emb or llm) did by re-linking only those items.
/// 4. `emb_fts`, a full-text (FTS5) index of stored content for keyword and hybrid search, with
///    `emb_fts_keys` giving each item a stable FTS row (the `embeddings` rowid may change on
///    VACUUM), kept current by triggers for every writer; existing content is indexed.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE IF NOT EXISTS "collections" (
   "id" INTEGER PRIMARY KEY,
   "name" TEXT,
   "model" TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS "idx_collections_name"
    ON "collections" ("name");
CREATE TABLE IF NOT EXISTS "embeddings" (
   "collection_id" INTEGER REFERENCES "collections"("id"),
   "id" TEXT,
   "embedding" BLOB,
   "content" TEXT,
   "content_blob" BLOB,
   "content_hash" BLOB,
   "metadata" TEXT,
   "updated" INTEGER,
   PRIMARY KEY ("collection_id", "id")
);
CREATE INDEX IF NOT EXISTS "idx_embeddings_content_hash"
    ON "embeddings" ("content_hash");
CREATE TABLE IF NOT EXISTS "_sqlite_migrations" (
   "id" INTEGER PRIMARY KEY,
   "migration_set" TEXT,
   "name" TEXT,
   "applied_at" TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS "idx__sqlite_migrations_migration_set_name"
    ON "_sqlite_migrations" ("migration_set", "name");
INSERT INTO "_sqlite_migrations" ("migration_set", "name", "applied_at")
SELECT 'llm.embeddings', name, datetime('now')
FROM (SELECT 'm001_create_tables' AS name UNION ALL SELECT 'm002_foreign_key'
      UNION ALL SELECT 'm003_add_updated' UNION ALL SELECT 'm004_store_content_hash'
      UNION ALL SELECT 'm005_add_content_blob')
WHERE NOT EXISTS (SELECT 1 FROM "_sqlite_migrations" WHERE "migration_set" = 'llm.embeddings');
CREATE TABLE IF NOT EXISTS emb_database (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    identity TEXT NOT NULL
);
INSERT OR IGNORE INTO emb_database (singleton, identity) VALUES (1, lower(hex(randomblob(16))));
CREATE TABLE IF NOT EXISTS emb_generations (
    collection_id INTEGER PRIMARY KEY,
    counter INTEGER NOT NULL
);
"#,
    // 2. The related items of every item (`emb related --store`), for pages to read.
    r"
CREATE TABLE IF NOT EXISTS emb_related (
    collection_id INTEGER NOT NULL,
    id TEXT NOT NULL,
    rank INTEGER NOT NULL,
    related_id TEXT NOT NULL,
    score REAL NOT NULL,
    PRIMARY KEY (collection_id, id, rank)
);
",
    // 3. Search indexes and the log of changed items they catch up from.
    r"
CREATE TABLE IF NOT EXISTS emb_indexes (
    collection_id INTEGER PRIMARY KEY,
    settings TEXT NOT NULL,
    trimmed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS emb_changes (
    collection_id INTEGER NOT NULL,
    id TEXT NOT NULL,
    counter INTEGER NOT NULL,
    PRIMARY KEY (collection_id, id)
);
CREATE INDEX IF NOT EXISTS emb_changes_counter ON emb_changes (collection_id, counter);
DROP TRIGGER IF EXISTS emb_embeddings_inserted;
DROP TRIGGER IF EXISTS emb_embeddings_updated;
DROP TRIGGER IF EXISTS emb_embeddings_deleted;
",
    // 4. Full-text search over stored content.
    r"
CREATE TABLE IF NOT EXISTS emb_fts_keys (
    rowid INTEGER PRIMARY KEY,
    collection_id INTEGER NOT NULL,
    id TEXT NOT NULL,
    UNIQUE (collection_id, id)
);
CREATE VIRTUAL TABLE IF NOT EXISTS emb_fts USING fts5(content, tokenize = 'porter unicode61');
INSERT INTO emb_fts_keys (collection_id, id)
    SELECT collection_id, id FROM embeddings WHERE content IS NOT NULL;
INSERT INTO emb_fts (rowid, content)
    SELECT emb_fts_keys.rowid, embeddings.content FROM emb_fts_keys JOIN embeddings
    ON embeddings.collection_id = emb_fts_keys.collection_id AND embeddings.id = emb_fts_keys.id;
CREATE TRIGGER IF NOT EXISTS emb_fts_inserted AFTER INSERT ON embeddings
WHEN new.content IS NOT NULL BEGIN
    INSERT INTO emb_fts_keys (collection_id, id) VALUES (new.collection_id, new.id)
        ON CONFLICT (collection_id, id) DO NOTHING;
    INSERT OR REPLACE INTO emb_fts (rowid, content)
        SELECT rowid, new.content FROM emb_fts_keys
        WHERE collection_id = new.collection_id AND id = new.id;
END;
CREATE TRIGGER IF NOT EXISTS emb_fts_deleted AFTER DELETE ON embeddings
WHEN old.content IS NOT NULL BEGIN
    DELETE FROM emb_fts WHERE rowid IN
        (SELECT rowid FROM emb_fts_keys WHERE collection_id = old.collection_id AND id = old.id);
    DELETE FROM emb_fts_keys WHERE collection_id = old.collection_id AND id = old.id;
END;
CREATE TRIGGER IF NOT EXISTS emb_fts_updated AFTER UPDATE ON embeddings
WHEN old.content IS NOT new.content OR old.id IS NOT new.id
     OR old.collection_id IS NOT new.collection_id BEGIN
    DELETE FROM emb_fts WHERE rowid IN
        (SELECT rowid FROM emb_fts_keys WHERE collection_id = old.collection_id AND id = old.id);
    DELETE FROM emb_fts_keys WHERE collection_id = old.collection_id AND id = old.id;
    INSERT INTO emb_fts_keys (collection_id, id) SELECT new.collection_id, new.id
        WHERE new.content IS NOT NULL ON CONFLICT (collection_id, id) DO NOTHING;
    INSERT OR REPLACE INTO emb_fts (rowid, content)
        SELECT rowid, new.content FROM emb_fts_keys
        WHERE collection_id = new.collection_id AND id = new.id AND new.content IS NOT NULL;
END;
",
];

/// The triggers of migration 1, which kept only the change counter (migration 3 replaces them).
const TRIGGERS_1: &str = r"
CREATE TRIGGER IF NOT EXISTS emb_embeddings_inserted AFTER INSERT ON embeddings BEGIN
    INSERT INTO emb_generations (collection_id, counter) VALUES (new.collection_id, 1)
        ON CONFLICT (collection_id) DO UPDATE SET counter = counter + 1;
END;
CREATE TRIGGER IF NOT EXISTS emb_embeddings_updated AFTER UPDATE ON embeddings BEGIN
    INSERT INTO emb_generations (collection_id, counter) VALUES (new.collection_id, 1)
        ON CONFLICT (collection_id) DO UPDATE SET counter = counter + 1;
    INSERT INTO emb_generations (collection_id, counter) VALUES (old.collection_id, 1)
        ON CONFLICT (collection_id) DO UPDATE SET counter = counter + 1;
END;
CREATE TRIGGER IF NOT EXISTS emb_embeddings_deleted AFTER DELETE ON embeddings BEGIN
    INSERT INTO emb_generations (collection_id, counter) VALUES (old.collection_id, 1)
        ON CONFLICT (collection_id) DO UPDATE SET counter = counter + 1;
END;
";

/// The statements that create the triggers keeping `emb_generations` and `emb_changes` current
/// (migration 3 runs them; [`crate::SqliteStore`] runs them again if a tool dropped them). A
/// change is logged only for collections with an index, and an update only when the vector or
/// the id moved (a metadata edit leaves an index as it is).
pub const CREATE_TRIGGERS: &str = r"
CREATE TRIGGER IF NOT EXISTS emb_embeddings_inserted AFTER INSERT ON embeddings BEGIN
    INSERT INTO emb_generations (collection_id, counter) VALUES (new.collection_id, 1)
        ON CONFLICT (collection_id) DO UPDATE SET counter = counter + 1;
    INSERT INTO emb_changes (collection_id, id, counter)
        SELECT new.collection_id, new.id, counter FROM emb_generations
        WHERE collection_id = new.collection_id
          AND EXISTS (SELECT 1 FROM emb_indexes WHERE collection_id = new.collection_id)
        ON CONFLICT (collection_id, id) DO UPDATE SET counter = excluded.counter;
END;
CREATE TRIGGER IF NOT EXISTS emb_embeddings_updated AFTER UPDATE ON embeddings BEGIN
    INSERT INTO emb_generations (collection_id, counter) VALUES (new.collection_id, 1)
        ON CONFLICT (collection_id) DO UPDATE SET counter = counter + 1;
    INSERT INTO emb_generations (collection_id, counter) VALUES (old.collection_id, 1)
        ON CONFLICT (collection_id) DO UPDATE SET counter = counter + 1;
    INSERT INTO emb_changes (collection_id, id, counter)
        SELECT old.collection_id, old.id, counter FROM emb_generations
        WHERE collection_id = old.collection_id
          AND (old.embedding IS NOT new.embedding OR old.id IS NOT new.id
               OR old.collection_id IS NOT new.collection_id)
          AND EXISTS (SELECT 1 FROM emb_indexes WHERE collection_id = old.collection_id)
        ON CONFLICT (collection_id, id) DO UPDATE SET counter = excluded.counter;
    INSERT INTO emb_changes (collection_id, id, counter)
        SELECT new.collection_id, new.id, counter FROM emb_generations
        WHERE collection_id = new.collection_id
          AND (old.embedding IS NOT new.embedding OR old.id IS NOT new.id
               OR old.collection_id IS NOT new.collection_id)
          AND EXISTS (SELECT 1 FROM emb_indexes WHERE collection_id = new.collection_id)
        ON CONFLICT (collection_id, id) DO UPDATE SET counter = excluded.counter;
END;
CREATE TRIGGER IF NOT EXISTS emb_embeddings_deleted AFTER DELETE ON embeddings BEGIN
    INSERT INTO emb_generations (collection_id, counter) VALUES (old.collection_id, 1)
        ON CONFLICT (collection_id) DO UPDATE SET counter = counter + 1;
    INSERT INTO emb_changes (collection_id, id, counter)
        SELECT old.collection_id, old.id, counter FROM emb_generations
        WHERE collection_id = old.collection_id
          AND EXISTS (SELECT 1 FROM emb_indexes WHERE collection_id = old.collection_id)
        ON CONFLICT (collection_id, id) DO UPDATE SET counter = excluded.counter;
END;
";

/// The triggers that keep the full-text index of stored content current.
pub const FTS_TRIGGERS: [&str; 3] = ["emb_fts_inserted", "emb_fts_deleted", "emb_fts_updated"];

/// The triggers that keep `emb_generations` current; if one is missing (a tool rebuilt the
/// table), generations cannot be trusted.
pub const GENERATION_TRIGGERS: [&str; 3] =
    ["emb_embeddings_inserted", "emb_embeddings_updated", "emb_embeddings_deleted"];

/// Brings the schema of `connection` up to date, each migration in its own transaction.
pub fn migrate(connection: &mut Connection) -> rusqlite::Result<()> {
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS emb_migrations (
            version INTEGER PRIMARY KEY,
            applied INTEGER NOT NULL
        )",
    )?;
    let applied: i64 = connection.query_row(
        "SELECT coalesce(max(version), 0) FROM emb_migrations",
        [],
        |row| row.get(0),
    )?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        let transaction =
            connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Another process may have migrated since we looked.
        let done: bool = transaction.query_row(
            "SELECT EXISTS (SELECT 1 FROM emb_migrations WHERE version = ?1)",
            [index as i64 + 1],
            |row| row.get(0),
        )?;
        if !done {
            transaction.execute_batch(sql)?;
            match index {
                0 => transaction.execute_batch(TRIGGERS_1)?,
                2 => transaction.execute_batch(CREATE_TRIGGERS)?,
                _ => {}
            }
            transaction.execute(
                "INSERT INTO emb_migrations (version, applied) VALUES (?1, unixepoch())",
                [index as i64 + 1],
            )?;
        }
        transaction.commit()?;
    }
    Ok(())
}
