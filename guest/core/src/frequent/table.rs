//! The open-addressing hash table behind [`FrequentItems`](super::FrequentItems).
//!
//! Linear probing; a count of 0 marks an empty slot because tracked items always have a
//! positive count. Each slot's hash and count sit together in one array, so a probe reads one
//! cache line, and the item bytes sit in a second array that is read only on a hash match.
//!
//! The layout is a function of the entries and the order they were inserted in, and every
//! rebuild reinserts in *cluster order* (slot order starting after an empty slot). Inserting a
//! table's entries in cluster order into an empty table of the same size recreates the same
//! layout, so an encoded and decoded sketch keeps its slots and behaves as the original.

use alloc::vec;
use alloc::vec::Vec;

use crate::item::ItemBytes;

/// Smallest table: 2^3 = 8 slots, as in DataSketches.
pub(crate) const LG_MIN: u8 = 3;

/// Largest table: 2^30 slots, the cross-language limit of DataSketches (Java `int` sizes).
pub(crate) const LG_MAX: u8 = 30;

/// Counts sampled to pick a purge's median, as in DataSketches.
const PURGE_SAMPLE: usize = 1024;

/// Number of items a table of 2^`lg` slots stores before it grows or purges (load factor 3/4).
pub(crate) fn capacity_for(lg: u8) -> usize {
    (1usize << lg) / 4 * 3
}

/// A slot's hash and count; count 0 means the slot is empty.
#[derive(Clone, Copy, Default)]
struct Entry {
    hash: u64,
    count: u64,
}

pub(crate) struct Table {
    lg_len: u8,
    entries: Vec<Entry>,
    items: Vec<ItemBytes>,
    active: usize,
    /// Tracked items longer than the inline size, whose bytes are on the heap.
    heap_items: usize,
    /// Scratch space for the purge sample, kept so that a purge does not allocate.
    sample: Vec<u64>,
    /// Scratch space for the slots that survive a purge.
    survivors: Vec<u32>,
}

