//! The publisher thread: turns each exported state into a published one by computing the cached
//! top-K of the named windows, off the ingest thread, then makes it visible to queries.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};

use super::sources::now_ms;
use super::{CachedAnswer, Published, Shared, CACHED_WINDOWS};
use crate::pipeline::{Target, UnitData};
use crate::window::{cover, parse_window, Horizon, Level, UnitKey};

/// The hand-over slot between the ingest worker and the publisher: only the newest state waits,
/// an older one not yet taken is replaced.
#[derive(Default)]
pub struct PublishQueue {
    slot: Mutex<(Option<Published>, bool)>,
    ready: Condvar,
}

impl PublishQueue {
    /// Offers a state to publish, replacing one still waiting.
    pub fn put(&self, published: Published) {
        let mut slot = self.slot.lock().expect("publish queue lock");
        slot.0 = Some(published);
        self.ready.notify_one();
    }

    /// Closes the queue: the publisher publishes what is waiting, then stops.
    pub fn close(&self) {
        self.slot.lock().expect("publish queue lock").1 = true;
        self.ready.notify_one();
    }

    /// Takes the waiting state, if any, without waiting.
    pub(crate) fn try_take(&self) -> Option<Published> {
        self.slot.lock().expect("publish queue lock").0.take()
    }

    /// Waits for the next state, or returns `None` once the queue is closed and empty.
    fn take(&self) -> Option<Published> {
        let mut slot = self.slot.lock().expect("publish queue lock");
        loop {
            if let Some(published) = slot.0.take() {
                return Some(published);
            }
            if slot.1 {
                return None;
            }
            slot = self.ready.wait(slot).expect("publish queue lock");
        }
    }
}

/// Computes the cached windows and swaps in published states.
pub(crate) struct Publisher {
    shared: Arc<Shared>,
    /// Per cached window: the closed units merged into its base snapshot, and that snapshot.
    bases: HashMap<&'static str, (Vec<UnitKey>, Arc<UnitData>)>,
    previous_top: Vec<Vec<u8>>,
}

