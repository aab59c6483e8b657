//! The counting pipeline: events go into open panes (guest summaries), panes close as the
//! watermark passes them and are exported as immutable snapshots, closed panes roll up into
//! hours and days, and retention drops old units.
//!
//! The pipeline owns one [`Guest`]. Every method that calls into it returns [`GuestError`];
//! after a trap the owner rebuilds the pipeline from the last checkpoint with
//! [`Pipeline::restore`].

mod query;
mod unit;
mod values;

pub use query::{Answer, AnswerRow, QueryEngine, QueryError, Target};
pub use unit::{UnitData, UnitDecodeError, ValueData};
pub use values::{TrackedValue, UpdateOutcome, ValueBatch, ValueTable};

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use topk_sketch::snapshot::{Dimension, Metadata, Window};
use topk_sketch::Config;

use crate::runner::{
    Guest, GuestError, GuestSummary, PackedBatch, PackedBatchError, Runner, RunnerError,
};
use crate::state::Loaded;
use crate::window::{floor_to, Clock, Level, Placement, UnitKey, WindowConfig, DAY_MS, HOUR_MS};

/// Counting and windowing settings of a pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineConfig {
    /// Parameters of every summary.
    pub sketch: Config,
    /// Pane size, watermark and retention.
    pub window: WindowConfig,
    /// Name of the dimension field, when top-K per dimension value is wanted.
    pub dimension: Option<String>,
    /// Maximum number of dimension values with their own summary in one pane or rollup. The
    /// most frequent values by the pane's sketch of dimension values get them. Events of other
    /// values count in the pane's summary and in its untracked weight only.
    pub max_dimension_values: usize,
}

impl PipelineConfig {
    /// Returns the settings that change the meaning of stored units, for the state store.
    pub fn settings(&self) -> serde_json::Value {
        serde_json::json!({
            "pane_ms": self.window.pane_ms,
            "max_map_size": self.sketch.max_map_size,
            "hll_precision": self.sketch.hll_precision,
            "count_min_width": self.sketch.count_min_width,
            "count_min_depth": self.sketch.count_min_depth,
            "dimension": self.dimension,
        })
    }
}

/// Event counters of the pipeline, stored with each checkpoint so they survive restarts.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counters {
    /// Events counted in a pane.
    pub events: u64,
    /// Events counted although the watermark had passed them (within the allowed lateness).
    pub late_events: u64,
    /// Events not counted because their pane had closed.
    pub too_late_events: u64,
    /// Lines not counted, by reason.
    pub malformed: BTreeMap<String, u64>,
    /// Events counted in no dimension value's summary of their pane: their value was not
    /// tracked, or it was evicted later for a more frequent one.
    pub untracked_dimension_events: u64,
    /// Dimension values evicted from a pane's table for more frequent ones.
    #[serde(default)]
    pub evicted_dimension_values: u64,
}

/// Events read from one source: items, optional dimension values and event times, in order.
#[derive(Debug, Clone, Default)]
pub struct EventBatch {
    /// The items.
    pub items: PackedBatch,
    /// One dimension value per item, when a dimension is configured.
    pub dimensions: Option<PackedBatch>,
    /// One event time per item, ms since the Unix epoch.
    pub times: Vec<i64>,
}

impl EventBatch {
    /// Appends one event.
    ///
    /// # Errors
    ///
    /// [`PackedBatchError::Full`] when the item buffer is full; send the batch first.
    pub fn push(
        &mut self,
        item: &[u8],
        dimension: Option<&[u8]>,
        time_ms: i64,
    ) -> Result<(), PackedBatchError> {
        self.items.push(item)?;
        if let Some(dimensions) = &mut self.dimensions {
            dimensions.push(dimension.unwrap_or_default())?;
        }
        self.times.push(time_ms);
        Ok(())
    }

    /// Returns the number of events.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// Returns true when there is no event.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// Empties the batch, keeping its buffers.
    pub fn clear(&mut self) {
        self.items.clear();
        if let Some(dimensions) = &mut self.dimensions {
            dimensions.clear();
        }
        self.times.clear();
    }
}

