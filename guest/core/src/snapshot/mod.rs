//! The snapshot format: a versioned, checksummed envelope around a [`Summary`].
//!
//! Layout, all integers little-endian:
//!
//! | field | bytes |
//! |---|---|
//! | magic `TOPK` | 4 |
//! | format version, 1 | u16 |
//! | kind, 1 = summary of byte-string items | u8 |
//! | flags: bit 0 window, bit 1 watermark, bit 2 dimension, bit 3 Count-Min | u8 |
//! | lg max map size, HyperLogLog precision, Count-Min depth, reserved 0 | 4 × u8 |
//! | Count-Min width (0 when absent) | u32 |
//! | window start and end, ms since the Unix epoch (if bit 0) | 2 × i64 |
//! | watermark, ms since the Unix epoch (if bit 1) | i64 |
//! | dimension name (u16 length + bytes) and value (u32 length + bytes) (if bit 2) | var |
//! | late events, malformed records | 2 × u64 |
//! | source count (u16), then per source: name (u16 length + bytes), start, end (u64) | var |
//! | frequent items: u32 length + DataSketches frequent-items bytes | var |
//! | HyperLogLog: u32 length + precision (u8) + 2^p registers | var |
//! | Count-Min: u32 length + width (u32), depth (u8), counters (u64) (if bit 3) | var |
//! | CRC32C (Castagnoli) of every byte before it | u32 |
//!
//! Decoding checks the magic and version, then the checksum, then every field, and returns a
//! typed [`Error`] for anything else: it never panics and allocates at most in proportion to
//! the input length.

mod metadata;

use alloc::vec::Vec;

pub use metadata::{Dimension, Metadata, SourceRange, Window};

use crate::bytes::Reader;
use crate::count_min::CountMin;
use crate::error::Error;
use crate::frequent::FrequentItems;
use crate::hll::HyperLogLog;
use crate::summary::{Config, Summary};

/// First four bytes of every snapshot.
pub const MAGIC: [u8; 4] = *b"TOPK";

/// Format version this crate writes; it reads this version only.
pub const FORMAT_VERSION: u16 = 1;

/// Kind byte of a summary over byte-string items.
const KIND_SUMMARY: u8 = 1;

const FLAG_WINDOW: u8 = 1;
const FLAG_WATERMARK: u8 = 2;
const FLAG_DIMENSION: u8 = 4;
const FLAG_COUNT_MIN: u8 = 8;

const CRC32C: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);

