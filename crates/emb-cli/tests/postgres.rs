//! The same commands on PostgreSQL with pgvector as on SQLite, through the real `emb` binary:
//! search (exact, filtered, with pgvector's HNSW index, hybrid), related items, clustering,
//! copies between the two in both directions, and a server killed in the middle of an ingest.
//!
//! These tests need a server: `EMB_TEST_POSTGRES` (set by scripts/with-postgres, which `make
//! test` runs them under). Without one they say so and pass.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::{failure, json_lines, success, tiny_model_folder, Sandbox};

/// One test at a time: one of them stops and restarts the server.
static SERVER: Mutex<()> = Mutex::new(());

fn server() -> MutexGuard<'static, ()> {
    SERVER.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A fresh database named `name` on the test server, as a URL; `None` without a server.
fn fresh_database(name: &str) -> Option<String> {
    let Ok(url) = std::env::var("EMB_TEST_POSTGRES") else {
        eprintln!("skipped: EMB_TEST_POSTGRES is not set (`make test` runs a server)");
        return None;
    };
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("the test server");
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let base = url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base);
    Some(format!("{base}/{name}"))
}

fn count(url: &str, collection: &str) -> i64 {
    let mut client = postgres::Client::connect(url, postgres::NoTls).expect("the test server");
    let id: i32 = client
        .query_one("SELECT id FROM emb_collections WHERE name = $1", &[&collection])
        .unwrap()
        .get(0);
    client.query_one(&format!("SELECT count(*) FROM emb_items_{id}"), &[]).unwrap().get(0)
}

/// 1,200 items of 16 dimensions around 20 centres, with metadata, as `emb collections import`
/// reads them.
fn clustered_items() -> String {
    let mut state = 11_u64;
    let mut next = move || {
        state =
            state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    };
    let centres: Vec<Vec<f32>> = (0..20).map(|_| (0..16).map(|_| next()).collect()).collect();
    let mut lines = String::new();
    for index in 0..1200 {
        let vector: Vec<f32> = centres[index % 20].iter().map(|x| x + 0.4 * next()).collect();
        let words = ["alpha river", "beta mountain", "gamma forest"][index % 3];
        let line = serde_json::json!({
            "id": format!("item-{index:04}"),
            "embedding": vector,
            "content": format!("{words} {index}"),
            "metadata": {"group": index % 3, "name": format!("n{index}")},
        });
        writeln!(lines, "{line}").unwrap();
    }
    lines
}

fn hits(stdout: &str) -> Vec<(String, f64)> {
    json_lines(stdout)
        .iter()
        .map(|hit| (hit["id"].as_str().unwrap().to_owned(), hit["score"].as_f64().unwrap()))
        .collect()
}

fn similar(sandbox: &Sandbox, database: &str, arguments: &[&str]) -> Vec<(String, f64)> {
    let (stdout, _) =
        success(sandbox.emb().args(["similar", "points", "-d", database]).args(arguments));
    hits(&stdout)
}

fn same_hits(sqlite: &[(String, f64)], postgres: &[(String, f64)], what: &str) {
    assert_eq!(sqlite.len(), postgres.len(), "{what}");
    for ((left, a), (right, b)) in sqlite.iter().zip(postgres) {
        assert_eq!(left, right, "{what}: {sqlite:?} vs {postgres:?}");
        assert!((a - b).abs() < 1e-5, "{what}: {a} vs {b}");
    }
}

