//! Dynamic batching: requests to embed wait in one bounded queue per model, and a worker
//! thread takes as many as fit a token budget and runs them through the model as one batch
//! (text-embeddings-inference's `--max-batch-tokens`). Many small concurrent requests then cost
//! about what one large one costs. A full queue refuses at once (503) instead of piling up.

use std::sync::Arc;
use std::thread::JoinHandle;

use emb::{Model, Prepared};
use tokio::sync::{mpsc, oneshot};

use crate::metrics::Metrics;

/// How batches are formed.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// Tokens per batch; a single request larger than this still runs, alone. Default: 16,384.
    pub max_batch_tokens: usize,
    /// Requests per batch (1 turns batching off). Default: 256.
    pub max_batch_requests: usize,
    /// Requests waiting per model before new ones get a 503. Default: 512.
    pub queue_capacity: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self { max_batch_tokens: 16_384, max_batch_requests: 256, queue_capacity: 512 }
    }
}

/// The vectors of one request, or why there are none.
pub type Reply = Result<Vec<Vec<f32>>, emb::Error>;

/// One request waiting for the model.
struct Job {
    prepared: Prepared,
    tokens: usize,
    reply: oneshot::Sender<Reply>,
}

/// The queue in front of one model, and its worker.
pub struct Batcher {
    model: Arc<Model>,
    sender: Option<mpsc::Sender<Job>>,
    worker: Option<JoinHandle<()>>,
    capacity: usize,
}

/// A request the queue could not take: it is full.
#[derive(Debug)]
pub struct Full {
    /// Requests waiting.
    pub queued: usize,
}

impl Batcher {
    /// Starts the worker of `model`.
    pub fn start(model: Arc<Model>, limits: BatchLimits, metrics: Arc<Metrics>) -> Self {
        let (sender, receiver) = mpsc::channel(limits.queue_capacity.max(1));
        let worker_model = Arc::clone(&model);
        let name = format!("emb-batcher-{}", model.info().name);
        let worker = std::thread::Builder::new()
            .name(name)
            .spawn(move || run(&worker_model, receiver, limits, &metrics))
            .expect("a thread for the batcher");
        Self {
            model,
            sender: Some(sender),
            worker: Some(worker),
            capacity: limits.queue_capacity.max(1),
        }
    }

    /// The model it feeds.
    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    /// Queues `prepared` texts, which hold `tokens` tokens in all; the receiver gets their
    /// vectors once their batch has run.
    pub fn submit(
        &self,
        prepared: Prepared,
        tokens: usize,
    ) -> Result<oneshot::Receiver<Reply>, Full> {
        let (reply, receiver) = oneshot::channel();
        let sender = self.sender.as_ref().ok_or(Full { queued: 0 })?;
        match sender.try_send(Job { prepared, tokens, reply }) {
            Ok(()) => Ok(receiver),
            Err(_) => Err(Full { queued: self.capacity - sender.capacity() }),
        }
    }

    /// Requests waiting now.
    pub fn queued(&self) -> usize {
        self.sender.as_ref().map_or(0, |sender| self.capacity - sender.capacity())
    }
}

impl Drop for Batcher {
    /// Closes the queue and waits for the worker to finish what was queued.
    fn drop(&mut self) {
        self.sender.take();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// The worker: takes the oldest request, adds whatever else waits while the batch stays within
/// the limits (a request that would overflow it, or that cannot join it, opens the next one),
/// embeds the batch and hands each request its vectors.
fn run(model: &Model, mut receiver: mpsc::Receiver<Job>, limits: BatchLimits, metrics: &Metrics) {
    let mut carried: Option<Job> = None;
    loop {
        let Some(first) = carried.take().or_else(|| receiver.blocking_recv()) else {
            return; // closed and drained
        };
        if first.reply.is_closed() {
            continue; // the client went away while it waited
        }
        let mut tokens = first.tokens;
        let mut batch = first.prepared;
        let mut replies = vec![(first.reply, batch.len())];
        while replies.len() < limits.max_batch_requests && tokens < limits.max_batch_tokens {
            let Ok(job) = receiver.try_recv() else { break };
            if job.reply.is_closed() {
                continue;
            }
            if tokens + job.tokens > limits.max_batch_tokens {
                carried = Some(job);
                break;
            }
            let count = job.prepared.len();
            match batch.join(job.prepared) {
                Ok(()) => {
                    tokens += job.tokens;
                    replies.push((job.reply, count));
                }
                Err(prepared) => {
                    carried = Some(Job { prepared, ..job });
                    break;
                }
            }
        }
        metrics.record_batch(replies.len(), batch.len(), tokens);
        match model.embed_prepared(&batch) {
            Ok(embedded) => {
                let mut vectors = embedded.vectors.into_iter();
                for (reply, count) in replies {
                    let _ = reply.send(Ok(vectors.by_ref().take(count).collect()));
                }
            }
            Err(error) => {
                // Every request of the batch gets the error; the text of the first is enough.
                let message = error.to_string();
                let mut first = Some(error);
                for (reply, _) in replies {
                    let error = first.take().unwrap_or_else(|| {
                        emb::Error::Core(emb::CoreError::Embedding {
                            model: model.info().name.clone(),
                            source: message.clone().into(),
                        })
                    });
                    let _ = reply.send(Err(error));
                }
            }
        }
    }
}
