//! The extension loaded into a SQLite connection in this process (rusqlite's bundled SQLite, a
//! host of another version than the sqlite3 shell's): right answers, clear errors, and no
//! argument that can crash the host.

use std::path::{Path, PathBuf};

use rusqlite::types::Value;
use rusqlite::{params, Connection};

/// The library cargo built beside this test's executable.
fn extension() -> PathBuf {
    let folder = std::env::current_exe().unwrap().parent().unwrap().to_owned();
    let name =
        format!("{}emb_sqlite{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    let path = folder.join(&name);
    assert!(path.is_file(), "{} is built with the tests", path.display());
    path
}

/// The small test model of the repository (48 dimensions).
fn tiny_model() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/tiny/bert-h16-cls-f16")
        .to_str()
        .unwrap()
        .to_owned()
}

fn connection() -> Connection {
    let connection = Connection::open_in_memory().unwrap();
    // SAFETY: loads the extension under test.
    unsafe {
        let _guard = rusqlite::LoadExtensionGuard::new(&connection).unwrap();
        connection.load_extension(extension(), None::<&str>).unwrap();
    }
    connection
}

/// llm's schema, as `llm embed-multi` leaves it (none of emb's own tables), with an empty
/// collection `notes` of `model`.
fn llm_collection(connection: &Connection, model: &str) {
    connection
        .execute_batch(
            "create table collections (id integer primary key, name text, model text);
             create table embeddings (collection_id integer, id text, embedding blob,
                 content text, content_blob blob, content_hash blob, metadata text,
                 updated integer, primary key (collection_id, id));",
        )
        .unwrap();
    connection.execute("insert into collections values (1, 'notes', ?1)", [model]).unwrap();
}

fn blob(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|value| value.to_le_bytes()).collect()
}

fn real(connection: &Connection, sql: &str, values: impl rusqlite::Params) -> f64 {
    connection.query_row(sql, values, |row| row.get(0)).unwrap()
}

fn error(connection: &Connection, sql: &str, values: impl rusqlite::Params) -> String {
    match connection.query_row(sql, values, |row| row.get::<_, Value>(0)) {
        Ok(value) => panic!("{sql} returned {value:?} instead of failing"),
        Err(rusqlite::Error::SqliteFailure(_, Some(message))) => message,
        Err(other) => panic!("{sql}: unexpected error {other:?}"),
    }
}

#[test]
fn vector_functions_compute_what_emb_core_computes() {
    let connection = connection();
    let a = [0.5_f32, -1.0, 2.0, 0.25];
    let b = [1.0_f32, 0.5, -0.75, 3.0];
    let cosine = real(&connection, "select emb_cosine(?1, ?2)", params![blob(&a), blob(&b)]);
    assert!((cosine - f64::from(emb_core::distance::cosine(&a, &b))).abs() < 1e-6);
    let dot = real(&connection, "select emb_dot(?1, ?2)", params![blob(&a), blob(&b)]);
    assert!((dot - f64::from(emb_core::distance::dot(&a, &b))).abs() < 1e-5);
    let l2 = real(&connection, "select emb_l2(?1, '[1, 0.5, -0.75, 3]')", params![blob(&a)]);
    assert!((l2 - f64::from(emb_core::distance::l2(&a, &b))).abs() < 1e-5);
    // A JSON array and a blob are the same vector.
    let json: String =
        connection.query_row("select emb_decode(?1)", params![blob(&a)], |row| row.get(0)).unwrap();
    assert_eq!(json, "[0.5,-1.0,2.0,0.25]");
    let encoded: Vec<u8> =
        connection.query_row("select emb_encode(?1)", params![json], |row| row.get(0)).unwrap();
    assert_eq!(encoded, blob(&a));
    let dimensions: i64 =
        connection.query_row("select emb_dims(?1)", params![blob(&a)], |row| row.get(0)).unwrap();
    assert_eq!(dimensions, 4);
    // A zero vector has cosine 0 with anything, as in emb.
    assert!(real(&connection, "select emb_cosine('[0,0]', '[1,2]')", []).abs() < f64::EPSILON);
}

#[test]
fn json_arguments_that_change_from_row_to_row_are_read_on_every_row() {
    let connection = connection();
    connection.execute_batch(
        "create table t(v); insert into t values ('[1]'), ('[1,2]'), ('[1,2,3]'), ('[1,2,3,4]');",
    )
    .unwrap();
    let mut statement = connection.prepare("select emb_dims(v) from t order by rowid").unwrap();
    let dimensions: Vec<i64> =
        statement.query_map([], |row| row.get(0)).unwrap().map(Result::unwrap).collect();
    assert_eq!(dimensions, [1, 2, 3, 4]);
}