impl Table {
    pub(crate) fn new(lg_len: u8) -> Self {
        let len = 1usize << lg_len;
        Table {
            lg_len,
            entries: vec![Entry::default(); len],
            items: vec![ItemBytes::EMPTY; len],
            active: 0,
            heap_items: 0,
            sample: Vec::new(),
            survivors: Vec::new(),
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

    #[inline]
    fn mask(&self) -> usize {
        self.entries.len() - 1
    }

    /// Slot where the probe for `hash` starts.
    #[inline]
    fn home(&self, hash: u64) -> usize {
        (hash >> (64 - self.lg_len as u32)) as usize
    }

    /// Finds the slot of `item`: `Ok(slot)` if tracked, `Err(empty slot)` otherwise.
    #[inline(always)]
    fn find(&self, hash: u64, item: &[u8]) -> Result<usize, usize> {
        let mask = self.mask();
        let mut slot = self.home(hash);
        loop {
            let entry = self.entries[slot];
            if entry.count == 0 {
                return Err(slot);
            }
            if entry.hash == hash && self.items[slot].matches(item) {
                return Ok(slot);
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Returns the first empty slot at or after the home of `hash`.
    #[inline]
    fn first_empty(&self, hash: u64) -> usize {
        let mask = self.mask();
        let mut slot = self.home(hash);
        while self.entries[slot].count != 0 {
            slot = (slot + 1) & mask;
        }
        slot
    }

    /// Returns the count of `item`, or 0 when it is not tracked.
    #[inline]
    pub(crate) fn get(&self, hash: u64, item: &[u8]) -> u64 {
        match self.find(hash, item) {
            Ok(slot) => self.entries[slot].count,
            Err(_) => 0,
        }
    }

    /// Adds `weight` (> 0) to `item`, inserting it if absent. The caller has checked that the
    /// sum cannot overflow (every count is at most the sketch's total weight).
    #[inline(always)]
    pub(crate) fn add(&mut self, hash: u64, item: &[u8], weight: u64) {
        match self.find(hash, item) {
            Ok(slot) => self.entries[slot].count += weight,
            Err(slot) => {
                self.entries[slot] = Entry { hash, count: weight };
                self.items[slot].assign(item);
                self.active += 1;
                self.heap_items += usize::from(self.items[slot].is_heap());
            }
        }
    }

    /// Returns a slot that was empty, where cluster order starts. Every table has one because
    /// it contains at most 3/4 of its slots plus the one item that triggers a purge or growth.
    fn empty_slot(&self) -> usize {
        self.entries.iter().position(|entry| entry.count == 0).unwrap_or(0)
    }

    /// Iterates over the slot numbers of the tracked entries in cluster order.
    fn slots(&self) -> impl Iterator<Item = usize> + '_ {
        let start = self.empty_slot();
        let mask = self.mask();
        (1..=self.entries.len()).map(move |step| (start + step) & mask).filter(move |&slot| self.entries[slot].count > 0)
    }

    /// Iterates over the tracked entries in cluster order as `(hash, item, count)`.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, &[u8], u64)> + '_ {
        self.slots().map(|slot| (self.entries[slot].hash, self.items[slot].as_slice(), self.entries[slot].count))
    }

    /// Iterates over the tracked entries in a scattered order as `(hash, item, count)`.
    ///
    /// Merging reinserts entries into a table of another size, where cluster order (sorted by
    /// home slot) would fill one region at a time and build probe runs that grow with every
    /// insert: merging 786,000 items into a 200,000-item sketch took 19 s that way. Visiting
    /// slot `i * STRIDE mod len` (odd STRIDE, so a permutation) spreads the homes evenly. The
    /// arithmetic is in u64, so the order is the same on 32-bit and 64-bit targets.
    pub(crate) fn iter_scattered(&self) -> impl Iterator<Item = (u64, &[u8], u64)> + '_ {
        const STRIDE: u64 = 0x9E37_79B9_7F4A_7C15;
        let mask = self.mask() as u64;
        (0..self.entries.len() as u64)
            .map(move |step| (step.wrapping_mul(STRIDE) & mask) as usize)
            .filter(move |&slot| self.entries[slot].count > 0)
            .map(move |slot| (self.entries[slot].hash, self.items[slot].as_slice(), self.entries[slot].count))
    }

    /// Doubles the number of slots, reinserting the entries in cluster order.
    pub(crate) fn grow(&mut self) {
        let start = self.empty_slot();
        let old_mask = self.mask();
        let old_entries = core::mem::take(&mut self.entries);
        let mut old_items = core::mem::take(&mut self.items);
        *self = Table {
            heap_items: self.heap_items,
            sample: core::mem::take(&mut self.sample),
            survivors: core::mem::take(&mut self.survivors),
            ..Table::new(self.lg_len + 1)
        };

        for step in 1..=old_entries.len() {
            let slot = (start + step) & old_mask;
            let entry = old_entries[slot];
            if entry.count > 0 {
                let target = self.first_empty(entry.hash);
                self.entries[target] = entry;
                self.items[target] = core::mem::replace(&mut old_items[slot], ItemBytes::EMPTY);
                self.active += 1;
            }
        }
    }

    /// Lowers every count by the median of a sample of counts and drops those that reach 0.
    /// Returns the amount subtracted, which the sketch adds to its maximum error.
    ///
    /// Sampling the first 1024 tracked counts in slot order is deterministic, so the same stream
    /// gives the same sketch on every target.
    pub(crate) fn purge(&mut self) -> u64 {
        let mut sample = core::mem::take(&mut self.sample);
        let len = collect_sample(&self.entries, &mut sample);
        if len == 0 {
            self.sample = sample;
            return 0;
        }
        let median = median_of(&mut sample[..len]);
        self.sample = sample;

        self.lower_in_place(median);
        median
    }

    /// Drops the entries whose count is at most `cut`, lowers the others by `cut`, and moves
    /// each survivor to the first empty slot from its home.
    ///
    /// Walking in cluster order from a slot that was empty keeps every probe path intact. No
    /// entry's path crosses that slot, and an entry only moves back into a hole on its own
    /// path, behind every entry already placed. The result is the layout of reinserting the
    /// survivors in cluster order into an empty table, without allocating.
    fn lower_in_place(&mut self, cut: u64) {
        let start = self.empty_slot();
        let mask = self.mask();

        // Lower every count and list the surviving slots in slot order, both without a branch
        // per slot. The list has room for one more slot than can survive, so every slot is
        // written and kept only when its count stays positive.
        let mut survivors = core::mem::take(&mut self.survivors);
        survivors.resize(self.capacity() + 2, 0);
        let mut kept = 0;
        for (slot, entry) in self.entries.iter_mut().enumerate() {
            entry.count = entry.count.saturating_sub(cut);
            survivors[kept] = slot as u32;
            kept += usize::from(entry.count > 0);
        }
        self.active = kept;
        if self.heap_items > 0 {
            self.free_dropped_heap_items();
        }

        // Survivors after `start` come first in cluster order, then those up to it.
        let split = survivors[..kept].partition_point(|&slot| slot as usize <= start);
        let (up_to_start, after_start) = survivors[..kept].split_at(split);
        for &slot in after_start.iter().chain(up_to_start) {
            let slot = slot as usize;
            let mut target = self.home(self.entries[slot].hash);
            while target != slot && self.entries[target].count != 0 {
                target = (target + 1) & mask;
            }
            if target != slot {
                self.entries[target] = self.entries[slot];
                self.entries[slot].count = 0;
                self.items.swap(target, slot);
            }
        }
        self.survivors = survivors;
    }

    /// Frees the bytes of the long items whose slots a purge emptied. Short items are inline,
    /// and the next insert into their slot overwrites them.
    fn free_dropped_heap_items(&mut self) {
        for (entry, item) in self.entries.iter().zip(self.items.iter_mut()) {
            if entry.count == 0 && item.is_heap() {
                *item = ItemBytes::EMPTY;
                self.heap_items -= 1;
            }
        }
    }
}

/// Copies the first [`PURGE_SAMPLE`] positive counts of `entries`, in slot order, to the start
/// of `sample` and returns how many there are.
fn collect_sample(entries: &[Entry], sample: &mut Vec<u64>) -> usize {
    // One spare element lets every count be written unconditionally and kept only when
    // positive, which avoids a hard-to-predict branch per slot.
    sample.resize(PURGE_SAMPLE + 1, 0);
    let mut len = 0;
    for entry in entries {
        sample[len] = entry.count;
        len += usize::from(entry.count > 0);
        if len == PURGE_SAMPLE {
            break;
        }
    }
    len
}

/// Counts below this are ranked with a histogram instead of a selection.
const SMALL_COUNTS: usize = 64;

/// Returns the element of rank `len / 2` (0-based) in `counts`, the median DataSketches uses.
///
/// On skewed streams most counts at purge time are small, so a histogram of the counts below
/// 64 usually finds the median in one pass. Otherwise a selection finds it.
fn median_of(counts: &mut [u64]) -> u64 {
    let middle = counts.len() / 2;

    // Four interleaved histograms, because most counts are equal and increments of one bucket
    // would otherwise wait for each other through memory.
    let mut histograms = [[0u32; SMALL_COUNTS + 1]; 4];
    let mut chunks = counts.chunks_exact(4);
    for chunk in &mut chunks {
        for (histogram, &count) in histograms.iter_mut().zip(chunk) {
            histogram[(count as usize).min(SMALL_COUNTS)] += 1;
        }
    }
    for &count in chunks.remainder() {
        histograms[0][(count as usize).min(SMALL_COUNTS)] += 1;
    }

    let mut below = 0;
    for count in 0..SMALL_COUNTS {
        below += histograms.iter().map(|histogram| histogram[count] as usize).sum::<usize>();
        if below > middle {
            return count as u64;
        }
    }

    let (_, median, _) = counts.select_nth_unstable(middle);
    *median
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns the occupied slots as `(slot, hash, count, item)`.
    fn layout(table: &Table) -> Vec<(usize, u64, u64, Vec<u8>)> {
        (0..table.entries.len())
            .filter(|&slot| table.entries[slot].count > 0)
            .map(|slot| (slot, table.entries[slot].hash, table.entries[slot].count, table.items[slot].as_slice().to_vec()))
            .collect()
    }

    #[test]
    fn purge_in_place_matches_rebuild() {
        let mut state = 0u64;
        let mut next = move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let z = (state ^ (state >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z ^ (z >> 29)
        };
        for round in 0..500u32 {
            let lg = 3 + (round % 5) as u8;
            let mut table = Table::new(lg);
            // Long items on some rounds, so dropped heap items are freed too.
            let long = round % 3 == 0;
            for id in 0..=capacity_for(lg) as u32 {
                let mut item = id.to_le_bytes().to_vec();
                if long && id % 2 == 0 {
                    item.resize(30, b'x');
                }
                // On odd rounds three home slots around the end make long clusters that wrap.
                let len = 1u64 << lg;
                let home = match round % 2 {
                    0 => next() >> (64 - lg),
                    _ => (len - 2 + next() % 3) % len,
                };
                let hash = (home << (64 - lg)) | (next() >> lg);
                table.add(hash, &item, 1 + next() % 4);
            }
            let cut = next() % 4;

            let mut rebuilt = Table::new(lg);
            for (hash, item, count) in table.iter() {
                if count > cut {
                    rebuilt.add(hash, item, count - cut);
                }
            }
            table.lower_in_place(cut);

            assert_eq!(layout(&table), layout(&rebuilt), "round {round}, cut {cut}");
            assert_eq!(table.active, rebuilt.active, "round {round}");
            assert_eq!(table.heap_items, rebuilt.heap_items, "round {round}");
        }
    }

    #[test]
    fn median_matches_selection() {
        let cases: [&[u64]; 6] = [&[1], &[3, 1, 2], &[5, 5, 5, 5], &[1, 100, 100, 100, 2], &[64, 63, 65, 1000, 1], &[70, 80, 90, 1]];
        for case in cases {
            let mut sorted = case.to_vec();
            sorted.sort_unstable();
            let expected = sorted[case.len() / 2];

            assert_eq!(median_of(&mut case.to_vec()), expected, "{case:?}");
        }
    }
}
