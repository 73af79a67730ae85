//! Counters for `GET /metrics`, in Prometheus' text format.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// What the server has done since it started.
#[derive(Default)]
pub struct Metrics {
    /// Requests answered and their total time, by (route, status).
    requests: Mutex<BTreeMap<(String, u16), (u64, f64)>>,
    batches: AtomicU64,
    batched_requests: AtomicU64,
    batched_inputs: AtomicU64,
    batched_tokens: AtomicU64,
}

impl Metrics {
    /// Counts one answered request.
    pub fn record_request(&self, route: &str, status: u16, took: Duration) {
        let mut requests = self.requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = requests.entry((route.to_owned(), status)).or_default();
        entry.0 += 1;
        entry.1 += took.as_secs_f64();
    }

    /// Counts one batch the model ran: how many requests, inputs and tokens it held.
    pub fn record_batch(&self, requests: usize, inputs: usize, tokens: usize) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.batched_requests.fetch_add(requests as u64, Ordering::Relaxed);
        self.batched_inputs.fetch_add(inputs as u64, Ordering::Relaxed);
        self.batched_tokens.fetch_add(tokens as u64, Ordering::Relaxed);
    }

    /// The counters as Prometheus text, with `queued` requests waiting per model.
    pub fn render(&self, queued: &[(String, usize)]) -> String {
        let mut text = String::new();
        let requests = self.requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        text.push_str("# HELP emb_requests_total Requests answered, by route and status.\n");
        text.push_str("# TYPE emb_requests_total counter\n");
        for ((route, status), (count, _)) in requests.iter() {
            let _ = writeln!(
                text,
                "emb_requests_total{{route=\"{}\",status=\"{status}\"}} {count}",
                escape(route)
            );
        }
        text.push_str(
            "# HELP emb_request_seconds_total Time spent answering, by route and status.\n",
        );
        text.push_str("# TYPE emb_request_seconds_total counter\n");
        for ((route, status), (_, seconds)) in requests.iter() {
            let _ = writeln!(
                text,
                "emb_request_seconds_total{{route=\"{}\",status=\"{status}\"}} {seconds:.6}",
                escape(route)
            );
        }
        drop(requests);
        let counters = [
            ("emb_batches_total", "Batches the models ran.", &self.batches),
            (
                "emb_batched_requests_total",
                "Requests served by those batches.",
                &self.batched_requests,
            ),
            ("emb_batched_inputs_total", "Texts embedded in those batches.", &self.batched_inputs),
            ("emb_batched_tokens_total", "Tokens embedded in those batches.", &self.batched_tokens),
        ];
        for (name, help, counter) in counters {
            let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} counter");
            let _ = writeln!(text, "{name} {}", counter.load(Ordering::Relaxed));
        }
        text.push_str("# HELP emb_queued_requests Requests waiting for a model now.\n");
        text.push_str("# TYPE emb_queued_requests gauge\n");
        for (model, count) in queued {
            let _ = writeln!(text, "emb_queued_requests{{model=\"{}\"}} {count}", escape(model));
        }
        text
    }
}

/// A label value with `\`, `"` and newlines escaped, as the text format wants.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
