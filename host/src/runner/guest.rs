//! One store and instance of the sketch component, and the summaries it owns.

use wasmtime::component::ResourceAny;
use wasmtime::{Store, StoreLimits, StoreLimitsBuilder, Trap};

use super::bindings::exports::topk::sketch::summaries::GuestSummary as SummaryApi;
use super::bindings::exports::topk::sketch::types as wit;
use super::bindings::Sketch;
use super::convert;
use super::{GuestError, Limits, PackedBatch, Runner, RunnerError};
use topk_sketch::snapshot::Metadata;
use topk_sketch::{Config, ErrorType, Estimate};

/// The data of every store: its resource limiter.
pub struct StoreData {
    limits: StoreLimits,
}

pub(crate) fn new_store(runner: &Runner) -> Store<StoreData> {
    let limits = StoreLimitsBuilder::new()
        .memory_size(runner.limits().memory_bytes)
        .trap_on_grow_failure(true)
        .instances(16)
        .build();
    let mut store = Store::new(runner.engine(), StoreData { limits });
    store.limiter(|data| &mut data.limits);
    store.set_epoch_deadline(runner.limits().deadline_ticks());
    store
}

/// Builds the trap error for `call`, naming the limit when one was hit.
pub(crate) fn trap_error(limits: &Limits, call: &'static str, error: &anyhow::Error) -> GuestError {
    let chain = format!("{error:#}");
    let message = match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => {
            format!("the call ran past its deadline of {} ms (raise --guest-call-timeout-ms if the work is legitimate)", limits.call_timeout.as_millis())
        }
        _ if chain.contains("memory") && chain.contains("grow") => {
            format!("linear memory would grow past the limit of {} bytes (raise --guest-memory-mib): {chain}", limits.memory_bytes)
        }
        _ => chain,
    };
    GuestError::Trap { call, message }
}

/// One summary inside a [`Guest`]. It is valid only with the guest that created it; drop it
/// with [`Guest::drop_summary`] to free its guest memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestSummary(ResourceAny);

/// One top-k row with its item copied out of the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedRow {
    /// The item's bytes, exactly as counted.
    pub item: Vec<u8>,
    /// Estimated count.
    pub estimate: u64,
    /// Guaranteed lower bound on the true count.
    pub lower_bound: u64,
    /// Guaranteed upper bound on the true count.
    pub upper_bound: u64,
}

/// One store with one instance of the sketch component.
///
/// Not `Sync`: a guest serves one thread at a time. Every method sets a fresh epoch deadline,
/// so no call runs longer than [`Limits::call_timeout`] (plus one tick). After a trap every call
/// returns [`GuestError::Poisoned`].
pub struct Guest {
    store: Store<StoreData>,
    bindings: Sketch,
    limits: Limits,
    poisoned: bool,
}

impl Guest {
    pub(crate) fn instantiate(runner: &Runner) -> Result<Guest, RunnerError> {
        let mut store = new_store(runner);
        let bindings = Sketch::instantiate(&mut store, runner.component(), runner.linker())
            .map_err(|error| RunnerError::World {
                origin: "component".into(),
                message: format!("{error:#}"),
            })?;
        Ok(Guest {
            store,
            bindings,
            limits: runner.limits(),
            poisoned: false,
        })
    }

