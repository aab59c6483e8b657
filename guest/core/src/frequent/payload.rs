//! The Apache DataSketches frequent-items binary format (family 10, serial version 1) with
//! string items, so Java, C++, Python and Rust DataSketches read our sketches and we read theirs.
//!
//! Layout, all little-endian. An empty sketch (total weight 0) is the first 8 bytes only:
//!
//! | bytes | field |
//! |---|---|
//! | 0 | preamble longs: 1 when empty, 4 otherwise (upper two bits ignored on read) |
//! | 1 | serial version: 1 |
//! | 2 | family id: 10 |
//! | 3 | lg of the maximum map size (3..=30) |
//! | 4 | lg of the current map size (3..=lg maximum) |
//! | 5 | flags: written 0x05 when empty (bits 0 and 2, as Java does), either bit read as empty |
//! | 6-7 | unused |
//! | 8-11 | active items (u32) |
//! | 12-15 | unused |
//! | 16-23 | total weight (u64) |
//! | 24-31 | offset, i.e. maximum error (u64) |
//! | 32.. | one u64 count per active item, then each item as a u32 length and its bytes |

use alloc::vec::Vec;

use super::table::{capacity_for, Table, LG_MAX, LG_MIN};
use super::FrequentItems;
use crate::bytes::Reader;
use crate::error::Error;
use crate::hash::hash_item;

const FAMILY_ID: u8 = 10;
const SERIAL_VERSION: u8 = 1;
const PREAMBLE_LONGS_EMPTY: u8 = 1;
const PREAMBLE_LONGS_FULL: u8 = 4;
const EMPTY_FLAGS: u8 = 0x05;

/// A decoder keeps the encoded current map size up to 2^10 slots whatever the item count, and
/// above that only when the items need at least a quarter of it.
const DECODE_LG_FLOOR: u8 = 10;

impl FrequentItems {
    /// Encodes the sketch in the DataSketches frequent-items format with string items.
    ///
    /// Items are written as their raw bytes; DataSketches libraries that read items as UTF-8
    /// strings reject items that are not valid UTF-8, while this crate reads them back exactly.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::FrequentItems;
    ///
    /// let sketch = FrequentItems::new(1024).unwrap();
    /// assert_eq!(sketch.to_datasketches(), [1, 1, 10, 10, 3, 5, 0, 0]);
    /// ```
    pub fn to_datasketches(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_datasketches(&mut out);
        out
    }

