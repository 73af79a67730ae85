//! A closed-loop HTTP load generator for `emb serve`: a number of clients, each on a thread of
//! its own with one kept-alive connection, send a request, wait for the answer and send the
//! next, until a time or a request count runs out. The report gives the answers by status, the
//! errors (anything but 200 and the designed 503 of a full queue), the latency of the 200s,
//! the throughput, the server's resident memory and how its requests were batched.
//!
//! ```no_run
//! use emb_bench::load;
//!
//! let settings = load::Settings::new(
//!     "http://127.0.0.1:8080",
//!     load::Route::Embeddings,
//!     load::sample_sentences(500),
//! );
//! let report = load::run(&settings);
//! println!("{}", serde_json::to_string_pretty(&report).unwrap());
//! ```

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};

/// How long a client that got a 503 waits before its next request. Real clients honour
/// `Retry-After` (a second); a shorter pause keeps the pressure on the queue.
const PAUSE_AFTER_BUSY: Duration = Duration::from_millis(100);

/// How many error messages a report keeps, as examples.
const ERROR_SAMPLES: usize = 5;

/// How often the server's resident memory is read.
const MEMORY_INTERVAL: Duration = Duration::from_millis(200);

/// The route the clients call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `POST /v1/embeddings` with `{"input": ...}`.
    Embeddings,
    /// `POST /v1/collections/{collection}/search` with `{"text": ..., "k": 10}`.
    Search {
        /// The collection searched.
        collection: String,
    },
}

impl Route {
    /// The route's path.
    pub fn path(&self) -> String {
        match self {
            Route::Embeddings => "/v1/embeddings".into(),
            Route::Search { collection } => format!("/v1/collections/{collection}/search"),
        }
    }

    /// The body of request number `index`: the next texts of `texts`, cycled.
    fn body(&self, texts: &[String], index: usize, texts_per_request: usize) -> Value {
        match self {
            Route::Embeddings if texts_per_request == 1 => {
                json!({"input": texts[index % texts.len()]})
            }
            Route::Embeddings => {
                let first = index * texts_per_request;
                let input: Vec<&String> = (first..first + texts_per_request)
                    .map(|position| &texts[position % texts.len()])
                    .collect();
                json!({"input": input})
            }
            Route::Search { .. } => json!({"text": texts[index % texts.len()], "k": 10}),
        }
    }

    /// Texts one request embeds.
    fn texts_per_request(&self, configured: usize) -> usize {
        match self {
            Route::Embeddings => configured,
            Route::Search { .. } => 1,
        }
    }
}

/// What a load run does.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The server, as `http://HOST:PORT` (no trailing slash).
    pub base_url: String,
    /// The route called.
    pub route: Route,
    /// Concurrent clients (threads, one connection each). Default: 64.
    pub clients: usize,
    /// How long the clients send. Default: 60 s.
    pub duration: Duration,
    /// The most requests sent in all, whatever the time left. Default: 1,000,000.
    pub max_requests: usize,
    /// The texts sent, cycled; one short sentence per text, as real query traffic has.
    pub texts: Vec<String>,
    /// Texts per request to `/v1/embeddings` (search takes one). Default: 1.
    pub texts_per_request: usize,
    /// Sent as `Authorization: Bearer KEY`. Default: none.
    pub api_key: Option<String>,
    /// The process id of the server, whose resident memory is sampled (Linux). Default: none.
    pub server_process: Option<u32>,
}

impl Settings {
    /// Settings with the defaults for everything but the server, the route and the texts.
    pub fn new(base_url: impl Into<String>, route: Route, texts: Vec<String>) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            route,
            clients: 64,
            duration: Duration::from_mins(1),
            max_requests: 1_000_000,
            texts,
            texts_per_request: 1,
            api_key: None,
            server_process: None,
        }
    }
}

/// Latency percentiles, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    /// The median.
    pub p50: f64,
    /// The 90th percentile.
    pub p90: f64,
    /// The 99th percentile.
    pub p99: f64,
    /// The slowest.
    pub max: f64,
}

