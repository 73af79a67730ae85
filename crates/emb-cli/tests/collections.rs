//! Collections through the real `emb` binary: embed-multi from every input, similar, the
//! collections commands, skipping unchanged items, and bad input that never half-writes.

mod common;

use std::fmt::Write as _;

use common::{failure, json_lines, success, tiny_model_folder, Sandbox};
use rusqlite::Connection;

const ANIMALS: &str = r#"{"id": "cat", "text": "The cat sat on the mat and purred."}
{"id": "dog", "text": "A dog barked at the postman all morning."}
{"id": "sqlite", "text": "SQLite is a small, fast, self-contained SQL database engine."}
{"id": "backup", "text": "Back up a SQLite database online with the backup API."}
{"id": "pasta", "text": "Boil the pasta in salted water for nine minutes."}
"#;

fn count(sandbox: &Sandbox, collection: &str) -> i64 {
    Connection::open(sandbox.database())
        .unwrap()
        .query_row(
            "SELECT count(*) FROM embeddings JOIN collections ON collections.id = collection_id
             WHERE collections.name = ?1",
            [collection],
            |row| row.get(0),
        )
        .unwrap()
}

#[test]
fn embed_multi_then_similar_finds_the_right_items() {
    let sandbox = Sandbox::with_model();
    let input = sandbox.file("animals.jsonl", ANIMALS);
    let (_, stderr) =
        success(sandbox.emb().args(["embed-multi", "things"]).arg(&input).arg("--store"));
    assert!(stderr.contains("things: 5 embedded, 0 updated, 0 unchanged"), "{stderr}");

    let (stdout, _) =
        success(sandbox.emb().args(["similar", "things", "-c", "sqlite backup tools", "-n", "2"]));
    let hits = json_lines(&stdout);
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0]["id"], "backup");
    assert_eq!(hits[1]["id"], "sqlite");
    assert_eq!(hits[0]["content"], "Back up a SQLite database online with the backup API.");
    let keys: Vec<&str> = hits[0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["id", "score", "content", "metadata"], "llm's key order");
    assert!(stdout.starts_with("{\"id\":\"backup\",\"score\":"), "llm's key order: {stdout}");

    // By id: the item itself is left out.
    let (stdout, _) = success(sandbox.emb().args(["similar", "things", "cat", "-n", "1"]));
    assert_eq!(json_lines(&stdout)[0]["id"], "dog");

    // Prefix, threshold and plain output.
    let (stdout, _) =
        success(sandbox.emb().args(["similar", "things", "-c", "database", "--prefix", "p"]));
    assert_eq!(
        json_lines(&stdout).iter().map(|hit| hit["id"].clone()).collect::<Vec<_>>(),
        ["pasta"]
    );
    let (stdout, _) = success(sandbox.emb().args([
        "similar",
        "things",
        "-c",
        "sqlite backup tools",
        "--threshold",
        "0.5",
    ]));
    assert!(json_lines(&stdout).iter().all(|hit| hit["score"].as_f64().unwrap() >= 0.5));
    let (stdout, _) =
        success(sandbox.emb().args(["similar", "things", "-c", "pets", "-n", "1", "--plain"]));
    assert!(stdout.starts_with("cat (0.") || stdout.starts_with("dog (0."), "{stdout}");

    // The same query through `emb embed` + a brute-force cosine agrees with the search.
    let (list, _) = success(sandbox.emb().args(["collections", "list", "--json"]));
    let listed = json_lines(&list);
    assert_eq!(listed[0]["name"], "things");
    assert_eq!(listed[0]["model"], "sentence-transformers/all-MiniLM-L6-v2");
    assert_eq!(listed[0]["count"], 5);
    assert_eq!(listed[0]["dimensions"], 384);
    let (info, _) = success(sandbox.emb().args(["collections", "info", "things"]));
    assert!(info.contains("items:      5"), "{info}");
}

