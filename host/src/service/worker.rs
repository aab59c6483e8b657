//! The ingest worker: one thread that owns the pipeline (and so the ingest guest), polls the
//! sources, publishes state to queries and checkpoints it.

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use indicatif::{ProgressBar, ProgressStyle};

use super::dead_letter::DeadLetter;
use super::sources::{now_ms, HttpSource, LineSource, Polled};
use super::{Health, Published, Shared};
use crate::pipeline::{EventBatch, Pipeline, PipelineError, UnitData};
use crate::runner::GuestError;
use crate::state::{Checkpoint, Loaded, HTTP_SOURCE};
use crate::window::UnitKey;

/// Consecutive failed recoveries after which the worker stops ingesting.
const MAX_CONSECUTIVE_FAILURES: u32 = 3;
/// A replay shows progress when at least this many bytes are left to read at start-up.
const REPLAY_PROGRESS_BYTES: u64 = 64 << 20;
/// Time between replay progress log lines when stderr is not a terminal.
const REPLAY_LOG_INTERVAL: Duration = Duration::from_secs(5);
/// Maximum sleep when no source has new data.
const IDLE_WAIT: Duration = Duration::from_millis(20);

/// Progress of reading a backlog of file data at start-up.
struct Replay {
    total: u64,
    started_at: Vec<u64>,
    bar: Option<ProgressBar>,
    last_log: Instant,
}

pub(crate) struct Worker {
    shared: Arc<Shared>,
    pipeline: Pipeline,
    sources: Vec<LineSource>,
    ended: Vec<bool>,
    http: HttpSource,
    events: EventBatch,
    dead_letter: DeadLetter,
    version: u64,
    last_publish: Instant,
    last_checkpoint: Instant,
    unpublished: bool,
    uncheckpointed: bool,
    last_units: BTreeMap<UnitKey, Arc<UnitData>>,
    consecutive_failures: u32,
    replay: Option<Replay>,
}

impl Worker {
    /// Restores the pipeline from `loaded`, opens the sources at their stored offsets and
    /// publishes the restored state.
    pub(crate) fn start(shared: Arc<Shared>, loaded: Loaded) -> anyhow::Result<Worker> {
        let config = &shared.config;
        let pipeline = Pipeline::restore(&shared.runner, config.pipeline.clone(), &loaded)?;
        let sources = open_sources(&shared, &loaded.offsets)?;
        let dead_letter = DeadLetter::open(config.dead_letter.as_deref())
            .map_err(|error| anyhow::anyhow!("failed to open the dead-letter file: {error}"))?;
        let events = EventBatch {
            dimensions: config
                .pipeline
                .dimension
                .as_ref()
                .map(|_| Default::default()),
            ..EventBatch::default()
        };
        let http = HttpSource::new(shared.store.clone(), shared.http_extractor.clone());
        let replay = start_replay(&sources);
        tracing::info!(
            version = loaded.version,
            units = loaded.units.len(),
            offsets = ?loaded.offsets,
            state = %shared.store.path().display(),
            "restored the last checkpoint"
        );

        let mut worker = Worker {
            ended: vec![false; sources.len()],
            shared,
            pipeline,
            sources,
            http,
            events,
            dead_letter,
            version: loaded.version,
            last_publish: Instant::now(),
            last_checkpoint: Instant::now(),
            unpublished: true,
            uncheckpointed: false,
            last_units: BTreeMap::new(),
            consecutive_failures: 0,
            replay,
        };
        worker.publish()?;
        *worker.shared.health.lock().expect("health lock") = Health::Running;
        Ok(worker)
    }

    /// Runs until shutdown.
    pub(crate) fn run(&mut self) {
        tracing::info!(sources = self.sources.len(), "ingest worker started");
        loop {
            if self.shared.shutdown.load(Ordering::SeqCst) {
                self.stop();
                return;
            }
            if matches!(self.shared.health(), Health::Degraded { .. }) {
                self.wait(Duration::from_millis(200));
                continue;
            }

            let worked = match self
                .step()
                .and_then(|worked| self.maintain().map(|()| worked))
            {
                Ok(worked) => worked,
                Err(error) => {
                    self.recover(error);
                    continue;
                }
            };
            if !worked {
                self.wait(IDLE_WAIT);
            }
        }
    }

    fn wait(&self, timeout: Duration) {
        let (flag, condvar) = &self.shared.wake;
        let guard = flag.lock().expect("wake lock");
        let (mut guard, _) = condvar
            .wait_timeout_while(guard, timeout, |woken| !*woken)
            .expect("wake lock");
        *guard = false;
    }

