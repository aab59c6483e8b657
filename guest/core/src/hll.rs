//! HyperLogLog distinct counting.

use alloc::vec;
use alloc::vec::Vec;

use crate::bytes::Reader;
use crate::error::Error;
use crate::hash::hash_item;

const MIN_PRECISION: u8 = 4;
const MAX_PRECISION: u8 = 18;

/// A HyperLogLog distinct-count estimator (Flajolet et al., 2007) over 64-bit hashes, with
/// linear counting for small cardinalities (Heule et al., 2013).
///
/// With precision `p` it keeps 2^p one-byte registers; the relative standard error of
/// [`estimate`](Self::estimate) is about `1.04 / sqrt(2^p)` (1.6% at the default `p = 12`).
/// Sketches of different precisions merge at the lower precision.
///
/// # Examples
///
/// ```
/// use topk_sketch::HyperLogLog;
///
/// let mut sketch = HyperLogLog::new(12).unwrap();
/// for i in 0..1000u32 {
///     sketch.update(&i.to_le_bytes());
/// }
/// let estimate = sketch.estimate();
/// assert!((950.0..1050.0).contains(&estimate), "{estimate}");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct HyperLogLog {
    precision: u8,
    registers: Vec<u8>,
}

impl HyperLogLog {
    /// Creates an empty estimator with 2^`precision` registers.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] unless `precision` is 4 to 18.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::HyperLogLog;
    ///
    /// assert!(HyperLogLog::new(14).is_ok());
    /// assert!(HyperLogLog::new(30).is_err());
    /// ```
    pub fn new(precision: u8) -> Result<Self, Error> {
        if !(MIN_PRECISION..=MAX_PRECISION).contains(&precision) {
            return Err(Error::invalid("hyperloglog precision", precision, "must be from 4 to 18"));
        }
        Ok(HyperLogLog { precision, registers: vec![0; 1 << precision] })
    }

    /// Returns the precision `p` (the estimator keeps 2^p registers).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(topk_sketch::HyperLogLog::new(10).unwrap().precision(), 10);
    /// ```
    pub fn precision(&self) -> u8 {
        self.precision
    }

    /// Records one occurrence of `item`.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::HyperLogLog;
    ///
    /// let mut sketch = HyperLogLog::new(10).unwrap();
    /// sketch.update(b"a");
    /// sketch.update(b"a");
    /// assert_eq!(sketch.estimate().round(), 1.0);
    /// ```
    pub fn update(&mut self, item: &[u8]) {
        self.update_hashed(hash_item(item));
    }

    /// Records an item whose [`hash_item`] value is `hash`.
    #[inline]
    pub(crate) fn update_hashed(&mut self, hash: u64) {
        let index = (hash >> (64 - self.precision as u32)) as usize;
        // A guard bit below the remaining bits caps the rank at 64 - p + 1.
        let rest = (hash << self.precision) | (1 << (self.precision - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        if self.registers[index] < rank {
            self.registers[index] = rank;
        }
    }

    /// Returns the estimated number of distinct items recorded.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(topk_sketch::HyperLogLog::new(12).unwrap().estimate(), 0.0);
    /// ```
    pub fn estimate(&self) -> f64 {
        let m = self.registers.len() as f64;
        let mut sum = 0.0;
        let mut zeros = 0usize;
        for &register in &self.registers {
            sum += 1.0 / (1u64 << register) as f64;
            zeros += usize::from(register == 0);
        }
        let alpha = match self.registers.len() {
            16 => 0.673,
            32 => 0.697,
            64 => 0.709,
            _ => 0.7213 / (1.0 + 1.079 / m),
        };
        let raw = alpha * m * m / sum;

        // Below 2.5 m the raw estimate is biased; linear counting is accurate there.
        if raw <= 2.5 * m && zeros > 0 {
            m * libm::log(m / zeros as f64)
        } else {
            raw
        }
    }

    /// Takes the register-wise maximum with `other`. If `other` has a higher precision it is
    /// folded down to this one; if it has a lower one, this estimator drops to that precision.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::HyperLogLog;
    ///
    /// let mut a = HyperLogLog::new(12).unwrap();
    /// let mut b = HyperLogLog::new(10).unwrap();
    /// a.update(b"x");
    /// b.update(b"y");
    /// a.merge(&b);
    /// assert_eq!(a.precision(), 10);
    /// assert_eq!(a.estimate().round(), 2.0);
    /// ```
    pub fn merge(&mut self, other: &HyperLogLog) {
        if other.precision < self.precision {
            *self = self.folded(other.precision);
        }
        let folded;
        let other = if other.precision > self.precision {
            folded = other.folded(self.precision);
            &folded
        } else {
            other
        };
        for (register, theirs) in self.registers.iter_mut().zip(&other.registers) {
            *register = (*register).max(*theirs);
        }
    }

    /// Returns a copy at the lower `precision`: each register's index loses its low bits, which
    /// become the leading bits of the remaining hash and so change the rank.
    fn folded(&self, precision: u8) -> HyperLogLog {
        let shift = self.precision - precision;
        let mut folded = HyperLogLog { precision, registers: vec![0; 1 << precision] };
        for (index, &register) in self.registers.iter().enumerate() {
            if register == 0 {
                continue;
            }
            let low = index & ((1 << shift) - 1);
            let rank = if low == 0 {
                register + shift
            } else {
                (low as u32).leading_zeros() as u8 - (32 - shift) + 1
            };
            let target = &mut folded.registers[index >> shift];
            *target = (*target).max(rank);
        }
        folded
    }

    /// Sets every register to 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_sketch::HyperLogLog;
    ///
    /// let mut sketch = HyperLogLog::new(8).unwrap();
    /// sketch.update(b"a");
    /// sketch.reset();
    /// assert_eq!(sketch.estimate(), 0.0);
    /// ```
    pub fn reset(&mut self) {
        self.registers.fill(0);
    }

    /// Appends the encoding: precision (u8), then the 2^p registers.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.push(self.precision);
        out.extend_from_slice(&self.registers);
    }

    /// Decodes what [`write`](Self::write) produced.
    pub(crate) fn read(reader: &mut Reader<'_>) -> Result<Self, Error> {
        let precision = reader.u8("hyperloglog precision")?;
        if !(MIN_PRECISION..=MAX_PRECISION).contains(&precision) {
            return Err(Error::malformed("hyperloglog precision", precision, "it must be from 4 to 18"));
        }
        let registers = reader.take("hyperloglog registers", 1 << precision)?;
        let max_rank = 64 - precision + 1;
        if let Some(&bad) = registers.iter().find(|&&rank| rank > max_rank) {
            return Err(Error::malformed("hyperloglog register", bad, "ranks are at most 65 - precision"));
        }
        Ok(HyperLogLog { precision, registers: registers.to_vec() })
    }
}

impl core::fmt::Debug for HyperLogLog {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HyperLogLog").field("precision", &self.precision).field("estimate", &self.estimate()).finish()
    }
}