#[test]
fn emb_average_is_the_centroid_and_skips_nulls() {
    let connection = connection();
    connection.execute_batch("create table t(grp, v)").unwrap();
    for (group, vector) in [(1, [1.0_f32, 2.0]), (1, [3.0, 6.0]), (2, [-1.0, 0.0])] {
        connection.execute("insert into t values (?1, ?2)", params![group, blob(&vector)]).unwrap();
    }
    connection.execute("insert into t values (1, null)", []).unwrap();
    let mut statement =
        connection.prepare("select grp, emb_decode(emb_average(v)) from t group by grp").unwrap();
    let rows: Vec<(i64, String)> = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows, [(1, "[2.0,4.0]".to_owned()), (2, "[-1.0,0.0]".to_owned())]);
    let empty: Option<Vec<u8>> =
        connection.query_row("select emb_average(v) from t where 0", [], |row| row.get(0)).unwrap();
    assert_eq!(empty, None);
    connection.execute("insert into t values (3, '[1,2,3]'), (3, '[1]')", []).unwrap();
    let message = error(&connection, "select emb_average(v) from t where grp = 3", []);
    assert!(message.contains("emb_average") && message.contains("dimensions"), "{message}");
}

#[test]
fn bad_arguments_are_sql_errors_that_say_what_to_do() {
    let connection = connection();
    let cases: [(&str, Vec<Value>, &str); 7] = [
        (
            "select emb_cosine(?1, ?2)",
            vec![Value::Blob(vec![0; 6]), Value::Text("[1]".into())],
            "6 bytes",
        ),
        ("select emb_cosine(?1, ?2)", vec![Value::Null, Value::Text("[1]".into())], "NULL"),
        (
            "select emb_dot(?1, ?2)",
            vec![Value::Text("[1,2]".into()), Value::Text("[1]".into())],
            "2 and 1 dimensions",
        ),
        ("select emb_l2(?1, ?2)", vec![Value::Integer(3), Value::Text("[1]".into())], "an integer"),
        ("select emb_decode(?1)", vec![Value::Text("not json".into())], "JSON array"),
        ("select emb_dims(?1)", vec![Value::Text("[]".into())], "empty"),
        (
            "select emb_embed(?1, ?2)",
            vec![Value::Text("hello".into()), Value::Text("/no/such/model".into())],
            "cannot load the model",
        ),
    ];
    for (sql, values, expected) in cases {
        let message = error(&connection, sql, rusqlite::params_from_iter(values));
        let function = sql.trim_start_matches("select ").split('(').next().unwrap();
        assert!(message.starts_with(function), "{sql}: {message}");
        assert!(message.contains(expected), "{sql}: {message}");
    }
}

#[test]
fn emb_embed_runs_the_model_once_per_text() {
    let connection = connection();
    let model = tiny_model();
    let vector: Vec<u8> = connection
        .query_row("select emb_embed('a small test', ?1)", params![model], |row| row.get(0))
        .unwrap();
    assert_eq!(vector.len(), 48 * 4);
    let same = real(
        &connection,
        "select emb_cosine(emb_embed('a small test', ?1), ?2)",
        params![model, vector],
    );
    assert!((same - 1.0).abs() < 1e-6, "{same}");
}