    /// Reads one batch from each source and counts it. Returns true when anything was read.
    fn step(&mut self) -> anyhow::Result<bool> {
        let mut worked = false;

        for index in 0..self.sources.len() {
            if self.ended[index] {
                continue;
            }
            let counters = self.pipeline.counters_mut();
            let polled =
                self.sources[index].poll(&mut self.events, counters, &mut self.dead_letter);
            match polled {
                Ok(Polled::Lines { offset }) => {
                    let id = self.sources[index].id().to_string();
                    self.count_events(&id)?;
                    self.pipeline.set_offset(&id, offset);
                    worked = true;
                }
                Ok(Polled::Idle) => {}
                Ok(Polled::End) => {
                    self.ended[index] = true;
                    tracing::info!(
                        source = self.sources[index].id(),
                        offset = self.sources[index].offset(),
                        "source read to its end"
                    );
                }
                Err(error) => {
                    self.ended[index] = true;
                    tracing::error!(source = self.sources[index].id(), %error, "source failed; it is no longer read");
                }
            }
        }

        let after = self
            .pipeline
            .offsets()
            .get(HTTP_SOURCE)
            .copied()
            .unwrap_or(0);
        let counters = self.pipeline.counters_mut();
        if let Polled::Lines { offset } =
            self.http
                .poll(after, &mut self.events, counters, &mut self.dead_letter)?
        {
            self.count_events(HTTP_SOURCE)?;
            self.pipeline.set_offset(HTTP_SOURCE, offset);
            worked = true;
        }

        if self.pipeline.advance()? {
            self.unpublished = true;
        }
        if worked {
            self.unpublished = true;
            self.update_replay();
        }
        Ok(worked)
    }

    fn count_events(&mut self, source: &str) -> Result<(), GuestError> {
        if self.shared.pending_since_ms.load(Ordering::Relaxed) == 0 {
            self.shared
                .pending_since_ms
                .store(now_ms(), Ordering::Relaxed);
        }

        let outcome = self.pipeline.ingest(&self.events)?;
        for index in outcome.too_late {
            let item = self.events.items.item(index).unwrap_or_default();
            self.dead_letter.too_late(
                source,
                item,
                self.events.times[index],
                self.pipeline.clock().watermark(),
            );
        }
        metrics::counter!("topk_events_read_total").increment(self.events.len() as u64);
        self.events.clear();
        Ok(())
    }

