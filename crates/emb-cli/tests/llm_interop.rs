//! `emb` and the real `llm` CLI (with llm-sentence-transformers) read each other's databases and
//! agree on the results.
//!
//! Needs `EMB_TEST_LLM`: the folder holding the `llm` executable of a venv made by
//! `bench/setup-peers` (`make test` sets it). Without it the test says so and does nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{json_lines, model_folder, reference_lines, success, Sandbox};

/// The `llm` CLI, offline, with the local all-MiniLM-L6-v2 folder standing in for the hub's.
struct Llm {
    executable: PathBuf,
    home: PathBuf,
    models: PathBuf,
}

impl Llm {
    fn new(sandbox: &Sandbox, bin: &Path) -> Self {
        // sentence-transformers finds `sentence-transformers/all-MiniLM-L6-v2` in a Hugging Face
        // style cache: refs/main names a snapshot folder, here a link to the model.
        let models = sandbox.path().join("sentence-transformers-cache");
        let cached = models.join("models--sentence-transformers--all-MiniLM-L6-v2");
        std::fs::create_dir_all(cached.join("refs")).unwrap();
        std::fs::create_dir_all(cached.join("snapshots")).unwrap();
        std::fs::write(cached.join("refs/main"), "local").unwrap();
        std::os::unix::fs::symlink(model_folder(), cached.join("snapshots/local")).unwrap();
        Self { executable: bin.join("llm"), home: sandbox.path().join("llm-home"), models }
    }