#[test]
fn unchanged_items_are_skipped_and_changes_update() {
    let sandbox = Sandbox::with_model();
    let csv = "id,title,year\na,First title,2020\nb,Second title,2021\n";
    let input = sandbox.file("items.csv", csv);
    let embed = |extra: &[&str]| {
        let mut command = sandbox.emb();
        command.args(["embed-multi", "items"]).arg(&input).args(["--metadata-columns", "year"]);
        command.args(extra);
        success(&mut command).1
    };
    assert!(embed(&[]).contains("2 embedded, 0 updated, 0 unchanged"));
    let connection = Connection::open(sandbox.database()).unwrap();
    let stored_vector = |id: &str| -> Vec<u8> {
        connection
            .query_row("SELECT embedding FROM embeddings WHERE id = ?1", [id], |row| row.get(0))
            .unwrap()
    };
    let before = stored_vector("a");
    assert!(embed(&[]).contains("0 embedded, 0 updated, 2 unchanged"));

    // One text changes, one metadata value changes.
    std::fs::write(&input, "id,title,year\na,First title,1999\nb,Another title,2021\n").unwrap();
    assert!(embed(&[]).contains("0 embedded, 2 updated, 0 unchanged"));
    assert_eq!(stored_vector("a"), before, "a metadata change does not re-embed");
    let metadata: String = connection
        .query_row("SELECT metadata FROM embeddings WHERE id = 'a'", [], |row| row.get(0))
        .unwrap();
    assert_eq!(serde_json::from_str::<serde_json::Value>(&metadata).unwrap()["year"], "1999");
    let hash: Vec<u8> = connection
        .query_row("SELECT content_hash FROM embeddings WHERE id = 'b'", [], |row| row.get(0))
        .unwrap();
    assert_eq!(hash, emb::content_hash("Another title").to_vec(), "md5 of the text as embedded");
}

