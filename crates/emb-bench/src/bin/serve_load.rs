//! The load test of `emb serve`, in its benchmark form: starts the real binary on a free port,
//! runs closed-loop clients against `/v1/embeddings` and a collection's search, then restarts it
//! with batching off (`--max-batch-requests 1`) and runs `/v1/embeddings` again, so the gain of
//! dynamic batching is measured in the same run on the same machine. Prints a table to stderr
//! and one JSON document to stdout; exits 1 if any request failed other than with the designed
//! 503 of a full queue.
//!
//! Usage: `serve-load [--emb target/release/emb] [--database FILE] [--collection readmes]
//! [--model all-MiniLM-L6-v2] [--clients 64] [--seconds 60]`
//!
//! Without `--database` it uses the demo database (`$TMPDIR/emb-demo.db`, made by `make demo`)
//! when there is one, else a temporary one; a collection that is not there is made from short
//! sentences through the API.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use emb_bench::load;
use serde_json::{json, Value};

/// How long the server may take to load its model and listen.
const START_TIMEOUT: Duration = Duration::from_mins(2);

/// Sentences written to a collection the database lacks.
const COLLECTION_SIZE: usize = 1000;

#[derive(Parser)]
#[command(about = "Load test of emb serve: embeddings and search, batched and unbatched")]
struct Arguments {
    /// The emb binary.
    #[arg(long, default_value = "target/release/emb")]
    emb: PathBuf,
    /// The database served. Default: the demo database if there is one, else a temporary one.
    #[arg(long)]
    database: Option<PathBuf>,
    /// The collection searched (made from short sentences if the database lacks it).
    #[arg(long, default_value = "readmes")]
    collection: String,
    /// The model served.
    #[arg(long, default_value = "all-MiniLM-L6-v2")]
    model: String,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Seconds each phase runs.
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// The most requests a phase sends.
    #[arg(long, default_value_t = 1_000_000)]
    max_requests: usize,
    /// A JSON-lines file whose `text` fields are sent (cycled). Default: 2,000 short sentences.
    #[arg(long)]
    queries: Option<String>,
}

/// `emb serve` as a child process, killed when this is dropped (on every way out, panics too).
struct ServerProcess {
    child: Child,
    base_url: String,
}

