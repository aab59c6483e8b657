//! An exported pane or rollup: snapshot bytes of its summaries, immutable once built.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::window::UnitKey;

/// The exported state of one pane, hour or day: the snapshot of its summary and, with a
/// dimension, the snapshot of its dimension values and of each tracked value's summary.
///
/// Closed units never change. Open panes are exported again at every publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitData {
    /// Level and start.
    pub key: UnitKey,
    /// True once the unit accepts no more events.
    pub closed: bool,
    /// Snapshot of the summary over all events of the unit.
    pub snapshot: Arc<[u8]>,
    /// Total weight counted in the unit.
    pub total_weight: u64,
    /// Maximum error of the unit's summary.
    pub maximum_error: u64,
    /// Snapshot of the summary of dimension values, when a dimension is configured.
    pub dimension_values: Option<Arc<[u8]>>,
    /// Per tracked dimension value: its snapshot and the weight its snapshot lacks.
    pub by_value: BTreeMap<Vec<u8>, ValueData>,
    /// Weight of events counted in no value's snapshot (more distinct values than the
    /// configured maximum, or values evicted for more frequent ones). Any value's events that
    /// its snapshot lacks weigh at most this.
    pub untracked_weight: u64,
    /// Events counted in the unit after the watermark had passed them.
    pub late_events: u64,
}

/// The exported summary of one dimension value in a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueData {
    /// Snapshot of the value's events that were counted for it.
    pub snapshot: Arc<[u8]>,
    /// Weight counted in `snapshot`.
    pub weight: u64,
    /// Upper bound on the weight of the value's events in the unit that `snapshot` lacks
    /// (events before the value was admitted, or in child units where it was not tracked).
    /// Queries for the value add it to every upper bound.
    pub missed: u64,
}

/// A failure to decode stored unit bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupted unit record for {key:?}: {message}; delete the state file to rebuild from the sources")]
pub struct UnitDecodeError {
    /// The unit whose bytes failed.
    pub key: UnitKey,
    /// The defect found.
    pub message: String,
}

/// Format 2 stores each value's counted and missed weight; format 1 stored only its snapshot.
const UNIT_FORMAT: u8 = 2;

impl UnitData {
    /// Encodes the unit for the state store: a format byte, flags, counters and
    /// length-prefixed snapshots, all little-endian.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.snapshot.len());
        out.push(UNIT_FORMAT);
        out.push(u8::from(self.closed) | (u8::from(self.dimension_values.is_some()) << 1));
        for value in [
            self.total_weight,
            self.maximum_error,
            self.untracked_weight,
            self.late_events,
        ] {
            out.extend_from_slice(&value.to_le_bytes());
        }
        put_bytes(&mut out, &self.snapshot);
        if let Some(values) = &self.dimension_values {
            put_bytes(&mut out, values);
        }
        out.extend_from_slice(&(self.by_value.len() as u32).to_le_bytes());
        for (value, data) in &self.by_value {
            put_bytes(&mut out, value);
            put_bytes(&mut out, &data.snapshot);
            out.extend_from_slice(&data.weight.to_le_bytes());
            out.extend_from_slice(&data.missed.to_le_bytes());
        }
        out
    }

    /// Decodes bytes written by [`encode`](Self::encode).
    ///
    /// # Errors
    ///
    /// [`UnitDecodeError`] when the bytes are truncated or of another format.
    pub fn decode(key: UnitKey, bytes: &[u8]) -> Result<UnitData, UnitDecodeError> {
        let error = |message: &str| UnitDecodeError {
            key,
            message: message.to_string(),
        };
        let mut reader = Reader { bytes, position: 0 };

        let format = reader.u8().ok_or_else(|| error("empty record"))?;
        if format != UNIT_FORMAT && format != 1 {
            return Err(error(&format!(
                "unknown record format {format}, expected {UNIT_FORMAT}"
            )));
        }
        let flags = reader.u8().ok_or_else(|| error("missing flags"))?;
        let mut counters = [0u64; 4];
        for counter in &mut counters {
            *counter = reader.u64().ok_or_else(|| error("truncated counters"))?;
        }
        let snapshot = reader.bytes().ok_or_else(|| error("truncated snapshot"))?;
        let dimension_values = if flags & 2 != 0 {
            Some(
                reader
                    .bytes()
                    .ok_or_else(|| error("truncated dimension values"))?
                    .into(),
            )
        } else {
            None
        };
        let count = reader.u32().ok_or_else(|| error("truncated value count"))?;
        let mut by_value = BTreeMap::new();
        for _ in 0..count {
            let value = reader
                .bytes()
                .ok_or_else(|| error("truncated dimension value"))?;
            let snapshot = reader
                .bytes()
                .ok_or_else(|| error("truncated dimension snapshot"))?;
            let (weight, missed) = if format == 1 {
                // Format 1 did not record them; the unit's untracked weight bounds what the
                // snapshot lacks, and the counted weight only ranks values.
                (0, counters[2])
            } else {
                let weight = reader.u64().ok_or_else(|| error("truncated value weight"))?;
                let missed = reader.u64().ok_or_else(|| error("truncated missed weight"))?;
                (weight, missed)
            };
            by_value.insert(
                value.to_vec(),
                ValueData {
                    snapshot: Arc::from(snapshot),
                    weight,
                    missed,
                },
            );
        }
        if reader.position != bytes.len() {
            return Err(error("trailing bytes"));
        }

        Ok(UnitData {
            key,
            closed: flags & 1 != 0,
            snapshot: snapshot.into(),
            total_weight: counters[0],
            maximum_error: counters[1],
            untracked_weight: counters[2],
            late_events: counters[3],
            dimension_values,
            by_value,
        })
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, length: usize) -> Option<&'a [u8]> {
        let end = self.position.checked_add(length)?;
        let slice = self.bytes.get(self.position..end)?;
        self.position = end;
        Some(slice)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let length = self.u32()? as usize;
        self.take(length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::Level;

    #[test]
    fn unit_round_trips() {
        let key = UnitKey {
            level: Level::Hour,
            start: 3_600_000,
        };
        let mut by_value = BTreeMap::new();
        by_value.insert(
            b"404".to_vec(),
            ValueData {
                snapshot: Arc::from(&b"snap-404"[..]),
                weight: 5,
                missed: 1,
            },
        );
        let unit = UnitData {
            key,
            closed: true,
            snapshot: Arc::from(&b"main"[..]),
            total_weight: 7,
            maximum_error: 1,
            dimension_values: Some(Arc::from(&b"values"[..])),
            by_value,
            untracked_weight: 2,
            late_events: 3,
        };
        let bytes = unit.encode();
        assert_eq!(UnitData::decode(key, &bytes).unwrap(), unit);
        assert!(UnitData::decode(key, &bytes[..bytes.len() - 1]).is_err());
        assert!(UnitData::decode(key, &[9]).is_err());
    }
}
