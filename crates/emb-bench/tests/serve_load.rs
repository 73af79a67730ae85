//! The load test of `emb serve`, in its short form: 64 clients for a few seconds against
//! `/v1/embeddings` and a collection's search on a server with the real model, then against a
//! server with batching off. It asserts that nothing failed but with the designed 503 and that
//! requests were answered; the latencies, throughputs and the batching ratio are printed, never
//! asserted (the benchmark form, `serve-load`, measures them properly).

use std::path::PathBuf;
use std::time::Duration;

use emb_bench::load;
use serde_json::{json, Value};

/// Concurrent clients, as in the benchmark form.
const CLIENTS: usize = 64;

/// How long each measured phase runs.
const PHASE: Duration = Duration::from_secs(4);

/// How long the phase against a small queue runs.
const OVERLOAD: Duration = Duration::from_secs(2);

/// Items of the searched collection.
const ITEMS: usize = 300;

/// The real model: `EMB_TEST_MODEL_DIR`, else all-MiniLM-L6-v2 in the emb home folder.
fn model_folder() -> PathBuf {
    let folder = std::env::var_os("EMB_TEST_MODEL_DIR").map_or_else(
        || emb::settings::home().join("models/sentence-transformers/all-MiniLM-L6-v2"),
        PathBuf::from,
    );
    assert!(
        folder.join("config.json").exists(),
        "no model at {}: run scripts/fetch-model (or set EMB_TEST_MODEL_DIR)",
        folder.display()
    );
    folder
}

/// A server over a new database in `folder`, with `adjust` applied to its settings.
fn start(
    folder: &tempfile::TempDir,
    adjust: impl FnOnce(&mut emb_server::Settings),
) -> emb_server::Background {
    let mut settings = emb_server::Settings {
        port: 0,
        database: folder.path().join("embeddings.db"),
        models: vec![model_folder().display().to_string()],
        ..emb_server::Settings::default()
    };
    adjust(&mut settings);
    emb_server::Background::start(settings).expect("the server starts")
}

/// Writes [`ITEMS`] short sentences to the collection `docs`.
fn make_collection(base_url: &str) {
    let items: Vec<Value> = load::sample_sentences(ITEMS)
        .into_iter()
        .enumerate()
        .map(|(index, text)| json!({"id": format!("sentence-{index}"), "text": text}))
        .collect();
    let mut response = load::agent()
        .post(format!("{base_url}/v1/collections/docs/items"))
        .send_json(json!({"items": items}))
        .expect("an answer");
    let status = response.status();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    assert_eq!(status, 200, "writing the collection: {body}");
}

/// Runs one phase of `duration` against `server`, prints its report and checks it.
fn run_phase(
    name: &str,
    server: &emb_server::Background,
    route: load::Route,
    duration: Duration,
) -> load::Report {
    let mut settings = load::Settings::new(
        format!("http://{}", server.address()),
        route,
        // Queries other than the stored items, as search traffic has.
        load::sample_sentences(ITEMS + 1000).split_off(ITEMS),
    );
    settings.clients = CLIENTS;
    settings.duration = duration;
    settings.max_requests = 100_000;
    settings.server_process = Some(std::process::id());
    let report = load::run(&settings);
    let latency = report.latency_milliseconds;
    eprintln!(
        "{name}: {} requests ({} × 200, {} × 503, {} errors) in {:.1} s; p50 {:.1} ms, p99 {:.1} ms; {:.1} requests/s; {:.1} requests per batch",
        report.requests,
        report.count(200),
        report.count(503),
        report.errors,
        report.seconds,
        latency.p50,
        latency.p99,
        report.requests_per_second,
        report.batching.map_or(0.0, |batching| batching.mean_requests_per_batch),
    );
    assert_eq!(report.errors, 0, "{name}: failures other than 503: {:?}", report.error_samples);
    assert!(report.count(200) > 0, "{name}: no request answered: {report:?}");
    report
}

#[test]
fn sixty_four_clients_get_answers_and_only_designed_503s() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let server = start(&folder, |_| {});
    make_collection(&format!("http://{}", server.address()));
    let batched = run_phase("embeddings", &server, load::Route::Embeddings, PHASE);
    let search = load::Route::Search { collection: "docs".into() };
    run_phase("search", &server, search, PHASE);
    server.stop().expect("the server stops");

    let folder = tempfile::tempdir().expect("a temporary folder");
    let server = start(&folder, |settings| settings.batching.max_batch_requests = 1);
    let unbatched = run_phase("embeddings unbatched", &server, load::Route::Embeddings, PHASE);
    server.stop().expect("the server stops");
    eprintln!(
        "batched / unbatched throughput: {:.2}x (printed, not asserted)",
        batched.requests_per_second / unbatched.requests_per_second.max(f64::EPSILON)
    );

    // A queue smaller than the clients: the ones that do not fit get the designed 503.
    let folder = tempfile::tempdir().expect("a temporary folder");
    let server = start(&folder, |settings| {
        settings.batching.max_batch_requests = 1;
        settings.batching.queue_capacity = 4;
    });
    run_phase("embeddings, queue of 4", &server, load::Route::Embeddings, OVERLOAD);
    server.stop().expect("the server stops");

    let report = serde_json::to_string(&batched).expect("a report serializes");
    assert!(report.contains("\"latency_milliseconds\""));
}
