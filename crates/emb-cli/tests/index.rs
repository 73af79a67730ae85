//! Search indexes through the real `emb` binary: building, agreeing with exact search, staying
//! current through emb's writes and another writer's, never used when damaged, and hybrid
//! keyword + vector search.

mod common;

use std::collections::HashSet;
use std::fmt::Write as _;

use common::{json_lines, success, Sandbox};
use rusqlite::Connection;

/// 1,500 items of 24 dimensions around 30 centres, as `emb collections import` reads them.
/// Imports [`clustered_items`] of `seed` as collection "points"; returns the file imported.
fn import_points(sandbox: &Sandbox, seed: u64) -> std::path::PathBuf {
    let items = sandbox.file("items.jsonl", clustered_items(seed));
    success(
        sandbox
            .emb()
            .args(["collections", "import", "points"])
            .arg(&items)
            .args(["-m", "test-vectors"]),
    );
    items
}

fn clustered_items(seed: u64) -> String {
    let mut state = seed;
    let mut next = move || {
        state =
            state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    };
    let centres: Vec<Vec<f32>> = (0..30).map(|_| (0..24).map(|_| next()).collect()).collect();
    let mut lines = String::new();
    for index in 0..1500 {
        let vector: Vec<f32> = centres[index % 30].iter().map(|x| x + 0.5 * next()).collect();
        let metadata = serde_json::json!({"group": index % 3});
        let line = serde_json::json!({"id": format!("item-{index:04}"), "embedding": vector, "metadata": metadata});
        writeln!(lines, "{line}").unwrap();
    }
    lines
}

fn ids(stdout: &str) -> Vec<String> {
    json_lines(stdout).iter().map(|hit| hit["id"].as_str().unwrap().to_owned()).collect()
}

fn similar(sandbox: &Sandbox, arguments: &[&str]) -> (Vec<String>, String) {
    let (stdout, stderr) = success(sandbox.emb().args(["similar", "points"]).args(arguments));
    (ids(&stdout), stderr)
}

