//! The PostgreSQL schema, made by numbered migrations: each runs once, in order, in its own
//! transaction, under an advisory lock so that two emb processes starting together do not race.
//!
//! Items live in one table per collection (`emb_items_N`, made when the first vector arrives,
//! with a `vector(D)` column); the tables below describe the collections.

use postgres::Client;

/// The migrations, numbered from 1 by position. Never edit one that has shipped: add another.
const MIGRATIONS: &[&str] = &[
    // 1: the database's identity, the collections, related items, and the change counter that
    // a statement-level trigger on every items table bumps.
    r#"
CREATE TABLE emb_database (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    identity text NOT NULL
);
INSERT INTO emb_database (identity) VALUES (md5(random()::text || clock_timestamp()::text));
CREATE TABLE emb_collections (
    id serial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    model text NOT NULL DEFAULT '',
    dimensions integer,
    counter bigint NOT NULL DEFAULT 0,
    index_settings text
);
CREATE TABLE emb_related (
    collection_id integer NOT NULL REFERENCES emb_collections (id) ON DELETE CASCADE,
    id text COLLATE "C" NOT NULL,
    rank integer NOT NULL,
    related_id text NOT NULL,
    score real NOT NULL,
    PRIMARY KEY (collection_id, id, rank)
);
CREATE FUNCTION emb_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE emb_collections SET counter = counter + 1 WHERE id = TG_ARGV[0]::integer;
    RETURN NULL;
END;
$$;
"#,
];

/// Creates the pgvector extension if the database lacks it, explaining what to do when the
/// user may not.
pub fn ensure_extension(client: &mut Client) -> Result<(), postgres::Error> {
    let present: bool = client
        .query_one("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector')", &[])?
        .get(0);
    if !present {
        client.batch_execute("CREATE EXTENSION IF NOT EXISTS vector")?;
    }
    Ok(())
}

/// Brings the schema up to date.
pub fn migrate(client: &mut Client) -> Result<(), postgres::Error> {
    client.batch_execute(
        "CREATE TABLE IF NOT EXISTS emb_migrations (
            version integer PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )?;
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let version = index as i32 + 1;
        let mut transaction = client.transaction()?;
        // One migrator at a time; the others find the work done.
        transaction.execute("SELECT pg_advisory_xact_lock(7_316_425_001)", &[])?;
        let done: bool = transaction
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM emb_migrations WHERE version = $1)",
                &[&version],
            )?
            .get(0);
        if !done {
            transaction.batch_execute(sql)?;
            transaction.execute("INSERT INTO emb_migrations (version) VALUES ($1)", &[&version])?;
        }
        transaction.commit()?;
    }
    Ok(())
}