/// Why the pipeline stopped: the guest failed, or the runner could not instantiate it.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A guest call failed.
    #[error(transparent)]
    Guest(#[from] GuestError),
    /// The component could not be instantiated.
    #[error(transparent)]
    Runner(#[from] RunnerError),
    /// A stored unit is not a valid snapshot for this component.
    #[error("stored {key:?} cannot be loaded: {error}")]
    Restore {
        /// The unit.
        key: UnitKey,
        /// The guest's error.
        error: GuestError,
    },
}

struct OpenPane {
    summary: GuestSummary,
    /// Per-value summaries, when a dimension is configured.
    values: Option<ValueTable>,
    late_events: u64,
    /// The last export, while no event has been added since.
    exported: Option<Arc<UnitData>>,
}

/// Items of one batch that go to one pane.
#[derive(Default)]
struct PaneBatch {
    items: PackedBatch,
    /// Items grouped by dimension value, when a dimension is configured.
    values: ValueBatch,
    late: u64,
}

/// The result of [`Pipeline::ingest`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IngestOutcome {
    /// Indices of events dropped because their pane had closed.
    pub too_late: Vec<usize>,
}

/// Open panes in a guest, closed units as snapshots, offsets and counters.
pub struct Pipeline {
    guest: Guest,
    config: PipelineConfig,
    clock: Clock,
    open: BTreeMap<i64, OpenPane>,
    closed: BTreeMap<UnitKey, Arc<UnitData>>,
    pending_hours: BTreeSet<i64>,
    pending_days: BTreeSet<i64>,
    /// Closed units created since the last checkpoint.
    dirty: BTreeSet<UnitKey>,
    /// Units dropped by retention since the last checkpoint.
    removed: BTreeSet<UnitKey>,
    offsets: BTreeMap<String, u64>,
    counters: Counters,
}

impl Pipeline {
    /// Creates an empty pipeline with a new guest.
    ///
    /// # Errors
    ///
    /// [`PipelineError::Runner`] when the component does not instantiate.
    pub fn new(runner: &Runner, config: PipelineConfig) -> Result<Pipeline, PipelineError> {
        let guest = runner.instantiate()?;
        let clock = Clock::new(config.window);
        Ok(Pipeline {
            guest,
            config,
            clock,
            open: BTreeMap::new(),
            closed: BTreeMap::new(),
            pending_hours: BTreeSet::new(),
            pending_days: BTreeSet::new(),
            dirty: BTreeSet::new(),
            removed: BTreeSet::new(),
            offsets: BTreeMap::new(),
            counters: Counters::default(),
        })
    }

    /// Rebuilds a pipeline from a checkpoint: closed units as they were, open panes imported
    /// into a new guest, offsets, counters and the watermark.
    ///
    /// # Errors
    ///
    /// [`PipelineError::Restore`] when a stored open pane is not a valid snapshot.
    pub fn restore(
        runner: &Runner,
        config: PipelineConfig,
        loaded: &Loaded,
    ) -> Result<Pipeline, PipelineError> {
        let mut pipeline = Pipeline::new(runner, config)?;
        pipeline.clock = Clock::resume(pipeline.config.window, loaded.max_event_time);
        pipeline.offsets = loaded.offsets.clone();
        if let Some(counters) = &loaded.counters {
            pipeline.counters = serde_json::from_value(counters.clone()).unwrap_or_default();
        }

        for unit in &loaded.units {
            if unit.closed {
                pipeline.closed.insert(unit.key, Arc::new(unit.clone()));
                continue;
            }
            let pane = pipeline
                .import_open(unit)
                .map_err(|error| PipelineError::Restore {
                    key: unit.key,
                    error,
                })?;
            pipeline.open.insert(unit.key.start, pane);
        }

        for key in pipeline.closed.keys() {
            match key.level {
                Level::Pane => {
                    let hour = floor_to(key.start, HOUR_MS);
                    if !pipeline.closed.contains_key(&UnitKey {
                        level: Level::Hour,
                        start: hour,
                    }) {
                        pipeline.pending_hours.insert(hour);
                    }
                }
                Level::Hour => {
                    let day = floor_to(key.start, DAY_MS);
                    if !pipeline.closed.contains_key(&UnitKey {
                        level: Level::Day,
                        start: day,
                    }) {
                        pipeline.pending_days.insert(day);
                    }
                }
                Level::Day => {}
            }
        }
        Ok(pipeline)
    }

