//! Packed batches: many items in one byte buffer, so a batch crosses a runtime boundary (the
//! component ABI, wasm-bindgen, Fluvio) as one copy and each item is borrowed, not allocated.

use crate::error::Error;

/// A validated batch of items packed into one buffer.
///
/// Item `i` is `data[ends[i - 1]..ends[i]]` (the first starts at 0), and its weight is
/// `weights[i]`, or 1 when there are no weights.
///
/// # Examples
///
/// ```
/// use topk_sketch::Batch;
///
/// let batch = Batch::new(b"GET /a/b", &[3, 6, 8], Some(&[1, 2, 3])).unwrap();
/// let items: Vec<_> = batch.iter().collect();
/// assert_eq!(items, vec![(&b"GET"[..], 1), (&b" /a"[..], 2), (&b"/b"[..], 3)]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    data: &'a [u8],
    ends: &'a [u32],
    weights: Option<&'a [u64]>,
}

impl<'a> Batch<'a> {
    /// Checks and wraps a packed batch.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] if an end offset decreases or passes the end of `data`, or if
    /// `weights` is given with a length other than `ends.len()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::Batch;
    ///
    /// assert!(Batch::new(b"ab", &[1, 3], None).is_err());
    /// assert!(Batch::new(b"ab", &[2, 1], None).is_err());
    /// assert!(Batch::new(b"ab", &[1, 2], Some(&[1])).is_err());
    /// ```
    pub fn new(data: &'a [u8], ends: &'a [u32], weights: Option<&'a [u64]>) -> Result<Self, Error> {
        let mut start = 0u32;
        for (index, &end) in ends.iter().enumerate() {
            if end < start || end as usize > data.len() {
                return Err(Error::invalid(
                    "item end offset",
                    alloc::format!("{end} at index {index} (previous end {start}, buffer length {})", data.len()),
                    "end offsets must not decrease and must not pass the buffer length",
                ));
            }
            start = end;
        }
        if let Some(weights) = weights {
            if weights.len() != ends.len() {
                return Err(Error::invalid(
                    "weights length",
                    weights.len(),
                    "there must be one weight per item, or no weights at all",
                ));
            }
        }
        Ok(Batch { data, ends, weights })
    }

    /// Returns the number of items.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(topk_sketch::Batch::new(b"ab", &[1, 2], None).unwrap().len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Returns true when the batch has no items.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(topk_sketch::Batch::new(b"", &[], None).unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Returns the sum of the weights, or `None` if it exceeds `u64::MAX`.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::Batch;
    ///
    /// assert_eq!(Batch::new(b"ab", &[1, 2], None).unwrap().total_weight(), Some(2));
    /// assert_eq!(Batch::new(b"ab", &[1, 2], Some(&[u64::MAX, 1])).unwrap().total_weight(), None);
    /// ```
    pub fn total_weight(&self) -> Option<u64> {
        match self.weights {
            None => Some(self.ends.len() as u64),
            Some(weights) => weights.iter().try_fold(0u64, |sum, &weight| sum.checked_add(weight)),
        }
    }

    /// Iterates over `(item, weight)` pairs in order.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::Batch;
    ///
    /// let batch = Batch::new(b"ab", &[1, 2], None).unwrap();
    /// assert_eq!(batch.iter().map(|(_, weight)| weight).sum::<u64>(), 2);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&'a [u8], u64)> + 'a {
        let data = self.data;
        let weights = self.weights;
        let mut start = 0usize;
        self.ends.iter().enumerate().map(move |(index, &end)| {
            let item = &data[start..end as usize];
            start = end as usize;
            (item, weights.map_or(1, |weights| weights[index]))
        })
    }
}
