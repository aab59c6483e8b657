//! Per-value summaries of a dimension, bounded in number. The values that get a summary of their
//! own are chosen by a sketch of the dimension values themselves, so a frequent value that
//! first appears after the table is full still replaces a rare one.
//!
//! Bounds stay valid through admission and eviction. Every event of a value that its summary did
//! not count is covered by the value's `missed` weight while it is tracked, or by the table's
//! untracked weight while it is not. Queries add that weight to every upper bound.

use std::collections::HashMap;
use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

use topk_sketch::{Config, ErrorType};

use super::push;
use crate::runner::{Guest, GuestError, GuestSummary, PackedBatch};

/// A dimension value with a summary of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackedValue {
    /// The summary of the value's events counted since it was admitted.
    pub summary: GuestSummary,
    /// Weight counted in `summary`.
    pub weight: u64,
    /// Upper bound on the weight of the value's events before it was admitted, which are in the
    /// table's untracked weight and not in `summary`.
    pub missed: u64,
}

/// Events of one batch grouped by dimension value, in the order the values first appear.
///
/// Groups are found through a hash table of group numbers that compares against the values
/// already stored, so a batch with many distinct values allocates nothing per value.
#[derive(Default)]
pub struct ValueBatch {
    /// Every event's dimension value, for the sketch of the values.
    values: PackedBatch,
    /// Every event's item.
    items: PackedBatch,
    /// Every event's group.
    group_of: Vec<u32>,
    /// Per group: the index of its first event, whose value is the group's value.
    first_event: Vec<u32>,
    /// Per group: its number of events.
    counts: Vec<u64>,
    index: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl std::fmt::Debug for ValueBatch {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ValueBatch")
            .field("events", &self.group_of.len())
            .field("groups", &self.first_event.len())
            .finish()
    }
}

impl ValueBatch {
    /// Adds an event: its dimension value and its item.
    ///
    /// # Errors
    ///
    /// [`GuestError::Rejected`] when a packed buffer is full (over 4 GiB of items) or the batch
    /// already has 2^32 events.
    pub fn push(&mut self, value: &[u8], item: &[u8]) -> Result<(), GuestError> {
        let event = u32::try_from(self.group_of.len()).map_err(|_| GuestError::Rejected {
            kind: "invalid-parameter",
            message: "over 2^32 events in one batch; send smaller batches".into(),
        })?;
        push(&mut self.values, value)?;
        push(&mut self.items, item)?;

        let hash = self.hasher.hash_one(value);
        let found = {
            let (values, first_event) = (&self.values, &self.first_event);
            self.index
                .find(hash, |group| values.item(first_event_of(first_event, *group)) == Some(value))
                .copied()
        };
        let group = match found {
            Some(group) => group,
            None => {
                let group = self.first_event.len() as u32;
                self.first_event.push(event);
                self.counts.push(0);
                let (values, first_event, hasher) = (&self.values, &self.first_event, &self.hasher);
                self.index.insert_unique(hash, group, |group| {
                    hasher.hash_one(values.item(first_event_of(first_event, *group)).unwrap_or_default())
                });
                group
            }
        };
        self.group_of.push(group);
        self.counts[group as usize] += 1;
        Ok(())
    }

    /// Returns true when no event was added.
    pub fn is_empty(&self) -> bool {
        self.group_of.is_empty()
    }

    /// Removes every event, keeping the buffers.
    pub fn clear(&mut self) {
        self.values.clear();
        self.items.clear();
        self.group_of.clear();
        self.first_event.clear();
        self.counts.clear();
        self.index.clear();
    }

    /// Returns the value of `group`.
    fn value(&self, group: usize) -> &[u8] {
        self.values
            .item(self.first_event[group] as usize)
            .unwrap_or_default()
    }
}

fn first_event_of(first_event: &[u32], group: u32) -> usize {
    first_event[group as usize] as usize
}