#[test]
fn every_input_kind_is_read() {
    let sandbox = Sandbox::with_model();
    let inputs = [
        ("a.csv", "id,text\ncsv-1,from a CSV file\n"),
        ("b.tsv", "id\ttext\ntsv-1\tfrom a TSV file\n"),
        ("c.json", r#"[{"id": "json-1", "text": "from a JSON array"}]"#),
        ("d.jsonl", "{\"id\": \"jsonl-1\", \"text\": \"from JSON lines\"}\n"),
        // The first key is the id whatever its name, as in llm: key order is kept.
        ("e.jsonl", "{\"slug\": \"ordered-1\", \"body\": \"keys in their order\"}\n"),
    ];
    for (name, text) in inputs {
        let path = sandbox.file(name, text);
        success(sandbox.emb().args(["embed-multi", "all"]).arg(&path).arg("--store"));
    }
    success(
        sandbox
            .emb()
            .args(["embed-multi", "all", "-", "--prefix", "stdin/", "--store"])
            .write_stdin("id,text\n1,from standard input\n"),
    );
    let notes = sandbox.path().join("notes");
    std::fs::create_dir_all(notes.join("deep")).unwrap();
    std::fs::write(notes.join("one.md"), "# One\nA note about gardening.").unwrap();
    std::fs::write(notes.join("deep/two.md"), "# Two\nA note about sailing.").unwrap();
    std::fs::write(notes.join("skip.txt"), "not markdown").unwrap();
    success(
        sandbox
            .emb()
            .args(["embed-multi", "all", "--files"])
            .arg(&notes)
            .args(["**/*.md", "--store"]),
    );

    let source = sandbox.path().join("source.db");
    Connection::open(&source)
        .unwrap()
        .execute_batch("CREATE TABLE posts (slug TEXT, body TEXT); INSERT INTO posts VALUES ('p1', 'from SQL');")
        .unwrap();
    success(
        sandbox
            .emb()
            .args([
                "embed-multi",
                "all",
                "--sql",
                "select slug, body from src.posts",
                "--attach",
                "src",
            ])
            .arg(&source)
            .arg("--store"),
    );
    let (stdout, _) = success(sandbox.emb().args(["collections", "export", "all"]));
    let mut ids: Vec<String> =
        json_lines(&stdout).iter().map(|line| line["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "csv-1",
            "deep/two.md",
            "json-1",
            "jsonl-1",
            "one.md",
            "ordered-1",
            "p1",
            "stdin/1",
            "tsv-1"
        ]
    );
}

#[test]
fn an_npy_export_never_overwrites_the_file_beside_it() {
    // The README's own flow: the input is notes.jsonl, and notes.npy's ids would go there.
    let sandbox = Sandbox::with_model();
    let input = sandbox.file("notes.jsonl", ANIMALS);
    success(sandbox.emb().args(["embed-multi", "notes"]).arg(&input).arg("--store"));
    let output = sandbox.path().join("notes.npy");
    let stderr = failure(sandbox.emb().args(["collections", "export", "notes", "-o"]).arg(&output));
    assert!(stderr.contains("notes.jsonl exists"), "{stderr}");
    assert!(stderr.contains("--overwrite"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&input).unwrap(), ANIMALS, "the input is untouched");
    assert!(!output.exists(), "nothing is written when the export is refused");

    let elsewhere = sandbox.path().join("vectors.npy");
    let (_, stderr) =
        success(sandbox.emb().args(["collections", "export", "notes", "-o"]).arg(&elsewhere));
    assert!(stderr.contains("vectors.npy and ") && stderr.contains("vectors.jsonl"), "{stderr}");
}

#[test]
fn export_and_import_round_trip_in_every_format() {
    let sandbox = Sandbox::with_model();
    let input = sandbox.file("animals.jsonl", ANIMALS);
    success(sandbox.emb().args(["embed-multi", "things"]).arg(&input).arg("--store"));
    success(sandbox.emb().args([
        "embed",
        "things",
        "meta",
        "-c",
        "A parrot talks",
        "--metadata",
        r#"{"kind": "bird"}"#,
    ]));
    let search = |collection: &str| {
        success(sandbox.emb().args(["similar", collection, "-c", "a pet animal", "-n", "6"])).0
    };
    let original = search("things");
    assert!(original.contains(r#""metadata":{"kind":"bird"}"#), "{original}");
    for extension in ["jsonl", "csv", "npy", "parquet"] {
        let file = sandbox.path().join(format!("things.{extension}"));
        let export = || {
            let mut command = sandbox.emb();
            command.args(["collections", "export", "things", "-o"]).arg(&file);
            command
        };
        if extension == "npy" {
            // things.jsonl, written above, is where the .npy's ids would go.
            let stderr = failure(&mut export());
            assert!(stderr.contains("things.jsonl exists") && stderr.contains("--overwrite"));
            success(export().arg("--overwrite"));
        } else {
            success(&mut export());
        }
        let copy = format!("copy-{extension}");
        let (_, stderr) = success(sandbox.emb().args(["collections", "import", &copy]).arg(&file));
        assert!(stderr.contains("imported 6 items"), "{extension}: {stderr}");
        assert_eq!(search(&copy), original, "{extension}");
    }
    let (stdout, _) = success(sandbox.emb().args(["collections", "export", "things"]));
    assert_eq!(json_lines(&stdout).len(), 6);

    let text = std::fs::read_to_string(sandbox.path().join("things.csv")).unwrap();
    assert!(text.starts_with("id,content,metadata,e0,e1,"));
    let bytes = std::fs::read(sandbox.path().join("things.npy")).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let header_length = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + header_length]).unwrap();
    assert!(header.contains("'shape': (6, 384)"), "{header}");
    assert_eq!((10 + header_length) % 64, 0);
    assert_eq!(bytes.len(), 10 + header_length + 6 * 384 * 4);
    assert!(std::fs::read(sandbox.path().join("things.parquet")).unwrap().starts_with(b"PAR1"));

    success(sandbox.emb().args(["collections", "delete", "copy-csv"]));
    let stderr = failure(sandbox.emb().args(["similar", "copy-csv", "-c", "x"]));
    assert!(
        stderr.contains("no collection named \"copy-csv\"") && stderr.contains("things"),
        "{stderr}"
    );
}

/// One bad input: what it is, and what the error must say.
struct Case {
    name: &'static str,
    input: Vec<u8>,
    says: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    let good = |id: &str| format!("{{\"id\": \"{id}\", \"text\": \"a good text {id}\"}}\n");
    let around = |bad: &str| {
        let mut input = good("g1") + &good("g2");
        input.push_str(bad);
        input.push_str(&good("g3"));
        input.into_bytes()
    };
    let mut invalid_utf8 = good("g1").into_bytes();
    invalid_utf8.extend_from_slice(&good("g2").into_bytes());
    invalid_utf8.extend_from_slice(b"{\"id\": \"x\", \"text\": \"caf\xe9\"}\n");
    invalid_utf8.extend_from_slice(&good("g3").into_bytes());
    vec![
        Case {
            name: "malformed JSON line",
            input: around("{\"id\": \"x\", \"text\": \n"),
            says: &["line 3", "malformed JSON"],
        },
        Case { name: "invalid UTF-8", input: invalid_utf8, says: &["line 3", "invalid UTF-8"] },
        Case {
            name: "NUL byte",
            input: around("{\"id\": \"x\", \"text\": \"a\\u0000b\"}\n"),
            says: &["line 3", "\"x\"", "NUL byte"],
        },
        Case {
            name: "empty text",
            input: around("{\"id\": \"x\", \"text\": \"  \"}\n"),
            says: &["line 3", "\"x\"", "empty"],
        },
        Case {
            name: "5 MB text",
            input: around(&format!(
                "{{\"id\": \"x\", \"text\": \"{}\"}}\n",
                "word ".repeat(1_000_000)
            )),
            says: &["line 3", "\"x\"", "5000000 bytes"],
        },
        Case {
            name: "duplicate id",
            input: around("{\"id\": \"g1\", \"text\": \"again\"}\n"),
            says: &["line 3", "\"g1\"", "duplicate id", "line 1"],
        },
        Case {
            name: "CSV row with too few columns",
            input: b"id,title,body\ng1,a,b\ng2,c,d\nx,only\ng3,e,f\n".to_vec(),
            says: &["line 4", "\"x\"", "2 columns; the header has 3"],
        },
    ]
}

#[test]
fn bad_input_names_the_line_and_never_half_writes_a_batch() {
    for case in cases() {
        let sandbox = Sandbox::with_model();
        let input = sandbox.file("input", &case.input);
        // Batches of two: g1 and g2 fill the first batch, the bad item sits in the second.
        let stderr =
            failure(sandbox.emb().args(["embed-multi", "c", "--batch-size", "2"]).arg(&input));
        for expected in case.says {
            assert!(stderr.contains(expected), "{}: {expected:?} not in {stderr}", case.name);
        }
        assert!(stderr.contains("2 items before it were stored"), "{}: {stderr}", case.name);
        assert_eq!(count(&sandbox, "c"), 2, "{}: only the whole first batch is stored", case.name);
        let check: String = Connection::open(sandbox.database())
            .unwrap()
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(check, "ok");

        let (_, stderr) = success(
            sandbox
                .emb()
                .args(["embed-multi", "c", "--batch-size", "2", "--skip-errors"])
                .arg(&input),
        );
        assert!(stderr.contains("skipped line"), "{}: {stderr}", case.name);
        assert!(
            stderr.contains("1 embedded, 0 updated, 2 unchanged, 1 bad items skipped"),
            "{}: {stderr}",
            case.name
        );
        assert_eq!(count(&sandbox, "c"), 3, "{}", case.name);
    }
}

#[test]
fn a_vector_of_the_wrong_size_or_another_model_is_refused() {
    let sandbox = Sandbox::with_model();
    let input = sandbox.file("animals.jsonl", ANIMALS);
    success(sandbox.emb().args(["embed-multi", "things"]).arg(&input));

    let wrong = sandbox.file(
        "wrong.jsonl",
        "{\"id\": \"ok\", \"embedding\": [1.0, 2.0, 3.0]}\n{\"id\": \"short\", \"embedding\": [1.0, 2.0]}\n",
    );
    let stderr = failure(sandbox.emb().args(["collections", "import", "three"]).arg(&wrong));
    assert!(
        stderr.contains("line 2") && stderr.contains("expected 3 dimensions, received 2"),
        "{stderr}"
    );
    let stderr = failure(sandbox.emb().args(["collections", "import", "things"]).arg(&wrong));
    assert!(
        stderr.contains("line 1") && stderr.contains("expected 384 dimensions, received 3"),
        "{stderr}"
    );
    assert_eq!(count(&sandbox, "things"), 5);

    let stderr = failure(
        sandbox
            .emb()
            .args(["embed-multi", "things"])
            .arg(&input)
            .arg("-m")
            .arg(tiny_model_folder()),
    );
    assert!(
        stderr.contains("was embedded with sentence-transformers/all-MiniLM-L6-v2"),
        "{stderr}"
    );
    let stderr = failure(
        sandbox.emb().args(["similar", "things", "-c", "x", "-m"]).arg(tiny_model_folder()),
    );
    assert!(stderr.contains("cannot be compared"), "{stderr}");
}

/// Filters nested too deep or too long (which once overflowed the stack and aborted with exit
/// code 134) are refused with a message that names the limit, and exit code 1.
#[test]
fn filters_past_the_limits_fail_clearly() {
    let sandbox = Sandbox::new();
    let input = sandbox.file("years.jsonl", "{\"id\": \"a\", \"text\": \"old\", \"year\": 1999}\n");
    success(
        sandbox
            .emb()
            .args(["embed-multi", "years"])
            .arg(&input)
            .args(["--metadata-columns", "year", "-m"])
            .arg(tiny_model_folder()),
    );
    let similar = |filter: &str| {
        let output = sandbox
            .emb()
            .args(["similar", "years", "-c", "old", "--where", filter])
            .output()
            .expect("emb runs");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.code(), stderr)
    };
    let chain = |count: usize| vec!["year > 1"; count].join(" and ");
    // (Each stays under Linux's 128 KiB limit on one argument.)
    for (filter, limit) in [
        (
            format!("{}year > 1{}", "(".repeat(12_000), ")".repeat(12_000)),
            "nests deeper than 64 levels",
        ),
        (
            format!("{}year > 1", "not ".repeat(30_000)),
            "nests deeper than 64 levels (of parentheses and `not`) at character 256",
        ),
        (format!("{}year > 1", "not ".repeat(3_000)), "nests deeper than 64 levels"),
        (chain(8_000), "more than 256 conditions"),
    ] {
        let (code, stderr) = similar(&filter);
        assert_eq!(code, Some(1), "{stderr}");
        assert!(stderr.starts_with("error: ") && stderr.contains(limit), "{stderr}");
        assert!(stderr.len() < 400, "the message repeats the filter: {stderr}");
    }
    let (code, stdout) = {
        let output = sandbox
            .emb()
            .args(["similar", "years", "-c", "old", "--where"])
            .arg(format!("{}{}", "not ".repeat(64), chain(256)))
            .output()
            .expect("emb runs");
        (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned())
    };
    assert_eq!(code, Some(0));
    assert_eq!(json_lines(&stdout).len(), 1, "a filter at the limits runs: {stdout}");
}

