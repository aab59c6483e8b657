//! The topk SmartModule run through fluvio-smartengine 0.50.1, the engine Fluvio's SPU embeds.
//!
//! The module must be built first: `cargo xtask smartmodule` (or `cargo build -p
//! topk-smartmodule --target wasm32-unknown-unknown --profile release-lto`).

mod bench;
mod harness;
mod memory;
mod nasa;
mod params;
