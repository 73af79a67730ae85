//! A server on a free port with the tiny test model, and a client that reads every status.
#![allow(dead_code)] // each test file uses a different part

use std::path::{Path, PathBuf};

use serde_json::Value;

/// A tiny random BERT model (tests/fixtures/tiny): fast, for plumbing.
pub fn tiny_model() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/tiny/bert-h16-cls-f16")
        .display()
        .to_string()
}

/// A running server over a temporary database.
pub struct Served {
    pub server: emb_server::Background,
    pub folder: tempfile::TempDir,
    pub agent: ureq::Agent,
}

/// An answer: status, headers we look at, and the body.
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub content_type: String,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.body))
    }
}

pub fn settings(folder: &Path) -> emb_server::Settings {
    emb_server::Settings {
        port: 0,
        database: folder.join("embeddings.db"),
        models: vec![tiny_model()],
        ..emb_server::Settings::default()
    }
}

impl Served {
    pub fn start(adjust: impl FnOnce(&mut emb_server::Settings)) -> Self {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let mut settings = settings(folder.path());
        adjust(&mut settings);
        let server = emb_server::Background::start(settings).expect("the server starts");
        let agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        Self { server, folder, agent }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.address())
    }

    pub fn database(&self) -> PathBuf {
        self.folder.path().join("embeddings.db")
    }

    /// Sends `body` (bytes, as JSON) with `method` to `path`, with optional extra headers.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let url = self.url(path);
        let request = ureq::http::Request::builder().method(method).uri(&url);
        let request =
            headers.iter().fold(request, |request, (name, value)| request.header(*name, *value));
        let response = match body {
            Some(bytes) => {
                let request = request
                    .header("Content-Type", "application/json")
                    .body(bytes.to_vec())
                    .expect("a request");
                self.agent.run(request)
            }
            None => self.agent.run(request.body(()).expect("a request")),
        };
        let mut response = response.unwrap_or_else(|error| panic!("{method} {path}: {error}"));
        let header = |name: &str| {
            response.headers().get(name).and_then(|value| value.to_str().ok()).map(str::to_owned)
        };
        let retry_after = header("retry-after");
        let content_type = header("content-type").unwrap_or_default();
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(100 * 1024 * 1024)
            .read_to_string()
            .unwrap_or_default();
        Answer { status, retry_after, content_type, body }
    }

    pub fn post(&self, path: &str, body: &Value) -> Answer {
        self.send("POST", path, Some(body.to_string().as_bytes()), &[])
    }

    pub fn get(&self, path: &str) -> Answer {
        self.send("GET", path, None, &[])
    }
}