    fn run(&self, arguments: &[&str]) -> String {
        let output = Command::new(&self.executable)
            .args(arguments)
            .env("LLM_USER_PATH", &self.home)
            .env("HF_HUB_OFFLINE", "1")
            .env("SENTENCE_TRANSFORMERS_HOME", &self.models)
            .output()
            .expect("llm runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "llm {arguments:?} failed: {stderr}");
        String::from_utf8(output.stdout).unwrap()
    }
}

/// The ids and scores of similar-results JSON lines.
fn ranking(stdout: &str) -> Vec<(String, f64)> {
    json_lines(stdout)
        .iter()
        .map(|hit| (hit["id"].as_str().unwrap().to_owned(), hit["score"].as_f64().unwrap()))
        .collect()
}

fn assert_same_ranking(emb: &str, llm: &str, what: &str) {
    let (emb, llm) = (ranking(emb), ranking(llm));
    assert_eq!(emb.len(), llm.len(), "{what}");
    for ((emb_id, emb_score), (llm_id, llm_score)) in emb.iter().zip(&llm) {
        assert_eq!(emb_id, llm_id, "{what}: emb {emb:?}\nllm {llm:?}");
        assert!((emb_score - llm_score).abs() < 1e-4, "{what}: {emb_score} vs {llm_score}");
    }
}

#[test]
fn llm_and_emb_read_each_others_databases() {
    let Some(bin) = std::env::var_os("EMB_TEST_LLM").map(PathBuf::from) else {
        eprintln!("skipped: set EMB_TEST_LLM to the bin folder of bench/setup-peers' venv");
        return;
    };
    let sandbox = Sandbox::with_model();
    let llm = Llm::new(&sandbox, &bin);
    let lines = reference_lines();
    let items = lines.len();
    let input = sandbox.file("input.jsonl", lines.join("\n") + "\n");
    let input = input.to_str().unwrap();
    let llm_db = sandbox.path().join("llm.db");
    let llm_db = llm_db.to_str().unwrap();
    let emb_db = sandbox.path().join("emb.db");
    let emb_db = emb_db.to_str().unwrap();
    let model = "sentence-transformers/all-MiniLM-L6-v2";

    // llm writes; emb reads and finds the same top results, and sees every item as unchanged.
    let llm_embed_multi = |database: &str| {
        llm.run(&[
            "embed-multi",
            "docs",
            input,
            "--format",
            "nl",
            "--store",
            "-m",
            model,
            "-d",
            database,
        ])
    };
    llm_embed_multi(llm_db);
    // The sqlite3 shell with emb's extension searches llm's database as llm does, before emb
    // has ever opened it.
    if let Some(sqlite3) = std::env::var_os("EMB_TEST_SQLITE3") {
        let (extension, _) = success(sandbox.emb().arg("sql-extension-path"));
        let query = "read bytes from a file";
        for statement in [
            format!(
                "select id, emb_cosine(embedding, emb_embed('{query}', '{model}')) as score \
                 from embeddings order by score desc limit 5"
            ),
            format!("select id, score from emb_search('docs', '{query}', 5)"),
        ] {
            let output = Command::new(&sqlite3)
                .args(["-json", llm_db, &format!(".load {}", extension.trim()), &statement])
                .env("EMB_HOME", sandbox.path())
                .env("EMB_OFFLINE", "1")
                .output()
                .expect("sqlite3 runs");
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
            let rows: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
            let shell = rows.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
            let llm_on_llm = llm.run(&["similar", "docs", "-c", query, "-n", "5", "-d", llm_db]);
            assert_same_ranking(
                &shell,
                &llm_on_llm,
                &format!("sqlite3 on llm's database: {statement}"),
            );
        }
    }
    // emb writes the same items.
    let (_, stderr) =
        success(sandbox.emb().args(["embed-multi", "docs", input, "--store", "-d", emb_db]));
    assert!(stderr.contains(&format!("{items} embedded")), "{stderr}");

    for query in ["read bytes from a file", "network connection timeout"] {
        let emb_on_llm =
            success(sandbox.emb().args(["similar", "docs", "-c", query, "-n", "5", "-d", llm_db]))
                .0;
        let llm_on_llm = llm.run(&["similar", "docs", "-c", query, "-n", "5", "-d", llm_db]);
        assert_same_ranking(&emb_on_llm, &llm_on_llm, "emb reading llm's database");
        let llm_on_emb = llm.run(&["similar", "docs", "-c", query, "-n", "5", "-d", emb_db]);
        assert_same_ranking(&emb_on_llm, &llm_on_emb, "llm reading emb's database");
    }
    let first_id = ranking(
        &success(sandbox.emb().args(["similar", "docs", "-c", "file", "-n", "1", "-d", emb_db])).0,
    )[0]
    .0
    .clone();
    assert_same_ranking(
        &success(sandbox.emb().args(["similar", "docs", &first_id, "-n", "3", "-d", emb_db])).0,
        &llm.run(&["similar", "docs", &first_id, "-n", "3", "-d", emb_db]),
        "similar by id",
    );

    // The content hashes agree: emb sees llm's items as unchanged, and llm emb's.
    let (_, stderr) =
        success(sandbox.emb().args(["embed-multi", "docs", input, "--store", "-d", llm_db]));
    assert!(stderr.contains(&format!("0 embedded, 0 updated, {items} unchanged")), "{stderr}");
    // emb's triggers count every write, llm's too: llm rewriting nothing leaves the count alone.
    let writes = || -> i64 {
        rusqlite::Connection::open(emb_db)
            .unwrap()
            .query_row("SELECT sum(counter) FROM emb_generations", [], |row| row.get(0))
            .unwrap()
    };
    let before = writes();
    llm_embed_multi(emb_db);
    assert_eq!(writes(), before, "llm re-embedded items emb had stored");
    let (stdout, _) =
        success(sandbox.emb().args(["collections", "info", "docs", "--json", "-d", emb_db]));
    assert_eq!(json_lines(&stdout)[0]["count"], items);
    let listed = llm.run(&["collections", "list", "-d", emb_db]);
    assert!(
        listed.contains("docs: sentence-transformers/all-MiniLM-L6-v2")
            && listed.contains(&format!("{items} embeddings")),
        "{listed}"
    );
}
