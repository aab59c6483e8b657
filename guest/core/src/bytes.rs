//! A bounds-checked little-endian reader shared by every decoder in this crate.
//!
//! Each read checks the remaining length first and returns [`Error::Truncated`] naming the
//! field, so decoders never index out of bounds and never allocate more than the input holds.

use crate::error::Error;

pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, position: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }

    /// Reads `len` bytes for `field`.
    pub(crate) fn take(&mut self, field: &'static str, len: usize) -> Result<&'a [u8], Error> {
        if len > self.remaining() {
            return Err(Error::Truncated { field, offset: self.position, needed: len, available: self.remaining() });
        }
        let slice = &self.bytes[self.position..self.position + len];
        self.position += len;
        Ok(slice)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, Error> {
        Ok(self.take(field, 1)?[0])
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, Error> {
        let bytes = self.take(field, 2)?;
        Ok(u16::from_le_bytes([bytes[0], bytes[1]]))
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, Error> {
        let bytes = self.take(field, 4)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, Error> {
        let bytes = self.take(field, 8)?;
        let mut array = [0; 8];
        array.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(array))
    }

    pub(crate) fn i64(&mut self, field: &'static str) -> Result<i64, Error> {
        Ok(self.u64(field)? as i64)
    }

    /// Fails unless every byte has been read, so trailing garbage is never ignored silently.
    pub(crate) fn finish(&self, field: &'static str) -> Result<(), Error> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(Error::malformed(field, alloc::format!("followed by {extra} extra bytes"), "it must end the input")),
        }
    }
}
