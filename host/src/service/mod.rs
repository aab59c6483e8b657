//! `topk run` as a service: a worker thread that reads the sources, counts into the pipeline,
//! publishes versioned state for queries and checkpoints to redb, and the shared state the HTTP
//! API reads.

mod dead_letter;
mod priority;
mod publisher;
mod sources;
mod worker;

pub use dead_letter::DeadLetter;
pub use publisher::PublishQueue;
pub use sources::SourceSpec;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crate::input::{Extractor, FormatSpec, ReadOptions};
use crate::pipeline::{Answer, Counters, PipelineConfig, QueryEngine, UnitData};
use crate::runner::Runner;
use crate::state::StateStore;
use crate::window::{Level, UnitKey};

/// Named windows whose top-K is computed at every publish, so these queries cost a lookup.
pub const CACHED_WINDOWS: [&str; 4] = ["all", "last_hour", "last_day", "last_week"];

/// Settings of the service.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Counting and windowing.
    pub pipeline: PipelineConfig,
    /// Format and selectors of the file and stdin sources.
    pub format: FormatSpec,
    /// File and stdin sources.
    pub sources: Vec<SourceSpec>,
    /// Read options of the sources (follow, maximum line length).
    pub read: ReadOptions,
    /// Format and selectors of lines posted to `POST /api/v1/events` (NDJSON).
    pub http_format: FormatSpec,
    /// The redb state file.
    pub state_path: PathBuf,
    /// Time between publishes of new state to queries.
    pub publish_interval: Duration,
    /// Time between checkpoints to the state file.
    pub checkpoint_interval: Duration,
    /// Largest `k` a query may ask for; cached answers hold this many rows.
    pub max_k: u32,
    /// The optional dead-letter file.
    pub dead_letter: Option<PathBuf>,
}

/// A cached answer for a named window.
#[derive(Debug, Clone)]
pub struct CachedAnswer {
    /// The `[start, end)` in ms that the window requested of the published state.
    pub requested: (i64, i64),
    /// Start of the merged interval, ms.
    pub start: i64,
    /// End of the merged interval, ms.
    pub end: i64,
    /// The answer with `max_k` rows, shared by windows that cover the same units.
    pub answer: Arc<Answer>,
}

/// One published, immutable state: what queries read. A newer state has a higher version.
#[derive(Debug, Clone, Default)]
pub struct Published {
    /// Increases with every publish, also across restarts.
    pub version: u64,
    /// When the state was built.
    pub built_at: Option<SystemTime>,
    /// Every pane and rollup.
    pub units: BTreeMap<UnitKey, Arc<UnitData>>,
    /// The keys of `units`, for window covers.
    pub keys: BTreeSet<UnitKey>,
    /// Offsets counted, per source.
    pub offsets: BTreeMap<String, u64>,
    /// Highest event time counted.
    pub max_event_time: Option<i64>,
    /// The watermark.
    pub watermark: Option<i64>,
    /// Counters at publish time.
    pub counters: Counters,
    /// Answers of [`CACHED_WINDOWS`] without dimension.
    pub cache: HashMap<&'static str, Arc<CachedAnswer>>,
}

impl Published {
    /// Returns the end of the newest pane with data, the reference point of relative windows.
    pub fn newest_end(&self, pane_ms: i64) -> i64 {
        self.keys
            .iter()
            .filter(|key| key.level == Level::Pane)
            .map(|key| key.end(pane_ms))
            .max()
            .unwrap_or_else(|| {
                self.keys
                    .iter()
                    .map(|key| key.end(pane_ms))
                    .max()
                    .unwrap_or(0)
            })
    }

    /// Returns the start of the oldest unit.
    pub fn oldest_start(&self) -> i64 {
        self.keys.iter().map(|key| key.start).min().unwrap_or(0)
    }
}

/// The state of the ingest worker, for `/healthz`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Health {
    /// Starting: loading the checkpoint.
    Starting,
    /// Reading and counting.
    Running,
    /// The guest trapped repeatedly; queries are answered from the last published state.
    Degraded {
        /// The last error.
        error: String,
    },
    /// Stopped after a shutdown request.
    Stopped,
}

