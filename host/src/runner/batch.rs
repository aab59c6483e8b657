//! The packed batch layout of `update-batch`: one byte buffer, item end offsets and optional
//! weights, so a whole batch crosses the component boundary as one copy.

/// Why an item could not be added to a [`PackedBatch`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackedBatchError {
    /// The buffer would pass `u32::MAX` bytes, the largest offset `update-batch` takes.
    #[error("packed batch is full: adding {item_len} bytes to {buffered} would pass the 4 GiB offset limit; send the batch first")]
    Full {
        /// Bytes already in the buffer.
        buffered: usize,
        /// Length of the rejected item.
        item_len: usize,
    },
}

/// Items packed the way `update-batch` takes them: item `i` is `data[ends[i-1]..ends[i]]` (the
/// first starts at 0) with weight `weights[i]`, or 1 when there are no weights.
///
/// The weights vector is created on the first [`push_weighted`](Self::push_weighted) with a
/// weight other than 1, so an unweighted batch sends `none`.
///
/// # Examples
///
/// ```
/// use topk_host::runner::PackedBatch;
///
/// let mut batch = PackedBatch::new();
/// batch.push(b"10.0.0.1").unwrap();
/// batch.push_weighted(b"10.0.0.2", 3).unwrap();
/// assert_eq!(batch.len(), 2);
/// assert_eq!(batch.data(), b"10.0.0.110.0.0.2");
/// assert_eq!(batch.ends(), &[8, 16]);
/// assert_eq!(batch.weights(), Some(&[1, 3][..]));
/// assert_eq!(batch.item(1), Some(&b"10.0.0.2"[..]));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackedBatch {
    data: Vec<u8>,
    ends: Vec<u32>,
    weights: Option<Vec<u64>>,
}

impl PackedBatch {
    /// Creates an empty batch.
    pub fn new() -> Self {
        PackedBatch::default()
    }

    /// Creates an empty batch with room for `items` items of `bytes` bytes in total.
    pub fn with_capacity(items: usize, bytes: usize) -> Self {
        PackedBatch {
            data: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(items),
            weights: None,
        }
    }

    /// Appends one occurrence of `item`.
    ///
    /// # Errors
    ///
    /// [`PackedBatchError::Full`] when the buffer would pass `u32::MAX` bytes; the batch is
    /// unchanged and can be sent before the item is pushed again.
    pub fn push(&mut self, item: &[u8]) -> Result<(), PackedBatchError> {
        self.push_weighted(item, 1)
    }

    /// Appends `item` with `weight` occurrences.
    ///
    /// # Errors
    ///
    /// [`PackedBatchError::Full`] when the buffer would pass `u32::MAX` bytes.
    pub fn push_weighted(&mut self, item: &[u8], weight: u64) -> Result<(), PackedBatchError> {
        let end = self.data.len() + item.len();
        if end > u32::MAX as usize {
            return Err(PackedBatchError::Full {
                buffered: self.data.len(),
                item_len: item.len(),
            });
        }

        if weight != 1 && self.weights.is_none() {
            self.weights = Some(vec![1; self.ends.len()]);
        }
        self.data.extend_from_slice(item);
        self.ends.push(end as u32);
        if let Some(weights) = &mut self.weights {
            weights.push(weight);
        }
        Ok(())
    }

    /// Returns the number of items.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Returns true when the batch has no item.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Returns the number of item bytes buffered.
    pub fn byte_len(&self) -> usize {
        self.data.len()
    }

    /// Returns the concatenated item bytes.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Returns the end offset of every item in [`data`](Self::data).
    pub fn ends(&self) -> &[u32] {
        &self.ends
    }

    /// Returns the weights, or `None` when every weight is 1.
    pub fn weights(&self) -> Option<&[u64]> {
        self.weights.as_deref()
    }

    /// Returns item `index`, or `None` past the end.
    pub fn item(&self, index: usize) -> Option<&[u8]> {
        let end = *self.ends.get(index)? as usize;
        let start = if index == 0 {
            0
        } else {
            self.ends[index - 1] as usize
        };
        Some(&self.data[start..end])
    }

    /// Returns the sum of the weights.
    pub fn total_weight(&self) -> u64 {
        match &self.weights {
            Some(weights) => weights
                .iter()
                .fold(0u64, |sum, weight| sum.saturating_add(*weight)),
            None => self.ends.len() as u64,
        }
    }

    /// Empties the batch and keeps its buffers for reuse.
    pub fn clear(&mut self) {
        self.data.clear();
        self.ends.clear();
        self.weights = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_appear_on_first_heavy_item() {
        let mut batch = PackedBatch::new();
        batch.push(b"a").unwrap();
        batch.push(b"").unwrap();
        assert_eq!(batch.weights(), None);
        assert_eq!(batch.total_weight(), 2);

        batch.push_weighted(b"bc", 5).unwrap();
        assert_eq!(batch.weights(), Some(&[1, 1, 5][..]));
        assert_eq!(batch.item(1), Some(&b""[..]));
        assert_eq!(batch.item(2), Some(&b"bc"[..]));
        assert_eq!(batch.item(3), None);
        assert_eq!(batch.total_weight(), 7);

        batch.clear();
        assert!(batch.is_empty());
        assert_eq!(batch.weights(), None);
    }
}