impl Latency {
    /// The percentiles of `durations` (nearest rank); zeros when there are none.
    pub fn of(mut durations: Vec<Duration>) -> Self {
        if durations.is_empty() {
            return Self::default();
        }
        durations.sort_unstable();
        let rank = |fraction: f64| {
            let index = (fraction * durations.len() as f64).ceil() as usize;
            durations[index.clamp(1, durations.len()) - 1].as_secs_f64() * 1000.0
        };
        Self { p50: rank(0.50), p90: rank(0.90), p99: rank(0.99), max: rank(1.0) }
    }
}

/// The server's resident memory during a run (from `/proc/PID/status`).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Memory {
    /// `VmRSS` at the start of the run, in MiB.
    pub first_resident_megabytes: f64,
    /// `VmRSS` at the end of the run, in MiB: with the first, whether it grew.
    pub last_resident_megabytes: f64,
    /// The largest `VmRSS` sampled, in MiB.
    pub max_resident_megabytes: f64,
    /// `VmHWM` at the end: the largest resident size since the process started, in MiB.
    pub peak_resident_megabytes: f64,
    /// Samples taken.
    pub samples: usize,
}

/// How the server batched the run's requests (from the difference of its `/metrics`).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Batching {
    /// Batches the model ran.
    pub batches: u64,
    /// Requests those batches served.
    pub requests: u64,
    /// Texts those batches embedded.
    pub texts: u64,
    /// Requests per batch, on average.
    pub mean_requests_per_batch: f64,
}

/// What a load run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The path called.
    pub route: String,
    /// Concurrent clients.
    pub clients: usize,
    /// Requests sent (answered or failed).
    pub requests: usize,
    /// Answers by HTTP status.
    pub statuses: BTreeMap<u16, usize>,
    /// Requests that got no answer (connection refused or reset, timeout).
    pub transport_errors: usize,
    /// Requests that failed: transport errors and any status but 200 and 503 (the designed
    /// answer of a full queue), and 200s whose body is not JSON.
    pub errors: usize,
    /// The first few error messages.
    pub error_samples: Vec<String>,
    /// Latency of the 200s.
    pub latency_milliseconds: Latency,
    /// 200s per second.
    pub requests_per_second: f64,
    /// Texts embedded per second (in 200s).
    pub texts_per_second: f64,
    /// Wall time of the run, in seconds.
    pub seconds: f64,
    /// The server's resident memory, when its process was given and readable.
    pub memory: Option<Memory>,
    /// How the server batched, when its `/metrics` was readable.
    pub batching: Option<Batching>,
}

impl Report {
    /// Answers with status `status`.
    pub fn count(&self, status: u16) -> usize {
        self.statuses.get(&status).copied().unwrap_or(0)
    }
}

/// Runs the clients until the time or the request count runs out, and reports.
///
/// # Panics
/// If `settings.texts` is empty, `texts_per_request` is 0 or a client thread panics.
pub fn run(settings: &Settings) -> Report {
    assert!(!settings.texts.is_empty(), "a load run needs texts to send");
    assert!(settings.texts_per_request > 0, "a request needs at least one text");
    let url = format!("{}{}", settings.base_url, settings.route.path());
    let before = batch_counters(settings);
    let sampler = settings.server_process.map(MemorySampler::start);
    let issued = AtomicUsize::new(0);
    let start = Instant::now();
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..settings.clients)
            .map(|_| scope.spawn(|| client(settings, &url, &issued, start)))
            .collect();
        handles.into_iter().map(|handle| handle.join().expect("a load client")).collect()
    });
    let seconds = start.elapsed().as_secs_f64();
    let memory = sampler.and_then(MemorySampler::stop);
    let batching = before.zip(batch_counters(settings)).map(|(before, after)| {
        let batches = after[0] - before[0];
        let requests = after[1] - before[1];
        Batching {
            batches,
            requests,
            texts: after[2] - before[2],
            mean_requests_per_batch: requests as f64 / batches.max(1) as f64,
        }
    });

    let mut total = Tally::default();
    for tally in tallies {
        total.merge(tally);
    }
    let successes = total.statuses.get(&200).copied().unwrap_or(0);
    let texts_per_request = settings.route.texts_per_request(settings.texts_per_request);
    Report {
        route: settings.route.path(),
        clients: settings.clients,
        requests: total.statuses.values().sum::<usize>() + total.transport_errors,
        statuses: total.statuses,
        transport_errors: total.transport_errors,
        errors: total.errors,
        error_samples: total.error_samples,
        latency_milliseconds: Latency::of(total.latencies),
        requests_per_second: successes as f64 / seconds,
        texts_per_second: (successes * texts_per_request) as f64 / seconds,
        seconds,
        memory,
        batching,
    }
}

