//! The `topk` host: sources and formats, the wasmtime runner of the sketch component,
//! event-time panes, the redb state store, the HTTP API and metrics.

pub mod cli;
pub mod input;
