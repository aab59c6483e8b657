//! The `topk` host: sources and formats, the wasmtime runner of the sketch component,
//! event-time panes, the redb state store, the HTTP API and metrics.

pub mod api;
pub mod cli;
pub mod input;
pub mod pipeline;
pub mod runner;
pub mod service;
pub mod state;
pub mod window;
