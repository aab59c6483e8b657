//! The one error type of the sketch core.

use alloc::string::String;

/// Describes why a sketch operation or a snapshot decode failed.
///
/// Every variant names the offending value and, where there is one, the accepted range, so the
/// message can be shown to a user as it is.
///
/// # Examples
///
/// ```
/// use topk_sketch::{Error, FrequentItems};
///
/// let error = FrequentItems::new(100).unwrap_err();
/// assert!(matches!(error, Error::InvalidParameter { .. }));
/// assert!(error.to_string().contains("100"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A constructor or update argument is outside its accepted range.
    #[error("invalid {name} {value}: {expected}")]
    InvalidParameter {
        /// Name of the parameter.
        name: &'static str,
        /// The rejected value, formatted.
        value: String,
        /// Accepted range or form of the parameter.
        expected: &'static str,
    },

    /// Adding a weight would push the total weight past `u64::MAX`; nothing was applied.
    #[error(
        "weight overflow: total weight {total} plus {added} exceeds {max}; split the stream \
         across sketches and merge their bounds instead",
        max = u64::MAX
    )]
    WeightOverflow {
        /// Total weight before the rejected update.
        total: u64,
        /// Weight that would have been added.
        added: u64,
    },

    /// Two sketches cannot be merged because their parameters differ.
    #[error("cannot merge: {what} differs ({ours} here, {theirs} in the other sketch)")]
    Incompatible {
        /// Name of the parameter that differs.
        what: &'static str,
        /// Our value, formatted.
        ours: String,
        /// The other sketch's value, formatted.
        theirs: String,
    },

    /// The input ended before a field could be read.
    #[error("truncated input: {field} needs {needed} bytes at offset {offset}, but only {available} remain")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Byte offset of the field in the input.
        offset: usize,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the input.
        available: usize,
    },

    /// A field contains a value that a valid encoding never has.
    #[error("malformed input: {field} is {value}, but {expected}")]
    Malformed {
        /// The field that is wrong.
        field: &'static str,
        /// The value found, formatted.
        value: String,
        /// Value that a valid encoding contains there.
        expected: &'static str,
    },

    /// The stored checksum does not match the bytes.
    #[error("checksum mismatch: stored CRC32C {stored:#010x}, computed {computed:#010x}; the snapshot is corrupted")]
    Checksum {
        /// Checksum written in the snapshot.
        stored: u32,
        /// Checksum of the bytes as read.
        computed: u32,
    },
}

impl Error {
    pub(crate) fn invalid(name: &'static str, value: impl core::fmt::Display, expected: &'static str) -> Self {
        Error::InvalidParameter { name, value: alloc::format!("{value}"), expected }
    }

    pub(crate) fn malformed(field: &'static str, value: impl core::fmt::Display, expected: &'static str) -> Self {
        Error::Malformed { field, value: alloc::format!("{value}"), expected }
    }

    pub(crate) fn incompatible(what: &'static str, ours: impl core::fmt::Display, theirs: impl core::fmt::Display) -> Self {
        Error::Incompatible { what, ours: alloc::format!("{ours}"), theirs: alloc::format!("{theirs}") }
    }
}
