//! Count-Min sketch with conservative update.

use alloc::vec;
use alloc::vec::Vec;

use crate::bytes::Reader;
use crate::error::Error;
use crate::hash::hash_item;

/// Largest accepted `width * depth`: 2^26 cells (512 MiB of counters).
const MAX_CELLS: usize = 1 << 26;

/// A Count-Min sketch with conservative update: [`estimate`](Self::estimate) never falls below
/// the true count of an item, and exceeds it by at most `e / width * total weight` with
/// probability `1 - e^-depth` (Cormode and Muthukrishnan, 2005; conservative update only lowers
/// the overestimate).
///
/// Counters saturate at `u64::MAX`, which keeps the estimate an upper bound.
///
/// # Examples
///
/// ```
/// use topk_sketch::CountMin;
///
/// let mut sketch = CountMin::new(1024, 4).unwrap();
/// sketch.update(b"a", 3);
/// assert!(sketch.estimate(b"a") >= 3);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct CountMin {
    width: u32,
    depth: u8,
    cells: Vec<u64>,
}

impl CountMin {
    /// Creates an empty sketch of `depth` rows of `width` counters.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] unless `width` is at least 1, `depth` is 1 to 16, and
    /// `width * depth` is at most 2^26.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::CountMin;
    ///
    /// assert!(CountMin::new(2048, 5).is_ok());
    /// assert!(CountMin::new(0, 5).is_err());
    /// ```
    pub fn new(width: u32, depth: u8) -> Result<Self, Error> {
        if width == 0 {
            return Err(Error::invalid("count-min width", width, "must be at least 1"));
        }
        if !(1..=16).contains(&depth) {
            return Err(Error::invalid("count-min depth", depth, "must be from 1 to 16"));
        }
        let cells = width as usize * depth as usize;
        if cells > MAX_CELLS {
            return Err(Error::invalid("count-min width * depth", cells, "must be at most 2^26"));
        }
        Ok(CountMin { width, depth, cells: vec![0; cells] })
    }

    /// Returns the number of counters per row.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(topk_sketch::CountMin::new(64, 2).unwrap().width(), 64);
    /// ```
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Returns the number of rows.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(topk_sketch::CountMin::new(64, 2).unwrap().depth(), 2);
    /// ```
    pub fn depth(&self) -> u8 {
        self.depth
    }

    /// Cell index of `hash` in each row, by double hashing (Kirsch and Mitzenmacher, 2006).
    #[inline]
    fn cells_of(&self, hash: u64) -> impl Iterator<Item = usize> {
        let width = self.width as u64;
        let first = hash & 0xFFFF_FFFF;
        let step = (hash >> 32) | 1;
        (0..self.depth as u64).map(move |row| (row * width + (first.wrapping_add(row.wrapping_mul(step)) % width)) as usize)
    }

    /// Adds `weight` occurrences of `item`.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::CountMin;
    ///
    /// let mut sketch = CountMin::new(16, 2).unwrap();
    /// sketch.update(b"a", u64::MAX);
    /// sketch.update(b"a", 1);
    /// assert_eq!(sketch.estimate(b"a"), u64::MAX);
    /// ```
    pub fn update(&mut self, item: &[u8], weight: u64) {
        self.update_hashed(hash_item(item), weight);
    }

    /// Adds `weight` for an item with the [`hash_item`] value `hash`.
    #[inline]
    pub(crate) fn update_hashed(&mut self, hash: u64, weight: u64) {
        // Conservative update: raise each cell only up to the new lower envelope.
        let target = self.estimate_hashed(hash).saturating_add(weight);
        for cell in self.cells_of(hash) {
            if self.cells[cell] < target {
                self.cells[cell] = target;
            }
        }
    }

    /// Returns an upper bound on the true count of `item`.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::CountMin;
    ///
    /// assert_eq!(CountMin::new(16, 2).unwrap().estimate(b"never"), 0);
    /// ```
    pub fn estimate(&self, item: &[u8]) -> u64 {
        self.estimate_hashed(hash_item(item))
    }

    #[inline]
    pub(crate) fn estimate_hashed(&self, hash: u64) -> u64 {
        self.cells_of(hash).map(|cell| self.cells[cell]).min().unwrap_or(0)
    }

    /// Adds the counters of `other` cell by cell (saturating).
    ///
    /// # Errors
    ///
    /// [`Error::Incompatible`] if the widths or depths differ; this sketch is then unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::CountMin;
    ///
    /// let mut a = CountMin::new(16, 2).unwrap();
    /// let mut b = CountMin::new(16, 2).unwrap();
    /// a.update(b"x", 1);
    /// b.update(b"x", 2);
    /// a.merge(&b).unwrap();
    /// assert!(a.estimate(b"x") >= 3);
    /// assert!(a.merge(&CountMin::new(8, 2).unwrap()).is_err());
    /// ```
    pub fn merge(&mut self, other: &CountMin) -> Result<(), Error> {
        if self.width != other.width {
            return Err(Error::incompatible("count-min width", self.width, other.width));
        }
        if self.depth != other.depth {
            return Err(Error::incompatible("count-min depth", self.depth, other.depth));
        }
        for (cell, add) in self.cells.iter_mut().zip(&other.cells) {
            *cell = cell.saturating_add(*add);
        }
        Ok(())
    }

    /// Sets every counter to 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::CountMin;
    ///
    /// let mut sketch = CountMin::new(16, 2).unwrap();
    /// sketch.update(b"a", 1);
    /// sketch.reset();
    /// assert_eq!(sketch.estimate(b"a"), 0);
    /// ```
    pub fn reset(&mut self) {
        self.cells.fill(0);
    }

    /// Appends the encoding: width (u32), depth (u8), then `width * depth` u64 counters, row by
    /// row, all little-endian.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.width.to_le_bytes());
        out.push(self.depth);
        for cell in &self.cells {
            out.extend_from_slice(&cell.to_le_bytes());
        }
    }

    /// Decodes what [`write`](Self::write) produced; the counters must fill `reader` exactly.
    pub(crate) fn read(reader: &mut Reader<'_>) -> Result<Self, Error> {
        let width = reader.u32("count-min width")?;
        let depth = reader.u8("count-min depth")?;
        Self::validate(width, depth)?;

        // The counters must be present before they are allocated.
        let bytes = reader.take("count-min counters", width as usize * depth as usize * 8)?;
        let cells = bytes
            .chunks_exact(8)
            .map(|chunk| {
                let mut array = [0; 8];
                array.copy_from_slice(chunk);
                u64::from_le_bytes(array)
            })
            .collect();
        Ok(CountMin { width, depth, cells })
    }

    fn validate(width: u32, depth: u8) -> Result<(), Error> {
        if width == 0 || !(1..=16).contains(&depth) || width as usize * depth as usize > MAX_CELLS {
            return Err(Error::malformed("count-min shape", alloc::format!("{width} x {depth}"), "width >= 1, depth 1 to 16, at most 2^26 cells"));
        }
        Ok(())
    }
}

impl core::fmt::Debug for CountMin {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CountMin").field("width", &self.width).field("depth", &self.depth).finish()
    }
}