#[test]
fn an_index_agrees_with_exact_search_and_stays_current() {
    let sandbox = Sandbox::new();
    let items = import_points(&sandbox, 3);
    let (_, stderr) =
        success(sandbox.emb().args(["index", "build", "points", "--quantize", "int8"]));
    assert!(stderr.contains("points: index of 1500 items built"), "{stderr}");
    let (info, _) = success(sandbox.emb().args(["index", "info", "points"]));
    assert!(info.contains("state:        current"), "{info}");
    assert!(info.contains("quantize = int8"), "{info}");

    // The index finds what the exact scan finds.
    let mut agreed = 0;
    for query in (0..1500).step_by(75) {
        let id = format!("item-{query:04}");
        let (indexed, stderr) = similar(&sandbox, &[&id]);
        assert!(stderr.is_empty(), "{stderr}");
        let (exact, _) = similar(&sandbox, &[&id, "--exact"]);
        assert!(!indexed.contains(&id));
        let exact: HashSet<&String> = exact.iter().collect();
        agreed += indexed.iter().filter(|id| exact.contains(id)).count();
    }
    assert!(agreed >= 190, "recall@10 {agreed} / 200");

    // A filter still returns 10, all passing it.
    let (filtered, _) = similar(&sandbox, &["item-0000", "--where", "group = 1"]);
    assert_eq!(filtered.len(), 10);
    assert!(filtered.iter().all(|id| id[5..].parse::<usize>().unwrap() % 3 == 1), "{filtered:?}");

    // emb's writes update the index: a changed item moves, and the index says it is current.
    let near_zero = std::fs::read_to_string(&items)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .replace("item-0000", "item-moved");
    let moved = sandbox.file("moved.jsonl", format!("{near_zero}\n"));
    success(sandbox.emb().args(["collections", "import", "points"]).arg(&moved));
    let (info, _) = success(sandbox.emb().args(["index", "info", "points"]));
    assert!(info.contains("state:        current"), "{info}");
    assert!(info.contains("items:        1501"), "{info}");
    let (found, _) = similar(&sandbox, &["item-0000", "-n", "1"]);
    assert_eq!(found, ["item-moved"]);

    // Another writer (llm, or SQL) deletes an item: the index catches up on the next search.
    let connection = Connection::open(sandbox.database()).unwrap();
    connection.execute("DELETE FROM embeddings WHERE id = 'item-moved'", []).unwrap();
    let (info, _) = success(sandbox.emb().args(["index", "info", "points"]));
    assert!(info.contains("1 changed items not yet saved"), "{info}");
    let (found, stderr) = similar(&sandbox, &["item-0000", "-n", "3"]);
    assert!(!found.contains(&"item-moved".to_owned()), "{found:?}");
    assert!(stderr.is_empty(), "{stderr}");

    // A damaged index is never used: the search scans exactly and says so; the next write
    // rebuilds it.
    let folder = sandbox.path().join("embeddings.db.emb");
    let file = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.file_name().unwrap().to_string_lossy().starts_with("hnsw-"))
        .unwrap();
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let (found, stderr) = similar(&sandbox, &["item-0000", "-n", "3"]);
    assert!(
        stderr.contains("searching \"points\" exactly") && stderr.contains("emb index build"),
        "{stderr}"
    );
    assert_eq!(found.len(), 3);
    let (_, stderr) = success(sandbox.emb().args(["collections", "import", "points"]).arg(&moved));
    assert!(stderr.contains("rebuilding the index"), "{stderr}");
    let (info, _) = success(sandbox.emb().args(["index", "info", "points"]));
    assert!(info.contains("state:        current"), "{info}");

    // Dropped: searches scan again, and info says there is none.
    let (_, stderr) = success(sandbox.emb().args(["index", "drop", "points"]));
    assert!(stderr.contains("index dropped"), "{stderr}");
    let output = sandbox.emb().args(["index", "info", "points"]).output().unwrap();
    assert!(String::from_utf8_lossy(&output.stderr).contains("has no index"));
    let (found, _) = similar(&sandbox, &["item-0000", "-n", "3"]);
    assert_eq!(found.len(), 3);
}

#[test]
fn hybrid_search_fuses_keywords_with_vectors() {
    let sandbox = Sandbox::with_model();
    let input = sandbox.file(
        "notes.jsonl",
        r#"{"id": "kettle", "text": "Descale the kettle with vinegar once a month."}
{"id": "zx81", "text": "The ZX81 had one kilobyte of memory."}
{"id": "tea", "text": "Green tea tastes best brewed below boiling."}
{"id": "coffee", "text": "Grind coffee beans just before brewing."}
"#,
    );
    success(sandbox.emb().args(["embed-multi", "notes"]).arg(&input).arg("--store"));
    // A rare word the model knows little about: the keyword ranking brings its item up.
    let (stdout, _) =
        success(sandbox.emb().args(["similar", "notes", "-c", "ZX81", "--hybrid", "-n", "2"]));
    let hits = json_lines(&stdout);
    assert_eq!(hits[0]["id"], "zx81");
    // Fused scores: 1/61 + 1/61 for an item first in both rankings.
    let score = hits[0]["score"].as_f64().unwrap();
    assert!(score <= 2.0 / 61.0 + 1e-6 && score > 1.0 / 61.0, "{score}");

    // Content another writer stores is indexed too.
    let connection = Connection::open(sandbox.database()).unwrap();
    connection
        .execute(
            "INSERT INTO embeddings (collection_id, id, embedding, content)
             SELECT collection_id, 'copy', embedding, 'a note about flux capacitors'
             FROM embeddings WHERE id = 'tea'",
            [],
        )
        .unwrap();
    // Its vector is tea's, so only the keyword ranking puts it first.
    let search = ["similar", "notes", "-c", "capacitors", "-n", "1"];
    let (stdout, _) = success(sandbox.emb().args(search));
    assert_ne!(ids(&stdout), ["copy"], "{stdout}");
    let (stdout, _) = success(sandbox.emb().args(search).arg("--hybrid"));
    assert_eq!(ids(&stdout), ["copy"], "{stdout}");
    let (stdout, _) = success(sandbox.emb().args([
        "similar",
        "notes",
        "-c",
        "capacitors",
        "--hybrid",
        "--where",
        "x = 1",
    ]));
    assert!(stdout.is_empty(), "{stdout}");

    // From a stored item, the keywords are its own content: this one has the kettle's vector
    // but speaks of the ZX81, so only the hybrid search from it puts the ZX81 first.
    connection
        .execute(
            "INSERT INTO embeddings (collection_id, id, embedding, content)
             SELECT collection_id, 'memory', embedding, 'ZX81 kilobyte memory'
             FROM embeddings WHERE id = 'kettle'",
            [],
        )
        .unwrap();
    let from_item = ["similar", "notes", "memory", "-n", "1"];
    let (stdout, _) = success(sandbox.emb().args(from_item));
    assert_eq!(ids(&stdout), ["kettle"], "{stdout}");
    let (stdout, _) = success(sandbox.emb().args(from_item).arg("--hybrid"));
    assert_eq!(ids(&stdout), ["zx81"], "{stdout}");
}

