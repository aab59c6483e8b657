//! The redb state store: closed panes, rollups, open-pane snapshots, source offsets and
//! counters, committed together at each checkpoint, plus the durable log of events accepted by
//! HTTP ingest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition};

use crate::pipeline::UnitData;
use crate::window::{Level, UnitKey};

/// Panes and rollups by (level code, start ms).
const UNITS: TableDefinition<(u8, i64), &[u8]> = TableDefinition::new("units");
/// Source offsets by source id: the byte offset (files) or sequence number (HTTP log) after the
/// last event included in the stored units.
const OFFSETS: TableDefinition<&str, u64> = TableDefinition::new("offsets");
/// Settings fingerprint, counters, highest event time, version, next HTTP sequence number.
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// Lines accepted by HTTP ingest, by sequence number (from 1).
const HTTP_LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("http_log");

/// The source id of the HTTP ingest log in offsets and metadata.
pub const HTTP_SOURCE: &str = "http";

/// A failure of the state store.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// redb reported an error.
    #[error("state store {path}: {message}")]
    Store {
        /// The database file.
        path: PathBuf,
        /// The redb error.
        message: String,
    },
    /// The store was written with other settings (pane size, sketch parameters, dimension).
    #[error("state store {path} was written with {setting} = {stored}, but this run uses {current}; use the same setting or another --state file")]
    SettingsChanged {
        /// The database file.
        path: PathBuf,
        /// The setting that differs.
        setting: String,
        /// The stored value.
        stored: String,
        /// The value of this run.
        current: String,
    },
    /// A stored record could not be decoded.
    #[error("state store {path}: {message}")]
    Corrupted {
        /// The database file.
        path: PathBuf,
        /// The defect found.
        message: String,
    },
}

/// Everything a checkpoint stored, as loaded at start-up.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Every stored pane and rollup, open panes included.
    pub units: Vec<UnitData>,
    /// Offsets per source id.
    pub offsets: BTreeMap<String, u64>,
    /// Counters as JSON (the pipeline's `Counters`).
    pub counters: Option<serde_json::Value>,
    /// Highest event time seen, which restores the watermark.
    pub max_event_time: Option<i64>,
    /// Version of the last published state.
    pub version: u64,
}

/// The contents of one checkpoint, written in one transaction.
#[derive(Debug)]
pub struct Checkpoint<'a> {
    /// Units written or replaced.
    pub upserts: Vec<&'a UnitData>,
    /// Units deleted (retention).
    pub removals: Vec<UnitKey>,
    /// Offsets per source id.
    pub offsets: &'a BTreeMap<String, u64>,
    /// Counters as JSON.
    pub counters: serde_json::Value,
    /// Highest event time seen.
    pub max_event_time: Option<i64>,
    /// Version of the published state this checkpoint matches.
    pub version: u64,
}

/// The redb database of one `topk run`.
pub struct StateStore {
    db: Database,
    path: PathBuf,
}

impl StateStore {
    /// Opens or creates the database at `path` and checks that it was written with the same
    /// `settings` (a JSON object of the parameters that change what a unit means).
    ///
    /// # Errors
    ///
    /// [`StateError::Store`] when the file cannot be opened, [`StateError::SettingsChanged`]
    /// naming the first setting that differs.
    pub fn open(path: &Path, settings: &serde_json::Value) -> Result<StateStore, StateError> {
        let db = Database::create(path).map_err(|error| store_error(path, error))?;
        let store = StateStore {
            db,
            path: path.to_path_buf(),
        };

        let txn = store.db.begin_write().map_err(|error| store.error(error))?;
        {
            txn.open_table(UNITS).map_err(|error| store.error(error))?;
            txn.open_table(OFFSETS)
                .map_err(|error| store.error(error))?;
            txn.open_table(HTTP_LOG)
                .map_err(|error| store.error(error))?;
            let mut meta = txn.open_table(META).map_err(|error| store.error(error))?;
            let stored = meta
                .get("settings")
                .map_err(|error| store.error(error))?
                .map(|value| value.value().to_vec());
            match stored {
                Some(bytes) => {
                    let stored: serde_json::Value = serde_json::from_slice(&bytes)
                        .map_err(|error| store.corrupted(format!("settings: {error}")))?;
                    compare_settings(path, &stored, settings)?;
                }
                None => {
                    let bytes = serde_json::to_vec(settings).expect("settings serialize");
                    meta.insert("settings", bytes.as_slice())
                        .map_err(|error| store.error(error))?;
                }
            }
        }
        txn.commit().map_err(|error| store.error(error))?;
        Ok(store)
    }