/// State shared by the worker and the HTTP handlers.
pub struct Shared {
    /// The settings.
    pub config: ServiceConfig,
    /// The latest published state.
    pub published: RwLock<Arc<Published>>,
    /// Sends the version of each publish, for `min_offset` waits.
    pub versions: tokio::sync::watch::Sender<u64>,
    /// Query guests.
    pub queries: QueryEngine,
    /// The state store.
    pub store: Arc<StateStore>,
    /// The extractor of posted NDJSON lines, to validate them before they are accepted.
    pub http_extractor: Extractor,
    /// The worker's state.
    pub health: Mutex<Health>,
    /// When the oldest read-but-unpublished event was read (ms since the epoch), or 0.
    pub pending_since_ms: AtomicI64,
    /// Wakes the worker after an HTTP append.
    pub wake: (Mutex<bool>, Condvar),
    /// Set to stop the worker.
    pub shutdown: AtomicBool,
    /// The runner, to instantiate guests.
    pub runner: Runner,
    /// Exported states waiting for the publisher thread.
    pub publish_queue: PublishQueue,
}

impl Shared {
    /// Returns the latest published state.
    pub fn current(&self) -> Arc<Published> {
        self.published.read().expect("published lock").clone()
    }

    /// Wakes the worker (after an HTTP append).
    pub fn wake(&self) {
        let (flag, condvar) = &self.wake;
        *flag.lock().expect("wake lock") = true;
        condvar.notify_one();
    }

    /// Returns the worker's state.
    pub fn health(&self) -> Health {
        self.health.lock().expect("health lock").clone()
    }
}

/// A running service: the shared state and the worker thread.
pub struct Service {
    /// State shared with the HTTP API.
    pub shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
    publisher: Option<JoinHandle<()>>,
}

impl Service {
    /// Opens the state store, restores the last checkpoint and starts the worker thread.
    ///
    /// # Errors
    ///
    /// When the state store cannot be opened, the HTTP format is invalid, or the checkpoint
    /// cannot be restored.
    pub fn start(runner: Runner, config: ServiceConfig) -> anyhow::Result<Service> {
        config
            .pipeline
            .window
            .validate()
            .map_err(anyhow::Error::msg)?;
        let store = Arc::new(StateStore::open(
            &config.state_path,
            &config.pipeline.settings(),
        )?);
        let http_extractor = Extractor::new(&config.http_format)
            .map_err(|error| anyhow::anyhow!("invalid HTTP ingest selectors: {error}"))?;
        let loaded = store.load()?;
        let (versions, _) = tokio::sync::watch::channel(loaded.version);

        let shared = Arc::new(Shared {
            queries: QueryEngine::new(runner.clone(), config.pipeline.sketch),
            config,
            published: RwLock::new(Arc::new(Published {
                version: loaded.version,
                ..Published::default()
            })),
            versions,
            store,
            http_extractor,
            health: Mutex::new(Health::Starting),
            pending_since_ms: AtomicI64::new(0),
            wake: (Mutex::new(false), Condvar::new()),
            shutdown: AtomicBool::new(false),
            runner,
            publish_queue: PublishQueue::default(),
        });

        // The restored state is published before the API starts, so the first query sees it.
        let mut worker = worker::Worker::start(shared.clone(), loaded)?;
        let mut publisher = publisher::Publisher::new(shared.clone());
        if let Some(restored) = shared.publish_queue.try_take() {
            publisher.publish(restored)?;
        }

        let publisher = std::thread::Builder::new()
            .name("topk-publish".into())
            .spawn(move || {
                priority::lower_current_thread();
                publisher.run()
            })?;
        let handle = std::thread::Builder::new()
            .name("topk-ingest".into())
            .spawn(move || {
                priority::lower_current_thread();
                worker.run()
            })?;
        Ok(Service {
            shared,
            worker: Some(handle),
            publisher: Some(publisher),
        })
    }

    /// Stops the worker after a final publish and checkpoint, then the publisher after it has
    /// published that state, and waits for both.
    pub fn stop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        self.shared.wake();
        if let Some(handle) = self.worker.take() {
            if handle.join().is_err() {
                tracing::error!("the ingest worker panicked");
            }
        }
        self.shared.publish_queue.close();
        if let Some(handle) = self.publisher.take() {
            if handle.join().is_err() {
                tracing::error!("the publisher thread panicked");
            }
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}