    /// Publishes and checkpoints when their intervals have passed.
    fn maintain(&mut self) -> anyhow::Result<()> {
        let shared = self.shared.clone();
        let config = &shared.config;
        if self.unpublished && self.last_publish.elapsed() >= config.publish_interval {
            self.publish()?;
        }
        if self.uncheckpointed && self.last_checkpoint.elapsed() >= config.checkpoint_interval {
            if self.unpublished {
                self.publish()?;
            }
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Exports every unit and hands the state to the publisher thread, which computes the cached
    /// top-K results and makes it visible to queries.
    fn publish(&mut self) -> anyhow::Result<()> {
        let units = self.pipeline.export()?;
        let version = self.version + 1;
        let keys = units.keys().copied().collect();
        let published = Published {
            version,
            built_at: Some(SystemTime::now()),
            units,
            keys,
            offsets: self.pipeline.offsets().clone(),
            max_event_time: self.pipeline.clock().max_event_time(),
            watermark: self.pipeline.clock().watermark(),
            counters: self.pipeline.counters().clone(),
            cache: HashMap::new(),
        };
        self.last_units = published.units.clone();
        self.shared.publish_queue.put(published);

        self.version = version;
        self.last_publish = Instant::now();
        self.unpublished = false;
        self.uncheckpointed = true;
        Ok(())
    }

    /// Writes the units, offsets and counters of the last publish in one transaction.
    fn checkpoint(&mut self) -> anyhow::Result<()> {
        let (upserts, removals) = self.pipeline.take_changes(&self.last_units);
        let offsets = self.pipeline.offsets().clone();
        let checkpoint = Checkpoint {
            upserts: upserts.iter().map(|unit| unit.as_ref()).collect(),
            removals: removals.clone(),
            offsets: &offsets,
            counters: serde_json::to_value(self.pipeline.counters()).expect("counters serialize"),
            max_event_time: self.pipeline.clock().max_event_time(),
            version: self.version,
        };
        match self.shared.store.commit(&checkpoint) {
            Ok(duration) => {
                metrics::histogram!("topk_checkpoint_duration_seconds")
                    .record(duration.as_secs_f64());
                tracing::debug!(
                    units = upserts.len(),
                    removed = removals.len(),
                    version = self.version,
                    ms = duration.as_millis() as u64,
                    "checkpoint committed"
                );
                self.dead_letter.flush();
                self.last_checkpoint = Instant::now();
                self.uncheckpointed = false;
                self.consecutive_failures = 0;
                Ok(())
            }
            Err(error) => {
                self.pipeline.restore_changes(&upserts, &removals);
                self.last_checkpoint = Instant::now();
                tracing::error!(%error, "checkpoint failed; retrying at the next interval");
                Ok(())
            }
        }
    }

    /// Rebuilds the pipeline from the last checkpoint after a guest failure, and rewinds the
    /// sources to its offsets, so no event is lost or counted twice.
    fn recover(&mut self, error: anyhow::Error) {
        let is_trap = error
            .downcast_ref::<GuestError>()
            .is_some_and(GuestError::is_trap)
            || error.downcast_ref::<PipelineError>().is_some_and(
                |error| matches!(error, PipelineError::Guest(guest) if guest.is_trap()),
            );
        if is_trap {
            metrics::counter!("topk_guest_traps_total").increment(1);
        }
        self.consecutive_failures += 1;
        tracing::error!(%error, failures = self.consecutive_failures, "ingest failed; restoring the last checkpoint");

        if self.consecutive_failures >= MAX_CONSECUTIVE_FAILURES {
            let message = format!(
                "ingest stopped after {} consecutive failures; queries read version {}: {error:#}",
                self.consecutive_failures, self.version
            );
            tracing::error!("{message}");
            *self.shared.health.lock().expect("health lock") = Health::Degraded { error: message };
            return;
        }

        let restored = self
            .shared
            .store
            .load()
            .map_err(anyhow::Error::from)
            .and_then(|loaded| {
                let pipeline = Pipeline::restore(
                    &self.shared.runner,
                    self.shared.config.pipeline.clone(),
                    &loaded,
                )?;
                let sources = open_sources(&self.shared, &loaded.offsets)?;
                Ok((pipeline, sources))
            });
        match restored {
            Ok((pipeline, sources)) => {
                self.pipeline = pipeline;
                self.ended = vec![false; sources.len()];
                self.sources = sources;
                self.events.clear();
                self.unpublished = true;
                self.uncheckpointed = false;
            }
            Err(error) => {
                let message = format!("failed to restore the last checkpoint: {error:#}");
                tracing::error!("{message}");
                *self.shared.health.lock().expect("health lock") =
                    Health::Degraded { error: message };
            }
        }
    }

    fn update_replay(&mut self) {
        let Some(replay) = &mut self.replay else {
            return;
        };
        let done: u64 = self
            .sources
            .iter()
            .zip(&replay.started_at)
            .map(|(source, start)| source.offset().saturating_sub(*start))
            .sum();
        let finished = done >= replay.total || self.ended.iter().all(|ended| *ended);
        if let Some(bar) = &replay.bar {
            bar.set_position(done.min(replay.total));
        } else if replay.last_log.elapsed() >= REPLAY_LOG_INTERVAL {
            tracing::info!(
                read_bytes = done,
                total_bytes = replay.total,
                percent = done * 100 / replay.total.max(1),
                "replaying backlog"
            );
            replay.last_log = Instant::now();
        }
        if finished {
            if let Some(bar) = &replay.bar {
                bar.finish_and_clear();
            }
            tracing::info!(total_bytes = replay.total, "replay finished");
            self.replay = None;
        }
    }

    fn stop(&mut self) {
        let result = (|| -> anyhow::Result<()> {
            if self.unpublished {
                self.publish()?;
            }
            if self.uncheckpointed {
                self.checkpoint()?;
            }
            Ok(())
        })();
        if let Err(error) = result {
            tracing::error!(%error, "final checkpoint failed; the next start resumes from the previous one");
        }
        self.dead_letter.flush();
        *self.shared.health.lock().expect("health lock") = Health::Stopped;
        tracing::info!(version = self.version, "ingest worker stopped");
    }
}

fn open_sources(
    shared: &Shared,
    offsets: &BTreeMap<String, u64>,
) -> anyhow::Result<Vec<LineSource>> {
    let extractor = crate::input::Extractor::new(&shared.config.format)
        .map_err(|error| anyhow::anyhow!("invalid format selectors: {error}"))?;
    let mut sources = Vec::new();
    for spec in &shared.config.sources {
        let id = match spec {
            super::SourceSpec::File(path) => path.display().to_string(),
            super::SourceSpec::Stdin => "-".to_string(),
        };
        let offset = offsets.get(&id).copied().unwrap_or(0);
        let source = LineSource::open(spec, &extractor, &shared.config.read, offset)?;
        debug_assert_eq!(source.id(), id, "source ids must match the stored offsets");
        tracing::info!(source = source.id(), offset, spec = ?source.spec(), "opened source");
        sources.push(source);
    }
    Ok(sources)
}

fn start_replay(sources: &[LineSource]) -> Option<Replay> {
    let started_at: Vec<u64> = sources.iter().map(LineSource::offset).collect();
    let total: u64 = sources
        .iter()
        .map(|source| source.size.unwrap_or(0).saturating_sub(source.offset()))
        .sum();
    if total < REPLAY_PROGRESS_BYTES {
        return None;
    }
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(total);
        let style = ProgressStyle::with_template(
            "replaying {bytes}/{total_bytes} {wide_bar} {bytes_per_sec} eta {eta}",
        )
        .expect("progress template parses");
        bar.set_style(style);
        bar
    });
    tracing::info!(total_bytes = total, "replaying backlog");
    Some(Replay {
        total,
        started_at,
        bar,
        last_log: Instant::now(),
    })
}
