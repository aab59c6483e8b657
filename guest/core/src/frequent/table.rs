//! The open-addressing hash table behind [`FrequentItems`](super::FrequentItems).
//!
//! Linear probing over parallel arrays; a count of 0 marks an empty slot because tracked items
//! always have a positive count. The table never deletes single entries: a purge rebuilds it,
//! which keeps probing simple and costs O(table length) once per purge.

use alloc::vec;
use alloc::vec::Vec;

use crate::item::ItemBytes;

/// Smallest table: 2^3 = 8 slots, as in DataSketches.
pub(crate) const LG_MIN: u8 = 3;

/// Largest table: 2^30 slots, the cross-language limit of DataSketches (Java `int` sizes).
pub(crate) const LG_MAX: u8 = 30;

/// Counts sampled to pick a purge's median, as in DataSketches.
const PURGE_SAMPLE: usize = 1024;

/// Number of items a table of 2^`lg` slots holds before it grows or purges (load factor 3/4).
pub(crate) fn capacity_for(lg: u8) -> usize {
    (1usize << lg) / 4 * 3
}

pub(crate) struct Table {
    lg_len: u8,
    hashes: Vec<u64>,
    counts: Vec<u64>,
    items: Vec<ItemBytes>,
    active: usize,
}

impl Table {
    pub(crate) fn new(lg_len: u8) -> Self {
        let len = 1usize << lg_len;
        Table {
            lg_len,
            hashes: vec![0; len],
            counts: vec![0; len],
            items: vec![ItemBytes::EMPTY; len],
            active: 0,
        }
    }

    pub(crate) fn lg_len(&self) -> u8 {
        self.lg_len
    }

    pub(crate) fn active(&self) -> usize {
        self.active
    }

    pub(crate) fn capacity(&self) -> usize {
        capacity_for(self.lg_len)
    }

    /// Finds the slot of `item`: `Ok(slot)` if tracked, `Err(empty slot)` otherwise.
    #[inline]
    fn find(&self, hash: u64, item: &[u8]) -> Result<usize, usize> {
        let mask = (1usize << self.lg_len) - 1;
        let mut slot = (hash >> (64 - self.lg_len as u32)) as usize;
        loop {
            if self.counts[slot] == 0 {
                return Err(slot);
            }
            if self.hashes[slot] == hash && self.items[slot].as_slice() == item {
                return Ok(slot);
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Returns the count of `item`, or 0 when it is not tracked.
    #[inline]
    pub(crate) fn get(&self, hash: u64, item: &[u8]) -> u64 {
        match self.find(hash, item) {
            Ok(slot) => self.counts[slot],
            Err(_) => 0,
        }
    }

    /// Adds `weight` (> 0) to `item`, inserting it if absent. The caller has checked that the
    /// sum cannot overflow (every count is at most the sketch's total weight).
    #[inline]
    pub(crate) fn add(&mut self, hash: u64, item: &[u8], weight: u64) {
        match self.find(hash, item) {
            Ok(slot) => self.counts[slot] += weight,
            Err(slot) => self.put(slot, hash, ItemBytes::new(item), weight),
        }
    }

    /// Adds `weight` to an owned item; used when moving entries so no bytes are copied.
    fn add_owned(&mut self, hash: u64, item: ItemBytes, weight: u64) {
        match self.find(hash, item.as_slice()) {
            Ok(slot) => self.counts[slot] += weight,
            Err(slot) => self.put(slot, hash, item, weight),
        }
    }

    fn put(&mut self, slot: usize, hash: u64, item: ItemBytes, weight: u64) {
        self.hashes[slot] = hash;
        self.counts[slot] = weight;
        self.items[slot] = item;
        self.active += 1;
    }

    /// Iterates over the tracked entries in slot order as `(hash, item, count)`.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, &[u8], u64)> + '_ {
        (0..self.counts.len())
            .filter(|&slot| self.counts[slot] > 0)
            .map(|slot| (self.hashes[slot], self.items[slot].as_slice(), self.counts[slot]))
    }

    /// Rebuilds the table with 2^`lg_len` slots, keeping entries whose count exceeds `cut` and
    /// lowering each of them by `cut`.
    fn rebuild(&mut self, lg_len: u8, cut: u64) {
        let old_counts = core::mem::take(&mut self.counts);
        let old_hashes = core::mem::take(&mut self.hashes);
        let mut old_items = core::mem::take(&mut self.items);
        *self = Table::new(lg_len);

        for slot in 0..old_counts.len() {
            if old_counts[slot] > cut {
                let item = core::mem::replace(&mut old_items[slot], ItemBytes::EMPTY);
                self.add_owned(old_hashes[slot], item, old_counts[slot] - cut);
            }
        }
    }

    /// Doubles the number of slots.
    pub(crate) fn grow(&mut self) {
        self.rebuild(self.lg_len + 1, 0);
    }

    /// Lowers every count by the median of a sample of counts and drops those that reach 0.
    /// Returns the amount subtracted, which the sketch adds to its maximum error.
    ///
    /// Sampling the first 1024 tracked counts in slot order is deterministic, so the same stream
    /// gives the same sketch on every target.
    pub(crate) fn purge(&mut self) -> u64 {
        let mut sample: Vec<u64> = self.counts.iter().copied().filter(|&count| count > 0).take(PURGE_SAMPLE).collect();
        if sample.is_empty() {
            return 0;
        }
        let middle = sample.len() / 2;
        let (_, median, _) = sample.select_nth_unstable(middle);
        let median = *median;

        self.rebuild(self.lg_len, median);
        median
    }
}