/// The cache file of `kind` (`hnsw`, `vectors`) beside the sandbox's database.
fn cache_file(sandbox: &Sandbox, kind: &str) -> std::path::PathBuf {
    std::fs::read_dir(sandbox.path().join("embeddings.db.emb"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.file_name().unwrap().to_string_lossy().starts_with(&format!("{kind}-")))
        .unwrap()
}

/// Where section `index` of an index file starts and how long it is (the header's table).
fn section(bytes: &[u8], index: usize) -> (usize, usize) {
    let at = 128 + 16 * index;
    let number = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
    (number(at), number(at + 8))
}

/// `bytes` with up to 4 KB from `at` replaced by bytes of a seeded generator.
fn damaged(bytes: &[u8], at: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    let mut damaged = bytes.to_vec();
    let end = (at + 4096).min(bytes.len());
    for byte in &mut damaged[at..end] {
        state =
            state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        *byte = (state >> 56) as u8;
    }
    damaged
}

#[test]
fn damaged_index_and_vector_files_are_never_used() {
    let sandbox = Sandbox::new();
    let items = sandbox.file("items.jsonl", clustered_items(5));
    let import = ["collections", "import", "points"];
    success(sandbox.emb().args(import).arg(&items).args(["-m", "test-vectors"]));
    success(sandbox.emb().args(["index", "build", "points", "--quantize", "int8"]));
    let queries: Vec<String> = (0..1500).step_by(150).map(|row| format!("item-{row:04}")).collect();
    let search = |extra: &[&str]| -> Vec<(String, String)> {
        queries
            .iter()
            .map(|id| success(sandbox.emb().args(["similar", "points", id]).args(extra)))
            .collect()
    };
    let exact: Vec<String> = search(&["--exact"]).into_iter().map(|(stdout, _)| stdout).collect();
    assert!(search(&[]).iter().all(|(_, stderr)| stderr.is_empty()));

    let index = cache_file(&sandbox, "hnsw");
    let whole = std::fs::read(&index).unwrap();
    // Sections: 1 id bytes, 5 level-0 links, 7 upper links, 9 codes, 10 full vectors, 12 the
    // full vectors' sums; the header; the file's last 4 KB; four blocks at once, as in issue 25;
    // and a file of the format before checksums.
    let mut cases: Vec<(String, Vec<u8>)> = [1, 5, 7, 9, 10, 12]
        .iter()
        .map(|&index| {
            let (offset, length) = section(&whole, index);
            (format!("section {index}"), damaged(&whole, offset + length / 3, index as u64))
        })
        .collect();
    cases.push(("header".into(), damaged(&whole, 0, 1)));
    cases.push(("tail".into(), damaged(&whole, whole.len() - 4096, 2)));
    let mut four = whole.clone();
    for (block, seed) in [(3, 3), (40, 4), (95, 5), (150, 6)] {
        four = damaged(&four, (block * 4096).min(whole.len() - 4096), seed);
    }
    cases.push(("four blocks".into(), four));
    let mut old = whole.clone();
    old[8..12].copy_from_slice(&1_u32.to_le_bytes());
    cases.push(("format version 1".into(), old));
    for (case, bytes) in &cases {
        std::fs::write(&index, bytes).unwrap();
        let (info, _) = success(sandbox.emb().args(["index", "info", "points"]));
        assert!(info.contains("state:        unusable"), "{case}: {info}");
        // Codes and full vectors are checked as a search reads them: with as many candidates
        // as items, every one is read, so damage anywhere is found.
        for ((stdout, stderr), expected) in search(&["--ef", "1500"]).iter().zip(&exact) {
            assert_eq!(stdout, expected, "{case}");
            assert!(
                stderr.contains("searching \"points\" exactly")
                    && stderr.contains("cannot be used"),
                "{case}: {stderr}"
            );
        }
    }
    // The next write rebuilds it.
    let first = std::fs::read_to_string(&items).unwrap().lines().next().unwrap().to_owned();
    let moved = sandbox.file("moved.jsonl", first.replace("item-0000", "item-moved") + "\n");
    let (_, stderr) = success(sandbox.emb().args(import).arg(&moved));
    assert!(stderr.contains("rebuilding the index"), "{stderr}");
    let (info, _) = success(sandbox.emb().args(["index", "info", "points"]));
    assert!(info.contains("state:        current"), "{info}");

    // The vector cache an exact scan reads: damaged anywhere, it is read again from the database.
    let exact_search = ["similar", "points", &queries[1], "--exact"];
    let (expected, _) = success(sandbox.emb().args(exact_search));
    let vectors = cache_file(&sandbox, "vectors");
    let whole = std::fs::read(&vectors).unwrap();
    for at in [0, whole.len() / 2, whole.len() - 4096, whole.len() - 10] {
        std::fs::write(&vectors, damaged(&whole, at, at as u64)).unwrap();
        let (stdout, stderr) = success(sandbox.emb().args(exact_search));
        assert_eq!(stdout, expected, "vectors damaged at {at}");
        assert!(stderr.contains("reading the vectors from the database"), "{at}: {stderr}");
        let (_, stderr) = success(sandbox.emb().args(exact_search));
        assert!(stderr.is_empty(), "{stderr}");
    }
}

#[test]
fn info_reports_the_settings_of_the_file_a_killed_build_left() {
    let sandbox = Sandbox::new();
    import_points(&sandbox, 7);
    success(sandbox.emb().args(["index", "build", "points"]));
    let index = cache_file(&sandbox, "hnsw");
    let full = std::fs::read(&index).unwrap();
    // An int8 build records its settings, then is killed before it replaces the file: the
    // same as putting the f32 file back after it finished.
    success(sandbox.emb().args(["index", "build", "points", "--quantize", "int8"]));
    std::fs::write(&index, &full).unwrap();
    let (info, _) = success(sandbox.emb().args(["index", "info", "points"]));
    assert!(info.contains("state:        current"), "{info}");
    assert!(
        info.contains("settings:     m = 16, ef_construction = 200, quantize = none"),
        "{info}"
    );
    assert!(
        info.contains("requested:    m = 16, ef_construction = 200, quantize = int8"),
        "{info}"
    );
    let (json, _) = success(sandbox.emb().args(["index", "info", "points", "--json"]));
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["settings"]["quantize"], "none");
    assert_eq!(json["requested"]["quantize"], "int8");
    // Built again, the file has what was asked for.
    success(sandbox.emb().args(["index", "build", "points", "--quantize", "int8"]));
    let (info, _) = success(sandbox.emb().args(["index", "info", "points"]));
    assert!(info.contains("quantize = int8") && !info.contains("requested"), "{info}");
}
