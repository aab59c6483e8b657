//! Runs the built SmartModule in fluvio-smartengine, the engine that Fluvio's SPU embeds.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Result;
use fluvio_smartengine::{
    Lookback, SmartEngine, SmartModuleChainBuilder, SmartModuleChainInstance, SmartModuleConfig,
    SmartModuleInitialData,
};
use fluvio_smartmodule::dataplane::smartmodule::SmartModuleInput;
use fluvio_smartmodule::{Record, SMARTMODULE_TIMESTAMPS_VERSION};
use topk_sketch::{snapshot, ErrorType, Summary};

/// Returns the workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Returns the path of a wasm artifact that `cargo xtask smartmodule` builds.
pub fn wasm_path(file: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let target = if target.is_absolute() {
        target
    } else {
        workspace_root().join(target)
    };
    target.join("wasm32-unknown-unknown/release-lto").join(file)
}

/// Reads a wasm artifact, failing with the command that builds it.
pub fn read_wasm(file: &str, build: &str) -> Vec<u8> {
    let path = wasm_path(file);
    std::fs::read(&path).unwrap_or_else(|error| {
        panic!(
            "cannot read {} ({error}); build it first with `{build}`",
            path.display()
        )
    })
}

/// Returns the topk SmartModule's bytes, built once per test binary.
pub fn topk_module() -> &'static [u8] {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(|| read_wasm("topk_smartmodule.wasm", "cargo xtask smartmodule"))
}

/// Returns the one engine of this test binary (wasmtime compiles a module per chain).
pub fn engine() -> &'static SmartEngine {
    static ENGINE: std::sync::OnceLock<SmartEngine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(SmartEngine::new)
}

/// Options of one chain beyond the module parameters.
#[derive(Default)]
pub struct ChainOptions {
    pub memory_limit: Option<usize>,
    pub lookback: Option<Lookback>,
    pub accumulator: Option<Vec<u8>>,
}

/// Builds a one-module chain with `params` and calls `init`.
pub fn chain_with(
    module: &[u8],
    params: &[(&str, &str)],
    options: ChainOptions,
) -> Result<SmartModuleChainInstance> {
    let mut config = SmartModuleConfig::builder();
    config.smartmodule_names(vec!["topk".to_string()]);
    for (key, value) in params {
        config.param(*key, *value);
    }
    config.lookback(options.lookback);
    if let Some(accumulator) = options.accumulator {
        config.initial_data(SmartModuleInitialData::with_aggregate(accumulator));
    }

    let mut builder = SmartModuleChainBuilder::default();
    builder.add_smart_module(config.build()?, module.to_vec());
    if let Some(limit) = options.memory_limit {
        builder.set_store_memory_limit(limit);
    }
    builder.initialize(engine())
}

/// Builds a chain of the topk module.
pub fn topk_chain(params: &[(&str, &str)]) -> SmartModuleChainInstance {
    chain_with(topk_module(), params, ChainOptions::default()).expect("chain initializes")
}

/// One output record: key text and value bytes.
pub struct Output {
    pub key: String,
    pub value: Vec<u8>,
}

/// Sends `values` as one batch starting at `base_offset`, each with timestamp `timestamp_ms`,
/// and returns the output records.
///
/// # Errors
///
/// The engine's error (a trap, a memory limit) or the module's runtime error.
pub fn process(
    chain: &mut SmartModuleChainInstance,
    base_offset: i64,
    timestamp_ms: i64,
    values: &[Vec<u8>],
) -> Result<Vec<Output>> {
    let records = values
        .iter()
        .enumerate()
        .map(|(delta, value)| {
            let mut record = Record::new(value.clone());
            record.preamble.set_offset_delta(delta as i64);
            record
        })
        .collect();
    let mut input = SmartModuleInput::try_from_records(records, SMARTMODULE_TIMESTAMPS_VERSION)?;
    input.set_base_offset(base_offset);
    input.set_base_timestamp(timestamp_ms);

    let output = chain.process(input)?;
    if let Some(error) = output.error {
        anyhow::bail!("module error: {error}");
    }
    Ok(output
        .successes
        .into_iter()
        .map(|record| Output {
            key: record
                .key()
                .map(|key| String::from_utf8_lossy(key.as_ref()).into_owned())
                .unwrap_or_default(),
            value: record.value().as_ref().to_vec(),
        })
        .collect())
}

/// Sends `values` in batches of `batch` records, offsets counting from `first_offset`, and returns
/// every output record.
pub fn process_all(
    chain: &mut SmartModuleChainInstance,
    first_offset: i64,
    values: &[Vec<u8>],
    batch: usize,
) -> Vec<Output> {
    let mut outputs = Vec::new();
    for (index, chunk) in values.chunks(batch).enumerate() {
        let base = first_offset + (index * batch) as i64;
        outputs.extend(process(chain, base, 0, chunk).expect("batch processes"));
    }
    outputs
}

/// Runs `look_back` with `records` as the last records of the topic.
pub fn look_back(chain: &mut SmartModuleChainInstance, records: Vec<Vec<u8>>) -> Result<()> {
    fluvio_future::task::run_block_on(chain.look_back(move |_| {
        let records = records.iter().cloned().map(Record::new).collect();
        async move { Ok(records) }
    }))
}

/// Decodes and merges snapshots.
pub fn merge<'a>(snapshots: impl IntoIterator<Item = &'a [u8]>) -> Summary {
    let mut merged: Option<Summary> = None;
    for bytes in snapshots {
        let summary = snapshot::decode(bytes).expect("every output record is a snapshot");
        match &mut merged {
            Some(merged) => merged.merge(&summary).expect("snapshots merge"),
            None => merged = Some(summary),
        }
    }
    merged.expect("at least one snapshot")
}

/// Returns the top `k` items of a merged summary as `(item, estimate)`, for comparison with exact
/// counts and with other runtimes' results.
pub fn top_k(summary: &Summary, k: usize) -> Vec<(String, u64)> {
    summary
        .top_k(k, ErrorType::NoFalseNegatives)
        .into_iter()
        .map(|row| (String::from_utf8_lossy(row.item).into_owned(), row.estimate))
        .collect()
}

/// Returns the exact top `k` of `counts`, ties broken by item.
pub fn exact_top_k(counts: &HashMap<String, u64>, k: usize) -> Vec<(String, u64)> {
    let mut rows: Vec<(String, u64)> = counts
        .iter()
        .map(|(item, count)| (item.clone(), *count))
        .collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    rows.truncate(k);
    rows
}

/// Returns the `linear_memory_bytes` that the module writes into a snapshot record's key.
pub fn linear_memory_bytes(key: &str) -> Option<usize> {
    key.split(' ')
        .find_map(|field| field.strip_prefix("linear_memory_bytes="))
        .and_then(|bytes| bytes.parse().ok())
}
