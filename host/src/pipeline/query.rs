//! Queries over a set of units: their snapshots are merged in a pooled guest, and the merged
//! summary returns the top-K, an item's frequency and the distinct count.

use std::sync::{Arc, Mutex};

use topk_sketch::{Config, ErrorType, Estimate};

use super::UnitData;
use crate::runner::{Guest, GuestError, GuestSummary, Runner, RunnerError};

/// The summary of each unit that a query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// The summary of all events.
    All,
    /// The summary of the dimension values themselves.
    DimensionValues,
    /// The summary of the events with this dimension value.
    Value(&'a [u8]),
}

/// The failure of a query.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The guest failed (a trap, or a stored snapshot it rejects).
    #[error(transparent)]
    Guest(#[from] GuestError),
    /// A new guest could not be instantiated.
    #[error(transparent)]
    Runner(#[from] RunnerError),
}

/// One answer row with its bounds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AnswerRow {
    /// The item's bytes.
    pub item: Vec<u8>,
    /// Estimated count.
    pub estimate: u64,
    /// Guaranteed lower bound.
    pub lower_bound: u64,
    /// Guaranteed upper bound, including the untracked weight of a dimension value.
    pub upper_bound: u64,
}

/// The answer of a query over some units.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    /// Rows, highest estimate first (empty for a frequency query).
    pub rows: Vec<AnswerRow>,
    /// The item's estimate, for a frequency query.
    pub estimate: Option<Estimate>,
    /// Total weight of the merged summary.
    pub total_weight: u64,
    /// Maximum error of the merged summary: the sum of the units' maximum errors at most.
    pub maximum_error: u64,
    /// For a per-value query, an upper bound on the weight of the value's events that the merged
    /// snapshots lack, because they were untracked or missed in some unit. It is added to every
    /// upper bound.
    pub untracked_weight: u64,
    /// Estimated distinct items.
    pub distinct: f64,
    /// Events counted late in the merged units.
    pub late_events: u64,
    /// Number of units merged.
    pub units: usize,
    /// Snapshot bytes of the merged summary, for a snapshot query.
    pub snapshot: Option<Vec<u8>>,
}

/// The kind of result a query computes.
enum Request<'a> {
    TopK(u32),
    Frequency(&'a [u8]),
    Snapshot,
}

/// A pool of guests that merge unit snapshots to answer queries. Shared by the publisher and the
/// HTTP handlers; each query takes a guest for its duration.
pub struct QueryEngine {
    runner: Runner,
    sketch: Config,
    pool: Mutex<Vec<Guest>>,
}

impl QueryEngine {
    /// Creates an engine whose merged summaries use `sketch`.
    pub fn new(runner: Runner, sketch: Config) -> Self {
        QueryEngine {
            runner,
            sketch,
            pool: Mutex::new(Vec::new()),
        }
    }

    /// Returns up to `k` rows over the merged `units`.
    ///
    /// # Errors
    ///
    /// [`QueryError`] when the guest traps or rejects a snapshot; the server keeps running.
    pub fn top_k(
        &self,
        units: &[Arc<UnitData>],
        target: Target<'_>,
        k: u32,
    ) -> Result<Answer, QueryError> {
        self.run(units, target, Request::TopK(k))
    }

    /// Returns the estimate of `item` over the merged `units`.
    ///
    /// # Errors
    ///
    /// [`QueryError`] when the guest traps or rejects a snapshot.
    pub fn frequency(
        &self,
        units: &[Arc<UnitData>],
        target: Target<'_>,
        item: &[u8],
    ) -> Result<Answer, QueryError> {
        self.run(units, target, Request::Frequency(item))
    }

    /// Returns the snapshot of the merged `units` (with the answer's totals).
    ///
    /// # Errors
    ///
    /// [`QueryError`] when the guest traps or rejects a snapshot.
    pub fn snapshot(
        &self,
        units: &[Arc<UnitData>],
        target: Target<'_>,
    ) -> Result<Answer, QueryError> {
        self.run(units, target, Request::Snapshot)
    }

    fn run(
        &self,
        units: &[Arc<UnitData>],
        target: Target<'_>,
        request: Request<'_>,
    ) -> Result<Answer, QueryError> {
        let mut guest = match self.pool.lock().expect("query pool lock").pop() {
            Some(guest) => guest,
            None => self.runner.instantiate()?,
        };

        let result = self.answer(&mut guest, units, target, request);
        if !guest.is_poisoned() {
            self.pool.lock().expect("query pool lock").push(guest);
        }
        result
    }

    fn answer(
        &self,
        guest: &mut Guest,
        units: &[Arc<UnitData>],
        target: Target<'_>,
        request: Request<'_>,
    ) -> Result<Answer, QueryError> {
        let summary = guest.create(self.sketch)?;
        let result = merge_and_answer(guest, &summary, units, target, request);
        if !guest.is_poisoned() {
            guest.drop_summary(summary)?;
        }
        result
    }
}

fn merge_and_answer(
    guest: &mut Guest,
    summary: &GuestSummary,
    units: &[Arc<UnitData>],
    target: Target<'_>,
    request: Request<'_>,
) -> Result<Answer, QueryError> {
    let mut answer = Answer {
        units: units.len(),
        ..Answer::default()
    };
    for unit in units {
        answer.late_events = answer.late_events.saturating_add(unit.late_events);
        let bytes = match target {
            Target::All => Some(&unit.snapshot),
            Target::DimensionValues => unit.dimension_values.as_ref(),
            Target::Value(value) => {
                // What the value's snapshot lacks in this unit: its missed weight, or all of
                // the unit's untracked weight when the value has no snapshot there.
                let (bytes, lacking) = match unit.by_value.get(value) {
                    Some(data) => (Some(&data.snapshot), data.missed),
                    None => (None, unit.untracked_weight),
                };
                answer.untracked_weight = answer.untracked_weight.saturating_add(lacking);
                bytes
            }
        };
        if let Some(bytes) = bytes {
            guest.merge_snapshot(summary, bytes)?;
        }
    }

    answer.total_weight = guest.total_weight(summary)?;
    answer.maximum_error = guest.maximum_error(summary)?;
    answer.distinct = guest.distinct(summary)?;
    let extra = answer.untracked_weight;
    match request {
        Request::TopK(k) => {
            answer.rows = guest
                .top_k(summary, k, ErrorType::NoFalseNegatives)?
                .into_iter()
                .map(|row| AnswerRow {
                    item: row.item,
                    estimate: row.estimate,
                    lower_bound: row.lower_bound,
                    upper_bound: row.upper_bound.saturating_add(extra),
                })
                .collect();
        }
        Request::Frequency(item) => {
            let mut estimate = guest.estimate(summary, item)?;
            estimate.upper_bound = estimate.upper_bound.saturating_add(extra);
            answer.estimate = Some(estimate);
        }
        Request::Snapshot => {
            answer.snapshot = Some(guest.export_snapshot(summary)?);
        }
    }
    Ok(answer)
}
