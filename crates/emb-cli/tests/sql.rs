//! emb's loadable SQLite extension in the real hosts users run it in: Debian's sqlite3 shell and
//! Python's sqlite3 module give the same results as `emb similar`, with and without an index, and
//! `emb sql` runs SQL with the functions loaded.
//!
//! The shell and Python tests need `EMB_TEST_SQLITE3` and `EMB_TEST_SQLITE_PYTHON` (what
//! scripts/setup-sqlite-hosts prints; `make test` sets them). Without them they say so and do
//! nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{failure, json_lines, reference_lines, success, Sandbox};

const QUERIES: [&str; 3] = ["read bytes from a file", "network connection timeout", "sort a list"];

/// The extension `emb sql-extension-path` names.
fn extension(sandbox: &Sandbox) -> String {
    let (stdout, _) = success(sandbox.emb().arg("sql-extension-path"));
    let path = stdout.trim().to_owned();
    assert!(Path::new(&path).is_file(), "{path}");
    path
}

/// A database with the 103 texts of the parity fixture in the collection `docs`.
fn collection(sandbox: &Sandbox) -> PathBuf {
    let lines = reference_lines();
    let input = sandbox.file("input.jsonl", lines.join("\n") + "\n");
    let database = sandbox.path().join("sql.db");
    // A second collection of the same items: SQL over `embeddings` must pick one (the README's
    // example does), or every id comes back twice.
    for name in ["docs", "copy"] {
        success(
            sandbox
                .emb()
                .arg("embed-multi")
                .arg(name)
                .arg(&input)
                .arg("--store")
                .arg("-d")
                .arg(&database),
        );
    }
    database
}

/// Ids and scores of JSON lines with `id` and `score`.
fn ranking(rows: &[serde_json::Value]) -> Vec<(String, f64)> {
    rows.iter()
        .map(|row| (row["id"].as_str().unwrap().to_owned(), row["score"].as_f64().unwrap()))
        .collect()
}

fn assert_same(expected: &[(String, f64)], got: &[(String, f64)], what: &str) {
    assert_eq!(expected.len(), got.len(), "{what}: {expected:?}\n{got:?}");
    for ((id, score), (got_id, got_score)) in expected.iter().zip(got) {
        assert_eq!(id, got_id, "{what}: {expected:?}\n{got:?}");
        assert!((score - got_score).abs() < 1e-4, "{what}: {score} vs {got_score}");
    }
}

/// What `emb similar` finds for `query`.
fn similar(sandbox: &Sandbox, database: &Path, query: &str) -> Vec<(String, f64)> {
    let (stdout, _) = success(
        sandbox.emb().args(["similar", "docs", "-c", query, "-n", "5", "-d"]).arg(database),
    );
    ranking(&json_lines(&stdout))
}

/// The two SQL queries a user would write: a full scan with `emb_cosine`, and `emb_search`.
fn statements(query: &str) -> [String; 2] {
    let quoted = query.replace('\'', "''");
    [
        // The README's example, as written there.
        format!(
            "select id, emb_cosine(embedding, emb_embed('{quoted}')) as score from embeddings \
             where collection_id = (select id from collections where name = 'docs') \
             order by score desc limit 5"
        ),
        format!("select id, score from emb_search('docs', '{quoted}', 5)"),
    ]
}

/// A host program (the sqlite3 shell, Python) run as `emb` is in the sandbox: its `EMB_HOME`,
/// offline, and no model from the environment.
fn host(sandbox: &Sandbox, program: &Path) -> Command {
    let mut command = Command::new(program);
    command.env("EMB_HOME", sandbox.path()).env("EMB_OFFLINE", "1").env_remove("EMB_MODEL");
    command
}

