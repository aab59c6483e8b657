//! A Fluvio SmartModule that counts the heavy hitters of one partition with the topk sketch.
//!
//! Each record is parsed (JSON with pointers, or text with a regular expression), counted into the
//! summary of its event-time pane and dimension value, and dropped. The module emits snapshot
//! records (the topk snapshot format, decodable by `topk_sketch::snapshot::decode`) only when a
//! pane closes or every N records, so its output does not grow with its input. Snapshots are
//! deltas: merging all snapshots of all partitions gives the totals.
//!
//! Fluvio entry points:
//! - `init` checks the parameters ([`params::Params::parse`]) and creates the state.
//! - `array_map` counts each record and returns zero or more snapshot records.
//! - `look_back` reads the last records of the topic after a restart; snapshots of this source
//!   give back the watermark and the end offset ([`counter::Counter::restore`]).
//!
//! The state lives in a static of the module instance, not in Fluvio's `aggregate` accumulator,
//! because Fluvio's `aggregate` glue copies and re-encodes the accumulator for every record.

pub mod counter;
pub mod extract;
mod json;
pub mod params;

use std::collections::BTreeMap;
use std::sync::Mutex;

use fluvio_smartmodule::dataplane::core::{Decoder, Encoder};
use fluvio_smartmodule::dataplane::smartmodule::SmartModuleExtraParams;
use fluvio_smartmodule::{eyre, smartmodule, RecordData, Result, SmartModuleRecord};

use counter::{Counter, SnapshotRecord};
use params::Params;

/// The module state; Fluvio runs one instance per chain, and each call holds the lock.
static STATE: Mutex<Option<Counter>> = Mutex::new(None);

/// Checks the parameters and creates the state. Fluvio calls it once, before any record.
#[smartmodule(init)]
fn init(params: SmartModuleExtraParams) -> Result<()> {
    let raw = parameter_map(&params)?;
    let params = Params::parse(&raw).map_err(|error| eyre!("topk: {error}"))?;

    *STATE
        .lock()
        .map_err(|_| eyre!("topk: the module state is poisoned by an earlier panic"))? =
        Some(Counter::new(params));
    Ok(())
}

/// Counts one record and returns the snapshot records that the emit policy releases.
#[smartmodule(array_map)]
fn array_map(record: &SmartModuleRecord) -> Result<Vec<(Option<RecordData>, RecordData)>> {
    let mut state = STATE
        .lock()
        .map_err(|_| eyre!("topk: the module state is poisoned by an earlier panic"))?;
    let counter = state
        .as_mut()
        .ok_or_else(|| eyre!("topk: array_map called before init"))?;

    let mut out = Vec::new();
    counter.count(
        record.offset(),
        record.timestamp(),
        record.value().as_ref(),
        &mut out,
    );
    Ok(out.into_iter().map(into_record).collect())
}

/// Restores the watermark and end offset from a snapshot this module emitted before a restart.
/// Records that are not snapshots of this source are ignored.
#[smartmodule(look_back)]
fn look_back(record: &SmartModuleRecord) -> Result<()> {
    let mut state = STATE
        .lock()
        .map_err(|_| eyre!("topk: the module state is poisoned by an earlier panic"))?;
    let counter = state
        .as_mut()
        .ok_or_else(|| eyre!("topk: look_back called before init"))?;

    counter.restore(record.value().as_ref());
    Ok(())
}

fn into_record(snapshot: SnapshotRecord) -> (Option<RecordData>, RecordData) {
    (
        Some(RecordData::from(snapshot.key.into_bytes())),
        RecordData::from(snapshot.value),
    )
}

/// Returns every `key=value` parameter, so that `init` can reject misspelled names.
///
/// `SmartModuleExtraParams` (fluvio-smartmodule 0.50.1) only looks up one name at a time. The map
/// is the first field of its wire encoding, so it is read back from there.
fn parameter_map(params: &SmartModuleExtraParams) -> Result<BTreeMap<String, String>> {
    let mut bytes = Vec::new();
    params
        .encode(&mut bytes, 0)
        .map_err(|error| eyre!("topk: failed to encode the parameters: {error}"))?;

    let mut map = BTreeMap::<String, String>::new();
    map.decode(&mut std::io::Cursor::new(bytes), 0)
        .map_err(|error| eyre!("topk: failed to decode the parameters: {error}"))?;
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_map_reads_all() {
        let mut params = SmartModuleExtraParams::default();
        params.insert("item".into(), "/host".into());
        params.insert("capacity".into(), "64".into());
        let map = parameter_map(&params).unwrap();
        assert_eq!(map.len(), 2);
        assert_eq!(map["capacity"], "64");
    }
}