impl Publisher {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Publisher {
            shared,
            bases: HashMap::new(),
            previous_top: Vec::new(),
        }
    }

    /// Publishes states from the queue until it is closed.
    pub(crate) fn run(mut self) {
        while let Some(published) = self.shared.publish_queue.take() {
            let version = published.version;
            if let Err(error) = self.publish(published) {
                metrics::counter!("topk_publish_failures_total").increment(1);
                tracing::error!(%error, version, "failed to compute the cached windows; queries keep the previous version");
            }
        }
    }

    /// Computes the cached windows of `published` and makes it the state queries read.
    pub(crate) fn publish(&mut self, mut published: Published) -> anyhow::Result<()> {
        self.fill_cache(&mut published)?;

        let pending_since = self.shared.pending_since_ms.swap(0, Ordering::Relaxed);
        if pending_since > 0 {
            metrics::gauge!("topk_processing_lag_seconds")
                .set((now_ms() - pending_since).max(0) as f64 / 1000.0);
        }
        record_gauges(&published);
        let version = published.version;
        *self.shared.published.write().expect("published lock") = Arc::new(published);
        self.shared.versions.send_replace(version);
        Ok(())
    }

    /// Computes the cached windows. The closed units of a window are merged into a base snapshot
    /// once and reused while that set of units is unchanged, so a publish merges only the base
    /// and the open panes.
    fn fill_cache(&mut self, published: &mut Published) -> anyhow::Result<()> {
        let pane_ms = self.shared.config.pipeline.window.pane_ms;
        let newest_end = published.newest_end(pane_ms);
        let oldest_start = published.oldest_start();
        // Windows that cover the same units (all of them, while the data spans less than an
        // hour) share one computed result.
        let mut computed: Vec<(Vec<UnitKey>, Arc<CachedAnswer>)> = Vec::new();
        let horizon = Horizon::new(&self.shared.config.pipeline.window, published.watermark);
        for name in CACHED_WINDOWS {
            let window =
                parse_window(Some(name), None, None, None).expect("cached window names parse");
            let (start, end) = window.spec.resolve(newest_end, oldest_start);
            let covered = cover(start, end, pane_ms, &published.keys, horizon);
            if let Some((_, shared)) = computed.iter().find(|(units, _)| *units == covered.units) {
                // Same units, same counts; the covered span stays this window's own.
                let cached = CachedAnswer {
                    requested: (start, end),
                    start: covered.start,
                    end: covered.end,
                    answer: shared.answer.clone(),
                };
                published.cache.insert(name, Arc::new(cached));
                continue;
            }
            let units: Vec<Arc<UnitData>> = covered
                .units
                .iter()
                .filter_map(|key| published.units.get(key).cloned())
                .collect();
            let (closed, open): (Vec<_>, Vec<_>) = units.into_iter().partition(|unit| unit.closed);

            let mut closed_keys: Vec<UnitKey> = closed.iter().map(|unit| unit.key).collect();
            closed_keys.sort_unstable();
            let base = match self.bases.get(name) {
                Some((keys, base)) if *keys == closed_keys => base.clone(),
                Some((keys, base))
                    if keys
                        .iter()
                        .all(|key| closed_keys.binary_search(key).is_ok()) =>
                {
                    // Only new closed units: merge them into the previous base.
                    let mut inputs = vec![base.clone()];
                    inputs.extend(
                        closed
                            .iter()
                            .filter(|unit| keys.binary_search(&unit.key).is_err())
                            .cloned(),
                    );
                    self.build_base(name, closed_keys, &inputs, covered.start)?
                }
                _ => self.build_base(name, closed_keys, &closed, covered.start)?,
            };

            let merged_count = closed.len() + open.len();
            let mut inputs = vec![base];
            inputs.extend(open);
            let mut answer =
                self.shared
                    .queries
                    .top_k(&inputs, Target::All, self.shared.config.max_k)?;
            answer.units = merged_count;
            if name == "all" {
                self.record_churn(&answer.rows);
                metrics::gauge!("topk_distinct_items").set(answer.distinct);
            }
            let cached = Arc::new(CachedAnswer {
                requested: (start, end),
                start: covered.start,
                end: covered.end,
                answer: Arc::new(answer),
            });
            computed.push((covered.units, cached.clone()));
            published.cache.insert(name, cached);
        }
        Ok(())
    }

    /// Merges `inputs` into the base snapshot of cached window `name`, covering `keys`.
    fn build_base(
        &mut self,
        name: &'static str,
        keys: Vec<UnitKey>,
        inputs: &[Arc<UnitData>],
        start: i64,
    ) -> anyhow::Result<Arc<UnitData>> {
        let merged = self.shared.queries.snapshot(inputs, Target::All)?;
        let base = Arc::new(UnitData {
            key: UnitKey {
                level: Level::Pane,
                start,
            },
            closed: true,
            snapshot: merged.snapshot.unwrap_or_default().into(),
            total_weight: merged.total_weight,
            maximum_error: merged.maximum_error,
            dimension_values: None,
            by_value: BTreeMap::new(),
            untracked_weight: 0,
            late_events: merged.late_events,
        });
        self.bases.insert(name, (keys, base.clone()));
        Ok(base)
    }

    /// Counts the items that entered the top 10 of `all` since the last publish.
    fn record_churn(&mut self, rows: &[crate::pipeline::AnswerRow]) {
        let top: Vec<Vec<u8>> = rows.iter().take(10).map(|row| row.item.clone()).collect();
        let entered = top
            .iter()
            .filter(|item| !self.previous_top.contains(item))
            .count();
        metrics::counter!("topk_top10_churn_total").increment(entered as u64);
        self.previous_top = top;
    }
}

fn record_gauges(published: &Published) {
    metrics::gauge!("topk_published_version").set(published.version as f64);
    metrics::gauge!("topk_events_counted").set(published.counters.events as f64);
    metrics::gauge!("topk_late_events").set(published.counters.late_events as f64);
    metrics::gauge!("topk_too_late_events").set(published.counters.too_late_events as f64);
    metrics::gauge!("topk_untracked_dimension_events")
        .set(published.counters.untracked_dimension_events as f64);
    metrics::gauge!("topk_evicted_dimension_values")
        .set(published.counters.evicted_dimension_values as f64);
    if let Some(watermark) = published.watermark {
        metrics::gauge!("topk_watermark_seconds").set(watermark as f64 / 1000.0);
    }
    if let Some(max) = published.max_event_time {
        metrics::gauge!("topk_event_time_lag_seconds").set((now_ms() - max) as f64 / 1000.0);
    }
}