    /// Returns the database path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, error: impl std::fmt::Display) -> StateError {
        store_error(&self.path, error)
    }

    fn corrupted(&self, message: String) -> StateError {
        StateError::Corrupted {
            path: self.path.clone(),
            message,
        }
    }

    /// Loads the last checkpoint.
    ///
    /// # Errors
    ///
    /// [`StateError`] when reading fails or a record is corrupted.
    pub fn load(&self) -> Result<Loaded, StateError> {
        let txn = self.db.begin_read().map_err(|error| self.error(error))?;
        let mut loaded = Loaded::default();

        let units = txn.open_table(UNITS).map_err(|error| self.error(error))?;
        for entry in units.iter().map_err(|error| self.error(error))? {
            let (key, value) = entry.map_err(|error| self.error(error))?;
            let (code, start) = key.value();
            let level = Level::from_code(code)
                .ok_or_else(|| self.corrupted(format!("unknown unit level {code}")))?;
            let unit = UnitData::decode(UnitKey { level, start }, value.value())
                .map_err(|error| self.corrupted(error.to_string()))?;
            loaded.units.push(unit);
        }

        let offsets = txn.open_table(OFFSETS).map_err(|error| self.error(error))?;
        for entry in offsets.iter().map_err(|error| self.error(error))? {
            let (key, value) = entry.map_err(|error| self.error(error))?;
            loaded
                .offsets
                .insert(key.value().to_string(), value.value());
        }

        let meta = txn.open_table(META).map_err(|error| self.error(error))?;
        if let Some(value) = meta.get("counters").map_err(|error| self.error(error))? {
            loaded.counters = Some(
                serde_json::from_slice(value.value())
                    .map_err(|error| self.corrupted(format!("counters: {error}")))?,
            );
        }
        if let Some(value) = meta
            .get("max_event_time")
            .map_err(|error| self.error(error))?
        {
            loaded.max_event_time =
                Some(i64::from_le_bytes(value.value().try_into().map_err(
                    |_| self.corrupted("max_event_time is not 8 bytes".into()),
                )?));
        }
        if let Some(value) = meta.get("version").map_err(|error| self.error(error))? {
            loaded.version = u64::from_le_bytes(
                value
                    .value()
                    .try_into()
                    .map_err(|_| self.corrupted("version is not 8 bytes".into()))?,
            );
        }
        Ok(loaded)
    }

    /// Writes a checkpoint in one transaction and trims the HTTP log below its offset.
    /// Returns how long the commit took.
    ///
    /// # Errors
    ///
    /// [`StateError::Store`]; nothing of the checkpoint is stored then.
    pub fn commit(&self, checkpoint: &Checkpoint<'_>) -> Result<Duration, StateError> {
        let started = Instant::now();
        let txn = self.db.begin_write().map_err(|error| self.error(error))?;
        {
            let mut units = txn.open_table(UNITS).map_err(|error| self.error(error))?;
            for key in &checkpoint.removals {
                units
                    .remove((key.level.code(), key.start))
                    .map_err(|error| self.error(error))?;
            }
            for unit in &checkpoint.upserts {
                let bytes = unit.encode();
                units
                    .insert((unit.key.level.code(), unit.key.start), bytes.as_slice())
                    .map_err(|error| self.error(error))?;
            }

            let mut offsets = txn.open_table(OFFSETS).map_err(|error| self.error(error))?;
            for (source, offset) in checkpoint.offsets {
                offsets
                    .insert(source.as_str(), *offset)
                    .map_err(|error| self.error(error))?;
            }

            let mut meta = txn.open_table(META).map_err(|error| self.error(error))?;
            let counters = serde_json::to_vec(&checkpoint.counters).expect("counters serialize");
            meta.insert("counters", counters.as_slice())
                .map_err(|error| self.error(error))?;
            if let Some(time) = checkpoint.max_event_time {
                meta.insert("max_event_time", time.to_le_bytes().as_slice())
                    .map_err(|error| self.error(error))?;
            }
            meta.insert("version", checkpoint.version.to_le_bytes().as_slice())
                .map_err(|error| self.error(error))?;

            // Lines of the HTTP log at or below the committed offset are counted in the units.
            if let Some(&consumed) = checkpoint.offsets.get(HTTP_SOURCE) {
                let mut log = txn
                    .open_table(HTTP_LOG)
                    .map_err(|error| self.error(error))?;
                // Removed one key at a time from the front: `retain_in` over a range of 20,000
                // lines grew the file by about 130 MB in one commit (redb 2.6).
                loop {
                    let first = log
                        .first()
                        .map_err(|error| self.error(error))?
                        .map(|(key, _)| key.value());
                    match first {
                        Some(sequence) if sequence <= consumed => {
                            log.remove(sequence).map_err(|error| self.error(error))?;
                        }
                        _ => break,
                    }
                }
            }
        }
        txn.commit().map_err(|error| self.error(error))?;
        Ok(started.elapsed())
    }

    /// Appends lines to the HTTP log in one durable transaction and returns the sequence
    /// numbers of the first and the last line (from 1). An empty `lines` returns `None`.
    ///
    /// # Errors
    ///
    /// [`StateError::Store`]; no line is stored then.
    pub fn append_http(&self, lines: &[&[u8]]) -> Result<Option<(u64, u64)>, StateError> {
        if lines.is_empty() {
            return Ok(None);
        }

        let txn = self.db.begin_write().map_err(|error| self.error(error))?;
        let first;
        let last;
        {
            let mut meta = txn.open_table(META).map_err(|error| self.error(error))?;
            let next = match meta.get("http_next").map_err(|error| self.error(error))? {
                Some(value) => u64::from_le_bytes(
                    value
                        .value()
                        .try_into()
                        .map_err(|_| self.corrupted("http_next is not 8 bytes".into()))?,
                ),
                None => 1,
            };
            let mut log = txn
                .open_table(HTTP_LOG)
                .map_err(|error| self.error(error))?;
            for (index, line) in lines.iter().enumerate() {
                log.insert(next + index as u64, *line)
                    .map_err(|error| self.error(error))?;
            }
            first = next;
            last = next + lines.len() as u64 - 1;
            meta.insert("http_next", (last + 1).to_le_bytes().as_slice())
                .map_err(|error| self.error(error))?;
        }
        txn.commit().map_err(|error| self.error(error))?;
        Ok(Some((first, last)))
    }

    /// Reads up to `max_lines` lines of the HTTP log with a sequence number above `after`.
    ///
    /// # Errors
    ///
    /// [`StateError::Store`].
    pub fn read_http(
        &self,
        after: u64,
        max_lines: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StateError> {
        let txn = self.db.begin_read().map_err(|error| self.error(error))?;
        let log = txn
            .open_table(HTTP_LOG)
            .map_err(|error| self.error(error))?;
        let mut lines = Vec::new();
        for entry in log
            .range((after + 1)..)
            .map_err(|error| self.error(error))?
            .take(max_lines)
        {
            let (key, value) = entry.map_err(|error| self.error(error))?;
            lines.push((key.value(), value.value().to_vec()));
        }
        Ok(lines)
    }

    /// Returns the number of HTTP log lines not yet trimmed by a checkpoint.
    ///
    /// # Errors
    ///
    /// [`StateError::Store`].
    pub fn http_backlog(&self) -> Result<u64, StateError> {
        let txn = self.db.begin_read().map_err(|error| self.error(error))?;
        let log = txn
            .open_table(HTTP_LOG)
            .map_err(|error| self.error(error))?;
        log.len().map_err(|error| self.error(error))
    }
}

