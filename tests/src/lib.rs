//! Test harness that drives the sketch component in wasmtime 34.0.2 exactly as the host does
//! (one engine, memory-limited stores with an epoch deadline), so end-to-end tests and benches
//! can compare it with the native core.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{anyhow, Context, Result};
use wasmtime::component::{Component, Linker, ResourceAny};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder};

wasmtime::component::bindgen!({
    path: "../wit",
    world: "sketch",
});

pub use exports::topk::sketch::types::{
    Config as WitConfig, Error as WitError, ErrorType as WitErrorType, Metadata as WitMetadata, Row as WitRow,
};

/// Maximum linear memory of one store: 256 MiB.
const MEMORY_LIMIT: usize = 256 << 20;

/// Returns the workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the workspace").to_path_buf()
}

/// Returns the path of the built component, `target/topk_component.wasm`.
pub fn component_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"));
    let path = target.join("topk_component.wasm");
    if path.exists() {
        path
    } else {
        workspace_root().join("target/topk_component.wasm")
    }
}

/// Compiles the component at `path` once per process; later calls reuse the compiled code.
fn compiled(path: &Path, epoch_interruption: bool) -> Result<(Engine, Component)> {
    static CACHE: Mutex<Vec<(PathBuf, bool, Engine, Component)>> = Mutex::new(Vec::new());
    let mut cache = CACHE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, _, engine, component)) = cache.iter().find(|(cached, epoch, _, _)| cached == path && *epoch == epoch_interruption) {
        return Ok((engine.clone(), component.clone()));
    }

    let mut config = Config::new();
    config.epoch_interruption(epoch_interruption);
    let engine = Engine::new(&config)?;
    let component = Component::from_file(&engine, path)
        .with_context(|| format!("failed to load {}; build it with `cargo xtask component`", path.display()))?;
    cache.push((path.to_path_buf(), epoch_interruption, engine.clone(), component.clone()));
    Ok((engine, component))
}

/// One instance of the component in its own store.
pub struct Guest {
    store: Store<StoreLimits>,
    bindings: Sketch,
}

/// A `summary` resource inside a [`Guest`].
#[derive(Clone, Copy)]
pub struct GuestSummary(ResourceAny);

impl Guest {
    /// Compiles the component at `path` and instantiates it with a memory limit.
    ///
    /// # Errors
    ///
    /// Fails if the file is missing (run `cargo xtask component`) or does not instantiate.
    pub fn load(path: &Path) -> Result<Self> {
        Self::load_with(path, true)
    }

    /// Like [`load`](Self::load), with epoch-based interruption switched on or off; benchmarks
    /// use it to measure what the interruption checks cost.
    pub fn load_with(path: &Path, epoch_interruption: bool) -> Result<Self> {
        let (engine, component) = compiled(path, epoch_interruption)?;
        let linker = Linker::new(&engine);

        let limits = StoreLimitsBuilder::new().memory_size(MEMORY_LIMIT).build();
        let mut store = Store::new(&engine, limits);
        store.limiter(|limits| limits);
        if epoch_interruption {
            store.set_epoch_deadline(u64::MAX / 2);
        }
        let bindings = Sketch::instantiate(&mut store, &component, &linker)?;
        Ok(Guest { store, bindings })
    }

    /// Returns the number of imports the component declares.
    pub fn import_count(path: &Path) -> Result<usize> {
        let engine = Engine::default();
        let component = Component::from_file(&engine, path)?;
        Ok(component.component_type().imports(&engine).count())
    }

    /// Creates a summary with `config`.
    pub fn create(&mut self, config: WitConfig) -> Result<GuestSummary> {
        let api = self.bindings.topk_sketch_summaries().summary();
        let handle = api.call_create(&mut self.store, config)?.map_err(|error| anyhow!("{error:?}"))?;
        Ok(GuestSummary(handle))
    }

    /// Decodes a snapshot into a new summary; the inner result is the guest's error.
    pub fn import_snapshot(&mut self, bytes: &[u8]) -> Result<Result<GuestSummary, WitError>> {
        let api = self.bindings.topk_sketch_summaries().summary();
        Ok(api.call_import_snapshot(&mut self.store, bytes)?.map(GuestSummary))
    }

    /// Adds a packed batch; the inner result is the guest's error.
    pub fn update_batch(&mut self, summary: GuestSummary, data: &[u8], ends: &[u32], weights: Option<&[u64]>) -> Result<Result<(), WitError>> {
        let api = self.bindings.topk_sketch_summaries().summary();
        Ok(api.call_update_batch(&mut self.store, summary.0, data, ends, weights)?)
    }

    /// Returns up to `k` rows.
    pub fn top_k(&mut self, summary: GuestSummary, k: u32) -> Result<Vec<WitRow>> {
        let api = self.bindings.topk_sketch_summaries().summary();
        Ok(api.call_top_k(&mut self.store, summary.0, k, WitErrorType::NoFalseNegatives)?)
    }

    /// Replaces the metadata.
    pub fn set_metadata(&mut self, summary: GuestSummary, metadata: &WitMetadata) -> Result<()> {
        let api = self.bindings.topk_sketch_summaries().summary();
        Ok(api.call_set_metadata(&mut self.store, summary.0, metadata)?)
    }

    /// Returns the snapshot bytes.
    pub fn export_snapshot(&mut self, summary: GuestSummary) -> Result<Vec<u8>> {
        let api = self.bindings.topk_sketch_summaries().summary();
        Ok(api.call_export_snapshot(&mut self.store, summary.0)?)
    }

    /// Merges snapshot bytes in; the inner result is the guest's error.
    pub fn merge_snapshot(&mut self, summary: GuestSummary, bytes: &[u8]) -> Result<Result<(), WitError>> {
        let api = self.bindings.topk_sketch_summaries().summary();
        Ok(api.call_merge_snapshot(&mut self.store, summary.0, bytes)?)
    }

    /// Drops a summary, freeing its guest memory.
    pub fn drop_summary(&mut self, summary: GuestSummary) -> Result<()> {
        summary.0.resource_drop(&mut self.store)
    }

    /// Returns the total weight.
    pub fn total_weight(&mut self, summary: GuestSummary) -> Result<u64> {
        let api = self.bindings.topk_sketch_summaries().summary();
        Ok(api.call_total_weight(&mut self.store, summary.0)?)
    }
}

/// Packs items into one buffer plus end offsets, the layout `update-batch` takes.
pub fn pack<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> (Vec<u8>, Vec<u32>) {
    let mut data = Vec::new();
    let mut ends = Vec::new();
    for item in items {
        data.extend_from_slice(item);
        ends.push(data.len() as u32);
    }
    (data, ends)
}

/// Returns the first field (the client IP) of every line of the bundled Apache log.
pub fn apache_client_ips() -> Result<Vec<Vec<u8>>> {
    let path = workspace_root().join("data/elastic_apache_logs/apache_logs");
    let text = std::fs::read(&path).with_context(|| format!("failed to read {}", path.display()))?;
    Ok(text
        .split(|&byte| byte == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| line.split(|&byte| byte == b' ').next().unwrap_or_default().to_vec())
        .collect())
}