#[test]
fn embed_stores_one_item_with_metadata() {
    let sandbox = Sandbox::with_model();
    success(sandbox.emb().args([
        "embed",
        "notes",
        "n1",
        "-c",
        "Buy milk and eggs",
        "--store",
        "--metadata",
        r#"{"list": "shopping"}"#,
    ]));
    let (stdout, _) = success(sandbox.emb().args(["similar", "notes", "-c", "groceries"]));
    let hit = &json_lines(&stdout)[0];
    assert_eq!(hit["id"], "n1");
    assert_eq!(hit["content"], "Buy milk and eggs");
    assert_eq!(hit["metadata"]["list"], "shopping");
    let stderr =
        failure(sandbox.emb().args(["embed", "notes", "n2", "-c", "x", "--metadata", "[1]"]));
    assert!(stderr.contains("must be a JSON object"), "{stderr}");
}

#[test]
fn what_a_user_sees() {
    let sandbox = Sandbox::with_model();
    let input = sandbox.file("animals.jsonl", ANIMALS);
    let (_, stderr) =
        success(sandbox.emb().args(["embed-multi", "things"]).arg(&input).arg("--store"));
    // The summary line without its timing.
    let summary = stderr.lines().last().unwrap().split(" (").next().unwrap().to_owned();
    insta::assert_snapshot!("embed_multi_summary", summary);
    let (list, _) = success(sandbox.emb().args(["collections", "list"]));
    insta::assert_snapshot!("collections_list", list);
    let (plain, _) = success(sandbox.emb().args([
        "similar",
        "things",
        "-c",
        "sqlite backup tools",
        "-n",
        "2",
        "-p",
    ]));
    insta::assert_snapshot!("similar_plain", plain);
    let bad = sandbox
        .file("bad.jsonl", "{\"id\": \"a\", \"text\": \"fine\"}\n{\"id\": \"b\", \"text\": \n");
    let stderr = failure(sandbox.emb().args(["embed-multi", "things"]).arg(&bad));
    insta::assert_snapshot!("malformed_line_error", stderr);
}

