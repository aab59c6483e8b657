//! The frequent-items sketch (Misra-Gries with the DataSketches purge rule).

mod payload;
mod table;

use alloc::vec::Vec;

use crate::error::Error;
use crate::hash::hash_item;
use table::{capacity_for, Table, LG_MAX, LG_MIN};

/// Guarantee of [`FrequentItems::top_k`] about the rows it leaves out or keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    /// Keep every item whose upper bound exceeds the maximum error: no item with a true count
    /// above the maximum error is missing, but some rows may be below it.
    NoFalseNegatives,
    /// Keep only items whose lower bound exceeds the maximum error: every row is truly above it,
    /// but some such items may be missing.
    NoFalsePositives,
}

/// One item of a [`FrequentItems::top_k`] result with its bounds.
///
/// `lower_bound <= true count <= upper_bound` always holds. `estimate` follows DataSketches and
/// equals the upper bound of a tracked item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row<'a> {
    /// The item's bytes, exactly as they were counted.
    pub item: &'a [u8],
    /// Estimated count: the tracked count plus the maximum error.
    pub estimate: u64,
    /// Guaranteed lower bound on the true count.
    pub lower_bound: u64,
    /// Guaranteed upper bound on the true count.
    pub upper_bound: u64,
}

/// A mergeable frequent-items sketch over byte-string items.
///
/// Tracks at most 3/4 of `max_map_size` items. While fewer distinct items than that have been
/// seen, every count is exact and [`maximum_error`](Self::maximum_error) is 0. Beyond that, a
/// purge lowers all counts by their median and adds it to the maximum error, so for any item
/// `lower_bound <= true count <= upper_bound` and `upper_bound - lower_bound <= maximum_error`,
/// with `maximum_error <= 3.5 * total_weight / max_map_size` (the DataSketches bound).
///
/// Updates take O(1) amortized time whatever the weight. Counts are `u64`; an update that would
/// push the total weight past `u64::MAX` is rejected with [`Error::WeightOverflow`].
///
/// # Examples
///
/// ```
/// use topk_sketch::FrequentItems;
///
/// let mut sketch = FrequentItems::new(8).unwrap();
/// sketch.update(b"GET /", 3).unwrap();
/// assert_eq!(sketch.estimate(b"GET /"), 3);
/// assert_eq!(sketch.maximum_error(), 0);
/// ```
pub struct FrequentItems {
    lg_max: u8,
    table: Table,
    offset: u64,
    total: u64,
}

impl FrequentItems {
    /// Creates an empty sketch that tracks up to 3/4 of `max_map_size` items.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] unless `max_map_size` is a power of two from 8 to 2^30.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::FrequentItems;
    ///
    /// assert_eq!(FrequentItems::new(1024).unwrap().max_map_size(), 1024);
    /// assert!(FrequentItems::new(1000).is_err());
    /// ```
    pub fn new(max_map_size: usize) -> Result<Self, Error> {
        if !max_map_size.is_power_of_two() || max_map_size < (1 << LG_MIN) || max_map_size > (1 << LG_MAX) {
            return Err(Error::invalid("max_map_size", max_map_size, "must be a power of two from 8 to 2^30"));
        }
        Ok(Self::with_lg(max_map_size.trailing_zeros() as u8, LG_MIN))
    }

    fn with_lg(lg_max: u8, lg_cur: u8) -> Self {
        FrequentItems { lg_max, table: Table::new(lg_cur), offset: 0, total: 0 }
    }

    /// Adds `weight` occurrences of `item`. A weight of 0 changes nothing.
    ///
    /// # Errors
    ///
    /// [`Error::WeightOverflow`] if the total weight would exceed `u64::MAX`; the sketch is then
    /// unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::FrequentItems;
    ///
    /// let mut sketch = FrequentItems::new(8).unwrap();
    /// sketch.update(b"x", u64::MAX).unwrap();
    /// assert!(sketch.update(b"x", 1).is_err());
    /// assert_eq!(sketch.total_weight(), u64::MAX);
    /// ```
    pub fn update(&mut self, item: &[u8], weight: u64) -> Result<(), Error> {
        self.update_hashed(hash_item(item), item, weight)
    }

    /// Adds `weight` occurrences of `item` whose [`hash_item`] value the caller already has.
    pub(crate) fn update_hashed(&mut self, hash: u64, item: &[u8], weight: u64) -> Result<(), Error> {
        self.reserve(weight)?;
        self.apply(hash, item, weight);
        Ok(())
    }