#[test]
fn commands_answer_on_postgres_as_on_sqlite() {
    let _server = server();
    let Some(url) = fresh_database("emb_cli_commands") else { return };
    let sandbox = Sandbox::new();
    let items = sandbox.file("items.jsonl", clustered_items());
    let sqlite = sandbox.database().display().to_string();
    for database in [sqlite.as_str(), url.as_str()] {
        success(sandbox.emb().args(["collections", "import", "points"]).arg(&items).args([
            "-m",
            "test-vectors",
            "-d",
            database,
        ]));
    }
    let (info, _) = success(sandbox.emb().args(["collections", "info", "points", "-d", &url]));
    assert!(info.contains("items:      1200") && info.contains("dimensions: 16"), "{info}");

    // Exact searches agree, by id, by filter, by prefix and with a threshold.
    for arguments in [
        &["item-0007", "--exact", "-n", "15"][..],
        &["item-0007", "--exact", "-n", "15", "--where", "group = 1 and name != 'n31'"],
        &["item-0007", "--exact", "-n", "15", "--prefix", "item-01"],
        &["item-0007", "--exact", "-n", "1000", "--threshold", "0.8"],
        &["item-0007", "--hybrid", "-n", "10", "--where", "group >= 1"],
    ] {
        let expected = similar(&sandbox, &sqlite, arguments);
        let found = similar(&sandbox, &url, arguments);
        same_hits(&expected, &found, &format!("{arguments:?}"));
    }

    // pgvector's index: built with the same flags, used by default, and `--ef` reaches it.
    let (_, stderr) = success(
        sandbox
            .emb()
            .args(["index", "build", "points", "--m", "12", "--ef-construction", "64"])
            .args(["-d", &url]),
    );
    assert!(stderr.contains("points: index of 1200 items built"), "{stderr}");
    let (info, _) = success(sandbox.emb().args(["index", "info", "points", "-d", &url]));
    assert!(info.contains("pgvector HNSW") && info.contains("m = 12"), "{info}");
    let refused = failure(sandbox.emb().args([
        "index",
        "build",
        "points",
        "--quantize",
        "binary",
        "-d",
        &url,
    ]));
    assert!(refused.contains("--quantize binary"), "{refused}");
    let mut agreed = 0;
    let mut total = 0;
    for index in (0..1200).step_by(40) {
        let id = format!("item-{index:04}");
        let exact: Vec<String> = similar(&sandbox, &url, &[&id, "--exact", "-n", "10"])
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let indexed = similar(&sandbox, &url, &[&id, "-n", "10", "--ef", "80"]);
        agreed += indexed.iter().filter(|(id, _)| exact.contains(id)).count();
        total += exact.len();
    }
    let recall = agreed as f64 / total as f64;
    assert!(recall >= 0.95, "recall@10 with the index: {recall}");
    // A filtered search through the index still returns k results.
    let filtered =
        similar(&sandbox, &url, &["item-0007", "-n", "30", "--where", "name = 'n5' or group = 2"]);
    assert_eq!(filtered.len(), 30);

    // Related items and clusters agree.
    let related = |database: &str| {
        let (stdout, _) = success(
            sandbox.emb().args(["related", "points", "-n", "3", "--store", "-d", database]),
        );
        json_lines(&stdout)
    };
    let (expected, found) = (related(&sqlite), related(&url));
    assert_eq!(expected.len(), 1200);
    for (left, right) in expected.iter().zip(&found) {
        assert_eq!(left["id"], right["id"]);
        assert_eq!(left["related"][0]["id"], right["related"][0]["id"]);
    }
    let clusters = |database: &str| {
        let (stdout, _) =
            success(sandbox.emb().args(["cluster", "points", "-k", "20", "-d", database]));
        stdout
    };
    assert_eq!(clusters(&sqlite), clusters(&url));

    // Text in, through a model: embed-multi skips unchanged items on a rerun.
    let texts = sandbox.file(
        "texts.jsonl",
        (0..50).fold(String::new(), |mut lines, index| {
            let _ = writeln!(lines, "{}", serde_json::json!({"id": index, "text": format!("note number {index} about rivers")}));
            lines
        }),
    );
    let embed = |database: &str| {
        success(
            sandbox
                .emb()
                .args(["embed-multi", "notes"])
                .arg(&texts)
                .arg("-m")
                .arg(tiny_model_folder())
                .args(["--store", "-d", database]),
        )
        .1
    };
    assert!(embed(&url).contains("50 embedded"));
    assert!(embed(&url).contains("50 unchanged"));
    let (stdout, _) = success(
        sandbox
            .emb()
            .args(["similar", "notes", "-c", "rivers number 7", "-n", "3", "--hybrid"])
            .args(["-d", &url]),
    );
    assert_eq!(json_lines(&stdout).len(), 3);
}

