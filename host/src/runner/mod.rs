//! The wasmtime runner of the sketch component (`wit/sketch.wit`, world `sketch`).
//!
//! One [`Runner`] contains the engine and the component, compiled once. [`Runner::instantiate`]
//! gives a [`Guest`]: one store with one instance, which owns any number of summaries
//! ([`GuestSummary`] handles). Every store has a memory limit and an epoch deadline per call,
//! so a guest that loops or grows without bound returns [`GuestError::Trap`] instead of
//! hanging or exhausting the host. A trapped guest is poisoned: every later call returns
//! [`GuestError::Poisoned`], and the owner instantiates a new one.
//!
//! ```no_run
//! use topk_host::runner::{Limits, PackedBatch, Runner};
//! use topk_sketch::{Config, ErrorType};
//!
//! let runner = Runner::new("target/topk_component.wasm".as_ref(), Limits::default())?;
//! let mut guest = runner.instantiate()?;
//! let summary = guest.create(Config::default())?;
//!
//! let mut batch = PackedBatch::new();
//! for ip in ["10.0.0.1", "10.0.0.2", "10.0.0.1"] {
//!     batch.push(ip.as_bytes())?;
//! }
//! guest.update_batch(&summary, &batch)?;
//!
//! let rows = guest.top_k(&summary, 10, ErrorType::NoFalseNegatives)?;
//! assert_eq!(rows[0].item, b"10.0.0.1");
//! assert_eq!((rows[0].lower_bound, rows[0].upper_bound), (2, 2));
//! # Ok::<(), anyhow::Error>(())
//! ```

mod batch;
mod convert;
mod guest;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{Component, Linker};
use wasmtime::Engine;

pub use batch::{PackedBatch, PackedBatchError};
pub use guest::{Guest, GuestSummary, OwnedRow, StoreData};

/// Bindings generated from `wit/sketch.wit`; private so their names (`GuestSummary`, `Config`)
/// do not clash with the runner's.
#[allow(missing_docs)]
mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "sketch",
    });
}

/// Resource limits applied to every store of a [`Runner`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use topk_host::runner::Limits;
///
/// let limits = Limits { call_timeout: Duration::from_millis(500), ..Limits::default() };
/// assert_eq!(limits.memory_bytes, 512 << 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum linear memory of one store, in bytes. Default 512 MiB. A `memory.grow` past it
    /// traps.
    pub memory_bytes: usize,
    /// Maximum wall-clock time of one call into the guest. Default 10 s. The deadline is
    /// checked at every epoch tick, so a call may overrun it by up to one tick.
    pub call_timeout: Duration,
    /// Period of the epoch ticker thread. Default 10 ms.
    pub epoch_tick: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 512 << 20,
            call_timeout: Duration::from_secs(10),
            epoch_tick: Duration::from_millis(10),
        }
    }
}

impl Limits {
    /// Returns the epoch deadline, in ticks, that one call gets (at least 1).
    pub(crate) fn deadline_ticks(&self) -> u64 {
        let tick = self.epoch_tick.as_nanos().max(1);
        (self.call_timeout.as_nanos().div_ceil(tick) as u64).max(1)
    }
}

/// Why the runner could not start: the component is missing, invalid or does not match the
/// `sketch` world.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// The component file could not be read.
    #[error("failed to read the component {path}: {source}; build it with `cargo build -p topk-component --target wasm32-unknown-unknown --release && cargo run -q -p xtask -- component`")]
    Read {
        /// The path that failed.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The engine could not be configured or the bytes are not a valid component.
    #[error("failed to compile the component {origin}: {message}")]
    Compile {
        /// The file path, or `<bytes>`.
        origin: String,
        /// The wasmtime error chain.
        message: String,
    },
    /// The component does not export the `sketch` world.
    #[error("the component {origin} does not implement the topk:sketch/sketch world: {message}")]
    World {
        /// The file path, or `<bytes>`.
        origin: String,
        /// The wasmtime error chain.
        message: String,
    },
    /// The epoch ticker thread could not be spawned.
    #[error("failed to spawn the epoch ticker thread: {0}")]
    Ticker(std::io::Error),
}

/// The failure of a call into the guest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuestError {
    /// The guest trapped: it ran past its deadline, grew past the memory limit, or hit a
    /// WebAssembly trap. The guest is poisoned afterwards.
    #[error("the sketch component trapped in `{call}`: {message}")]
    Trap {
        /// The WIT function that was called.
        call: &'static str,
        /// The trap, including the limit that was hit.
        message: String,
    },
    /// An earlier call trapped, so this instance can no longer be used.
    #[error(
        "the sketch component instance is unusable after an earlier trap; instantiate a new one"
    )]
    Poisoned,
    /// The guest rejected the call with a WIT `error` (invalid parameter, weight overflow,
    /// incompatible merge, malformed snapshot). The summary is unchanged.
    #[error("{kind}: {message}")]
    Rejected {
        /// The WIT error case: `invalid-parameter`, `weight-overflow`, `incompatible` or
        /// `malformed-snapshot`.
        kind: &'static str,
        /// The guest's message, which names the value and the fix.
        message: String,
    },
}

impl GuestError {
    /// Returns true for a trap or a poisoned instance, after which the guest must be replaced.
    pub fn is_trap(&self) -> bool {
        matches!(self, GuestError::Trap { .. } | GuestError::Poisoned)
    }
}

