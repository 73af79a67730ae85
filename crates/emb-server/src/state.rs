//! What every route shares: the models (each behind its batcher), a pool of database handles,
//! the limits, the counters, and the maps already drawn.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock};

use emb::{Database, Model};

use crate::batcher::Batcher;
use crate::error::{ApiError, ApiResult};
use crate::metrics::Metrics;
use crate::Settings;

/// The shared state of the server.
pub struct State {
    /// How the server was started.
    pub settings: Settings,
    /// The models named at start, in order (the first answers requests that name none).
    served: Vec<Arc<Batcher>>,
    /// Models loaded later for collections made with another model, by recorded name.
    loaded: RwLock<HashMap<String, Arc<Batcher>>>,
    /// One loading at a time, so that two requests do not load the same model twice.
    loading: Mutex<()>,
    databases: Databases,
    /// The counters of `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Maps drawn, by (collection, method), with the collection version they show.
    pub maps: Mutex<HashMap<(String, String), DrawnMap>>,
}

impl State {
    /// Loads the served models and starts their batchers.
    pub fn start(settings: Settings) -> emb::Result<Self> {
        let metrics = Arc::new(Metrics::default());
        let mut served = Vec::new();
        for name in &settings.models {
            tracing::info!(model = %name, "loading");
            let model = Arc::new(Model::load(name)?);
            served.push(Arc::new(Batcher::start(model, settings.batching, Arc::clone(&metrics))));
        }
        Ok(Self {
            databases: Databases::new(settings.database.clone()),
            settings,
            served,
            loaded: RwLock::default(),
            loading: Mutex::new(()),
            metrics,
            maps: Mutex::default(),
        })
    }

    /// The names of the served models, as clients name them.
    pub fn model_names(&self) -> Vec<String> {
        self.served.iter().map(|batcher| batcher.model().info().name.clone()).collect()
    }

    /// Requests waiting, per model.
    pub fn queued(&self) -> Vec<(String, usize)> {
        let loaded = self.loaded.read().unwrap_or_else(PoisonError::into_inner);
        self.served
            .iter()
            .chain(loaded.values())
            .map(|batcher| (batcher.model().info().name.clone(), batcher.queued()))
            .collect()
    }

    /// The served model a request names (the first one when it names none); a model the
    /// server was not started with is a 404 that lists the ones it serves.
    pub fn served_model(&self, name: Option<&str>) -> ApiResult<Arc<Batcher>> {
        let found = match name {
            None | Some("") => self.served.first(),
            Some(name) => self.served.iter().find(|batcher| answers_to(batcher.model(), name)),
        };
        found.cloned().ok_or_else(|| {
            ApiError::not_found(format!(
                "this server does not serve the model {:?}; it serves: {} (start it with --model NAME to add one)",
                name.unwrap_or_default(),
                self.model_names().join(", ")
            ))
        })
    }

    /// The model a collection was made with: a served one when it is, else loaded now (once)
    /// and kept. Call from a blocking thread: loading reads the weights.
    pub fn collection_model(&self, name: &str) -> ApiResult<Arc<Batcher>> {
        if let Some(batcher) = self.served.iter().find(|batcher| answers_to(batcher.model(), name))
        {
            return Ok(Arc::clone(batcher));
        }
        if let Some(batcher) = self.loaded.read().unwrap_or_else(PoisonError::into_inner).get(name)
        {
            return Ok(Arc::clone(batcher));
        }
        let _loading = self.loading.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(batcher) = self.loaded.read().unwrap_or_else(PoisonError::into_inner).get(name)
        {
            return Ok(Arc::clone(batcher));
        }
        tracing::info!(model = %name, "loading for a collection");
        let model = Arc::new(Model::load(name)?);
        let batcher =
            Arc::new(Batcher::start(model, self.settings.batching, Arc::clone(&self.metrics)));
        self.loaded
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_owned(), Arc::clone(&batcher));
        Ok(batcher)
    }

    /// Runs `work` with a database handle from the pool (opening one when none is free).
    /// Call from a blocking thread.
    pub fn database<T>(&self, work: impl FnOnce(&mut Database) -> emb::Result<T>) -> ApiResult<T> {
        self.databases.run(work).map_err(ApiError::from)
    }
}

/// A map page, and the collection version (`database:counter`) it shows.
pub type DrawnMap = (String, Arc<String>);

/// Whether `model` is what a client means by `name`: the name it was loaded by, its hub id or
/// the last part of that id.
fn answers_to(model: &Model, name: &str) -> bool {
    let id = &model.location().id;
    model.info().name == name || id == name || id.rsplit('/').next() == Some(name)
}

/// Open handles to the database, reused across requests (a handle keeps its mapped vectors and
/// loaded indexes, so searches after the first are cheap). At most [`Databases::limit`] are
/// open: more requests at once wait for one, which bounds memory under load (the work is
/// CPU-bound, so more handles than cores would not answer sooner).
struct Databases {
    path: PathBuf,
    limit: usize,
    pool: Mutex<Pool>,
    returned: Condvar,
}

#[derive(Default)]
struct Pool {
    free: Vec<Database>,
    open: usize,
}

impl Databases {
    fn new(path: PathBuf) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        Self { path, limit: (2 * cores).max(4), pool: Mutex::default(), returned: Condvar::new() }
    }

    fn run<T>(&self, work: impl FnOnce(&mut Database) -> emb::Result<T>) -> emb::Result<T> {
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        let pooled = loop {
            if let Some(database) = pool.free.pop() {
                break Some(database);
            }
            if pool.open < self.limit {
                pool.open += 1;
                break None;
            }
            pool = self.returned.wait(pool).unwrap_or_else(PoisonError::into_inner);
        };
        drop(pool);
        let database = match pooled {
            Some(database) => database,
            None => Database::open(&self.path).inspect_err(|_| self.give_back(None))?,
        };
        // Returned to the pool however `work` ends; a handle a panic went through is closed.
        let mut lease = Lease { databases: self, database: Some(database) };
        work(lease.database.as_mut().expect("leased"))
    }

    /// Puts `database` back in the pool, or counts it closed when `None`, and wakes a waiter.
    fn give_back(&self, database: Option<Database>) {
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        match database {
            Some(database) => pool.free.push(database),
            None => pool.open -= 1,
        }
        drop(pool);
        self.returned.notify_one();
    }
}

/// A handle taken from the pool, given back when dropped.
struct Lease<'a> {
    databases: &'a Databases,
    database: Option<Database>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let database = self.database.take().filter(|_| !std::thread::panicking());
        self.databases.give_back(database);
    }
}

/// Runs `work` on a blocking thread with the state, for routes that read files or run models.
pub async fn blocking<T: Send + 'static>(
    state: &Arc<State>,
    work: impl FnOnce(&State) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let state = Arc::clone(state);
    tokio::task::spawn_blocking(move || work(&state))
        .await
        .map_err(|error| ApiError::internal(format!("a worker thread failed: {error}")))?
}