/// The changes that [`ValueTable::update`] made to the table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct UpdateOutcome {
    /// Weight of events that went to no value's summary: events of untracked values and the
    /// counted weight of evicted values.
    pub untracked: u64,
    /// Values admitted.
    pub admitted: u64,
    /// Values evicted to make room for a more frequent one.
    pub evicted: u64,
}

/// Up to `max_values` per-value summaries and the sketch of the dimension values that ranks them.
#[derive(Debug)]
pub struct ValueTable {
    values: GuestSummary,
    tracked: HashMap<Vec<u8>, TrackedValue>,
    untracked_weight: u64,
    max_values: usize,
}

impl ValueTable {
    /// Creates an empty table whose value sketch uses `sketch`.
    ///
    /// # Errors
    ///
    /// [`GuestError`] from the guest.
    pub fn new(guest: &mut Guest, sketch: Config, max_values: usize) -> Result<Self, GuestError> {
        Ok(ValueTable {
            values: guest.create(sketch)?,
            tracked: HashMap::new(),
            untracked_weight: 0,
            max_values,
        })
    }

    /// Rebuilds a table from summaries imported into `guest` (after a restart).
    pub fn from_parts(
        values: GuestSummary,
        tracked: HashMap<Vec<u8>, TrackedValue>,
        untracked_weight: u64,
        max_values: usize,
    ) -> Self {
        ValueTable {
            values,
            tracked,
            untracked_weight,
            max_values,
        }
    }

    /// Returns the summary of the dimension values.
    pub fn values_summary(&self) -> &GuestSummary {
        &self.values
    }

    /// Returns the tracked values.
    pub fn tracked(&self) -> &HashMap<Vec<u8>, TrackedValue> {
        &self.tracked
    }

    /// Returns the weight of events counted in no value's summary. Any value's events that its
    /// summary lacks weigh at most this.
    pub fn untracked_weight(&self) -> u64 {
        self.untracked_weight
    }

    /// Counts a batch. Each event goes to its value's summary when the value is tracked. An
    /// untracked value is admitted while there is room. In a full table, it needs to be among
    /// the top `max_values` of the value sketch, with a lower bound there above the largest
    /// possible count of a tracked value outside that top. That value is then evicted.
    /// `create` makes the summary of an admitted value.
    ///
    /// # Errors
    ///
    /// [`GuestError`] from the guest; a trap leaves the table unusable.
    pub fn update(
        &mut self,
        guest: &mut Guest,
        batch: &ValueBatch,
        mut create: impl FnMut(&mut Guest, &[u8]) -> Result<GuestSummary, GuestError>,
    ) -> Result<UpdateOutcome, GuestError> {
        let mut outcome = UpdateOutcome::default();
        if batch.is_empty() {
            return Ok(outcome);
        }
        guest.update_batch(&self.values, &batch.values)?;

        // Group by group in arrival order, decide which values are counted and add their weights.
        // Then route the events of counted values into one packed batch per value.
        let mut counted: Vec<Option<usize>> = vec![None; batch.counts.len()];
        let mut targets: Vec<(Vec<u8>, PackedBatch)> = Vec::new();
        // The value sketch's top values: fetched by the first value that meets a full table,
        // then reused for the rest of the batch.
        let mut top: Option<HashMap<Vec<u8>, (u64, u64)>> = None;
        for (group, weight) in batch.counts.iter().enumerate() {
            let value = batch.value(group);
            if let Some(tracked) = self.tracked.get_mut(value) {
                tracked.weight = tracked.weight.saturating_add(*weight);
                counted[group] = Some(targets.len());
                targets.push((value.to_vec(), PackedBatch::new()));
                continue;
            }

            if self.tracked.len() >= self.max_values {
                let top = match &mut top {
                    Some(top) => top,
                    None => top.insert(self.top_values(guest)?),
                };
                if !self.make_room(guest, value, top, &mut outcome)? {
                    self.untracked_weight = self.untracked_weight.saturating_add(*weight);
                    outcome.untracked = outcome.untracked.saturating_add(*weight);
                    continue;
                }
            }

            // Earlier events of this value are in the untracked weight, and the value sketch
            // bounds them too (its upper bound includes this batch's `weight`).
            let missed = if self.untracked_weight == 0 {
                0
            } else {
                let upper = match top.as_ref().and_then(|top| top.get(value)) {
                    Some((_, upper)) => *upper,
                    None => guest.estimate(&self.values, value)?.upper_bound,
                };
                upper.saturating_sub(*weight).min(self.untracked_weight)
            };
            let summary = create(guest, value)?;
            self.tracked.insert(
                value.to_vec(),
                TrackedValue {
                    summary,
                    weight: *weight,
                    missed,
                },
            );
            outcome.admitted += 1;
            counted[group] = Some(targets.len());
            targets.push((value.to_vec(), PackedBatch::new()));
        }

        for (event, group) in batch.group_of.iter().enumerate() {
            if let Some(target) = counted[*group as usize] {
                push(&mut targets[target].1, batch.items.item(event).unwrap_or_default())?;
            }
        }
        // A value evicted later in this batch is skipped: its weight, this batch's included,
        // is already in the untracked weight.
        for (value, items) in &targets {
            if let Some(tracked) = self.tracked.get(value) {
                guest.update_batch(&tracked.summary, items)?;
            }
        }
        Ok(outcome)
    }

