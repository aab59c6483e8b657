//! Metadata that a snapshot records about the data it summarizes.

use alloc::vec::Vec;

use crate::error::Error;

/// An event-time window `[start, end)` in milliseconds since the Unix epoch.
///
/// # Examples
///
/// ```
/// use topk_sketch::snapshot::Window;
///
/// let hour = Window { start: 0, end: 3_600_000 };
/// assert_eq!(hour.union(&Window { start: 3_600_000, end: 7_200_000 }), Window { start: 0, end: 7_200_000 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Inclusive start, milliseconds since the Unix epoch.
    pub start: i64,
    /// Exclusive end, milliseconds since the Unix epoch.
    pub end: i64,
}

impl Window {
    /// Returns the smallest window that covers both.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::snapshot::Window;
    ///
    /// let a = Window { start: 10, end: 20 };
    /// assert_eq!(a.union(&Window { start: 5, end: 15 }), Window { start: 5, end: 20 });
    /// ```
    pub fn union(&self, other: &Window) -> Window {
        Window { start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

/// The field a summary is restricted to, and its value (for example `status` = `404`).
///
/// # Examples
///
/// ```
/// use topk_sketch::snapshot::Dimension;
///
/// let dimension = Dimension { name: b"status".to_vec(), value: b"404".to_vec() };
/// assert_eq!(dimension.value, b"404");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dimension {
    /// Name of the field, as the user selected it.
    pub name: Vec<u8>,
    /// The field's value shared by every counted event.
    pub value: Vec<u8>,
}

/// The range of offsets read from one source: a file, a stream or a Fluvio partition.
///
/// # Examples
///
/// ```
/// use topk_sketch::snapshot::SourceRange;
///
/// let range = SourceRange { source: b"partition-0".to_vec(), start: 0, end: 1000 };
/// assert_eq!(range.end - range.start, 1000);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRange {
    /// Name of the source.
    pub source: Vec<u8>,
    /// First offset counted (inclusive).
    pub start: u64,
    /// Offset after the last one counted (exclusive).
    pub end: u64,
}

/// Metadata carried in a snapshot's envelope next to the sketches.
///
/// # Examples
///
/// ```
/// use topk_sketch::snapshot::{Metadata, Window};
///
/// let metadata = Metadata { window: Some(Window { start: 0, end: 60_000 }), ..Metadata::default() };
/// assert_eq!(metadata.late_events, 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// Event-time window covered, if the summary is windowed.
    pub window: Option<Window>,
    /// Highest watermark seen, milliseconds since the Unix epoch.
    pub watermark: Option<i64>,
    /// Dimension the summary is restricted to, if any.
    pub dimension: Option<Dimension>,
    /// Offsets read per source, sorted by source name.
    pub sources: Vec<SourceRange>,
    /// Events that arrived after their window's watermark and were still counted.
    pub late_events: u64,
    /// Records that could not be parsed and were not counted.
    pub malformed_records: u64,
}

impl Metadata {
    /// Returns the metadata of two merged summaries: windows union, the highest watermark,
    /// offset ranges joined per source, counters added. `self_is_new` lets a summary that has
    /// counted nothing take the other's dimension.
    pub(crate) fn merged(&self, other: &Metadata, self_is_new: bool) -> Result<Metadata, Error> {
        let dimension = match (&self.dimension, &other.dimension) {
            (ours, theirs) if ours == theirs => ours.clone(),
            (None, theirs) if self_is_new => theirs.clone(),
            (ours, theirs) => {
                return Err(Error::incompatible("dimension", describe(ours), describe(theirs)));
            }
        };

        let window = match (self.window, other.window) {
            (Some(ours), Some(theirs)) => Some(ours.union(&theirs)),
            (ours, theirs) => ours.or(theirs),
        };
        let watermark = match (self.watermark, other.watermark) {
            (Some(ours), Some(theirs)) => Some(ours.max(theirs)),
            (ours, theirs) => ours.or(theirs),
        };

        let mut sources = self.sources.clone();
        for range in &other.sources {
            match sources.iter_mut().find(|ours| ours.source == range.source) {
                Some(ours) => {
                    ours.start = ours.start.min(range.start);
                    ours.end = ours.end.max(range.end);
                }
                None => sources.push(range.clone()),
            }
        }
        sources.sort_by(|a, b| a.source.cmp(&b.source));

        Ok(Metadata {
            window,
            watermark,
            dimension,
            sources,
            late_events: self.late_events.saturating_add(other.late_events),
            malformed_records: self.malformed_records.saturating_add(other.malformed_records),
        })
    }
}

fn describe(dimension: &Option<Dimension>) -> alloc::string::String {
    match dimension {
        Some(dimension) => alloc::format!(
            "{}={}",
            alloc::string::String::from_utf8_lossy(&dimension.name),
            alloc::string::String::from_utf8_lossy(&dimension.value)
        ),
        None => "no dimension".into(),
    }
}