impl ServerProcess {
    /// Starts `emb serve` on a free port with `extra` arguments and waits until `/health`
    /// answers.
    fn start(arguments: &Arguments, database: &Path, extra: &[&str]) -> anyhow::Result<Self> {
        let mut child = Command::new(&arguments.emb)
            .arg("serve")
            .args(["--host", "127.0.0.1", "--port", "0", "--model", &arguments.model])
            .arg("--database")
            .arg(database)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot run {}", arguments.emb.display()))?;
        // A thread reads the server's stderr to its end, so the server never blocks on it,
        // and passes the lines on while they are wanted.
        let stderr = child.stderr.take().expect("a piped stderr");
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        // Made now, so that an early return below kills the child.
        let mut server = Self { child, base_url: String::new() };
        let deadline = Instant::now() + START_TIMEOUT;
        let mut said = Vec::new();
        let address = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match received.recv_timeout(left) {
                Ok(line) => {
                    if let Some(address) = listening_address(&line) {
                        break address.to_owned();
                    }
                    said.push(line);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => anyhow::bail!(
                    "emb serve did not listen within {} s:\n{}",
                    START_TIMEOUT.as_secs(),
                    said.join("\n")
                ),
                Err(mpsc::RecvTimeoutError::Disconnected) => anyhow::bail!(
                    "emb serve stopped before it listened ({}):\n{}",
                    server.child.wait()?,
                    said.join("\n")
                ),
            }
        };
        server.base_url = format!("http://{address}");
        let agent = ureq::Agent::new_with_defaults();
        while agent.get(format!("{}/health", server.base_url)).call().is_err() {
            anyhow::ensure!(
                Instant::now() < deadline,
                "{}/health does not answer",
                server.base_url
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }

    fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address in `emb serve`'s ready line, `emb serving DATABASE on http://ADDRESS/ (...)`.
fn listening_address(line: &str) -> Option<&str> {
    let (_, rest) = line.strip_prefix("emb serving ")?.rsplit_once(" on http://")?;
    rest.split('/').next()
}

/// The number of items of `collection`, after writing [`COLLECTION_SIZE`] sentences to it
/// if it is not there.
fn ensure_collection(base_url: &str, collection: &str) -> anyhow::Result<u64> {
    let agent = load::agent();
    let url = format!("{base_url}/v1/collections/{collection}");
    let mut response = agent.get(&url).call()?;
    if response.status() == 404 {
        eprintln!("making collection {collection} of {COLLECTION_SIZE} sentences");
        let items: Vec<Value> = load::sample_sentences(COLLECTION_SIZE)
            .into_iter()
            .enumerate()
            .map(|(index, text)| json!({"id": index.to_string(), "text": text}))
            .collect();
        for chunk in items.chunks(250) {
            let mut written =
                agent.post(format!("{url}/items")).send_json(json!({"items": chunk}))?;
            let status = written.status();
            anyhow::ensure!(
                status == 200,
                "writing {collection}: {status}: {}",
                written.body_mut().read_to_string()?
            );
        }
        response = agent.get(&url).call()?;
    }
    let status = response.status();
    let body: Value = serde_json::from_str(&response.body_mut().read_to_string()?)?;
    anyhow::ensure!(status == 200, "{url}: {status}: {body}");
    body["count"].as_u64().with_context(|| format!("{url}: no count in {body}"))
}

/// One phase: the clients against `route` of `server`.
fn phase(
    name: &str,
    server: &ServerProcess,
    route: load::Route,
    arguments: &Arguments,
    texts: &[String],
) -> load::Report {
    eprintln!(
        "{name}: {} clients for {} s on {}",
        arguments.clients,
        arguments.seconds,
        route.path()
    );
    let mut settings = load::Settings::new(&server.base_url, route, texts.to_vec());
    settings.clients = arguments.clients;
    settings.duration = Duration::from_secs_f64(arguments.seconds);
    settings.max_requests = arguments.max_requests;
    settings.server_process = Some(server.id());
    load::run(&settings)
}

/// Prints the table of the phases to stderr, one row each.
fn print_table(phases: &[(&str, &load::Report)]) {
    eprintln!(
        "{:<22} {:>8} {:>8} {:>6} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>21}",
        "phase",
        "requests",
        "200",
        "503",
        "errors",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "req/s",
        "per batch",
        "RSS MiB start/end/max"
    );
    for (name, report) in phases {
        let latency = report.latency_milliseconds;
        let per_batch = report
            .batching
            .map_or("-".into(), |batching| format!("{:.1}", batching.mean_requests_per_batch));
        let resident = report.memory.map_or("-".into(), |memory| {
            format!(
                "{:.0} / {:.0} / {:.0}",
                memory.first_resident_megabytes,
                memory.last_resident_megabytes,
                memory.max_resident_megabytes
            )
        });
        eprintln!(
            "{:<22} {:>8} {:>8} {:>6} {:>6} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>9} {:>21}",
            name,
            report.requests,
            report.count(200),
            report.count(503),
            report.errors,
            latency.p50,
            latency.p90,
            latency.p99,
            latency.max,
            report.requests_per_second,
            per_batch,
            resident,
        );
    }
}

fn run(arguments: &Arguments) -> anyhow::Result<bool> {
    let temporary = tempfile::tempdir()?;
    let demo = std::env::temp_dir().join("emb-demo.db");
    let database = match &arguments.database {
        Some(database) => database.clone(),
        None if demo.exists() => demo,
        None => temporary.path().join("embeddings.db"),
    };
    let texts = match &arguments.queries {
        Some(path) => emb_bench::read_jsonl_texts(path)?,
        None => load::sample_sentences(2000),
    };
    anyhow::ensure!(!texts.is_empty(), "no texts to send");
    let search = load::Route::Search { collection: arguments.collection.clone() };

    let server = ServerProcess::start(arguments, &database, &[])?;
    let items = ensure_collection(&server.base_url, &arguments.collection)?;
    let embeddings = phase("embeddings", &server, load::Route::Embeddings, arguments, &texts);
    let searches = phase("search", &server, search, arguments, &texts);
    drop(server);

    let server = ServerProcess::start(arguments, &database, &["--max-batch-requests", "1"])?;
    let unbatched =
        phase("embeddings unbatched", &server, load::Route::Embeddings, arguments, &texts);
    drop(server);

    let ratio = embeddings.requests_per_second / unbatched.requests_per_second.max(f64::EPSILON);
    let phases = [
        ("embeddings (batched)", &embeddings),
        ("search", &searches),
        ("embeddings (unbatched)", &unbatched),
    ];
    print_table(&phases);
    eprintln!("batched / unbatched embeddings throughput: {ratio:.2}x");
    let failed: usize = phases.iter().map(|(_, report)| report.errors).sum();
    for (name, report) in &phases {
        for sample in &report.error_samples {
            eprintln!("{name}: {sample}");
        }
    }
    let document = json!({
        "model": arguments.model,
        "database": database,
        "collection": arguments.collection,
        "items": items,
        "clients": arguments.clients,
        "seconds": arguments.seconds,
        "threads": std::thread::available_parallelism().map_or(1, usize::from),
        "embeddings": embeddings,
        "search": searches,
        "embeddings_unbatched": unbatched,
        "batched_over_unbatched": ratio,
        "errors": failed,
    });
    println!("{}", serde_json::to_string_pretty(&document)?);
    Ok(failed == 0)
}

fn main() -> ExitCode {
    let arguments = Arguments::parse();
    match run(&arguments) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("serve-load: requests failed other than with 503 (see above)");
            ExitCode::from(1)
        }
        Err(error) => {
            eprintln!("serve-load: {error:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_address_of_the_ready_line() {
        let line = "emb serving /tmp/on http://x/e.db on http://127.0.0.1:41234/ (OpenAI API at http://127.0.0.1:41234/v1; Ctrl-C stops)";
        assert_eq!(listening_address(line), Some("127.0.0.1:41234"));
        assert_eq!(listening_address("loading model"), None);
    }
}