    fn import_open(&mut self, unit: &UnitData) -> Result<OpenPane, GuestError> {
        let summary = self.guest.import_snapshot(&unit.snapshot)?;
        let values = match &unit.dimension_values {
            Some(bytes) => {
                let values = self.guest.import_snapshot(bytes)?;
                let mut tracked = HashMap::new();
                for (value, data) in &unit.by_value {
                    let summary = self.guest.import_snapshot(&data.snapshot)?;
                    tracked.insert(
                        value.clone(),
                        TrackedValue {
                            summary,
                            weight: data.weight,
                            missed: data.missed,
                        },
                    );
                }
                Some(ValueTable::from_parts(
                    values,
                    tracked,
                    unit.untracked_weight,
                    self.config.max_dimension_values,
                ))
            }
            None => None,
        };
        Ok(OpenPane {
            summary,
            values,
            late_events: unit.late_events,
            exported: None,
        })
    }

    /// Returns the configuration.
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    /// Returns the watermark clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Returns the counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Returns the counters for changes by the caller (malformed lines).
    pub fn counters_mut(&mut self) -> &mut Counters {
        &mut self.counters
    }

    /// Returns the offset after the last event counted, per source.
    pub fn offsets(&self) -> &BTreeMap<String, u64> {
        &self.offsets
    }

    /// Records that every event of `source` before `offset` has been ingested.
    pub fn set_offset(&mut self, source: &str, offset: u64) {
        self.offsets.insert(source.to_string(), offset);
    }

    /// Returns the number of open panes.
    pub fn open_panes(&self) -> usize {
        self.open.len()
    }

    /// Counts a batch of events into their panes, in order. Events behind a closed pane are
    /// not counted; their indices are returned for the dead-letter file.
    ///
    /// # Errors
    ///
    /// [`GuestError`] from the guest; a trap leaves the pipeline unusable.
    pub fn ingest(&mut self, batch: &EventBatch) -> Result<IngestOutcome, GuestError> {
        let mut outcome = IngestOutcome::default();
        let mut panes: BTreeMap<i64, PaneBatch> = BTreeMap::new();

        for index in 0..batch.len() {
            let time = batch.times[index];
            let item = batch.items.item(index).unwrap_or_default();
            let pane = match self.clock.place(time) {
                Placement::OnTime { pane } => pane,
                Placement::Late { pane } => {
                    self.counters.late_events += 1;
                    panes.entry(pane).or_default().late += 1;
                    pane
                }
                Placement::TooLate { .. } => {
                    self.counters.too_late_events += 1;
                    outcome.too_late.push(index);
                    continue;
                }
            };
            self.clock.observe(time);

            let target = panes.entry(pane).or_default();
            push(&mut target.items, item)?;
            if let Some(dimensions) = &batch.dimensions {
                let value = dimensions.item(index).unwrap_or_default();
                target.values.push(value, item)?;
            }
        }

        for (start, pane_batch) in panes {
            self.apply(start, pane_batch)?;
        }
        Ok(outcome)
    }

    fn apply(&mut self, start: i64, batch: PaneBatch) -> Result<(), GuestError> {
        if !self.open.contains_key(&start) {
            let pane = self.create_pane(start)?;
            self.open.insert(start, pane);
        }
        let dimension_name = self.config.dimension.clone().unwrap_or_default();
        let sketch = self.config.sketch;
        let window = Window {
            start,
            end: start + self.config.window.pane_ms,
        };
        let guest = &mut self.guest;
        let pane = self.open.get_mut(&start).expect("pane was just created");

        guest.update_batch(&pane.summary, &batch.items)?;
        self.counters.events += batch.items.len() as u64;
        pane.late_events += batch.late;
        pane.exported = None;

        if let Some(values) = &mut pane.values {
            let outcome = values.update(guest, &batch.values, |guest, value| {
                let summary = guest.create(sketch)?;
                let metadata = Metadata {
                    window: Some(window),
                    dimension: Some(Dimension {
                        name: dimension_name.clone().into_bytes(),
                        value: value.to_vec(),
                    }),
                    ..Metadata::default()
                };
                guest.set_metadata(&summary, &metadata)?;
                Ok(summary)
            })?;
            self.counters.untracked_dimension_events += outcome.untracked;
            self.counters.evicted_dimension_values += outcome.evicted;
        }
        Ok(())
    }