    /// Returns the lower and upper bound of the top `max_values` values of the value sketch.
    fn top_values(&self, guest: &mut Guest) -> Result<HashMap<Vec<u8>, (u64, u64)>, GuestError> {
        let k = u32::try_from(self.max_values).unwrap_or(u32::MAX);
        let rows = guest.top_k(&self.values, k, ErrorType::NoFalseNegatives)?;
        Ok(rows
            .into_iter()
            .take(self.max_values)
            .map(|row| (row.item, (row.lower_bound, row.upper_bound)))
            .collect())
    }

    /// Evicts the tracked value outside `top` with the smallest possible count, if `value` is
    /// in `top` and surely more frequent than it. Returns true when there is room for `value`.
    fn make_room(
        &mut self,
        guest: &mut Guest,
        value: &[u8],
        top: &HashMap<Vec<u8>, (u64, u64)>,
        outcome: &mut UpdateOutcome,
    ) -> Result<bool, GuestError> {
        let Some((lower, _)) = top.get(value) else {
            return Ok(false);
        };
        let weakest = self
            .tracked
            .iter()
            .filter(|(tracked, _)| !top.contains_key(*tracked))
            .map(|(tracked, data)| (data.weight.saturating_add(data.missed), tracked))
            .min();
        let Some((most, weakest)) = weakest else {
            return Ok(false);
        };
        // A value is evicted only for one whose count surely exceeds any count it could have,
        // so two values of similar frequency do not replace each other batch after batch.
        if most >= *lower {
            return Ok(false);
        }

        let weakest = weakest.clone();
        let evicted = self.tracked.remove(&weakest).expect("weakest value is tracked");
        guest.drop_summary(evicted.summary)?;
        // Its missed weight is already in the untracked weight; its counted weight joins it.
        self.untracked_weight = self.untracked_weight.saturating_add(evicted.weight);
        outcome.untracked = outcome.untracked.saturating_add(evicted.weight);
        outcome.evicted += 1;
        tracing::debug!(
            evicted = %String::from_utf8_lossy(&weakest),
            admitted = %String::from_utf8_lossy(value),
            "replaced a tracked dimension value by a more frequent one"
        );
        Ok(true)
    }

    /// Drops every summary of the table from `guest`.
    ///
    /// # Errors
    ///
    /// [`GuestError`] from the guest.
    pub fn free(self, guest: &mut Guest) -> Result<(), GuestError> {
        guest.drop_summary(self.values)?;
        for (_, tracked) in self.tracked {
            guest.drop_summary(tracked.summary)?;
        }
        Ok(())
    }
}
