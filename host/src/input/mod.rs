//! The input side of the host: line sources ([`LineReader`], [`SourceSet`]) and formats
//! ([`Extractor`]) that turn each line into events (item, optional dimension, optional event
//! time) or a [`BadLine`] with a [`Reason`].
//!
//! # Examples
//!
//! ```
//! use topk_host::input::{Extractor, Format, FormatSpec, LineBatch, LineReader, ReadOptions, Scratch};
//!
//! let log = b"{\"client\":{\"ip\":\"10.0.0.1\"}}\n{\"client\":{}}\n";
//! let mut reader = LineReader::from_reader("example", &log[..], ReadOptions::default());
//! let extractor = Extractor::new(&FormatSpec::new(Format::Ndjson, "/client/ip")).unwrap();
//!
//! let mut batch = LineBatch::new();
//! reader.read_batch(&mut batch, 1024, 1 << 20).unwrap();
//! let mut scratch = Scratch::default();
//! let mut items = Vec::new();
//! let mut bad = Vec::new();
//! for line in batch.iter() {
//!     match extractor.extract(line.bytes, &mut scratch, |event| items.push(event.item.to_vec())) {
//!         Ok(_) => {}
//!         Err(error) => bad.push((line.offset, error.reason)),
//!     }
//! }
//! assert_eq!(items, [b"10.0.0.1".to_vec()]);
//! assert_eq!(bad, [(43, topk_host::input::Reason::MissingField)]);
//! ```

mod error;
mod format;
mod source;
mod time;

pub use error::{BadLine, Location, Reason, SpecError};
pub use format::{CombinedField, Event, Extractor, Format, FormatSpec, Outcome, Scratch, DEFAULT_TOKEN_PATTERN};
pub use source::{
    LineBatch, LineReader, LineRef, LineStatus, Position, ReadOptions, ReadStatus, SourceSet, DEFAULT_BATCH_BYTES,
    DEFAULT_MAX_LINE_BYTES,
};
pub use time::TimeFormat;
