//! Owned item bytes with the short items kept inline.
//!
//! Most heavy-hitter items (IP addresses, status codes, words, short paths) fit in 22 bytes, so
//! storing them inline saves one heap allocation per newly tracked item on the update path.

use alloc::boxed::Box;

const INLINE: usize = 22;

/// Bytes of one tracked item: inline up to 22 bytes, boxed above.
#[derive(Clone)]
pub(crate) enum ItemBytes {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl ItemBytes {
    pub(crate) const EMPTY: ItemBytes = ItemBytes::Inline { len: 0, bytes: [0; INLINE] };

    pub(crate) fn new(item: &[u8]) -> Self {
        if item.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..item.len()].copy_from_slice(item);
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
}