#[test]
fn related_lists_every_items_neighbours_and_stores_them() {
    let sandbox = Sandbox::with_model();
    let input = sandbox.file("animals.jsonl", ANIMALS);
    success(sandbox.emb().args(["embed-multi", "things"]).arg(&input));
    let (stdout, stderr) = success(sandbox.emb().args(["related", "things", "-n", "2", "--store"]));
    assert!(stderr.contains("stored the 2 most related items of 5 items"), "{stderr}");
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), 5);
    for line in &lines {
        let id = line["id"].as_str().unwrap();
        let related = line["related"].as_array().unwrap();
        assert_eq!(related.len(), 2);
        // The same as a search by id.
        let (similar, _) = success(sandbox.emb().args(["similar", "things", id, "-n", "2"]));
        let expected: Vec<serde_json::Value> =
            json_lines(&similar).iter().map(|hit| hit["id"].clone()).collect();
        let found: Vec<serde_json::Value> = related.iter().map(|hit| hit["id"].clone()).collect();
        assert_eq!(found, expected, "{id}");
    }
    let stored: i64 = Connection::open(sandbox.database())
        .unwrap()
        .query_row("SELECT count(*) FROM emb_related WHERE rank <= 2", [], |row| row.get(0))
        .unwrap();
    assert_eq!(stored, 10);
}