/// Encodes a summary as a snapshot.
///
/// # Examples
///
/// ```
/// use topk_sketch::{snapshot, Config, Summary};
///
/// let mut summary = Summary::new(Config::default()).unwrap();
/// summary.update(b"a", 1).unwrap();
/// let bytes = snapshot::encode(&summary);
/// assert_eq!(&bytes[..4], b"TOPK");
/// assert_eq!(snapshot::decode(&bytes).unwrap().estimate(b"a").lower_bound, 1);
/// ```
pub fn encode(summary: &Summary) -> Vec<u8> {
    let config = summary.config();
    let metadata = &summary.metadata;
    let mut out = Vec::new();

    let mut flags = 0;
    flags |= if metadata.window.is_some() { FLAG_WINDOW } else { 0 };
    flags |= if metadata.watermark.is_some() { FLAG_WATERMARK } else { 0 };
    flags |= if metadata.dimension.is_some() { FLAG_DIMENSION } else { 0 };
    flags |= if summary.count_min().is_some() { FLAG_COUNT_MIN } else { 0 };
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&[KIND_SUMMARY, flags]);
    let (width, depth) = summary.count_min().map_or((0, 0), |count_min| (count_min.width(), count_min.depth()));
    out.extend_from_slice(&[config.max_map_size.trailing_zeros() as u8, summary.hyperloglog().precision(), depth, 0]);
    out.extend_from_slice(&width.to_le_bytes());

    if let Some(window) = metadata.window {
        out.extend_from_slice(&window.start.to_le_bytes());
        out.extend_from_slice(&window.end.to_le_bytes());
    }
    if let Some(watermark) = metadata.watermark {
        out.extend_from_slice(&watermark.to_le_bytes());
    }
    if let Some(dimension) = &metadata.dimension {
        write_bytes16(&mut out, &dimension.name);
        out.extend_from_slice(&(dimension.value.len() as u32).to_le_bytes());
        out.extend_from_slice(&dimension.value);
    }
    out.extend_from_slice(&metadata.late_events.to_le_bytes());
    out.extend_from_slice(&metadata.malformed_records.to_le_bytes());
    out.extend_from_slice(&(metadata.sources.len() as u16).to_le_bytes());
    for range in &metadata.sources {
        write_bytes16(&mut out, &range.source);
        out.extend_from_slice(&range.start.to_le_bytes());
        out.extend_from_slice(&range.end.to_le_bytes());
    }

    write_section(&mut out, |out| summary.frequent().write_datasketches(out));
    write_section(&mut out, |out| summary.hyperloglog().write(out));
    if let Some(count_min) = summary.count_min() {
        write_section(&mut out, |out| count_min.write(out));
    }

    let crc = CRC32C.checksum(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Writes `bytes` with a u16 length, truncating names longer than 65,535 bytes.
fn write_bytes16(out: &mut Vec<u8>, bytes: &[u8]) {
    let bytes = &bytes[..bytes.len().min(u16::MAX as usize)];
    out.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Writes a u32 length placeholder, the section, then patches the length.
fn write_section(out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    write(out);
    let len = (out.len() - at - 4) as u32;
    out[at..at + 4].copy_from_slice(&len.to_le_bytes());
}

/// Decodes a snapshot into a summary.
///
/// # Errors
///
/// [`Error::Malformed`] for a wrong magic, version, kind, flag or field value,
/// [`Error::Checksum`] when the CRC32C does not match, and [`Error::Truncated`] when a field
/// runs past the end. Never panics; allocates at most in proportion to `bytes.len()`.
///
/// # Examples
///
/// ```
/// use topk_sketch::{snapshot, Config, Error, Summary};
///
/// let mut bytes = snapshot::encode(&Summary::new(Config::default()).unwrap());
/// bytes[20] ^= 1;
/// assert!(matches!(snapshot::decode(&bytes), Err(Error::Checksum { .. })));
/// ```
pub fn decode(bytes: &[u8]) -> Result<Summary, Error> {
    let mut reader = Reader::new(bytes);
    let magic = reader.take("magic", 4)?;
    if magic != MAGIC {
        return Err(Error::malformed("magic", alloc::format!("{magic:02x?}"), "a topk snapshot starts with \"TOPK\""));
    }
    let version = reader.u16("format version")?;
    if version != FORMAT_VERSION {
        return Err(Error::malformed("format version", version, "this build reads format version 1; upgrade topk"));
    }
    verify_checksum(bytes)?;
    let mut reader = Reader::new(&bytes[..bytes.len() - 4]);
    reader.take("header", 6)?;

    let kind = reader.u8("kind")?;
    if kind != KIND_SUMMARY {
        return Err(Error::malformed("kind", kind, "kind 1 (summary) is the only one in format version 1"));
    }
    let flags = reader.u8("flags")?;
    if flags & !(FLAG_WINDOW | FLAG_WATERMARK | FLAG_DIMENSION | FLAG_COUNT_MIN) != 0 {
        return Err(Error::malformed("flags", flags, "only bits 0 to 3 are defined"));
    }
    let lg_max = reader.u8("lg max map size")?;
    let precision = reader.u8("hyperloglog precision")?;
    let depth = reader.u8("count-min depth")?;
    reader.u8("reserved")?;
    let width = reader.u32("count-min width")?;

    let metadata = read_metadata(&mut reader, flags)?;

    let frequent = section(&mut reader, "frequent-items section", FrequentItems::read_datasketches)?;
    if frequent.max_map_size() != 1 << lg_max.min(31) {
        return Err(Error::malformed("lg max map size", lg_max, "it must match the frequent-items payload"));
    }
    let distinct = section(&mut reader, "hyperloglog section", HyperLogLog::read)?;
    if distinct.precision() != precision {
        return Err(Error::malformed("hyperloglog precision", precision, "it must match the hyperloglog section"));
    }
    let count_min = if flags & FLAG_COUNT_MIN != 0 {
        let count_min = section(&mut reader, "count-min section", CountMin::read)?;
        if (count_min.width(), count_min.depth()) != (width, depth) {
            return Err(Error::malformed("count-min shape", alloc::format!("{width} x {depth}"), "it must match the count-min section"));
        }
        Some(count_min)
    } else {
        None
    };
    reader.finish("snapshot sections")?;

    let config = Config {
        max_map_size: 1 << lg_max,
        hll_precision: precision,
        count_min_width: count_min.as_ref().map_or(0, |count_min| count_min.width()),
        count_min_depth: count_min.as_ref().map_or(0, |count_min| count_min.depth()),
    };
    Ok(Summary::from_parts(config, frequent, distinct, count_min, metadata))
}

fn verify_checksum(bytes: &[u8]) -> Result<(), Error> {
    if bytes.len() < 10 {
        return Err(Error::Truncated { field: "checksum", offset: bytes.len(), needed: 4, available: bytes.len().saturating_sub(6) });
    }
    let (body, tail) = bytes.split_at(bytes.len() - 4);
    let stored = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    let computed = CRC32C.checksum(body);
    if stored != computed {
        return Err(Error::Checksum { stored, computed });
    }
    Ok(())
}

fn read_metadata(reader: &mut Reader<'_>, flags: u8) -> Result<Metadata, Error> {
    let mut metadata = Metadata::default();
    if flags & FLAG_WINDOW != 0 {
        let start = reader.i64("window start")?;
        let end = reader.i64("window end")?;
        if end < start {
            return Err(Error::malformed("window end", end, "it must not be before the window start"));
        }
        metadata.window = Some(Window { start, end });
    }
    if flags & FLAG_WATERMARK != 0 {
        metadata.watermark = Some(reader.i64("watermark")?);
    }
    if flags & FLAG_DIMENSION != 0 {
        let name_len = reader.u16("dimension name length")? as usize;
        let name = reader.take("dimension name", name_len)?.to_vec();
        let value_len = reader.u32("dimension value length")? as usize;
        let value = reader.take("dimension value", value_len)?.to_vec();
        metadata.dimension = Some(Dimension { name, value });
    }
    metadata.late_events = reader.u64("late events")?;
    metadata.malformed_records = reader.u64("malformed records")?;

    let count = reader.u16("source count")? as usize;
    // Each source takes at least 18 bytes, so the input bounds this allocation.
    let mut sources = Vec::with_capacity(count.min(reader.remaining() / 18));
    for _ in 0..count {
        let len = reader.u16("source name length")? as usize;
        let source = reader.take("source name", len)?.to_vec();
        let start = reader.u64("source start offset")?;
        let end = reader.u64("source end offset")?;
        sources.push(SourceRange { source, start, end });
    }
    metadata.sources = sources;
    Ok(metadata)
}

/// Reads a u32-length-prefixed section with `read`, which must consume it exactly.
fn section<T>(reader: &mut Reader<'_>, field: &'static str, read: impl FnOnce(&mut Reader<'_>) -> Result<T, Error>) -> Result<T, Error> {
    let len = reader.u32(field)? as usize;
    let mut inner = Reader::new(reader.take(field, len)?);
    let value = read(&mut inner)?;
    inner.finish(field)?;
    Ok(value)
}