#[test]
fn emb_search_ranks_a_collection_like_a_scan_of_emb_cosine() {
    let connection = connection();
    let model = tiny_model();
    llm_collection(&connection, &model);
    let texts = [
        "backups of sqlite files",
        "a recipe for bread",
        "copying databases safely",
        "the weather tomorrow",
        "vector search in sql",
        "baking sourdough",
    ];
    for (index, text) in texts.iter().enumerate() {
        connection
            .execute(
                "insert into embeddings (collection_id, id, embedding, content, metadata)
                 values (1, ?1, emb_embed(?2, ?4), ?2, json_object('n', ?3))",
                params![format!("n{index}"), text, index as i64, model],
            )
            .unwrap();
    }
    let query = "sqlite backup";
    let scanned: Vec<(String, f64)> = connection
        .prepare(
            "select id, emb_cosine(embedding, emb_embed(?1, ?2)) as score from embeddings
             order by score desc limit 3",
        )
        .unwrap()
        .query_map([query, &model], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let searched: Vec<(String, f64, String, String)> = connection
        .prepare("select id, score, content, metadata from emb_search('notes', ?1, 3)")
        .unwrap()
        .query_map([query], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(searched.len(), 3);
    for ((id, score), (found, found_score, content, metadata)) in scanned.iter().zip(&searched) {
        assert_eq!(id, found);
        assert!((score - found_score).abs() < 1e-5, "{score} vs {found_score}");
        let index: usize = id[1..].parse().unwrap();
        assert_eq!(content, texts[index]);
        assert_eq!(metadata, &format!("{{\"n\":{index}}}"));
    }
    // By vector, with k in a WHERE clause, and the default k.
    let by_vector: i64 = connection
        .query_row(
            "select count(*) from emb_search where collection = 'notes' and query = \
             (select embedding from embeddings where id = 'n0') and k = 4",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(by_vector, 4);
    let all: i64 = connection
        .query_row("select count(*) from emb_search('notes', 'bread')", [], |row| row.get(0))
        .unwrap();
    assert_eq!(all, 6);
    for (sql, expected) in [
        ("select * from emb_search('nope', 'x')", "no collection \"nope\""),
        ("select * from emb_search('notes', 5)", "the query is an integer"),
        ("select * from emb_search('notes', 'x', -1)", "k is"),
        ("select * from emb_search('notes', x'00000000')", "dimensions"),
        ("select * from emb_search", "needs a collection and a query"),
    ] {
        let message = match connection.prepare(sql).and_then(|mut statement| {
            statement
                .query_map([], |_| Ok(()))?
                .collect::<Result<Vec<()>, _>>()
                .map(|rows| rows.len())
        }) {
            Ok(count) => panic!("{sql} gave {count} rows instead of failing"),
            Err(error) => error.to_string(),
        };
        assert!(message.contains(expected), "{sql}: {message}");
    }
}

/// A small deterministic generator, so a failing case can be replayed.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

/// An argument of any type and shape, well-formed or not.
fn arbitrary(random: &mut Xorshift, model: &str) -> Value {
    match random.below(16) {
        0 => Value::Null,
        1 => Value::Integer(random.next() as i64),
        2 => Value::Real(f64::from_bits(random.next())),
        3 => Value::Text(String::new()),
        4 => Value::Text("[1, 2, 3, 4]".into()),
        5 => Value::Text("[]".into()),
        6 => Value::Text("[1e40, -1e40, null]".into()),
        7 => Value::Text("[[1], {\"a\": 2}, \"x\"]".into()),
        8 => Value::Text("\u{0}\u{ffff}[".into()),
        9 => Value::Text(model.to_owned()),
        10 => Value::Blob(Vec::new()),
        11 => Value::Blob((0..random.below(9)).map(|_| random.next() as u8).collect()),
        12 => Value::Blob(blob(&[1.0, 2.0, 3.0, 4.0])),
        13 => Value::Blob(blob(&[f32::NAN, f32::INFINITY, 0.0, -0.0])),
        14 => Value::Blob((0..4 * random.below(600)).map(|_| random.next() as u8).collect()),
        _ => Value::Text("notes".into()),
    }
}

#[test]
fn no_arguments_crash_the_host() {
    let connection = connection();
    let model = tiny_model();
    llm_collection(&connection, &model);
    connection
        .execute("insert into embeddings (collection_id, id, embedding) values (1, 'a', emb_embed('a', ?1))", [&model])
        .unwrap();
    let calls = [
        "select emb_cosine(?1, ?2)",
        "select emb_dot(?1, ?2)",
        "select emb_l2(?1, ?2)",
        "select emb_decode(?1)",
        "select emb_encode(?1)",
        "select emb_dims(?1)",
        "select emb_embed(?1)",
        "select emb_embed(?1, ?2)",
        "select emb_average(v) from (select ?1 as v union all select ?2)",
        "select * from emb_search(?1, ?2)",
        "select * from emb_search(?1, ?2, ?3)",
    ];
    let mut random = Xorshift(0x9e37_79b9_7f4a_7c15);
    let (mut answered, mut refused) = (0, 0);
    for round in 0..3000 {
        let sql = calls[round % calls.len()];
        let count = sql.matches('?').count();
        let values: Vec<Value> = (0..count).map(|_| arbitrary(&mut random, &model)).collect();
        let result = connection.prepare(sql).and_then(|mut statement| {
            let mut rows = statement.query(rusqlite::params_from_iter(values.iter()))?;
            let mut seen = 0;
            while rows.next()?.is_some() {
                seen += 1;
            }
            Ok(seen)
        });
        match result {
            Ok(_) => answered += 1,
            Err(rusqlite::Error::SqliteFailure(_, Some(message))) => {
                assert!(message.starts_with("emb"), "{sql} {values:?}: {message}");
                refused += 1;
            }
            Err(other) => panic!("{sql} {values:?}: {other:?}"),
        }
    }
    // Both kinds of outcome happen, and the connection still works.
    assert!(answered > 100 && refused > 100, "{answered} answered, {refused} refused");
    assert!((real(&connection, "select emb_cosine('[1,0]', '[1,0]')", []) - 1.0).abs() < 1e-6);
}