#[test]
fn where_filters_on_metadata_before_ranking() {
    let sandbox = Sandbox::with_model();
    let mut csv = String::from("id,text,lang,year\n");
    for index in 0..40 {
        let lang = if index % 4 == 0 { "fr" } else { "en" };
        let year = 2000 + index;
        writeln!(csv, "d{index},Notes on database backups number {index},{lang},{year}").unwrap();
    }
    let input = sandbox.file("docs.csv", csv);
    success(
        sandbox
            .emb()
            .args(["embed-multi", "docs"])
            .arg(&input)
            .args(["--metadata-columns", "lang,year"]),
    );
    let (stdout, _) = success(sandbox.emb().args([
        "similar",
        "docs",
        "-c",
        "backups",
        "-n",
        "5",
        "--where",
        r#"lang = "fr" and year >= 2020"#,
    ]));
    let hits = json_lines(&stdout);
    // 10 items are in French; 5 of them from 2020 on (d20, d24, d28, d32, d36): all come back.
    let mut ids: Vec<&str> = hits.iter().map(|hit| hit["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["d20", "d24", "d28", "d32", "d36"]);
    let stderr = failure(sandbox.emb().args(["similar", "docs", "-c", "x", "--where", "lang =="]));
    assert!(stderr.contains("at character 6"), "{stderr}");

    // A misspelt field finds nothing, and says why.
    let (stdout, stderr) = success(sandbox.emb().args([
        "similar",
        "docs",
        "-c",
        "backups",
        "--where",
        r#"lnag = "fr" and year > 2000"#,
    ]));
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains(r#"no item of "docs" has the field "lnag""#)
            && stderr.contains(r#"has "lang", "year""#),
        "{stderr}"
    );
    // A filter on real fields that matches nothing is not a mistake to warn about.
    let (stdout, stderr) =
        success(sandbox.emb().args(["similar", "docs", "-c", "x", "--where", "year > 3000"]));
    assert!(stdout.is_empty() && !stderr.contains("warning"), "{stderr}");
}

#[test]
fn the_summary_names_the_text_columns_and_warns_about_labels() {
    let sandbox = Sandbox::with_model();
    let mut input = String::new();
    for index in 0..12 {
        let label = ["networking", "storage"][index % 2];
        writeln!(
            input,
            r#"{{"id": "p{index}", "text": "Paragraph {index} of the documentation.", "label": "{label}"}}"#
        )
        .unwrap();
    }
    let file = sandbox.file("labelled.jsonl", &input);
    let (_, stderr) = success(sandbox.emb().args(["embed-multi", "docs"]).arg(&file));
    assert!(stderr.contains(r#"text from columns "text", "label""#), "{stderr}");
    assert!(
        stderr.contains(r#"column "label" looks like a label"#)
            && stderr.contains("--text-column text")
            && stderr.contains("--metadata-columns label"),
        "{stderr}"
    );
    // Following the advice: the label is metadata, and the warning is gone.
    let (_, stderr) = success(
        sandbox.emb().args(["embed-multi", "docs2", "--metadata-columns", "label"]).arg(&file),
    );
    assert!(stderr.contains(r#"text from column "text""#), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
}
