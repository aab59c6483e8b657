//! Errors of the input side: a bad line (counted per reason, never fatal) and a bad
//! configuration or header (fatal for its source).

use std::fmt;

/// Reason a line was not counted. The names are stable because they label the per-reason
/// metrics.
///
/// # Examples
///
/// ```
/// use topk_host::input::Reason;
///
/// assert_eq!(Reason::MissingField.as_str(), "missing_field");
/// assert_eq!(Reason::ALL.len(), 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The line does not have the structure of its format (bad JSON, unterminated quote,
    /// not a combined-log line).
    Malformed,
    /// A value that must be text (a JSON string, a line to tokenize, a time) is not UTF-8.
    InvalidUtf8,
    /// The line is longer than the configured maximum line length.
    LineTooLong,
    /// A selected field (item, dimension or time) is absent from the line.
    MissingField,
    /// The time field is present but is not a time in the configured format.
    InvalidTime,
}

impl Reason {
    /// Every reason, in the order of the enum.
    pub const ALL: [Reason; 5] =
        [Reason::Malformed, Reason::InvalidUtf8, Reason::LineTooLong, Reason::MissingField, Reason::InvalidTime];

    /// Returns the snake_case label used in metrics and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Malformed => "malformed",
            Reason::InvalidUtf8 => "invalid_utf8",
            Reason::LineTooLong => "line_too_long",
            Reason::MissingField => "missing_field",
            Reason::InvalidTime => "invalid_time",
        }
    }

    /// Returns the position of this reason in [`Reason::ALL`], for per-reason counter arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A line that was not counted: the reason (for metrics) and a message naming the field or
/// byte that failed.
///
/// # Examples
///
/// ```
/// use topk_host::input::{BadLine, Reason};
///
/// let error = BadLine::new(Reason::MissingField, "field `/ip` is missing");
/// assert_eq!(error.to_string(), "missing_field: field `/ip` is missing");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct BadLine {
    /// The category of the failure.
    pub reason: Reason,
    /// Description of the failure, naming the field or position.
    pub message: String,
}

impl BadLine {
    /// Creates a bad-line error with a reason and a message.
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        BadLine { reason, message: message.into() }
    }

    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        BadLine::new(Reason::Malformed, message)
    }

    pub(crate) fn missing(field: &str) -> Self {
        BadLine::new(Reason::MissingField, format!("field `{field}` is missing"))
    }
}

/// An invalid format specification or header: an unknown field name, a bad regular expression,
/// a CSV header without the selected column. The source cannot be read with this specification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SpecError(pub String);

impl SpecError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        SpecError(message.into())
    }
}

/// Position of a line in its source: its 1-based line number when known, and the byte offset
/// of its first byte. Displays as `line 17 (byte 2034)`, or `byte 2034` without a line number.
///
/// # Examples
///
/// ```
/// use topk_host::input::Location;
///
/// assert_eq!(Location { line: Some(17), byte: 2034 }.to_string(), "line 17 (byte 2034)");
/// assert_eq!(Location { line: None, byte: 2034 }.to_string(), "byte 2034");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Location {
    /// Line number, counted from 1 at the start of the file. A followed file counts from 1
    /// again after each rotation or truncation. `None` when reading started past the first
    /// line of a plain file, whose earlier lines were not counted.
    pub line: Option<u64>,
    /// Byte offset of the line's first byte (in decompressed bytes for a gzip file).
    pub byte: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line} (byte {})", self.byte),
            None => write!(f, "byte {}", self.byte),
        }
    }
}