    fn create_pane(&mut self, start: i64) -> Result<OpenPane, GuestError> {
        let summary = self.guest.create(self.config.sketch)?;
        let metadata = Metadata {
            window: Some(Window {
                start,
                end: start + self.config.window.pane_ms,
            }),
            ..Metadata::default()
        };
        self.guest.set_metadata(&summary, &metadata)?;
        let values = match self.config.dimension {
            Some(_) => Some(ValueTable::new(
                &mut self.guest,
                self.config.sketch,
                self.config.max_dimension_values,
            )?),
            None => None,
        };
        Ok(OpenPane {
            summary,
            values,
            late_events: 0,
            exported: None,
        })
    }

    /// Closes the panes the watermark has passed, builds the hour and day rollups that became
    /// complete and drops the units past retention. Returns true when anything changed.
    ///
    /// # Errors
    ///
    /// [`GuestError`] from the guest.
    pub fn advance(&mut self) -> Result<bool, GuestError> {
        let mut changed = false;

        let closing: Vec<i64> = self
            .open
            .keys()
            .copied()
            .filter(|start| self.clock.is_pane_closed(*start))
            .collect();
        for start in closing {
            let unit = self.export_pane(start, true)?;
            let pane = self.open.remove(&start).expect("closing pane is open");
            self.free_pane(pane)?;
            self.closed.insert(unit.key, unit);
            self.dirty.insert(UnitKey {
                level: Level::Pane,
                start,
            });
            self.pending_hours.insert(floor_to(start, HOUR_MS));
            changed = true;
        }

        let hours: Vec<i64> = self
            .pending_hours
            .iter()
            .copied()
            .filter(|hour| self.clock.is_closed(hour + HOUR_MS))
            .collect();
        for hour in hours {
            self.pending_hours.remove(&hour);
            self.roll_up(
                Level::Pane,
                UnitKey {
                    level: Level::Hour,
                    start: hour,
                },
                HOUR_MS,
            )?;
            self.pending_days.insert(floor_to(hour, DAY_MS));
            changed = true;
        }

        let days: Vec<i64> = self
            .pending_days
            .iter()
            .copied()
            .filter(|day| self.clock.is_closed(day + DAY_MS))
            .collect();
        for day in days {
            self.pending_days.remove(&day);
            self.roll_up(
                Level::Hour,
                UnitKey {
                    level: Level::Day,
                    start: day,
                },
                DAY_MS,
            )?;
            changed = true;
        }

        let expired: Vec<UnitKey> = self
            .closed
            .keys()
            .copied()
            .filter(|key| self.clock.is_expired(key))
            .collect();
        for key in expired {
            // A pane is kept until its hour rollup exists, so no count is lost to retention.
            if key.level == Level::Pane
                && self.pending_hours.contains(&floor_to(key.start, HOUR_MS))
            {
                continue;
            }
            if key.level == Level::Hour && self.pending_days.contains(&floor_to(key.start, DAY_MS))
            {
                continue;
            }
            self.closed.remove(&key);
            self.dirty.remove(&key);
            self.removed.insert(key);
            changed = true;
        }
        Ok(changed)
    }

    fn free_pane(&mut self, pane: OpenPane) -> Result<(), GuestError> {
        self.guest.drop_summary(pane.summary)?;
        if let Some(values) = pane.values {
            values.free(&mut self.guest)?;
        }
        Ok(())
    }

