//! Mergeable sketches for finding the heavy hitters of a stream, with guaranteed bounds.
//!
//! This crate is the one counting core of topk. It is `#![no_std]` with `alloc`, so the same code
//! runs natively, inside the WebAssembly component, inside the Fluvio SmartModule and in the
//! browser, and a snapshot written by any of them decodes and merges identically in the others.
//!
//! - [`FrequentItems`]: a Misra-Gries / Space-Saving sketch over byte-string items whose
//!   [`lower_bound`](FrequentItems::lower_bound) and [`upper_bound`](FrequentItems::upper_bound)
//!   always hold. Its payload is the Apache DataSketches frequent-items binary format.
//! - [`CountMin`]: a Count-Min sketch with conservative update, an upper bound for any item.
//! - [`HyperLogLog`]: a distinct-count estimator.
//! - [`Summary`]: the three together plus window metadata, the unit that topk exports.
//! - [`snapshot`]: the versioned, checksummed envelope that carries a [`Summary`].
//!
//! # Examples
//!
//! ```
//! use topk_sketch::{ErrorType, FrequentItems};
//!
//! let mut sketch = FrequentItems::new(64).unwrap();
//! for ip in ["10.0.0.1", "10.0.0.2", "10.0.0.1"] {
//!     sketch.update(ip.as_bytes(), 1).unwrap();
//! }
//! let top = sketch.top_k(1, ErrorType::NoFalseNegatives);
//! assert_eq!(top[0].item, b"10.0.0.1");
//! assert_eq!(top[0].lower_bound, 2);
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod batch;
mod bytes;
mod count_min;
mod error;
mod frequent;
pub mod hash;
mod hll;
mod item;
pub mod snapshot;
mod summary;

pub use batch::Batch;
pub use count_min::CountMin;
pub use error::Error;
pub use frequent::{ErrorType, FrequentItems, Row};
pub use hll::HyperLogLog;
pub use summary::{Config, Estimate, Summary};