#[test]
fn collections_copy_both_ways_and_resume() {
    let _server = server();
    let Some(url) = fresh_database("emb_cli_copy") else { return };
    let sandbox = Sandbox::new();
    let items = sandbox.file("items.jsonl", clustered_items());
    let sqlite = sandbox.database().display().to_string();
    success(sandbox.emb().args(["collections", "import", "points"]).arg(&items).args([
        "-m",
        "test-vectors",
        "-d",
        &sqlite,
    ]));
    let copy = |from: &str, to: &str| {
        success(
            sandbox
                .emb()
                .args(["collections", "copy", "points", "--from", from, "--to", to])
                .args(["--batch-size", "500"]),
        )
        .1
    };
    let first = copy(&sqlite, &url);
    assert!(first.contains("1200 items copied, 0 already there, 1200 in"), "{first}");
    // Interrupted after some batches: the rerun copies only the rest.
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    client.batch_execute("DELETE FROM emb_items_1 WHERE id >= 'item-0900'").unwrap();
    let resumed = copy(&sqlite, &url);
    assert!(resumed.contains("300 items copied, 900 already there"), "{resumed}");
    let back = sandbox.path().join("back.db").display().to_string();
    let returned = copy(&url, &back);
    assert!(returned.contains("1200 items copied"), "{returned}");
    let export = |database: &str| {
        success(sandbox.emb().args(["collections", "export", "points", "-d", database])).0
    };
    assert_eq!(export(&sqlite), export(&back), "the round trip keeps every item as it was");
    // A target holding items the source lacks fails the count check.
    client.batch_execute("INSERT INTO emb_items_1 (id, embedding) SELECT 'extra', embedding FROM emb_items_1 LIMIT 1").unwrap();
    let stderr = failure(sandbox.emb().args([
        "collections",
        "copy",
        "points",
        "--from",
        &sqlite,
        "--to",
        &url,
    ]));
    assert!(stderr.contains("holds 1201 items") && stderr.contains("holds 1200"), "{stderr}");
}

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts")
}

fn server_control(action: &str) {
    let status = std::process::Command::new(scripts().join("postgres-ctl"))
        .arg(action)
        .status()
        .expect("scripts/postgres-ctl runs");
    assert!(status.success(), "postgres-ctl {action} failed");
}

#[test]
fn a_server_killed_mid_ingest_fails_cleanly_and_a_rerun_completes() {
    let _server = server();
    let Some(url) = fresh_database("emb_cli_killed") else { return };
    let sandbox = Sandbox::new();
    let total = 6000;
    let texts = sandbox.file(
        "texts.jsonl",
        (0..total).fold(String::new(), |mut lines, index| {
            let text = format!("item {index} says {} things", index * 7 % 13);
            let _ = writeln!(
                lines,
                "{}",
                serde_json::json!({"id": format!("t{index:05}"), "text": text})
            );
            lines
        }),
    );
    let ingest = || {
        let mut command = sandbox.process();
        command
            .args(["embed-multi", "texts"])
            .arg(&texts)
            .arg("-m")
            .arg(tiny_model_folder())
            .args(["--batch-size", "100", "-d", &url]);
        command
    };
    let mut child = ingest().stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    // Kill the server once some batches are in.
    let started = Instant::now();
    loop {
        let stored = postgres::Client::connect(&url, postgres::NoTls)
            .ok()
            .and_then(|mut client| {
                client
                    .query_opt(
                        "SELECT count(*) FROM pg_tables WHERE tablename = 'emb_items_1'",
                        &[],
                    )
                    .ok()
                    .flatten()
                    .map(|row| row.get::<_, i64>(0))
            })
            .unwrap_or(0);
        if stored > 0 && count(&url, "texts") >= 300 {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "the ingest ended before the kill");
        assert!(started.elapsed() < Duration::from_secs(60), "nothing was stored");
        std::thread::sleep(Duration::from_millis(20));
    }
    server_control("kill");
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "emb must fail when the server dies:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("the unfinished batch was not kept") || stderr.contains("connect"),
        "{stderr}"
    );
    server_control("start");

    let stored = count(&url, "texts");
    assert!(stored > 0 && stored < total, "stored {stored}");
    assert_eq!(stored % 100, 0, "only whole batches are stored, not {stored}");
    let output = ingest().output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("{stored} unchanged")), "{stderr}");
    assert_eq!(count(&url, "texts"), total);
}