    /// Checks that `weight` more fits in the total weight.
    pub(crate) fn reserve(&self, weight: u64) -> Result<(), Error> {
        match self.total.checked_add(weight) {
            Some(_) => Ok(()),
            None => Err(Error::WeightOverflow { total: self.total, added: weight }),
        }
    }

    /// Adds a weight already checked by [`reserve`](Self::reserve).
    #[inline]
    pub(crate) fn apply(&mut self, hash: u64, item: &[u8], weight: u64) {
        if weight == 0 {
            return;
        }
        self.total += weight;
        self.table.add(hash, item, weight);
        self.make_room();
    }

    /// Grows the table, or purges it at its maximum size, once it contains more than its capacity.
    #[inline]
    fn make_room(&mut self) {
        if self.table.active() > self.table.capacity() {
            if self.table.lg_len() < self.lg_max {
                self.table.grow();
            } else {
                // The purge removes at least half of the items, so its cost, O(table length),
                // is spread over that many later inserts: O(1) amortized per update.
                self.offset += self.table.purge();
            }
        }
    }

    /// Returns the estimated count of `item`: its tracked count plus the maximum error, or 0 when
    /// it is not tracked (as DataSketches defines it).
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::FrequentItems;
    ///
    /// let mut sketch = FrequentItems::new(8).unwrap();
    /// sketch.update(b"a", 2).unwrap();
    /// assert_eq!(sketch.estimate(b"a"), 2);
    /// assert_eq!(sketch.estimate(b"b"), 0);
    /// ```
    pub fn estimate(&self, item: &[u8]) -> u64 {
        match self.table.get(hash_item(item), item) {
            0 => 0,
            count => count.saturating_add(self.offset),
        }
    }

    /// Returns a guaranteed lower bound on the true count of `item` (0 when it is not tracked).
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::FrequentItems;
    ///
    /// let mut sketch = FrequentItems::new(8).unwrap();
    /// sketch.update(b"a", 2).unwrap();
    /// assert_eq!(sketch.lower_bound(b"a"), 2);
    /// ```
    pub fn lower_bound(&self, item: &[u8]) -> u64 {
        self.table.get(hash_item(item), item)
    }

    /// Returns a guaranteed upper bound on the true count of `item`: its tracked count (0 when
    /// not tracked) plus the maximum error.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::FrequentItems;
    ///
    /// let sketch = FrequentItems::new(8).unwrap();
    /// assert_eq!(sketch.upper_bound(b"never seen"), 0);
    /// ```
    pub fn upper_bound(&self, item: &[u8]) -> u64 {
        self.lower_bound(item).saturating_add(self.offset)
    }

    /// Returns the maximum error of any count: the sum of all purge decrements (and of the
    /// maximum errors of merged sketches). It is 0 while the sketch is exact.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::FrequentItems;
    ///
    /// let mut sketch = FrequentItems::new(8).unwrap();
    /// for item in [b"1", b"2", b"3", b"4", b"5", b"6", b"7"] {
    ///     sketch.update(item, 1).unwrap();
    /// }
    /// assert_eq!(sketch.maximum_error(), 1);
    /// ```
    pub fn maximum_error(&self) -> u64 {
        self.offset
    }

    /// Returns the sum of all weights added, directly or through merges.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::FrequentItems;
    ///
    /// let mut sketch = FrequentItems::new(8).unwrap();
    /// sketch.update(b"a", 5).unwrap();
    /// assert_eq!(sketch.total_weight(), 5);
    /// ```
    pub fn total_weight(&self) -> u64 {
        self.total
    }

    /// Returns true when nothing has been added (total weight 0).
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::FrequentItems;
    ///
    /// assert!(FrequentItems::new(8).unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Returns the number of items currently tracked.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::FrequentItems;
    ///
    /// let mut sketch = FrequentItems::new(8).unwrap();
    /// sketch.update(b"a", 1).unwrap();
    /// assert_eq!(sketch.active_items(), 1);
    /// ```
    pub fn active_items(&self) -> usize {
        self.table.active()
    }

    /// Returns the configured maximum map size (a power of two).
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::FrequentItems;
    ///
    /// assert_eq!(FrequentItems::new(64).unwrap().max_map_size(), 64);
    /// ```
    pub fn max_map_size(&self) -> usize {
        1 << self.lg_max
    }

    /// Returns the number of items tracked at most before a purge: 3/4 of the maximum map size.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::FrequentItems;
    ///
    /// assert_eq!(FrequentItems::new(8).unwrap().capacity(), 6);
    /// ```
    pub fn capacity(&self) -> usize {
        capacity_for(self.lg_max)
    }