    /// Merges the closed units of `child` level inside `key` into one rollup.
    fn roll_up(&mut self, child: Level, key: UnitKey, length: i64) -> Result<(), GuestError> {
        let from = UnitKey {
            level: child,
            start: key.start,
        };
        let to = UnitKey {
            level: child,
            start: key.start + length,
        };
        let children: Vec<Arc<UnitData>> = self
            .closed
            .range(from..to)
            .map(|(_, unit)| unit.clone())
            .collect();
        if children.is_empty() {
            return Ok(());
        }

        let summary = self.guest.create(self.config.sketch)?;
        let values = match self.config.dimension {
            Some(_) => Some(self.guest.create(self.config.sketch)?),
            None => None,
        };
        let mut untracked_weight = 0u64;
        let mut late_events = 0u64;
        for unit in &children {
            self.guest.merge_snapshot(&summary, &unit.snapshot)?;
            if let (Some(values), Some(bytes)) = (&values, &unit.dimension_values) {
                self.guest.merge_snapshot(values, bytes)?;
            }
            untracked_weight = untracked_weight.saturating_add(unit.untracked_weight);
            late_events = late_events.saturating_add(unit.late_events);
        }

        // The rollup keeps at most `max_dimension_values` values too: those ranked highest by
        // the merged sketch of dimension values. In each child, a kept value lacks its missed
        // weight there, or the child's whole untracked weight where it was not tracked. A
        // dropped value's counted weight joins the rollup's untracked weight.
        let tracked_values = match &values {
            Some(values) => self.rollup_values(values, &children)?,
            None => BTreeSet::new(),
        };
        let mut by_value: BTreeMap<Vec<u8>, (GuestSummary, u64, u64)> = BTreeMap::new();
        for value in &tracked_values {
            let target = self.guest.create(self.config.sketch)?;
            let mut weight = 0u64;
            let mut missed = 0u64;
            for unit in &children {
                match unit.by_value.get(value) {
                    Some(data) => {
                        self.guest.merge_snapshot(&target, &data.snapshot)?;
                        weight = weight.saturating_add(data.weight);
                        missed = missed.saturating_add(data.missed);
                    }
                    None => missed = missed.saturating_add(unit.untracked_weight),
                }
            }
            by_value.insert(value.clone(), (target, weight, missed));
        }
        for unit in &children {
            for (value, data) in &unit.by_value {
                if !tracked_values.contains(value) {
                    untracked_weight = untracked_weight.saturating_add(data.weight);
                }
            }
        }

        let mut metadata = self.guest.metadata(&summary)?;
        metadata.window = Some(Window {
            start: key.start,
            end: key.start + length,
        });
        metadata.watermark = self.clock.watermark();
        metadata.late_events = late_events;
        self.guest.set_metadata(&summary, &metadata)?;

        let snapshot: Arc<[u8]> = self.guest.export_snapshot(&summary)?.into();
        let total_weight = self.guest.total_weight(&summary)?;
        let maximum_error = self.guest.maximum_error(&summary)?;
        self.guest.drop_summary(summary)?;
        let dimension_values = match values {
            Some(values) => {
                let bytes = self.guest.export_snapshot(&values)?;
                self.guest.drop_summary(values)?;
                Some(bytes.into())
            }
            None => None,
        };
        let mut exported_values = BTreeMap::new();
        for (value, (target, weight, missed)) in by_value {
            let data = ValueData {
                snapshot: self.guest.export_snapshot(&target)?.into(),
                weight,
                missed,
            };
            exported_values.insert(value, data);
            self.guest.drop_summary(target)?;
        }

        let unit = UnitData {
            key,
            closed: true,
            snapshot,
            total_weight,
            maximum_error,
            dimension_values,
            by_value: exported_values,
            untracked_weight,
            late_events,
        };
        tracing::debug!(level = ?key.level, start = key.start, children = children.len(), total_weight, "built rollup");
        self.closed.insert(key, Arc::new(unit));
        self.dirty.insert(key);
        Ok(())
    }

    /// Returns the values a rollup of `children` tracks. These are all values tracked in any
    /// child while they number at most `max_dimension_values`. Otherwise they are the highest by
    /// their estimate in `values`, the merged sketch of dimension values, with ties broken by
    /// the value bytes so the choice is stable.
    fn rollup_values(
        &mut self,
        values: &GuestSummary,
        children: &[Arc<UnitData>],
    ) -> Result<BTreeSet<Vec<u8>>, GuestError> {
        let candidates: BTreeSet<&Vec<u8>> = children
            .iter()
            .flat_map(|unit| unit.by_value.keys())
            .collect();
        let max_values = self.config.max_dimension_values;
        if candidates.len() <= max_values {
            return Ok(candidates.into_iter().cloned().collect());
        }

        let mut ranked = Vec::with_capacity(candidates.len());
        for value in candidates {
            let estimate = self.guest.estimate(values, value)?.estimate;
            ranked.push((std::cmp::Reverse(estimate), value));
        }
        ranked.sort_unstable();
        Ok(ranked
            .into_iter()
            .take(max_values)
            .map(|(_, value)| value.clone())
            .collect())
    }