/// Runs `statement` in the sqlite3 shell with the extension loaded; its rows as JSON.
fn shell(
    sandbox: &Sandbox,
    sqlite3: &Path,
    database: &Path,
    statement: &str,
) -> Vec<serde_json::Value> {
    let output = host(sandbox, sqlite3)
        .arg("-json")
        .arg(database)
        .arg(format!(".load {}", extension(sandbox)))
        .arg(statement)
        .output()
        .expect("sqlite3 runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success() && stderr.is_empty(), "sqlite3 failed: {stderr}");
    serde_json::from_slice(&output.stdout).expect("sqlite3 -json prints a JSON array")
}

/// Runs `statements` in Python's sqlite3 module with the extension loaded; each one's rows.
fn python(
    sandbox: &Sandbox,
    python: &Path,
    database: &Path,
    statements: &[String],
) -> Vec<Vec<serde_json::Value>> {
    let script = r"
import json, sqlite3, sys
database, extension, statements = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
connection = sqlite3.connect(database)
connection.enable_load_extension(True)
connection.load_extension(extension)
connection.enable_load_extension(False)
results = []
for statement in statements:
    cursor = connection.execute(statement)
    names = [column[0] for column in cursor.description]
    results.append([dict(zip(names, row)) for row in cursor])
print(json.dumps(results))
";
    let output = host(sandbox, python)
        .arg("-c")
        .arg(script)
        .arg(database)
        .arg(extension(sandbox))
        .arg(serde_json::to_string(statements).unwrap())
        .output()
        .expect("python runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "python failed: {stderr}");
    serde_json::from_slice(&output.stdout).expect("the script prints JSON")
}

/// The hosts `make test` readies, if set.
fn hosts() -> Option<(PathBuf, PathBuf)> {
    let sqlite3 = std::env::var_os("EMB_TEST_SQLITE3")?;
    let python = std::env::var_os("EMB_TEST_SQLITE_PYTHON")?;
    Some((sqlite3.into(), python.into()))
}

#[test]
fn the_sqlite3_shell_and_python_find_what_emb_similar_finds() {
    let Some((sqlite3, python_executable)) = hosts() else {
        eprintln!(
            "skipped: set EMB_TEST_SQLITE3 and EMB_TEST_SQLITE_PYTHON (scripts/setup-sqlite-hosts)"
        );
        return;
    };
    let sandbox = Sandbox::with_model();
    let database = collection(&sandbox);
    // Without an index emb_search scans; with one it searches the index, as emb similar does.
    for indexed in [false, true] {
        if indexed {
            success(sandbox.emb().args(["index", "build", "docs", "-d"]).arg(&database));
        }
        for query in QUERIES {
            let expected = similar(&sandbox, &database, query);
            let statements = statements(query);
            for statement in &statements {
                let got = ranking(&shell(&sandbox, &sqlite3, &database, statement));
                assert_same(&expected, &got, &format!("sqlite3, indexed {indexed}: {statement}"));
            }
            for (statement, rows) in
                statements.iter().zip(python(&sandbox, &python_executable, &database, &statements))
            {
                let got = ranking(&rows);
                assert_same(&expected, &got, &format!("python, indexed {indexed}: {statement}"));
            }
        }
    }
    // The other functions, in the shell.
    let rows = shell(
        &sandbox,
        &sqlite3,
        &database,
        "select count(*) as n, emb_dims(emb_average(embedding)) as dims, \
         emb_dims(emb_decode(min(embedding))) as decoded from embeddings",
    );
    assert_eq!(rows[0], serde_json::json!({"n": 206, "dims": 384, "decoded": 384}));
}

#[test]
fn emb_sql_runs_sql_with_the_functions_and_a_view_of_the_collection() {
    let sandbox = Sandbox::with_model();
    let database = collection(&sandbox);
    let query = QUERIES[0];
    let expected = similar(&sandbox, &database, query);
    for statement in [
        format!(
            "select id, emb_cosine(embedding, emb_embed('{query}')) as score from items \
             order by score desc limit 5"
        ),
        format!("select id, score from emb_search('docs', '{query}', 5)"),
    ] {
        let (stdout, _) =
            success(sandbox.emb().args(["sql", "docs", &statement, "-d"]).arg(&database));
        assert_same(&expected, &ranking(&json_lines(&stdout)), &statement);
    }
    let (stdout, _) = success(
        sandbox
            .emb()
            .args(["sql", "docs", "select emb_encode('[1, 2]') as v, 3 as n, null as z", "-d"])
            .arg(&database),
    );
    assert_eq!(
        json_lines(&stdout)[0],
        serde_json::json!({"v": {"$base64": true, "encoded": "AACAPwAAAEA="}, "n": 3, "z": null})
    );
    let stderr = failure(
        sandbox.emb().args(["sql", "docs", "select emb_cosine(x'00', '[1]')", "-d"]).arg(&database),
    );
    assert!(stderr.contains("emb_cosine: argument 1 is a blob of 1 bytes"), "{stderr}");
    let stderr = failure(sandbox.emb().args(["sql", "nope", "select 1", "-d"]).arg(&database));
    assert!(stderr.contains("no collection \"nope\""), "{stderr}");
}
