//! What the integration tests of the `emb` binary share: a sandboxed `EMB_HOME` and the model.
#![allow(dead_code)] // each test file uses a different part

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The real all-MiniLM-L6-v2 folder: `EMB_TEST_MODEL_DIR`, else the emb cache, where
/// `make test` puts it (scripts/fetch-model).
pub fn model_folder() -> PathBuf {
    if let Some(folder) = std::env::var_os("EMB_TEST_MODEL_DIR") {
        return folder.into();
    }
    let folder = emb::settings::home().join("models/sentence-transformers/all-MiniLM-L6-v2");
    assert!(folder.is_dir(), "no model at {}: run scripts/fetch-model", folder.display());
    folder
}

/// A tiny random BERT model (tests/fixtures/tiny): a second, different model.
pub fn tiny_model_folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny/bert-h16-cls-f16")
}

/// The data of `emb eval` (scripts/fetch-eval-data, which `make test` runs).
pub fn eval_data() -> std::path::PathBuf {
    if let Some(folder) = std::env::var_os("EMB_EVAL_DATA") {
        return folder.into();
    }
    let folder = emb::evaluate::default_folder(&emb::settings::home());
    assert!(
        folder.is_dir(),
        "no evaluation data at {}: run scripts/fetch-eval-data",
        folder.display()
    );
    folder
}

/// The 103 texts of the model's parity fixture as `{"id": "rN", "text"}` JSON lines.
pub fn reference_lines() -> Vec<String> {
    let reference =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/minilm-reference.jsonl");
    std::fs::read_to_string(reference)
        .expect("the parity fixture")
        .lines()
        .enumerate()
        .map(|(index, line)| {
            let row: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            serde_json::json!({ "id": format!("r{index}"), "text": row["text"] }).to_string()
        })
        .collect()
}

/// The extension library built with the tests, if it is there.
fn built_extension() -> Option<PathBuf> {
    let name =
        format!("{}emb_sqlite{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    let path = std::env::current_exe().ok()?.parent()?.join(name);
    path.is_file().then_some(path)
}

/// A temporary `EMB_HOME`, offline.
pub struct Sandbox {
    pub home: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Self { home: tempfile::tempdir().expect("a temporary folder") }
    }

    /// A sandbox whose model cache holds all-MiniLM-L6-v2 (linked), so that the model is
    /// found by name, as on a user's machine.
    pub fn with_model() -> Self {
        let sandbox = Self::new();
        let organisation = sandbox.path().join("models/sentence-transformers");
        std::fs::create_dir_all(&organisation).expect("a model folder");
        std::os::unix::fs::symlink(model_folder(), organisation.join("all-MiniLM-L6-v2"))
            .expect("a link to the model");
        sandbox
    }

    /// `emb` with this `EMB_HOME`, no downloads, and no model or database from the environment.
    pub fn emb(&self) -> Command {
        Command::from_std(self.process())
    }

    /// [`Sandbox::emb`] as a plain process, to spawn and kill.
    pub fn process(&self) -> std::process::Command {
        let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin!("emb"));
        command
            .env("EMB_HOME", self.home.path())
            .env("EMB_OFFLINE", "1")
            .env("HF_HUB_CACHE", self.home.path().join("hf"))
            .env_remove("EMB_MODEL")
            .env_remove("EMB_DB");
        // The SQLite extension cargo built with these tests (a dev-dependency): `cargo test`
        // leaves it in deps/, beside the tests, not beside the binary where emb looks for it.
        if let Some(extension) = built_extension() {
            command.env("EMB_SQLITE_EXTENSION", extension);
        }
        command
    }

    /// `emb` with the real model passed by path.
    pub fn emb_with_model(&self, arguments: &[&str]) -> Command {
        let mut command = self.emb();
        command.args(arguments).arg("-m").arg(model_folder());
        command
    }

    pub fn path(&self) -> &Path {
        self.home.path()
    }

    /// The default database of this sandbox.
    pub fn database(&self) -> PathBuf {
        self.path().join("embeddings.db")
    }

    /// Writes `text` to a file in the sandbox and returns its path.
    pub fn file(&self, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, text).expect("a file");
        path
    }
}

/// Runs `command`, asserts it succeeded, and returns its stdout and stderr.
pub fn success(command: &mut Command) -> (String, String) {
    let output = command.output().expect("emb runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "emb failed:\n{stderr}\n{stdout}");
    (stdout, stderr)
}

/// Runs `command`, asserts it failed, and returns its stderr.
pub fn failure(command: &mut Command) -> String {
    let output = command.output().expect("emb runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "emb should have failed:\n{stderr}");
    assert!(!stderr.contains("panicked"), "emb panicked:\n{stderr}");
    stderr
}

/// The JSON lines of `stdout`.
pub fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout.lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect()
}
