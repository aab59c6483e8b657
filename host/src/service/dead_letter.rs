//! The optional dead-letter file: one JSON line per malformed line or event dropped as too
//! late, and rate-limited warnings in the log.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::input::Location;

/// Minimum time between two warnings about bad input in the log.
const WARN_INTERVAL: Duration = Duration::from_secs(5);

/// Writes rejected input to a JSON-lines file (when configured) and logs it with rate limiting.
pub struct DeadLetter {
    file: Option<BufWriter<File>>,
    last_warning: Option<Instant>,
    suppressed: u64,
}

impl DeadLetter {
    /// Opens (appends to) the dead-letter file, or keeps only the log when `path` is `None`.
    ///
    /// # Errors
    ///
    /// The I/O error when the file cannot be opened.
    pub fn open(path: Option<&Path>) -> std::io::Result<DeadLetter> {
        let file = match path {
            Some(path) => Some(BufWriter::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            )),
            None => None,
        };
        Ok(DeadLetter {
            file,
            last_warning: None,
            suppressed: 0,
        })
    }

    /// Records a line that was not counted: `offset` is the resume position after it, and
    /// `location` its line number and first byte (`None` for an HTTP event).
    pub fn bad_line(
        &mut self,
        source: &str,
        offset: u64,
        location: Option<Location>,
        reason: &str,
        message: &str,
        line: &[u8],
    ) {
        self.warn(|suppressed| {
            tracing::warn!(
                source,
                location = location.map(|location| location.to_string()),
                offset,
                reason,
                message,
                suppressed,
                "line not counted"
            )
        });
        let record = serde_json::json!({
            "source": source,
            "offset": offset,
            "line_number": location.and_then(|location| location.line),
            "byte_offset": location.map(|location| location.byte),
            "reason": reason,
            "message": message,
            "line": String::from_utf8_lossy(line),
        });
        self.write(&record);
    }

    /// Records an event dropped because its pane had closed.
    pub fn too_late(&mut self, source: &str, item: &[u8], time_ms: i64, watermark: Option<i64>) {
        self.warn(|suppressed| {
            tracing::warn!(
                source,
                time_ms,
                ?watermark,
                suppressed,
                "event too late: its pane has closed"
            )
        });
        let record = serde_json::json!({
            "source": source,
            "reason": "too_late",
            "item": String::from_utf8_lossy(item),
            "time_ms": time_ms,
            "watermark_ms": watermark,
        });
        self.write(&record);
    }

    /// Flushes the file.
    pub fn flush(&mut self) {
        if let Some(file) = &mut self.file {
            if let Err(error) = file.flush() {
                tracing::error!(%error, "failed to flush the dead-letter file");
            }
        }
    }

    fn warn(&mut self, log: impl FnOnce(u64)) {
        let now = Instant::now();
        if self
            .last_warning
            .is_some_and(|last| now.duration_since(last) < WARN_INTERVAL)
        {
            self.suppressed += 1;
            return;
        }
        log(self.suppressed);
        self.suppressed = 0;
        self.last_warning = Some(now);
    }

    fn write(&mut self, record: &serde_json::Value) {
        if let Some(file) = &mut self.file {
            let result = serde_json::to_writer(&mut *file, record)
                .map_err(std::io::Error::from)
                .and_then(|()| file.write_all(b"\n"));
            if let Err(error) = result {
                tracing::error!(%error, "failed to write the dead-letter file; disabling it");
                self.file = None;
            }
        }
    }
}
