//! Conversions between the WIT records and the core's types, which carry the same fields.

use super::bindings::exports::topk::sketch::types as wit;
use super::GuestError;
use topk_sketch::snapshot::{Dimension, Metadata, SourceRange, Window};
use topk_sketch::Config;

pub(super) fn config_to_wit(config: Config) -> wit::Config {
    wit::Config {
        max_map_size: config.max_map_size,
        hll_precision: config.hll_precision,
        count_min_width: config.count_min_width,
        count_min_depth: config.count_min_depth,
    }
}

pub(super) fn config_from_wit(config: wit::Config) -> Config {
    Config {
        max_map_size: config.max_map_size,
        hll_precision: config.hll_precision,
        count_min_width: config.count_min_width,
        count_min_depth: config.count_min_depth,
    }
}

pub(super) fn error_from_wit(error: wit::Error) -> GuestError {
    let (kind, message) = match error {
        wit::Error::InvalidParameter(message) => ("invalid-parameter", message),
        wit::Error::WeightOverflow(message) => ("weight-overflow", message),
        wit::Error::Incompatible(message) => ("incompatible", message),
        wit::Error::MalformedSnapshot(message) => ("malformed-snapshot", message),
    };
    GuestError::Rejected { kind, message }
}

pub(super) fn metadata_to_wit(metadata: &Metadata) -> wit::Metadata {
    wit::Metadata {
        window: metadata.window.map(|window| wit::Window {
            start: window.start,
            end: window.end,
        }),
        watermark: metadata.watermark,
        dimension: metadata.dimension.as_ref().map(|dimension| wit::Dimension {
            name: dimension.name.clone(),
            value: dimension.value.clone(),
        }),
        sources: metadata
            .sources
            .iter()
            .map(|range| wit::SourceRange {
                source: range.source.clone(),
                start: range.start,
                end: range.end,
            })
            .collect(),
        late_events: metadata.late_events,
        malformed_records: metadata.malformed_records,
    }
}

pub(super) fn metadata_from_wit(metadata: wit::Metadata) -> Metadata {
    Metadata {
        window: metadata.window.map(|window| Window {
            start: window.start,
            end: window.end,
        }),
        watermark: metadata.watermark,
        dimension: metadata.dimension.map(|dimension| Dimension {
            name: dimension.name,
            value: dimension.value,
        }),
        sources: metadata
            .sources
            .into_iter()
            .map(|range| SourceRange {
                source: range.source,
                start: range.start,
                end: range.end,
            })
            .collect(),
        late_events: metadata.late_events,
        malformed_records: metadata.malformed_records,
    }
}
