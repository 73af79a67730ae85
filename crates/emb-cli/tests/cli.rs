//! The real `emb` binary, driven as a user would, in a temporary `EMB_HOME`.
//!
//! Tests that need the real all-MiniLM-L6-v2 pass its folder with `-m` (from
//! `EMB_TEST_MODEL_DIR`, else the default emb cache, where `make test` puts it).

mod common;

use std::path::PathBuf;

use common::{model_folder, Sandbox};
use predicates::prelude::*;

fn vector_from(stdout: &[u8]) -> Vec<f32> {
    serde_json::from_slice(stdout).expect("a JSON array")
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b))
}

fn reference(index: usize) -> (String, Vec<f32>) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/minilm-reference.jsonl");
    let line = std::fs::read_to_string(path).unwrap().lines().nth(index).unwrap().to_owned();
    let row: serde_json::Value = serde_json::from_str(&line).unwrap();
    let vector =
        row["embedding"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
    (row["text"].as_str().unwrap().to_owned(), vector)
}

#[test]
fn embed_prints_the_sentence_transformers_vector() {
    let sandbox = Sandbox::new();
    let (text, expected) = reference(3);
    let output = sandbox.emb_with_model(&["embed", "-c", &text]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let vector = vector_from(&output.stdout);
    assert_eq!(vector.len(), 384);
    assert!(cosine(&vector, &expected) >= 0.99999);
    assert!(output.stderr.is_empty(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn input_from_file_and_stdin_equal_content() {
    let sandbox = Sandbox::new();
    let file = sandbox.path().join("text.txt");
    std::fs::write(&file, "Hello world").unwrap();
    let direct = sandbox.emb_with_model(&["embed", "-c", "Hello world"]).output().unwrap().stdout;
    let from_file =
        sandbox.emb_with_model(&["embed", "-i", file.to_str().unwrap()]).output().unwrap().stdout;
    let from_stdin =
        sandbox.emb_with_model(&["embed"]).write_stdin("Hello world").output().unwrap().stdout;
    assert_eq!(direct, from_file);
    assert_eq!(direct, from_stdin);
}

#[test]
fn formats_encode_the_same_vector() {
    let sandbox = Sandbox::new();
    let json =
        vector_from(&sandbox.emb_with_model(&["embed", "-c", "formats"]).output().unwrap().stdout);
    let blob =
        sandbox.emb_with_model(&["embed", "-c", "formats", "-f", "blob"]).output().unwrap().stdout;
    assert_eq!(blob.len(), 384 * 4);
    let decoded: Vec<f32> =
        blob.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    assert_eq!(decoded, json);
    let hex =
        sandbox.emb_with_model(&["embed", "-c", "formats", "-f", "hex"]).output().unwrap().stdout;
    let expected_hex: String = blob.iter().fold(String::new(), |mut hex, byte| {
        use std::fmt::Write as _;
        write!(hex, "{byte:02x}").unwrap();
        hex
    });
    assert_eq!(String::from_utf8(hex).unwrap().trim(), expected_hex);
    let base64 = sandbox
        .emb_with_model(&["embed", "-c", "formats", "-f", "base64"])
        .output()
        .unwrap()
        .stdout;
    assert_eq!(String::from_utf8(base64).unwrap().trim().len(), (384 * 4usize).div_ceil(3) * 4);
}

#[test]
fn prompt_is_prepended() {
    let sandbox = Sandbox::new();
    let prompted = sandbox
        .emb_with_model(&["embed", "-c", "how to bake bread", "--prompt", "query: "])
        .output()
        .unwrap();
    let joined =
        sandbox.emb_with_model(&["embed", "-c", "query: how to bake bread"]).output().unwrap();
    let plain = sandbox.emb_with_model(&["embed", "-c", "how to bake bread"]).output().unwrap();
    assert_eq!(prompted.stdout, joined.stdout);
    assert_ne!(prompted.stdout, plain.stdout);
    sandbox
        .emb_with_model(&["embed", "-c", "x", "--prompt-name", "query"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("has no prompt named query; it has: none"));
}

#[test]
fn long_input_warns_about_truncation() {
    let sandbox = Sandbox::new();
    let long = "word ".repeat(300);
    sandbox.emb_with_model(&["embed", "-c", &long]).assert().success().stderr(
        predicate::str::contains("warning: the input is 302 tokens long")
            .and(predicate::str::contains("reads the first 256")),
    );
}

#[test]
fn tokens_shows_tokens_ids_and_count() {
    let sandbox = Sandbox::new();
    sandbox
        .emb_with_model(&["tokens", "Embeddings turn text into vectors"])
        .assert()
        .success()
        .stdout(predicate::str::contains("0  101    [CLS]"))
        .stdout(predicate::str::contains("8  19019  vectors"))
        .stdout(predicate::str::contains("10 tokens ("));
    let output =
        sandbox.emb_with_model(&["tokens", "--json", &"word ".repeat(300)]).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["count"], 302);
    assert_eq!(report["used"], 256);
    assert_eq!(report["truncated"], true);
}

#[test]
fn missing_model_says_how_to_get_one() {
    Sandbox::new()
        .emb()
        .args(["embed", "-c", "hi", "-m", "no-such-model"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("model no-such-model is not installed"))
        .stderr(predicate::str::contains("emb models pull no-such-model"));
}

#[test]
fn a_folder_that_is_not_a_model_is_named() {
    let sandbox = Sandbox::new();
    let folder = sandbox.path().join("empty");
    std::fs::create_dir(&folder).unwrap();
    sandbox
        .emb()
        .args(["embed", "-c", "hi", "-m", folder.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is not a model folder: config.json is missing"));
}

#[test]
fn unsupported_architecture_is_named() {
    let sandbox = Sandbox::new();
    let folder = sandbox.path().join("t5");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(
        folder.join("config.json"),
        r#"{"architectures":["T5EncoderModel"],"model_type":"t5","hidden_size":8,"num_hidden_layers":1,
            "num_attention_heads":1,"intermediate_size":8,"max_position_embeddings":8,"vocab_size":8}"#,
    )
    .unwrap();
    std::fs::copy(model_folder().join("model.safetensors"), folder.join("model.safetensors")).ok();
    sandbox
        .emb()
        .args(["embed", "-c", "hi", "-m", folder.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "architecture T5EncoderModel (model_type t5) is not supported",
        ));
}

#[test]
fn invalid_utf8_names_the_file_and_offset() {
    let sandbox = Sandbox::new();
    let file = sandbox.path().join("latin1.txt");
    std::fs::write(&file, b"na\xefve").unwrap();
    sandbox.emb_with_model(&["embed", "-i", file.to_str().unwrap()]).assert().code(1).stderr(
        predicate::str::contains(
            "latin1.txt is not valid UTF-8: invalid byte 0xef at byte offset 2",
        ),
    );
}

#[test]
fn empty_input_is_an_error() {
    let sandbox = Sandbox::new();
    sandbox
        .emb_with_model(&["embed", "-c", "  \n"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("the text given with -c: the text is empty"));
    sandbox.emb_with_model(&["embed"]).write_stdin("").assert().code(1);
    // The same rule as the server's: a NUL byte means a binary file read as text.
    sandbox.emb_with_model(&["embed"]).write_stdin("text\0more").assert().code(1).stderr(
        predicate::str::contains("standard input: the text contains a NUL byte (at byte 4)"),
    );
}

#[test]
fn models_list_info_and_default() {
    let sandbox = Sandbox::new();
    sandbox
        .emb()
        .args(["models", "list"])
        .assert()
        .success()
        .stderr(predicate::str::contains("no models installed"));
    let cached = sandbox.path().join("models/sentence-transformers/all-MiniLM-L6-v2");
    std::fs::create_dir_all(cached.parent().unwrap()).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(model_folder(), &cached).unwrap();
    sandbox.emb().args(["models", "list"]).assert().success().stdout(
        predicate::str::is_match(
            r"sentence-transformers/all-MiniLM-L6-v2 \(default\) +384 +256 +mean +yes +\d",
        )
        .unwrap(),
    );
    let output = sandbox.emb().args(["models", "info", "--json"]).output().unwrap();
    let info: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(info["dimensions"], 384);
    assert_eq!(info["source"], "emb-cache");
    sandbox.emb().args(["models", "default"]).assert().stdout("all-MiniLM-L6-v2\n");
    sandbox.emb().args(["models", "default", "other-model"]).assert().success();
    sandbox.emb().args(["models", "default"]).assert().stdout("other-model\n");
    // The short name resolves through the cache with no -m.
    sandbox.emb().args(["embed", "-c", "hi", "-m", "all-MiniLM-L6-v2"]).assert().success();
}

#[test]
fn pull_offline_names_the_alternative() {
    Sandbox::new()
        .emb()
        .env_remove("EMB_OFFLINE")
        .env("HF_ENDPOINT", "http://127.0.0.1:9")
        .args(["models", "pull", "all-MiniLM-L6-v2"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("download of sentence-transformers/all-MiniLM-L6-v2"))
        .stderr(predicate::str::contains("scripts/fetch-model"));
}

/// A loopback stand-in for the Hugging Face hub: the model listing API and file downloads,
/// served from the real model folder. Returns the endpoint and the requests it saw.
fn fake_hub(folder: PathBuf) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = std::sync::Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(64) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut authorization = String::new();
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap() == 0 || header.trim().is_empty() {
                    break;
                }
                // Header names are case-insensitive: keep them lower-cased.
                if let Some(value) = header.to_ascii_lowercase().strip_prefix("authorization:") {
                    value.trim().clone_into(&mut authorization);
                }
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or_default().to_owned();
            log.lock().unwrap().push(format!("{path} {authorization}"));
            let body = if path == "/api/models/sentence-transformers/all-MiniLM-L6-v2/revision/main"
            {
                let files = [
                    "config.json",
                    "model.safetensors",
                    "modules.json",
                    "sentence_bert_config.json",
                    "tokenizer.json",
                    "tokenizer_config.json",
                    "vocab.txt",
                    "special_tokens_map.json",
                    "config_sentence_transformers.json",
                    "1_Pooling/config.json",
                    "pytorch_model.bin",
                    "onnx/model.onnx",
                    "README.md",
                ];
                let siblings: Vec<_> =
                    files.iter().map(|file| serde_json::json!({ "rfilename": file })).collect();
                Some(
                    serde_json::json!({ "sha": "0123abc", "siblings": siblings })
                        .to_string()
                        .into_bytes(),
                )
            } else {
                path.strip_prefix("/sentence-transformers/all-MiniLM-L6-v2/resolve/0123abc/")
                    .and_then(|file| std::fs::read(folder.join(file)).ok())
            };
            let _ = match body {
                Some(body) => stream
                    .write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .as_bytes(),
                    )
                    .and_then(|()| stream.write_all(&body)),
                None => stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                ),
            };
        }
    });
    (endpoint, seen)
}

#[test]
fn pull_downloads_a_model_from_the_hub_into_the_cache() {
    let sandbox = Sandbox::new();
    let (endpoint, seen) = fake_hub(model_folder());
    sandbox
        .emb()
        .env_remove("EMB_OFFLINE")
        .env("HF_ENDPOINT", &endpoint)
        .env("HF_TOKEN", "secret-token")
        .args(["models", "pull", "all-MiniLM-L6-v2"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "installed sentence-transformers/all-MiniLM-L6-v2 (384 dimensions)",
        ));
    let requests = seen.lock().unwrap().clone();
    assert!(
        requests.iter().all(|request| request.ends_with(" bearer secret-token")),
        "{requests:?}"
    );
    assert!(!requests
        .iter()
        .any(|request| request.contains("pytorch_model.bin") || request.contains("onnx")));
    let cached = sandbox.path().join("models/sentence-transformers/all-MiniLM-L6-v2");
    assert!(cached.join("1_Pooling/config.json").is_file());
    assert!(!sandbox.path().join("models/sentence-transformers/all-MiniLM-L6-v2.partial").exists());
    // The pulled copy is used offline by name, and gives the reference vector.
    let (text, expected) = reference(0);
    let output =
        sandbox.emb().args(["embed", "-m", "all-MiniLM-L6-v2", "-c", &text]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(cosine(&vector_from(&output.stdout), &expected) >= 0.99999);
}

#[test]
fn reading_commands_never_create_a_database() {
    let sandbox = Sandbox::new();
    let typo = sandbox.path().join("missing/typo.db");
    for arguments in [
        &["similar", "docs", "-c", "backups"][..],
        &["collections", "list"],
        &["collections", "info", "docs"],
        &["index", "info", "docs"],
        &["cluster", "docs"],
    ] {
        sandbox.emb().args(arguments).arg("-d").arg(&typo).assert().code(1).stderr(
            predicate::str::contains(format!("there is no database at {}", typo.display())),
        );
    }
    assert!(!typo.parent().unwrap().exists(), "neither the file nor its folder is made");
    // The default database, before anything is stored.
    sandbox
        .emb()
        .args(["collections", "list"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("store something first"));
    assert!(!sandbox.database().exists());
}

#[test]
fn warnings_written_to_a_file_carry_no_colour_codes() {
    let sandbox = Sandbox::new();
    // At debug level the model logs its truncation; stderr is a pipe here, as a file would be.
    let output = sandbox
        .emb_with_model(&["embed", "-c", &"word ".repeat(400)])
        .env("EMB_LOG", "debug")
        .output()
        .expect("emb runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DEBUG") && stderr.contains("inputs truncated"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
}

#[test]
fn a_folder_given_as_input_is_named() {
    let sandbox = Sandbox::new();
    let folder = sandbox.path().join("notes");
    std::fs::create_dir(&folder).unwrap();
    let shown = folder.display().to_string();
    sandbox
        .emb_with_model(&["embed-multi", "notes"])
        .arg(&folder)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!("{shown} is a folder")))
        .stderr(predicate::str::contains("--files"));
    sandbox
        .emb_with_model(&["embed"])
        .arg("-i")
        .arg(&folder)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!("cannot read {shown}")));
}
