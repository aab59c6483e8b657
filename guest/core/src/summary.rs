//! The unit topk counts into and exports: frequent items, distinct count, optional Count-Min,
//! and the metadata of the window they cover.

use alloc::vec::Vec;

use crate::batch::Batch;
use crate::count_min::CountMin;
use crate::error::Error;
use crate::frequent::{keep_top, ErrorType, FrequentItems, Row};
use crate::hash::hash_item;
use crate::hll::HyperLogLog;
use crate::snapshot::Metadata;

/// Items [`Summary::update_batch`] hashes ahead of counting them.
const HASH_BLOCK: usize = 64;

/// Parameters of a [`Summary`]. Two summaries merge only when their Count-Min shapes match.
///
/// # Examples
///
/// ```
/// use topk_sketch::Config;
///
/// let config = Config { max_map_size: 4096, ..Config::default() };
/// assert_eq!(config.hll_precision, 12);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Maximum map size of the frequent-items sketch: a power of two from 8 to 2^30. It tracks
    /// 3/4 of this many items, and its maximum error is at most `3.5 * total / max_map_size`.
    pub max_map_size: u32,
    /// HyperLogLog precision, 4 to 18: 2^p registers, relative error about `1.04 / sqrt(2^p)`.
    pub hll_precision: u8,
    /// Count-Min counters per row; 0 disables the Count-Min sketch.
    pub count_min_width: u32,
    /// Count-Min rows, 1 to 16 (ignored when the width is 0).
    pub count_min_depth: u8,
}

impl Default for Config {
    /// Map size 1024, HyperLogLog precision 12, no Count-Min.
    fn default() -> Self {
        Config { max_map_size: 1024, hll_precision: 12, count_min_width: 0, count_min_depth: 0 }
    }
}

/// A point estimate with its guaranteed bounds: `lower_bound <= true count <= upper_bound`.
///
/// # Examples
///
/// ```
/// use topk_sketch::{Config, Summary};
///
/// let mut summary = Summary::new(Config::default()).unwrap();
/// summary.update(b"a", 2).unwrap();
/// let estimate = summary.estimate(b"a");
/// assert_eq!((estimate.lower_bound, estimate.upper_bound), (2, 2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    /// Estimated count.
    pub estimate: u64,
    /// Guaranteed lower bound.
    pub lower_bound: u64,
    /// Guaranteed upper bound.
    pub upper_bound: u64,
}

/// Frequent items, distinct count and (optionally) Count-Min over one stream, with the
/// metadata of the window and sources it covers.
///
/// Every update hashes the item once and feeds all sketches. When Count-Min is enabled, upper
/// bounds are the smaller of the frequent-items and the Count-Min bound, both of which hold.
///
/// # Examples
///
/// ```
/// use topk_sketch::{Config, ErrorType, Summary};
///
/// let mut summary = Summary::new(Config::default()).unwrap();
/// for word in ["to", "be", "or", "not", "to", "be"] {
///     summary.update(word.as_bytes(), 1).unwrap();
/// }
/// let top = summary.top_k(2, ErrorType::NoFalseNegatives);
/// assert_eq!(top[0].item, b"be");
/// assert_eq!(top[1].item, b"to");
/// assert_eq!(summary.distinct().round(), 4.0);
/// ```
#[derive(Debug)]
pub struct Summary {
    config: Config,
    frequent: FrequentItems,
    distinct: HyperLogLog,
    count_min: Option<CountMin>,
    /// Window, dimension, watermark, sources and counters of what was counted.
    pub metadata: Metadata,
}

impl Summary {
    /// Creates an empty summary.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] naming the first parameter of `config` out of range.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::{Config, Summary};
    ///
    /// assert!(Summary::new(Config { max_map_size: 1000, ..Config::default() }).is_err());
    /// ```
    pub fn new(config: Config) -> Result<Self, Error> {
        let frequent = FrequentItems::new(config.max_map_size as usize)?;
        let distinct = HyperLogLog::new(config.hll_precision)?;
        let count_min = match config.count_min_width {
            0 => None,
            width => Some(CountMin::new(width, config.count_min_depth)?),
        };
        Ok(Summary { config, frequent, distinct, count_min, metadata: Metadata::default() })
    }

    pub(crate) fn from_parts(
        config: Config,
        frequent: FrequentItems,
        distinct: HyperLogLog,
        count_min: Option<CountMin>,
        metadata: Metadata,
    ) -> Self {
        Summary { config, frequent, distinct, count_min, metadata }
    }

    /// Returns the parameters this summary was created with.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::{Config, Summary};
    ///
    /// assert_eq!(Summary::new(Config::default()).unwrap().config(), Config::default());
    /// ```
    pub fn config(&self) -> Config {
        self.config
    }

