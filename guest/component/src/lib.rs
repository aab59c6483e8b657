//! WebAssembly component glue over `topk-sketch`: the functions of `wit/sketch.wit`, each a
//! thin call into the core. Build it with `cargo xtask component`, which compiles this crate
//! for wasm32-unknown-unknown and wraps the module as a component with zero imports.

use std::cell::RefCell;

use exports::topk::sketch::summaries::{Guest, GuestSummary, Summary as SummaryHandle};
use exports::topk::sketch::types as wit;
use topk_sketch::snapshot::{self, Dimension, Metadata, SourceRange, Window};
use topk_sketch::{Batch, Config, Error, ErrorType, Summary};

wit_bindgen::generate!({
    path: "../../wit",
    world: "sketch",
});

/// The exported component.
struct Component;

impl Guest for Component {
    type Summary = SummaryResource;
}

/// A [`Summary`] behind the component's `summary` resource. Resource methods take `&self`, so
/// the state sits in a `RefCell`; a component instance is single-threaded.
struct SummaryResource(RefCell<Summary>);

impl GuestSummary for SummaryResource {
    fn create(config: wit::Config) -> Result<SummaryHandle, wit::Error> {
        let summary = Summary::new(from_wit_config(config)).map_err(to_wit_error)?;
        Ok(SummaryHandle::new(SummaryResource(RefCell::new(summary))))
    }

    fn import_snapshot(bytes: Vec<u8>) -> Result<SummaryHandle, wit::Error> {
        let summary = snapshot::decode(&bytes).map_err(to_wit_error)?;
        Ok(SummaryHandle::new(SummaryResource(RefCell::new(summary))))
    }

    fn update_batch(&self, data: Vec<u8>, ends: Vec<u32>, weights: Option<Vec<u64>>) -> Result<(), wit::Error> {
        let batch = Batch::new(&data, &ends, weights.as_deref()).map_err(to_wit_error)?;
        self.0.borrow_mut().update_batch(&batch).map_err(to_wit_error)
    }

    fn update(&self, item: Vec<u8>, weight: u64) -> Result<(), wit::Error> {
        self.0.borrow_mut().update(&item, weight).map_err(to_wit_error)
    }

    fn top_k(&self, k: u32, error_type: wit::ErrorType) -> Vec<wit::Row> {
        let error_type = match error_type {
            wit::ErrorType::NoFalseNegatives => ErrorType::NoFalseNegatives,
            wit::ErrorType::NoFalsePositives => ErrorType::NoFalsePositives,
        };
        let summary = self.0.borrow();
        summary
            .top_k(k as usize, error_type)
            .into_iter()
            .map(|row| wit::Row {
                item: row.item.to_vec(),
                estimate: row.estimate,
                lower_bound: row.lower_bound,
                upper_bound: row.upper_bound,
            })
            .collect()
    }

    fn estimate(&self, item: Vec<u8>) -> wit::Estimate {
        let estimate = self.0.borrow().estimate(&item);
        wit::Estimate { estimate: estimate.estimate, lower_bound: estimate.lower_bound, upper_bound: estimate.upper_bound }
    }

    fn distinct(&self) -> f64 {
        self.0.borrow().distinct()
    }

    fn total_weight(&self) -> u64 {
        self.0.borrow().total_weight()
    }

    fn maximum_error(&self) -> u64 {
        self.0.borrow().maximum_error()
    }

    fn config(&self) -> wit::Config {
        let config = self.0.borrow().config();
        wit::Config {
            max_map_size: config.max_map_size,
            hll_precision: config.hll_precision,
            count_min_width: config.count_min_width,
            count_min_depth: config.count_min_depth,
        }
    }

    fn metadata(&self) -> wit::Metadata {
        to_wit_metadata(&self.0.borrow().metadata)
    }

    fn set_metadata(&self, metadata: wit::Metadata) {
        self.0.borrow_mut().metadata = from_wit_metadata(metadata);
    }

    fn export_snapshot(&self) -> Vec<u8> {
        snapshot::encode(&self.0.borrow())
    }

    fn merge_snapshot(&self, bytes: Vec<u8>) -> Result<(), wit::Error> {
        let other = snapshot::decode(&bytes).map_err(to_wit_error)?;
        self.0.borrow_mut().merge(&other).map_err(to_wit_error)
    }

    fn reset(&self) {
        self.0.borrow_mut().reset();
    }
}

fn from_wit_config(config: wit::Config) -> Config {
    Config {
        max_map_size: config.max_map_size,
        hll_precision: config.hll_precision,
        count_min_width: config.count_min_width,
        count_min_depth: config.count_min_depth,
    }
}

fn to_wit_error(error: Error) -> wit::Error {
    let message = error.to_string();
    match error {
        Error::InvalidParameter { .. } => wit::Error::InvalidParameter(message),
        Error::WeightOverflow { .. } => wit::Error::WeightOverflow(message),
        Error::Incompatible { .. } => wit::Error::Incompatible(message),
        Error::Truncated { .. } | Error::Malformed { .. } | Error::Checksum { .. } => wit::Error::MalformedSnapshot(message),
    }
}

fn to_wit_metadata(metadata: &Metadata) -> wit::Metadata {
    wit::Metadata {
        window: metadata.window.map(|window| wit::Window { start: window.start, end: window.end }),
        watermark: metadata.watermark,
        dimension: metadata.dimension.as_ref().map(|dimension| wit::Dimension { name: dimension.name.clone(), value: dimension.value.clone() }),
        sources: metadata
            .sources
            .iter()
            .map(|range| wit::SourceRange { source: range.source.clone(), start: range.start, end: range.end })
            .collect(),
        late_events: metadata.late_events,
        malformed_records: metadata.malformed_records,
    }
}

fn from_wit_metadata(metadata: wit::Metadata) -> Metadata {
    let mut sources: Vec<SourceRange> = metadata
        .sources
        .into_iter()
        .map(|range| SourceRange { source: range.source, start: range.start, end: range.end })
        .collect();
    sources.sort_by(|a, b| a.source.cmp(&b.source));
    Metadata {
        window: metadata.window.map(|window| Window { start: window.start, end: window.end }),
        watermark: metadata.watermark,
        dimension: metadata.dimension.map(|dimension| Dimension { name: dimension.name, value: dimension.value }),
        sources,
        late_events: metadata.late_events,
        malformed_records: metadata.malformed_records,
    }
}

// The canonical ABI symbol names contain `:` and `#`, which native linkers reject in a shared
// library's export list, so the exports exist only in the WebAssembly build.
#[cfg(target_arch = "wasm32")]
export!(Component);