/// What one client saw.
#[derive(Default)]
struct Tally {
    statuses: BTreeMap<u16, usize>,
    transport_errors: usize,
    errors: usize,
    error_samples: Vec<String>,
    latencies: Vec<Duration>,
}

impl Tally {
    fn error(&mut self, message: String) {
        self.errors += 1;
        if self.error_samples.len() < ERROR_SAMPLES {
            self.error_samples.push(message);
        }
    }

    fn merge(&mut self, other: Tally) {
        for (status, count) in other.statuses {
            *self.statuses.entry(status).or_default() += count;
        }
        self.transport_errors += other.transport_errors;
        self.errors += other.errors;
        let room = ERROR_SAMPLES.saturating_sub(self.error_samples.len());
        self.error_samples.extend(other.error_samples.into_iter().take(room));
        self.latencies.extend(other.latencies);
    }
}

/// An HTTP agent for a client of the server: statuses are answers, not errors, connections
/// are kept alive, and a request may take up to two minutes.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_mins(2)))
        .build()
        .into()
}

/// One client's loop: send, wait, record, until the time or the shared count runs out.
fn client(settings: &Settings, url: &str, issued: &AtomicUsize, start: Instant) -> Tally {
    let agent = agent();
    let mut tally = Tally::default();
    while start.elapsed() < settings.duration {
        let index = issued.fetch_add(1, Ordering::Relaxed);
        if index >= settings.max_requests {
            break;
        }
        let body = settings.route.body(&settings.texts, index, settings.texts_per_request);
        let sent = Instant::now();
        match send(&agent, url, settings.api_key.as_deref(), &body) {
            Ok((status, answer)) => {
                *tally.statuses.entry(status).or_default() += 1;
                match status {
                    200 if serde_json::from_str::<Value>(&answer).is_ok() => {
                        tally.latencies.push(sent.elapsed());
                    }
                    200 => tally.error(format!("200 with a body that is not JSON: {answer:.200}")),
                    503 => std::thread::sleep(PAUSE_AFTER_BUSY),
                    _ => tally.error(format!("{status}: {answer:.200}")),
                }
            }
            Err(error) => {
                tally.transport_errors += 1;
                tally.error(format!("no answer: {error}"));
            }
        }
    }
    tally
}

/// Posts `body` as JSON and reads the whole answer (so the connection can be reused).
fn send(
    agent: &ureq::Agent,
    url: &str,
    api_key: Option<&str>,
    body: &Value,
) -> Result<(u16, String), ureq::Error> {
    let mut request = agent.post(url);
    if let Some(key) = api_key {
        request = request.header("Authorization", format!("Bearer {key}"));
    }
    let mut response = request.send_json(body)?;
    let status = response.status().as_u16();
    let answer = response.body_mut().read_to_string()?;
    Ok((status, answer))
}

/// The server's batch counters (batches, requests, texts), or `None` when `/metrics` cannot
/// be read.
fn batch_counters(settings: &Settings) -> Option<[u64; 3]> {
    let mut request = agent().get(format!("{}/metrics", settings.base_url));
    if let Some(key) = &settings.api_key {
        request = request.header("Authorization", format!("Bearer {key}"));
    }
    let mut response = request.call().ok()?;
    if response.status() != 200 {
        return None;
    }
    let text = response.body_mut().read_to_string().ok()?;
    let counter = |name: &str| {
        text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
    };
    Some([
        counter("emb_batches_total")?,
        counter("emb_batched_requests_total")?,
        counter("emb_batched_inputs_total")?,
    ])
}

/// Reads a process's resident memory every [`MEMORY_INTERVAL`] on a thread of its own.
struct MemorySampler {
    process: u32,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<u64>>,
}