fn store_error(path: &Path, error: impl std::fmt::Display) -> StateError {
    StateError::Store {
        path: path.to_path_buf(),
        message: error.to_string(),
    }
}

fn compare_settings(
    path: &Path,
    stored: &serde_json::Value,
    current: &serde_json::Value,
) -> Result<(), StateError> {
    let (Some(stored), Some(current)) = (stored.as_object(), current.as_object()) else {
        return Err(StateError::Corrupted {
            path: path.to_path_buf(),
            message: "settings are not a JSON object".into(),
        });
    };
    for (name, value) in current {
        let old = stored.get(name).cloned().unwrap_or(serde_json::Value::Null);
        if &old != value {
            return Err(StateError::SettingsChanged {
                path: path.to_path_buf(),
                setting: name.clone(),
                stored: old.to_string(),
                current: value.to_string(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn unit(start: i64) -> UnitData {
        UnitData {
            key: UnitKey {
                level: Level::Pane,
                start,
            },
            closed: true,
            snapshot: Arc::from(&b"snapshot"[..]),
            total_weight: 1,
            maximum_error: 0,
            dimension_values: None,
            by_value: BTreeMap::new(),
            untracked_weight: 0,
            late_events: 0,
        }
    }

    #[test]
    fn checkpoint_round_trips_and_trims_http_log() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("state.redb");
        let settings = serde_json::json!({"pane_ms": 60000});
        let store = StateStore::open(&path, &settings).unwrap();

        assert_eq!(
            store.append_http(&[b"a", b"b", b"c"]).unwrap(),
            Some((1, 3))
        );
        assert_eq!(
            store.read_http(1, 10).unwrap(),
            vec![(2, b"b".to_vec()), (3, b"c".to_vec())]
        );

        let units = [unit(0), unit(60_000)];
        let mut offsets = BTreeMap::new();
        offsets.insert(HTTP_SOURCE.to_string(), 2);
        offsets.insert("access.log".to_string(), 1234);
        let checkpoint = Checkpoint {
            upserts: units.iter().collect(),
            removals: vec![],
            offsets: &offsets,
            counters: serde_json::json!({"events": 5}),
            max_event_time: Some(61_000),
            version: 9,
        };
        store.commit(&checkpoint).unwrap();
        assert_eq!(store.http_backlog().unwrap(), 1);
        drop(store);

        let store = StateStore::open(&path, &settings).unwrap();
        let loaded = store.load().unwrap();
        assert_eq!(loaded.units.len(), 2);
        assert_eq!(loaded.offsets, offsets);
        assert_eq!(loaded.max_event_time, Some(61_000));
        assert_eq!(loaded.version, 9);
        assert_eq!(loaded.counters, Some(serde_json::json!({"events": 5})));
        assert_eq!(store.append_http(&[b"d"]).unwrap(), Some((4, 4)));
    }

    #[test]
    fn changed_settings_are_rejected() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("state.redb");
        drop(StateStore::open(&path, &serde_json::json!({"pane_ms": 60000})).unwrap());
        let error = StateStore::open(&path, &serde_json::json!({"pane_ms": 1000}))
            .err()
            .unwrap();
        assert!(error.to_string().contains("pane_ms"), "{error}");
    }
}