/// The engine and the compiled component, shared by every [`Guest`]. Cloning is cheap.
///
/// A background thread advances the engine's epoch every [`Limits::epoch_tick`]; it stops when
/// the last clone is dropped.
#[derive(Clone)]
pub struct Runner {
    inner: Arc<RunnerInner>,
}

struct RunnerInner {
    engine: Engine,
    component: Component,
    linker: Linker<guest::StoreData>,
    limits: Limits,
    ticker_stop: Arc<AtomicBool>,
}

impl Drop for RunnerInner {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

impl Runner {
    /// Compiles the component at `path` (binary `.wasm`, or WAT text) once.
    ///
    /// # Errors
    ///
    /// [`RunnerError`] when the file is missing, is not a component, or does not export the
    /// `sketch` world.
    pub fn new(path: &Path, limits: Limits) -> Result<Runner, RunnerError> {
        let bytes = std::fs::read(path).map_err(|source| RunnerError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Runner::from_bytes(&bytes, &path.display().to_string(), limits)
    }

    /// Compiles a component from its bytes (binary or WAT text); `origin` names it in errors.
    ///
    /// # Errors
    ///
    /// [`RunnerError::Compile`] when the bytes are not a valid component.
    pub fn from_bytes(bytes: &[u8], origin: &str, limits: Limits) -> Result<Runner, RunnerError> {
        let compile_error = |error: anyhow::Error| RunnerError::Compile {
            origin: origin.to_string(),
            message: format!("{error:#}"),
        };

        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        let engine = Engine::new(&config).map_err(compile_error)?;
        let component = Component::new(&engine, bytes).map_err(compile_error)?;
        let linker = Linker::new(&engine);

        let ticker_stop = Arc::new(AtomicBool::new(false));
        spawn_ticker(engine.clone(), limits.epoch_tick, ticker_stop.clone())
            .map_err(RunnerError::Ticker)?;
        tracing::debug!(origin, "compiled the sketch component");
        Ok(Runner {
            inner: Arc::new(RunnerInner {
                engine,
                component,
                linker,
                limits,
                ticker_stop,
            }),
        })
    }

    /// Creates a new store and instance of the component.
    ///
    /// # Errors
    ///
    /// [`RunnerError::World`] when the component does not export the `sketch` world or its
    /// start-up traps.
    pub fn instantiate(&self) -> Result<Guest, RunnerError> {
        Guest::instantiate(self)
    }

    /// Returns the limits every store gets.
    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// Returns the engine, for callers that instantiate other components under the same limits
    /// (tests do this with small fault-injection components).
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub(crate) fn component(&self) -> &Component {
        &self.inner.component
    }

    pub(crate) fn linker(&self) -> &Linker<guest::StoreData> {
        &self.inner.linker
    }
}

fn spawn_ticker(engine: Engine, tick: Duration, stop: Arc<AtomicBool>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("topk-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(tick);
                engine.increment_epoch();
            }
        })?;
    Ok(())
}

/// Creates a store with the runner's memory limit and epoch deadline, for components other than
/// the sketch (fault-injection tests). Call [`arm_deadline`] before each call into it.
pub fn limited_store(runner: &Runner) -> wasmtime::Store<guest::StoreData> {
    guest::new_store(runner)
}

/// Sets the store's epoch deadline to one call timeout from now.
pub fn arm_deadline(runner: &Runner, store: &mut wasmtime::Store<guest::StoreData>) {
    store.set_epoch_deadline(runner.limits().deadline_ticks());
}

/// Turns a wasmtime error from a call into a [`GuestError::Trap`] that names the limit hit.
pub fn describe_trap(runner: &Runner, call: &'static str, error: &anyhow::Error) -> GuestError {
    guest::trap_error(&runner.limits(), call, error)
}

/// Finds the sketch component: `flag` when given, then the `TOPK_COMPONENT` environment
/// variable, then `topk_component.wasm` next to the binary or one folder up, then
/// `target/topk_component.wasm` in the current directory and in the workspace the binary was
/// built from.
///
/// # Errors
///
/// [`RunnerError::Read`] naming the paths tried and the build command.
pub fn find_component(flag: Option<&Path>) -> Result<PathBuf, RunnerError> {
    if let Some(path) = flag {
        return Ok(path.to_path_buf());
    }
    if let Some(path) = std::env::var_os("TOPK_COMPONENT").filter(|path| !path.is_empty()) {
        return Ok(PathBuf::from(path));
    }

    let mut candidates = Vec::new();
    if let Some(folder) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        candidates.push(folder.join("topk_component.wasm"));
        candidates.push(folder.join("../topk_component.wasm"));
    }
    candidates.push(PathBuf::from("target/topk_component.wasm"));
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/topk_component.wasm"));
    match candidates.iter().find(|path| path.is_file()) {
        Some(path) => Ok(path.clone()),
        None => {
            let tried: Vec<String> = candidates
                .iter()
                .map(|path| path.display().to_string())
                .collect();
            Err(RunnerError::Read {
                path: PathBuf::from("topk_component.wasm"),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("not found in {}; or pass --component", tried.join(", ")),
                ),
            })
        }
    }
}
