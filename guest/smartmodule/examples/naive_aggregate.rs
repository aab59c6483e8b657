//! The straightforward way to count with the sketch in Fluvio, kept as the benchmark's baseline:
//! an `aggregate` SmartModule whose accumulator is the snapshot. For every record it decodes the
//! accumulator, adds the record's value as one item, encodes the sketch again and emits it, so the
//! work and the output per record grow with the sketch's size.
//!
//! Parameters: `capacity` (map size, default 1024) and `hll_precision` (default 12), so the
//! benchmark can compare a default-sized sketch with a small one.
//!
//! Build: `cargo build -p topk-smartmodule --example naive_aggregate --target
//! wasm32-unknown-unknown --profile release-lto`.

use std::sync::OnceLock;

use fluvio_smartmodule::dataplane::smartmodule::SmartModuleExtraParams;
use fluvio_smartmodule::{eyre, smartmodule, RecordData, Result, SmartModuleRecord};
use topk_sketch::{snapshot, Config, Summary};

static CONFIG: OnceLock<Config> = OnceLock::new();

/// Reads the sketch parameters.
#[smartmodule(init)]
fn init(params: SmartModuleExtraParams) -> Result<()> {
    let mut config = Config::default();
    if let Some(capacity) = params.get("capacity") {
        config.max_map_size = capacity
            .parse()
            .map_err(|_| eyre!("invalid capacity {capacity:?}: a power of two from 8"))?;
    }
    if let Some(precision) = params.get("hll_precision") {
        config.hll_precision = precision
            .parse()
            .map_err(|_| eyre!("invalid hll_precision {precision:?}: 4 to 18"))?;
    }

    Summary::new(config).map_err(|error| eyre!("{error}"))?;
    CONFIG.set(config).map_err(|_| eyre!("init ran twice"))?;
    Ok(())
}

/// Adds the record's whole value as one item to the sketch carried in the accumulator.
#[smartmodule(aggregate)]
fn aggregate(accumulator: RecordData, record: &SmartModuleRecord) -> Result<RecordData> {
    let mut summary = if accumulator.as_ref().is_empty() {
        Summary::new(CONFIG.get().copied().unwrap_or_default()).map_err(|error| eyre!("{error}"))?
    } else {
        snapshot::decode(accumulator.as_ref())
            .map_err(|error| eyre!("accumulator is not a topk snapshot: {error}"))?
    };

    summary
        .update(record.value().as_ref(), 1)
        .map_err(|error| eyre!("{error}"))?;
    Ok(RecordData::from(snapshot::encode(&summary)))
}