    /// Returns up to `k` rows sorted by estimate (highest first, ties by item bytes), filtered
    /// by `error_type` against the maximum error. Allocates for at most the tracked items,
    /// whatever `k` is.
    ///
    /// With [`ErrorType::NoFalseNegatives`] and `k` at least the number of tracked items, every
    /// item whose true count exceeds the maximum error is in the result.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::{ErrorType, FrequentItems};
    ///
    /// let mut sketch = FrequentItems::new(8).unwrap();
    /// sketch.update(b"a", 1).unwrap();
    /// sketch.update(b"b", 2).unwrap();
    /// let rows = sketch.top_k(usize::MAX, ErrorType::NoFalseNegatives);
    /// assert_eq!(rows.len(), 2);
    /// assert_eq!(rows[0].item, b"b");
    /// ```
    pub fn top_k(&self, k: usize, error_type: ErrorType) -> Vec<Row<'_>> {
        let threshold = self.offset;
        let mut rows: Vec<Row<'_>> = self
            .table
            .iter()
            .map(|(_, item, count)| Row {
                item,
                estimate: count.saturating_add(self.offset),
                lower_bound: count,
                upper_bound: count.saturating_add(self.offset),
            })
            .filter(|row| match error_type {
                ErrorType::NoFalseNegatives => row.upper_bound > threshold,
                ErrorType::NoFalsePositives => row.lower_bound > threshold,
            })
            .collect();

        keep_top(&mut rows, k);
        rows
    }

    /// Iterates over the tracked items and their tracked counts (the lower bounds), in the
    /// sketch's internal order.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::FrequentItems;
    ///
    /// let mut sketch = FrequentItems::new(8).unwrap();
    /// sketch.update(b"a", 4).unwrap();
    /// assert_eq!(sketch.iter().collect::<Vec<_>>(), vec![(&b"a"[..], 4)]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], u64)> + '_ {
        self.table.iter().map(|(_, item, count)| (item, count))
    }

    /// Adds every count of `other` into this sketch. The sketches may have different maximum
    /// map sizes; this one keeps its own. The maximum errors add up, so the bounds of the result
    /// hold for the combined stream.
    ///
    /// # Errors
    ///
    /// [`Error::WeightOverflow`] if the combined total weight would exceed `u64::MAX`; this
    /// sketch is then unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::FrequentItems;
    ///
    /// let mut a = FrequentItems::new(8).unwrap();
    /// let mut b = FrequentItems::new(64).unwrap();
    /// a.update(b"x", 1).unwrap();
    /// b.update(b"x", 2).unwrap();
    /// a.merge(&b).unwrap();
    /// assert_eq!(a.lower_bound(b"x"), 3);
    /// ```
    pub fn merge(&mut self, other: &FrequentItems) -> Result<(), Error> {
        self.reserve(other.total)?;
        if other.is_empty() {
            return Ok(());
        }

        let merged_total = self.total + other.total;
        for (hash, item, count) in other.table.iter_scattered() {
            self.apply(hash, item, count);
        }

        // Purges during the loop already raised `offset`; the other sketch's error adds on top.
        // Its tracked counts sum to at most its total, so restore the exact combined total.
        self.offset = self.offset.saturating_add(other.offset);
        self.total = merged_total;
        Ok(())
    }

    /// Removes every item and resets the counts, keeping the maximum map size.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::FrequentItems;
    ///
    /// let mut sketch = FrequentItems::new(8).unwrap();
    /// sketch.update(b"a", 1).unwrap();
    /// sketch.reset();
    /// assert!(sketch.is_empty());
    /// ```
    pub fn reset(&mut self) {
        *self = Self::with_lg(self.lg_max, LG_MIN);
    }
}

/// Keeps the `k` highest rows of `rows`, sorted by estimate (highest first), ties by item bytes.
pub(crate) fn keep_top(rows: &mut Vec<Row<'_>>, k: usize) {
    let by_rank = |a: &Row<'_>, b: &Row<'_>| b.estimate.cmp(&a.estimate).then_with(|| a.item.cmp(b.item));
    if k < rows.len() {
        rows.select_nth_unstable_by(k, by_rank);
        rows.truncate(k);
    }
    rows.sort_unstable_by(by_rank);
}

impl core::fmt::Debug for FrequentItems {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FrequentItems")
            .field("max_map_size", &self.max_map_size())
            .field("active_items", &self.active_items())
            .field("total_weight", &self.total)
            .field("maximum_error", &self.offset)
            .finish()
    }
}