    /// Appends the DataSketches encoding of the sketch to `out`.
    pub(crate) fn write_datasketches(&self, out: &mut Vec<u8>) {
        let lg_cur = self.table.lg_len();
        if self.is_empty() {
            out.extend_from_slice(&[PREAMBLE_LONGS_EMPTY, SERIAL_VERSION, FAMILY_ID, self.lg_max, lg_cur, EMPTY_FLAGS, 0, 0]);
            return;
        }

        let items_len: usize = self.table.iter().map(|(_, item, _)| 4 + item.len()).sum();
        out.reserve(32 + self.active_items() * 8 + items_len);
        out.extend_from_slice(&[PREAMBLE_LONGS_FULL, SERIAL_VERSION, FAMILY_ID, self.lg_max, lg_cur, 0, 0, 0]);
        out.extend_from_slice(&(self.active_items() as u32).to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&self.total.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        for (_, _, count) in self.table.iter() {
            out.extend_from_slice(&count.to_le_bytes());
        }
        for (_, item, _) in self.table.iter() {
            out.extend_from_slice(&(item.len() as u32).to_le_bytes());
            out.extend_from_slice(item);
        }
    }

    /// Decodes a sketch from the DataSketches frequent-items format with string items.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] or [`Error::Malformed`] for any input that a valid encoder does not
    /// produce: wrong family or version, map sizes out of range, more active items than the
    /// map holds, counts that exceed the total weight, lengths past the end, trailing bytes.
    /// Decoding never panics and allocates in proportion to the input length only.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::FrequentItems;
    ///
    /// let mut sketch = FrequentItems::new(64).unwrap();
    /// sketch.update(b"a", 3).unwrap();
    /// let decoded = FrequentItems::from_datasketches(&sketch.to_datasketches()).unwrap();
    /// assert_eq!(decoded.lower_bound(b"a"), 3);
    /// assert!(FrequentItems::from_datasketches(&[4, 1, 10]).is_err());
    /// ```
    pub fn from_datasketches(bytes: &[u8]) -> Result<Self, Error> {
        let mut reader = Reader::new(bytes);
        let sketch = Self::read_datasketches(&mut reader)?;
        reader.finish("frequent-items payload")?;
        Ok(sketch)
    }

    pub(crate) fn read_datasketches(reader: &mut Reader<'_>) -> Result<Self, Error> {
        let preamble_longs = reader.u8("preamble longs")? & 0x3F;
        let serial_version = reader.u8("serial version")?;
        let family = reader.u8("family id")?;
        let lg_max = reader.u8("lg max map size")?;
        let lg_cur = reader.u8("lg current map size")?;
        let flags = reader.u8("flags")?;
        reader.take("unused header bytes", 2)?;

        if serial_version != SERIAL_VERSION {
            return Err(Error::malformed("serial version", serial_version, "this reader supports version 1"));
        }
        if family != FAMILY_ID {
            return Err(Error::malformed("family id", family, "frequent items are family 10"));
        }
        if !(LG_MIN..=LG_MAX).contains(&lg_max) {
            return Err(Error::malformed("lg max map size", lg_max, "it must be from 3 to 30"));
        }
        if !(LG_MIN..=lg_max).contains(&lg_cur) {
            return Err(Error::malformed("lg current map size", lg_cur, "it must be from 3 to the lg max map size"));
        }
        let empty = match preamble_longs {
            PREAMBLE_LONGS_EMPTY => true,
            PREAMBLE_LONGS_FULL => false,
            other => return Err(Error::malformed("preamble longs", other, "it must be 1 (empty) or 4")),
        };
        if (flags & EMPTY_FLAGS != 0) != empty {
            return Err(Error::malformed("empty flag", flags, "it must be set exactly when preamble longs is 1"));
        }
        if empty {
            return Ok(Self::with_lg(lg_max, LG_MIN));
        }

        let active = reader.u32("active items")? as usize;
        if active > capacity_for(lg_cur) {
            return Err(Error::malformed("active items", active, "it must not exceed 3/4 of the current map size"));
        }
        reader.take("unused preamble bytes", 4)?;
        let total = reader.u64("total weight")?;
        if total == 0 {
            return Err(Error::malformed("total weight", 0, "a non-empty sketch has a positive total weight"));
        }
        let offset = reader.u64("maximum error")?;
        if offset > total {
            return Err(Error::malformed("maximum error", offset, "it cannot exceed the total weight"));
        }

        // Checking the byte length before `with_capacity` bounds the allocation by the input.
        let counts_len = active.checked_mul(8).ok_or_else(|| Error::malformed("active items", active, "its counts must fit in memory"))?;
        let counts_bytes = reader.take("item counts", counts_len)?;
        let mut counts = Vec::with_capacity(active);
        let mut remaining = total;
        for chunk in counts_bytes.chunks_exact(8) {
            let mut array = [0; 8];
            array.copy_from_slice(chunk);
            let count = u64::from_le_bytes(array);
            if count == 0 {
                return Err(Error::malformed("item count", 0, "tracked items have positive counts"));
            }
            remaining = remaining
                .checked_sub(count)
                .ok_or_else(|| Error::malformed("item counts", "more than the total weight", "they sum to at most the total weight"))?;
            counts.push(count);
        }

        // Keeping the encoded map size reproduces the encoder's slot layout (items come in
        // cluster order), so the decoded sketch re-encodes to the same bytes. A hostile lg
        // current map size of 30 with a few items must not allocate 2^30 slots, though, so the
        // table is capped at 4 times the size the items need, or 2^10 slots (40 KiB) if larger.
        let mut lg_needed = LG_MIN;
        while capacity_for(lg_needed) < active {
            lg_needed += 1;
        }
        let lg_table = lg_cur.min((lg_needed + 2).max(DECODE_LG_FLOOR));
        let mut sketch = Self { lg_max, table: Table::new(lg_table), offset, total };
        for count in counts {
            let len = reader.u32("item length")? as usize;
            let item = reader.take("item bytes", len)?;
            let hash = hash_item(item);
            if sketch.table.get(hash, item) != 0 {
                return Err(Error::malformed("item", "a duplicate", "each item appears once"));
            }
            sketch.table.add(hash, item, count);
        }
        Ok(sketch)
    }
}