impl MemorySampler {
    fn start(process: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut samples = Vec::new();
            // Samples once more after the stop, so even a short run has a sample.
            loop {
                let last = stopped.load(Ordering::Relaxed);
                samples.extend(status_kilobytes(process, "VmRSS:"));
                if last {
                    return samples;
                }
                std::thread::park_timeout(MEMORY_INTERVAL);
            }
        });
        Self { process, stop, thread }
    }

    /// Stops sampling; `None` when no sample could be read (not Linux, or the process is gone).
    fn stop(self) -> Option<Memory> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.thread().unpark();
        let samples = self.thread.join().expect("the memory sampler");
        let largest = samples.iter().copied().max()?;
        let peak = status_kilobytes(self.process, "VmHWM:").unwrap_or(largest);
        let megabytes = |kilobytes: u64| kilobytes as f64 / 1024.0;
        Some(Memory {
            first_resident_megabytes: megabytes(samples[0]),
            last_resident_megabytes: megabytes(samples[samples.len() - 1]),
            max_resident_megabytes: megabytes(largest),
            peak_resident_megabytes: megabytes(peak),
            samples: samples.len(),
        })
    }
}

/// A `kB` field of `/proc/PROCESS/status`, such as `VmRSS:`.
fn status_kilobytes(process: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{process}/status")).ok()?;
    let line = status.lines().find_map(|line| line.strip_prefix(field))?;
    line.split_whitespace().next()?.parse().ok()
}

/// `count` short, distinct sentences about everyday and technical things, as search queries
/// and short documents look (up to 13 × 11 × 17 = 2,431 before they repeat).
pub fn sample_sentences(count: usize) -> Vec<String> {
    const SUBJECTS: [&str; 13] = [
        "The library",
        "A small cache",
        "My old laptop",
        "The database",
        "Our team",
        "This parser",
        "The web server",
        "A hungry cat",
        "The night train",
        "The search index",
        "A quiet village",
        "The football club",
        "An open-source crate",
    ];
    const VERBS: [&str; 11] = [
        "needs",
        "stores",
        "explains",
        "breaks",
        "improves",
        "ignores",
        "reads",
        "compares",
        "celebrates",
        "downloads",
        "forgets",
    ];
    const OBJECTS: [&str; 17] = [
        "JSON files quickly",
        "unicode text",
        "vector embeddings",
        "backup tools for SQLite",
        "spring flowers",
        "the evening news",
        "a recipe for bread",
        "async network requests",
        "the history of Rome",
        "compressed images",
        "the weather forecast",
        "error messages",
        "a long train journey",
        "command-line arguments",
        "prices of electric cars",
        "the rules of chess",
        "memory leaks",
    ];
    // The lengths are coprime, so index i names a distinct triple until their product.
    (0..count)
        .map(|index| {
            format!(
                "{} {} {}.",
                SUBJECTS[index % SUBJECTS.len()],
                VERBS[index % VERBS.len()],
                OBJECTS[index % OBJECTS.len()]
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let durations = (1..=100).map(Duration::from_millis).collect();
        let latency = Latency::of(durations);
        assert_eq!((latency.p50, latency.p90, latency.p99, latency.max), (50.0, 90.0, 99.0, 100.0));
        assert_eq!(Latency::of(Vec::new()).max, 0.0);
    }

    #[test]
    fn sentences_are_distinct() {
        let sentences = sample_sentences(2431);
        let distinct: std::collections::HashSet<_> = sentences.iter().collect();
        assert_eq!(distinct.len(), 2431);
    }

    #[test]
    fn bodies_cycle_through_the_texts() {
        let texts = sample_sentences(3);
        assert_eq!(Route::Embeddings.body(&texts, 4, 1), json!({"input": texts[1]}));
        assert_eq!(Route::Embeddings.body(&texts, 1, 2), json!({"input": [texts[2], texts[0]]}));
        let search = Route::Search { collection: "docs".into() };
        assert_eq!(search.path(), "/v1/collections/docs/search");
        assert_eq!(search.body(&texts, 0, 8), json!({"text": texts[0], "k": 10}));
    }

    #[test]
    fn memory_of_this_process() {
        if !std::path::Path::new("/proc/self/status").exists() {
            return;
        }
        let memory = MemorySampler::start(std::process::id()).stop().expect("one sample");
        assert!(memory.max_resident_megabytes > 0.0);
        assert!(memory.peak_resident_megabytes >= memory.max_resident_megabytes);
    }
}
