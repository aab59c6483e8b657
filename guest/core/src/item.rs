//! Owned item bytes with the short items kept inline.
//!
//! Most heavy-hitter items (IP addresses, status codes, words, short paths) fit in 22 bytes, so
//! storing them inline saves one heap allocation per newly tracked item on the update path.
//! Short items are copied and compared with fixed-size word loads instead of `memcpy` and
//! `memcmp` calls, whose call overhead exceeds the work for items this short.

use alloc::boxed::Box;

const INLINE: usize = 22;

/// Bytes of one tracked item: inline up to 22 bytes, boxed above. Inline bytes past `len` are
/// left from earlier items and never read.
#[derive(Clone)]
pub(crate) enum ItemBytes {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl ItemBytes {
    pub(crate) const EMPTY: ItemBytes = ItemBytes::Inline { len: 0, bytes: [0; INLINE] };

    #[inline]
    pub(crate) fn new(item: &[u8]) -> Self {
        if item.len() <= INLINE {
            let mut bytes = [0; INLINE];
            copy_short(&mut bytes, item);
            ItemBytes::Inline { len: item.len() as u8, bytes }
        } else {
            ItemBytes::Heap(item.into())
        }
    }

    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            ItemBytes::Inline { len, bytes } => &bytes[..*len as usize],
            ItemBytes::Heap(bytes) => bytes,
        }
    }

    /// Replaces the bytes with `item`, writing short items in place: building a new value and
    /// moving it in would store and reload the bytes through the stack in mismatched sizes.
    #[inline(always)]
    pub(crate) fn assign(&mut self, item: &[u8]) {
        if let (ItemBytes::Inline { len, bytes }, true) = (&mut *self, item.len() <= INLINE) {
            *len = item.len() as u8;
            copy_short(bytes, item);
            return;
        }
        self.assign_slow(item);
    }

    #[inline(never)]
    fn assign_slow(&mut self, item: &[u8]) {
        *self = ItemBytes::new(item);
    }

    /// Returns true when the bytes are on the heap, which dropping them frees.
    #[inline]
    pub(crate) fn is_heap(&self) -> bool {
        matches!(self, ItemBytes::Heap(_))
    }

    /// Returns true when the stored bytes equal `item`.
    #[inline]
    pub(crate) fn matches(&self, item: &[u8]) -> bool {
        match self {
            ItemBytes::Inline { len, bytes } => *len as usize == item.len() && equal_short(bytes, item),
            ItemBytes::Heap(bytes) => **bytes == *item,
        }
    }
}

fn word8(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_ne_bytes(word)
}

fn word4(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_ne_bytes(word)
}

/// Compares the first `item.len()` (at most 22) bytes of `stored` with `item` using two or
/// three overlapping word loads.
#[inline]
fn equal_short(stored: &[u8; INLINE], item: &[u8]) -> bool {
    let len = item.len();
    if len >= 8 {
        let ends = word8(stored, 0) == word8(item, 0) && word8(stored, len - 8) == word8(item, len - 8);
        ends && (len <= 16 || word8(stored, 8) == word8(item, 8))
    } else if len >= 4 {
        word4(stored, 0) == word4(item, 0) && word4(stored, len - 4) == word4(item, len - 4)
    } else {
        stored[..len] == *item
    }
}

/// Copies `item` (at most 22 bytes) to the start of `stored` with overlapping word stores,
/// which write the same bytes twice where they overlap.
#[inline]
fn copy_short(stored: &mut [u8; INLINE], item: &[u8]) {
    let len = item.len();
    if len >= 8 {
        stored[..8].copy_from_slice(&item[..8]);
        stored[len - 8..len].copy_from_slice(&item[len - 8..]);
        if len > 16 {
            stored[8..16].copy_from_slice(&item[8..16]);
        }
    } else if len >= 4 {
        stored[..4].copy_from_slice(&item[..4]);
        stored[len - 4..len].copy_from_slice(&item[len - 4..]);
    } else {
        stored[..len].copy_from_slice(item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_short_length_round_trips_and_compares() {
        let source: alloc::vec::Vec<u8> = (1..=40).collect();
        for len in 0..=40 {
            let item = &source[..len];
            let stored = ItemBytes::new(item);
            assert_eq!(stored.as_slice(), item, "length {len}");
            assert!(stored.matches(item), "length {len}");
            for at in 0..len {
                let mut other = item.to_vec();
                other[at] ^= 0x80;
                assert!(!stored.matches(&other), "length {len}, byte {at} differs");
            }
            assert!(!stored.matches(&source[..len.saturating_sub(1)]) || len == 0);

            // Reused storage keeps stale bytes past the new length; they must not matter.
            for previous in [&source[..22], &source[..40], &[0xAA; 3][..]] {
                let mut reused = ItemBytes::new(previous);
                reused.assign(item);
                assert_eq!(reused.as_slice(), item, "length {len} over {} bytes", previous.len());
                assert!(reused.matches(item), "length {len} over {} bytes", previous.len());
            }
        }
    }
}