    /// Returns true after a trap; such a guest must be replaced.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Calls into the guest with a fresh deadline; a trap poisons the guest.
    fn call<T>(
        &mut self,
        name: &'static str,
        body: impl FnOnce(SummaryApi<'_>, &mut Store<StoreData>) -> wasmtime::Result<T>,
    ) -> Result<T, GuestError> {
        if self.poisoned {
            return Err(GuestError::Poisoned);
        }

        self.store.set_epoch_deadline(self.limits.deadline_ticks());
        let api = self.bindings.topk_sketch_summaries().summary();
        match body(api, &mut self.store) {
            Ok(value) => Ok(value),
            Err(error) => {
                self.poisoned = true;
                let error = trap_error(&self.limits, name, &error);
                tracing::error!(%error, "sketch component trapped; the instance is poisoned");
                Err(error)
            }
        }
    }

    /// Creates an empty summary.
    ///
    /// # Errors
    ///
    /// [`GuestError::Rejected`] (`invalid-parameter`) naming the bad field of `config`, or a trap.
    pub fn create(&mut self, config: Config) -> Result<GuestSummary, GuestError> {
        let config = convert::config_to_wit(config);
        let result = self.call("create", |api, store| api.call_create(store, config))?;
        result.map(GuestSummary).map_err(convert::error_from_wit)
    }

    /// Decodes snapshot bytes into a new summary.
    ///
    /// # Errors
    ///
    /// [`GuestError::Rejected`] (`malformed-snapshot`) for bytes that are not a valid snapshot.
    pub fn import_snapshot(&mut self, bytes: &[u8]) -> Result<GuestSummary, GuestError> {
        let result = self.call("import-snapshot", |api, store| {
            api.call_import_snapshot(store, bytes)
        })?;
        result.map(GuestSummary).map_err(convert::error_from_wit)
    }

    /// Adds a packed batch, all or nothing.
    ///
    /// # Errors
    ///
    /// [`GuestError::Rejected`] (`weight-overflow`) when the total weight would pass
    /// `u64::MAX`; nothing is applied. A trap when the guest runs past its limits.
    pub fn update_batch(
        &mut self,
        summary: &GuestSummary,
        batch: &PackedBatch,
    ) -> Result<(), GuestError> {
        let handle = summary.0;
        let result = self.call("update-batch", |api, store| {
            api.call_update_batch(store, handle, batch.data(), batch.ends(), batch.weights())
        })?;
        result.map_err(convert::error_from_wit)
    }

    /// Adds `weight` occurrences of one item.
    ///
    /// # Errors
    ///
    /// [`GuestError::Rejected`] (`weight-overflow`); the summary is unchanged.
    pub fn update(
        &mut self,
        summary: &GuestSummary,
        item: &[u8],
        weight: u64,
    ) -> Result<(), GuestError> {
        let handle = summary.0;
        let result = self.call("update", |api, store| {
            api.call_update(store, handle, item, weight)
        })?;
        result.map_err(convert::error_from_wit)
    }

    /// Returns up to `k` rows, highest estimate first, filtered by `error_type`.
    ///
    /// # Errors
    ///
    /// A trap only.
    pub fn top_k(
        &mut self,
        summary: &GuestSummary,
        k: u32,
        error_type: ErrorType,
    ) -> Result<Vec<OwnedRow>, GuestError> {
        let handle = summary.0;
        let error_type = match error_type {
            ErrorType::NoFalseNegatives => wit::ErrorType::NoFalseNegatives,
            ErrorType::NoFalsePositives => wit::ErrorType::NoFalsePositives,
        };
        let rows = self.call("top-k", |api, store| {
            api.call_top_k(store, handle, k, error_type)
        })?;
        Ok(rows
            .into_iter()
            .map(|row| OwnedRow {
                item: row.item,
                estimate: row.estimate,
                lower_bound: row.lower_bound,
                upper_bound: row.upper_bound,
            })
            .collect())
    }

    /// Returns the estimate and bounds of one item.
    ///
    /// # Errors
    ///
    /// A trap only.
    pub fn estimate(
        &mut self,
        summary: &GuestSummary,
        item: &[u8],
    ) -> Result<Estimate, GuestError> {
        let handle = summary.0;
        let estimate = self.call("estimate", |api, store| {
            api.call_estimate(store, handle, item)
        })?;
        Ok(Estimate {
            estimate: estimate.estimate,
            lower_bound: estimate.lower_bound,
            upper_bound: estimate.upper_bound,
        })
    }

    /// Returns the estimated number of distinct items.
    ///
    /// # Errors
    ///
    /// A trap only.
    pub fn distinct(&mut self, summary: &GuestSummary) -> Result<f64, GuestError> {
        let handle = summary.0;
        self.call("distinct", |api, store| api.call_distinct(store, handle))
    }

    /// Returns the sum of all weights added.
    ///
    /// # Errors
    ///
    /// A trap only.
    pub fn total_weight(&mut self, summary: &GuestSummary) -> Result<u64, GuestError> {
        let handle = summary.0;
        self.call("total-weight", |api, store| {
            api.call_total_weight(store, handle)
        })
    }

    /// Returns the maximum error of any count (0 while the sketch is exact).
    ///
    /// # Errors
    ///
    /// A trap only.
    pub fn maximum_error(&mut self, summary: &GuestSummary) -> Result<u64, GuestError> {
        let handle = summary.0;
        self.call("maximum-error", |api, store| {
            api.call_maximum_error(store, handle)
        })
    }

    /// Returns the parameters in force.
    ///
    /// # Errors
    ///
    /// A trap only.
    pub fn config(&mut self, summary: &GuestSummary) -> Result<Config, GuestError> {
        let handle = summary.0;
        let config = self.call("config", |api, store| api.call_config(store, handle))?;
        Ok(convert::config_from_wit(config))
    }

    /// Returns the summary's metadata.
    ///
    /// # Errors
    ///
    /// A trap only.
    pub fn metadata(&mut self, summary: &GuestSummary) -> Result<Metadata, GuestError> {
        let handle = summary.0;
        let metadata = self.call("metadata", |api, store| api.call_metadata(store, handle))?;
        Ok(convert::metadata_from_wit(metadata))
    }

    /// Replaces the summary's metadata.
    ///
    /// # Errors
    ///
    /// A trap only.
    pub fn set_metadata(
        &mut self,
        summary: &GuestSummary,
        metadata: &Metadata,
    ) -> Result<(), GuestError> {
        let handle = summary.0;
        let metadata = convert::metadata_to_wit(metadata);
        self.call("set-metadata", |api, store| {
            api.call_set_metadata(store, handle, &metadata)
        })
    }

    /// Encodes the summary as snapshot bytes (readable by `topk_sketch::snapshot::decode`).
    ///
    /// # Errors
    ///
    /// A trap only.
    pub fn export_snapshot(&mut self, summary: &GuestSummary) -> Result<Vec<u8>, GuestError> {
        let handle = summary.0;
        self.call("export-snapshot", |api, store| {
            api.call_export_snapshot(store, handle)
        })
    }

    /// Decodes snapshot bytes and merges them into the summary; on failure nothing changes.
    ///
    /// # Errors
    ///
    /// [`GuestError::Rejected`] (`malformed-snapshot` or `incompatible`).
    pub fn merge_snapshot(
        &mut self,
        summary: &GuestSummary,
        bytes: &[u8],
    ) -> Result<(), GuestError> {
        let handle = summary.0;
        let result = self.call("merge-snapshot", |api, store| {
            api.call_merge_snapshot(store, handle, bytes)
        })?;
        result.map_err(convert::error_from_wit)
    }

    /// Empties the summary and its metadata, keeping its parameters.
    ///
    /// # Errors
    ///
    /// A trap only.
    pub fn reset(&mut self, summary: &GuestSummary) -> Result<(), GuestError> {
        let handle = summary.0;
        self.call("reset", |api, store| api.call_reset(store, handle))
    }

    /// Frees the summary inside the guest.
    ///
    /// # Errors
    ///
    /// A trap only.
    pub fn drop_summary(&mut self, summary: GuestSummary) -> Result<(), GuestError> {
        if self.poisoned {
            return Err(GuestError::Poisoned);
        }
        self.store.set_epoch_deadline(self.limits.deadline_ticks());
        summary.0.resource_drop(&mut self.store).map_err(|error| {
            self.poisoned = true;
            trap_error(&self.limits, "summary drop", &error)
        })
    }
}