    /// Returns the frequent-items sketch.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::{Config, Summary};
    ///
    /// assert_eq!(Summary::new(Config::default()).unwrap().frequent().max_map_size(), 1024);
    /// ```
    pub fn frequent(&self) -> &FrequentItems {
        &self.frequent
    }

    /// Returns the distinct-count estimator.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::{Config, Summary};
    ///
    /// assert_eq!(Summary::new(Config::default()).unwrap().hyperloglog().precision(), 12);
    /// ```
    pub fn hyperloglog(&self) -> &HyperLogLog {
        &self.distinct
    }

    /// Returns the Count-Min sketch, if enabled.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::{Config, Summary};
    ///
    /// assert!(Summary::new(Config::default()).unwrap().count_min().is_none());
    /// ```
    pub fn count_min(&self) -> Option<&CountMin> {
        self.count_min.as_ref()
    }

    /// Adds `weight` occurrences of `item`.
    ///
    /// # Errors
    ///
    /// [`Error::WeightOverflow`] if the total weight would exceed `u64::MAX`; nothing changes.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::{Config, Summary};
    ///
    /// let mut summary = Summary::new(Config::default()).unwrap();
    /// summary.update(b"a", u64::MAX).unwrap();
    /// assert!(summary.update(b"b", 1).is_err());
    /// ```
    pub fn update(&mut self, item: &[u8], weight: u64) -> Result<(), Error> {
        self.frequent.reserve(weight)?;
        self.apply(hash_item(item), item, weight);
        Ok(())
    }

    #[inline]
    fn apply(&mut self, hash: u64, item: &[u8], weight: u64) {
        if weight == 0 {
            return;
        }
        self.frequent.apply(hash, item, weight);
        self.distinct.update_hashed(hash);
        if let Some(count_min) = &mut self.count_min {
            count_min.update_hashed(hash, weight);
        }
    }

    /// Adds every item of a packed batch, or none of them.
    ///
    /// # Errors
    ///
    /// [`Error::WeightOverflow`] if the batch's weights, added to the total weight, would exceed
    /// `u64::MAX`; the summary is then unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::{Batch, Config, Summary};
    ///
    /// let mut summary = Summary::new(Config::default()).unwrap();
    /// summary.update_batch(&Batch::new(b"abb", &[1, 3], None).unwrap()).unwrap();
    /// assert_eq!(summary.estimate(b"bb").lower_bound, 1);
    ///
    /// let overflowing = Batch::new(b"ab", &[1, 2], Some(&[1, u64::MAX])).unwrap();
    /// assert!(summary.update_batch(&overflowing).is_err());
    /// assert_eq!(summary.total_weight(), 2);
    /// ```
    pub fn update_batch(&mut self, batch: &Batch<'_>) -> Result<(), Error> {
        let added = batch
            .total_weight()
            .ok_or(Error::WeightOverflow { total: self.total_weight(), added: u64::MAX })?;
        self.frequent.reserve(added)?;

        // Hash a block of items before counting them: the hashes do not depend on the table,
        // so they run back to back instead of restarting after each mispredicted probe.
        let mut block: [(&[u8], u64, u64); HASH_BLOCK] = [(&[], 0, 0); HASH_BLOCK];
        let mut items = batch.iter();
        loop {
            let mut filled = 0;
            for (slot, (item, weight)) in block.iter_mut().zip(&mut items) {
                *slot = (item, weight, hash_item(item));
                filled += 1;
            }
            for &(item, weight, hash) in &block[..filled] {
                self.apply(hash, item, weight);
            }
            if filled < HASH_BLOCK {
                return Ok(());
            }
        }
    }

    /// Returns the estimate and bounds of one item's count.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::{Config, Summary};
    ///
    /// let summary = Summary::new(Config::default()).unwrap();
    /// assert_eq!(summary.estimate(b"x").upper_bound, 0);
    /// ```
    pub fn estimate(&self, item: &[u8]) -> Estimate {
        let hash = hash_item(item);
        let lower_bound = self.frequent.lower_bound(item);
        let upper_bound = self.tighten(hash, lower_bound, self.frequent.upper_bound(item));
        let estimate = match lower_bound {
            0 => 0,
            _ => self.frequent.estimate(item).min(upper_bound),
        };
        Estimate { estimate, lower_bound, upper_bound }
    }

    /// Lowers a frequent-items upper bound to the Count-Min bound when that is smaller, but
    /// never below the lower bound: the two only disagree in a snapshot whose Count-Min
    /// counters were altered, and `lower_bound <= upper_bound` must hold even then.
    fn tighten(&self, hash: u64, lower_bound: u64, upper_bound: u64) -> u64 {
        match &self.count_min {
            Some(count_min) => upper_bound.min(count_min.estimate_hashed(hash)).max(lower_bound),
            None => upper_bound,
        }
    }

