//! `emb serve` as users meet it: the real binary with the real model, the official `openai`
//! client against it, the page in headless Chromium, and a shutdown in the middle of a write.
//!
//! The client tests need `EMB_TEST_LLM` (the bin folder of bench/setup-peers' venv, which has
//! the `openai` package) and `EMB_TEST_BROWSER` (the python of scripts/setup-browser's venv);
//! `make test` sets both. Without them those tests say so and do nothing.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{eval_data, success, Sandbox};
use serde_json::{json, Value};

/// `emb serve` running on a free port; killed when dropped.
struct Serving {
    child: Child,
    address: String,
}

impl Serving {
    fn start(sandbox: &Sandbox, extra: &[&str]) -> Self {
        let mut child = sandbox
            .process()
            .args(["serve", "--port", "0", "-m", "all-MiniLM-L6-v2"])
            .args(extra)
            .stderr(Stdio::piped())
            .spawn()
            .expect("emb serve starts");
        // The first line says where it listens.
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let line = lines.next().expect("a line").expect("text");
        let address = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_owned();
        std::thread::spawn(move || {
            lines.for_each(|line| eprintln!("server: {}", line.unwrap_or_default()));
        });
        Self { child, address }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Sends SIGTERM and waits for the process to end; returns whether it ended well.
    fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
        let status = self.child.wait().expect("the server ends");
        status.success()
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

fn post(url: &str, body: &Value) -> (u16, Value) {
    let mut response = agent().post(url).send_json(body).expect("an answer");
    let status = response.status().as_u16();
    let text = response.body_mut().with_config().limit(64 << 20).read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The vector `emb embed` prints for `text`.
fn cli_vector(sandbox: &Sandbox, text: &str) -> Vec<f32> {
    let (stdout, _) = success(sandbox.emb().args(["embed", "-m", "all-MiniLM-L6-v2", "-c", text]));
    serde_json::from_str(&stdout).unwrap()
}

fn cosine(left: &[f32], right: &[f32]) -> f32 {
    emb::distance::cosine(left, right)
}

#[test]
fn the_openai_client_gets_what_emb_embed_prints() {
    let Some(bin) = std::env::var_os("EMB_TEST_LLM").map(PathBuf::from) else {
        eprintln!("skipped: set EMB_TEST_LLM to the bin folder of bench/setup-peers' venv");
        return;
    };
    let sandbox = Sandbox::with_model();
    let serving = Serving::start(&sandbox, &[]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/openai_client.py");
    let texts =
        ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."];
    let mut command = Command::new(bin.join("python"));
    command.arg(script).args(["--url", &serving.url("/v1"), "--model", "all-MiniLM-L6-v2"]);
    for text in texts {
        command.args(["--text", text]);
    }
    let output = command.output().expect("python runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    eprintln!("openai {} against emb serve", answer["openai"]);

    let returned: Vec<Vec<f32>> = serde_json::from_value(answer["default"].clone()).unwrap();
    assert_eq!(answer["indexes"], json!([0, 1, 2]));
    for (text, vector) in texts.iter().zip(&returned) {
        let expected = cli_vector(&sandbox, text);
        assert_eq!(vector.len(), 384);
        let similarity = cosine(vector, &expected);
        assert!(similarity > 0.99999, "{text}: {similarity}");
    }
    let floats: Vec<f32> = serde_json::from_value(answer["float"].clone()).unwrap();
    assert!(cosine(&floats, &returned[0]) > 0.99999);
    let short: Vec<f32> = serde_json::from_value(answer["short"].clone()).unwrap();
    assert_eq!(short.len(), 64);
    assert!(answer["usage"].as_u64().unwrap() > 10);
    assert_eq!(answer["models"], json!(["sentence-transformers/all-MiniLM-L6-v2"]));
    assert_eq!(answer["missing"]["status"], 404);
}

/// A collection of 200 newsgroup posts (gensim's test data), stored, with their group.
fn newsgroups(sandbox: &Sandbox) -> PathBuf {
    let source = std::fs::read_to_string(eval_data().join("mini_newsgroup.jsonl")).unwrap();
    let lines: Vec<String> = source
        .lines()
        .map(|line| {
            let post: Value = serde_json::from_str(line).unwrap();
            // The body after the headers, as people would store it.
            let text = post["text"].as_str().unwrap();
            let body = text.split_once("\n\n").map_or(text, |(_, body)| body);
            json!({"id": post["id"], "text": body.trim(), "group": post["label"]}).to_string()
        })
        .collect();
    let path = sandbox.file("posts.jsonl", lines.join("\n"));
    success(sandbox.emb().args(["embed-multi", "posts"]).arg(&path).args([
        "--store",
        "--text-column",
        "text",
        "--metadata-columns",
        "group",
        "-m",
        "all-MiniLM-L6-v2",
    ]));
    path
}

/// The python of scripts/setup-browser's venv, from `EMB_TEST_BROWSER`; None (and a note) without.
fn browser_python() -> Option<PathBuf> {
    let python = std::env::var_os("EMB_TEST_BROWSER").map(PathBuf::from);
    if python.is_none() {
        eprintln!("skipped: set EMB_TEST_BROWSER to the python scripts/setup-browser prints");
    }
    python
}

/// A folder for a test's screenshots, kept after the test for a person to look at.
fn screenshot_folder(name: &str) -> PathBuf {
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&folder).unwrap();
    folder
}

/// `python tests/browser/SCRIPT`, for the caller to add the script's arguments.
fn browser_test(python: PathBuf, script: &str) -> Command {
    let mut command = Command::new(python);
    command.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser").join(script));
    command
}

/// Runs a browser test script and returns the summary it prints, which must say it passed.
fn run_browser_test(command: &mut Command) -> Value {
    let output = command.output().expect("python runs");
    eprintln!("{}", String::from_utf8_lossy(&output.stdout));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["ok"], true);
    summary
}

#[test]
fn the_page_searches_and_maps_a_collection_in_chromium() {
    let Some(python) = browser_python() else {
        return;
    };
    let sandbox = Sandbox::with_model();
    newsgroups(&sandbox);
    let query = "space shuttle launch";
    // The page must show what `emb similar` finds.
    let (stdout, _) = success(sandbox.emb().args(["similar", "posts", "-c", query, "-n", "10"]));
    let expected = common::json_lines(&stdout)[0]["id"].as_str().unwrap().to_owned();
    let serving = Serving::start(&sandbox, &["--api-key", "browser-key"]);
    let screenshot = screenshot_folder("page").join("page.png");
    run_browser_test(
        browser_test(python, "page_test.py")
            .args(["--url", &serving.url(""), "--collection", "posts", "--query", query])
            .args(["--expect-id", &expected, "--api-key", "browser-key", "--screenshot"])
            .arg(&screenshot),
    );
    assert!(std::fs::metadata(&screenshot).unwrap().len() > 10_000);
    eprintln!("screenshot: {}", screenshot.display());
}

#[test]
fn the_map_draws_alike_with_webgl_and_with_the_canvas_in_chromium() {
    let Some(python) = browser_python() else {
        return;
    };
    let sandbox = Sandbox::with_model();
    newsgroups(&sandbox);
    let page = sandbox.path().join("map.html");
    success(sandbox.emb().args(["plot", "posts", "--color-by", "metadata.group", "-o"]).arg(&page));
    let screenshots = screenshot_folder("map");
    let summary = run_browser_test(
        browser_test(python, "map_test.py")
            .arg(&page)
            .args(["--search", "space", "--screenshots"])
            .arg(&screenshots),
    );
    // The map fits the whole collection in view at first: every post is drawn.
    assert_eq!(summary["points"], 200);
    let matches = summary["matches"].as_u64().unwrap();
    assert!(matches > 0 && matches < 200, "{summary}");
    eprintln!("screenshots: {}", screenshots.display());
}

#[test]
fn a_shutdown_finishes_the_write_in_flight() {
    let sandbox = Sandbox::with_model();
    let serving = Serving::start(&sandbox, &[]);
    let items: Vec<Value> = (0..600)
        .map(|index| {
            json!({"id": format!("n{index}"), "text": format!("note number {index}: {}", "some words of text ".repeat(index % 20 + 1))})
        })
        .collect();
    let url = serving.url("/v1/collections/notes/items");
    let writer = std::thread::spawn(move || post(&url, &json!({"items": items})));
    // Stop while the model is embedding: the batch must still be written and answered.
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(400));
    assert!(!writer.is_finished(), "the write finished before the shutdown; make it larger");
    assert!(serving.terminate(), "the server did not end cleanly");
    let (status, report) = writer.join().unwrap();
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["embedded"], 600);
    eprintln!("write answered after {:.1} s", started.elapsed().as_secs_f64());
    let (stdout, _) = success(sandbox.emb().args(["collections", "list", "--json"]));
    assert!(stdout.contains("\"count\":600") || stdout.contains("\"count\": 600"), "{stdout}");
}