    /// Exports an open pane (reusing the last export when nothing was added since).
    fn export_pane(&mut self, start: i64, closed: bool) -> Result<Arc<UnitData>, GuestError> {
        let watermark = self.clock.watermark();
        let pane = self.open.get_mut(&start).expect("exported pane is open");
        if let Some(exported) = &pane.exported {
            if exported.closed == closed {
                return Ok(exported.clone());
            }
        }

        let guest = &mut self.guest;
        let mut metadata = guest.metadata(&pane.summary)?;
        metadata.watermark = watermark;
        metadata.late_events = pane.late_events;
        guest.set_metadata(&pane.summary, &metadata)?;

        let snapshot: Arc<[u8]> = guest.export_snapshot(&pane.summary)?.into();
        let total_weight = guest.total_weight(&pane.summary)?;
        let maximum_error = guest.maximum_error(&pane.summary)?;
        let mut dimension_values = None;
        let mut by_value = BTreeMap::new();
        let mut untracked_weight = 0;
        if let Some(values) = &pane.values {
            dimension_values = Some(guest.export_snapshot(values.values_summary())?.into());
            for (value, tracked) in values.tracked() {
                let data = ValueData {
                    snapshot: guest.export_snapshot(&tracked.summary)?.into(),
                    weight: tracked.weight,
                    missed: tracked.missed,
                };
                by_value.insert(value.clone(), data);
            }
            untracked_weight = values.untracked_weight();
        }

        let unit = Arc::new(UnitData {
            key: UnitKey {
                level: Level::Pane,
                start,
            },
            closed,
            snapshot,
            total_weight,
            maximum_error,
            dimension_values,
            by_value,
            untracked_weight,
            late_events: pane.late_events,
        });
        pane.exported = Some(unit.clone());
        Ok(unit)
    }

    /// Returns every unit: closed ones as stored, open panes freshly exported.
    ///
    /// # Errors
    ///
    /// [`GuestError`] from the guest.
    pub fn export(&mut self) -> Result<BTreeMap<UnitKey, Arc<UnitData>>, GuestError> {
        let mut units = self.closed.clone();
        let open: Vec<i64> = self.open.keys().copied().collect();
        for start in open {
            let unit = self.export_pane(start, false)?;
            units.insert(unit.key, unit);
        }
        Ok(units)
    }

    /// Takes the changes since the last checkpoint: closed units to write, open panes to write
    /// (from `exported`, the result of [`export`](Self::export) at the same moment) and units
    /// to delete.
    pub fn take_changes(
        &mut self,
        exported: &BTreeMap<UnitKey, Arc<UnitData>>,
    ) -> (Vec<Arc<UnitData>>, Vec<UnitKey>) {
        let mut upserts: Vec<Arc<UnitData>> = Vec::new();
        for key in std::mem::take(&mut self.dirty) {
            if let Some(unit) = exported.get(&key) {
                upserts.push(unit.clone());
            }
        }
        for unit in exported.values().filter(|unit| !unit.closed) {
            upserts.push(unit.clone());
        }
        let removed = std::mem::take(&mut self.removed).into_iter().collect();
        (upserts, removed)
    }

    /// Marks the changes returned by [`take_changes`](Self::take_changes) as not stored, after
    /// a failed commit, so the next checkpoint writes them again.
    pub fn restore_changes(&mut self, upserts: &[Arc<UnitData>], removed: &[UnitKey]) {
        for unit in upserts.iter().filter(|unit| unit.closed) {
            self.dirty.insert(unit.key);
        }
        self.removed.extend(removed.iter().copied());
    }
}

fn push(batch: &mut PackedBatch, item: &[u8]) -> Result<(), GuestError> {
    batch.push(item).map_err(|error| GuestError::Rejected {
        kind: "invalid-parameter",
        message: error.to_string(),
    })
}