    /// Returns up to `k` rows sorted by estimate, as [`FrequentItems::top_k`] does, after
    /// tightening each upper bound (and so the estimate) by Count-Min when it is enabled.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::{Config, ErrorType, Summary};
    ///
    /// let summary = Summary::new(Config::default()).unwrap();
    /// assert!(summary.top_k(u32::MAX as usize, ErrorType::NoFalseNegatives).is_empty());
    /// ```
    pub fn top_k(&self, k: usize, error_type: ErrorType) -> Vec<Row<'_>> {
        if self.count_min.is_none() {
            return self.frequent.top_k(k, error_type);
        }

        // Tightening changes estimates, so rank after it: take every row, then keep the top k.
        let mut rows = self.frequent.top_k(usize::MAX, error_type);
        for row in &mut rows {
            row.upper_bound = self.tighten(hash_item(row.item), row.lower_bound, row.upper_bound);
            row.estimate = row.estimate.min(row.upper_bound);
        }
        keep_top(&mut rows, k);
        rows
    }

    /// Returns the estimated number of distinct items.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::{Config, Summary};
    ///
    /// assert_eq!(Summary::new(Config::default()).unwrap().distinct(), 0.0);
    /// ```
    pub fn distinct(&self) -> f64 {
        self.distinct.estimate()
    }

    /// Returns the sum of all weights added.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::{Config, Summary};
    ///
    /// assert_eq!(Summary::new(Config::default()).unwrap().total_weight(), 0);
    /// ```
    pub fn total_weight(&self) -> u64 {
        self.frequent.total_weight()
    }

    /// Returns the maximum error of any frequent-items count (0 while exact).
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::{Config, Summary};
    ///
    /// assert_eq!(Summary::new(Config::default()).unwrap().maximum_error(), 0);
    /// ```
    pub fn maximum_error(&self) -> u64 {
        self.frequent.maximum_error()
    }

    /// Merges `other` into this summary: counts add, errors add, distinct registers take the
    /// maximum, and the metadata combines (see [`Metadata::merge`]).
    ///
    /// # Errors
    ///
    /// [`Error::Incompatible`] if the Count-Min shapes or the dimensions differ, and
    /// [`Error::WeightOverflow`] if the total weight would exceed `u64::MAX`. On error this
    /// summary is unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::{Config, Summary};
    ///
    /// let mut a = Summary::new(Config::default()).unwrap();
    /// let mut b = Summary::new(Config { max_map_size: 64, ..Config::default() }).unwrap();
    /// a.update(b"x", 1).unwrap();
    /// b.update(b"x", 2).unwrap();
    /// a.merge(&b).unwrap();
    /// assert_eq!(a.estimate(b"x").lower_bound, 3);
    /// ```
    pub fn merge(&mut self, other: &Summary) -> Result<(), Error> {
        match (&self.count_min, &other.count_min) {
            (Some(ours), Some(theirs)) if (ours.width(), ours.depth()) != (theirs.width(), theirs.depth()) => {
                return Err(Error::incompatible(
                    "count-min shape",
                    alloc::format!("{} x {}", ours.width(), ours.depth()),
                    alloc::format!("{} x {}", theirs.width(), theirs.depth()),
                ));
            }
            (Some(_), None) if !other.frequent.is_empty() => {
                return Err(Error::incompatible("count-min", "enabled", "disabled"));
            }
            _ => {}
        }
        self.frequent.reserve(other.total_weight())?;
        let metadata = self.metadata.merged(&other.metadata, self.frequent.is_empty())?;

        self.frequent.merge(&other.frequent)?;
        self.distinct.merge(&other.distinct);
        self.config.hll_precision = self.distinct.precision();
        if let (Some(ours), Some(theirs)) = (&mut self.count_min, &other.count_min) {
            ours.merge(theirs)?;
        }
        self.metadata = metadata;
        Ok(())
    }

    /// Empties every sketch and the metadata, keeping the parameters.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::{Config, Summary};
    ///
    /// let mut summary = Summary::new(Config::default()).unwrap();
    /// summary.update(b"a", 1).unwrap();
    /// summary.reset();
    /// assert_eq!(summary.total_weight(), 0);
    /// ```
    pub fn reset(&mut self) {
        self.frequent.reset();
        self.distinct.reset();
        if let Some(count_min) = &mut self.count_min {
            count_min.reset();
        }
        self.metadata = Metadata::default();
    }
}
